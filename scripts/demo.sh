#!/usr/bin/env bash
# make demo: trace the bundled reference training job, analyze it, write the report.
# The job is a real PyTorch DataLoader run (tests/scenarios.tsv: pt_prep) when torch is
# installed, else its trainsim twin (ts_prep).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUILD:=$PWD/build}"
out=$BUILD/demo
rm -rf "$out"
mkdir -p "$out"
scenario=pt_prep
/usr/bin/python3 -c 'import torch' 2>/dev/null || scenario=ts_prep
echo "demo: tracing scenario $scenario (tests/scenarios.tsv) into $out/trace.zst"
tests/workloads/scenario.sh "$scenario" --truth "$out/truth.json" \
	--prefix "$BUILD/tracer run -q -o $out/trace.zst \$ST_TRACER_OPTS --" >"$out/job.log"
echo "demo: analyzing"
"$BUILD/analyze" "$out/trace.zst" --json "$out/report.json" -o "$out/report" | tee "$out/report.txt"
echo
echo "demo: report: $out/report.txt, JSON: $out/report.json, charts and page: $out/report/"
