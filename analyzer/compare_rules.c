// SPDX-License-Identifier: MIT
/*
 * The --fail-on rules.  A rule states a failure: the build fails when it is true.
 *
 *   rule  := METRIC OP VALUE [!]
 *   OP    := >  >=  <  <=  ==  !=
 *   VALUE := +N% | -N%     relative change of NEW against BASELINE
 *          | +N  | -N      absolute change (NEW - BASELINE), in the metric's unit
 *          | N             NEW's own value
 *          | WORD          (verdict) NEW's verdict; `baseline`: BASELINE's verdict
 *
 * A change rule on a step-time metric (step_*, throughput) is broken only when
 * the step times also differ beyond run-to-run noise (Mann-Whitney U, p < 0.01);
 * a trailing `!` drops that condition.  Examples: step_p50>+5%,
 * dataloader_wait>+0.05, verdict!=compute, verdict!=baseline, dropped_events>0.
 */
#include <ctype.h>
#include <math.h>
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

static void eval_str(struct rule *r, const struct row *row)
{
	const char *want = r->kind == R_BASELINE ? row->sb : r->s;
	bool eq = row->sn && want && !strcmp(row->sn, want);

	r->broken = row->sn && want && (r->op == OP_EQ ? eq : !eq);
	snprintf(r->why, sizeof(r->why), "%s: %s -> %s", r->m->name, row->sb ? row->sb : "?",
		 row->sn ? row->sn : "?");
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
		snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why), " (%+.1f%%)",
			 100 * x);
	else if (r->kind == R_DELTA)
		snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why), " (%+g)", x);
	/* a change of step times inside the run-to-run noise is no regression */
	if (r->broken && r->kind != R_VALUE && r->m->steps && !r->force && c->mwu.ok &&
	    c->mwu.p >= NOISE_P) {
		r->broken = false;
		r->gated = true;
		snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why),
			 ", within noise (Mann-Whitney p=%.2g)", c->mwu.p);
	}
}

void rules__eval(struct cmp *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		eval_rule(c, &c->rules[i]);
}
