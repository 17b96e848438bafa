#!/usr/bin/env python3
"""fail_brief.py NAME REPORT.json TRACE: a few lines on a reference job that failed its
checks (tests/t_jobs.sh), each starting "FAIL   |", for a CI log that keeps only its
first FAIL lines: the pools the report found, and the trainer's child processes as the
trace has them (pid, parent, when forked, the command line it exec'd or had at attach,
when gone).
A failure under load is rare, and the trace is gone with the CI machine."""
import json
import os
import subprocess
import sys


def main():
    name, rp, trace = sys.argv[1:4]
    d = json.load(open(rp))
    t0 = d["window"]["start_ns"]
    ms = lambda ns: "%.1f" % ((ns - t0) / 1e6) if ns else "-"
    dl = d["dataloader"]
    pools = " ".join("%s:%dw/first %s" % (ms(p["start_ns"]), p["workers"], ms(p.get("first_batch_ns")))
                     for p in dl.get("pool_list", []))
    print("FAIL   | %s: report: main %s (%s), %d pools [%s], workers %s" %
          (name, d["main"]["tid"], d["main"].get("found_by"), dl.get("pools", 0), pools,
           " ".join("%d/p%s" % (w["pid"], w.get("pool")) for w in dl.get("worker_list", []))))
    dump = subprocess.run([os.environ.get("ANALYZE", "analyze"), "--dump", trace],
                          capture_output=True, text=True).stdout.splitlines()
    procs, main = {}, d["main"].get("pid") or d["main"]["tid"]
    for line in dump:
        if '"fork"' not in line and '"exit"' not in line and '"proc"' not in line:
            continue
        e = json.loads(line)
        if e["type"] == "fork" and not e.get("thread"):
            procs.setdefault(e["pid"], {})["fork"] = (e["ts"], e["parent_pid"])
        elif e["type"] == "exit" and e.get("group_dead"):
            procs.setdefault(e["pid"], {})["exit"] = e["ts"]
        elif e["type"] == "proc":
            p = procs.setdefault(e["pid"], {})
            p["cmd" if e.get("exec") else "seen"] = e.get("cmdline", "")[:48]
            p.setdefault("ppid", e.get("ppid"))
    rows = []
    for pid, p in sorted(procs.items(), key=lambda kv: kv[1].get("fork", (0, 0))[0]):
        if pid == main:
            continue
        f = p.get("fork", (0, p.get("ppid", "?")))
        rows.append("%d<%s@%s%s%s%s" % (pid, f[1], ms(f[0]), " exec '%s'" % p["cmd"] if "cmd" in p else "",
                                        " at attach '%s'" % p["seen"] if "seen" in p and "fork" not in p else "",
                                        " gone@" + ms(p["exit"]) if "exit" in p else ""))
    for i in range(0, min(len(rows), 40), 8):
        print("FAIL   | %s: processes: %s" % (name, "; ".join(rows[i:i + 8])))


if __name__ == "__main__":
    main()
