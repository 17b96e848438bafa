#!/usr/bin/env python3
"""gen_gc_next.py [--truth]: the events of tests/golden/analyze/gc_in_next.txt, a loop
over 2 workers (no pin memory) whose next() runs CPython's cyclic GC now and then,
simulated; --truth prints the job's time in next() over its first to last take, and
the takes.

Workers 200, 201, prefetch 2 each, feeders 102, 103, result pipe 77; 40 steps, 30 ms
a batch a worker, 10 ms of compute a step.  Each next() polls the result pipe, reads
the batch, fetches its tensor's fd, puts the next index, and frees the previous batch
(the loop rebinds its name): a close of its shared memory file and a munmap.  In four
of the calls the GC runs 15 ms on the CPU with no call:
  - steps 8 and 24: between the poll that said the batch was there and its read;
  - steps 12 and 28: between the fd's receipt and the close of its connection (closed
    twice: socket.fromfd's duplicate, then the connection);
  - steps 16 and 32: between the receipt and the put.
"""
import sys
from pinsim import E, LOOP, DirectLoader, receive, sc, finish

N, DT, CT, PF, GC = 40, 30.0, 10.0, 2, 15.0
LAG, HOLD, LATE = (8, 24), (12, 28), (16, 32)

E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
ld = DirectLoader((102, 103), (200, 201), (81, 82), 77, DT, (1, 9, 3))
t = ld.fork(1000.0)
ld.rr = 0
for _ in range(len(ld.W) * PF):
    t = ld.put(t)
takes, calls, sent = [], [], len(ld.W) * PF
for i in range(N):
    start = t
    tk = receive(ld, t, lag=GC if i in LAG else 0.0, hold=GC if i in HOLD else 0.0)
    t = tk + (GC if i in LATE else 0.05)
    if sent < N:
        t = ld.put(t)
        sent += 1
    if i:
        sc(t + 0.01, LOOP, 'name=close ret=0 fd=14 kind=reg ino=%d' % (5000 + i - 1), 0.002)
        sc(t + 0.05, LOOP, 'name=munmap ret=0', 0.03)
    t += 0.06
    takes.append(t)
    calls.append((start, t))
    t += CT
if '--truth' in sys.argv:
    first, last = takes[0], takes[-1]
    inside = sum(min(e, last) - max(s, first) for s, e in calls if e > first and s < last)
    print('time in next() %.4f of %.3f ms' % (inside / (last - first), last - first))
finish(t, takes, [])
