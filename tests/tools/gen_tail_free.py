#!/usr/bin/env python3
"""gen_tail_free.py [--truth]: the events of tests/golden/analyze/tail_free.txt, a
prep-bound loop over 2 workers (no pin memory, not persistent) whose step's compute
is shorter than a receipt's CPU bound and makes no call, simulated over 3 epochs;
--truth prints the job's takes (the ends of its next() calls).

Workers 200, 201 (then 210, 211 and 220, 221), prefetch 2 each, feeders 102, 103
(112, 113; 122, 123), result pipe 77 (87, 97); 16 steps an epoch, 4 ms a batch a
worker, 0.8 ms of compute a step.  Each next() polls the result pipe, reads the batch,
fetches its tensor's fd, puts the next index while the sampler has one, and the loop
frees the previous batch as it binds the new one (a close of its shared memory file, a
munmap).  An epoch's last 4 next() calls put nothing: the free after the receipt is
all that says next() returned.  In the first epoch, step 11's next() reads two batches
(the one due second came first: DataLoader keeps it) and step 12's takes the kept one
with no call, its free the only sign; in the second epoch the same at steps 13 and 14,
within the tail.  Each epoch ends with the pool's shutdown (None to each
worker, the workers' exits) and the next iter() forks a new pool.
"""
import sys
from pinsim import E, LOOP, DirectLoader, receive, sc, finish

N, DT, CT, PF, EPOCHS = 16, 4.0, 0.8, 2, 3
KEPT = (12, 14, -1)                     # the step that takes a kept batch, each epoch

E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
takes, calls, t, freed = [], [], 1000.0, 0
for ep in range(EPOCHS):
    k = 10 * ep
    ld = DirectLoader((102 + k, 103 + k), (200 + k, 201 + k), (81 + k, 82 + k), 77 + k, DT, (1, 9, 3))
    t = ld.fork(t)
    ld.rr = 0
    for _ in range(len(ld.W) * PF):
        t = ld.put(t)
    sent = len(ld.W) * PF
    for i in range(N):
        calls.append(t)
        if i == KEPT[ep]:               # its batch came in the call before: no call
            tk = t
        else:
            tk = receive(ld, t)
        if i + 1 == KEPT[ep]:           # the batch due second came first: kept, and
            tk = receive(ld, tk + 0.02)  # the call reads the one due
        t = tk + 0.05
        if sent < N:
            t = ld.put(t)
            sent += 1
        if takes:
            sc(t + 0.01, LOOP, 'name=close ret=0 fd=14 kind=reg ino=%d' % (5000 + freed), 0.002)
            sc(t + 0.05, LOOP, 'name=munmap ret=0', 0.03)
            freed += 1
        t += 0.06
        takes.append(t)
        t += CT
    t = ld.shutdown(t + 0.5)
    t += 20.0                       # the next iter()'s own work before its fork
if '--truth' in sys.argv:
    first, last = takes[0], takes[-1]
    inside = sum(min(e, last) - max(s, first) for s, e in zip(calls, takes) if e > first and s < last)
    print('time in next() %.4f of %.3f ms' % (inside / (last - first), last - first))
    print(len(takes), ' '.join('%.3f' % x for x in takes))
    sys.exit(0)
finish(t, takes, [])
