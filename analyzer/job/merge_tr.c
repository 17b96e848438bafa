// SPDX-License-Identifier: MIT
/*
 * A rank of a per-node report back into the analysis model: the trainer fields of
 * docs/json-schema.md, read into an an_trainer as analysis__run would have filled
 * it, so every output (text, JSON, charts, the page) and the cross-rank passes work
 * on a merged job as on one trace.  What the JSON does not carry stays empty: the
 * per-step breakdown (the steps chart), timelines and latency histograms.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "merge_int.h"

int merge_tr__hook(void *ctx, struct jstream *js, const char *parent, const char *key)
{
	struct tr_arrays *a = ctx;
	int r;

	if (!parent)
		return 0;
	if (!strcmp(parent, "steps") && !strcmp(key, "durations_ms") && !a->have_dur) {
		a->have_dur = true;
		r = js_floats(js, &a->dur, &a->ndur, &a->capdur);
	} else if (!strcmp(parent, "steps") && !strcmp(key, "starts_ns") && !a->have_starts) {
		a->have_starts = true;
		r = js_u64s(js, &a->starts, &a->nstarts, &a->capstarts);
	} else if (!strcmp(parent, "collective") && !strcmp(key, "start_ns") && !a->have_cstart) {
		a->have_cstart = true;
		r = js_u64s(js, &a->cstart, &a->ncstart, &a->capcstart);
	} else if (!strcmp(parent, "collective") && !strcmp(key, "end_ns") && !a->have_cend) {
		a->have_cend = true;
		r = js_u64s(js, &a->cend, &a->ncend, &a->capcend);
	} else {
		return 0;
	}
	return r ? -1 : 1;
}

void merge_tr__arrays_free(struct tr_arrays *a)
{
	free(a->dur);
	free(a->starts);
	free(a->cstart);
	free(a->cend);
	memset(a, 0, sizeof(*a));
}

static uint64_t ns_of(double v, double unit)
{
	double ns = v * unit;

	return ns > 0 && ns < 1.8e19 ? (uint64_t)llround(ns) : 0;
}

/* A non-negative integer field (times, counts), exactly; def when absent. */
uint64_t merge__u64(const struct jv *t, const char *path, uint64_t def)
{
	int64_t v = jint(t, path, -1);
	double d;

	if (v >= 0)
		return (uint64_t)v;
	/* a number past uint64_t's range (a fuzzed 1.1e31) is no such field */
	d = jnum(t, path, -1);
	return d >= 0 && d < 1.8e19 ? (uint64_t)d : def;
}

static void comm_of(char *dst, const char *s)
{
	memset(dst, 0, ST_COMM_LEN);
	if (s)
		memcpy(dst, s, strnlen(s, ST_COMM_LEN));
}

static const char *kept(struct merge_state *m, const struct jv *t, const char *path)
{
	const char *s = jstr(t, path);

	return s ? merge__keep(m, s) : NULL;
}

static int cat_of(const char *name)
{
	for (int c = 0; name && c < NCAT; c++)
		if (!strcmp(name, cat_names[c]))
			return c;
	return CAT_OTHER;	/* a category of a newer analyzer */
}

static void breakdown(struct an_breakdown *b, const struct jv *frac, const struct jv *secs,
		      double total_s)
{
	memset(b, 0, sizeof(*b));
	for (int c = 0; c < NCAT; c++) {
		b->frac[c] = jnum(frac, cat_names[c], 0);
		b->ns[c] = secs ? ns_of(jnum(secs, cat_names[c], 0), 1e9) :
				  ns_of(b->frac[c] * total_s, 1e9);
		b->total += b->ns[c];
	}
}

static void verdict(struct merge_state *m, struct an_verdict *v, const struct jv *t)
{
	const struct jv *adv = jget(t, "advice");

	memset(v, 0, sizeof(*v));
	v->primary = kept(m, t, "primary");
	if (!v->primary)
		v->primary = "unknown";
	v->fraction = jnum(t, "fraction", 0);
	snprintf(v->summary, sizeof(v->summary), "%s", jstr(t, "summary") ?: "");
	for (size_t i = 0; adv && adv->t == J_ARR && i < adv->n && v->nadvice < MAX_ADVICE; i++)
		if (adv->kids[i].t == J_STR)
			snprintf(v->advice[v->nadvice++], sizeof(v->advice[0]), "%s",
				 adv->kids[i].str);
}

static void step_of(struct an_step *s, const struct jv *t)
{
	const struct jv *ms = jget(t, "ms");

	memset(s, 0, sizeof(*s));
	s->start = merge__u64(t, "start_ns", 0);
	s->dur = ns_of(jnum(t, "dur_ms", 0), 1e6);
	s->primary = cat_of(jstr(t, "primary"));
	s->launches = merge__u64(t, "launches", 0);
	for (int c = 0; c < NCAT; c++)
		s->ns[c] = ns_of(jnum(ms, cat_names[c], 0), 1e6);
}

static void steps(struct merge_state *m, struct an_trainer *tr, const struct jv *t)
{
	const struct jv *slow = jget(t, "slowest");

	tr->steps.method = kept(m, t, "method") ?: "none";
	tr->steps.mean_ms = jnum(t, "mean_ms", 0);
	tr->steps.p50_ms = jnum(t, "p50_ms", 0);
	tr->steps.p95_ms = jnum(t, "p95_ms", 0);
	tr->steps.p99_ms = jnum(t, "p99_ms", 0);
	tr->steps.min_ms = jnum(t, "min_ms", 0);
	tr->steps.max_ms = jnum(t, "max_ms", 0);
	tr->steps.cv = jnum(t, "cv", 0);
	tr->steps.regular = jnum(t, "regular", 0) != 0;
	tr->steps.per_s = jnum(t, "steps_per_s", 0);
	tr->steps.launches_per_step = jnum(t, "launches_per_step", 0);
	for (size_t i = 0; slow && slow->t == J_ARR && i < slow->n && i < MAX_SLOW; i++)
		step_of(&tr->steps.slow[tr->steps.nslow++], &slow->kids[i]);
}

static void io_of(struct an_io *io, const struct jv *t)
{
	memset(io, 0, sizeof(*io));
	io->files = io->opens = merge__u64(t, "files_opened", 0);
	io->reads = merge__u64(t, "reads", 0);
	io->read_bytes = merge__u64(t, "read_bytes", 0);
	io->read_mb_s = jnum(t, "read_mb_s", 0);
	io->hit_ratio = jnum(t, "page_cache_hit_ratio", -1);
	io->pages_miss = merge__u64(t, "page_cache_miss_pages", 0);
	io->lat_p50_ms = jnum(t, "read_p50_ms", 0);
	io->lat_p99_ms = jnum(t, "read_p99_ms", 0);
	io->blk_reqs = merge__u64(t, "block_requests", 0);
	io->blk_bytes = merge__u64(t, "block_bytes", 0);
	io->blk_p50_ms = jnum(t, "block_p50_ms", 0);
	io->blk_p99_ms = jnum(t, "block_p99_ms", 0);
	io->writes = merge__u64(t, "writes", 0);
	io->write_bytes = merge__u64(t, "write_bytes", 0);
	io->wr_p50_ms = jnum(t, "write_p50_ms", 0);
	io->wr_p99_ms = jnum(t, "write_p99_ms", 0);
}

static void workers(struct an_trainer *tr, const struct jv *t)
{
	const struct jv *wl = jget(t, "worker_list"), *rl = jget(t, "relays");

	for (size_t i = 0; wl && wl->t == J_ARR && i < wl->n && i < MAX_WORKERS; i++) {
		const struct jv *w = &wl->kids[i];
		struct an_worker *k = &tr->dl.w[tr->dl.nlisted++];
		char key[32];

		k->pid = (uint32_t)merge__u64(w, "pid", 0);
		comm_of(k->comm, jstr(w, "comm"));
		for (int s = 0; s < NWS; s++) {
			snprintf(key, sizeof(key), "%s_s", wst_names[s]);
			k->ns[s] = ns_of(jnum(w, key, 0), 1e9);
		}
		k->fed = merge__u64(w, "batches_delivered", 0);
		k->read_bytes = merge__u64(w, "read_bytes", 0);
		k->reads = merge__u64(w, "reads", 0);
	}
	for (size_t i = 0; rl && rl->t == J_ARR && i < rl->n && i < MAX_RELAYS; i++) {
		tr->dl.relay_tid[tr->dl.nrelays] = (uint32_t)merge__u64(&rl->kids[i], "tid", 0);
		comm_of(tr->dl.relay_comm[tr->dl.nrelays++], jstr(&rl->kids[i], "comm"));
	}
}

static void dataloader(struct an_trainer *tr, const struct jv *t)
{
	const struct jv *dw = jget(t, "during_wait_s");

	tr->dl.nworkers = (uint32_t)merge__u64(t, "workers", 0);
	tr->dl.wait_ns = ns_of(jnum(t, "wait_s", 0), 1e9);
	tr->dl.runq_ns = ns_of(jnum(t, "runnable_after_arrival_s", 0), 1e9);
	tr->dl.gil_ns = ns_of(jnum(t, "gil_in_next_s", 0), 1e9);
	tr->dl.prep = jnum(t, "prep_fraction", 0);
	tr->dl.fetch = jnum(t, "fetch_fraction", 0);
	tr->dl.starved = jnum(t, "starved_fraction", 0);
	tr->dl.idle = jnum(t, "idle_fraction", 0);
	for (int s = 0; s < NWS; s++)
		tr->dl.wk[s] = ns_of(jnum(dw, wst_names[s], 0), 1e9);
	workers(tr, t);
	io_of(&tr->dl.io, jget(t, "io"));
}

/* An index in a table of names (st_state_name, st_fd_kind_name), or -1. */
static int name_index(const char *(*name)(unsigned), unsigned n, const char *s)
{
	for (unsigned i = 0; s && i < n; i++)
		if (name(i) && !strcmp(name(i), s))
			return (int)i;
	return -1;
}

static void chain(struct an_stall *o, const struct jv *c)
{
	for (size_t i = 0; c && c->t == J_ARR && i < c->n && i < 2; i++) {
		uint32_t tid = (uint32_t)merge__u64(&c->kids[i], "tid", 0);
		uint32_t pid = (uint32_t)merge__u64(&c->kids[i], "pid", 0);

		if (!i) {
			o->s.waker = tid;
			o->s.waker_pid = o->waker_pid = pid;
			comm_of(o->waker_comm, jstr(&c->kids[i], "comm"));
		} else {
			o->s.waker2 = tid;
			o->waker2_pid = pid;
			comm_of(o->waker2_comm, jstr(&c->kids[i], "comm"));
		}
	}
}

static void stall_of(struct merge_state *m, struct an_stall *o, const struct jv *t)
{
	const char *sc = jstr(t, "syscall"), *fk = jstr(t, "fd_kind");
	const struct jv *peer = jget(t, "peer");
	int k;

	memset(o, 0, sizeof(*o));
	o->s.start = merge__u64(t, "start_ns", 0);
	o->s.dur = ns_of(jnum(t, "dur_ms", 0), 1e6);
	o->s.cat = (uint8_t)cat_of(jstr(t, "cause"));
	o->s.tid = (uint32_t)merge__u64(t, "thread.tid", 0);
	comm_of(o->comm, jstr(t, "thread.comm"));
	k = sc ? st_syscall_nr(sc) : -1;
	o->s.nr = k >= 0 ? (uint16_t)k : SC_NONE;
	o->syscall = k >= 0 ? st_syscall_name((unsigned)k) : sc ? merge__keep(m, sc) : NULL;
	k = name_index(st_state_name, ST_STATE_OTHER + 1, jstr(t, "state"));
	o->s.state = k > 0 ? (uint8_t)k : 0;
	k = name_index(st_fd_kind_name, ST_FD_KIND_MAX, fk);
	o->s.fdkind = k > 0 ? (uint8_t)k : 0;
	o->s.ino = fk ? 1 : 0;		/* the report said what the fd was */
	o->path = kept(m, t, "file");
	chain(o, jget(t, "chain"));
	o->peer_rank = -1;
	if (peer && peer->t == J_OBJ) {
		o->s.peer = (uint32_t)merge__u64(peer, "pid", 0);
		o->peer_rank = (int32_t)jint(peer, "rank", -1);
	}
}

static void identity(struct merge_state *m, struct an_trainer *tr, const struct jv *t)
{
	tr->id.rank = (int32_t)jint(t, "rank", -1);
	tr->id.local_rank = (int32_t)jint(t, "local_rank", -1);
	tr->id.world_size = (int32_t)jint(t, "world_size", -1);
	tr->id.node_rank = (int32_t)jint(t, "node_rank", -1);
	tr->id.master_port = -1;
	tr->id.rank_key = kept(m, t, "rank_from");
	tr->host = kept(m, t, "host");
}

/* Its waits for the other ranks and the peers whose traffic ended them. */
static int collective(struct merge_state *m, struct an_trainer *tr, const struct jv *t,
		      struct tr_arrays *a, char *err, size_t errlen)
{
	const struct jv *p = jget(t, "peers");
	struct coll *w, **nc;

	for (size_t i = 0; p && p->t == J_ARR && i < p->n && i < 4; i++) {
		__typeof__(tr->coll.peers[0]) *q = &tr->coll.peers[tr->coll.npeers++];

		q->rank = (int32_t)jint(&p->kids[i], "rank", -1);
		q->pid = (uint32_t)merge__u64(&p->kids[i], "pid", 0);
		q->waits = (uint32_t)merge__u64(&p->kids[i], "waits", 0);
		q->ns = ns_of(jnum(&p->kids[i], "wait_s", 0), 1e9);
	}
	tr->coll.runq_ns = ns_of(jnum(t, "runnable_after_arrival_s", 0), 1e9);
	if (a->ncstart != a->ncend) {
		snprintf(err, errlen, "collective.start_ns has %u values, end_ns %u", a->ncstart,
			 a->ncend);
		return -1;
	}
	if (!a->ncstart)
		return 0;
	if (!(w = malloc(sizeof(*w) * a->ncstart)) ||
	    !(nc = realloc(m->colls, sizeof(*nc) * (m->ncolls + 1)))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->colls = nc;
	m->colls[m->ncolls++] = w;
	for (uint32_t i = 0; i < a->ncstart; i++) {
		if (a->cend[i] < a->cstart[i]) {
			snprintf(err, errlen, "collective wait %u ends before it starts", i);
			return -1;
		}
		w[i] = (struct coll){ .start = a->cstart[i], .wake = a->cend[i] };
	}
	tr->coll.w = w;
	tr->coll.n = a->ncstart;
	return 0;
}

static int step_arrays(struct an_trainer *tr, const struct jv *t, struct tr_arrays *a,
		       char *err, size_t errlen)
{
	uint64_t count = merge__u64(t, "steps.count", 0);

	if (a->have_dur && a->ndur != count) {
		snprintf(err, errlen, "steps.durations_ms has %u values, steps.count says %llu",
			 a->ndur, (unsigned long long)count);
		return -1;
	}
	if (a->have_starts && a->nstarts != a->ndur) {
		snprintf(err, errlen, "steps.starts_ns has %u values, durations_ms %u", a->nstarts,
			 a->ndur);
		return -1;
	}
	tr->steps.count = a->have_dur ? a->ndur : 0;
	tr->steps.dur_ms = a->dur;
	tr->steps.start_ns = a->have_starts ? a->starts : NULL;
	a->dur = NULL;
	if (a->have_starts)
		a->starts = NULL;
	return 0;
}

static void main_of(struct merge_state *m, struct an_trainer *tr, const struct jv *t)
{
	tr->main_tid = (uint32_t)merge__u64(t, "main.tid", 0);
	tr->pid = (uint32_t)merge__u64(t, "main.pid", 0);
	comm_of(tr->comm, jstr(t, "main.comm"));
	tr->found_by = kept(m, t, "main.found_by") ?: "none";
	tr->syscalls_per_step = jnum(t, "main.syscalls_per_step", 0);
	tr->switches_per_step = jnum(t, "main.switches_per_step", 0);
	tr->stolen_ns = ns_of(jnum(t, "main.stolen_s", 0), 1e9);
	tr->win_start = merge__u64(t, "window.start_ns", 0);
	tr->win_end = merge__u64(t, "window.end_ns", tr->win_start);
	tr->win_source = kept(m, t, "window.source") ?: "none";
	tr->startup_start = tr->an_start = merge__u64(t, "startup.start_ns", tr->win_start);
}

int merge_tr__fill(struct merge_state *m, struct an_trainer *tr, const struct jv *t,
		   struct tr_arrays *a, char *err, size_t errlen)
{
	const struct jv *stalls = jget(t, "stalls");

	if (jint(t, "rank", -1) < 0 || jint(t, "rank", -1) >= (1 << 24)) {
		snprintf(err, errlen, "a job member without a rank");
		return -1;
	}
	identity(m, tr, t);
	if (tr->id.world_size > 0 && tr->id.rank >= tr->id.world_size) {
		snprintf(err, errlen, "rank %d of a world of %d", tr->id.rank, tr->id.world_size);
		return -1;
	}
	main_of(m, tr, t);
	if (tr->win_end < tr->win_start) {
		snprintf(err, errlen, "window.end_ns is before window.start_ns");
		return -1;
	}
	breakdown(&tr->bd, jget(t, "breakdown"), jget(t, "breakdown_s"), 0);
	breakdown(&tr->startup, jget(t, "startup.breakdown"), NULL,
		  jnum(t, "startup.duration_s", 0));
	tr->wakelat_ns = ns_of(jnum(t, "wakeup_latency_s", 0), 1e9);
	tr->net_ns = ns_of(jnum(t, "other.network_s", 0), 1e9);
	verdict(m, &tr->verdict, jget(t, "verdict"));
	verdict(m, &tr->own, jget(t, "own_verdict"));
	steps(m, tr, jget(t, "steps"));
	tr->launches = (uint64_t)llround(tr->steps.launches_per_step * jnum(t, "steps.count", 0));
	dataloader(tr, jget(t, "dataloader"));
	io_of(&tr->main_io, jget(t, "main_io"));
	for (size_t i = 0; stalls && stalls->t == J_ARR && i < stalls->n && i < MAX_TOP_STALLS; i++)
		stall_of(m, &tr->stalls[tr->nstalls++], &stalls->kids[i]);
	if (step_arrays(tr, t, a, err, errlen))
		return -1;
	return collective(m, tr, jget(t, "collective"), a, err, errlen);
}
