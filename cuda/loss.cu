/* loss.cu — the fused lockstep loss on the device (contract: ctcd_loss_desc in backend.h;
 * reference: src/cpu/cpu_loss.c).
 *
 * Three launches, all deterministic:
 *   1. count labelled rows (integer, one block)           -> n_lab in scratch
 *   2. one block per row: for both models, online max / Σexp at T = 1 and at T in one read of
 *      the row, argmax, CE (and the teacher's Σexp at T when there is one); a second read
 *      computes T²·KL(p_peer ‖ p_m), T²·KL(p_teacher ‖ p_m) and writes both logit
 *      gradients. Per-row values go to scratch partials[row][P_N].
 *   3. one block sums the partials in a fixed order (double) and writes the terms.
 * Statistics are fp32 (logits are read as act dtype and widened), exponentials use expf.
 * The MSE variant (C == 1) uses one thread per row in step 2.
 * soft_labelled_only: the KL terms skip unlabelled rows and are means over n_lab.
 * A label >= C is an error, as on the CPU: step 1 records the first such row in the
 * backend's loss_err word and the next download or sync returns it (cuda_loss_error); the
 * rows themselves are computed as unlabelled meanwhile. The descriptor is checked by
 * ctcd_loss_desc_check (src/core/loss_desc.c), as on the CPU. */
#include <limits.h>
#include <math.h>

#include "cuda_common.cuh"

enum { P_HARD0 = 0, P_HARD1, P_MUT0, P_MUT1, P_COR0, P_COR1, P_TEA0, P_TEA1, P_N };

typedef struct loss_params {
    int n_models, C;
    int64_t rows;
    float T, hard_w[2], mutual_w[2], teacher_w[2];
    int kind, teacher; /* teacher: 1 when a teacher's logits are given */
    int soft_lab;      /* KL terms over labelled rows only, mean over n_lab */
} loss_params;

/* ---- block reductions (fixed order: warp shuffles, then warp 0 over the warp results) ---- */
__device__ float block_sum(float v, float *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads(); /* sh may still be read by a previous reduction */
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float r = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(r); /* every warp reduces the same values in the same order */
}

__device__ float block_max(float v, float *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float r = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(r);
}

/* Larger value wins; ties go to the smaller index (the CPU's first maximum). */
__device__ __forceinline__ void argmax_merge(float &v, int &i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) {
        v = ov;
        i = oi;
    }
}
__device__ int block_argmax(float v, int i, float *shv, int *shi) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1)
        argmax_merge(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
    __syncthreads();
    if (lane == 0) {
        shv[warp] = v;
        shi[warp] = i;
    }
    __syncthreads();
    v = lane < nw ? shv[lane] : -INFINITY;
    i = lane < nw ? shi[lane] : INT_MAX;
    for (int o = 16; o > 0; o >>= 1)
        argmax_merge(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
    return i;
}

/* ---- 1. labelled rows ---- */
__global__ void count_labelled_kernel(int64_t *n_lab, int32_t *err, const int32_t *labels,
                                      const float *targets, int64_t rows, int C, int mse) {
    __shared__ long long sh[256];
    __shared__ long long bad[256];
    long long c = 0, first_bad = LLONG_MAX;
    for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
        c += mse ? !isnan(targets[r]) : (labels[r] >= 0 && labels[r] < C);
        if (!mse && labels[r] >= C && r < first_bad) first_bad = r;
    }
    sh[threadIdx.x] = c;
    bad[threadIdx.x] = first_bad;
    __syncthreads();
    if (threadIdx.x == 0) {
        long long s = 0, b = LLONG_MAX;
        for (int t = 0; t < (int)blockDim.x; t++) {
            s += sh[t];
            b = bad[t] < b ? bad[t] : b;
        }
        *n_lab = s;
        if (b != LLONG_MAX && err[0] == 0) { /* the first bad label since the last read */
            err[0] = 1;
            err[1] = labels[b];
            err[2] = (int32_t)(b < INT_MAX ? b : INT_MAX);
            err[3] = C;
        }
    }
}

ctcd_status cuda_loss_error(ctcd_backend *be) {
    cuda_impl *c = cuda_of(be);
    if (!c->loss_err_pending) return CTCD_OK;
    c->loss_err_pending = 0;
    int32_t e[4];
    CUDA_CHECK(cudaStreamSynchronize(c->lanes[c->loss_err_lane]));
    CUDA_CHECK(cudaMemcpy(e, c->loss_err, sizeof e, cudaMemcpyDeviceToHost));
    if (!e[0]) return CTCD_OK;
    CUDA_CHECK(cudaMemset(c->loss_err, 0, sizeof e));
    return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                          "loss: label %d of row %lld outside %d classes", e[1],
                          (long long)e[2], e[3]);
}

/* ---- 2a. classification rows ---- */
template <typename T>
__global__ void ce_kl_row_kernel(float *partial, const T *z0, const T *z1, const T *zt0,
                                 T *dz0, T *dz1, const int32_t *labels, const int64_t *n_lab_p,
                                 loss_params P) {
    __shared__ float sh[32];
    __shared__ float shv[32];
    __shared__ int shi[32];
    const int64_t row = blockIdx.x;
    const int C = P.C, M = P.n_models;
    const float Tm = P.T, invT = 1.0f / P.T;
    const T *z[2] = {z0 + (size_t)row * C, M == 2 ? z1 + (size_t)row * C : NULL};
    const T *zt = P.teacher ? zt0 + (size_t)row * C : NULL;
    T *dz[2] = {dz0 ? dz0 + (size_t)row * C : NULL, dz1 ? dz1 + (size_t)row * C : NULL};
    const int y = labels[row];
    const bool labelled = y >= 0 && y < C;
    const int64_t n_lab = *n_lab_p;
    float lse1[2] = {0.0f, 0.0f}, lseT[2] = {0.0f, 0.0f}, hard[2] = {0.0f, 0.0f};
    int amax[2] = {0, 0};

    /* Pass A: online max and both partition sums in one read. */
    for (int m = 0; m < M; m++) {
        float mx = -INFINITY, s1 = 0.0f, sT = 0.0f, bv = -INFINITY;
        int bi = INT_MAX;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            const float v = ld(z[m], (size_t)c);
            if (v > mx) {
                if (mx != -INFINITY) {
                    s1 *= expf(mx - v);
                    sT *= expf((mx - v) * invT);
                }
                mx = v;
            }
            s1 += expf(v - mx);
            sT += expf((v - mx) * invT);
            if (v > bv) { /* c ascends per thread: strict > keeps the first maximum */
                bv = v;
                bi = c;
            }
        }
        const float gmx = block_max(mx, sh);
        const float f = mx == -INFINITY ? 0.0f : 1.0f;
        const float S1 = block_sum(f * s1 * expf(mx - gmx), sh);
        const float ST = block_sum(f * sT * expf((mx - gmx) * invT), sh);
        lse1[m] = gmx + logf(S1);
        lseT[m] = gmx * invT + logf(ST);
        amax[m] = block_argmax(bv, bi, shv, shi);
        if (labelled) hard[m] = lse1[m] - ld(z[m], (size_t)y);
    }
    float lseTt = 0.0f; /* the teacher's log-partition at T */
    if (zt) {
        float mx = -INFINITY, sT = 0.0f;
        for (int c = threadIdx.x; c < C; c += blockDim.x) {
            const float v = ld(zt, (size_t)c);
            if (v > mx) {
                if (mx != -INFINITY) sT *= expf((mx - v) * invT);
                mx = v;
            }
            sT += expf((v - mx) * invT);
        }
        const float gmx = block_max(mx, sh);
        const float f = mx == -INFINITY ? 0.0f : 1.0f;
        lseTt = gmx * invT + logf(block_sum(f * sT * expf((mx - gmx) * invT), sh));
    }

    /* Pass B: KL to the peer and the gradients. */
    float wh[2], wm[2], wt[2];
    const bool soft = !P.soft_lab || labelled; /* this row has KL terms */
    const float soft_n = P.soft_lab ? (float)n_lab : (float)P.rows;
    for (int m = 0; m < 2; m++) {
        wh[m] = labelled && n_lab > 0 ? P.hard_w[m] / (float)n_lab : 0.0f;
        wm[m] = M == 2 && soft && P.mutual_w[m] != 0.0f ? P.mutual_w[m] * Tm / soft_n : 0.0f;
        wt[m] = zt && soft && P.teacher_w[m] != 0.0f ? P.teacher_w[m] * Tm / soft_n : 0.0f;
    }
    float kl[2] = {0.0f, 0.0f}, klt[2] = {0.0f, 0.0f};
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float v[2], lq[2], q[2], lqt = 0.0f, qt = 0.0f;
        for (int m = 0; m < M; m++) {
            v[m] = ld(z[m], (size_t)c);
            lq[m] = v[m] * invT - lseT[m];
            q[m] = expf(lq[m]);
        }
        if (M == 2) {
            kl[0] += q[1] * (lq[1] - lq[0]);
            kl[1] += q[0] * (lq[0] - lq[1]);
        }
        if (zt) {
            lqt = ld(zt, (size_t)c) * invT - lseTt;
            qt = expf(lqt);
            for (int m = 0; m < M; m++) klt[m] += qt * (lqt - lq[m]);
        }
        for (int m = 0; m < M; m++) {
            if (!dz[m]) continue;
            float g = wh[m] * (expf(v[m] - lse1[m]) - (c == y ? 1.0f : 0.0f));
            if (wm[m] != 0.0f) g += wm[m] * (q[m] - q[1 - m]);
            if (wt[m] != 0.0f) g += wt[m] * (q[m] - qt);
            st(dz[m], (size_t)c, g);
        }
    }
    float klr[2] = {0.0f, 0.0f}, kltr[2] = {0.0f, 0.0f};
    if (M == 2) {
        klr[0] = block_sum(kl[0], sh);
        klr[1] = block_sum(kl[1], sh);
    }
    if (zt)
        for (int m = 0; m < M; m++) kltr[m] = block_sum(klt[m], sh);
    if (threadIdx.x == 0) {
        float *pr = partial + (size_t)row * P_N;
        for (int m = 0; m < 2; m++) {
            const bool on = m < M;
            pr[P_HARD0 + m] = on ? hard[m] : 0.0f;
            pr[P_MUT0 + m] = on && soft ? Tm * Tm * klr[m] : 0.0f;
            pr[P_TEA0 + m] = on && soft ? Tm * Tm * kltr[m] : 0.0f;
            pr[P_COR0 + m] = on && labelled && amax[m] == y ? 1.0f : 0.0f;
        }
    }
}

/* ---- 2b. regression rows (C == 1) ---- */
template <typename T>
__global__ void mse_row_kernel(float *partial, const T *z0, const T *z1, const T *zt, T *dz0,
                               T *dz1, const float *targets, const int64_t *n_lab_p,
                               loss_params P) {
    const int64_t n_lab = *n_lab_p;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < P.rows;
         r += (int64_t)gridDim.x * blockDim.x) {
        const float y = targets[r];
        const bool lab = !isnan(y);
        const float zz[2] = {ld(z0, (size_t)r), P.n_models == 2 ? ld(z1, (size_t)r) : 0.0f};
        T *dz[2] = {dz0, dz1};
        float *pr = partial + (size_t)r * P_N;
        const float ztr = P.teacher ? ld(zt, (size_t)r) : 0.0f;
        for (int m = 0; m < 2; m++) {
            pr[P_HARD0 + m] = pr[P_MUT0 + m] = pr[P_COR0 + m] = pr[P_TEA0 + m] = 0.0f;
            if (m >= P.n_models) continue;
            const float z = zz[m], zp = P.n_models == 2 ? zz[1 - m] : 0.0f;
            if (lab) pr[P_HARD0 + m] = (z - y) * (z - y);
            if (P.n_models == 2) pr[P_MUT0 + m] = (z - zp) * (z - zp);
            if (P.teacher) pr[P_TEA0 + m] = (z - ztr) * (z - ztr);
            if (!dz[m]) continue;
            float g = lab && n_lab > 0 ? P.hard_w[m] * 2.0f * (z - y) / (float)n_lab : 0.0f;
            if (P.n_models == 2 && P.mutual_w[m] != 0.0f)
                g += P.mutual_w[m] * 2.0f * (z - zp) / (float)P.rows;
            if (P.teacher && P.teacher_w[m] != 0.0f)
                g += P.teacher_w[m] * 2.0f * (z - ztr) / (float)P.rows;
            st(dz[m], (size_t)r, g);
        }
    }
}

/* ---- 3. terms ---- */
#define FIN_THREADS 256
__global__ void loss_finish_kernel(float *terms, const float *partial, const int64_t *n_lab_p,
                                   loss_params P) {
    __shared__ double sh[P_N][FIN_THREADS];
    double acc[P_N];
    for (int k = 0; k < P_N; k++) acc[k] = 0.0;
    for (int64_t r = threadIdx.x; r < P.rows; r += FIN_THREADS)
        for (int k = 0; k < P_N; k++) acc[k] += (double)partial[(size_t)r * P_N + k];
    for (int k = 0; k < P_N; k++) sh[k][threadIdx.x] = acc[k];
    __syncthreads();
    for (int w = FIN_THREADS / 2; w > 0; w >>= 1) { /* fixed tree: deterministic */
        if ((int)threadIdx.x < w)
            for (int k = 0; k < P_N; k++) sh[k][threadIdx.x] += sh[k][threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const int64_t n_lab = *n_lab_p;
        const double soft_n = P.soft_lab ? (double)(n_lab > 0 ? n_lab : 1) : (double)P.rows;
        for (int i = 0; i < CTCD_LOSS_NTERMS; i++) terms[i] = 0.0f;
        for (int m = 0; m < P.n_models; m++) {
            const float hard = n_lab > 0 ? (float)(sh[P_HARD0 + m][0] / (double)n_lab) : 0.0f;
            const float mutual = (float)(sh[P_MUT0 + m][0] / soft_n);
            const float teacher = (float)(sh[P_TEA0 + m][0] / soft_n);
            terms[CTCD_TERM_HARD0 + m] = hard;
            terms[CTCD_TERM_MUTUAL0 + m] = mutual;
            terms[CTCD_TERM_TEACHER0 + m] = teacher;
            terms[CTCD_TERM_TOTAL0 + m] = P.hard_w[m] * hard + P.mutual_w[m] * mutual +
                                          (P.teacher ? P.teacher_w[m] * teacher : 0.0f);
            terms[CTCD_TERM_CORRECT0 + m] = (float)sh[P_COR0 + m][0];
        }
    }
}

static size_t loss_partial_bytes(int64_t rows) {
    return ((size_t)rows * P_N * sizeof(float) + 255) & ~(size_t)255;
}

size_t cuda_loss_scratch_bound(const ctcd_reserve_hint *h) {
    return loss_partial_bytes(h->rows) + 256;
}

ctcd_status cuda_loss(ctcd_backend *be, const ctcd_loss_desc *d, const ctcd_loss_io *io) {
    NVTX_OP(be, "loss");
    CTCD_TRY(ctcd_loss_desc_check(d)); /* the CPU's checks and messages */
    const int mse = d->kind == CTCD_LOSS_MSE;
    /* the one check of this backend's own: a CE row is a block, and the grid is 32-bit */
    if (!mse && d->rows > 0x7fffffffLL)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__, "loss: too many rows");
    loss_params P;
    P.n_models = d->n_models;
    P.C = d->classes;
    P.rows = d->rows;
    P.T = mse ? 1.0f : d->temperature;
    for (int m = 0; m < 2; m++) {
        P.hard_w[m] = d->hard_w[m];
        P.mutual_w[m] = d->mutual_w[m];
        P.teacher_w[m] = d->teacher_w[m];
    }
    P.kind = d->kind;
    P.teacher = io->teacher != NULL;
    P.soft_lab = !mse && d->soft_labelled_only;
    char *s = NULL;
    const size_t part_bytes = loss_partial_bytes(d->rows);
    CTCD_TRY(cuda_scratch(be, part_bytes + 256, (void **)&s));
    float *partial = (float *)s;
    int64_t *n_lab = (int64_t *)(s + part_bytes);
    cudaStream_t stream = stream_of(be);
    CTCD_LAUNCH(1, 256, 0, stream, count_labelled_kernel)(n_lab, cuda_of(be)->loss_err,
                                                          io->labels, io->targets, d->rows,
                                                          d->classes, mse);
    cuda_of(be)->loss_err_pending = 1;
    cuda_of(be)->loss_err_lane = cuda_of(be)->lane;
    LAUNCH_CHECK("loss count");
    const int threads = d->classes >= 4096 ? 512 : d->classes >= 256 ? 128 : 32;
    ACT_DISPATCH(be->act_dtype, T, {
        const T *z0 = (const T *)io->logits[0];
        const T *z1 = d->n_models == 2 ? (const T *)io->logits[1] : NULL;
        T *dz0 = (T *)io->dlogits[0];
        T *dz1 = d->n_models == 2 ? (T *)io->dlogits[1] : NULL;
        const T *zt = (const T *)io->teacher;
        if (mse) {
            CTCD_LAUNCH(grid_1d(d->rows, 256), 256, 0, stream, mse_row_kernel<T>)(
                partial, z0, z1, zt, dz0, dz1, io->targets, n_lab, P);
        } else {
            CTCD_LAUNCH((unsigned)d->rows, threads, 0, stream, ce_kl_row_kernel<T>)(
                partial, z0, z1, zt, dz0, dz1, io->labels, n_lab, P);
        }
    });
    LAUNCH_CHECK("loss rows");
    CTCD_LAUNCH(1, FIN_THREADS, 0, stream, loss_finish_kernel)(io->terms, partial, n_lab, P);
    LAUNCH_CHECK("loss finish");
    return CTCD_OK;
}
