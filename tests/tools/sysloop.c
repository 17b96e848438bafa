// SPDX-License-Identifier: MIT
/*
 * sysloop N [THREADS [SPAWN]]: THREADS threads each make N getppid() syscalls (a
 * syscall with no work in it, so the tracer's per-syscall cost is what changes) and
 * the program prints {"calls":..., "ns_per_call":..., "min_ns_per_call":...} measured
 * with CLOCK_MONOTONIC.
 *
 * SPAWN: after each of its first SPAWN chunks the first thread starts a new thread,
 * or (every other time) forks a process, which makes CHUNK getppid calls and ends:
 * tasks born in the middle of the flood, which a tracer's rings may have no room
 * for.  "calls" counts theirs too.
 *
 * ns_per_call is the whole run's wall time per call (per thread).  min_ns_per_call
 * is the fastest chunk of CHUNK calls of any thread: on a machine others share, most
 * chunks still run without being preempted or interrupted, and the fastest one is
 * the cost of a call itself, where the mean also holds everyone else's work.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	1000

static long n_calls;
static int n_spawn;

static void calls(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void *spawned(void *arg)
{
	(void)arg;
	calls(CHUNK);
	return NULL;
}

/* The SPAWN-th task born, by the first thread: a thread, or a process every other time */
static void spawn(int k, pthread_t *th)
{
	pid_t pid;

	if (k % 2 == 0) {
		if (pthread_create(th, NULL, spawned, NULL))
			abort();
		return;
	}
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		calls(CHUNK);
		_exit(0);
	}
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Returns the fastest chunk's ns per call (in a double the caller frees). */
static void *loop(void *arg)
{
	double *best = malloc(sizeof(*best)), t0 = now_ns(), t1;
	pthread_t *kids = arg;
	long i = 0, end;
	int k = 0;

	if (best)
		*best = 1e18;
	while (i < n_calls) {
		end = i + CHUNK < n_calls ? i + CHUNK : n_calls;
		calls(end - i);
		i = end;
		if (kids && k < n_spawn) {
			spawn(k, &kids[k]);
			k++;
		}
		t1 = now_ns();
		if (best && end % CHUNK == 0 && (t1 - t0) / CHUNK < *best)
			*best = (t1 - t0) / CHUNK;
		t0 = t1;
	}
	return best;
}

int main(int argc, char **argv)
{
	pthread_t th[64], kids[256];
	int nt = argc > 2 ? atoi(argv[2]) : 1, i;
	double ns, a, best = 1e18, *b;

	n_calls = argc > 1 ? atol(argv[1]) : 1000000;
	n_spawn = argc > 3 ? atoi(argv[3]) : 0;
	if (n_calls <= 0 || nt < 1 || nt > 64 || n_spawn < 0 || n_spawn > 256 ||
	    n_spawn > n_calls / CHUNK) {
		fprintf(stderr, "usage: sysloop N [THREADS<=64 [SPAWN<=256, <=N/%d]]\n", CHUNK);
		return 2;
	}
	a = now_ns();
	for (i = 1; i < nt; i++)
		pthread_create(&th[i], NULL, loop, NULL);
	b = loop(kids);
	for (i = 0; i < nt; i++) {
		if (i)
			pthread_join(th[i], (void **)&b);
		if (b && *b < best)
			best = *b;
		free(b);
	}
	for (i = 0; i < n_spawn; i += 2)
		pthread_join(kids[i], NULL);
	while (wait(NULL) > 0)
		;
	ns = now_ns() - a;
	printf("{\"calls\":%ld,\"threads\":%d,\"wall_ns\":%.0f,\"ns_per_call\":%.1f",
	       n_calls * nt + (long)n_spawn * CHUNK, nt, ns, ns / (double)n_calls);
	if (best < 1e18)
		printf(",\"min_ns_per_call\":%.1f", best);
	printf("}\n");
	return 0;
}
