#!/usr/bin/env python3
"""gen_nw0_pread.py: the events of tests/golden/analyze/nw0_pread_imports.txt, a
num_workers=0 loop that reads its samples with pread from one file opened once, its
start-up's imports (an open, a read and a close a module, at uneven spacings) traced
too, as in attach mode at a job's start.  See the golden's comments."""
import random
rng = random.Random(14)
out = []
def sc(ts, rest, dur):
    out.append('syscall ts=%.3fms tid=100 %s dur=%dus' % (ts, rest, dur))
t = 1000.0
for m in range(1500):                   # the imports: bursts of modules, 0.1 ms apart
    p = '/usr/lib/python3/m%d.py' % m
    sc(t, 'name=openat ret=3 fd=3 kind=reg ino=%d path="%s"' % (3000 + m, p), 10)
    sc(t + 0.03, 'name=read ret=4096 fd=3 kind=reg ino=%d' % (3000 + m), 10)
    sc(t + 0.06, 'name=close ret=0 fd=3 kind=reg ino=%d' % (3000 + m), 5)
    # a burst's next module, or a pause for one that runs code (2 .. 20 ms)
    t += 0.1 if rng.random() < 0.95 else round(2 * 10 ** rng.random(), 3)
t0 = float(int(t) + 10)                 # the loop's first step
sc(t0 - 5, 'name=openat ret=4 fd=4 kind=reg ino=2000 path="/data/train.bin"', 10)
for s in range(30):                     # the steps: 16 samples, then 5 ms of compute
    b = t0 + 6.0 * s
    if s % 10 == 0:
        sc(b - 0.1, 'name=fadvise64 ret=0 fd=4 kind=reg ino=2000', 20)
    for k in range(16):
        sc(b + 0.06 * k, 'name=pread64 ret=65536 fd=4 kind=reg ino=2000 count=65536 '
           'offset=%d' % (rng.randrange(1024) * 65536), 10)
print('\n'.join(out))
