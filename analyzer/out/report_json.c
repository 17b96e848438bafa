// SPDX-License-Identifier: MIT
/*
 * `--json FILE`: the results as one JSON object, schema in docs/json-schema.md.
 * Fractions are 0..1, durations in the unit their key says (_s, _ms, _ns).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "compare.h"
#include "json.h"
#include "outfile.h"

struct jw {
	FILE *f;
	int depth;
	bool first[32];
};

static void comma(struct jw *w)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
}

static void key(struct jw *w, const char *k)
{
	comma(w);
	if (k) {
		json_str(w->f, k);
		fputc(':', w->f);
	}
}

static void open_(struct jw *w, const char *k, char c)
{
	key(w, k);
	fputc(c, w->f);
	w->first[++w->depth] = true;
}

static void close_(struct jw *w, char c)
{
	fputc(c, w->f);
	w->depth--;
}

static void num(struct jw *w, const char *k, double v)
{
	key(w, k);
	json_num(w->f, v);
}

static void u64(struct jw *w, const char *k, uint64_t v)
{
	key(w, k);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

/* A count or index that may be unknown (negative): null then. */
static void inum(struct jw *w, const char *k, int64_t v)
{
	key(w, k);
	if (v >= 0)
		fprintf(w->f, "%lld", (long long)v);
	else
		fputs("null", w->f);
}

static void str(struct jw *w, const char *k, const char *s)
{
	key(w, k);
	if (s)
		json_str(w->f, s);
	else
		fputs("null", w->f);
}

static void comm(struct jw *w, const char *k, const char *c)
{
	char buf[ST_COMM_LEN + 1];

	memcpy(buf, c, ST_COMM_LEN);
	buf[ST_COMM_LEN] = '\0';
	str(w, k, buf);
}

static void boolean(struct jw *w, const char *k, bool v)
{
	key(w, k);
	fputs(v ? "true" : "false", w->f);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void j_breakdown(struct jw *w, const char *k, const struct an_breakdown *b, bool seconds)
{
	open_(w, k, '{');
	for (int c = 0; c < NCAT; c++)
		num(w, cat_names[c], seconds ? sec(b->ns[c]) : b->frac[c]);
	close_(w, '}');
}

static void j_cost(struct jw *w, const struct an_result *res)
{
	const struct an_cost *c = &res->an.cost;
	double share = c->tracer + (c->bpf > 0 ? c->bpf : 0);

	if (!c->known) {
		str(w, "tracer_cost", NULL);
		return;
	}
	open_(w, "tracer_cost", '{');
	str(w, "text", res->cost_text);
	num(w, "ns_per_event", res->events ? share * c->duration_s * 1e9 / (double)res->events : 0);
	num(w, "cpu_percent", 100 * share);
	if (c->bpf >= 0)
		num(w, "bpf_cpu_percent", 100 * c->bpf);
	else
		str(w, "bpf_cpu_percent", NULL);
	num(w, "process_cpu_percent", 100 * c->tracer);
	num(w, "setup_cpu_s", c->setup_cpu_s);
	num(w, "duration_s", c->duration_s);
	num(w, "sampled_s", c->sampled_s);
	u64(w, "windows", c->windows);
	num(w, "accounting_ns_per_run", c->acct_ns);
	open_(w, "programs", '[');
	for (uint32_t i = 0; i < c->nprogs; i++) {
		open_(w, NULL, '{');
		str(w, "name", c->prog[i].name);
		num(w, "runs_per_s", c->prog[i].runs_per_s);
		num(w, "ns_per_run", c->prog[i].ns_per_run);
		close_(w, '}');
	}
	close_(w, ']');
	close_(w, '}');
}

static void j_trace(struct jw *w, const struct an_result *res)
{
	open_(w, "trace", '{');
	str(w, "path", res->path);
	u64(w, "events", res->events);
	u64(w, "dropped_events", res->dropped);
	open_(w, "dropped", '{');
	for (unsigned i = 0; i < ST_KIND_MAX; i++)
		u64(w, st_kind_name(i), res->dropped_kind[i]);
	close_(w, '}');
	boolean(w, "complete", res->complete);
	str(w, "incomplete_reason", res->complete ? NULL : res->end_reason);
	str(w, "stop_reason", res->stop_reason);
	boolean(w, "disk_full", res->disk_full);
	boolean(w, "write_error", res->write_error);
	if (res->events_written)
		u64(w, "events_written", res->events_written);
	else
		str(w, "events_written", NULL);
	u64(w, "missing_events", res->missing);
	u64(w, "lost_events", res->dropped + res->missing);
	num(w, "duration_s", sec(res->end_ts - res->start_ts));
	u64(w, "start_ns", res->start_ts);
	u64(w, "end_ns", res->end_ts);
	u64(w, "ncpus", res->ncpus);
	u64(w, "processes", res->nprocs);
	u64(w, "threads", res->nthreads);
	u64(w, "skipped_records", res->skipped);
	u64(w, "out_of_order_records", res->disorder);
	u64(w, "inconsistent_sched", res->inconsistent);
	u64(w, "unseen_switches_in", res->unseen_in);
	u64(w, "raced_wakeups", res->raced_wakes);
	str(w, "cmdline", res->cmdline);
	str(w, "hostname", res->hostname);
	str(w, "tracer_version", res->tracer_version);
	key(w, "realtime_offset_ns");
	fprintf(w->f, "%lld", (long long)res->realtime_offset);
	if (res->clock_error_ns && strspn(res->clock_error_ns, "0123456789") ==
	    strlen(res->clock_error_ns) && *res->clock_error_ns)
		u64(w, "clock_error_ns", strtoull(res->clock_error_ns, NULL, 10));
	else
		str(w, "clock_error_ns", NULL);
	j_cost(w, res);
	open_(w, "warnings", '[');
	for (int i = 0; i < res->nwarn; i++)
		str(w, NULL, res->warn[i]);
	close_(w, ']');
	close_(w, '}');
}

static void j_step(struct jw *w, const struct an_step *s, uint32_t ncat)
{
	open_(w, NULL, '{');
	u64(w, "start_ns", s->start);
	num(w, "dur_ms", ms(s->dur));
	str(w, "primary", cat_names[s->primary]);
	u64(w, "launches", s->launches);
	open_(w, "ms", '{');
	for (uint32_t c = 0; c < ncat; c++)
		num(w, cat_names[c], ms(s->ns[c]));
	close_(w, '}');
	close_(w, '}');
}

static void j_steps(struct jw *w, const struct an_trainer *tr)
{
	open_(w, "steps", '{');
	u64(w, "count", tr->steps.count);
	str(w, "method", tr->steps.method);
	str(w, "pattern", tr->steps.pattern[0] ? tr->steps.pattern : NULL);
	u64(w, "pattern_per_step", tr->steps.pattern_per_step);
	u64(w, "other_loader_batches", tr->steps.other_batches);
	u64(w, "other_loader_loops", tr->steps.other_loops);
	num(w, "other_loader_held_s", (double)tr->steps.other_ns / 1e9);
	u64(w, "unsplit_batches", tr->steps.unsplit[0]);
	u64(w, "unsplit_loops", tr->steps.unsplit[1]);
	u64(w, "zip_loaders", tr->steps.zip_loaders);
	u64(w, "zip_batches", tr->steps.zip_batches);
	u64(w, "queue_unseen", tr->steps.queue_unseen);
	num(w, "mean_ms", tr->steps.mean_ms);
	num(w, "p50_ms", tr->steps.p50_ms);
	num(w, "p95_ms", tr->steps.p95_ms);
	num(w, "p99_ms", tr->steps.p99_ms);
	num(w, "min_ms", tr->steps.min_ms);
	num(w, "max_ms", tr->steps.max_ms);
	num(w, "cv", tr->steps.cv);
	boolean(w, "regular", tr->steps.regular);
	num(w, "steps_per_s", tr->steps.per_s);
	num(w, "launches_per_step", tr->steps.launches_per_step);
	/* every step, in order: what --compare's noise test works on */
	open_(w, "durations_ms", '[');
	for (uint32_t i = 0; tr->steps.dur_ms && i < tr->steps.count; i++) {
		key(w, NULL);
		fprintf(w->f, "%.4f", tr->steps.dur_ms[i]);
	}
	close_(w, ']');
	open_(w, "starts_ns", '[');
	for (uint32_t i = 0; tr->steps.start_ns && i < tr->steps.count; i++) {
		key(w, NULL);
		fprintf(w->f, "%llu", (unsigned long long)tr->steps.start_ns[i]);
	}
	close_(w, ']');
	open_(w, "slowest", '[');
	for (uint32_t i = 0; i < tr->steps.nslow; i++)
		j_step(w, &tr->steps.slow[i], NCAT);
	close_(w, ']');
	close_(w, '}');
}

static void j_io(struct jw *w, const struct an_io *io)
{
	open_(w, "io", '{');
	u64(w, "files_opened", io->files);
	u64(w, "reads", io->reads);
	u64(w, "read_bytes", io->read_bytes);
	num(w, "read_mb_s", io->read_mb_s);
	if (io->hit_ratio >= 0)
		num(w, "page_cache_hit_ratio", io->hit_ratio);
	else
		str(w, "page_cache_hit_ratio", NULL);
	u64(w, "page_cache_miss_pages", io->pages_miss + io->fault_pages);
	num(w, "read_p50_ms", io->lat_p50_ms);
	num(w, "read_p99_ms", io->lat_p99_ms);
	u64(w, "block_requests", io->blk_reqs);
	u64(w, "block_bytes", io->blk_bytes);
	num(w, "block_p50_ms", io->blk_p50_ms);
	num(w, "block_p99_ms", io->blk_p99_ms);
	close_(w, '}');
}

static void j_main_io(struct jw *w, const struct an_trainer *tr)
{
	const struct an_io *io = &tr->main_io;

	open_(w, "main_io", '{');
	u64(w, "reads", io->reads);
	u64(w, "read_bytes", io->read_bytes);
	num(w, "read_p50_ms", io->lat_p50_ms);
	num(w, "read_p99_ms", io->lat_p99_ms);
	u64(w, "writes", io->writes);
	u64(w, "write_bytes", io->write_bytes);
	num(w, "write_p50_ms", io->wr_p50_ms);
	num(w, "write_p99_ms", io->wr_p99_ms);
	num(w, "write_wait_s", sec(tr->io_write_ns));
	num(w, "read_wait_s", sec(an_io_read_ns(tr)));
	close_(w, '}');
}

static double frac_of(uint64_t ns, uint64_t total)
{
	return total ? (double)ns / (double)total : 0;
}

static void j_dataloader(struct jw *w, const struct an_trainer *tr)
{
	open_(w, "dataloader", '{');
	u64(w, "workers", tr->dl.nworkers);
	num(w, "wait_s", sec(tr->dl.wait_ns));
	num(w, "time_in_next_fraction", frac_of(an_time_in_next(tr), tr->bd.total));
	num(w, "runnable_after_arrival_s", sec(tr->dl.runq_ns));
	num(w, "runnable_after_arrival_fraction", frac_of(tr->dl.runq_ns, tr->bd.total));
	num(w, "gil_in_next_s", sec(tr->dl.gil_ns));
	num(w, "gil_in_next_fraction", frac_of(tr->dl.gil_ns, tr->bd.total));
	num(w, "fetch_fraction", tr->dl.fetch);
	num(w, "prep_fraction", tr->dl.prep);
	num(w, "network_fraction", tr->dl.network);
	num(w, "starved_fraction", tr->dl.starved);
	num(w, "sleep_fraction", tr->dl.sleep);
	num(w, "idle_fraction", tr->dl.idle);
	open_(w, "during_wait_s", '{');
	for (int i = 0; i < NWS; i++)
		num(w, wst_names[i], sec(tr->dl.wk[i]));
	close_(w, '}');
	open_(w, "relays", '[');
	for (uint32_t i = 0; i < tr->dl.nrelays; i++) {
		open_(w, NULL, '{');
		u64(w, "tid", tr->dl.relay_tid[i]);
		comm(w, "comm", tr->dl.relay_comm[i]);
		close_(w, '}');
	}
	close_(w, ']');
	u64(w, "pool_size", tr->dl.pool_size);
	u64(w, "pools", tr->dl.npools);
	num(w, "recreate_s", sec(tr->dl.recreate_ns));
	open_(w, "pool_list", '[');
	for (uint32_t i = 0; i < tr->dl.npools; i++) {
		const struct an_pool *pl = &tr->dl.pools[i];

		open_(w, NULL, '{');
		u64(w, "start_ns", pl->start);
		u64(w, "workers", pl->workers);
		boolean(w, "started_in_trace", pl->forked);
		boolean(w, "loader_first", pl->loader_first);
		if (pl->first_batch)
			u64(w, "first_batch_ns", pl->first_batch);
		else
			str(w, "first_batch_ns", NULL);
		if (pl->first_take) {
			u64(w, "first_take_ns", pl->first_take);
			num(w, "startup_s", sec(pl->first_take - pl->iter));
		} else {
			str(w, "first_take_ns", NULL);
			str(w, "startup_s", NULL);
		}
		close_(w, '}');
	}
	close_(w, ']');
	open_(w, "worker_list", '[');
	for (uint32_t i = 0; i < tr->dl.nlisted && i < MAX_WORKERS; i++) {
		const struct an_worker *k = &tr->dl.w[i];

		open_(w, NULL, '{');
		u64(w, "pid", k->pid);
		comm(w, "comm", k->comm);
		for (int s = 0; s < NWS; s++) {
			char name[32];

			snprintf(name, sizeof(name), "%s_s", wst_names[s]);
			num(w, name, sec(k->ns[s]));
		}
		u64(w, "pool", k->pool);
		u64(w, "batches_delivered", k->fed);
		u64(w, "read_bytes", k->read_bytes);
		u64(w, "reads", k->reads);
		close_(w, '}');
	}
	close_(w, ']');
	j_io(w, &tr->dl.io);
	close_(w, '}');
}

static void j_thread(struct jw *w, const char *k, uint32_t tid, uint32_t pid, const char *c)
{
	open_(w, k, '{');
	u64(w, "tid", tid);
	u64(w, "pid", pid);
	comm(w, "comm", c);
	close_(w, '}');
}

static void j_stalls(struct jw *w, const struct an_trainer *tr)
{
	open_(w, "stalls", '[');
	for (uint32_t i = 0; i < tr->nstalls; i++) {
		const struct an_stall *s = &tr->stalls[i];

		open_(w, NULL, '{');
		u64(w, "start_ns", s->s.start);
		num(w, "dur_ms", ms(s->s.dur));
		str(w, "cause", cat_names[s->s.cat]);
		boolean(w, "gil", s->s.gil);
		j_thread(w, "thread", s->s.tid, tr->pid, s->comm);
		str(w, "syscall", s->syscall);
		str(w, "state", s->s.nr == SC_NONE && !s->s.state ? NULL : st_state_name(s->s.state));
		str(w, "fd_kind", s->s.fdkind || s->s.ino ? st_fd_kind_name(s->s.fdkind) : NULL);
		str(w, "file", s->path);
		open_(w, "chain", '[');
		if (s->s.waker)
			j_thread(w, NULL, s->s.waker, s->waker_pid, s->waker_comm);
		if (s->s.waker2)
			j_thread(w, NULL, s->s.waker2, s->waker2_pid, s->waker2_comm);
		close_(w, ']');
		if (s->s.peer) {
			open_(w, "peer", '{');
			inum(w, "rank", s->peer_rank);
			u64(w, "pid", s->s.peer);
			close_(w, '}');
		} else {
			str(w, "peer", NULL);
		}
		close_(w, '}');
	}
	close_(w, ']');
}

static void j_verdict(struct jw *w, const char *k, const struct an_verdict *v)
{
	open_(w, k, '{');
	str(w, "primary", v->primary);
	num(w, "fraction", v->fraction);
	str(w, "summary", v->summary);
	open_(w, "advice", '[');
	for (int i = 0; i < v->nadvice; i++)
		str(w, NULL, v->advice[i]);
	close_(w, ']');
	close_(w, '}');
}

/* Its waits for the other ranks: each one's arrival and end, and who ended them. */
static void j_collective(struct jw *w, const struct an_trainer *tr)
{
	uint64_t ns = 0;

	for (uint32_t i = 0; i < tr->coll.n; i++)
		ns += tr->coll.w[i].wake - tr->coll.w[i].start;
	open_(w, "collective", '{');
	num(w, "wait_s", sec(tr->bd.ns[CAT_COLL]));
	u64(w, "waits", tr->coll.n);
	num(w, "waits_s", sec(ns));
	num(w, "last_arrivals", tr->coll.last);
	num(w, "waited_for_s", sec(tr->coll.waited_for_ns));
	num(w, "runnable_after_arrival_s", sec(tr->coll.runq_ns));
	num(w, "runnable_after_arrival_fraction", frac_of(tr->coll.runq_ns, tr->bd.total));
	num(w, "time_in_collectives_fraction",
	    frac_of(an_time_in_coll(tr), tr->bd.total));
	open_(w, "peers", '[');
	for (uint32_t i = 0; i < tr->coll.npeers; i++) {
		open_(w, NULL, '{');
		inum(w, "rank", tr->coll.peers[i].rank);
		u64(w, "pid", tr->coll.peers[i].pid);
		u64(w, "waits", tr->coll.peers[i].waits);
		num(w, "wait_s", sec(tr->coll.peers[i].ns));
		close_(w, '}');
	}
	close_(w, ']');
	open_(w, "start_ns", '[');
	for (uint32_t i = 0; i < tr->coll.n; i++) {
		key(w, NULL);
		fprintf(w->f, "%llu", (unsigned long long)tr->coll.w[i].start);
	}
	close_(w, ']');
	open_(w, "end_ns", '[');
	for (uint32_t i = 0; i < tr->coll.n; i++) {
		key(w, NULL);
		fprintf(w->f, "%llu", (unsigned long long)tr->coll.w[i].wake);
	}
	close_(w, ']');
	close_(w, '}');
}

/* Which rank of which job it is (null when not a rank of a distributed job). */
static void j_rank(struct jw *w, const struct an_trainer *tr)
{
	inum(w, "rank", tr->id.rank);
	inum(w, "local_rank", tr->id.local_rank);
	inum(w, "world_size", tr->id.world_size);
	inum(w, "node_rank", tr->id.node_rank);
	str(w, "rank_from", tr->id.rank_key);
	str(w, "host", tr->host);
	boolean(w, "job_member", tr->coll.in_job);
	u64(w, "node", tr->node);
	key(w, "clock_offset_ns");
	fprintf(w->f, "%lld", (long long)tr->clock_offset);
	j_collective(w, tr);
}

/* The fields of one trainer; the slowest one's are also the top level's. */
static void j_trainer_body(struct jw *w, const struct an_trainer *tr)
{
	open_(w, "main", '{');
	u64(w, "tid", tr->main_tid);
	u64(w, "pid", tr->pid);
	comm(w, "comm", tr->comm);
	str(w, "found_by", tr->found_by);
	num(w, "syscalls_per_step", tr->syscalls_per_step);
	num(w, "switches_per_step", tr->switches_per_step);
	num(w, "stolen_s", sec(tr->stolen_ns));
	num(w, "stolen_fraction", frac_of(tr->stolen_ns, tr->bd.total));
	close_(w, '}');
	open_(w, "window", '{');
	u64(w, "start_ns", tr->win_start);
	u64(w, "end_ns", tr->win_end);
	num(w, "duration_s", sec(tr->win_end - tr->win_start));
	str(w, "source", tr->win_source);
	close_(w, '}');
	j_verdict(w, "verdict", &tr->verdict);
	j_verdict(w, "own_verdict", &tr->own);
	j_breakdown(w, "breakdown", &tr->bd, false);
	j_breakdown(w, "breakdown_s", &tr->bd, true);
	num(w, "wakeup_latency_s", sec(tr->wakelat_ns));
	open_(w, "lock", '{');
	num(w, "gil_s", sec(tr->gil_ns));
	num(w, "gil_fraction", tr->bd.total ? (double)tr->gil_ns / (double)tr->bd.total : 0);
	if (tr->gil_holder)
		j_thread(w, "gil_holder", tr->gil_holder, tr->gil_holder_pid, tr->gil_holder_comm);
	else
		str(w, "gil_holder", NULL);
	num(w, "intra_op_s", sec(tr->team_ns));
	num(w, "intra_op_fraction", tr->bd.total ? (double)tr->team_ns / (double)tr->bd.total : 0);
	close_(w, '}');
	open_(w, "other", '{');
	num(w, "network_s", sec(tr->net_ns));
	num(w, "network_fraction", tr->bd.total ? (double)tr->net_ns / (double)tr->bd.total : 0);
	close_(w, '}');
	open_(w, "startup", '{');
	u64(w, "start_ns", tr->startup_start);
	num(w, "duration_s", sec(tr->win_start - tr->startup_start));
	j_breakdown(w, "breakdown", &tr->startup, false);
	close_(w, '}');
	j_steps(w, tr);
	j_dataloader(w, tr);
	j_main_io(w, tr);
	j_stalls(w, tr);
	num(w, "wait_for_slowest_fraction", tr->wait_for_slowest);
	boolean(w, "slowest", tr->slowest);
	j_rank(w, tr);
}

/* A duration in ns as ms, or null when unknown (negative). */
static void ms_or_null(struct jw *w, const char *k, int64_t ns)
{
	if (ns >= 0)
		num(w, k, (double)ns / 1e6);
	else
		str(w, k, NULL);
}

static void sint(struct jw *w, const char *k, int64_t v)
{
	key(w, k);
	fprintf(w->f, "%lld", (long long)v);
}

static void j_node(struct jw *w, const struct an_node *n)
{
	open_(w, NULL, '{');
	str(w, "path", n->path);
	str(w, "trace", n->trace);
	str(w, "host", n->host);
	u64(w, "ranks", n->ranks);
	u64(w, "start_ns", n->start_ns);
	u64(w, "end_ns", n->end_ns);
	u64(w, "ncpus", n->ncpus);
	num(w, "traced_cpus_used", n->cpus_used);
	num(w, "spare_cpus", n->spare_cpus);
	sint(w, "realtime_offset_ns", n->realtime_offset);
	inum(w, "clock_error_ns", n->clock_error);
	sint(w, "clock_pair_offset_ns", n->header_offset);
	sint(w, "clock_offset_ns", n->offset);
	str(w, "aligned_by", n->aligned_by);
	u64(w, "matched_collectives", n->matched);
	ms_or_null(w, "residual_ms", n->residual);
	boolean(w, "complete", n->complete);
	u64(w, "lost_events", n->lost);
	close_(w, '}');
}

/* The inputs of the job and how their clocks were lined up (one for a single trace). */
static void j_nodes(struct jw *w, const struct an_result *res)
{
	struct an_node one = {
		.path = res->path, .trace = res->path, .host = res->hostname,
		.ranks = res->job.ranks, .ncpus = res->ncpus, .spare_cpus = res->spare_cpus,
		.start_ns = res->start_ts, .end_ns = res->end_ts,
		.cpus_used = res->ntr ? res->tr[0].cpus_used : 0,
		.realtime_offset = res->realtime_offset, .clock_error = -1,
		.aligned_by = "reference", .complete = res->complete,
		.lost = res->dropped + res->missing,
	};
	uint32_t ref = 0;

	if (res->clock_error_ns && *res->clock_error_ns &&
	    strspn(res->clock_error_ns, "0123456789") == strlen(res->clock_error_ns))
		one.clock_error = (int64_t)strtoll(res->clock_error_ns, NULL, 10);
	open_(w, "nodes", '[');
	if (!res->nnodes)
		j_node(w, &one);
	for (uint32_t i = 0; i < res->nnodes; i++) {
		j_node(w, &res->nodes[i]);
		if (!strcmp(res->nodes[i].aligned_by, "reference"))
			ref = i;
	}
	close_(w, ']');
	open_(w, "clock", '{');
	str(w, "aligned_by", res->nnodes ? res->aligned_by : "single trace");
	ms_or_null(w, "residual_skew_ms", res->nnodes ? res->residual_skew : 0);
	u64(w, "reference_node", ref);
	close_(w, '}');
}

static void j_job(struct jw *w, const struct an_result *res)
{
	const struct an_job *j = &res->job;
	const struct an_trainer *s = j->straggler >= 0 ? &res->tr[j->straggler] : NULL;
	char name[32];

	open_(w, "job", '{');
	boolean(w, "distributed", j->distributed);
	u64(w, "ranks", j->ranks);
	inum(w, "world_size", j->world_size);
	str(w, "run_id", j->run_id);
	str(w, "master_addr", j->master_addr);
	inum(w, "master_port", j->master_port);
	str(w, "slurm_job_id", j->slurm_job);
	str(w, "host", j->distributed ? res->hostname : NULL);
	j_nodes(w, res);
	u64(w, "collectives", j->collectives);
	num(w, "mean_collective_wait", j->mean_wait);
	boolean(w, "balanced", j->balanced);
	str(w, "shared_cause", j->shared_cause);
	/* the straggler by name, for --compare's straggler!=baseline */
	if (s)
		str(w, "straggler", trainer_name(s, name, sizeof(name)));
	else
		str(w, "straggler", "none");
	close_(w, '}');
	if (!s) {
		str(w, "straggler", NULL);
		return;
	}
	open_(w, "straggler", '{');
	inum(w, "rank", s->id.rank);
	u64(w, "pid", s->pid);
	str(w, "host", s->host);
	str(w, "cause", s->own.primary);
	num(w, "others_wait_fraction", j->others_wait);
	num(w, "last_fraction", j->last_fraction);
	u64(w, "index", (uint64_t)j->straggler);
	close_(w, '}');
}

static void j_cpu(struct jw *w, const struct an_result *res)
{
	const struct an_machine *m = &res->mach;

	/* the machine of the top-level trainer (the straggler's, in a job of several) */
	open_(w, "cpu", '{');
	u64(w, "ncpus", res->ncpus);
	num(w, "traced_cpus_used", res->ntr ? res->tr[res->slowest].cpus_used : m->job_cpus);
	num(w, "spare_cpus", res->spare_cpus);
	num(w, "idle_cpus", m->idle_cpus);
	num(w, "untraced_cpus_used", m->other_cpus);
	num(w, "unseen_cpus", res->ncpus > m->seen_cpus ? res->ncpus - m->seen_cpus : 0);
	u64(w, "job_ran_cpus", m->job_ran);
	str(w, "job_cpu_list", m->job_cpu_list);
	num(w, "job_cpus_idle", m->idle_inside);
	num(w, "idle_outside_job_cpus", m->idle_outside);
	boolean(w, "confined", m->confined);
	boolean(w, "job_affinity", m->affinity);
	boolean(w, "idle_read", m->idle_read);
	u64(w, "start_ns", m->start);
	u64(w, "end_ns", m->end);
	u64(w, "untraced_processes", m->nprocs);
	open_(w, "competitors", '[');
	for (uint32_t i = 0; i < m->ncomp; i++) {
		open_(w, NULL, '{');
		u64(w, "pid", m->comp[i].pid);
		u64(w, "tid", m->comp[i].tid);
		comm(w, "comm", m->comp[i].comm);
		num(w, "cpu_s", m->comp[i].cpu_s);
		close_(w, '}');
	}
	close_(w, ']');
	close_(w, '}');
}

static void j_all(struct jw *w, const struct an_result *res)
{
	open_(w, NULL, '{');
	u64(w, "schema_version", SCHEMA_VERSION);
	open_(w, "tool", '{');
	str(w, "name", "stalltrace-analyze");
	str(w, "version", ST_VERSION);
	close_(w, '}');
	j_trace(w, res);
	j_cpu(w, res);
	if (res->ntr) {
		j_trainer_body(w, &res->tr[res->slowest]);
	} else {
		/* the same keys, zero: consumers need not special-case an empty trace */
		static struct an_trainer none = {
			.found_by = "none", .win_source = "none", .steps.method = "none",
			.verdict = { .primary = "unknown", .summary = "no training thread found" },
			.own = { .primary = "unknown", .summary = "no training thread found" },
			.id = { .rank = -1, .local_rank = -1, .world_size = -1, .node_rank = -1,
				.master_port = -1 },
		};

		j_trainer_body(w, &none);
	}
	j_job(w, res);
	open_(w, "trainers", '[');
	for (uint32_t i = 0; i < res->ntr; i++) {
		open_(w, NULL, '{');
		u64(w, "index", i);
		j_trainer_body(w, &res->tr[i]);
		close_(w, '}');
	}
	close_(w, ']');
	close_(w, '}');
	fputc('\n', w->f);
}

void report__json_stream(FILE *f, const struct an_result *res)
{
	struct jw w = { .f = f, .first = { true } };

	j_all(&w, res);
}

int report__json(const char *path, const struct an_result *res)
{
	struct jw w = { .first = { true } };
	struct outfile o;

	if (!(w.f = outfile__fopen(&o, path)))
		return -errno;
	j_all(&w, res);
	return outfile__fclose(&o, w.f, true);
}

/* For `--compare` (compare.c): a trace's JSON summary, as --json writes it. */
char *compare__trace_json(const char *trace, const char *who)
{
	struct an_opts o = { .path = trace };
	struct an_result *res = calloc(1, sizeof(*res));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!res) {
		fprintf(stderr, "%s: out of memory\n", who);
		return NULL;
	}
	if (!analysis__run(res, &o, who) && (f = open_memstream(&buf, &len))) {
		report__json_stream(f, res);
		if (fclose(f)) {
			free(buf);
			buf = NULL;
		}
	}
	analysis__free(res);
	free(res);
	return buf;
}
