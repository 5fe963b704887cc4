#!/usr/bin/env bash
# Installs the Debian packages ctcd builds against (idempotent; uses sudo when not root).
# The CUDA toolkit is optional and not installed here: with nvcc on PATH the CUDA backend is
# built too (sm_90), without it the CPU backend alone. `wordnet` installs the WordNet 3.0
# database under /usr/share/wordnet for EDA data augmentation (its tests skip without it).
# Open MPI (libopenmpi-dev, openmpi-bin) enables data-parallel runs under mpirun. libtbb-dev
# and patch serve the emulated CUDA build (-DCTCD_CUDA_EMU=ON, tests only).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev libcriterion-dev libyaml-dev
      libcjson-dev libutf8proc-dev libzstd-dev wordnet libopenmpi-dev openmpi-bin
      libtbb-dev patch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
