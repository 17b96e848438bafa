/* SPDX-License-Identifier: MIT */
/*
 * analyzer/job/: one job from several nodes (merge.c, merge_tr.c for traces, job.c the
 * clocks).
 *
 * One job from several nodes: `analyze --merge r0.json r1.json ...` reads per-node
 * `--json` reports, `analyze n0.zst n1.zst ...` analyses each trace into the same
 * report first.  Either way the ranks of every input become the trainers of one
 * an_result (the same model a single trace gives), their clocks are put on one time
 * line (job.c), and the straggler is found across all of them.  Inputs are read one
 * at a time through a streaming reader (jstream.h): memory grows with the ranks and
 * steps kept, not with the inputs' sizes.  docs/analysis.md, "Several nodes".
 */
#ifndef ST_MERGE_H
#define ST_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis.h"

struct merge_opts {
	const char *const *inputs;	/* reports (a directory: its *.json), or traces */
	size_t n;
	bool traces;			/* the inputs are traces: each is analysed first */
	const char *prog;
};

/*
 * Fills res with the job.  0; 1 when an input cannot be read or memory runs out; 2
 * when an input is not a report, is damaged or truncated, or is not of the same job
 * as the others (one line on stderr names the input and what is wrong).
 */
int merge__run(struct an_result *res, const struct merge_opts *o);
/* Frees what merge__run made (also after a failure). */
void merge__free(struct an_result *res);

/* job.c: puts the nodes' clocks on the reference node's time line (an_node.offset). */
void job__align(struct an_result *res);
/* One line on how the clocks were aligned, for the reports (empty for one input). */
void job__clock_summary(const struct an_result *res, char *buf, size_t len);

#endif
