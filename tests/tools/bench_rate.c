// SPDX-License-Identifier: MIT
/*
 * bench_rate RATE SECONDS [THREADS]: THREADS threads make getppid() syscalls at RATE
 * calls per second in all (0: as fast as they can) for SECONDS seconds, then the
 * program prints {"target":..,"threads":..,"calls":..,"wall_ns":..,"rate":..}.
 *
 * `make bench` drives tracers with it to find the highest event rate each one records
 * without drops.  Unlike sysloop (a fixed number of calls), it offers a fixed rate for
 * a fixed time, so a slow tracer makes `rate` fall short of `target` instead of making
 * the run last longer.
 *
 * Pacing: each thread works in 1 ms slices: a burst of RATE/THREADS/1000 calls, then a
 * sleep to the slice's absolute deadline.  A thread more than 10 ms behind gives up on
 * the missed slices rather than bursting to catch up, so the offered rate never
 * exceeds the target.  The sleeps add about 1000 context switches per second per
 * thread, negligible next to millions of syscalls.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLICE_NS 1000000LL
#define MAX_LAG_NS (10 * SLICE_NS)
#define MAX_THREADS 64

struct worker {
	pthread_t th;
	double per_slice;	/* calls per slice; 0: unpaced */
	long long end_ns;
	long calls;
};

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	long long next = now_ns(), t;
	double owed = 0;

	for (;;) {
		/* unpaced: check the clock only every 1024 calls */
		long burst = w->per_slice > 0 ? (long)(owed += w->per_slice) : 1024;

		owed -= (double)burst;
		for (long i = 0; i < burst; i++)
			syscall(SYS_getppid);
		w->calls += burst;
		t = now_ns();
		if (t >= w->end_ns)
			break;
		if (w->per_slice <= 0)
			continue;
		next += SLICE_NS;
		if (t < next) {
			struct timespec ts = { next / 1000000000LL, next % 1000000000LL };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else if (t - next > MAX_LAG_NS) {
			next = t;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS] = { 0 };
	double rate, secs;
	long long start, end;
	long calls = 0;
	int nt, i;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench_rate RATE SECONDS [THREADS]\n");
		return 2;
	}
	rate = atof(argv[1]);
	secs = atof(argv[2]);
	nt = argc > 3 ? atoi(argv[3]) : 1;
	if (rate < 0 || secs <= 0 || secs > 3600 || nt < 1 || nt > MAX_THREADS) {
		fprintf(stderr, "bench_rate: RATE >= 0, 0 < SECONDS <= 3600, 1 <= THREADS <= %d\n",
			MAX_THREADS);
		return 2;
	}
	start = now_ns();
	for (i = 0; i < nt; i++) {
		w[i].per_slice = rate / nt * SLICE_NS / 1e9;
		w[i].end_ns = start + (long long)(secs * 1e9);
		if (pthread_create(&w[i].th, NULL, work, &w[i])) {
			fprintf(stderr, "bench_rate: cannot create thread %d\n", i);
			return 1;
		}
	}
	for (i = 0; i < nt; i++) {
		pthread_join(w[i].th, NULL);
		calls += w[i].calls;
	}
	end = now_ns();
	printf("{\"target\":%.0f,\"threads\":%d,\"calls\":%ld,\"wall_ns\":%lld,\"rate\":%.0f}\n",
	       rate, nt, calls, end - start, (double)calls * 1e9 / (double)(end - start));
	return 0;
}
