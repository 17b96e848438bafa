// SPDX-License-Identifier: MIT
/*
 * The --fail-on rules.  A rule states a failure: the build fails when it is true.
 *
 *   rule  := METRIC OP VALUE [!]
 *   OP    := >  >=  <  <=  ==  !=
 *   VALUE := +N% | -N%     relative change of NEW against BASELINE
 *          | +N  | -N      absolute change (NEW - BASELINE), in the metric's unit
 *          | N             NEW's own value
 *          | WORD          (verdict, straggler) NEW's value; `baseline`: BASELINE's;
 *                          '_' stands for a space (straggler==rank_1)
 *
 * A change rule on a step-time metric (step_*, throughput) past its threshold is
 * broken when the step times also differ beyond run-to-run noise (Mann-Whitney U,
 * p < 0.05); when they do not, it holds if the runs had enough steps to see a
 * change of the threshold's size, and is inconclusive otherwise (a failure unless
 * --allow-inconclusive), with the number of steps that would tell.  A trailing `!`
 * drops the noise condition.  Examples: step_p50>+5%,
 * dataloader_wait>+0.05, verdict!=compute, verdict!=baseline, dropped_events>0,
 * straggler!=baseline, collective_wait>+0.05.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare_int.h"

static const struct metric *find_metric(const char *name, size_t len)
{
	for (size_t i = 0; i < nmetrics; i++)
		if (strlen(metrics[i].name) == len && !strncmp(metrics[i].name, name, len))
			return &metrics[i];
	return NULL;
}

static int parse_op(const char **p, enum rop *op)
{
	static const char *const ops[] = { ">=", "<=", "==", "!=", ">", "<" };
	static const enum rop vals[] = { OP_GE, OP_LE, OP_EQ, OP_NE, OP_GT, OP_LT };

	for (int i = 0; i < 6; i++) {
		size_t n = strlen(ops[i]);

		if (!strncmp(*p, ops[i], n)) {
			*op = vals[i];
			*p += n;
			return 0;
		}
	}
	return -1;
}

/* Parses the value, which the caller left in r->s. */
static int parse_value(struct rule *r, const char *v)
{
	char *end;
	size_t n = strlen(v);

	if (r->m->kind == M_STR) {
		if (!n || n >= sizeof(r->s) || (r->op != OP_EQ && r->op != OP_NE))
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) && v[i] != '_')
				return -1;
		r->kind = !strcmp(v, "baseline") ? R_BASELINE : R_STR;
		return 0;
	}
	r->v = strtod(v, &end);
	if (end == v || !isfinite(r->v))
		return -1;
	if (*end == '%' && !end[1] && (v[0] == '+' || v[0] == '-')) {
		r->kind = R_REL;
		r->v /= 100;
		return 0;
	}
	if (*end)
		return -1;
	r->kind = (v[0] == '+' || v[0] == '-') ? R_DELTA : R_VALUE;
	return 0;
}

/* Parses one rule; 0, or -1 with the reason printed. */
static int parse_rule(struct cmp *c, const char *text, const char *prog)
{
	struct rule r = { 0 };
	const char *p;
	size_t n;

	while (isspace((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	if (!n || n >= sizeof(r.text))
		goto bad;
	memcpy(r.text, text, n);
	for (p = r.text; isalnum((unsigned char)*p) || *p == '_'; p++)
		;
	if (!(r.m = find_metric(r.text, (size_t)(p - r.text)))) {
		fprintf(stderr, "%s: rule '%s': unknown metric '%.*s' (see docs/compare.md)\n", prog,
			r.text, (int)(p - r.text), r.text);
		return -1;
	}
	if (parse_op(&p, &r.op))
		goto bad;
	n = strlen(p);
	if (n && p[n - 1] == '!') {
		r.force = true;
		n--;
	}
	if (!n || n >= sizeof(r.s))
		goto bad;
	memcpy(r.s, p, n);
	r.s[n] = '\0';
	if (parse_value(&r, r.s))
		goto bad;
	if (!(c->rules = realloc(c->rules, (c->nrules + 1) * sizeof(r))))
		return -1;
	c->rules[c->nrules++] = r;
	return 0;
bad:
	fprintf(stderr, "%s: bad rule '%s': want METRIC OP VALUE, e.g. step_p50>+5%% or "
		"verdict!=compute (see docs/compare.md)\n", prog, r.text[0] ? r.text : text);
	return -1;
}

int rules__parse_list(struct cmp *c, const char *list, const char *prog)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save))
		err = parse_rule(c, tok, prog);
	free(copy);
	if (!err && !c->nrules) {
		fprintf(stderr, "%s: --fail-on: no rules given\n", prog);
		err = -1;
	}
	return err;
}

int rules__parse_file(struct cmp *c, const char *path, const char *prog)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int err = 0, lineno = 0;

	if (!f) {
		fprintf(stderr, "%s: --rules %s: cannot open: %m\n", prog, path);
		return -1;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *p = line;

		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		err = parse_rule(c, p, prog);
		if (err)
			fprintf(stderr, "%s: in %s, line %d\n", prog, path, lineno);
	}
	fclose(f);
	return err;
}

int rules__defaults(struct cmp *c, const char *prog)
{
	return rules__parse_list(c, "step_p50>+10%,throughput<-10%,verdict!=baseline,dropped_events>0",
				 prog);
}

static bool test(enum rop op, double a, double b)
{
	switch (op) {
	case OP_GT: return a > b;
	case OP_GE: return a >= b;
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	}
	return false;
}

/* Equal, a rule's '_' standing for a space ("straggler==rank_1" for "rank 1"). */
static bool str_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '_' || *a == ' ') && (*b == '_' || *b == ' ')))
			return false;
	return *a == *b;
}

static void eval_str(struct rule *r, const struct row *row)
{
	const char *want = r->kind == R_BASELINE ? row->sb : r->s;
	bool eq = row->sn && want && str_eq(row->sn, want);

	r->broken = row->sn && want && (r->op == OP_EQ ? eq : !eq);
	snprintf(r->why, sizeof(r->why), "%s: %s -> %s", r->m->name, row->sb ? row->sb : "?",
		 row->sn ? row->sn : "?");
}

/*
 * The smallest change the rule cares about, as a shift of the step times in ms: the
 * threshold of a step-time rule (a throughput change is turned into step time).
 */
static double threshold_ms(const struct rule *r, const struct row *row)
{
	double b = row->b;

	if (!strcmp(r->m->name, "throughput")) {
		double t = r->kind == R_REL ? b * (1 + r->v) : b + r->v;

		return b > 0 && t > 0 ? fabs(1000 / t - 1000 / b) : NAN;
	}
	return r->kind == R_REL ? fabs(r->v * b) : fabs(r->v);
}

/*
 * Steps a side a rank test needs to tell a shift of delta from noise of spread
 * sigma (alpha 0.05 two-sided, power 0.8): the normal-theory sample size divided by
 * the test's efficiency relative to the t-test (3/pi), never under MIN_STEPS.
 */
#define MWU_ARE	0.954930	/* 3/pi */

static double steps_needed(double sigma, double delta)
{
	double n;

	if (!(delta > 0))
		return NAN;
	n = ceil(2 * POWER_Z * POWER_Z * sigma * sigma / (delta * delta) / MWU_ARE);
	return n < MIN_STEPS ? MIN_STEPS : n;
}

static void appendf(struct rule *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(struct rule *r, const char *fmt, ...)
{
	size_t n = strlen(r->why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why + n, sizeof(r->why) - n, fmt, ap);
	va_end(ap);
}

/*
 * A step-time change past the rule's threshold: real when the rank test says so
 * (p < NOISE_P); noise when it does not and the runs had the steps to see a change
 * of the threshold's size; otherwise too few steps to tell.
 */
static void noise_gate(const struct cmp *c, struct rule *r, const struct row *row)
{
	size_t have = c->b.nsteps < c->n.nsteps ? c->b.nsteps : c->n.nsteps;

	r->needed = steps_needed(c->mwu.sigma, threshold_ms(r, row));
	if (c->mwu.ok && c->mwu.p < NOISE_P) {
		appendf(r, ", beyond noise (Mann-Whitney p=%.2g)", c->mwu.p);
		return;
	}
	r->broken = false;
	if (c->mwu.ok && !isnan(r->needed) && (double)have >= r->needed) {
		r->gated = true;
		appendf(r, ", within noise (Mann-Whitney p=%.2g)", c->mwu.p);
		return;
	}
	r->inconclusive = true;
	if (c->mwu.ok)
		appendf(r, ", inconclusive (Mann-Whitney p=%.2g on %zu steps a side)", c->mwu.p,
			have);
	else
		appendf(r, ", inconclusive (%zu steps on a side: no noise test)", have);
	if (!isnan(r->needed))
		appendf(r, ": about %.0f steps a side would tell it from noise", r->needed);
	if (c->allow_inconclusive)
		appendf(r, "; allowed by --allow-inconclusive");
}

static void eval_rule(const struct cmp *c, struct rule *r)
{
	const struct row *row = cmp_row(c, r->m->name);
	double x;

	if (r->m->kind == M_STR)
		return eval_str(r, row);
	snprintf(r->why, sizeof(r->why), "%s: %g -> %g %s", r->m->name, row->b, row->n, r->m->unit);
	if (!row->have_n || (r->kind != R_VALUE && !row->have_b)) {
		strcat(r->why, " (missing on a side: not checked)");
		return;
	}
	x = r->kind == R_REL ? row->rel : r->kind == R_DELTA ? row->abs : row->n;
	if (isnan(x))
		return;
	r->broken = test(r->op, x, r->v);
	if (r->kind == R_REL)
		appendf(r, " (%+.1f%%)", 100 * x);
	else if (r->kind == R_DELTA)
		appendf(r, " (%+g)", x);
	/* a change of step times must also stand out of the run-to-run noise */
	if (r->broken && r->kind != R_VALUE && r->m->steps && !r->force)
		noise_gate(c, r, row);
}

void rules__eval(struct cmp *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		eval_rule(c, &c->rules[i]);
}
