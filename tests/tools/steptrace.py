#!/usr/bin/env python3
"""Writes the stgen text (tests/tools/stgen.c) of a synthetic training run whose step
times are exactly the ones given: a compute-bound main thread (pid 100) that, at the
end of each step, waits 0.5 ms for its worker (pid 200) to hand over the next batch.

    steptrace.py MS [MS ...]            the step durations, in order
    steptrace.py --normal N MEAN SD SEED    N steps drawn from a normal law (a fixed
                                        generator: the same arguments, the same times)

Step k spans the batch arrivals k and k+1, so `analyze` finds exactly these steps
(steps.durations_ms), rounded to the microsecond.  Used by tests/t_compare.sh for
comparisons whose right answer does not depend on the machine's load.
"""
import random
import sys


def durations(argv):
    if argv[:1] == ["--normal"]:
        n, mean, sd, seed = int(argv[1]), float(argv[2]), float(argv[3]), int(argv[4])
        r = random.Random(seed)
        return [max(1.0, round(r.gauss(mean, sd), 3)) for _ in range(n)]
    return [float(x) for x in argv]


def main():
    steps = durations(sys.argv[1:])
    if not steps:
        sys.exit("usage: steptrace.py MS [MS ...] | --normal N MEAN SD SEED")
    out = ['header start=1s ncpus=2 target_pid=100 cmdline="python train.py"',
           'proc ts=1s pid=100 ppid=1 cmdline="python train.py"',
           "comm ts=1s tid=100 pid=100 comm=python",
           "fork ts=1s parent=100 child=200 comm=pt_data_worker"]
    t = 1_001_000_000  # ns: the first arrival ends the first wait
    arrivals = [t]
    for d in steps:
        t += int(round(d * 1000)) * 1000
        arrivals.append(t)
    for a in arrivals:
        w = a - 500_000  # the main thread waits the last 0.5 ms of each step
        out += ["switch ts=%dns cpu=0 prev=100 next=0 state=S" % w,
                "syscall ts=%dns tid=200 name=write ret=4096 dur=10us fd=6 kind=pipe ino=77"
                % (a - 10_000),
                "wakeup ts=%dns tid=100 waker=200 waker_pid=200 waker_traced=1" % a,
                "switch ts=%dns cpu=0 prev=0 next=100 state=R" % a,
                "syscall ts=%dns tid=100 name=read ret=4096 dur=500us fd=5 kind=pipe ino=77" % a]
    out.append("trailer ts=%dns" % (arrivals[-1] + 1_000_000))
    print("\n".join(out))


if __name__ == "__main__":
    main()
