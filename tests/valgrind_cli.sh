#!/usr/bin/env bash
# valgrind_cli.sh — the ctcd CLI on bad inputs under valgrind (memcheck, full leak check):
# every case must end with ctcd's own error exit status (1, or 2 for usage errors) and a
# message, and valgrind must report no error and no leak (exit 99 would be valgrind's).
# usage: tests/valgrind_cli.sh [CTCD_BINARY]   (.ci/run runs it on the Release build)
set -uo pipefail
cd "$(dirname "$0")/.."
ctcd=$(realpath "${1:-build/ctcd}")
command -v valgrind >/dev/null || { echo "valgrind_cli: valgrind not installed"; exit 1; }
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# inputs
good="$tmp/good.yaml"
cat >"$good" <<'YAML'
task: builtin:demo
data: {max_len: 16, demo: {train_examples: 32, dev_examples: 8}}
models:
  small: {layers: 1, hidden: 8, heads: 1, intermediate: 8}
train: {max_steps: 2, batch: 8, backend: cpu}
YAML
printf 'task: builtin:demo\nmodels: {small: {layers: 1\n' >"$tmp/syntax.yaml"
printf 'task: builtin:demo\nmodels: {small: {layers: 1}}\ntrain: {lerning_rate: 1}\n' >"$tmp/unknown.yaml"
printf 'task: builtin:demo\nmodels: {small: {layers: 1}}\ntrain: {lr: {small: abc}}\n' >"$tmp/type.yaml"
printf 'task: builtin:demo\nmodels: {small: {layers: 1}}\ntrain: {batch: -3}\n' >"$tmp/range.yaml"
mkdir -p "$tmp/ckpt"
printf '{"hidden_size": 8, "num_hidden_layers": 1' >"$tmp/ckpt/config.json"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":1}}' >"$tmp/ckpt/model.safetensors"
mkdir -p "$tmp/ckpt2"
printf '{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8, "vocab_size": 100, "max_position_embeddings": 512, "type_vocab_size": 2}' >"$tmp/ckpt2/config.json"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' >"$tmp/ckpt2/model.safetensors"
mkdir -p "$tmp/run/state"
cp "$good" "$tmp/run/recipe.yaml"
printf '\x08\x00\x00\x00\x00\x00\x00\x00{"a":1} ' >"$tmp/run/state/train_state.safetensors"
mkdir -p "$tmp/existing" && cp "$good" "$tmp/existing/recipe.yaml"

status=0
n=0
# case NAME EXPECTED_EXIT ARGS... : runs ctcd under valgrind, prints the message
case_() {
    local name=$1 want=$2
    shift 2
    n=$((n + 1))
    local log="$tmp/vg-$n.log" out="$tmp/out-$n.txt"
    valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --log-file="$log" \
        "$ctcd" "$@" >"$out" 2>&1
    local rc=$?
    local msg
    msg=$(grep -m1 -E "ctcd( [a-z-]+)?: " "$out" || true)
    if [ "$rc" -eq 99 ] || [ -s "$log" ]; then
        echo "FAIL $name: valgrind reported errors (exit $rc)"
        cat "$log"
        status=1
    elif [ "$rc" -ne "$want" ] || [ -z "$msg" ]; then
        echo "FAIL $name: exit $rc (want $want), message '${msg}'"
        cat "$out"
        status=1
    else
        echo "ok   $name (exit $rc): $msg"
    fi
}

case_ "YAML syntax error" 1 train "$tmp/syntax.yaml"
case_ "unknown recipe key" 1 train "$tmp/unknown.yaml"
case_ "wrong value type" 1 train "$tmp/type.yaml"
case_ "value out of range" 1 train "$tmp/range.yaml"
case_ "missing recipe file" 1 train "$tmp/nope.yaml"
case_ "--set without '='" 1 train "$good" --set train.lr.small
case_ "--set unknown key" 1 train "$good" --set train.nope=1
case_ "--set bad number" 1 train "$good" --set train.batch=12x
case_ "--set missing value" 2 train "$good" --set
case_ "unknown option" 2 train "$good" --frobnicate
case_ "malformed checkpoint config.json" 1 train "$good" --set models.small.init="$tmp/ckpt"
case_ "safetensors header length lie" 1 train "$good" --set models.small.init="$tmp/ckpt2"
case_ "missing init checkpoint" 1 train "$good" --set models.small.init="$tmp/none"
case_ "malformed training state" 1 train --resume "$tmp/run"
case_ "--resume of a missing run" 1 train --resume "$tmp/none"
case_ "--resume with a forbidden --set" 1 train --resume "$tmp/run" --set train.seed=3
case_ "output holds a run" 1 train "$good" --set output="$tmp/existing"
if command -v flock >/dev/null; then
    # this shell holds the run's lock (fd 9, its pid written in it) while ctcd tries it
    mkdir -p "$tmp/locked"
    exec 9>"$tmp/locked/.lock"
    flock -n 9 && echo $$ >&9
    case_ "run directory locked by another process" 1 train "$good" --set output="$tmp/locked"
    exec 9>&-
fi
CTCD_TEST_FAIL_WRITE=train_state case_ "disk full at the state write" 1 train "$good" \
    --set output="$tmp/full" --set train.checkpoint_every=1
case_ "predict missing checkpoint" 1 predict "$tmp/none" --task sst2
case_ "unknown command" 2 frobnicate
exit $status
