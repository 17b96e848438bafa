// SPDX-License-Identifier: MIT
/*
 * `analyze --perfetto FILE`: the trace in the Chrome JSON trace event format, which
 * ui.perfetto.dev and chrome://tracing both load (docs/perfetto.md).  JSON rather than
 * Perfetto's protobuf: both viewers read it, a test can check it with python's json
 * module, and it needs no generated code.
 *
 * Two passes over the trace.  The first learns names, pids, file paths and probe
 * symbols (a thread is often named after its first events) and counts what falls in
 * the window, so the output size is estimated before anything is written.  The second
 * writes: syscalls and probed calls as slices on each thread's track, thread states
 * on a sibling track ("tid + TID_STATE"), wakeups as flow arrows between state
 * tracks, block requests on per-device lanes, counters, and the analysis's steps and
 * stalls on tracks of a pseudo-process.
 *
 * Timestamps are microseconds from the trace start with three decimals (exact ns).
 * Every track's slices nest properly: viewers mis-draw slices that partially overlap.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hmap.h"
#include "json.h"
#include "outfile.h"
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
#define NBUCKETS	2000		/* counter samples over the window */
#define MIN_BUCKET_NS	10000000ull	/* 10 ms: finer makes MB/s noise */
#define PX_ARENA_MAX	(16u << 20)	/* paths and names kept from the first pass */

enum role { R_OTHER = 0, R_TRAINER, R_MAIN, R_RELAY, R_WORKER };

/* Thread states drawn on the state track, from switch and wakeup records. */
enum pst { PS_UNKNOWN = 0, PS_RUNNING, PS_PREEMPTED, PS_WOKEN, PS_SLEEP, PS_DISK, PS_IDLE,
	   PS_STOPPED, PS_OTHER, PS_DEAD };

static const char *const pst_names[] = {
	[PS_RUNNING] = "Running", [PS_PREEMPTED] = "Runnable (preempted)",
	[PS_WOKEN] = "Runnable", [PS_SLEEP] = "Sleeping", [PS_DISK] = "Uninterruptible (D)",
	[PS_IDLE] = "Idle (I)", [PS_STOPPED] = "Stopped", [PS_OTHER] = "Sleeping (other)",
};

enum counter { C_FILE_READ = 0, C_DISK_READ, C_RUNNABLE_W, C_RUNNING_W, C_RUNNABLE_ALL, NCOUNTERS };

/* Name and series key: Perfetto shows "name key", chrome://tracing "name" with "key". */
static const char *const counter_names[NCOUNTERS][2] = {
	{ "file reads", "MB/s" }, { "disk reads", "MB/s" }, { "runnable", "workers" },
	{ "running", "workers" }, { "runnable", "threads" },
};

struct nest {
	uint64_t s[NEST_RING], e[NEST_RING];
	uint32_t n, top;
};

struct pthr {
	uint32_t tid, pid;
	char comm[ST_COMM_LEN + 1];
	uint8_t role, traced, named, state_named;
	uint8_t st;			/* enum pst: the state slice open since st_since */
	uint8_t st_irq;			/* woken by an interrupt */
	uint16_t st_cpu;
	uint32_t st_waker;
	uint64_t st_since;
	uint64_t flow_ts;		/* a wakeup arrow waiting for the next state slice */
	uint32_t flow_waker;
	uint8_t had_syscall;
	uint64_t released;		/* run mode: the tracer let it go (ST_REC_RELEASE) */
	struct nest *nest;
};

struct pproc {
	uint32_t pid, ppid;
	uint32_t cmdline;		/* arena offset + 1 */
	uint8_t role, named;
	uint8_t keep;			/* --ranks: one of the chosen ranks, or under one */
	int idx;			/* worker or trainer index */
};

struct pdev {
	uint32_t dev;
	uint64_t lane_end[BLK_LANES];
	uint32_t named;			/* bit per lane */
};

struct px {
	const struct perfetto_opts *o;
	const struct an_result *res;
	const char *prog, *path;
	FILE *f;
	uint64_t t0, tend, wfrom, wto;
	uint64_t start;				/* the trace's own start */
	/*
	 * One part of a job's export (several traces): its index (its ids are moved out
	 * of the others' way), its host, and its clock: t0 is the job's start on its clock,
	 * offset what job.c adds to its times.  part 0 of a single trace: all 0.
	 */
	uint32_t part;
	const char *host;
	bool multi, filter;			/* filter: only the kept processes (--ranks) */
	int64_t offset;
	uint64_t *nev, *fid;			/* events and flows in the document so far */
	struct hmap tix, pix, files, probes;	/* tid, pid -> index + 1; (dev, ino), id -> arena */
	struct pthr *thr;
	struct pproc *proc;
	uint32_t nthr, capthr, nproc, capproc;
	struct pdev devs[BLK_DEVS];
	uint32_t ndevs;
	char *arena;
	uint32_t alen, acap;
	uint64_t est;				/* output bytes the window's records cost */
	uint64_t nevents, flows, dropped_slices, drops_seen;
	int nargs;				/* args written in the open event */
	float *ctr[NCOUNTERS];
	uint32_t nb;
	uint64_t bw;				/* bucket width, ns */
	bool analysis_named, block_named;
};

/* ------------------------------------------------------------ small tables */

static void *grow(void *p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t c = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	n = realloc(p, c * size);
	if (n) {
		memset((char *)n + *cap * size, 0, (c - *cap) * size);
		*cap = c;
	}
	return n;
}

/* Arena offset + 1 of a copy of s, 0 when full (the name is then not shown). */
static uint32_t intern(struct px *px, const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	uint32_t off = px->alen;
	char *a;

	if (px->alen + len + 1 > PX_ARENA_MAX)
		return 0;
	if (px->alen + len + 1 > px->acap) {
		uint32_t cap = px->acap ? px->acap : 65536;

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

static const char *arena_str(const struct px *px, uint64_t ref)
{
	return ref ? px->arena + ref - 1 : NULL;
}

static struct pthr *thr_get(struct px *px, uint32_t tid, bool create)
{
	uint64_t *slot;
	struct pthr *t;

	if (!tid)
		return NULL;
	if ((slot = hmap_find(&px->tix, tid)))
		return &px->thr[*slot - 1];
	if (!create || !(slot = hmap_slot(&px->tix, tid)))
		return NULL;
	t = grow(px->thr, &px->capthr, px->nthr + 1, sizeof(*t));
	if (!t) {
		hmap_del(&px->tix, tid);
		return NULL;
	}
	px->thr = t;
	t = &px->thr[px->nthr++];
	t->tid = tid;
	*slot = px->nthr;
	return t;
}

static struct pproc *proc_get(struct px *px, uint32_t pid, bool create)
{
	uint64_t *slot;
	struct pproc *p;

	if (!pid)
		return NULL;
	if ((slot = hmap_find(&px->pix, pid)))
		return &px->proc[*slot - 1];
	if (!create || !(slot = hmap_slot(&px->pix, pid)))
		return NULL;
	p = grow(px->proc, &px->capproc, px->nproc + 1, sizeof(*p));
	if (!p) {
		hmap_del(&px->pix, pid);
		return NULL;
	}
	px->proc = p;
	p = &px->proc[px->nproc++];
	p->pid = pid;
	*slot = px->nproc;
	return p;
}

static void learn(struct px *px, uint32_t tid, uint32_t pid, const char *comm, bool traced)
{
	struct pthr *t = thr_get(px, tid, true);

	if (!t)
		return;
	if (pid) {
		t->pid = pid;
		proc_get(px, pid, true);
	}
	if (comm && comm[0]) {
		memcpy(t->comm, comm, ST_COMM_LEN);
		t->comm[ST_COMM_LEN] = '\0';
	}
	t->traced |= traced;
}

static uint64_t file_key(uint32_t dev, uint64_t ino)
{
	uint64_t k = (ino ^ ((uint64_t)dev << 40)) * 0x9e3779b97f4a7c15ull;

	return k ? k : 1;
}

static void learn_file(struct px *px, uint32_t dev, uint64_t ino, const char *path)
{
	uint64_t *slot;

	if (!path || !path[0] || !ino || !(slot = hmap_slot(&px->files, file_key(dev, ino))))
		return;
	if (!*slot || strcmp(arena_str(px, *slot), path))
		*slot = intern(px, path, ST_PATH_MAX);
}

static const char *file_path(const struct px *px, uint32_t dev, uint64_t ino)
{
	uint64_t *slot = hmap_find(&px->files, file_key(dev, ino));

	return slot ? arena_str(px, *slot) : NULL;
}

/* ------------------------------------------------------------ first pass */

static uint64_t est_record(const struct px *px, const struct st_event *ev);

/* Start and end of what a record covers: its duration before its time, if any. */
static void span_of(const struct st_event *ev, uint64_t *s, uint64_t *e)
{
	uint64_t d = 0;

	if (ev->type == ST_REC_SYSCALL)
		d = ev->sc.b.dur;
	else if (ev->type == ST_REC_BLOCK)
		d = ev->blk.service;
	else if (ev->type == ST_REC_PROBE)
		d = ev->probe.dur;
	*e = ev->ts;
	*s = d < ev->ts ? ev->ts - d : 0;
}

static void census_sched(struct px *px, const struct st_event *ev)
{
	if (ev->type == ST_REC_SWITCH) {
		if (ev->flags & ST_SW_PREV_TRACED)
			learn(px, ev->sw.prev_tid, 0, NULL, true);
		if (ev->flags & ST_SW_NEXT_TRACED)
			learn(px, ev->sw.next_tid, 0, NULL, true);
	} else if (ev->type == ST_REC_WAKEUP) {
		learn(px, ev->wk.tid, 0, NULL, true);
		if (ev->wk.waker_tid)
			learn(px, ev->wk.waker_tid, ev->wk.waker_pid, NULL,
			      ev->flags & ST_WK_WAKER_TRACED);
	}
}

static void census_proc(struct px *px, const struct st_event *ev)
{
	struct pproc *p;

	switch (ev->type) {
	case ST_REC_FORK:
		learn(px, ev->fork.parent_tid, ev->fork.parent_pid, NULL, true);
		learn(px, ev->fork.child_tid, ev->fork.child_pid, ev->fork.comm, true);
		if (!(ev->flags & ST_FORK_THREAD) && (p = proc_get(px, ev->fork.child_pid, true)))
			p->ppid = ev->fork.parent_pid;
		break;
	case ST_REC_EXEC:
		learn(px, ev->exec.tid, ev->exec.pid, ev->exec.comm, true);
		if ((p = proc_get(px, ev->exec.pid, true)) && ev->str)
			p->cmdline = intern(px, ev->str, ST_PATH_MAX);
		break;
	case ST_REC_EXIT:
		learn(px, ev->exit.tid, ev->exit.pid, NULL, true);
		break;
	case ST_REC_COMM:
		learn(px, ev->comm.tid, ev->comm.pid, ev->comm.comm, ev->flags & ST_COMM_TRACED);
		break;
	case ST_REC_PROC:
		learn(px, ev->proc.pid, ev->proc.pid, NULL, true);
		if ((p = proc_get(px, ev->proc.pid, true)) && ev->str)
			p->cmdline = intern(px, ev->str, 4096);
		if (p)
			p->ppid = ev->proc.ppid;
		break;
	case ST_REC_FD:
		learn_file(px, ev->fd.dev, ev->fd.ino, ev->str);
		break;
	}
}

static void census_io(struct px *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	uint64_t *slot;

	switch (ev->type) {
	case ST_REC_SYSCALL:
		learn(px, sc->b.tid, 0, NULL, true);
		/* an open that returned an fd: its (dev, ino) is the path it was given */
		if ((sc->present & ST_SC_FD) && (sc->present & ST_SC_PATH) && sc->b.ret >= 0)
			learn_file(px, sc->fd.dev, sc->fd.ino, ev->str);
		break;
	case ST_REC_PROBE_DEF:
		if ((slot = hmap_slot(&px->probes, (uint64_t)ev->pdef.id + 1)))
			*slot = (uint64_t)ev->pdef.role << 32 |
				intern(px, ev->str2 && ev->str2[0] ? ev->str2 : "probe", 256);
		break;
	}
}

static void census(struct px *px, const struct st_event *ev)
{
	uint64_t s, e;

	if (ev->ts > px->tend)
		px->tend = ev->ts;
	if (ev->type == ST_REC_TRAILER && ev->trailer.end_ts > px->tend)
		px->tend = ev->trailer.end_ts;
	span_of(ev, &s, &e);
	if (e >= px->wfrom && s <= px->wto)
		px->est += est_record(px, ev);
	census_sched(px, ev);
	census_proc(px, ev);
	census_io(px, ev);
}

/* Roles from the analysis: which processes are trainers and workers, which threads main. */
static void apply_roles(struct px *px)
{
	const struct an_result *res = px->res;
	struct pproc *p;
	struct pthr *t;

	for (uint32_t i = 0; res && i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if ((p = proc_get(px, tr->pid, true))) {
			p->role = R_TRAINER;
			p->idx = (int)i;
		}
		if ((t = thr_get(px, tr->main_tid, true)))
			t->role = R_MAIN;
		for (uint32_t k = 0; k < tr->dl.nrelays && k < MAX_RELAYS; k++)
			if ((t = thr_get(px, tr->dl.relay_tid[k], true)))
				t->role = R_RELAY;
		for (uint32_t k = 0; k < tr->dl.nlisted && k < MAX_WORKERS; k++) {
			if ((p = proc_get(px, tr->dl.w[k].pid, true)) && p->role != R_TRAINER) {
				p->role = R_WORKER;
				p->idx = (int)k;
			}
		}
	}
}

/* ------------------------------------------------------------ output primitives */

/* Microseconds since the trace start, exactly: the ns are the three decimals. */
static void put_ts(struct px *px, const char *key, uint64_t ns)
{
	fprintf(px->f, ",\"%s\":%llu.%03u", key, (unsigned long long)(ns / 1000),
		(unsigned)(ns % 1000));
}

static uint64_t rel(const struct px *px, uint64_t ts)
{
	return ts > px->t0 ? ts - px->t0 : 0;
}

/*
 * The id a part of a job's export writes for a pid or tid: each part's real ids (below
 * 2^22, and their state tracks) move up by part << 22, its pseudo tracks by their own
 * strides, so two machines' pid 4242 stay two processes.
 */
static uint32_t part_id(const struct px *px, uint32_t id)
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

/* Opens one event; "ph" and "ts" come first (Perfetto's tokenizer looks for "ts" early). */
static void ev_open(struct px *px, char ph, uint64_t ts, uint32_t pid, uint32_t tid)
{
	fputs((*px->nev)++ ? ",\n{\"ph\":\"" : "\n{\"ph\":\"", px->f);
	fputc(ph, px->f);
	fputc('"', px->f);
	if (ph != 'M')
		put_ts(px, "ts", rel(px, ts));
	fprintf(px->f, ",\"pid\":%u,\"tid\":%u", part_id(px, pid), part_id(px, tid));
	px->nargs = 0;
}

static void ev_name(struct px *px, const char *cat, const char *name)
{
	if (cat)
		fprintf(px->f, ",\"cat\":\"%s\"", cat);
	fputs(",\"name\":", px->f);
	json_str(px->f, name);
}

static void arg_key(struct px *px, const char *k)
{
	fputs(px->nargs++ ? ",\"" : ",\"args\":{\"", px->f);
	fputs(k, px->f);
	fputs("\":", px->f);
}

static void arg_u(struct px *px, const char *k, unsigned long long v)
{
	arg_key(px, k);
	fprintf(px->f, "%llu", v);
}

static void arg_i(struct px *px, const char *k, long long v)
{
	arg_key(px, k);
	fprintf(px->f, "%lld", v);
}

static void arg_s(struct px *px, const char *k, const char *v)
{
	arg_key(px, k);
	json_str(px->f, v);
}

static void arg_ms(struct px *px, const char *k, uint64_t ns)
{
	arg_key(px, k);
	fprintf(px->f, "%.3f", (double)ns / 1e6);
}

static void arg_comm(struct px *px, const char *k, const char *comm, uint32_t tid)
{
	char buf[ST_COMM_LEN + 24];

	snprintf(buf, sizeof(buf), "%.*s (%u)", ST_COMM_LEN, comm && comm[0] ? comm : "?", tid);
	arg_s(px, k, buf);
}

static void ev_close(struct px *px)
{
	fputs(px->nargs > 0 ? "}}" : "}", px->f);
}

static void meta(struct px *px, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	ev_open(px, 'M', 0, pid, tid);
	ev_name(px, NULL, what);
	arg_s(px, "name", name);
	ev_close(px);
}

static void meta_sort(struct px *px, const char *what, uint32_t pid, uint32_t tid, int idx)
{
	ev_open(px, 'M', 0, pid, tid);
	ev_name(px, NULL, what);
	arg_i(px, "sort_index", idx);
	ev_close(px);
}

/* ------------------------------------------------------------ track names */

static const char *comm_of(const struct pthr *t)
{
	return t && t->comm[0] ? t->comm : NULL;
}

static void name_proc(struct px *px, uint32_t pid)
{
	struct pproc *p = proc_get(px, pid, true);
	struct pthr *leader = thr_get(px, pid, false);
	const char *base = comm_of(leader);
	char buf[ST_COMM_LEN + 128];
	int sort = 100;

	if (!p || p->named)
		return;
	p->named = 1;
	if (!base)
		base = p->cmdline ? arena_str(px, p->cmdline) : "process";
	if (p->role == R_TRAINER && px->res->tr[p->idx].id.rank >= 0) {
		snprintf(buf, sizeof(buf), "trainer rank %d: %.40s", px->res->tr[p->idx].id.rank,
			 base);
		sort = 1 + p->idx;
	} else if (p->role == R_TRAINER) {
		snprintf(buf, sizeof(buf), "trainer: %.40s", base);
		sort = 1 + p->idx;
	} else if (p->role == R_WORKER) {
		snprintf(buf, sizeof(buf), "data-loader worker: %.40s", base);
		sort = 10 + p->idx;
	} else {
		snprintf(buf, sizeof(buf), "%.60s", base);
	}
	if (px->multi && px->host) {
		size_t n = strlen(buf);

		snprintf(buf + n, sizeof(buf) - n, " on %.40s", px->host);
	}
	meta(px, "process_name", pid, pid, buf);
	meta_sort(px, "process_sort_index", pid, pid, (int)px->part * 1000 + sort);
}

static int thread_sort(const struct pthr *t)
{
	if (t->role == R_MAIN)
		return 0;
	return 2 * (int)((t->tid >= t->pid ? t->tid - t->pid : t->tid) & 0xfffff) + 2;
}

static uint32_t pid_of(const struct pthr *t)
{
	return t->pid ? t->pid : t->tid;
}

static void thread_label(const struct pthr *t, char *buf, size_t len, const char *suffix)
{
	const char *c = comm_of(t) ? t->comm : "thread";

	if (t->role == R_MAIN)
		snprintf(buf, len, "%s (main training thread)%s", c, suffix);
	else if (t->role == R_RELAY)
		snprintf(buf, len, "%s (batch relay)%s", c, suffix);
	else
		snprintf(buf, len, "%s%s", c, suffix);
}

static void name_thread(struct px *px, struct pthr *t)
{
	char buf[ST_COMM_LEN + 64];

	if (t->named)
		return;
	t->named = 1;
	name_proc(px, pid_of(t));
	thread_label(t, buf, sizeof(buf), "");
	meta(px, "thread_name", pid_of(t), t->tid, buf);
	meta_sort(px, "thread_sort_index", pid_of(t), t->tid, thread_sort(t));
}

static void name_state(struct px *px, struct pthr *t)
{
	char buf[ST_COMM_LEN + 64];

	if (t->state_named)
		return;
	t->state_named = 1;
	name_proc(px, pid_of(t));
	thread_label(t, buf, sizeof(buf), " state");
	meta(px, "thread_name", pid_of(t), t->tid + TID_STATE, buf);
	meta_sort(px, "thread_sort_index", pid_of(t), t->tid + TID_STATE, thread_sort(t) + 1);
}

static void name_analysis(struct px *px)
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

/* --ranks: whether a thread's process is one of the chosen ranks or under one. */
static bool keep(struct px *px, const struct pthr *t)
{
	const struct pproc *p;

	if (!px->filter)
		return true;
	p = t ? proc_get(px, t->pid ? t->pid : t->tid, false) : NULL;
	return p && p->keep;
}

/* ------------------------------------------------------------ slices */

/* Clips [s, e] to the window: false when nothing is left (a span cut to a point). */
static bool clip(const struct px *px, uint64_t *s, uint64_t *e)
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
static bool thread_slice(struct px *px, struct pthr *t, uint64_t s, uint64_t e, bool inst)
{
	if (!clip(px, &s, &e))
		return false;
	if (!t->nest && !(t->nest = calloc(1, sizeof(*t->nest))))
		return false;
	if (!nest__fit(t->nest, &s, e)) {
		px->dropped_slices++;
		return false;
	}
	name_thread(px, t);
	ev_open(px, inst ? 'i' : 'X', s, pid_of(t), t->tid);
	if (inst)
		fputs(",\"s\":\"t\"", px->f);
	else
		put_ts(px, "dur", e - s);
	return true;
}

/* ------------------------------------------------------------ counters */

/* Spreads `amount` over [a, b) of the counter grid, in proportion to time. */
static void spread(struct px *px, enum counter c, uint64_t a, uint64_t b, double amount)
{
	uint64_t lo, hi, i;

	if (!px->ctr[c] || !clip(px, &a, &b) || amount <= 0)
		return;
	if (b == a) {
		i = (a - px->wfrom) / px->bw;
		px->ctr[c][i < px->nb ? i : px->nb - 1] += (float)amount;
		return;
	}
	for (i = (a - px->wfrom) / px->bw; i < px->nb; i++) {
		lo = px->wfrom + i * px->bw;
		hi = lo + px->bw;
		if (lo >= b)
			break;
		lo = lo > a ? lo : a;
		hi = hi < b ? hi : b;
		px->ctr[c][i] += (float)(amount * (double)(hi - lo) / (double)(b - a));
	}
}

static void counters_setup(struct px *px)
{
	uint64_t span = px->wto - px->wfrom;

	px->bw = span / NBUCKETS + 1;
	if (px->bw < MIN_BUCKET_NS)
		px->bw = MIN_BUCKET_NS;
	px->nb = (uint32_t)(span / px->bw + 1);
	for (int c = 0; c < NCOUNTERS; c++)
		px->ctr[c] = calloc(px->nb, sizeof(float));
}

static double counter_value(const struct px *px, enum counter c, uint32_t i)
{
	double v = px->ctr[c][i], w = (double)px->bw;

	/* the last bucket may be cut by the window's end */
	if (i == px->nb - 1 && px->wfrom + (uint64_t)i * px->bw < px->wto)
		w = (double)(px->wto - (px->wfrom + (uint64_t)i * px->bw));
	if (c == C_FILE_READ || c == C_DISK_READ)
		return v / 1e6 / (w / 1e9);
	return v / w;
}

static void counters_write(struct px *px)
{
	for (int c = 0; c < NCOUNTERS; c++) {
		double last = -1, v;

		if (!px->ctr[c] || (c != C_RUNNABLE_ALL && c != C_FILE_READ && c != C_DISK_READ &&
				    !(px->res && px->res->ntr)))
			continue;
		name_analysis(px);
		for (uint32_t i = 0; i <= px->nb; i++) {
			v = i < px->nb ? counter_value(px, c, i) : 0;
			if (fabs(v - last) < 1e-9)
				continue;
			last = v;
			ev_open(px, 'C', i < px->nb ? px->wfrom + (uint64_t)i * px->bw : px->wto,
				PID_ANALYSIS, PID_ANALYSIS);
			ev_name(px, "counter", counter_names[c][0]);
			arg_key(px, counter_names[c][1]);
			fprintf(px->f, "%.3f", v);
			ev_close(px);
		}
	}
}

/* ------------------------------------------------------------ thread states */

static bool is_worker(struct px *px, const struct pthr *t)
{
	struct pproc *p = proc_get(px, pid_of(t), false);

	return p && p->role == R_WORKER;
}

static void wake_flow(struct px *px, struct pthr *wakee, struct pthr *waker, uint64_t ts);

static void state_slice(struct px *px, struct pthr *t, uint64_t end)
{
	uint64_t s = t->st_since, e = end;
	struct pthr *w;

	if (t->st == PS_UNKNOWN || t->st == PS_DEAD || e <= s || !clip(px, &s, &e) || e == s)
		return;
	if (t->st == PS_PREEMPTED || t->st == PS_WOKEN) {
		spread(px, C_RUNNABLE_ALL, s, e, (double)(e - s));
		if (is_worker(px, t))
			spread(px, C_RUNNABLE_W, s, e, (double)(e - s));
	} else if (t->st == PS_RUNNING && is_worker(px, t)) {
		spread(px, C_RUNNING_W, s, e, (double)(e - s));
	}
	if (t->flow_ts && (w = thr_get(px, t->flow_waker, false)))
		wake_flow(px, t, w, t->flow_ts);
	t->flow_ts = 0;
	name_state(px, t);
	ev_open(px, 'X', s, pid_of(t), t->tid + TID_STATE);
	put_ts(px, "dur", e - s);
	ev_name(px, "state", pst_names[t->st]);
	if (t->st == PS_RUNNING) {
		arg_u(px, "cpu", t->st_cpu);
	} else if (t->st == PS_WOKEN && t->st_irq) {
		arg_s(px, "woken_by", "an interrupt");
	} else if (t->st == PS_WOKEN && t->st_waker) {
		w = thr_get(px, t->st_waker, false);
		arg_comm(px, "woken_by", comm_of(w), t->st_waker);
	}
	ev_close(px);
}

static void state_set(struct px *px, struct pthr *t, uint8_t st, uint64_t ts)
{
	if (ts < t->st_since)		/* a late record: keep the timeline monotonic */
		ts = t->st_since;
	state_slice(px, t, ts);
	t->st = st;
	t->st_since = ts;
	t->st_waker = 0;
	t->st_irq = 0;
}

static uint8_t state_after(uint8_t prev_state)
{
	switch (prev_state) {
	case ST_STATE_RUNNING: return PS_PREEMPTED;
	case ST_STATE_SLEEP: return PS_SLEEP;
	case ST_STATE_DISK: return PS_DISK;
	case ST_STATE_IDLE: return PS_IDLE;
	case ST_STATE_STOPPED: return PS_STOPPED;
	case ST_STATE_DEAD: return PS_DEAD;
	default: return PS_OTHER;
	}
}

static void on_switch(struct px *px, const struct st_event *ev)
{
	struct pthr *t;

	if ((ev->flags & ST_SW_PREV_TRACED) && (t = thr_get(px, ev->sw.prev_tid, true)) &&
	    keep(px, t))
		state_set(px, t, state_after(ev->sw.prev_state), ev->ts);
	if ((ev->flags & ST_SW_NEXT_TRACED) && (t = thr_get(px, ev->sw.next_tid, true)) &&
	    keep(px, t)) {
		state_set(px, t, PS_RUNNING, ev->ts);
		t->st_cpu = ev->sw.cpu;
	}
}

/*
 * A wakeup arrow: from the waker's Running slice to the wakee's next state slice
 * (Runnable, or Running when it ran at once).  The "s" binds to the slice open on
 * the waker's state track at ts; the "f" (no "bp") binds to the next slice starting
 * on the wakee's.  Both are written just before that slice, once it is known to be
 * in the window: an arrow never points at nothing, and the "f" precedes its slice
 * in file order (viewers sort by time, ties in file order).
 */
static void wake_flow(struct px *px, struct pthr *wakee, struct pthr *waker, uint64_t ts)
{
	uint64_t id = ++*px->fid;		/* ids are the document's: parts share them */

	name_state(px, waker);
	ev_open(px, 's', ts, pid_of(waker), waker->tid + TID_STATE);
	fprintf(px->f, ",\"id\":%llu", (unsigned long long)id);
	ev_name(px, "wakeup", "wakeup");
	ev_close(px);
	name_state(px, wakee);
	ev_open(px, 'f', ts, pid_of(wakee), wakee->tid + TID_STATE);
	fprintf(px->f, ",\"id\":%llu", (unsigned long long)id);
	ev_name(px, "wakeup", "wakeup");
	ev_close(px);
}

static void on_wakeup(struct px *px, const struct st_event *ev)
{
	struct pthr *t = thr_get(px, ev->wk.tid, true), *w = NULL;
	uint64_t ts = ev->ts;

	if (!t || t->st == PS_RUNNING || t->st == PS_PREEMPTED || t->st == PS_WOKEN ||
	    !keep(px, t))
		return;			/* woken while still on its way off the CPU */
	if (!(ev->flags & ST_WK_IRQ) && (ev->flags & ST_WK_WAKER_TRACED))
		w = thr_get(px, ev->wk.waker_tid, false);
	if (w && !keep(px, w))
		w = NULL;		/* no arrow from a track that is not exported */
	state_set(px, t, PS_WOKEN, ts);
	t->st_irq = !!(ev->flags & ST_WK_IRQ);
	t->st_waker = ev->wk.waker_tid;
	/* the waker's Running slice must hold ts strictly: the "s" binds to it */
	if (w && w->st == PS_RUNNING && w != t && ts > px->wfrom && ts <= px->wto &&
	    ts >= t->st_since && ts > w->st_since) {
		t->flow_ts = ts;
		t->flow_waker = w->tid;
	}
}

/* ------------------------------------------------------------ syscalls */

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

static void sc_fd_args(struct px *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	const char *path;

	if (sc->present & ST_SC_FD) {
		arg_i(px, "fd", sc->fd.fd);
		path = file_path(px, sc->fd.dev, sc->fd.ino);
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

static void sc_args(struct px *px, const struct st_event *ev)
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

static void on_syscall(struct px *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	struct pthr *t = thr_get(px, sc->b.tid, true);
	const char *name = st_syscall_name(sc->b.nr);
	uint64_t s, e;
	char buf[32];

	if (!t || !keep(px, t))
		return;
	span_of(ev, &s, &e);
	/*
	 * Started before tracing: it held the thread since the trace began, or, for the
	 * command of a run, since the tracer let it go (its wait before is not the job's).
	 */
	if ((sc->b.flags2 & ST_SC2_NO_ENTRY) && !t->had_syscall)
		s = t->released > px->start && t->released < e ? t->released : px->start;
	t->had_syscall = 1;
	if (is_file_read(sc))
		spread(px, C_FILE_READ, s, e, (double)sc->b.ret);
	if (!name) {
		snprintf(buf, sizeof(buf), "syscall_%u", sc->b.nr);
		name = buf;
	}
	if (!thread_slice(px, t, s, e, false))
		return;
	ev_name(px, "syscall", name);
	sc_args(px, ev);
	ev_close(px);
}

/* ------------------------------------------------------------ probes, processes */

static void on_probe(struct px *px, const struct st_event *ev)
{
	struct pthr *t = thr_get(px, ev->probe.tid, true);
	uint64_t *def = hmap_find(&px->probes, (uint64_t)ev->probe.id + 1);
	const char *sym = def ? arena_str(px, *def & 0xffffffffu) : NULL;
	unsigned role = def ? (unsigned)(*def >> 32) : 0;
	uint64_t s, e;

	span_of(ev, &s, &e);
	if (!t || !keep(px, t) || !thread_slice(px, t, s, e, s == e))
		return;
	ev_name(px, "probe", role == ST_PROBE_STEP && s == e ? "step mark" : sym ? sym : "probe");
	arg_u(px, "probe_id", ev->probe.id);
	arg_s(px, "role", role == ST_PROBE_STEP ? "step" : role == ST_PROBE_GPU_SYNC ? "gpu_sync" :
	      role == ST_PROBE_GPU_LAUNCH ? "gpu_launch" : "plain");
	ev_close(px);
}

static void on_proc(struct px *px, const struct st_event *ev)
{
	struct pthr *t;

	switch (ev->type) {
	case ST_REC_FORK:
		if (!(t = thr_get(px, ev->fork.parent_tid, true)) || !keep(px, t) ||
		    !thread_slice(px, t, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", ev->flags & ST_FORK_THREAD ? "new thread" : "fork");
		arg_u(px, "child_tid", ev->fork.child_tid);
		arg_u(px, "child_pid", ev->fork.child_pid);
		break;
	case ST_REC_EXEC:
		if (!(t = thr_get(px, ev->exec.tid, true)) || !keep(px, t) ||
		    !thread_slice(px, t, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", "exec");
		arg_s(px, "file", ev->str);
		break;
	case ST_REC_EXIT:
		if (!(t = thr_get(px, ev->exit.tid, true)) || !keep(px, t))
			return;
		state_set(px, t, PS_DEAD, ev->ts);
		if (!thread_slice(px, t, ev->ts, ev->ts, true))
			return;
		ev_name(px, "proc", "exit");
		arg_i(px, "exit_code", ev->exit.exit_code);
		break;
	default:
		return;
	}
	ev_close(px);
}

/* The tracer's drop counters moved: a global marker, so nobody trusts a gap blindly. */
static void on_drops(struct px *px, const struct st_drops *d, uint64_t ts)
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

static struct pdev *dev_get(struct px *px, uint32_t dev)
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

static void name_lane(struct px *px, struct pdev *d, unsigned lane, uint32_t tid)
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

static void on_block(struct px *px, const struct st_event *ev)
{
	const struct st_block *b = &ev->blk;
	struct pdev *d = dev_get(px, b->dev);
	struct pthr *sub = thr_get(px, b->tid, false);
	uint64_t s, e;
	unsigned lane;
	uint32_t tid;
	char name[64];

	span_of(ev, &s, &e);
	if (px->filter && (!sub || !keep(px, sub)))
		return;			/* --ranks: another process's request */
	if (b->op == ST_BLK_READ)
		spread(px, C_DISK_READ, s, e, b->bytes);
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
	arg_comm(px, "submitted_by", comm_of(sub), b->tid);
	if (b->error)
		arg_i(px, "error", b->error);
	ev_close(px);
}

/* ------------------------------------------------------------ second pass */

static void on_release(struct px *px, const struct st_event *ev)
{
	struct pthr *t = thr_get(px, ev->release.tid, true);

	if (t && !t->had_syscall)
		t->released = ev->ts;
}

static void emit(struct px *px, const struct st_event *ev)
{
	switch (ev->type) {
	case ST_REC_SWITCH:
		on_switch(px, ev);
		break;
	case ST_REC_WAKEUP:
		on_wakeup(px, ev);
		break;
	case ST_REC_SYSCALL:
		on_syscall(px, ev);
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
	case ST_REC_RELEASE:
		on_release(px, ev);
		break;
	}
}

/* Closes the state slices still open at the end of what was read. */
static void states_end(struct px *px)
{
	for (uint32_t i = 0; i < px->nthr; i++)
		if (keep(px, &px->thr[i]))
			state_slice(px, &px->thr[i], px->wto);
}

/* ------------------------------------------------------------ analysis tracks */

/* A track of the analysis pseudo-process whose slices follow each other. */
struct seq {
	struct px *px;
	const struct an_trainer *tr;
	uint32_t tid;
	const char *label;
	uint64_t last_end;
	bool named;
};

static bool seq_slice(struct seq *q, uint64_t s, uint64_t e)
{
	struct px *px = q->px;
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

static void step_args(struct px *px, const struct an_step *st)
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
static void steps_track(struct px *px, const struct an_trainer *tr, uint32_t tid)
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

static void slow_track(struct px *px, const struct an_trainer *tr, uint32_t tid)
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

static void stall_args(struct px *px, const struct an_stall *st, uint32_t rank)
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

static void stalls_track(struct px *px, const struct an_trainer *tr, uint32_t tid)
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
static void coll_track(struct px *px, const struct an_trainer *tr, uint32_t tid)
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

static void verdict_track(struct px *px, const struct an_trainer *tr, uint32_t tid)
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

static void analysis_tracks(struct px *px)
{
	const struct an_result *res = px->res;

	for (uint32_t i = 0; res && i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];
		uint32_t base = TID_ANALYSIS + 8 * i;
		const struct pproc *p = proc_get(px, tr->pid, false);

		if (px->filter && (!p || !p->keep))
			continue;
		verdict_track(px, tr, base);
		steps_track(px, tr, base + 1);
		slow_track(px, tr, base + 2);
		stalls_track(px, tr, base + 3);
		coll_track(px, tr, base + 4);
	}
}

/* ------------------------------------------------------------ size estimate */

/*
 * Output bytes a record in the window costs, from sizes measured on trainsim and
 * PyTorch traces (a state slice or a syscall with a few args is about 125 bytes,
 * a flow pair 190), rounded up: a switch closes a state slice per traced side, a
 * wakeup closes one and may draw a flow, strings count at their length.
 */
static uint64_t est_record(const struct px *px, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	const char *path;
	uint64_t b;

	switch (ev->type) {
	case ST_REC_SWITCH:
		return 130 * (!!(ev->flags & ST_SW_PREV_TRACED) +
			      !!(ev->flags & ST_SW_NEXT_TRACED));
	case ST_REC_WAKEUP:
		return 140 + (ev->flags & ST_WK_WAKER_TRACED ? 200 : 0);
	case ST_REC_SYSCALL:
		b = 115 + 14 * (uint64_t)__builtin_popcount(sc->present);
		if ((sc->present & ST_SC_PATH) && ev->str)
			b += strlen(ev->str) + 10;
		else if ((sc->present & ST_SC_FD) && (path = file_path(px, sc->fd.dev, sc->fd.ino)))
			b += strlen(path) + 10;
		return b;
	case ST_REC_BLOCK:
		return 220;
	case ST_REC_PROBE:
		return 170;
	case ST_REC_FORK: case ST_REC_EXEC: case ST_REC_EXIT:
		return 140 + (ev->str ? strlen(ev->str) : 0);
	default:
		return 0;
	}
}

/* What does not shrink with the window: names of every thread, the document. */
static uint64_t est_fixed(const struct px *px)
{
	return 4096 + (uint64_t)px->nthr * 420;
}

static uint64_t estimate(const struct px *px)
{
	uint64_t span = px->wto - px->wfrom, samples = span / MIN_BUCKET_NS + 2;
	uint64_t b = px->est + est_fixed(px);

	/* a counter has a sample per bucket at most (repeated values are left out) */
	b += NCOUNTERS * (samples < NBUCKETS + 1 ? samples : NBUCKETS + 1) * 125;
	for (uint32_t i = 0; px->res && i < px->res->ntr; i++) {
		const struct an_trainer *tr = &px->res->tr[i];

		b += 8000;	/* verdict, slowest steps, stalls */
		for (uint32_t k = 0; k < tr->steps.nchart; k++)
			if (tr->steps.chart[k].start <= px->wto &&
			    tr->steps.chart[k].start + tr->steps.chart[k].dur >= px->wfrom)
				b += 360;
	}
	return b;
}

static uint64_t limit_bytes(const struct px *px)
{
	uint64_t mb = px->o && px->o->max_mb ? px->o->max_mb : PERFETTO_MAX_MB_DEFAULT;

	return mb << 20;
}

/* A window that would fit, around the slowest step when the analysis found one. */
static void suggest(const struct px *px, uint64_t est, char *buf, size_t len)
{
	uint64_t span = px->wto - px->wfrom, w, mid = px->wfrom + span / 2, a;
	const struct an_result *res = px->res;

	double room = (double)limit_bytes(px) - (double)est_fixed(px), var, wd;

	if (room <= 0)
		room = (double)limit_bytes(px) / 10;
	var = (double)est - (double)est_fixed(px);
	wd = var > 0 ? (double)span * room / var * 0.8 : (double)span;
	/* within the span, and no out-of-range conversion (NaN included) */
	w = wd >= 0 && wd < (double)span ? (uint64_t)wd : span;
	if (res && res->ntr && res->tr[res->slowest].steps.nslow)
		mid = res->tr[res->slowest].steps.slow[0].start;
	a = mid > px->wfrom + w / 2 ? mid - w / 2 : px->wfrom;
	if (a > px->wto || w > px->wto - a)
		a = px->wto > w ? px->wto - w : px->wfrom;
	a = a < px->wfrom ? px->wfrom : a;
	snprintf(buf, len, "%.3f:%.3f", (double)(a - px->t0) / 1e9, (double)(a + w - px->t0) / 1e9);
}

static int too_big(const struct px *px, uint64_t bytes, bool written)
{
	char win[64];

	suggest(px, bytes, win, sizeof(win));
	fprintf(stderr, "%s: the Perfetto export of %s %s %llu MB, over the %llu MB limit: "
		"export part of it with --perfetto-window %s (the trace spans 0-%.3f s), or raise "
		"--perfetto-max-mb\n", px->prog, px->path, written ? "grew past" : "would be about",
		(unsigned long long)((bytes + (1 << 20) - 1) >> 20),
		(unsigned long long)(limit_bytes(px) >> 20), win,
		(double)(px->tend - px->t0) / 1e9);
	return 1;
}

/* ------------------------------------------------------------ passes */

static int open_trace(struct px *px, struct st_reader **r)
{
	*r = NULL;
	if (st_reader__open(r, px->path) >= 0)
		return 0;
	fprintf(stderr, "%s: %s: %s\n", px->prog, px->path,
		*r ? st_reader__error(*r) : "out of memory");
	st_reader__close(*r);
	*r = NULL;
	return 1;
}

static int read_all(struct px *px, struct st_reader *r,
		    void (*fn)(struct px *, const struct st_event *))
{
	struct st_event ev;
	int ret;

	while ((ret = st_reader__next(r, &ev)) > 0)
		fn(px, &ev);
	if (ret < 0) {
		fprintf(stderr, "%s: %s: read error: %s\n", px->prog, px->path, strerror(-ret));
		return 1;
	}
	return 0;
}

/*
 * A --from/--to edge on this part's clock: seconds after the start (the job's, for a
 * part of a job's export), or @ns on the job's time line (the reference node's clock).
 */
static uint64_t edge(const struct px *px, const struct an_time *t, uint64_t def)
{
	uint64_t v = an_time__resolve(t, px->t0, def);

	if (t->kind == 2)
		v = px->offset < 0 || v >= (uint64_t)px->offset ? (uint64_t)((int64_t)v - px->offset) : 0;
	return v;
}

static bool chosen(const struct perfetto_opts *o, int32_t rank)
{
	for (uint32_t i = 0; i < o->nranks; i++)
		if (o->ranks[i] == rank)
			return true;
	return false;
}

/*
 * --ranks: the chosen ranks' processes and everything under them (their workers) are
 * kept.  A rank this trace does not have is an error for a single trace; a part of a
 * job's export holds only ranks it has.
 */
static int mark_kept(struct px *px)
{
	const struct perfetto_opts *o = px->o;
	uint32_t found = 0;

	if (!o || !o->nranks)
		return 0;
	px->filter = true;
	for (uint32_t i = 0; px->res && i < px->res->ntr; i++) {
		struct pproc *p = chosen(o, px->res->tr[i].id.rank) ?
				  proc_get(px, px->res->tr[i].pid, true) : NULL;

		if (p) {
			p->keep = 2;
			found++;
		}
	}
	if (!px->multi && found < o->nranks) {
		fprintf(stderr, "%s: --ranks: %s has %u of the %u ranks asked for\n", px->prog,
			px->path, found, o->nranks);
		return 2;
	}
	for (uint32_t i = 0; i < px->nproc; i++) {
		const struct pproc *q = &px->proc[i];

		for (int depth = 0; q && depth < 64 && !px->proc[i].keep; depth++) {
			if (q->keep == 2)
				px->proc[i].keep = 1;
			q = q->ppid && q->ppid != q->pid ? proc_get(px, q->ppid, false) : NULL;
		}
	}
	return 0;
}

/* Names, pids, paths, window and counts: everything the writer needs to know first. */
static int pass1(struct px *px)
{
	struct st_reader *r;
	struct perfetto_opts none = { 0 };
	const struct perfetto_opts *o = px->o ? px->o : &none;
	int status;

	if (open_trace(px, &r))
		return 1;
	px->start = px->tend = st_reader__info(r)->h.start_ts;
	if (!px->multi)
		px->t0 = px->start;
	px->wfrom = edge(px, &o->from, px->t0);
	px->wto = edge(px, &o->to, UINT64_MAX);
	if (px->wfrom < px->t0)
		px->wfrom = px->t0;
	status = read_all(px, r, census);
	if (!status && st_reader__end(r) != ST_END_TRAILER)
		fprintf(stderr, "%s: %s: %s; exporting what could be read\n", px->prog, px->path,
			st_reader__error(r));
	st_reader__close(r);
	if (status)
		return status;
	if (px->wto > px->tend)
		px->wto = px->tend;
	/* a trace of no length (no events) exports as an empty timeline, not an error */
	if (px->wfrom >= px->wto && !o->from.kind && !o->to.kind)
		px->wto = px->wfrom + 1;
	if (px->wfrom >= px->wto) {
		fprintf(stderr, "%s: --perfetto-window: nothing of %s is in it (the trace spans "
			"0-%.3f s)\n", px->prog, px->path, (double)(px->tend - px->t0) / 1e9);
		return 1;
	}
	apply_roles(px);
	return mark_kept(px);
}

static void other_data(struct px *px, const struct st_trace_info *in, bool complete)
{
	FILE *f = px->f;

	fprintf(f, "\n],\n\"otherData\":{\"generator\":\"stalltrace analyze %s\",\"trace\":",
		ST_VERSION);
	json_str(f, px->path);
	fputs(",\"hostname\":", f);
	json_str(f, in->hostname);
	fputs(",\"kernel\":", f);
	json_str(f, in->kernel);
	fputs(",\"cmdline\":", f);
	json_str(f, in->cmdline);
	/* what the reports say on top, for the one who only opens the timeline (keys, not
	 * an array: viewers show otherData as flat metadata) */
	for (int i = 0; px->res && i < px->res->nwarn && i < MAX_WARN; i++) {
		fprintf(f, ",\"warning_%d\":", i + 1);
		json_str(f, px->res->warn[i]);
	}
	fprintf(f, ",\"timestamps\":\"microseconds since the trace start\","
		"\"trace_start_monotonic_ns\":%llu,\"window_s\":\"%.6f:%.6f\",\"complete\":%s,"
		"\"wakeup_flows\":%llu,\"slices_dropped_to_keep_nesting\":%llu}}\n",
		(unsigned long long)px->t0, (double)(px->wfrom - px->t0) / 1e9,
		(double)(px->wto - px->t0) / 1e9, complete ? "true" : "false",
		(unsigned long long)px->flows, (unsigned long long)px->dropped_slices);
}

/* The events of one trace, into the open document; 1 when it cannot be read. */
static int body(struct px *px, struct st_reader **r)
{
	int status;

	if (open_trace(px, r))
		return 1;
	counters_setup(px);
	status = read_all(px, *r, emit);
	if (!status) {
		states_end(px);
		analysis_tracks(px);
		counters_write(px);
	}
	return status;
}

static int pass2(struct px *px)
{
	struct st_reader *r;
	int status;

	fputs("{\"traceEvents\":[", px->f);
	status = body(px, &r);
	if (!status)
		/* the analysis knows more than the reader: events missing after a full disk */
		other_data(px, st_reader__info(r), st_reader__end(r) == ST_END_TRAILER &&
			   (!px->res || px->res->complete));
	st_reader__close(r);
	return status;
}

/* ------------------------------------------------------------ output file */

/* Counts what is written and stops at the limit: the file can never grow unbounded. */
struct sink {
	int fd, err;
	uint64_t bytes, cap;
};

static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct sink *k = cookie;
	size_t done = 0;
	ssize_t n;

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

/* Into a file put in place once complete (outfile.h), through a size-capped stream. */
static int sink_open(struct px *px, const char *out, struct sink *k, struct outfile *o)
{
	cookie_io_functions_t io = { .write = sink_write };
	int err = outfile__open(o, out);

	if (err)
		return err;
	k->fd = o->fd;
	if (!(px->f = fopencookie(k, "w", io))) {
		err = -errno;
		outfile__close(o, false);
		return err;
	}
	setvbuf(px->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

/* Writes the document with fill(ctx) into out; its size over the limit is an error. */
static int write_out(struct px *px, const char *out, int (*fill)(void *), void *ctx)
{
	struct sink k = { .cap = limit_bytes(px) };
	struct outfile o;
	int err, status;

	if ((err = sink_open(px, out, &k, &o))) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, out, outfile__error(err));
		return 1;
	}
	status = fill(ctx);
	if (fclose(px->f) && !status && k.err == EFBIG) {
		status = too_big(px, k.bytes + 1, true);
	} else if (k.err && !status) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, out, strerror(k.err));
		status = 1;
	}
	px->f = NULL;
	if ((err = outfile__close(&o, !status)) && !status) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", px->prog, out, outfile__error(err));
		status = 1;
	}
	return status;
}

/* ------------------------------------------------------------ entry points */

static void px_free(struct px *px)
{
	for (uint32_t i = 0; i < px->nthr; i++)
		free(px->thr[i].nest);
	for (int c = 0; c < NCOUNTERS; c++)
		free(px->ctr[c]);
	free(px->thr);
	free(px->proc);
	free(px->arena);
	hmap_free(&px->tix);
	hmap_free(&px->pix);
	hmap_free(&px->files);
	hmap_free(&px->probes);
	free(px);
}

static struct px *px_new(const struct perfetto_opts *o, const struct an_result *res,
			 const char *trace_path)
{
	struct px *px = calloc(1, sizeof(*px));

	if (!px)
		return NULL;
	px->o = o;
	px->res = res;
	px->prog = o && o->prog ? o->prog : "analyze";
	px->path = trace_path;
	px->nev = &px->nevents;
	px->fid = &px->flows;
	hmap_init(&px->tix);
	hmap_init(&px->pix);
	hmap_init(&px->files);
	hmap_init(&px->probes);
	return px;
}

static int fill_one(void *px)
{
	return pass2(px);
}

int perfetto__export(const char *trace_path, const char *out_path, const struct perfetto_opts *o,
		     const struct an_result *res)
{
	struct px *px = px_new(o, res, trace_path);
	uint64_t est;
	int status;

	if (!px) {
		fprintf(stderr, "%s: out of memory\n", o && o->prog ? o->prog : "analyze");
		return 1;
	}
	status = pass1(px);
	if (!status && (est = estimate(px)) > limit_bytes(px))
		status = too_big(px, est, false);
	if (!status)
		status = write_out(px, out_path, fill_one, px);
	px_free(px);
	return status;
}

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

/* ------------------------------------------------------------ a job's export */

struct job_px {
	struct px **parts;
	uint32_t n;
	const struct an_result *job;
	struct an_result **res;		/* each part's own analysis (its tracks) */
	uint64_t origin;		/* the job's start, on the job's time line */
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
	FILE *f = j->parts[0]->f;
	const struct an_result *job = j->job;
	const struct px *p0 = j->parts[0];
	bool complete = true;

	fprintf(f, "\n],\n\"otherData\":{\"generator\":\"stalltrace analyze %s\",\"job\":",
		ST_VERSION);
	json_str(f, job->path);
	for (uint32_t i = 0; i < j->n; i++) {
		const struct px *px = j->parts[i];

		fprintf(f, ",\"trace_%u\":", i + 1);
		json_str(f, px->path);
		fprintf(f, ",\"host_%u\":", i + 1);
		json_str(f, px->host);
		fprintf(f, ",\"clock_offset_ns_%u\":%lld", i + 1, (long long)px->offset);
		complete &= j->res[i]->complete;
	}
	fputs(",\"ranks\":\"", f);
	for (uint32_t i = 0; i < p0->o->nranks; i++)
		fprintf(f, "%s%d", i ? "," : "", p0->o->ranks[i]);
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
		complete ? "true" : "false");
}

static int fill_job(void *ctx)
{
	struct job_px *j = ctx;
	uint64_t nev = 0, fid = 0;

	fputs("{\"traceEvents\":[", j->parts[0]->f);
	for (uint32_t i = 0; i < j->n; i++) {
		struct st_reader *r = NULL;
		int status;

		j->parts[i]->f = j->parts[0]->f;
		j->parts[i]->nev = &nev;
		j->parts[i]->fid = &fid;
		status = body(j->parts[i], &r);
		st_reader__close(r);
		if (status)
			return status;
	}
	job_other_data(j);
	return 0;
}

/* One part: the node's trace, analysed again (its own tracks), on the job's clock. */
static int job_part(struct job_px *j, const struct perfetto_opts *o, uint32_t node,
		    const char *trace)
{
	const struct an_node *nd = &j->job->nodes[node];
	struct an_opts ao = { .path = trace };
	struct an_result *res = calloc(1, sizeof(*res));
	struct px *px;

	j->res[j->n] = res;
	if (!res || analysis__run(res, &ao, o->prog ? o->prog : "analyze"))
		return 1;
	if (!(px = j->parts[j->n] = px_new(o, res, trace)))
		return 1;
	j->n++;
	px->part = j->n - 1;
	px->multi = true;
	px->host = nd->host;
	px->offset = nd->offset;
	px->t0 = (uint64_t)((int64_t)j->origin - nd->offset);
	return pass1(px);
}

int perfetto__export_job(const char *const *traces, size_t n, const char *out_path,
			 struct perfetto_opts *o, const struct an_result *job)
{
	const char *prog = o->prog ? o->prog : "analyze";
	bool *want = calloc(job->nnodes + 1, sizeof(*want));
	struct job_px j = { .job = job, .origin = UINT64_MAX };
	uint64_t est = 0;
	int status = 1;

	j.parts = calloc(PERFETTO_MAX_RANKS, sizeof(*j.parts));
	j.res = calloc(PERFETTO_MAX_RANKS + 1, sizeof(*j.res));
	if (!want || !j.parts || !j.res || job_ranks(job, o)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (job_nodes(job, o, want, prog)) {
		status = 2;
		goto out;
	}
	for (uint32_t k = 0; k < job->nnodes && k < n; k++)
		if (want[k] && (uint64_t)((int64_t)job->nodes[k].start_ns + job->nodes[k].offset) <
			       j.origin)
			j.origin = (uint64_t)((int64_t)job->nodes[k].start_ns + job->nodes[k].offset);
	status = 0;
	for (uint32_t k = 0; k < job->nnodes && k < n && !status; k++)
		if (want[k])
			status = job_part(&j, o, k, traces[k]);
	for (uint32_t i = 0; i < j.n && !status; i++)
		est += estimate(j.parts[i]);
	if (!status && est > limit_bytes(j.parts[0])) {
		fprintf(stderr, "%s: the Perfetto export of %u rank%s would be about %llu MB, over "
			"the %llu MB limit: export fewer ranks (--ranks), part of the job "
			"(--perfetto-window), or raise --perfetto-max-mb\n", prog, o->nranks,
			o->nranks == 1 ? "" : "s", (unsigned long long)((est + (1 << 20) - 1) >> 20),
			(unsigned long long)(limit_bytes(j.parts[0]) >> 20));
		status = 1;
	}
	if (!status)
		status = write_out(j.parts[0], out_path, fill_job, &j);
out:
	for (uint32_t i = 0; i < PERFETTO_MAX_RANKS && j.parts && j.res; i++) {
		if (j.parts[i])
			px_free(j.parts[i]);
		if (j.res[i]) {
			analysis__free(j.res[i]);
			free(j.res[i]);
		}
	}
	free(j.parts);
	free(j.res);
	free(want);
	return status;
}
