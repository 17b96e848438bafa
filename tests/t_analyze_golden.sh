#!/usr/bin/env bash
# Analyzer golden tests: small synthetic traces (tests/golden/analyze/*.txt, built with
# build/tests/stgen) whose right answer is computed by hand in each file's comments;
# `#expect PATH VALUE` lines are checked against `analyze --json`, `#args` lines are
# extra analyze options.  Then the damaged inputs: truncated, dropped events, empty,
# not a trace, usage errors.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
STGEN=$BUILD/tests/stgen
GOLDEN=tests/golden/analyze
[ -x "$ANALYZE" ] && [ -x "$STGEN" ] || { echo "FAIL: build first (make)"; exit 1; }

# golden NAME: generate, analyze, check every #expect line
golden()
{
	local name=$1 txt=$GOLDEN/$1.txt args
	args=$(sed -n 's/^#args //p' "$txt")
	if ! "$STGEN" -f "$txt" "$TMP/$name.zst"; then
		fail "$name: stgen failed"
		return
	fi
	# shellcheck disable=SC2086
	if ! "$ANALYZE" -q $args --json "$TMP/$name.json" "$TMP/$name.zst" 2>"$TMP/$name.err"; then
		fail "$name: analyze failed: $(cat "$TMP/$name.err")"
		return
	fi
	if "$PY" tests/tools/check_json.py "$txt" "$TMP/$name.json" >"$TMP/$name.check"; then
		ok "$name ($(grep -c '^ok' "$TMP/$name.check") checks)"
	else
		fail "$name"
		grep FAIL "$TMP/$name.check"
	fi
}

for f in "$GOLDEN"/*.txt; do
	golden "$(basename "$f" .txt)"
done

# --- damaged and odd inputs: a report that says what is missing, never a crash ----

# jq_is NAME JSON PYEXPR: the Python expression over `d` (the document) is true
json_is()
{
	local name=$1 js=$2 expr=$3
	check "$name" "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$js"
}

# analyze_ok NAME ZST: exit 0 with a JSON report
analyze_ok()
{
	"$ANALYZE" --json "$TMP/$1.json" "$2" >"$TMP/$1.out" 2>"$TMP/$1.err"
	local rc=$?
	[ $rc -eq 0 ] || { fail "$1: analyze exit $rc: $(cat "$TMP/$1.err")"; return 1; }
}

grep -v '^trailer' "$GOLDEN/dataloader_prep.txt" >"$TMP/notrailer.txt"
"$STGEN" -f "$TMP/notrailer.txt" "$TMP/notrailer.zst"
if analyze_ok notrailer "$TMP/notrailer.zst"; then
	json_is "no trailer: complete=false" "$TMP/notrailer.json" \
		'd["trace"]["complete"] is False and "trailer" in d["trace"]["incomplete_reason"]'
	json_is "no trailer: still analysed" "$TMP/notrailer.json" \
		'd["verdict"]["primary"] == "dataloader_prep" and d["steps"]["count"] == 10'
	check "no trailer: warning on top of the text report" \
		grep -q '^WARNING: incomplete trace' "$TMP/notrailer.out"
fi

{ echo 'option frame_bytes=600'; cat "$GOLDEN/dataloader_prep.txt"; } >"$TMP/frames.txt"
"$STGEN" -f "$TMP/frames.txt" "$TMP/frames.zst"
size=$(stat -c %s "$TMP/frames.zst")
head -c $((size * 2 / 3)) "$TMP/frames.zst" >"$TMP/cut.zst"
if analyze_ok cut "$TMP/cut.zst"; then
	json_is "cut mid-frame: complete=false, events before the cut" "$TMP/cut.json" \
		'd["trace"]["complete"] is False and 0 < d["trace"]["events"] < 92'
fi

sed 's/^trailer.*/drops ts=1.112s sched=5 wakeup=2\ntrailer ts=1.115s sched=5 wakeup=2/' \
	"$GOLDEN/dataloader_prep.txt" | sed 's/\\n/\n/' >"$TMP/drops.txt"
"$STGEN" -f "$TMP/drops.txt" "$TMP/drops.zst"
if analyze_ok drops "$TMP/drops.zst"; then
	json_is "drops: dropped_events=7 by kind" "$TMP/drops.json" \
		'd["trace"]["dropped_events"] == 7 and d["trace"]["dropped"]["sched"] == 5'
	check "drops: said on top of the text report" grep -q '^WARNING: the tracer dropped 7' \
		"$TMP/drops.out"
fi

printf 'header start=1s\ntrailer ts=1.5s\n' >"$TMP/hdr.txt"
"$STGEN" -f "$TMP/hdr.txt" "$TMP/hdr.zst"
if analyze_ok hdr "$TMP/hdr.zst"; then
	json_is "no events: verdict unknown, same keys" "$TMP/hdr.json" \
		'd["verdict"]["primary"] == "unknown" and d["trainers"] == [] and \
		 d["breakdown"]["compute"] == 0 and d["steps"]["count"] == 0 and \
		 d["trace"]["complete"] is True and d["rank"] is None and d["host"] is None and \
		 d["straggler"] is None and d["job"]["distributed"] is False and \
		 d["breakdown"]["collective_wait"] == 0 and d["own_verdict"]["primary"] == "unknown"'
fi

# exit 1 with one line on stderr: empty, not a trace, missing
: >"$TMP/empty.zst"
head -c 4096 /dev/urandom >"$TMP/random.zst"
for f in empty.zst random.zst missing.zst; do
	"$ANALYZE" "$TMP/$f" >/dev/null 2>"$TMP/err"
	rc=$?
	check "$f: exit 1 with one stderr line ($(head -c 60 "$TMP/err"))" \
		test "$rc" -eq 1 -a "$(wc -l <"$TMP/err")" -eq 1
done

# usage errors: exit 2
for args in "" "--from abc x.zst" "--from 2 --to 1 x.zst" "--nope x.zst" "--main-tid 0 x.zst" \
	    "--from 1 a.zst b.zst" "--merge" "--merge --perfetto p.json a.json" "--ranks 0 a.zst" \
	    "--ranks x --perfetto p a.zst b.zst" "--json"; do
	# shellcheck disable=SC2086
	"$ANALYZE" $args >/dev/null 2>&1
	check "usage '$args': exit 2" test $? -eq 2
done
check "--version" "$ANALYZE" --version
check "--dump still prints JSON Lines" bash -c \
	"'$ANALYZE' --dump '$TMP/dataloader_prep.zst' | head -1 | grep -q '\"type\":\"header\"'"

# a tracer that cannot tell interrupt context (irq_context=none): the softirq that
# delivers loopback traffic reads as a wake by the sending thread; the same answers
sed -e 's/^header start=1s /header start=1s irq_context=none /' \
    -e 's/ irq=1 softirq=1 \(waker=[0-9]* waker_pid=[0-9]*\) waker_traced=1/ \1 waker_traced=1/' \
	"$GOLDEN/ddp_straggler.txt" >"$TMP/noirq.txt"
if grep -q "softirq=1" "$TMP/noirq.txt"; then
	fail "noirq: the softirq wakeups were not rewritten"
elif "$STGEN" -f "$TMP/noirq.txt" "$TMP/noirq.zst" &&
     "$ANALYZE" -q --json "$TMP/noirq.json" "$TMP/noirq.zst" 2>/dev/null; then
	grep -v '^#expect trace.warnings' "$TMP/noirq.txt" >"$TMP/noirq.exp"
	check "ddp_straggler without interrupt context: the same straggler and waits" \
		"$PY" tests/tools/check_json.py "$TMP/noirq.exp" "$TMP/noirq.json"
else
	fail "noirq: stgen or analyze failed"
fi

# untrusted labels: names with quotes, control bytes and escapes stay data
sed 's/comm=pt_data_worker/comm="w\\x1b[31m\\"x\\n"/' "$GOLDEN/dataloader_prep.txt" >"$TMP/label.txt"
"$STGEN" -f "$TMP/label.txt" "$TMP/label.zst"
if analyze_ok label "$TMP/label.zst"; then
	json_is "labels: JSON parses, name kept" "$TMP/label.json" \
		'd["dataloader"]["worker_list"][0]["comm"] == "w\x1b[31m\"x\n"'
	check "labels: no escape byte in the text report" bash -c "! grep -q \$'\\x1b' '$TMP/label.out'"
fi

# charts: data and scripts always; images when gnuplot is there
if analyze_ok charts "$TMP/dataloader_fetch.zst" && "$ANALYZE" -q -o "$TMP/charts" "$TMP/dataloader_fetch.zst" 2>"$TMP/charts.err"; then
	for c in breakdown steps timeline workers io_latency io_throughput; do
		check "charts: $c.dat and $c.gp" test -s "$TMP/charts/$c.dat" -a -s "$TMP/charts/$c.gp"
		if command -v gnuplot >/dev/null; then
			check "charts: $c.svg rendered" grep -q '<svg' "$TMP/charts/$c.svg"
		fi
	done
	check "charts: no trace label in any script" bash -c "! grep -l pt_data_worker '$TMP'/charts/*.gp"
	# time axes end with the trace (1.115 s - 1 s): they ran to the last timeline bucket
	for c in timeline workers io_throughput; do
		check "charts: $c's time axis ends with the trace" grep -qx 'set xrange \[0:0.115000\]' "$TMP/charts/$c.gp"
	done
	check "charts: no data row past the end of the trace" "$PY" -c '
import sys
for f in sys.argv[1:]:
    for line in open(f):
        if line[0].isdigit() and float(line.split()[0]) >= 0.115:
            sys.exit(1)' "$TMP/charts/workers.dat" "$TMP/charts/io_throughput.dat" "$TMP/charts/timeline.dat"
	# a single slow read shows beside many fast ones: a log y axis from below 1
	check "charts: read latency on a log y axis from 0.5" sh -c \
		"grep -q '^set logscale y' '$TMP/charts/io_latency.gp' && grep -q '^set yrange \[0.5:\*\]' '$TMP/charts/io_latency.gp'"
	if command -v gnuplot >/dev/null; then
		# names from the data are not enhanced text: dataloader_wait has no subscript
		check "charts: 'dataloader_wait' is one text, not dataloader with a subscript" \
			grep -q '>dataloader_wait<' "$TMP/charts/timeline.svg"
	fi
else
	fail "charts: analyze -o failed: $(cat "$TMP/charts.err")"
fi
# a main_io verdict: the I/O charts show the main thread's own writes (a checkpoint)
"$ANALYZE" -q -o "$TMP/mio" "$TMP/main_io.zst" 2>/dev/null
check "charts, main_io: the latency chart has the main thread's 10 writes of 1 ms" \
	grep -q '^0.983040 1.015808 0 0 10$' "$TMP/mio/io_latency.dat"
check "charts, main_io: and their throughput" "$PY" -c '
import sys
rows = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
sys.exit(0 if abs(sum(float(r[3]) for r in rows) * float(rows[1][0]) - 10 * 1.048576) < 0.01 else 1)' "$TMP/mio/io_throughput.dat"
finish
