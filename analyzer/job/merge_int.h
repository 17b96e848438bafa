/* SPDX-License-Identifier: MIT */
/* Internals shared by merge.c (the inputs, the job) and merge_tr.c (a rank's fields). */
#ifndef ST_MERGE_INT_H
#define ST_MERGE_INT_H

#include <stdint.h>

#include "analysis.h"
#include "jparse.h"
#include "jstream.h"

/* What a merge owns besides the result's own arrays: strings, and the waits. */
struct merge_state {
	char **blocks;		/* string arena, in blocks that never move */
	size_t nblocks, used, cap;
	struct coll **colls;	/* each trainer's waits (tr->coll.w points in) */
	uint32_t ncolls;
};

/* A copy of s that lives as long as the result, or NULL (out of memory). */
const char *merge__keep(struct merge_state *m, const char *s);
uint64_t merge__u64(const struct jv *t, const char *path, uint64_t def);

/* The per-step arrays of one trainer, read straight from the stream. */
struct tr_arrays {
	float *dur;
	uint64_t *starts, *cstart, *cend;
	uint32_t ndur, nstarts, ncstart, ncend;
	uint32_t capdur, capstarts, capcstart, capcend;
	bool have_dur, have_starts, have_cstart, have_cend;
};

/* The js_tree hook that reads a trainer's step and wait arrays into a tr_arrays. */
int merge_tr__hook(void *ctx, struct jstream *js, const char *parent, const char *key);
/*
 * Fills tr from a trainer's tree and its arrays (taken: freed by merge__free through
 * the result).  0, or -1 with the reason (which field is wrong) in err.
 */
int merge_tr__fill(struct merge_state *m, struct an_trainer *tr, const struct jv *t,
		   struct tr_arrays *a, char *err, size_t errlen);
void merge_tr__arrays_free(struct tr_arrays *a);

#endif
