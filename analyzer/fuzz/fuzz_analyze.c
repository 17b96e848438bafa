// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the whole of `analyze`: the input becomes a trace file, which
 * is read from disk, analysed, and written to every output: the text report, the
 * JSON, the charts and the page (-o, gnuplot left out: no processes), the Perfetto
 * export and the --dump lines.  No crash, no undefined behaviour, no leak, no hang.
 *   make fuzz   (tests/t_fuzz.sh makes the seeds and runs it)
 *
 * Byte 0 chooses how the rest is taken:
 *   bit 0  the rest is a decompressed record stream, compressed here into frames of
 *          97 to 2^16 bytes (bits 4-7 choose) so the record parser sees every
 *          mutation and records span frames; else it is the file as it is
 *   bit 1  bytes 1-2 give a --from/--to window (hundredths of a second)
 *   bit 2  byte 3 gives --main-tid
 * A file that would decompress to more than 4 MiB is skipped: the analysis is linear,
 * and a zstd bomb only measures the machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "analysis.h"
#include "dump.h"
#include "outfile.h"
#include "perfetto.h"
#include "report_html.h"

#define MAX_RAW (4u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static char dir[64], trace[96], outd[96];
static FILE *devnull;
static struct an_result *res;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* in memory when it can: the outputs are a dozen files a run */
	snprintf(dir, sizeof(dir), "/dev/shm/fuzz_analyze.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_analyze.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	/* one result, reused: it is large (a few MB) and analysis__run clears it */
	if (!(res = calloc(1, sizeof(*res))))
		abort();
	snprintf(trace, sizeof(trace), "%s/t.zst", dir);
	snprintf(outd, sizeof(outd), "%s/out", dir);
	devnull = fopen("/dev/null", "w");
	outdir_gnuplot = false;
	return 0;
}

/* Frames of the raw stream at sizes the mode byte chooses. */
static size_t compress_raw(const uint8_t *raw, size_t len, unsigned mode, uint8_t *out,
			   size_t cap)
{
	size_t frame = (mode >> 4) ? (size_t)97 << ((mode >> 4) - 1) : len, done = 0, n = 0;

	while (done < len || !n) {
		size_t k = len - done < frame ? len - done : frame;
		size_t z = ZSTD_compress(out + n, cap - n, raw + done, k, 1);

		if (ZSTD_isError(z))
			return 0;
		n += z;
		done += k;
		if (!len)
			break;
	}
	return n;
}

/* Whether a zstd file decompresses to at most MAX_RAW bytes (or stops decoding first). */
static bool small_enough(const uint8_t *data, size_t len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	static uint8_t buf[1 << 16];
	ZSTD_inBuffer in = { data, len, 0 };
	size_t total = 0;

	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 26);
	while (in.pos < in.size && total <= MAX_RAW) {
		ZSTD_outBuffer out = { buf, sizeof(buf), 0 };
		size_t r = ZSTD_decompressStream(d, &out, &in);

		total += out.pos;
		if (ZSTD_isError(r) || (!out.pos && !r))
			break;
		if (!out.pos && in.pos == in.size)
			break;
	}
	ZSTD_freeDCtx(d);
	return total <= MAX_RAW;
}

static int write_trace(const uint8_t *data, size_t len)
{
	FILE *f = fopen(trace, "w");
	size_t n = f ? fwrite(data, 1, len, f) : 0;

	return f && !fclose(f) && n == len ? 0 : -1;
}

static void outputs(struct an_result *res)
{
	struct outdir d;
	char *json = NULL;
	size_t jlen = 0;
	FILE *m = open_memstream(&json, &jlen);

	report__text(devnull, res);
	if (m) {
		report__json_stream(m, res);
		fclose(m);
	}
	free(json);
	if (!outdir__open(&d, outd, "fuzz")) {
		if (charts__write(&d, res, true, "fuzz") || report__html(&d, res))
			outdir__abort(&d);
		else
			outdir__commit(&d, chart_files);
	}
	st_dump(trace, devnull, "fuzz");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct an_opts o = { .path = trace };
	unsigned mode;
	uint8_t *z = NULL;
	size_t skip = 1;

	if (len < 1)
		return 0;
	mode = data[0];
	if ((mode & 2) && len > 3) {
		o.from.kind = o.to.kind = 1;
		o.from.rel_s = data[1] / 100.0;
		o.to.rel_s = o.from.rel_s + (data[2] + 1) / 100.0;
		skip = 3;
	}
	if ((mode & 4) && len > 4) {
		o.main_tid = data[3] + 1;
		skip = 4;
	}
	data += skip;
	len -= skip;
	if (mode & 1) {
		size_t cap = ZSTD_compressBound(len) + 64 * ((len >> 6) + 1);

		if (len > MAX_RAW || !(z = malloc(cap)))
			return 0;
		len = compress_raw(data, len, mode, z, cap);
		data = z;
	} else if (!small_enough(data, len)) {
		return 0;
	}
	if (len && !write_trace(data, len)) {
		/* the timeline is drawn during the pass, over the user window or its own */
		struct perfetto_opts po = { .prog = "fuzz", .from = o.from, .to = o.to };
		struct perfetto *px = perfetto__open("/dev/null", &po);

		o.obs = px ? perfetto__observer(px) : NULL;
		if (!analysis__run(res, &o, "fuzz")) {
			outputs(res);
			if (px)
				perfetto__finish(px, res);
		} else if (px) {
			perfetto__abort(px);
		}
		analysis__free(res);
	}
	free(z);
	return 0;
}
