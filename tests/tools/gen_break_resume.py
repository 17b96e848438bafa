#!/usr/bin/env python3
"""gen_break_resume.py [--truth]: the events of tests/golden/analyze/break_resume.txt,
a loop over a persistent pool that leaves each epoch with a break (batches left
outstanding, dropped at the next iter()), simulated; --truth prints the loop's takes.

Persistent workers 200, 201, no pin memory, prefetch 2 each, feeders 102, 103, result
pipe 77; 4 epochs of 8 steps whose sampler holds 11 batches (every step puts an
index; 4 batches outstanding at each break), but the third's, 9 (its last 3 steps
put none, 1 batch outstanding), 30 ms a batch a worker, 10 ms of compute a step.  Each new iterator resumes the pool: a resume message to each worker, then
the result pipe read until both answered, the old batches dropped, then its prefetch.
  - epoch 2's resume: the second resume put goes to feeder 103, still runnable since
    the last step's put woke it (the CPU busy): that put wakes nothing, and 103 writes
    both indices 0.3 ms after the first dropped batch was read;
  - epoch 3's resume: the loop is preempted for 4 ms after its first resume put; its
    last waker was feeder 103 (a GIL handoff 11 ms before), and back on its CPU it
    wakes 103 20 us later: the second resume put; the loop then waits for the GIL,
    which 103 takes and hands back once it wrote the index, 0.5 ms on;
  - epoch 4's resume follows 3 steps that put nothing (the sampler spent);
  - the last epoch ends with the break and the pool's shutdown: no batch is read
    after the last step's.
"""
import sys
from pinsim import E, LOOP, DirectLoader, receive, sc, word, finish

N, LEFTS, DT, CT, PF = 8, (3, 3, 1, 3), 30.0, 10.0, 2
EPOCHS = len(LEFTS)

E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
ld = DirectLoader((102, 103), (200, 201), (81, 82), 77, DT, (1, 9, 3))
takes = []
held = []                       # indices put to feeder 103 while it was kept off its CPU


def put_held(t, wake=False):
    """the loop's put at t on feeder 103's queue, which wakes 103 (wake) or finds it
    runnable already; 103 is kept off its CPU"""
    if wake:
        E(t + 0.001, 'wakeup TS tid=103 waker=%d waker_pid=100 waker_traced=1 waker_cpu=0' % LOOP)
        sc(t + 0.002, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % ld.fword[1],
           0.002)
    ld.rr = (ld.rr + 1) % len(ld.W)
    held.append(t)
    return t + 0.03


def release_held(t):
    """feeder 103 runs at t at last: writes the indices held, one after the other"""
    E(t, 'switch TS cpu=2 prev=0 next=103 state=R')
    sc(t + 0.005, 103, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1'
       % ld.fword[1], t + 0.005 - ld.fsince[1])
    at = t + 0.01
    for i, _ in enumerate(held):
        at += 0.02
        sc(at, 103, 'name=write ret=16 fd=9 kind=pipe ino=82', 0.005)
        ld.work(1, at, i == len(held) - 1)
    E(at + 0.01, 'switch TS cpu=2 prev=103 next=0 state=S wait=futex')
    ld.fsince[1] = at + 0.01
    del held[:]


def gil_handoff(t):
    """the loop waits at t for the GIL feeder 103 holds, which hands it over"""
    fw = word()
    E(t, 'switch TS cpu=0 prev=%d next=0 state=S wait=futex' % LOOP)
    E(t + 0.02, 'switch TS cpu=2 prev=0 next=103 state=R')
    E(t + 0.03, 'wakeup TS tid=%d waker=103 waker_pid=100 waker_traced=1 waker_cpu=2' % LOOP)
    sc(t + 0.031, 103, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % fw, 0.002)
    E(t + 0.035, 'switch TS cpu=2 prev=103 next=0 state=S wait=futex')
    E(t + 0.04, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
    sc(t + 0.045, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % fw,
       0.045)
    ld.fsince[1] = max(ld.fsince[1], t + 0.035)
    return t + 0.05


def put_gil(t):
    """the loop's resume put at t wakes feeder 103, which waits for the GIL the loop
    then gives up (it waits for it back): 103 writes 0.5 ms on; returns when the loop
    has the GIL again"""
    fw, c = word(), 2
    E(t + 0.001, 'wakeup TS tid=103 waker=%d waker_pid=100 waker_traced=1 waker_cpu=0' % LOOP)
    sc(t + 0.002, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % ld.fword[1], 0.002)
    E(t + 0.05, 'switch TS cpu=0 prev=%d next=0 state=S wait=futex' % LOOP)
    E(t + 0.5, 'switch TS cpu=%d prev=0 next=103 state=R' % c)
    sc(t + 0.505, 103, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1'
       % ld.fword[1], t + 0.505 - ld.fsince[1])
    sc(t + 0.52, 103, 'name=write ret=16 fd=9 kind=pipe ino=82', 0.005)
    ld.work(1, t + 0.52, True)
    E(t + 0.53, 'wakeup TS tid=%d waker=103 waker_pid=100 waker_traced=1 waker_cpu=%d' % (LOOP, c))
    sc(t + 0.531, 103, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % fw, 0.002)
    E(t + 0.54, 'switch TS cpu=%d prev=103 next=0 state=S wait=futex' % c)
    ld.fsince[1] = t + 0.54
    E(t + 0.55, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
    sc(t + 0.56, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % fw,
       0.51)
    ld.rr = (ld.rr + 1) % len(ld.W)
    return t + 0.6


def resume(t, e):
    """the epoch's iter(): a resume message to each worker, the result pipe read until
    both answered (the old batches first, dropped); returns when it is done"""
    ld.rr = 0
    t = ld.put(t, 'resume')
    if e == 1:
        t = put_held(t)
    elif e == 2:
        E(t + 0.01, 'switch TS cpu=0 prev=%d next=0 state=R' % LOOP)
        E(t + 4.0, 'switch TS cpu=0 prev=0 next=%d state=R' % LOOP)
        t = put_gil(t + 4.02)
    else:
        t = ld.put(t, 'resume')
    answers = 0
    while answers < len(ld.W):
        ld.inbox.sort()
        if not ld.inbox and held:
            release_held(t + 0.3)
            ld.inbox.sort()
        bare = ld.inbox[0][2]
        t = receive(ld, t) + 0.05
        answers += bare
        if held:
            release_held(t + 0.3)
    return t


t = 1000.0
for e in range(EPOCHS):
    if e == 0:
        t = ld.fork(t)
    else:
        t = resume(t, e)
    ld.rr = 0
    sent = len(ld.W) * PF
    for _ in range(sent):
        t = ld.put(t)
    for i in range(N):
        tk = receive(ld, t)
        takes.append(tk)
        t = tk + 0.05
        if sent < N + LEFTS[e]:
            if e == 0 and i == N - 1:
                t = put_held(t, True)   # 103 kept off its CPU until the next resume
            else:
                t = ld.put(t)
            sent += 1
        if e == 1 and i == N - 1:
            gil_handoff(t + 0.1)
        t = tk + CT
    t += 1.0                    # the epoch's end: the loop leaves (a break)
# the job's end, once the workers wrote the batches left: the pool shuts down, those
# batches never read
finish(ld.shutdown(max(t + 5.0, max(ld.wfree) + 1.0)), takes, [])
