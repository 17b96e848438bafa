"""Ground-truth helpers shared by the PyTorch reference workloads (torch_jobs.py,
ddp_train.py).  Plain Python: nothing here imports torch.

What a workload measures about itself, and how:
  - a thread's time on CPU and runnable-but-waiting (the scheduler's own
    accounts, /proc/<task>/schedstat, ns);
  - a process's, summed over its threads (the DataLoader worker's feeder
    thread included);
  - the machine: idle CPU time from /proc/stat, and the processes outside the
    job that used CPU meanwhile (/proc/<pid>/stat utime + stime);
  - the attach gate: with $ST_GATE set, the job stops at the start of its
    measured window until a tracer is attached (see gate()).
"""
import os

HZ = os.sysconf("SC_CLK_TCK")


class SchedStat:
    """The calling thread's own scheduler accounts.

    /proc/thread-self is resolved at open time, so the fd keeps naming the
    thread that created the object; pread() re-reads it in one syscall.
    """

    def __init__(self):
        try:
            self.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = -1

    def read(self):
        """(ns on CPU, ns runnable waiting for a CPU) since the thread started."""
        if self.fd < 0:
            return 0, 0
        c, r = os.pread(self.fd, 128, 0).split()[:2]
        return int(c), int(r)


def task_schedstat(pid, tid):
    """(on-CPU ns, run-queue ns) of one thread of pid, (0, 0) if it is gone."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
            c, r = f.read().split()[:2]
        return int(c), int(r)
    except (OSError, ValueError):
        return 0, 0


def proc_schedstat(pid):
    """(on-CPU ns, run-queue ns) summed over the threads of pid, None if it is gone.

    Threads that already exited are not counted: read it while they live.
    """
    oncpu = runq = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                c, r = f.read().split()[:2]
        except (OSError, ValueError):
            continue
        oncpu += int(c)
        runq += int(r)
    return oncpu, runq


def _stat(pid):
    """(comm, ppid, utime + stime ticks) of pid from /proc/pid/stat, or None."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            s = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm may hold spaces and parentheses: it ends at the last ')'
    lp, rp = s.find("("), s.rfind(")")
    f = s[rp + 2:].split()
    return s[lp + 1:rp], int(f[1]), int(f[11]) + int(f[12])


def _cpu_idle_ticks():
    """(ncpus, idle + iowait ticks of all CPUs, all ticks, steal ticks) from
    /proc/stat (steal: time the hypervisor ran other work on the virtual CPUs)."""
    n = idle = total = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                v = [int(x) for x in line.split()[1:]]
                idle, total, steal = v[3] + v[4], sum(v[:8]), v[7]
            elif line.startswith("cpu"):
                n += 1
    return n, idle, total, steal


class Machine:
    """What the rest of the machine did during a window.

    snap() at the start and at the end; result() then gives the CPUs' idle
    time and the processes outside the job (the tree of job_root) that used CPU,
    busiest first (a process that started inside the window counts all its
    CPU).  What they do not account for (processes that ended inside the
    window: short-lived ones such as compilers under make; CPU time not
    charged to a process) is unattributed_cpu_s.  The tracer itself is one of
    the others: it competes for the CPUs too.
    """

    def __init__(self, job_root):
        self.root = job_root
        self.s = []

    def snap(self):
        import time
        procs = {}
        for p in os.listdir("/proc"):
            if p.isdigit():
                st = _stat(p)
                if st:
                    procs[int(p)] = st
        n, idle, total, steal = _cpu_idle_ticks()
        self.s.append((time.monotonic_ns(), n, idle, total, procs, steal))

    def _job(self, procs):
        kids = {}
        for pid, (_, ppid, _) in procs.items():
            kids.setdefault(ppid, []).append(pid)
        job, todo = set(), [self.root]
        while todo:
            p = todo.pop()
            if p not in job:
                job.add(p)
                todo += kids.get(p, [])
        return job

    def result(self, top=5):
        (t0, n, i0, a0, p0, s0), (t1, _, i1, a1, p1, s1) = self.s[0], self.s[-1]
        job = self._job(p1) | self._job(p0)
        others, job_ticks = [], 0
        for pid, (comm, _, ticks) in p1.items():
            d = ticks - p0[pid][2] if pid in p0 else ticks
            if pid in job:
                job_ticks += d
            elif d > 0:
                others.append({"pid": pid, "comm": comm, "cpu_s": round(d / HZ, 3)})
        others.sort(key=lambda o: -o["cpu_s"])
        wall = (t1 - t0) / 1e9
        idle = (i1 - i0) / HZ
        return {"ncpus": n, "start_ns": t0, "end_ns": t1, "idle_s": round(idle, 3),
                "idle_cpus": round(idle / wall, 3) if wall > 0 else 0.0,
                "busy_s": round((a1 - a0 - (i1 - i0)) / HZ, 3),
                "steal_s": round((s1 - s0) / HZ, 3),
                "job_cpu_s": round(job_ticks / HZ, 3),
                "others_cpu_s": round(sum(o["cpu_s"] for o in others), 3),
                "unattributed_cpu_s": round(max(0, a1 - a0 - (i1 - i0) - job_ticks -
                                                sum(o["cpu_s"] for o in others) * HZ) / HZ, 3),
                "others": others[:top]}


def gate():
    """The attach gate: returns at once unless $ST_GATE names a FIFO.

    Then this process appends its pid to $ST_GATE.ready and blocks reading one
    byte of the FIFO: the runner (attach_run.sh) attaches the tracer meanwhile
    and writes one byte per waiting process.  Called where the measured window
    starts, after the warm-up, so the tracer attaches to a job already running,
    its workers included.
    """
    path = os.environ.get("ST_GATE")
    if not path:
        return
    fd = os.open(path, os.O_RDONLY)  # blocks until the runner holds it open
    with open(path + ".ready", "a") as f:
        f.write("%d\n" % os.getpid())
    if os.read(fd, 1) != b"g":
        raise SystemExit("wl_common: the attach gate closed without a go")
    os.close(fd)


def set_comm(name):
    """Names the calling thread (as prctl(PR_SET_NAME) would), best effort."""
    try:
        import threading
        with open("/proc/self/task/%d/comm" % threading.get_native_id(), "w") as f:
            f.write(name[:15])
    except OSError:
        pass
