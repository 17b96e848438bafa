#!/usr/bin/python3
"""Puts what `analyze` says about a traced reference workload next to the job's own
ground truth.  Used by measure.sh; also runnable on kept traces:

    measure_cmp.py --truth T.truth.json --expect VERDICT --prefix P  TRACE [TRACE]

It runs `$ANALYZE` (default build/analyze) twice per trace: over the job's own
measured window (--from/--to from the truth line; with --perfetto, for the step
boundaries) and over the analyzer's own window (no --from/--to), keeps
P.win.json / P.own.json (one per node trace for two nodes: P-nN.win.json ...),
prints a side-by-side table and writes P.cmp.json (the figures of the table).
It judges nothing: it reports.  Fractions are of the truth window's wall time.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CATS = ("compute", "dataloader_wait", "io_wait", "gpu_wait", "cpu_contention", "lock_wait",
        "other_wait")
PID_ANALYSIS = 0x7f000000


def analyze(an, trace, out, window=None):
    """Runs analyze; returns (report, step boundaries per trainer tid, error)."""
    cmd = [an, "-q", "--json", out]
    pf = None
    if window:
        fd, pf = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd += ["--from", "@%d" % window[0], "--to", "@%d" % window[1], "--perfetto", pf]
    r = subprocess.run(cmd + [trace], capture_output=True, text=True)
    if r.returncode != 0:
        return None, {}, "analyze exit %d: %s" % (r.returncode, r.stderr.strip()[-300:])
    with open(out) as f:
        rep = json.load(f)
    bounds = {}
    if pf:
        with open(pf) as f:
            d = json.load(f)
        os.unlink(pf)
        t0 = d.get("otherData", {}).get("trace_start_monotonic_ns", 0)
        names = {}
        for e in d["traceEvents"]:
            if e.get("ph") == "M" and e.get("pid") == PID_ANALYSIS and \
                    e.get("name") == "thread_name":
                names[e["tid"]] = e["args"]["name"]
        for e in d["traceEvents"]:
            if e.get("cat") == "step" and e.get("ph") == "X" and \
                    names.get(e["tid"], "").startswith("steps"):
                b = bounds.setdefault(names[e["tid"]], [])
                b.append(t0 + int(round(e["ts"] * 1000)))
                b.append(t0 + int(round((e["ts"] + e["dur"]) * 1000)))
        for k in bounds:
            bounds[k] = sorted(set(bounds[k]))
    return rep, bounds, None


def match(an, starts, nexts, slack=500000):
    """Analyzer boundaries that fall inside a next() call of the job (its batch came
    back then), with slack ns either side; each next() call counts once."""
    iv = [(s - n - slack, s + slack, s) for s, n in zip(starts, nexts)]
    used, offs, hit = set(), [], 0
    for b in an:
        for i, (lo, hi, s) in enumerate(iv):
            if lo <= b <= hi and i not in used:
                used.add(i)
                offs.append(b - s)
                hit += 1
                break
    offs.sort()
    # where every boundary lies: in the last ms of a next() call, earlier in one,
    # or outside (the main thread was computing)
    where = {"next_last_1ms": 0, "next_earlier": 0, "outside_next": 0}
    for b in an:
        w = "outside_next"
        for lo, hi, s in iv:
            if lo <= b <= hi:
                w = "next_last_1ms" if b >= s - 1000000 else "next_earlier"
                break
        where[w] += 1
    return {"analyzer_boundaries": len(an), "truth_starts": len(starts), "where": where,
            "truth_matched": len(used), "analyzer_matched": hit, "slack_ms": slack / 1e6,
            "median_offset_ms": round(offs[len(offs) // 2] / 1e6, 3) if offs else None}


def irq_health(an, trace):
    """Per CPU: wakeups, how many say 'in an interrupt', and whether any does not.

    A CPU whose every wakeup says interrupt for the whole trace has the tracer's
    interrupt-nesting counter stuck (issue 11): wakers are lost there.
    """
    p = subprocess.Popen([an, "--dump", trace], stdout=subprocess.PIPE, text=True)
    n, irq = {}, {}
    for line in p.stdout:
        if '"type":"wakeup"' not in line:
            continue
        e = json.loads(line)
        c = e["waker_cpu"]
        n[c] = n.get(c, 0) + 1
        irq[c] = irq.get(c, 0) + bool(e["irq"])
    p.wait()
    return {"wakeups": n, "irq_wakeups": irq,
            "stuck_cpus": sorted(c for c in n if n[c] >= 20 and irq[c] == n[c])}


def stalls(rep, k=3):
    out = []
    for s in rep.get("stalls", [])[:k]:
        ch = " <- ".join("%s(%d)" % (w["comm"], w["tid"]) for w in s.get("chain") or [])
        out.append("%.1f ms %s in %s on %s, woken by %s" % (
            s["dur_ms"], s["cause"], s.get("syscall"), s.get("fd_kind") or s.get("file"),
            ch or "an interrupt/nobody"))
    return out


def bounds_for(bounds, pid):
    """The step boundaries of the trainer pid ('steps: COMM PID' tracks)."""
    for k, v in bounds.items():
        if k.endswith(" %d" % pid):
            return v
    return next(iter(bounds.values())) if len(bounds) == 1 else []


def steps_match(bounds, pid, lo, hi, starts, nexts):
    pairs = [(s, n) for s, n in zip(starts or [], nexts or []) if lo <= s <= hi]
    if not pairs:
        return None
    return match([b for b in bounds_for(bounds, pid) if lo <= b <= hi],
                 [s for s, _ in pairs], [n for _, n in pairs])


def f3(x):
    return "-" if x is None else "%.3f" % x


def row(label, an, truth, note=""):
    print("  %-34s %-22s %-22s %s" % (label, an, truth, note))


def trainer_of(rep, pid):
    for t in rep.get("trainers", []):
        if t["main"]["pid"] == pid:
            return t
    return None


def single(args, t, rep, own, bounds):
    """One trainer: a torch_jobs.py / torch_train.py / trainsim truth line."""
    w, m = t["wall_s"], t["main"]
    tr = trainer_of(rep, t["pid"]) or rep
    bd = tr["breakdown"]
    c = {"verdict_window": tr["verdict"]["primary"], "verdict_own": own["verdict"]["primary"]
         if own else None, "expected": args.expect, "main_tid_ok": tr["main"]["tid"] ==
         t["main_tid"], "breakdown": {k: round(v, 4) for k, v in bd.items()},
         "truth": {"next": m["batch_wait_s"] / w, "compute_cpu": m["compute_cpu_s"] / w,
                   "compute_wall": m["compute_s"] / w, "oncpu": m["oncpu_s"] / w,
                   "runq": m["runq_wait_s"] / w, "blocked": m.get("blocked_s", 0) / w,
                   "lock": m["lock_wait_s"] / w,
                   "next_runq": m["next_runq_s"] / w if m.get("next_runq_s") is not None
                   else None}}
    # A CPU-bound main thread on a busy machine: cpu_contention is as right as compute
    alt = "cpu_contention" if args.expect == "compute" and c["truth"]["runq"] >= 0.15 else None
    c["verdict_ok"] = c["verdict_window"] in (args.expect, alt)
    print("  %-34s %-22s %-22s" % ("", "analyze", "truth"))
    row("verdict (truth window)", c["verdict_window"], args.expect + ("|" + alt if alt else ""),
        "ok" if c["verdict_ok"] else "MISMATCH")
    row("verdict (own window)", c["verdict_own"], "",
        "%s %.2f s" % (own["window"]["source"], own["window"]["duration_s"]) if own else "")
    row("main thread", tr["main"]["tid"], t["main_tid"], "ok" if c["main_tid_ok"] else "MISMATCH")
    row("dataloader_wait vs time in next()", f3(bd["dataloader_wait"]), f3(c["truth"]["next"]),
        "diff %+.3f" % (bd["dataloader_wait"] - c["truth"]["next"]))
    if m.get("next_runq_s") is not None:
        row("  of next(): runnable (truth)", "", f3(m["next_runq_s"] / w))
    row("compute vs compute CPU", f3(bd["compute"]), f3(c["truth"]["compute_cpu"]))
    row("compute+cpu_cont vs compute wall", f3(bd["compute"] + bd["cpu_contention"]),
        f3(c["truth"]["compute_wall"]))
    row("cpu_contention vs main runq", f3(bd["cpu_contention"]), f3(c["truth"]["runq"]),
        "(wakeup latency %.3f)" % (tr["wakeup_latency_s"] / w))
    row("lock_wait vs GIL/lock blocked", f3(bd["lock_wait"]), f3(c["truth"]["lock"]))
    row("other_wait", f3(bd["other_wait"]), "", "main blocked (truth) %.3f" % c["truth"]["blocked"])
    row("io_wait", f3(bd["io_wait"]), "")
    # steps
    lo, hi = t["window"]["start_ns"], t["window"]["end_ns"]
    starts = [s for s in t.get("step_start_ns") or [] if lo <= s <= hi]
    sm = steps_match(bounds, t["pid"], lo, hi, t.get("step_start_ns"), t.get("next_ns"))
    if sm:
        c["steps_match"] = sm
    c["steps"] = {"window_count": tr["steps"]["count"], "window_method": tr["steps"]["method"],
                  "own_count": own["steps"]["count"] if own else None,
                  "own_method": own["steps"]["method"] if own else None,
                  "own_window_s": own["window"]["duration_s"] if own else None,
                  "truth": t["steps"], "truth_mean_ms": w * 1e3 / t["steps"],
                  # batches the trace holds: all of them in run mode, those after the
                  # attach gate in attach mode; the own window's count is one less
                  "truth_in_trace": t["steps"] if args.mode == "attach" else
                  t.get("loader", {}).get("epochs", 1) *
                  t.get("loader", {}).get("batches_per_epoch", t["steps"])}
    row("steps in truth window (count)", "%d (%s)" % (tr["steps"]["count"], tr["steps"]["method"]),
        "%d" % t["steps"], "analyzer boundaries %d vs truth step starts %d" %
        (tr["steps"]["count"] + 1 if tr["steps"]["count"] else 0, len(starts)))
    if "steps_match" in c:
        sm = c["steps_match"]
        row("  boundaries inside a next() call", "%d/%d" % (sm["analyzer_matched"],
                                                             sm["analyzer_boundaries"]),
            "%d/%d next() calls" % (sm["truth_matched"], sm["truth_starts"]),
            "+-%.1f ms; median boundary - return %s ms" % (sm["slack_ms"],
                                                           sm["median_offset_ms"]))
        row("  boundaries: last ms of next()/earlier/outside", "%(next_last_1ms)d/"
            "%(next_earlier)d/%(outside_next)d" % sm["where"], "")
    if own:
        row("steps, own window", "%d (%s) mean %.1f ms" % (own["steps"]["count"],
                                                         own["steps"]["method"],
                                                         own["steps"]["mean_ms"]),
            "%d batches in the trace" % c["steps"]["truth_in_trace"],
            "(a perfect count is one less); truth mean step %.1f ms" %
            c["steps"]["truth_mean_ms"])
    # loader
    ld = t.get("loader", {})
    dl = tr["dataloader"]
    c["workers"] = {"analyzer": dl["workers"], "truth_pool_size": ld.get("pool_size",
                    len(t["workers"])), "truth_pools": ld.get("pools", 1),
                    "truth_processes": len(t["workers"])}
    row("data loader workers", dl["workers"], "%s x %s pools" % (c["workers"]["truth_pool_size"],
                                                                c["workers"]["truth_pools"]))
    row("loader prep/fetch/starved/idle", "%.2f/%.2f/%.2f/%.2f" % (
        dl["prep_fraction"], dl["fetch_fraction"], dl["starved_fraction"], dl["idle_fraction"]), "")
    mach = t.get("machine")
    c["cpu"] = {"spare_cpus": rep["cpu"]["spare_cpus"], "traced_cpus_used":
                rep["cpu"]["traced_cpus_used"]}
    if mach:
        c["cpu"].update(truth_idle_cpus=mach["idle_cpus"], truth_others=mach["others"][:3],
                        truth_others_cpu_s=mach["others_cpu_s"])
        row("spare CPUs vs machine idle", f3(rep["cpu"]["spare_cpus"]), f3(mach["idle_cpus"]),
            "others %.2f CPU-s: %s" % (mach["others_cpu_s"], ", ".join(
                "%s(%d) %.2f" % (o["comm"], o["pid"], o["cpu_s"]) for o in mach["others"][:3])))
    c["advice"] = tr["verdict"]["advice"]
    wl = {x["pid"]: x for x in dl["worker_list"]}
    c["worker_cmp"] = []
    for x in t["workers"]:
        a = wl.get(x["pid"])
        e = {"pid": x["pid"], "truth": {k: round(x.get(k, 0) / w, 3) for k in
                                        ("oncpu_s", "runq_s", "read_s", "net_s", "sleep_s",
                                         "lock_wait_s", "lock_hold_s", "decode_s")},
             "analyzer": {k: round(a[k] / w, 3) for k in ("prep_s", "fetch_s", "starved_s",
                                                          "idle_s")} if a else None}
        c["worker_cmp"].append(e)
        tt = e["truth"]
        row("worker %d cpu/stor/runq/idle" % x["pid"],
            "%.2f/%.2f/%.2f/%.2f" % tuple(e["analyzer"].values()) if a else "not found",
            "cpu %.2f runq %.2f" % (tt["oncpu_s"], tt["runq_s"]),
            "net %.2f sleep %.2f lock %.2f+%.2f read %.2f" % (
                tt["net_s"], tt["sleep_s"], tt["lock_wait_s"], tt["lock_hold_s"], tt["read_s"]))
    for adv in tr["verdict"]["advice"]:
        print("  advice: %s" % adv)
    c["stalls"] = stalls(tr)
    for st in c["stalls"]:
        print("  stall: %s" % st)
    return c


def ddp(args, t, reps, owns, bounds):
    """A DDP job: one report (one trace) or one per node trace."""
    c = {"expected_straggler": t["straggler"], "shared_cause": t.get("shared_cause"),
         "ranks": []}
    print("  truth: straggler %s, shared cause %s, last to the collective per rank %s" % (
        t["straggler"] and "rank %d (%s), others wait %.3f" % (
            t["straggler"]["rank"], t["straggler"]["cause"],
            t["straggler"]["others_wait_fraction"]), t.get("shared_cause"),
        t["last_to_collective_steps"]))
    c["reports"] = []
    for i, rep in enumerate(reps):
        slow = [x for x in rep["trainers"] if x.get("slowest")]
        st = rep.get("straggler")
        job = rep.get("job") or {}
        c["reports"].append({"verdict": rep["verdict"]["primary"],
                             "slowest_pid": slow[0]["main"]["pid"] if slow else None,
                             "straggler": st, "balanced": job.get("balanced"),
                             "shared_cause": job.get("shared_cause"),
                             "summary": rep["verdict"]["summary"]})
        print("  report %d: %d trainers, top-level verdict %s, slowest pid %s, spare CPUs %.2f"
              % (i, len(rep["trainers"]), rep["verdict"]["primary"],
                 slow[0]["main"]["pid"] if slow else None, rep["cpu"]["spare_cpus"]))
        print("    straggler: %s; job: balanced %s, shared cause %s, world %s" % (
            st and "rank %s pid %s cause %s others_wait %s" % (
                st.get("rank"), st.get("pid"), st.get("cause"),
                st.get("others_wait_fraction")), job.get("balanced"),
            job.get("shared_cause"), job.get("world_size")))
        print("    summary: %s" % rep["verdict"]["summary"])
    for r in t["ranks"]:
        w, m = r["wall_s"], r["main"]
        rep = reps[r["group_rank"]] if len(reps) > 1 else reps[0]
        own = (owns[r["group_rank"]] if len(owns) > 1 else owns[0]) if owns else None
        tr = trainer_of(rep, r["pid"])
        otr = trainer_of(own, r["pid"]) if own else None
        e = {"rank": r["rank"], "pid": r["pid"], "slowed": r["slowed"],
             "truth": {"next": round(m["batch_wait_s"] / w, 4),
                       "collective_wait": round(m["collective_wait_s"] / w, 4),
                       "compute_wall": round(m["compute_s"] / w, 4),
                       "compute_cpu": round(m["compute_cpu_s"] / w, 4),
                       "runq": round(m["runq_wait_s"] / w, 4)}}
        if not tr:
            e["analyzer"] = None
            print("  rank %d (pid %d): NOT A TRAINER in the report" % (r["rank"], r["pid"]))
            c["ranks"].append(e)
            continue
        bd = tr["breakdown"]
        e["analyzer"] = {"rank": tr.get("rank"), "verdict": tr["verdict"]["primary"],
                         "verdict_own": otr["verdict"]["primary"] if otr else None,
                         "main_tid_ok": tr["main"]["tid"] == r["main_tid"],
                         "breakdown": {k: round(v, 4) for k, v in bd.items()},
                         "collective_wait": bd.get("collective_wait"),
                         "slowest": tr.get("slowest"),
                         "wait_for_slowest": tr.get("wait_for_slowest_fraction"),
                         "steps": tr["steps"]["count"], "steps_method": tr["steps"]["method"],
                         "workers": tr["dataloader"]["workers"],
                         "summary": tr["verdict"]["summary"]}
        sm = steps_match(bounds, r["pid"], t["window"]["start_ns"], t["window"]["end_ns"],
                         r["step_start_ns"], r["next_ns"])
        e["steps_match"] = sm
        # the verdict each rank's own time deserves: the straggler's cause, or the
        # collective wait for the others; compute|cpu_contention on a busy machine
        want = (t["straggler"]["cause"] if r["slowed"] else "collective_wait") \
            if t["straggler"] else t.get("shared_cause")
        alt = "cpu_contention" if want == "compute" and e["truth"]["runq"] >= 0.15 else None
        e["want"] = want if not alt else want + "|" + alt
        e["verdict_ok"] = e["analyzer"]["verdict"] in (want, alt)
        c["ranks"].append(e)
        a = e["analyzer"]
        print("  rank %d (analyzer: %s) pid %d%s: verdict %s (want %s: %s; own window %s), main tid %s, "
              "slowest %s, wait_for_slowest %.3f, steps %d (%s) vs %d, workers %d" % (
                  r["rank"], a["rank"], r["pid"], " (slowed)" if r["slowed"] else "", a["verdict"],
                  e["want"], "ok" if e["verdict_ok"] else "MISMATCH", a["verdict_own"], "ok" if a["main_tid_ok"] else "MISMATCH", a["slowest"],
                  a["wait_for_slowest"] or 0, a["steps"], a["steps_method"], r["steps"],
                  a["workers"]))
        print("    analyze: " + " ".join("%s %.3f" % (k, bd[k]) for k in CATS) +
              ("  collective_wait %.3f" % bd["collective_wait"] if "collective_wait" in bd else ""))
        tt = e["truth"]
        print("    truth:   next %.3f  collective_wait %.3f  compute(wall) %.3f  compute(cpu) %.3f"
              "  runq %.3f" % (tt["next"], tt["collective_wait"], tt["compute_wall"],
                               tt["compute_cpu"], tt["runq"]))
        print("    summary: %s" % a["summary"])
        a["stalls"] = stalls(tr, 2)
        for st in a["stalls"]:
            print("    stall: %s" % st)
        if sm:
            print("    step boundaries inside a next() call: %d/%d (of %d next() calls); "
                  "last ms of next()/earlier/outside %s" % (
                      sm["analyzer_matched"], sm["analyzer_boundaries"], sm["truth_starts"],
                      "/".join(str(v) for v in sm["where"].values())))
    return c


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--truth", required=True)
    p.add_argument("--expect", default="")
    p.add_argument("--prefix", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--mode", default="")
    p.add_argument("traces", nargs="+")
    a = p.parse_args()
    an = os.environ.get("ANALYZE") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../build/analyze")
    with open(a.truth) as f:
        t = json.loads(f.readline())
    win = (t["window"]["start_ns"], t["window"]["end_ns"])
    reps, owns, bounds, errs = [], [], {}, []
    multi = len(a.traces) > 1
    for i, tr in enumerate(a.traces):
        sfx = "-n%d" % i if multi else ""
        rep, b, err = analyze(an, tr, "%s%s.win.json" % (a.prefix, sfx), win)
        own, _, err2 = analyze(an, tr, "%s%s.own.json" % (a.prefix, sfx))
        if err or err2:
            errs.append(err or err2)
            continue
        reps.append(rep)
        owns.append(own)
        bounds.update(b)
    print("== %s (%s): %s" % (a.name, a.mode, " ".join(a.traces)))
    if errs:
        print("  ANALYZE FAILED: %s" % "; ".join(errs))
        out = {"name": a.name, "mode": a.mode, "error": errs}
    else:
        health = [irq_health(an, tr) for tr in a.traces]
        for i, rep in enumerate(reps):
            tw = rep["trace"]
            if tw["warnings"] or tw["dropped_events"]:
                print("  trace warnings: %s, dropped %d" % (tw["warnings"], tw["dropped_events"]))
            if health[i]["stuck_cpus"]:
                print("  TRACER DEFECT (issue 11): every wakeup on CPU %s says 'interrupt' "
                      "(%s of %s): wakers lost, verdicts on wakeup chains are void" % (
                          health[i]["stuck_cpus"], health[i]["irq_wakeups"],
                          health[i]["wakeups"]))
        out = {"name": a.name, "mode": a.mode, "traces": a.traces,
               "dropped": sum(r["trace"]["dropped_events"] for r in reps),
               "irq_stuck_cpus": [h["stuck_cpus"] for h in health],
               "truth_wall_s": t["wall_s"]}
        if t.get("workload") == "ddp":
            out.update(ddp(a, t, reps, owns, bounds))
        else:
            out.update(single(a, t, reps[0], owns[0], bounds))
    with open(a.prefix + ".cmp.json", "w") as f:
        json.dump(out, f, indent=1)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
