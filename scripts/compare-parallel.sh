#!/bin/sh
# compare-parallel.sh — `ctcd compare` with its runs side by side: every arm x seed is its own
# process on one OpenMP/OpenBLAS thread with train.deterministic (the same weights on any
# x86-64 CPU with AVX2), JOBS at a time; then one `ctcd compare --keep-finished` that trains
# nothing and writes OUT/summary.md and summary.json (paired 95% intervals). Runs already
# finished in OUT are kept, so an interrupted measurement goes on where it stopped.
#
#   scripts/compare-parallel.sh RECIPE OUT [--set KEY=VALUE ...]
#
# Environment: SEEDS (5; seeds train.seed, train.seed+1, ... of the recipe, 42 by default),
# ARMS (default "ctcd small-alone large-alone kd"), JOBS (default: the number of cores),
# CTCD (the binary; default build/ctcd, else ctcd on PATH). Each run's output goes to
# OUT/<arm>-seed<S>.log. The --set options may not contain spaces.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 RECIPE OUT [--set KEY=VALUE ...]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
recipe=$1 out=$2
shift 2
ctcd=${CTCD:-}
if [ -z "$ctcd" ]; then
    if [ -x "$root/build/ctcd" ]; then ctcd="$root/build/ctcd"; else ctcd=ctcd; fi
fi
SEEDS=${SEEDS:-5}
JOBS=${JOBS:-$(nproc)}
ARMS=${ARMS:-"ctcd small-alone large-alone kd"}
EXTRA="$* --set train.deterministic=true"
# shellcheck disable=SC2086
seed0=$("$ctcd" train "$recipe" $EXTRA --print-recipe |
    awk '/^[^ #]/ { top = $1 } top == "train:" && $1 == "seed:" { print $2; exit }')
[ -n "$seed0" ] || { echo "$0: cannot read train.seed of $recipe" >&2; exit 1; }
mkdir -p "$out"

# one line per run, "<arm> <seed>", seeds outermost so that whole seeds finish first
list=$out/.runs
: >"$list"
k=0
while [ $k -lt "$SEEDS" ]; do
    for arm in $ARMS; do echo "$arm $((seed0 + k))" >>"$list"; done
    k=$((k + 1))
done
export ctcd recipe out EXTRA
# shellcheck disable=SC2016,SC2086
xargs -P "$JOBS" -L 1 sh -c '
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$ctcd" compare "$recipe" --arms "$1" --seeds 1 \
        --set train.seed="$2" $EXTRA --keep-finished --runs-only --quiet --out "$out" \
        >"$out/$1-seed$2.log" 2>&1 && echo "compare-parallel.sh: $1 seed $2 done" ||
        { echo "compare-parallel.sh: $1 seed $2 FAILED (see $out/$1-seed$2.log)" >&2; exit 255; }
' sh <"$list"
rm -f "$list"
# shellcheck disable=SC2086
"$ctcd" compare "$recipe" --arms "$(echo $ARMS | tr ' ' ',')" --seeds "$SEEDS" $EXTRA \
    --keep-finished --out "$out"
