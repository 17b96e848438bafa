// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "an_stats.h"

/* Values under 2*HIST_SUB get exact buckets; above, HIST_SUB buckets per power of two. */
static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

uint64_t hist__bucket_lo(unsigned i)
{
	unsigned e;

	if (i < 2 * HIST_SUB)
		return i;
	e = i / HIST_SUB + HIST_SUB_BITS - 1;
	return (1ull << e) + ((uint64_t)(i % HIST_SUB) << (e - HIST_SUB_BITS));
}

uint64_t hist__bucket_hi(unsigned i)
{
	return i + 1 < HIST_BUCKETS ? hist__bucket_lo(i + 1) : UINT64_MAX;
}

void hist__add(struct hist *h, uint64_t v)
{
	unsigned i = hist_index(v);

	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	h->c[i]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void hist__merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->c[i] += src->c[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist__quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->n)
		return 0;
	rank = (uint64_t)(q * (double)(h->n - 1)) + 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->c[i];
		if (seen >= rank) {
			uint64_t lo = hist__bucket_lo(i), hi = hist__bucket_hi(i);
			uint64_t mid = i < 2 * HIST_SUB ? lo : lo + (hi - lo) / 2;

			return mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}

void tl_grid__init(struct tl_grid *g, uint64_t origin, uint64_t width)
{
	memset(g, 0, sizeof(*g));
	g->origin = origin;
	while ((1ull << g->shift) < width)
		g->shift++;
	g->width = 1ull << g->shift;
}

struct timeline *tl_grid__new(struct tl_grid *g, unsigned nser)
{
	struct timeline *t;

	if (g->n == TL_MAX)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (nser && !(t->v = calloc((size_t)nser * TL_BUCKETS, sizeof(float)))) {
		free(t);
		return NULL;
	}
	t->nser = nser;
	g->all[g->n++] = t;
	return t;
}

void tl_grid__free(struct tl_grid *g)
{
	for (unsigned i = 0; i < g->n; i++) {
		free(g->all[i]->v);
		free(g->all[i]);
	}
	g->n = 0;
}

/* Merges bucket pairs of every timeline as it goes. */
void tl_grid__grow(struct tl_grid *g, uint64_t at)
{
	while ((at - g->origin) >> g->shift >= TL_BUCKETS) {
		for (unsigned k = 0; k < g->n; k++) {
			struct timeline *t = g->all[k];
			size_t n = t->nser;

			if (!t->v)
				continue;

			/* bucket i is written after buckets 2i and 2i + 1 were read */
			for (size_t i = 0; i < TL_BUCKETS / 2; i++)
				for (size_t s = 0; s < n; s++)
					t->v[i * n + s] = t->v[2 * i * n + s] + t->v[(2 * i + 1) * n + s];
			memset(t->v + TL_BUCKETS / 2 * n, 0, sizeof(float) * TL_BUCKETS / 2 * n);
		}
		g->shift++;
		g->width *= 2;
	}
}

void tl__spread_buckets(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t a,
			uint64_t b, double per_ns)
{
	float *v;

	if (!t || b <= a || b <= g->origin)
		return;
	if (a < g->origin)
		a = g->origin;
	if ((b - 1 - g->origin) >> g->shift >= TL_BUCKETS)
		tl_grid__grow(g, b - 1);
	if (!t->v)
		return;
	v = t->v + s;
	/* bucket by bucket, as offsets: a bucket end near 2^64 must not wrap */
	while (a < b) {
		uint64_t off = a - g->origin;
		uint64_t room = g->width - (off & (g->width - 1));
		uint64_t end = b - a > room ? a + room : b;

		v[(off >> g->shift) * t->nser] += (float)((double)(end - a) * per_ns);
		a = end;
	}
}

void tl__add_at_grow(struct tl_grid *g, struct timeline *t, unsigned s, uint64_t at, double val)
{
	tl_grid__grow(g, at);
	if (t->v)
		t->v[((at - g->origin) >> g->shift) * t->nser + s] += (float)val;
}

double tl__sum(const struct tl_grid *g, const struct timeline *t, unsigned s, uint64_t a,
	       uint64_t b)
{
	const float *v;
	double sum = 0;

	if (!t || !t->v || b <= a)
		return 0;
	if (a < g->origin)
		a = g->origin;
	v = t->v + s;
	/* bucket by bucket, as offsets: a bucket end near 2^64 must not wrap */
	while (a < b) {
		uint64_t off = a - g->origin, i = off >> g->shift;
		uint64_t room = g->width - (off & (g->width - 1));
		uint64_t end = b - a > room ? a + room : b;

		if (i >= TL_BUCKETS)
			break;
		sum += (double)v[i * t->nser] * (double)(end - a) / (double)g->width;
		a = end;
	}
	return sum;
}
