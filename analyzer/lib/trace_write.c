// SPDX-License-Identifier: MIT
/*
 * Trace writer: records go into a raw chunk; a flush compresses the chunk into one
 * zstd frame (checksummed, with its content size) and writes it whole, so a reader
 * never sees half a frame from a tracer that is still alive, and a tracer killed
 * at any point leaves every earlier frame readable.
 *
 * Replacing a file (force) writes a new file beside it, renamed over the old one
 * only by st_writer__commit(): a run that fails to start leaves the old trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "hmap.h"
#include "st_trace.h"

struct st_writer {
	int fd;
	char *path;		/* the file's name once committed */
	char *tmp;		/* the name written to until committed (force), else NULL */
	unsigned char *hdr;	/* the header record: a trailer with no frame before it needs it */
	size_t hdr_len;
	__u64 hdr_ts, records_written;
	ZSTD_CCtx *cctx;
	unsigned char *raw;	/* the frame being built */
	size_t raw_len, raw_cap, frame_bytes;
	unsigned char *out;
	size_t out_cap;
	__u64 last_ts;		/* time of the last record in this frame */
	bool frame_open;	/* TIME base written for this frame */
	bool header_pending;	/* the header must be the first record of the file */
	__u64 bytes, records, raw_total;
	__u32 frames;
	int broken;		/* a frame failed to write (ENOSPC...): only the trailer goes out */
	int level, next_level;	/* zstd level of the frame being built, of the next one */
	/* fd identities written in this frame, by (tid, fd): a repeat is written short */
	struct hmap fds;	/* (tid << 32 | fd) -> index + 1 in fdv */
	struct st_sc_fd *fdv;
	size_t nfd, capfd;
};


static int pwrite_all(int fd, const void *buf, size_t len, __u64 off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (__u64)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Allocates n bytes at the end of the file and ST_WRITER_RESERVE past them.  Only a
 * full disk fails it (and then allocates nothing new: the reserve already past the
 * end stays whole); a file system without fallocate just has no reserve.
 */
static int reserve_tail(struct st_writer *w, size_t n)
{
	if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->bytes, (off_t)n + ST_WRITER_RESERVE) < 0)
		return errno == ENOSPC || errno == EDQUOT ? -ENOSPC : 0;
	return 0;
}

/* A new file beside `path` (".NAME.XXXXXX", 0600, O_EXCL), for replacing it. */
static int open_beside(struct st_writer *w, const char *path)
{
	char *d = strdup(path), *b = strdup(path);
	int fd = -ENOMEM;

	if (d && b && asprintf(&w->tmp, "%s/.%s.XXXXXX", dirname(d), basename(b)) >= 0) {
		fd = mkostemp(w->tmp, O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			free(w->tmp);
			w->tmp = NULL;
		}
	}
	free(d);
	free(b);
	return fd;
}

static int open_output(struct st_writer *w, const char *path, bool force)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd;

	if (force && lstat(path, &st) == 0) {
		/* replace only a regular file; a symlink or device is never written through */
		if (!S_ISREG(st.st_mode))
			return S_ISLNK(st.st_mode) ? -ELOOP : -EEXIST;
		return open_beside(w, path);
	}
	fd = open(path, flags, 0600);
	if (fd < 0)
		return errno == EEXIST && !lstat(path, &st) && S_ISLNK(st.st_mode) ? -ELOOP : -errno;
	return fd;
}

int st_writer__create(struct st_writer **wp, const char *path, const struct st_writer_opts *o)
{
	struct st_writer_opts def = { 0 };
	struct st_writer *w;
	int err;

	*wp = NULL;
	if (!o)
		o = &def;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->frame_bytes = o->frame_bytes ? o->frame_bytes : (1u << 20);
	w->raw_cap = w->frame_bytes + ST_MAX_REC_SIZE + 64;
	w->raw = malloc(w->raw_cap);
	w->out_cap = ZSTD_compressBound(w->raw_cap);
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	w->header_pending = true;
	if (!w->raw || !w->out || !w->cctx) {
		err = -ENOMEM;
		goto fail;
	}
	w->level = w->next_level = o->level ? o->level : 3;
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
	if (o->workers > 0)
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, o->workers);
	w->path = strdup(path);
	if (!w->path) {
		err = -ENOMEM;
		goto fail;
	}
	w->fd = open_output(w, path, o->force);
	if (w->fd < 0) {
		err = w->fd;
		goto fail;
	}
	/* the reserve holds from the first frame on: a trailer always fits */
	if ((err = reserve_tail(w, 0))) {
		st_writer__discard(w);
		return err;
	}
	*wp = w;
	return 0;
fail:
	w->fd = -1;
	st_writer__abandon(w);
	return err;
}

int st_writer__chown(struct st_writer *w, uid_t uid, gid_t gid)
{
	return fchown(w->fd, uid, gid) < 0 ? -errno : 0;
}

int st_writer__commit(struct st_writer *w)
{
	if (!w->tmp)
		return 0;
	if (rename(w->tmp, w->path) < 0)
		return -errno;
	free(w->tmp);
	w->tmp = NULL;
	return 0;
}

const char *st_writer__path(const struct st_writer *w)
{
	return w->tmp ? w->tmp : w->path;
}

static void put_rec(struct st_writer *w, __u8 type, __u8 flags, __u32 dt, const void *a,
		    size_t alen, const void *b, size_t blen)
{
	struct st_rec h = { .type = type, .flags = flags, .dt = dt };

	h.size = (__u16)(sizeof(h) + alen + blen);
	memcpy(w->raw + w->raw_len, &h, sizeof(h));
	if (alen)
		memcpy(w->raw + w->raw_len + sizeof(h), a, alen);
	if (blen)
		memcpy(w->raw + w->raw_len + sizeof(h) + alen, b, blen);
	w->raw_len += h.size;
	w->records++;
}

static void put_time(struct st_writer *w, __u64 ts)
{
	struct st_time t = { .ts = ts };
	__u8 flags = 0;

	if (!w->frame_open) {
		/* a frame is decoded on its own: identities are written in full again */
		hmap_clear(&w->fds);
		w->nfd = 0;
		flags = ST_TIME_FRAME;
	}
	put_rec(w, ST_REC_TIME, flags, 0, &t, sizeof(t), NULL, 0);
	w->records--;		/* time bases are framing, not events */
	w->last_ts = ts;
	w->frame_open = true;
}

int st_writer__header(struct st_writer *w, const struct st_header *h, const char *const *kv)
{
	char buf[ST_MAX_REC_SIZE];
	size_t len = 0;

	for (; kv && kv[0]; kv += 2) {
		size_t kl = strlen(kv[0]) + 1, vl;

		if (!kv[1])
			continue;
		vl = strlen(kv[1]) + 1;
		/* a long value (a huge command line) is cut, still NUL-terminated */
		if (len + kl + 2 > sizeof(buf) - sizeof(*h) - sizeof(struct st_rec))
			break;
		if (len + kl + vl > sizeof(buf) - sizeof(*h) - sizeof(struct st_rec))
			vl = sizeof(buf) - sizeof(*h) - sizeof(struct st_rec) - len - kl;
		memcpy(buf + len, kv[0], kl);
		memcpy(buf + len + kl, kv[1], vl);
		buf[len + kl + vl - 1] = '\0';
		len += kl + vl;
	}
	if (!w->header_pending || w->raw_len)
		return -EINVAL;
	put_rec(w, ST_REC_HEADER, ST_HDR_FRAME_MARKS, 0, h, sizeof(*h), buf, len);
	w->records--;
	w->hdr = malloc(w->raw_len);
	if (w->hdr) {
		memcpy(w->hdr, w->raw, w->raw_len);
		w->hdr_len = w->raw_len;
		w->hdr_ts = h->start_ts;
	}
	w->header_pending = false;
	put_time(w, h->start_ts);
	return 0;
}

/*
 * Returns true when the fd identity of this syscall record (payload a, with
 * ST_SC_FD) repeats the thread's last one for that fd in this frame; remembers it
 * otherwise.
 */
static bool fd_repeat(struct st_writer *w, const unsigned char *a)
{
	struct st_syscall sc;
	struct st_sc_fd fd;
	uint64_t *slot;

	memcpy(&sc, a, sizeof(sc));
	memcpy(&fd, a + sizeof(sc), sizeof(fd));
	slot = hmap_slot(&w->fds, ((uint64_t)sc.tid << 32) | (__u32)fd.fd);
	if (!slot)
		return false;
	if (*slot) {
		struct st_sc_fd *old = &w->fdv[*slot - 1];

		if (old->kind == fd.kind && old->dev == fd.dev && old->ino == fd.ino)
			return true;
		*old = fd;
		return false;
	}
	if (w->nfd == w->capfd) {
		size_t cap = w->capfd ? 2 * w->capfd : 256;
		struct st_sc_fd *v = realloc(w->fdv, cap * sizeof(*v));

		if (!v) {
			hmap_del(&w->fds, ((uint64_t)sc.tid << 32) | (__u32)fd.fd);
			return false;
		}
		w->fdv = v;
		w->capfd = cap;
	}
	w->fdv[w->nfd++] = fd;
	*slot = w->nfd;
	return false;
}

/*
 * The syscall record as written: the fixed part narrow when ret and dur fit 32 bits
 * (ST_SC2_NARROW), the fd identity short when it repeats (ST_SC2_FD_SHORT).  Both
 * only shrink what zstd would mostly have squeezed anyway, but a smaller, regular
 * record is what lets the frames compress to under 6 bytes an event.
 */
static size_t syscall_compact(struct st_writer *w, const unsigned char *a, size_t alen,
			      __u8 flags, unsigned char *out)
{
	struct st_syscall sc;
	size_t n, skip = sizeof(sc);

	memcpy(&sc, a, sizeof(sc));
	if ((flags & ST_SC_FD) && alen >= sizeof(sc) + sizeof(struct st_sc_fd) &&
	    fd_repeat(w, a))
		sc.flags2 |= ST_SC2_FD_SHORT;
	if (sc.ret >= INT32_MIN && sc.ret <= INT32_MAX && sc.dur <= UINT32_MAX) {
		struct st_syscall_narrow nw = { sc.tid, sc.nr, sc.flags2 | ST_SC2_NARROW, 0,
						(__s32)sc.ret, (__u32)sc.dur };

		memcpy(out, &nw, sizeof(nw));
		n = sizeof(nw);
	} else {
		memcpy(out, &sc, sizeof(sc));
		n = sizeof(sc);
	}
	if (sc.flags2 & ST_SC2_FD_SHORT) {
		__s32 fd[2] = { 0, 0 };

		memcpy(&fd[0], a + sizeof(sc), sizeof(fd[0]));
		memcpy(out + n, fd, ST_SC_FD_SHORT_SIZE);
		n += ST_SC_FD_SHORT_SIZE;
		skip += sizeof(struct st_sc_fd);
	}
	memcpy(out + n, a + skip, alen - skip);
	return n + alen - skip;
}

int st_writer__add(struct st_writer *w, __u64 ts, __u8 type, __u8 flags, const void *a,
		   size_t alen, const void *b, size_t blen)
{
	unsigned char small[ST_MAX_REC_SIZE];
	int err;

	if (sizeof(struct st_rec) + alen + blen > ST_MAX_REC_SIZE)
		return -E2BIG;
	if (w->raw_len >= w->frame_bytes) {
		err = st_writer__flush(w);
		if (err)
			return err;
	}
	/* a record that arrived after later ones, or after a long gap, gets a new base */
	if (!w->frame_open || ts < w->last_ts || ts - w->last_ts > UINT32_MAX)
		put_time(w, ts);
	if (type == ST_REC_SYSCALL && !blen && alen >= sizeof(struct st_syscall) &&
	    !(((const struct st_syscall *)a)->flags2 & (ST_SC2_FD_SHORT | ST_SC2_NARROW))) {
		alen = syscall_compact(w, a, alen, flags, small);
		a = small;
	}
	put_rec(w, type, flags, (__u32)(ts - w->last_ts), a, alen, b, blen);
	if (type == ST_REC_TIME)
		w->records--;	/* framing, as readers count: not an event */
	w->last_ts = ts;
	return 0;
}

/* Writes the buffered records as a frame; the trailer's (last) uses the reserve. */
static int flush_frame(struct st_writer *w, bool last)
{
	size_t n;
	int err;

	if (!w->raw_len)
		return 0;
	if (w->broken)
		return w->broken;
	if (w->next_level != w->level) {
		w->level = w->next_level;
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level);
	}
	n = ZSTD_compress2(w->cctx, w->out, w->out_cap, w->raw, w->raw_len);
	if (ZSTD_isError(n))
		return -EIO;
	/*
	 * A frame goes out only with a whole reserve after it: written into the reserve
	 * (as it was once the disk filled), the frames before the one that failed left
	 * too little of it for the trailer about once in a hundred full disks.  The
	 * trailer's frame is what the reserve is for.
	 */
	err = last ? 0 : reserve_tail(w, n);
	/* on failure the partial frame is overwritten by the trailer and cut off */
	if (!err)
		err = pwrite_all(w->fd, w->out, n, w->bytes);
	if (err) {
		w->broken = err;
		return err;
	}
	w->bytes += n;
	w->records_written = w->records;
	w->raw_total += w->raw_len;
	w->frames++;
	w->raw_len = 0;
	w->frame_open = false;
	return 0;
}

void st_writer__fail(struct st_writer *w, int err)
{
	if (!w->broken)
		w->broken = err;
}

int st_writer__flush(struct st_writer *w)
{
	return flush_frame(w, false);
}

int st_writer__finish(struct st_writer *w, struct st_trailer *t)
{
	int err = st_writer__flush(w), err2;

	/* after a failed write, what is still buffered is lost; the trailer says so */
	if (w->broken) {
		t->flags |= w->broken == -ENOSPC ? ST_TRAILER_DISK_FULL : ST_TRAILER_WRITE_ERROR;
		w->broken = 0;
		w->raw_len = 0;
		w->frame_open = false;
		/* no frame reached the file: the header goes out with the trailer */
		if (!w->frames && w->hdr && w->hdr_len <= w->raw_cap) {
			memcpy(w->raw, w->hdr, w->hdr_len);
			w->raw_len = w->hdr_len;
			put_time(w, w->hdr_ts);
		}
	}
	t->events = w->records;
	t->raw_bytes = w->raw_total;
	t->frames = w->frames;
	t->drops.nkinds = ST_KIND_MAX;
	/* the trailer gets a frame of its own: a reader finds it last */
	err = st_writer__add(w, t->end_ts, ST_REC_TRAILER, 0, t, sizeof(*t), NULL, 0);
	w->records--;
	if (!err)
		err = flush_frame(w, true);
	if (!err && ftruncate(w->fd, (off_t)w->bytes) < 0)
		err = -errno;
	if (!err && fsync(w->fd) < 0 && errno != EINVAL)
		err = -errno;
	if (close(w->fd) < 0 && !err)
		err = -errno;
	w->fd = -1;
	err2 = st_writer__commit(w);
	st_writer__abandon(w);
	return err ? err : err2;
}

static void writer_free(struct st_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w->tmp);
	free(w->hdr);
	ZSTD_freeCCtx(w->cctx);
	hmap_free(&w->fds);
	free(w->fdv);
	free(w->raw);
	free(w->out);
	free(w);
}

void st_writer__abandon(struct st_writer *w)
{
	if (!w)
		return;
	/* what a crash leaves: the file as written, under its name */
	if (w->fd >= 0)
		(void)st_writer__commit(w);
	writer_free(w);
}

void st_writer__discard(struct st_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		unlink(st_writer__path(w));
	writer_free(w);
}

void st_writer__set_level(struct st_writer *w, int level)
{
	w->next_level = level;
}

__u64 st_writer__bytes(const struct st_writer *w)
{
	return w->bytes;
}

__u64 st_writer__records(const struct st_writer *w)
{
	return w->records;
}

__u64 st_writer__records_written(const struct st_writer *w)
{
	return w->records_written;
}

__u64 st_writer__raw_bytes(const struct st_writer *w)
{
	return w->raw_total + w->raw_len;
}

__u32 st_writer__frames(const struct st_writer *w)
{
	return w->frames;
}
