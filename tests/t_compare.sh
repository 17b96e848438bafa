#!/usr/bin/env bash
# analyze --compare: no false alarm between runs of one configuration, a slower
# loader fails step_p50>+5% and names the cause shift, JSON/JUnit/GitHub/chart
# outputs, and exit 2 for bad rules and inputs that cannot be compared.
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
	"$TRACER" run -q -o "$TMP/$name.zst" -- "$TS" --dataset "$TMP/data/ds" "$@" >/dev/null 2>&1 ||
		fail "trainsim run $name"
}

cmp_rc()	# cmp_rc ARGS...: runs --compare, output in $TMP/cmp.out, prints the exit status
{
	"$ANALYZE" --compare "$@" >"$TMP/cmp.out" 2>"$TMP/cmp.err"
	echo $?
}

for i in 1 2 3; do
	# shellcheck disable=SC2086
	run a$i $fast
done
# shellcheck disable=SC2086
run b $slow

# --- no false alarm: every pair of same-configuration runs passes the default rules
for pair in "a1 a2" "a1 a3" "a2 a3"; do
	set -- $pair
	check "same configuration ($1 vs $2): the default rules pass (exit 0)" \
		test "$(cmp_rc "$TMP/$1.zst" "$TMP/$2.zst")" -eq 0
done
check "  ...and the verdict is compute on both sides" grep -q "^cause: compute on both sides" "$TMP/cmp.out"
check "  ...the table has the noise test" grep -q "^step times: Mann-Whitney U=.*p=" "$TMP/cmp.out"

# --- a stored JSON baseline compares like its trace
"$ANALYZE" -q "$TMP/a1.zst" --json "$TMP/a1.json"
check "JSON baseline vs trace: passes" test "$(cmp_rc "$TMP/a1.json" "$TMP/a2.zst")" -eq 0
"$ANALYZE" --compare "$TMP/a1.zst" "$TMP/a2.zst" --json "$TMP/from_trace.json" >/dev/null
"$ANALYZE" --compare "$TMP/a1.json" "$TMP/a2.zst" --json "$TMP/from_json.json" >/dev/null
check "  ...with the same metrics as from the trace" "$PY" - "$TMP/from_trace.json" "$TMP/from_json.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a['metrics'] == b['metrics'] else 1)
PY

# --- a slower loader: step_p50>+5% breaks, and the cause shift is named
rc=$(cmp_rc "$TMP/a1.zst" "$TMP/b.zst" --fail-on 'step_p50>+5%' --json "$TMP/slow.json" \
	--junit "$TMP/slow.xml" -o "$TMP/chart")
check "slower loader: --fail-on step_p50>+5% exits 1" test "$rc" -eq 1
check "  ...prints the broken rule with its numbers" grep -q "^FAIL   step_p50>+5% .*step_p50: .* -> .* ms (+" "$TMP/cmp.out"
check "  ...names the cause shift" grep -q "^cause shift: compute -> dataloader_prep" "$TMP/cmp.out"
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
check "slower loader: the default rules fail too (verdict!=baseline)" \
	sh -c "test $rc -eq 1 && grep -q '^FAIL   verdict!=baseline' '$TMP/cmp.out'"
GITHUB_ACTIONS=true "$ANALYZE" --compare "$TMP/a1.zst" "$TMP/b.zst" --fail-on 'step_p50>+5%' >"$TMP/gh.out"
check "GitHub Actions: an ::error annotation per broken rule" \
	test "$(grep -c '^::error title=stalltrace regression::step_p50>+5%25: ' "$TMP/gh.out")" -eq 1
printf '# our rules\nstep_p50>+5%%   # slower steps\n\nverdict!=compute\n' >"$TMP/rules"
check "--rules FILE: the file's rules apply" sh -c "test $(cmp_rc "$TMP/a1.zst" "$TMP/b.zst" --rules "$TMP/rules") -eq 1 && grep -q '^FAIL   verdict!=compute' '$TMP/cmp.out'"
check "a rule that holds on the slow run passes (verdict!=compute on a1 vs a2)" \
	test "$(cmp_rc "$TMP/a1.zst" "$TMP/a2.zst" --rules "$TMP/rules")" -eq 0

# --- bad rules and inputs: exit 2, one clear line
for bad in 'step_p50>>5' 'nosuch>1' 'verdict>compute' 'step_p50>+5%%' 'step_p50' ''; do
	rc=$(cmp_rc "$TMP/a1.zst" "$TMP/a2.zst" --fail-on "$bad")
	check "bad rule '$bad': exit 2 with a reason" sh -c "test $rc -eq 2 && test \$(wc -l <'$TMP/cmp.err') -eq 1 && grep -qE 'rule|no rules' '$TMP/cmp.err'"
done
printf 'step_p50>+5%%\nbogus rule\n' >"$TMP/badrules"
rc=$(cmp_rc "$TMP/a1.zst" "$TMP/a2.zst" --rules "$TMP/badrules")
check "bad rules file: exit 2 naming the line" sh -c "test $rc -eq 2 && grep -q 'line 2' '$TMP/cmp.err'"
echo '{"a": 1}' >"$TMP/other.json"
rc=$(cmp_rc "$TMP/other.json" "$TMP/a2.zst")
check "a JSON that is not an analyze summary: exit 2" sh -c "test $rc -eq 2 && grep -q 'not an analyze summary' '$TMP/cmp.err'"
echo 'not json' >"$TMP/garbage"
rc=$(cmp_rc "$TMP/garbage" "$TMP/a2.zst")
check "garbage input: exit 2" sh -c "test $rc -eq 2 && grep -q 'neither a trace nor a JSON summary' '$TMP/cmp.err'"
rc=$(cmp_rc "$TMP/missing.zst" "$TMP/a2.zst")
check "missing input: exit 2" test "$rc" -eq 2
"$TRACER" run -q -o "$TMP/nosteps.zst" -- "$BUILD/tests/sysloop" 1000 >/dev/null 2>&1
rc=$(cmp_rc "$TMP/a1.zst" "$TMP/nosteps.zst")
check "a trace without training steps: exit 2" sh -c "test $rc -eq 2 && grep -q 'no training steps' '$TMP/cmp.err'"
rc=$(cmp_rc "$TMP/a1.zst")
check "--compare with one input: usage error (exit 2)" test "$rc" -eq 2

# --- the noise guard: too few steps says so on top
# shellcheck disable=SC2086
run short ${fast/--steps 70/--steps 8}
cmp_rc "$TMP/a1.zst" "$TMP/short.zst" >/dev/null
check "noise guard: a side with too few steps is warned about" grep -q "^WARNING: .*short.zst: only .* step samples" "$TMP/cmp.out"

finish
