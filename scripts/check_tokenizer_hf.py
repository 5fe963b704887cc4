#!/usr/bin/env python3
"""check_tokenizer_hf.py — dump Hugging Face BertTokenizer ids for a GLUE TSV, in the format
of `tokenize_bench --dump`, so that ctcd's tokenizer can be diffed against HF's.

Needs `transformers` (not installed on the ctcd build machines). Usage, on a machine that
has it:

    python3 scripts/check_tokenizer_hf.py --vocab VOCAB.txt --max-len 128 \
        shared/data/glue/MRPC/dev.tsv > hf.txt
    build/benchmarks/tokenize_bench --dump --vocab VOCAB.txt --max-len 128 \
        shared/data/glue/MRPC/dev.tsv > ctcd.txt
    diff hf.txt ctcd.txt && echo identical

Each output line is: 1-based TSV line number, tab, input ids, tab, token type ids (ids
separated by spaces). The file is read as the HF glue processors read it (utf-8-sig,
csv.reader with delimiter "\\t" and quotechar None, universal newlines), with the columns
of include/ctcd/glue.h; lines that ctcd's loader would skip as malformed (wrong column
count, unknown label, unparsable score or index) are skipped here too, so both outputs
cover the same lines. The tokenizer is the slow Python `BertTokenizer` with
do_lower_case=True (bert-base-uncased), called as the glue feature converter calls it:
tokenizer(text_a, text_b, truncation=True, max_length=max_len). Pass --fast to use
BertTokenizerFast instead (its normaliser differs from the slow one in rare cases; ctcd
follows the slow one).
"""
import argparse
import csv
import math
import os
import re
import sys

# task: (labelled layout, test layout, labels); layout: (header, a, b, label, index)
# Column numbers are 0-based; label -1 means the last column, None means no such column.
PAIR_LAST = ((True, 1, 2, -1, 0), (True, 1, 2, None, 0))
TASKS = {
    "cola": ((False, 3, None, 1, None), (True, 1, None, None, 0), ["0", "1"]),
    "sst2": ((True, 0, None, 1, None), (True, 1, None, None, 0), ["0", "1"]),
    "mrpc": ((True, 3, 4, 0, None), (True, 3, 4, None, 0), ["0", "1"]),
    "stsb": ((True, 7, 8, -1, 0), (True, 7, 8, None, 0), None),
    "qqp": ((True, 3, 4, 5, 0), (True, 1, 2, None, 0), ["0", "1"]),
    "mnli": ((True, 8, 9, -1, 0), (True, 8, 9, None, 0), ["contradiction", "entailment", "neutral"]),
    "qnli": PAIR_LAST + (["entailment", "not_entailment"],),
    "rte": PAIR_LAST + (["entailment", "not_entailment"],),
    "wnli": PAIR_LAST + (["0", "1"],),
}
DIRS = {"CoLA": "cola", "SST-2": "sst2", "MRPC": "mrpc", "STS-B": "stsb", "QQP": "qqp",
        "MNLI": "mnli", "QNLI": "qnli", "RTE": "rte", "WNLI": "wnli"}
SCORE_RE = re.compile(r"^[0-9+\-.eE]+$")
INDEX_RE = re.compile(r"^-?[0-9]+$")


def task_of(path, name):
    if name:
        return name.lower()
    d = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if d in DIRS:
        return DIRS[d]
    sys.exit(f"cannot tell the GLUE task of {path}; use --task")


def valid_row(row, ncols, layout, labels, labelled):
    """True when ctcd's loader would keep this row (see include/ctcd/glue.h)."""
    _, _, _, label, index = layout
    if len(row) != ncols:
        return False
    if index is not None and not INDEX_RE.match(row[index]):
        return False
    if labelled:
        value = row[label]
        if labels is None:
            if not SCORE_RE.match(value):
                return False
            try:
                return math.isfinite(float(value))
            except ValueError:
                return False
        return value in labels
    return True


def rows(path, task):
    """Yields (line number, text_a, text_b or None) for every row ctcd would load."""
    labelled_layout, test_layout, labels = TASKS[task]
    labelled = not os.path.basename(path).startswith("test")
    layout = labelled_layout if labelled else test_layout
    header, a, b, _, _ = layout
    ncols = None if header else 4
    with open(path, "r", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter="\t", quotechar=None)
        for row in reader:
            line = reader.line_num
            if header and line == 1:
                ncols = len(row)
                continue
            if not row:
                continue
            if valid_row(row, ncols, layout, labels, labelled):
                yield line, row[a], (row[b] if b is not None else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tsv")
    ap.add_argument("--vocab", required=True, help="bert-base-uncased vocab.txt")
    ap.add_argument("--task", help="GLUE task name (default: from the directory name)")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--fast", action="store_true", help="use BertTokenizerFast")
    args = ap.parse_args()

    import transformers  # imported late so --help works without it

    cls = transformers.BertTokenizerFast if args.fast else transformers.BertTokenizer
    tok = cls(vocab_file=args.vocab, do_lower_case=True)
    out = sys.stdout
    for line, a, b in rows(args.tsv, task_of(args.tsv, args.task)):
        enc = tok(a, b, truncation=True, max_length=args.max_len)
        ids = " ".join(map(str, enc["input_ids"]))
        types = " ".join(map(str, enc["token_type_ids"]))
        out.write(f"{line}\t{ids}\t{types}\n")


if __name__ == "__main__":
    main()
