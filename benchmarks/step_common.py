"""step_common.py - what the PyTorch references of the co-training step share
(reference_step.py on the GPU, reference_cpu.py on the CPU): the model pairs of
`ctcd bench step` and the bidirectional distillation loss of include/ctcd/backend.h."""

PAIRS = {  # (layers, hidden, heads, intermediate) of large, small; as in src/cli/cmd_bench.c
    "base+small": ((12, 768, 12, 3072), (4, 512, 8, 2048)),
    "base+6l": ((12, 768, 12, 3072), (6, 768, 12, 3072)),
    "large+base": ((24, 1024, 16, 4096), (12, 768, 12, 3072)),
    "mini": ((4, 256, 4, 1024), (2, 128, 2, 512)),
    "tiny": ((2, 64, 2, 256), (1, 32, 2, 128)),
}
TEMPERATURE = 2.0


def mutual_loss(F, zL, zS, y):
    """CE of each model plus T^2 * KL to the detached peer, both directions."""
    T = TEMPERATURE
    lL, lS = F.log_softmax(zL / T, -1), F.log_softmax(zS / T, -1)
    klL = F.kl_div(lL, lS.detach(), reduction="batchmean", log_target=True) * T * T
    klS = F.kl_div(lS, lL.detach(), reduction="batchmean", log_target=True) * T * T
    return F.cross_entropy(zL, y) + klL, F.cross_entropy(zS, y) + klS
