// SPDX-License-Identifier: MIT
/*
 * stgen: writes a stalltrace trace from a line-oriented text description, with the
 * writer API of include/st_trace.h only, so tests can build exact traces by hand.
 *
 *   stgen [-f] IN.txt OUT.zst        (IN "-" is stdin; -f replaces OUT)
 *   stgen --bench EVENTS OUT.zst     a large training-shaped trace for benchmarks
 *
 * One record per line: a directive, then key=value fields.  `#` starts a comment.
 * Values: integers (decimal, 0x hex, negative), times and durations with an optional
 * unit (ns, us, ms, s; decimals allowed: 1.5ms), names, and strings (bare words, or
 * "double quoted" with \" \\ \n \t \xNN escapes: test labels can hold anything).
 * Fields left out are 0 (or the documented default).  Every `ts` is absolute
 * CLOCK_MONOTONIC ns, or `+T` relative to the current base (see `base`, `repeat`).
 *
 *   header  start=1s ncpus=2 target_pid= page_size=4096 event_mask=0x1f clock_id=1
 *           realtime_offset= boottime_offset= version=1 magic=STALLTRC
 *           KEY=VALUE for any other key: a header string (cmdline="python t.py")
 *           (written automatically with the defaults if the first record is not one)
 *   option  frame_bytes=N level=N        writer options, before the header
 *   base    T                            sets the base for ts=+T (starts at header start)
 *   repeat  N every=D                    lines up to the matching `end` are written N
 *   end                                  times, iteration i with base = base + i*D
 *                                        (repeats nest; `$i` in a value is the innermost
 *                                        iteration, `$j` the next outer one).  After the
 *                                        `end` the base is base + N*D, also inside an
 *                                        outer repeat: put nested repeats last
 *   switch  ts= cpu= prev= next= state=R|S|D|T|X|I|?|NUM traced=prev|next|both|none|NUM
 *           preempt=1 flags=NUM (raw flags, overrides traced/preempt)
 *           runtime=NS (the untraced side's CPU time so far: ST_SW_RUNTIME)
 *           ran=NS (prev's time on the CPU since it was picked: ST_SW_RAN)
 *           stolen=NS (of prev's time on the CPU, what the hypervisor took: ST_SW_STOLEN)
 *           wait=unknown|file|pipe|socket|futex|sleep|other|NUM (what prev blocked in)
 *           default traced: prev when prev!=0, next when next!=0
 *   wakeup  ts= tid= waker= waker_pid= target_cpu= waker_cpu= irq=1 softirq=1 new=1
 *           waker_traced=1 flags=NUM
 *   migrate ts= tid= orig= dest=
 *   fork    ts= parent= parent_pid= child= child_pid= thread=1 comm=
 *   exec    ts= tid= pid= old_tid= comm= file=
 *   exit    ts= tid= pid= code= group_dead=1
 *   comm    ts= tid= pid= comm= traced=1 rename=1 flags=NUM
 *   proc    ts= pid= ppid= nthreads= exec=1 cmdline=   (exec=1: an exec's command line)
 *   fd      ts= pid= fd= kind= dev= ino= path=
 *   env     ts= pid= at=exec|attach unreadable=1 flags=NUM, then KEY=VALUE pairs
 *   NAME    ts= tid= pid= FIELD=...      any other record type of the format library's
 *                                        table (st_rec_desc()), by the field names
 *                                        --dump shows (flags: NAME=1; strings quoted):
 *                                        e.g. `release ts= tid= pid=`
 *   record  NAME ts= tid= pid= FIELD=... the same for any table type, also those with a
 *                                        directive above (their --dump names; the time is
 *                                        the record's: `end` for those with a duration)
 *           (every other field, in order: RANK=1 MASTER_ADDR=10.0.0.1)
 *   syscall ts=END tid= name=NAME|nr=NUM ret= dur= no_entry=1, then optional fields
 *           (each sets its flag): fd= kind= dev= ino= (ST_SC_FD), count= (ST_SC_COUNT),
 *           offset=, futex_uaddr= futex_op= futex_val= (ST_SC_FUTEX), timeout= (ns,
 *           -1 = none; ST_SC_TIMEOUT), pcache= (ST_SC_PCACHE), fds=A,B (ST_SC_FDS),
 *           path= (ST_SC_PATH)
 *   block   ts=END tid= pid= dev= op=read|write|flush|discard|other|NUM bytes= sector=
 *           service= queued= error= sync=1 meta=1 fua=1
 *   pcache  ts= tid= dev= ino= index= pages=
 *   probe_def ts= id= role=plain|step|gpu_sync|gpu_launch|NUM pid= lib= sym=
 *   probe   ts=END tid= id= dur=
 *   drops   ts= sched= wakeup= proc= syscall= block= pcache= probe= state= nkinds=
 *   raw     ts= type=NUM flags=NUM hex=PAYLOAD     any record, known type or not
 *   flush                                ends the current zstd frame
 *   diskfull                             the disk fills up: the frame being built is lost
 *                                        (its records counted in the trailer's events, as
 *                                        the tracer's are), records after this line up
 *                                        to the trailer are not written; flag DISK_FULL
 *   trailer ts= stop=signal|duration|exited|error|NUM flags=NUM, drops as above
 *           (events, frames and raw bytes are filled in by the writer).  Leave the
 *           trailer out to get a truncated trace.
 *
 * kind: unknown|file|reg|pipe|socket|sock|chr|blk|dir|anon|link|NUM.
 * dev: MAJOR:MINOR or NUM (the encoded value).  Exit status: 0, 1 on an error
 * (message with the line number), 2 on usage.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_trace.h"

#define MAX_FIELDS 40
#define MAX_DEPTH 8

struct field {
	char *key;
	char *val;
	int used;
};

struct line {
	char *dir;		/* directive */
	struct field f[MAX_FIELDS];
	int nf;
	int lineno;
};

struct gen {
	const char *out;
	struct st_writer *w;
	struct st_writer_opts wo;
	bool force, header_done, disk_full;
	__u64 start, base;
	long iter[MAX_DEPTH];
	int depth;
	struct line *cur;
	char err[256];
};

static const char *prog = "stgen";

static int fail(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------------ lexing */

static int unescape(char *s, char **end)
{
	char *d = s, *p = s + 1;

	while (*p && *p != '"') {
		if (*p != '\\') {
			*d++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *d++ = '\n'; p++; break;
		case 't': *d++ = '\t'; p++; break;
		case 'x': {
			char hex[3] = { p[1], p[1] ? p[2] : 0, 0 };

			*d++ = (char)strtol(hex, NULL, 16);
			p += 1 + strlen(hex);
			break;
		}
		case '\0': return -1;
		default: *d++ = *p++; break;
		}
	}
	if (*p != '"')
		return -1;
	*d = '\0';
	*end = p + 1;
	return 0;
}

/* Splits a line in place into a directive and key=value fields. */
static int tokenize(char *s, struct line *l)
{
	char *p = s, *eq;

	l->nf = 0;
	l->dir = NULL;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			return 0;
		if (!l->dir) {
			l->dir = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
			if (*p)
				*p++ = '\0';
			continue;
		}
		if (l->nf == MAX_FIELDS)
			return -1;
		l->f[l->nf].key = p;
		eq = p;
		while (*eq && *eq != '=' && !isspace((unsigned char)*eq))
			eq++;
		if (*eq != '=') {
			/* a bare word: the value of an unnamed field (base, repeat count) */
			l->f[l->nf].key = "";
			l->f[l->nf].val = p;
			p = eq;
		} else {
			*eq = '\0';
			l->f[l->nf].val = eq + 1;
			p = eq + 1;
			if (*p == '"') {
				char *e;

				/* the unescaped string is written over the quoted one, from p */
				if (unescape(p, &e))
					return -1;
				p = e;
			} else {
				while (*p && !isspace((unsigned char)*p))
					p++;
			}
		}
		l->f[l->nf].used = 0;
		l->nf++;
		if (*p)
			*p++ = '\0';
	}
}

/* ------------------------------------------------------------------ values */

static struct field *field(struct line *l, const char *key)
{
	for (int i = 0; i < l->nf; i++) {
		if (!strcmp(l->f[i].key, key)) {
			l->f[i].used = 1;
			return &l->f[i];
		}
	}
	return NULL;
}

static const char *str(struct line *l, const char *key, const char *def)
{
	struct field *f = field(l, key);

	return f ? f->val : def;
}

/* factor := NUMBER[unit] | $i | $j | ...  ($i: innermost repeat's iteration) */
static int factor(struct gen *g, const char **pp, double *v)
{
	static const struct { const char *u; double mul; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
	};
	const char *p = *pp;
	char *end;

	if (*p == '$') {
		int k = p[1] - 'i';

		if (k < 0 || k >= g->depth)
			return fail(g, "'%.2s' outside a repeat deep enough", p);
		*v = (double)g->iter[g->depth - 1 - k];
		*pp = p + 2;
		return 0;
	}
	errno = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		*v = (double)strtoull(p, &end, 16);
	else
		*v = strtod(p, &end);
	if (end == p || errno)
		return fail(g, "bad number '%s'", p);
	p = end;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].u);

		if (!strncmp(p, units[i].u, n) && !isalpha((unsigned char)p[n])) {
			*v *= units[i].mul;
			p += n;
			break;
		}
	}
	*pp = p;
	return 0;
}

/* expr := term (('+'|'-') term)*, term := factor ('*' factor)* */
static int expr(struct gen *g, const char *s, double *out)
{
	const char *p = s;
	double sum = 0, sign = 1;

	if (*p == '-') {
		sign = -1;
		p++;
	}
	for (;;) {
		double t, f;

		if (factor(g, &p, &t))
			return -1;
		while (*p == '*') {
			p++;
			if (factor(g, &p, &f))
				return -1;
			t *= f;
		}
		sum += sign * t;
		if (*p == '+' || *p == '-') {
			sign = *p == '+' ? 1 : -1;
			p++;
			continue;
		}
		break;
	}
	if (*p)
		return fail(g, "bad value '%s'", s);
	*out = sum;
	return 0;
}

/* Integer field; ok is cleared on a bad value (the error is in g->err). */
static long long num(struct gen *g, struct line *l, const char *key, long long def, int *ok)
{
	struct field *f = field(l, key);
	double v;

	if (!f)
		return def;
	if (!strncmp(f->val, "0x", 2) && !strpbrk(f->val, "+-*$"))
		return (long long)strtoull(f->val, NULL, 16);
	if (expr(g, f->val, &v)) {
		*ok = 0;
		return def;
	}
	return (long long)(v < 0 ? v - 0.5 : v + 0.5);
}

static __u64 ts_of(struct gen *g, struct line *l, const char *key, int *ok)
{
	struct field *f = field(l, key);
	double v;

	if (!f)
		return g->base;
	if (expr(g, f->val + (f->val[0] == '+'), &v)) {
		*ok = 0;
		return 0;
	}
	v = v < 0 ? v - 0.5 : v + 0.5;
	return f->val[0] == '+' ? g->base + (__u64)(long long)v : (__u64)(long long)v;
}

static int has(struct line *l, const char *key)
{
	for (int i = 0; i < l->nf; i++)
		if (!strcmp(l->f[i].key, key))
			return 1;
	return 0;
}

/* A name from a table, or a number. */
static long long named(struct gen *g, struct line *l, const char *key, const char *const *names,
		       int n, long long def, int *ok)
{
	struct field *f = field(l, key);

	if (!f)
		return def;
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], f->val))
			return i;
	f->used = 0;
	return num(g, l, key, def, ok);
}

static __u32 dev_of(struct gen *g, struct line *l, const char *key, int *ok)
{
	struct field *f = field(l, key);
	unsigned maj, min;

	if (!f)
		return 0;
	if (sscanf(f->val, "%u:%u", &maj, &min) == 2)
		return (maj << 20) | (min & 0xfffff);
	f->used = 0;
	return (__u32)num(g, l, key, 0, ok);
}

static __u8 fd_kind(struct gen *g, struct line *l, const char *key, int *ok)
{
	static const char *const names[] = {
		"unknown", "file", "pipe", "socket", "chr", "blk", "dir", "anon", "link",
	};
	struct field *f = field(l, key);

	if (f && !strcmp(f->val, "reg"))
		return ST_FD_REG;
	if (f && !strcmp(f->val, "sock"))
		return ST_FD_SOCK;
	if (f)
		f->used = 0;
	return (__u8)named(g, l, key, names, 9, 0, ok);
}

static void comm_of(struct line *l, const char *key, char *dst)
{
	const char *s = str(l, key, "");

	memset(dst, 0, ST_COMM_LEN);
	strncpy(dst, s, ST_COMM_LEN - 1);
}

/* ------------------------------------------------------------------ records */

static int header(struct gen *g, struct line *l)
{
	const char *kv[2 * MAX_FIELDS + 1];
	static const char *const fixed[] = {
		"start", "ncpus", "target_pid", "page_size", "event_mask", "clock_id",
		"realtime_offset", "boottime_offset", "version", "magic",
	};
	struct st_header h = { 0 };
	int ok = 1, n = 0, err;

	memcpy(h.magic, str(l, "magic", ST_MAGIC), ST_MAGIC_LEN);
	h.version = (__u32)num(g, l, "version", ST_FORMAT_VERSION, &ok);
	h.ncpus = (__u32)num(g, l, "ncpus", 2, &ok);
	h.start_ts = (__u64)num(g, l, "start", 1000000000, &ok);
	h.realtime_offset = num(g, l, "realtime_offset", 0, &ok);
	h.boottime_offset = num(g, l, "boottime_offset", 0, &ok);
	h.clock_id = (__u32)num(g, l, "clock_id", 1, &ok);
	h.target_pid = (__u32)num(g, l, "target_pid", 0, &ok);
	h.page_size = (__u32)num(g, l, "page_size", 4096, &ok);
	h.event_mask = (__u32)num(g, l, "event_mask", 0x1f, &ok);
	for (int i = 0; i < l->nf; i++) {
		int is_fixed = 0;

		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			is_fixed |= !strcmp(l->f[i].key, fixed[k]);
		if (is_fixed || !*l->f[i].key)
			continue;
		l->f[i].used = 1;
		kv[n++] = l->f[i].key;
		kv[n++] = l->f[i].val;
	}
	kv[n] = NULL;
	if (!ok)
		return -1;
	err = st_writer__create(&g->w, g->out, &g->wo);
	if (err)
		return fail(g, "cannot create '%s': %s", g->out, strerror(-err));
	err = st_writer__header(g->w, &h, kv);
	if (err)
		return fail(g, "header: %s", strerror(-err));
	g->start = g->base = h.start_ts;
	g->header_done = true;
	return 0;
}

static int add(struct gen *g, __u64 ts, __u8 type, __u8 flags, const void *a, size_t alen,
	       const void *b, size_t blen)
{
	int err;

	/* after `diskfull` the tracer stops: nothing more is written but the trailer */
	if (g->disk_full)
		return 0;
	err = st_writer__add(g->w, ts, type, flags, a, alen, b, blen);
	/* a disk that fills does the same (the writer keeps room for the trailer) */
	if (err == -ENOSPC) {
		g->disk_full = true;
		return 0;
	}
	return err ? fail(g, "write failed: %s", strerror(-err)) : 0;
}

static int rec_switch(struct gen *g, struct line *l)
{
	static const char *const states[] = { "R", "S", "D", "T", "X", "I", "?" };
	static const char *const traced[] = { "none", "prev", "next", "both" };
	static const char *const waits[] = { "unknown", "file", "pipe", "socket", "futex",
					     "sleep", "other" };
	struct st_switch s = { 0 };
	int ok = 1, t;
	__u8 flags;
	__u64 ts = ts_of(g, l, "ts", &ok), rt, ran, stolen, ext[2];
	size_t n = 0;

	s.cpu = (__u16)num(g, l, "cpu", 0, &ok);
	s.prev_tid = (__u32)num(g, l, "prev", 0, &ok);
	s.next_tid = (__u32)num(g, l, "next", 0, &ok);
	s.prev_state = (__u8)named(g, l, "state", states, 7, ST_STATE_SLEEP, &ok);
	s.prev_wait = (__u8)named(g, l, "wait", waits, ST_WAIT_MAX, ST_WAIT_UNKNOWN, &ok);
	t = (s.prev_tid ? ST_SW_PREV_TRACED : 0) | (s.next_tid ? ST_SW_NEXT_TRACED : 0);
	t = (int)named(g, l, "traced", traced, 4, t, &ok);
	flags = (__u8)(t | (num(g, l, "preempt", 0, &ok) ? ST_SW_PREEMPT : 0));
	rt = (__u64)num(g, l, "runtime", -1, &ok);
	ran = (__u64)num(g, l, "ran", -1, &ok);
	stolen = (__u64)num(g, l, "stolen", -1, &ok);
	if (rt != (__u64)-1) {
		flags |= ST_SW_RUNTIME;
		ext[n++] = rt;
	}
	if (ran != (__u64)-1) {
		flags |= ST_SW_RAN;
		ext[n++] = ran;
	} else if (stolen != (__u64)-1) {
		flags |= ST_SW_STOLEN;
		ext[n++] = stolen;
	}
	flags = (__u8)num(g, l, "flags", flags, &ok);
	if (!ok)
		return -1;
	return add(g, ts, ST_REC_SWITCH, flags, &s, sizeof(s), n ? ext : NULL, n * sizeof(*ext));
}

static int rec_wakeup(struct gen *g, struct line *l)
{
	struct st_wakeup w = { 0 };
	int ok = 1;
	__u8 flags;
	__u64 ts = ts_of(g, l, "ts", &ok);

	w.tid = (__u32)num(g, l, "tid", 0, &ok);
	w.waker_tid = (__u32)num(g, l, "waker", 0, &ok);
	w.waker_pid = (__u32)num(g, l, "waker_pid", w.waker_tid, &ok);
	w.target_cpu = (__u16)num(g, l, "target_cpu", 0, &ok);
	w.waker_cpu = (__u16)num(g, l, "waker_cpu", 0, &ok);
	flags = (__u8)((num(g, l, "irq", 0, &ok) ? ST_WK_IRQ : 0) |
		       (num(g, l, "new", 0, &ok) ? ST_WK_NEW : 0) |
		       (num(g, l, "waker_traced", 0, &ok) ? ST_WK_WAKER_TRACED : 0) |
		       (num(g, l, "softirq", 0, &ok) ? ST_WK_SOFTIRQ : 0));
	flags = (__u8)num(g, l, "flags", flags, &ok);
	return ok ? add(g, ts, ST_REC_WAKEUP, flags, &w, sizeof(w), NULL, 0) : -1;
}

static int rec_migrate(struct gen *g, struct line *l)
{
	struct st_migrate m = { 0 };
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);

	m.tid = (__u32)num(g, l, "tid", 0, &ok);
	m.orig_cpu = (__u16)num(g, l, "orig", 0, &ok);
	m.dest_cpu = (__u16)num(g, l, "dest", 0, &ok);
	return ok ? add(g, ts, ST_REC_MIGRATE, 0, &m, sizeof(m), NULL, 0) : -1;
}

/* Stores v in the fixed part at a table position (an offset + 1, 0: nowhere). */
static void put_at(unsigned char *fx, __u16 at, const void *v, size_t n)
{
	if (at)
		memcpy(fx + at - 1, v, n);
}

static int put_field(struct gen *g, struct line *l, const struct st_field *f, unsigned char *fx,
		     __u8 *flags, const char **strs)
{
	static const char *const states[] = { "R", "S", "D", "T", "X", "I", "?" };
	static const char *const ops[] = { "read", "write", "flush", "discard", "other" };
	static const char *const waits[] = { "unknown", "file", "pipe", "socket", "futex",
					     "sleep", "other" };
	int ok = 1, sz = 0;
	__u64 v = 0;

	switch (f->type) {
	case ST_F_FLAG: *flags |= num(g, l, f->name, 0, &ok) ? (__u8)f->off : 0; return ok ? 0 : -1;
	case ST_F_STR: strs[f->off & 1] = str(l, f->name, ""); return 0;
	case ST_F_PIDOF: return 0;
	case ST_F_COMM: comm_of(l, f->name, (char *)fx + f->off); return 0;
	case ST_F_DEV: v = dev_of(g, l, f->name, &ok); sz = 4; break;
	case ST_F_FDKIND: v = fd_kind(g, l, f->name, &ok); sz = 1; break;
	case ST_F_STATE: v = (__u64)named(g, l, f->name, states, 7, 0, &ok); sz = 1; break;
	case ST_F_BLKOP: v = (__u64)named(g, l, f->name, ops, 5, 0, &ok); sz = 1; break;
	case ST_F_WAIT: v = (__u64)named(g, l, f->name, waits, ST_WAIT_MAX, 0, &ok); sz = 1; break;
	case ST_F_RUNTIME: return 0;	/* after the fixed part: rec_desc */
	case ST_F_U8: sz = 1; break;
	case ST_F_U16: case ST_F_S16: sz = 2; break;
	case ST_F_U32: case ST_F_S32: sz = 4; break;
	default: sz = 8; break;
	}
	if (f->type < ST_F_COMM)
		v = (__u64)num(g, l, f->name, 0, &ok);
	memcpy(fx + f->off, &v, sz);
	return ok ? 0 : -1;
}

/*
 * Any record the type table describes, by its field names, plus `tid` and `pid` for
 * the thread it is about: a new record type needs no code here.
 */
static int rec_desc(struct gen *g, struct line *l, unsigned type)
{
	const struct st_rec_desc *d = st_rec_desc(type);
	unsigned char fx[sizeof(((struct st_event *)0)->fixed_raw)] = { 0 };
	const char *strs[2] = { NULL, NULL };
	char tail[2 * 4096];
	size_t tlen = 0;
	__u8 flags = 0;
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	__u32 tid = (__u32)num(g, l, "tid", 0, &ok), pid;

	pid = (__u32)num(g, l, "pid", tid, &ok);
	put_at(fx, d->tid_at, &tid, 4);
	put_at(fx, d->pid_at, &pid, 4);
	/* the process of the thread it is about, where the record holds it */
	for (int i = 0; i < 2; i++)
		if (d->learn[i].tid_at && d->learn[i].tid_at == d->tid_at)
			put_at(fx, d->learn[i].pid_at, &pid, 4);
	for (const struct st_field *f = d->fields; ok && f->name; f++)
		ok = !put_field(g, l, f, fx, &flags, strs);
	/* a u64 after the fixed part, with its flag, when given */
	for (const struct st_field *f = d->fields; ok && f->name; f++) {
		__u64 v = f->type == ST_F_RUNTIME ? (__u64)num(g, l, f->name, -1, &ok) : (__u64)-1;

		if (v == (__u64)-1)
			continue;
		flags |= (__u8)f->off;
		memcpy(tail + tlen, &v, sizeof(v));
		tlen += sizeof(v);
	}
	for (int i = 0; ok && i < d->tails && i < 2; i++) {
		size_t n = strlen(strs[i] ? strs[i] : "") + 1;

		if (tlen + n > sizeof(tail))
			return fail(g, "strings too long");
		memcpy(tail + tlen, strs[i] ? strs[i] : "", n);
		tlen += n;
	}
	flags |= (__u8)num(g, l, "flags", 0, &ok);
	return ok ? add(g, ts, (__u8)type, flags, fx, d->fixed, tlen ? tail : NULL, tlen) : -1;
}

static int rec_proc(struct gen *g, struct line *l)
{
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	const char *s;

	if (!strcmp(l->dir, "fork")) {
		struct st_fork f = { 0 };
		__u8 flags;

		f.parent_tid = (__u32)num(g, l, "parent", 0, &ok);
		f.parent_pid = (__u32)num(g, l, "parent_pid", f.parent_tid, &ok);
		f.child_tid = (__u32)num(g, l, "child", 0, &ok);
		flags = num(g, l, "thread", 0, &ok) ? ST_FORK_THREAD : 0;
		f.child_pid = (__u32)num(g, l, "child_pid", flags ? f.parent_pid : f.child_tid, &ok);
		comm_of(l, "comm", f.comm);
		return ok ? add(g, ts, ST_REC_FORK, flags, &f, sizeof(f), NULL, 0) : -1;
	}
	if (!strcmp(l->dir, "exec")) {
		struct st_exec e = { 0 };

		e.tid = (__u32)num(g, l, "tid", 0, &ok);
		e.pid = (__u32)num(g, l, "pid", e.tid, &ok);
		e.old_tid = (__u32)num(g, l, "old_tid", e.tid, &ok);
		comm_of(l, "comm", e.comm);
		s = str(l, "file", "");
		return ok ? add(g, ts, ST_REC_EXEC, 0, &e, sizeof(e), s, strlen(s) + 1) : -1;
	}
	if (!strcmp(l->dir, "exit")) {
		struct st_exit e = { 0 };
		__u8 flags;

		e.tid = (__u32)num(g, l, "tid", 0, &ok);
		e.pid = (__u32)num(g, l, "pid", e.tid, &ok);
		e.exit_code = (__s32)num(g, l, "code", 0, &ok);
		flags = num(g, l, "group_dead", 0, &ok) ? ST_EXIT_GROUP_DEAD : 0;
		return ok ? add(g, ts, ST_REC_EXIT, flags, &e, sizeof(e), NULL, 0) : -1;
	}
	if (!strcmp(l->dir, "comm")) {
		struct st_comm c = { 0 };
		__u8 flags;

		c.tid = (__u32)num(g, l, "tid", 0, &ok);
		c.pid = (__u32)num(g, l, "pid", c.tid, &ok);
		comm_of(l, "comm", c.comm);
		flags = (__u8)((num(g, l, "traced", 1, &ok) ? ST_COMM_TRACED : 0) |
			       (num(g, l, "rename", 0, &ok) ? ST_COMM_RENAME : 0));
		flags = (__u8)num(g, l, "flags", flags, &ok);
		return ok ? add(g, ts, ST_REC_COMM, flags, &c, sizeof(c), NULL, 0) : -1;
	}
	{
		struct st_proc p = { 0 };
		__u8 flags;

		p.pid = (__u32)num(g, l, "pid", 0, &ok);
		p.ppid = (__u32)num(g, l, "ppid", 0, &ok);
		p.nthreads = (__u32)num(g, l, "nthreads", 1, &ok);
		flags = num(g, l, "exec", 0, &ok) ? ST_PROC_EXEC : 0;
		s = str(l, "cmdline", "");
		return ok ? add(g, ts, ST_REC_PROC, flags, &p, sizeof(p), s, strlen(s) + 1) : -1;
	}
}

/* env: the fields other than ts, pid, at, unreadable and flags are the pairs, in order */
static int rec_env(struct gen *g, struct line *l)
{
	static const char *const fixed[] = { "ts", "pid", "at", "unreadable", "flags" };
	struct st_env e = { 0 };
	char buf[4096];
	size_t len = 0;
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	const char *at = str(l, "at", "exec");
	__u8 flags;

	e.pid = (__u32)num(g, l, "pid", 0, &ok);
	flags = (__u8)((!strcmp(at, "attach") ? ST_ENV_ATTACH : ST_ENV_EXEC) |
		       (num(g, l, "unreadable", 0, &ok) ? ST_ENV_UNREADABLE : 0));
	flags = (__u8)num(g, l, "flags", flags, &ok);
	for (int i = 0; i < l->nf; i++) {
		size_t kl = strlen(l->f[i].key), vl = strlen(l->f[i].val);
		bool skip = !kl;

		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			skip |= !strcmp(l->f[i].key, fixed[k]);
		if (skip)
			continue;
		if (len + kl + vl + 2 > sizeof(buf))
			return fail(g, "env: too long");
		memcpy(buf + len, l->f[i].key, kl + 1);
		memcpy(buf + len + kl + 1, l->f[i].val, vl + 1);
		len += kl + vl + 2;
		l->f[i].used = 1;
	}
	return ok ? add(g, ts, ST_REC_ENV, flags, &e, sizeof(e), buf, len) : -1;
}

static int rec_fd(struct gen *g, struct line *l)
{
	struct st_fd f = { 0 };
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	const char *s;

	f.pid = (__u32)num(g, l, "pid", 0, &ok);
	f.fd = (__s32)num(g, l, "fd", 0, &ok);
	f.kind = fd_kind(g, l, "kind", &ok);
	f.dev = dev_of(g, l, "dev", &ok);
	f.ino = (__u64)num(g, l, "ino", 0, &ok);
	s = str(l, "path", "");
	return ok ? add(g, ts, ST_REC_FD, 0, &f, sizeof(f), s, strlen(s) + 1) : -1;
}

static int rec_syscall(struct gen *g, struct line *l)
{
	unsigned char buf[512];
	struct st_syscall s = { 0 };
	size_t len = 0;
	int ok = 1, nr;
	__u8 flags = 0;
	__u64 ts = ts_of(g, l, "ts", &ok);
	const char *path;

#define PUT(p, n) (memcpy(buf + len, (p), (n)), len += (n))
	s.tid = (__u32)num(g, l, "tid", 0, &ok);
	nr = has(l, "name") ? st_syscall_nr(str(l, "name", "")) : (int)num(g, l, "nr", -1, &ok);
	if (nr < 0)
		return fail(g, "syscall: unknown name or no nr");
	s.nr = (__u16)nr;
	s.ret = num(g, l, "ret", 0, &ok);
	s.dur = (__u64)num(g, l, "dur", 0, &ok);
	s.flags2 = num(g, l, "no_entry", 0, &ok) ? ST_SC2_NO_ENTRY : 0;
	PUT(&s, sizeof(s));
	if (has(l, "fd") || has(l, "kind") || has(l, "ino")) {
		struct st_sc_fd f = { 0 };

		f.fd = (__s32)num(g, l, "fd", -1, &ok);
		f.kind = fd_kind(g, l, "kind", &ok);
		f.dev = dev_of(g, l, "dev", &ok);
		f.ino = (__u64)num(g, l, "ino", 0, &ok);
		flags |= ST_SC_FD;
		PUT(&f, sizeof(f));
	}
	if (has(l, "count")) {
		__u64 v = (__u64)num(g, l, "count", 0, &ok);

		flags |= ST_SC_COUNT;
		PUT(&v, 8);
	}
	if (has(l, "offset")) {
		__u64 v = (__u64)num(g, l, "offset", 0, &ok);

		flags |= ST_SC_OFFSET;
		PUT(&v, 8);
	}
	if (has(l, "futex_uaddr") || has(l, "futex_op") || has(l, "futex_val")) {
		struct st_sc_futex f = { 0 };

		f.uaddr = (__u64)num(g, l, "futex_uaddr", 0, &ok);
		f.op = (__u32)num(g, l, "futex_op", 0, &ok);
		f.val = (__u32)num(g, l, "futex_val", 0, &ok);
		flags |= ST_SC_FUTEX;
		PUT(&f, sizeof(f));
	}
	if (has(l, "timeout")) {
		__s64 v = num(g, l, "timeout", -1, &ok);

		flags |= ST_SC_TIMEOUT;
		PUT(&v, 8);
	}
	if (has(l, "pcache")) {
		__u64 v = (__u64)num(g, l, "pcache", 0, &ok);

		flags |= ST_SC_PCACHE;
		PUT(&v, 8);
	}
	if (has(l, "fds")) {
		__s32 fds[2] = { -1, -1 };

		if (sscanf(str(l, "fds", ""), "%d,%d", &fds[0], &fds[1]) != 2)
			return fail(g, "fds: want A,B");
		flags |= ST_SC_FDS;
		PUT(fds, sizeof(fds));
	}
	path = has(l, "path") ? str(l, "path", "") : NULL;
	if (path) {
		size_t n = strlen(path) + 1;

		if (n > sizeof(buf) - len)
			n = sizeof(buf) - len;
		PUT(path, n);
		buf[len - 1] = '\0';
		flags |= ST_SC_PATH;
	}
#undef PUT
	flags = (__u8)num(g, l, "flags", flags, &ok);
	return ok ? add(g, ts, ST_REC_SYSCALL, flags, buf, len, NULL, 0) : -1;
}

static int rec_block(struct gen *g, struct line *l)
{
	static const char *const ops[] = { "read", "write", "flush", "discard", "other" };
	struct st_block b = { 0 };
	int ok = 1;
	__u8 flags;
	__u64 ts = ts_of(g, l, "ts", &ok);

	b.tid = (__u32)num(g, l, "tid", 0, &ok);
	b.pid = (__u32)num(g, l, "pid", b.tid, &ok);
	b.dev = dev_of(g, l, "dev", &ok);
	b.op = (__u8)named(g, l, "op", ops, 5, ST_BLK_READ, &ok);
	b.bytes = (__u32)num(g, l, "bytes", 0, &ok);
	b.sector = (__u64)num(g, l, "sector", 0, &ok);
	b.service = (__u64)num(g, l, "service", 0, &ok);
	b.queued = (__u64)num(g, l, "queued", 0, &ok);
	b.error = (__s16)num(g, l, "error", 0, &ok);
	flags = (__u8)((num(g, l, "sync", 0, &ok) ? ST_BLK_SYNC : 0) |
		       (num(g, l, "meta", 0, &ok) ? ST_BLK_META : 0) |
		       (num(g, l, "fua", 0, &ok) ? ST_BLK_FUA : 0));
	return ok ? add(g, ts, ST_REC_BLOCK, flags, &b, sizeof(b), NULL, 0) : -1;
}

static int rec_pcache(struct gen *g, struct line *l)
{
	struct st_pcache p = { 0 };
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);

	p.tid = (__u32)num(g, l, "tid", 0, &ok);
	p.dev = dev_of(g, l, "dev", &ok);
	p.ino = (__u64)num(g, l, "ino", 0, &ok);
	p.index = (__u64)num(g, l, "index", 0, &ok);
	p.pages = (__u32)num(g, l, "pages", 0, &ok);
	return ok ? add(g, ts, ST_REC_PCACHE, 0, &p, sizeof(p), NULL, 0) : -1;
}

static int rec_probe(struct gen *g, struct line *l)
{
	static const char *const roles[] = { "plain", "step", "gpu_sync", "gpu_launch" };
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);

	if (!strcmp(l->dir, "probe_def")) {
		struct st_probe_def d = { 0 };
		const char *lib = str(l, "lib", ""), *sym = str(l, "sym", "");
		char buf[1024];
		size_t a = strlen(lib) + 1, b = strlen(sym) + 1;

		if (a + b > sizeof(buf))
			return fail(g, "probe_def: names too long");
		d.id = (__u32)num(g, l, "id", 0, &ok);
		d.role = (__u32)named(g, l, "role", roles, 4, 0, &ok);
		d.pid = (__u32)num(g, l, "pid", 0, &ok);
		memcpy(buf, lib, a);
		memcpy(buf + a, sym, b);
		return ok ? add(g, ts, ST_REC_PROBE_DEF, 0, &d, sizeof(d), buf, a + b) : -1;
	} else {
		struct st_probe p = { 0 };

		p.tid = (__u32)num(g, l, "tid", 0, &ok);
		p.id = (__u32)num(g, l, "id", 0, &ok);
		p.dur = (__u64)num(g, l, "dur", 0, &ok);
		return ok ? add(g, ts, ST_REC_PROBE, 0, &p, sizeof(p), NULL, 0) : -1;
	}
}

static void drops_of(struct gen *g, struct line *l, struct st_drops *d, int *ok)
{
	memset(d, 0, sizeof(*d));
	d->nkinds = (__u32)num(g, l, "nkinds", ST_KIND_MAX, ok);
	for (unsigned k = 0; k < ST_KIND_MAX; k++)
		d->count[k] = (__u64)num(g, l, st_kind_name(k), 0, ok);
}

static int rec_drops(struct gen *g, struct line *l)
{
	struct st_drops d;
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	size_t len;

	drops_of(g, l, &d, &ok);
	len = 8 + 8 * (d.nkinds < ST_KIND_MAX ? d.nkinds : ST_KIND_MAX);
	return ok ? add(g, ts, ST_REC_DROPS, 0, &d, len, NULL, 0) : -1;
}

static int rec_raw(struct gen *g, struct line *l)
{
	unsigned char buf[4096];
	const char *hex = str(l, "hex", "");
	size_t n = 0;
	int ok = 1;
	__u64 ts = ts_of(g, l, "ts", &ok);
	__u8 type = (__u8)num(g, l, "type", 0, &ok), flags = (__u8)num(g, l, "flags", 0, &ok);

	for (; hex[0] && hex[1] && n < sizeof(buf); hex += 2) {
		char b[3] = { hex[0], hex[1], 0 };

		buf[n++] = (unsigned char)strtoul(b, NULL, 16);
	}
	return ok ? add(g, ts, type, flags, buf, n, NULL, 0) : -1;
}

static int trailer(struct gen *g, struct line *l)
{
	static const char *const stops[] = { "", "signal", "duration", "exited", "error" };
	struct st_trailer t = { 0 };
	int ok = 1, err;

	t.end_ts = ts_of(g, l, "ts", &ok);
	t.stop_reason = (__u16)named(g, l, "stop", stops, 5, ST_STOP_EXITED, &ok);
	t.flags = (__u16)num(g, l, "flags", 0, &ok);
	drops_of(g, l, &t.drops, &ok);
	if (!ok)
		return -1;
	err = st_writer__finish(g->w, &t);
	g->w = NULL;
	return err ? fail(g, "trailer: %s", strerror(-err)) : 0;
}

/* ------------------------------------------------------------------ driver */

static int check_fields(struct gen *g, struct line *l)
{
	for (int i = 0; i < l->nf; i++)
		if (!l->f[i].used)
			return fail(g, "%s: unknown field '%s'", l->dir,
				    *l->f[i].key ? l->f[i].key : l->f[i].val);
	return 0;
}

static int option(struct gen *g, struct line *l)
{
	int ok = 1;

	if (g->header_done)
		return fail(g, "option after the header");
	g->wo.frame_bytes = (size_t)num(g, l, "frame_bytes", (long long)g->wo.frame_bytes, &ok);
	g->wo.level = (int)num(g, l, "level", g->wo.level, &ok);
	g->force = num(g, l, "force", g->force, &ok) != 0;
	g->wo.force = g->force;
	return ok ? 0 : -1;
}

static int record(struct gen *g, struct line *l)
{
	static const struct {
		const char *dir;
		int (*fn)(struct gen *, struct line *);
	} tab[] = {
		{ "switch", rec_switch }, { "wakeup", rec_wakeup }, { "migrate", rec_migrate },
		{ "fork", rec_proc }, { "exec", rec_proc }, { "exit", rec_proc },
		{ "comm", rec_proc }, { "proc", rec_proc }, { "fd", rec_fd },
		{ "env", rec_env }, { "syscall", rec_syscall }, { "block", rec_block }, { "pcache", rec_pcache },
		{ "probe_def", rec_probe }, { "probe", rec_probe }, { "drops", rec_drops },
		{ "raw", rec_raw },
	};

	const char *name = l->dir;
	bool generic = !strcmp(name, "record");

	if (!g->w)
		return fail(g, g->header_done ? "record after the trailer" : "no header");
	if (generic && (!l->nf || *l->f[0].key))
		return fail(g, "record: the record type's name first (record NAME field=...)");
	if (generic) {
		name = l->f[0].val;
		l->f[0].used = 1;
	}
	for (size_t i = 0; !generic && i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(tab[i].dir, name))
			return tab[i].fn(g, l);
	for (unsigned t = 0; t < ST_REC_TYPE_MAX; t++) {
		const struct st_rec_desc *d = st_rec_desc(t);

		if (d && d->fields && !strcmp(d->name, name))
			return rec_desc(g, l, t);
	}
	return fail(g, "unknown directive '%s'", name);
}

static int directive(struct gen *g, struct line *l)
{
	struct line def = { .dir = "header" };
	int err;

	if (!strcmp(l->dir, "option"))
		return option(g, l);
	if (!strcmp(l->dir, "header"))
		return g->header_done ? fail(g, "a second header") : header(g, l);
	if (!g->header_done && (err = header(g, &def)))
		return err;
	if (!strcmp(l->dir, "base")) {
		int ok = 1;

		l->f[0].key = "ts";
		g->base = l->nf ? ts_of(g, l, "ts", &ok) : g->start;
		return ok ? 0 : -1;
	}
	if (!strcmp(l->dir, "flush")) {
		err = g->w ? st_writer__flush(g->w) : 0;
		return err ? fail(g, "flush: %s", strerror(-err)) : 0;
	}
	if (!strcmp(l->dir, "diskfull")) {
		if (g->w)
			st_writer__fail(g->w, -ENOSPC);
		g->disk_full = true;
		return 0;
	}
	if (!strcmp(l->dir, "trailer"))
		return g->w ? trailer(g, l) : fail(g, "a second trailer");
	return record(g, l);
}

/* Finds the `end` matching the `repeat` at lines[i]. */
static int match_end(struct line *lines, int i, int n)
{
	int depth = 0;

	for (int k = i + 1; k < n; k++) {
		if (!strcmp(lines[k].dir, "repeat"))
			depth++;
		else if (!strcmp(lines[k].dir, "end") && depth-- == 0)
			return k;
	}
	return -1;
}

static int run(struct gen *g, struct line *lines, int from, int to)
{
	for (int i = from; i < to; i++) {
		struct line *l = &lines[i];

		g->cur = l;
		if (!strcmp(l->dir, "repeat")) {
			int end = match_end(lines, i, to), ok = 1;
			long long n;
			__u64 base = g->base, every;

			if (end < 0)
				return fail(g, "repeat without end");
			l->f[0].key = l->nf ? "n" : "";
			n = num(g, l, "n", 0, &ok);
			every = (__u64)num(g, l, "every", 0, &ok);
			if (!ok || check_fields(g, l) || g->depth == MAX_DEPTH)
				return ok && g->depth == MAX_DEPTH ? fail(g, "repeats nest too deep") : -1;
			g->depth++;
			for (long long k = 0; k < n; k++) {
				g->iter[g->depth - 1] = k;
				g->base = base + (__u64)k * every;
				if (run(g, lines, i + 1, end))
					return -1;
			}
			g->depth--;
			g->base = base + (__u64)n * every;
			i = end;
			continue;
		}
		if (!strcmp(l->dir, "end"))
			return fail(g, "end without repeat");
		for (int k = 0; k < l->nf; k++)
			l->f[k].used = 0;
		if (directive(g, l) || check_fields(g, l))
			return -1;
	}
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t len = 0, cap = 1 << 16, n;
	char *buf = malloc(cap + 1);

	if (!f || !buf) {
		free(buf);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *p = realloc(buf, 2 * cap + 1);

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static int parse(struct gen *g, char *text, struct line **out, int *nout)
{
	int n = 0, cap = 256, lineno = 0;
	struct line *lines = malloc(sizeof(*lines) * (size_t)cap);
	char *p = text, *nl;

	for (; lines && p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		if (n == cap) {
			struct line *q = realloc(lines, sizeof(*lines) * (size_t)(cap *= 2));

			if (!q)
				break;
			lines = q;
		}
		lines[n].lineno = lineno;
		if (tokenize(p, &lines[n])) {
			*out = lines;
			*nout = n;
			fprintf(stderr, "%s: line %d: bad quoting or too many fields\n", prog, lineno);
			return -1;
		}
		if (lines[n].dir)
			n++;
	}
	*out = lines;
	*nout = n;
	return lines ? 0 : -1;
}

/* ------------------------------------------------------------------ --bench */

/*
 * A synthetic training job for benchmarks: a main thread (pid 100) and 4 forked
 * workers; each step the workers read 8 samples (pread, some cache misses with a
 * D sleep and a block request) and decode them, the main thread waits for the batch
 * on a pipe, reads it, then computes with a few preemptions.  About 300 records a
 * step, time-ordered per step.
 */
struct brec {
	__u64 ts;
	__u8 type, flags;
	__u16 len;
	unsigned char p[56];
};

struct bench {
	struct st_writer *w;
	struct brec *r;
	size_t n, cap;
	__u64 rng;
};

static void b_add(struct bench *b, __u64 ts, __u8 type, __u8 flags, const void *p, size_t len)
{
	struct brec *r;

	if (b->n == b->cap)
		return;
	r = &b->r[b->n++];
	r->ts = ts;
	r->type = type;
	r->flags = flags;
	r->len = (__u16)len;
	memcpy(r->p, p, len);
}

static void b_switch(struct bench *b, __u64 ts, __u16 cpu, __u32 prev, __u32 next, __u8 st)
{
	struct st_switch s = { .prev_tid = prev, .next_tid = next, .cpu = cpu, .prev_state = st };

	b_add(b, ts, ST_REC_SWITCH, (prev ? ST_SW_PREV_TRACED : 0) | (next ? ST_SW_NEXT_TRACED : 0),
	      &s, sizeof(s));
}

static void b_wake(struct bench *b, __u64 ts, __u32 tid, __u32 waker, __u32 waker_pid)
{
	struct st_wakeup w = { .tid = tid, .waker_tid = waker, .waker_pid = waker_pid };

	b_add(b, ts, ST_REC_WAKEUP, waker ? ST_WK_WAKER_TRACED : ST_WK_IRQ, &w, sizeof(w));
}

static void b_sys(struct bench *b, __u64 end, __u32 tid, int nr, __s64 ret, __u64 dur,
		  __u8 kind, __u64 ino, __u64 pcache)
{
	struct {
		struct st_syscall s;
		struct st_sc_fd f;
		__u64 count, pc;
	} __attribute__((packed)) r = { { tid, (__u16)nr, 0, 0, ret, dur },
					{ 5, kind, { 0 }, 8 << 20 | 1, 0, ino }, (__u64)ret, pcache };

	b_add(b, end, ST_REC_SYSCALL, ST_SC_FD | ST_SC_COUNT | (pcache ? ST_SC_PCACHE : 0), &r,
	      pcache ? sizeof(r) : sizeof(r) - 8);
}

static void bench_worker(struct bench *b, __u32 pid, __u16 cpu, __u64 t)
{
	for (int s = 0; s < 8; s++) {
		int miss = (b->rng = b->rng * 6364136223846793005ull + 1) >> 62 == 0;

		if (miss) {
			struct st_block blk = { .tid = pid, .pid = pid, .dev = 8 << 20, .bytes = 65536,
						.service = 300000, .op = ST_BLK_READ };

			b_switch(b, t + 10000, cpu, pid, 0, ST_STATE_DISK);
			b_add(b, t + 310000, ST_REC_BLOCK, 0, &blk, sizeof(blk));
			b_wake(b, t + 311000, pid, 0, 0);
			b_switch(b, t + 312000, cpu, 0, pid, ST_STATE_RUNNING);
			b_sys(b, t + 330000, pid, 17, 65536, 320000, ST_FD_REG, 1000 + s, 16);
			t += 330000;
		} else {
			b_sys(b, t + 20000, pid, 17, 65536, 20000, ST_FD_REG, 1000 + s, 0);
			t += 20000;
		}
		/* decode, preempted once in a while */
		if (s == 4) {
			b_switch(b, t + 500000, cpu, pid, 0, ST_STATE_RUNNING);
			b_switch(b, t + 520000, cpu, 0, pid, ST_STATE_RUNNING);
		}
		t += 900000;
	}
	b_sys(b, t + 30000, pid, 1, 8192, 30000, ST_FD_PIPE, 500 + pid, 0);
	b_wake(b, t + 25000, 100, pid, pid);
	b_switch(b, t + 40000, cpu, pid, 0, ST_STATE_SLEEP);
}

static int brec_cmp(const void *a, const void *b)
{
	const struct brec *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static void bench_step(struct bench *b, __u64 t0, long step)
{
	__u64 t = t0;

	b->n = 0;
	for (__u32 w = 0; w < 4; w++) {
		b_wake(b, t0 + 1000 * w, 201 + w, 100, 100);
		b_switch(b, t0 + 1000 * w + 5000, (__u16)(w & 1), 0, 201 + w, ST_STATE_RUNNING);
		bench_worker(b, 201 + w, (__u16)(w & 1), t0 + 1000 * w + 5000);
	}
	/* main: waits for the batch (woken by the last worker), reads it, computes */
	b_sys(b, t + 2000, 100, 1, 64, 2000, ST_FD_PIPE, 700, 0);
	b_switch(b, t + 3000, 0, 100, 0, ST_STATE_SLEEP);
	t = t0 + 8 * 920000 + 60000;
	b_switch(b, t, 1, 0, 100, ST_STATE_RUNNING);
	b_sys(b, t + 20000, 100, 0, 8192, 8 * 920000 + 57000, ST_FD_PIPE, 500 + 201 + step % 4, 0);
	for (int k = 0; k < 40; k++) {
		__u64 c = t + 40000 + (__u64)k * 60000;

		b_sys(b, c, 100, 202, 0, 3000, ST_FD_UNKNOWN, 0, 0);
		if (k % 8 == 7) {
			b_switch(b, c + 1000, 1, 100, 0, ST_STATE_RUNNING);
			b_switch(b, c + 20000, 1, 0, 100, ST_STATE_RUNNING);
		}
	}
	qsort(b->r, b->n, sizeof(*b->r), brec_cmp);
	for (size_t i = 0; i < b->n; i++)
		st_writer__add(b->w, b->r[i].ts, b->r[i].type, b->r[i].flags, b->r[i].p, b->r[i].len,
			       NULL, 0);
}

static int bench_main(const char *events, const char *out, bool force)
{
	struct st_writer_opts wo = { .force = force };
	struct st_header h = { .version = ST_FORMAT_VERSION, .ncpus = 2, .start_ts = 1000000000,
			       .clock_id = 1, .target_pid = 100, .page_size = 4096,
			       .event_mask = 0x1f };
	const char *kv[] = { "tracer_version", "stgen-bench", "mode", "run", NULL };
	struct brec rbuf[1024];
	struct bench b = { .r = rbuf, .cap = 1024, .rng = 42 };
	struct st_trailer t = { .stop_reason = ST_STOP_EXITED };
	unsigned long long want = strtoull(events, NULL, 10);
	struct st_comm c = { .tid = 100, .pid = 100, .comm = "python" };
	__u64 ts = h.start_ts;
	long step;
	int err;

	memcpy(h.magic, ST_MAGIC, ST_MAGIC_LEN);
	err = st_writer__create(&b.w, out, &wo);
	if (err || (err = st_writer__header(b.w, &h, kv))) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(-err));
		return 1;
	}
	st_writer__add(b.w, ts, ST_REC_COMM, ST_COMM_TRACED, &c, sizeof(c), NULL, 0);
	for (__u32 w = 0; w < 4; w++) {
		struct st_fork f = { 100, 100, 201 + w, 201 + w, "pt_data_worker" };

		st_writer__add(b.w, ts + 1000 * (w + 1), ST_REC_FORK, 0, &f, sizeof(f), NULL, 0);
	}
	ts += 100000;
	for (step = 0; st_writer__records(b.w) < want; step++, ts += 10000000)
		bench_step(&b, ts, step);
	t.end_ts = ts;
	err = st_writer__finish(b.w, &t);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, out, strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gen g = { .base = 1000000000, .start = 1000000000 };
	struct line *lines = NULL;
	int n = 0, argi = 1, status = 0;
	char *text;

	if (argc > 1 && !strcmp(argv[1], "-f")) {
		g.force = g.wo.force = true;
		argi++;
	}
	if (argc - argi == 3 && !strcmp(argv[argi], "--bench"))
		return bench_main(argv[argi + 1], argv[argi + 2], g.force);
	if (argc - argi != 2) {
		fprintf(stderr, "usage: %s [-f] IN.txt OUT.zst\n       %s [-f] --bench EVENTS OUT.zst\n",
			prog, prog);
		return 2;
	}
	g.out = argv[argi + 1];
	text = slurp(argv[argi]);
	if (!text) {
		fprintf(stderr, "%s: cannot read '%s': %s\n", prog, argv[argi], strerror(errno));
		return 1;
	}
	if (parse(&g, text, &lines, &n) || run(&g, lines, 0, n)) {
		if (g.err[0])
			fprintf(stderr, "%s: line %d: %s\n", prog, g.cur ? g.cur->lineno : 0, g.err);
		status = 1;
	}
	/* a trace without a trailer is left as a crashed tracer leaves it: truncated */
	if (!status && !g.header_done)
		status = directive(&g, &(struct line){ .dir = "flush" }) ? 1 : 0;
	if (g.w && st_writer__flush(g.w))
		status = 1;
	st_writer__abandon(g.w);
	free(lines);
	free(text);
	return status;
}
