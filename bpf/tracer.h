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
	const char *user;	/* --user */
	bool cuda;
	bool steps;		/* --steps: the marker library */
	bool torch_steps;	/* --torch-steps: PyTorch's backward() */
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
__u64 sink__late(const struct sink *s);
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
 * The CPU time so far of every task of the machine (RUNTIME records): when tracing
 * starts and (end) when it ends, so that other programs' CPU time is known in full.
 */
void target__runtimes(struct sink *s, bool end);
/*
 * Queues an ENV record for pid at ts (flags: ST_ENV_EXEC or ST_ENV_ATTACH): the
 * distributed-job keys of its environment, read from /proc/PID/environ.
 */
void target__env(struct sink *s, pid_t pid, __u64 ts, __u8 flags);
/* Queues a PROC record (ST_PROC_EXEC) for pid at ts: the command line it exec'd with. */
void target__argv(struct sink *s, pid_t pid, __u64 ts);
/* Queues an AFFINITY record for pid at ts: the CPUs it may run on (Cpus_allowed_list). */
void target__affinity(struct sink *s, pid_t pid, __u64 ts);

/* Who the command runs as, and who gets the trace (tracer run under sudo, --user). */
struct target_user {
	bool set;		/* else: as the tracer, root */
	uid_t uid;
	gid_t gid;
	gid_t *groups;		/* supplementary */
	int ngroups;
	char *name, *home, *shell;
};

/*
 * The user `name` (a name or a number) with its primary group, or, for a NULL
 * name, user `uid` with group `gid` (SUDO_UID, SUDO_GID; -1: the user's primary
 * group); with the user's supplementary groups.
 * 0, -ENOENT (no such user) or -ENOMEM.
 */
int target__user(struct target_user *u, const char *name, uid_t uid, gid_t gid);
void target__user_free(struct target_user *u);
/*
 * Starts argv stopped before exec, as user u when it is set (its groups, gid and
 * uid, and HOME, USER, LOGNAME, SHELL); target__release() lets it exec.  Returns
 * the child pid or -errno (*as_user: it could not become the user).
 */
pid_t target__spawn(char **argv, const struct target_user *u, int *release_fd, int *error_fd,
		    bool *as_user);
/* Lets the child exec; returns 0 or the child's exec errno (positive) if exec failed. */
int target__release(int release_fd, int error_fd);

__u64 now_ns(void);

/* ------------------------------------------------------------ cost (cost.c) */

struct cost;
struct bpf_object;

/* The cost accounting of the loaded programs of obj. */
int cost__new(struct cost **c, struct bpf_object *obj);
/* Tracing begins at now: the tracer's CPU time so far was its start-up. */
void cost__start(struct cost *c, __u64 now);
/* Opens and closes the sample windows of BPF statistics; call at every poll. */
void cost__tick(struct cost *c, __u64 now);
/* Writes the COST_PROG records and the COST record at the end of tracing. */
int cost__write(struct cost *c, struct st_writer *w, __u64 now);
void cost__free(struct cost *c);

/* ------------------------------------------------------------ status line (status.c) */

/* Keeps the terminal's last row for the status, when stderr is a terminal. */
void status__start(void);
void status__draw(const char *text);
/* Gives the row back. */
void status__end(void);

#endif /* ST_TRACER_H */
