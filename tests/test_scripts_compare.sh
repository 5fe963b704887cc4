#!/bin/sh
# test_scripts_compare.sh CTCD SOURCE_DIR — the measurement scripts of issue 27, end to end on
# tiny runs: scripts/compare-parallel.sh (every arm x seed its own process, then one summary;
# finished runs kept when started again; a bad --set stops it with ctcd's message) and
# recipes/glue/gap-search.sh (its gap table). The first part needs no data; the second runs
# where GLUE STS-B and python3 are found and otherwise says why it was left out.
set -eu
ctcd=${1:?usage: test_scripts_compare.sh CTCD SOURCE_DIR}
src=${2:?usage: test_scripts_compare.sh CTCD SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_scripts_compare: FAIL: $*" >&2; exit 1; }
export CTCD="$ctcd" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# --- compare-parallel.sh on the built-in demo task: 2 arms x 2 seeds, 4 steps each ---------
tiny="--set data.demo.train_examples=128 --set data.demo.dev_examples=64 --set train.epochs=1
      --set train.log_every=2"
out=$tmp/cmp
# compare_parallel LOG: the 2 x 2 tiny comparison into $out, its output in LOG
compare_parallel() {
    # shellcheck disable=SC2086
    SEEDS=2 JOBS=2 ARMS="small-alone ctcd" sh "$src/scripts/compare-parallel.sh" \
        "$src/recipes/demo.yaml" "$out" $tiny >"$1" 2>&1 ||
        { cat "$1" >&2; fail "compare-parallel.sh exited non-zero (see above)"; }
}
compare_parallel "$tmp/cmp.log"
for run in small-alone/seed42 small-alone/seed43 ctcd/seed42 ctcd/seed43; do
    [ -s "$out/$run/eval.jsonl" ] || fail "$out/$run/eval.jsonl missing"
done
[ -e "$out/.runs" ] && fail "the run list $out/.runs was left behind"
c=$(grep -c "compare-parallel.sh: .* seed 4[23] done" "$tmp/cmp.log")
[ "$c" -eq 4 ] || { cat "$tmp/cmp.log" >&2; fail "$c of 4 runs reported done"; }
# one summary over both seeds: every model of the two arms with n = 2, and the paired delta
grep -q "mean ± std over 2 seeds (42..43)" "$out/summary.md" || fail "summary.md: not 2 seeds"
for label in small-alone CTCD-small CTCD-large; do
    grep -q "^| $label | " "$out/summary.md" || fail "summary.md lacks the row $label"
done
grep -q "^| CTCD-small - small-alone | .*\[" "$out/summary.md" ||
    fail "summary.md lacks the paired interval of CTCD-small - small-alone"
grep -Eq '"seeds":[[:space:]]*\[42,[[:space:]]*43\]' "$out/summary.json" ||
    fail "summary.json does not list seeds 42, 43"
# each per-run process ran with train.deterministic (compare-parallel.sh's contract)
grep -q "deterministic: true" "$out/ctcd/seed42/recipe.yaml" ||
    fail "the runs were not made with train.deterministic"

# started again, it keeps every finished run (their eval logs are not rewritten)
stamp=$(ls -l --time-style=full-iso "$out"/*/seed*/eval.jsonl)
compare_parallel "$tmp/cmp2.log"
[ "$stamp" = "$(ls -l --time-style=full-iso "$out"/*/seed*/eval.jsonl)" ] ||
    fail "started again, compare-parallel.sh trained finished runs again"

# a recipe key that does not exist stops it before any run, with ctcd's message naming it
if SEEDS=1 ARMS=ctcd sh "$src/scripts/compare-parallel.sh" "$src/recipes/demo.yaml" \
    "$tmp/bad" --set train.no_such_key=1 >"$tmp/bad.log" 2>&1; then
    fail "compare-parallel.sh accepted --set train.no_such_key=1"
fi
grep -q "no_such_key" "$tmp/bad.log" || { cat "$tmp/bad.log" >&2; fail "no message names the key"; }
[ -e "$tmp/bad/ctcd" ] && fail "a run was started despite the bad key"
echo "test_scripts_compare: compare-parallel.sh: 4 runs, summary, kept on restart, bad key refused"

# --- gap-search.sh: its table, on STS-B (needs the data and python3) ------------------------
if ! command -v python3 >/dev/null 2>&1; then
    echo "test_scripts_compare: gap-search.sh part skipped: python3 not found"
    exit 0
fi
if ! "$ctcd" doctor | grep -q '^  .*GLUE.*STS-B'; then
    echo "test_scripts_compare: gap-search.sh part skipped: GLUE STS-B not found" \
         "(set CTCD_DATA_DIR or put the data in ../shared/data; see \`ctcd doctor\`)"
    exit 0
fi
TASKS=stsb EPOCHS=1 SEEDS=2 JOBS=2 sh "$src/recipes/glue/gap-search.sh" "$tmp/gap" \
    --set data.max_train_examples=64 --set data.max_dev_examples=48 \
    --set models.large.layers=2 >"$tmp/gap.log" 2>&1 ||
    { cat "$tmp/gap.log" "$tmp"/gap.stsb-e1.log >&2; fail "gap-search.sh exited non-zero"; }
num='-?[0-9]+\.[0-9]+'
grep -Eq "^\| stsb \| 1 \| $num ± $num \| $num ± $num \| [-+][0-9.]+ \[$num, [-+][0-9.]+\]" \
    "$tmp/gap.log" ||
    { cat "$tmp/gap.log" >&2; fail "gap-search.sh printed no gap row for stsb, 1 epoch"; }
[ -s "$tmp/gap/stsb-e1/summary.json" ] || fail "gap-search.sh wrote no summary.json"
echo "test_scripts_compare: gap-search.sh: gap table for stsb"
