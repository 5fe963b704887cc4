/* bert_graph.h — internal helpers shared by the BERT forward and backward passes. */
#ifndef CTCD_BERT_GRAPH_H
#define CTCD_BERT_GRAPH_H

#include "ctcd/model.h"

/* Dropout sites of one step (the op byte of ctcd_dropout_site). */
enum { SITE_EMB = 0, SITE_ATTN_PROBS = 1, SITE_ATTN_OUT = 2, SITE_FFN_OUT = 3, SITE_POOLER = 4 };

/* Pointer to element `off` of a flat act-dtype buffer. */
static inline void *bert_at(const ctcd_model *m, void *base, int64_t off) {
    return (char *)base + (size_t)off * ctcd_dtype_size(m->be->act_dtype);
}
/* Compute-copy parameter at offset off. */
static inline void *bert_w(const ctcd_model *m, int64_t off) {
    return bert_at(m, m->ps.params, off);
}
/* F32 gradient at offset off. */
static inline float *bert_g(const ctcd_model *m, int64_t off) { return m->ps.grads + off; }

static inline ctcd_dropout_key bert_key(const ctcd_model *m, int64_t step, int layer, int op) {
    ctcd_dropout_key k = {m->dropout_seed, ctcd_dropout_site((uint64_t)step, (uint32_t)layer,
                                                             (uint32_t)op)};
    return k;
}

/* The head (bert_head.c): validates the batch for it, runs it forward from h_L into
 * acts.logits, and backward from acts.dlogits into acts.dh (written in full). */
ctcd_status bert_head_check(const ctcd_model *m, const ctcd_batch_dev *b);
ctcd_status bert_head_fwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid, int64_t step);
ctcd_status bert_head_bwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid, int64_t step);

#endif
