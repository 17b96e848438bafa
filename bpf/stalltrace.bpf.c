// SPDX-License-Identifier: GPL-2.0
/*
 * stalltrace kernel side: scheduling, wakeups, process lifecycle, syscalls, block
 * I/O and page-cache fills of the traced threads, into one BPF ring buffer.
 *
 * Which threads are traced is held in task-local storage: a thread is traced when
 * it has an entry.  The tracer creates entries for the threads that exist at start
 * (through pidfds); sched_process_fork creates them for every child of a traced
 * thread.  A storage lookup is the first thing every program does, so untraced
 * threads pay one lookup per event and nothing else.
 *
 * Events are written with BPF_RB_NO_WAKEUP: the tracer polls the ring on a timer,
 * which costs far less than a wakeup per event.  A failed reservation is counted in
 * drops[] by kind and the tracer writes the counts into the trace.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "st_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the tracer before load. */
const volatile __u32 sc_class[ST_NR_SYSCALLS];

__u64 drops[ST_KIND_MAX];

struct task_st {
	__u64 sc_ts;		/* syscall entry time; 0 when not in a syscall we saw enter */
	__s64 ent_tmo;		/* timeout read at entry */
	struct st_sc_fd ent_fd;	/* fd identity read at entry */
	__u32 pcache;		/* pages added to the page cache in this syscall */
	__u32 ent_flags;	/* ST_SC_* taken at entry */
	/* user probes in progress on this thread, innermost last (calls nest: the CUDA
	 * runtime's synchronise calls the driver's) */
	__u64 probe_ts[ST_PROBE_DEPTH];
	__u32 probe_id[ST_PROBE_DEPTH];
	__u32 probe_depth;
	__u32 pad;
};

/*
 * A thread is traced when it has an entry here (struct st_task_ref, include/st_bpf.h:
 * the tracer writes the entries of the tasks it marks).  The entry only points to the
 * thread's state in states[]: the programs that run for the current thread reach it
 * through the per-CPU cache below without a task-storage lookup (a helper call and
 * four dependent loads, the largest part of a traced syscall's cost after the clock).
 */
#define REF_EXITED	1	/* the thread exited: its slot went back */
#define REF_NONE_LEFT	2	/* there was none left for it (a STATE drop) */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct st_task_ref);
} tasks SEC(".maps");

/*
 * Thread states by slot.  A slot comes from free_slots (given back at exit) or, while
 * there are none, from the never-used ones above next_slot.  A thread that finds none
 * is still traced, on slot 0, which stays zero (nothing writes it): its syscalls have
 * no duration (ST_SC2_NO_ENTRY), its probes no timing, and it counts one STATE drop.
 */
#define ST_SLOTS	32768

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_SLOTS);
	__type(key, __u32);
	__type(value, struct task_st);
} states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, ST_SLOTS);
	__type(value, __u32);
} free_slots SEC(".maps");

__u32 next_slot = 1;

/*
 * One ring per CPU: producers on different CPUs never share a lock or a cache line.
 * The tracer creates the rings (its --buffer-mb split between them) and fills
 * rings[cpu]; the template below only fixes their type and size.
 */
struct ring_tmpl {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* the tracer sets the number of CPUs */
	__type(key, __u32);
	__array(values, struct ring_tmpl);
} rings SEC(".maps");

/* Block requests submitted by traced threads, until they complete. */
struct rq_st {
	__u64 start;
	__u64 issue;
	__u32 tid;
	__u32 pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rq_st);
} rqs SEC(".maps");

/* Untraced tasks already named in the trace (a COMM record the first time): wakers,
 * and tasks that ran on a CPU before or after a traced thread. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} wakers SEC(".maps");

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/*
 * Interrupt context.  A wakeup or block submission made in an interrupt has no
 * waker task, whatever task `current` happens to be.  The kernel's own answer is
 * preempt_count, a per-CPU variable; its address cannot be taken as a ksym on
 * kernels without CONFIG_KALLSYMS_ALL, but it lies at a fixed distance from this
 * CPU's runqueue (both are in the per-CPU area), which `current` leads to.  The
 * tracer reads that distance from the BTF of the per-CPU section (pc_rq_off);
 * pc_ok is 0 where it could not.  No state is kept: nothing can get stuck.
 */
const volatile __s64 pc_rq_off;
const volatile __u32 pc_ok;

#define PC_IRQ_MASK	(0x100u | 0xf0000u | 0xf00000u)	/* serving softirq | hardirq | NMI */
#define PC_SOFTIRQ	0x100u

static __always_inline void drop(int kind)
{
	__sync_fetch_and_add(&drops[kind], 1);
}

/* The entry of a traced task, NULL for any other. */
static __always_inline struct st_task_ref *traced(struct task_struct *t)
{
	/* most tasks have no task storage at all: then no helper call */
	if (!t->bpf_storage)
		return NULL;
	return bpf_task_storage_get(&tasks, t, 0, 0);
}

static __always_inline struct task_st *slot_state(__u32 slot)
{
	return slot ? bpf_map_lookup_elem(&states, &slot) : NULL;
}

/* Gives a traced thread a cleared state slot, once. */
static __always_inline void slot_take(struct st_task_ref *ref)
{
	struct task_st *st;
	__u32 s = 0;

	if (ref->slot || ref->no_slot)
		return;
	if (bpf_map_pop_elem(&free_slots, &s)) {
		s = __sync_fetch_and_add(&next_slot, 1);
		if (s >= ST_SLOTS)
			s = 0;
	}
	st = slot_state(s);
	if (!st) {
		ref->no_slot = REF_NONE_LEFT;
		drop(ST_KIND_STATE);
		return;
	}
	__builtin_memset(st, 0, sizeof(*st));
	ref->slot = s;
}

/* Reserves an event and stamps it; the time is read after the reservation so ring
 * order and time order differ only by what happens between two instructions. */
static __always_inline void *my_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

/* As ev_reserve, but a full ring counts no drop: the caller tries again later. */
static __always_inline void *ev_try(__u32 len, __u8 type, __u8 flags)
{
	void *rb = my_ring();
	struct st_ring_hdr *h = rb ? bpf_ringbuf_reserve(rb, len, 0) : NULL;

	if (!h)
		return NULL;
	h->ts = bpf_ktime_get_ns();
	h->type = type;
	h->flags = flags;
	h->size = len - sizeof(*h);
	h->pad = 0;
	return h;
}

static __always_inline void *ev_reserve(__u32 len, __u8 type, __u8 flags, int kind)
{
	void *h = ev_try(len, type, flags);

	if (!h)
		drop(kind);
	return h;
}

static __always_inline void ev_submit(void *ev)
{
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/*
 * A fork record: without it readers cannot tell which process the child's threads
 * belong to (a syscall record names only the thread), and a worker process is
 * nobody's.  Where the fork's own record found its ring full, it is written late,
 * flagged, by the child's first program that finds room: the switch in, or a
 * syscall's (their cache entry says one is due), before that program's own record.
 */
struct ring_fork {
	struct st_ring_hdr h;
	struct st_fork f;
};

static __always_inline void fork_fill(struct ring_fork *e, __u32 ptid, __u32 ppid,
				      struct task_struct *child)
{
	if (child->tgid == ppid)
		e->h.flags |= ST_FORK_THREAD;
	e->f.parent_tid = ptid;
	e->f.parent_pid = ppid;
	e->f.child_tid = child->pid;
	e->f.child_pid = child->tgid;
	bpf_probe_read_kernel(e->f.comm, sizeof(e->f.comm), child->comm);
	ev_submit(e);
}

static __always_inline void fork_late(struct task_struct *child, struct st_task_ref *ref)
{
	struct ring_fork *e = ev_try(sizeof(*e), ST_REC_FORK, ST_FORK_LATE);

	if (!e)
		return;
	fork_fill(e, ref->late_ptid, ref->late_ppid, child);
	ref->late_ptid = 0;
}

/*
 * Who runs on this CPU, kept by the switch program (which must look at both tasks
 * anyway): every process on the machine runs the syscall programs, and for the
 * untraced ones two compares with this entry are all they cost, with no helper call.
 * Traced threads find their state slot and ids here too.
 *
 * An entry holds for the tracer's marking generation (key >> 1): the tracer bumps
 * mark_gen once its programs are attached and after it marks running tasks, changes
 * the switch program did not see happen.  mark_gen is read before the task-storage
 * lookup an entry is made from, so an entry made across a bump is already stale.
 *
 * And it holds for the task it was made for, which is checked: the kernel does not
 * always run the switch tracepoint (on this project's VMs a switch away from the
 * hypervisor agent's threads never shows, about 20 a second), so the task running
 * may not be the one the switch program saw last.  The syscall programs compare the
 * pt_regs they are given, which lie at a fixed distance (regs_off, learnt on the
 * first lookup) into the task's own kernel stack; the others compare thread ids.
 * Between two switches the running task changes only its ids (a thread's exec takes
 * the leader's pid: the exec program updates them).  cur_cache is 0 without the
 * switch program (--no-sched): then every program looks the task up.
 */
struct cpu_cur {
	struct st_cpu_idle idle;	/* first: the tracer reads it (idle_account) */
	__u64 stack;		/* the task's kernel stack */
	__u64 regs;		/* where its syscalls' pt_regs lie (0: not known yet) */
	__u32 key;		/* mark_gen << 1 | traced, when the entry was made */
	__u32 slot;		/* the traced task's state slot (0: none yet) */
	__u32 tid;
	__u32 pid;
	__u64 sw_stack;		/* the task the switch program last switched in here */
	__u64 sw_in_steal;	/* where that task is traced: the CPU's time stolen so far */
	__u64 sw_in_sum;	/* and its se.prev_sum_exec_runtime: set when it was picked */
	bool sw_in_ok;		/* both known */
	bool late;		/* the task's fork record is still to be written */
	__u64 sw_task;		/* the task the switch program last switched in here */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_cur);
} cpu_cur SEC(".maps");

const volatile __u32 cur_cache;
__u32 mark_gen = 1;
__u64 regs_off;

static __always_inline struct cpu_cur *cur_entry(void)
{
	__u32 zero = 0;

	return cur_cache ? bpf_map_lookup_elem(&cpu_cur, &zero) : NULL;
}

static __always_inline void cur_set(struct cpu_cur *c, __u32 gen, struct task_struct *t,
				    struct st_task_ref *ref)
{
	__u64 off = regs_off;

	c->stack = (__u64)t->stack;
	c->regs = off ? c->stack + off : 0;
	c->slot = ref ? ref->slot : 0;
	c->late = ref && ref->late_ptid;
	c->tid = t->pid;
	c->pid = t->tgid;
	c->key = gen << 1 | !!ref;
}

/* Whether the entry is the running task's: by its pt_regs when the caller has them. */
static __always_inline bool cur_is(const struct cpu_cur *c, const void *regs)
{
	if (regs)
		return c->regs == (__u64)regs;
	return c->tid == bpf_get_current_task_btf()->pid;
}

/*
 * The current task looked up; the cache entry made from it.  take: give it a slot.
 * regs: the syscall's pt_regs, which teach where they lie in a task's stack.
 */
static __always_inline struct st_task_ref *cur_lookup(struct cpu_cur *c, __u32 gen, bool take,
						   const void *regs)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct st_task_ref *ref = traced(t);

	if (regs && !regs_off)
		regs_off = (__u64)regs - (__u64)t->stack;
	if (take && ref) {
		slot_take(ref);
		if (ref->late_ptid)
			fork_late(t, ref);
	}
	if (c)
		cur_set(c, gen, t, ref);
	return ref;
}

/*
 * Whether the running task's fork record is still to be written, after cur_state()
 * tried to (known from the CPU's entry; without the switch program, not known: no).
 */
static __always_inline bool late_due(void)
{
	struct cpu_cur *c = cur_entry();

	return c && c->late;
}

/* Whether the current task is traced. */
static __always_inline bool cur_traced(void)
{
	struct cpu_cur *c = cur_entry();
	__u32 gen = mark_gen;

	if (c && c->key >> 1 == gen && cur_is(c, NULL))
		return c->key & 1;
	return cur_lookup(c, gen, false, NULL);
}

/*
 * The current task's state when it is traced, NULL when it is not; *slot is 0 for a
 * traced thread without state (its state then reads as zeros and must not be
 * written), *tid its thread id.  regs: a syscall's pt_regs, or NULL.  Programs that
 * may be preempted between reading the cache and using it (user probes) pass cache =
 * false.
 */
static __always_inline struct task_st *cur_state(bool cache, const void *regs, __u32 *tid,
						 __u32 *slot)
{
	struct cpu_cur *c = cache ? cur_entry() : NULL;
	__u32 gen = mark_gen, s;
	struct st_task_ref *ref;

	if (c && c->key >> 1 == gen && cur_is(c, regs)) {
		if (!(c->key & 1))
			return NULL;
		if (c->slot && !c->late) {
			*tid = c->tid;
			*slot = s = c->slot;
			return bpf_map_lookup_elem(&states, &s);
		}
	}
	ref = cur_lookup(c, gen, true, regs);
	if (!ref)
		return NULL;
	*tid = (__u32)bpf_get_current_pid_tgid();
	*slot = s = ref->slot;
	return bpf_map_lookup_elem(&states, &s);
}

/* The runqueue of the CPU a task runs on (or is switched to), 0 where not known. */
static __always_inline __u64 rq_of(struct task_struct *t)
{
	struct cfs_rq *cfs = t->se.cfs_rq;

	if (!cfs)
		return 0;
	/* a running task's cfs_rq is on its CPU's runqueue */
	if (bpf_core_field_exists(cfs->rq))
		return (__u64)BPF_CORE_READ(cfs, rq);
	return (__u64)cfs - bpf_core_field_offset(struct rq, cfs);
}

/* The interrupt bits of this CPU's preempt_count (0 in task context or when unknown). */
static __always_inline __u32 irq_ctx(void)
{
	__u64 rq;
	__u32 pc = 0;

	if (!pc_ok || !(rq = rq_of(bpf_get_current_task_btf())))
		return 0;
	if (bpf_probe_read_kernel(&pc, sizeof(pc), (void *)(rq + pc_rq_off)))
		return 0;
	return pc & PC_IRQ_MASK;
}

/* ------------------------------------------------------------ scheduling */

static __always_inline __u8 state_of(bool preempt, unsigned int s)
{
	if (preempt || s == 0)
		return ST_STATE_RUNNING;
	if (s & (0x10 | 0x20 | 0x80))		/* EXIT_DEAD, EXIT_ZOMBIE, TASK_DEAD */
		return ST_STATE_DEAD;
	if ((s & 0x2) && (s & 0x400))		/* TASK_IDLE = UNINTERRUPTIBLE | NOLOAD */
		return ST_STATE_IDLE;
	if (s & 0x2)
		return ST_STATE_DISK;
	if (s & 0x1)
		return ST_STATE_SLEEP;
	if (s & (0x4 | 0x8))
		return ST_STATE_STOPPED;
	return ST_STATE_OTHER;
}

/*
 * Names an untraced task once (a COMM record): a waker, or a task that took a CPU
 * from a traced thread or gave one to it.  The analyzer then knows which processes
 * competed with the job for the CPUs.
 */
static __always_inline void name_task(struct task_struct *t, int kind)
{
	struct {
		struct st_ring_hdr h;
		struct st_comm c;
	} *e;
	__u32 tid = t->pid;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&wakers, &tid))
		return;
	bpf_map_update_elem(&wakers, &tid, &one, BPF_ANY);
	e = ev_reserve(sizeof(*e), ST_REC_COMM, 0, kind);
	if (!e)
		return;
	e->c.tid = tid;
	e->c.pid = t->tgid;
	bpf_probe_read_kernel_str(e->c.comm, sizeof(e->c.comm), t->comm);
	ev_submit(e);
}

static __always_inline __u8 wait_of(struct task_struct *prev, struct task_st *ts);

/*
 * The time this CPU's clock advanced that the scheduler did not give to tasks as CPU
 * time so far, ns: what the hypervisor ran on this virtual CPU (steal, where the
 * kernel accounts it) and interrupts (where the kernel accounts them apart): the
 * runqueue's clock less its task clock, both brought up to date by the switch.  t
 * runs on this CPU.
 */
static __always_inline __u64 cpu_stolen(struct task_struct *t)
{
	struct cfs_rq *cfs = t->se.cfs_rq;
	struct rq *rq;

	if (!cfs)
		return 0;
	/* loads through the kernel's own pointers, no helper call: a traced switch pays
	 * for this twice */
	if (bpf_core_field_exists(cfs->rq)) {
		rq = cfs->rq;
		return rq ? rq->clock - rq->clock_task : 0;
	}
	rq = (struct rq *)rq_of(t);
	return BPF_CORE_READ(rq, clock) - BPF_CORE_READ(rq, clock_task);
}

/*
 * Of a traced prev's time on the CPU since the switch program switched it in, what was
 * stolen from it: said from STOLEN_MIN_NS on.  Not where it was picked again since
 * (the kernel did not show the switches between: the time they hid is no steal of
 * its), nor for an exiting task.
 */
#define STOLEN_MIN_NS	20000ull

/*
 * This CPU's idle time so far (the tracer's IDLE records): exact from the first
 * switch this program saw here, and the clock read only where the idle task is
 * prev or next.  Not every switch shows (cur_cache above), so each one is checked
 * against the task switched in last (skipped: prev is another):
 * - the idle task leaves a CPU that, as far as shown, ran a task: it came in when
 *   that task stopped, its last exec_start on the runqueue's task clock (where
 *   it has not moved to another CPU since: else not counted);
 * - a task leaves a CPU shown idle: idle ended when the task was picked, its time
 *   since then before now.
 * `from` is stored first: a reading between the two stores is short, never long.
 */
static __always_inline void idle_account(struct cpu_cur *cc, struct task_struct *prev,
					 struct task_struct *next, bool skipped)
{
	struct st_cpu_idle *c = &cc->idle;
	__u64 now, from = c->from, gap = 0, ran;
	struct task_struct *last;
	struct rq *rq;

	if (c->since && prev->pid && next->pid && !from)
		return;
	now = bpf_ktime_get_ns();
	if (!c->since) {
		c->since = now;
	} else if (!prev->pid && from) {
		/* less the interrupts it served meanwhile, as the kernel counts idle */
		ran = cpu_stolen(next);
		ran = c->stolen && ran > c->stolen ? ran - c->stolen : 0;
		gap = now - from > ran ? now - from - ran : 0;
	} else if (!prev->pid && skipped) {
		/* its entry not shown: since the task it followed stopped */
		last = (struct task_struct *)cc->sw_task;
		rq = (struct rq *)rq_of(next);
		/* still this CPU's: its exec_start is on this runqueue's clock */
		if (last && rq && BPF_CORE_READ(last, thread_info.cpu) == bpf_get_smp_processor_id()) {
			ran = BPF_CORE_READ(rq, clock_task) - BPF_CORE_READ(last, se.exec_start);
			gap = (__s64)ran > 0 ? ran : 0;
		}
	} else if (from && prev->pid) {
		/* shown idle, but prev ran: from when it was picked, unseen */
		ran = BPF_CORE_READ(prev, se.sum_exec_runtime) -
		      BPF_CORE_READ(prev, se.prev_sum_exec_runtime);
		gap = now - from > ran ? now - from - ran : 0;
	}
	/* never more than the time since this program last read the clock here */
	if (c->clock && gap > now - c->clock)
		gap = now - c->clock;
	if (!next->pid)
		c->stolen = cpu_stolen(prev);
	c->from = next->pid ? 0 : now;
	asm volatile("" ::: "memory");
	c->ns += gap;
	c->clock = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct cpu_cur *c = cur_entry();
	__u32 gen = mark_gen, pslot = 0;
	struct st_task_ref *nref, *pref;
	struct task_struct *other = NULL;
	struct task_st *pts;
	__u8 fl = 0, wait = ST_WAIT_UNKNOWN;
	bool unseen;
	__u64 stolen = 0, steal = 0;
	bool have_steal = false;
	struct {
		struct st_ring_hdr h;
		struct st_switch s;
		__u32 ext[4];	/* __u64s right after the 12-byte record: no padding */
	} *e;
	__u32 *x;
	__u64 rt;

	/* prev is the task this CPU ran: the cache knows it (and its slot), unless stale */
	if (c && c->key >> 1 == gen && c->stack == (__u64)prev->stack) {
		if (c->key & 1) {
			fl |= ST_SW_PREV_TRACED;
			pslot = c->slot;
		}
	} else if ((pref = traced(prev))) {
		fl |= ST_SW_PREV_TRACED;
		pslot = pref->slot;
	}
	nref = traced(next);
	if (nref) {
		fl |= ST_SW_NEXT_TRACED;
		if (nref->late_ptid)
			fork_late(next, nref);
	}
	/* a traced prev this program did not switch in here: the kernel skipped a switch */
	unseen = (fl & ST_SW_PREV_TRACED) && c && c->sw_stack != (__u64)prev->stack;
	if ((fl & ST_SW_PREV_TRACED) && !unseen && c && c->sw_in_ok &&
	    state_of(preempt, prev_state) != ST_STATE_DEAD) {
		/* picked again since (switches the kernel did not show): as unseen */
		unseen = prev->se.prev_sum_exec_runtime != c->sw_in_sum;
		steal = cpu_stolen(prev);
		have_steal = true;
		stolen = steal - c->sw_in_steal;
		if (unseen || stolen < STOLEN_MIN_NS || (__s64)stolen < 0)
			stolen = 0;
	}
	if (c) {
		idle_account(c, prev, next, c->sw_stack != (__u64)prev->stack);
		cur_set(c, gen, next, nref);
		c->sw_task = (__u64)next;
		c->sw_stack = (__u64)next->stack;
		c->sw_in_ok = nref;
		if (nref) {
			/* this CPU's: read once where prev's was */
			c->sw_in_steal = have_steal ? steal : cpu_stolen(next);
			c->sw_in_sum = next->se.prev_sum_exec_runtime;
		}
	}
	if (!fl)
		return 0;
	if (preempt)
		fl |= ST_SW_PREEMPT;
	else if (prev_state && (pts = slot_state(pslot)))
		wait = wait_of(prev, pts);
	/* the untraced side, not the idle task: named once, and its CPU time so far */
	if (!(fl & ST_SW_NEXT_TRACED) && next->pid)
		other = next;
	else if (!(fl & ST_SW_PREV_TRACED) && prev->pid)
		other = prev;
	if (other)
		name_task(other, ST_KIND_SCHED);
	/* the record's size, exactly: one __u64 (or two) after it where there is one */
	if (other)
		fl |= ST_SW_RUNTIME;
	if (unseen)
		fl |= ST_SW_RAN;
	else if (stolen)
		fl |= ST_SW_STOLEN;
	/* ran and stolen share the last __u64: one is set only where the other cannot be */
	if (other && (unseen || stolen))
		e = ev_reserve(sizeof(*e), ST_REC_SWITCH, fl, ST_KIND_SCHED);
	else if (other || unseen || stolen)
		e = ev_reserve(sizeof(*e) - 8, ST_REC_SWITCH, fl, ST_KIND_SCHED);
	else
		e = ev_reserve(sizeof(*e) - sizeof(e->ext), ST_REC_SWITCH, fl, ST_KIND_SCHED);
	if (!e)
		return 0;
	x = e->ext;
	if (other) {
		/* prev's was brought up to date before the switch; next has not run since */
		rt = BPF_CORE_READ(other, se.sum_exec_runtime);
		x[0] = (__u32)rt;
		x[1] = (__u32)(rt >> 32);
		x += 2;
	}
	if (unseen) {
		/* how long prev has run since it was picked: when it came in */
		rt = BPF_CORE_READ(prev, se.sum_exec_runtime) -
		     BPF_CORE_READ(prev, se.prev_sum_exec_runtime);
		x[0] = (__u32)rt;
		x[1] = (__u32)(rt >> 32);
	} else if (stolen) {
		x[0] = (__u32)stolen;
		x[1] = (__u32)(stolen >> 32);
	}
	e->s.prev_tid = prev->pid;
	e->s.next_tid = next->pid;
	e->s.cpu = bpf_get_smp_processor_id();
	e->s.prev_state = state_of(preempt, prev_state);
	e->s.prev_wait = wait;
	ev_submit(e);
	return 0;
}

static __always_inline int on_wake(struct task_struct *p, __u8 fl)
{
	struct task_struct *cur;
	struct {
		struct st_ring_hdr h;
		struct st_wakeup w;
	} *e;
	__u32 irq;

	if (!traced(p))
		return 0;
	cur = bpf_get_current_task_btf();
	/* in an interrupt, `current` is the task it interrupted: named, flagged */
	irq = irq_ctx();
	if (irq)
		fl |= irq == PC_SOFTIRQ ? ST_WK_IRQ | ST_WK_SOFTIRQ : ST_WK_IRQ;
	if (cur_traced())
		fl |= ST_WK_WAKER_TRACED;
	else if (cur->pid)
		name_task(cur, ST_KIND_WAKEUP);
	e = ev_reserve(sizeof(*e), ST_REC_WAKEUP, fl, ST_KIND_WAKEUP);
	if (!e)
		return 0;
	e->w.tid = p->pid;
	e->w.waker_tid = cur->pid;
	e->w.waker_pid = cur->tgid;
	e->w.target_cpu = BPF_CORE_READ(p, thread_info.cpu);
	e->w.waker_cpu = bpf_get_smp_processor_id();
	ev_submit(e);
	return 0;
}

/* sched_waking runs in the waker's context; sched_wakeup may run on the target CPU */
SEC("tp_btf/sched_waking")
int BPF_PROG(on_waking, struct task_struct *p)
{
	return on_wake(p, 0);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	return on_wake(p, ST_WK_NEW);
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(on_migrate, struct task_struct *p, int dest_cpu)
{
	struct {
		struct st_ring_hdr h;
		struct st_migrate m;
	} *e;

	if (!traced(p))
		return 0;
	e = ev_reserve(sizeof(*e), ST_REC_MIGRATE, 0, ST_KIND_SCHED);
	if (!e)
		return 0;
	e->m.tid = p->pid;
	e->m.orig_cpu = BPF_CORE_READ(p, thread_info.cpu);
	e->m.dest_cpu = dest_cpu;
	ev_submit(e);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ring_fork *e;
	struct st_task_ref *ref;

	if (!traced(parent))
		return 0;
	ref = bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ref) {
		drop(ST_KIND_STATE);
		return 0;
	}
	/* the child has not run yet: nothing else can give it a slot meanwhile */
	slot_take(ref);
	e = ev_reserve(sizeof(*e), ST_REC_FORK, 0, ST_KIND_PROC);
	if (!e) {
		/* the drop is counted; the record, written late, still says whose it is */
		ref->late_ptid = parent->pid;
		ref->late_ppid = parent->tgid;
		return 0;
	}
	fork_fill(e, parent->pid, parent->tgid, child);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct st_ring_exec *e;
	long n;

	struct cpu_cur *c = cur_entry();

	if (!traced(p))
		return 0;
	/* a thread that exec'd has taken over the leader's pid: the cache follows */
	if (c && c->key >> 1 == mark_gen && c->stack == (__u64)p->stack) {
		c->tid = p->pid;
		c->pid = p->tgid;
	}
	e = ev_reserve(sizeof(*e), ST_REC_EXEC, 0, ST_KIND_PROC);
	if (!e)
		return 0;
	e->e.tid = p->pid;
	e->e.pid = p->tgid;
	e->e.old_tid = old_pid;
	e->e.pad = 0;
	bpf_probe_read_kernel(e->e.comm, sizeof(e->e.comm), p->comm);
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename);
	if (n <= 0) {
		e->filename[0] = '\0';
		n = 1;
	}
	e->h.size = sizeof(e->e) + n;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	struct {
		struct st_ring_hdr h;
		struct st_exit x;
	} *e;
	struct st_task_ref *ref = traced(p);
	struct cpu_cur *c = cur_entry();
	__u8 fl = 0;

	if (!ref)
		return 0;
	/* p is the current task, on its way out: its slot goes back for the next thread */
	if (ref->slot) {
		__u32 slot = ref->slot;

		ref->slot = 0;
		if (c && c->stack == (__u64)p->stack)
			c->slot = 0;
		bpf_map_push_elem(&free_slots, &slot, 0);
	}
	ref->no_slot = REF_EXITED;
	/* the tracepoint's group_dead argument is recent; signal->live says the same */
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		fl |= ST_EXIT_GROUP_DEAD;
	e = ev_reserve(sizeof(*e), ST_REC_EXIT, fl, ST_KIND_PROC);
	if (!e)
		return 0;
	e->x.tid = p->pid;
	e->x.pid = p->tgid;
	e->x.exit_code = p->exit_code;
	e->x.pad = 0;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(on_rename, struct task_struct *t, const char *comm)
{
	struct {
		struct st_ring_hdr h;
		struct st_comm c;
	} *e;

	if (!traced(t))
		return 0;
	e = ev_reserve(sizeof(*e), ST_REC_COMM, ST_COMM_TRACED | ST_COMM_RENAME, ST_KIND_PROC);
	if (!e)
		return 0;
	e->c.tid = t->pid;
	e->c.pid = t->tgid;
	__builtin_memset(e->c.comm, 0, sizeof(e->c.comm));
	bpf_probe_read_kernel_str(e->c.comm, sizeof(e->c.comm), comm);
	ev_submit(e);
	return 0;
}

/* ------------------------------------------------------------ syscalls */

static __always_inline __u8 kind_of(struct inode *ino)
{
	__u16 mode = ino->i_mode;

	switch (mode & 0170000) {
	case 0100000: return ST_FD_REG;
	case 0010000: return ST_FD_PIPE;
	case 0140000: return ST_FD_SOCK;
	case 0020000: return ST_FD_CHR;
	case 0060000: return ST_FD_BLK;
	case 0040000: return ST_FD_DIR;
	case 0120000: return ST_FD_LNK;
	}
	return ST_FD_ANON;
}

/* The open file of `fd` in the current task (read through bpf_rdonly_cast), else NULL. */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;
	struct file **arr, *f;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	arr = fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]) || !f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* The identity of `fd` in the current task: kind, device and inode.  0 when open. */
static __always_inline int fd_ident(int fd, struct st_sc_fd *o)
{
	struct file *f;
	struct inode *ino;

	__builtin_memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->kind = ST_FD_UNKNOWN;
	o->dev = 0;
	o->ino = 0;
	f = fd_file(fd);
	if (!f)
		return -1;
	ino = f->f_inode;
	o->kind = kind_of(ino);
	o->dev = ino->i_sb->s_dev;
	o->ino = ino->i_ino;
	return 0;
}

/* The kind of file an epoll set's item watches (n: its rb-tree node, its first member). */
static __always_inline __u8 ep_item_kind(struct rb_node *n)
{
	struct epitem *it;

	if (!n)
		return ST_FD_UNKNOWN;
	it = bpf_rdonly_cast(n, bpf_core_type_id_kernel(struct epitem));
	return kind_of(it->ffd.file->f_inode);
}

/*
 * A wait in epoll_wait on epoll set `fd`: on a socket when the set watches one (an
 * event loop's connections: asyncio, an RPC client), judged by up to four of its
 * items (the leftmost, the tree's root and its children); else another wait.  An
 * asyncio loop in a DataLoader worker fetching its samples read as the worker asleep
 * or on a lock (a user's script over a loopback object store: "slept or waited on
 * locks" 0.52 of the workers' busy time, network none).
 */
static __always_inline __u8 wait_epoll(int fd)
{
	struct file *f = fd_file(fd);
	struct eventpoll *ep;
	struct rb_node *root;

	/* fs/eventpoll.c's own types: a kernel whose BTF lacks them loads this as dead code */
	if (!f || !bpf_core_type_exists(struct eventpoll) || !bpf_core_type_exists(struct epitem))
		return ST_WAIT_OTHER;
	ep = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct eventpoll));
	root = ep->rbr.rb_root.rb_node;
	if (ep_item_kind(ep->rbr.rb_leftmost) == ST_FD_SOCK || ep_item_kind(root) == ST_FD_SOCK ||
	    (root && (ep_item_kind(root->rb_left) == ST_FD_SOCK ||
		      ep_item_kind(root->rb_right) == ST_FD_SOCK)))
		return ST_WAIT_SOCK;
	return ST_WAIT_OTHER;
}

static __always_inline __u8 wait_fd(int fd)
{
	struct st_sc_fd o;

	fd_ident(fd, &o);
	switch (o.kind) {
	case ST_FD_REG: case ST_FD_BLK: case ST_FD_DIR: return ST_WAIT_FILE;
	case ST_FD_PIPE: return ST_WAIT_PIPE;
	case ST_FD_SOCK: return ST_WAIT_SOCK;
	}
	return ST_WAIT_OTHER;
}

/*
 * What prev (current, about to sleep) blocked in: its syscall, from its saved
 * registers, and the fd's kind for fd calls.  Only in a syscall the tracer saw enter.
 */
static __always_inline __u8 wait_of(struct task_struct *prev, struct task_st *ts)
{
	struct pt_regs *regs;
	unsigned long nr;
	__u32 cls, tmo;
	int pfd = -1;

	if (!ts->sc_ts)
		return ST_WAIT_UNKNOWN;
	regs = (struct pt_regs *)bpf_task_pt_regs(prev);
	if (!regs)
		return ST_WAIT_UNKNOWN;
	nr = regs->orig_ax;
	if (nr >= ST_NR_SYSCALLS)
		return ST_WAIT_OTHER;
	cls = sc_class[nr];
	tmo = (cls & SC_TMO_MASK) >> SC_TMO_SHIFT;
	if (cls & SC_FUTEX)
		return ST_WAIT_FUTEX;
	if (cls & SC_POLLFD) {
		if (regs->si)
			bpf_probe_read_user(&pfd, sizeof(pfd), (void *)regs->di);
		return wait_fd(pfd);
	}
	if ((cls & SC_FD0) && (tmo == TMO_MS3 || tmo == TMO_TS3))
		return wait_epoll((int)regs->di);	/* epoll_wait, epoll_pwait, epoll_pwait2 */
	if (cls & (SC_FD0 | SC_FD0_ENTRY))
		return wait_fd((int)regs->di);
	if (tmo == TMO_TS0 || tmo == TMO_TS2)
		return ST_WAIT_SLEEP;
	return ST_WAIT_OTHER;
}

static __always_inline __s64 read_ts(unsigned long uptr)
{
	struct { __s64 sec, nsec; } ts;

	if (!uptr)
		return -1;
	if (bpf_probe_read_user(&ts, sizeof(ts), (void *)uptr))
		return -1;
	return ts.sec * 1000000000ll + ts.nsec;
}

static __always_inline __s64 read_tv(unsigned long uptr)
{
	struct { __s64 sec, usec; } tv;

	if (!uptr)
		return -1;
	if (bpf_probe_read_user(&tv, sizeof(tv), (void *)uptr))
		return -1;
	return tv.sec * 1000000000ll + tv.usec * 1000;
}

static __always_inline __s64 ms_to_ns(long ms)
{
	return (int)ms < 0 ? -1 : (__s64)(int)ms * 1000000;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 cls, tid, slot;
	struct task_st *ts = cur_state(true, regs, &tid, &slot);

	if (!ts || !slot)
		return 0;
	ts->sc_ts = bpf_ktime_get_ns();
	ts->pcache = 0;
	ts->ent_flags = 0;
	if ((unsigned long)id >= ST_NR_SYSCALLS)
		return 0;
	cls = sc_class[id];
	/* the few arguments the syscall itself changes are read before it runs */
	if (cls & SC_FD0_ENTRY) {
		fd_ident((int)regs->di, &ts->ent_fd);
		ts->ent_flags |= ST_SC_FD;
	}
	switch ((cls & SC_TMO_MASK) >> SC_TMO_SHIFT) {
	case TMO_TV4:
		ts->ent_tmo = read_tv(regs->r8);
		ts->ent_flags |= ST_SC_TIMEOUT;
		break;
	case TMO_TS4:
		ts->ent_tmo = read_ts(regs->r8);
		ts->ent_flags |= ST_SC_TIMEOUT;
		break;
	}
	return 0;
}

static __always_inline __s64 exit_timeout(struct pt_regs *regs, __u32 tmo, struct task_st *ts)
{
	switch (tmo) {
	case TMO_MS2: return ms_to_ns(regs->dx);
	case TMO_MS3: return ms_to_ns(regs->r10);
	case TMO_TS0: return read_ts(regs->di);
	case TMO_TS2: return read_ts(regs->dx);
	case TMO_TS3: return read_ts(regs->r10);
	}
	return ts->ent_tmo;
}

/*
 * A syscall record is the fixed part and the optional fields present, in flag order
 * (include/st_format.h).  The optional fields are gathered first, as words on the
 * stack, so the record's size is known before it is reserved: a record without a
 * path is reserved in the ring at its exact size and written there directly (no
 * per-CPU copy, no copying helper); ring bytes are what a syscall record costs the
 * consumer most.  A record with a path (a string of unknown length) is built in a
 * per-CPU scratch buffer and copied into the ring at its exact size.
 */
#define SC_OPT_MAX	(sizeof(struct st_sc_fd) + 8 + 8 + sizeof(struct st_sc_futex) + 8 + 8 + 8)
#define SC_OPT_WORDS	(SC_OPT_MAX / 8)

struct sc_head {
	struct st_ring_hdr h;
	struct st_syscall b;
};

struct sc_opts {
	__u64 w[SC_OPT_WORDS];
	__u32 n;		/* words used */
	__u8 pr;		/* ST_SC_* present */
};

struct sc_rec {
	struct sc_head hd;
	__u8 opt[SC_OPT_MAX + ST_PATH_MAX] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_rec);
} sc_scratch SEC(".maps");

static __always_inline void put_words(struct sc_opts *o, const __u64 *src, __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		if (o->n >= SC_OPT_WORDS)
			return;
		o->w[o->n++] = src[i];
	}
}

/* The optional fields, before the path, in flag order. */
static __always_inline void sc_fields(struct sc_opts *o, struct pt_regs *regs, long ret,
				      __u32 cls, struct task_st *ts)
{
	__u32 tmo = (cls & SC_TMO_MASK) >> SC_TMO_SHIFT;
	union { struct st_sc_fd fd; __u64 u[3]; } fd = {};
	union { struct st_sc_futex fx; __u64 u[2]; } fx = {};
	union { __s32 fds[2]; __u64 u; } fds;
	__u64 v;

	o->n = 0;
	o->pr = 0;
	if (ts->ent_flags & ST_SC_FD) {
		fd.fd = ts->ent_fd;
		o->pr |= ST_SC_FD;
	} else if (cls & SC_FD0) {
		fd_ident((int)regs->di, &fd.fd);
		o->pr |= ST_SC_FD;
	} else if ((cls & SC_RETFD) && ret >= 0) {
		fd_ident((int)ret, &fd.fd);
		o->pr |= ST_SC_FD;
	} else if (cls & SC_POLLFD) {
		int pfd = -1;

		if (regs->si)
			bpf_probe_read_user(&pfd, sizeof(pfd), (void *)regs->di);
		fd_ident(pfd, &fd.fd);
		o->pr |= ST_SC_FD;
	}
	if (o->pr & ST_SC_FD)
		put_words(o, fd.u, 3);
	if (cls & (SC_COUNT2 | SC_POLLFD)) {
		v = (cls & SC_POLLFD) ? regs->si : regs->dx;
		put_words(o, &v, 1);
		o->pr |= ST_SC_COUNT;
	}
	if (cls & SC_OFF3) {
		v = regs->r10;
		put_words(o, &v, 1);
		o->pr |= ST_SC_OFFSET;
	}
	if (cls & SC_FUTEX) {
		fx.fx.uaddr = regs->di;
		fx.fx.op = regs->si;
		fx.fx.val = regs->dx;
		put_words(o, fx.u, 2);
		o->pr |= ST_SC_FUTEX;
		/* FUTEX_WAIT's timeout is relative; the others' absolute or absent */
		if ((regs->si & 0x7f) == 0)
			tmo = TMO_TS3;
	}
	if (tmo || (ts->ent_flags & ST_SC_TIMEOUT)) {
		v = exit_timeout(regs, tmo, ts);
		put_words(o, &v, 1);
		o->pr |= ST_SC_TIMEOUT;
	}
	if (ts->pcache) {
		v = ts->pcache;
		put_words(o, &v, 1);
		o->pr |= ST_SC_PCACHE;
	}
	if ((cls & (SC_FDS0 | SC_FDS3)) && ret == 0) {
		fds.u = ~0ull;
		bpf_probe_read_user(fds.fds, sizeof(fds.fds),
				    (void *)((cls & SC_FDS0) ? regs->di : regs->r10));
		put_words(o, &fds.u, 1);
		o->pr |= ST_SC_FDS;
	}
}

static __always_inline void sc_head(struct sc_head *e, __u32 tid, unsigned long nr, long ret,
				    __u64 entry, __u8 pr, __u32 opt_len)
{
	e->b.tid = tid;
	e->b.nr = nr;
	e->b.flags2 = entry ? 0 : ST_SC2_NO_ENTRY;
	e->b.pad = 0;
	e->b.ret = ret;
	e->h.type = ST_REC_SYSCALL;
	e->h.flags = pr;
	e->h.size = sizeof(e->b) + opt_len;
	e->h.pad = 0;
	/* the time is read last: the record reaches the ring right after */
	e->h.ts = bpf_ktime_get_ns();
	e->b.dur = entry ? e->h.ts - entry : 0;
}

static __always_inline void copy_words(__u64 *dst, const __u64 *src, __u32 n)
{
	for (__u32 i = 0; i < n && i < SC_OPT_WORDS; i++)
		dst[i] = src[i];
}

/*
 * A ring slot for a record with n optional words, which it receives.  The verifier
 * wants a constant size for each reservation: one call (and copy) per size.
 */
static __always_inline struct sc_head *sc_reserve(void *rb, const struct sc_opts *o)
{
	struct sc_head *e = NULL;

	switch (o->n) {
#define SC_RES(k)								\
	case k:									\
		e = bpf_ringbuf_reserve(rb, sizeof(*e) + 8 * k, 0);		\
		if (e)								\
			copy_words((__u64 *)(e + 1), o->w, k);			\
		break;
	SC_RES(0) SC_RES(1) SC_RES(2) SC_RES(3) SC_RES(4) SC_RES(5)
	SC_RES(6) SC_RES(7) SC_RES(8) SC_RES(9) SC_RES(10)
#undef SC_RES
	}
	return e;
}

_Static_assert(SC_OPT_WORDS == 10, "sc_reserve covers every word count");

/* A record without a path: reserved at its size, written in place. */
static __always_inline void sc_emit(void *rb, struct sc_opts *o, __u32 tid, unsigned long nr,
				    long ret, __u64 entry)
{
	struct sc_head *e = rb ? sc_reserve(rb, o) : NULL;

	if (!e) {
		drop(ST_KIND_SYSCALL);
		return;
	}
	sc_head(e, tid, nr, ret, entry, o->pr, o->n * 8);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * A record with a path, built in the per-CPU scratch: the program cannot run twice
 * at once on one CPU (the kernel skips a recursive or preempting run and counts it as
 * a miss, which the tracer reports as a drop).
 */
static __always_inline void sc_emit_path(void *rb, struct sc_opts *o, void *up, __u32 tid,
					 unsigned long nr, long ret, __u64 entry)
{
	__u32 zero = 0, len;
	struct sc_rec *e = bpf_map_lookup_elem(&sc_scratch, &zero);
	__u64 *dst;
	long n;

	if (!e)
		return;
	dst = (__u64 *)e->opt;
	for (__u32 i = 0; i < SC_OPT_WORDS; i++) {
		if (i >= o->n)
			break;
		dst[i] = o->w[i];
	}
	len = o->n * 8;
	if (len > SC_OPT_MAX)
		return;
	n = bpf_probe_read_user_str(e->opt + len, ST_PATH_MAX, up);
	if (n <= 0) {
		e->opt[len] = '\0';
		n = 1;
	}
	len += n;
	sc_head(&e->hd, tid, nr, ret, entry, o->pr | ST_SC_PATH, len);
	len += sizeof(e->hd);
	if (len > sizeof(*e) || !rb || bpf_ringbuf_output(rb, e, len, BPF_RB_NO_WAKEUP))
		drop(ST_KIND_SYSCALL);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid, cls, slot;
	struct task_st *ts = cur_state(true, regs, &tid, &slot);
	unsigned long nr;
	struct sc_opts o;
	__u64 entry;

	if (!ts)
		return 0;
	entry = ts->sc_ts;
	if (slot)
		ts->sc_ts = 0;
	nr = regs->orig_ax;
	if (nr >= ST_NR_SYSCALLS)
		return 0;
	cls = sc_class[nr];
	if (!(cls & SC_ON))
		return 0;
	/*
	 * Its fork record, due late, found the ring still full (cur_state tried it first)
	 * and this record may find room freed since: written, it would name no process (1
	 * getppid of 1.8 million in t_capture's tasks born into full rings, a clean clone's
	 * CI).  Counted as dropped instead, until the fork record is in.
	 */
	if (late_due()) {
		drop(ST_KIND_SYSCALL);
		return 0;
	}
	sc_fields(&o, regs, ret, cls, ts);
	if (cls & (SC_PATH0 | SC_PATH1))
		sc_emit_path(my_ring(), &o, (void *)((cls & SC_PATH0) ? regs->di : regs->si), tid,
			     nr, ret, entry);
	else
		sc_emit(my_ring(), &o, tid, nr, ret, entry);
	return 0;
}

/* ------------------------------------------------------------ block I/O */

static __always_inline void rq_track(struct request *rq, bool issue)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 key = (__u64)rq, now;
	struct rq_st *st = bpf_map_lookup_elem(&rqs, &key), n = {};

	if (st) {
		if (issue)
			st->issue = bpf_ktime_get_ns();
		return;
	}
	/* submission runs in the submitter's context: tag the request there */
	if (!cur_traced() || irq_ctx())
		return;
	now = bpf_ktime_get_ns();
	n.start = now;
	n.issue = issue ? now : 0;
	n.tid = cur->pid;
	n.pid = cur->tgid;
	if (bpf_map_update_elem(&rqs, &key, &n, BPF_ANY))
		drop(ST_KIND_STATE);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(on_io_start, struct request *rq)
{
	rq_track(rq, false);
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(on_rq_insert, struct request *rq)
{
	rq_track(rq, false);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(on_rq_issue, struct request *rq)
{
	rq_track(rq, true);
	return 0;
}

static __always_inline __u8 blk_op(__u32 opf, __u8 *fl)
{
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		*fl |= ST_BLK_SYNC;
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		*fl |= ST_BLK_META;
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		*fl |= ST_BLK_FUA;
	switch (opf & 0xff) {
	case 0: return ST_BLK_READ;
	case 1: return ST_BLK_WRITE;
	case 2: return ST_BLK_FLUSH;
	case 3: return ST_BLK_DISCARD;
	}
	return ST_BLK_OTHER;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(on_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq;
	struct rq_st *st = bpf_map_lookup_elem(&rqs, &key);
	struct gendisk *disk;
	struct {
		struct st_ring_hdr h;
		struct st_block b;
	} *e;
	__u8 fl = 0, op;

	if (!st)
		return 0;
	op = blk_op(rq->cmd_flags, &fl);
	e = ev_reserve(sizeof(*e), ST_REC_BLOCK, fl, ST_KIND_BLOCK);
	if (e) {
		disk = rq->q->disk;
		e->b.tid = st->tid;
		e->b.pid = st->pid;
		e->b.dev = disk ? ((__u32)disk->major << 20) | (__u32)disk->first_minor : 0;
		e->b.bytes = nr_bytes;
		e->b.sector = rq->__sector;
		e->b.service = st->issue ? e->h.ts - st->issue : 0;
		e->b.queued = st->issue ? st->issue - st->start : 0;
		e->b.op = op;
		e->b.pad = 0;
		e->b.error = error;
		e->b.pad2 = 0;
		ev_submit(e);
	}
	bpf_map_delete_elem(&rqs, &key);
	return 0;
}

/* ------------------------------------------------------------ page cache */

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(on_pcache_add, struct folio *folio)
{
	__u32 tid, slot, pages = 1;
	struct task_st *ts = cur_state(true, NULL, &tid, &slot);
	struct inode *host;
	__u64 flags = 0;
	struct {
		struct st_ring_hdr h;
		struct st_pcache p;
	} *e;

	if (!ts)
		return 0;
	bpf_core_read(&flags, sizeof(flags), &folio->flags);
	if (flags & (1ull << bpf_core_enum_value(enum pageflags, PG_head)))
		pages = 1u << (folio->_flags_1 & 0x1f);	/* folio order */
	if (ts->sc_ts && slot) {
		ts->pcache += pages;
		return 0;
	}
	e = ev_reserve(sizeof(*e), ST_REC_PCACHE, 0, ST_KIND_PCACHE);
	if (!e)
		return 0;
	host = folio->mapping->host;
	e->p.tid = tid;
	e->p.dev = host->i_sb->s_dev;
	e->p.ino = host->i_ino;
	e->p.index = folio->index;
	e->p.pages = pages;
	e->p.pad = 0;
	ev_submit(e);
	return 0;
}

/* ------------------------------------------------------------ user probes */

/*
 * One program pair serves every probed function: the attach cookie is the probe
 * id (low 32 bits) and its role (bits 32-39).  Probes are attached for all
 * processes mapping the library; the task-storage lookup keeps only traced threads.
 */
static __always_inline int probe_emit(__u32 tid, __u32 id, __u64 dur, __u8 flags)
{
	struct {
		struct st_ring_hdr h;
		struct st_probe p;
	} *e = ev_reserve(sizeof(*e), ST_REC_PROBE, flags, ST_KIND_PROBE);

	if (!e)
		return 0;
	e->p.tid = tid;
	e->p.id = id;
	e->p.dur = dur;
	if (dur)
		e->p.dur = e->h.ts - dur;	/* dur carried the entry time */
	ev_submit(e);
	return 0;
}

SEC("uprobe")
int on_probe_entry(struct pt_regs *ctx)
{
	__u32 tid, slot;
	struct task_st *ts = cur_state(false, NULL, &tid, &slot);
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 id = (__u32)cookie, d;

	if (!ts)
		return 0;
	/* a step mark or a launch is a moment: no return probe, no duration */
	if (((cookie >> 32) & 0xff) == ST_PROBE_STEP || ((cookie >> 32) & 0xff) == ST_PROBE_GPU_LAUNCH)
		return probe_emit(tid, id, 0, 0);
	if (!slot)
		return 0;
	d = ts->probe_depth;
	if (d < ST_PROBE_DEPTH) {
		ts->probe_ts[d] = bpf_ktime_get_ns();
		ts->probe_id[d] = id;
	}
	ts->probe_depth = d + 1;
	return 0;
}

SEC("uretprobe")
int on_probe_return(struct pt_regs *ctx)
{
	__u32 tid, slot, d;
	struct task_st *ts = cur_state(false, NULL, &tid, &slot);

	if (!ts || !slot || !ts->probe_depth)
		return 0;
	d = --ts->probe_depth;
	/* deeper than the stack holds: the call was counted but not timed */
	if (d >= ST_PROBE_DEPTH)
		return 0;
	return probe_emit(tid, ts->probe_id[d], ts->probe_ts[d], d ? ST_PROBE_NESTED : 0);
}
