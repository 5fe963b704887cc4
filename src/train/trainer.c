/* trainer.c — building a co-training run from a recipe: data, backend, models, batch
 * buffers and the run directory (include/ctcd/train.h). The step itself is in step.c, the
 * loop in run.c, evaluation in evaluate.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/augment.h"
#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/train.h"
#include "ctcd/zero.h"
#include "train_internal.h"

static ctcd_status load_data(ctcd_trainer *t) {
    const ctcd_recipe *rc = &t->rc;
    if (strcmp(rc->task, "builtin:demo") == 0) {
        ctcd_demo_config dc = {
            .train_examples = rc->data.demo.train_examples,
            .dev_examples = rc->data.demo.dev_examples,
            .seed = rc->data.demo.seed,
            .max_depth = rc->data.demo.max_depth,
            .max_len = rc->data.max_len,
        };
        if (ctcd_augment_enabled(rc))
            return CTCD_ERR(CTCD_E_INVALID, "data.augment: augmentation needs a GLUE task's "
                            "text; builtin:demo has none");
        t->metric = CTCD_GLUE_ACC;
        t->n_dev = 1;
        t->dev_names[0] = "dev";
        CTCD_TRY(ctcd_error_wrap(ctcd_demo_generate(&dc, &t->train, &t->dev[0]),
                                 "builtin:demo"));
        ctcd_trainer_keep_fraction(t, &t->train);
        return CTCD_OK;
    }
    if (strcmp(rc->task, "esnli") == 0 || strcmp(rc->task, "cqa") == 0)
        return ctcd_trainer_load_rationale_task(t);
    return ctcd_trainer_load_glue(t);
}

/* append: a resumed run keeps the lines already logged, and its recipe.yaml is rewritten
 * by resume.c only once the state has loaded (include/ctcd/resume.h). */
ctcd_status ctcd_trainer_open_run_dir(ctcd_trainer *t, int append) {
    const char *dir = t->rc.output;
    if (!dir[0]) return CTCD_OK;
    CTCD_TRY(ctcd_mkdirs(dir));
    char path[CTCD_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/recipe.yaml", dir);
    if (!append) CTCD_TRY(ctcd_recipe_write(&t->rc, path));
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    t->log = fopen(path, append ? "a" : "w");
    if (!t->log) return CTCD_ERR(CTCD_E_IO, "cannot create '%s': %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    t->evlog = fopen(path, append ? "a" : "w");
    if (!t->evlog) return CTCD_ERR(CTCD_E_IO, "cannot create '%s': %s", path, strerror(errno));
    return CTCD_OK;
}

/* Starts a model from an HF checkpoint: its config.json gives the architecture (the recipe's
 * layers/hidden/heads/intermediate are not used), the task gives the head. r is a section of
 * rc.models (CTCD_TEACHER included): a teacher must have its head in the file. */
static ctcd_status open_checkpoint(ctcd_trainer *t, int r, uint64_t seed, ctcd_model **out) {
    const ctcd_model_recipe *mr = &t->rc.models[r];
    ctcd_hf_open_opts o = {.name = ctcd_role_names[r], .B_max = t->B_cap, .T_max = t->T_cap,
                           .seed = seed, .head = t->mlm.head,
                           .n_labels = ctcd_trainer_is_mlm(t) ? 0 : t->train.n_classes,
                           .max_predictions = t->mlm.max_predictions,
                           .multiple_choice = t->mc.n_choices > 1};
    ctcd_hf_load_report rep;
    memset(&rep, 0, sizeof rep);
    ctcd_status st = ctcd_model_open_hf(t->be, mr->init, &o, out, NULL, &rep);
    if (st) return ctcd_error_wrap(st, "models.%s.init", ctcd_role_names[r]);
    const ctcd_bert_config *c = &(*out)->cfg;
    ctcd_info("models.%s: %s (%d layers, hidden %d, %d heads), %d tensors loaded, %d fresh "
              "(%s), %d unused",
              ctcd_role_names[r], mr->init, c->n_layers, c->hidden, c->n_heads, rep.n_loaded,
              rep.n_fresh, rep.n_fresh ? rep.fresh[0] : "-", rep.n_unused);
    if (r == CTCD_TEACHER && rep.n_fresh > 0) {
        ctcd_status e = CTCD_ERR(CTCD_E_INVALID,
                                 "models.teacher.init: '%s' lacks %d head tensor(s) (%s): a "
                                 "teacher must be a checkpoint trained on this task, with its "
                                 "%s head",
                                 mr->init, rep.n_fresh, rep.fresh[0],
                                 ctcd_trainer_is_mlm(t) ? "masked-LM" : "classifier");
        ctcd_hf_load_report_free(&rep);
        return e;
    }
    ctcd_hf_load_report_free(&rep);
    const int32_t data_vocab =
        ctcd_trainer_is_mlm(t) ? t->mlm.shard.vocab_size : t->train.vocab_size;
    if (data_vocab > c->vocab_size)
        return CTCD_ERR(CTCD_E_INVALID,
                        "models.%s.init: the checkpoint's vocabulary has %d entries but the "
                        "data's tokenizer produces ids up to %d (use the checkpoint's vocab.txt "
                        "as data.vocab)",
                        ctcd_role_names[r], c->vocab_size, data_vocab - 1);
    return CTCD_OK;
}

ctcd_status ctcd_trainer_create_models(ctcd_trainer *t) {
    const ctcd_recipe *rc = &t->rc;
    const int mlm = ctcd_trainer_is_mlm(t);
    /* multiple choice: one score per (example, choice) row */
    const int n_labels = mlm || t->mc.n_choices > 1 ? 1 : t->train.n_classes;
    const int vocab = mlm ? t->mlm.shard.vocab_size : t->train.vocab_size;
    for (int r = 0; r < CTCD_N_ROLES; r++) {
        const ctcd_model_recipe *mr = &rc->models[r];
        if (!mr->present) continue;
        const int i = t->n_models;
        char name[64];
        snprintf(name, sizeof name, "%s/init", ctcd_role_names[r]);
        const uint64_t init_seed = ctcd_seed_derive(rc->train.seed, name);
        if (mr->init[0]) {
            CTCD_TRY(open_checkpoint(t, r, init_seed, &t->models[i]));
        } else {
            char who[32];
            snprintf(who, sizeof who, "models.%s", ctcd_role_names[r]);
            ctcd_bert_config cfg;
            CTCD_TRY(ctcd_bert_config_init(&cfg, who, mr->layers, mr->hidden, mr->heads,
                                           mr->intermediate, vocab, 512, 2, n_labels));
            cfg.head = t->mlm.head;
            cfg.multiple_choice = t->mc.n_choices > 1;
            cfg.max_predictions = t->mlm.max_predictions;
            cfg.hidden_dropout = mr->hidden_dropout;
            cfg.attn_dropout = mr->attn_dropout;
            cfg.initializer_range = mr->initializer_range;
            cfg.pad_id = mlm ? 0 : t->train.special.pad;
            CTCD_TRY(ctcd_model_create(t->be, &cfg, ctcd_role_names[r], t->B_cap, t->T_cap,
                                       &t->models[i]));
            CTCD_TRY(ctcd_model_init_random(t->models[i], init_seed));
        }
        t->role[i] = r;
        t->n_models++;
        snprintf(name, sizeof name, "%s/dropout", ctcd_role_names[r]);
        t->models[i]->dropout_seed = ctcd_seed_derive(rc->train.seed, name);
    }
    if (rc->models[CTCD_TEACHER].present) {
        CTCD_TRY(open_checkpoint(t, CTCD_TEACHER, ctcd_seed_derive(rc->train.seed, "teacher"),
                                 &t->teacher.model));
        ctcd_model_freeze(t->teacher.model);
        const int c0 = ctcd_bert_out_classes(&t->models[0]->cfg);
        const int ct = ctcd_bert_out_classes(&t->teacher.model->cfg);
        if (ct != c0 || t->teacher.model->cfg.multiple_choice != t->models[0]->cfg.multiple_choice)
            return CTCD_ERR(CTCD_E_INVALID, "models.teacher.init: the teacher has %d outputs "
                            "per row%s but the trained models have %d%s", ct,
                            t->teacher.model->cfg.multiple_choice ? " (multiple choice)" : "", c0,
                            t->models[0]->cfg.multiple_choice ? " (multiple choice)" : "");
    }
    return CTCD_OK;
}

ctcd_status ctcd_trainer_alloc_batch_buffers(ctcd_trainer *t) {
    ctcd_backend *be = t->be;
    t->h_cls = malloc((size_t)t->B_cap * sizeof(int32_t));
    t->mlm.h_pred = malloc((size_t)(t->mlm.R_cap > 0 ? t->mlm.R_cap : 1) * sizeof(int32_t));
    if (!t->h_cls || !t->mlm.h_pred)
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory for the batch buffers");
    CTCD_TRY(ctcd_batch_buffers_alloc(&t->bufs, be, t->B_cap, t->T_cap, t->mlm.R_cap,
                                      CTCD_BATCH_LABELS | CTCD_BATCH_MASKED, "batch"));
    return be->alloc(be, CTCD_LOSS_NTERMS * sizeof(float), "loss terms", (void **)&t->d_terms);
}

static ctcd_status setup(ctcd_trainer *t, int append) {
    if (strcmp(t->rc.task, "mlm") == 0) return ctcd_pretrain_setup(t, append);
    const ctcd_recipe *rc = &t->rc;
    CTCD_TRY(load_data(t));
    t->loss_kind = t->train.n_classes == 1 ? CTCD_LOSS_MSE : CTCD_LOSS_CE_KL;
    CTCD_TRY(ctcd_backend_create_precision(rc->train.backend, rc->train.precision, &t->be));
    t->be->deterministic = rc->train.deterministic;
    if (t->be->device == CTCD_DEVICE_CPU && strcmp(rc->train.precision, "bf16") == 0)
        ctcd_info("backend cpu computes in fp32 (train.precision bf16 applies to CUDA only)");
    ctcd_batcher_config bc = {
        .batch = rc->train.batch,
        .max_len = rc->data.max_len,
        .pad_multiple = 8,
        .shuffle = 1,
        .bucket_batches = 50,
        .seed = ctcd_seed_derive(rc->train.seed, "data/order"),
    };
    CTCD_TRY(ctcd_batcher_init(&t->batcher, &t->train, &bc));
    /* rows: a multiple-choice example takes K */
    t->B_cap = (rc->train.batch > rc->eval.batch ? rc->train.batch : rc->eval.batch) *
               ctcd_dataset_seqs(&t->train);
    t->T_cap = (rc->data.max_len + 7) / 8 * 8;
    CTCD_TRY(ctcd_trainer_create_models(t));
    CTCD_TRY(ctcd_trainer_create_rationale(t));
    CTCD_TRY(ctcd_trainer_alloc_batch_buffers(t));
    t->steps_per_epoch = t->batcher.n_batches;
    t->total_steps = rc->train.max_steps > 0 ? rc->train.max_steps
                                             : (int64_t)rc->train.epochs * t->steps_per_epoch;
    t->warmup_steps = (int64_t)(rc->train.warmup * (double)t->total_steps + 0.5);
    t->last_eval_step = -1;
    t->best[0] = t->best[1] = -1e300;
    return ctcd_trainer_open_run_dir(t, append);
}

ctcd_status ctcd_trainer_create_mode(const ctcd_recipe *rc, int append_logs,
                                     ctcd_run_existing existing, int *lock_fd,
                                     ctcd_trainer **out) {
    *out = NULL;
    ctcd_trainer *t = calloc(1, sizeof *t);
    if (!t) return CTCD_ERR(CTCD_E_NOMEM, "out of memory creating the trainer");
    t->lock_fd = *lock_fd;
    *lock_fd = -1;
    t->rc = *rc;
    ctcd_status st = ctcd_recipe_validate(rc);
    /* The lock first: a second process fails before it loads data or touches a file. */
    if (!st && rc->output[0] && t->lock_fd < 0) st = ctcd_run_dir_lock(rc->output, &t->lock_fd);
    if (!st && rc->output[0] && !append_logs) st = ctcd_run_dir_prepare(rc->output, existing);
    if (!st) st = setup(t, append_logs);
    if (st) {
        ctcd_trainer_destroy(t);
        return st;
    }
    *out = t;
    return CTCD_OK;
}

ctcd_status ctcd_trainer_create_ex(const ctcd_recipe *rc, ctcd_run_existing existing,
                                   ctcd_trainer **out) {
    int fd = -1;
    return ctcd_trainer_create_mode(rc, 0, existing, &fd, out);
}

ctcd_status ctcd_trainer_create(const ctcd_recipe *rc, ctcd_trainer **out) {
    return ctcd_trainer_create_ex(rc, CTCD_RUN_OVERWRITE, out);
}

ctcd_status ctcd_trainer_set_comm(ctcd_trainer *t, ctcd_comm *comm) {
    t->comm = comm;
    if (!comm || comm->world == 1) return CTCD_OK;
    /* Every rank must start at the same step (a rank that did not load the state would wait
     * in an all-reduce forever); exact while world · step < 2^24. */
    float steps[2] = {(float)t->step, (float)t->total_steps};
    CTCD_TRY(comm->allreduce_sum(comm, NULL, steps, 2));
    if (steps[0] != (float)t->step * (float)comm->world ||
        steps[1] != (float)t->total_steps * (float)comm->world)
        return CTCD_ERR(CTCD_E_INVALID, "rank %d is at step %lld of %lld, but the ranks' "
                        "steps do not agree (mean %.1f of %.1f): every rank must start from the "
                        "same state and recipe", comm->rank, (long long)t->step,
                        (long long)t->total_steps, (double)steps[0] / comm->world,
                        (double)steps[1] / comm->world);
    if (!t->rc.train.zero) return CTCD_OK;
    for (int i = 0; i < t->n_models; i++) CTCD_TRY(ctcd_zero_shard(comm, &t->models[i]->ps));
    ctcd_info("ZeRO-1: rank %d keeps the AdamW moments of 1/%d of each model's parameters",
              comm->rank, comm->world);
    return CTCD_OK;
}

void ctcd_trainer_destroy(ctcd_trainer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_models; i++) ctcd_model_destroy(t->models[i]);
    ctcd_model_destroy(t->teacher.model);
    ctcd_trainer_destroy_rationale(t);
    if (t->be) {
        ctcd_backend *be = t->be;
        ctcd_batch_buffers_free(&t->bufs);
        be->free(be, t->d_terms);
        ctcd_backend_destroy(be);
    }
    if (t->log) fclose(t->log);
    if (t->evlog) fclose(t->evlog);
    ctcd_batcher_free(&t->batcher);
    ctcd_mlm_batcher_free(&t->mlm.batcher);
    ctcd_mlm_batcher_free(&t->mlm.dev_batcher);
    ctcd_shard_close(&t->mlm.shard);
    ctcd_dataset_free(&t->train);
    for (int i = 0; i < CTCD_MAX_DEV_SPLITS; i++) ctcd_dataset_free(&t->dev[i]);
    ctcd_tokenizer_free(t->tok);
    ctcd_run_dir_unlock(t->lock_fd); /* last: every file of the run is closed */
    free(t->h_cls);
    free(t->mlm.h_pred);
    free(t);
}

ctcd_batcher_cursor ctcd_trainer_cursor(const ctcd_trainer *t) {
    return ctcd_trainer_is_mlm(t) ? t->mlm.batcher.cur : t->batcher.cur;
}

ctcd_status ctcd_trainer_seek(ctcd_trainer *t, ctcd_batcher_cursor cur) {
    return ctcd_trainer_is_mlm(t) ? ctcd_mlm_batcher_seek(&t->mlm.batcher, cur)
                                  : ctcd_batcher_seek(&t->batcher, cur);
}
