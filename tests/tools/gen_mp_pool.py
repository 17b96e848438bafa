#!/usr/bin/env python3
"""gen_mp_pool.py [--truth]: the events of tests/golden/analyze/mp_pool_imap.txt (a
loop fed by multiprocessing.Pool(2).imap(f, range(N), chunksize=1), no DataLoader;
see its comments), simulated.  The pool's task handler (a thread of the loop's
process) writes every task at once to the workers' one task pipe; each worker reads a
task (its 4-byte header, then its body, as Connection.recv does), computes and writes
its result to the one result pipe; the result handler (another thread) reads each
result and hands it to the loop through a Condition: a futex wake where the loop
waits for it, nothing where it does not, and the loop then takes it without a call.
The workers are fast for the first tasks (results pile up) and slow later (the loop
waits).  The pool's extra worker-handler thread and the workers' shared read lock
are left out.  --truth prints the loop's takes (ms) instead, and which it waited for."""
import sys
N, STEP = 40, 3.0                       # tasks (results, steps); the loop's step, CPU ms
def cost(i):                            # worker CPU for task i, ms: slower from task 10,
    return 1.0 if i < 10 else (6.0 if i == 10 else 12.0)   # one result each 6 ms
ev = []
def E(ts, s): ev.append((round(ts, 3), len(ev), s.replace('TS', 'ts=%.3fms' % ts)))
def sc(end, tid, rest, dur): E(end, 'syscall TS tid=%d %s dur=%dus' % (tid, rest, max(1, int(round(dur * 1000)))))
LOOP, TASKH, RESH, WK, TPIPE, RPIPE = 100, 101, 102, (200, 201), 80, 77
E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
# Pool(2): its workers, each blocked reading the task pipe; then its handler threads
for w in range(2):
    E(999.1 + w * 0.1, 'fork TS parent=100 parent_pid=100 child=%d child_pid=%d comm=python3' % (WK[w], WK[w]))
    E(999.12 + w * 0.1, 'switch TS cpu=%d prev=0 next=%d state=R' % (2 + w, WK[w]))
    E(999.15 + w * 0.1, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (2 + w, WK[w]))
for i, tid in enumerate((TASKH, RESH)):
    E(999.3 + i * 0.1, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 comm=python3' % tid)
    E(999.32 + i * 0.1, 'switch TS cpu=1 prev=0 next=%d state=R' % tid)
    E(999.35 + i * 0.1, 'switch TS cpu=1 prev=%d next=0 state=S wait=%s' % (tid, 'futex' if tid == TASKH else 'pipe'))
# imap(): the loop puts the task sequence; the task handler (woken) writes every task
QW = 0x7f0000020000
sc(1000.002, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % QW, 0.002)
E(1000.001, 'wakeup TS tid=%d waker=100 waker_pid=100 waker_traced=1 waker_cpu=0' % TASKH)
E(1000.01, 'switch TS cpu=1 prev=0 next=%d state=R' % TASKH)
sc(1000.012, TASKH, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % QW, 0.66)
written = []
for i in range(N):
    t = 1000.02 + i * 0.01
    sc(t, TASKH, 'name=write ret=104 fd=8 kind=pipe ino=%d' % TPIPE, 0.004)
    written.append(t)
    if i < 2:                           # the first two tasks wake the two workers
        E(t + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=1' % (WK[i], TASKH))
E(written[-1] + 0.01, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % TASKH)   # taskqueue.get()
# the workers: each takes the next task when free, results in task order
free = [written[0] + 0.01, written[1] + 0.01]
done = []
for i in range(N):
    w = 0 if free[0] <= free[1] else 1
    s = max(free[w], written[i])
    if i < 2:
        E(s, 'switch TS cpu=%d prev=0 next=%d state=R' % (2 + w, WK[w]))
    sc(s + 0.005, WK[w], 'name=read ret=4 fd=3 kind=pipe ino=%d' % TPIPE, (s + 0.005 - 999.15 - w * 0.1) if i < 2 else 0.003)
    sc(s + 0.01, WK[w], 'name=read ret=100 fd=3 kind=pipe ino=%d' % TPIPE, 0.003)
    d = s + 0.01 + cost(i)
    sc(d, WK[w], 'name=write ret=428 fd=6 kind=pipe ino=%d' % RPIPE, 0.005)
    done.append((d, WK[w], w))
    free[w] = d + 0.005
assert all(done[i][0] < done[i + 1][0] for i in range(N - 1)), 'results out of order'
for w in range(2):                      # no task left: each waits on the task pipe
    E(free[w], 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (2 + w, WK[w]))
# the result handler and the loop
relay, since = 999.45, 999.45           # the result handler: free from; blocked since
ready = 1000.1                          # the loop's first next()
takes, waited = [], []
for k in range(N):
    d, wt, w = done[k]
    if d + 0.001 > relay:               # blocked reading the result pipe: the worker wakes it
        E(d + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=%d waker_traced=1 waker_cpu=%d' % (RESH, wt, wt, 2 + w))
        E(d + 0.006, 'switch TS cpu=1 prev=0 next=%d state=R' % RESH)
        relay = d + 0.006
    sc(relay + 0.002, RESH, 'name=read ret=4 fd=5 kind=pipe ino=%d' % RPIPE, relay + 0.002 - since)
    sc(relay + 0.01, RESH, 'name=read ret=424 fd=5 kind=pipe ino=%d' % RPIPE, 0.006)
    handed = relay + 0.02               # IMapIterator._set: the item is there
    if handed > ready + 0.001:          # the loop waits for it in the Condition
        lk = 0x7f0000030000 + (k % 4) * 0x40
        E(ready, 'switch TS cpu=0 prev=100 next=0 state=S wait=futex')
        sc(handed + 0.002, RESH, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % lk, 0.002)
        E(handed + 0.001, 'wakeup TS tid=100 waker=%d waker_pid=100 waker_traced=1 waker_cpu=1' % RESH)
        E(handed + 0.01, 'switch TS cpu=0 prev=0 next=100 state=R')
        tk = handed + 0.012
        sc(tk, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % lk, tk - ready)
        waited.append(k)
    else:                               # there already: taken without a call
        tk = max(ready, handed)
    takes.append(tk)
    ready = tk + STEP
    relay += 0.03
    if k + 1 == N or done[k + 1][0] + 0.001 > relay:
        E(relay, 'switch TS cpu=1 prev=%d next=0 state=S wait=pipe' % RESH)
        since = relay
# the loop's end: no next item (StopIteration, no call); pool.terminate(): the result
# queue's sentinel (header and body in one write), read by the result handler, which
# exits; the workers are killed; the task handler exits
T = ready
sc(T + 0.05, LOOP, 'name=write ret=8 fd=7 kind=pipe ino=%d' % RPIPE, 0.004)
E(T + 0.051, 'wakeup TS tid=%d waker=100 waker_pid=100 waker_traced=1 waker_cpu=0' % RESH)
E(T + 0.06, 'switch TS cpu=1 prev=0 next=%d state=R' % RESH)
sc(T + 0.062, RESH, 'name=read ret=4 fd=5 kind=pipe ino=%d' % RPIPE, T + 0.062 - since)
sc(T + 0.07, RESH, 'name=read ret=4 fd=5 kind=pipe ino=%d' % RPIPE, 0.003)
E(T + 0.1, 'exit TS tid=%d pid=100' % RESH)
for w in range(2):
    sc(T + 0.15 + w * 0.02, LOOP, 'name=kill ret=0', 0.01)
    E(T + 0.2 + w * 0.05, 'exit TS tid=%d pid=%d group_dead=1' % (WK[w], WK[w]))
E(T + 0.3, 'switch TS cpu=1 prev=0 next=%d state=R' % TASKH)
E(T + 0.35, 'exit TS tid=%d pid=100' % TASKH)
if '--truth' in sys.argv:
    print(len(takes), ' '.join('%.3f' % x for x in takes))
    print('waited for %d: %s' % (len(waited), ' '.join(map(str, waited))))
    sys.exit()
print('header start=1s ncpus=4 target_pid=100 mode=run cmdline="python3 train.py"')
for ts, _, s in sorted(ev):
    print(s)
print('trailer ts=%.3fms' % (T + 3.0))
