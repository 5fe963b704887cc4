/* prune.c — structured pruning and layer dropping of a BERT model in memory
 * (include/ctcd/surgery.h): choosing the surviving heads / FFN neurons from importance scores
 * and building the smaller model from the source's parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/surgery.h"

int64_t ctcd_bert_layer_params(const ctcd_bert_config *c, int l) {
    const int64_t H = c->hidden, A = (int64_t)c->layer_heads[l] * c->head_dim;
    const int64_t I = c->layer_intermediate[l];
    return 3 * (A * H + A) + (H * A + H) + 2 * H + (I * H + I) + (H * I + H) + 2 * H;
}

void ctcd_prune_plan_free(ctcd_prune_plan *plan) {
    free(plan->keep_head);
    free(plan->keep_ffn);
    plan->keep_head = plan->keep_ffn = NULL;
}

/* One prunable unit in the global ranking. */
typedef struct unit {
    double score;
    int64_t index; /* flat unit index in the source */
    int layer;     /* source layer */
} unit;

static int unit_cmp(const void *a, const void *b) {
    const unit *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Removes round(sparsity · units of the kept layers) units of one kind, lowest normalised
 * score first, never the last unit of a layer. width[l]: units of layer l; off[l]: its first
 * flat index; keep[] is set to 1 for kept layers' units beforehand and cleared here. */
static ctcd_status prune_kind(const ctcd_bert_config *c, const int *layer_kept,
                              const int *width, const int64_t *off, const float *score,
                              ctcd_score_norm norm, float sparsity, unsigned char *keep,
                              int *left) {
    int64_t n = 0;
    for (int l = 0; l < c->n_layers; l++) n += layer_kept[l] ? width[l] : 0;
    unit *u = malloc((size_t)(n ? n : 1) * sizeof *u);
    if (!u) return CTCD_ERR(CTCD_E_NOMEM, "out of memory ranking %lld units", (long long)n);
    int64_t k = 0;
    for (int l = 0; l < c->n_layers; l++) {
        left[l] = layer_kept[l] ? width[l] : 0;
        if (!layer_kept[l]) continue;
        double norm2 = 0.0;
        for (int i = 0; score && i < width[l]; i++)
            norm2 += (double)score[off[l] + i] * score[off[l] + i];
        const double scale = norm == CTCD_SCORE_LAYER_L2 && norm2 > 0.0 ? 1.0 / sqrt(norm2) : 1.0;
        for (int i = 0; i < width[l]; i++) {
            /* Without scores, rank by position so that the last units go first. */
            u[k].score = score ? scale * score[off[l] + i] : -(double)(off[l] + i);
            u[k].index = off[l] + i;
            u[k].layer = l;
            k++;
        }
    }
    qsort(u, (size_t)n, sizeof *u, unit_cmp);
    const int64_t target = (int64_t)floor((double)sparsity * (double)n + 0.5);
    int64_t removed = 0;
    for (int64_t i = 0; i < n && removed < target; i++) {
        if (left[u[i].layer] <= 1) continue;
        keep[u[i].index] = 0;
        left[u[i].layer]--;
        removed++;
    }
    free(u);
    return CTCD_OK;
}

static ctcd_status check_spec(const ctcd_bert_config *src, const ctcd_prune_spec *spec,
                              int *layer_kept) {
    if (!(spec->sparsity >= 0.0f && spec->sparsity < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "prune: sparsity must be in [0, 1) (got %g)",
                        (double)spec->sparsity);
    if (spec->norm != CTCD_SCORE_LAYER_L2 && spec->norm != CTCD_SCORE_RAW)
        return CTCD_ERR(CTCD_E_INVALID, "prune: unknown score normalisation %d", spec->norm);
    if (spec->n_drop < 0 || spec->n_drop > CTCD_MAX_LAYERS)
        return CTCD_ERR(CTCD_E_INVALID, "prune: %d layers to drop", spec->n_drop);
    for (int l = 0; l < src->n_layers; l++) layer_kept[l] = 1;
    int kept = src->n_layers;
    for (int i = 0; i < spec->n_drop; i++) {
        const int l = spec->drop[i];
        if (l < 0 || l >= src->n_layers)
            return CTCD_ERR(CTCD_E_INVALID, "prune: cannot drop layer %d: the model has layers "
                            "0..%d", l, src->n_layers - 1);
        if (!layer_kept[l])
            return CTCD_ERR(CTCD_E_INVALID, "prune: layer %d is listed twice", l);
        layer_kept[l] = 0;
        kept--;
    }
    if (kept < 1)
        return CTCD_ERR(CTCD_E_INVALID, "prune: dropping all %d layers leaves no encoder",
                        src->n_layers);
    return CTCD_OK;
}

ctcd_status ctcd_prune_plan_make(const ctcd_bert_config *src, const float *head_score,
                                 const float *ffn_score, const ctcd_prune_spec *spec,
                                 ctcd_prune_plan *plan) {
    memset(plan, 0, sizeof *plan);
    CTCD_TRY(ctcd_bert_config_validate(src, "prune"));
    int layer_kept[CTCD_MAX_LAYERS];
    CTCD_TRY(check_spec(src, spec, layer_kept));
    int64_t hoff[CTCD_MAX_LAYERS], foff[CTCD_MAX_LAYERS];
    ctcd_bert_unit_offsets(src, hoff, foff, &plan->n_head_src, &plan->n_ffn_src);
    plan->keep_head = malloc((size_t)plan->n_head_src);
    plan->keep_ffn = malloc((size_t)plan->n_ffn_src);
    if (!plan->keep_head || !plan->keep_ffn) {
        ctcd_prune_plan_free(plan);
        return CTCD_ERR(CTCD_E_NOMEM, "prune: out of memory");
    }
    for (int l = 0; l < src->n_layers; l++) {
        memset(plan->keep_head + hoff[l], layer_kept[l], (size_t)src->layer_heads[l]);
        memset(plan->keep_ffn + foff[l], layer_kept[l], (size_t)src->layer_intermediate[l]);
    }
    int heads_left[CTCD_MAX_LAYERS], ffn_left[CTCD_MAX_LAYERS];
    ctcd_status st = prune_kind(src, layer_kept, src->layer_heads, hoff, head_score, spec->norm,
                                spec->sparsity, plan->keep_head, heads_left);
    if (!st)
        st = prune_kind(src, layer_kept, src->layer_intermediate, foff, ffn_score, spec->norm,
                        spec->sparsity, plan->keep_ffn, ffn_left);
    if (st) {
        ctcd_prune_plan_free(plan);
        return st;
    }
    ctcd_bert_config *c = &plan->cfg;
    *c = *src;
    int n = 0;
    for (int l = 0; l < src->n_layers; l++) {
        if (!layer_kept[l]) continue;
        plan->src_layer[n] = l;
        c->layer_heads[n] = heads_left[l];
        c->layer_intermediate[n] = ffn_left[l];
        n++;
    }
    for (int l = n; l < CTCD_MAX_LAYERS; l++) c->layer_heads[l] = c->layer_intermediate[l] = 0;
    c->n_layers = n;
    return ctcd_bert_config_validate(c, "pruned model");
}

/* ---- building the pruned model ---- */

/* The kept indices of a unit range: idx[] receives k positions within [0, n). */
static int kept_list(const unsigned char *keep, int n, int *idx) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (keep[i]) idx[k++] = i;
    return k;
}

/* dst (k·group rows of len) = the kept groups of src's rows. */
static void copy_rows(float *dst, const float *src, const int *idx, int k, int group,
                      int64_t len) {
    for (int j = 0; j < k; j++)
        memcpy(dst + (int64_t)j * group * len, src + (int64_t)idx[j] * group * len,
               (size_t)(group * len) * sizeof *dst);
}

/* dst (rows, k·group) = the kept column groups of src (rows, cols). */
static void copy_cols(float *dst, const float *src, int64_t rows, int64_t cols, const int *idx,
                      int k, int group) {
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < k; j++)
            memcpy(dst + r * k * group + (int64_t)j * group,
                   src + r * cols + (int64_t)idx[j] * group, (size_t)group * sizeof *dst);
}

static void copy_layer(const ctcd_model *src, const ctcd_model *dst, const ctcd_prune_plan *p,
                       int l, const float *hs, float *hd, int *idx) {
    const int s = p->src_layer[l];
    const ctcd_bert_config *cs = &src->cfg;
    const ctcd_layer_offsets *os = &src->lay.layer[s], *od = &dst->lay.layer[l];
    const int64_t H = cs->hidden, HD = cs->head_dim;
    const int64_t As = cs->layer_heads[s] * HD, Is = cs->layer_intermediate[s];
    const int kh = kept_list(p->keep_head + src->head_off[s], cs->layer_heads[s], idx);
    const int64_t Ad = kh * HD;
    for (int q = 0; q < 3; q++) { /* query | key | value blocks */
        copy_rows(hd + od->qkv_w + q * Ad * H, hs + os->qkv_w + q * As * H, idx, kh, (int)HD, H);
        copy_rows(hd + od->qkv_b + q * Ad, hs + os->qkv_b + q * As, idx, kh, (int)HD, 1);
    }
    copy_cols(hd + od->ao_w, hs + os->ao_w, H, As, idx, kh, (int)HD);
    const int ki = kept_list(p->keep_ffn + src->ffn_off[s], (int)Is, idx);
    copy_rows(hd + od->fc1_w, hs + os->fc1_w, idx, ki, 1, H);
    copy_rows(hd + od->fc1_b, hs + os->fc1_b, idx, ki, 1, 1);
    copy_cols(hd + od->fc2_w, hs + os->fc2_w, H, Is, idx, ki, 1);
    const int64_t hvec[6][2] = {{od->ao_b, os->ao_b},   {od->ln1_g, os->ln1_g},
                                {od->ln1_b, os->ln1_b}, {od->fc2_b, os->fc2_b},
                                {od->ln2_g, os->ln2_g}, {od->ln2_b, os->ln2_b}};
    for (int v = 0; v < 6; v++) memcpy(hd + hvec[v][0], hs + hvec[v][1], (size_t)H * sizeof *hd);
}

/* Everything outside the encoder layers (embeddings, pooler, heads) by name. */
static ctcd_status copy_outside(const ctcd_model *src, const ctcd_model *dst, const float *hs,
                                float *hd) {
    static const char prefix[] = "bert.encoder.layer.";
    for (int i = 0; i < dst->lay.n_params; i++) {
        const ctcd_param_info *d = &dst->lay.params[i];
        if (strncmp(d->name, prefix, sizeof prefix - 1) == 0) continue;
        const ctcd_param_info *s = ctcd_model_layout_find(&src->lay, d->name);
        if (!s || s->numel != d->numel)
            return CTCD_ERR(CTCD_E_INVALID, "prune: %s differs between source and pruned model",
                            d->name);
        memcpy(hd + d->offset, hs + s->offset, (size_t)d->numel * sizeof *hd);
    }
    return CTCD_OK;
}

static ctcd_status check_plan(const ctcd_model *src, const ctcd_prune_plan *p) {
    if (p->n_head_src != src->n_head_units || p->n_ffn_src != src->n_ffn_units)
        return CTCD_ERR(CTCD_E_INVALID, "prune: the plan was made for another model (%lld heads,"
                        " %lld neurons; %s has %lld, %lld)", (long long)p->n_head_src,
                        (long long)p->n_ffn_src, src->name, (long long)src->n_head_units,
                        (long long)src->n_ffn_units);
    for (int l = 0; l < p->cfg.n_layers; l++) {
        const int s = p->src_layer[l];
        if (s < 0 || s >= src->cfg.n_layers || (l > 0 && s <= p->src_layer[l - 1]))
            return CTCD_ERR(CTCD_E_INVALID, "prune: plan layer %d maps to source layer %d", l, s);
        int kh = 0, ki = 0;
        for (int h = 0; h < src->cfg.layer_heads[s]; h++) kh += p->keep_head[src->head_off[s] + h];
        for (int i = 0; i < src->cfg.layer_intermediate[s]; i++)
            ki += p->keep_ffn[src->ffn_off[s] + i];
        if (kh != p->cfg.layer_heads[l] || ki != p->cfg.layer_intermediate[l])
            return CTCD_ERR(CTCD_E_INVALID, "prune: plan layer %d keeps %d heads / %d neurons "
                            "but its config says %d / %d", l, kh, ki, p->cfg.layer_heads[l],
                            p->cfg.layer_intermediate[l]);
    }
    return CTCD_OK;
}

ctcd_status ctcd_model_prune(const ctcd_model *src, const ctcd_prune_plan *p, const char *name,
                             ctcd_model **out) {
    *out = NULL;
    CTCD_TRY(check_plan(src, p));
    ctcd_model *dst = NULL;
    CTCD_TRY(ctcd_model_create(src->be, &p->cfg, name, src->B_max, src->T_max, &dst));
    dst->dropout_seed = src->dropout_seed;
    int wide = 0;
    for (int l = 0; l < src->cfg.n_layers; l++) {
        if (src->cfg.layer_heads[l] > wide) wide = src->cfg.layer_heads[l];
        if (src->cfg.layer_intermediate[l] > wide) wide = src->cfg.layer_intermediate[l];
    }
    float *hs = malloc((size_t)src->lay.n_total * sizeof *hs);
    float *hd = calloc((size_t)dst->lay.n_total, sizeof *hd);
    int *idx = malloc((size_t)wide * sizeof *idx);
    ctcd_status st = hs && hd && idx ? ctcd_model_download_params(src, hs)
                                     : CTCD_ERR(CTCD_E_NOMEM, "prune: out of memory");
    if (!st) st = copy_outside(src, dst, hs, hd);
    for (int l = 0; !st && l < p->cfg.n_layers; l++) copy_layer(src, dst, p, l, hs, hd, idx);
    if (!st) st = ctcd_model_upload_params(dst, hd);
    free(hs);
    free(hd);
    free(idx);
    if (st) {
        ctcd_model_destroy(dst);
        return ctcd_error_wrap(st, "pruning %s", src->name);
    }
    *out = dst;
    return CTCD_OK;
}
