#!/usr/bin/env bash
# replicate.sh — the CTCD paper's comparison at a scale that fits one GPU for minutes:
# pre-train (a) the large model alone, (b) the small model alone, (c) both co-trained (CTCD),
# on the same corpus, token budget and data order; then fine-tune every resulting model
# ALONE on the GLUE tasks available (same fine-tuning recipe for every arm, so only
# pre-training differs), over several fine-tuning seeds; print the GLUE-score table
# (large-alone, small-alone, CTCD-large, CTCD-small) and write it as JSON.
#
# usage: recipes/pretrain/replicate.sh [options]
#   --recipe FILE     pre-training recipe (default recipes/pretrain/quick-pair.yaml)
#   --corpus PATH     pretrain.corpus (default ../shared/data/corpus/gutenberg)
#   --steps N         pre-training steps per arm (default 2000)
#   --tasks "T ..."   fine-tuning tasks (default "sst2 mrpc rte cola stsb")
#   --seeds N         fine-tuning seeds (default 2)
#   --ft-steps N      fine-tuning steps per task (default 600)
#   --out DIR         (default runs/replicate)
#   --ctcd PATH       the ctcd binary (default build/ctcd)
#   --set K=V         extra override for every run (repeatable)
# Checks, as the issue asks, that both models' weights move from the first updates (a
# co-trained model silently left out of the update is a known pitfall): the pre-training
# log's grad norms and losses of both models are printed for the first logged steps.
set -euo pipefail
recipe=recipes/pretrain/quick-pair.yaml
corpus=../shared/data/corpus/gutenberg
steps=2000
tasks="sst2 mrpc rte cola stsb"
seeds=2
ft_steps=600
out=runs/replicate
ctcd=build/ctcd
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --recipe) recipe=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --ft-steps) ft_steps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ctcd) ctcd=$2; shift 2 ;;
    --set) extra+=(--set "$2"); shift 2 ;;
    *) echo "replicate.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
t0=$SECONDS
common=(--set "pretrain.corpus=$corpus" --set "train.max_steps=$steps" --set "pretrain.cache=$out/corpus-cache" "${extra[@]}")

# 1. pre-training: the same recipe with one model, the other, and both. Single-model
# recipes are the pair's recipe minus one models.<role> line.
python3 - "$recipe" "$out" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src).read()
for role, drop in (("large", "small"), ("small", "large")):
    lines = [l for l in text.splitlines() if not re.match(r"\s+%s:\s*\{" % drop, l)]
    open(f"{out}/only-{role}.yaml", "w").write("\n".join(lines) + "\n")
PY
for arm in large small; do
    echo "== pre-training: $arm alone"
    "$ctcd" pretrain "$out/only-$arm.yaml" "${common[@]}" --set "output=$out/pre-$arm" --quiet --force
done
echo "== pre-training: CTCD pair"
"$ctcd" pretrain "$recipe" "${common[@]}" --set "output=$out/pre-ctcd" --quiet --force
pre_s=$((SECONDS - t0))
head -3 "$out/pre-ctcd/log.jsonl"

# 2. fine-tuning each pre-trained model alone, same recipe for every arm.
declare -A ckpt=([large-alone]="$out/pre-large/large/last" [small-alone]="$out/pre-small/small/last"
                 [ctcd-large]="$out/pre-ctcd/large/last" [ctcd-small]="$out/pre-ctcd/small/last")
for arm in large-alone small-alone ctcd-large ctcd-small; do
    for task in $tasks; do
        for ((s = 0; s < seeds; s++)); do
            dir="$out/ft/$arm/$task/seed$s"
            echo "== fine-tuning $arm on $task (seed $s)"
            cat > "$out/ft.yaml" <<YAML
task: $task
models:
  small: {init: ${ckpt[$arm]}}
train: {max_steps: $ft_steps, batch: 32, lr: {small: 1e-4}, warmup: 0.1, seed: $((42 + s)), backend: auto}
data: {max_len: 128}
output: $dir
YAML
            "$ctcd" train "$out/ft.yaml" --quiet --force "${extra[@]}" > /dev/null
        done
    done
done

# 3. the table: per arm, each task's best dev task score (mean over seeds) and the GLUE score.
python3 - "$out" "$tasks" "$seeds" "$steps" "$pre_s" "$((SECONDS - t0))" <<'PY'
import json, os, statistics, sys
out, tasks, seeds, steps, pre_s, total_s = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
rows = {}
for arm in ("large-alone", "small-alone", "ctcd-large", "ctcd-small"):
    per_task = {}
    for t in tasks:
        vals = []
        for s in range(seeds):
            best = None
            with open(f"{out}/ft/{arm}/{t}/seed{s}/eval.jsonl") as f:
                for line in f:
                    sc = json.loads(line)["small"]["score"]
                    best = sc if best is None else max(best, sc)
            vals.append(best)
        per_task[t] = statistics.mean(vals)
    per_task["glue"] = statistics.mean(per_task[t] for t in tasks)
    rows[arm] = per_task
hdr = "| arm | " + " | ".join(tasks) + " | GLUE score |"
print(hdr); print("|" + "---|" * (len(tasks) + 2))
for arm, r in rows.items():
    print(f"| {arm} | " + " | ".join(f"{100 * r[t]:.1f}" for t in tasks) + f" | {100 * r['glue']:.2f} |")
json.dump({"pretrain_steps": int(steps), "pretrain_seconds": int(pre_s), "total_seconds": int(total_s),
           "seeds": seeds, "tasks": tasks, "scores": rows}, open(f"{out}/replicate.json", "w"), indent=1)
print(f"pre-training {pre_s} s, total {total_s} s; {out}/replicate.json")
PY
