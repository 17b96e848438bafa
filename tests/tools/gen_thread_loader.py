#!/usr/bin/env python3
"""gen_thread_loader.py [--ahead] [--truth]: the events of
tests/golden/analyze/nw0_thread_loader.txt (with --ahead, of nw0_thread_ahead.txt:
the first 15 steps only, the loader ahead), simulated: a num_workers=0 loop fed by a
prefetch thread of its own through a queue.Queue (prefetch_generator's
BackgroundGenerator), its takes hand a Python lock over, and the GIL changes hands
between them any number of times a step.  See the golden's comments."""
import sys
ev = []
def E(ts, s): ev.append((round(ts, 4), len(ev), s.replace('TS', 'ts=%.4fms' % ts)))
def sc(end, tid, rest, dur): E(end, 'syscall TS tid=%d %s dur=%dus' % (tid, rest, max(1, int(round(dur * 1000)))))
LOOP, LDR, GIL = 100, 101, 0xa5b8f0
def lock(k): return 0x7f0000002000 + (k % 3) * 0x100   # the waiter's lock: a new one each wait
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
# start-up: the imports (the pattern search watches a thread from its 128th call)
for i in range(130):
    sc(999.1 + i * 0.1, LOOP, 'name=read ret=4096 fd=3 kind=file ino=%d' % (500 + i), 0.02)
E(1012.0, 'fork TS parent=100 parent_pid=100 child=101 child_pid=100 thread=1 comm=python3')
E(1012.01, 'switch TS cpu=1 prev=0 next=101 state=R')
def gil_to_loader(t):
    """the loader waited for the GIL (a condition wait) and the loop hands it over at t"""
    E(t - 1.0, 'switch TS cpu=1 prev=101 next=0 state=S wait=futex')
    sc(t, LOOP, 'name=futex ret=1 futex_uaddr=%#x futex_op=0x81 futex_val=1' % GIL, 0.003)
    E(t + 0.003, 'wakeup TS tid=101 waker=100 waker_pid=100 waker_cpu=0 target_cpu=1')
    E(t + 0.005, 'switch TS cpu=1 prev=0 next=101 state=R')
    sc(t + 0.01, LDR, 'name=futex ret=0 futex_uaddr=%#x futex_op=0x89 futex_val=0' % GIL, 1.01)
for i in range(6):                      # the thread's first GIL waits, before any step
    gil_to_loader(1014.0 + i * 1.0 + 0.5)
GILS = [0, 2, 1, 3, 0, 1, 2]            # the GIL's hand-offs in step k: GILS[k % 7]
takes = []
ldr_blocked = None
# phase A: 15 steps of 20 ms from 1020 ms, the loader ahead: each get() takes from a
# full queue and wakes the loader, blocked in put() on the waiter's lock since +12 ms
for k in range(15):
    T = 1020.0 + 20.0 * k
    sc(T, LOOP, 'name=futex ret=1 futex_uaddr=%#x futex_op=0x81 futex_val=1' % lock(k), 0.005)
    takes.append(T)
    if ldr_blocked is not None:
        E(T + 0.003, 'wakeup TS tid=101 waker=100 waker_pid=100 waker_cpu=0 target_cpu=1')
        E(T + 0.01, 'switch TS cpu=1 prev=0 next=101 state=R')
        sc(T + 0.02, LDR, 'name=futex ret=0 futex_uaddr=%#x futex_op=0x189 futex_val=0' % ldr_blocked,
           T + 0.02 - blocked_at)
    for i in range(GILS[k % 7]):
        gil_to_loader(T + 3.0 + 3.0 * i)
    if k < 14:
        ldr_blocked, blocked_at = lock(k + 1), T + 12.0
        E(T + 12.0, 'switch TS cpu=1 prev=101 next=0 state=S wait=futex')
    else:
        ldr_blocked = None              # it runs on: slower from here
# phase B: 15 steps of 30 ms from 1320 ms, the loader behind: each get() waits 8 ms
# on the waiter's lock for the loader's put()
for k in range(15, 15 if '--ahead' in sys.argv else 30):
    T = 1320.0 + 30.0 * (k - 15)
    E(T, 'switch TS cpu=0 prev=100 next=0 state=S wait=futex')
    sc(T + 8.0, LDR, 'name=futex ret=1 futex_uaddr=%#x futex_op=0x81 futex_val=1' % lock(k), 0.003)
    E(T + 8.003, 'wakeup TS tid=100 waker=101 waker_pid=100 waker_cpu=1 target_cpu=0')
    E(T + 8.01, 'switch TS cpu=0 prev=0 next=100 state=R')
    sc(T + 8.02, LOOP, 'name=futex ret=0 futex_uaddr=%#x futex_op=0x189 futex_val=0' % lock(k), 8.02)
    takes.append(T + 8.02)
    for i in range(GILS[k % 7]):
        gil_to_loader(T + 12.0 + 3.0 * i)
print('header start=999ms ncpus=2 target_pid=100 cmdline="python3 train.py"')
print('proc ts=999ms pid=100 ppid=1 cmdline="python3 train.py"')
for _, _, s in sorted(ev):
    print(s)
print('trailer ts=%dms' % (1320 if '--ahead' in sys.argv else 1800))
if '--truth' in sys.argv:
    print('# takes', len(takes), 'first', takes[0], 'last', takes[-1], file=sys.stderr)
