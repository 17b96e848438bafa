// SPDX-License-Identifier: MIT
/*
 * Data-loader side: what worker processes are doing, and their file I/O.
 *
 * A process is in one derived state at a time, the first in enum wst's order that
 * one of its threads is in: on CPU, on storage, on the network, runnable, asleep or
 * on a lock, idle.  Each ancestor
 * process keeps counts of its descendants in each state and integrates them over
 * time (sub_cum), so "what were my workers doing during this wait" is the difference
 * of two readings: exact, and O(depth) per state change.  The descendants under a
 * program a process launched (a server it started: an__launched) are counted apart
 * too (xsub): they are no workers of its loader, but a worker's own are.
 */
#include <stdlib.h>
#include <string.h>

#include "an_core.h"

void wk__flush_sub(struct proc *p, uint64_t ts)
{
	uint64_t dt = ts - p->sub_since;
	uint32_t x = 0;

	if (ts <= p->sub_since)
		return;
	for (int i = 0; i < NWS; i++) {
		p->sub_cum[i] += (uint64_t)p->sub_n[i] * dt;
		x |= p->xsub_n[i];
	}
	/* launched programs are rare: their integral mostly has nothing to add (this runs
	 * per switch, for each ancestor) */
	for (int i = 0; x && i < NWS; i++)
		p->xsub_cum[i] += (uint64_t)p->xsub_n[i] * dt;
	p->sub_since = ts;
}

/* p's descendants' time in each state, up to its last flush, less the launched ones' */
void wk__loader_cum(const struct proc *p, uint64_t cum[NWS])
{
	uint64_t x = 0;

	/* mostly nothing launched ever ran under p: its descendants' time as it is */
	for (int i = 0; i < NWS; i++)
		x |= p->xsub_cum[i];
	if (!x) {
		memcpy(cum, p->sub_cum, sizeof(p->sub_cum));
		return;
	}
	for (int i = 0; i < NWS; i++)
		cum[i] = p->sub_cum[i] > p->xsub_cum[i] ? p->sub_cum[i] - p->xsub_cum[i] : 0;
}

static uint64_t clip(const struct an *a, uint64_t s, uint64_t e)
{
	if (s < a->win_from)
		s = a->win_from;
	if (e > a->win_to)
		e = a->win_to;
	return e > s ? e - s : 0;
}

static void own_flush(struct an *a, struct proc *p, uint64_t ts)
{
	if (p->dstate != WS_NONE && ts > p->dsince) {
		p->own[p->dstate] += clip(a, p->dsince, ts);
		tl__add_span(&a->grid, p->tl, p->dstate, p->dsince, ts);
	}
	if (ts > p->dsince)
		p->dsince = ts;
}

static void proc_set(struct an *a, struct proc *p, uint8_t st, uint64_t ts)
{
	uint8_t old = p->dstate;
	struct proc *q = p->parent, *c = p;

	own_flush(a, p, ts);
	for (int depth = 0; q && depth < AN_MAX_DEPTH; c = q, q = q->parent, depth++) {
		bool x = an__launched(c) || (c == p && an__mp_server(p));

		wk__flush_sub(q, ts);
		if (old != WS_NONE && q->sub_n[old])
			q->sub_n[old]--;
		if (old != WS_NONE && x && q->xsub_n[old])
			q->xsub_n[old]--;
		if (st != WS_NONE) {
			q->sub_n[st]++;
			q->xsub_n[st] += x;
		}
	}
	p->dstate = st;
	p->dsince = ts;
	/* a process with a traced parent may be a data-loader worker: chart it */
	if (!p->tl && p->parent && st != WS_NONE)
		p->tl = tl_grid__new(&a->grid, a->o->no_charts ? 0 : NWS);
}

/*
 * The integral over time of p's threads on CPU or runnable, up to ts: how much its
 * threads wanted to run meanwhile (a GIL holder runs or waits for a CPU; a thread
 * blocked elsewhere holds nothing a sibling waits for).
 */
uint64_t wk__active(struct proc *p, uint64_t ts)
{
	if (ts > p->act_since) {
		p->act_cum += (uint64_t)(p->n_ws[WS_CPU] + p->n_ws[WS_RUNQ]) * (ts - p->act_since);
		p->act_since = ts;
	}
	return p->act_cum;
}

/*
 * Thread t is in worker state ws from ts, having left the CPU in a wait of kind wait.
 * Past its exit record it is in none: the kernel tears its process down (its memory,
 * its files), no work of the loader's.  A worker's last thread waited 1.2 s there for
 * a discard of a deleted file's blocks, on a disk another program kept busy: read as
 * the workers waiting on storage, it made a prep-bound job's verdict dataloader_fetch
 * (pt_ep_w2_pf2 attach, under load).
 *
 * A process whose first thread waits on a futex while one of its helper threads is
 * blocked on a socket waits on the network: a Dataset that fetches its samples on a
 * thread pool (concurrent range requests, boto3's transfers, a client's I/O thread)
 * waits for the pool's futures, and the pool's threads for the store's answers.  Read
 * as a lock, it read "workers slept or waited on locks" on an object-store loader (a
 * user's script: 3 GETs a sample on a pool, 4 ms each, 0.64 of the workers' busy time
 * "sleeping", none on the network).  Helpers blocked on a socket while the first
 * thread waits for work (a pipe) or sleeps stay idle: a resource sharer's, an RPC
 * client's background thread wait all the time.
 */
void wk__set_thread(struct an *a, struct thr *t, uint8_t ws, uint8_t wait, uint64_t ts)
{
	struct proc *p = t->proc;
	uint8_t old = t->wstate, st;
	uint32_t f = 0;

	if (t->flags & TF_EXITED)
		ws = WS_NONE;
	else if (!(t->flags & TF_LEADER) && ws == WS_IDLE && wait == ST_WAIT_SOCK)
		f = TF_WK_SOCK;
	else if ((t->flags & TF_LEADER) && ws == WS_SLEEP && wait == ST_WAIT_FUTEX)
		f = TF_WK_FUTEX;
	if (old == ws && (t->flags & (TF_WK_SOCK | TF_WK_FUTEX)) == f)
		return;
	if (p) {
		wk__active(p, ts);
		p->n_sock -= (t->flags & TF_WK_SOCK) && p->n_sock;
		p->n_sock += f == TF_WK_SOCK;
		p->lead_futex = f == TF_WK_FUTEX ? true :
				t->flags & TF_WK_FUTEX ? false : p->lead_futex;
	}
	t->flags = (t->flags & ~(TF_WK_SOCK | TF_WK_FUTEX)) | f;
	t->wstate = ws;
	if (!p)
		return;
	if (old != WS_NONE && p->n_ws[old])
		p->n_ws[old]--;
	if (ws != WS_NONE)
		p->n_ws[ws]++;
	for (st = 0; st < NWS && !p->n_ws[st]; st++)
		;
	if (st == WS_SLEEP && p->lead_futex && p->n_sock)
		st = WS_NET;
	if (st != p->dstate)
		proc_set(a, p, st, ts);
}

/*
 * The piece [s, e) of a file call [from, to) that p's thread spent on CPU: moves it in
 * p's own accounts and timeline from CPU to storage, where it was counted; its length.
 */
static uint64_t cpu_to_io(struct an *a, struct proc *p, uint64_t s, uint64_t e, uint64_t from,
			  uint64_t to)
{
	uint64_t w;

	s = s > from ? s : from;
	e = e < to ? e : to;
	if (e <= s)
		return 0;
	w = clip(a, s, e);
	p->own[WS_CPU] -= w < p->own[WS_CPU] ? w : p->own[WS_CPU];
	p->own[WS_IO] += w;
	/* all of [s, e) moves: 1 ns a ns (tl__add_spread()'s per-ns rate, less its division) */
	tl__spread(&a->grid, p->tl, WS_CPU, s, e, -1.0);
	tl__spread(&a->grid, p->tl, WS_IO, s, e, 1.0);
	return e - s;
}

/* moved ns of a descendant count's time on CPU were on storage (wk__file_call) */
static void cpu_cum_to_io(uint64_t cum[NWS], uint64_t moved)
{
	cum[WS_CPU] -= moved < cum[WS_CPU] ? moved : cum[WS_CPU];
	cum[WS_IO] += moved;
}

/*
 * A file call ended on a worker's thread: its time on CPU in the call was the file
 * system's and the device's, storage as its sleeps there are (and as the main
 * thread's file calls are its I/O).  An O_DIRECT 4 KiB read on a VM spends half its
 * time on CPU, submitting the request: counted as prep, it made a fetch-bound
 * loader prep-bound on a fast disk (t_ddp fetch, CI).  Its state was counted as it
 * went (on CPU); the call's record comes at its end, so that time moves now, from the
 * thread's last periods on CPU.  Only while the thread is its process's one thread on
 * CPU (the process was then on CPU by it alone): with another there, the process was
 * on CPU anyway.
 */
void wk__file_call(struct an *a, struct thr *t, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	struct proc *p = t->proc;
	uint64_t end = ev->ts, start, moved;
	int depth = 0;

	if (!p || !p->parent || t->run != RS_ON || t->wstate != WS_CPU ||
	    p->n_ws[WS_CPU] != 1 || !sc->b.dur || sc->b.dur > end ||
	    (sc->b.flags2 & ST_SC2_NO_ENTRY) ||
	    !attr__file_call(sc->b.nr, sc->present & ST_SC_FD, sc->fd.kind))
		return;
	start = end - sc->b.dur;
	own_flush(a, p, end);
	moved = cpu_to_io(a, p, t->since, end, start, end);
	/* most of the thread's past periods on CPU ended before the call began */
	for (int i = 0; i < ON_HIST; i++)
		if (t->on_to[i] > start && t->on_from[i] < end)
			moved += cpu_to_io(a, p, t->on_from[i], t->on_to[i], start, end);
	for (struct proc *c = p, *q = p->parent; q && depth < AN_MAX_DEPTH;
	     c = q, q = q->parent, depth++) {
		wk__flush_sub(q, end);
		cpu_cum_to_io(q->sub_cum, moved);
		if (an__launched(c))
			cpu_cum_to_io(q->xsub_cum, moved);
	}
}

/*
 * p becomes a program its parent launched (launched), or stops being one: its state
 * and its descendants' join (leave) the parent's count of those under its launched
 * programs.  For the ancestors above, p is not the child on the way: nothing changes.
 */
/*
 * Moves p's own state (and, with subs, its descendants' too) into or out of its
 * parent's count of states under a program it launched (xsub_n).
 */
static void xsub_move(struct an *a, struct proc *p, bool subs, bool on)
{
	struct proc *q = p->parent;

	if (!q)
		return;
	wk__flush_sub(q, a->now);
	for (int i = 0; i < NWS; i++) {
		uint32_t n = (subs ? p->sub_n[i] : 0) + (p->dstate == i);

		if (on)
			q->xsub_n[i] += n;
		else
			q->xsub_n[i] -= n < q->xsub_n[i] ? n : q->xsub_n[i];
	}
}

void wk__launch_move(struct an *a, struct proc *p, bool launched)
{
	xsub_move(a, p, true, launched);
}

/* p is now (on), or no longer, a forkserver: its own state is no worker's (proc_set). */
void wk__server_move(struct an *a, struct proc *p, bool on)
{
	if (!an__launched(p))
		xsub_move(a, p, false, on);
}

void wk__end(struct an *a, struct proc *p, uint64_t ts)
{
	own_flush(a, p, ts);
	wk__flush_sub(p, ts);
}

/* ------------------------------------------------------------------ I/O */

static struct iost *new_io(struct an *a, struct iost **io)
{
	if (!*io && (*io = calloc(1, sizeof(**io))))
		(*io)->tput = tl_grid__new(&a->grid, a->o->no_charts ? 0 : 2);
	return *io;
}

static struct iost *io_of(struct an *a, struct proc *p)
{
	return p ? new_io(a, &p->io) : NULL;
}

static bool in_window(const struct an *a, uint64_t ts)
{
	return ts >= a->win_from && ts <= a->win_to;
}

static bool is_read(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_READ;
}

static bool is_write(unsigned nr)
{
	return st_syscall_class(nr) & ST_SYSC_WRITE;
}

static void count_read(struct an *a, struct iost *io, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	uint64_t ps = a->info->h.page_size ? a->info->h.page_size : 4096;
	uint64_t bytes = (uint64_t)sc->b.ret, first = 0, pages;

	if (sc->present & ST_SC_OFFSET)
		first = sc->offset;
	/* a page size is a power of two: shifts, not two 64-bit divisions a read */
	if (!(ps & (ps - 1))) {
		unsigned sh = (unsigned)__builtin_ctzll(ps);

		pages = ((first + bytes - 1) >> sh) - (first >> sh) + 1;
	} else {
		pages = (first + bytes - 1) / ps - first / ps + 1;
	}
	io->reads++;
	io->read_bytes += bytes;
	io->read_ns += sc->b.dur;
	io->pages_req += pages;
	io->pages_miss += sc->pcache_pages < pages ? sc->pcache_pages : pages;
	hist__add(&io->rd_lat, sc->b.dur);
	tl__add_at(&a->grid, io->tput, 0, ev->ts, (double)bytes);
}

static void count_write(struct an *a, struct iost *io, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;

	io->writes++;
	io->write_bytes += (uint64_t)sc->b.ret;
	io->write_ns += sc->b.dur;
	hist__add(&io->wr_lat, sc->b.dur);
	tl__add_at(&a->grid, io->tput, 1, ev->ts, (double)sc->b.ret);
}

static void count(struct an *a, struct iost *io, const struct st_event *ev, unsigned nr)
{
	if (is_read(nr))
		count_read(a, io, ev);
	else if (is_write(nr))
		count_write(a, io, ev);
	else
		io->opens++;
}

/* File I/O: per file, per process, and per thread that may be a main thread. */
void wk__syscall_io(struct an *a, struct thr *t, const struct st_event *ev)
{
	const struct st_ev_syscall *sc = &ev->sc;
	struct iost *io;
	struct file *f;
	unsigned nr = sc->b.nr;

	if (!(sc->present & ST_SC_FD) || sc->b.ret <= 0 || !in_window(a, ev->ts))
		return;
	if (sc->fd.kind != ST_FD_REG && sc->fd.kind != ST_FD_BLK)
		return;
	if (!is_read(nr) && !is_write(nr) && !(sc->present & ST_SC_PATH))
		return;
	if ((is_read(nr) || is_write(nr)) && (f = an__file(a, sc->fd.dev, sc->fd.ino, true))) {
		*(is_read(nr) ? &f->read_bytes : &f->write_bytes) += (uint64_t)sc->b.ret;
		(*(is_read(nr) ? &f->reads : &f->writes))++;
	}
	if ((io = io_of(a, t->proc)))
		count(a, io, ev, nr);
	if ((t->flags & (TF_LOGGER | TF_LEADER)) && (io = new_io(a, &t->io)))
		count(a, io, ev, nr);
}

void wk__block(struct an *a, const struct st_event *ev)
{
	struct proc *p = an__find_proc(a, ev->blk.pid);
	struct thr *t;
	struct iost *io;

	if (!p && (t = an__find_thread(a, ev->blk.tid)))
		p = t->proc;
	if (!in_window(a, ev->ts) || !(io = io_of(a, p)))
		return;
	io->blk_reqs++;
	io->blk_bytes += ev->blk.bytes;
	if (ev->blk.op == ST_BLK_READ)
		io->blk_read_bytes += ev->blk.bytes;
	hist__add(&io->blk_lat, ev->blk.service);
}

void wk__pcache(struct an *a, const struct st_event *ev)
{
	struct thr *t = an__find_thread(a, ev->pc.tid);
	struct iost *io;

	if (!t || !in_window(a, ev->ts) || !(io = io_of(a, t->proc)))
		return;
	io->fault_pages += ev->pc.pages;
}
