// SPDX-License-Identifier: MIT
/*
 * analyze: where the main training thread of a traced job loses time, and why.
 *
 *   analyze [options] TRACE        report on stdout (docs/analysis.md)
 *   analyze [options] TRACE...     one job from the traces of its nodes (merge.h)
 *   analyze --merge REPORT...      the same from the nodes' --json reports
 *   analyze --dump TRACE           every event as JSON Lines (docs/trace-format.md)
 *
 * Exit status: 0 report written (also for a truncated or damaged trace: it says
 * so), 1 unreadable input or output, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "compare.h"
#include "dump.h"
#include "merge.h"
#include "outfile.h"
#include "perfetto.h"
#include "report_html.h"

static const char *prog = "analyze";

struct cli {
	struct an_opts o;
	const char *json, *outdir, *perfetto;
	char paths[3][4096];	/* the output paths, %n %t %h expanded */
	struct perfetto_opts po;
	bool png, quiet, dump, compare, merge;
	struct cmp_opts cmp;
	const char *const *inputs;	/* several traces, or --merge's reports */
	size_t ninputs;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: analyze [options] TRACE\n"
		"       analyze [options] TRACE TRACE...   one job from the traces of its nodes\n"
		"       analyze --merge [options] REPORT...  the same from their --json reports\n"
		"       analyze --dump TRACE\n"
		"       analyze --compare BASELINE NEW [--fail-on RULES] [--rules FILE]\n"
		"               [--allow-inconclusive] [--json FILE] [--junit FILE] [-o DIR]\n"
		"Finds where the main training thread of a traced job loses time, and why.\n\n"
		"  --json FILE      also write the results as JSON (docs/json-schema.md); - = stdout\n"
		"                   (in output paths, as in srun's: %%n the Slurm node id, %%t the\n"
		"                   task id, %%h the host name, %%%% a %%)\n"
		"  -o, --out DIR    write gnuplot charts (SVG, data and .gp scripts) and the report\n"
		"                   as one self-contained page, DIR/index.html, into DIR\n"
		"  --png            with -o: PNG charts too\n"
		"  --from T         analyse from T: seconds after the trace start (1.5), or\n"
		"                   absolute CLOCK_MONOTONIC ns (@123456789) [trace start]\n"
		"  --to T           analyse up to T, same forms [trace end]\n"
		"                   (without --from/--to: the steady state, first to last step)\n"
		"  --main-tid TID   the main training thread, instead of finding it\n"
		"  --perfetto FILE  also write the timeline for ui.perfetto.dev or chrome://tracing\n"
		"                   (Chrome JSON, docs/perfetto.md); - = stdout (implies -q)\n"
		"  --perfetto-window FROM:TO  only that part of the trace; each side as --from,\n"
		"                   either may be empty (2:3.5, @123456789:) [the whole trace]\n"
		"  --perfetto-max-mb N  stop the export when it grows past N MB [512]\n"
		"  --ranks LIST     with --perfetto: only these ranks (0,7), their workers and\n"
		"                   threads [several traces: the straggler and the median rank]\n"
		"  --merge          the inputs are per-node --json reports (a directory: the\n"
		"                   *.json in it) of one job: one job report (docs/analysis.md)\n"
		"  -q, --quiet      no text report (with --json, -o or --perfetto)\n"
		"  --dump           print every event of TRACE as JSON Lines\n"
		"  --compare        compare two runs (traces or --json summaries); exit 1 when a\n"
		"                   rule breaks (docs/compare.md)\n"
		"  --fail-on RULES  with --compare: comma-separated rules, e.g. step_p50>+5%%,\n"
		"                   verdict!=compute [step_p50>+10%%,throughput<-10%%,\n"
		"                   verdict!=baseline,dropped_events>0]\n"
		"  --rules FILE     with --compare: rules, one per line (# comments)\n"
		"  --junit FILE     with --compare: a JUnit XML report, one test case per rule\n"
		"  --allow-inconclusive  with --compare: a step-time change that too few steps\n"
		"                   cannot tell from noise does not fail (it fails by default)\n"
		"  -V, --version    print the version\n"
		"  -h, --help       this help\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return 2;
}

static int parse(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' }, { "out", required_argument, NULL, 'o' },
		{ "png", no_argument, NULL, 'p' }, { "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' }, { "main-tid", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' }, { "dump", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
		{ "perfetto", required_argument, NULL, 'P' },
		{ "perfetto-window", required_argument, NULL, 'W' },
		{ "perfetto-max-mb", required_argument, NULL, 'M' },
		{ "compare", no_argument, NULL, 'C' }, { "fail-on", required_argument, NULL, 'F' },
		{ "rules", required_argument, NULL, 'R' }, { "junit", required_argument, NULL, 'J' },
		{ "allow-inconclusive", no_argument, NULL, 'I' },
		{ "merge", no_argument, NULL, 'G' }, { "ranks", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:qhV", lo, NULL)) != -1) {
		switch (ch) {
		case 'j': c->json = optarg; break;
		case 'o': c->outdir = optarg; break;
		case 'p': c->png = true; break;
		case 'q': c->quiet = true; break;
		case 'd': c->dump = true; break;
		case 'P': c->perfetto = optarg; break;
		case 'W':
			if (perfetto__parse_window(optarg, &c->po))
				return usage_error("--perfetto-window: bad window '%s' (FROM:TO, each "
						   "seconds or @ns, FROM before TO)", optarg);
			break;
		case 'M':
			if (perfetto__parse_max_mb(optarg, &c->po))
				return usage_error("--perfetto-max-mb: bad size '%s' (1 to 1048576)",
						   optarg);
			break;
		case 'C': c->compare = true; break;
		case 'G': c->merge = true; break;
		case 'K':
			if (perfetto__parse_ranks(optarg, &c->po))
				return usage_error("--ranks: bad list '%s' (ranks: 0,7)", optarg);
			break;
		case 'F': c->cmp.fail_on = optarg; break;
		case 'R': c->cmp.rules_file = optarg; break;
		case 'J': c->cmp.junit = optarg; break;
		case 'I': c->cmp.allow_inconclusive = true; break;
		case 'f':
			if (!*optarg || an_time__parse(optarg, strlen(optarg), &c->o.from))
				return usage_error("--from: bad time '%s' (seconds, or @ns)", optarg);
			break;
		case 't':
			if (!*optarg || an_time__parse(optarg, strlen(optarg), &c->o.to))
				return usage_error("--to: bad time '%s' (seconds, or @ns)", optarg);
			break;
		case 'm':
			errno = 0;
			c->o.main_tid = (uint32_t)strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || !c->o.main_tid)
				return usage_error("--main-tid: bad thread id '%s'", optarg);
			break;
		case 'V': printf("analyze %s\n", ST_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (c->compare) {
		if (optind != argc - 2)
			return usage_error("%s", "--compare wants BASELINE and NEW");
		c->cmp.base = argv[optind];
		c->cmp.cur = argv[optind + 1];
		c->cmp.json = c->json;
		c->cmp.chart_dir = c->outdir;
		c->cmp.png = c->png;
		c->cmp.quiet = c->quiet;
		return 0;
	}
	if (c->cmp.fail_on || c->cmp.rules_file || c->cmp.junit || c->cmp.allow_inconclusive)
		return usage_error("%s", "--fail-on, --rules, --junit and --allow-inconclusive go "
				   "with --compare");
	if (optind == argc)
		return usage_error("%s", c->merge ? "--merge wants reports" : "no trace given");
	c->o.path = argv[optind];
	c->inputs = (const char *const *)argv + optind;
	c->ninputs = (size_t)(argc - optind);
	if ((c->po.from.kind || c->po.to.kind || c->po.max_mb || c->po.nranks) && !c->perfetto)
		return usage_error("%s", "--perfetto-window, --perfetto-max-mb and --ranks go with "
				   "--perfetto");
	if ((c->merge || c->ninputs > 1) && (c->o.from.kind || c->o.to.kind || c->o.main_tid))
		return usage_error("%s", "--from, --to and --main-tid take one trace (a job's "
				   "nodes each have their own clock)");
	if (c->merge && (c->perfetto || c->dump))
		return usage_error("%s", "--merge reads reports: --perfetto and --dump need the "
				   "traces");
	if (c->dump && c->ninputs > 1)
		return usage_error("%s", "--dump takes one trace");
	if (c->perfetto && !strcmp(c->perfetto, "-"))
		c->quiet = true;
	return 0;
}

/* srun's file name patterns in an output path: %n %t %h %%; -1 when one cannot be told. */
static int expand(const char *in, char *out, size_t cap, const char **missing)
{
	static const char *const vars[] = { "n", "SLURM_NODEID", "t", "SLURM_PROCID" };
	size_t n = 0;
	char host[256], other[3] = "%";

	for (; *in; in++) {
		const char *v = NULL;

		if (*in != '%' || !in[1]) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *in;
			continue;
		}
		in++;
		for (int i = 0; i < 4; i += 2)
			if (*in == vars[i][0] && !(v = getenv(vars[i + 1]))) {
				*missing = vars[i + 1];
				return -1;
			}
		if (*in == 'h') {
			if (gethostname(host, sizeof(host)))
				return -1;
			host[sizeof(host) - 1] = '\0';
			host[strcspn(host, "./")] = '\0';	/* the short name, never a path */
			v = host;
		}
		if (!v && *in != '%') {
			other[1] = *in;		/* not a pattern: kept as it is */
			v = other;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s", v ? v : "%");
		if (n >= cap)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

/* --json, -o and --perfetto with their patterns expanded (Slurm: one file per node). */
static int expand_paths(struct cli *c)
{
	const char **p[3] = { &c->json, &c->outdir, &c->perfetto };

	for (int i = 0; i < 3; i++) {
		const char *missing = NULL;

		if (!*p[i] || !strchr(*p[i], '%'))
			continue;
		if (expand(*p[i], c->paths[i], sizeof(c->paths[i]), &missing)) {
			fprintf(stderr, "%s: '%s': %s%s (see --help)\n", prog, *p[i],
				missing ? missing : "too long once expanded",
				missing ? " is not set for its pattern: run it under srun" : "");
			return 2;
		}
		*p[i] = c->paths[i];
	}
	return 0;
}

static int check_window(const struct cli *c)
{
	const struct an_time *f = &c->o.from, *t = &c->o.to;

	if (f->kind && t->kind && f->kind == t->kind &&
	    (f->kind == 1 ? f->rel_s >= t->rel_s : f->abs_ns >= t->abs_ns))
		return usage_error("%s", "--from must be before --to");
	return 0;
}

/* -o DIR: the charts and the page (also without gnuplot: the page says so). */
static int write_dir(const struct cli *c, const struct an_result *res);

/* Every report of a result: text, JSON, the charts and the page. */
static int outputs(const struct cli *c, const struct an_result *res)
{
	int err;

	if (!c->quiet)
		report__text(stdout, res);
	if (c->json && (err = report__json(c->json, res))) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, c->json, outfile__error(err));
		return 1;
	}
	return c->outdir ? write_dir(c, res) : 0;
}

/* Several traces or --merge: one job from its nodes. */
static int run_job(struct cli *c)
{
	struct merge_opts mo = { c->inputs, c->ninputs, !c->merge, prog };
	struct an_result *res = calloc(1, sizeof(*res));
	int status;

	if (!res) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	status = merge__run(res, &mo);
	if (!status)
		status = outputs(c, res);
	if (!status && c->perfetto) {
		c->po.prog = prog;
		status = perfetto__export_job(c->inputs, c->ninputs, c->perfetto, &c->po, res);
	}
	if (!status && (fflush(stdout) || ferror(stdout)))
		status = 1;
	merge__free(res);
	free(res);
	return status;
}

static int write_dir(const struct cli *c, const struct an_result *res)
{
	struct outdir d;

	if (outdir__open(&d, c->outdir, prog))
		return 1;
	if (charts__write(&d, res, c->png, prog) || report__html(&d, res)) {
		outdir__abort(&d);
		return 1;
	}
	return outdir__commit(&d, chart_files) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	struct perfetto *px = NULL;
	struct an_result *res;
	int status;

	if ((status = parse(&c, argc, argv)) || (status = check_window(&c)) ||
	    (status = expand_paths(&c)))
		return status;
	if (c.dump)
		return st_dump(c.o.path, stdout, prog);
	if (c.compare)
		return compare__run(&c.cmp, prog);
	if (c.merge || c.ninputs > 1)
		return run_job(&c);
	res = calloc(1, sizeof(*res));
	if (!res) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (c.perfetto) {
		c.po.prog = prog;
		if (!(px = perfetto__open(c.perfetto, &c.po))) {
			free(res);
			return 1;
		}
		c.o.obs = perfetto__observer(px);
	}
	/* without -o nothing reads the thread and worker timelines: not kept */
	c.o.no_charts = !c.outdir;
	status = analysis__run(res, &c.o, prog);
	if (!status)
		status = outputs(&c, res);
	/* after the reports: a failed one leaves no timeline behind either */
	if (px && !status)
		status = perfetto__finish(px, res);
	else if (px)
		perfetto__abort(px);
	if (!status && (fflush(stdout) || ferror(stdout)))
		status = 1;
	analysis__free(res);
	free(res);
	return status;
}
