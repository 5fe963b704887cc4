#!/bin/sh
# e-SNLI (or CommonsenseQA) data-efficiency sweep (README "Rationales as a second task"): the
# four arms — plain fine-tuning, step-by-step, CTCD, CTCD + step-by-step — each at
# 12.5/25/50/100% of the training set (e-SNLI valid / CQA train) over several seeds,
# evaluated on the task's test split.
#
#   recipes/rationales/esnli-sweep.sh [OUT_DIR] [extra ctcd sweep options...]
#   e.g. recipes/rationales/esnli-sweep.sh runs/esnli-sweep --set train.epochs=1 \
#            --set data.max_dev_examples=2000
#        TASK=cqa recipes/rationales/esnli-sweep.sh runs/cqa-sweep
#
# The paper trains the same number of steps at every fraction (its run.py: --max_steps); pass
# `--set train.max_steps=N` for that, else each fraction trains train.epochs epochs of its share.
#
# Each arm is one `ctcd sweep` over data.train_fraction of $TASK-<arm>.yaml (runs in
# OUT_DIR/<arm>/<point>/seed<seed>/, its own sweep.md/json); then OUT_DIR/$TASK-sweep.md gets
# one markdown table: per arm and model, test accuracy (mean ± sample std over seeds, last
# evaluation) per fraction, read from the runs' eval.jsonl (so it also covers an interrupted
# sweep). Environment: TASK (esnli, the default, or cqa: the recipes cqa-<arm>.yaml), SEEDS
# (default 2), FRACTIONS (default 0.125,0.25,0.5,1), ARMS (default "finetune sbs ctcd
# ctcd-sbs"), CTCD (the binary; default build/ctcd, else ctcd on PATH), TABLE_ONLY=1 (no
# training: the table of the arms already in OUT_DIR, e.g. after running arms in parallel
# with ARMS=...). Existing arm directories are overwritten.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
TASK=${TASK:-esnli}
case $TASK in
    esnli) title="e-SNLI" ;;
    cqa) title=CommonsenseQA ;;
    *) echo "esnli-sweep.sh: TASK=$TASK (esnli or cqa)" >&2; exit 2 ;;
esac
out=${1:-runs/$TASK-sweep}
[ $# -gt 0 ] && shift
ctcd=${CTCD:-}
if [ -z "$ctcd" ]; then
    if [ -x "$root/build/ctcd" ]; then ctcd="$root/build/ctcd"; else ctcd=ctcd; fi
fi
SEEDS=${SEEDS:-2}
FRACTIONS=${FRACTIONS:-0.125,0.25,0.5,1}
ARMS=${ARMS:-finetune sbs ctcd ctcd-sbs}

for arm in $ARMS; do
    [ "${TABLE_ONLY:-0}" = 1 ] && break
    "$ctcd" sweep "$here/$TASK-$arm.yaml" --grid "data.train_fraction=$FRACTIONS" \
        --seeds "$SEEDS" --out "$out/$arm" "$@"
done

# One row per (arm, model): the last evaluation in each seed's eval.jsonl
# (OUT_DIR/<arm>/data.train_fraction=<f>/seed<seed>/), mean ± sample std over the seeds that
# finished ("(n=1)" when only one did, "-" when none; a one-model arm has no large row).
table=$out/$TASK-sweep.md
{
    printf '%s test accuracy (last evaluation), mean ± std over seeds, by share of the ' "$title"
    printf 'training set\n\n| arm | model |'
    for f in $(echo "$FRACTIONS" | tr ',' ' '); do
        printf ' %s%% |' "$(awk -v f="$f" 'BEGIN { printf "%g", 100 * f }')"
    done
    printf '\n|---|---|'
    for f in $(echo "$FRACTIONS" | tr ',' ' '); do printf -- '---|'; done
    printf '\n'
    for arm in $ARMS; do
        for model in small large; do
            row="" any=0
            for f in $(echo "$FRACTIONS" | tr ',' ' '); do
                # shellcheck disable=SC2046 # seed directories are words without spaces
                cell=$(for e in "$out/$arm/data.train_fraction=$f"/seed*/eval.jsonl; do
                           [ -s "$e" ] && tail -n 1 "$e"
                       done | awk -v m="$model" '
                    match($0, "\"" m "\":[{]\"acc\":[-0-9.eE+]+") {
                        v = substr($0, RSTART, RLENGTH); sub(/.*:/, "", v)
                        x[n++] = v + 0 }
                    END {
                        if (n == 0) { print "-"; exit }
                        for (i = 0; i < n; i++) s += x[i]; mu = s / n
                        for (i = 0; i < n; i++) q += (x[i] - mu) ^ 2
                        if (n > 1) printf "%.4f ± %.4f\n", mu, sqrt(q / (n - 1))
                        else printf "%.4f (n=1)\n", mu }')
                [ "$cell" != "-" ] && any=1
                row="$row $cell |"
            done
            [ "$any" = 1 ] && echo "| $arm | $model |$row"
        done
    done
} > "$table.tmp"
mv "$table.tmp" "$table"
cat "$table"
