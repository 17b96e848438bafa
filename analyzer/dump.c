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

static void dump_sched(struct dumper *d, const struct st_event *ev)
{
	FILE *f = d->f;

	switch (ev->type) {
	case ST_REC_SWITCH:
		head(d, ev, ev->ts, ev->sw.prev_tid);
		kv_u(f, "cpu", ev->sw.cpu);
		kv_u(f, "prev_tid", ev->sw.prev_tid);
		kv_s(f, "prev_state", st_state_name(ev->sw.prev_state));
		if (ev->sw.prev_wait)
			kv_s(f, "prev_wait", st_wait_name(ev->sw.prev_wait));
		kv_u(f, "next_tid", ev->sw.next_tid);
		kv_u(f, "next_pid", pid_of(d, ev->sw.next_tid));
		kv_b(f, "preempt", ev->flags & ST_SW_PREEMPT);
		kv_b(f, "prev_traced", ev->flags & ST_SW_PREV_TRACED);
		kv_b(f, "next_traced", ev->flags & ST_SW_NEXT_TRACED);
		if (ev->flags & ST_SW_RUNTIME)
			kv_u(f, "untraced_runtime", ev->sw_runtime);
		break;
	case ST_REC_WAKEUP:
		learn(d, ev->wk.waker_tid, ev->wk.waker_pid);
		head(d, ev, ev->ts, ev->wk.tid);
		kv_u(f, "cpu", ev->wk.target_cpu);
		kv_u(f, "waker_tid", ev->wk.waker_tid);
		kv_u(f, "waker_pid", ev->wk.waker_pid);
		kv_u(f, "waker_cpu", ev->wk.waker_cpu);
		kv_b(f, "irq", ev->flags & ST_WK_IRQ);
		kv_b(f, "softirq", ev->flags & ST_WK_SOFTIRQ);
		kv_b(f, "new", ev->flags & ST_WK_NEW);
		kv_b(f, "waker_traced", ev->flags & ST_WK_WAKER_TRACED);
		break;
	case ST_REC_MIGRATE:
		head(d, ev, ev->ts, ev->mig.tid);
		kv_u(f, "orig_cpu", ev->mig.orig_cpu);
		kv_u(f, "dest_cpu", ev->mig.dest_cpu);
		break;
	}
}

static void dump_proc(struct dumper *d, const struct st_event *ev)
{
	FILE *f = d->f;

	switch (ev->type) {
	case ST_REC_FORK:
		learn(d, ev->fork.parent_tid, ev->fork.parent_pid);
		learn(d, ev->fork.child_tid, ev->fork.child_pid);
		head(d, ev, ev->ts, ev->fork.child_tid);
		kv_u(f, "parent_tid", ev->fork.parent_tid);
		kv_u(f, "parent_pid", ev->fork.parent_pid);
		kv_b(f, "thread", ev->flags & ST_FORK_THREAD);
		kv_comm(f, "comm", ev->fork.comm);
		break;
	case ST_REC_EXEC:
		learn(d, ev->exec.tid, ev->exec.pid);
		head(d, ev, ev->ts, ev->exec.tid);
		kv_u(f, "old_tid", ev->exec.old_tid);
		kv_s(f, "filename", ev->str);
		kv_comm(f, "comm", ev->exec.comm);
		break;
	case ST_REC_EXIT:
		learn(d, ev->exit.tid, ev->exit.pid);
		head(d, ev, ev->ts, ev->exit.tid);
		kv_i(f, "exit_code", ev->exit.exit_code);
		kv_b(f, "group_dead", ev->flags & ST_EXIT_GROUP_DEAD);
		break;
	case ST_REC_COMM:
		learn(d, ev->comm.tid, ev->comm.pid);
		head(d, ev, ev->ts, ev->comm.tid);
		kv_comm(f, "comm", ev->comm.comm);
		kv_b(f, "traced", ev->flags & ST_COMM_TRACED);
		kv_b(f, "rename", ev->flags & ST_COMM_RENAME);
		break;
	case ST_REC_PROC:
		learn(d, ev->proc.pid, ev->proc.pid);
		head(d, ev, ev->ts, ev->proc.pid);
		kv_u(f, "ppid", ev->proc.ppid);
		kv_u(f, "nthreads", ev->proc.nthreads);
		kv_s(f, "cmdline", ev->str);
		break;
	case ST_REC_ENV: {
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
		break;
	}
	case ST_REC_RELEASE:
		learn(d, ev->release.tid, ev->release.pid);
		head(d, ev, ev->ts, ev->release.tid);
		break;
	case ST_REC_FD:
		fprintf(f, "{\"ts\":%llu,\"type\":\"fd\"", (unsigned long long)ev->ts);
		kv_u(f, "pid", ev->fd.pid);
		kv_u(f, "tid", ev->fd.pid);
		kv_i(f, "fd", ev->fd.fd);
		kv_s(f, "fd_kind", st_fd_kind_name(ev->fd.kind));
		kv_dev(f, "dev", ev->fd.dev);
		kv_u(f, "ino", ev->fd.ino);
		kv_s(f, "path", ev->str);
		break;
	}
}

static void dump_io(struct dumper *d, const struct st_event *ev)
{
	FILE *f = d->f;

	switch (ev->type) {
	case ST_REC_SYSCALL:
		dump_syscall(d, ev);
		break;
	case ST_REC_BLOCK:
		head(d, ev, ev->ts - ev->blk.service, ev->blk.tid);
		kv_u(f, "end", ev->ts);
		kv_dev(f, "dev", ev->blk.dev);
		kv_s(f, "op", st_blk_op_name(ev->blk.op));
		kv_u(f, "sector", ev->blk.sector);
		kv_u(f, "bytes", ev->blk.bytes);
		kv_u(f, "service_ns", ev->blk.service);
		kv_u(f, "queued_ns", ev->blk.queued);
		kv_i(f, "error", ev->blk.error);
		kv_b(f, "sync", ev->flags & ST_BLK_SYNC);
		break;
	case ST_REC_PCACHE:
		head(d, ev, ev->ts, ev->pc.tid);
		kv_dev(f, "dev", ev->pc.dev);
		kv_u(f, "ino", ev->pc.ino);
		kv_u(f, "index", ev->pc.index);
		kv_u(f, "pages", ev->pc.pages);
		break;
	case ST_REC_PROBE_DEF:
		fprintf(f, "{\"ts\":%llu,\"type\":\"probe_def\"", (unsigned long long)ev->ts);
		kv_u(f, "pid", ev->pdef.pid);
		kv_u(f, "tid", 0);
		kv_u(f, "id", ev->pdef.id);
		kv_u(f, "role", ev->pdef.role);
		kv_s(f, "library", ev->str);
		kv_s(f, "symbol", ev->str2);
		break;
	case ST_REC_PROBE:
		head(d, ev, ev->ts - ev->probe.dur, ev->probe.tid);
		kv_u(f, "end", ev->ts);
		kv_u(f, "dur", ev->probe.dur);
		kv_u(f, "id", ev->probe.id);
		break;
	}
}

static void dump_event(struct dumper *d, const struct st_event *ev)
{
	FILE *f = d->f;

	switch (ev->type) {
	case ST_REC_SWITCH:
	case ST_REC_WAKEUP:
	case ST_REC_MIGRATE:
		dump_sched(d, ev);
		break;
	case ST_REC_FORK:
	case ST_REC_EXEC:
	case ST_REC_EXIT:
	case ST_REC_COMM:
	case ST_REC_PROC:
	case ST_REC_FD:
	case ST_REC_ENV:
	case ST_REC_RELEASE:
		dump_proc(d, ev);
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
		dump_io(d, ev);
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
