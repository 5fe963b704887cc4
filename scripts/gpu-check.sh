#!/usr/bin/env bash
# gpu-check.sh — the first GPU call (issue 22): build ctcd with CUDA and run what needs a
# GPU, in at most ~7 minutes of wall time, saying something useful even when a part fails.
#
# ---- How to start it on the GPU machine ---------------------------------------------------
# 1. Here (a Debian 12 machine with apt), once, in the checkout the session was started in
#    (the `run` tool sends THAT checkout, not a helper's worktree):
#        bash scripts/fetch-gpu-debs.sh     # -> .gpu-debs/ (C libraries as .debs) and .data/
#                                           #    (vocabulary + GLUE dev files); both git-ignored
# 2. The `run` tool, first call (the machine starts bare; the build is part of the call):
#        command:   GPU_CHECK_COMMIT=<git rev-parse --short=12 HEAD, here> bash scripts/gpu-check.sh
#        carry:     [".gpu-debs", ".data"]
#        timeout_s: 540
#    Its deadline is 420 s (GPU_CHECK_DEADLINE); every step is capped by what is left, so
#    it ends well inside 540 s with the build included (these targets took 181 s on 2 cores
#    here; expect 1-2 minutes on the 16-core GPU machine).
# 3. Second, short call on the still-warm machine (build-gpu/ and .gpu-prefix/ are kept; they
#    are git-ignored, so the working-tree copy leaves them; the binaries find the prefix's
#    libraries by absolute rpath, so the repository must sit at the same path as in the first
#    call), e.g. what the first did not reach:
#        command:   GPU_CHECK_SKIP_BUILD=1 GPU_CHECK_ONLY=memcheck,racecheck,bench bash scripts/gpu-check.sh
#    or one failing test, blocking launches:
#        command:   GPU_CHECK_SKIP_BUILD=1 GPU_CHECK_ONLY=test_cuda_ops CUDA_LAUNCH_BLOCKING=1 \
#                   GPU_CHECK_SUITE_ARGS='--filter cuda_matmul/*' bash scripts/gpu-check.sh
#        carry:     [".gpu-debs", ".data"]   timeout_s: 540
#    Call give_back when no further call follows at once.
#
# ---- What it does, in order ---------------------------------------------------------------
#   preflight   (first seconds) nvidia-smi, nvcc version, libcudart_static.a, cublasLt.h,
#               where libcublasLt is (ld.so cache, toolkit, python3's nvidia wheels),
#               compute-sanitizer, ninja, cmake, the carried .debs
#   prefix      unpack .gpu-debs into .gpu-prefix (scripts/gpu-env.sh, never into /)
#   build       Ninja (make without it), Release, sm_90: only ctcd, the four CUDA suites,
#               test_libfind and the benchmark programs (kernels, tokenize_bench)
#   doctor      `ctcd doctor --json` -> $OUT/doctor.json, when the build has that command
#   test_libfind, test_cuda_ops, test_cuda_model, test_cuda_cqa, test_cuda_search
#               with CTCD_REQUIRE_CUDA=1 (a suite that cannot open the CUDA backend FAILS
#               with the reason instead of skipping); a suite with a skipped test is a FAIL
#   demo        ctcd train recipes/demo.yaml --set train.backend=cuda, GPU_CHECK_DEMO_STEPS
#               steps (default 600: the whole recipe, 3 epochs of 188 steps)
#   hf          tests/hf/check_hf.py --cuda (+ the tokenizer on the carried GLUE dev files)
#   nccl        the single-GPU NCCL path with ZeRO-1, then --gpus 1
#   memcheck    compute-sanitizer memcheck over test_cuda_ops
#   racecheck   compute-sanitizer racecheck over test_cuda_ops' shared-memory kernels
#   bench       benchmarks/run.sh on this build (its results.json and table.md to $OUT)
# Each step after the build starts only when its share of the deadline is left (else it is
# "skipped (deadline ...)"), and a failed step never stops the later ones.
#
# ---- Results in $OUT (at most 8 files come back) ------------------------------------------
#   summary.json   every step: status ok|fail|timeout|skipped, rc, wall seconds, detail;
#                  for the suites passed/failed/crashed/skipped from Criterion's output
#                  ("Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N"; skipped
#                  tests are not in Tested: counted from the [SKIP] lines). Rewritten after
#                  every step, so a killed call still brings back what had run.
#   gpu-check.log  this console: preflight, one line per step, the suites' error lines
#   logs.tgz       every step's full log (build, each suite, demo, hf, nccl, sanitizer, ...)
#   doctor.json    when `ctcd doctor` exists;  results.json, table.md  when bench ran
# Exit status 0 when no step failed (skipped ones do not count).
#
# ---- Knobs --------------------------------------------------------------------------------
#   GPU_CHECK_MODE=gpu|emu   emu: the same steps against the emulated CUDA build (-DCTCD_CUDA_EMU=ON,
#                            GPU_CHECK_EMU_CMAKE_ARGS) in build-emu/ with the machine's own
#                            libraries, 2 build jobs; preflight without nvidia-smi; hf, nccl,
#                            memcheck, racecheck and bench are "skipped (emu)". For CI, where a
#                            shell error must never waste a GPU window.
#   GPU_CHECK_ONLY=a,b       only these steps (names above; "suites" = the five test programs);
#                            preflight always runs, prefix and build unless GPU_CHECK_SKIP_BUILD=1
#   GPU_CHECK_SKIP_BUILD=1   reuse the build folder (never deleted at the end)
#   GPU_CHECK_DEADLINE=s     default 420 (gpu), 2400 (emu)
#   GPU_CHECK_BUILD=dir      default build-gpu (gpu), build-emu (emu)
#   GPU_CHECK_SUITE_JOBS=n   Criterion -j for the suites (default 1: per-op error lines stay
#                            in test order)
#   GPU_CHECK_SUITE_ARGS=..  extra Criterion options for every suite (--filter PATTERN)
#   GPU_CHECK_DEMO_STEPS=n   default 600 (gpu), 20 (emu)
#   GPU_CHECK_COMMIT=sha     recorded in summary.json and passed to benchmarks/run.sh (.git
#                            does not travel to the GPU machine)
set -uo pipefail

root=$(pwd)
[ -f "$root/scripts/gpu-env.sh" ] || { echo "gpu-check.sh: run from the repository root" >&2; exit 2; }
mode=${GPU_CHECK_MODE:-gpu}
case "$mode" in gpu | emu) ;; *) echo "gpu-check.sh: GPU_CHECK_MODE is gpu or emu, not '$mode'" >&2; exit 2 ;; esac
P=${GPU_CHECK_PREFIX:-$root/.gpu-prefix}
if [ "$mode" = gpu ]; then B=${GPU_CHECK_BUILD:-$root/build-gpu}; else B=${GPU_CHECK_BUILD:-$root/build-emu}; fi
case "$B" in /*) ;; *) B=$root/$B ;; esac
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
rm -f "$OUT/summary.json" "$OUT/logs.tgz" "$OUT/doctor.json" "$OUT/results.json" "$OUT/table.md"
L=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-logs.XXXXXX") # full logs, packed into $OUT/logs.tgz
W=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-work.XXXXXX") # run folders of the demo, nccl, hf
if [ "$mode" = gpu ]; then DEADLINE=${GPU_CHECK_DEADLINE:-420}; else DEADLINE=${GPU_CHECK_DEADLINE:-2400}; fi
if [ "$mode" = gpu ]; then DEMO_STEPS=${GPU_CHECK_DEMO_STEPS:-600}; else DEMO_STEPS=${GPU_CHECK_DEMO_STEPS:-20}; fi
ONLY=",${GPU_CHECK_ONLY:-all},"
ONLY=${ONLY// /,}
SKIP_BUILD=${GPU_CHECK_SKIP_BUILD:-0}
SUITE_JOBS=${GPU_CHECK_SUITE_JOBS:-1}
if [ "$mode" = gpu ]; then OMP_DEFAULT=8; else OMP_DEFAULT=2; fi  # CPU reference threads in the suites
read -ra SUITE_ARGS <<< "${GPU_CHECK_SUITE_ARGS:-}"
COMMIT=${GPU_CHECK_COMMIT:-$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
SUITES=(test_libfind test_cuda_ops test_cuda_model test_cuda_cqa test_cuda_search)
TARGETS="ctcd_cli ${SUITES[*]}"
[ "$mode" = gpu ] && TARGETS="$TARGETS kernels tokenize_bench"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# tl SECONDS: a timeout of at most SECONDS, capped by what is left of the deadline (>= 10).
tl() { local left=$((DEADLINE - SECONDS)); [ "$left" -lt "$1" ] && echo $((left > 10 ? left : 10)) || echo "$1"; }
left() { echo $((DEADLINE - SECONDS)); }
log() { printf '[gpu-check %(%H:%M:%S)T +%3ds] %s\n' -1 "$SECONDS" "$*"; }

# ---- the record of steps, and summary.json -----------------------------------------------
order=()
declare -A st_status st_rc st_wall st_detail st_pass st_fail st_crash st_skip
DEVICE=""
DRIVER=""

# JSON writers that append to $J (no subshells: the summary is rewritten after every step).
jstr() {  # a JSON string literal of $1 (control characters other than \n \t dropped)
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  s=${s//[[:cntrl:]]/}
  J+="\"$s\""
}
jnum() { if [[ "${1:-}" =~ ^[0-9]+$ ]]; then J+=$1; else J+=null; fi; }

write_summary() {
  local k first=1 failed=0
  J='{'$'\n''  "tool": "scripts/gpu-check.sh",'$'\n''  "mode": '; jstr "$mode"
  J+=$',\n  "commit": '; jstr "$COMMIT"
  J+=$',\n  "device": '; jstr "$DEVICE"
  J+=$',\n  "driver": '; jstr "$DRIVER"
  J+=$',\n  "started": '; jstr "$STARTED"
  J+=$',\n  "deadline_s": '; jnum "$DEADLINE"
  J+=$',\n  "wall_s": '; jnum "$SECONDS"
  J+=$',\n  "only": '; jstr "${GPU_CHECK_ONLY:-all}"
  J+=$',\n  "skip_build": '; if [ "$SKIP_BUILD" = 1 ]; then J+=true; else J+=false; fi
  J+=$',\n  "steps": ['
  for k in "${order[@]}"; do
    case "${st_status[$k]}" in fail | timeout) failed=$((failed + 1)) ;; esac
    [ $first = 1 ] || J+=','
    first=0
    J+=$'\n    {"name": '; jstr "$k"
    J+=', "status": '; jstr "${st_status[$k]}"
    J+=', "rc": '; jnum "${st_rc[$k]:-}"
    J+=', "wall_s": '; jnum "${st_wall[$k]:-}"
    J+=', "passed": '; jnum "${st_pass[$k]:-}"
    J+=', "failed": '; jnum "${st_fail[$k]:-}"
    J+=', "crashed": '; jnum "${st_crash[$k]:-}"
    J+=', "skipped": '; jnum "${st_skip[$k]:-}"
    J+=', "detail": '; jstr "${st_detail[$k]:-}"
    J+='}'
  done
  J+=$'\n  ],\n  "failed_steps": '; jnum "$failed"
  J+=$'\n}\n'
  printf '%s' "$J" > "$OUT/summary.json.tmp" && mv "$OUT/summary.json.tmp" "$OUT/summary.json"
  # the logs so far, so that a call killed at its limit still brings them back
  tar -czf "$OUT/logs.tgz.tmp" -C "$L" . 2>/dev/null && mv "$OUT/logs.tgz.tmp" "$OUT/logs.tgz"
}

record() {  # record NAME STATUS RC WALL DETAIL
  local k=$1
  [ -n "${st_status[$k]+x}" ] || order+=("$k")
  st_status[$k]=$2; st_rc[$k]=$3; st_wall[$k]=$4; st_detail[$k]=$5
  write_summary
}

wanted() {  # wanted NAME: in GPU_CHECK_ONLY (or no list); preflight, prefix, build always
  [ "$ONLY" = ",all," ] && return 0
  case "$1" in preflight | prefix | build) return 0 ;; esac
  case "$ONLY" in *",$1,"*) return 0 ;; esac
  case "$1" in test_*) case "$ONLY" in *",suites,"*) return 0 ;; esac ;; esac
  return 1
}

# step NAME NEED_S FUNCTION [ARGS...]: runs FUNCTION when the step is wanted, its mode allows
# it and NEED_S seconds of the deadline are left; records status, rc, wall time. FUNCTION
# may set DETAIL (a one-line note) and STATUS (to override ok/fail).
step() {
  local name=$1 need=$2; shift 2
  if ! wanted "$name"; then record "$name" skipped "" 0 "not in GPU_CHECK_ONLY"; return 0; fi
  if [ "$(left)" -lt "$need" ]; then
    record "$name" skipped "" 0 "deadline: needs ${need} s, $(left) s left"
    log "$name: skipped (deadline: needs ${need} s, $(left) s left)"
    return 0
  fi
  local t0=$SECONDS rc
  DETAIL=""; STATUS=""
  log "$name ..."
  "$@"; rc=$?
  local status=$STATUS
  if [ -z "$status" ]; then
    if [ $rc -eq 0 ]; then status=ok
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout
    else status=fail; fi
  fi
  local wall=$((SECONDS - t0))
  DETAIL=$(printf '%s' "$DETAIL" | sed -e 's/^ *//' -e 's/ *$//')
  record "$name" "$status" "$rc" "$wall" "$DETAIL"
  log "$name: $status (rc $rc) in $wall s${DETAIL:+ — $DETAIL}"
  return 0
}

skip_step() {  # skip_step NAME REASON
  record "$1" skipped "" 0 "$2"
  log "$1: skipped ($2)"
}

# ---- preflight ---------------------------------------------------------------------------
# Where libcublasLt is, as the loader and the search of src/core/libfind.c would see it.
where_cublaslt() {  # one line per place, duplicates (a toolkit reached twice) dropped
  local f found=0
  while read -r f; do echo "  ld.so cache: $f"; found=1; done < <(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libcublasLt\.so[.0-9]*$')
  for f in ${CUDA_HOME:+$CUDA_HOME/lib64/libcublasLt.so*} /usr/local/cuda/lib64/libcublasLt.so* \
           /usr/local/cuda/targets/*/lib/libcublasLt.so*; do
    [ -e "$f" ] && { echo "  toolkit: $f"; found=1; }
  done
  if command -v python3 >/dev/null; then
    while read -r f; do echo "  python3 wheel: $f"; found=1; done < <(timeout 30 python3 -c '
import glob, os, site
d = []
try:
    import nvidia; d += list(nvidia.__path__)
except Exception: pass
d += [os.path.join(p, "nvidia") for p in site.getsitepackages()]
for p in sorted(set(d)):
    for f in sorted(glob.glob(os.path.join(p, "*", "lib", "libcublasLt.so*"))): print(f)
' 2>/dev/null)
  fi
  [ $found = 1 ] || echo "  libcublasLt: NOT FOUND in the ld.so cache, the toolkit or python3's nvidia wheels"
}

preflight() {
  log "mode $mode; root $root; build $B; out $OUT; deadline ${DEADLINE} s; commit $COMMIT; only ${GPU_CHECK_ONLY:-all}; skip_build $SKIP_BUILD"
  echo "host: $(uname -srm); $(nproc) cores; $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  if [ "$mode" = gpu ]; then
    if command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -4
      DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
      DRIVER=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
    else
      echo "nvidia-smi: NOT FOUND"
    fi
  fi
  local nvcc; nvcc=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true)
  echo "nvcc: ${nvcc:-NOT FOUND} $([ -n "$nvcc" ] && "$nvcc" --version 2>&1 | grep -o 'release [0-9.]*, V[0-9.]*')"
  local f any=0
  for f in /usr/local/cuda/lib64/libcudart_static.a /usr/local/cuda/targets/*/lib/libcudart_static.a; do
    [ -e "$f" ] && { echo "libcudart_static.a: $f"; any=1; break; }
  done
  [ $any = 1 ] || echo "libcudart_static.a: NOT FOUND under /usr/local/cuda (the CUDA build links it)"
  any=0
  for f in /usr/local/cuda/include/cublasLt.h /usr/local/cuda/targets/*/include/cublasLt.h; do
    [ -e "$f" ] && { echo "cublasLt.h: $f"; any=1; break; }
  done
  [ $any = 1 ] || echo "cublasLt.h: NOT FOUND under /usr/local/cuda"
  local lt; lt=$(where_cublaslt | awk '!seen[$0]++')
  echo "libcublasLt:"
  echo "$lt"
  echo "compute-sanitizer: $(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || echo 'NOT FOUND')"
  echo "cmake: $(cmake --version 2>/dev/null | head -1); ninja: $(ninja --version 2>/dev/null || echo 'NOT FOUND (make is used)')"
  echo "python3: $(command -v python3 || echo 'NOT FOUND')"
  if [ "$mode" = gpu ]; then
    echo ".gpu-debs: $(find "$root/.gpu-debs" -name '*.deb' 2>/dev/null | wc -l) packages; .data: $([ -d "$root/.data" ] && du -sh "$root/.data" | cut -f1 || echo none)"
  fi
  DETAIL="device: ${DEVICE:-none}; driver: ${DRIVER:-none}; nvcc: ${nvcc:-none}; cuBLASLt: $(head -1 <<< "$lt" | sed 's/^ *//')"
  [ -n "$nvcc" ] || [ "$mode" = emu ]
}

# ---- prefix and build --------------------------------------------------------------------
# shellcheck source=scripts/gpu-env.sh
. "$root/scripts/gpu-env.sh"
export BUILD_LOG="$L/build.log"

do_prefix() {
  # emu (CI, a developer's machine): the machine's own Debian packages (scripts/deps.sh)
  if [ "$mode" = emu ]; then
    STATUS=skipped; DETAIL="emu: the machine's own libraries"
    pkg-config --exists yaml-0.1 libcjson libutf8proc criterion 2>/dev/null && return 0
    STATUS=""; DETAIL="emu: pkg-config finds no yaml-0.1/libcjson/libutf8proc/criterion: run scripts/deps.sh"
    return 1
  fi
  if [ -d "$root/.gpu-debs" ]; then
    unpack_prefix > "$L/prefix.log" 2>&1; local rc=$?
    cat "$L/prefix.log"
    return $rc
  fi
  log "no .gpu-debs/: run scripts/fetch-gpu-debs.sh here and carry .gpu-debs"
  return 1
}

do_build() {
  GPU_BUILD_TARGETS="$TARGETS" configure_build; local rc=$?
  if [ $rc -ne 0 ]; then
    grep -E 'error|Error|FAILED' "$BUILD_LOG" | head -20
    tail -20 "$BUILD_LOG"
    DETAIL="see logs.tgz:build.log"
  else
    DETAIL="targets: $TARGETS"
  fi
  return $rc
}

reuse_build() {
  local t missing=()
  for t in ctcd "${SUITES[@]}"; do [ -x "$B/$t" ] || missing+=("$t"); done
  if [ ${#missing[@]} -gt 0 ]; then
    DETAIL="GPU_CHECK_SKIP_BUILD=1 but $B lacks: ${missing[*]}"
    log "$DETAIL"
    return 1
  fi
  DETAIL="reused $B"
}

# ---- steps after the build ----------------------------------------------------------------
do_doctor() {
  if ! "$B/ctcd" --help 2>&1 | grep -qE '^ +doctor'; then
    STATUS=skipped; DETAIL="this build of ctcd has no doctor command"; return 0
  fi
  timeout -k 5 "$(tl 30)" "$B/ctcd" doctor > "$L/doctor.log" 2>&1; local rc=$?
  cat "$L/doctor.log"
  timeout -k 5 "$(tl 30)" "$B/ctcd" doctor --json > "$OUT/doctor.json" 2>> "$L/doctor.log" || true
  [ -s "$OUT/doctor.json" ] || rm -f "$OUT/doctor.json"
  return $rc
}

# suite_counts LOG NAME: passed/failed/crashed/skipped of a Criterion --verbose log.
suite_counts() {
  local log=$1 k=$2 syn
  syn=$(grep 'Synthesis:' "$log" | tail -1)
  if [ -n "$syn" ]; then
    st_pass[$k]=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<< "$syn")
    st_fail[$k]=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<< "$syn")
    st_crash[$k]=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<< "$syn")
  else  # killed before the end: count the per-test lines
    st_pass[$k]=$(grep -c '^\[PASS\]' "$log")
    st_fail[$k]=$(grep -c '^\[FAIL\]' "$log")
    st_crash[$k]=$(grep -ci 'crash' "$log")
  fi
  # (a test left out by --filter is printed as "[SKIP] ...: Test is disabled": not a skip)
  st_skip[$k]=$(grep '^\[SKIP\]' "$log" | grep -vc ': Test is disabled$')
}

do_suite() {
  local name=$1 log="$L/$1.log" rc
  if [ ! -x "$B/$name" ]; then DETAIL="$B/$name was not built"; return 1; fi
  CTCD_REQUIRE_CUDA=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-$OMP_DEFAULT} timeout -k 10 "$(tl 150)" \
    "$B/$name" -j"$SUITE_JOBS" --verbose --ascii --timeout 140 "${SUITE_ARGS[@]}" > "$log" 2>&1
  rc=$?
  suite_counts "$log" "$name"
  DETAIL="passed ${st_pass[$name]}, failed ${st_fail[$name]}, crashed ${st_crash[$name]}, skipped ${st_skip[$name]}"
  if [ $rc -eq 0 ] && [ "${st_skip[$name]}" -gt 0 ] && [ "${name#test_cuda_}" != "$name" ]; then
    STATUS=fail; DETAIL="$DETAIL: a skipped CUDA test is a failure here"
  fi
  if [ $rc -eq 0 ] && [ $((st_pass[$name] + st_fail[$name] + st_skip[$name])) -eq 0 ]; then
    STATUS=fail; DETAIL="$DETAIL: no test ran (GPU_CHECK_SUITE_ARGS='${GPU_CHECK_SUITE_ARGS:-}')"
  fi
  if [ $rc -ne 0 ] || [ "${st_skip[$name]}" -gt 0 ]; then
    # what went wrong, compactly (the full log is in logs.tgz): the failed and skipped tests,
    # the distinct assertion messages with their counts, the per-op lines marked FAIL
    local bad n_bad
    bad=$(grep -E '^\[(FAIL|SKIP)\]' "$log" | grep -v ': Test is disabled$' |
          sed -E 's/^\[(FAIL|SKIP)\] ([^:]*::[^:]*).*/\2/')
    n_bad=$(grep -c . <<< "$bad")
    echo "  failed/skipped ($n_bad): $(head -12 <<< "$bad" | tr '\n' ' ')$([ "$n_bad" -gt 12 ] && echo "(+$((n_bad - 12)) more)")"
    grep -E '^\[----\]   [^ ]|^\[SKIP\]' "$log" | grep -v ': Test is disabled$' | sed -E 's/^\[----\]   //; s/^\[SKIP\] [^:]*::[^:]*: /skip: /' |
      sort | uniq -c | sort -rn | head -8
    grep -E 'FAIL$' "$log" | head -8
    # the most frequent message goes into summary.json too
    local why
    why=$(grep -E '^\[----\]   [^ ]' "$log" | sed -E 's/^\[----\]   //' | sort | uniq -c | sort -rn | head -1 |
          sed -E 's/^ *([0-9]+) /\1x: /' | cut -c1-300)
    [ -n "$why" ] && DETAIL="$DETAIL; $why"
  fi
  grep 'Synthesis' "$log"
  return $rc
}

first_error() {  # the first line of LOG that looks like an error, for summary.json
  grep -m1 -iE 'error|exception|fail|cannot|not found' "$1" | cut -c1-300
}

do_demo() {
  timeout -k 10 "$(tl 150)" "$B/ctcd" train "$root/recipes/demo.yaml" --set train.backend=cuda \
    --set train.max_steps="$DEMO_STEPS" --set output="$W/demo" > "$L/demo.log" 2>&1; local rc=$?
  DETAIL="$(grep -E '^eval step' "$L/demo.log" | tail -1) $(grep -E '^done:' "$L/demo.log" | tail -1)"
  [ $rc -eq 0 ] || { tail -15 "$L/demo.log"; DETAIL="$DETAIL $(first_error "$L/demo.log")"; }
  return $rc
}

# tests/hf/check_hf.py: HF checkpoints into ctcd (CPU fp32 and CUDA bf16 logits) and ctcd's
# exports into transformers; with .data/ carried, also the tokenizer on every GLUE dev file.
do_hf() {
  local v="$root/.data/vocab/bert-base-uncased-vocab.txt" va=() rc=0 f
  [ -f "$v" ] && va=(--vocab "$v")
  PYTHONUNBUFFERED=1 timeout -k 10 "$(tl 150)" python3 "$root/tests/hf/check_hf.py" --ctcd "$B/ctcd" \
    --cuda "${va[@]}" > "$L/hf.log" 2>&1 || rc=$?
  if [ -f "$v" ] && [ -x "$B/benchmarks/tokenize_bench" ]; then
    for f in "$root"/.data/glue/*/dev*.tsv; do
      [ -f "$f" ] || continue
      [ "$(left)" -gt 20 ] || { echo "tokenizer: deadline, stopped before $f" >> "$L/hf.log"; break; }
      local a b; a=$(mktemp); b=$(mktemp)
      timeout 60 python3 "$root/scripts/check_tokenizer_hf.py" --vocab "$v" --max-len 128 "$f" > "$a" 2>> "$L/hf.log"
      timeout 60 "$B/benchmarks/tokenize_bench" --dump --vocab "$v" --max-len 128 "$f" > "$b" 2>> "$L/hf.log"
      if [ -s "$a" ] && cmp -s "$a" "$b"; then echo "PASS tokenizer $f: $(wc -l < "$a") examples identical" >> "$L/hf.log"
      else echo "FAIL tokenizer $f: $(diff "$a" "$b" | grep -c '^<') lines differ" >> "$L/hf.log"; rc=1; fi
      rm -f "$a" "$b"
    done
  fi
  grep -E '^(PASS|FAIL)|hf check|Error|error' "$L/hf.log" | head -30
  DETAIL="$(grep -c '^PASS' "$L/hf.log") PASS, $(grep -c '^FAIL' "$L/hf.log") FAIL lines"
  [ $rc -eq 0 ] || DETAIL="$DETAIL; $(first_error "$L/hf.log")"
  return $rc
}

# The data-parallel path on one GPU (issue 10): NCCL with world size 1 and ZeRO-1, then the
# --gpus launcher with one rank.
do_nccl() {
  local rc=0
  CTCD_COMM=nccl timeout -k 10 "$(tl 90)" "$B/ctcd" train "$root/recipes/demo.yaml" \
    --set train.backend=cuda --set train.max_steps=100 --set train.zero=1 \
    --set output="$W/nccl" > "$L/nccl.log" 2>&1 || rc=1
  echo "---- --gpus 1" >> "$L/nccl.log"
  timeout -k 10 "$(tl 90)" "$B/ctcd" train "$root/recipes/demo.yaml" --gpus 1 \
    --set train.backend=cuda --set train.max_steps=100 --set output="$W/gpus1" \
    >> "$L/nccl.log" 2>&1 || rc=1
  DETAIL="$(grep -E '^eval step' "$L/nccl.log" | tr '\n' ';')"
  [ $rc -eq 0 ] || { tail -20 "$L/nccl.log"; DETAIL="$DETAIL $(first_error "$L/nccl.log")"; }
  return $rc
}

# compute-sanitizer TOOL over test_cuda_ops (Criterion runs each test in its own process:
# --target-processes all follows them; the sanitizer's start-up is paid per test).
do_sanitizer() {
  local tool=$1 filter=$2 log="$L/$1.log" cs
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  [ -x "$cs" ] || { DETAIL="compute-sanitizer not found"; return 1; }
  local fa=(); [ -n "$filter" ] && fa=(--filter "$filter")
  CTCD_REQUIRE_CUDA=1 timeout -k 10 "$(( $(left) - 15 ))" "$cs" --tool "$tool" --target-processes all \
    --error-exitcode 99 --print-limit 50 "$B/test_cuda_ops" -j1 --ascii --timeout 300 "${fa[@]}" > "$log" 2>&1
  local rc=$?
  grep -h -E 'ERROR SUMMARY|RACECHECK SUMMARY|Invalid|out of bounds|hazard' "$log" | sort | uniq -c | sort -rn | head -15
  if [ $rc -eq 0 ] && grep -q 'Synthesis: Tested: 0 ' "$log"; then
    STATUS=fail; DETAIL="the filter '$filter' matched no test"; return 1
  fi
  DETAIL="$(grep -hoE '(ERROR|RACECHECK) SUMMARY: .*' "$log" | sort | uniq -c | sed -E 's/^ +//' | tr '\n' ';') $(grep -o 'Tested: .*' "$log" | tail -1)"
  return $rc
}

do_bench() {
  local bout="$L/bench" rc
  mkdir -p "$bout"
  OUT="$bout" BENCH_SKIP_BUILD=1 BENCH_BUILD="$B" BENCH_COMMIT="$COMMIT" BENCH_DEADLINE="$(( $(left) - 20 ))" \
    timeout -k 10 "$(( $(left) - 5 ))" bash "$root/benchmarks/run.sh" > "$L/bench.console.log" 2>&1
  rc=$?
  tail -25 "$L/bench.console.log"
  local f; for f in results.json table.md; do [ -f "$bout/$f" ] && cp "$bout/$f" "$OUT/$f"; done
  # run.sh exits 0 whatever its steps did: its closing table ("  kernels    FAIL (rc 1) in 3 s")
  # says which failed
  local failed
  failed=$(sed -n '/==== benchmarks/,$p' "$L/bench.console.log" | awk '$2 == "FAIL" {print $1}' | tr '\n' ' ')
  DETAIL="results.json $([ -f "$OUT/results.json" ] && echo written || echo missing)${failed:+; failed: $failed}"
  [ -n "$failed" ] && [ $rc -eq 0 ] && rc=1
  return $rc
}

# ---- the run -----------------------------------------------------------------------------
{
  ok_build=0
  step preflight 0 preflight
  if [ "$SKIP_BUILD" = 1 ]; then
    skip_step prefix "GPU_CHECK_SKIP_BUILD=1"
    # the prefix's pkg-config is not needed: the binaries carry their rpath
    step build 0 reuse_build && [ "${st_status[build]}" = ok ] && ok_build=1
  else
    step prefix 0 do_prefix
    if [ "${st_status[prefix]}" = fail ]; then
      skip_step build "no prefix"
    else
      step build 0 do_build
      [ "${st_status[build]}" = ok ] && ok_build=1
    fi
  fi

  if [ $ok_build = 1 ]; then
    step doctor 20 do_doctor
    for s in "${SUITES[@]}"; do step "$s" 30 do_suite "$s"; done
    step demo 30 do_demo
    if [ "$mode" = gpu ]; then
      step hf 60 do_hf
      step nccl 40 do_nccl
      step memcheck 90 do_sanitizer memcheck ""
      step racecheck 60 do_sanitizer racecheck "${GPU_CHECK_RACECHECK_FILTER:-cuda_@(attention|attn|layernorm|dropout_layernorm|embedding_layernorm|loss|determinism|optim)/*}"
      step bench 240 do_bench
    else
      for s in hf nccl memcheck racecheck bench; do skip_step "$s" "emu"; done
    fi
  else
    for s in doctor "${SUITES[@]}" demo hf nccl memcheck racecheck bench; do skip_step "$s" "no build"; done
  fi

  echo
  echo "==== gpu-check summary ($mode, commit $COMMIT, ${DEVICE:-no device}, $SECONDS s) ===="
  n_bad=0
  for k in "${order[@]}"; do
    printf '  %-17s %-8s %5s s  %s\n' "$k" "${st_status[$k]}" "${st_wall[$k]}" "${st_detail[$k]}"
    case "${st_status[$k]}" in fail | timeout) n_bad=$((n_bad + 1)) ;; esac
  done
  write_summary
  echo "summary: $OUT/summary.json; full logs: $OUT/logs.tgz; build kept in $B"
  rm -rf "$W" "$L"
  exit $((n_bad > 0))
} 2>&1 | tee "$OUT/gpu-check.log"
