#!/usr/bin/env bash
# run.sh — the GPU benchmark suite in one call of about 8 minutes, build included:
#   1. unpack .gpu-debs into a prefix and build ctcd + kernels only (scripts/gpu-env.sh,
#      CUDA sm_90, no test suites);
#   2. benchmarks/kernels (every op family, copy bandwidth, unfused comparisons);
#   3. `ctcd bench step` for the three pairs at seq 128 and 512, classification, then
#      --mlm for BERT-base + small;
#   4. benchmarks/reference_step.py eager, then torch.compile (headline configuration
#      first; each stops starting configurations at its share of the deadline);
#   5. benchmarks/report.py: benchmarks/results/<device>-<date>-<commit>.json and a
#      markdown table (ctcd vs eager vs compile; each kernel's fraction of peak).
# Every step has its own timeout, capped by what is left of BENCH_DEADLINE (default 470 s),
# and a failed step never stops the later ones. Everything lands in $OUT (8 files at most):
#   results.json, table.md, kernels.jsonl, step.jsonl, reference.jsonl, bench.log, build.log
#
# On the device machine, from the repository root (the `run` tool):
#   command: BENCH_COMMIT=<sha> bash benchmarks/run.sh   carry: [".gpu-debs"]   timeout_s: 600
# (BENCH_COMMIT names the commit when .git does not travel.)
# Here, without a GPU (checks the plumbing: CPU backend, tiny sizes, no PyTorch):
#   BENCH_MODE=cpu BENCH_BUILD=build BENCH_SKIP_BUILD=1 bash benchmarks/run.sh
set -uo pipefail

root=$(pwd)
mode=${BENCH_MODE:-gpu}
P=${GPU_CHECK_PREFIX:-$root/.gpu-prefix}
B=${BENCH_BUILD:-$root/build-bench}
case "$B" in /*) ;; *) B=$root/$B ;; esac
OUT=${OUT:-$root/bench-out}
mkdir -p "$OUT"
DEADLINE=${BENCH_DEADLINE:-470}
tl() { local left=$((DEADLINE - SECONDS)); [ "$left" -lt "$1" ] && echo $((left > 10 ? left : 10)) || echo "$1"; }
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*"; }
[ -f "$root/scripts/gpu-env.sh" ] || { echo "run.sh: run from the repository root" >&2; exit 2; }
# shellcheck source=scripts/gpu-env.sh
. "$root/scripts/gpu-env.sh"
export P  # read by gpu-env.sh
declare -A result
order=()

step() {  # step NAME FUNCTION [ARGS...]: runs it, records ok/FAIL (rc) and its time
  local name=$1; shift
  local t0=$SECONDS
  order+=("$name")
  log "$name ..."
  "$@"; local rc=$?
  result[$name]="$([ $rc -eq 0 ] && echo ok || echo "FAIL (rc $rc)") in $((SECONDS - t0)) s"
  log "$name: ${result[$name]}"
  return $rc
}

build() {
  if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
    if [ ! -x "$B/ctcd" ] || [ ! -x "$B/benchmarks/kernels" ]; then
      log "BENCH_SKIP_BUILD=1 but $B lacks ctcd or benchmarks/kernels"; return 1
    fi
    echo "skipped: using $B" > "$OUT/build.log"; return 0
  fi
  unpack_prefix || return 1
  GPU_BUILD_TESTS=OFF GPU_BUILD_TARGETS="ctcd_cli kernels" configure_build
}

if [ "$mode" = gpu ]; then
  backend=cuda
  kern_args=()
  step_args=(--steps 10 --warmup 3)
  step_sets=("--pairs base+small,base+6l,large+base --seq 128,512 --batch 32"
             "--pairs base+small --seq 128,512 --batch 32 --mlm")
else  # the plumbing only: tiny shapes on the CPU backend
  backend=cpu
  kern_args=(--size tiny --samples 3 --target-ms 0.2 --warmup 1)
  step_args=(--steps 2 --warmup 1 --vocab 2048)
  step_sets=("--pairs tiny --seq 32 --batch 4" "--pairs tiny --seq 32 --batch 4 --mlm")
fi

run_kernels() {
  timeout "$(tl 120)" "$B/benchmarks/kernels" --backend "$backend" "${kern_args[@]}" \
    > "$OUT/kernels.jsonl" 2>> "$OUT/bench.err"
}

run_step() {
  local rc=0 s
  : > "$OUT/step.jsonl"
  for s in "${step_sets[@]}"; do
    # shellcheck disable=SC2086  # s is a list of options
    timeout "$(tl 150)" "$B/ctcd" bench step --backend "$backend" "${step_args[@]}" $s --json \
      >> "$OUT/step.jsonl" 2>> "$OUT/bench.err" || rc=1
  done
  return $rc
}

# reference_step.py MODE SHARE EXTRA...: runs with a deadline of SHARE seconds (no new
# configuration after it) under a hard timeout a little longer.
run_ref() {
  local m=$1 share=$2; shift 2
  local left=$((DEADLINE - SECONDS - 15))
  [ "$left" -lt 30 ] && { echo "{\"bench\":\"step\",\"impl\":\"torch-$m\",\"skipped\":\"deadline\"}" >> "$OUT/reference.jsonl"; return 1; }
  [ "$share" -gt "$left" ] && share=$left
  PYTHONUNBUFFERED=1 timeout "$((share + 60 < left ? share + 60 : left))" \
    python3 "$root/benchmarks/reference_step.py" --mode "$m" --deadline "$share" "$@" \
    >> "$OUT/reference.jsonl" 2>> "$OUT/bench.err"
}

run_reference() {
  : > "$OUT/reference.jsonl"
  if [ "$mode" != gpu ]; then
    python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' \
      "$root/benchmarks/reference_step.py" && \
      echo '{"bench":"step","impl":"torch-eager","skipped":"cpu mode: syntax checked only"}' >> "$OUT/reference.jsonl"
    return
  fi
  local rc=0
  run_ref eager 70 --steps 10 --warmup 3 || rc=1
  run_ref eager 30 --steps 10 --warmup 3 --pairs base+small --mlm || rc=1
  # compile: minutes per shape; the headline configuration first, the others while time lasts
  run_ref compile 60 --steps 10 --warmup 3 --pairs base+small --seq 128 || rc=1
  run_ref compile 120 --steps 10 --warmup 3 --pairs base+small,base+6l,large+base --seq 512,128 || rc=1
  return $rc
}

report() {
  local commit=${BENCH_COMMIT:-$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
  local dirty=unknown  # without .git on the machine
  if git -C "$root" rev-parse HEAD > /dev/null 2>&1; then
    dirty=false
    git -C "$root" diff --quiet HEAD -- src include cuda benchmarks || dirty=true
  fi
  local date; date=$(date -u +%Y-%m-%d)
  local dev=cpu
  [ "$mode" = gpu ] && dev=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
  local slug; slug=$(echo "${dev:-unknown-gpu}" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9.-')
  local name="$slug-$date-$commit.json"
  python3 "$root/benchmarks/report.py" --device "${dev:-unknown}" --commit "$commit" --date "$date" \
    --dirty "$dirty" --out-json "$OUT/results.json" --out-md "$OUT/table.md" \
    "$OUT/kernels.jsonl" "$OUT/step.jsonl" "$OUT/reference.jsonl" || return 1
  # a CPU-mode run checks the plumbing only: its file never goes to benchmarks/results
  if [ "$mode" = gpu ]; then
    mkdir -p "$root/benchmarks/results" && cp "$OUT/results.json" "$root/benchmarks/results/$name"
  fi
  log "wrote \$OUT/results.json (commit it as benchmarks/results/$name) and \$OUT/table.md"
}

{
  log "mode $mode; root $root; build $B; out $OUT; deadline ${DEADLINE}s"
  : > "$OUT/bench.err"
  if [ "$mode" = gpu ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>&1 | head -2
    (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>&1 | tail -1
    python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' 2>&1 | tail -1
  fi
  if step build build; then
    step kernels run_kernels
    step step run_step
  else
    tail -30 "$OUT/build.log"
  fi
  step reference run_reference
  step report report
  grep -v '^$' "$OUT/bench.err" | sort | uniq -c | sort -rn | head -15
  echo
  echo "==== benchmarks ($mode) ===="
  for k in "${order[@]}"; do printf '  %-10s %s\n' "$k" "${result[$k]:-not run}"; done
  echo
  [ -f "$OUT/table.md" ] && cat "$OUT/table.md"
} 2>&1 | tee "$OUT/bench.log"
