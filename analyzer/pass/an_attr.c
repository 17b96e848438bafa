// SPDX-License-Identifier: MIT
/*
 * Attribution: closed segments wait in a per-thread queue until the syscall that
 * covers them is known, then each is classified (docs/analysis.md, "Attribution"),
 * cut at overlay edges (GPU sync probes, file syscalls on CPU) and snapshot times,
 * and added to the thread's cumulative accounts.
 */
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
#define RX_MAX_NS	100000000ull	/* and a receipt lasts at most this */
#define OVL_LAUNCH	0xff
#define OVL_SHIFT_MAX	1024	/* overlays an insertion may move (out-of-order records) */
#define NET_MIN		2		/* receive calls ended by a softirq that make a net thread */
#define COLL_GAP_NS	1000000ull	/* collective-wait pieces closer than this are one wait */

#define NR(name) ST_NR_##name	/* numbers generated from the kernel header */

/* Syscalls whose whole time is the file system's when their fd (if any) is a file. */
bool attr__is_file_syscall(unsigned nr)
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
static bool file_call(unsigned nr, bool has_fd, uint8_t kind)
{
	return attr__is_file_syscall(nr) && (!has_fd || is_file_kind(kind));
}

bool attr__is_relay(const struct thr *t)
{
	return t->direct_arrivals >= RELAY_MIN || t->fed_wakes >= RELAY_MIN;
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
 * Overlays of one category that overlap or touch at the tail become one (their union
 * covers the same time), so calls nested in a longer one (a write session, a batch
 * receipt) do not pile up; an overlay that would still go deeper than OVL_SHIFT_MAX
 * (only out-of-order records do that) is left out and counted.
 */
static void ovl_add(struct thr *t, uint64_t s, uint64_t e, uint8_t cat)
{
	uint32_t i;

	if (e < t->fin_until || (e == s && cat != OVL_LAUNCH))
		return;
	while (t->ovlen && cat != OVL_LAUNCH) {
		struct ovl *last = o_at(t, t->ovlen - 1);

		if (last->cat != cat || last->e < s || last->s > e)
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
	*o_at(t, i) = (struct ovl){ .s = s, .e = e, .cat = cat };
	t->ovlen++;
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

void attr__snap(struct an *a, struct thr *t, uint64_t ts, enum snap_kind kind)
{
	struct snap *s;

	if (kind == SNAP_START && t->nsnaps)
		return;
	if (t->nsnaps == t->capsnaps) {
		uint32_t cap = t->capsnaps ? 2 * t->capsnaps : 4;

		if (cap > SNAPS_MAX) {
			thin_snaps(t);
		} else {
			s = realloc(t->snaps, sizeof(*s) * cap);
			if (!s)
				return;
			t->snaps = s;
			t->capsnaps = cap;
		}
	}
	if (t->nsnaps && ts < t->snaps[t->nsnaps - 1].ts)
		ts = t->snaps[t->nsnaps - 1].ts;
	s = &t->snaps[t->nsnaps++];
	memset(s, 0, sizeof(*s));
	s->ts = ts;
	s->kind = kind;
	if (kind == SNAP_START) {
		t->win[0].ts = a->win_from;
		t->win[0].kind = SNAP_FROM;
		t->win[1].ts = a->win_to;
		t->win[1].kind = SNAP_TO;
	}
	/* its time is already accounted: it gets the values of now, and says so */
	if (ts < t->fin_until && t->nfilled == t->nsnaps - 1) {
		s->approx = 1;
		fill(t, s);
		t->nfilled++;
	}
	if (kind == SNAP_END)
		seal(t);
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
		t->tl = tl_grid__new(&a->grid, NCAT);
}

/*
 * A batch reached t at ts: a step boundary candidate.  Arrivals closer than
 * MERGE_GAP_NS (a wakeup, then the reads of the same batch) are one.  A direct
 * arrival (from a worker) is also a proxy boundary for the process's other loggers:
 * with a relay thread, the main thread may never wait for the batch itself.
 */
bool attr__arrival(struct an *a, struct thr *t, uint64_t ts, bool direct, int kind)
{
	struct proc *p = t->proc;
	bool near = t->last_arrival && ts >= t->last_arrival;
	/*
	 * The same batch: right after the last arrival, a read after the poll that
	 * announced it, or a wait (for its shared-memory fds) while it is received.
	 */
	bool merged = (near && ts - t->last_arrival < MERGE_GAP_NS) ||
		      (near && kind == ARR_READ && t->last_arr_kind == ARR_POLL &&
		       ts - t->last_arrival <= RX_GAP_NS) ||
		      (kind == ARR_WAKE && t->rx_end && ts >= t->rx_end &&
		       ts - t->rx_end <= RX_GAP_NS && ts - t->rx_start <= RX_MAX_NS);

	t->last_arrival = ts;
	t->last_arr_kind = (uint8_t)kind;
	if (merged)
		return true;
	t->rx_start = t->rx_end = ts;	/* a new batch: its receipt starts */
	if (!direct && !(t->flags & (TF_LOGGER | TF_LEADER)))
		return false;
	t->own_arrivals++;
	if (direct)
		t->direct_arrivals++;
	attr__become_logger(a, t);
	if (!(t->own_arrivals & ((1ull << t->decimate) - 1)))
		attr__snap(a, t, ts, SNAP_OWN);
	if (!direct || !p)
		return false;
	for (uint32_t i = 0; i < p->nloggers; i++) {
		struct thr *l = p->loggers[i];

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
}

/* Merges consecutive non-compute pieces of one cause into stalls. */
static void stall_track(struct thr *t, uint64_t s, uint64_t e, int cat, const struct seg *g)
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
	if (g && g->kind == SEG_OFF && g->end - g->start > t->cur_longest) {
		t->cur_longest = g->end - g->start;
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

/* Adds [s, e) of category cat; no snapshot lies strictly inside. */
static void add(struct an *a, struct thr *t, uint64_t s, uint64_t e, int cat, bool wakelat,
		const uint64_t *wk, const struct seg *g)
{
	t->cum.cat[cat] += e - s;
	if (g && g->kind == SEG_CPU)
		t->cum.oncpu += e - s;
	if (wakelat)
		t->cum.wakelat += e - s;
	if (wk)
		for (int i = 0; i < NWS; i++)
			t->cum.wk[i] += wk[i];
	if (t->tl)
		tl__add_span(&a->grid, t->tl, (unsigned)cat, s, e);
	if (t->flags & (TF_LOGGER | TF_LEADER)) {
		stall_track(t, s, e, cat, g);
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
static void account(struct an *a, struct thr *t, uint64_t s, uint64_t e, int cat, bool wakelat,
		    struct share *sh, const struct seg *g)
{
	uint64_t wk[NWS];
	struct snap *p;

	while ((p = next_pending(t)) && p->ts <= e) {
		if (p->ts > s) {
			count_launches(t, p->ts - 1);
			add(a, t, s, p->ts, cat, wakelat, take_share(sh, p->ts - s, wk), g);
			s = p->ts;
		}
		filled(t, p);
	}
	count_launches(t, e - 1);
	if (e > s)
		add(a, t, s, e, cat, wakelat, take_share(sh, e - s, wk), g);
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
 * beats a GPU sync, which beats receiving a batch, which beats file I/O.
 */
static int rank(int cat)
{
	return cat == CAT_COLL ? 4 : cat == CAT_GPU ? 3 : cat == CAT_DL ? 2 : cat == CAT_IO ? 1 : 0;
}

/*
 * Whether an overlay of category o relabels a piece of base category `base`.
 * Preempted inside a call the job itself times (a device sync, a batch's receipt, a
 * file call or checkpoint), the time is the call's, as the job and a profiler count
 * it; cpu_contention is preemption in the thread's own work.
 */
static bool applies(int o, int base, bool cpu)
{
	return base == CAT_CPU || o == CAT_GPU || o == CAT_COLL || cpu;
}

/*
 * The category of instant c under the overlays, and the next instant where that may
 * change.
 */
/*
 * The category at time c of a piece [c, e) with base category `base`, and the next
 * time it may change.  Overlays are sorted by start; *lo skips the prefix already
 * over (pieces advance monotonically), so a long segment crossed by many overlays
 * costs linear time, not quadratic.
 */
static int overlay_at(struct thr *t, uint64_t c, uint64_t e, int base, bool cpu, uint64_t *next,
		      uint32_t *lo)
{
	int cat = base;

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
		if (applies(o->cat, base, cpu) && rank(o->cat) > (cat == base ? 0 : rank(cat)))
			cat = o->cat;
	}
	return cat;
}

static void account_overlaid(struct an *a, struct thr *t, uint64_t s, uint64_t e, int base,
			     bool cpu, bool wakelat, struct share *sh, const struct seg *g)
{
	uint32_t lo = 0;
	uint64_t next;

	while (s < e) {
		int cat = overlay_at(t, s, e, base, cpu, &next, &lo);

		if (next <= s)
			next = e;
		account(a, t, s, next, cat, wakelat, sh, g);
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

/* The cause of an off-CPU segment (docs/analysis.md has the table). */
int attr__classify(struct an *a, const struct thr *t, const struct seg *g)
{
	bool has_sc = g->nr != SC_NONE;
	bool file = has_sc && file_call(g->nr, g->fdkind != ST_FD_UNKNOWN || g->ino, g->fdkind);
	struct thr *w;

	if (g->state == ST_STATE_RUNNING)
		return CAT_CPU;
	if (has_sc && is_gpu_fd(a, g))
		return CAT_GPU;
	if (g->wrel != WREL_CHILD && g->wrel != WREL_RELAY && coll_wait(a, t, g, file))
		return CAT_COLL;
	switch (g->wrel) {
	case WREL_CHILD:
	case WREL_RELAY:
		return CAT_DL;
	case WREL_SIBLING:
		w = an__find_thread(a, g->waker);
		if (w && attr__is_relay(w) && !file)
			return CAT_DL;
		return file ? CAT_IO : CAT_LOCK;
	default:
		break;
	}
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

static void finalize_seg(struct an *a, struct thr *t, const struct seg *g)
{
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
		account_overlaid(a, t, g->start, g->end, CAT_COMPUTE, true, false, NULL, g);
		return;
	}
	cat = attr__classify(a, t, g);
	if (cat == CAT_CPU) {
		account_overlaid(a, t, g->start, g->end, CAT_CPU, false, false, NULL, g);
		return;
	}
	if (cat == CAT_DL && (g->wk[0] | g->wk[1] | g->wk[2] | g->wk[3])) {
		memcpy(sh.left, g->wk, sizeof(sh.left));
		sh.len_left = g->end - g->start;
		sh.on = true;
	}
	account_overlaid(a, t, g->start, g->wake, cat, false, false, &sh, g);
	/*
	 * Runnable after the wakeup: still the wait's (the latency after a disk wait is
	 * part of fetching), except after a collective: the other ranks were there, the
	 * rank waited for a CPU.
	 */
	account_overlaid(a, t, g->wake, g->end, cat == CAT_COLL ? CAT_CPU : cat, false, true, &sh,
			 g);
}

static bool ready(struct an *a, struct thr *t, const struct seg *g)
{
	uint64_t lag = a->now > g->end ? a->now - g->end : 0;

	if (t->qlen > QUEUE_MAX)
		return true;
	if (gpu_hold(a, t) && lag < PROBE_HOLD_NS)
		return false;
	return g->end <= t->sc_horizon || lag > SC_HOLD_NS;
}

void attr__finalize(struct an *a, struct thr *t, bool all)
{
	while (t->qlen && (all || ready(a, t, q_at(t, 0)))) {
		struct seg g = *q_at(t, 0);

		t->qhead = (t->qhead + 1) & (t->qcap - 1);
		t->qlen--;
		t->qseq++;
		finalize_seg(a, t, &g);
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
	struct seg *g;

	if (end <= start || !(g = q_push(t)))
		return NULL;
	memset(g, 0, sizeof(*g));
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

	if (end > s)
		t->oncpu += end - s;
	new_seg(t, SEG_CPU, s, end);
	attr__finalize(a, t, false);
}

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
		if (t->wake_ts) {
			g->flags |= t->wake_flags;
			g->peer = t->peer;
		}
		if ((t->wrel == WREL_CHILD || t->wrel == WREL_RELAY) && t->wk_out_valid && p) {
			wk__flush_sub(p, end);
			for (int i = 0; i < NWS; i++)
				g->wk[i] = p->sub_cum[i] - t->wk_out[i];
		}
	}
	t->wk_out_valid = false;
	attr__finalize(a, t, false);
}

/* ------------------------------------------------------------------ records */

static uint64_t fd_key(uint32_t pid, uint32_t dev, uint64_t ino)
{
	uint64_t h = ((uint64_t)pid << 32 ^ dev) * 0x9e3779b97f4a7c15ull ^ ino * 0xc2b2ae3d27d4eb4full;

	return h ? h : 1;
}

/*
 * Whether only another task can end a sleep in this syscall: a read that got data
 * (or EOF) from a pipe, a futex wait that was woken (a timeout returns ETIMEDOUT).
 */
static bool task_woken(const struct st_ev_syscall *sc)
{
	unsigned nr = sc->b.nr;

	if (nr == NR(futex))
		return (sc->present & ST_SC_FUTEX) && sc->b.ret == 0 &&
		       ((sc->futex.op & 0x7f) == 0 || (sc->futex.op & 0x7f) == 9);
	return (nr == NR(read) || nr == NR(readv)) && sc->b.ret >= 0 &&
	       (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_PIPE;
}

/* Gives the syscall's identity to the off-CPU segments it covers. */
static void cover(struct an *a, struct thr *t, const struct st_event *ev, uint64_t s, uint64_t e)
{
	const struct st_ev_syscall *sc = &ev->sc;
	bool has_fd = sc->present & ST_SC_FD, by_task = task_woken(sc);
	uint32_t hi, i;

	/*
	 * Only the OFF segments no syscall covered yet, from the last that starts by the
	 * end of this one back to its start: each is visited once, when it is covered.
	 */
	unc_trim(t);
	hi = unc_upto(t, e);
	for (i = hi; i > 0; i--) {
		struct seg *g = seg_of(t, t->unc[t->unc_off + i - 1]);

		if (g->end <= s)
			break;
		g->flags |= SEG_SC_SET;
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
		/* a batch came through this fd: reads on it are arrivals from now on */
		/*
		 * Pipes only: a worker also wakes the thread on the sockets that pass a
		 * batch's shared-memory fds, one new socket per tensor, not per batch.
		 */
		if (has_fd && (g->wrel == WREL_CHILD || g->wrel == WREL_RELAY) &&
		    sc->fd.kind == ST_FD_PIPE) {
			uint64_t *v = hmap_slot(&a->feeder_fds, fd_key(t->pid, sc->fd.dev, sc->fd.ino));

			if (v)
				*v = 1;
		}
	}
	unc_remove(t, i, hi);
}

static bool is_write_syscall(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_WRITE;
}

/*
 * A worker wrote into a pipe: reading that pipe is how its ancestors receive batches
 * (the result queue), even when the batch is already there and nobody waits.
 */
static void feeder_pipe(struct an *a, struct thr *t, const struct st_ev_syscall *sc)
{
	int depth = 0;

	for (struct proc *q = t->proc ? t->proc->parent : NULL; q && depth < 8;
	     q = q->parent, depth++) {
		uint64_t *v = hmap_slot(&a->feeder_fds, fd_key(q->pid, sc->fd.dev, sc->fd.ino));

		if (v)
			*v = 1;
	}
}


static bool is_ipc(const struct st_ev_syscall *sc)
{
	return (sc->present & ST_SC_FD) &&
	       (sc->fd.kind == ST_FD_PIPE || sc->fd.kind == ST_FD_SOCK);
}

/*
 * Receiving a batch does not end with the read that brought it: unpickling it and
 * fetching its shared-memory fds from the worker (socket calls) is main-thread
 * time spent on the data loader.  From the end of an arrival, socket calls that
 * follow within RX_GAP_NS extend a dataloader_wait overlay.
 */
static void receipt(struct thr *t, const struct st_ev_syscall *sc, uint64_t s, uint64_t e,
		    bool arrival, bool merged)
{
	bool open = t->rx_end && e >= t->rx_end && (s <= t->rx_end || s - t->rx_end <= RX_GAP_NS) &&
		    e - t->rx_start <= RX_MAX_NS;
	bool sock = (sc->present & ST_SC_FD) && sc->fd.kind == ST_FD_SOCK;

	/* a new arrival already started its receipt (attr__arrival) */
	if (open && (sock || (arrival && merged))) {
		t->rx_end = e;
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
	ovl_add(t, t->wr_start, e, CAT_IO);
	/* a checkpoint ends with its fsync or close */
	t->wr_end = is_write_syscall(nr) ? e : 0;
}

void attr__syscall(struct an *a, struct thr *t, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	bool has_fd = sc->present & ST_SC_FD, arrival, merged = false;
	uint64_t e = ev->ts, s;

	/* entered before the thread's life in the trace began: the trace start, or a release */
	if (sc->b.flags2 & ST_SC2_NO_ENTRY)
		s = t->first_ts;
	else
		s = sc->b.dur < e ? e - sc->b.dur : 0;
	cover(a, t, ev, s, e);
	if (has_fd && sc->fd.kind == ST_FD_PIPE && sc->b.ret > 0 && is_write_syscall(sc->b.nr))
		feeder_pipe(a, t, sc);
	if (file_call(sc->b.nr, has_fd, sc->fd.kind))
		ovl_add(t, s, e, CAT_IO);
	arrival = has_fd && sc->b.ret > 0 && attr__is_read_syscall(sc->b.nr) && is_ipc(sc) &&
		  hmap_find(&a->feeder_fds, fd_key(t->pid, sc->fd.dev, sc->fd.ino));
	if (arrival)
		merged = attr__arrival(a, t, e, true, sc->b.nr == NR(read) ||
				       sc->b.nr == NR(readv) ? ARR_READ : ARR_POLL);
	receipt(t, sc, s, e, arrival, merged);
	if (has_fd && (sc->fd.kind == ST_FD_REG || sc->fd.kind == ST_FD_BLK))
		write_session(t, sc, s, e);
	if (e > t->sc_horizon)
		t->sc_horizon = e;
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
