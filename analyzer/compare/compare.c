// SPDX-License-Identifier: MIT
/*
 * `analyze --compare BASELINE NEW`: reads both sides as summaries (a trace is
 * analysed into the same JSON `--json` writes, so a stored baseline and a fresh
 * trace compare the same way), lines up the metrics, tests whether the step times
 * changed beyond run-to-run noise, and checks the rules.
 *
 * Noise: per-step durations are independent samples of each run, so a rank test
 * on them says whether two runs differ.  Mann-Whitney U (two-sided, normal
 * approximation with tie correction) is used: step times are skewed and have
 * outliers (a checkpoint, a GC pause), which a t-test or a bootstrap of the mean
 * would over-weight; the rank test assumes no distribution.  Small samples get
 * U's exact distribution.  Whether a rule's change is real, noise or too few steps
 * to tell is decided in compare_rules.c.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compare_int.h"
#include "outfile.h"

const struct metric metrics[] = {
	{ "step_mean", "steps.mean_ms", "ms", M_NUM, +1, true },
	{ "step_p50", "steps.p50_ms", "ms", M_NUM, +1, true },
	{ "step_p95", "steps.p95_ms", "ms", M_NUM, +1, true },
	{ "step_p99", "steps.p99_ms", "ms", M_NUM, +1, true },
	{ "throughput", "steps.steps_per_s", "steps/s", M_NUM, -1, true },
	{ "steps", "steps.count", "", M_NUM, 0, false },
	{ "compute", "breakdown.compute", "", M_NUM, 0, false },
	{ "dataloader_wait", "breakdown.dataloader_wait", "", M_NUM, +1, false },
	{ "io_wait", "breakdown.io_wait", "", M_NUM, +1, false },
	{ "gpu_wait", "breakdown.gpu_wait", "", M_NUM, +1, false },
	{ "cpu_contention", "breakdown.cpu_contention", "", M_NUM, +1, false },
	{ "lock_wait", "breakdown.lock_wait", "", M_NUM, +1, false },
	{ "other_wait", "breakdown.other_wait", "", M_NUM, +1, false },
	/* the job's: the top-level breakdown is the straggler's, which waits least */
	{ "collective_wait", "job.mean_collective_wait", "", M_NUM, +1, false },
	{ "fetch_fraction", "dataloader.fetch_fraction", "", M_NUM, +1, false },
	{ "prep_fraction", "dataloader.prep_fraction", "", M_NUM, +1, false },
	{ "read_bytes", "dataloader.io.read_bytes", "B", M_NUM, 0, false },
	{ "read_mb_s", "dataloader.io.read_mb_s", "MB/s", M_NUM, 0, false },
	{ "read_p50_ms", "dataloader.io.read_p50_ms", "ms", M_NUM, +1, false },
	{ "read_p99_ms", "dataloader.io.read_p99_ms", "ms", M_NUM, +1, false },
	{ "page_cache_hit", "dataloader.io.page_cache_hit_ratio", "", M_NUM, -1, false },
	{ "syscalls_per_step", "main.syscalls_per_step", "", M_NUM, +1, false },
	{ "switches_per_step", "main.switches_per_step", "", M_NUM, +1, false },
	/* what the trace lacks: dropped by the tracer, or not in the file (a full disk) */
	{ "dropped_events", "trace.lost_events", "", M_NUM, +1, false },
	{ "missing_events", "trace.missing_events", "", M_NUM, +1, false },
	{ "verdict", "verdict.primary", "", M_STR, 0, false },
	{ "straggler", "job.straggler", "", M_STR, 0, false },
};
const size_t nmetrics = sizeof(metrics) / sizeof(metrics[0]);

static char *read_all(const char *path, size_t *len, const char *prog)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: cannot open: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *nb = cap > (256u << 20) ? NULL : realloc(buf, cap = cap * 2 + 65536 + 1);

			if (!nb) {
				fprintf(stderr, "%s: %s: too large for a summary\n", prog, path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 65536, f);

		n += r;
		if (r < 65536)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool is_trace(const char *path)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	unsigned char m[4];
	FILE *f = fopen(path, "rbe");
	bool z = f && fread(m, 1, 4, f) == 4 && !memcmp(m, zstd_magic, 4);

	if (f)
		fclose(f);
	return z;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Loads a side: a trace is analysed first; a summary must be ours and readable. */
static int side_load(struct side *s, const char *path, const char *prog)
{
	const struct jv *d;
	char err[160], *text;
	size_t len = 0;

	s->path = path;
	text = is_trace(path) ? compare__trace_json(path, prog) : read_all(path, &len, prog);
	if (!text)
		return -1;
	/* every rank of a job of thousands: the comparison reads the top level only */
	s->j = jparse_except(text, strlen(text), (const char *const[]){ "trainers", NULL }, err,
			     sizeof(err));
	free(text);
	if (!s->j) {
		fprintf(stderr, "%s: %s: neither a trace nor a JSON summary (%s)\n", prog, path, err);
		return -1;
	}
	if (jnum(s->j, "schema_version", -1) != 1 || !jpath(s->j, "steps")) {
		fprintf(stderr, "%s: %s: not an analyze summary of schema_version 1\n", prog, path);
		return -1;
	}
	d = jpath(s->j, "steps.durations_ms");
	for (size_t i = 0; d && d->t == J_ARR && i < d->n; i++) {
		double *ns = realloc(s->steps, (s->nsteps + 1) * sizeof(*ns));

		if (!ns || d->kids[i].t != J_NUM)
			continue;
		s->steps = ns;
		s->steps[s->nsteps++] = d->kids[i].num;
	}
	if (s->nsteps)
		qsort(s->steps, s->nsteps, sizeof(*s->steps), cmp_double);
	return 0;
}

static void side_free(struct side *s)
{
	jfree(s->j);
	free(s->steps);
}

#define EXACT_MAX	60	/* both samples together: U's exact distribution is cheap */

/*
 * Two-sided p of U = u for samples of m and n without ties: the counts of U are the
 * coefficients of the Gaussian binomial [m+n choose m](q), built as the product of
 * (1 - q^(n+i)) / (1 - q^i), i = 1..m.
 */
static double exact_p(size_t m, size_t n, double u)
{
	size_t top = m * n, k;
	double *c = calloc(top + 1, sizeof(*c)), lo = 0, all = 0;

	if (!c)
		return NAN;
	c[0] = 1;
	for (size_t i = 1; i <= m; i++) {
		for (k = top; k >= n + i; k--)
			c[k] -= c[k - n - i];
		for (k = i; k <= top; k++)
			c[k] += c[k - i];
	}
	for (k = 0; k <= top; k++) {
		all += c[k];
		if ((double)k <= u)
			lo += c[k];
	}
	/* U is symmetric about mn/2: the tail on u's side, doubled */
	if (u > (double)top / 2) {
		lo = 0;
		for (k = 0; k <= top; k++)
			if ((double)k >= u)
				lo += c[k];
	}
	free(c);
	return all > 0 && 2 * lo / all < 1 ? 2 * lo / all : 1;
}

static double median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median absolute deviation of a sorted sample. */
static double mad(const double *v, size_t n)
{
	double m = median(v, n), *d = malloc(n * sizeof(*d)), r;

	if (!d)
		return 0;
	for (size_t i = 0; i < n; i++)
		d[i] = fabs(v[i] - m);
	qsort(d, n, sizeof(*d), cmp_double);
	r = median(d, n);
	free(d);
	return r;
}

/* The step-time spread both sides share, robust to the odd slow step. */
static double spread(const double *a, size_t na, const double *b, size_t nb)
{
	double ma = mad(a, na), mb = mad(b, nb);

	return 1.4826 * sqrt((ma * ma + mb * mb) / 2);
}

/* Mann-Whitney U of a (baseline) against b (new), both sorted. */
static struct mwu mann_whitney(const double *a, size_t na, const double *b, size_t nb)
{
	struct mwu r = { .p = 1 };
	double n = (double)(na + nb), r1 = 0, ties = 0, mean, sd;
	size_t i = 0, j = 0, rank = 0;
	bool tied = false;

	if (na < MIN_TEST || nb < MIN_TEST)
		return r;
	r.sigma = spread(a, na, b, nb);
	/* merge the sorted samples; equal values share their mean rank */
	while (i < na || j < nb) {
		double v = i < na && (j >= nb || a[i] <= b[j]) ? a[i] : b[j];
		size_t ca = 0, cb = 0;

		while (i < na && a[i] == v)
			i++, ca++;
		while (j < nb && b[j] == v)
			j++, cb++;
		r1 += (double)ca * ((double)rank + (double)(ca + cb + 1) / 2.0);
		ties += pow((double)(ca + cb), 3) - (double)(ca + cb);
		tied |= ca + cb > 1;
		rank += ca + cb;
	}
	r.u = r1 - (double)na * ((double)na + 1) / 2;
	mean = (double)na * (double)nb / 2;
	sd = sqrt((double)na * (double)nb / 12.0 * ((n + 1) - ties / (n * (n - 1))));
	r.ok = true;
	if (sd <= 0)
		return r;
	r.z = (fabs(r.u - mean) - 0.5) / sd;
	if (r.z < 0)
		r.z = 0;
	r.p = erfc(r.z / sqrt(2.0));
	/* small samples: the normal approximation is rough, the exact law is cheap */
	if (!tied && na + nb <= EXACT_MAX) {
		double p = exact_p(na, nb, r.u);

		if (!isnan(p)) {
			r.p = p;
			r.exact = true;
		}
	}
	return r;
}

/* A metric's value; summaries from before a key existed have the key it replaced. */
static const struct jv *metric_jv(const struct jv *j, const struct metric *m)
{
	const struct jv *v = jpath(j, m->path);

	if (!v && !strcmp(m->path, "trace.lost_events"))
		v = jpath(j, "trace.dropped_events");
	return v;
}

static void fill_rows(struct cmp *c)
{
	c->mwu = mann_whitney(c->b.steps, c->b.nsteps, c->n.steps, c->n.nsteps);
	for (size_t i = 0; i < nmetrics; i++) {
		struct row *r = &c->rows[i];
		const struct jv *b = metric_jv(c->b.j, &metrics[i]), *n = metric_jv(c->n.j, &metrics[i]);

		r->m = &metrics[i];
		r->noise = metrics[i].steps && c->mwu.ok ? c->mwu.p < NOISE_P : -1;
		if (metrics[i].kind == M_STR) {
			r->sb = b && b->t == J_STR ? b->str : NULL;
			r->sn = n && n->t == J_STR ? n->str : NULL;
			r->have_b = r->sb;
			r->have_n = r->sn;
			continue;
		}
		r->have_b = b && b->t == J_NUM;
		r->have_n = n && n->t == J_NUM;
		r->b = r->have_b ? b->num : NAN;
		r->n = r->have_n ? n->num : NAN;
		r->abs = r->n - r->b;
		r->rel = r->b != 0 ? r->abs / fabs(r->b) : NAN;
	}
}

static void warn(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	if (c->nwarn >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(c->warn[c->nwarn++], sizeof(c->warn[0]), fmt, ap);
	va_end(ap);
}

/* The noise guard: what makes the rules less trustworthy, said on top. */
static void noise_guard(struct cmp *c)
{
	const struct side *s[2] = { &c->b, &c->n };

	for (int i = 0; i < 2; i++) {
		double drops = jnum(s[i]->j, "trace.dropped_events", 0);

		if (s[i]->nsteps < MIN_TEST)
			warn(c, "%s: only %zu step samples: no noise test (it needs %d a side); "
			     "step-time changes are inconclusive", s[i]->path, s[i]->nsteps, MIN_TEST);
		else if (s[i]->nsteps < MIN_STEPS)
			warn(c, "%s: only %zu step samples: the noise test is weak below %d a side; "
			     "small changes read as inconclusive", s[i]->path, s[i]->nsteps,
			     MIN_STEPS);
		if (drops > 0)
			warn(c, "%s: %.0f dropped events: its breakdown may be off", s[i]->path, drops);
		if (!jnum(s[i]->j, "trace.complete", 1))
			warn(c, "%s: the trace is incomplete: %s", s[i]->path,
			     jstr(s[i]->j, "trace.incomplete_reason") ?: "no trailer");
	}
}

static int load_rules(struct cmp *c, const struct cmp_opts *o, const char *prog)
{
	if (o->rules_file && rules__parse_file(c, o->rules_file, prog))
		return -1;
	if (o->fail_on && rules__parse_list(c, o->fail_on, prog))
		return -1;
	if (!o->rules_file && !o->fail_on)
		return rules__defaults(c, prog);
	return 0;
}

static int outputs(const struct cmp *c, const struct cmp_opts *o, const char *prog)
{
	const char *gh = getenv("GITHUB_ACTIONS");
	int err;

	if (!o->quiet)
		out__table(stdout, c);
	if (gh && !strcmp(gh, "true"))
		out__github(stdout, c);
	if (o->json && (err = out__json(o->json, c)) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->json, outfile__error(err));
		return -1;
	}
	if (o->junit && (err = out__junit(o->junit, c)) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->junit, outfile__error(err));
		return -1;
	}
	if (o->chart_dir)
		out__chart(o->chart_dir, c, o->png, prog);
	return 0;
}

int compare__run(const struct cmp_opts *o, const char *prog)
{
	struct cmp c = { 0 };
	int status = 2;

	c.rows = calloc(nmetrics, sizeof(*c.rows));
	c.allow_inconclusive = o->allow_inconclusive;
	if (!c.rows || load_rules(&c, o, prog))
		goto out;
	if (side_load(&c.b, o->base, prog) || side_load(&c.n, o->cur, prog))
		goto out;
	if (!jnum(c.b.j, "steps.count", 0) || !jnum(c.n.j, "steps.count", 0)) {
		fprintf(stderr, "%s: %s: no training steps found: nothing to compare\n", prog,
			!jnum(c.b.j, "steps.count", 0) ? o->base : o->cur);
		goto out;
	}
	fill_rows(&c);
	noise_guard(&c);
	rules__eval(&c);
	if (outputs(&c, o, prog))
		goto out;
	status = 0;
	for (size_t i = 0; i < c.nrules; i++)
		if (c.rules[i].broken || (c.rules[i].inconclusive && !o->allow_inconclusive))
			status = 1;
out:
	side_free(&c.b);
	side_free(&c.n);
	free(c.rows);
	free(c.rules);
	return status;
}

const struct row *cmp_row(const struct cmp *c, const char *metric)
{
	for (size_t i = 0; i < nmetrics; i++)
		if (!strcmp(metrics[i].name, metric))
			return &c->rows[i];
	return NULL;
}
