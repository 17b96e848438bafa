#!/usr/bin/env python3
"""check_perfetto.py FILE [--window FROM:TO] [--summary OUT.json]

Validates an `analyze --perfetto` export (Chrome JSON trace event format) the way a
viewer would read it, and prints one line per problem:
  - the document parses; events are one per line, each starting with "ph" then "ts"
    (Perfetto's tokenizer looks for "ts" before any array), no arrays anywhere;
  - every X has ts, dur >= 0, pid, tid (32-bit) and a name; instants have a scope;
  - slices nest properly on every (pid, tid) track: children inside parents, never a
    partial overlap (X and thread-scoped instants, in exact integer ns);
  - every flow "s" has exactly one "f" with the same id, cat and name, not earlier;
    the "s" lies inside a slice of its track, the "f" has a slice starting at or
    after it on its track (what Perfetto binds them to);
  - every pid has a process_name, every (pid, tid) with events a thread_name;
  - state slices have known names; counters have numeric args;
  - with --window, nothing lies outside it (seconds from the trace start).
With --summary, writes counts (slices per category, flows, names, steps, ...) for the
caller's own checks.  Exit status 0 when valid, 1 otherwise.
"""
import collections
import json
import re
import sys
from decimal import Decimal

STATES = {"Running", "Runnable", "Runnable (preempted)", "Sleeping", "Uninterruptible (D)",
          "Idle (I)", "Stopped", "Sleeping (other)"}
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
    if e.get("cat") == "state" and e.get("name") not in STATES:
        err("%s: unknown state name" % where)
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
    starts = {k: sorted(x[0] for x in v) for k, v in tracks.items()}
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
        if not any(a >= tf for a in starts.get(kf, [])):
            err("flow %s: no slice starts at or after its end on %s" % (fid, kf))


def main():
    args = sys.argv[1:]
    path, window, summary = args[0], None, None
    for i, a in enumerate(args):
        if a == "--window":
            lo, hi = args[i + 1].split(":")
            window = (ns(Decimal(lo) * 1000000), ns(Decimal(hi) * 1000000))
        if a == "--summary":
            summary = args[i + 1]
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
    out = {
        "events": len(evs), "bytes": len(text.encode()), "slices": dict(cats),
        "flows": len(flows), "tracks": len(tracks), "overlaps": overlaps,
        "steps": steps, "stalls": stalls, "verdicts": verdicts,
        "process_names": sorted(set(pnames.values())),
        "thread_names": sorted(set(tnames.values())),
        "counters": sorted(counters), "first_ns": lo, "last_ns": hi,
        "other": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in doc.get("otherData", {}).items()},
    }
    if summary:
        with open(summary, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
    print("%s: %d events, %d slices, %d flows, %d tracks, %d problems"
          % (path, len(evs), sum(cats.values()), len(flows), len(tracks), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
