#!/usr/bin/env python3
"""epollwait.py N: the main thread blocks N times in epoll_wait on a set that watches a
socket (an event loop's connection), then N times on a set that watches only a pipe.
A child process wakes it each time, once /proc says it is blocked in epoll_wait (the
child watches its syscall, no sleep decides anything).  Prints {"tid": T, "n": N}.
The tracer must say the first N waits were on a socket, the next N another wait."""
import json
import os
import select
import socket
import sys

EPOLL_NRS = {"232", "281", "441"}       # x86_64 epoll_wait, epoll_pwait, epoll_pwait2


def blocked_in_epoll(pid):
    with open("/proc/%d/syscall" % pid) as f:
        nr = f.read().split(" ", 1)[0]
    with open("/proc/%d/stat" % pid) as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    return state == "S" and nr in EPOLL_NRS


def main():
    n = int(sys.argv[1])
    a, b = socket.socketpair()
    r, w = os.pipe()
    on_sock, on_pipe = select.epoll(), select.epoll()
    on_sock.register(a.fileno(), select.EPOLLIN)
    on_pipe.register(r, select.EPOLLIN)
    go_r, go_w = os.pipe()
    me = os.getpid()
    if os.fork() == 0:
        os.close(go_w)
        while True:
            what = os.read(go_r, 1)
            if not what:
                os._exit(0)
            while not blocked_in_epoll(me):
                os.sched_yield()
            if what == b"s":
                b.send(b"x")
            else:
                os.write(w, b"x")
    os.close(go_r)
    for ep, what, take in ((on_sock, b"s", lambda: a.recv(1)), (on_pipe, b"p", lambda: os.read(r, 1))):
        for _ in range(n):
            os.write(go_w, what)
            if not ep.poll():
                sys.exit("epollwait: epoll_wait returned nothing")
            take()
    os.close(go_w)
    print(json.dumps({"tid": me, "n": n}))


main()
