/* run_checkpoints.c — the run directory's model checkpoints, in Hugging Face layout:
 * <output>/<role>/best (highest dev task score so far) and <output>/<role>/last, each with
 * config.json, model.safetensors and (GLUE tasks) the vocab.txt the model was trained with,
 * so `ctcd predict <output>/small/best --task ...` and transformers can both read it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "train_internal.h"

ctcd_status ctcd_copy_vocab(const char *src, const char *dir) {
    char path[CTCD_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    return ctcd_error_wrap(ctcd_copy_file(src, path), "copying the vocabulary");
}

ctcd_status ctcd_trainer_export(const ctcd_trainer *t, const ctcd_model *m, const char *dir) {
    ctcd_hf_save_opts o = {.dtype = CTCD_F32,
                           .labels = t->task && t->task->n_classes > 1 ? t->task->label_names
                                                                      : NULL};
    CTCD_TRY(ctcd_model_save_hf(m, dir, &o));
    if (t->vocab_path[0]) CTCD_TRY(ctcd_copy_vocab(t->vocab_path, dir));
    return CTCD_OK;
}

ctcd_status ctcd_trainer_save(ctcd_trainer *t, int slot, const char *which) {
    if (!t->rc.output[0]) return CTCD_OK;
    char dir[CTCD_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s/%s", t->rc.output, t->models[slot]->name, which);
    CTCD_TRY(ctcd_trainer_export(t, t->models[slot], dir));
    CTCD_TRY(ctcd_trainer_save_rationale(t, slot, which));
    ctcd_debug("saved %s", dir);
    return CTCD_OK;
}
