// SPDX-License-Identifier: MIT
/*
 * trainsim main process: starts the workers, runs the training steps in the
 * main thread, measures where that thread's time goes and prints it as the
 * ground-truth JSON line.  See tests/workloads/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trainsim.h"

struct job {
	const struct ts_opts *o;
	struct ts_shared *sh;
	long total;			/* warmup + measured steps */
	pid_t pid[TS_MAX_WORKERS];
	int task_wr[TS_MAX_WORKERS];
	int res_rd[TS_MAX_WORKERS];
	uint32_t *perm;			/* shuffled sample order of the current epoch */
	long epoch;
	uint64_t rng;
	unsigned char *batch;		/* the batch the main thread is training on */
	struct ts_relay *relay;
	struct ts_lock *lock;
	struct ts_device *dev;
	char ckpt_path[4200];
};

/* Main-thread ground truth, nanoseconds inside the measured window. */
struct main_truth {
	uint64_t start, end;
	uint64_t batch_wait, compute, compute_cpu, device, ckpt, lock;
	uint64_t oncpu0, runq0, oncpu1, runq1;
};

static void job_init(struct job *j, const struct ts_opts *o)
{
	j->o = o;
	j->total = o->warmup + o->steps;
	j->sh = mmap(NULL, sizeof(*j->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	j->perm = malloc(sizeof(uint32_t) * (size_t)o->dataset_samples);
	j->batch = malloc((size_t)o->batch_size * TS_OUT_BYTES);
	if (j->sh == MAP_FAILED || !j->perm || !j->batch)
		ts_die("out of memory");
	memset(j->sh, 0, sizeof(*j->sh));
	j->epoch = -1;
	j->rng = ((uint64_t)o->seed + 1) * 0x9e3779b97f4a7c15ull;
	snprintf(j->ckpt_path, sizeof(j->ckpt_path), "%s/trainsim-ckpt-%d.bin",
		 o->ckpt_dir, (int)getpid());
}

/* The sampler: sample index at global position pos, reshuffled every epoch. */
static uint32_t sample_index(struct job *j, uint64_t pos)
{
	uint64_t n = (uint64_t)j->o->dataset_samples;
	long epoch = (long)(pos / n);
	uint64_t i, k;
	uint32_t t;

	if (j->o->pattern == TS_SEQ)
		return (uint32_t)(pos % n);
	if (epoch != j->epoch) {
		for (i = 0; i < n; i++)
			j->perm[i] = (uint32_t)i;
		for (i = n - 1; i > 0; i--) {
			k = ts_xorshift(&j->rng) % (i + 1);
			t = j->perm[i];
			j->perm[i] = j->perm[k];
			j->perm[k] = t;
		}
		j->epoch = epoch;
	}
	return j->perm[pos % n];
}

/* Batch b goes to worker b % workers: round-robin, like PyTorch's index queues. */
static void send_task(struct job *j, long b)
{
	struct {
		struct ts_task_hdr h;
		uint32_t idx[TS_MAX_BATCH];
	} t;
	long i, bs = j->o->batch_size;

	t.h = (struct ts_task_hdr){ .batch = b, .n = (uint32_t)bs };
	for (i = 0; i < bs; i++)
		t.idx[i] = sample_index(j, (uint64_t)(b * bs + i));
	/* Under PIPE_BUF, so one atomic write. */
	ts_write_full(j->task_wr[b % j->o->workers], &t,
		      sizeof(t.h) + sizeof(uint32_t) * (size_t)bs, "task pipe");
}

static void pipe_or_die(int fds[2])
{
	if (pipe(fds))
		ts_die("pipe failed: %s", strerror(errno));
}

static void start_workers(struct job *j, const char *data_path)
{
	const struct ts_opts *o = j->o;
	/* Room for every prefetched batch, so a worker blocks only when the queue is full. */
	long want = o->prefetch * (long)(sizeof(struct ts_result_hdr) +
					 (size_t)o->batch_size * TS_OUT_BYTES);
	int tp[2], rp[2];
	long i, k;

	fflush(stdout);		/* nothing buffered may be duplicated into children */
	for (i = 0; i < o->workers; i++) {
		pipe_or_die(tp);
		pipe_or_die(rp);
		fcntl(rp[1], F_SETPIPE_SZ, want < (1 << 20) ? want : (1 << 20));
		j->pid[i] = fork();
		if (j->pid[i] < 0)
			ts_die("fork failed: %s", strerror(errno));
		if (j->pid[i] == 0) {
			/* Keep only our own ends: EOF must reach every worker. */
			for (k = 0; k < i; k++) {
				close(j->task_wr[k]);
				close(j->res_rd[k]);
			}
			close(tp[1]);
			close(rp[0]);
			ts_worker_main(o, (int)i, tp[0], rp[1], data_path, j->sh);
		}
		close(tp[0]);
		close(rp[1]);
		j->task_wr[i] = tp[1];
		j->res_rd[i] = rp[0];
	}
}

static void get_batch(struct job *j, long b)
{
	int fd = j->res_rd[b % j->o->workers];
	struct ts_result_hdr h;

	if (j->relay) {
		ts_relay_get(j->relay, b, j->batch, (size_t)j->o->batch_size * TS_OUT_BYTES);
		return;
	}
	if (ts_read_full(fd, &h, sizeof(h)))
		ts_die("worker %ld exited before delivering batch %ld", b % j->o->workers, b);
	if (h.batch != b || h.len > (size_t)j->o->batch_size * TS_OUT_BYTES)
		ts_die("worker %ld sent batch %lld, expected %ld", b % j->o->workers,
		       (long long)h.batch, b);
	if (ts_read_full(fd, j->batch, h.len))
		ts_die("worker %ld exited in the middle of batch %ld", b % j->o->workers, b);
}

static void window_begin(struct job *j, struct main_truth *m)
{
	ts_schedstat(&m->oncpu0, &m->runq0);
	m->start = ts_now_ns();
	__atomic_store_n(&j->sh->start_ns, m->start, __ATOMIC_RELEASE);
}

static void window_end(struct job *j, struct main_truth *m)
{
	m->end = ts_now_ns();
	__atomic_store_n(&j->sh->end_ns, m->end, __ATOMIC_RELEASE);
	ts_schedstat(&m->oncpu1, &m->runq1);
}

/* One training step; its parts are added to m only when `measured`. */
static void step(struct job *j, long b, struct main_truth *m, int measured)
{
	const struct ts_opts *o = j->o;
	struct main_truth d = { 0 };
	uint64_t t0 = ts_now_ns(), c0;

	get_batch(j, b);
	d.batch_wait = ts_now_ns() - t0;
	/* The batch's slot is free again: keep the prefetch queue full. */
	if (b + o->workers * o->prefetch < j->total)
		send_task(j, b + o->workers * o->prefetch);
	if (j->lock)
		d.lock = ts_lock_take(j->lock);
	if (o->compute_us) {
		t0 = ts_now_ns();
		c0 = ts_cpu_ns();
		ts_burn_cpu((uint64_t)o->compute_us, j->batch,
			    (size_t)o->batch_size * TS_OUT_BYTES, (uint64_t)b);
		d.compute_cpu = ts_cpu_ns() - c0;
		d.compute = ts_now_ns() - t0;
	}
	if (j->dev)
		d.device = ts_device_step(j->dev, o->launches);
	if (o->ckpt_every && (b + 1) % o->ckpt_every == 0) {
		t0 = ts_now_ns();
		ts_checkpoint(o, j->ckpt_path);
		d.ckpt = ts_now_ns() - t0;
	}
	if (!measured)
		return;
	m->batch_wait += d.batch_wait;
	m->lock += d.lock;
	m->compute += d.compute;
	m->compute_cpu += d.compute_cpu;
	m->device += d.device;
	m->ckpt += d.ckpt;
}

static void run_steps(struct job *j, struct main_truth *m)
{
	long b, inflight = j->o->workers * j->o->prefetch;

	for (b = 0; b < inflight && b < j->total; b++)
		send_task(j, b);
	for (b = 0; b < j->total; b++) {
		if (b == j->o->warmup)
			window_begin(j, m);
		step(j, b, m, b >= j->o->warmup);
	}
	window_end(j, m);
}

static void stop_job(struct job *j)
{
	int status;
	long i;

	for (i = 0; i < j->o->workers; i++)
		close(j->task_wr[i]);
	if (j->relay)
		ts_relay_stop(j->relay);
	if (j->lock)
		ts_lock_stop(j->lock);
	for (i = 0; i < j->o->workers; i++) {
		if (waitpid(j->pid[i], &status, 0) < 0)
			ts_die("waitpid failed: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ts_die("worker %ld failed (status 0x%x)", i, status);
	}
	if (j->o->ckpt_every)
		unlink(j->ckpt_path);
}

static double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void print_truth(const struct job *j, const struct main_truth *m)
{
	const struct ts_worker_stats *w;
	long i;

	printf("{\"stalltrace_truth\":1,\"workload\":\"trainsim\",\"scenario\":\"%s\","
	       "\"pid\":%d,\"main_tid\":%d,\"window\":{\"start_ns\":%llu,\"end_ns\":%llu},"
	       "\"steps\":%ld,\"batch_size\":%ld,\"wall_s\":%.6f,", j->o->scenario,
	       (int)getpid(), (int)gettid(), (unsigned long long)m->start,
	       (unsigned long long)m->end, j->o->steps, j->o->batch_size, sec(m->end - m->start));
	printf("\"main\":{\"batch_wait_s\":%.6f,\"compute_s\":%.6f,\"device_wait_s\":%.6f,"
	       "\"checkpoint_s\":%.6f,\"lock_wait_s\":%.6f,\"compute_cpu_s\":%.6f,"
	       "\"oncpu_s\":%.6f,\"runq_wait_s\":%.6f},\"workers\":[",
	       sec(m->batch_wait), sec(m->compute), sec(m->device), sec(m->ckpt),
	       sec(m->lock), sec(m->compute_cpu), sec(m->oncpu1 - m->oncpu0),
	       sec(m->runq1 - m->runq0));
	for (i = 0; i < j->o->workers; i++) {
		w = &j->sh->w[i];
		printf("%s{\"pid\":%lld,\"read_s\":%.6f,\"decode_s\":%.6f,\"handoff_s\":%.6f,"
		       "\"samples\":%llu,\"bytes_read\":%llu}", i ? "," : "", (long long)w->pid,
		       sec(w->read_ns), sec(w->decode_ns), sec(w->handoff_ns),
		       (unsigned long long)w->samples, (unsigned long long)w->bytes_read);
	}
	printf("]}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct main_truth m = { 0 };
	struct ts_opts o;
	struct job j = { 0 };
	char *data_path;

	ts_parse_opts(&o, argc, argv);
	if (o.ckpt_every)
		ts_mkdir_p("--checkpoint-dir", o.ckpt_dir);
	data_path = ts_dataset_prepare(&o);
	job_init(&j, &o);
	/* Fork before any thread exists or the device library is mapped. */
	start_workers(&j, data_path);
	if (o.relay)
		j.relay = ts_relay_start(&o, j.res_rd);
	if (o.lock_hold_us)
		j.lock = ts_lock_start(&o);
	if (o.device_wait_us)
		j.dev = ts_device_open(&o);
	run_steps(&j, &m);
	stop_job(&j);
	print_truth(&j, &m);
	free(data_path);
	return 0;
}
