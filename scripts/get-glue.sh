#!/usr/bin/env bash
# get-glue.sh — downloads the GLUE benchmark into data/glue/<Task>/{train,dev,test}.tsv, the
# layout ctcd reads (ctcd finds ./data/glue by itself; or set CTCD_DATA_DIR). Not run in CI.
#
# usage: scripts/get-glue.sh [DEST] [TASK...]     (DEST default: data; TASK default: all)
#   tasks: CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI
#
# Sources are the public mirrors the GLUE authors' download script uses. MRPC cannot be
# redistributed as a zip: it is rebuilt from the SentEval copy of the Microsoft corpus and
# the official dev ids, as that script does. Needs curl and unzip (apt-get install curl unzip).
# Also fetches the bert-base-uncased vocabulary into DEST/vocab when missing.
set -euo pipefail
dest=${1:-data}
shift || true
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI)
base=https://dl.fbaipublicfiles.com/glue/data
for tool in curl unzip; do
    command -v "$tool" >/dev/null || { echo "get-glue.sh: $tool is required" >&2; exit 1; }
done
mkdir -p "$dest/glue"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # url file
    echo "downloading $1"
    curl -fL --retry 3 -o "$2" "$1"
}

zip_task() { # zip-name task-dir
    fetch "$base/$1" "$tmp/$1"
    unzip -q -o "$tmp/$1" -d "$tmp/unz"
    local got
    got=$(find "$tmp/unz" -maxdepth 1 -mindepth 1 -type d | head -1)
    rm -rf "${dest:?}/glue/$2"
    mv "$got" "$dest/glue/$2"
    rm -rf "$tmp/unz"
}

mrpc() {
    local senteval=https://dl.fbaipublicfiles.com/senteval/senteval_data
    local d="$dest/glue/MRPC"
    mkdir -p "$d"
    fetch "$senteval/msr_paraphrase_train.txt" "$tmp/mrpc_train.txt"
    fetch "$senteval/msr_paraphrase_test.txt" "$tmp/mrpc_test.txt"
    fetch "$base/mrpc_dev_ids.tsv" "$tmp/dev_ids.tsv"
    # dev = training rows whose (#1 ID, #2 ID) is in the official dev id list.
    awk -F'\t' -v dev="$d/dev.tsv" -v train="$d/train.tsv" '
        FNR == NR { sub(/\r$/, ""); ids[$1 "\t" $2] = 1; next }
        FNR == 1 { print > dev; print > train; next }
        { sub(/\r$/, ""); if (($2 "\t" $3) in ids) print > dev; else print > train }
    ' "$tmp/dev_ids.tsv" "$tmp/mrpc_train.txt"
    awk -F'\t' 'FNR == 1 { print "index\t#1 ID\t#2 ID\t#1 String\t#2 String"; next }
                { sub(/\r$/, ""); print (FNR - 2) "\t" $2 "\t" $3 "\t" $4 "\t" $5 }' \
        "$tmp/mrpc_test.txt" >"$d/test.tsv"
}

for t in "${tasks[@]}"; do
    case "$t" in
    CoLA) zip_task CoLA.zip CoLA ;;
    SST-2) zip_task SST-2.zip SST-2 ;;
    STS-B) zip_task STS-B.zip STS-B ;;
    QQP) zip_task QQP-clean.zip QQP ;;
    MNLI) zip_task MNLI.zip MNLI ;;
    QNLI) zip_task QNLIv2.zip QNLI ;;
    RTE) zip_task RTE.zip RTE ;;
    WNLI) zip_task WNLI.zip WNLI ;;
    MRPC) mrpc ;;
    *) echo "get-glue.sh: unknown task '$t' (CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI)" >&2; exit 2 ;;
    esac
    echo "  -> $dest/glue/$t"
done

if [ ! -f "$dest/vocab/bert-base-uncased-vocab.txt" ]; then
    mkdir -p "$dest/vocab"
    fetch https://huggingface.co/bert-base-uncased/resolve/main/vocab.txt \
        "$dest/vocab/bert-base-uncased-vocab.txt"
fi
echo "done: ctcd train recipes/glue/sst2-ctcd.yaml finds $dest/glue when run from the checkout"
