#!/usr/bin/env python3
"""check_json.py EXPECT_FILE JSON_FILE: checks `#expect PATH VALUE` lines.

PATH is dotted (trainers.1.main.tid), VALUE a number (equal within 1e-9, or within
TOL with `~VALUE/TOL`), a string ("1" in quotes: the string, not the number),
true/false/null, or `len=N` for a list's length.
Prints one line per check; exits 1 when any fails.
"""
import json
import sys


def lookup(doc, path):
    cur = doc
    for part in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(part)]
        else:
            cur = cur[part]
    return cur


def matches(got, want):
    if want.startswith("len="):
        return isinstance(got, list) and len(got) == int(want[4:])
    if want in ("true", "false", "null") or (len(want) > 1 and want[0] == want[-1] == '"'):
        return got == json.loads(want)  # ("1": the string, not the number)
    tol = 1e-9
    if want.startswith("~"):
        want, tol = want[1:].split("/")
        tol = float(tol)
    try:
        w = float(want)
    except ValueError:
        return got == want
    return isinstance(got, (int, float)) and not isinstance(got, bool) and abs(got - w) <= tol


def main():
    exp, js = sys.argv[1], sys.argv[2]
    with open(js) as f:
        doc = json.load(f)
    fails = 0
    for line in open(exp):
        if not line.startswith("#expect "):
            continue
        _, path, want = line.split(None, 2)
        want = want.strip()
        try:
            got = lookup(doc, path)
        except (KeyError, IndexError, ValueError, TypeError):
            got = "<missing>"
        ok = matches(got, want)
        fails += not ok
        print("%s %s = %s%s" % ("ok  " if ok else "FAIL", path, json.dumps(got),
                                 "" if ok else " (want %s)" % want))
    sys.exit(1 if fails else 0)


main()
