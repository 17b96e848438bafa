// SPDX-License-Identifier: MIT
/* analysis__run: one streaming pass over the trace, then the results (analysis.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

static void warn(struct an_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void vwarn(struct an_result *res, const char *fmt, va_list ap)
{
	/* the last place says how many more there were: none is lost without a word */
	if (res->nwarn < MAX_WARN - 1)
		vsnprintf(res->warn[res->nwarn++], sizeof(res->warn[0]), fmt, ap);
	else if (++res->warn_more == 1)
		vsnprintf(res->warn[res->nwarn++], sizeof(res->warn[0]), fmt, ap);
	else
		snprintf(res->warn[MAX_WARN - 1], sizeof(res->warn[0]), "%d more warnings",
			 res->warn_more);
}

static void warn(struct an_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(res, fmt, ap);
	va_end(ap);
}

void analysis__warn(struct an_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(res, fmt, ap);
	va_end(ap);
}

int an_time__parse(const char *s, size_t len, struct an_time *t)
{
	char buf[64], *end;

	t->kind = 0;
	if (!len)
		return 0;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (buf[0] == '@') {
		if (!isdigit((unsigned char)buf[1]))
			return -1;
		t->kind = 2;
		t->abs_ns = strtoull(buf + 1, &end, 10);
	} else {
		if (!isdigit((unsigned char)buf[0]) && buf[0] != '.')
			return -1;
		t->kind = 1;
		t->rel_s = strtod(buf, &end);
		if (!isfinite(t->rel_s))
			return -1;
	}
	return *end || errno ? -1 : 0;
}

uint64_t an_time__resolve(const struct an_time *t, uint64_t t0, uint64_t def)
{
	if (t->kind == 2)
		return t->abs_ns;
	if (t->kind != 1)
		return def;
	/* past the 64-bit clock: "the end" (and no undefined conversion) */
	if (t->rel_s * 1e9 >= 1.8e19 - (double)t0)
		return UINT64_MAX;
	return t0 + (uint64_t)(t->rel_s * 1e9 + 0.5);
}

static void setup(struct an_result *res, const struct an_opts *o)
{
	struct an *a = &res->an;
	const struct st_trace_info *in = st_reader__info(a->r);

	a->o = o;
	a->obs = o->obs;
	a->info = in;
	a->start_ts = a->now = a->end_ts = in->h.start_ts;
	a->win_from = an_time__resolve(&o->from, in->h.start_ts, 0);
	a->win_to = an_time__resolve(&o->to, in->h.start_ts, UINT64_MAX);
	a->user_window = o->from.kind || o->to.kind;
	a->irq_unknown = !in->irq_context || !strcmp(in->irq_context, "none");
	hmap_init(&a->threads);
	hmap_init(&a->procs);
	hmap_init(&a->feeder_fds);
	hmap_init(&a->pipe_writer);
	hmap_init(&a->result_pipes);
	hmap_init(&a->self_msgs);
	hmap_init(&a->task_fds);
	hmap_init(&a->pipe_idx);
	hmap_init(&a->file_idx);
	hmap_init(&a->probe_role);
	hmap_init(&a->probe_at);
	hmap_init(&a->orphans);
	cpu__init(a);
	/* 1 ms buckets to start with: they double as the trace gets longer */
	tl_grid__init(&a->grid, in->h.start_ts, 1000000);
	res->path = o->path;
	res->ncpus = in->h.ncpus;
	res->start_ts = in->h.start_ts;
	res->cmdline = in->cmdline;
	res->hostname = in->hostname;
	res->kernel = in->kernel;
	res->tracer_version = in->tracer_version;
	res->realtime_offset = in->h.realtime_offset;
	res->clock_error_ns = in->clock_error_ns;
}

static void census(struct an_result *res)
{
	struct an *a = &res->an;
	uint64_t k, v;

	for (size_t i = 0; hmap_iter(&a->threads, &i, &k, &v);)
		if (((struct thr *)(uintptr_t)v)->flags & TF_TRACED)
			res->nthreads++;
	for (size_t i = 0; hmap_iter(&a->procs, &i, &k, &v);)
		if (((struct proc *)(uintptr_t)v)->flags & PF_KNOWN)
			res->nprocs++;
}

/* Data-loader, lock and network waits rest on the wakers: say when they look lost. */
static void wakers_plausible(struct an_result *res)
{
	const struct an *a = &res->an;
	const char *irq = a->info->irq_context;

	if (a->task_wakes >= 10 && a->task_wakes_irq * 20 > a->task_wakes)
		warn(res, "attribution is unreliable: %llu of %llu wakeups of threads blocked on "
		     "a pipe or a futex, which only a task can end, are credited to interrupts "
		     "(the tracer lost the wakers); data-loader, lock and network waits may read "
		     "as other_wait", (unsigned long long)a->task_wakes_irq,
		     (unsigned long long)a->task_wakes);
	if (irq && !strcmp(irq, "none"))
		warn(res, "the tracer could not read interrupt context on this kernel: wakeups "
		     "from interrupts are credited to the task they interrupted");
}

/*
 * The trailer says how the tracer stopped and how many events it wrote: a full disk
 * (or a failed write) loses the frame it was writing and everything after it, and
 * the file then reads whole, trailer and all, with fewer events.  Said on top.
 */
static void trailer_word(struct an_result *res)
{
	static const char *const stops[] = { NULL, "signal", "duration", "exited", "error" };
	const struct an *a = &res->an;
	const struct st_trailer *t = &a->trailer;
	double pct;

	if (!a->have_trailer)
		return;
	res->stop_reason = t->stop_reason < 5 ? stops[t->stop_reason] : NULL;
	res->disk_full = t->flags & ST_TRAILER_DISK_FULL;
	res->write_error = t->flags & ST_TRAILER_WRITE_ERROR;
	res->events_written = t->events;
	res->missing = t->events > a->events ? t->events - a->events : 0;
	if (!res->disk_full && !res->write_error && !res->missing)
		return;
	pct = t->events ? 100.0 * (double)res->missing / (double)t->events : 0;
	snprintf(res->end_buf, sizeof(res->end_buf), "%s: %llu of the %llu events it wrote "
		 "(%.1f%%) are not in the file; the trace ends early",
		 res->disk_full ? "the disk filled up and the tracer stopped" :
		 res->write_error ? "a write failed and the tracer stopped" :
		 "events the tracer wrote are missing", (unsigned long long)res->missing,
		 (unsigned long long)t->events, pct);
	res->complete = false;
	res->end_reason = res->end_buf;
}

static uint64_t ovl_dropped(struct an *a)
{
	uint64_t k, v, n = 0;

	for (size_t i = 0; hmap_iter(&a->threads, &i, &k, &v);)
		n += ((struct thr *)(uintptr_t)v)->ovl_dropped;
	return n;
}

/* The tracer's cost in one sentence, the same in every report. */
void analysis__cost_text(struct an_result *res)
{
	const struct an_cost *c = &res->an.cost;
	char *b = res->cost_text;
	size_t n = sizeof(res->cost_text);
	double share;

	if (!c->known) {
		snprintf(b, n, "tracer cost: not recorded (a trace from an older tracer)");
		return;
	}
	share = c->tracer + (c->bpf > 0 ? c->bpf : 0);
	snprintf(b, n, "tracer cost: %.0f ns per event, %.1f%% of one CPU%s (",
		 res->events ? share * c->duration_s * 1e9 / (double)res->events : 0, 100 * share,
		 res->nnodes > 1 ? " per node" : "");
	if (c->bpf < 0)
		snprintf(b + strlen(b), n - strlen(b), "its process only: BPF statistics "
			 "could not be turned on)");
	else
		snprintf(b + strlen(b), n - strlen(b), "BPF programs %.1f%%, sampled over %.2f s; "
			 "its process %.1f%%)", 100 * c->bpf, c->sampled_s, 100 * c->tracer);
}

static void health(struct an_result *res)
{
	struct an *a = &res->an;
	const struct st_drops *d = st_reader__drops(a->r);

	res->complete = st_reader__end(a->r) == ST_END_TRAILER && !a->read_error;
	res->end_reason = res->complete ? NULL : st_reader__error(a->r);
	if (a->read_error)
		res->end_reason = strerror(a->read_error);
	res->events = a->events;
	trailer_word(res);
	analysis__cost_text(res);
	res->skipped = st_reader__skipped(a->r);
	res->dropped = st_reader__drops_total(a->r);
	for (uint32_t i = 0; i < d->nkinds && i < ST_KIND_MAX; i++)
		res->dropped_kind[i] = d->count[i];
	res->disorder = a->disorder;
	res->inconsistent = a->inconsistent;
	res->unseen_in = a->unseen_in;
	res->raced_wakes = a->raced_wakes;
	res->end_ts = a->end_ts;
	if (!res->complete)
		warn(res, "incomplete trace: %s", res->end_reason && *res->end_reason ?
		     res->end_reason : "no trailer");
	if (res->stop_reason && !strcmp(res->stop_reason, "error") && !res->missing &&
	    !res->disk_full && !res->write_error)
		warn(res, "the tracer stopped on an error: the trace may end before the job did");
	if (res->dropped)
		warn(res, "the tracer dropped %llu events: fractions near the drops are estimates",
		     (unsigned long long)res->dropped);
	if (ovl_dropped(a))
		warn(res, "%llu calls too far out of time order were left out of the attribution: "
		     "the time they overlap is counted by its scheduling alone",
		     (unsigned long long)ovl_dropped(a));
	if (a->disorder)
		warn(res, "%llu records are more than 1 ms older than records before them (the "
		     "tracer fell behind, or the clock went back): times near them are "
		     "estimates, and a thread's records before its fork have no process",
		     (unsigned long long)a->disorder);
	if (!a->sched_events)
		warn(res, "no scheduler events in the trace: nothing to attribute");
	wakers_plausible(res);
	if (a->o->from.kind && a->win_from >= a->end_ts)
		warn(res, "--from is after the end of the trace");
}

/*
 * GPU sync probes go on a library when the job opens it, while the job runs: the
 * syncs of a window that began before then are not seen (a spinning sync reads as
 * compute, a blocking one as a wait of unknown cause).  A trainer's syncs are seen
 * from when the last of the probes that fired in its process went on: the CUDA
 * runtime (cudart) and the driver (libcuda) are opened apart, and the syncs may go
 * through the second only.  With none fired, the first ones put on its own process
 * count, else the first ones put on every process; a library another process opens
 * later says nothing about it.
 */
static void probes_late(struct an_result *res)
{
	struct an *a = &res->an;

	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];
		const struct proc *p = an__find_proc(a, tr->pid);
		uint64_t at = !p ? a->gpu_probes_at :
			      p->gpu_fired_at ? p->gpu_fired_at :
			      p->gpu_probes_at ? p->gpu_probes_at : a->gpu_probes_at;

		if (at && tr->win_start < at && tr->win_end > at) {
			warn(res, "the GPU sync probes were attached %.3f s into the window of "
			     "pid %u (when it opened its CUDA library): GPU syncs before then are "
			     "not in the breakdown", (double)(at - tr->win_start) / 1e9, tr->pid);
			return;
		}
	}
}

/*
 * A trainer that opened a GPU device, with no GPU sync probe on its process: the
 * CUDA runtime spins while it waits for the device by default, so those waits read
 * as compute (a GPU-bound PyTorch job on an H200 traced without --cuda: compute 98%,
 * while the job spent 91% in loss.item()).  Only a sync that blocks in the driver
 * (an ioctl on the device) is seen as gpu_wait then.
 */
static void gpu_unprobed(struct an_result *res)
{
	struct an *a = &res->an;

	if (a->have_gpu_probes)
		return;
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct proc *p = an__find_proc(a, res->tr[i].pid);

		if (p && (p->flags & PF_GPU_DEV) && !(p->flags & PF_GPU_PROBES)) {
			warn(res, "pid %u uses a GPU, and its GPU syncs were not probed: time spent "
			     "waiting for the device reads as compute where the sync spins (CUDA's "
			     "default); trace with --cuda to see it as gpu_wait", p->pid);
			return;
		}
	}
}

static int analysis__pass(struct an_result *res, const struct an_opts *o, const char *prog);

/*
 * A trainer that receives no batches and marks no steps (num_workers=0): a second
 * pass marks the boundaries of its main thread's own periodic pattern (an_period.c).
 * An observer sees the first pass only.
 */
int analysis__run(struct an_result *res, const struct an_opts *o, const char *prog)
{
	struct an_opts o2 = *o;
	int err = analysis__pass(res, o, prog);

	if (err || o->period.tid)
		return err;
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (tr->steps.count)
			continue;
		if (tr->main->per_cut) {
			/* its pattern was cut as a worker's (an_period.c): again, with all */
			o2.period_all = true;
			analysis__free(res);
			return analysis__run(res, &o2, prog);
		}
		if (!period__best(tr->main, &o2.period))
			continue;
		/*
		 * The observer saw every piece and record of the first pass; the second
		 * accounts the same time in the same categories, only its step boundaries
		 * (and so its window) differ: it reads those from the results at the end.
		 */
		o2.obs = NULL;
		analysis__free(res);
		if ((err = analysis__pass(res, &o2, prog)) || !period__batches(&res->an, &o2.period))
			return err;
		/* the pattern was a sample's: a third pass marks the batches */
		analysis__free(res);
		err = analysis__pass(res, &o2, prog);
		free(o2.period.marks);
		return err;
	}
	return 0;
}

static int analysis__pass(struct an_result *res, const struct an_opts *o, const char *prog)
{
	struct an *a = &res->an;
	struct st_event ev;
	int ret;

	memset(res, 0, sizeof(*res));
	if (!(res->tr = calloc(MAX_TRAINERS, sizeof(*res->tr)))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (st_reader__open(&a->r, o->path) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->path,
			a->r ? st_reader__error(a->r) : "out of memory");
		st_reader__close(a->r);
		a->r = NULL;
		analysis__free(res);
		return 1;
	}
	setup(res, o);
	if (a->obs && a->obs->begin)
		a->obs->begin(a->obs->ctx, a);
	while ((ret = st_reader__next(a->r, &ev)) > 0)
		an__event(a, &ev);
	if (ret < 0)
		a->read_error = -ret;
	an__end(a);
	health(res);
	census(res);
	res->grid_origin = a->grid.origin;
	finish__trainers(res);
	res->grid_width = a->grid.width;
	if (!res->ntr && a->sched_events)
		warn(res, "no training thread found (no process received batches or ran steps)");
	probes_late(res);
	gpu_unprobed(res);
	return 0;
}

void analysis__free(struct an_result *res)
{
	for (uint32_t i = 0; res->tr && i < res->ntr; i++) {
		free(res->tr[i].steps.chart);
		free(res->tr[i].steps.dur_ms);
		free(res->tr[i].steps.start_ns);
	}
	free(res->tr);
	res->tr = NULL;
	res->ntr = 0;
	if (res->an.r) {
		an__free(&res->an);
		st_reader__close(res->an.r);
		res->an.r = NULL;
	}
}
