/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader (RFC 8259) for the summaries `analyze --json` writes, read
 * back by `analyze --compare`.  The input may come from anywhere, so it is parsed
 * with a depth limit and every access is checked: a missing key or a value of the
 * wrong type reads as absent, never as a crash.
 */
#ifndef ST_JPARSE_H
#define ST_JPARSE_H

#include <stdbool.h>
#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;		/* J_NUM, J_BOOL (0/1) */
	char *str;		/* J_STR; the key, for members of an object */
	char *key;
	struct jv *kids;	/* J_ARR, J_OBJ */
	size_t n;
};

/* Parses text; NULL on error with a one-line reason (and byte offset) in err. */
struct jv *jparse(const char *text, size_t len, char *err, size_t errlen);
void jfree(struct jv *v);
/* The member `key` of an object, or NULL. */
const struct jv *jget(const struct jv *obj, const char *key);
/* A member by dotted path ("steps.p50_ms"), or NULL. */
const struct jv *jpath(const struct jv *v, const char *path);
/* The number at path, or `def` when absent or not a number. */
double jnum(const struct jv *v, const char *path, double def);
/* The string at path, or NULL. */
const char *jstr(const struct jv *v, const char *path);

#endif
