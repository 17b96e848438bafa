/* SPDX-License-Identifier: MIT */
/*
 * analyzer/compare/: `analyze --compare BASELINE NEW`, regression checks for CI
 * (docs/compare.md): compare.c reads both sides (traces or --json reports),
 * compare_rules.c decides each rule, compare_out.c writes text, JSON, JUnit, charts.
 */
#ifndef ST_COMPARE_H
#define ST_COMPARE_H

#include <stdbool.h>

struct cmp_opts {
	const char *base, *cur;		/* traces or JSON summaries */
	const char *fail_on;		/* comma-separated rules, or NULL */
	const char *rules_file;
	const char *json, *junit, *chart_dir;
	bool png, quiet;
	bool allow_inconclusive;	/* an inconclusive rule does not fail the build */
};

/*
 * Turns a trace into the JSON summary `analyze --json` writes (the comparison
 * reads both sides as summaries).  Returns a malloc'd NUL-terminated buffer, or
 * NULL with the reason printed (report_json.c).
 */
char *compare__trace_json(const char *trace, const char *prog);

/*
 * Exit status: 0 every rule holds, 1 a rule is broken (or inconclusive, unless
 * allow_inconclusive), 2 usage or unreadable input.
 */
int compare__run(const struct cmp_opts *o, const char *prog);

#endif
