#!/usr/bin/env bash
# make test, several times, from a fresh clone of the current commit, while the
# machine is busy: tests/tools/netload.py keeps both CPUs spinning (2 processes),
# loopback TCP streams running and an fsync loop writing, for the whole time.
#
#   scripts/test-under-load.sh [RUNS] [make test arguments, e.g. T="tracer wakers"]
#
# Prints one line per run and a summary; exits 1 when any run failed.  The logs of
# each run are kept in build/load-runs/N/.  The tests must pass here as on an idle
# machine: nothing in them may depend on load or timing luck.
set -u
cd "$(dirname "$0")/.." || exit 2
runs=${1:-5}
[ $# -gt 0 ] && shift
out=$PWD/build/load-runs
clone=$(mktemp -d "${TMPDIR:-/tmp}/stalltrace-clone.XXXXXX")
trap 'kill "$load" 2>/dev/null; rm -rf "$clone"' EXIT
git clone -q . "$clone/src" || exit 2
rm -rf "$out" && mkdir -p "$out"
python3 tests/tools/netload.py 100000 --cpu 2 >/dev/null &
load=$!
fails=0
for i in $(seq "$runs"); do
	start=$(date +%s)
	make -C "$clone/src" test "$@" >"$out/$i.log" 2>&1
	rc=$?
	cp -r "$clone/src/build/test-logs" "$out/$i" 2>/dev/null
	printf 'run %d: %s in %ds (%s)\n' "$i" "$([ $rc -eq 0 ] && echo pass || echo FAIL)" \
		"$(($(date +%s) - start))" "$(grep -E '^[0-9]+ passed' "$out/$i.log" | tail -1)"
	[ $rc -eq 0 ] || { fails=$((fails + 1)); grep -E '^FAIL' "$out/$i.log" | sed 's/^/    /'; }
done
echo "$((runs - fails)) of $runs runs passed under load (logs: $out)"
[ $fails -eq 0 ]
