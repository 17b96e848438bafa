// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jparse.h"

#define MAX_DEPTH 64
/*
 * Values in a document: a summary has a few hundred plus one per step (at most some
 * 500,000 steps a thread).  Each costs a node of ~48 bytes whatever its text, so a
 * 200 MB `[0,0,...]` took 6 GB; bounded, it is refused at once.
 */
#define MAX_NODES 4000000

struct jp {
	const char *s, *end;
	int depth;
	size_t nodes;
	char *err;
	size_t errlen;
	const char *start;
	const char *const *skip;	/* top-level members read but not kept */
	int discard;			/* inside one: values are checked, then dropped */
};

static int fail(struct jp *p, const char *what)
{
	if (p->err && !p->err[0])
		snprintf(p->err, p->errlen, "%s at byte %zu", what, (size_t)(p->s - p->start));
	return -1;
}

static void ws(struct jp *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int value(struct jp *p, struct jv *v);

size_t jutf8_put(char *q, unsigned c)
{
	if (c < 0x80) {
		q[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		q[0] = (char)(0xc0 | c >> 6);
		q[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		q[0] = (char)(0xe0 | c >> 12);
		q[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		q[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	q[0] = (char)(0xf0 | c >> 18);
	q[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	q[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	q[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int put_utf8(char **o, unsigned c)
{
	*o += jutf8_put(*o, c);
	return 0;
}

int jhex4(const char *s, unsigned *out)
{
	unsigned c = 0;

	for (int i = 0; i < 4; i++) {
		char h = s[i];

		c <<= 4;
		if (h >= '0' && h <= '9')
			c |= (unsigned)(h - '0');
		else if (h >= 'a' && h <= 'f')
			c |= (unsigned)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			c |= (unsigned)(h - 'A' + 10);
		else
			return -1;
	}
	*out = c;
	return 0;
}

static int hex4(struct jp *p, unsigned *out)
{
	if (p->end - p->s < 4)
		return fail(p, "short \\u escape");
	if (jhex4(p->s, out))
		return fail(p, "bad \\u escape");
	p->s += 4;
	return 0;
}

static int escape(struct jp *p, char **o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	unsigned c, lo;

	if (p->s >= p->end)
		return fail(p, "unterminated string");
	if (*p->s != 'u') {
		if (!(k = strchr(from, *p->s)) || !*p->s)
			return fail(p, "bad escape");
		p->s++;
		*(*o)++ = to[k - from];
		return 0;
	}
	p->s++;
	if (hex4(p, &c))
		return -1;
	if (c >= 0xd800 && c < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
		p->s += 2;
		if (hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "bad surrogate pair");
		c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
	}
	return put_utf8(o, c);
}

static int string(struct jp *p, char **out)
{
	const char *q = ++p->s;
	char *buf, *o;

	/* the decoded string is never longer than its encoding */
	while (q < p->end && *q != '"')
		q += (*q == '\\' && q + 1 < p->end) ? 2 : 1;
	if (q >= p->end)
		return fail(p, "unterminated string");
	buf = o = malloc((size_t)(q - p->s) + 1);
	if (!buf)
		return fail(p, "out of memory");
	while (*p->s != '"') {
		if ((unsigned char)*p->s < 0x20) {
			free(buf);
			return fail(p, "control character in string");
		}
		if (*p->s == '\\') {
			p->s++;
			if (escape(p, &o)) {
				free(buf);
				return -1;
			}
		} else {
			*o++ = *p->s++;
		}
	}
	p->s++;
	*o = '\0';
	*out = buf;
	return 0;
}

static int number(struct jp *p, struct jv *v)
{
	char buf[64], *end;
	size_t n = 0;

	while (p->s + n < p->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", p->s[n]))
		n++;
	memcpy(buf, p->s, n);
	buf[n] = '\0';
	v->t = J_NUM;
	v->num = strtod(buf, &end);
	if (!n || end != buf + n || !isfinite(v->num))
		return fail(p, "bad number");
	p->s += n;
	jnum_exact(buf, v);
	return 0;
}

/* An integer token (no fraction, no exponent) that fits int64 is also kept exactly. */
void jnum_exact(const char *tok, struct jv *v)
{
	char *end;
	long long x;

	v->isint = false;
	if (strpbrk(tok, ".eE"))
		return;
	errno = 0;
	x = strtoll(tok, &end, 10);
	if (!errno && !*end && end != tok) {
		v->ival = x;
		v->isint = true;
	}
}

static int push(struct jv *v, size_t *cap)
{
	struct jv *k;

	if (v->n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 8;
	k = realloc(v->kids, *cap * sizeof(*k));
	if (!k)
		return -1;
	v->kids = k;
	return 0;
}

static bool skipped(const struct jp *p, const char *key)
{
	for (const char *const *k = p->skip; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

static int container(struct jp *p, struct jv *v, char close)
{
	size_t cap = 0;

	v->t = close == '}' ? J_OBJ : J_ARR;
	if (++p->depth > MAX_DEPTH)
		return fail(p, "nested too deeply");
	p->s++;
	ws(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		p->depth--;
		return 0;
	}
	for (;;) {
		struct jv *k, scratch = { 0 };
		char *key = NULL;

		ws(p);
		if (v->t == J_OBJ) {
			if (p->s >= p->end || *p->s != '"' || string(p, &key))
				return fail(p, "expected a key");
			ws(p);
			if (p->s >= p->end || *p->s++ != ':') {
				free(key);
				return fail(p, "expected ':'");
			}
		}
		if (p->discard || (key && p->depth == 1 && skipped(p, key))) {
			int r;

			free(key);
			p->discard++;
			r = value(p, &scratch);
			p->discard--;
			jclear(&scratch);
			if (r)
				return -1;
		} else {
			if (push(v, &cap)) {
				free(key);
				return fail(p, "out of memory");
			}
			k = &v->kids[v->n++];
			memset(k, 0, sizeof(*k));
			k->key = key;
			if (value(p, k))
				return -1;
		}
		ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			p->depth--;
			return 0;
		}
		return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int word(struct jp *p, const char *w, struct jv *v, enum jtype t, double num)
{
	size_t n = strlen(w);

	if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n))
		return fail(p, "unexpected character");
	p->s += n;
	v->t = t;
	v->num = num;
	return 0;
}

static int value(struct jp *p, struct jv *v)
{
	if (!p->discard && ++p->nodes > MAX_NODES)
		return fail(p, "more than 4,000,000 values (not a summary)");
	ws(p);
	if (p->s >= p->end)
		return fail(p, "unexpected end");
	switch (*p->s) {
	case '{': return container(p, v, '}');
	case '[': return container(p, v, ']');
	case '"': v->t = J_STR; return string(p, &v->str);
	case 't': return word(p, "true", v, J_BOOL, 1);
	case 'f': return word(p, "false", v, J_BOOL, 0);
	case 'n': return word(p, "null", v, J_NULL, 0);
	}
	return number(p, v);
}

void jclear(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++)
		jclear(&v->kids[i]);
	free(v->kids);
	free(v->str);
	free(v->key);
	v->kids = NULL;
	v->str = v->key = NULL;
	v->n = 0;
}

void jfree(struct jv *v)
{
	if (!v)
		return;
	jclear(v);
	free(v);
}

struct jv *jparse(const char *text, size_t len, char *err, size_t errlen)
{
	return jparse_except(text, len, NULL, err, errlen);
}

struct jv *jparse_except(const char *text, size_t len, const char *const *skip, char *err,
			 size_t errlen)
{
	struct jp p = { text, text + len, 0, 0, err, errlen, text, skip, 0 };
	struct jv *v = calloc(1, sizeof(*v));

	if (err && errlen)
		err[0] = '\0';
	if (!v)
		return NULL;
	if (value(&p, v) == 0) {
		ws(&p);
		if (p.s == p.end)
			return v;
		fail(&p, "trailing data");
	}
	jfree(v);
	return NULL;
}

const struct jv *jget(const struct jv *obj, const char *key)
{
	if (!obj || obj->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (obj->kids[i].key && !strcmp(obj->kids[i].key, key))
			return &obj->kids[i];
	return NULL;
}

const struct jv *jpath(const struct jv *v, const char *path)
{
	char part[128];

	while (v && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = jget(v, part);
		path += n + (path[n] == '.');
	}
	return v;
}

double jnum(const struct jv *v, const char *path, double def)
{
	const struct jv *x = jpath(v, path);

	return x && (x->t == J_NUM || x->t == J_BOOL) ? x->num : def;
}

const char *jstr(const struct jv *v, const char *path)
{
	const struct jv *x = jpath(v, path);

	return x && x->t == J_STR ? x->str : NULL;
}

int64_t jint(const struct jv *v, const char *path, int64_t def)
{
	const struct jv *x = jpath(v, path);

	return x && x->t == J_NUM && x->isint ? x->ival : def;
}
