// SPDX-License-Identifier: MIT
/*
 * What --compare writes: the table, its JSON, a JUnit report (one test case per
 * rule), GitHub Actions annotations, and a chart.  Paths and verdict names come
 * from files the user gave us; they are escaped for each format and the chart
 * script holds no string from them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare_int.h"
#include "esc.h"
#include "json.h"
#include "outfile.h"
#include "palette.h"

static void fmt_val(char *buf, size_t n, const struct row *r, bool base)
{
	double v = base ? r->b : r->n;

	if (r->m->kind == M_STR)
		text_esc_buf(buf, n, (base ? r->sb : r->sn) ? (base ? r->sb : r->sn) : "-");
	else if (!(base ? r->have_b : r->have_n))
		snprintf(buf, n, "-");
	else if (!r->m->unit[0] && fabs(v) <= 1 && v != (long long)v)
		snprintf(buf, n, "%.3f", v);
	else
		snprintf(buf, n, "%.4g%s%s", v, r->m->unit[0] ? " " : "", r->m->unit);
}

static const char *noise_word(const struct row *r)
{
	return r->noise < 0 ? "" : r->noise ? "beyond noise" : "within noise";
}

static void cause_shift(FILE *f, const struct cmp *c)
{
	const struct row *v = cmp_row(c, "verdict"), *big = NULL;

	for (size_t i = 0; i < nmetrics; i++) {
		const struct row *r = &c->rows[i];

		if (!strncmp(r->m->path, "breakdown.", 10) && r->have_b && r->have_n &&
		    (!big || fabs(r->abs) > fabs(big->abs)))
			big = r;
	}
	if (v->sb && v->sn && strcmp(v->sb, v->sn)) {
		fputs("cause shift: ", f);
		text_esc(f, v->sb, 64);
		fputs(" -> ", f);
		text_esc(f, v->sn, 64);
	} else {
		fputs("cause: ", f);
		text_esc(f, v->sn ? v->sn : "?", 64);
		fputs(" on both sides", f);
	}
	if (big)
		fprintf(f, "; largest change in the breakdown: %s %+.3f", big->m->name, big->abs);
	fputc('\n', f);
}

static const char *rule_word(const struct rule *r)
{
	return r->broken ? "FAIL" : r->inconclusive ? "INCONCLUSIVE" : "ok";
}

/* Whether the build fails on this rule. */
static bool fails(const struct cmp *c, const struct rule *r)
{
	return r->broken || (r->inconclusive && !c->allow_inconclusive);
}

void out__table(FILE *f, const struct cmp *c)
{
	char b[48], n[48], d[32], rel[16];

	/* warnings, values and reasons hold baseline strings: escaped, one line each */
	for (int i = 0; i < c->nwarn; i++) {
		fputs("WARNING: ", f);
		text_esc(f, c->warn[i], sizeof(c->warn[i]));
		fputc('\n', f);
	}
	fprintf(f, "%-18s %16s %16s %12s %9s  %s\n", "metric", "baseline", "new", "change", "rel",
		"noise");
	for (size_t i = 0; i < nmetrics; i++) {
		const struct row *r = &c->rows[i];

		if (!r->have_b && !r->have_n)
			continue;
		fmt_val(b, sizeof(b), r, true);
		fmt_val(n, sizeof(n), r, false);
		d[0] = rel[0] = '\0';
		if (r->m->kind == M_NUM && !isnan(r->abs))
			snprintf(d, sizeof(d), "%+.4g", r->abs);
		if (r->m->kind == M_NUM && !isnan(r->rel))
			snprintf(rel, sizeof(rel), "%+.1f%%", 100 * r->rel);
		fprintf(f, "%-18s %16s %16s %12s %9s  %s\n", r->m->name, b, n, d, rel, noise_word(r));
	}
	if (c->mwu.ok)
		fprintf(f, "step times: Mann-Whitney U=%.0f, z=%.2f, p=%.3g%s (%zu vs %zu steps): %s\n",
			c->mwu.u, c->mwu.z, c->mwu.p, c->mwu.exact ? " exact" : "", c->b.nsteps,
			c->n.nsteps, c->mwu.p < NOISE_P ? "a real change" : "not beyond noise");
	cause_shift(f, c);
	for (size_t i = 0; i < c->nrules; i++) {
		fprintf(f, "%-6s %-28s ", rule_word(&c->rules[i]), c->rules[i].text);
		text_esc(f, c->rules[i].why, sizeof(c->rules[i].why));
		fputc('\n', f);
	}
}

static void j_row(FILE *f, const struct row *r)
{
	fputc('{', f);
	fputs("\"metric\":", f);
	json_str(f, r->m->name);
	if (r->m->kind == M_STR) {
		fputs(",\"baseline\":", f);
		r->sb ? json_str(f, r->sb) : (void)fputs("null", f);
		fputs(",\"new\":", f);
		r->sn ? json_str(f, r->sn) : (void)fputs("null", f);
	} else {
		fputs(",\"baseline\":", f);
		json_num(f, r->b);
		fputs(",\"new\":", f);
		json_num(f, r->n);
		fputs(",\"change\":", f);
		json_num(f, r->abs);
		fputs(",\"relative_change\":", f);
		json_num(f, r->rel);
	}
	fprintf(f, ",\"unit\":\"%s\",\"beyond_noise\":%s}", r->m->unit,
		r->noise < 0 ? "null" : r->noise ? "true" : "false");
}

int out__json(const char *path, const struct cmp *c)
{
	struct outfile o;
	FILE *f = outfile__fopen(&o, path);
	bool first = true;
	int broken = 0, inconclusive = 0;

	if (!f)
		return -errno;
	fputs("{\"schema_version\":1,\"baseline\":", f);
	json_str(f, c->b.path);
	fputs(",\"new\":", f);
	json_str(f, c->n.path);
	fprintf(f, ",\"steps\":{\"baseline\":%zu,\"new\":%zu},\"noise_test\":{\"method\":"
		"\"mann_whitney_u\",\"p\":", c->b.nsteps, c->n.nsteps);
	json_num(f, c->mwu.ok ? c->mwu.p : NAN);
	fprintf(f, ",\"threshold\":%g,\"exact\":%s,\"beyond_noise\":%s,\"step_spread_ms\":",
		NOISE_P, c->mwu.exact ? "true" : "false",
		c->mwu.ok ? (c->mwu.p < NOISE_P ? "true" : "false") : "null");
	json_num(f, c->mwu.ok ? c->mwu.sigma : NAN);
	fputs("},\"metrics\":[", f);
	for (size_t i = 0; i < nmetrics; i++) {
		if (!c->rows[i].have_b && !c->rows[i].have_n)
			continue;
		if (!first)
			fputc(',', f);
		first = false;
		j_row(f, &c->rows[i]);
	}
	fputs("],\"rules\":[", f);
	for (size_t i = 0; i < c->nrules; i++) {
		fprintf(f, "%s{\"rule\":", i ? "," : "");
		json_str(f, c->rules[i].text);
		fprintf(f, ",\"broken\":%s,\"within_noise\":%s,\"inconclusive\":%s,"
			"\"steps_needed\":", c->rules[i].broken ? "true" : "false",
			c->rules[i].gated ? "true" : "false",
			c->rules[i].inconclusive ? "true" : "false");
		json_num(f, c->rules[i].inconclusive ? c->rules[i].needed : NAN);
		fputs(",\"detail\":", f);
		json_str(f, c->rules[i].why);
		fputc('}', f);
		broken += fails(c, &c->rules[i]);
		inconclusive += c->rules[i].inconclusive;
	}
	fputs("],\"warnings\":[", f);
	for (int i = 0; i < c->nwarn; i++) {
		if (i)
			fputc(',', f);
		json_str(f, c->warn[i]);
	}
	fprintf(f, "],\"inconclusive\":%d,\"allow_inconclusive\":%s,\"passed\":%s}\n",
		inconclusive, c->allow_inconclusive ? "true" : "false", broken ? "false" : "true");
	return outfile__fclose(&o, f, true);
}

int out__junit(const char *path, const struct cmp *c)
{
	struct outfile o;
	FILE *f = outfile__fopen(&o, path);
	size_t nfail = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < c->nrules; i++)
		nfail += fails(c, &c->rules[i]);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		"  <testsuite name=\"stalltrace compare\" tests=\"%zu\" failures=\"%zu\">\n",
		c->nrules, nfail);
	for (size_t i = 0; i < c->nrules; i++) {
		fputs("    <testcase classname=\"stalltrace.compare\" name=\"", f);
		xml_esc(f, c->rules[i].text);
		fputs("\">", f);
		if (fails(c, &c->rules[i])) {
			fputs("<failure message=\"", f);
			xml_esc(f, c->rules[i].why);
			fputs("\"/>", f);
		} else if (c->rules[i].inconclusive) {
			fputs("<skipped message=\"", f);
			xml_esc(f, c->rules[i].why);
			fputs("\"/>", f);
		} else {
			fputs("<system-out>", f);
			xml_esc(f, c->rules[i].why);
			fputs("</system-out>", f);
		}
		fputs("</testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return outfile__fclose(&o, f, true);
}

/* ::error annotations; the message is %-encoded as GitHub's workflow commands want. */
void out__github(FILE *f, const struct cmp *c)
{
	for (size_t i = 0; i < c->nrules; i++) {
		if (!c->rules[i].broken && !c->rules[i].inconclusive)
			continue;
		fputs(!fails(c, &c->rules[i]) ? "::warning title=stalltrace inconclusive::" :
		      c->rules[i].broken ? "::error title=stalltrace regression::" :
		      "::error title=stalltrace inconclusive::", f);
		gh_esc(f, c->rules[i].text);
		fputs(": ", f);
		/* the why holds baseline strings: no line break or escape may reach the log */
		gh_esc(f, c->rules[i].why);
		fputc('\n', f);
	}
}

/* Two step-time distributions (CDFs) and the two breakdowns, one SVG.  Text is
 * noenhanced: `dataloader_wait` is a name, not dataloader with a subscript. */
static const char chart_gp[] =
"# stalltrace --compare chart; data in compare_steps_*.dat and compare_breakdown.dat\n"
"# gnuplot compare.gp (SVG) or gnuplot -e \"fmt='png'\" compare.gp\n"
"if (!exists('fmt')) fmt = 'svg'\n"
"if (fmt eq 'png') { set terminal pngcairo size 1100,420 noenhanced; set output 'compare.png' } \\\n"
"else { set terminal svg size 1100,420 dynamic noenhanced font 'sans,11'; set output 'compare.svg' }\n"
"set termoption noenhanced\n"
"set multiplot layout 1,2\n"
"set title 'step time distribution'\n"
"set xlabel 'step time (ms)'; set ylabel 'fraction of steps'; set key bottom right noenhanced\n"
"set grid\n"
"plot 'compare_steps_baseline.dat' using 1:2 with steps lw 2 title 'baseline', \\\n"
"     'compare_steps_new.dat' using 1:2 with steps lw 2 title 'new'\n"
"set title 'where the main thread''s time goes'\n"
"set style data histograms; set style histogram rowstacked; set style fill solid 0.8 border -1\n"
"set boxwidth 0.6; set yrange [0:1]; set ylabel 'fraction of the window'; set xlabel ''\n"
"set key outside right noenhanced\n"
"plot for [i=2:9] 'compare_breakdown.dat' using i:xtic(1) lt (i-1) title columnheader(i)\n"
"unset multiplot\n";

static const char *const compare_files[] = {
	"compare.gp", "compare_steps_baseline.dat", "compare_steps_new.dat",
	"compare_breakdown.dat", "compare.svg", "compare.png", NULL,
};

static void write_cdf(struct outdir *d, const char *name, const struct side *s)
{
	char fn[64];
	FILE *f;

	snprintf(fn, sizeof(fn), "compare_steps_%s.dat", name);
	if (!(f = outdir__create(d, fn)))
		return;
	fputs("# step_ms fraction_of_steps\n", f);
	for (size_t i = 0; i < s->nsteps; i++)
		fprintf(f, "%.4f %.6f\n", s->steps[i], (double)(i + 1) / (double)s->nsteps);
	outdir__close_file(d, f);
}

static void write_breakdown(struct outdir *d, const struct cmp *c)
{
	static const char *const cats[] = { "compute", "dataloader_wait", "io_wait", "gpu_wait",
					     "cpu_contention", "lock_wait", "other_wait",
					     "collective_wait" };
	FILE *f = outdir__create(d, "compare_breakdown.dat");

	if (!f)
		return;
	fputs("side", f);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		fprintf(f, " %s", cats[i]);
	/* the top-level breakdowns (the collective_wait metric is the job's mean) */
	for (int side = 0; side < 2; side++) {
		const struct jv *j = side ? c->n.j : c->b.j;

		fputs(side ? "\nnew" : "\nbaseline", f);
		for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
			char key[64];

			snprintf(key, sizeof(key), "breakdown.%s", cats[i]);
			fprintf(f, " %.6f", jnum(j, key, 0));
		}
	}
	fputc('\n', f);
	outdir__close_file(d, f);
}

/* gnuplot runs in the private directory on the script just written there. */
int out__chart(const char *dir, const struct cmp *c, bool png, const char *prog)
{
	static const char *const svg[] = { "compare.svg", NULL }, *const pngs[] = { "compare.png", NULL };
	struct outdir d;
	FILE *f;
	int st;

	if (outdir__open(&d, dir, prog))
		return -1;
	write_cdf(&d, "baseline", &c->b);
	write_cdf(&d, "new", &c->n);
	write_breakdown(&d, c);
	if ((f = outdir__create(&d, "compare.gp"))) {
		fputs(cat_colours, f);
		fputs(chart_gp, f);
		outdir__close_file(&d, f);
	}
	if (d.err) {
		outdir__abort(&d);
		return -1;
	}
	st = outdir__gnuplot(&d, "compare.gp", "fmt='svg'", svg);
	if (!st && png)
		st = outdir__gnuplot(&d, "compare.gp", "fmt='png'", pngs);
	if (st)
		fprintf(stderr, "%s: gnuplot %s: the chart data and script are in %s\n", prog,
			st == 127 ? "is not installed" : "failed", dir);
	return outdir__commit(&d, compare_files) || st ? -1 : 0;
}
