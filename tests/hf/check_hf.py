#!/usr/bin/env python3
"""check_hf.py — ctcd against Hugging Face transformers, both directions (GPU machine: it has
PyTorch and transformers; no hub access is needed, everything is created locally).

  0. tokenizer (with --vocab): tokenizer_cases.jsonl, ctcd tokenize vs BertTokenizer;
  1. import: a random BertForSequenceClassification (and a regression model) saved with
     save_pretrained -> `ctcd predict --logits` reproduces transformers' logits (fp32 CPU
     backend: 1e-4 relative to the largest logit; CUDA backend when built: bf16 tolerance);
  2. export: `ctcd train` writes <run>/<role>/last -> transformers loads it with no missing
     or unexpected keys and reproduces ctcd's logits.

The vocabulary and the sentences are generated here (no third-party data).
usage: tests/hf/check_hf.py --ctcd build/ctcd [--vocab VOCAB] [--work DIR] [--cuda]
Exit status 0 when every check passes; prints one line per check.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

WORDS = ("the a man woman dog cat runs walks sees park house red blue small big quickly "
         "never always happy sad river city music play plays played ##s ##ed ##ing").split()


def make_vocab(path):
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + [".", ",", "!", "?"]
    with open(path, "w") as f:
        f.write("\n".join(toks) + "\n")
    return len(toks)


def make_task(dirpath, task, n, rng):
    """Writes train.tsv and dev.tsv in the GLUE layout of sst2 (single) or stsb (pairs)."""
    os.makedirs(dirpath, exist_ok=True)
    plain = [w for w in WORDS if not w.startswith("##")]

    def sent():
        return " ".join(rng.choice(plain) for _ in range(rng.randint(3, 14))) + " ."

    for split in ("train", "dev"):
        with open(os.path.join(dirpath, split + ".tsv"), "w") as f:
            if task == "sst2":
                f.write("sentence\tlabel\n")
                for _ in range(n):
                    f.write(f"{sent()}\t{rng.randint(0, 1)}\n")
            else:  # STS-B: 10 columns, sentence1 8th, sentence2 9th, score last
                f.write("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
                        "sentence1\tsentence2\tscore\n")
                for i in range(n):
                    f.write(f"{i}\tg\tf\ty\t{i}\ts\ts\t{sent()}\t{sent()}\t"
                            f"{rng.uniform(0, 5):.3f}\n")


def read_dev(dirpath, task):
    rows = []
    with open(os.path.join(dirpath, "dev.tsv")) as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            rows.append((c[0], None) if task == "sst2" else (c[7], c[8]))
    return rows


def hf_logits(model, tok, rows, max_len):
    model.eval()
    out = []
    with torch.no_grad():
        for a, b in rows:
            enc = tok(a, b, truncation="longest_first", max_length=max_len, return_tensors="pt")
            out.append(model(**enc).logits[0].double())
    return torch.stack(out)


def ctcd_logits(args, ckpt, task, data_dir, backend, work):
    path = os.path.join(work, f"logits-{backend}.tsv")
    cmd = [args.ctcd, "predict", ckpt, "--task", task, "--data-dir", data_dir, "--logits", path,
           "--backend", backend, "--max-len", "128"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    with open(path) as f:
        return torch.tensor([[float(x) for x in l.split("\t")] for l in f], dtype=torch.float64)


def compare(name, ours, ref, rel_tol):
    scale = ref.abs().max().item()
    err = (ours - ref).abs().max().item()
    ok = ours.shape == ref.shape and err <= rel_tol * max(scale, 1e-6)
    print(f"{'PASS' if ok else 'FAIL'} {name}: max abs err {err:.3g}, max |logit| {scale:.3g}, "
          f"tolerance {rel_tol:g} relative")
    return ok


def check_import(args, work, task, n_labels, rng):
    data = os.path.join(work, task.upper())
    make_task(data, task, 40, rng)
    ckpt = os.path.join(work, f"hf-{task}")
    vocab = os.path.join(ckpt, "vocab.txt")
    os.makedirs(ckpt, exist_ok=True)
    v = make_vocab(vocab)
    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=v, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=128, num_labels=n_labels)
    model = BertForSequenceClassification(cfg)
    # Non-trivial LayerNorm and bias values so every tensor's mapping matters.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    model.save_pretrained(ckpt, safe_serialization=True)
    tok = BertTokenizer(vocab, do_lower_case=True)
    ref = hf_logits(model, tok, read_dev(data, task), 128)
    ok = compare(f"import {task} (cpu fp32)", ctcd_logits(args, ckpt, task, data, "cpu", work),
                 ref, 1e-4)
    if args.cuda:
        ok &= compare(f"import {task} (cuda bf16)",
                      ctcd_logits(args, ckpt, task, data, "cuda", work), ref, 3e-2)
    return ok


def check_export(args, work, rng):
    data = os.path.join(work, "SST2-train")
    make_task(data, "sst2", 64, rng)
    vocab = os.path.join(work, "vocab.txt")
    make_vocab(vocab)
    run = os.path.join(work, "run")
    recipe = os.path.join(work, "export.yaml")
    with open(recipe, "w") as f:
        f.write(f"task: sst2\ndata: {{dir: {data}, vocab: {vocab}, max_len: 64}}\n"
                "models:\n  large: {layers: 2, hidden: 32, heads: 2, intermediate: 64}\n"
                "  small: {layers: 1, hidden: 16, heads: 2, intermediate: 32}\n"
                f"train: {{max_steps: 5, batch: 8, backend: cpu}}\noutput: {run}\n")
    r = subprocess.run([args.ctcd, "train", recipe, "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL export: ctcd train failed:\n{r.stdout}{r.stderr}")
        return False
    ok = True
    for role in ("large", "small"):
        ckpt = os.path.join(run, role, "last")
        model, info = BertForSequenceClassification.from_pretrained(ckpt, output_loading_info=True)
        keys_ok = not info["missing_keys"] and not info["unexpected_keys"] and not info[
            "mismatched_keys"]
        print(f"{'PASS' if keys_ok else 'FAIL'} export {role}: transformers loading info {info}")
        tok = BertTokenizer(os.path.join(ckpt, "vocab.txt"), do_lower_case=True)
        ref = hf_logits(model, tok, read_dev(data, "sst2"), 64)
        ok &= keys_ok and compare(f"export {role} logits",
                                  ctcd_logits(args, ckpt, "sst2", data, "cpu", work), ref, 1e-4)
    return ok


def check_tokenizer(args):
    """tests/hf/tokenizer_cases.jsonl (hand-written tricky inputs) through `ctcd tokenize
    --raw` and the slow BertTokenizer (bert-base-uncased vocabulary): identical ids."""
    import json
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "tokenizer_cases.jsonl"), encoding="utf-8") as f:
        cases = [json.loads(l) for l in f]
    text = "".join(c + "\n" for c in cases).encode("utf-8")
    r = subprocess.run([args.ctcd, "tokenize", "--vocab", args.vocab, "--raw"], input=text,
                       capture_output=True)
    if r.returncode != 0:
        print(f"FAIL tokenizer: ctcd tokenize failed: {r.stderr.decode(errors='replace')}")
        return False
    ours = r.stdout.decode().split("\n")[:-1]
    tok = BertTokenizer(args.vocab, do_lower_case=True)
    bad = 0
    for c, line in zip(cases, ours):
        ref = " ".join(str(i) for i in tok.convert_tokens_to_ids(tok.tokenize(c)))
        if ref != line:
            bad += 1
            print(f"  differs: {c!r}\n    hf   {ref}\n    ctcd {line}")
    ok = bad == 0 and len(ours) == len(cases)
    print(f"{'PASS' if ok else 'FAIL'} tokenizer: {len(cases) - bad} of {len(cases)} tricky "
          f"inputs identical to BertTokenizer ({len(ours)} lines back)")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctcd", required=True)
    ap.add_argument("--vocab", help="bert-base-uncased vocab.txt: also compare the tokenizer")
    ap.add_argument("--work")
    ap.add_argument("--cuda", action="store_true", help="also compare the CUDA backend")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="ctcd-hf-")
    rng = random.Random(7)
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, work {work}")
    ok = check_tokenizer(args) if args.vocab else True
    ok &= check_import(args, work, "sst2", 2, rng)
    ok &= check_import(args, work, "stsb", 1, rng)
    ok &= check_export(args, work, rng)
    print("hf check:", "all passed" if ok else "FAILED")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
