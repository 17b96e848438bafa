#!/usr/bin/env bash
# make bench: stalltrace side by side with perf, trace-cmd and bpftrace, on the same
# workloads and the same event set (docs/performance.md explains the method).
#
#   BUILD=/abs/build scripts/bench.sh          (make bench sets BUILD; needs root)
#   BENCH_QUICK=1 make bench                   1-2 repetitions, smaller sizes (~2 min)
#   BENCH_ONLY="sysloop untraced" make bench   only these parts (sysloop untraced
#                                              switches workloads pt_size capture
#                                              analysis merge)
#   BENCH_WORKLOADS="pt_prep pt_fetch"         only these workloads
#   BENCH_REPS, BENCH_WL_REPS, BENCH_HEAD_REPS, BENCH_AN_REPS   repetitions of the
#                                              syscall loops (sysloop, untraced), the
#                                              workloads, the stalltrace capture
#                                              configurations, the analysis
#   BENCH_SWEEP=0                              no paced capture sweep
#   BENCH_AN=stgen                             analysis of the synthetic trace only
#
# Writes build/bench/: results.md (the tables), results.json, summary.md (the README
# table), chart.svg (+ chart.dat), raw.jsonl (every measurement), log.txt.  Peer traces
# go to build/bench/tmp and are deleted as soon as they are measured.
#
# Every figure is repeated; untraced and traced runs alternate inside one repetition
# (tools in rotating order), so each traced/untraced ratio comes from one repetition.
# A peer that cannot run here is left out and the report says why.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$PWD
: "${BUILD:=$root/build}"
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
export BUILD
out=$BUILD/bench
tmp=$out/tmp
raw=$out/raw.jsonl
lib=(/usr/bin/python3 "$root/scripts/bench_lib.py")
peer=$root/scripts/bench_peer.sh
start_s=$SECONDS

# ---------------------------------------------------------------- sizes

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	mode=quick
	REPS=2			# sysloop and untraced-process repetitions
	WL_REPS=1		# workload repetitions
	WORKLOADS="ts_prep pt_prep"
	PT_SIZE=""		# extra PyTorch scenarios for the bytes/event target
	SYSLOOP_CALLS=500000	# per run, 1 thread (bpftrace: / 20, it is ~100x slower)
	SW_TRIPS=20000		# pingpong round trips beside a traced idle job
	HEAD_REPS=1		# stalltrace capture configurations
	HEAD_CALLS=1000000	# per thread
	CAP_RATES="1000000 0"	# paced sweep, syscalls/s (0: unpaced)
	CAP_SECS=0.5
	CAP_REPS=1
	BIG_CALLS=250000	# per thread, 2 threads: the large trace the peers record
	BIG_REPS=1
	STGEN_EVENTS=10000000	# the synthetic trace for the analyzer targets
	AN_REPS=1
	MERGE_RANKS=1024	# analyze --merge of this many per-node reports (repgen)
	MERGE_STEPS=1000
	MERGE_REPS=1
else
	mode=full
	REPS=5
	WL_REPS=7		# issue 16: a median of >= 7 interleaved pairs
	# the three real PyTorch jobs of the overhead target: prep-bound, fetch-bound
	# (4 KiB O_DIRECT reads, a high syscall rate), 2-rank DDP on gloo (loopback
	# network, many wakeups); and two trainsim jobs
	WORKLOADS="pt_prep pt_fetch ddp_balanced_compute ts_prep ts_compute"
	PT_SIZE="pt_compute pt_checkpoint"
	SYSLOOP_CALLS=2000000
	SW_TRIPS=100000
	HEAD_REPS=3
	HEAD_CALLS=4000000
	CAP_RATES="250000 500000 1000000 2000000 4000000 0"
	CAP_SECS=1
	CAP_REPS=2
	BIG_CALLS=2500000
	BIG_REPS=3
	STGEN_EVENTS=100000000
	AN_REPS=3
	MERGE_RANKS=4096
	MERGE_STEPS=1000
	MERGE_REPS=3
fi

# The floor under every tool's per-syscall cost, in the rotation of the sysloop and
# untraced parts (bench_peer.sh runs the command beside build/tests/floor, which
# attaches bpf/floor.bpf.c's programs): two empty tp_btf programs on the syscall
# tracepoints, the same with stalltrace's untraced-path check in them, two empty
# raw_tp ones.
FLOORS="floor-empty floor-cache floor-rawtp"

# a shorter run on a busy machine: only these workloads, fewer repetitions
WORKLOADS=${BENCH_WORKLOADS:-$WORKLOADS}
REPS=${BENCH_REPS:-$REPS}
WL_REPS=${BENCH_WL_REPS:-$WL_REPS}
HEAD_REPS=${BENCH_HEAD_REPS:-$HEAD_REPS}
AN_REPS=${BENCH_AN_REPS:-$AN_REPS}

# ---------------------------------------------------------------- helpers

log()
{
	printf '[bench %4ds] %s\n' $((SECONDS - start_s)) "$*" | tee -a "$out/log.txt" >&2
}

add()
{
	"${lib[@]}" add "$raw" "$@"
}

# rotate N WORD...: the words rotated left by N, so each repetition runs the tools in
# a different order and no tool always runs right after the same one.
rotate()
{
	local n=$1
	shift
	local a=("$@") i
	for ((i = 0; i < ${#a[@]}; i++)); do
		printf '%s ' "${a[(i + n) % ${#a[@]}]}"
	done
}

bg_pids=()
touched_tracefs=0
cleanup()
{
	local p

	# an idle job a tool is tracing: ending it ends the tool
	[ -s "$tmp/ready" ] && kill "$(cat "$tmp/ready")" 2>/dev/null
	for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	# trace-cmd resets the event-pid filter itself, but not when it is killed, and it
	# leaves the event-fork option (set by -c) on
	if [ "$touched_tracefs" = 1 ] && [ -w /sys/kernel/tracing/set_event_pid ]; then
		echo >/sys/kernel/tracing/set_event_pid 2>/dev/null
		echo 0 >/sys/kernel/tracing/events/enable 2>/dev/null
		echo 0 >/sys/kernel/tracing/options/event-fork 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_peer TOOL TRACE -- CMD...: CMD under TOOL, its stdout to $tmp/stdout.
run_peer()
{
	[ "$1" = trace-cmd ] && touched_tracefs=1
	"$peer" "$@" >"$tmp/stdout"
}

# trace_args TOOL PATH: sets targs to the add options that read TOOL's trace (none
# for no tool and for the floors, which write none).
trace_args()
{
	targs=()
	[ "$1" = none ] || [[ $1 == floor-* ]] || targs=(--trace "$1" "$2")
}

# ---------------------------------------------------------------- preflight

# cpu_busy_pct: how busy all CPUs are over one second (other users' work skews figures).
cpu_busy_pct()
{
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 1
	b=$(head -n 1 /proc/stat)
	# fields: cpu user nice system idle iowait irq softirq steal
	awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x); split(b, y); tot = 0
		for (i = 2; i <= 9; i++) tot += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6])
		printf "%d\n", (tot > 0 ? 100 * (tot - idle) / tot : 0) }'
}

preflight()
{
	local t f

	if [ "$(id -u)" != 0 ]; then
		echo "bench: needs root (the tracers load BPF programs and use tracefs)" >&2
		exit 1
	fi
	for f in tracer analyze tests/sysloop tests/bench_rate tests/stgen tests/trainsim \
		tests/repgen tests/floor; do
		[ -x "$BUILD/$f" ] || { echo "bench: $BUILD/$f missing: run make bench" >&2; exit 1; }
	done
	# perf and trace-cmd need tracefs; a fresh machine may not have it mounted
	if [ ! -e /sys/kernel/tracing/events ]; then
		mount -t tracefs nodev /sys/kernel/tracing ||
			{ echo "bench: cannot mount tracefs on /sys/kernel/tracing" >&2; exit 1; }
	fi
	rm -rf "$out"
	mkdir -p "$tmp"
	: >"$raw"
	TOOLS=(stalltrace)
	for t in perf trace-cmd bpftrace; do
		if ! command -v "$t" >/dev/null; then
			add section=peer tool=$t ok=0 "reason=$t is not installed (scripts/deps.sh --bench)"
			log "peer $t: not installed, left out"
			continue
		fi
		if run_peer "$t" "$tmp/smoke" -- "$BUILD/tests/sysloop" 1000 1 &&
			grep -q '"calls"' "$tmp/stdout" && [ -s "$tmp/smoke" ]; then
			TOOLS+=("$t")
			add section=peer tool=$t ok=1
		else
			f=$(grep -v '^ *$' "$tmp/smoke.log" 2>/dev/null | head -n 1 | tr -dc '[:print:]')
			add section=peer tool=$t ok=0 "reason=smoke test failed: ${f:-no trace written}"
			log "peer $t: smoke test failed (${f:-no trace}), left out"
		fi
		rm -f "$tmp"/smoke*
	done
	busy=$(cpu_busy_pct)
	if [ "$busy" -gt 10 ]; then
		log "warning: the machine is $busy% busy before the benchmark: figures will be noisy"
		add section=note "text=The machine was $busy% busy (all CPUs) in the second before the run: other work competed with the benchmark."
	fi
	add section=meta "busy_before_pct=$busy" "mode=$mode" "reps=$REPS" "date=$(date -u +%Y-%m-%dT%H:%MZ)" \
		"kernel=$(uname -r)" "cpus=$(nproc)" \
		"command=$([ "$mode" = quick ] && echo 'BENCH_QUICK=1 ')make bench" \
		"versions=$(perf --version 2>/dev/null | head -n 1); trace-cmd $(trace-cmd --version 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -n 1); $(bpftrace --version 2>/dev/null)"
	log "mode $mode, tools: ${TOOLS[*]}"
}

# ---------------------------------------------------------------- overhead

# A tight getppid() loop (sysloop, 1 thread) untraced and under each tool.
bench_sysloop()
{
	local rep t n fp

	log "sysloop: $SYSLOOP_CALLS getppid() calls x $REPS repetitions"
	for ((rep = 1; rep <= REPS; rep++)); do
		# shellcheck disable=SC2086  # FLOORS: words
		for t in $(rotate "$rep" none "${TOOLS[@]}" $FLOORS); do
			n=$SYSLOOP_CALLS
			[ "$t" = bpftrace ] && n=$((SYSLOOP_CALLS / 20))
			fp=$(foreign_sys_progs)
			run_peer "$t" "$tmp/sl.$t" -- "$BUILD/tests/sysloop" "$n" 1 ||
				log "sysloop under $t failed"
			trace_args "$t" "$tmp/sl.$t"
			add section=sysloop "tool=$t" "rep=$rep" "load1=$(cut -d' ' -f1 /proc/loadavg)" \
				"foreign_sys_progs=$fp" "foreign_after=$(foreign_sys_progs)" \
				--json "$tmp/stdout" "${targs[@]}"
			rm -f "$tmp/sl.$t" "$tmp/sl.$t.log"
		done
	done
}

# beside TOOL FN: the function FN runs while TOOL traces an idle job (a sleep), outside
# the traced tree; with none, alone.  Sets fp and fa: other users' programs on the
# syscall tracepoints before and after.  1 when the tool did not start its job.
beside()
{
	local t=$1 fn=$2 bp i

	if [ ! -x "$tmp/idle.sh" ]; then
		# shellcheck disable=SC2016  # the $s are for the idle script
		printf '#!/bin/sh\necho $$ >"$1.tmp" && mv "$1.tmp" "$1"\nexec sleep 600\n' >"$tmp/idle.sh"
		chmod +x "$tmp/idle.sh"
	fi
	fp=$(foreign_sys_progs)
	if [ "$t" = none ]; then
		"$fn"
		fa=$(foreign_sys_progs)
		return 0
	fi
	rm -f "$tmp/ready"
	[ "$t" = trace-cmd ] && touched_tracefs=1
	# /bin/sh named: bpftrace -c runs ELF files only
	"$peer" "$t" "$tmp/idle.$t" -- /bin/sh "$tmp/idle.sh" "$tmp/ready" >/dev/null &
	bp=$!
	bg_pids+=("$bp")
	# the job starts only once the tool has attached
	for ((i = 0; i < 300; i++)); do
		[ -s "$tmp/ready" ] && break
		sleep 0.1
	done
	if [ ! -s "$tmp/ready" ]; then
		log "$fn: $t did not start its job, skipped"
		kill "$bp" 2>/dev/null
		wait "$bp"
		return 1
	fi
	sleep 0.3
	"$fn"
	fa=$(foreign_sys_progs "$bp")
	kill "$(cat "$tmp/ready")"
	wait "$bp"
	rm -f "$tmp/idle.$t" "$tmp/idle.$t.log"
}

# The cost a tool imposes on processes it does NOT trace: the tool traces an idle job
# (a sleep), and sysloop runs beside it, outside the traced tree.  The floors run in
# the same rotation.
untraced_run()
{
	"$BUILD/tests/sysloop" "$SYSLOOP_CALLS" 1 >"$tmp/sl.out"
}

bench_untraced()
{
	local rep t fp fa

	log "untraced processes: sysloop beside a traced idle job, and beside the floors, x $REPS"
	for ((rep = 1; rep <= REPS; rep++)); do
		# shellcheck disable=SC2086  # FLOORS: words
		for t in $(rotate "$rep" none "${TOOLS[@]}" $FLOORS); do
			beside "$t" untraced_run || continue
			# other users' tracers on the syscall tracepoints (their stalltrace
			# programs) add to every run: recorded to tell a repetition they changed
			add section=untraced "tool=$t" "rep=$rep" "load1=$(cut -d' ' -f1 /proc/loadavg)" \
				"foreign_sys_progs=$fp" "foreign_after=$fa" --json "$tmp/sl.out"
		done
	done
}

# The cost of a tool's scheduler programs to programs it does not trace: pingpong's two
# threads wake each other through pipes SW_TRIPS times (two context switches and two
# wakeups a round trip), beside a traced idle job; free (2 CPUs: the idle task comes
# and goes) and on one CPU (taskset -c 0: the threads switch to each other).  Every
# tool's sched_switch/sched_wakeup probes run for every task on the machine.
switches_run()
{
	"${lib[@]}" measure "$tmp/sw.free.json" -- "$BUILD/tests/pingpong" "$SW_TRIPS"
	"${lib[@]}" measure "$tmp/sw.pinned.json" -- taskset -c 0 "$BUILD/tests/pingpong" "$SW_TRIPS"
}

bench_switches()
{
	local rep t fp fa m

	log "context switches: an untraced pingpong ($SW_TRIPS pipe round trips) beside a traced idle job, free and on one CPU, x $REPS"
	for ((rep = 1; rep <= REPS; rep++)); do
		for t in $(rotate "$rep" none "${TOOLS[@]}"); do
			beside "$t" switches_run || continue
			for m in free pinned; do
				add section=switches "tool=$t" "rep=$rep" "cpus=$m" "trips=$SW_TRIPS" \
					"load1=$(cut -d' ' -f1 /proc/loadavg)" --measure "$tmp/sw.$m.json"
			done
		done
	done
}

# foreign_sys_progs [PID]: BPF programs on the syscall tracepoints now, of any tool
# (other users' tracers and benchmarks), less those held by PID and its descendants
# (the tool being measured).  perf's and trace-cmd's own probes are not BPF: not
# counted.  Taken before and after each run.
foreign_sys_progs()
{
	bpftool -j perf 2>/dev/null | /usr/bin/python3 -c 'import json, os, sys
own = {int(sys.argv[1])} if sys.argv[1] else set()
kids = {}
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        st = open(f"/proc/{p}/stat").read()
    except OSError:
        continue
    kids.setdefault(int(st.rsplit(")", 1)[1].split()[1]), []).append(int(p))
todo = list(own)
while todo:
    for k in kids.get(todo.pop(), []):
        own.add(k)
        todo.append(k)
try:
    att = json.load(sys.stdin)
except ValueError:
    att = []
print(len({a["prog_id"] for a in att if a.get("tracepoint") in ("sys_enter", "sys_exit")
           and a.get("pid") not in own}))' "${1:-}"
}

# scenario_table NAME: the scenario table that has NAME (tests/scenarios-next.tsv
# holds the DDP jobs).
scenario_table()
{
	if grep -v '^#' tests/scenarios.tsv | cut -f1 | grep -qx -- "$1"; then
		echo tests/scenarios.tsv
	else
		echo tests/scenarios-next.tsv
	fi
}

# The reference scenarios untraced and under each tool.  The last repetition's
# pt_prep traces are kept for the analysis benchmark.
bench_workloads()
{
	local rep w t tr sh
	local -a copts

	log "workloads: $WORKLOADS x $WL_REPS repetitions"
	for ((rep = 1; rep <= WL_REPS; rep++)); do
		for w in $WORKLOADS; do
			for t in $(rotate "$rep" none "${TOOLS[@]}"); do
				tr=$tmp/wl.$t
				[ "$t" = trace-cmd ] && touched_tracefs=1
				rm -f "$tmp/truth"
				# the DDP launcher is a shell script: bpftrace -c runs ELF files only
				sh=
				[[ $w == ddp_* ]] && sh=/bin/bash
				"${lib[@]}" measure "$tmp/m.json" --stdout "$tmp/stdout" -- \
					tests/workloads/scenario.sh "$w" --table "$(scenario_table "$w")" \
					--truth "$tmp/truth" --prefix "$peer $t $tr -- $sh" || {
					log "$w under $t failed (exit status $?): log kept in $out/failed-$w-$t-$rep.log"
					cp "$tr.log" "$out/failed-$w-$t-$rep.log" 2>/dev/null
				}
				trace_args "$t" "$tr"
				# the trace's contents (events, size after zstd -3) from the first
				# repetition: decoding a peer's trace costs more than the run
				copts=()
				[ "$rep" = 1 ] && copts=(--count --zstd)
				add section=workload "workload=$w" "tool=$t" "rep=$rep" --truth "$tmp/truth" \
					--measure "$tmp/m.json" "${targs[@]}" "${copts[@]}"
				if [ "$w" = pt_prep ] && [ "$rep" = "$WL_REPS" ] && [ "$t" != none ]; then
					mv "$tr" "$tmp/an.pt_prep.$t"
					mv "$tr.log" "$tmp/an.pt_prep.$t.log"
				fi
				rm -f "$tr" "$tr.log"
			done
		done
	done
}

# bytes/event of stalltrace traces of the other PyTorch scenarios (the target is a
# median over PyTorch training traces; pt_prep's come from bench_workloads).
bench_pt_size()
{
	local s

	for s in $PT_SIZE; do
		log "size: $s under stalltrace"
		tests/workloads/scenario.sh "$s" --truth "$tmp/truth" \
			--prefix "$peer stalltrace $tmp/pt.zst --" >/dev/null ||
			log "$s under stalltrace failed"
		add section=pt_size "workload=$s" tool=stalltrace --trace stalltrace "$tmp/pt.zst"
		rm -f "$tmp/pt.zst" "$tmp/pt.zst.log"
	done
}

# ---------------------------------------------------------------- capture limits

# capture_run TOOL CONFIG REP COUNT CMD...: one capture run, its trace read and deleted.
capture_run()
{
	local t=$1 config=$2 rep=$3 count=$4
	shift 4

	run_peer "$t" "$tmp/cap.$t" -- "$@" || log "capture: $config under $t failed"
	local -a copts=()
	[ "$count" = 1 ] && copts=(--count)
	add section=capture "tool=$t" "config=$config" "rep=$rep" --json "$tmp/stdout" \
		--trace "$t" "$tmp/cap.$t" "${copts[@]}"
	rm -f "$tmp/cap.$t" "$tmp/cap.$t.log"
}

bench_capture()
{
	local rep t rate hog n count

	log "capture: stalltrace configurations x $HEAD_REPS"
	for ((rep = 1; rep <= HEAD_REPS; rep++)); do
		# events counted by decoding the trace in the first repetition only (slow)
		local c=$((rep == 1))
		capture_run stalltrace "sysloop 2 threads, default buffer" $rep $c \
			"$BUILD/tests/sysloop" "$HEAD_CALLS" 2
		capture_run stalltrace "sysloop 4 threads, default buffer" $rep $c \
			"$BUILD/tests/sysloop" $((HEAD_CALLS / 2)) 4
		BENCH_OPTS="--buffer-mb 2" capture_run stalltrace \
			"sysloop 2 threads, --buffer-mb 2 (1 MiB per CPU)" $rep $c \
			"$BUILD/tests/sysloop" "$HEAD_CALLS" 2
		# a CPU hog outside the traced job competes with the tracer for the CPUs
		bash -c 'while :; do :; done' &
		hog=$!
		bg_pids+=("$hog")
		capture_run stalltrace "sysloop 2 threads + 1 CPU hog, default buffer" $rep $c \
			"$BUILD/tests/sysloop" "$HEAD_CALLS" 2
		BENCH_OPTS="--buffer-mb 2" capture_run stalltrace \
			"sysloop 2 threads + 1 CPU hog, --buffer-mb 2" $rep $c \
			"$BUILD/tests/sysloop" "$HEAD_CALLS" 2
		kill "$hog"
		wait "$hog" 2>/dev/null
	done
	log "capture: every tool at the highest rate it lets sysloop reach (2 and 4 threads)"
	for t in "${TOOLS[@]}"; do
		[ "$t" = stalltrace ] && continue
		n=$((HEAD_CALLS / 4))
		[ "$t" = bpftrace ] && n=$((HEAD_CALLS / 100))
		capture_run "$t" "sysloop 2 threads, default buffer" 1 1 "$BUILD/tests/sysloop" "$n" 2
		# the flood: 4 threads syscalling flat out on 2 CPUs
		capture_run "$t" "sysloop 4 threads, default buffer" 1 1 "$BUILD/tests/sysloop" \
			$((n / 2)) 4
	done
	if [ "${BENCH_SWEEP:-1}" = 0 ]; then
		log "capture: no paced sweep (BENCH_SWEEP=0)"
		add section=note "text=Capture: no paced sweep in this run (BENCH_SWEEP=0)."
		return
	fi
	log "capture: paced sweep ($CAP_RATES syscalls/s, ${CAP_SECS}s) x $CAP_REPS"
	for ((rep = 1; rep <= CAP_REPS; rep++)); do
		for rate in $CAP_RATES; do
			for t in $(rotate "$rep" "${TOOLS[@]}"); do
				# only bpftrace's text output is cheap to count in full
				count=0
				[ "$t" = bpftrace ] && count=1
				capture_run "$t" sweep "$rep" "$count" \
					"$BUILD/tests/bench_rate" "$rate" "$CAP_SECS" 2
			done
		done
	done
}

# ---------------------------------------------------------------- analysis

# analysis_argv LABEL TRACE: sets argv to the command LABEL names, on TRACE.
analysis_argv()
{
	case $1 in
	"analyze --dump TRACE") argv=("$BUILD/analyze" --dump "$2") ;;
	"analyze TRACE") argv=("$BUILD/analyze" "$2") ;;
	# the same, its frames decompressed by the analysing thread (no reader thread)
	"analyze TRACE, one thread") argv=(env ST_READER_THREAD=0 "$BUILD/analyze" "$2") ;;
	# the analysis with its timeline (to a file: /dev/null would hide its writes)
	"analyze --perfetto TRACE") argv=("$BUILD/analyze" -q --perfetto "$tmp/pf.json" "$2") ;;
	"perf script -i TRACE") argv=(perf script -i "$2") ;;
	"perf sched latency -i TRACE") argv=(perf sched latency -i "$2") ;;
	"trace-cmd report -i TRACE") argv=(trace-cmd report -i "$2") ;;
	esac
}

# analysis_runs LABEL REPS TOOL TRACE [EVENTS]: times each analysis command of TOOL on
# TRACE, REPS times (commands interleaved).  EVENTS: the trace's events when known.
analysis_runs()
{
	local label=$1 reps=$2 t=$3 tr=$4 events=${5:-} rep c
	local -a cmds=() argv=()

	case $t in
	stalltrace)
		cmds=("analyze --dump TRACE")
		[ "$analyze_ready" = 1 ] && cmds+=("analyze TRACE")
		# the timeline of a real job (a large trace's is over --perfetto-max-mb)
		[ "$analyze_ready" = 1 ] && [ "${label#pt_prep}" != "$label" ] &&
			cmds+=("analyze --perfetto TRACE") ;;
	perf) cmds=("perf script -i TRACE" "perf sched latency -i TRACE") ;;
	trace-cmd) cmds=("trace-cmd report -i TRACE") ;;
	# a synthetic stalltrace trace; what the reader's thread buys, interleaved
	stgen) cmds=("analyze TRACE" "analyze TRACE, one thread") ;;
	*) return ;;
	esac
	[ -n "$events" ] || events=$(trace_events "$t" "$tr")
	for ((rep = 1; rep <= reps; rep++)); do
		for c in "${cmds[@]}"; do
			analysis_argv "$c" "$tr"
			"${lib[@]}" measure "$tmp/m.json" -- "${argv[@]}" 2>/dev/null
			add section=analysis "trace=$label" "cmd=$c" rep=$rep events="$events" \
				--measure "$tmp/m.json"
		done
	done
	rm -f "$tmp/pf.json"
	if [ "$t" = stalltrace ] && [ "$analyze_ready" != 1 ]; then
		add section=analysis "trace=$label" "cmd=analyze TRACE" events="$events" pending=1
	fi
}

# trace_events TOOL TRACE: prints the number of events in the trace (the tool's own).
trace_events()
{
	rm -f "$tmp/ev.jsonl"
	"${lib[@]}" add "$tmp/ev.jsonl" --trace "$1" "$2" --count
	/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("events") or 0)' \
		"$tmp/ev.jsonl"
}

bench_analysis()
{
	# `analyze TRACE` is measured unless it fails on the workloads' pt_prep trace
	analyze_ready=1
	if [ -e "$tmp/an.pt_prep.stalltrace" ] &&
		! "$BUILD/analyze" "$tmp/an.pt_prep.stalltrace" >/dev/null 2>&1; then
		analyze_ready=0
	fi
	if [ "${BENCH_AN:-all}" = stgen ]; then
		log "analysis: the synthetic trace only (BENCH_AN=stgen)"
		add section=note "text=Analysis: the synthetic trace only (BENCH_AN=stgen)."
	else
		bench_analysis_real
	fi
	bench_analysis_stgen
}

# The pt_prep traces of the last workload repetition and large sysloop traces, under
# every tool's own decoder and analyser.
bench_analysis_real()
{
	local t

	log "analysis: pt_prep traces x $AN_REPS (analyze TRACE ready: $analyze_ready)"
	for t in "${TOOLS[@]}"; do
		[ -e "$tmp/an.pt_prep.$t" ] && analysis_runs "pt_prep ($t)" "$AN_REPS" "$t" "$tmp/an.pt_prep.$t"
		rm -f "$tmp/an.pt_prep.$t" "$tmp/an.pt_prep.$t.log"
	done
	log "analysis: large traces of sysloop 2 x $BIG_CALLS calls x $BIG_REPS"
	for t in "${TOOLS[@]}"; do
		# bpftrace writes text and has no analyzer; at ~14 us a call it would also take minutes
		[ "$t" = bpftrace ] && continue
		run_peer "$t" "$tmp/big.$t" -- "$BUILD/tests/sysloop" "$BIG_CALLS" 2 ||
			log "large trace under $t failed"
		analysis_runs "sysloop 2x$BIG_CALLS ($t)" "$BIG_REPS" "$t" "$tmp/big.$t"
		rm -f "$tmp/big.$t" "$tmp/big.$t.log"
	done
}

bench_analysis_stgen()
{
	log "analysis: stgen --bench $STGEN_EVENTS"
	"$BUILD/tests/stgen" --bench "$STGEN_EVENTS" "$tmp/stgen.zst" || log "stgen failed"
	# the analyzer targets are for `analyze TRACE`; --dump (JSON output) would take
	# minutes on it, so the decode-and-print comparison stays on the traces above
	if [ "$analyze_ready" = 1 ]; then
		analysis_runs "stgen $((STGEN_EVENTS / 1000000))M" "$AN_REPS" stgen \
			"$tmp/stgen.zst" "$STGEN_EVENTS"
	else
		add section=analysis "trace=stgen $((STGEN_EVENTS / 1000000))M" "cmd=analyze TRACE" \
			events=$STGEN_EVENTS pending=1
	fi
	rm -f "$tmp/stgen.zst"
}

# ---------------------------------------------------------------- merge

# analyze --merge of MERGE_RANKS synthetic per-node reports (one rank each) of
# MERGE_STEPS steps: wall time and peak RSS; the straggler it names is recorded too.
bench_merge()
{
	local dir=$tmp/merge rep bytes st

	log "merge: $MERGE_RANKS per-node reports of $MERGE_STEPS steps x $MERGE_REPS"
	if ! "$BUILD/tests/repgen" --ranks "$MERGE_RANKS" --steps "$MERGE_STEPS" "$dir"; then
		log "repgen failed"
		return
	fi
	bytes=$(du -sb "$dir" | cut -f1)
	for ((rep = 1; rep <= MERGE_REPS; rep++)); do
		"${lib[@]}" measure "$tmp/m.json" -- "$BUILD/analyze" -q --merge "$dir" \
			--json "$tmp/merged.json"
		st=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["straggler"]["rank"])' "$tmp/merged.json" 2>/dev/null)
		add section=merge "ranks=$MERGE_RANKS" "steps=$MERGE_STEPS" "rep=$rep" \
			"input_bytes=$bytes" "straggler=${st:-none}" \
			"want_straggler=$((MERGE_RANKS / 2))" --measure "$tmp/m.json"
		rm -f "$tmp/merged.json"
	done
	rm -rf "$dir"
}

# ---------------------------------------------------------------- main

# BENCH_ONLY="sysloop untraced ...": only these parts (a partial run, said in the report)
parts="sysloop untraced switches workloads pt_size capture analysis merge"
preflight
for p in $parts; do
	if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $p "* ]]; then
		continue
	fi
	"bench_$p"
done
[ -n "${BENCH_ONLY:-}" ] && add section=note "text=A partial run: only $BENCH_ONLY."
add section=note "text=make bench ($mode) ran for $((SECONDS - start_s)) s."
"${lib[@]}" report "$raw" "$out" || { echo "bench: report failed" >&2; exit 1; }
if command -v gnuplot >/dev/null; then
	gnuplot -e "dat='$out/chart.dat'; svg='$out/chart.svg'" scripts/bench_chart.gp ||
		log "gnuplot failed: no chart"
fi
log "done in $((SECONDS - start_s)) s: $out/results.md"
cat "$out/summary.md" 2>/dev/null
