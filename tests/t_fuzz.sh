#!/usr/bin/env bash
# The libFuzzer targets (analyzer/fuzz/fuzz_*.c, built with ASan and UBSan: any report, leak
# or hang is a failure), each from its seed corpus in tests/fuzz/<target>:
#   fuzz_reader   the reader over a buffer
#   fuzz_analyze  the whole of analyze: a trace file through the analysis to every output
#   fuzz_json     the JSON reader and --compare on (hostile) summaries
# The trace targets (reader, analyze) are also seeded with every analyzer golden trace
# (tests/golden/analyze/*.txt), generated here by stgen: only the seeds that no golden
# makes (odd framings, regressions) are committed.
# `make test`: FUZZ_SECS (default 20) each on a scratch copy of the seeds.
# `make fuzz` (--long): FUZZ_SECS (default 300) each on corpora kept in
# $BUILD/fuzz-corpus/<target>, crashes saved in $BUILD/fuzz-artifacts/.
# Each target's line says how many inputs ran, the coverage (edges, features) and the
# corpus it left.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
long=0
[ "${1:-}" = --long ] && long=1
secs=${FUZZ_SECS:-$([ $long = 1 ] && echo 300 || echo 20)}

goldens=$TMP/golden-seeds
mkdir -p "$goldens"
for g in tests/golden/analyze/*.txt; do
	"$BUILD/tests/stgen" -f "$g" "$goldens/$(basename "$g" .txt).zst" ||
		fail "stgen could not make the seed $g"
done

for t in reader analyze json; do
	bin=$BUILD/fuzz_$t
	if [ ! -x "$bin" ]; then
		fail "fuzz_$t is not built (clang with -fsanitize=fuzzer: make $bin)"
		continue
	fi
	if [ $long = 1 ]; then
		corpus=$BUILD/fuzz-corpus/$t
		art=$BUILD/fuzz-artifacts/
	else
		corpus=$TMP/corpus-$t
		art=$TMP/
	fi
	mkdir -p "$corpus" "$art"
	seeds=(tests/fuzz/$t)
	[ $t = json ] || seeds+=("$goldens")
	# a timeout of 25 s an input: the slowest seeds take well under 1 s
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=25 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$art" \
		"$corpus" "${seeds[@]}" >"$TMP/fuzz_$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz_$t.log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$TMP/fuzz_$t.log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		ok "fuzz_$t: $secs s, ${execs:-?} inputs, $cov, no crash, leak or hang"
	else
		fail "fuzz_$t: exit $rc"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit|timeout' "$TMP/fuzz_$t.log" | head -n 12
		[ $long = 1 ] || cp "$TMP"/crash-* "$TMP"/timeout-* "$TMP"/leak-* "$TMP"/oom-* \
			"$BUILD/test-logs/" 2>/dev/null
	fi
done
finish
