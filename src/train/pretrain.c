/* pretrain.c — masked-LM co-training from scratch (task "mlm"): the corpus is tokenised
 * once into a cached shard, its end is held out, both models get the masked-LM head, and
 * the same lockstep step runs on masked-LM batches (the loss only over the masked rows).
 * Evaluation is masked-LM loss and accuracy on fixed held-out batches; checkpoints are HF
 * BertForMaskedLM directories that `ctcd train` (models.<role>.init) fine-tunes. */
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/backend_create.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "train_internal.h"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_suffix(const char *s, const char *suf) {
    const size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* The corpus files: the path itself, or a directory's *.txt / *.tokens in name order. */
static ctcd_status list_corpus(const char *path, char ***out, int *n_out) {
    struct stat st;
    *out = NULL;
    *n_out = 0;
    if (stat(path, &st) != 0)
        return CTCD_ERR(CTCD_E_IO, "pretrain.corpus '%s': %s", path, strerror(errno));
    char **files = NULL;
    int n = 0, cap = 0;
    if (!S_ISDIR(st.st_mode)) {
        files = malloc(sizeof *files);
        if (!files || !(files[0] = strdup(path))) {
            free(files);
            return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
        }
        *out = files;
        *n_out = 1;
        return CTCD_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return CTCD_ERR(CTCD_E_IO, "pretrain.corpus '%s': cannot list the directory: %s", path,
                        strerror(errno));
    struct dirent *e;
    ctcd_status s = CTCD_OK;
    while (!s && (e = readdir(d)) != NULL) {
        if (!has_suffix(e->d_name, ".txt") && !has_suffix(e->d_name, ".tokens")) continue;
        if (n == cap) {
            char **nf = realloc(files, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *nf);
            if (!nf) {
                s = CTCD_ERR(CTCD_E_NOMEM, "out of memory");
                break;
            }
            files = nf;
        }
        const size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(files[n] = malloc(len))) {
            s = CTCD_ERR(CTCD_E_NOMEM, "out of memory");
            break;
        }
        snprintf(files[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (!s && n == 0)
        s = CTCD_ERR(CTCD_E_INVALID, "pretrain.corpus '%s' holds no *.txt or *.tokens files", path);
    if (s) {
        for (int i = 0; i < n; i++) free(files[i]);
        free(files);
        return s;
    }
    qsort(files, (size_t)n, sizeof *files, cmp_str);
    *out = files;
    *n_out = n;
    return CTCD_OK;
}

/* Opens the cached shard of this corpus, building it first when absent or stale. */
static ctcd_status open_corpus(ctcd_trainer *t, ctcd_tokenizer *tok) {
    const ctcd_recipe *rc = &t->rc;
    char **files = NULL;
    int n = 0;
    CTCD_TRY(list_corpus(rc->pretrain.corpus, &files, &n));
    ctcd_corpus_opts o = {.doc_per_line = rc->pretrain.doc_per_line, .progress = 1};
    uint64_t h = 0;
    ctcd_status s = ctcd_corpus_source_hash((const char *const *)files, n, t->vocab_path, &o, &h);
    char path[CTCD_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%016llx.shard", rc->pretrain.cache, (unsigned long long)h);
    if (!s) s = ctcd_mkdirs(rc->pretrain.cache);
    if (!s) {
        ctcd_status open = ctcd_shard_open(path, &t->mlm.shard);
        if (!open && t->mlm.shard.source_hash == h) {
            ctcd_info("corpus: using cached %s (%lld tokens)", path,
                      (long long)t->mlm.shard.n_tokens);
        } else {
            if (open) {
                ctcd_debug("corpus cache miss: %s", ctcd_status_message(open));
                ctcd_status_free(open);
            }
            ctcd_shard_close(&t->mlm.shard);
            s = ctcd_corpus_build((const char *const *)files, n, tok, h, &o, path);
            if (!s) s = ctcd_shard_open(path, &t->mlm.shard);
        }
    }
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    return s;
}

/* Train and held-out views of the shard: the held-out part is the corpus's end. */
static ctcd_status split_corpus(ctcd_trainer *t) {
    const int64_t n = t->mlm.shard.n_tokens;
    int64_t n_dev = (int64_t)ceil((double)t->rc.pretrain.dev_fraction * (double)n);
    const int64_t min_seq = t->rc.data.max_len;
    if (n_dev < min_seq) n_dev = min_seq;
    if (n - n_dev < min_seq)
        return CTCD_ERR(CTCD_E_INVALID,
                        "pretrain.corpus has %lld tokens: too few for a training split and a "
                        "held-out split of sequences of %d tokens",
                        (long long)n, t->rc.data.max_len);
    t->mlm.train_view = t->mlm.shard;
    t->mlm.train_view.map = NULL; /* views never unmap */
    t->mlm.train_view.n_tokens = n - n_dev;
    t->mlm.dev_view = t->mlm.train_view;
    t->mlm.dev_view.tokens = t->mlm.shard.tokens + (n - n_dev);
    t->mlm.dev_view.n_tokens = n_dev;
    ctcd_info("corpus: %lld training tokens, %lld held out", (long long)(n - n_dev),
              (long long)n_dev);
    return CTCD_OK;
}

static ctcd_status setup_batches(ctcd_trainer *t, ctcd_tokenizer *tok) {
    const ctcd_recipe *rc = &t->rc;
    int max_pred = rc->pretrain.max_predictions;
    if (max_pred <= 0) max_pred = (int)ceil(rc->pretrain.mask_prob * rc->data.max_len) + 1;
    t->mlm.max_predictions = max_pred;
    ctcd_mlm_config c = {.batch = rc->train.batch, .max_len = rc->data.max_len,
                         .mask_prob = rc->pretrain.mask_prob,
                         .whole_word = rc->pretrain.whole_word,
                         .sentence_pair = rc->pretrain.sentence_pair,
                         .seed = ctcd_seed_derive(rc->train.seed, "data/order"),
                         .max_predictions = max_pred};
    CTCD_TRY(ctcd_mlm_batcher_init(&t->mlm.batcher, &t->mlm.train_view, tok, &c));
    c.batch = rc->eval.batch;
    c.seed = ctcd_seed_derive(rc->train.seed, "data/heldout");
    CTCD_TRY(ctcd_mlm_batcher_init(&t->mlm.dev_batcher, &t->mlm.dev_view, tok, &c));
    t->B_cap = rc->train.batch > rc->eval.batch ? rc->train.batch : rc->eval.batch;
    t->T_cap = (rc->data.max_len + 7) / 8 * 8;
    t->mlm.R_cap = (int64_t)t->B_cap * max_pred;
    t->steps_per_epoch = t->mlm.batcher.n_batches;
    t->total_steps = rc->train.max_steps > 0 ? rc->train.max_steps
                                             : (int64_t)rc->train.epochs * t->steps_per_epoch;
    t->warmup_steps = (int64_t)(rc->train.warmup * (double)t->total_steps + 0.5);
    return CTCD_OK;
}

ctcd_status ctcd_pretrain_setup(ctcd_trainer *t, int append) {
    const ctcd_recipe *rc = &t->rc;
    t->mlm.head = CTCD_HEAD_MLM;
    t->loss_kind = CTCD_LOSS_CE_KL;
    t->metric = CTCD_GLUE_ACC;
    CTCD_TRY(ctcd_trainer_find_vocab(rc, t->vocab_path, sizeof t->vocab_path));
    CTCD_TRY(ctcd_tokenizer_load(t->vocab_path, &t->tok));
    CTCD_TRY(open_corpus(t, t->tok));
    CTCD_TRY(split_corpus(t));
    CTCD_TRY(setup_batches(t, t->tok));
    CTCD_TRY(ctcd_backend_create_precision(rc->train.backend, rc->train.precision, &t->be));
    t->be->deterministic = rc->train.deterministic;
    CTCD_TRY(ctcd_trainer_create_models(t));
    CTCD_TRY(ctcd_trainer_alloc_batch_buffers(t));
    t->last_eval_step = -1;
    t->best[0] = t->best[1] = -1e300;
    return ctcd_trainer_open_run_dir(t, append);
}

ctcd_status ctcd_pretrainer_create(const ctcd_recipe *rc, ctcd_trainer **out) {
    *out = NULL;
    if (strcmp(rc->task, "mlm") != 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: pre-training needs task: mlm (got %s)",
                        rc->source[0] ? rc->source : "recipe", rc->task);
    return ctcd_trainer_create(rc, out);
}

ctcd_status ctcd_pretrainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res) {
    memset(res, 0, sizeof *res);
    res->task_metric = "mlm_acc";
    snprintf(res->split, sizeof res->split, "held-out");
    ctcd_backend *be = t->be;
    CTCD_TRY(ctcd_mlm_batcher_seek(&t->mlm.dev_batcher, (ctcd_batcher_cursor){0, 0}));
    double loss[2] = {0, 0}, correct[2] = {0, 0}, rows = 0;
    const ctcd_mlm_batch *mb;
    ctcd_status st = CTCD_OK;
    ctcd_range_push(be, "eval");
    for (int64_t k = 0; !st && k < t->rc.pretrain.eval_batches &&
                        ctcd_mlm_batcher_next(&t->mlm.dev_batcher, &mb);
         k++) {
        ctcd_batch_dev db;
        st = ctcd_trainer_upload_mlm_batch(t, mb, &db);
        for (int i = 0; !st && i < t->n_models; i++)
            st = ctcd_model_forward(t->models[i], &db, 0, 0);
        ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = t->n_models, .rows = mb->n_pred,
                            .classes = ctcd_bert_out_classes(&t->models[0]->cfg),
                            .temperature = 1.0f, .hard_w = {1.0f, 1.0f}};
        ctcd_loss_io io = {.labels = t->bufs.pred_labels, .terms = t->d_terms};
        for (int i = 0; i < t->n_models; i++) io.logits[i] = t->models[i]->acts.logits;
        float terms[CTCD_LOSS_NTERMS];
        if (!st && mb->n_pred > 0) st = be->loss(be, &d, &io);
        if (!st && mb->n_pred > 0) st = be->download(be, terms, t->d_terms, sizeof terms);
        for (int i = 0; !st && mb->n_pred > 0 && i < t->n_models; i++) {
            loss[i] += (double)terms[CTCD_TERM_HARD0 + i] * (double)mb->n_pred;
            correct[i] += terms[CTCD_TERM_CORRECT0 + i];
        }
        rows += (double)mb->n_pred;
    }
    ctcd_range_pop(be);
    CTCD_TRY(st);
    if (rows == 0) return CTCD_ERR(CTCD_E_INVALID, "the held-out corpus gave no masked rows");
    for (int i = 0; i < t->n_models; i++) {
        ctcd_metric_set *m = &res->m[i];
        m->n = 2;
        m->names[0] = "mlm_acc";
        m->values[0] = correct[i] / rows;
        m->names[1] = "mlm_loss";
        m->values[1] = loss[i] / rows;
        m->score = m->values[0];
    }
    res->examples = (int64_t)rows;
    return CTCD_OK;
}
