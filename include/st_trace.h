/* SPDX-License-Identifier: MIT */
/*
 * The trace library: the one writer and the one reader of the stalltrace format
 * (include/st_format.h, docs/trace-format.md).  The tracer writes with it, the
 * analyzer, the tests and the fuzz target read with it.  Its sources are
 * analyzer/lib/ (trace_write.c, trace_read.c, the record table trace_types.c, the
 * names trace_names.c, hmap.c): they see include/ and each other, nothing else of the
 * analyzer, and the tracer sees nothing else either (bpf/bpf.mk).
 *
 * Functions return 0 (or a positive count) on success and a negative errno on
 * failure; the reader keeps a one-line message for the last problem.
 */
#ifndef ST_TRACE_H
#define ST_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "st_format.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "stalltrace writes and reads its little-endian format natively: little-endian hosts only"
#endif

/* ---------------------------------------------------------------- writer */

struct st_writer;

/* Space kept allocated past the end of the file, so a trailer still fits on a full disk. */
#define ST_WRITER_RESERVE	(256u << 10)

struct st_writer_opts {
	int level;		/* zstd level, 0 = default (3) */
	bool force;		/* replace an existing regular file (never a symlink) */
	size_t frame_bytes;	/* end a frame when this much raw data is buffered (default 1 MiB) */
	int workers;		/* zstd worker threads (0 = compress in the caller) */
};

/*
 * Creates `path` with mode 0600, O_EXCL, never through a symlink, with
 * ST_WRITER_RESERVE bytes allocated past its end so that a trailer fits on a full
 * disk (-ENOSPC: no room for that).  With force an existing regular file is
 * replaced, but only once the new one is committed: until then the new one is
 * written beside it under a temporary name.
 */
int st_writer__create(struct st_writer **w, const char *path, const struct st_writer_opts *o);
/* Gives the file to a user (mode 0600 stays): tracer run under sudo. */
int st_writer__chown(struct st_writer *w, uid_t uid, gid_t gid);
/* Puts the new file in place of the old one (force); a no-op otherwise. */
int st_writer__commit(struct st_writer *w);
/* The name the file has now (the temporary one until committed). */
const char *st_writer__path(const struct st_writer *w);
/* Header: `kv` is key, value, key, value, ..., NULL (values may be NULL: skipped). */
int st_writer__header(struct st_writer *w, const struct st_header *h, const char *const *kv);
/*
 * Appends one record of time `ts` with payload `a` (`alen` bytes) followed by `b`
 * (`blen` bytes, may be NULL).  Ends the frame by itself when it is full.
 */
int st_writer__add(struct st_writer *w, __u64 ts, __u8 type, __u8 flags, const void *a,
		   size_t alen, const void *b, size_t blen);
/* Ends the current frame: compresses it and writes it out. */
int st_writer__flush(struct st_writer *w);
/*
 * Writes the trailer in a frame of its own, closes the file, commits it, frees w
 * (also on error).  After a write error the trailer is written over the frame that
 * failed, with the header when no frame had reached the file.
 */
int st_writer__finish(struct st_writer *w, struct st_trailer *t);
/* The zstd level for the frames that follow (the tracer adapts it to the event rate). */
void st_writer__set_level(struct st_writer *w, int level);
/*
 * What a failed write does (err: -ENOSPC for a full disk), for tests: the frame being
 * built and every record after it are lost, and the trailer says so.
 */
void st_writer__fail(struct st_writer *w, int err);
/* Closes without a trailer (what a crash leaves: committed), frees w. */
void st_writer__abandon(struct st_writer *w);
/* Closes and removes the file it created (the old one, under force, stays); frees w. */
void st_writer__discard(struct st_writer *w);
__u64 st_writer__bytes(const struct st_writer *w);	/* compressed bytes written */
__u64 st_writer__records(const struct st_writer *w);	/* records added */
__u64 st_writer__records_written(const struct st_writer *w);	/* ... in frames on disk */
__u64 st_writer__raw_bytes(const struct st_writer *w);
__u32 st_writer__frames(const struct st_writer *w);

/* ---------------------------------------------------------------- reader */

struct st_reader;

/* A syscall record, decoded. `present` holds the ST_SC_* flags of the fields set. */
struct st_ev_syscall {
	struct st_syscall b;
	__u32 present;
	struct st_sc_fd fd;
	__u64 count;
	__u64 offset;
	struct st_sc_futex futex;
	__s64 timeout;		/* ns, -1 none */
	__u64 pcache_pages;
	__s32 fds[2];
};

struct st_event {
	__u8 type;
	__u8 flags;
	__u16 size;
	__u64 ts;		/* record time: the end, for syscalls, block requests, probes */
	__u64 offset;		/* of the record in the decompressed stream */
	union {
		struct st_time time;
		struct st_switch sw;
		struct st_wakeup wk;
		struct st_migrate mig;
		struct st_idle idle;
		struct st_fork fork;
		struct st_exec exec;
		struct st_exit exit;
		struct st_comm comm;
		struct st_runtime rt;
		struct st_proc proc;
		struct st_fd fd;
		struct st_env env;
		struct st_affinity aff;
		struct st_release release;
		struct st_ev_syscall sc;
		struct st_block blk;
		struct st_pcache pc;
		struct st_probe_def pdef;
		struct st_probe probe;
		struct st_drops drops;
		struct st_trailer trailer;
		struct st_cost cost;
		struct st_cost_prog cost_prog;
		__u8 fixed_raw[128];	/* any type's fixed part (struct st_rec_desc) */
	};
	/* exec file, proc cmdline, fd path, syscall path, probe library, affinity's CPU
	 * list; NUL-terminated */
	const char *str;
	const char *str2;	/* probe symbol */
	const void *raw;	/* the payload as stored, for unknown types */
	__u32 raw_len;
	__u64 sw_runtime;	/* SWITCH with ST_SW_RUNTIME: the untraced side's CPU time, ns */
	__u64 sw_ran;		/* SWITCH with ST_SW_RAN: prev's time on the CPU, ns */
	__u64 sw_stolen;	/* SWITCH with ST_SW_STOLEN: of it, not prev's CPU time, ns */
};

/* How the stream ended. */
enum st_end {
	ST_END_NONE = 0,	/* not at the end yet */
	ST_END_TRAILER,		/* complete: the trailer was read */
	ST_END_TRUNCATED,	/* no trailer: the tracer was killed, or the file was cut */
	ST_END_CORRUPT,		/* damaged data: reading stopped at the damage */
};

struct st_trace_info {
	struct st_header h;
	const char *tracer_version, *hostname, *kernel, *cmdline, *options, *mode;
	const char *irq_context;	/* "preempt_count", "none", NULL (older tracers) */
	const char *clock_error_ns;	/* the clock pair's uncertainty, NULL (older tracers) */
	__u64 file_bytes;
};

/*
 * Opens a trace and reads its header.  On failure *r is still set when it could
 * be allocated so st_reader__error() can say why; free it with st_reader__close().
 */
int st_reader__open(struct st_reader **r, const char *path);
/* The same over a buffer in memory (the caller keeps it alive). */
int st_reader__open_mem(struct st_reader **r, const void *data, size_t len);
const struct st_trace_info *st_reader__info(const struct st_reader *r);
/* A header string by key, or NULL. */
const char *st_reader__header_str(const struct st_reader *r, const char *key);
/*
 * Next event: 1 with *ev filled (valid until the next call), 0 at the end of what
 * can be read (see st_reader__end()), negative errno on an I/O error.
 * TIME records are consumed and not returned; everything else is.
 */
int st_reader__next(struct st_reader *r, struct st_event *ev);
enum st_end st_reader__end(const struct st_reader *r);
/* One line saying what went wrong or what is missing (empty when nothing). */
const char *st_reader__error(const struct st_reader *r);
/* Latest drop counters seen (DROPS records, then the trailer). */
const struct st_drops *st_reader__drops(const struct st_reader *r);
__u64 st_reader__drops_total(const struct st_reader *r);
/* Records returned so far, and records of unknown types skipped. */
__u64 st_reader__records(const struct st_reader *r);
__u64 st_reader__skipped(const struct st_reader *r);
void st_reader__close(struct st_reader *r);

/*
 * The key/value pairs of an ENV record, one per call:
 *   for (const char *k = NULL, *v; st_env_next(ev, &k, &v);)
 * (the reader checked that they are NUL-terminated inside the record).
 */
bool st_env_next(const struct st_event *ev, const char **key, const char **val);

/* The path of a SYSCALL record's payload (`flags`: the record's), or NULL. */
const char *st_syscall_path(const void *payload, size_t len, unsigned flags);

/* ---------------------------------------------------------------- record types */

/* How a field of a record's fixed part is read, shown by --dump and written by stgen. */
enum st_ftype {
	ST_F_U8 = 1, ST_F_U16, ST_F_U32, ST_F_U64, ST_F_S16, ST_F_S32,
	ST_F_COMM,	/* char[ST_COMM_LEN] */
	ST_F_DEV,	/* __u32 (major << 20) | minor, shown "major:minor" */
	ST_F_STATE,	/* __u8 enum st_state, shown by name */
	ST_F_WAIT,	/* __u8 enum st_wait, shown by name */
	ST_F_FDKIND,	/* __u8 enum st_fd_kind */
	ST_F_BLKOP,	/* __u8 enum st_blk_op */
	ST_F_FLAG,	/* `off` is a bit of the record's flags: true or false */
	ST_F_STR,	/* `off` is the number of a string after the fixed part */
	ST_F_PIDOF,	/* a thread id: shown as the pid the records before said it has */
	ST_F_RUNTIME,	/* `off` is a flag: with it, a __u64 follows the fixed part, in
			 * the fields' order (SWITCH: ev->sw_runtime, ev->sw_ran, decoded
			 * by the reader's own code) */
};

struct st_field {
	const char *name;	/* --dump's key, stgen's */
	__u16 off;		/* byte offset in the fixed part; the bit; the string */
	__u8 type;		/* enum st_ftype */
	__u8 nonzero;		/* shown only when not 0 (a flag: when set) */
};

#define ST_TAILS_KV	3	/* st_rec_desc.tails: key\0value\0 pairs to the record end */

/*
 * What every consumer knows of a record type (analyzer/lib/trace_types.c).  Offsets
 * in the *_at fields are byte offsets in the fixed part plus 1 (0: none).
 */
struct st_rec_desc {
	const char *name;	/* --dump's "type", stgen's directive */
	__u16 fixed;		/* bytes of the fixed part; 0: variable, decoded by its own code */
	__u8 tails;		/* NUL-terminated strings after it (ev->str, ev->str2), or ST_TAILS_KV */
	__u8 kind;		/* enum st_kind its losses count under; ST_KIND_MAX: none */
	__u32 group;		/* the ST_GROUP_* that captures it; 0: always there */
	__u16 tid_at;		/* the thread it is about */
	__u16 pid_at;		/* its process, when the record says (else: learned from others) */
	__u16 dur_at;		/* a __u64 duration: the record begins that long before its time */
	struct { __u16 tid_at, pid_at; } learn[2];	/* thread -> process pairs it tells */
	const struct st_field *fields;	/* --dump's fields in order, to a NULL name; NULL: own code */
};

/* The description of a record type, NULL when the type is unknown. */
const struct st_rec_desc *st_rec_desc(unsigned type);
/* A field's value as an integer (signed types sign-extended), 0 for strings and flags. */
__u64 st_field_u64(const struct st_field *f, const void *fixed);
/* The __u32 at an *_at position of a fixed part (0 when `at` is 0). */
__u32 st_rec_u32(const void *fixed, __u16 at);

/* ---------------------------------------------------------------- names */

const char *st_rec_name(unsigned type);
const char *st_kind_name(unsigned kind);
const char *st_state_name(unsigned state);
const char *st_fd_kind_name(unsigned kind);
const char *st_wait_name(unsigned w);		/* enum st_wait: "socket", "futex", ... */
const char *st_blk_op_name(unsigned op);
const char *st_syscall_name(unsigned nr);	/* x86_64; NULL when unknown */
int st_syscall_nr(const char *name);		/* -1 when unknown */

/* What a syscall means to the analysis: the classes of scripts/syscalls.tsv. */
#define ST_SYSC_FILE	(1u << 0)	/* the file system's time when its fd is a file */
#define ST_SYSC_READ	(1u << 1)	/* reads data from its fd */
#define ST_SYSC_WRITE	(1u << 2)	/* writes data to its fd */
#define ST_SYSC_RECV	(1u << 3)	/* data can arrive through it (a batch, a message) */
#define ST_SYSC_SEND	(1u << 4)	/* sends on a socket */
#define ST_SYSC_NET	(1u << 5)	/* a socket call */
#define ST_SYSC_WAIT	(1u << 6)	/* waits for one of several fds, with a timeout */
#define ST_SYSC_SYNC	(1u << 7)	/* flushes written data to storage */
#define ST_SYSC_SLEEP	(1u << 8)
#define ST_SYSC_FUTEX	(1u << 9)
#define ST_SYSC_OPEN	(1u << 10)	/* a new fd for a path */
#define ST_SYSC_CLOSE	(1u << 11)
#define ST_SYSC_FDOP	(1u << 12)	/* inspects or copies an fd: fstat, dup, fcntl */
#define ST_SYSC_MAP	(1u << 13)	/* maps memory */
#define ST_SYSC_UNMAP	(1u << 14)	/* unmaps memory */
/*
 * ST_SYSC_*; 0 when none or unknown.  Inline: the analysis asks several times per
 * record, and the call was 1.5% of `analyze`'s instructions.
 */
extern const unsigned short *const st_syscall_class_tab;
extern const unsigned st_syscall_class_len;
static inline unsigned st_syscall_class(unsigned nr)
{
	return nr < st_syscall_class_len ? st_syscall_class_tab[nr] : 0;
}

#endif /* ST_TRACE_H */
