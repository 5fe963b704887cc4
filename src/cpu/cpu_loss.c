/* cpu_loss.c — the fused lockstep loss on the CPU (contract: ctcd_loss_desc in backend.h).
 *
 * One pass over each row computes, for every model m, the hard term (CE or squared error to
 * the label), the mutual term towards the peer (T²·KL(p_peer‖p_m) or squared error to the
 * peer's prediction) and, with a frozen teacher, the same term towards the teacher, and
 * writes dz_m. Peer and teacher are constants in model m's terms. A term with weight 0 is
 * not added to the gradient at all, so a pair with zero mutual weights produces bit-for-bit
 * the gradients of two separate single-model runs, and a teacher with weight 0 changes no
 * gradient. With soft_labelled_only the KL terms skip unlabelled rows (padding tokens of a
 * sequence) and are means over the labelled rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

/* log-softmax of z/T into out (C). */
static void log_softmax(const float *z, int C, float T, double *out) {
    double mx = -INFINITY;
    for (int c = 0; c < C; c++)
        if ((double)z[c] / T > mx) mx = (double)z[c] / T;
    double s = 0.0;
    for (int c = 0; c < C; c++) s += exp((double)z[c] / T - mx);
    const double lse = mx + log(s);
    for (int c = 0; c < C; c++) out[c] = (double)z[c] / T - lse;
}

static int argmax(const float *z, int C) {
    int best = 0;
    for (int c = 1; c < C; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

typedef struct sums {
    double hard[2], mutual[2], teacher[2], correct[2];
    int64_t labelled;
} sums;

/* One row's contributions to the sums, kept per row so that the sums are taken in row order
 * whichever thread computed the row. */
typedef struct row_terms {
    double hard_lp[2], mutual[2], teacher[2]; /* hard_lp: log p_m(y) */
    int correct[2];
} row_terms;

/* Classification rows, OpenMP-parallel over rows. Per thread: lp (2, C) log-probs at T=1, lq
 * (2, C) at T and eq = exp(lq), lt (C) the teacher's at T and et = exp(lt) — each exp taken
 * once per row and reused by the KL terms and the gradients. */
static ctcd_status ce_kl(const ctcd_loss_desc *d, const ctcd_loss_io *io, sums *s) {
    const int C = d->classes, M = d->n_models;
    const float T = d->temperature;
    const float *zt = io->teacher;
    int64_t n_lab = 0;
    for (int64_t r = 0; r < d->rows; r++) {
        if (io->labels[r] >= C)
            return CTCD_ERR(CTCD_E_INVALID, "loss: label %d of row %lld outside %d classes",
                            io->labels[r], (long long)r, C);
        n_lab += io->labels[r] >= 0;
    }
    s->labelled = n_lab;
    row_terms *rt = calloc((size_t)(d->rows ? d->rows : 1), sizeof *rt);
    if (!rt) return CTCD_ERR(CTCD_E_NOMEM, "loss: out of memory for %lld rows", (long long)d->rows);
    const double soft_n = d->soft_labelled_only ? (double)n_lab : (double)d->rows;
    int failed = 0;
#pragma omp parallel reduction(| : failed) if (d->rows * (int64_t)C > 4096)
    {
        double *buf = malloc(8 * (size_t)C * sizeof *buf);
        if (!buf) failed = 1;
        double *lp[2] = {buf, buf + C}, *lq[2] = {buf + 2 * C, buf + 3 * C};
        double *eq[2] = {buf + 4 * C, buf + 5 * C}, *lt = buf + 6 * C, *et = buf + 7 * C;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < d->rows; r++) {
            if (!buf) continue;
            const int y = io->labels[r];
            row_terms *o = &rt[r];
            for (int m = 0; m < M; m++) {
                const float *z = (const float *)io->logits[m] + r * C;
                log_softmax(z, C, 1.0f, lp[m]);
                log_softmax(z, C, T, lq[m]);
                for (int c = 0; c < C; c++) eq[m][c] = exp(lq[m][c]);
                if (y >= 0) {
                    o->hard_lp[m] = lp[m][y];
                    o->correct[m] = argmax(z, C) == y;
                }
            }
            if (zt) {
                log_softmax(zt + r * C, C, T, lt);
                for (int c = 0; c < C; c++) et[c] = exp(lt[c]);
            }
            const int soft = !d->soft_labelled_only || y >= 0; /* this row has KL terms */
            for (int m = 0; m < M; m++) {
                const int peer = 1 - m;
                if (M == 2 && soft) {
                    double kl = 0.0;
                    for (int c = 0; c < C; c++) kl += eq[peer][c] * (lq[peer][c] - lq[m][c]);
                    o->mutual[m] = (double)T * T * kl;
                }
                if (zt && soft) {
                    double kl = 0.0;
                    for (int c = 0; c < C; c++) kl += et[c] * (lt[c] - lq[m][c]);
                    o->teacher[m] = (double)T * T * kl;
                }
                if (!io->dlogits[m]) continue;
                float *dz = (float *)io->dlogits[m] + r * C;
                const double wh = y >= 0 && n_lab > 0 ? d->hard_w[m] / (double)n_lab : 0.0;
                for (int c = 0; c < C; c++) dz[c] = (float)(wh * (exp(lp[m][c]) - (c == y)));
                if (M == 2 && soft && d->mutual_w[m] != 0.0f) {
                    const double wm = (double)d->mutual_w[m] * T / soft_n;
                    for (int c = 0; c < C; c++) dz[c] += (float)(wm * (eq[m][c] - eq[peer][c]));
                }
                if (zt && soft && d->teacher_w[m] != 0.0f) {
                    const double wt = (double)d->teacher_w[m] * T / soft_n;
                    for (int c = 0; c < C; c++) dz[c] += (float)(wt * (eq[m][c] - et[c]));
                }
            }
        }
        free(buf);
    }
    if (failed) {
        free(rt);
        return CTCD_ERR(CTCD_E_NOMEM, "loss: out of memory for %d-class scratch", C);
    }
    /* the sums in row order, as one thread would take them */
    for (int64_t r = 0; r < d->rows; r++) {
        const int y = io->labels[r];
        const int soft = !d->soft_labelled_only || y >= 0;
        for (int m = 0; m < M; m++) {
            if (y >= 0) {
                s->hard[m] -= rt[r].hard_lp[m];
                s->correct[m] += rt[r].correct[m];
            }
            if (M == 2 && soft) s->mutual[m] += rt[r].mutual[m];
            if (zt && soft) s->teacher[m] += rt[r].teacher[m];
        }
    }
    free(rt);
    return CTCD_OK;
}

/* Regression rows (C == 1); NaN targets have no hard term. */
static void mse(const ctcd_loss_desc *d, const ctcd_loss_io *io, sums *s) {
    const int M = d->n_models;
    const float *zt = io->teacher;
    int64_t n_lab = 0;
    for (int64_t r = 0; r < d->rows; r++) n_lab += !isnan(io->targets[r]);
    s->labelled = n_lab;
    for (int64_t r = 0; r < d->rows; r++) {
        const float y = io->targets[r];
        for (int m = 0; m < M; m++) {
            const float z = ((const float *)io->logits[m])[r];
            const float zp = M == 2 ? ((const float *)io->logits[1 - m])[r] : 0.0f;
            if (!isnan(y)) s->hard[m] += (double)(z - y) * (z - y);
            if (M == 2) s->mutual[m] += (double)(z - zp) * (z - zp);
            if (zt) s->teacher[m] += (double)(z - zt[r]) * (z - zt[r]);
            if (!io->dlogits[m]) continue;
            float *dz = (float *)io->dlogits[m] + r;
            *dz = !isnan(y) && n_lab > 0 ? (float)(d->hard_w[m] * 2.0 * (z - y) / (double)n_lab)
                                         : 0.0f;
            if (M == 2 && d->mutual_w[m] != 0.0f)
                *dz += (float)(d->mutual_w[m] * 2.0 * (z - zp) / (double)d->rows);
            if (zt && d->teacher_w[m] != 0.0f)
                *dz += (float)(d->teacher_w[m] * 2.0 * (z - zt[r]) / (double)d->rows);
        }
    }
}

ctcd_status cpu_loss(ctcd_backend *be, const ctcd_loss_desc *d, const ctcd_loss_io *io) {
    (void)be;
    CTCD_TRY(ctcd_loss_desc_check(d));
    sums s;
    memset(&s, 0, sizeof s);
    if (d->kind == CTCD_LOSS_MSE) {
        mse(d, io, &s);
    } else {
        CTCD_TRY(ce_kl(d, io, &s));
    }
    float *t = io->terms;
    memset(t, 0, CTCD_LOSS_NTERMS * sizeof(float));
    /* the KL terms' mean: over every row, or over the labelled ones (0 when there are none) */
    const int soft_lab = d->kind != CTCD_LOSS_MSE && d->soft_labelled_only;
    const double soft_n = soft_lab ? (double)(s.labelled > 0 ? s.labelled : 1) : (double)d->rows;
    for (int m = 0; m < d->n_models; m++) {
        const float hard = s.labelled > 0 ? (float)(s.hard[m] / (double)s.labelled) : 0.0f;
        const float mutual = (float)(s.mutual[m] / soft_n);
        const float teacher = (float)(s.teacher[m] / soft_n);
        t[CTCD_TERM_HARD0 + m] = hard;
        t[CTCD_TERM_MUTUAL0 + m] = mutual;
        t[CTCD_TERM_TEACHER0 + m] = teacher;
        t[CTCD_TERM_TOTAL0 + m] = d->hard_w[m] * hard + d->mutual_w[m] * mutual +
                                  (io->teacher ? d->teacher_w[m] * teacher : 0.0f);
        t[CTCD_TERM_CORRECT0 + m] = (float)s.correct[m];
    }
    return CTCD_OK;
}
