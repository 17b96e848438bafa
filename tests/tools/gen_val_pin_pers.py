#!/usr/bin/env python3
"""gen_val_pin_pers.py [--vary | --joiner | --slow-resume] [--truth]: the events of
tests/golden/analyze/val_pin_pers.txt, a validation loop after each training epoch, pin
memory and persistent workers on both loaders (see its comments), simulated; --truth
prints the loop's training takes and its validation takes instead.  --vary: those of
val_vary_pin.txt, the validation loader's workers not persistent (a pool each loop,
shut down at its end) and its loops of 3 and 6 batches.  --joiner: those of
val_pin_joiner.txt, as --vary, and at each validation pool's shutdown a helper
thread of the loop's process waits for that pool's pin-memory thread, whose exit
wakes it.  --slow-resume: those of val_pin_slow_resume.txt, the training pool's
resume after the first validation loop with 0.5 ms of the loop's CPU between its two
puts.

Run mode.  Training: 2 workers (200, 201), prefetch 2 each, feeders 102, 103 (index
pipes 81, 82), result pipe 77, pin-memory thread 101.  Validation: 2 workers (300,
301), feeders 302, 303 (pipes 91, 92), result pipe 97, pin-memory thread 304.  The
workers outrun the loop on both, so each loop's last batches are in its relay's queue
when the loop takes them: no call, unseen.  Each pool forks at its loader's first
iter() and resumes at each later one: a resume message to each worker, its answer (no
tensor) taken back through the relay, then the prefetch.  Before the second validation
loop the loop is preempted and the kernel does not show the switch that brings it back
(its switch out as it waits for the first answer says how long it ran): its resume
puts are seen at their feeders' wakes only.  At the end both pools shut down.
"""
import sys

from pinsim import E, Loader, take, loop, finish, LOOP

N, VN, EPOCHS = 12, 6, 3                # an epoch's training batches, a loop's validation ones
DT, DV = 15.0, 4.0                      # a training / validation batch's decode, ms
CT, CV = 10.0, 3.0                      # the loop's compute a training / validation step
PRE, OUT = 4.0, 3.0                     # the last step before validation loop 1: preempted


E(999.0, 'proc TS pid=100 ppid=1 nthreads=1 cmdline="python3 train.py"')
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'comm TS tid=999 pid=999 comm=other traced=0')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
tr = Loader((102, 103), (200, 201), (81, 82), 77, 101, DT, (1, 3, 4))
va = Loader((302, 303), (300, 301), (91, 92), 97, 304, DV, (5, 7, 8))
JOINER = '--joiner' in sys.argv
VARY = '--vary' in sys.argv or JOINER
SLOW = 0.5 if '--slow-resume' in sys.argv else 0.0
takes, val_takes = [], []
t = 1000.0
for e in range(EPOCHS):
    t = loop(tr, t, N, CT, takes, e == 0, take, gap=SLOW if e == 1 else 0.0)
    if e + 1 == EPOCHS:
        break
    if VARY:
        # a pool of its own each loop (new tids and pipes), shut down at its end
        b = 310 + 10 * e
        va = Loader((b + 2, b + 3), (b, b + 1), (93 + 2 * e, 94 + 2 * e), 98 + e, b + 4, DV,
                    (5, 7, 8))
        t = va.shutdown(loop(va, t, 3 * (e + 1), CV, val_takes, True, take),
                        joiner=b + 9 if JOINER else 0)
        continue
    came = None
    if e == 1:
        # the last step's compute: preempted by another program, back unseen
        pre = takes[-1] + PRE
        E(pre, 'switch TS cpu=0 prev=%d next=999 state=R preempt=1' % LOOP)
        came = pre + OUT
        t += OUT
    t = loop(va, t, VN, CV, val_takes, e == 0, take, unseen_in=came)
# the end: each iterator shuts its pool down (a persistent pool's at the loop's exit)
t = tr.shutdown(t)
if not VARY:
    t = va.shutdown(t)
finish(t, takes, val_takes)
