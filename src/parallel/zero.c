/* zero.c — ZeRO-1 over the communicator's reduce-scatter and all-gather
 * (include/ctcd/zero.h). */
#include <math.h>

#include "ctcd/zero.h"

ctcd_status ctcd_zero_shard(ctcd_comm *c, ctcd_model *m) {
    int64_t lo, hi;
    ctcd_shard_rows(m->lay.n_total, c->rank, c->world, &lo, &hi);
    return ctcd_param_set_shard(&m->ps, lo, hi);
}

int ctcd_zero_is_sharded(const ctcd_model *m) {
    return m->ps.opt_lo != 0 || m->ps.opt_hi != m->lay.n_total;
}

ctcd_status ctcd_zero_reduce_grads(ctcd_comm *c, ctcd_model *m) {
    return ctcd_error_wrap(c->reduce_scatter_sum(c, m->be, m->ps.grads, m->lay.n_total),
                           "reduce-scatter of the %s model's gradients", m->name);
}

ctcd_status ctcd_zero_grad_norm(ctcd_comm *c, ctcd_model *m, float *norm) {
    ctcd_backend *be = m->be;
    CTCD_TRY(be->grad_sumsq(be, m->ps.sumsq, m->ps.grads + m->ps.opt_lo,
                            m->ps.opt_hi - m->ps.opt_lo));
    CTCD_TRY(ctcd_error_wrap(c->allreduce_sum(c, be, m->ps.sumsq, 1),
                             "all-reduce of the %s model's gradient sum of squares", m->name));
    float s = 0.0f;
    CTCD_TRY(be->download(be, &s, m->ps.sumsq, sizeof s));
    *norm = sqrtf(s);
    return CTCD_OK;
}

ctcd_status ctcd_zero_gather_params(ctcd_comm *c, ctcd_model *m) {
    CTCD_TRY(ctcd_error_wrap(c->allgather(c, m->be, m->ps.master, m->lay.n_total),
                             "all-gather of the %s model's weights", m->name));
    return ctcd_param_set_sync_compute(&m->ps);
}

ctcd_status ctcd_zero_gather_moments(ctcd_comm *c, const ctcd_model *m, float *adam_m,
                                     float *adam_v) {
    const int64_t lo = m->ps.opt_lo, n = m->ps.opt_hi - m->ps.opt_lo;
    const size_t bytes = (size_t)n * sizeof(float);
    if (bytes) CTCD_TRY(m->be->download(m->be, adam_m + lo, m->ps.adam_m, bytes));
    if (bytes) CTCD_TRY(m->be->download(m->be, adam_v + lo, m->ps.adam_v, bytes));
    if (!ctcd_zero_is_sharded(m)) return CTCD_OK;
    CTCD_TRY(c->allgather(c, NULL, adam_m, m->lay.n_total));
    return ctcd_error_wrap(c->allgather(c, NULL, adam_v, m->lay.n_total),
                           "all-gather of the %s model's AdamW moments", m->name);
}
