#!/usr/bin/env bash
# gpu-check.sh — build ctcd with CUDA and run every suite on the GPU machine, in one call.
#
# Run from the repository root ON the device machine, with .gpu-debs carried
# (made here by scripts/fetch-gpu-debs.sh), e.g. through the `run` tool:
#     command: bash scripts/gpu-check.sh   carry: [".gpu-debs", ".data"]   timeout_s: 600
# Steps, each under its own time limit so that the whole stays within ~8 minutes:
#   1. unpack the .debs into .gpu-prefix/ (dpkg-deb -x, never into /), point the .pc files
#      there, and use the prefix's pkg-config when the machine has none;
#   2. configure (Ninja, Release, CUDA sm_90) and build everything with -j16;
#   3. ctest for the CPU suites (-j8), then the CUDA suites directly with --verbose (their
#      per-op max abs / rel error lines are the point of the run);
#   4. (information) `ctcd train recipes/demo.yaml` for one epoch on the CUDA backend;
#      then tests/hf/check_hf.py (transformers <-> ctcd checkpoints and logits);
#   5. compute-sanitizer memcheck over the CUDA suites (Criterion re-executes the binary per
#      test; --target-processes all follows those children), in whatever time is left;
# and copies the logs to $OUT (at most 8 files). The last lines printed are a summary table.
#
# Local checks without a GPU (this machine): GPU_CHECK_MODE=cpu builds the CPU-only project
# against the unpacked prefix and runs two CPU suites, proving the prefix works:
#     GPU_CHECK_MODE=cpu GPU_CHECK_BUILD=/tmp/gc-build bash scripts/gpu-check.sh
set -uo pipefail

root=$(pwd)
mode=${GPU_CHECK_MODE:-gpu}
P=${GPU_CHECK_PREFIX:-$root/.gpu-prefix}
B=${GPU_CHECK_BUILD:-$root/build-gpu}
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
# Whole-script deadline (seconds since start): each step's timeout is capped by what is left,
# so a slow step shortens the later ones instead of overrunning the call.
DEADLINE=${GPU_CHECK_DEADLINE:-480}
tl() { local left=$((DEADLINE - SECONDS)); [ "$left" -lt "$1" ] && echo $((left > 10 ? left : 10)) || echo "$1"; }
log() { printf '[gpu-check %(%H:%M:%S)T] %s\n' -1 "$*"; }
declare -A result

# ---- 1./2. prefix, configure + build: unpack_prefix, configure_build (shared with
# benchmarks/run.sh) ----------------------------------------------------------------------
# shellcheck source=scripts/gpu-env.sh
. "$root/scripts/gpu-env.sh"

# ---- 3./4. tests -------------------------------------------------------------------------
run_ctest() {
  local excl=(-E 'test_cuda_')
  local par=8; [ "$mode" = cpu ] && par=2
  local sel=(); [ "$mode" = cpu ] && sel=(-R 'test_(loss|adamw)$')
  OMP_NUM_THREADS=2 timeout "$(tl 180)" ctest --test-dir "$B" --output-on-failure -j "$par" \
    "${excl[@]}" "${sel[@]}" --timeout 200 > "$OUT/ctest.log" 2>&1
}

run_cuda_suite() {  # $1 = suite binary name [$2 = log to append to: $OUT holds <= 8 files]
  local log="$OUT/${2:-$1}.log"
  [ -n "${2:-}" ] || : > "$log"
  timeout "$(tl 150)" "$B/$1" -j1 --verbose --timeout 120 >> "$log" 2>&1
}

run_sanitizer() {
  command -v compute-sanitizer >/dev/null || { echo "compute-sanitizer not found" > "$OUT/sanitizer.log"; return 1; }
  : > "$OUT/sanitizer.log"
  local rc=0
  # Each Criterion test is its own process: the sanitizer's start-up cost is paid per test.
  for t in test_cuda_model test_cuda_ops; do
    [ $((DEADLINE - SECONDS)) -lt 40 ] && { echo "skipped $t: deadline" >> "$OUT/sanitizer.log"; rc=1; continue; }
    timeout "$(tl 240)" compute-sanitizer --tool memcheck --target-processes all --error-exitcode 99 \
      --print-limit 50 "$B/$t" -j1 --timeout 200 >> "$OUT/sanitizer.log" 2>&1 || rc=1
  done
  return $rc
}

# Informational: the trainer end to end on CUDA (bf16) for one epoch of the demo task.
run_e2e() {
  local run; run=$(mktemp -d)
  timeout "$(tl 60)" "$B/ctcd" train "$root/recipes/demo.yaml" --set train.backend=cuda \
    --set train.epochs=1 --set output="$run/demo" > "$OUT/e2e_cuda.log" 2>&1
}

# Informational: the data-parallel path on one GPU (issue 10): NCCL with world size 1 and
# ZeRO-1, then the --gpus launcher with one rank (output appended to e2e_cuda.log: $OUT
# holds at most 8 files).
run_nccl() {
  local run; run=$(mktemp -d) rc=0
  CTCD_COMM=nccl timeout "$(tl 60)" "$B/ctcd" train "$root/recipes/demo.yaml" \
    --set train.backend=cuda --set train.max_steps=100 --set train.zero=1 \
    --set output="$run/nccl" >> "$OUT/e2e_cuda.log" 2>&1 || rc=1
  timeout "$(tl 60)" "$B/ctcd" train "$root/recipes/demo.yaml" --gpus 1 \
    --set train.backend=cuda --set train.max_steps=100 --set output="$run/gpus1" \
    >> "$OUT/e2e_cuda.log" 2>&1 || rc=1
  return $rc
}

# tests/hf/check_hf.py: HF checkpoints into ctcd (CPU fp32 and CUDA bf16 logits) and ctcd's
# exports into transformers (no missing/unexpected keys, same logits).
# With .data/ carried (scripts/fetch-gpu-debs.sh copies the vocabulary and GLUE dev files
# there), also the tokenizer: tricky inputs and every carried dev file, ids diffed with HF.
run_hf() {
  local v="$root/.data/vocab/bert-base-uncased-vocab.txt" va=() rc=0
  [ -f "$v" ] && va=(--vocab "$v")
  timeout "$(tl 120)" python3 "$root/tests/hf/check_hf.py" --ctcd "$B/ctcd" --cuda "${va[@]}" \
    > "$OUT/hf_check.log" 2>&1 || rc=1
  [ -f "$v" ] || return $rc
  for f in "$root"/.data/glue/*/dev*.tsv; do
    [ -f "$f" ] || continue
    local a b; a=$(mktemp); b=$(mktemp)
    python3 "$root/scripts/check_tokenizer_hf.py" --vocab "$v" --max-len 128 "$f" > "$a" 2>>"$OUT/hf_check.log"
    "$B/benchmarks/tokenize_bench" --dump --vocab "$v" --max-len 128 "$f" > "$b" 2>>"$OUT/hf_check.log"
    if cmp -s "$a" "$b"; then echo "PASS tokenizer $f: $(wc -l < "$a") examples identical" >> "$OUT/hf_check.log"
    else echo "FAIL tokenizer $f: $(diff "$a" "$b" | grep -c '^<') lines differ" >> "$OUT/hf_check.log"; rc=1; fi
    rm -f "$a" "$b"
  done
  return $rc
}

step() {  # step NAME FUNCTION [ARGS...]: runs it, records ok/FAIL (rc) and its time
  local name=$1; shift
  local t0=$SECONDS
  log "$name ..."
  "$@"; local rc=$?
  result[$name]="$([ $rc -eq 0 ] && echo ok || echo "FAIL (rc $rc)") in $((SECONDS - t0)) s"
  log "$name: ${result[$name]}"
  return $rc
}

{
  log "mode $mode; root $root; out $OUT"
  if [ "$mode" = gpu ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
    (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>&1 | tail -1
  fi
  cmake --version | head -1
  order=(prefix build)
  step prefix unpack_prefix || { log "prefix failed"; exit 1; }
  step build configure_build || { tail -40 "$OUT/build.log"; log "build failed"; }
  if [ "${result[build]:0:2}" = ok ]; then
    order+=(ctest)
    step ctest run_ctest || tail -30 "$OUT/ctest.log"
    if [ "$mode" = gpu ]; then
      order+=(test_cuda_ops test_cuda_model test_cuda_search test_cuda_cqa)
      step test_cuda_ops run_cuda_suite test_cuda_ops
      step test_cuda_model run_cuda_suite test_cuda_model
      step test_cuda_search run_cuda_suite test_cuda_search test_cuda_model
      step test_cuda_cqa run_cuda_suite test_cuda_cqa test_cuda_model
      order+=(e2e_cuda nccl hf_check sanitizer)
      step e2e_cuda run_e2e || tail -15 "$OUT/e2e_cuda.log"
      step nccl run_nccl || tail -15 "$OUT/e2e_cuda.log"
      step hf_check run_hf; grep -E '^(PASS|FAIL)|hf check' "$OUT/hf_check.log"
      step sanitizer run_sanitizer
      # The per-op error lines, failures first.
      grep -h -E 'FAIL|\[(FAIL|SKIP)|Synthesis' "$OUT"/test_cuda_*.log | head -60
      grep -h -E 'ERROR SUMMARY|Invalid|out of bounds' "$OUT/sanitizer.log" | sort | uniq -c | head -20
    else
      ldd "$B/test_loss" | grep -E 'yaml|cjson|utf8proc|openblas|criterion|git2'
    fi
  fi
  echo
  echo "==== gpu-check summary ($mode) ===="
  for k in "${order[@]}"; do printf '  %-16s %s\n' "$k" "${result[$k]:-not run}"; done
} 2>&1 | tee "$OUT/gpu-check.log"
