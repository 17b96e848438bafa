// SPDX-License-Identifier: MIT
/*
 * The verdict: one primary cause for a trainer's main thread and advice that follows
 * from its numbers.  The rules and thresholds are documented in docs/analysis.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"

#define STALL_MIN	0.15	/* a wait category this large is the verdict */
#define SPARE_CPU_MIN	0.5	/* CPUs idle enough that more workers can help */
#define HIT_LOW		0.5	/* page cache hit ratio under which caching is advised */

static void advise(struct an_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void advise(struct an_verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nadvice == MAX_ADVICE)
		return;
	va_start(ap, fmt);
	vsnprintf(v->advice[v->nadvice++], sizeof(v->advice[0]), fmt, ap);
	va_end(ap);
}

static double pct(double f)
{
	return 100 * f;
}

static void prep_advice(const struct an_result *res, const struct an_trainer *tr,
			struct an_verdict *v)
{
	double spare = res->spare_cpus;

	advise(v, "%u worker%s busy %.0f%% on CPU (prep) while the main thread waited; "
	       "%.2f CPUs idle", tr->dl.nworkers, tr->dl.nworkers == 1 ? "" : "s",
	       pct(tr->dl.prep), spare);
	if (tr->dl.starved > 0.2)
		advise(v, "workers were runnable but had no CPU %.0f%% of their busy time: the "
		       "machine is out of CPU; more workers will not help, make the transform "
		       "cheaper (or move it to the GPU)", pct(tr->dl.starved));
	else if (spare < SPARE_CPU_MIN)
		advise(v, "more workers will not help (only %.2f CPUs idle): make the per-sample "
		       "transform cheaper, cache decoded samples, or move augmentation to the GPU",
		       spare);
	else
		advise(v, "add workers (num_workers=%u -> %u): %.1f CPUs are idle",
		       tr->dl.nworkers, tr->dl.nworkers + (unsigned)(spare + 0.5), spare);
}

static void fetch_advice(const struct an_trainer *tr, struct an_verdict *v)
{
	const struct an_io *io = &tr->dl.io;
	char hit[32] = "unknown";

	if (io->hit_ratio >= 0)
		snprintf(hit, sizeof(hit), "%.0f%%", pct(io->hit_ratio));
	advise(v, "workers waited on storage %.0f%% of their busy time; read p50 %.2f ms, "
	       "p99 %.2f ms, page cache hit %s, %.1f MB/s", pct(tr->dl.fetch), io->lat_p50_ms,
	       io->lat_p99_ms, hit, io->read_mb_s);
	if (io->hit_ratio >= 0 && io->hit_ratio < HIT_LOW)
		advise(v, "cache or prefetch the dataset (local SSD, more page cache, a packed "
		       "format read sequentially) or raise prefetch_factor/num_workers to overlap "
		       "more reads");
	else
		advise(v, "overlap more reads (more workers, higher prefetch_factor) or use "
		       "faster storage / larger sequential reads");
}

static void main_io_advice(const struct an_trainer *tr, struct an_verdict *v)
{
	const struct an_stall *s = tr->nstalls ? &tr->stalls[0] : NULL;

	for (uint32_t i = 0; i < tr->nstalls; i++) {
		if (tr->stalls[i].s.cat == CAT_IO) {
			s = &tr->stalls[i];
			break;
		}
	}
	if (s && s->s.cat == CAT_IO)
		advise(v, "the main thread does its own file I/O %.0f%% of the time (longest: %s "
		       "%.1f ms%s%s)", pct(tr->bd.frac[CAT_IO]), s->syscall ? s->syscall : "page fault",
		       (double)s->s.dur / 1e6, s->path ? " on " : "", s->path ? s->path : "");
	advise(v, "move checkpointing/logging off the training thread (asynchronous "
	       "checkpoint, a writer thread or process), checkpoint less often, or write to "
	       "faster local storage");
}

static void decide_rest(const struct an_result *res, const struct an_trainer *tr,
			struct an_verdict *v, int cat)
{
	switch (cat) {
	case CAT_GPU:
		v->primary = "gpu_sync";
		advise(v, "the main thread waits for the device %.0f%% of the time (%.1f launches "
		       "per step): the GPU is the bottleneck; if that is unexpected, look for "
		       "implicit syncs (.item(), .cpu(), printing tensors) in the loop",
		       pct(tr->bd.frac[CAT_GPU]), tr->steps.launches_per_step);
		break;
	case CAT_LOCK:
		v->primary = "lock_contention";
		advise(v, "the main thread waits on locks held by its own sibling threads %.0f%% "
		       "of the time%s%s: shorten what those threads do under the lock (or the GIL)",
		       pct(tr->bd.frac[CAT_LOCK]), tr->nstalls && tr->stalls[0].s.cat == CAT_LOCK ?
		       ", e.g. thread " : "", tr->nstalls && tr->stalls[0].s.cat == CAT_LOCK ?
		       tr->stalls[0].waker_comm : "");
		break;
	case CAT_CPU:
		v->primary = "cpu_contention";
		advise(v, "the main thread is runnable but not running %.0f%% of the time: %.1f "
		       "CPUs used by the traced job on %u; reduce num_workers or intra-op threads "
		       "(torch.set_num_threads), stop competing jobs, or pin the main thread",
		       pct(tr->bd.frac[CAT_CPU]), tr->cpus_used, res->ncpus);
		break;
	default:
		v->primary = "other";
		advise(v, "the main thread waits %.0f%% of the time on timers, the network or "
		       "other processes: see the top stalls for the syscalls",
		       pct(tr->bd.frac[CAT_OTHER]));
		break;
	}
}

void verdict__decide(struct an_result *res, struct an_trainer *tr)
{
	struct an_verdict *v = &tr->verdict;
	int best = CAT_DL;

	memset(v, 0, sizeof(*v));
	for (int c = CAT_DL; c < NCAT; c++)
		if (tr->bd.frac[c] > tr->bd.frac[best])
			best = c;
	v->fraction = tr->bd.frac[best];
	if (!tr->bd.total) {
		v->primary = "unknown";
		snprintf(v->summary, sizeof(v->summary), "no scheduling data for the main thread");
		return;
	}
	if (tr->bd.frac[best] < STALL_MIN) {
		v->primary = "compute";
		v->fraction = tr->bd.frac[CAT_COMPUTE];
		advise(v, "the loop is bound by its own work (compute %.0f%%, the largest wait "
		       "%s %.0f%%): the input pipeline keeps up; to go faster make the step itself "
		       "cheaper", pct(tr->bd.frac[CAT_COMPUTE]), cat_names[best],
		       pct(tr->bd.frac[best]));
	} else if (best == CAT_DL) {
		bool fetch = tr->dl.fetch > tr->dl.prep + tr->dl.starved;

		v->primary = fetch ? "dataloader_fetch" : "dataloader_prep";
		if (fetch)
			fetch_advice(tr, v);
		else
			prep_advice(res, tr, v);
	} else if (best == CAT_IO) {
		v->primary = "main_io";
		main_io_advice(tr, v);
	} else {
		decide_rest(res, tr, v, best);
	}
	snprintf(v->summary, sizeof(v->summary), "%s: the main thread %s %.0f%% of the time",
		 v->primary, !strcmp(v->primary, "compute") ? "computes" :
		 best == CAT_DL ? "waits for the data loader" : best == CAT_IO ?
		 "waits on its own I/O" : best == CAT_GPU ? "waits for the GPU" :
		 best == CAT_LOCK ? "waits on locks" : best == CAT_CPU ?
		 "waits for a CPU" : "waits on other things", pct(v->fraction));
}
