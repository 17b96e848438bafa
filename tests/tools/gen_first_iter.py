#!/usr/bin/env python3
"""gen_first_iter.py [--attach] [--truth]: the events of
tests/golden/analyze/first_iter.txt (--attach: first_iter_attach.txt), a loop's first
iterator whose first next() runs 1.2 ms of Python between poll()'s return and the
batch's first read (see the goldens' comments), simulated; --truth prints the loop's
takes instead.

Persistent workers 200, 201, no pin memory, prefetch 2 each, feeders 102, 103 started
by their queues' first puts (index pipes 81, 82), result pipe 77; 2 epochs of 12
batches, 30 ms a batch a worker, 10 ms of compute a step.  Run mode: the pool forks at
1000 ms.  --attach: the trace begins after the fork and before the first put: the
workers are listed at the attach, waiting on their pipes.
"""
import sys
from pinsim import E, DirectLoader, receive, loop, finish

N, EPOCHS, DT, CT, LAG = 12, 2, 30.0, 10.0, 1.2

E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
ld = DirectLoader((102, 103), (200, 201), (81, 82), 77, DT, (1, 9, 3), lazy=True)
takes = []
t = 1000.0
for e in range(EPOCHS):
    first = ('listed' if '--attach' in sys.argv else True) if e == 0 else False
    t = loop(ld, t, N, CT, takes, first, receive, lag=LAG if e == 0 else 0.0)
finish(ld.shutdown(t), takes, [])
