// SPDX-License-Identifier: MIT
/*
 * What the tracer costs, from the kernel's own accounting (the COST record).
 *
 * The kernel counts each BPF program's runs and run time only while BPF statistics are
 * on (kernel.bpf_stats_enabled, or a BPF_ENABLE_STATS fd), and the accounting reads
 * the clock twice around every run of every program on the machine.  On a VM that is
 * a few hundred ns per syscall of every process, far more than the programs
 * themselves: left on for the whole trace it would be the tracer's largest cost.  So
 * it is on in sample windows (WINDOW_NS every PERIOD_NS, from FIRST_NS after tracing
 * began), through a stats fd: closing it restores the setting, even when the tracer
 * is killed.  Each window adds up the runs and run time of every program, and runs an
 * empty program under the same accounting: what one run of it takes is the
 * accounting's own share of every run, which the analyzer takes off.  It runs in
 * CALIB_BATCHES batches, and only the cheapest batch counts: on a busy machine an
 * interrupt or a preemption inside one run of a batch of 200 made the accounting look
 * dearer than the programs' runs (a negative cost).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "st_trace.h"
#include "tracer.h"

#define FIRST_NS	(100ull * 1000 * 1000)
#define PERIOD_NS	(2000ull * 1000 * 1000)
#define WINDOW_NS	(20ull * 1000 * 1000)
#define CALIB_RUNS	20	/* runs in a batch */
#define CALIB_BATCHES	10
#define MAX_PROGS	32

struct cost {
	struct bpf_object *obj;
	int stats_fd;		/* >= 0 while a window is open */
	int calib_fd;		/* the empty program, -1 when it could not load */
	__u64 next, opened;	/* when the next window opens, when this one did */
	__u64 loop_start, cpu_start, setup_cpu;
	struct st_cost sum;
	struct st_cost_prog progs[MAX_PROGS];
	__u64 at_open[MAX_PROGS][2];	/* runs, run time at the window's start */
	__u8 flags;		/* ST_COST_* of the COST record */
};

static __u64 cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((__u64)ru.ru_utime.tv_sec + (__u64)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((__u64)ru.ru_utime.tv_usec + (__u64)ru.ru_stime.tv_usec) * 1000ull;
}

/* An empty socket filter: test runs of it go through the accounting like any run. */
static int calib_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "st_cost_calib", "GPL", insns, 2,
			     NULL);
}

static int prog_stats(int fd, __u64 *runs, __u64 *ns)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
	return 0;
}

int cost__new(struct cost **cp, struct bpf_object *obj)
{
	struct cost *c = calloc(1, sizeof(*c));
	struct bpf_program *p;
	unsigned n = 0;

	*cp = c;
	if (!c)
		return -ENOMEM;
	c->obj = obj;
	c->stats_fd = -1;
	c->calib_fd = calib_load();
	bpf_object__for_each_program(p, obj) {
		if (bpf_program__fd(p) < 0 || n == MAX_PROGS)
			continue;
		strncpy(c->progs[n].name, bpf_program__name(p), sizeof(c->progs[n].name) - 1);
		n++;
	}
	c->sum.nprogs = n;
	return 0;
}

/* Tracing begins: the CPU time so far was the tracer's start-up. */
void cost__start(struct cost *c, __u64 now)
{
	c->loop_start = now;
	c->next = now + FIRST_NS;
	c->setup_cpu = c->cpu_start = cpu_ns();
}

static int prog_fd(const struct cost *c, unsigned i)
{
	struct bpf_program *p = bpf_object__find_program_by_name(c->obj, c->progs[i].name);

	return p ? bpf_program__fd(p) : -1;
}

static void window_open(struct cost *c, __u64 now)
{
	c->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (c->stats_fd < 0) {
		c->flags |= ST_COST_NO_STATS;
		return;
	}
	for (unsigned i = 0; i < c->sum.nprogs; i++)
		prog_stats(prog_fd(c, i), &c->at_open[i][0], &c->at_open[i][1]);
	c->opened = now;
}

/* The empty program, while the accounting is on: the cheapest of CALIB_BATCHES. */
static void calibrate(struct cost *c)
{
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = CALIB_RUNS);
	__u64 runs0, ns0, runs, ns, best_runs = 0, best_ns = 0;

	if (prog_stats(c->calib_fd, &runs0, &ns0))
		return;
	for (unsigned i = 0; i < CALIB_BATCHES; i++) {
		if (bpf_prog_test_run_opts(c->calib_fd, &run) || prog_stats(c->calib_fd, &runs, &ns))
			break;
		/* ns / runs below best_ns / best_runs */
		if (runs > runs0 &&
		    (!best_runs || (ns - ns0) * best_runs < best_ns * (runs - runs0))) {
			best_runs = runs - runs0;
			best_ns = ns - ns0;
		}
		runs0 = runs;
		ns0 = ns;
	}
	c->sum.calib_runs += best_runs;
	c->sum.calib_ns += best_ns;
}

static void window_close(struct cost *c, __u64 now)
{
	__u64 runs, ns;

	calibrate(c);
	for (unsigned i = 0; i < c->sum.nprogs; i++) {
		if (prog_stats(prog_fd(c, i), &runs, &ns))
			continue;
		c->progs[i].runs += runs - c->at_open[i][0];
		c->progs[i].run_ns += ns - c->at_open[i][1];
	}
	close(c->stats_fd);
	c->stats_fd = -1;
	c->sum.sampled_ns += now - c->opened;
	c->sum.windows++;
}

void cost__tick(struct cost *c, __u64 now)
{
	if (c->stats_fd >= 0 && now - c->opened >= WINDOW_NS) {
		window_close(c, now);
		c->next = c->opened + PERIOD_NS;
	} else if (c->stats_fd < 0 && now >= c->next) {
		window_open(c, now);
		if (c->stats_fd < 0)
			c->next = now + PERIOD_NS;
	}
}

/* Ends an open window; writes a COST_PROG record per program, then the COST record. */
int cost__write(struct cost *c, struct st_writer *w, __u64 now)
{
	int err = 0;

	if (c->stats_fd >= 0)
		window_close(c, now);
	c->sum.duration = now - c->loop_start;
	c->sum.cpu_ns = cpu_ns() - c->cpu_start;
	c->sum.setup_cpu_ns = c->setup_cpu;
	for (unsigned i = 0; i < c->sum.nprogs && !err; i++)
		err = st_writer__add(w, now, ST_REC_COST_PROG, 0, &c->progs[i], sizeof(c->progs[i]),
				     NULL, 0);
	if (!err)
		err = st_writer__add(w, now, ST_REC_COST, c->flags, &c->sum, sizeof(c->sum), NULL, 0);
	return err;
}

void cost__free(struct cost *c)
{
	if (!c)
		return;
	if (c->stats_fd >= 0)
		close(c->stats_fd);
	if (c->calib_fd >= 0)
		close(c->calib_fd);
	free(c);
}
