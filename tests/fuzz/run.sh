#!/usr/bin/env bash
# run.sh — builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs each for
# SECONDS (default 60) starting from our seed corpus in tests/fuzz/corpus/<target>/.
# Exit status non-zero on any crash, leak, timeout or sanitizer report; the reproducer is
# left in build-fuzz/artifacts/. usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
# A unit slower than this (wall clock) is a finding; raise it for campaigns run at low
# priority on a busy machine (FUZZ_TIMEOUT=120), where a starved process can stall.
timeout=${FUZZ_TIMEOUT:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(recipe glue tokenizer safetensors shard resume)
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTCD_FUZZ=ON \
    -DCTCD_CUDA=OFF -DCTCD_TESTS=OFF >/dev/null
# Only the fuzz targets (and the library they link): nothing else is built with clang here.
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
    work=build-fuzz/corpus-$t
    mkdir -p "$work"
    cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    echo "== fuzz_$t for ${secs}s"
    # the resume seed is a whole training state (67 KB): let inputs be that long
    max_len=65536
    [ "$t" = resume ] && max_len=131072
    # Corpus entries found here stay in build-fuzz (not committed); -rss_limit_mb bounds
    # memory, -timeout flags inputs that take over $timeout s.
    if ! OMP_NUM_THREADS=1 build-fuzz/fuzz/fuzz_"$t" "$work" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout="$timeout" -max_len=$max_len -print_final_stats=1 \
        -artifact_prefix=build-fuzz/artifacts/"$t"- 2>build-fuzz/fuzz_"$t".log; then
        echo "fuzz_$t FAILED: see build-fuzz/fuzz_$t.log and build-fuzz/artifacts/"
        tail -30 build-fuzz/fuzz_"$t".log
        status=1
    else
        grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/fuzz_"$t".log | tr '\n' ' '
        echo
    fi
done
exit $status
