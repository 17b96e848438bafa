// SPDX-License-Identifier: MIT
/*
 * The verdict: one primary cause for a trainer's main thread and advice that follows
 * from its numbers.  The rules and thresholds are documented in docs/analysis.md.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"

#define STALL_MIN	0.15	/* a wait category this large is the verdict */
#define SPARE_CPU_MIN	0.5	/* CPUs idle enough that more workers can help */
#define HIT_LOW		0.5	/* page cache hit ratio under which caching is advised */
#define STARVED_MIN	0.2	/* of the workers' busy time runnable without a CPU: said */
#define OWN_WORK_RATIO	1.5	/* a straggler computing this much more than the others */

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

#define OTHERS_MIN	0.25	/* CPUs other programs use before they are named */

/* "other programs used 1.9 of 2 CPUs (4242 hog 2.1 CPU-s, ...)", or "" when few. */
static void others(const struct an_result *res, char *buf, size_t n)
{
	const struct an_machine *m = &res->mach;
	size_t k;

	buf[0] = '\0';
	if (m->other_cpus < OTHERS_MIN)
		return;
	k = (size_t)snprintf(buf, n, "other programs used %.2f of %u CPUs (", m->other_cpus,
			     res->ncpus);
	for (uint32_t i = 0; i < m->ncomp && i < 3 && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%.16s %u %.3f CPU-s", i ? ", " : "",
				      m->comp[i].comm[0] ? m->comp[i].comm :
				      m->comp[i].pid ? "pid" : "tid",
				      m->comp[i].pid ? m->comp[i].pid : m->comp[i].tid,
				      m->comp[i].cpu_s);
	if (k < n)
		snprintf(buf + k, n - k, "%s)", !m->ncomp ? "not named: none met a traced thread" :
					       m->nprocs > 3 ? ", ..." : "");
}

/*
 * Why a confined job's CPUs are all it has: the others' idle time, or (its affinity
 * in the trace) what it may run on, with the idle time seen outside.
 */
static const char *outside(const struct an_result *res, char *buf, size_t n)
{
	const struct an_machine *m = &res->mach;

	if (m->affinity)
		snprintf(buf, n, "all its CPU affinity allows (taskset, a cgroup cpuset, Slurm's "
			 "--cpus-per-task; %.2f CPUs seen idle outside them)", m->idle_outside);
	else
		snprintf(buf, n, "while %.2f stand idle outside them (its CPU affinity confines "
			 "it: taskset, a cgroup cpuset, Slurm's --cpus-per-task)", m->idle_outside);
	return buf;
}

/* The loader's num_workers: its pools' size, where each epoch forks a new pool. */
static uint32_t num_workers(const struct an_trainer *tr)
{
	return tr->dl.pool_size ? tr->dl.pool_size : tr->dl.nworkers;
}

static void prep_advice(const struct an_result *res, const struct an_trainer *tr,
			struct an_verdict *v)
{
	double spare = tr->spare_cpus;	/* of its own machine (a job spans several) */
	char oth[200], pools[64] = "", out[200];
	uint32_t nld = tr->dl.npools - tr->dl.recreated;	/* loaders that made pools */

	others(res, oth, sizeof(oth));
	if (tr->dl.npools > 1 && num_workers(tr) != tr->dl.nworkers && nld <= 1)
		snprintf(pools, sizeof(pools), " (a pool at each epoch: %u processes)",
			 tr->dl.nworkers);
	else if (tr->dl.npools > 1 && num_workers(tr) != tr->dl.nworkers)
		snprintf(pools, sizeof(pools), " (%u loaders, %u pools: %u processes)", nld,
			 tr->dl.npools, tr->dl.nworkers);
	advise(v, "%u worker%s%s busy %.0f%% on CPU (prep) while the main thread waited; "
	       "%.2f %s idle%s%s", num_workers(tr), num_workers(tr) == 1 ? "" : "s", pools,
	       pct(tr->dl.prep), spare, res->mach.confined ? "of the job's CPUs" : "CPUs",
	       oth[0] ? "; " : "", oth);
	if (tr->dl.starved > STARVED_MIN && res->mach.confined)
		advise(v, "workers were runnable but had no CPU %.0f%% of their busy time: the "
		       "job's %u CPU%s full, %s; give it more CPUs, or make the transform cheaper",
		       pct(tr->dl.starved), res->mach.job_ran, res->mach.job_ran == 1 ? " is" : "s are",
		       outside(res, out, sizeof(out)));
	else if (tr->dl.starved > STARVED_MIN)
		advise(v, "workers were runnable but had no CPU %.0f%% of their busy time: the "
		       "machine is out of CPU; more workers will not help, make the transform "
		       "cheaper (or move it to the GPU)", pct(tr->dl.starved));
	else if (spare < SPARE_CPU_MIN && res->mach.confined)
		advise(v, "more workers will not help in the job's %u CPUs (%.2f idle there; %s): "
		       "give it more CPUs, or make the per-sample transform cheaper",
		       res->mach.job_ran, spare, outside(res, out, sizeof(out)));
	else if (spare < SPARE_CPU_MIN)
		advise(v, "more workers will not help (only %.2f CPUs idle): make the per-sample "
		       "transform cheaper, cache decoded samples, or move augmentation to the GPU",
		       spare);
	else
		advise(v, "add workers (num_workers=%u -> %u): %.1f CPUs are idle",
		       num_workers(tr), num_workers(tr) + (unsigned)(spare + 0.5), spare);
}

/*
 * Workers that wait on something other than storage: blocked on sockets (remote
 * storage, an object store, a feature server), or asleep or on a lock (a throttle, a
 * rate limiter, a lock shared between workers).
 */
static void wait_advice(const struct an_trainer *tr, struct an_verdict *v, bool net)
{
	advise(v, "workers %s %.0f%% of their busy time (%s), on CPU %.0f%%",
	       net ? "waited on the network" : "slept or waited on locks",
	       pct(net ? tr->dl.network : tr->dl.sleep),
	       net ? "blocked on sockets: remote storage, an object store, a feature server" :
		     "a throttle, a rate limiter, a lock shared between workers",
	       pct(tr->dl.prep));
	advise(v, "%s", net ? "overlap more requests (more workers, a higher prefetch_factor, "
			      "concurrent requests per worker), batch the requests, or cache the "
			      "samples locally" :
			      "remove or shorten the wait (a lock held while sleeping serialises "
			      "the workers), or overlap it with more workers");
}

static void fetch_advice(const struct an_trainer *tr, struct an_verdict *v)
{
	const struct an_io *io = &tr->dl.io;
	char hit[32] = "unknown";

	if (tr->dl.network > tr->dl.fetch || tr->dl.sleep > tr->dl.fetch)
		return wait_advice(tr, v, tr->dl.network >= tr->dl.sleep);
	if (io->hit_ratio >= 0)
		snprintf(hit, sizeof(hit), "%.0f%%", pct(io->hit_ratio));
	/* no read call: the samples come in through page faults (np.memmap, an mmap'd file) */
	if (!io->reads && io->blk_reqs)
		advise(v, "workers waited on storage %.0f%% of their busy time, in page faults on "
		       "mapped files (no read calls: np.memmap, mmap'd datasets): %" PRIu64 " block "
		       "requests, p50 %.2f ms, p99 %.2f ms", pct(tr->dl.fetch), io->blk_reqs,
		       io->blk_p50_ms, io->blk_p99_ms);
	else
		advise(v, "workers waited on storage %.0f%% of their busy time; read p50 %.2f ms, "
		       "p99 %.2f ms, page cache hit %s, %.1f MB/s", pct(tr->dl.fetch),
		       io->lat_p50_ms, io->lat_p99_ms, hit, io->read_mb_s);
	if (io->hit_ratio >= 0 && io->hit_ratio < HIT_LOW)
		advise(v, "cache or prefetch the dataset (local SSD, more page cache, a packed "
		       "format read sequentially) or raise prefetch_factor/num_workers to overlap "
		       "more reads");
	else
		advise(v, "overlap more reads (more workers, higher prefetch_factor) or use "
		       "faster storage / larger sequential reads");
}

/* Waiting workers that also lacked a CPU: the load says so, apart from their wait. */
static void starved_advice(const struct an_result *res, const struct an_trainer *tr,
			   struct an_verdict *v)
{
	char oth[200];

	if (tr->dl.starved <= STARVED_MIN)
		return;
	others(res, oth, sizeof(oth));
	advise(v, "workers were also runnable but had no CPU %.0f%% of their busy time "
	       "(starved, not prep): %.2f CPUs idle%s%s", pct(tr->dl.starved), tr->spare_cpus,
	       oth[0] ? "; " : "", oth);
}

/* Most of the main thread's io_wait reads (its data), not writes (a checkpoint, a log). */
static bool io_reads(const struct an_trainer *tr)
{
	return an_io_read_ns(tr) > tr->io_write_ns;
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
	if (!io_reads(tr)) {
		advise(v, "move checkpointing/logging off the training thread (asynchronous "
		       "checkpoint, a writer thread or process), checkpoint less often, or write to "
		       "faster local storage");
		return;
	}
	advise(v, "it reads %.0f%% of the time (reads, page faults on mapped files, opens): "
	       "its own data, loaded inside the steps; %s, or keep the data on faster local "
	       "storage or in memory", pct((double)an_io_read_ns(tr) /
					  (double)tr->bd.total),
	       tr->dl.nworkers ? "load it in the DataLoader's workers (a Dataset's "
				 "__getitem__), which read ahead of the steps" :
				 "load it in DataLoader workers (num_workers>0), which read ahead "
				 "of the steps");
}

/* What the main thread does in each wait category, for the summary line. */
static const char *const waits_for[NCAT] = {
	[CAT_COMPUTE] = "computes", [CAT_DL] = "waits for the data loader",
	[CAT_IO] = "waits on its own I/O", [CAT_GPU] = "waits for the GPU",
	[CAT_CPU] = "waits for a CPU", [CAT_LOCK] = "waits on locks",
	[CAT_OTHER] = "waits on other things", [CAT_COLL] = "waits for the other ranks",
};

/* The network: most of the other waits are calls on sockets (an_attr.c, piece.net). */
static bool net_bound(const struct an_trainer *tr)
{
	return tr->net_ns && 2 * tr->net_ns >= tr->bd.ns[CAT_OTHER];
}

/* The GIL: most of the lock wait is on it (an_attr.c decides each wait). */
static bool gil_bound(const struct an_trainer *tr)
{
	return tr->gil_ns && 2 * tr->gil_ns >= tr->bd.ns[CAT_LOCK];
}

/* Most of the lock wait is at the barriers of intra-op threads (an OpenMP team). */
static bool team_bound(const struct an_trainer *tr)
{
	return tr->team_ns && 2 * tr->team_ns >= tr->bd.ns[CAT_LOCK];
}

#define SIBLING_FEED_MIN	0.05	/* of the window: lock waits that may be a loader thread's */

/* The window's lock waits that are neither the GIL's nor an intra-op team's. */
static double sibling_locks(const struct an_trainer *tr)
{
	uint64_t other = tr->gil_ns + tr->team_ns < tr->bd.ns[CAT_LOCK] ?
			 tr->bd.ns[CAT_LOCK] - tr->gil_ns - tr->team_ns : 0;

	return tr->bd.total ? (double)other / (double)tr->bd.total : 0;
}

/* What the main thread waits for in its lock waits, for a summary line. */
static const char *lock_waits_for(const struct an_trainer *tr)
{
	return gil_bound(tr) ? "waits for the GIL" :
	       team_bound(tr) ? "waits for its intra-op threads" : waits_for[CAT_LOCK];
}

static void lock_advice(const struct an_trainer *tr, struct an_verdict *v)
{
	const struct an_stall *s = NULL;
	char who[64] = "";

	for (uint32_t i = 0; i < tr->nstalls && !s; i++)
		if (tr->stalls[i].s.cat == CAT_LOCK && tr->stalls[i].s.waker)
			s = &tr->stalls[i];
	if (s)
		snprintf(who, sizeof(who), " %.16s (tid %u)", s->waker_comm, s->s.waker);
	if (gil_bound(tr) && tr->gil_holder)
		snprintf(who, sizeof(who), " %.16s (tid %u)", tr->gil_holder_comm, tr->gil_holder);
	if (team_bound(tr)) {
		advise(v, "the main thread waits at the barriers of its intra-op threads (an OpenMP "
		       "team, torch.set_num_threads) %.0f%% of the time%s%s: they finish their share "
		       "of its ops after it, waiting for a CPU or given more of the work",
		       pct((double)tr->team_ns / (double)tr->bd.total), s ? ", e.g. thread" : "", who);
		advise(v, "give each intra-op thread a CPU of its own (fewer data-loader workers, "
		       "other programs moved), or lower torch.set_num_threads");
		return;
	}
	if (!gil_bound(tr)) {
		advise(v, "the main thread waits on locks or queues that its own sibling threads "
		       "release or fill %.0f%% of the time%s%s: shorten what those threads do "
		       "under the lock, or, for a thread that makes the loop's batches (a threaded "
		       "loader), make it faster or move its work to DataLoader workers",
		       pct(tr->bd.frac[CAT_LOCK]), s ? ", e.g. thread" : "", who);
		return;
	}
	advise(v, "the main thread waits for CPython's GIL %.0f%% of the time (%.0f%% of its "
	       "lock waits): a sibling thread%s runs Python while the training loop needs the "
	       "interpreter back", pct((double)tr->gil_ns / (double)tr->bd.total),
	       pct((double)tr->gil_ns / (double)tr->bd.ns[CAT_LOCK]), who);
	advise(v, "move that thread's work to a process (multiprocessing, a DataLoader worker) "
	       "or into code that releases the GIL, or make it yield more often "
	       "(sys.setswitchinterval)");
}

/*
 * The main thread's time runnable without a CPU, of the window: cpu_contention and the
 * part of dataloader_wait after its batches arrived (time in next(), as the job sees
 * it, but a wait for a CPU).
 */
static double runnable(const struct an_trainer *tr)
{
	return tr->bd.frac[CAT_CPU] +
	       (tr->bd.total ? (double)tr->dl.runq_ns / (double)tr->bd.total : 0);
}

static void decide_rest(const struct an_result *res, const struct an_trainer *tr,
			struct an_verdict *v, int cat)
{
	char oth[200], inn[64] = "", out[200];

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
		lock_advice(tr, v);
		break;
	case CAT_CPU:
		v->primary = "cpu_contention";
		others(res, oth, sizeof(oth));
		if ((double)tr->dl.runq_ns >= 0.01 * (double)tr->bd.total)
			snprintf(inn, sizeof(inn), " (%.0f%% of it in next(), after its batches "
				 "arrived)", pct((double)tr->dl.runq_ns / (double)tr->bd.total));
		advise(v, "the main thread is runnable but not running %.0f%% of the time%s: %.2f "
		       "CPUs used by the traced job on %u%s%s", pct(runnable(tr)), inn,
		       tr->cpus_used, tr->ncpus, oth[0] ? "; " : "", oth);
		if (res->mach.confined)
			advise(v, "the job ran on %u of %u CPUs, %s; give it more CPUs, or fewer "
			       "workers or intra-op threads to fit in %u", res->mach.job_ran,
			       tr->ncpus, outside(res, out, sizeof(out)), res->mach.job_ran);
		else if (oth[0])
			advise(v, "stop or move the competing programs (or give the job its own "
			       "CPUs: taskset, cgroups cpusets), then reduce num_workers or "
			       "intra-op threads (torch.set_num_threads) if it is still short");
		else
			advise(v, "reduce num_workers or intra-op threads (torch.set_num_threads), "
			       "or pin the main thread");
		break;
	default:
		v->primary = "other";
		if (net_bound(tr))
			advise(v, "the main thread waits %.0f%% of the time on the network (blocked "
			       "on sockets: remote storage, an object store, a feature server): see "
			       "the top stalls for the peers%s", pct(tr->bd.frac[CAT_OTHER]),
			       tr->dl.nworkers ? "" : "; with num_workers=0 it fetches the samples "
			       "itself, inside each step: DataLoader workers (num_workers>0) would "
			       "overlap the requests with the steps");
		else
			advise(v, "the main thread waits %.0f%% of the time on timers, the network "
			       "or other processes: see the top stalls for the syscalls",
			       pct(tr->bd.frac[CAT_OTHER]));
		break;
	}
}

static void coll_advice(const struct an_result *res, const struct an_trainer *tr,
			struct an_verdict *v)
{
	const struct an_job *j = &res->job;
	char name[32];

	v->primary = "collective_wait";
	if (j->straggler >= 0 && &res->tr[j->straggler] != tr) {
		const struct an_trainer *s = &res->tr[j->straggler];

		advise(v, "%s is the straggler: it reaches the collectives last (%.0f%% of them) "
		       "and its own cause is %s; speed it up, not this rank",
		       trainer_name(s, name, sizeof(name)), pct(j->last_fraction), s->own.primary);
	} else if (j->balanced) {
		advise(v, "no rank stands out: the ranks take turns reaching the collectives last; "
		       "the time is each step's spread between the ranks (their own causes: "
		       "see each rank)");
	} else {
		advise(v, "the main thread waits for the other ranks (collectives) %.0f%% of the "
		       "time: trace every rank of the job to see which one they wait for",
		       pct(tr->bd.frac[CAT_COLL]));
	}
}

#define RECREATE_MIN	0.02	/* of the window lost to new worker pools: worth saying */

/*
 * Workers re-created at every epoch (persistent_workers=False): each new pool's fork
 * and start-up is waited for before its first batch, whatever the verdict.  Where
 * every pool re-created is the other loader's (a validation loader that is not
 * persistent beside a persistent training loader), that loader is the one to change.
 */
static void pools_advice(const struct an_trainer *tr, struct an_verdict *v)
{
	double win = (double)(tr->win_end - tr->win_start);

	if (tr->dl.npools < 2 || win <= 0 || (double)tr->dl.recreate_ns < RECREATE_MIN * win)
		return;
	/* the steps' loader's workers live on: the other loader (validation) re-creates its own */
	if (tr->dl.recreated_other && tr->dl.recreated_other == tr->dl.recreated) {
		advise(v, "the other loader's workers (validation?) are re-created at each of its "
		       "loops (%u time%s here): the main thread waited %.2f s (%.0f%% of the "
		       "window) for the first batch of each new pool; pass persistent_workers=True "
		       "to that DataLoader", tr->dl.recreated_other,
		       tr->dl.recreated_other == 1 ? "" : "s", (double)tr->dl.recreate_ns / 1e9,
		       pct((double)tr->dl.recreate_ns / win));
		return;
	}
	advise(v, "the workers are re-created at every epoch (%u pools%s %u%s): the main thread "
	       "waited %.2f s (%.0f%% of the window) for the first batch of each new pool; pass "
	       "persistent_workers=True to the DataLoader", tr->dl.npools,
	       tr->dl.pools_mixed ? "; the steps' loader's of" : " of", tr->dl.pool_size,
	       tr->dl.pools_mixed ? " workers" : "",
	       (double)tr->dl.recreate_ns / 1e9, pct((double)tr->dl.recreate_ns / win));
}

/*
 * The workers' dominant state of their own: waiting on anything but a CPU (storage,
 * the network, sleep, locks) against being on one.  Runnable time without a CPU is
 * left out: on a loaded machine a worker that mostly sleeps is runnable after each
 * wakeup, and that time is the machine's, not its work; the advice reports it.
 */
static bool workers_wait(const struct an_trainer *tr)
{
	return tr->dl.fetch + tr->dl.network + tr->dl.sleep > tr->dl.prep;
}

/* The largest wait category but `except` (-1: none); collective_wait only with coll. */
static int largest_wait(const struct an_trainer *tr, bool coll, int except)
{
	int best = -1;

	for (int c = CAT_DL; c < NCAT; c++)
		if (c != except && (coll || c != CAT_COLL) &&
		    (best < 0 || tr->bd.frac[c] > tr->bd.frac[best]))
			best = c;
	return best;
}

#define CLOSE_SECOND	0.8	/* a second wait this share of the verdict's is said too */

/*
 * A second wait nearly as large as the verdict's: said, so that two traces of one job
 * that fall either side of the tie (a run and an attach: loader 0.35 and CPU 0.32, then
 * loader 0.29 and CPU 0.35) both name both.
 */
static void close_second(const struct an_trainer *tr, struct an_verdict *v, int best, bool coll)
{
	int second = largest_wait(tr, coll, best);

	if (second < 0 || tr->bd.frac[second] < STALL_MIN ||
	    tr->bd.frac[second] < CLOSE_SECOND * v->fraction)
		return;
	advise(v, "nearly as much: the main thread also %s %.0f%% of the time",
	       second == CAT_LOCK ? lock_waits_for(tr) : waits_for[second],
	       pct(tr->bd.frac[second]));
}

/*
 * num_workers=0 with steps from the main thread's own pattern: where the data loading
 * runs.  A loop that waits on its sibling threads' locks is likely fed by one of them
 * (unless lock_advice() has just said so); a loop whose steps are a lock handed to or
 * from a sibling is fed by that thread, though it never waits; otherwise the loading
 * is the main thread's own (the network's or the reads' advice says so where it
 * fetches or reads: no compute then).
 */
static void nw0_advice(const struct an_trainer *tr, struct an_verdict *v, int best)
{
	if (sibling_locks(tr) >= SIBLING_FEED_MIN) {
		if (strcmp(v->primary, "lock_contention") || gil_bound(tr) || team_bound(tr))
			advise(v, "no DataLoader workers (num_workers=0), and the main thread waits "
			       "%.0f%% of the time on locks or queues its sibling threads release or "
			       "fill (not the GIL): where one of them loads the data (a threaded "
			       "loader), that is the loop's wait for its batches; DataLoader workers "
			       "(num_workers>0) would load them in processes, beside the GIL",
			       pct(sibling_locks(tr)));
	} else if (tr->steps.pattern_handoff)
		advise(v, "no DataLoader workers (num_workers=0): each step hands a Python lock to "
		       "a sibling thread or takes one from it: likely a thread that loads the data "
		       "(a prefetch thread over a queue), under the main thread's GIL; DataLoader "
		       "workers (num_workers>0) would load it in processes");
	else if (!(best == CAT_OTHER && net_bound(tr)) &&
		 !(!strcmp(v->primary, "main_io") && io_reads(tr)))
		advise(v, "no DataLoader workers (num_workers=0): the data loading runs on the main "
		       "thread, inside each step, and shows as compute; num_workers>0 would load the "
		       "next batches in worker processes meanwhile");
}

static void decide(struct an_result *res, struct an_trainer *tr, struct an_verdict *v, bool coll)
{
	int best = largest_wait(tr, coll, -1);
	bool pools_said = false;

	memset(v, 0, sizeof(*v));
	v->fraction = tr->bd.frac[best];
	/*
	 * A loader wait no longer than the time the loop was runnable without a CPU, that
	 * after its batches arrived included: the loop waits for a CPU more than for its
	 * workers, as the job's own run queue says (pt_pin_hogs: 0.155 of a 0.207 loader
	 * wait after the arrivals, 0.20 more runnable elsewhere; the job's run queue 0.36
	 * against 0.22 in next()).
	 */
	if (best == CAT_DL && runnable(tr) >= tr->bd.frac[CAT_DL]) {
		best = CAT_CPU;
		v->fraction = runnable(tr);
	}
	/*
	 * Waits at an intra-op team's barriers on a machine with no CPU to spare, no longer
	 * than the time the loop was runnable without one: the team's threads finished
	 * their share late for want of a CPU, as the loop itself waited for one
	 * (pt_intraop in a clean clone's CI, beside the machine's other work: lock 0.249,
	 * all of it at the barriers, CPU 0.247, the job's run queue 0.52).
	 */
	if (best == CAT_LOCK && team_bound(tr) && tr->spare_cpus < SPARE_CPU_MIN &&
	    runnable(tr) >= CLOSE_SECOND * tr->bd.frac[CAT_LOCK]) {
		best = CAT_CPU;
		v->fraction = runnable(tr);
	}
	if (!tr->bd.total) {
		v->primary = "unknown";
		snprintf(v->summary, sizeof(v->summary), "no scheduling data for the main thread");
		return;
	}
	if (v->fraction < STALL_MIN) {
		v->primary = "compute";
		v->fraction = tr->bd.frac[CAT_COMPUTE];
		advise(v, "the loop is bound by its own work (compute %.0f%%, the largest wait "
		       "%s %.0f%%): the input pipeline keeps up; to go faster make the step itself "
		       "cheaper", pct(tr->bd.frac[CAT_COMPUTE]), cat_names[best],
		       pct(tr->bd.frac[best]));
	} else if (best == CAT_DL) {
		bool fetch = workers_wait(tr);

		v->primary = fetch ? "dataloader_fetch" : "dataloader_prep";
		/*
		 * Most of the wait for the loader was for new pools' first batches: that
		 * comes first, before the workers' split, which counts the new workers'
		 * start-up too (spawned workers import torch: 1.5 s of CPU each, a user's
		 * 3 epochs of a spawn-context pool read as "make the transform cheaper"
		 * for 3.15 s of 4.97 waiting for new pools).
		 */
		if (2 * tr->dl.recreate_ns >= tr->bd.ns[CAT_DL]) {
			pools_advice(tr, v);
			pools_said = true;
		}
		if (fetch) {
			fetch_advice(tr, v);
			starved_advice(res, tr, v);
		} else
			prep_advice(res, tr, v);
	} else if (best == CAT_IO) {
		v->primary = "main_io";
		main_io_advice(tr, v);
	} else if (best == CAT_COLL) {
		coll_advice(res, tr, v);
	} else {
		decide_rest(res, tr, v, best);
	}
	snprintf(v->summary, sizeof(v->summary), "%s: the main thread %s %.0f%% of the time",
		 v->primary, !strcmp(v->primary, "compute") ? "computes" :
		 best == CAT_LOCK ? lock_waits_for(tr) :
		 best == CAT_OTHER && net_bound(tr) ? "waits on the network" : waits_for[best],
		 pct(v->fraction));
	if (strcmp(v->primary, "compute"))
		close_second(tr, v, best, coll);
	if (!pools_said)
		pools_advice(tr, v);
	if (!tr->dl.nworkers && tr->steps.pattern[0])
		nw0_advice(tr, v, best);
}

/*
 * Each trainer's verdict, and its own cause: the same rules with collective_wait
 * left out, what it would be bound by if the other ranks never held it back.  Every
 * own cause first: a rank that waits for the straggler names the straggler's.
 */
void verdict__decide(struct an_result *res)
{
	for (uint32_t i = 0; i < res->ntr; i++)
		decide(res, &res->tr[i], &res->tr[i].own, false);
	for (uint32_t i = 0; i < res->ntr; i++)
		decide(res, &res->tr[i], &res->tr[i].verdict, true);
}

/* The straggler's own cause, as a clause: "its data loader is prep-bound (...)". */
static void cause_clause(const struct an_trainer *tr, char *buf, size_t len)
{
	const char *p = tr->own.primary;
	double f = pct(tr->own.fraction);

	if (!strcmp(p, "dataloader_prep"))
		snprintf(buf, len, "its data loader is prep-bound (its main thread waits for it "
			 "%.0f%% of the time, the workers on CPU %.0f%% of their busy time)", f,
			 pct(tr->dl.prep));
	else if (!strcmp(p, "dataloader_fetch"))
		snprintf(buf, len, "its data loader is fetch-bound (its main thread waits for it "
			 "%.0f%% of the time, the workers waiting on storage, the network or locks "
			 "%.0f%% of their busy time)", f,
			 pct(tr->dl.fetch + tr->dl.network + tr->dl.sleep));
	else if (!strcmp(p, "compute"))
		snprintf(buf, len, "it is bound by its own work (compute %.0f%% of its time)", f);
	else if (!strcmp(p, "main_io"))
		snprintf(buf, len, "its main thread does its own file I/O %.0f%% of the time", f);
	else if (!strcmp(p, "gpu_sync"))
		snprintf(buf, len, "its main thread waits for its GPU %.0f%% of the time", f);
	else if (!strcmp(p, "lock_contention"))
		snprintf(buf, len, "its main thread waits on locks %.0f%% of the time", f);
	else if (!strcmp(p, "cpu_contention"))
		snprintf(buf, len, "its main thread waits for a CPU %.0f%% of the time", f);
	else
		snprintf(buf, len, "its main thread waits on other things %.0f%% of the time", f);
}

/* "ranks 0, 2 and 3": the members of the job other than the straggler. */
static void others_list(const struct an_result *res, int s, char *buf, size_t len)
{
	uint32_t n = 0, k = 0;
	size_t off = 0;
	char name[32];

	for (uint32_t i = 0; i < res->ntr; i++)
		n += res->tr[i].coll.in_job && (int)i != s;
	buf[0] = '\0';
	for (uint32_t i = 0; i < res->ntr && off < len; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (!tr->coll.in_job || (int)i == s)
			continue;
		if (k == 6 && n > 7) {
			snprintf(buf + off, len - off, " and %u more", n - k);
			break;
		}
		trainer_name(tr, name, sizeof(name));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", !k ? "" :
					k + 1 == n ? " and " : ", ", k && tr->id.rank >= 0 ?
					name + 5 : name);
		k++;
	}
	if (n > 1 && !strncmp(buf, "rank ", 5)) {
		memmove(buf + 1, buf, strnlen(buf, len - 2) + 1);
		memcpy(buf, "ranks", 5);
	}
}

static const char *most_common_cause(const struct an_result *res)
{
	const char *best = NULL;
	uint32_t bn = 0;

	for (uint32_t i = 0; i < res->ntr; i++) {
		uint32_t n = 0;

		if (!res->tr[i].coll.in_job)
			continue;
		for (uint32_t k = 0; k < res->ntr; k++)
			n += res->tr[k].coll.in_job &&
			     !strcmp(res->tr[k].own.primary, res->tr[i].own.primary);
		if (n > bn || (n == bn && i == res->slowest)) {
			bn = n;
			best = res->tr[i].own.primary;
		}
	}
	return best;
}

/*
 * A straggler preempted while it computes: when the other ranks lose as large a
 * share of their own CPU work to preemption, the machine is not what sets this rank
 * apart; its extra work is, and the preemption is part of that work's time.
 */
static void own_cpu(const struct an_result *res, struct an_trainer *s)
{
	double comp = 0, cpu = 0, rate_o, rate_s;
	struct an_verdict *v = &s->own;
	uint32_t n = 0;

	if (strcmp(v->primary, "cpu_contention"))
		return;
	for (uint32_t i = 0; i < res->ntr; i++) {
		if (!res->tr[i].coll.in_job || &res->tr[i] == s)
			continue;
		comp += res->tr[i].bd.frac[CAT_COMPUTE];
		cpu += res->tr[i].bd.frac[CAT_CPU];
		n++;
	}
	if (!n)
		return;
	comp /= n;
	cpu /= n;
	rate_o = comp + cpu > 0 ? cpu / (comp + cpu) : 0;
	rate_s = s->bd.frac[CAT_CPU] / (s->bd.frac[CAT_COMPUTE] + s->bd.frac[CAT_CPU]);
	if (s->bd.frac[CAT_COMPUTE] - comp < STRAGGLER_WAIT ||
	    s->bd.frac[CAT_COMPUTE] < OWN_WORK_RATIO * comp || rate_s > rate_o + 0.1)
		return;
	memset(v, 0, sizeof(*v));
	v->primary = "compute";
	v->fraction = s->bd.frac[CAT_COMPUTE] + s->bd.frac[CAT_CPU];
	advise(v, "its own work takes %.0f%% of its time, %.1fx the other ranks' (preempted %.0f%% "
	       "of it, as they are): make its step cheaper, or give it less of the work",
	       pct(v->fraction), s->bd.frac[CAT_COMPUTE] / (comp > 0 ? comp : 1e-9), pct(rate_s));
	snprintf(v->summary, sizeof(v->summary), "compute: the main thread computes %.0f%% of "
		 "the time (%.0f%% of it preempted)", pct(v->fraction), pct(rate_s));
}

/*
 * Whether every other rank of the job has the straggler's own cause, and to at least
 * half its extent (a rank that mostly waits for the others computes little: its own
 * cause is then "compute" by default, not a shared one).
 */
static bool same_cause(const struct an_result *res, const struct an_trainer *s)
{
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (tr->coll.in_job && (strcmp(tr->own.primary, s->own.primary) ||
					tr->own.fraction < s->own.fraction / 2))
			return false;
	}
	return true;
}

/*
 * A distributed job: the report's verdict is the job's.  With a straggler, its own
 * cause and what it costs the others; balanced, the cause the ranks share.
 */
void verdict__job(struct an_result *res)
{
	struct an_job *j = &res->job;
	struct an_trainer *top = res->ntr ? &res->tr[res->slowest] : NULL;
	char clause[256], others[160], name[32];
	struct an_verdict *v;

	if (!top || !j->distributed)
		return;
	v = &top->verdict;
	if (j->straggler >= 0) {
		own_cpu(res, top);
		*v = top->own;
		cause_clause(top, clause, sizeof(clause));
		others_list(res, j->straggler, others, sizeof(others));
		snprintf(v->summary, sizeof(v->summary), "%s is the straggler: %s; %s %s for it "
			 "%.0f%% of each step in collectives", trainer_name(top, name, sizeof(name)),
			 clause, others, j->ranks > 2 ? "wait" : "waits", pct(j->others_wait));
		advise(v, "it reaches the collectives last (%.0f%% of %u): every rank runs at "
		       "its pace; its own cause above is the job's bottleneck",
		       pct(j->last_fraction), j->collectives);
		if (same_cause(res, top))
			advise(v, "the other ranks' own cause is %s too: the whole job is bound by "
			       "it, and this rank suffers it most", top->own.primary);
	} else if (j->balanced) {
		j->shared_cause = most_common_cause(res);
		*v = top->own;
		snprintf(v->summary, sizeof(v->summary), "the job is balanced: no rank of %u "
			 "stands out (they wait for each other %.0f%% of the time); the shared "
			 "cause: %.250s", j->ranks, pct(j->mean_wait), top->own.summary);
		v->primary = j->shared_cause ? j->shared_cause : top->own.primary;
	}
}
