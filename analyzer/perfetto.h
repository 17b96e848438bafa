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
	uint64_t max_mb;		/* refuse an export estimated larger; 0: the default */
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

/*
 * Writes the export of trace_path to out_path ("-": stdout).  res (may be NULL) adds
 * the analysis: step and stall tracks, worker and main-thread names.  Reads the trace
 * twice: once to estimate the output size (refused above the limit, with a one-line
 * message suggesting a window), once to write.  0 on success (a truncated trace is
 * exported up to its end, with a warning), 1 on failure (message printed, no file
 * left behind), 2 when a rank of --ranks is not in the trace.
 */
int perfetto__export(const char *trace_path, const char *out_path, const struct perfetto_opts *o,
		     const struct an_result *res);
/* Parses --ranks LIST (0,7: at most PERFETTO_MAX_RANKS).  0, or -1 when malformed. */
int perfetto__parse_ranks(const char *arg, struct perfetto_opts *o);
/*
 * A job of several traces (job: merge.h's result, traces[k] its node k): the chosen
 * ranks (o->ranks; none given: the straggler and the median rank, which are then set)
 * with their workers, each node's events on the job's time line (job.c), in one file.
 * 0; 1 on failure; 2 when a chosen rank is in none of the traces (said).
 */
int perfetto__export_job(const char *const *traces, size_t n, const char *out_path,
			 struct perfetto_opts *o, const struct an_result *job);

#endif
