// SPDX-License-Identifier: MIT
/*
 * One job from several nodes (merge.h): each input is read into the ranks it holds and
 * one an_node; the inputs must be of one job; then the clocks are aligned (job.c) and
 * the cross-rank passes of a single trace run over all the ranks.
 *
 * An input is read once, front to back, through jstream: its trace, cpu and job
 * objects and each of its trainers become small trees, the per-step arrays typed
 * arrays, and everything else (the top level's copy of a trainer) is skipped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "esc.h"
#include "merge.h"
#include "merge_int.h"

#define BLOCK		(64u << 10)
#define MAX_NODES_IN	(1u << 20)

/* The job identity an input states (its job object), to check the inputs agree. */
struct ident_in {
	const char *run_id, *master_addr, *slurm_job;
	int64_t master_port, world_size;
};

/* A merge in progress. */
struct mg {
	struct an_result *res;
	struct merge_state *m;
	const char *prog;
	struct ident_in *ids;		/* per node */
	uint32_t capnodes, captr;
	uint32_t more_warnings;		/* node warnings left out, counted */
	const char *input;		/* being read: for messages */
	int status;			/* 0, 1 (cannot read), 2 (bad input) */
};

const char *merge__keep(struct merge_state *m, const char *s)
{
	size_t n = strlen(s) + 1;
	char **nb, *p;

	if (m->nblocks && m->used + n <= m->cap) {
		p = m->blocks[m->nblocks - 1] + m->used;
		m->used += n;
		return memcpy(p, s, n);
	}
	if (!(nb = realloc(m->blocks, sizeof(*nb) * (m->nblocks + 1))))
		return NULL;
	m->blocks = nb;
	if (!(p = malloc(n > BLOCK ? n : BLOCK)))
		return NULL;
	m->blocks[m->nblocks++] = p;
	m->cap = n > BLOCK ? n : BLOCK;
	m->used = n;
	return memcpy(p, s, n);
}

static int bad(struct mg *g, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line on stderr: the input, what is wrong with it.  Returns -1. */
static int bad(struct mg *g, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!g->status) {
		fprintf(stderr, "%s: ", g->prog);
		text_esc(stderr, g->input ? g->input : "--merge", 4096);
		fputs(": ", stderr);
		text_esc(stderr, msg, sizeof(msg));
		fputc('\n', stderr);
		g->status = status;
	}
	return -1;
}

/* ------------------------------------------------------------ one input */

static struct an_node *new_node(struct mg *g)
{
	struct an_result *res = g->res;
	uint32_t n = res->nnodes;

	if (n == g->capnodes) {
		uint32_t cap = n ? 2 * n : 16;
		void *a = realloc(res->nodes, sizeof(*res->nodes) * cap);
		void *b = a ? realloc(g->ids, sizeof(*g->ids) * cap) : NULL;

		if (a)
			res->nodes = a;
		if (b)
			g->ids = b;
		if (!b || n >= MAX_NODES_IN)
			return NULL;
		g->capnodes = cap;
	}
	memset(&res->nodes[n], 0, sizeof(res->nodes[n]));
	memset(&g->ids[n], 0, sizeof(g->ids[n]));
	res->nodes[n].clock_error = -1;
	res->nodes[n].residual = -1;
	res->nodes[n].path = merge__keep(g->m, g->input);
	res->nodes[n].aligned_by = "clock pair";
	res->nnodes++;
	return &res->nodes[n];
}

/* Room for n more trainers (a rank per input, usually): a trainer is large, grown once. */
static int reserve(struct mg *g, size_t n)
{
	struct an_result *res = g->res;
	size_t cap = res->ntr + n;
	struct an_trainer *t;

	if (cap <= g->captr)
		return 0;
	if (cap > UINT32_MAX / 2 || !(t = realloc(res->tr, sizeof(*t) * cap)))
		return -1;
	res->tr = t;
	g->captr = (uint32_t)cap;
	return 0;
}

static struct an_trainer *new_trainer(struct mg *g)
{
	struct an_result *res = g->res;

	if (res->ntr == g->captr && reserve(g, g->captr ? g->captr : 64))
		return NULL;
	memset(&res->tr[res->ntr], 0, sizeof(res->tr[0]));
	return &res->tr[res->ntr++];
}

/* A node's warnings join the job's, each prefixed with the node they are about. */
static void node_warnings(struct mg *g, const struct an_node *n, const struct jv *w)
{
	for (size_t i = 0; w && w->t == J_ARR && i < w->n; i++) {
		if (w->kids[i].t != J_STR)
			continue;
		if (g->res->nwarn >= MAX_WARN - 4) {	/* room for the merge's own */
			g->more_warnings++;
			continue;
		}
		analysis__warn(g->res, "%s (%s): %s", n->host ? n->host : "?", n->path,
			       w->kids[i].str);
	}
}

/*
 * A node's tracer cost, summed over the nodes as CPU seconds and seconds traced: the
 * job's is then the nodes' mean share of one CPU, and its CPU time per event.  A node
 * without one (an older tracer) leaves the job's unknown.
 */
static void node_cost(struct mg *g, const struct jv *c)
{
	struct an_cost *o = &g->res->an.cost;
	double dur = jnum(c, "duration_s", 0), bpf = jnum(c, "bpf_cpu_percent", -1);

	if (g->res->nnodes == 1)
		*o = (struct an_cost){ .known = true };
	if (!c || !jget(c, "cpu_percent") || !o->known) {
		o->known = false;
		return;
	}
	o->tracer = (o->tracer * o->duration_s + jnum(c, "process_cpu_percent", 0) / 100 * dur) /
		    (o->duration_s + dur > 0 ? o->duration_s + dur : 1);
	if (bpf < 0 || o->bpf < 0)
		o->bpf = -1;
	else
		o->bpf = (o->bpf * o->duration_s + bpf / 100 * dur) /
			 (o->duration_s + dur > 0 ? o->duration_s + dur : 1);
	o->duration_s += dur;
	o->sampled_s += jnum(c, "sampled_s", 0);
	o->setup_cpu_s += jnum(c, "setup_cpu_s", 0);
	o->windows += (uint32_t)merge__u64(c, "windows", 0);
}

/* The trace object: the node's machine, clock pair and health; the job's sums. */
static void node_trace(struct mg *g, struct an_node *n, const struct jv *t)
{
	struct an_result *res = g->res;
	const struct jv *d = jget(t, "dropped");
	uint64_t dropped = merge__u64(t, "dropped_events", 0);
	uint64_t missing = merge__u64(t, "missing_events", 0);
	uint32_t k = res->nnodes - 1;

	n->host = jstr(t, "hostname") ? merge__keep(g->m, jstr(t, "hostname")) : NULL;
	n->trace = jstr(t, "path") ? merge__keep(g->m, jstr(t, "path")) : n->path;
	n->realtime_offset = jint(t, "realtime_offset_ns", 0);
	n->clock_error = jint(t, "clock_error_ns", -1);
	n->complete = jnum(t, "complete", 0) != 0;
	n->lost = dropped + missing;
	n->start_ns = (uint64_t)jint(t, "start_ns", 0);
	n->end_ns = (uint64_t)jint(t, "end_ns", (int64_t)n->start_ns);
	res->events += merge__u64(t, "events", 0);
	res->dropped += dropped;
	res->missing += missing;
	res->events_written += merge__u64(t, "events_written", 0);
	res->skipped += merge__u64(t, "skipped_records", 0);
	res->disorder += merge__u64(t, "out_of_order_records", 0);
	res->inconsistent += merge__u64(t, "inconsistent_sched", 0);
	res->unseen_in += merge__u64(t, "unseen_switches_in", 0);
	res->raced_wakes += merge__u64(t, "raced_wakeups", 0);
	res->nprocs += (uint32_t)merge__u64(t, "processes", 0);
	res->nthreads += (uint32_t)merge__u64(t, "threads", 0);
	res->disk_full |= jnum(t, "disk_full", 0) != 0;
	res->write_error |= jnum(t, "write_error", 0) != 0;
	for (unsigned i = 0; i < ST_KIND_MAX; i++)
		res->dropped_kind[i] += merge__u64(d, st_kind_name(i), 0);
	if (!n->complete && res->complete) {
		res->complete = false;
		snprintf(res->end_buf, sizeof(res->end_buf), "%s (%s): %s", n->host ? n->host : "?",
			 n->path, jstr(t, "incomplete_reason") ?: "incomplete");
		res->end_reason = res->end_buf;
	}
	if (k == 0) {
		res->cmdline = jstr(t, "cmdline") ? merge__keep(g->m, jstr(t, "cmdline")) : NULL;
		res->tracer_version = jstr(t, "tracer_version") ?
				      merge__keep(g->m, jstr(t, "tracer_version")) : NULL;
		res->stop_reason = jstr(t, "stop_reason") ?
				   merge__keep(g->m, jstr(t, "stop_reason")) : NULL;
	}
	node_cost(g, jget(t, "tracer_cost"));
	node_warnings(g, n, jget(t, "warnings"));
}

static const char *keep_or_null(struct mg *g, const struct jv *t, const char *path)
{
	const char *s = jstr(t, path);

	return s && *s ? merge__keep(g->m, s) : NULL;
}

/* The job object: which job this node's ranks are of. */
static int node_job(struct mg *g, const struct jv *j)
{
	struct ident_in *id = &g->ids[g->res->nnodes - 1];
	const struct jv *nodes = jget(j, "nodes");

	if (nodes && nodes->t == J_ARR && nodes->n > 1)
		return bad(g, 2, "a merged report (of %zu nodes): merge the per-node reports "
			   "themselves", nodes->n);
	if (!jnum(j, "distributed", 0))
		return bad(g, 2, "no rank of a distributed job in this report (job.distributed is "
			   "false: no RANK, SLURM_PROCID, ... in the trainers' environment)");
	id->run_id = keep_or_null(g, j, "run_id");
	id->master_addr = keep_or_null(g, j, "master_addr");
	id->slurm_job = keep_or_null(g, j, "slurm_job_id");
	id->master_port = jint(j, "master_port", -1);
	id->world_size = jint(j, "world_size", -1);
	return 0;
}

/* One element of trainers: a rank of the job is kept, another trainer skipped. */
static int node_trainer(struct mg *g, struct jstream *js, uint32_t idx)
{
	struct tr_arrays a = { 0 };
	struct js_hook h = { .member = merge_tr__hook, .ctx = &a };
	const struct jv *member;
	struct an_trainer *tr;
	struct jv t = { 0 };
	char err[160];
	int ret = -1;

	if (js_tree(js, &t, &h))
		goto out;
	if (t.t != J_OBJ) {
		ret = bad(g, 2, "trainers[%u] is not an object", idx);
		goto out;
	}
	member = jget(&t, "job_member");
	if (member ? !member->num || member->t != J_BOOL : !jstr(&t, "host")) {
		ret = 0;	/* a trainer that is not a rank of the job */
		goto out;
	}
	if (!(tr = new_trainer(g))) {
		ret = bad(g, 1, "out of memory");
		goto out;
	}
	tr->node = g->res->nnodes - 1;
	if (merge_tr__fill(g->m, tr, &t, &a, err, sizeof(err))) {
		free(tr->steps.dur_ms);		/* taken from a before the error */
		free(tr->steps.start_ns);
		g->res->ntr--;
		ret = bad(g, 2, "trainers[%u]: %s", idx, err);
		goto out;
	}
	ret = 0;
out:
	merge_tr__arrays_free(&a);
	jclear(&t);
	return ret;
}

static int node_trainers(struct mg *g, struct jstream *js)
{
	int n = 0, r;
	uint32_t idx = 0;

	if (js_open(js, '['))
		return -1;
	while ((r = js_element(js, &n)) == 1)
		if (node_trainer(g, js, idx++))
			return -1;
	return r;
}

/* A small member of the top level, as a tree (trace, cpu, job, tool). */
static int member_tree(struct mg *g, struct jstream *js, struct jv **out)
{
	struct jv *v = calloc(1, sizeof(*v));

	if (!v)
		return bad(g, 1, "out of memory");
	jfree(*out);
	*out = v;
	return js_tree(js, v, NULL);
}

struct top {
	struct jv *trace, *cpu, *job, *tool;
	double schema;
	bool have_trainers;
};

static int top_member(struct mg *g, struct jstream *js, struct top *t, const char *key)
{
	int64_t i;
	bool isint;

	if (!strcmp(key, "schema_version"))
		return js_peek(js) == '"' ? js_skip(js) : js_number(js, &t->schema, &i, &isint);
	if (!strcmp(key, "trace"))
		return member_tree(g, js, &t->trace);
	if (!strcmp(key, "cpu"))
		return member_tree(g, js, &t->cpu);
	if (!strcmp(key, "job"))
		return member_tree(g, js, &t->job);
	if (!strcmp(key, "tool"))
		return member_tree(g, js, &t->tool);
	if (!strcmp(key, "trainers")) {
		t->have_trainers = true;
		return node_trainers(g, js);
	}
	return js_skip(js);
}

/* What is read is a report of ours, of a schema this analyze knows. */
static int check_top(struct mg *g, const struct top *t)
{
	const char *tool = jstr(t->tool, "name");

	if (!t->schema || !tool || strcmp(tool, "stalltrace-analyze") || !t->trace || !t->job ||
	    !t->have_trainers)
		return bad(g, 2, "not an analyze --json report (no schema_version, tool, trace, "
			   "job or trainers)");
	if (t->schema != SCHEMA_VERSION)
		return bad(g, 2, "schema_version %g: this analyze reads %d", t->schema,
			   SCHEMA_VERSION);
	return 0;
}

static void node_cpu(struct an_node *n, const struct jv *cpu)
{
	n->ncpus = (uint32_t)merge__u64(cpu, "ncpus", 0);
	n->cpus_used = jnum(cpu, "traced_cpus_used", 0);
	n->spare_cpus = jnum(cpu, "spare_cpus", 0);
}

/* The node's ranks get its machine's figures and the job identity it states. */
static void node_ranks(struct mg *g, uint32_t first)
{
	struct an_result *res = g->res;
	struct an_node *n = &res->nodes[res->nnodes - 1];

	for (uint32_t i = first; i < res->ntr; i++) {
		struct an_trainer *tr = &res->tr[i];

		tr->ncpus = n->ncpus;
		tr->cpus_used = n->cpus_used;
		tr->spare_cpus = n->spare_cpus;
		if (!tr->host)
			tr->host = n->host;
		n->ranks++;
	}
}

static int read_doc(struct mg *g, struct jstream *js, struct top *t)
{
	char key[64];
	int n = 0, r;

	if (js_open(js, '{'))
		return -1;
	while ((r = js_member(js, &n, key, sizeof(key))) == 1)
		if (top_member(g, js, t, key))
			return -1;
	return r < 0 || js_end(js) ? -1 : 0;
}

/* Reads one report from f into a new node and its ranks; 0, or -1 (said). */
static int read_report(struct mg *g, FILE *f)
{
	struct an_result *res = g->res;
	uint32_t first = res->ntr;
	struct top t = { 0 };
	struct jstream js;
	struct an_node *n;
	int ret = -1;

	if (js_init(&js, f) || !(n = new_node(g))) {
		js_free(&js);
		return bad(g, 1, "out of memory");
	}
	if (read_doc(g, &js, &t)) {
		if (!g->status)
			bad(g, 2, "%s%s", strncmp(js.err, "truncated", 9) ?
			    "not a valid analyze --json report: " : "", js.err);
		goto out;
	}
	if (check_top(g, &t) || node_job(g, t.job))
		goto out;
	node_trace(g, n, t.trace);
	node_cpu(n, t.cpu);
	node_ranks(g, first);
	if (res->ntr == first) {
		bad(g, 2, "no rank of a distributed job in this report (no trainer is a job member)");
		goto out;
	}
	ret = 0;
out:
	jfree(t.trace);
	jfree(t.cpu);
	jfree(t.job);
	jfree(t.tool);
	js_free(&js);
	return ret;
}

/* ------------------------------------------------------------ inputs */

/* A trace, analysed into the report --json writes, read back from memory. */
static int read_trace(struct mg *g, const char *path)
{
	struct an_opts o = { .path = path };
	struct an_result *res = calloc(1, sizeof(*res));
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int ret = -1;

	if (!res)
		return bad(g, 1, "out of memory");
	if (analysis__run(res, &o, g->prog)) {
		g->status = 1;		/* the reader said why */
		goto out;
	}
	if (!(f = open_memstream(&buf, &len)))
		goto oom;
	report__json_stream(f, res);
	if (fclose(f))
		goto oom;
	analysis__free(res);
	if (!(f = fmemopen(buf, len, "r")))
		goto oom;
	ret = read_report(g, f);
	fclose(f);
	goto out;
oom:
	bad(g, 1, "out of memory");
out:
	analysis__free(res);
	free(res);
	free(buf);
	return ret;
}

static int read_file(struct mg *g, const char *path)
{
	FILE *f = fopen(path, "rbe");
	int ret;

	if (!f)
		return bad(g, 2, "cannot open: %s", strerror(errno));
	ret = read_report(g, f);
	if (ferror(f) && !g->status)
		ret = bad(g, 1, "read error: %s", strerror(errno));
	fclose(f);
	return ret;
}

static int is_json_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && !strcmp(d->d_name + n - 5, ".json") && d->d_name[0] != '.';
}

/* A directory stands for the reports in it (NAME.json, in name order). */
static int read_dir(struct mg *g, const char *dir)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_json_name, versionsort), ret = 0;
	char *path;

	if (n < 0)
		return bad(g, 2, "cannot read the directory: %s", strerror(errno));
	if (!n)
		ret = bad(g, 2, "no reports (*.json) in this directory");
	else
		reserve(g, (size_t)n);
	for (int i = 0; i < n; i++) {
		if (!ret && asprintf(&path, "%s/%s", dir, list[i]->d_name) >= 0) {
			g->input = path;
			ret = read_file(g, path);
			g->input = NULL;
			free(path);
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

static int read_input(struct mg *g, const char *path, bool trace)
{
	struct stat st;

	g->input = path;
	if (trace)
		return read_trace(g, path);
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return read_dir(g, path);
	return read_file(g, path);
}

/* ------------------------------------------------------------ one job */

static bool differ(const char *a, const char *b)
{
	return a && b && strcmp(a, b);
}

/*
 * Node k states the same job as node 0: every identity both state is the same, and
 * they share at least one (a run id, a rendezvous, a Slurm job).
 */
static int same_job(struct mg *g, uint32_t k)
{
	const struct ident_in *a = &g->ids[0], *b = &g->ids[k];
	const char *p0 = g->res->nodes[0].path;

	g->input = g->res->nodes[k].path;
	if (differ(a->run_id, b->run_id))
		return bad(g, 2, "another job: TORCHELASTIC_RUN_ID '%s' here, '%s' in %s",
			   b->run_id, a->run_id, p0);
	if (differ(a->slurm_job, b->slurm_job))
		return bad(g, 2, "another job: SLURM_JOB_ID '%s' here, '%s' in %s", b->slurm_job,
			   a->slurm_job, p0);
	if (a->master_addr && b->master_addr &&
	    (strcmp(a->master_addr, b->master_addr) || a->master_port != b->master_port))
		return bad(g, 2, "another job: rendezvous %s:%lld here, %s:%lld in %s",
			   b->master_addr, (long long)b->master_port, a->master_addr,
			   (long long)a->master_port, p0);
	if (a->world_size > 0 && b->world_size > 0 && a->world_size != b->world_size)
		return bad(g, 2, "another job: a world of %lld ranks here, %lld in %s",
			   (long long)b->world_size, (long long)a->world_size, p0);
	if (!(a->run_id && b->run_id) && !(a->slurm_job && b->slurm_job) &&
	    !(a->master_addr && b->master_addr))
		return bad(g, 2, "cannot tell that it is of the job of %s: they state no identity "
			   "in common (TORCHELASTIC_RUN_ID, MASTER_ADDR:MASTER_PORT, SLURM_JOB_ID)",
			   p0);
	return 0;
}

static void copy_id(char *dst, size_t cap, const char *v)
{
	if (v && !dst[0])
		snprintf(dst, cap, "%s", v);
}

/* Every rank gets the job's whole identity: what any node stated (they agree). */
static void unify(struct mg *g)
{
	struct an_result *res = g->res;

	for (uint32_t i = 0; i < res->ntr; i++) {
		struct ident *id = &res->tr[i].id;

		for (uint32_t k = 0; k < res->nnodes; k++) {
			copy_id(id->run_id, sizeof(id->run_id), g->ids[k].run_id);
			copy_id(id->master_addr, sizeof(id->master_addr), g->ids[k].master_addr);
			copy_id(id->slurm_job, sizeof(id->slurm_job), g->ids[k].slurm_job);
			if (id->master_port < 0 && g->ids[k].master_addr)
				id->master_port = (int32_t)g->ids[k].master_port;
			if (id->world_size < 0 && g->ids[k].world_size > 0)
				id->world_size = (int32_t)g->ids[k].world_size;
		}
	}
}

static int by_rank(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1];
}

/* Puts the trainers in rank order (whole structs are large: moved once each). */
static int sort_ranks(struct mg *g)
{
	struct an_result *res = g->res;
	uint32_t n = res->ntr, (*key)[2] = malloc(sizeof(*key) * n);
	struct an_trainer tmp;

	if (!key)
		return bad(g, 1, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		key[i][0] = (uint32_t)res->tr[i].id.rank;
		key[i][1] = i;
	}
	qsort(key, n, sizeof(*key), by_rank);
	/* cycle by cycle: position i takes trainer key[i][1] */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = i, k;

		if (key[i][1] == i || key[i][1] == UINT32_MAX)
			continue;
		tmp = res->tr[i];
		while ((k = key[j][1]) != i) {
			res->tr[j] = res->tr[k];
			key[j][1] = UINT32_MAX;
			j = k;
		}
		res->tr[j] = tmp;
		key[j][1] = UINT32_MAX;
	}
	free(key);
	return 0;
}

/* A rank in two inputs is the same node given twice, or two jobs mixed up. */
static int unique_ranks(struct mg *g)
{
	struct an_result *res = g->res;

	for (uint32_t i = 1; i < res->ntr; i++) {
		const struct an_trainer *a = &res->tr[i - 1], *b = &res->tr[i];

		if (a->id.rank == b->id.rank) {
			g->input = res->nodes[b->node].path;
			return bad(g, 2, "rank %d is also in %s (the same node twice, or two runs "
				   "of the job?)", b->id.rank, res->nodes[a->node].path);
		}
	}
	return 0;
}

/* Ranks of the world that no input holds: the straggler may be among them. */
static void missing_ranks(struct mg *g)
{
	struct an_result *res = g->res;
	int32_t world = res->tr[0].id.world_size, next = 0;
	char list[160] = "";
	size_t off = 0;
	uint32_t n = 0;

	if (world <= 0 || res->ntr >= (uint32_t)world)
		return;
	for (uint32_t i = 0; i <= res->ntr; i++) {
		int32_t upto = i < res->ntr ? res->tr[i].id.rank : world;

		for (; next < upto; next++, n++)
			if (n < 8 && off < sizeof(list))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d",
							n ? ", " : "", next);
		next = upto + 1;
	}
	analysis__warn(res, "%u of the %d ranks are in no input (%s%s): the straggler may be one "
		       "of them", n, world, list, n > 8 ? ", ..." : "");
}

/* "job of 3 nodes: a.json, b.json, c.json" (shortened past a few names) */
static void display_path(struct mg *g)
{
	struct an_result *res = g->res;
	char buf[320];
	size_t off;

	off = (size_t)snprintf(buf, sizeof(buf), "job of %u nodes: ", res->nnodes);
	for (uint32_t i = 0; i < res->nnodes && off < 200; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
					res->nodes[i].path);
	if (off >= 200)
		snprintf(buf + (off < sizeof(buf) ? off : sizeof(buf) - 1),
			 sizeof(buf) - (off < sizeof(buf) ? off : sizeof(buf) - 1), ", ...");
	res->path = res->nnodes == 1 ? res->nodes[0].path : merge__keep(g->m, buf);
}

/* The job's trace fields: its span on the time line, one host or none, the clock pair. */
static void job_fields(struct mg *g)
{
	struct an_result *res = g->res;
	char buf[32];
	int64_t err = -1;

	res->start_ts = UINT64_MAX;
	for (uint32_t k = 0; k < res->nnodes; k++) {
		const struct an_node *n = &res->nodes[k];
		uint64_t s = (uint64_t)((int64_t)n->start_ns + n->offset);
		uint64_t e = (uint64_t)((int64_t)n->end_ns + n->offset);

		res->start_ts = s < res->start_ts ? s : res->start_ts;
		res->end_ts = e > res->end_ts ? e : res->end_ts;
		if (n->clock_error > err)
			err = n->clock_error;
		if (!strcmp(n->aligned_by, "reference"))
			res->realtime_offset = n->realtime_offset;
		if (!k || (res->hostname && n->host && strcmp(res->hostname, n->host)))
			res->hostname = k ? NULL : n->host;
	}
	if (err >= 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)err);
		res->clock_error_ns = merge__keep(g->m, buf);
	}
	if (g->more_warnings)
		analysis__warn(res, "%u more warnings of the nodes: see each node's report",
			       g->more_warnings);
	analysis__cost_text(res);
	display_path(g);
}

/* Nodes whose collectives did not line up: what rests on their clock pair, said on top. */
static void unaligned(struct mg *g)
{
	struct an_result *res = g->res;
	uint32_t n = 0, first = 0;

	for (uint32_t k = 0; k < res->nnodes; k++)
		if (!strcmp(res->nodes[k].aligned_by, "clock pair") && !n++)
			first = k;
	if (n)
		analysis__warn(res, "the clocks of %u node%s (%s%s) could not be aligned by the "
			       "collectives, only by their clock pairs (as good as their NTP sync): "
			       "which rank arrives last at a collective may be wrong across nodes",
			       n, n == 1 ? "" : "s", res->nodes[first].host ? res->nodes[first].host :
			       res->nodes[first].path, n > 1 ? ", ..." : "");
}

/* The cross-rank passes of a single trace, over every rank of every node. */
static void decide(struct mg *g)
{
	struct an_result *res = g->res;
	const struct an_trainer *top;

	straggler__find(res);
	finish__slowest(res);
	verdict__decide(res);
	verdict__job(res);
	top = &res->tr[res->slowest];
	res->ncpus = top->ncpus;
	res->spare_cpus = top->spare_cpus;
}

static int assemble(struct mg *g)
{
	struct an_result *res = g->res;

	for (uint32_t k = 1; k < res->nnodes; k++)
		if (same_job(g, k))
			return -1;
	g->input = NULL;
	if (sort_ranks(g) || unique_ranks(g))
		return -1;
	unify(g);
	missing_ranks(g);
	job__align(res);
	for (uint32_t i = 0; i < res->ntr; i++)
		res->tr[i].clock_offset = res->nodes[res->tr[i].node].offset;
	unaligned(g);
	job_fields(g);
	decide(g);
	return 0;
}

int merge__run(struct an_result *res, const struct merge_opts *o)
{
	struct mg g = { .res = res, .prog = o->prog };

	memset(res, 0, sizeof(*res));
	res->complete = true;
	if (!(g.m = res->merge = calloc(1, sizeof(*g.m))))
		return bad(&g, 1, "out of memory"), 1;
	reserve(&g, o->n);
	for (size_t i = 0; i < o->n && !g.status; i++)
		read_input(&g, o->inputs[i], o->traces);
	if (!g.status)
		assemble(&g);
	free(g.ids);
	return g.status;
}

void merge__free(struct an_result *res)
{
	struct merge_state *m = res->merge;

	if (m) {
		for (size_t i = 0; i < m->nblocks; i++)
			free(m->blocks[i]);
		for (uint32_t i = 0; i < m->ncolls; i++)
			free(m->colls[i]);
		free(m->blocks);
		free(m->colls);
		free(m);
		res->merge = NULL;
	}
	free(res->nodes);
	res->nodes = NULL;
	res->nnodes = 0;
	analysis__free(res);
}
