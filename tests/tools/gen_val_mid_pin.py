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
W, PF = 2, 2                            # workers a loader, prefetch a worker
N = 24                                  # training batches (one epoch)
VAL_EVERY, VN = 6, 4                    # a validation loop after every 6 steps, 4 batches
DT, DV = 22.0, 6.0                      # a training / validation batch's decode, ms
CT, CV = 10.0, 3.0                      # the loop's compute a training / validation step
CT_LAST = 13.0                          # ... the training step before a validation loop
RT = 101
FT, WT, IT, RP = (102, 103), (200, 201), (81, 82), 77

from pinsim import E, Loader, take, finish  # noqa: E402

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
    t = va.shutdown(t)
finish(t, takes, val_takes)
