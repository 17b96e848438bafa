// SPDX-License-Identifier: MIT
/*
 * `-o DIR`: gnuplot charts of the slowest trainer.  Each chart is NAME.dat (the data)
 * and NAME.gp (the script, fixed text: users restyle it), rendered to NAME.svg (and
 * NAME.png with --png) when gnuplot is installed.  Names from the trace (threads)
 * only ever appear in .dat files, sanitised and read back with columnheader(); the
 * scripts use `noenhanced` text so no label is interpreted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis.h"
#include "palette.h"

struct out {
	const char *dir, *prog;
	bool png;
	int err;
};

static FILE *open_file(struct out *o, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", o->dir, name);
	f = fopen(path, "we");
	if (!f && !o->err) {
		o->err = errno;
		fprintf(stderr, "%s: cannot write '%s': %s\n", o->prog, path, strerror(errno));
	}
	return f;
}

static void close_file(struct out *o, FILE *f)
{
	if (f && fclose(f) && !o->err)
		o->err = errno ? errno : EIO;
}

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
static void script(struct out *o, const char *name, const char *body)
{
	char fn[256];
	FILE *f;

	snprintf(fn, sizeof(fn), "%s.gp", name);
	if (!(f = open_file(o, fn)))
		return;
	fprintf(f, "# stalltrace chart: gnuplot -e \"fmt='svg'\" %s.gp (or fmt='png')\n"
		"if (!exists(\"fmt\")) fmt = 'svg'\n"
		"if (fmt eq 'png') { %s} else { %s}\n"
		"set output '%s.'.fmt\n"
		"set encoding utf8\nset key outside right top noenhanced\nset grid\n%s%s",
		name, term_lines(true), term_lines(false), name, cat_colours, body);
	close_file(o, f);
}

static void chart_breakdown(struct out *o, const struct an_trainer *tr)
{
	FILE *f = open_file(o, "breakdown.dat");

	if (!f)
		return;
	fprintf(f, "# category fraction seconds: where the main thread's time goes\n");
	for (int c = 0; c < NCAT; c++)
		fprintf(f, "%s %.6f %.6f\n", cat_names[c], tr->bd.frac[c], (double)tr->bd.ns[c] / 1e9);
	close_file(o, f);
	script(o, "breakdown",
	       "set title 'Main thread: where the time goes' noenhanced\n"
	       "set style fill solid 0.8\nset boxwidth 0.6\nset yrange [0:1]\n"
	       "set ylabel 'fraction of the window'\nset xtics rotate by -30\nunset key\n"
	       "plot 'breakdown.dat' using 0:2:xticlabels(1) with boxes lc rgb '#4477aa'\n");
}

static void chart_steps(struct out *o, const struct an_trainer *tr)
{
	FILE *f;

	if (!tr->steps.nchart || !(f = open_file(o, "steps.dat")))
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
	close_file(o, f);
	script(o, "steps",
	       "set title 'Step time by cause' noenhanced\nset xlabel 'step'\nset ylabel 'ms'\n"
	       "set style data histograms\nset style histogram rowstacked\n"
	       "set style fill solid 0.9 noborder\nset boxwidth 1\nset xtics auto\n"
	       "plot for [c=2:8] 'steps.dat' using c:xtic(int($0)%50==0 ? strcol(1) : '') "
	       "lt (c-1) title columnheader(c)\n");
}

/* The main thread's state over time: fraction of each bucket in each category. */
static void chart_timeline(struct out *o, const struct an_result *res, const struct an_trainer *tr)
{
	const struct timeline *tl = tr->main->tl;
	double w = (double)res->grid_width;
	FILE *f;

	if (!tl || !(f = open_file(o, "timeline.dat")))
		return;
	fprintf(f, "# main thread, bucket of %.6f s: fraction per category\nt_s", w / 1e9);
	for (int c = 0; c < NCAT; c++)
		fprintf(f, " %s", cat_names[c]);
	fputc('\n', f);
	for (unsigned i = 0; i < TL_BUCKETS; i++) {
		double sum = 0, acc = 0;

		for (int c = 0; c < NCAT; c++)
			sum += tl->v[c * TL_BUCKETS + i];
		if (!sum)
			continue;
		fprintf(f, "%.6f", (double)i * w / 1e9);
		for (int c = 0; c < NCAT; c++) {
			acc += tl->v[c * TL_BUCKETS + i] / sum;
			fprintf(f, " %.4f", acc);
		}
		fputc('\n', f);
	}
	close_file(o, f);
	if ((f = open_file(o, "stalls.dat"))) {
		fprintf(f, "# top stalls: start_s dur_ms cause\n");
		for (uint32_t i = 0; i < tr->nstalls; i++)
			fprintf(f, "%.6f %.3f %s\n", (double)(tr->stalls[i].s.start - res->grid_origin) / 1e9,
				(double)tr->stalls[i].s.dur / 1e6, cat_names[tr->stalls[i].s.cat]);
		close_file(o, f);
	}
	script(o, "timeline",
	       "set title 'Main thread state over time (stacked fractions); arrows: top stalls' "
	       "noenhanced\nset xlabel 's since trace start'\nset yrange [0:1.15]\n"
	       "set style fill solid 0.9 noborder\n"
	       "plot for [c=8:2:-1] 'timeline.dat' using 1:c lt (c-1) title columnheader(c) with "
	       "filledcurves x1, 'stalls.dat' using 1:(1.1):(0):(-0.08) with vectors "
	       "lc rgb 'black' title 'stalls'\n");
}

static void chart_workers(struct out *o, const struct an_result *res, const struct an_trainer *tr)
{
	double w = (double)res->grid_width;
	uint32_t n = tr->dl.nlisted < MAX_WORKERS ? tr->dl.nlisted : MAX_WORKERS;
	FILE *f;

	if (!n || !(f = open_file(o, "workers.dat")))
		return;
	fprintf(f, "# worker busy fraction (on CPU or on storage) per bucket of %.6f s\nt_s",
		w / 1e9);
	for (uint32_t k = 0; k < n; k++) {
		char name[64];

		snprintf(name, sizeof(name), "%.16s-%u", tr->dl.w[k].comm, tr->dl.w[k].pid);
		fputc(' ', f);
		label(f, name, sizeof(name));
	}
	fputc('\n', f);
	for (unsigned i = 0; i < TL_BUCKETS; i++) {
		fprintf(f, "%.6f", (double)i * w / 1e9);
		for (uint32_t k = 0; k < n; k++) {
			const struct timeline *tl = tr->dl.w[k].tl;
			double v = tl ? (tl->v[WS_CPU * TL_BUCKETS + i] + tl->v[WS_IO * TL_BUCKETS + i]) / w : 0;

			fprintf(f, " %.4f", v + k);	/* one lane per worker */
		}
		fputc('\n', f);
	}
	close_file(o, f);
	script(o, "workers",
	       "set title 'Worker activity (busy fraction, one lane per worker)' noenhanced\n"
	       "set xlabel 's since trace start'\nset ylabel 'worker'\n"
	       "stats 'workers.dat' skip 2 nooutput\nN = STATS_columns - 1\n"
	       "plot for [c=2:N+1] 'workers.dat' using 1:c with steps title columnheader(c)\n");
}

static void chart_io(struct out *o, const struct an_result *res, const struct an_trainer *tr)
{
	const struct an_io *io = &tr->dl.io;
	double w = (double)res->grid_width / 1e9;
	FILE *f;

	if (!io->reads)
		return;
	if ((f = open_file(o, "io_latency.dat"))) {
		fprintf(f, "# worker file reads: latency bucket [lo_ms, hi_ms) count\n");
		for (unsigned i = 0; i < HIST_BUCKETS; i++)
			if (io->rd_lat.c[i])
				fprintf(f, "%.6f %.6f %u\n", (double)hist__bucket_lo(i) / 1e6,
					(double)hist__bucket_hi(i) / 1e6, io->rd_lat.c[i]);
		close_file(o, f);
	}
	if ((f = open_file(o, "io_throughput.dat"))) {
		fprintf(f, "# worker file reads: t_s MB/s\n");
		for (unsigned i = 0; i < TL_BUCKETS; i++)
			fprintf(f, "%.6f %.4f\n", i * w, io->tput[i] / 1e6 / w);
		close_file(o, f);
	}
	script(o, "io_latency",
	       "set title 'Worker read latency' noenhanced\nset logscale x\n"
	       "set xlabel 'ms'\nset ylabel 'reads'\nset style fill solid 0.8\nunset key\n"
	       "plot 'io_latency.dat' using (($1+$2)/2):3:($2-$1) with boxes lc rgb '#228833'\n");
	script(o, "io_throughput",
	       "set title 'Worker read throughput' noenhanced\nset xlabel 's since trace start'\n"
	       "set ylabel 'MB/s'\nunset key\nplot 'io_throughput.dat' using 1:2 with steps\n");
}

static bool have_gnuplot(void)
{
	return !system("command -v gnuplot >/dev/null 2>&1");
}

/* Runs gnuplot in DIR on NAME.gp for one format; the script names are fixed. */
static void render(struct out *o, const char *name, const char *fmt)
{
	char gp[64], var[32], path[4096];
	pid_t pid;
	int st;

	snprintf(gp, sizeof(gp), "%s.gp", name);
	snprintf(var, sizeof(var), "fmt='%s'", fmt);
	snprintf(path, sizeof(path), "%s/%s", o->dir, gp);
	if (access(path, R_OK))
		return;
	pid = fork();
	if (pid == 0) {
		if (chdir(o->dir))
			_exit(127);
		execlp("gnuplot", "gnuplot", "-e", var, gp, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "%s: gnuplot failed on %s/%s\n", o->prog, o->dir, gp);
}

int charts__write(const char *dir, const struct an_result *res, bool png, const char *prog)
{
	static const char *const names[] = {
		"breakdown", "steps", "timeline", "workers", "io_latency", "io_throughput",
	};
	struct out o = { .dir = dir, .prog = prog, .png = png };
	const struct an_trainer *tr;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create '%s': %s\n", prog, dir, strerror(errno));
		return -1;
	}
	if (!res->ntr) {
		fprintf(stderr, "%s: no training thread found: no charts\n", prog);
		return 0;
	}
	tr = &res->tr[res->slowest];
	chart_breakdown(&o, tr);
	chart_steps(&o, tr);
	chart_timeline(&o, res, tr);
	chart_workers(&o, res, tr);
	chart_io(&o, res, tr);
	if (o.err)
		return -1;
	if (!have_gnuplot()) {
		fprintf(stderr, "%s: gnuplot not found: wrote the chart data and .gp scripts to "
			"%s, no images (apt-get install gnuplot-nox)\n", prog, dir);
		return 0;
	}
	fflush(stdout);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		render(&o, names[i], "svg");
		if (png)
			render(&o, names[i], "png");
	}
	return 0;
}
