#!/usr/bin/env python3
"""gen_nw0_inmem.py [--preload|--cache]: the events of the num_workers=0 goldens whose
loop makes no call a step (its data in memory, a few brk calls at random), so that
what recurs is elsewhere:
  (none)     nw0_inmem_imports.txt: 2 s of imports (a module's .pyc opened, read
             twice, closed; a .so mapped now and then), then 1.5 s of the loop;
  --preload  nw0_preload.txt: the start-up reads 600 sample files into memory (open,
             read, read to EOF, close; 0.5 ms apart), then 3 s of the loop;
  --cache    nw0_cache_epoch.txt: a first epoch reads its samples from files (30
             batches of 8 files, 1 ms apart, then 6 ms of compute) into a cache,
             then 2 epochs of 30 steps of 14 ms from the cache.
See the goldens' comments."""
import random
import sys
rng = random.Random(17)
out = ['header start=999ms ncpus=2 target_pid=100 cmdline="python3 train.py"',
       'proc ts=999ms pid=100 ppid=1 cmdline="python3 train.py"',
       'comm ts=999.0000ms tid=100 pid=100 comm=python3 traced=1',
       'switch ts=999.0000ms cpu=0 prev=0 next=100 state=R']
def sc(ts, rest, dur):
    out.append('syscall ts=%.3fms tid=100 %s dur=%dus' % (ts, rest, dur))
def sample(t, ino, path, gap):
    sc(t, 'name=openat ret=3 fd=3 kind=reg ino=%d path="%s"' % (ino, path), 10)
    sc(t + gap, 'name=read ret=4096 fd=3 kind=reg ino=%d' % ino, 10)
    sc(t + 2 * gap, 'name=read ret=0 fd=3 kind=reg ino=%d' % ino, 2)
    sc(t + 3 * gap, 'name=close ret=0 fd=3 kind=reg ino=%d' % ino, 5)
def loop(t, end):                       # no call a step: brk at random, 13 ms apart
    while True:
        t += round(rng.expovariate(1 / 13.0), 3)
        if t >= end:
            return
        sc(t, 'name=brk ret=0', 3)
t, m = 1000.0, 0
if '--preload' in sys.argv:
    for k in range(600):
        sample(t, 2000 + k, '/data/train/s%03d.npy' % k, 0.1)
        t += 0.5
    loop(t, t + 3000.0)
    t += 3000.0
elif '--cache' in sys.argv:
    t = 1100.0
    for s in range(30):                 # epoch 1: each sample's file read once
        for k in range(8):
            sample(t + 14.0 * s + k, 2000 + s * 8 + k, '/data/train/img%03d.jpg' % (s * 8 + k), 0.2)
    t += 14.0 * 30
    loop(t, t + 14.0 * 60)              # epochs 2 and 3: from the cache
    t += 14.0 * 60
else:
    while t < 3000.0:                   # imports: bursts of modules, pauses that run code
        p = '/usr/lib/python3/dist-packages/pkg/__pycache__/m%d.cpython-311.pyc' % m
        sample(t, 3000 + m, p, 0.03)
        if m % 20 == 19:
            sc(t + 0.12, 'name=openat ret=4 fd=4 kind=reg ino=%d path="/usr/lib/'
               'python3/dist-packages/pkg/_c%d.cpython-311-x86_64-linux-gnu.so"' % (9000 + m, m), 10)
            sc(t + 0.14, 'name=mmap ret=0 fd=4 kind=reg ino=%d' % (9000 + m), 5)
            sc(t + 0.16, 'name=close ret=0 fd=4 kind=reg ino=%d' % (9000 + m), 5)
        m += 1
        t += 0.5 if rng.random() < 0.9 else round(2 * 10 ** rng.random(), 3)
    loop(t, t + 1500.0)
    t += 1500.0
out.append('trailer ts=%.3fms' % (t + 1))
print('\n'.join(out))
