#!/usr/bin/env bash
# get-corpus.sh — downloads WikiText-103 (raw, ~540 MB of text) into data/corpus/ for masked-LM
# pre-training (`ctcd pretrain`, pretrain.corpus: data/corpus). Not run in CI.
# usage: scripts/get-corpus.sh [DEST]   (default: data/corpus)
# Source: the Salesforce/Smerity release (CC BY-SA 3.0; cite Merity et al. 2016). Only the
# train split is kept as corpus text; valid/test go to DEST/heldout/ so that evaluation text
# never enters pre-training. Needs curl and unzip.
set -euo pipefail
dest=${1:-data/corpus}
url=https://wikitext.smerity.com/wikitext-103-raw-v1.zip
for tool in curl unzip; do
    command -v "$tool" >/dev/null || { echo "get-corpus.sh: $tool is required" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest/heldout"
echo "downloading $url"
curl -fL --retry 3 -o "$tmp/wt103.zip" "$url"
unzip -q "$tmp/wt103.zip" -d "$tmp"
mv "$tmp"/wikitext-103-raw/wiki.train.raw "$dest/wikitext-103-train.txt"
mv "$tmp"/wikitext-103-raw/wiki.valid.raw "$dest/heldout/wikitext-103-valid.txt"
mv "$tmp"/wikitext-103-raw/wiki.test.raw "$dest/heldout/wikitext-103-test.txt"
echo "done: $dest/wikitext-103-train.txt (pretrain.corpus: $dest reads only its *.txt files)"
