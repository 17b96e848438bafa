/* SPDX-License-Identifier: MIT */
/*
 * What crosses the kernel/user boundary: the ring-buffer events the BPF programs
 * (bpf/stalltrace.bpf.c) emit and the tracer (bpf/tracer.c) turns into trace records.
 * Each event is struct st_ring_hdr followed by the record payload of include/st_format.h
 * exactly as it is written to the trace.
 */
#ifndef ST_BPF_H
#define ST_BPF_H

#include "st_format.h"

#define ST_NR_SYSCALLS	512	/* sc_class[] size: x86_64 numbers are below it */

struct st_ring_hdr {
	__u64 ts;		/* CLOCK_MONOTONIC ns, read after the ring slot was reserved */
	__u8 type;		/* enum st_rec_type */
	__u8 flags;		/* the record's flags */
	__u16 size;		/* payload bytes after this header that are valid */
	__u32 pad;
};

/*
 * A traced task's entry in the programs' task storage.  The tracer writes it, zeroed,
 * for each task it marks (attach mode, run mode's child); the programs create the
 * entries of the tasks a traced one forks.
 */
struct st_task_ref {
	__u32 slot;		/* in states[]; 0: none yet (taken at the thread's first event) */
	__u32 no_slot;		/* REF_*: no slot will be taken */
	/* the parent of a fork whose record found its ring full (0: none): the child's
	 * first program that finds room writes the record */
	__u32 late_ptid;
	__u32 late_ppid;
};

/*
 * A CPU's idle accounting, kept by the switch program at the head of its per-CPU
 * entry (cpu_cur) and read from there by the tracer (ST_REC_IDLE).  Idle time so
 * far is ns, plus now - from while from is not 0.
 */
struct st_cpu_idle {
	__u64 since;		/* the first switch seen on the CPU (0: none yet) */
	__u64 ns;		/* idle time from then to the last switch */
	__u64 from;		/* idle since then (0: a task runs) */
	__u64 clock;		/* the last switch on the CPU that read the clock */
	__u64 stolen;		/* the CPU's interrupt and steal time when idle began */
};

/* Syscall classes (sc_class[nr]): what the BPF side records for each syscall. */
#define SC_ON		(1u << 0)	/* record this syscall at all */
#define SC_FD0		(1u << 1)	/* arg0 is an fd: its identity at exit */
#define SC_FD0_ENTRY	(1u << 2)	/* arg0 fd identity taken at entry (close) */
#define SC_RETFD	(1u << 3)	/* the return value is a new fd: its identity */
#define SC_COUNT2	(1u << 4)	/* arg2 is a byte count */
#define SC_OFF3		(1u << 5)	/* arg3 is a file offset */
#define SC_PATH0	(1u << 6)	/* arg0 is a path */
#define SC_PATH1	(1u << 7)	/* arg1 is a path */
#define SC_FUTEX	(1u << 8)
#define SC_POLLFD	(1u << 9)	/* arg0 is a pollfd array, arg1 its length */
#define SC_FDS0		(1u << 10)	/* arg0 receives two fds (pipe, pipe2) */
#define SC_FDS3		(1u << 11)	/* arg3 receives two fds (socketpair) */
#define SC_TMO_SHIFT	12		/* timeout argument, 4 bits: enum sc_tmo */
#define SC_TMO_MASK	(0xfu << SC_TMO_SHIFT)
#define SC_TMO(t)	((__u32)(t) << SC_TMO_SHIFT)

enum sc_tmo {
	TMO_NONE = 0,
	TMO_MS2,	/* int milliseconds in arg2 (poll) */
	TMO_MS3,	/* int milliseconds in arg3 (epoll_wait, epoll_pwait) */
	TMO_TS0,	/* struct timespec * in arg0 (nanosleep) */
	TMO_TS2,	/* struct timespec * in arg2 (clock_nanosleep, ppoll) */
	TMO_TS3,	/* struct timespec * in arg3 (epoll_pwait2) */
	TMO_TV4,	/* struct timeval * in arg4, read at entry (select updates it) */
	TMO_TS4,	/* struct timespec * in arg4, read at entry (pselect6 updates it) */
};

#ifndef __BPF__
/* The capture flags of syscall nr (scripts/syscalls.tsv), SC_ON excluded. */
unsigned st_syscall_capture(unsigned nr);
#endif

struct st_ring_exec {
	struct st_ring_hdr h;
	struct st_exec e;
	char filename[ST_PATH_MAX];
};

#endif /* ST_BPF_H */
