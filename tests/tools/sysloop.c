// SPDX-License-Identifier: MIT
/*
 * sysloop N [THREADS]: THREADS threads each make N getppid() syscalls (a syscall
 * with no work in it, so the tracer's per-syscall cost is what changes) and the
 * program prints {"calls":..., "ns_per_call":...} measured with CLOCK_MONOTONIC.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long n_calls;

static void *loop(void *arg)
{
	for (long i = 0; i < n_calls; i++)
		syscall(SYS_getppid);
	return arg;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t th[64];
	int nt = argc > 2 ? atoi(argv[2]) : 1, i;
	double ns;

	n_calls = argc > 1 ? atol(argv[1]) : 1000000;
	if (n_calls <= 0 || nt < 1 || nt > 64) {
		fprintf(stderr, "usage: sysloop N [THREADS<=64]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 1; i < nt; i++)
		pthread_create(&th[i], NULL, loop, NULL);
	loop(NULL);
	for (i = 1; i < nt; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("{\"calls\":%ld,\"threads\":%d,\"wall_ns\":%.0f,\"ns_per_call\":%.1f}\n",
	       n_calls * nt, nt, ns, ns / (double)n_calls);
	return 0;
}
