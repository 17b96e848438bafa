/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size statistics for the streaming analysis: a log-linear latency histogram
 * (about 6% resolution, 1 ns to 18 minutes, 2.4 KiB) and the shared timeline grid
 * whose buckets double in width as the trace gets longer, so every timeline stays
 * at TL_BUCKETS buckets whatever the trace length.
 */
#ifndef ST_AN_STATS_H
#define ST_AN_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SUB_BITS	4
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	(41 * HIST_SUB)

struct hist {
	uint64_t n, sum, max;
	uint32_t c[HIST_BUCKETS];
};

void hist__add(struct hist *h, uint64_t v);
void hist__merge(struct hist *dst, const struct hist *src);
/* Value at quantile q (0..1): the midpoint of the bucket holding it; 0 when empty. */
uint64_t hist__quantile(const struct hist *h, double q);
/* Lower and upper bound of bucket i, for charts. */
uint64_t hist__bucket_lo(unsigned i);
uint64_t hist__bucket_hi(unsigned i);

#define TL_BUCKETS	1024
#define TL_MAX		1024	/* timelines kept at most (threads + processes + I/O) */

/*
 * A timeline: `nser` series of TL_BUCKETS floats (ns spent, or bytes), bucket-major
 * (v[bucket * nser + series]): an event adds to one series of a timeline's current
 * bucket, and series TL_BUCKETS floats apart all fell in one L1 cache set (4 KiB
 * apart), 8 of a thread's categories and the other timelines' evicting each other.
 * All timelines share one grid (origin, width) so they line up in charts.
 */
struct timeline {
	float *v;
	unsigned nser;
};

/* Series s of t at bucket i (0 in a timeline that keeps nothing). */
static inline float tl__get(const struct timeline *t, unsigned s, unsigned i)
{
	return t->v ? t->v[(size_t)i * t->nser + s] : 0;
}

struct tl_grid {
	uint64_t origin, width;	/* width is a power of two: 1 << shift */
	unsigned shift;
	struct timeline *all[TL_MAX];
	unsigned n;
};

/* Buckets start at the power of two nearest above `width` ns. */
void tl_grid__init(struct tl_grid *g, uint64_t origin, uint64_t width);
/*
 * A new timeline of nser series on the grid, or NULL when TL_MAX are in use (no chart).
 * nser 0: one that keeps nothing (no chart will read it), for the same grid: it takes
 * its place among the TL_MAX and what is added to it grows the grid as it would.
 */
struct timeline *tl_grid__new(struct tl_grid *g, unsigned nser);
void tl_grid__free(struct tl_grid *g);
/* Doubles the bucket width until `at` fits. */
void tl_grid__grow(struct tl_grid *g, uint64_t at);
/* tl__spread() where [a, b) is not in one bucket of the grid as it is: the general case. */
void tl__spread_buckets(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t a,
			uint64_t b, double per_ns);
/* tl__add_at() where `at` is past the grid: it grows first. */
void tl__add_at_grow(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t at, double v);

/*
 * Spreads [a, b) over the buckets of series s, weight per_ns.  Inline, as the one-bucket
 * case (most spans: a segment, a syscall): the analysis adds a span or two per event,
 * and a call's register saves and checks were most of what that costs.
 */
static inline void tl__spread(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t a,
			      uint64_t b, double per_ns)
{
	uint64_t i;

	if (!t || b <= a || b <= g->origin)
		return;
	if (!t->v) {
		if ((b - 1 - g->origin) >> g->shift >= TL_BUCKETS)
			tl_grid__grow(g, b - 1);
		return;
	}
	if (a >= g->origin && (i = (a - g->origin) >> g->shift) == (b - 1 - g->origin) >> g->shift &&
	    i < TL_BUCKETS)
		t->v[i * t->nser + s] += (float)((double)(b - a) * per_ns);
	else
		tl__spread_buckets(g, t, s, a, b, per_ns);
}

/* Spreads [a, b) over the buckets of series s, as ns. */
static inline void tl__add_span(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t a,
				uint64_t b)
{
	tl__spread(g, t, s, a, b, 1.0);
}

/* Spreads `total` evenly over [a, b) of series s. */
static inline void tl__add_spread(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t a,
				  uint64_t b, double total)
{
	if (b > a)
		tl__spread(g, t, s, a, b, total / (double)(b - a));
}

/* The sum of series s over [a, b), edge buckets pro rata. */
double tl__sum(const struct tl_grid *g, const struct timeline *t, unsigned s, uint64_t a,
	       uint64_t b);

/* Adds an amount at one instant (bytes read). */
static inline void tl__add_at(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t at,
			      double v)
{
	if (!t || at < g->origin)
		return;
	if ((at - g->origin) >> g->shift >= TL_BUCKETS)
		tl__add_at_grow(g, t, s, at, v);
	else if (t->v)
		t->v[((at - g->origin) >> g->shift) * t->nser + s] += (float)v;
}

#endif
