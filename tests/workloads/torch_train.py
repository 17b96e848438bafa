#!/usr/bin/python3
"""Short real PyTorch training loops that reproduce one bottleneck each.

Run with Debian's interpreter (python3-torch is installed for /usr/bin/python3):

    /usr/bin/python3 tests/workloads/torch_train.py --scenario prep|fetch|compute|checkpoint
                                                    [--data DIR] [knobs, see --help]

  prep        DataLoader workers run heavy per-sample transforms (conv2d passes on
              an image-like tensor); the main thread's step is light.
  fetch       workers read each sample as several small random O_DIRECT reads from
              a dataset file, so the reads reach the block device; light decode.
  compute     a wider MLP makes the main thread's step dominate; cheap loading.
  checkpoint  the main thread torch.save()s the model, which carries a large frozen
              embedding table (--table-mb), and fsyncs it every --ckpt-every
              steps, synchronously; the step itself is light.

At exit it prints one JSON ground-truth line starting with {"stalltrace_truth":1,
(see tests/workloads/README.md).  The measured window starts after --warmup-steps
steps (default 1: worker start-up and the first batch are excluded) and ends after
the last step.  Workers report through shared memory inherited across fork; their
times are clipped to the window, their sample counts cover the batches of the
measured steps.  handoff_s is 0: the hand-over happens inside PyTorch's worker
loop, out of reach of the dataset code.
"""
import argparse
import json
import mmap
import multiprocessing
import os
import sys
import threading
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

DEFAULTS = {
    # scenario: workers, batch_size, steps, and the scenario's own knobs
    "prep": dict(workers=1, batch_size=8, steps=60, decode_reps=40, hidden=64),
    "fetch": dict(workers=2, batch_size=16, steps=75, reads_per_sample=32, hidden=64),
    "compute": dict(workers=2, batch_size=32, steps=60, hidden=768),
    "checkpoint": dict(workers=2, batch_size=8, steps=40, hidden=256, table_mb=64,
                       ckpt_every=2),
}

IMG = 64                # samples are 3 x IMG x IMG uint8 "images"
SAMPLE_BYTES = 3 * IMG * IMG
BLOCK = 4096            # O_DIRECT read size and alignment
NSTAT = 7               # per worker: pid, read_ns, decode_ns, handoff_ns, samples, bytes,
                        # decode_cpu_ns


def decode(raw, kernel, reps):
    """A sample's "decode": reps passes of a 5x5 conv2d + tanh (CPU work), then
    pooled to 3 x 16 x 16 features.  Shared by every PyTorch workload."""
    x = raw.view(3, IMG, IMG).float().div_(255).unsqueeze(0)
    for _ in range(reps):
        x = torch.tanh(F.conv2d(x, kernel, padding=2, groups=3))
    return F.avg_pool2d(x, 4).flatten()


class Truth:
    """Window and per-worker counters in shared memory (RawArray survives fork)."""

    def __init__(self, workers):
        self.a = multiprocessing.get_context("fork").RawArray("q", 2 + NSTAT * workers)

    def overlap(self, t0, t1):
        start, end = self.a[0], self.a[1] or (1 << 62)
        if not start:
            return 0
        return max(0, min(t1, end) - max(t0, start))

    def add(self, worker, field, value):
        self.a[2 + NSTAT * worker + field] += value

    def worker(self, w):
        v = self.a[2 + NSTAT * w: 2 + NSTAT * (w + 1)]
        return {"pid": v[0], "read_s": v[1] / 1e9, "decode_s": v[2] / 1e9,
                "handoff_s": v[3] / 1e9, "samples": v[4], "bytes_read": v[5],
                "decode_cpu_s": v[6] / 1e9}


class BatchSampler(Sampler):
    """Yields (batch number, sample indices): the worker learns which step it serves."""

    def __init__(self, nsamples, batch_size, nbatches, seed):
        self.n, self.bs, self.nb = nsamples, batch_size, nbatches
        self.g = torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.g).tolist()
        for b in range(self.nb):
            yield b, [order[(b * self.bs + i) % self.n] for i in range(self.bs)]

    def __len__(self):
        return self.nb


class SampleDataset(Dataset):
    """Samples live in one file; a batch item is (batch number, indices)."""

    def __init__(self, args, truth, path):
        self.args, self.truth, self.path = args, truth, path
        self.fetch = args.scenario == "fetch"
        self.nblocks = os.path.getsize(path) // BLOCK
        self.nsamples = os.path.getsize(path) // SAMPLE_BYTES
        self.kernel = torch.randn(3, 1, 5, 5, generator=torch.Generator().manual_seed(7))
        self.fd = None

    def _open(self):
        # Opened in the worker, after fork: O_DIRECT reads bypass the page cache.
        flags = os.O_RDONLY | (os.O_DIRECT if self.fetch else 0)
        self.fd = os.open(self.path, flags)
        size = max(SAMPLE_BYTES, BLOCK * self.args.reads_per_sample)
        self.buf = mmap.mmap(-1, size)  # page aligned, as O_DIRECT requires
        self.view = memoryview(self.buf)

    def _read(self, idx):
        if not self.fetch:
            return torch.frombuffer(bytearray(os.pread(self.fd, SAMPLE_BYTES,
                                                       idx * SAMPLE_BYTES)), dtype=torch.uint8)
        n = 0
        for j in range(self.args.reads_per_sample):
            # Scattered blocks: no readahead or locality can help.
            blk = ((idx * self.args.reads_per_sample + j) * 2654435761) % self.nblocks
            n += os.preadv(self.fd, [self.view[j * BLOCK:(j + 1) * BLOCK]], blk * BLOCK)
        return torch.frombuffer(self.buf, dtype=torch.uint8)[:SAMPLE_BYTES]

    def __getitem__(self, item):
        b, idxs = item
        w = get_worker_info().id
        counted = b >= self.args.warmup_steps
        if self.fd is None:
            self._open()
        out = []
        for idx in idxs:
            t0 = time.monotonic_ns()
            raw = self._read(idx)
            t1, c1 = time.monotonic_ns(), time.thread_time_ns()
            out.append(decode(raw, self.kernel, self.args.decode_reps))
            t2, c2 = time.monotonic_ns(), time.thread_time_ns()
            self.truth.add(w, 1, self.truth.overlap(t0, t1))
            self.truth.add(w, 2, self.truth.overlap(t1, t2))
            # its CPU time, the share of it inside the window (a loaded machine
            # stretches decode_ns with time waiting for a CPU)
            self.truth.add(w, 6, (c2 - c1) * self.truth.overlap(t1, t2) // max(1, t2 - t1))
            if counted:
                self.truth.add(w, 4, 1)
                self.truth.add(w, 5, BLOCK * self.args.reads_per_sample
                               if self.fetch else SAMPLE_BYTES)
        return torch.stack(out), torch.tensor(idxs)

    def __len__(self):
        return self.nsamples


class Net(nn.Module):
    """An MLP over the pooled image plus a frozen embedding looked up by sample id.

    The table is what makes a checkpoint big without making the step expensive
    (think of a pretrained embedding kept frozen during fine-tuning).
    """

    EMB = 16

    def __init__(self, hidden, table_mb):
        super().__init__()
        feat = 3 * (IMG // 4) ** 2 + self.EMB
        self.mlp = nn.Sequential(nn.Linear(feat, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        self.table = nn.Embedding(max(1, (table_mb << 20) // (4 * self.EMB)), self.EMB)
        self.table.weight.requires_grad_(False)

    def forward(self, x, ids):
        return self.mlp(torch.cat([x, self.table(ids % self.table.num_embeddings)], 1))


def dataset_file(data, nbytes):
    """Created once and reused; fsynced so O_DIRECT reads never wait on writeback."""
    path = os.path.join(data, "pt-data-%dm.bin" % (nbytes >> 20))
    if os.path.exists(path) and os.path.getsize(path) == nbytes:
        return path
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        for _ in range(nbytes >> 20):
            f.write(os.urandom(1 << 20))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    return path


def warm(path):
    """Read the dataset once before the run, through the page cache: a prep run's reads
    then come from memory, as its scenario says, whatever dropped the cache since the
    file was written (a clean clone's t_workloads: pt_prep's workers read 5.6 MB of
    its 5.9 from storage, 2.41 s against 4.15 s of decode, 'bad ground truth')."""
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def schedstat():
    """This thread's (on-CPU ns, run-queue wait ns), as the scheduler accounts them."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            c, r = f.read().split()[:2]
        return int(c), int(r)
    except OSError:
        return 0, 0


def checkpoint(model, path):
    with open(path, "wb") as f:
        torch.save(model.state_dict(), f)
        f.flush()
        os.fsync(f.fileno())


def worker_init(truth):
    def init(w):
        torch.set_num_threads(1)
        truth.a[2 + NSTAT * w] = os.getpid()
    return init


def storage_bytes(truth, workers):
    """Each worker's bytes fetched from storage so far (/proc/PID/io read_bytes: its
    reads that missed the page cache, readahead included), None where unreadable."""
    out = []
    for w in range(workers):
        try:
            with open("/proc/%d/io" % truth.a[2 + NSTAT * w]) as f:
                out.append(next(int(l.split()[1]) for l in f if l.startswith("read_bytes:")))
        except (OSError, StopIteration, ValueError):
            out.append(None)
    return out


def train(args, loader, model, truth, ckpt_path):
    """Runs the steps; returns the main thread's times (ns) inside the window."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    m = dict(batch_wait=0, compute=0, compute_cpu=0, ckpt=0)
    it = iter(loader)
    for step in range(args.warmup_steps + args.steps):
        if step == args.warmup_steps:
            m["sched0"] = schedstat()
            m["io0"] = storage_bytes(truth, args.workers)
            m["start"] = truth.a[0] = time.monotonic_ns()
        t0 = time.monotonic_ns()
        x, ids = next(it)
        t1 = time.monotonic_ns()
        c0 = time.thread_time_ns()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, ids), ids % 10)
        loss.backward()
        opt.step()
        c1 = time.thread_time_ns()
        t2 = time.monotonic_ns()
        if args.ckpt_every and (step + 1) % args.ckpt_every == 0:
            checkpoint(model, ckpt_path)
        t3 = time.monotonic_ns()
        if step >= args.warmup_steps:
            m["batch_wait"] += t1 - t0
            m["compute"] += t2 - t1
            m["compute_cpu"] += c1 - c0
            m["ckpt"] += t3 - t2
    m["end"] = truth.a[1] = time.monotonic_ns()
    m["sched1"] = schedstat()
    m["io1"] = storage_bytes(truth, args.workers)
    del it  # shuts the workers down
    return m


def truth_line(args, m, truth):
    s = lambda ns: round(ns / 1e9, 6)
    return json.dumps({
        "stalltrace_truth": 1, "workload": "pytorch", "scenario": args.name,
        "pid": os.getpid(), "main_tid": threading.get_native_id(),
        "window": {"start_ns": m["start"], "end_ns": m["end"]},
        "steps": args.steps, "batch_size": args.batch_size, "wall_s": s(m["end"] - m["start"]),
        "main": {"batch_wait_s": s(m["batch_wait"]), "compute_s": s(m["compute"]),
                 "device_wait_s": 0.0, "checkpoint_s": s(m["ckpt"]), "lock_wait_s": 0.0,
                 "compute_cpu_s": s(m["compute_cpu"]),
                 "oncpu_s": s(m["sched1"][0] - m["sched0"][0]),
                 "runq_wait_s": s(m["sched1"][1] - m["sched0"][1])},
        "workers": [dict(truth.worker(w), storage_bytes=None if None in (a, b) else b - a)
                    for w, a, b in zip(range(args.workers), m["io0"], m["io1"])],
    }, separators=(",", ":"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenario", required=True, choices=sorted(DEFAULTS))
    p.add_argument("--name", default="", help="scenario name echoed in the truth line")
    p.add_argument("--data", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                  "stalltrace-torch"),
                   help="dataset/checkpoint directory (created if missing)")
    for knob in ("workers", "batch_size", "steps", "decode_reps", "reads_per_sample",
                 "hidden", "table_mb", "ckpt_every"):
        p.add_argument("--" + knob.replace("_", "-"), type=int, default=None,
                       help="scenario default: see DEFAULTS")
    p.add_argument("--warmup-steps", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    for knob, val in {**dict(decode_reps=0, reads_per_sample=1, table_mb=0, ckpt_every=0),
                      **DEFAULTS[args.scenario]}.items():
        if getattr(args, knob) is None:
            setattr(args, knob, val)
    for knob in ("workers", "batch_size", "steps", "reads_per_sample", "hidden"):
        if getattr(args, knob) < 1:
            p.error("--%s must be at least 1" % knob.replace("_", "-"))
    for knob in ("decode_reps", "table_mb", "ckpt_every", "warmup_steps"):
        if getattr(args, knob) < 0:
            p.error("--%s must not be negative" % knob.replace("_", "-"))
    return args


def main():
    args = parse_args()
    torch.set_num_threads(1)  # deterministic on 2 cores; workers do the same
    torch.manual_seed(args.seed)
    os.makedirs(args.data, exist_ok=True)
    truth = Truth(args.workers)
    path = dataset_file(args.data, 64 << 20)
    if args.scenario != "fetch":
        warm(path)  # (fetch reads with O_DIRECT: the cache is no matter)
    ds = SampleDataset(args, truth, path)
    sampler = BatchSampler(len(ds), args.batch_size, args.warmup_steps + args.steps,
                           args.seed)
    loader = DataLoader(ds, batch_size=None, sampler=sampler, num_workers=args.workers,
                        multiprocessing_context="fork", worker_init_fn=worker_init(truth),
                        prefetch_factor=2)
    model = Net(args.hidden, args.table_mb)
    ckpt_path = os.path.join(args.data, "pt-ckpt-%d.pt" % os.getpid())
    try:
        m = train(args, loader, model, truth, ckpt_path)
    finally:
        if os.path.exists(ckpt_path):
            os.unlink(ckpt_path)
    print(truth_line(args, m, truth), flush=True)


if __name__ == "__main__":
    sys.exit(main())
