/* SPDX-License-Identifier: MIT */
/*
 * trainsim: a small program shaped like a training job (main thread running
 * steps, forked DataLoader-like workers, optional relay/lock threads, stub CUDA
 * device waits, checkpoints) that measures its own ground truth.
 * See tests/workloads/README.md.
 */
#ifndef TRAINSIM_H
#define TRAINSIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TS_MAX_WORKERS	64
#define TS_MAX_BATCH	512
#define TS_MAX_PREFETCH	16
/* Bytes of "decoded" output per sample handed to the main process. */
#define TS_OUT_BYTES	1024

enum ts_pattern { TS_SEQ, TS_RANDOM };
enum ts_cold { TS_COLD_NONE, TS_COLD_FADVISE, TS_COLD_DIRECT };
enum ts_lock_mode { TS_LOCK_SLEEP, TS_LOCK_SPIN };

struct ts_opts {
	long workers, batch_size, prefetch, steps, warmup;
	long decode_us, sample_kb, dataset_samples;
	long pattern, cold;
	long compute_us, device_wait_us, launches;
	long ckpt_every, ckpt_mb;
	long lock_hold_us, lock_gap_us, lock_mode;
	long relay, seed;
	const char *dataset, *ckpt_dir, *device_lib, *scenario;
};

/* Per-worker ground truth, in shared memory; each worker writes only its slot. */
struct ts_worker_stats {
	int64_t pid;
	uint64_t read_ns, decode_ns, handoff_ns, samples, bytes_read;
};

/* Shared between the main process and the workers (MAP_SHARED, set up before fork). */
struct ts_shared {
	uint64_t start_ns;	/* measured window, CLOCK_MONOTONIC; 0 = not started */
	uint64_t end_ns;	/* 0 = still running */
	struct ts_worker_stats w[TS_MAX_WORKERS];
};

/* main -> worker: indices of one batch (header, then n uint32 indices). */
struct ts_task_hdr {
	int64_t batch;
	uint32_t n, pad;
};

/* worker -> main: one decoded batch (header, then len payload bytes). */
struct ts_result_hdr {
	int64_t batch;
	uint32_t n, len;
	uint64_t sum;
};

/* ts_util.c */
void ts_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void ts_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t ts_now_ns(void);
uint64_t ts_cpu_ns(void);
void ts_sleep_us(uint64_t us);
void ts_spin_us(uint64_t us);
uint64_t ts_burn_cpu(uint64_t us, const void *buf, size_t len, uint64_t h);
uint64_t ts_overlap(uint64_t a, uint64_t b, const struct ts_shared *sh);
int ts_read_full(int fd, void *buf, size_t len);
void ts_write_full(int fd, const void *buf, size_t len, const char *what);
uint64_t ts_xorshift(uint64_t *s);
void ts_schedstat(uint64_t *oncpu_ns, uint64_t *runq_ns);
void ts_mkdir_p(const char *knob, const char *dir);

/* ts_opts.c */
void ts_parse_opts(struct ts_opts *o, int argc, char **argv);

/* ts_worker.c */
char *ts_dataset_prepare(const struct ts_opts *o);
void ts_worker_main(const struct ts_opts *o, int id, int task_fd, int res_fd,
		    const char *data_path, struct ts_shared *sh)
	__attribute__((noreturn));

/* ts_aux.c: optional parts of the main process */
struct ts_relay;
struct ts_relay *ts_relay_start(const struct ts_opts *o, const int *res_fds);
size_t ts_relay_get(struct ts_relay *r, int64_t batch, void *buf, size_t cap);
void ts_relay_stop(struct ts_relay *r);

struct ts_lock;
struct ts_lock *ts_lock_start(const struct ts_opts *o);
uint64_t ts_lock_take(struct ts_lock *l);
void ts_lock_stop(struct ts_lock *l);

struct ts_device;
struct ts_device *ts_device_open(const struct ts_opts *o);
uint64_t ts_device_step(struct ts_device *d, long launches);

void ts_checkpoint(const struct ts_opts *o, const char *path);

#endif /* TRAINSIM_H */
