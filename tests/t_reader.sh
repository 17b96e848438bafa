#!/usr/bin/env bash
# The trace library without BPF: writer/reader/dump round trip against a golden
# file, one-line errors and exit codes for bad input (golden messages), truncated
# traces read up to their last complete frame.
. "$(dirname "$0")/lib.sh"
G=tests/golden/reader
STGEN=$BUILD/tests/stgen

# expect NAME FILE EXIT MESSAGE: dump FILE exits EXIT with exactly MESSAGE on stderr
expect()
{
	local name=$1 file=$2 want_rc=$3 want_msg=$4 rc
	"$ANALYZE" --dump "$file" >"$TMP/out.jsonl" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$name: exit $rc, want $want_rc ($(cat "$TMP/err"))"
	elif [ "$(cat "$TMP/err")" != "$want_msg" ]; then
		fail "$name: stderr '$(cat "$TMP/err")', want '$want_msg'"
	else
		ok "$name"
	fi
}

"$STGEN" $G/all.txt "$TMP/all.zst"
check "round trip: every record type dumps exactly as the golden file" \
	cmp -s <("$ANALYZE" --dump "$TMP/all.zst" 2>&1) $G/all.jsonl
# every record type of the library's table: stgen writes it by --dump's own field names
# (its generic `record` directive), the reader decodes it and --dump prints it back the same
"$PY" tests/tools/roundtrip.py $G/all.jsonl "$TMP/rt.txt" && "$STGEN" "$TMP/rt.txt" "$TMP/rt.zst"
check "the record table round trip: stgen -> reader -> --dump gives every table-described line back" \
	"$PY" - $G/all.jsonl <("$ANALYZE" --dump "$TMP/rt.zst" 2>&1) <<'PY'
import json, sys
own = {"header", "syscall", "env", "drops", "trailer"}
want, got = ([l for l in open(p) if json.loads(l)["type"] not in own] for p in sys.argv[1:3])
types = {json.loads(l)["type"] for l in want}
sys.exit(0 if want == got and len(types) >= 13 else 1)
PY
check "the unknown record type (60) is skipped, not shown" sh -c "! grep -q '\"type\":\"60\"' $G/all.jsonl"
check "zstd -t accepts a trace" zstd -q -t "$TMP/all.zst"
check "each frame is independent: zstd -d of the whole file works" sh -c "zstd -q -d -c '$TMP/all.zst' >/dev/null"

: >"$TMP/empty.zst"
expect "empty file" "$TMP/empty.zst" 1 "analyze: $TMP/empty.zst: empty file (0 bytes)"
expect "missing file" "$TMP/nope.zst" 1 "analyze: $TMP/nope.zst: cannot open: No such file or directory"
expect "a directory" "$TMP" 1 "analyze: $TMP: is a directory"
head -c 4096 /dev/urandom | sed 's/^\(.\)/x/' >"$TMP/garbage.zst"
printf 'not a trace at all\n' >"$TMP/text.zst"
expect "not zstd" "$TMP/text.zst" 1 "analyze: $TMP/text.zst: not a zstd file (bad magic)"
printf 'hello, this is zstd but not a trace\n' | zstd -q -c >"$TMP/plain.zst"
expect "zstd, not a trace" "$TMP/plain.zst" 1 "analyze: $TMP/plain.zst: not a stalltrace trace (no header record)"
"$STGEN" $G/v2.txt "$TMP/v2.zst"
expect "newer format version" "$TMP/v2.zst" 1 "analyze: $TMP/v2.zst: trace format version 2, this reader knows 1"

# no trailer: both frames read, then the reason, exit 3
"$STGEN" $G/twoframes.txt "$TMP/two.zst"
expect "no trailer" "$TMP/two.zst" 3 "analyze: $TMP/two.zst: no trailer: the tracer did not finish (killed?); read up to its last complete frame"
check "  ...every record of both frames is there" test "$(grep -c '"type":"syscall"' "$TMP/out.jsonl")" -eq 200

# cut inside the second frame: the first frame's 100 records, exit 3
first=$(zstd -q -d -c "$TMP/two.zst" >/dev/null; "$PY" - "$TMP/two.zst" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
# frame boundaries: find the second zstd magic (28 b5 2f fd)
print(d.find(b'\x28\xb5\x2f\xfd', 4))
PY
)
head -c $((first + 20)) "$TMP/two.zst" >"$TMP/cut.zst"
expect "cut inside a frame" "$TMP/cut.zst" 3 "analyze: $TMP/cut.zst: file cut inside frame 2 at byte $first: the tracer did not finish (killed?); read up to its last complete frame"
check "  ...the first frame's 100 records are read" test "$(grep -c '"type":"syscall"' "$TMP/out.jsonl")" -eq 100
head -c 10 "$TMP/two.zst" >"$TMP/cut10.zst"
expect "cut inside the first frame" "$TMP/cut10.zst" 1 "analyze: $TMP/cut10.zst: file cut inside its first frame: nothing complete to read (the tracer stopped before its first flush?)"

# one flipped byte inside the second frame: its checksum catches it
cp "$TMP/two.zst" "$TMP/flip.zst"
size=$(stat -c %s "$TMP/flip.zst")
off=$(( (first + size) / 2 ))
printf '\x55' | dd of="$TMP/flip.zst" bs=1 seek=$off conv=notrunc status=none
"$ANALYZE" --dump "$TMP/flip.zst" >"$TMP/out.jsonl" 2>"$TMP/err"
check "damaged frame: exit 3" test $? -eq 3
check "  ...says where" grep -q "^analyze: $TMP/flip.zst: frame at byte $first does not decode: " "$TMP/err"
check "  ...records before the damage are read" test "$(grep -c '"type":"syscall"' "$TMP/out.jsonl")" -eq 100

# a short fd identity (ST_SC2_FD_SHORT) whose full identity is not in its frame
"$STGEN" $G/shortfd.txt "$TMP/shortfd.zst"
"$ANALYZE" --dump "$TMP/shortfd.zst" >"$TMP/out.jsonl" 2>"$TMP/err"
check "short fd without its identity in the frame: exit 3" test $? -eq 3
check "  ...said" grep -q "short fd 3 without its identity earlier in the frame" "$TMP/err"
check "  ...the record before it (previous frame) is read" grep -q '"name":"read"' "$TMP/out.jsonl"
"$ANALYZE" --dump "$TMP/two.zst" >"$TMP/out.jsonl"
check "repeated fds are read back whole (identity restored)" sh -c "test \$(grep -c '\"fd\":3,\"fd_kind\":\"pipe\"' '$TMP/out.jsonl') -eq 100 && test \$(grep -c '\"fd\":4,\"fd_kind\":\"pipe\"' '$TMP/out.jsonl') -eq 100"
check "  ...and written compact (narrow base, short fd): under 48 bytes a record" \
	test "$(zstd -q -d -c "$TMP/two.zst" | wc -c)" -lt $((200 * 48 + 400))

# an ENV record whose last pair is not NUL-terminated: corrupt, said, what came before kept
printf 'header start=1s\nenv ts=1.1s pid=5 RANK=0\nraw ts=1.2s type=26 hex=0500000000000000524b3d31\ntrailer ts=2s\n' |
	"$STGEN" -f - "$TMP/badenv.zst"
"$ANALYZE" --dump "$TMP/badenv.zst" >"$TMP/out.jsonl" 2>"$TMP/err"
check "env pairs without their NUL: exit 3" test $? -eq 3
check "  ...said" grep -q "unterminated string" "$TMP/err"
check "  ...the env record before it is read" grep -q '"env":{"RANK":"0"}' "$TMP/out.jsonl"

# data after the trailer (two traces concatenated)
cat "$TMP/all.zst" "$TMP/all.zst" >"$TMP/cat.zst"
"$ANALYZE" --dump "$TMP/cat.zst" >/dev/null 2>"$TMP/err"
check "data after the trailer: exit 3 and said" sh -c "test $? -eq 3 && grep -q 'data after the trailer' '$TMP/err'"

# a record whose size overruns its frame (raw stream, recompressed)
"$PY" - "$TMP/all.zst" "$TMP/badsize.zst" <<'PY'
import subprocess, sys
raw = subprocess.run(['zstd', '-q', '-d', '-c', sys.argv[1]], capture_output=True).stdout
# the header record's size field is at bytes 2..3: make it larger than the frame
bad = raw[:2] + (0xfff0).to_bytes(2, 'little') + raw[4:]
open(sys.argv[2], 'wb').write(subprocess.run(['zstd', '-q', '-c'], input=bad, capture_output=True).stdout)
PY
expect "record size overruns the frame" "$TMP/badsize.zst" 1 "analyze: $TMP/badsize.zst: not a stalltrace trace (no header record)"

# --- other valid framings (docs/trace-format.md): skippable frames are skipped, records
# and record headers may span frames, frames may leave out their size
printf 'P*M\030\0\0\0\0' >"$TMP/skip8.zst"
timeout 20 "$ANALYZE" --dump "$TMP/skip8.zst" >/dev/null 2>"$TMP/err"
rc=$?
check "a lone empty skippable frame: exit 1 at once (it hung), said in one line" \
	test "$rc" -eq 1 -a "$(cat "$TMP/err")" = "analyze: $TMP/skip8.zst: not a stalltrace trace (no zstd frame with data)"
printf 'P*M\030\5\0\0\0abc' >"$TMP/skipcut.zst"
timeout 20 "$ANALYZE" --dump "$TMP/skipcut.zst" >/dev/null 2>&1
check "a skippable frame cut short: exit 1" test $? -eq 1
(printf 'P*M\030\0\0\0\0'; cat "$TMP/all.zst"; printf '^*M\030\3\0\0\0xyz') >"$TMP/skips.zst"
check "skippable frames before and after the trace: read as the trace" \
	cmp -s <(timeout 20 "$ANALYZE" --dump "$TMP/skips.zst" 2>&1) $G/all.jsonl
zstd -q -d -c "$TMP/all.zst" >"$TMP/all.raw"
zstd -q -d -c "$TMP/two.zst" >"$TMP/two.raw"
for seed in 1 2 3; do
	"$PY" tests/tools/reframe.py "$TMP/all.raw" "$TMP/rf.zst" $seed >/dev/null
	check "re-framed at random offsets (seed $seed): every record as before" \
		cmp -s <("$ANALYZE" --dump "$TMP/rf.zst" 2>&1) $G/all.jsonl
done
# 1..13 bytes a frame: most record headers are split; short fd identities are per
# writer frame (its TIME marks), whatever the zstd framing
"$PY" tests/tools/reframe.py "$TMP/two.raw" "$TMP/rf2.zst" 4 13 >/dev/null
"$ANALYZE" --dump "$TMP/two.zst" >"$TMP/two.jsonl" 2>/dev/null
"$ANALYZE" --dump "$TMP/rf2.zst" >"$TMP/rf2.jsonl" 2>"$TMP/err"
check "two writer frames in 1..13-byte zstd frames: the same records, fd identities restored" \
	sh -c "cmp -s '$TMP/two.jsonl' '$TMP/rf2.jsonl' && test \$(grep -c '\"fd\":4,\"fd_kind\":\"pipe\"' '$TMP/rf2.jsonl') -eq 100"
check "  ...and still no trailer, said" grep -q "no trailer" "$TMP/err"
# pzstd (Debian's zstd package): independent frames of a fixed input size, each after
# a skippable frame holding its compressed size
"$STGEN" --bench 300000 "$TMP/bench.zst"
zstd -q -d -c "$TMP/bench.zst" | pzstd -1 -p 2 -q -c >"$TMP/bench.pz"
check "pzstd output: several frames (records span them)" test "$("$PY" -c '
import sys; print(open(sys.argv[1], "rb").read().count(bytes.fromhex("28b52ffd")))' "$TMP/bench.pz")" -gt 2
check "pzstd output: every record read as from the tracer's framing" \
	cmp -s <("$ANALYZE" --dump "$TMP/bench.pz" 2>&1 | md5sum) <("$ANALYZE" --dump "$TMP/bench.zst" 2>&1 | md5sum)
# a record cut at the end of the stream (a re-framed trace cut between frames)
printf 'header start=1s\nsyscall ts=1.001s tid=5 name=read ret=0 dur=0\n' >"$TMP/midrec.txt"
"$STGEN" -f "$TMP/midrec.txt" "$TMP/midrec.full"
zstd -q -d -c "$TMP/midrec.full" | head -c 101 | zstd -q -c >"$TMP/midrec.zst"
expect "the stream ends inside a record" "$TMP/midrec.zst" 3 "analyze: $TMP/midrec.zst: the stream ends inside a record at offset 80 (21 of its bytes are there): read up to the record before it"
# a record whose time would pass 2^64 ns (dt after a TIME record near the end)
printf 'header start=1s\nraw ts=1s type=2 hex=00ffffffffffffff\nsyscall ts=1.001s tid=5 name=read ret=0 dur=0\ntrailer ts=1.002s\n' >"$TMP/wrap.txt"
"$STGEN" -f "$TMP/wrap.txt" "$TMP/wrap.zst"
expect "a record time past 2^64 ns is corruption" "$TMP/wrap.zst" 3 "analyze: $TMP/wrap.zst: record at offset 96: its time passes 2^64 ns"

# the reader's two ways, frames decompressed ahead by a second thread or as they are
# read: the same records, the same end and message (records spanning 1..13-byte
# frames, pzstd's framing, a stream cut inside a record)
for f in bench.zst rf2.zst bench.pz midrec.zst wrap.zst; do
	check "$f: the same dump with and without the reader's thread" \
		cmp -s <(ST_READER_THREAD=1 "$ANALYZE" --dump "$TMP/$f" 2>&1; echo "exit $?") \
		<(ST_READER_THREAD=0 "$ANALYZE" --dump "$TMP/$f" 2>&1; echo "exit $?")
done

# --- a disk that fills: the trailer always fits.  The writer keeps ST_WRITER_RESERVE
# allocated past the end of the file, and a frame goes out only with a whole reserve
# after it.  It used to write a frame that fit the disk even where that left no room
# after it; the trailer, a frame of its own, then did not fit when it crossed into a
# page the disk no longer had (under load t_tracer's disk-full test lost its trailer
# once).  64 traces of one 600 KB frame of incompressible records, its size stepped
# by 64 bytes across a 4 KiB page, each written to a tmpfs one page smaller than the
# whole trace needs (the data frame fits there, the trailer not always: a trailer
# saying the disk was full), and to one that much larger than the reserve (the data
# frame and a whole reserve may fit exactly, and the trailer then goes into the
# reserve, which it is for: a trailer).
if [ "$(id -u)" -eq 0 ] && mkdir -p "$TMP/fill" && mount -t tmpfs -o size=1m tmpfs "$TMP/fill" 2>/dev/null; then
	umount "$TMP/fill"
	bad="" full=0
	for pad in $(seq 64 64 4096); do
		"$PY" - "$TMP/fill.txt" "$pad" <<'PY'
import random, sys
rng = random.Random(11)
with open(sys.argv[1], "w") as f:
    f.write("header start=1s\n")
    for i in range(300):
        f.write("raw ts=+%dus type=60 flags=0 hex=%s\n" % (10 * i, rng.randbytes(2000).hex()))
    f.write("raw ts=+4ms type=60 flags=0 hex=%s\n" % rng.randbytes(int(sys.argv[2])).hex())
    f.write("trailer ts=+8ms\n")
PY
		"$STGEN" -f "$TMP/fill.txt" "$TMP/roomy.zst" || { bad="$bad $pad:stgen"; continue; }
		pages=$(( ($(stat -c %s "$TMP/roomy.zst") + 4095) / 4096 - 1 ))
		for kb in $((pages * 4)) $((pages * 4 + 256)); do
			mount -t tmpfs -o size=${kb}k tmpfs "$TMP/fill" || { bad="$bad $pad/${kb}k:mount"; continue; }
			if ! "$STGEN" -f "$TMP/fill.txt" "$TMP/fill/t.zst" 2>"$TMP/fill.err"; then
				bad="$bad $pad/${kb}k:$(tr '\n' ' ' <"$TMP/fill.err")"
			elif ! "$ANALYZE" --dump "$TMP/fill/t.zst" 2>/dev/null | tail -n 1 | grep -q '"type":"trailer"'; then
				bad="$bad $pad/${kb}k:no-trailer"
			elif [ "$kb" -eq $((pages * 4)) ] && "$ANALYZE" --dump "$TMP/fill/t.zst" 2>/dev/null |
				tail -n 1 | grep -q '"disk_full":true'; then
				full=$((full + 1))
			fi
			umount "$TMP/fill"
		done
	done
	check "a disk that fills: a trailer at each of 128 sizes, saying the disk was full where the trace could not fit (failed:${bad:- none}; full $full of 64)" \
		test -z "$bad" -a "$full" -eq 64
else
	echo "SKIPPED (said loudly): the disk-full sizes need root to mount a tmpfs"
fi

# fuzzing: tests/t_fuzz.sh (the reader, the whole analysis, the JSON reader)
finish
