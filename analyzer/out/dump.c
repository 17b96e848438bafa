// SPDX-License-Identifier: MIT
/*
 * `analyze --dump`: every event as one JSON object per line, the perf script of the
 * project.  Field names are stable (docs/trace-format.md lists them); strings from
 * the trace are escaped by json_str().
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"
#include "hmap.h"
#include "json.h"
#include "st_trace.h"

struct dumper {
	FILE *f;
	struct hmap pid_of;	/* tid -> pid, learned from fork/comm/exec/exit records */
};

static void learn(struct dumper *d, __u32 tid, __u32 pid)
{
	uint64_t *v;

	if (tid && pid && (v = hmap_slot(&d->pid_of, tid)))
		*v = pid;
}

static __u32 pid_of(struct dumper *d, __u32 tid)
{
	uint64_t *v = hmap_find(&d->pid_of, tid);

	return v ? (__u32)*v : 0;
}

static void kv_u(FILE *f, const char *k, unsigned long long v)
{
	fprintf(f, ",\"%s\":%llu", k, v);
}

static void kv_i(FILE *f, const char *k, long long v)
{
	fprintf(f, ",\"%s\":%lld", k, v);
}

static void kv_s(FILE *f, const char *k, const char *v)
{
	fprintf(f, ",\"%s\":", k);
	json_str(f, v);
}

static void kv_b(FILE *f, const char *k, int v)
{
	fprintf(f, ",\"%s\":%s", k, v ? "true" : "false");
}

static void kv_comm(FILE *f, const char *k, const char *comm)
{
	char c[ST_COMM_LEN + 1];

	memcpy(c, comm, ST_COMM_LEN);
	c[ST_COMM_LEN] = '\0';
	kv_s(f, k, c);
}

static void kv_dev(FILE *f, const char *k, __u32 dev)
{
	fprintf(f, ",\"%s\":\"%u:%u\"", k, dev >> 20, dev & 0xfffff);
}

static void head(struct dumper *d, const struct st_event *ev, __u64 ts, __u32 tid)
{
	fprintf(d->f, "{\"ts\":%llu,\"type\":\"%s\"", (unsigned long long)ts, st_rec_name(ev->type));
	kv_u(d->f, "pid", pid_of(d, tid));
	kv_u(d->f, "tid", tid);
}

static void dump_syscall(struct dumper *d, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	const char *name = st_syscall_name(sc->b.nr);
	FILE *f = d->f;

	head(d, ev, ev->ts - sc->b.dur, sc->b.tid);
	kv_u(f, "end", ev->ts);
	kv_u(f, "dur", sc->b.dur);
	kv_u(f, "nr", sc->b.nr);
	kv_s(f, "name", name ? name : "unknown");
	kv_i(f, "ret", sc->b.ret);
	if (sc->b.flags2 & ST_SC2_NO_ENTRY)
		kv_b(f, "no_entry", 1);
	if (sc->present & ST_SC_FD) {
		kv_i(f, "fd", sc->fd.fd);
		kv_s(f, "fd_kind", st_fd_kind_name(sc->fd.kind));
		kv_dev(f, "dev", sc->fd.dev);
		kv_u(f, "ino", sc->fd.ino);
	}
	if (sc->present & ST_SC_COUNT)
		kv_u(f, "count", sc->count);
	if (sc->present & ST_SC_OFFSET)
		kv_u(f, "offset", sc->offset);
	if (sc->present & ST_SC_FUTEX) {
		fprintf(f, ",\"futex_uaddr\":\"0x%llx\"", (unsigned long long)sc->futex.uaddr);
		kv_u(f, "futex_op", sc->futex.op);
		kv_u(f, "futex_val", sc->futex.val);
	}
	if (sc->present & ST_SC_TIMEOUT)
		kv_i(f, "timeout_ns", sc->timeout);
	if (sc->present & ST_SC_PCACHE)
		kv_u(f, "pcache_pages", sc->pcache_pages);
	if (sc->present & ST_SC_FDS)
		fprintf(f, ",\"fds\":[%d,%d]", sc->fds[0], sc->fds[1]);
	if (sc->present & ST_SC_PATH)
		kv_s(f, "path", ev->str);
}

static void dump_drops(FILE *f, const struct st_drops *dr)
{
	__u64 total = 0;

	fputs(",\"dropped\":{", f);
	for (__u32 i = 0; i < dr->nkinds; i++) {
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", st_kind_name(i),
			(unsigned long long)dr->count[i]);
		total += dr->count[i];
	}
	fputc('}', f);
	kv_u(f, "dropped_total", total);
}

/* A field of a record the type table describes. */
static void dump_field(struct dumper *d, const struct st_event *ev, const struct st_field *fl)
{
	__u64 v = st_field_u64(fl, ev->fixed_raw);
	FILE *f = d->f;

	if (fl->nonzero && (fl->type == ST_F_FLAG ? !(ev->flags & fl->off) : !v))
		return;
	switch (fl->type) {
	case ST_F_S16: case ST_F_S32: kv_i(f, fl->name, (long long)v); break;
	case ST_F_COMM: kv_comm(f, fl->name, (const char *)ev->fixed_raw + fl->off); break;
	case ST_F_DEV: kv_dev(f, fl->name, (__u32)v); break;
	case ST_F_STATE: kv_s(f, fl->name, st_state_name((unsigned)v)); break;
	case ST_F_WAIT: kv_s(f, fl->name, st_wait_name((unsigned)v)); break;
	case ST_F_FDKIND: kv_s(f, fl->name, st_fd_kind_name((unsigned)v)); break;
	case ST_F_BLKOP: kv_s(f, fl->name, st_blk_op_name((unsigned)v)); break;
	case ST_F_FLAG: kv_b(f, fl->name, ev->flags & fl->off); break;
	case ST_F_STR: kv_s(f, fl->name, fl->off ? ev->str2 : ev->str); break;
	case ST_F_PIDOF: kv_u(f, fl->name, pid_of(d, (__u32)v)); break;
	case ST_F_RUNTIME:
		if (ev->flags & fl->off)
			kv_u(f, fl->name, fl->off == ST_SW_RAN ? ev->sw_ran :
					  fl->off == ST_SW_STOLEN ? ev->sw_stolen : ev->sw_runtime);
		break;
	default: kv_u(f, fl->name, v); break;
	}
}

/*
 * Any record the type table describes: the thread it is about (its pid as the
 * record says, or as learned), its start (its time less its duration, if it has
 * one) and end, then its fields in the table's order.
 */
static void dump_desc(struct dumper *d, const struct st_event *ev, const struct st_rec_desc *rd)
{
	const void *fx = ev->fixed_raw;
	__u32 tid = st_rec_u32(fx, rd->tid_at);
	__u64 dur = 0;

	for (int i = 0; i < 2; i++)
		learn(d, st_rec_u32(fx, rd->learn[i].tid_at), st_rec_u32(fx, rd->learn[i].pid_at));
	if (rd->dur_at)
		memcpy(&dur, (const unsigned char *)fx + rd->dur_at - 1, sizeof(dur));
	fprintf(d->f, "{\"ts\":%llu,\"type\":\"%s\"", (unsigned long long)(ev->ts - dur), rd->name);
	kv_u(d->f, "pid", rd->pid_at ? st_rec_u32(fx, rd->pid_at) : pid_of(d, tid));
	kv_u(d->f, "tid", tid);
	if (rd->dur_at)
		kv_u(d->f, "end", ev->ts);
	for (const struct st_field *fl = rd->fields; fl->name; fl++)
		dump_field(d, ev, fl);
}

static void dump_env(FILE *f, const struct st_event *ev)
{
	const char *k = NULL, *v;
	bool first = true;

	fprintf(f, "{\"ts\":%llu,\"type\":\"env\"", (unsigned long long)ev->ts);
	kv_u(f, "pid", ev->env.pid);
	kv_u(f, "tid", ev->env.pid);
	kv_s(f, "at", ev->flags & ST_ENV_ATTACH ? "attach" : "exec");
	kv_b(f, "unreadable", ev->flags & ST_ENV_UNREADABLE);
	fputs(",\"env\":{", f);
	while (st_env_next(ev, &k, &v)) {
		if (!first)
			fputc(',', f);
		first = false;
		json_str(f, k);
		fputc(':', f);
		json_str(f, v);
	}
	fputc('}', f);
}

static void dump_event(struct dumper *d, const struct st_event *ev)
{
	const struct st_rec_desc *rd = st_rec_desc(ev->type);
	FILE *f = d->f;

	switch (ev->type) {
	case ST_REC_SYSCALL:
		dump_syscall(d, ev);
		break;
	case ST_REC_ENV:
		dump_env(f, ev);
		break;
	case ST_REC_DROPS:
		fprintf(f, "{\"ts\":%llu,\"type\":\"drops\",\"pid\":0,\"tid\":0",
			(unsigned long long)ev->ts);
		dump_drops(f, &ev->drops);
		break;
	case ST_REC_TRAILER:
		fprintf(f, "{\"ts\":%llu,\"type\":\"trailer\",\"pid\":0,\"tid\":0",
			(unsigned long long)ev->ts);
		kv_u(f, "events", ev->trailer.events);
		kv_u(f, "frames", ev->trailer.frames);
		kv_u(f, "raw_bytes", ev->trailer.raw_bytes);
		kv_u(f, "stop_reason", ev->trailer.stop_reason);
		kv_b(f, "disk_full", ev->trailer.flags & ST_TRAILER_DISK_FULL);
		dump_drops(f, &ev->trailer.drops);
		break;
	default:
		if (!rd || !rd->fields)
			return;
		dump_desc(d, ev, rd);
		break;
	}
	fputs("}\n", f);
}

static void dump_header(FILE *f, const struct st_trace_info *in)
{
	fprintf(f, "{\"ts\":%llu,\"type\":\"header\",\"pid\":%u,\"tid\":0",
		(unsigned long long)in->h.start_ts, in->h.target_pid);
	kv_u(f, "version", in->h.version);
	kv_u(f, "ncpus", in->h.ncpus);
	kv_i(f, "realtime_offset", in->h.realtime_offset);
	kv_i(f, "boottime_offset", in->h.boottime_offset);
	kv_u(f, "clock_id", in->h.clock_id);
	kv_u(f, "page_size", in->h.page_size);
	kv_u(f, "event_mask", in->h.event_mask);
	kv_s(f, "tracer_version", in->tracer_version);
	kv_s(f, "hostname", in->hostname);
	kv_s(f, "kernel", in->kernel);
	kv_s(f, "mode", in->mode);
	kv_s(f, "cmdline", in->cmdline);
	kv_s(f, "options", in->options);
	if (in->irq_context)
		kv_s(f, "irq_context", in->irq_context);
	if (in->clock_error_ns)
		kv_s(f, "clock_error_ns", in->clock_error_ns);
	fputs("}\n", f);
}

int st_dump(const char *path, FILE *out, const char *prog)
{
	struct dumper d = { .f = out };
	struct st_reader *r = NULL;
	struct st_event ev;
	int ret, status = 0;

	hmap_init(&d.pid_of);
	if (st_reader__open(&r, path) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, r ? st_reader__error(r) : "out of memory");
		status = 1;
		goto out;
	}
	dump_header(out, st_reader__info(r));
	while ((ret = st_reader__next(r, &ev)) > 0)
		dump_event(&d, &ev);
	if (ret < 0) {
		fprintf(stderr, "%s: %s: read error: %s\n", prog, path, strerror(-ret));
		status = 1;
	} else if (st_reader__end(r) != ST_END_TRAILER) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, st_reader__error(r));
		status = 3;
	}
out:
	fflush(out);
	if (ferror(out) && !status)
		status = 1;
	hmap_free(&d.pid_of);
	st_reader__close(r);
	return status;
}
