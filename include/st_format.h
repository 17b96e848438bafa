/* SPDX-License-Identifier: MIT */
/*
 * stalltrace trace format, version 1.  The written spec is docs/trace-format.md;
 * this header is the one place the record layouts live.  It is shared by the BPF
 * programs (which emit the same payloads into the ring buffer), the tracer (which
 * writes them to disk) and every reader.
 *
 * A trace file is a sequence of independent zstd frames.  Decompressed, each frame
 * is a run of whole records; a frame starts with an ST_REC_TIME record so it can be
 * decoded without the frames before it.  The first frame starts with ST_REC_HEADER,
 * the last one (if the tracer finished) ends with ST_REC_TRAILER.
 *
 * Every record starts with struct st_rec: type, flags, total size in bytes (header
 * included) and the time since the previous record.  A reader skips types it does
 * not know by their size.  All integers are little-endian and fixed width; records
 * are packed (no alignment between records), readers copy them out.
 */
#ifndef ST_FORMAT_H
#define ST_FORMAT_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types in BPF programs. */
#else
#include <linux/types.h>
#endif

#define ST_MAGIC		"STALLTRC"
#define ST_MAGIC_LEN		8
#define ST_FORMAT_VERSION	1
#define ST_COMM_LEN		16
#define ST_PATH_MAX		256	/* paths captured in BPF, NUL included */
#define ST_MAX_REC_SIZE		65535
#define ST_MAX_FRAME_SIZE	(64u << 20)	/* readers reject frames decompressing larger */

enum st_rec_type {
	ST_REC_HEADER	= 1,
	ST_REC_TIME	= 2,	/* absolute time base for the records after it */
	ST_REC_TRAILER	= 3,
	ST_REC_DROPS	= 4,	/* cumulative drop counters, written at every flush */
	ST_REC_COST	= 5,	/* what the tracer cost, just before the trailer */
	ST_REC_COST_PROG = 6,	/* one BPF program's share of it, just before the COST record */
	ST_REC_SWITCH	= 10,
	ST_REC_WAKEUP	= 11,
	ST_REC_MIGRATE	= 12,
	ST_REC_IDLE	= 13,	/* a CPU's idle time so far: every 100 ms and at the end */
	ST_REC_FORK	= 20,
	ST_REC_EXEC	= 21,
	ST_REC_EXIT	= 22,
	ST_REC_COMM	= 23,	/* thread name: at first sight and on every rename */
	ST_REC_PROC	= 24,	/* a process found at attach: parent and command line */
	ST_REC_FD	= 25,	/* an fd already open at attach */
	ST_REC_ENV	= 26,	/* a process's identity from its environment (distributed rank) */
	ST_REC_RELEASE	= 27,	/* run mode: the command, started, is let go by the tracer */
	ST_REC_RUNTIME	= 28,	/* a task's CPU time so far, read when tracing starts and ends */
	ST_REC_AFFINITY	= 29,	/* the CPUs a process may run on: at attach, start and exec */
	ST_REC_SYSCALL	= 30,
	ST_REC_BLOCK	= 31,
	ST_REC_PCACHE	= 32,	/* page-cache fill outside a syscall (a fault) */
	ST_REC_PROBE_DEF = 40,	/* a user-space probe: id, library, symbol, role */
	ST_REC_PROBE	= 41,	/* one call of a probed user function */
	ST_REC_TYPE_MAX	= 64,
};

/* Event kinds for drop counters: what the BPF side failed to deliver. */
enum st_kind {
	ST_KIND_SCHED = 0,	/* switch, migrate */
	ST_KIND_WAKEUP,
	ST_KIND_PROC,		/* fork, exec, exit, comm */
	ST_KIND_SYSCALL,
	ST_KIND_BLOCK,
	ST_KIND_PCACHE,
	ST_KIND_PROBE,
	ST_KIND_STATE,		/* per-thread or per-request state that could not be stored */
	ST_KIND_MAX,
};

struct st_rec {
	__u8 type;
	__u8 flags;		/* per type */
	__u16 size;		/* whole record, this header included */
	__u32 dt;		/* ns since the previous record (or the TIME base) */
};

/*
 * Record time: the moment the event was complete.  Syscalls, block requests and
 * probes are written when they end and carry their duration, so their start is
 * record time - dur.  Within a frame record times never decrease.
 */

/*
 * ST_REC_TIME.  Flag ST_TIME_FRAME: a frame of the writer starts here, and with it
 * the per-frame state (short fd identities).  Readers go by this mark, not by the zstd
 * framing, so a trace recompressed with other frame boundaries reads the same; the
 * writer sets ST_HDR_FRAME_MARKS on the header to say it marks its frames.
 */
#define ST_TIME_FRAME		(1u << 0)
#define ST_HDR_FRAME_MARKS	(1u << 0)	/* ST_REC_HEADER flags */

struct st_time {
	__u64 ts;		/* CLOCK_MONOTONIC ns */
};

/*
 * ST_REC_HEADER: fixed part, then `strings`: NUL-terminated key, NUL-terminated
 * value pairs up to the record end.  Keys written by the tracer: tracer_version,
 * hostname, kernel, cmdline (target command line, arguments separated by spaces),
 * options (the tracer's own command line), mode (attach|run), irq_context,
 * clock_error_ns (below).
 *
 * Clocks: start_ts (CLOCK_MONOTONIC) and start_ts + realtime_offset (CLOCK_REALTIME)
 * are one instant read on both clocks: the pair that puts traces of several machines
 * on one time line.  The tracer reads MONOTONIC, REALTIME, MONOTONIC several times and
 * keeps the tightest bracket; clock_error_ns is half its width, the pair's uncertainty.
 */
struct st_header {
	char magic[ST_MAGIC_LEN];
	__u32 version;
	__u32 ncpus;
	__u64 start_ts;		/* CLOCK_MONOTONIC ns when tracing began */
	__s64 realtime_offset;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	__s64 boottime_offset;	/* CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns */
	__u32 clock_id;		/* 1 = CLOCK_MONOTONIC */
	__u32 target_pid;
	__u32 page_size;
	__u32 event_mask;	/* ST_GROUP_* captured: loaded and attached */
};

/* Event groups a user can leave out (tracer --no-EVENTS). */
#define ST_GROUP_SCHED		(1u << 0)
#define ST_GROUP_SYSCALL	(1u << 1)
#define ST_GROUP_BLOCK		(1u << 2)
#define ST_GROUP_PCACHE		(1u << 3)
#define ST_GROUP_PROBE		(1u << 4)

/* ST_REC_DROPS and the tail of ST_REC_TRAILER */
struct st_drops {
	__u32 nkinds;		/* ST_KIND_MAX of the writer */
	__u32 pad;
	__u64 count[ST_KIND_MAX];
};

/* ST_REC_TRAILER flags */
#define ST_TRAILER_DISK_FULL	(1u << 0)	/* the tracer stopped early: no space */
#define ST_TRAILER_WRITE_ERROR	(1u << 1)

struct st_trailer {
	__u64 end_ts;
	__u64 events;		/* records made, this one excluded (lost ones included) */
	__u64 raw_bytes;	/* decompressed bytes before the trailer */
	__u32 frames;		/* frames before the trailer's own */
	__u16 stop_reason;	/* enum st_stop_reason */
	__u16 flags;		/* ST_TRAILER_* */
	struct st_drops drops;
};

/*
 * ST_REC_COST, just before the trailer: what the tracer cost.  The tracer's own CPU
 * time, and its BPF programs' runs and run time as the kernel accounts them, in sample
 * windows (the accounting reads the clock twice around every run of every program on
 * the machine, so it is on only for a short window every few seconds).  An empty
 * program run under the same accounting in each window (the cheapest of 10 batches of
 * 20 runs: an interrupt inside one run would count) measures the accounting's own
 * share of a run: calib_ns / calib_runs, to take off every run.  One ST_REC_COST_PROG
 * record per program precedes it (nprogs of them).
 *
 * BPF programs' share of one CPU: sum over the programs of (run_ns - runs * calib_ns /
 * calib_runs) / sampled_ns.  The tracer's own: cpu_ns / duration.
 */
#define ST_COST_NO_STATS	(1u << 0)	/* ST_REC_COST flag: BPF statistics could not
						 * be turned on (no program figures) */

struct st_cost {
	__u64 duration;		/* ns from the start of tracing (targets marked) to the end */
	__u64 cpu_ns;		/* the tracer process's CPU time (user + system) over it */
	__u64 setup_cpu_ns;	/* its CPU time before: loading programs, marking targets */
	__u64 sampled_ns;	/* the windows' total length */
	__u64 calib_runs;	/* runs of the empty program: each window's cheapest batch */
	__u64 calib_ns;		/* and their accounted time */
	__u32 windows;
	__u32 nprogs;		/* ST_REC_COST_PROG records just before this one */
};

struct st_cost_prog {
	char name[16];		/* the BPF program's name, NUL-terminated */
	__u64 runs;		/* runs in the windows, on every CPU, for every process */
	__u64 run_ns;		/* their accounted time, the accounting's own share included */
};

enum st_stop_reason {
	ST_STOP_SIGNAL = 1,	/* SIGINT, SIGTERM, SIGHUP */
	ST_STOP_DURATION,
	ST_STOP_EXITED,		/* every traced process exited */
	ST_STOP_ERROR,
};

/* Thread state at switch-out (st_switch.prev_state). */
enum st_state {
	ST_STATE_RUNNING = 0,	/* preempted (or yielded): still runnable */
	ST_STATE_SLEEP,		/* interruptible sleep (S) */
	ST_STATE_DISK,		/* uninterruptible sleep (D), usually I/O */
	ST_STATE_STOPPED,	/* T, t */
	ST_STATE_DEAD,		/* Z, X */
	ST_STATE_IDLE,		/* I: TASK_IDLE, uninterruptible but not loading */
	ST_STATE_OTHER,
};

/* ST_REC_SWITCH flags */
#define ST_SW_PREV_TRACED	(1u << 0)
#define ST_SW_NEXT_TRACED	(1u << 1)
#define ST_SW_PREEMPT		(1u << 2)	/* involuntary: preempted by the scheduler */
/*
 * ST_SW_RUNTIME: a __u64 follows the fixed part: the CPU time the untraced side (a
 * task other than the idle task) has used since it started, in ns (the scheduler's
 * se.sum_exec_runtime), exact at this switch.  Two such records of one task give its
 * CPU time between them: what other programs took from the job.
 */
#define ST_SW_RUNTIME		(1u << 3)
/*
 * ST_SW_RAN: a __u64 follows (after the runtime, when both): the CPU time the traced
 * prev has had since the scheduler last picked it (se.sum_exec_runtime less
 * se.prev_sum_exec_runtime), in ns.  Set when the switch program did not see prev
 * come in on this CPU: the kernel does not run the switch tracepoint for every
 * switch (on this project's VMs, not for a switch away from the hypervisor agent's
 * threads), and without it the time prev ran would read as time it waited.
 */
#define ST_SW_RAN		(1u << 4)
/*
 * ST_SW_STOLEN: a __u64 follows in ST_SW_RAN's place (never both): of the time the
 * traced prev was on the CPU since the switch program switched it in, the part the
 * scheduler did not count as its CPU time, in ns: what the hypervisor ran on this
 * virtual CPU meanwhile (steal; interrupts too on kernels that account them apart).
 * Set from 20 us on.
 */
#define ST_SW_STOLEN		(1u << 5)

struct st_switch {
	__u32 prev_tid;
	__u32 next_tid;
	__u16 cpu;
	__u8 prev_state;	/* enum st_state */
	__u8 prev_wait;		/* enum st_wait: what a traced prev blocked in (S or D) */
};

/*
 * What a traced thread that left the CPU blocked (state S or D) was waiting in: the
 * kind of syscall, and for fd calls the kind of fd (poll: its first fd).  Known at
 * the switch, where a syscall record only comes when the call ends.
 */
enum st_wait {
	ST_WAIT_UNKNOWN = 0,	/* not in a syscall the tracer saw enter, preempted, or old */
	ST_WAIT_FILE,		/* an fd call on a regular file, block device or directory */
	ST_WAIT_PIPE,		/* an fd call on a pipe */
	ST_WAIT_SOCK,		/* an fd call on a socket (recv, send, connect, read, poll, ...),
				 * epoll_wait on a set that watches one (bpf: wait_epoll) */
	ST_WAIT_FUTEX,		/* futex: a lock, a condition, a semaphore */
	ST_WAIT_SLEEP,		/* nanosleep, clock_nanosleep */
	ST_WAIT_OTHER,		/* any other syscall (select, wait4, accept, epoll on no socket, ...) */
	ST_WAIT_MAX,
};

/* ST_REC_WAKEUP flags */
#define ST_WK_NEW		(1u << 0)	/* first wakeup of a new task */
/*
 * ST_WK_IRQ: woken from interrupt context (hard or soft).  There is no waker task:
 * waker_tid/waker_pid then name the task the interrupt ran on top of (0: the idle
 * task).  For a softirq that is often the task whose own action raised it, e.g. the
 * sender of loopback network traffic.
 */
#define ST_WK_IRQ		(1u << 1)
#define ST_WK_WAKER_TRACED	(1u << 2)	/* waker_tid is a traced thread */
#define ST_WK_SOFTIRQ		(1u << 3)	/* with ST_WK_IRQ: a softirq, not a hard irq */

struct st_wakeup {
	__u32 tid;		/* the thread woken */
	__u32 waker_tid;	/* with ST_WK_IRQ: the interrupted task */
	__u32 waker_pid;
	__u16 target_cpu;
	__u16 waker_cpu;
};

struct st_migrate {
	__u32 tid;
	__u16 orig_cpu;
	__u16 dest_cpu;
};

/* ST_REC_FORK flags */
#define ST_FORK_THREAD		(1u << 0)	/* the child shares the parent's thread group */
/* written when the child first ran: the fork's own record found its ring full (one
 * PROC drop counted then); the record's time is that first run's */
#define ST_FORK_LATE		(1u << 1)

struct st_fork {
	__u32 parent_tid;
	__u32 parent_pid;
	__u32 child_tid;
	__u32 child_pid;
	char comm[ST_COMM_LEN];
};

/* ST_REC_EXEC: fixed part, then the executed file name (NUL-terminated, may be cut) */
struct st_exec {
	__u32 tid;
	__u32 pid;
	__u32 old_tid;		/* a non-leader thread that exec'd takes over the pid */
	__u32 pad;
	char comm[ST_COMM_LEN];
};

/* ST_REC_EXIT flags */
#define ST_EXIT_GROUP_DEAD	(1u << 0)	/* last thread of its process */

struct st_exit {
	__u32 tid;
	__u32 pid;
	__s32 exit_code;	/* wait(2) encoding: (status << 8) | signal */
	__u32 pad;
};

/* ST_REC_COMM flags */
#define ST_COMM_TRACED		(1u << 0)	/* a traced thread (else: a waker seen once) */
#define ST_COMM_RENAME		(1u << 1)

struct st_comm {
	__u32 tid;
	__u32 pid;
	char comm[ST_COMM_LEN];
};

/*
 * ST_REC_RUNTIME: the CPU time a task has used since it started (the scheduler's
 * se.sum_exec_runtime, /proc/PID/task/TID/schedstat), in ns, read by the tracer for
 * every task of the machine when tracing starts and again when it ends; the record's
 * time is the read's (a running task's figure is as of its last tick).  With the
 * ST_SW_RUNTIME readings between them, another program's CPU time over the trace is
 * known even where it never met a traced thread: a CPU hog already running at attach,
 * on a CPU of its own.
 */
#define ST_RT_END		(1u << 0)	/* read when tracing ended (else: started) */

struct st_runtime {
	__u32 tid;
	__u32 pid;
	__u64 runtime;
	char comm[ST_COMM_LEN];
};

/*
 * ST_REC_IDLE: a CPU's idle time so far, read by the tracer every 100 ms (for the
 * CPUs whose figure changed) and when tracing ends (for all); the record's time is
 * the read's.  The switch program counts it at every context switch of the machine,
 * so it covers the CPUs and the times where no traced thread was: `idle` is the ns
 * the CPU ran its idle task from `since` (the first switch seen on it) to the
 * record's time.  since 0: no switch seen there yet, the figure says nothing.
 */
struct st_idle {
	__u32 cpu;
	__u32 pad;
	__u64 since;		/* CLOCK_MONOTONIC ns */
	__u64 idle;		/* ns */
};

/*
 * ST_REC_AFFINITY: fixed part, then the CPUs the process's first thread may run on,
 * as /proc/PID/status's Cpus_allowed_list says them ("0-3,8", NUL-terminated): its
 * affinity mask within its cpuset (taskset, a cgroup cpuset, Slurm's binding).  Read
 * for each process found at attach, for the command at start, and at every exec
 * (`taskset -c 1 python train.py` sets it before the exec); a fork inherits it.  A
 * later sched_setaffinity() of a running process is not seen.
 */
struct st_affinity {
	__u32 tid;
	__u32 pid;
};

/*
 * ST_REC_PROC: fixed part, then the command line (NUL-terminated, args space-separated).
 * A process found at attach; with ST_PROC_EXEC, the command line a traced process
 * exec'd with (the exec record has only the file), read from /proc/PID/cmdline when
 * the tracer sees the exec: nthreads is 0, and the process is not new.
 */
#define ST_PROC_EXEC		(1u << 0)

struct st_proc {
	__u32 pid;
	__u32 ppid;
	__u32 nthreads;
	__u32 pad;
};

/*
 * ST_REC_ENV: fixed part, then "key\0value\0" pairs up to the record end (none when
 * the environment had none of the keys, or could not be read).  The tracer reads
 * /proc/PID/environ when it sees a traced process exec, and for every process found
 * at attach, and keeps only the keys that say which rank of which distributed job
 * the process is (docs/trace-format.md lists them).  The record's time is the exec's
 * (the identity holds from there) or the attach scan's.  A later ENV record for the
 * same pid replaces the earlier one; a process forked without exec has its parent's.
 */
#define ST_ENV_EXEC		(1u << 0)	/* read when the process exec'd */
#define ST_ENV_ATTACH		(1u << 1)	/* read at attach */
#define ST_ENV_UNREADABLE	(1u << 2)	/* /proc/PID/environ could not be read (gone) */

struct st_env {
	__u32 pid;
	__u32 pad;
};

/*
 * ST_REC_RELEASE, run mode: the tracer forks the command's process, which waits,
 * blocked in a read of the tracer's start pipe, until the tracer has marked it and
 * lets it exec.  This record's time is the moment the tracer let it go.  That wait
 * (the read it returns from, the tracer's wakeup) is the tracer's start-up, not the
 * job's time: a reader starts the thread's life here.
 */
struct st_release {
	__u32 tid;		/* the thread that waited (the process's only one) */
	__u32 pid;
};

/* File kinds, from the inode mode of the file behind an fd. */
enum st_fd_kind {
	ST_FD_UNKNOWN = 0,
	ST_FD_REG,
	ST_FD_PIPE,
	ST_FD_SOCK,
	ST_FD_CHR,
	ST_FD_BLK,
	ST_FD_DIR,
	ST_FD_ANON,		/* anon inode: eventfd, epoll, timerfd, signalfd... */
	ST_FD_LNK,
	ST_FD_KIND_MAX,
};

/* ST_REC_FD: fixed part, then the path /proc showed (NUL-terminated) */
struct st_fd {
	__u32 pid;
	__s32 fd;
	__u32 dev;		/* device of the file: (major << 20) | minor, as every dev field */
	__u8 kind;		/* enum st_fd_kind */
	__u8 pad[3];
	__u64 ino;
};

/*
 * ST_REC_SYSCALL: one record per syscall, written at exit.  The fixed part is
 * followed by optional fields, present when their flag is set, in flag order:
 *   ST_SC_FD       st_sc_fd (the fd argument, or the fd an open returned)
 *   ST_SC_COUNT    __u64 byte count asked for (read/write family)
 *   ST_SC_OFFSET   __u64 file offset (pread/pwrite)
 *   ST_SC_FUTEX    st_sc_futex
 *   ST_SC_TIMEOUT  __s64 timeout in ns (-1: none, block forever)
 *   ST_SC_PCACHE   __u64 pages added to the page cache during the call (cache misses)
 *   ST_SC_FDS      two __s32: the fds pipe/pipe2/socketpair returned
 *   ST_SC_PATH     the path argument, NUL-terminated, to the record end
 */
#define ST_SC_FD		(1u << 0)
#define ST_SC_COUNT		(1u << 1)
#define ST_SC_OFFSET		(1u << 2)
#define ST_SC_FUTEX		(1u << 3)
#define ST_SC_TIMEOUT		(1u << 4)
#define ST_SC_PCACHE		(1u << 5)
#define ST_SC_FDS		(1u << 6)
#define ST_SC_PATH		(1u << 7)

struct st_syscall {
	__u32 tid;
	__u16 nr;		/* x86_64 syscall number */
	__u8 flags2;		/* ST_SC2_* */
	__u8 pad;
	__s64 ret;
	__u64 dur;		/* entry to exit, ns */
};

#define ST_SC2_NO_ENTRY		(1u << 0)	/* entered before tracing began: dur unknown */
/*
 * The ST_SC_FD field is short: 8 bytes (fd s32, 4 bytes of padding) instead of
 * st_sc_fd, because this thread's previous syscall on that fd in the same frame had
 * the same identity (kind, dev, ino): the reader takes it from there.
 */
#define ST_SC2_FD_SHORT		(1u << 1)
#define ST_SC_FD_SHORT_SIZE	8
/*
 * The fixed part is narrow: struct st_syscall_narrow (16 bytes: ret as s32, dur as
 * u32) because both fit.  The writer chooses; readers widen it back.
 */
#define ST_SC2_NARROW		(1u << 2)

struct st_syscall_narrow {
	__u32 tid;
	__u16 nr;
	__u8 flags2;
	__u8 pad;
	__s32 ret;
	__u32 dur;
};

struct st_sc_fd {
	__s32 fd;
	__u8 kind;		/* enum st_fd_kind */
	__u8 pad[3];
	__u32 dev;
	__u32 pad2;
	__u64 ino;
};

struct st_sc_futex {
	__u64 uaddr;
	__u32 op;
	__u32 val;
};

/* ST_REC_BLOCK: a block request, written at completion. */
enum st_blk_op {
	ST_BLK_READ = 0,
	ST_BLK_WRITE,
	ST_BLK_FLUSH,
	ST_BLK_DISCARD,
	ST_BLK_OTHER,
};

#define ST_BLK_SYNC		(1u << 0)
#define ST_BLK_META		(1u << 1)
#define ST_BLK_FUA		(1u << 2)

struct st_block {
	__u32 tid;		/* traced thread that submitted it */
	__u32 pid;
	__u32 dev;		/* (major << 20) | minor */
	__u32 bytes;
	__u64 sector;
	__u64 service;		/* issue to device -> completion, ns */
	__u64 queued;		/* submission -> issue, ns */
	__u8 op;		/* enum st_blk_op */
	__u8 pad;
	__s16 error;
	__u32 pad2;
};

/* ST_REC_PCACHE: pages a traced thread added to the page cache outside a syscall. */
struct st_pcache {
	__u32 tid;
	__u32 dev;
	__u64 ino;
	__u64 index;		/* first page index */
	__u32 pages;
	__u32 pad;
};

/* ST_REC_PROBE_DEF: fixed part, then "library\0symbol\0" */
enum st_probe_role {
	ST_PROBE_PLAIN = 0,	/* a user probe: duration only */
	ST_PROBE_STEP,		/* each call marks a training step boundary */
	ST_PROBE_GPU_SYNC,	/* a synchronising CUDA call: its time is gpu_wait */
	ST_PROBE_GPU_LAUNCH,	/* a kernel launch: counted */
};

struct st_probe_def {
	__u32 id;
	__u32 role;		/* enum st_probe_role */
	__u32 pid;		/* process the probe was attached in (0: all) */
	__u32 pad;
};

/* ST_REC_PROBE flags */
#define ST_PROBE_NESTED		(1u << 0)	/* called inside another probed call */

#define ST_PROBE_DEPTH		4		/* nested probed calls timed per thread */

struct st_probe {
	__u32 tid;
	__u32 id;
	__u64 dur;		/* entry to return, ns (0 for marks and launches) */
};

#ifndef __BPF__
#define ST_STATIC_SIZE(t, n) _Static_assert(sizeof(t) == (n), "size of " #t)
ST_STATIC_SIZE(struct st_rec, 8);
ST_STATIC_SIZE(struct st_time, 8);
ST_STATIC_SIZE(struct st_header, 56);
ST_STATIC_SIZE(struct st_drops, 8 + 8 * ST_KIND_MAX);
ST_STATIC_SIZE(struct st_trailer, 32 + sizeof(struct st_drops));
ST_STATIC_SIZE(struct st_cost, 56);
ST_STATIC_SIZE(struct st_cost_prog, 32);
ST_STATIC_SIZE(struct st_switch, 12);
ST_STATIC_SIZE(struct st_wakeup, 16);
ST_STATIC_SIZE(struct st_migrate, 8);
ST_STATIC_SIZE(struct st_fork, 32);
ST_STATIC_SIZE(struct st_exec, 32);
ST_STATIC_SIZE(struct st_exit, 16);
ST_STATIC_SIZE(struct st_comm, 24);
ST_STATIC_SIZE(struct st_proc, 16);
ST_STATIC_SIZE(struct st_fd, 24);
ST_STATIC_SIZE(struct st_env, 8);
ST_STATIC_SIZE(struct st_affinity, 8);
ST_STATIC_SIZE(struct st_idle, 24);
ST_STATIC_SIZE(struct st_release, 8);
ST_STATIC_SIZE(struct st_syscall, 24);
ST_STATIC_SIZE(struct st_sc_fd, 24);
ST_STATIC_SIZE(struct st_syscall_narrow, 16);
ST_STATIC_SIZE(struct st_sc_futex, 16);
ST_STATIC_SIZE(struct st_block, 48);
ST_STATIC_SIZE(struct st_pcache, 32);
ST_STATIC_SIZE(struct st_probe_def, 16);
ST_STATIC_SIZE(struct st_probe, 16);
#endif

#endif /* ST_FORMAT_H */
