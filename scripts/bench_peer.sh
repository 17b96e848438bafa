#!/usr/bin/env bash
# make bench: runs COMMAND under one tracing tool, recording the benchmark's event set
# (context switches, wakeups, syscalls, block requests, fork/exec/exit) for COMMAND and
# every thread and process it creates, into OUT.
#
#   scripts/bench_peer.sh TOOL OUT -- COMMAND [ARGS...]
#
# TOOL: none (COMMAND alone), stalltrace, perf, trace-cmd, bpftrace, or a floor
# (floor-empty, floor-cache, floor-rawtp: COMMAND beside two syscall programs that
# do nothing, bpf/floor.bpf.c).  The tool's own messages (and COMMAND's stderr,
# which the tool passes on) go to OUT.log; COMMAND's
# stdout stays on stdout.  $BENCH_OPTS is added to the tool's options (word-split; the
# benchmark only puts fixed option words there, e.g. "--buffer-mb 2").
# Exit status: COMMAND's (trace-cmd does not pass it on: 0 when it left a trace).
set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$here/../build}"
if [ $# -lt 4 ] || [ "$3" != -- ]; then
	echo "usage: bench_peer.sh TOOL OUT -- COMMAND..." >&2
	exit 2
fi
tool=$1 out=$2
shift 3
read -r -a opts <<<"${BENCH_OPTS:-}"

# The same tracepoints for perf and trace-cmd (stalltrace and the bpftrace script
# attach to the same ones).
events=(sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new
	raw_syscalls:sys_enter raw_syscalls:sys_exit block:block_rq_issue block:block_rq_complete
	sched:sched_process_fork sched:sched_process_exec sched:sched_process_exit)
ev_args=()
for e in "${events[@]}"; do ev_args+=(-e "$e"); done

case $tool in
none)
	exec "$@" ;;
stalltrace)
	exec "$BUILD/tracer" run -q --force -o "$out" "${opts[@]}" -- "$@" 2>"$out.log" ;;
perf)
	# perf record -- CMD: per-task events inherited by every child; one sample per
	# tracepoint hit (the default period for tracepoints is 1).
	exec perf record "${ev_args[@]}" "${opts[@]}" -o "$out" -- "$@" 2>"$out.log" ;;
trace-cmd)
	# -F -c: only COMMAND and its descendants (set_event_pid + the event-fork option).
	# This kernel refuses the function tracer's files (set_ftrace_pid,
	# set_ftrace_filter, /proc/sys/kernel/ftrace_enabled: EPERM), which trace-cmd 3.1
	# touches even for events only: -d skips ftrace_enabled, --no-filter skips the
	# set_ftrace_pid read that crashes its command child.  It still fails on
	# set_ftrace_filter while resetting, after the trace file is complete: exit 1.
	# Not exec'd (its exit status needs fixing), so a stop request is passed on.
	rm -f "$out"
	trace-cmd record -d --no-filter -F -c "${ev_args[@]}" "${opts[@]}" -o "$out" "$@" \
		2>"$out.log" &
	tc=$!
	trap 'kill -INT $tc 2>/dev/null' INT TERM
	wait $tc
	rc=$?
	# a signal interrupted the first wait: wait for trace-cmd to finish its file
	kill -0 $tc 2>/dev/null && { wait $tc; rc=$?; }
	[ -s "$out" ] && rc=0
	exit "$rc" ;;
floor-empty | floor-cache | floor-rawtp)
	# not a tracer: COMMAND beside one pair of bpf/floor.bpf.c's syscall programs,
	# attached before it starts and detached after it ends (no trace written)
	rm -f "$out.ready"
	"$BUILD/tests/floor" "${tool#floor-}" "$out.ready" 2>"$out.log" &
	fl=$!
	trap 'kill $fl 2>/dev/null' EXIT
	while [ ! -s "$out.ready" ]; do
		kill -0 $fl 2>/dev/null || { cat "$out.log" >&2; exit 1; }
		sleep 0.05
	done
	"$@"
	rc=$?
	kill $fl
	wait $fl 2>/dev/null
	rm -f "$out.ready"
	exit "$rc" ;;
bpftrace)
	# bpftrace -c splits COMMAND on spaces itself (the benchmark's commands have no
	# quoted arguments) and runs only ELF files (name /bin/sh for a script).  Its
	# "couldn't set RLIMIT_MEMLOCK" error is harmless on kernels >= 5.11.
	exec bpftrace "${opts[@]}" -o "$out" "$here/bench_peer.bt" -c "$*" 2>"$out.log" ;;
*)
	echo "bench_peer.sh: unknown tool '$tool'" >&2
	exit 2 ;;
esac
