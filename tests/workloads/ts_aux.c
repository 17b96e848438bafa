// SPDX-License-Identifier: MIT
/*
 * Optional parts of the trainsim main process: the pin-memory-like relay
 * thread, the lock-holding sibling thread, the (stub) CUDA device and the
 * checkpoint writer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "trainsim.h"

/* ---- relay thread: worker pipes -> bounded in-process queue -> main ---- */

struct relay_slot {
	int64_t batch;
	size_t len;
	unsigned char *buf;
};

struct ts_relay {
	const struct ts_opts *o;
	int fds[TS_MAX_WORKERS];
	long total, cap, head, count;
	int failed;
	struct relay_slot *slots;
	unsigned char *tmp;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

/* Reads batch b from its worker into the next free slot; -1 when the worker is gone. */
static int relay_one(struct ts_relay *r, long b)
{
	int fd = r->fds[b % r->o->workers];
	struct ts_result_hdr h;
	struct relay_slot *s;

	if (ts_read_full(fd, &h, sizeof(h)) || h.len > TS_MAX_BATCH * TS_OUT_BYTES ||
	    ts_read_full(fd, r->tmp, h.len))
		return -1;
	pthread_mutex_lock(&r->mu);
	while (r->count == r->cap)
		pthread_cond_wait(&r->cv, &r->mu);
	s = &r->slots[(r->head + r->count) % r->cap];
	pthread_mutex_unlock(&r->mu);
	/* The "pinning" copy: the slot is ours until it is published below. */
	memcpy(s->buf, r->tmp, h.len);
	s->batch = h.batch;
	s->len = h.len;
	pthread_mutex_lock(&r->mu);
	r->count++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void *relay_main(void *arg)
{
	struct ts_relay *r = arg;
	long b;

	prctl(PR_SET_NAME, "trainsim-relay");
	/* In batch order, like the pin-memory thread behind an in-order DataLoader. */
	for (b = 0; b < r->total; b++) {
		if (relay_one(r, b))
			break;
	}
	pthread_mutex_lock(&r->mu);
	r->failed = b < r->total;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct ts_relay *ts_relay_start(const struct ts_opts *o, const int *res_fds)
{
	struct ts_relay *r = calloc(1, sizeof(*r));
	long i;

	if (!r)
		ts_die("out of memory");
	r->o = o;
	memcpy(r->fds, res_fds, sizeof(int) * (size_t)o->workers);
	r->total = o->warmup + o->steps;
	/* Never fuller than the batches in flight, so the relay never blocks on it. */
	r->cap = o->workers * o->prefetch;
	r->slots = calloc((size_t)r->cap, sizeof(*r->slots));
	r->tmp = malloc((size_t)o->batch_size * TS_OUT_BYTES);
	if (!r->slots || !r->tmp)
		ts_die("out of memory");
	for (i = 0; i < r->cap; i++) {
		r->slots[i].buf = malloc((size_t)o->batch_size * TS_OUT_BYTES);
		if (!r->slots[i].buf)
			ts_die("out of memory");
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->th, NULL, relay_main, r))
		ts_die("cannot start the relay thread");
	return r;
}

/* Blocks until batch `batch` is at the head of the queue; copies it to buf. */
size_t ts_relay_get(struct ts_relay *r, int64_t batch, void *buf, size_t cap)
{
	struct relay_slot *s;
	size_t len;

	pthread_mutex_lock(&r->mu);
	while (!r->count && !r->failed)
		pthread_cond_wait(&r->cv, &r->mu);
	if (!r->count)
		ts_die("a worker exited before delivering batch %lld", (long long)batch);
	s = &r->slots[r->head];
	if (s->batch != batch || s->len > cap)
		ts_die("relay: got batch %lld, expected %lld", (long long)s->batch,
		       (long long)batch);
	len = s->len;
	memcpy(buf, s->buf, len);
	r->head = (r->head + 1) % r->cap;
	r->count--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return len;
}

void ts_relay_stop(struct ts_relay *r)
{
	pthread_join(r->th, NULL);
}

/* ---- lock contention: a sibling thread holding the main thread's mutex ---- */

struct ts_lock {
	const struct ts_opts *o;
	pthread_mutex_t mu;
	pthread_t th;
	int stop;
	uint64_t shared;	/* what the mutex protects */
};

static void *lock_main(void *arg)
{
	struct ts_lock *l = arg;

	prctl(PR_SET_NAME, "trainsim-lock");
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&l->mu);
		if (l->o->lock_mode == TS_LOCK_SPIN)
			ts_spin_us((uint64_t)l->o->lock_hold_us);
		else
			ts_sleep_us((uint64_t)l->o->lock_hold_us);
		l->shared++;
		pthread_mutex_unlock(&l->mu);
		/*
		 * Without a pause the sibling would re-take the (unfair) mutex
		 * before the woken main thread gets to run, starving it.
		 */
		if (l->o->lock_gap_us)
			ts_sleep_us((uint64_t)l->o->lock_gap_us);
	}
	return NULL;
}

struct ts_lock *ts_lock_start(const struct ts_opts *o)
{
	struct ts_lock *l = calloc(1, sizeof(*l));

	if (!l)
		ts_die("out of memory");
	l->o = o;
	pthread_mutex_init(&l->mu, NULL);
	if (pthread_create(&l->th, NULL, lock_main, l))
		ts_die("cannot start the lock thread");
	return l;
}

/* The main thread's once-per-step critical section; returns ns spent waiting. */
uint64_t ts_lock_take(struct ts_lock *l)
{
	uint64_t t0 = ts_now_ns(), t1;

	pthread_mutex_lock(&l->mu);
	t1 = ts_now_ns();
	l->shared++;
	pthread_mutex_unlock(&l->mu);
	return t1 - t0;
}

void ts_lock_stop(struct ts_lock *l)
{
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	pthread_join(l->th, NULL);
}

/* ---- device: the CUDA driver API, dlopen'ed only when device wait is on ---- */

typedef int (*cu_init_fn)(unsigned int flags);
typedef int (*cu_launch_fn)(void *f, unsigned int gx, unsigned int gy, unsigned int gz,
			    unsigned int bx, unsigned int by, unsigned int bz,
			    unsigned int shmem, void *stream, void **params, void **extra);
typedef int (*cu_sync_fn)(void *stream);
typedef void (*set_wait_fn)(unsigned int us);

struct ts_device {
	void *lib;
	cu_launch_fn launch;
	cu_sync_fn sync;
};

/* stubcuda/libcuda.so.1 next to the trainsim binary. */
static char *default_device_lib(void)
{
	char exe[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		ts_die("cannot read /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if (asprintf(&path, "%s/stubcuda/libcuda.so.1", exe) < 0)
		ts_die("out of memory");
	return path;
}

static void *device_sym(struct ts_device *d, const char *lib, const char *name)
{
	void *p = dlsym(d->lib, name);

	if (!p)
		ts_usage_error("--device-lib %s: no symbol %s%s", lib, name,
			       strcmp(name, "stub_cuda_set_wait_us") ? "" :
			       " (only the stub library can emulate a device wait)");
	return p;
}

struct ts_device *ts_device_open(const struct ts_opts *o)
{
	const char *lib = o->device_lib ? o->device_lib : default_device_lib();
	struct ts_device *d = calloc(1, sizeof(*d));
	cu_init_fn init;
	set_wait_fn set_wait;

	if (!d)
		ts_die("out of memory");
	d->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!d->lib)
		ts_usage_error("--device-lib %s: cannot load: %s", lib, dlerror());
	init = (cu_init_fn)device_sym(d, lib, "cuInit");
	d->launch = (cu_launch_fn)device_sym(d, lib, "cuLaunchKernel");
	d->sync = (cu_sync_fn)device_sym(d, lib, "cuStreamSynchronize");
	set_wait = (set_wait_fn)device_sym(d, lib, "stub_cuda_set_wait_us");
	if (init(0))
		ts_die("cuInit failed");
	set_wait((unsigned int)o->device_wait_us);
	return d;
}

/* Launches `launches` kernels then synchronises; returns ns spent in the sync. */
uint64_t ts_device_step(struct ts_device *d, long launches)
{
	uint64_t t0;
	long i;

	for (i = 0; i < launches; i++)
		if (d->launch(NULL, 1, 1, 1, 128, 1, 1, 0, NULL, NULL, NULL))
			ts_die("cuLaunchKernel failed");
	t0 = ts_now_ns();
	if (d->sync(NULL))
		ts_die("cuStreamSynchronize failed");
	return ts_now_ns() - t0;
}

/* ---- checkpoint: write the whole file and fsync it, synchronously ---- */

void ts_checkpoint(const struct ts_opts *o, const char *path)
{
	static uint64_t *chunk;
	static uint64_t rng = 0xc0ffee;
	size_t chunk_sz = 1 << 20, i;
	long mb;
	int fd;

	if (!chunk) {
		chunk = malloc(chunk_sz);
		if (!chunk)
			ts_die("out of memory");
		for (i = 0; i < chunk_sz / 8; i++)
			chunk[i] = ts_xorshift(&rng);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		ts_die("%s: cannot create checkpoint: %s", path, strerror(errno));
	for (mb = 0; mb < o->ckpt_mb; mb++) {
		chunk[0] = ts_xorshift(&rng);	/* "new weights" every time */
		ts_write_full(fd, chunk, chunk_sz, path);
	}
	if (fsync(fd))
		ts_die("%s: fsync failed: %s", path, strerror(errno));
	close(fd);
}
