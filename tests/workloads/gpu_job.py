#!/usr/bin/env python3
"""A GPU training job that measures its own waits: gpu_job.py MODE STEPS OUT.json

MODE gpu: the device is the bottleneck (a chain of bf16 matrix products each step,
  then loss.item(), which waits for them); workers are fast.
MODE data: the workers are the bottleneck (CPU work per sample); the device step is
  short.
MODE sync: as gpu, but torch.cuda.synchronize() (cudaDeviceSynchronize) waits.
2 workers, pin memory, persistent workers (the usual GPU recipe).  Warm-up 10 steps, then
the attach gate (wl_common.gate()), then STEPS steps timed: the time in next(), the
time in the waiting call, the window's monotonic ns.  Run by tests/t_gpu.sh.
"""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
from torch.utils.data import DataLoader, Dataset
import wl_common as wl

MODE, STEPS, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
WARM = 10
K = int(os.environ.get("K", "12"))


class DS(Dataset):
    def __len__(self):
        return 10 ** 6

    def __getitem__(self, i):
        x = torch.randn(3, 64, 64)
        if MODE == "data":
            a = torch.randn(96, 96)
            for _ in range(12):
                a = torch.tanh(a @ a / 96)
            x[0, 0, 0] = a[0, 0]
        return x, i


def main():
    torch.set_num_threads(2)
    dl = DataLoader(DS(), batch_size=32, num_workers=2, pin_memory=True,
                    persistent_workers=True, prefetch_factor=2)
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        w = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16) / 90
    else:  # a smoke test without a GPU
        dev = torch.device("cpu")
        w = torch.randn(256, 256, device=dev) / 16
    p = torch.ones(1, device=dev, requires_grad=True)
    it = iter(dl)
    t_next = t_wait = 0
    steps = 0
    start = end = 0
    for s in range(WARM + STEPS):
        if s == WARM:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            wl.gate()
            start = time.monotonic_ns()
            t_next = t_wait = 0
        t0 = time.monotonic_ns()
        x, ids = next(it)
        t1 = time.monotonic_ns()
        x = x.to(dev, non_blocking=True)
        y = w
        for _ in range(K if MODE != "data" else 1):
            y = y @ w
        loss = (y[:64, :64].float().mean() + x.mean()) * p
        loss.backward()
        t2 = time.monotonic_ns()
        if MODE == "sync" and dev.type == "cuda":
            torch.cuda.synchronize()
            v = 0.0
        else:
            v = loss.item()
        t3 = time.monotonic_ns()
        t_next += t1 - t0
        t_wait += t3 - t2
        if s >= WARM:
            steps += 1
    end = time.monotonic_ns()
    truth = {"mode": MODE, "steps": steps, "start_ns": start, "end_ns": end,
             "window_s": (end - start) / 1e9, "next_s": t_next / 1e9,
             "wait_s": t_wait / 1e9, "pid": os.getpid(), "v": v,
             "torch": torch.__version__}
    truth["next_frac"] = truth["next_s"] / truth["window_s"]
    truth["wait_frac"] = truth["wait_s"] / truth["window_s"]
    with open(OUT, "w") as f:
        json.dump(truth, f)
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
