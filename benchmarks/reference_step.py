#!/usr/bin/env python3
"""reference_step.py - the ctcd co-training step written the way a PyTorch user would.

Two Hugging Face BERT models built from BertConfig (random init, no hub access):
BertForSequenceClassification, or BertForMaskedLM with --mlm. One step: both forwards under
bf16 autocast, the bidirectional distillation loss (include/ctcd/backend.h)

    L_large = CE(zL, y) + T^2 * KL(softmax(zS/T) || softmax(zL/T))   (zS detached)
    L_small = CE(zS, y) + T^2 * KL(softmax(zL/T) || softmax(zS/T))   (zL detached)

(KL summed over classes, averaged over rows; T = 2), backward of L_large + L_small, global
grad-norm clip at 1.0 and torch.optim.AdamW(fused=True) for each model. Eager or
torch.compile (--mode). Same pairs, shapes, synthetic batches (random ids, full length) and
JSON fields as `ctcd bench step`; the step is synchronised once per step in both.

Differences a user should know when reading the ratios: HF's BertForMaskedLM runs the
vocabulary decoder on all B*T positions (ctcd only on the masked 15%); the loss here takes the
masked rows by boolean indexing. MFU counts the same model FLOPs for both (masked rows only),
so it is "useful" FLOPs per second.

usage: python3 benchmarks/reference_step.py [--mode eager|compile] [--pairs base+small,...]
           [--seq 128,512] [--batch 32] [--steps 10] [--warmup 3] [--mlm] [--deadline S]
"""
import argparse
import json
import sys
import time

from step_common import PAIRS, mutual_loss  # beside this file


def peaks(name, override):
    """Dense bf16 TFLOP/s and its source, as ctcd_peaks_for_device (src/train/bench_flops.c)."""
    if override:
        return override, "option (--peak-tflops / --peak-gbps)"
    if "H200" in name:
        return 989.0, "H200 SXM datasheet (989 TFLOP/s bf16 dense, 4800 GB/s)"
    if "H100" in name and "PCIe" in name:
        return 756.0, "H100 PCIe datasheet (756 TFLOP/s bf16 dense, 2000 GB/s)"
    if "H100" in name:
        return 989.0, "H100 SXM datasheet (989 TFLOP/s bf16 dense, 3350 GB/s)"
    return 989.0, "assumed H100 SXM (989, 3350): device not recognised"


def train_flops(shape, B, T, head_rows, mlm, vocab, classes):
    """3 x forward model FLOPs, the formula of src/train/bench_flops.c."""
    layers, H, heads, inter = shape
    N, A = B * T, H  # A = heads * head_dim = hidden for these uniform models
    f = layers * (2.0 * N * (4 * A * H + 2 * H * inter) + 4.0 * N * T * A)
    f += 2.0 * head_rows * H * H + 2.0 * head_rows * H * (vocab if mlm else classes)
    return 3.0 * f


def make_model(torch, transformers, shape, args):
    layers, H, heads, inter = shape
    kw = dict(vocab_size=args.vocab, hidden_size=H, num_hidden_layers=layers,
              num_attention_heads=heads, intermediate_size=inter, hidden_act="gelu",
              max_position_embeddings=512, type_vocab_size=2, num_labels=args.classes,
              hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    try:
        cfg = transformers.BertConfig(attn_implementation="sdpa", **kw)
    except TypeError:  # a transformers that does not take it: its default attention
        cfg = transformers.BertConfig(**kw)
    cls = transformers.BertForMaskedLM if args.mlm else transformers.BertForSequenceClassification
    return cls(cfg).to("cuda").train()


def make_batch(torch, B, T, args, gen):
    ids = torch.randint(1000, args.vocab, (B, T), generator=gen)
    ids[:, 0] = 101
    types = torch.zeros(B, T, dtype=torch.long)
    types[:, T // 2:] = 1
    mask = torch.ones(B, T, dtype=torch.long)
    batch = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    if args.mlm:
        k = round(0.15 * T)
        pos = torch.stack([1 + torch.randperm(T - 1, generator=gen)[:k] for _ in range(B)])
        masked = torch.zeros(B, T, dtype=torch.bool)
        masked.scatter_(1, pos, True)
        labels = torch.randint(1000, args.vocab, (int(masked.sum()),), generator=gen)
        extra = {"masked": masked, "labels": labels}
    else:
        extra = {"labels": torch.randint(0, args.classes, (B,), generator=gen)}
    return ({k: v.cuda() for k, v in batch.items()}, {k: v.cuda() for k, v in extra.items()})


def run_config(torch, transformers, args, pair, T, B):
    F = torch.nn.functional
    shapes = PAIRS[pair]
    torch.manual_seed(0)
    models = [make_model(torch, transformers, s, args) for s in shapes]
    opts = [torch.optim.AdamW(m.parameters(), lr=5e-5, weight_decay=0.01, fused=True)
            for m in models]
    fwd = [torch.compile(m) if args.mode == "compile" else m for m in models]
    gen = torch.Generator().manual_seed(1234)
    batch, extra = make_batch(torch, B, T, args, gen)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            z = [f(**batch).logits for f in fwd]
        if args.mlm:  # (B, T, V) -> the masked rows (R, V)
            z = [zi[extra["masked"]] for zi in z]
        lossL, lossS = mutual_loss(F, z[0].float(), z[1].float(), extra["labels"])
        (lossL + lossS).backward()
        for m, o in zip(models, opts):
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            o.step()
            o.zero_grad(set_to_none=True)
        return lossL, lossS

    torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    ms = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        lossL, lossS = step()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    rows = int(extra["masked"].sum()) if args.mlm else B
    flops = sum(train_flops(s, B, T, rows, args.mlm, args.vocab, args.classes) for s in shapes)
    name = torch.cuda.get_device_name()
    peak, source = peaks(name, args.peak_tflops)
    mean = sum(ms) / len(ms)
    tflops = flops / (mean * 1e-3) * 1e-12
    fmt = lambda s: "%dL/%dH/%dA/%dI" % s
    out = {
        "bench": "step", "impl": "torch-" + args.mode, "backend": "cuda", "device": name,
        "precision": "bf16-autocast", "pair": pair, "large": fmt(shapes[0]),
        "small": fmt(shapes[1]), "head": "mlm" if args.mlm else "cls", "batch": B, "seq": T,
        "head_rows": rows, "steps": args.steps, "warmup": args.warmup,
        "step_ms": round(mean, 3), "step_ms_median": round(sorted(ms)[len(ms) // 2], 3),
        "step_ms_min": round(min(ms), 3), "examples_per_s": round(B / (mean * 1e-3), 2),
        "tokens_per_s": round(B * T / (mean * 1e-3)), "model_flops_per_step": flops,
        "tflops": round(tflops, 2), "mfu": round(tflops / peak, 4), "peak_tflops": peak,
        "peak_source": source,
        "params_large": sum(p.numel() for p in models[0].parameters()),
        "params_small": sum(p.numel() for p in models[1].parameters()),
        "mem_total_bytes": torch.cuda.max_memory_allocated(),
        "loss_large": round(float(lossL), 4), "loss_small": round(float(lossS), 4),
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    del models, opts, fwd
    torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--pairs", default="base+small,base+6l,large+base")
    ap.add_argument("--seq", default="128,512")
    ap.add_argument("--batch", default="32")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--mlm", action="store_true")
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--peak-tflops", type=float, default=0.0)
    ap.add_argument("--deadline", type=float, default=0.0,
                    help="seconds: start no configuration after this much time has passed")
    args = ap.parse_args()
    import torch
    import transformers
    if not torch.cuda.is_available():
        sys.exit("reference_step.py: no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = True
    seqs = [int(s) for s in args.seq.split(",")]
    batches = [int(b) for b in args.batch.split(",")]
    if len(batches) not in (1, len(seqs)):
        sys.exit("reference_step.py: --batch needs one value or one per --seq value")
    start, failed = time.time(), 0
    for pair in args.pairs.split(","):
        for i, T in enumerate(seqs):
            B = batches[0 if len(batches) == 1 else i]
            base = {"bench": "step", "impl": "torch-" + args.mode, "pair": pair, "seq": T,
                    "batch": B, "head": "mlm" if args.mlm else "cls"}
            if args.deadline and time.time() - start > args.deadline:
                print(json.dumps(dict(base, skipped="deadline")), flush=True)
                continue
            try:
                print(json.dumps(run_config(torch, transformers, args, pair, T, B)), flush=True)
            except Exception as e:  # OOM or a compile failure must not hide the other results
                failed = 1
                msg = ("%s: %s" % (type(e).__name__, e))[:500]
                print(json.dumps(dict(base, error=msg)), flush=True)
                torch.cuda.empty_cache()
    return failed


if __name__ == "__main__":
    sys.exit(main())
