// SPDX-License-Identifier: MIT
/*
 * `-o DIR`: gnuplot charts of the slowest trainer.  Each chart is NAME.dat (the data)
 * and NAME.gp (the script, fixed text but for numbers: users restyle it), rendered to
 * NAME.svg (and NAME.png with --png) when gnuplot is installed.  Names from the trace
 * (threads) only ever appear in .dat files, sanitised and read back with
 * columnheader(); every text is `noenhanced`, so no label is interpreted (an
 * underscore is not a subscript).  Everything is made in outdir's private directory
 * (outfile.h): gnuplot runs only on scripts this run wrote.  Time axes end with the
 * trace; a chart with nothing to draw is left out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "outfile.h"
#include "palette.h"

_Static_assert(NCAT == 8, "the chart scripts plot columns 2..9: one per category");

const char *const chart_names[] = {
	"breakdown", "steps", "timeline", "workers", "io_latency", "io_throughput", "ranks",
	"rank_steps", "straggler", NULL,
};

/* Every file a run may leave in DIR: what an earlier run left and this one did not
 * make is removed. */
const char *const chart_files[] = {
	"breakdown.dat", "breakdown.gp", "breakdown.svg", "breakdown.png",
	"steps.dat", "steps.gp", "steps.svg", "steps.png",
	"timeline.dat", "stalls.dat", "timeline.gp", "timeline.svg", "timeline.png",
	"workers.dat", "workers.gp", "workers.svg", "workers.png",
	"io_latency.dat", "io_latency.gp", "io_latency.svg", "io_latency.png",
	"io_throughput.dat", "io_throughput.gp", "io_throughput.svg", "io_throughput.png",
	"ranks.dat", "ranks.gp", "ranks.svg", "ranks.png",
	"rank_steps.dat", "rank_steps.gp", "rank_steps.svg", "rank_steps.png",
	"straggler.dat", "straggler.gp", "straggler.svg", "straggler.png",
	"index.html", NULL,
};

struct out {
	struct outdir *d;
	const struct an_result *res;
	double width;		/* grid bucket, s */
	unsigned nb;		/* buckets up to the end of the trace */
	double span;		/* the trace, s: where time axes end */
	char who[32];		/* " (rank N)": digits only, safe in a script */
};

/* A label for a data file: one quoted token of safe characters. */
static void label(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; s[i] && i < max; i++)
		fputc(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-",
			     s[i]) ? s[i] : '_', f);
	fputc('"', f);
}

static const char *term_lines(bool png)
{
	return png ? "set terminal pngcairo size 1100,520 noenhanced\n"
		   : "set terminal svg size 1100,520 dynamic noenhanced\n";
}

/* NAME.gp: `body` after a header that sets the terminal from the `fmt` variable. */
static void script(struct out *o, const char *name, bool time_axis, const char *body)
{
	char fn[256];
	FILE *f;

	snprintf(fn, sizeof(fn), "%s.gp", name);
	if (!(f = outdir__create(o->d, fn)))
		return;
	fprintf(f, "# stalltrace chart: gnuplot -e \"fmt='svg'\" %s.gp (or fmt='png')\n"
		"if (!exists(\"fmt\")) fmt = 'svg'\n"
		"if (fmt eq 'png') { %s} else { %s}\n"
		"set output '%s.'.fmt\n"
		"set encoding utf8\nset termoption noenhanced\n"
		"set key outside right top noenhanced\nset grid\n%s"
		"who = '%s'  # the trainer the chart is of: its rank in a distributed job\n",
		name, term_lines(true), term_lines(false), name, cat_colours, o->who);
	if (time_axis)
		fprintf(f, "set xrange [0:%.6f]\nset xlabel 's since trace start'\n", o->span);
	fputs(body, f);
	outdir__close_file(o->d, f);
}

static void chart_breakdown(struct out *o, const struct an_trainer *tr)
{
	FILE *f = outdir__create(o->d, "breakdown.dat");

	if (!f)
		return;
	fprintf(f, "# category fraction seconds: where the main thread's time goes\n");
	for (int c = 0; c < NCAT; c++)
		fprintf(f, "%s %.6f %.6f\n", cat_names[c], tr->bd.frac[c], (double)tr->bd.ns[c] / 1e9);
	outdir__close_file(o->d, f);
	script(o, "breakdown", false,
	       "set title 'Main thread: where the time goes'.who\n"
	       "set style fill solid 0.8\nset boxwidth 0.6\nset yrange [0:1]\n"
	       "set ylabel 'fraction of the window'\nset xtics rotate by -30\nunset key\n"
	       "plot 'breakdown.dat' using 0:2:xticlabels(1) with boxes lc rgb '#4477aa'\n");
}

static void chart_steps(struct out *o, const struct an_trainer *tr)
{
	FILE *f;

	if (!tr->steps.nchart || !(f = outdir__create(o->d, "steps.dat")))
		return;
	fprintf(f, "# %u steps, %u per point; ms per cause\nstep", tr->steps.count,
		tr->steps.per_chart);
	for (int c = 0; c < NCAT; c++)
		fprintf(f, " %s", cat_names[c]);
	fputc('\n', f);
	for (uint32_t i = 0; i < tr->steps.nchart; i++) {
		fprintf(f, "%u", i * tr->steps.per_chart);
		for (int c = 0; c < NCAT; c++)
			fprintf(f, " %.4f", (double)tr->steps.chart[i].ns[c] / 1e6);
		fputc('\n', f);
	}
	outdir__close_file(o->d, f);
	script(o, "steps", false,
	       "set title 'Step time by cause'.who\nset xlabel 'step'\nset ylabel 'ms'\n"
	       "set style data histograms\nset style histogram rowstacked\n"
	       "set style fill solid 0.9 noborder\nset boxwidth 1\nset xtics auto\n"
	       "plot for [c=2:9] 'steps.dat' using c:xtic(int($0)%50==0 ? strcol(1) : '') "
	       "lt (c-1) title columnheader(c)\n");
}

static void stalls_dat(struct out *o, const struct an_trainer *tr)
{
	FILE *f = outdir__create(o->d, "stalls.dat");

	if (!f)
		return;
	fprintf(f, "# top stalls: start_s dur_ms cause\n");
	for (uint32_t i = 0; i < tr->nstalls; i++)
		fprintf(f, "%.6f %.3f %s\n",
			(double)(tr->stalls[i].s.start - o->res->grid_origin) / 1e9,
			(double)tr->stalls[i].s.dur / 1e6, cat_names[tr->stalls[i].s.cat]);
	outdir__close_file(o->d, f);
}

/* The main thread's state over time: fraction of each bucket in each category. */
static void chart_timeline(struct out *o, const struct an_trainer *tr)
{
	/* a job of several nodes keeps no timeline: its ranks come from their reports */
	const struct timeline *tl = tr->main ? tr->main->tl : NULL;
	unsigned rows = 0;
	FILE *f;

	if (!tl || !(f = outdir__create(o->d, "timeline.dat")))
		return;
	fprintf(f, "# main thread, bucket of %.6f s: fraction per category\nt_s", o->width);
	for (int c = 0; c < NCAT; c++)
		fprintf(f, " %s", cat_names[c]);
	fputc('\n', f);
	for (unsigned i = 0; i < o->nb; i++) {
		double sum = 0, acc = 0;

		for (int c = 0; c < NCAT; c++)
			sum += tl__get(tl, c, i);
		if (!sum)
			continue;
		fprintf(f, "%.6f", (double)i * o->width);
		for (int c = 0; c < NCAT; c++) {
			acc += tl__get(tl, c, i) / sum;
			fprintf(f, " %.4f", acc);
		}
		fputc('\n', f);
		rows++;
	}
	outdir__close_file(o->d, f);
	if (!rows)
		return;
	stalls_dat(o, tr);
	script(o, "timeline", true,
	       "set title 'Main thread state over time (stacked fractions); arrows: top stalls'.who\n"
	       "set yrange [0:1.15]\nset style fill solid 0.9 noborder\n"
	       "plot for [c=9:2:-1] 'timeline.dat' using 1:c lt (c-1) title columnheader(c) with "
	       "filledcurves x1, 'stalls.dat' using 1:(1.1):(0):(-0.08) with vectors "
	       "lc rgb 'black' title 'stalls'\n");
}

static void chart_workers(struct out *o, const struct an_trainer *tr)
{
	uint32_t n = tr->dl.nlisted < MAX_WORKERS ? tr->dl.nlisted : MAX_WORKERS;
	double w = o->width * 1e9;
	FILE *f;

	if (!n || !o->nb || !(f = outdir__create(o->d, "workers.dat")))
		return;
	fprintf(f, "# worker busy fraction (on CPU, on storage or the network) per bucket of %.6f s\nt_s",
		o->width);
	for (uint32_t k = 0; k < n; k++) {
		char name[64];

		snprintf(name, sizeof(name), "%.16s-%u", tr->dl.w[k].comm, tr->dl.w[k].pid);
		fputc(' ', f);
		label(f, name, sizeof(name));
	}
	fputc('\n', f);
	for (unsigned i = 0; i < o->nb; i++) {
		fprintf(f, "%.6f", (double)i * o->width);
		for (uint32_t k = 0; k < n; k++) {
			const struct timeline *tl = tr->dl.w[k].tl;
			double v = tl ? (tl__get(tl, WS_CPU, i) + tl__get(tl, WS_IO, i) +
					 tl__get(tl, WS_NET, i)) / w : 0;

			fprintf(f, " %.4f", 0.9 * v + k);	/* one lane per worker */
		}
		fputc('\n', f);
	}
	outdir__close_file(o->d, f);
	script(o, "workers", true,
	       "set title 'Worker activity (busy fraction, one lane per worker)'.who\n"
	       "set ylabel 'worker'\n"
	       "stats 'workers.dat' skip 2 nooutput\nN = STATS_columns - 1\n"
	       "set yrange [-0.1:N]\n"
	       "plot for [c=2:N+1] 'workers.dat' using 1:c with steps title columnheader(c)\n");
}

/* Reads and writes: the workers' reads, and the main thread's own reads and writes. */
static void chart_io_latency(struct out *o, const struct an_io *wk, const struct an_io *mn)
{
	FILE *f = outdir__create(o->d, "io_latency.dat");

	if (!f)
		return;
	fprintf(f, "# file call latency: bucket [lo_ms, hi_ms), calls\n"
		"lo_ms hi_ms worker_reads main_thread_reads main_thread_writes\n");
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		if (wk->rd_lat.c[i] || mn->rd_lat.c[i] || mn->wr_lat.c[i])
			fprintf(f, "%.6f %.6f %u %u %u\n", (double)hist__bucket_lo(i) / 1e6,
				(double)hist__bucket_hi(i) / 1e6, wk->rd_lat.c[i], mn->rd_lat.c[i],
				mn->wr_lat.c[i]);
	outdir__close_file(o->d, f);
	/* a log y axis from below 1: one slow read next to thousands of fast ones shows */
	script(o, "io_latency", false,
	       "set title 'File read and write latency'.who\nset logscale x\nset logscale y\n"
	       "set yrange [0.5:*]\nset xlabel 'ms'\nset ylabel 'calls'\n"
	       "set style fill transparent solid 0.6 noborder\n"
	       "plot for [c=3:5] 'io_latency.dat' using ($1 > 0 ? sqrt($1*$2) : $2/2):(column(c) > 0 ? "
	       "column(c) : 1/0):($2-$1) with boxes lt (c == 3 ? 2 : c == 4 ? 1 : 3) "
	       "title columnheader(c)\n");
}

static void chart_io_throughput(struct out *o, const struct an_io *wk, const struct an_io *mn)
{
	FILE *f = outdir__create(o->d, "io_throughput.dat");

	if (!f)
		return;
	fprintf(f, "# file reads and writes, MB/s per bucket of %.6f s\n"
		"t_s worker_reads main_thread_reads main_thread_writes\n", o->width);
	for (unsigned i = 0; i < o->nb; i++)
		fprintf(f, "%.6f %.4f %.4f %.4f\n", i * o->width, wk->tput[i] / 1e6 / o->width,
			mn->tput[i] / 1e6 / o->width, mn->wtput[i] / 1e6 / o->width);
	outdir__close_file(o->d, f);
	script(o, "io_throughput", true,
	       "set title 'File read and write throughput'.who\nset ylabel 'MB/s'\n"
	       "plot for [c=2:4] 'io_throughput.dat' using 1:c with steps "
	       "lt (c == 2 ? 2 : c == 3 ? 1 : 3) lw 1.5 title columnheader(c)\n");
}

static void chart_io(struct out *o, const struct an_trainer *tr)
{
	const struct an_io *wk = &tr->dl.io, *mn = &tr->main_io;

	if (!wk->reads && !mn->reads && !mn->writes)
		return;
	if (wk->rd_lat.n || mn->rd_lat.n || mn->wr_lat.n)	/* none from reports */
		chart_io_latency(o, wk, mn);
	if (o->nb)
		chart_io_throughput(o, wk, mn);
}

/* gnuplot on each script of this run; 127 when it is not installed. */
static int render(struct outdir *d, bool png, const char *prog)
{
	static const char *const fmts[] = { "svg", "png" };
	char gp[64], out[64], var[32];

	for (int i = 0; chart_names[i]; i++) {
		snprintf(gp, sizeof(gp), "%s.gp", chart_names[i]);
		if (!outdir__has(d, gp))
			continue;
		for (int k = 0; k < (png ? 2 : 1); k++) {
			const char *outs[] = { out, NULL };
			int st;

			snprintf(out, sizeof(out), "%s.%s", chart_names[i], fmts[k]);
			snprintf(var, sizeof(var), "fmt='%s'", fmts[k]);
			st = outdir__gnuplot(d, gp, var, outs);
			if (st == 127)
				return 127;
			if (st)
				fprintf(stderr, "%s: gnuplot failed on %s\n", prog, gp);
		}
	}
	return 0;
}

/* "rank 3" or "pid 4242" as a chart label (only digits come from the trace) */
static void rank_label(FILE *f, const struct an_trainer *tr)
{
	char name[32];

	label(f, trainer_name(tr, name, sizeof(name)), sizeof(name));
}

#define RANK_LINES	16	/* ranks drawn one line each; past that, a band */

#define RANK_BARS	64	/* ranks drawn as bars; past that, stacked areas */

/*
 * A distributed job: each rank's breakdown side by side, as stacked bars; past
 * RANK_BARS ranks as stacked areas over the ranks (the same picture, a few curves in
 * place of thousands of boxes).
 */
static void ranks_breakdown(struct out *o, const struct an_result *res, uint32_t n)
{
	FILE *f = outdir__create(o->d, "ranks.dat");
	bool areas = n > RANK_BARS;
	char body[1024];

	if (!f)
		return;
	fprintf(f, "# rank, then the fraction of its main thread's time in each category%s\nrank",
		areas ? " (cumulative: each column adds the category to the ones before)" : "");
	for (int c = 0; c < NCAT; c++)
		fprintf(f, " %s", cat_names[c]);
	fputc('\n', f);
	for (uint32_t i = 0; i < res->ntr; i++) {
		double acc = 0;

		if (!res->tr[i].coll.in_job)
			continue;
		rank_label(f, &res->tr[i]);
		for (int c = 0; c < NCAT; c++)
			fprintf(f, " %.4f", areas ? (acc += res->tr[i].bd.frac[c]) : res->tr[i].bd.frac[c]);
		fputc('\n', f);
	}
	outdir__close_file(o->d, f);
	if (areas)
		snprintf(body, sizeof(body),
			 "set title 'Each rank: where its main thread''s time goes'\n"
			 "set ylabel 'fraction of the window'\nset yrange [0:1]\n"
			 "set xlabel 'the %u ranks, in rank order'\nset xrange [0:%u]\n"
			 "set style fill solid 0.9 noborder\n"
			 "plot for [c=9:2:-1] 'ranks.dat' using 0:c with filledcurves x1 lt (c-1) "
			 "title columnheader(c)\n", n, n - 1);
	else
		snprintf(body, sizeof(body),
			 "set title 'Each rank: where its main thread''s time goes'\n"
			 "set ylabel 'fraction of the window'\nset yrange [0:1]\n"
			 "set style data histograms\nset style histogram rowstacked\n"
			 "set style fill solid 0.9 noborder\nset boxwidth 0.6\nset xtics rotate by -45\n"
			 "plot for [c=2:9] 'ranks.dat' using c:xtic(1) lt (c-1) title columnheader(c)\n");
	script(o, "ranks", false, body);
}

static int cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;

	return a < b ? -1 : a > b;
}

/*
 * Step times by step number: a line per rank up to RANK_LINES ranks; past that the
 * ranks' band (min, median, max) and the straggler's (or the slowest rank's) line.
 */
static void rank_steps(struct out *o, const struct an_result *res, uint32_t n, uint32_t most)
{
	const struct an_trainer *s = &res->tr[res->slowest];
	float *v = n > RANK_LINES ? malloc(sizeof(*v) * n) : NULL;
	FILE *f;

	if ((n > RANK_LINES && !v) || !(f = outdir__create(o->d, "rank_steps.dat"))) {
		free(v);
		return;
	}
	fputs("# step time in ms of each rank, by step number ('-': that rank has fewer)\nstep", f);
	if (v)
		fputs(" min median max", f);
	for (uint32_t i = 0; i < res->ntr; i++) {
		if (res->tr[i].coll.in_job && (!v || &res->tr[i] == s)) {
			fputc(' ', f);
			rank_label(f, &res->tr[i]);
		}
	}
	fputc('\n', f);
	for (uint32_t k = 0; k < most && k < 100000; k++) {
		uint32_t m = 0;

		fprintf(f, "%u", k + 1);
		for (uint32_t i = 0; v && i < res->ntr; i++)
			if (res->tr[i].coll.in_job && res->tr[i].steps.dur_ms &&
			    k < res->tr[i].steps.count)
				v[m++] = res->tr[i].steps.dur_ms[k];
		if (v && m) {
			qsort(v, m, sizeof(*v), cmp_float);
			fprintf(f, " %.4f %.4f %.4f", v[0], v[m / 2], v[m - 1]);
		} else if (v) {
			fputs(" - - -", f);
		}
		for (uint32_t i = 0; i < res->ntr; i++) {
			const struct an_trainer *tr = &res->tr[i];

			if (!tr->coll.in_job || (v && tr != s))
				continue;
			if (tr->steps.dur_ms && k < tr->steps.count)
				fprintf(f, " %.4f", tr->steps.dur_ms[k]);
			else
				fputs(" -", f);
		}
		fputc('\n', f);
	}
	outdir__close_file(o->d, f);
	free(v);
	script(o, "rank_steps", false, v ?
	       "set title 'Step time of the ranks: min to max, the median, and the straggler'\n"
	       "set xlabel 'step'\nset ylabel 'ms'\nset datafile missing '-'\n"
	       "plot 'rank_steps.dat' using 1:2:4 with filledcurves lc rgb '#bbccee' "
	       "title 'all ranks (min to max)', '' using 1:3 with lines lc rgb '#4477aa' "
	       "title columnheader(3), '' using 1:5 with lines lw 2 lc rgb '#ee6677' "
	       "title columnheader(5)\n" :
	       "set title 'Step time of each rank'\nset xlabel 'step'\nset ylabel 'ms'\n"
	       "set datafile missing '-'\n"
	       "stats 'rank_steps.dat' skip 2 nooutput\nN = STATS_columns - 1\n"
	       "plot for [c=2:N+1] 'rank_steps.dat' using 1:c with lines title columnheader(c)\n");
}

/*
 * Who the ranks wait for: per rank, the others' waiting in the collectives it reached
 * last (what made it the straggler), and its own collective wait.
 */
static void chart_straggler(struct out *o, const struct an_result *res)
{
	FILE *f;

	if (!res->job.collectives || !(f = outdir__create(o->d, "straggler.dat")))
		return;
	fputs("# per rank: the others' collective waits in the collectives it reached last (s), "
	      "the share of the collectives it reached last, its own collective_wait\n"
	      "rank waited_for_s last_share own_collective_wait\n", f);
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (!tr->coll.in_job)
			continue;
		rank_label(f, tr);
		fprintf(f, " %.6f %.4f %.4f\n", (double)tr->coll.waited_for_ns / 1e9,
			tr->coll.last / res->job.collectives, tr->bd.frac[CAT_COLL]);
	}
	outdir__close_file(o->d, f);
	/* few ranks: bars and points; many: impulses and lines (thousands of boxes weigh MBs) */
	script(o, "straggler", false, res->job.ranks > RANK_BARS ?
	       "set title 'Who the ranks wait for: the others'' collective waits each rank held up'\n"
	       "set ylabel 's waited for it'\nset y2label 'fraction'\nset y2range [0:1]\n"
	       "set ytics nomirror\nset y2tics\nset xlabel 'the ranks, in rank order'\n"
	       "plot 'straggler.dat' using 0:2 with impulses "
	       "lw 2 lc rgb '#ee6677' title columnheader(2), '' using 0:3 axes x1y2 with lines "
	       "lc rgb '#4477aa' title columnheader(3), '' using 0:4 axes x1y2 with lines "
	       "lc rgb '#228833' title columnheader(4)\n" :
	       "set title 'Who the ranks wait for: the others'' collective waits each rank held up'\n"
	       "set ylabel 's waited for it'\nset y2label 'fraction'\nset y2range [0:1]\n"
	       "set ytics nomirror\nset y2tics\nset xtics rotate by -45\n"
	       "set style fill solid 0.8 noborder\nset boxwidth 0.8 relative\n"
	       "plot 'straggler.dat' using 0:2:xtic(1) with boxes "
	       "lc rgb '#ee6677' title columnheader(2), '' using 0:3 axes x1y2 with points pt 7 "
	       "lc rgb '#4477aa' title columnheader(3), '' using 0:4 axes x1y2 with points pt 2 "
	       "lc rgb '#228833' title columnheader(4)\n");
}

/* A distributed job: each rank's breakdown, its step times, and whom the others wait for. */
static void chart_ranks(struct out *o, const struct an_result *res)
{
	uint32_t n = 0, most = 0;

	for (uint32_t i = 0; i < res->ntr; i++) {
		n += res->tr[i].coll.in_job;
		if (res->tr[i].coll.in_job && res->tr[i].steps.count > most)
			most = res->tr[i].steps.count;
	}
	if (n < 2)
		return;
	ranks_breakdown(o, res, n);
	if (most)
		rank_steps(o, res, n, most);
	chart_straggler(o, res);
}

int charts__write(struct outdir *d, const struct an_result *res, bool png, const char *prog)
{
	const struct an_trainer *tr;
	struct out o = { .d = d, .res = res };
	uint64_t span = res->end_ts > res->grid_origin ? res->end_ts - res->grid_origin : 0;

	if (!res->ntr) {
		fprintf(stderr, "%s: no training thread found: no charts\n", prog);
		return 0;
	}
	tr = &res->tr[res->slowest];
	if (tr->id.rank >= 0)
		snprintf(o.who, sizeof(o.who), " (rank %d)", tr->id.rank);
	o.width = (double)res->grid_width / 1e9;
	o.span = (double)span / 1e9;
	if (res->grid_width) {
		uint64_t nb = span / res->grid_width + (span % res->grid_width != 0);

		o.nb = nb < TL_BUCKETS ? (unsigned)nb : TL_BUCKETS;
	}
	chart_breakdown(&o, tr);
	chart_steps(&o, tr);
	chart_timeline(&o, tr);
	chart_workers(&o, tr);
	chart_io(&o, tr);
	chart_ranks(&o, res);
	if (d->err)
		return -1;
	if (render(d, png, prog) == 127)
		fprintf(stderr, "%s: gnuplot not found: wrote the chart data and .gp scripts to "
			"%s, no images (apt-get install gnuplot-nox)\n", prog, d->dir);
	return 0;
}
