/* loss_desc.c — the checks of a fused-loss descriptor that every backend makes before it
 * computes anything (include/ctcd/backend.h, ctcd_loss_desc_check). One copy, so that the
 * CPU reference (src/cpu/cpu_loss.c) and the CUDA backend (cuda/loss.cu) refuse the same
 * descriptors with the same messages. */
#include "ctcd/backend.h"

ctcd_status ctcd_loss_desc_check(const ctcd_loss_desc *d) {
    if (d->n_models < 1 || d->n_models > 2 || d->rows < 1 || d->classes < 1)
        return CTCD_ERR(CTCD_E_INVALID, "loss: bad shape (models %d, rows %lld, classes %d)",
                        d->n_models, (long long)d->rows, d->classes);
    if (d->kind == CTCD_LOSS_MSE) {
        if (d->classes != 1)
            return CTCD_ERR(CTCD_E_INVALID, "loss: MSE needs one output, got %d", d->classes);
    } else if (!(d->temperature > 0.0f)) {
        return CTCD_ERR(CTCD_E_INVALID, "loss: temperature must be > 0 (got %g)",
                        (double)d->temperature);
    }
    return CTCD_OK;
}
