#!/usr/bin/env bash
# Launches tests/workloads/ddp_train.py with Debian's torchrun, on one node or as two
# nodes on this machine, and prints the job's truth line on stdout.
#
#   ddp_launch.sh [--nnodes 1|2] [--nproc N] [--per-node-tracers] -- [ddp_train.py options]
#
#   --nnodes 1  (default) one torchrun agent, --nproc ranks (default 2):
#               torchrun --nproc_per_node N --master_addr 127.0.0.1 --master_port P
#   --nnodes 2  two torchrun agents, one rank each, as two nodes: --nnodes 2
#               --node_rank 0|1, static rendezvous on 127.0.0.1:P.  Each agent is its
#               own process tree (a child of this script), as on two machines.
#   --per-node-tracers  (two nodes) trace each agent with its own tracer, as one
#               would on two machines: $ST_TRACE_MODE run (each agent under
#               `tracer run`) or attach (each agent started, then `tracer attach`ed
#               to it before the measured window: the ranks wait at the attach
#               gate); the traces go to $ST_TRACE_OUT-n0.zst and -n1.zst, each
#               tracer's stderr to ...-nN.tracer.log.  $BUILD/tracer is used.
#
# Every agent runs with --redirects 2 --tee 1 (Debian 12's torchrun, torch 1.13 on
# Python 3.11, crashes with the default values: an enum change in Python 3.11),
# --monitor_interval 0.2 (the default 5 s keeps the agent alive up to 5 s after its
# ranks exit) and --rdzv_id stalltrace-<pid> (TORCHELASTIC_RUN_ID).  The ranks'
# stderr goes to log files, printed here when the job fails.
# $ST_JOB_ROOT (this script's pid) tells rank 0 which processes are the job's.
# Exit status: the first failing agent's (or tracer's), 1 without a truth line.
set -u

here=$(cd "$(dirname "$0")" && pwd)
nnodes=1 nproc=2 per_node=0
while [ $# -gt 0 ]; do
	case $1 in
	--nnodes) nnodes=$2; shift ;;
	--nproc) nproc=$2; shift ;;
	--per-node-tracers) per_node=1 ;;
	--) shift; break ;;
	*) echo "ddp_launch.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
case $nnodes in 1|2) ;; *) echo "ddp_launch.sh: --nnodes must be 1 or 2" >&2; exit 2 ;; esac
[[ $nproc =~ ^[1-9][0-9]?$ ]] || { echo "ddp_launch.sh: bad --nproc '$nproc'" >&2; exit 2; }
if [ "$per_node" = 1 ]; then
	[ "$nnodes" = 2 ] || { echo "ddp_launch.sh: --per-node-tracers needs --nnodes 2" >&2; exit 2; }
	case ${ST_TRACE_MODE:-} in run|attach) ;; *)
		echo "ddp_launch.sh: --per-node-tracers needs ST_TRACE_MODE=run|attach" >&2; exit 2 ;;
	esac
	[ -n "${ST_TRACE_OUT:-}" ] || { echo "ddp_launch.sh: ST_TRACE_OUT is not set" >&2; exit 2; }
	TRACER=${BUILD:-$here/../../build}/tracer
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/st-ddp.XXXXXX") || exit 2
pids=() tpids=()
cleanup()
{
	local p

	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port from the kernel (bound and released: another job could take it in
# between, in which case the rendezvous fails loudly).
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ST_JOB_ROOT=$$
common=(--redirects 2 --tee 1 --monitor_interval 0.2 --rdzv_id "stalltrace-$$"
	--master_addr 127.0.0.1 --master_port "$port")
train=("$here/ddp_train.py" --truth "$tmp/truth.json" "$@")

# wait_lines FILE N PID...: until FILE has N lines; fails if one of PIDs exits first
wait_lines()
{
	local f=$1 n=$2 i=0 p
	shift 2
	while [ "$(cat "$f" 2>/dev/null | wc -l)" -lt "$n" ]; do
		for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done
		i=$((i + 1))
		[ $i -gt 6000 ] && return 1
		sleep 0.02
	done
}

# wait_text FILE TEXT PID: until FILE contains TEXT; fails if PID exits first
wait_text()
{
	local i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -gt 3000 ] && return 1
		sleep 0.02
	done
}

rc=0
if [ "$nnodes" = 1 ]; then
	torchrun --nproc_per_node "$nproc" --log_dir "$tmp/logs" "${common[@]}" "${train[@]}" &
	pids+=($!)
	wait "${pids[0]}" || rc=$?
else
	statics=(--nnodes 2 --nproc_per_node 1 --rdzv_backend static)
	if [ "$per_node" = 1 ] && [ "$ST_TRACE_MODE" = attach ]; then
		mkfifo "$tmp/gate" || exit 2
		exec 7<>"$tmp/gate"
		export ST_GATE=$tmp/gate
	fi
	for n in 0 1; do
		pre=()
		if [ "$per_node" = 1 ] && [ "$ST_TRACE_MODE" = run ]; then
			pre=("$TRACER" run -q --force -o "$ST_TRACE_OUT-n$n.zst" --)
		fi
		"${pre[@]}" torchrun "${statics[@]}" --node_rank "$n" --log_dir "$tmp/logs$n" \
			"${common[@]}" "${train[@]}" 2>"$tmp/agent$n.err" &
		pids+=($!)
	done
	if [ "$per_node" = 1 ] && [ "$ST_TRACE_MODE" = attach ]; then
		# both ranks past their warm-up steps: attach a tracer to each agent's tree
		if ! wait_lines "$tmp/gate.ready" 1 "${pids[@]}"; then
			echo "ddp_launch.sh: no rank reached the attach gate" >&2
			rc=1
		else
			for n in 0 1; do
				# not an earlier run's "attached to" (see attach_run.sh)
				rm -f "$ST_TRACE_OUT-n$n.tracer.log"
				"$TRACER" attach -v -q --force -o "$ST_TRACE_OUT-n$n.zst" "${pids[$n]}" \
					2>"$ST_TRACE_OUT-n$n.tracer.log" &
				tpids[$n]=$!
			done
			for n in 0 1; do
				wait_text "$ST_TRACE_OUT-n$n.tracer.log" "attached to" "${tpids[$n]}" || {
					echo "ddp_launch.sh: tracer $n did not attach:" \
						"$(tail -n 2 "$ST_TRACE_OUT-n$n.tracer.log")" >&2
					rc=1
				}
			done
		fi
		printf 'gggggggggggggggg' >&7  # one byte per waiting rank (at most 16)
	fi
	for n in 0 1; do
		wait "${pids[$n]}" || { r=$?; [ "$rc" = 0 ] && rc=$r; }
	done
	for n in 0 1; do
		[ -n "${tpids[$n]:-}" ] && { wait "${tpids[$n]}" || { r=$?; [ "$rc" = 0 ] && rc=$r; }; }
	done
fi
pids=() tpids=()

if [ -s "$tmp/truth.json" ] && [ "$rc" = 0 ]; then
	cat "$tmp/truth.json"
else
	echo "ddp_launch.sh: the job failed (exit $rc); the ranks' stderr:" >&2
	find "$tmp" -name 'stderr.log' -exec tail -n 15 {} + >&2 2>/dev/null
	for f in "$tmp"/agent*.err; do [ -f "$f" ] && tail -n 5 "$f" >&2; done
	[ "$rc" = 0 ] && rc=1
fi
exit "$rc"
