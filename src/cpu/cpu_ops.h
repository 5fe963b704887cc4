/* cpu_ops.h — the CPU reference backend's op implementations (fp32), one file per op
 * family, wired into the op table by cpu_backend.c. Contracts are those of
 * include/ctcd/backend.h; every pointer is host memory. */
#ifndef CTCD_CPU_OPS_H
#define CTCD_CPU_OPS_H

#include "ctcd/backend.h"

/* cpu_matmul.c */
ctcd_status cpu_matmul_fwd(ctcd_backend *be, void *out, void *pre, const void *inp,
                           const void *w, const void *bias, int64_t M, int K, int N,
                           ctcd_act act);
ctcd_status cpu_matmul_bwd(ctcd_backend *be, void *dinp, float *dw, float *dbias,
                           const void *dout, const void *inp, const void *w, int64_t M, int K,
                           int N, int accumulate_dinp);
/* cpu_gemm_fixed.c (train.deterministic): c (M×N, ldc) = [c +] op(A)·op(B), op(A)(i, k) =
 * a[i·ras + k·cas], op(B)(k, j) = b[k·rbs + j·cbs]; fixed summation order on every CPU. */
ctcd_status cpu_gemm_fixed(const float *a, int64_t ras, int64_t cas, const float *b,
                           int64_t rbs, int64_t cbs, float *c, int64_t ldc, int64_t M, int K,
                           int N, int accumulate);
/* cpu_elementwise.c */
ctcd_status cpu_gelu_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n);
ctcd_status cpu_gelu_bwd(ctcd_backend *be, void *dinp, const void *inp, const void *dout,
                         int64_t n);
ctcd_status cpu_tanh_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n);
ctcd_status cpu_tanh_bwd(ctcd_backend *be, void *dinp, const void *out, const void *dout,
                         int64_t n);
ctcd_status cpu_dropout_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n, float p,
                            ctcd_dropout_key key);
ctcd_status cpu_dropout_bwd(ctcd_backend *be, void *dinp, const void *dout, int64_t n, float p,
                            ctcd_dropout_key key);
/* cpu_layernorm.c */
ctcd_status cpu_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                              float *rstd, const void *inp, const void *residual,
                              const void *gamma, const void *beta, int64_t N, int C, float eps);
ctcd_status cpu_layernorm_bwd(ctcd_backend *be, void *dinp, float *dgamma, float *dbeta,
                              const void *dout, const void *s, const float *mean,
                              const float *rstd, const void *gamma, int64_t N, int C);
ctcd_status cpu_dropout_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                                      float *rstd, const void *inp, const void *residual,
                                      const void *gamma, const void *beta, int64_t N, int C,
                                      float eps, float p, ctcd_dropout_key key);
ctcd_status cpu_dropout_layernorm_bwd(ctcd_backend *be, void *dinp, void *dres, float *dgamma,
                                      float *dbeta, const void *dout, const void *s,
                                      const float *mean, const float *rstd, const void *gamma,
                                      int64_t N, int C, float p, ctcd_dropout_key key);
ctcd_status cpu_embedding_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out,
                                        float *mean, float *rstd, const int32_t *ids,
                                        const int32_t *type_ids, const void *wte,
                                        const void *wpe, const void *wtt, const void *gamma,
                                        const void *beta, int B, int T, int H, float eps,
                                        float p, ctcd_dropout_key key);
ctcd_status cpu_embedding_layernorm_bwd(ctcd_backend *be, float *dwte, float *dwpe,
                                        float *dwtt, float *dgamma, float *dbeta, void *dout,
                                        void *ds, const void *s, const float *mean,
                                        const float *rstd, const void *gamma,
                                        const int32_t *ids, const int32_t *type_ids, int B,
                                        int T, int H, float p, ctcd_dropout_key key);
/* cpu_attention.c */
size_t cpu_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH);
ctcd_status cpu_attention_fwd(ctcd_backend *be, void *out, void *aux, const void *qkv,
                              const int32_t *mask, int B, int T, int NH, int HD, float p,
                              ctcd_dropout_key key);
ctcd_status cpu_attention_bwd(ctcd_backend *be, void *dqkv, const void *dout, const void *qkv,
                              const void *aux, const int32_t *mask, int B, int T, int NH,
                              int HD, float p, ctcd_dropout_key key);
size_t cpu_attn_aux_bytes(ctcd_backend *be, const ctcd_attn_shape *s);
ctcd_status cpu_attn_fwd(ctcd_backend *be, void *out, void *aux, const void *q, const void *k,
                         const void *v, const int32_t *kmask, const ctcd_attn_shape *s,
                         float p, ctcd_dropout_key key);
ctcd_status cpu_attn_bwd(ctcd_backend *be, void *dq, void *dk, void *dv, const void *dout,
                         const void *q, const void *k, const void *v, const void *aux,
                         const int32_t *kmask, const ctcd_attn_shape *s, float p,
                         ctcd_dropout_key key);
/* cpu_mask.c */
ctcd_status cpu_unit_mask_fwd(ctcd_backend *be, void *out, const void *inp, const float *mask,
                              int64_t M, int G, int S);
ctcd_status cpu_unit_mask_bwd(ctcd_backend *be, void *dinp, float *dmask, const void *dout,
                              const void *inp, const float *mask, int64_t M, int G, int S);
/* cpu_embedding.c (also row gather/scatter) */
ctcd_status cpu_embedding_fwd(ctcd_backend *be, void *out, const int32_t *ids,
                              const int32_t *type_ids, const void *wte, const void *wpe,
                              const void *wtt, int B, int T, int H);
ctcd_status cpu_embedding_bwd(ctcd_backend *be, float *dwte, float *dwpe, float *dwtt,
                              const void *dout, const int32_t *ids, const int32_t *type_ids,
                              int B, int T, int H);
ctcd_status cpu_gather_rows(ctcd_backend *be, void *dst, const void *src, const int32_t *idx,
                            int64_t n, int C);
ctcd_status cpu_scatter_add_rows(ctcd_backend *be, void *dst, const void *src,
                                 const int32_t *idx, int64_t n, int C);
/* cpu_loss.c */
ctcd_status cpu_loss(ctcd_backend *be, const ctcd_loss_desc *desc, const ctcd_loss_io *io);
/* cpu_adamw.c */
ctcd_status cpu_grad_sumsq(ctcd_backend *be, float *sumsq, const float *grad, int64_t n);
ctcd_status cpu_adamw(ctcd_backend *be, float *master, void *compute, const float *grad,
                      float *m, float *v, int64_t n, int64_t n_decay, const float *sumsq,
                      const ctcd_adamw_hparams *h);

#endif
