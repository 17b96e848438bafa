#!/usr/bin/env python3
"""idleprobe.py SECS: the kernel's idle time of each CPU over SECS seconds, as the
ground truth for the tracer's IDLE records.  Reads /proc/stat (idle + iowait, in
USER_HZ ticks: 10 ms) with CLOCK_MONOTONIC at its start and end, sleeps between, and
prints one line: "idleprobe T0 T1 CPU:NS ..." (times and idle time in ns)."""
import os, sys, time

HZ = os.sysconf("SC_CLK_TCK")

def read():
    t = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    idle = {}
    with open("/proc/stat") as f:
        for line in f:
            w = line.split()
            if w[0].startswith("cpu") and w[0] != "cpu":
                idle[int(w[0][3:])] = (int(w[4]) + int(w[5])) * 1_000_000_000 // HZ
    return t, idle

t0, a = read()
time.sleep(float(sys.argv[1]))
t1, b = read()
print("idleprobe", t0, t1, " ".join(f"{c}:{b[c] - a[c]}" for c in sorted(a)))
