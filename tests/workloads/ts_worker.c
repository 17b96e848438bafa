// SPDX-License-Identifier: MIT
/*
 * trainsim dataset and worker processes.  A worker reads batch tasks (sample
 * indices) from its task pipe, reads each sample from the dataset file,
 * "decodes" it with real CPU work, and writes the decoded batch to its result
 * pipe, as a PyTorch DataLoader worker does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainsim.h"

struct worker {
	const struct ts_opts *o;
	struct ts_shared *sh;
	struct ts_worker_stats *st;
	int data_fd, res_fd;
	size_t sample_bytes;
	unsigned char *buf;	/* one sample, 4 KiB aligned for O_DIRECT */
	unsigned char *out;	/* result header + decoded batch */
};

static void fill_file(int fd, const char *path, unsigned long long bytes)
{
	size_t chunk = 1 << 20;
	uint64_t *p = malloc(chunk), rng = 0x5eed5eed5eedull;
	unsigned long long done = 0;
	size_t i, n;

	if (!p)
		ts_die("out of memory");
	while (done < bytes) {
		/* Fresh pseudo-random data per chunk: nothing compresses or dedups. */
		for (i = 0; i < chunk / 8; i++)
			p[i] = ts_xorshift(&rng);
		n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
		ts_write_full(fd, p, n, path);
		done += n;
	}
	free(p);
	/* Flushed now so that O_DIRECT reads never wait on writeback later. */
	if (fsync(fd))
		ts_die("%s: fsync failed: %s", path, strerror(errno));
}

/*
 * Without --cold the samples are meant to come from the page cache (a decode-bound
 * scenario): read the file once now, so that they do, whatever evicted it since it
 * was written.
 */
static void warm_file(const char *path, unsigned long long bytes)
{
	static char buf[1 << 16];
	unsigned long long done = 0;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		ts_die("%s: cannot open: %s", path, strerror(errno));
	while (done < bytes && ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)))
		done += n > 0 ? (unsigned long long)n : 0;
	close(fd);
}

/*
 * The dataset is one file of dataset_samples fixed-size samples, named by its
 * geometry so that scenarios sharing a directory reuse it instead of clobbering.
 */
char *ts_dataset_prepare(const struct ts_opts *o)
{
	unsigned long long bytes = (unsigned long long)o->dataset_samples * o->sample_kb * 1024;
	char *path, tmp[4200];
	struct stat st;
	int fd;

	ts_mkdir_p("--dataset", o->dataset);
	if (asprintf(&path, "%s/trainsim-%ldx%ldk.bin", o->dataset,
		     o->dataset_samples, o->sample_kb) < 0)
		ts_die("out of memory");
	if (stat(path, &st) || (unsigned long long)st.st_size != bytes) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			ts_usage_error("--dataset %s: cannot create %s: %s",
				       o->dataset, tmp, strerror(errno));
		fill_file(fd, tmp, bytes);
		close(fd);
		if (rename(tmp, path))
			ts_die("%s: rename failed: %s", path, strerror(errno));
	}
	if (o->cold == TS_COLD_FADVISE) {
		fd = open(path, O_RDONLY);
		if (fd < 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
			ts_die("%s: cannot evict: %s", path, strerror(errno));
		close(fd);
	} else if (o->cold == TS_COLD_NONE) {
		warm_file(path, bytes);
	}
	return path;
}

static void read_sample(struct worker *w, uint32_t idx, int counted)
{
	off_t off = (off_t)idx * (off_t)w->sample_bytes;
	size_t done = 0;
	uint64_t t0;
	ssize_t n;

	/* Evict this sample's pages so the read below has to go to the device. */
	if (w->o->cold == TS_COLD_FADVISE)
		posix_fadvise(w->data_fd, off, (off_t)w->sample_bytes, POSIX_FADV_DONTNEED);
	t0 = ts_now_ns();
	while (done < w->sample_bytes) {
		n = pread(w->data_fd, w->buf + done, w->sample_bytes - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ts_die("worker: dataset read at %lld failed: %s", (long long)off,
			       n ? strerror(errno) : "unexpected end of file");
		done += (size_t)n;
	}
	w->st->read_ns += ts_overlap(t0, ts_now_ns(), w->sh);
	if (counted)
		w->st->bytes_read += done;
}

static uint64_t decode_sample(struct worker *w, uint32_t idx, unsigned char *out)
{
	uint64_t t0 = ts_now_ns();
	uint64_t h = ts_burn_cpu((uint64_t)w->o->decode_us, w->buf, w->sample_bytes, idx);

	memcpy(out, w->buf, TS_OUT_BYTES);
	memcpy(out, &h, sizeof(h));
	w->st->decode_ns += ts_overlap(t0, ts_now_ns(), w->sh);
	return h;
}

static void do_batch(struct worker *w, const struct ts_task_hdr *t, const uint32_t *idx)
{
	struct ts_result_hdr *r = (struct ts_result_hdr *)w->out;
	unsigned char *payload = w->out + sizeof(*r);
	/* Samples count by batch (exactly steps x batch size); times by window. */
	int counted = t->batch >= w->o->warmup;
	uint64_t t0, sum = 0;
	uint32_t i;

	for (i = 0; i < t->n; i++) {
		read_sample(w, idx[i], counted);
		sum += decode_sample(w, idx[i], payload + (size_t)i * TS_OUT_BYTES);
		if (counted)
			w->st->samples++;
	}
	*r = (struct ts_result_hdr){ .batch = t->batch, .n = t->n,
				     .len = t->n * TS_OUT_BYTES, .sum = sum };
	t0 = ts_now_ns();
	ts_write_full(w->res_fd, w->out, sizeof(*r) + r->len, "worker: result pipe");
	w->st->handoff_ns += ts_overlap(t0, ts_now_ns(), w->sh);
}

static void worker_init(struct worker *w, int id, const char *data_path)
{
	char name[16];
	int flags = O_RDONLY;

	snprintf(name, sizeof(name), "trainsim-wk%d", id);
	prctl(PR_SET_NAME, name);
	/* Die with the main process, as DataLoader workers do. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (w->o->cold == TS_COLD_DIRECT)
		flags |= O_DIRECT;
	w->data_fd = open(data_path, flags);
	if (w->data_fd < 0)
		ts_die("worker: cannot open %s: %s", data_path, strerror(errno));
	w->sample_bytes = (size_t)w->o->sample_kb * 1024;
	if (posix_memalign((void **)&w->buf, 4096, w->sample_bytes))
		ts_die("out of memory");
	w->out = malloc(sizeof(struct ts_result_hdr) + (size_t)TS_MAX_BATCH * TS_OUT_BYTES);
	if (!w->out)
		ts_die("out of memory");
	w->st->pid = getpid();
}

void ts_worker_main(const struct ts_opts *o, int id, int task_fd, int res_fd,
		    const char *data_path, struct ts_shared *sh)
{
	struct worker w = { .o = o, .sh = sh, .st = &sh->w[id], .res_fd = res_fd };
	uint32_t idx[TS_MAX_BATCH];
	struct ts_task_hdr t;

	worker_init(&w, id, data_path);
	/* EOF on the task pipe is the main process saying "no more batches". */
	while (!ts_read_full(task_fd, &t, sizeof(t))) {
		if (t.n == 0 || t.n > TS_MAX_BATCH)
			ts_die("worker: bad task (%u samples)", t.n);
		if (ts_read_full(task_fd, idx, t.n * sizeof(idx[0])))
			ts_die("worker: truncated task");
		do_batch(&w, &t, idx);
	}
	_exit(0);
}
