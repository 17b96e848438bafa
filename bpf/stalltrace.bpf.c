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

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_st);
} tasks SEC(".maps");

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

static __always_inline struct task_st *traced(struct task_struct *t)
{
	return bpf_task_storage_get(&tasks, t, 0, 0);
}

/*
 * Whether the task running on this CPU is traced, kept per CPU by the switch program
 * (which must look at both tasks anyway): every process on the machine runs the
 * syscall programs, and for the untraced ones this test is all they cost.  An entry
 * is valid for its tid and for the tracer's marking generation: the tracer bumps
 * mark_gen after it marks running tasks (attach), which the switch program did not
 * see start.  cur_cache is 0 when the switch program is not loaded (--no-sched).
 */
struct cpu_cur {
	__u32 tid;
	__u32 gen;
	__u32 traced;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_cur);
} cpu_cur SEC(".maps");

const volatile __u32 cur_cache;
__u32 mark_gen = 1;

static __always_inline struct cpu_cur *cur_entry(void)
{
	__u32 zero = 0;

	return cur_cache ? bpf_map_lookup_elem(&cpu_cur, &zero) : NULL;
}

static __always_inline void cur_set(struct cpu_cur *c, __u32 tid, bool tr)
{
	c->tid = tid;
	c->gen = mark_gen;
	c->traced = tr;
}

/* The current task's state when it is traced, NULL (and cheaply) when it is not. */
static __always_inline struct task_st *cur_traced(void)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct cpu_cur *c = cur_entry();
	struct task_st *ts;

	if (c && c->tid == cur->pid && c->gen == mark_gen && !c->traced)
		return NULL;
	ts = traced(cur);
	if (c)
		cur_set(c, cur->pid, ts);
	return ts;
}

/* Reserves an event and stamps it; the time is read after the reservation so ring
 * order and time order differ only by what happens between two instructions. */
static __always_inline void *my_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

static __always_inline void *ev_reserve(__u32 len, __u8 type, __u8 flags, int kind)
{
	void *rb = my_ring();
	struct st_ring_hdr *h = rb ? bpf_ringbuf_reserve(rb, len, 0) : NULL;

	if (!h) {
		drop(kind);
		return NULL;
	}
	h->ts = bpf_ktime_get_ns();
	h->type = type;
	h->flags = flags;
	h->size = len - sizeof(*h);
	h->pad = 0;
	return h;
}

static __always_inline void ev_submit(void *ev)
{
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/* The interrupt bits of this CPU's preempt_count (0 in task context or when unknown). */
static __always_inline __u32 irq_ctx(void)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct cfs_rq *cfs = cur->se.cfs_rq;
	__u64 rq;
	__u32 pc = 0;

	if (!pc_ok || !cfs)
		return 0;
	/* the running task's cfs_rq is on this CPU's runqueue */
	if (bpf_core_field_exists(cfs->rq))
		rq = (__u64)BPF_CORE_READ(cfs, rq);
	else
		rq = (__u64)cfs - bpf_core_field_offset(struct rq, cfs);
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

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct cpu_cur *c = cur_entry();
	struct task_struct *other = NULL;
	struct task_st *pts;
	__u8 fl = 0, wait = ST_WAIT_UNKNOWN;
	struct {
		struct st_ring_hdr h;
		struct st_switch s;
		__u32 runtime[2];	/* a __u64 right after the 12-byte record: no padding */
	} *e;
	__u64 rt;

	/* prev is the task this CPU ran: the cache knows it, unless it is stale */
	if (c && c->tid == prev->pid && c->gen == mark_gen ? c->traced : !!traced(prev))
		fl |= ST_SW_PREV_TRACED;
	if (traced(next))
		fl |= ST_SW_NEXT_TRACED;
	if (c)
		cur_set(c, next->pid, fl & ST_SW_NEXT_TRACED);
	if (!fl)
		return 0;
	if (preempt)
		fl |= ST_SW_PREEMPT;
	else if ((fl & ST_SW_PREV_TRACED) && prev_state && (pts = traced(prev)))
		wait = wait_of(prev, pts);
	/* the untraced side, not the idle task: named once, and its CPU time so far */
	if (!(fl & ST_SW_NEXT_TRACED) && next->pid)
		other = next;
	else if (!(fl & ST_SW_PREV_TRACED) && prev->pid)
		other = prev;
	if (other) {
		name_task(other, ST_KIND_SCHED);
		e = ev_reserve(sizeof(*e), ST_REC_SWITCH, fl | ST_SW_RUNTIME, ST_KIND_SCHED);
		if (!e)
			return 0;
		/* prev's was brought up to date before the switch; next has not run since */
		rt = BPF_CORE_READ(other, se.sum_exec_runtime);
		e->runtime[0] = (__u32)rt;
		e->runtime[1] = (__u32)(rt >> 32);
	} else {
		e = ev_reserve(sizeof(*e) - sizeof(e->runtime), ST_REC_SWITCH, fl, ST_KIND_SCHED);
		if (!e)
			return 0;
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
	struct {
		struct st_ring_hdr h;
		struct st_fork f;
	} *e;
	__u8 fl = 0;

	if (!traced(parent))
		return 0;
	if (!bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE)) {
		drop(ST_KIND_STATE);
		return 0;
	}
	if (child->tgid == parent->tgid)
		fl |= ST_FORK_THREAD;
	e = ev_reserve(sizeof(*e), ST_REC_FORK, fl, ST_KIND_PROC);
	if (!e)
		return 0;
	e->f.parent_tid = parent->pid;
	e->f.parent_pid = parent->tgid;
	e->f.child_tid = child->pid;
	e->f.child_pid = child->tgid;
	bpf_probe_read_kernel(e->f.comm, sizeof(e->f.comm), child->comm);
	ev_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct st_ring_exec *e;
	long n;

	if (!traced(p))
		return 0;
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
	__u8 fl = 0;

	if (!traced(p))
		return 0;
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

/* The identity of `fd` in the current task: kind, device and inode.  0 when open. */
static __always_inline int fd_ident(int fd, struct st_sc_fd *o)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;
	struct file **arr, *f;
	struct inode *ino;

	__builtin_memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->kind = ST_FD_UNKNOWN;
	o->dev = 0;
	o->ino = 0;
	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return -1;
	arr = fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]) || !f)
		return -1;
	f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
	ino = f->f_inode;
	o->kind = kind_of(ino);
	o->dev = ino->i_sb->s_dev;
	o->ino = ino->i_ino;
	return 0;
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
	struct task_st *ts = cur_traced();
	__u32 cls;

	if (!ts)
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
 * Syscall records are built in a per-CPU scratch buffer in their final, compact
 * form (only the fields present, in flag order) and copied into the ring at their
 * exact size: ring bytes, not instructions, are what a syscall record costs most
 * (every cache line the producer writes the consumer's CPU must fetch).  The
 * program cannot run twice at once on one CPU (the kernel skips a recursive or
 * preempting run and counts it as a miss, which the tracer reports as a drop).
 */
#define SC_OPT_MAX	(sizeof(struct st_sc_fd) + 8 + 8 + sizeof(struct st_sc_futex) + 8 + 8 + 8)

struct sc_rec {
	struct st_ring_hdr h;
	struct st_syscall b;
	__u8 opt[SC_OPT_MAX + ST_PATH_MAX] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_rec);
} sc_scratch SEC(".maps");

/*
 * Every optional field is a whole number of u64 words, so the fields are written
 * as aligned words at a word index the verifier can bound (byte-wise copies to a
 * variable offset are slow and trip the verifier on pointer-derived values).
 */
#define SC_OPT_WORDS	(SC_OPT_MAX / 8)

static __always_inline __u32 put_words(struct sc_rec *e, __u32 w, const __u64 *src, __u32 n)
{
	__u64 *dst = (__u64 *)e->opt;

	for (__u32 i = 0; i < n; i++) {
		if (w >= SC_OPT_WORDS)
			return w;
		dst[w++] = src[i];
	}
	return w;
}

/* Appends the optional fields in flag order; returns their size, sets e->h.flags. */
static __always_inline __u32 sc_fields(struct sc_rec *e, struct pt_regs *regs, long ret,
				       __u32 cls, struct task_st *ts)
{
	__u32 tmo = (cls & SC_TMO_MASK) >> SC_TMO_SHIFT, w = 0;
	union { struct st_sc_fd fd; __u64 u[3]; } fd = {};
	union { struct st_sc_futex fx; __u64 u[2]; } fx = {};
	union { __s32 fds[2]; __u64 u; } fds;
	__u64 v;
	__u8 pr = 0;

	if (ts->ent_flags & ST_SC_FD) {
		fd.fd = ts->ent_fd;
		pr |= ST_SC_FD;
	} else if (cls & SC_FD0) {
		fd_ident((int)regs->di, &fd.fd);
		pr |= ST_SC_FD;
	} else if ((cls & SC_RETFD) && ret >= 0) {
		fd_ident((int)ret, &fd.fd);
		pr |= ST_SC_FD;
	} else if (cls & SC_POLLFD) {
		int pfd = -1;

		if (regs->si)
			bpf_probe_read_user(&pfd, sizeof(pfd), (void *)regs->di);
		fd_ident(pfd, &fd.fd);
		pr |= ST_SC_FD;
	}
	if (pr & ST_SC_FD)
		w = put_words(e, w, fd.u, 3);
	if (cls & (SC_COUNT2 | SC_POLLFD)) {
		v = (cls & SC_POLLFD) ? regs->si : regs->dx;
		w = put_words(e, w, &v, 1);
		pr |= ST_SC_COUNT;
	}
	if (cls & SC_OFF3) {
		v = regs->r10;
		w = put_words(e, w, &v, 1);
		pr |= ST_SC_OFFSET;
	}
	if (cls & SC_FUTEX) {
		fx.fx.uaddr = regs->di;
		fx.fx.op = regs->si;
		fx.fx.val = regs->dx;
		w = put_words(e, w, fx.u, 2);
		pr |= ST_SC_FUTEX;
		/* FUTEX_WAIT's timeout is relative; the others' absolute or absent */
		if ((regs->si & 0x7f) == 0)
			tmo = TMO_TS3;
	}
	if (tmo || (ts->ent_flags & ST_SC_TIMEOUT)) {
		v = exit_timeout(regs, tmo, ts);
		w = put_words(e, w, &v, 1);
		pr |= ST_SC_TIMEOUT;
	}
	if (ts->pcache) {
		v = ts->pcache;
		w = put_words(e, w, &v, 1);
		pr |= ST_SC_PCACHE;
	}
	if ((cls & (SC_FDS0 | SC_FDS3)) && ret == 0) {
		fds.u = ~0ull;
		bpf_probe_read_user(fds.fds, sizeof(fds.fds),
				    (void *)((cls & SC_FDS0) ? regs->di : regs->r10));
		w = put_words(e, w, &fds.u, 1);
		pr |= ST_SC_FDS;
	}
	e->h.flags = pr;
	return w * 8;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_st *ts = cur_traced();
	unsigned long nr = regs->orig_ax;
	__u32 cls, len, zero = 0;
	struct sc_rec *e;
	__u64 entry;
	void *rb;

	if (!ts)
		return 0;
	entry = ts->sc_ts;
	ts->sc_ts = 0;
	if (nr >= ST_NR_SYSCALLS)
		return 0;
	cls = sc_class[nr];
	if (!(cls & SC_ON))
		return 0;
	e = bpf_map_lookup_elem(&sc_scratch, &zero);
	if (!e)
		return 0;
	len = sc_fields(e, regs, ret, cls, ts);
	if ((cls & (SC_PATH0 | SC_PATH1)) && len <= SC_OPT_MAX) {
		void *up = (void *)((cls & SC_PATH0) ? regs->di : regs->si);
		long n = bpf_probe_read_user_str(e->opt + len, ST_PATH_MAX, up);

		if (n <= 0) {
			e->opt[len] = '\0';
			n = 1;
		}
		e->h.flags |= ST_SC_PATH;
		len += n;
	}
	e->b.tid = (__u32)bpf_get_current_pid_tgid();
	e->b.nr = nr;
	e->b.flags2 = entry ? 0 : ST_SC2_NO_ENTRY;
	e->b.pad = 0;
	e->b.ret = ret;
	e->h.type = ST_REC_SYSCALL;
	e->h.size = sizeof(e->b) + len;
	e->h.pad = 0;
	/* the time is read last: the record reaches the ring right after */
	e->h.ts = bpf_ktime_get_ns();
	e->b.dur = entry ? e->h.ts - entry : 0;
	len += sizeof(e->h) + sizeof(e->b);
	rb = my_ring();
	if (len > sizeof(*e) || !rb || bpf_ringbuf_output(rb, e, len, BPF_RB_NO_WAKEUP))
		drop(ST_KIND_SYSCALL);
	return 0;
}

/* ------------------------------------------------------------ block I/O */

static __always_inline void rq_track(struct request *rq, bool issue)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct rq_st *st = bpf_map_lookup_elem(&rqs, &key), n = {};

	if (st) {
		if (issue)
			st->issue = now;
		return;
	}
	/* submission runs in the submitter's context: tag the request there */
	if (!cur_traced() || irq_ctx())
		return;
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
	struct task_st *ts = cur_traced();
	struct inode *host;
	__u64 flags = 0;
	__u32 pages = 1;
	struct {
		struct st_ring_hdr h;
		struct st_pcache p;
	} *e;

	if (!ts)
		return 0;
	bpf_core_read(&flags, sizeof(flags), &folio->flags);
	if (flags & (1ull << bpf_core_enum_value(enum pageflags, PG_head)))
		pages = 1u << (folio->_flags_1 & 0x1f);	/* folio order */
	if (ts->sc_ts) {
		ts->pcache += pages;
		return 0;
	}
	e = ev_reserve(sizeof(*e), ST_REC_PCACHE, 0, ST_KIND_PCACHE);
	if (!e)
		return 0;
	host = folio->mapping->host;
	e->p.tid = (__u32)bpf_get_current_pid_tgid();
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
	struct task_st *ts = cur_traced();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 id = (__u32)cookie, d;

	if (!ts)
		return 0;
	/* a step mark or a launch is a moment: no return probe, no duration */
	if (((cookie >> 32) & 0xff) == ST_PROBE_STEP || ((cookie >> 32) & 0xff) == ST_PROBE_GPU_LAUNCH)
		return probe_emit((__u32)bpf_get_current_pid_tgid(), id, 0, 0);
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
	struct task_st *ts = cur_traced();
	__u32 d;

	if (!ts || !ts->probe_depth)
		return 0;
	d = --ts->probe_depth;
	/* deeper than the stack holds: the call was counted but not timed */
	if (d >= ST_PROBE_DEPTH)
		return 0;
	return probe_emit((__u32)bpf_get_current_pid_tgid(), ts->probe_id[d], ts->probe_ts[d],
			  d ? ST_PROBE_NESTED : 0);
}
