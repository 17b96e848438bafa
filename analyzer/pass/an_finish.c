// SPDX-License-Identifier: MIT
/*
 * After the pass: find the trainers and their main threads, pick each one's window,
 * detect its steps from the snapshot log, and fill the results (analysis.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

#define STOLEN_WARN	0.05	/* of the window stolen from the main thread: said on top */
#define ELIGIBLE_MIN	3	/* arrivals or step marks that make a thread a main candidate */
#define LEADER_SHARE	0.5	/* the process's first thread wins unless clearly idler */
#define BUSY_SHARE	0.25	/* without data-loader evidence, trainers are the busy processes */
#define WORKER_BUSY	0.01	/* a child process busy 1% of the window is a worker */
#define CLUSTER_RATIO	4.0	/* step gaps at least this much longer than in-step gaps */


/*
 * How much of a thread's time is a training loop's: on CPU, or waiting for batches,
 * the GPU or the other ranks.  A rank that mostly waits for a straggler spends its
 * time in collectives: without them, a communication thread of its own (gloo's,
 * whose waits for the main thread end through it, from a batch) outscored it under
 * load (t_ddp compute-attach: rank 0's main 0.3 s against 4.4 s).
 */
static uint64_t score(const struct thr *t)
{
	return t->oncpu + t->cum.cat[CAT_DL] + t->cum.cat[CAT_GPU] + t->cum.cat[CAT_COLL];
}

static bool eligible(const struct thr *t)
{
	return (t->flags & TF_LEADER) || t->own_arrivals >= ELIGIBLE_MIN ||
	       t->step_marks >= 2;
}

static bool fed(const struct thr *t)
{
	return t->direct_arrivals >= ELIGIBLE_MIN || t->step_marks >= 2;
}

/* The main thread of p: step markers, else the busiest batch consumer, the leader first. */
static struct thr *choose_main(struct an *a, struct proc *p, const char **why)
{
	struct thr *t, *best = NULL, *marks = NULL, *leader = NULL;

	FOR_THREADS(a, t) {
		if (t->proc != p || !eligible(t))
			continue;
		if (t->step_marks >= 2 && (!marks || t->step_marks > marks->step_marks))
			marks = t;
		if (t->flags & TF_LEADER)
			leader = t;
		if (!best || score(t) > score(best))
			best = t;
	}
	if (marks) {
		*why = "step_markers";
		return marks;
	}
	/*
	 * A leader that a relay feeds (PyTorch's pin-memory thread) is the loop, however
	 * little it waits: the relay waits on the workers all the time, the loop only when
	 * its queue is empty (u29_recipe, persistent workers, under load: the relay's 18.9 s
	 * of waits and CPU against the loop's 7.7 s, and every figure was the relay's).
	 */
	if (leader && ((leader->flags & TF_RELAY_FED) ||
		       (double)score(leader) >= LEADER_SHARE * (double)(best ? score(best) : 0))) {
		*why = fed(leader) || leader->own_arrivals || (leader->flags & TF_RELAY_FED) ?
		       "batch_consumer" : "busiest_thread";
		return leader;
	}
	*why = best && best->own_arrivals ? "batch_consumer" : "busiest_thread";
	return best;
}

/*
 * Per process, in one pass over the threads: its busiest thread's score and whether
 * workers feed one of its threads; then, walking up from each busy process, whether
 * it has a busy descendant.  Linear in threads and processes (a pass per process was
 * quadratic: 100,000 processes did not finish).
 */
static uint64_t rank_procs(struct an *a)
{
	struct thr *t;
	struct proc *p;
	uint64_t max = 0;

	FOR_PROCS(a, p) {
		p->score = 0;
		p->fed_thread = p->busy_below = false;
	}
	FOR_THREADS(a, t) {
		if (!(p = t->proc))
			continue;
		if (score(t) > p->score)
			p->score = score(t);
		if (fed(t))
			p->fed_thread = true;
	}
	FOR_PROCS(a, p)
		if (p->score > max)
			max = p->score;
	return max;
}

static bool busy(const struct proc *p, uint64_t max)
{
	return max && (double)p->score >= BUSY_SHARE * (double)max;
}

/* Marks the ancestors of busy processes (as far as an__is_descendant looks). */
static void mark_busy_below(struct an *a, uint64_t max)
{
	struct proc *p, *q;
	int depth;

	FOR_PROCS(a, p) {
		if (!busy(p, max))
			continue;
		for (q = p->parent, depth = 0; q && depth < AN_MAX_DEPTH; q = q->parent, depth++)
			q->busy_below = true;
	}
}

static uint64_t pid_score(struct an *a, uint32_t pid)
{
	struct proc *p = an__find_proc(a, pid);

	return p ? p->score : 0;
}

/* Keeps the MAX_TRAINERS busiest; the count of all is said on top (finish__trainers). */
static void add_trainer(struct an_result *res, struct proc *p)
{
	struct an_trainer *least = NULL;

	res->ntr_found++;
	if (res->ntr < MAX_TRAINERS) {
		res->tr[res->ntr++].pid = p->pid;
		return;
	}
	for (uint32_t i = 0; i < MAX_TRAINERS; i++)
		if (!least || pid_score(&res->an, res->tr[i].pid) < pid_score(&res->an, least->pid))
			least = &res->tr[i];
	if (p->score > pid_score(&res->an, least->pid))
		least->pid = p->pid;
}

/* Trainers: processes workers feed (or with step markers), else the busy leaves. */
static void find_trainers(struct an_result *res)
{
	struct an *a = &res->an;
	struct proc *p;
	uint64_t max = rank_procs(a);

	FOR_PROCS(a, p)
		if (p->fed_thread)
			add_trainer(res, p);
	if (!res->ntr) {
		mark_busy_below(a, max);
		FOR_PROCS(a, p)
			if (busy(p, max) && !p->busy_below)
				add_trainer(res, p);
		return;
	}
	/* a launcher woken by its trainers is not a trainer */
	for (uint32_t i = 0; i < res->ntr; i++) {
		struct proc *pi = an__find_proc(a, res->tr[i].pid);

		for (uint32_t k = 0; k < res->ntr; k++) {
			struct proc *pk = an__find_proc(a, res->tr[k].pid);

			if (k != i && pi && pk && an__is_descendant(pk, pi)) {
				res->tr[i--] = res->tr[--res->ntr];
				break;
			}
		}
	}
}

static void breakdown(struct an_breakdown *b, const struct acc *from, const struct acc *to)
{
	memset(b, 0, sizeof(*b));
	for (int c = 0; c < NCAT; c++) {
		b->ns[c] = to->cat[c] >= from->cat[c] ? to->cat[c] - from->cat[c] : 0;
		b->total += b->ns[c];
	}
	for (int c = 0; c < NCAT && b->total; c++)
		b->frac[c] = (double)b->ns[c] / (double)b->total;
}

/* ------------------------------------------------------------------ steps */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static uint32_t collect(const struct thr *t, uint32_t kind, uint32_t *idx, uint64_t lo, uint64_t hi)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->nsnaps; i++)
		if (t->snaps[i].kind == kind && t->snaps[i].ts >= lo && t->snaps[i].ts <= hi)
			idx[n++] = i;
	return n;
}

/*
 * Several arrivals per step (a batch in pieces): gaps then fall in two classes, short
 * in-step gaps and step-long ones.  Split the log-gaps where the between-class
 * variance is largest (Otsu) and merge only when the classes are far apart, the short
 * gaps are all short and common: a loop whose steps vary in length must not merge.
 */
static uint32_t cluster(const struct thr *t, uint32_t *idx, uint32_t n)
{
	uint32_t m = n - 1, best_k = 0, k, out;
	double *g, best = 0, sum = 0, thr;

	if (n < 4 || !(g = malloc(sizeof(*g) * m)))
		return n;
	for (k = 0; k < m; k++) {
		g[k] = log((double)(t->snaps[idx[k + 1]].ts - t->snaps[idx[k]].ts) + 1);
		sum += g[k];
	}
	qsort(g, m, sizeof(*g), cmp_double);
	for (k = 1, thr = 0; k < m; k++) {
		double w0 = (double)k / m, mu0, mu1, v;

		thr += g[k - 1];
		mu0 = thr / k;
		mu1 = (sum - thr) / (m - k);
		v = w0 * (1 - w0) * (mu1 - mu0) * (mu1 - mu0);
		if (v > best) {
			best = v;
			best_k = k;
		}
	}
	if (!best_k || exp(g[best_k] - g[best_k - 1]) < CLUSTER_RATIO ||
	    exp(g[best_k - 1]) > 2e6 || (double)best_k / m < 0.3) {
		free(g);
		return n;
	}
	thr = exp((g[best_k] + g[best_k - 1]) / 2);
	free(g);
	for (k = 1, out = 1; k < n; k++)
		if ((double)(t->snaps[idx[k]].ts - t->snaps[idx[k - 1]].ts) >= thr)
			idx[out++] = idx[k];
	return out;
}

static void step_of(struct an_step *s, const struct snap *a, const struct snap *b)
{
	memset(s, 0, sizeof(*s));
	s->start = a->ts;
	s->dur = b->ts - a->ts;
	s->launches = b->a.launches - a->a.launches;
	for (int c = 0; c < NCAT; c++) {
		s->ns[c] = b->a.cat[c] >= a->a.cat[c] ? b->a.cat[c] - a->a.cat[c] : 0;
		if (s->ns[c] > s->ns[s->primary])
			s->primary = c;
	}
}

static int cmp_dur_desc(const void *x, const void *y)
{
	const struct an_step *a = x, *b = y;

	return a->dur > b->dur ? -1 : a->dur < b->dur;
}

static void step_chart(struct an_trainer *tr, const struct an_step *all, uint32_t n)
{
	uint32_t per = (n + STEP_CHART_MAX - 1) / STEP_CHART_MAX, k;

	if (!n || !(tr->steps.chart = calloc((n + per - 1) / per, sizeof(struct an_step))))
		return;
	tr->steps.per_chart = per;
	for (uint32_t i = 0; i < n; i += per) {
		struct an_step *c = &tr->steps.chart[tr->steps.nchart++];

		*c = all[i];
		for (k = i + 1; k < n && k < i + per; k++) {
			c->dur += all[k].dur;
			c->launches += all[k].launches;
			for (int j = 0; j < NCAT; j++)
				c->ns[j] += all[k].ns[j];
		}
		c->dur /= k - i;
		c->launches /= k - i;
		for (int j = 0; j < NCAT; j++)
			c->ns[j] /= k - i;
	}
}

static void step_stats(struct an_trainer *tr, struct an_step *all, uint32_t n)
{
	double *d = malloc(sizeof(*d) * n), sum = 0, sq = 0;
	uint64_t launches = 0;

	if (!d)
		return;
	for (uint32_t i = 0; i < n; i++) {
		d[i] = (double)all[i].dur / 1e6;
		sum += d[i];
		launches += all[i].launches;
	}
	tr->steps.mean_ms = sum / n;
	for (uint32_t i = 0; i < n; i++)
		sq += (d[i] - tr->steps.mean_ms) * (d[i] - tr->steps.mean_ms);
	tr->steps.cv = tr->steps.mean_ms > 0 ? sqrt(sq / n) / tr->steps.mean_ms : 0;
	tr->steps.regular = tr->steps.cv < 0.25;
	tr->steps.per_s = tr->steps.mean_ms > 0 ? 1000 / tr->steps.mean_ms : 0;
	tr->steps.launches_per_step = (double)launches / n;
	if ((tr->steps.dur_ms = malloc(sizeof(float) * n)))
		for (uint32_t i = 0; i < n; i++)
			tr->steps.dur_ms[i] = (float)d[i];
	if ((tr->steps.start_ns = malloc(sizeof(uint64_t) * n)))
		for (uint32_t i = 0; i < n; i++)
			tr->steps.start_ns[i] = all[i].start;
	qsort(d, n, sizeof(*d), cmp_double);
	/* nearest rank */
	tr->steps.p50_ms = d[(uint32_t)ceil(0.50 * n) - 1];
	tr->steps.p95_ms = d[(uint32_t)ceil(0.95 * n) - 1];
	tr->steps.p99_ms = d[(uint32_t)ceil(0.99 * n) - 1];
	tr->steps.min_ms = d[0];
	tr->steps.max_ms = d[n - 1];
	free(d);
	step_chart(tr, all, n);
	qsort(all, n, sizeof(*all), cmp_dur_desc);
	tr->steps.nslow = n < MAX_SLOW ? n : MAX_SLOW;
	memcpy(tr->steps.slow, all, sizeof(*all) * tr->steps.nslow);
}

/*
 * Boundaries: step markers; else the batches the main thread took (the loader's
 * next() returned), unless far fewer than the batches that reached it (a take it
 * could not see); else its own batch arrivals; else a relay's.  Each take is one
 * step, however close to the last (two workers' batches back to back, the second
 * taken from the cache after a short step): only arrivals, a batch in pieces, merge.
 */
/*
 * A take of a message from a server the job started (an__served): its first line (its
 * port, on a multiprocessing queue) came before it accepted a connection, when it
 * looked like a worker.  No step: a user's script's window began there, 0.65 s before
 * its loader's first batch (the pool's start-up), with a step too many.
 */
static bool served_take(const struct an *a, const struct snap *s)
{
	const uint64_t *w = s->ld ? hmap_find(&a->pipe_writer, s->ld) : NULL;
	const uint64_t *v = w ? hmap_find(&a->procs, (uint32_t)*w) : NULL;
	const struct proc *q = v ? (const struct proc *)(uintptr_t)*v : NULL;

	return q && (q->flags & (PF_SERVES | PF_TASKS)) == PF_SERVES;
}

/*
 * Take i of m (idx: t's snapshots), at the put of a queue feeder whose queue proved a
 * helper's since (attr__helper_queue): a put made before its reader was known.  Where
 * no batch was pending, the take was of one from before the trace (a step too many);
 * where one was, that batch was the next step's, whose put then found none and took
 * one from before the trace in its turn: the helper's take goes where such a take
 * comes after it (attached to a job with a checkpoint writer: its first checkpoint,
 * 81 steps for 80, 121 for 120).  Run mode has no takes from before the trace: its
 * takes stay, each counts a step.
 */
static bool helper_put(struct an *a, const struct thr *t, const uint32_t *idx, uint32_t i,
		       uint32_t m)
{
	const struct snap *s = &t->snaps[idx[i]];

	if (!s->feeder || !attr__helper_queue(a, s->feeder))
		return false;
	for (uint32_t j = i; j < m; j++)
		if (t->snaps[idx[j]].before)
			return true;
	return false;
}

static uint32_t boundaries(struct an *a, struct an_trainer *tr, const struct thr *t,
			   uint32_t *idx, uint64_t lo, uint64_t hi)
{
	uint32_t n = collect(t, SNAP_STEP, idx, lo, hi), arrivals;

	tr->steps.method = "markers";
	if (n >= 2)
		return n;
	arrivals = collect(t, SNAP_OWN, idx, lo, hi);
	tr->steps.method = "batch_takes";
	n = collect(t, SNAP_TAKE, idx, lo, hi);
	for (uint32_t i = 0, m = n; i < m; i++)
		if (served_take(a, &t->snaps[idx[i]]) || helper_put(a, t, idx, i, m))
			n--;
		else
			idx[i - (m - n)] = idx[i];
	/* (loaders zipped: a take of each a step, one the step's: zipped) */
	if (n >= 2 && 2 * (uint64_t)n * (tr->steps.zip_loaders ? tr->steps.zip_loaders : 1) >= arrivals)
		return n;
	tr->steps.method = "batch_arrivals";
	n = cluster(t, idx, collect(t, SNAP_OWN, idx, lo, hi));
	if (n >= 2)
		return n;
	tr->steps.method = "relay_arrivals";
	n = cluster(t, idx, collect(t, SNAP_PROXY, idx, lo, hi));
	if (n >= 2)
		return n;
	tr->steps.method = "activity_period";
	n = collect(t, SNAP_PERIOD, idx, lo, hi);
	if (n >= 2) {
		period__name(&a->o->period, tr->steps.pattern, sizeof(tr->steps.pattern));
		tr->steps.pattern_per_step = a->o->period.lag;
		tr->steps.pattern_handoff = a->o->period.sig & PER_FX_HANDOFF;
		return n;
	}
	tr->steps.method = "none";
	return 0;
}

#define LONG_STEP	10.0	/* a step this many times the median held something else */
#define LONG_SHARE	0.5	/* ... and such steps this much of the steps' time: said */

/*
 * Steps of over LONG_STEP x the median whose time outside the loader's waits holds most
 * of the steps' time: between the batches it took from the workers, the loop did other
 * work that took none from them.  A training loop with num_workers=0 (its batches made
 * on the main thread) beside a validation loader with workers had the validation
 * batches as its steps, 35 for 120, without a word.  (A step that waited long for a
 * slow batch is the loader's: golden relay_timed_wait.)  Said on top.
 */
static void long_steps(struct an_result *res, const struct an_trainer *tr,
		       const struct an_step *all, uint32_t n)
{
	double tot = 0, lng = 0, lim = LONG_STEP * tr->steps.p50_ms * 1e6;
	uint32_t k = 0;

	/* the steps that held another loader's loops are said already (several_loaders) */
	if (n < 4 || tr->steps.other_batches || !strcmp(tr->steps.method, "markers") ||
	    !strcmp(tr->steps.method, "activity_period"))
		return;
	for (uint32_t i = 0; i < n; i++) {
		tot += (double)all[i].dur;
		if ((double)all[i].dur > lim) {
			lng += (double)all[i].dur - (double)all[i].ns[CAT_DL];
			k++;
		}
	}
	if (lng > LONG_SHARE * tot)
		analysis__warn(res, "main thread %u: %u steps over %.0fx the median (%.1f ms) hold "
			       "%.0f%% of the steps' time, not waiting for the loader: its steps "
			       "count only batches from workers (num_workers=0 in the training "
			       "loop, beside a loader with workers?)", tr->main_tid, k, LONG_STEP,
			       tr->steps.p50_ms, 100 * lng / tot);
}

/*
 * A loop fed through a Python queue by a loader thread of its own: where the queue was
 * neither full nor empty, neither the loop's get() nor the thread's put() waited, and
 * the take is not in the trace; it is counted from the batches the thread received and
 * placed by the loop's CPU time (an_attr.c, queue_place).  Estimates: said on top
 * (pt_bg_pers attached: 54-58 steps for 58 in CI runs).  Where the loop frees each
 * batch as it takes the next, each is where it did (queue_plan_frees): said so.
 */
static void queue_unseen(struct an_result *res, struct an_trainer *tr, const uint32_t *idx,
			 uint32_t n)
{
	const struct thr *t = tr->main;
	uint32_t k = 0, f = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct snap *s = &t->snaps[idx[i]];

		k += s->kind == SNAP_TAKE && s->src >= SNAP_FREED && s->src <= SNAP_QUEUED;
		f += s->kind == SNAP_TAKE && s->src == SNAP_FREED;
	}
	tr->steps.queue_unseen = k;
	if (k && f == k)
		analysis__warn(res, "main thread %u: %u of %u steps took a batch from its loader "
			       "thread's queue unseen (neither full nor empty): each where the loop "
			       "freed the batch before it", tr->main_tid, k, n);
	else if (k)
		analysis__warn(res, "main thread %u: %u of %u steps took a batch from its loader "
			       "thread's queue unseen (neither full nor empty): counted from that "
			       "thread's receipts, placed by the loop's CPU time; estimates, their "
			       "count too at an epoch's edges", tr->main_tid, k, n);
}

/*
 * A step counts in a window (--from/--to) where it starts: the window's last boundary
 * short of its end begins one, which ends at the next boundary of its kind past the
 * window.  The job counts so (the steps whose next() returned in the window); without
 * it, a window that ends within a step read one short (30 of 48 kept pin-memory traces
 * of t_jobs).  Only where each boundary is one snap (markers, takes), and where that
 * step runs on past the window's end no longer than the window lasts: after a window
 * at training's end the next boundary may be an evaluation's, minutes on (a bound of
 * 10x the window's median step lost a step where an epoch's unseen tail was placed
 * 190 ms on: pt_pin_tail attached in a clean clone's CI, 50 for 52).  A periodic
 * pattern's boundaries are one snap each too (num_workers=0: pt_nw0 149 for 150, pt_gil
 * 59 for 60, a loop over an image folder 116 for 117, each a step short).  Where no
 * boundary of its kind comes past the window at all (a loop that left its last epoch
 * with a break, then shut its pool down: nothing taken after its last step), that
 * step ends at the window's end (*at_to): it began in the window (pt_ep_break_pers
 * beside CPU hogs, 87 steps for 88, where no batch was left pending for the pool's
 * shutdown to be read as a take).  Not where the window runs to the trace's end: its
 * last boundary then ends the steps, as in the steady state.  Returns n, with that
 * boundary.
 */
static uint32_t window_closer(const struct an *a, const struct an_trainer *tr,
			      const struct thr *t, uint32_t *idx, uint32_t n, uint64_t lo,
			      uint64_t hi, bool *at_to)
{
	uint32_t kind = !strcmp(tr->steps.method, "markers") ? SNAP_STEP :
			!strcmp(tr->steps.method, "batch_takes") ? SNAP_TAKE :
			!strcmp(tr->steps.method, "activity_period") ? SNAP_PERIOD : 0;
	uint32_t best = UINT32_MAX;

	/* (a boundary on the window's end begins no step in it) */
	if (!kind || n < 2 || t->snaps[idx[n - 1]].ts >= hi || hi <= lo)
		return n;
	for (uint32_t i = 0; i < t->nsnaps; i++)
		if (t->snaps[i].kind == kind && t->snaps[i].ts > hi &&
		    (best == UINT32_MAX || t->snaps[i].ts < t->snaps[best].ts))
			best = i;
	if (best != UINT32_MAX && t->snaps[best].ts - hi <= hi - lo)
		idx[n++] = best;
	*at_to = best == UINT32_MAX && t->win_filled[1] && hi < a->end_ts;
	return n;
}

#define STARTUP_STEP	4.0	/* a step outside this factor of the median: not yet steady */
#define STARTUP_STEADY	3	/* steps in a row within it: the loop began */

/*
 * A pattern's first and last occurrences may come before and after the loop: a call
 * that recurs once a step is made at start-up too (Python's fcntl on the script's
 * file, 2 ms apart, then 1.4 s of imports before a nanoGPT-style loop's first batch,
 * whose steps took 161 ms at their median: 65 steps for 63), or at exit (munmap, 7
 * times in 530 ms, 0.1 to 318 ms apart).  Batches and markers are the loop's own.
 * The steady state begins where the intervals do: at the first boundary of
 * STARTUP_STEADY steps in a row within STARTUP_STEP of the median, where an earlier
 * step is not; it ends at the last such.  Returns the boundaries left.
 */
static bool steady_step(const struct thr *t, const uint32_t *idx, uint32_t i, uint64_t med)
{
	double d = (double)(t->snaps[idx[i + 1]].ts - t->snaps[idx[i]].ts);

	return d <= STARTUP_STEP * (double)med && d * STARTUP_STEP >= (double)med;
}

static uint32_t pattern_steady(const struct an_trainer *tr, const struct thr *t, uint32_t *idx,
			       uint32_t n)
{
	uint64_t *d, med;
	uint32_t from = 0, to = n - 1, run = 0;

	if (strcmp(tr->steps.method, "activity_period") || n <= 2 * STARTUP_STEADY ||
	    !(d = malloc(sizeof(*d) * n)))
		return n;
	for (uint32_t i = 0; i + 1 < n; i++)
		d[i] = t->snaps[idx[i + 1]].ts - t->snaps[idx[i]].ts;
	qsort(d, n - 1, sizeof(*d), an__cmp_u64);
	med = d[(n - 1) / 2];
	free(d);
	for (uint32_t i = 0; i + 1 < n && run < STARTUP_STEADY; i++)
		run = steady_step(t, idx, i, med) ? run + 1 : (from = i + 1, 0);
	if (run < STARTUP_STEADY)
		return n;	/* never steady: all of it */
	for (run = 0; to > from && run < STARTUP_STEADY; to--)
		if (steady_step(t, idx, to - 1, med))
			run++;
		else
			run = 0, n = to;
	n -= from;
	memmove(idx, idx + from, sizeof(*idx) * n);
	return n;
}

/* CPU time after a pattern's last boundary that says it was not the loop (see below) */
#define PATTERN_AFTER_MIN_NS	250000000ull

/*
 * A pattern that was not the loop's: the thread ran longer on its CPU after the last
 * boundary, without it, than between the first and the last.  A start-up that reads
 * its data into memory (or a first epoch that fills a cache) makes a call once a
 * sample, as regular as a loop, and a loop over data in memory may make none: a
 * user's MNIST-like script, its data made in memory, had 718 steps in 1.1 s of
 * start-up and none in its 5 s of training.  Its steps would be a start-up's, its
 * window not the loop: no steps, said on top with what was seen (fill_trainer).
 * Returns the boundaries kept: n or 0.
 */
static uint32_t pattern_loop(struct an_trainer *tr, const struct thr *t, const uint32_t *idx,
			     uint32_t n)
{
	const struct snap *first, *last, *end = &t->snaps[t->nsnaps - 1];
	uint64_t in, after;

	if (strcmp(tr->steps.method, "activity_period") || n < 2)
		return n;
	first = &t->snaps[idx[0]];
	last = &t->snaps[idx[n - 1]];
	in = last->a.oncpu - first->a.oncpu;
	after = end->a.oncpu > last->a.oncpu ? end->a.oncpu - last->a.oncpu : 0;
	if (after <= in || after < PATTERN_AFTER_MIN_NS)
		return n;
	tr->steps.unlike[0] = first->ts;
	tr->steps.unlike[1] = last->ts;
	tr->steps.unlike[2] = in;
	tr->steps.unlike[3] = after;
	tr->steps.unlike_n = n - 1;
	memcpy(tr->steps.unlike_pattern, tr->steps.pattern, sizeof(tr->steps.pattern));
	tr->steps.pattern[0] = '\0';
	tr->steps.method = "none";
	return 0;
}

static void find_steps(struct an_result *res, struct an_trainer *tr, const struct snap **w0,
		       const struct snap **w1)
{
	const struct thr *t = tr->main;
	uint32_t *idx = malloc(sizeof(*idx) * (t->nsnaps + 1)), n, k;
	struct an_step *all;
	bool at_to = false;

	if (!idx)
		return;
	n = boundaries(&res->an, tr, t, idx, res->an.win_from, res->an.win_to);
	if (!res->an.user_window)
		n = pattern_loop(tr, t, idx, pattern_steady(tr, t, idx, n));
	if (res->an.user_window && n)
		n = window_closer(&res->an, tr, t, idx, n, res->an.win_from, res->an.win_to, &at_to);
	k = n - 1 + at_to;	/* the steps */
	if (n && k && (all = malloc(sizeof(*all) * k))) {
		for (uint32_t i = 0; i + 1 < n; i++)
			step_of(&all[i], &t->snaps[idx[i]], &t->snaps[idx[i + 1]]);
		if (at_to)
			step_of(&all[n - 1], &t->snaps[idx[n - 1]], &t->win[1]);
		tr->steps.count = k;
		step_stats(tr, all, k);
		long_steps(res, tr, all, k);
		free(all);
		queue_unseen(res, tr, idx, k);
		if (!res->an.user_window) {
			*w0 = &t->snaps[idx[0]];
			*w1 = &t->snaps[idx[n - 1]];
			tr->win_source = "steps";
		}
	}
	free(idx);
}

/* ------------------------------------------------------------------ data loader */

static bool is_trainer_pid(const struct an_result *res, uint32_t pid)
{
	for (uint32_t i = 0; i < res->ntr; i++)
		if (res->tr[i].pid == pid)
			return true;
	return false;
}

static void add_io(struct an_io *io, const struct iost *s)
{
	io->reads += s->reads;
	io->read_bytes += s->read_bytes;
	io->read_ns += s->read_ns;
	io->opens += s->opens;
	io->writes += s->writes;
	io->write_bytes += s->write_bytes;
	io->write_ns += s->write_ns;
	io->pages_req += s->pages_req;
	io->pages_miss += s->pages_miss;
	io->fault_pages += s->fault_pages;
	io->blk_reqs += s->blk_reqs;
	io->blk_bytes += s->blk_bytes;
	io->blk_read_bytes += s->blk_read_bytes;
	hist__merge(&io->rd_lat, &s->rd_lat);
	hist__merge(&io->blk_lat, &s->blk_lat);
	hist__merge(&io->wr_lat, &s->wr_lat);
	for (unsigned i = 0; s->tput && i < TL_BUCKETS; i++) {
		io->tput[i] += tl__get(s->tput, 0, i);
		io->wtput[i] += tl__get(s->tput, 1, i);
	}
}

static void io_summary(struct an_io *io, uint64_t win_ns)
{
	/*
	 * Misses: pages the reads added to the page cache, or, when the reads bypass it
	 * (O_DIRECT), what the workers read from the block device.
	 */
	uint64_t miss = io->pages_miss, blk = io->blk_read_bytes / io->page_size;

	if (blk > miss)
		miss = blk;
	if (miss > io->pages_req)
		miss = io->pages_req;
	io->files = io->opens;
	io->hit_ratio = io->pages_req ? 1 - (double)miss / (double)io->pages_req : -1;
	io->lat_p50_ms = (double)hist__quantile(&io->rd_lat, 0.50) / 1e6;
	io->lat_p99_ms = (double)hist__quantile(&io->rd_lat, 0.99) / 1e6;
	io->blk_p50_ms = (double)hist__quantile(&io->blk_lat, 0.50) / 1e6;
	io->blk_p99_ms = (double)hist__quantile(&io->blk_lat, 0.99) / 1e6;
	io->wr_p50_ms = (double)hist__quantile(&io->wr_lat, 0.50) / 1e6;
	io->wr_p99_ms = (double)hist__quantile(&io->wr_lat, 0.99) / 1e6;
	io->read_mb_s = win_ns ? (double)io->read_bytes / 1e6 / ((double)win_ns / 1e9) : 0;
}

/*
 * The relay threads of p, the MAX_RELAYS that received the most batches first (with
 * pin memory and workers re-created each epoch, every iterator has its own: pt_val_pin
 * has 5, and the last epoch's was left out of 4 picked in hash order).
 */
static void relays(struct an_result *res, struct an_trainer *tr, struct proc *p)
{
	struct an *a = &res->an;
	const struct thr *t, *top[MAX_RELAYS];
	uint32_t n = 0, i;

	FOR_THREADS(a, t) {
		if (t->proc != p || t == tr->main || !attr__is_relay(t))
			continue;
		for (i = n; i > 0 && (top[i - 1]->direct_arrivals < t->direct_arrivals ||
				      (top[i - 1]->direct_arrivals == t->direct_arrivals &&
				       top[i - 1]->tid > t->tid)); i--)
			if (i < MAX_RELAYS)
				top[i] = top[i - 1];
		if (i < MAX_RELAYS)
			top[i] = t;
		n += n < MAX_RELAYS;
	}
	for (i = 0; i < n; i++) {
		tr->dl.relay_tid[i] = top[i]->tid;
		memcpy(tr->dl.relay_comm[i], top[i]->comm, ST_COMM_LEN);
	}
	tr->dl.nrelays = n;
}

static uint64_t worker_busy(const struct an_worker *w)
{
	return w->ns[WS_CPU] + w->ns[WS_IO] + w->ns[WS_RUNQ];
}

/*
 * A slot in the worker list for q: a free one, else the least busy listed worker's
 * when q is busier (a job may fork any number of short-lived children; the list
 * keeps the MAX_WORKERS busiest, the count stays exact).
 */
static struct an_worker *worker_slot(struct an_trainer *tr, const struct proc *q)
{
	struct an_worker *least = NULL;
	uint64_t busy = q->own[WS_CPU] + q->own[WS_IO] + q->own[WS_RUNQ];

	if (tr->dl.nlisted < MAX_WORKERS)
		return &tr->dl.w[tr->dl.nlisted++];
	for (uint32_t i = 0; i < MAX_WORKERS; i++)
		if (!least || worker_busy(&tr->dl.w[i]) < worker_busy(least))
			least = &tr->dl.w[i];
	return busy > worker_busy(least) ? least : NULL;
}

static int cmp_worker_pid(const void *x, const void *y)
{
	const struct an_worker *a = x, *b = y;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* A worker's life, for the pools. */
struct life {
	uint64_t start, end, iter;
	uint64_t out;		/* the pipe its batches were read from (0: not known) */
	uint32_t pid;
	bool forked;		/* in the trace (else it was there at attach) */
	bool exited;		/* in the trace: end is its exit */
};

static struct life life_of(const struct an *a, const struct proc *q)
{
	return (struct life){ .start = q->first_ts, .pid = q->pid, .out = q->out_ino,
			      .exited = q->flags & PF_EXITED,
			      .end = q->flags & PF_EXITED ? q->last_ts : a->end_ts,
			      .forked = q->flags & PF_FORKED,
			      .iter = q->iter_at && q->iter_at <= q->first_ts ? q->iter_at :
			      q->first_ts };
}

/* by start, then pid: forks in one tick, or one attach scan's, in the order made */
static int cmp_life(const void *x, const void *y)
{
	const struct life *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/*
 * A worker there before the trace (attach) is of a pool of its own pipe: when each
 * was forked is not known, and they start as they are first seen, but one loader's
 * iterator's workers write one result queue (a user's script attached in an epoch:
 * its 2 workers as 2 pools, runs of one batch each, the validation loader's batches
 * not told apart, 99 steps for 76).  For l[i], sorted: the index of an earlier such
 * worker of its pipe (i: none, a pool of its own), or -1 (not such a worker).
 */
static int64_t attached_peer(const struct life *l, uint32_t i)
{
	uint32_t k = 0;

	if (l[i].forked || !l[i].out)
		return -1;
	while (k < i && (l[k].forked || l[k].out != l[i].out))
		k++;
	return k;
}

/* A take of a batch: a step's, or another loader's (loaders(): SNAP_OTHER). */
static bool a_take(const struct snap *s)
{
	return s->kind == SNAP_TAKE || s->kind == SNAP_OTHER;
}

/*
 * The main thread's first batch at or after ts (0: none) from a pool that started
 * there.  A pool forked in the trace starts empty: its first batch arrives (where none
 * comes to the thread itself, a relay's: its take).  Not a take before that: a take
 * found late is registered at its own time, and an epoch's tail is spread up to its
 * end (pt_val_pers: a tail's take after a validation pool's first fork split that pool
 * in two).  A pool there at attach may have sent batches before the trace: its first
 * take counts as well.
 */
static uint64_t first_batch(const struct thr *t, uint64_t ts, bool forked)
{
	uint64_t took = 0;

	for (uint32_t i = 0; i < t->nsnaps; i++) {
		if (t->snaps[i].ts < ts)
			continue;
		if (t->snaps[i].kind == SNAP_OWN)
			return took && !forked ? took : t->snaps[i].ts;
		if (!took && a_take(&t->snaps[i]))
			took = t->snaps[i].ts;
	}
	return took;
}

/*
 * The loop's first take at or after a new pool's first batch (0: none): what next()
 * returned first.  Not the first batch to arrive: the iterator returns batches in
 * their order, and another worker's may come well before the first one's (pt_iter,
 * 4 workers on 2 busy CPUs: the first of 3 arrivals 64 ms before next() returned, half
 * the 0.130 s the job measured from iter()).  A take before that arrival was of the
 * last epoch's tail (spread up to its end).
 */
static uint64_t first_take(const struct thr *t, uint64_t arrived)
{
	for (uint32_t i = 0; arrived && i < t->nsnaps; i++)
		if (t->snaps[i].ts >= arrived && a_take(&t->snaps[i]))
			return t->snaps[i].ts;
	return 0;
}

/*
 * The main thread took batches from a relay's queue (PyTorch's pin-memory thread) that
 * was filled before the trace began (attach mode), until an epoch ended: how many of
 * that epoch's last takes, made without a call, the queue held is not in the trace
 * (an_attr.c, relay_tail), unless its persistent pool's next epoch said (blind_resumed:
 * its prefetch).  Said on top, either way: those steps' times are not seen.  A loop
 * that receives its batches itself, attached in its epoch's tail, took them from its
 * loader's cache, where none is seen received either.
 */
static void blind_tail(struct an_result *res, const struct an_trainer *tr)
{
	const struct thr *m = tr->main;
	uint64_t at = m ? m->blind_end : 0;
	double x;

	if (at <= tr->win_start || at >= tr->win_end)
		return;
	x = (double)(at - tr->win_start) / 1e9;
	if (m->blind_tail)
		analysis__warn(res, "main thread %u: an epoch ended %.3f s into the window behind "
			       "a pin-memory queue filled before the trace began: %u of its last "
			       "steps, unseen, are counted from the pool's next prefetch and placed "
			       "evenly", tr->main_tid, x, m->blind_tail);
	else if (m->flags & TF_QUEUE_FED)
		/* a loader thread of its own fills a Python queue (queue_freed, an_attr.c) */
		analysis__warn(res, "main thread %u: took batches from its loader thread's queue "
			       "(a background prefetcher) filled before the trace began until an "
			       "epoch ended %.3f s into the window: up to its size + "
			       "prefetch_factor x num_workers steps before then may be missing",
			       tr->main_tid, x);
	else
		analysis__warn(res, "main thread %u: took batches from a %s filled before the "
			       "trace began until an epoch ended %.3f s into the window: up to "
			       "prefetch_factor x num_workers steps before then may be missing",
			       tr->main_tid, m->relay_blind || (m->flags & TF_RELAY_FED) ?
			       "pin-memory queue" : "loader's cache", x);
}

/*
 * A data loader's iterators deliver the same number of batches each (an epoch's).
 * Pools started in the trace that delivered far from the same number (the last one
 * aside: a loop may stop within its epoch) come from several loaders: a validation
 * loop each epoch beside the training loop (40 and 12 batches a pool, by turns).  The
 * steps are every batch the main thread takes, of either loader: said on top.
 */
static void several_loaders(struct an_result *res, const struct an_trainer *tr)
{
	uint64_t fed[MAX_POOLS] = { 0 }, lo = UINT64_MAX, hi = 0;
	uint32_t n = 0;

	if (tr->steps.last_loop[0])
		analysis__warn(res, "main thread %u: its last %u batches came from a new pool, "
			       "fewer than each loop's before (%u or more): a validation loop, or a "
			       "loop stopped early? Counted as steps; tracer --steps marks them",
			       tr->main_tid, tr->steps.last_loop[0], tr->steps.last_loop[1]);
	if (tr->steps.unsplit[0]) {
		analysis__warn(res, "main thread %u: %u batches in %u loop%s of %u at most, where "
			       "another pool's loops took %u or more, are counted as steps: a "
			       "second data loader's (validation?), not told apart; tracer --steps "
			       "marks the steps", tr->main_tid, tr->steps.unsplit[0],
			       tr->steps.unsplit[1], tr->steps.unsplit[1] == 1 ? "" : "s",
			       tr->steps.unsplit[2], tr->steps.unsplit[3]);
	}
	if (tr->steps.other_batches && tr->steps.zip_loaders) {
		analysis__warn(res, "main thread %u: beside %u data loaders zipped (a batch of each "
			       "a step), %u batches in %u loops of another (%u-%u a loop: "
			       "validation?) are no steps; the steps that held those loops last "
			       "%.3f s", tr->main_tid, tr->steps.zip_loaders, tr->steps.other_batches,
			       tr->steps.other_loops, tr->steps.other_per_loop[0],
			       tr->steps.other_per_loop[1], (double)tr->steps.other_ns / 1e9);
		return;
	}
	if (tr->steps.other_batches) {
		char held[64] = "";

		/* none where each loop came after the last step (attached in the last epoch) */
		if (tr->steps.other_ns)
			snprintf(held, sizeof(held), "; the steps that held those loops last %.3f s",
				 (double)tr->steps.other_ns / 1e9);
		analysis__warn(res, "main thread %u: batches of several data loaders; the steps "
			       "are the batches of the one that sent the most (%u-%u a loop), not "
			       "the %u in %u loop%s of the other (%u-%u a loop: validation?)%s",
			       tr->main_tid, tr->steps.per_loop[0], tr->steps.per_loop[1],
			       tr->steps.other_batches, tr->steps.other_loops,
			       tr->steps.other_loops == 1 ? "" : "s",
			       tr->steps.other_per_loop[0], tr->steps.other_per_loop[1], held);
		return;
	}
	if (tr->steps.unsplit[0])
		return;

	for (uint32_t k = 0; k < tr->dl.nlisted; k++)
		if (tr->dl.w[k].pool < tr->dl.npools)
			fed[tr->dl.w[k].pool] += tr->dl.w[k].fed;
	/* not the last pool: a loop that stops early (max_steps) cuts its epoch short */
	for (uint32_t i = 0; i + 1 < tr->dl.npools; i++) {
		if (!tr->dl.pools[i].forked || !fed[i])
			continue;
		n++;
		lo = fed[i] < lo ? fed[i] : lo;
		hi = fed[i] > hi ? fed[i] : hi;
	}
	if (n >= 2 && lo >= 2 && 4 * lo < 3 * hi)
		analysis__warn(res, "the main thread %u takes batches from several data loaders "
			       "(pools of workers delivered %llu to %llu batches each: training "
			       "and validation?): its steps are every batch it takes, of each; "
			       "mark the training steps (tracer --steps) to count them alone",
			       tr->main_tid, (unsigned long long)lo, (unsigned long long)hi);
}

/*
 * A worker forked at start is one more of pool pl's (NULL: none yet), whose first
 * worker to exit did at ended (UINT64_MAX: none): not once the loop took the pool's
 * first batch (at took, 0: none yet), nor once one of its workers has exited.  Not its
 * first arrival: DataLoader puts an iterator's first indices once it forked every
 * worker, and a worker's wake of the loop before that is no batch (a lock the job's
 * workers share: pt_val_pin_pers attached under load, a validation pool's third worker
 * forked 76 ms after its second, after such a wake, read as a pool of its own).
 */
static bool pool_goes_on(const struct an_pool *pl, uint64_t ended, uint64_t start,
			 uint64_t took)
{
	return pl && start < ended && !(took > pl->start && start > took);
}

/*
 * Pool i is the first of a loader's (loaders()): no loader's workers re-created there
 * (a validation loader's first iterator, persistent or not).
 */
static bool first_of_loader(const struct an_trainer *tr, uint32_t i)
{
	for (uint32_t k = 0; k < tr->dl.nlisted; k++)
		if (tr->dl.w[k].pool == i && tr->dl.w[k].pid &&
		    (tr->dl.w[k].pid == tr->steps.loader_pid[0] ||
		     tr->dl.w[k].pid == tr->steps.loader_pid[1]))
			return true;
	return false;
}

/* Pool i is the other loader's (a validation loader's): a worker of one of its loops. */
static bool other_pool(const struct an_trainer *tr, uint32_t i)
{
	for (uint32_t k = 0; k < tr->dl.nlisted; k++)
		for (uint32_t j = 0; tr->dl.w[k].pool == i && j < tr->steps.nother_pid; j++)
			if (tr->dl.w[k].pid == tr->steps.other_pid[j])
				return true;
	return false;
}

static const struct an_worker *worker_of(const struct an_trainer *tr, uint32_t pid)
{
	for (uint32_t k = 0; k < tr->dl.nlisted; k++)
		if (tr->dl.w[k].pid == pid)
			return &tr->dl.w[k];
	return NULL;
}

static void set_pool(struct an_trainer *tr, uint32_t pid, uint32_t pool)
{
	for (uint32_t k = 0; k < tr->dl.nlisted; k++)
		if (tr->dl.w[k].pid == pid)
			tr->dl.w[k].pool = pool;
}

/* A batch's arrival at the main thread or at a relay of its process, and its sender. */
struct arr {
	uint64_t ts;
	uint32_t src;
};

static int cmp_arr(const void *x, const void *y)
{
	const struct arr *a = x, *b = y;

	return a->ts < b->ts ? -1 : a->ts > b->ts;
}

/*
 * The batches that reached t or a relay thread of its process (PyTorch's pin-memory
 * thread receives them from the workers and hands them on), in time order: each one's
 * sender.  *n: how many.
 */
static struct arr *arrivals(struct an *a, const struct thr *t, uint32_t *n)
{
	struct arr *v = NULL, *nv;
	uint32_t cap = 0;
	struct thr *r;

	*n = 0;
	FOR_THREADS(a, r) {
		if (r->proc != t->proc || (r != t && !attr__is_relay(r)))
			continue;
		for (uint32_t i = 0; i < r->nsnaps; i++) {
			if (r->snaps[i].kind != SNAP_OWN || !r->snaps[i].src)
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				if (!(nv = realloc(v, sizeof(*v) * cap)))
					break;
				v = nv;
			}
			v[(*n)++] = (struct arr){ r->snaps[i].ts, r->snaps[i].src };
		}
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_arr);
	return v;
}

/* first_batch(), where the batches may reach a relay: a forked pool's first arrival. */
static uint64_t first_arrival(const struct thr *t, const struct arr *ar, uint32_t nar,
			      uint64_t ts, bool forked)
{
	for (uint32_t k = 0; forked && k < nar; k++)
		if (ar[k].ts >= ts)
			return ar[k].ts;
	return first_batch(t, ts, forked);
}

/*
 * A forked pool's first batch is its own workers' first (ar: the arrivals, in time
 * order), where another pool's came first: loaders zipped make their pools together,
 * and the loop's first step waits for the first batch of each (pt_zip_uneq under
 * load: the one-worker pool's first batch came 0.2 s after the other's, and the time
 * lost re-creating workers was 0.218 s for the job's 0.438).
 */
static void own_first_batches(struct an_trainer *tr, const struct arr *ar, uint32_t nar)
{
	uint64_t own[MAX_POOLS] = { 0 };

	for (uint32_t k = 0; k < nar; k++) {
		const struct an_worker *w = worker_of(tr, ar[k].src);

		if (w && w->pool < tr->dl.npools && !own[w->pool] &&
		    ar[k].ts >= tr->dl.pools[w->pool].start)
			own[w->pool] = ar[k].ts;
	}
	for (uint32_t i = 1; i < tr->dl.npools; i++) {
		struct an_pool *q = &tr->dl.pools[i];

		if (!q->forked || !own[i] || own[i] <= q->first_batch)
			continue;
		q->first_batch = own[i];
		if (q->first_take)
			q->first_take = first_take(tr->main, own[i]);
	}
}

/*
 * The training loader's pool size (its num_workers): the most common (ties: the
 * larger), each pool weighed by the steps taken of its result queue (out) where pools
 * differ in size and that is known: the loaders zipped with it or beside it may have
 * fewer workers, and more pools (a user's script, 3 workers for the training loader,
 * 1 for the one zipped with it and 1 for validation: "9 pools of 1").
 */
static void pool_size(struct an_trainer *tr, const uint64_t *out)
{
	uint64_t wt[MAX_POOLS] = { 0 }, best = 0, any = 0;
	const struct thr *t = tr->main;
	uint32_t np = tr->dl.npools;
	bool mixed = false;

	for (uint32_t i = 1; i < np; i++)
		mixed |= tr->dl.pools[i].workers != tr->dl.pools[0].workers;
	tr->dl.pools_mixed = mixed;
	for (uint32_t s = 0; mixed && s < t->nsnaps; s++)
		for (uint32_t i = 0; t->snaps[s].kind == SNAP_TAKE && t->snaps[s].ld && i < np; i++)
			if ((uint32_t)out[i] == t->snaps[s].ld) {
				wt[i]++;
				any++;
			}
	for (uint32_t i = 0; i < tr->dl.npools; i++) {
		uint64_t c = 0;

		for (uint32_t k = 0; k < tr->dl.npools; k++)
			if (tr->dl.pools[k].workers == tr->dl.pools[i].workers)
				c += any ? wt[k] : 1;
		if (c > best || (c == best && tr->dl.pools[i].workers > tr->dl.pool_size)) {
			best = c;
			tr->dl.pool_size = tr->dl.pools[i].workers;
		}
	}
}

/*
 * Groups the workers into pools: one DataLoader iterator forks all its workers before
 * its first batch, and they live until it ends.  A worker forked once the pool
 * delivered a batch, or once one of the pool's workers has exited, starts a new pool:
 * without persistent_workers, every epoch does.  (Not the time between the forks: a
 * busy machine spreads them over seconds.)
 */
static void pools(struct an_result *res, struct an_trainer *tr, struct life *l, uint32_t n)
{
	uint64_t ended = UINT64_MAX, win = tr->win_end - tr->win_start, pl_out = 0, until = 0;
	uint64_t took = 0;
	uint32_t nar;
	uint64_t out[MAX_POOLS] = { 0 };
	struct an_pool *pl = NULL;
	/*
	 * The batches that reached the main thread or a relay of its process: a new pool's
	 * first arrives at its relay (a pin-memory thread of its own) where the loop does
	 * not wait for it (pt_val_pin in a clean clone's make test: each training pool's
	 * first batch found at the loop's first wait on its relay, 27 and 61 ms after
	 * next() returned it, recreate_s 0.227 for the job's 0.140).
	 */
	struct arr *ar = arrivals(&res->an, tr->main, &nar);

	qsort(l, n, sizeof(*l), cmp_life);
	for (uint32_t i = 0; i < n; i++) {
		int64_t peer = attached_peer(l, i);
		const struct an_worker *pw = peer >= 0 && peer < i ? worker_of(tr, l[peer].pid) : NULL;

		if (pw && pw->pool < tr->dl.npools) {
			tr->dl.pools[pw->pool].workers++;
			set_pool(tr, l[i].pid, pw->pool);
			continue;
		}
		/*
		 * Nor a worker that writes another result queue than the pool's: another
		 * loader's, its iterator made before either delivered a batch (loaders
		 * zipped: iter(a), iter(b); a user's script read as one pool of 4 workers
		 * for two of 2 in run mode, two in attach mode).
		 */
		if (peer >= 0 || !pool_goes_on(pl, ended, l[i].start, took) ||
		    (l[i].out && pl_out && l[i].out != pl_out)) {
			if (tr->dl.npools == MAX_POOLS)
				break;
			pl = &tr->dl.pools[tr->dl.npools++];
			pl->start = l[i].start;
			pl->iter = l[i].iter;
			pl->forked = l[i].forked;
			pl->first_batch = first_arrival(tr->main, ar, nar, l[i].start, l[i].forked);
			took = pl->first_batch > pl->start ? first_take(tr->main, pl->first_batch) : 0;
			/* (the first pool's start-up is no re-creation: none) */
			pl->first_take = pl->forked && tr->dl.npools > 1 ? took : 0;
			ended = UINT64_MAX;
			pl_out = 0;
		}
		if (!pl_out)
			pl_out = out[tr->dl.npools - 1] = l[i].out;
		pl->workers++;
		if (l[i].end < ended)
			ended = l[i].end;
		set_pool(tr, l[i].pid, tr->dl.npools - 1);
	}
	pool_size(tr, out);
	own_first_batches(tr, ar, nar);
	/*
	 * A pool made before the first one delivered a batch is another loader's first
	 * (loaders zipped), no re-creation; so is the first pool of the loader beside
	 * zipped ones (validation: zip_others), found by its result queue.  Pools made
	 * together wait together: the time from their iterators to their first takes
	 * counts once.
	 */
	for (uint32_t i = 1; i < tr->dl.npools; i++) {
		struct an_pool *q = &tr->dl.pools[i];
		uint64_t from;

		q->loader_first = first_of_loader(tr, i) ||
				  (tr->dl.pools[0].first_batch > q->start && q->forked &&
				   tr->dl.pools[0].forked) ||
				  (tr->steps.other_ld && (uint32_t)out[i] == tr->steps.other_ld);
		tr->dl.recreated += !q->loader_first;
		tr->dl.recreated_other += !q->loader_first && other_pool(tr, i);
		from = q->iter > until ? q->iter : until;
		if (q->first_take && q->start >= tr->win_start &&
		    q->start < tr->win_start + win && !q->loader_first && q->first_take > from) {
			tr->dl.recreate_ns += q->first_take - from;
			until = q->first_take;
		}
	}
	free(ar);
	several_loaders(res, tr);
	blind_tail(res, tr);
}

/*
 * q is, or runs under, a program p launched (a server, a helper script: an__launched):
 * no worker of p's loader.  A worker's own children are still the loader's.
 */
static bool launched_by(const struct proc *q, const struct proc *p)
{
	for (int depth = 0; q && q->parent != p && depth < AN_MAX_DEPTH; depth++)
		q = q->parent;
	return q && q->parent == p && an__launched(q);
}

/*
 * q, a descendant of p busy in the window, wrote no message into a pipe though it
 * lived through most of the window while others did (fed: some descendant of p wrote
 * one): no worker of its loader, a
 * helper (an asynchronous checkpoint writer that multiprocessing started, fed by a
 * queue; its reads wake p's queue feeder, a 12 MB state on a 64 KB pipe): a user's
 * script read "pools 1 x3" for num_workers=2, the writer a worker with 0 batches.
 * A loader whose workers hand over batches without pipes (shared memory and a
 * futex) has none that wrote one: nobody is left out.
 */
static bool never_fed(const struct an_trainer *tr, const struct proc *q, bool fed)
{
	uint64_t s = q->first_ts > tr->win_start ? q->first_ts : tr->win_start;
	uint64_t e = (q->flags & PF_EXITED) && q->last_ts < tr->win_end ? q->last_ts : tr->win_end;

	return fed && !q->msgs && e > s && 2 * (e - s) >= tr->win_end - tr->win_start;
}

/*
 * The result queue of a worker there at attach that no read named (l[i].out 0: its
 * last batches were taken before the tracer came, or its puts went just before a
 * sibling's), where it exited in the trace: that of the attached worker that exited
 * nearest to it.  One iterator's shutdown ends all its workers, and another's comes
 * before or after it, not among them.  Else attached_peer() made it a pool of its own
 * where it was seen before its pool's others (pt_zip_uneq attached in a clean clone's
 * CI: loader A's 3 workers read as pools of 1 and 2, 9 pools for 8; the unnamed one
 * exited 0.9 ms before the next of A's, 22.7 ms before loader B's worker).
 */
static void attached_outs(struct life *l, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t best = UINT64_MAX, out = 0;

		if (l[i].forked || l[i].out || !l[i].exited)
			continue;
		for (uint32_t k = 0; k < n; k++) {
			uint64_t d = l[k].end > l[i].end ? l[k].end - l[i].end : l[i].end - l[k].end;

			if (!l[k].forked && l[k].out && l[k].exited && d < best) {
				best = d;
				out = l[k].out;
			}
		}
		l[i].out = out;
	}
}

static void workers(struct an_result *res, struct an_trainer *tr, struct proc *p, uint64_t win)
{
	struct an *a = &res->an;
	struct life *l = calloc(a->procs.cap + 1, sizeof(*l));
	uint32_t n = 0;
	struct proc *q;
	bool fed = false;

	FOR_PROCS(a, q)
		fed |= p && q->msgs && an__is_descendant(q, p);
	FOR_PROCS(a, q) {
		struct an_worker *w;

		if (!p || !an__is_descendant(q, p) || is_trainer_pid(res, q->pid) || launched_by(q, p) ||
		    an__mp_server(q) ||
		    (!q->fed_given && !q->msgs &&
		     (double)(q->own[WS_CPU] + q->own[WS_IO] + q->own[WS_NET]) <
		     WORKER_BUSY * (double)win) || never_fed(tr, q, fed))
			continue;
		if (q->io)
			add_io(&tr->dl.io, q->io);
		tr->dl.nworkers++;
		if (l)
			l[n++] = life_of(a, q);
		if (!(w = worker_slot(tr, q)))
			continue;
		w->pid = q->pid;
		memcpy(w->comm, q->comm, ST_COMM_LEN);
		memcpy(w->ns, q->own, sizeof(w->ns));
		w->fed = q->msgs;
		w->read_bytes = q->io ? q->io->read_bytes : 0;
		w->reads = q->io ? q->io->reads : 0;
		w->tl = q->tl;
	}
	qsort(tr->dl.w, tr->dl.nlisted, sizeof(tr->dl.w[0]), cmp_worker_pid);
	if (l) {
		attached_outs(l, n);
		pools(res, tr, l, n);
	}
	free(l);
}

static void dataloader(struct an_result *res, struct an_trainer *tr, const struct acc *a0,
		       const struct acc *a1)
{
	struct an *a = &res->an;
	struct proc *p = an__find_proc(a, tr->pid);
	uint64_t busy, win = tr->win_end - tr->win_start;

	tr->dl.wait_ns = tr->bd.ns[CAT_DL];
	tr->dl.runq_ns = a1->dl_runq >= a0->dl_runq ? a1->dl_runq - a0->dl_runq : 0;
	tr->dl.gil_ns = a1->gil_next >= a0->gil_next ? a1->gil_next - a0->gil_next : 0;
	for (int i = 0; i < NWS; i++)
		tr->dl.wk[i] = a1->wk[i] >= a0->wk[i] ? a1->wk[i] - a0->wk[i] : 0;
	busy = 0;
	for (int i = 0; i < NWS; i++)
		busy += i != WS_IDLE ? tr->dl.wk[i] : 0;
	if (busy) {
		tr->dl.prep = (double)tr->dl.wk[WS_CPU] / (double)busy;
		tr->dl.fetch = (double)tr->dl.wk[WS_IO] / (double)busy;
		tr->dl.network = (double)tr->dl.wk[WS_NET] / (double)busy;
		tr->dl.starved = (double)tr->dl.wk[WS_RUNQ] / (double)busy;
		tr->dl.sleep = (double)tr->dl.wk[WS_SLEEP] / (double)busy;
	}
	if (busy + tr->dl.wk[WS_IDLE])
		tr->dl.idle = (double)tr->dl.wk[WS_IDLE] / (double)(busy + tr->dl.wk[WS_IDLE]);
	workers(res, tr, p, win);
	tr->dl.io.page_size = a->info->h.page_size ? a->info->h.page_size : 4096;
	io_summary(&tr->dl.io, win);
	if (tr->main->io)
		add_io(&tr->main_io, tr->main->io);
	tr->main_io.page_size = tr->dl.io.page_size;
	io_summary(&tr->main_io, win);
	if (p)
		relays(res, tr, p);
}

/* ------------------------------------------------------------------ stalls */

static int cmp_stall(const void *x, const void *y)
{
	const struct stall *a = x, *b = y;

	return a->dur > b->dur ? -1 : a->dur < b->dur;
}

static void comm_of(struct an *a, uint32_t tid, char *dst, uint32_t *pid);

/* The thread that held the GIL longest while the main thread waited for it. */
static void gil_holder(struct an *a, struct an_trainer *tr, const struct thr *main)
{
	const struct gil_by *best = NULL;

	for (uint32_t i = 0; tr->gil_ns && i < sizeof(main->gil_by) / sizeof(main->gil_by[0]); i++)
		if (main->gil_by[i].tid && (!best || main->gil_by[i].ns > best->ns))
			best = &main->gil_by[i];
	if (best) {
		tr->gil_holder = best->tid;
		comm_of(a, best->tid, tr->gil_holder_comm, &tr->gil_holder_pid);
	}
}

static void comm_of(struct an *a, uint32_t tid, char *dst, uint32_t *pid)
{
	struct thr *t = tid ? an__find_thread(a, tid) : NULL;

	memset(dst, 0, ST_COMM_LEN);
	if (t)
		memcpy(dst, t->comm, ST_COMM_LEN);
	if (pid)
		*pid = t ? t->pid : 0;
}

static void stalls(struct an_result *res, struct an_trainer *tr)
{
	struct an *a = &res->an;
	struct stall s[NSTALLS];
	struct proc *p;
	uint32_t n = 0;

	for (uint32_t i = 0; i < tr->main->nstalls; i++) {
		const struct stall *x = &tr->main->stalls[i];

		if (x->start + x->dur > tr->win_start && x->start < tr->win_end)
			s[n++] = *x;
	}
	qsort(s, n, sizeof(*s), cmp_stall);
	for (uint32_t i = 0; i < n && i < MAX_TOP_STALLS; i++) {
		struct an_stall *o = &tr->stalls[tr->nstalls++];

		o->s = s[i];
		comm_of(a, s[i].tid, o->comm, NULL);
		comm_of(a, s[i].waker, o->waker_comm, &o->waker_pid);
		comm_of(a, s[i].waker2, o->waker2_comm, &o->waker2_pid);
		o->syscall = s[i].nr != SC_NONE ? st_syscall_name(s[i].nr) : NULL;
		o->path = s[i].ino || s[i].dev ? an__path(a, s[i].dev, s[i].ino) : NULL;
		o->peer_rank = -1;
		if (s[i].peer && (p = an__find_proc(a, s[i].peer)) && p->id)
			o->peer_rank = p->id->rank;
	}
}

/* The main thread's collective waits inside the window (they are in time order). */
static void colls(struct an_trainer *tr)
{
	const struct thr *t = tr->main;
	uint32_t lo = 0, hi;

	while (lo < t->ncolls && t->colls[lo].start < tr->win_start)
		lo++;
	for (hi = lo; hi < t->ncolls && t->colls[hi].start < tr->win_end; hi++)
		;
	tr->coll.w = t->colls ? t->colls + lo : NULL;	/* NULL + 0 is undefined */
	tr->coll.n = hi - lo;
}

/* ------------------------------------------------------------------ trainers */

/*
 * CPU-ns of series k of the machine over [lo, hi).  Never below 0: an idle reading's
 * correction is spread evenly over its interval (an_cpu.c), so a timeline bucket can
 * end a little under 0 where the samples had credited that series elsewhere in it
 * ("-0.00 CPUs idle" on a saturated machine).
 */
static double mach_ns(const struct an *a, int k, uint64_t lo, uint64_t hi)
{
	double ns = a->user_window ? (double)a->m.ns[k] :
		    tl__sum(&a->grid, a->m.tl, (unsigned)k, lo, hi);

	return ns > 0 ? ns : 0;
}

/*
 * An untraced task's CPU time in [lo, hi): exact from its runtime readings where they
 * cover the window, from the CPU samples before the first and after the last one
 * (*guess: that part).  The --from/--to window has exact counters; the steady-state
 * window is summed from the timelines (their edge buckets pro rata); a task without a
 * timeline of its own gets its whole-trace total, scaled like all others' (scale).
 */
static double other_ns(const struct an *a, const struct other *o, uint64_t lo, uint64_t hi,
		       double scale, double *guess)
{
	uint64_t rs = o->rt_first, re = o->rt_ts;
	bool rt = rs && re > rs;
	double ns;

	/* the user window's counters are exact: readings inside, samples around them */
	if (a->user_window || !o->tl) {
		double f = a->user_window ? 1 : scale;

		*guess = (double)(rt ? o->ns_before + o->ns_out : o->ns[OT_SAMPLED]) * f;
		return *guess + (rt ? (double)o->ns[OT_RUNTIME] * f : 0);
	}
	if (!rt || re <= lo || rs >= hi)
		return *guess = tl__sum(&a->grid, o->tl, OT_SAMPLED, lo, hi);
	if (rs < lo)
		rs = lo;
	if (re > hi)
		re = hi;
	ns = tl__sum(&a->grid, o->tl, OT_RUNTIME, rs, re);
	*guess = tl__sum(&a->grid, o->tl, OT_SAMPLED, lo, rs) +
		 tl__sum(&a->grid, o->tl, OT_SAMPLED, re, hi);
	return ns + *guess;
}

struct comp_acc {
	uint32_t pid, tid;
	double ns, guess;	/* guess: of ns, from the samples */
};

static int cmp_comp(const void *x, const void *y)
{
	const struct comp_acc *a = x, *b = y;

	return a->ns > b->ns ? -1 : a->ns < b->ns;
}

/* The untraced processes that ran in [lo, hi), busiest first. */
static void competitors(struct an_result *res, uint64_t lo, uint64_t hi)
{
	struct an *a = &res->an;
	struct machine *m = &a->m;
	struct comp_acc *acc = calloc(m->noth + 1, sizeof(*acc));
	double all = (double)m->ns[MC_OTHER], win = mach_ns(a, MC_OTHER, lo, hi);
	double exact = 0, guessed = 0;
	uint32_t n = 0;

	if (!acc)
		return;
	for (uint32_t i = 0; i < m->noth; i++) {
		const struct other *o = &m->oth[i];
		const struct thr *t = an__find_thread(a, o->tid);
		uint32_t pid = t && t->pid ? t->pid : 0, k;
		double guess, ns = other_ns(a, o, lo, hi, all > 0 ? win / all : 0, &guess);

		for (k = 0; k < n && (!pid || acc[k].pid != pid); k++)
			;
		if (k == n)
			acc[n++] = (struct comp_acc){ .pid = pid, .tid = o->tid };
		acc[k].ns += ns;
		acc[k].guess += guess;
		exact += ns - guess;
		guessed += guess;
	}
	/*
	 * Where idle readings made the machine's figure exact, the samples' guesses
	 * share what the readings leave (a CPU the job left reads as the last task
	 * seen there, which may have run a moment): never more than it.
	 */
	if (m->read && guessed > 0 && guessed > win - exact) {
		double f = win > exact ? (win - exact) / guessed : 0;

		for (uint32_t i = 0; i < n; i++)
			acc[i].ns -= acc[i].guess * (1 - f);
	}
	qsort(acc, n, sizeof(*acc), cmp_comp);
	for (uint32_t i = 0; i < n; i++) {
		struct an_competitor *c;
		const struct proc *p;
		const struct thr *t;

		if (acc[i].ns < 1e6)	/* under a millisecond: not a competitor */
			break;
		res->mach.nprocs++;
		if (res->mach.ncomp == MAX_COMPETITORS)
			continue;
		c = &res->mach.comp[res->mach.ncomp++];
		c->pid = acc[i].pid;
		c->tid = acc[i].tid;
		c->cpu_s = acc[i].ns / 1e9;
		p = c->pid ? an__find_proc(a, c->pid) : NULL;
		t = an__find_thread(a, c->tid);
		if (p && p->comm[0])
			memcpy(c->comm, p->comm, ST_COMM_LEN);
		else if (t)
			memcpy(c->comm, t->comm, ST_COMM_LEN);
	}
	free(acc);
}

#define CONFINED_IDLE	0.5	/* CPUs idle outside the job's, at least, to call it confined */
#define CONFINED_BUSY	0.1	/* of the job's CPUs, idle at most this share */
#define CONFINED_WAIT	0.05	/* its main thread (workers) runnable this share, at least */

/* "0-3,8": CPU numbers as ranges, cut with "..." where they do not fit */
static void cpu_list(char *dst, size_t n, const bool *in, uint32_t ncpu)
{
	size_t len = 0;

	dst[0] = '\0';
	for (uint32_t c = 0; c < ncpu; c++) {
		uint32_t e = c;
		int w;

		if (!in[c])
			continue;
		while (e + 1 < ncpu && in[e + 1])
			e++;
		w = e > c ? snprintf(dst + len, n - len, "%s%u-%u", len ? "," : "", c, e) :
			    snprintf(dst + len, n - len, "%s%u", len ? "," : "", c);
		if (w < 0 || (size_t)w >= n - len) {
			snprintf(dst + (len < n - 4 ? len : n - 4), 4, "...");
			return;
		}
		len += (size_t)w;
		c = e;
	}
}

/* Marks in[] the CPUs of list ("0-3,8", CPUs past ncpu left out); false: not a list. */
static bool cpu_parse(const char *list, bool *in, uint32_t ncpu)
{
	const char *s = list;

	while (*s) {
		char *e;
		unsigned long lo = strtoul(s, &e, 10), hi = lo;

		if (e == s)
			return false;
		if (*e == '-') {
			s = e + 1;
			hi = strtoul(s, &e, 10);
			if (e == s || hi < lo)
				return false;
		}
		for (unsigned long c = lo; c <= hi && c < ncpu; c++)
			in[c] = true;
		if (*e && *e != ',')
			return false;
		s = *e ? e + 1 : e;
	}
	return true;
}

/*
 * The CPUs the job's processes may run on: the union of the affinity records of its
 * trainers and their descendants (a fork inherits its parent's), in allowed[]; false
 * where the trace has none (a tracer that did not record them).
 */
static bool job_affinity(struct an_result *res, bool *allowed, uint32_t ncpu)
{
	struct an *a = &res->an;
	const struct proc *p, *q;
	bool any = false, *one = calloc(ncpu, sizeof(*one));

	FOR_PROCS(a, p) {
		bool mine = false;

		if (!p->cpus || !one)
			continue;
		for (uint32_t i = 0; i < res->ntr && !mine; i++)
			mine = (q = an__find_proc(a, res->tr[i].pid)) && (q == p || an__is_descendant(p, q));
		memset(one, 0, ncpu * sizeof(*one));
		/* (a list that does not parse, in a damaged trace, marks nothing) */
		if (!mine || !cpu_parse(p->cpus, one, ncpu))
			continue;
		for (uint32_t c = 0; c < ncpu; c++)
			allowed[c] |= one[c];
		any = true;
	}
	free(one);
	return any;
}

/*
 * The CPUs the job ran on, against the machine's.  A job confined to some of them
 * (taskset, a cgroup cpuset, a scheduler's allocation: Slurm's --cpus-per-task) waits
 * for a CPU while others stand idle, which the machine's idle time does not say: a
 * user's script under taskset -c 0 (2 workers) read "reduce num_workers ... or pin
 * the main thread" with 1 CPU of 2 idle.  Its spare CPUs are its own CPUs' idle time.
 * Only what the samples show: a CPU the job left whose last sample named an untraced
 * task is that task's for the rest of the trace, its idle time unseen (the same
 * script under taskset -c 1: CPU 0's tail was the tracer's, 1 CPU of "other
 * programs"), and the job is not called confined.  So the job's own affinity decides
 * where the trace has it (AFFINITY records): its CPUs are those it may run on, and it
 * is confined where it waited for a CPU and may not run on all of them, whatever the
 * others' samples say.
 */
static void job_cpus(struct an_result *res)
{
	struct an *a = &res->an;
	struct an_machine *m = &res->mach;
	uint64_t lo = a->win_from > a->start_ts ? a->win_from : a->start_ts;
	uint64_t hi = a->win_to < a->end_ts ? a->win_to : a->end_ts, most = 0;
	double span = hi > lo ? (double)(hi - lo) : 0, in = 0, out = 0;
	uint32_t seen = 0;
	bool waited = false, *ran = a->m.ncpu ? calloc(a->m.ncpu, sizeof(*ran)) : NULL;

	if (!ran || span <= 0) {
		free(ran);
		return;
	}
	for (uint32_t c = 0; c < a->m.ncpu; c++)
		if (a->m.cpu[c].job_ns > most)
			most = a->m.cpu[c].job_ns;
	m->affinity = job_affinity(res, ran, a->m.ncpu);
	for (uint32_t c = 0; most && c < a->m.ncpu; c++) {
		const struct cpu_st *cs = &a->m.cpu[c];

		if (m->affinity)
			m->job_ran += ran[c];
		if (!cs->known && !cs->read)
			continue;
		seen++;
		if (!m->affinity) {
			ran[c] = 20 * cs->job_ns >= most;
			m->job_ran += ran[c];
		}
		*(ran[c] ? &in : &out) += (double)cs->idle_ns;
	}
	cpu_list(m->job_cpu_list, sizeof(m->job_cpu_list), ran, a->m.ncpu);
	m->idle_inside = in / span;
	m->idle_outside = out / span;
	/* and it waited for a CPU: a loop alone runs on one CPU, and needs no other */
	for (uint32_t i = 0; i < res->ntr; i++)
		waited |= res->tr[i].bd.frac[CAT_CPU] >= CONFINED_WAIT ||
			  res->tr[i].dl.starved >= CONFINED_WAIT;
	if (m->affinity)
		m->confined = waited && m->job_ran && m->job_ran < a->m.ncpu;
	else
		m->confined = waited && m->job_ran && m->job_ran < seen &&
			      m->idle_outside >= CONFINED_IDLE &&
			      m->idle_inside <= CONFINED_BUSY * m->job_ran;
	free(ran);
}

/*
 * The machine over [lo, hi): the CPUs idle, the job's and the others' (an_cpu.c),
 * and who the others were.  Spare CPUs are the idle ones; CPUs of which the trace has
 * neither a sample nor an idle reading are unknown, never counted idle.
 */
static void machine(struct an_result *res, uint64_t lo, uint64_t hi)
{
	struct an *a = &res->an;
	double len;
	uint32_t seen = 0;

	if (a->user_window) {
		lo = a->win_from > a->start_ts ? a->win_from : a->start_ts;
		hi = a->win_to < a->end_ts ? a->win_to : a->end_ts;
	}
	len = hi > lo ? (double)(hi - lo) : 0;
	res->mach.start = lo;
	res->mach.end = hi;
	for (uint32_t c = 0; c < a->m.ncpu; c++)
		seen += a->m.cpu[c].known || a->m.cpu[c].read;
	res->mach.seen_cpus = seen;
	res->mach.idle_read = a->m.read;
	if (len > 0) {
		res->mach.idle_cpus = mach_ns(a, MC_IDLE, lo, hi) / len;
		res->mach.job_cpus = mach_ns(a, MC_JOB, lo, hi) / len;
		res->mach.other_cpus = mach_ns(a, MC_OTHER, lo, hi) / len;
	}
	competitors(res, lo, hi);
	job_cpus(res);
	res->spare_cpus = res->mach.idle_cpus;
	for (uint32_t i = 0; i < res->ntr; i++) {
		res->tr[i].cpus_used = res->mach.job_cpus;
		/* a confined job's: its own CPUs' (job_cpus) */
		res->tr[i].spare_cpus = res->mach.confined ? res->mach.idle_inside : res->spare_cpus;
		res->tr[i].ncpus = res->ncpus;
	}
}

/* ------------------------------------------------------------------ loaders */

/* A run of takes: batches of one pool's, back to back. */
struct run {
	uint32_t pool, pid, n;
	uint64_t first, last;	/* its first and last take */
	int cls;		/* 1: many batches a loop, 0: few, -1: not known yet */
	bool whole;		/* a whole loop (runs_whole) */
};


/*
 * The pools of the processes that sent t its batches (the arrivals' senders), grouped
 * as pools() groups a trainer's workers: pid -> pool number (from 1).
 */
static uint32_t src_pools(struct an *a, const struct thr *t, const struct arr *ar, uint32_t nar,
			  struct hmap *pool_of)
{
	struct life *l = malloc(sizeof(*l) * (nar + 1));
	struct an_pool pl = { 0 };
	uint64_t ended = UINT64_MAX, took = 0, *v;
	uint32_t n = 0, np = 0;
	const struct proc *q;

	if (!l)
		return 0;
	for (uint32_t i = 0; i < nar; i++) {
		if (hmap_find(pool_of, ar[i].src) || !(q = an__find_proc(a, ar[i].src)) ||
		    !(v = hmap_slot(pool_of, ar[i].src)))
			continue;
		*v = 1;
		l[n++] = life_of(a, q);
	}
	qsort(l, n, sizeof(*l), cmp_life);
	for (uint32_t i = 0; i < n; i++) {
		int64_t peer = attached_peer(l, i);

		if (peer >= 0 && peer < i) {
			*hmap_find(pool_of, l[i].pid) = *hmap_find(pool_of, l[peer].pid);
			continue;
		}
		if (peer >= 0 || !pool_goes_on(np ? &pl : NULL, ended, l[i].start, took)) {
			pl.start = l[i].start;
			pl.first_batch = first_arrival(t, ar, nar, l[i].start, l[i].forked);
			took = pl.first_batch > pl.start ? first_take(t, pl.first_batch) : 0;
			ended = UINT64_MAX;
			np++;
		}
		if (l[i].end < ended)
			ended = l[i].end;
		*hmap_find(pool_of, l[i].pid) = np;
	}
	free(l);
	return np;
}

/*
 * A worker of the pool relay tid's batches come from (0: none known), the first with
 * a pool (pool_of); rc caches the last answer (tid, worker).
 */
static uint32_t relay_sender(struct an *a, uint32_t tid, const struct hmap *pool_of,
			     uint32_t *rc)
{
	const struct thr *r;

	if (rc[0] == tid)
		return rc[1];
	rc[0] = tid;
	rc[1] = 0;
	if (!(r = an__find_thread(a, tid)))
		return 0;
	for (uint32_t i = 0; i < r->nsnaps && !rc[1]; i++)
		if (r->snaps[i].kind == SNAP_OWN && r->snaps[i].src &&
		    hmap_find(pool_of, r->snaps[i].src))
			rc[1] = r->snaps[i].src;
	return rc[1];
}

/*
 * The runs of the batches t took, each by the pool that sent the last batch to arrive
 * before it: a take found late (once the thread computed past its receipt) has its
 * own time.  Where a relay feeds t, by the pool of the relay whose batch it took
 * (relay_switch): the steps' loader's relay goes on receiving the batches it was sent
 * indices for while another loader's loop runs within the epoch, and the last arrival
 * is no guide there (pt_val_mid_pin, a validation loop each 15 steps: none told
 * apart).  A batch an epoch's tail took from its cache is the loop's that ended,
 * though it is placed by spreading the tail up to its end, when the next loader's
 * batches may have come (pt_val_pers under load: 4 training batches read as
 * validation ones).
 */
static uint32_t take_runs(struct an *a, const struct thr *t, const struct arr *ar, uint32_t nar,
			  const struct hmap *pool_of, struct run *r)
{
	uint32_t nr = 0, pool = 0, pid = 0, k = 0, tp, tpid, fw, rc[2] = { 0 };
	const uint64_t *v;

	for (uint32_t i = 0; i < t->nsnaps; i++) {
		const struct snap *s = &t->snaps[i];

		for (; k < nar && ar[k].ts <= s->ts; k++) {
			if ((v = hmap_find(pool_of, ar[k].src))) {
				pool = (uint32_t)*v;
				pid = ar[k].src;
			}
		}
		if (s->kind != SNAP_TAKE || !pool)
			continue;
		/* a batch from an epoch's cache: of the loop that ended */
		if (snap_unseen(s) && nr) {
			r[nr - 1].n++;
			r[nr - 1].last = s->ts;
			continue;
		}
		/* a batch kept while another loader's loop ran: its own loader's (loader_switch) */
		if (s->src && (v = hmap_find(pool_of, s->src))) {
			tp = (uint32_t)*v;
			tpid = s->src;
		} else if (s->relay && (fw = relay_sender(a, s->relay, pool_of, rc)) &&
			   (v = hmap_find(pool_of, fw))) {
			tp = (uint32_t)*v;
			tpid = fw;
		} else {
			tp = pool;
			tpid = pid;
		}
		if (!nr || r[nr - 1].pool != tp)
			r[nr++] = (struct run){ .pool = tp, .pid = tpid, .first = s->ts, .cls = -1 };
		r[nr - 1].n++;
		r[nr - 1].last = s->ts;
	}
	return nr;
}

/*
 * Which runs count a whole loop: not the last (a loop may stop within its epoch, the
 * trace may end in it), nor a first one whose pool was there at attach.
 */
static void runs_whole(struct an *a, struct run *r, uint32_t nr)
{
	const struct proc *q = nr ? an__find_proc(a, r[0].pid) : NULL;

	for (uint32_t i = 0; i + 1 < nr; i++)
		r[i].whole = i || (q && (q->flags & PF_FORKED));
}

/*
 * Runs of a whole loop: loops of one loader take the same number of batches each (an
 * epoch's), and a second loader's loops (a validation loop after each epoch) another.
 * Where the fewest are under 3/4 of the most, runs of at least their geometric mean are
 * one class, the rest the other; a pool that ran several loops (persistent workers)
 * is the class of most of them, and each of its runs with it.  A run not whole, of a
 * pool of its own, under that mean: the other class than its neighbour's, as loops
 * alternate (a last epoch cut short after a validation loop is training).
 */
static bool classify_runs(struct run *r, uint32_t nr, uint32_t npools)
{
	uint32_t lo = UINT32_MAX, hi = 0, nw = 0, *votes, *whole;
	double mid;

	for (uint32_t i = 0; i < nr; i++)
		if (r[i].whole) {
			lo = r[i].n < lo ? r[i].n : lo;
			hi = r[i].n > hi ? r[i].n : hi;
			nw++;
		}
	if (nw < 2 || lo < 2 || 4 * (uint64_t)lo >= 3 * (uint64_t)hi ||
	    !(votes = calloc(2 * ((size_t)npools + 1), sizeof(*votes))))
		return false;
	whole = votes + npools + 1;
	mid = sqrt((double)lo * hi);
	for (uint32_t i = 0; i < nr; i++)
		if (r[i].whole) {
			votes[r[i].pool] += r[i].n >= mid;
			whole[r[i].pool]++;
		}
	for (uint32_t i = 0; i < nr; i++)
		if (whole[r[i].pool])
			r[i].cls = 2 * votes[r[i].pool] >= whole[r[i].pool];
		else if (r[i].n >= mid)
			r[i].cls = 1;
	for (uint32_t i = 0; i < nr; i++)
		if (r[i].cls < 0)
			r[i].cls = i ? r[i - 1].cls != 1 : nr < 2 || r[1].cls != 1;
	free(votes);
	return true;
}

/*
 * Loops not told apart (classify_runs: too few whole ones): where the last, of a pool
 * of its own, took under 3/4 of the batches of each whole loop before it, it may be
 * another loader's (a user's script attached in its last epoch: that epoch's 41
 * training batches, then a validation loop's 10, all counted as steps, said nowhere),
 * or a loop stopped within its epoch.  Kept for the report (several_loaders).
 */
static void last_loop(struct an_trainer *tr, const struct run *r, uint32_t nr)
{
	uint32_t lo = UINT32_MAX;

	for (uint32_t i = 0; i + 1 < nr; i++)
		if (r[i].whole && r[i].n < lo)
			lo = r[i].n;
	if (nr < 2 || lo == UINT32_MAX || r[nr - 1].pool == r[nr - 2].pool ||
	    4 * (uint64_t)r[nr - 1].n >= 3 * (uint64_t)lo)
		return;
	tr->steps.last_loop[0] = r[nr - 1].n;
	tr->steps.last_loop[1] = lo;
}

/*
 * Loops not told apart, where the last one is another loader's all the same: its pool,
 * forked in the trace, took fewer batches than the loop before it, whose pool lived on
 * past it.  A loader's next loop is its persistent pool's, or a new pool once the last
 * one shut down (StopIteration, or the iterator dropped by a loop that stopped early);
 * a new pool beside one that lives on is a second loader's (a user's script attached in
 * its last epoch, its persistent training workers, then a validation loop of 6 batches
 * from a new pool each epoch: 38 steps for 32).  Classes the runs as classify_runs does.
 */
static bool last_other(struct an *a, struct run *r, uint32_t nr)
{
	const struct proc *q = nr >= 2 ? an__find_proc(a, r[nr - 1].pid) : NULL;
	const struct proc *p = nr >= 2 ? an__find_proc(a, r[nr - 2].pid) : NULL;

	if (!p || !q || !(q->flags & PF_FORKED) || r[nr - 1].pool == r[nr - 2].pool ||
	    q->first_ts < r[nr - 2].first || life_of(a, p).end < r[nr - 1].last ||
	    4 * (uint64_t)r[nr - 1].n >= 3 * (uint64_t)r[nr - 2].n)
		return false;
	for (uint32_t i = 0; i < nr; i++)
		r[i].cls = i + 1 < nr;
	return true;
}

/*
 * Loops counted as steps (class train of classify_runs; every one where the loops were
 * not told apart, -1), where two pools' whole loops look like two loaders' all the
 * same: each of one pool's took under 3/4 of the batches of each of another's (a
 * validation loop's 12 beside an epoch's 40).  Loops misread, a tail taken at the next
 * loop's start, are no longer alike (pt_val_pin_pers in a clean clone's CI: validation
 * loops of 7 and 17 batches for 12 and 12, 134 steps for 110, nothing said on top);
 * nor are a loader's loops of several sizes (validation loops of 3 and 6 batches by
 * new pools: the 6, over the mean of the fewest and the most whole loops, are read
 * as training).  Kept for the report (several_loaders).
 */
static void unsplit_loops(struct an_trainer *tr, const struct run *r, uint32_t nr, uint32_t np,
			  int train)
{
	uint32_t *lo = malloc(2 * ((size_t)np + 1) * sizeof(*lo)), *hi, most = 0;
	bool any = false;

	if (!lo)
		return;
	hi = lo + np + 1;
	for (uint32_t p = 0; p <= np; p++) {
		lo[p] = UINT32_MAX;
		hi[p] = 0;
	}
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t p = r[i].pool <= np ? r[i].pool : 0;

		if (!r[i].whole || (train >= 0 && r[i].cls != train))
			continue;
		lo[p] = r[i].n < lo[p] ? r[i].n : lo[p];
		hi[p] = r[i].n > hi[p] ? r[i].n : hi[p];
	}
	for (uint32_t p = 0; p <= np; p++)
		if (hi[p] && lo[p] > most)
			most = lo[p];
	/* a pool's loops apart: p's whole loops each under 3/4 of each of another pool's */
#define UNSPLIT(p) (hi[p] && lo[p] >= 2 && 4 * (uint64_t)hi[p] < 3 * (uint64_t)most)
	for (uint32_t i = 0; i < nr && !any; i++)
		any = (train < 0 || r[i].cls == train) && UNSPLIT(r[i].pool <= np ? r[i].pool : 0);
	for (uint32_t i = 0; i < nr && any; i++) {
		uint32_t p = r[i].pool <= np ? r[i].pool : 0;

		if (train >= 0 && r[i].cls != train)
			continue;
		if (!UNSPLIT(p)) {
			/* its pools are the two loaders' all the same (the workers' report) */
			if (!tr->steps.loader_pid[0])
				tr->steps.loader_pid[0] = r[i].pid;
			continue;
		}
		if (!tr->steps.loader_pid[1])
			tr->steps.loader_pid[1] = r[i].pid;
		if (tr->steps.nother_pid < MAX_POOLS)
			tr->steps.other_pid[tr->steps.nother_pid++] = r[i].pid;
		tr->steps.unsplit[0] += r[i].n;
		tr->steps.unsplit[1]++;
		tr->steps.unsplit[2] = hi[p] > tr->steps.unsplit[2] ? hi[p] : tr->steps.unsplit[2];
		tr->steps.unsplit[3] = most;
	}
#undef UNSPLIT
	free(lo);
}

#define ZIP_MIN		8	/* takes before a loop's loaders can be said to be zipped */
#define ZIP_MAX		4	/* loaders zipped in one loop, at most */
#define ZIP_CODE_NS	20000ull	/* next()'s own CPU between two takes, at least */

/* A take whose loader is known (not one spread in an epoch's tail) */
static bool ld_take(const struct snap *s)
{
	return s->kind == SNAP_TAKE && s->ld;
}

/* The loaders zipped in a run of takes (zipped): their result pipes, and the step's. */
struct zip {
	uint32_t from, to;	/* t->snaps[from .. to) */
	uint32_t ld[ZIP_MAX], n[ZIP_MAX], k, lead;
	uint64_t thr;		/* CPU since the take before that begins a step (0: none) */
	uint64_t step;		/* the step's compute: lead's median CPU since the take before */
};

static uint32_t zip_find(const struct zip *z, uint32_t ld)
{
	uint32_t j = 0;

	while (j < z->k && z->ld[j] != ld)
		j++;
	return j;
}

/* The median CPU (compute) since the take before, of loader ld's takes in z. */
static uint64_t zip_gap(const struct thr *t, const struct zip *z, uint32_t ld, uint64_t *c)
{
	const struct snap *p = NULL;
	uint32_t m = 0;

	for (uint32_t i = z->from; i < z->to; i++) {
		if (!ld_take(&t->snaps[i]))
			continue;
		if (p && t->snaps[i].ld == ld)
			c[m++] = t->snaps[i].a.cat[CAT_COMPUTE] - p->a.cat[CAT_COMPUTE];
		p = &t->snaps[i];
	}
	if (!m)
		return 0;
	qsort(c, m, sizeof(*c), an__cmp_u64);
	return c[m / 2];
}

/*
 * A run of takes two in a row of different loaders: its loaders zipped (those that
 * took at least twice in it: a validation loop's last take may lead into it), and the
 * step's, whose takes follow the step's compute (the median CPU since the take
 * before; the others follow next()'s own code only).  Returns how many were zipped.
 */
static uint32_t zip_run(const struct thr *t, struct zip *z, uint64_t *c)
{
	struct zip r = *z;
	uint64_t best = 0, other = 0, g;
	uint32_t j;

	r.k = 0;
	for (uint32_t i = z->from; i < z->to; i++) {
		if (!ld_take(&t->snaps[i]))
			continue;
		j = zip_find(&r, t->snaps[i].ld);
		if (j == r.k && r.k < ZIP_MAX) {
			r.ld[r.k] = t->snaps[i].ld;
			r.n[r.k++] = 0;
		}
		if (j < r.k)
			r.n[j]++;
	}
	z->k = 0;
	z->lead = 0;
	z->thr = 0;
	for (j = 0; j < r.k; j++) {
		if (r.n[j] < 2)
			continue;
		z->ld[z->k++] = r.ld[j];
		g = zip_gap(t, z, r.ld[j], c);
		if (g > best || !z->lead) {
			other = best > other ? best : other;
			best = g;
			z->lead = r.ld[j];
		} else if (g > other) {
			other = g;
		}
	}
	/*
	 * Where the step's compute stands well apart from next()'s own code between two
	 * takes of a step, a take after a third of the step's, and their geometric mean,
	 * of CPU begins a step: also where a take of the step's loader was not seen (taken
	 * from its cache), and in an epoch's tail, where takes are seen for some loaders
	 * only and those of the batches still pending are placed at its end (a user's
	 * script, pools re-created each epoch: 3 steps too many an epoch there).
	 */
	z->step = best;
	if (other < ZIP_CODE_NS)
		other = ZIP_CODE_NS;
	if (best >= 4 * other) {
		z->thr = (uint64_t)sqrt((double)best * (double)other);
		z->thr = z->thr > best / 3 ? z->thr : best / 3;
	}
	return z->k;
}

/*
 * A run whose compute did not stand apart (no threshold) after one of the same loaders
 * that did: the epoch's tail, its takes seen one a step, alternating loaders (the
 * others' came from their caches), each a step's CPU after the one before.  It takes
 * the run before's step and threshold (pt_zip_np under CI's load: the last epoch's
 * last 4 steps read as 2, a step per take of the lead's, 84 for 88).
 */
static void zip_inherit(struct zip *r, const struct zip *pv)
{
	if (r->thr || !pv->thr || r->k != pv->k)
		return;
	for (uint32_t j = 0; j < r->k; j++)
		if (zip_find(pv, r->ld[j]) == pv->k)
			return;
	r->thr = pv->thr;
	r->step = pv->step;
}

/*
 * In an epoch's tail (after a zipped run) the steps are seen through the takes of one
 * loader (lead: the tail's first step) while the others' come from their caches
 * unseen; those are placed later, after the compute of the epoch's last step.  Where
 * the pools are re-created each epoch, a take of another loader there with workers
 * exiting or forked (turns[nt], sorted) before the next take of another loader (or
 * the trace's end) is the StopIteration of its loader's next(), which shuts its pool
 * down and ends the last step: no step of its own (a user's script: 51 steps for 47,
 * one too many an epoch); with persistent workers it begins the next epoch's first
 * step (the resume's answers and the first batches come at once).  A take of the
 * cache (no loader known) that splits the CPU of a step (z->step) with the next take,
 * one of lead's before the next run (end: its first snapshot), each part under 3/4 of
 * it, fell inside that step (one more there; one 7.8 ms after lead's take, with the
 * step's 7.5 ms, is a step of its own).  So does one before the tail's first take
 * (no lead yet), followed by a take of a loader the run zipped: with every take's
 * loader right, the run ends at the tail's first take, and such a cached take lies
 * between (pt_zip_np: 90-91 steps for 88 in 2 traces).  gap: the CPU since the take
 * before.
 */
/* The index of the next take of a known loader other than snapshot i's (nsnaps: none). */
static uint32_t next_other_take(const struct thr *t, uint32_t i)
{
	uint32_t ld = t->snaps[i].ld;

	while (++i < t->nsnaps && (!ld_take(&t->snaps[i]) || t->snaps[i].ld == ld))
		;
	return i;
}

/* A child forked or exited (turns[nt], sorted) strictly between lo and hi. */
static bool turned_between(const uint64_t *turns, uint32_t nt, uint64_t lo, uint64_t hi)
{
	for (uint32_t k = 0; k < nt && turns[k] < hi; k++)
		if (turns[k] > lo)
			return true;
	return false;
}

static bool tail_other(const struct thr *t, uint32_t i, uint32_t lead, uint32_t end,
		       const uint64_t *turns, uint32_t nt, uint64_t end_ts,
		       const struct zip *z, uint64_t gap)
{
	const struct snap *sn = &t->snaps[i];
	uint32_t j = i;

	if (!sn->ld) {
		while (++j < end && !ld_take(&t->snaps[j]))
			;
		return j < end && (lead ? t->snaps[j].ld == lead : zip_find(z, t->snaps[j].ld) < z->k) &&
		       4 * gap < 3 * z->step &&
		       4 * (t->snaps[j].a.cat[CAT_COMPUTE] - sn->a.cat[CAT_COMPUTE]) < 3 * z->step;
	}
	if (!lead || sn->ld == lead)
		return false;
	/* the next take of another loader: past the loader's placed batches */
	if ((j = next_other_take(t, i)) < t->nsnaps)
		end_ts = t->snaps[j].ts;
	/*
	 * The StopIteration is the loader's last take after a step's compute: one before
	 * it is that loader's batch of the epoch's last step, seen where the lead's was
	 * not (pt_zip_np attached, in a clean clone's CI: 685.5 ms, a step's CPU after the
	 * lead's last take and a step's CPU before the StopIteration, read as one, the
	 * epoch a step short).  Before its pool shuts down (the first turn after it): the
	 * batches its cache held are placed at that end, whatever the loop did until then.
	 */
	while (nt && turns[0] <= sn->ts)
		turns++, nt--;
	for (uint32_t k = i + 1, p = i; k < j && k < end && nt && t->snaps[k].ts < turns[0]; k++) {
		if (t->snaps[k].kind != SNAP_TAKE)
			continue;
		if (4 * (t->snaps[k].a.cat[CAT_COMPUTE] - t->snaps[p].a.cat[CAT_COMPUTE]) >= 3 * z->step)
			return false;
		p = k;
	}
	return turned_between(turns, nt, sn->ts, end_ts);
}

/*
 * Counts a take of loader ld in the run whose takes so far s holds (ld[], n[]); true
 * where ld is none of its loaders while two of those took twice already (the run's
 * first take may be the last of the epoch before's other loader): the next
 * epoch's pools, whose iterators the zip made anew (the takes alternate on across the
 * epochs' boundary where each loader's tail was seen: a user's GAN-style loop with
 * forkserver pools re-created each epoch read as one run of 4 loaders, 29 steps for
 * 89).  That take then ends the run (and is not counted in it).
 */
static bool new_pools(struct zip *s, uint32_t ld)
{
	uint32_t j = zip_find(s, ld), twice = 0;

	if (j < s->k) {
		s->n[j]++;
		return false;
	}
	for (j = 0; j < s->k; j++)
		twice += s->n[j] >= 2;
	if (twice >= 2)
		return true;
	if (s->k < ZIP_MAX) {
		s->ld[s->k] = ld;
		s->n[s->k++] = 1;
	}
	return false;
}

/* Loader ld is one of those zipped in a run: r, the one before (pv) or the next (nx). */
static bool zip_ours(const struct zip *r, const struct zip *nx, const struct zip *pv, uint32_t ld)
{
	return zip_find(r, ld) < r->k || zip_find(nx, ld) < nx->k || zip_find(pv, ld) < pv->k;
}

/*
 * A take in a tail that another loader's new iterator made (a validation loop's): its
 * workers forked (turns) since the take before (at from), and the next take of another
 * loader is that one's, zipped in no run.  The new iterator puts its first indices
 * (its prefetch) at once, and those puts read as takes of the batches still pending
 * in the tail (pt_zip_val: a validation loop after each epoch, one step too many a
 * loop, at the edge of the 2%).
 */
static bool foreign_startup(const struct thr *t, uint32_t i, uint64_t from, const uint64_t *turns,
			    uint32_t nt, const struct zip *r, const struct zip *nx, const struct zip *pv)
{
	uint32_t j;

	if (!t->snaps[i].ld || !turned_between(turns, nt, from, t->snaps[i].ts))
		return false;
	j = next_other_take(t, i);
	return j < t->nsnaps && !zip_ours(r, nx, pv, t->snaps[j].ld);
}

/*
 * When children of t's process (its forkserver's: an__pool_owner) were forked or
 * exited in the trace, sorted (*n).
 */
static uint64_t *turns_of(struct an *a, const struct thr *t, uint32_t *n)
{
	uint64_t *f = calloc(2 * (size_t)a->procs.cap + 1, sizeof(*f));
	struct proc *q;

	*n = 0;
	if (!f || !t->proc)
		return f;
	FOR_PROCS(a, q) {
		if (an__pool_owner(q) != t->proc)
			continue;
		if (q->flags & PF_FORKED)
			f[(*n)++] = q->first_ts;
		if (q->flags & PF_EXITED)
			f[(*n)++] = q->last_ts;
	}
	qsort(f, *n, sizeof(*f), an__cmp_u64);
	return f;
}

/*
 * The takes beside zipped loaders of a loader none of them zipped (foreign[i]): a
 * validation loop's (semi-supervised jobs validate on one loader).  Its loops (a run of
 * one loader's takes), their sizes, and the steps that held them: from the last step's
 * take before a loop to the first after it.  A user's script with a validation loop
 * after each epoch: each validation batch read as a step, and its pool as a training
 * pool re-created each epoch, with advice to make the (persistent) workers persistent.
 */
static void zip_others(struct an_trainer *tr, const struct thr *t, const uint8_t *foreign)
{
	uint32_t ld = 0, n = 0, lo = UINT32_MAX, hi = 0;
	uint64_t from = 0, last = 0;

	for (uint32_t i = 0; i <= t->nsnaps; i++) {
		bool end = i == t->nsnaps;
		const struct snap *sn = end ? NULL : &t->snaps[i];

		if (!end && foreign[i] && n && sn->ld == ld) {
			n++;
			continue;
		}
		if (n && (end || foreign[i] || sn->kind == SNAP_TAKE)) {
			lo = n < lo ? n : lo;
			hi = n > hi ? n : hi;
			tr->steps.other_batches += n;
			tr->steps.other_loops++;
			if (from && !end && !foreign[i])
				tr->steps.other_ns += sn->ts - from;
			n = 0;
		}
		if (end)
			break;
		if (foreign[i]) {
			ld = sn->ld;
			n = 1;
			from = last;
		} else if (sn->kind == SNAP_TAKE) {
			last = sn->ts;
		}
	}
	tr->steps.other_per_loop[0] = lo == UINT32_MAX ? 0 : lo;
	tr->steps.other_per_loop[1] = hi;
}

/*
 * Loaders zipped: a loop that takes a batch from each of several loaders a step
 * (for a, b in zip(labelled, unlabelled): semi-supervised, domain adaptation, GANs),
 * so that two takes in a row come from different loaders (result pipes), where a
 * loader's loop (a validation loop beside training) takes its batches in a run.  A user's
 * script with two loaders zipped: 95 steps for 48.  Where most of the loop's takes
 * follow one of another loader, each run of such takes is zipped (zip_run): a step per
 * take of the step's loader; the other loaders' takes are no steps.  Between two runs
 * (an epoch's tail: no index left to put, most batches taken from the cache unseen,
 * those seen or spread of either loader), one take in as many as there are loaders
 * zipped is a step.  A loader that no run zipped, beside them (a validation loop's),
 * takes no steps (zip_others).
 */
static void zipped(struct an *a, struct an_trainer *tr, struct thr *t)
{
	uint32_t n = 0, alt = 0, last = 0, nz = 0, from = 0, tail = 0, cur = 0, lead = 0, nt = 0;
	uint32_t fl = 0;	/* the loader of the validation loop the takes are in (0: none) */
	const struct snap *prev = NULL, *prev_k = NULL;	/* the take before; of those but inner cached */
	uint64_t *c = NULL, *turns = NULL;
	uint8_t *foreign = NULL;
	struct zip *z = NULL, seen = { .k = 0 };
	bool in = false;

	if (t->decimate)
		return;
	for (uint32_t i = 0; i < t->nsnaps; i++) {
		if (!ld_take(&t->snaps[i]))
			continue;
		alt += n && t->snaps[i].ld != last;
		last = t->snaps[i].ld;
		n++;
	}
	if (n < ZIP_MIN || 2 * alt < n || !(z = calloc(n + 1, sizeof(*z))) ||
	    !(c = malloc(sizeof(*c) * (n + 1))) || !(turns = turns_of(a, t, &nt)) ||
	    !(foreign = calloc(t->nsnaps + 1, 1)))
		goto out;
	last = 0;
	for (uint32_t i = 0; i <= t->nsnaps; i++) {
		bool take = i < t->nsnaps && ld_take(&t->snaps[i]);
		bool same = take && t->snaps[i].ld == last;
		bool renew = in && take && !same && new_pools(&seen, t->snaps[i].ld);

		if (i < t->nsnaps && !take)
			continue;
		if (in && (same || renew || i == t->nsnaps)) {
			z[nz].from = from;
			z[nz].to = i;
			if (zip_run(t, &z[nz], c) >= 2) {
				tr->steps.zip_loaders = z[nz].k > tr->steps.zip_loaders ?
							z[nz].k : tr->steps.zip_loaders;
				if (nz)
					zip_inherit(&z[nz], &z[nz - 1]);
				nz++;
			}
			in = false;
		}
		if (take && !in && !same && last) {
			in = true;
			for (from = i; from-- > 0;)
				if (ld_take(&t->snaps[from]))
					break;
			seen.k = 0;
			new_pools(&seen, last);
			new_pools(&seen, t->snaps[i].ld);
		}
		if (take)
			last = t->snaps[i].ld;
	}
	for (uint32_t i = 0; nz && i < t->nsnaps; i++) {
		struct snap *sn = &t->snaps[i];
		/* the run it is in, or the last before it (else the first) */
		const struct zip *r, *nx, *pv, *tr_run;
		const struct snap *before;
		bool ours, after;
		uint64_t gap;

		while (cur + 1 < nz && z[cur + 1].from <= i)
			cur++;
		r = &z[cur];
		if (sn->kind != SNAP_TAKE)
			continue;
		/* of a loader of this run, the one before (its first take may be that
		 * run's tail's last) or the next */
		nx = cur + 1 < nz ? &z[cur + 1] : r;
		pv = cur ? &z[cur - 1] : r;
		ours = !sn->ld || zip_ours(r, nx, pv, sn->ld);
		/*
		 * A loader none of them zipped: a validation loop's.  A take of the cache
		 * (no loader known) within its loop is no step, nor one of its batches:
		 * the zipped loaders' batches pending from their tail, placed there (one
		 * loader's takes seen in the tail stood for the steps), or its own tail's
		 * (pt_zip_val: 5 such in a loop of 10 seen, 2 in one of 8 seen of 10).
		 */
		if (!sn->ld && fl) {
			sn->kind = SNAP_OTHER;
			tr->steps.zip_batches++;
			continue;
		}
		if (!ours) {
			sn->kind = SNAP_OTHER;
			foreign[i] = 1;
			if (!tr->steps.other_ld)
				tr->steps.other_ld = sn->ld;
			fl = sn->ld;
			continue;
		}
		if (sn->ld)
			fl = 0;
		/*
		 * In a run's tail: after it, or a run's first snapshot (the take before its
		 * first alternation, maybe the tail's last); a take of a loader not of that
		 * run (a new pool) ends it.
		 */
		tr_run = i == r->from && cur ? pv : r;
		after = i >= r->to || (i == r->from && cur);
		if (after && prev && foreign_startup(t, i, prev->ts, turns, nt, r, nx, pv)) {
			sn->kind = SNAP_OTHER;
			tr->steps.zip_batches++;
			continue;
		}
		/*
		 * A take of a known loader: the CPU since the last take but those of the cache
		 * found inside a step (placed evenly, they cut the step's CPU in pieces: the
		 * attached epoch of pt_zip_np in a clean clone's CI, two such and a take of
		 * the lead 1.4 ms of CPU after them, a step lost).
		 */
		before = sn->ld ? prev_k : prev;
		gap = before ? sn->a.cat[CAT_COMPUTE] - before->a.cat[CAT_COMPUTE] : UINT64_MAX;
		prev = sn;
		if (!after || (sn->ld && zip_find(tr_run, sn->ld) == tr_run->k))
			lead = 0;
		if (r->thr) {
			if (gap < r->thr ||
			    tail_other(t, i, lead, cur + 1 < nz ? nx->from : t->nsnaps, turns, nt,
				       a->end_ts, tr_run, gap)) {
				sn->kind = SNAP_OTHER;
				tr->steps.zip_batches++;
				if (!sn->ld)
					continue;
			} else if (after && !lead) {
				lead = sn->ld;
			}
			prev_k = sn;
			continue;
		}
		prev_k = sn;
		if (i >= r->from && i < r->to && sn->ld) {
			tail = 0;
			if (zip_find(r, sn->ld) < r->k && sn->ld != r->lead) {
				sn->kind = SNAP_OTHER;
				tr->steps.zip_batches++;
			}
			continue;
		}
		if (tail++ % r->k) {
			sn->kind = SNAP_OTHER;
			tr->steps.zip_batches++;
		}
	}
	zip_others(tr, t, foreign);
out:
	free(z);
	free(c);
	free(turns);
	free(foreign);
}

/*
 * Batches of several data loaders (a validation loop's beside the training loop's): the
 * steps are the batches of the loader that sent the most; the other's takes are no
 * steps (SNAP_OTHER), and the steps that held its loops are measured.
 */
static void loaders(struct an_result *res, struct an_trainer *tr)
{
	struct thr *t = tr->main;
	struct hmap pool_of;
	struct run *r = NULL;
	uint64_t tot[2] = { 0 };
	uint32_t nr, np, nar, lo[2] = { UINT32_MAX, UINT32_MAX }, hi[2] = { 0 };
	struct arr *ar = arrivals(&res->an, t, &nar);
	int train;

	hmap_init(&pool_of);
	/*
	 * Zipped loaders' batches arrive interleaved: runs by the pool of the last arrival
	 * are no loops there (attached to a user's script: the steps' loader's takes read as
	 * two loaders', 38 steps for 47).  A validation loop beside them: zipped().
	 */
	zipped(&res->an, tr, t);
	if (tr->steps.zip_loaders)
		goto out;
	if (!ar || (np = src_pools(&res->an, t, ar, nar, &pool_of)) < 2 ||
	    !(r = malloc(sizeof(*r) * t->nsnaps)))
		goto out;
	nr = take_runs(&res->an, t, ar, nar, &pool_of, r);
	runs_whole(&res->an, r, nr);
	if (!classify_runs(r, nr, np) && !last_other(&res->an, r, nr)) {
		last_loop(tr, r, nr);
		unsplit_loops(tr, r, nr, np, -1);
		goto out;
	}
	for (uint32_t i = 0; i < nr; i++) {
		int c = r[i].cls;

		tot[c] += r[i].n;
		if (r[i].whole) {
			lo[c] = r[i].n < lo[c] ? r[i].n : lo[c];
			hi[c] = r[i].n > hi[c] ? r[i].n : hi[c];
		}
	}
	/* a loader with no whole loop (last_other): its batches a loop are its runs' */
	for (int c = 0; c < 2; c++) {
		if (hi[c])
			continue;
		for (uint32_t i = 0; i < nr; i++)
			if (r[i].cls == c) {
				lo[c] = r[i].n < lo[c] ? r[i].n : lo[c];
				hi[c] = r[i].n > hi[c] ? r[i].n : hi[c];
			}
	}
	train = tot[1] >= tot[0];
	for (int c = 0; c < 2; c++)
		lo[c] = lo[c] == UINT32_MAX ? 0 : lo[c];
	for (uint32_t i = nr; i--;)
		tr->steps.loader_pid[r[i].cls != train] = r[i].pid;
	tr->steps.per_loop[0] = lo[train];
	tr->steps.per_loop[1] = hi[train];
	tr->steps.other_per_loop[0] = lo[!train];
	tr->steps.other_per_loop[1] = hi[!train];
	for (uint32_t i = 0, k = 0; i < nr; i++) {
		if (r[i].cls == train)
			continue;
		tr->steps.other_loops++;
		if (tr->steps.nother_pid < MAX_POOLS)
			tr->steps.other_pid[tr->steps.nother_pid++] = r[i].pid;
		for (; k < t->nsnaps && t->snaps[k].ts <= r[i].last; k++)
			if (t->snaps[k].kind == SNAP_TAKE && t->snaps[k].ts >= r[i].first) {
				t->snaps[k].kind = SNAP_OTHER;
				tr->steps.other_batches++;
			}
		/* the step that held it: from the last take of the steps' loader before it to the first after */
		if (i && i + 1 < nr && r[i - 1].cls == train && r[i + 1].cls == train)
			tr->steps.other_ns += r[i + 1].first - r[i - 1].last;
	}
	unsplit_loops(tr, r, nr, np, train);
out:
	free(r);
	free(ar);
	hmap_free(&pool_of);
}

static void fill_trainer(struct an_result *res, struct an_trainer *tr)
{
	struct an *a = &res->an;
	struct proc *p;
	const struct thr *t = tr->main;
	const struct snap *w0 = &t->snaps[0], *w1 = &t->snaps[t->nsnaps - 1], *st = w0;

	tr->main_tid = t->tid;
	memcpy(tr->comm, t->comm, ST_COMM_LEN);
	tr->win_source = "thread";
	if (a->user_window) {
		w0 = &t->win[0];
		w1 = &t->win[1];
		tr->win_source = "user";
	}
	loaders(res, tr);
	find_steps(res, tr, &w0, &w1);
	tr->win_start = w0->ts > st->ts ? w0->ts : st->ts;
	tr->win_end = w1->ts < a->end_ts ? w1->ts : a->end_ts;
	/*
	 * A loop that computes with its data in memory (num_workers=0) may make no call
	 * and no wait that recurs once a step: nothing of its steps reaches the kernel
	 * (a user's script: 37 brk calls and 14 switches in 120 steps of 33 ms).  Its
	 * figures are then the thread's whole life, start-up included.
	 */
	if (!tr->steps.count && !a->user_window && !res->warned_no_steps && tr->steps.unlike_n) {
		res->warned_no_steps = true;
		analysis__warn(res, "main thread %u: no steps found: its pattern (%s, %u steps) "
			       "ran from +%.3f to +%.3f s (%.2f CPU-s), then %.2f CPU-s without it "
			       "(start-up, a cache's first epoch): the figures cover its whole life; "
			       "try --torch-steps", t->tid, tr->steps.unlike_pattern,
			       tr->steps.unlike_n, (double)(tr->steps.unlike[0] - st->ts) / 1e9,
			       (double)(tr->steps.unlike[1] - st->ts) / 1e9,
			       (double)tr->steps.unlike[2] / 1e9, (double)tr->steps.unlike[3] / 1e9);
	}
	if (!tr->steps.count && !a->user_window && !res->warned_no_steps) {
		res->warned_no_steps = true;
		analysis__warn(res, "main thread %u: no steps found (no batches, no markers, no "
			       "call or wait that recurs): the figures cover its whole life, start-up "
			       "included; trace with --torch-steps (a step per PyTorch backward()) or "
			       "--steps, or give --from/--to", t->tid);
	}
	if (tr->win_end < tr->win_start)
		tr->win_end = tr->win_start;
	breakdown(&tr->bd, &w0->a, &w1->a);
	breakdown(&tr->startup, &st->a, &w0->a);
	tr->startup_start = tr->an_start = st->ts;
	tr->wakelat_ns = w1->a.wakelat - w0->a.wakelat;
	tr->gil_ns = w1->a.gil - w0->a.gil;
	tr->team_ns = w1->a.team - w0->a.team;
	tr->net_ns = w1->a.net - w0->a.net;
	tr->io_write_ns = w1->a.io_write - w0->a.io_write;
	tr->stolen_ns = w1->a.stolen - w0->a.stolen;
	if (tr->bd.total && (double)tr->stolen_ns >= STOLEN_WARN * (double)tr->bd.total)
		analysis__warn(res, "main thread %u: the hypervisor took %.1f%% of the window from it "
			       "while it was on the CPU (steal: this virtual machine's CPUs ran other "
			       "work); its compute holds that time, the CPU time the job itself "
			       "measures does not", t->tid,
			       100.0 * (double)tr->stolen_ns / (double)tr->bd.total);
	tr->coll.runq_ns = w1->a.coll_runq - w0->a.coll_runq;
	gil_holder(a, tr, t);
	tr->launches = w1->a.launches - w0->a.launches;
	if (tr->steps.count) {
		tr->syscalls_per_step = (double)(w1->a.syscalls - w0->a.syscalls) / tr->steps.count;
		tr->switches_per_step = (double)(w1->a.switches - w0->a.switches) / tr->steps.count;
	}
	dataloader(res, tr, &w0->a, &w1->a);
	stalls(res, tr);
	colls(tr);
	tr->id = (struct ident){ .rank = -1, .local_rank = -1, .world_size = -1,
				 .node_rank = -1, .master_port = -1 };
	if ((p = an__find_proc(a, tr->pid)) && p->id)
		tr->id = *p->id;
}

/* What a trainer may be waiting for the others in: the device, the network, them. */
static double waits_for_others(const struct an_trainer *x)
{
	return x->bd.frac[CAT_GPU] + x->bd.frac[CAT_OTHER] + x->bd.frac[CAT_COLL];
}

/*
 * The slowest trainer sets the pace; the others' extra waiting is what it costs.
 * Ranks of one job step together: then the straggler is the slowest.
 */
void finish__slowest(struct an_result *res)
{
	uint32_t s = 0;

	for (uint32_t i = 1; i < res->ntr; i++) {
		const struct an_trainer *x = &res->tr[i], *b = &res->tr[s];

		if (x->steps.mean_ms > b->steps.mean_ms * 1.03 ||
		    (x->steps.mean_ms >= b->steps.mean_ms * 0.97 &&
		     waits_for_others(x) < waits_for_others(b)))
			s = i;
	}
	if (res->job.straggler >= 0)
		s = (uint32_t)res->job.straggler;
	res->slowest = s;
	res->tr[s].slowest = true;
	for (uint32_t i = 0; i < res->ntr; i++) {
		double d = waits_for_others(&res->tr[i]) - waits_for_others(&res->tr[s]);

		res->tr[i].wait_for_slowest = i != s && d > 0 ? d : 0;
	}
}

static int cmp_pid(const void *x, const void *y)
{
	const struct an_trainer *a = x, *b = y;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

void finish__trainers(struct an_result *res)
{
	struct an *a = &res->an;
	struct thr *t;

	if (a->o->main_tid) {
		t = an__find_thread(a, a->o->main_tid);
		if (t && t->nsnaps) {
			res->tr[0].pid = t->pid;
			res->tr[0].main = t;
			res->tr[0].found_by = "user";
			res->ntr = 1;
		} else {
			analysis__warn(res, "--main-tid %u: no such thread in the trace",
				       a->o->main_tid);
		}
	} else {
		find_trainers(res);
		qsort(res->tr, res->ntr, sizeof(res->tr[0]), cmp_pid);
		if (res->ntr_found > MAX_TRAINERS)
			analysis__warn(res, "%u processes look like trainers: the report keeps the %d "
				       "busiest", res->ntr_found, MAX_TRAINERS);
	}
	for (uint32_t i = 0; i < res->ntr; i++) {
		struct an_trainer *tr = &res->tr[i];
		struct proc *p = an__find_proc(a, tr->pid);

		if (!tr->main && (!p || !(tr->main = choose_main(a, p, &tr->found_by)))) {
			res->tr[i--] = res->tr[--res->ntr];
			continue;
		}
		if (!tr->main->nsnaps) {
			res->tr[i--] = res->tr[--res->ntr];
			continue;
		}
	}
	for (uint32_t i = 0; i < res->ntr; i++)
		fill_trainer(res, &res->tr[i]);
	straggler__find(res);
	if (res->ntr)
		finish__slowest(res);
	machine(res, res->ntr ? res->tr[res->slowest].win_start : a->start_ts,
		res->ntr ? res->tr[res->slowest].win_end : a->end_ts);
	verdict__decide(res);
	verdict__job(res);
}
