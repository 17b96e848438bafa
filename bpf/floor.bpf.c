// SPDX-License-Identifier: GPL-2.0
/*
 * The floor under stalltrace's cost on processes it does not trace (make bench,
 * docs/performance.md "Overhead"): what any tool that hooks both syscall tracepoints
 * makes every process on the machine pay, whatever its programs do.
 *
 * Three pairs of programs; the loader (tests/tools/floor.c) attaches one pair:
 *   empty  tp_btf/sys_enter + tp_btf/sys_exit that return at once (stalltrace's kind);
 *   cache  the same, with what stalltrace's untraced path does in each program:
 *          the per-CPU array read and the compares of cur_state();
 *   rawtp  raw_tp/sys_enter + raw_tp/sys_exit that return at once (the untyped kind).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* the fields of stalltrace's struct cpu_cur that its untraced path reads */
struct cur {
	__u64 regs;
	__u32 key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cur);
} cur SEC(".maps");

const volatile __u32 cur_cache = 1;
__u32 mark_gen = 1;

/*
 * cur_state()'s test for an untraced task: the entry is this generation's and this
 * task's (by its pt_regs), and says "not traced".  stalltrace's switch program keeps
 * the entry; here the first syscall of a task on a CPU makes it, so that every later
 * one takes the same branches as stalltrace's untraced path.
 */
static __always_inline int cache_check(struct pt_regs *regs)
{
	__u32 zero = 0, gen = mark_gen;
	struct cur *c = cur_cache ? bpf_map_lookup_elem(&cur, &zero) : NULL;

	if (c && c->key >> 1 == gen && c->regs == (__u64)regs) {
		if (!(c->key & 1))
			return 0;
	}
	if (c) {
		c->regs = (__u64)regs;
		c->key = gen << 1;
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(empty_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(empty_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(cache_enter, struct pt_regs *regs, long id)
{
	return cache_check(regs);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(cache_exit, struct pt_regs *regs, long ret)
{
	return cache_check(regs);
}

SEC("raw_tp/sys_enter")
int rawtp_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int rawtp_exit(void *ctx)
{
	return 0;
}
