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
 *                                        (repeats nest; `$i` in a value is the iteration)
 *   switch  ts= cpu= prev= next= state=R|S|D|T|X|I|?|NUM traced=prev|next|both|none|NUM
 *           preempt=1 flags=NUM (raw flags, overrides traced/preempt)
 *           default traced: prev when prev!=0, next when next!=0
 *   wakeup  ts= tid= waker= waker_pid= target_cpu= waker_cpu= irq=1 new=1
 *           waker_traced=1 flags=NUM
 *   migrate ts= tid= orig= dest=
 *   fork    ts= parent= parent_pid= child= child_pid= thread=1 comm=
 *   exec    ts= tid= pid= old_tid= comm= file=
 *   exit    ts= tid= pid= code= group_dead=1
 *   comm    ts= tid= pid= comm= traced=1 rename=1 flags=NUM
 *   proc    ts= pid= ppid= nthreads= cmdline=
 *   fd      ts= pid= fd= kind= dev= ino= path=
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
	bool force, header_done;
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
	int err = st_writer__add(g->w, ts, type, flags, a, alen, b, blen);

	return err ? fail(g, "write failed: %s", strerror(-err)) : 0;
}

static int rec_switch(struct gen *g, struct line *l)
{
	static const char *const states[] = { "R", "S", "D", "T", "X", "I", "?" };
	static const char *const traced[] = { "none", "prev", "next", "both" };
	struct st_switch s = { 0 };
	int ok = 1, t;
	__u8 flags;
	__u64 ts = ts_of(g, l, "ts", &ok);

	s.cpu = (__u16)num(g, l, "cpu", 0, &ok);
	s.prev_tid = (__u32)num(g, l, "prev", 0, &ok);
	s.next_tid = (__u32)num(g, l, "next", 0, &ok);
	s.prev_state = (__u8)named(g, l, "state", states, 7, ST_STATE_SLEEP, &ok);
	t = (s.prev_tid ? ST_SW_PREV_TRACED : 0) | (s.next_tid ? ST_SW_NEXT_TRACED : 0);
	t = (int)named(g, l, "traced", traced, 4, t, &ok);
	flags = (__u8)(t | (num(g, l, "preempt", 0, &ok) ? ST_SW_PREEMPT : 0));
	flags = (__u8)num(g, l, "flags", flags, &ok);
	return ok ? add(g, ts, ST_REC_SWITCH, flags, &s, sizeof(s), NULL, 0) : -1;
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
		       (num(g, l, "waker_traced", 0, &ok) ? ST_WK_WAKER_TRACED : 0));
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

		p.pid = (__u32)num(g, l, "pid", 0, &ok);
		p.ppid = (__u32)num(g, l, "ppid", 0, &ok);
		p.nthreads = (__u32)num(g, l, "nthreads", 1, &ok);
		s = str(l, "cmdline", "");
		return ok ? add(g, ts, ST_REC_PROC, 0, &p, sizeof(p), s, strlen(s) + 1) : -1;
	}
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
