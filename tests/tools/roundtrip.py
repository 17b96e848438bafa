#!/usr/bin/env python3
"""roundtrip.py DUMP.jsonl OUT.txt: writes an stgen description that rebuilds every
record of a --dump whose type the format library's table describes, with stgen's
generic `record NAME field=...` directive and the field names --dump printed.  The
test then dumps the rebuilt trace: the table must give back the same lines, so the
reader, --dump and stgen agree on every such type without code of their own."""
import json
import sys

OWN_CODE = {"header", "syscall", "env", "drops", "trailer"}   # not table-driven
DERIVED = {"type", "ts", "end", "next_pid"}


def quote(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, str):
        return '"' + "".join(c if c.isalnum() or c in "._:/-" else "\\x%02x" % ord(c)
                             for c in v) + '"'
    return str(v)


def main():
    ev = [json.loads(l) for l in open(sys.argv[1])]
    out = []
    h = ev[0]
    keys = ("version", "ncpus", "realtime_offset", "boottime_offset", "clock_id", "page_size",
            "event_mask")
    out.append("header start=%d target_pid=%d %s %s" % (
        h["ts"], h["pid"], " ".join("%s=%s" % (k, h[k]) for k in keys),
        " ".join("%s=%s" % (k, quote(v)) for k, v in h.items()
                 if isinstance(v, str) and k != "type")))
    last = h["ts"]
    for e in ev[1:]:
        if e["type"] in OWN_CODE:
            continue
        ts = e.get("end", e["ts"])
        last = max(last, ts)
        fields = " ".join("%s=%s" % (k, quote(v)) for k, v in e.items() if k not in DERIVED)
        out.append("record %s ts=%d %s" % (e["type"], ts, fields))
    out.append("trailer ts=%d" % last)
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
