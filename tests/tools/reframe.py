#!/usr/bin/env python3
"""reframe.py RAW OUT SEED [MAX]: another valid zstd framing of a record stream.

RAW is a decompressed trace (zstd -d).  OUT gets it cut at random byte offsets
(seeded, 1..MAX bytes a frame, default 97) into zstd frames, so records and even
record headers span frames; frames alternate between stating their content size and
not, and skippable frames (empty and not) and an empty data frame are put between
them.  A reader must read OUT exactly as RAW (docs/trace-format.md, other framings).
"""
import random
import struct
import subprocess
import sys


def frame(data, sized):
    args = ["zstd", "-q", "-c", "--content-size" if sized else "--no-content-size"]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def skippable(n, payload):
    return struct.pack("<II", 0x184D2A50 + (n & 15), len(payload)) + payload


def main():
    raw = open(sys.argv[1], "rb").read()
    rng = random.Random(int(sys.argv[3]))
    most = int(sys.argv[4]) if len(sys.argv) > 4 else 97
    out, pos, n = [], 0, 0
    while pos < len(raw):
        k = rng.randint(1, most)
        out.append(frame(raw[pos:pos + k], n % 2 == 0))
        if n % 3 == 0:
            out.append(skippable(n, b"" if n % 2 else b"stalltrace test"))
        if n == 5:
            out.append(frame(b"", True))
        pos += k
        n += 1
    open(sys.argv[2], "wb").write(b"".join(out))
    print(n)


main()
