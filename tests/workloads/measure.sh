#!/usr/bin/env bash
# Traces one reference scenario, analyses it and puts the analyzer's verdict,
# breakdown, steps and workers next to the job's own ground truth.
#
#   tests/workloads/measure.sh NAME [run|attach] [--out PREFIX] [--table FILE]
#
#   run     `tracer run -o PREFIX.zst $ST_TRACER_OPTS -- COMMAND` (default)
#   attach  the job starts untraced; after its warm-up it waits at the attach gate
#           while `tracer attach` attaches to its process tree (attach_run.sh)
#   --out PREFIX   where the files go (default $TMPDIR/st-measure-NAME-MODE):
#                  PREFIX.zst (two-node jobs: PREFIX-n0.zst, PREFIX-n1.zst), the
#                  truth line PREFIX.truth.json, the job's output PREFIX.log,
#                  the reports PREFIX.win.json (over the job's measured window)
#                  and PREFIX.own.json (the analyzer's own window), and
#                  PREFIX.cmp.json, the table's figures (measure_cmp.py)
#   --table FILE   the scenario table (default: tests/scenarios-next.tsv when it
#                  has NAME, else tests/scenarios.tsv)
#
# Two-node scenarios (their command has --per-node-tracers) get no prefix: the
# launcher traces each node agent with its own tracer ($ST_TRACE_MODE,
# $ST_TRACE_OUT).  Hogs and the feature server are started by scenario.sh.
# Exit status: 0 when the job ran and was analysed (whatever the analyzer
# said: this measures, it does not judge), 1 otherwise, 2 usage.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
name= mode=run prefix= table=
while [ $# -gt 0 ]; do
	case $1 in
	run|attach) mode=$1 ;;
	--out) prefix=$2; shift ;;
	--table) table=$2; shift ;;
	-*) echo "measure.sh: unknown option '$1'" >&2; exit 2 ;;
	*) [ -z "$name" ] || { echo "measure.sh: one scenario at a time" >&2; exit 2; }
	   name=$1 ;;
	esac
	shift
done
[ -n "$name" ] || { echo "usage: measure.sh NAME [run|attach] [--out PREFIX] [--table FILE]" >&2; exit 2; }
if [ -z "$table" ]; then
	table=$root/tests/scenarios-next.tsv
	cut -f1 "$table" | grep -qx -- "$name" || table=$root/tests/scenarios.tsv
fi
prefix=${prefix:-${TMPDIR:-/tmp}/st-measure-$name-$mode}
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
mkdir -p "$(dirname "$prefix")" || exit 1
export BUILD=${BUILD:-$root/build}
export ANALYZE=$BUILD/analyze
[ -x "$BUILD/tracer" ] && [ -x "$ANALYZE" ] || { echo "measure.sh: build first (make)" >&2; exit 1; }

row=$(grep -v '^#' "$table" | awk -F'\t' -v n="$name" '$1 == n' | head -n 1)
[ -n "$row" ] || { echo "measure.sh: no scenario '$name' in $table" >&2; exit 2; }
IFS=$'\t' read -r _ verdict _ _ cmd <<<"$row"

rm -f "$prefix".zst "$prefix"-n[01].zst "$prefix".truth.json
traces=("$prefix.zst")
if [[ $cmd == *--per-node-tracers* ]]; then
	export ST_TRACE_MODE=$mode ST_TRACE_OUT=$prefix
	pfx=
	traces=("$prefix-n0.zst" "$prefix-n1.zst")
elif [ "$mode" = run ]; then
	pfx="\$BUILD/tracer run -q --force -o $prefix.zst \$ST_TRACER_OPTS --"
else
	pfx="$root/tests/workloads/attach_run.sh -o $prefix.zst \$ST_TRACER_OPTS --"
fi
"$root/tests/workloads/scenario.sh" "$name" --table "$table" --truth "$prefix.truth.json" \
	--prefix "$pfx" >"$prefix.log" 2>&1 </dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "measure.sh: $name ($mode) failed with status $rc:" >&2
	tail -n 15 "$prefix.log" >&2
	exit 1
fi
chmod 0644 "$prefix.truth.json"
/usr/bin/python3 "$root/tests/workloads/measure_cmp.py" --truth "$prefix.truth.json" \
	--expect "$verdict" --prefix "$prefix" --name "$name" --mode "$mode" "${traces[@]}"
