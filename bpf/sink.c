// SPDX-License-Identifier: MIT
/*
 * Sink: ring-buffer events in, trace records out, in time order.
 *
 * Each CPU has its own ring (no lock shared between CPUs on the hot path), so
 * events arrive as one stream per CPU.  A stream is in time order up to what
 * happens between reserving a slot and reading the clock, so each stream keeps a
 * small sorted queue (insertion walks back a step or two at most), and a drain
 * merges the streams' queues through a heap, writing every record older than the
 * drain horizon.  Records made in user space (the attach-time scan) are a stream
 * of their own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_bpf.h"
#include "tracer.h"

struct pending {
	__u64 ts;
	__u32 off;		/* of the payload in the stream's arena */
	__u16 len;
	__u8 type;
	__u8 flags;
};

struct stream {
	struct pending *q;
	size_t head, len, cap;	/* queued: q[head..len) */
	unsigned char *arena;
	size_t arena_len, arena_cap;
};

struct sink {
	struct st_writer *w;
	struct stream *st;
	unsigned nst;
	unsigned *heap;		/* stream indices by head time, for the merge */
	__u64 events;
	__u64 drained;		/* every record up to this time is written */
	__u64 late;		/* records that came after it: written out of time order */
	struct hmap procs;	/* live traced processes */
	struct hmap gone;	/* pid -> time it was found gone, until drained that far */
};

__u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000000000ull + (__u64)t.tv_nsec;
}

int sink__new(struct sink **sp, struct st_writer *w, unsigned nrings)
{
	struct sink *s = calloc(1, sizeof(*s));

	*sp = s;
	if (!s)
		return -ENOMEM;
	s->w = w;
	s->nst = nrings + 1;
	s->st = calloc(s->nst, sizeof(*s->st));
	s->heap = calloc(s->nst, sizeof(*s->heap));
	hmap_init(&s->procs);
	hmap_init(&s->gone);
	return s->st && s->heap ? 0 : -ENOMEM;
}

void sink__free(struct sink *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->st && i < s->nst; i++) {
		free(s->st[i].q);
		free(s->st[i].arena);
	}
	free(s->st);
	free(s->heap);
	hmap_free(&s->procs);
	hmap_free(&s->gone);
	free(s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 4096;
	void *np;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return 0;
	np = realloc(*p, n * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = n;
	return 0;
}

static int stream_add(struct stream *st, __u64 ts, __u8 type, __u8 flags, const void *a,
		      size_t alen, const void *b, size_t blen)
{
	struct pending p = { .ts = ts, .type = type, .flags = flags };
	size_t i;

	if (alen + blen > ST_MAX_REC_SIZE - sizeof(struct st_rec))
		return -E2BIG;
	if (grow((void **)&st->arena, &st->arena_cap, st->arena_len + alen + blen, 1) ||
	    grow((void **)&st->q, &st->cap, st->len + 1, sizeof(*st->q)))
		return -ENOMEM;
	p.off = (__u32)st->arena_len;
	p.len = (__u16)(alen + blen);
	memcpy(st->arena + st->arena_len, a, alen);
	if (blen)
		memcpy(st->arena + st->arena_len + alen, b, blen);
	st->arena_len += alen + blen;
	for (i = st->len; i > st->head && st->q[i - 1].ts > ts; i--)
		st->q[i] = st->q[i - 1];
	st->q[i] = p;
	st->len++;
	return 0;
}

int sink__record(struct sink *s, __u64 ts, __u8 type, __u8 flags, const void *a, size_t alen,
		 const void *b, size_t blen)
{
	s->late += ts < s->drained;
	return stream_add(&s->st[s->nst - 1], ts, type, flags, a, alen, b, blen);
}

/*
 * Live processes, from fork and exit records taken in time order (at drain):
 * the rings of two CPUs can deliver a child's exit before its fork.
 */
static void track_procs(struct sink *s, const struct pending *p, const void *payload)
{
	if (p->type == ST_REC_FORK && !(p->flags & ST_FORK_THREAD)) {
		const struct st_fork *f = payload;
		uint64_t *g = hmap_find(&s->gone, f->child_pid);

		/* a new process that has the pid of one found gone before it was forked */
		if (g && *g < p->ts)
			hmap_del(&s->gone, f->child_pid);
		sink__add_proc(s, f->child_pid);
	} else if (p->type == ST_REC_EXIT && (p->flags & ST_EXIT_GROUP_DEAD)) {
		const struct st_exit *x = payload;

		hmap_del(&s->procs, x->pid);
	}
}

int sink__event(struct sink *s, unsigned ring, const void *data, size_t len)
{
	const struct st_ring_hdr *h = data;
	const unsigned char *payload = (const unsigned char *)data + sizeof(*h);

	if (len < sizeof(*h) || h->size > len - sizeof(*h) || ring >= s->nst - 1)
		return -EINVAL;
	s->late += h->ts < s->drained;
	return stream_add(&s->st[ring], h->ts, h->type, h->flags, payload, h->size, NULL, 0);
}

/*
 * Moves a stream's queued tail (a reorder window of recent records) to the front
 * of its queue and arena.  Called once the written part is at least as large as
 * the tail, so the copying is amortised over what was written.
 */
static void compact(struct stream *st)
{
	size_t i, n = st->len - st->head;
	__u32 lo = UINT32_MAX, hi = 0;

	if (!n) {
		st->head = st->len = st->arena_len = 0;
		return;
	}
	memmove(st->q, st->q + st->head, n * sizeof(*st->q));
	st->head = 0;
	st->len = n;
	for (i = 0; i < n; i++) {
		if (st->q[i].off < lo)
			lo = st->q[i].off;
		if (st->q[i].off + st->q[i].len > hi)
			hi = st->q[i].off + st->q[i].len;
	}
	memmove(st->arena, st->arena + lo, hi - lo);
	for (i = 0; i < n; i++)
		st->q[i].off -= lo;
	st->arena_len = hi - lo;
}

static __u64 head_ts(const struct sink *s, unsigned i)
{
	const struct stream *st = &s->st[i];

	return st->head < st->len ? st->q[st->head].ts : UINT64_MAX;
}

/*
 * Stream x's head goes before y's: the older, and of one instant the ring's before the
 * tracer's own (the last stream).  An exec's command line (target__argv) is recorded
 * at the exec's instant and must follow it: before it, a reader takes it for the
 * previous program's (a forkserver read as a data-loader worker).
 */
static bool head_before(const struct sink *s, unsigned x, unsigned y)
{
	__u64 tx = head_ts(s, x), ty = head_ts(s, y);

	return tx < ty || (tx == ty && x < y);
}

static void sift_down(struct sink *s, unsigned n, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i, t;

		if (l < n && head_before(s, s->heap[l], s->heap[m]))
			m = l;
		if (l + 1 < n && head_before(s, s->heap[l + 1], s->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

/*
 * Processes found gone once everything before the moment they were found gone is
 * written: a child they forked before they exited is then among the live ones.
 */
static void forget_gone(struct sink *s, __u64 horizon)
{
	uint64_t k, v;

	for (size_t i = 0; hmap_iter(&s->gone, &i, &k, &v);) {
		if (v > horizon)
			continue;
		hmap_del(&s->procs, k);
		hmap_del(&s->gone, k);
	}
}

int sink__drain(struct sink *s, __u64 horizon)
{
	unsigned n = s->nst, i;
	int err = 0;

	for (i = 0; i < n; i++)
		s->heap[i] = i;
	for (i = n / 2; i-- > 0;)
		sift_down(s, n, i);
	for (;;) {
		struct stream *st = &s->st[s->heap[0]];
		const struct pending *p = &st->q[st->head];

		/* the heap top is the oldest queued record, if there is one */
		if (st->head == st->len || p->ts > horizon)
			break;
		err = st_writer__add(s->w, p->ts, p->type, p->flags, st->arena + p->off, p->len,
				     NULL, 0);
		if (err)
			break;
		track_procs(s, p, st->arena + p->off);
		st->head++;
		s->events++;
		sift_down(s, n, 0);
	}
	for (i = 0; i < n; i++) {
		struct stream *st = &s->st[i];

		if (st->head == st->len || st->head >= st->len - st->head)
			compact(st);
	}
	if (!err)
		forget_gone(s, horizon);
	if (!err && horizon > s->drained)
		s->drained = horizon;
	return err;
}

__u64 sink__events(const struct sink *s)
{
	return s->events;
}

__u64 sink__late(const struct sink *s)
{
	return s->late;
}

size_t sink__live_procs(const struct sink *s)
{
	return s->procs.len;
}

bool sink__proc_iter(const struct sink *s, size_t *i, size_t *pid)
{
	uint64_t k, v;

	if (!hmap_iter(&s->procs, i, &k, &v))
		return false;
	*pid = (size_t)k;
	return true;
}

void sink__proc_gone(struct sink *s, __u32 pid, __u64 ts)
{
	uint64_t *v = hmap_slot(&s->gone, pid);

	if (v && !*v)
		*v = ts;
}

void sink__add_proc(struct sink *s, __u32 pid)
{
	uint64_t *v = hmap_slot(&s->procs, pid);

	if (v)
		*v = 1;
}
