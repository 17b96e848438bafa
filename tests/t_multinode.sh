#!/usr/bin/env bash
# One job from several nodes, on synthetic traces whose right answer is worked out in
# their comments (tests/golden/multinode/node0.txt, node1.txt: rank 0 on "node-a",
# rank 1, the straggler, on "node-b", whose clock reads D = 4999.1234567 s more and
# whose clock pair is 3.7 ms off).  Checks:
#   - `analyze n0.zst n1.zst` and `analyze --merge r0.json r1.json` give the same job:
#     the straggler's rank, host and own cause, the others' wait, 7 collectives;
#   - clock skew: node-b's clock lands within 1 ms of -D whatever its clock pair's
#     error inside the collectives' half period (0, -6, +8.5 ms); past it (10 ms) the
#     report says the clocks rest on the clock pairs;
#   - malformed, truncated, foreign and mismatched reports: one line, exit 2;
#   - the merged report works with -o DIR (per-rank charts, the straggler chart, the
#     page), --compare (straggler!=baseline) and --perfetto of the traces (--ranks).
# No BPF, no timing: everything here is exact.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
STGEN=$BUILD/tests/stgen
G=tests/golden/multinode
D=4999123456700		# node-b's clock minus node-a's, ns
[ -x "$ANALYZE" ] && [ -x "$STGEN" ] || { echo "FAIL: build first (make)"; exit 1; }

# node N [SED]: the trace of node N (its stgen text through SED) and its report
node()
{
	local n=$1 name=${3:-n$1}
	sed "${2:-}" "$G/node$n.txt" >"$TMP/$name.txt"
	"$STGEN" -f "$TMP/$name.txt" "$TMP/$name.zst" &&
		"$ANALYZE" -q "$TMP/$name.zst" --json "$TMP/$name.json"
}

# py NAME JSON EXPR...: a Python expression over d (the document) holds
py()
{
	local name=$1 js=$2
	shift 2
	check "$name" "$PY" -c "import json,sys; d=json.load(open(sys.argv[1]))
j=d['job']; b=[n for n in j['nodes'] if n['host'] == 'node-b'][0]
ok = $*
if not ok: print('  straggler', d['straggler'], 'clock', j['clock'], 'node-b', b)
sys.exit(0 if ok else 1)" "$js"
}

# one_line NAME EXPECT-TEXT ARGS...: analyze ARGS exits 2 with one line naming EXPECT
one_line()
{
	local name=$1 want=$2 rc
	shift 2
	"$ANALYZE" -q "$@" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q -- "$want" "$TMP/err"; then
		ok "$name: exit 2, one line: $(cat "$TMP/err")"
	else
		fail "$name: exit $rc, want 2 and one line with '$want': $(cat "$TMP/err")"
	fi
}

node 0 && node 1 || { fail "the node traces"; finish; }

# --- the job, from the traces and from the reports ----------------------------------
"$ANALYZE" "$TMP/n0.zst" "$TMP/n1.zst" --json "$TMP/traces.json" >"$TMP/traces.txt" ||
	fail "analyze n0.zst n1.zst"
"$ANALYZE" -q --merge "$TMP/n0.json" "$TMP/n1.json" --json "$TMP/merged.json" ||
	fail "analyze --merge"
for js in traces merged; do
	py "$js: the straggler is rank 1 on node-b, own cause compute" "$TMP/$js.json" \
		"d['straggler']['rank'] == 1 and d['straggler']['host'] == 'node-b' and" \
		"d['straggler']['cause'] == 'compute' and d['straggler']['others_wait_fraction'] == 0.75" \
		"and j['collectives'] == 7 and j['ranks'] == 2 and d['verdict']['primary'] == 'compute'"
	py "$js: rank 0 waits for it, its verdict names rank 1" "$TMP/$js.json" \
		"d['trainers'][0]['rank'] == 0 and d['trainers'][0]['breakdown']['collective_wait'] == 0.75" \
		"and 'rank 1 is the straggler' in d['trainers'][0]['verdict']['advice'][0]" \
		"and d['trainers'][1]['collective']['last_arrivals'] == 7"
	py "$js: node-b's clock on node-a's, within 1 ms, by the collectives" "$TMP/$js.json" \
		"abs(b['clock_offset_ns'] + $D) < 1000000 and b['aligned_by'] == 'collectives'" \
		"and b['matched_collectives'] == 7 and j['clock']['residual_skew_ms'] < 0.1" \
		"and abs(b['clock_pair_offset_ns'] + $D - 3700000) < 1000 and d['trainers'][1]['clock_offset_ns'] == b['clock_offset_ns']"
done
check "the two paths give the same report (but for the inputs' names)" "$PY" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d["trace"]["path"] = None
    for n in d["job"]["nodes"]:
        n["path"] = None
sys.exit(0 if a == b else 1)' "$TMP/traces.json" "$TMP/merged.json"
check "text: the job verdict and the clocks on top" grep -q \
	"^VERDICT  rank 1 is the straggler: it is bound by its own work" "$TMP/traces.txt"
check "text: how the clocks were aligned" grep -q \
	"^clocks of 2 nodes aligned by their collectives (clock pairs corrected by up to 3.700 ms)" \
	"$TMP/traces.txt"
mkdir -p "$TMP/dir" && cp "$TMP/n0.json" "$TMP/n1.json" "$TMP/dir/"
"$ANALYZE" -q --merge "$TMP/dir" --json "$TMP/dir.json" &&
	py "--merge DIR: the reports in it" "$TMP/dir.json" "d['straggler']['rank'] == 1"

# --- clock skew: node-b's clock pair off by E; the job's clock within 1 ms of the truth --
for e in 0 -6000000 8500000; do
	ro=$((1699995000876543300 + e))
	node 1 "s/realtime_offset=[0-9]*/realtime_offset=$ro/" "skew$e" &&
		"$ANALYZE" -q "$TMP/n0.zst" "$TMP/skew$e.zst" --json "$TMP/skew$e.job.json" &&
		py "clock pair off by $((e / 1000)) us: aligned within 1 ms, the straggler found" \
			"$TMP/skew$e.job.json" "abs(b['clock_offset_ns'] + $D) < 1000000 and" \
			"b['aligned_by'] == 'collectives' and d['straggler']['rank'] == 1"
done
node 1_spread "" spread &&
	"$ANALYZE" -q "$TMP/n0.zst" "$TMP/spread.zst" --json "$TMP/spread.json" &&
	py "collectives' ends up to 0.9 ms apart: aligned by them, within 1 ms" "$TMP/spread.json" \
		"abs(b['clock_offset_ns'] + $D) < 1000000 and b['aligned_by'] == 'collectives'" \
		"and b['matched_collectives'] == 7 and d['straggler']['rank'] == 1"
node 1 "s/realtime_offset=[0-9]*/realtime_offset=$((1699995000876543300 + 10000000))/" skew10 &&
	"$ANALYZE" -q "$TMP/n0.zst" "$TMP/skew10.zst" --json "$TMP/skew10.json" &&
	py "clock pair off by 10 ms (half a step): said, not hidden" "$TMP/skew10.json" \
		"b['aligned_by'] == 'clock pair' and j['clock']['aligned_by'] == 'clock pairs' and" \
		"any('could not be aligned by the collectives' in w for w in d['trace']['warnings'])"

# --- reports that cannot be merged: one line, exit 2 ---------------------------------
node 1 "s/TORCHELASTIC_RUN_ID=job-mn/TORCHELASTIC_RUN_ID=job-other/" other
one_line "another run id" "TORCHELASTIC_RUN_ID 'job-other' here, 'job-mn' in" \
	--merge "$TMP/n0.json" "$TMP/other.json"
one_line "another run id, from the traces" "another job" "$TMP/n0.zst" "$TMP/other.zst"
node 1 "s/MASTER_PORT=29500/MASTER_PORT=29501/;s/TORCHELASTIC_RUN_ID=job-mn //" port
node 0 "s/TORCHELASTIC_RUN_ID=job-mn //" port0
one_line "another rendezvous" "rendezvous 10.0.0.1:29501 here, 10.0.0.1:29500" \
	--merge "$TMP/port0.json" "$TMP/port.json"
node 1 "s/WORLD_SIZE=2/WORLD_SIZE=4/" world
one_line "another world size" "a world of 4 ranks here, 2 in" --merge "$TMP/n0.json" "$TMP/world.json"
one_line "the same node twice" "rank 0 is also in" --merge "$TMP/n0.json" "$TMP/n0.json"
node 1 "s/ RANK=1 / RANK=5 /" outside
one_line "a rank outside its world" "rank 5 of a world of 2" --merge "$TMP/n0.json" "$TMP/outside.json"
"$STGEN" -f tests/golden/analyze/dataloader_prep.txt "$TMP/single.zst" &&
	"$ANALYZE" -q "$TMP/single.zst" --json "$TMP/single.json"
one_line "a job that is not distributed" "no rank of a distributed job" \
	--merge "$TMP/n0.json" "$TMP/single.json"
one_line "a merged report as an input" "a merged report" --merge "$TMP/merged.json" "$TMP/n1.json"
head -c "$(($(stat -c %s "$TMP/n1.json") / 2))" "$TMP/n1.json" >"$TMP/cut.json"
one_line "a truncated report" "truncated" --merge "$TMP/n0.json" "$TMP/cut.json"
printf '{"schema_version": 1, "trace": {' >"$TMP/open.json"
one_line "a report cut right after its start" "truncated" --merge "$TMP/open.json"
printf 'not json\n' >"$TMP/garbage.json"
one_line "not JSON" "not a valid analyze --json report" --merge "$TMP/n0.json" "$TMP/garbage.json"
printf '{"a": 1}\n' >"$TMP/foreign.json"
one_line "JSON of another tool" "not an analyze --json report" --merge "$TMP/foreign.json"
sed 's/"schema_version":1/"schema_version":2/' "$TMP/n1.json" >"$TMP/v2.json"
one_line "another schema version" "schema_version 2" --merge "$TMP/n0.json" "$TMP/v2.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
d["trainers"][0]["steps"]["durations_ms"][2] = "x"; json.dump(d, open(sys.argv[2], "w"))' \
	"$TMP/n1.json" "$TMP/badnum.json"
one_line "a step time that is not a number" "unexpected character" --merge "$TMP/badnum.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
d["trainers"][0]["steps"]["durations_ms"].pop(); json.dump(d, open(sys.argv[2], "w"))' \
	"$TMP/n1.json" "$TMP/short.json"
one_line "step arrays that disagree" "durations_ms has 6 values, steps.count says 7" \
	--merge "$TMP/short.json"
one_line "a missing report" "cannot open" --merge "$TMP/n0.json" "$TMP/nope.json"
mkdir -p "$TMP/empty"
one_line "a directory without reports" "no reports" --merge "$TMP/empty"
one_line "--perfetto: a rank in no trace" "rank 5 is in none of the traces" \
	"$TMP/n0.zst" "$TMP/n1.zst" --perfetto "$TMP/p5.json" --ranks 5

# --- the merged report through the other outputs -------------------------------------
"$ANALYZE" -q --merge "$TMP/n0.json" "$TMP/n1.json" -o "$TMP/page" 2>"$TMP/page.err" ||
	fail "--merge -o DIR: $(cat "$TMP/page.err")"
for f in ranks.dat rank_steps.dat straggler.dat breakdown.dat index.html; do
	check "-o DIR: $f" test -s "$TMP/page/$f"
done
check "the straggler chart credits rank 1 with rank 0's waits" grep -q '^"rank_1" 0.105000 1.0000' \
	"$TMP/page/straggler.dat"
check "the page: ranks with their hosts, the straggler marked, the nodes" sh -c \
	"grep -q '<td>rank 1</td><td class=\"n\">300</td><td class=\"t\">node-b</td><td class=\"t\">python3 (straggler)' '$TMP/page/index.html' &&
	 grep -q '<section id=\"nodes\">' '$TMP/page/index.html' && grep -q 'id=\"clocks\"' '$TMP/page/index.html'"
if command -v gnuplot >/dev/null; then
	check "the page inlines the straggler chart" grep -q 'alt="straggler"' "$TMP/page/index.html"
fi
"$PY" tests/check_html.py page "$TMP/page/index.html" "$TMP/page" >"$TMP/page.check" ||
	{ fail "the merged page is not self-contained and inert"; grep FAIL "$TMP/page.check"; }
"$ANALYZE" --compare "$TMP/merged.json" "$TMP/traces.json" --fail-on 'straggler!=baseline,collective_wait>+0.05' \
	>"$TMP/cmp.txt" 2>&1
check "--compare: a merged report against the same job: exit 0" test $? -eq 0
node 0 "s/ RANK=0 / RANK=1 /" swap0 && node 1 "s/ RANK=1 / RANK=0 /" swap1 &&
	"$ANALYZE" -q --merge "$TMP/swap0.json" "$TMP/swap1.json" --json "$TMP/swapped.json"
"$ANALYZE" --compare "$TMP/merged.json" "$TMP/swapped.json" --fail-on 'straggler!=baseline' \
	>"$TMP/cmp2.txt" 2>&1
check "--compare: another rank now holds the job back: exit 1" test $? -eq 1
check "--compare: it says which" grep -q "rank 0" "$TMP/cmp2.txt"

# --- the timeline of the chosen ranks, clocks aligned ------------------------------------
"$ANALYZE" -q "$TMP/n0.zst" "$TMP/n1.zst" --perfetto "$TMP/p.json" ||
	fail "--perfetto of two traces"
"$PY" tests/check_perfetto.py "$TMP/p.json" >"$TMP/p.check" ||
	{ fail "the export is not valid"; cat "$TMP/p.check"; }
check "--perfetto: the straggler and the median rank, each on its host, ends aligned" \
	"$PY" - "$TMP/p.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
names = {e["args"]["name"] for e in ev if e.get("ph") == "M" and e["name"] == "process_name"}
ends = {}
for e in ev:
    if e.get("cat") == "collective":
        ends.setdefault(e["pid"], []).append(round(e["ts"] + e["dur"], 3))
ok = {"trainer rank 0: python3 on node-a", "trainer rank 1: python3 on node-b"} <= names
ok = ok and len(ends) == 2 and all(len(v) == 7 for v in ends.values())
a, b = ends.values()
ok = ok and all(abs(x - y) < 1000 for x, y in zip(sorted(a), sorted(b)))  # us: within 1 ms
ok = ok and d["otherData"]["ranks"] == "1,0" and not any("torchrun" in n for n in names)
print(sorted(names), {k: v[:2] for k, v in ends.items()})
sys.exit(0 if ok else 1)
PY
"$ANALYZE" -q "$TMP/n1.zst" --perfetto "$TMP/one.json" --ranks 1 &&
	check "--perfetto --ranks 1 of one trace: rank 1 and its worker, not the launcher" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
pids = {e["pid"] for e in d["traceEvents"] if e.get("ph") != "M" and e["pid"] < 1 << 22}
sys.exit(0 if pids == {300, 400} else 1)' "$TMP/one.json"
one_line "--perfetto --ranks of one trace: a rank it does not have" "has 0 of the 1 ranks" \
	"$TMP/n1.zst" --perfetto "$TMP/none.json" --ranks 0
"$ANALYZE" -q "$TMP/n0.zst" "$TMP/n1.zst" --perfetto "$TMP/p1.json" --ranks 1 &&
	check "--perfetto --ranks 1: only rank 1's node" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = {e["args"]["name"] for e in d["traceEvents"] if e.get("ph") == "M" and e["name"] == "process_name"}
print(sorted(names))
sys.exit(0 if "trainer rank 1: python3 on node-b" in names and not any("node-a" in n for n in names) else 1)' "$TMP/p1.json"
finish
