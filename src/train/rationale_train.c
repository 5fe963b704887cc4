/* rationale_train.c — distilling step-by-step in the trainer (include/ctcd/rationale.h):
 * the data of the tasks with rationales (esnli, cqa), one rationale decoder per model slot,
 * the multi-task backward
 *   L = (1 − λ)·L_label + λ·L_rationale
 * (step.c scales the label loss, this file the rationale loss), and saving the decoders.
 *
 * Every trained slot gets its own decoder; they share nothing, so a lockstep pair trains
 * two encoder+decoder stacks side by side. Tied decoder embeddings are the slot's encoder
 * word embeddings, so their gradient reaches the encoder's optimizer step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/augment.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/safetensors.h"
#include "train_internal.h"

static int rationale_on(const ctcd_trainer *t) {
    return strcmp(t->rc.rationale.source, "none") != 0;
}

/* ---- data ---- */

/* A task with rationales: where its files are, which splits train and score it, and its
 * loader (ctcd_esnli_load and ctcd_cqa_load share one signature). */
typedef ctcd_status (*rationale_loader)(const char *dir, const char *split, int source,
                                        ctcd_tokenizer *tok, int max_len, int64_t limit,
                                        ctcd_dataset *data, ctcd_rationale_set *rats,
                                        ctcd_esnli_report *rep);
typedef struct rationale_task {
    const char *task, *rel_dir, *train_split, *dev_split, *splits_desc;
    rationale_loader load;
} rationale_task;

static const rationale_task k_rationale_tasks[] = {
    {"esnli", "rationales/distilling-step-by-step/esnli", "valid", "test",
     "train = e-SNLI valid, dev = e-SNLI test", ctcd_esnli_load},
    {"cqa", "rationales/distilling-step-by-step/cqa", "train", "test",
     "train = CQA train, dev = CQA test (CoS-E v1.11 validation); multiple choice",
     ctcd_cqa_load},
};

static void report(const char *name, const ctcd_dataset *d, const ctcd_esnli_report *r,
                   int llm) {
    ctcd_info("%s: %lld examples, %lld truncated to data.max_len, %lld without a rationale",
              name, (long long)d->n, (long long)r->truncated, (long long)r->no_rationale);
    if (llm)
        ctcd_info("%s: PaLM label = gold for %.1f%%, %lld outputs without a parsable label",
                  name, d->n ? 100.0 * (double)r->llm_agree / (double)d->n : 0.0,
                  (long long)r->llm_unparsed);
}

/* rationale.labels llm: the LLM's labels replace the gold ones (the distillation setting);
 * an output without a parsable label leaves its example without a hard label. */
static void use_llm_labels(ctcd_trainer *t) {
    int64_t changed = 0, unlabelled = 0;
    for (int64_t i = 0; i < t->train.n && i < t->rat.train.n; i++) {
        const int32_t y = t->rat.train.llm_labels[i];
        changed += y >= 0 && y != t->train.labels[i];
        unlabelled += y < 0;
        t->train.labels[i] = y >= 0 ? y : -1;
    }
    ctcd_info("%s: training on the LLM's labels (rationale.labels llm): %lld differ from "
              "gold, %lld examples without a label", t->train.name, (long long)changed,
              (long long)unlabelled);
}

static const rationale_task *find_rationale_task(const char *task) {
    for (size_t i = 0; i < sizeof k_rationale_tasks / sizeof k_rationale_tasks[0]; i++)
        if (strcmp(task, k_rationale_tasks[i].task) == 0) return &k_rationale_tasks[i];
    return NULL;
}

const char *ctcd_rationale_task_eval_split(const char *task) {
    const rationale_task *k = find_rationale_task(task);
    return k ? k->dev_split : NULL;
}

ctcd_status ctcd_trainer_load_rationale_task(ctcd_trainer *t) {
    const ctcd_recipe *rc = &t->rc;
    const rationale_task *k = find_rationale_task(rc->task);
    CTCD_ASSERT(k, "task %s has no rationale loader", rc->task);
    char dir[CTCD_PATH_MAX];
    if (rc->rationale.dir[0])
        snprintf(dir, sizeof dir, "%s", rc->rationale.dir);
    else
        CTCD_TRY(ctcd_error_wrap(ctcd_data_find(k->rel_dir, dir, sizeof dir),
                                 "task %s: rationale.dir is empty", k->task));
    if (ctcd_augment_enabled(rc))
        return CTCD_ERR(CTCD_E_INVALID, "data.augment: task %s has no augmentation", k->task);
    CTCD_TRY(ctcd_trainer_find_vocab(rc, t->vocab_path, sizeof t->vocab_path));
    CTCD_TRY(ctcd_tokenizer_load(t->vocab_path, &t->tok));
    const int llm = strcmp(rc->rationale.source, "llm") == 0;
    ctcd_info("task %s from %s (%s), rationales: %s", k->task, dir, k->splits_desc,
              rc->rationale.source);
    ctcd_esnli_report rep;
    CTCD_TRY(k->load(dir, k->train_split, llm ? CTCD_RATIONALE_LLM : CTCD_RATIONALE_HUMAN,
                     t->tok, rc->data.max_len, rc->data.max_train_examples, &t->train,
                     &t->rat.train, &rep));
    report(t->train.name, &t->train, &rep, llm);
    ctcd_trainer_keep_fraction(t, &t->train);
    if (strcmp(rc->rationale.labels, "llm") == 0) use_llm_labels(t);
    if (!rationale_on(t)) ctcd_rationale_set_free(&t->rat.train);
    ctcd_rationale_set dev_rats;
    CTCD_TRY(k->load(dir, k->dev_split, CTCD_RATIONALE_HUMAN, t->tok, rc->data.max_len,
                     rc->data.max_dev_examples, &t->dev[0], &dev_rats, &rep));
    ctcd_rationale_set_free(&dev_rats);
    report(t->dev[0].name, &t->dev[0], &rep, 0);
    t->dev_names[0] = k->dev_split;
    t->n_dev = 1;
    t->metric = CTCD_GLUE_ACC;
    t->mc.n_choices = t->train.n_choices;
    return CTCD_OK;
}

/* ---- decoders ---- */

/* Decoder of model slot i (shortlist: the LM head's token ids, n_short of them, or NULL). */
static ctcd_status create_decoder(ctcd_trainer *t, int i, const int32_t *shortlist,
                                  int n_short) {
    const ctcd_recipe *rc = &t->rc;
    const ctcd_model *m = t->models[i];
    ctcd_rationale_config c;
    ctcd_rationale_config_default(&c, &m->cfg);
    c.n_layers = rc->rationale.decoder.layers;
    if (rc->rationale.decoder.hidden) c.hidden = rc->rationale.decoder.hidden;
    if (rc->rationale.decoder.heads) c.n_heads = rc->rationale.decoder.heads;
    c.intermediate = rc->rationale.decoder.intermediate ? rc->rationale.decoder.intermediate
                                                        : 4 * c.hidden;
    c.max_len = rc->rationale.max_len;
    c.tie_embeddings = rc->rationale.decoder.tie_embeddings;
    c.dropout = rc->rationale.decoder.dropout;
    c.pad_id = t->train.special.pad;
    c.bos_id = t->train.special.cls;
    c.eos_id = t->train.special.sep;
    c.out_vocab = n_short;
    c.out_ids = shortlist;
    char name[64];
    snprintf(name, sizeof name, "rationale.decoder (model %s)", m->name);
    CTCD_TRY(ctcd_error_wrap(ctcd_rationale_create(t->be, &c, &m->cfg, t->B_cap, c.max_len,
                                                   t->T_cap, &t->rat.dec[i]),
                             "%s", name));
    snprintf(name, sizeof name, "%s/rationale/init", ctcd_role_names[t->role[i]]);
    CTCD_TRY(ctcd_rationale_init_random(t->rat.dec[i], ctcd_seed_derive(rc->train.seed, name)));
    snprintf(name, sizeof name, "%s/rationale/dropout", ctcd_role_names[t->role[i]]);
    t->rat.dec[i]->dropout_seed = ctcd_seed_derive(rc->train.seed, name);
    ctcd_info("model %s: rationale decoder %d layers, hidden %d, %d heads, %lld parameters "
              "(%s embeddings), lambda %g",
              m->name, c.n_layers, c.hidden, c.n_heads, (long long)t->rat.dec[i]->lay.n_params_real,
              c.tie_embeddings ? "tied" : "own", (double)rc->rationale.lambda);
    return CTCD_OK;
}

/* Multiple choice: a decoder row cross-attends to ONE encoder sequence, the example's
 * target choice (the training label: gold, or the LLM's with rationale.labels llm). Its
 * rows of h_L are gathered into mc_mem[i] before the decoder and their gradient scattered
 * back into acts.dh after it, with the backend's row ops (no task-specific kernel). */
static ctcd_status create_choice_memory(ctcd_trainer *t) {
    if (t->mc.n_choices < 2) return CTCD_OK;
    ctcd_backend *be = t->be;
    const size_t rows = (size_t)(t->B_cap / t->mc.n_choices) * (size_t)t->T_cap;
    t->mc.h_rows = malloc(rows * sizeof(int32_t));
    t->mc.h_mask = malloc(rows * sizeof(int32_t));
    if (!t->mc.h_rows || !t->mc.h_mask)
        return CTCD_ERR(CTCD_E_NOMEM, "rationale choice rows: out of memory");
    CTCD_TRY(be->alloc(be, rows * sizeof(int32_t), "rationale choice rows",
                       (void **)&t->mc.d_rows));
    CTCD_TRY(be->alloc(be, rows * sizeof(int32_t), "rationale choice mask",
                       (void **)&t->mc.d_mask));
    for (int i = 0; i < t->n_models; i++) {
        const size_t n = rows * (size_t)t->models[i]->cfg.hidden * ctcd_dtype_size(be->act_dtype);
        CTCD_TRY(be->alloc(be, n, "rationale choice memory", &t->mc.mem[i]));
        CTCD_TRY(be->alloc(be, n, "rationale choice memory gradient", &t->mc.dmem[i]));
    }
    return CTCD_OK;
}

/* Host side: the source row of every memory row of the E examples of b, and its mask;
 * examples without a target choice (label -1) lose their rationale targets. */
static ctcd_status upload_choice_rows(ctcd_trainer *t, const ctcd_batch *b) {
    const int E = ctcd_batch_examples(b), K = b->K, T = b->T, L = t->rat.T;
    for (int e = 0; e < E; e++) {
        const int32_t y = b->labels ? b->labels[e] : -1;
        const int64_t src = ((int64_t)e * K + (y >= 0 ? y : 0)) * T;
        for (int j = 0; j < T; j++) {
            t->mc.h_rows[(size_t)e * T + j] = (int32_t)(src + j);
            t->mc.h_mask[(size_t)e * T + j] = b->mask[src + j];
        }
        if (y < 0)
            for (int j = 0; j < L; j++) t->rat.h_tgt[(size_t)e * L + j] = -1;
    }
    const size_t n = (size_t)E * (size_t)T * sizeof(int32_t);
    CTCD_TRY(t->be->upload(t->be, t->mc.d_rows, t->mc.h_rows, n));
    return t->be->upload(t->be, t->mc.d_mask, t->mc.h_mask, n);
}

/* The encoder side decoder i reads: h_L and the batch mask, or (multiple choice) the
 * gathered rows of the target choices. */
static ctcd_status decoder_memory(ctcd_trainer *t, int i, const ctcd_batch_dev *db,
                                  const void **enc, const int32_t **mask) {
    const ctcd_model *m = t->models[i];
    *enc = m->acts.h[m->cfg.n_layers];
    *mask = db->mask;
    if (t->mc.n_choices < 2) return CTCD_OK;
    CTCD_TRY(t->be->gather_rows(t->be, t->mc.mem[i], *enc, t->mc.d_rows,
                                (int64_t)t->rat.B * db->T, m->cfg.hidden));
    *enc = t->mc.mem[i];
    *mask = t->mc.d_mask;
    return CTCD_OK;
}

/* Decoder i's backward into the encoder's ∂L/∂h_L (acts.dh, after the head's backward). */
static ctcd_status decoder_backward(ctcd_trainer *t, int i, const ctcd_batch_dev *db,
                                    const ctcd_rat_batch_dev *rb, const void *enc,
                                    const int32_t *mask, int64_t step) {
    ctcd_model *m = t->models[i];
    ctcd_backend *be = t->be;
    if (t->mc.n_choices < 2)
        return ctcd_rationale_backward(t->rat.dec[i], m, enc, m->acts.dh, mask, db->T, rb, step);
    const int64_t rows = (int64_t)t->rat.B * db->T;
    const int H = m->cfg.hidden;
    CTCD_TRY(be->memzero(be, t->mc.dmem[i], (size_t)rows * H * ctcd_dtype_size(be->act_dtype)));
    CTCD_TRY(ctcd_rationale_backward(t->rat.dec[i], m, enc, t->mc.dmem[i], mask, db->T, rb, step));
    return be->scatter_add_rows(be, m->acts.dh, t->mc.dmem[i], t->mc.d_rows, rows, H);
}

ctcd_status ctcd_trainer_create_rationale(ctcd_trainer *t) {
    if (t->rc.rationale.mutual_kl > 0.0f && (!rationale_on(t) || t->n_models != 2))
        return CTCD_ERR(CTCD_E_INVALID, "%s: rationale.mutual_kl %g needs two models "
                        "(models.large and models.small) with rationale decoders "
                        "(rationale.source human or llm)",
                        t->rc.source[0] ? t->rc.source : "recipe",
                        (double)t->rc.rationale.mutual_kl);
    if (!rationale_on(t)) return CTCD_OK;
    const ctcd_recipe *rc = &t->rc;
    int32_t *shortlist = NULL;
    int n_short = 0;
    if (rc->rationale.decoder.shortlist) {
        /* the tokens of the rationales trained on (the first train.n: data.train_fraction) */
        const int64_t n = t->train.n < t->rat.train.n ? t->train.n : t->rat.train.n;
        CTCD_TRY(ctcd_rationale_shortlist(t->rat.train.tokens, n ? t->rat.train.offsets[n] : 0,
                                          t->train.special.sep, t->models[0]->cfg.vocab_size,
                                          &shortlist, &n_short));
        ctcd_info("rationale decoders: LM head over a shortlist of %d tokens (those of the %lld "
                  "training rationales, and the end token) instead of %d", n_short,
                  (long long)n, t->models[0]->cfg.vocab_size);
    }
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < t->n_models; i++) st = create_decoder(t, i, shortlist, n_short);
    free(shortlist);
    CTCD_TRY(st);
    const size_t n = (size_t)t->B_cap * (size_t)rc->rationale.max_len * sizeof(int32_t);
    t->rat.h_ids = malloc(n);
    t->rat.h_tgt = malloc(n);
    if (!t->rat.h_ids || !t->rat.h_tgt)
        return CTCD_ERR(CTCD_E_NOMEM, "rationale batch buffers: out of memory");
    CTCD_TRY(t->be->alloc(t->be, n, "rationale ids", (void **)&t->rat.d_ids));
    CTCD_TRY(t->be->alloc(t->be, n, "rationale targets", (void **)&t->rat.d_tgt));
    return create_choice_memory(t);
}

void ctcd_trainer_destroy_rationale(ctcd_trainer *t) {
    for (int i = 0; i < 2; i++) ctcd_rationale_destroy(t->rat.dec[i]);
    if (t->be) {
        t->be->free(t->be, t->rat.d_ids);
        t->be->free(t->be, t->rat.d_tgt);
        for (int i = 0; i < 2; i++) {
            t->be->free(t->be, t->mc.mem[i]);
            t->be->free(t->be, t->mc.dmem[i]);
        }
        t->be->free(t->be, t->mc.d_rows);
        t->be->free(t->be, t->mc.d_mask);
    }
    free(t->rat.h_ids);
    free(t->rat.h_tgt);
    free(t->mc.h_rows);
    free(t->mc.h_mask);
    ctcd_rationale_set_free(&t->rat.train);
}

ctcd_status ctcd_trainer_upload_rationale(ctcd_trainer *t, const ctcd_batch *b) {
    if (!t->rat.dec[0]) return CTCD_OK;
    const ctcd_rationale_config *c = &t->rat.dec[0]->cfg;
    t->rat.B = ctcd_batch_examples(b);
    t->rat.T = ctcd_rationale_batch_rows(&t->rat.train, b->example, t->rat.B, c->max_len,
                                         c->bos_id, c->eos_id, c->pad_id, t->rat.h_ids,
                                         t->rat.h_tgt);
    if (t->mc.n_choices > 1) CTCD_TRY(upload_choice_rows(t, b));
    const int64_t rows = (int64_t)t->rat.B * t->rat.T;
    /* token ids -> LM-head rows; the shortlist holds every training rationale token, so
     * nothing falls outside it (an augmented copy has no rationale row) */
    if (ctcd_rationale_map_targets(t->rat.dec[0], t->rat.h_tgt, rows))
        return CTCD_ERR(CTCD_E_INVALID, "rationale batch: a target token outside the decoder's "
                        "output shortlist");
    const size_t n = (size_t)rows * sizeof(int32_t);
    CTCD_TRY(t->be->upload(t->be, t->rat.d_ids, t->rat.h_ids, n));
    return t->be->upload(t->be, t->rat.d_tgt, t->rat.h_tgt, n);
}

ctcd_status ctcd_trainer_rationale_backward(ctcd_trainer *t, int i, const ctcd_batch_dev *db,
                                            int64_t step, float *loss) {
    ctcd_model *m = t->models[i];
    ctcd_rationale_decoder *d = t->rat.dec[i];
    const ctcd_rat_batch_dev rb = {t->rat.B, t->rat.T, t->rat.d_ids, t->rat.d_tgt};
    const void *enc;
    const int32_t *mask;
    CTCD_TRY(ctcd_model_backward_head(m, db, step));
    CTCD_TRY(ctcd_rationale_zero_grad(d));
    CTCD_TRY(decoder_memory(t, i, db, &enc, &mask));
    CTCD_TRY(ctcd_rationale_forward(d, m, enc, mask, db->T, &rb, 1, step));
    CTCD_TRY(ctcd_rationale_loss(d, &rb, t->rc.rationale.lambda, loss));
    CTCD_TRY(decoder_backward(t, i, db, &rb, enc, mask, step));
    return ctcd_model_backward_encoder(m, db, step);
}

ctcd_status ctcd_trainer_rationale_backward_pair(ctcd_trainer *t, const ctcd_batch_dev *db,
                                                 int64_t step, float ramp, float loss[2],
                                                 float kl[2]) {
    const ctcd_rat_batch_dev rb = {t->rat.B, t->rat.T, t->rat.d_ids, t->rat.d_tgt};
    const float lambda = t->rc.rationale.lambda;
    const void *enc[2];
    const int32_t *mask[2];
    for (int i = 0; i < 2; i++) {
        ctcd_model *m = t->models[i];
        CTCD_TRY(ctcd_rationale_zero_grad(t->rat.dec[i]));
        CTCD_TRY(decoder_memory(t, i, db, &enc[i], &mask[i]));
        CTCD_TRY(ctcd_rationale_forward(t->rat.dec[i], m, enc[i], mask[i], db->T, &rb, 1, step));
    }
    CTCD_TRY(ctcd_rationale_loss_pair(t->rat.dec, &rb, lambda,
                                      lambda * t->rc.rationale.mutual_kl * ramp, loss, kl));
    for (int i = 0; i < 2; i++) {
        ctcd_model *m = t->models[i];
        CTCD_TRY(ctcd_model_backward_head(m, db, step));
        CTCD_TRY(decoder_backward(t, i, db, &rb, enc[i], mask[i], step));
        CTCD_TRY(ctcd_model_backward_encoder(m, db, step));
    }
    return CTCD_OK;
}

/* ---- saving ---- */

ctcd_status ctcd_trainer_save_rationale(ctcd_trainer *t, int i, const char *which) {
    const ctcd_rationale_decoder *d = t->rat.dec[i];
    if (!t->rc.output[0] || !d) return CTCD_OK;
    char dir[CTCD_PATH_MAX + 64], path[CTCD_PATH_MAX + 96];
    snprintf(dir, sizeof dir, "%s/rationale/%s/%s", t->rc.output, t->models[i]->name, which);
    CTCD_TRY(ctcd_mkdirs(dir));
    snprintf(path, sizeof path, "%s/decoder.safetensors", dir);
    return ctcd_rationale_save(d, path);
}
