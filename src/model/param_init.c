/* param_init.c — BERT initialisation of a parameter set (param_init.h). */
#include "param_init.h"

#include <stdlib.h>
#include <string.h>

#include "ctcd/rng.h"

ctcd_status ctcd_params_init_bert(ctcd_param_set *ps, uint64_t seed, uint64_t stream, float sd,
                                  int64_t pad_row, int64_t width) {
    float *host = calloc((size_t)ps->n_total, sizeof *host); /* zero padding between tensors */
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory initialising", ps->name);
    ctcd_rng r;
    ctcd_rng_init(&r, seed, stream);
    for (int i = 0; i < ps->n_tensors; i++) {
        const ctcd_param_info *p = &ps->tensors[i];
        const int ln_weight = strstr(p->name, "LayerNorm.weight") != NULL;
        float *w = host + p->offset;
        for (int64_t j = 0; j < p->numel; j++)
            w[j] = p->decay ? sd * ctcd_rng_normal(&r) : ln_weight ? 1.0f : 0.0f;
    }
    if (pad_row >= 0) memset(host + pad_row, 0, (size_t)width * sizeof *host);
    ctcd_status st = ctcd_param_set_upload(ps, host);
    free(host);
    return st;
}
