#!/bin/sh
# Partner sweep + capacity-gap fit (README "Choosing the partner").
#
#   recipes/plan/partner-sweep.sh [OUT_DIR] [extra ctcd sweep options...]
#
# 1. `ctcd sweep` co-trains every (student size, partner size) pair of the grid below on the
#    same data (CTCD runs; each point a run directory OUT_DIR/<point>/seed<seed>);
# 2. `ctcd plan --fit` reads every run (recipe.yaml, eval.jsonl, checkpoints), keeps, per
#    student size, the partner that gave the best student, fits partner = a x student + b
#    (least squares, R^2) and writes OUT_DIR/plan-fit.md and OUT_DIR/plan-fit.png.
# Edit STUDENTS / PARTNERS (hidden sizes; FFN = 4 x hidden) or the recipe to change the grid.
# CTCD=path/to/ctcd overrides the binary (default: build/ctcd, else ctcd on PATH).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-runs/partner-sweep}
[ $# -gt 0 ] && shift
ctcd=${CTCD:-}
if [ -z "$ctcd" ]; then
    if [ -x "$root/build/ctcd" ]; then ctcd="$root/build/ctcd"; else ctcd=ctcd; fi
fi
STUDENTS=${STUDENTS:-32,64}
PARTNERS=${PARTNERS:-64,128,192,256}

"$ctcd" sweep "$here/partner-sweep.yaml" \
    --grid "models.small.hidden=$STUDENTS" \
    --grid "models.large.hidden=$PARTNERS" \
    --out "$out" "$@"

# every run directory of the sweep (those holding a resolved recipe.yaml)
runs=$(find "$out" -mindepth 2 -name recipe.yaml -exec dirname {} \; | sort)
# shellcheck disable=SC2086 # run directories are words without spaces (sweep's own names)
"$ctcd" plan --fit $runs --out "$out"
