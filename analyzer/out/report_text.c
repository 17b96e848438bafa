// SPDX-License-Identifier: MIT
/* The human report on stdout: the verdict first, then the numbers behind it. */
#include <string.h>

#include "analysis.h"
#include "esc.h"
#include "merge.h"

#define TEXT_RANKS	64	/* ranks listed in full; past that, those that stand out */

static void bar(FILE *f, double frac)
{
	int n = (int)(frac * 40 + 0.5);

	for (int i = 0; i < 40; i++)
		fputc(i < n ? '#' : '.', f);
}

static void header(FILE *f, const struct an_result *res)
{
	fputs("stalltrace analyze: ", f);
	text_esc(f, res->path, 4096);
	fputc('\n', f);
	for (int i = 0; i < res->nwarn; i++) {
		fputs("WARNING: ", f);
		text_esc(f, res->warn[i], sizeof(res->warn[0]));
		fputc('\n', f);
	}
}

static void verdict(FILE *f, const struct an_trainer *tr)
{
	fprintf(f, "\nVERDICT  %s\n", tr->verdict.summary);
	for (int i = 0; i < tr->verdict.nadvice; i++) {
		fputs("  - ", f);
		text_esc(f, tr->verdict.advice[i], sizeof(tr->verdict.advice[0]));
		fputc('\n', f);
	}
}

static void overview(FILE *f, const struct an_trainer *tr)
{
	fputs("\nmain thread  ", f);
	text_esc(f, tr->comm, ST_COMM_LEN);
	fprintf(f, " (tid %u, pid %u", tr->main_tid, tr->pid);
	if (tr->id.rank >= 0) {
		fprintf(f, ", rank %d", tr->id.rank);
		if (tr->id.world_size > 0)
			fprintf(f, " of %d", tr->id.world_size);
	}
	if (tr->host) {
		fputs(" on ", f);
		text_esc(f, tr->host, 64);
	}
	fprintf(f, "), found by %s\n", tr->found_by);
	fprintf(f, "window       %.3f s (%s)", (double)(tr->win_end - tr->win_start) / 1e9,
		!strcmp(tr->win_source, "steps") ? "steady state: first to last step" :
		!strcmp(tr->win_source, "user") ? "--from/--to" : "the thread's life");
	if (tr->win_start > tr->startup_start)
		fprintf(f, ", start-up %.3f s before it excluded",
			(double)(tr->win_start - tr->startup_start) / 1e9);
	fputc('\n', f);
	if (!tr->steps.count) {
		fputs("steps        none detected (no step markers, no recurring batch arrivals)\n", f);
		return;
	}
	fprintf(f, "steps        %u (%s, %s, cv %.2f): mean %.2f ms, p50 %.2f, p95 %.2f, "
		"p99 %.2f ms; %.2f steps/s\n", tr->steps.count, tr->steps.method,
		tr->steps.regular ? "regular" : "irregular", tr->steps.cv, tr->steps.mean_ms,
		tr->steps.p50_ms, tr->steps.p95_ms, tr->steps.p99_ms, tr->steps.per_s);
	if (tr->steps.pattern[0])
		fprintf(f, "             (no batches reach the main thread: steps from its own periodic "
			"pattern, %u x %s a step)\n", tr->steps.pattern_per_step, tr->steps.pattern);
	if (tr->steps.zip_loaders)
		fprintf(f, "             (each step takes a batch from each of %u data loaders, zipped: "
			"a step per batch of the one it takes first; the others' %u batches are no "
			"steps)\n", tr->steps.zip_loaders, tr->steps.zip_batches);
	if (tr->steps.other_batches) {
		char held[64] = " (none came between two steps)";

		if (tr->steps.other_ns)
			snprintf(held, sizeof(held), "; the steps that held them %.3f s",
				 (double)tr->steps.other_ns / 1e9);
		fprintf(f, "             (the training loader's batches: another loader's %u batches in "
			"%u loop%s, validation?, are no steps%s)\n", tr->steps.other_batches,
			tr->steps.other_loops, tr->steps.other_loops == 1 ? "" : "s", held);
	}
}

static void breakdown(FILE *f, const struct an_trainer *tr)
{
	fputs("\nwhere the main thread's time goes\n", f);
	for (int c = 0; c < NCAT; c++) {
		fprintf(f, "  %-16s %6.1f%% %9.3f s  ", cat_names[c], 100 * tr->bd.frac[c],
			(double)tr->bd.ns[c] / 1e9);
		bar(f, tr->bd.frac[c]);
		fputc('\n', f);
	}
	if (tr->dl.wait_ns || tr->dl.gil_ns) {
		double tot = (double)tr->bd.total;

		fprintf(f, "  (time in next(): %.1f%% of the window, of which %.1f%% waiting for a CPU "
			"after the batch arrived", 100.0 * (double)an_time_in_next(tr) / tot,
			100.0 * (double)tr->dl.runq_ns / tot);
		/* next()'s own code between its GIL waits is compute (docs/analysis.md) */
		if (tr->dl.gil_ns)
			fprintf(f, ", %.1f%% for CPython's GIL (in lock_wait; its own code between "
				"those waits is compute)", 100.0 * (double)tr->dl.gil_ns / tot);
		fprintf(f, ": the loader itself %.1f%%)\n",
			100.0 * (double)(tr->dl.wait_ns - tr->dl.runq_ns) / tot);
	}
	if (tr->bd.ns[CAT_COLL])
		fprintf(f, "  (time in collectives: %.1f%% of the window waiting, of which %.1f%% for a "
			"CPU after the other ranks' data arrived (in cpu_contention); their own CPU "
			"work is compute)\n",
			100.0 * (double)an_time_in_coll(tr) / (double)tr->bd.total,
			100.0 * (double)tr->coll.runq_ns / (double)tr->bd.total);
	if (tr->gil_ns) {
		fprintf(f, "  (of lock_wait, %.3f s waiting for CPython's GIL", (double)tr->gil_ns / 1e9);
		if (tr->gil_holder) {
			fputs(", held most by ", f);
			text_esc(f, tr->gil_holder_comm, ST_COMM_LEN);
			fprintf(f, " (tid %u)", tr->gil_holder);
		}
		fputs(")\n", f);
	}
	if (tr->team_ns)
		fprintf(f, "  (of lock_wait, %.3f s at the barriers of its intra-op threads (an OpenMP "
			"team: torch.set_num_threads), waiting for their share of its ops)\n",
			(double)tr->team_ns / 1e9);
	if (tr->net_ns)
		fprintf(f, "  (of other_wait, %.3f s blocked on sockets: the network)\n",
			(double)tr->net_ns / 1e9);
	/* from 1% of the window, as the verdict's advice tells the two apart */
	if (tr->bd.total && tr->bd.ns[CAT_IO] * 100 >= tr->bd.total)
		fprintf(f, "  (of io_wait, %.3f s writing (checkpoints, logs), %.3f s reading (its "
			"data: reads, page faults on mapped files, opens))\n",
			(double)tr->io_write_ns / 1e9,
			(double)an_io_read_ns(tr) / 1e9);
	if (tr->wakelat_ns)
		fprintf(f, "  (of the waits, %.3f s runnable after the wakeup, waiting for a CPU)\n",
			(double)tr->wakelat_ns / 1e9);
	/* from 0.1% of the window: a few stray microseconds are no finding */
	if (tr->bd.total && tr->stolen_ns * 1000 >= tr->bd.total)
		fprintf(f, "  (of its time on the CPU, %.3f s (%.1f%% of the window) stolen by the "
			"hypervisor: this virtual machine's CPU ran other work meanwhile)\n",
			(double)tr->stolen_ns / 1e9, 100.0 * (double)tr->stolen_ns / (double)tr->bd.total);
}

/* Each pool started inside the trace: how long its first batch took. */
static void pools(FILE *f, const struct an_trainer *tr)
{
	bool any = false;

	fputc('\n', f);
	for (uint32_t i = 1; i < tr->dl.npools; i++) {
		const struct an_pool *pl = &tr->dl.pools[i];

		if (!pl->first_take)
			continue;
		fprintf(f, "%s pool %u%s at +%.3f s: first batch %.3f s after its iterator began",
			any ? "," : "  new pools:", i + 1,
			pl->loader_first ? " (another loader's first)" : "",
			(double)(pl->start - tr->startup_start) / 1e9,
			(double)(pl->first_take - pl->iter) / 1e9);
		any = true;
	}
	if (any)
		fprintf(f, "; %.3f s in the window\n", (double)tr->dl.recreate_ns / 1e9);
}

static void loader(FILE *f, const struct an_trainer *tr)
{
	const struct an_io *io = &tr->dl.io;

	if (!tr->dl.nworkers && !tr->dl.wait_ns) {
		/* a thread of the job's own may load (a prefetch thread over a queue): the
		 * main thread's waits for it are its own waits, its CPU not the loop's */
		fputs("\ndata loader  no worker processes (num_workers=0): data loading runs in "
		      "the job's own threads; on the main thread it shows as compute, its reads as io_wait\n", f);
		return;
	}
	if (tr->dl.npools > 1)
		fprintf(f, "\ndata loader  %u workers per pool%s, %u pools (re-created %u time%s: "
			"%u processes)", tr->dl.pool_size,
			tr->dl.pools_mixed ? " (the steps' loader's; pools of other sizes too)" : "",
			tr->dl.npools, tr->dl.recreated, tr->dl.recreated == 1 ? "" : "s",
			tr->dl.nworkers);
	else
		fprintf(f, "\ndata loader  %u worker%s", tr->dl.nworkers,
			tr->dl.nworkers == 1 ? "" : "s");
	if (tr->dl.nlisted < tr->dl.nworkers)
		fprintf(f, " (the %u busiest listed)", tr->dl.nlisted);
	for (uint32_t i = 0; i < tr->dl.nrelays; i++) {
		fputs(i ? ", " : ", relay ", f);
		text_esc(f, tr->dl.relay_comm[i], ST_COMM_LEN);
		fprintf(f, " (tid %u)", tr->dl.relay_tid[i]);
	}
	pools(f, tr);
	fprintf(f, "  while the main thread waited (%.3f s): prep %.0f%%, fetch %.0f%% (storage), "
		"network %.0f%%, starved %.0f%%, sleeping/other %.0f%% of busy worker time; "
		"idle %.0f%%\n", (double)tr->dl.wait_ns / 1e9, 100 * tr->dl.prep, 100 * tr->dl.fetch,
		100 * tr->dl.network, 100 * tr->dl.starved, 100 * tr->dl.sleep, 100 * tr->dl.idle);
	for (uint32_t i = 0; i < tr->dl.nlisted && i < MAX_WORKERS; i++) {
		const struct an_worker *w = &tr->dl.w[i];

		fprintf(f, "  %-8u ", w->pid);
		text_esc(f, w->comm, ST_COMM_LEN);
		fprintf(f, "%*s cpu %.3f s, storage %.3f s, network %.3f s, runnable %.3f s, "
			"sleeping %.3f s, idle %.3f s, %llu batches, %.1f MB read\n",
			(int)(16 - strnlen(w->comm, ST_COMM_LEN)), "",
			(double)w->ns[WS_CPU] / 1e9, (double)w->ns[WS_IO] / 1e9,
			(double)w->ns[WS_NET] / 1e9, (double)w->ns[WS_RUNQ] / 1e9,
			(double)w->ns[WS_SLEEP] / 1e9, (double)w->ns[WS_IDLE] / 1e9,
			(unsigned long long)w->fed, (double)w->read_bytes / 1e6);
	}
	if (!io->reads && !io->blk_reqs)
		return;
	fprintf(f, "  I/O: %llu files opened, %llu reads, %.1f MB (%.1f MB/s), read p50 %.3f ms "
		"p99 %.3f ms", (unsigned long long)io->files, (unsigned long long)io->reads,
		(double)io->read_bytes / 1e6, io->read_mb_s, io->lat_p50_ms, io->lat_p99_ms);
	if (io->hit_ratio >= 0)
		fprintf(f, ", page cache hit %.0f%%", 100 * io->hit_ratio);
	if (io->blk_reqs)
		fprintf(f, ", %llu block requests (p50 %.3f ms, p99 %.3f ms)",
			(unsigned long long)io->blk_reqs, io->blk_p50_ms, io->blk_p99_ms);
	fputc('\n', f);
}

static void thread_ref(FILE *f, const char *comm, uint32_t tid)
{
	text_esc(f, comm, ST_COMM_LEN);
	fprintf(f, " (%u)", tid);
}

static void stalls(FILE *f, const struct an_trainer *tr)
{
	if (!tr->nstalls)
		return;
	fputs("\ntop stalls of the main thread\n", f);
	for (uint32_t i = 0; i < tr->nstalls; i++) {
		const struct an_stall *s = &tr->stalls[i];

		fprintf(f, "  %2u. %9.3f ms %-15s at +%.3f s", i + 1, (double)s->s.dur / 1e6,
			cat_names[s->s.cat], (double)(s->s.start - tr->startup_start) / 1e9);
		if (s->s.gil)
			fputs(" for the GIL", f);
		if (s->syscall)
			fprintf(f, " in %s", s->syscall);
		if (s->path) {
			fputs(" on ", f);
			text_esc(f, s->path, 200);
		} else if (s->s.fdkind) {
			fprintf(f, " on a %s", st_fd_kind_name(s->s.fdkind));
		}
		if (s->s.waker) {
			fputs(", woken by ", f);
			thread_ref(f, s->waker_comm, s->s.waker);
			if (s->s.waker2) {
				fputs(" <- ", f);
				thread_ref(f, s->waker2_comm, s->s.waker2);
			}
		} else if (s->s.gil) {
			/* a GIL chain ends on a timeout when the holder let go by then */
			fputs(", timed out: asked the holder to drop it", f);
		} else if (s->s.wrel == WREL_IRQ) {
			fputs(", woken by an interrupt", f);
		}
		if (s->s.peer) {
			fputs(" <- traffic from ", f);
			if (s->peer_rank >= 0)
				fprintf(f, "rank %d (pid %u)", s->peer_rank, s->s.peer);
			else
				fprintf(f, "pid %u", s->s.peer);
		}
		fputc('\n', f);
	}
}

static void slow_steps(FILE *f, const struct an_trainer *tr)
{
	if (!tr->steps.nslow)
		return;
	fputs("\nslowest steps\n", f);
	for (uint32_t i = 0; i < tr->steps.nslow; i++) {
		const struct an_step *s = &tr->steps.slow[i];

		fprintf(f, "  %9.3f ms at +%.3f s: mostly %s (%.1f ms)\n", (double)s->dur / 1e6,
			(double)(s->start - tr->startup_start) / 1e9, cat_names[s->primary],
			(double)s->ns[s->primary] / 1e6);
	}
}

static void job(FILE *f, const struct an_result *res)
{
	char buf[512];

	job_summary(res, buf, sizeof(buf));
	fputc('\n', f);
	text_esc(f, buf, sizeof(buf));
	fputc('\n', f);
	job__clock_summary(res, buf, sizeof(buf));
	if (buf[0]) {
		text_esc(f, buf, sizeof(buf));
		fputc('\n', f);
	}
}

/*
 * Whether a rank gets a row: all of them up to TEXT_RANKS; past that the straggler,
 * the slowest and the ranks the others waited for most (--json and -o list them all).
 */
static bool listed(const struct an_result *res, uint32_t i, double bar)
{
	return res->ntr <= TEXT_RANKS || (int)i == res->job.straggler || i == res->slowest ||
	       (double)res->tr[i].coll.waited_for_ns >= bar;
}

/* Past TEXT_RANKS: the waiting credited to the 32nd rank the others waited for most. */
static double listed_bar(const struct an_result *res)
{
	uint64_t top[32] = { 0 };

	if (res->ntr <= TEXT_RANKS)
		return 0;
	for (uint32_t i = 0; i < res->ntr; i++) {
		uint64_t v = res->tr[i].coll.waited_for_ns;

		for (int k = 0; k < 32; k++)
			if (v > top[k]) {
				uint64_t t = top[k];

				top[k] = v;
				v = t;
			}
	}
	return top[31] ? (double)top[31] : 1e300;
}

static void trainers(FILE *f, const struct an_result *res)
{
	double bar = listed_bar(res);
	uint32_t shown = 0;
	char name[32];

	if (res->ntr < 2 && !res->job.distributed)
		return;
	if (res->job.distributed)
		job(f, res);
	fprintf(f, "\n%u trainer%s (the report above is the %s's)\n", res->ntr,
		res->ntr == 1 ? "" : "s", res->job.straggler >= 0 ? "straggler" : "slowest one");
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (!listed(res, i, bar))
			continue;
		shown++;
		fprintf(f, "  %-8s pid %-7u ", tr->id.rank >= 0 ? trainer_name(tr, name,
			sizeof(name)) : "", tr->pid);
		if (res->nnodes > 1) {
			fputs("on ", f);
			text_esc(f, tr->host ? tr->host : "?", 32);
			fputc(' ', f);
		}
		text_esc(f, tr->comm, ST_COMM_LEN);
		fprintf(f, "%*s %-17s step %.2f ms, compute %.0f%%%s", (int)(16 -
			strnlen(tr->comm, ST_COMM_LEN)), "", tr->verdict.primary, tr->steps.mean_ms,
			100 * tr->bd.frac[CAT_COMPUTE], res->job.straggler == (int)i ? ", straggler" :
			tr->slowest ? ", slowest" : "");
		if (tr->bd.frac[CAT_COLL] > 0)
			fprintf(f, ", collective_wait %.0f%% (own cause %s)", 100 * tr->bd.frac[CAT_COLL],
				tr->own.primary);
		if (tr->wait_for_slowest > 0)
			fprintf(f, ", waits %.0f%% more than the slowest", 100 * tr->wait_for_slowest);
		fputc('\n', f);
	}
	if (shown < res->ntr)
		fprintf(f, "  ... and %u more ranks, each held the others up less than those above "
			"(all of them: --json, -o DIR)\n", res->ntr - shown);
}

static void cpus(FILE *f, const struct an_result *res)
{
	const struct an_machine *m = &res->mach;

	fprintf(f, "\ncpus         %u: the job used %.2f, other programs %.2f, idle %.2f", res->ncpus,
		m->job_cpus, m->other_cpus, m->idle_cpus);
	if (m->seen_cpus < res->ncpus)
		fprintf(f, ", %.0f never seen", res->ncpus - m->seen_cpus);
	fputc('\n', f);
	if (m->confined && m->affinity)
		fprintf(f, "  the job may run on CPU%s %s only (%u of %u): its CPU affinity (taskset, "
			"a cgroup cpuset, the scheduler's allocation) confines it; idle %.2f there, "
			"%.2f CPUs seen idle outside them\n", m->job_ran == 1 ? "" : "s",
			m->job_cpu_list, m->job_ran, res->ncpus, m->idle_inside, m->idle_outside);
	else if (m->confined)
		fprintf(f, "  the job ran on CPU%s %s only (%u of %u), idle %.2f there, while %.2f "
			"CPUs stood idle outside them: its CPU affinity (taskset, a cgroup cpuset, "
			"the scheduler's allocation) confines it\n", m->job_ran == 1 ? "" : "s",
			m->job_cpu_list, m->job_ran, res->ncpus, m->idle_inside, m->idle_outside);
	for (uint32_t i = 0; i < m->ncomp; i++) {
		fprintf(f, "  %-8u ", m->comp[i].pid ? m->comp[i].pid : m->comp[i].tid);
		text_esc(f, m->comp[i].comm, ST_COMM_LEN);
		fprintf(f, "%*s %.3f CPU-s%s\n", (int)(16 - strnlen(m->comp[i].comm, ST_COMM_LEN)),
			"", m->comp[i].cpu_s, m->comp[i].pid ? "" : " (a thread id: never named)");
	}
	if (m->nprocs > m->ncomp)
		fprintf(f, "  and %u more\n", m->nprocs - m->ncomp);
}

static void trace(FILE *f, const struct an_result *res)
{
	if (res->nnodes > 1) {
		fprintf(f, "\ntraces       %u nodes: %llu events, %.3f s on the job's time line, "
			"%llu dropped, %llu missing, %u processes, %u threads%s\n", res->nnodes,
			(unsigned long long)res->events, (double)(res->end_ts - res->start_ts) / 1e9,
			(unsigned long long)res->dropped, (unsigned long long)res->missing,
			res->nprocs, res->nthreads, res->complete ? "" : ", INCOMPLETE");
		fprintf(f, "             %s\n", res->cost_text);
		return;
	}
	fprintf(f, "\ntrace        %llu events, %.3f s, %llu dropped, %u processes, %u threads, "
		"%u CPUs%s\n", (unsigned long long)res->events,
		(double)(res->end_ts - res->start_ts) / 1e9, (unsigned long long)res->dropped,
		res->nprocs, res->nthreads, res->ncpus, res->complete ? "" : ", INCOMPLETE");
	fprintf(f, "             %s\n", res->cost_text);
}

void report__text(FILE *f, const struct an_result *res)
{
	header(f, res);
	if (!res->ntr) {
		fputs("\nVERDICT  unknown: no training thread found in this trace\n", f);
		trace(f, res);
		return;
	}
	verdict(f, &res->tr[res->slowest]);
	overview(f, &res->tr[res->slowest]);
	breakdown(f, &res->tr[res->slowest]);
	loader(f, &res->tr[res->slowest]);
	stalls(f, &res->tr[res->slowest]);
	slow_steps(f, &res->tr[res->slowest]);
	trainers(f, res);
	if (res->nnodes < 2)	/* several machines: each node's own report has its CPUs */
		cpus(f, res);
	trace(f, res);
}
