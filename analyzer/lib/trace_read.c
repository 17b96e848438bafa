// SPDX-License-Identifier: MIT
/*
 * Trace reader.  The input is untrusted: every size is checked before it is used,
 * frames are decompressed whole into a buffer bounded by ST_MAX_FRAME_SIZE (plus the
 * start of a record carried over from the frame before: any valid zstd framing of the
 * record stream reads, pzstd's included), skippable frames are skipped, and a record
 * is handed out only when it lies entirely in the buffer.  A frame that is cut short
 * (a killed tracer) ends the stream as truncated; data that does not decode ends it
 * as corrupt.  Either way everything before the damage is returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_getFrameHeader: exported by the shared library */
#include <zstd.h>

#include "hmap.h"
#include "st_trace.h"

#define IN_CHUNK (1u << 20)
/*
 * Frames are decompressed ahead of the records being read, by a second thread for file
 * input (decompression was a fifth of `analyze`'s time).  A slot holds one frame after
 * HEAD bytes of room for the start of a record the frame before left unfinished, so
 * the record is made whole without copying the frame.  NSLOT slots: the one being read,
 * the rest decompressed ahead while less than LOOKAHEAD_BYTES wait (large frames are
 * double-buffered, not tripled).  A slot grown past BIG_SLOT is freed when given back.
 */
#define NSLOT 4
/* fd identities a direct-mapped cache keeps in front of their hash map (fd_index()) */
#define FD_CACHE 64
#define HEAD ((size_t)ST_MAX_REC_SIZE)
#define LOOKAHEAD_BYTES (8u << 20)
#define BIG_SLOT (8u << 20)

enum slot_kind { SLOT_FRAME, SLOT_END, SLOT_FAIL };

/* One decompressed frame, or how the input ended (in stream order). */
struct slot {
	unsigned char *buf;		/* HEAD bytes of room, then the frame */
	size_t cap;			/* room for the frame after HEAD */
	size_t len;			/* the frame's bytes */
	enum slot_kind kind;
	int err;			/* SLOT_FAIL: a negative errno (I/O), or 0: end, msg */
	enum st_end end;
	bool cut;			/* the input ends inside a frame */
	bool data_frame;		/* SLOT_FAIL: a data frame's header was read first */
	__u64 start;			/* file offset of the frame */
	__u64 next;			/* file offset after it */
	char msg[256];
};

/* The compressed input: only the decompressing side (thread) touches it. */
struct src {
	FILE *f;			/* file input, or */
	const unsigned char *mem;	/* memory input */
	unsigned char *in;		/* compressed input window */
	size_t in_pos, in_len, in_cap;
	bool in_eof;
	__u64 in_off;			/* file offset of in[0] */
	ZSTD_DCtx *dctx;
	__u32 nframes;
};

struct st_reader {
	struct src src;
	struct slot slot[NSLOT];
	unsigned fill_at, take_at;	/* the next slot to fill / to read (ring order) */
	unsigned nready;		/* slots filled and not yet read */
	size_t ready_bytes;
	int cur;			/* the slot being read, -1 none */
	bool threaded, stop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t ready_cv, free_cv;
	unsigned char *frame;		/* the current frame (in slot cur) */
	size_t frame_len, pos;
	__u64 frame_off;		/* stream offset of frame[0] */
	__u32 nframes;
	bool frame_marks;		/* the writer marks its frames (ST_HDR_FRAME_MARKS) */
	bool cut;			/* the input ends inside a frame */
	__u64 ts;			/* time of the last record: TIME sets it, dt adds */
	enum st_end end;
	char err[256];
	struct st_trace_info info;
	char *hdr_strings;
	size_t hdr_strings_len;
	struct st_drops drops;
	__u64 records, skipped;
	/* fd identities seen in this frame, by (tid, fd), for short ones (ST_SC2_FD_SHORT) */
	struct hmap fds;	/* (tid << 32 | fd) -> index + 1 in fdv */
	struct st_sc_fd *fdv;
	size_t nfd, capfd;
	struct {
		uint64_t key, idx;	/* idx 0: empty */
	} fdc[FD_CACHE];
};

static void set_error(struct st_reader *r, enum st_end end, const char *fmt, ...)
{
	va_list ap;

	if (r->end == ST_END_CORRUPT || r->end == ST_END_TRUNCATED)
		return;		/* keep the first problem */
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->end = end;
}

/* The input's end or damage, kept in the slot until the reader gets there. */
static void slot_fail(struct slot *s, enum st_end end, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->kind = SLOT_FAIL;
	s->end = end;
}

/* Makes at least `need` unread bytes available unless the input ends first. */
static int fill(struct src *r, size_t need)
{
	size_t avail = r->in_len - r->in_pos;

	if (avail >= need || r->in_eof)
		return 0;
	if (r->mem) {
		r->in_eof = true;
		return 0;
	}
	memmove(r->in, r->in + r->in_pos, avail);
	r->in_off += r->in_pos;
	r->in_pos = 0;
	r->in_len = avail;
	while (r->in_len < need && !r->in_eof) {
		size_t n = fread(r->in + r->in_len, 1, r->in_cap - r->in_len, r->f);

		if (n == 0) {
			if (ferror(r->f))
				return -errno ? -errno : -EIO;
			r->in_eof = true;
		}
		r->in_len += n;
	}
	return 0;
}

static int check_frame_header(struct src *r, struct slot *s, ZSTD_frameHeader *fh)
{
	__u64 off = r->in_off + r->in_pos;
	size_t avail, ret;
	int err;

	err = fill(r, ZSTD_FRAMEHEADERSIZE_MAX);
	if (err)
		return err;
	avail = r->in_len - r->in_pos;
	ret = ZSTD_getFrameHeader(fh, r->in + r->in_pos, avail);
	if (ZSTD_isError(ret)) {
		if (off == 0)
			slot_fail(s, ST_END_CORRUPT, "not a zstd file (bad magic)");
		else
			slot_fail(s, ST_END_CORRUPT, "bad zstd frame header at byte %llu",
				  (unsigned long long)off);
		return 1;
	}
	if (ret > 0) {
		s->cut = true;
		slot_fail(s, ST_END_TRUNCATED, "file cut inside a frame header at byte %llu",
			  (unsigned long long)off);
		return 1;
	}
	if (fh->frameType == ZSTD_frame && fh->frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN &&
	    fh->frameContentSize > ST_MAX_FRAME_SIZE) {
		slot_fail(s, ST_END_CORRUPT, "frame at byte %llu decompresses to over %u MiB",
			  (unsigned long long)off, ST_MAX_FRAME_SIZE >> 20);
		return 1;
	}
	return 0;
}

static int skip_input(struct src *r, __u64 n)
{
	while (n) {
		size_t avail, take;
		int err = fill(r, 1);

		if (err)
			return err;
		avail = r->in_len - r->in_pos;
		if (!avail)
			return 1;
		take = avail < n ? avail : (size_t)n;
		r->in_pos += take;
		n -= take;
	}
	return 0;
}

static int slot_room(struct slot *s, size_t size)
{
	unsigned char *p;

	if (size > ST_MAX_FRAME_SIZE)
		size = ST_MAX_FRAME_SIZE;
	if (s->buf && size <= s->cap)
		return 0;
	p = realloc(s->buf, HEAD + size);
	if (!p)
		return -ENOMEM;
	s->buf = p;
	s->cap = size;
	return 0;
}

/* Skips skippable frames (RFC 8878: 8 header bytes, then the length they state). */
static int skip_frame(struct src *r, struct slot *s, const ZSTD_frameHeader *fh)
{
	int err = skip_input(r, ZSTD_SKIPPABLEHEADERSIZE + (__u64)fh->frameContentSize);

	if (err > 0) {
		s->cut = true;
		slot_fail(s, ST_END_TRUNCATED, "file cut inside a skippable frame");
	}
	return err;
}

/* Decompresses the data frame whose header is at the input's position into s. */
static int decompress(struct src *r, struct slot *s, const ZSTD_frameHeader *fh)
{
	__u64 want = fh->frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN ? 0 : fh->frameContentSize;
	ZSTD_outBuffer out;
	int err;

	/* the tracer states each frame's size; a recompressed trace may not (then grow) */
	if ((err = slot_room(s, want ? want : (1u << 16))))
		return err;
	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
	/* a frame of known size is decoded straight into our buffer, without zstd's own
	 * window buffer and the copy out of it (the buffer then must not move) */
	ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_stableOutBuffer, want ? 1 : 0);
	out = (ZSTD_outBuffer){ s->buf + HEAD, want ? want : s->cap, 0 };
	for (;;) {
		ZSTD_inBuffer in = { r->in + r->in_pos, r->in_len - r->in_pos, 0 };
		size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);

		r->in_pos += in.pos;
		if (ZSTD_isError(ret)) {
			slot_fail(s, ST_END_CORRUPT, "frame at byte %llu does not decode: %s",
				  (unsigned long long)s->start, ZSTD_getErrorName(ret));
			return 1;
		}
		if (ret == 0)
			break;
		if (out.pos == out.size) {
			if (want || out.size >= ST_MAX_FRAME_SIZE) {
				slot_fail(s, ST_END_CORRUPT, "frame at byte %llu is larger than %s",
					  (unsigned long long)s->start,
					  want ? "its header says" : "64 MiB");
				return 1;
			}
			if ((err = slot_room(s, out.size * 2)))
				return err;
			out.dst = s->buf + HEAD;
			out.size = s->cap;
			continue;
		}
		if (r->in_pos == r->in_len) {
			if ((err = fill(r, 1)))
				return err;
			if (r->in_pos == r->in_len) {
				s->cut = true;
				slot_fail(s, ST_END_TRUNCATED,
					  "file cut inside frame %u at byte %llu: the tracer did not finish "
					  "(killed?); read up to its last complete frame",
					  r->nframes + 1, (unsigned long long)s->start);
				return 1;
			}
		}
	}
	if (want && out.pos != want) {
		slot_fail(s, ST_END_CORRUPT, "frame at byte %llu: size does not match its header",
			  (unsigned long long)s->start);
		return 1;
	}
	s->len = out.pos;
	s->next = r->in_off + r->in_pos;
	r->nframes++;
	return 0;
}

/* Fills s with the input's next data frame, or with how the input ends there. */
static void produce(struct src *r, struct slot *s)
{
	ZSTD_frameHeader fh;
	int err;

	s->kind = SLOT_FRAME;
	s->len = 0;
	s->err = 0;
	s->cut = s->data_frame = false;
	for (;;) {
		if ((err = fill(r, 1)))
			goto fail;
		if (r->in_pos == r->in_len) {
			s->kind = SLOT_END;
			return;
		}
		s->start = r->in_off + r->in_pos;
		if ((err = check_frame_header(r, s, &fh)))
			goto fail;
		if (fh.frameType != ZSTD_skippableFrame)
			break;
		if ((err = skip_frame(r, s, &fh)))
			goto fail;
	}
	s->data_frame = true;
	if (!(err = decompress(r, s, &fh)))
		return;
fail:
	s->kind = SLOT_FAIL;
	if (err < 0)
		s->err = err;
}

static bool producer_may_fill(const struct st_reader *r)
{
	unsigned used = r->nready + (r->cur >= 0);

	return used < NSLOT && !(r->nready && r->ready_bytes >= LOOKAHEAD_BYTES);
}

static void *producer(void *arg)
{
	struct st_reader *r = arg;
	struct slot *s;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !producer_may_fill(r))
			pthread_cond_wait(&r->free_cv, &r->mu);
		if (r->stop)
			break;
		s = &r->slot[r->fill_at];
		pthread_mutex_unlock(&r->mu);
		produce(&r->src, s);
		pthread_mutex_lock(&r->mu);
		r->fill_at = (r->fill_at + 1) % NSLOT;
		r->nready++;
		r->ready_bytes += s->len;
		pthread_cond_signal(&r->ready_cv);
		if (s->kind != SLOT_FRAME)
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* The next slot in stream order, filled (waited for, or filled here without a thread). */
static struct slot *peek_slot(struct st_reader *r)
{
	if (!r->threaded) {
		if (!r->nready) {
			struct slot *s = &r->slot[r->fill_at];

			produce(&r->src, s);
			r->fill_at = (r->fill_at + 1) % NSLOT;
			r->nready++;
			r->ready_bytes += s->len;
		}
		return &r->slot[r->take_at];
	}
	pthread_mutex_lock(&r->mu);
	while (!r->nready)
		pthread_cond_wait(&r->ready_cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return &r->slot[r->take_at];
}

/* Reads on in the slot peek_slot() returned; the one read so far is given back. */
static void take_slot(struct st_reader *r)
{
	struct slot *old = r->cur >= 0 ? &r->slot[r->cur] : NULL;

	if (old && old->cap > BIG_SLOT) {
		free(old->buf);
		old->buf = NULL;
		old->cap = 0;
	}
	if (r->threaded)
		pthread_mutex_lock(&r->mu);
	r->cur = (int)r->take_at;
	r->take_at = (r->take_at + 1) % NSLOT;
	r->nready--;
	r->ready_bytes -= r->slot[r->cur].len;
	if (r->threaded) {
		pthread_cond_signal(&r->free_cv);
		pthread_mutex_unlock(&r->mu);
	}
}

/* The input ended (or is damaged) where the slot says: the reader's end from it. */
static int slot_end(struct st_reader *r, const struct slot *s)
{
	if (s->kind == SLOT_END)
		return 1;
	if (s->err)
		return s->err;
	r->cut |= s->cut;
	set_error(r, s->end, "%s", s->msg);
	return 1;
}

/* The frame's fd identities are forgotten: a new frame starts its own. */
static void fds_reset(struct st_reader *r)
{
	hmap_clear(&r->fds);
	r->nfd = 0;
	memset(r->fdc, 0, sizeof(r->fdc));
}

/* Whether the per-frame fd identities start afresh with the frame just loaded. */
static bool frame_starts_state(const struct st_reader *r, size_t keep)
{
	/*
	 * A writer that marks its frames says so with TIME records (st_reader__next).
	 * Older traces: a zstd frame that starts with a TIME record, at a record boundary.
	 */
	return !r->frame_marks && !keep && r->frame_len > keep && r->frame[keep] == ST_REC_TIME;
}

/*
 * Moves on to the next frame, after the `keep` bytes of a record the current frame
 * left unfinished, which go just before it.  0: a frame is ready, 1: end of input
 * (see r->end), negative: an I/O error.
 */
static int load_frame(struct st_reader *r)
{
	size_t keep = r->frame_len - r->pos;
	struct slot *s = peek_slot(r);
	unsigned char *start;

	if (s->kind != SLOT_FRAME)
		return slot_end(r, s);
	/* a record is shorter than HEAD, so what is left of it always fits */
	start = s->buf + HEAD - keep;
	if (keep)
		memcpy(start, r->frame + r->pos, keep);
	take_slot(r);
	r->frame_off += r->pos;
	r->frame = start;
	r->frame_len = keep + s->len;
	r->pos = 0;
	r->nframes++;
	if (frame_starts_state(r, keep))
		fds_reset(r);
	return 0;
}

static const char *tail_string(struct st_reader *r, const unsigned char *p, size_t len)
{
	if (!len || !memchr(p, '\0', len)) {
		set_error(r, ST_END_CORRUPT, "record at offset %llu: unterminated string",
			  (unsigned long long)(r->frame_off + r->pos));
		return NULL;
	}
	return (const char *)p;
}

static int take(const unsigned char **p, size_t *len, void *dst, size_t n)
{
	if (*len < n)
		return -1;
	memcpy(dst, *p, n);
	*p += n;
	*len -= n;
	return 0;
}

/* Size of the optional syscall fields before the path, by the record's flags. */
static size_t sc_opt_size(unsigned flags)
{
	return ((flags & ST_SC_FD) ? sizeof(struct st_sc_fd) : 0) + ((flags & ST_SC_COUNT) ? 8 : 0) +
	       ((flags & ST_SC_OFFSET) ? 8 : 0) +
	       ((flags & ST_SC_FUTEX) ? sizeof(struct st_sc_futex) : 0) +
	       ((flags & ST_SC_TIMEOUT) ? 8 : 0) + ((flags & ST_SC_PCACHE) ? 8 : 0) +
	       ((flags & ST_SC_FDS) ? 8 : 0);
}

const char *st_syscall_path(const void *payload, size_t len, unsigned flags)
{
	const struct st_syscall_narrow *b = payload;
	size_t off = sizeof(struct st_syscall) + sc_opt_size(flags);

	if (len < sizeof(*b))
		return NULL;
	if (b->flags2 & ST_SC2_NARROW)
		off -= sizeof(struct st_syscall) - sizeof(struct st_syscall_narrow);
	if ((flags & ST_SC_FD) && (b->flags2 & ST_SC2_FD_SHORT))
		off -= sizeof(struct st_sc_fd) - ST_SC_FD_SHORT_SIZE;
	const char *p = (const char *)payload + off;

	if (!(flags & ST_SC_PATH) || len <= off || !memchr(p, '\0', len - off))
		return NULL;
	return p;
}

bool st_env_next(const struct st_event *ev, const char **key, const char **val)
{
	const char *start = (const char *)ev->raw + sizeof(struct st_env);
	const char *end = (const char *)ev->raw + ev->raw_len, *k;

	if (ev->type != ST_REC_ENV || ev->raw_len <= sizeof(struct st_env))
		return false;
	k = *key ? *val + strlen(*val) + 1 : start;
	if (k >= end)
		return false;
	*val = k + strlen(k) + 1;
	if (*val >= end)
		return false;
	*key = k;
	return true;
}

static uint64_t fd_key(__u32 tid, __s32 fd)
{
	return ((uint64_t)tid << 32) | (__u32)fd;
}

/*
 * The index + 1 in fdv of the identity of (tid, fd) in this frame, 0 when none.  A
 * syscall record looks its fd up, through a direct-mapped cache: the hash map's hash
 * and probe were a tenth of the reader's time.  A key keeps its index for the
 * frame, so an entry cannot go stale (fds_reset() empties the cache).
 */
static uint64_t fd_index(struct st_reader *r, uint64_t key)
{
	unsigned at = (unsigned)(key ^ (key >> 29)) & (FD_CACHE - 1);
	uint64_t *v;

	if (r->fdc[at].key == key && r->fdc[at].idx)
		return r->fdc[at].idx;
	v = hmap_find(&r->fds, key);
	if (!v || !*v)
		return 0;
	r->fdc[at].key = key;
	r->fdc[at].idx = *v;
	return *v;
}

/*
 * Remembers a full fd identity, `raw` its bytes in the record (copied from there, not
 * from the event just written: a wide load of narrower stores waits for them to
 * retire); 0, or -1 out of memory.
 */
static int fd_remember(struct st_reader *r, __u32 tid, __s32 fd, const unsigned char *raw)
{
	/* mostly a thread's fd seen before in the frame (a new identity for it) */
	uint64_t idx = fd_index(r, fd_key(tid, fd)), *slot;

	if (idx) {
		memcpy(&r->fdv[idx - 1], raw, sizeof(*r->fdv));
		return 0;
	}
	slot = hmap_slot(&r->fds, fd_key(tid, fd));
	if (!slot)
		return -1;
	if (*slot) {
		memcpy(&r->fdv[*slot - 1], raw, sizeof(*r->fdv));
		return 0;
	}
	if (r->nfd == r->capfd) {
		size_t cap = r->capfd ? 2 * r->capfd : 256;
		struct st_sc_fd *v = realloc(r->fdv, cap * sizeof(*v));

		if (!v)
			return -1;
		r->fdv = v;
		r->capfd = cap;
	}
	memcpy(&r->fdv[r->nfd++], raw, sizeof(*r->fdv));
	*slot = r->nfd;
	return 0;
}

/* A short fd field: the identity is the thread's last one for that fd in the frame. */
static int take_fd(struct st_reader *r, const unsigned char **p, size_t *len,
		   struct st_ev_syscall *sc)
{
	__s32 fd[2];
	uint64_t idx;

	if (!(sc->b.flags2 & ST_SC2_FD_SHORT)) {
		const unsigned char *raw = *p;

		if (take(p, len, &sc->fd, sizeof(sc->fd)))
			return -1;
		return fd_remember(r, sc->b.tid, sc->fd.fd, raw) ? -2 : 0;
	}
	if (take(p, len, fd, sizeof(fd)))
		return -1;
	idx = fd_index(r, fd_key(sc->b.tid, fd[0]));
	if (!idx) {
		set_error(r, ST_END_CORRUPT, "syscall record at offset %llu: short fd %d without "
			  "its identity earlier in the frame",
			  (unsigned long long)(r->frame_off + r->pos), fd[0]);
		return -2;
	}
	sc->fd = r->fdv[idx - 1];
	sc->b.flags2 &= (__u8)~ST_SC2_FD_SHORT;
	return 0;
}

static int decode_syscall(struct st_reader *r, struct st_event *ev, const unsigned char *p,
			  size_t len)
{
	struct st_ev_syscall *sc = &ev->sc;
	int err;

	/*
	 * Field by field: this runs for most records, and the compiler turns a
	 * whole-struct clear into a `rep stos` that was the reader's hottest line.
	 */
	sc->present = 0;
	memset(&sc->fd, 0, sizeof(sc->fd));
	sc->count = sc->offset = sc->pcache_pages = 0;
	sc->futex.uaddr = 0;
	sc->futex.op = sc->futex.val = 0;
	sc->timeout = -1;
	sc->fds[0] = sc->fds[1] = 0;
	if (len >= sizeof(struct st_syscall_narrow) && (p[6] & ST_SC2_NARROW)) {
		struct st_syscall_narrow nw;

		take(&p, &len, &nw, sizeof(nw));
		sc->b = (struct st_syscall){ nw.tid, nw.nr, nw.flags2 & (__u8)~ST_SC2_NARROW, 0,
					     nw.ret, nw.dur };
	} else if (take(&p, &len, &sc->b, sizeof(sc->b))) {
		return -1;
	}
	sc->present = ev->flags;
	if ((ev->flags & ST_SC_FD) && (err = take_fd(r, &p, &len, sc)))
		return err;
	if ((ev->flags & ST_SC_COUNT) && take(&p, &len, &sc->count, 8))
		return -1;
	/* most calls are done here (an fd and a count): one test for the six fields */
	if (!(ev->flags & (ST_SC_OFFSET | ST_SC_FUTEX | ST_SC_TIMEOUT | ST_SC_PCACHE | ST_SC_FDS |
			   ST_SC_PATH)))
		return 0;
	if ((ev->flags & ST_SC_OFFSET) && take(&p, &len, &sc->offset, 8))
		return -1;
	if ((ev->flags & ST_SC_FUTEX) && take(&p, &len, &sc->futex, sizeof(sc->futex)))
		return -1;
	if ((ev->flags & ST_SC_TIMEOUT) && take(&p, &len, &sc->timeout, 8))
		return -1;
	if ((ev->flags & ST_SC_PCACHE) && take(&p, &len, &sc->pcache_pages, 8))
		return -1;
	if ((ev->flags & ST_SC_FDS) && take(&p, &len, sc->fds, sizeof(sc->fds)))
		return -1;
	if ((ev->flags & ST_SC_PATH) && !(ev->str = tail_string(r, p, len)))
		return -2;
	return 0;
}

static int decode_drops(struct st_reader *r, struct st_event *ev, const unsigned char *p,
			size_t len)
{
	struct st_drops *d = ev->type == ST_REC_DROPS ? &ev->drops : &ev->trailer.drops;
	size_t fixed = ev->type == ST_REC_DROPS ? 0 : offsetof(struct st_trailer, drops);

	memset(&ev->trailer, 0, sizeof(ev->trailer));
	if (len < fixed + 8)
		return -1;
	memcpy(&ev->trailer, p, fixed);
	memcpy(d, p + fixed, 8);
	/* counters of kinds this reader does not know are ignored */
	if (len < fixed + 8 + 8ull * d->nkinds)
		return -1;
	if (d->nkinds > ST_KIND_MAX)
		d->nkinds = ST_KIND_MAX;
	memcpy(d->count, p + fixed + 8, 8ull * d->nkinds);
	memcpy(&r->drops, d, sizeof(*d));
	return 0;
}

/* A record the type table describes: its fixed part, then its strings. */
static int decode_desc(struct st_reader *r, struct st_event *ev, const struct st_rec_desc *d,
		       const unsigned char *p, size_t len)
{
	if (len < d->fixed || d->fixed > sizeof(ev->fixed_raw))
		return -1;
	memcpy(ev->fixed_raw, p, d->fixed);
	p += d->fixed;
	len -= d->fixed;
	if (d->tails == ST_TAILS_KV) {
		/* key\0value\0 pairs: the last byte ends a string */
		if (len && p[len - 1] != '\0') {
			set_error(r, ST_END_CORRUPT, "record at offset %llu: unterminated string",
				  (unsigned long long)(r->frame_off + r->pos));
			return -2;
		}
	} else if (d->tails) {
		if (!(ev->str = tail_string(r, p, len)))
			return -2;
		if (d->tails > 1) {
			size_t l1 = strlen(ev->str) + 1;

			if (!(ev->str2 = tail_string(r, p + l1, len - l1)))
				return -2;
		}
	}
	return 0;
}

/*
 * A switch: its fixed part, then with ST_SW_RUNTIME the untraced side's CPU time and
 * with ST_SW_RAN prev's time on the CPU (or with ST_SW_STOLEN its time stolen), in
 * that order (a record too short for one is
 * an older tracer's: its flag is cleared).  The fixed part is the type table's (a
 * struct st_switch, no strings), copied at its size known here: a third of the records
 * are switches, and the table lookup and a memcpy() of a run-time length per switch
 * were a tenth of the reader's instructions.
 */
static int decode_switch(struct st_event *ev, const unsigned char *p, size_t len)
{
	static const __u8 flag[3] = { ST_SW_RUNTIME, ST_SW_RAN, ST_SW_STOLEN };
	__u64 *val[3] = { &ev->sw_runtime, &ev->sw_ran, &ev->sw_stolen };
	size_t at = sizeof(ev->sw);

	ev->sw_runtime = ev->sw_ran = ev->sw_stolen = 0;
	if (len < at)
		return -1;
	memcpy(&ev->sw, p, at);
	for (int i = 0; i < 3; i++) {
		if (!(ev->flags & flag[i]))
			continue;
		if (len < at + sizeof(__u64)) {
			ev->flags &= (__u8)~flag[i];
			continue;
		}
		memcpy(val[i], p + at, sizeof(__u64));
		at += sizeof(__u64);
	}
	return 0;
}

/* Decodes a known payload; 0 ok, 1 unknown, -1 too short (corrupt), -2 corrupt (said). */
static int decode(struct st_reader *r, struct st_event *ev, const unsigned char *p, size_t len)
{
	const struct st_rec_desc *d;

	switch (ev->type) {
	case ST_REC_DROPS:
	case ST_REC_TRAILER:
		return decode_drops(r, ev, p, len);
	case ST_REC_SYSCALL:
		return decode_syscall(r, ev, p, len);
	case ST_REC_SWITCH:
		return decode_switch(ev, p, len);
	}
	d = st_rec_desc(ev->type);
	return d && d->fixed ? decode_desc(r, ev, d, p, len) : 1;
}

/* After the trailer: nothing may follow but skippable frames, not even a part of a record. */
static int after_trailer(struct st_reader *r)
{
	const struct slot *s;
	int err;

	if (r->pos == r->frame_len) {
		s = peek_slot(r);
		if (s->kind == SLOT_FAIL && !s->data_frame) {
			err = slot_end(r, s);
			return err < 0 ? err : 0;
		}
		if (s->kind == SLOT_END)
			return 0;
		set_error(r, ST_END_CORRUPT, "data after the trailer at byte %llu",
			  (unsigned long long)s->start);
		return 0;
	}
	set_error(r, ST_END_CORRUPT, "data after the trailer at byte %llu",
		  (unsigned long long)r->slot[r->cur].next);
	return 0;
}

/* The end of the input with `left` bytes of an unfinished record. */
static void input_ended(struct st_reader *r, size_t left)
{
	if (r->end != ST_END_NONE)
		return;
	if (left)
		set_error(r, ST_END_TRUNCATED, "the stream ends inside a record at offset %llu "
			  "(%zu of its bytes are there): read up to the record before it",
			  (unsigned long long)(r->frame_off + r->pos), left);
	else
		set_error(r, ST_END_TRUNCATED, "no trailer: the tracer did not finish (killed?); "
			  "read up to its last complete frame");
}

/*
 * Reads the next raw record header into ev; 1 when one is there, 0 at end.  Inlined:
 * the call's register saves were a sixth of its instructions, run for every record.
 */
static inline __attribute__((always_inline)) int next_record(struct st_reader *r,
							      struct st_event *ev,
							      const unsigned char **payload)
{
	struct st_rec h;
	size_t avail;
	int err;

	for (;;) {
		avail = r->frame_len - r->pos;
		if (avail >= sizeof(h)) {
			memcpy(&h, r->frame + r->pos, sizeof(h));
			if (h.size < sizeof(h)) {
				set_error(r, ST_END_CORRUPT, "record at offset %llu has a bad size (%u)",
					  (unsigned long long)(r->frame_off + r->pos), h.size);
				return 0;
			}
			if (h.size <= avail)
				break;
		}
		/* the record goes on in the next frame (or the current one is used up) */
		if (r->end == ST_END_TRAILER)
			return after_trailer(r);
		if (r->end != ST_END_NONE)
			return 0;
		err = load_frame(r);
		if (err < 0)
			return err;
		if (err > 0) {
			input_ended(r, r->frame_len - r->pos);
			return 0;
		}
	}
	/*
	 * The frame was written by the decompressing thread, on another CPU: asked for
	 * ahead, its lines are here when their records are (stgen 20M: 2.6% less CPU
	 * time).  An address, not a pointer: it may lie past the frame.
	 */
	__builtin_prefetch((const void *)((uintptr_t)r->frame + r->pos + 512));
	/* no memset of the whole event: decode() fills the part of the union it uses */
	ev->str = ev->str2 = NULL;
	ev->type = h.type;
	ev->flags = h.flags;
	ev->size = h.size;
	ev->offset = r->frame_off + r->pos;
	*payload = r->frame + r->pos + sizeof(h);
	ev->raw = *payload;
	ev->raw_len = h.size - sizeof(h);
	r->pos += h.size;
	if (r->ts + h.dt < r->ts) {
		set_error(r, ST_END_CORRUPT, "record at offset %llu: its time passes 2^64 ns",
			  (unsigned long long)ev->offset);
		return 0;
	}
	r->ts += h.dt;
	ev->ts = r->ts;
	return 1;
}

int st_reader__next(struct st_reader *r, struct st_event *ev)
{
	const unsigned char *p = NULL;	/* see read_header() */
	int ret, d;

	for (;;) {
		ret = next_record(r, ev, &p);
		if (ret <= 0)
			return ret;
		if (r->end == ST_END_TRAILER) {
			set_error(r, ST_END_CORRUPT, "data after the trailer at offset %llu",
				  (unsigned long long)ev->offset);
			r->end = ST_END_CORRUPT;
			return 0;
		}
		if (ev->type == ST_REC_TIME) {
			if (ev->raw_len < sizeof(struct st_time))
				goto corrupt;
			memcpy(&r->ts, p, sizeof(r->ts));
			if (r->frame_marks && (ev->flags & ST_TIME_FRAME))
				fds_reset(r);
			continue;
		}
		if (ev->type == ST_REC_HEADER) {
			set_error(r, ST_END_CORRUPT, "a second header at offset %llu",
				  (unsigned long long)ev->offset);
			return 0;
		}
		d = decode(r, ev, p, ev->raw_len);
		if (d == -1)
			goto corrupt;
		if (d == -2)
			return 0;
		if (d == 1) {
			r->skipped++;
			continue;
		}
		if (ev->type == ST_REC_TRAILER)
			r->end = ST_END_TRAILER;
		r->records++;
		return 1;
	}
corrupt:
	set_error(r, ST_END_CORRUPT, "%s record at offset %llu is too short (%u bytes)",
		  st_rec_name(ev->type) ? st_rec_name(ev->type) : "unknown",
		  (unsigned long long)ev->offset, ev->size);
	return 0;
}

static const char *kv_lookup(const char *s, size_t len, const char *key)
{
	size_t i = 0;

	while (i < len) {
		const char *k = s + i, *v;

		i += strlen(k) + 1;
		if (i >= len)
			break;
		v = s + i;
		i += strlen(v) + 1;
		if (!strcmp(k, key))
			return v;
	}
	return NULL;
}

static int read_header(struct st_reader *r)
{
	/* set, though next_record() fills both when it returns 1: gcc cannot tell */
	struct st_event ev = { 0 };
	const unsigned char *p = NULL;
	size_t slen;
	int ret;

	ret = next_record(r, &ev, &p);
	if (ret < 0)
		return ret;
	if (ret == 0 || ev.type != ST_REC_HEADER || ev.raw_len < sizeof(struct st_header)) {
		if (r->end == ST_END_TRUNCATED && r->nframes == 0 && !r->cut)
			snprintf(r->err, sizeof(r->err), "not a stalltrace trace (no zstd frame "
				 "with data)");
		else if (r->end == ST_END_TRUNCATED && r->nframes == 0)
			snprintf(r->err, sizeof(r->err), "file cut inside its first frame: nothing "
				 "complete to read (the tracer stopped before its first flush?)");
		else if (r->end != ST_END_CORRUPT || r->nframes)
			snprintf(r->err, sizeof(r->err), "not a stalltrace trace (no header record)");
		r->end = ST_END_CORRUPT;
		return -EINVAL;
	}
	memcpy(&r->info.h, p, sizeof(r->info.h));
	r->frame_marks = ev.flags & ST_HDR_FRAME_MARKS;
	if (memcmp(r->info.h.magic, ST_MAGIC, ST_MAGIC_LEN)) {
		snprintf(r->err, sizeof(r->err), "not a stalltrace trace (bad magic)");
		r->end = ST_END_CORRUPT;
		return -EINVAL;
	}
	if (r->info.h.version != ST_FORMAT_VERSION) {
		snprintf(r->err, sizeof(r->err), "trace format version %u, this reader knows %u",
			 r->info.h.version, ST_FORMAT_VERSION);
		r->end = ST_END_CORRUPT;
		return -EPROTO;
	}
	/* copy the strings, NUL-terminated even when the record is not */
	slen = ev.raw_len - sizeof(struct st_header);
	r->hdr_strings = calloc(1, slen + 2);
	if (!r->hdr_strings)
		return -ENOMEM;
	memcpy(r->hdr_strings, p + sizeof(struct st_header), slen);
	r->hdr_strings_len = slen;
	r->info.tracer_version = st_reader__header_str(r, "tracer_version");
	r->info.hostname = st_reader__header_str(r, "hostname");
	r->info.kernel = st_reader__header_str(r, "kernel");
	r->info.cmdline = st_reader__header_str(r, "cmdline");
	r->info.options = st_reader__header_str(r, "options");
	r->info.mode = st_reader__header_str(r, "mode");
	r->info.irq_context = st_reader__header_str(r, "irq_context");
	r->info.clock_error_ns = st_reader__header_str(r, "clock_error_ns");
	r->ts = r->info.h.start_ts;
	return 0;
}

static int reader_init(struct st_reader **rp)
{
	struct st_reader *r = calloc(1, sizeof(*r));

	*rp = r;
	if (!r)
		return -ENOMEM;
	r->cur = -1;
	r->src.dctx = ZSTD_createDCtx();
	if (!r->src.dctx)
		return -ENOMEM;
	/* bound the decoder's window: a hostile frame cannot make us allocate more */
	ZSTD_DCtx_setParameter(r->src.dctx, ZSTD_d_windowLogMax, 26);
	return 0;
}

/*
 * Whether a second thread can help: only with a CPU to spare.  On a machine whose
 * CPUs are all busy the two threads share what one had, and each wait for a frame
 * costs a wakeup behind the other tasks (a 100M-event trace at a load of 12 on 2
 * CPUs: 38 s with the thread, 28 s without).  ST_READER_THREAD=1 or 0 decides.
 */
static bool thread_helps(void)
{
	const char *env = getenv("ST_READER_THREAD");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double load;

	if (env && *env)
		return strcmp(env, "0") != 0;
	if (cpus < 2 || getloadavg(&load, 1) != 1)
		return false;
	return load < (double)cpus - 0.5;
}

/*
 * Decompresses ahead in a thread of its own (signals stay with the caller's threads).
 * Without one (no CPU to spare, or it could not start), frames are decompressed when
 * they are needed.
 */
static void start_thread(struct st_reader *r)
{
	sigset_t all, old;

	if (!thread_helps())
		return;
	if (pthread_mutex_init(&r->mu, NULL))
		return;
	if (pthread_cond_init(&r->ready_cv, NULL) || pthread_cond_init(&r->free_cv, NULL))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r->threaded = !pthread_create(&r->thread, NULL, producer, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int st_reader__open(struct st_reader **rp, const char *path)
{
	struct st_reader *r;
	struct stat st;
	int err = reader_init(rp);

	r = *rp;
	if (err)
		return err;
	r->src.f = fopen(path, "rbe");
	if (!r->src.f) {
		err = -errno;
		snprintf(r->err, sizeof(r->err), "cannot open: %s", strerror(errno));
		return err;
	}
	if (fstat(fileno(r->src.f), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(r->err, sizeof(r->err), "is a directory");
			return -EISDIR;
		}
		r->info.file_bytes = (__u64)st.st_size;
		if (S_ISREG(st.st_mode) && st.st_size == 0) {
			snprintf(r->err, sizeof(r->err), "empty file (0 bytes)");
			r->end = ST_END_CORRUPT;
			return -ENODATA;
		}
	}
	r->src.in_cap = IN_CHUNK;
	r->src.in = malloc(r->src.in_cap);
	if (!r->src.in)
		return -ENOMEM;
	start_thread(r);
	return read_header(r);
}

int st_reader__open_mem(struct st_reader **rp, const void *data, size_t len)
{
	int err = reader_init(rp);
	struct st_reader *r = *rp;

	if (err)
		return err;
	r->src.mem = data;
	r->src.in = (unsigned char *)data;	/* never written: fill() does not move memory input */
	r->src.in_len = len;
	r->info.file_bytes = len;
	if (!len) {
		snprintf(r->err, sizeof(r->err), "empty input (0 bytes)");
		r->end = ST_END_CORRUPT;
		return -ENODATA;
	}
	return read_header(r);
}

const struct st_trace_info *st_reader__info(const struct st_reader *r)
{
	return &r->info;
}

const char *st_reader__header_str(const struct st_reader *r, const char *key)
{
	if (!r->hdr_strings)
		return NULL;
	return kv_lookup(r->hdr_strings, r->hdr_strings_len, key);
}

enum st_end st_reader__end(const struct st_reader *r)
{
	return r->end;
}

const char *st_reader__error(const struct st_reader *r)
{
	return r->err;
}

const struct st_drops *st_reader__drops(const struct st_reader *r)
{
	return &r->drops;
}

__u64 st_reader__drops_total(const struct st_reader *r)
{
	__u64 t = 0;

	for (__u32 i = 0; i < r->drops.nkinds && i < ST_KIND_MAX; i++)
		t += r->drops.count[i];
	return t;
}

__u64 st_reader__records(const struct st_reader *r)
{
	return r->records;
}

__u64 st_reader__skipped(const struct st_reader *r)
{
	return r->skipped;
}

void st_reader__close(struct st_reader *r)
{
	if (!r)
		return;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->free_cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->ready_cv);
		pthread_cond_destroy(&r->free_cv);
	}
	for (int i = 0; i < NSLOT; i++)
		free(r->slot[i].buf);
	if (r->src.f)
		fclose(r->src.f);
	if (!r->src.mem)
		free(r->src.in);
	ZSTD_freeDCtx(r->src.dctx);
	hmap_free(&r->fds);
	free(r->fdv);
	free(r->hdr_strings);
	free(r);
}
