#!/usr/bin/env bash
# User-space probes, as root: step markers from C and Python (library found up
# front, and loaded late with dlopen), CUDA synchronisation and launches through the
# stub libcuda in blocking and spinning mode, exact counts and durations.
. "$(dirname "$0")/lib.sh"
skip_unless_bpf
MARK=$BUILD/tests/marksteps

probes()	# probes TRACE ROLE: how many probe records of probes with ROLE
{
	"$ANALYZE" --dump "$1" | "$PY" -c '
import json, sys
role = int(sys.argv[1])
defs, n = {}, 0
for line in sys.stdin:
    e = json.loads(line)
    if e["type"] == "probe_def":
        defs[e["id"]] = e["role"]
    elif e["type"] == "probe" and defs.get(e["id"]) == role:
        n += 1
print(n)' "$2"
}

# --- C trainer linked with the marker library, found where the linker finds it
LD_LIBRARY_PATH=$BUILD "$TRACER" run -q --steps -o "$TMP/c.zst" -- "$MARK" 40 >/dev/null 2>"$TMP/c.err"
check "--steps: the C trainer's exit status passes through" test $? -eq 0
check "--steps: exactly 40 step marks from 40 calls" test "$(probes "$TMP/c.zst" 1)" -eq 40

# --- names split at '|': the first the file has is probed (--torch-steps' two
# spellings of backward(): PyTorch 1.x exports it, 2.x keeps it static)
LD_LIBRARY_PATH=$BUILD "$TRACER" run -q -v --uprobe "libstalltrace_mark.so:no_such_step|stalltrace_step:step" \
	-o "$TMP/alt.zst" -- "$MARK" 20 >/dev/null 2>"$TMP/alt.err"
check "--uprobe A|B: B probed where the library has no A" grep -q '^tracer: probing stalltrace_step in ' "$TMP/alt.err"
check "--uprobe A|B: exactly 20 step marks from 20 calls" test "$(probes "$TMP/alt.zst" 1)" -eq 20

# --- the library loaded late (dlopen from a path the linker does not search)
mkfifo "$TMP/go"
exec 5<>"$TMP/go"
"$TRACER" run -v -q --steps -o "$TMP/late.zst" -- \
	"$MARK" 30 dlopen-wait "$BUILD/libstalltrace_mark.so.1" <"$TMP/go" >"$TMP/late.out" 2>"$TMP/late.err" &
tpid=$!
check "late dlopen: the tracer probes the library when the job opens it" \
	wait_for "$TMP/late.err" "probing stalltrace_step in $BUILD/libstalltrace_mark.so.1"
echo go >&5
wait $tpid
exec 5>&-
check "late dlopen: exactly 30 step marks" test "$(probes "$TMP/late.zst" 1)" -eq 30

# --- Python, no build step: scripts/stalltrace_mark.py through ctypes
LD_LIBRARY_PATH=$BUILD "$TRACER" run -q --steps -o "$TMP/py.zst" -- /usr/bin/python3 -c \
	'import sys; sys.path.insert(0, "scripts"); from stalltrace_mark import step
for _ in range(25): step()' 2>/dev/null
check "Python ctypes marker: exactly 25 step marks" test "$(probes "$TMP/py.zst" 1)" -eq 25
/usr/bin/python3 -c 'import sys; sys.path.insert(0, "scripts"); from stalltrace_mark import step
step()' 2>/dev/null
check "Python marker without the library installed is a no-op" test $? -eq 0

# --- --torch-steps: each PyTorch backward() a step, no change to the job (a loop that
# only computes shows no step otherwise); the job waits for the probe's breakpoint
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	"$TRACER" run -q --torch-steps -o "$TMP/bw.zst" -- /usr/bin/python3 \
		tests/workloads/torch_backward.py 30 >"$TMP/bw.out" 2>"$TMP/bw.err"
	check "--torch-steps: the job saw the probe and ran its 30 backward() calls" \
		test "$(cat "$TMP/bw.out")" = 30
	check "--torch-steps: exactly 30 step marks from 30 backward() calls" \
		test "$(probes "$TMP/bw.zst" 1)" -eq 30
	"$ANALYZE" -q --json "$TMP/bw.json" "$TMP/bw.zst"
	check "--torch-steps: analyze finds 29 steps between the 30 marks, no warning" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["steps"]["count"] == 29 and d["steps"]["method"] == "markers" and
              d["trace"]["warnings"] == []))' "$TMP/bw.json"
else
	echo "SKIPPED --torch-steps: /usr/bin/python3 cannot import torch (apt-get install python3-torch)"
fi

# --- CUDA through the stub library: blocking and spinning synchronisation
for mode in block spin; do
	tests/workloads/scenario.sh ts_gpu_$mode --truth "$TMP/$mode.truth" \
		--prefix "$TRACER run -q -o $TMP/$mode.zst \$ST_TRACER_OPTS --" >/dev/null 2>&1
	check "--cuda ($mode): the scenario runs" test -s "$TMP/$mode.truth"
	"$ANALYZE" --dump "$TMP/$mode.zst" >"$TMP/$mode.jsonl"
	"$ANALYZE" "$TMP/$mode.zst" >"$TMP/$mode.txt"
	check "--cuda ($mode): syncs and launches per step, sync time matches the stub's" \
		"$PY" - "$TMP/$mode.jsonl" "$TMP/$mode.truth" "$TMP/$mode.txt" <<'PY'
import json, statistics, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
truth = json.loads(open(sys.argv[2]).read())
w0, w1 = truth['window']['start_ns'], truth['window']['end_ns']
defs = {e['id']: e for e in ev if e['type'] == 'probe_def'}
calls = {}
for e in ev:
    if e['type'] == 'probe' and w0 <= e['ts'] and e['end'] <= w1 and e['tid'] == truth['main_tid']:
        calls.setdefault(defs[e['id']]['symbol'], []).append(e)
steps = truth['steps']
syncs, launches = calls.get('cuStreamSynchronize', []), calls.get('cuLaunchKernel', [])
errors = []
# The probes go on the library when the job opens it, while it runs: on a busy machine
# the first steps may come before.  A probe's definition is written as its attaching
# starts (the analysis must then say so on top of its report); it takes effect when
# both its entry and return probes are on, which the first call seen bounds.  Every
# step holds a sync of >= 10 ms, so at most late/10 ms + 1 steps are unseen.
late_def = max(0, max(e['ts'] for e in defs.values() if e['symbol'] == 'cuStreamSynchronize') - w0)
first = min([e['end'] - e['dur'] for e in syncs + launches] or [w1])
late = max(late_def, first - w0 - 10_000_000)
unseen = int(late // 10_000_000) + 1 if late > 0 else 0
if late > (w1 - w0) / 4:
    errors.append(f'the probes took effect {late / 1e6:.1f} ms into a {(w1 - w0) / 1e6:.0f} ms window')
if not steps - unseen - 1 <= len(syncs) <= steps + 1:
    errors.append(f'{len(syncs)} cuStreamSynchronize calls in the window, want {steps}'
                  f' (up to {unseen} before the probes: {late / 1e6:.1f} ms late)')
if not 4 * (steps - unseen) - 4 <= len(launches) <= 4 * steps + 4:
    errors.append(f'{len(launches)} cuLaunchKernel calls, want {4 * steps}')
if late_def and 'GPU sync probes were attached' not in open(sys.argv[3]).read():
    errors.append(f'the probes came {late / 1e6:.1f} ms into the window, the report does not say')
# the stub never returns before its 10 ms; later on a busy machine, which the job's
# own measurement of its device wait (next check) shows as well
med = statistics.median(e['dur'] for e in syncs) / 1e6 if syncs else 0
if med < 9.9:
    errors.append(f'median sync {med:.2f} ms, the stub waits 10 ms')
total = sum(e['dur'] for e in syncs) / 1e9
tol = 0.05 * truth['wall_s']
if not truth['main']['device_wait_s'] - max(late, 0) / 1e9 - tol <= total <= truth['main']['device_wait_s'] + tol:
    errors.append(f'sync time {total:.3f} s, the job measured {truth["main"]["device_wait_s"]:.3f} s')
print('\n'.join(errors))
sys.exit(1 if errors else 0)
PY
done
check "spin mode: the main thread never sleeps in a sync (it spins on CPU)" "$PY" - "$TMP/spin.jsonl" "$TMP/spin.truth" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
tid = json.loads(open(sys.argv[2]).read())['main_tid']
syncs = [(e['ts'], e['end']) for e in ev if e['type'] == 'probe' and e['tid'] == tid and e['dur'] > 5e6]
sleeps = [e['ts'] for e in ev if e['type'] == 'switch' and e['prev_tid'] == tid and e['prev_state'] != 'R']
inside = sum(1 for t in sleeps if any(a < t < b for a, b in syncs))
sys.exit(1 if inside > len(syncs) // 10 else 0)
PY

# --- without --cuda nothing is probed; --cuda without CUDA says so and goes on
"$TRACER" run -q -o "$TMP/nocuda.zst" -- "$BUILD/tests/sysloop" 1000 >/dev/null 2>&1
check "no probes unless asked" test "$("$ANALYZE" --dump "$TMP/nocuda.zst" | grep -c '"type":"probe')" -eq 0
"$TRACER" run -q --cuda -o "$TMP/cuda0.zst" -- sh -c 'exit 5' 2>"$TMP/cuda0.err"
check "--cuda without CUDA: the command's status passes through" test $? -eq 5
check "--cuda without CUDA: said once" grep -qx "tracer: --cuda: no traced process loaded a CUDA library (libcuda.so, libcudart.so)" "$TMP/cuda0.err"

# --- --steps and not one step marked: said, with how to fix it
"$TRACER" run -q --steps -o "$TMP/nomark.zst" -- true 2>"$TMP/nomark.err"
check "--steps, no marker library loaded: the job runs (status 0)" test $? -eq 0
check "  ...said once, with the fix (install, or STALLTRACE_MARK_LIB)" sh -c "test \
	\$(grep -c 'tracer: --steps: no step was marked: no traced process loaded libstalltrace_mark.so.1; install it (make install), or give the job its path: STALLTRACE_MARK_LIB=PATH' '$TMP/nomark.err') -eq 1"
"$TRACER" run -q --steps -o "$TMP/nocall.zst" -- "$MARK" 0 >/dev/null 2>"$TMP/nocall.err"
check "--steps, the library loaded but never called: said" grep -qx \
	"tracer: --steps: no step was marked: the job loaded libstalltrace_mark.so but never called stalltrace_step()" \
	"$TMP/nocall.err"
check "--steps with marks: nothing said" sh -c "! grep -q 'no step was marked' '$TMP/c.err'"

# --- the job names the files: a FIFO, a device or a kernel file named like a library
# is never opened by the tracer (it is root), a hung file system never stops the trace
mkdir "$TMP/trap" "$TMP/dev" "$TMP/kmsg"
mkfifo "$TMP/trap/libcuda.so.1" "$TMP/trap/libfoo.so.1" "$TMP/trap/libstalltrace_mark.so.1"
ln -s /dev/null "$TMP/dev/libcuda.so.1"
ln -s /proc/kmsg "$TMP/kmsg/libcuda.so.1"
# the job opens each without blocking (O_NONBLOCK), then closes it: no writer is left
OPENER='import os, sys
for p in sys.argv[1:]:
    os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK))
sys.exit(6)'
for opt in --cuda "--uprobe libfoo.so:foo" --steps; do
	# shellcheck disable=SC2086
	LD_LIBRARY_PATH="$TMP/trap:$TMP/dev:$TMP/kmsg" timeout 60 "$TRACER" run -v -q $opt \
		-o "$TMP/trap.zst" -- "$PY" -c "$OPENER" "$TMP"/trap/lib* "$TMP/dev/libcuda.so.1" \
		>/dev/null 2>"$TMP/trap.err"
	check "$opt, FIFOs and a device named like the library: the tracer is not blocked (status 6)" \
		test $? -eq 6
	check "  ...the trace is complete" sh -c "'$ANALYZE' --dump '$TMP/trap.zst' >/dev/null"
	check "  ...the job's opens were seen, and not followed" \
		grep -q "not probing '$TMP/trap/lib.*': the job opened a pipe" "$TMP/trap.err"
	check "  ...nothing behind a name was read (no probe error, no hung file)" \
		sh -c "! grep -E 'cannot probe|not answered|/dev/null|kmsg' '$TMP/trap.err'"
	rm -f "$TMP/trap.zst"
done

# libraries whose reads never answer (FUSE): one in the linker's path (looked at
# before the job starts), one the job opens while traced
mkdir "$TMP/hung"
"$BUILD/tests/hangfs" "$TMP/hung" libcuda.so.1 libcudart.so.12 >"$TMP/hung.log" 2>&1 &
hpid=$!
if wait_for "$TMP/hung.log" '^mounted'; then
	LD_LIBRARY_PATH=$TMP/hung "$TRACER" run -q --cuda -o "$TMP/hung.zst" -- \
		sh -c "exec 3<'$TMP/hung/libcudart.so.12'; sleep 4; exit 4" 2>"$TMP/hung.err" &
	tpid=$!
	# the trace is written while the tracer's reader threads are still stuck
	check "hung file system: the tracer finishes its trace anyway" \
		wait_for "$TMP/hung.err" "^tracer: wrote $TMP/hung.zst" 60
	check "  ...it really read both (and got no answer)" \
		test "$(grep -c '^read' "$TMP/hung.log")" -ge 2
	check "  ...says it went on without the one in the linker's path" \
		grep -q "probes: '$TMP/hung/libcuda.so.1' has not answered for [0-9]* s" "$TMP/hung.err"
	check "  ...and without the one the job opened" \
		grep -Eq "probes: ('$TMP/hung/libcudart.so.12' has not answered|gave up on '$TMP/hung/libcudart.so.12')" \
		"$TMP/hung.err"
	stop_fuse "$hpid" "$TMP/hung"	# closing /dev/fuse fails the pending reads: the readers end
	wait "$tpid"
	check "  ...the command's status passes through (4)" test $? -eq 4
	"$ANALYZE" --dump "$TMP/hung.zst" >"$TMP/hung.jsonl"
	check "  ...the trace is complete, with the job's sleep after the open" \
		grep -q '"name":"clock_nanosleep"' "$TMP/hung.jsonl"
else
	fail "hangfs did not mount: $(cat "$TMP/hung.log")"
fi
stop_fuse "$hpid" "$TMP/hung"

# --- bad probe specifications are usage errors
for bad in nolib ':sym' 'lib:' 'lib:sym:bogus'; do
	"$TRACER" run --uprobe "$bad" -- true 2>"$TMP/bad.err"
	check "--uprobe '$bad' is a usage error (exit 2)" sh -c "test $? -eq 2 && grep -q 'wants LIB:SYMBOL' '$TMP/bad.err'"
done

finish
