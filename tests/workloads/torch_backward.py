#!/usr/bin/env python3
"""torch_backward.py N: a PyTorch loop that only computes (no data loader, no call
that recurs once a step), for tracer --torch-steps: it waits until the uprobe is on
backward()'s entry in libtorch_python (the breakpoint byte 0xcc at the symbol: the
tracer puts it there once the job opened the library), then calls backward() exactly
N times and prints N.  Exit status 1 when the probe never comes (60 s)."""
import ctypes
import sys
import time

import torch

SYM = "_Z22THPEngine_run_backwardP7_objectS0_S0_"


def main():
    n = int(sys.argv[1])
    path = next(line.split()[-1] for line in open("/proc/self/maps")
                if "libtorch_python.so" in line)
    addr = ctypes.cast(getattr(ctypes.CDLL(path), SYM), ctypes.c_void_p).value
    deadline = time.monotonic() + 60
    while ctypes.string_at(addr, 1) != b"\xcc":
        if time.monotonic() > deadline:
            sys.exit("torch_backward.py: no uprobe on %s within 60 s" % SYM)
        time.sleep(0.01)
    w = torch.randn(64, 64, requires_grad=True)
    for _ in range(n):
        (w @ w).sum().backward()
    print(n)


if __name__ == "__main__":
    main()
