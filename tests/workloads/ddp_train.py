#!/usr/bin/python3
"""Data-parallel training on CPU (gloo), one rank slowed: a torchrun rank script.

    torchrun --nproc_per_node 2 --redirects 2 --tee 1 tests/workloads/ddp_train.py \\
        --slow prep|fetch|compute|none [--slow-rank 1] [--mode ddp|explicit] \\
        --truth FILE [knobs]

(tests/workloads/ddp_launch.sh does the launching, on one node or as two nodes.)
Each rank trains the same small MLP on its own batches from its own DataLoader
(--workers worker processes).  --mode ddp wraps it in DistributedDataParallel:
the gradients' all-reduce runs in gloo's threads during backward(), and the main
thread waits for it at the end of backward().  --mode explicit averages the
gradients itself with one dist.all_reduce() after backward().

The slowed rank (--slow-rank; -1: every rank, a balanced job with a shared
cause) is slowed by:
  compute  --slow-compute-us of extra CPU work per step on its main thread
  prep     its workers run --slow-decode-reps conv passes per sample (CPU)
  fetch    its workers read each sample as --reads-per-sample scattered 4 KiB
           O_DIRECT reads of a 64 MiB file (the reads reach the device)
  none     nobody: a balanced job

Ground truth, per rank, over its measured window (the same steps on every rank,
after --warmup-steps, a barrier and the attach gate):
  collective_wait_s  the main thread's time blocked (off CPU, not runnable) in
                     backward() (ddp) or in all_reduce() (explicit).  Both block
                     only on the collective: CPU autograd runs backward on the
                     calling thread, and the thread's own CPU time (its CPU
                     clock) and run-queue time (schedstat), read before and
                     after, are subtracted.
  collective_call_runq_s  that call's run-queue time (schedstat): its part after
                     the other ranks' data arrived is the rest of the time in
                     the collective a wait can show.
  batch_wait_s       time in next(loader);  compute_s: the rest of the step
                     (forward, backward, optimizer) minus collective_wait_s.
  coll_enter_ns      per step, when this rank launched its all-reduce (a DDP comm
                     hook timestamps the launch; explicit: before the call): the
                     rank that enters last is the one the others waited for.
Rank 0 gathers every rank's truth (all_gather_object) and writes the job's one
truth line to --truth.
"""
import argparse
import json
import mmap
import os
import socket
import sys
import threading
import time
import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wl_common as wl  # noqa: E402
# the 64 MiB file (made once), the samples, their decode, the model, fixed CPU work
from torch_train import BLOCK, SAMPLE_BYTES, dataset_file, decode  # noqa: E402
from torch_jobs import POOL_IMAGES, burn, image_pool, mlp  # noqa: E402

CAUSE = {"compute": "compute", "prep": "dataloader_prep", "fetch": "dataloader_fetch",
         "none": None}
NSTAT = 6               # per worker: pid, read_ns, decode_ns, samples, bytes, unused


class Batches(Sampler):
    """(batch number, indices): distinct samples per rank."""

    def __init__(self, rank, bs, nb):
        self.rank, self.bs, self.nb = rank, bs, nb

    def __iter__(self):
        for b in range(self.nb):
            base = (b * 2 + self.rank) * self.bs * 7919
            yield b, [(base + i * 104729) % (1 << 20) for i in range(self.bs)]

    def __len__(self):
        return self.nb


class Samples(Dataset):
    def __init__(self, a, slow, path, shm):
        self.a, self.shm = a, shm
        self.fetch = slow and a.slow == "fetch"
        self.reps = a.slow_decode_reps if slow and a.slow == "prep" else a.decode_reps
        self.path = path
        self.pool, self.kernel = image_pool()
        self.fd = None

    def overlap(self, t0, t1):
        start, end = self.shm[0], self.shm[1] or (1 << 62)
        return max(0, min(t1, end) - max(t0, start)) if start else 0

    def _read(self, idx):
        if not self.fetch:
            return self.pool[idx % POOL_IMAGES], 0
        if self.fd is None:  # after fork; O_DIRECT: no page cache on the way
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECT)
            self.buf = mmap.mmap(-1, BLOCK * self.a.reads_per_sample)
            self.view = memoryview(self.buf)
            self.nblocks = os.path.getsize(self.path) // BLOCK
        for j in range(self.a.reads_per_sample):
            blk = ((idx * self.a.reads_per_sample + j) * 2654435761) % self.nblocks
            os.preadv(self.fd, [self.view[j * BLOCK:(j + 1) * BLOCK]], blk * BLOCK)
        return (torch.frombuffer(self.buf, dtype=torch.uint8)[:SAMPLE_BYTES].clone(),
                BLOCK * self.a.reads_per_sample)

    def __getitem__(self, item):
        b, idxs = item
        base = 2 + NSTAT * get_worker_info().id
        out = []
        for idx in idxs:
            t0 = time.monotonic_ns()
            raw, nbytes = self._read(idx)
            t1 = time.monotonic_ns()
            out.append(decode(raw, self.kernel, self.reps))
            t2 = time.monotonic_ns()
            self.shm[base + 1] += self.overlap(t0, t1)
            self.shm[base + 2] += self.overlap(t1, t2)
            if b >= self.a.warmup_steps:
                self.shm[base + 3] += 1
                self.shm[base + 4] += nbytes
        return torch.stack(out), torch.tensor(idxs)

    def __len__(self):
        return 1 << 20


class Rank:
    def __init__(self, a):
        self.a = a
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.slow = a.slow != "none" and a.slow_rank in (-1, self.rank)
        import multiprocessing
        self.shm = multiprocessing.get_context("fork").RawArray("q", 2 + NSTAT * a.workers)
        path = dataset_file(a.data, 64 << 20) if a.slow == "fetch" else None
        self.ds = Samples(a, self.slow, path, self.shm)
        shm = self.shm

        def init(w):
            torch.set_num_threads(1)
            shm[2 + NSTAT * w] = os.getpid()
        self.loader = DataLoader(self.ds, batch_size=None,
                                 sampler=Batches(self.rank, a.batch_size,
                                                 a.warmup_steps + a.steps),
                                 num_workers=a.workers, multiprocessing_context="fork",
                                 worker_init_fn=init, prefetch_factor=2)
        torch.manual_seed(a.seed)  # the same initial weights on every rank
        net = mlp(a.hidden)
        self.enter = []
        if a.mode == "ddp":
            self.model = nn.parallel.DistributedDataParallel(net)
            self.model.register_comm_hook(None, self._hook)
        else:
            self.model = net
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.sched = wl.SchedStat()

    def _hook(self, state, bucket):
        """DDP's default all-reduce, with the launch time noted (per step, per bucket)."""
        self.enter.append(time.monotonic_ns())
        t = bucket.buffer().div_(self.world)
        return dist.all_reduce(t, async_op=True).get_future().then(lambda f: f.value()[0])

    def blocked(self, fn):
        """Runs fn(); returns (wall ns, ns blocked: off CPU and not runnable, ns runnable).

        The CPU time is the thread's CPU clock, not schedstat's: schedstat shows a
        running thread's CPU time as of its last tick or switch (HZ=250: up to 4 ms
        old), and the read before the call, mid-run, lagged more than the one after
        it, just after the wake: the blocked time came out short by a median 0.7 ms a
        step (t_ddp fetch-attach: 0.517 of the window measured, 0.569 in the trace,
        where the main thread's futex wait was 8.67 ms and the measure said 7.35).
        The run-queue time is schedstat's: it changes only at a switch in."""
        s0, c0, t0 = self.sched.read(), time.thread_time_ns(), time.monotonic_ns()
        fn()
        t1, c1, s1 = time.monotonic_ns(), time.thread_time_ns(), self.sched.read()
        return (t1 - t0, max(0, (t1 - t0) - (c1 - c0) - (s1[1] - s0[1])),
                s1[1] - s0[1])

    def _allreduce(self):
        self.enter.append(time.monotonic_ns())
        grads = [p.grad for p in self.model.parameters()]
        flat = torch.cat([g.view(-1) for g in grads])
        dist.all_reduce(flat)
        flat.div_(self.world)
        off = 0
        for g in grads:
            g.copy_(flat[off:off + g.numel()].view_as(g))
            off += g.numel()

    def train(self):
        a = self.a
        m = dict(batch_wait=0, compute=0, compute_cpu=0, coll=0, coll_wall=0, coll_runq=0,
                 fwd_blocked=0)
        st, nx, cw, ce = [], [], [], []
        it = iter(self.loader)
        for step in range(a.warmup_steps + a.steps):
            if step == a.warmup_steps:
                wl.gate()
                dist.barrier()
                if self.rank == 0:
                    self.machine = wl.Machine(int(os.environ.get("ST_JOB_ROOT", os.getppid())))
                    self.machine.snap()
                base = {}
                for w in range(a.workers):
                    base[w] = wl.proc_schedstat(self.shm[2 + NSTAT * w]) or (0, 0)
                sched0 = self.sched.read()
                m["start"] = self.shm[0] = time.monotonic_ns()
            t0 = time.monotonic_ns()
            x, ids = next(it)
            t1 = time.monotonic_ns()
            c0 = time.thread_time_ns()
            self.opt.zero_grad()
            n_enter = len(self.enter)
            out = []
            fwd, fwd_blk, _ = self.blocked(lambda: out.append(self._forward(x, ids)))
            bwd, bwd_blk, bwd_rq = self.blocked(out[0].backward)
            ar, ar_blk, ar_rq = (0, 0, 0) if a.mode == "ddp" else self.blocked(self._allreduce)
            self.opt.step()
            c1 = time.thread_time_ns()
            t2 = time.monotonic_ns()
            if step >= a.warmup_steps:
                coll = bwd_blk if a.mode == "ddp" else ar_blk
                st.append(t1)
                nx.append(t1 - t0)
                cw.append(coll)
                ce.append(self.enter[n_enter] if len(self.enter) > n_enter else 0)
                m["batch_wait"] += t1 - t0
                m["compute"] += t2 - t1 - coll
                m["compute_cpu"] += c1 - c0
                m["coll"] += coll
                m["coll_wall"] += bwd if a.mode == "ddp" else ar
                m["coll_runq"] += bwd_rq if a.mode == "ddp" else ar_rq
                m["fwd_blocked"] += fwd_blk
        m["end"] = self.shm[1] = time.monotonic_ns()
        sched1 = self.sched.read()
        workers = []
        for w in range(a.workers):
            pid = self.shm[2 + NSTAT * w]
            now = wl.proc_schedstat(pid) or base[w]
            v = self.shm[2 + NSTAT * w: 2 + NSTAT * (w + 1)]
            workers.append({"pid": pid, "oncpu_s": (now[0] - base[w][0]) / 1e9,
                            "runq_s": (now[1] - base[w][1]) / 1e9, "read_s": v[1] / 1e9,
                            "decode_s": v[2] / 1e9, "handoff_s": 0.0, "samples": v[3],
                            "bytes_read": v[4]})
        if self.rank == 0:
            self.machine.snap()
        del it
        s = lambda ns: round(ns / 1e9, 6)
        wall = m["end"] - m["start"]
        oncpu, runq = sched1[0] - sched0[0], sched1[1] - sched0[1]
        env = {k.lower(): os.environ.get(k) for k in
               ("RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK", "TORCHELASTIC_RUN_ID",
                "MASTER_ADDR", "MASTER_PORT")}
        return {
            "rank": self.rank, "local_rank": int(env["local_rank"] or 0),
            "group_rank": int(env["group_rank"] or 0), "world_size": self.world,
            "env": env, "host": socket.gethostname(), "pid": os.getpid(),
            "main_tid": threading.get_native_id(), "slowed": self.slow,
            "window": {"start_ns": m["start"], "end_ns": m["end"]}, "wall_s": s(wall),
            "steps": len(st), "batch_size": a.batch_size,
            "main": {"batch_wait_s": s(m["batch_wait"]), "compute_s": s(m["compute"]),
                     "collective_wait_s": s(m["coll"]),
                     "collective_call_s": s(m["coll_wall"]),
                     "collective_call_runq_s": s(m["coll_runq"]),
                     "forward_blocked_s": s(m["fwd_blocked"]),
                     "compute_cpu_s": s(m["compute_cpu"]), "oncpu_s": s(oncpu),
                     "runq_wait_s": s(runq), "blocked_s": s(max(0, wall - oncpu - runq)),
                     "device_wait_s": 0.0, "checkpoint_s": 0.0, "lock_wait_s": 0.0},
            "workers": workers, "step_start_ns": st, "next_ns": nx,
            "coll_wait_ns": cw, "coll_enter_ns": ce}

    def _forward(self, x, ids):
        if self.slow and self.a.slow == "compute":
            burn(self.a.slow_compute_us)
        return F.cross_entropy(self.model(x), ids % 10)


def job_truth(a, ranks, machine):
    ranks.sort(key=lambda r: r["rank"])
    steps = ranks[0]["steps"]
    last = [0] * len(ranks)
    for i in range(steps):
        enters = [r["coll_enter_ns"][i] for r in ranks]
        last[max(range(len(ranks)), key=lambda k: enters[k])] += 1
    frac = lambda r: r["main"]["collective_wait_s"] / r["wall_s"]
    if a.slow != "none" and a.slow_rank >= 0:
        s = ranks[a.slow_rank]
        others = [frac(r) for r in ranks if r is not s]
        straggler = {"rank": s["rank"], "pid": s["pid"], "host": s["host"],
                     "cause": CAUSE[a.slow], "slowed_by": a.slow,
                     "last_to_collective_steps": last[a.slow_rank],
                     "others_wait_fraction": round(sum(others) / len(others), 4)}
    else:
        straggler = None
    start = min(r["window"]["start_ns"] for r in ranks)
    end = max(r["window"]["end_ns"] for r in ranks)
    return {"stalltrace_truth": 1, "workload": "ddp", "scenario": a.name, "mode": a.mode,
            "backend": "gloo", "world_size": len(ranks),
            "nnodes": len({r["group_rank"] for r in ranks}),
            "window": {"start_ns": start, "end_ns": end}, "wall_s": round((end - start) / 1e9, 6),
            "steps": steps, "batch_size": a.batch_size,
            "slow": {"rank": a.slow_rank if a.slow_rank >= 0 else "all", "by": a.slow},
            "straggler": straggler,
            "shared_cause": CAUSE[a.slow] if a.slow_rank < 0 else None, "last_to_collective_steps": last,
            "ranks": ranks, "machine": machine}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slow", required=True, choices=sorted(CAUSE))
    p.add_argument("--slow-rank", type=int, default=1)
    p.add_argument("--mode", choices=("ddp", "explicit"), default="ddp")
    p.add_argument("--truth", required=True, help="file rank 0 writes the truth line to")
    p.add_argument("--name", default="", help="scenario name echoed in the truth line")
    p.add_argument("--data", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                  "stalltrace-torch"),
                   help="directory of the 64 MiB dataset file (fetch)")
    for knob, val in (("steps", 60), ("warmup_steps", 3), ("workers", 1), ("batch_size", 8),
                      ("hidden", 64), ("decode_reps", 1), ("slow_decode_reps", 30),
                      ("slow_compute_us", 30000), ("reads_per_sample", 16), ("seed", 1)):
        p.add_argument("--" + knob.replace("_", "-"), type=int, default=val,
                       help="default %d" % val)
    a = p.parse_args()
    for knob in ("steps", "workers", "batch_size", "hidden", "reads_per_sample"):
        if getattr(a, knob) < 1:
            p.error("--%s must be at least 1" % knob.replace("_", "-"))
    for knob in ("warmup_steps", "decode_reps", "slow_decode_reps", "slow_compute_us"):
        if getattr(a, knob) < 0:
            p.error("--%s must not be negative" % knob.replace("_", "-"))
    if a.slow_rank < -1:
        p.error("--slow-rank must be a rank, or -1 for every rank")
    if a.warmup_steps < 1:
        p.error("--warmup-steps must be at least 1 (DDP's first step is set-up)")
    return a


def main():
    a = parse_args()
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    torch.set_num_threads(1)
    if "RANK" not in os.environ:
        sys.exit("ddp_train.py: run it under torchrun (see ddp_launch.sh)")
    dist.init_process_group("gloo")
    if a.slow_rank >= dist.get_world_size():
        sys.exit("ddp_train.py: --slow-rank %d but the world has %d ranks"
                 % (a.slow_rank, dist.get_world_size()))
    if a.slow == "fetch":
        os.makedirs(a.data, exist_ok=True)
        if dist.get_rank() == 0:
            dataset_file(a.data, 64 << 20)
        dist.barrier()
    r = Rank(a)
    mine = r.train()
    ranks = [None] * r.world
    dist.all_gather_object(ranks, mine)
    if r.rank == 0:
        line = json.dumps(job_truth(a, ranks, r.machine.result()), separators=(",", ":"))
        tmp = a.truth + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.rename(tmp, a.truth)
    dist.barrier()
    dist.destroy_process_group()
    # Nothing is measured after here.  PyTorch 1.13's own teardown at interpreter exit
    # sometimes aborts a rank on a busy machine ("terminate called without an active
    # exception": a thread still joinable when its owner is destroyed; 2 of 5 fresh-clone
    # runs of make test under netload.py --cpu 2, after the truth was written), and
    # torchrun then fails the job: leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
