// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_free(struct hmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void hmap_clear(struct hmap *m)
{
	if (m->cap)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->len = m->used = 0;
}

static int grow(struct hmap *m)
{
	struct hmap n;
	size_t i;

	n.cap = m->cap ? m->cap * 2 : 64;
	/* only rehash in place when deletions, not live keys, filled the table */
	if (m->cap && m->len * 4 < m->cap)
		n.cap = m->cap;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	n.len = n.used = 0;
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] && m->keys[i] != HMAP_DELETED) {
			size_t j = hmap_hash(m->keys[i], n.cap);

			while (n.keys[j])
				j = (j + 1) & (n.cap - 1);
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
			n.len++;
			n.used++;
		}
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

uint64_t *hmap_slot(struct hmap *m, uint64_t key)
{
	uint64_t *v = hmap_find(m, key);
	size_t i;

	if (v || key == 0 || key == HMAP_DELETED)
		return v;
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
		return NULL;
	for (i = hmap_hash(key, m->cap); m->keys[i] && m->keys[i] != HMAP_DELETED;
	     i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i])
		m->used++;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->len++;
	return &m->vals[i];
}

bool hmap_del(struct hmap *m, uint64_t key)
{
	uint64_t *v = hmap_find(m, key);

	if (!v)
		return false;
	m->keys[v - m->vals] = HMAP_DELETED;
	m->len--;
	return true;
}

bool hmap_iter(const struct hmap *m, size_t *i, uint64_t *key, uint64_t *val)
{
	for (; *i < m->cap; (*i)++) {
		if (m->keys[*i] && m->keys[*i] != HMAP_DELETED) {
			*key = m->keys[*i];
			*val = m->vals[*i];
			(*i)++;
			return true;
		}
	}
	return false;
}

void *vec_grow(void *p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t c = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return p;
	while (c < need)
		c *= 2;
	n = realloc(p, c * size);
	if (n) {
		memset((char *)n + *cap * size, 0, (c - *cap) * size);
		*cap = c;
	}
	return n;
}
