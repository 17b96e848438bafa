#!/usr/bin/python3
"""A loopback "feature server": the remote sample store of the wk_net workload.

    featsrv.py [--stdin-eof]

Listens on 127.0.0.1, a free port that it prints on stdout (one line, then
stdout is closed) once listening: read that line to wait for it.  One thread
per connection.  A request is 12 bytes, little-endian
(index u32, latency_us u32, nbytes u32); the server waits latency_us (the
store's service time, asked by the client so that the job's command line holds
all its knobs), then sends nbytes (at most 64 KiB) of deterministic data.  It exits on SIGTERM,
or when its stdin reaches EOF if started with --stdin-eof (the job that starts
it holds the other end).  Plain Python (no torch): it starts in ~30 ms.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

REQ = struct.Struct("<III")
BLOCK = bytes((i * 131 + 7) & 0xff for i in range(1 << 16)) * 2
MAX = 1 << 16           # largest reply


def recv_exact(c, n):
    b = bytearray()
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            return None
        b += chunk
    return bytes(b)


def serve(c):
    with c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            req = recv_exact(c, REQ.size)
            if req is None:
                return
            idx, lat, n = REQ.unpack(req)
            if lat:
                time.sleep(lat / 1e6)
            off = (idx * 977) % MAX
            try:
                c.sendall(BLOCK[off:off + min(n, MAX)])
            except OSError:
                return


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stdin-eof", action="store_true",
                   help="exit when stdin reaches EOF")
    a = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    sys.stdout.write("%d\n" % s.getsockname()[1])
    sys.stdout.close()
    if a.stdin_eof:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
