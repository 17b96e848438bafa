// SPDX-License-Identifier: MIT
/*
 * Sink: ring-buffer events in, trace records out.  Events are compacted (syscalls
 * lose the fields they do not use) and held in a reorder buffer until they are
 * older than the drain horizon, so the file is in time order even though CPUs
 * reserve ring slots a few instructions apart from reading the clock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st_bpf.h"
#include "tracer.h"

struct pending {
	__u64 ts;
	__u32 off;		/* of the payload in the arena */
	__u16 len;
	__u8 type;
	__u8 flags;
};

struct sink {
	struct st_writer *w;
	struct pending *q;
	size_t head, len, cap;	/* queued: q[head..len) */
	unsigned char *arena;
	size_t arena_len, arena_cap;
	__u64 events;
	struct hmap procs;	/* live traced processes */
};

__u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000000000ull + (__u64)t.tv_nsec;
}

int sink__new(struct sink **sp, struct st_writer *w)
{
	struct sink *s = calloc(1, sizeof(*s));

	*sp = s;
	if (!s)
		return -ENOMEM;
	s->w = w;
	hmap_init(&s->procs);
	return 0;
}

void sink__free(struct sink *s)
{
	if (!s)
		return;
	free(s->q);
	free(s->arena);
	hmap_free(&s->procs);
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

/* Appends a record to the queue, keeping the queue sorted by time. */
int sink__record(struct sink *s, __u64 ts, __u8 type, __u8 flags, const void *a, size_t alen,
		 const void *b, size_t blen)
{
	struct pending p = { .ts = ts, .type = type, .flags = flags };
	size_t i;

	if (alen + blen > ST_MAX_REC_SIZE - sizeof(struct st_rec))
		return -E2BIG;
	if (grow((void **)&s->arena, &s->arena_cap, s->arena_len + alen + blen, 1) ||
	    grow((void **)&s->q, &s->cap, s->len + 1, sizeof(*s->q)))
		return -ENOMEM;
	p.off = (__u32)s->arena_len;
	p.len = (__u16)(alen + blen);
	memcpy(s->arena + s->arena_len, a, alen);
	if (blen)
		memcpy(s->arena + s->arena_len + alen, b, blen);
	s->arena_len += alen + blen;
	/* ring order is almost time order: the insertion walks back a step or two */
	for (i = s->len; i > s->head && s->q[i - 1].ts > ts; i--)
		s->q[i] = s->q[i - 1];
	s->q[i] = p;
	s->len++;
	return 0;
}

static void track_procs(struct sink *s, const struct st_ring_hdr *h, const void *payload)
{
	if (h->type == ST_REC_FORK && !(h->flags & ST_FORK_THREAD)) {
		const struct st_fork *f = payload;

		sink__add_proc(s, f->child_pid);
	} else if (h->type == ST_REC_EXIT && (h->flags & ST_EXIT_GROUP_DEAD)) {
		const struct st_exit *x = payload;

		hmap_del(&s->procs, x->pid);
	}
}

int sink__event(struct sink *s, const void *data, size_t len)
{
	const struct st_ring_hdr *h = data;
	const unsigned char *payload = (const unsigned char *)data + sizeof(*h);

	if (len < sizeof(*h) || h->size > len - sizeof(*h))
		return -EINVAL;
	track_procs(s, h, payload);
	return sink__record(s, h->ts, h->type, h->flags, payload, h->size, NULL, 0);
}

/*
 * Moves the queued tail (a reorder window of recent records) to the front of the
 * queue and of the arena.  Called once the written part is at least as large as
 * the tail, so the copying is amortised over what was written.
 */
static void compact(struct sink *s)
{
	size_t i, n = s->len - s->head;
	__u32 lo = UINT32_MAX, hi = 0;

	memmove(s->q, s->q + s->head, n * sizeof(*s->q));
	s->head = 0;
	s->len = n;
	for (i = 0; i < n; i++) {
		if (s->q[i].off < lo)
			lo = s->q[i].off;
		if (s->q[i].off + s->q[i].len > hi)
			hi = s->q[i].off + s->q[i].len;
	}
	memmove(s->arena, s->arena + lo, hi - lo);
	for (i = 0; i < n; i++)
		s->q[i].off -= lo;
	s->arena_len = hi - lo;
}

int sink__drain(struct sink *s, __u64 horizon)
{
	int err = 0;

	while (s->head < s->len && s->q[s->head].ts <= horizon) {
		const struct pending *p = &s->q[s->head];

		err = st_writer__add(s->w, p->ts, p->type, p->flags, s->arena + p->off, p->len,
				     NULL, 0);
		if (err)
			break;
		s->head++;
		s->events++;
	}
	if (s->head == s->len) {
		s->head = s->len = 0;
		s->arena_len = 0;
	} else if (s->head >= s->len - s->head) {
		compact(s);
	}
	return err;
}

__u64 sink__events(const struct sink *s)
{
	return s->events;
}

size_t sink__live_procs(const struct sink *s)
{
	return s->procs.len;
}

void sink__add_proc(struct sink *s, __u32 pid)
{
	uint64_t *v = hmap_slot(&s->procs, pid);

	if (v)
		*v = 1;
}
