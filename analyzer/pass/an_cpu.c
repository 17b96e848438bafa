// SPDX-License-Identifier: MIT
/*
 * What ran on the CPUs: the job, other programs, nothing.
 *
 * The tracer records the switches in which a traced thread takes part, and names
 * the untraced task on their other side (a COMM record).  So for each CPU the trace
 * holds samples: at a switch, `prev` ran up to it and `next` from it; at a wakeup,
 * the waker (or, from an interrupt, the task it interrupted; 0 the idle task) was on
 * the waker's CPU.  Between two samples of a CPU, the task both name ran the whole
 * time; when they name two tasks, each is credited half (the switch between them was
 * not recorded).  Idle time is the idle task's (pid 0).  Nothing here is a guess about
 * the job's own threads: their switches are all recorded.
 *
 * Where the samples are far apart, a guess can be wrong for long: a CPU the job left
 * reads as the last task seen there until the trace ends.  The tracer also reads each
 * CPU's idle time (IDLE records, every 100 ms), counted at every switch of the
 * machine: between two readings the CPU was idle exactly that long.  So once the
 * samples have credited the time up to a reading, the CPU's idle and other time
 * since the one before are set to what the readings say (the job's stays): the
 * difference moves between the two where the samples had put the one it comes from;
 * a CPU with readings and no sample at all is known from them.
 */
#include <stdlib.h>
#include <string.h>

#include "an_core.h"

#define CPU_MAX		4096	/* CPU numbers above this are corruption */
#define OTHER_TL_MAX	128	/* untraced tasks with a timeline of their own */

void cpu__init(struct an *a)
{
	hmap_init(&a->m.oidx);
}

static struct cpu_st *cpu_of(struct machine *m, uint32_t c)
{
	if (c >= CPU_MAX)
		return NULL;
	if (c >= m->ncpu) {
		uint32_t n = c + 1 > 2 * m->ncpu ? c + 1 : 2 * m->ncpu;
		struct cpu_st *v = realloc(m->cpu, sizeof(*v) * n);

		if (!v)
			return NULL;
		memset(v + m->ncpu, 0, sizeof(*v) * (n - m->ncpu));
		m->cpu = v;
		m->ncpu = n;
	}
	return &m->cpu[c];
}

static struct other *other_of(struct an *a, uint32_t tid)
{
	struct machine *m = &a->m;
	uint64_t *v = hmap_find(&m->oidx, tid);
	struct other *o;

	if (v)
		return &m->oth[*v - 1];
	if (!(o = vec_grow(m->oth, &m->capoth, m->noth + 1, sizeof(*o))))
		return NULL;
	m->oth = o;
	if (!(v = hmap_slot(&m->oidx, tid)))
		return NULL;
	o = &m->oth[m->noth++];
	memset(o, 0, sizeof(*o));
	o->tid = tid;
	*v = m->noth;
	return o;
}

/*
 * Its timeline, made when it first used a CPU: the tracer's readings at the start
 * name every task of the machine, and most never run while it traces.
 */
static struct timeline *other_tl(struct an *a, struct other *o)
{
	if (!o->tl && a->m.ntl < OTHER_TL_MAX && (o->tl = tl_grid__new(&a->grid, NOT)))
		a->m.ntl++;
	return o->tl;
}

static uint64_t clipped(const struct an *a, uint64_t s, uint64_t e)
{
	uint64_t lo = s < a->win_from ? a->win_from : s, hi = e > a->win_to ? a->win_to : e;

	return hi > lo ? hi - lo : 0;
}

/* [s, e) of CPU time of cs went to series k (to the untraced task o, where one). */
static void account(struct an *a, struct cpu_st *cs, uint64_t s, uint64_t e, int k,
		    struct other *o)
{
	struct machine *m = &a->m;
	uint64_t in;

	if (e <= s)
		return;
	if (!m->tl)
		m->tl = tl_grid__new(&a->grid, NMC);
	tl__add_span(&a->grid, m->tl, (unsigned)k, s, e);
	cs->acc[k] += e - s;
	/* where, for a reading's correction (idle_close): only once readings come */
	if (cs->rd_ts && k != MC_JOB) {
		struct cpu_span *v = vec_grow(cs->spans, &cs->capspans, cs->nspans + 1,
					      sizeof(*v));

		if (v) {
			cs->spans = v;
			v[cs->nspans++] = (struct cpu_span){ s, e, k };
		}
	}
	in = clipped(a, s, e);
	m->ns[k] += in;
	if (k == MC_JOB)
		cs->job_ns += in;
	else if (k == MC_IDLE)
		cs->idle_ns += in;
	if (o) {
		tl__add_span(&a->grid, other_tl(a, o), OT_SAMPLED, s, e);
		o->ns[OT_SAMPLED] += in;
		/* a span credited late: its part before the last reading is in that */
		o->ns_out += clipped(a, s > o->rt_ts ? s : o->rt_ts, e);
	}
}

/* Adds delta ns (signed) to series k of cs, spread over [s, e). */
static void adjust(struct an *a, struct cpu_st *cs, uint64_t s, uint64_t e, int k,
		   double delta)
{
	struct machine *m = &a->m;
	double in;

	if (e <= s || !delta)
		return;
	if (!m->tl)
		m->tl = tl_grid__new(&a->grid, NMC);
	tl__add_spread(&a->grid, m->tl, (unsigned)k, s, e, delta);
	in = delta * (double)clipped(a, s, e) / (double)(e - s);
	m->ns[k] = (double)m->ns[k] + in > 0 ? (uint64_t)((double)m->ns[k] + in) : 0;
	if (k == MC_IDLE)
		cs->idle_ns = (double)cs->idle_ns + in > 0 ? (uint64_t)((double)cs->idle_ns + in) : 0;
}

/*
 * Moves delta ns from series `from` to series `to` of cs over the interval a reading
 * closes: where the samples credited `from` (its spans there, pro rata), so that no
 * part of the interval gets more than all of the CPU; evenly where they credited
 * none of it.
 */
static void move(struct an *a, struct cpu_st *cs, uint64_t s, uint64_t e, int from, int to,
		 double delta)
{
	double had = (double)cs->acc[from];
	uint32_t n = 0;

	for (uint32_t i = 0; had > 0 && i < cs->nspans; i++) {
		const struct cpu_span *sp = &cs->spans[i];
		double part = delta * (double)(sp->e - sp->s) / had;

		if (sp->k != from)
			continue;
		adjust(a, cs, sp->s, sp->e, from, -part);
		adjust(a, cs, sp->s, sp->e, to, part);
		n++;
	}
	if (!n) {
		adjust(a, cs, s, e, from, -delta);
		adjust(a, cs, s, e, to, delta);
	}
}

/*
 * The samples have credited cs up to reading rd: since the reading before, the CPU
 * was idle as long as the readings say (no longer than the job left it), and the
 * rest ran other programs.  Both readings must count from before the first.
 */
static void idle_close(struct an *a, struct cpu_st *cs, const struct idle_rd *rd)
{
	uint64_t len, job, idle;
	double d;

	if (cs->rd_ok && rd->since <= cs->rd_ts && rd->ts > cs->rd_ts &&
	    rd->idle >= cs->rd_idle) {
		len = rd->ts - cs->rd_ts;
		job = cs->acc[MC_JOB] < len ? cs->acc[MC_JOB] : len;
		idle = rd->idle - cs->rd_idle;
		if (idle > len - job)
			idle = len - job;
		d = (double)idle - (double)cs->acc[MC_IDLE];
		if (!cs->known) {
			/* nothing credited (no sample yet): both, evenly */
			adjust(a, cs, cs->rd_ts, rd->ts, MC_IDLE, d);
			adjust(a, cs, cs->rd_ts, rd->ts, MC_OTHER,
			       (double)(len - job - idle) - (double)cs->acc[MC_OTHER]);
		} else if (d < 0) {
			move(a, cs, cs->rd_ts, rd->ts, MC_IDLE, MC_OTHER, -d);
		} else if (d > 0) {
			move(a, cs, cs->rd_ts, rd->ts, MC_OTHER, MC_IDLE, d);
		}
		cs->read = a->m.read = true;
	}
	cs->nspans = 0;
	cs->rd_ok = rd->since && rd->since <= rd->ts;
	cs->rd_ts = rd->ts;
	cs->rd_idle = rd->idle;
	memset(cs->acc, 0, sizeof(cs->acc));
}

/* [s, e) of CPU time of cs went to tid: closing each reading it reaches. */
static void credit(struct an *a, struct cpu_st *cs, uint64_t s, uint64_t e, uint32_t tid,
		   bool traced)
{
	int k = !tid ? MC_IDLE : traced ? MC_JOB : MC_OTHER;
	struct other *o = k == MC_OTHER ? other_of(a, tid) : NULL;

	if (s < cs->covered)
		s = cs->covered;
	for (; cs->head < cs->npend && cs->pend[cs->head].ts <= e; cs->head++) {
		uint64_t t = cs->pend[cs->head].ts;

		if (t > s) {
			account(a, cs, s, t, k, o);
			s = t;
		}
		idle_close(a, cs, &cs->pend[cs->head]);
	}
	if (cs->head == cs->npend)
		cs->head = cs->npend = 0;
	account(a, cs, s, e, k, o);
}

/*
 * The untraced task's CPU time so far, read at a switch: what it used since the
 * last reading is spread over the time between them (pro rata for the window).
 */
static void runtime(struct an *a, uint32_t tid, uint64_t ts, uint64_t rt)
{
	struct other *o = other_of(a, tid);
	uint64_t used;

	if (!o || (o->rt_first && (ts < o->rt_ts || rt < o->rt)))
		return;
	if (!o->rt_first) {
		o->rt_first = ts ? ts : 1;
		o->ns_before = o->ns_out;
	} else if (ts > o->rt_ts) {
		used = rt - o->rt;
		/* never more than all of the time in between on one CPU */
		if (used > ts - o->rt_ts)
			used = ts - o->rt_ts;
		if (used)
			tl__add_spread(&a->grid, other_tl(a, o), OT_RUNTIME, o->rt_ts, ts,
				       (double)used);
		o->ns[OT_RUNTIME] += (uint64_t)((double)used *
						(double)clipped(a, o->rt_ts, ts) /
						(double)(ts - o->rt_ts));
	}
	o->rt = rt;
	o->rt_ts = ts;
	o->ns_out = 0;
}

/*
 * A sample: `before` ran on CPU c up to t, `after` runs from t.  ran: how long
 * `before` had run at t, where the switch says (0: not known).
 */
static void sample(struct an *a, uint32_t c, uint64_t t, uint32_t before, bool btraced,
		   uint32_t after, bool atraced, uint64_t ran)
{
	struct cpu_st *cs = cpu_of(&a->m, c);

	if (!cs || (cs->known && t < cs->last_ts))
		return;
	if (!cs->known) {
		/* before the first sample: the task it names, from the trace start */
		credit(a, cs, a->start_ts, t, before, btraced);
	} else if (cs->last_tid == before) {
		credit(a, cs, cs->last_ts, t, before, btraced);
	} else {
		/* a switch between them not in the trace: when, if `before` says */
		uint64_t mid = ran && ran < t - cs->last_ts ? t - ran :
			       cs->last_ts + (t - cs->last_ts) / 2;

		credit(a, cs, cs->last_ts, mid, cs->last_tid, cs->last_traced);
		credit(a, cs, mid, t, before, btraced);
	}
	cs->known = true;
	cs->last_ts = t;
	cs->last_tid = after;
	cs->last_traced = atraced;
}

void cpu__switch(struct an *a, const struct st_event *ev)
{
	sample(a, ev->sw.cpu, ev->ts, ev->sw.prev_tid, ev->flags & ST_SW_PREV_TRACED,
	       ev->sw.next_tid, ev->flags & ST_SW_NEXT_TRACED,
	       ev->flags & ST_SW_RAN ? ev->sw_ran : 0);
	/* the runtime is the untraced side's: exactly one side is traced */
	if ((ev->flags & ST_SW_RUNTIME) &&
	    !(ev->flags & ST_SW_PREV_TRACED) != !(ev->flags & ST_SW_NEXT_TRACED))
		runtime(a, ev->flags & ST_SW_NEXT_TRACED ? ev->sw.prev_tid : ev->sw.next_tid,
			ev->ts, ev->sw_runtime);
}

/*
 * The tracer's own reading of a task's CPU time (when tracing started or ended): a
 * reading like those at switches, for every task of the machine.
 */
void cpu__runtime(struct an *a, const struct st_event *ev)
{
	runtime(a, ev->rt.tid, ev->ts, ev->rt.runtime);
}

/* A traced waker's CPU is known from its switches: only the others are samples. */
void cpu__wakeup(struct an *a, const struct st_event *ev)
{
	uint32_t w = ev->wk.waker_tid;

	if (!(ev->flags & ST_WK_WAKER_TRACED))
		sample(a, ev->wk.waker_cpu, ev->ts, w, false, w, false, 0);
}

/*
 * A reading of a CPU's idle time.  Its interval is closed once the samples have
 * credited the CPU up to it; on a CPU with no sample yet nothing is credited, so it
 * is closed now, the time it was not idle going to other programs.  A reading from
 * before the CPU's last sample (a trace out of order) is left out: the next one
 * counts from the one before it.
 */
void cpu__idle(struct an *a, const struct st_event *ev)
{
	struct cpu_st *cs = cpu_of(&a->m, ev->idle.cpu);
	struct idle_rd rd = { ev->ts, ev->idle.since, ev->idle.idle }, *v;

	if (!cs || rd.ts < cs->rd_ts)
		return;
	if (!cs->known) {
		idle_close(a, cs, &rd);
		if (cs->read)
			cs->covered = rd.ts;
		return;
	}
	if (rd.ts < cs->last_ts)
		return;
	if (!(v = vec_grow(cs->pend, &cs->cappend, cs->npend + 1, sizeof(*v))))
		return;
	cs->pend = v;
	cs->pend[cs->npend++] = rd;
}

/* The end of the trace: each CPU kept running what it last ran. */
void cpu__end(struct an *a)
{
	for (uint32_t c = 0; c < a->m.ncpu; c++) {
		struct cpu_st *cs = &a->m.cpu[c];

		if (cs->known && a->end_ts > cs->last_ts)
			credit(a, cs, cs->last_ts, a->end_ts, cs->last_tid, cs->last_traced);
	}
}

void cpu__free(struct an *a)
{
	for (uint32_t c = 0; c < a->m.ncpu; c++) {
		free(a->m.cpu[c].pend);
		free(a->m.cpu[c].spans);
	}
	hmap_free(&a->m.oidx);
	free(a->m.cpu);
	free(a->m.oth);
}
