// SPDX-License-Identifier: MIT
/*
 * The record-type table: everything a consumer of the format needs to know about a
 * record type, in one place.  The reader decodes and checks the generic records
 * with it, `--dump` prints them, stgen writes them, the tracer counts its drops
 * and leaves event groups out by it.  A new record type is a row here (and its
 * struct in include/st_format.h); only records with variable parts (syscalls, drop
 * counters, the trailer, environments) have code of their own.
 */
#include <stddef.h>
#include <string.h>

#include "st_trace.h"

#define F(n, type_, member, t) { n, offsetof(type_, member), t, 0 }
#define FLAG(n, bit) { n, bit, ST_F_FLAG, 0 }
#define STR(n, i) { n, i, ST_F_STR, 0 }

static const struct st_field f_switch[] = {
	F("cpu", struct st_switch, cpu, ST_F_U16),
	F("prev_tid", struct st_switch, prev_tid, ST_F_U32),
	F("prev_state", struct st_switch, prev_state, ST_F_STATE),
	{ "prev_wait", offsetof(struct st_switch, prev_wait), ST_F_WAIT, 1 },
	F("next_tid", struct st_switch, next_tid, ST_F_U32),
	{ "next_pid", offsetof(struct st_switch, next_tid), ST_F_PIDOF, 0 },
	FLAG("preempt", ST_SW_PREEMPT),
	FLAG("prev_traced", ST_SW_PREV_TRACED),
	FLAG("next_traced", ST_SW_NEXT_TRACED),
	{ "untraced_runtime", ST_SW_RUNTIME, ST_F_RUNTIME, 0 },
	{ "ran", ST_SW_RAN, ST_F_RUNTIME, 0 },
	{ "stolen", ST_SW_STOLEN, ST_F_RUNTIME, 0 },
	{ 0 },
};

static const struct st_field f_wakeup[] = {
	F("cpu", struct st_wakeup, target_cpu, ST_F_U16),
	F("waker_tid", struct st_wakeup, waker_tid, ST_F_U32),
	F("waker_pid", struct st_wakeup, waker_pid, ST_F_U32),
	F("waker_cpu", struct st_wakeup, waker_cpu, ST_F_U16),
	FLAG("irq", ST_WK_IRQ),
	FLAG("softirq", ST_WK_SOFTIRQ),
	FLAG("new", ST_WK_NEW),
	FLAG("waker_traced", ST_WK_WAKER_TRACED),
	{ 0 },
};

static const struct st_field f_migrate[] = {
	F("orig_cpu", struct st_migrate, orig_cpu, ST_F_U16),
	F("dest_cpu", struct st_migrate, dest_cpu, ST_F_U16),
	{ 0 },
};

static const struct st_field f_idle[] = {
	F("cpu", struct st_idle, cpu, ST_F_U32),
	F("since", struct st_idle, since, ST_F_U64),
	F("idle", struct st_idle, idle, ST_F_U64),
	{ 0 },
};

static const struct st_field f_fork[] = {
	F("parent_tid", struct st_fork, parent_tid, ST_F_U32),
	F("parent_pid", struct st_fork, parent_pid, ST_F_U32),
	FLAG("thread", ST_FORK_THREAD),
	FLAG("late", ST_FORK_LATE),
	F("comm", struct st_fork, comm, ST_F_COMM),
	{ 0 },
};

static const struct st_field f_exec[] = {
	F("old_tid", struct st_exec, old_tid, ST_F_U32),
	STR("filename", 0),
	F("comm", struct st_exec, comm, ST_F_COMM),
	{ 0 },
};

static const struct st_field f_exit[] = {
	F("exit_code", struct st_exit, exit_code, ST_F_S32),
	FLAG("group_dead", ST_EXIT_GROUP_DEAD),
	{ 0 },
};

static const struct st_field f_comm[] = {
	F("comm", struct st_comm, comm, ST_F_COMM),
	FLAG("traced", ST_COMM_TRACED),
	FLAG("rename", ST_COMM_RENAME),
	{ 0 },
};

static const struct st_field f_runtime[] = {
	F("runtime", struct st_runtime, runtime, ST_F_U64),
	F("comm", struct st_runtime, comm, ST_F_COMM),
	FLAG("end", ST_RT_END),
	{ 0 },
};

static const struct st_field f_proc[] = {
	F("ppid", struct st_proc, ppid, ST_F_U32),
	F("nthreads", struct st_proc, nthreads, ST_F_U32),
	{ "exec", ST_PROC_EXEC, ST_F_FLAG, 1 },	/* shown when set: an exec's command line */
	STR("cmdline", 0),
	{ 0 },
};

static const struct st_field f_fd[] = {
	F("fd", struct st_fd, fd, ST_F_S32),
	F("fd_kind", struct st_fd, kind, ST_F_FDKIND),
	F("dev", struct st_fd, dev, ST_F_DEV),
	F("ino", struct st_fd, ino, ST_F_U64),
	STR("path", 0),
	{ 0 },
};

static const struct st_field f_release[] = { { 0 } };

static const struct st_field f_affinity[] = {
	STR("cpus", 0),
	{ 0 },
};

static const struct st_field f_block[] = {
	F("dev", struct st_block, dev, ST_F_DEV),
	F("op", struct st_block, op, ST_F_BLKOP),
	F("sector", struct st_block, sector, ST_F_U64),
	F("bytes", struct st_block, bytes, ST_F_U32),
	F("service_ns", struct st_block, service, ST_F_U64),
	F("queued_ns", struct st_block, queued, ST_F_U64),
	F("error", struct st_block, error, ST_F_S16),
	FLAG("sync", ST_BLK_SYNC),
	{ 0 },
};

static const struct st_field f_pcache[] = {
	F("dev", struct st_pcache, dev, ST_F_DEV),
	F("ino", struct st_pcache, ino, ST_F_U64),
	F("index", struct st_pcache, index, ST_F_U64),
	F("pages", struct st_pcache, pages, ST_F_U32),
	{ 0 },
};

static const struct st_field f_probe_def[] = {
	F("id", struct st_probe_def, id, ST_F_U32),
	F("role", struct st_probe_def, role, ST_F_U32),
	STR("library", 0),
	STR("symbol", 1),
	{ 0 },
};

static const struct st_field f_probe[] = {
	F("dur", struct st_probe, dur, ST_F_U64),
	F("id", struct st_probe, id, ST_F_U32),
	{ 0 },
};

static const struct st_field f_cost[] = {
	F("duration", struct st_cost, duration, ST_F_U64),
	F("cpu_ns", struct st_cost, cpu_ns, ST_F_U64),
	F("setup_cpu_ns", struct st_cost, setup_cpu_ns, ST_F_U64),
	F("sampled_ns", struct st_cost, sampled_ns, ST_F_U64),
	F("windows", struct st_cost, windows, ST_F_U32),
	F("calib_runs", struct st_cost, calib_runs, ST_F_U64),
	F("calib_ns", struct st_cost, calib_ns, ST_F_U64),
	F("nprogs", struct st_cost, nprogs, ST_F_U32),
	FLAG("no_stats", ST_COST_NO_STATS),
	{ 0 },
};

static const struct st_field f_cost_prog[] = {
	F("name", struct st_cost_prog, name, ST_F_COMM),
	F("runs", struct st_cost_prog, runs, ST_F_U64),
	F("run_ns", struct st_cost_prog, run_ns, ST_F_U64),
	{ 0 },
};

/* offsets + 1 in the table, so that 0 (left out) means "none" */
#define AT(type_, member) (offsetof(type_, member) + 1)
#define REC(n, type_, tails_, kind_, group_) \
	.name = n, .fixed = sizeof(type_), .tails = tails_, .kind = kind_, .group = group_
/* a record about thread `tid` of process `pid` (both learned for the pid of later tids) */
#define ABOUT(type_, tid, pid) .tid_at = AT(type_, tid), .learn = { { AT(type_, tid), AT(type_, pid) } }

static const struct st_rec_desc descs[ST_REC_TYPE_MAX] = {
	[ST_REC_HEADER] = { .name = "header", .kind = ST_KIND_MAX },
	[ST_REC_TIME] = { .name = "time", .kind = ST_KIND_MAX },
	[ST_REC_TRAILER] = { .name = "trailer", .kind = ST_KIND_MAX },
	[ST_REC_DROPS] = { .name = "drops", .kind = ST_KIND_MAX },
	[ST_REC_COST] = { REC("cost", struct st_cost, 0, ST_KIND_MAX, 0), .fields = f_cost },
	[ST_REC_COST_PROG] = { REC("cost_prog", struct st_cost_prog, 0, ST_KIND_MAX, 0),
			       .fields = f_cost_prog },
	[ST_REC_SWITCH] = { REC("switch", struct st_switch, 0, ST_KIND_SCHED, ST_GROUP_SCHED),
			    .tid_at = AT(struct st_switch, prev_tid), .fields = f_switch },
	[ST_REC_WAKEUP] = { REC("wakeup", struct st_wakeup, 0, ST_KIND_WAKEUP, ST_GROUP_SCHED),
			    .tid_at = AT(struct st_wakeup, tid),
			    .learn = { { AT(struct st_wakeup, waker_tid), AT(struct st_wakeup, waker_pid) } },
			    .fields = f_wakeup },
	[ST_REC_MIGRATE] = { REC("migrate", struct st_migrate, 0, ST_KIND_SCHED, ST_GROUP_SCHED),
			     .tid_at = AT(struct st_migrate, tid), .fields = f_migrate },
	[ST_REC_IDLE] = { REC("idle", struct st_idle, 0, ST_KIND_MAX, ST_GROUP_SCHED),
			  .fields = f_idle },
	[ST_REC_FORK] = { REC("fork", struct st_fork, 0, ST_KIND_PROC, 0),
			  .tid_at = AT(struct st_fork, child_tid),
			  .learn = { { AT(struct st_fork, parent_tid), AT(struct st_fork, parent_pid) },
				     { AT(struct st_fork, child_tid), AT(struct st_fork, child_pid) } },
			  .fields = f_fork },
	[ST_REC_EXEC] = { REC("exec", struct st_exec, 1, ST_KIND_PROC, 0),
			  ABOUT(struct st_exec, tid, pid), .fields = f_exec },
	[ST_REC_EXIT] = { REC("exit", struct st_exit, 0, ST_KIND_PROC, 0),
			  ABOUT(struct st_exit, tid, pid), .fields = f_exit },
	[ST_REC_COMM] = { REC("comm", struct st_comm, 0, ST_KIND_PROC, 0),
			  ABOUT(struct st_comm, tid, pid), .fields = f_comm },
	[ST_REC_PROC] = { REC("proc", struct st_proc, 1, ST_KIND_MAX, 0),
			  ABOUT(struct st_proc, pid, pid), .fields = f_proc },
	[ST_REC_FD] = { REC("fd", struct st_fd, 1, ST_KIND_MAX, 0),
			.tid_at = AT(struct st_fd, pid), .pid_at = AT(struct st_fd, pid),
			.fields = f_fd },
	[ST_REC_ENV] = { REC("env", struct st_env, ST_TAILS_KV, ST_KIND_MAX, 0),
			 .tid_at = AT(struct st_env, pid), .pid_at = AT(struct st_env, pid) },
	[ST_REC_RELEASE] = { REC("release", struct st_release, 0, ST_KIND_MAX, 0),
			     ABOUT(struct st_release, tid, pid), .fields = f_release },
	[ST_REC_RUNTIME] = { REC("runtime", struct st_runtime, 0, ST_KIND_MAX, 0),
			     ABOUT(struct st_runtime, tid, pid), .fields = f_runtime },
	[ST_REC_AFFINITY] = { REC("affinity", struct st_affinity, 1, ST_KIND_MAX, 0),
			      ABOUT(struct st_affinity, tid, pid), .fields = f_affinity },
	[ST_REC_SYSCALL] = { .name = "syscall", .kind = ST_KIND_SYSCALL, .group = ST_GROUP_SYSCALL },
	[ST_REC_BLOCK] = { REC("block", struct st_block, 0, ST_KIND_BLOCK, ST_GROUP_BLOCK),
			   .tid_at = AT(struct st_block, tid), .dur_at = AT(struct st_block, service),
			   .fields = f_block },
	[ST_REC_PCACHE] = { REC("pcache", struct st_pcache, 0, ST_KIND_PCACHE, ST_GROUP_PCACHE),
			    .tid_at = AT(struct st_pcache, tid), .fields = f_pcache },
	[ST_REC_PROBE_DEF] = { REC("probe_def", struct st_probe_def, 2, ST_KIND_MAX, ST_GROUP_PROBE),
			       .pid_at = AT(struct st_probe_def, pid), .fields = f_probe_def },
	[ST_REC_PROBE] = { REC("probe", struct st_probe, 0, ST_KIND_PROBE, ST_GROUP_PROBE),
			   .tid_at = AT(struct st_probe, tid), .dur_at = AT(struct st_probe, dur),
			   .fields = f_probe },
};

const struct st_rec_desc *st_rec_desc(unsigned type)
{
	return type < ST_REC_TYPE_MAX && descs[type].name ? &descs[type] : NULL;
}

/* A field's value as an integer (signed types sign-extended); 0 for strings, flags. */
__u64 st_field_u64(const struct st_field *f, const void *fixed)
{
	const unsigned char *p = (const unsigned char *)fixed + f->off;
	__u16 v16;
	__u32 v32;
	__u64 v64;

	switch (f->type) {
	case ST_F_U8: case ST_F_STATE: case ST_F_WAIT: case ST_F_FDKIND: case ST_F_BLKOP:
		return *p;
	case ST_F_U16: memcpy(&v16, p, 2); return v16;
	case ST_F_S16: memcpy(&v16, p, 2); return (__u64)(__s64)(__s16)v16;
	case ST_F_U32: case ST_F_DEV: case ST_F_PIDOF: memcpy(&v32, p, 4); return v32;
	case ST_F_S32: memcpy(&v32, p, 4); return (__u64)(__s64)(__s32)v32;
	case ST_F_U64: memcpy(&v64, p, 8); return v64;
	default: return 0;
	}
}

/* Reads the u32 at an offset + 1 of the table (0: none) of a fixed part. */
__u32 st_rec_u32(const void *fixed, __u16 at)
{
	__u32 v = 0;

	if (at)
		memcpy(&v, (const unsigned char *)fixed + at - 1, 4);
	return v;
}
