#!/usr/bin/env python3
"""reference_cpu.py - the ctcd co-training step on the CPU, written as a PyTorch user would.

Plain PyTorch (Debian's python3-torch; no `transformers` needed): two BERT encoders built from
torch.nn - word + position + token-type embeddings, LayerNorm, dropout, nn.TransformerEncoder
(post-LayerNorm layers as BERT, exact GELU, dropout 0.1 on hidden states and attention
probabilities, key padding mask) and BERT's heads: pooler (dense + tanh on [CLS]) + dropout +
classifier, or with --mlm the masked-LM head (dense + GELU + LayerNorm + decoder tied to the
word embeddings) applied to the masked positions only, as ctcd does. One step, fp32: both
forwards, the bidirectional distillation loss of include/ctcd/backend.h

    L_large = CE(zL, y) + T^2 * KL(softmax(zS/T) || softmax(zL/T))   (zS detached)
    L_small = CE(zS, y) + T^2 * KL(softmax(zL/T) || softmax(zS/T))   (zL detached)

(T = 2), backward of L_large + L_small, global grad-norm clip at 1.0 and AdamW (foreach) per
model. Same pairs, shapes, synthetic batches (random ids, [CLS] first, second half token type
1) and JSON fields as `ctcd bench step --backend cpu --precision fp32`. Threads: torch's
intra-op pool set to OMP_NUM_THREADS (else all cores), one inter-op thread, as ctcd's OpenMP.

--lengths ragged times batches of varied, bucketed lengths instead of full --seq rows: step k
uses padded length RAGGED[k % 8] (capped at --seq) and row r of it is (r % 8) tokens shorter
(the rest padding, masked) - the profile `ctcd bench step --lengths ragged` uses.

usage: python3 benchmarks/reference_cpu.py [--pairs mini,tiny] [--seq 128] [--batch 32]
           [--steps 5] [--warmup 2] [--mlm] [--lengths full|ragged] [--threads N]
"""
import argparse
import json
import os
import sys
import time

from step_common import PAIRS, mutual_loss  # beside this file

RAGGED = (16, 24, 12, 32, 20, 48, 16, 64)  # padded lengths of the 8 bucketed batches


def row_lengths(T, B):
    """Token count of each row of a batch padded to T (ragged profile)."""
    return [max(2, T - (r % 8)) for r in range(B)]


def build(torch, shape, args):
    nn = torch.nn
    F = torch.nn.functional
    layers, H, heads, inter = shape

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(args.vocab, H)
            self.pos = nn.Embedding(512, H)
            self.token_type = nn.Embedding(2, H)
            self.ln = nn.LayerNorm(H, eps=1e-12)
            self.drop = nn.Dropout(0.1)
            layer = nn.TransformerEncoderLayer(H, heads, inter, dropout=0.1, activation="gelu",
                                               layer_norm_eps=1e-12, batch_first=True,
                                               norm_first=False)
            self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            if args.mlm:
                self.transform = nn.Linear(H, H)
                self.head_ln = nn.LayerNorm(H, eps=1e-12)
                self.decoder_bias = nn.Parameter(torch.zeros(args.vocab))
            else:
                self.pooler = nn.Linear(H, H)
                self.classifier = nn.Linear(H, args.classes)
            for m in self.modules():  # BERT's initialisation
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

        def forward(self, ids, types, pad, masked):
            T = ids.shape[1]
            pos = torch.arange(T, device=ids.device)
            x = self.drop(self.ln(self.word(ids) + self.pos(pos)[None] + self.token_type(types)))
            x = self.enc(x, src_key_padding_mask=pad)
            if args.mlm:  # the masked rows only, decoder tied to the word embeddings
                h = self.head_ln(F.gelu(self.transform(x[masked])))
                return h @ self.word.weight.t() + self.decoder_bias
            return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))

    return Bert().train()


def make_batch(torch, B, T, args, gen, lengths=None):
    ids = torch.randint(1000, args.vocab, (B, T), generator=gen)
    ids[:, 0] = 101
    types = torch.zeros(B, T, dtype=torch.long)
    types[:, T // 2:] = 1
    lens = lengths or [T] * B
    pad = torch.zeros(B, T, dtype=torch.bool)
    for r, n in enumerate(lens):
        pad[r, n:] = True
        ids[r, n:] = 0
    masked = torch.zeros(B, T, dtype=torch.bool)
    if args.mlm:  # as ctcd: max(1, lround(0.15 n)) positions in [1, n)
        for r, n in enumerate(lens):
            k = min(n - 1, max(1, int(0.15 * n + 0.5)))
            pos = 1 + torch.randperm(n - 1, generator=gen)[:k]
            masked[r, pos] = True
        labels = torch.randint(1000, args.vocab, (int(masked.sum()),), generator=gen)
    else:
        labels = torch.randint(0, args.classes, (B,), generator=gen)
    return (ids, types, pad, masked), labels


def run_config(torch, args, pair, T, B):
    F = torch.nn.functional
    shapes = PAIRS[pair]
    torch.manual_seed(0)
    models = [build(torch, s, args) for s in shapes]
    opts = [torch.optim.AdamW(m.parameters(), lr=5e-5, weight_decay=0.01, foreach=True)
            for m in models]
    gen = torch.Generator().manual_seed(1234)
    if args.lengths == "ragged":
        batches = []
        for L in RAGGED:
            L = min(L, T)
            batches.append(make_batch(torch, B, L, args, gen, row_lengths(L, B)))
    else:
        batches = [make_batch(torch, B, T, args, gen)]

    def step(k):
        inputs, y = batches[k % len(batches)]
        z = [m(*inputs) for m in models]
        lossL, lossS = mutual_loss(F, z[0], z[1], y)
        (lossL + lossS).backward()
        for m, o in zip(models, opts):
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            o.step()
            o.zero_grad(set_to_none=True)
        return float(lossL), float(lossS), inputs[0].shape[1], int(y.shape[0])

    for k in range(args.warmup):
        step(k)
    ms, tokens, rows = [], 0, 0
    for k in range(args.warmup, args.warmup + args.steps):
        t0 = time.perf_counter()
        lossL, lossS, Tk, r = step(k)
        ms.append((time.perf_counter() - t0) * 1e3)
        tokens += B * Tk
        rows += r
    mean = sum(ms) / len(ms)
    fmt = lambda s: "%dL/%dH/%dA/%dI" % s
    return {
        "bench": "step", "impl": "torch", "backend": "cpu", "device": "cpu",
        "precision": "fp32", "pair": pair, "large": fmt(shapes[0]), "small": fmt(shapes[1]),
        "head": "mlm" if args.mlm else "cls", "batch": B, "seq": T, "lengths": args.lengths,
        "head_rows": round(rows / args.steps), "steps": args.steps, "warmup": args.warmup,
        "step_ms": round(mean, 3), "step_ms_median": round(sorted(ms)[len(ms) // 2], 3),
        "step_ms_min": round(min(ms), 3), "examples_per_s": round(B / (mean * 1e-3), 2),
        "tokens_per_s": round(tokens / (sum(ms) * 1e-3)),
        "params_large": sum(p.numel() for p in models[0].parameters()),
        "params_small": sum(p.numel() for p in models[1].parameters()),
        "loss_large": round(lossL, 4), "loss_small": round(lossS, 4),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="mini")
    ap.add_argument("--seq", default="128")
    ap.add_argument("--batch", default="32")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--mlm", action="store_true")
    ap.add_argument("--lengths", choices=["full", "ragged"], default="full")
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--threads", type=int, default=0,
                    help="intra-op threads (default OMP_NUM_THREADS, else every core)")
    args = ap.parse_args()
    import torch
    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or os.cpu_count()
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    seqs = [int(s) for s in args.seq.split(",")]
    batches = [int(b) for b in args.batch.split(",")]
    if len(batches) not in (1, len(seqs)):
        sys.exit("reference_cpu.py: --batch needs one value or one per --seq value")
    if args.steps < 1 or args.warmup < 0:
        sys.exit("reference_cpu.py: --steps >= 1 and --warmup >= 0")
    for pair in args.pairs.split(","):
        if pair not in PAIRS:
            sys.exit("reference_cpu.py: unknown pair '%s' (%s)" % (pair, ", ".join(PAIRS)))
        for i, T in enumerate(seqs):
            B = batches[0 if len(batches) == 1 else i]
            print(json.dumps(run_config(torch, args, pair, T, B)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
