#!/usr/bin/env bash
# kdnas-glue.sh — the small-scale KD-NAS experiment of issue 12 on SST-2 and MRPC: for each
# task and each search seed, `ctcd search` (frozen-teacher KD proxy, CPU latency) followed by
# its final stage (search.final.*): the winner and the hand-made student of nearest measured
# latency, distilled on the training set at two retrain seeds. Results: <out>/<task>-s<seed>/
# final.md and final.jsonl; `summarise` below pools them (mean ± sample std over all runs).
#
#   scripts/kdnas-glue.sh CTCD OUT TEACHER_SST2 TEACHER_MRPC [TASKS] [SEEDS]
#
# CTCD: the ctcd binary; TEACHER_*: fine-tuned 4L/256 checkpoints (recipes/glue/*-ctcd.yaml's
# large model trained alone). Budget (SST-2: first 6000 train sentences, 1 epoch, proxy 3000;
# MRPC: full train, 2 epochs, proxy 2000; 3 episodes x top-2 of 12 proposals, target 3 ms)
# can be cut with EXTRA="--set key=value ..." in the environment (EXTRA_SST2 / EXTRA_MRPC for
# one task). LATENCY_SEED=FILE starts every search's latency cache (latency.tsv) from FILE, so
# that all searches share one set of measurements (keys: arch, device, B, T).
set -euo pipefail
ctcd=$1 out=$2 t_sst2=$3 t_mrpc=$4
tasks=${5:-"sst2 mrpc"}
seeds=${6:-"1 2"}
handmade="L1-H64-A1-I256,L2-H64-A1-I256,L4-H64-A1-I256,L1-H128-A2-I512,L2-H128-A2-I512"
handmade+=",L3-H128-A2-I512,L4-H128-A2-I512,L1-H256-A4-I1024,L2-H256-A4-I1024"
mkdir -p "$out"
for task in $tasks; do
    case $task in
    sst2) teacher=$t_sst2 set=(--set data.max_len=64 --set data.max_train_examples=6000
                                --set train.epochs=1 --set search.proxy_examples=3000)
          extra=${EXTRA_SST2:-} ;;
    mrpc) teacher=$t_mrpc set=(--set data.max_len=128 --set data.max_train_examples=0
                                --set train.epochs=2 --set search.proxy_examples=2000)
          extra=${EXTRA_MRPC:-} ;;
    *) echo "kdnas-glue.sh: unknown task $task" >&2; exit 2 ;;
    esac
    for seed in $seeds; do
        dir=$out/$task-s$seed
        mkdir -p "$dir"
        if [ -n "${LATENCY_SEED:-}" ] && [ ! -e "$dir/latency.tsv" ]; then
            cp "$LATENCY_SEED" "$dir/latency.tsv"
        fi
        # search seed s; retrain seeds 2s-1 and 2s (train.seed also seeds the proxy runs)
        /usr/bin/time -v "$ctcd" search "recipes/glue/$task-ctcd.yaml" "${set[@]}" \
            --set output="$dir" --set models.large.init="$teacher" \
            --set train.backend=cpu --set distill.ramp_steps=40 --set eval.every=0 --set train.seed=$((2 * seed - 1)) \
            --set search.seed="$seed" --set search.episodes=3 --set search.proposals=12 \
            --set search.top_k=2 --set search.random=2 --set search.target_ms=3 \
            --set search.layers.max=4 --set search.hidden.min=64 --set search.hidden.max=256 \
            --set search.hidden.step=64 --set search.latency.reps=40 \
            --set search.latency.warmup=5 --set search.final.seeds=2 \
            --set search.final.handmade="$handmade" ${EXTRA:-} $extra \
            >"$dir.out" 2>"$dir.err"
        echo "$task seed $seed: $(grep -h 'Elapsed (wall' "$dir.err")"
    done
done
