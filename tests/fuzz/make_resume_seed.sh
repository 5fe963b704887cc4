#!/usr/bin/env bash
# make_resume_seed.sh — writes the seed corpus of fuzz_resume with ctcd's own writer: runs
# `ctcd train` on tests/fuzz/resume_recipe.yaml (CPU, 3 steps, deterministic) and keeps its
# training state, whole and cut short. usage: tests/fuzz/make_resume_seed.sh [CTCD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
ctcd=${1:-build/ctcd}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$ctcd" train tests/fuzz/resume_recipe.yaml --set output="$tmp/run" --quiet >/dev/null
out=tests/fuzz/corpus/resume
mkdir -p "$out"
cp "$tmp/run/state/train_state.safetensors" "$out/state-step3.safetensors"
# the header alone (length field + JSON): the data section missing
python3 - "$tmp/run/state/train_state.safetensors" "$out/header-only.safetensors" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
open(sys.argv[2], 'wb').write(b[:8 + n])
PY
ls -l "$out"
