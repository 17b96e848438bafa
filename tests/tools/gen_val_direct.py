#!/usr/bin/env python3
"""gen_val_direct.py [--fast] [--truth]: the events of tests/golden/analyze/val_direct.txt, a
validation loop after each training epoch, persistent workers on both loaders, no pin
memory (see its comments), simulated; --truth prints the loop's training takes and its
validation takes instead.  --fast: 2 ms of compute a training step, not 10 (a GPU job
that launches and does not sync), which the analyzer reads as 27 steps for 35 (each
epoch's tail, no index put, its receipts 2 ms of CPU apart, read as DataLoader keeping
batches that came early; no golden, docs/analysis.md, "Known limits").

Run mode.  Training: 2 workers (200, 201), prefetch 2 each, feeders 102, 103 (index
pipes 81, 82), result pipe 77.  Validation: 2 workers (300, 301), feeders 302, 303
(pipes 91, 92), result pipe 97, its pool forked at its first iter(), its feeders
started by its queues' first puts.  The loop reads each batch from the result pipe
itself, waiting for each: the workers are slower than the steps.
"""
import sys
from pinsim import E, DirectLoader, receive, loop, finish

N, VN, EPOCHS = 12, 6, 3                # an epoch's training batches, a loop's validation ones
DT, DV = 30.0, 8.0                      # a training / validation batch's decode, ms
CT, CV = 10.0, 6.0                      # the loop's compute a training / validation step
if '--fast' in sys.argv:
    CT = 2.0


E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
tr = DirectLoader((102, 103), (200, 201), (81, 82), 77, DT, (1, 9, 3))
va = DirectLoader((302, 303), (300, 301), (91, 92), 97, DV, (5, 9, 7), lazy=True)
takes, val_takes = [], []
t = 1000.0
for e in range(EPOCHS):
    t = loop(tr, t, N, CT, takes, e == 0, receive)
    if e + 1 < EPOCHS:
        t = loop(va, t, VN, CV, val_takes, e == 0, receive)
# the end: each iterator shuts its pool down (a persistent pool's at the loop's exit)
t = va.shutdown(tr.shutdown(t))
finish(t, takes, val_takes)
