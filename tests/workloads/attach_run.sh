#!/usr/bin/env bash
# Runs a workload and traces it in attach mode, the way a user attaches to a job
# that is already running: the job starts untraced, runs its warm-up steps (its
# DataLoader workers already forked), and waits at the attach gate at the start of
# its measured window; then `tracer attach` attaches to the job's process tree and,
# once the tracer says it is attached, the gate opens.  No sleep decides anything:
# the job announces that it reached the gate (a line in a file), the tracer
# announces that it is attached (a line on its stderr).
#
#   attach_run.sh -o TRACE [tracer options] -- COMMAND [ARGS...]
#
# The gate (wl_common.gate()): $ST_GATE is a FIFO this script holds open; every
# gated process appends its pid to $ST_GATE.ready, then reads one byte.  After the
# attach this script writes 16 bytes: enough for every rank of a job.  A command
# that never reaches the gate (no line within 120 s, or it exits) fails the run.
# $TRACER (default $BUILD/tracer) is the tracer; its stderr goes to TRACE.tracer.log.
# Exit status: the command's; else the tracer's when it failed; 1 when the
# attach failed.  Works as scenario.sh's --prefix:
#   scenario.sh NAME --prefix 'tests/workloads/attach_run.sh -o /tmp/x.zst $ST_TRACER_OPTS --'
set -u

here=$(cd "$(dirname "$0")" && pwd)
TRACER=${TRACER:-${BUILD:-$here/../../build}/tracer}
out= topts=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift ;;
	--) shift; break ;;
	*) topts+=("$1") ;;
	esac
	shift
done
[ -n "$out" ] && [ $# -gt 0 ] || {
	echo "usage: attach_run.sh -o TRACE [tracer options] -- COMMAND [ARGS...]" >&2
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/st-attach.XXXXXX") || exit 2
job= tpid=
cleanup()
{
	[ -n "$job" ] && kill -TERM "$job" 2>/dev/null
	[ -n "$tpid" ] && kill -INT "$tpid" 2>/dev/null
	[ -n "$job" ] && wait "$job" 2>/dev/null
	[ -n "$tpid" ] && wait "$tpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkfifo "$tmp/gate" || exit 2
exec 7<>"$tmp/gate"
ST_GATE=$tmp/gate "$@" &
job=$!

# until the job is at the gate (or gone)
i=0
until [ -s "$tmp/gate.ready" ]; do
	if ! kill -0 "$job" 2>/dev/null || [ $i -gt 6000 ]; then
		echo "attach_run.sh: the job never reached the attach gate" >&2
		wait "$job"
		rc=$?
		job=
		[ "$rc" = 0 ] && rc=1
		exit "$rc"
	fi
	i=$((i + 1))
	sleep 0.02
done

# a log left by an earlier run must not open the gate: the shell truncates it only
# once the tracer's process is on its way, after the first look below may have run
rm -f "$out.tracer.log"
"$TRACER" attach -v -q --force -o "$out" "${topts[@]}" "$job" 2>"$out.tracer.log" &
tpid=$!
i=0 attached=0
while [ $i -le 3000 ] && kill -0 "$tpid" 2>/dev/null; do
	grep -q "^tracer: attached to" "$out.tracer.log" && { attached=1; break; }
	i=$((i + 1))
	sleep 0.02
done
grep -q "^tracer: attached to" "$out.tracer.log" && attached=1
[ "$attached" = 1 ] || echo "attach_run.sh: the tracer did not attach:" \
	"$(grep '^tracer:' "$out.tracer.log" | tail -n 2)" >&2

printf 'gggggggggggggggg' >&7
wait "$job"
rc=$?
job=
if [ "$attached" = 1 ]; then
	# the tracer stops by itself when the traced processes have exited
	wait "$tpid"
	trc=$?
	tpid=
	[ "$rc" = 0 ] && rc=$trc
else
	[ "$rc" = 0 ] && rc=1
fi
grep '^tracer: wrote' "$out.tracer.log" >&2
exit "$rc"
