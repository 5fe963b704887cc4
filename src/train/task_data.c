/* task_data.c — loading GLUE tasks for the trainer. */
#include "train_internal.h"

ctcd_status ctcd_trainer_load_glue(ctcd_trainer *t) {
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "task '%s': GLUE loading is not wired in yet",
                    t->rc.task);
}
