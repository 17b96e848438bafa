#!/usr/bin/env python3
"""gen_nw0_startup.py [--mmap]: the events of tests/golden/analyze/nw0_files_startup.txt,
a num_workers=0 loop over an image folder (each sample's file opened, read, closed),
its start-up traced (run mode): bursts of small files read (metadata), an open, a read and a
close each, between pauses of 8 .. 80 ms, as many bursts as the loop has batches.
With --mmap, of nw0_mmap_startup.txt: the loop maps its data file anew each step
(pt_nw0_mmap), its cache dropped first.  See the goldens' comments."""
import random
import sys
rng = random.Random(16)
out = []
def sc(ts, rest, dur):
    out.append('syscall ts=%.3fms tid=100 %s dur=%dus' % (ts, rest, dur))
def sample(t, ino, path):
    sc(t, 'name=openat ret=3 fd=3 kind=reg ino=%d path="%s"' % (ino, path), 10)
    sc(t + 0.3 if ino < 3000 else t + 0.05, 'name=read ret=4096 fd=3 kind=reg ino=%d' % ino, 10)
    sc(t + 0.6 if ino < 3000 else t + 0.1, 'name=close ret=0 fd=3 kind=reg ino=%d' % ino, 5)
t, m = 1000.0, 0
for burst in range(30):                 # the start-up: 30 bursts of 2 .. 30 files
    for k in range(rng.randrange(2, 31)):
        sample(t, 3000 + m, '/data/meta/m%d.json' % m)
        m += 1
        t += 0.2
    t += round(8 * 10 ** rng.random(), 3)
t0 = float(int(t) + 10)                 # the loop's first step
for s in range(30 if "--mmap" in sys.argv else 0):
    b = t0 + 20.0 * s                   # the cache dropped, the file mapped, 19 ms
    sc(b, 'name=openat ret=4 fd=4 kind=reg ino=2000 path="/data/train.bin"', 10)
    sc(b + 0.05, 'name=fadvise64 ret=0 fd=4 kind=reg ino=2000', 20)
    sc(b + 0.1, 'name=close ret=0 fd=4 kind=reg ino=2000', 5)
    sc(b + 0.3, 'name=openat ret=4 fd=4 kind=reg ino=2000 path="/data/train.bin"', 10)
    sc(b + 0.35, 'name=close ret=0 fd=4 kind=reg ino=2000', 5)
for s in range(0 if "--mmap" in sys.argv else 30):
    for k in range(8):                  # 8 samples 1 ms apart, then 6 ms of compute
        sample(t0 + 14.0 * s + k, 2000 + (s * 8 + k) % 200,
               '/data/train/img%03d.jpg' % ((s * 8 + k) % 200))
print('\n'.join(out))
