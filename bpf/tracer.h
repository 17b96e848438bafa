/* SPDX-License-Identifier: MIT */
/* The tracer's user-space modules: targets (which tasks), sink (ring -> trace file). */
#ifndef ST_TRACER_H
#define ST_TRACER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hmap.h"
#include "st_trace.h"

struct tracer_opts {
	const char *output;
	double duration;	/* seconds, 0 = until stopped */
	unsigned buffer_mb;
	int level;		/* 0: adapt to the event rate */
	bool force, verbose, quiet;
	__u32 groups;		/* ST_GROUP_* to capture */
	pid_t pid;		/* attach */
	char **argv;		/* run */
	bool cuda;
	bool steps;		/* --steps: the marker library */
	char **uprobes;		/* LIB:SYMBOL[:step] specs */
	int nuprobes;
	char *cmdline;		/* the tracer's own command line, for the header */
};

/* ------------------------------------------------------------ sink */

struct sink;

/* A sink merging `nrings` per-CPU rings and the records made in user space. */
int sink__new(struct sink **s, struct st_writer *w, unsigned nrings);
/* Queues one event (st_ring_hdr + payload) from ring `ring`; returns 0 or -errno. */
int sink__event(struct sink *s, unsigned ring, const void *data, size_t len);
/* Queues a record made in user space (attach-time scan, probe definitions). */
int sink__record(struct sink *s, __u64 ts, __u8 type, __u8 flags, const void *a, size_t alen,
		 const void *b, size_t blen);
/* Writes every queued record older than `horizon` (all when horizon is UINT64_MAX). */
int sink__drain(struct sink *s, __u64 horizon);
void sink__free(struct sink *s);
__u64 sink__events(const struct sink *s);
/* Processes (thread-group ids) alive among the traced, as seen from fork/exit events. */
size_t sink__live_procs(const struct sink *s);
void sink__add_proc(struct sink *s, __u32 pid);
/*
 * pid was found gone at time ts with no exit seen (it exited before it was marked,
 * or was a zombie): it leaves the live ones once the records up to ts are drained.
 */
void sink__proc_gone(struct sink *s, __u32 pid, __u64 ts);
/* Iterates the live traced processes: for (size_t i = 0, pid; sink__proc_iter(s, &i, &pid);) */
bool sink__proc_iter(const struct sink *s, size_t *i, size_t *pid);

/* ------------------------------------------------------------ targets */

/* Whether process pid has exited: gone, or a zombie its parent has not reaped. */
bool target__exited(pid_t pid);
/* Marks tid as traced in the task-storage map; 0, or -errno (-ESRCH: gone). */
int target__mark(int map_fd, pid_t tid, bool thread);
/*
 * Marks pid, its threads, and all its descendants (repeating the /proc walk until
 * it finds nothing new), and queues PROC, COMM and FD records for what it found.
 * Returns the number of processes marked, or -errno.
 */
int target__attach_tree(int map_fd, pid_t pid, struct sink *s);
/* Queues PROC, COMM and FD records for one process. */
void target__describe(struct sink *s, pid_t pid, const char *cmdline);
/*
 * Queues an ENV record for pid at ts (flags: ST_ENV_EXEC or ST_ENV_ATTACH): the
 * distributed-job keys of its environment, read from /proc/PID/environ.
 */
void target__env(struct sink *s, pid_t pid, __u64 ts, __u8 flags);

/*
 * Starts argv stopped before exec; target__release() lets it exec.  Returns the
 * child pid or -errno.
 */
pid_t target__spawn(char **argv, int *release_fd, int *error_fd);
/* Lets the child exec; returns 0 or the child's exec errno (positive) if exec failed. */
int target__release(int release_fd, int error_fd);

__u64 now_ns(void);

#endif /* ST_TRACER_H */
