#!/usr/bin/env python3
"""gen_queue_loader.py [--attach|--prep [--early]] [--truth]: the events of
tests/golden/analyze/queue_loader_run.txt (a run-mode loop fed through a queue by a
loader thread, a new one each epoch; see its comments), or with --attach of
queue_loader_attach_iter.txt (the same job attached between two epochs, and one get()
seen twice), or with --prep of queue_loader_prep.txt (one epoch, the workers slower
than the loop: the queue never full, each take followed by the previous batch's free,
a step's 0.8 ms of CPU without a call; with --early too of queue_loader_early.txt: the
loop stops after 26 takes, 4 batches received and never taken), simulated; --truth
prints the loop's takes instead, and with --prep the loop's time in get() over its
first to last take."""
import sys
ATTACH = '--attach' in sys.argv
PREP = '--prep' in sys.argv
EARLY = '--early' in sys.argv           # the loop stops NT takes in: 4 batches never taken
TWICE = (1, 5) if ATTACH else None     # (epoch, take): its get() wakes the loader thread twice
D, N, EPOCHS, W = 2, 10, 3, 2           # queue depth, batches an epoch, epochs, workers
CPU = 10.0                              # the loop's step, CPU ms
if PREP:
    D, N, EPOCHS, CPU = 3, 30, 1, 0.8
NT = N - 4 if EARLY else N
def wall(e, k):                         # its wall time: the first 3 of an epoch share the CPUs
    if PREP:
        return CPU
    return (16.0 if k <= 3 else 10.0) + (5.0 if (e, k) == TWICE else 0.0)
def decode(e, j):
    if PREP:
        return 4.0
    return 80.0 if (e == 2 and j == 6) else 4.0
ev = []
def E(ts, s): ev.append((round(ts, 3), len(ev), s.replace('TS', 'ts=%.3fms' % ts)))
def sc(end, tid, rest, dur): E(end, 'syscall TS tid=%d %s dur=%dus' % (tid, rest, max(1, int(round(dur * 1000)))))
LOOP, FEED, WK, RPIPE, IPIPE = 100, (101, 102), (200, 201), 77, (80, 81)
E(999.0, 'proc TS pid=100 ppid=1 nthreads=%d cmdline="python3 train.py"' % (3 if ATTACH else 1))
E(999.0, 'comm TS tid=100 pid=100 comm=python3 traced=1')
E(999.0, 'switch TS cpu=0 prev=0 next=100 state=R')
# the pool (persistent: forked once, at the first iter(); attached, there before the
# trace) and its index queues' feeders
for i in range(W):
    if ATTACH:
        E(999.0, 'proc TS pid=%d ppid=100 nthreads=1 cmdline="python3 train.py"' % WK[i])
        E(999.0, 'comm TS tid=%d pid=%d comm=pt_data_worker traced=1' % (WK[i], WK[i]))
        E(999.0, 'comm TS tid=%d pid=100 comm=python3 traced=1' % FEED[i])
    else:
        E(999.1 + i * 0.1, 'fork TS parent=100 parent_pid=100 child=%d child_pid=%d comm=pt_data_worker' % (WK[i], WK[i]))
        E(999.3 + i * 0.1, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 comm=python3' % FEED[i])
    E(999.12 + i * 0.1, 'switch TS cpu=%d prev=0 next=%d state=R' % (2 + i, WK[i]))
    E(999.15 + i * 0.1, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (2 + i, WK[i]))
    E(999.32 + i * 0.1, 'switch TS cpu=1 prev=0 next=%d state=R' % FEED[i])
    E(999.35 + i * 0.1, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % FEED[i])
feed_since = [999.35, 999.45]
feed_word = [0x7f0000030000, 0x7f0000030100]
wk_since = [999.15, 999.25]             # each worker waits on its index pipe since
wk_free = [0.0, 0.0]
sock = [900]
lockaddr = [0x7f0000010000]
def newlock():
    lockaddr[0] += 0x40
    return lockaddr[0]
def index_put(t, by, by_cpu, w):
    """by wakes worker w's feeder, which writes the index; returns when the worker has it"""
    sc(t + 0.002, by, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % feed_word[w], 0.002)
    E(t + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=%d' % (FEED[w], by, by_cpu))
    E(t + 0.01, 'switch TS cpu=1 prev=0 next=%d state=R' % FEED[w])
    sc(t + 0.012, FEED[w], 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % feed_word[w], t + 0.012 - feed_since[w])
    sc(t + 0.02, FEED[w], 'name=write ret=16 fd=9 kind=pipe ino=%d' % IPIPE[w], 0.005)
    E(t + 0.021, 'wakeup TS tid=%d waker=%d waker_pid=100 waker_traced=1 waker_cpu=1' % (WK[w], FEED[w]))
    E(t + 0.025, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % FEED[w])
    feed_since[w] = t + 0.025
    return t + 0.03
def worker_job(t_idx, w, dec, nbytes):
    """worker w reads its index (arrived t_idx), works dec ms, writes its answer: when"""
    start = max(t_idx, wk_free[w])
    E(start, 'switch TS cpu=%d prev=0 next=%d state=R' % (2 + w, WK[w]))
    sc(start + 0.005, WK[w], 'name=read ret=16 fd=3 kind=pipe ino=%d' % IPIPE[w], start + 0.005 - wk_since[w])
    done = start + dec
    sc(done, WK[w], 'name=write ret=%d fd=6 kind=pipe ino=%d' % (nbytes, RPIPE), 0.005)
    E(done + 0.005, 'switch TS cpu=%d prev=%d next=0 state=S wait=pipe' % (2 + w, WK[w]))
    wk_since[w] = done + 0.005
    wk_free[w] = done + 0.005
    return done
loop_since = None                       # the loop off CPU since (a wait)
takes, t = [], 1000.0
for e in range(1, EPOCHS + 1):
    R = 102 + e                          # this epoch's loader thread
    # iter(dl) in the loop's thread: a persistent pool's resume (each worker answers,
    # read by the loop itself), then the prefetch: 2 indices a worker
    if e > 1 or ATTACH:
        for w in range(W):
            got = index_put(t, LOOP, 0, w)
            done = worker_job(got, w, 0.2, 40)
            t = max(t + 0.05, done + 0.01)
            sc(t, LOOP, 'name=read ret=40 fd=5 kind=pipe ino=%d' % RPIPE, 0.005)
            t += 0.02
    ready, idx_at = {}, {}
    for j in range(1, 2 * W + 1):
        w = (j - 1) % W
        idx_at[j] = index_put(t, LOOP, 0, w)
        t += 0.05
        ready[j] = worker_job(idx_at[j], w, decode(e, j), 428)
    # the loader thread: Thread.start() waits until it runs
    E(t, 'fork TS parent=100 parent_pid=100 child=%d child_pid=100 thread=1 comm=python3' % R)
    a = newlock()
    E(t + 0.01, 'switch TS cpu=0 prev=100 next=0 state=S wait=futex')
    E(t + 0.02, 'switch TS cpu=1 prev=0 next=%d state=R' % R)
    sc(t + 0.05, R, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % a, 0.002)
    E(t + 0.049, 'wakeup TS tid=100 waker=%d waker_pid=100 waker_traced=1 waker_cpu=1' % R)
    E(t + 0.06, 'switch TS cpu=0 prev=0 next=100 state=R')
    sc(t + 0.062, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % a, 0.052)
    loop_ready = t + 0.1                 # its first get()
    relay_t = t + 0.1
    put_at, take_at, loop_wait_lock = {}, {}, {}
    relay_wait = {}                      # j -> (since, lock): it waited for room to put j
    def take(k):
        """the loop's take of item k (N + 1: the end, None)"""
        global loop_ready
        if k in take_at:
            return take_at[k]
        if EARLY and k > NT:
            return None
        tk = max(loop_ready, put_at[k])
        take_at[k] = tk
        if k <= N:
            loop_ready = tk + wall(e, k)
        else:
            loop_ready = tk + 0.5
        return tk
    for j in range(1, N + 2):
        if j <= N:
            # receive batch j (poll until it came), fetch its fds, put the next index
            w = (j - 1) % W
            if ready[j] > relay_t:
                E(relay_t, 'switch TS cpu=1 prev=%d next=0 state=S wait=pipe' % R)
                E(ready[j] + 0.001, 'wakeup TS tid=%d waker=%d waker_pid=%d waker_traced=1 waker_cpu=%d' % (R, WK[w], WK[w], 2 + w))
                E(ready[j] + 0.006, 'switch TS cpu=1 prev=0 next=%d state=R' % R)
                sc(ready[j] + 0.007, R, 'name=poll ret=1 fd=5 kind=pipe ino=%d' % RPIPE, ready[j] + 0.007 - relay_t)
                relay_t = ready[j] + 0.007
            sc(relay_t + 0.003, R, 'name=read ret=4 fd=5 kind=pipe ino=%d' % RPIPE, 0.002)
            sc(relay_t + 0.013, R, 'name=read ret=424 fd=5 kind=pipe ino=%d' % RPIPE, 0.005)
            sock[0] += 1
            sc(relay_t + 0.03, R, 'name=connect ret=0 fd=12 kind=socket ino=%d' % sock[0], 0.01)
            sc(relay_t + 0.06, R, 'name=close ret=0 fd=12 kind=socket ino=%d' % sock[0], 0.005)
            relay_t += 0.08
            if j + 2 * W <= N:
                jj = j + 2 * W
                idx_at[jj] = index_put(relay_t, R, 1, (jj - 1) % W)
                ready[jj] = worker_job(idx_at[jj], (jj - 1) % W, decode(e, jj), 428)
                relay_t += 0.05
        # q.put(j): room when item j - D was taken
        if j > D:
            tr = take(j - D)
            if tr is None:
                # the loop stopped taking: the loader thread waits for room for good
                E(relay_t, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % R)
                break
            if tr > relay_t:
                lk = newlock()
                relay_wait[j] = (relay_t, lk)
                E(relay_t, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % R)
                # the loop's get() made room: its notify wakes the loader thread
                sc(tr + 0.002, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % lk, 0.002)
                E(tr + 0.001, 'wakeup TS tid=%d waker=100 waker_pid=100 waker_traced=1 waker_cpu=0' % R)
                E(tr + 0.01, 'switch TS cpu=1 prev=0 next=%d state=R' % R)
                sc(tr + 0.012, R, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % lk, tr + 0.012 - relay_t)
                relay_t = tr + 0.02
                if (e, j - D) == TWICE:
                    # the loop, preempted before it released the queue's lock: the
                    # loader thread waits for that lock, and the release wakes it
                    mx = newlock()
                    E(tr + 0.03, 'switch TS cpu=1 prev=%d next=0 state=S wait=futex' % R)
                    sc(tr + 5.012, LOOP, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % mx, 0.002)
                    E(tr + 5.011, 'wakeup TS tid=%d waker=100 waker_pid=100 waker_traced=1 waker_cpu=0' % R)
                    E(tr + 5.02, 'switch TS cpu=1 prev=0 next=%d state=R' % R)
                    sc(tr + 5.022, R, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % mx, 4.992)
                    relay_t = tr + 5.03
        put_at[j] = relay_t
        relay_t += 0.03
    else:
        E(relay_t, 'exit TS tid=%d pid=100' % R)
    # the loop: its takes, waits where the queue was empty, and its steps' CPU
    for k in range(1, (NT + 1) if EARLY else (N + 2)):
        tk = take(k)
        prev_end = (take_at[k - 1] + wall(e, k - 1)) if k > 1 else t + 0.1
        if k == N + 1:
            prev_end = take_at[N] + wall(e, N)
        if put_at[k] > prev_end + 0.001:
            # get() on an empty queue: it waits for the loader thread's put
            lk = newlock()
            E(prev_end, 'switch TS cpu=0 prev=100 next=0 state=S wait=futex')
            sc(put_at[k] + 0.002, R, 'name=futex ret=1 futex_uaddr=0x%x futex_op=0x81 futex_val=1' % lk, 0.002)
            E(put_at[k] + 0.001, 'wakeup TS tid=100 waker=%d waker_pid=100 waker_traced=1 waker_cpu=1' % R)
            E(put_at[k] + 0.01, 'switch TS cpu=0 prev=0 next=100 state=R')
            sc(put_at[k] + 0.012, LOOP, 'name=futex ret=0 futex_uaddr=0x%x futex_op=0x189 futex_val=0 timeout=-1' % lk, put_at[k] + 0.012 - prev_end)
        if k <= N:
            takes.append(tk)
            if PREP and k > 1:
                # the previous batch freed as x is bound to this one: its shared memory
                sc(tk + 0.03, LOOP, 'name=close ret=0 fd=14 kind=reg ino=%d' % (5000 + k), 0.002)
                sc(tk + 0.07, LOOP, 'name=munmap ret=0', 0.035)
            if (e, k) == TWICE:
                E(tk + 0.005, 'switch TS cpu=0 prev=100 next=0 state=R')
                E(tk + 5.005, 'switch TS cpu=0 prev=0 next=100 state=R')
            if wall(e, k) - (5.0 if (e, k) == TWICE else 0.0) > CPU:
                # preempted in its step (the workers share the CPUs)
                E(tk + CPU / 2 + 5.0 * ((e, k) == TWICE), 'switch TS cpu=0 prev=100 next=0 state=R')
                E(tk + CPU / 2 + wall(e, k) - CPU, 'switch TS cpu=0 prev=0 next=100 state=R')
    if EARLY:                           # the loop's last step, then its exit
        t = take_at[NT] + CPU
        break
    t = take_at[N + 1] + 0.5             # StopIteration: the next epoch's iter()
E(t + 5, 'exit TS tid=100 pid=100')
if '--truth' in sys.argv:
    print(len(takes), ' '.join('%.3f' % x for x in takes))
    if PREP:                            # get(): from the step's end to the free's end
        w = sum(takes[k] + 0.105 - (takes[k - 1] + CPU) for k in range(1, len(takes)))
        print('in get() %.3f of %.3f ms: %.4f' % (w, takes[-1] - takes[0], w / (takes[-1] - takes[0])))
    sys.exit()
for ts, _, s in sorted(ev):
    print(s)
print('trailer ts=%.3fms' % (t + 10))
