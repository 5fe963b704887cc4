/* backend.h — the op table every compute backend implements.
 *
 * The model graph (src/model/) and the trainer call only these functions; they never know
 * whether the CPU reference (fp32, src/cpu/) or the CUDA backend (bf16 compute, cuda/) runs
 * them. Conventions shared by every op:
 *
 *  - "act" buffers (activations, compute copies of parameters, logits and their gradients)
 *    have dtype be->act_dtype: F32 on the CPU, BF16 (or F32 in fp32 mode) on CUDA.
 *  - Parameter gradients, master weights, optimizer moments, LayerNorm statistics and loss
 *    values are always F32.
 *  - All pointers are backend memory (be->alloc). Matrices are row-major.
 *  - Parameter gradients are ACCUMULATED (+=), so the trainer zeroes them once per step and
 *    micro-batches add up. Input gradients are WRITTEN unless an `accumulate` flag says
 *    otherwise.
 *  - Linear layers follow PyTorch: weight w is (N, K) = (out_features, in_features) and
 *    y = x · wᵀ + b.
 *  - Ops are asynchronous on backends that can be (CUDA); `sync` waits. Host-visible
 *    results only come back through `download`.
 *
 * Shape letters: B batch, T sequence length, H hidden, NH heads, HD head dim, C classes. */
#ifndef CTCD_BACKEND_H
#define CTCD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/rng.h"
#include "ctcd/status.h"
#include "ctcd/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctcd_act { CTCD_ACT_NONE = 0, CTCD_ACT_GELU } ctcd_act;

typedef enum ctcd_loss_kind {
    CTCD_LOSS_CE_KL = 0, /* classification: cross-entropy + temperature KL to the peer */
    CTCD_LOSS_MSE        /* regression (C == 1): MSE to the label + MSE to the peer */
} ctcd_loss_kind;

/* Index of each value in the loss op's `terms` output (F32[CTCD_LOSS_NTERMS]). For model m
 * (0 = first / "large", 1 = second / "small"):
 *   hard[m]    mean over labelled rows of CE(z_m, y)            (or (z_m - y)²)
 *   mutual[m]  mean over rows of T²·KL(p_peer ‖ p_m)            (or (z_m - z_peer)²)
 *   teacher[m] mean over rows of T²·KL(p_teacher ‖ p_m)         (or (z_m - z_teacher)²);
 *              0 without a teacher
 *   total[m]   hard_w[m]·hard[m] + mutual_w[m]·mutual[m] + teacher_w[m]·teacher[m]
 *   correct[m] number of rows whose argmax equals the label (classification only)  */
enum {
    CTCD_TERM_HARD0 = 0, CTCD_TERM_HARD1,
    CTCD_TERM_MUTUAL0, CTCD_TERM_MUTUAL1,
    CTCD_TERM_TOTAL0, CTCD_TERM_TOTAL1,
    CTCD_TERM_CORRECT0, CTCD_TERM_CORRECT1,
    CTCD_TERM_TEACHER0, CTCD_TERM_TEACHER1,
    CTCD_LOSS_NTERMS
};

/* The fused lockstep loss. One pass over the logits of both models computes every term
 * and writes both logit gradients. With n_models == 1 only index 0 is used and the mutual
 * term is 0. Peer distributions are constants (stop-gradient): the term that uses model
 * j's output as a target sends no gradient into model j. An optional frozen teacher
 * (io.teacher, same shape) is a third constant target with its own weight per model
 * ("community" KD, DESIGN.md section 1).
 *
 *   CE_KL: dz_m = hard_w[m]·(softmax(z_m) − onehot(y))/n_labelled
 *               + mutual_w[m]·T·(softmax(z_m/T) − softmax(z_peer/T))/rows
 *               + teacher_w[m]·T·(softmax(z_m/T) − softmax(z_teacher/T))/rows
 *   MSE:   dz_m = hard_w[m]·2(z_m − y)/n_labelled + mutual_w[m]·2(z_m − z_peer)/rows
 *               + teacher_w[m]·2(z_m − z_teacher)/rows
 *
 * Rows with label < 0 (CE) or a NaN target (MSE) have no hard loss; n_labelled counts the
 * rest (the hard term is 0 when it is 0). With soft_labelled_only (CE_KL only) the mutual and
 * teacher terms also skip those rows and are averaged over n_labelled instead of rows: the
 * token-level KL between two decoders, whose padding positions are unlabelled.
 * A label >= C is an error ("loss: label L of row R outside C classes", the first such row):
 * the CPU returns it from `loss`; an asynchronous backend (CUDA) returns it from the next
 * `download` or `sync`, as a device fault would surface. */
/* The largest shapes a model will hand the ops (ctcd_backend.reserve). */
typedef struct ctcd_reserve_hint {
    int64_t rows; /* most rows at once: tokens of the largest batch (B·T) */
    int64_t cols; /* widest row of a linear layer's output or a LayerNorm: hidden, FFN width,
                     classes or the vocabulary of a masked-LM head */
    int heads;    /* most attention heads of a layer */
} ctcd_reserve_hint;

typedef struct ctcd_loss_desc {
    ctcd_loss_kind kind;
    int n_models;        /* 1 or 2 */
    int64_t rows;
    int classes;         /* C; 1 for MSE */
    float temperature;   /* T > 0 (CE_KL only) */
    float hard_w[2];
    float mutual_w[2];   /* mutual_w[0] = small_to_large, mutual_w[1] = large_to_small */
    float teacher_w[2];  /* weight of each model's KL to the teacher (needs io.teacher) */
    int soft_labelled_only; /* 1: KL terms over labelled rows only, mean over n_labelled */
} ctcd_loss_desc;

/* The checks every backend's `loss` makes first (src/core/loss_desc.c): 1 or 2 models, at
 * least one row and one class, one output for MSE, T > 0 for CE_KL. The error says which
 * ("loss: bad shape (models M, rows R, classes C)", "loss: MSE needs one output, got C",
 * "loss: temperature must be > 0 (got T)"). Labels are the op's to check (see above). */
ctcd_status ctcd_loss_desc_check(const ctcd_loss_desc *d);

typedef struct ctcd_loss_io {
    const void *logits[2];  /* act[rows, C] */
    void *dlogits[2];       /* act[rows, C], written; NULL = no gradient for that model */
    const void *teacher;    /* act[rows, C] logits of a frozen teacher, or NULL */
    const int32_t *labels;  /* [rows] class ids (CE_KL) */
    const float *targets;   /* [rows] regression targets (MSE) */
    float *terms;           /* F32[CTCD_LOSS_NTERMS], written */
} ctcd_loss_io;

typedef struct ctcd_adamw_hparams {
    float lr, beta1, beta2, eps, weight_decay;
    int64_t step;      /* 1-based, for bias correction */
    float max_norm;    /* clip the global grad norm to this (<= 0: no clipping) */
} ctcd_adamw_hparams;

/* Shape of a general attention call (attn_fwd / attn_bwd). Element d of head h of token t
 * in batch row b sits at q[(b·Tq + t)·q_stride + h·HD + d], and likewise for k and v with
 * Tk and kv_stride (k and v may be two halves of one fused row). With causal, query i sees
 * only keys j <= i (decoder self-attention; needs Tq == Tk). Scores are scaled by
 * 1/sqrt(HD); a query with no visible key outputs zeros. */
typedef struct ctcd_attn_shape {
    int B, Tq, Tk, NH, HD;
    int64_t q_stride;   /* elements between consecutive query rows (>= NH·HD) */
    int64_t kv_stride;  /* elements between consecutive key (and value) rows (>= NH·HD) */
    int causal;         /* 1: key j visible to query i only if j <= i */
} ctcd_attn_shape;

typedef struct ctcd_backend ctcd_backend;

struct ctcd_backend {
    const char *name;       /* "cpu", "cuda" */
    const char *device_name; /* the device as its driver names it ("NVIDIA H200"), "cpu" for
                              * the CPU backend; may be NULL (benchmarks pick peaks from it) */
    ctcd_device device;
    ctcd_dtype act_dtype;
    /* train.deterministic, set by whoever creates the backend for a run: results that do not
     * depend on the machine's CPU model (the CPU backend's GEMM is then its own fixed-order
     * one, src/cpu/cpu_gemm_fixed.c, instead of OpenBLAS's per-CPU kernels). */
    int deterministic;
    void *impl;             /* backend private state */

    void (*destroy)(ctcd_backend *be);

    /* ---- memory ---- */
    ctcd_status (*alloc)(ctcd_backend *be, size_t bytes, const char *what, void **out);
    void (*free)(ctcd_backend *be, void *p);
    ctcd_status (*upload)(ctcd_backend *be, void *dst, const void *host_src, size_t bytes);
    ctcd_status (*download)(ctcd_backend *be, void *host_dst, const void *src, size_t bytes);
    ctcd_status (*memzero)(ctcd_backend *be, void *p, size_t bytes);
    /* dst[n] (dst_dt) = src[n] (src_dt); F32 <-> BF16 <-> F32 and same-type copies. */
    ctcd_status (*cast)(ctcd_backend *be, void *dst, ctcd_dtype dst_dt, const void *src,
                        ctcd_dtype src_dt, int64_t n);
    ctcd_status (*sync)(ctcd_backend *be);
    /* Streams, one per model (DESIGN.md section 4): ops run in issue order on the current
     * stream. stream_fork(lane), lane 1..3, makes that lane's stream current; its work starts
     * after everything issued before on the main stream and may overlap the other lanes'.
     * stream_join makes the main stream current again, ordered after all work issued on every
     * lane (sync waits for every lane). The caller keeps work on two lanes independent (one
     * model per lane). NULL on backends that run ops in order (the CPU); use
     * ctcd_stream_fork / ctcd_stream_join. */
    ctcd_status (*stream_fork)(ctcd_backend *be, int lane);
    ctcd_status (*stream_join)(ctcd_backend *be);
    /* Profiler ranges around phases of the step (NVTX on CUDA: "step", "fwd/large", "loss",
     * ...). NULL when the backend has no profiler; use ctcd_range_push/pop. */
    void (*range_push)(ctcd_backend *be, const char *name);
    void (*range_pop)(ctcd_backend *be);
    /* Device memory in use (by every process and the driver) and in total, in bytes; NULL
     * on backends whose memory is the host's (the CPU: see getrusage's peak RSS). */
    ctcd_status (*mem_info)(ctcd_backend *be, size_t *used, size_t *total);
    /* Allocates now the working memory ops of these sizes will need (CUDA: each lane's op
     * scratch), so that no step allocates; a later op larger than every reservation still
     * works (it grows the scratch, with a device-wide wait). Called by every model's
     * creation with its largest shape. NULL on backends that need none (the CPU). */
    ctcd_status (*reserve)(ctcd_backend *be, const ctcd_reserve_hint *h);

    /* ---- linear layers ----
     * out[M,N] = act(inp[M,K] · w[N,K]ᵀ + bias[N]). bias may be NULL. With act == GELU,
     * pre (if not NULL) receives the pre-activation, which gelu_bwd needs. */
    ctcd_status (*matmul_fwd)(ctcd_backend *be, void *out, void *pre, const void *inp,
                              const void *w, const void *bias, int64_t M, int K, int N,
                              ctcd_act act);
    /* dinp[M,K] = dout[M,N] · w (or += when accumulate_dinp); dw[N,K] += doutᵀ · inp;
     * dbias[N] += Σ_rows dout. Any of dinp, dw, dbias may be NULL. */
    ctcd_status (*matmul_bwd)(ctcd_backend *be, void *dinp, float *dw, float *dbias,
                              const void *dout, const void *inp, const void *w, int64_t M,
                              int K, int N, int accumulate_dinp);

    /* ---- elementwise ---- GELU is the exact erf form: x·Φ(x). */
    ctcd_status (*gelu_fwd)(ctcd_backend *be, void *out, const void *inp, int64_t n);
    /* dinp = dout · GELU'(inp); inp is the pre-activation. dinp may alias dout. */
    ctcd_status (*gelu_bwd)(ctcd_backend *be, void *dinp, const void *inp, const void *dout,
                            int64_t n);
    ctcd_status (*tanh_fwd)(ctcd_backend *be, void *out, const void *inp, int64_t n);
    /* dinp = dout · (1 − out²); out is tanh's output. dinp may alias dout. */
    ctcd_status (*tanh_bwd)(ctcd_backend *be, void *dinp, const void *out, const void *dout,
                            int64_t n);
    /* Inverted dropout: out = inp · keep / (1 − p), keep = uniform(key, i) >= p. p == 0 is a
     * copy. out may alias inp. The mask is recomputed from the key in backward. */
    ctcd_status (*dropout_fwd)(ctcd_backend *be, void *out, const void *inp, int64_t n,
                               float p, ctcd_dropout_key key);
    ctcd_status (*dropout_bwd)(ctcd_backend *be, void *dinp, const void *dout, int64_t n,
                               float p, ctcd_dropout_key key);

    /* ---- LayerNorm with fused residual ----
     * s = inp + residual (residual may be NULL); out = (s − mean)·rstd·gamma + beta over
     * the last dim C; mean/rstd F32[N] are saved. If sum_out != NULL it receives s, which
     * layernorm_bwd needs (when residual == NULL, inp itself can be kept instead). */
    ctcd_status (*layernorm_fwd)(ctcd_backend *be, void *out, void *sum_out, float *mean,
                                 float *rstd, const void *inp, const void *residual,
                                 const void *gamma, const void *beta, int64_t N, int C,
                                 float eps);
    /* dinp[N,C] = ∂L/∂s (written; it is the gradient of both inp and residual);
     * dgamma, dbeta += . */
    ctcd_status (*layernorm_bwd)(ctcd_backend *be, void *dinp, float *dgamma, float *dbeta,
                                 const void *dout, const void *s, const float *mean,
                                 const float *rstd, const void *gamma, int64_t N, int C);

    /* ---- residual + dropout + LayerNorm (the output of a post-LN sublayer) ----
     * s = dropout(inp; p, key) + residual; out = LN(s) as layernorm_fwd; s is written to
     * sum_out (required: backward needs it); mean/rstd F32[N]. inp is not modified.
     * The result is that of dropout_fwd into a temporary followed by layernorm_fwd (the CPU
     * backend computes exactly that composition, bit for bit); CUDA fuses both into one
     * kernel that draws the same Philox mask (element i of the site is flat index
     * row·C + col). p == 0 is layernorm_fwd. residual may be NULL; out aliases neither inp
     * nor residual. */
    ctcd_status (*dropout_layernorm_fwd)(ctcd_backend *be, void *out, void *sum_out,
                                         float *mean, float *rstd, const void *inp,
                                         const void *residual, const void *gamma,
                                         const void *beta, int64_t N, int C, float eps,
                                         float p, ctcd_dropout_key key);
    /* ds = ∂L/∂s from LayerNorm's backward is written to dres (the residual's gradient) and
     * dinp = dropout_bwd(ds) (the gradient of inp, the mask recomputed from the key);
     * dgamma, dbeta += as layernorm_bwd. dinp, dres and dout are three distinct buffers
     * (the CPU reference is layernorm_bwd into dres, then dropout_bwd from dres into dinp). */
    ctcd_status (*dropout_layernorm_bwd)(ctcd_backend *be, void *dinp, void *dres,
                                         float *dgamma, float *dbeta, const void *dout,
                                         const void *s, const float *mean, const float *rstd,
                                         const void *gamma, int64_t N, int C, float p,
                                         ctcd_dropout_key key);

    /* ---- multi-head self-attention ----
     * qkv act[B,T,3,NH,HD] (q, k, v of a token contiguous, as produced by one fused
     * projection whose weight rows are Wq | Wk | Wv); mask I32[B,T] (1 = real token,
     * 0 = padding: such keys get probability 0). out act[B,T,NH,HD] = context.
     * Scores are scaled by 1/sqrt(HD); attention-probability dropout p with key.
     * aux is backend-specific saved state of attention_aux_bytes(B,T,NH) bytes. */
    size_t (*attention_aux_bytes)(ctcd_backend *be, int B, int T, int NH);
    ctcd_status (*attention_fwd)(ctcd_backend *be, void *out, void *aux, const void *qkv,
                                 const int32_t *mask, int B, int T, int NH, int HD, float p,
                                 ctcd_dropout_key key);
    /* dqkv act[B,T,3,NH,HD] written. */
    ctcd_status (*attention_bwd)(ctcd_backend *be, void *dqkv, const void *dout,
                                 const void *qkv, const void *aux, const int32_t *mask,
                                 int B, int T, int NH, int HD, float p,
                                 ctcd_dropout_key key);

    /* ---- general multi-head attention (the rationale decoder, rationale.h) ----
     * The op above is the special case q = qkv, k = qkv + A, v = qkv + 2A, row strides 3A,
     * Tq = Tk = T, causal 0; both backends run it through the same code, so the encoder path
     * is unchanged bit for bit. Here q, k, v are separate pointers with their own row
     * strides (see ctcd_attn_shape): decoder self-attention passes a fused qkv with
     * causal = 1; cross-attention passes q from the decoder and k, v from a fused (Tk, 2A)
     * projection of the encoder output, with the encoder's padding mask.
     * kmask I32[B,Tk] (1 = real key) or NULL (every key real). out act[B,Tq,NH,HD].
     * Dropout element (b, h, i, j) uses Philox index ((b·NH + h)·Tq + i)·Tk + j.
     * aux is backend-specific saved state of attn_aux_bytes(shape) bytes. */
    size_t (*attn_aux_bytes)(ctcd_backend *be, const ctcd_attn_shape *s);
    ctcd_status (*attn_fwd)(ctcd_backend *be, void *out, void *aux, const void *q,
                            const void *k, const void *v, const int32_t *kmask,
                            const ctcd_attn_shape *s, float p, ctcd_dropout_key key);
    /* dq, dk, dv: act with the strides of q, k, v; only the NH·HD head columns of each row
     * are written (the rest of a fused row is left alone), and they are WRITTEN, not
     * accumulated. dq may share a fused buffer with dk and dv (self-attention). */
    ctcd_status (*attn_bwd)(ctcd_backend *be, void *dq, void *dk, void *dv, const void *dout,
                            const void *q, const void *k, const void *v, const void *aux,
                            const int32_t *kmask, const ctcd_attn_shape *s, float p,
                            ctcd_dropout_key key);

    /* ---- unit masks (head / FFN-neuron importance, Michel et al. 2019) ----
     * inp, out act[M, G, S]: out[m,g,s] = inp[m,g,s] · mask[g], mask F32[G]. G groups of S
     * contiguous elements per row: the heads of an attention context (G = NH, S = HD) or
     * the neurons of an FFN activation (G = I, S = 1). out may alias inp. A mask of ones
     * gives out == inp bitwise. */
    ctcd_status (*unit_mask_fwd)(ctcd_backend *be, void *out, const void *inp,
                                 const float *mask, int64_t M, int G, int S);
    /* dmask[g] += Σ_{m,s} dout[m,g,s] · inp[m,g,s] (inp is the UNMASKED input; the sum is
     * in a fixed order: deterministic); dinp = dout · mask[g] (written; may alias dout).
     * dmask may be NULL. */
    ctcd_status (*unit_mask_bwd)(ctcd_backend *be, void *dinp, float *dmask, const void *dout,
                                 const void *inp, const float *mask, int64_t M, int G, int S);

    /* ---- embeddings ----
     * out[B,T,H] = wte[ids] + wpe[t] + wtt[type_ids]  (position t = 0..T−1). Every id must
     * be in range (the batcher checks). */
    ctcd_status (*embedding_fwd)(ctcd_backend *be, void *out, const int32_t *ids,
                                 const int32_t *type_ids, const void *wte, const void *wpe,
                                 const void *wtt, int B, int T, int H);
    /* dwte, dwpe, dwtt F32 += (scatter-add of dout). */
    ctcd_status (*embedding_bwd)(ctcd_backend *be, float *dwte, float *dwpe, float *dwtt,
                                 const void *dout, const int32_t *ids,
                                 const int32_t *type_ids, int B, int T, int H);

    /* ---- embedding sum + LayerNorm + dropout (the embedding block) ----
     * s[B,T,H] = wte[ids] + wpe[t] + wtt[type_ids] as embedding_fwd, written to sum_out
     * (required: backward needs it); out = dropout(LN(s); p, key); mean/rstd F32[B·T]. The
     * result is embedding_fwd, layernorm_fwd and dropout_fwd in sequence (the CPU backend
     * computes exactly that, bit for bit); CUDA gathers, sums and normalises each row in one
     * kernel. */
    ctcd_status (*embedding_layernorm_fwd)(ctcd_backend *be, void *out, void *sum_out,
                                           float *mean, float *rstd, const int32_t *ids,
                                           const int32_t *type_ids, const void *wte,
                                           const void *wpe, const void *wtt, const void *gamma,
                                           const void *beta, int B, int T, int H, float eps,
                                           float p, ctcd_dropout_key key);
    /* The block's backward: dy = dropout_bwd(dout); ds = LayerNorm's backward of dy (written
     * to ds, act[B,T,H] scratch); dgamma, dbeta += as layernorm_bwd; dwte, dwpe, dwtt += the
     * scatter of ds as embedding_bwd. dout act[B,T,H] may be overwritten (the CPU applies the
     * dropout in place). */
    ctcd_status (*embedding_layernorm_bwd)(ctcd_backend *be, float *dwte, float *dwpe,
                                           float *dwtt, float *dgamma, float *dbeta, void *dout,
                                           void *ds, const void *s, const float *mean,
                                           const float *rstd, const void *gamma,
                                           const int32_t *ids, const int32_t *type_ids, int B,
                                           int T, int H, float p, ctcd_dropout_key key);

    /* ---- row gather / scatter (the [CLS] rows for the pooler; masked rows for MLM) ----
     * dst[n,C] = src[idx[i], :]. */
    ctcd_status (*gather_rows)(ctcd_backend *be, void *dst, const void *src,
                               const int32_t *idx, int64_t n, int C);
    /* dst[idx[i], :] += src[i, :]  (indices may repeat). */
    ctcd_status (*scatter_add_rows)(ctcd_backend *be, void *dst, const void *src,
                                    const int32_t *idx, int64_t n, int C);

    /* ---- fused lockstep loss (see ctcd_loss_desc) ---- */
    ctcd_status (*loss)(ctcd_backend *be, const ctcd_loss_desc *desc, const ctcd_loss_io *io);

    /* ---- optimizer ----
     * sumsq F32[1] = Σ g² over n gradients (written). */
    ctcd_status (*grad_sumsq)(ctcd_backend *be, float *sumsq, const float *grad, int64_t n);
    /* One AdamW step (PyTorch semantics, decoupled weight decay) over a flat buffer:
     *   scale = max_norm > 0 ? min(1, max_norm / (sqrt(*sumsq) + 1e-6)) : 1
     *   g = scale·grad; p −= lr·wd·p (only for i < n_decay); m, v updated;
     *   p −= lr · m̂ / (sqrt(v̂) + eps).
     * master F32[n] is updated; compute (act dtype, may be NULL when it is master itself)
     * receives the new values. sumsq may be NULL when max_norm <= 0. */
    ctcd_status (*adamw)(ctcd_backend *be, float *master, void *compute, const float *grad,
                         float *m, float *v, int64_t n, int64_t n_decay,
                         const float *sumsq, const ctcd_adamw_hparams *h);
};

static inline void ctcd_range_push(ctcd_backend *be, const char *name) {
    if (be->range_push) be->range_push(be, name);
}
static inline void ctcd_range_pop(ctcd_backend *be) {
    if (be->range_pop) be->range_pop(be);
}
static inline ctcd_status ctcd_stream_fork(ctcd_backend *be, int lane) {
    return be->stream_fork ? be->stream_fork(be, lane) : CTCD_OK;
}
static inline ctcd_status ctcd_stream_join(ctcd_backend *be) {
    return be->stream_join ? be->stream_join(be) : CTCD_OK;
}


#ifdef __cplusplus
}
#endif
#endif
