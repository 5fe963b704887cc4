/* augment_data.c — the trainer's side of data augmentation: turns the recipe's
 * data.augment.* keys into augmentation jobs over the task's train.tsv, builds or reuses
 * their cache files (augment_cache.c), loads them with the task's GLUE loader and appends
 * the rows to the training set.
 *
 * Hard labels of augmented rows: with distill.hard_augmented = 0 (the default) they are
 * stored as label -1 (classification) or a NaN target (regression), which the loss op treats
 * as unlabelled (backend.h, ctcd_loss_desc): such rows are trained through the mutual terms
 * only, i.e. labelled by the models themselves. distill.hard_augmented = 1 keeps the
 * original label. Other values would need a per-row weight in the loss op and are refused.
 * Dev sets are never augmented. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "ctcd/augment.h"
#include "ctcd/log.h"
#include "train_internal.h"

int ctcd_augment_enabled(const ctcd_recipe *rc) {
    const ctcd_augment_recipe *a = &rc->data.augment;
    return a->eda.num_aug > 0 || (a->mlm.checkpoint[0] && a->mlm.num_aug > 0);
}

/* The strength of one EDA operation: its own key when >= 0, else data.augment.eda.alpha. */
static float eda_strength(const ctcd_augment_recipe *a, float own) {
    return own >= 0.0f ? own : a->eda.alpha;
}

static ctcd_status check_recipe(const ctcd_recipe *rc) {
    const float h = rc->distill.hard_augmented;
    if (h != 0.0f && h != 1.0f)
        return CTCD_ERR(CTCD_E_INVALID,
                        "distill.hard_augmented: %g is not supported: 0 (augmented rows have no "
                        "hard label) or 1 (they keep the original label); other weights would "
                        "need a per-row weight in the loss op",
                        (double)h);
    const ctcd_augment_recipe *a = &rc->data.augment;
    if (a->eda.num_aug > 0) {
        const float s[4] = {a->eda.alpha_sr, a->eda.alpha_ri, a->eda.alpha_rs, a->eda.p_rd};
        int on = 0;
        for (int i = 0; i < 4; i++) on += eda_strength(a, s[i]) > 0.0f;
        if (!on)
            return CTCD_ERR(CTCD_E_INVALID, "data.augment.eda.num_aug is %d but every EDA "
                            "operation has strength 0 (data.augment.eda.alpha and its overrides)",
                            a->eda.num_aug);
    }
    return CTCD_OK;
}

/* Appends the examples of an augmented split to train, without hard labels unless kept. */
static ctcd_status append_rows(ctcd_dataset *train, const ctcd_dataset *aug, int keep_labels) {
    for (int64_t i = 0; i < aug->n; i++) {
        const int64_t o = aug->offsets[i];
        const int32_t label = keep_labels && aug->labels ? aug->labels[i] : -1;
        const float target = keep_labels && aug->targets ? aug->targets[i] : NAN;
        CTCD_TRY(ctcd_dataset_push(train, aug->tokens + o, aug->types + o,
                                   ctcd_dataset_len(aug, i), label, target));
    }
    return CTCD_OK;
}

/* Builds (or reuses) one job's cache file and appends its rows. */
static ctcd_status run_job(ctcd_trainer *t, const ctcd_augment_job *job, int64_t *added) {
    ctcd_augment_result res;
    CTCD_TRY(ctcd_augment_build(job, &res));
    ctcd_glue_options opt = {.max_len = t->rc.data.max_len, .strict = t->rc.data.strict};
    ctcd_glue_split s;
    CTCD_TRY(ctcd_error_wrap(ctcd_glue_load_file(t->task, res.path, 1, t->tok, &opt, &s),
                             "reading augmented rows"));
    if (s.report.skipped)
        ctcd_warn("%s: skipped %lld malformed line(s); first: %s", res.path,
                  (long long)s.report.skipped, s.report.first_error);
    ctcd_status st = append_rows(&t->train, &s.data, t->rc.distill.hard_augmented == 1.0f);
    *added = s.data.n;
    ctcd_glue_split_free(&s);
    return st;
}

/* data.augment.cache, else <output>/augment-cache, else a temporary directory (*tmp = 1). */
static ctcd_status cache_dir(const ctcd_recipe *rc, char *out, size_t cap, int *tmp) {
    *tmp = 0;
    if (rc->data.augment.cache[0]) {
        snprintf(out, cap, "%s", rc->data.augment.cache);
    } else if (rc->output[0]) {
        snprintf(out, cap, "%s/augment-cache", rc->output);
    } else {
        const char *base = getenv("TMPDIR");
        snprintf(out, cap, "%s/ctcd-augment-XXXXXX", base && base[0] ? base : "/tmp");
        if (!mkdtemp(out))
            return CTCD_ERR(CTCD_E_IO, "data.augment: cannot create a temporary directory %s: %s",
                            out, strerror(errno));
        *tmp = 1;
        ctcd_info("data.augment.cache and output are empty: augmentation is not cached "
                  "(computed in %s, removed after loading)", out);
    }
    return CTCD_OK;
}

/* Removes the temporary cache directory made by cache_dir and the files in it (only
 * ctcd_augment_build wrote there). */
static void remove_tmp_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[CTCD_PATH_MAX + 320];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static ctcd_status run_eda(ctcd_trainer *t, ctcd_augment_job job, int64_t *added) {
    const ctcd_augment_recipe *a = &t->rc.data.augment;
    job.method = CTCD_AUGMENT_EDA;
    job.eda.num_aug = a->eda.num_aug;
    job.eda.strength[CTCD_EDA_SR] = eda_strength(a, a->eda.alpha_sr);
    job.eda.strength[CTCD_EDA_RI] = eda_strength(a, a->eda.alpha_ri);
    job.eda.strength[CTCD_EDA_RS] = eda_strength(a, a->eda.alpha_rs);
    job.eda.strength[CTCD_EDA_RD] = eda_strength(a, a->eda.p_rd);
    return ctcd_error_wrap(run_job(t, &job, added), "data.augment.eda");
}

static ctcd_status run_mlm(ctcd_trainer *t, ctcd_augment_job job, int64_t *added) {
    const ctcd_augment_recipe *a = &t->rc.data.augment;
    char path[CTCD_PATH_MAX + 16];
    struct stat sb;
    snprintf(path, sizeof path, "%s/config.json", a->mlm.checkpoint);
    if (stat(path, &sb) != 0)
        return CTCD_ERR(CTCD_E_IO, "data.augment.mlm.checkpoint: '%s' is not a checkpoint "
                        "directory (no config.json)", a->mlm.checkpoint);
    /* A checkpoint without its own vocab.txt is read with the data's vocabulary. */
    snprintf(path, sizeof path, "%s/vocab.txt", a->mlm.checkpoint);
    job.method = CTCD_AUGMENT_MLM;
    job.mlm_checkpoint = a->mlm.checkpoint;
    job.mlm_vocab = stat(path, &sb) == 0 ? path : t->vocab_path;
    job.mlm = (ctcd_mlm_aug_config){.p = a->mlm.p, .top_k = a->mlm.top_k,
                                    .max_len = t->rc.data.max_len, .batch = 32};
    job.mlm_num_aug = a->mlm.num_aug;
    return ctcd_error_wrap(run_job(t, &job, added), "data.augment.mlm");
}

ctcd_status ctcd_trainer_augment(ctcd_trainer *t, const char *dir, const int64_t *lines,
                                 int64_t n_lines) {
    const ctcd_recipe *rc = &t->rc;
    if (!ctcd_augment_enabled(rc)) return CTCD_OK;
    CTCD_TRY(check_recipe(rc));
    const ctcd_augment_recipe *a = &rc->data.augment;
    char src[CTCD_PATH_MAX + 16], cdir[CTCD_PATH_MAX + 32];
    snprintf(src, sizeof src, "%s/train.tsv", dir);
    int tmp;
    CTCD_TRY(cache_dir(rc, cdir, sizeof cdir, &tmp));
    const ctcd_augment_job job = {.task = t->task, .src_path = src, .lines = lines,
                                  .n_lines = n_lines, .seed = a->seed, .cache_dir = cdir};
    const int64_t n0 = t->train.n;
    int64_t n_eda = 0, n_mlm = 0;
    ctcd_status st = CTCD_OK;
    if (a->eda.num_aug > 0) st = run_eda(t, job, &n_eda);
    if (!st && a->mlm.checkpoint[0] && a->mlm.num_aug > 0) st = run_mlm(t, job, &n_mlm);
    if (tmp) remove_tmp_dir(cdir);
    CTCD_TRY(st);
    ctcd_info("%s: %lld examples + %lld augmented (eda %lld, mlm %lld), hard labels of "
              "augmented rows %s",
              t->train.name, (long long)n0, (long long)(n_eda + n_mlm), (long long)n_eda,
              (long long)n_mlm, rc->distill.hard_augmented == 1.0f ? "kept" : "ignored");
    return CTCD_OK;
}
