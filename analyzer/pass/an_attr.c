// SPDX-License-Identifier: MIT
/*
 * Attribution: closed segments wait in a per-thread queue until the syscall that
 * covers them is known, then each is classified (docs/analysis.md, "Attribution"),
 * cut at overlay edges (GPU sync probes, file syscalls on CPU) and snapshot times,
 * and added to the thread's cumulative accounts.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "an_core.h"
#include "st_syscalls.h"

#define SC_HOLD_NS	1000000000ull	/* a segment no syscall covered after this is final */
#define PROBE_HOLD_NS	5000000000ull	/* GPU sync probes are written when the call ends */
#define QUEUE_MAX	65536u		/* pending segments per thread before forcing */
#define MERGE_GAP_NS	100000ull	/* arrivals and stall pieces closer than this merge */
#define STALL_MIN_NS	1000000ull	/* shorter waits are not "stalls" */
#define SNAPS_MAX	(1u << 19)	/* snapshots per thread before thinning them */
#define RELAY_MIN	3
#define RX_GAP_NS	2000000ull	/* calls of one batch's receipt are closer than this */
#define RX_MAX_NS	100000000ull	/* a receipt lasts at most this (old traces) */
#define RX_CPU_NS	1000000ull	/* a receipt's calls are closer than this on CPU */
#define RX_CPU_MAX_NS	5000000ull	/* ... or this, with only its own calls between (rx_call) */
#define BURST_CPU_NS	200000ull	/* puts of one iterator's start are closer than this on CPU */
/*
 * next()'s own code before it polls for a batch, at least: a preemption that ended
 * this close before the poll was inside next().  One further back may have ended in
 * the loop's own code, right before it called next(): a loop whose compute ends at a
 * deadline (a spin until a time, a GPU sync that spins until the device is done)
 * calls next() a few us after such a preemption.  tok.py (DataLoader, 2 workers)
 * beside busy --disk: from the job's call of next() to the poll, 61-152 us of CPU
 * (median 96-128 in 4 runs); preemptions in next() ended 1-73 us before the poll
 * where next() went straight to it; those in the spin 76-166 us.  With 200 us the
 * report's time in next() was 0.537 for the job's 0.402 (0.322 for 0.245 attached);
 * with 50 us, 0.396 and 0.239.  The preemptions inside next() this bound leaves out
 * (3.8 of 425 ms there) are cpu_contention.
 */
#define NEXT_CPU_NS	50000ull
/*
 * ... after a wait for the GIL there: taking the GIL over (its mutex, the signal to
 * the thread that dropped it) and handing it on at each call that releases it.  In 4
 * traces of pt_gil_w2 at rest, from a GIL wait's end to a receive: median 161 us,
 * p90 278, where the wait was in the job's next() (166 waits); 254 us and more where
 * it ended in the loop's own code before the job called next() (31).  250 us took
 * 140 of the 166 and none of the 31; 300 us would take 14 of the 31.
 */
#define NEXT_GIL_CPU_NS	250000ull
/*
 * Each tensor of a batch is one fetch, and a loop's batches are alike: a receipt with
 * fewer fetches since its batch's read than most receipts that a put ended (next()
 * puts the next index once the batch is rebuilt) has tensors to come, and goes on
 * through a receipt's calls however long the thread ran since the last (pt_wk_sleep
 * under load: 17.5 ms "on CPU" between a batch's two tensors, the second fetch read
 * as the step's): the next fetch's socket() too.  The usual count needs 3 receipts
 * that had it.
 */
#define FETCH_LEARN	3
#define RX_HOLD_NS	1000000000ull	/* segments held for a take that may come */
#define PENDING_MAX	64		/* batches received and not taken, at most */
#define OVL_LAUNCH	0xff
#define OVL_SHIFT_MAX	1024	/* overlays an insertion may move (out-of-order records) */
#define NET_MIN		2		/* receive calls ended by a softirq that make a net thread */
#define COLL_GAP_NS	1000000ull	/* collective-wait pieces closer than this are one wait */
#define CHAIN_GAP_NS	2000000ull	/* futex calls of one wait chain follow within this */
#define CHAIN_HOLD_NS	2000000000ull	/* an unresolved chain holds its segments this long */
#define ETIMEDOUT_	110
#define EAGAIN_		11
#define FUTEX_PRIVATE_	128
#define FUTEX_CLOCK_REALTIME_	256

#define NR(name) ST_NR_##name	/* numbers generated from the kernel header */

/* Syscalls whose whole time is the file system's when their fd (if any) is a file. */
static bool is_file_syscall(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_FILE;
}

/* Syscalls a batch can arrive through (the main thread reading the worker pipe). */
bool attr__is_read_syscall(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_RECV;
}

static bool is_file_kind(uint8_t k)
{
	return k == ST_FD_REG || k == ST_FD_BLK || k == ST_FD_DIR;
}

/* A file-system syscall: path-based, or on an fd that is a file. */
bool attr__file_call(unsigned nr, bool has_fd, uint8_t kind)
{
	return is_file_syscall(nr) && (!has_fd || is_file_kind(kind));
}

bool attr__is_relay(const struct thr *t)
{
	return t->direct_arrivals >= RELAY_MIN || t->fed_wakes >= RELAY_MIN;
}

/*
 * t's wake of a sibling passes a batch on: t is a relay, or the process has one already
 * (pin memory on its other loader too) and a worker woke t (a new iterator's
 * pin-memory thread: a validation loop's first batches, before its third, counted for
 * nobody).
 */
bool attr__relay_woke_sibling(const struct thr *t)
{
	return attr__is_relay(t) || (t->fed_wakes && t->proc && (t->proc->flags & PF_RELAYS));
}

/* ------------------------------------------------------------------ queues */

static struct seg *q_at(struct thr *t, uint32_t i)
{
	return &t->q[(t->qhead + i) & (t->qcap - 1)];
}

/*
 * Doubles a power-of-two ring of `len` elements of `elem` bytes starting at *head,
 * unwrapping it to the start of the new buffer; 0, or -1 out of memory.
 */
static int ring_grow(void **buf, uint32_t *head, uint32_t len, uint32_t *cap, size_t elem)
{
	uint32_t ncap = *cap ? 2 * *cap : 8;
	char *n = malloc(elem * ncap), *old = *buf;

	if (!n)
		return -1;
	for (uint32_t i = 0; i < len; i++)
		memcpy(n + (size_t)i * elem, old + (size_t)((*head + i) & (*cap - 1)) * elem, elem);
	free(old);
	*buf = n;
	*cap = ncap;
	*head = 0;
	return 0;
}

static struct seg *q_push(struct thr *t)
{
	if (t->qlen == t->qcap &&
	    ring_grow((void **)&t->q, &t->qhead, t->qlen, &t->qcap, sizeof(*t->q)))
		return NULL;
	t->qlen++;
	return q_at(t, t->qlen - 1);
}

/* ------------------------------------------------------------------ uncovered */

static struct seg *seg_of(struct thr *t, uint64_t seq)
{
	return q_at(t, (uint32_t)(seq - t->qseq));
}

/* Remembers a new OFF segment (the queue's last) as not covered yet. */
static void unc_push(struct thr *t)
{
	if (t->unc_off + t->unc_len == t->unc_cap) {
		if (t->unc_off > t->unc_cap / 2) {
			memmove(t->unc, t->unc + t->unc_off, sizeof(*t->unc) * t->unc_len);
			t->unc_off = 0;
		} else {
			uint32_t cap = t->unc_cap ? 2 * t->unc_cap : 16;
			uint64_t *u = realloc(t->unc, sizeof(*u) * cap);

			if (!u)
				return;	/* never covered: classified without its syscall */
			t->unc = u;
			t->unc_cap = cap;
		}
	}
	t->unc[t->unc_off + t->unc_len++] = t->qseq + t->qlen - 1;
}

/* Drops the entries of segments already finalized (popped from the queue). */
static void unc_trim(struct thr *t)
{
	while (t->unc_len && t->unc[t->unc_off] < t->qseq) {
		t->unc_off++;
		t->unc_len--;
	}
}

/* The index in unc after the last segment that starts at or before e (they are in order). */
static uint32_t unc_upto(struct thr *t, uint64_t e)
{
	uint32_t lo = 0, hi = t->unc_len;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seg_of(t, t->unc[t->unc_off + mid])->start <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Removes unc entries [from, to): the segments just covered. */
static void unc_remove(struct thr *t, uint32_t from, uint32_t to)
{
	uint64_t *u;

	if (from == to)
		return;		/* also: no array yet (NULL + 0 is undefined) */
	u = t->unc + t->unc_off;
	memmove(u + from, u + to, sizeof(*u) * (t->unc_len - to));
	t->unc_len -= to - from;
}

static struct ovl *o_at(struct thr *t, uint32_t i)
{
	return &t->ov[(t->ovhead + i) & (t->ovcap - 1)];
}

/*
 * Inserts an overlay keeping the queue sorted by start (they arrive nearly sorted).
 * Overlays of one category and flags that overlap or touch at the tail become one
 * (their union covers the same time), so calls nested in a longer one (a write
 * session, a batch receipt) do not pile up; an overlay that would still go deeper
 * than OVL_SHIFT_MAX (only out-of-order records do that) is left out and counted.
 */
static void ovl_add_f(struct thr *t, uint64_t s, uint64_t e, uint8_t cat, uint8_t flags)
{
	uint32_t i;

	if (e < t->fin_until || (e == s && cat != OVL_LAUNCH))
		return;
	while (t->ovlen && cat != OVL_LAUNCH) {
		struct ovl *last = o_at(t, t->ovlen - 1);

		if (last->cat != cat || last->flags != flags || last->e < s || last->s > e)
			break;
		s = last->s < s ? last->s : s;
		e = last->e > e ? last->e : e;
		t->ovlen--;
	}
	for (i = t->ovlen; i > 0 && o_at(t, i - 1)->s > s; i--) {
		if (t->ovlen - i == OVL_SHIFT_MAX) {
			t->ovl_dropped++;
			return;
		}
	}
	if (t->ovlen == t->ovcap &&
	    ring_grow((void **)&t->ov, &t->ovhead, t->ovlen, &t->ovcap, sizeof(*t->ov)))
		return;
	for (uint32_t k = t->ovlen; k > i; k--)
		*o_at(t, k) = *o_at(t, k - 1);
	*o_at(t, i) = (struct ovl){ .s = s, .e = e, .cat = cat, .flags = flags };
	t->ovlen++;
}

static void ovl_add(struct thr *t, uint64_t s, uint64_t e, uint8_t cat)
{
	ovl_add_f(t, s, e, cat, 0);
}

/* ------------------------------------------------------------------ snapshots */

/* Keeps every other arrival snapshot: START, step marks and the last one stay. */
static void thin_snaps(struct thr *t)
{
	uint32_t k = 1, nf = t->nfilled ? 1 : 0;

	for (uint32_t i = 1; i < t->nsnaps; i++) {
		if ((i & 1) && t->snaps[i].kind != SNAP_STEP && i + 1 < t->nsnaps)
			continue;
		if (i < t->nfilled)
			nf++;
		t->snaps[k++] = t->snaps[i];
	}
	t->nfilled = nf;
	t->nsnaps = k;
	t->decimate++;
}

static void fill(struct thr *t, struct snap *s)
{
	s->a = t->cum;
}

/* Nothing more will be accounted: every waiting snapshot gets the final values. */
static void seal(struct thr *t)
{
	for (; t->nfilled < t->nsnaps; t->nfilled++)
		fill(t, &t->snaps[t->nfilled]);
	for (int i = 0; i < 2; i++) {
		if (!t->win_filled[i] && t->win[i].kind) {
			fill(t, &t->win[i]);
			t->win_filled[i] = true;
		}
	}
}

_Static_assert(sizeof(struct acc) % sizeof(uint64_t) == 0, "struct acc: uint64_t counters only");

/*
 * s (its ts set) lies between p, filled (NULL: none), and values n at nts: each
 * counter in proportion to s's time between them.  The counters only grow.
 */
static void approx(struct snap *s, const struct snap *p, const struct acc *n, uint64_t nts)
{
	const uint64_t *pv = p ? (const uint64_t *)&p->a : NULL, *nv = (const uint64_t *)n;
	uint64_t *v = (uint64_t *)&s->a, pts = p ? p->ts : s->ts;
	double f = nts > pts && s->ts > pts ? (double)(s->ts - pts) / (double)(nts - pts) : 1;

	if (f > 1)
		f = 1;
	s->approx = 1;
	for (size_t k = 0; k < sizeof(struct acc) / sizeof(uint64_t); k++) {
		uint64_t lo = pv ? pv[k] : nv[k];

		v[k] = nv[k] > lo ? lo + (uint64_t)((double)(nv[k] - lo) * f) : nv[k];
	}
}

struct snap *attr__snap(struct an *a, struct thr *t, uint64_t ts, enum snap_kind kind)
{
	struct snap *s;

	if (kind == SNAP_START && t->nsnaps)
		return NULL;
	if (t->nsnaps == t->capsnaps) {
		uint32_t cap = t->capsnaps ? 2 * t->capsnaps : 4;

		if (cap > SNAPS_MAX) {
			thin_snaps(t);
		} else {
			s = realloc(t->snaps, sizeof(*s) * cap);
			if (!s)
				return NULL;
			t->snaps = s;
			t->capsnaps = cap;
		}
	}
	/*
	 * Snapshots stay in time order.  One registered late (a take found once the
	 * thread went on computing, an epoch's tail spread once it ended) goes in its
	 * place, also before ones already filled.
	 */
	uint32_t i = t->nsnaps;

	while (i && ts < t->snaps[i - 1].ts)
		i--;
	if (!i && t->nfilled && t->nsnaps)
		ts = t->snaps[0].ts;
	memmove(&t->snaps[i + 1], &t->snaps[i], sizeof(*s) * (t->nsnaps - i));
	t->nsnaps++;
	s = &t->snaps[i];
	memset(s, 0, sizeof(*s));
	s->ts = ts;
	s->kind = kind;
	if (kind == SNAP_START) {
		t->win[0].ts = a->win_from;
		t->win[0].kind = SNAP_FROM;
		t->win[1].ts = a->win_to;
		t->win[1].kind = SNAP_TO;
	}
	/*
	 * Its time is already accounted: its values are those of the filled snapshot
	 * before it and of the next one (or of now), in proportion to its time between
	 * them (the time between is alike: an epoch's tail, its steps taken from the
	 * cache, 6 steps at one instant where the tail's end was seen late).
	 */
	if (i < t->nfilled) {
		approx(s, i ? &t->snaps[i - 1] : s + 1, &s[1].a, s[1].ts);
		t->nfilled++;
	} else if (ts < t->fin_until && t->nfilled == i) {
		approx(s, i ? &t->snaps[i - 1] : NULL, &t->cum, t->fin_until);
		t->nfilled++;
	}
	if (kind == SNAP_END)
		seal(t);
	return s;
}

/* The earliest snapshot still waiting for its values. */
static struct snap *next_pending(struct thr *t)
{
	struct snap *best = t->nfilled < t->nsnaps ? &t->snaps[t->nfilled] : NULL;

	for (int i = 0; i < 2; i++)
		if (!t->win_filled[i] && t->win[i].kind && (!best || t->win[i].ts < best->ts))
			best = &t->win[i];
	return best;
}

static void filled(struct thr *t, struct snap *s)
{
	fill(t, s);
	if (s == &t->win[0] || s == &t->win[1])
		t->win_filled[s - t->win] = true;
	else
		t->nfilled++;
}

void attr__become_logger(struct an *a, struct thr *t)
{
	struct proc *p = t->proc;

	if (t->flags & TF_LOGGER)
		return;
	t->flags |= TF_LOGGER;
	if (p && p->nloggers < MAX_LOGGERS)
		p->loggers[p->nloggers++] = t;
	if (!t->tl)
		t->tl = tl_grid__new(&a->grid, a->o->no_charts ? 0 : NCAT);
}

/*
 * Where t has run since: its switch in, or, running when the trace began (attached
 * to a busy loop) and seen in its calls since, the trace start, as attr__close_cpu()
 * will count it at its first switch out (0: off CPU, or not known).  A thread on an
 * idle machine runs for seconds without one: its CPU stood still until then, and a
 * loop without workers, attached, had no pattern of steps (pt_nw0 in a clean
 * clone's CI: 0 steps for 150, the main thread switched out 4 times in 1.7 s).
 */
static uint64_t on_since(const struct thr *t)
{
	if (t->run == RS_ON)
		return t->since;
	if (t->run == RS_UNKNOWN && t->cum.syscalls && !(t->flags & TF_EXITED))
		return t->since < t->fin_until ? t->fin_until : t->since;
	return 0;
}

/*
 * The thread's time on CPU up to ts.  A call's start is known only at its end, after
 * the switches in between: its CPU then comes from the slices closed since (a free
 * that ran 15.8 ms under load read as 0 ms of its own and 16 ms of next()'s tail).
 */
uint64_t attr__cpu_at(const struct thr *t, uint64_t ts)
{
	const struct cpu_slice *c;
	uint64_t on = on_since(t);

	if (on && ts >= on)
		return t->oncpu + ts - on;
	for (uint32_t i = 0; i < t->nslices && i < CPU_SLICES; i++) {
		c = &t->slices[(t->nslices - 1 - i) % CPU_SLICES];
		if (ts >= c->e)
			return c->before + c->e - c->s;
		if (ts >= c->s)
			return c->before + ts - c->s;
	}
	return t->nslices ? c->before : t->oncpu;
}

/* t's CPU ns at ts, from its history where its last slices do not reach (0: not known) */
static uint64_t hist_cpu_at(const struct thr *t, uint64_t ts)
{
	const struct cpu_slice *c;
	uint64_t on = on_since(t);

	if (on && ts >= on)
		return t->oncpu + ts - on;
	for (uint32_t i = 0; t->hist && i < t->nhist && i < CPU_HIST; i++) {
		c = &t->hist[(t->nhist - 1 - i) % CPU_HIST];
		if (ts >= c->e)
			return c->before + c->e - c->s;
		if (ts >= c->s)
			return c->before + ts - c->s;
	}
	return 0;
}

/* When t's CPU reached cpu ns, from its history (0: not known) */
static uint64_t hist_when(const struct thr *t, uint64_t cpu)
{
	const struct cpu_slice *c;
	uint64_t on = on_since(t);

	if (on && cpu >= t->oncpu)
		return on + cpu - t->oncpu;
	for (uint32_t i = 0; t->hist && i < t->nhist && i < CPU_HIST; i++) {
		c = &t->hist[(t->nhist - 1 - i) % CPU_HIST];
		if (cpu > c->before + c->e - c->s)
			return 0;	/* (after its last slice, off CPU since) */
		if (cpu >= c->before)
			return c->s + cpu - c->before;
	}
	return 0;
}

/*
 * The open receipt's last message brought no tensor (no fd fetch) where the loop's
 * batches do: no batch.  An IterableDataset worker's end of stream (DataLoader
 * answers it with None to that worker, or with persistent workers only marks the
 * worker done, and puts an index to another, in the same next()).
 */
static bool rx_bare(const struct thr *t)
{
	return t->rx_open && !t->rx_fetches && t->fetch_usual &&
	       t->fetch_hist[t->fetch_usual] >= FETCH_LEARN;
}

/*
 * t took a batch at ts: the loader's next() returned it.  While a receipt is open
 * (and its end is close), the time in next() runs up to here: dataloader_wait.  A
 * take from before the open receipt began (a put written late) leaves it open, unless
 * it took the last batch pending (an epoch's tail taken from the cache): no batch is
 * left for the receipt to end in.  A take of a message with no tensor (rx_bare) is no
 * step: its snapshot is void.
 * Returns the snapshot (NULL: none, nothing pending or decimated).
 */
static struct snap *take(struct an *a, struct thr *t, uint64_t ts, bool extend)
{
	struct snap *s;
	uint32_t src;

	if (!t->pending || ((t->flags & TF_QUEUE_FED) && !t->qf_in))
		return NULL;
	t->pending--;
	t->takes++;
	t->take_ts = ts;
	t->kept_free = 0;
	t->take_bare = t->bare_next = rx_bare(t);
	if (ts > t->last_take) {
		t->prev_take = t->last_take;
		if (t->last_take)
			t->take_gap = t->take_gap ? (3 * t->take_gap + ts - t->last_take) / 4 :
				      ts - t->last_take;
		t->last_take = ts;
		t->take_cpu = t->tail_cpu = attr__cpu_at(t, ts);
		t->tail_own = 0;
		t->tail_off = t->tail_freed = false;
	}
	if (extend && t->rx_open && ts > t->rx_end) {
		t->rx_end = ts;
		ovl_add(t, t->rx_start, ts, CAT_DL);
	}
	if (ts >= t->rx_start || !t->pending) {
		t->rx_open = false;
		t->rx_conn = 0;
	}
	t->absorb = false;
	attr__become_logger(a, t);
	src = t->ld_back ? t->ld_back_src : 0;
	t->ld_back -= !!t->ld_back;
	if (t->takes & ((1ull << t->decimate) - 1))
		return NULL;
	s = attr__snap(a, t, ts, t->take_bare ? SNAP_VOID : SNAP_TAKE);
	if (s && s->kind == SNAP_TAKE) {
		s->src = src;
		s->ld = (uint32_t)t->ld_ino;
		s->relay = (t->flags & TF_RELAY_FED) ? t->ld_relay : 0;
	}
	return s;
}

#define HELPER_ROUNDS	2	/* a reader silent while its siblings sent this many each */

/*
 * Does feeder (a queue feeder thread) write to a helper: a child of its process that
 * reads its tasks from that queue and never wrote a message back, while its siblings
 * wrote HELPER_ROUNDS each, and 2 more, since its first read?  A DataLoader worker
 * answers each index with a batch before it reads the next.  An asynchronous
 * checkpoint writer that multiprocessing started reads the job's state from a queue
 * and answers nothing; made before the workers, the queue's pipe is open in them too
 * and reads as an index queue shared with them at attach (attr__fd): each
 * checkpoint's put took a batch, a step too many (a user's script attached, 88 steps
 * for 80).  Run mode knows the queue once the writer reads it, and each later put took
 * the batch of a step to come (no step too many, one misplaced a checkpoint).
 */
bool attr__helper_queue(struct an *a, uint32_t feeder)
{
	const struct thr *f = feeder ? an__find_thread(a, feeder) : NULL;
	const uint64_t *v = f && f->feeds_key ? hmap_find(&a->task_fds, f->feeds_key) : NULL;
	const struct proc *q = v && (*v & 1) ? an__find_proc(a, (uint32_t)(*v >> 1)) : NULL;
	const struct proc *p = q ? q->parent : NULL;

	return p && (q->flags & PF_TASKS) && !q->msgs &&
	       p->kid_msgs - q->task_mark >= HELPER_ROUNDS * (uint64_t)p->kids_fed + 2;
}

/*
 * s, a take at t's put (before: of a batch received before the trace): the put's
 * feeder, should its queue prove a helper's (an_finish.c, helper_put)
 */
static void put_by(struct snap *s, const struct thr *t, bool before)
{
	if (s && s->kind == SNAP_TAKE) {
		s->feeder = t->put_feeder;
		s->before = before;
	}
}

/*
 * A take from an epoch's cache (its tail), placed once the tail ended: a batch of the
 * loop that ended, though another loader's may have arrived since (an_finish.c, loaders).
 */
static void take_cached(struct an *a, struct thr *t, uint64_t ts)
{
	struct snap *s = take(a, t, ts, false);

	/* (one its loader's kept while another's loop ran is that loader's: take) */
	if (s && s->kind == SNAP_TAKE && !s->src)
		s->src = t->qf_in ? (t->qf_freed ? SNAP_FREED : SNAP_QUEUED) : SNAP_CACHED;
	/* which loader's is not known: the tail of each, where loaders are zipped */
	if (s)
		s->ld = 0;
}

/* On-CPU time since the receipt's last call (0 for a time before it). */
static uint64_t rx_cpu_gap(const struct thr *t, uint64_t ts)
{
	uint64_t c = attr__cpu_at(t, ts);

	return c > t->rx_cpu ? c - t->rx_cpu : 0;
}

/*
 * A call of a receipt's: its socket calls, and what rebuilding a batch's tensors does
 * between fetching their fds over sockets (PyTorch's file_descriptor sharing: fstat,
 * dup, mmap, close; frees).  Under load rebuilding one took 2.3 ms of CPU before the
 * next tensor's fetch (pt_ep_w4_pf2_pers: 268 ms of that next() had read as the
 * step's): only another call (the step's own) says next() returned.  Futex calls
 * too: under GIL contention the thread waits for the GIL before each of its calls
 * (pt_gil_w2: 1.4 ms of CPU between two of one receipt's calls, with a GIL wait
 * between them, ended it: a step too many).
 */
static bool rx_call(const struct st_ev_syscall *sc)
{
	if ((sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_SOCK)
		return true;
	return st_syscall_class(sc->b.nr) &
	       (ST_SYSC_FDOP | ST_SYSC_MAP | ST_SYSC_UNMAP | ST_SYSC_CLOSE | ST_SYSC_FUTEX);
}

/*
 * t read a message's header (its length) last and sc comes before its body: a wait
 * for the GIL (a futex call), or the body's read.  However long t ran in between,
 * one message: multiprocessing reads the body right after the header, and under GIL
 * contention a thread waits 5 ms for the GIL before either and may run 1.4 ms on CPU
 * in between (pt_gil_w2 attach at rest: the receipt ended at the header and the body
 * began another, 62 steps of 60).  So is the first read after a worker's wake that
 * began the receipt, t not blocked since, on the batch pipe (any pipe while that is
 * not known yet): the message the wake announced (attr__arrival's body), however
 * long t ran before it.  A new iterator's first next() runs 1.1-1.3 ms of Python on
 * the way from poll() to its first read, once (a user's script, run and attached:
 * the first batch taken at the wake, and the put that ended that next() took
 * another, its first epoch 31 steps for 30).  The loop's: its process's first thread.
 * Not a pin-memory thread's, whose first receipt does the same: its loop's pending
 * count then changes with it, and that was not worked out (kept traces: validation
 * batches closer to the jobs', 37 off for 64, training steps further, 405 for 400).
 */
static bool rx_before_body(const struct thr *t, const struct st_ev_syscall *sc)
{
	bool read = (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_PIPE &&
		    (sc->b.nr == NR(read) || sc->b.nr == NR(readv));

	if (!t->rx_open)
		return false;
	if (t->last_arr_kind == ARR_WAKE)
		return read && (t->flags & TF_LEADER) && (!t->arr_ino || sc->fd.ino == t->arr_ino) &&
		       t->blocks == t->last_arr_blocks && t->takes == t->last_arr_takes;
	if (t->last_arr_kind != ARR_HDR)
		return false;
	if (sc->b.nr == NR(futex))
		return true;
	return read && sc->fd.ino == t->arr_ino;
}

/*
 * t's last take is back at an earlier one (those after it were void): no next() is
 * open after it, whatever t did since.  Left open, the next preemption within the
 * void take's tail (in_next_tail: its CPU bound) was next()'s from that earlier take
 * on: pt_pin_hogs attached, a blind epoch's first resume put taken, then void, and the
 * preemptions among the resume's puts made the 70 ms since the epoch's last take seen
 * (its unseen tail, the loop on CPU) loader wait: 0.190 of the job's window for its
 * 0.119 in next(), 0.116 with this.
 */
static void take_undone(struct thr *t, uint64_t last)
{
	t->last_take = last;
	t->tail_off = true;
	if (t->pre_take > last)
		t->pre_take = 0;
}

/* Some of t's takes were void: its last take is the last one left. */
static void last_take_left(struct thr *t)
{
	uint32_t i = t->nsnaps;

	while (i-- && t->snaps[i].kind != SNAP_TAKE)
		;
	take_undone(t, i < t->nsnaps ? t->snaps[i].ts : 0);
}

/*
 * t's first message with a tensor (its first fd fetch) came after messages with none,
 * the first ones of the trace, no more of them than its process has workers: a
 * persistent pool there before the trace (attach mode) resumed at the trace's start.
 * Its new iterator sent each worker a resume message, read their answers, then put
 * its prefetch, all before this batch: those puts and takes took nothing.  Seen late
 * (each at its feeder's write, while t waited on the GIL or for the first batch),
 * they were not back to back, and each was taken as one of a batch received before
 * the trace (before_trace): a user's script attached between two epochs, 2 resume
 * puts, 2 answers and 8 prefetch puts read as 10 steps, 129 for 120.  So the takes
 * since the first answer, and the one at each resume put before it (as many as
 * answers), are void, and an iterator began: its batches are all seen from here.
 */
static void trace_resumed(struct thr *t)
{
	uint32_t bare = t->unfetched ? t->unfetched - 1 : 0, before = bare, i = t->nsnaps;

	if (!bare || t->epoch_ends || (t->flags & TF_RELAY_FED) || !t->proc ||
	    (t->proc->flags & PF_FORKS) || bare > t->proc->live_children)
		return;
	while (i-- && (t->snaps[i].ts >= t->unfetched_from || before))
		if (t->snaps[i].kind == SNAP_TAKE) {
			before -= t->snaps[i].ts < t->unfetched_from;
			t->snaps[i].kind = SNAP_VOID;
		}
	last_take_left(t);
	t->pending = 1;
	t->iter_takes = 0;
	t->epoch_ends++;
}

/*
 * A receipt's fetch of a shared-memory fd is one exchange on a socket it connects
 * to the worker (multiprocessing's resource sharer: connect, the authentication
 * challenge both ways, the fd, close): until that socket is closed, the receipt goes
 * on, however long the thread ran in between.  On a loaded VM a thread "runs" while
 * its virtual CPU is taken away: pt_wk_sleep under load ran 18.6 ms between the
 * challenge's read and its answer, and the receipt ended there (its take early, the
 * rest of next() compute, and the next send held as in an epoch's tail: loader wait
 * 0.653 of the window for the job's 0.719).
 */
static void rx_conn_track(struct thr *t, const struct st_ev_syscall *sc)
{
	if (!(sc->present & ST_SC_FD) || sc->fd.kind != ST_FD_SOCK)
		return;
	if (sc->b.nr == NR(connect) && t->rx_open && (sc->b.ret == 0 || sc->b.ret == -EINPROGRESS)) {
		if (!t->fetched)
			trace_resumed(t);
		t->rx_conn = sc->fd.ino;
		t->rx_fetches++;
		t->fetched = true;
	}
}

/*
 * sc closed the receipt's connection: after receipt() has seen the close, which is
 * the receipt's however long t ran before it.  torch closes the socket twice
 * (socket.fromfd's duplicate, then the connection); cleared at the first before
 * receipt() saw it, the second ended the receipt where CPython's cyclic GC ran
 * between the fd's receipt and the closes (14 ms of CPU, a user's network-fed loop
 * beside busy: the rest of that next() read as compute).
 */
static void rx_conn_closed(struct thr *t, const struct st_ev_syscall *sc)
{
	if ((sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_SOCK && sc->b.nr == NR(close) &&
	    sc->fd.ino == t->rx_conn)
		t->rx_conn = 0;
}

/*
 * A receipt's fetches, learnt (FETCH_LEARN): the most common count, of those with
 * fetches once FETCH_LEARN receipts had the same.  Batches with tensors fetch their
 * fds; messages with none (an IterableDataset's ends of stream, a persistent pool's
 * answers to a resume: 4 each per epoch) may be more common early in a trace
 * (pt_iter_pers attached late in its first epoch under load: 6 such for 5 batches
 * there, the next epoch's 4 resume answers and 2 of its prefetch puts taken as steps,
 * 74 for 70).
 */
static void rx_fetch_learn(struct thr *t)
{
	uint32_t n = t->rx_fetches < FETCH_MAX ? t->rx_fetches : FETCH_MAX, best = 1;

	if (!t->rx_open)
		return;
	t->fetch_hist[n]++;
	for (uint32_t i = 2; i <= FETCH_MAX; i++)
		if (t->fetch_hist[i] > t->fetch_hist[best])
			best = i;
	if (t->fetch_hist[best] < FETCH_LEARN && t->fetch_hist[0] > t->fetch_hist[best])
		best = 0;
	t->fetch_usual = best;
}

/* A put takes a batch (next() returned it): its receipt's fetches, the epoch's takes. */
static void put_take(struct thr *t)
{
	rx_fetch_learn(t);
	t->iter_takes++;
	t->put_takes = t->takes + 1;	/* the take that follows */
}

static bool rx_conn_call(const struct thr *t, const struct st_ev_syscall *sc)
{
	if (t->fetch_hist[t->fetch_usual] >= FETCH_LEARN && t->rx_fetches < t->fetch_usual &&
	    (rx_call(sc) || sc->b.nr == NR(socket)))
		return true;
	return t->rx_conn && (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_SOCK &&
	       sc->fd.ino == t->rx_conn;
}

/*
 * A call on the pipe the receipt's batch came on (a poll, the next read).  DataLoader
 * keeps a batch that came before its turn and goes straight back to the pipe for the
 * one it waits for: with only a receipt's calls since, the receipt goes on (pt_wk_lock
 * at rest: 2 ms of CPU rebuilding a batch that came early ended the receipt there,
 * then the two batches of the same next() call were taken in it and none in the
 * next two calls, which took them from the cache).
 */
static bool rx_pipe_call(const struct thr *t, const struct st_ev_syscall *sc)
{
	return t->puts && t->arr_ino && (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_PIPE &&
	       sc->fd.ino == t->arr_ino;
}

/* The open receipt goes on through the call sc (NULL: a new batch's) at s. */
static bool rx_goes_on(const struct thr *t, const struct st_ev_syscall *sc, uint64_t s)
{
	uint64_t gap = rx_cpu_gap(t, s);

	if (gap <= RX_CPU_NS)
		return true;
	/*
	 * A wake while it waited on a pipe (its batch pipe: a wake is then an arrival).
	 * Or a relay's, the loop back to waiting on it with less than half a step's CPU
	 * (put to put) since its last: that batch came out of order, and DataLoader keeps
	 * it and waits for the one due, in the same next().  Under load, the loop's CPU
	 * between the two wakes passed RX_CPU_NS (GIL handoffs with the relay), and each
	 * such batch was a step of its own (pt_iter_pin attached: its last epoch 19 steps
	 * for 16, 66 for 62 in all; 16 and 63 now).  Not before a step's CPU is known:
	 * an epoch's first batches (pt_val_pin_pers under load: its first batch, out of
	 * order, a step 62 ms early).
	 */
	if (!sc)
		return (t->puts && !t->rx_foreign && gap <= RX_CPU_MAX_NS &&
			t->off_wait == ST_WAIT_PIPE) ||
		       ((t->flags & TF_RELAY_FED) && gap < t->put_gap_cpu / 2);
	return rx_before_body(t, sc) || rx_conn_call(t, sc) ||
	       (!t->rx_foreign && gap <= RX_CPU_MAX_NS && (rx_call(sc) || rx_pipe_call(t, sc)));
}

/* sc unmaps memory, batches pending, where a free may take one (rx_freed, tail_free) */
static bool free_takes(const struct thr *t, const struct st_ev_syscall *sc)
{
	return t->pending && (st_syscall_class(sc->b.nr) & ST_SYSC_UNMAP) &&
	       !(t->flags & (TF_RELAY_FED | TF_QUEUE_FED)) && t->takes >= t->ld_takes + 2 &&
	       t->put_ts <= t->last_take && t->put_run.len <= 1;
}

/*
 * sc unmaps memory after the open receipt fetched all of its batch's tensors (as many
 * fds as the loop's batches bring): the previous batch's shared memory, freed as the
 * new one is bound.  next() returned at the receipt's end, though no index was put (an
 * epoch's last batches: the sampler is spent).  Without it, the next next()'s poll on
 * the batch pipe came within a step's CPU and the receipt went on through it: a
 * user's prep-bound loop (fork or spawn workers, not persistent, a step's compute 0.9
 * ms of CPU with no call) had each epoch's last 4 batches taken at the pool's
 * shutdown puts and the next iterator's first ones, 2 and 20 ms late.  Not a
 * relay's receipt (the relay frees nothing of the loop's), nor a queue's, nor one
 * within two takes of the loop's coming to its loader: loaders zipped take one batch
 * of each a step, and their tails' receipts go on as one, a take a step (the other
 * loader's batches left at its shutdown are none: pt_zip_uneq attached, 80 steps for
 * 78 with each receipt taken at its free), nor after a put since the last take or
 * puts back to back (a new iterator's): a persistent pool's reset reads the old
 * iterator's batches after its resume puts, rebuilds and drops each, and its free is
 * no step (pt_ep_break_pers in a clean clone's CI: 95 and 97 steps for 88; the resume
 * puts had taken the batches the loop kept, which the drain voids later).
 */
static bool rx_freed(const struct thr *t, const struct st_ev_syscall *sc)
{
	return t->rx_open && free_takes(t, sc) && t->fetch_usual &&
	       t->fetch_hist[t->fetch_usual] >= FETCH_LEARN && t->rx_fetches >= t->fetch_usual;
}

/*
 * A receipt whose batch was not taken by an index send: once the thread has run
 * RX_CPU_NS on CPU past it without another loader call (RX_CPU_MAX_NS with only
 * receipt calls), it computes: next() returned at the receipt's end (the last
 * batches of an epoch: no index is left to send).
 */
static void receipt_timeout(struct an *a, struct thr *t, const struct st_ev_syscall *sc,
			    uint64_t ts)
{
	if (t->rx_open && t->pending && ((sc && rx_freed(t, sc)) || !rx_goes_on(t, sc, ts))) {
		uint64_t prev, prev_cpu;

		/* a batch kept before the tail, taken at a free (tail_free) */
		if (t->kept_free && t->kept_free < t->rx_start && t->pending > 1 && !t->tail_from)
			take_cached(a, t, t->kept_free);
		prev = t->last_take;
		prev_cpu = t->take_cpu;
		take(a, t, t->rx_end, false);
		t->take_cpu = t->rx_cpu;
		t->absorb = true;
		/*
		 * An epoch's tail only where next() is seen putting indices, and took a
		 * batch at a put since the epoch began: a new iterator's first batches
		 * take long to rebuild (imports, first calls), and under load the first
		 * receipts of pt_wk_lock ended by their CPU before any put was seen; read as
		 * a tail, the puts that followed were held and the window's first three
		 * steps were lost (116 of 120).
		 */
		if (!t->tail_from && t->puts && t->iter_takes) {
			uint64_t c = attr__cpu_at(t, t->rx_start);

			t->tail_from = t->tail_of = t->last_take;
			/* (a take of the loader's: not of another the loop left since) */
			t->tail_prev = prev >= t->ld_since ? prev : 0;
			t->tail_rx = t->rx_start;
			t->tail_gap = prev && c > prev_cpu ? c - prev_cpu : 0;
		}
	}
}

/*
 * A send after a take found by its receipt's end is that take's own, late (the
 * batch's tensors took long to rebuild): not an epoch's tail, then.
 */
static bool absorbed(struct thr *t)
{
	bool was = t->absorb;

	t->absorb = false;
	if (was)
		t->tail_from = 0;
	return was;
}

/*
 * n batches pending were taken from the cache, at times not seen, between from and e:
 * spread evenly (the steps there are alike), or, where the end was not seen (!seen),
 * at the thread's recent pace.
 */
static void spread_takes(struct an *a, struct thr *t, uint64_t from, uint64_t e, uint64_t n,
			 bool seen)
{
	uint64_t step;

	if (e < from)
		e = from;
	step = (e - from) / (n + 1);
	if (!seen && t->take_gap && t->take_gap < step)
		step = t->take_gap;
	for (uint64_t i = 1; i <= n; i++)
		take_cached(a, t, from + step * i);
}

/*
 * n batches kept apart from those pending (a loader's parked while another's loop ran)
 * taken from the relay's queue, at times not seen, between from and e: spread evenly,
 * the batches pending left as they are.
 */
static void spread_parked(struct an *a, struct thr *t, uint64_t from, uint64_t e, uint32_t n)
{
	uint32_t cur = t->pending;

	t->pending = n;
	spread_takes(a, t, from, e, n, true);
	t->pending = cur;
}

/*
 * The epoch ended at e (its iterator shut down, or was reset): every batch received
 * and not taken was taken from the cache, at times not seen, between the tail's first
 * take and e: spread evenly (the steps there are alike).  Where the end was not seen
 * (the trace ended, a worker exited), the steps go on at the thread's recent pace.
 */
static void tail_end(struct an *a, struct thr *t, uint64_t e, bool seen)
{
	uint64_t before = 0;

	/*
	 * A loop a relay feeds takes the batches in the relay's queue without a call:
	 * the tail's first receipt seen may come after some of them (a step's CPU or
	 * more from the take before it to that receipt, past its own step's).
	 */
	if ((t->flags & TF_RELAY_FED) && t->put_gap_cpu && t->tail_of == t->tail_from && t->tail_prev &&
	    t->tail_rx > t->tail_prev) {
		before = (t->tail_gap + t->put_gap_cpu / 2) / t->put_gap_cpu;
		before = before > 1 ? before - 1 : 0;
		before = before < t->pending ? before : t->pending;
		spread_takes(a, t, t->tail_prev, t->tail_rx, before, true);
	}
	spread_takes(a, t, t->tail_from, e, t->pending, seen);
	t->tail_from = t->held_put = 0;
	t->iter_takes = 0;
	t->epoch_ends++;
}

/*
 * A loader that began before the trace (attach: its workers were not forked in it)
 * takes batches received before the trace, from its cache or the pipe: until its
 * first epoch ends, a put with no batch received in the trace is such a take, not an
 * iterator's first puts.  Not after a take of a message that brought no tensor where
 * batches do (take_bare): an IterableDataset worker's end of stream, which DataLoader
 * answers with None and an index to another worker in the same next(), and after
 * which the pool's shutdown closes the queues, waking each feeder; those puts take
 * nothing (pt_iter attach: 5 steps too many in the first epoch).
 */
static bool before_trace(const struct thr *t)
{
	return !t->epoch_ends && t->proc && !(t->proc->flags & PF_FORKS) && !t->take_bare;
}

/*
 * t's put went through a feeder thread started in the trace: a queue's feeder starts
 * at its first put, so its iterator's first puts are seen, and its pool, forked before
 * the trace, had sent no batch yet (attach between a new iterator's fork of its workers
 * and its prefetch: a user's script attached in its first iter(), the 4 prefetch puts
 * read as takes of batches received before the trace, 35 steps for its first epoch's
 * 30).  Its batches are all seen from here.
 */
static bool iter_seen(struct an *a, const struct thr *t)
{
	const struct thr *f = t->put_feeder ? an__find_thread(a, t->put_feeder) : NULL;

	return f && (f->flags & TF_FORKED);
}

/*
 * A loop fed through a relay (PyTorch's pin-memory thread) takes a batch from the
 * relay's queue without a call when it is there already.  In an epoch's tail, where
 * no index is left to put, nothing is then seen of its takes unless it waits: the
 * batches still pending at the loop's end were taken after its last take seen
 * (from).  Its end: the next iterator's first puts back to back (a persistent
 * pool's resume, a new iterator's prefetch: no step between them, BURST_CPU_NS; the
 * first of them took one of the batches), a fork (a new iterator's pool), a worker's
 * exit (the old one's shutdown).  u27_valpers with pin memory: the training
 * loop's last 6 batches taken at the validation loop's puts, and the pool's resume
 * puts taken as steps, 47 validation batches for 36.  True when t is in such a
 * tail (tail_from set).
 *
 * Where the loop's pool was there before the trace (attach mode), the batches in the
 * relay's queue when the tracer came were counted by nobody: how many of the first
 * epoch's tail they were is not known (up to prefetch_factor x num_workers; a loop
 * that never waited on the relay counts none of its batches).  The end of that epoch
 * at ts is kept for the report (blind_end); so is it for a loop seen receiving no
 * batch at all (attached in its epoch's tail: its batches were in the relay's queue,
 * before the relay received any in the trace, or in its loader's cache).
 */
static bool relay_tail(struct thr *t, uint64_t from, uint64_t ts)
{
	if (((t->flags & TF_RELAY_FED) || t->relay_blind || !t->own_arrivals) && t->pool_before &&
	    t->takes && !t->epoch_ends && !t->blind_end)
		t->blind_end = ts;
	if (!t->tail_from && t->pending && from && (t->flags & TF_RELAY_FED))
		t->tail_from = from;
	return t->tail_from;
}

/* t's last take was none after all: its step is void */
static void void_last_take(struct thr *t)
{
	for (uint32_t i = t->nsnaps; i-- && t->snaps[i].ts >= t->last_take;)
		if (t->snaps[i].ts == t->last_take && t->snaps[i].kind == SNAP_TAKE) {
			t->snaps[i].kind = SNAP_VOID;
			take_undone(t, t->prev_take);
			return;
		}
}

/*
 * The first epoch of a loop fed through a relay from a pool there before the trace
 * ended (relay_tail, blind_end): of its tail, begun after the take at from, the batches
 * credited to t were counted (cached: spread before the end).  The rest were taken
 * unseen; how many, its pool's next iterator says (blind_resumed).  feeder: one the
 * epoch's puts went to.
 */
static void blind_count(struct thr *t, uint64_t from, uint32_t cached, uint32_t feeder)
{
	t->blind_from = from;
	t->blind_cached = cached;
	t->blind_feeder = feeder;
	t->blind_prefetch = 0;
	t->blind_same = false;
	t->blind_counting = true;
}

/*
 * Puts back to back that end the first epoch of a loop fed through a relay from a
 * pool there before the trace (relay_tail set blind_end at the first of them, prev_ts),
 * with no batch pending: the tail's takes were all unseen (said on top), and the first
 * put, taken as a batch received before the trace (before_trace), was the next
 * iterator's (a persistent pool's resume: put_held voided it); so are the puts that
 * follow (pt_pin_hogs attach under load: the 4 resume puts and 8 prefetch puts taken
 * as steps, 53 for 50).  True when the epoch ended there.
 */
static bool blind_epoch_end(struct thr *t, uint64_t prev_ts)
{
	if (t->epoch_ends || t->blind_end != prev_ts || t->pending)
		return false;
	t->iter_takes = 0;
	t->epoch_ends++;
	blind_count(t, t->last_take, 0, t->feeders[2]);
	return true;
}

/*
 * The first batch came to t since its blind epoch's pool resumed (blind_epoch_end): the
 * new iterator's puts before it were its prefetch (prefetch_factor x num_workers, or
 * the epoch's batches if fewer), and that many batches were outstanding when the blind
 * epoch's indices ran out: its unseen tail, taken between its last take seen and its
 * end.  Only where those puts went to the blind epoch's pool (one of its feeders): a
 * persistent pool is the same loader; another loader's prefetch (a validation loop
 * between two epochs) says nothing of it, and its pool's next resume is waited for.
 */
static void blind_resumed(struct an *a, struct thr *t)
{
	uint32_t seen = t->blind_cached;

	t->blind_pf_open = false;
	/* another loader's (validation's): the pool may resume after it */
	if (!t->blind_same)
		return;
	t->blind_counting = false;
	/*
	 * Its workers ended their streams (an IterableDataset: a message with no tensor
	 * before the epoch's end): the indices outstanding were answered by those, not by
	 * batches, and how many batches were left is not known (pt_iter_pin attach: 8
	 * steps too many).  Said on top as missing, not counted.
	 */
	if (t->blind_prefetch <= seen || (t->bare_ts && t->bare_ts < t->blind_end))
		return;
	t->blind_tail = t->blind_prefetch - seen;
	/* the tail's takes spread already are spread again with the rest, evenly */
	for (uint32_t i = t->nsnaps, k = t->blind_cached; k && i-- && t->snaps[i].ts > t->blind_from;)
		if (snap_unseen(&t->snaps[i]) && t->snaps[i].ts < t->blind_end) {
			t->snaps[i].kind = SNAP_VOID;
			k--;
		}
	t->pending += t->blind_prefetch;
	spread_takes(a, t, t->blind_from, t->blind_end, t->blind_prefetch, true);
}

/* The worker that reads the index pipe feeder f writes (known once it read it). */
static struct proc *feeder_worker(struct an *a, const struct thr *f)
{
	uint64_t *v = f->feeds_key ? hmap_find(&a->task_fds, f->feeds_key) : NULL;

	return v && (*v & 1) ? an__find_proc(a, (uint32_t)(*v >> 1)) : NULL;
}

/*
 * The put at ts ended an epoch's tail, its puts-th put since: where the process forked
 * no worker since (the pool lives on) and the puts came back to back (a resume put
 * per worker, not a step's), a persistent pool resumes (an_core.h).
 */
static void resume_start(struct thr *t, uint64_t ts, uint32_t puts, bool burst)
{
	t->resuming = burst && t->proc && t->proc->fork_ts < ts;
	t->resume_rearmed = false;
	t->resume_from = ts;
	t->resume_puts = puts;
	t->resume_acks = 0;
}

/* Feeder thread tid feeder writes the index pipe of a worker that lives. */
static bool feeds_live_worker(struct an *a, uint32_t feeder)
{
	struct thr *f = feeder ? an__find_thread(a, feeder) : NULL;
	struct proc *w = f ? feeder_worker(a, f) : NULL;

	return w && !an__proc_gone(w);
}

/*
 * Puts back to back after a "resume" whose workers exited with no answer (a pool's
 * shutdown: None put to each worker; resume_rearmed): where both went to workers that
 * live on and no worker was forked since, the pool that lives on resumes (a
 * persistent training pool after a validation loader's loop; a user's script attached
 * in the first epoch: the validation pool's shutdown read as the training pool's
 * resume, and the real one 11 ms later not, so the blind epoch's unseen tail, 6
 * batches, was never counted: blind_resumed).  Its queues' close() after the shutdown
 * wakes the dead pool's feeders back to back too: those are not it.
 */
static bool resume_next(struct an *a, struct thr *t, uint64_t ts, bool burst)
{
	if (!t->resume_rearmed || !burst || t->pending || t->tail_from || t->takes != t->rearm_takes)
		return false;
	if (!t->proc || t->proc->fork_ts > t->resume_from ||
	    !feeds_live_worker(a, t->feeders[0]) || !feeds_live_worker(a, t->feeders[1]))
		return false;
	t->resume_rearmed = false;
	resume_start(t, ts, 2, true);
	return true;
}

/*
 * A put while a pool resumes (cpu, prev: t's CPU time then and at its last put): one
 * more worker resumed (true), until an answer came; the first put after one is the
 * new iterator's first index.  A put after a step's worth of CPU, or a pool
 * re-created (forked), is no resume; nor more puts than the process has workers (a
 * resume message to each: these were a new iterator's prefetch, read as a resume
 * where the resume's puts were not seen back to back; a user's script attached in
 * the middle of training: the workers' next 8 batches taken as answers, 55 steps for
 * 63).
 */
static bool resume_put(struct thr *t, uint64_t cpu, uint64_t prev)
{
	bool prefetch = t->resuming && !t->resume_acks && t->proc && t->proc->live_children &&
			t->resume_puts >= t->proc->live_children;

	/* (a blind epoch's end is then not known: its tail is not counted, said on top) */
	if (prefetch)
		t->blind_counting = false;
	if (t->resuming && ((t->proc && t->proc->fork_ts > t->resume_from) || prefetch ||
			    (!t->resume_acks && cpu > prev + RX_CPU_NS)))
		t->resuming = false;
	if (!t->resuming)
		return false;
	if (!t->resume_acks) {
		t->resume_puts++;
		return true;
	}
	t->resuming = false;
	/* its prefetch begins: a blind epoch's tail, if it is that epoch's pool */
	t->blind_prefetch = 0;
	t->blind_same = false;
	t->blind_pf_open = t->blind_counting;
	return false;
}

/*
 * Puts back to back by a loop fed through a relay, no more of them than the ends of
 * stream the relay passed on to it before and among them (the last, not known yet as
 * no batch, counted as one): DataLoader answers each worker's end of stream of an
 * IterableDataset by an index to a worker still streaming, in the same next().  They
 * take nothing, and no iterator begins there (pt_iter_pin under load: two ends read
 * back to back and answered, taken as the next iterator's start, the epoch's 4 last
 * steps placed before them, 300 ms early, and one lost).  An iterator's start has a
 * put per worker (a resume) or more (a prefetch) after the last end only.
 */
static bool end_answers(struct thr *t, bool burst)
{
	uint32_t ends = t->ends_relayed + (t->owed_at && !t->owed_counted);

	if (t->owed_at)
		t->owed_counted = true;
	t->ends_relayed = 0;
	if (!burst)
		t->run_ends = 0;
	t->run_ends += ends;
	return burst && (t->flags & TF_RELAY_FED) && t->run_ends >= t->put_run.len;
}

/* The message t reads is complete: count it, by whether it brought a tensor. */
static void msg_done(struct thr *t)
{
	if (t->rx_open && !t->rx_counted && t->fetched) {
		if (t->rx_fetches)
			t->msgs_full++;
		else
			t->msgs_bare++;
	}
	t->rx_counted = t->rx_open;
}

/*
 * Takes at ts or later were none, nor were those after `after` taken from the cache
 * (an epoch's tail: tail_end): their steps are void.  Returns the takes left after
 * `after` (seen ones: a receipt's end).
 */
static uint32_t void_takes_from(struct thr *t, uint64_t after, uint64_t ts)
{
	uint32_t i = t->nsnaps, seen = 0;

	while (i-- && t->snaps[i].ts > after)
		if (t->snaps[i].kind == SNAP_TAKE && (t->snaps[i].ts >= ts || snap_unseen(&t->snaps[i])))
			t->snaps[i].kind = SNAP_VOID;
		else if (t->snaps[i].kind == SNAP_TAKE)
			seen++;
	last_take_left(t);
	return seen;
}

/*
 * A persistent pool reset while batches were outstanding (a loop that left its epoch
 * early: a break after N steps, or a first next() before the training loop): the new
 * iterator puts a resume message to each worker, reads the result queue until every
 * worker answered (a message with no tensor), dropping the old iterator's batches
 * that come first, and only then puts its prefetch, back to back.  So where a put
 * begins such a run (burst), and the messages read since the put before it, none
 * taken, hold at least an answer per worker: none was a batch, that put took
 * nothing, and an iterator began (the epoch before it ended).  A user's script
 * attached at such a reset: its 5 old batches and 3 answers counted, 3 batches left
 * pending all through its first epoch and taken at the next reset's puts, 93 steps
 * for 89.  Not in an epoch's tail (tail_from: its batches were taken), nor in a pool
 * forked since (a new pool's answers are its batches), nor where a relay feeds t (its
 * messages are the relay's).  An IterableDataset's ends of stream are no tensor
 * either, but each is answered by a put before the next is read, unless the epoch is
 * over.
 */
static bool pool_drained(const struct thr *t, bool burst, bool took)
{
	return burst && !(t->flags & TF_RELAY_FED) && !t->tail_from && t->pending && t->proc &&
	       t->proc->live_children > 1 && t->at_put.bare - t->at_put0.bare >= t->proc->live_children &&
	       t->takes == t->at_put0.takes + took && t->proc->fork_ts <= t->put_ts0;
}

/*
 * A pool's reset drained old batches (pool_drained): the loop left its epoch early,
 * and the batches it kept were dropped too, but for those it took before: where the
 * sampler ran out of indices before the loop left (fewer left than the prefetch),
 * its last steps took batches with no put, from its cache unseen (an epoch's tail:
 * tail_end spread every batch pending as such).  Where the resume puts came back to
 * back (one per worker), they took none; the loop's CPU from the last put before
 * them to the first, in its recent steps' compute (CPU from a put to the next
 * receipt: a step from the cache is no more), says how many steps it took there,
 * the last put's and the tail's seen ones (at a receipt's end) included (a job that
 * left 10 batches of each epoch to a prefetch of 12, 2 such steps an epoch: 3 read
 * at the resume puts in run mode, 4 spread in the tail in attach mode).  A step
 * counts from 3/4 of one: that CPU also holds the epoch's end and the reset's own
 * work (pt_ep_break_pers beside CPU hogs: 1.69 steps' worth for 1, a step too many).
 */
static void left_early(struct an *a, struct thr *t, bool took)
{
	uint64_t n = 0, seen;
	struct put_run r = t->put_run0;

	/*
	 * Attached just before the reset: the trace's first puts, one per worker at most,
	 * were its resume, seen late (at their feeders' writes, after the drained batches
	 * had come: no run; two writes close together seen as one), and took nothing, the
	 * drained batches were none (a user's script whose epochs leave after 40 batches,
	 * attached between two: 121 steps for 119; golden pool_reset_drain_late).
	 */
	if (before_trace(t) && t->puts > t->put_run.len &&
	    t->puts - t->put_run.len <= t->proc->live_children) {
		void_takes_from(t, 0, 1);
		t->pending = 0;
		t->rx_open = false;
		t->rx_conn = 0;
		return;
	}
	/*
	 * The resume seen as two runs: a put on the queue of a feeder still to write an
	 * earlier index (woken for it, not yet run) wakes nothing, and is seen at that
	 * feeder's write, after the drained batches began to come, as a step's put that
	 * took the one received (pt_ep_break_pers beside CPU hogs: the second resume put
	 * seen 0.3 ms late, its drained batch a step too many).
	 */
	if (r.len < t->proc->live_children && r.late &&
	    t->put_run1.len + r.len == t->proc->live_children) {
		r = t->put_run1;
		r.len += t->put_run0.len;
	}
	if (r.len != t->proc->live_children) {
		if (took)
			void_last_take(t);
		t->pending = 0;
		return;
	}
	seen = void_takes_from(t, r.after, r.from) + 1;
	if (r.step)
		n = (r.span + r.step / 4) / r.step;
	n = n > seen ? n - seen : 0;
	t->pending = n < r.pend ? n : r.pend;
	/* the messages drained were none of them */
	t->rx_open = false;
	t->rx_conn = 0;
	spread_takes(a, t, t->last_take, r.from, t->pending, true);
	t->pending = 0;
}

static bool put_rules(struct an *a, struct thr *t, uint64_t ts, bool exact);

/*
 * A relay-fed loop came back to a loader whose batches it parked with no batch of its
 * since (relay_switch), and its next put came back to back: that loader's next
 * iterator (a persistent pool's resume), so its epoch had ended where the loop left
 * it, and the batches parked were that epoch's tail, taken from the relay's queue
 * unseen before the loop left (pt_val_pin_pers: a validation loop after each epoch).
 * The take at the first put was none.
 */
static void relay_back_tail(struct an *a, struct thr *t, bool took)
{
	uint32_t n = t->pending + took;

	if (took)
		void_last_take(t);
	t->pending = 0;
	spread_parked(a, t, t->ld_back_from, t->ld_back_at, n);
	t->ld_back = 0;
	t->ld_back_at = 0;
	t->tail_from = t->held_put = 0;
	t->iter_takes = 0;
	t->epoch_ends++;
}

/*
 * put_rules(), and what pool_drained() needs of the put (exact: seen when t made it,
 * not at its feeder's write)
 */
static bool put_held(struct an *a, struct thr *t, uint64_t ts, bool exact)
{
	bool held, takes;

	msg_done(t);
	held = put_rules(a, t, ts, exact);
	takes = !held && t->pending;
	t->at_put0 = t->at_put;
	t->at_put = (struct put_mark){ t->pending - takes, t->takes + takes, t->msgs_bare,
				       t->msgs_full };
	return held;
}

/*
 * A put by t at ts with no batch to take (a new iterator's first ones) ends an
 * epoch's tail; in a tail, a put is held (docs in an_core.h, tail_from).  True when
 * the put is no take now.  A put that comes next after a take of a message with no
 * tensor (take_bare), no batch between, takes nothing: DataLoader answers an
 * IterableDataset worker's end of stream by putting None to it (that take is void:
 * take()) and then an index to another worker, in the same next().  That
 * second put took a batch received early (pt_iter attach under load: 72-73 steps for
 * 70; a third put, of a batch from the cache, takes as before).
 */
static bool put_rules(struct an *a, struct thr *t, uint64_t ts, bool exact)
{
	uint64_t cpu = attr__cpu_at(t, ts), prev = t->put_cpu, prev_ts = t->put_ts;
	/* the last put took a batch, and nothing else took one since */
	bool took = t->takes == t->put_takes;
	/*
	 * Back to back: the same loop of puts, however long t was preempted or waited for
	 * the GIL between them; not a loop that waited for a batch between two steps' puts
	 * (a batch arrived between them).  Not where t is off CPU since before this put:
	 * the switch that brought it back was not shown, and its CPU time since is not
	 * known yet (its next switch out says it, ST_SW_RAN: u32_iterpin under load, a
	 * step's 30 ms read as 0.15 ms, a false epoch's end, 4 steps too many).  Nor a put
	 * seen late, at its feeder's write while t was off CPU: when t made it is not
	 * known, and two such writes back to back may be puts a step apart (pt_iter_pin
	 * attach under load: read as an epoch's end, 74 steps for 70).  Puts seen when
	 * t made them (exact: a feeder's wake, t's own write) are back to back, on CPU
	 * or not, when they came as close in time: the kernel may not show the switch
	 * that brought t back (ST_SW_RAN), and t runs puts it is thought off CPU for
	 * (pt_val_pin_pers in clean clones' CI: a persistent validation pool's resume
	 * puts 39 us apart, the first validation loop's tail taken there, its loops read
	 * as 7 and 17 batches for 12 and 12, none told apart, 134 steps for 110; golden
	 * val_pin_pers).
	 */
	bool burst = prev_ts && t->last_arrival <= prev_ts &&
		     ((cpu <= prev + BURST_CPU_NS && !(t->run == RS_OFF && t->since < ts)) ||
		      (exact && t->put_exact && ts - prev_ts <= BURST_CPU_NS));
	/*
	 * Nor a step's put after one: less than a quarter of a step's CPU (put to put)
	 * between them, no batch arrived.  Coming back to a parked loader, a step's put
	 * follows a step (pt_val_pin_pers beside `busy --disk`: the training pool's
	 * second resume put came 0.49 ms of CPU after its first, no burst, and the first
	 * epoch's 6 parked batches were read as the next one's first steps, 105 for 110).
	 */
	bool near = burst || (prev_ts && t->last_arrival <= prev_ts && t->put_gap_cpu &&
			      (!(t->run == RS_OFF && t->since < ts) ?
			       cpu > prev && cpu - prev < t->put_gap_cpu / 4 :
			       exact && t->put_exact && ts - prev_ts < t->put_gap_cpu / 4));
	bool blind = t->takes == t->blind_takes;
	bool drained;

	if (near && t->ld_back_put == t->puts && t->ld_back_at && (t->flags & TF_RELAY_FED)) {
		relay_back_tail(a, t, took);
		resume_start(t, ts, 2, true);
		return true;
	}
	if (burst && t->ld_back_put == t->puts) {
		if (took)
			void_last_take(t);
		t->pending = t->ld_back = 0;
		took = false;
	}

	/* a step's CPU, put to put (not across another loader's loop: twice the last at most) */
	if (!burst && took && prev && cpu > prev &&
	    (!t->put_gap_cpu || cpu - prev < 2 * t->put_gap_cpu))
		t->put_gap_cpu = t->put_gap_cpu ? (3 * t->put_gap_cpu + cpu - prev) / 4 : cpu - prev;
	if (!burst) {
		t->put_run1 = t->put_run0;
		t->put_run0 = t->put_run;
		t->put_run = (struct put_run){ .from = ts, .after = prev_ts, .pend = t->pending,
					       .span = prev_ts && cpu > prev ? cpu - prev : 0,
					       .step = t->step_cpu, .late = !exact };
	}
	t->rx_since_put = false;
	t->put_run.len++;
	drained = pool_drained(t, burst, took);

	if (!t->puts++)
		t->pool_before = t->proc && !(t->proc->flags & PF_FORKS);
	/* a put of a loop a relay may feed (relay_alternates) */
	if (t->relay_blind && !t->pool_before && !(t->flags & TF_RELAY_FED)) {
		t->alt_put[t->nalt_puts < ALT_PUTS ? t->nalt_puts : ALT_PUTS - 1] = ts;
		t->nalt_puts++;
	}
	t->put_cpu = !exact && t->late_cpu && t->late_cpu < cpu ? t->late_cpu : cpu;
	t->put_ts0 = prev_ts;
	t->put_ts = ts;
	t->put_exact = exact;
	t->put_takes = t->blind_takes = UINT64_MAX;
	t->feeders[2] = t->feeders[1];
	t->feeders[1] = t->feeders[0];
	t->feeders[0] = t->put_feeder;
	if (drained) {
		if (t->at_put.full > t->at_put0.full) {
			left_early(a, t, took);
		} else {
			if (took)
				void_last_take(t);
			t->pending = t->at_put0.pend;
		}
		t->bare_next = false;
		t->iter_takes = 0;
		t->epoch_ends++;
		return true;
	}
	if (t->bare_next) {
		t->bare_next = false;
		return true;
	}
	if (end_answers(t, burst)) {
		if (took) {
			void_last_take(t);
			if (t->pending < PENDING_MAX)
				t->pending++;
		}
		return true;
	}
	/*
	 * The first put of the burst was the next iterator's, and took nothing.  Where a
	 * relay feeds t, the batch it took was one more of the tail's, taken before
	 * (relay_tail; a user's script: the last epoch's last step placed at the pool's
	 * shutdown, after the loop's end).  One taken as received before the trace (blind)
	 * was none (blind_epoch_end).
	 */
	if (!t->tail_from && burst && ((took && (t->flags & TF_RELAY_FED)) || blind)) {
		void_last_take(t);
		if (!blind && t->pending < PENDING_MAX)
			t->pending++;
	}
	if (!t->tail_from && burst && relay_tail(t, took ? t->last_take : 0, prev_ts)) {
		bool first = t->blind_end == prev_ts && !t->epoch_ends;
		uint64_t from = t->tail_from;
		uint32_t cached = (uint32_t)t->pending;

		tail_end(a, t, prev_ts, false);
		if (first)
			blind_count(t, from, cached, t->feeders[2]);
		resume_start(t, ts, 2, true);
		return true;
	}
	if (!t->tail_from && burst && blind_epoch_end(t, prev_ts)) {
		resume_start(t, ts, 2, true);
		return true;
	}
	if (resume_next(a, t, ts, burst) || resume_put(t, cpu, prev))
		return true;
	if (!t->pending && t->tail_from) {
		t->tail_from = t->held_put = 0;
		t->iter_takes = 0;
		t->epoch_ends++;
		resume_start(t, ts, 1, true);
		return true;
	}
	if (!t->pending && before_trace(t)) {
		if (iter_seen(a, t)) {
			t->iter_takes = 0;
			t->epoch_ends++;
			return true;
		}
		t->pending = 1;
		put_by(take(a, t, ts, false), t, true);
		t->blind_takes = t->takes;
		return true;
	}
	if (!t->pending) {
		t->held_put = 0;
		if (t->blind_pf_open) {
			t->blind_prefetch++;
			t->blind_same |= t->put_feeder && t->put_feeder == t->blind_feeder;
		}
		return true;
	}
	if (!t->tail_from)
		return false;
	if (!t->held_put) {
		t->held_put = ts;
	} else {
		tail_end(a, t, t->held_put, true);
		resume_start(t, ts, 2, cpu <= prev + RX_CPU_NS);
	}
	return true;
}

/* A batch arrived: a put held in a tail was a take (a batch from the cache). */
static void tail_arrival(struct an *a, struct thr *t)
{
	if (!t->held_put)
		return;
	take_cached(a, t, t->held_put);
	t->tail_from = t->held_put = 0;
}

/* t's process lost a worker at ts, or t its life: an epoch's tail, if any, is over. */
static void queue_epoch_end(struct an *a, struct thr *l, uint64_t e, bool seen);

void attr__end(struct an *a, struct thr *t, uint64_t ts)
{
	attr__wake_known(a, t);
	if (t->flags & TF_QUEUE_FED)
		queue_epoch_end(a, t, ts, false);
	/*
	 * The relay of a queue with no bound ended: its pool was shut down (Pool's
	 * terminate() at a with-block's end), the loop took its last batch before that
	 * (queue_place spreads the takes after the last seen one up to here).
	 */
	for (uint32_t i = 0; t->proc && i < t->proc->nloggers; i++) {
		struct thr *l = t->proc->loggers[i];

		if (l != t && (l->flags & TF_QUEUE_FED) && l->qf->unbounded &&
		    l->qf->relay == t->tid && l->qf->first_rx)
			queue_epoch_end(a, l, ts, true);
	}
	if (t->rx_open && t->pending)
		take(a, t, t->rx_end, false);
	if (t->tail_from && t->pending)
		tail_end(a, t, t->held_put ? t->held_put : ts, t->held_put);
}

/* The batches pending of the loader t leaves (was) are kept apart (ld_park). */
static void park(struct thr *t, struct ld_parked was)
{
	memmove(&t->ld_park[1], &t->ld_park[0], sizeof(t->ld_park[0]) * (LD_PARKED - 1));
	t->ld_park[0] = was;
	t->pending = 0;
}

/* The slot of loader ino's batches parked (LD_PARKED: none). */
static uint32_t parked(const struct thr *t, uint64_t ino)
{
	uint32_t k = 0;

	while (k < LD_PARKED && t->ld_park[k].ino != ino)
		k++;
	return k;
}

/*
 * Batches parked as maybe an epoch's tail (relay_switch, relay_forked) that no batch
 * of their loader's followed: that tail, taken from the relay's queue unseen before
 * the loop left, once one of that loader's workers exited (w: its pool shut down) or
 * the loop's next pool came (w NULL: a fork after a put or a take since, not the same
 * pool's next worker, forked back to back).
 */
static void relay_tails(struct an *a, struct thr *l, const struct proc *w)
{
	for (uint32_t k = 0; k < LD_PARKED; k++) {
		struct ld_parked *pk = &l->ld_park[k];
		const struct thr *r = pk->tail_at && w ? an__find_thread(a, (uint32_t)pk->ino) : NULL;

		if (!pk->tail_at || (!w && l->put_ts <= pk->tail_at && l->last_take <= pk->tail_at) ||
		    (w && (!r || !r->ld_ino || r->ld_ino != w->out_ino)))
			continue;
		spread_parked(a, l, pk->tail_from, pk->tail_at, pk->pending);
		pk->pending = 0;
		pk->tail_at = 0;
	}
}

/*
 * A loop a relay feeds, its pool forked in the trace, made a new iterator at ts (its
 * process forked a worker) right after a put that took a batch: either within its
 * epoch (a validation loop every N steps), the batches its relay received early still
 * its loader's, and that relay goes on receiving the indices it was sent; or past the
 * epoch's end, its last batches taken from the relay's queue unseen after that put
 * (an epoch's tail, relay_tail).  Which, the relay says: its loader's batches are
 * parked, as a tail from the last take up to ts until one more of its batches comes
 * (relay_parked).  True when parked.
 */
static bool relay_forked(struct an *a, struct thr *l, uint64_t ts)
{
	relay_tails(a, l, NULL);
	if (!(l->flags & TF_RELAY_FED) || !l->ld_relay || !l->pending || l->tail_from ||
	    l->held_put || l->takes != l->put_takes || l->pool_before || !l->proc ||
	    !(l->proc->flags & PF_FORKS))
		return false;
	park(l, (struct ld_parked){ .ino = l->ld_relay, .pending = l->pending,
				    .tail_from = l->last_take, .tail_at = ts });
	l->ld_relay = 0;
	return true;
}

/*
 * p forked a process at ts: a new iterator's pool (a DataLoader forks its workers in
 * iter()).  The loop that took batches from the cache of an epoch's tail went on to
 * it, so that tail is over: a persistent pool's workers live on, and a validation
 * loader's first iter() was the only sign of its end (pt_val_pers: 3 batches the
 * tail took were found in the validation loop instead, as its).
 */
void attr__forked(struct an *a, struct proc *p, uint64_t ts)
{
	for (uint32_t i = 0; i < p->nloggers; i++) {
		struct thr *l = p->loggers[i];
		bool first, tail;
		uint64_t from;
		uint32_t cached;

		if (relay_forked(a, l, ts))
			continue;
		first = !l->epoch_ends && !l->blind_end;
		tail = relay_tail(l, l->last_take, ts);
		from = tail ? l->tail_from : l->last_take;
		cached = tail ? (uint32_t)l->pending : 0;
		if (tail)
			attr__end(a, l, ts);
		/*
		 * A tail whose batches were all taken at their receipts ends there too: the
		 * batches that come next are the new iterator's (a new user's script, no pin
		 * memory, a validation loader's first iter() after the first epoch: its
		 * feeders, started by its puts, wrote them unwoken, and its first 3 batches,
		 * received before any put of it was seen, were taken as the training
		 * epoch's last: 122 steps for 119, 33 validation batches for 36; golden
		 * val_direct).
		 */
		if (l->tail_from && !l->pending)
			tail_end(a, l, ts, true);
		/* a blind epoch's end (relay_tail): its pool may resume after this one's loop */
		if (first && l->blind_end == ts)
			blind_count(l, from, cached, l->feeders[0]);
	}
}

/* A worker process p (it wrote batches) exited at ts. */
void attr__worker_gone(struct an *a, struct proc *p, uint64_t ts)
{
	struct proc *pp = an__pool_owner(p);

	for (uint32_t i = 0; pp && p->msgs && i < pp->nloggers; i++) {
		relay_tails(a, pp->loggers[i], p);
		/* its pool does not live on: no resume (another pool's may come next) */
		if (pp->loggers[i]->resuming && !pp->loggers[i]->resume_acks) {
			pp->loggers[i]->resume_rearmed = true;
			pp->loggers[i]->rearm_takes = pp->loggers[i]->takes;
		}
		pp->loggers[i]->resuming = false;
		if (relay_tail(pp->loggers[i], pp->loggers[i]->last_take, ts))
			attr__end(a, pp->loggers[i], ts);
	}
}

/*
 * t sent a worker the index of a batch to load, at ts: DataLoader's next() does that
 * once per batch it returns (while the epoch has indices left), from the cache of
 * batches that came early too.  With a batch received and not taken, this is the
 * take; the first prefetch_factor x num_workers sends of an iterator come before any
 * batch.
 */
void attr__send(struct an *a, struct thr *t, uint64_t ts)
{
	if ((t->flags & TF_QUEUE_FED) || absorbed(t) || put_held(a, t, ts, true))
		return;
	put_take(t);
	take(a, t, ts, t->rx_open && rx_cpu_gap(t, ts) <= RX_CPU_NS);
}

/*
 * t's next put or arrival, at ts, is of the loader whose result pipe is ino (0: not
 * known), another than the batches pending: a validation loop within the epoch,
 * while the training iterator keeps batches received early in its cache.  Its puts
 * take none of those, and the training loop's next put does (pt_val_mid: each
 * validation iterator's first resume put took a training batch kept, a step too many
 * a loop, 81-82 steps for 78).  So where t's last put took a batch and no tail began
 * since (its loader within an epoch), the batches pending are parked until that
 * loader comes back; coming back, the other loader's tail, if any, ended (its loop
 * did: tail_end).  Otherwise the batches pending stay (an epoch's tail, spread at
 * the next iterator's puts; a new iterator).  Not for a loop a relay feeds: its
 * takes are counted at the relay's receipts, of whichever loader.  Returns how many
 * came back.
 */
static uint32_t loader_switch(struct an *a, struct thr *t, uint64_t ino, uint64_t ts)
{
	bool within = t->takes == t->put_takes && !t->tail_from && !t->held_put;
	struct ld_parked was = { .ino = t->ld_ino, .pending = t->pending, .src = t->ld_src }, to = { 0 };
	uint32_t k;

	if (!ino || ino == t->ld_ino || (t->flags & TF_RELAY_FED))
		return 0;
	if (!was.ino) {
		t->ld_ino = ino;
		return 0;
	}
	if ((k = parked(t, ino)) < LD_PARKED) {
		to = t->ld_park[k];
		t->ld_park[k] = (struct ld_parked){ 0 };
		/*
		 * The other loader's loop ended: its batches pending were taken, as its
		 * takes (ld_ino is still its own here: with loaders zipped, one in its
		 * epoch's tail, no index left to put, took its batch before the other's
		 * arrived; read as the other's, the zip was not seen, 146 steps for 74
		 * in a user's script).
		 */
		if (t->tail_from)
			tail_end(a, t, ts, true);
		else if (t->rx_open && t->pending)
			take(a, t, t->rx_end, false);
		/*
		 * Those taken are not parked: the batch of a receipt this read ended was
		 * both (zipped loaders: A's batch taken at B's header read and parked as A's
		 * too, taken again at A's pool's shutdown puts, 31 takes for 30 in 4 of the
		 * 6 epochs of pt_zip_np in a clean clone's CI).
		 */
		was.pending = t->pending;
		t->pending = 0;
	}
	t->ld_ino = ino;
	t->ld_takes = t->takes;
	if (within)
		park(t, was);
	t->pending += to.pending;
	t->ld_src = to.src;
	/* their takes are that loader's, whatever arrived last (an_finish.c, take_runs) */
	t->ld_back = to.pending;
	t->ld_back_src = to.src;
	return to.pending;
}

/*
 * loader_switch() for a loop a relay feeds (TF_RELAY_FED).  With pin memory each
 * DataLoader iterator has a relay of its own (its pin-memory thread), which receives
 * the batches of the indices it was sent whatever the loop does: a loader is its
 * relay (ld_relay, a tid).  The loop leaves a loader at a put to another's worker, or
 * at a batch of a relay it has not taken from yet (a new iterator's).  Where its last
 * put took a batch and no tail began, that loader's batches pending are parked, with
 * the time the loop left: either it left within the epoch (a validation loop every N
 * steps), and the relay goes on receiving the indices it was sent (relay_parked: they
 * count there, and those parked stay that loader's); or the epoch had ended, its last
 * batches taken from the relay's queue unseen after that put, and no more come.
 * Else they stay (an epoch's tail begun: the rules at the next puts).  Coming back to
 * a parked loader, the loader left, where not within its epoch (a validation loop past
 * its last put), took what it had pending before now; the batches parked come back,
 * and where none came since, the next put says which it was (put_rules: a step's, or
 * the next iterator's resume back to back, relay_back_tail).  pt_val_mid_pin, a
 * validation loop every 15 steps of a persistent training pool: the training batches
 * received before and during a validation loop were taken at that loop's puts and at
 * its pool's fork (read as the epoch's end), and its batches counted as the training
 * loop's, 91-95 steps for 78 (63-71 where the loaders were told apart); 75-79 now, in
 * 10 traces, run and attach, 4 of them beside `busy --disk`.  Returns how many came
 * back.
 */
/* t is fed by a relay from now on: its loaders are relays (relay_switch), none parked yet */
static void relay_fed(struct thr *t)
{
	if (t->flags & TF_RELAY_FED)
		return;
	t->flags |= TF_RELAY_FED;
	memset(t->ld_park, 0, sizeof(t->ld_park));
	t->ld_relay = 0;
}

static uint32_t relay_switch(struct an *a, struct thr *t, uint32_t relay, uint64_t ts)
{
	bool within = t->takes == t->put_takes && !t->tail_from && !t->held_put;
	struct ld_parked was = { .ino = t->ld_relay, .pending = t->pending }, to = { 0 };
	uint32_t k;

	if (!relay || relay == t->ld_relay)
		return 0;
	if (!t->ld_relay) {
		t->ld_relay = relay;
		t->ld_since = ts;
		return 0;
	}
	if ((k = parked(t, relay)) < LD_PARKED) {
		to = t->ld_park[k];
		t->ld_park[k] = (struct ld_parked){ 0 };
		if (!within && t->tail_from)
			tail_end(a, t, ts, true);
		else if (!within && t->pending)
			spread_takes(a, t, t->last_take, ts, t->pending, true);
		if (!within)
			t->pending = 0;
	}
	if (within) {
		was.tail_from = t->last_take;
		was.tail_at = ts;
		park(t, was);
	}
	t->ld_relay = relay;
	t->ld_since = ts;
	t->pending += to.pending;
	t->ld_back = to.pending;
	t->ld_back_src = 0;
	t->ld_back_from = to.tail_from;
	t->ld_back_at = to.tail_at;
	return to.pending;
}

/*
 * A relay of t's (its process's) whose batches come from result pipe ino: the relay
 * of the loader a put goes to (0: none known).
 */
static uint32_t relay_of(const struct thr *t, uint64_t ino)
{
	const struct proc *p = t->proc;

	for (uint32_t i = 0; ino && p && i < p->nloggers; i++)
		if (p->loggers[i] != t && p->loggers[i]->ld_ino == ino &&
		    attr__is_relay(p->loggers[i]))
			return p->loggers[i]->tid;
	return 0;
}

/*
 * A batch relay r received for t, a loop it feeds: of a loader t left (parked), that
 * loader's, and the batches parked were no epoch's tail (true: counted there); of a
 * relay t has not taken from yet, a new iterator's: t goes to it (relay_switch).
 */
static bool relay_parked(struct an *a, struct thr *t, const struct thr *r, uint64_t ts)
{
	uint32_t k;

	if (!(t->flags & TF_RELAY_FED) || !r || r == t || r->tid == t->ld_relay)
		return false;
	if ((k = parked(t, r->tid)) < LD_PARKED) {
		if (t->ld_park[k].pending < PENDING_MAX)
			t->ld_park[k].pending++;
		t->ld_park[k].tail_at = 0;
		return true;
	}
	relay_switch(a, t, r->tid, ts);
	return false;
}

/*
 * Pipe ino, which worker w wrote, is its result queue: a sibling's batches were read
 * from it.  A pool's workers share their result queue, and a read names only the
 * pipe's last writer: with 3 workers writing back to back, the others' puts went to
 * no loader for most of an epoch, and a worker there at attach that was never the
 * last writer made a pool of its own.
 */
static bool sibling_out(struct an *a, const struct proc *w, uint64_t ino)
{
	uint64_t *v = ino ? hmap_find(&a->result_pipes, ino) : NULL;
	struct proc *q = v ? an__find_proc(a, (uint32_t)*v) : NULL;

	return q && q->parent == w->parent && q->out_ino == ino && !an__proc_gone(q);
}

/* The pipe worker w's batches go to (0: not known yet). */
static uint64_t worker_out(struct an *a, const struct proc *w)
{
	if (w->out_ino)
		return w->out_ino;
	return sibling_out(a, w, w->wrote_ino) ? w->wrote_ino : 0;
}

/*
 * The loader of t's put: its feeder's, the result pipe of the worker that reads the
 * index pipe the feeder writes (known once the worker read it and wrote a batch).
 */
static uint64_t put_loader(struct an *a, const struct thr *t)
{
	struct thr *f = t->put_feeder ? an__find_thread(a, t->put_feeder) : NULL;
	struct proc *w = f && !f->feeds_ino ? feeder_worker(a, f) : NULL;

	if (w && !an__proc_gone(w))
		f->feeds_ino = worker_out(a, w);
	return f ? f->feeds_ino : 0;
}

/*
 * A put by t to another loader than its batches pending (loader_switch).  Where it
 * brought that loader's parked batches back, the put after it says whether it was a
 * step's (it took one) or the first of an iterator's reset, back to back (a
 * persistent pool's resume): the reset drains what the loader had left, and took
 * nothing (put_rules).
 */
static void put_switch(struct an *a, struct thr *t, uint64_t ts)
{
	uint64_t ino = put_loader(a, t);

	if ((t->flags & TF_RELAY_FED) ? relay_switch(a, t, relay_of(t, ino), ts) :
	    loader_switch(a, t, ino, ts))
		t->ld_back_put = t->puts + 1;
}

/*
 * t put an index on a queue at ts (cpu: its CPU time then), in next(), when it took
 * a batch.  The put of a take found at its receipt's end comes close after that end
 * on t's CPU (absorbed); a put that follows the receipt as its calls do (rx_goes_on:
 * RX_CPU_NS, or RX_CPU_MAX_NS with only a receipt's calls between) ends it there;
 * else the receipt's end was the take.  Under GIL contention, rebuilding a batch's
 * last tensor and handing the GIL around took more than RX_CPU_NS of CPU before the
 * put (pt_gil_w2 at rest: 14 ms of GIL waits in one next() call read as the step's).
 */
static void put(struct an *a, struct thr *t, uint64_t ts, uint64_t cpu)
{
	uint64_t gap;
	bool in_rx, late;

	/* (a loop fed through a queue puts no index: queue_freed) */
	if ((t->flags & TF_QUEUE_FED) || attr__helper_queue(a, t->put_feeder))
		return;
	put_switch(a, t, ts);

	if (t->absorb && cpu <= t->take_cpu + RX_CPU_NS) {
		absorbed(t);
		return;
	}
	if (put_held(a, t, ts, true))
		return;
	put_take(t);
	gap = cpu > t->rx_cpu ? cpu - t->rx_cpu : 0;
	in_rx = t->rx_open && ts >= t->rx_end &&
		(gap <= RX_CPU_NS || (!t->rx_foreign && gap <= RX_CPU_MAX_NS));
	late = t->rx_open && !in_rx && ts >= t->rx_end && !t->rx_foreign;
	if (t->rx_open && !in_rx)
		ts = t->rx_end;
	put_by(take(a, t, ts, in_rx), t, false);
	/*
	 * Only the receipt's calls between it and this put, however long t ran: next()
	 * ran on to its put (CPython's cyclic GC, run at an allocation in next(): 15 ms
	 * of CPU, a user's network-fed loop beside busy, the job's time in next() 0.56
	 * of its window read as 0.48).  Or the loop's step made no call and this put is
	 * the next iterator's (a persistent pool's resume after the epoch's last step):
	 * the take stays at the receipt's end, and the tail goes on from this put; where
	 * a free of the previous batch follows with only next()'s own calls between
	 * (next_tail_call), all of it up to there was next()'s.
	 */
	if (late && t->last_take == ts) {
		t->tail_own = cpu > t->take_cpu ? cpu - t->take_cpu : 0;
		t->tail_cpu = cpu;
	}
}

static void fx_put(struct an *a, struct thr *w, const struct st_ev_syscall *sc, bool own);

#define GIL_ACK_NS	50000ull	/* take_gil()'s signal after the wait it ended */

/*
 * w wakes f just after f's wake ended w's wait: w took the GIL that f dropped on
 * request, and CPython's take_gil() signals the dropper, which waits for that
 * (FORCE_SWITCHING), a few microseconds after w resumed.  No put: a put comes after
 * next()'s own code (pt_gil_w2 attach under load: 3 such signals to the queue
 * feeder, each after the feeder handed the GIL back, read as 3 extra steps of 60).
 * No batch either, when w is a relay: its put of a batch on f's queue runs Python
 * code first.  With timer, w may also have been woken by an interrupt: its timed
 * wait for the GIL expired (the request to drop it follows such a timeout) as f
 * signalled the GIL's condition (pt_ep_pin_pers run under load: the relay's timer
 * woke it 44 us before the loop's signal did; a step in the loop's compute, and
 * three more misplaced as an epoch's tail).  Only in w's first GIL_ACK_NS of CPU
 * since that wake: a w preempted since, back on a CPU, wakes f for a put
 * (pt_ep_break_pers beside CPU hogs: the loop's last waker, a feeder, woke it 6 ms
 * and 4 preemptions before; its second resume put, 21 us after a preemption, was
 * read as an ack, the resume was not seen, and its first put was read as a step's).
 */
bool attr__gil_ack(const struct thr *f, const struct thr *w, uint64_t ts, bool timer)
{
	bool by_f = w->last_waker == f->tid || (timer && !w->last_waker && w->last_woken);

	/* (w's CPU since that wake holds its time on a CPU since it came back) */
	return w->run == RS_ON && by_f && w->last_woken <= w->since && ts >= w->since &&
	       attr__cpu_at(w, ts) - attr__cpu_at(w, w->last_woken) <= GIL_ACK_NS;
}

/*
 * w passes batches on to a sibling it feeds (PyTorch's pin-memory thread: a relay that
 * woke a sibling with batches, and a sibling its receipts count for): it puts no index.
 * Its wakes of a queue feeder hand that one the GIL, and a feeder's write that nothing
 * woke it for is the loop's put, not the relay's: taken as the relay's, it ended the
 * relay's receipt before its fetch of the batch's fds (the relay had handed the GIL to
 * a feeder between its read of the batch and its connect), the batch was read as one
 * with no tensor and went uncounted: a persistent pool's epoch short of a batch, its
 * tail a step short (pt_pin_tail run at rest: 50 steps for 52).
 */
static bool passes_on(const struct thr *w)
{
	const struct proc *p = w->proc;

	if (!p || !w->relay_given || (w->flags & TF_RELAY_FED))
		return false;
	for (uint32_t i = 0; i < p->nloggers; i++)
		if (p->loggers[i] != w && (p->loggers[i]->flags & TF_RELAY_FED))
			return true;
	return false;
}

/*
 * Thread w woke feeder thread f at ts.  A put on f's queue wakes it when it waits
 * for one (the queue's condition): then the wake is the put, and f's next write is
 * its index.  More wakes before that write hand f the GIL or the queue's lock.  So
 * does a wake of a feeder that waits to take the GIL back after its write (its
 * write released it): which it was, the next call of either says (fx_put).
 */
void attr__feeder_woken(struct an *a, struct thr *f, struct thr *w, uint64_t ts)
{
	/* a feeder puts no index, nor does a relay: its wake of another hands that one the GIL */
	if (f->put_open || (w->flags & TF_FEEDER) || passes_on(w) || attr__gil_ack(f, w, ts, false))
		return;
	attr__wake_known(a, w);
	attr__wake_known(a, f);
	w->fwake = f;
	f->fwaker = w;
	w->fwake_ts = ts;
	w->fwake_cpu = attr__cpu_at(w, ts);
}

#define FX_SHARED	(1ull << 63)

static uint64_t fx_key(uint32_t pid, uint64_t uaddr)
{
	uint64_t h = ((uint64_t)pid << 32) * 0x9e3779b97f4a7c15ull ^ (uaddr >> 4) * 0xc2b2ae3d27d4eb4full;

	return h ? h : 1;
}

/*
 * t waits on a futex word: a word (its 16-byte block: a condition variable's two
 * words, a lock's mutex) that two threads of a process wait on is a shared lock.
 * Unless the one that waited on it before has exited: the word's memory went with
 * it and came back in a new allocation (a new pool's feeder thread gets the lock
 * that the last pool's feeder waited on).
 */
static void fx_wait(struct an *a, const struct thr *t, uint64_t uaddr)
{
	uint64_t *v = hmap_slot(&a->fx_waiters, fx_key(t->pid, uaddr));
	const struct thr *o;

	if (!v || (uint32_t)*v == t->tid)
		return;
	o = *v ? an__find_thread(a, (uint32_t)*v) : NULL;
	if (!(*v & FX_SHARED) && (!o || (o->flags & TF_EXITED)))
		*v = t->tid;
	else
		*v |= FX_SHARED;
}

/*
 * sc is a futex call on a word that two threads of t's process wait on (mine: or that
 * t itself waits on).
 */
static bool fx_waited(struct an *a, const struct thr *t, const struct st_ev_syscall *sc, bool mine)
{
	const uint64_t *v;

	if (!sc || sc->b.nr != NR(futex) || !(sc->present & ST_SC_FUTEX))
		return false;
	for (uint64_t off = 0; off <= 32; off += 16)
		if ((v = hmap_find(&a->fx_waiters, fx_key(t->pid, sc->futex.uaddr + off))) &&
		    ((*v & FX_SHARED) || (mine && (uint32_t)*v == t->tid)))
			return true;
	return false;
}

static bool fx_shared(struct an *a, const struct thr *t, const struct st_ev_syscall *sc)
{
	return fx_waited(a, t, sc, false);
}

/*
 * A relay's wake ended t's wait (switch_in, at t->relay_wake_at): a batch, unless sc,
 * the call that waited (NULL: t ran on without one), waited on a futex word that
 * other threads wait on too.  PyTorch's pin-memory thread also hands the loop
 * CPython's GIL, a few times a step: such a wake is no batch (pt_ep_pin_pers at rest:
 * three takes at one wake, one for a batch and two for GIL handoffs, 106 steps for
 * 110).  Nor, once the relay's receipts count t's batches (TF_RELAY_FED), a wake
 * with none received and not taken: an iterator's shutdown, where the loop joins the
 * relay and the relay's exit wakes it.  Such a wake had opened a receipt with nothing
 * to take, which a batch credited a training epoch later was taken at, and that
 * epoch's first batch was lost (pt_val_pin: 115 steps for 118).  Nor a wake that
 * ended a call other than a futex wait: the relay hands its batches over through a
 * Python queue, whose get() waits on a futex; its munmap of a batch's shared memory
 * ended the loop's wait for the process's memory map in brk (pt_val_mid_pin in a clean
 * clone's CI: a take too many before the window, 74 steps for 78).
 */
void attr__relay_woke(struct an *a, struct thr *t, const struct st_ev_syscall *sc)
{
	uint64_t at = t->relay_wake_at;

	t->relay_wake_at = 0;
	if (!fx_shared(a, t, sc) && (!sc || sc->b.nr == NR(futex)) &&
	    (!(t->flags & TF_RELAY_FED) || t->pending))
		attr__arrival(a, t, at, false, ARR_WAKE, 0);
	t->flags &= ~TF_RELAY_WAKE;
	t->relay_early = 0;
}

/*
 * The wake of a feeder by w (attr__feeder_woken) is known by sc, a call of w (own) or
 * of the feeder (NULL: no call says): a put, unless the call is a futex call on a word
 * that other threads wait on too (the GIL handed over, a lock released; the
 * condition a feeder waits on for a put is its own), or w's wake of a word it waits
 * on itself.  The feeder's wait, begun before the trace, is recorded at its end,
 * after the wake: in a trace's first milliseconds the loop's wait on the GIL may be
 * the only one seen yet (pt_iter attached in a clean clone's CI: the loop handed a
 * feeder the GIL 4 ms after the attach, a take there ended the receipt before its
 * first fd fetch, and the fetch seen a batch later read the trace's start as a
 * persistent pool's resume: its first 3 takes void, 66 steps for 70).
 */
static void fx_put(struct an *a, struct thr *w, const struct st_ev_syscall *sc, bool own)
{
	struct thr *f = w->fwake;

	w->fwake = f->fwaker = NULL;
	if (f->put_open || fx_waited(a, w, sc, own))
		return;
	f->put_open = true;
	w->put_feeder = f->tid;
	put(a, w, w->fwake_ts, w->fwake_cpu);
}

/* t is about to do something else than the call that woke a feeder, or was woken. */
void attr__wake_known(struct an *a, struct thr *t)
{
	if (t->fwake)
		fx_put(a, t, NULL, true);
	if (t->fwaker)
		fx_put(a, t->fwaker, NULL, false);
}

/*
 * Feeder thread f of t's process wrote an index to a worker at ts.  Not the index of
 * a put that woke it: t put it while f was busy (nothing woke f), in a next() that
 * took a batch before now: the take ended the receipt, if one is open; else the
 * batch came from the cache, at a time not seen (now, then).  The put of a take
 * found at its receipt's end is absorbed.  A relay puts none (passes_on).
 */
static void feeder_send(struct an *a, struct thr *t, uint64_t ts)
{
	if (passes_on(t) || attr__helper_queue(a, t->put_feeder))
		return;
	put_switch(a, t, ts);
	if (absorbed(t) || put_held(a, t, ts, false))
		return;
	/*
	 * The only batch pending is one its relay still rebuilds (its fds fetched, its
	 * tensors not yet mapped and pinned, nor queued): the put took none.  A feeder
	 * kept from the GIL wrote an iterator's prefetch 15 ms late, while the relay,
	 * kept from it too, rebuilt the epoch's first batch: a take there, and the
	 * epoch's tail came a step short (pt_pin_tail run at rest: 50 steps for 52).
	 */
	if (t->pending == 1 && t->in_relay)
		return;
	put_take(t);
	put_by(take(a, t, t->rx_open ? t->rx_end : ts, false), t, false);
}


/*
 * A worker's wakeup during a receipt: the thread waited for the batch's
 * shared-memory fds (on a socket; a new batch is waited for on the result pipe).
 * Without the tracer's word on the wait, a wakeup soon after the receipt's last call.
 */
static bool rx_wake(const struct thr *t, uint64_t ts)
{
	if (!t->rx_open || ts < t->rx_end)
		return false;
	if (t->off_wait != ST_WAIT_UNKNOWN)
		return t->off_wait == ST_WAIT_SOCK;
	return ts - t->rx_end <= RX_GAP_NS && ts - t->rx_start <= RX_MAX_NS;
}

#define RESUME_PF_MAX	4	/* batches a worker may still owe an iterator left early */

/*
 * A message to t while its persistent pool resumes: one more answer (an_core.h), or
 * a batch the old iterator still had on its way, read first and dropped (a loop that
 * left its epoch early, its sampler spent: the epoch's tail ended at the resume puts,
 * 2 old batches and 2 answers read, the last two taken as the next epoch's first
 * steps, 90 steps for 88): every message before the new iterator's first put, as
 * many as its workers may owe (a prefetch of RESUME_PF_MAX each) and answer.
 */
static bool resume_ack(struct thr *t)
{
	if (!t->resuming || t->resume_puts < 2 ||
	    t->resume_acks >= t->resume_puts * (1 + RESUME_PF_MAX))
		return false;
	t->resume_acks++;
	return true;
}

/*
 * The relay received a message on its way to l, a thread it feeds: a worker's answer
 * to l's resume of a persistent pool (not a batch), or a batch.
 */
/*
 * A loop fed through a Python queue by a thread that iterates the DataLoader itself
 * (prefetch_generator's BackgroundGenerator, a "DataLoaderX", a threaded prefetcher):
 * the loader thread receives the batches from the workers (a relay), puts the indices
 * itself, and puts each batch on a queue.Queue of a few, where the loop's get() takes
 * it.  The loop's takes are seen where one of the two waits on the other: with the
 * queue full, the loader thread waits in put() until the loop's get() makes room
 * (queue_freed); with it empty, the loop waits in get() until the loader thread's put
 * (queue_woke).  Both are waits on a Python lock, glibc's sem_wait (FUTEX_WAIT_BITSET,
 * FUTEX_CLOCK_REALTIME, no timeout): not CPython's GIL (a condition's timed wait), nor
 * DataLoader's own get from its pin-memory thread (a timed one), nor a word in the
 * GIL's span where that is known (its switch_cond).  The takes between, the queue
 * neither full nor empty, are not seen: the loader thread's receipts count the epoch's
 * batches, and the takes not seen are placed at the epoch's end (queue_epoch_end), by
 * the loop's CPU (a step's is the same, its wall time not).  In run mode too: counted
 * at the loader thread's index puts instead, the loop's steps ran a queue ahead of it,
 * 65 and 72 for 74 (a user's DataLoaderX, a new loader thread each epoch);
 * attached in an epoch, most of it was lost (pt_bg_pers: 41-43 steps for 58).
 */
static bool not_gil(const struct thr *t, uint64_t uaddr);
static bool fx_shared(struct an *a, const struct thr *t, const struct st_ev_syscall *sc);

static bool py_lock_wait(const struct thr *t, const struct st_ev_syscall *sc)
{
	return sc && sc->b.nr == NR(futex) && (sc->present & ST_SC_FUTEX) &&
	       (sc->futex.op & 0x7f) == 9 && (sc->futex.op & FUTEX_CLOCK_REALTIME_) &&
	       !((sc->present & ST_SC_TIMEOUT) && sc->timeout >= 0) &&
	       (!t->proc || !t->proc->gil_word || not_gil(t, sc->futex.uaddr));
}

#define QF_SAME_CPU_NS	250000	/* a loop's CPU between two seen takes, less: one take */
#define QF_FREE_BURST_NS 2000000ull	/* a loop's frees close on CPU (near), and closer
					 * than this in time: one batch's tensors */
#define QF_FREE_NEAR_NS	300000ull	/* on CPU: a batch's frees are closer than this, most */
#define QF_FREE_MIN	8		/* seen takes in an epoch before its frees place the rest */
#define QF_FREE_SHARE	0.9		/* of them followed by their own free */
#define QF_FREE_LATE	3		/* steps' CPU after the last take: no take's free */

/* l, fed through a queue, got a batch in it at ts (its loader thread received it) */
static void queue_recv(struct thr *l, uint64_t ts)
{
	struct qfed *q = l->qf;
	uint64_t *v;

	if (!q->recv++) {
		q->first_rx = ts;
		q->first_cpu = attr__cpu_at(l, ts);
	}
	/* (a take comes after its batch's receipt: queue_place, where the queue has no bound) */
	if (q->unbounded && (v = vec_grow(q->rx_at, &q->caprx, q->recv, sizeof(*v)))) {
		q->rx_at = v;
		v[q->recv - 1] = ts;
	}
}

/* Batch i's (from 1) receipt this epoch, where it is known and the queue has no bound */
static uint64_t queue_rx_at(const struct qfed *q, int64_t i)
{
	return q->unbounded && i >= 1 && i <= q->recv && (uint32_t)i <= q->caprx ? q->rx_at[i - 1] : 0;
}

/* ... a batch whose receipt fetched its tensors' fds (qf->fetched) */
static void queue_fetched(struct thr *l, uint64_t ts)
{
	queue_recv(l, ts);
	l->qf->fetched++;
}

/* Did the loop free a batch between two times (its frees kept: queue_free)? */
static bool queue_freed_in(const struct qfed *q, uint64_t from, uint64_t to)
{
	for (uint32_t i = q->nfree; i > 0 && q->frees[i - 1].at > from; i--)
		if (q->frees[i - 1].at < to)
			return true;
	return false;
}

/*
 * l, fed through a queue, was seen taking a batch at ts; rc: the batches received by
 * then this epoch, where it waited for that batch (the queue was empty: all taken by
 * then), or with QF_FULL where the loader thread waited for room (queue_depth); 0: not
 * known.
 */
static void queue_take(struct an *a, struct thr *l, uint64_t ts, uint32_t rc, uint64_t cpu,
		       uint64_t ws)
{
	struct qfed *q = l->qf;
	uint32_t i = q->nseen;
	const struct qseen *last = i ? &q->seen[i - 1] : NULL;
	struct qseen *v;

	/*
	 * The same get() seen twice: its notify woke the loader thread, which then waited
	 * for the queue's lock the loop still held, and got it at the loop's release, the
	 * loop's CPU between them nil (under load: preempted between the two, 5-10 ms;
	 * a user's DataLoaderX, 9 steps too many in 74, and its step's CPU read short).
	 * Not where the loop freed a batch between: two get()s back to back (a warm-up
	 * that drops its batches).
	 */
	if (last && last->at <= ts && cpu && last->cpu && cpu < last->cpu + QF_SAME_CPU_NS &&
	    (rc & QF_FULL) == (last->rc & QF_FULL) && !queue_freed_in(q, last->at, ts))
		return;
	l->pending = 1;
	l->qf_in = true;
	take(a, l, ts, false);
	l->qf_in = false;
	l->pending = 0;
	if (!(v = vec_grow(q->seen, &q->cap, q->nseen + 1, sizeof(*v))))
		return;
	q->seen = v;
	/* (one found late goes in its place) */
	for (; i && q->seen[i - 1].at > ts; i--)
		q->seen[i] = q->seen[i - 1];
	q->seen[i] = (struct qseen){ .at = ts, .cpu = cpu, .ws = ws < ts ? ws : 0, .rc = rc };
	q->nseen++;
}

/* The takes a step (pace) apart that fit inside a gap between two */
static uint32_t steps_in(uint64_t gap, uint64_t pace)
{
	uint32_t k = pace ? (uint32_t)((gap + pace / 2) / pace) : 0;

	return k ? k - 1 : 0;
}

#define QF_DEPTH_MAX	64	/* queue depths tried (queue_depth) */

/* Seen take s's place in its epoch's takes, for a queue of depth d (less a constant) */
static int64_t queue_idx(const struct qseen *s, uint32_t d)
{
	return (int64_t)(s->rc & QF_RC) - ((s->rc & QF_FULL) ? d : 0) + !!(s->rc & QF_END);
}

/* The places of seen take s and of the one before it are known (rc) */
static bool queue_placed(const struct qseen *s)
{
	return (s[0].rc & QF_RC) && (s[-1].rc & QF_RC);
}

/* The loop's CPU between seen takes s[-1] and s[0] (0: not known) */
static uint64_t queue_cpu(const struct qseen *s)
{
	return s[0].cpu && s[-1].cpu && s[0].cpu > s[-1].cpu ? s[0].cpu - s[-1].cpu : 0;
}

/*
 * The queue's depth that the epoch's seen takes say (0: none says).  A take seen
 * where the loop waited for its batch (the queue empty) is the epoch's rc-th, rc the
 * batches received by then; one where the loader thread waited for room (the queue
 * full: d batches in it, one more in its hands) is the (rc - d)-th, and the room for
 * its end (QF_END) the one after.  Of the depths that keep the seen takes in their
 * order, the one whose steps between them are the most alike, in the loop's CPU time
 * where it is known: a step's CPU is the same whether the workers compete for the
 * CPUs or not (they do while the queue fills, and the loop's steps are longer in wall
 * time then).  end: the loop's CPU from the last seen take to the epoch's end, the
 * next epoch's iter() (0: not known), the takes after the last seen and one step's
 * more; q: the queue, whose epochs so far said what they said (sure: by their ends).
 */
static uint32_t queue_depth(struct qfed *q, const struct qseen *s, uint32_t n, uint64_t end,
			    uint64_t cstep, bool *sure)
{
	uint32_t best = 0, best_bad = 0, full = 0;
	double best_score = 0, x = cstep ? (double)end / (double)cstep : 0;

	/*
	 * The loader thread's last wait for room was for its end (QF_END): the loop's CPU
	 * from there to the next epoch's iter() is the queue's depth in steps (the queue's
	 * batches but one, then the last one's step), and a little more (StopIteration, the
	 * next iter(): 3.4-4.7 steps for 4 under load, one epoch from the next).  The mean
	 * over the epochs so far is the depth where it is near a whole step, whatever the
	 * steps between seen takes say (a batch received out of order, counted before its
	 * turn, moves a place by one: pt_bg_pers, a user's DataLoaderX).
	 */
	if (x >= 0.7 && (s[n - 1].rc & QF_END)) {
		q->xsum += x;
		q->xn++;
	}
	if (q->xn && fabs(q->xsum / q->xn - round(q->xsum / q->xn)) < 0.35) {
		*sure = true;
		return (uint32_t)round(q->xsum / q->xn);
	}
	*sure = false;

	for (uint32_t k = 0; k < n; k++)
		full += !!(s[k].rc & QF_FULL);
	if (!full || (full == n && !end))
		return 0;
	for (uint32_t d = 1; d <= QF_DEPTH_MAX; d++) {
		double sum = 0, sum2 = 0, score, step;
		uint32_t cnt = 0, bad = 0;

		for (uint32_t k = 1; k <= n; k++) {
			int64_t di;
			uint64_t gap;

			if (k == n) {
				/* (the last seen take to the end: the takes after it, and its step) */
				di = (int64_t)q->recv - queue_idx(&s[n - 1], d) + 1;
				gap = end;
				if (!end || !(s[n - 1].rc & QF_RC))
					continue;
			} else {
				if (!queue_placed(&s[k]))
					continue;
				di = queue_idx(&s[k], d) - queue_idx(&s[k - 1], d);
				gap = queue_cpu(&s[k]);
				if (!gap)
					gap = s[k].at - s[k - 1].at;
			}
			if (di < 1) {
				bad++;
				continue;
			}
			step = (double)gap / (double)di;
			sum += step;
			sum2 += step * step;
			cnt++;
		}
		/* (the steps' spread over their mean: a depth that makes them short is no better) */
		score = cnt > 1 && sum > 0 ? (sum2 / cnt) / ((sum / cnt) * (sum / cnt)) - 1 : 0;
		if (!best || bad < best_bad || (bad == best_bad && score < best_score)) {
			best = d;
			best_bad = bad;
			best_score = score;
		}
	}
	return best;
}

/*
 * The loop's CPU c says other than di steps of cstep each: two thirds of a step off or
 * more (a step's CPU varies by a few percent, and the job's first steps cost more: 4.6
 * steps' CPU for 4, pt_bg_pers; a receipt counted early moves a place by a whole one).
 */
static bool cpu_differs(int64_t di, uint64_t c, uint64_t cstep)
{
	return 3 * (uint64_t)llabs(di * (int64_t)cstep - (int64_t)c) >= 2 * cstep;
}

/* When l's CPU reached cpu, if inside (lo, hi): else fallback */
static uint64_t queue_when(const struct thr *l, uint64_t cpu, uint64_t lo, uint64_t hi,
			   uint64_t fallback)
{
	uint64_t w = hist_when(l, cpu);

	return w > lo && w < hi ? w : fallback;
}

/*
 * The loop's CPU a step (0: not known).  Between seen takes of one kind (both where the
 * queue was full, or both where it was empty) the loop's CPU is a whole number of
 * steps, most often one (with the queue full each take is seen): their median, where
 * their places' distance (rc) does not say it is a multiple, and then each gap's CPU
 * over the steps it holds, in all.  Not the places alone: two receipts counted at once
 * (under load the loader thread reads both workers' batches in one wake) put a step's
 * distance at 2 and the next at 0, a chain's first place one late puts its steps one
 * short (8.1 ms for 7.4, and 15 steps counted in a gap of 16: pt_bg_pers under load).
 */
static uint64_t queue_cstep(const struct qseen *s, uint32_t n)
{
	uint64_t *v = malloc(n * sizeof(*v)), cpu = 0, steps = 0, rcpu = 0, rsteps = 0, m, k;
	uint32_t c = 0;

	if (!v)
		return 0;
	for (uint32_t i = 1; i < n; i++) {
		int64_t di = queue_idx(&s[i], 0) - queue_idx(&s[i - 1], 0);

		if (((s[i].rc ^ s[i - 1].rc) & QF_FULL) || !queue_cpu(&s[i]))
			continue;
		v[c++] = queue_cpu(&s[i]);
		if (queue_placed(&s[i]) && di >= 0) {
			rcpu += queue_cpu(&s[i]);
			rsteps += (uint64_t)di;
		}
	}
	if (!c) {
		free(v);
		return 0;
	}
	qsort(v, c, sizeof(*v), an__cmp_u64);
	m = v[c / 2];
	/* (the places say the median gap holds k steps: seen takes seldom) */
	if (rsteps && rcpu && (k = (m * rsteps + rcpu / 2) / rcpu) > 1)
		m /= k;
	for (uint32_t i = 0; m && i < c; i++) {
		k = (v[i] + m / 2) / m;
		cpu += v[i];
		steps += k ? k : 1;
	}
	free(v);
	return steps ? cpu / steps : 0;
}

/*
 * An epoch through a queue, as queue_epoch_end works it out: its seen takes s[0, n),
 * and how many were not seen before each (cnt[k], in gap[k] before s[k]) and after
 * the last (cnt[n], gap[n]).
 */
struct qplan {
	struct qseen *s;
	uint32_t n, d, m;	/* seen; the queue's depth; the takes not seen */
	uint64_t from, e;	/* the epoch's first receipt; its end */
	uint64_t pace, cstep;	/* a step: its wall time, its CPU (0: not known) */
	uint64_t end;		/* the loop's CPU from the last seen take to e (0: not known) */
	uint64_t from_cpu;	/* the loop's CPU at from */
	bool from_known;	/* (hist_cpu_at's 0 is the first slice's, not unknown) */
	bool blind, seen;	/* receipts before the trace; e the next epoch's start */
	uint32_t *cnt;
	uint64_t *gap;
	const uint64_t *at;	/* the takes not seen, in gap order, at the loop's frees (NULL: none) */
};

/* The queue's depth, the loop's step in wall and CPU time: as found, or as last found */
static void queue_plan_step(struct qfed *q, struct qplan *p)
{
	const struct qseen *s = p->s;
	uint64_t span = 0, steps = 0;
	uint32_t d;
	int64_t di;
	bool sure;

	if ((p->cstep = queue_cstep(s, p->n)))
		q->cstep = p->cstep;
	p->cstep = q->cstep;
	/* (the queue's size is the job's: what an epoch's end said holds for the next) */
	d = queue_depth(q, s, p->n, p->end, p->cstep, &sure);
	if (d && (sure || !q->depth_sure)) {
		q->depth = d;
		q->depth_sure = sure;
	}
	p->d = q->depth;
	/* the step: the seen takes' span over their places */
	for (uint32_t k = 1; k < p->n; k++)
		if (queue_placed(&s[k]) &&
		    (di = queue_idx(&s[k], p->d) - queue_idx(&s[k - 1], p->d)) > 0) {
			span += s[k].at - s[k - 1].at;
			steps += (uint64_t)di;
		}
	p->pace = steps ? span / steps : q->pace;
	if (p->pace)
		q->pace = p->pace;
}

/*
 * The loop's CPU a step about seen take k: the median of the gaps of a step or so
 * (half to one and a half of the epoch's) of the 3 seen takes either side, of one kind;
 * else the epoch's.  A step's CPU changes in an epoch (at an epoch's start, the
 * workers busy, 47 ms for the epoch's 35: a user's DataLoaderX attached, one gap of a
 * step and a third read as two).
 */
static uint64_t queue_lstep(const struct qplan *p, uint32_t k)
{
	uint64_t v[6], c;
	uint32_t nv = 0;

	for (uint32_t j = k > 3 ? k - 3 : 1; j < p->n && j <= k + 3; j++) {
		if (j == k || ((p->s[j].rc ^ p->s[j - 1].rc) & QF_FULL) || !(c = queue_cpu(&p->s[j])))
			continue;
		if (2 * c >= p->cstep && 2 * c <= 3 * p->cstep)
			v[nv++] = c;
	}
	if (nv < 2)
		return p->cstep;
	qsort(v, nv, sizeof(*v), an__cmp_u64);
	return v[nv / 2];
}

/*
 * How many takes were not seen in each gap.  Before the first seen take: its place
 * less one (the first at the first receipt: the loop waits for it), or the steps of
 * the loop's CPU since then where that is known and says otherwise (a batch received
 * out of order, counted before the first, puts the first seen a place late).  Between
 * seen takes: their places, where the loop's CPU between them says the same; else the
 * steps its CPU says (a receipt counted early moves a place by one).  After the last:
 * the batches received less its place; after the room for the loader thread's end,
 * the queue's batches but one; where the receipts did not count them all (blind), the
 * steps of the loop's CPU to the epoch's end, less the last batch's.
 */
static void queue_plan_counts(const struct qfed *q, struct qplan *p)
{
	const struct qseen *s = p->s;
	uint32_t n = p->n, d = p->d;
	uint64_t c, x;
	int64_t di;

	x = queue_idx(&s[0], d) > 1 ? (uint64_t)queue_idx(&s[0], d) - 1 : 0;
	if (s[0].ws && s[0].ws <= p->from && !(s[0].rc & QF_FULL))
		x = 0;	/* (it waited since before the first batch came: the first) */
	else if (q->unbounded && p->blind && (s[0].rc & QF_RC)) {
		/*
		 * Every batch received before it was taken before it, and so were those
		 * queued before the trace, the loop's CPU says how many: a step each
		 * (pt_mppool attached: 25 by the steps' pace in wall time, for 56)
		 */
		x = p->cstep && p->from_known && s[0].cpu > p->from_cpu ?
		    (s[0].cpu - p->from_cpu + p->cstep / 2) / p->cstep : 0;
		if (x < (s[0].rc & QF_RC) - 1)
			x = (s[0].rc & QF_RC) - 1;
	} else if (p->blind || !(s[0].rc & QF_RC))
		x = steps_in(s[0].at - p->from, p->pace) + 1;
	else if (p->cstep && q->first_cpu && s[0].cpu >= q->first_cpu &&
		 cpu_differs((int64_t)x, c = s[0].cpu - q->first_cpu, p->cstep))
		x = (c + p->cstep / 2) / p->cstep;
	p->cnt[0] = (uint32_t)x;
	p->gap[0] = s[0].at - p->from;
	for (uint32_t k = 1; k < n; k++) {
		uint64_t step = queue_lstep(p, k);

		p->gap[k] = s[k].at - s[k - 1].at;
		c = queue_cpu(&s[k]);
		di = queue_placed(&s[k]) ? queue_idx(&s[k], d) - queue_idx(&s[k - 1], d) : -1;
		if (step && c && !(q->unbounded && di > 0)) {
			if (di < 0 || cpu_differs(di, c, step))
				di = (int64_t)((c + step / 2) / step);
		} else if (di < 0) {
			di = (int64_t)steps_in(p->gap[k], p->pace) + 1;
		}
		p->cnt[k] = di > 1 ? (uint32_t)(di - 1) : 0;
	}
	di = (int64_t)q->recv - queue_idx(&s[n - 1], d);
	p->cnt[n] = di > 0 ? (uint32_t)di : 0;
	/* (the time the takes after the last seen one had: up to the epoch's end) */
	p->gap[n] = p->e > s[n - 1].at ? p->e - s[n - 1].at : 0;
	if ((s[n - 1].rc & QF_END) && d)
		p->cnt[n] = d - 1;
	else if (p->blind && p->seen && p->end && p->cstep)
		p->cnt[n] = p->end >= p->cstep + p->cstep / 2 ?
			    (uint32_t)((p->end + p->cstep / 2) / p->cstep) - 1 : 0;
	else if (p->blind && p->seen)
		p->cnt[n] = steps_in(p->e - s[n - 1].at, p->pace);
}

/*
 * Every batch received this epoch was taken once: where the places say more or fewer
 * (a batch the loader thread kept, received out of order, is in its hands beside the
 * queue's), the densest gaps give, the sparsest take.  Where the room for the loader
 * thread's end was seen and the loop's CPU counted the takes before it, the epoch's
 * takes are those, where they are two off at most: its receipts short where some were
 * missed (pt_bg_pers attached under load, 19 and 18 of 20, the tail's last batches
 * dropped); more is the loop's CPU on something else between seen takes (a validation
 * pass in the epoch).
 */
static void queue_plan_balance(struct qplan *p)
{
	uint32_t n = p->n, k;
	uint64_t x = 0;

	for (k = 0; k <= n; k++)
		x += p->cnt[k];
	if ((p->s[n - 1].rc & QF_END) && p->cstep && x <= (uint64_t)p->m + 2 && x + 2 >= p->m)
		p->m = (uint32_t)x;
	while (!p->blind && x != p->m) {
		uint32_t best = n + 1;

		for (k = 0; k <= n; k++) {
			if (x > p->m ? !p->cnt[k] : !p->gap[k])
				continue;
			if (best > n ||
			    (x > p->m ? p->gap[k] * p->cnt[best] < p->gap[best] * p->cnt[k] :
					p->gap[k] * (p->cnt[best] + 1) > p->gap[best] * (p->cnt[k] + 1)))
				best = k;
		}
		if (best > n)
			break;
		p->cnt[best] += x > p->m ? (uint32_t)-1 : 1;
		x += x > p->m ? (uint64_t)-1 : 1;
	}
}

/*
 * The loop's CPU at the i-th of cnt takes not seen before seen take s: a step's CPU
 * apart, counted back from s, where they fit (a gap's extra CPU is at its start: an
 * epoch's first step, the job's first, cost more: 11 ms for 7.3, pt_bg_pers), else
 * its share of the gap's.
 */
static uint64_t queue_share(const struct qseen *s, uint32_t cnt, uint32_t i, uint64_t cstep)
{
	uint64_t c = queue_cpu(s), back = (uint64_t)(cnt + 1 - i) * cstep;

	if (cstep && c > (uint64_t)cnt * cstep + cstep / 2)
		return s[0].cpu - back;
	return s[-1].cpu + c * i / (cnt + 1);
}

/*
 * A close of a file by l at ts: a batch's shared memory freed, where l is fed through
 * a queue; a leader not known so yet keeps its last QF_PREFREE (queue_loop takes them).
 */
static void queue_free(struct thr *l, uint64_t ts)
{
	struct qfed *q = l->qf;
	uint64_t cpu = attr__cpu_at(l, ts);
	struct qfree *v;

	if (!(l->flags & TF_QUEUE_FED)) {
		const struct qfree *last = l->nprefree ? &l->prefree[(l->nprefree - 1) % QF_PREFREE] : NULL;

		if ((last && last->at == ts) ||
		    (!l->prefree && !(l->prefree = malloc(QF_PREFREE * sizeof(*l->prefree)))))
			return;
		l->prefree[l->nprefree++ % QF_PREFREE] = (struct qfree){ .at = ts, .cpu = cpu };
		return;
	}
	if (!(v = vec_grow(q->frees, &q->capfree, q->nfree + 1, sizeof(*v))))
		return;
	q->frees = v;
	q->frees[q->nfree++] = (struct qfree){ .at = ts, .cpu = cpu };
}

/*
 * The frees of the takes not seen, where the loop frees each batch as it takes the
 * next (x = next(it) drops the batch x held): its tensors' closes, each near the one
 * before on the CPU, are one free; a free near after a seen take is that take's;
 * every other free in the epoch, one a take not seen.  Near: half a step's CPU, the
 * step the median of the gaps between frees over QF_FREE_NEAR_NS where that is less
 * than the plan's (which reads two steps where the loop waits for every other batch:
 * a step's frees merged, 194 steps of 200 attached beside busy).
 * Where at least QF_FREE_SHARE of the seen takes had theirs, and the frees were
 * recorded over the whole epoch, they are the takes not seen: how many in each gap
 * and when (p->at, in gap order; p->cnt set).  The receipts count no better: a batch
 * received out of order, or still queued at the loop's exit, moves the count, and a
 * step's CPU varies (the first ones cost more: a user's prefetch thread over 2
 * workers, 9 takes placed in a gap of 4, 174 steps of 200 in the job's window).
 * After the last seen take, a free more than QF_FREE_LATE steps' CPU after the one
 * before ends them: the loop's last batch is freed when the job ends (0.44 s after
 * pt_bg_pers' window: a take there).  Returns the array to free (NULL: the plan's
 * counts stand).
 */
static uint64_t *queue_plan_frees(const struct qfed *q, struct qplan *p)
{
	const struct qseen *s = p->s;
	uint32_t n = p->n, own = 0, k = 0, m = 0, j;
	uint64_t *at, half = p->cstep / 2, prev = 0, near;

	if (!half || !q->nfree || q->free_from > p->from || n < QF_FREE_MIN ||
	    !(at = malloc(sizeof(*at) * q->nfree)))
		return NULL;
	/* the loop's CPU between two batches' frees: the median gap over QF_FREE_NEAR_NS */
	for (j = 1; j < q->nfree; j++)
		if (q->frees[j - 1].at > p->from && q->frees[j].at < p->e &&
		    q->frees[j].cpu >= q->frees[j - 1].cpu + QF_FREE_NEAR_NS)
			at[m++] = q->frees[j].cpu - q->frees[j - 1].cpu;
	near = half;
	if (m) {
		qsort(at, m, sizeof(*at), an__cmp_u64);
		if (at[m / 2] / 2 < near)
			near = at[m / 2] / 2;
	}
	m = 0;
	memset(p->cnt, 0, sizeof(*p->cnt) * (n + 1));
	for (j = 0; j < q->nfree; j++) {
		const struct qfree *f = &q->frees[j];

		if (f->at <= p->from || f->at >= p->e)
			continue;
		/* (a batch's tensors are freed one after another: one free) */
		if (j && f->cpu < q->frees[j - 1].cpu + near &&
		    f->at < q->frees[j - 1].at + QF_FREE_BURST_NS)
			continue;
		while (k < n && s[k].at <= f->at)
			k++;	/* the gap it is in: after seen take k - 1 */
		if (k && s[k - 1].cpu && f->cpu < s[k - 1].cpu + near) {
			own += j == 0 || q->frees[j - 1].at <= s[k - 1].at;
			continue;
		}
		if (k == n && (prev = prev ? prev : s[n - 1].cpu) &&
		    f->cpu > prev + QF_FREE_LATE * p->cstep)
			break;
		prev = k == n ? f->cpu : 0;
		p->cnt[k]++;
		at[m++] = f->at;
	}
	if ((double)own < QF_FREE_SHARE * n) {
		free(at);
		return NULL;
	}
	p->at = at;
	return at;
}

/*
 * Where the queue has no bound, unseen take i (its batch's place in the epoch) at x is
 * no earlier than its batch's receipt, nor than the take before it (prev), and before
 * the next seen take (hi): the loop's CPU between two seen takes is not all its steps'
 * (pt_mppool: the job's own bookkeeping at its window's start, 5 takes placed before
 * the batches came).
 */
static uint64_t queue_after_rx(const struct qfed *q, int64_t i, uint64_t x, uint64_t prev,
			       uint64_t hi)
{
	uint64_t r = queue_rx_at(q, i), lo = r > prev ? r : prev;

	if (!q->unbounded || x >= lo)
		return x;
	return lo < hi ? lo : x;
}

/*
 * The takes not seen, each where the loop's CPU reached its share of its gap's (a
 * step's CPU is the same, where its wall time is not: the workers compete for the CPUs
 * while the queue fills), where the loop's history has it; else evenly in the gap's
 * time: before the wait of a seen take the loop waited for (a step's end each, the
 * last at the wait's start), and after the last seen where the epoch's end was not
 * seen, a step apart (the step of the last few seen).
 */
static void queue_place(struct an *a, struct thr *l, const struct qfed *q, struct qplan *p)
{
	const struct qseen *s = p->s;
	uint32_t n = p->n, k, i;
	uint64_t c, x, span = 0, steps = 0, e = p->e, prev = 0;

	for (k = n - 1; k >= 1 && k + 4 >= n; k--) {
		span += p->gap[k];
		steps += p->cnt[k] + 1;
	}
	if (steps)
		p->pace = span / steps;
	if (!p->seen && p->pace && e > s[n - 1].at + p->pace * (p->cnt[n] + 1))
		e = s[n - 1].at + p->pace * (p->cnt[n] + 1);
	p->gap[n] = e - s[n - 1].at;
	for (k = 0; k < n; k++)
		if (s[k].ws && !(s[k].rc & QF_FULL) && s[k].ws > (k ? s[k - 1].at : p->from))
			p->gap[k] = s[k].ws - (k ? s[k - 1].at : p->from);
	c = q->first_cpu ? q->first_cpu : p->from_cpu;
	l->qf_in = true;
	l->qf_freed = p->at != NULL;
	/* (the first batch's take: the loop waits for it in the epoch's first next()) */
	for (k = 0; k < p->cnt[0]; k++) {
		x = p->from + p->gap[0] * k / p->cnt[0];
		if (p->at)
			x = *p->at++;
		else if (k && (c || p->from_known) && s[0].cpu > c)
			x = queue_when(l, c + (s[0].cpu - c) * k / p->cnt[0], p->from, s[0].at, x);
		/* (blind: the batches queued before the trace come first, their receipts unseen) */
		if (!p->blind)
			x = queue_after_rx(q, k + 1, x, prev, s[0].at);
		l->pending = 1;
		take_cached(a, l, prev = x);
	}
	for (k = 1; k <= n; k++)
		for (i = 1; i <= p->cnt[k]; i++) {
			x = s[k - 1].at + p->gap[k] * i / (p->cnt[k] + 1);
			if (p->at)
				x = *p->at++;
			else if (k < n && queue_cpu(&s[k]))
				x = queue_when(l, queue_share(&s[k], p->cnt[k], i, p->cstep),
					       s[k - 1].at, s[k].at, x);
			else if (k == n && q->unbounded && p->seen && p->end)
				/* (the loop's CPU to its relay's end, shared: no wait of its there) */
				x = queue_when(l, s[n - 1].cpu + p->end * i / (p->cnt[n] + 1),
					       s[n - 1].at, p->e, x);
			else if (k == n && p->cstep && s[n - 1].cpu)
				x = queue_when(l, s[n - 1].cpu + p->cstep * i, s[n - 1].at, p->e, x);
			x = queue_after_rx(q, queue_idx(&s[k - 1], p->d) + i, x,
					   prev > s[k - 1].at ? prev : s[k - 1].at, k < n ? s[k].at : e);
			l->pending = 1;
			take_cached(a, l, prev = x);
		}
	l->qf_in = l->qf_freed = false;
	l->pending = 0;
}

/*
 * l's epoch through a queue ended at e (seen: its next loader thread started; else the
 * trace or the thread ended).  Of the batches its loader thread received in it, those
 * not seen taken were taken where the loop's takes were not seen: filling the queue at
 * the epoch's start, and draining it at its end, once the loader thread put its last.
 * Each seen take's place among the epoch's takes (queue_idx, with the queue's depth
 * that queue_depth finds, or the last one found) and the loop's CPU between seen takes
 * (queue_cstep) say how many came between them unseen (queue_plan_counts), and
 * queue_place places them.  A loader thread there before the trace (blind) had batches
 * queued that no receipt counted: how many came before its first seen take, the takes
 * a step apart that fit there say.
 */
static void queue_epoch_end(struct an *a, struct thr *l, uint64_t e, bool seen)
{
	struct qfed *q = l->qf;
	const struct thr *r = q->relay ? an__find_thread(a, q->relay) : NULL;
	struct qplan p = { .from = q->first_rx, .e = e, .seen = seen,
			   .blind = r && !(r->flags & TF_FORKED),
			   .m = q->recv > q->nseen ? q->recv - q->nseen : 0 };
	uint32_t lo;
	uint64_t c;

	/* the seen takes of this epoch: s[0, n) */
	for (lo = 0; lo < q->nseen && q->seen[lo].at <= p.from; lo++)
		;
	while (lo + p.n < q->nseen && q->seen[lo + p.n].at < e)
		p.n++;
	if (!p.from || e <= p.from || !p.n)
		goto out;
	p.s = q->seen + lo;
	/*
	 * The loader thread's last wait for room, all the epoch's batches received, was for
	 * its end (None): after its last batch's put the queue is full again (it waited for
	 * room for that batch too, a take before, or the queue was full then).
	 */
	if ((p.s[p.n - 1].rc & QF_FULL) && (p.s[p.n - 1].rc & QF_RC) == q->recv)
		p.s[p.n - 1].rc |= QF_END;
	/* (the next epoch's iter(): the loop's CPU since its last seen take is known) */
	if (seen && p.s[p.n - 1].cpu && (c = attr__cpu_at(l, e)) > p.s[p.n - 1].cpu)
		p.end = c - p.s[p.n - 1].cpu;
	queue_plan_step(q, &p);
	p.from_cpu = hist_cpu_at(l, p.from);
	p.from_known = p.from_cpu || (l->hist && l->nhist && l->nhist <= CPU_HIST &&
				      p.from < l->hist[0].s && !l->hist[0].before);
	p.cnt = calloc(p.n + 1, sizeof(*p.cnt));
	p.gap = malloc((p.n + 1) * sizeof(*p.gap));
	if (p.cnt && p.gap) {
		uint64_t *at;

		queue_plan_counts(q, &p);
		/* (an unbounded queue's counts are its receipts': its frees say no better) */
		if (!(at = q->unbounded ? NULL : queue_plan_frees(q, &p)))
			queue_plan_balance(&p);
		queue_place(a, l, q, &p);
		free(at);
	}
	free(p.cnt);
	free(p.gap);
out:
	q->recv = q->nseen = q->nfree = 0;
	q->first_rx = 0;
	q->free_from = e;
}

/* l is known fed through a queue at now: its frees kept so far are the queue's */
static void queue_prefrees(struct thr *l, uint64_t now)
{
	struct qfed *q = l->qf;
	uint32_t n = l->nprefree < QF_PREFREE ? l->nprefree : QF_PREFREE;
	uint32_t i0 = l->nprefree - n;

	q->free_from = l->nprefree > QF_PREFREE ? l->prefree[i0 % QF_PREFREE].at : 0;
	if (!n)
		q->free_from = now;
	if (n && (q->frees = malloc(n * sizeof(*q->frees)))) {
		for (uint32_t i = 0; i < n; i++)
			q->frees[i] = l->prefree[(i0 + i) % QF_PREFREE];
		q->nfree = q->capfree = n;
	}
	free(l->prefree);
	l->prefree = NULL;
	l->nprefree = 0;
}

/*
 * Relay r hands loop l batches that a pool of processes made from one task queue (its
 * workers read the tasks from one pipe: PF_TASKQ): multiprocessing.Pool's imap(),
 * whose task handler writes the tasks to the workers' pipe as they come from the
 * iterable, and whose result handler hands each result to the loop through a
 * Condition; a ProcessPoolExecutor's map(), whose manager thread keeps the workers'
 * call queue filled and sets each result on its future (the loop's submits go on
 * after the first results came: 90 of 302 steps placed after the job's end by a
 * bounded queue's rules).  A queue with no bound: l takes each batch r received,
 * without a call where one waited already (a user's script under load: 126 steps seen
 * for 300).  A DataLoader's workers read an index queue each.
 */
static bool queue_unput(const struct thr *l, const struct thr *r)
{
	return r->first_rx && l->proc && (l->proc->flags & PF_TASKQ);
}

/*
 * Is l, a loop its sibling t (a relay) handed batches to through a Python queue, fed
 * so (TF_QUEUE_FED from now on, its takes counted by the queue: the takes its waits
 * in get() that t ended since t's first batch were, placed again)?
 */
static bool queue_loop(struct an *a, struct thr *t, struct thr *l)
{
	/*
	 * (not a thread it started, whose first act woke it: Thread.start() waits for that;
	 * a loop known fed through a queue reads its persistent pool's answers to each
	 * epoch's resume itself, DataLoader's iter() in its thread: it is no relay for that)
	 */
	if (!l || l == t || l->proc != t->proc || (l->flags & TF_FEEDER) ||
	    (attr__is_relay(l) && !(l->flags & TF_QUEUE_FED)) || !(l->flags & (TF_LEADER | TF_LOGGER)))
		return false;
	/*
	 * Nor a relay that puts no index of its own: a pin-memory thread blocked on its
	 * output queue's lock while the loop held it (the loop dropped the GIL in get()).
	 * Its own: its feeders' writes, or its notes to a feeder waiting for an index, where
	 * those were not counted as its puts (the loop waited for its first batch, woken by
	 * the loader thread's put, and was read as a pin-memory thread's: pt_bg_pers
	 * attached under load, the epoch's steps at 8 for 18).
	 */
	if (!(l->flags & TF_QUEUE_FED) && !t->puts && !t->feeder_notes && !queue_unput(l, t))
		return false;
	if (!(l->flags & TF_QUEUE_FED)) {
		uint64_t from = t->first_rx ? t->first_rx : t->first_ts, v = from;

		if (!l->qf && !(l->qf = calloc(1, sizeof(*l->qf))))
			return false;
		/*
		 * A loop that never fetched a batch's fds itself, and took none since the
		 * trace began but at its puts (before_trace: no epoch of its ended in the
		 * trace), took none: those puts were its iter()'s (attached between epochs:
		 * a persistent pool's resume and its prefetch, 6 steps in 4 ms, a user's
		 * DataLoaderX 80 for 74).
		 */
		if (!l->fetched && before_trace(l))
			v = 1;
		void_takes_from(l, v - 1, v);
		l->flags |= TF_QUEUE_FED;
		l->flags &= ~(TF_RELAY_FED | TF_RELAY_WAKE);
		l->pending = 0;
		l->tail_from = l->held_put = 0;
		l->qf->recv = (uint32_t)t->direct_arrivals;
		l->qf->first_rx = from;
		l->qf->first_cpu = 0;	/* (not known: before it was known fed so) */
		queue_prefrees(l, a->now);
		/* its waits in get() the relay ended since its first batch were takes */
		for (uint32_t i = 0; i < PYW_LAST && i < l->npyw; i++)
			if (l->pyw_tid[i] == t->tid && l->pyw_ts[i] >= from)
				queue_take(a, l, l->pyw_ts[i], l->pyw_rc[i], l->pyw_cpu[i],
					   l->pyw_ws[i]);
	}
	l->qf->relay = t->tid;
	if (queue_unput(l, t))
		l->qf->unbounded = true;
	return true;
}

/*
 * Relay t's wait on a Python lock, sc, ended (its last segment: last): woken by a
 * sibling loop, it waited in put() on a full queue that the loop's get() made room in.
 * The loop's takes before it was known so (an index put by the relay's feeders, read
 * as the loop's) are placed again with the epoch's unseen ones, but for its waits in
 * get() that the relay ended.
 */
static void queue_freed(struct an *a, struct thr *t, const struct st_ev_syscall *sc,
			const struct seg *last)
{
	struct thr *l;

	/* (a word other threads wait on too is a lock handed over: fx_shared) */
	if (!py_lock_wait(t, sc) || fx_shared(a, t, sc) || sc->b.ret || !last ||
	    last->wrel != WREL_SIBLING || !attr__is_relay(t))
		return;
	l = an__find_thread(a, last->waker);
	if (!queue_loop(a, t, l))
		return;
	/* (the batch in its hands: its fetch is counted at its next call, relay_fetched) */
	queue_take(a, l, last->wake, (l->qf->recv + (t->owe == l && t->rx_fetches && !t->rx_fetched)) |
			       QF_FULL, attr__cpu_at(l, last->wake), 0);
}

/*
 * Feeder t's wait on its queue's condition (a Python lock: no GIL, which is a timed
 * wait) ended: the sibling that woke it put an index on its queue.
 */
static void feeder_noted(struct an *a, struct thr *t, const struct st_ev_syscall *sc,
			 const struct seg *last)
{
	struct thr *w;

	if ((t->flags & TF_FEEDER) && py_lock_wait(t, sc) && !sc->b.ret && last &&
	    (last->wrel == WREL_SIBLING || last->wrel == WREL_RELAY) &&
	    (w = an__find_thread(a, last->waker)) && w != t)
		w->feeder_notes++;
}

/*
 * t, fed through a queue, was woken at at by its relay: its get() waited for a batch,
 * from s
 */
static bool queue_woke(struct an *a, struct thr *t, const struct st_ev_syscall *sc, uint64_t s)
{
	uint64_t at = t->relay_wake_at;

	if (!(t->flags & TF_QUEUE_FED))
		return false;
	t->relay_wake_at = 0;
	t->flags &= ~TF_RELAY_WAKE;
	t->relay_early = 0;
	if (py_lock_wait(t, sc) && t->qf->recv > t->qf->nseen)
		queue_take(a, t, at, t->woke_rc, attr__cpu_at(t, at), s);
	return true;
}

/*
 * t started a thread at ts: where it is fed through a queue whose loader thread has
 * ended, its next epoch's (a BackgroundGenerator an epoch).
 */
void attr__thread_started(struct an *a, struct thr *t, uint64_t ts)
{
	const struct thr *r = t->qf && t->qf->relay ? an__find_thread(a, t->qf->relay) : NULL;

	if (r && (r->flags & TF_EXITED))
		queue_epoch_end(a, t, ts, true);
}

static void relay_credit(struct an *a, struct thr *l, const struct thr *r, uint64_t ts)
{
	if (relay_parked(a, l, r, ts))
		return;
	if (resume_ack(l))
		return;
	l->resuming = false;
	if (l->blind_pf_open)
		blind_resumed(a, l);
	if (l->pending < PENDING_MAX)
		l->pending++;
	/*
	 * A batch arrived (at the relay): a put held in a tail was a take, as where the
	 * loop receives its batches itself (tail_arrival).  The loop seldom waits on the
	 * relay, so its own arrivals may not come at all: a tail begun by a receipt whose
	 * put came late (its CPU past 1 ms under load), and the next step's put read as a
	 * second one before any arrival, ended a false epoch there, 6 batches spread as
	 * steps in 3.7 ms (pt_val_pin_pers attached in a clean clone's make test: 114
	 * steps for 110).
	 */
	if (l->tail_from)
		tail_arrival(a, l);
}

/* Relay r's last batch is in its loop's queue (it called on its pipe, or woke the loop). */
static void relay_rebuilt(struct thr *r)
{
	if (r->rebuild)
		r->rebuild->in_relay = false;
	r->rebuild = NULL;
}

/*
 * Relay r's receipt fetched a tensor's fds: its message was a batch, for the thread it
 * is on its way to (owe).  Once FETCH_LEARN of its messages did, one that fetched none
 * before the next came was no batch: an IterableDataset worker's end of stream, which
 * PyTorch's pin-memory thread passes on like a batch (a user's script, 2 persistent
 * workers, 3 epochs of 40: each end of stream a step, 124 for 120).  A persistent
 * pool's answers to a resume count at once (relay_credit), as before: the loop waits
 * for them before its next put.
 */
static void relay_fetched(struct an *a, struct thr *r)
{
	r->rx_fetched = true;
	r->fd_msgs++;
	if (r->owe && (r->owe->flags & TF_QUEUE_FED)) {
		queue_fetched(r->owe, r->owe_at);
		r->rx_queue = r->owe->tid;
		r->rx_more = false;
	} else if (r->owe) {
		uint64_t was = r->owe->pending;

		r->owe->owed_at = 0;
		r->owe->owed_counted = false;
		relay_credit(a, r->owe, r, a->now);
		if (r->owe->pending > was) {
			relay_rebuilt(r);
			r->rebuild = r->owe;
			r->owe->in_relay = true;
		}
	}
	r->owe = NULL;
}

/*
 * Relay r fetched an fd in a receipt whose batch counted for a queue already, after it
 * read the next message's header (4 bytes) on its pipe: the next batch, read in the
 * same receipt (the loader thread did not wait for it: pt_bg_pers attached in a clean
 * clone's CI, its last epoch's takes all unseen, 19 batches of 20 counted).
 */
static void queue_next_fetch(struct an *a, struct thr *r, uint64_t ts)
{
	struct thr *l = an__find_thread(a, r->rx_queue);

	if (r->rx_more && l && (l->flags & TF_QUEUE_FED) && l->qf->relay == r->tid) {
		queue_fetched(l, ts);
	}
	r->rx_more = false;
}

/*
 * A message with no tensor came to l through a relay at ts (relay_fetched): an end of
 * stream, answered by a put to a worker still streaming.  A put since, taken as a
 * batch received before the trace (before_trace, attach), was that answer, and took
 * nothing (pt_iter_pin attach: 2 steps too many an epoch).
 */
static void relay_bare(struct thr *l, uint64_t ts)
{
	if (l->flags & TF_QUEUE_FED)
		return;	/* (a persistent pool's answer to its resume: no batch) */
	if (!l->bare_ts)
		l->bare_ts = ts;
	if (!l->owed_counted)
		l->ends_relayed++;
	l->owed_at = 0;
	l->owed_counted = false;
	if (l->takes == l->blind_takes && l->put_ts > ts) {
		void_last_take(l);
		l->blind_takes = UINT64_MAX;
	} else if (l->put_ts > ts && l->takes == l->put_takes && !l->tail_from) {
		/*
		 * The put since took a batch kept from before, and nothing took one after
		 * it: it answered this end (an index to a worker still streaming, in the same
		 * next()), and the batch is still kept (pt_iter_pin attach under load: ends
		 * that came between a worker's batches read out of order, each answer a step,
		 * 64 for 62).
		 */
		void_last_take(l);
		if (l->pending < PENDING_MAX)
			l->pending++;
	}
}

/*
 * The loop a relay feeds, seen past an epoch's end: the thread of its process that
 * puts indices (next() does, a put per batch taken) and receives no batch from a
 * worker itself.  Its batches are the relay's, whether or not it was seen waiting on
 * the relay: with the relay's queue never empty, it takes each batch without a call
 * (a user's script attached in the middle of training, 3 persistent workers,
 * prefetch_factor 3, workers far faster than the step: the loop never waited on the
 * relay, none of its batches counted after its first epoch's end, 49 steps for 63).
 * Before that end, in attach mode, its puts take batches received before the trace
 * (before_trace), and a loop that waits is known by the relay's wake: under load its
 * feeders wrote its puts up to a step late, and receipts counted before the wake
 * opened a false epoch's tail (pt_pin_hogs attach: 43 steps for 50).  Known at a read
 * of the relay's: a worker's wake of the relay counts as its arrival only until its
 * reads are known, and the read that follows may count it again.  The end of a blind
 * first epoch (relay_tail: blind_end) is such an end, also where the next iterator
 * is another loader's, with a relay of its own (pt_val_pin_pers attached: the first
 * validation loop never waited on its new relay, its 12 batches counted for nobody
 * and the loaders not told apart, 122 steps for 110).
 */
#define ALT_MIN		3	/* alternations that make a loop a relay feeds (relay_alternates) */

static bool relay_loop(const struct thr *l)
{
	return !(l->flags & (TF_RELAY_FED | TF_FEEDER)) &&
	       (l->epoch_ends || l->blind_end || l->alternations >= ALT_MIN) &&
	       l->puts && !l->direct_arrivals && !attr__is_relay(l);
}

/*
 * Within the first epoch of a pool started in the trace, the loop a relay feeds is
 * known without a wake: a thread of the relay's process whose puts and the relay's
 * receipts alternate, a put between each two, while it receives no batch itself (a
 * second loop of the process, on a loader of its own, receives its batches past its
 * prefetch).  On a loaded machine the loop fell behind its workers from its first
 * steps, its pin-memory queue was never empty, and it waited on the relay only for
 * the GIL: nothing counted its first epoch until that epoch ended (pt_valnp_pin_pers
 * in a clean clone's make test under load: 83 steps for 110).  Called at a receipt of
 * the relay's that l was not known to be fed by (relay_blind).
 */
static void relay_alternates(struct thr *l)
{
	if (l->pool_before || !l->puts || l->direct_arrivals || (l->flags & TF_FEEDER))
		return;
	if (l->alt_puts && l->puts > l->alt_puts)
		l->alternations++;
	l->alt_puts = l->puts;
}

/*
 * l, known by its alternations (relay_alternates), took a batch at each of its puts
 * since the relay's first receipt (its prefetch came before any), as a loop the relay
 * is known to feed does (relay_credit): those takes, placed at the puts; the batches
 * received and not taken are pending.  Where l took none before, every batch relay r
 * received is one of those (its pool's first epoch, forked in the trace): the relay's
 * receipts that l's count missed too (pt_pin_hogs in a clean clone's CI: 9 of the
 * relay's first 14 counted, the epoch's tail 4 steps short, 46 for 50).
 */
static void alternate_takes(struct an *a, struct thr *l, const struct thr *r)
{
	uint32_t took;
	uint64_t got = r->own_arrivals - 1;	/* before this one (counted at its fetch) */

	if (!l->takes && r->own_arrivals && got > l->relay_blind)
		l->relay_blind = got < PENDING_MAX ? (uint32_t)got : PENDING_MAX;
	took = l->nalt_puts < l->relay_blind ? l->nalt_puts : l->relay_blind;

	for (uint32_t i = 0; i < took; i++) {
		l->pending++;
		take(a, l, l->alt_put[i < ALT_PUTS ? i : ALT_PUTS - 1], false);
	}
	l->pending = l->relay_blind - took;
	l->nalt_puts = 0;
}

/*
 * A batch reached t at ts.  A poll only says one is there (or that a worker hung
 * up): the read that follows it is the arrival, and its receipt starts at the poll.
 * The same batch: right after the last arrival (on CPU, the thread not blocked on a
 * pipe in between, no batch taken since: a read split by a preemption or a GIL wait
 * is one), or a wait for
 * its shared-memory fds while it is received.  A direct arrival (from a worker) is
 * also a proxy boundary for the process's other loggers: with a relay thread, the
 * main thread may never wait for the batch itself.
 */
bool attr__arrival(struct an *a, struct thr *t, uint64_t ts, bool direct, int kind,
		   uint64_t ino)
{
	struct proc *p = t->proc, *q;
	struct snap *s;
	uint32_t src = 0;
	uint64_t cpu = attr__cpu_at(t, ts), gap = cpu > t->last_arr_cpu ? cpu - t->last_arr_cpu : 0, *w;
	bool near = t->last_arrival && ts >= t->last_arrival && t->blocks == t->last_arr_blocks &&
		    t->takes == t->last_arr_takes;
	/*
	 * A read is the batch a wakeup just announced, or the body of the message whose
	 * length (4 bytes: multiprocessing's header) it read last, when the thread did
	 * not block in between, however long it ran (a loaded machine makes that slow).
	 */
	bool body = near && kind != ARR_WAKE && kind != ARR_POLL &&
		    (t->last_arr_kind == ARR_WAKE || t->last_arr_kind == ARR_HDR);
	/*
	 * A header read after the body of the receipt's message is the next message
	 * (a second batch read in one go, however near), not more of this one.
	 */
	bool next_msg = kind == ARR_HDR && t->rx_open && t->rx_body;
	/* a relay's wake; once one has fed t, the relay's receipts count its batches */
	bool by_relay = kind == ARR_WAKE && !direct && (t->flags & TF_RELAY_WAKE);
	bool relayed = by_relay && (t->flags & TF_RELAY_FED);

	/* a relay back on its pipe, or its wake of the loop: its last batch is queued */
	if (t->rebuild)
		relay_rebuilt(t);
	if (by_relay)
		t->in_relay = false;
	/*
	 * A message is on one pipe: a read of another worker's pipe is the next batch,
	 * however soon (a relay reads one worker's batch, then the next's, and takes
	 * none in between: trainsim's relay, 55 steps for 80 where two came together).
	 */
	if ((kind == ARR_READ || kind == ARR_HDR) && ino) {
		next_msg |= t->arr_ino && ino != t->arr_ino;
		t->arr_ino = ino;
		loader_switch(a, t, ino, ts);
	}
	bool merged = !next_msg && ((near && gap < MERGE_GAP_NS) || body ||
				    (kind == ARR_WAKE && rx_wake(t, ts)));

	if (kind == ARR_POLL) {
		t->poll_at = ts;
		t->poll_cpu = cpu;
		return true;
	}
	if (!merged) {
		t->bare_next = false;
		/* a read's receipt went on or not at its call (attr__syscall) */
		if (kind == ARR_WAKE)
			receipt_timeout(a, t, NULL, ts);
		tail_arrival(a, t);
	}
	/*
	 * Who sent it: the worker that woke the thread, or the last to write the pipe it
	 * read, while it lives (a pipe's inode is used again once it is closed); not known
	 * for a relay's (its sender is the relay's arrival's).
	 */
	if (kind == ARR_WAKE && direct)
		src = t->waker_pid;
	else if ((kind == ARR_READ || kind == ARR_HDR) && ino && (w = hmap_find(&a->pipe_writer, ino)) &&
		 (q = an__find_proc(a, (uint32_t)*w)) && !an__proc_gone(q)) {
		src = (uint32_t)*w;
		q->out_ino = ino;
		if ((w = hmap_slot(&a->result_pipes, ino)))
			*w = q->pid;
	}
	if (src)
		t->ld_src = src;
	/*
	 * A message's first read (its header, or a read that began no receipt), before
	 * the first fd fetch (trace_resumed): a wake that announced it and a read merged
	 * into either are the same message, a read after its take is not.
	 */
	if ((kind == ARR_HDR ? !merged || t->last_arr_kind == ARR_WAKE : kind == ARR_READ && !merged) &&
	    !t->fetched && !t->unfetched++)
		t->unfetched_from = ts;
	t->last_arrival = ts;
	t->last_arr_kind = (uint8_t)kind;
	t->last_arr_cpu = cpu;
	t->last_arr_blocks = t->blocks;
	t->last_arr_takes = t->takes;
	if (!merged)
		t->rx_body = false;
	if (kind == ARR_READ)
		t->rx_body = true;
	/*
	 * The first read of the pipe starts the count afresh (below); a first read that
	 * is the body of the batch a wakeup announced is that batch (counted), and the
	 * count from there on is the reads' (a later one must not start it again).
	 */
	if (merged && kind != ARR_WAKE && !t->read_arrivals++)
		t->pending = t->rx_open;
	if (merged)
		return true;
	/*
	 * The wake for a resume answer the relay received (relay_credit; before t is known
	 * to be fed by it, the answers counted at the relay too: attach, a loop that never
	 * waited on the relay in its first epoch)
	 */
	if (by_relay && t->resuming)
		return true;
	/*
	 * A persistent pool's answer to a resume (an_core.h): no batch.  A single put
	 * after a tail is no evidence (the tail may have been a long receipt).
	 */
	if (resume_ack(t))
		return true;
	t->resuming = false;
	/*
	 * The message read before, not taken yet, brought no tensor: no batch.  The
	 * workers of a persistent pool end their IterableDataset streams together, and
	 * DataLoader reads their messages back to back (pt_iter_pers: 88 steps for 70).
	 */
	if (kind != ARR_WAKE && rx_bare(t) && t->pending)
		t->pending--;
	/* a new batch: its receipt starts, or goes on when one was not taken yet */
	if (!t->rx_open) {
		/*
		 * The poll that said the batch was there starts its receipt, where the
		 * read came soon after on CPU, or as the next call however long t ran
		 * between (CPython's cyclic GC at an allocation in get(): 17 ms of CPU, a
		 * user's network-fed loop beside busy, 50 ms of next() read as compute).
		 */
		bool polled = kind != ARR_WAKE && t->poll_at && t->poll_at <= ts &&
			      (cpu - t->poll_cpu <= RX_CPU_NS || t->sc_horizon == t->poll_at);
		uint64_t c = polled ? t->poll_cpu : cpu;

		t->rx_start = polled ? t->poll_at : ts;
		/* a step's compute: from its put to the next receipt */
		if (!t->rx_since_put && t->put_cpu && c > t->put_cpu)
			t->step_cpu = t->step_cpu ? (3 * t->step_cpu + c - t->put_cpu) / 4 :
				      c - t->put_cpu;
		t->rx_since_put = true;
	}
	if (!t->rx_open || kind != ARR_WAKE) {
		/* the message before brought no tensor: owed no batch (relay_fetched) */
		if (t->owe)
			relay_bare(t->owe, t->owe_at);
		t->owe = NULL;
		if (kind != ARR_WAKE)
			msg_done(t);
		t->rx_counted = false;
		t->rx_fetched = false;
		t->rx_fetches = 0;
	}
	/*
	 * Until the pipe batches come through is known, a worker's wakeup is an arrival;
	 * a wakeup while one was being received may have counted it twice: the first
	 * read of the pipe starts the count afresh.
	 */
	if (kind != ARR_WAKE && !t->read_arrivals++)
		t->pending = t->rx_open;
	t->poll_at = 0;
	t->rx_end = ts;
	t->rx_cpu = cpu;
	t->rx_open = true;
	t->rx_foreign = false;
	/*
	 * A relay's wake announces a batch its receipt counted already (below), except
	 * the first: from then on the relay's receipts count them.
	 */
	if (t->blind_pf_open)
		blind_resumed(a, t);
	if (!relayed && t->pending < PENDING_MAX)
		t->pending++;
	if (by_relay && !relayed) {
		relay_fed(t);
		t->pending = t->pending + t->relay_early < PENDING_MAX ?
			     t->pending + t->relay_early : PENDING_MAX;
	}
	if (direct && !t->first_rx)
		t->first_rx = ts;
	if (!direct && !(t->flags & (TF_LOGGER | TF_LEADER)))
		return false;
	t->own_arrivals++;
	if (direct) {
		t->direct_arrivals++;
		if (p)
			p->flags |= PF_FED;
	}
	attr__become_logger(a, t);
	/* which loader sent it (an_finish.c, loaders) */
	if (!(t->own_arrivals & ((1ull << t->decimate) - 1)) && (s = attr__snap(a, t, ts, SNAP_OWN)))
		s->src = src;
	if (!direct || !p)
		return false;
	for (uint32_t i = 0; i < p->nloggers; i++) {
		struct thr *l = p->loggers[i];

		/*
		 * A batch on its way to a thread the relay feeds: the relay puts it on a
		 * queue, and the thread takes it without a call when it is there already
		 * (PyTorch's pin-memory thread: 57 takes for 80 when only its wakes
		 * counted).  Its put of the next index is then the take.  One received between
		 * the relay's first wake of l and the wake's decision counts once the
		 * decision says the relay feeds l (pt_pin at rest: the second batch came 0.1 ms
		 * after the wake, before l ran; a take short in the window, 98 steps of 100).
		 */
		/*
		 * Not a queue feeder: one known late (attach: its pipe's worker had not read
		 * since) made "puts" when it handed the GIL to its sibling feeders, was
		 * taken as a loop the relay feeds, and the relay's batches went to it
		 * (t->owe: the last such thread), none to the loop (pt_pin_tail attach in a
		 * clean clone's make test: 2 steps for 52).
		 */
		if (l != t && (l->flags & TF_FEEDER))
			continue;
		/* nor a thread that has gone: it takes no batch (exited_relay, an_core.c) */
		if (l != t && (l->flags & TF_EXITED))
			continue;
		if (l != t && (l->flags & TF_QUEUE_FED)) {
			l->qf->relay = t->tid;
			/*
			 * Where the batches bring their tensors' fds, one that fetched
			 * none is no batch: a persistent pool's answers to its resume,
			 * which each epoch's new loader thread receives in iter().
			 */
			if (t->fd_msgs >= FETCH_LEARN || l->qf->fetched >= FETCH_LEARN) {
				t->owe = l;	/* a batch once its receipt fetches (relay_fetched) */
				t->owe_at = ts;
			} else {
				queue_recv(l, ts);
			}
			continue;
		}
		if (l != t && kind != ARR_WAKE && relay_loop(l)) {
			relay_fed(l);
			if (!l->epoch_ends && !l->blind_end)
				alternate_takes(a, l, t);
		}
		if (l != t && (l->flags & TF_RELAY_FED) && t->fd_msgs >= FETCH_LEARN && !l->resuming) {
			t->owe = l;	/* a batch once its receipt fetches (relay_fetched) */
			t->owe_at = ts;
			l->owed_at = ts;
			l->owed_counted = false;
		} else if (l != t && (l->flags & TF_RELAY_FED))
			relay_credit(a, l, t, ts);
		else if (l != t && resume_ack(l))
			;	/* an answer: l resumed its pool before it waited on the relay */
		else if (l != t && (l->flags & TF_RELAY_WAKE))
			l->relay_early++;
		else if (l != t) {
			l->relay_blind++;
			relay_alternates(l);
		}
		if (l == t || (l->last_proxy && ts - l->last_proxy < MERGE_GAP_NS))
			continue;
		l->last_proxy = ts;
		l->proxy_arrivals++;
		if (!(l->proxy_arrivals & ((1ull << l->decimate) - 1)))
			attr__snap(a, l, ts, SNAP_PROXY);
	}
	return false;
}

/* ------------------------------------------------------------------ stalls */

static void stall_push(struct thr *t, const struct stall *s)
{
	struct stall *h = t->stalls;
	uint32_t i, c;

	if (s->dur < STALL_MIN_NS)
		return;
	if (t->nstalls == NSTALLS) {
		if (s->dur <= h[0].dur)
			return;
		/* replace the shortest, sift down */
		h[0] = *s;
		for (i = 0; (c = 2 * i + 1) < NSTALLS; i = c) {
			if (c + 1 < NSTALLS && h[c + 1].dur < h[c].dur)
				c++;
			if (h[i].dur <= h[c].dur)
				break;
			struct stall tmp = h[i];

			h[i] = h[c];
			h[c] = tmp;
		}
		return;
	}
	i = t->nstalls++;
	h[i] = *s;
	for (; i > 0 && h[(i - 1) / 2].dur > h[i].dur; i = (i - 1) / 2) {
		struct stall tmp = h[i];

		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = tmp;
	}
}

static void stall_evidence(struct stall *st, const struct thr *t, const struct seg *g)
{
	st->tid = t->tid;
	st->state = g ? g->state : 0;
	st->nr = g ? g->nr : SC_NONE;
	st->fdkind = g ? g->fdkind : 0;
	st->dev = g ? g->dev : 0;
	st->ino = g ? g->ino : 0;
	st->waker = g ? g->waker : 0;
	st->waker2 = g ? g->waker2 : 0;
	st->wrel = g ? g->wrel : 0;
	st->peer = g ? g->peer : 0;
	/* keeps gil: it is the stall's, whichever segment is the evidence */
}

/*
 * Merges consecutive non-compute pieces of one cause into stalls.  The evidence is
 * the longest off-CPU segment whose own cause is the stall's (own), else the longest
 * one an overlay relabeled (a timed-out wait of a lock chain says less than the
 * wait a sibling ended).
 */
static void stall_track(struct thr *t, uint64_t s, uint64_t e, int cat, const struct seg *g,
			bool own, bool gil)
{
	struct stall *cur = &t->cur;
	uint64_t len = e - s;

	if (cur->dur && (cat == CAT_COMPUTE ? len > MERGE_GAP_NS :
			 cur->cat != cat || s > cur->start + cur->dur + MERGE_GAP_NS)) {
		stall_push(t, cur);
		memset(cur, 0, sizeof(*cur));
		t->cur_longest = 0;
	}
	if (cat == CAT_COMPUTE)
		return;
	if (!cur->dur) {
		cur->start = s;
		cur->cat = (uint8_t)cat;
	}
	cur->dur = e - cur->start;
	cur->gil |= gil;
	if (g && g->kind == SEG_OFF &&
	    (g->end - g->start) + (own ? 1ull << 62 : 0) > t->cur_longest) {
		t->cur_longest = (g->end - g->start) + (own ? 1ull << 62 : 0);
		stall_evidence(cur, t, g);
	} else if (!cur->tid) {
		stall_evidence(cur, t, NULL);
	}
}

/* ------------------------------------------------------------------ accounting */

/* Consecutive collective_wait pieces make one wait for the other ranks (struct coll). */
static void coll_track(struct thr *t, uint64_t s, uint64_t e, const struct seg *g)
{
	struct coll *c = t->ncolls ? &t->colls[t->ncolls - 1] : NULL;
	uint64_t wake = g && g->kind == SEG_OFF ? g->wake : e;

	if (c && s <= t->coll_gap_end + COLL_GAP_NS) {
		if (wake > c->wake)
			c->wake = wake;
		if (g && g->peer)
			c->peer = g->peer;
	} else if (t->ncolls == COLLS_MAX) {
		t->colls_dropped++;
	} else {
		if (t->ncolls == t->capcolls) {
			uint32_t cap = t->capcolls ? 2 * t->capcolls : 64;
			struct coll *n = realloc(t->colls, sizeof(*n) * cap);

			if (!n) {
				t->colls_dropped++;
				t->coll_gap_end = e;
				return;
			}
			t->colls = n;
			t->capcolls = cap;
		}
		t->colls[t->ncolls++] = (struct coll){ .start = s, .wake = wake,
						      .peer = g ? g->peer : 0 };
	}
	t->coll_gap_end = e;
}

/* A file call that writes: its io_wait is a checkpoint's or a log's, not a read's. */
static bool io_writes(unsigned nr)
{
	return st_syscall_class(nr) & (ST_SYSC_WRITE | ST_SYSC_SYNC);
}

/* How a piece is accounted: besides its category. */
struct piece {
	bool wakelat;	/* runnable after a wakeup */
	bool preempted;	/* runnable, preempted (state R) */
	bool own;	/* its category is its segment's own, not an overlay's */
	bool gil;	/* a lock wait on CPython's GIL */
	bool team;	/* a lock wait at the barrier of intra-op threads (team_wait) */
	bool net;	/* an other_wait blocked in a call on a socket */
	bool io_write;	/* an io_wait that writes (OVF_WRITE) */
	bool in_dl;	/* under a loader overlay (a receipt, next()'s tail): in next() */
	bool coll;	/* after a collective_wait */
};

/*
 * The thread that ended a GIL wait held the GIL: its time in the user window, kept
 * for the few heaviest holders (a new one replaces the lightest, taking its time as
 * an upper bound, so a holder that stays heavy stays in).
 */
static void gil_credit(const struct an *a, struct thr *t, uint32_t holder, uint64_t s,
		       uint64_t e)
{
	struct gil_by *least = &t->gil_by[0];
	uint64_t lo = s < a->win_from ? a->win_from : s, hi = e > a->win_to ? a->win_to : e;
	uint32_t i;

	if (!holder || hi <= lo)
		return;
	for (i = 0; i < sizeof(t->gil_by) / sizeof(t->gil_by[0]); i++) {
		if (t->gil_by[i].tid == holder) {
			t->gil_by[i].ns += hi - lo;
			return;
		}
		if (t->gil_by[i].ns < least->ns)
			least = &t->gil_by[i];
	}
	least->tid = holder;
	least->ns += hi - lo;
}

/*
 * Adds [s, e) of category cat; no snapshot lies strictly inside.  Inlined in its one
 * caller: it runs for every piece of every segment, and its call's register saves
 * were a fifth of it.
 */
static inline __attribute__((always_inline)) void add(struct an *a, struct thr *t, uint64_t s,
							uint64_t e, int cat, const struct piece *pc,
							const uint64_t *wk, const struct seg *g)
{
	bool wakelat = pc->wakelat;

	t->cum.cat[cat] += e - s;
	if (pc->gil && cat == CAT_LOCK) {
		t->cum.gil += e - s;
		if (pc->in_dl || (g && (g->flags & SEG_IN_NEXT)))
			t->cum.gil_next += e - s;
		if (g)
			gil_credit(a, t, g->waker, s, e);
	}
	if (pc->team && cat == CAT_LOCK)
		t->cum.team += e - s;
	if (pc->net && cat == CAT_OTHER)
		t->cum.net += e - s;
	if (pc->io_write && cat == CAT_IO)
		t->cum.io_write += e - s;
	if (cat == CAT_DL && (wakelat || pc->preempted))
		t->cum.dl_runq += e - s;
	if (cat == CAT_CPU && wakelat && pc->coll)
		t->cum.coll_runq += e - s;
	if (g && g->kind == SEG_CPU) {
		t->cum.oncpu += e - s;
		/* its share of the time stolen from the segment */
		if (g->stolen)
			t->cum.stolen += (uint64_t)((double)g->stolen * (double)(e - s) /
						    (double)(g->end - g->start) + 0.5);
	}
	if (wakelat)
		t->cum.wakelat += e - s;
	if (wk)
		for (int i = 0; i < NWS; i++)
			t->cum.wk[i] += wk[i];
	if (t->tl)
		tl__add_span(&a->grid, t->tl, (unsigned)cat, s, e);
	if (t->flags & (TF_LOGGER | TF_LEADER)) {
		stall_track(t, s, e, cat, g, pc->own, pc->gil && cat == CAT_LOCK);
		if (cat == CAT_COLL)
			coll_track(t, s, e, g);
	}
	if (a->obs && a->obs->piece)
		a->obs->piece(a->obs->ctx, a, t, s, e, cat, g, wakelat);
	t->fin_until = e;
}

/* Per-piece share of a segment's worker-state sample: the last piece gets the rest. */
struct share {
	uint64_t left[NWS];
	uint64_t len_left;
	bool on;
};

static const uint64_t *take_share(struct share *sh, uint64_t len, uint64_t out[NWS])
{
	if (!sh || !sh->on)
		return NULL;
	for (int i = 0; i < NWS; i++) {
		out[i] = len >= sh->len_left ? sh->left[i] :
			 (uint64_t)((double)sh->left[i] * (double)len / (double)sh->len_left);
		sh->left[i] -= out[i];
	}
	sh->len_left = len >= sh->len_left ? 0 : sh->len_left - len;
	return out;
}

/* Counts launch markers up to ts (they are zero-length overlays). */
static void count_launches(struct thr *t, uint64_t ts)
{
	for (uint32_t i = 0; t->nlaunch && i < t->ovlen; i++) {
		struct ovl *o = o_at(t, i);

		if (o->s > ts)
			break;
		if (o->cat == OVL_LAUNCH && o->e != UINT64_MAX) {
			t->cum.launches++;
			t->nlaunch--;
			o->e = UINT64_MAX;	/* counted; dropped when it reaches the head */
		}
	}
}

/* Cuts [s, e) at every snapshot time inside it and accounts the pieces. */
static void account(struct an *a, struct thr *t, uint64_t s, uint64_t e, int cat,
		    const struct piece *pc, struct share *sh, const struct seg *g)
{
	uint64_t wk[NWS];
	struct snap *p;

	/* one call of add() for both kinds of piece: inlined once */
	for (;;) {
		bool snap = (p = next_pending(t)) && p->ts <= e;
		uint64_t to = snap ? p->ts : e;

		if (!snap || to > s)
			count_launches(t, to - 1);
		if (to > s) {
			add(a, t, s, to, cat, pc, take_share(sh, to - s, wk), g);
			s = to;
		}
		if (!snap)
			break;
		filled(t, p);
	}
}

static void drop_old_overlays(struct thr *t, uint64_t upto)
{
	/* a launch marker goes once counted (its end is then UINT64_MAX) */
	while (t->ovlen && (o_at(t, 0)->cat == OVL_LAUNCH ? o_at(t, 0)->e == UINT64_MAX :
			    o_at(t, 0)->e <= upto)) {
		t->ovhead = (t->ovhead + 1) & (t->ovcap - 1);
		t->ovlen--;
	}
}

/*
 * Overlay precedence: a collective call (a GPU sync inside it is the collective's)
 * beats a GPU sync, which beats receiving a batch, which beats a lock chain, which
 * beats file I/O.
 */
static int rank(int cat)
{
	return cat == CAT_COLL ? 5 : cat == CAT_GPU ? 4 : cat == CAT_DL ? 3 :
	       cat == CAT_LOCK ? 2 : cat == CAT_IO ? 1 : 0;
}

/*
 * Whether an overlay of category o relabels a piece of base category `base`.
 * Preempted inside a call the job itself times (a device sync, a batch's receipt, a
 * file call or checkpoint), the time is the call's, as the job and a profiler count
 * it; cpu_contention is preemption in the thread's own work.
 */
static bool applies(const struct ovl *o, int base, bool cpu)
{
	return base == CAT_CPU || o->cat == CAT_GPU || o->cat == CAT_COLL || cpu ||
	       (o->flags & OVF_ALL);
}

/*
 * The category at time c of a piece [c, e) with base category `base`, and the next
 * time it may change; *in_dl: a loader overlay covers c, whether it relabels the
 * piece or not (a lock wait inside a receipt stays a lock wait, in next()).
 * Overlays are sorted by start; *lo skips the prefix already over (pieces advance
 * monotonically), so a long segment crossed by many overlays costs linear time, not
 * quadratic.
 */
static int overlay_at(struct thr *t, uint64_t c, uint64_t e, int base, bool cpu, uint64_t *next,
		      uint32_t *lo, uint8_t *flags, bool *in_dl)
{
	int cat = base;

	*flags = 0;
	*in_dl = false;
	while (*lo < t->ovlen && o_at(t, *lo)->e <= c && o_at(t, *lo)->cat != OVL_LAUNCH)
		(*lo)++;
	*next = e;
	for (uint32_t i = *lo; i < t->ovlen; i++) {
		struct ovl *o = o_at(t, i);

		if (o->s >= e)
			break;
		if (o->cat == OVL_LAUNCH)
			continue;
		if (o->s > c) {
			if (o->s < *next)
				*next = o->s;
			break;	/* sorted by start: nothing later begins sooner */
		}
		if (o->e <= c)
			continue;
		if (o->e < *next)
			*next = o->e;
		*in_dl |= o->cat == CAT_DL;
		if (applies(o, base, cpu) && rank(o->cat) > (cat == base ? 0 : rank(cat))) {
			cat = o->cat;
			*flags = o->flags;
		}
	}
	return cat;
}

static void account_overlaid(struct an *a, struct thr *t, uint64_t s, uint64_t e, int base,
			     bool cpu, const struct piece *pc, struct share *sh, const struct seg *g)
{
	/* read once: the stores of each piece's accounts might otherwise be to *pc */
	const struct piece pc0 = *pc;
	uint32_t lo = 0;
	uint64_t next;
	uint8_t flags;
	bool in_dl;

	while (s < e) {
		int cat = overlay_at(t, s, e, base, cpu, &next, &lo, &flags, &in_dl);
		struct piece p = pc0;

		p.in_dl = in_dl;
		if (next <= s)
			next = e;
		if (cat != base) {
			p.own = false;
			p.gil = flags & OVF_GIL;
			p.io_write = flags & OVF_WRITE;
		}
		account(a, t, s, next, cat, &p, sh, g);
		s = next;
	}
}

/* ------------------------------------------------------------------ classification */

static bool is_gpu_fd(struct an *a, const struct seg *g)
{
	struct file *f;

	if (g->fdkind != ST_FD_CHR)
		return false;
	f = an__file(a, g->dev, g->ino, false);
	if (f && f->path != UINT32_MAX)
		return f->flags & FL_GPU_DEV;
	/* an unnamed character device blocking in ioctl: a driver wait, in practice a GPU */
	return g->nr == NR(ioctl);
}

static bool is_net_thread(struct an *a, uint32_t tid)
{
	struct thr *w = tid ? an__find_thread(a, tid) : NULL;

	return w && (w->flags & TF_NET);
}

/*
 * A process waits for other ranks when it is a rank of a distributed job (its
 * environment says so), or when its threads receive network traffic from a traced
 * process that is neither its ancestor nor its descendant (ranks started without
 * RANK in their environment); never for traffic from its own helpers (a logging
 * service it started).
 */
static bool coll_proc(struct an *a, const struct thr *t, uint32_t peer)
{
	struct proc *p = t->proc, *pp = peer ? an__find_proc(a, peer) : NULL;

	if (!p || (pp && (an__is_descendant(pp, p) || an__is_descendant(p, pp))))
		return false;
	return dist__is_rank(p) || (p->flags & PF_NET_PEERS) || (pp && dist__is_rank(pp));
}

/*
 * A wait for other ranks (docs/analysis.md, "Collective waits"): ended by network
 * traffic in a receive call, by a sibling that network traffic woke (or a sibling
 * that such a one woke: gloo's worker and receiving threads), or directly by a
 * thread of another rank (shared memory).
 */
static bool coll_wait(struct an *a, const struct thr *t, const struct seg *g, bool file)
{
	struct thr *w;

	if (file || g->state != ST_STATE_SLEEP)
		return false;
	switch (g->wrel) {
	case WREL_IRQ:
		return (g->flags & SEG_SOFTIRQ) && g->nr != SC_NONE &&
		       (st_syscall_class(g->nr) & ST_SYSC_RECV) && coll_proc(a, t, g->peer);
	case WREL_SIBLING:
		w = an__find_thread(a, g->waker);
		if (w && attr__is_relay(w))
			return false;
		return ((g->flags & SEG_NET) || is_net_thread(a, g->waker) ||
			is_net_thread(a, g->waker2)) && coll_proc(a, t, g->peer);
	case WREL_OTHER:
		/* a trace without interrupt context: loopback traffic from the sender */
		if ((g->flags & SEG_SOFTIRQ) && g->nr != SC_NONE &&
		    (st_syscall_class(g->nr) & ST_SYSC_RECV) && coll_proc(a, t, g->peer))
			return true;
		w = an__find_thread(a, g->waker);
		return w && t->proc && dist__is_rank(t->proc) && dist__is_rank(w->proc);
	default:
		return false;
	}
}

/* The key of an fd of a process (pid 0: of any process) in the fd maps. */
static uint64_t fd_key(uint32_t pid, uint32_t dev, uint64_t ino)
{
	uint64_t h = ((uint64_t)pid << 32 ^ dev) * 0x9e3779b97f4a7c15ull ^ ino * 0xc2b2ae3d27d4eb4full;

	return h ? h : 1;
}

/*
 * Blocked receiving on a pipe that workers write to the thread's process: waiting for
 * a batch, however the wait ended.  A loader's receive has a timeout (DataLoader
 * polls 5 s at a time, checks its workers are alive and polls again), so a worker
 * slower than that ends the call by a timer, not a wakeup.
 */
static bool batch_wait(struct an *a, const struct thr *t, const struct seg *g)
{
	return (g->flags & SEG_LOADER_POLL) ||
	       (g->fdkind == ST_FD_PIPE && (st_syscall_class(g->nr) & ST_SYSC_RECV) &&
		hmap_find(&a->feeder_fds, fd_key(t->pid, g->dev, g->ino)));
}

#define MP_STATUS_NS	5000000000ll	/* DataLoader's MP_STATUS_CHECK_INTERVAL: 5 s */

/*
 * A futex wait that timed out after DataLoader's MP_STATUS_CHECK_INTERVAL: with pin
 * memory the loop waits for a batch on the pin-memory thread's queue.Queue, 5 s at a
 * time (a condition's timed wait: an absolute timeout, so its length says it), checks
 * its workers are alive and waits again.  Each wait is on a new word (a condition
 * makes a lock per wait).  A user's DDP script in attach mode under load: two such
 * waits for a pool's first batch read as 10 s of other_wait, 62% of the window.
 */
static bool loader_futex(const struct st_ev_syscall *sc)
{
	return sc->b.nr == NR(futex) && sc->b.ret == -ETIMEDOUT && sc->b.dur >= MP_STATUS_NS &&
	       sc->b.dur < MP_STATUS_NS + MP_STATUS_NS / 10;
}

/*
 * A receive by a Python process on a pipe with DataLoader's timeout, while a worker
 * it started lives (one of its children that runs its code, an__launched): the
 * loader's poll of its result queue, before any worker wrote to it.  Workers slow to
 * start (spawned: each imports torch first; under load 5 s and more) end the first
 * poll by its timeout: it is the wait for the first batch, not an unknown wait.  So
 * is such a futex wait (loader_futex), with any worker alive, forked in the trace or
 * not.
 */
static bool loader_poll(struct an *a, const struct thr *t, const struct st_ev_syscall *sc)
{
	uint64_t k, v;
	if (!t->proc || !an__is_python(t->proc))
		return false;
	if (!loader_futex(sc) &&
	    (!(sc->present & ST_SC_FD) || sc->fd.kind != ST_FD_PIPE ||
	     !(st_syscall_class(sc->b.nr) & ST_SYSC_RECV) || !(sc->present & ST_SC_TIMEOUT) ||
	     sc->timeout != MP_STATUS_NS || !(t->proc->flags & PF_FORKS)))
		return false;
	for (size_t i = 0; hmap_iter(&a->procs, &i, &k, &v);) {
		const struct proc *q = (const struct proc *)(uintptr_t)v;

		if (q->parent == t->proc && !an__launched(q) && !(q->flags & PF_EXITED))
			return true;
	}
	return false;
}

/* The cause of an off-CPU segment (docs/analysis.md has the table). */
int attr__classify(struct an *a, const struct thr *t, const struct seg *g)
{
	bool has_sc = g->nr != SC_NONE;
	bool file = has_sc && attr__file_call(g->nr, g->fdkind != ST_FD_UNKNOWN || g->ino, g->fdkind);
	struct thr *w;

	if (g->state == ST_STATE_RUNNING)
		return CAT_CPU;
	if (has_sc && is_gpu_fd(a, g))
		return CAT_GPU;
	if (g->wrel != WREL_CHILD && g->wrel != WREL_RELAY && coll_wait(a, t, g, file))
		return CAT_COLL;
	/*
	 * A wait for a connection is a server's, whoever connects: a process that puts
	 * tensors into a queue (a checkpoint writer's) shares their fds through its
	 * resource sharer, a thread of its own that accepts the reader's fetches.  A
	 * child's connection is no batch: attached to such a job, the listener waited for
	 * the data loader all the window, outscored the loop and was taken for it.
	 */
	if (has_sc && (g->nr == NR(accept) || g->nr == NR(accept4)))
		return CAT_OTHER;
	switch (g->wrel) {
	case WREL_CHILD:
	case WREL_RELAY:
		return CAT_DL;
	case WREL_SIBLING:
		w = an__find_thread(a, g->waker);
		/*
		 * A relay; or a queue feeder of the loader (the GIL or its queue's lock)
		 * while t was in next(): past it, the job's step waits on the GIL.
		 */
		if (w && !file && (attr__is_relay(w) ||
				   ((w->flags & TF_FEEDER) && (g->flags & SEG_IN_NEXT))))
			return CAT_DL;
		return file ? CAT_IO : CAT_LOCK;
	default:
		break;
	}
	if (has_sc && batch_wait(a, t, g))
		return CAT_DL;
	if (file)
		return CAT_IO;
	if (g->state == ST_STATE_DISK && (!has_sc || g->fdkind == ST_FD_UNKNOWN))
		return CAT_IO;	/* a page fault on a mapped file, or an fd-less disk wait */
	return CAT_OTHER;
}

static bool gpu_hold(struct an *a, const struct thr *t)
{
	return a->have_gpu_probes || (t->proc && (t->proc->flags & PF_GPU_PROBES));
}

/*
 * A thread of an intra-op team (PyTorch's OpenMP threads: torch.set_num_threads): it
 * blocks on plain futex words only (libgomp's barriers), never on a condition or a
 * semaphore, as every thread that runs Python does for the GIL whenever another holds
 * it.
 */
static bool team_thread(const struct thr *w)
{
	return w && (w->flags & TF_TEAM) == TF_PLAIN_WAIT && !(w->flags & (TF_LEADER | TF_FEEDER)) &&
	       !attr__is_relay(w);
}

/*
 * A futex wait that a thread of an intra-op team ended: the waiter ran its share of
 * an op and waited at the team's barrier for theirs (they were slower: they waited for
 * a CPU, or the op split unevenly).  A lock wait (a sibling ended it), but none on the
 * GIL: a user's script with torch.set_num_threads(2) on 2 busy CPUs had 0.12 of its
 * window "waiting for CPython's GIL, held most by" its OpenMP thread.
 */
static bool team_wait(struct an *a, const struct seg *g)
{
	return g->nr == NR(futex) && g->waker && team_thread(an__find_thread(a, g->waker));
}

/*
 * A futex wait of a CPython thread that a sibling ended while its siblings ran (or
 * waited for a CPU) most of the time: the GIL.  A thread blocked on anything else
 * holds nothing the waiter could want.
 */
static bool gil_wait(const struct thr *t, const struct seg *g)
{
	return g->nr == NR(futex) && !(g->flags & SEG_FX_OTHER) && an__is_python(t->proc) &&
	       2 * g->act >= g->wake - g->start;
}

#define HANDOFF_NS	1000000ull	/* a futex wait this short, a sibling's wake: a handoff */

/*
 * A loader's wait outside next() that a futex ended within HANDOFF_NS: the relay (a
 * pin-memory thread) or a feeder handing the GIL back during the step's own work.
 * The time runnable after it is a wait for a CPU, not time in next().
 */
static bool handoff(const struct seg *g, int cat)
{
	return cat == CAT_DL && !(g->flags & SEG_IN_NEXT) && g->nr == NR(futex) &&
	       g->wake - g->start < HANDOFF_NS;
}

static void finalize_seg(struct an *a, struct thr *t, const struct seg *g)
{
	struct piece pc = { .own = true };
	struct share sh = { .on = false };
	struct seg c = *g;
	int cat;

	/* overlapping records (drops, disorder): never account time twice */
	if (c.end <= t->fin_until)
		return;
	if (c.start < t->fin_until)
		c.start = t->fin_until;
	if (c.wake < c.start)
		c.wake = c.start;
	g = &c;
	if (g->kind == SEG_CPU) {
		account_overlaid(a, t, g->start, g->end, CAT_COMPUTE, true, &pc, NULL, g);
		return;
	}
	cat = attr__classify(a, t, g);
	if (cat == CAT_CPU) {
		pc.preempted = true;
		account_overlaid(a, t, g->start, g->end, CAT_CPU, false, &pc, NULL, g);
		return;
	}
	pc.team = cat == CAT_LOCK && team_wait(a, g);
	pc.gil = cat == CAT_LOCK && !pc.team && gil_wait(t, g);
	pc.net = cat == CAT_OTHER && g->fdkind == ST_FD_SOCK;
	pc.io_write = cat == CAT_IO && g->nr != SC_NONE && io_writes(g->nr);
	if (cat == CAT_DL && (g->wk[0] | g->wk[1] | g->wk[2] | g->wk[3])) {
		memcpy(sh.left, g->wk, sizeof(sh.left));
		sh.len_left = g->end - g->start;
		sh.on = true;
	}
	account_overlaid(a, t, g->start, g->wake, cat, false, &pc, &sh, g);
	/*
	 * Runnable after the wakeup: still the wait's (the latency after a disk wait is
	 * part of fetching), except after a collective: the other ranks were there, the
	 * rank waited for a CPU.
	 */
	pc.wakelat = true;
	pc.coll = cat == CAT_COLL;
	account_overlaid(a, t, g->wake, g->end, cat == CAT_COLL || handoff(g, cat) ? CAT_CPU : cat,
			 false, &pc, &sh, g);
}

static bool tail_late(const struct thr *t, uint64_t ts);

/* Inlined in attr__finalize(): asked once or more a record, mostly to wait on. */
static inline __attribute__((always_inline)) bool ready(struct an *a, struct thr *t,
							 const struct seg *g)
{
	uint64_t lag = a->now > g->end ? a->now - g->end : 0;

	if (t->qlen > QUEUE_MAX)
		return true;
	/* its call's record may come yet: first, as it is mostly what a segment waits for */
	if (g->end > t->sc_horizon && lag <= SC_HOLD_NS)
		return false;
	if (gpu_hold(a, t) && lag < PROBE_HOLD_NS)
		return false;
	/* a futex wait chain may turn it into a lock wait */
	if (t->fx_open && g->end > t->fx_start && lag < CHAIN_HOLD_NS)
		return false;
	/* a GIL wait that a batch's receive may follow in next() (lock_waited) */
	if (t->gl_end && g->end <= t->gl_end && lag < RX_HOLD_NS &&
	    attr__cpu_at(t, a->now) <= t->gl_cpu + NEXT_GIL_CPU_NS)
		return false;
	/* a free of the previous batch may still end next() past this (tail_late) */
	if (g->end > t->last_take && tail_late(t, a->now) && lag < RX_HOLD_NS)
		return false;
	/*
	 * A batch received and not taken yet, or an epoch's tail: its take (a step
	 * boundary, a snapshot) may lie before the time that comes next.
	 */
	if (t->pending && (t->rx_open || t->tail_from) && lag < RX_HOLD_NS &&
	    g->end > (t->rx_open ? t->rx_end : t->tail_from))
		return false;
	return true;
}

void attr__finalize(struct an *a, struct thr *t, bool all)
{
	while (t->qlen && (all || ready(a, t, q_at(t, 0)))) {
		/* given back, not copied: finalize_seg() copies it before anything can push */
		struct seg *g = q_at(t, 0);

		t->qhead = (t->qhead + 1) & (t->qcap - 1);
		t->qlen--;
		t->qseq++;
		finalize_seg(a, t, g);
		drop_old_overlays(t, t->fin_until);
	}
	if (all && t->cur.dur) {
		stall_push(t, &t->cur);
		memset(&t->cur, 0, sizeof(t->cur));
		t->cur_longest = 0;
	}
}

/* ------------------------------------------------------------------ segments */

static struct seg *new_seg(struct thr *t, uint8_t kind, uint64_t start, uint64_t end)
{
	/* copied, not memset(): for this size that compiles to a slow `rep stos` */
	static const struct seg zero;
	struct seg *g;

	if (end <= start || !(g = q_push(t)))
		return NULL;
	*g = zero;
	g->kind = kind;
	g->start = start;
	g->end = g->wake = end;
	g->nr = SC_NONE;
	if (kind == SEG_OFF)
		unc_push(t);
	return g;
}

void attr__close_cpu(struct an *a, struct thr *t, uint64_t end)
{
	uint64_t s = t->since < t->fin_until ? t->fin_until : t->since;
	struct seg *g;

	if (end > s) {
		t->slices[t->nslices++ % CPU_SLICES] = (struct cpu_slice){ s, end, t->oncpu };
		if ((t->flags & TF_LOGGER) &&
		    (t->hist || (t->hist = malloc(CPU_HIST * sizeof(*t->hist)))))
			t->hist[t->nhist++ % CPU_HIST] = (struct cpu_slice){ s, end, t->oncpu };
		t->oncpu += end - s;
	}
	g = new_seg(t, SEG_CPU, s, end);
	/* what the switch out said was stolen since the thread came in: this segment */
	if (g)
		g->stolen = t->stolen < end - s ? t->stolen : end - s;
	t->stolen = 0;
	attr__finalize(a, t, false);
}

static bool in_next(const struct thr *t, uint64_t ts);

void attr__close_off(struct an *a, struct thr *t, uint64_t end)
{
	uint64_t s = t->since < t->fin_until ? t->fin_until : t->since;
	struct seg *g = new_seg(t, SEG_OFF, s, end);
	struct proc *p = t->proc;

	if (g) {
		g->wake = t->wake_ts && t->wake_ts >= s && t->wake_ts <= end ? t->wake_ts : end;
		g->state = t->off_state;
		g->wrel = t->wrel;
		g->waker = t->waker;
		g->waker2 = t->waker2;
		if (in_next(t, s))
			g->flags |= SEG_IN_NEXT;
		if (t->wake_ts) {
			g->flags |= t->wake_flags;
			g->peer = t->peer;
		}
		if (p) {
			g->act0 = t->act_out;
			g->act = wk__active(p, end) - t->act_out;
		}
		/* any wait may be the loader's (one that timed out on a batch pipe too) */
		if (t->wk_out_valid && p) {
			uint64_t cum[NWS];

			wk__flush_sub(p, end);
			wk__loader_cum(p, cum);
			/* a file call's time moved to storage may have been before */
			for (int i = 0; i < NWS; i++)
				g->wk[i] = cum[i] > t->wk_out[i] ? cum[i] - t->wk_out[i] : 0;
		}
	}
	t->wk_out_valid = false;
	attr__finalize(a, t, false);
}

/* ------------------------------------------------------------------ records */

/*
 * Whether only another task can end a sleep in this syscall: a read that got data
 * (or EOF) from a pipe, a futex wait without a timeout that was woken.  (A timed one
 * that returns 0 may have been woken by its timer first, then handed the futex by a
 * wake that found it runnable: its wakeup is the timer's interrupt.)
 */
static bool task_woken(const struct st_ev_syscall *sc)
{
	unsigned nr = sc->b.nr;

	if (nr == NR(futex))
		return (sc->present & ST_SC_FUTEX) && sc->b.ret == 0 &&
		       ((sc->futex.op & 0x7f) == 0 || (sc->futex.op & 0x7f) == 9) &&
		       !((sc->present & ST_SC_TIMEOUT) && sc->timeout >= 0);
	return (nr == NR(read) || nr == NR(readv)) && sc->b.ret >= 0 &&
	       (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_PIPE;
}

/* The off-CPU segments a syscall covered: the first and the last one. */
struct covered {
	struct seg *first, *last;
};

/*
 * CPython's GIL is a condition variable its waiters wait on with a timeout (the
 * switch interval, 5 ms), its mutex next to it (glibc: the condition's futex words,
 * then the mutex's lock word, 48 bytes in), then the condition and mutex a thread
 * that dropped it waits on until another took it (FORCE_SWITCHING): 0x58 and 0x60
 * past the first word.  Learnt from the first timed condition wait of the process
 * that timed out and then released its mutex (futex_chain: fx_cond); a futex wait on
 * any other word is no GIL wait, whoever ends it.  A loop fed by a thread of its own
 * (a threaded prefetcher: queue.get() on a Python lock, a semaphore) waited 0.70 s
 * for it and 0.11 s for the GIL, all of it read as "waiting for CPython's GIL".
 */
#define GIL_TMO_MAX_NS	20000000ull	/* the switch interval (5 ms) and then some; a C++
					 * thread's timed waits (watchdogs) are longer */
#define GIL_SPAN_BELOW	0x10
#define GIL_SPAN_ABOVE	0x68

/* uaddr is word w's, or of the block around it (a condition's words, its mutex) */
static bool near_word(uint64_t uaddr, uint64_t w)
{
	return uaddr + GIL_SPAN_BELOW >= w && uaddr <= w + GIL_SPAN_ABOVE;
}

static bool not_gil(const struct thr *t, uint64_t uaddr)
{
	uint64_t w = t->proc ? t->proc->gil_word : 0;

	return w && !near_word(uaddr, w);
}

/*
 * Futex words of no condition variable or mutex: a Python lock's or semaphore's
 * (glibc's sem_wait: FUTEX_WAIT_BITSET on CLOCK_REALTIME).  The others' words are
 * those waited on otherwise: a monotonic FUTEX_WAIT_BITSET (pthread_cond_wait and
 * _timedwait), FUTEX_WAIT (a mutex, a condition's group switch, libgomp's barriers):
 * the GIL's among them, whose waiters seldom time out where its holder drops it
 * often, so gil_word may never be learnt.  The most waited on are kept (tw_note).
 *
 * A wait on such a lock is no GIL wait: a loop fed by a thread of its own (a
 * background prefetcher) that waits in queue.get() 0.37 of its window read as
 * "waiting for CPython's GIL" where the GIL was never learnt.  And a lock handed over
 * (a wake that woke its waiter, a wait a wake ended) marks a step of such a loop: its
 * get() wakes the loader blocked in put() on a full queue, or waits for the loader's
 * put() on an empty one, once a step, where the GIL's hand-offs come any number of
 * times (attr__fx_handoff).
 */
static bool futex_wait_op(const struct st_ev_syscall *sc);

#define TW_KNOWN	4
#define TW_WORDS	(sizeof(((struct proc *)0)->tw_word) / sizeof(uint64_t))

static void tw_note(struct thr *t, const struct st_ev_syscall *sc)
{
	struct proc *p = t->proc;
	uint32_t i, least = 0;

	if (!p || !futex_wait_op(sc) || ((sc->futex.op & 0x7f) == 9 &&
					 (sc->futex.op & FUTEX_CLOCK_REALTIME_)))
		return;
	for (i = 0; i < p->ntw; i++) {
		if (p->tw_word[i] == sc->futex.uaddr) {
			p->tw_n[i]++;
			return;
		}
		if (p->tw_n[i] < p->tw_n[least])
			least = i;
	}
	if (p->ntw < TW_WORDS)
		least = p->ntw++;
	p->tw_word[least] = sc->futex.uaddr;
	p->tw_n[least] = 1;
}

static bool fx_no_cond(const struct proc *p, uint64_t uaddr)
{
	uint32_t most = 0;

	if (!p || (p->gil_word && near_word(uaddr, p->gil_word)))
		return false;
	for (uint32_t i = 0; i < p->ntw; i++) {
		if (near_word(uaddr, p->tw_word[i]))
			return false;
		most = p->tw_n[i] > most ? p->tw_n[i] : most;
	}
	/* the GIL's words are known once waited on a few times (a lock's timed wait,
	 * the same call, is one of them until then) */
	return p->gil_word || most >= TW_KNOWN;
}

static bool fx_lock_wait(const struct thr *t, const struct st_ev_syscall *sc)
{
	return py_lock_wait(t, sc) && fx_no_cond(t->proc, sc->futex.uaddr);
}

bool attr__fx_handoff(const struct thr *t, const struct st_ev_syscall *sc)
{
	if (sc->b.nr != NR(futex) || !(sc->present & ST_SC_FUTEX))
		return false;
	if ((sc->futex.op & 0x7f) == 1)
		return sc->b.ret > 0 && fx_no_cond(t->proc, sc->futex.uaddr);
	return sc->b.ret == 0 && fx_lock_wait(t, sc);
}

/* Gives the syscall's identity to the off-CPU segments it covers. */
static void cover(struct an *a, struct thr *t, const struct st_event *ev, uint64_t s, uint64_t e,
		  struct covered *cv)
{
	const struct st_ev_syscall *sc = &ev->sc;
	bool has_fd = sc->present & ST_SC_FD, by_task = task_woken(sc), lp = false;
	uint32_t hi, i;

	/*
	 * Only the OFF segments no syscall covered yet, from the last that starts by the
	 * end of this one back to its start: each is visited once, when it is covered.
	 */
	cv->first = cv->last = NULL;
	unc_trim(t);
	hi = unc_upto(t, e);
	for (i = hi; i > 0; i--) {
		struct seg *g = seg_of(t, t->unc[t->unc_off + i - 1]);

		if (g->end <= s)
			break;
		if (!cv->last)
			cv->last = g;
		cv->first = g;
		if (g == cv->last && g->wrel != WREL_CHILD && g->wrel != WREL_RELAY)
			lp = loader_poll(a, t, sc);
		g->flags |= SEG_SC_SET | (lp ? SEG_LOADER_POLL : 0);
		g->nr = sc->b.nr;
		/* a receive call that network traffic ended: t receives for its process */
		if ((g->flags & SEG_SOFTIRQ) && (st_syscall_class(g->nr) & ST_SYSC_RECV) &&
		    ++t->net_wakes >= NET_MIN)
			t->flags |= TF_NET;
		if (by_task && g->state == ST_STATE_SLEEP && g->wrel != WREL_NONE) {
			a->task_wakes++;
			a->task_wakes_irq += g->wrel == WREL_IRQ;
		}
		if (has_fd) {
			g->fdkind = sc->fd.kind;
			g->dev = sc->fd.dev;
			g->ino = sc->fd.ino;
		}
		if ((sc->present & ST_SC_FUTEX) &&
		    (not_gil(t, sc->futex.uaddr) || fx_lock_wait(t, sc)))
			g->flags |= SEG_FX_OTHER;
		/* a batch came through this fd: reads on it are arrivals from now on */
		/*
		 * Pipes only: a worker also wakes the thread on the sockets that pass a
		 * batch's shared-memory fds, one new socket per tensor, not per batch.
		 */
		if (has_fd && sc->fd.kind == ST_FD_PIPE && (g->wrel == WREL_RELAY ||
		    (g->wrel == WREL_CHILD && an__worker_woke(a, t, g->waker, 0)))) {
			uint64_t *v = hmap_slot(&a->feeder_fds, fd_key(t->pid, sc->fd.dev, sc->fd.ino));

			if (v)
				*v = 1;
		}
	}
	unc_remove(t, i, hi);
}

static bool shared_with_child(struct an *a, const struct thr *t, const struct st_ev_syscall *sc);

/*
 * A thread writes a message into a pipe its own process receives batches on (key, its
 * fd_key; feeder: known to carry batches to it; shared: else, shared with a child): no
 * batch, and its reading is no arrival.  DataLoader's shutdown of a pool puts
 * (None, None) on the workers' result queue to wake its pin-memory thread (a relay),
 * which read it as one more batch for the loop (pt_ep_pin, pools re-created each
 * epoch: one more step per epoch).  In attach mode, before a worker wrote it in the
 * trace, such a pipe is only known to be shared with the workers (a user's script
 * attached in the tail of an epoch, the pool shut down: the message was credited to
 * the loop as a batch, and the loop's shutdown puts took 10 batches for 4).
 */
static void self_msg_write(struct an *a, uint64_t key, bool feeder, bool shared,
			   const struct st_ev_syscall *sc)
{
	uint64_t *v;

	/* how many are in the pipe (low 32 bits), and the last one's size */
	if ((feeder || shared) && (v = hmap_slot(&a->self_msgs, key)))
		*v = ((uint64_t)(uint32_t)sc->b.ret << 32) | (uint32_t)(*v + 1);
}

/*
 * t's read sc of a batch pipe: a message its process wrote itself (its header, then
 * its body), one of the size it wrote (multiprocessing writes a small message, header
 * and body, in one call).  A batch a worker wrote just before it is read first: a
 * body of another size is that batch's, and the own message is still to come.
 */
static bool self_msg_read(struct an *a, struct thr *t, const struct st_ev_syscall *sc)
{
	uint64_t *v = hmap_find(&a->self_msgs, fd_key(t->pid, sc->fd.dev, sc->fd.ino));
	bool read = sc->b.nr == NR(read) || sc->b.nr == NR(readv);
	uint64_t size = v ? *v >> 32 : 0;

	if (read && t->self_body == sc->fd.ino) {
		t->self_body = 0;
		if (!size || (uint64_t)sc->b.ret + 4 == size)
			return true;
		(*v)++;	/* a batch's body: its header was no own message's */
		return false;
	}
	if (!read || !v || !(uint32_t)*v)
		return false;
	if (sc->b.ret == 4)
		t->self_body = sc->fd.ino;
	else if (size && (uint64_t)sc->b.ret != size)
		return false;
	(*v)--;
	return true;
}

static bool is_write_syscall(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_WRITE;
}

/* Marks a worker's pipe in a map of its ancestors' pipes (pid, dev, ino). */
static void ancestors_pipe(struct an *a, struct hmap *m, struct thr *t,
			   const struct st_ev_syscall *sc)
{
	int depth = 0;

	/* up to a launched program: what it writes or reads is its parent's I/O, not batches */
	for (struct proc *c = t->proc, *q = c ? c->parent : NULL;
	     q && depth < 8 && !an__launched(c); c = q, q = q->parent, depth++) {
		uint64_t *v = hmap_slot(m, fd_key(q->pid, sc->fd.dev, sc->fd.ino));
		struct thr *f;

		if (!v)
			continue;
		/* a helper thread that wrote it before (index_write) is a queue feeder */
		if (!(*v & 1) && (f = an__find_thread(a, (uint32_t)(*v >> 1))) && f->pid == q->pid)
			f->flags |= TF_FEEDER;
		/* another worker read its tasks from it: one queue for all (queue_unput) */
		if (m == &a->task_fds && (*v & 1) && (uint32_t)(*v >> 1) != t->pid)
			q->flags |= PF_TASKQ;
		/* known, and the worker that reads it (loader_switch) */
		*v = (uint64_t)t->pid << 1 | 1;
	}
}

/*
 * Attach: a pool that began before the trace (its process forked no worker in it) has
 * a feeder per worker, and each one's first write in the trace goes to a pipe not
 * known yet (its worker has not read it since).  Where the thread that woke the
 * writer took, or is receiving, a batch, that write is its put: pt_ep_w4_pf2_pers
 * attach under load lost it, its take came at the receipt's end, the next put was
 * absorbed as that take's own and the receipt after it began a false epoch's tail
 * (3 steps lost).  So is a write where that thread, before its pool's first epoch
 * ended in the trace, had nothing pending: it took a batch received before the trace
 * (before_trace), from its cache (pt_ep_w4_pf2_pers attached in a clean clone's CI:
 * 114 steps for 118, 115 with this).  A new iterator's first writes (run mode: its
 * process forks its workers) stay none, and so do a thread's later writes to such
 * pipes: a feeder's pipe is known once its worker reads it, and a thread that writes
 * elsewhere (a log to a pipe) may make one false put at most.
 */
static void unknown_put(struct an *a, struct thr *f, uint64_t e)
{
	struct proc *p = f->proc;
	bool first = !(f->flags & TF_PIPE_WROTE);

	f->flags |= TF_PIPE_WROTE;
	if (!first || (f->flags & TF_LEADER) || !p || (p->flags & PF_FORKS) || !f->last_waker)
		return;
	for (uint32_t i = 0; i < p->nloggers; i++) {
		struct thr *w = p->loggers[i];

		if (w->tid == f->last_waker && (w->pending || w->rx_open || before_trace(w))) {
			w->put_feeder = f->tid;
			feeder_send(a, w, e);
			return;
		}
	}
}

static void index_write(struct an *a, struct thr *t, uint64_t key, bool feeder, bool shared,
			uint64_t e)
{
	struct proc *p = t->proc;
	uint32_t waker;
	uint64_t *v = hmap_find(&a->task_fds, key);

	/*
	 * A message on a pipe its process receives batches on (its workers write it) is no
	 * index: a pool's shutdown puts (None, None) on the result queue to stop its
	 * pin-memory thread (self_msg_write).  In attach mode that pipe is shared with the
	 * workers like an index pipe, and the write was taken as the loop's put (a user's
	 * script attached in the middle of training: a put with the last epoch's 9 batches
	 * pending took one there, and the tail's other 8 were placed at the shutdown).
	 */
	if (feeder)
		return;
	waker = t->sib_waker;
	t->sib_waker = 0;
	/* its loader, once a worker read it and wrote a batch (put_loader) */
	t->feeds_key = key;
	/* attach: before a worker reads it, a pipe shared with a descendant (FD records) */
	if (!(v && (*v & 1)) && !shared) {
		/*
		 * Not known yet (a new iterator's first indices, written before its
		 * worker reads them): a helper thread that wrote it is a feeder once a
		 * worker reads it (ancestors_pipe), before its next write (its next put's
		 * wake comes first).
		 */
		if (!(t->flags & TF_LEADER) && (v || (v = hmap_slot(&a->task_fds, key))))
			*v = (uint64_t)t->tid << 1;
		unknown_put(a, t, e);
		return;
	}
	/* the process's first thread sends itself (trainsim); helper threads feed */
	if (t->flags & TF_LEADER) {
		t->put_feeder = 0;
		attr__send(a, t, e);
		return;
	}
	t->flags |= TF_FEEDER;
	/* the write of the put that woke it */
	if (t->put_open) {
		t->put_open = false;
		return;
	}
	/*
	 * A feeder's first write in the trace (attach), woken by the loop since the
	 * trace began: that wake was the put, not taken as one (the thread was not known
	 * as a feeder), the write came after the feeder's wait for the GIL.  Its time is
	 * past (the loop's calls since are read), but the put's CPU is that wake's: the
	 * next put is not back to back with it (pt_pin attached in a clean clone's CI:
	 * a put seen at its feeder's write 1.7 ms late, the next step's put 0.07 ms
	 * after that write, read as a new iterator's: an epoch's end, 97 steps for 100).
	 */
	for (uint32_t i = 0; p && i < p->nloggers; i++) {
		p->loggers[i]->put_feeder = t->tid;
		if (waker == p->loggers[i]->tid)
			p->loggers[i]->late_cpu = t->sib_wake_cpu;
		feeder_send(a, p->loggers[i], e);
		/* (for this write's put only: put_rules) */
		p->loggers[i]->late_cpu = 0;
	}
}

/*
 * Attach: a pipe already open in several processes.  Which one carries batches is
 * seen only when a worker next writes it; until then, a pipe the reader shares with
 * one of its descendants is one.
 */
void attr__fd(struct an *a, const struct st_event *ev)
{
	uint64_t key = fd_key(0, ev->fd.dev, ev->fd.ino), *v;
	struct pipe_holders *h;

	/*
	 * A loader's queues are anonymous pipes; a named FIFO is something else's, and so
	 * is a pipe on a standard stream: the job's output (`python train.py 2>&1 | tee
	 * log`), which its workers inherit.  Taken as shared with them, a progress line
	 * the loop wrote there each step was a put: a user's script attached, 200 steps
	 * for 100.
	 */
	if (ev->fd.kind != ST_FD_PIPE || !ev->str || strncmp(ev->str, "pipe:[", 6) ||
	    (ev->fd.fd >= 0 && ev->fd.fd <= 2))
		return;
	if (!(v = hmap_find(&a->pipe_idx, key))) {
		if (a->npipes == a->cappipes) {
			uint32_t cap = a->cappipes ? 2 * a->cappipes : 64;

			if (!(h = realloc(a->pipes, sizeof(*h) * cap)))
				return;
			a->pipes = h;
			a->cappipes = cap;
		}
		if (!(v = hmap_slot(&a->pipe_idx, key)))
			return;
		memset(&a->pipes[a->npipes], 0, sizeof(a->pipes[0]));
		*v = ++a->npipes;
	}
	h = &a->pipes[*v - 1];
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		if (h->pid[i] == ev->fd.pid)
			return;
		if (!h->pid[i]) {
			h->pid[i] = ev->fd.pid;
			return;
		}
	}
}

static bool shared_with_child(struct an *a, const struct thr *t, const struct st_ev_syscall *sc)
{
	uint64_t *v = a->npipes ? hmap_find(&a->pipe_idx, fd_key(0, sc->fd.dev, sc->fd.ino)) : NULL;
	const struct pipe_holders *h = v ? &a->pipes[*v - 1] : NULL;
	bool mine = false, child = false;

	for (int i = 0; h && i < PIPE_HOLDERS && h->pid[i]; i++) {
		struct proc *q = an__find_proc(a, h->pid[i]);

		mine |= h->pid[i] == t->pid;
		child |= q && t->proc && an__is_worker(q, t->proc);
	}
	return mine && child;
}

static bool is_ipc(const struct st_ev_syscall *sc)
{
	return (sc->present & ST_SC_FD) &&
	       (sc->fd.kind == ST_FD_PIPE || sc->fd.kind == ST_FD_SOCK);
}

/*
 * next()'s own code after its take (the index put) up to its return: the job's
 * first call after next() returned came a median 86-114 us of CPU after the put in
 * the reference jobs (p90 120-150), the job's own timing code included.  Its own
 * calls there (next_own_call) continue it: the GIL handed to and back from the
 * feeder its put woke, the previous batch's tensors freed as the new one is bound
 * (pt_ep_w4_pf2_pers at rest: 54 ms of next() waiting for the GIL back 131-208 us
 * of CPU after the put, after two frees); a call of any other kind ends it.
 */
#define NEXT_TAIL_NS	100000ull
#define NEXT_TAIL_MAX_NS 400000ull	/* however many own calls continue it */

/*
 * A loader whose next() runs code of its own around its receive and its take:
 * CPython's (DataLoader's __next__, unpickling).  A C loop's loader call is the
 * receive itself: a preemption next to it is its own work's.
 */
static bool next_code(const struct thr *t)
{
	return t->proc && an__is_python(t->proc);
}

/*
 * Within NEXT_TAIL_NS of CPU after its last take, or after an own call of next()'s
 * since, at ts (and no other call came between): t is still in next().
 */
static bool in_next_tail(const struct thr *t, uint64_t ts)
{
	uint64_t cpu = attr__cpu_at(t, ts);

	return t->takes && next_code(t) && !t->tail_off && cpu <= t->tail_cpu + NEXT_TAIL_NS &&
	       cpu <= t->take_cpu + t->tail_own + NEXT_TAIL_MAX_NS;
}

#define NEXT_FREE_MAX_NS 2000000ull	/* the previous batch's free after the take, at most */

/*
 * Past the tail's bound at ts, but with only next()'s own calls since the take and
 * within NEXT_FREE_MAX_NS of CPU of it: a free of the previous batch may still come.
 * Under load the frees came 0.4-0.65 ms of CPU after the put (pt_wk_sleep, the chain's
 * run 1: the GIL handed to the feeder and back, preempted between), where the tail's
 * bound is 400 us.
 */
static bool tail_late(const struct thr *t, uint64_t ts)
{
	return t->takes && next_code(t) && !t->tail_off &&
	       attr__cpu_at(t, ts) <= t->take_cpu + t->tail_own + NEXT_FREE_MAX_NS;
}

/* A call next() makes after its take: a futex (the GIL, a queue's lock), a free. */
static bool next_own_call(unsigned nr)
{
	return st_syscall_class(nr) & (ST_SYSC_FUTEX | ST_SYSC_CLOSE | ST_SYSC_UNMAP);
}

/*
 * In an epoch's tail (no index left to put), a batch the loop kept (it came before its
 * turn) is taken with no call; but the loop binds it and frees the one before: sc at s
 * unmaps memory past the last take's tail, whose free was seen already.  A user's
 * spawn-context loop: a next() read two batches, the one due second, and the next
 * next() took the first from the cache, seen only by that free 1 ms of CPU later;
 * spread over the tail, it was placed 3 ms before the receipt that read it, or 10 ms
 * after it where it was the tail's first.  In a tail (tail_from) that free is the
 * take; before one is known, it is kept (kept_free) until a receipt with no put shows
 * the tail (receipt_timeout): a free in a step's compute (a model's large buffer)
 * within an epoch is followed by next()'s put, which takes the kept batch.  Not where
 * loaders are zipped, nor after a new iterator's puts (rx_freed).
 */
static bool tail_free(const struct thr *t, const struct st_ev_syscall *sc, uint64_t s)
{
	return !t->rx_open && free_takes(t, sc) && t->tail_freed && !t->held_put &&
	       s > t->last_take && !in_next_tail(t, s);
}

/*
 * t's call s .. e after its last take: an own call continues next()'s tail.  A free
 * there is the previous batch's, released as the new one is bound: the tail up to its
 * end is next()'s, as the job measures it, and its own time on CPU does not count
 * against the tail's bound (two munmaps of 0.36 ms each at rest, 0.02-0.04 of the
 * job's window in next() read as compute before).  A futex continues the tail, but
 * only the waits and preemptions in it are next()'s: a loop's step may start with
 * futex calls of its own (an intra-op thread pool's).
 */
static void next_tail_call(struct thr *t, const struct st_ev_syscall *sc, uint64_t s, uint64_t e)
{
	unsigned nr = sc->b.nr;
	uint64_t c;

	if (t->tail_off || s < t->last_take || !t->takes)
		return;
	c = attr__cpu_at(t, e);
	if (next_own_call(nr) && in_next_tail(t, s)) {
		if (st_syscall_class(nr) & (ST_SYSC_CLOSE | ST_SYSC_UNMAP)) {
			t->tail_own += c - attr__cpu_at(t, s);
			t->tail_freed = true;
			ovl_add(t, t->last_take, e, CAT_DL);
		}
		t->tail_cpu = c;
	} else if (next_own_call(nr) && tail_late(t, s)) {
		/*
		 * Past the tail's bound with only next()'s own calls since the take: the
		 * close of a file (a batch's shared memory) is the previous batch freed,
		 * and next() went on up to here; the tail goes on from it.  Not where
		 * the tail freed one already: the previous batch is freed once, and a step
		 * whose compute makes no call frees the next one 0.6-0.9 ms of CPU later
		 * (a user's loop fed by a prefetch thread of its own: every step that
		 * waited in get() read as waiting up to the next step's free, 0.89 of the
		 * window in next() for the job's 0.75).
		 */
		if ((st_syscall_class(nr) & ST_SYSC_CLOSE) && (sc->present & ST_SC_FD) &&
		    sc->fd.kind == ST_FD_REG && !t->tail_freed) {
			t->tail_own = c - t->take_cpu;
			t->tail_cpu = c;
			t->tail_freed = true;
			ovl_add(t, t->last_take, e, CAT_DL);
		}
	} else {
		t->tail_off = true;
	}
}

/*
 * At ts (t's CPU time then known), t was in next(): receiving a batch, or in the
 * tail after its take.
 */
static bool in_next(const struct thr *t, uint64_t ts)
{
	return in_next_tail(t, ts) || (t->rx_open && rx_cpu_gap(t, ts) <= RX_CPU_NS);
}

/*
 * Preempted at ts in next()'s tail: t had not returned from next() yet (the job
 * measures that time as the loader's).
 */
void attr__preempted(struct thr *t, uint64_t ts)
{
	t->preempted = true;
	t->pre_take = in_next_tail(t, ts) ? t->last_take : 0;
}

/* Running again at ts after a preemption that began at t->since. */
void attr__resumed(struct thr *t, uint64_t ts)
{
	/* a new or released task is runnable until it first runs: no preemption */
	if (!t->preempted)
		return;
	t->preempted = false;
	t->pre_start = t->since;
	t->pre_end = ts;
	t->pre_cpu = t->oncpu;
	if (t->pre_take && t->pre_take < ts)
		ovl_add(t, t->pre_take, ts, CAT_DL);
	t->pre_take = 0;
}

/*
 * t starts waiting for a batch at s (a receive on a batch pipe).  next() runs a
 * little code before that: a preemption that ended at most NEXT_CPU_NS of t's CPU
 * before s (a wait for the GIL: NEXT_GIL_CPU_NS) came inside next(), as the job
 * measures it (the loader's time; a GIL wait stays a lock wait, the GIL in next()).
 */
static void next_preempted(struct thr *t, uint64_t s)
{
	uint64_t cpu = attr__cpu_at(t, s);

	if (t->pre_end && t->pre_end <= s && cpu - t->pre_cpu <= NEXT_CPU_NS && next_code(t))
		ovl_add(t, t->pre_start, s, CAT_DL);
	if (t->gl_end && t->gl_end <= s && cpu - t->gl_cpu <= NEXT_GIL_CPU_NS)
		ovl_add(t, t->gl_start, s, CAT_DL);
	t->pre_end = t->gl_end = 0;
}

/*
 * Receiving a batch does not end with the read that brought it: unpickling it and
 * fetching its shared-memory fds from the worker (socket calls) is main-thread
 * time spent on the data loader.  From the end of an arrival, socket calls that
 * follow within RX_CPU_NS of time on CPU extend a dataloader_wait overlay, up to
 * the take (attr__send) that ends next().
 */
static void receipt(struct thr *t, const struct st_ev_syscall *sc, uint64_t s, uint64_t e,
		    bool arrival)
{
	/*
	 * The gap is time on CPU: a preemption in the middle does not end a receipt.  An
	 * arrival is the receipt's, however long the thread ran before it: a new batch's
	 * (attr__arrival opened it), or more of this one's (its message's body).
	 */
	bool open = t->rx_open && e >= t->rx_end && (arrival || rx_goes_on(t, sc, s));
	bool sock = (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_SOCK;

	/*
	 * A new arrival started its receipt (attr__arrival), from the poll that announced
	 * it: the overlay goes on at once, before the segments between the poll and this
	 * read are finalized (under load the thread is preempted there for hundreds of ms).
	 */
	if (open && (sock || arrival)) {
		t->rx_foreign = false;
		t->rx_end = e;
		t->rx_cpu = attr__cpu_at(t, e);
		ovl_add(t, t->rx_start, e, CAT_DL);
	}
}

#define WR_BULK		65536		/* a write this large is bulk (a checkpoint), not a log line */
#define WR_GAP_NS	200000000ull	/* CPU between bulk writes of one file: serialising it */

/*
 * Writing a checkpoint is not only write(): serialising it (pickling, checksums)
 * runs between the writes.  Bulk writes to one file, the CPU between them and the
 * fsync or close that ends them form one session, all io_wait.
 */
static void write_session(struct thr *t, const struct st_ev_syscall *sc, uint64_t s, uint64_t e)
{
	bool same = t->wr_end && sc->fd.ino == t->wr_ino && sc->fd.dev == t->wr_dev &&
		    s >= t->wr_end && s - t->wr_end <= WR_GAP_NS;
	unsigned nr = sc->b.nr;

	if (is_write_syscall(nr) && sc->b.ret >= WR_BULK && !same) {
		t->wr_ino = sc->fd.ino;
		t->wr_dev = sc->fd.dev;
		t->wr_start = s;
		t->wr_end = e;
		return;
	}
	if (!same || !(is_write_syscall(nr) || nr == NR(fsync) || nr == NR(fdatasync) ||
		       nr == NR(close)))
		return;
	ovl_add_f(t, t->wr_start, e, CAT_IO, OVF_WRITE);
	/* a checkpoint ends with its fsync or close */
	t->wr_end = is_write_syscall(nr) ? e : 0;
}

static bool futex_wait_op(const struct st_ev_syscall *sc)
{
	unsigned cmd = sc->futex.op & 0x7f;

	return (sc->present & ST_SC_FUTEX) && (cmd == 0 || cmd == 9);	/* WAIT, WAIT_BITSET */
}

/* The same wait: one address, or the other group of a glibc condition variable. */
static bool chain_addr(const struct thr *t, uint64_t uaddr)
{
	return uaddr + 8 >= t->fx_addr && uaddr <= t->fx_addr + 8;
}

/*
 * Whether t's siblings were active (on CPU or runnable) at least half the time of its
 * open chain: the GIL's holder runs; a thread blocked elsewhere holds nothing.
 */
static bool chain_held(const struct thr *t)
{
	return t->proc && an__is_python(t->proc) &&
	       2 * (t->fx_act1 - t->fx_act0) >= t->fx_end - t->fx_start;
}

/*
 * t's wait for a lock a sibling held (the GIL) ended at e, begun at s: in next()'s own
 * code before its receive when a receive follows within NEXT_GIL_CPU_NS of CPU
 * (next_preempted); its segments are held until that is known.  A thread of the loop
 * that took batches before only: next()'s code before its poll takes 80-170 us of CPU,
 * and a GIL holder asks for the GIL every 5 ms, so in a GIL-bound job next() often
 * waits for it there (pt_gil_w2 at rest: 0.014-0.016 of the window, all of it in
 * next() for the job).
 */
static void lock_waited(struct thr *t, uint64_t s, uint64_t e)
{
	if (!t->takes || !next_code(t))
		return;
	/* one lead of waits (the GIL, then the mutex around it) from its first */
	if (!t->gl_end || attr__cpu_at(t, s) > t->gl_cpu + NEXT_GIL_CPU_NS)
		t->gl_start = s;
	t->gl_end = e;
	t->gl_cpu = attr__cpu_at(t, e);
}

/*
 * Ends the open chain; as a lock wait when a sibling ended it (the segments held):
 * its wakeup says so, or the call itself (sib) when the wakeup came first from the
 * wait's timer.  Without either (last NULL: the thread went on), still the GIL's
 * when its last timeout returned from a condition wait, whose mutex it then released
 * (fx_cond), while its siblings ran: CPython's take_gil() asks the holder to drop the
 * GIL when its wait times out, and takes it at once when the holder has dropped it by
 * the time it looks again, without a wake of its own (glibc hands the signal to a
 * waiter that is no longer asleep).  pt_gil_w2: 0.37 of the window read as "other,
 * woken by an interrupt" at rest, 0.7 on CI's machine, against the job's 0.91 blocked
 * on the GIL.  A semaphore's timed wait (a Python lock's acquire(timeout=)) has no
 * mutex and keeps its own cause.
 */
static void chain_end(struct an *a, struct thr *t, const struct seg *last, bool sib)
{
	uint8_t flags = OVF_ALL;
	struct thr *w = last ? an__find_thread(a, last->waker) : NULL;

	t->fx_open = false;
	if (!last) {
		if (t->fx_cond && chain_held(t) && !not_gil(t, t->fx_addr)) {
			ovl_add_f(t, t->fx_start, t->fx_end, CAT_LOCK, OVF_ALL | OVF_GIL);
			lock_waited(t, t->fx_start, t->fx_end);
		}
		return;
	}
	if (last->wrel != WREL_SIBLING && !sib)
		return;
	if (chain_held(t) && !not_gil(t, t->fx_addr))
		flags |= OVF_GIL;
	lock_waited(t, t->fx_start, t->fx_end);
	/* a queue feeder of the loader held it while t was in next(): the loader's wait */
	if (w && (w->flags & TF_FEEDER) && t->fx_in_next)
		ovl_add_f(t, t->fx_start, t->fx_end, CAT_DL, OVF_ALL);
	else
		ovl_add_f(t, t->fx_start, t->fx_end, CAT_LOCK, flags);
}

/*
 * A timed futex wait that times out and is issued again on the same address, until a
 * sibling's wake ends it, is one lock wait (CPython's GIL waiter: a condition wait
 * of the switch interval, 5 ms, that usually times out while the holder runs).  Other
 * futex calls (the mutex around the condition) keep a chain; any other syscall, a
 * pause longer than CHAIN_GAP_NS, or a wake by anything but a sibling ends it
 * (chain_end says as what).  A wait that DataLoader timed out (loader_futex) ends
 * it and starts none: the wait for a batch goes on, on another word.
 */
static void futex_chain(struct an *a, struct thr *t, const struct st_ev_syscall *sc, uint64_t s,
			uint64_t e, const struct covered *cv)
{
	bool futex = sc->b.nr == NR(futex), wait = futex_wait_op(sc), loader = loader_futex(sc);
	bool timeout = wait && sc->b.ret == -ETIMEDOUT_;
	/*
	 * A timed wait woken (0) on a private futex, though an interrupt's wakeup ran it:
	 * its timer expired as a sibling's wake came, which dequeued it first.  Only a
	 * thread of the process wakes a private futex: a sibling's lock wait, a chain of
	 * one (pt_gil_w2 at rest: 0.018 of the window, 27 GIL waits of 5 ms in next(),
	 * read as "other, woken by an interrupt").  Without a timer (the tracer records
	 * FUTEX_WAIT's timeout, -1 for none) an interrupt did not run it: a lost waker.
	 */
	bool timed = !((sc->present & ST_SC_TIMEOUT) && sc->timeout < 0);
	bool raced = wait && timed && sc->b.ret == 0 && (sc->futex.op & FUTEX_PRIVATE_) &&
		     cv->last && cv->last->wrel == WREL_IRQ;

	if (t->fx_open && (!futex || s > t->fx_end + CHAIN_GAP_NS || loader ||
			   (timeout && !chain_addr(t, sc->futex.uaddr))))
		chain_end(a, t, NULL, false);
	/* DataLoader's 5 s wait for a batch is no lock's (loader_poll) */
	if (loader)
		return;
	if (!t->fx_open) {
		if (!cv->first)
			return;
		if (!timeout && !raced) {
			/* one wait a sibling ended: a lock's (finalize_seg) */
			if (wait && sc->b.ret == 0 && cv->last && cv->last->wrel == WREL_SIBLING)
				lock_waited(t, cv->first->start, e);
			return;
		}
		t->fx_open = true;
		t->fx_addr = sc->futex.uaddr;
		t->fx_start = cv->first->start;
		t->fx_act0 = cv->first->act0;
		t->fx_in_next = cv->first->flags & SEG_IN_NEXT;
	}
	t->fx_end = e;
	t->fx_act1 = t->proc ? wk__active(t->proc, e) : t->fx_act0;
	/*
	 * The condition's mutex lies in the next words past its futex word(s) (glibc:
	 * __g_signals[2], then the mutex's lock word), and it is contended on return from
	 * a condition wait (glibc relocks it as contended), so its release is a call.
	 */
	if (timeout) {
		t->fx_waddr = sc->futex.uaddr;
		t->fx_cond = false;
		t->fx_short = e - s <= GIL_TMO_MAX_NS;
	} else if (sc->futex.uaddr > t->fx_waddr && sc->futex.uaddr <= t->fx_waddr + 8) {
		t->fx_cond = true;
		if (t->fx_short && t->proc && !t->proc->gil_word && an__is_python(t->proc))
			t->proc->gil_word = t->fx_waddr;
	}
	/*
	 * Woken (0), or the value changed before it slept (EAGAIN: a wake raced it).  On
	 * a private futex only a thread of the process can do either: a sibling, even
	 * when the timer's wakeup came first (on a busy machine the waiter may wait for a
	 * CPU past its timeout while the holder hands the lock over).
	 */
	if (wait && !timeout && cv->last)
		chain_end(a, t, cv->last, (sc->futex.op & FUTEX_PRIVATE_) &&
		      (sc->b.ret == 0 || sc->b.ret == -EAGAIN_));
}

void attr__syscall(struct an *a, struct thr *t, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	bool has_fd = sc->present & ST_SC_FD, arrival, batch_fd, server;
	struct covered cv;
	uint64_t e = ev->ts, s, *v;

	/* entered before the thread's life in the trace began: the trace start, or a release */
	if (sc->b.flags2 & ST_SC2_NO_ENTRY)
		s = t->first_ts;
	else
		s = sc->b.dur < e ? e - sc->b.dur : 0;
	if (t->relay_wake_at && !queue_woke(a, t, sc, s))
		attr__relay_woke(a, t, sc);
	cover(a, t, ev, s, e, &cv);
	queue_freed(a, t, sc, cv.last);
	feeder_noted(a, t, sc, cv.last);
	if (py_lock_wait(t, sc) && !sc->b.ret && cv.last && !(t->flags & TF_QUEUE_FED) &&
	    (cv.last->wrel == WREL_SIBLING || cv.last->wrel == WREL_RELAY)) {
		struct thr *w = an__find_thread(a, cv.last->waker);

		t->pyw_ts[t->npyw % PYW_LAST] = cv.last->end;
		t->pyw_cpu[t->npyw % PYW_LAST] = attr__cpu_at(t, cv.last->end);
		t->pyw_ws[t->npyw % PYW_LAST] = s;
		t->pyw_rc[t->npyw % PYW_LAST] = w ? t->woke_rc : 0;
		t->pyw_tid[t->npyw++ % PYW_LAST] = cv.last->waker;
		/*
		 * A wait in get() on an empty queue that a relay's put ended, where the relay
		 * puts indices itself, more than the loop (its iter()'s prefetch, where it
		 * made the iterator): the relay iterates the loader in its thread.  A
		 * prep-bound loop's queue is never full, so the relay never waits in put()
		 * (queue_freed): a user's prefetch thread over 2 workers read as a
		 * pin-memory thread, up to three takes at a wake, its steps' CPU read as
		 * next()'s up to the next take (0.81-0.89 of the window in next() for the
		 * job's 0.72-0.75).
		 */
		if (w && (w->puts + w->feeder_notes > t->puts || queue_unput(t, w)) &&
		    attr__is_relay(w) && !fx_shared(a, t, sc))
			queue_loop(a, w, t);
	}
	if (t->fwake)
		fx_put(a, t, sc, true);
	if (t->fwaker)
		fx_put(a, t->fwaker, sc, false);
	/*
	 * The rest of the call that made t's last put (a feeder's wake) is the kernel's,
	 * no work of the loop's between two puts: a vCPU's steal there (0.5 ms in a futex
	 * wake) split a persistent pool's resume, its first put read as a step's and the
	 * third answer as a batch (pt_val_pin_pers attach: 100 steps for 110).
	 */
	if (t->put_ts >= s && t->put_ts < e && t->put_cpu && attr__cpu_at(t, e) > t->put_cpu)
		t->put_cpu = attr__cpu_at(t, e);
	if (futex_wait_op(sc)) {
		tw_note(t, sc);
		fx_wait(a, t, sc->futex.uaddr);
		t->flags |= (sc->futex.op & 0x7f) == 9 ? TF_COND_WAIT : TF_PLAIN_WAIT;
	}
	if ((sc->b.nr == NR(pipe) || sc->b.nr == NR(pipe2)) && !sc->b.ret && t->proc &&
	    !t->proc->pipe_mark)
		t->proc->pipe_mark = s;
	if (t->fx_open || sc->b.nr == NR(futex))
		futex_chain(a, t, sc, s, e, &cv);
	/* (a free that ends the receipt, or takes a kept batch, is next()'s tail: the take first) */
	if (rx_freed(t, sc))
		receipt_timeout(a, t, sc, s);
	else if (tail_free(t, sc, s) && t->tail_from)
		take_cached(a, t, s);
	else if (!t->kept_free && tail_free(t, sc, s))
		t->kept_free = s;
	next_tail_call(t, sc, s, e);
	receipt_timeout(a, t, sc, s);
	if ((t->flags & (TF_QUEUE_FED | TF_LEADER)) && has_fd && sc->fd.kind == ST_FD_REG &&
	    (st_syscall_class(sc->b.nr) & ST_SYSC_CLOSE) && !sc->b.ret)
		queue_free(t, s);
	rx_conn_track(t, sc);
	if (t->rx_fetches && !t->rx_fetched)
		relay_fetched(a, t);
	else if (t->rx_queue && sc->b.nr == NR(connect))
		queue_next_fetch(a, t, e);
	if (t->rx_queue && t->rx_fetched && has_fd && sc->fd.kind == ST_FD_PIPE &&
	    sc->b.nr == NR(read) && sc->b.ret == 4)
		t->rx_more = true;
	if (t->rx_open && !rx_call(sc) && !rx_pipe_call(t, sc))
		t->rx_foreign = true;
	/* (a forkserver's pipes carry its workers' pids and exit codes: an__mp_server) */
	server = t->proc && an__mp_server(t->proc);
	if (has_fd && sc->fd.kind == ST_FD_PIPE && sc->b.ret > 0 && is_write_syscall(sc->b.nr) && !server) {
		/* a worker wrote: its ancestors receive batches reading it (the result
		 * queue), even when the batch is already there and nobody waits */
		uint64_t key = fd_key(t->pid, sc->fd.dev, sc->fd.ino);
		bool feeder, shared;

		ancestors_pipe(a, &a->feeder_fds, t, sc);
		/* once for both: whether the pipe carries batches to t's process */
		feeder = hmap_find(&a->feeder_fds, key);
		shared = !feeder && shared_with_child(a, t, sc);
		self_msg_write(a, key, feeder, shared, sc);
		index_write(a, t, key, feeder, shared, e);
		if (t->proc && t->proc->parent) {
			t->proc->parent->kids_fed += !t->proc->msgs;
			t->proc->parent->kid_msgs++;
			t->proc->msgs++;
			if (sc->fd.ino && (v = hmap_slot(&a->pipe_writer, sc->fd.ino)))
				*v = t->pid;
			t->proc->wrote_ino = sc->fd.ino;
			if (!t->proc->out_ino && sibling_out(a, t->proc, sc->fd.ino))
				t->proc->out_ino = sc->fd.ino;
		}
	}
	if (has_fd && sc->fd.kind == ST_FD_PIPE && sc->b.ret > 0 && attr__is_read_syscall(sc->b.nr) &&
	    t->proc && t->proc->parent && !server) {
		/* a worker read: its ancestors write the indices of the batches to load
		 * into it (DataLoader's index queues, trainsim's task pipes) */
		ancestors_pipe(a, &a->task_fds, t, sc);
		if (!t->proc->task_reads)
			t->proc->task_mark = t->proc->parent->kid_msgs;
		an__served(a, t->proc, false);
	}
	if ((sc->b.nr == NR(accept) || sc->b.nr == NR(accept4)) && sc->b.ret >= 0) {
		t->flags |= TF_LISTENER;
		if (t->proc && t->proc->parent && (t->flags & TF_LEADER))
			an__served(a, t->proc, true);
	}
	if (attr__file_call(sc->b.nr, has_fd, sc->fd.kind))
		ovl_add_f(t, s, e, CAT_IO, io_writes(sc->b.nr) ? OVF_WRITE : 0);
	batch_fd = has_fd && is_ipc(sc) && attr__is_read_syscall(sc->b.nr) &&
		   (hmap_find(&a->feeder_fds, fd_key(t->pid, sc->fd.dev, sc->fd.ino)) ||
		    (sc->fd.kind == ST_FD_PIPE && shared_with_child(a, t, sc)));
	if (batch_fd)
		next_preempted(t, s);
	arrival = batch_fd && sc->b.ret > 0 && !self_msg_read(a, t, sc);
	if (arrival)
		attr__arrival(a, t, e, true, sc->b.nr != NR(read) && sc->b.nr != NR(readv) ?
			      ARR_POLL : sc->b.ret == 4 ? ARR_HDR : ARR_READ, sc->fd.ino);
	receipt(t, sc, s, e, arrival);
	rx_conn_closed(t, sc);
	if (has_fd && (sc->fd.kind == ST_FD_REG || sc->fd.kind == ST_FD_BLK))
		write_session(t, sc, s, e);
	if (e > t->sc_horizon)
		t->sc_horizon = e;
	if (sc->b.nr != NR(futex))
		t->gl_end = 0;	/* no receive came next: a GIL wait of the step's own */
	t->last_ts = e;
	attr__finalize(a, t, false);
}

void attr__probe(struct an *a, struct thr *t, uint64_t s, uint64_t e, int role)
{
	switch (role) {
	case ST_PROBE_STEP:
		t->step_marks++;
		attr__become_logger(a, t);
		attr__snap(a, t, s, SNAP_STEP);
		break;
	case ST_PROBE_GPU_SYNC:
		ovl_add(t, s, e, CAT_GPU);
		break;
	case AN_PROBE_COLL:
		ovl_add(t, s, e, CAT_COLL);
		break;
	case ST_PROBE_GPU_LAUNCH:
		if (e >= t->fin_until) {
			ovl_add(t, e, e, OVL_LAUNCH);
			t->nlaunch++;
		}
		break;
	default:
		break;
	}
	attr__finalize(a, t, false);
}
