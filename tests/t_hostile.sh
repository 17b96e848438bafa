#!/usr/bin/env bash
# Hostile and unlucky input to `analyze` (issue 12), no BPF needed: traces built with
# stgen (tests/hostile/*.txt) whose clocks run near 2^64 or jump, 100,000 processes,
# every output of each (text, JSON, charts and page, Perfetto) under a generous
# `timeout`: a hang or a crash fails, the time it takes is not measured here (`make
# bench` does that).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
STGEN=$BUILD/tests/stgen
H=tests/hostile
[ -x "$ANALYZE" ] && [ -x "$STGEN" ] || { echo "FAIL: build first (make)"; exit 1; }

# json_is NAME JSON PYEXPR: the Python expression over `d` (the document) is true
json_is()
{
	local name=$1 js=$2 expr=$3
	check "$name" "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$js"
}

# every_output NAME ZST [SECS]: text, JSON, -o DIR (charts and page) and Perfetto, each
# within SECS (default 60); exit 0, or 1 with one line on stderr
every_output()
{
	local name=$1 zst=$2 secs=${3:-60} rc
	timeout "$secs" "$ANALYZE" --json "$TMP/$name.json" -o "$TMP/$name.out" \
		--perfetto "$TMP/$name.pf.json" "$zst" >"$TMP/$name.txt" 2>"$TMP/$name.err"
	rc=$?
	if [ $rc -eq 124 ]; then
		fail "$name: analyze did not finish in $secs s"
		return 1
	elif [ $rc -ne 0 ]; then
		fail "$name: analyze exit $rc: $(head -c 300 "$TMP/$name.err")"
		return 1
	fi
	ok "$name: every output, exit 0"
}

gen()	# gen NAME: tests/hostile/NAME.txt -> $TMP/NAME.zst
{
	"$STGEN" -f "$H/$1.txt" "$TMP/$1.zst" || fail "$1: stgen failed"
}

# --- clocks near 2^64 (item 3): the timeline buckets wrapped and looped forever
gen time_jump
if every_output time_jump "$TMP/time_jump.zst"; then
	json_is "time_jump: the steps before and after the jump are found" "$TMP/time_jump.json" \
		'd["steps"]["count"] == 11 and d["trace"]["complete"] is True'
fi
gen time_wrap
if every_output time_wrap "$TMP/time_wrap.zst"; then
	json_is "time_wrap: records going back in time are said on top" "$TMP/time_wrap.json" \
		'any("older than records before them" in w for w in d["trace"]["warnings"])'
	check "  ...of the text report too" grep -q '^WARNING: .* older than records before them' \
		"$TMP/time_wrap.txt"
fi

# --- 100,000 processes (item 4): finding the trainers, linking orphans and walking the
# process tree were quadratic
for t in procs_100k chain_100k orphans_100k; do
	gen $t
	if every_output $t "$TMP/$t.zst" 120; then
		json_is "$t: 100000 processes counted" "$TMP/$t.json" 'd["trace"]["processes"] == 100000'
	fi
done
# segments held for GPU sync probes, and 200,000 syscalls each covering all of them:
# each walked every held segment (quadratic: minutes for 1 KB of trace)
gen held_segments
if every_output held_segments "$TMP/held_segments.zst" 60; then
	json_is "held_segments: every record read" "$TMP/held_segments.json" 'd["trace"]["events"] == 330002'
fi
# overlays (file calls, GPU syncs) inserted out of order: nested calls, and calls going
# back in time with two kinds alternating, were quadratic
for t in nested_calls disordered_calls; do
	gen $t
	if every_output $t "$TMP/$t.zst" 60; then
		json_is "$t: every record read" "$TMP/$t.json" 'd["trace"]["events"] == 100003'
	fi
done
json_is "nested_calls: the union of the nested reads is io_wait" "$TMP/nested_calls.json" \
	'abs(d["breakdown"]["io_wait"] - 0.332775376) < 1e-6 and
	 [w for w in d["trace"]["warnings"] if "no steps found" not in w] == []'
json_is "disordered_calls: the calls left out are said on top" "$TMP/disordered_calls.json" \
	'any("left out of the attribution" in w for w in d["trace"]["warnings"])'
json_is "procs_100k: 64 busy leaves are the trainers, said on top" "$TMP/procs_100k.json" \
	'len(d["trainers"]) == 64 and "100000 processes look like trainers: the report keeps the 64 busiest" in d["trace"]["warnings"]'
json_is "chain_100k: one trainer, the deepest process" "$TMP/chain_100k.json" \
	'len(d["trainers"]) == 1 and d["main"]["pid"] == 100999'
# --- -o DIR in a directory another user planted (item 6): a gnuplot script that would
# run a command, symlinks to files it must not write, a chart from an earlier run
"$STGEN" -f tests/golden/analyze/dataloader_prep.txt "$TMP/prep.zst"
P=$TMP/planted
mkdir -p "$P"
echo precious >"$TMP/victim1"
echo precious >"$TMP/victim2"
printf 'system("touch %s/PWNED")\n' "$TMP" >"$P/breakdown.gp"
printf 'system("touch %s/PWNED")\n' "$TMP" >"$P/io_latency.gp"
ln -s "$TMP/victim1" "$P/index.html"
ln -s "$TMP/victim2" "$P/breakdown.dat"
printf '<svg>STALE chart of another trace</svg>\n' >"$P/io_latency.svg"
"$ANALYZE" -q -o "$P" "$TMP/prep.zst" 2>"$TMP/planted.err"
check "planted directory: analyze -o succeeds" test $? -eq 0
check "  ...the planted gnuplot scripts did not run" test ! -e "$TMP/PWNED"
check "  ...the files the links pointed to are untouched" \
	sh -c "test \"\$(cat '$TMP/victim1' '$TMP/victim2')\" = \"\$(printf 'precious\nprecious')\""
check "  ...the links were replaced by its own files" \
	sh -c "test -f '$P/index.html' -a ! -L '$P/index.html' -a ! -L '$P/breakdown.dat'"
check "  ...its own breakdown.gp replaced the planted one" sh -c "! grep -q system '$P/breakdown.gp'"
check "  ...a chart this run did not draw (no I/O) is gone" test ! -e "$P/io_latency.svg"
check "  ...and not on the page" sh -c "! grep -q STALE '$P/index.html'"
check "  ...no private directory left behind" sh -c "! ls -a '$P' | grep -q '^\\.stalltrace'"
if command -v gnuplot >/dev/null; then
	check "  ...the charts it drew are on the page" grep -q 'alt="breakdown"' "$P/index.html"
fi
# another user's symlink as the output directory, or to a device as an output file
if id nobody >/dev/null 2>&1; then
	mkdir -p "$TMP/elsewhere"
	ln -s "$TMP/elsewhere" "$TMP/theirs"
	chown -h nobody "$TMP/theirs"
	"$ANALYZE" -q -o "$TMP/theirs" "$TMP/prep.zst" 2>"$TMP/theirs.err"
	check "another user's symlink as -o DIR: exit 1, not followed" \
		sh -c "test $? -eq 1 && grep -q 'not followed' '$TMP/theirs.err' && test -z \"\$(ls '$TMP/elsewhere')\""
	ln -s /dev/null "$TMP/theirs.json"
	chown -h nobody "$TMP/theirs.json"
	"$ANALYZE" -q --json "$TMP/theirs.json" "$TMP/prep.zst" 2>"$TMP/theirs.err"
	check "another user's symlink to a device as --json: exit 1, not followed" \
		sh -c "test $? -eq 1 && grep -q 'not followed' '$TMP/theirs.err'"
fi
# missing directories are created (issue 11); /dev/stdout is written, not replaced
"$ANALYZE" -q -o "$TMP/new/a/b" --json "$TMP/new/c/d/r.json" "$TMP/prep.zst"
check "-o and --json create missing directories" test -s "$TMP/new/a/b/index.html" -a -s "$TMP/new/c/d/r.json"
"$ANALYZE" -q --json /dev/stdout "$TMP/prep.zst" >"$TMP/stdout.json"
json_is "--json /dev/stdout: the JSON on stdout" "$TMP/stdout.json" 'd["schema_version"] == 1'
check "  .../dev/stdout is still a link" test -L /dev/stdout

# --- strings from a trace or a baseline reach no output raw (item 8): terminal escapes
# (ESC, the C1 CSI), U+202E, bytes that are not UTF-8, line breaks with GitHub workflow
# commands
# no_raw FILE: FILE holds no ESC, C1 CSI, U+202E or 0xff byte
no_raw()
{
	"$PY" -c 'import sys; d = open(sys.argv[1], "rb").read()
sys.exit(1 if any(b in d for b in (b"\x1b", b"\xc2\x9b", b"\xe2\x80\xae", b"\xff")) else 0)' "$1"
}
sed -e 's/comm=pt_data_worker/comm="w\\x1b[1m\\xc2\\x9b\\xe2\\x80\\xae\\xff"/' \
    -e 's/^fork ts=1s .*/&\nfd ts=1s pid=100 fd=5 kind=pipe ino=77 path="\/p\\n::error::forged\\x1b]0;t\\x07"/' \
	tests/golden/analyze/dataloader_prep.txt >"$TMP/esc.txt"
"$STGEN" -f "$TMP/esc.txt" "$TMP/esc.zst"
"$ANALYZE" --json "$TMP/esc.json" -o "$TMP/esc.out" --perfetto "$TMP/esc.pf.json" "$TMP/esc.zst" \
	>"$TMP/esc.txt.out" 2>&1
check "hostile names: analyze exit 0" test $? -eq 0
check "  ...the text report has no escape, C1, U+202E or invalid byte" no_raw "$TMP/esc.txt.out"
check "  ...it shows them as escapes" grep -qF 'w\u001b[1m\u009b\u202e\xff' "$TMP/esc.txt.out"
for out in esc.json esc.pf.json esc.out/index.html; do
	check "  ...none raw in $out" no_raw "$TMP/$out"
done
json_is "  ...the JSON keeps the name (escaped as \\u: the same string)" "$TMP/esc.json" \
	'd["dataloader"]["worker_list"][0]["comm"] == "w\x1b[1m\x9b\u202e\xff"'

# a baseline from a pull request: its strings forge nothing in the table, the GitHub
# annotations, the JUnit XML (well-formed, even with bytes that are not UTF-8) or JSON
"$ANALYZE" -q --json "$TMP/base.json" "$TMP/prep.zst"
"$PY" - "$TMP/base.json" "$TMP/evil.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["verdict"]["primary"] = "compute\n::add-mask::hunter2\n::error::forged\x1b[2J\u202e\x9b"
d["trace"]["complete"] = False
d["trace"]["incomplete_reason"] = "cut\r\n::error file=x::forged too\x9b"
# raw bytes that are not UTF-8 in place of the C1 character
raw = json.dumps(d).encode().replace(b"\\u009b", b"\xff\xfe")
open(sys.argv[2], "wb").write(raw)
PY
GITHUB_ACTIONS=true "$ANALYZE" --compare "$TMP/evil.json" "$TMP/prep.zst" --junit "$TMP/evil.xml" \
	--json "$TMP/evil.cmp.json" >"$TMP/evil.out" 2>&1
check "hostile baseline: compare runs (exit 0 or 1)" test $? -le 1
check "  ...no forged workflow command: every :: line is ours" \
	sh -c "! grep -av '^::\(error\|warning\) title=stalltrace' '$TMP/evil.out' | grep -aq '^::'"
check "  ...the forged command is shown as text" grep -qF 'compute\u000a::add-mask::hunter2' "$TMP/evil.out"
check "  ...no escape, C1, U+202E or invalid byte on stdout" no_raw "$TMP/evil.out"
check "  ...the JUnit XML is well-formed" "$PY" -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$TMP/evil.xml"
check "  ...and has nothing raw" no_raw "$TMP/evil.xml"
json_is "  ...the comparison JSON parses and keeps the verdict" "$TMP/evil.cmp.json" \
	'any(m["metric"] == "verdict" and m["baseline"].startswith("compute\n::add-mask::") for m in d["metrics"])'

# --compare -o DIR in a planted directory: its own script only, no link written through
mkdir -p "$TMP/cmpdir"
printf 'system("touch %s/PWNED2")\n' "$TMP" >"$TMP/cmpdir/compare.gp"
ln -s "$TMP/victim1" "$TMP/cmpdir/compare_breakdown.dat"
"$ANALYZE" --compare "$TMP/base.json" "$TMP/prep.zst" -o "$TMP/cmpdir" >/dev/null 2>&1
check "--compare -o planted directory: the planted script did not run" test ! -e "$TMP/PWNED2"
check "  ...the linked file is untouched" grep -qx precious "$TMP/victim1"
if command -v gnuplot >/dev/null; then
	check "  ...its chart names dataloader_wait as one text (noenhanced)" \
		grep -q '>dataloader_wait<' "$TMP/cmpdir/compare.svg"
fi

# --- a trace cut short by a full disk (item 9): complete by its trailer, but events are
# missing; every output says so on top, and --compare's rules see it
"$STGEN" -f tests/golden/analyze/disk_full.txt "$TMP/full.zst"
"$ANALYZE" -o "$TMP/full.out" --perfetto "$TMP/full.pf.json" "$TMP/full.zst" >"$TMP/full.txt" 2>&1
check "disk full: the text report says so on top, with how much is missing" \
	sh -c "sed -n 2p '$TMP/full.txt' | grep -q '^WARNING: incomplete trace: the disk filled up .* 12 of the 51 events'"
check "  ...and INCOMPLETE at the end" grep -q 'INCOMPLETE' "$TMP/full.txt"
check "  ...the page too" grep -q 'the disk filled up and the tracer stopped: 12 of the 51 events' "$TMP/full.out/index.html"
json_is "  ...the Perfetto export: not complete, with the warning" "$TMP/full.pf.json" \
	'd["otherData"]["complete"] is False and "disk filled up" in d["otherData"]["warning_1"]'
"$ANALYZE" -q --json "$TMP/full.base.json" "$TMP/full.zst"
"$ANALYZE" --compare "$TMP/full.base.json" "$TMP/full.zst" >"$TMP/full.cmp" 2>&1
check "  ...--compare: the default rule dropped_events>0 fails (exit 1)" \
	sh -c "test $? -eq 1 && grep -q '^FAIL .*dropped_events>0 .*12' '$TMP/full.cmp'"
check "  ...and warns the trace is incomplete" grep -q '^WARNING: .*incomplete: the disk filled up' "$TMP/full.cmp"

# --- a JSON baseline that is only values (item 5): refused at 4,000,000 values, in
# bounded memory (1 GB of address space is plenty; it took 6 GB for 200 MB)
"$PY" -c 'import sys; open(sys.argv[1], "w").write("[" + "0," * 25000000 + "0]")' "$TMP/bomb.json"
(ulimit -v 1000000; timeout 60 "$ANALYZE" --compare "$TMP/bomb.json" "$TMP/prep.zst") \
	>/dev/null 2>"$TMP/bomb.err"
check "50 MB of [0,0,...] as a baseline: exit 2, said in one line" \
	sh -c "test $? -eq 2 && grep -q 'more than 4,000,000 values' '$TMP/bomb.err' && test \$(wc -l <'$TMP/bomb.err') -eq 1"
rm -f "$TMP/bomb.json"

# --- item 11: an empty trace exports an empty timeline (it blamed --perfetto-window);
# a window past 2^64 ns is the end, not an undefined conversion
printf 'header start=1s\n' >"$TMP/empty.txt"
"$STGEN" -f "$TMP/empty.txt" "$TMP/empty.zst"
"$ANALYZE" -q --perfetto "$TMP/empty.pf.json" "$TMP/empty.zst" 2>"$TMP/empty.err"
check "--perfetto of a trace with no events: exit 0" test $? -eq 0
check "  ...no word of --perfetto-window" sh -c "! grep -q perfetto-window '$TMP/empty.err'"
json_is "  ...an empty timeline that parses" "$TMP/empty.pf.json" 'd["otherData"]["complete"] is False'
"$ANALYZE" -q --from 1e30 --json "$TMP/far.json" "$TMP/time_jump.zst" 2>"$TMP/far.err"
check "--from 1e30 s: exit 0, said on top" sh -c "test $? -eq 0 && grep -q 'after the end' '$TMP/far.json'"
"$ANALYZE" -V >"$TMP/v.out"
check "analyze -V prints the version" grep -q '^analyze [0-9]' "$TMP/v.out"
finish
