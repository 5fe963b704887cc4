/* zero.c — ZeRO-1 over the communicator's reduce-scatter and all-gather
 * (include/ctcd/zero.h). */
#include <math.h>

#include "ctcd/zero.h"

ctcd_status ctcd_zero_shard(ctcd_comm *c, ctcd_param_set *ps) {
    int64_t lo, hi;
    ctcd_shard_rows(ps->n_total, c->rank, c->world, &lo, &hi);
    return ctcd_param_set_shard(ps, lo, hi);
}

int ctcd_zero_is_sharded(const ctcd_param_set *ps) {
    return ps->opt_lo != 0 || ps->opt_hi != ps->n_total;
}

ctcd_status ctcd_zero_reduce_grads(ctcd_comm *c, ctcd_param_set *ps) {
    return ctcd_error_wrap(c->reduce_scatter_sum(c, ps->be, ps->grads, ps->n_total),
                           "reduce-scatter of the %s model's gradients", ps->name);
}

ctcd_status ctcd_zero_grad_norm(ctcd_comm *c, ctcd_param_set *ps, float *norm) {
    ctcd_backend *be = ps->be;
    CTCD_TRY(be->grad_sumsq(be, ps->sumsq, ps->grads + ps->opt_lo, ps->opt_hi - ps->opt_lo));
    CTCD_TRY(ctcd_error_wrap(c->allreduce_sum(c, be, ps->sumsq, 1),
                             "all-reduce of the %s model's gradient sum of squares", ps->name));
    float s = 0.0f;
    CTCD_TRY(be->download(be, &s, ps->sumsq, sizeof s));
    *norm = sqrtf(s);
    return CTCD_OK;
}

ctcd_status ctcd_zero_gather_params(ctcd_comm *c, ctcd_param_set *ps) {
    CTCD_TRY(ctcd_error_wrap(c->allgather(c, ps->be, ps->master, ps->n_total),
                             "all-gather of the %s model's weights", ps->name));
    return ctcd_param_set_sync_compute(ps);
}

ctcd_status ctcd_zero_gather_moments(ctcd_comm *c, const ctcd_param_set *ps, float *adam_m,
                                     float *adam_v) {
    const int64_t lo = ps->opt_lo, n = ps->opt_hi - ps->opt_lo;
    const size_t bytes = (size_t)n * sizeof(float);
    if (bytes) CTCD_TRY(ps->be->download(ps->be, adam_m + lo, ps->adam_m, bytes));
    if (bytes) CTCD_TRY(ps->be->download(ps->be, adam_v + lo, ps->adam_v, bytes));
    if (!ctcd_zero_is_sharded(ps)) return CTCD_OK;
    CTCD_TRY(c->allgather(c, NULL, adam_m, ps->n_total));
    return ctcd_error_wrap(c->allgather(c, NULL, adam_v, ps->n_total),
                           "all-gather of the %s model's AdamW moments", ps->name);
}
