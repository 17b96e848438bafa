// SPDX-License-Identifier: MIT
/*
 * tracer: follows a training job (a process tree) with eBPF and writes a zstd trace.
 *
 *   tracer attach [options] PID
 *   tracer run [options] -- CMD [ARGS...]
 *
 * Order of work: check the machine, create the output, load and attach the BPF
 * programs (the fork handler must be live before the targets are marked so no
 * child escapes), mark the targets, then poll the ring on a timer until a stop
 * condition, drain everything, and write the trailer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probes.h"
#include "stalltrace.skel.h"
#include "st_bpf.h"
#include "tracer.h"

#define REORDER_NS	(5ull * 1000 * 1000)	/* time order is restored within this window */
#define POLL_NS		(10ull * 1000 * 1000)	/* ring polling period */
#define IDLE_NS		(100ull * 1000 * 1000)	/* the CPUs' idle time is read this often */
#define FLUSH_NS	(1000ull * 1000 * 1000)	/* a frame reaches the disk at least this often */
#define SETTLE_NS	(5ull * 1000 * 1000 * 1000)	/* start-up wait for the probes, at most */

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t forward_signal;
static bool verbose;

/* One line on stderr: "tracer: ", the message, then `end`. */
static void vsay(const char *end, const char *fmt, va_list ap)
{
	fputs("tracer: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(end, stderr);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("\n", fmt, ap);
	va_end(ap);
}

/* A usage error: one line, ending with where to look; returns 2, the exit status. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(" (see tracer --help)\n", fmt, ap);
	va_end(ap);
	return 2;
}

struct run;

struct ring_ctx {
	struct run *r;
	unsigned idx;
};

struct run {
	struct tracer_opts o;
	struct stalltrace_bpf *skel;
	struct ring_buffer *rb;		/* all the per-CPU rings */
	struct ring_ctx *rctx;
	int *ring_fds;
	struct ring_pos { const __u64 *cons, *prod; } *pos;	/* each ring's positions */
	unsigned nrings;
	struct st_writer *w;
	struct sink *sink;
	struct probes *probes;
	struct cost *cost;
	struct btf *vmlinux;	/* the kernel's BTF, while setting up */
	pid_t child;		/* run mode */
	int child_status;
	bool child_done;
	__u64 born, start, loop_start, last_flush, last_status, last_events, last_drops, last_raw, last_adapt;
	int stop_reason;
	int write_err;
	int nice;		/* the consumer's own priority, restored after a boost */
	bool boosted;
	__u64 last_busy, boosts;
	__u64 last_idle;	/* when the CPUs' idle time was last read */
	__u64 *idle;		/* by CPU: the figure last written + 1 (0: none yet) */
	void *idle_buf;		/* the per-CPU entries as the map gives them */
	__u64 *probe_calls;	/* by probe id */
	size_t nprobe_calls;
	char *out_path;		/* where the trace is, once committed (else o.output) */
	struct target_user user;	/* who the command runs as, who gets the trace */
};

/* ------------------------------------------------------------ command line */

static void usage(FILE *f)
{
	fprintf(f,
"usage: tracer attach [options] PID\n"
"       tracer run [options] -- COMMAND [ARGS...]\n"
"\n"
"Traces a training job (a process, all its threads and every process or thread it\n"
"creates) with eBPF into a zstd-compressed trace for `analyze`.\n"
"\n"
"options:\n"
"  -o, --output FILE     trace file to create (default: trace.zst)\n"
"      --force           replace FILE if it exists, once the new trace is being\n"
"                        written (never through a symlink)\n"
"  -d, --duration SECS   stop SECS seconds after tracing began (default: until\n"
"                        Ctrl-C or exit)\n"
"      --buffer-mb N     BPF ring buffer memory in MiB, split into one ring per CPU\n"
"                        (each a power of 2, at least 1 MiB; default: 64)\n"
"  -l, --level N         zstd compression level 1-19 (default: adapts to the event\n"
"                        rate, from 8 for a quiet job down to 1 at millions/s)\n"
"      --no-sched        leave out context switches, wakeups and migrations\n"
"      --no-syscalls     leave out syscalls\n"
"      --no-block        leave out block I/O requests\n"
"      --no-pcache       leave out page-cache fills\n"
"      --cuda            probe CUDA synchronisation and launches (libcuda/libcudart)\n"
"      --uprobe LIB:SYM[:step]\n"
"                        probe a user function (its calls and their durations);\n"
"                        ':step' makes each call a training step boundary\n"
"      --steps           step markers: the job calls stalltrace_step() once per step\n"
"                        (libstalltrace_mark.so; Python: scripts/stalltrace_mark.py,\n"
"                        which looks for it in STALLTRACE_MARK_LIB, then the linker's\n"
"                        path)\n"
"      --torch-steps     each PyTorch backward() from Python is a step boundary (no\n"
"                        change to the job: a uprobe on libtorch_python.so)\n"
"  -u, --user NAME       run the command as NAME (its groups, HOME, USER, LOGNAME,\n"
"                        SHELL) and give NAME the trace; --user root keeps root\n"
"                        (default: under sudo, the user who ran it)\n"
"  -q, --quiet           no live status line (default: on a terminal, one on its\n"
"                        last row, below the job's output)\n"
"  -v, --verbose         show libbpf and start-up details\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"In run mode the tracer exits with the command's exit status; Ctrl-C goes to the\n"
"command as it would without the tracer. Traces are created with mode 0600.\n"
"Under sudo, the command runs as the user who ran sudo, who gets the trace.\n");
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static char *join_args(char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (i = 0; argv[i]; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

enum { OPT_FORCE = 256, OPT_BUFFER, OPT_NO_SCHED, OPT_NO_SYSCALLS, OPT_NO_BLOCK, OPT_NO_PCACHE,
       OPT_CUDA, OPT_UPROBE, OPT_STEPS, OPT_TORCH_STEPS };

static int parse_opt(struct tracer_opts *o, int c, const char *arg)
{
	double v;

	switch (c) {
	case 'o': o->output = arg; break;
	case OPT_FORCE: o->force = true; break;
	case 'd':
		if (parse_num(arg, 0.001, 1e7, &o->duration))
			return usage_error("--duration must be a positive number of seconds (got '%s')", arg), -1;
		break;
	case OPT_BUFFER:
		if (parse_num(arg, 1, 4096, &v))
			return usage_error("--buffer-mb must be between 1 and 4096 (got '%s')", arg), -1;
		o->buffer_mb = (unsigned)v;
		break;
	case 'l':
		if (parse_num(arg, 1, 19, &v) || v != (int)v)
			return usage_error("--level must be an integer from 1 to 19 (got '%s')", arg), -1;
		o->level = (int)v;
		break;
	case OPT_NO_SCHED: o->groups &= ~ST_GROUP_SCHED; break;
	case OPT_NO_SYSCALLS: o->groups &= ~ST_GROUP_SYSCALL; break;
	case OPT_NO_BLOCK: o->groups &= ~ST_GROUP_BLOCK; break;
	case OPT_NO_PCACHE: o->groups &= ~ST_GROUP_PCACHE; break;
	case OPT_CUDA: o->cuda = true; break;
	case OPT_STEPS:
		if (!o->steps)
			o->uprobes[o->nuprobes++] = ST_MARK_LIB ":" ST_MARK_SYM ":step";
		o->steps = true;
		break;
	case OPT_TORCH_STEPS:
		if (!o->torch_steps)
			o->uprobes[o->nuprobes++] = ST_TORCH_LIB ":" ST_TORCH_SYM ":step";
		o->torch_steps = true;
		break;
	case OPT_UPROBE: {
		const char *colon = strchr(arg, ':');

		if (!colon || colon == arg || !colon[1] || colon[1] == ':' ||
		    (strchr(colon + 1, ':') && strcmp(strchr(colon + 1, ':'), ":step")))
			return usage_error("--uprobe wants LIB:SYMBOL or LIB:SYMBOL:step (got '%s')", arg), -1;
		o->uprobes[o->nuprobes++] = (char *)arg;
		break;
	}
	case 'u': o->user = arg; break;
	case 'q': o->quiet = true; break;
	case 'v': o->verbose = true; break;
	default: return -1;
	}
	return 0;
}

/* Returns 0 to go on, 1 when done (help, version), 2 on a usage error. */
static int parse_args(int argc, char **argv, struct tracer_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, 0, 'o' }, { "force", no_argument, 0, OPT_FORCE },
		{ "duration", required_argument, 0, 'd' },
		{ "buffer-mb", required_argument, 0, OPT_BUFFER },
		{ "level", required_argument, 0, 'l' },
		{ "no-sched", no_argument, 0, OPT_NO_SCHED },
		{ "no-syscalls", no_argument, 0, OPT_NO_SYSCALLS },
		{ "no-block", no_argument, 0, OPT_NO_BLOCK },
		{ "no-pcache", no_argument, 0, OPT_NO_PCACHE },
		{ "cuda", no_argument, 0, OPT_CUDA }, { "uprobe", required_argument, 0, OPT_UPROBE },
		{ "steps", no_argument, 0, OPT_STEPS }, { "torch-steps", no_argument, 0, OPT_TORCH_STEPS },
		{ "user", required_argument, 0, 'u' },
		{ "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' },
		{ 0 }
	};
	const char *mode;
	int c;

	*o = (struct tracer_opts){ .output = "trace.zst", .buffer_mb = 64, .groups = ~0u };
	o->uprobes = calloc((size_t)argc, sizeof(char *));
	o->cmdline = join_args(argv);
	if (!o->uprobes || !o->cmdline)
		return say("out of memory"), 2;
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout), 1;
	if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")))
		return printf("tracer %s (trace format %d)\n", ST_VERSION, ST_FORMAT_VERSION), 1;
	if (argc < 2)
		return usage_error("expected 'attach PID' or 'run -- COMMAND'");
	if (argv[1][0] == '-')
		return usage_error("unknown option '%s': expected 'attach PID' or 'run -- COMMAND'",
				   argv[1]);
	if (strcmp(argv[1], "attach") && strcmp(argv[1], "run"))
		return usage_error("unknown mode '%s': expected 'attach PID' or 'run -- COMMAND'",
				   argv[1]);
	mode = argv[1];
	optind = 2;
	opterr = 0;	/* getopt's own messages do not say where to look */
	while ((c = getopt_long(argc, argv, "+:o:d:l:u:qvhV", longopts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout), 1;
		if (c == 'V')
			return printf("tracer %s (trace format %d)\n", ST_VERSION, ST_FORMAT_VERSION), 1;
		if (c == '?' && optopt)
			return usage_error("unknown option '-%c'", optopt);
		if (c == '?')
			return usage_error("unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		if (parse_opt(o, c, optarg))
			return 2;
	}
	if (!strcmp(mode, "attach")) {
		double v;

		if (optind != argc - 1 || parse_num(argv[optind], 1, 4194304, &v) || v != (int)v)
			return usage_error("attach needs one process id (got %s)",
					   optind < argc ? argv[optind] : "none");
		o->pid = (pid_t)v;
	} else {
		if (optind >= argc)
			return usage_error("run needs a command after '--'");
		o->argv = argv + optind;
	}
	return 0;
}

/* ------------------------------------------------------------ preflight */

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int preflight(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		say("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs CONFIG_DEBUG_INFO_BTF=y");
		return -1;
	}
	if (!have_cap(CAP_SYS_ADMIN) && !(have_cap(CAP_BPF) && have_cap(CAP_PERFMON))) {
		say("not permitted: loading the probes needs CAP_BPF and CAP_PERFMON "
		    "(or CAP_SYS_ADMIN): run as root");
		return -1;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ------------------------------------------------------------ BPF set-up */

/* What the BPF side records of each syscall: scripts/syscalls.tsv, or nothing. */
static void set_sc_classes(struct stalltrace_bpf *skel, bool on)
{
	for (unsigned i = 0; i < ST_NR_SYSCALLS; i++)
		skel->rodata->sc_class[i] = on ? SC_ON | st_syscall_capture(i) : 0;
}

/*
 * Every BPF program and the record type it writes: the type's entry in the format
 * library's table (st_rec_desc()) gives the event group that leaves the program out
 * and the kind its drops count under.  Programs are named through the skeleton, so a
 * renamed program does not compile here, and one missing from the table stops the
 * tracer.
 */
#define PROG(name, type) { offsetof(struct stalltrace_bpf, progs.name), type }

static const struct prog_role {
	size_t off;
	unsigned type;		/* enum st_rec_type */
} prog_roles[] = {
	PROG(on_switch, ST_REC_SWITCH), PROG(on_migrate, ST_REC_MIGRATE),
	PROG(on_waking, ST_REC_WAKEUP), PROG(on_wakeup_new, ST_REC_WAKEUP),
	PROG(on_fork, ST_REC_FORK), PROG(on_exec, ST_REC_EXEC), PROG(on_exit, ST_REC_EXIT),
	PROG(on_rename, ST_REC_COMM),
	PROG(on_sys_enter, ST_REC_SYSCALL), PROG(on_sys_exit, ST_REC_SYSCALL),
	PROG(on_io_start, ST_REC_BLOCK), PROG(on_rq_insert, ST_REC_BLOCK),
	PROG(on_rq_issue, ST_REC_BLOCK), PROG(on_rq_complete, ST_REC_BLOCK),
	PROG(on_pcache_add, ST_REC_PCACHE),
	PROG(on_probe_entry, ST_REC_PROBE), PROG(on_probe_return, ST_REC_PROBE),
};

/* The record description of what program p writes; NULL when p has no role. */
static const struct st_rec_desc *prog_role(const struct stalltrace_bpf *skel,
					   const struct bpf_program *p)
{
	for (size_t i = 0; i < sizeof(prog_roles) / sizeof(prog_roles[0]); i++)
		if (*(struct bpf_program *const *)((const char *)skel + prog_roles[i].off) == p)
			return st_rec_desc(prog_roles[i].type);
	return NULL;
}

/* Programs of left-out groups, or on tracepoints this kernel lacks, are not loaded. */
static int choose_programs(struct stalltrace_bpf *skel, __u32 groups, const struct btf *vmlinux)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj) {
		const char *sec = bpf_program__section_name(p), *tp = strchr(sec, '/');
		const struct st_rec_desc *role = prog_role(skel, p);
		char tname[128];

		if (!role) {
			say("BPF program %s has no role in prog_roles[]", bpf_program__name(p));
			return -EINVAL;
		}
		if (role->group && !(groups & role->group)) {
			bpf_program__set_autoload(p, false);
			continue;
		}
		snprintf(tname, sizeof(tname), "btf_trace_%s", tp ? tp + 1 : "");
		if (vmlinux && tp && btf__find_by_name_kind(vmlinux, tname, BTF_KIND_TYPEDEF) < 0) {
			if (verbose)
				say("kernel has no tracepoint %s: %s not loaded", tp + 1,
				    bpf_program__name(p));
			bpf_program__set_autoload(p, false);
		}
	}
	return 0;
}

/* The offset of variable `name` in the per-CPU section, or -1. */
static long long percpu_var(const struct btf *btf, const char *name, const char *member)
{
	int sec = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);
	const struct btf_type *ds = sec > 0 ? btf__type_by_id(btf, sec) : NULL;
	const struct btf_var_secinfo *v = ds ? btf_var_secinfos(ds) : NULL;

	for (int i = 0; v && i < btf_vlen(ds); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type), *t;
		const struct btf_member *m;

		if (!var || strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (!member)
			return v->offset;
		t = btf__type_by_id(btf, btf__resolve_type(btf, var->type));
		m = t && btf_is_struct(t) ? btf_members(t) : NULL;
		for (int k = 0; m && k < btf_vlen(t); k++, m++)
			if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
				return v->offset + btf_member_bit_offset(t, k) / 8;
		return -1;
	}
	return -1;
}

/*
 * Where the BPF side finds this CPU's preempt_count (interrupt context): its distance
 * from the CPU's runqueue in the per-CPU area.  It is its own variable since Linux
 * 6.15, a member of pcpu_hot from 6.2.  Returns whether it was found.
 */
static bool irq_context_setup(struct stalltrace_bpf *skel, const struct btf *vmlinux)
{
	long long rq = vmlinux ? percpu_var(vmlinux, "runqueues", NULL) : -1, pc = -1;

	if (vmlinux)
		pc = percpu_var(vmlinux, "__preempt_count", NULL);
	if (vmlinux && pc < 0)
		pc = percpu_var(vmlinux, "pcpu_hot", "preempt_count");
	skel->rodata->pc_ok = rq >= 0 && pc >= 0;
	skel->rodata->pc_rq_off = pc - rq;
	return skel->rodata->pc_ok;
}

static unsigned round_pow2(unsigned mb)
{
	unsigned p = 1;

	while (p < mb)
		p <<= 1;
	return p;
}

/* Per-CPU ring size: --buffer-mb split between the CPUs, a power of 2, at least 1 MiB. */
static __u32 ring_bytes(const struct run *r)
{
	unsigned mb = round_pow2(r->o.buffer_mb / r->nrings);

	return (mb ? mb : 1) << 20;
}

static int on_ring_event(void *ctx, void *data, size_t len);

/*
 * Creates one ring per CPU.  The first also serves as the template of rings[] (the
 * libbpf of Debian 12 cannot resize the template it would make itself).
 */
static int create_rings(struct run *r)
{
	unsigned i;

	r->rctx = calloc(r->nrings, sizeof(*r->rctx));
	r->ring_fds = calloc(r->nrings, sizeof(*r->ring_fds));
	if (!r->rctx || !r->ring_fds)
		return -ENOMEM;
	for (i = 0; i < r->nrings; i++) {
		r->ring_fds[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "st_ring", 0, 0, ring_bytes(r),
						NULL);
		r->rctx[i] = (struct ring_ctx){ r, i };
		if (r->ring_fds[i] < 0)
			return -errno;
	}
	return bpf_map__set_inner_map_fd(r->skel->maps.rings, r->ring_fds[0]);
}

/*
 * Each ring's consumer and producer positions, mapped read-only beside libbpf's own
 * mappings (the consumer page first, the producer page after it): how far behind the
 * consumer is, which libbpf 1.1 does not tell.
 */
static int map_positions(struct run *r)
{
	long pg = sysconf(_SC_PAGESIZE);

	r->pos = calloc(r->nrings, sizeof(*r->pos));
	if (!r->pos)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nrings; i++) {
		void *c = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, r->ring_fds[i], 0);
		void *p = mmap(NULL, (size_t)pg, PROT_READ, MAP_SHARED, r->ring_fds[i], pg);

		/* teardown unmaps what was mapped */
		r->pos[i] = (struct ring_pos){ c == MAP_FAILED ? NULL : c,
					       p == MAP_FAILED ? NULL : p };
		if (c == MAP_FAILED || p == MAP_FAILED)
			return -errno;
	}
	return 0;
}

/* The most bytes any ring holds that the consumer has not read yet. */
static __u64 backlog(const struct run *r)
{
	__u64 most = 0;

	for (unsigned i = 0; i < r->nrings; i++) {
		__u64 b = __atomic_load_n(r->pos[i].prod, __ATOMIC_ACQUIRE) -
			  __atomic_load_n(r->pos[i].cons, __ATOMIC_ACQUIRE);

		most = b > most ? b : most;
	}
	return most;
}

/* After load: rings[cpu] = ring cpu, and one consumer over them all. */
static int plug_rings(struct run *r)
{
	int outer = bpf_map__fd(r->skel->maps.rings), err = 0;
	unsigned i;

	for (i = 0; i < r->nrings; i++) {
		if (bpf_map_update_elem(outer, &i, &r->ring_fds[i], BPF_ANY))
			return -errno;
		if (i == 0)
			r->rb = ring_buffer__new(r->ring_fds[i], on_ring_event, &r->rctx[i], NULL);
		else
			err = ring_buffer__add(r->rb, r->ring_fds[i], on_ring_event, &r->rctx[i]);
		if (!r->rb || err)
			return -errno;
	}
	return map_positions(r);
}

/* Opens the BPF object and reads what it needs from the kernel's BTF. */
static int open_bpf(struct run *r)
{
	int err;

	r->skel = stalltrace_bpf__open();
	if (!r->skel) {
		err = -errno;
		say("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	r->vmlinux = btf__load_vmlinux_btf();
	if (!irq_context_setup(r->skel, r->vmlinux))
		say("warning: cannot find preempt_count in this kernel's BTF: wakeups from "
		    "interrupts will be credited to the task they interrupted");
	return 0;
}

static int load_bpf(struct run *r)
{
	int err;

	set_sc_classes(r->skel, r->o.groups & ST_GROUP_SYSCALL);
	err = choose_programs(r->skel, r->o.groups, r->vmlinux);
	if (err)
		return err;
	r->skel->rodata->cur_cache = bpf_program__autoload(r->skel->progs.on_switch);
	btf__free(r->vmlinux);
	r->vmlinux = NULL;
	r->nrings = (unsigned)libbpf_num_possible_cpus();
	bpf_map__set_max_entries(r->skel->maps.rings, r->nrings);
	err = create_rings(r);
	if (err) {
		say("cannot create the ring buffers: %s", strerror(-err));
		return err;
	}
	err = stalltrace_bpf__load(r->skel);
	if (err) {
		say("cannot load the BPF programs: %s%s", strerror(-err),
		    r->o.verbose ? "" : " (run with -v for the verifier's log)");
		return err;
	}
	err = plug_rings(r);
	if (err) {
		say("cannot set up the ring buffers: %s", strerror(-err));
		return err;
	}
	err = stalltrace_bpf__attach(r->skel);
	if (err) {
		say("cannot attach the BPF programs: %s", strerror(-err));
		return err;
	}
	/* per-CPU answers made while the programs attached one by one are stale */
	__atomic_fetch_add(&r->skel->data->mark_gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* ------------------------------------------------------------ output */

static const char *output_error(int err)
{
	switch (err) {
	case -EEXIST: return "it exists (use --force to replace it)";
	case -ELOOP: return "it is a symbolic link: refusing to write through it";
	case -ENOSPC: return "no space left on the device (a trace starts with 256 KiB "
			     "in reserve, so that it can always be finished)";
	default: return strerror(-err);
	}
}

static __s64 ts_ns(const struct timespec *t)
{
	return (__s64)t->tv_sec * 1000000000 + t->tv_nsec;
}

/*
 * The clock pair of the header: CLOCK_REALTIME and CLOCK_BOOTTIME as offsets from
 * CLOCK_MONOTONIC.  Each is read between two MONOTONIC reads; of several tries the
 * tightest bracket wins (a preemption or a VM exit widens one), and half its width
 * is the pair's uncertainty, written as the header key clock_error_ns.  Returns it.
 */
static __s64 clock_offsets(struct st_header *h)
{
	__s64 best = INT64_MAX, bt_best = INT64_MAX;

	for (int i = 0; i < 16; i++) {
		struct timespec m1, rt, bt, m2, m3;
		__s64 w1, w2;

		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		clock_gettime(CLOCK_BOOTTIME, &bt);
		clock_gettime(CLOCK_MONOTONIC, &m3);
		w1 = ts_ns(&m2) - ts_ns(&m1);
		w2 = ts_ns(&m3) - ts_ns(&m2);
		if (w1 < best) {
			best = w1;
			h->start_ts = (__u64)(ts_ns(&m1) + w1 / 2);
			h->realtime_offset = ts_ns(&rt) - (__s64)h->start_ts;
		}
		if (w2 < bt_best) {
			bt_best = w2;
			h->boottime_offset = ts_ns(&bt) - (ts_ns(&m2) + w2 / 2);
		}
	}
	return (best + 1) / 2;
}

/*
 * The groups the trace really holds: those with a program loaded and attached
 * (a kernel without a group's tracepoints has none).  The user probes attach
 * later, to libraries found as the job runs: asked for and loaded is what counts.
 */
static __u32 captured_groups(const struct run *r)
{
	const struct bpf_object_skeleton *sk = r->skel->skeleton;
	__u32 m = 0;

	for (int i = 0; i < sk->prog_cnt; i++) {
		const struct bpf_program *p = *sk->progs[i].prog;
		__u32 g = prog_role(r->skel, p)->group;

		if (g == ST_GROUP_PROBE ? (r->o.cuda || r->o.nuprobes) && bpf_program__fd(p) >= 0 :
					  *sk->progs[i].link != NULL)
			m |= g;
	}
	return m & r->o.groups;
}

static int write_header(struct run *r, const char *target_cmdline)
{
	struct st_header h = { .version = ST_FORMAT_VERSION, .clock_id = CLOCK_MONOTONIC };
	struct utsname u;
	const char *kv[20];
	char clock_err[24];
	int n = 0;

	memcpy(h.magic, ST_MAGIC, ST_MAGIC_LEN);
	h.ncpus = (__u32)libbpf_num_possible_cpus();
	h.target_pid = (__u32)(r->o.pid ? r->o.pid : r->child);
	h.page_size = (__u32)sysconf(_SC_PAGESIZE);
	h.event_mask = captured_groups(r);
	snprintf(clock_err, sizeof(clock_err), "%lld", (long long)clock_offsets(&h));
	uname(&u);
	kv[n++] = "tracer_version"; kv[n++] = ST_VERSION;
	kv[n++] = "hostname"; kv[n++] = u.nodename;
	kv[n++] = "kernel"; kv[n++] = u.release;
	kv[n++] = "mode"; kv[n++] = r->o.pid ? "attach" : "run";
	kv[n++] = "cmdline"; kv[n++] = target_cmdline;
	kv[n++] = "options"; kv[n++] = r->o.cmdline;
	kv[n++] = "irq_context"; kv[n++] = r->skel->rodata->pc_ok ? "preempt_count" : "none";
	kv[n++] = "clock_error_ns"; kv[n++] = clock_err;
	kv[n] = NULL;
	r->start = h.start_ts;
	return st_writer__header(r->w, &h, kv);
}

/* ------------------------------------------------------------ the loop */

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	/* run mode: a terminal's Ctrl-C reached the command too; kill(1) did not */
	if (si && si->si_code == SI_USER)
		forward_signal = sig;
	stop_signal = sig;
	signal(sig, SIG_DFL);	/* a second Ctrl-C kills the tracer; the target is unharmed */
}

/*
 * Installed before the command runs or the targets are marked: the start's reads are
 * restarted (SA_RESTART), the loop's waits (epoll, nanosleep) end at a signal anyway.
 */
static void set_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* a closed terminal or ssh session: finish the trace */
	signal(SIGPIPE, SIG_IGN);
}

/* A successful open of a library some probe wants: it may be about to be mapped. */
static void watch_open(struct run *r, const struct st_ring_hdr *h, size_t len)
{
	const struct st_syscall *sc = (const void *)(h + 1);
	const struct st_sc_fd *id = (const void *)(sc + 1);
	const char *path;

	if (h->type != ST_REC_SYSCALL || !(h->flags & ST_SC_PATH) || len < sizeof(*h) + sizeof(*sc) ||
	    sc->ret < 0 || sc->ret > INT32_MAX || !probes__wanted(r->probes))
		return;
	if (!(h->flags & ST_SC_FD) || len < sizeof(*h) + sizeof(*sc) + sizeof(*id))
		id = NULL;
	path = st_syscall_path(sc, h->size, h->flags);
	if (path && (sc->nr == SYS_openat || sc->nr == SYS_open || sc->nr == SYS_openat2))
		probes__saw_open(r->probes, (pid_t)sc->tid, (int)sc->ret, path, id);
}

/* Calls of each user probe, by id: whether --steps marked anything. */
static void count_probe(struct run *r, const struct st_ring_hdr *h, size_t len)
{
	const struct st_probe *pr = (const void *)(h + 1);

	if (h->type != ST_REC_PROBE || len < sizeof(*h) + sizeof(*pr))
		return;
	if (pr->id >= r->nprobe_calls) {
		size_t n = pr->id + 64;
		__u64 *c = pr->id < 1u << 20 ? realloc(r->probe_calls, n * sizeof(*c)) : NULL;

		if (!c)
			return;
		memset(c + r->nprobe_calls, 0, (n - r->nprobe_calls) * sizeof(*c));
		r->probe_calls = c;
		r->nprobe_calls = n;
	}
	r->probe_calls[pr->id]++;
}

/*
 * An exec: read the process's identity (rank, job) from its new environment, its
 * command line and its CPUs now, while it runs; a process that exits within the
 * ring's poll period is gone by then and gets an ENV record saying so.
 */
static void watch_exec(struct run *r, const struct st_ring_hdr *h, size_t len)
{
	const struct st_exec *e = (const void *)(h + 1);

	if (h->type == ST_REC_EXEC && len >= sizeof(*h) + sizeof(*e)) {
		target__env(r->sink, (pid_t)e->pid, h->ts, ST_ENV_EXEC);
		target__argv(r->sink, (pid_t)e->pid, h->ts);
		target__affinity(r->sink, (pid_t)e->pid, h->ts);
	}
}

static int on_ring_event(void *ctx, void *data, size_t len)
{
	struct ring_ctx *rc = ctx;

	watch_open(rc->r, data, len);
	watch_exec(rc->r, data, len);
	count_probe(rc->r, data, len);
	return sink__event(rc->r->sink, rc->idx, data, len) == -ENOMEM ? -ENOMEM : 0;
}

/*
 * Drops: failed ring reservations counted by the programs, plus the runs the
 * kernel skipped because a program was already running on that CPU (a recursion
 * or, for the preemptible syscall tracepoints, a preemption): events never seen.
 */
static __u64 drops_total(const struct run *r, struct st_drops *d)
{
	struct bpf_program *p;
	__u64 t = 0;

	memset(d, 0, sizeof(*d));
	d->nkinds = ST_KIND_MAX;
	for (int i = 0; i < ST_KIND_MAX; i++)
		d->count[i] = r->skel->bss->drops[i];
	bpf_object__for_each_program(p, r->skel->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		/* a missed entry loses the syscall's start, not its record: that is state */
		if (p == r->skel->progs.on_sys_enter)
			d->count[ST_KIND_STATE] += info.recursion_misses;
		else
			d->count[prog_role(r->skel, p)->kind] += info.recursion_misses;
	}
	for (int i = 0; i < ST_KIND_MAX; i++)
		t += d->count[i];
	return t;
}

static void status_line(struct run *r, __u64 now, bool final)
{
	struct st_drops d;
	__u64 ev = sink__events(r->sink), drops = drops_total(r, &d);
	double secs = (double)(now - r->start) / 1e9;
	double rate = (double)(ev - r->last_events) / ((double)(now - r->last_status) / 1e9);

	char text[160];

	if (final) {
		status__end();
		return;
	}
	if (drops != r->last_drops && r->last_status)
		say("warning: %llu events dropped so far (ring buffer full: try --buffer-mb)",
		    (unsigned long long)drops);
	r->last_drops = drops;
	snprintf(text, sizeof(text), "tracer: %.0f s | %.*f%s events/s | %.1f MB written | "
		 "%llu dropped", secs, rate < 1e3 ? 0 : rate < 1e6 ? 1 : 2,
		 rate < 1e3 ? rate : rate < 1e6 ? rate / 1e3 : rate / 1e6,
		 rate < 1e3 ? "" : rate < 1e6 ? "k" : "M", (double)st_writer__bytes(r->w) / 1e6,
		 (unsigned long long)drops);
	status__draw(text);
	r->last_status = now;
	r->last_events = ev;
}

/*
 * The zstd level for the next frames, from the raw bytes written over the last
 * 100 ms: a training job writes a few MB/s, where a higher level costs the tracer
 * a few % of a CPU and saves a fifth of the file; at millions of events/s
 * compression must stay far below the producers' cost.  (zstd here, MB/s: level
 * 12 ~40, 8 ~85, 5 ~200, 3 ~430, 1 ~500+.)  The level applies when a frame is
 * compressed, so even the first frame, the job's start-up and often its largest,
 * gets the level its rate calls for.
 */
static void adapt_level(struct run *r, __u64 now)
{
	__u64 raw = st_writer__raw_bytes(r->w);
	double mb_s;
	int level;

	if (r->o.level || now - r->last_adapt < 100 * 1000 * 1000)
		return;
	mb_s = (double)(raw - r->last_raw) / ((double)(now - r->last_adapt) / 1e3);
	level = mb_s < 1 ? 12 : mb_s < 4 ? 8 : mb_s < 16 ? 5 : mb_s < 120 ? 3 : 1;
	r->last_raw = raw;
	r->last_adapt = now;
	st_writer__set_level(r->w, level);
}

/*
 * Each CPU's idle time so far, from the switch program's per-CPU entries (its
 * st_cpu_idle at their head): an IDLE record for each CPU whose figure changed since
 * the last read, for all at the end.  Nothing without the switch program.
 */
static void idle_read(struct run *r, bool end)
{
	int fd = bpf_map__fd(r->skel->maps.cpu_cur), ncpu = libbpf_num_possible_cpus();
	size_t stride = (bpf_map__value_size(r->skel->maps.cpu_cur) + 7) & ~(size_t)7;
	__u32 zero = 0;
	__u64 now;

	if (!r->skel->rodata->cur_cache || ncpu <= 0)
		return;
	if (!r->idle) {
		r->idle_buf = calloc((size_t)ncpu, stride);
		r->idle = calloc((size_t)ncpu, sizeof(*r->idle));
		if (!r->idle_buf || !r->idle) {
			free(r->idle_buf);
			free(r->idle);
			r->idle_buf = r->idle = NULL;
			return;
		}
	}
	/* the time first: an idle period begun after it adds nothing */
	now = now_ns();
	r->last_idle = now;
	if (bpf_map_lookup_elem(fd, &zero, r->idle_buf))
		return;
	for (int c = 0; c < ncpu; c++) {
		struct st_cpu_idle v;
		struct st_idle rec = { .cpu = (__u32)c };

		memcpy(&v, (char *)r->idle_buf + (size_t)c * stride, sizeof(v));
		if (!v.since || v.since > now)
			continue;
		rec.since = v.since;
		rec.idle = v.ns + (v.from && v.from < now ? now - v.from : 0);
		/* never less than written before (a read between two stores), nor more
		 * than the time since counting began */
		if (r->idle[c] && rec.idle < r->idle[c] - 1)
			rec.idle = r->idle[c] - 1;
		if (rec.idle > now - v.since)
			rec.idle = now - v.since;
		if (r->idle[c] == rec.idle + 1 && !end)
			continue;
		r->idle[c] = rec.idle + 1;
		sink__record(r->sink, now, ST_REC_IDLE, 0, &rec, sizeof(rec), NULL, 0);
	}
}

/*
 * The first readings, before the job runs: each CPU counts its idle time from its
 * first switch that the program saw, and a CPU idle since before the trace makes
 * none.  So the tracer runs a moment on each CPU it may use (a migration: a switch
 * there), then reads them all.
 */
static void idle_start(struct run *r)
{
	cpu_set_t mine, one;

	if (!r->skel->rodata->cur_cache)
		return;
	if (!sched_getaffinity(0, sizeof(mine), &mine)) {
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &mine))
				continue;
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			sched_setaffinity(0, sizeof(one), &one);
		}
		sched_setaffinity(0, sizeof(mine), &mine);
	}
	idle_read(r, true);
}

static int flush_frame(struct run *r, __u64 ts)
{
	struct st_drops d;
	int err;

	drops_total(r, &d);
	err = st_writer__add(r->w, ts, ST_REC_DROPS, 0, &d, sizeof(d), NULL, 0);
	if (!err)
		err = st_writer__flush(r->w);
	return err;
}

/*
 * Attach mode stops when the traced processes are gone, as their exit records say.
 * A process that exited before it was marked (during attach, or a zombie in the
 * tree) has no exit record: ask the kernel, once a second.
 */
static void find_gone(struct run *r)
{
	__u64 now = now_ns();

	for (size_t i = 0, pid; sink__proc_iter(r->sink, &i, &pid);)
		if (target__exited((pid_t)pid))
			sink__proc_gone(r->sink, (__u32)pid, now);
}

static bool should_stop(struct run *r, __u64 now)
{
	if (stop_signal && !r->child) {
		r->stop_reason = ST_STOP_SIGNAL;
		return true;
	}
	if (r->o.duration && now - r->loop_start >= (__u64)(r->o.duration * 1e9)) {
		r->stop_reason = ST_STOP_DURATION;
		return true;
	}
	if (r->child && !r->child_done && waitpid(r->child, &r->child_status, WNOHANG) == r->child)
		r->child_done = true;
	if (r->child ? r->child_done : sink__live_procs(r->sink) == 0) {
		r->stop_reason = ST_STOP_EXITED;
		return true;
	}
	return false;
}

/*
 * How long to sleep before the next poll, from what the rings held when this one
 * began (what they filled with since the last): the full period when that was little,
 * less, or not at all, when a ring fills fast (a burst must not overrun a small
 * --buffer-mb before the next poll).
 */
static void poll_pause(const struct run *r, __u64 held)
{
	__u64 ring = ring_bytes(r);
	struct timespec t = { 0, POLL_NS };

	if (held > ring / 4)
		return;
	if (held > ring / 32)
		t.tv_nsec = POLL_NS / 8;
	nanosleep(&t, NULL);
}

/*
 * Under a flood the consumer competes for the CPUs with the very threads that fill
 * the rings, and at an equal share it falls behind: events are lost.  While a poll
 * finds a ring an eighth full (it filled that much since the last), the consumer runs
 * at the highest priority of the normal class, then drops back after a second of
 * calm; the job loses the CPU time the trace needs (it would lose it later anyway,
 * when the consumer caught up), instead of the events.
 */
static void keep_up(struct run *r, __u64 held, __u64 now)
{
	bool busy = held > ring_bytes(r) / 8;

	if (busy)
		r->last_busy = now;
	if (busy && !r->boosted) {
		r->boosted = !setpriority(PRIO_PROCESS, 0, -20);
		r->boosts += r->boosted;
	} else if (r->boosted && now - r->last_busy > FLUSH_NS) {
		setpriority(PRIO_PROCESS, 0, r->nice);
		r->boosted = false;
	}
}

static int trace_loop(struct run *r)
{
	__u64 held;
	int err = 0;

	errno = 0;
	r->nice = getpriority(PRIO_PROCESS, 0);
	/* --duration counts from here: the targets are marked, the probes settled */
	r->loop_start = r->last_flush = r->last_status = r->last_adapt = now_ns();
	cost__start(r->cost, r->loop_start);
	/* other programs' CPU time so far: they may never meet a traced thread */
	target__runtimes(r->sink, false);
	for (;;) {
		__u64 now, horizon, read_at;

		if (forward_signal && r->child && !r->child_done) {
			kill(r->child, forward_signal);
			forward_signal = 0;
		}
		held = backlog(r);
		/*
		 * The horizon counts from before the rings are read: every event made
		 * before then is read now, whatever the reading costs.  Counted from after
		 * it, a consumer preempted while it reads (a busy machine) wrote one CPU's
		 * events past those of another CPU that it had not read yet.
		 */
		read_at = now_ns();
		keep_up(r, held, read_at);
		err = ring_buffer__consume(r->rb);
		if (err < 0)
			break;
		/* the hold first: an attach that ends after it is then polled in time */
		now = now_ns();
		horizon = probes__hold(r->probes);
		if (horizon > read_at - REORDER_NS)
			horizon = read_at - REORDER_NS;
		probes__poll(r->probes);
		if ((err = sink__drain(r->sink, horizon)))
			break;
		adapt_level(r, now);
		cost__tick(r->cost, now);
		if (now - r->last_idle >= IDLE_NS)
			idle_read(r, false);
		if (now - r->last_flush >= FLUSH_NS) {
			if ((err = flush_frame(r, horizon)))
				break;
			r->last_flush = now;
			status_line(r, now, false);
			if (!r->child)
				find_gone(r);
		}
		if (should_stop(r, now))
			return 0;
		poll_pause(r, held);
	}
	r->stop_reason = ST_STOP_ERROR;
	return err;
}

/* --steps or --torch-steps, and not one step marked: say why, and how to fix it. */
static void steps_unmarked(struct run *r)
{
	__u64 marks = 0;

	for (size_t id = 0; id < r->nprobe_calls; id++)
		if (probes__is_step(r->probes, (__u32)id))
			marks += r->probe_calls[id];
	if (marks)
		return;
	if (r->o.torch_steps)
		say("--torch-steps: no step was marked: no traced process called PyTorch's "
		    "backward() from Python (%s, %s)", ST_TORCH_LIB, ST_TORCH_SYM);
	if (!r->o.steps)
		return;
	if (probes__marker_seen(r->probes))
		say("--steps: no step was marked: the job loaded %s but never called %s()",
		    ST_MARK_LIB, ST_MARK_SYM);
	else
		say("--steps: no step was marked: no traced process loaded %s.1; install it "
		    "(make install), or give the job its path: STALLTRACE_MARK_LIB=PATH for "
		    "Python (stalltrace_mark.py), -lstalltrace_mark and LD_LIBRARY_PATH for C",
		    ST_MARK_LIB);
}

static const char *out_path(const struct run *r)
{
	return r->out_path ? r->out_path : r->o.output;
}

/* The truth about a trace cut short by a full disk: what it holds, what was lost. */
static void disk_full(struct run *r, int err, __u32 frames, __u64 written, __u64 made)
{
	if (err)
		say("disk full writing '%s': tracing stopped, and the trace could not be "
		    "finished (%s): it holds the events of its first %u frames", out_path(r),
		    strerror(-err), frames);
	else if (!frames)
		say("disk full writing '%s' before its first frame: tracing stopped; the trace "
		    "holds no events, only its header and trailer (%llu events lost)", out_path(r),
		    (unsigned long long)made);
	else
		say("disk full writing '%s': tracing stopped; the trace is complete up to its "
		    "last frame on disk (%llu events; %llu later ones lost)", out_path(r),
		    (unsigned long long)written, (unsigned long long)(made - written));
}

/* Stops the probes, writes what is left and the trailer. */
static int finish(struct run *r)
{
	struct st_trailer t = { 0 };
	__u64 made, written;
	__u32 frames;
	int err = 0, err2;

	if (!r->write_err)
		idle_read(r, true);	/* while the switch program still counts */
	stalltrace_bpf__detach(r->skel);
	probes__stop(r->probes);	/* the user probes' links go too */
	if (r->rb)
		ring_buffer__consume(r->rb);
	if (!r->write_err) {
		target__runtimes(r->sink, true);
		err = sink__drain(r->sink, UINT64_MAX);
	}
	t.end_ts = now_ns();
	t.stop_reason = (__u16)r->stop_reason;
	if (!err && !r->write_err)
		err = cost__write(r->cost, r->w, t.end_ts);
	drops_total(r, &t.drops);
	made = st_writer__records(r->w);
	written = st_writer__records_written(r->w);
	frames = st_writer__frames(r->w);
	err2 = st_writer__finish(r->w, &t);
	r->w = NULL;
	status_line(r, t.end_ts, true);
	if (r->o.cuda && !probes__cuda_seen(r->probes))
		say("--cuda: no traced process loaded a CUDA library (libcuda.so, libcudart.so)");
	steps_unmarked(r);
	if (sink__late(r->sink))
		say("warning: %llu events reached the tracer after later ones were written (it "
		    "fell more than %llu ms behind): the trace holds them out of time order",
		    (unsigned long long)sink__late(r->sink), REORDER_NS / 1000000);
	if (r->write_err == -ENOSPC || err == -ENOSPC || (t.flags & ST_TRAILER_DISK_FULL))
		disk_full(r, err2, frames, written, made);
	else if (err || err2)
		say("cannot write '%s': %s", out_path(r), strerror(-(err ? err : err2)));
	return err ? err : err2;
}

static void summary(struct run *r)
{
	struct rusage ru;
	struct st_drops d;
	__u64 ev = sink__events(r->sink), bytes = 0, drops = drops_total(r, &d);
	__u64 now = now_ns();
	double secs = (double)(now - r->start) / 1e9, life = (double)(now - r->born) / 1e9, cpu;
	struct stat st;

	/* never opened: the name may be someone else's file by now */
	if (!lstat(out_path(r), &st) && S_ISREG(st.st_mode))
		bytes = (__u64)st.st_size;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	say("wrote %s: %.1f s, %llu events, %.2f MB (%.2f bytes/event), %llu dropped; "
	    "tracer CPU %.1f%%, max RSS %ld MB", out_path(r), secs, (unsigned long long)ev,
	    (double)bytes / 1e6, ev ? (double)bytes / (double)ev : 0.0,
	    (unsigned long long)drops, life > 0 ? 100.0 * cpu / life : 0.0, ru.ru_maxrss / 1024);
}

/* ------------------------------------------------------------ targets */

/*
 * Lets the probe worker finish what it was given before the job goes on (run mode:
 * before it starts), but never waits long for a file that does not answer.
 */
static void settle_probes(struct run *r)
{
	bool idle = false;

	if (!probes__wanted(r->probes))
		return;
	/* a poll gives up on a file that has not answered (and says so); then the rest */
	for (int round = 0; round < 2 && !idle; round++) {
		idle = probes__wait(r->probes, SETTLE_NS);
		probes__poll(r->probes);
	}
	if (!idle)
		say("probes: still looking for the libraries after %llu s: going on without waiting",
		    SETTLE_NS / 1000000000);
}

/* The new trace is being written: now it may replace the old one (--force). */
static void commit_output(struct run *r)
{
	int err = st_writer__commit(r->w);

	if (err)
		say("cannot replace '%s': %s; the trace goes to '%s'", r->o.output, strerror(-err),
		    st_writer__path(r->w));
	r->out_path = strdup(st_writer__path(r->w));
}

static int start_attach(struct run *r)
{
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d", r->o.pid);
	if (access(path, F_OK))
		return say("no process with pid %d", r->o.pid), -ESRCH;
	if (target__exited(r->o.pid))
		return say("process %d has exited (a zombie its parent has not reaped): nothing "
			   "to trace", r->o.pid), -ESRCH;
	n = target__attach_tree(bpf_map__fd(r->skel->maps.tasks), r->o.pid, r->sink);
	/* tasks marked while running: the BPF side's per-CPU answers for them are stale */
	__atomic_fetch_add(&r->skel->data->mark_gen, 1, __ATOMIC_SEQ_CST);
	if (n == -ESRCH || n == -ENOENT)
		return say("process %d exited during start-up", r->o.pid), -ESRCH;
	if (n < 0)
		return say("cannot trace process %d: %s", r->o.pid, strerror(-n)), n;
	for (size_t i = 0, pid; sink__proc_iter(r->sink, &i, &pid);)
		probes__scan_pid(r->probes, (pid_t)pid);
	settle_probes(r);
	commit_output(r);
	if (r->o.verbose)
		say("attached to %d process(es) in the tree of %d", n, r->o.pid);
	return 0;
}

static int start_run(struct run *r, int release_fd, int error_fd)
{
	int err = target__mark(bpf_map__fd(r->skel->maps.tasks), r->child, false), e;
	char *cmd = join_args(r->o.argv);

	if (err) {
		say("cannot trace the command: %s", strerror(-err));
		free(cmd);
		return err;
	}
	target__describe(r->sink, r->child, cmd ? cmd : r->o.argv[0]);
	free(cmd);
	/* until now the command waited for us: that is not the job's time, say so */
	sink__record(r->sink, now_ns(), ST_REC_RELEASE, 0,
		     &(struct st_release){ (__u32)r->child, (__u32)r->child }, sizeof(struct st_release),
		     NULL, 0);
	e = target__release(release_fd, error_fd);
	if (e) {
		say("cannot run '%s': %s", r->o.argv[0], strerror(e));
		waitpid(r->child, &r->child_status, 0);
		r->child_done = true;
		return -e;
	}
	commit_output(r);
	return 0;
}

static bool parse_id(const char *s, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && end != s && !*end && *v < UINT32_MAX;
}

/*
 * Who the command runs as and who gets the trace: --user NAME, else, under sudo,
 * the user who ran it (SUDO_UID, SUDO_GID, that user's groups): a job is not
 * root's because the tracer has to be, and its trace is that user's to analyze.
 * --user root keeps root.  Returns 0, 1 (an error said) or 2 (a usage error).
 */
static int choose_user(struct run *r)
{
	const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");
	unsigned long uid, gid = (gid_t)-1;
	int err;

	if (r->o.user) {
		err = target__user(&r->user, r->o.user, 0, 0);
		if (err == -ENOENT)
			return usage_error("--user: no such user '%s'", r->o.user);
	} else if (getuid() == 0 && sudo_uid && parse_id(sudo_uid, &uid) && uid) {
		if (!sudo_gid || !parse_id(sudo_gid, &gid))
			gid = (gid_t)-1;
		err = target__user(&r->user, NULL, (uid_t)uid, (gid_t)gid);
		if (err == -ENOENT)
			return say("SUDO_UID=%s is no user here: say who runs the command with "
				   "--user NAME (or --user root)", sudo_uid), 1;
	} else {
		return 0;
	}
	if (err)
		return say("out of memory"), 1;
	if (!r->user.uid && !r->user.gid)
		r->user.set = false;	/* root: nothing to change */
	else if (r->o.verbose)
		say("the command runs as %s (uid %u, gid %u), who gets the trace", r->user.name,
		    (unsigned)r->user.uid, (unsigned)r->user.gid);
	return 0;
}

static int exit_status(const struct run *r, int err)
{
	if (r->child && r->child_done) {
		if (WIFEXITED(r->child_status))
			return WEXITSTATUS(r->child_status);
		if (WIFSIGNALED(r->child_status))
			return 128 + WTERMSIG(r->child_status);
	}
	return err ? 1 : 0;
}

static int setup(struct run *r, int *release_fd, int *error_fd)
{
	struct st_writer_opts wo = { .level = r->o.level ? r->o.level : 3, .force = r->o.force };
	char *cmd = NULL;
	int err;

	r->born = now_ns();
	if ((err = open_bpf(r)))
		return err;
	if (r->o.argv) {
		bool as_user;

		r->child = target__spawn(r->o.argv, &r->user, release_fd, error_fd, &as_user);
		if (r->child < 0 && as_user)
			return say("cannot run '%s' as %s: %s", r->o.argv[0], r->user.name,
				   strerror(-r->child)), -1;
		if (r->child < 0)
			return say("cannot start '%s': %s", r->o.argv[0], strerror(-r->child)), -1;
	}
	err = st_writer__create(&r->w, r->o.output, &wo);
	if (err)
		return say("cannot create '%s': %s", r->o.output, output_error(err)), err;
	/* the trace is the user's to analyze, not root's (still 0600) */
	if (r->user.set && (err = st_writer__chown(r->w, r->user.uid, r->user.gid)))
		say("warning: cannot give '%s' to %s: %s", r->o.output, r->user.name,
		    strerror(-err));
	if ((err = sink__new(&r->sink, r->w, (unsigned)libbpf_num_possible_cpus())))
		return say("out of memory"), err;
	/* the header after the programs are in: it says what they capture */
	if ((err = load_bpf(r)))
		return err;
	cmd = r->o.argv ? join_args(r->o.argv) : NULL;
	if (!cmd && r->o.pid) {
		char path[64], buf[4096];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", r->o.pid);
		f = fopen(path, "re");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		for (size_t i = 0; i + 1 < n; i++)
			buf[i] = buf[i] ? buf[i] : ' ';
		buf[n] = '\0';
		cmd = strdup(buf);
	}
	err = write_header(r, cmd ? cmd : "");
	free(cmd);
	if (err)
		return say("cannot write '%s': %s", r->o.output, strerror(-err)), err;
	if ((err = probes__new(&r->probes, r->skel, r->sink, &r->o)) ||
	    (err = cost__new(&r->cost, r->skel->obj)))
		return say("out of memory"), err;
	probes__resolve(r->probes);
	settle_probes(r);
	return 0;
}

static void teardown(struct run *r, bool failed)
{
	/* a failed start leaves no half-made file behind, and --force the old one */
	if (failed)
		st_writer__discard(r->w);
	else
		st_writer__abandon(r->w);
	probes__free(r->probes);
	cost__free(r->cost);
	ring_buffer__free(r->rb);
	for (unsigned i = 0; r->ring_fds && i < r->nrings; i++)
		if (r->ring_fds[i] > 0)
			close(r->ring_fds[i]);
	for (unsigned i = 0; r->pos && i < r->nrings; i++) {
		if (r->pos[i].cons)
			munmap((void *)r->pos[i].cons, (size_t)sysconf(_SC_PAGESIZE));
		if (r->pos[i].prod)
			munmap((void *)r->pos[i].prod, (size_t)sysconf(_SC_PAGESIZE));
	}
	free(r->pos);
	free(r->idle);
	free(r->idle_buf);
	free(r->ring_fds);
	free(r->rctx);
	status__end();
	stalltrace_bpf__destroy(r->skel);
	btf__free(r->vmlinux);
	sink__free(r->sink);
	free(r->o.uprobes);
	free(r->o.cmdline);
	free(r->out_path);
	free(r->probe_calls);
	target__user_free(&r->user);
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	int release_fd = -1, error_fd = -1, err;

	err = parse_args(argc, argv, &r.o);
	if (err)
		return err == 1 ? 0 : 2;
	verbose = r.o.verbose;
	libbpf_set_print(libbpf_print);
	/* a command that could not start must not kill us as we write to its start pipe */
	signal(SIGPIPE, SIG_IGN);
	if ((err = choose_user(&r)) || preflight()) {
		target__user_free(&r.user);
		return err ? err : 1;
	}
	/*
	 * Before the start: a hangup as soon as the command ran (its exec seen) killed the
	 * tracer by the default action, its trace left with no trailer (t_tracer's SIGHUP
	 * in run mode, once in a clean clone's make test).  One that comes while the
	 * tracer starts is forwarded to the command, or ends an attach, at the loop's
	 * first turn, the trace finished.
	 */
	set_signals();
	err = setup(&r, &release_fd, &error_fd);
	/* before the command runs: its output then never meets the status line */
	if (!err && !r.o.quiet)
		status__start();
	if (!err) {
		idle_start(&r);
		err = r.child ? start_run(&r, release_fd, error_fd) : start_attach(&r);
	}
	if (err) {
		if (r.child > 0 && !r.child_done) {
			kill(r.child, SIGKILL);
			waitpid(r.child, NULL, 0);
		}
		teardown(&r, true);
		return 1;
	}
	err = trace_loop(&r);
	if (err == -ENOSPC)
		r.write_err = err;
	else if (err)
		say("tracing stopped: %s", strerror(-err));
	err = finish(&r) ? 1 : (err ? 1 : 0);
	summary(&r);
	/* run mode: the command goes on after a --duration stop; its status is ours */
	if (r.child && !r.child_done && waitpid(r.child, &r.child_status, 0) == r.child)
		r.child_done = true;
	teardown(&r, false);
	return exit_status(&r, err);
}
