/* run_recipe.c — one in-process training run of a derived recipe, and the fine-tuned large
 * model that partner-choosing commands start from (`ctcd search`, `ctcd schedule`); see
 * include/ctcd/experiment.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ctcd/run.h"
#include "ctcd/log.h"
#include "ctcd/train.h"

ctcd_status ctcd_run_recipe_score(const ctcd_recipe *r, int role, const char *who,
                                  double *score) {
    CTCD_TRY(ctcd_recipe_validate(r));
    ctcd_trainer *t = NULL;
    ctcd_eval_result res;
    ctcd_status st = ctcd_trainer_create(r, &t);
    if (!st) st = ctcd_trainer_run(t, &res);
    const ctcd_train_progress p = t ? ctcd_trainer_progress(t) : (ctcd_train_progress){0};
    if (!st && p.stop_signal) st = CTCD_ERR(CTCD_E_INVALID, "%s: interrupted", who);
    if (!st) {
        int slot = 0;
        while (slot < ctcd_trainer_n_models(t) - 1 && ctcd_trainer_role(t, slot) != role)
            slot++;
        *score = isfinite(p.best[slot]) ? p.best[slot] : res.m[slot].score;
    }
    ctcd_trainer_destroy(t);
    return st;
}

/* Dev score of the large model of rc as initialised (models.large.init), nothing trained. */
static ctcd_status score_checkpoint(const ctcd_recipe *rc, const char *who, double *score) {
    ctcd_recipe r = *rc;
    r.models[CTCD_SMALL].present = 0;
    r.models[CTCD_TEACHER].present = 0;
    r.output[0] = '\0'; /* no run directory: nothing is written */
    /* Dev only: the training split is cut to one example right after it is read, and no
     * augmentation (nor its cache files) or rationale decoders are made for it. */
    r.data.max_train_examples = 1;
    r.data.train_fraction = 1.0f;
    r.data.augment.eda.num_aug = 0;
    r.data.augment.mlm.num_aug = 0;
    snprintf(r.rationale.source, sizeof r.rationale.source, "none");
    ctcd_trainer *t = NULL;
    ctcd_eval_result res;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    if (!st) st = ctcd_trainer_evaluate(t, &res);
    if (!st) *score = res.m[0].score;
    ctcd_trainer_destroy(t);
    if (st) return ctcd_error_wrap(st, "%s: scoring the teacher %s on dev", who,
                                    rc->models[CTCD_LARGE].init);
    return CTCD_OK;
}

ctcd_status ctcd_ensure_teacher(const ctcd_recipe *rc, const char *dir, const char *who,
                                char *teacher, size_t cap, double *score) {
    if (score) *score = NAN;
    if (rc->models[CTCD_LARGE].init[0]) {
        if (snprintf(teacher, cap, "%s", rc->models[CTCD_LARGE].init) >= (int)cap)
            return CTCD_ERR(CTCD_E_INVALID, "%s: path too long: %s", who,
                            rc->models[CTCD_LARGE].init);
        if (!score) return CTCD_OK;
        CTCD_TRY(score_checkpoint(rc, who, score));
        ctcd_log(CTCD_LOG_INFO, "%s: teacher %s dev score %.4f", who, teacher, *score);
        return CTCD_OK;
    }
    if (!rc->models[CTCD_LARGE].present)
        return CTCD_ERR(CTCD_E_INVALID, "%s: %s needs models.large (the teacher)",
                        rc->source[0] ? rc->source : "recipe", who);
    ctcd_recipe r = *rc;
    r.models[CTCD_SMALL].present = 0;
    r.models[CTCD_TEACHER].present = 0;
    if (snprintf(r.output, sizeof r.output, "%s/teacher", dir) >= (int)sizeof r.output)
        return CTCD_ERR(CTCD_E_INVALID, "%s: directory name too long: %s", who, dir);
    ctcd_log(CTCD_LOG_INFO, "%s: fine-tuning the teacher into %s", who, r.output);
    double s;
    CTCD_TRY(ctcd_run_recipe_score(&r, CTCD_LARGE, who, &s));
    ctcd_log(CTCD_LOG_INFO, "%s: teacher dev score %.4f", who, s);
    if (score) *score = s;
    if (snprintf(teacher, cap, "%s/large/best", r.output) >= (int)cap)
        return CTCD_ERR(CTCD_E_INVALID, "%s: directory name too long: %s", who, r.output);
    return CTCD_OK;
}
