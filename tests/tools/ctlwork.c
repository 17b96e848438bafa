// SPDX-License-Identifier: MIT
/*
 * ctlwork: a workload whose every traced action is known, for the tracer tests.
 *
 *   ctlwork FILE N M K T [HOLD_FD]
 *
 * The process forks a child that renames itself "ctl-child", opens FILE, does
 * exactly N preads of M bytes (FILE must hold N*M bytes), N writes of 8 bytes to a
 * pipe the parent reads, forks K grandchildren (grandchild i exits with status
 * 10+i), starts T threads (thread j names itself "ctl-thr<j>" and exits), waits for
 * them all and exits 3.  The parent reads the pipe to EOF, waits for the child and
 * prints one JSON line with the pids and tids involved.
 *
 * The child writes only once the parent sleeps (in its read of the pipe: its only
 * wait after the fork), so that the first write wakes it, however loaded the machine
 * (a parent kept off the CPUs until the child is done would find the data there,
 * and nothing would wake it).
 *
 * With HOLD_FD, the parent first writes its pid to that fd and waits until it can
 * read a byte from stdin: an `attach` test starts it, attaches, then lets it go.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_reads, n_forks, n_threads;
static size_t m_bytes;
static pid_t thread_tids[64];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *thread_main(void *arg)
{
	long j = (long)arg;
	char name[16];

	snprintf(name, sizeof(name), "ctl-thr%ld", j);
	pthread_setname_np(pthread_self(), name);
	thread_tids[j] = gettid();
	return NULL;
}

/* Waits (60 s at most) until the parent sleeps: its state in /proc/PID/stat is S. */
static void wait_parent_asleep(void)
{
	struct timespec t0, now;
	char path[64], st[512], *r;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getppid());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, st, sizeof(st) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			die(path);
		st[n] = 0;
		r = strrchr(st, ')');	/* the state follows the comm, which may hold ')' */
		if (r && r[1] == ' ' && r[2] == 'S')
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 60) {
			fprintf(stderr, "ctlwork: the parent never slept\n");
			return;
		}
		sched_yield();
	}
}

static void child(const char *file, int wfd)
{
	char *buf = malloc(m_bytes), msg[8] = "batch!!";
	pthread_t th[64];
	int fd, i;

	prctl(PR_SET_NAME, "ctl-child");
	fd = open(file, O_RDONLY);
	if (fd < 0 || !buf)
		die("open");
	for (i = 0; i < n_reads; i++)
		if (pread(fd, buf, m_bytes, (off_t)i * (off_t)m_bytes) != (ssize_t)m_bytes)
			die("pread");
	wait_parent_asleep();
	for (i = 0; i < n_reads; i++)
		if (write(wfd, msg, sizeof(msg)) != sizeof(msg))
			die("write");
	close(wfd);
	for (i = 0; i < n_forks; i++) {
		pid_t p = fork();

		if (p == 0)
			_exit(10 + i);
		if (p < 0)
			die("fork");
		printf("{\"grandchild\":%d,\"status\":%d}\n", p, 10 + i);
	}
	for (i = 0; i < n_forks; i++)
		wait(NULL);
	for (i = 0; i < n_threads; i++)
		pthread_create(&th[i], NULL, thread_main, (void *)(long)i);
	for (i = 0; i < n_threads; i++) {
		pthread_join(th[i], NULL);
		printf("{\"thread\":%d,\"name\":\"ctl-thr%d\"}\n", thread_tids[i], i);
	}
	fflush(stdout);
	_exit(3);
}

int main(int argc, char **argv)
{
	char buf[4096];
	int p[2], status;
	long total = 0;
	ssize_t n;
	pid_t pid;

	if (argc < 6) {
		fprintf(stderr, "usage: ctlwork FILE N M K T [HOLD_FD]\n");
		return 2;
	}
	n_reads = atoi(argv[2]);
	m_bytes = (size_t)atol(argv[3]);
	n_forks = atoi(argv[4]);
	n_threads = atoi(argv[5]);
	if (n_threads > 64 || n_reads < 0 || n_forks < 0 || !m_bytes)
		return 2;
	if (argc > 6) {
		dprintf(atoi(argv[6]), "%d\n", getpid());
		close(atoi(argv[6]));
		if (read(0, buf, 1) != 1)
			return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(p))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(argv[1], p[1]);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		total += n;
	waitpid(pid, &status, 0);
	printf("{\"parent\":%d,\"child\":%d,\"pipe_bytes\":%ld,\"child_status\":%d}\n", getpid(),
	       pid, total, WEXITSTATUS(status));
	return 0;
}
