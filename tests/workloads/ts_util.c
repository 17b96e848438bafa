// SPDX-License-Identifier: MIT
/* trainsim helpers: errors, clocks, CPU work, full reads/writes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trainsim.h"

static void vmsg(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write so that a message never interleaves with a worker's. */
	dprintf(STDERR_FILENO, "trainsim: %s\n", line);
}

/* Runtime failure (I/O error, a worker died): exit 1. */
void ts_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

/* Bad knob: exactly one line on stderr, exit 2. */
void ts_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC: the clock bpf_ktime_get_ns() stamps trace events with. */
uint64_t ts_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t ts_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void ts_sleep_us(uint64_t us)
{
	uint64_t end = ts_now_ns() + us * 1000;
	struct timespec ts = {
		.tv_sec = (time_t)(end / 1000000000ull),
		.tv_nsec = (long)(end % 1000000000ull),
	};

	/* Absolute deadline so that signals (EINTR) do not stretch the sleep. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Busy-wait on the wall clock: on CPU, like a spinning driver wait. */
void ts_spin_us(uint64_t us)
{
	uint64_t end = ts_now_ns() + us * 1000;

	while (ts_now_ns() < end)
		;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t hash_pass(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;
	uint64_t v;
	size_t i;

	if (!buf) {
		for (i = 0; i < 2048; i++)
			h = mix(h, i);
		return h;
	}
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&v, p + i, 8);
		h = mix(h, v);
	}
	for (; i < len; i++)
		h = mix(h, p[i]);
	return h;
}

/*
 * Real computation (hash passes over buf, or over a counter when buf is NULL)
 * until this thread has consumed `us` microseconds of CPU time.  Counting CPU
 * time, not wall time, means the work is the same amount whatever else runs:
 * under CPU contention the call takes longer in wall time, as real work would.
 * At least one pass is always made.  The CPU clock is a syscall (not vDSO), and
 * real decoding makes none, so it is read about every 100 us, not every pass: the
 * batch size adapts to the measured cost of a pass.
 */
uint64_t ts_burn_cpu(uint64_t us, const void *buf, size_t len, uint64_t h)
{
	uint64_t now = ts_cpu_ns(), until = now + us * 1000, batch = 1, i, prev;

	do {
		for (i = 0; i < batch; i++)
			h = hash_pass(buf, len, h);
		prev = now;
		now = ts_cpu_ns();
		if (now > prev) {
			uint64_t per = (now - prev) / batch + 1, left = until > now ? until - now : 0;
			uint64_t want = (left < 100000 ? left : 100000) / per;

			batch = want ? want : 1;
		}
	} while (now < until);
	return h;
}

/* Part of [a, b] that falls inside the measured window (read at the end of an op). */
uint64_t ts_overlap(uint64_t a, uint64_t b, const struct ts_shared *sh)
{
	uint64_t s = __atomic_load_n(&sh->start_ns, __ATOMIC_ACQUIRE);
	uint64_t e = __atomic_load_n(&sh->end_ns, __ATOMIC_ACQUIRE);

	if (!s)
		return 0;
	if (!e)
		e = UINT64_MAX;
	if (a < s)
		a = s;
	if (b > e)
		b = e;
	return b > a ? b - a : 0;
}

/* Returns 0, or -1 on EOF before len bytes (the peer is gone). */
int ts_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ts_die("pipe read failed: %s", strerror(errno));
		if (n == 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void ts_write_full(int fd, const void *buf, size_t len, const char *what)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ts_die("%s: write failed: %s", what, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

uint64_t ts_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/*
 * This thread's on-CPU and run-queue wait time as the scheduler accounts them
 * (/proc/thread-self/schedstat): the ground truth for CPU contention.  Zeros
 * when the kernel lacks schedstats.
 */
void ts_schedstat(uint64_t *oncpu_ns, uint64_t *runq_ns)
{
	unsigned long long c = 0, r = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu %llu", &c, &r) != 2)
			c = r = 0;
		fclose(f);
	}
	*oncpu_ns = c;
	*runq_ns = r;
}

/* mkdir -p; a failure is a bad knob (exit 2) naming the knob. */
void ts_mkdir_p(const char *knob, const char *dir)
{
	char path[4096];
	struct stat st;
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		ts_usage_error("%s must be a directory path (got '%s')", knob, dir);
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			ts_usage_error("%s %s: cannot create directory: %s",
				       knob, dir, strerror(errno));
		path[i] = dir[i];
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		ts_usage_error("%s %s: not a directory", knob, dir);
	if (access(dir, W_OK | X_OK))
		ts_usage_error("%s %s: not writable: %s", knob, dir, strerror(errno));
}
