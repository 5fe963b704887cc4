#!/usr/bin/env bash
# fetch-gpu-debs.sh — run HERE (a Debian 12 machine with apt), not on the GPU machine.
#
# The GPU machine has nvcc, CMake and ninja but none of ctcd's C libraries (libyaml, cJSON,
# utf8proc, OpenBLAS, Criterion) and cannot reach any package archive. This downloads the
# .deb files of those libraries, their -dev packages and their runtime dependencies into the
# git-ignored folder .gpu-debs/, which `run` carries (carry: [".gpu-debs"]) and
# scripts/gpu-check.sh unpacks into a private prefix there (never into /).
#
# Runtime dependencies are the recursive closure of the runtime packages, minus the base
# libraries every glibc system has (a Debian copy of those would shadow the system's).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-debs

dev=(libyaml-dev libcjson-dev libutf8proc-dev libopenblas-dev libopenblas-pthread-dev
     libcriterion-dev)
runtime=(libyaml-0-2 libcjson1 libutf8proc2 libopenblas0 libopenblas0-pthread libgfortran5
         libquadmath0 libcriterion3 pkgconf pkgconf-bin libpkgconf3 pkg-config)
base='^(libc6|libgcc-s1|gcc-12-base|zlib1g|libssl3|libstdc\+\+6|libcrypt1|debconf|dpkg|perl-base|libpcre2-8-0|libffi8|tar|install-info|libselinux1|libzstd1|liblzma5|libbz2-1.0|libmd0|libgomp1)$'

closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances --no-pre-depends "${runtime[@]}" |
          grep -v '^[ <]' | sort -u | grep -Ev "$base" |
          grep -Ev '^libopenblas0-(openmp|serial)$' || true)

mkdir -p "$out"
rm -f "$out"/*.deb
# shellcheck disable=SC2086  # closure is a whitespace-separated package list
(cd "$out" && apt-get download "${dev[@]}" $closure)
echo "fetched $(ls "$out"/*.deb | wc -l) packages into $out ($(du -sh "$out" | cut -f1)):"
ls "$out"

# Third-party data the GPU checks read (never committed; .data/ is git-ignored): the BERT
# vocabulary and every GLUE dev file present, for the tokenizer comparison with transformers.
data=${CTCD_DATA_DIR:-../shared/data}
if [ -d "$data" ]; then
    mkdir -p .data/vocab
    cp "$data/vocab/bert-base-uncased-vocab.txt" .data/vocab/ 2>/dev/null || true
    for f in "$data"/glue/*/dev*.tsv; do
        [ -f "$f" ] || continue
        t=$(basename "$(dirname "$f")")
        mkdir -p ".data/glue/$t"
        cp "$f" ".data/glue/$t/"
    done
    echo "copied the vocabulary and GLUE dev files into .data ($(du -sh .data | cut -f1)); carry [\".gpu-debs\", \".data\"]"
fi
