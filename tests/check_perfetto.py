#!/usr/bin/env python3
"""check_perfetto.py FILE [--window FROM:TO] [--summary OUT.json] [--report AN.json]

Validates an `analyze --perfetto` export (Chrome JSON trace event format) the way a
viewer would read it, and prints one line per problem:
  - the document parses; events are one per line, each starting with "ph" then "ts"
    (Perfetto's tokenizer looks for "ts" before any array), no arrays anywhere;
  - every X has ts, dur >= 0, pid, tid (32-bit) and a name; instants have a scope;
  - slices nest properly on every (pid, tid) track: children inside parents, never a
    partial overlap (X and thread-scoped instants, in exact integer ns);
  - every flow "s" has exactly one "f" with the same id, cat and name, not earlier;
    both lie inside a slice of their track (the "f" binds to it: "bp":"e");
  - every pid has a process_name, every (pid, tid) with events a thread_name;
  - state slices are named after a category, with a known state and the category's
    cname; counters have numeric args;
  - with --window, nothing lies outside it (seconds from the trace start).
With --report (the same run's `analyze --json`), the timeline must agree with the
report, for each trainer whose analysis window the export covers:
  - the main thread's state slices inside the analysis window add up, per category,
    to the report's breakdown (within 1 ms each);
  - the stalls track holds the report's stalls (start, duration, cause), and inside
    each stall the main thread's state slices are of its cause, or compute;
  - every wakeup arrow starts on the state track of the waker its wakee's slice names
    (woken_by), and every stall whose waker has a state track has an arrow from it.
With --summary, writes counts (slices per category, flows, names, steps, ...) for the
caller's own checks.  Exit status 0 when valid, 1 otherwise.
"""
import collections
import json
import re
import sys
from decimal import Decimal

STATES = {"Running", "Runnable (woken)", "Runnable (preempted)", "Runnable (new)", "Sleeping",
          "Uninterruptible (D)", "Idle (I)", "Stopped", "Unknown"}
# the categories and their chrome://tracing colours (analyzer/out/palette.h)
CATS = {"compute": "rail_response", "dataloader_wait": "cq_build_failed", "io_wait": "good",
        "gpu_wait": "cq_build_attempt_runnig", "cpu_contention": "thread_state_runnable",
        "lock_wait": "detailed_memory_dump", "other_wait": "cq_build_abandoned",
        "collective_wait": "rail_idle"}
STATE_TID = 2**30
errors = []


def err(msg):
    if len(errors) < 50:
        print("FAIL " + msg)
    errors.append(msg)


def ns(v):
    return int(Decimal(v) * 1000)


def no_arrays(obj, where):
    if isinstance(obj, list):
        err("%s: holds an array" % where)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            no_arrays(v, where)


def check_lines(text):
    body = text[text.index("[") + 1:text.rindex("]")]
    n = 0
    for line in body.split("\n"):
        line = line.strip().rstrip(",")
        if not line:
            continue
        n += 1
        if not re.match(r'\{"ph":"."', line):
            err("event does not start with ph: %.80s" % line)
        elif line[7] != "M" and not line.startswith('{"ph":"%s","ts":' % line[7]):
            err("event has no ts right after ph: %.80s" % line)
    return n


def check_event(e, i):
    ph = e.get("ph")
    where = "event %d (%s %s)" % (i, ph, e.get("name"))
    for k in ("pid", "tid"):
        if not isinstance(e.get(k), int) or not 0 <= e[k] < 2**31:
            err("%s: bad %s %r" % (where, k, e.get(k)))
    if ph != "M" and not isinstance(e.get("ts"), (Decimal, int)):
        err("%s: no ts" % where)
    if ph == "X" and (not isinstance(e.get("dur"), (Decimal, int)) or e["dur"] < 0):
        err("%s: bad dur %r" % (where, e.get("dur")))
    if ph in "XisfC" and not isinstance(e.get("name"), str):
        err("%s: no name" % where)
    if ph == "i" and e.get("s") not in ("t", "p", "g"):
        err("%s: instant without a scope" % where)
    if ph == "C":
        a = e.get("args")
        if not isinstance(a, dict) or not a or not all(isinstance(v, (Decimal, int)) for v in a.values()):
            err("%s: counter args not numeric" % where)
    if e.get("cat") == "state":
        if e.get("name") not in CATS or e.get("cname") != CATS[e.get("name")]:
            err("%s: not a category with its colour" % where)
        if e.get("args", {}).get("state") not in STATES:
            err("%s: unknown state %r" % (where, e.get("args", {}).get("state")))
    no_arrays(e, where)


def check_nesting(tracks):
    bad = 0
    for key, iv in tracks.items():
        iv.sort(key=lambda x: (x[0], -x[1]))
        stack = []
        for s, e, name in iv:
            while stack and stack[-1][1] <= s and not (stack[-1][1] == s and stack[-1][0] == s == e):
                stack.pop()
            if stack and e > stack[-1][1]:
                bad += 1
                if bad <= 5:
                    err("track %s: %s [%d, %d] overlaps %s [%d, %d] partially"
                        % (key, name, s, e, stack[-1][2], stack[-1][0], stack[-1][1]))
            stack.append((s, e, name))
    return bad


def check_flows(flows, tracks):
    for fid, ends in flows.items():
        s = [e for e in ends if e["ph"] == "s"]
        f = [e for e in ends if e["ph"] == "f"]
        if len(s) != 1 or len(f) != 1:
            err("flow %s: %d starts, %d ends" % (fid, len(s), len(f)))
            continue
        s, f = s[0], f[0]
        if (s.get("cat"), s.get("name")) != (f.get("cat"), f.get("name")):
            err("flow %s: cat/name differ between s and f" % fid)
        ts, tf = ns(s["ts"]), ns(f["ts"])
        if tf < ts:
            err("flow %s: ends before it starts" % fid)
        ks, kf = (s["pid"], s["tid"]), (f["pid"], f["tid"])
        if not any(a <= ts <= b for a, b, _ in tracks.get(ks, [])):
            err("flow %s: no slice encloses its start on %s" % (fid, ks))
        if f.get("bp") != "e":
            err("flow %s: its end does not bind to the enclosing slice" % fid)
        elif not any(a <= tf < b for a, b, _ in tracks.get(kf, [])):
            err("flow %s: no slice encloses its end on %s" % (fid, kf))


def overlap(a, b, lo, hi):
    return max(0, min(b, hi) - max(a, lo))


def check_report(doc, report):
    """The timeline against the report of the same run (see the docstring)."""
    evs = doc["traceEvents"]
    t0 = doc["otherData"]["trace_start_monotonic_ns"]
    lo, hi = (ns(Decimal(x) * 1000000) for x in doc["otherData"]["window_s"].split(":"))
    states = collections.defaultdict(list)
    for e in evs:
        if e.get("ph") == "X" and e.get("cat") == "state":
            s = ns(e["ts"])
            states[e["tid"] - STATE_TID].append((s, s + ns(e["dur"]), e["name"], e.get("args", {})))
    for v in states.values():
        v.sort()
    checked = 0
    for tr in report.get("trainers") or [report]:
        tid, w = tr["main"]["tid"], tr["window"]
        ws, we = w["start_ns"] - t0, w["end_ns"] - t0
        if not tid or ws < lo or we > hi or ws >= we:
            continue
        checked += 1
        got = collections.Counter()
        for a, b, cat, _ in states.get(tid, []):
            got[cat] += overlap(a, b, ws, we)
        for cat, sec in tr["breakdown_s"].items():
            want = round(Decimal(str(sec)) * 1000000000)
            if abs(got[cat] - want) > 1000000:
                err("main thread %d: %s slices in the window add up to %.6f s, the report "
                    "says %.6f s" % (tid, cat, got[cat] / 1e9, want / 1e9))
        check_stalls(evs, tr, states.get(tid, []), t0, lo, hi)
    check_wakers(evs, states)
    return checked


def check_stalls(evs, tr, main, t0, lo, hi):
    tid, pid = tr["main"]["tid"], tr["main"]["pid"]
    names = {e["tid"]: e["args"]["name"] for e in evs if e.get("ph") == "M" and e["name"] == "thread_name"}
    got = sorted((ns(e["ts"]), ns(e["dur"]), e["args"]["cause"]) for e in evs
                 if e.get("ph") == "X" and e.get("cat") == "stall" and
                 names.get(e["tid"], "").endswith(" %d" % pid))
    want = sorted((s["start_ns"] - t0, round(Decimal(str(s["dur_ms"])) * 1000000), s["cause"])
                  for s in tr["stalls"] if s["start_ns"] - t0 >= lo and
                  s["start_ns"] - t0 + s["dur_ms"] * 1e6 <= hi)
    if len(got) != len(want) or any(g[0] != w[0] or abs(g[1] - w[1]) > 1000 or g[2] != w[2]
                                     for g, w in zip(got, want)):
        err("trainer %d: the stalls track %s is not the report's %s" % (pid, got[:3], want[:3]))
    states = {e["tid"] - STATE_TID for e in evs if e.get("cat") == "state"}
    flows_in = flows_into(evs, tid)
    for s in tr["stalls"]:
        a = s["start_ns"] - t0
        b = a + round(Decimal(str(s["dur_ms"])) * 1000000)
        if a < lo or b > hi:
            continue
        for x, y, cat, _ in main:
            if overlap(x, y, a, b) and cat not in (s["cause"], "compute"):
                err("stall at %d ns (%s): the main thread is in %s at %d ns" % (a, s["cause"], cat, x))
                break
        waker = s["chain"][0]["tid"] if s["chain"] else None
        if waker in states and not any(src == waker and a <= ts <= b for src, ts in flows_in):
            err("stall at %d ns: no wakeup arrow from its waker %d" % (a, waker))


def flows_into(evs, tid):
    """(waker tid, ts) of every arrow that ends on tid's state track."""
    src = {e["id"]: e["tid"] - STATE_TID for e in evs if e.get("ph") == "s"}
    return [(src.get(e["id"]), ns(e["ts"])) for e in evs
            if e.get("ph") == "f" and e["tid"] == tid + STATE_TID]


def check_wakers(evs, states):
    """Each arrow comes from the waker that the slice it ends on names."""
    src = {e["id"]: e["tid"] - STATE_TID for e in evs if e.get("ph") == "s"}
    for e in evs:
        if e.get("ph") != "f":
            continue
        ts, wakee = ns(e["ts"]), e["tid"] - STATE_TID
        # the wait that ended at ts, or its runnable part that starts there
        who = [x[3].get("woken_by", "") for x in states.get(wakee, []) if ts in (x[0], x[1])]
        tids = {int(m.group(1)) for m in (re.search(r"\((\d+)\)$", w) for w in who) if m}
        if src.get(e["id"]) not in tids:
            err("flow %s: from %s, but the wakee's wait says woken by %r" % (e["id"], src.get(e["id"]), who))


def main():
    args = sys.argv[1:]
    path, window, summary, report = args[0], None, None, None
    for i, a in enumerate(args):
        if a == "--window":
            lo, hi = args[i + 1].split(":")
            window = (ns(Decimal(lo) * 1000000), ns(Decimal(hi) * 1000000))
        if a == "--summary":
            summary = args[i + 1]
        if a == "--report":
            report = json.load(open(args[i + 1]))
    text = open(path, encoding="utf-8").read()
    try:
        doc = json.loads(text, parse_float=Decimal)
    except ValueError as e:
        print("FAIL does not parse as JSON: %s" % e)
        return 1
    if not text.startswith('{"traceEvents":[') or not isinstance(doc.get("otherData"), dict):
        err("not {\"traceEvents\":[...], \"otherData\":{...}}")
    evs = doc.get("traceEvents", [])
    if check_lines(text) != len(evs):
        err("not one event per line")
    tracks = collections.defaultdict(list)
    flows = collections.defaultdict(list)
    pnames, tnames = {}, {}
    used_p, used_t = set(), set()
    cats = collections.Counter()
    counters = set()
    steps = stalls = verdicts = 0
    lo = hi = None
    for i, e in enumerate(evs):
        check_event(e, i)
        ph, key = e.get("ph"), (e.get("pid"), e.get("tid"))
        if ph == "M":
            if e.get("name") == "process_name":
                pnames[e["pid"]] = e["args"]["name"]
            elif e.get("name") == "thread_name":
                tnames[key] = e["args"]["name"]
            continue
        t = ns(e["ts"])
        end = t + (ns(e["dur"]) if ph == "X" else 0)
        lo = t if lo is None else min(lo, t)
        hi = end if hi is None else max(hi, end)
        if window and (t < window[0] or end > window[1]):
            err("event %d (%s %s) at [%d, %d] is outside the window" % (i, ph, e.get("name"), t, end))
        used_p.add(e.get("pid"))
        if ph == "C":
            counters.add("%s %s" % (e["name"], " ".join(e["args"])))
            continue
        if ph == "X" or (ph == "i" and e.get("s") == "t"):
            tracks[key].append((t, end, e.get("name")))
            used_t.add(key)
            cats[e.get("cat")] += 1
            steps += e.get("cat") == "step" and e["name"].startswith("step")
            stalls += e.get("cat") == "stall"
            verdicts += e.get("cat") == "verdict"
        if ph in "sf":
            flows[e.get("id")].append(e)
            used_t.add(key)
    for p in sorted(used_p - set(pnames)):
        err("pid %s has events but no process_name" % p)
    for k in sorted(used_t - set(tnames)):
        err("track %s has events but no thread_name" % (k,))
    overlaps = check_nesting(tracks)
    check_flows(flows, tracks)
    agreed = check_report(doc, report) if report and not errors else None
    if report and agreed == 0:
        err("no trainer's analysis window lies in the export: nothing to compare")
    out = {
        "events": len(evs), "bytes": len(text.encode()), "slices": dict(cats),
        "flows": len(flows), "tracks": len(tracks), "overlaps": overlaps,
        "steps": steps, "stalls": stalls, "verdicts": verdicts, "trainers_agreed": agreed,
        "process_names": sorted(set(pnames.values())),
        "thread_names": sorted(set(tnames.values())),
        "counters": sorted(counters), "first_ns": lo, "last_ns": hi,
        "other": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in doc.get("otherData", {}).items()},
    }
    if summary:
        with open(summary, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    print("%s: %d events, %d slices, %d flows, %d tracks%s, %d problems"
          % (path, len(evs), sum(cats.values()), len(flows), len(tracks),
             ", agrees with the report on %d trainer(s)" % agreed if agreed else "", len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
