// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the trace reader: any input must be read to its end (or to
 * the first damage) without a crash, an out-of-bounds access or a leak.
 *   make fuzz && build/fuzz_reader -max_total_time=60 build/fuzz-corpus
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>
#include <zstd.h>

#include "st_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void read_all(const uint8_t *data, size_t len);

/*
 * Compressed input mostly exercises zstd (checksums stop most mutations), so an
 * input whose first byte is odd is taken as a decompressed record stream and is
 * compressed into a frame first: the record parser then sees every mutation.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t cap, n;
	void *z;

	if (!len || !(data[0] & 1)) {
		read_all(data, len);
		return 0;
	}
	cap = ZSTD_compressBound(len);
	z = malloc(cap);
	n = z ? ZSTD_compress(z, cap, data + 1, len - 1, 1) : 0;
	if (z && !ZSTD_isError(n))
		read_all(z, n);
	free(z);
	return 0;
}

static void read_all(const uint8_t *data, size_t len)
{
	struct st_reader *r = NULL;
	struct st_event ev;
	volatile size_t sink = 0;

	if (st_reader__open_mem(&r, data, len) == 0) {
		const struct st_trace_info *in = st_reader__info(r);

		sink += in->hostname ? strlen(in->hostname) : 0;
		while (st_reader__next(r, &ev) > 0) {
			/* strings handed out must be terminated inside the record */
			sink += ev.str ? strlen(ev.str) : 0;
			sink += ev.str2 ? strlen(ev.str2) : 0;
			sink += ev.type == ST_REC_SYSCALL ? ev.sc.b.nr : 0;
		}
		sink += st_reader__drops_total(r) + (size_t)st_reader__end(r);
	}
	sink += strlen(r ? st_reader__error(r) : "");
	st_reader__close(r);
	(void)sink;
}
