// SPDX-License-Identifier: MIT
/* The streaming JSON reader of `analyze --merge` (jstream.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jstream.h"

#define JS_BUF		(1u << 16)
#define JS_DEPTH	64

int js_init(struct jstream *js, FILE *f)
{
	memset(js, 0, sizeof(*js));
	js->f = f;
	js->buf = malloc(JS_BUF);
	return js->buf ? 0 : -1;
}

void js_free(struct jstream *js)
{
	free(js->buf);
	js->buf = NULL;
}

int js_fail(struct jstream *js, const char *what)
{
	if (!js->err[0])
		snprintf(js->err, sizeof(js->err), "%s at byte %llu", what,
			 (unsigned long long)(js->off + js->pos));
	return -1;
}

/* The next byte without taking it, -1 at the end. */
static int peekb(struct jstream *js)
{
	if (js->pos == js->len) {
		if (js->eof || js->err[0])
			return -1;
		js->off += js->len;
		js->pos = 0;
		js->len = fread(js->buf, 1, JS_BUF, js->f);
		if (js->len < JS_BUF)
			js->eof = true;
		if (!js->len)
			return -1;
	}
	return js->buf[js->pos];
}

static int getb(struct jstream *js)
{
	int c = peekb(js);

	if (c >= 0)
		js->pos++;
	return c;
}

/* The end came where more was due: a cut file reads as truncated, not as garbage. */
static int early_end(struct jstream *js)
{
	if (ferror(js->f))
		return js_fail(js, "read error");
	return js_fail(js, "truncated: the document ends inside a value");
}

int js_peek(struct jstream *js)
{
	int c;

	while ((c = peekb(js)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		js->pos++;
	return c;
}

static int expect(struct jstream *js, char want, const char *what)
{
	int c = js_peek(js);

	if (c < 0)
		return early_end(js);
	if (c != want)
		return js_fail(js, what);
	js->pos++;
	return 0;
}

int js_open(struct jstream *js, char c)
{
	if (expect(js, c, c == '{' ? "expected an object" : "expected an array"))
		return -1;
	if (++js->depth > JS_DEPTH)
		return js_fail(js, "nested too deeply");
	return 0;
}

static int hex4(struct jstream *js, unsigned *out)
{
	char h[4];

	for (int i = 0; i < 4; i++) {
		int c = getb(js);

		if (c < 0)
			return early_end(js);
		h[i] = (char)c;
	}
	return jhex4(h, out) ? js_fail(js, "bad \\u escape") : 0;
}

static int escape(struct jstream *js, char *o, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	int c = getb(js);
	const char *k;
	unsigned u, lo;

	if (c < 0)
		return early_end(js);
	if (c != 'u') {
		if (!c || !(k = strchr(from, c)))
			return js_fail(js, "bad escape");
		o[(*n)++] = to[k - from];
		return 0;
	}
	if (hex4(js, &u))
		return -1;
	if (u >= 0xd800 && u < 0xdc00 && peekb(js) == '\\') {
		js->pos++;
		if (getb(js) != 'u' || hex4(js, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return js_fail(js, "bad surrogate pair");
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	*n += jutf8_put(o + *n, u);
	return 0;
}

/* A string, decoded into a malloc'd buffer (NULL: do not keep it). */
static int string(struct jstream *js, char **out)
{
	size_t n = 0, cap = out ? 64 : 0;
	char *s = out ? malloc(cap) : NULL, scratch[8];
	int c;

	if (out && !s)
		return js_fail(js, "out of memory");
	if (expect(js, '"', "expected a string"))
		goto bad;
	for (;;) {
		char *o = s ? s : scratch;
		size_t *len = s ? &n : &(size_t){ 0 };

		if ((c = getb(js)) < 0) {
			early_end(js);
			goto bad;
		}
		if (c == '"')
			break;
		if (c < 0x20) {
			js_fail(js, "control character in a string");
			goto bad;
		}
		if (s && n + 8 > cap) {
			char *ns = cap >= JS_STR_MAX ? NULL : realloc(s, cap *= 2);

			if (!ns) {
				js_fail(js, cap >= JS_STR_MAX ? "a string longer than 1 MiB" :
					"out of memory");
				goto bad;
			}
			s = o = ns;
		}
		if (c != '\\')
			o[(*len)++] = (char)c;
		else if (escape(js, o, len))
			goto bad;
	}
	if (s) {
		s[n] = '\0';
		*out = s;
	}
	return 0;
bad:
	free(s);
	return -1;
}

int js_member(struct jstream *js, int *n, char *key, size_t cap)
{
	char *k = NULL;
	int c = js_peek(js);

	if (c < 0)
		return early_end(js);
	if (c == '}') {
		js->pos++;
		js->depth--;
		return 0;
	}
	if ((*n)++ && expect(js, ',', "expected ',' or '}'"))
		return -1;
	if (string(js, &k))
		return -1;
	snprintf(key, cap, "%s", strlen(k) < cap ? k : "");
	free(k);
	return expect(js, ':', "expected ':'") ? -1 : 1;
}

int js_element(struct jstream *js, int *n)
{
	int c = js_peek(js);

	if (c < 0)
		return early_end(js);
	if (c == ']') {
		js->pos++;
		js->depth--;
		return 0;
	}
	if ((*n)++ && expect(js, ',', "expected ',' or ']'"))
		return -1;
	return 1;
}

/* The characters of a number token, checked against the JSON grammar. */
/* The characters a number token may hold (a table: this is the reader's inner loop). */
static bool num_char(int c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/*
 * A number token, checked against the JSON grammar; *integer: it has no fraction and
 * no exponent (its digits can be read exactly).
 */
static int token(struct jstream *js, char *buf, size_t cap, bool *integer)
{
	size_t n = 0;
	int c;

	js_peek(js);
	while ((c = peekb(js)) >= 0 && num_char(c)) {
		if (n + 1 == cap)
			return js_fail(js, "a number too long");
		buf[n++] = (char)c;
		js->pos++;
	}
	buf[n] = '\0';
	if (!n)
		return c < 0 ? early_end(js) : js_fail(js, "unexpected character");
	/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	const char *p = buf + (*buf == '-');

	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return js_fail(js, "bad number");
	*integer = *p != '.' && *p != 'e' && *p != 'E';
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return js_fail(js, "bad number");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p += p[1] == '+' || p[1] == '-' ? 2 : 1;
		if (*p < '0' || *p > '9')
			return js_fail(js, "bad number");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p ? js_fail(js, "bad number") : 0;
}

/* The digits of an integer token (an optional '-', then digits), exactly: -1 past 64 bits. */
static int digits(const char *t, uint64_t *u)
{
	uint64_t v = 0;

	for (t += *t == '-'; *t; t++) {
		if (v > (UINT64_MAX - (uint64_t)(*t - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*t - '0');
	}
	*u = v;
	return 0;
}

int js_number(struct jstream *js, double *d, int64_t *i, bool *isint)
{
	char buf[64];
	uint64_t u;

	if (token(js, buf, sizeof(buf), isint))
		return -1;
	if (*isint && !digits(buf, &u) && u <= (uint64_t)INT64_MAX) {
		*i = buf[0] == '-' ? -(int64_t)u : (int64_t)u;
		*d = (double)*i;
		return 0;
	}
	*isint = false;
	*d = strtod(buf, NULL);
	if (!isfinite(*d))
		return js_fail(js, "a number out of range");
	return 0;
}

static int word(struct jstream *js, const char *w)
{
	for (; *w; w++) {
		int c = getb(js);

		if (c != *w)
			return c < 0 ? early_end(js) : js_fail(js, "unexpected character");
	}
	return 0;
}

static int value(struct jstream *js, struct jv *v, const struct js_hook *h);

/* A new member or element of v (zeroed), or NULL. */
static struct jv *kid(struct jstream *js, struct jv *v, size_t *cap)
{
	struct jv *k;

	if (v->n == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		if (!(k = realloc(v->kids, *cap * sizeof(*k)))) {
			js_fail(js, "out of memory");
			return NULL;
		}
		v->kids = k;
	}
	k = &v->kids[v->n++];
	memset(k, 0, sizeof(*k));
	return k;
}

static int tree_obj(struct jstream *js, struct jv *v, const struct js_hook *h)
{
	char key[128];
	size_t cap = 0;
	int n = 0, r;

	v->t = J_OBJ;
	if (js_open(js, '{'))
		return -1;
	while ((r = js_member(js, &n, key, sizeof(key))) == 1) {
		struct jv *k;

		/* a hook sees the member with the key of the object it is in */
		if (h && (r = h->member(h->ctx, js, v->key, key)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (!(k = kid(js, v, &cap)))
			return -1;
		if (!(k->key = strdup(key)))
			return js_fail(js, "out of memory");
		if (value(js, k, h))
			return -1;
	}
	return r;
}

static int tree_arr(struct jstream *js, struct jv *v, const struct js_hook *h)
{
	size_t cap = 0;
	int n = 0, r;
	struct jv *k;

	v->t = J_ARR;
	if (js_open(js, '['))
		return -1;
	while ((r = js_element(js, &n)) == 1)
		if (!(k = kid(js, v, &cap)) || value(js, k, h))
			return -1;
	return r;
}

/* A value into v (an object's members go through the hook first). */
static int value(struct jstream *js, struct jv *v, const struct js_hook *h)
{
	int64_t i;
	int c;

	if (++js->tree > JS_TREE_MAX)
		return js_fail(js, "more than 200,000 values in one object (not a report)");
	c = js_peek(js);
	switch (c) {
	case -1: return early_end(js);
	case '{': return tree_obj(js, v, h);
	case '[': return tree_arr(js, v, h);
	case '"': v->t = J_STR; return string(js, &v->str);
	case 't': v->t = J_BOOL; v->num = 1; return word(js, "true");
	case 'f': v->t = J_BOOL; return word(js, "false");
	case 'n': v->t = J_NULL; return word(js, "null");
	}
	v->t = J_NUM;
	if (js_number(js, &v->num, &i, &v->isint))
		return -1;
	v->ival = i;
	return 0;
}

int js_tree(struct jstream *js, struct jv *v, const struct js_hook *h)
{
	memset(v, 0, sizeof(*v));
	js->tree = 0;
	return value(js, v, h);
}

int js_skip(struct jstream *js)
{
	int c = js_peek(js), n = 0, r;
	char key[8];
	double d;
	int64_t i;
	bool isint;

	switch (c) {
	case -1: return early_end(js);
	case '"': return string(js, NULL);
	case 't': return word(js, "true");
	case 'f': return word(js, "false");
	case 'n': return word(js, "null");
	case '{':
		if (js_open(js, '{'))
			return -1;
		while ((r = js_member(js, &n, key, sizeof(key))) == 1)
			if (js_skip(js))
				return -1;
		return r;
	case '[':
		if (js_open(js, '['))
			return -1;
		while ((r = js_element(js, &n)) == 1)
			if (js_skip(js))
				return -1;
		return r;
	}
	return js_number(js, &d, &i, &isint);
}

/* Makes room for one more element of a typed array. */
static int room(struct jstream *js, void **a, uint32_t n, uint32_t *cap, size_t size)
{
	void *na;

	if (n < *cap)
		return 0;
	if (n >= JS_ARRAY_MAX)
		return js_fail(js, "more than 67,108,864 steps in one array");
	na = realloc(*a, (size_t)(*cap ? *cap * 2 : 256) * size);
	if (!na)
		return js_fail(js, "out of memory");
	*a = na;
	*cap = *cap ? *cap * 2 : 256;
	return 0;
}

int js_floats(struct jstream *js, float **a, uint32_t *n, uint32_t *cap)
{
	int k = 0, r;
	char buf[64];
	bool isint;

	if (js_open(js, '['))
		return -1;
	while ((r = js_element(js, &k)) == 1) {
		if (room(js, (void **)a, *n, cap, sizeof(**a)) || token(js, buf, sizeof(buf), &isint))
			return -1;
		if (!isfinite((*a)[*n] = strtof(buf, NULL)))
			return js_fail(js, "a number out of range");
		(*n)++;
	}
	return r;
}

int js_u64s(struct jstream *js, uint64_t **a, uint32_t *n, uint32_t *cap)
{
	int k = 0, r;
	char buf[64];
	bool isint;
	uint64_t v;

	if (js_open(js, '['))
		return -1;
	while ((r = js_element(js, &k)) == 1) {
		if (room(js, (void **)a, *n, cap, sizeof(**a)) || token(js, buf, sizeof(buf), &isint))
			return -1;
		if (!isint || buf[0] == '-' || digits(buf, &v))
			return js_fail(js, "expected a time in ns (a non-negative integer)");
		(*a)[(*n)++] = v;
	}
	return r;
}

int js_end(struct jstream *js)
{
	if (js_peek(js) >= 0)
		return js_fail(js, "data after the document");
	return ferror(js->f) ? js_fail(js, "read error") : 0;
}
