#!/usr/bin/env bash
# run-cpu.sh — CPU benchmarks (co-training step, tokenizer) into one JSON file:
#   benchmarks/results/cpu-<date>-<commit>.json
# usage: benchmarks/run-cpu.sh [BUILD_DIR]   (default: build, configured Release)
# The GPU suite (issue: benchmarks and profiling) has its own runner.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for exe in cpu_step tokenize_bench; do
    [ -x "$build/benchmarks/$exe" ] || { echo "run-cpu.sh: $build/benchmarks/$exe missing; build first" >&2; exit 1; }
done
commit=$(git rev-parse --short=12 HEAD)
dirty=$(git diff --quiet HEAD -- src include benchmarks && echo false || echo true)
date=$(date -u +%Y-%m-%d)
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
cores=$(nproc)
threads=${OMP_NUM_THREADS:-$cores}
out=benchmarks/results/cpu-$date-$commit.json
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

OMP_NUM_THREADS=$threads "$build/benchmarks/cpu_step" 20 | grep '^{' >>"$tmp"
data=${CTCD_DATA_DIR:-../shared/data}
if [ -d "$data/glue/SST-2" ]; then
    CTCD_DATA_DIR=$data "$build/benchmarks/tokenize_bench" --repeat 3 | grep '^{' >>"$tmp"
else
    echo "run-cpu.sh: $data/glue absent; tokenizer benchmark skipped" >&2
fi

{
    printf '{\n  "device": "%s (%s cores visible)",\n  "omp_num_threads": %s,\n' "$cpu" "$cores" "$threads"
    printf '  "commit": "%s",\n  "dirty": %s,\n  "date": "%s",\n  "results": [\n' "$commit" "$dirty" "$date"
    sed -e 's/^/    /' -e '$!s/$/,/' "$tmp"
    printf '  ]\n}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
cat "$out"
