/* bench_flops.c — denominators of the benchmarks (include/ctcd/bench.h): datasheet peaks
 * chosen by device name, model FLOPs of a BERT training step, and a model's device bytes.
 *
 * FLOP count of one forward pass, multiply-add = 2 FLOPs, N = B·T tokens, and for layer l
 * A = heads_l·HD (attention width), I = intermediate_l:
 *   QKV projection      2·N·H·3A
 *   scores Q·Kᵀ         2·B·heads·T·T·HD = 2·N·T·A        (the T² term)
 *   context P·V         2·N·T·A                            (the T² term)
 *   attention output    2·N·A·H
 *   FFN (two GEMMs)     2·N·H·I + 2·N·I·H
 *   per layer           2·N·(4·A·H + 2·H·I) + 4·N·T·A
 * heads: classification pooler 2·B·H·H + classifier 2·B·H·C; masked-LM transform
 * 2·R·H·H + decoder 2·R·H·V over the R masked rows. Embeddings (gathers), LayerNorm, GELU,
 * softmax, dropout and the loss are elementwise and not counted. Training = 3 x forward:
 * that is the familiar 6·params·tokens (params of a layer ≈ 4·A·H + 2·H·I) plus
 * 12·N·T·A per layer for attention. It is the MFU numerator for ctcd and for the PyTorch
 * reference alike (benchmarks/reference_step.py uses the same formula). */
#include <string.h>

#include "ctcd/bench.h"

void ctcd_peaks_for_device(const char *device_name, double tflops_override,
                           double gbps_override, ctcd_peaks *out) {
    const char *n = device_name ? device_name : "";
    ctcd_peaks p = {0.0, 0.0, "unknown device (give --peak-tflops/--peak-gbps)"};
    if (strstr(n, "H200")) {
        p = (ctcd_peaks){989.0, 4800.0, "H200 SXM datasheet (989 TFLOP/s bf16 dense, 4800 GB/s)"};
    } else if (strstr(n, "H100") && strstr(n, "PCIe")) {
        p = (ctcd_peaks){756.0, 2000.0, "H100 PCIe datasheet (756 TFLOP/s bf16 dense, 2000 GB/s)"};
    } else if (strstr(n, "H100")) {
        p = (ctcd_peaks){989.0, 3350.0, "H100 SXM datasheet (989 TFLOP/s bf16 dense, 3350 GB/s)"};
    } else if (n[0] && strcmp(n, "cpu") != 0) {
        p = (ctcd_peaks){989.0, 3350.0, "assumed H100 SXM (989, 3350): device not recognised"};
    }
    if (tflops_override > 0 || gbps_override > 0) {
        if (tflops_override > 0) p.tflops = tflops_override;
        if (gbps_override > 0) p.gbps = gbps_override;
        p.source = "option (--peak-tflops / --peak-gbps)";
    }
    *out = p;
}

double ctcd_bert_forward_flops(const ctcd_bert_config *c, int B, int T, int64_t head_rows) {
    const double N = (double)B * (double)T, H = c->hidden;
    double f = 0.0;
    for (int l = 0; l < c->n_layers; l++) {
        const double A = (double)c->layer_heads[l] * c->head_dim;
        const double I = c->layer_intermediate[l];
        f += 2.0 * N * (4.0 * A * H + 2.0 * H * I) + 4.0 * N * (double)T * A;
    }
    const double R = (double)head_rows;
    if (c->head == CTCD_HEAD_MLM)
        f += 2.0 * R * H * H + 2.0 * R * H * (double)c->vocab_size;
    else
        f += 2.0 * R * H * H + 2.0 * R * H * (double)c->n_labels;
    return f;
}

double ctcd_bert_train_flops(const ctcd_bert_config *c, int B, int T, int64_t head_rows) {
    return 3.0 * ctcd_bert_forward_flops(c, B, T, head_rows);
}

int64_t ctcd_model_device_bytes(const ctcd_model *m) {
    const int64_t n = m->lay.n_total;
    const int64_t compute = m->ps.params == (void *)m->ps.master
                                ? 0
                                : n * (int64_t)ctcd_dtype_size(m->be->act_dtype);
    return compute + 4 * n /* master */ + 4 * n /* grads */ + 8 * n /* adam m, v */ +
           (int64_t)m->act_bytes;
}
