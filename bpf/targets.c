// SPDX-License-Identifier: MIT
/*
 * Targets: which tasks are traced.  A task is traced when it has an entry in the
 * BPF task-storage map; user space creates entries through pidfds (thread pidfds,
 * PIDFD_THREAD, for non-leader threads), the BPF fork handler for every child of a
 * traced task.  At attach the process tree is walked from /proc, repeatedly, until
 * a walk finds nothing new: a thread forked by a task not yet marked is caught by
 * the next walk, one forked by a marked task by the fork handler.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "st_bpf.h"
#include "tracer.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

bool target__exited(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool gone;

	if (fd < 0)
		return errno == ESRCH;
	/* a pidfd reads ready once every thread of the process has exited */
	gone = poll(&p, 1, 0) == 1;
	close(fd);
	return gone;
}

int target__mark(int map_fd, pid_t tid, bool thread)
{
	struct st_task_ref v = { 0 };	/* the BPF side gives the task its slot */
	int pfd, err = 0;

	pfd = (int)syscall(SYS_pidfd_open, tid, thread ? PIDFD_THREAD : 0);
	if (pfd < 0)
		return -errno;
	if (bpf_map_update_elem(map_fd, &pfd, &v, BPF_NOEXIST) && errno != EEXIST)
		err = -errno;
	close(pfd);
	return err;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* /proc/PID/stat past the command name (after its last ')'), in buf; NULL: gone. */
static const char *stat_tail(pid_t pid, char *buf, size_t cap)
{
	char path[64], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, cap) <= 0 || !(p = strrchr(buf, ')')))
		return NULL;
	return p + 1;
}

/* The parent pid from /proc/PID/stat. */
static pid_t ppid_of(pid_t pid)
{
	char buf[1024];
	const char *p = stat_tail(pid, buf, sizeof(buf));
	int ppid;

	return p && sscanf(p, " %*c %d", &ppid) == 1 ? ppid : -1;
}

/* The state letter from /proc/PID/stat ('R', 'S', 'Z' ...), 0 when it is gone. */
static char state_of(pid_t pid)
{
	char buf[1024], st;
	const char *p = stat_tail(pid, buf, sizeof(buf));

	return p && sscanf(p, " %c", &st) == 1 ? st : 0;
}

/* The command line with NULs turned into spaces. */
static void cmdline_of(pid_t pid, char *buf, size_t cap)
{
	char path[64];
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, buf, cap);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
}

static __u8 kind_of_mode(mode_t m, const char *link)
{
	switch (m & S_IFMT) {
	case S_IFREG: return strncmp(link, "anon_inode:", 11) ? ST_FD_REG : ST_FD_ANON;
	case S_IFIFO: return ST_FD_PIPE;
	case S_IFSOCK: return ST_FD_SOCK;
	case S_IFCHR: return ST_FD_CHR;
	case S_IFBLK: return ST_FD_BLK;
	case S_IFDIR: return ST_FD_DIR;
	case S_IFLNK: return ST_FD_LNK;
	}
	return strncmp(link, "anon_inode:", 11) ? ST_FD_UNKNOWN : ST_FD_ANON;
}

static void describe_fds(struct sink *s, pid_t pid, __u64 ts)
{
	char dir[64], path[PATH_MAX + 64], link[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct st_fd r = { .pid = (__u32)pid };
		struct stat st;
		ssize_t n;

		if (!is_number(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		r.fd = atoi(de->d_name);
		if (stat(path, &st) == 0) {
			/* the trace's device numbers are the kernel's: major << 20 | minor */
			r.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
			r.ino = st.st_ino;
			r.kind = kind_of_mode(st.st_mode, link);
		}
		sink__record(s, ts, ST_REC_FD, 0, &r, sizeof(r), link, (size_t)n + 1);
	}
	closedir(d);
}

static void describe_thread(struct sink *s, pid_t pid, pid_t tid, __u64 ts)
{
	struct st_comm c = { .tid = (__u32)tid, .pid = (__u32)pid };
	char path[96], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	n = read_file(path, buf, sizeof(buf));
	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	memcpy(c.comm, buf, strnlen(buf, sizeof(c.comm)));
	sink__record(s, ts, ST_REC_COMM, ST_COMM_TRACED, &c, sizeof(c), NULL, 0);
}

/*
 * The environment variables that say which rank of which distributed job a process
 * is (torchrun/torchelastic, Slurm, Open MPI, MPICH/PMI, PMIx), and which devices it
 * sees.  Only these are recorded: an environment also holds secrets.
 */
static const char *const env_keys[] = {
	"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
	"GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_NAME", "TORCHELASTIC_RUN_ID",
	"TORCHELASTIC_RESTART_COUNT", "MASTER_ADDR", "MASTER_PORT",
	"SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID",
	"SLURM_NTASKS", "SLURMD_NODENAME",
	"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE",
	"PMI_RANK", "PMI_SIZE", "PMIX_RANK",
	"CUDA_VISIBLE_DEVICES",
};

#define ENV_VAL_MAX	256	/* longer values are cut (a run id, an address: short) */
#define ENV_READ_MAX	(4u << 20)	/* an environment is at most ARG_MAX-sized */

/* Appends "key\0value\0" when `e` ("KEY=VALUE") is wanted and not yet there. */
static void env_take(const char *e, size_t n, char *out, size_t *len, unsigned *seen)
{
	for (unsigned i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
		size_t kl = strlen(env_keys[i]), vl;

		if (n <= kl || e[kl] != '=' || memcmp(e, env_keys[i], kl))
			continue;
		if (*seen & (1u << i))
			return;		/* the first one counts, as for getenv() */
		*seen |= 1u << i;
		vl = n - kl - 1 < ENV_VAL_MAX ? n - kl - 1 : ENV_VAL_MAX;
		memcpy(out + *len, e, kl);
		out[*len + kl] = '\0';
		memcpy(out + *len + kl + 1, e + kl + 1, vl);
		out[*len + kl + 1 + vl] = '\0';
		*len += kl + vl + 2;
		return;
	}
}

/*
 * Reads the wanted keys of /proc/PID/environ (the environment the process was
 * exec'd with) into out; returns the bytes used, or -1 when it cannot be read;
 * *total: the bytes the environment had.  A zombie or a kernel thread reads as empty.
 */
static ssize_t env_read(pid_t pid, char *out, size_t *total_out)
{
	char path[64], buf[8192], ent[ENV_VAL_MAX + 64];
	size_t elen = 0, len = 0, total = 0;
	unsigned seen = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* entry by entry; ent[] holds a key and a value cut at ENV_VAL_MAX */
	while (total < ENV_READ_MAX && (n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i]) {
				if (elen < sizeof(ent))
					ent[elen++] = buf[i];
				continue;
			}
			env_take(ent, elen, out, &len, &seen);
			elen = 0;
		}
	}
	close(fd);
	*total_out = total;
	return n < 0 ? -1 : (ssize_t)len;
}

#define ENV_RETRY_US	100	/* the first wait for an exec to set up its image */
#define ENV_WAIT_US	50000	/* at most this in all (a loaded machine's exec) */

/*
 * Is pid between the two halves of an exec: its new image has no arguments and no
 * environment yet (both read as empty until the kernel has set them up), and it is
 * alive?  A process exec'd with no environment (env -i) still has its arguments; a
 * zombie or a kernel thread has neither, nor an executable.
 */
static bool in_exec(pid_t pid)
{
	char buf[PATH_MAX], path[64], st;

	cmdline_of(pid, buf, sizeof(buf));
	if (buf[0])
		return false;
	/* (a kernel thread, or a zombie, has no executable either) */
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (readlink(path, buf, sizeof(buf)) < 0)
		return false;
	st = state_of(pid);
	return st && st != 'Z' && st != 'X';
}

/*
 * While pid is in an exec, waits 0.1, 0.2, 0.4 ... ms (*waited: the us so far) and
 * says to read again, ENV_WAIT_US at most in all: under load the two halves of an
 * exec were more than 0.3 ms apart (t_tracer beside a busy machine: a process's ENV
 * record said "no job keys").
 */
static bool exec_pending(pid_t pid, unsigned *waited)
{
	unsigned us = *waited ? *waited : ENV_RETRY_US;

	if (*waited >= ENV_WAIT_US || !in_exec(pid))
		return false;
	usleep(us);
	*waited += us;
	return true;
}

void target__env(struct sink *s, pid_t pid, __u64 ts, __u8 flags)
{
	struct st_env e = { .pid = (__u32)pid };
	char out[sizeof(env_keys) / sizeof(env_keys[0]) * (ENV_VAL_MAX + 32)];
	size_t total = 0;
	unsigned waited = 0;
	ssize_t n;

	/*
	 * An environment reads as empty while its process is in its next exec (the new
	 * image's is not set up yet): t_tracer's sh exec'd sleep as the tracer read sh's,
	 * and its record said "no job keys".  Read again after that; a zombie, or a
	 * process exec'd with no environment (env -i), is read once.
	 */
	while ((n = env_read(pid, out, &total)) >= 0 && !total && exec_pending(pid, &waited))
		;
	if (n < 0)
		flags |= ST_ENV_UNREADABLE;
	sink__record(s, ts, ST_REC_ENV, flags, &e, sizeof(e), out, n > 0 ? (size_t)n : 0);
}

/*
 * The command line a process exec'd with, as a PROC record flagged ST_PROC_EXEC: the
 * exec record names the file only, and python3 running multiprocessing's spawn (a
 * data-loader worker) cannot be told from python3 running a server the job launched.
 * A process already gone leaves no record.
 */
void target__argv(struct sink *s, pid_t pid, __u64 ts)
{
	struct st_proc p = { .pid = (__u32)pid };
	unsigned waited = 0;
	char buf[4096];

	/* empty while the process is in its next exec, as its environment (target__env) */
	cmdline_of(pid, buf, sizeof(buf));
	while (!buf[0] && exec_pending(pid, &waited))
		cmdline_of(pid, buf, sizeof(buf));
	if (!buf[0])
		return;
	p.ppid = (__u32)ppid_of(pid);
	sink__record(s, ts, ST_REC_PROC, ST_PROC_EXEC, &p, sizeof(p), buf, strlen(buf) + 1);
}

void target__affinity(struct sink *s, pid_t pid, __u64 ts)
{
	struct st_affinity af = { .tid = (__u32)pid, .pid = (__u32)pid };
	static const char key[] = "\nCpus_allowed_list:";
	char path[64], buf[4096], *v, *e;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || !(v = strstr(buf, key)))
		return;
	v += sizeof(key) - 1;
	v += strspn(v, " \t");
	e = v + strcspn(v, "\n");
	*e = '\0';
	if (*v)
		sink__record(s, ts, ST_REC_AFFINITY, 0, &af, sizeof(af), v, (size_t)(e - v) + 1);
}

void target__describe(struct sink *s, pid_t pid, const char *cmdline)
{
	struct st_proc p = { .pid = (__u32)pid };
	char buf[4096], dir[64];
	__u64 ts = now_ns();
	struct dirent *de;
	DIR *d;

	p.ppid = (__u32)ppid_of(pid);
	if (!cmdline) {
		cmdline_of(pid, buf, sizeof(buf));
		cmdline = buf;
	}
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!is_number(de->d_name))
			continue;
		p.nthreads++;
		describe_thread(s, pid, atoi(de->d_name), ts);
	}
	if (d)
		closedir(d);
	sink__record(s, ts, ST_REC_PROC, 0, &p, sizeof(p), cmdline, strlen(cmdline) + 1);
	target__affinity(s, pid, ts);
	describe_fds(s, pid, ts);
	sink__add_proc(s, (__u32)pid);
}

/* One task's CPU time so far: the first figure of its schedstat, its name. */
static void runtime_of(struct sink *s, pid_t pid, pid_t tid, __u8 flags)
{
	struct st_runtime rt = { .tid = (__u32)tid, .pid = (__u32)pid };
	char path[96], buf[64];
	unsigned long long ns;
	__u64 ts = now_ns();
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%llu", &ns) != 1 || !ns)
		return;		/* gone, or never ran: nothing to say */
	rt.runtime = ns;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	n = read_file(path, buf, sizeof(buf));
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0)
		memcpy(rt.comm, buf, strnlen(buf, sizeof(rt.comm)));
	sink__record(s, ts, ST_REC_RUNTIME, flags, &rt, sizeof(rt), NULL, 0);
}

void target__runtimes(struct sink *s, bool end)
{
	DIR *d = opendir("/proc"), *t;
	struct dirent *de, *te;
	char dir[300];

	while (d && (de = readdir(d))) {
		if (!is_number(de->d_name))
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/task", de->d_name);
		if (!(t = opendir(dir)))
			continue;	/* exited meanwhile */
		while ((te = readdir(t)))
			if (is_number(te->d_name))
				runtime_of(s, atoi(de->d_name), atoi(te->d_name),
					   end ? ST_RT_END : 0);
		closedir(t);
	}
	if (d)
		closedir(d);
}

/* Marks every thread of pid; returns how many were newly marked, or -errno. */
static int mark_threads(int map_fd, pid_t pid, struct hmap *seen)
{
	char dir[64];
	struct dirent *de;
	int n = 0, err;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t tid;
		uint64_t *v;

		if (!is_number(de->d_name))
			continue;
		tid = atoi(de->d_name);
		v = hmap_slot(seen, (uint64_t)tid);
		if (!v || *v)
			continue;
		err = target__mark(map_fd, tid, tid != pid);
		if (err == -ESRCH)
			continue;	/* exited meanwhile */
		if (err) {
			closedir(d);
			return err;
		}
		*v = 1;
		n++;
	}
	closedir(d);
	return n;
}

/* Adds the descendants of the processes in `procs` to it (one /proc pass). */
static int collect_children(struct hmap *procs)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int added = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid, pp;
		uint64_t *v;

		if (!is_number(de->d_name))
			continue;
		pid = atoi(de->d_name);
		if (hmap_find(procs, (uint64_t)pid))
			continue;
		pp = ppid_of(pid);
		if (pp > 0 && hmap_find(procs, (uint64_t)pp) && (v = hmap_slot(procs, (uint64_t)pid))) {
			*v = 1;
			added++;
		}
	}
	closedir(d);
	return added;
}

int target__attach_tree(int map_fd, pid_t root, struct sink *s)
{
	struct hmap procs, seen;
	int err = 0, nprocs = 0, round, n;
	uint64_t k, v;
	size_t i;

	hmap_init(&procs);
	hmap_init(&seen);
	if (!hmap_slot(&procs, (uint64_t)root))
		return -ENOMEM;
	*hmap_find(&procs, (uint64_t)root) = 1;
	/* children listed in one pass may have children of their own: repeat */
	while ((n = collect_children(&procs)) > 0)
		;
	for (round = 0; round < 16; round++) {
		int newly = 0;

		for (i = 0; hmap_iter(&procs, &i, &k, &v);) {
			n = mark_threads(map_fd, (pid_t)k, &seen);
			if (n < 0 && (pid_t)k == root) {
				err = n;
				goto out;
			}
			newly += n > 0 ? n : 0;
		}
		newly += collect_children(&procs);
		if (!newly)
			break;
	}
	for (i = 0; hmap_iter(&procs, &i, &k, &v);) {
		target__describe(s, (pid_t)k, NULL);
		target__env(s, (pid_t)k, now_ns(), ST_ENV_ATTACH);
		nprocs++;
	}
	err = nprocs;
out:
	hmap_free(&procs);
	hmap_free(&seen);
	return err;
}

int target__user(struct target_user *u, const char *name, uid_t uid, gid_t gid)
{
	struct passwd *pw = name ? getpwnam(name) : getpwuid(uid);
	char *end;
	int n = 64;

	memset(u, 0, sizeof(*u));
	if (!pw && name && *name) {
		unsigned long v = strtoul(name, &end, 10);

		if (!*end && v <= UINT32_MAX)
			pw = getpwuid((uid_t)v);
	}
	if (!pw)
		return -ENOENT;
	u->uid = pw->pw_uid;
	u->gid = name || gid == (gid_t)-1 ? pw->pw_gid : gid;
	u->name = strdup(pw->pw_name);
	u->home = strdup(pw->pw_dir);
	u->shell = strdup(pw->pw_shell);
	if (!u->name || !u->home || !u->shell)
		return -ENOMEM;
	/* the user's groups, as a login (or sudo -u) would give them */
	for (;;) {
		gid_t *g = realloc(u->groups, (size_t)n * sizeof(*g));

		if (!g)
			return -ENOMEM;
		u->groups = g;
		if (getgrouplist(u->name, u->gid, g, &n) >= 0)
			break;
	}
	u->ngroups = n;
	u->set = true;
	return 0;
}

void target__user_free(struct target_user *u)
{
	free(u->name);
	free(u->home);
	free(u->shell);
	free(u->groups);
}

/* In the child: becomes the user (groups first, then gid, then uid: the order root can). */
static int become(const struct target_user *u)
{
	if (setgroups((size_t)u->ngroups, u->groups) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		return errno;
	if (setenv("HOME", u->home, 1) || setenv("USER", u->name, 1) ||
	    setenv("LOGNAME", u->name, 1) || setenv("SHELL", u->shell, 1))
		return errno;
	return 0;
}

/* In the child: says on the error pipe that it became the user (0) or why not. */
static void say_user(int errp, int err)
{
	if (write(errp, &err, sizeof(err)) != sizeof(err) || err)
		_exit(127);
}

static void __attribute__((noreturn)) child(char **argv, const struct target_user *u, int go,
					    int errp)
{
	char c;
	int e;

	/* as the user from the start: what it does before its exec is not traced */
	if (u && u->set)
		say_user(errp, become(u));
	/* wait until the tracer has marked us, so exec is the first thing traced */
	if (read(go, &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	e = errno;
	if (write(errp, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

pid_t target__spawn(char **argv, const struct target_user *u, int *release_fd, int *error_fd,
		    bool *as_user)
{
	int go[2], errp[2], e = 0;
	pid_t pid;

	*as_user = false;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(go[1]);
		close(errp[0]);
		child(argv, u, go[0], errp[1]);
	}
	close(go[0]);
	close(errp[1]);
	if (u && u->set && (read(errp[0], &e, sizeof(e)) != sizeof(e) || e)) {
		*as_user = true;
		close(go[1]);
		close(errp[0]);
		waitpid(pid, NULL, 0);
		return e ? -e : -ECHILD;
	}
	*release_fd = go[1];
	*error_fd = errp[0];
	return pid;
}

int target__release(int release_fd, int error_fd)
{
	int e = 0;

	if (write(release_fd, "g", 1) != 1)
		e = errno;
	close(release_fd);
	/* the error pipe closes on a successful exec (O_CLOEXEC) and reads 0 bytes */
	if (!e && read(error_fd, &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(error_fd);
	return e;
}
