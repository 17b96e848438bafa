// SPDX-License-Identifier: MIT
/*
 * `analyze --perfetto FILE`: the analysis as a timeline, in the Chrome JSON trace event
 * format that ui.perfetto.dev and chrome://tracing both load (docs/perfetto.md).  JSON
 * rather than Perfetto's protobuf: both viewers read it, a test can check it with
 * python's json module, and it needs no generated code.
 *
 * The export is a view of the analysis, never a second reading of the trace: it is
 * the pass's observer (struct an_obs).  Each thread's state track shows the pieces of
 * time the pass accounts, named after their category and carrying the evidence of
 * their segment (state, syscall, file, waker chain); a wakeup arrow goes from the
 * waker the model names to the wait it ended; syscalls, probed calls, block requests,
 * forks and exits are drawn as the pass takes them in.  At the end, from the results:
 * the thread and process names (final), the verdict, steps, stalls and collective
 * waits, the counters.  So the timeline and the report can never disagree.
 *
 * One pass: events are written as they come (viewers sort them; names come last).
 * Timestamps are microseconds from the trace start with three decimals (exact ns).
 * Every track's slices nest properly: viewers mis-draw slices that partially overlap.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmap.h"
#include "json.h"
#include "outfile.h"
#include "palette.h"
#include "perfetto.h"
#include "st_trace.h"

/*
 * Pseudo ids for tracks that are not threads: above PID_MAX_LIMIT (2^22) so they
 * never meet a real id, below 2^31 because viewers read ids as 32-bit.  Perfetto
 * keys thread names by tid alone, so every pseudo track has a tid of its own.
 */
#define TID_STATE	0x40000000u	/* a thread's state track: tid + TID_STATE */
#define PID_ANALYSIS	0x7f000000u	/* steps, stalls, verdict, counters */
#define PID_BLOCK	0x7f000001u	/* block devices */
#define TID_ANALYSIS	0x7e000000u	/* + 8 * trainer + track */
#define TID_BLOCK	0x7e100000u	/* + BLK_LANES * device + lane */

#define NEST_RING	64		/* latest top-level slices kept per thread track */
#define BLK_LANES	16		/* concurrent requests drawn per device */
#define BLK_DEVS	256
#define NBUCKETS	2048		/* counter samples over the window, at most */
#define MIN_BUCKET_NS	10000000ull	/* 10 ms: finer makes MB/s noise */
#define WK_PROCS	256		/* processes whose threads' states are counted */
#define PX_ARENA_MAX	(1u << 20)	/* probe names */
#define FLOWS_PENDING	(1u << 22)	/* arrows waiting for their wakers' pieces, at most */

enum counter { C_FILE_READ = 0, C_DISK_READ, C_RUNNABLE_ALL, NCOUNTERS };
enum wk_counter { W_RUNNING = 0, W_RUNNABLE, NWK };

/* Name and series key: Perfetto shows "name key", chrome://tracing "name" with "key". */
static const char *const counter_names[NCOUNTERS][2] = {
	{ "file reads", "MB/s" }, { "disk reads", "MB/s" }, { "runnable", "threads" },
};
static const char *const wk_counter_names[NWK][2] = {
	{ "running", "workers" }, { "runnable", "workers" },
};

struct nest {
	uint64_t s[NEST_RING], e[NEST_RING];
	uint32_t n, top;
};

/* A wakeup arrow waiting for its waker's state track to reach it. */
struct pflow {
	uint64_t ts;
	uint32_t wakee;
};

/* The view of one thread: what it needs to draw the model's pieces. */
struct pthr {
	uint32_t tid, pid;		/* pid as first written: a thread never changes process */
	bool facts, states;		/* has events on its own track, on its state track */
	bool keep;			/* --ranks: one of a chosen rank's threads */
	/* the state slice being drawn: consecutive pieces of one segment and category */
	bool open, runnable;
	uint8_t cat;
	uint64_t s, e;
	struct seg g;
	/* the pieces seen: [first, covered], without gaps (a flow's start must hit one) */
	bool started;
	uint64_t first, covered;
	/* a wait that ended where the next piece starts: its arrow goes to that piece */
	uint64_t flow_at;
	uint32_t flow_waker;
	struct pflow *waits;		/* arrows from this thread, waiting for its pieces */
	uint32_t nwaits, capwaits;
	struct nest *nest;
};

/* Worker candidates (processes with a parent): their threads' time on and off CPU. */
struct pwk {
	uint32_t pid;
	float *v[NWK];
};

struct pdev {
	uint32_t dev;
	uint64_t lane_end[BLK_LANES];
	uint32_t named;			/* bit per lane */
};

/* Counts what is written and stops at the limit: the file can never grow unbounded. */
struct sink {
	int fd, err;
	uint64_t bytes, cap;
};

/* The output document: one file, which the parts of a job's export share. */
struct pdoc {
	FILE *f;
	struct sink sink;
	struct outfile of;
	bool opened, started;		/* started: its head is written */
	uint64_t nevents, fid;		/* events written, flow ids given */
	/* writing stopped at the size limit: where (a part's trace time), how much was written */
	bool over;
	uint32_t over_part;
	uint64_t over_at, over_bytes;
};

/* The view of one pass (one trace): a single trace's export, or a part of a job's. */
struct perfetto {
	struct an_obs obs;
	struct perfetto_opts o;
	const char *prog, *out;
	const char *path;		/* the trace */
	struct an *a;			/* the pass being drawn */
	const struct an_result *res;	/* its results, at the end */
	struct pdoc *doc, own;		/* own: the document this one opened */
	FILE *f;			/* doc->f */
	bool begun;
	/*
	 * One part of a job's export (several traces): its index (its ids are moved out
	 * of the others' way), its host, and its clock: t0 is the job's start on its clock,
	 * offset what job.c adds to its times.  A single trace: part 0, t0 its start.
	 */
	uint32_t part;
	const char *host;
	bool multi;
	bool filter;			/* --ranks: only the chosen ranks' processes */
	int64_t offset;
	/* the window: wto is UINT64_MAX until the trace's end is known */
	uint64_t t0, wfrom, wto;
	struct hmap tix, pix, probes;	/* tid -> struct pthr *, pid -> index + 1, probe id + 1 */
	struct pthr *cache[64];		/* recently drawn threads, by tid & 63 */
	struct pwk wk[WK_PROCS];
	uint32_t nwk;
	bool wk_full;			/* a worker candidate had no room: no worker counters */
	struct pdev devs[BLK_DEVS];
	uint32_t ndevs;
	char *arena;
	uint32_t alen, acap;
	uint64_t flows, flows_unbound, dropped_slices, drops_seen;
	uint64_t pending;		/* arrows waiting, all wakers together */
	int nargs;			/* args written in the open event */
	float *ctr[NCOUNTERS];
	uint64_t bw;			/* bucket width, ns (doubles as the window fills) */
	bool analysis_named, block_named;
};

/* ------------------------------------------------------------ small tables */

/* Arena offset + 1 of a copy of s, 0 when full (the name is then not shown). */
static uint32_t intern(struct perfetto *px, const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	uint32_t off = px->alen;
	char *a;

	if (px->alen + len + 1 > PX_ARENA_MAX)
		return 0;
	if (px->alen + len + 1 > px->acap) {
		uint32_t cap = px->acap ? px->acap : 4096;

		while (cap < px->alen + len + 1)
			cap *= 2;
		if (!(a = realloc(px->arena, cap)))
			return 0;
		px->arena = a;
		px->acap = cap;
	}
	memcpy(px->arena + off, s, len);
	px->arena[off + len] = '\0';
	px->alen += (uint32_t)len + 1;
	return off + 1;
}

static const char *arena_str(const struct perfetto *px, uint64_t ref)
{
	return ref ? px->arena + ref - 1 : NULL;
}

static struct pthr *thr_find(struct perfetto *px, uint32_t tid)
{
	struct pthr **c = &px->cache[tid & 63];
	uint64_t *slot;

	if (*c && (*c)->tid == tid)
		return *c;
	if (!tid || !(slot = hmap_find(&px->tix, tid)))
		return NULL;
	*c = (struct pthr *)(uintptr_t)*slot;
	return *c;
}

/*
 * The view of thread tid, made on first use with the process the pass knows it in.
 * Never moves (callers hold it while making others).
 */
static struct pthr *thr_get(struct perfetto *px, uint32_t tid)
{
	struct pthr *t = thr_find(px, tid);
	struct thr *at;
	uint64_t *slot;

	if (t || !tid)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t || !(slot = hmap_slot(&px->tix, tid))) {
		free(t);
		return NULL;
	}
	*slot = (uintptr_t)t;
	t->tid = tid;
	at = an__find_thread(px->a, tid);
	t->pid = at && at->pid ? at->pid : tid;
	return t;
}

static bool chosen(const struct perfetto_opts *o, int32_t rank)
{
	for (uint32_t i = 0; i < o->nranks; i++)
		if (o->ranks[i] == rank)
			return true;
	return false;
}

/*
 * --ranks: whether a thread is drawn.  Its process's distributed identity names a
 * chosen rank (a rank's workers inherit it at their fork): the rank, its threads and
 * everything it started.  Asked again until it holds: the identity may come after
 * a thread's first events.
 */
static bool keep(struct perfetto *px, struct pthr *t)
{
	const struct thr *at;

	if (!px->filter || t->keep)
		return true;
	at = an__find_thread(px->a, t->tid);
	t->keep = at && at->proc && at->proc->id && chosen(&px->o, at->proc->id->rank);
	return t->keep;
}

/* The view of a thread that is drawn, or NULL. */
static struct pthr *thr_kept(struct perfetto *px, uint32_t tid)
{
	struct pthr *t = thr_get(px, tid);

	return t && keep(px, t) ? t : NULL;
}

/* ------------------------------------------------------------ output primitives */

/* Writes v in decimal at p; returns the end. */
static char *put_u(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* ,"key":US.NNN: microseconds since the trace start, exactly (the ns are the decimals). */
static char *put_us(char *p, const char *key, uint64_t ns)
{
	unsigned frac = (unsigned)(ns % 1000);

	*p++ = ',';
	*p++ = '"';
	p = stpcpy(p, key);
	*p++ = '"';
	*p++ = ':';
	p = put_u(p, ns / 1000);
	*p++ = '.';
	*p++ = (char)('0' + frac / 100);
	*p++ = (char)('0' + frac / 10 % 10);
	*p++ = (char)('0' + frac % 10);
	return p;
}

static void put_ts(struct perfetto *px, const char *key, uint64_t ns)
{
	char buf[64];

	fwrite(buf, 1, (size_t)(put_us(buf, key, ns) - buf), px->f);
}

static uint64_t rel(const struct perfetto *px, uint64_t ts)
{
	return ts > px->t0 ? ts - px->t0 : 0;
}

/*
 * The id a part of a job's export writes for a pid or tid: each part's real ids (below
 * 2^22, and their state tracks) move up by part << 22, its pseudo tracks by their own
 * strides, so two machines' pid 4242 stay two processes.
 */
static uint32_t part_id(const struct perfetto *px, uint32_t id)
{
	if (!px->part)
		return id;
	if (id < (1u << 22) || (id >= TID_STATE && id < TID_STATE + (1u << 22)))
		return id + (px->part << 22);
	if (id >= PID_ANALYSIS)
		return id + 2 * px->part;
	if (id >= TID_BLOCK)
		return id + px->part * BLK_DEVS * BLK_LANES;
	return id + px->part * 8 * MAX_TRAINERS;
}

/*
 * Opens one event; "ph" and "ts" come first (Perfetto's tokenizer looks for "ts"
 * early).  The hot path of the export: formatted by hand, written at once.
 */
static void ev_open(struct perfetto *px, char ph, uint64_t ts, uint32_t pid, uint32_t tid)
{
	char buf[128], *p = buf;

	p = stpcpy(p, px->doc->nevents++ ? ",\n{\"ph\":\"" : "\n{\"ph\":\"");
	*p++ = ph;
	*p++ = '"';
	if (ph != 'M')
		p = put_us(p, "ts", rel(px, ts));
	p = stpcpy(p, ",\"pid\":");
	p = put_u(p, part_id(px, pid));
	p = stpcpy(p, ",\"tid\":");
	p = put_u(p, part_id(px, tid));
	fwrite(buf, 1, (size_t)(p - buf), px->f);
	px->nargs = 0;
}

static void ev_name(struct perfetto *px, const char *cat, const char *name)
{
	if (cat)
		fprintf(px->f, ",\"cat\":\"%s\"", cat);
	fputs(",\"name\":", px->f);
	json_str(px->f, name);
}

static void arg_key(struct perfetto *px, const char *k)
{
	char buf[64], *p = buf;

	p = stpcpy(p, px->nargs++ ? ",\"" : ",\"args\":{\"");
	p = stpncpy(p, k, 48);
	*p++ = '"';
	*p++ = ':';
	fwrite(buf, 1, (size_t)(p - buf), px->f);
}

static void arg_u(struct perfetto *px, const char *k, unsigned long long v)
{
	char buf[24];

	arg_key(px, k);
	fwrite(buf, 1, (size_t)(put_u(buf, v) - buf), px->f);
}

static void arg_i(struct perfetto *px, const char *k, long long v)
{
	arg_key(px, k);
	fprintf(px->f, "%lld", v);
}

static void arg_s(struct perfetto *px, const char *k, const char *v)
{
	arg_key(px, k);
	json_str(px->f, v);
}

static void arg_ms(struct perfetto *px, const char *k, uint64_t ns)
{
	arg_key(px, k);
	fprintf(px->f, "%.3f", (double)ns / 1e6);
}

static void arg_comm(struct perfetto *px, const char *k, const char *comm, uint32_t tid)
{
	char buf[ST_COMM_LEN + 24];

	snprintf(buf, sizeof(buf), "%.*s (%u)", ST_COMM_LEN, comm && comm[0] ? comm : "?", tid);
	arg_s(px, k, buf);
}

/* "comm (tid)" of a thread of the pass: its name now (the name it had then). */
static void arg_thread(struct perfetto *px, const char *k, uint32_t tid)
{
	struct thr *t = an__find_thread(px->a, tid);

	arg_comm(px, k, t ? t->comm : NULL, tid);
}

static void ev_close(struct perfetto *px)
{
	fputs(px->nargs > 0 ? "}}" : "}", px->f);
}

static void meta(struct perfetto *px, const char *what, uint32_t pid, uint32_t tid,
		 const char *name)
{
	ev_open(px, 'M', 0, pid, tid);
	ev_name(px, NULL, what);
	arg_s(px, "name", name);
	ev_close(px);
}

static void meta_sort(struct perfetto *px, const char *what, uint32_t pid, uint32_t tid, int idx)
{
	ev_open(px, 'M', 0, pid, tid);
	ev_name(px, NULL, what);
	arg_i(px, "sort_index", idx);
	ev_close(px);
}

/* Clips [s, e] to the window: false when nothing is left (a span cut to a point). */
static bool clip(const struct perfetto *px, uint64_t *s, uint64_t *e)
{
	bool point = *s == *e;

	if (*e < px->wfrom || *s > px->wto)
		return false;
	if (*s < px->wfrom)
		*s = px->wfrom;
	if (*e > px->wto)
		*e = px->wto;
	return point || *s < *e;
}

/* ------------------------------------------------------------ counters */

/* Halves the resolution of every counter: the window grew past NBUCKETS buckets. */
static void grid_double(struct perfetto *px)
{
	float *all[NCOUNTERS + NWK * WK_PROCS];
	unsigned n = 0;

	for (int c = 0; c < NCOUNTERS; c++)
		all[n++] = px->ctr[c];
	for (uint32_t i = 0; i < px->nwk; i++)
		for (int c = 0; c < NWK; c++)
			all[n++] = px->wk[i].v[c];
	for (unsigned k = 0; k < n; k++) {
		float *v = all[k];

		if (!v)
			continue;
		for (unsigned i = 0; i < NBUCKETS / 2; i++)
			v[i] = v[2 * i] + v[2 * i + 1];
		memset(v + NBUCKETS / 2, 0, sizeof(*v) * NBUCKETS / 2);
	}
	px->bw *= 2;
}

/* Spreads `amount` over [a, b) of a counter, in proportion to time. */
static void spread(struct perfetto *px, float *v, uint64_t a, uint64_t b, double amount)
{
	uint64_t lo, hi, i;

	if (!v || !clip(px, &a, &b) || amount <= 0)
		return;
	while ((b - px->wfrom) / px->bw >= NBUCKETS)
		grid_double(px);
	if (b == a) {
		v[(a - px->wfrom) / px->bw] += (float)amount;
		return;
	}
	for (i = (a - px->wfrom) / px->bw; i < NBUCKETS; i++) {
		lo = px->wfrom + i * px->bw;
		hi = lo + px->bw;
		if (lo >= b)
			break;
		lo = lo > a ? lo : a;
		hi = hi < b ? hi : b;
		v[i] += (float)(amount * (double)(hi - lo) / (double)(b - a));
	}
}

/* The counters of a worker candidate (a process with a parent), made on first use. */
static struct pwk *wk_of(struct perfetto *px, const struct thr *t)
{
	uint64_t *slot;
	struct pwk *w;

	if (!t->proc || !t->proc->parent || !(slot = hmap_slot(&px->pix, t->proc->pid)))
		return NULL;
	if (*slot)
		return *slot == UINT64_MAX ? NULL : &px->wk[*slot - 1];
	if (px->nwk == WK_PROCS) {
		px->wk_full = true;
		*slot = UINT64_MAX;
		return NULL;
	}
	w = &px->wk[px->nwk];
	w->pid = t->proc->pid;
	for (int c = 0; c < NWK; c++)
		if (!(w->v[c] = calloc(NBUCKETS, sizeof(float))))
			px->wk_full = true;
	*slot = ++px->nwk;
	return w;
}

/* ------------------------------------------------------------ state tracks */

static const char *state_label(const struct thr *t, const struct seg *g, bool runnable)
{
	if (g->kind == SEG_CPU)
		return "Running";
	if (runnable)
		return "Runnable (woken)";
	switch (g->state) {
	case ST_STATE_RUNNING:
		return g->start <= t->first_ts ? "Runnable (new)" : "Runnable (preempted)";
	case ST_STATE_SLEEP: return "Sleeping";
	case ST_STATE_DISK: return "Uninterruptible (D)";
	case ST_STATE_IDLE: return "Idle (I)";
	case ST_STATE_STOPPED: return "Stopped";
	default: return "Unknown";
	}
}

static const char *relation_name(unsigned wrel)
{
	static const char *const n[] = {
		[WREL_IRQ] = "interrupt", [WREL_UNTRACED] = "untraced task",
		[WREL_SELF] = "itself", [WREL_SIBLING] = "sibling thread",
		[WREL_CHILD] = "data-loader worker", [WREL_RELAY] = "batch relay",
		[WREL_OTHER] = "another process",
	};

	return wrel < sizeof(n) / sizeof(n[0]) ? n[wrel] : NULL;
}

/* The evidence of an off-CPU segment: what it was blocked in, and what ended it. */
static void seg_args(struct perfetto *px, const struct seg *g, int cat)
{
	const char *path, *name;
	struct proc *pp;

	if (g->nr != SC_NONE) {
		name = st_syscall_name(g->nr);
		if (name)
			arg_s(px, "syscall", name);
		else
			arg_u(px, "syscall_nr", g->nr);
	}
	if ((path = g->ino ? an__path(px->a, g->dev, g->ino) : NULL))
		arg_s(px, "file", path);
	else if (g->fdkind)
		arg_s(px, "fd_kind", st_fd_kind_name(g->fdkind));
	if (g->wrel == WREL_IRQ)
		arg_s(px, "woken_by", g->flags & SEG_SOFTIRQ ? "a softirq (network)" : "an interrupt");
	else if (g->wrel != WREL_NONE && g->waker)
		arg_thread(px, "woken_by", g->waker);
	if (g->waker2)
		arg_thread(px, "woken_by_via", g->waker2);
	if (g->wrel != WREL_NONE && relation_name(g->wrel))
		arg_s(px, "waker_is", relation_name(g->wrel));
	if (g->peer && cat == CAT_COLL) {
		arg_u(px, "traffic_from_pid", g->peer);
		if ((pp = an__find_proc(px->a, g->peer)) && pp->id && pp->id->rank >= 0)
			arg_i(px, "traffic_from_rank", pp->id->rank);
	}
}

/* Writes the state slice being drawn (cut to the window). */
static void state_flush(struct perfetto *px, struct pthr *p)
{
	const struct thr *t;
	uint64_t s = p->s, e = p->e;

	if (!p->open)
		return;
	p->open = false;
	if (!clip(px, &s, &e) || s == e || !(t = an__find_thread(px->a, p->tid)))
		return;
	p->states = true;
	ev_open(px, 'X', s, p->pid, p->tid + TID_STATE);
	put_ts(px, "dur", e - s);
	ev_name(px, "state", cat_names[p->cat]);
	fprintf(px->f, ",\"cname\":\"%s\"", cat_cnames[p->cat]);
	arg_s(px, "state", state_label(t, &p->g, p->runnable));
	if (p->g.kind == SEG_OFF)
		seg_args(px, &p->g, p->cat);
	ev_close(px);
}

/*
 * A wakeup arrow at ts: "s" on the waker's state track, "f" on the wakee's, bound to
 * the slice that encloses it ("bp":"e": viewers sort events by time, slices first,
 * so the wakee's slice that starts at ts holds it).
 */
static void flow_write(struct perfetto *px, const struct pthr *waker, uint32_t wakee, uint64_t ts)
{
	const struct pthr *t = thr_find(px, wakee);
	uint64_t id;

	if (!t)
		return;
	id = ++px->doc->fid;	/* the document's ids: a job's parts share them */
	px->flows++;
	ev_open(px, 's', ts, waker->pid, waker->tid + TID_STATE);
	fprintf(px->f, ",\"id\":%llu", (unsigned long long)id);
	ev_name(px, "wakeup", "wakeup");
	ev_close(px);
	ev_open(px, 'f', ts, t->pid, t->tid + TID_STATE);
	fprintf(px->f, ",\"id\":%llu,\"bp\":\"e\"", (unsigned long long)id);
	ev_name(px, "wakeup", "wakeup");
	ev_close(px);
}

/*
 * The waker of t's wait ended it at ts, where a slice of t starts: an arrow from the
 * waker's slice at ts.  The waker's pieces may not have reached ts yet (each thread's
 * pieces come when its segments are final): the arrow then waits for them.
 */
static void flow_want(struct perfetto *px, uint32_t wakee, uint32_t waker_tid, uint64_t ts)
{
	const struct thr *aw = an__find_thread(px->a, waker_tid);
	struct pthr *w;
	struct pflow *n;

	if (ts < px->wfrom || ts >= px->wto || !aw || !(aw->flags & TF_TRACED) ||
	    waker_tid == wakee || !(w = thr_kept(px, waker_tid)))
		return;		/* no arrow from a track that is not drawn */
	if (w->started && ts < w->first) {
		px->flows_unbound++;
	} else if (w->started && ts <= w->covered) {
		flow_write(px, w, wakee, ts);
	} else if (px->pending < FLOWS_PENDING &&
		   (n = vec_grow(w->waits, &w->capwaits, w->nwaits + 1, sizeof(*n)))) {
		w->waits = n;
		w->waits[w->nwaits++] = (struct pflow){ .ts = ts, .wakee = wakee };
		px->pending++;
	} else {
		px->flows_unbound++;	/* a waker whose pieces never come: bounded memory */
	}
}

/* The arrows waiting for w's pieces that now reach them. */
static void flows_ready(struct perfetto *px, struct pthr *w)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < w->nwaits; i++) {
		struct pflow f = w->waits[i];

		if (f.ts > w->covered)
			w->waits[k++] = f;
		else if (f.ts < w->first)
			px->flows_unbound++;
		else
			flow_write(px, w, f.wakee, f.ts);
	}
	px->pending -= w->nwaits - k;
	w->nwaits = k;
}

static bool woken_by_task(const struct seg *g)
{
	return g->kind == SEG_OFF && g->waker && g->wrel != WREL_NONE && g->wrel != WREL_IRQ &&
	       g->wrel != WREL_SELF && g->wrel != WREL_UNTRACED;
}

/* Where a wait's arrow lands: its runnable piece, or the piece after it. */
static void piece_flows(struct perfetto *px, struct pthr *p, uint64_t s, uint64_t e,
			const struct seg *g, bool runnable)
{
	if (p->flow_at == s)
		flow_want(px, p->tid, p->flow_waker, s);
	p->flow_at = 0;
	if (!woken_by_task(g))
		return;
	if (runnable && s == g->wake) {
		flow_want(px, p->tid, g->waker, s);
	} else if (!runnable && e == g->end && g->wake == g->end) {
		p->flow_at = e;
		p->flow_waker = g->waker;
	}
}

static void piece_counters(struct perfetto *px, const struct thr *t, uint64_t s, uint64_t e,
			   const struct seg *g, bool runnable)
{
	bool rq = g->kind == SEG_OFF && (runnable || g->state == ST_STATE_RUNNING);
	struct pwk *w;

	if (rq)
		spread(px, px->ctr[C_RUNNABLE_ALL], s, e, (double)(e - s));
	if ((rq || g->kind == SEG_CPU) && (w = wk_of(px, t)))
		spread(px, w->v[rq ? W_RUNNABLE : W_RUNNING], s, e, (double)(e - s));
}

static bool over(struct perfetto *px);

/* The observer: [s, e) of t accounted in category cat. */
static void on_piece(void *ctx, struct an *a, const struct thr *t, uint64_t s, uint64_t e,
		     int cat, const struct seg *g, bool runnable)
{
	struct perfetto *px = ctx;
	struct pthr *p;

	if (over(px) || !(p = thr_kept(px, t->tid)))
		return;
	if (!p->started) {
		p->started = true;
		p->first = s;
	}
	p->covered = e;
	piece_flows(px, p, s, e, g, runnable);
	piece_counters(px, t, s, e, g, runnable);
	/* pieces of one segment and category, cut at snapshots: one slice */
	if (!p->open || s != p->e || cat != p->cat || runnable != p->runnable ||
	    g->kind != p->g.kind || g->start != p->g.start) {
		state_flush(px, p);
		p->open = true;
		p->s = s;
		p->cat = (uint8_t)cat;
		p->runnable = runnable;
		p->g = *g;
	}
	p->e = e;
	if (p->nwaits)
		flows_ready(px, p);
}

/* ------------------------------------------------------------ facts: thread tracks */

/*
 * Slices of a thread track must nest (a probed call holds the syscalls it made).
 * They arrive in completion order, so a new one holds the latest top-level slices
 * or follows them.  The last NEST_RING top-level slices are kept: a new slice that
 * would cut one starts after it instead; one ending inside the latest (a record
 * delayed past the tracer's reorder window) is dropped and counted.
 */
static bool nest__fit(struct nest *n, uint64_t *s, uint64_t e)
{
	uint32_t i;

	while (n->n) {
		i = (n->top + NEST_RING - 1) % NEST_RING;
		if (e < n->e[i] || (e == n->e[i] && *s > n->s[i] && *s < e))
			return false;
		if (n->s[i] < *s)
			break;
		n->top = i;
		n->n--;
	}
	if (n->n) {
		i = (n->top + NEST_RING - 1) % NEST_RING;
		if (n->e[i] > *s)
			*s = n->e[i];
	}
	n->s[n->top] = *s;
	n->e[n->top] = e;
	n->top = (n->top + 1) % NEST_RING;
	if (n->n < NEST_RING)
		n->n++;
	return true;
}

/* Opens an "X" (or, when dur is 0 and inst, an "i") event on a thread's own track. */
static bool thread_slice(struct perfetto *px, uint32_t tid, uint64_t s, uint64_t e, bool inst)
{
	struct pthr *t = thr_kept(px, tid);

	if (!t || !clip(px, &s, &e))
		return false;
	if (!t->nest && !(t->nest = calloc(1, sizeof(*t->nest))))
		return false;
	if (!nest__fit(t->nest, &s, e)) {
		px->dropped_slices++;
		return false;
	}
	t->facts = true;
	ev_open(px, inst ? 'i' : 'X', s, t->pid, t->tid);
	if (inst)
		fputs(",\"s\":\"t\"", px->f);
	else
		put_ts(px, "dur", e - s);
	return true;
}

static const char *futex_op_name(uint32_t op)
{
	static const char *const n[] = {
		"WAIT", "WAKE", "FD", "REQUEUE", "CMP_REQUEUE", "WAKE_OP", "LOCK_PI",
		"UNLOCK_PI", "TRYLOCK_PI", "WAIT_BITSET", "WAKE_BITSET", "WAIT_REQUEUE_PI",
		"CMP_REQUEUE_PI", "LOCK_PI2",
	};
	uint32_t cmd = op & ~(128u | 256u);	/* FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME */

	return cmd < sizeof(n) / sizeof(n[0]) ? n[cmd] : "other";
}

static void sc_fd_args(struct perfetto *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	const char *path;

	if (sc->present & ST_SC_FD) {
		arg_i(px, "fd", sc->fd.fd);
		path = an__path(px->a, sc->fd.dev, sc->fd.ino);
		if (path && !(sc->present & ST_SC_PATH))
			arg_s(px, "file", path);
		arg_s(px, "fd_kind", st_fd_kind_name(sc->fd.kind));
	}
	if (sc->present & ST_SC_PATH)
		arg_s(px, "path", ev->str);
	if (sc->present & ST_SC_COUNT) {
		const char *n = st_syscall_name(sc->b.nr);

		arg_u(px, n && strstr(n, "poll") ? "nfds" : "bytes", sc->count);
	}
	if (sc->present & ST_SC_OFFSET)
		arg_u(px, "offset", sc->offset);
}

static void sc_args(struct perfetto *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	char buf[48];

	sc_fd_args(px, ev);
	if (sc->present & ST_SC_FUTEX) {
		arg_s(px, "futex_op", futex_op_name(sc->futex.op));
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)sc->futex.uaddr);
		arg_s(px, "futex_addr", buf);
	}
	if ((sc->present & ST_SC_TIMEOUT) && sc->timeout >= 0)
		arg_ms(px, "timeout_ms", (uint64_t)sc->timeout);
	if (sc->present & ST_SC_PCACHE)
		arg_u(px, "pages_from_disk", sc->pcache_pages);
	if (sc->present & ST_SC_FDS) {
		snprintf(buf, sizeof(buf), "%d,%d", sc->fds[0], sc->fds[1]);
		arg_s(px, "fds", buf);
	}
	if (sc->b.ret < 0 && sc->b.ret >= -4095) {
		const char *e = strerrorname_np((int)-sc->b.ret);

		snprintf(buf, sizeof(buf), "%s", e ? e : "error");
		arg_s(px, "error", buf);
	} else {
		arg_i(px, "ret", sc->b.ret);
	}
	if (sc->b.flags2 & ST_SC2_NO_ENTRY)
		arg_s(px, "note", "entered before tracing began: start unknown");
}

static bool is_file_read(const struct st_ev_syscall *sc)
{
	if (sc->b.ret <= 0 || !(sc->present & ST_SC_FD))
		return false;
	if (sc->fd.kind != ST_FD_REG && sc->fd.kind != ST_FD_BLK)
		return false;
	return st_syscall_class(sc->b.nr) & ST_SYSC_READ;
}

static void on_syscall(struct perfetto *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	const char *name = st_syscall_name(sc->b.nr);
	struct thr *t = an__find_thread(px->a, sc->b.tid);
	uint64_t e = ev->ts, s = sc->b.dur < e ? e - sc->b.dur : 0;
	char buf[32];

	if (!t)
		return;
	/* entered before the thread's life in the trace began: from where the pass starts it */
	if (sc->b.flags2 & ST_SC2_NO_ENTRY)
		s = t->first_ts < e ? t->first_ts : e;
	if (px->filter && !thr_kept(px, sc->b.tid))
		return;
	if (is_file_read(sc))
		spread(px, px->ctr[C_FILE_READ], s, e, (double)sc->b.ret);
	if (!name) {
		snprintf(buf, sizeof(buf), "syscall_%u", sc->b.nr);
		name = buf;
	}
	if (!thread_slice(px, sc->b.tid, s, e, false))
		return;
	ev_name(px, "syscall", name);
	sc_args(px, ev);
	ev_close(px);
}

static void on_probe_def(struct perfetto *px, const struct st_event *ev)
{
	uint64_t *slot = hmap_slot(&px->probes, (uint64_t)ev->pdef.id + 1);

	if (slot)
		*slot = (uint64_t)ev->pdef.role << 32 |
			intern(px, ev->str2 && ev->str2[0] ? ev->str2 : "probe", 256);
}

static void on_probe(struct perfetto *px, const struct st_event *ev)
{
	uint64_t *def = hmap_find(&px->probes, (uint64_t)ev->probe.id + 1);
	const char *sym = def ? arena_str(px, *def & 0xffffffffu) : NULL;
	unsigned role = def ? (unsigned)(*def >> 32) : 0;
	uint64_t e = ev->ts, s = ev->probe.dur < e ? e - ev->probe.dur : 0;

	if (!an__find_thread(px->a, ev->probe.tid) ||
	    !thread_slice(px, ev->probe.tid, s, e, s == e))
		return;
	ev_name(px, "probe", role == ST_PROBE_STEP && s == e ? "step mark" : sym ? sym : "probe");
	arg_u(px, "probe_id", ev->probe.id);
	arg_s(px, "role", role == ST_PROBE_STEP ? "step" : role == ST_PROBE_GPU_SYNC ? "gpu_sync" :
	      role == ST_PROBE_GPU_LAUNCH ? "gpu_launch" : "plain");
	ev_close(px);
}

static void on_proc(struct perfetto *px, const struct st_event *ev)
{
	switch (ev->type) {
	case ST_REC_FORK:
		if (!thread_slice(px, ev->fork.parent_tid, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", ev->flags & ST_FORK_THREAD ? "new thread" : "fork");
		arg_u(px, "child_tid", ev->fork.child_tid);
		arg_u(px, "child_pid", ev->fork.child_pid);
		break;
	case ST_REC_EXEC:
		if (!thread_slice(px, ev->exec.tid, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", "exec");
		arg_s(px, "file", ev->str);
		break;
	case ST_REC_EXIT:
		if (!thread_slice(px, ev->exit.tid, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", "exit");
		arg_i(px, "exit_code", ev->exit.exit_code);
		break;
	default:
		return;
	}
	ev_close(px);
}

static void name_analysis(struct perfetto *px)
{
	char buf[96];

	if (px->analysis_named)
		return;
	px->analysis_named = true;
	snprintf(buf, sizeof(buf), "stalltrace analysis%s%.60s", px->multi ? ": " : "",
		 px->multi && px->host ? px->host : "");
	meta(px, "process_name", PID_ANALYSIS, PID_ANALYSIS, buf);
	meta_sort(px, "process_sort_index", PID_ANALYSIS, PID_ANALYSIS, (int)px->part * 1000);
}

/* The tracer's drop counters moved: a global marker, so nobody trusts a gap blindly. */
static void on_drops(struct perfetto *px, const struct st_drops *d, uint64_t ts)
{
	uint64_t total = 0, before = px->drops_seen;

	for (uint32_t i = 0; i < d->nkinds && i < ST_KIND_MAX; i++)
		total += d->count[i];
	if (total <= before)
		return;
	px->drops_seen = total;
	if (ts < px->wfrom || ts > px->wto)
		return;
	name_analysis(px);
	ev_open(px, 'i', ts, PID_ANALYSIS, PID_ANALYSIS);
	fputs(",\"s\":\"g\"", px->f);
	ev_name(px, "tracer", "tracer dropped events");
	arg_u(px, "dropped", total - before);
	arg_u(px, "dropped_total", total);
	ev_close(px);
}

/* ------------------------------------------------------------ block I/O */

static struct pdev *dev_get(struct perfetto *px, uint32_t dev)
{
	for (uint32_t i = 0; i < px->ndevs; i++)
		if (px->devs[i].dev == dev)
			return &px->devs[i];
	if (px->ndevs == BLK_DEVS)
		return NULL;
	px->devs[px->ndevs].dev = dev;
	return &px->devs[px->ndevs++];
}

/* A lane free at s, else the one that frees first (the request is then cut to fit). */
static unsigned lane_for(struct pdev *d, uint64_t s)
{
	unsigned best = 0;

	for (unsigned l = 0; l < BLK_LANES; l++) {
		if (d->lane_end[l] <= s)
			return l;
		if (d->lane_end[l] < d->lane_end[best])
			best = l;
	}
	return best;
}

static void name_lane(struct perfetto *px, struct pdev *d, unsigned lane, uint32_t tid)
{
	char buf[64];

	if (!px->block_named) {
		px->block_named = true;
		meta(px, "process_name", PID_BLOCK, PID_BLOCK, "block devices");
		meta_sort(px, "process_sort_index", PID_BLOCK, PID_BLOCK, (int)px->part * 1000 + 999);
	}
	if (d->named & (1u << lane))
		return;
	d->named |= 1u << lane;
	snprintf(buf, sizeof(buf), "disk %u:%u #%u", d->dev >> 20, d->dev & 0xfffff, lane);
	meta(px, "thread_name", PID_BLOCK, tid, buf);
	meta_sort(px, "thread_sort_index", PID_BLOCK, tid, (int)tid - (int)TID_BLOCK);
}

static void on_block(struct perfetto *px, const struct st_event *ev)
{
	const struct st_block *b = &ev->blk;
	struct pdev *d = dev_get(px, b->dev);
	uint64_t e = ev->ts, s = b->service < e ? e - b->service : 0;
	unsigned lane;
	uint32_t tid;
	char name[64];

	if (px->filter && !thr_kept(px, b->tid))
		return;			/* --ranks: another process's request */
	if (b->op == ST_BLK_READ)
		spread(px, px->ctr[C_DISK_READ], s, e, b->bytes);
	if (!d || !clip(px, &s, &e))
		return;
	lane = lane_for(d, s);
	if (d->lane_end[lane] > s)
		s = d->lane_end[lane] < e ? d->lane_end[lane] : e;
	d->lane_end[lane] = e;
	tid = TID_BLOCK + (uint32_t)(d - px->devs) * BLK_LANES + lane;
	name_lane(px, d, lane, tid);
	ev_open(px, 'X', s, PID_BLOCK, tid);
	put_ts(px, "dur", e - s);
	snprintf(name, sizeof(name), "%s %u KiB", st_blk_op_name(b->op), (b->bytes + 1023) / 1024);
	ev_name(px, "block", name);
	arg_u(px, "bytes", b->bytes);
	arg_u(px, "sector", b->sector);
	arg_ms(px, "queued_ms", b->queued);
	arg_thread(px, "submitted_by", b->tid);
	if (b->error)
		arg_i(px, "error", b->error);
	ev_close(px);
}

/* The observer: a record the pass took in; the timeline shows some as they are. */
static void on_record(void *ctx, struct an *a, const struct st_event *ev)
{
	struct perfetto *px = ctx;

	if (over(px))
		return;
	switch (ev->type) {
	case ST_REC_SYSCALL:
		on_syscall(px, ev);
		break;
	case ST_REC_PROBE_DEF:
		on_probe_def(px, ev);
		break;
	case ST_REC_PROBE:
		on_probe(px, ev);
		break;
	case ST_REC_BLOCK:
		on_block(px, ev);
		break;
	case ST_REC_FORK:
	case ST_REC_EXEC:
	case ST_REC_EXIT:
		on_proc(px, ev);
		break;
	case ST_REC_DROPS:
		on_drops(px, &ev->drops, ev->ts);
		break;
	case ST_REC_TRAILER:
		on_drops(px, &ev->trailer.drops, ev->ts);
		break;
	}
}

/* ------------------------------------------------------------ analysis tracks */

/* A track of the analysis pseudo-process whose slices follow each other. */
struct seq {
	struct perfetto *px;
	const struct an_trainer *tr;
	uint32_t tid;
	const char *label;
	uint64_t last_end;
	bool named;
};

static bool seq_slice(struct seq *q, uint64_t s, uint64_t e)
{
	struct perfetto *px = q->px;
	char buf[96];

	if (!clip(px, &s, &e))
		return false;
	if (s < q->last_end)
		s = q->last_end;
	if (e < s)
		return false;
	q->last_end = e;
	if (!q->named) {
		char rank[24] = "";

		q->named = true;
		name_analysis(px);
		if (q->tr->id.rank >= 0)
			snprintf(rank, sizeof(rank), " rank %d", q->tr->id.rank);
		snprintf(buf, sizeof(buf), "%s:%s %.*s %u", q->label, rank, ST_COMM_LEN,
			 q->tr->comm, q->tr->pid);
		meta(px, "thread_name", PID_ANALYSIS, q->tid, buf);
		meta_sort(px, "thread_sort_index", PID_ANALYSIS, q->tid,
			  (int)(q->tid - TID_ANALYSIS));
	}
	ev_open(px, 'X', s, PID_ANALYSIS, q->tid);
	put_ts(px, "dur", e - s);
	return true;
}

static void step_args(struct perfetto *px, const struct an_step *st)
{
	char key[48];

	arg_ms(px, "dur_ms", st->dur);
	arg_s(px, "mostly", cat_names[st->primary]);
	for (int c = 0; c < NCAT; c++) {
		snprintf(key, sizeof(key), "%s_ms", cat_names[c]);
		arg_ms(px, key, st->ns[c]);
	}
	if (st->launches)
		arg_u(px, "gpu_launches", st->launches);
}

/* Every step; past STEP_CHART_MAX the analysis keeps groups of consecutive steps. */
static void steps_track(struct perfetto *px, const struct an_trainer *tr, uint32_t tid)
{
	struct seq q = { .px = px, .tr = tr, .tid = tid, .label = "steps" };
	uint32_t per = tr->steps.per_chart ? tr->steps.per_chart : 1, first, last;
	char name[64];

	for (uint32_t i = 0; i < tr->steps.nchart; i++) {
		const struct an_step *st = &tr->steps.chart[i];
		uint64_t e = st->start + st->dur;

		if (per > 1)
			e = i + 1 < tr->steps.nchart ? tr->steps.chart[i + 1].start :
			    st->start + st->dur * per;
		if (!seq_slice(&q, st->start, e))
			continue;
		first = i * per + 1;
		last = first + per - 1 < tr->steps.count ? first + per - 1 : tr->steps.count;
		if (per == 1)
			snprintf(name, sizeof(name), "step %u", first);
		else
			snprintf(name, sizeof(name), "steps %u-%u", first, last);
		ev_name(px, "step", name);
		step_args(px, st);
		if (per > 1)
			arg_s(px, "note", "a group of consecutive steps: per-step means");
		ev_close(px);
	}
}

static int by_start(const void *a, const void *b)
{
	const struct an_step *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void slow_track(struct perfetto *px, const struct an_trainer *tr, uint32_t tid)
{
	struct seq q = { .px = px, .tr = tr, .tid = tid, .label = "slowest steps" };
	struct an_step slow[MAX_SLOW];
	uint32_t n = tr->steps.nslow < MAX_SLOW ? tr->steps.nslow : MAX_SLOW;
	char name[64];

	memcpy(slow, tr->steps.slow, n * sizeof(slow[0]));
	qsort(slow, n, sizeof(slow[0]), by_start);
	for (uint32_t i = 0; i < n; i++) {
		if (!seq_slice(&q, slow[i].start, slow[i].start + slow[i].dur))
			continue;
		snprintf(name, sizeof(name), "slow step: %.1f ms, mostly %s",
			 (double)slow[i].dur / 1e6, cat_names[slow[i].primary]);
		ev_name(px, "step", name);
		step_args(px, &slow[i]);
		ev_close(px);
	}
}

static int stall_by_start(const void *a, const void *b)
{
	const struct an_stall *x = a, *y = b;

	return x->s.start < y->s.start ? -1 : x->s.start > y->s.start;
}

static void stall_args(struct perfetto *px, const struct an_stall *st, uint32_t rank)
{
	arg_u(px, "rank", rank);
	arg_ms(px, "dur_ms", st->s.dur);
	arg_s(px, "cause", cat_names[st->s.cat]);
	if (st->syscall)
		arg_s(px, "syscall", st->syscall);
	if (st->path)
		arg_s(px, "file", st->path);
	else if (st->s.fdkind)
		arg_s(px, "fd_kind", st_fd_kind_name(st->s.fdkind));
	arg_s(px, "state", st_state_name(st->s.state));
	if (st->s.waker)
		arg_comm(px, "woken_by", st->waker_comm, st->s.waker);
	if (st->s.waker2)
		arg_comm(px, "woken_by_via", st->waker2_comm, st->s.waker2);
	if (st->s.peer) {
		arg_u(px, "traffic_from_pid", st->s.peer);
		if (st->peer_rank >= 0)
			arg_i(px, "traffic_from_rank", st->peer_rank);
	}
}

static void stalls_track(struct perfetto *px, const struct an_trainer *tr, uint32_t tid)
{
	struct seq q = { .px = px, .tr = tr, .tid = tid, .label = "top stalls" };
	struct an_stall st[MAX_TOP_STALLS];
	uint32_t n = tr->nstalls < MAX_TOP_STALLS ? tr->nstalls : MAX_TOP_STALLS, rank;

	memcpy(st, tr->stalls, n * sizeof(st[0]));
	qsort(st, n, sizeof(st[0]), stall_by_start);
	for (uint32_t i = 0; i < n; i++) {
		if (!seq_slice(&q, st[i].s.start, st[i].s.start + st[i].s.dur))
			continue;
		for (rank = 0; rank < n && tr->stalls[rank].s.start != st[i].s.start; rank++)
			;
		ev_name(px, "stall", cat_names[st[i].s.cat]);
		stall_args(px, &st[i], rank + 1);
		ev_close(px);
	}
}

/* Its waits for the other ranks, each from its arrival at a collective to its end. */
static void coll_track(struct perfetto *px, const struct an_trainer *tr, uint32_t tid)
{
	struct seq q = { .px = px, .tr = tr, .tid = tid, .label = "collective waits" };
	const struct an_result *res = px->res;

	for (uint32_t i = 0; i < tr->coll.n; i++) {
		const struct coll *c = &tr->coll.w[i];
		int32_t rank = -1;

		if (!seq_slice(&q, c->start, c->wake))
			continue;
		for (uint32_t k = 0; k < res->ntr; k++)
			if (res->tr[k].pid == c->peer)
				rank = res->tr[k].id.rank;
		ev_name(px, "collective", "collective_wait");
		arg_ms(px, "dur_ms", c->wake - c->start);
		if (c->peer)
			arg_u(px, "traffic_from_pid", c->peer);
		if (rank >= 0)
			arg_i(px, "traffic_from_rank", rank);
		ev_close(px);
	}
}

static void verdict_track(struct perfetto *px, const struct an_trainer *tr, uint32_t tid)
{
	struct seq q = { .px = px, .tr = tr, .tid = tid, .label = "verdict" };
	char key[32];

	if (!tr->verdict.primary || !seq_slice(&q, tr->win_start, tr->win_end))
		return;
	ev_name(px, "verdict", tr->verdict.primary);
	arg_s(px, "summary", tr->verdict.summary);
	for (unsigned i = 0; i < (unsigned)tr->verdict.nadvice && i < MAX_ADVICE; i++) {
		snprintf(key, sizeof(key), "advice_%u", i + 1);
		arg_s(px, key, tr->verdict.advice[i]);
	}
	arg_s(px, "window", tr->win_source);
	ev_close(px);
}

static void analysis_tracks(struct perfetto *px)
{
	const struct an_result *res = px->res;

	for (uint32_t i = 0; res && i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];
		uint32_t base = TID_ANALYSIS + 8 * i;

		if (px->filter && !chosen(&px->o, tr->id.rank))
			continue;
		verdict_track(px, tr, base);
		steps_track(px, tr, base + 1);
		slow_track(px, tr, base + 2);
		stalls_track(px, tr, base + 3);
		coll_track(px, tr, base + 4);
	}
}

/* ------------------------------------------------------------ names, at the end */

enum role { R_OTHER = 0, R_TRAINER, R_MAIN, R_RELAY, R_WORKER };

/* What the results say a process is: a trainer (*idx: its index), a worker, other. */
static int proc_role(const struct an_result *res, uint32_t pid, int *idx)
{
	int role = R_OTHER;

	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (tr->pid == pid) {
			*idx = (int)i;
			return R_TRAINER;
		}
		for (uint32_t k = 0; k < tr->dl.nlisted && k < MAX_WORKERS; k++)
			if (tr->dl.w[k].pid == pid && role == R_OTHER) {
				role = R_WORKER;
				*idx = (int)k;
			}
	}
	return role;
}

static int thread_role(const struct an_result *res, uint32_t tid)
{
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (tr->main_tid == tid)
			return R_MAIN;
		for (uint32_t k = 0; k < tr->dl.nrelays && k < MAX_RELAYS; k++)
			if (tr->dl.relay_tid[k] == tid)
				return R_RELAY;
	}
	return R_OTHER;
}

/* Named after its first thread's last name, else its own, else its command line. */
static void name_proc(struct perfetto *px, uint32_t pid)
{
	const struct an_result *res = px->res;
	const struct thr *leader = an__find_thread(px->a, pid);
	const struct proc *p = an__find_proc(px->a, pid);
	const char *base = leader && leader->comm[0] ? leader->comm :
			   p && p->comm[0] ? p->comm : p && p->cmdline ? p->cmdline : "process";
	char buf[ST_COMM_LEN + 128];
	int idx = 0, role = proc_role(res, pid, &idx), sort = 100;
	size_t n;

	if (role == R_TRAINER && res->tr[idx].id.rank >= 0) {
		snprintf(buf, sizeof(buf), "trainer rank %d: %.40s", res->tr[idx].id.rank, base);
		sort = 1 + idx;
	} else if (role == R_TRAINER) {
		snprintf(buf, sizeof(buf), "trainer: %.40s", base);
		sort = 1 + idx;
	} else if (role == R_WORKER) {
		snprintf(buf, sizeof(buf), "data-loader worker: %.40s", base);
		sort = 10 + idx;
	} else {
		snprintf(buf, sizeof(buf), "%.60s", base);
	}
	n = strlen(buf);
	if (px->multi && px->host)
		snprintf(buf + n, sizeof(buf) - n, " on %.40s", px->host);
	meta(px, "process_name", pid, pid, buf);
	meta_sort(px, "process_sort_index", pid, pid, (int)px->part * 1000 + sort);
}

static void name_thread(struct perfetto *px, const struct pthr *t)
{
	const struct thr *at = an__find_thread(px->a, t->tid);
	const char *c = at && at->comm[0] ? at->comm : "thread";
	int role = thread_role(px->res, t->tid);
	int sort = role == R_MAIN ? 0 :
		   2 * (int)((t->tid >= t->pid ? t->tid - t->pid : t->tid) & 0xfffff) + 2;
	const char *what = role == R_MAIN ? " (main training thread)" :
			   role == R_RELAY ? " (batch relay)" : "";
	char buf[ST_COMM_LEN + 64];

	if (t->facts) {
		snprintf(buf, sizeof(buf), "%s%s", c, what);
		meta(px, "thread_name", t->pid, t->tid, buf);
		meta_sort(px, "thread_sort_index", t->pid, t->tid, sort);
	}
	if (t->states) {
		snprintf(buf, sizeof(buf), "%s%s state", c, what);
		meta(px, "thread_name", t->pid, t->tid + TID_STATE, buf);
		meta_sort(px, "thread_sort_index", t->pid, t->tid + TID_STATE, sort + 1);
	}
}

/* Every drawn thread and process, with the names and roles the pass ended with. */
static void names(struct perfetto *px)
{
	struct hmap seen;
	uint64_t k, v, *slot;

	hmap_init(&seen);
	for (size_t i = 0; hmap_iter(&px->tix, &i, &k, &v);) {
		const struct pthr *t = (const struct pthr *)(uintptr_t)v;

		if (!t->facts && !t->states)
			continue;
		name_thread(px, t);
		if ((slot = hmap_slot(&seen, t->pid)) && !*slot) {
			*slot = 1;
			name_proc(px, t->pid);
		}
	}
	hmap_free(&seen);
}

/* ------------------------------------------------------------ counters, at the end */

static double counter_value(const struct perfetto *px, const float *v, uint32_t i, uint32_t nb,
			    bool rate)
{
	double w = (double)px->bw;

	/* the last bucket may be cut by the window's end */
	if (i == nb - 1 && px->wfrom + (uint64_t)i * px->bw < px->wto)
		w = (double)(px->wto - (px->wfrom + (uint64_t)i * px->bw));
	return rate ? v[i] / 1e6 / (w / 1e9) : v[i] / w;
}

static void counter_write(struct perfetto *px, const float *v, const char *const name[2],
			  bool rate)
{
	uint32_t nb = (uint32_t)((px->wto - px->wfrom) / px->bw + 1);
	double last = -1, x;

	if (nb > NBUCKETS)
		nb = NBUCKETS;
	name_analysis(px);
	for (uint32_t i = 0; i <= nb; i++) {
		x = i < nb ? counter_value(px, v, i, nb, rate) : 0;
		if (fabs(x - last) < 1e-9)
			continue;
		last = x;
		ev_open(px, 'C', i < nb ? px->wfrom + (uint64_t)i * px->bw : px->wto,
			PID_ANALYSIS, PID_ANALYSIS);
		ev_name(px, "counter", name[0]);
		arg_key(px, name[1]);
		fprintf(px->f, "%.3f", x);
		ev_close(px);
	}
}

/* The trainers' data-loader workers (as the report lists them): their threads' states. */
static bool workers_sum(struct perfetto *px, float *sum[NWK])
{
	const struct an_result *res = px->res;
	uint64_t *slot;
	bool any = false;

	for (uint32_t i = 0; i < res->ntr; i++) {
		for (uint32_t k = 0; k < res->tr[i].dl.nlisted && k < MAX_WORKERS; k++) {
			slot = hmap_find(&px->pix, res->tr[i].dl.w[k].pid);
			if (!slot || *slot == UINT64_MAX)
				continue;
			any = true;
			for (int c = 0; c < NWK; c++)
				for (unsigned b = 0; b < NBUCKETS && px->wk[*slot - 1].v[c]; b++)
					sum[c][b] += px->wk[*slot - 1].v[c][b];
		}
	}
	return any;
}

static void counters_write(struct perfetto *px)
{
	float *sum[NWK] = { NULL };

	for (int c = 0; c < NCOUNTERS; c++)
		if (px->ctr[c])
			counter_write(px, px->ctr[c], counter_names[c], c != C_RUNNABLE_ALL);
	/* a worker without counters would make them wrong: none then (otherData says) */
	if (!px->res->ntr || px->wk_full)
		return;
	for (int c = 0; c < NWK; c++)
		if (!(sum[c] = calloc(NBUCKETS, sizeof(float))))
			goto out;
	if (workers_sum(px, sum))
		for (int c = 0; c < NWK; c++)
			counter_write(px, sum[c], wk_counter_names[c], false);
out:
	for (int c = 0; c < NWK; c++)
		free(sum[c]);
}

/* ------------------------------------------------------------ the document */

static uint64_t limit_bytes(const struct perfetto *px)
{
	return (px->o.max_mb ? px->o.max_mb : PERFETTO_MAX_MB_DEFAULT) << 20;
}

/*
 * Past the size limit nothing more is written (the sink refuses it): the pass goes
 * on for the report, the export only notes where it stopped.
 */
static bool over(struct perfetto *px)
{
	struct pdoc *d = px->doc;

	if (!d->over && d->sink.err == EFBIG) {
		d->over = true;
		d->over_part = px->part;
		d->over_at = px->a ? px->a->now : 0;
		d->over_bytes = d->sink.bytes;
	}
	return d->over;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct sink *k = cookie;
	size_t done = 0;
	ssize_t n;

	if (k->err)
		return -1;
	if (k->bytes + len > k->cap) {
		k->err = EFBIG;
		return -1;
	}
	while (done < len) {
		n = write(k->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			k->err = n < 0 ? errno : EIO;
			return -1;
		}
		done += (size_t)n;
	}
	k->bytes += len;
	return (ssize_t)len;
}

/*
 * A --perfetto-window edge on this pass's clock: seconds after the start (the job's,
 * for a part of a job's export), or @ns (on the reference node's clock for a part).
 */
static uint64_t edge(const struct perfetto *px, const struct an_time *t, uint64_t def)
{
	uint64_t v = an_time__resolve(t, px->t0, def);

	if (t->kind == 2)
		v = px->offset < 0 || v >= (uint64_t)px->offset ? (uint64_t)((int64_t)v - px->offset) : 0;
	return v;
}

/* The observer: the trace is open, its start known. */
static void on_begin(void *ctx, struct an *a)
{
	struct perfetto *px = ctx;

	px->a = a;
	px->begun = true;
	if (!px->multi)
		px->t0 = a->start_ts;
	px->path = a->o->path;
	px->wfrom = edge(px, &px->o.from, px->t0);
	px->wto = edge(px, &px->o.to, UINT64_MAX);
	if (px->wfrom < px->t0)
		px->wfrom = px->t0;
	px->bw = MIN_BUCKET_NS;
	/* a known window fills its buckets from the start */
	while (px->wto != UINT64_MAX && px->wto > px->wfrom &&
	       (px->wto - px->wfrom) / px->bw >= NBUCKETS)
		px->bw *= 2;
	for (int c = 0; c < NCOUNTERS; c++)
		px->ctr[c] = calloc(NBUCKETS, sizeof(float));
	if (!px->doc->started)
		fputs("{\"traceEvents\":[", px->f);
	px->doc->started = true;
}

/* A view of a pass, on the document doc (NULL: its own, to open). */
static struct perfetto *px_new(const struct perfetto_opts *o, struct pdoc *doc)
{
	struct perfetto *px = calloc(1, sizeof(*px));

	if (!px)
		return NULL;
	if (o)
		px->o = *o;
	px->prog = px->o.prog ? px->o.prog : "analyze";
	px->doc = doc ? doc : &px->own;
	px->f = px->doc->f;
	px->filter = px->o.nranks > 0;
	px->obs = (struct an_obs){ .ctx = px, .begin = on_begin, .piece = on_piece,
				   .record = on_record };
	hmap_init(&px->tix);
	hmap_init(&px->pix);
	hmap_init(&px->probes);
	return px;
}

/* Where the export starts its file: created now, put in place when complete. */
struct perfetto *perfetto__open(const char *out_path, const struct perfetto_opts *o)
{
	cookie_io_functions_t io = { .write = sink_write };
	struct perfetto *px = px_new(o, NULL);
	struct pdoc *d;
	int err;

	if (!px) {
		fprintf(stderr, "%s: out of memory\n", o && o->prog ? o->prog : "analyze");
		return NULL;
	}
	d = px->doc;
	px->out = out_path;
	d->sink.cap = limit_bytes(px);
	if ((err = outfile__open(&d->of, out_path))) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, out_path,
			outfile__error(err));
		perfetto__abort(px);
		return NULL;
	}
	d->opened = true;
	d->sink.fd = d->of.fd;
	if (!(px->f = d->f = fopencookie(&d->sink, "w", io))) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, out_path, strerror(errno));
		perfetto__abort(px);
		return NULL;
	}
	setvbuf(d->f, NULL, _IOFBF, 1 << 20);
	__fsetlocking(d->f, FSETLOCKING_BYCALLER);	/* one thread writes it */
	return px;
}

const struct an_obs *perfetto__observer(struct perfetto *px)
{
	return &px->obs;
}

static void other_data(struct perfetto *px)
{
	const struct an_result *res = px->res;
	FILE *f = px->f;

	fprintf(f, "\n],\n\"otherData\":{\"generator\":\"stalltrace analyze %s\",\"trace\":",
		ST_VERSION);
	json_str(f, px->path);
	fputs(",\"hostname\":", f);
	json_str(f, res->hostname);
	fputs(",\"kernel\":", f);
	json_str(f, res->kernel);
	fputs(",\"cmdline\":", f);
	json_str(f, res->cmdline);
	/* what the reports say on top, for the one who only opens the timeline (keys, not
	 * an array: viewers show otherData as flat metadata) */
	for (int i = 0; i < res->nwarn && i < MAX_WARN; i++) {
		fprintf(f, ",\"warning_%d\":", i + 1);
		json_str(f, res->warn[i]);
	}
	if (px->filter) {
		fputs(",\"ranks\":\"", f);
		for (uint32_t i = 0; i < px->o.nranks; i++)
			fprintf(f, "%s%d", i ? "," : "", px->o.ranks[i]);
		fputc('"', f);
	}
	if (px->wk_full)
		fprintf(f, ",\"worker_counters\":\"left out: more than %d child processes\"",
			WK_PROCS);
	fprintf(f, ",\"timestamps\":\"microseconds since the trace start\","
		"\"trace_start_monotonic_ns\":%llu,\"window_s\":\"%.6f:%.6f\",\"complete\":%s,"
		"\"wakeup_flows\":%llu,\"wakeup_flows_unbound\":%llu,"
		"\"slices_dropped_to_keep_nesting\":%llu}}\n",
		(unsigned long long)px->t0, (double)(px->wfrom - px->t0) / 1e9,
		(double)(px->wto - px->t0) / 1e9, res->complete ? "true" : "false",
		(unsigned long long)px->flows, (unsigned long long)px->flows_unbound,
		(unsigned long long)px->dropped_slices);
}

/* A window that would fit, around the slowest step when the analysis found one. */
static void suggest(const struct perfetto *px, uint64_t est, char *buf, size_t len)
{
	uint64_t span = px->wto - px->wfrom, w, mid = px->wfrom + span / 2, a;
	const struct an_result *res = px->res;
	double fixed = 4096 + 420.0 * (double)px->tix.len;
	double room = (double)limit_bytes(px) - fixed, var, wd;

	if (room <= 0)
		room = (double)limit_bytes(px) / 10;
	var = (double)est - fixed;
	wd = var > 0 ? (double)span * room / var * 0.8 : (double)span;
	/* within the span, and no out-of-range conversion (NaN included) */
	w = wd >= 0 && wd < (double)span ? (uint64_t)wd : span;
	if (res->ntr && res->tr[res->slowest].steps.nslow)
		mid = res->tr[res->slowest].steps.slow[0].start;
	a = mid > px->wfrom + w / 2 ? mid - w / 2 : px->wfrom;
	if (a > px->wto || w > px->wto - a)
		a = px->wto > w ? px->wto - w : px->wfrom;
	a = a < px->wfrom ? px->wfrom : a;
	snprintf(buf, len, "%.3f:%.3f", (double)(a - px->t0) / 1e9, (double)(a + w - px->t0) / 1e9);
}

/* What the whole window would take: the bytes written, over the part they cover. */
static uint64_t over_estimate(const struct perfetto *px)
{
	const struct pdoc *d = px->doc;
	uint64_t span = px->wto - px->wfrom, at = d->over_at > px->wto ? px->wto : d->over_at;
	uint64_t done = at > px->wfrom + 1000000 ? at - px->wfrom : 1000000, est;

	est = (uint64_t)((double)d->over_bytes * ((double)span / (double)done));
	return est > d->over_bytes ? est : d->over_bytes + 1;
}

/* Writing stopped at the limit: about how large all of it is, and a window that fits. */
static int too_big(struct perfetto *px)
{
	uint64_t est = over_estimate(px), at = px->doc->over_at;
	char win[64];

	suggest(px, est, win, sizeof(win));
	fprintf(stderr, "%s: the Perfetto export of %s would be about %llu MB, over the %llu MB "
		"limit (writing stopped %.3f s into the trace): export part of it with "
		"--perfetto-window %s (the trace spans 0-%.3f s), or raise --perfetto-max-mb\n",
		px->prog, px->path, (unsigned long long)((est + (1 << 20) - 1) >> 20),
		(unsigned long long)(limit_bytes(px) >> 20),
		(double)rel(px, at < px->wto ? at : px->wto) / 1e9, win,
		(double)(px->a->end_ts - px->t0) / 1e9);
	return 1;
}

/* The window against the trace's end; false when nothing of the trace is in it. */
static bool window_final(struct perfetto *px)
{
	uint64_t end = px->a->end_ts;

	if (px->wto > end)
		px->wto = end;
	/* a trace of no length (no events) exports as an empty timeline, not an error */
	if (px->wfrom >= px->wto && !px->o.from.kind && !px->o.to.kind)
		px->wto = px->wfrom + 1;
	if (px->wfrom < px->wto)
		return true;
	fprintf(stderr, "%s: --perfetto-window: nothing of %s is in it (the trace spans "
		"0-%.3f s)\n", px->prog, px->path, (double)(end - px->t0) / 1e9);
	return false;
}

/*
 * --ranks: the trace must hold every rank asked for (a part of a job's export holds
 * those of its node).  2, said, when one is missing.
 */
static int ranks_found(struct perfetto *px)
{
	uint32_t found = 0;

	for (uint32_t i = 0; px->filter && i < px->res->ntr; i++)
		found += chosen(&px->o, px->res->tr[i].id.rank);
	if (!px->filter || px->multi || found >= px->o.nranks)
		return 0;
	fprintf(stderr, "%s: --ranks: %s has %u of the %u ranks asked for\n", px->prog, px->path,
		found, px->o.nranks);
	return 2;
}

/* Everything the pass left open, then what only the results know. */
static void finish_part(struct perfetto *px)
{
	uint64_t k, v;

	for (size_t i = 0; hmap_iter(&px->tix, &i, &k, &v);)
		state_flush(px, (struct pthr *)(uintptr_t)v);
	for (size_t i = 0; hmap_iter(&px->tix, &i, &k, &v);) {
		struct pthr *t = (struct pthr *)(uintptr_t)v;

		px->flows_unbound += t->nwaits;	/* its pieces never reached them */
		t->nwaits = 0;
	}
	names(px);
	analysis_tracks(px);
	counters_write(px);
}

static void px_free(struct perfetto *px)
{
	uint64_t k, v;

	for (size_t i = 0; hmap_iter(&px->tix, &i, &k, &v);) {
		struct pthr *t = (struct pthr *)(uintptr_t)v;

		free(t->nest);
		free(t->waits);
		free(t);
	}
	for (uint32_t i = 0; i < px->nwk; i++)
		for (int c = 0; c < NWK; c++)
			free(px->wk[i].v[c]);
	for (int c = 0; c < NCOUNTERS; c++)
		free(px->ctr[c]);
	free(px->arena);
	hmap_free(&px->tix);
	hmap_free(&px->pix);
	hmap_free(&px->probes);
	free(px);
}

/* Closes the document: put in place when ok, else removed.  0, or 1 (said). */
static int doc_close(struct perfetto *px, int status)
{
	struct pdoc *d = px->doc;
	int err;

	if (d->f && fclose(d->f) && !status && !over(px)) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, px->out,
			strerror(d->sink.err ? d->sink.err : errno));
		status = 1;
	}
	d->f = px->f = NULL;
	if (d->opened && (err = outfile__close(&d->of, !status)) && !status) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, px->out, outfile__error(err));
		status = 1;
	}
	d->opened = false;
	return status;
}

void perfetto__abort(struct perfetto *px)
{
	if (!px)
		return;
	if (px->doc == &px->own)
		doc_close(px, 1);
	px_free(px);
}

int perfetto__finish(struct perfetto *px, const struct an_result *res)
{
	int status = 0;

	if (!px->begun) {	/* the analysis could not read the trace (said) */
		perfetto__abort(px);
		return 1;
	}
	px->res = res;
	if (!res->complete)
		fprintf(stderr, "%s: %s: %s; exporting what could be read\n", px->prog, px->path,
			res->end_reason && *res->end_reason ? res->end_reason : "incomplete trace");
	if (!window_final(px))
		status = 1;
	else if (!(status = ranks_found(px)) && !over(px)) {
		finish_part(px);
		other_data(px);
	}
	fflush(px->f);
	if (!status && over(px))
		status = too_big(px);
	status = doc_close(px, status);
	px_free(px);
	return status;
}

/* ------------------------------------------------------------ a job's export */

struct job_px {
	struct perfetto *first;		/* opened the document */
	uint32_t n, nparts;		/* parts written, parts to write */
	const struct an_result *job;
	const struct perfetto_opts *o;
	uint64_t origin;		/* the job's start, on the job's time line */
	bool complete;
	struct { const char *path, *host; int64_t offset; } part[PERFETTO_MAX_RANKS];
};

/*
 * The ranks to export: --ranks, else the straggler (the slowest rank when none stands
 * out) and the median rank (of the others' collective waits: a typical waiting rank).
 */
static int job_ranks(const struct an_result *job, struct perfetto_opts *o)
{
	uint32_t n = 0, *idx, s = (uint32_t)(job->job.straggler >= 0 ? job->job.straggler :
					     (int)job->slowest);

	if (o->nranks)
		return 0;
	if (!job->ntr || !(idx = malloc(sizeof(*idx) * job->ntr)))
		return -1;
	o->ranks[o->nranks++] = job->tr[s].id.rank;
	for (uint32_t i = 0; i < job->ntr; i++)
		if (i != s)
			idx[n++] = i;
	/* the median of the others by collective_wait (a sort by insertion: few ranks) */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t k = i; k > 0 && job->tr[idx[k]].bd.frac[CAT_COLL] <
					      job->tr[idx[k - 1]].bd.frac[CAT_COLL]; k--) {
			uint32_t t = idx[k];

			idx[k] = idx[k - 1];
			idx[k - 1] = t;
		}
	if (n)
		o->ranks[o->nranks++] = job->tr[idx[n / 2]].id.rank;
	free(idx);
	return 0;
}

/* The node (input) of each chosen rank; -1 when a rank is in none. */
static int job_nodes(const struct an_result *job, const struct perfetto_opts *o, bool *want,
		     const char *prog)
{
	for (uint32_t r = 0; r < o->nranks; r++) {
		uint32_t i;

		for (i = 0; i < job->ntr && job->tr[i].id.rank != o->ranks[r]; i++)
			;
		if (i == job->ntr) {
			fprintf(stderr, "%s: --ranks: rank %d is in none of the traces\n", prog,
				o->ranks[r]);
			return -1;
		}
		want[job->tr[i].node] = true;
	}
	return 0;
}

static void job_other_data(struct job_px *j)
{
	FILE *f = j->first->f;
	const struct an_result *job = j->job;
	const struct perfetto *p0 = j->first;

	fprintf(f, "\n],\n\"otherData\":{\"generator\":\"stalltrace analyze %s\",\"job\":",
		ST_VERSION);
	json_str(f, job->path);
	for (uint32_t i = 0; i < j->n; i++) {
		fprintf(f, ",\"trace_%u\":", i + 1);
		json_str(f, j->part[i].path);
		fprintf(f, ",\"host_%u\":", i + 1);
		json_str(f, j->part[i].host);
		fprintf(f, ",\"clock_offset_ns_%u\":%lld", i + 1, (long long)j->part[i].offset);
	}
	fputs(",\"ranks\":\"", f);
	for (uint32_t i = 0; i < j->o->nranks; i++)
		fprintf(f, "%s%d", i ? "," : "", j->o->ranks[i]);
	fputc('"', f);
	for (int i = 0; i < job->nwarn && i < MAX_WARN; i++) {
		fprintf(f, ",\"warning_%d\":", i + 1);
		json_str(f, job->warn[i]);
	}
	fprintf(f, ",\"timestamps\":\"microseconds since the job's start, every node's clock "
		"aligned on the reference node's\",\"job_start_monotonic_ns\":%llu,"
		"\"clocks_aligned_by\":", (unsigned long long)j->origin);
	json_str(f, job->aligned_by);
	fprintf(f, ",\"window_s\":\"%.6f:%.6f\",\"complete\":%s}}\n",
		(double)(p0->wfrom - p0->t0) / 1e9, (double)(p0->wto - p0->t0) / 1e9,
		j->complete ? "true" : "false");
}

/*
 * One part: the node's trace analysed again, drawn as it goes on the job's clock (its
 * tracks, of the chosen ranks).  0, or 1 (said).
 */
static int job_part(struct job_px *j, uint32_t node, const char *trace)
{
	const struct an_node *nd = &j->job->nodes[node];
	struct perfetto *px = j->n ? px_new(j->o, j->first->doc) : j->first;
	struct an_result *res = calloc(1, sizeof(*res));
	struct an_opts ao = { .path = trace };
	int status = 1;

	if (!px || !res) {
		fprintf(stderr, "%s: out of memory\n", j->first->prog);
		goto out;
	}
	px->part = j->n;
	px->multi = true;
	px->host = nd->host;
	px->offset = nd->offset;
	px->t0 = (uint64_t)((int64_t)j->origin - nd->offset);
	ao.obs = perfetto__observer(px);
	j->part[j->n] = (typeof(j->part[0])){ trace, nd->host, nd->offset };
	if (analysis__run(res, &ao, px->prog))
		goto out;
	px->res = res;
	j->complete &= res->complete;
	status = 0;
	if (!res->complete)
		fprintf(stderr, "%s: %s: %s; exporting what could be read\n", px->prog, trace,
			res->end_reason && *res->end_reason ? res->end_reason : "incomplete trace");
	if (!window_final(px))
		status = 1;
	else if (!over(px))
		finish_part(px);
	fflush(px->f);
	j->n++;
out:
	if (px && px != j->first)
		px_free(px);
	else if (px)
		px->a = NULL;	/* its pass is freed below; the first keeps the document */
	if (res) {
		analysis__free(res);
		free(res);
	}
	return status;
}

/* Writing stopped at the limit: the parts it reached, and what to do. */
static int job_too_big(struct job_px *j)
{
	const struct pdoc *d = j->first->doc;
	double done = (double)d->over_part + 1, est = (double)d->over_bytes * j->nparts / done;

	fprintf(stderr, "%s: the Perfetto export of %u rank%s would be about %.0f MB or more, "
		"over the %llu MB limit (writing stopped in the trace of node %u of %u): export "
		"fewer ranks (--ranks), part of the job (--perfetto-window), or raise "
		"--perfetto-max-mb\n", j->first->prog, j->o->nranks, j->o->nranks == 1 ? "" : "s",
		est / (1 << 20), (unsigned long long)(limit_bytes(j->first) >> 20),
		d->over_part + 1, j->nparts);
	return 1;
}

int perfetto__export_job(const char *const *traces, size_t n, const char *out_path,
			 struct perfetto_opts *o, const struct an_result *job)
{
	const char *prog = o->prog ? o->prog : "analyze";
	bool *want = calloc(job->nnodes + 1, sizeof(*want));
	struct job_px *j = calloc(1, sizeof(*j));
	int status = 1;

	if (!want || !j || job_ranks(job, o)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (job_nodes(job, o, want, prog)) {
		status = 2;
		goto out;
	}
	*j = (struct job_px){ .job = job, .o = o, .origin = UINT64_MAX, .complete = true };
	for (uint32_t k = 0; k < job->nnodes && k < n; k++) {
		int64_t start = (int64_t)job->nodes[k].start_ns + job->nodes[k].offset;

		if (want[k] && (uint64_t)start < j->origin)
			j->origin = (uint64_t)start;
		j->nparts += want[k];
	}
	if (!(j->first = perfetto__open(out_path, o)))
		goto out;
	status = 0;
	for (uint32_t k = 0; k < job->nnodes && k < n && !status; k++)
		if (want[k])
			status = job_part(j, k, traces[k]);
	if (!status && !over(j->first))
		job_other_data(j);
	fflush(j->first->f);
	if (!status && over(j->first))
		status = job_too_big(j);
	status = doc_close(j->first, status);
	px_free(j->first);
out:
	free(j);
	free(want);
	return status;
}

/* ------------------------------------------------------------ options */

int perfetto__parse_window(const char *arg, struct perfetto_opts *o)
{
	const char *colon = strchr(arg, ':');
	const struct an_time *f = &o->from, *t = &o->to;

	if (!colon || an_time__parse(arg, (size_t)(colon - arg), &o->from) ||
	    an_time__parse(colon + 1, strlen(colon + 1), &o->to))
		return -1;
	if (f->kind && f->kind == t->kind &&
	    (f->kind == 1 ? f->rel_s >= t->rel_s : f->abs_ns >= t->abs_ns))
		return -1;
	return 0;
}

int perfetto__parse_max_mb(const char *arg, struct perfetto_opts *o)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!isdigit((unsigned char)arg[0]))
		return -1;
	v = strtoull(arg, &end, 10);
	if (*end || errno || v < 1 || v > (1ull << 20))
		return -1;
	o->max_mb = v;
	return 0;
}

int perfetto__parse_ranks(const char *arg, struct perfetto_opts *o)
{
	const char *p = arg;
	char *end;

	o->nranks = 0;
	do {
		long v;

		if (!isdigit((unsigned char)*p) || o->nranks == PERFETTO_MAX_RANKS)
			return -1;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v > INT32_MAX || (*end && *end != ','))
			return -1;
		o->ranks[o->nranks++] = (int32_t)v;
		p = end + (*end == ',');
	} while (*end);
	return 0;
}
