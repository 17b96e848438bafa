// SPDX-License-Identifier: MIT
/*
 * churn THREADS CALLS: creates THREADS threads one after the other (each joined
 * before the next starts), each making CALLS getppid() syscalls, then prints
 * {"threads":...,"calls_per_thread":...}.  More threads than the
 * tracer has state slots (32768) pass through a traced process only if it gives the
 * slots of exited threads back.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long calls;

static void *work(void *arg)
{
	for (long i = 0; i < calls; i++)
		syscall(SYS_getppid);
	return arg;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[1]) : 0;
	pthread_t th;

	calls = argc > 2 ? atol(argv[2]) : 0;
	if (n <= 0 || calls <= 0) {
		fprintf(stderr, "usage: churn THREADS CALLS\n");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		if (pthread_create(&th, NULL, work, NULL)) {
			perror("churn: pthread_create");
			return 1;
		}
		pthread_join(th, NULL);
	}
	printf("{\"threads\":%ld,\"calls_per_thread\":%ld}\n", n, calls);
	return 0;
}
