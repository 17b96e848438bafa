// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the JSON readers: `analyze --compare` on summaries (a
 * baseline from a pull request is as untrusted as a trace) and `analyze --merge` on
 * per-node reports (the streaming reader, the job's clocks and straggler, every
 * output).  The input is up to three parts separated by NUL bytes: the baseline, the
 * new summary (the baseline again when absent) and a --fail-on rule list.  Every
 * output is written: the table, GitHub annotations, the JSON, the JUnit XML, the
 * merged job's text, JSON and charts (no gnuplot).
 *   make fuzz   (tests/fuzz/json is the seed corpus; tests/t_fuzz.sh runs it)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "compare.h"
#include "jparse.h"
#include "merge.h"
#include "outfile.h"
#include "report_html.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static char dir[64], base[96], cur[96], outd[96];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/dev/shm/fuzz_json.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_json.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(base, sizeof(base), "%s/base.json", dir);
	snprintf(cur, sizeof(cur), "%s/new.json", dir);
	snprintf(outd, sizeof(outd), "%s/out", dir);
	outdir_gnuplot = false;
	if (!(devnull = fopen("/dev/null", "w")))
		abort();
	setenv("GITHUB_ACTIONS", "true", 1);
	/* the table and the annotations go to stdout: not the fuzzer's log */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

static int put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t w = f ? fwrite(p, 1, n, f) : 0;

	return f && !fclose(f) && w == n ? 0 : -1;
}

/* The reader's own interface, on the baseline part. */
static void queries(const uint8_t *p, size_t n)
{
	static const char *const paths[] = {
		"schema_version", "steps.durations_ms", "verdict.primary", "trace.complete",
		"trace.incomplete_reason", "breakdown.compute", "a.b.c.d", "",
	};
	char err[160];
	struct jv *j = jparse((const char *)p, n, err, sizeof(err));
	volatile double sink = 0;

	for (size_t i = 0; j && i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *s = jstr(j, paths[i]);

		sink += jnum(j, paths[i], 0) + (s ? (double)strlen(s) : 0);
	}
	jfree(j);
	(void)sink;
}

/* The two parts as the reports of a job's two nodes, and every output of the job. */
static void merge(void)
{
	const char *in[] = { base, cur };
	struct merge_opts o = { in, 2, false, "fuzz" };
	struct an_result *res = calloc(1, sizeof(*res));
	struct outdir d;

	if (!res)
		return;
	if (!merge__run(res, &o)) {
		report__text(devnull, res);
		report__json_stream(devnull, res);
		if (!outdir__open(&d, outd, "fuzz")) {
			if (charts__write(&d, res, false, "fuzz") || report__html(&d, res))
				outdir__abort(&d);
			else
				outdir__commit(&d, chart_files);
		}
	}
	merge__free(res);
	free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *a = data, *b = memchr(data, 0, len), *r = NULL;
	size_t na = b ? (size_t)(b - data) : len, nb = 0, nr = 0;
	struct cmp_opts o = {
		.base = base, .cur = cur, .json = "/dev/null", .junit = "/dev/null",
		.chart_dir = outd,
	};
	char *rules = NULL;

	if (b) {
		b++;
		r = memchr(b, 0, len - (size_t)(b - data));
		nb = r ? (size_t)(r - b) : len - (size_t)(b - data);
		if (r) {
			r++;
			nr = len - (size_t)(r - data);
		}
	}
	/* a part that is a trace would be analysed: fuzz_analyze's job (and a bomb's) */
	if ((na >= 4 && !memcmp(a, "\x28\xb5\x2f\xfd", 4)) ||
	    (b && nb >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)))
		return 0;
	queries(a, na);
	if (put(base, a, na) || put(cur, b ? b : a, b ? nb : na))
		return 0;
	if (r && (rules = strndup((const char *)r, nr)))
		o.fail_on = rules;
	o.allow_inconclusive = len & 1;
	compare__run(&o, "fuzz");
	merge();
	free(rules);
	return 0;
}
