/* bench.h — what the benchmarks share (benchmarks/kernels.c, `ctcd bench step`): the
 * device's peak rates chosen by its name, the model FLOPs of a training step, and a
 * co-trainer fed with synthetic batches (random ids, full length, no dataset on disk).
 *
 * Numbers are never produced here; these are the denominators and the set-up. */
#ifndef CTCD_BENCH_H
#define CTCD_BENCH_H

#include <stdint.h>

#include "ctcd/model.h"
#include "ctcd/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Peak rates a measurement is divided by. */
typedef struct ctcd_peaks {
    double tflops;      /* dense bf16 tensor-core TFLOP/s (0 = unknown) */
    double gbps;        /* device-memory GB/s, 1 GB = 1e9 bytes (0 = unknown) */
    const char *source; /* where the numbers come from, printed with every result */
} ctcd_peaks;

/* Datasheet peaks for a device name as the backend reports it (be->device_name):
 *   "H200"            989 TFLOP/s, 4800 GB/s  (H200 SXM)
 *   "H100" + "PCIe"   756 TFLOP/s, 2000 GB/s
 *   "H100" otherwise  989 TFLOP/s, 3350 GB/s  (H100 SXM)
 *   other GPUs        the H100 SXM numbers, source saying they are assumed
 *   "cpu" or NULL     unknown (0, 0)
 * A positive override replaces the datasheet value (source then says "option"). */
void ctcd_peaks_for_device(const char *device_name, double tflops_override,
                           double gbps_override, ctcd_peaks *out);

/* Model FLOPs of one forward pass over B sequences of T tokens (multiply-add = 2 FLOPs;
 * the formula is in bench_flops.c). head_rows is the number of rows the head runs on:
 * B for the classification head, the masked rows for the MLM head. */
double ctcd_bert_forward_flops(const ctcd_bert_config *c, int B, int T, int64_t head_rows);
/* Forward + backward = 3 x forward (backward computes two products per forward product;
 * recomputation inside fused attention is not model FLOPs and is not counted). */
double ctcd_bert_train_flops(const ctcd_bert_config *c, int B, int T, int64_t head_rows);
/* Device bytes a model holds for training: compute copy of the parameters (when distinct
 * from the fp32 master), master, gradients, two AdamW moments, the activation arena. */
int64_t ctcd_model_device_bytes(const ctcd_model *m);

/* A synthetic co-training set-up: the models of rc->models (present ones), the backend
 * rc->train.backend / rc->train.precision, distillation and optimizer settings of rc, and
 * batch buffers for exactly B x T tokens. mlm != 0 gives both models the masked-LM head
 * (vocab columns, up to ceil(0.15·T)+1 masked rows per sequence); otherwise the
 * classification head with n_labels classes. No dataset, no run directory. */
ctcd_status ctcd_bench_trainer_create(const ctcd_recipe *rc, int mlm, int B, int T, int vocab,
                                      int n_labels, ctcd_trainer **out);

/* A host batch of B sequences padded to T: row r holds row_len[r] tokens (all T when row_len
 * is NULL; the rest is padding, id 0, mask 0) of random ids in [1000, vocab) ([CLS] first,
 * segment 1 on the second half of the padded row), random labels in [0, n_labels); with mlm,
 * max(1, round(0.15·len)) distinct masked positions in [1, len) per sequence with random
 * target ids. Free with ctcd_bench_batch_free. */
ctcd_status ctcd_bench_batch_make(int B, int T, const int *row_len, int vocab, int n_labels,
                                  int mlm, uint64_t seed, ctcd_mlm_batch *out);

/* The ragged length profile of `ctcd bench step --lengths ragged` (and of
 * benchmarks/reference_cpu.py): CTCD_BENCH_RAGGED_BATCHES bucketed batches; batch k is padded
 * to ctcd_bench_ragged_len(k, cap) and its row r holds ctcd_bench_ragged_row(T, r) tokens. */
#define CTCD_BENCH_RAGGED_BATCHES 8
int ctcd_bench_ragged_len(int k, int cap);
int ctcd_bench_ragged_row(int T, int r);
void ctcd_bench_batch_free(ctcd_mlm_batch *mb);

#ifdef __cplusplus
}
#endif
#endif
