/* explain.c — `ctcd explain`: an encoder trained with a rationale decoder (distilling
 * step-by-step) on a few e-SNLI examples: its label prediction and the decoder's greedy
 * rationale beside the references (include/ctcd/train.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/checkpoint.h"
#include "ctcd/log.h"
#include "train_internal.h"

/* <run>/<role>/<which> → <run>/rationale/<role>/<which>/decoder.safetensors */
static ctcd_status default_decoder(const char *ckpt, char *out, size_t cap) {
    char c[4096];
    snprintf(c, sizeof c, "%s", ckpt);
    size_t n = strlen(c);
    while (n > 1 && c[n - 1] == '/') c[--n] = 0;
    char *which = strrchr(c, '/');
    if (!which) return CTCD_ERR(CTCD_E_INVALID, "%s: expected <run>/<role>/<which>", ckpt);
    *which++ = 0;
    char *role = strrchr(c, '/');
    const char *run = role ? c : ".";
    if (role) *role++ = 0;
    else role = c;
    if ((size_t)snprintf(out, cap, "%s/rationale/%s/%s/decoder.safetensors", run, role, which) >=
        cap)
        return CTCD_ERR(CTCD_E_INVALID, "%s: path too long", ckpt);
    return CTCD_OK;
}

static float act_f32(ctcd_dtype dt, const void *p, int64_t i) {
    return dt == CTCD_BF16 ? ctcd_bf16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

typedef struct explain_ctx {
    ctcd_backend *be;
    ctcd_model *m;
    ctcd_rationale_decoder *d;
    ctcd_tokenizer *tok;
    ctcd_dataset data;
    ctcd_rationale_set rats;
    ctcd_batcher bt;
    int32_t *d_ids, *d_types, *d_mask, *d_cls;
    void *logits;               /* host copy, act dtype (B, 3) */
    int32_t *gen;               /* (B, max_new) */
    int *gen_len;
    char text[8192];
} explain_ctx;

static void print_example(explain_ctx *x, FILE *out, const ctcd_batch *b, int r, int max_new) {
    const int64_t e = b->example[r];
    const int32_t *ids = x->data.tokens + x->data.offsets[e];
    ctcd_tokenizer_decode(x->tok, ids, (size_t)ctcd_dataset_len(&x->data, e), x->text,
                          sizeof x->text);
    fprintf(out, "[%lld] %s\n", (long long)e, x->text);
    int pred = 0;
    for (int c = 1; c < 3; c++)
        if (act_f32(x->be->act_dtype, x->logits, (int64_t)r * 3 + c) >
            act_f32(x->be->act_dtype, x->logits, (int64_t)r * 3 + pred))
            pred = c;
    fprintf(out, "  gold: %-13s predicted: %s\n", ctcd_esnli_label_name(x->data.labels[e]),
            ctcd_esnli_label_name(pred));
    ctcd_tokenizer_decode(x->tok, x->rats.tokens + x->rats.offsets[e],
                          (size_t)ctcd_rationale_len(&x->rats, e), x->text, sizeof x->text);
    fprintf(out, "  reference rationale: %s\n", x->text);
    if (x->d) {
        ctcd_tokenizer_decode(x->tok, x->gen + (size_t)r * max_new, (size_t)x->gen_len[r],
                              x->text, sizeof x->text);
        fprintf(out, "  generated rationale: %s\n", x->text);
    }
}

static ctcd_status run(explain_ctx *x, const ctcd_explain_opts *o, FILE *out) {
    char vocab[4096], dir[4096], dec[4096];
    if (o->vocab) snprintf(vocab, sizeof vocab, "%s", o->vocab);
    else if ((size_t)snprintf(vocab, sizeof vocab, "%s/vocab.txt", o->ckpt) >= sizeof vocab ||
             access(vocab, R_OK) != 0)
        CTCD_TRY(ctcd_data_find("vocab/bert-base-uncased-vocab.txt", vocab, sizeof vocab));
    if (o->esnli_dir) snprintf(dir, sizeof dir, "%s", o->esnli_dir);
    else CTCD_TRY(ctcd_data_find("rationales/distilling-step-by-step/esnli", dir, sizeof dir));
    if (o->decoder_path) snprintf(dec, sizeof dec, "%s", o->decoder_path);
    else CTCD_TRY(default_decoder(o->ckpt, dec, sizeof dec));
    const int B = o->n, T = (o->max_len + 7) / 8 * 8;
    CTCD_TRY(ctcd_backend_create(o->backend, &x->be));
    ctcd_hf_open_opts ho = {.name = "model", .B_max = B, .T_max = T, .seed = 0,
                            .head = CTCD_HEAD_CLASSIFY, .n_labels = 3};
    ctcd_hf_load_report rep;
    memset(&rep, 0, sizeof rep);
    ctcd_status st = ctcd_model_open_hf(x->be, o->ckpt, &ho, &x->m, NULL, &rep);
    if (!st && rep.n_fresh)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has no trained 3-way classifier (%s missing)", o->ckpt,
                      rep.fresh[0]);
    ctcd_hf_load_report_free(&rep);
    CTCD_TRY(st);
    CTCD_TRY(ctcd_tokenizer_load(vocab, &x->tok));
    ctcd_esnli_report er;
    const int llm = o->source && strcmp(o->source, "llm") == 0;
    CTCD_TRY(ctcd_esnli_load(dir, o->split ? o->split : "test",
                             llm ? CTCD_RATIONALE_LLM : CTCD_RATIONALE_HUMAN, x->tok, o->max_len,
                             B, &x->data, &x->rats, &er));
    int max_new = 0;
    if (access(dec, R_OK) == 0) {
        CTCD_TRY(ctcd_rationale_load(x->be, dec, &x->m->cfg, B,
                                     o->max_new > 0 ? o->max_new : 512, T, &x->d));
        max_new = x->d->T_max;
        fprintf(out, "decoder: %s (%d layers, hidden %d)\n", dec, x->d->cfg.n_layers,
                x->d->cfg.hidden);
    } else {
        fprintf(out, "no rationale decoder at %s: labels only\n", dec);
    }
    ctcd_batcher_config bc = {.batch = B, .max_len = o->max_len, .pad_multiple = 8, .shuffle = 0,
                              .bucket_batches = 1, .seed = 0};
    CTCD_TRY(ctcd_batcher_init(&x->bt, &x->data, &bc));
    const ctcd_batch *b = NULL;
    if (!ctcd_batcher_next(&x->bt, &b)) return CTCD_ERR(CTCD_E_INVALID, "no examples");
    const size_t n = (size_t)B * T * sizeof(int32_t);
    ctcd_backend *be = x->be;
    CTCD_TRY(be->alloc(be, n, "ids", (void **)&x->d_ids));
    CTCD_TRY(be->alloc(be, n, "types", (void **)&x->d_types));
    CTCD_TRY(be->alloc(be, n, "mask", (void **)&x->d_mask));
    CTCD_TRY(be->alloc(be, (size_t)B * 4, "cls", (void **)&x->d_cls));
    CTCD_TRY(ctcd_upload_batch_inputs(be, b, x->d_ids, x->d_types, x->d_mask, x->d_cls));
    const ctcd_batch_dev db = {.B = b->B, .T = b->T, .ids = x->d_ids, .types = x->d_types,
                               .mask = x->d_mask, .cls_idx = x->d_cls};
    CTCD_TRY(ctcd_model_forward(x->m, &db, 0, 0));
    const size_t es = ctcd_dtype_size(be->act_dtype);
    x->logits = malloc((size_t)b->B * 3 * es);
    x->gen = malloc((size_t)b->B * (max_new ? max_new : 1) * sizeof *x->gen);
    x->gen_len = calloc((size_t)b->B, sizeof *x->gen_len);
    if (!x->logits || !x->gen || !x->gen_len) return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    CTCD_TRY(be->download(be, x->logits, x->m->acts.logits, (size_t)b->B * 3 * es));
    if (x->d)
        CTCD_TRY(ctcd_rationale_generate(x->d, x->m, x->m->acts.h[x->m->cfg.n_layers], x->d_mask,
                                         b->B, b->T, max_new, x->gen, x->gen_len));
    for (int r = 0; r < b->B; r++) print_example(x, out, b, r, max_new);
    return CTCD_OK;
}

ctcd_status ctcd_explain(const ctcd_explain_opts *o, FILE *out) {
    if (o->n < 1 || o->n > 4096 || o->max_len < 8)
        return CTCD_ERR(CTCD_E_INVALID, "explain: --n %d (1..4096), --max-len %d (>= 8)", o->n,
                        o->max_len);
    explain_ctx x;
    memset(&x, 0, sizeof x);
    ctcd_status st = run(&x, o, out);
    if (x.be) {
        x.be->free(x.be, x.d_ids);
        x.be->free(x.be, x.d_types);
        x.be->free(x.be, x.d_mask);
        x.be->free(x.be, x.d_cls);
    }
    ctcd_batcher_free(&x.bt);
    free(x.logits);
    free(x.gen);
    free(x.gen_len);
    ctcd_rationale_destroy(x.d);
    ctcd_model_destroy(x.m);
    ctcd_dataset_free(&x.data);
    ctcd_rationale_set_free(&x.rats);
    ctcd_tokenizer_free(x.tok);
    ctcd_backend_destroy(x.be);
    return st;
}
