/* rationale_io.c — saving and loading a rationale decoder (include/ctcd/rationale.h) as one
 * safetensors file whose metadata holds the config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale.h"
#include "ctcd/safetensors.h"

/* The shortlist's token ids (I32, out_vocab) when the decoder has one. */
#define SHORTLIST_TENSOR "decoder.lm_head.token_ids"

/* Config fields stored as metadata strings, in this order (out_vocab is optional on load:
 * files without it have no shortlist). */
#define RAT_INT_FIELDS(X)                                                                   \
    X(n_layers) X(hidden) X(n_heads) X(intermediate) X(max_len) X(tie_embeddings)          \
    X(enc_hidden) X(vocab_size) X(pad_id) X(bos_id) X(eos_id)

ctcd_status ctcd_rationale_save(const ctcd_rationale_decoder *d, const char *path) {
    const ctcd_rat_layout *lay = &d->lay;
    float *host = malloc((size_t)lay->n_total * sizeof *host);
    ctcd_st_entry *e = calloc((size_t)lay->n_params + 1, sizeof *e);
    if (!host || !e) {
        free(host);
        free(e);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    }
    ctcd_status st = ctcd_rationale_download_params(d, host);
    for (int i = 0; i < lay->n_params; i++) {
        const ctcd_param_info *p = &lay->params[i];
        e[i] = (ctcd_st_entry){.name = p->name, .dtype = CTCD_F32, .src_dtype = CTCD_F32,
                               .ndim = p->ndim, .data = host + p->offset};
        e[i].shape[0] = p->shape[0];
        e[i].shape[1] = p->shape[1];
    }
    int n_entries = lay->n_params;
    if (d->cfg.out_vocab) {
        e[n_entries] = (ctcd_st_entry){.name = SHORTLIST_TENSOR, .dtype = CTCD_I32,
                                       .src_dtype = CTCD_I32, .ndim = 1, .data = d->out_ids};
        e[n_entries++].shape[0] = d->cfg.out_vocab;
    }
    char vals[16][32];
    const char *meta[2 * 16 + 1];
    int k = 0;
    meta[2 * k] = "format";
    meta[2 * k + 1] = "ctcd-rationale-decoder";
    k++;
#define PUT(f)                                                        \
    snprintf(vals[k], sizeof vals[k], "%d", d->cfg.f);               \
    meta[2 * k] = #f;                                                 \
    meta[2 * k + 1] = vals[k];                                        \
    k++;
    RAT_INT_FIELDS(PUT)
    if (d->cfg.out_vocab) {
        PUT(out_vocab)
    }
#undef PUT
    snprintf(vals[k], sizeof vals[k], "%.9g", (double)d->cfg.ln_eps);
    meta[2 * k] = "ln_eps";
    meta[2 * k + 1] = vals[k];
    k++;
    meta[2 * k] = NULL;
    if (!st) st = ctcd_st_write(path, e, n_entries, meta);
    free(host);
    free(e);
    return st;
}

ctcd_status ctcd_rationale_load(ctcd_backend *be, const char *path, const ctcd_bert_config *enc,
                                int B_max, int T_max, int Te_max, ctcd_rationale_decoder **out) {
    *out = NULL;
    ctcd_st_file *f = NULL;
    CTCD_TRY(ctcd_st_open(path, &f));
    ctcd_rationale_config c;
    ctcd_rationale_config_default(&c, enc);
    c.dropout = 0.0f;
    ctcd_status st = CTCD_OK;
    const char *fmt = ctcd_st_metadata(f, "format");
    if (!fmt || strcmp(fmt, "ctcd-rationale-decoder") != 0)
        st = CTCD_ERR(CTCD_E_INVALID, "%s: not a ctcd rationale decoder (metadata format)", path);
#define GET(fld)                                                                              \
    if (!st) {                                                                                \
        const char *v = ctcd_st_metadata(f, #fld);                                            \
        char *end = NULL;                                                                     \
        long x = v ? strtol(v, &end, 10) : 0;                                                 \
        if (!v || *end || x < 0 || x > (1L << 30))                                            \
            st = CTCD_ERR(CTCD_E_INVALID, "%s: metadata %s missing or invalid", path, #fld);  \
        else                                                                                  \
            c.fld = (int)x;                                                                   \
    }
    RAT_INT_FIELDS(GET)
#undef GET
    const char *eps = ctcd_st_metadata(f, "ln_eps");
    if (!st && eps) c.ln_eps = strtof(eps, NULL);
    int32_t *ids = NULL;
    const char *ov = ctcd_st_metadata(f, "out_vocab");
    if (!st && ov) {
        char *end = NULL;
        const long k = strtol(ov, &end, 10);
        const ctcd_st_tensor *t = ctcd_st_find(f, SHORTLIST_TENSOR);
        if (*end || k < 1 || k > c.vocab_size)
            st = CTCD_ERR(CTCD_E_INVALID, "%s: metadata out_vocab invalid", path);
        else if (!t || strcmp(t->dtype, "I32") != 0 || t->numel != k)
            st = CTCD_ERR(CTCD_E_INVALID, "%s: tensor %s missing or not I32[%ld]", path,
                          SHORTLIST_TENSOR, k);
        else if (!(ids = malloc((size_t)k * sizeof *ids)))
            st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
        else {
            memcpy(ids, t->data, (size_t)k * sizeof *ids);
            c.out_vocab = (int)k;
            c.out_ids = ids;
        }
    }
    ctcd_rationale_decoder *d = NULL;
    if (!st) st = ctcd_rationale_create(be, &c, enc, B_max, T_max < c.max_len ? T_max : c.max_len,
                                        Te_max, &d);
    free(ids); /* create keeps its own copy */
    float *host = d ? malloc((size_t)d->lay.n_total * sizeof *host) : NULL;
    if (!st && !host) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; !st && i < d->lay.n_params; i++) {
        const ctcd_param_info *p = &d->lay.params[i];
        const ctcd_st_tensor *t = ctcd_st_find(f, p->name);
        if (!t) {
            st = CTCD_ERR(CTCD_E_INVALID, "%s: tensor %s missing", path, p->name);
            break;
        }
        int64_t numel = 1;
        for (int j = 0; j < t->ndim; j++) numel *= t->shape[j];
        if (numel != p->numel)
            st = CTCD_ERR(CTCD_E_INVALID, "%s: tensor %s has %lld elements, expected %lld", path,
                          p->name, (long long)numel, (long long)p->numel);
        if (!st) st = ctcd_st_read_f32(f, t, host + p->offset);
    }
    if (!st) st = ctcd_rationale_upload_params(d, host);
    free(host);
    ctcd_st_close(f);
    if (st) {
        ctcd_rationale_destroy(d);
        return ctcd_error_wrap(st, "loading the rationale decoder");
    }
    *out = d;
    return CTCD_OK;
}
