#!/usr/bin/env bash
# A real GPU job (tests/workloads/gpu_job.py: PyTorch, CUDA, 2 workers, pin memory,
# persistent workers) traced in run and attach mode, checked against the job's own
# clock: GPU-bound (loss.item() waits for a chain of matrix products; then
# torch.cuda.synchronize(), cudaDeviceSynchronize, in run mode) with --cuda,
# the same without --cuda (said on top), data-bound with --torch-steps.  Needs a
# CUDA GPU and a PyTorch that sees it ($GPU_PY, else python3, else /usr/bin/python3):
# without one it skips, loudly; CI has none (last run: docs/performance.md's GPU row).
. "$(dirname "$0")/lib.sh"
skip_unless_bpf
GPU_PY=${GPU_PY:-}
for py in $GPU_PY python3 /usr/bin/python3; do
	if "$py" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
		GPU_PY=$py
		break
	fi
	GPU_PY=
done
if [ -z "$GPU_PY" ]; then
	echo "SKIPPED: no CUDA GPU that PyTorch sees here (GPU_PY=python with CUDA torch): the GPU checks did not run" >&2
	exit 77
fi
JOB=tests/workloads/gpu_job.py

# judge NAME WHAT: analyze NAME's trace over the job's own window, then check WHAT
judge()
{
	local n=$1 from to
	read -r from to < <("$PY" -c 'import json,sys; t=json.load(open(sys.argv[1]))
print("@%d @%d" % (t["start_ns"], t["end_ns"]))' "$TMP/$n.truth") || { fail "$n: no truth"; return; }
	"$ANALYZE" -q --from "$from" --to "$to" --json "$TMP/$n.json" "$TMP/$n.zst" 2>"$TMP/$n.aerr" ||
		{ fail "$n: analyze failed: $(head -1 "$TMP/$n.aerr")"; return; }
	"$PY" - "$TMP/$n.truth" "$TMP/$n.json" "$2" <<'PYEOF' && ok "$n: $2" || fail "$n: $2"
import json, sys
t, d, what = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bd, st, w = d["breakdown"], d["steps"], d["trace"]["warnings"]
gpu_warn = any("uses a GPU" in x for x in w)
print("truth next %.3f wait %.3f steps %d | report %s gpu %.3f loader %.3f steps %d (%s) warnings %s"
      % (t["next_frac"], t["wait_frac"], t["steps"], d["verdict"]["primary"], bd["gpu_wait"],
         bd["dataloader_wait"], st["count"], st["method"], w))
ok = abs(st["count"] - t["steps"]) <= max(1, 0.02 * t["steps"])
if what == "gpu_sync":
    ok &= d["verdict"]["primary"] == "gpu_sync" and abs(bd["gpu_wait"] - t["wait_frac"]) <= 0.05
    ok &= not gpu_warn
elif what == "unprobed":
    ok &= bd["gpu_wait"] == 0 and gpu_warn
elif what == "prep":
    ok &= d["verdict"]["primary"] == "dataloader_prep" and st["method"] == "markers"
    ok &= abs(bd["dataloader_wait"] - t["next_frac"]) <= 0.05
    ok &= abs(bd["gpu_wait"] - t["wait_frac"]) <= 0.05
sys.exit(not ok)
PYEOF
}

"$TRACER" run -q --cuda -o "$TMP/run.zst" -- "$GPU_PY" $JOB gpu 200 "$TMP/run.truth" >/dev/null 2>"$TMP/run.err"
judge run gpu_sync
TRACER=$TRACER tests/workloads/attach_run.sh -o "$TMP/att.zst" -q --cuda -- \
	"$GPU_PY" $JOB gpu 200 "$TMP/att.truth" >/dev/null 2>"$TMP/att.err"
judge att gpu_sync
"$TRACER" run -q --cuda -o "$TMP/sync.zst" -- "$GPU_PY" $JOB sync 150 "$TMP/sync.truth" >/dev/null 2>"$TMP/sync.err"
judge sync gpu_sync
"$TRACER" run -q -o "$TMP/noc.zst" -- "$GPU_PY" $JOB gpu 100 "$TMP/noc.truth" >/dev/null 2>"$TMP/noc.err"
judge noc unprobed
"$TRACER" run -q --cuda --torch-steps -o "$TMP/data.zst" -- \
	"$GPU_PY" $JOB data 60 "$TMP/data.truth" >/dev/null 2>"$TMP/data.err"
judge data prep
finish
