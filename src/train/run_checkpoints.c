/* run_checkpoints.c — the run directory's model checkpoints, in Hugging Face layout:
 * <output>/<role>/best (highest dev task score so far) and <output>/<role>/last, each with
 * config.json, model.safetensors and (GLUE tasks) the vocab.txt the model was trained with,
 * so `ctcd predict <output>/small/best --task ...` and transformers can both read it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "train_internal.h"

ctcd_status ctcd_copy_vocab(const char *src, const char *dir) {
    FILE *f = fopen(src, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "cannot read vocabulary '%s': %s", src, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    ctcd_status st = CTCD_OK;
    do {
        if (cap - len < 65536) {
            char *nb = realloc(buf, cap = cap * 2 + 65536);
            if (!nb) {
                st = CTCD_ERR(CTCD_E_NOMEM, "out of memory copying '%s'", src);
                break;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (!st && ferror(f)) st = CTCD_ERR(CTCD_E_IO, "error reading '%s': %s", src, strerror(errno));
    fclose(f);
    char path[CTCD_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if (!st) st = ctcd_atomic_write_file(path, buf, len);
    free(buf);
    return st;
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
