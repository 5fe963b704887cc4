/* rationale_generate.c — greedy decoding with the rationale decoder, for inspection
 * (`ctcd explain`). Each step re-runs the teacher-forced forward over the prefix (no KV
 * cache: O(T²) work, fine for a handful of examples) and appends the argmax of the last
 * position's logits over every token but the start and padding tokens. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale.h"

static float act_to_f32(ctcd_dtype dt, const void *base, int64_t i) {
    if (dt == CTCD_BF16) return ctcd_bf16_to_f32(((const uint16_t *)base)[i]);
    return ((const float *)base)[i];
}

ctcd_status ctcd_rationale_generate(ctcd_rationale_decoder *d, const ctcd_model *emb,
                                    const void *enc, const int32_t *enc_mask, int B, int Te,
                                    int max_new, int32_t *out_ids, int *out_len) {
    ctcd_backend *be = d->be;
    if (B < 1 || B > d->B_max || max_new < 1 || max_new > d->T_max)
        return CTCD_ERR(CTCD_E_INVALID,
                        "rationale generate: B %d (capacity %d), max_new %d (capacity %d)", B,
                        d->B_max, max_new, d->T_max);
    const int V = ctcd_rationale_classes(d); /* head rows; token id = out_ids[v] if shortlisted */
    const size_t es = ctcd_dtype_size(be->act_dtype);
    int32_t *ids = malloc((size_t)B * max_new * sizeof *ids);
    int *done = calloc((size_t)B, sizeof *done);
    void *row = malloc((size_t)V * es);
    int32_t *d_ids = NULL;
    ctcd_status st = CTCD_OK;
    if (!ids || !done || !row) st = CTCD_ERR(CTCD_E_NOMEM, "rationale generate: out of memory");
    if (!st) st = be->alloc(be, (size_t)B * max_new * 4, "generation ids", (void **)&d_ids);
    for (int b = 0; b < B; b++) {
        out_len[b] = 0;
        for (int t = 0; t < max_new; t++) out_ids[(size_t)b * max_new + t] = -1;
    }
    int32_t *prefix = ids; /* (B, T) packed for the current T */
    int n_done = 0;
    for (int T = 1; !st && T <= max_new && n_done < B; T++) {
        /* prefix of row b: bos, then its generated tokens (pad once finished) */
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const int32_t g = t == 0 ? d->cfg.bos_id : out_ids[(size_t)b * max_new + t - 1];
                prefix[(size_t)b * T + t] = g >= 0 ? g : d->cfg.pad_id;
            }
        st = be->upload(be, d_ids, prefix, (size_t)B * T * 4);
        const ctcd_rat_batch_dev rb = {B, T, d_ids, NULL};
        if (!st) st = ctcd_rationale_forward(d, emb, enc, enc_mask, Te, &rb, 0, 0);
        for (int b = 0; !st && b < B; b++) {
            if (done[b]) continue;
            const size_t off = ((size_t)b * T + (size_t)(T - 1)) * (size_t)V * es;
            st = be->download(be, row, (const char *)d->acts.logits + off, (size_t)V * es);
            if (st) break;
            /* The start and padding tokens are never generated. */
            int best = -1;
            float bv = 0.0f;
            for (int v = 0; v < V; v++) {
                const int id = d->out_ids ? d->out_ids[v] : v;
                if (id == d->cfg.bos_id || id == d->cfg.pad_id) continue;
                const float x = act_to_f32(be->act_dtype, row, v);
                if (best < 0 || x > bv) {
                    bv = x;
                    best = id;
                }
            }
            if (best == d->cfg.eos_id) {
                done[b] = 1;
                n_done++;
            } else {
                out_ids[(size_t)b * max_new + out_len[b]++] = best;
                if (out_len[b] == max_new) {
                    done[b] = 1;
                    n_done++;
                }
            }
        }
    }
    if (d_ids) be->free(be, d_ids);
    free(ids);
    free(done);
    free(row);
    return st;
}
