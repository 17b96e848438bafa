/* SPDX-License-Identifier: MIT */
/*
 * Open-addressing hash map from a non-zero 64-bit key to a 64-bit value (or a
 * pointer).  Grows by doubling; memory is bounded by the live keys, which is what
 * the streaming analysis needs (threads, in-flight requests).
 */
#ifndef ST_HMAP_H
#define ST_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap {
	uint64_t *keys;		/* 0 = empty, UINT64_MAX = deleted */
	uint64_t *vals;
	size_t cap, len, used;
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* Empties the map, keeping its memory. */
void hmap_clear(struct hmap *m);
/* Returns a pointer to the value slot for key (created as 0 when absent), NULL on ENOMEM. */
uint64_t *hmap_slot(struct hmap *m, uint64_t key);
#define HMAP_DELETED UINT64_MAX

static inline size_t hmap_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

/*
 * Returns the value slot, or NULL when the key is absent.  Inline: the analysis looks up
 * a thread or a request several times per event, and the call was a third of the cost.
 */
static inline uint64_t *hmap_find(const struct hmap *m, uint64_t key)
{
	size_t i;

	if (!m->cap || key == 0 || key == HMAP_DELETED)
		return NULL;
	for (i = hmap_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}
bool hmap_del(struct hmap *m, uint64_t key);
/* Iteration: for (size_t i = 0; hmap_iter(m, &i, &k, &v);) */
bool hmap_iter(const struct hmap *m, size_t *i, uint64_t *key, uint64_t *val);

/*
 * The arrays beside the maps: p (capacity *cap elements of size) made room for need,
 * doubling from 64, the new part zeroed.  NULL when out of memory (p stays valid).
 */
void *vec_grow(void *p, uint32_t *cap, uint32_t need, size_t size);

#endif
