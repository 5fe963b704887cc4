#!/bin/sh
# esnli-compare.sh — the CTCD comparison on e-SNLI with enough seeds to believe it (README
# "The CTCD effect on e-SNLI, 5 seeds"): `ctcd compare` of esnli-ctcd.yaml (large alone, small
# alone, online KD, CTCD) x SEEDS seeds at one share of the training pairs, every run
# deterministic (train.deterministic: the same weights on any x86-64 CPU with AVX2) on one
# OpenMP/OpenBLAS thread, JOBS runs side by side; then one `ctcd compare --keep-finished` that
# trains nothing and writes OUT/summary.md / summary.json (paired 95% intervals).
#
#   recipes/rationales/esnli-compare.sh [OUT] [extra --set options...]
#   e.g. FRACTION=0.25 recipes/rationales/esnli-compare.sh runs/esnli-25
#
# Environment: SEEDS (5; seeds train.seed = 42, 43, ...), FRACTION (data.train_fraction, 1),
# JOBS (parallel runs, default the number of cores), ARMS (default all four), CTCD (the binary;
# default build/ctcd, else ctcd on PATH). Runs already finished in OUT are kept, so an
# interrupted measurement goes on where it stopped when started again.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-runs/esnli-compare}
[ $# -gt 0 ] && shift
ctcd=${CTCD:-}
if [ -z "$ctcd" ]; then
    if [ -x "$root/build/ctcd" ]; then ctcd="$root/build/ctcd"; else ctcd=ctcd; fi
fi
SEEDS=${SEEDS:-5}
FRACTION=${FRACTION:-1}
JOBS=${JOBS:-$(nproc)}
ARMS=${ARMS:-"ctcd small-alone large-alone kd"}
recipe=$here/esnli-ctcd.yaml
mkdir -p "$out"

# one line per run: "<arm> <seed>", seeds outermost so that finished seeds accumulate
list=$out/.runs
: >"$list"
seed=42
k=0
while [ $k -lt "$SEEDS" ]; do
    for arm in $ARMS; do echo "$arm $((seed + k))" >>"$list"; done
    k=$((k + 1))
done
EXTRA=$*   # extra --set options (no spaces inside one option)
export ctcd recipe out FRACTION EXTRA
# each run: its own `ctcd compare` of one arm and one seed (its log in OUT/<arm>-seed<S>.log)
# shellcheck disable=SC2016,SC2086
xargs -P "$JOBS" -L 1 sh -c '
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$ctcd" compare "$recipe" --arms "$1" --seeds 1 \
        --set train.seed="$2" --set train.deterministic=true \
        --set data.train_fraction="$FRACTION" --keep-finished --quiet --out "$out" $EXTRA \
        >"$out/$1-seed$2.log" 2>&1 && echo "esnli-compare.sh: $1 seed $2 done" ||
        { echo "esnli-compare.sh: $1 seed $2 FAILED (see $out/$1-seed$2.log)" >&2; exit 255; }
' sh <"$list"
rm -f "$list"
arm_list=$(echo "$ARMS" | tr ' ' ',')
"$ctcd" compare "$recipe" --arms "$arm_list" --seeds "$SEEDS" --set train.deterministic=true \
    --set data.train_fraction="$FRACTION" --keep-finished --out "$out" "$@"
