#!/usr/bin/env bash
# Reference workloads (issue 3): trainsim rejects bad knobs; every scenario of
# tests/scenarios.tsv runs through tests/workloads/scenario.sh and its own ground
# truth is sane: the truth line parses, the main thread's parts fit in the window,
# worker sample counts add up exactly, and the scenario's cause dominates, on an idle
# or a busy machine (what load changes is judged against the job's own run queue).
# The jobs of tests/workloads/torch_jobs.py are tests/t_jobs.sh's: it runs them traced
# and checks their truth there.
# Builds nothing (make already ran).  The torch scenarios are skipped (exit 77,
# loudly) only when /usr/bin/python3 cannot import torch.
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=$PWD/build}"
export BUILD
export ST_DATA=${ST_DATA:-$BUILD/data}
TS=$BUILD/tests/trainsim
PY=/usr/bin/python3
fails=0

fail()
{
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

[ -x "$TS" ] || { echo "FAIL: $TS not built (run make first)" >&2; exit 1; }
[ -f "$BUILD/tests/stubcuda/libcuda.so.1" ] || { echo "FAIL: stub libcuda not built" >&2; exit 1; }
[ -x "$PY" ] || { echo "FAIL: $PY missing (the checks parse JSON with it)" >&2; exit 1; }

# --- bad knobs: exit 2, exactly one stderr line, naming the knob -------------
bad_knob()
{
	local knob=$1 err rc
	shift
	err=$("$TS" --dataset "$ST_DATA/trainsim" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 2 ]; then
		fail "trainsim $*: exit $rc, want 2"
	elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ $err != trainsim:\ * ]]; then
		fail "trainsim $*: want one 'trainsim: ...' line, got: $err"
	elif [[ $err != *"$knob"* ]]; then
		fail "trainsim $*: message does not name $knob: $err"
	else
		echo "ok: rejects $* -> $err"
	fi
}

bad_knob --workers --workers 0
bad_knob --workers --workers 65
bad_knob --batch-size --batch-size -4
bad_knob --steps --steps abc
bad_knob --decode-us --decode-us 1.5
bad_knob --prefetch --prefetch ''
bad_knob --cold --cold lukewarm
bad_knob --read-pattern --read-pattern zigzag
bad_knob --sample-kb --cold direct --sample-kb 6
bad_knob --no-such-knob --no-such-knob 3
bad_knob --steps --steps
bad_knob --dataset --dataset /proc/version/sub
bad_knob --checkpoint-dir --checkpoint-every 2 --checkpoint-dir /proc/version/ck
bad_knob --device-lib --device-wait-us 100 --device-lib /nonexistent/libcuda.so.1 --steps 1
"$TS" --help | grep -q -e '--lock-hold-us' || fail "trainsim --help does not list the knobs"

# --- the scenario table --------------------------------------------------------
verdicts=" dataloader_prep dataloader_fetch compute main_io gpu_sync lock_contention cpu_contention "
table=$(grep -v -e '^#' -e '^[[:space:]]*$' tests/scenarios.tsv)
while IFS=$'\t' read -r name verdict hogs topts cmd; do
	[[ $verdicts == *" $verdict "* ]] || fail "scenarios.tsv: $name: unknown verdict '$verdict'"
	[[ $hogs =~ ^[0-9]+$ ]] || fail "scenarios.tsv: $name: hogs '$hogs' is not a number"
	[ -n "$topts" ] && [ -n "$cmd" ] || fail "scenarios.tsv: $name: missing columns"
done <<<"$table"
for want in ts_prep ts_fetch ts_compute ts_main_io ts_gpu_block ts_gpu_spin ts_lock ts_cpu \
	    ts_relay_prep pt_prep pt_fetch pt_compute pt_checkpoint; do
	cut -f1 <<<"$table" | grep -qx "$want" || fail "scenarios.tsv lacks $want"
done
[ "$(cut -f1 <<<"$table" | sort | uniq -d)" = "" ] || fail "scenarios.tsv: duplicate names"
[ "$(tests/workloads/scenario.sh --list | wc -l)" -eq "$(wc -l <<<"$table")" ] ||
	fail "scenario.sh --list does not list every scenario"

# --- running every scenario ------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Reads completed on the block device holding $ST_DATA (empty when it has none,
# e.g. tmpfs or overlayfs): proof that cold reads reach the device.
disk_reads()
{
	local maj min

	read -r maj min < <(stat -c '%Hd %Ld' "$ST_DATA")
	awk -v a="$maj" -v b="$min" '$1 == a && $2 == b { print $4 }' /proc/diskstats
}

# hog_count TAG: busy loops left from the scenario run with ST_LEAK_TAG=TAG in its
# environment (the runner's own, whatever other jobs run hogs on the machine)
hog_count()
{
	local p n=0
	for p in $(pgrep -fx "bash -c while :; do :; done"); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "ST_LEAK_TAG=$1" && n=$((n + 1))
	done
	echo $n
}

check_truth()
{
	"$PY" - "$@" <<'PYEOF'
import json, sys

path, name, verdict, cmd, r0, r1 = sys.argv[1:7]
lines = [l for l in open(path) if l.startswith('{"stalltrace_truth":1,')]
if len(lines) != 1:
    sys.exit("%s: %d truth lines, want 1" % (name, len(lines)))
t = json.loads(lines[0])
errs = []

def need(cond, msg):
    if not cond:
        errs.append(msg)

w, m, ws = t["wall_s"], t["main"], t["workers"]
need(t["scenario"] == name, "scenario is %r" % t["scenario"])
need(t["workload"] == ("pytorch" if name.startswith("pt_") else "trainsim"), "workload")
need(t["pid"] > 0 and t["main_tid"] > 0, "pid/main_tid")
span = (t["window"]["end_ns"] - t["window"]["start_ns"]) / 1e9
need(abs(span - w) < 1e-3, "window %.6f s != wall_s %.6f" % (span, w))
# 1-5 s on an idle machine (a fast disk makes pt_fetch shorter: 1.42 s seen), longer
# on a busy one: only a runaway fails; the work done is checked by the samples below
need(0 < w <= 60.0, "wall %.2f s outside 0-60 s (1-5 s when the machine is idle)" % w)
parts = ["batch_wait_s", "compute_s", "device_wait_s", "checkpoint_s", "lock_wait_s"]
need(all(m[k] >= 0 for k in parts), "negative main time")
need(sum(m[k] for k in parts) <= w + 1e-3,
     "main parts %.3f s exceed wall %.3f s" % (sum(m[k] for k in parts), w))
samples = sum(x["samples"] for x in ws)
need(samples == t["steps"] * t["batch_size"],
     "workers' samples %d != steps x batch size %d" % (samples, t["steps"] * t["batch_size"]))
need(ws and all(x["pid"] > 0 for x in ws), "worker pids")
for x in ws:
    busy = x["read_s"] + x["decode_s"] + x["handoff_s"]
    need(busy <= w + 1e-3, "worker %d busy %.3f s > wall" % (x["pid"], busy))
f = {k: m[k] / w for k in m}
rd, dec = sum(x["read_s"] for x in ws), sum(x["decode_s"] for x in ws)
sched = m["oncpu_s"] + m["runq_wait_s"] > 0
# other programs took the CPU from the main thread: what it did on CPU is then less
# than what it meant to, and only its wall-time shares say what the scenario is
busy = sched and m["runq_wait_s"] > 0.2 * w
blocks = sum(x["bytes_read"] for x in ws) / 4096
if verdict == "dataloader_prep":
    need(f["batch_wait_s"] > 0.5, "batch wait %.0f%% <= 50%%" % (100 * f["batch_wait_s"]))
    # decode is a fixed CPU time per sample; a read is timed on the wall clock, and a
    # worker starved of CPU is preempted in it too (test-under-load's run 4 at d5557b2:
    # reads 14.68 s against 12.97 s of decode, all from the page cache).  Where the
    # workers' own storage reads (/proc/PID/io), else the device's count, show the reads
    # did not reach it, the scenario is decode-bound by construction, however long a
    # loaded machine made them (the device counts other programs' reads too: a clean
    # clone's run beside busy --disk, 4789 device reads for pt_prep's 1440 blocks).
    own = [x.get("storage_bytes") for x in ws]
    own = own if own and None not in own else None
    if own:
        cached = sum(own) < blocks * 4096 / 10
    else:
        cached = bool(r0 and r1) and int(r1) - int(r0) < blocks / 10
    need(dec > 2 * rd or cached, "workers decode %.2f s, read %.2f s, %s: not "
         "decode-bound" % (dec, rd, "their storage reads %d bytes for %d blocks" %
                           (sum(own), blocks) if own else
                           "the device uncounted" if not (r0 and r1) else
                           "the device completed %d reads for %d blocks" %
                           (int(r1) - int(r0), blocks)))
elif verdict == "dataloader_fetch":
    need(f["batch_wait_s"] > 0.5, "batch wait %.0f%% <= 50%%" % (100 * f["batch_wait_s"]))
    need(rd > 2 * dec, "workers read %.2f s, decode %.2f s: not read-bound" % (rd, dec))
    if r0 and r1:
        # the device's own count proves the reads reached it, however fast it is
        need(int(r1) - int(r0) >= blocks / 2, "device completed %d reads for %d blocks"
             % (int(r1) - int(r0), blocks))
    else:
        # no block device to count on (tmpfs, overlayfs): only the time per read tells
        need(rd / blocks > 20e-6, "%.1f us per 4 KiB read: page cache, not the device"
             % (1e6 * rd / blocks))
elif verdict == "compute":
    # on CPU whenever it had one: a busy machine's run queue is not the job's
    need(f["compute_s"] > 0.7, "compute %.0f%% <= 70%%" % (100 * f["compute_s"]))
    need(busy or f["compute_cpu_s"] > 0.6, "compute on CPU only %.0f%%" % (100 * f["compute_cpu_s"]))
    # its workers share the machine too: under load they fall behind (test-under-load's
    # run at 1b58fb7: reads 2.04 s for 0.46 s of decode, batch wait 21%, its own run
    # queue 34%): compute still dominates, which the first check holds.  So does a
    # loaded disk, the CPUs free (a clean clone's run at dc63f1d beside busy --disk:
    # reads 2.30 s for 0.24 s of decode, batch wait 12%, run queue 1%)
    slow = busy or rd > 2 * dec
    need(f["batch_wait_s"] < (0.3 if slow else 0.1), "batch wait %.0f%% >= %d%%"
         % (100 * f["batch_wait_s"], 30 if slow else 10))
elif verdict == "main_io":
    need(f["checkpoint_s"] > 0.5, "checkpoint %.0f%% <= 50%%" % (100 * f["checkpoint_s"]))
elif verdict == "gpu_sync":
    need(f["device_wait_s"] > 0.5, "device wait %.0f%% <= 50%%" % (100 * f["device_wait_s"]))
    if sched and "STUB_CUDA_MODE=spin" in cmd:
        need(f["oncpu_s"] + f["runq_wait_s"] > 0.8, "spin mode but on CPU or runnable only %.0f%%"
             % (100 * (f["oncpu_s"] + f["runq_wait_s"])))
    elif sched:
        need(f["oncpu_s"] < 0.3, "block mode but on CPU %.0f%%" % (100 * f["oncpu_s"]))
elif verdict == "lock_contention":
    need(f["lock_wait_s"] > 0.5, "lock wait %.0f%% <= 50%%" % (100 * f["lock_wait_s"]))
elif verdict == "cpu_contention":
    lost = f["runq_wait_s"] if sched else f["compute_s"] - f["compute_cpu_s"]
    need(lost > 0.5, "run-queue wait %.0f%% <= 50%%" % (100 * lost))
for e in errs:
    print("%s: %s" % (name, e))
keys = parts + ["oncpu_s", "runq_wait_s"]
print("%s %s: wall %.2fs %s; workers read %.2fs decode %.2fs" % (
    "ok:" if not errs else "BAD:", name, w,
    " ".join("%s=%.0f%%" % (k[:-2], 100 * f[k]) for k in keys), rd, dec))
sys.exit(1 if errs else 0)
PYEOF
}

torch_ok=1
"$PY" -c 'import torch' 2>/dev/null || torch_ok=0
skipped=()
while IFS=$'\t' read -r name verdict hogs topts cmd; do
	[[ $cmd == *torch_jobs.py* ]] && continue
	if [[ $name == pt_* ]] && [ "$torch_ok" = 0 ]; then
		skipped+=("$name")
		continue
	fi
	r0=$(disk_reads)
	ST_LEAK_TAG=t_workloads.$$.$name tests/workloads/scenario.sh "$name" --truth "$tmp/$name.json" \
		</dev/null >"$tmp/$name.out"
	rc=$?
	r1=$(disk_reads)
	[ "$(hog_count "t_workloads.$$.$name")" = 0 ] || fail "$name: the runner leaked busy-loop processes"
	if [ "$rc" -ne 0 ]; then
		fail "$name: exit status $rc"
		continue
	fi
	check_truth "$tmp/$name.json" "$name" "$verdict" "$cmd" "$r0" "$r1" || fail "$name: bad ground truth"
done <<<"$table"

if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
	echo "SKIPPED ${skipped[*]}: $PY cannot import torch (apt-get install python3-torch)" >&2
	exit 77
fi
echo "all workload checks passed"
