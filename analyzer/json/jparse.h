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
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;		/* J_NUM, J_BOOL (0/1) */
	int64_t ival;		/* J_NUM written as an integer that fits: exact (times in ns) */
	bool isint;
	char *str;		/* J_STR; the key, for members of an object */
	char *key;
	struct jv *kids;	/* J_ARR, J_OBJ */
	size_t n;
};

/* Parses text; NULL on error with a one-line reason (and byte offset) in err. */
struct jv *jparse(const char *text, size_t len, char *err, size_t errlen);
/*
 * The same, with the top-level members named in skip (NULL-terminated) checked but
 * not kept: they count toward no limit (a job report's thousands of ranks, for
 * --compare, which reads only the top level).
 */
struct jv *jparse_except(const char *text, size_t len, const char *const *skip, char *err,
			 size_t errlen);
void jfree(struct jv *v);
/* Frees what v holds (its members, its strings), not v itself (a tree made in place). */
void jclear(struct jv *v);
/* The member `key` of an object, or NULL. */
const struct jv *jget(const struct jv *obj, const char *key);
/* A member by dotted path ("steps.p50_ms"), or NULL. */
const struct jv *jpath(const struct jv *v, const char *path);
/* The number at path, or `def` when absent or not a number. */
double jnum(const struct jv *v, const char *path, double def);
/* The string at path, or NULL. */
const char *jstr(const struct jv *v, const char *path);
/* The integer at path, exactly (a number written without fraction or exponent), or def. */
int64_t jint(const struct jv *v, const char *path, int64_t def);
/* Shared with jstream.c: a \uXXXX's 4 hex digits (0, or -1); code point c as UTF-8. */
int jhex4(const char *s, unsigned *out);
size_t jutf8_put(char *o, unsigned c);
/* Sets v's exact integer from its number token (jstream.c shares it). */
void jnum_exact(const char *tok, struct jv *v);

#endif
