#!/bin/sh
# esnli-compare.sh — the CTCD comparison on e-SNLI with enough seeds to believe it (README
# "The CTCD effect on e-SNLI, 5 seeds"): esnli-ctcd.yaml's four arms (large alone, small
# alone, online KD, CTCD) x SEEDS seeds at one share of the training pairs, every run
# deterministic on one thread, JOBS side by side (scripts/compare-parallel.sh), then the
# paired summary in OUT/summary.md and summary.json.
#
#   recipes/rationales/esnli-compare.sh [OUT] [--set KEY=VALUE ...]
#   e.g. FRACTION=0.25 recipes/rationales/esnli-compare.sh runs/esnli-25
#
# Environment: FRACTION (data.train_fraction, default 1) and those of compare-parallel.sh:
# SEEDS (5), ARMS, JOBS, CTCD. Started again, it keeps the runs already finished in OUT.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-runs/esnli-compare}
[ $# -gt 0 ] && shift
exec "$here/../../scripts/compare-parallel.sh" "$here/esnli-ctcd.yaml" "$out" \
    --set data.train_fraction="${FRACTION:-1}" "$@"
