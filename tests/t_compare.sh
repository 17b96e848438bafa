#!/usr/bin/env bash
# analyze --compare: no false alarm between runs whose step times come from one law,
# a change past a rule's threshold with p < 0.05 fails, too few steps to tell is
# inconclusive (a failure unless --allow-inconclusive, with the steps that would
# tell), a slower loader fails step_p50>+5% and names the cause shift,
# JSON/JUnit/GitHub/chart outputs, and exit 2 for bad rules and inputs that cannot be
# compared.  Everything whose answer the machine's load could change runs on
# synthetic traces (tests/tools/steptrace.py); the real runs only check what a busy
# machine cannot change.
. "$(dirname "$0")/lib.sh"
skip_unless_bpf
TS=$BUILD/tests/trainsim
mkdir -p "$TMP/data"
# compute-bound: 8 ms of compute per step, the loader keeps up (2 workers, cheap decode)
fast="--workers 2 --batch-size 8 --decode-us 400 --compute-us 8000 --steps 70"
# the same job with a slower loader: one worker, ten times the decode work
slow="--workers 1 --batch-size 8 --decode-us 4000 --compute-us 8000 --steps 70"

run()	# run NAME ARGS...: traces trainsim into $TMP/NAME.zst
{
	local name=$1
	shift
	"$TRACER" run -q -o "$TMP/$name.zst" -- "$TS" --dataset "$TMP/data/$name" "$@" >/dev/null 2>&1 ||
		fail "trainsim run $name"
}

# synth NAME STEPTRACE-ARGS...: a synthetic trace with exactly these step times
# (tests/tools/steptrace.py): what it must conclude does not depend on the load
synth()
{
	local name=$1
	shift
	"$PY" tests/tools/steptrace.py "$@" >"$TMP/$name.txt" &&
		"$BUILD/tests/stgen" -f "$TMP/$name.txt" "$TMP/$name.zst" || fail "steptrace $name"
}

cmp_rc()	# cmp_rc ARGS...: runs --compare, output in $TMP/cmp.out, prints the exit status
{
	"$ANALYZE" --compare "$@" >"$TMP/cmp.out" 2>"$TMP/cmp.err"
	echo $?
}

json_ok()	# json_ok FILE PYEXPR: the expression over `j` (the document) holds
{
	"$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}

# --- no false alarm: ten pairs of runs whose 60 step times come from the same law
# (mean 20 ms, sd 2 ms; seeds k and k+50).  Their medians differ by 0.2-4%, under the
# 10% threshold: every pair passes the default rules.  Pair 2 (p=0.03) shows that a
# change beyond noise but under the threshold is no failure.
for k in 1 2 3 4 5 6 7 8 9 10; do
	synth same$k --normal 60 20 2 $k
	synth other$k --normal 60 20 2 $((k + 50))
	rc=$(cmp_rc "$TMP/same$k.zst" "$TMP/other$k.zst")
	check "same law, pair $k: the default rules pass (exit $rc)" test "$rc" -eq 0
done
check "  ...and the verdict is compute on both sides" grep -q "^cause: compute on both sides" "$TMP/cmp.out"
check "  ...the table has the noise test" grep -q "^step times: Mann-Whitney U=.*p=" "$TMP/cmp.out"

# --- the issue-13 case: 30 steps a side, the median 34% slower (mean 20 -> 26.6 ms, sd
# 8 ms, seeds 12 and 112): Mann-Whitney p=0.038, under 0.05, over the old 0.01.  A
# change past the threshold with p < 0.05 fails.
synth base30 --normal 30 20 8 12
synth slow30 --normal 30 26.6 8 112
rc=$(cmp_rc "$TMP/base30.zst" "$TMP/slow30.zst" --fail-on 'step_p50>+10%' --json "$TMP/s30.json")
check "33% slower on 30 steps: step_p50>+10% fails (exit $rc)" test "$rc" -eq 1
check "  ...beyond noise, 0.01 < p < 0.05" json_ok "$TMP/s30.json" \
	'0.01 < j["noise_test"]["p"] < 0.05 and j["rules"][0]["broken"] and not j["passed"]'
check "  ...printed as FAIL with p" grep -q "^FAIL   step_p50>+10% .*(+3[0-9].[0-9]%), beyond noise (Mann-Whitney p=0.0" "$TMP/cmp.out"

# --- too few steps to tell: 6 steps a side, baseline 20 21 19 22 18 20.5 ms, new
# 22.5 19.5 23.5 26 18.5 24 ms.  p50 (nearest rank) 20 -> 22.5 ms, +12.5%: past the
# 10% threshold.  U = 9, exact two-sided p = 0.180 (83 of the 924 splits as extreme,
# both tails): not beyond noise.  Can 6 steps tell?  Spread: MAD 1.0 and 2.0 ms
# (medians 20.25, 23), sigma = 1.4826 * sqrt((1 + 4)/2) = 2.344 ms; a 10% change is
# delta = 2 ms; steps a side = 2 * (1.960 + 0.842)^2 * sigma^2 / delta^2 / (3/pi)
# = 22.6 -> 23.  6 < 23: inconclusive, a failure unless --allow-inconclusive.
synth few_a 20 21 19 22 18 20.5
synth few_b 22.5 19.5 23.5 26 18.5 24
rc=$(cmp_rc "$TMP/few_a.zst" "$TMP/few_b.zst" --fail-on 'step_p50>+10%' --json "$TMP/few.json" \
	--junit "$TMP/few.xml")
check "6 steps a side, +12.5%: inconclusive fails by default (exit $rc)" test "$rc" -eq 1
check "  ...says INCONCLUSIVE and how many steps would tell" grep -q \
	"^INCONCLUSIVE step_p50>+10% .*(+12.5%), inconclusive (Mann-Whitney p=0.18 on 6 steps a side): about 23 steps a side" \
	"$TMP/cmp.out"
check "  ...JSON: inconclusive, steps_needed 23, not passed" json_ok "$TMP/few.json" \
	'j["rules"][0]["inconclusive"] and not j["rules"][0]["broken"] and j["rules"][0]["steps_needed"] == 23 and j["inconclusive"] == 1 and not j["passed"] and j["noise_test"]["exact"]'
check "  ...JUnit: a failure" "$PY" -c 'import sys, xml.etree.ElementTree as ET
c = ET.parse(sys.argv[1]).getroot().find("testsuite").find("testcase")
sys.exit(0 if c.find("failure") is not None else 1)' "$TMP/few.xml"
rc=$(cmp_rc "$TMP/few_a.zst" "$TMP/few_b.zst" --fail-on 'step_p50>+10%' --allow-inconclusive \
	--json "$TMP/few2.json" --junit "$TMP/few2.xml")
check "--allow-inconclusive: exit 0 (got $rc)" test "$rc" -eq 0
check "  ...still INCONCLUSIVE, noted as allowed" grep -q "^INCONCLUSIVE .*allowed by --allow-inconclusive" "$TMP/cmp.out"
check "  ...JSON passed, JUnit skipped" sh -c "grep -q '\"passed\":true' '$TMP/few2.json' && grep -q '<skipped ' '$TMP/few2.xml'"
GITHUB_ACTIONS=true "$ANALYZE" --compare "$TMP/few_a.zst" "$TMP/few_b.zst" --fail-on 'step_p50>+10%' >"$TMP/gh.out"
check "  ...GitHub: an ::error annotation when it fails" grep -q '^::error title=stalltrace inconclusive::step_p50>+10%25: ' "$TMP/gh.out"
# the same +12.5% with 60 steps a side, 5 ms spread: enough steps, clearly beyond noise
synth many_a --normal 60 20 1 7
synth many_b --normal 60 22.5 1 8
rc=$(cmp_rc "$TMP/many_a.zst" "$TMP/many_b.zst" --fail-on 'step_p50>+10%')
check "the same change on 60 steps a side: FAIL, not inconclusive (exit $rc)" \
	sh -c "test $rc -eq 1 && grep -q '^FAIL   step_p50>+10%' '$TMP/cmp.out'"

# --- a stored JSON baseline compares like its trace
"$ANALYZE" -q "$TMP/same1.zst" --json "$TMP/same1.json"
check "JSON baseline vs trace: passes" test "$(cmp_rc "$TMP/same1.json" "$TMP/other1.zst")" -eq 0
"$ANALYZE" --compare "$TMP/same1.zst" "$TMP/other1.zst" --json "$TMP/from_trace.json" >/dev/null
"$ANALYZE" --compare "$TMP/same1.json" "$TMP/other1.zst" --json "$TMP/from_json.json" >/dev/null
check "  ...with the same metrics as from the trace" "$PY" - "$TMP/from_trace.json" "$TMP/from_json.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a['metrics'] == b['metrics'] else 1)
PY

# --- real runs: a slower loader (ten times the decode work, one worker for two) is
# slower: step_p50>+5% breaks, and the cause shift is named.  The two jobs run side by
# side, traced at once: timed one after the other, they tell that only while the
# machine's load stays alike (a CI machine's baseline once ran as slow as the slower
# loader, and read cpu_contention); side by side, each takes the CPUs from the other
# and both share whatever else runs
# shellcheck disable=SC2086
run a1 $fast &
# shellcheck disable=SC2086
run b $slow
wait
verdict_of() { "$ANALYZE" -q --json - "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["verdict"]["primary"])'; }
va=$(verdict_of "$TMP/a1.zst")
vb=$(verdict_of "$TMP/b.zst")
rc=$(cmp_rc "$TMP/a1.zst" "$TMP/b.zst" --fail-on 'step_p50>+5%' --json "$TMP/slow.json" \
	--junit "$TMP/slow.xml" -o "$TMP/chart")
check "slower loader: --fail-on step_p50>+5% exits 1" test "$rc" -eq 1
check "  ...prints the broken rule with its numbers" grep -q "^FAIL   step_p50>+5% .*step_p50: .* -> .* ms (+" "$TMP/cmp.out"
check "  ...the slow run is loader-bound ($vb)" test "$vb" = dataloader_prep
if [ "$va" != "$vb" ]; then
	check "  ...names the cause shift ($va -> $vb)" grep -q "^cause shift: $va -> $vb" "$TMP/cmp.out"
fi
check "  ...the change is beyond noise" grep -q "a real change" "$TMP/cmp.out"
check "  ...JSON says failed, with the rule" "$PY" - "$TMP/slow.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j['rules'][0]
sys.exit(0 if not j['passed'] and r['rule'] == 'step_p50>+5%' and r['broken'] and
         j['noise_test']['beyond_noise'] else 1)
PY
check "  ...JUnit XML: one failing test case" "$PY" - "$TMP/slow.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot().find('testsuite')
cases = s.findall('testcase')
sys.exit(0 if s.get('tests') == '1' and s.get('failures') == '1' and len(cases) == 1
         and cases[0].find('failure') is not None else 1)
PY
check "  ...the comparison chart" test -s "$TMP/chart/compare.svg" -a -s "$TMP/chart/compare.gp"
rc=$(cmp_rc "$TMP/a1.zst" "$TMP/b.zst")
if [ "$va" != "$vb" ]; then
	check "slower loader: the default rules fail too (verdict!=baseline)" \
		sh -c "test $rc -eq 1 && grep -q '^FAIL   verdict!=baseline' '$TMP/cmp.out'"
fi
GITHUB_ACTIONS=true "$ANALYZE" --compare "$TMP/a1.zst" "$TMP/b.zst" --fail-on 'step_p50>+5%' >"$TMP/gh.out"
check "GitHub Actions: an ::error annotation per broken rule" \
	test "$(grep -c '^::error title=stalltrace regression::step_p50>+5%25: ' "$TMP/gh.out")" -eq 1
printf '# our rules\nstep_p50>+5%%   # slower steps\n\nverdict!=compute\n' >"$TMP/rules"
check "--rules FILE: the file's rules apply" sh -c "test $(cmp_rc "$TMP/same1.zst" "$TMP/b.zst" --rules "$TMP/rules") -eq 1 && grep -q '^FAIL   verdict!=compute' '$TMP/cmp.out'"
check "a rule that holds passes (verdict!=compute on two compute-bound runs)" \
	test "$(cmp_rc "$TMP/same1.zst" "$TMP/other1.zst" --rules "$TMP/rules")" -eq 0

# --- bad rules and inputs: exit 2, one clear line
for bad in 'step_p50>>5' 'nosuch>1' 'verdict>compute' 'step_p50>+5%%' 'step_p50' ''; do
	rc=$(cmp_rc "$TMP/same1.zst" "$TMP/other1.zst" --fail-on "$bad")
	check "bad rule '$bad': exit 2 with a reason" sh -c "test $rc -eq 2 && test \$(wc -l <'$TMP/cmp.err') -eq 1 && grep -qE 'rule|no rules' '$TMP/cmp.err'"
done
printf 'step_p50>+5%%\nbogus rule\n' >"$TMP/badrules"
rc=$(cmp_rc "$TMP/same1.zst" "$TMP/other1.zst" --rules "$TMP/badrules")
check "bad rules file: exit 2 naming the line" sh -c "test $rc -eq 2 && grep -q 'line 2' '$TMP/cmp.err'"
echo '{"a": 1}' >"$TMP/other.json"
rc=$(cmp_rc "$TMP/other.json" "$TMP/other1.zst")
check "a JSON that is not an analyze summary: exit 2" sh -c "test $rc -eq 2 && grep -q 'not an analyze summary' '$TMP/cmp.err'"
echo 'not json' >"$TMP/garbage"
rc=$(cmp_rc "$TMP/garbage" "$TMP/other1.zst")
check "garbage input: exit 2" sh -c "test $rc -eq 2 && grep -q 'neither a trace nor a JSON summary' '$TMP/cmp.err'"
rc=$(cmp_rc "$TMP/missing.zst" "$TMP/other1.zst")
check "missing input: exit 2" test "$rc" -eq 2
"$TRACER" run -q -o "$TMP/nosteps.zst" -- "$BUILD/tests/sysloop" 1000 >/dev/null 2>&1
rc=$(cmp_rc "$TMP/same1.zst" "$TMP/nosteps.zst")
check "a trace without training steps: exit 2" sh -c "test $rc -eq 2 && grep -q 'no training steps' '$TMP/cmp.err'"
rc=$(cmp_rc "$TMP/same1.zst")
check "--compare with one input: usage error (exit 2)" test "$rc" -eq 2

# --- distributed jobs: a straggler appears (ddp_straggler: rank 1; ddp_balanced: none)
# and the ranks wait more for each other (the ranks' mean collective_wait 0.05 -> 0.4)
G=tests/golden/analyze
"$BUILD/tests/stgen" -f $G/ddp_balanced.txt "$TMP/bal.zst"
"$BUILD/tests/stgen" -f $G/ddp_straggler.txt "$TMP/strag.zst"
rc=$(cmp_rc "$TMP/bal.zst" "$TMP/strag.zst" --fail-on 'straggler!=baseline')
check "straggler!=baseline: a straggler appeared, exit 1" test "$rc" -eq 1
check "  ...with the change" grep -q "FAIL.*straggler: none -> rank 1" "$TMP/cmp.out"
rc=$(cmp_rc "$TMP/strag.zst" "$TMP/strag.zst" --fail-on 'straggler!=baseline,straggler==rank_1')
check "straggler!=baseline: the same straggler passes; straggler==rank_1 fails (exit 1)" \
	sh -c "test $rc -eq 1 && grep -q 'ok .*straggler!=baseline' '$TMP/cmp.out' && grep -q 'FAIL .*straggler==rank_1' '$TMP/cmp.out'"
rc=$(cmp_rc "$TMP/bal.zst" "$TMP/strag.zst" --fail-on 'collective_wait>+0.3')
check "collective_wait>+0.3: the ranks' mean wait rose 0.35, exit 1" \
	sh -c "test $rc -eq 1 && grep -q 'collective_wait: 0.05 -> 0.4' '$TMP/cmp.out'"
rc=$(cmp_rc "$TMP/bal.zst" "$TMP/strag.zst" --fail-on 'collective_wait>+0.4')
check "collective_wait>+0.4: it rose less, exit 0" test "$rc" -eq 0

# --- the noise guard: too few steps says so on top
synth short 20 21 19 22 18 20.5 20 21
cmp_rc "$TMP/same1.zst" "$TMP/short.zst" >/dev/null
check "noise guard: a side with too few steps is warned about" grep -q "^WARNING: .*short.zst: only 8 step samples" "$TMP/cmp.out"
"$ANALYZE" --allow-inconclusive "$TMP/same1.zst" >/dev/null 2>&1
check "--allow-inconclusive without --compare: usage error" test $? -eq 2

finish
