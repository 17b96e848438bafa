// SPDX-License-Identifier: MIT
/*
 * pingpong: two threads that wake each other through pipes, a known number of times.
 *
 *   pingpong N [-w]
 *
 * Thread "pp-a" writes a byte into pipe 1 and reads pipe 2; thread "pp-b" reads pipe 1
 * and writes the byte back into pipe 2; N round trips.  Each blocking read ends only
 * because the other thread wrote: every wakeup of one thread in read() has the other
 * as its waker.  Prints {"a":TID,"b":TID,"n":N} when done.  With -w it first
 * prints its pid and waits for a byte on stdin (an attach test lets it go).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int p1[2], p2[2], n;
static pid_t tid_b;

static void xfer(int in, int out, int write_first)
{
	char c = 'x';

	if (write_first && write(out, &c, 1) != 1)
		exit(1);
	if (read(in, &c, 1) != 1)
		exit(1);
	if (!write_first && write(out, &c, 1) != 1)
		exit(1);
}

static void *thread_b(void *arg)
{
	prctl(PR_SET_NAME, "pp-b");
	tid_b = gettid();
	for (int i = 0; i < n; i++)
		xfer(p1[0], p2[1], 0);
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t b;

	n = argc > 1 ? atoi(argv[1]) : 0;
	if (n <= 0 || pipe(p1) || pipe(p2))
		return fprintf(stderr, "usage: pingpong N [-w]\n"), 2;
	if (argc > 2 && !strcmp(argv[2], "-w")) {
		char c;

		printf("%d\n", (int)getpid());
		fflush(stdout);
		if (read(0, &c, 1) != 1)
			return 1;
	}
	prctl(PR_SET_NAME, "pp-a");
	if (pthread_create(&b, NULL, thread_b, NULL))
		return 1;
	for (int i = 0; i < n; i++)
		xfer(p2[0], p1[1], 1);
	pthread_join(b, NULL);
	printf("{\"a\":%d,\"b\":%d,\"n\":%d}\n", (int)gettid(), (int)tid_b, n);
	return 0;
}
