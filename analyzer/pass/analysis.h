/* SPDX-License-Identifier: MIT */
/*
 * analyzer/pass/: the analysis.  an_core.c runs one pass over a trace into the model
 * (threads, processes, on/off-CPU segments with their causes and wakers: an_core.h),
 * an_attr.c and an_loader.c attribute syscalls and data-loader traffic, an_dist.c
 * distributed identities, an_stats.c the timelines; after the pass an_finish.c finds
 * trainers, windows and steps, an_straggler.c the straggler, an_verdict.c the verdict,
 * categories.c spells the categories.  Reports (analyzer/out/) read only this header.
 *
 * The results of `analyze`: everything the text report, the JSON (docs/json-schema.md),
 * the charts and later exports need, computed once by analysis__run().  Strings that
 * come from the trace (thread names, paths, command lines) are untrusted: printers
 * escape them, charts keep them in data files only.
 */
#ifndef ST_ANALYSIS_H
#define ST_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "an_core.h"

#define SCHEMA_VERSION	1
#define MAX_SLOW	5
#define MAX_TOP_STALLS	10
#define MAX_ADVICE	4
#define MAX_WARN	16
#define MAX_RELAYS	4
#define MAX_WORKERS	64
#define MAX_TRAINERS	64
#define STEP_CHART_MAX	2000
#define MAX_COMPETITORS	5

struct an_breakdown {
	uint64_t ns[NCAT];
	uint64_t total;		/* sum of ns */
	double frac[NCAT];	/* ns / total, 0 when total is 0 */
};

struct an_step {
	uint64_t start, dur;
	uint64_t ns[NCAT];
	uint64_t launches;
	int primary;		/* enum cat with the most time */
};

struct an_stall {
	struct stall s;
	char comm[ST_COMM_LEN], waker_comm[ST_COMM_LEN], waker2_comm[ST_COMM_LEN];
	uint32_t waker_pid, waker2_pid;
	int32_t peer_rank;	/* collective_wait: the rank whose traffic ended it, -1 */
	const char *syscall;	/* name, or NULL */
	const char *path;	/* the file behind the fd, or NULL */
};

/* The workers one DataLoader iterator started: forked together, alive together. */
struct an_pool {
	uint64_t start;		/* its first fork (the trace start: it was there at attach) */
	uint64_t first_batch;	/* the main thread's first batch after it (0: none) */
	uint64_t first_take;	/* the loop's first take of it, no earlier (0: none) */
	uint64_t iter;		/* its iterator began: the pipes made before its fork, else start */
	uint32_t workers;
	bool forked;		/* started inside the trace */
	bool loader_first;	/* a second loader's first (validation): not its loader's re-creation */
};

#define MAX_POOLS	64

struct an_worker {
	uint32_t pid;
	uint32_t pool;		/* index in dl.pools */
	char comm[ST_COMM_LEN];
	uint64_t ns[NWS];	/* process-ns in each state (user window, else its life) */
	uint64_t fed;		/* batches it delivered: messages written into the trainer's pipes */
	uint64_t read_bytes, reads;
	struct timeline *tl;
};

struct an_io {
	uint64_t reads, read_bytes, read_ns, opens, files;
	uint64_t writes, write_bytes, write_ns;
	uint64_t pages_req, pages_miss, fault_pages;
	uint64_t blk_reqs, blk_bytes, blk_read_bytes, page_size;
	double hit_ratio;	/* -1 when unknown */
	double lat_p50_ms, lat_p99_ms, blk_p50_ms, blk_p99_ms, wr_p50_ms, wr_p99_ms;
	double read_mb_s;	/* over the window */
	struct hist rd_lat, wr_lat, blk_lat;
	float tput[TL_BUCKETS];	/* bytes read per grid bucket */
	float wtput[TL_BUCKETS];	/* bytes written */
};

struct an_verdict {
	const char *primary;	/* dataloader_prep ... compute, other, collective_wait */
	double fraction;	/* of the primary cause's wait (1 - waits for compute) */
	char summary[384];
	char advice[MAX_ADVICE][512];	/* (the longest is about 330) */
	int nadvice;
};

struct an_trainer {
	uint32_t pid, main_tid;
	char comm[ST_COMM_LEN];
	const char *found_by;
	struct thr *main;
	uint64_t win_start, win_end;
	const char *win_source;	/* "user", "steps", "thread" */
	struct an_breakdown bd, startup;
	uint64_t startup_start;
	uint64_t an_start;	/* = startup_start: where this trainer's timeline starts */
	uint64_t wakelat_ns, launches;
	uint64_t gil_ns;	/* of lock_wait, waiting for CPython's GIL */
	uint64_t team_ns;	/* of lock_wait, at the barrier of its intra-op threads */
	uint64_t net_ns;	/* of other_wait, blocked in a call on a socket */
	uint64_t io_write_ns;	/* of io_wait, writing (a checkpoint, a log): the rest reads */
	uint64_t stolen_ns;	/* of its time on the CPU, what the hypervisor took (steal) */
	uint32_t gil_holder, gil_holder_pid;	/* who held it longest (0: none) */
	char gil_holder_comm[ST_COMM_LEN];
	double syscalls_per_step, switches_per_step;	/* the main thread's */
	double cpus_used;	/* traced on-CPU time / window, the whole job */
	double spare_cpus;	/* of its machine: ncpus - the traced job's CPU use */
	uint32_t ncpus;		/* of its machine */
	/*
	 * Which input of a job of several (res->nodes) it comes from, and the ns to add to
	 * its times (all on its own machine's CLOCK_MONOTONIC) to put them on the job's
	 * time line; 0 and 0 for a single trace.
	 */
	uint32_t node;
	int64_t clock_offset;

	struct {
		uint32_t count;
		const char *method;	/* "markers", "batch_takes", "batch_arrivals",
					 * "relay_arrivals", "activity_period", "none" */
		char pattern[48];	/* activity_period: what recurs ("clock_gettime") */
		uint32_t pattern_per_step;	/* and how many times a step */
		bool pattern_handoff;	/* it is a lock handed to or from a sibling thread */
		/*
		 * Batches taken from another loader than the steps' (a validation loop):
		 * how many, in how many loops, the steps that held those loops (ns), and
		 * the batches per loop of each loader (the least and the most).
		 */
		uint32_t other_batches, other_loops;
		uint64_t other_ns;
		uint32_t other_per_loop[2], per_loop[2];
		/*
		 * Not told apart: the last loop's batches, of a pool of its own, fewer than
		 * each whole loop's before it (last_loop[0]; the fewest of those: [1]).
		 */
		uint32_t last_loop[2];
		/*
		 * Not told apart either, though two pools' whole loops differ: unsplit[0]
		 * batches in unsplit[1] loops of a pool, each loop unsplit[2] at most,
		 * under 3/4 of each of another pool's (unsplit[3] or more), all steps.
		 */
		uint32_t unsplit[4];
		/*
		 * Each step took a batch from each of zip_loaders loaders (zip(a, b): 0 or 1
		 * where it took from one); zip_batches: the other loaders' takes, no steps.
		 */
		uint32_t zip_loaders, zip_batches;
		/*
		 * Steps whose take from a loop's own Python queue was not seen (the queue
		 * neither full nor empty): counted from its loader thread's receipts and
		 * placed by the loop's CPU time (an_attr.c, queue_place).
		 */
		uint32_t queue_unseen;
		/*
		 * A pattern left out, the loop's no more (an_finish.c, pattern_loop):
		 * its first and last boundary, the thread's CPU ns between them and after
		 * the last; the steps it would have made, and what it was.
		 */
		uint64_t unlike[4];
		uint32_t unlike_n;
		char unlike_pattern[48];
		uint32_t other_ld;	/* zipped: the other loader's result pipe (ld) */
		uint32_t loader_pid[2];	/* a worker of each loader's first pool (the steps', the other's) */
		uint32_t other_pid[MAX_POOLS];	/* a worker of each of the other's loops */
		uint32_t nother_pid;
		double mean_ms, p50_ms, p95_ms, p99_ms, min_ms, max_ms, cv, per_s;
		double launches_per_step;
		bool regular;
		struct an_step slow[MAX_SLOW];
		uint32_t nslow;
		struct an_step *chart;	/* up to STEP_CHART_MAX, consecutive steps averaged */
		uint32_t nchart, per_chart;
		float *dur_ms;		/* every step's duration, in order (for --compare) */
		uint64_t *start_ns;	/* every step's start (to line steps up across ranks) */
	} steps;

	struct {
		uint32_t nworkers, nrelays;
		uint32_t nlisted;	/* workers in w[]: the MAX_WORKERS busiest, by pid */
		/*
		 * Pools: the workers of one DataLoader iterator each.  Without
		 * persistent_workers, every epoch starts a pool, and the main thread waits
		 * from its fork to its first batch (recreate_ns, for the pools started after
		 * the first one, inside the window).
		 */
		struct an_pool pools[MAX_POOLS];
		uint32_t npools, pool_size;	/* pool_size: the steps' loader's num_workers */
		bool pools_mixed;	/* pools of several sizes (loaders zipped, validation) */
		uint32_t recreated;	/* pools after the first but a second loader's first */
		uint32_t recreated_other;	/* of those, the other loader's (other_pid) */
		uint64_t recreate_ns;
		uint32_t relay_tid[MAX_RELAYS];
		char relay_comm[MAX_RELAYS][ST_COMM_LEN];
		uint64_t wait_ns;	/* main thread's dataloader_wait: its time in next() */
		uint64_t runq_ns;	/* of it, runnable without a CPU after the batch arrived */
		uint64_t gil_ns;	/* lock_wait for CPython's GIL in next(): time in it too */
		uint64_t wk[NWS];	/* worker process-ns during those waits */
		/* of busy worker time (all but idle), adding up to 1; idle of all of it */
		double prep, fetch, network, starved, sleep, idle;
		struct an_worker w[MAX_WORKERS];
		struct an_io io;
	} dl;

	struct an_io main_io;	/* the main thread's own file reads and writes */
	struct an_stall stalls[MAX_TOP_STALLS];
	uint32_t nstalls;
	struct an_verdict verdict;
	struct an_verdict own;		/* its own cause: collective_wait left out */
	double wait_for_slowest;	/* this trainer's extra waiting, fraction of its window */
	bool slowest;

	/* distributed jobs: who it is, and its waits for the other ranks */
	struct ident id;		/* rank -1 when not a rank of a distributed job */
	const char *host;		/* NULL when not distributed */
	struct {
		const struct coll *w;	/* its waits in the window (in its main thread) */
		uint32_t n;
		bool in_job;		/* one of the ranks analysed together */
		double last;		/* collectives it reached last (shared ties split) */
		uint64_t waited_for_ns;	/* the others' waits in those collectives */
		uint64_t runq_ns;	/* cpu_contention runnable after the others' data
					 * arrived: in the collective, as its caller sees it */
		struct { int32_t rank; uint32_t pid, waits; uint64_t ns; } peers[4];
		uint32_t npeers;	/* the ranks whose traffic ended its waits, most first */
	} coll;
};

/* The main thread's io_wait in reads, page faults and opens: all but its writing. */
static inline uint64_t an_io_read_ns(const struct an_trainer *tr)
{
	return tr->bd.ns[CAT_IO] > tr->io_write_ns ? tr->bd.ns[CAT_IO] - tr->io_write_ns : 0;
}

/*
 * The main thread's time in next(): its dataloader_wait and the GIL waits inside
 * next() (in lock_wait).  Its time in collectives: collective_wait and the time
 * runnable after the other ranks' data arrived (in cpu_contention).  ns.
 */
static inline uint64_t an_time_in_next(const struct an_trainer *tr)
{
	return tr->dl.wait_ns + tr->dl.gil_ns;
}

static inline uint64_t an_time_in_coll(const struct an_trainer *tr)
{
	return tr->bd.ns[CAT_COLL] + tr->coll.runq_ns;
}

#define STRAGGLER_LAST	0.6	/* reaches this share of the collectives last */
#define STRAGGLER_WAIT	0.05	/* while the others wait at least this much more */

/* The job, when the trainers are ranks of one distributed job (an_straggler.c). */
struct an_job {
	bool distributed;	/* some trainer is a rank, or trainers wait for each other */
	uint32_t ranks;		/* trainers analysed as its ranks */
	int32_t world_size;	/* from the environment, -1 */
	const char *run_id, *master_addr, *slurm_job;	/* NULL when unknown */
	int32_t master_port;
	uint32_t collectives;	/* collectives matched across the ranks */
	int straggler;		/* index in tr[], -1: none stands out */
	double others_wait;	/* the other ranks' mean collective_wait */
	double last_fraction;	/* of the collectives, the straggler reached last */
	bool balanced;		/* distributed, waits matched, no rank stands out */
	const char *shared_cause;	/* balanced: the ranks' most common own cause */
	double mean_wait;	/* every rank's mean collective_wait */
};

/* An untraced process that used CPU time in the window. */
struct an_competitor {
	uint32_t pid, tid;	/* pid 0: never named (an old trace): its busiest tid */
	char comm[ST_COMM_LEN];
	double cpu_s;
};

/* The machine's CPUs over the slowest trainer's window (an_cpu.c, an_finish.c). */
struct an_machine {
	uint64_t start, end;
	double idle_cpus, job_cpus, other_cpus;	/* average CPUs idle, the job's, others' */
	double seen_cpus;	/* CPUs the trace has samples of (the rest: unknown) */
	uint32_t nprocs;	/* untraced processes that ran */
	uint32_t ncomp;
	struct an_competitor comp[MAX_COMPETITORS];
	/*
	 * The CPUs the job ran on (a CPU's share at least 1/20 of its busiest one's; where
	 * the trace has its affinity, those it may run on), their idle time and the
	 * others', averaged over the trace (or --from/--to); confined: it ran on fewer
	 * than the machine's while they stood idle (its affinity known: may run on fewer).
	 */
	uint32_t job_ran;
	char job_cpu_list[64];
	double idle_inside, idle_outside;
	bool confined;
	bool affinity;		/* job_ran, job_cpu_list: the CPUs its affinity allows */
	bool idle_read;		/* idle and other time set from the tracer's idle readings */
};

/*
 * One input of a job analysed from several traces or --json reports (merge.c): its
 * machine, and how its clock was put on the job's time line, the CLOCK_MONOTONIC of
 * the reference node (the one with the lowest rank).
 */
struct an_node {
	const char *path;	/* the input */
	const char *trace;	/* the trace it was made from (a report's trace.path) */
	const char *host;
	uint32_t ranks, ncpus;
	double spare_cpus, cpus_used;
	uint64_t start_ns, end_ns;	/* its trace, on its own clock */
	int64_t realtime_offset;	/* its header's CLOCK_REALTIME - CLOCK_MONOTONIC */
	int64_t clock_error;	/* the pair's uncertainty, -1 unknown */
	int64_t header_offset;	/* ns added to its times by the clock pairs alone */
	int64_t offset;		/* ns added to its times: header_offset, refined */
	int64_t residual;	/* median |its collectives' ends - the reference's|, -1 unknown */
	uint32_t matched;	/* its collective ends matched with the reference's */
	const char *aligned_by;	/* "reference", "collectives", "clock pair" */
	bool complete;
	uint64_t lost;		/* events it lacks: dropped + missing */
};

struct an_result {
	const char *path;
	bool complete;
	const char *end_reason;		/* the reader's message when incomplete */
	uint64_t events, dropped, skipped, disorder, inconsistent, unseen_in, raced_wakes;
	uint64_t dropped_kind[ST_KIND_MAX];
	/* the trailer's word: how the tracer stopped, what it wrote (events_written is 0
	 * without a trailer), and the events it wrote that are not in the file */
	const char *stop_reason;	/* "signal", "duration", "exited", "error", NULL */
	bool disk_full, write_error;
	uint64_t events_written, missing;
	char end_buf[256];
	uint64_t start_ts, end_ts;
	uint32_t ncpus, nprocs, nthreads;
	const char *cmdline, *hostname, *kernel, *tracer_version;
	char warn[MAX_WARN][256];
	int nwarn, warn_more;	/* warn_more: those past the last place */
	bool warned_no_steps;	/* a trainer without steps was said on top (one line) */
	struct an_trainer *tr;	/* MAX_TRAINERS from a trace; a job's ranks from several */
	uint32_t ntr, slowest;
	struct an_node *nodes;	/* a job of several inputs (merge.c); NULL for one trace */
	uint32_t nnodes;
	const char *aligned_by;	/* several inputs: "collectives", "clock pairs", "mixed" */
	int64_t residual_skew;	/* ns, the worst node's; -1 unknown */
	struct merge_state *merge;	/* what a merge owns (merge.c) */
	uint32_t ntr_found;	/* trainers found; the MAX_TRAINERS busiest are in tr[] */
	struct an_job job;
	const char *clock_error_ns;
	char cost_text[200];		/* "tracer cost: ...", in every report */
	int64_t realtime_offset;
	double spare_cpus;	/* = mach.idle_cpus: what was really idle */
	struct an_machine mach;
	uint64_t grid_origin, grid_width;
	struct an an;		/* the streaming state the results point into */
};

/* Runs the analysis: 0, or 1 when the input cannot be read at all (message printed). */
int analysis__run(struct an_result *res, const struct an_opts *o, const char *prog);
void analysis__free(struct an_result *res);
/* res->cost_text from res->an.cost (the analysis sets it; a merge after summing). */
void analysis__cost_text(struct an_result *res);
/* A warning on top of every report (at most MAX_WARN are kept). */
void analysis__warn(struct an_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* an_finish.c */
void finish__trainers(struct an_result *res);
/* Marks the slowest trainer (the straggler when there is one) and the others' extra wait. */
void finish__slowest(struct an_result *res);
/* an_verdict.c */
void verdict__decide(struct an_result *res);
void verdict__job(struct an_result *res);
/* an_straggler.c */
void straggler__find(struct an_result *res);
void job_summary(const struct an_result *res, char *buf, size_t len);
/* "rank 3" or "pid 4242": how reports name a trainer */
const char *trainer_name(const struct an_trainer *tr, char *buf, size_t len);

/* report_text.c, report_json.c, charts.c */
void report__text(FILE *f, const struct an_result *res);
int report__json(const char *path, const struct an_result *res);
void report__json_stream(FILE *f, const struct an_result *res);
struct outdir;
extern const char *const chart_names[];	/* NAME of NAME.dat/.gp/.svg, NULL-terminated */
extern const char *const chart_files[];	/* every file -o DIR makes, NULL-terminated */
/* The charts into d's private directory; 0 (also without gnuplot: said), or -1. */
int charts__write(struct outdir *d, const struct an_result *res, bool png, const char *prog);

#endif
