/* evaluate.c — dev-set evaluation of every model of a trainer: logits of each dev split come
 * back to the host and the task's metrics are computed there (include/ctcd/glue.h). */
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static const char *metric_label(ctcd_glue_metric k) {
    switch (k) {
    case CTCD_GLUE_MCC: return "mcc";
    case CTCD_GLUE_ACC: return "acc";
    case CTCD_GLUE_ACC_F1: return "acc+f1";
    case CTCD_GLUE_PEARSON_SPEARMAN: return "pearson+spearman";
    case CTCD_GLUE_ACC_MM: return "acc m/mm";
    }
    return "?";
}

/* Evaluates model slots 0..n-1 of `models` into out[0..n-1]. */
static ctcd_status evaluate_models(ctcd_trainer *t, ctcd_model *const *models, int n,
                                   ctcd_metric_set *out, ctcd_eval_result *res) {
    float *logits[CTCD_MAX_DEV_SPLITS] = {0};
    const ctcd_dataset *gold[CTCD_MAX_DEV_SPLITS] = {0};
    const int C = ctcd_model_predict_width(t->models[0], &t->dev[0]);
    ctcd_status st = CTCD_OK;
    for (int s = 0; !st && s < t->n_dev; s++) {
        gold[s] = &t->dev[s];
        res->examples += t->dev[s].n;
        logits[s] = malloc((size_t)t->dev[s].n * (size_t)C * sizeof(float));
        if (!logits[s])
            st = CTCD_ERR(CTCD_E_NOMEM, "out of memory evaluating %s", t->dev[s].name);
    }
    ctcd_range_push(t->be, "eval");
    for (int i = 0; !st && i < n; i++) {
        for (int s = 0; !st && s < t->n_dev; s++)
            st = ctcd_model_predict(models[i], &t->dev[s], t->rc.eval.batch,
                                    t->rc.data.max_len, logits[s]);
        if (!st)
            st = ctcd_glue_metrics(t->metric, t->n_dev, (const float *const *)logits, gold, C,
                                   &out[i]);
    }
    ctcd_range_pop(t->be);
    for (int s = 0; s < t->n_dev; s++) free(logits[s]);
    return st;
}

ctcd_status ctcd_trainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res) {
    memset(res, 0, sizeof *res);
    res->task_metric = metric_label(t->metric);
    for (int s = 0; s < t->n_dev; s++) {  /* the split names, joined by '+' */
        const size_t used = strlen(res->split);
        snprintf(res->split + used, sizeof res->split - used, "%s%s", s ? "+" : "",
                 t->dev_names[s]);
    }
    return evaluate_models(t, t->models, t->n_models, res->m, res);
}

ctcd_status ctcd_trainer_evaluate_teacher(ctcd_trainer *t, ctcd_metric_set *out) {
    ctcd_eval_result res;
    memset(&res, 0, sizeof res);
    return evaluate_models(t, &t->teacher.model, 1, out, &res);
}
