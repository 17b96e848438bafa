#!/usr/bin/env python3
"""netload SECONDS [--cpu N]: loopback TCP streams and an fsync loop, the interrupt
load of a training node (network softirqs on every CPU, block I/O completions), and
with --cpu N processes spinning on the CPUs, for tests that must hold on a busy
machine.  Stops by itself after SECONDS, or when killed: the spinners end with it."""
import os, socket, sys, tempfile, threading, time

end = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 60)
spinners = int(sys.argv[sys.argv.index("--cpu") + 1]) if "--cpu" in sys.argv else 0
parent = os.getpid()
for _ in range(spinners):
    if os.fork() == 0:
        while time.time() < end and os.getppid() == parent:
            for _ in range(100000):
                pass
        os._exit(0)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)


def sink(c):
    while time.time() < end and c.recv(1 << 16):
        pass


def source():
    s = socket.create_connection(srv.getsockname())
    buf = b"z" * 16384
    while time.time() < end:
        s.sendall(buf)
        time.sleep(0.0002)


def disk():
    fd, path = tempfile.mkstemp(prefix="netload-", dir="/var/tmp")
    os.unlink(path)
    block = os.urandom(1 << 16)
    while time.time() < end:
        os.pwrite(fd, block, 0)
        os.fsync(fd)


for _ in range(2):
    threading.Thread(target=source, daemon=True).start()
    c, _ = srv.accept()
    threading.Thread(target=sink, args=(c,), daemon=True).start()
threading.Thread(target=disk, daemon=True).start()
print("loaded", flush=True)
while time.time() < end:
    time.sleep(0.1)
