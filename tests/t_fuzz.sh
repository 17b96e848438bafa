#!/usr/bin/env bash
# The libFuzzer targets (analyzer/fuzz/fuzz_*.c, built with ASan and UBSan: any report,
# leak or hang is a failure), each from its seeds:
#   fuzz_reader   the reader over a buffer
#   fuzz_analyze  the whole of analyze: a trace file through the analysis to every output
#   fuzz_json     the JSON reader and --compare on (hostile) summaries: tests/fuzz/json
# No trace is committed: the trace seeds of reader and analyze are made here from text
# (stgen), every analyzer golden trace (tests/golden/analyze/*.txt) and the odd inputs
# below, which say what each is for.
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

# stgen TXT -> $gen/NAME.zst and its records, decompressed, in $gen/NAME.raw.
gen=$TMP/gen
mkdir -p "$gen" "$TMP/seeds-reader" "$TMP/seeds-analyze"
trace() {
	if ! "$BUILD/tests/stgen" -f "$1" "$gen/$2.zst" ||
	   ! zstd -q -d -c "$gen/$2.zst" >"$gen/$2.raw"; then
		fail "stgen could not make the seed $2 from $1"
	fi
}
# seed TARGET NAME BYTES FILE: BYTES (printf's format) then FILE.  fuzz_reader takes an
# input with an odd first byte as a record stream to compress, else as a file;
# fuzz_analyze's first byte is a mode (analyzer/fuzz/fuzz_analyze.c): 0 the file as it
# is, bit 0 a record stream it compresses (bits 4-7: frames of 97 << (n - 1) bytes),
# bit 2 --main-tid from byte 3 (+ 1).
seed() {
	# shellcheck disable=SC2059 # the bytes are the format
	{ printf "$3" && cat "$4"; } >"$TMP/seeds-$1/$2" || fail "could not make the seed $1/$2"
}
skippable='P*M\030\0\0\0\0'	# an empty skippable frame (magic 0x184D2A50, size 0)

# Every analyzer golden: as the file, and for fuzz_analyze behind mode byte 0 (without it
# the zstd magic's first byte is taken as the mode, and the rest is no zstd file).
for g in tests/golden/analyze/*.txt; do
	n=$(basename "$g" .txt)
	trace "$g" "$n"
	seed reader "$n.zst" '' "$gen/$n.zst"
	seed analyze "$n.zst" '\0' "$gen/$n.zst"
done

# fuzz_reader.  Every record type and flag (the reader golden, all.txt), as a file, as a
# record stream, and reframed (tests/tools/reframe.py: frames of 1-40 bytes, so records
# and their headers span frames, with frames of no stated size, skippable and empty
# frames between them); two frames and no trailer (a killed tracer); a file of one
# empty skippable frame (nothing else: no header).
trace tests/golden/reader/all.txt all
trace tests/golden/reader/twoframes.txt twoframes
seed reader all.zst '' "$gen/all.zst"
seed reader all.raw '\001' "$gen/all.raw"
"$PY" tests/tools/reframe.py "$gen/all.raw" "$TMP/seeds-reader/all_reframed.zst" 3 40 \
	>/dev/null || fail "reframe.py could not make all_reframed.zst"
seed reader twoframes.zst '' "$gen/twoframes.zst"
seed reader twoframes.raw '\001' "$gen/twoframes.raw"
seed reader skippable_empty "$skippable" /dev/null

# fuzz_analyze.  Record streams of goldens for the record parser (mode 1: one frame;
# dataloader_fetch in mode 0x31: frames of 388 bytes, records span them); --main-tid 100
# on dataloader_prep (mode 4, byte 3 = 99); dataloader_prep reframed (frames of 1-50
# bytes); a file of one empty skippable frame (no header); clocks near 2^64, a TIME
# record that jumps there mid-trace and a start 1 ms before it that wraps
# (tests/hostile: time_jump, time_wrap); regress_null_plus_zero, what
# fuzz_analyze found in 8a46067 (tests/fuzz/src: a syscall on a thread no switch took
# off CPU), as the record stream it was (mode 0x31).
for n in dataloader_prep disk_full gpu_block_probe main_io relay two_trainers; do
	seed analyze "$n.raw" '\001' "$gen/$n.raw"
done
seed analyze dataloader_fetch_frames388.raw '\061' "$gen/dataloader_fetch.raw"
seed analyze main_tid.zst '\004\0\0\143' "$gen/dataloader_prep.zst"
"$PY" tests/tools/reframe.py "$gen/dataloader_prep.raw" "$gen/reframed.zst" 7 50 \
	>/dev/null || fail "reframe.py could not make reframed.zst"
seed analyze reframed.zst '\0' "$gen/reframed.zst"
seed analyze skippable_only.zst "\\0$skippable" /dev/null
for n in time_jump time_wrap; do
	trace "tests/hostile/$n.txt" "$n"
	seed analyze "$n.zst" '\0' "$gen/$n.zst"
done
trace tests/fuzz/src/regress_null_plus_zero.txt regress_null_plus_zero
seed analyze regress_null_plus_zero '\061' "$gen/regress_null_plus_zero.raw"

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
	seeds=$TMP/seeds-$t
	[ $t = json ] && seeds=tests/fuzz/json
	# a timeout of 25 s an input: the slowest seeds take well under 1 s
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=25 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$art" \
		"$corpus" "$seeds" >"$TMP/fuzz_$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz_$t.log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$TMP/fuzz_$t.log" | tail -n 1)
	# every seed made above was read (the corpus starts empty in `make test`)
	nseeds=$(find "$seeds" -type f | wc -l)
	read_in=$(sed -n 's/.*seed corpus: files: \([0-9]*\).*/\1/p' "$TMP/fuzz_$t.log")
	[ $long = 1 ] || [ "${read_in:-0}" -eq "$nseeds" ] ||
		fail "fuzz_$t read ${read_in:-no} seeds of the $nseeds made"
	if [ $rc -eq 0 ]; then
		ok "fuzz_$t: $secs s, $nseeds seeds, ${execs:-?} inputs, $cov, no crash, leak or hang"
	else
		fail "fuzz_$t: exit $rc"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit|timeout' "$TMP/fuzz_$t.log" | head -n 12
		[ $long = 1 ] || cp "$TMP"/crash-* "$TMP"/timeout-* "$TMP"/leak-* "$TMP"/oom-* \
			"$BUILD/test-logs/" 2>/dev/null
	fi
done
finish
