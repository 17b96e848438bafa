#!/usr/bin/env bash
# Runs one reference scenario from tests/scenarios.tsv (see tests/workloads/README.md).
#
#   tests/workloads/scenario.sh NAME [--prefix 'CMD ...'] [--truth FILE] [--table FILE]
#   tests/workloads/scenario.sh --list [--table FILE]   # NAME<TAB>VERDICT, one per line
#
# --table reads another table of the same format (default tests/scenarios.tsv;
# tests/scenarios-next.tsv holds the scenarios whose analyzer fixes are pending).
#
# Environment:
#   BUILD    build directory (default: <repo>/build; made absolute)
#   ST_DATA  scratch directory for datasets and checkpoints (default: $BUILD/data;
#            created; datasets in it are reused from run to run)
#
# What it does:
#   - exports BUILD, ST_DATA, and the scenario's row as ST_SCENARIO, ST_VERDICT,
#     ST_HOGS and ST_TRACER_OPTS (tracer_opts, empty when the table says '-');
#   - starts `hogs` busy-loop processes itself: children of this script, never of
#     the job, and in the job's session so autogroup scheduling makes them peers of
#     the job; a trap kills and reaps them however the script ends;
#   - when the command names $ST_FEATURE_SERVER, starts the loopback feature server
#     (featsrv.py) the same way, outside the job's process tree (so a tracer of the
#     job does not see it, as with a remote store), and exports its address as
#     ST_FEATURE_SERVER=127.0.0.1:PORT once it listens;
#   - runs `PREFIX COMMAND` with eval from the repo root.  The runner never adds
#     tracer options by itself: the caller places them in the prefix, single-quoted
#     so that eval expands them, e.g.
#         --prefix '$BUILD/tracer run -o /tmp/x.zst $ST_TRACER_OPTS --'
#   - writes the command's truth line ({"stalltrace_truth":1,...}) to FILE, or to
#     stdout without --truth; its other stdout lines go to stdout, stderr is left alone.
#
# Exit status: the command's; 1 when it succeeded but printed no truth line;
# 2 for a usage error or an unknown scenario.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
table=$root/tests/scenarios.tsv

usage()
{
	echo "scenario.sh: $*" >&2
	echo "usage: scenario.sh NAME [--prefix 'CMD ...'] [--truth FILE] [--table FILE] | --list" >&2
	exit 2
}

# Prints the table's rows without comments or blank lines.
rows()
{
	grep -v -e '^#' -e '^[[:space:]]*$' "$table"
}

name= prefix= truth= list=0
while [ $# -gt 0 ]; do
	case $1 in
	--list) list=1 ;;
	--table) [ $# -ge 2 ] || usage "--table needs a value"; table=$2; shift ;;
	--prefix) [ $# -ge 2 ] || usage "--prefix needs a value"; prefix=$2; shift ;;
	--truth) [ $# -ge 2 ] || usage "--truth needs a value"; truth=$2; shift ;;
	-*) usage "unknown option '$1'" ;;
	*) [ -z "$name" ] || usage "one scenario at a time"; name=$1 ;;
	esac
	shift
done
[ -r "$table" ] || usage "cannot read the table '$table'"
if [ "$list" = 1 ]; then
	rows | cut -f1,2
	exit 0
fi
[ -n "$name" ] || usage "no scenario named"

row=$(rows | awk -F'\t' -v n="$name" '$1 == n' | head -n 1)
[ -n "$row" ] || usage "no scenario '$name' in $table"
IFS=$'\t' read -r _ verdict hogs topts cmd <<<"$row"
[[ $hogs =~ ^[0-9]+$ ]] || usage "scenario '$name': bad hogs column '$hogs'"

BUILD=${BUILD:-$root/build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
ST_DATA=${ST_DATA:-$BUILD/data}
case $ST_DATA in /*) ;; *) ST_DATA=$PWD/$ST_DATA ;; esac
[ "$topts" = - ] && topts=
export BUILD ST_DATA ST_SCENARIO=$name ST_VERDICT=$verdict ST_HOGS=$hogs ST_TRACER_OPTS=$topts
mkdir -p "$ST_DATA" || exit 2

hog_pids=()
out=$(mktemp "${TMPDIR:-/tmp}/st-scenario.XXXXXX") || exit 2
cleanup()
{
	local p

	for p in "${hog_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -f "$out" "$out.port"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ((i = 0; i < hogs; i++)); do
	bash -c 'while :; do :; done' &
	hog_pids+=($!)
done

if [[ $cmd == *ST_FEATURE_SERVER* ]]; then
	# the port line, through a FIFO, is the server's "listening" announcement
	mkfifo "$out.port" || exit 2
	/usr/bin/python3 "$root/tests/workloads/featsrv.py" >"$out.port" </dev/null &
	hog_pids+=($!)
	read -r port <"$out.port"
	[[ $port =~ ^[0-9]+$ ]] || { echo "scenario.sh: featsrv.py did not start" >&2; exit 2; }
	export ST_FEATURE_SERVER=127.0.0.1:$port
fi

(cd "$root" && eval "$prefix $cmd") >"$out"
rc=$?

grep -v '^{"stalltrace_truth":1,' "$out"
if ! grep -q '^{"stalltrace_truth":1,' "$out"; then
	echo "scenario.sh: $name printed no truth line (exit status $rc)" >&2
	[ "$rc" -eq 0 ] && rc=1
elif [ -n "$truth" ]; then
	grep '^{"stalltrace_truth":1,' "$out" >"$truth" || rc=1
else
	grep '^{"stalltrace_truth":1,' "$out"
fi
exit "$rc"
