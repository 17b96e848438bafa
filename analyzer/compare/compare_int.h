/* SPDX-License-Identifier: MIT */
/* Internals shared by compare.c, compare_rules.c and compare_out.c. */
#ifndef ST_COMPARE_INT_H
#define ST_COMPARE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compare.h"
#include "jparse.h"

#define MIN_STEPS	20	/* fewer per side: warned about (the test is exact, but weak) */
#define MIN_TEST	3	/* fewer per side: no noise test at all */
#define NOISE_P		0.05	/* Mann-Whitney U two-sided p below this: a real change */
#define POWER_Z		(1.959964 + 0.841621)	/* alpha 0.05 two-sided, power 0.8 */

/* A summary: the JSON of one run, and its step durations for the statistics. */
struct side {
	const char *path;
	struct jv *j;
	double *steps;		/* ms, sorted */
	size_t nsteps;
};

enum mkind { M_NUM, M_STR };

struct metric {
	const char *name;
	const char *path;	/* in the summary */
	const char *unit;
	enum mkind kind;
	int worse;		/* +1: higher is worse, -1: lower is worse, 0: neither */
	bool steps;		/* a step-time statistic: the step samples tell noise */
};

extern const struct metric metrics[];
extern const size_t nmetrics;

struct mwu {
	double u, z, p;		/* p two-sided; 1 when not computable */
	bool ok;		/* both sides had enough steps */
	bool exact;		/* p from the exact distribution of U (small samples) */
	double sigma;		/* robust step-time spread (ms): 1.4826 x pooled MAD */
};

/* One metric on both sides. */
struct row {
	const struct metric *m;
	bool have_b, have_n;
	double b, n, abs, rel;	/* rel: NAN when the baseline is 0 */
	const char *sb, *sn;	/* M_STR */
	int noise;		/* 1 beyond noise, 0 within, -1 not testable */
	bool inconclusive;	/* a step-time rule on it could not tell (rules__eval) */
};

enum rkind { R_REL, R_DELTA, R_VALUE, R_STR, R_BASELINE };
enum rop { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE };

struct rule {
	char text[128];
	const struct metric *m;
	enum rop op;
	enum rkind kind;
	double v;
	char s[64];
	bool force;		/* '!': ignore the noise test */
	/* evaluation */
	bool broken, gated;	/* gated: the change held but was within noise */
	bool inconclusive;	/* the change held, too few steps to tell it from noise */
	double needed;		/* steps a side that would tell a change of the threshold */
	char why[320];
};

struct cmp {
	struct side b, n;
	struct row *rows;
	struct mwu mwu;
	struct rule *rules;
	size_t nrules;
	char warn[8][200];
	int nwarn;
	bool allow_inconclusive;
};

/* compare_rules.c */
int rules__parse_list(struct cmp *c, const char *list, const char *prog);
int rules__parse_file(struct cmp *c, const char *path, const char *prog);
int rules__defaults(struct cmp *c, const char *prog);
void rules__eval(struct cmp *c);
const struct row *cmp_row(const struct cmp *c, const char *metric);

/* compare_out.c */
void out__table(FILE *f, const struct cmp *c);
int out__json(const char *path, const struct cmp *c);
int out__junit(const char *path, const struct cmp *c);
void out__github(FILE *f, const struct cmp *c);
int out__chart(const char *dir, const struct cmp *c, bool png, const char *prog);

#endif
