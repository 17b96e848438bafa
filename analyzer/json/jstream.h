/* SPDX-License-Identifier: MIT */
/*
 * A streaming JSON reader (RFC 8259) for `analyze --merge`: it reads a report through a
 * fixed buffer, value by value, so what a merge keeps grows with the ranks and steps it
 * keeps, never with the size of its inputs.  A caller walks objects and arrays itself,
 * skips what it does not need, reads the long per-step arrays straight into typed
 * arrays, and turns the small rest into jparse.h trees (bounded in values).
 *
 * Reports come from anywhere: every string, tree and array is bounded, and the first
 * problem stops the reader with one line (what, and at which byte) in js->err.
 */
#ifndef ST_JSTREAM_H
#define ST_JSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jparse.h"

#define JS_STR_MAX	(1u << 20)	/* longest string: the longest path or command line */
#define JS_TREE_MAX	200000		/* values in one tree (a trainer's non-step part) */
#define JS_ARRAY_MAX	(1u << 26)	/* elements of one typed array (steps of one rank) */

struct jstream {
	FILE *f;
	unsigned char *buf;
	size_t pos, len;
	uint64_t off;		/* stream offset of buf[0] */
	int depth;
	size_t tree;		/* values in the tree being made */
	bool eof;
	char err[200];
};

/* A typed array a caller wants instead of a tree: tried at each member while a tree is made. */
struct js_hook {
	/* 1: it read the value (the member is left out of the tree), 0: not its, -1: error */
	int (*member)(void *ctx, struct jstream *js, const char *parent, const char *key);
	void *ctx;
};

/* Reads from f (not closed by the reader); 0, or -1 out of memory. */
int js_init(struct jstream *js, FILE *f);
void js_free(struct jstream *js);

/* The next significant character without taking it, or -1 at the end (or an error). */
int js_peek(struct jstream *js);
/* Takes '{' or '['; 0, or -1 with the reason set. */
int js_open(struct jstream *js, char c);
/*
 * The members of an object just opened, one per call: 1 with the key in key (truncated
 * to cap: a longer key matches nothing), 0 at the '}', -1 on an error.  *n counts the
 * members so far (start at 0).  The caller then reads or skips the value.
 */
int js_member(struct jstream *js, int *n, char *key, size_t cap);
/* The elements of an array just opened: 1 when one follows, 0 at the ']', -1 on an error. */
int js_element(struct jstream *js, int *n);
/* Skips any value (nothing is kept). */
int js_skip(struct jstream *js);
/* A number: its value, and whether it is an integer that fits int64 (then *i is exact). */
int js_number(struct jstream *js, double *d, int64_t *i, bool *isint);
/* A tree of the next value (at most JS_TREE_MAX values; hooks may take typed arrays). */
int js_tree(struct jstream *js, struct jv *v, const struct js_hook *h);
/*
 * Typed arrays: [numbers] into a growing array (*a, *n elements, *cap), each a float
 * (ms), or an exact non-negative integer (ns).
 */
int js_floats(struct jstream *js, float **a, uint32_t *n, uint32_t *cap);
int js_u64s(struct jstream *js, uint64_t **a, uint32_t *n, uint32_t *cap);
/* After the document: only white space may follow.  0, or -1. */
int js_end(struct jstream *js);
/* Sets the error (the first one stays): "WHAT at byte N". */
int js_fail(struct jstream *js, const char *what);

#endif
