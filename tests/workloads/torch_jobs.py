#!/usr/bin/python3
"""Real PyTorch training jobs of the kinds people run, each measuring its own truth.

    /usr/bin/python3 tests/workloads/torch_jobs.py --job JOB [--name SCENARIO] [knobs]

  gil       num_workers=0; a Python thread does pure-Python work beside the loop
            (a log parser, a tokenizer): the main thread waits for the GIL
  nw0       num_workers=0; the main thread decodes every sample itself
            (--sample-files 1: reading each from a file of its own first, opened,
            read and closed, as a Dataset over an image folder does; --memmap 1:
            each batch's samples sliced from an np.memmap of one file, mapped anew
            for each batch and its page cache dropped first, as nanoGPT's get_batch()
            over a dataset far larger than memory reads: page faults, no read call)
  wk_sleep  workers sleep per sample (a throttled source), little CPU
  wk_lock   workers share a rate limiter: a lock held while pacing (sleeping)
  wk_net    workers fetch every sample from a feature server over loopback TCP
            (--net-threads N: through a pool of N threads of the worker's, the
            worker's first thread waiting on each request's future, as a Dataset
            over an object store's client does; --net-aio 1: through an asyncio
            event loop of the worker's, its connection a stream of the loop's)
  prep      workers decode on CPU (the CPU-contention class runs it beside hogs)
  next_cpu  two CPU-bound workers beside a busy main thread on 2 CPUs: after a
            batch arrives the main thread still waits for a CPU
  pin       prep's loader with pin_memory=True: PyTorch's own pin-memory thread
            receives every batch from the workers and hands it to the main thread
            (on a machine without CUDA, its copy to pinned memory is a plain copy)
  epochs    --epochs epochs of --batches-per-epoch; --workers, --prefetch and
            --persistent choose the loader (workers re-created every epoch or not);
            --iterable 1: an IterableDataset, each worker streaming every
            num_workers-th batch of the epoch and ending its stream with a message
            of its own (no batch), which DataLoader answers by putting None to it
            (persistent workers: it only marks the worker's stream ended);
            --val-batches N: after each epoch but the last, a validation loop over
            a second DataLoader (the same workers and persistence, N batches, no
            backward): its batches are no steps, its time in next() is loader wait;
            --left-in-epoch K: the sampler has K batches more than the loop takes,
            which leaves each epoch early (a break after --batches-per-epoch): with
            persistent workers the next iter() resets the pool, reading and dropping
            the batches still on their way and each worker's answer;
            --val-every N (with --val-batches): the validation loop
            every N training steps instead, within the epoch (its iterator lives on
            meanwhile, its batches kept in its cache); --val-persistent 0|1 the
            validation loader's persistent_workers (default: --persistent's);
            --intra-op N the main process's intra-op threads (torch.set_num_threads:
            an OpenMP team; default 1); --zip 1 a second loader zipped with the
            training loader (a batch of each a step, as zip(a, b) takes them),
            with --zip-workers workers (default: --workers; pools of two sizes);
            --mp-context fork|spawn|forkserver how DataLoader starts its workers;
            --bg-thread N a thread iterates the loader into a queue of N batches, the
            loop takes them from there (a BackgroundGenerator); --mp-pool 1 no
            DataLoader: a multiprocessing.Pool of --workers processes makes the
            epoch's batches, pool.imap() over the sampler (chunksize 1), the pool
            terminated at the epoch's end (a with-block's exit); --mp-pool 2 the
            same from a concurrent.futures.ProcessPoolExecutor's map()

Every job prints one JSON truth line starting with {"stalltrace_truth":1, (fields:
tests/workloads/README.md).  Samples are 3x64x64 uint8 "images" from an in-memory
pool (no file, so no page cache to depend on), or from the feature server
(wk_net).  The measured window starts at step --warmup-steps (after the attach
gate, wl_common.gate(), unless --gate-step puts the gate at an earlier step: the tracer
attaches there, in the middle of an epoch's tail, say) and ends after the last step.
"""
import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import socket
import struct
import subprocess
import sys
import queue
import threading
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wl_common as wl  # noqa: E402
from torch_train import IMG, SAMPLE_BYTES, decode  # noqa: E402

# Per job: loader shape, per-sample work, main-thread work.  Sized so that each
# window lasts 2-3 s on an idle 2-CPU VM.
JOBS = {
    "gil": dict(workers=0, batch_size=32, steps=100, hidden=256, gil_thread=1),
    "nw0": dict(workers=0, batch_size=8, steps=100, decode_reps=6, hidden=256),
    "wk_sleep": dict(workers=2, batch_size=8, steps=150, sleep_us=2000, decode_reps=1,
                     hidden=64),
    "wk_lock": dict(workers=3, batch_size=8, steps=120, lock_hold_us=2000, decode_reps=1,
                    hidden=64),
    "wk_net": dict(workers=2, batch_size=8, steps=150, net_latency_us=2000, decode_reps=1,
                   hidden=64),
    "prep": dict(workers=1, batch_size=8, steps=50, decode_reps=40, hidden=64),
    "next_cpu": dict(workers=2, batch_size=8, steps=60, decode_reps=20, hidden=64,
                     compute_us=15000),
    "epochs": dict(workers=2, batch_size=8, epochs=3, batches_per_epoch=40, decode_reps=12,
                   hidden=64, compute_us=2000),
    "pin": dict(workers=2, batch_size=8, steps=100, decode_reps=12, hidden=64, pin_memory=1,
                untimed_tail=4),
}
KNOBS = dict(workers=2, batch_size=8, steps=60, epochs=1, batches_per_epoch=0, prefetch=2,
             persistent=0, decode_reps=0, sleep_us=0, lock_hold_us=0, net_latency_us=0,
             hidden=64, compute_us=0, gil_thread=0, warmup_steps=2, step_sched=-1,
             pin_memory=0, untimed_tail=0, iterable=0, val_batches=0, gate_step=-1,
             left_in_epoch=0, val_every=0, val_persistent=-1, intra_op=1, zip=0,
             zip_workers=-1, bg_thread=0, net_threads=0, net_aio=0, sample_files=0,
             memmap=0, mp_pool=0)

POOL_IMAGES = 256
# per (pool, worker) slot: pid, born_ns, net, sleep, lock_wait, lock_hold, decode,
# samples, bytes, oncpu, runq (times in ns)
F_PID, F_BORN, F_NET, F_SLEEP, F_LWAIT, F_LHOLD, F_DEC, F_SAMP, F_BYTES, F_CPU, F_RUNQ = \
    range(11)
NSTAT = 11
HDR = 3                 # window start, window end, current pool
REQ = struct.Struct("<III")


def image_pool():
    """The in-memory samples (POOL_IMAGES random images) and the decode kernel."""
    g = torch.Generator().manual_seed(3)
    pool = torch.randint(0, 256, (POOL_IMAGES, SAMPLE_BYTES), dtype=torch.uint8, generator=g)
    return pool, torch.randn(3, 1, 5, 5, generator=torch.Generator().manual_seed(7))


def sample_files(pool):
    """The pool's samples as files of their own (an image folder), written once in
    $TMPDIR: their paths."""
    d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "st-samples-%d" % SAMPLE_BYTES)
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(POOL_IMAGES):
        p = os.path.join(d, "sample%03d.bin" % i)
        if not os.path.exists(p) or os.path.getsize(p) != SAMPLE_BYTES:
            with open(p + ".tmp", "wb") as f:
                f.write(pool[i].numpy().tobytes())
            os.replace(p + ".tmp", p)
        paths.append(p)
    return paths


MM_STRIDE = 256 << 10   # --memmap: a sample every 256 KiB of the file


def memmap_file(pool):
    """The pool's samples in one file (a tokenized corpus, nanoGPT's train.bin), one
    every MM_STRIDE bytes, other data between them: a page fault's read-around (128
    KiB) brings no other sample, as in a corpus far larger than the batches (holes
    instead would cost the CPU zero-filling them, more than the reads).  64 MiB,
    written once in $TMPDIR: its path."""
    p = os.path.join(os.environ.get("TMPDIR", "/tmp"), "st-memmap-%d.bin" % SAMPLE_BYTES)
    if not os.path.exists(p) or os.path.getsize(p) != POOL_IMAGES * MM_STRIDE:
        raw = pool.numpy()
        with open(p + ".tmp", "wb") as f:
            for i in range(POOL_IMAGES):
                f.write(raw[i].tobytes())
                f.write(raw[(i * 7 + 1) % POOL_IMAGES].tobytes() *
                        ((MM_STRIDE - SAMPLE_BYTES) // SAMPLE_BYTES))
                f.write(b"\x5a" * ((MM_STRIDE - SAMPLE_BYTES) % SAMPLE_BYTES))
            f.flush()
            os.fsync(f.fileno())
        os.replace(p + ".tmp", p)
    return p


def mlp(hidden):
    """The model every job trains: an MLP over the pooled image features."""
    return nn.Sequential(nn.Linear(3 * (IMG // 4) ** 2, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


class Truth:
    """Window bounds and per-worker counters in shared memory (RawArray survives fork).

    Slot p * workers + w belongs to worker w of pool p (a pool: the workers one
    DataLoader iterator started; persistent workers make one pool for all
    epochs).  With num_workers=0 one slot counts the main thread's loading.
    """

    def __init__(self, pools, workers):
        self.w = max(1, workers)
        self.n = pools * self.w
        self.a = multiprocessing.get_context("fork").RawArray("q", HDR + NSTAT * self.n)

    def overlap(self, t0, t1):
        start, end = self.a[0], self.a[1] or (1 << 62)
        if not start:
            return 0
        return max(0, min(t1, end) - max(t0, start))

    def add(self, slot, field, value):
        self.a[HDR + NSTAT * slot + field] += value

    def set(self, slot, field, value):
        self.a[HDR + NSTAT * slot + field] = value

    def get(self, slot, field):
        return self.a[HDR + NSTAT * slot + field]


class BatchSampler(Sampler):
    """Yields (global batch number, indices) for the current epoch; a validation
    sampler (val=True) yields --val-batches batches numbered below 0 (no sample of
    theirs is a training step's)."""

    def __init__(self, args, truth, val=False, zipped=False):
        self.args, self.truth, self.val, self.zipped = args, truth, val or zipped, zipped
        self.g = torch.Generator().manual_seed(args.seed + val + 2 * zipped)

    def __iter__(self):
        n, bs = len(self), self.args.batch_size
        bpe = n - (0 if self.val else self.args.left_in_epoch)
        first = -(self.epoch + 1) * bpe if self.val else self.epoch * bpe
        order = torch.randperm(n * bs, generator=self.g).tolist()
        for b in range(n):
            # the batches the loop leaves in the epoch (--left-in-epoch): no step's
            num = first + b if b < bpe else -(1 << 20) - self.epoch * n - b
            yield num, order[b * bs:(b + 1) * bs]

    def __len__(self):
        return self.args.val_batches if self.val and not self.zipped else \
            self.args.batches_per_epoch + self.args.left_in_epoch


class Samples(Dataset):
    """Per sample, in this order: fetch (pool or server), sleep, rate limiter, decode."""

    def __init__(self, args, truth, server):
        self.args, self.truth, self.server = args, truth, server
        self.pool, self.kernel = image_pool()
        self.files = sample_files(self.pool) if args.sample_files else None
        self.mpath = memmap_file(self.pool) if args.memmap else None
        self.mm = None
        self.drop_ns = 0        # --memmap: in the calls that drop the file's cache
        self.lock = multiprocessing.get_context(args.mp_context).Lock() if args.lock_hold_us else None
        self.conns = threading.local()
        self.ex = self.aio = None
        self.slot = 0
        self.vslots = None      # a validation loader's: the pool its next iterator forks

    def __getstate__(self):  # spawn, forkserver: a fresh connection and pool there
        d = dict(self.__dict__)
        d["conns"], d["ex"], d["aio"] = None, None, None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.conns = threading.local()

    def _fetch(self, idx):
        if self.mm is not None:
            off = (idx % POOL_IMAGES) * MM_STRIDE
            return torch.from_numpy(np.array(self.mm[off:off + SAMPLE_BYTES]))
        if self.files:
            with open(self.files[idx % POOL_IMAGES], "rb") as f:
                return torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
        if not self.server:
            return self.pool[idx % POOL_IMAGES]
        if self.args.net_aio:
            if self.aio is None:  # the worker's own loop, after fork
                self.aio = asyncio.new_event_loop()
            return self.aio.run_until_complete(self._request_aio(idx))
        if not self.args.net_threads:
            return self._request(idx)
        if self.ex is None:  # the worker's own threads, started after fork
            self.ex = concurrent.futures.ThreadPoolExecutor(self.args.net_threads)
        return self.ex.submit(self._request, idx).result()

    async def _request_aio(self, idx):
        if getattr(self.conns, "stream", None) is None:
            self.conns.stream = await asyncio.open_connection(*self.server)
        r, w = self.conns.stream
        w.write(REQ.pack(idx, self.args.net_latency_us, SAMPLE_BYTES))
        await w.drain()
        data = await r.readexactly(SAMPLE_BYTES)
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()

    def _request(self, idx):
        c = getattr(self.conns, "c", None)
        if c is None:  # one connection per worker (per thread of its pool), after fork
            c = self.conns.c = socket.create_connection(self.server)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conns.buf = bytearray(SAMPLE_BYTES)
        c.sendall(REQ.pack(idx, self.args.net_latency_us, SAMPLE_BYTES))
        view, got = memoryview(self.conns.buf), 0
        while got < SAMPLE_BYTES:
            n = c.recv_into(view[got:])
            if not n:
                raise RuntimeError("feature server closed the connection")
            got += n
        return torch.frombuffer(self.conns.buf, dtype=torch.uint8).clone()

    def __getitem__(self, item):
        b, idxs = item
        a = self.args
        counted = a.warmup_steps <= b < a.epochs * a.batches_per_epoch - a.untimed_tail
        t, ov, slot = self.truth, self.truth.overlap, self.slot
        out = []
        if self.mpath:
            # a corpus far larger than memory: none of it cached (the last batch's
            # mapping gone first, or its pages would stay), then mapped anew
            d0 = time.monotonic_ns()
            fd = os.open(self.mpath, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
            if counted:
                self.drop_ns += time.monotonic_ns() - d0
            self.mm = np.memmap(self.mpath, dtype=np.uint8, mode="r")
        for idx in idxs:
            t0 = time.monotonic_ns()
            raw = self._fetch(idx)
            t1 = time.monotonic_ns()
            if self.args.sleep_us:
                time.sleep(self.args.sleep_us / 1e6)
            t2 = time.monotonic_ns()
            t3 = t4 = t2
            if self.lock:
                self.lock.acquire()
                t3 = time.monotonic_ns()
                time.sleep(self.args.lock_hold_us / 1e6)
                t4 = time.monotonic_ns()
                self.lock.release()
            t5 = time.monotonic_ns()
            out.append(decode(raw, self.kernel, self.args.decode_reps))
            t6 = time.monotonic_ns()
            if self.server:
                t.add(slot, F_NET, ov(t0, t1))
            t.add(slot, F_SLEEP, ov(t1, t2))
            t.add(slot, F_LWAIT, ov(t2, t3))
            t.add(slot, F_LHOLD, ov(t3, t4))
            t.add(slot, F_DEC, ov(t5, t6))
            if counted:
                t.add(slot, F_SAMP, 1)
                t.add(slot, F_BYTES, SAMPLE_BYTES if self.server else 0)
        if self.mm is not None:
            del self.mm         # unmapped: its pages can be dropped again
            self.mm = None
        return torch.stack(out), torch.tensor(idxs)

    def __len__(self):
        return 1 << 30


class Stream(IterableDataset):
    """The epoch's batches as a stream: worker k of n yields batches k, k + n, ...
    (DataLoader takes them round-robin, so in order), the samples of each batch those
    of BatchSampler's order for the epoch (epoch: set before iter(), copied into the
    workers a pool forks; a persistent worker, forked once, counts its own)."""

    def __init__(self, samples, sampler, persistent):
        self.samples, self.sampler, self.persistent = samples, sampler, persistent
        self.iters = 0

    def __iter__(self):
        wi = get_worker_info()
        k, n = (wi.id, wi.num_workers) if wi else (0, 1)
        if wi and self.persistent:
            # a persistent worker keeps its first copy: it counts its own epochs
            self.sampler.epoch = self.iters
        self.iters += 1
        for i, (b, idxs) in enumerate(self.sampler):
            if i % n == k:
                yield self.samples[(b, idxs)]


class BgIter:
    """A background thread that iterates the loader into a queue.Queue(depth), the
    loop taking its batches from there (--bg-thread: prefetch_generator's
    BackgroundGenerator, a popular recipe; a new thread each epoch)."""

    def __init__(self, loader, depth):
        self.q = queue.Queue(depth)
        self.t = threading.Thread(target=self._run, args=(loader,), daemon=True)
        self.t.start()

    def _run(self, loader):
        for item in loader:
            self.q.put(item)
        self.q.put(None)

    def __next__(self):
        item = self.q.get()
        if item is None:
            raise StopIteration
        return item


_POOL_DS = None


def _pool_init(ds, truth, counter):
    """A Pool worker's initializer (--mp-pool; fork: its arguments are not pickled):
    its truth slot, as WorkerInit gives a DataLoader worker's."""
    global _POOL_DS
    torch.set_num_threads(1)
    with counter.get_lock():
        w = counter.value
        counter.value += 1
    ds.slot = truth.a[2] * truth.w + w
    truth.set(ds.slot, F_PID, os.getpid())
    truth.set(ds.slot, F_BORN, time.monotonic_ns())
    _POOL_DS = ds


def _pool_get(item):
    return _POOL_DS[item]


class PoolIter:
    """An epoch's batches from a multiprocessing.Pool (--mp-pool): imap() hands the
    tasks to the pool's task-handler thread, which writes them all to the workers'
    pipe at once; the pool's result-handler thread receives each batch and hands it to
    the loop through a Condition (a queue with no bound).  The pool is terminated
    when the epoch ends, as a with-block's exit does."""

    def __init__(self, ds, sampler, truth, workers, executor=False):
        ctx = multiprocessing.get_context("fork")
        init = dict(initializer=_pool_init, initargs=(ds, truth, ctx.Value("i", 0)))
        if executor:
            # map() submits every task at once; its manager thread keeps the workers'
            # call queue filled and sets each result on its future
            self.pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx, **init)
            self.it = self.pool.map(_pool_get, iter(sampler))
        else:
            self.pool = ctx.Pool(workers, **init)
            self.it = self.pool.imap(_pool_get, iter(sampler), chunksize=1)

    def __next__(self):
        try:
            return next(self.it)
        except StopIteration:
            if isinstance(self.pool, concurrent.futures.ProcessPoolExecutor):
                self.pool.shutdown()
            else:
                self.pool.terminate()
                self.pool.join()
            raise


class WorkerInit:
    """A worker's worker_init_fn: its truth slot.  A class, not a closure: spawn and
    forkserver workers get it pickled, with the dataset (--mp-context)."""

    def __init__(self, ds, truth):
        self.ds, self.truth = ds, truth

    def __call__(self, w):
        ds, truth = self.ds, self.truth
        torch.set_num_threads(1)
        # a validation loader's pool: its own slots, after the training pools'
        ds.slot = (truth.a[2] if ds.vslots is None else ds.vslots) * truth.w + w
        truth.set(ds.slot, F_PID, os.getpid())
        truth.set(ds.slot, F_BORN, time.monotonic_ns())


def cpu_pin_memory():
    """PyTorch's pin-memory thread without CUDA: DataLoader starts it for a
    pin_memory_device, and it runs its own loop (torch.utils.data._utils.pin_memory:
    receive from the workers' queue, pin, put on a queue.Queue the main thread
    reads); only the CUDA calls are stood in for, and pinning is a copy."""
    torch.cuda.current_device = lambda: 0
    torch.cuda.set_device = lambda device: None
    torch.Tensor.pin_memory = lambda self, device=None: self.clone()


def gil_hog(stop):
    """Pure-Python work (think: parsing log lines), holding the GIL whenever it runs."""
    wl.set_comm("py-logparse")
    x = 0
    while not stop.is_set():
        for i in range(2000):
            x = (x * 31 + i) % 1000003


def burn(us):
    """Main-thread work of a fixed CPU time (ns of thread CPU), whatever the load."""
    if not us:
        return
    a = torch.randn(64, 64)
    c0 = time.thread_time_ns()
    while time.thread_time_ns() - c0 < us * 1000:
        a = torch.tanh(a @ a * 0.01)


class Job:
    def __init__(self, args):
        self.args = args
        pools = args.epochs if args.workers and not args.persistent else 1
        # validation pools: one per loop (after every epoch but the last), or one
        loops = args.epochs * (args.batches_per_epoch // args.val_every) if args.val_every \
            else args.epochs - 1
        self.vpools = (loops if not args.val_persistent else 1) \
            if args.workers and args.val_batches and loops else 0
        self.vloops = 0
        # a second loader zipped with the training loader (--zip): a pool each epoch, or one
        zpools = pools if args.workers and args.zip else 0
        self.truth = Truth(pools + self.vpools + zpools, max(args.workers, args.zip_workers))
        self.server, self.server_info = self._server()
        self.ds = Samples(args, self.truth, self.server)
        self.sampler = BatchSampler(args, self.truth)
        self.loader = self._loader(self.ds, self.sampler)
        if args.val_batches:
            self.vds = Samples(args, self.truth, self.server)
            self.vsampler = BatchSampler(args, self.truth, val=True)
            self.vloader = self._loader(self.vds, self.vsampler, args.val_persistent)
            self.vpool = pools
        if args.zip:
            # its batches numbered as a validation loader's: none is a step's
            self.zds = Samples(args, self.truth, self.server)
            self.zsampler = BatchSampler(args, self.truth, zipped=True)
            self.zloader = self._loader(self.zds, self.zsampler, workers=args.zip_workers)
            self.zpool = pools + self.vpools
        self.model = mlp(args.hidden)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.sched = wl.SchedStat()
        self.machine = wl.Machine(os.getpid())
        self.m = dict(batch_wait=0, compute=0, compute_cpu=0, next_runq=0, next_blocked=0,
                      next_oncpu=0, next_blocked_clk=0)
        self.step_start, self.next_ns, self.next_runq = [], [], []
        self.epochs, self.wbase, self.vals = [], {}, []
        self.bg = None

    def _loader(self, ds, sampler, persistent=None, workers=None):
        args, kw = self.args, {}
        persistent = args.persistent if persistent is None else persistent
        workers = args.workers if workers is None else workers
        if workers:
            kw = dict(multiprocessing_context=args.mp_context, prefetch_factor=args.prefetch,
                      persistent_workers=bool(persistent),
                      worker_init_fn=WorkerInit(ds, self.truth))
            if args.pin_memory:
                cpu_pin_memory()
                kw.update(pin_memory=True, pin_memory_device="cpu")
        if args.iterable:
            return DataLoader(Stream(ds, sampler, persistent), batch_size=None,
                              num_workers=workers, **kw)
        return DataLoader(ds, batch_size=None, sampler=sampler, num_workers=workers, **kw)

    def _server(self):
        """The feature server: the runner's ($ST_FEATURE_SERVER), or our own child."""
        if not self.args.net_latency_us:
            return None, None
        addr = self.args.server or os.environ.get("ST_FEATURE_SERVER", "")
        if addr:
            host, port = addr.rsplit(":", 1)
            return (host, int(port)), {"addr": addr, "started_by": "runner", "pid": None}
        here = os.path.dirname(os.path.abspath(__file__))
        self.srv = subprocess.Popen([sys.executable, os.path.join(here, "featsrv.py"),
                                     "--stdin-eof"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        port = int(self.srv.stdout.readline())
        return ("127.0.0.1", port), {"addr": "127.0.0.1:%d" % port, "started_by": "job",
                                     "pid": self.srv.pid}

    def step(self, x, ids):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), ids % 10)
        loss.backward()
        self.opt.step()
        burn(self.args.compute_us)

    def start_window(self):
        if self.args.gate_step < 0:
            wl.gate()
        self.machine.snap()
        if self.bg_tid:
            self.bg0 = wl.task_schedstat(os.getpid(), self.bg_tid)
        for s in range(self.truth.n):
            pid = self.truth.get(s, F_PID)
            if pid:
                self.wbase[s] = wl.proc_schedstat(pid) or (0, 0)
        self.sched0 = self.sched.read()
        self.m["start"] = self.truth.a[0] = time.monotonic_ns()

    def end_window(self):
        self.m["end"] = self.truth.a[1] = time.monotonic_ns()
        self.sched1 = self.sched.read()
        self.pool_done(self.truth.a[2])
        if self.args.zip:
            self.pool_done(self.zds.vslots)
        if self.bg_tid:
            self.bg1 = wl.task_schedstat(os.getpid(), self.bg_tid)
        self.machine.snap()

    def pool_done(self, pool):
        """Reads the scheduler accounts of a pool's workers while they still live.

        Called after the pool's last batch (a non-persistent pool), or at the end
        of the window; a pool that ended before the window counts nothing.
        """
        if not self.args.workers or not self.m.get("start"):
            return
        for s in range(pool * self.truth.w, (pool + 1) * self.truth.w):
            pid = self.truth.get(s, F_PID)
            now = wl.proc_schedstat(pid) if pid else None
            if now is None:
                continue
            b = self.wbase.get(s, (0, 0))
            self.truth.set(s, F_CPU, now[0] - b[0])
            self.truth.set(s, F_RUNQ, now[1] - b[1])

    def run(self):
        a = self.args
        if a.gil_thread:
            stop = threading.Event()
            self.bg = threading.Thread(target=gil_hog, args=(stop,), daemon=True)
            self.bg.start()
            self.bg_tid = self.bg.native_id
        else:
            self.bg_tid = 0
        for epoch in range(a.epochs):
            self.one_epoch(epoch)
        if a.gil_thread:
            stop.set()
            self.bg.join()

    def one_epoch(self, epoch):
        a = self.args
        if a.workers and not a.persistent:
            self.truth.a[2] = epoch
        self.sampler.epoch = epoch
        t_iter = time.monotonic_ns()
        if a.mp_pool:
            it = PoolIter(self.ds, self.sampler, self.truth, a.workers, a.mp_pool == 2)
        else:
            it = BgIter(self.loader, a.bg_thread) if a.bg_thread else iter(self.loader)
        if a.zip:
            # for x, y in zip(loader, zloader): both iterators made together
            self.zsampler.epoch = epoch
            self.zds.vslots = self.zpool + (0 if a.persistent else epoch)
            zit = iter(self.zloader)
        t_made = time.monotonic_ns()
        ep = {"epoch": epoch, "iter_ns": t_iter, "iter_s": (t_made - t_iter) / 1e9}
        if getattr(it, "_pin_memory_thread", None):
            ep["pin_memory_tid"] = it._pin_memory_thread.native_id
        for b in range(a.batches_per_epoch):
            g = epoch * a.batches_per_epoch + b
            if g == a.gate_step:
                wl.gate()
            if g == a.warmup_steps:
                self.start_window()
            counted = a.warmup_steps <= g < a.epochs * a.batches_per_epoch - a.untimed_tail
            ss = a.step_sched and counted
            s0 = self.sched.read() if ss else (0, 0)
            n0 = time.thread_time_ns() if ss else 0
            t0 = time.monotonic_ns()
            x, ids = next(it)
            if a.zip:
                next(zit)
            t1 = time.monotonic_ns()
            n1 = time.thread_time_ns() if ss else 0
            s1 = self.sched.read() if ss else (0, 0)
            r0, r1 = s0[1], s1[1]
            c0 = time.thread_time_ns()
            self.step(x, ids)
            c1 = time.thread_time_ns()
            t2 = time.monotonic_ns()
            if b == 0:
                ep["first_batch_ns"] = t1
                ep["first_batch_s"] = (t1 - t_iter) / 1e9
            if counted:
                self.step_start.append(t1)
                self.next_ns.append(t1 - t0)
                self.next_runq.append(r1 - r0)
                # blocked in next(): neither on a CPU nor waiting for one
                self.m["next_blocked"] += max(0, t1 - t0 - (s1[0] - s0[0]) - (r1 - r0))
                self.m["next_oncpu"] += s1[0] - s0[0]
                # the same with its CPU time from the thread's own clock: schedstat's
                # is as of the last tick for a running thread (up to a tick short at
                # each reading: 0.18 of pt_nw0_mmap's window blocked for 0.07)
                self.m["next_blocked_clk"] += max(0, t1 - t0 - (n1 - n0) - (r1 - r0))
                self.m["batch_wait"] += t1 - t0
                self.m["compute"] += t2 - t1
                self.m["compute_cpu"] += c1 - c0
            if g == a.epochs * a.batches_per_epoch - a.untimed_tail - 1:
                self.end_window()
            elif a.val_every and (b + 1) % a.val_every == 0:
                self.validate(epoch)    # within the epoch: its iterator lives on
        if epoch < a.epochs - 1 and not a.persistent:
            self.pool_done(epoch)
            if a.zip:
                self.pool_done(self.zds.vslots)
        if a.val_batches and not a.val_every and epoch < a.epochs - 1:
            self.validate(epoch)
        ep["worker_pids"] = [self.truth.get(s, F_PID) for s in range(self.truth.n)
                             if s // self.truth.w == self.truth.a[2] and
                             self.truth.get(s, F_PID)] if a.workers else []
        ep["batches"] = a.batches_per_epoch
        t3 = time.monotonic_ns()
        # a loop that leaves its epoch early (--left-in-epoch: a break) calls no more
        # next(): a persistent pool's next iter() resets it, dropping what is left
        if not a.left_in_epoch:
            try:
                next(it)  # as a for loop does: StopIteration shuts a pool down
                raise RuntimeError("the loader yielded more batches than the sampler")
            except StopIteration:
                pass
        if a.zip:
            del zit     # the zip ends with its first iterator: both go (a pool shuts down)
        ep["end_s"] = (time.monotonic_ns() - t3) / 1e9
        self.epochs.append(ep)

    def validate(self, epoch):
        """A validation loop over the second loader: no backward, no step.  Its time
        in next() is the loader's wait as much as the training loop's (counted in
        batch_wait), its loop as a whole in val[].loop_s."""
        a = self.args
        self.vsampler.epoch = epoch
        if a.workers:
            self.vds.vslots = self.vpool if a.val_persistent else self.vpool + self.vloops
        self.vloops += 1
        t_iter = time.monotonic_ns()
        it = iter(self.vloader)
        v = {"epoch": epoch, "iter_ns": t_iter, "batches": 0, "next_s": 0.0}
        with torch.no_grad():
            while True:
                t0 = time.monotonic_ns()
                try:
                    x, ids = next(it)
                except StopIteration:
                    v["end_s"] = (time.monotonic_ns() - t0) / 1e9
                    break
                t1 = time.monotonic_ns()
                if not v["batches"]:
                    v["first_batch_s"] = (t1 - t_iter) / 1e9
                v["batches"] += 1
                v["next_s"] += (t1 - t0) / 1e9
                self.m["batch_wait"] += t1 - t0
                F.cross_entropy(self.model(x), ids % 10)
                burn(a.compute_us // 2)
        v["loop_s"] = (time.monotonic_ns() - t_iter) / 1e9
        if a.workers and not a.val_persistent:
            self.pool_done(self.vds.vslots)
        self.vals.append(v)

    def workers_truth(self):
        out = []
        for s in range(self.truth.n if self.args.workers else 0):
            g = lambda f: self.truth.get(s, f)
            if not g(F_PID):
                continue
            born = g(F_BORN)
            out.append({
                "pid": g(F_PID), "pool": s // self.truth.w, "id": s % self.truth.w,
                "born_ns": born, "born_in_window": born > self.m["start"],
                "oncpu_s": g(F_CPU) / 1e9, "runq_s": g(F_RUNQ) / 1e9,
                "net_s": g(F_NET) / 1e9, "sleep_s": g(F_SLEEP) / 1e9,
                "lock_wait_s": g(F_LWAIT) / 1e9, "lock_hold_s": g(F_LHOLD) / 1e9,
                "decode_s": g(F_DEC) / 1e9, "read_s": g(F_NET) / 1e9, "handoff_s": 0.0,
                "samples": g(F_SAMP), "bytes_read": g(F_BYTES)})
        return out

    def truth_line(self):
        a, m = self.args, self.m
        s = lambda ns: round(ns / 1e9, 6)
        wall = m["end"] - m["start"]
        oncpu = self.sched1[0] - self.sched0[0]
        runq = self.sched1[1] - self.sched0[1]
        blocked = max(0, wall - oncpu - runq)
        main = {"batch_wait_s": s(m["batch_wait"]), "compute_s": s(m["compute"]),
                "device_wait_s": 0.0, "checkpoint_s": 0.0,
                "lock_wait_s": s(blocked) if a.gil_thread else 0.0,
                "compute_cpu_s": s(m["compute_cpu"]), "oncpu_s": s(oncpu),
                "runq_wait_s": s(runq), "blocked_s": s(blocked),
                "next_runq_s": s(sum(self.next_runq)) if a.step_sched else None,
                # neither on a CPU nor waiting for one in next(): with --memmap, the
                # page faults of the slices (and any other wait there)
                "next_blocked_s": s(m["next_blocked_clk"]) if a.step_sched else None,
                # --memmap: in the file calls that drop its cache before each batch
                # (fadvise: on a CPU mostly, a file call all the same)
                "cache_drop_s": s(self.ds.drop_ns),
                # on a CPU in next(): its own code (unpickling, putting the next index)
                "next_oncpu_s": s(m["next_oncpu"]) if a.step_sched else None,
                # blocked outside next(): the GIL, or an intra-op team's barriers
                "blocked_outside_next_s": s(max(0, blocked - m["next_blocked"]))
                if a.step_sched else None}
        if a.gil_thread:
            main["gil_wait_s"] = s(blocked)
            main["gil_wait_with_runq_s"] = s(wall - oncpu)
            # with workers, blocked in next() is the loader's or the GIL's (the job
            # cannot tell which); outside it, only the GIL blocks the loop
            main["gil_outside_next_s"] = s(max(0, blocked - m["next_blocked"]))
        t = {"stalltrace_truth": 1, "workload": "pytorch", "job": a.job,
             "scenario": a.name, "pid": os.getpid(),
             "main_tid": threading.get_native_id(),
             "window": {"start_ns": m["start"], "end_ns": m["end"]},
             "steps": len(self.step_start), "batch_size": a.batch_size,
             "wall_s": s(wall), "main": main,
             "loader": {"num_workers": a.workers, "prefetch_factor": a.prefetch,
                        "persistent_workers": bool(a.persistent), "epochs": a.epochs,
                        "val_persistent_workers": bool(a.val_persistent),
                        "intra_op_threads": a.intra_op, "zip": a.zip,
                        "zip_workers": a.zip_workers if a.zip else 0,
                        "mp_context": a.mp_context, "bg_thread": a.bg_thread,
                        "mp_pool": a.mp_pool,
                        "pin_memory": bool(a.pin_memory),
                        "batches_per_epoch": a.batches_per_epoch,
                        "left_in_epoch": a.left_in_epoch, "val_every": a.val_every,
                        "pools": len({w["pool"] for w in self.workers_truth()}),
                        "pool_size": a.workers,
                        "memmap": bool(a.memmap),
                        "main_samples": self.truth.get(0, F_SAMP) if not a.workers else 0,
                        "main_decode_s": s(self.truth.get(0, F_DEC)) if not a.workers
                        else 0.0},
             "epochs": self.epochs, "val": self.vals,
             "step_start_ns": self.step_start, "next_ns": self.next_ns,
             "next_runq_ns": self.next_runq if a.step_sched else None,
             "workers": self.workers_truth(),
             "machine": self.machine.result()}
        if self.bg_tid:
            t["gil_thread"] = {"tid": self.bg_tid, "oncpu_s": s(self.bg1[0] - self.bg0[0]),
                               "runq_s": s(self.bg1[1] - self.bg0[1])}
        if self.server_info:
            t["server"] = self.server_info
        return json.dumps(t, separators=(",", ":"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--job", required=True, choices=sorted(JOBS))
    p.add_argument("--name", default="", help="scenario name echoed in the truth line")
    p.add_argument("--server", default="",
                   help="feature server HOST:PORT (wk_net; default $ST_FEATURE_SERVER, "
                        "else the job starts its own, a traced child)")
    for knob in KNOBS:
        p.add_argument("--" + knob.replace("_", "-"), type=int, default=None,
                       help="default: %s" % JOBS.get(knob, KNOBS[knob]))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mp-context", default="fork", choices=("fork", "spawn", "forkserver"),
                   help="how DataLoader starts its workers (multiprocessing_context; "
                        "forkserver: Python 3.14's default on Linux)")
    a = p.parse_args()
    for knob, val in {**KNOBS, **JOBS[a.job]}.items():
        if getattr(a, knob) is None:
            setattr(a, knob, val)
    if a.job == "wk_net" and not a.net_latency_us:
        p.error("--net-latency-us must be positive for wk_net")
    if not a.batches_per_epoch:
        a.batches_per_epoch = a.steps + a.warmup_steps + a.untimed_tail
    if a.step_sched < 0:
        a.step_sched = 1 if a.workers else 0
    if a.val_persistent < 0:
        a.val_persistent = a.persistent
    if a.zip_workers < 0:
        a.zip_workers = a.workers
    if a.zip and bool(a.zip_workers) != bool(a.workers):
        p.error("--zip-workers: 0 only with --workers 0")
    for knob in ("batch_size", "epochs", "batches_per_epoch", "prefetch", "hidden", "intra_op"):
        if getattr(a, knob) < 1:
            p.error("--%s must be at least 1" % knob.replace("_", "-"))
    for knob in KNOBS:
        if getattr(a, knob) < 0 and knob != "gate_step":
            p.error("--%s must not be negative" % knob.replace("_", "-"))
    if a.gate_step > a.warmup_steps:
        p.error("--gate-step must not be after --warmup-steps")
    if a.memmap and (a.workers or a.sample_files or a.job != "nw0"):
        p.error("--memmap is for --job nw0 (num_workers=0), without --sample-files")
    if a.workers == 0 and (a.persistent or a.prefetch != 2 or a.pin_memory):
        p.error("--persistent, --prefetch and --pin-memory need --workers > 0")
    if a.mp_pool and (not a.workers or a.persistent or a.pin_memory or a.iterable or
                      a.val_batches or a.zip or a.bg_thread or a.left_in_epoch or
                      a.mp_context != "fork"):
        p.error("--mp-pool needs --workers, with no other loader knob (fork context)")
    if a.mp_pool > 2:
        p.error("--mp-pool: 1 (multiprocessing.Pool) or 2 (ProcessPoolExecutor)")
    if a.val_every and not a.val_batches:
        p.error("--val-every needs --val-batches")
    if a.iterable and a.left_in_epoch:
        p.error("--left-in-epoch is for a map-style dataset (not --iterable)")
    if a.iterable and a.batches_per_epoch % max(1, a.workers):
        p.error("--iterable needs workers that share each epoch's batches evenly")
    if a.warmup_steps + a.untimed_tail >= a.epochs * a.batches_per_epoch:
        p.error("--warmup-steps and --untimed-tail must leave batches in the window")
    return a


def main():
    args = parse_args()
    # "N worker processes ... suggested max is 2": intended here (wk_lock, epochs)
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    torch.set_num_threads(args.intra_op)
    torch.manual_seed(args.seed)
    job = Job(args)
    job.run()
    print(job.truth_line(), flush=True)


if __name__ == "__main__":
    sys.exit(main())
