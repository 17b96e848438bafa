/* SPDX-License-Identifier: MIT */
/*
 * Streaming state of the analysis (docs/analysis.md explains the model).
 *
 * Every traced thread is a sequence of segments: on CPU, or off CPU from a switch-out
 * to the next switch-in (with the state at switch-out and who woke it).  A segment's
 * cause is only known once the syscall record that covers it arrives (records are
 * written when the syscall ends), so closed segments wait in a per-thread queue
 * until their syscall is known, then are "finalized": classified, cut at snapshot
 * times, added to the thread's cumulative accounts and timeline.  Snapshots of the
 * cumulative accounts are taken at batch arrivals, step markers and window edges, so
 * any window or step split is a difference of two snapshots: one pass, and memory
 * bounded by live threads plus one snapshot per step.
 */
#ifndef ST_AN_CORE_H
#define ST_AN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "an_stats.h"
#include "hmap.h"
#include "st_trace.h"

/* Where the main thread's time goes; the order is the JSON and chart order. */
enum cat {
	CAT_COMPUTE = 0,
	CAT_DL,		/* dataloader_wait */
	CAT_IO,		/* io_wait */
	CAT_GPU,	/* gpu_wait */
	CAT_CPU,	/* cpu_contention */
	CAT_LOCK,	/* lock_wait */
	CAT_OTHER,	/* other_wait */
	CAT_COLL,	/* collective_wait: waiting for other ranks of a distributed job */
	NCAT,
};

/*
 * What a data-loader worker process is doing (derived from its threads).  The order
 * is the precedence: a process is in the first state one of its threads is in.
 */
enum wst {
	WS_CPU = 0,	/* a thread on CPU: prep */
	WS_IO,		/* a thread blocked on storage (D, or a file call): fetch */
	WS_NET,		/* its first thread blocked on a socket: fetch over the network */
	WS_RUNQ,	/* runnable, waiting for a CPU: starved */
	WS_SLEEP,	/* its first thread asleep, or waiting on a lock (not for work) */
	WS_IDLE,	/* waiting for work (a pipe), or nothing known: all threads sleeping */
	NWS,
	WS_NONE = NWS,	/* not known yet, or exited */
};

/* The words every report uses for them (categories.c) */
extern const char *const cat_names[NCAT];	/* "compute", "dataloader_wait", ... */
extern const char *const wst_names[NWS];	/* "prep", "fetch", "network", ... "idle" */

/* How the waker of a thread relates to it. */
enum wrel {
	WREL_NONE = 0,	/* no wakeup seen */
	WREL_IRQ,	/* interrupt: timer, device completion */
	WREL_UNTRACED,	/* a task outside the traced job (kworker, another program) */
	WREL_SELF,
	WREL_SIBLING,	/* another thread of the same process */
	WREL_CHILD,	/* a thread of a descendant process: a data-loader worker */
	WREL_RELAY,	/* a sibling thread that itself receives batches from workers */
	WREL_OTHER,	/* another traced process (parent, unrelated) */
};

/* Cumulative accounts of one thread: what a snapshot records. */
struct acc {
	uint64_t cat[NCAT];	/* ns */
	uint64_t gil;		/* ns of lock_wait spent waiting for CPython's GIL */
	uint64_t gil_next;	/* of it, in the loader's next() (a wait begun there) */
	uint64_t team;		/* ns of lock_wait at the barrier of its intra-op threads */
	uint64_t net;		/* ns of other_wait blocked in a call on a socket */
	uint64_t io_write;	/* ns of io_wait writing (OVF_WRITE, io_writes()) */
	uint64_t dl_runq;	/* ns of dataloader_wait runnable without a CPU: after the
				 * worker's wakeup, or preempted while receiving the batch */
	uint64_t wakelat;	/* ns of it runnable after a wakeup, waiting for a CPU */
	uint64_t coll_runq;	/* ns of cpu_contention runnable after the wakeup that ended a
				 * collective_wait: the rank's time in the collective too */
	uint64_t wk[NWS];	/* worker process-ns during this thread's dataloader waits */
	uint64_t launches;	/* GPU launch probe calls */
	uint64_t oncpu;		/* ns on CPU, whatever the category */
	uint64_t syscalls;	/* syscalls that ended (counted as they arrive) */
	uint64_t switches;	/* switches out */
	uint64_t stolen;	/* ns on the CPU the hypervisor took (seg.stolen) */
};

enum snap_kind {
	SNAP_START = 1, SNAP_END, SNAP_FROM, SNAP_TO,
	SNAP_OWN,	/* a batch arrived at this thread */
	SNAP_PROXY,	/* a batch arrived at a sibling (relay) thread */
	SNAP_STEP,	/* a step-marker probe call */
	SNAP_TAKE,	/* this thread took a batch (the loader's next() returned) */
	SNAP_PERIOD,	/* a boundary of its own periodic pattern (second pass) */
	SNAP_VOID,	/* a take of a message with no tensor: no step (take()) */
	SNAP_OTHER,	/* a take of another loader's batch (validation): no step (an_finish.c) */
};

/* A SNAP_TAKE's src: a batch an epoch's tail took from its cache, at a time not seen */
#define SNAP_CACHED	UINT32_MAX
/*
 * ... or a loop fed through a queue took from it, neither full nor empty then: counted
 * from its loader thread's receipts, placed by the loop's CPU (queue_place, an_attr.c)
 */
#define SNAP_QUEUED	(UINT32_MAX - 1)
#define SNAP_FREED	(UINT32_MAX - 2)	/* ... placed at the loop's free of the batch before it */

struct snap {
	uint64_t ts;
	uint32_t kind;
	uint32_t approx;	/* registered after its time was finalized: values are later */
	uint32_t src;		/* SNAP_OWN: the process that sent the batch (0: not known);
				 * SNAP_TAKE: SNAP_CACHED for a batch of the loop's cache,
				 * SNAP_QUEUED for one of its queue not seen taken
				 * (SNAP_FREED: placed at a free) */
	uint32_t ld;		/* SNAP_TAKE: its loader's result pipe (ld_ino's low bits; 0:
				 * not known) */
	uint32_t relay;		/* SNAP_TAKE of a loop a relay feeds: its loader's relay (tid) */
	uint32_t feeder;	/* SNAP_TAKE at a put: the queue feeder of that put (tid;
				 * attr__helper_queue) */
	bool before;		/* ... of a batch from before the trace, none pending */
	struct acc a;
};

/* A take at a time not seen, placed where it fits. */
static inline bool snap_unseen(const struct snap *s)
{
	return s->kind == SNAP_TAKE && s->src >= SNAP_FREED;
}

enum seg_kind { SEG_CPU = 0, SEG_OFF };

#define SC_NONE		0xffff
#define SEG_SC_SET	(1u << 0)	/* a syscall record covered it */
#define SEG_NO_ENTRY	(1u << 1)
#define SEG_SOFTIRQ	(1u << 2)	/* woken from a softirq (network receive, ...) */
#define SEG_NET		(1u << 3)	/* its wakeup chain leads to a network receive */
#define SEG_IN_NEXT	(1u << 4)	/* began in the loader's next(): a receipt, its tail */
#define SEG_LOADER_POLL	(1u << 5)	/* DataLoader's 5 s poll of a pipe, workers alive (loader_poll) */
#define SEG_FX_OTHER	(1u << 6)	/* a futex wait on another word than its process's GIL's */

struct seg {
	uint64_t start, end;
	uint64_t wake;		/* OFF: wakeup time (== end when none seen) */
	uint64_t ino;		/* OFF: the fd of the syscall it was blocked in */
	uint64_t wk[NWS];	/* OFF, dataloader: worker states during it */
	union {
		uint64_t act0;	/* OFF: the process's active-thread integral at its start */
		uint64_t stolen; /* CPU: of it, ns the hypervisor took (ST_SW_STOLEN) */
	};
	uint64_t act;		/* OFF: ns its sibling threads ran or were runnable during it */
	uint32_t waker, waker2;	/* waker and the waker's own last waker */
	uint32_t dev;
	uint32_t peer;		/* OFF: pid of the traced process whose traffic ended it, 0 */
	uint16_t nr;		/* syscall it was blocked in, SC_NONE */
	uint8_t kind, state, wrel, fdkind, flags, pad;
};

/* A span whose on-CPU time belongs to a category: GPU sync probes, file syscalls. */
#define OVF_ALL		(1u << 0)	/* relabels every piece, off CPU too (a lock chain) */
#define OVF_GIL		(1u << 1)	/* a lock chain on CPython's GIL */
#define OVF_WRITE	(1u << 2)	/* file I/O that writes: a write or sync call, a bulk
					 * write session (a checkpoint) */

struct ovl {
	uint64_t s, e;
	uint8_t cat, flags;
};

#define NSTALLS 32

/* One long wait of a thread, with the evidence from its longest segment. */
struct stall {
	uint64_t start, dur;
	uint64_t ino;
	uint32_t tid, waker, waker2, waker_pid, dev;
	uint16_t nr;
	uint8_t cat, state, fdkind, wrel;
	uint32_t peer;		/* collective_wait: pid of the peer whose traffic ended it */
	uint8_t gil, pad[3];	/* gil: a wait for CPython's GIL */
};

/*
 * One wait of a main thread for other ranks (consecutive collective_wait pieces):
 * from its arrival at a collective to the wakeup that ended it.  The cross-rank pass
 * (an_dist.c) matches them between ranks to tell who arrived last.
 */
struct coll {
	uint64_t start, wake;
	uint32_t peer;		/* pid whose traffic ended it (loopback), 0 */
	uint32_t pad;
};

#define COLLS_MAX	(1u << 20)	/* per thread; the last ones are kept beyond */

/* A process's identity in a distributed job, from its ENV records (an_dist.c). */
struct ident {
	int32_t rank, local_rank, world_size, node_rank;	/* -1: not set */
	int32_t master_port;
	const char *rank_key;	/* the variable the rank came from (RANK, SLURM_PROCID, ...) */
	char run_id[72];	/* TORCHELASTIC_RUN_ID */
	char master_addr[72];
	char slurm_job[40];
	char devices[72];	/* CUDA_VISIBLE_DEVICES */
};

/* Periodic activity of a thread (an_period.c): for loops without batches or markers. */
#define PER_SIGS	48
#define PER_LAGS	4
#define PER_BINS	96
#define PER_LOADS	8		/* loading signatures a second pass keeps */
#define PER_BLOCK	0x80000000u	/* a signature: blocked (| enum st_wait), not a syscall */
#define PER_KIND_SHIFT	16		/* a syscall's signature: its fd's kind (4 bits) */
#define PER_FILE_SHIFT	20		/* and for a write to a file, 8 bits of which */
#define PER_FX_HANDOFF	(1u << 28)	/* a futex call that handed a Python lock over (a wake
					 * that woke its waiter, a wait a wake ended) on a word
					 * of no condition or mutex: attr__fx_handoff */
#define PER_PROCFS	(1u << 29)	/* a call on a file of /proc or /sys: maybe a step's
					 * (a job that reads its own figures), never loading */
#define PER_NONE	0xffffffffu	/* not a signature: a call the pass leaves out */

#define PER_RING	8		/* >= PER_LAGS + 1, a power of two (a mask) */
_Static_assert(PER_RING > PER_LAGS && !(PER_RING & (PER_RING - 1)), "PER_RING");
#define PER_CLASSES	12		/* a multiple of 1 .. PER_LAGS */

/*
 * The fields every occurrence updates come first, a class's three together, then the
 * histograms (a bin each): an occurrence touched 5 cache lines more when a class's
 * sum, squares and count were three arrays apart and the histograms between the rest.
 */
struct persig {
	uint32_t n;
	uint64_t first;
	uint64_t last[PER_RING];	/* the last occurrences, the thread's CPU ns (a ring) */
	/*
	 * Phase: |e(n) - e(n-k)| summed, e the interval to the previous occurrence.
	 * Small where k occurrences make a period (the same places of the loop), as
	 * large as the loop's uneven sub-intervals where they do not.
	 */
	double dsum[PER_LAGS], esum;
	uint32_t dn[PER_LAGS], en;
	/* e(n) by n mod PER_CLASSES: its sum, its squares, how many (class means) */
	struct {
		double sum, sq;
		uint32_t n;
	} cls[PER_CLASSES];
	uint16_t h[PER_LAGS][PER_BINS];	/* intervals to the 1st..4th previous, log-binned */
	uint16_t dh[PER_LAGS][PER_BINS];	/* |e(n) - e(n-k)|, log-binned: medians */
};

struct period {
	uint32_t sig[PER_SIGS];	/* s[i]'s: nr | fd kind << 16, or PER_BLOCK | wait; looked up
				 * per event, in 3 cache lines, not 48 */
	struct persig s[PER_SIGS];
	uint32_t nsig;
};

/* What a second pass marks as step boundaries (an_opts.period). */
struct period_pick {
	uint32_t tid, sig;
	uint32_t lag;		/* occurrences of sig per period */
	uint64_t period_ns;
	/*
	 * Batches' runs of samples (period__batches()): a boundary at each of these
	 * occurrences of sig (counted from 0, ascending: each batch's last sample, where
	 * the loop takes it), instead of every lag-th; owned by analysis__run()
	 */
	uint32_t *marks, nmarks;
	/*
	 * The loading signatures whose occurrences the second pass keeps, the one whose
	 * period covers the most first (0: none), and their periods: a sample's, maybe
	 * (period__batches() tries each in turn)
	 */
	uint32_t sig2[PER_LOADS];
	uint64_t period2_ns[PER_LOADS];
};

struct proc;

#define TF_LEADER	(1u << 0)
#define TF_LOGGER	(1u << 1)	/* records arrival snapshots */
#define TF_EXITED	(1u << 2)
#define TF_TRACED	(1u << 3)
#define TF_RELAY	(1u << 4)
#define TF_RELAY_WAKE	(1u << 5)	/* the current wait was ended by a relay thread (until
					 * switched in, or its call decides: relay_wake_at) */
#define TF_FORKED	(1u << 6)
#define TF_NET		(1u << 7)	/* receives network traffic: its waits end in softirqs */
#define TF_FEEDER	(1u << 8)	/* writes indices to the workers (a queue feeder thread) */
#define TF_RELAY_FED	(1u << 9)	/* its batches come through a relay: the relay's
					 * receipts count them (pending), not its wakes */
#define TF_PIPE_WROTE	(1u << 10)	/* wrote a pipe not known to carry indices */
#define TF_COND_WAIT	(1u << 11)	/* waited in FUTEX_WAIT_BITSET: a condition or a semaphore
					   (CPython's GIL and locks) */
#define TF_PLAIN_WAIT	(1u << 12)	/* waited in plain FUTEX_WAIT: a mutex, or a raw futex word
					   (an OpenMP team's barriers: its threads wait on no other) */
#define TF_TEAM		(TF_COND_WAIT | TF_PLAIN_WAIT)	/* (the two: team_thread()) */
#define TF_QUEUE_FED	(1u << 13)	/* takes its batches from a Python queue a loader thread
					 * fills (a BackgroundGenerator): queue_freed() */
#define TF_WK_SOCK	(1u << 14)	/* a worker's helper thread, blocked on a socket now */
#define TF_WK_FUTEX	(1u << 15)	/* a worker's first thread, blocked on a futex now */
#define TF_LISTENER	(1u << 16)	/* accepted a connection: a server's thread (a resource
					 * sharer), whose wakes by children are no batches */

/*
 * A loop fed through a Python queue (an_attr.c, queue_freed): its loader thread, the
 * batches in the queue this epoch, its takes seen (when, and for one that waited for
 * its batch, the batches received by then: all were taken), and what its last epochs
 * said of its steps.
 */
struct qseen {
	uint64_t at;		/* when */
	uint64_t cpu;		/* the loop's CPU ns then */
	uint64_t ws;		/* its wait for it began (0: it did not wait) */
	uint32_t rc;		/* recv then (0: not known), QF_FULL where the queue was full */
#define QF_FULL		(1u << 31)
#define QF_END		(1u << 30)	/* the room for its end (queue_epoch_end) */
#define QF_RC		(QF_END - 1)
};

struct qfree { uint64_t at, cpu; };

#define QF_PREFREE	256	/* a leader's frees kept before it is known fed through a queue */

struct qfed {
	uint32_t relay;		/* the loader thread that fills the queue, last seen */
	uint32_t recv, nseen, cap;	/* its batches received this epoch; its takes seen */
	uint64_t first_rx;	/* this epoch's first receipt */
	uint64_t first_cpu;	/* the loop's CPU then (0: not known) */
	struct qseen *seen;	/* the takes seen, in time order */
	uint32_t depth;		/* the queue's depth, as last found (queue_depth) */
	bool depth_sure;	/* found at an epoch's end */
	double xsum;		/* the depths the epochs' ends said, in all (queue_depth) */
	uint32_t xn;
	uint32_t fetched;	/* its batches whose receipt fetched fds */
	uint64_t pace;		/* its step, as last found (queue_epoch_end) */
	uint64_t cstep;		/* its step's CPU, as last found (queue_cstep) */
	/* the loop's frees of a batch's shared memory since it was known fed so (queue_free) */
	struct qfree *frees;
	uint32_t nfree, capfree;
	uint64_t free_from;	/* recorded from here */
	/*
	 * No bound (queue_unput, an_attr.c): never full, so each seen take, a wait for
	 * a batch, is the rc-th, which the loop's CPU does not overrule
	 */
	bool unbounded;
	uint64_t *rx_at;	/* and then its receipts' times this epoch (0: not known) */
	uint32_t caprx;
};

enum run_state { RS_UNKNOWN = 0, RS_ON, RS_OFF };

#define ON_HIST	4	/* periods on CPU a thread keeps (wk__file_call) */

#define CPU_SLICES	8
#define CPU_HIST	4096	/* a power of two */
#define FETCH_MAX	7	/* fetches of a batch counted, at most */

/* A loop's state after one of its puts (put_held). */
struct put_mark {
	uint64_t pend;		/* batches pending */
	uint64_t takes;
	uint64_t bare, full;	/* msgs_bare, msgs_full */
};

/* A loop's run of puts back to back (put_rules). */
struct put_run {
	uint64_t from;		/* its first put */
	uint64_t after;		/* the put before it */
	uint64_t pend;		/* batches pending before it */
	uint64_t span;		/* the loop's CPU from the put before it to its first */
	uint64_t step;		/* step_cpu then */
	uint32_t len;		/* its puts */
	bool late;		/* its first put was seen late (at its feeder's write) */
};

#define LD_PARKED	2	/* loaders whose batches a loop keeps apart (struct thr) */

struct thr {
	uint32_t tid, pid;
	struct proc *proc;
	char comm[ST_COMM_LEN];
	uint32_t flags;
	uint8_t run, off_state, wrel, wstate;
	uint8_t off_wait;	/* enum st_wait of the current off period */
	uint64_t since;		/* start of the current on/off period */
	uint64_t back_at;	/* off: a call of it began here, the switch back not seen */
	uint64_t stolen;	/* ns its switch out said were stolen, for attr__close_cpu */
	/* its last ON_HIST periods on CPU, [on_from, on_to), on_next the oldest */
	uint64_t on_from[ON_HIST], on_to[ON_HIST];
	uint8_t on_next;
	uint64_t wake_ts;	/* 0: no wakeup in the current off period */
	uint32_t waker, waker2, waker_pid;
	uint64_t wk_out[NWS];	/* descendant worker accounts at the switch-out */
	bool wk_out_valid;
	uint64_t first_ts, last_ts;
	/* who ended its GIL waits, by time in the user window (the heaviest kept) */
	struct gil_by { uint32_t tid; uint64_t ns; } gil_by[4];

	/* closed segments waiting for their syscall (a ring) */
	struct seg *q;
	uint32_t qhead, qlen, qcap;
	uint64_t qseq;		/* sequence number of q's head (segments ever popped) */
	/* the OFF segments no syscall covered yet, by sequence number, in order: a
	 * syscall walks only those (a walk over all held ones was quadratic) */
	uint64_t *unc;
	uint32_t unc_off, unc_len, unc_cap;
	uint64_t sc_horizon;	/* syscall records seen up to this end time */
	uint64_t fin_until;	/* finalized up to here */
	struct ovl *ov;
	uint32_t ovhead, ovlen, ovcap;
	uint64_t ovl_dropped;	/* overlays left out: too far out of order */
	uint32_t nlaunch;	/* launch markers not counted yet */

	struct acc cum;
	uint64_t oncpu;		/* eager on-CPU ns, for choosing the main thread */
	/*
	 * Its last CPU slices [s, e], with oncpu before each: its CPU time at a moment
	 * before its last switches (a syscall's start, known only at its end).
	 */
	struct cpu_slice { uint64_t s, e, before; } slices[CPU_SLICES];
	uint32_t nslices;	/* slices closed, in all (slices[n % CPU_SLICES] is next) */
	/* a loop's last CPU_HIST slices (hist[n % CPU_HIST] is next): queue_place */
	struct cpu_slice *hist;
	uint32_t nhist;
	struct snap *snaps;	/* START, arrivals and step marks, END: in time order */
	uint32_t nsnaps, capsnaps, nfilled;
	struct snap win[2];	/* at the user window's edges (SNAP_FROM, SNAP_TO) */
	bool win_filled[2];
	uint32_t decimate;	/* keep 1 arrival in 2^decimate (very long traces) */
	uint64_t last_arrival;
	uint64_t last_proxy;
	uint64_t rx_start, rx_end;	/* the batch being received (a burst of pipe/socket calls) */
	uint64_t rx_cpu;	/* the thread's on-CPU ns at rx_end */
	uint64_t last_arr_cpu, last_arr_blocks, last_arr_takes;	/* at the last arrival */
	uint64_t poll_at, poll_cpu;	/* the last poll that said a batch was there */
	uint64_t pre_start, pre_end, pre_cpu;	/* its last preemption; its CPU ns after it */
	uint64_t gl_start, gl_end, gl_cpu;	/* its last wait a sibling ended (the GIL); CPU ns then */
	uint64_t pre_take;	/* preempted right after this take: still in next() */
	bool preempted;		/* switched out runnable (not a new task's first wait) */
	uint64_t blocks;	/* times it blocked where a new batch may come (a pipe, epoll) */
	uint32_t pending;	/* batches received and not taken yet */
	/*
	 * Of the loader whose result pipe is ld_ino (0: not known): each DataLoader
	 * iterator has its own.  Another loader's puts or arrivals (a validation loop
	 * within the epoch, the training iterator alive) park them (ld_park), where the
	 * loop was within that loader's epoch, until that loader comes back (an_attr.c,
	 * loader_switch).  feeds_ino: of a feeder thread, the result pipe of the worker
	 * its index pipe (feeds_key, a task_fds key) goes to.
	 */
	uint64_t ld_ino, feeds_ino, feeds_key;
	struct ld_parked {
		uint64_t ino;		/* a loop a relay feeds: the loader's relay's tid */
		uint32_t pending, src;
		/*
		 * A loop a relay feeds: maybe that loader's epoch's tail, taken unseen
		 * between tail_from and tail_at (when the loop left), until one more of
		 * its batches comes (tail_at 0: relay_parked)
		 */
		uint64_t tail_from, tail_at;
	} ld_park[LD_PARKED];
	uint64_t ld_back_put;	/* the put (puts) that brought parked batches back */
	uint32_t ld_relay;	/* a loop a relay feeds: the relay of the batches pending */
	uint64_t ld_back_from, ld_back_at;	/* ... those brought back: maybe a tail (relay_switch) */
	uint64_t ld_since;	/* ... when the loop came to it */
	uint64_t ld_takes;	/* ... its takes then, where no relay feeds it (loader_switch) */
	uint64_t kept_free;	/* a free past the last take's tail, batches pending (tail_free) */
	uint32_t ld_src;	/* a worker of ld_ino's that sent a batch (0: not known) */
	uint32_t ld_back, ld_back_src;	/* parked batches brought back, not taken yet */
	uint64_t read_arrivals;	/* arrivals found by reading the pipe (not a wakeup) */
	bool rx_open;		/* a receipt not ended by a take yet */
	bool rx_foreign;	/* a call not of a receipt's came since its last call (rx_call) */
	bool rx_body;		/* its message's body was read (a header after it: the next) */
	uint64_t rx_conn;	/* the socket a receipt connected to fetch fds, until closed */
	uint32_t rx_fetches;	/* fd fetches (connects) since its last batch arrived */
	uint32_t fetch_hist[FETCH_MAX + 1];	/* receipts a put ended, by their fetches */
	uint32_t fetch_usual;	/* the most common count there */
	/*
	 * A relay's messages: those whose receipt fetched a tensor's fds (fd_msgs), this
	 * one did (rx_fetched), and the thread its batch is owed to until it does (owe:
	 * relay_fetched).
	 */
	uint32_t fd_msgs;
	bool rx_fetched;
	/*
	 * The loop a relay's last batch was counted for while the relay still rebuilds
	 * it (rebuild), until the relay's next call on its pipe or its wake of the loop;
	 * on the loop, that batch (in_relay: pending, not in its queue yet).
	 */
	struct thr *rebuild;
	bool in_relay;
	struct thr *owe;
	uint64_t owe_at;	/* when that message came */
	uint64_t bare_ts;	/* a relay's first message to it with no tensor (relay_bare) */
	/*
	 * Ends of stream a relay passed on to it (relay_bare) since its last put; a
	 * message on its way to it not known yet as a batch (owed_at), counted once as an
	 * end in a run of puts back to back (owed_counted); the ends before and among
	 * that run's puts (end_answers: puts that answer ends of stream).
	 */
	uint32_t ends_relayed, run_ends;
	uint64_t owed_at;
	bool owed_counted;
	bool absorb;		/* a take found by its receipt's end: its put may come late */
	uint64_t takes;		/* batches taken: step boundaries */
	uint64_t last_take;	/* when it last took a batch */
	uint64_t take_cpu;	/* its on-CPU ns there */
	/*
	 * next()'s tail after the take: its on-CPU ns at the end of its last own call
	 * there (a lock hand-off, a tensor's free), and whether a call of the step's own
	 * came since (next() returned before it)
	 */
	uint64_t tail_cpu;
	uint64_t tail_own;	/* on-CPU ns inside the frees there (a big batch's munmap) */
	bool tail_off;
	bool tail_freed;	/* a free came in the tail: the previous batch's, bound over */
	bool put_open;		/* a feeder thread: woken for a put it has not written yet */
	uint64_t take_ts;	/* its last take's time (last_take: the latest) */
	bool take_bare;		/* ... of a message with no fd fetch, where batches have some */
	bool bare_next;		/* ... and no put or batch came since (put_held) */
	/*
	 * It woke feeder fwake at fwake_ts (its CPU then: fwake_cpu), the feeder's fwaker:
	 * which futex word the waker's call woke, or the feeder's call waited on, says
	 * whether that was a put (fx_put in an_attr.c).
	 */
	struct thr *fwake, *fwaker;
	uint64_t fwake_ts, fwake_cpu;
	/*
	 * The end of an epoch: the sampler has no index left, so next() puts none; a
	 * batch received is taken at its receipt's end (seen), one from the cache
	 * without a syscall (not seen).  From the first such take on, a put is held:
	 * a second one before any arrival (the iterator's shutdown, or a persistent
	 * iterator's reset: a put per worker), or a worker's exit, ends the epoch at the
	 * first, and every batch received and not taken was taken before it.
	 */
	uint64_t tail_from;	/* the first take of the epoch's tail (0: not in one) */
	/*
	 * A tail begun at a receipt's take (tail_of: that take; tail_rx: its receipt's
	 * start): the take before it (tail_prev), and the CPU from there to that receipt
	 * (tail_gap), where a loop a relay feeds took batches from the relay's queue
	 * unseen (tail_end)
	 */
	uint64_t tail_of, tail_prev, tail_rx, tail_gap;
	uint64_t iter_takes;	/* takes at a put since the epoch began */
	uint64_t held_put;	/* a put in the tail, not counted yet */
	uint64_t puts;		/* indices it was seen putting (sends, a feeder's writes) */
	uint64_t feeder_notes;	/* its wakes of a feeder waiting on its queue (feeder_noted) */
	uint32_t rx_queue;	/* the queue-fed loop its last receipt counted for (queue_next_fetch) */
	bool rx_more;		/* a message's header read since (queue_next_fetch) */
	uint64_t take_gap;	/* the recent time between its takes (a moving average) */
	uint32_t epoch_ends;	/* epochs' tails ended (tail_end) */
	/*
	 * A persistent pool's next epoch (persistent_workers=True): the new iterator
	 * sends each worker a resume message and waits for each one's answer before it
	 * puts its first indices.  The answers are no batches: where puts end an
	 * epoch's tail back to back (at least two, little CPU between them: no step
	 * ran) and no worker was forked since, the arrivals before the first put after
	 * an answer are answers, or old batches dropped (resume_acks; resume_ack).
	 */
	bool resuming;
	/*
	 * Puts read as a resume whose workers then exited, no answer: a pool's shutdown
	 * (None to each worker), and the pool that lives on may resume next, before the
	 * loop takes a batch (resume_next; rearm_takes: its takes then).
	 */
	bool resume_rearmed;
	uint64_t rearm_takes;
	uint32_t resume_puts, resume_acks;
	uint64_t resume_from;	/* the put that began the resume */
	uint64_t put_cpu;	/* its on-CPU ns at its last put */
	uint64_t put_ts;	/* its last put */
	bool put_exact;		/* ... seen when t made it (not at its feeder's write) */
	/*
	 * What a pool's reset drained (pool_drained): the put before its last one; the
	 * messages it read with no tensor in them (no fd fetched, where some of its
	 * messages did: fetched) and with one; whether the message it reads was counted;
	 * those counts, its takes and the batches pending after its last put (at_put)
	 * and after the one before (at_put0); its runs of puts back to back, the last
	 * (put_run) and the one before (put_run0).
	 */
	uint64_t put_ts0;
	uint64_t msgs_bare, msgs_full;
	bool fetched, rx_counted;
	/* messages read before its first fetch (trace_resumed), from the first one's read */
	uint32_t unfetched;
	uint64_t unfetched_from;
	struct put_mark at_put, at_put0;
	struct put_run put_run, put_run0, put_run1;	/* the last run, the ones before */
	/* its recent CPU from a put to the next receipt's start (a moving average) */
	uint64_t step_cpu;
	/* its recent CPU from a put that took a batch to the next (a moving average) */
	uint64_t put_gap_cpu;
	bool rx_since_put;
	uint64_t put_takes;	/* its takes once its last put took one (UINT64_MAX: none) */
	uint64_t blind_takes;	/* its takes once its last put took one received before
				 * the trace (before_trace; UINT64_MAX: none) */
	uint64_t prev_take;	/* the take before last_take */
	uint8_t last_arr_kind;
	uint64_t arr_ino;	/* the pipe of its last read arrival */
	uint64_t self_body;	/* the pipe whose message header it read was its process's own */
	uint64_t wr_ino, wr_start, wr_end;	/* a bulk file write session (checkpoint) */
	/*
	 * A futex wait chain: timed waits on one address that time out and are issued
	 * again (CPython's GIL waiter, a pthread_cond_timedwait loop) until a wake ends
	 * them.  Its segments are held until it ends: woken by a sibling, it is one
	 * lock wait, timeouts included.
	 */
	bool fx_open, fx_in_next;	/* fx_in_next: it began in the loader's next() */
	bool fx_cond;	/* since its last timeout, a call on the condition's mutex */
	bool fx_short;	/* its last timeout came within GIL_TMO_MAX_NS (the GIL's may) */
	uint64_t fx_addr, fx_start, fx_end, fx_act0, fx_act1;
	uint64_t fx_waddr;	/* the address of its last timed-out wait */
	uint64_t act_out;	/* the process's active-thread integral at the last switch-out */
	uint32_t wr_dev;
	uint64_t own_arrivals, direct_arrivals, proxy_arrivals, step_marks;

	uint64_t fed_wakes;	/* woken by a descendant process */
	uint64_t relay_fed;	/* woken by a relay sibling */
	uint64_t relay_wake_at;	/* a relay's wake ended its wait here: undecided (attr__relay_woke) */
	uint64_t relay_given;	/* woke a sibling as a relay */
	uint32_t relay_early;	/* batches its first relay received between the relay's
				 * wake of it and the wake's decision (TF_RELAY_FED) */
	uint32_t relay_blind;	/* batches a relay of its process received before that */
	/*
	 * Of those, in a pool started in the trace (relay_alternates): the receipts that
	 * came after a put of its (alt_puts: its puts at the last receipt), and its puts
	 * since the first (alt_put: their times, up to ALT_PUTS; nalt_puts: how many).
	 */
#define ALT_PUTS	16
	uint32_t alternations, nalt_puts;
	uint64_t alt_puts, alt_put[ALT_PUTS];
	bool qf_in;		/* a take of its own, as a loop fed through a queue (queue_take) */
	struct qfed *qf;	/* that queue's state, once it is known so (TF_QUEUE_FED) */
	bool qf_freed;		/* queue_place is placing takes at the loop's frees */
	/* a process leader's last frees before that (queue_free): for the queue's plan */
	struct qfree *prefree;
	uint32_t nprefree;
	/* its last waits on a Python lock a sibling ended: when, and which (queue_freed) */
#define PYW_LAST	8
	uint64_t pyw_ts[PYW_LAST], pyw_cpu[PYW_LAST], pyw_ws[PYW_LAST];
	uint32_t pyw_tid[PYW_LAST], pyw_rc[PYW_LAST], npyw;
	uint32_t woke_rc;	/* at its last wake by a sibling: its queue's batches (before its
				 * queue is known, the waker's: pyw_rc) */
	uint64_t first_rx;	/* its first batch from a worker */
	uint64_t blind_end;	/* an epoch ended here whose last takes it could not count
				 * (relay_tail) */
	bool pool_before;	/* its first put went to a pool there before the trace */
	/*
	 * That blind epoch's tail (blind_count): the take it began after, its takes
	 * counted (cached), a feeder the epoch's puts went to, and, once a
	 * persistent pool resumed (its workers answered: not a pool's shutdown, whose
	 * puts go to its workers too), the new iterator's puts before its first batch
	 * (its prefetch, blind_pf_open), whether one went to that feeder, and the takes
	 * added (blind_resumed).
	 */
	uint64_t blind_from;
	uint32_t put_feeder;	/* the feeder thread its put woke, or that wrote its index */
	uint32_t sib_waker;	/* not known as a feeder yet: the sibling that first woke it
				 * since its last write (attach: a put's wake, feeder_send) */
	uint64_t sib_wake_cpu;	/* that sibling's on-CPU ns then */
	uint64_t late_cpu;	/* its on-CPU ns at a put seen late, where known (put_rules) */
	uint32_t feeders[3];	/* put_feeder of its last 3 puts, the last first */
	uint32_t blind_feeder, blind_cached, blind_prefetch, blind_tail;
	bool blind_counting, blind_pf_open, blind_same;
	uint64_t last_woken;
	uint32_t last_waker;
	/*
	 * A wakeup while it was still on its CPU (race_ts 0: none): a wake that raced
	 * its going to sleep (switch_out in an_core.c)
	 */
	uint64_t race_ts;
	struct st_wakeup race_wk;
	uint8_t race_flags;
	/* the last wakeup by network traffic (a softirq), and the peer behind it */
	uint64_t net_woken;
	uint32_t net_peer;	/* pid of the traced task the softirq ran on (loopback sender) */
	uint32_t net_wakes;	/* receive calls a softirq ended */
	uint32_t peer;		/* the current wait: pid whose traffic ended it */
	uint8_t wake_flags;	/* the current wait: SEG_SOFTIRQ, SEG_NET */
	/* collective waits (main thread candidates only) */
	struct coll *colls;
	uint32_t ncolls, capcolls;
	uint64_t colls_dropped;
	uint64_t coll_gap_end;	/* end of the last collective_wait piece */

	struct stall stalls[NSTALLS];	/* min-heap on dur */
	uint32_t nstalls;
	struct stall cur;	/* the stall being merged */
	uint64_t cur_longest;
	struct timeline *tl;	/* NCAT series */
	struct iost *io;	/* its own file I/O (leaders and loggers: main candidates) */
	struct period *per;	/* its periodic pattern, when watched */
	uint64_t per_seen;	/* second pass: occurrences of the picked signature */
	uint32_t per_mark;	/* ... the next of period.marks to come */
	bool per_done;		/* its steps are known otherwise: no longer watched */
	bool per_cut;		/* no longer watched: a worker's, it seemed (an_period.c) */
};

#define PF_EXITED	(1u << 0)
#define PF_GPU_PROBES	(1u << 1)	/* GPU sync probes may cover its threads */
#define PF_KNOWN	(1u << 2)	/* seen in a proc/fork/comm record: traced */
#define PF_NET_PEERS	(1u << 3)	/* its threads receive traffic from an unrelated traced process */
#define PF_FORKS	(1u << 4)	/* forked a process in the trace (its workers start there) */
#define PF_FORKED	(1u << 5)	/* forked in the trace (not there at attach) */
#define PF_EXECED	(1u << 6)	/* exec'd a program in the trace */
#define PF_LAUNCHED	(1u << 7)	/* runs a program its parent launched (an__launched) */
#define PF_FED		(1u << 8)	/* a thread of it received a batch from a worker (direct) */
#define PF_RELAYS	(1u << 9)	/* a thread of it, not its first, is a relay (attr__is_relay) */
#define PF_GPU_DEV	(1u << 10)	/* it opened or held a GPU device (/dev/nvidia0, ...) */
#define PF_MP_SAYS	(1u << 11)	/* its command line is multiprocessing's forkserver's */
#define PF_SERVES	(1u << 12)	/* accepted a connection before it read tasks (an__served) */
#define PF_TASKS	(1u << 13)	/* read tasks: two reads of pipes (an__served) */
#define PF_TASKQ	(1u << 14)	/* two of its workers read one pipe of its: a process pool's
					 * task queue (ancestors_pipe, an_attr.c) */

struct iost {
	uint64_t reads, read_bytes, read_ns;
	uint64_t pages_req, pages_miss, fault_pages;
	uint64_t writes, write_bytes, write_ns, opens;
	uint64_t blk_reqs, blk_bytes, blk_read_bytes;
	struct hist rd_lat, wr_lat, blk_lat;
	struct timeline *tput;	/* bytes read (series 0) and written (1) per bucket */
};

#define MAX_LOGGERS 8
/*
 * Ancestors a process's state reaches (worker counts, descendant tests): a deeper
 * process tree (hostile, or a shell recursion) would make every state change cost its
 * depth, and a chain of 100,000 processes quadratic.
 */
#define AN_MAX_DEPTH 64

struct proc {
	uint32_t pid, ppid;
	struct proc *parent;
	char comm[ST_COMM_LEN];
	char *cmdline;
	char *argv;		/* the command line of its exec in the trace, when read */
	char *cpus;		/* the CPUs it may run on ("0-3,8"; NULL: not known) */
	uint64_t argv_ts;	/* the instant of that exec (its record's) */
	uint32_t flags, nthreads, nthreads_seen;
	uint64_t first_ts, last_ts;
	uint64_t gpu_probes_at;	/* when its first GPU sync probe was attached (0: none) */
	uint64_t gpu_fired_at;	/* the latest attach of a GPU sync probe that fired in it */
	uint32_t n_ws[NWS];	/* own threads in each worker state */
	uint32_t n_sock;	/* of its helper threads, those blocked on a socket now */
	bool lead_futex;	/* its first thread is blocked on a futex now */
	uint64_t act_cum, act_since;	/* integral of its threads on CPU or runnable (ns) */
	uint8_t dstate;		/* derived: enum wst, WS_NONE */
	uint64_t dsince;
	uint64_t own[NWS];	/* process-ns in each derived state, inside the user window */
	uint32_t sub_n[NWS];	/* descendant processes in each derived state */
	uint64_t sub_since, sub_cum[NWS];
	/* of them, under a program it launched (an__launched): not its loader's */
	uint32_t xsub_n[NWS];
	uint64_t xsub_cum[NWS];
	uint64_t fed_given;	/* wakes its threads gave to an ancestor's threads */
	uint64_t msgs;		/* messages its threads wrote into pipes (a worker: batches) */
	uint32_t task_reads;	/* its reads of pipes (up to 2: PF_TASKS, an__served) */
	uint64_t kid_msgs;	/* messages its children wrote (attr__helper_queue) */
	uint32_t kids_fed;	/* children that wrote one */
	uint64_t task_mark;	/* its parent's kid_msgs at its first read of a pipe */
	uint64_t out_ino;	/* the pipe its batches were read from (its loader's result queue) */
	uint64_t wrote_ino;	/* the last pipe it wrote */
	uint64_t gil_word;	/* CPython's GIL: its condition's futex word (0: not known; gil_word) */
	/* the words its threads waited on most as a condition variable's or a mutex's
	 * (the GIL's among them, known so before gil_word is): attr__fx_handoff */
	uint64_t tw_word[16];
	uint32_t tw_n[16];	/* waits on each */
	uint32_t ntw;
	/*
	 * A loader's iter() creates its queues (pipes) before it forks its workers: the
	 * first pipe its process created since it last forked a process or lost a child
	 * (pipe_mark), and for a child, its parent's mark at its fork (iter_at).
	 */
	uint64_t pipe_mark, iter_at;
	uint64_t fork_ts;	/* when it last forked a process (a new pool's worker) */
	uint32_t live_children;	/* its child processes that have not exited */
	struct thr *loggers[MAX_LOGGERS];
	uint32_t nloggers;
	struct ident *id;	/* from ENV records (or the parent's, after a fork); NULL */
	struct iost *io;
	struct timeline *tl;	/* NWS series: worker activity */
	struct proc *orphan_next;	/* listed before its parent: waiting for it (an_core.c) */
	bool orphan;
	/* an_finish.c: its busiest thread's score, fed by workers, a busy descendant */
	uint64_t score;
	bool fed_thread, busy_below;
};

/* A file seen in an open or fd record: its path, for evidence and GPU devices. */
#define FL_GPU_DEV	(1u << 0)
#define FL_CODE		(1u << 1)	/* Python's source or bytecode, a shared object: an
					 * import's, never a step's data (period_sig) */
#define FL_PROCFS	(1u << 2)	/* a file of /proc or /sys: a process's or the
					 * kernel's figures, never a sample (period_sig) */

struct file {
	uint32_t dev, flags;
	uint64_t ino;
	uint32_t path;		/* offset in the path arena */
	uint64_t read_bytes, write_bytes, reads, writes;
	uint64_t wait_ns;	/* main-thread stall time on it (filled by finish) */
};

/*
 * What ran on each CPU, as far as the trace shows (an_cpu.c).  Every switch record
 * says which task left a CPU and which took it, every wakeup which task was on the
 * waker's CPU: samples of "task X ran on CPU c at time t".  Between two samples of
 * one CPU the task of both ran, or, when they differ, each half of the time.
 */
enum mcat { MC_IDLE = 0, MC_JOB, MC_OTHER, NMC };

/* A reading of a CPU's idle time so far (an IDLE record). */
struct idle_rd {
	uint64_t ts, since, idle;
};

struct cpu_st {
	uint64_t last_ts;	/* time of the last sample */
	uint32_t last_tid;	/* the task on the CPU from then on (0: idle) */
	bool last_traced, known;
	bool read;		/* its idle time corrected from readings, somewhere */
	bool rd_ok;		/* rd_idle is exact */
	uint64_t job_ns, idle_ns;	/* the job's time on it and its idle time, in the window */
	uint64_t covered;	/* credited up to here without a sample (readings only) */
	/* the last reading matched, what the samples credited since, those not yet */
	uint64_t rd_ts, rd_idle;
	uint64_t acc[NMC];
	struct idle_rd *pend;
	uint32_t head, npend, cappend;
	/* since the last reading: where the samples credited idle and other time */
	struct cpu_span { uint64_t s, e; int k; } *spans;
	uint32_t nspans, capspans;
};

/*
 * An untraced task that ran on a CPU.  Its CPU time comes from the runtime the
 * tracer reads at its switches (exact between two of them), else from the samples.
 */
enum { OT_SAMPLED = 0, OT_RUNTIME, NOT };

struct other {
	uint32_t tid;
	uint64_t ns[NOT];	/* CPU-ns inside the user window (the whole trace without one) */
	uint64_t ns_before;	/* of ns[OT_SAMPLED]: before the first runtime reading */
	uint64_t ns_out;	/* of ns[OT_SAMPLED]: since the last reading (all, before one) */
	uint64_t rt, rt_ts;	/* the last runtime read, and when */
	uint64_t rt_first;	/* when the first was read (0: none yet) */
	struct timeline *tl;	/* NOT series; the first OTHER_TL_MAX tasks only */
};

struct machine {
	struct cpu_st *cpu;
	uint32_t ncpu;		/* entries of cpu[] */
	uint64_t ns[NMC];	/* CPU-ns inside the user window (or the whole trace) */
	struct timeline *tl;	/* NMC series */
	struct hmap oidx;	/* tid -> index + 1 in oth[] */
	struct other *oth;
	uint32_t noth, capoth, ntl;
	bool read;		/* idle readings corrected some CPU's figures */
};

/* A pipe open in several traced processes when tracing began (FD records). */
#define PIPE_HOLDERS 4
struct pipe_holders {
	uint32_t pid[PIPE_HOLDERS];
};

/* A --from/--to value: seconds after the trace start, or absolute ns (@NS). */
struct an_time {
	int kind;		/* 0 none, 1 relative, 2 absolute */
	double rel_s;
	uint64_t abs_ns;
};

/* Parses a --from/--to value of len bytes (0: none): seconds (1.5) or @NS; 0 or -1. */
int an_time__parse(const char *s, size_t len, struct an_time *t);
/* Its time: t0 + seconds, or the absolute ns; def when none; UINT64_MAX past 2^64. */
uint64_t an_time__resolve(const struct an_time *t, uint64_t t0, uint64_t def);

struct an;

/*
 * An observer of the pass: a view drawn from the model as the pass builds it (the
 * Perfetto export), so that it can never disagree with the report.  NULL when unused:
 * the report pays nothing.  Any callback may be NULL.
 */
struct an_obs {
	void *ctx;
	/* the trace is open (a->start_ts, a->info), before its first record */
	void (*begin)(void *ctx, struct an *a);
	/*
	 * [s, e) of t's life was accounted in category cat (enum cat): what every
	 * breakdown, stall and step adds up.  Per thread in time order, without gaps,
	 * cut at overlay and snapshot edges.  g is the segment it is a piece of, with its
	 * evidence (on or off CPU; off: the state, syscall, fd, wakers and how they relate
	 * to t); runnable: after the wakeup that ended the wait, waiting for a CPU.
	 */
	void (*piece)(void *ctx, struct an *a, const struct thr *t, uint64_t s, uint64_t e,
		      int cat, const struct seg *g, bool runnable);
	/* every record, once the pass took it in (threads, names and files updated) */
	void (*record)(void *ctx, struct an *a, const struct st_event *ev);
};

struct an_opts {
	const char *path;
	struct an_time from, to;
	uint32_t main_tid;
	bool verbose;
	struct period_pick period;	/* a second pass: boundaries of this pattern */
	bool period_all;	/* watch the workers' patterns too (no cut, an_period.c) */
	const struct an_obs *obs;	/* NULL: none */
	bool no_charts;		/* no chart will be drawn: the timelines only charts read
				 * (threads', workers', I/O throughput) keep nothing
				 * (tl_grid__new()) */
};

#define AN_ARENA_MAX	(8u << 20)
#define AN_FILES_MAX	65536

#define AN_THR_CACHE 64
#define AN_FILE_CACHE 64

/*
 * What the tracer cost, from its COST record: the BPF programs' share of one CPU
 * (sampled windows of the kernel's accounting, less the accounting's own share of
 * each run; -1 when not measured) and the tracer process's; both per event.
 */
#define AN_COST_PROGS	32

struct an_cost {
	bool known;
	double bpf, tracer;		/* shares of one CPU */
	double duration_s, sampled_s, setup_cpu_s, acct_ns;
	uint32_t windows, nprogs;
	struct {
		char name[16];
		uint64_t runs, run_ns;		/* in the windows */
		double runs_per_s, ns_per_run;
	} prog[AN_COST_PROGS];
};

struct an {
	struct thr *thr_cache[AN_THR_CACHE];
	const struct an_opts *o;
	const struct an_obs *obs;	/* o->obs */
	struct st_reader *r;
	const struct st_trace_info *info;
	uint64_t start_ts, now, end_ts;
	uint64_t win_from, win_to;	/* user window, [0, UINT64_MAX] when open */
	bool user_window;
	struct hmap threads;	/* tid -> struct thr * */
	struct hmap procs;	/* pid -> struct proc * */
	struct hmap feeder_fds;	/* hash(pid, dev, ino) -> 1: fds batches arrive on */
	struct hmap pipe_writer;	/* pipe ino -> the last child process that wrote it */
	struct hmap result_pipes;	/* pipe ino -> a worker whose batches were read from it */
	/* hash(pid, dev, ino) -> messages the process wrote itself into such a pipe, unread */
	struct hmap self_msgs;
	struct hmap task_fds;	/* hash(pid, dev, ino) -> 1: pipes its workers read indices on */
	struct hmap pipe_idx;	/* hash(0, dev, ino) -> index + 1 in pipes[]: open at attach */
	struct pipe_holders *pipes;
	uint32_t npipes, cappipes;
	struct hmap file_idx;	/* hash(dev, ino) -> index + 1 in files[] */
	struct file_slot {
		uint64_t key;
		uint32_t idx;	/* index + 1 in files[], 0: empty */
	} file_cache[AN_FILE_CACHE];	/* in front of file_idx (an__file()) */
	struct file *files;
	uint32_t nfiles, capfiles;
	char *arena;
	uint32_t arena_len, arena_cap;
	struct hmap probe_role;	/* id + 1 -> role + 1 */
	struct hmap probe_at;	/* id + 1 -> when it was attached (GPU sync probes) */
	struct hmap orphans;	/* ppid -> the procs listed before it (a list by orphan_next) */
	/*
	 * hash(pid, futex word's 16-byte block) -> the first thread that waited on it,
	 * | FX_SHARED once another thread of the process did (a lock, the GIL: not a
	 * queue feeder's own wait for a put)
	 */
	struct hmap fx_waiters;
	struct tl_grid grid;
	uint64_t events, skipped, sched_events, syscalls;
	uint64_t disorder;	/* records older than the latest: tolerated, counted */
	uint64_t inconsistent;	/* switch/wakeup sequences that did not fit (drops) */
	uint64_t unseen_in;	/* switches in the kernel did not show, placed by ST_SW_RAN */
	uint64_t raced_wakes;	/* wakes reported before the switch to the sleep they end */
	/*
	 * Plausibility of the wakers: sleeps that only a task can end (a pipe read that
	 * got data, a futex wait that was woken) with a wakeup seen, and how many of
	 * those wakeups the trace credits to an interrupt.
	 */
	uint64_t task_wakes, task_wakes_irq;
	struct machine m;
	uint32_t nperiod;	/* threads whose periodic pattern is watched */
	/* the second pass: the picked signature's occurrences (CPU ns), for
	 * period__batches(); NULL when not collected */
	uint64_t *per_seq[PER_LOADS];
	uint32_t per_n[PER_LOADS], per_cap[PER_LOADS];
	uint32_t per_others;	/* kept of all but the first loading signature */
	bool have_probes, have_step_probes, have_gpu_probes;
	uint64_t gpu_probes_at;	/* when the first GPU sync probe for every process was attached */
	bool have_ranks;	/* some process has a distributed identity */
	/*
	 * The tracer could not tell interrupt context (irq_context "none", or a tracer
	 * older than the key): a softirq that delivers loopback traffic then reads as a
	 * wakeup by the task it interrupted, the sender.
	 */
	bool irq_unknown;
	bool have_trailer;
	struct st_trailer trailer;	/* how the tracer stopped, and what it wrote */
	struct an_cost cost;		/* what the tracer cost (its COST record) */
	int read_error;
};

/* an_core.c */
struct thr *an__thread_slow(struct an *a, uint32_t tid, uint32_t pid);
struct thr *an__find_thread_slow(struct an *a, uint32_t tid);

/*
 * Thread tid, NULL when not seen.  Inline: a few threads make most events, found in a
 * direct-mapped cache before the hash map (threads are never freed during the pass,
 * so an entry cannot go stale), and the call was most of the cost of a lookup that
 * runs several times an event.
 */
static inline struct thr *an__find_thread(struct an *a, uint32_t tid)
{
	struct thr *c = a->thr_cache[tid & (AN_THR_CACHE - 1)];

	return c && c->tid == tid ? c : an__find_thread_slow(a, tid);
}

/* Thread tid, made when new; its process pid when not known yet (pid 0: not known). */
static inline struct thr *an__thread(struct an *a, uint32_t tid, uint32_t pid)
{
	struct thr *t = an__find_thread(a, tid);

	return t && (t->proc || !pid) ? t : an__thread_slow(a, tid, pid);
}
struct proc *an__proc(struct an *a, uint32_t pid);
/* p has exited, and its pid was not used again by a fork since (first_ts: the fork's) */
static inline bool an__proc_gone(const struct proc *p)
{
	return (p->flags & PF_EXITED) && p->last_ts >= p->first_ts;
}
struct proc *an__find_proc(struct an *a, uint32_t pid);
bool an__is_descendant(const struct proc *p, const struct proc *anc);
int an__cmp_u64(const void *x, const void *y);
bool an__is_python(const struct proc *p);
/* Every thread, every process of the pass (hash map order). */
#define FOR_THREADS(a, t)                                                            \
	for (size_t _i = 0; _i < (a)->threads.cap; _i++)                             \
		if ((a)->threads.keys[_i] && (a)->threads.keys[_i] != UINT64_MAX &&  \
		    ((t) = (struct thr *)(uintptr_t)(a)->threads.vals[_i]))
#define FOR_PROCS_(a, p, j)                                                          \
	for (size_t j = 0; j < (a)->procs.cap; j++)                                  \
		if ((a)->procs.keys[j] && (a)->procs.keys[j] != UINT64_MAX &&        \
		    ((p) = (struct proc *)(uintptr_t)(a)->procs.vals[j]))
#define FOR_PROCS(a, p) FOR_PROCS_(a, p, _j)

bool an__launched(const struct proc *p);
bool an__mp_server(const struct proc *p);
struct proc *an__pool_owner(const struct proc *p);
void an__relaunch(struct an *a, struct proc *p);
void an__served(struct an *a, struct proc *p, bool accepted);
bool an__is_worker(const struct proc *q, const struct proc *p);
bool an__worker_woke(struct an *a, const struct thr *t, uint32_t waker_tid, uint32_t waker_pid);
void an__event(struct an *a, const struct st_event *ev);
void an__end(struct an *a);
const char *an__path(const struct an *a, uint32_t dev, uint64_t ino);
struct file *an__file(struct an *a, uint32_t dev, uint64_t ino, bool create);
void an__free(struct an *a);

/* an_attr.c */
void attr__close_cpu(struct an *a, struct thr *t, uint64_t end);
void attr__close_off(struct an *a, struct thr *t, uint64_t end);
void attr__syscall(struct an *a, struct thr *t, const struct st_event *ev);
/*
 * A probe's role for the analysis: enum st_probe_role, or AN_PROBE_COLL for a probed
 * function of a collective library (NCCL, RCCL): its time is collective_wait.
 */
#define AN_PROBE_COLL	0x100
void attr__probe(struct an *a, struct thr *t, uint64_t s, uint64_t e, int role);
struct snap *attr__snap(struct an *a, struct thr *t, uint64_t ts, enum snap_kind kind);
enum arr_kind { ARR_WAKE = 1, ARR_POLL, ARR_READ, ARR_HDR /* a read of 4 bytes */ };
/*
 * Returns whether the arrival was merged into the previous one (the same batch); ino:
 * the pipe a read arrival read (0: not a read).
 */
bool attr__arrival(struct an *a, struct thr *t, uint64_t ts, bool direct, int kind,
		   uint64_t ino);
void attr__send(struct an *a, struct thr *t, uint64_t ts);
void attr__preempted(struct thr *t, uint64_t ts);
void attr__resumed(struct thr *t, uint64_t ts);
void attr__feeder_woken(struct an *a, struct thr *f, struct thr *w, uint64_t ts);
bool attr__gil_ack(const struct thr *f, const struct thr *w, uint64_t ts, bool timer);
uint64_t attr__cpu_at(const struct thr *t, uint64_t ts);

/*
 * t's CPU time at ts for its periodic pattern (an_period.c): attr__cpu_at(), and past
 * a call made where t read as off its CPU (back_at: the switch back was not seen), the
 * time since that call's start.
 */
static inline uint64_t an__period_cpu(const struct thr *t, uint64_t ts)
{
	return t->back_at && ts >= t->back_at ? attr__cpu_at(t, t->back_at) + ts - t->back_at :
	       attr__cpu_at(t, ts);
}
bool attr__helper_queue(struct an *a, uint32_t feeder);
void attr__end(struct an *a, struct thr *t, uint64_t ts);
void attr__wake_known(struct an *a, struct thr *t);
void attr__relay_woke(struct an *a, struct thr *t, const struct st_ev_syscall *sc);
void attr__thread_started(struct an *a, struct thr *t, uint64_t ts);
void attr__worker_gone(struct an *a, struct proc *p, uint64_t ts);
void attr__forked(struct an *a, struct proc *p, uint64_t ts);
void attr__fd(struct an *a, const struct st_event *ev);
void attr__finalize(struct an *a, struct thr *t, bool all);
void attr__become_logger(struct an *a, struct thr *t);
bool attr__is_relay(const struct thr *t);
bool attr__fx_handoff(const struct thr *t, const struct st_ev_syscall *sc);
bool attr__relay_woke_sibling(const struct thr *t);
int attr__classify(struct an *a, const struct thr *t, const struct seg *s);
bool attr__file_call(unsigned nr, bool has_fd, uint8_t kind);
bool attr__is_read_syscall(unsigned nr);

/* an_dist.c: distributed identity, from ENV records */
void dist__env(struct an *a, const struct st_event *ev);
void dist__inherit(struct proc *child, const struct proc *parent);
bool dist__is_rank(const struct proc *p);

/* an_cpu.c: what ran on the CPUs */
void cpu__init(struct an *a);
void cpu__switch(struct an *a, const struct st_event *ev);
void cpu__wakeup(struct an *a, const struct st_event *ev);
void cpu__runtime(struct an *a, const struct st_event *ev);
void cpu__idle(struct an *a, const struct st_event *ev);
void cpu__end(struct an *a);
void cpu__free(struct an *a);

/* an_period.c: steps of loops without batches or markers */
void period__event(struct an *a, struct thr *t, uint32_t sig, uint64_t ts);
/*
 * Whether period__event() does anything for t: in the second pass only for the picked
 * thread, in the first only while t is watched.  Its callers ask first: most events
 * are of threads no longer watched, and the call alone was 1% of the analysis.
 */
static inline bool period__watches(const struct an *a, const struct thr *t)
{
	return a->o->period.tid ? a->o->period.tid == t->tid : !t->per_done;
}
bool period__best(const struct thr *t, struct period_pick *pick);
bool period__batches(struct an *a, struct period_pick *pick);
void period__name(const struct period_pick *pk, char *buf, size_t len);
void period__free(struct thr *t);

/* an_loader.c: worker process states */
void wk__set_thread(struct an *a, struct thr *t, uint8_t ws, uint8_t wait, uint64_t ts);
void wk__flush_sub(struct proc *p, uint64_t ts);
uint64_t wk__active(struct proc *p, uint64_t ts);
void wk__syscall_io(struct an *a, struct thr *t, const struct st_event *ev);
void wk__file_call(struct an *a, struct thr *t, const struct st_event *ev);
void wk__block(struct an *a, const struct st_event *ev);
void wk__pcache(struct an *a, const struct st_event *ev);
void wk__end(struct an *a, struct proc *p, uint64_t ts);
void wk__launch_move(struct an *a, struct proc *p, bool launched);
void wk__server_move(struct an *a, struct proc *p, bool on);
void wk__loader_cum(const struct proc *p, uint64_t cum[NWS]);

#endif
