// SPDX-License-Identifier: MIT
/* trainsim knobs: one table drives getopt_long, validation and --help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainsim.h"

enum knob_kind { K_NUM, K_ENUM, K_STR, K_FLAG, K_HELP };

struct knob {
	const char *name;
	enum knob_kind kind;
	size_t off;		/* offset of the field in struct ts_opts */
	long min, max;		/* K_NUM range */
	const char *choices;	/* K_ENUM: "a|b|c", value = index */
	const char *help;
};

#define NUM(n, f, lo, hi, h) { n, K_NUM, offsetof(struct ts_opts, f), lo, hi, NULL, h }
#define ENUM(n, f, c, h) { n, K_ENUM, offsetof(struct ts_opts, f), 0, 0, c, h }
#define STR(n, f, h) { n, K_STR, offsetof(struct ts_opts, f), 0, 0, NULL, h }
#define FLAG(n, f, h) { n, K_FLAG, offsetof(struct ts_opts, f), 0, 0, NULL, h }

static const struct knob knobs[] = {
	NUM("workers", workers, 1, TS_MAX_WORKERS, "worker processes (forked, like DataLoader workers)"),
	NUM("batch-size", batch_size, 1, TS_MAX_BATCH, "samples per batch"),
	NUM("prefetch", prefetch, 1, TS_MAX_PREFETCH, "batches in flight per worker (prefetch_factor)"),
	NUM("steps", steps, 1, 1000000, "measured training steps"),
	NUM("warmup-steps", warmup, 0, 100000, "steps run before the measured window starts"),
	NUM("decode-us", decode_us, 0, 10000000, "per-sample decode work, in us of worker CPU time"),
	NUM("sample-kb", sample_kb, 1, 16384, "bytes read per sample, in KiB (multiple of 4 with --cold direct)"),
	NUM("dataset-samples", dataset_samples, 1, 10000000, "samples in the dataset file"),
	ENUM("read-pattern", pattern, "seq|random", "sampler order: sequential or shuffled"),
	ENUM("cold", cold, "none|fadvise|direct", "make reads reach the device: evict pages before each read, or O_DIRECT"),
	STR("dataset", dataset, "dataset directory (created if missing; the data file is reused)"),
	NUM("compute-us", compute_us, 0, 10000000, "main-thread on-CPU work per step, in us of CPU time"),
	NUM("device-wait-us", device_wait_us, 0, 10000000, "per-step device synchronisation through the stub CUDA lib (0 = off)"),
	STR("device-lib", device_lib, "CUDA driver library to dlopen (default: stubcuda/libcuda.so.1 next to trainsim)"),
	NUM("launches", launches, 0, 10000, "cuLaunchKernel calls per step before the sync"),
	NUM("checkpoint-every", ckpt_every, 0, 1000000, "write and fsync a checkpoint every K steps (0 = off)"),
	NUM("checkpoint-mb", ckpt_mb, 1, 4096, "checkpoint size in MiB"),
	STR("checkpoint-dir", ckpt_dir, "checkpoint directory (default: the dataset directory)"),
	NUM("lock-hold-us", lock_hold_us, 0, 10000000, "sibling thread holds the main thread's mutex this long per round (0 = off)"),
	NUM("lock-gap-us", lock_gap_us, 0, 10000000, "sibling thread's pause between holds, so the main thread can get in"),
	ENUM("lock-mode", lock_mode, "sleep|spin", "what the sibling does while holding the mutex"),
	FLAG("relay", relay, "pin-memory-like relay thread between the workers and the main thread"),
	NUM("seed", seed, 0, 2147483647L, "shuffle seed"),
	STR("scenario", scenario, "scenario name echoed in the truth line ([A-Za-z0-9_.-])"),
	{ "help", K_HELP, 0, 0, 0, NULL, "this help" },
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static long *num_field(struct ts_opts *o, const struct knob *k)
{
	return (long *)((char *)o + k->off);
}

static const char **str_field(struct ts_opts *o, const struct knob *k)
{
	return (const char **)((char *)o + k->off);
}

static void set_defaults(struct ts_opts *o)
{
	static char dataset[4096];
	const char *tmp = getenv("TMPDIR");

	snprintf(dataset, sizeof(dataset), "%s/trainsim-data", tmp && *tmp ? tmp : "/tmp");
	*o = (struct ts_opts){
		.workers = 2, .batch_size = 16, .prefetch = 2, .steps = 100, .warmup = 1,
		.decode_us = 500, .sample_kb = 16, .dataset_samples = 1024,
		.pattern = TS_RANDOM, .cold = TS_COLD_NONE,
		.compute_us = 2000, .launches = 4,
		.ckpt_mb = 16, .lock_gap_us = 200, .lock_mode = TS_LOCK_SLEEP,
		.seed = 1, .dataset = dataset, .scenario = "",
	};
}

/* Returns the index of `val` in "a|b|c", or -1. */
static long choice_index(const char *choices, const char *val)
{
	size_t len = strlen(val);
	const char *p = choices;
	long i;

	for (i = 0; p; i++) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && !strncmp(p, val, n))
			return i;
		p = bar ? bar + 1 : NULL;
	}
	return -1;
}

static const char *choice_name(const char *choices, long idx, char *buf, size_t sz)
{
	const char *p = choices;
	size_t n;

	while (idx-- > 0 && p)
		p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
	if (!p)
		return "?";
	n = strchr(p, '|') ? (size_t)(strchr(p, '|') - p) : strlen(p);
	snprintf(buf, sz, "%.*s", (int)n, p);
	return buf;
}

static void usage(struct ts_opts *o)
{
	const struct knob *k;
	char arg[64], def[64];

	printf("usage: trainsim [options]\n"
	       "A training-job-shaped workload; prints its measured ground truth as one\n"
	       "JSON line starting with {\"stalltrace_truth\":1, at exit.\n\n");
	for (k = knobs; k < knobs + NKNOBS; k++) {
		def[0] = '\0';
		if (k->kind == K_NUM) {
			snprintf(arg, sizeof(arg), "%s N", k->name);
			snprintf(def, sizeof(def), " [%ld, %ld..%ld]",
				 *num_field(o, k), k->min, k->max);
		} else if (k->kind == K_ENUM) {
			char name[32];

			snprintf(arg, sizeof(arg), "%s %s", k->name, k->choices);
			snprintf(def, sizeof(def), " [%s]", choice_name(k->choices,
				 *num_field(o, k), name, sizeof(name)));
		} else if (k->kind == K_STR) {
			snprintf(arg, sizeof(arg), "%s %s", k->name,
				 strstr(k->name, "lib") ? "PATH" : strstr(k->name, "scen") ? "NAME" : "DIR");
			if (*str_field(o, k) && **str_field(o, k))
				snprintf(def, sizeof(def), " [%s]", *str_field(o, k));
		} else {
			snprintf(arg, sizeof(arg), "%s", k->name);
		}
		printf("  --%-32s %s%s\n", arg, k->help, def);
	}
	printf("\nBad values exit 2 with one line on stderr.  Environment: STUB_CUDA_MODE=block|spin\n"
	       "selects how the stub library waits in --device-wait-us mode.\n");
	exit(0);
}

static long parse_num(const struct knob *k, const char *val)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (!*val || *end || errno == ERANGE)
		ts_usage_error("--%s must be an integer (got '%s')", k->name, val);
	if (v < k->min || v > k->max)
		ts_usage_error("--%s must be between %ld and %ld (got %ld)",
			       k->name, k->min, k->max, v);
	return v;
}

static void set_knob(struct ts_opts *o, const struct knob *k, const char *val)
{
	long idx;

	switch (k->kind) {
	case K_NUM:
		*num_field(o, k) = parse_num(k, val);
		break;
	case K_ENUM:
		idx = choice_index(k->choices, val);
		if (idx < 0)
			ts_usage_error("--%s must be one of %s (got '%s')",
				       k->name, k->choices, val);
		*num_field(o, k) = idx;
		break;
	case K_STR:
		if (!*val)
			ts_usage_error("--%s must not be empty", k->name);
		*str_field(o, k) = val;
		break;
	case K_FLAG:
		*num_field(o, k) = 1;
		break;
	case K_HELP:
		usage(o);
	}
}

/* Checks that involve more than one knob. */
static void check_combinations(struct ts_opts *o)
{
	unsigned long long bytes = (unsigned long long)o->dataset_samples *
				   (unsigned long long)o->sample_kb * 1024ull;
	const char *p;

	if (o->cold == TS_COLD_DIRECT && o->sample_kb % 4)
		ts_usage_error("--sample-kb must be a multiple of 4 with --cold direct (got %ld)",
			       o->sample_kb);
	if (bytes > (8ull << 30))
		ts_usage_error("--dataset-samples x --sample-kb must be at most 8 GiB (got %llu MiB)",
			       bytes >> 20);
	for (p = o->scenario; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
			ts_usage_error("--scenario must use only [A-Za-z0-9_.-] (got '%s')",
				       o->scenario);
	if (!o->ckpt_dir)
		o->ckpt_dir = o->dataset;
}

void ts_parse_opts(struct ts_opts *o, int argc, char **argv)
{
	struct option lo[NKNOBS + 1];
	size_t i;
	int c;

	set_defaults(o);
	for (i = 0; i < NKNOBS; i++) {
		int has = knobs[i].kind == K_FLAG || knobs[i].kind == K_HELP ?
			  no_argument : required_argument;

		lo[i] = (struct option){ knobs[i].name, has, NULL, 256 + (int)i };
	}
	memset(&lo[NKNOBS], 0, sizeof(lo[NKNOBS]));
	opterr = 0;	/* our own one-line messages instead of getopt's */
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'h')
			usage(o);
		if (c == ':')
			ts_usage_error("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			ts_usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
		set_knob(o, &knobs[c - 256], optarg);
	}
	if (optind < argc)
		ts_usage_error("unexpected argument '%s' (see --help)", argv[optind]);
	check_combinations(o);
}
