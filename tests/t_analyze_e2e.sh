#!/usr/bin/env bash
# End to end: every reference scenario (tests/scenarios.tsv; the jobs of torch_jobs.py
# are tests/t_jobs.sh's) runs under the tracer,
# `analyze` looks at the workload's own measured window (--from/--to from its truth
# line) and must agree with the workload's ground truth, on an idle or a busy machine:
#   - the verdict is the table's, unless the job's own figures say the load changed
#     the cause: the verdict rule applied to the job's own breakdown (batch wait,
#     checkpoint, device wait, lock wait, and the time preempted while computing,
#     compute_s - compute_cpu_s) decides; a near tie allows either;
#   - dataloader_wait is within 0.05 of main.batch_wait_s / wall_s;
#   - compute within 0.05 of main.compute_cpu_s / wall_s;
#   - cpu_contention at least the time preempted while computing (trainsim's
#     compute_s is wall time, compute_cpu_s CPU time), at most all the time the main
#     thread was runnable without a CPU (runq_wait_s, from schedstat), within 0.05:
#     under load the thread is also preempted outside its compute, which the job
#     times as part of a wait.
# Skips loudly (77) only while the tracer is not built, or without root/BTF.  PyTorch
# rows are skipped, loudly, when /usr/bin/python3 cannot import torch.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
export ST_DATA=${ST_DATA:-$BUILD/data}
TOL=0.05
if [ ! -x "$TRACER" ]; then
	echo "SKIPPED: $TRACER is not built yet: the end-to-end analysis tests need it" >&2
	exit 77
fi
skip_unless_bpf
[ -x "$ANALYZE" ] || { echo "FAIL: $ANALYZE not built"; exit 1; }
have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || have_torch=0

# compare NAME JSON TRUTH VERDICT TOL: the checks above, one line each
compare()
{
	"$PY" - "$@" <<'PYEOF'
import json, sys
name, js, truth, verdict = sys.argv[1:5]
tol = float(sys.argv[5])
d = json.load(open(js))
t = json.load(open(truth))
wall = t["wall_s"]
m = t["main"]
bd = d["breakdown"]
f = {k: m[k] / wall for k in m if isinstance(m[k], (int, float))}
# the job's own breakdown: what the verdict rule must conclude from it.  Preemption
# is at least compute_s - compute_cpu_s (trainsim's compute_s is wall time), at most
# all the time it was runnable (runq_wait_s, schedstat); the other parts are the
# job's own timings of each wait.
runq = f.get("runq_wait_s") or 0
lo = {"dataloader_wait": f["batch_wait_s"], "io_wait": f["checkpoint_s"],
      "gpu_wait": f["device_wait_s"], "lock_wait": f["lock_wait_s"],
      "cpu_contention": f["compute_s"] - f["compute_cpu_s"]}
hi = dict(lo, cpu_contention=max(lo["cpu_contention"], runq))
verdict_of = {"dataloader_wait": verdict if verdict.startswith("dataloader") else "dataloader_prep",
              "io_wait": "main_io", "gpu_wait": "gpu_sync", "lock_wait": "lock_contention",
              "cpu_contention": "cpu_contention"}
# a busy machine can make another cause the largest: the job's own figures decide,
# and a near tie (within the tolerance) allows either side of it
w = max(lo.values())
want = {verdict_of[k] for k in lo if hi[k] >= w - tol and hi[k] >= 0.15 - tol}
if w < 0.15 + tol:
    want.add("compute")
want_s = "/".join(sorted(want)) + ("" if want == {verdict} else
                                   " from the job's own figures; the table says " + verdict)
checks = [
    ("verdict", d["verdict"]["primary"] in want, "%s (want %s)" % (d["verdict"]["primary"], want_s)),
    ("dataloader_wait", abs(bd["dataloader_wait"] - f["batch_wait_s"]) <= tol,
     "%.3f vs truth %.3f" % (bd["dataloader_wait"], f["batch_wait_s"])),
    ("compute (on CPU)", abs(bd["compute"] - f["compute_cpu_s"]) <= tol,
     "%.3f vs truth %.3f" % (bd["compute"], f["compute_cpu_s"])),
    # preempted at least while computing, at most while runnable at all (schedstat)
    ("cpu_contention", f["compute_s"] - f["compute_cpu_s"] - tol <= bd["cpu_contention"] <=
     max(runq, f["compute_s"] - f["compute_cpu_s"]) + tol,
     "%.3f, truth: preempted computing %.3f, runnable in all %.3f" %
     (bd["cpu_contention"], f["compute_s"] - f["compute_cpu_s"], runq)),
    ("main thread", d["main"]["tid"] == t["main_tid"], "%s vs truth %s" % (d["main"]["tid"], t["main_tid"])),
]
bad = 0
for what, ok, detail in checks:
    print("%s %s: %s: %s" % ("ok  " if ok else "FAIL", name, what, detail))
    bad += not ok
sys.exit(1 if bad else 0)
PYEOF
}

scenario()
{
	local name=$1 verdict=$2 zst=$TMP/$1.zst truth=$TMP/$1.truth from to
	if [[ $name == pt_* ]] && [ $have_torch = 0 ]; then
		echo "SKIPPED: $name: /usr/bin/python3 cannot import torch" >&2
		return
	fi
	if ! tests/workloads/scenario.sh "$name" --truth "$truth" \
		--prefix "\$BUILD/tracer run -q -o $zst \$ST_TRACER_OPTS --" >"$TMP/$name.log" 2>&1; then
		fail "$name: the traced scenario failed: $(tail -n 3 "$TMP/$name.log")"
		return
	fi
	from=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["window"]["start_ns"])' "$truth")
	to=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["window"]["end_ns"])' "$truth")
	if ! "$ANALYZE" -q --from "@$from" --to "@$to" --json "$TMP/$name.json" "$zst"; then
		fail "$name: analyze failed"
		return
	fi
	if compare "$name" "$TMP/$name.json" "$truth" "$verdict" "$TOL"; then
		ok "$name"
	else
		fail "$name"
		"$ANALYZE" --from "@$from" --to "@$to" "$zst" | head -n 30
	fi
}

# A job forking 800 short-lived children that wake it (each `echo | cat` is two, plus
# the `seq`): more workers than the report lists (64); analyze once wrote past its list.
"$TRACER" run -q -o "$TMP/loop.zst" -- sh -c 'for i in $(seq 400); do echo $i | cat >/dev/null; done'
if "$ANALYZE" --json "$TMP/loop.json" "$TMP/loop.zst" >"$TMP/loop.out" 2>&1; then
	check "800 short-lived children: every process counted, 64 workers listed" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["trace"]["processes"] == 802 and d["dataloader"]["workers"] > 64 and
	 len(d["dataloader"]["worker_list"]) == 64 else 1)' "$TMP/loop.json"
else
	fail "800 short-lived children: analyze failed: $(tail -n 3 "$TMP/loop.out")"
fi

# the jobs of tests/workloads/torch_jobs.py are tests/t_jobs.sh's (run and attach mode)
jobs_rows=$(grep -v '^#' tests/scenarios.tsv | awk -F'\t' '$5 ~ /torch_jobs\.py/ { print $1 }')
while IFS=$'\t' read -r name verdict; do
	grep -qx -- "$name" <<<"$jobs_rows" || scenario "$name" "$verdict"
done < <(tests/workloads/scenario.sh --list)
finish
