"""pinsim.py: a DataLoader loop with pin memory, simulated as stgen events (the
golden traces tests/golden/analyze/val_mid_pin.txt and val_pin_pers.txt are written by
gen_val_mid_pin.py and gen_val_pin_pers.py with it).

The loop is thread 100 of process 100 (LOOP), on CPU 0.  A Loader is one iterator's
pool: its workers, the feeder thread of each worker's index queue, its pin-memory
thread (the relay) and the relay's queue of batches.  E() records an event at a time
in ms; the generators print ev sorted by time.
"""

import sys

LOOP = 100

ev = []


def E(ts, s):
    ev.append((round(ts, 4), len(ev), s.replace('TS', 'ts=%.4fms' % ts)))


def sc(end, tid, rest, dur):
    E(end, 'syscall TS tid=%d %s dur=%dus' % (tid, rest, max(1, int(round(dur * 1000)))))


words = [0x7f0000040000]


def word():
    words[0] += 0x40
    return words[0]


socks = [900]

FEEDER_START = 2.0                      # ms from a feeder's fork to its first write


class Loader:
    """a DataLoader iterator with pin memory: its workers, feeders, relay, queues"""

    def __init__(self, feeders, workers, ipipes, rpipe, relay, dec, cpus):
        self.F, self.W, self.I, self.R, self.relay, self.dec = feeders, workers, ipipes, rpipe, relay, dec
        self.cpus = cpus                # (feeders', relay's, workers' first)
        self.fword = [word() for _ in feeders]
        self.fsince = [0.0] * len(feeders)
        self.wfree = [0.0] * len(workers)   # a worker idle (blocked on its pipe) since
        self.relay_free = 0.0           # the relay idle (blocked on its pipe) since
        self.queue = []                 # arrival times at the relay's queue (pinned)
        self.rr = 0                     # next worker for an index
        self.last_sent = 0.0
        self.relay_on = False           # on CPU since its last batch (relay_free)

    def fork(self, t):
        """iter() at t forks the workers, starts the feeders and the pin-memory thread;
        returns when they wait"""
        for i in range(len(self.W)):
            E(t + 0.1 * i, 'fork TS parent=100 parent_pid=100 child=%d child_pid=%d comm=pt_data_worker'
              % (self.W[i], self.W[i]))
            E(t + 0.2 + 0.1 * i, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 '
              'comm=python3' % self.F[i])
        E(t + 0.5, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 comm=pt_pin_memory'
          % self.relay)
        self.start(t + 1.0)
        return t + 1.0

    def start(self, t):
        """its threads and workers, forked before t, start and wait: the feeders on
        their queue's condition, the workers and the relay on their pipes"""
        for i in range(len(self.F)):
            for tid, c, wait in ((self.F[i], self.cpus[0] + i, 'futex'), (self.W[i], self.cpus[2] + i, 'pipe')):
                E(t - 0.3 + 0.01 * i, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, tid))
                E(t - 0.25 + 0.01 * i, 'switch TS cpu=%d prev=%d next=0 state=S wait=%s' % (c, tid, wait))
            self.fsince[i] = t - 0.25 + 0.01 * i
            self.wfree[i] = t - 0.25 + 0.01 * i
        E(t - 0.2, 'switch TS cpu=%d prev=0 next=%d state=R' % (self.cpus[1], self.relay))
        E(t - 0.15, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (self.cpus[1], self.relay))
        self.relay_free = t - 0.15

    def shutdown(self, t, joiner=0):
        """the iterator shuts its pool down at t (StopIteration, or its end): the
        pin-memory thread stopped ((None, None) on the result queue: the loop's own
        write), None to each worker, the workers and threads gone; returns when the
        loop goes on.  joiner: a helper thread of that tid, started by the loop, joins
        the pin-memory thread (a futex wait on its tid's word), and the relay's exit
        wakes it; then it exits too"""
        if self.relay:
            sc(t + 0.01, LOOP, 'name=write ret=8 fd=10 kind=pipe ino=%d' % self.R, 0.005)
            if joiner:
                c = self.cpus[1]
                E(t + 0.02, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 '
                  'comm=python3' % joiner)
                E(t + 0.03, 'switch TS cpu=%d prev=0 next=%d state=R' % (c + 1, joiner))
                E(t + 0.05, 'switch TS cpu=%d prev=%d next=0 state=S wait=futex' % (c + 1, joiner))
                E(t + 0.06, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, self.relay))
                E(t + 0.09, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d'
                  % (joiner, self.relay, c))
            E(t + 0.1, 'exit TS tid=%d pid=100' % self.relay)
            if joiner:
                E(t + 0.11, 'switch TS cpu=%d prev=%d next=0 state=X' % (c, self.relay))
                E(t + 0.12, 'switch TS cpu=%d prev=0 next=%d state=R' % (c + 1, joiner))
                sc(t + 0.13, joiner, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x80 futex_val=%d'
                   % (0x7f00000f0000 + 0x1000 * self.relay, self.relay), 0.08)
                E(t + 0.15, 'exit TS tid=%d pid=100' % joiner)
                E(t + 0.16, 'switch TS cpu=%d prev=%d next=0 state=X' % (c + 1, joiner))
            t += 0.2
        for _ in self.W:
            t = self.put(t, False)
        for i in range(len(self.W)):
            E(t + 0.5 + 0.1 * i, 'exit TS tid=%d pid=%d group_dead=1' % (self.W[i], self.W[i]))
            E(t + 0.7 + 0.1 * i, 'exit TS tid=%d pid=100' % self.F[i])
        return t + 1.0

    def put(self, t, batch=True):
        """the loop puts an index at t (wakes its worker's feeder, which writes it; a
        None at the pool's shutdown: !batch; a persistent pool's resume message, which
        the worker answers with no tensor: batch='resume'); returns when the loop goes
        on"""
        w = self.rr
        self.rr = (self.rr + 1) % len(self.W)
        f, fw = self.F[w], self.fword[w]
        E(t + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=0' % (f, LOOP))
        sc(t + 0.002, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % fw, 0.002)
        c = self.cpus[0] + w
        E(t + 0.01, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, f))
        sc(t + 0.012, f, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % fw,
           t + 0.012 - self.fsince[w])
        sc(t + 0.02, f, 'name=write ret=16 fd=9 kind=pipe ino=%d' % self.I[w], 0.005)
        got = t + 0.02
        E(t + 0.025, 'switch TS cpu=%d prev=%d next=0 state=S wait=futex' % (c, f))
        self.fsince[w] = t + 0.025
        if batch:
            self.work(w, got, batch == 'resume')
        return t + 0.03

    def work(self, w, got, bare=False):
        """worker w gets an index written at got: decodes, writes its batch (bare: a
        message with no tensor, at once)"""
        c = self.cpus[2] + w
        start = max(got, self.wfree[w]) + 0.01
        if got >= self.wfree[w]:        # it waits on its pipe: the write wakes it
            E(got + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d'
              % (self.W[w], self.F[w], self.cpus[0] + w))
        E(start - 0.005, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, self.W[w]))
        sc(start, self.W[w], 'name=read ret=16 fd=3 kind=pipe ino=%d' % self.I[w], start - self.wfree[w])
        done = start + (0.05 if bare else self.dec)
        sc(done, self.W[w], 'name=write ret=%d fd=6 kind=pipe ino=%d' % (40 if bare else 428, self.R), 0.005)
        E(done + 0.005, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (c, self.W[w]))
        self.wfree[w] = done + 0.005
        self.relay_rx(w, done, bare)

    def relay_rx(self, w, sent, bare=False):
        """the relay receives the batch worker w wrote at sent, fetches its fds, queues it
        (bare: a message with no tensor, no fds)"""
        c = self.cpus[1]
        assert sent >= self.last_sent, 'batches reach the relay out of order'
        self.last_sent = sent
        if sent + 0.01 > self.relay_free:
            t = sent + 0.01
            if self.relay_on:
                E(self.relay_free, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (c, self.relay))
            E(sent + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=%d waker_traced=1 waker_cpu=%d'
              % (self.relay, self.W[w], self.W[w], self.cpus[2] + w))
            E(t - 0.004, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, self.relay))
            sc(t, self.relay, 'name=poll ret=1 fd=5 kind=pipe ino=%d' % self.R, t - self.relay_free)
            self.relay_on = True
        else:
            t = self.relay_free
        sc(t + 0.003, self.relay, 'name=read ret=4 fd=5 kind=pipe ino=%d' % self.R, 0.002)
        if bare:
            sc(t + 0.013, self.relay, 'name=read ret=36 fd=5 kind=pipe ino=%d' % self.R, 0.005)
            self.queue.append(t + 0.02)
            self.relay_free = t + 0.03
            return
        sc(t + 0.013, self.relay, 'name=read ret=424 fd=5 kind=pipe ino=%d' % self.R, 0.005)
        socks[0] += 1
        sc(t + 0.02, self.relay, 'name=socket ret=12 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        sc(t + 0.03, self.relay, 'name=connect ret=0 fd=12 kind=socket ino=%d' % socks[0], 0.01)
        sc(t + 0.04, self.relay, 'name=recvmsg ret=1 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        sc(t + 0.05, self.relay, 'name=close ret=0 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        self.queue.append(t + 0.06)
        self.relay_free = t + 0.07


class DirectLoader(Loader):
    """a DataLoader iterator without pin memory: the loop reads the workers' result
    pipe itself.  lazy: its feeder threads start at their queue's first put (as
    multiprocessing's Queue starts them), which they write at once, woken by no one"""

    def __init__(self, feeders, workers, ipipes, rpipe, dec, cpus, lazy=False):
        Loader.__init__(self, feeders, workers, ipipes, rpipe, None, dec, cpus)
        self.inbox = []                 # (written, worker, bare) on the result pipe
        self.lazy = lazy
        self.fstarted = [not lazy] * len(feeders)

    def fork(self, t):
        """iter() at t forks the workers (and starts the feeders unless lazy)"""
        for i in range(len(self.W)):
            E(t + 0.1 * i, 'fork TS parent=100 parent_pid=100 child=%d child_pid=%d comm=pt_data_worker'
              % (self.W[i], self.W[i]))
            if not self.lazy:
                E(t + 0.2 + 0.1 * i, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 '
                  'comm=python3' % self.F[i])
        for i in range(len(self.F)):
            tids = (self.W[i],) if self.lazy else (self.W[i], self.F[i])
            for tid in tids:
                c = self.cpus[2 if tid == self.W[i] else 0] + i
                E(t + 0.7 + 0.01 * i, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, tid))
                E(t + 0.75 + 0.01 * i, 'switch TS cpu=%d prev=%d next=0 state=S wait=%s'
                  % (c, tid, 'pipe' if tid == self.W[i] else 'futex'))
            self.fsince[i] = self.wfree[i] = t + 0.75 + 0.01 * i
        return t + 1.0

    def listed(self, t):
        """attach at t: the pool was forked before the trace, its workers wait on their
        index pipes, and its feeders have not started (lazy: no index put yet)"""
        for i, w in enumerate(self.W):
            E(t, 'proc TS pid=%d ppid=100 cmdline="python3 train.py"' % w)
            E(t, 'comm TS tid=%d pid=%d comm=pt_data_worker traced=1' % (w, w))
            E(t, 'fd TS pid=%d fd=6 kind=pipe ino=%d path=pipe:[%d]' % (w, self.R, self.R))
            E(t, 'fd TS pid=%d fd=3 kind=pipe ino=%d path=pipe:[%d]' % (w, self.I[i], self.I[i]))
            E(t, 'fd TS pid=100 fd=%d kind=pipe ino=%d path=pipe:[%d]' % (9 + i, self.I[i], self.I[i]))
            self.fsince[i] = self.wfree[i] = t
        E(t, 'fd TS pid=100 fd=5 kind=pipe ino=%d path=pipe:[%d]' % (self.R, self.R))
        return t + 1.0

    def put(self, t, batch=True):
        w = self.rr
        if self.fstarted[w] and t >= self.fsince[w]:
            return Loader.put(self, t, batch)
        # the queue's first put starts its feeder (FEEDER_START ms to run), which
        # writes the indices put meanwhile, woken by no one
        self.rr = (self.rr + 1) % len(self.W)
        f, c = self.F[w], self.cpus[0] + w
        if not self.fstarted[w]:
            self.fstarted[w] = True
            E(t + 0.01, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 comm=python3' % f)
            E(t + FEEDER_START - 0.05, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, f))
            at = t + FEEDER_START
        else:
            E(self.fsince[w], 'switch TS cpu=%d prev=0 next=%d state=R' % (c, f))
            at = self.fsince[w] + 0.05
        sc(at, f, 'name=write ret=16 fd=9 kind=pipe ino=%d' % self.I[w], 0.005)
        E(at + 0.01, 'switch TS cpu=%d prev=%d next=0 state=S wait=futex' % (c, f))
        self.fsince[w] = at + 0.01
        if batch:
            self.work(w, at, batch == 'resume')
        return t + 0.03

    def relay_rx(self, w, sent, bare=False):
        self.inbox.append((sent, w, bare))


def receive(ld, t, ran=None, lag=0.0, hold=0.0):
    """the loop's next() reads a batch from ld's result pipe at t (waits if none was
    written yet, the worker's write wakes it); returns its receipt's end.  ran: as
    take()'s.  lag: ms on the CPU from poll()'s return to the header's read.  hold: ms
    on the CPU from the fd's receipt to the connection's close, then closed twice
    (socket.fromfd's duplicate, then the connection: torch's fd fetch)"""
    ld.inbox.sort()
    sent, w, bare = ld.inbox.pop(0)
    if sent > t:
        E(t, 'switch TS cpu=0 prev=%d next=0 state=S wait=pipe%s'
          % (LOOP, '' if ran is None else ' ran=%d' % round((t - ran) * 1e6)))
        E(sent + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=%d waker_traced=1 waker_cpu=%d'
          % (LOOP, ld.W[w], ld.W[w], ld.cpus[2] + w))
        E(sent + 0.01, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
        t0, t = t, sent + 0.02
        sc(t, LOOP, 'name=poll ret=1 fd=5 kind=pipe ino=%d' % ld.R, t - t0)
    else:
        t += 0.01
        sc(t, LOOP, 'name=poll ret=1 fd=5 kind=pipe ino=%d' % ld.R, 0.002)
    t += lag
    sc(t + 0.01, LOOP, 'name=read ret=4 fd=5 kind=pipe ino=%d' % ld.R, 0.005)
    if bare:
        sc(t + 0.02, LOOP, 'name=read ret=36 fd=5 kind=pipe ino=%d' % ld.R, 0.005)
        return t + 0.03
    sc(t + 0.02, LOOP, 'name=read ret=424 fd=5 kind=pipe ino=%d' % ld.R, 0.005)
    socks[0] += 1
    sc(t + 0.06, LOOP, 'name=connect ret=0 fd=11 kind=socket ino=%d' % socks[0], 0.005)
    sc(t + 0.08, LOOP, 'name=recvmsg ret=1 fd=11 kind=socket ino=%d' % socks[0], 0.005)
    if hold:
        t += hold
        sc(t + 0.085, LOOP, 'name=close ret=0 fd=12 kind=socket ino=%d' % socks[0], 0.003)
    sc(t + 0.09, LOOP, 'name=close ret=0 fd=11 kind=socket ino=%d' % socks[0], 0.005)
    return t + 0.1


def take(ld, t, ran=None):
    """the loop's next() gets a batch from ld's relay queue at t (waits if empty, the
    relay's put wakes it); returns the take's time.  ran: the loop came in at that time
    and the kernel did not show that switch (its switch out says how long it ran)"""
    ld.queue.sort()
    q = ld.queue.pop(0)
    if q <= t:
        return t
    fw = word()
    E(t, 'switch TS cpu=0 prev=%d next=0 state=S wait=futex%s'
      % (LOOP, '' if ran is None else ' ran=%d' % round((t - ran) * 1e6)))
    E(q + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d'
      % (LOOP, ld.relay, ld.cpus[1]))
    sc(q + 0.002, ld.relay, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % fw, 0.002)
    E(q + 0.01, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
    sc(q + 0.012, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % fw,
       q + 0.012 - t)
    return q + 0.02


def loop(ld, t, n, ct, out, first, get, pf=2, unseen_in=None, gap=0.0, lag=0.0):
    """one loop over ld's n batches from t, each taken by get (take or receive), ct ms
    of compute a step (first: its pool forks, or was listed at the attach: 'listed';
    else it resumes: a resume message to each worker, gap ms on the CPU between them,
    and their answers, the first waited for by a loop that came in at unseen_in
    unseen); out gets its takes; returns when the loop ends.  prefetch_factor pf.
    lag: the first receipt's CPU before its read (receive's)"""
    ran = None
    if first == 'listed':
        t = ld.listed(t)
    elif first:
        t = ld.fork(t)
    else:
        ld.rr = 0
        for i in range(len(ld.W)):
            t = ld.put(t + (gap if i else 0.0), 'resume')
        ran = unseen_in
        for _ in ld.W:
            t = get(ld, t, ran) + 0.05
            ran = None
    ld.rr = 0
    sent = min(len(ld.W) * pf, n)
    for _ in range(sent):
        t = ld.put(t)
    for i in range(n):
        tk = get(ld, t, lag=lag) if lag and not i else get(ld, t)
        out.append(tk)
        t = tk + 0.05
        if sent < n:
            t = ld.put(t)
            sent += 1
        t = tk + ct
    return t


def finish(t, takes, val_takes):
    """the loop exits after t: prints the events and the trailer, or with --truth its
    training takes and its validation takes (a count, then the times in ms)"""
    E(t + 5, 'exit TS tid=%d pid=100' % LOOP)
    if '--truth' in sys.argv:
        print(len(takes), ' '.join('%.3f' % x for x in takes))
        print(len(val_takes), ' '.join('%.3f' % x for x in val_takes))
        return
    for _, _, s in sorted(ev):
        print(s)
    print('trailer ts=%.3fms' % (t + 10))
