/* explain.c — `ctcd explain`: an encoder trained with a rationale decoder (distilling
 * step-by-step) on a few e-SNLI or CommonsenseQA examples: its label prediction and the
 * decoder's greedy rationale beside the references (include/ctcd/train.h). For CQA (multiple
 * choice) the decoder reads the encoder rows of the predicted choice, as in training it read
 * those of the target choice. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/log.h"
#include "ctcd/batch_upload.h"
#include "ctcd/train.h"

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
    int cqa;                    /* task cqa: multiple choice */
    ctcd_batch_buffers batch;   /* the device copy of the examples' batch */
    int32_t *d_rows, *d_mem_mask;  /* cqa: rows of the predicted choices (B·T) */
    void *mem;                  /* cqa: their encoder output (B·T, H) */
    void *logits;               /* host copy, act dtype (rows, C) */
    int *pred;                  /* (B) predicted label / choice */
    int32_t *gen;               /* (B, max_new) */
    int *gen_len;
    char text[8192];
} explain_ctx;

/* Decodes n tokens into x->text. */
static const char *decode(explain_ctx *x, const int32_t *ids, int64_t n) {
    ctcd_tokenizer_decode(x->tok, ids, (size_t)(n > 0 ? n : 0), x->text, sizeof x->text);
    return x->text;
}

/* CQA: the question (segment A of choice 0) and the K choices (segment B, [SEP] dropped). */
static void print_choices(explain_ctx *x, FILE *out, int64_t e, int gold, int pred) {
    const ctcd_dataset *d = &x->data;
    const int K = d->n_choices;
    const int64_t s0 = d->offsets[e * K];
    int a = 1;
    while (a < ctcd_dataset_seq_len(d, e * K) && d->types[s0 + a] == 0) a++;
    fprintf(out, "[%lld] %s\n", (long long)e, decode(x, d->tokens + s0 + 1, a - 2));
    for (int k = 0; k < K; k++) {
        const int64_t o = d->offsets[e * K + k];
        const int len = ctcd_dataset_seq_len(d, e * K + k);
        int b = 1;
        while (b < len && d->types[o + b] == 0) b++;
        fprintf(out, "  (%c) %s%s%s\n", 'a' + k, decode(x, d->tokens + o + b, len - 1 - b),
                k == gold ? "   <- gold" : "", k == pred ? "   <- predicted" : "");
    }
    fprintf(out, "  gold: (%c) predicted: (%c)\n", 'a' + gold, 'a' + pred);
}

static void print_example(explain_ctx *x, FILE *out, const ctcd_batch *b, int r, int max_new) {
    const int64_t e = b->example[r];
    if (x->cqa) {
        print_choices(x, out, e, x->data.labels[e], x->pred[r]);
    } else {
        fprintf(out, "[%lld] %s\n", (long long)e,
                decode(x, x->data.tokens + x->data.offsets[e], ctcd_dataset_len(&x->data, e)));
        fprintf(out, "  gold: %-13s predicted: %s\n", ctcd_esnli_label_name(x->data.labels[e]),
                ctcd_esnli_label_name(x->pred[r]));
    }
    fprintf(out, "  reference rationale: %s\n",
            decode(x, x->rats.tokens + x->rats.offsets[e], ctcd_rationale_len(&x->rats, e)));
    if (x->d)
        fprintf(out, "  generated rationale: %s\n",
                decode(x, x->gen + (size_t)r * max_new, x->gen_len[r]));
}

/* The predicted label (e-SNLI: argmax of 3; CQA: argmax over the example's K rows). */
static void predict_labels(explain_ctx *x, const ctcd_batch *b) {
    const int E = ctcd_batch_examples(b), C = x->cqa ? b->K : 3;
    for (int r = 0; r < E; r++) {
        int pred = 0;
        for (int c = 1; c < C; c++)
            if (act_f32(x->be->act_dtype, x->logits, (int64_t)r * C + c) >
                act_f32(x->be->act_dtype, x->logits, (int64_t)r * C + pred))
                pred = c;
        x->pred[r] = pred;
    }
}

/* The decoder's encoder side: h_L and the mask, or (CQA) the predicted choices' rows. */
static ctcd_status decoder_memory(explain_ctx *x, const ctcd_batch *b, const void **enc,
                                  const int32_t **mask) {
    ctcd_backend *be = x->be;
    *enc = x->m->acts.h[x->m->cfg.n_layers];
    *mask = x->batch.mask;
    if (!x->cqa) return CTCD_OK;
    const int E = ctcd_batch_examples(b), T = b->T, H = x->m->cfg.hidden;
    const size_t n = (size_t)E * T;
    int32_t *rows = malloc(n * sizeof *rows), *mk = malloc(n * sizeof *mk);
    ctcd_status st = rows && mk ? CTCD_OK : CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    for (int e = 0; !st && e < E; e++)
        for (int j = 0; j < T; j++) {
            const int64_t src = ((int64_t)e * b->K + x->pred[e]) * T + j;
            rows[(size_t)e * T + j] = (int32_t)src;
            mk[(size_t)e * T + j] = b->mask[src];
        }
    if (!st) st = be->alloc(be, n * sizeof *rows, "explain rows", (void **)&x->d_rows);
    if (!st) st = be->alloc(be, n * sizeof *mk, "explain mask", (void **)&x->d_mem_mask);
    if (!st) st = be->alloc(be, n * H * ctcd_dtype_size(be->act_dtype), "explain memory", &x->mem);
    if (!st) st = be->upload(be, x->d_rows, rows, n * sizeof *rows);
    if (!st) st = be->upload(be, x->d_mem_mask, mk, n * sizeof *mk);
    if (!st) st = be->gather_rows(be, x->mem, *enc, x->d_rows, (int64_t)n, H);
    free(rows);
    free(mk);
    *enc = x->mem;
    *mask = x->d_mem_mask;
    return st;
}

/* The first B examples of the split, then the encoder with its trained head (sized for
 * their B·K rows). */
static ctcd_status open_data_and_model(explain_ctx *x, const ctcd_explain_opts *o,
                                       const char *vocab, const char *dir, int B, int T) {
    CTCD_TRY(ctcd_tokenizer_load(vocab, &x->tok));
    ctcd_esnli_report er;
    const int src = o->source && strcmp(o->source, "llm") == 0 ? CTCD_RATIONALE_LLM
                                                               : CTCD_RATIONALE_HUMAN;
    const char *split = o->split ? o->split : "test";
    CTCD_TRY(x->cqa ? ctcd_cqa_load(dir, split, src, x->tok, o->max_len, B, &x->data, &x->rats,
                                    &er)
                    : ctcd_esnli_load(dir, split, src, x->tok, o->max_len, B, &x->data,
                                      &x->rats, &er));
    ctcd_hf_open_opts ho = {.name = "model", .B_max = B * ctcd_dataset_seqs(&x->data),
                            .T_max = T, .seed = 0, .head = CTCD_HEAD_CLASSIFY, .n_labels = 3,
                            .multiple_choice = x->cqa};
    ctcd_hf_load_report rep;
    memset(&rep, 0, sizeof rep);
    ctcd_status st = ctcd_model_open_hf(x->be, o->ckpt, &ho, &x->m, NULL, &rep);
    if (!st && rep.n_fresh)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has no trained %s (%s missing)", o->ckpt,
                      x->cqa ? "multiple-choice head" : "3-way classifier", rep.fresh[0]);
    ctcd_hf_load_report_free(&rep);
    return st;
}

static ctcd_status run(explain_ctx *x, const ctcd_explain_opts *o, FILE *out) {
    char vocab[4096], dir[4096], dec[4096];
    x->cqa = o->task && strcmp(o->task, "cqa") == 0;
    CTCD_TRY(ctcd_hf_checkpoint_check(o->ckpt)); /* before any data is looked for */
    if (o->vocab) snprintf(vocab, sizeof vocab, "%s", o->vocab);
    else if ((size_t)snprintf(vocab, sizeof vocab, "%s/vocab.txt", o->ckpt) >= sizeof vocab ||
             access(vocab, R_OK) != 0)
        CTCD_TRY(ctcd_data_find("vocab/bert-base-uncased-vocab.txt", vocab, sizeof vocab));
    if (o->data_dir) snprintf(dir, sizeof dir, "%s", o->data_dir);
    else CTCD_TRY(ctcd_data_find(x->cqa ? "rationales/distilling-step-by-step/cqa"
                                        : "rationales/distilling-step-by-step/esnli",
                                 dir, sizeof dir));
    if (o->decoder_path) snprintf(dec, sizeof dec, "%s", o->decoder_path);
    else CTCD_TRY(default_decoder(o->ckpt, dec, sizeof dec));
    const int B = o->n, T = (o->max_len + 7) / 8 * 8;
    CTCD_TRY(ctcd_backend_create(o->backend, &x->be));
    CTCD_TRY(open_data_and_model(x, o, vocab, dir, B, T));
    const int K = ctcd_dataset_seqs(&x->data);
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
    ctcd_backend *be = x->be;
    CTCD_TRY(ctcd_batch_buffers_alloc(&x->batch, be, B * K, T, 0, 0, "explain"));
    ctcd_batch_dev db;
    CTCD_TRY(ctcd_batch_buffers_upload(&x->batch, b, &db));
    CTCD_TRY(ctcd_model_forward(x->m, &db, 0, 0));
    const size_t es = ctcd_dtype_size(be->act_dtype);
    const size_t n_logits = (size_t)b->B * (size_t)x->m->cfg.n_labels;
    const int E = ctcd_batch_examples(b);
    x->logits = malloc(n_logits * es);
    x->pred = calloc((size_t)E, sizeof *x->pred);
    x->gen = malloc((size_t)E * (max_new ? max_new : 1) * sizeof *x->gen);
    x->gen_len = calloc((size_t)E, sizeof *x->gen_len);
    if (!x->logits || !x->pred || !x->gen || !x->gen_len)
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    CTCD_TRY(be->download(be, x->logits, x->m->acts.logits, n_logits * es));
    predict_labels(x, b);
    if (x->d) {
        const void *enc;
        const int32_t *mask;
        CTCD_TRY(decoder_memory(x, b, &enc, &mask));
        CTCD_TRY(ctcd_rationale_generate(x->d, x->m, enc, mask, E, b->T, max_new, x->gen,
                                         x->gen_len));
    }
    for (int r = 0; r < E; r++) print_example(x, out, b, r, max_new);
    return CTCD_OK;
}

ctcd_status ctcd_explain(const ctcd_explain_opts *o, FILE *out) {
    if (o->n < 1 || o->n > 4096 || o->max_len < 8)
        return CTCD_ERR(CTCD_E_INVALID, "explain: --n %d (1..4096), --max-len %d (>= 8)", o->n,
                        o->max_len);
    explain_ctx x;
    memset(&x, 0, sizeof x);
    ctcd_status st = run(&x, o, out);
    ctcd_batch_buffers_free(&x.batch);
    if (x.be) {
        x.be->free(x.be, x.d_rows);
        x.be->free(x.be, x.d_mem_mask);
        x.be->free(x.be, x.mem);
    }
    ctcd_batcher_free(&x.bt);
    free(x.logits);
    free(x.pred);
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
