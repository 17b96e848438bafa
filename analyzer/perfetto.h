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

struct perfetto_opts {
	struct an_time from, to;	/* --perfetto-window; kind 0: the trace's own edge */
	uint64_t max_mb;		/* stop writing past this size; 0: the default */
	const char *prog;		/* prefix of messages; NULL: "analyze" */
};

/*
 * Parses --perfetto-window FROM:TO (each side: seconds after the trace start, or @NS
 * absolute CLOCK_MONOTONIC; either side may be empty).  0, or -1 when malformed.
 */
int perfetto__parse_window(const char *arg, struct perfetto_opts *o);
/* Parses --perfetto-max-mb N (1..1048576).  0, or -1 when malformed. */
int perfetto__parse_max_mb(const char *arg, struct perfetto_opts *o);

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
 * could not be written.  A truncated trace is exported up to where it could be
 * read, with a warning.  Both free px.
 */
struct perfetto;

struct perfetto *perfetto__open(const char *out_path, const struct perfetto_opts *o);
const struct an_obs *perfetto__observer(struct perfetto *px);
int perfetto__finish(struct perfetto *px, const struct an_result *res);
void perfetto__abort(struct perfetto *px);

#endif
