#!/usr/bin/env bash
# Jobs people run (issue 13), end to end: every reference job of
# tests/workloads/torch_jobs.py in tests/scenarios.tsv (GIL contention, num_workers=0,
# workers that sleep, lock or wait on the network, a loader beside untraced CPU hogs,
# a main thread short of CPU after its batches arrive, epochs with and without
# persistent workers, prefetch 2 and 4, 1, 2 and 4 workers) is traced in run mode
# and in attach mode (tests/workloads/measure.sh: attach_run.sh starts the job
# untraced and attaches at the start of its measured window).  `analyze` over the
# job's measured window must agree with the job's own ground truth
# (tests/tools/check_job.py): the main thread, the step count within 2%, the loader
# wait within 0.05 of the time in next(), the verdict (the job's own figures decide
# where load changes it), and what the job's class is about (docs/analysis.md, "Job
# classes").
#
# A trace in which the tracer lost the wakers (issue 11: the report says attribution
# is unreliable) is no test of the analyzer: the job is traced again, at most twice,
# and each retry is said loudly; a third such trace fails.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
export ST_DATA=${ST_DATA:-$BUILD/data}
if [ ! -x "$TRACER" ]; then
	echo "SKIPPED: $TRACER is not built yet: the reference jobs need it" >&2
	exit 77
fi
skip_unless_bpf
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "SKIPPED: /usr/bin/python3 cannot import torch (apt-get install python3-torch)" >&2
	exit 77
fi
export TMPDIR=$TMP

rows=$(grep -v -e '^#' -e '^[[:space:]]*$' tests/scenarios.tsv | awk -F'\t' '$5 ~ /torch_jobs\.py/')
for want in pt_gil pt_gil_w2 pt_nw0 pt_nw0_files pt_nw0_mmap pt_wk_sleep pt_wk_lock pt_wk_net pt_wk_net_thr pt_wk_net_aio pt_prep_hogs pt_next_cpu \
	    pt_ep_w1_pf2 pt_ep_w2_pf2 pt_ep_w2_pf4_pers pt_ep_break_pers pt_ep_w4_pf2_pers pt_iter pt_iter_pers pt_val pt_val_pers pt_val_mid pt_val_mid_np \
	    pt_pin pt_ep_pin_pers pt_pin_hogs pt_pin_tail pt_val_pin pt_val_pin_pers pt_valnp_pin_pers pt_intraop pt_zip pt_zip_np pt_zip_uneq pt_fsrv pt_mppool pt_ppexec; do
	cut -f1 <<<"$rows" | grep -qx "$want" || fail "scenarios.tsv lacks the reference job $want"
done

# job NAME VERDICT MODE: traces it (again while the tracer loses wakers), checks it
job()
{
	local name=$1 verdict=$2 mode=$3 out=$TMP/$1-$3 try rc
	for try in 1 2 3; do
		if ! tests/workloads/measure.sh "$name" "$mode" --table tests/scenarios.tsv \
			--out "$out" >"$out.cmp.txt" 2>&1; then
			fail "$name ($mode): the traced job failed: $(tail -n 5 "$out.cmp.txt")"
			return
		fi
		ANALYZE=$ANALYZE "$PY" tests/tools/check_job.py "$name ($mode)" "$verdict" \
			"$out.win.json" "$out.truth.json" "$out.zst"
		rc=$?
		[ "$rc" -ne 3 ] && break
		echo "RETRY $name ($mode): trace $try lost the wakers (issue 11), tracing it again"
	done
	case $rc in
	0) ok "$name ($mode)" ;;
	3) fail "$name ($mode): the tracer lost the wakers in all 3 traces (issue 11)" ;;
	*) fail "$name ($mode)"
	   # the pools and processes, among the FAIL lines a CI log keeps
	   ANALYZE=$ANALYZE "$PY" tests/tools/fail_brief.py "$name ($mode)" "$out.win.json" "$out.zst"
	   # the trace to look at once the run is gone (a failure under load is rare)
	   mkdir -p "$BUILD/test-logs"
	   cp "$out.zst" "$BUILD/test-logs/$name-$mode.zst" 2>/dev/null
	   cp "$out.truth.json" "$BUILD/test-logs/$name-$mode.truth.json" 2>/dev/null
	   cat "$out.cmp.txt"
	   "$ANALYZE" "$out.zst" 2>&1 | head -n 30 ;;
	esac
}

# Known misses, open in issue 13 and said on every run (not checked, so that the rest
# gates), as NAME/MODE words: none at present (the persistent pool's resume answers and
# the periodic pattern's sub-periods, issue 13, are checked again).  Single checks
# known to miss are in tests/tools/check_job.py (KNOWN_MISS), said as KNOWN MISS lines.
known_miss=""

while IFS=$'\t' read -r name verdict _; do
	for mode in run attach; do
		if [[ " $known_miss " == *" $name/$mode "* ]]; then
			echo "KNOWN MISS $name ($mode): not checked (issue 13, see the comment above)"
			continue
		fi
		job "$name" "$verdict" "$mode"
	done
done <<<"$rows"
finish
