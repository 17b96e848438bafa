#!/usr/bin/env bash
# `analyze --perfetto`: the Chrome JSON export for ui.perfetto.dev / chrome://tracing,
# drawn from the analysis's own model during its pass.  Every export is validated by
# tests/check_perfetto.py (parses, one event per line with ph then ts, slices nest on
# every track, every flow start has its end, names for every track, state slices named
# and coloured by category) and, with --report, checked against the same run's JSON
# report: the main thread's state slices add up to the breakdown per category (1 ms),
# the stalls track is the report's stalls, and every wakeup arrow comes from the waker
# the model names.  First an exact synthetic trace (stgen) whose slices, states, flows,
# lanes and args are known; every golden trace of the analysis against its report; the
# window, the size limit, odd inputs and usage errors; then a real trainsim trace
# (needs root and BTF: without them the group exits 77 after the synthetic checks,
# loudly).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
STGEN=$BUILD/tests/stgen
CHECK="$PY tests/check_perfetto.py"
[ -x "$ANALYZE" ] && [ -x "$STGEN" ] || { echo "FAIL: build first (make)"; exit 1; }
if ! "$ANALYZE" --help | grep -q -- --perfetto; then
	echo "SKIPPED: $ANALYZE has no --perfetto option yet (analyzer/main.c wiring pending)" >&2
	exit 77
fi

# --- the exact synthetic trace ------------------------------------------------------
# Main thread 100 (python) and worker 200 as in tests/golden/analyze/dataloader_prep:
# 11 rounds of 10 ms, the main thread blocked 4 ms in read until the worker wakes it.
# Then, at known times: a pread on a file named by an fd record, an openat and a failed
# read on what it opened, a probed GPU sync holding a futex, an ioctl that starts inside
# the probe and ends after it (cut to start at the probe's end), a delayed record that
# ends inside the latest slice (dropped), a thread named <script>alert(1 blocked in a
# read since before tracing began, its states (D, woken by an interrupt, preempted),
# three block requests of which two overlap (two lanes), a drop and an exit.
cat >"$TMP/synth.txt" <<'EOF'
header start=1s ncpus=2 target_pid=100 cmdline="python train.py"
proc ts=1s pid=100 ppid=1 cmdline="python train.py"
comm ts=1s tid=100 pid=100 comm=python traced=1
fork ts=1s parent=100 parent_pid=100 child=200 child_pid=200 comm=pt_data_worker
fork ts=1s parent=100 parent_pid=100 child=101 child_pid=100 thread=1 comm="<script>alert(1)"
fd ts=1s pid=100 fd=9 kind=file dev=8:1 ino=4242 path="/data/train \"set\".bin"
probe_def ts=1s id=1 role=gpu_sync pid=100 lib=/usr/lib/libcuda.so.1 sym=cuStreamSynchronize
base 1s
repeat 11 every=10ms
  wakeup ts=+6ms tid=200 waker=100 waker_pid=100 waker_traced=1
  switch ts=+6ms cpu=0 prev=100 next=0 state=S
  switch ts=+6ms cpu=1 prev=0 next=200 state=R
  syscall ts=+10ms tid=200 name=write ret=4096 dur=10us fd=6 kind=pipe ino=77 count=4096
  wakeup ts=+10ms tid=100 waker=200 waker_pid=200 waker_traced=1
  switch ts=+10ms cpu=1 prev=200 next=0 state=S
  switch ts=+10ms cpu=0 prev=0 next=100 state=R
  syscall ts=+10ms tid=100 name=read ret=4096 dur=4ms fd=5 kind=pipe ino=77 count=4096
end
syscall ts=1.111s tid=100 name=pread64 ret=4096 dur=100us fd=9 kind=file dev=8:1 ino=4242 count=4096 offset=8192
block ts=1.112s tid=200 pid=200 dev=8:0 op=read bytes=65536 sector=100 service=1ms queued=10us
syscall ts=1.112s tid=100 name=openat ret=10 dur=20us fd=10 kind=file dev=8:1 ino=555 path="/data/<b>x</b>.bin"
block ts=1.1125s tid=200 pid=200 dev=8:0 op=read bytes=4096 sector=300 service=1ms
syscall ts=1.113s tid=100 name=read ret=-11 dur=5us fd=10 kind=file dev=8:1 ino=555 count=100
block ts=1.114s tid=200 pid=200 dev=8:0 op=write bytes=4096 sector=500 service=1ms
syscall ts=1.1145s tid=100 name=futex ret=0 dur=1ms futex_uaddr=0x1000 futex_op=128 futex_val=0 timeout=-1
probe ts=1.115s tid=100 id=1 dur=2ms
syscall ts=1.116s tid=100 name=ioctl ret=0 dur=1.5ms fd=11 kind=chr
syscall ts=1.1155s tid=100 name=getpid ret=100 dur=100us
syscall ts=1.117s tid=101 name=read ret=8 no_entry=1 fd=12 kind=pipe ino=88 count=8
switch ts=1.117s cpu=1 prev=0 next=101 state=R
switch ts=1.118s cpu=1 prev=101 next=0 state=D
wakeup ts=1.119s tid=101 irq=1
switch ts=1.1195s cpu=1 prev=0 next=101 state=R
switch ts=1.120s cpu=1 prev=101 next=0 state=R preempt=1
drops ts=1.121s sched=3
exit ts=1.122s tid=200 pid=200 code=0 group_dead=1
trailer ts=1.125s
EOF
"$STGEN" -f "$TMP/synth.txt" "$TMP/synth.zst" || { echo "FAIL: stgen"; exit 1; }
"$ANALYZE" -q --json "$TMP/synth.an.json" --perfetto "$TMP/synth.json" "$TMP/synth.zst" 2>"$TMP/err"
check "synthetic: export exits 0, nothing on stderr" test $? -eq 0 -a ! -s "$TMP/err"
check "synthetic: the export validates and agrees with the report" \
	$CHECK "$TMP/synth.json" --summary "$TMP/synth.sum" --report "$TMP/synth.an.json"

# exact: every expectation is one line of python over the parsed export
"$PY" - "$TMP/synth.json" "$TMP/synth.an.json" >"$TMP/exact.out" <<'PY'
import json, sys
from decimal import Decimal
d = json.load(open(sys.argv[1]), parse_float=Decimal)
an = json.load(open(sys.argv[2]))
ev = d["traceEvents"]
ns = lambda v: int(Decimal(v) * 1000)
X = [e for e in ev if e["ph"] == "X"]
def one(pred):
    m = [e for e in X if pred(e)]
    return m[0] if len(m) == 1 else None
tname = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
pname = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
sc100 = [e for e in X if e["tid"] == 100 and e.get("cat") == "syscall"]
pread = one(lambda e: e["name"] == "pread64")
eagain = one(lambda e: e["name"] == "read" and e["tid"] == 100 and e["args"].get("error"))
futex = one(lambda e: e["name"] == "futex")
probe = one(lambda e: e.get("cat") == "probe")
ioctl = one(lambda e: e["name"] == "ioctl")
early = one(lambda e: e["tid"] == 101 and e["name"] == "read")
states = lambda tid: [(e["name"], ns(e["ts"]), ns(e["dur"]), e["args"]["state"], e["args"].get("woken_by"))
                      for e in sorted(X, key=lambda e: ns(e["ts"])) if e["tid"] == tid + 2**30]
st101, st100 = states(101), states(100)
blk = [e for e in X if e.get("cat") == "block"]
flows = [e for e in ev if e["ph"] == "s"]
drops = [e for e in ev if e["ph"] == "i" and e.get("s") == "g"]
exits = [e for e in ev if e["ph"] == "i" and e["name"] == "exit" and e["tid"] == 200]
steps = [e for e in X if e.get("cat") == "step" and e["name"].startswith("step ")]
checks = [
    ("16 syscall slices on the main thread (the delayed getpid dropped)", len(sc100) == 16),
    ("otherData counts the dropped slice", d["otherData"]["slices_dropped_to_keep_nesting"] == 1),
    ("pread64: fd, file from the fd record, bytes, offset, ret",
     pread and pread["args"] == {"fd": 9, "file": '/data/train "set".bin', "fd_kind": "file",
                                 "bytes": 4096, "offset": 8192, "ret": 4096}),
    ("pread64 at 110.9 ms for 100 us", pread and (ns(pread["ts"]), ns(pread["dur"])) == (110900000, 100000)),
    ("failed read: the file openat named, error EAGAIN",
     eagain and eagain["args"].get("file") == "/data/<b>x</b>.bin" and eagain["args"]["error"] == "EAGAIN"),
    ("futex: op WAIT (private flag masked)", futex and futex["args"].get("futex_op") == "WAIT"),
    ("probe cuStreamSynchronize [113, 115] ms",
     probe and probe["name"] == "cuStreamSynchronize" and (ns(probe["ts"]), ns(probe["dur"])) == (113000000, 2000000)),
    ("futex nested inside the probe", futex and ns(futex["ts"]) >= 113000000 and ns(futex["ts"]) + ns(futex["dur"]) <= 115000000),
    ("ioctl cut to start at the probe's end", ioctl and (ns(ioctl["ts"]), ns(ioctl["dur"])) == (115000000, 1000000)),
    ("read entered before tracing: from the trace start",
     early and (ns(early["ts"]), ns(early["dur"])) == (0, 117000000) and "note" in early["args"]),
    ("states of thread 101: the model's categories and evidence",
     st101 == [("cpu_contention", 0, 117000000, "Runnable (new)", None),
               ("compute", 117000000, 1000000, "Running", None),
               ("io_wait", 118000000, 1000000, "Uninterruptible (D)", "an interrupt"),
               ("io_wait", 119000000, 500000, "Runnable (woken)", "an interrupt"),
               ("compute", 119500000, 500000, "Running", None),
               ("cpu_contention", 120000000, 5000000, "Runnable (preempted)", None)]),
    ("main thread: 11 waits for the worker, each dataloader_wait woken by it",
     [x for x in st100 if x[0] == "dataloader_wait"] ==
     [("dataloader_wait", 6000000 + 10000000 * i, 4000000, "Sleeping", "pt_data_worker (200)")
      for i in range(11)]),
    ("main thread after the loop: file calls on CPU are io_wait, the probed sync gpu_wait",
     [x[:3] for x in st100 if x[1] >= 110000000] ==
     [("compute", 110000000, 900000), ("io_wait", 110900000, 100000),
      ("compute", 111000000, 980000), ("io_wait", 111980000, 20000),
      ("compute", 112000000, 995000), ("io_wait", 112995000, 5000),
      ("gpu_wait", 113000000, 2000000), ("compute", 115000000, 10000000)]),
    ("state slices carry the chart colour's cname",
     all(e["cname"] == "cq_build_failed" for e in X if e.get("cat") == "state" and e["name"] == "dataloader_wait")),
    ("thread named <script>alert(1 (a comm holds 15 bytes) keeps its name", tname.get(101) == "<script>alert(1"),
    ("its state track is named after it", tname.get(101 + 2**30) == "<script>alert(1 state"),
    ("main thread named as such", tname.get(100) == "python (main training thread)"),
    ("trainer and worker processes named", pname.get(100) == "trainer: python" and
     pname.get(200) == "data-loader worker: pt_data_worker"),
    ("21 wakeup flows: each wait the worker or the main thread ended", len(flows) == 21),
    ("3 block requests on 2 lanes of 8:0",
     len(blk) == 3 and sorted(set(tname[e["tid"]] for e in blk)) == ["disk 8:0 #0", "disk 8:0 #1"]),
    ("block args", blk and blk[0]["name"] == "read 64 KiB" and blk[0]["args"]["bytes"] == 65536 and
     blk[0]["args"]["submitted_by"] == "pt_data_worker (200)" and blk[0]["args"]["queued_ms"] == Decimal("0.010")),
    ("the drop shows as a global instant", len(drops) == 1 and drops[0]["args"]["dropped"] == 3),
    ("the worker's exit is an instant", len(exits) == 1),
    ("one step slice per step the analysis found", len(steps) == an["steps"]["count"] > 0),
    ("one verdict slice", len([e for e in X if e.get("cat") == "verdict"]) == 1),
    ("stall slices as many as the analysis's", len([e for e in X if e.get("cat") == "stall"]) == len(an["stalls"])),
]
bad = 0
for what, good in checks:
    print(("ok   " if good else "FAIL ") + what)
    bad += not good
sys.exit(1 if bad else 0)
PY
check "synthetic: exact slices, args, states, flows, lanes, names" test $? -eq 0
sed 's/^/     /' "$TMP/exact.out"

# --- every golden trace of the analysis: the timeline agrees with its report ---------
for txt in tests/golden/analyze/*.txt; do
	name=$(basename "$txt" .txt)
	args=$(sed -n 's/^#args //p' "$txt")
	"$STGEN" -f "$txt" "$TMP/g_$name.zst" || { fail "golden $name: stgen"; continue; }
	# shellcheck disable=SC2086
	"$ANALYZE" -q $args --json "$TMP/g_$name.an.json" --perfetto "$TMP/g_$name.json" \
		"$TMP/g_$name.zst" 2>"$TMP/err"
	check "golden $name: exported, valid, agrees with the report" \
		sh -c "$CHECK '$TMP/g_$name.json' --report '$TMP/g_$name.an.json' | grep -q 'agrees with the report on [1-9].* 0 problems'"
done

# --- window ---------------------------------------------------------------------------
"$ANALYZE" -q --perfetto "$TMP/win.json" --perfetto-window 0.05:0.08 "$TMP/synth.zst"
check "window 0.05:0.08: exit 0" test $? -eq 0
check "window: validates, nothing outside [50, 80] ms" $CHECK "$TMP/win.json" --window 0.05:0.08
check "window: 3 main-thread reads in it (the one ending at its start is left out)" \
	test "$(grep -c '"tid":100,.*"name":"read"' "$TMP/win.json")" -eq 3
start=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["otherData"]["trace_start_monotonic_ns"])' "$TMP/synth.json")
"$ANALYZE" -q --perfetto "$TMP/winabs.json" --perfetto-window "@$((start + 50000000)):@$((start + 80000000))" "$TMP/synth.zst"
check "window in absolute ns: the same export" cmp -s "$TMP/win.json" "$TMP/winabs.json"
"$ANALYZE" -q --perfetto "$TMP/nope.json" --perfetto-window 100: "$TMP/synth.zst" 2>"$TMP/err"
check "window past the end: exit 1, says so, no file" \
	sh -c "test $? -eq 1 && grep -q 'nothing of .* is in it' '$TMP/err' && test ! -e '$TMP/nope.json'"

# --- size: writing stops at the limit -------------------------------------------------
"$STGEN" --bench 300000 "$TMP/big.zst" >/dev/null
"$ANALYZE" -q --perfetto "$TMP/big.json" --perfetto-max-mb 2 "$TMP/big.zst" 2>"$TMP/err"
rc=$?
check "over the limit: exit 1" test $rc -eq 1
check "  ...one line: about how large, where writing stopped, a window to use" \
	sh -c "test \$(wc -l <'$TMP/err') -eq 1 && grep -q 'would be about [0-9]* MB, over the 2 MB limit (writing stopped [0-9.]* s into the trace): export part of it with --perfetto-window [0-9.]*:[0-9.]*' '$TMP/err'"
check "  ...and no file, not even a temporary one" sh -c "! ls '$TMP'/big.json* 2>/dev/null"
win=$(grep -o 'perfetto-window [0-9.:]*' "$TMP/err" | cut -d' ' -f2)
"$ANALYZE" -q --perfetto "$TMP/big.json" --perfetto-max-mb 2 --perfetto-window "$win" "$TMP/big.zst"
check "  ...the suggested window fits under the limit" \
	sh -c "test $? -eq 0 && test \$(stat -c %s '$TMP/big.json') -le $((2 << 20))"
check "  ...and validates" $CHECK "$TMP/big.json"
# written straight to a pipe, the export shows it stops at the limit, not at the end
"$ANALYZE" --perfetto - --perfetto-max-mb 2 "$TMP/big.zst" 2>"$TMP/err" | wc -c >"$TMP/piped"
check "  ...writing stops at the limit (stdout: at most 2 MB written)" \
	sh -c "test \$(cat '$TMP/piped') -le $((2 << 20)) && test \$(cat '$TMP/piped') -gt $((1 << 20)) && grep -q 'over the 2 MB limit' '$TMP/err'"

# --- odd inputs and outputs ------------------------------------------------------------
grep -v '^trailer' "$TMP/synth.txt" >"$TMP/trunc.txt"
"$STGEN" -f "$TMP/trunc.txt" "$TMP/trunc.zst"
"$ANALYZE" -q --perfetto "$TMP/trunc.json" "$TMP/trunc.zst" 2>"$TMP/err"
check "truncated trace: exported anyway (exit 0), said on stderr" \
	sh -c "test $? -eq 0 && grep -q 'exporting what could be read' '$TMP/err'"
check "  ...valid, marked incomplete" sh -c "$CHECK '$TMP/trunc.json' >/dev/null && grep -q '\"complete\":false' '$TMP/trunc.json'"
"$ANALYZE" --perfetto - "$TMP/synth.zst" >"$TMP/stdout.json" 2>"$TMP/err"
check "--perfetto -: the export alone on stdout" sh -c "test $? -eq 0 && $CHECK '$TMP/stdout.json' >/dev/null"
echo precious >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/link.json"
"$ANALYZE" -q --perfetto "$TMP/link.json" "$TMP/synth.zst"
check "a symlink at the output path is replaced, never written through" \
	sh -c "test \"\$(cat '$TMP/victim')\" = precious && test -f '$TMP/link.json' && test ! -L '$TMP/link.json'"
"$ANALYZE" -q --perfetto "$TMP/victim/x.json" "$TMP/synth.zst" 2>"$TMP/err"
check "unwritable output: exit 1, one line" sh -c "test $? -eq 1 && grep -q \"cannot write '$TMP/victim/x.json'\" '$TMP/err'"
"$ANALYZE" -q --perfetto "$TMP/no/such/dir/x.json" "$TMP/synth.zst"
check "missing directories of the output are created" $CHECK "$TMP/no/such/dir/x.json"
"$ANALYZE" -q --perfetto "$TMP/x.json" "$TMP/missing.zst" 2>/dev/null
check "missing trace: exit 1" test $? -eq 1
for bad in "x:y" "2:1" "1" "@5:@5" "-1:2" "nan:" ; do
	"$ANALYZE" -q --perfetto "$TMP/x.json" --perfetto-window "$bad" "$TMP/synth.zst" 2>/dev/null
	check "usage: --perfetto-window '$bad' exits 2" test $? -eq 2
done
"$ANALYZE" -q --perfetto-window 1:2 "$TMP/synth.zst" 2>/dev/null
check "usage: --perfetto-window without --perfetto exits 2" test $? -eq 2
"$ANALYZE" -q --perfetto "$TMP/x.json" --perfetto-max-mb 0 "$TMP/synth.zst" 2>/dev/null
check "usage: --perfetto-max-mb 0 exits 2" test $? -eq 2

# --- a real trace ----------------------------------------------------------------------
# ts_fetch reads its dataset with O_DIRECT: block requests whatever the page cache holds
real_trace()
{
	local truth=$TMP/prep.truth zst=$TMP/prep.zst sum=$TMP/prep.sum
	if ! tests/workloads/scenario.sh ts_fetch --truth "$truth" \
		--prefix "\$BUILD/tracer run -o $zst \$ST_TRACER_OPTS --" >"$TMP/prep.log" 2>&1; then
		fail "trainsim ts_fetch under the tracer: $(tail -n 3 "$TMP/prep.log")"
		return
	fi
	"$ANALYZE" -q --json "$TMP/prep.an.json" --perfetto "$TMP/prep.json" "$zst"
	check "trainsim: export exits 0" test $? -eq 0
	check "trainsim: validates, agrees with the report (breakdown, stalls, wakers)" \
		sh -c "$CHECK '$TMP/prep.json' --summary '$sum' --report '$TMP/prep.an.json' | grep -q 'agrees with the report on 1 trainer(s), 0 problems'"
	"$PY" - "$sum" "$TMP/prep.an.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
an = json.load(open(sys.argv[2]))
checks = [
    ("steps track: one slice per step found", s["steps"] == an["steps"]["count"] > 0),
    ("stalls and verdict tracks", s["stalls"] == len(an["stalls"]) and s["verdicts"] == 1),
    # a worker wakes its parent after its exit record (the exit notification): no
    # slice of it holds that wakeup, so its arrow is left out (and counted)
    ("wakeup flows drawn, a few at most left out", s["flows"] > 0 and
     s["other"]["wakeup_flows_unbound"] <= s["flows"] // 100),
    ("syscall, state and block slices", all(s["slices"].get(c, 0) > 0 for c in ("syscall", "state", "block"))),
    ("workers named as workers", sum(n.startswith("data-loader worker: trainsim-wk") for n in s["process_names"]) == 2),
    ("main thread named", "trainsim (main training thread)" in s["thread_names"]),
    ("counters", {"file reads MB/s", "disk reads MB/s", "runnable workers", "running workers",
                  "runnable threads"} <= set(s["counters"])),
    ("no slice dropped to keep nesting", s["other"]["slices_dropped_to_keep_nesting"] == 0),
]
bad = 0
for what, good in checks:
    print(("ok   " if good else "FAIL ") + "trainsim: " + what)
    bad += not good
sys.exit(1 if bad else 0)
PY
	[ $? -eq 0 ] || fails=$((fails + 1))
	events=$("$ANALYZE" --dump "$zst" | wc -l)
	bytes=$(stat -c %s "$TMP/prep.json")
	echo "     size: $bytes bytes for $events trace records: $((bytes / events)) bytes per record"
}

if [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ] && [ -x "$TRACER" ]; then
	real_trace
	finish
fi
if [ "$fails" -ne 0 ]; then
	finish
fi
echo "SKIPPED: the synthetic checks passed; the real-trace checks need root, BTF and $TRACER (not a full pass)" >&2
exit 77
