// SPDX-License-Identifier: MIT
/*
 * The clocks of a job's nodes on one time line (docs/analysis.md, "Several nodes").
 *
 * Every trace stamps its events with its own machine's CLOCK_MONOTONIC.  Its header
 * holds one instant read on CLOCK_REALTIME too, so realtime_offset (REALTIME -
 * MONOTONIC) puts a node's times on the reference node's clock: t + ro_node - ro_ref.
 * That is as good as the machines' NTP sync (a fraction of a millisecond on a good
 * LAN, tens of milliseconds on a bad one).  Then the collectives refine it: a
 * collective ends on every rank at about the same moment (the last rank's data
 * arrives), so the ends of the ranks' collective waits line up, collective by
 * collective, once the clocks agree.  The offset that lines up the most ends near
 * the clock pair's is taken; what is left between matched ends is the residual skew.
 *
 * The search looks at offsets within 0.45 of the collectives' period of the clock
 * pair's, so it cannot lock onto the next collective: clocks off by more than that
 * are left at the clock pair's, and the report says the collectives did not line up.
 */
#include <stdlib.h>
#include <string.h>

#include "merge.h"

#define MATCH_NS	250000ll	/* ends this close are one collective's */
#define MATCH_WIDE_NS	1000000ll	/* ... or this close, where too few are that close */
#define RESIDUAL_NS	1000000ll	/* after alignment: ends matched for the residual */
#define WINDOW_MIN	1000000ll	/* offsets searched: at least +-1 ms */
#define WINDOW_MAX	250000000ll	/* and at most +-250 ms */
#define SAMPLE		1024		/* ends of a node tried for the offset */
#define PER_END		8		/* candidate offsets per end */
#define MIN_MATCHED	3

struct ends {
	int64_t *t;
	size_t n;
};

/* The trainers of each node: by[at[k]..at[k + 1]) are node k's (a counting sort). */
struct by_node {
	uint32_t *by, *at;
};

static int by_node(const struct an_result *res, struct by_node *b)
{
	uint32_t *fill;

	b->by = malloc(sizeof(*b->by) * (res->ntr + 1));
	b->at = calloc(res->nnodes + 2, sizeof(*b->at));
	fill = calloc(res->nnodes + 1, sizeof(*fill));
	if (!b->by || !b->at || !fill) {
		free(fill);
		return -1;
	}
	for (uint32_t i = 0; i < res->ntr; i++)
		b->at[res->tr[i].node + 1]++;
	for (uint32_t k = 0; k < res->nnodes; k++)
		b->at[k + 1] += b->at[k];
	for (uint32_t i = 0; i < res->ntr; i++)
		b->by[b->at[res->tr[i].node] + fill[res->tr[i].node]++] = i;
	free(fill);
	return 0;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* The ends of every collective wait of a node's ranks, on its own clock, sorted. */
static int node_ends(const struct an_result *res, const struct by_node *b, uint32_t node,
		     struct ends *e)
{
	size_t n = 0, k = 0;
	bool sorted = true;

	for (uint32_t x = b->at[node]; x < b->at[node + 1]; x++)
		n += res->tr[b->by[x]].coll.n;
	e->n = 0;
	if (!(e->t = malloc(sizeof(*e->t) * (n + 1))))
		return -1;
	for (uint32_t x = b->at[node]; x < b->at[node + 1]; x++) {
		const struct an_trainer *tr = &res->tr[b->by[x]];

		for (uint32_t j = 0; j < tr->coll.n; j++, k++) {
			e->t[k] = (int64_t)tr->coll.w[j].wake;
			sorted &= !k || e->t[k] >= e->t[k - 1];
		}
	}
	if (!sorted)	/* one rank's waits are in time order; several interleave */
		qsort(e->t, k, sizeof(*e->t), cmp_i64);
	e->n = k;
	return 0;
}

/* First index with t[i] >= v. */
static size_t lower(const struct ends *e, int64_t v)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->t[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The collectives' period: the median gap between the reference's distinct ends. */
static int64_t period(const struct ends *r)
{
	int64_t *g = malloc(sizeof(*g) * (r->n + 1)), p;
	size_t n = 0;

	if (!g)
		return WINDOW_MIN;
	for (size_t i = 1; i < r->n; i++)
		if (r->t[i] - r->t[i - 1] > MATCH_NS)
			g[n++] = r->t[i] - r->t[i - 1];
	qsort(g, n, sizeof(*g), cmp_i64);
	p = n ? g[n / 2] : WINDOW_MAX;
	free(g);
	return p;
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/*
 * The offset (added to the node's header-aligned ends) that lines up the most of its
 * ends with the reference's, the smallest when several nearly tie; 0 and false when
 * too few line up.
 */
static bool best_offset(const struct ends *r, int64_t w, const struct ends *k, int64_t shift,
			int64_t match, int64_t *out)
{
	int64_t *d, best = 0;
	size_t step = k->n > SAMPLE ? k->n / SAMPLE : 1, n = 0, tried = 0, top = 0;
	bool found = false;

	if (!(d = malloc(sizeof(*d) * (SAMPLE + 1) * PER_END)))
		return false;
	for (size_t i = 0; i < k->n && tried <= SAMPLE; i += step, tried++) {
		int64_t e = k->t[i] + shift;

		for (size_t j = lower(r, e - w), c = 0; j < r->n && r->t[j] <= e + w && c < PER_END;
		     j++, c++)
			d[n++] = r->t[j] - e;
	}
	qsort(d, n, sizeof(*d), cmp_i64);
	/* every window of 2 x match: its count, and its median as the offset */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0, j = 0; i < n; i++) {
			size_t c;
			int64_t mid;

			while (j < n && d[j] - d[i] <= 2 * match)
				j++;
			c = j - i;
			mid = d[i + c / 2];
			if (!pass && c > top)
				top = c;
			else if (pass && c * 10 >= top * 9 && (!found || abs64(mid) < abs64(best))) {
				best = mid;
				found = true;
			}
		}
	}
	free(d);
	*out = best;
	return top >= MIN_MATCHED && top * 4 >= tried;
}

/* How well the node's ends line up now: the median distance of matched ends. */
static void residual(struct an_node *nd, const struct ends *r, const struct ends *k, int64_t off)
{
	int64_t *d = malloc(sizeof(*d) * (k->n + 1));
	size_t n = 0;

	if (!d)
		return;
	for (size_t i = 0; i < k->n; i++) {
		int64_t e = k->t[i] + off, best = RESIDUAL_NS + 1;
		size_t j = lower(r, e);

		if (j < r->n && abs64(r->t[j] - e) < best)
			best = abs64(r->t[j] - e);
		if (j > 0 && abs64(r->t[j - 1] - e) < best)
			best = abs64(r->t[j - 1] - e);
		if (best <= RESIDUAL_NS)
			d[n++] = best;
	}
	qsort(d, n, sizeof(*d), cmp_i64);
	nd->matched = (uint32_t)n;
	nd->residual = n ? d[n / 2] : -1;
	free(d);
}

/* The node with the lowest rank: its clock is the job's time line. */
static uint32_t reference(const struct an_result *res)
{
	uint32_t ref = 0;
	int32_t low = INT32_MAX;

	for (uint32_t i = 0; i < res->ntr; i++)
		if (res->tr[i].id.rank >= 0 && res->tr[i].id.rank < low) {
			low = res->tr[i].id.rank;
			ref = res->tr[i].node;
		}
	return ref;
}

static void align_node(struct an_result *res, const struct by_node *b, uint32_t k,
		       const struct ends *r, int64_t w)
{
	struct an_node *nd = &res->nodes[k];
	struct ends e;
	int64_t fix;

	nd->offset = nd->header_offset;
	if (node_ends(res, b, k, &e))
		return;
	/*
	 * A collective ends on each rank when its thread runs again: on a busy node (a
	 * straggler's own loader workers on its CPUs) that comes up to a millisecond
	 * apart, and the ends may spread too thin for 0.5 ms windows (t_ddp_nodes at
	 * rest: left at its clock pair once, its ends a median 0.4 ms from rank 0's).
	 * Wider windows where the collectives are far enough apart not to alias.
	 */
	if (r->n >= MIN_MATCHED && e.n >= MIN_MATCHED &&
	    (best_offset(r, w, &e, nd->offset, MATCH_NS, &fix) ||
	     (w >= 4 * MATCH_WIDE_NS && best_offset(r, w, &e, nd->offset, MATCH_WIDE_NS, &fix)))) {
		nd->offset += fix;
		nd->aligned_by = "collectives";
	} else {
		nd->aligned_by = "clock pair";
	}
	residual(nd, r, &e, nd->offset);
	free(e.t);
}

void job__align(struct an_result *res)
{
	uint32_t ref = reference(res), pairs = 0, colls = 0;
	struct ends r = { 0 };
	struct by_node b = { 0 };
	int64_t w;

	res->residual_skew = 0;
	for (uint32_t k = 0; k < res->nnodes; k++) {
		res->nodes[k].header_offset = res->nodes[k].realtime_offset -
					      res->nodes[ref].realtime_offset;
		res->nodes[k].offset = res->nodes[k].header_offset;
	}
	if (by_node(res, &b) || node_ends(res, &b, ref, &r))
		res->residual_skew = -1;	/* out of memory: the clock pairs only */
	/* the offsets searched: within 0.45 of the collectives' period */
	w = period(&r) * 45 / 100;
	w = w < WINDOW_MIN ? WINDOW_MIN : w > WINDOW_MAX ? WINDOW_MAX : w;
	for (uint32_t k = 0; k < res->nnodes; k++) {
		struct an_node *nd = &res->nodes[k];

		if (k == ref) {
			nd->aligned_by = "reference";
			nd->residual = 0;
			continue;
		}
		if (b.by && r.t)
			align_node(res, &b, k, &r, w);
		if (!strcmp(nd->aligned_by, "collectives"))
			colls++;
		else
			pairs++;
		/* the worst node's, unknown when one could not be measured */
		if (res->residual_skew >= 0)
			res->residual_skew = nd->residual < 0 ? -1 :
					     nd->residual > res->residual_skew ? nd->residual :
					     res->residual_skew;
	}
	free(r.t);
	free(b.by);
	free(b.at);
	res->aligned_by = !pairs ? (colls ? "collectives" : "single node") :
			  !colls ? "clock pairs" : "mixed";
}

void job__clock_summary(const struct an_result *res, char *buf, size_t len)
{
	int64_t fix = 0;

	buf[0] = '\0';
	if (res->nnodes < 2)
		return;
	for (uint32_t k = 0; k < res->nnodes; k++) {
		int64_t f = abs64(res->nodes[k].offset - res->nodes[k].header_offset);

		fix = f > fix ? f : fix;
	}
	if (!strcmp(res->aligned_by, "clock pairs"))
		snprintf(buf, len, "clocks of %u nodes aligned by their clock pairs only (the "
			 "collectives did not line up): times across nodes are as good as their NTP "
			 "sync", res->nnodes);
	else if (res->residual_skew >= 0)
		snprintf(buf, len, "clocks of %u nodes aligned by %s (clock pairs corrected by up "
			 "to %.3f ms); residual skew %.3f ms", res->nnodes,
			 !strcmp(res->aligned_by, "mixed") ? "their collectives, some by their clock "
			 "pairs only" : "their collectives", (double)fix / 1e6,
			 (double)res->residual_skew / 1e6);
	else
		snprintf(buf, len, "clocks of %u nodes aligned by %s (clock pairs corrected by up "
			 "to %.3f ms); residual skew unknown (a node has no matched collectives)",
			 res->nnodes, res->aligned_by, (double)fix / 1e6);
}
