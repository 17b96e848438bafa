// SPDX-License-Identifier: MIT
/*
 * floor VARIANT READY: attaches one pair of bpf/floor.bpf.c's syscall programs
 * (VARIANT: empty, cache or rawtp), writes its pid to READY once they are attached,
 * and holds them until SIGTERM or SIGINT (or until its parent ends).  make bench runs sysloop beside it: the
 * cost every process pays for two programs on the syscall tracepoints.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "tests/floor.skel.h"

static int write_ready(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) || rename(tmp, path))
		return -1;
	return 0;
}

/* Leaves only VARIANT's two programs to load; -1 for an unknown variant. */
static int pick(struct floor_bpf *skel, const char *variant)
{
	struct bpf_program *pair[][2] = {
		{ skel->progs.empty_enter, skel->progs.empty_exit },
		{ skel->progs.cache_enter, skel->progs.cache_exit },
		{ skel->progs.rawtp_enter, skel->progs.rawtp_exit },
	};
	const char *names[] = { "empty", "cache", "rawtp" };
	int i, found = -1;

	for (i = 0; i < 3; i++) {
		bool on = !strcmp(variant, names[i]);

		if (on)
			found = i;
		bpf_program__set_autoload(pair[i][0], on);
		bpf_program__set_autoload(pair[i][1], on);
	}
	return found;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	sigset_t set;
	int sig, rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: floor empty|cache|rawtp READY\n");
		return 2;
	}
	/* blocked before anything is attached: sigwait takes them below */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* the programs slow every process down: never outlive the benchmark */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the BPF object\n");
		return 1;
	}
	if (pick(skel, argv[1]) < 0) {
		fprintf(stderr, "floor: unknown variant '%s'\n", argv[1]);
		rc = 2;
	} else if (floor_bpf__load(skel) || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: cannot load or attach the %s programs\n", argv[1]);
	} else if (write_ready(argv[2])) {
		fprintf(stderr, "floor: cannot write %s\n", argv[2]);
	} else {
		sigwait(&set, &sig);
		rc = 0;
	}
	floor_bpf__destroy(skel);
	return rc;
}
