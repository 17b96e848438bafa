// SPDX-License-Identifier: MIT
/*
 * `analyze -o DIR`: DIR/index.html, one page to share with a team.  Self-contained
 * and inert: no script at all, a Content-Security-Policy that lets the page load
 * nothing but its own inline style and data: images, every string from the trace
 * escaped by html_esc().  The gnuplot charts this run drew (charts.c) are inlined as data: images
 * rather than <svg> elements: an SVG drawn as an image can run no script and fetch
 * nothing, whatever text reached it, and the charts' element ids (gnuplot names them
 * all alike) cannot collide.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esc.h"
#include "merge.h"
#include "outfile.h"
#include "report_html.h"

#define SVG_MAX		(16u << 20)	/* a chart larger than this is not inlined */

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* ------------------------------------------------------------ page frame */

static const char css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;"
	"background:#f4f5f7;margin:0}\n"
	"main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}\n"
	"h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:0 0 10px}\n"
	"section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 18px;"
	"margin:14px 0}\n"
	".path{color:#5a6272;font-family:ui-monospace,Menlo,monospace;font-size:13px;"
	"overflow-wrap:anywhere}\n"
	".warn{background:#fff7e0;border-color:#f0c36d}\n"
	".verdict{border-left:6px solid #c0392b}.verdict .summary{font-size:20px;font-weight:600;"
	"margin:4px 0 8px}\n"
	".cause{display:inline-block;font:600 12px ui-monospace,monospace;background:#1d2330;"
	"color:#fff;border-radius:4px;padding:2px 7px}\n"
	"table{border-collapse:collapse;width:100%;font-size:14px}\n"
	"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;"
	"vertical-align:top}\n"
	"th{color:#5a6272;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:"
	"tabular-nums;white-space:nowrap}\n"
	"td.t{overflow-wrap:anywhere}\n"
	".bar{background:#eceef2;border-radius:3px;height:12px;width:100%;min-width:120px}\n"
	".bar span{display:block;height:12px;border-radius:3px;background:#2f6fdf}\n"
	".c0 span{background:#3b9c5a}.c1 span{background:#d9822b}.c2 span{background:#8e44ad}"
	".c3 span{background:#c0392b}.c4 span{background:#2f6fdf}.c5 span{background:#7f8c8d}"
	".c6 span{background:#95a5a6}.c7 span{background:#ee7733}\n"
	".kv td:first-child{color:#5a6272;width:170px}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(640px,1fr));gap:14px}\n"
	"figure{margin:0}figure img{width:100%;height:auto;border:1px solid #eceef2;"
	"border-radius:4px;background:#fff}\n"
	"figcaption{color:#5a6272;font-size:13px;margin-top:2px}\n"
	"details summary{cursor:pointer;color:#2f6fdf;margin-top:8px}\n"
	"footer{color:#5a6272;font-size:13px}\n";

static void head(FILE *f, const struct an_result *res)
{
	const struct an_trainer *tr = res->ntr ? &res->tr[res->slowest] : NULL;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      /* nothing loads from anywhere: no script, no fetch, only data: images */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "img-src data:; style-src 'unsafe-inline'\">\n<title>stalltrace: ", f);
	html_esc(f, tr && tr->verdict.primary ? tr->verdict.primary : "report", 64);
	fputs(" \xe2\x80\x94 ", f);
	html_esc(f, res->path, 4096);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", css);
	fputs("<header><h1>stalltrace report</h1><div class=\"path\">", f);
	html_esc(f, res->path, 4096);
	fputs("</div></header>\n", f);
}

static void warnings(FILE *f, const struct an_result *res)
{
	if (!res->nwarn)
		return;
	fputs("<section class=\"warn\" id=\"warnings\"><h2>Warnings</h2><ul>\n", f);
	for (int i = 0; i < res->nwarn && i < MAX_WARN; i++) {
		fputs("<li>", f);
		html_esc(f, res->warn[i], sizeof(res->warn[0]));
		fputs("</li>\n", f);
	}
	fputs("</ul></section>\n", f);
}

static void verdict(FILE *f, const struct an_result *res)
{
	const struct an_trainer *tr = res->ntr ? &res->tr[res->slowest] : NULL;

	fputs("<section class=\"verdict\" id=\"verdict\"><h2>Verdict</h2>\n", f);
	if (!tr) {
		fputs("<p class=\"summary\">unknown: no training thread found in this trace</p>"
		      "</section>\n", f);
		return;
	}
	fputs("<span class=\"cause\">", f);
	html_esc(f, tr->verdict.primary ? tr->verdict.primary : "unknown", 64);
	fputs("</span>\n<p class=\"summary\">", f);
	html_esc(f, tr->verdict.summary, sizeof(tr->verdict.summary));
	fputs("</p>\n<ul class=\"advice\">\n", f);
	for (int i = 0; i < tr->verdict.nadvice && i < MAX_ADVICE; i++) {
		fputs("<li>", f);
		html_esc(f, tr->verdict.advice[i], sizeof(tr->verdict.advice[0]));
		fputs("</li>\n", f);
	}
	fputs("</ul></section>\n", f);
}

/* ------------------------------------------------------------ the numbers */

static void kv_start(FILE *f, const char *k)
{
	fprintf(f, "<tr><td>%s</td><td class=\"t\">", k);
}

static void overview(FILE *f, const struct an_result *res, const struct an_trainer *tr)
{
	const char *src = tr->win_source ? tr->win_source : "";

	fputs("<section id=\"overview\"><h2>Main training thread</h2>\n<table class=\"kv\">\n", f);
	kv_start(f, "thread");
	html_esc(f, tr->comm, ST_COMM_LEN);
	fprintf(f, " (tid %u, pid %u", tr->main_tid, tr->pid);
	if (tr->id.rank >= 0)
		fprintf(f, ", rank %d", tr->id.rank);
	if (tr->id.rank >= 0 && tr->id.world_size > 0)
		fprintf(f, " of %d", tr->id.world_size);
	if (tr->host) {
		fputs(" on ", f);
		html_esc(f, tr->host, 256);
	}
	fputs("), found by ", f);
	html_esc(f, tr->found_by, 64);
	fputs("</td></tr>\n", f);
	kv_start(f, "window");
	fprintf(f, "%.3f s, from %.3f s to %.3f s (%s)</td></tr>\n",
		sec(tr->win_end - tr->win_start), sec(tr->win_start - res->start_ts),
		sec(tr->win_end - res->start_ts), !strcmp(src, "steps") ?
		"steady state: first to last step" : !strcmp(src, "user") ? "--from/--to" :
		"the thread's life");
	kv_start(f, "CPUs");
	fprintf(f, "the job used %.2f of %u on average, %.1f spare</td></tr>\n", tr->cpus_used,
		res->ncpus, res->spare_cpus);
	if (tr->wakelat_ns) {
		kv_start(f, "wakeup latency");
		fprintf(f, "%.3f s runnable after wakeups, waiting for a CPU</td></tr>\n",
			sec(tr->wakelat_ns));
	}
	if (tr->stolen_ns) {
		kv_start(f, "steal");
		fprintf(f, "%.3f s (%.1f%% of the window) of its time on the CPU taken by the "
			"hypervisor</td></tr>\n", sec(tr->stolen_ns),
			tr->bd.total ? 100.0 * (double)tr->stolen_ns / (double)tr->bd.total : 0);
	}
	fputs("</table>\n<p class=\"path\">All times are seconds from the trace start, as in "
	      "<code>analyze --perfetto</code>.</p></section>\n", f);
}

static void bar(FILE *f, int cls, double frac)
{
	frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
	fprintf(f, "<div class=\"bar c%d\"><span style=\"width:%.1f%%\"></span></div>", cls,
		100 * frac);
}

static void breakdown(FILE *f, const struct an_trainer *tr)
{
	fputs("<section id=\"breakdown\"><h2>Where the main thread's time goes</h2>\n<table>\n"
	      "<tr><th>category</th><th class=\"n\">share</th><th class=\"n\">seconds</th>"
	      "<th style=\"width:50%\"></th></tr>\n", f);
	for (int c = 0; c < NCAT; c++) {
		fprintf(f, "<tr class=\"cat\"><td>%s</td><td class=\"n\">%.1f%%</td>"
			"<td class=\"n\">%.3f</td><td>", cat_names[c], 100 * tr->bd.frac[c],
			sec(tr->bd.ns[c]));
		bar(f, c, tr->bd.frac[c]);
		fputs("</td></tr>\n", f);
	}
	fputs("</table></section>\n", f);
}

static void workers(FILE *f, const struct an_trainer *tr)
{
	fputs("<table>\n<tr><th>pid</th><th>worker</th><th class=\"n\">cpu s</th>"
	      "<th class=\"n\">storage s</th><th class=\"n\">network s</th>"
	      "<th class=\"n\">runnable s</th><th class=\"n\">sleeping s</th>"
	      "<th class=\"n\">idle s</th><th class=\"n\">batches</th><th class=\"n\">MB read</th>"
	      "</tr>\n", f);
	for (uint32_t i = 0; i < tr->dl.nlisted && i < MAX_WORKERS; i++) {
		const struct an_worker *w = &tr->dl.w[i];

		fprintf(f, "<tr><td class=\"n\">%u</td><td class=\"t\">", w->pid);
		html_esc(f, w->comm, ST_COMM_LEN);
		fprintf(f, "</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
			"<td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
			"<td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
			"<td class=\"n\">%llu</td>"
			"<td class=\"n\">%.1f</td></tr>\n", sec(w->ns[WS_CPU]), sec(w->ns[WS_IO]),
			sec(w->ns[WS_NET]), sec(w->ns[WS_RUNQ]), sec(w->ns[WS_SLEEP]),
			sec(w->ns[WS_IDLE]), (unsigned long long)w->fed, (double)w->read_bytes / 1e6);
	}
	fputs("</table>\n", f);
}

static void loader(FILE *f, const struct an_trainer *tr)
{
	const struct an_io *io = &tr->dl.io;

	if (!tr->dl.nworkers && !tr->dl.wait_ns)
		return;
	fprintf(f, "<section id=\"loader\"><h2>Data loader</h2>\n<p>%u worker%s", tr->dl.nworkers,
		tr->dl.nworkers == 1 ? "" : "s");
	if (tr->dl.nlisted < tr->dl.nworkers)
		fprintf(f, " (the %u busiest listed)", tr->dl.nlisted);
	for (uint32_t i = 0; i < tr->dl.nrelays && i < MAX_RELAYS; i++) {
		fputs(i ? ", " : ", batch relay ", f);
		html_esc(f, tr->dl.relay_comm[i], ST_COMM_LEN);
		fprintf(f, " (tid %u)", tr->dl.relay_tid[i]);
	}
	fprintf(f, ". While the main thread waited for batches (%.3f s), the workers were: prep "
		"(on CPU) %.0f%%, fetch (storage) %.0f%%, network %.0f%%, starved (runnable, no "
		"CPU) %.0f%%, sleeping or on a lock %.0f%% of busy time; idle %.0f%%.</p>\n",
		sec(tr->dl.wait_ns), 100 * tr->dl.prep, 100 * tr->dl.fetch, 100 * tr->dl.network,
		100 * tr->dl.starved, 100 * tr->dl.sleep, 100 * tr->dl.idle);
	if (tr->dl.nworkers)
		workers(f, tr);
	if (io->reads || io->blk_reqs)
		fprintf(f, "<p>I/O: %llu files opened, %llu reads, %.1f MB (%.1f MB/s), "
			"read p50 %.3f ms, "
			"p99 %.3f ms; %llu block requests (p50 %.3f ms, p99 %.3f ms)</p>\n",
			(unsigned long long)io->files, (unsigned long long)io->reads,
			(double)io->read_bytes / 1e6, io->read_mb_s, io->lat_p50_ms, io->lat_p99_ms,
			(unsigned long long)io->blk_reqs, io->blk_p50_ms, io->blk_p99_ms);
	fputs("</section>\n", f);
}

static void step_head(FILE *f)
{
	fputs("<tr><th class=\"n\">#</th><th class=\"n\">at s</th><th class=\"n\">ms</th>"
	      "<th>mostly</th>", f);
	for (int c = 0; c < NCAT; c++)
		fprintf(f, "<th class=\"n\">%s ms</th>", cat_names[c]);
	fputs("</tr>\n", f);
}

static void step_row(FILE *f, const struct an_result *res, const struct an_step *s, uint32_t n)
{
	fprintf(f, "<tr><td class=\"n\">%u</td><td class=\"n\">%.3f</td><td class=\"n\">%.2f</td>"
		"<td>%s</td>", n, sec(s->start - res->start_ts), ms(s->dur), cat_names[s->primary]);
	for (int c = 0; c < NCAT; c++)
		fprintf(f, "<td class=\"n\">%.2f</td>", ms(s->ns[c]));
	fputs("</tr>\n", f);
}

/* Every step the analysis kept (past STEP_CHART_MAX: groups of consecutive steps). */
static void all_steps(FILE *f, const struct an_result *res, const struct an_trainer *tr)
{
	uint32_t per = tr->steps.per_chart ? tr->steps.per_chart : 1;

	if (!tr->steps.nchart)
		return;
	fprintf(f, "<details><summary>all %u steps", tr->steps.count);
	if (per > 1)
		fprintf(f, " (in groups of %u consecutive steps: per-step means)", per);
	fputs("</summary>\n<table id=\"all-steps\">\n", f);
	step_head(f);
	for (uint32_t i = 0; i < tr->steps.nchart; i++)
		step_row(f, res, &tr->steps.chart[i], i * per + 1);
	fputs("</table></details>\n", f);
}

static void steps(FILE *f, const struct an_result *res, const struct an_trainer *tr)
{
	fputs("<section id=\"steps\"><h2>Steps</h2>\n", f);
	if (!tr->steps.count) {
		fputs("<p>No steps detected (no step markers, no recurring batch arrivals).</p>"
		      "</section>\n", f);
		return;
	}
	fprintf(f, "<table class=\"kv\">\n<tr><td>steps</td><td>%u, found by %s, %s "
		"(cv %.2f), %.2f steps/s</td></tr>\n<tr><td>duration</td><td>mean %.2f ms, "
		"p50 %.2f, p95 %.2f, p99 %.2f, min %.2f, max %.2f ms</td></tr>\n</table>\n",
		tr->steps.count, tr->steps.method ? tr->steps.method : "?",
		tr->steps.regular ? "regular" : "irregular", tr->steps.cv, tr->steps.per_s,
		tr->steps.mean_ms, tr->steps.p50_ms, tr->steps.p95_ms, tr->steps.p99_ms,
		tr->steps.min_ms, tr->steps.max_ms);
	if (tr->steps.nslow) {
		fputs("<h3>Slowest steps</h3>\n<table id=\"slow-steps\">\n", f);
		step_head(f);
		for (uint32_t i = 0; i < tr->steps.nslow && i < MAX_SLOW; i++)
			step_row(f, res, &tr->steps.slow[i], i + 1);
		fputs("</table>\n", f);
	}
	all_steps(f, res, tr);
	fputs("</section>\n", f);
}

static void thread_ref(FILE *f, const char *comm, uint32_t tid)
{
	html_esc(f, comm, ST_COMM_LEN);
	fprintf(f, " (%u)", tid);
}

static void stall_row(FILE *f, const struct an_result *res, const struct an_stall *s, uint32_t n)
{
	fprintf(f, "<tr><td class=\"n\">%u</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>"
		"<td>%s</td><td class=\"t\">", n, ms(s->s.dur), sec(s->s.start - res->start_ts),
		cat_names[s->s.cat]);
	if (s->syscall)
		html_esc(f, s->syscall, 64);
	if (s->path) {
		fputs(" on ", f);
		html_esc(f, s->path, 4096);
	} else if (s->s.fdkind) {
		fprintf(f, " on a %s", st_fd_kind_name(s->s.fdkind));
	}
	fputs("</td><td class=\"t\">", f);
	if (s->s.waker) {
		thread_ref(f, s->waker_comm, s->s.waker);
		if (s->s.waker2) {
			fputs(" \xe2\x86\x90 ", f);
			thread_ref(f, s->waker2_comm, s->s.waker2);
		}
	} else if (s->s.gil) {
		fputs("its timeout (asked the holder to drop the GIL)", f);
	} else if (s->s.wrel == WREL_IRQ) {
		fputs("an interrupt", f);
	}
	if (s->s.peer && s->peer_rank >= 0)
		fprintf(f, " \xe2\x86\x90 traffic from rank %d (pid %u)", s->peer_rank, s->s.peer);
	else if (s->s.peer)
		fprintf(f, " \xe2\x86\x90 traffic from pid %u", s->s.peer);
	fputs("</td></tr>\n", f);
}

static void stalls(FILE *f, const struct an_result *res, const struct an_trainer *tr)
{
	if (!tr->nstalls)
		return;
	fputs("<section id=\"stalls\"><h2>Top stalls of the main thread</h2>\n<table>\n"
	      "<tr><th class=\"n\">#</th><th class=\"n\">ms</th><th class=\"n\">at s</th>"
	      "<th>cause</th><th>blocked in</th><th>woken by</th></tr>\n", f);
	for (uint32_t i = 0; i < tr->nstalls && i < MAX_TOP_STALLS; i++)
		stall_row(f, res, &tr->stalls[i], i + 1);
	fputs("</table></section>\n", f);
}

/* A distributed job: who it is, and how the ranks wait for each other. */
static void job(FILE *f, const struct an_result *res)
{
	char buf[512];

	job_summary(res, buf, sizeof(buf));
	fputs("<p>", f);
	html_esc(f, buf, sizeof(buf));
	fputs("</p>\n", f);
	job__clock_summary(res, buf, sizeof(buf));
	if (buf[0]) {
		fputs("<p id=\"clocks\">", f);
		html_esc(f, buf, sizeof(buf));
		fputs("</p>\n", f);
	}
}

static void trainers(FILE *f, const struct an_result *res)
{
	char name[32];

	if (res->ntr < 2 && !res->job.distributed)
		return;
	fprintf(f, "<section id=\"trainers\"><h2>%u %s</h2>\n", res->ntr,
		res->job.distributed ? (res->ntr == 1 ? "rank" : "ranks") : "trainers");
	if (res->job.distributed)
		job(f, res);
	fprintf(f, "<p>The report above is the %s's.</p>\n<table>\n<tr><th>rank</th><th>pid</th>"
		"%s<th>main thread</th><th>verdict</th><th>own cause</th><th class=\"n\">step ms</th>"
		"<th class=\"n\">compute</th><th class=\"n\">collective wait</th>"
		"<th class=\"n\">extra wait</th></tr>\n",
		res->job.straggler >= 0 ? "straggler" : "slowest trainer",
		res->nnodes > 1 ? "<th>host</th>" : "");
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		fprintf(f, "<tr><td>%s</td><td class=\"n\">%u</td><td class=\"t\">",
			tr->id.rank >= 0 ? trainer_name(tr, name, sizeof(name)) : "", tr->pid);
		if (res->nnodes > 1) {
			html_esc(f, tr->host ? tr->host : "?", 256);
			fputs("</td><td class=\"t\">", f);
		}
		html_esc(f, tr->comm, ST_COMM_LEN);
		fputs(res->job.straggler == (int)i ? " (straggler)</td><td>" :
		      tr->slowest ? " (slowest)</td><td>" : "</td><td>", f);
		html_esc(f, tr->verdict.primary, 64);
		fputs("</td><td>", f);
		html_esc(f, tr->own.primary, 64);
		fprintf(f, "</td><td class=\"n\">%.2f</td><td class=\"n\">%.0f%%</td>"
			"<td class=\"n\">%.0f%%</td><td class=\"n\">%.0f%%</td></tr>\n",
			tr->steps.mean_ms, 100 * tr->bd.frac[CAT_COMPUTE],
			100 * tr->bd.frac[CAT_COLL], 100 * tr->wait_for_slowest);
	}
	fputs("</table></section>\n", f);
}

/* A job of several nodes: each input, its machine and how its clock was aligned. */
static void nodes(FILE *f, const struct an_result *res)
{
	if (res->nnodes < 2)
		return;
	fprintf(f, "<section id=\"nodes\"><h2>%u nodes</h2>\n<table>\n<tr><th>input</th>"
		"<th>host</th><th class=\"n\">ranks</th><th>clock aligned by</th>"
		"<th class=\"n\">clock offset s</th><th class=\"n\">correction ms</th>"
		"<th class=\"n\">residual ms</th><th class=\"n\">lost events</th></tr>\n",
		res->nnodes);
	for (uint32_t k = 0; k < res->nnodes; k++) {
		const struct an_node *n = &res->nodes[k];

		fputs("<tr><td class=\"t\">", f);
		html_esc(f, n->path, 4096);
		fputs("</td><td class=\"t\">", f);
		html_esc(f, n->host, 256);
		fprintf(f, "</td><td class=\"n\">%u</td><td>%s</td><td class=\"n\">%.6f</td>"
			"<td class=\"n\">%.3f</td><td class=\"n\">", n->ranks, n->aligned_by,
			(double)n->offset / 1e9, (double)(n->offset - n->header_offset) / 1e6);
		if (n->residual >= 0)
			fprintf(f, "%.3f", (double)n->residual / 1e6);
		fprintf(f, "</td><td class=\"n\">%llu%s</td></tr>\n", (unsigned long long)n->lost,
			n->complete ? "" : " (incomplete)");
	}
	fputs("</table></section>\n", f);
}

/* ------------------------------------------------------------ charts */

/* Reads a regular file of at most SVG_MAX bytes that looks like an SVG document. */
static char *read_svg(int dfd, const char *name, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 5 || st.st_size > SVG_MAX ||
	    !(buf = malloc((size_t)st.st_size + 1)))
		goto out;
	got = read(fd, buf, (size_t)st.st_size);
	if (got != st.st_size || !memmem(buf, (size_t)got, "<svg", 4)) {
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)got;
out:
	close(fd);
	return buf;
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;

	for (size_t i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		fputc(b64[v >> 18], f);
		fputc(b64[(v >> 12) & 63], f);
		fputc(i + 1 < n ? b64[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? b64[v & 63] : '=', f);
	}
}

/* "io_latency" -> "io latency" */
static void caption(FILE *f, const char *name)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '_' || *p == '-')
			*p = ' ';
	html_esc(f, buf, sizeof(buf));
}

static int chart(FILE *f, struct outdir *d, const char *name)
{
	char fn[64];
	size_t len = 0;
	char *svg;

	snprintf(fn, sizeof(fn), "%s.svg", name);
	/* only a chart this run drew: never one an earlier run (or anyone) left in DIR */
	if (!outdir__has(d, fn) || !(svg = read_svg(d->sfd, fn, &len)))
		return 0;
	fputs("<figure><img class=\"chart\" alt=\"", f);
	caption(f, name);
	fputs("\" src=\"data:image/svg+xml;base64,", f);
	base64(f, (const unsigned char *)svg, len);
	fputs("\"><figcaption>", f);
	caption(f, name);
	fputs("</figcaption></figure>\n", f);
	free(svg);
	return 1;
}

static void charts(FILE *f, struct outdir *d)
{
	int shown = 0;

	fputs("<section id=\"charts\"><h2>Charts</h2>\n<div class=\"charts\">\n", f);
	for (int i = 0; chart_names[i]; i++)
		shown += chart(f, d, chart_names[i]);
	fputs("</div>\n", f);
	if (!shown)
		fputs("<p class=\"nocharts\">No charts: they are drawn by gnuplot, which did not "
		      "produce any here (is it installed?). The numbers above do not need it."
		      "</p>\n", f);
	fputs("</section>\n", f);
}

/* ------------------------------------------------------------ page */

static void footer(FILE *f, const struct an_result *res)
{
	fputs("<section id=\"trace\"><h2>Trace</h2>\n<table class=\"kv\">\n", f);
	kv_start(f, "events");
	fprintf(f, "%llu over %.3f s, %llu dropped%s</td></tr>\n", (unsigned long long)res->events,
		sec(res->end_ts - res->start_ts), (unsigned long long)res->dropped,
		res->complete ? "" : ", INCOMPLETE");
	kv_start(f, "job");
	fprintf(f, "%u processes, %u threads, %u CPUs</td></tr>\n", res->nprocs, res->nthreads,
		res->ncpus);
	kv_start(f, "tracer cost");
	html_esc(f, res->cost_text + strlen("tracer cost: "), sizeof(res->cost_text));
	fputs("</td></tr>\n", f);
	kv_start(f, "command");
	html_esc(f, res->cmdline, 4096);
	fputs("</td></tr>\n", f);
	kv_start(f, "host");
	if (res->nnodes > 1)
		fprintf(f, "%u nodes (the Nodes table)", res->nnodes);
	else
		html_esc(f, res->hostname, 256);
	fputs(", kernel ", f);
	html_esc(f, res->kernel, 256);
	fputs(", tracer ", f);
	html_esc(f, res->tracer_version, 64);
	fputs("</td></tr>\n</table></section>\n", f);
	fprintf(f, "<footer>stalltrace analyze %s</footer>\n</main>\n</body>\n</html>\n",
		ST_VERSION);
}

static void page(FILE *f, struct outdir *d, const struct an_result *res)
{
	const struct an_trainer *tr = res->ntr ? &res->tr[res->slowest] : NULL;

	head(f, res);
	warnings(f, res);
	verdict(f, res);
	if (tr) {
		overview(f, res, tr);
		breakdown(f, tr);
		loader(f, tr);
		steps(f, res, tr);
		stalls(f, res, tr);
		trainers(f, res);
		nodes(f, res);
	}
	charts(f, d);
	footer(f, res);
}

int report__html(struct outdir *d, const struct an_result *res)
{
	FILE *f = outdir__create(d, "index.html");

	if (!f)
		return -1;
	page(f, d, res);
	return outdir__close_file(d, f);
}
