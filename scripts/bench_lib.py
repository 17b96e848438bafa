#!/usr/bin/python3
"""make bench helpers (scripts/bench.sh): measuring, reading each tool's trace, and the report.

  bench_lib.py measure OUT.json [--stdout FILE] -- CMD...
      runs CMD, writes {"rc","wall_s","user_s","sys_s","maxrss_kb"} (wait4 rusage of CMD
      and the children it waited for); CMD's stdout goes to FILE (default /dev/null)
  bench_lib.py add RAW.jsonl KEY=VALUE... [--json FILE] [--truth FILE] [--measure FILE]
                 [--trace TOOL PATH [--count] [--zstd]]
      appends one result line to RAW.jsonl: the KEY=VALUEs (numbers when they parse),
      the keys of the last JSON line of FILE (--json: sysloop, bench_rate), the job's
      window `wall_s` from a truth line, a measure file's keys prefixed with m_, and
      what TOOL's trace at PATH holds (bytes, events, drops; --count: also count the
      events where only a full decode can, --zstd: also the size after `zstd -3`)
  bench_lib.py report RAW.jsonl OUTDIR
      writes OUTDIR/results.json, results.md and chart.dat

Only the standard library: it runs with Debian's /usr/bin/python3.
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

# ---------------------------------------------------------------- measure


def cmd_measure(args):
    out, stdout = args[0], "/dev/null"
    args = args[1:]
    if args[:1] == ["--stdout"]:
        stdout, args = args[1], args[2:]
    if args[:1] != ["--"] or len(args) < 2:
        sys.exit("usage: bench_lib.py measure OUT.json [--stdout FILE] -- CMD...")
    cmd = args[1:]
    with open(stdout, "wb") as so:
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.dup2(so.fileno(), 1)
            try:
                os.execvp(cmd[0], cmd)
            finally:
                os._exit(127)
        _, status, ru = os.wait4(pid, 0)
        wall = time.monotonic() - t0
    res = {"rc": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 6),
           "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "maxrss_kb": ru.ru_maxrss}
    with open(out, "w") as f:
        json.dump(res, f)
        f.write("\n")
    return res["rc"]


# ---------------------------------------------------------------- reading traces


def last_json(path):
    """The last line of a file that parses as a JSON object."""
    found = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    found = json.loads(line)
                except ValueError:
                    pass
    return found or {}


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def zstd3_bytes(path):
    p = subprocess.Popen(["zstd", "-3", "-q", "-c", path], stdout=subprocess.PIPE)
    n = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    p.wait()
    return n


def run_lines(cmd):
    """Yields the stdout lines of cmd (stderr discarded)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         errors="replace", bufsize=1 << 20)
    yield from p.stdout
    p.wait()


ST_SUMMARY = re.compile(r"wrote .*: ([\d.]+) s, (\d+) events, ([\d.]+) MB \(([\d.]+) bytes/event\), "
                        r"(\d+) dropped; tracer CPU ([\d.]+)%, max RSS (\d+) MB")


def trace_stalltrace(path, count):
    r = {}
    m = ST_SUMMARY.search(read_text(path + ".log"))
    if m:
        r.update(events=int(m.group(2)), drops=int(m.group(5)), tracer_cpu_pct=float(m.group(6)),
                 tracer_rss_mb=int(m.group(7)), st_bytes_per_event=float(m.group(4)))
        r["logical"] = r["events"]
    if count:
        analyze = os.path.join(os.environ.get("BUILD", "build"), "analyze")
        r["syscall_events"] = sum('"type":"syscall"' in line
                                  for line in run_lines([analyze, "--dump", path]))
    return r


def perf_stats(path):
    """Per-event SAMPLE and LOST_SAMPLES counts from `perf report --stats`."""
    per, cur, agg = {}, None, False
    for line in run_lines(["perf", "report", "-i", path, "--stats"]):
        if line.startswith("Aggregated stats:"):
            agg = True
            continue
        if not agg:
            continue
        m = re.match(r"(\S+:\S+) stats:", line)
        if m:
            cur = per.setdefault(m.group(1), {"samples": 0, "lost": 0})
            continue
        m = re.match(r"\s+(SAMPLE|LOST_SAMPLES) events:\s+(\d+)", line)
        if m and cur is not None:
            cur["samples" if m.group(1) == "SAMPLE" else "lost"] += int(m.group(2))
    return per


def trace_perf(path, count):
    per = perf_stats(path)
    events = sum(v["samples"] for v in per.values())
    exits = per.get("raw_syscalls:sys_exit", {}).get("samples", 0)
    m = re.search(r"\((\d+) samples\)", read_text(path + ".log"))
    return {"events": events if per else (int(m.group(1)) if m else None),
            "drops": sum(v["lost"] for v in per.values()),
            "logical": events - exits, "syscall_events": exits}


def trace_tracecmd(path, count):
    r = {"drops": 0}
    for line in run_lines(["trace-cmd", "report", "--stat", "-i", path]):
        m = re.match(r"overrun:\s+(\d+)", line)
        if m:
            r["drops"] += int(m.group(1))
    if count:
        events = exits = dropped_lines = 0
        for line in run_lines(["trace-cmd", "report", "-i", path]):
            if line.startswith("cpus="):
                continue
            m = re.search(r"\[(\d+) EVENTS DROPPED\]", line)
            if m:
                dropped_lines += int(m.group(1))
                continue
            events += 1
            if " sys_exit:" in line:
                exits += 1
        r.update(events=events, logical=events - exits, syscall_events=exits,
                 drops_in_report=dropped_lines)
    return r


def trace_bpftrace(path, count):
    events = syscalls = 0
    lost = 0
    with open(path, errors="replace") as f:
        for line in f:
            c = line[:2]
            if c in ("S ", "W ", "C ", "B ", "F ", "E ", "X "):
                events += 1
                syscalls += c == "C "
            else:
                m = re.search(r"Lost (\d+) events", line)
                if m:
                    lost += int(m.group(1))
    for m in re.finditer(r"Lost (\d+) events", read_text(path + ".log")):
        lost += int(m.group(1))
    return {"events": events, "logical": events, "syscall_events": syscalls, "drops": lost}


TRACE_READERS = {"stalltrace": trace_stalltrace, "perf": trace_perf,
                 "trace-cmd": trace_tracecmd, "bpftrace": trace_bpftrace}


def inspect_trace(tool, path, count, zstd):
    r = {"bytes": os.path.getsize(path)} if os.path.exists(path) else {"bytes": None}
    if tool in TRACE_READERS and r["bytes"] is not None:
        r.update(TRACE_READERS[tool](path, count))
        if zstd:
            r["zst3_bytes"] = zstd3_bytes(path)
    return r


def number(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def cmd_add(args):
    raw, rec, i = args[0], {}, 1
    trace = None
    count = zstd = False
    while i < len(args):
        a = args[i]
        if a == "--json":
            rec.update(last_json(args[i + 1]))
            i += 2
        elif a == "--truth":
            rec["wall_s"] = last_json(args[i + 1]).get("wall_s")
            i += 2
        elif a == "--measure":
            rec.update({"m_" + k: v for k, v in last_json(args[i + 1]).items()})
            i += 2
        elif a == "--trace":
            trace = (args[i + 1], args[i + 2])
            i += 3
        elif a == "--count":
            count, i = True, i + 1
        elif a == "--zstd":
            zstd, i = True, i + 1
        else:
            k, _, v = a.partition("=")
            rec[k] = number(v)
            i += 1
    if trace:
        rec.update(inspect_trace(trace[0], trace[1], count, zstd))
    with open(raw, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    return 0


# ---------------------------------------------------------------- report

TOOLS = ["stalltrace", "perf", "trace-cmd", "bpftrace"]
# the real jobs of the overhead target (issue 16) and the flood configuration
JOB_TARGETS = ("pt_prep", "pt_fetch", "ddp_balanced_compute")
FLOOD = "sysloop 4 threads, default buffer"
NOISY = "noisy"		# a target's verdict when the runs' noise exceeds the effect
EVENTS_PER_SYSCALL = {"perf": 2, "trace-cmd": 2}	# sys_enter + sys_exit


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return {"median": statistics.median(v), "min": v[0], "max": v[-1], "n": len(v)}


def sel(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def paired_ratios(rows, metric, base_tool="none", **kw):
    """traced/untraced ratio per repetition (both measured in the same repetition)."""
    base = {r["rep"]: r.get(metric) for r in sel(rows, tool=base_tool, **kw)}
    out = {}
    for t in TOOLS:
        ratios = [r[metric] / base[r["rep"]] for r in sel(rows, tool=t, **kw)
                  if r.get(metric) and base.get(r["rep"])]
        out[t] = stats(ratios)
    return out


def fmt(x, digits=2):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    if isinstance(x, int) and abs(x) >= 10000:
        return f"{x:,}"
    return str(x)


def fmt_stat(s, digits=2, scale=1.0):
    if not s:
        return "n/a"
    if s["n"] == 1:
        return fmt(s["median"] * scale, digits)
    return (f"{fmt(s['median'] * scale, digits)} ({fmt(s['min'] * scale, digits)}–"
            f"{fmt(s['max'] * scale, digits)})")


def report_overhead(rows, res, md, peers):
    md.append("## Overhead: traced / untraced wall time\n")
    md.append("Median (min–max) of the per-repetition ratio; each repetition runs the "
              "untraced job and every tool back to back, in rotating order. Workloads: the "
              "job's own measured window (`wall_s` of its truth line); sysloop: ns per "
              "getppid() call.\n")
    md.append("| workload | " + " | ".join(TOOLS) + " |")
    md.append("|---|" + "---|" * len(TOOLS))
    res["overhead"] = {}
    sysl = sel(rows, section="sysloop")
    workloads = [("sysloop (1 thread)", sysl, SC_METRIC)]
    for w in sorted({r["workload"] for r in sel(rows, section="workload")}):
        workloads.append((w, sel(rows, section="workload", workload=w), "wall_s"))
    for name, rs, metric in workloads:
        if not rs:
            continue
        ratios = paired_ratios(rs, metric)
        res["overhead"][name] = ratios
        md.append(f"| {name} | " + " | ".join(
            fmt_stat(ratios[t], 3) if ratios[t] else peers.get(t, "n/a") for t in TOOLS) + " |")
    md.append("")
    # end-to-end: tool start-up and shutdown included
    md.append("End to end (the command under the tool, start-up and trace writing "
              "included), same runs:\n")
    md.append("| workload | untraced s | " + " | ".join(TOOLS) + " |")
    md.append("|---|---|" + "---|" * len(TOOLS))
    res["overhead_end_to_end"] = {}
    for w in sorted({r["workload"] for r in sel(rows, section="workload")}):
        rs = sel(rows, section="workload", workload=w)
        ratios = paired_ratios(rs, "m_wall_s")
        res["overhead_end_to_end"][w] = ratios
        base = stats([r.get("m_wall_s") for r in sel(rs, tool="none")])
        md.append(f"| {w} | {fmt_stat(base)} | " + " | ".join(
            fmt_stat(ratios[t], 2) if ratios[t] else "n/a" for t in TOOLS) + " |")
    md.append("")


# sysloop's fastest chunk of 1000 calls: on a machine others share, most chunks still
# run unpreempted, and the fastest is the cost of a call; the whole run's mean also
# holds everyone else's work (both agree on a quiet machine)
SC_METRIC = "min_ns_per_call"


def report_syscall(rows, res, md):
    md.append("## Cost per syscall (tight getppid() loop, 1 thread)\n")
    md.append("ns per call of sysloop's fastest chunk of 1000 calls (`min_ns_per_call`): "
              "robust to other work on the machine, which the whole run's mean is not; "
              "added = traced minus untraced in the same repetition, left out where other "
              "users' BPF programs on the syscall tracepoints were not the same for both runs.\n")
    md.append("| tool | traced ns/call | added ns/call | untraced process ns/call while the "
              "tool traces another job | added ns/call |")
    md.append("|---|---|---|---|---|")
    res["syscall"] = {}
    sysl, unt = sel(rows, section="sysloop"), sel(rows, section="untraced")
    base = stats([r.get(SC_METRIC) for r in sel(sysl, tool="none")])
    ubase = stats([r.get(SC_METRIC) for r in sel(unt, tool="none")])
    md.append(f"| none | {fmt_stat(base, 1)} | – | {fmt_stat(ubase, 1)} | – |")
    for t in TOOLS:
        tr = stats([r.get(SC_METRIC) for r in sel(sysl, tool=t)])
        ut = stats([r.get(SC_METRIC) for r in sel(unt, tool=t)])
        add = stats(paired_diff(sysl, SC_METRIC, t))
        uadd = stats(paired_diff(unt, SC_METRIC, t))
        res["syscall"][t] = {"traced_ns": tr, "added_ns": add, "untraced_ns": ut,
                             "untraced_added_ns": uadd}
        md.append(f"| {t} | {fmt_stat(tr, 1)} | {fmt_stat(add, 1)} | {fmt_stat(ut, 1)} | "
                  f"{fmt_stat(uadd, 1)} |")
    res["syscall"]["none"] = {"traced_ns": base, "untraced_ns": ubase}
    md.append("")


def report_switches(rows, res, md):
    md.append("## Cost per context switch to programs not traced (pingpong)\n")
    md.append("An untraced program whose two threads wake each other through pipes (two "
              "context switches and two wakeups a round trip) beside a traced idle job: "
              "every tool's scheduler probes run for every task on the machine. ns per "
              "round trip (the run's wall time over its round trips); added = the same "
              "repetition's run without a tool subtracted. *2 CPUs*: the idle task comes "
              "and goes; *1 CPU* (taskset -c 0): the threads switch to each other.\n")
    md.append("| tool | 2 CPUs ns/round trip | added | 1 CPU ns/round trip | added |")
    md.append("|---|---|---|---|---|")
    sw = sel(rows, section="switches")
    for r in sw:
        if r.get("m_wall_s") and r.get("trips") and r.get("m_rc") == 0:
            r["ns_per_trip"] = r["m_wall_s"] / r["trips"] * 1e9
    res["switches"] = {}
    for t in ["none"] + TOOLS:
        cells, out = [], {}
        for m in ("free", "pinned"):
            rs = sel(sw, cpus=m)
            out[m] = {"ns_per_trip": stats([r.get("ns_per_trip") for r in sel(rs, tool=t)])}
            cells.append(fmt_stat(out[m]["ns_per_trip"], 0))
            if t != "none":
                out[m]["added_ns"] = stats(paired_diff(rs, "ns_per_trip", t))
            cells.append(fmt_stat(out[m].get("added_ns"), 0) if t != "none" else "–")
        res["switches"][t] = out
        md.append(f"| {t} | " + " | ".join(cells) + " |")
    md.append("")


# other users' BPF programs on the syscall tracepoints, counted before and after each run
FOREIGN = ("foreign_sys_progs", "foreign_after")


def paired_diff(rows, metric, tool, base_tool="none"):
    """tool minus base_tool per repetition; a pair is left out when other users' BPF
    programs on the syscall tracepoints (FOREIGN) were not the same before and after
    both runs: every syscall of one run paid for programs the other did not have."""
    base = {r["rep"]: r for r in sel(rows, tool=base_tool)}
    out = []
    for r in sel(rows, tool=tool):
        b = base.get(r["rep"])
        if r.get(metric) is None or b is None or b.get(metric) is None:
            continue
        if len({x.get(k, 0) for x in (r, b) for k in FOREIGN}) > 1:
            continue
        out.append(r[metric] - b[metric])
    return out


def unlike_pairs(rows, tools):
    """Repetitions whose runs saw different counts of other users' syscall programs."""
    n = 0
    for rep in {r["rep"] for r in rows}:
        seen = {r.get(k, 0) for r in rows for k in FOREIGN
                if r["rep"] == rep and r.get("tool") in tools}
        n += len(seen) > 1
    return n


# the floors (scripts/bench.sh FLOORS, bpf/floor.bpf.c): the rows of the table
FLOORS = [("floor-empty", "floor: two empty programs (tp_btf)"),
          ("floor-rawtp", "floor: two empty programs (raw_tp)"),
          ("floor-cache", "floor + cache check (tp_btf)")]


def report_floor(rows, res, md):
    """What two programs on the syscall tracepoints cost with nothing in them, beside
    stalltrace and perf in the same repetitions; stalltrace's own share above it."""
    sysl, unt = sel(rows, section="sysloop"), sel(rows, section="untraced")
    if not any(sel(unt, tool=f) or sel(sysl, tool=f) for f, _ in FLOORS):
        return
    md.append("## The floor: two programs on the syscall tracepoints\n")
    md.append("sysloop beside two BPF programs on `sys_enter`/`sys_exit` that do nothing "
              "(`build/tests/floor`, bpf/floor.bpf.c), in the same rotation as the tools: "
              "added ns/call of the fastest chunk, minus the untraced run of the same "
              "repetition. *floor + cache check* adds stalltrace's untraced-path test "
              "(the per-CPU entry read and its compares). The syscall-loop column runs "
              "the floors beside the traced loop's repetitions.\n")
    md.append("| row | processes not traced: added ns/call | syscall loop: added ns/call |")
    md.append("|---|---|---|")
    res["floor"] = {}
    for t, name in FLOORS + [("stalltrace", "stalltrace"), ("perf", "perf")]:
        u = stats(paired_diff(unt, SC_METRIC, t))
        c = stats(paired_diff(sysl, SC_METRIC, t))
        if not u and not c:
            continue
        res["floor"][t] = {"untraced_added_ns": u, "added_ns": c}
        md.append(f"| {name} | {fmt_stat(u, 1)} | {fmt_stat(c, 1)} |")
    md.append("")
    # above the floor, per repetition
    own_u = stats(paired_diff(unt, SC_METRIC, "stalltrace", "floor-empty"))
    own_c = stats(paired_diff(sysl, SC_METRIC, "stalltrace", "floor-empty"))
    chk = stats(paired_diff(unt, SC_METRIC, "floor-cache", "floor-empty"))
    raw = stats(paired_diff(unt, SC_METRIC, "floor-rawtp", "floor-empty"))
    res["floor"]["own"] = {"untraced_ns": own_u, "traced_ns": own_c, "cache_check_ns": chk,
                           "rawtp_minus_tp_btf_ns": raw}
    md.append("Above the floor (stalltrace minus two empty tp_btf programs, same "
              f"repetition): processes not traced {fmt_stat(own_u, 1)} ns/call, traced "
              f"syscall loop {fmt_stat(own_c, 1)} ns/call. The cache check alone "
              f"(floor + cache check minus floor): {fmt_stat(chk, 1)} ns/call; raw_tp "
              f"minus tp_btf: {fmt_stat(raw, 1)} ns/call.\n")
    both = unt + sysl
    loads = [r["load1"] for r in both if r.get("load1") is not None]
    fsp = sorted({r[k] for r in both for k in FOREIGN if r.get(k) is not None})
    tools = ["none", "stalltrace", "perf"] + [f for f, _ in FLOORS]
    res["floor"]["unlike_repetitions"] = unlike_pairs(unt, tools) + unlike_pairs(sysl, tools)
    if loads:
        md.append(f"Load average during these runs: {min(loads)}–{max(loads)}. Other users' "
                  "BPF programs on the syscall tracepoints before or after a run: "
                  f"{', '.join(str(x) for x in fsp) or 'n/a'}; every syscall pays for them, "
                  "so a run is compared only with an untraced run that saw as many "
                  f"({res['floor']['unlike_repetitions']} repetitions had runs that did "
                  "not).\n")


def report_capture(rows, res, md):
    cap = sel(rows, section="capture")
    if not cap:
        return
    md.append("## Capture limits\n")
    md.append("bench_rate offers a paced getppid() rate (2 threads) for a fixed time; "
              "`max` is unpaced. Events are each tool's own records (perf and trace-cmd "
              "record a syscall as 2 events, stalltrace and the bpftrace script as 1). "
              "Drops: what the tool itself reports (stalltrace: trailer; perf: "
              "LOST_SAMPLES; trace-cmd: ring overruns; bpftrace: `Lost N events`); "
              "missing: syscalls issued but not in the trace, counted by decoding it.\n")
    md.append("| tool | config | target syscalls/s | achieved syscalls/s | recorded events/s | "
              "drops reported | drop rate % | missing syscalls |")
    md.append("|---|---|---|---|---|---|---|---|")
    res["capture"] = []
    keys = []
    for r in cap:
        k = (r["tool"], r["config"], r.get("target", 0))
        if k not in keys:
            keys.append(k)
    best, best_sc = {}, {}
    for tool, config, target in keys:
        rs = [r for r in cap if (r["tool"], r["config"], r.get("target", 0)) == (tool, config, target)]
        offered = stats([r.get("rate") or r["calls"] * 1e9 / r["wall_ns"] for r in rs
                         if r.get("calls") and r.get("wall_ns")])
        evrate = stats([r["events"] * 1e9 / r["wall_ns"] for r in rs
                        if r.get("events") is not None and r.get("wall_ns")])
        derived = False
        if evrate is None and rs and all(r.get("drops") == 0 and r.get("calls") for r in rs):
            # not decoded (too slow), but nothing was lost: every call is in the trace,
            # as EVENTS_PER_SYSCALL records
            evrate = stats([EVENTS_PER_SYSCALL.get(tool, 1) * r["calls"] * 1e9 / r["wall_ns"]
                            for r in rs])
            derived = True
        drops = stats([r.get("drops") for r in rs])
        rate = stats([r["drops"] / (r["drops"] + r["events"]) for r in rs
                      if r.get("drops") is not None and r.get("events")])
        missing = stats([missing_syscalls(r) for r in rs])
        clean = all(r.get("drops") == 0 and (missing_syscalls(r) or 0) == 0 for r in rs)
        entry = {"tool": tool, "config": config, "target_syscalls_per_s": target,
                 "offered_syscalls_per_s": offered, "events_per_s": evrate, "drops": drops,
                 "drop_rate": rate, "missing_syscalls": missing, "zero_drops": clean}
        res["capture"].append(entry)
        entry["events_per_s_derived"] = derived
        if config == "sweep" and clean and evrate:
            best[tool] = max(best.get(tool, 0), evrate["median"])
            best_sc[tool] = max(best_sc.get(tool, 0), offered["median"])
        md.append(f"| {tool} | {config} | {'max' if not target else fmt(float(target))} | "
                  f"{fmt_stat(offered, 0)} | {fmt_stat(evrate, 0)}{' *' if derived else ''} | "
                  f"{fmt_stat(drops, 0)} | "
                  f"{fmt_stat(rate, 2, 100)} | {fmt_stat(missing, 0)} |")
    md.append("")
    md.append("\\* not decoded: zero drops reported, so the rate is the calls made × "
              "the tool's events per syscall.\n")
    if best:
        md.append("Highest rate recorded with zero drops in the sweep: " + ", ".join(
            f"{t} {fmt(best[t] / 1e6)}M events/s ({fmt(best_sc[t] / 1e6)}M syscalls/s)"
            for t in TOOLS if t in best) + ".\n")
    res["capture_best_zero_drop_events_per_s"] = best
    res["capture_best_zero_drop_syscalls_per_s"] = best_sc


def missing_syscalls(r):
    """Syscalls bench_rate or sysloop made that the trace lacks (None when not counted)."""
    if r.get("calls") is None or r.get("syscall_events") is None:
        return None
    return max(0, r["calls"] - r["syscall_events"])


def report_size(rows, res, md):
    ws = [r for r in sel(rows, section="workload") if r.get("tool") in TOOLS and r.get("bytes")]
    if not ws:
        return
    md.append("## Size on disk\n")
    md.append("Same workload runs as above. Events are each tool's own records; a logical "
              "event counts a syscall's entry and exit as one. stalltrace also records "
              "page-cache fills and fd details the peers do not; the trace-cmd file is "
              "already zstd-compressed by trace-cmd 3.1.\n")
    md.append("| workload | tool | events | drops | bytes/event | bytes/logical event | "
              "after zstd -3: bytes/event |")
    md.append("|---|---|---|---|---|---|---|")
    res["size"] = {}
    for w in sorted({r["workload"] for r in ws}):
        for t in TOOLS:
            rs = sel(ws, workload=w, tool=t)
            if not rs:
                continue
            ev = stats([r.get("events") for r in rs])
            bpe = stats([r["bytes"] / r["events"] for r in rs if r.get("events")])
            bpl = stats([r["bytes"] / r["logical"] for r in rs if r.get("logical")])
            z = stats([r["zst3_bytes"] / r["events"] for r in rs
                       if r.get("events") and r.get("zst3_bytes")])
            res["size"].setdefault(w, {})[t] = {"events": ev, "bytes_per_event": bpe,
                                                "bytes_per_logical_event": bpl,
                                                "zstd3_bytes_per_event": z}
            dr = stats([r.get("drops") for r in rs])
            res["size"][w][t]["drops"] = dr
            md.append(f"| {w} | {t} | {fmt_stat(ev, 0)} | {fmt_stat(dr, 0)} | {fmt_stat(bpe)} | "
                      f"{fmt_stat(bpl)} | {fmt_stat(z)} |")
    md.append("")


def report_analysis(rows, res, md):
    an = sel(rows, section="analysis")
    if not an:
        return
    md.append("## Analysis\n")
    md.append("Wall time and peak RSS of each command (output to /dev/null); events/s = "
              "the trace's events / wall seconds; events/s per core = the trace's events / "
              "(user + system CPU seconds).\n")
    md.append("| trace | command | events | wall s | peak RSS MB | events/s | events/s per core |")
    md.append("|---|---|---|---|---|---|---|")
    res["analysis"] = []
    keys = []
    for r in an:
        k = (r["trace"], r["cmd"])
        if k not in keys:
            keys.append(k)
    for trace, cmd in keys:
        rs = [r for r in an if (r["trace"], r["cmd"]) == (trace, cmd)]
        if any(r.get("pending") for r in rs):
            res["analysis"].append({"trace": trace, "cmd": cmd, "pending": True})
            md.append(f"| {trace} | `{cmd}` | {fmt(rs[0].get('events'))} | pending: "
                      "`analyze TRACE` not ready | | | |")
            continue
        ok = [r for r in rs if r.get("m_rc") == 0]
        wall = stats([r.get("m_wall_s") for r in ok])
        rss = stats([r["m_maxrss_kb"] / 1024 for r in ok if r.get("m_maxrss_kb")])
        eps = stats([r["events"] / (r["m_user_s"] + r["m_sys_s"]) for r in ok
                     if r.get("events") and r["m_user_s"] + r["m_sys_s"] > 0])
        wps = stats([r["events"] / r["m_wall_s"] for r in ok
                     if r.get("events") and r.get("m_wall_s")])
        res["analysis"].append({"trace": trace, "cmd": cmd, "events": rs[0].get("events"),
                                "wall_s": wall, "peak_rss_mb": rss, "events_per_s": wps,
                                "events_per_s_per_core": eps,
                                "failed_runs": len(rs) - len(ok)})
        fail = f" ({len(rs) - len(ok)} failed)" if len(ok) < len(rs) else ""
        md.append(f"| {trace} | `{cmd}`{fail} | {fmt(rs[0].get('events'))} | {fmt_stat(wall)} | "
                  f"{fmt_stat(rss, 0)} | {fmt_stat(wps, 0)} | {fmt_stat(eps, 0)} |")
    md.append("")


def report_merge(rows, res, md):
    mg = sel(rows, section="merge")
    if not mg:
        return
    md.append("## Merging per-node reports\n")
    md.append("`analyze -q --merge DIR --json OUT` over synthetic per-node reports "
              "(`tests/tools/repgen.c`, one rank each, every step's collective wait): wall "
              "time, CPU seconds and peak RSS.\n")
    md.append("| reports | steps each | input MB | wall s | CPU s | peak RSS MB | straggler found |")
    md.append("|---|---|---|---|---|---|---|")
    ok = [r for r in mg if r.get("m_rc") == 0]
    wall = stats([r.get("m_wall_s") for r in ok])
    cpu = stats([r["m_user_s"] + r["m_sys_s"] for r in ok])
    rss = stats([r["m_maxrss_kb"] / 1024 for r in ok if r.get("m_maxrss_kb")])
    right = all(str(r.get("straggler")) == str(r.get("want_straggler")) for r in mg)
    r0 = mg[0]
    res["merge"] = {"reports": r0.get("ranks"), "steps": r0.get("steps"),
                    "input_mb": round(r0.get("input_bytes", 0) / 1e6, 1), "wall_s": wall,
                    "cpu_s": cpu, "peak_rss_mb": rss, "straggler_right": right,
                    "failed_runs": len(mg) - len(ok)}
    md.append(f"| {r0.get('ranks')} | {r0.get('steps')} | {res['merge']['input_mb']} | "
              f"{fmt_stat(wall)} | {fmt_stat(cpu)} | {fmt_stat(rss, 0)} | "
              f"{'yes' if right else '**no**'} |")
    md.append("")


def report_targets(rows, res, md):
    md.append("## Targets\n")
    md.append("| target | measured | result |")
    md.append("|---|---|---|")
    tg = []

    def add(name, measured, ok, note=""):
        verdict = ("pending" if ok is None else "inconclusive" if ok == NOISY else
                   "pass" if ok else "**miss**")
        tg.append({"target": name, "measured": measured, "result": verdict, "note": note})
        md.append(f"| {name} | {measured}{(' — ' + note) if note else ''} | {verdict} |")

    sc = res.get("syscall", {}).get("stalltrace", {})
    add("capture: ≤ 100 ns added per traced syscall (getppid loop)",
        f"{fmt_stat(sc.get('added_ns'), 1)} ns/call",
        None if not sc.get("added_ns") else sc["added_ns"]["median"] <= 100)
    add("capture: ≤ 20 ns added per syscall of processes not traced",
        f"{fmt_stat(sc.get('untraced_added_ns'), 1)} ns/call",
        None if not sc.get("untraced_added_ns") else sc["untraced_added_ns"]["median"] <= 20)
    for w in JOB_TARGETS:
        pt = res.get("overhead", {}).get(w, {}).get("stalltrace")
        base = stats([r.get("wall_s") for r in sel(rows, section="workload", workload=w,
                                                    tool="none")])
        n = f", {pt['n']} pairs" if pt else ""
        ok = None if not pt else pt["median"] <= 1.02 and pt["n"] >= 7
        note = ""
        # a 2% effect cannot be told from runs whose untraced windows alone spread
        # more, nor from a median below 1 (tracing does not speed a job up)
        if pt and (base["max"] > 1.10 * base["min"] or pt["median"] < 0.98):
            ok = NOISY
            note = (f"the untraced runs alone spread {base['max'] / base['min']:.2f}x: "
                    "noise, no verdict")
        add(f"capture: {w} traced/untraced ≤ 1.02 (median of ≥ 7 interleaved pairs)",
            fmt_stat(pt, 3) + n, ok, note)
    head = [c for c in res.get("capture", []) if c["tool"] == "stalltrace"
            and c["config"] == "sysloop 2 threads, default buffer"]
    if head:
        c = head[0]
        ok = c["zero_drops"] and c["events_per_s"] and c["events_per_s"]["min"] >= 5e6
        add("capture: ≥ 5M events/s with zero drops, default buffer (sysloop 2 threads)",
            f"{fmt_stat(c['events_per_s'], 0)} events/s, drops {fmt_stat(c['drops'], 0)}", ok)
    else:
        add("capture: ≥ 5M events/s with zero drops, default buffer", "n/a", None)
    flood = [c for c in res.get("capture", []) if c["tool"] == "stalltrace"
             and c["config"] == FLOOD]
    if flood:
        c = flood[0]
        add("capture: zero drops under a flood (sysloop 4 threads on 2 CPUs)",
            f"drops {fmt_stat(c['drops'], 0)} ({fmt_stat(c['drop_rate'], 2, 100)} %), "
            f"missing syscalls {fmt_stat(c['missing_syscalls'], 0)}", c["zero_drops"])
    else:
        add("capture: zero drops under a flood (4 threads on 2 CPUs)", "n/a", None)
    ptb = stats([r.get("st_bytes_per_event") for r in rows if r.get("tool") == "stalltrace" and
                 r.get("section") in ("pt_size", "workload") and
                 str(r.get("workload", "")).startswith(("pt_", "ddp_"))])
    add("capture: ≤ 6 bytes/event, median over PyTorch training traces", fmt_stat(ptb),
        None if not ptb else ptb["median"] <= 6)
    cpu = stats([r.get("tracer_cpu_pct") for r in sel(rows, section="workload", tool="stalltrace")
                 if r.get("workload", "").startswith(("pt_", "ddp_"))])
    rss = stats([r.get("tracer_rss_mb") for r in sel(rows, section="workload", tool="stalltrace")])
    add("capture: tracer CPU and memory (report)",
        f"CPU {fmt_stat(cpu, 1)} % of one core on PyTorch runs, max RSS {fmt_stat(rss, 0)} MB",
        True if cpu else None)
    big = [a for a in res.get("analysis", []) if a["trace"].startswith("stgen") and
           a["cmd"] == "analyze TRACE"]
    if big and not big[0].get("pending") and big[0].get("events_per_s"):
        b = big[0]
        add(f"analysis: ≥ 25M events/s on {b['trace']} (wall)",
            f"{fmt_stat(b['events_per_s'], 0)} ({fmt_stat(b['events_per_s_per_core'], 0)} "
            "per CPU second)", b["events_per_s"]["median"] >= 25e6)
        add(f"analysis: ≤ 256 MB peak RSS on {b['trace']}", fmt_stat(b["peak_rss_mb"], 0) + " MB",
            b["peak_rss_mb"]["max"] <= 256)
    else:
        add("analysis: ≥ 25M events/s, 100M-event trace", "not measured", None,
            "`analyze TRACE` not ready" if big else "")
        add("analysis: ≤ 256 MB peak RSS, 100M-event trace", "not measured", None)
    m = res.get("merge")
    if m and m.get("wall_s") and m.get("reports") == 4096 and m.get("steps") == 1000:
        add("merge: 4096 reports of 1000 steps in < 30 s", fmt_stat(m["wall_s"]) + " s",
            m["wall_s"]["max"] < 30 and m["straggler_right"])
        add("merge: 4096 reports of 1000 steps in < 1 GiB", fmt_stat(m["peak_rss_mb"], 0) + " MB",
            m["peak_rss_mb"]["max"] < 1024)
    else:
        add("merge: 4096 reports of 1000 steps in < 30 s and < 1 GiB",
            f"{m['reports']} reports only (quick mode)" if m else "not measured", None)
    res["targets"] = tg
    md.append("")


def cmd_report(args):
    raw, outdir = args
    rows = [json.loads(line) for line in open(raw) if line.strip()]
    meta = next((r for r in rows if r.get("section") == "meta"), {})
    peers = {r["tool"]: r.get("reason", "") for r in sel(rows, section="peer") if not r.get("ok")}
    res = {"meta": meta, "unavailable_peers": peers}
    md = ["# stalltrace benchmarks\n",
          f"`{meta.get('command', 'make bench')}` on {meta.get('date', '?')}: "
          f"kernel {meta.get('kernel', '?')}, {meta.get('cpus', '?')} CPUs, "
          f"{meta.get('mode', '?')} mode ({meta.get('reps', '?')} repetitions). "
          f"Peers: {meta.get('versions', '?')}.\n"]
    for t, why in peers.items():
        md.append(f"- **{t} could not run here**: {why}")
    if peers:
        md.append("")
    md.append("## Summary\n")
    md.append("MARK_SUMMARY")
    md.append("")
    report_overhead(rows, res, md, {t: "cannot run" for t in peers})
    report_syscall(rows, res, md)
    report_floor(rows, res, md)
    report_switches(rows, res, md)
    report_capture(rows, res, md)
    report_size(rows, res, md)
    report_analysis(rows, res, md)
    report_merge(rows, res, md)
    report_targets(rows, res, md)
    notes = [r["text"] for r in sel(rows, section="note")]
    if notes:
        md.append("## Notes\n")
        md.extend(f"- {n}" for n in notes)
        md.append("")
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    summary = "\n".join(summary_table(res, meta))
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md).replace("MARK_SUMMARY", summary) + "\n")
    write_chart_dat(res, os.path.join(outdir, "chart.dat"))
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write("\n".join(summary_table(res, meta)) + "\n")
    return 0


def summary_table(res, meta):
    """The short table for the README: one line per claim, one column per tool."""
    def cell(s, digits=2, scale=1.0, unit=""):
        # medians only: results.md has the ranges
        return fmt(s["median"] * scale, digits) + unit if s else "n/a"

    lines = ["| same job, same events (medians) | " + " | ".join(TOOLS) + " |",
             "|---|" + "---|" * len(TOOLS)]

    def row(name, cells):
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    ov = res.get("overhead", {})
    for w, name in (("pt_prep", "PyTorch, prep-bound DataLoader (pt_prep): traced/untraced time"),
                    ("pt_fetch", "PyTorch, fetch-bound, 4 KiB O_DIRECT reads (pt_fetch): "
                     "traced/untraced time"),
                    ("ddp_balanced_compute", "PyTorch DDP, 2 ranks on gloo "
                     "(ddp_balanced_compute): traced/untraced time"),
                    ("ts_prep", "trainsim, loader-bound (ts_prep): traced/untraced time"),
                    ("ts_compute", "trainsim, compute-bound (ts_compute): traced/untraced time")):
        if w in ov:
            row(name, [cell(ov[w].get(t), 3) for t in TOOLS])
    sc = res.get("syscall", {})
    row("tight syscall loop: added ns per syscall",
        [cell(sc.get(t, {}).get("added_ns"), 0) for t in TOOLS])
    row("added ns per syscall of processes it does not trace",
        [cell(sc.get(t, {}).get("untraced_added_ns"), 0) for t in TOOLS])
    own = res.get("floor", {}).get("own", {})
    flo = res.get("floor", {}).get("floor-empty", {}).get("untraced_added_ns")
    if flo:
        row("of which above the floor (two empty BPF programs on the syscall tracepoints: "
            f"{cell(flo, 0)} ns): processes not traced, traced loop",
            [f"{cell(own.get('untraced_ns'), 0)}, {cell(own.get('traced_ns'), 0)}"]
            + ["n/a"] * (len(TOOLS) - 1))
    best = res.get("capture_best_zero_drop_events_per_s", {})
    bsc = res.get("capture_best_zero_drop_syscalls_per_s", {})
    swept = any(c["config"] == "sweep" for c in res.get("capture", []))
    row("highest rate recorded with zero drops (paced sweep): events/s (syscalls/s)",
        [f"{best[t] / 1e6:.2f}M ({bsc[t] / 1e6:.2f}M)" if t in best else
         "none" if swept else "not run" for t in TOOLS])
    mx = {c["tool"]: c for c in res.get("capture", [])
          if c["config"] == "sysloop 2 threads, default buffer"}
    row("drop rate at the highest rate (sysloop, 2 threads)",
        [cell(mx[t]["drop_rate"], 1, 100, " %") if t in mx else "n/a" for t in TOOLS])
    fl = {c["tool"]: c for c in res.get("capture", []) if c["config"] == FLOOD}
    row("flood, 4 threads flat out on 2 CPUs: drops (drop rate)",
        [f"{cell(fl[t]['drops'], 0)} ({cell(fl[t]['drop_rate'], 1, 100, ' %')})"
         if t in fl else "n/a" for t in TOOLS])
    size = res.get("size", {}).get("pt_prep", {})
    row("pt_prep trace: bytes/event (after zstd -3)",
        [f"{cell(size[t]['bytes_per_event'])} ({cell(size[t]['zstd3_bytes_per_event'])})"
         if t in size else "n/a" for t in TOOLS])
    an = {a["cmd"]: a for a in res.get("analysis", []) if a["trace"].startswith("sysloop")}
    dec = {"stalltrace": "analyze --dump TRACE", "perf": "perf script -i TRACE",
           "trace-cmd": "trace-cmd report -i TRACE"}
    row("print every event of a large trace: events/s per core",
        [f"{cell(an[dec[t]].get('events_per_s_per_core'), 0)} (`{dec[t].split(' TRACE')[0].split(' -i')[0]}`)"
         if t in dec and dec[t] in an else "n/a" for t in TOOLS])
    big = [a for a in res.get("analysis", []) if a["trace"].startswith("stgen")
           and a["cmd"] == "analyze TRACE"]
    if big:
        b = big[0]
        row(f"analysis of a {b['trace'].split()[1]}-event trace: events/s (per CPU second), "
            "peak RSS",
            ["pending (`analyze TRACE` not ready)" if b.get("pending") else
             f"{cell(b.get('events_per_s'), 0)} ({cell(b.get('events_per_s_per_core'), 0)}), "
             f"{cell(b.get('peak_rss_mb'), 0)} MB"]
            + ["n/a"] * (len(TOOLS) - 1))
    m = res.get("merge")
    if m and m.get("wall_s"):
        row(f"merge {m['reports']} per-node reports of {m['steps']} steps: wall, peak RSS",
            [f"{cell(m['wall_s'], 1)} s, {cell(m['peak_rss_mb'], 0)} MB"]
            + ["n/a"] * (len(TOOLS) - 1))
    return lines


def write_chart_dat(res, path):
    """Overhead ratios, one row per workload, one median/min/max column triple per tool."""
    with open(path, "w") as f:
        f.write("# workload " + " ".join(f"{t}_med {t}_min {t}_max" for t in TOOLS) + "\n")
        for w, ratios in res.get("overhead", {}).items():
            cells = []
            for t in TOOLS:
                s = ratios.get(t)
                cells += [f"{s['median']:.4f} {s['min']:.4f} {s['max']:.4f}"] if s else ["NaN NaN NaN"]
            label = re.sub(r"[^A-Za-z0-9_.()-]", "_", w.replace(" (1 thread)", ""))
            f.write(f'"{label}" ' + " ".join(cells) + "\n")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "measure":
        return cmd_measure(args)
    if cmd == "add":
        return cmd_add(args)
    if cmd == "report":
        return cmd_report(args)
    sys.exit(__doc__)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
