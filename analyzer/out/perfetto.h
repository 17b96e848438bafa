/* SPDX-License-Identifier: MIT */
/*
 * `analyze --perfetto FILE`: the trace as a Chrome JSON trace (the trace event format
 * that ui.perfetto.dev and chrome://tracing load), for looking at one slow step.
 * docs/perfetto.md describes the tracks and what each slice means.
 */
#ifndef ST_PERFETTO_H
#define ST_PERFETTO_H

#include <stdint.h>

#include "analysis.h"

#define PERFETTO_MAX_MB_DEFAULT	512
#define PERFETTO_MAX_RANKS	64

struct perfetto_opts {
	struct an_time from, to;	/* --perfetto-window; kind 0: the trace's own edge */
	uint64_t max_mb;		/* stop writing past this size; 0: the default */
	const char *prog;		/* prefix of messages; NULL: "analyze" */
	int32_t ranks[PERFETTO_MAX_RANKS];	/* --ranks: only these ranks' processes */
	uint32_t nranks;
};

/*
 * Parses --perfetto-window FROM:TO (each side: seconds after the trace start, or @NS
 * absolute CLOCK_MONOTONIC; either side may be empty).  0, or -1 when malformed.
 */
int perfetto__parse_window(const char *arg, struct perfetto_opts *o);
/* Parses --perfetto-max-mb N (1..1048576).  0, or -1 when malformed. */
int perfetto__parse_max_mb(const char *arg, struct perfetto_opts *o);
/* Parses --ranks LIST (0,7: at most PERFETTO_MAX_RANKS).  0, or -1 when malformed. */
int perfetto__parse_ranks(const char *arg, struct perfetto_opts *o);

/*
 * The export is a view of the analysis (struct an_obs): it is drawn while the pass
 * runs, from the pass's own threads, segments, categories and wakers.
 *
 *   px = perfetto__open(out, &po);		the file, before the pass
 *   o.obs = perfetto__observer(px);
 *   analysis__run(res, &o, prog) ?
 *	perfetto__abort(px) : perfetto__finish(px, res);
 *
 * perfetto__open creates the output beside out_path ("-": stdout) and returns NULL
 * when it cannot (said).  perfetto__finish adds what only the results know (names,
 * verdict, steps, stalls, counters) and puts the file in place: 0, or 1 (said, no
 * file left) when the window holds nothing of the trace, the output grew past
 * --perfetto-max-mb (writing stops there; the pass goes on for the report) or
 * could not be written, 2 when a rank of --ranks is not in the trace.  A truncated
 * trace is exported up to where it could be read, with a warning.  Both free px.
 * With --ranks only the threads of processes whose distributed identity is one of
 * those ranks (a rank's workers inherit it) are drawn, and their trainers' tracks.
 */
struct perfetto;

struct perfetto *perfetto__open(const char *out_path, const struct perfetto_opts *o);
const struct an_obs *perfetto__observer(struct perfetto *px);
int perfetto__finish(struct perfetto *px, const struct an_result *res);
void perfetto__abort(struct perfetto *px);

/*
 * A job of several traces (job: merge.h's result, traces[k] its node k): the chosen
 * ranks (o->ranks; none given: the straggler and the median rank, which are then set)
 * with their workers, each node's events on the job's time line (job.c), in one file.
 * Each chosen node's trace is analysed again, its part of the document drawn during
 * that pass.  0; 1 on failure; 2 when a chosen rank is in none of the traces (said).
 */
int perfetto__export_job(const char *const *traces, size_t n, const char *out_path,
			 struct perfetto_opts *o, const struct an_result *job);

#endif
