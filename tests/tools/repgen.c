// SPDX-License-Identifier: MIT
/*
 * repgen: synthetic per-node `analyze --json` reports of one data-parallel job, for
 * the merge benchmark (`make bench`) and tests: what `analyze --merge` reads at scale.
 * Each report is made by the analyzer's own model and writer (an an_result filled as
 * analysis__run would, then the cross-rank passes and report__json), so it is a real
 * report of the schema, not a look-alike.
 *
 *   repgen [-f] [--ranks N] [--per-node K] [--steps S] [--straggler R] [--skew-ms E] DIR
 *
 * N ranks (default 4096), K per node (1): DIR/node-NNNNN.json for each node.  Every
 * 100 ms step each rank computes, then waits in an all-reduce that ends on every rank
 * at the same instant (+- 30 us); rank R (default N/2) computes 90 ms, the others
 * 30-40 ms.  Node k's clock reads k x 1.234567 s more than node 0's, and its clock
 * pair is off by up to E ms (default 2): the merge must align them.  Deterministic.
 * Exit status: 0, 1 on a write error, 2 on usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis.h"
#include "outfile.h"

#define STEP_NS		100000000ull	/* 100 ms */
#define END_NS		95000000ull	/* the all-reduce ends 95 ms into each step */
#define T0		1000000000000ull	/* node 0's clock at the first step: 1000 s */
#define RT0		1700000000000000000ll

struct gen {
	uint32_t ranks, per_node, steps, straggler;
	double skew_ms;
	uint64_t seed;
};

static uint32_t rnd(struct gen *g)
{
	g->seed = g->seed * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(g->seed >> 33);
}

/* The node's clock: D ns more than node 0's. */
static uint64_t boot_gap(uint32_t node)
{
	return (uint64_t)node * 1234567000ull;
}

static void breakdown(struct an_trainer *tr, uint64_t compute, uint64_t coll, uint64_t dl)
{
	uint64_t n = tr->steps.count;

	tr->bd.ns[CAT_COMPUTE] = compute * n;
	tr->bd.ns[CAT_COLL] = coll * n;
	tr->bd.ns[CAT_DL] = dl * n;
	tr->bd.total = (compute + coll + dl) * n;
	for (int c = 0; c < NCAT; c++)
		tr->bd.frac[c] = (double)tr->bd.ns[c] / (double)tr->bd.total;
}

static void steps(struct an_trainer *tr, uint64_t t0, uint32_t n)
{
	tr->steps.count = n;
	tr->steps.method = "markers";
	tr->steps.mean_ms = tr->steps.p50_ms = tr->steps.p95_ms = tr->steps.p99_ms =
		tr->steps.min_ms = tr->steps.max_ms = (double)STEP_NS / 1e6;
	tr->steps.regular = true;
	tr->steps.per_s = 1e9 / (double)STEP_NS;
	tr->steps.dur_ms = malloc(sizeof(float) * n);
	tr->steps.start_ns = malloc(sizeof(uint64_t) * n);
	for (uint32_t i = 0; tr->steps.dur_ms && tr->steps.start_ns && i < n; i++) {
		tr->steps.dur_ms[i] = (float)((double)STEP_NS / 1e6);
		tr->steps.start_ns[i] = t0 + i * STEP_NS;
	}
	tr->win_start = tr->startup_start = tr->an_start = t0;
	tr->win_end = t0 + n * STEP_NS;
	tr->win_source = "steps";
}

/* One rank: its steps, waits and breakdown, on its node's clock (t0 = its first step). */
static int rank(struct gen *g, struct an_trainer *tr, uint32_t r, uint64_t t0, const char *host)
{
	uint64_t work = r == g->straggler ? 90000000ull : 30000000ull + rnd(g) % 10000000;
	struct coll *w = malloc(sizeof(*w) * g->steps);

	if (!w)
		return -1;
	tr->pid = tr->main_tid = 1000 + r % 4096;
	memcpy(tr->comm, "python3", 8);
	tr->found_by = "step_markers";
	steps(tr, t0, g->steps);
	for (uint32_t i = 0; i < g->steps; i++) {
		uint64_t s = t0 + i * STEP_NS;

		w[i].start = s + work + rnd(g) % 200000;
		w[i].wake = s + END_NS + rnd(g) % 30000;
		w[i].peer = 0;
	}
	tr->coll.w = w;
	tr->coll.n = g->steps;
	breakdown(tr, work + 5000000, END_NS - work, STEP_NS - END_NS - 5000000);
	tr->dl.wait_ns = tr->bd.ns[CAT_DL];
	tr->dl.io.hit_ratio = tr->main_io.hit_ratio = -1;
	tr->id = (struct ident){ .rank = (int32_t)r, .local_rank = (int32_t)(r % g->per_node),
				 .world_size = (int32_t)g->ranks,
				 .node_rank = (int32_t)(r / g->per_node), .master_port = 29500,
				 .rank_key = "RANK" };
	snprintf(tr->id.run_id, sizeof(tr->id.run_id), "repgen-job");
	snprintf(tr->id.master_addr, sizeof(tr->id.master_addr), "10.0.0.1");
	tr->host = host;
	tr->ncpus = 8;
	tr->cpus_used = 2.0;
	tr->spare_cpus = 6.0;
	return 0;
}

static void free_node(struct an_result *res)
{
	for (uint32_t i = 0; i < res->ntr; i++)
		free((void *)res->tr[i].coll.w);
	analysis__free(res);
}

/* One node's report, as analyze writes it from the node's trace. */
static int node(struct gen *g, uint32_t k, const char *dir)
{
	struct an_result res = { 0 };
	int64_t err = (int64_t)((double)((int)(rnd(g) % 2001) - 1000) * g->skew_ms * 1000);
	uint64_t t0 = T0 + boot_gap(k);
	char host[32], path[4096], tpath[64];
	int ret = -1;

	snprintf(host, sizeof(host), "node-%05u", k);
	snprintf(tpath, sizeof(tpath), "/tmp/trace-%05u.zst", k);
	snprintf(path, sizeof(path), "%s/node-%05u.json", dir, k);
	if (!(res.tr = calloc(g->per_node, sizeof(*res.tr))))
		return -1;
	res.path = tpath;
	res.hostname = host;
	res.complete = true;
	res.ncpus = 8;
	res.spare_cpus = 6;
	res.start_ts = t0 - 5000000000ull;
	res.end_ts = t0 + (uint64_t)g->steps * STEP_NS + 1000000000ull;
	res.realtime_offset = RT0 - (int64_t)boot_gap(k) + err;
	res.events = (uint64_t)g->steps * 200 * g->per_node;
	res.nprocs = 2 * g->per_node + 1;
	res.nthreads = 8 * g->per_node;
	res.cmdline = "torchrun --nnodes N --nproc_per_node K train.py";
	res.tracer_version = "0.1.0";
	for (uint32_t i = 0; i < g->per_node; i++, res.ntr++)
		if (rank(g, &res.tr[i], k * g->per_node + i, t0, host))
			goto out;
	straggler__find(&res);
	finish__slowest(&res);
	verdict__decide(&res);
	verdict__job(&res);
	if ((ret = report__json(path, &res)))
		fprintf(stderr, "repgen: cannot write '%s': %s\n", path, outfile__error(ret));
out:
	free_node(&res);
	return ret ? -1 : 0;
}

static int usage(const char *why)
{
	fprintf(stderr, "repgen: %s\nusage: repgen [-f] [--ranks N] [--per-node K] [--steps S] "
		"[--straggler R] [--skew-ms E] DIR\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ranks", required_argument, NULL, 'n' }, { "per-node", required_argument, NULL, 'k' },
		{ "steps", required_argument, NULL, 's' }, { "straggler", required_argument, NULL, 'r' },
		{ "skew-ms", required_argument, NULL, 'e' }, { NULL, 0, NULL, 0 },
	};
	struct gen g = { .ranks = 4096, .per_node = 1, .steps = 1000, .straggler = UINT32_MAX,
			 .skew_ms = 2, .seed = 42 };
	int ch;

	while ((ch = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		switch (ch) {
		case 'f': break;	/* reports are always replaced */
		case 'n': g.ranks = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': g.per_node = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': g.steps = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': g.straggler = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'e': g.skew_ms = strtod(optarg, NULL); break;
		default: return usage("unknown option");
		}
	}
	if (optind != argc - 1)
		return usage("one output directory");
	if (!g.ranks || !g.per_node || g.ranks % g.per_node || !g.steps || g.steps > 10000000 ||
	    g.skew_ms < 0 || g.skew_ms > 40)
		return usage("--ranks N, a multiple of --per-node K; --steps 1..10^7; --skew-ms "
			     "0..40 (the collectives must line up within half a step)");
	if (g.straggler == UINT32_MAX)
		g.straggler = g.ranks / 2;
	if (mkdir(argv[optind], 0755) && errno != EEXIST) {
		fprintf(stderr, "repgen: cannot create '%s': %s\n", argv[optind], strerror(errno));
		return 1;
	}
	for (uint32_t k = 0; k < g.ranks / g.per_node; k++)
		if (node(&g, k, argv[optind]))
			return 1;
	return 0;
}
