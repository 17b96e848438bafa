// SPDX-License-Identifier: MIT
/*
 * The streaming pass: thread and process tables, and the scheduler state machine
 * that turns switch and wakeup records into on-CPU and off-CPU segments.  Syscall,
 * probe and I/O records are handed to an_attr.c and an_loader.c.
 */
#include <stdlib.h>
#include <string.h>

#include "an_core.h"

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a << 6) + (a >> 2));

	h ^= h >> 29;
	return h ? h : 1;	/* 0 is the empty key of hmap */
}

/* an__find_thread() past its cache */
struct thr *an__find_thread_slow(struct an *a, uint32_t tid)
{
	struct thr **c = &a->thr_cache[tid & (AN_THR_CACHE - 1)];
	uint64_t *v;

	v = hmap_find(&a->threads, tid);
	if (!v)
		return NULL;
	*c = (struct thr *)(uintptr_t)*v;
	return *c;
}

struct proc *an__find_proc(struct an *a, uint32_t pid)
{
	uint64_t *v = hmap_find(&a->procs, pid);

	return v ? (struct proc *)(uintptr_t)*v : NULL;
}

/* Adds p's derived state to the descendant counts of its new ancestors. */
static void link_parent(struct an *a, struct proc *p, struct proc *parent)
{
	if (p->parent || !parent || parent == p || an__is_descendant(parent, p))
		return;
	int depth = 0;

	p->parent = parent;
	if (!(p->flags & PF_EXITED)) {
		parent->live_children++;
		if (an__mp_server(parent) && parent->parent)
			parent->parent->live_children++;
	}
	if (p->dstate != WS_NONE)
		for (struct proc *c = p, *q = parent; q && depth < AN_MAX_DEPTH;
		     c = q, q = q->parent, depth++) {
			wk__flush_sub(q, a->now);
			q->sub_n[p->dstate]++;
			if (an__launched(c) || (c == p && an__mp_server(p)))
				q->xsub_n[p->dstate]++;
		}
	an__relaunch(a, p);
}

struct proc *an__proc(struct an *a, uint32_t pid)
{
	struct proc *p = an__find_proc(a, pid);
	uint64_t *slot;

	if (p || !pid)
		return p;
	p = calloc(1, sizeof(*p));
	slot = hmap_slot(&a->procs, pid);
	if (!p || !slot) {
		free(p);
		return NULL;
	}
	*slot = (uintptr_t)p;
	p->pid = pid;
	p->dstate = WS_NONE;
	p->first_ts = p->last_ts = a->now;
	p->sub_since = a->now;
	return p;
}

/* an__thread() for a thread not seen yet, or whose process is not known yet */
struct thr *an__thread_slow(struct an *a, uint32_t tid, uint32_t pid)
{
	struct thr *t = an__find_thread(a, tid);
	uint64_t *slot;

	if (t) {
		if (!t->proc && pid && (t->proc = an__proc(a, pid))) {
			t->pid = pid;
			if (tid == pid) {
				t->flags |= TF_LEADER;
				attr__become_logger(a, t);
			}
		}
		return t;
	}
	if (!tid)
		return NULL;
	t = calloc(1, sizeof(*t));
	slot = hmap_slot(&a->threads, tid);
	if (!t || !slot) {
		free(t);
		return NULL;
	}
	*slot = (uintptr_t)t;
	t->tid = tid;
	t->pid = pid;
	t->proc = pid ? an__proc(a, pid) : NULL;
	t->wstate = WS_NONE;
	/* a thread that existed before tracing: its past is unknown from the trace start */
	t->since = t->first_ts = t->fin_until = a->start_ts;
	t->last_ts = a->now;
	attr__snap(a, t, a->start_ts, SNAP_START);
	if (tid == pid) {
		t->flags |= TF_LEADER;
		attr__become_logger(a, t);
	}
	return t;
}

/* CPython: its name or the program it runs says python (python3, python3.11, ...). */
/* qsort's comparison of two uint64_t, ascending */
int an__cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

bool an__is_python(const struct proc *p)
{
	const char *c = p ? p->cmdline : NULL, *base = c;

	if (!p)
		return false;
	/*
	 * memcmp(), not strncmp(): comm is an array of ST_COMM_LEN, and "python" has no NUL
	 * in its 6 bytes, so the answers are the same, inlined (asked per segment, it was a
	 * call to libc each time).
	 */
	_Static_assert(sizeof(p->comm) >= 6, "comm");
	if (!memcmp(p->comm, "python", 6))
		return true;
	for (; c && *c && *c != ' '; c++)
		if (*c == '/')
			base = c + 1;
	return base && !strncmp(base, "python", 6);
}

bool an__is_descendant(const struct proc *p, const struct proc *anc)
{
	int depth = 0;

	for (p = p ? p->parent : NULL; p && depth < AN_MAX_DEPTH; p = p->parent, depth++)
		if (p == anc)
			return true;
	return false;
}

/*
 * A worker process started by multiprocessing's spawn or forkserver: python3 -c 'from
 * multiprocessing.spawn import spawn_main; ...' --multiprocessing-fork, or the
 * forkserver its workers fork from.  Not its resource tracker (python3 -c 'from
 * multiprocessing.resource_tracker import main; ...'), a helper the job's
 * semaphores and shared memory are registered with: the writes to it are no indices.
 */
static bool mp_child(const char *cmdline)
{
	return strstr(cmdline, "multiprocessing.spawn") || strstr(cmdline, "multiprocessing.forkserver") ||
	       strstr(cmdline, "--multiprocessing-fork");
}

/*
 * p runs a program its parent launched, not its parent's code: a bash script's
 * command, torchrun's or mpirun's ranks, a Slurm step's tasks, a server or a helper
 * script the job started.  Their output and their exit wake the parent, which is not a
 * batch, and they are no data-loader workers.  multiprocessing's spawn and forkserver
 * workers exec their trainer's interpreter too: their command line says so
 * (mp_child).  A process that exec'd in the trace: by its command line then
 * (ST_PROC_EXEC), or without one (a trace from before, a process gone at once), a
 * Python process started by a Python one is taken for such a worker.  A process found
 * at attach: its command line is not its parent's (a fork keeps it).
 */
static bool launched_of(const struct proc *p)
{
	if ((p->flags & (PF_SERVES | PF_TASKS | PF_MP_SAYS)) == PF_SERVES)
		return true;
	if (p->flags & PF_EXECED)
		return p->argv ? !mp_child(p->argv) :
		       !(an__is_python(p) && p->parent && an__is_python(p->parent));
	return !(p->flags & PF_FORKED) && p->cmdline && p->parent && p->parent->cmdline &&
	       strcmp(p->cmdline, p->parent->cmdline) && !mp_child(p->cmdline);
}

bool an__launched(const struct proc *p)
{
	return p->flags & PF_LAUNCHED;
}

/*
 * multiprocessing's forkserver (python3 -c 'from multiprocessing.forkserver import
 * main; ...'; DataLoader(multiprocessing_context="forkserver"), and Python 3.14's
 * default on Linux): the workers fork from it, so they are its trainer's, but it
 * is no worker itself.  It sleeps until asked for a worker and writes each new
 * worker's pid back: read as a worker asleep 35% of the time and as batches, the
 * verdict was a fetch stall for a prep-bound job, and 62-64 steps for 59.  Its
 * workers' command line is its own (a fork keeps it: at attach, that is all there is).
 */
bool an__mp_server(const struct proc *p)
{
	return (p->flags & PF_MP_SAYS) && !(p->parent && (p->parent->flags & PF_MP_SAYS));
}

static bool mp_says(const struct proc *p)
{
	const char *c = p->argv ? p->argv : p->cmdline;

	return c && strstr(c, "multiprocessing.forkserver");
}

/*
 * The process a worker's pool belongs to: its parent, or its parent's parent where the
 * parent is a forkserver (its forks and exits are that process's pool's, its loops'
 * tails end at them).
 */
struct proc *an__pool_owner(const struct proc *p)
{
	struct proc *q = p ? p->parent : NULL;

	return q && an__mp_server(q) && q->parent ? q->parent : q;
}

/*
 * p, whose command line now says forkserver or no longer, and its children (attach:
 * a forkserver's record may come after its workers'): their states, and the live
 * children its parent counts (its workers).
 */
static void mp_resay(struct an *a, struct proc *p)
{
	bool was = an__mp_server(p);
	uint32_t live = 0;
	struct proc *q;

	FOR_PROCS(a, q)
		if (q->parent == p && an__mp_server(q))
			wk__server_move(a, q, false);
	p->flags ^= PF_MP_SAYS;
	if (an__mp_server(p) != was)
		wk__server_move(a, p, !was);
	FOR_PROCS(a, q) {
		if (q->parent != p)
			continue;
		if (an__mp_server(q))
			wk__server_move(a, q, true);
		live += !(q->flags & PF_EXITED);
	}
	if (an__mp_server(p) != was && p->parent) {
		if (!was)
			p->parent->live_children += live;
		else
			p->parent->live_children -= live < p->parent->live_children ?
						    live : p->parent->live_children;
	}
}

/*
 * Decides again whether p was launched, from what the trace said of it since (its
 * parent, an exec, a command line).  A launched program's states, and its
 * descendants', are not its parent's loader's (wk__launch_move).
 */
void an__relaunch(struct an *a, struct proc *p)
{
	bool now = launched_of(p);

	if (mp_says(p) != !!(p->flags & PF_MP_SAYS))
		mp_resay(a, p);
	if (now == an__launched(p))
		return;
	wk__launch_move(a, p, now);
	p->flags ^= PF_LAUNCHED;
}

/*
 * A process the job started with multiprocessing that serves connections (a metrics or
 * tracking server, a feature server) runs its parent's interpreter like a DataLoader
 * worker, but no loader's work: a user's script that logged each step over HTTP to
 * such a server read "2 pools (re-created 1 time)", the server as a worker on the
 * network all the time, and a prep-bound loader as dataloader_fetch.  A worker reads
 * its tasks (an index queue: two reads of a pipe, its first message's header and
 * body) before anything connects to it; the server read its spawn arguments once.
 * So a process whose first thread accepts a connection before the process read tasks
 * is a program the job launched (an__launched), until it reads tasks.  A worker's
 * resource sharer, a thread of its own, accepts each batch's fd fetches: attached
 * when a worker's last task came before the trace, that accept comes first, and the
 * worker would be a server (and its batches no steps: served_take) to the end.
 * (multiprocessing's forkserver accepts its requests: an__mp_server.)  accepted: p's
 * first thread accepted a connection; else p read a pipe.
 */
void an__served(struct an *a, struct proc *p, bool accepted)
{
	if (accepted) {
		if (p->flags & (PF_SERVES | PF_TASKS))
			return;
		p->flags |= PF_SERVES;
	} else {
		if ((p->flags & PF_TASKS) || ++p->task_reads < 2)
			return;
		p->flags |= PF_TASKS;
		if (!(p->flags & PF_SERVES))
			return;
	}
	an__relaunch(a, p);
}

/* q works for its ancestor p: no launched program on the way up (a fork runs p's code). */
bool an__is_worker(const struct proc *q, const struct proc *p)
{
	int depth = 0;

	if (!q || !p || q == p || an__mp_server(q))
		return false;
	for (; q && q != p && depth < AN_MAX_DEPTH; q = q->parent, depth++)
		if (an__launched(q))
			return false;
	return q == p;
}

/* A wakeup of t by a descendant is a worker's (a batch may have come), not a launched program's. */
bool an__worker_woke(struct an *a, const struct thr *t, uint32_t waker_tid, uint32_t waker_pid)
{
	const struct thr *w = waker_tid ? an__find_thread(a, waker_tid) : NULL;
	const struct proc *wp = waker_pid ? an__find_proc(a, waker_pid) : NULL;

	if (!wp && w)
		wp = w->proc;
	return an__is_worker(wp, t->proc);
}

/* ------------------------------------------------------------------ files */

struct file *an__file(struct an *a, uint32_t dev, uint64_t ino, bool create)
{
	/* a file read again and again: a direct-mapped cache before the hash map (files
	 * are never removed, nor do they move in files[]: an entry cannot go stale) */
	uint64_t key = mix(dev, ino), *v;
	struct file_slot *c = &a->file_cache[key & (AN_FILE_CACHE - 1)];

	if (c->idx && c->key == key)
		return &a->files[c->idx - 1];
	if ((v = hmap_find(&a->file_idx, key))) {
		c->key = key;
		c->idx = (uint32_t)*v;
		return &a->files[*v - 1];
	}
	if (!create || a->nfiles == AN_FILES_MAX)
		return NULL;
	if (a->nfiles == a->capfiles) {
		uint32_t cap = a->capfiles ? 2 * a->capfiles : 256;
		struct file *f = realloc(a->files, sizeof(*f) * cap);

		if (!f)
			return NULL;
		a->files = f;
		a->capfiles = cap;
	}
	v = hmap_slot(&a->file_idx, key);
	if (!v)
		return NULL;
	memset(&a->files[a->nfiles], 0, sizeof(struct file));
	a->files[a->nfiles].dev = dev;
	a->files[a->nfiles].ino = ino;
	a->files[a->nfiles].path = UINT32_MAX;
	*v = ++a->nfiles;
	return &a->files[a->nfiles - 1];
}

static bool is_gpu_path(const char *p)
{
	static const char *const pre[] = {
		"/dev/nvidia", "/dev/dri/", "/dev/kfd", "/dev/accel/", "/dev/neuron",
		"/dev/davinci",
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (!strncmp(p, pre[i], strlen(pre[i])))
			return true;
	return false;
}

/*
 * A file an import reads or maps: Python's sources and bytecode (.py, .pyc, the .pth
 * files site reads), a shared object (.so, .so.N).  By its name's end only.
 */
static bool is_code_path(const char *p)
{
	static const char *const ext[] = { ".py", ".pyc", ".pth", ".so" };
	const char *b = strrchr(p, '/');
	size_t n;

	b = b ? b + 1 : p;
	n = strlen(b);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t m = strlen(ext[i]);

		if (n > m && !memcmp(b + n - m, ext[i], m))
			return true;
	}
	return strstr(b, ".so.") != NULL;
}

/*
 * The path of a file that process pr (if known) opened or held; a GPU device marks it,
 * and so does code.
 */
static void file_path(struct an *a, struct proc *pr, uint32_t dev, uint64_t ino, const char *path)
{
	struct file *f = an__file(a, dev, ino, true);
	size_t n;

	if (!f || !path || !*path)
		return;
	if (is_gpu_path(path)) {
		f->flags |= FL_GPU_DEV;
		if (pr)
			pr->flags |= PF_GPU_DEV;
	}
	if (is_code_path(path))
		f->flags |= FL_CODE;
	if (!strncmp(path, "/proc/", 6) || !strncmp(path, "/sys/", 5))
		f->flags |= FL_PROCFS;
	n = strlen(path) + 1;
	if (f->path != UINT32_MAX || a->arena_len + n > AN_ARENA_MAX)
		return;
	if (a->arena_len + n > a->arena_cap) {
		uint32_t cap = a->arena_cap ? a->arena_cap : 1u << 16;
		char *p;

		while (cap < a->arena_len + n)
			cap *= 2;
		p = realloc(a->arena, cap);
		if (!p)
			return;
		a->arena = p;
		a->arena_cap = cap;
	}
	memcpy(a->arena + a->arena_len, path, n);
	f->path = a->arena_len;
	a->arena_len += (uint32_t)n;
}

const char *an__path(const struct an *a, uint32_t dev, uint64_t ino)
{
	uint64_t *v = hmap_find(&a->file_idx, mix(dev, ino));

	if (!v || a->files[*v - 1].path == UINT32_MAX)
		return NULL;
	return a->arena + a->files[*v - 1].path;
}

/* ------------------------------------------------------------------ scheduling */

/*
 * A worker thread's state from how it left the CPU.  A process's own first thread
 * does its work (a DataLoader worker's loop, a forked trainsim worker): blocked on a
 * socket it fetches over the network, asleep or on a lock it waits on something other
 * than work.  Its helper threads (a queue feeder, a resource sharer in accept) wait
 * all the time: idle unless on CPU, runnable or on storage.
 */
static uint8_t wstate_of(const struct thr *t, uint8_t prev_state, uint8_t wait)
{
	bool first = t->flags & TF_LEADER;

	if (prev_state == ST_STATE_RUNNING)
		return WS_RUNQ;
	if (prev_state == ST_STATE_DISK || wait == ST_WAIT_FILE)
		return WS_IO;
	switch (wait) {
	case ST_WAIT_SOCK:
		return first ? WS_NET : WS_IDLE;
	case ST_WAIT_FUTEX:
	case ST_WAIT_SLEEP:
	case ST_WAIT_OTHER:
		return first ? WS_SLEEP : WS_IDLE;
	default:
		return WS_IDLE;	/* a pipe (the index queue), or not known */
	}
}


static void wake_apply(struct an *a, struct thr *t, const struct st_event *ev);

/*
 * A wake reported this little before the switch that puts its thread to sleep ends
 * that sleep (wakeup): the waker waits for the switch (1-32 us apart in the reference
 * jobs).  Woken earlier, the thread did not sleep then (the wake found it still
 * queued), and a later sleep is another one.
 */
#define RACE_NS		200000ull

static void switch_out(struct an *a, struct thr *t, uint8_t state, uint8_t wait, uint64_t ts)
{
	struct proc *p = t->proc;

	attr__wake_known(a, t);
	t->back_at = 0;
	/*
	 * A relay's wake is judged by the call it ended; preempted before that call's end
	 * was reported, the thread ends it later (pt_pin_hogs under load: judged with no
	 * call, a GIL handoff in the loop's compute read as a batch, its receipt's timeout
	 * a false epoch's tail, 8 steps too many).
	 */
	if (t->relay_wake_at && state != ST_STATE_RUNNING)
		attr__relay_woke(a, t, NULL);
	if (state == ST_STATE_RUNNING)
		attr__preempted(t, ts);
	if (t->run == RS_OFF) {
		/* a switch-in was lost (drops): the thread ran from some unknown time */
		a->inconsistent++;
		attr__close_off(a, t, ts);
	} else {
		attr__close_cpu(a, t, ts);
		t->on_from[t->on_next] = t->since;
		t->on_to[t->on_next] = ts;
		t->on_next = (uint8_t)((t->on_next + 1) % ON_HIST);
	}
	t->run = RS_OFF;
	t->off_state = state;
	t->off_wait = wait;
	t->since = ts;
	/* waits that could be for a new batch (a pipe; not known): a lock, the GIL or a
	 * socket between a poll and its read do not make the read another batch */
	if (state != ST_STATE_RUNNING && period__watches(a, t))
		period__event(a, t, PER_BLOCK | wait, ts);
	t->blocks += state != ST_STATE_RUNNING &&
		     (wait == ST_WAIT_PIPE || wait == ST_WAIT_UNKNOWN || wait == ST_WAIT_OTHER);
	t->wake_ts = 0;
	t->wrel = WREL_NONE;
	t->wake_flags = 0;
	t->peer = 0;
	t->waker = t->waker2 = t->waker_pid = 0;
	/* a dead task's last switch (after its exit record): its process may be gone */
	wk__set_thread(a, t, state == ST_STATE_DEAD ? WS_NONE : wstate_of(t, state, wait), wait, ts);
	if (p)
		t->act_out = wk__active(p, ts);
	t->wk_out_valid = false;
	/* also with no worker alive yet: one may be forked to fetch the batch waited for */
	if (p) {
		wk__flush_sub(p, ts);
		wk__loader_cum(p, t->wk_out);
		t->wk_out_valid = true;
	}
	/* woken as it went to sleep (wakeup): runnable from the start of its wait */
	if (t->race_ts && ts - t->race_ts <= RACE_NS && state != ST_STATE_RUNNING &&
	    state != ST_STATE_DEAD) {
		struct st_event ev = { .type = ST_REC_WAKEUP, .flags = t->race_flags, .ts = ts };

		ev.wk = t->race_wk;
		a->raced_wakes++;
		wake_apply(a, t, &ev);
	}
	t->race_ts = 0;
}

/*
 * t was woken by a process that has exited: its exit told its parent, waiting in
 * wait4 or a join (a pool's shutdown), and no batch came (pt_val with pin memory: a
 * training worker's exit, reaped after the validation loop, read as a batch of its
 * pool's there).
 */
static bool exited_waker(struct an *a, const struct thr *t)
{
	const struct proc *q = t->waker_pid ? an__find_proc(a, t->waker_pid) : NULL;

	return q && an__proc_gone(q);
}

/*
 * t's relay wake came from a relay thread that has exited since: a lock it let go
 * of on its way out (a join), no batch.  A helper thread of the loop's process
 * (multiprocessing's queue feeder, started at a validation pool's shutdown) waited
 * on a mutex the pool's pin-memory thread released as it exited: read as the relay's
 * batch, the helper became a loop the relays feed, and the next iterators' batches
 * were owed to it after it had gone (pt_val_pin in a clean clone's CI: 43 steps for
 * 118).  Only for a thread not known fed yet: a loader thread's last put of an
 * epoch (a BackgroundGenerator's) may wake its loop just before it exits, and the
 * loop switch in after that.
 */
static bool exited_relay(struct an *a, const struct thr *t)
{
	const struct thr *w = t->waker ? an__find_thread(a, t->waker) : NULL;

	return w && (w->flags & TF_EXITED);
}

static void switch_in(struct an *a, struct thr *t, uint64_t ts)
{
	bool fed, direct;

	t->back_at = 0;

	if (t->run == RS_ON) {
		a->inconsistent++;
		attr__close_cpu(a, t, ts);
	} else {
		if (t->run == RS_UNKNOWN)
			t->off_state = ST_STATE_OTHER;
		if (t->run == RS_OFF && t->off_state == ST_STATE_RUNNING)
			attr__resumed(t, ts);
		attr__close_off(a, t, ts);
	}
	/*
	 * A worker ended the wait: a batch arrived.  Once the thread's batch pipes are
	 * known (a few arrivals), its reads of them say it better: a worker also wakes
	 * the thread while it fetches a batch's shared-memory fds over sockets.
	 */
	/*
	 * Not a parent in vfork (uninterruptible, in no fd call): subprocess and
	 * multiprocessing's spawn start a child with vfork, and its exec wakes the
	 * parent (2 steps too many at a spawned loader's start).  Nor one in a page
	 * fault (uninterruptible, in no syscall) that a new worker's own fault ended: a
	 * batch comes to a pipe or socket call, interruptible (pt_val_pin_pers attached
	 * under load: a validation worker's wake 25 ms into its pool's start-up read as
	 * its first batch, a step too many and the pool's third worker a pool of its own).
	 */
	direct = t->wake_ts && t->wrel == WREL_CHILD && !(t->flags & TF_LISTENER) &&
		 !(t->off_state == ST_STATE_DISK &&
		   (t->off_wait == ST_WAIT_OTHER || t->off_wait == ST_WAIT_UNKNOWN)) &&
		 an__worker_woke(a, t, t->waker, t->waker_pid) && !exited_waker(a, t);
	fed = t->wake_ts && ((direct && t->direct_arrivals < 3) ||
			     ((t->flags & TF_RELAY_WAKE) &&
			      ((t->flags & (TF_RELAY_FED | TF_QUEUE_FED)) || !exited_relay(a, t))));
	t->run = RS_ON;
	t->since = ts;
	t->race_ts = 0;
	wk__set_thread(a, t, WS_CPU, ST_WAIT_UNKNOWN, ts);
	/*
	 * A relay's wake: the call that waited says whether it was for a batch
	 * (attr__relay_woke); TF_RELAY_WAKE stays until then.
	 */
	if (fed && !direct && (t->flags & TF_RELAY_WAKE)) {
		t->relay_wake_at = ts;
		t->wake_ts = 0;
		return;
	}
	if (fed)
		attr__arrival(a, t, ts, direct, ARR_WAKE, 0);
	t->wake_ts = 0;
	t->flags &= ~TF_RELAY_WAKE;
	t->relay_early = 0;
}

static enum wrel relation(struct an *a, const struct thr *t, const struct st_event *ev,
			  struct thr **waker)
{
	struct proc *wp;

	*waker = NULL;
	if ((ev->flags & ST_WK_IRQ) || !ev->wk.waker_tid)
		return WREL_IRQ;
	if (ev->wk.waker_tid == t->tid)
		return WREL_SELF;
	*waker = an__find_thread(a, ev->wk.waker_tid);
	wp = an__find_proc(a, ev->wk.waker_pid);
	if (!wp && *waker)
		wp = (*waker)->proc;
	if (!wp || !(wp->flags & PF_KNOWN))
		return WREL_UNTRACED;
	if (wp == t->proc)
		return WREL_SIBLING;
	if (t->proc && an__is_descendant(wp, t->proc))
		return WREL_CHILD;
	return WREL_OTHER;
}

/*
 * Whether the wait that ends now was ended by network traffic, directly (a softirq
 * woke t) or through its waker chain (a sibling that network traffic woke during
 * the wait, or that such a sibling woke): t <- pg worker <- receiving thread <-
 * softirq, as with gloo.  On loopback the softirq runs on the sending task: its
 * process is the peer.
 */
static void net_chain(struct an *a, struct thr *t, const struct st_event *ev, struct thr *w,
		      enum wrel rel)
{
	struct thr *w2 = t->waker2 ? an__find_thread(a, t->waker2) : NULL;
	bool soft = (ev->flags & ST_WK_IRQ) && (ev->flags & ST_WK_SOFTIRQ);

	/* without interrupt context, loopback traffic reads as a wake by its sender */
	if (a->irq_unknown && rel == WREL_OTHER)
		soft = true;

	t->wake_flags = 0;
	t->peer = 0;
	if (soft && t->off_state == ST_STATE_SLEEP) {
		struct proc *pp = an__find_proc(a, ev->wk.waker_pid);

		t->wake_flags = SEG_SOFTIRQ | SEG_NET;
		t->net_woken = t->wake_ts;
		t->net_peer = pp && (pp->flags & PF_KNOWN) && pp != t->proc ? pp->pid : 0;
		t->peer = t->net_peer;
		if (t->peer && t->proc && !an__is_descendant(pp, t->proc) &&
		    !an__is_descendant(t->proc, pp))
			t->proc->flags |= PF_NET_PEERS;
		return;
	}
	/* network traffic reached the waker (or its waker) during this wait */
	if (w && w->proc == t->proc && w->net_woken && w->net_woken >= t->since) {
		t->wake_flags = SEG_NET;
		t->peer = w->net_peer;
	} else if (w2 && w2->proc == t->proc && w2->net_woken && w2->net_woken >= t->since) {
		t->wake_flags = SEG_NET;
		t->peer = w2->net_peer;
	} else if (w2 && (w2->flags & TF_NET)) {
		t->peer = w2->net_peer;	/* a receiving thread, busy when the data came */
	} else if (w && (w->flags & TF_NET)) {
		t->peer = w->net_peer;
	}
}

/* t's wait that began at t->since (a switch out) ends: ev woke it. */
static void wake_apply(struct an *a, struct thr *t, const struct st_event *ev)
{
	struct thr *w;
	enum wrel rel = relation(a, t, ev, &w);

	if (t->run == RS_UNKNOWN) {
		/* blocked since before the trace began, cause unknown */
		t->run = RS_OFF;
		t->off_state = ST_STATE_OTHER;
		t->since = a->start_ts;
	}
	if (t->run != RS_OFF || t->wake_ts || t->off_state == ST_STATE_RUNNING)
		return;
	t->wake_ts = ev->ts < t->since ? t->since : ev->ts;
	t->wrel = (uint8_t)rel;
	/* from an interrupt, waker_tid is the task it interrupted: no waker */
	t->waker = rel == WREL_IRQ ? 0 : ev->wk.waker_tid;
	t->waker_pid = rel == WREL_IRQ ? 0 : ev->wk.waker_pid;
	/* the chain: who woke the waker, if that happened while we were waiting */
	t->waker2 = w && w->last_woken >= t->since && w->last_waker != t->tid ? w->last_waker : 0;
	t->last_waker = t->waker;
	t->last_woken = t->wake_ts;
	net_chain(a, t, ev, w, rel);
	if (rel == WREL_OTHER && !t->peer)
		t->peer = ev->wk.waker_pid;	/* woken by another process itself */
	/*
	 * Until it runs, a woken thread still counts as what it was waiting for (the
	 * latency after a disk wait is part of fetching): "starved" means preempted.
	 */
	/* (not a server's thread: a child that connects to it brings no batch) */
	if (rel == WREL_CHILD && !(t->flags & TF_LISTENER)) {
		t->fed_wakes++;
		if (w && w->proc)
			w->proc->fed_given++;
		if (!(t->flags & TF_LEADER) && t->proc && attr__is_relay(t))
			t->proc->flags |= PF_RELAYS;
	} else if (rel == WREL_SIBLING && w && (t->flags & TF_FEEDER)) {
		attr__feeder_woken(a, t, w, t->wake_ts);
	} else if (rel == WREL_SIBLING && w && attr__relay_woke_sibling(w) && !(w->flags & TF_LEADER) &&
		   !attr__gil_ack(t, w, t->wake_ts, true)) {
		/*
		 * (A relay passes batches on; a process's first thread that receives
		 * them is the loop itself: its wakes of a GIL-bound sibling, handing it
		 * the GIL, are no batches; at rest they made pt_gil_w2's hashing
		 * thread its main thread, 2700 steps for 60.  Nor is the relay's signal
		 * that it took the GIL t dropped for it on request: pt_ep_pin_pers attach
		 * under load, a step in the loop's compute, 112 steps of 110.)
		 */
		t->relay_fed++;
		w->relay_given++;
		t->wrel = WREL_RELAY;
		t->flags |= TF_RELAY_WAKE;
	}
	/* a queue's batches by a sibling's wake (an_attr.c, queue_take) */
	if (rel == WREL_SIBLING && w)
		t->woke_rc = t->qf ? t->qf->recv : (uint32_t)w->direct_arrivals;
	/* a helper not known as a feeder yet: its first waker since its last write (index_write) */
	if (rel == WREL_SIBLING && w && !(t->flags & (TF_LEADER | TF_FEEDER)) && !t->sib_waker) {
		t->sib_waker = w->tid;
		t->sib_wake_cpu = attr__cpu_at(w, t->wake_ts);
	}
}

static void wakeup(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->wk.tid, 0);

	cpu__wakeup(a, ev);
	/* an exited thread is woken on its way out (its last switches follow): no wait */
	if (!t || (t->flags & TF_EXITED))
		return;
	/*
	 * Woken on its CPU (or running since before the trace began, its own calls
	 * ended since): it is going to sleep, and the wake raced it.  The scheduler
	 * reports the wake (sched_waking) before the switch that puts it to sleep,
	 * which the waker then waits for: that wait is over as it begins (switch_out).
	 * Without a switch out soon after (RACE_NS), the wake came before it slept: no
	 * wait.
	 */
	if (t->run == RS_ON || (t->run == RS_UNKNOWN && t->cum.syscalls)) {
		t->race_ts = ev->ts;
		t->race_wk = ev->wk;
		t->race_flags = ev->flags;
		return;
	}
	wake_apply(a, t, ev);
}

static void sched_switch(struct an *a, const struct st_event *ev)
{
	struct thr *t;

	a->sched_events++;
	cpu__switch(a, ev);
	if ((ev->flags & ST_SW_PREV_TRACED) && ev->sw.prev_tid &&
	    (t = an__thread(a, ev->sw.prev_tid, 0))) {
		uint64_t ts = ev->ts < t->since ? t->since : ev->ts;

		t->flags |= TF_TRACED;
		t->cum.switches++;
		t->stolen = ev->flags & ST_SW_STOLEN ? ev->sw_stolen : 0;
		/*
		 * The kernel did not show the switch that brought it in (ST_SW_RAN): it came
		 * in as long before this as it has run since.
		 */
		if (t->run == RS_OFF && (ev->flags & ST_SW_RAN)) {
			a->unseen_in++;
			switch_in(a, t, ts - ev->sw_ran > t->since && ev->sw_ran < ts ?
				  ts - ev->sw_ran : t->since);
		}
		switch_out(a, t, ev->sw.prev_state, ev->sw.prev_wait, ts);
		t->stolen = 0;	/* a switch out of a thread thought off CPU closes no CPU */
		t->last_ts = ev->ts;
	}
	if ((ev->flags & ST_SW_NEXT_TRACED) && ev->sw.next_tid &&
	    (t = an__thread(a, ev->sw.next_tid, 0))) {
		t->flags |= TF_TRACED;
		switch_in(a, t, ev->ts < t->since ? t->since : ev->ts);
		t->last_ts = ev->ts;
	}
}

/* Thread gone: its last segment ends now and nothing more will cover it. */
static void thread_exit(struct an *a, struct thr *t, uint64_t ts)
{
	if (t->flags & TF_EXITED)
		return;
	if (ts < t->since)
		ts = t->since;
	if (t->run == RS_ON)
		attr__close_cpu(a, t, ts);
	else if (t->run == RS_OFF)
		attr__close_off(a, t, ts);
	t->run = RS_UNKNOWN;
	t->since = ts;
	attr__end(a, t, ts);
	t->flags |= TF_EXITED;
	t->last_ts = ts;
	wk__set_thread(a, t, WS_NONE, ST_WAIT_UNKNOWN, ts);
	attr__finalize(a, t, true);
	if (t->proc && t->proc->nthreads)
		t->proc->nthreads--;
}

/* ------------------------------------------------------------------ lifecycle */

static void set_comm(char *dst, const char *src)
{
	memcpy(dst, src, ST_COMM_LEN);
	dst[ST_COMM_LEN - 1] = '\0';
}

static void on_fork(struct an *a, const struct st_event *ev)
{
	const struct st_fork *f = &ev->fork;
	struct thr *parent = an__thread(a, f->parent_tid, f->parent_pid), *c;
	struct proc *cp, *owner;

	if (parent)
		parent->flags |= TF_TRACED;
	if (parent && parent->proc)
		parent->proc->flags |= PF_KNOWN;
	cp = an__proc(a, f->child_pid);
	if (!cp)
		return;
	if (!(ev->flags & ST_FORK_THREAD) && f->child_pid != f->parent_pid) {
		cp->ppid = f->parent_pid;
		cp->first_ts = ev->ts;
		set_comm(cp->comm, f->comm);
		link_parent(a, cp, parent ? parent->proc : an__find_proc(a, f->parent_pid));
		if ((owner = an__pool_owner(cp))) {
			owner->flags |= PF_FORKS;
			owner->fork_ts = ev->ts;
			cp->iter_at = owner->pipe_mark;
			owner->pipe_mark = 0;
			attr__forked(a, owner, ev->ts);
		}
		cp->flags |= PF_FORKED;
	}
	cp->flags |= PF_KNOWN;
	if (!(ev->flags & ST_FORK_THREAD) && f->child_pid != f->parent_pid)
		dist__inherit(cp, cp->parent);
	if (parent && (ev->flags & ST_FORK_THREAD))
		attr__thread_started(a, parent, ev->ts);
	c = an__thread(a, f->child_tid, f->child_pid);
	if (!c)
		return;
	set_comm(c->comm, f->comm);
	/* a thread id used again: the new thread is alive */
	c->flags = (c->flags & ~TF_EXITED) | TF_TRACED | TF_FORKED;
	/* a new task is runnable from its creation until it first runs */
	c->run = RS_OFF;
	c->off_state = ST_STATE_RUNNING;
	c->since = c->first_ts = c->fin_until = ev->ts;
	cp->nthreads++;
	cp->nthreads_seen++;
	if (cp->pid == c->tid && !(c->flags & TF_LEADER)) {
		c->flags |= TF_LEADER;
		attr__become_logger(a, c);
	}
}

static void on_comm(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->comm.tid, ev->comm.pid);

	if (!t)
		return;
	set_comm(t->comm, ev->comm.comm);
	if (ev->flags & ST_COMM_TRACED) {
		t->flags |= TF_TRACED;
		if (t->proc)
			t->proc->flags |= PF_KNOWN;
	}
	if (t->proc && (t->tid == t->pid || !t->proc->comm[0]))
		set_comm(t->proc->comm, ev->comm.comm);
}

/* A task's CPU time read by the tracer: named like a waker; the job's own are not others. */
static void on_runtime(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->rt.tid, ev->rt.pid);

	if (!t || (t->flags & TF_TRACED))
		return;
	if (!t->comm[0])
		set_comm(t->comm, ev->rt.comm);
	if (t->proc && !t->proc->comm[0] && t->tid == t->pid)
		set_comm(t->proc->comm, ev->rt.comm);
	cpu__runtime(a, ev);
}

/* A process listed before its parent waits for the parent's own record. */
static void wait_for_parent(struct an *a, struct proc *p)
{
	uint64_t *head;

	if (p->parent || p->orphan || !p->ppid || p->ppid == p->pid ||
	    !(head = hmap_slot(&a->orphans, p->ppid)))
		return;
	p->orphan_next = (struct proc *)(uintptr_t)*head;
	p->orphan = true;
	*head = (uintptr_t)p;
}

static void adopt_orphans(struct an *a, struct proc *p)
{
	uint64_t *head = hmap_find(&a->orphans, p->pid);
	struct proc *q, *next;

	if (!head)
		return;
	for (q = (struct proc *)(uintptr_t)*head; q; q = next) {
		next = q->orphan_next;
		q->orphan_next = NULL;
		q->orphan = false;
		if (q->ppid == p->pid && !q->parent)
			link_parent(a, q, p);
	}
	hmap_del(&a->orphans, p->pid);
}

static void on_proc(struct an *a, const struct st_event *ev)
{
	struct proc *p = an__proc(a, ev->proc.pid);

	if (!p)
		return;
	if (ev->flags & ST_PROC_EXEC) {
		/* the command line of an exec: what program it runs (an__launched) */
		if (ev->str) {
			free(p->argv);
			p->argv = strndup(ev->str, 4096);
			p->argv_ts = ev->ts;
		}
		an__relaunch(a, p);
		return;
	}
	p->flags |= PF_KNOWN;
	p->ppid = ev->proc.ppid;
	if (ev->str && !p->cmdline)
		p->cmdline = strndup(ev->str, 4096);
	link_parent(a, p, an__find_proc(a, ev->proc.ppid));
	wait_for_parent(a, p);
	an__relaunch(a, p);
	adopt_orphans(a, p);
	an__thread(a, p->pid, p->pid);
}

/* The CPUs a process may run on (its affinity, read at attach, start and exec). */
static void on_affinity(struct an *a, const struct st_event *ev)
{
	struct proc *p = an__proc(a, ev->aff.pid);

	if (!p || !ev->str)
		return;
	free(p->cpus);
	p->cpus = strndup(ev->str, 1024);
}

static void on_exec(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->exec.tid, ev->exec.pid), *old;

	if (ev->exec.old_tid && ev->exec.old_tid != ev->exec.tid &&
	    (old = an__find_thread(a, ev->exec.old_tid)))
		thread_exit(a, old, ev->ts);
	if (!t)
		return;
	set_comm(t->comm, ev->exec.comm);
	t->flags |= TF_TRACED;
	if (t->proc) {
		t->proc->flags |= PF_KNOWN | PF_EXECED;
		set_comm(t->proc->comm, ev->exec.comm);
		if (ev->str) {
			free(t->proc->cmdline);
			t->proc->cmdline = strndup(ev->str, 4096);
		}
		/*
		 * A new program: its command line comes in a PROC record of the exec's
		 * instant, after this one, or before it (a tracer's streams merged with ties
		 * either way round: pt_fsrv's forkserver read as a worker, 4 pools for 3).
		 */
		if (t->proc->argv_ts < ev->ts) {
			free(t->proc->argv);
			t->proc->argv = NULL;
		}
		an__relaunch(a, t->proc);
	}
}

static void on_thread_exit(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->exit.tid, ev->exit.pid);

	if (!t)
		return;
	thread_exit(a, t, ev->ts);
	if (t->proc && (ev->flags & ST_EXIT_GROUP_DEAD)) {
		struct proc *owner = an__pool_owner(t->proc);

		if (!(t->proc->flags & PF_EXITED) && t->proc->parent &&
		    t->proc->parent->live_children)
			t->proc->parent->live_children--;
		if (!(t->proc->flags & PF_EXITED) && owner && owner != t->proc->parent &&
		    owner->live_children)
			owner->live_children--;
		t->proc->flags |= PF_EXITED;
		t->proc->last_ts = ev->ts;
		if (owner)
			owner->pipe_mark = 0;
		attr__worker_gone(a, t->proc, ev->ts);
	}
}

/*
 * Run mode: the command's thread waited for the tracer until now, blocked in a read
 * of its start pipe (ST_REC_RELEASE).  That wait is the tracer's start-up, not the
 * job's time: the thread's life starts here, as a new task's does at its fork,
 * runnable until it first runs.  No account, stall or window holds the wait, and
 * the tracer's wakeup that ends it names no waker.
 */
static void on_release(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->release.tid, ev->release.pid);

	/* only a thread with nothing in the trace yet: anything else is no start-up */
	if (!t || t->run != RS_UNKNOWN || t->qlen || t->nsnaps != 1 || t->cum.syscalls ||
	    ev->ts < t->fin_until)
		return;
	t->flags |= TF_TRACED;
	t->run = RS_OFF;
	t->off_state = ST_STATE_RUNNING;
	t->since = t->first_ts = t->fin_until = ev->ts;
	t->snaps[0].ts = ev->ts;
	if (t->proc && t->proc->first_ts < ev->ts)
		t->proc->first_ts = ev->ts;
}

/*
 * A function of a collective communication library (libnccl, librccl: ncclAllReduce,
 * ncclGroupEnd, ...), probed with --uprobe: the time in it is the collective's.
 */
static bool coll_probe(const struct st_event *ev)
{
	const char *lib = ev->str ? strrchr(ev->str, '/') : NULL;

	lib = lib ? lib + 1 : ev->str;
	return ev->pdef.role == ST_PROBE_PLAIN && lib && ev->str2 &&
	       (!strncmp(lib, "libnccl", 7) || !strncmp(lib, "librccl", 7)) &&
	       !strncmp(ev->str2, "nccl", 4);
}

static void on_probe_def(struct an *a, const struct st_event *ev)
{
	uint64_t *v = hmap_slot(&a->probe_role, (uint64_t)ev->pdef.id + 1);
	bool coll = coll_probe(ev);
	struct proc *p;

	if (v)
		*v = (uint64_t)(coll ? AN_PROBE_COLL : ev->pdef.role) + 1;
	a->have_probes = true;
	if (ev->pdef.role == ST_PROBE_STEP)
		a->have_step_probes = true;
	if (ev->pdef.role != ST_PROBE_GPU_SYNC && !coll)
		return;
	if (ev->pdef.role == ST_PROBE_GPU_SYNC && (v = hmap_slot(&a->probe_at, (uint64_t)ev->pdef.id + 1)))
		*v = ev->ts ? ev->ts : 1;
	/* GPU sync and collective probes end after the time they cover: hold that
	 * thread's segments */
	if (!ev->pdef.pid) {
		a->have_gpu_probes = true;
		if (ev->pdef.role == ST_PROBE_GPU_SYNC && !a->gpu_probes_at)
			a->gpu_probes_at = ev->ts ? ev->ts : 1;
	} else if ((p = an__proc(a, ev->pdef.pid))) {
		p->flags |= PF_GPU_PROBES;
		if (ev->pdef.role == ST_PROBE_GPU_SYNC && !p->gpu_probes_at)
			p->gpu_probes_at = ev->ts ? ev->ts : 1;
	}
}

static void on_probe(struct an *a, const struct st_event *ev)
{
	uint64_t *v = hmap_find(&a->probe_role, (uint64_t)ev->probe.id + 1), *at;
	struct thr *t = an__thread(a, ev->probe.tid, 0);
	uint64_t s = ev->probe.dur < ev->ts ? ev->ts - ev->probe.dur : 0;

	if (!t || !v)
		return;
	/* the syncs go through this probe's library: its attach is when they are seen */
	if (*v - 1 == ST_PROBE_GPU_SYNC && t->proc &&
	    (at = hmap_find(&a->probe_at, (uint64_t)ev->probe.id + 1)) && *at > t->proc->gpu_fired_at)
		t->proc->gpu_fired_at = *at;
	attr__probe(a, t, s, ev->ts, (int)*v - 1);
}

/*
 * What a syscall is to the periodic-pattern pass: its number and its fd's kind; for a
 * write to a file also which file (8 bits of its inode).  A loop without workers that
 * logs a line a step to one file and saves a checkpoint to another every N steps
 * writes to a file once a step and more often at each checkpoint: one signature for
 * both put a step boundary in every checkpoint's step (205 steps for 199 where a user's
 * script saved one every 25 steps).  Reads stay by kind: a loop reading its samples
 * from many files reads "a file" every step, no one file.  A futex call that handed a
 * Python lock over (a queue's, between a loop and its loader thread) is apart from the
 * GIL's (attr__fx_handoff).  A call on code, or on a code file's path, is none
 * (PER_NONE): Python's imports open, read and close a module's files 0.5 ms apart, as
 * regular as a loop, and a loop whose data is in memory makes no call a step (a
 * user's MNIST-like script read 718 steps in its 1.1 s of imports, none in its 5 s of
 * training).  A call on a file of /proc or /sys is apart from the data's (PER_PROCFS):
 * a job that reads its own figures each step (pt_gil's schedstat) made "batches" of
 * them, 93 steps for 60, once the imports' reads no longer hid them.
 */
static uint32_t period_sig(struct an *a, const struct thr *t, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	uint32_t sig = sc->b.nr;
	const struct file *f;

	if (attr__fx_handoff(t, sc))
		return sig | PER_FX_HANDOFF;
	if (!(sc->present & ST_SC_FD))
		return ev->str && is_code_path(ev->str) ? PER_NONE : sig;
	if (sc->fd.kind == ST_FD_REG && (f = an__file(a, sc->fd.dev, sc->fd.ino, false))) {
		if (f->flags & FL_CODE)
			return PER_NONE;
		if (f->flags & FL_PROCFS)
			sig |= PER_PROCFS;
	}
	sig |= (uint32_t)sc->fd.kind << PER_KIND_SHIFT;
	if (sc->fd.kind == ST_FD_REG && (st_syscall_class(sc->b.nr) & ST_SYSC_WRITE))
		sig |= (uint32_t)((sc->fd.ino * 0x9e3779b97f4a7c15ull) >> 56) << PER_FILE_SHIFT;
	return sig;
}

static void on_syscall(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__thread(a, ev->sc.b.tid, 0);
	const struct st_ev_syscall *sc = &ev->sc;
	uint32_t sig;

	a->syscalls++;
	if (!t)
		return;
	t->flags |= TF_TRACED;
	t->cum.syscalls++;
	/*
	 * A call that began after the thread went off its CPU: it was back, and the switch
	 * that brought it was not seen (the kernel skips that tracepoint now and then).
	 * Its next switch out says so (ST_SW_RAN), but its calls come first, and its CPU
	 * time stands still until then: pt_nw0_files attached in a clean clone's CI,
	 * preempted 28.6 ms into the window, back unseen, out again at 1004 ms, had no
	 * step in that second (59 for 120).  It ran from that call's start at the latest:
	 * its pattern's CPU clock runs from there (an__period_cpu); the rest waits for
	 * the switch out.
	 */
	if (t->run == RS_OFF && !t->back_at && !(sc->b.flags2 & ST_SC2_NO_ENTRY) &&
	    sc->b.dur <= ev->ts && ev->ts - sc->b.dur > t->since)
		t->back_at = ev->ts - sc->b.dur;
	/* a wake that raced a call's sleep and came before it slept: no wait */
	if (t->race_ts && t->race_ts <= ev->ts)
		t->race_ts = 0;
	if ((sc->present & ST_SC_PATH) && (sc->present & ST_SC_FD) && sc->b.ret >= 0)
		file_path(a, t->proc, sc->fd.dev, sc->fd.ino, ev->str);
	attr__syscall(a, t, ev);
	wk__syscall_io(a, t, ev);
	wk__file_call(a, t, ev);
	if (period__watches(a, t) && (sig = period_sig(a, t, ev)) != PER_NONE)
		period__event(a, t, sig, ev->ts);
}

/* A COST_PROG record: one program's runs and time, kept for the COST record after it. */
static void cost_prog(struct an *a, const struct st_event *ev)
{
	struct an_cost *o = &a->cost;

	if (o->known)
		memset(o, 0, sizeof(*o));	/* a second COST: its programs follow */
	if (o->nprogs == AN_COST_PROGS || !ev->cost_prog.runs)
		return;
	memcpy(o->prog[o->nprogs].name, ev->cost_prog.name, sizeof(o->prog[0].name));
	o->prog[o->nprogs].name[sizeof(o->prog[0].name) - 1] = '\0';
	o->prog[o->nprogs].runs = ev->cost_prog.runs;
	o->prog[o->nprogs].run_ns = ev->cost_prog.run_ns;
	o->nprogs++;
}

/*
 * The COST record: the BPF programs' share of one CPU in the sample windows, each run
 * less the accounting's own share (docs/trace-format.md, What the tracer cost).
 */
static void cost(struct an *a, const struct st_event *ev)
{
	const struct st_cost *c = &ev->cost;
	struct an_cost *o = &a->cost;
	double win = (double)c->sampled_ns / 1e9, ns = 0;

	o->known = true;
	o->tracer = c->duration ? (double)c->cpu_ns / (double)c->duration : 0;
	o->duration_s = (double)c->duration / 1e9;
	o->sampled_s = win;
	o->setup_cpu_s = (double)c->setup_cpu_ns / 1e9;
	o->acct_ns = c->calib_runs ? (double)c->calib_ns / (double)c->calib_runs : 0;
	o->windows = c->windows;
	for (uint32_t i = 0; i < o->nprogs; i++) {
		double run = (double)o->prog[i].run_ns - o->acct_ns * (double)o->prog[i].runs;

		ns += run > 0 ? run : 0;
		o->prog[i].runs_per_s = win > 0 ? (double)o->prog[i].runs / win : 0;
		o->prog[i].ns_per_run = run > 0 ? run / (double)o->prog[i].runs : 0;
	}
	o->bpf = (ev->flags & ST_COST_NO_STATS) || !c->sampled_ns ? -1 : ns / (double)c->sampled_ns;
}

void an__event(struct an *a, const struct st_event *ev)
{
	/* events as the trailer counts them: every record but the trailer itself */
	a->events += ev->type != ST_REC_TRAILER;
	if (ev->ts > a->now)
		a->now = ev->ts;
	else if (ev->ts + 1000000 < a->now)
		a->disorder++;
	switch (ev->type) {
	case ST_REC_SWITCH: sched_switch(a, ev); break;
	case ST_REC_WAKEUP: wakeup(a, ev); break;
	case ST_REC_SYSCALL: on_syscall(a, ev); break;
	case ST_REC_FORK: on_fork(a, ev); break;
	case ST_REC_EXEC: on_exec(a, ev); break;
	case ST_REC_EXIT: on_thread_exit(a, ev); break;
	case ST_REC_COMM: on_comm(a, ev); break;
	case ST_REC_PROC: on_proc(a, ev); break;
	case ST_REC_AFFINITY: on_affinity(a, ev); break;
	case ST_REC_FD:
		file_path(a, an__proc(a, ev->fd.pid), ev->fd.dev, ev->fd.ino, ev->str);
		attr__fd(a, ev);
		break;
	case ST_REC_ENV: dist__env(a, ev); break;
	case ST_REC_BLOCK: wk__block(a, ev); break;
	case ST_REC_PCACHE: wk__pcache(a, ev); break;
	case ST_REC_PROBE_DEF: on_probe_def(a, ev); break;
	case ST_REC_PROBE: on_probe(a, ev); break;
	case ST_REC_RELEASE: on_release(a, ev); break;
	case ST_REC_RUNTIME: on_runtime(a, ev); break;
	case ST_REC_IDLE: cpu__idle(a, ev); break;
	case ST_REC_COST_PROG: cost_prog(a, ev); break;
	case ST_REC_COST: cost(a, ev); break;
	case ST_REC_TRAILER:
		if (ev->trailer.end_ts > a->end_ts)
			a->end_ts = ev->trailer.end_ts;
		a->trailer = ev->trailer;
		a->have_trailer = true;
		break;
	default: break;
	}
	if (a->obs && a->obs->record)
		a->obs->record(a->obs->ctx, a, ev);
}

/* End of the trace: every open segment ends, everything is finalized. */
void an__end(struct an *a)
{
	uint64_t k, v;

	if (a->now > a->end_ts)
		a->end_ts = a->now;
	a->now = a->end_ts;
	for (size_t i = 0; hmap_iter(&a->threads, &i, &k, &v);) {
		struct thr *t = (struct thr *)(uintptr_t)v;

		if (!(t->flags & TF_EXITED)) {
			attr__end(a, t, a->end_ts);
			/* (running since the start, seen in its calls: attr__cpu_at()) */
			if (t->run == RS_ON || (t->run == RS_UNKNOWN && t->cum.syscalls))
				attr__close_cpu(a, t, a->end_ts);
			else if (t->run == RS_OFF)
				attr__close_off(a, t, a->end_ts);
			t->since = a->end_ts;
			attr__finalize(a, t, true);
		}
		attr__snap(a, t, t->flags & TF_EXITED ? t->last_ts : a->end_ts, SNAP_END);
	}
	for (size_t i = 0; hmap_iter(&a->procs, &i, &k, &v);)
		wk__end(a, (struct proc *)(uintptr_t)v, a->end_ts);
	cpu__end(a);
}

void an__free(struct an *a)
{
	uint64_t k, v;

	for (size_t i = 0; hmap_iter(&a->threads, &i, &k, &v);) {
		struct thr *t = (struct thr *)(uintptr_t)v;

		free(t->q);
		free(t->unc);
		free(t->ov);
		free(t->hist);
		free(t->snaps);
		free(t->prefree);
		if (t->qf) {
			free(t->qf->seen);
			free(t->qf->frees);
			free(t->qf->rx_at);
		}
		free(t->qf);
		period__free(t);
		free(t->io);
		free(t->colls);
		free(t);
	}
	for (size_t i = 0; hmap_iter(&a->procs, &i, &k, &v);) {
		struct proc *p = (struct proc *)(uintptr_t)v;

		free(p->cmdline);
		free(p->argv);
		free(p->cpus);
		free(p->io);
		free(p->id);
		free(p);
	}
	hmap_free(&a->threads);
	hmap_free(&a->procs);
	hmap_free(&a->feeder_fds);
	hmap_free(&a->pipe_writer);
	hmap_free(&a->result_pipes);
	hmap_free(&a->self_msgs);
	hmap_free(&a->task_fds);
	hmap_free(&a->pipe_idx);
	free(a->pipes);
	hmap_free(&a->file_idx);
	hmap_free(&a->probe_role);
	hmap_free(&a->probe_at);
	hmap_free(&a->orphans);
	hmap_free(&a->fx_waiters);
	cpu__free(a);
	tl_grid__free(&a->grid);
	free(a->files);
	free(a->arena);
	for (unsigned i = 0; i < PER_LOADS; i++)
		free(a->per_seq[i]);
}
