#!/usr/bin/env python3
"""gen_val_mid_pin.py [--truth]: the events of tests/golden/analyze/val_mid_pin.txt, a
validation loop within the training epoch with pin memory on both loaders (see its
comments), simulated; --truth prints the loop's training takes instead.

Run mode.  The training loader: 2 persistent workers (200, 201), prefetch 2 each, its
index queues' feeders 102, 103 (pipes 81, 82), its result pipe 77, its pin-memory
thread 101.  Every 6 training steps a validation loop over a loader that is not
persistent: its iter() forks 2 workers, starts their feeders and a pin-memory thread
of its own (result pipe 97 + loop, index pipes 91 + 2 * loop, 92 + 2 * loop), puts its
4 indices (the whole loop), takes 4 batches, and its last next() shuts the pool down.
"""
import sys

W, PF = 2, 2                            # workers a loader, prefetch a worker
N = 24                                  # training batches (one epoch)
VAL_EVERY, VN = 6, 4                    # a validation loop after every 6 steps, 4 batches
DT, DV = 22.0, 6.0                      # a training / validation batch's decode, ms
CT, CV = 10.0, 3.0                      # the loop's compute a training / validation step
CT_LAST = 13.0                          # ... the training step before a validation loop
LOOP, RT = 100, 101
FT, WT, IT, RP = (102, 103), (200, 201), (81, 82), 77

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

    def put(self, t, batch=True):
        """the loop puts an index at t (wakes its worker's feeder, which writes it; a
        None at the pool's shutdown: !batch); returns when the loop goes on"""
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
            self.work(w, got)
        return t + 0.03

    def work(self, w, got):
        """worker w gets an index written at got: decodes, writes its batch"""
        c = self.cpus[2] + w
        start = max(got, self.wfree[w]) + 0.01
        if got >= self.wfree[w]:        # it waits on its pipe: the write wakes it
            E(got + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d'
              % (self.W[w], self.F[w], self.cpus[0] + w))
        E(start - 0.005, 'switch TS cpu=%d prev=0 next=%d state=R' % (c, self.W[w]))
        sc(start, self.W[w], 'name=read ret=16 fd=3 kind=pipe ino=%d' % self.I[w], start - self.wfree[w])
        done = start + self.dec
        sc(done, self.W[w], 'name=write ret=428 fd=6 kind=pipe ino=%d' % self.R, 0.005)
        E(done + 0.005, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (c, self.W[w]))
        self.wfree[w] = done + 0.005
        self.relay_rx(w, done)

    def relay_rx(self, w, sent):
        """the relay receives the batch worker w wrote at sent, fetches its fds, queues it"""
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
        sc(t + 0.013, self.relay, 'name=read ret=424 fd=5 kind=pipe ino=%d' % self.R, 0.005)
        socks[0] += 1
        sc(t + 0.02, self.relay, 'name=socket ret=12 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        sc(t + 0.03, self.relay, 'name=connect ret=0 fd=12 kind=socket ino=%d' % socks[0], 0.01)
        sc(t + 0.04, self.relay, 'name=recvmsg ret=1 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        sc(t + 0.05, self.relay, 'name=close ret=0 fd=12 kind=socket ino=%d' % socks[0], 0.005)
        self.queue.append(t + 0.06)
        self.relay_free = t + 0.07


loop_cpu_since = [None]                 # the loop blocked since (None: on CPU)


def take(ld, t):
    """the loop's next() gets a batch from ld's relay queue at t (waits if empty, the
    relay's put wakes it); returns the take's time"""
    ld.queue.sort()
    q = ld.queue.pop(0)
    if q <= t:
        return t
    fw = word()
    E(t, 'switch TS cpu=0 prev=%d next=0 state=S wait=futex' % LOOP)
    E(q + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d'
      % (LOOP, ld.relay, ld.cpus[1]))
    sc(q + 0.002, ld.relay, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % fw, 0.002)
    E(q + 0.01, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
    sc(q + 0.012, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % fw,
       q + 0.012 - t)
    return q + 0.02


# the process, the training iterator: its workers, feeders and pin-memory thread
E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
tr = Loader(FT, WT, IT, RP, RT, DT, (1, 3, 4))
t = tr.fork(1000.0)
for j in range(W * PF):
    t = tr.put(t)
takes, val_takes = [], []
sent = W * PF                           # training indices put
vloop = 0
for k in range(1, N + 1):
    tk = take(tr, t)
    takes.append(tk)
    t = tk + 0.05
    if sent < N:
        t = tr.put(t)
        sent += 1
    last = k % VAL_EVERY == 0 and k < N
    t = tk + (CT_LAST if last else CT)
    if not last:
        continue
    # a validation loop: iter() forks its pool (not persistent), starts its feeders
    # and pin-memory thread, puts its 4 indices; 4 takes; its last next() shuts it down
    v = vloop
    vloop += 1
    base = 300 + 10 * v
    vw, vf, vr = (base, base + 1), (base + 2, base + 3), base + 4
    va = Loader(vf, vw, (91 + 2 * v, 92 + 2 * v), 97 + v, vr, DV, (5, 7, 8))
    t = va.fork(t)
    for j in range(VN):
        t = va.put(t)
    for j in range(VN):
        tv = take(va, t)
        val_takes.append(tv)
        t = tv + CV
    # StopIteration: the pin-memory thread stopped ((None, None) on the result queue:
    # the loop's own write), None to each worker, the workers and threads gone
    sc(t + 0.01, LOOP, 'name=write ret=8 fd=10 kind=pipe ino=%d' % va.R, 0.005)
    E(t + 0.1, 'exit TS tid=%d pid=100' % vr)
    t += 0.2
    for i in range(W):
        t = va.put(t, False)
    for i in range(W):
        E(t + 0.5 + 0.1 * i, 'exit TS tid=%d pid=%d group_dead=1' % (vw[i], vw[i]))
        E(t + 0.7 + 0.1 * i, 'exit TS tid=%d pid=100' % vf[i])
    t += 1.0
E(t + 5, 'exit TS tid=100 pid=100')
if '--truth' in sys.argv:
    print(len(takes), ' '.join('%.3f' % x for x in takes))
    print(len(val_takes), ' '.join('%.3f' % x for x in val_takes))
    sys.exit()
for ts, _, s in sorted(ev):
    print(s)
print('trailer ts=%.3fms' % (t + 10))
