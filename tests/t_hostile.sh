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
json_is "procs_100k: 64 busy leaves are the trainers" "$TMP/procs_100k.json" 'len(d["trainers"]) == 64'
json_is "chain_100k: one trainer, the deepest process" "$TMP/chain_100k.json" \
	'len(d["trainers"]) == 1 and d["main"]["pid"] == 100999'
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
finish
