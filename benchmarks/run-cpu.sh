#!/usr/bin/env bash
# run-cpu.sh — the CPU benchmarks into one JSON file, benchmarks/results/cpu-<date>-<commit>.json:
#   1. the co-training step of `ctcd bench step --backend cpu --precision fp32` against the
#      same step in PyTorch (benchmarks/reference_cpu.py), alternating ctcd / PyTorch (the
#      order flips every round) for ROUNDS rounds, per configuration: mini and tiny pairs at
#      seq 128 batch 32, classification and masked LM, and the mini pair on ragged
#      (SST-2-like, bucketed) lengths; the file keeps every round and the ratio of medians;
#   2. cpu_step (the demo-sized step) and tokenize_bench (SST-2 train) as before.
# usage: benchmarks/run-cpu.sh [BUILD_DIR]   (default: build, configured Release)
# Environment: ROUNDS (3), STEPS (5), WARMUP (2), OMP_NUM_THREADS (default: every core; both
# implementations get the same), PYTHON (python3 with torch; default /usr/bin/python3, Debian's
# python3-torch), CONFIGS (space-separated pair:lengths:head, e.g. "mini:full:cls").
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for exe in ctcd benchmarks/cpu_step benchmarks/tokenize_bench; do
    [ -x "$build/$exe" ] || { echo "run-cpu.sh: $build/$exe missing; build first" >&2; exit 1; }
done
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import torch' 2>/dev/null || {
    echo "run-cpu.sh: '$py' cannot import torch (apt-get install python3-torch, or set PYTHON)" >&2
    exit 1
}
commit=$(git rev-parse --short=12 HEAD)
dirty=$(git diff --quiet HEAD -- src include benchmarks && echo false || echo true)
date=$(date -u +%Y-%m-%d)
threads=${OMP_NUM_THREADS:-$(nproc)}
export OMP_NUM_THREADS=$threads
rounds=${ROUNDS:-3} steps=${STEPS:-5} warmup=${WARMUP:-2}
configs=${CONFIGS:-"mini:full:cls mini:full:mlm tiny:full:cls tiny:full:mlm mini:ragged:cls mini:ragged:mlm"}
out=benchmarks/results/cpu-$date-$commit.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq 1 "$rounds"); do
    for cfg in $configs; do
        IFS=: read -r pair lengths head <<<"$cfg"
        mlm=(); [ "$head" = mlm ] && mlm=(--mlm)
        common=(--pairs "$pair" --seq 128 --batch 32 --steps "$steps" --warmup "$warmup"
                --lengths "$lengths" "${mlm[@]}")
        run_ctcd() {
            "$build/ctcd" bench step --backend cpu --precision fp32 --json "${common[@]}" |
                sed "s/^{/{\"round\":$r,/" >>"$tmp/step.jsonl"
        }
        run_torch() {
            "$py" benchmarks/reference_cpu.py "${common[@]}" |
                sed "s/^{/{\"round\": $r, /" >>"$tmp/step.jsonl"
        }
        if [ $((r % 2)) = 1 ]; then run_ctcd; run_torch; else run_torch; run_ctcd; fi
        echo "run-cpu.sh: round $r/$rounds $cfg done" >&2
    done
done

"$build/benchmarks/cpu_step" 20 | grep '^{' >"$tmp/cpu_step.jsonl"
data=${CTCD_DATA_DIR:-../shared/data}
: >"$tmp/tokenize.jsonl"
if [ -d "$data/glue/SST-2" ]; then
    CTCD_DATA_DIR=$data "$build/benchmarks/tokenize_bench" --repeat 3 | grep '^{' >"$tmp/tokenize.jsonl"
else
    echo "run-cpu.sh: $data/glue absent; tokenizer benchmark skipped" >&2
fi

"$py" benchmarks/report_cpu.py --step "$tmp/step.jsonl" --cpu-step "$tmp/cpu_step.jsonl" \
    --tokenize "$tmp/tokenize.jsonl" --commit "$commit" --dirty "$dirty" --date "$date" \
    --threads "$threads" --ctcd-version "$("$build/ctcd" --version | head -1)" \
    --out "$out.tmp" --table "$tmp/table.md"
mv "$out.tmp" "$out"
echo "wrote $out"
cat "$tmp/table.md"
