/* test_gradcheck.c — finite-difference checks of every CPU op's backward (the reference
 * that CUDA kernels are later compared with). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "gradcheck.h"
#include "testutil.h"

static ctcd_backend *cpu(void) {
    ctcd_backend *be = NULL;
    ctcd_status st = ctcd_backend_cpu_create(&be);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return be;
}

static float *rnd(int64_t n, float lo, float hi, uint64_t seed) {
    float *x = malloc((size_t)n * sizeof *x);
    ctcd_test_fill_uniform(x, n, lo, hi, seed);
    return x;
}

/* ---- matmul (+ bias, GELU epilogue) ---- */
typedef struct mm_ctx {
    ctcd_backend *be;
    float *inp, *w, *b, *out, *pre, *r;
    int M, K, N;
    ctcd_act act;
} mm_ctx;

static double mm_f(void *p) {
    mm_ctx *c = p;
    c->be->matmul_fwd(c->be, c->out, c->pre, c->inp, c->w, c->b, c->M, c->K, c->N, c->act);
    return gc_dot(c->out, c->r, (int64_t)c->M * c->N);
}

static void check_matmul(ctcd_act act) {
    mm_ctx c = {.be = cpu(), .M = 5, .K = 7, .N = 6, .act = act};
    c.inp = rnd(35, -1, 1, 1);
    c.w = rnd(42, -1, 1, 2);
    c.b = rnd(6, -1, 1, 3);
    c.r = rnd(30, -1, 1, 4);
    c.out = malloc(30 * 4);
    c.pre = malloc(30 * 4);
    float *dinp = calloc(35, 4), *dw = calloc(42, 4), *db = calloc(6, 4), *dpre = malloc(30 * 4);
    mm_f(&c);
    const float *dout = c.r;
    if (act == CTCD_ACT_GELU) {
        c.be->gelu_bwd(c.be, dpre, c.pre, c.r, 30);
        dout = dpre;
    }
    c.be->matmul_bwd(c.be, dinp, dw, db, dout, c.inp, c.w, c.M, c.K, c.N, 0);
    gc_check("matmul dinp", c.inp, dinp, 35, 1, mm_f, &c);
    gc_check("matmul dw", c.w, dw, 42, 1, mm_f, &c);
    gc_check("matmul dbias", c.b, db, 6, 1, mm_f, &c);
    /* accumulate flag: dinp += instead of = */
    float *acc = malloc(35 * 4);
    for (int i = 0; i < 35; i++) acc[i] = 1.0f;
    c.be->matmul_bwd(c.be, acc, NULL, NULL, dout, c.inp, c.w, c.M, c.K, c.N, 1);
    for (int i = 0; i < 35; i++)
        cr_assert_float_eq(acc[i], 1.0f + dinp[i], 1e-5f, "accumulate[%d]: %g vs %g", i,
                           (double)acc[i], 1.0 + dinp[i]);
    free(acc);
    free(dinp); free(dw); free(db); free(dpre);
    free(c.inp); free(c.w); free(c.b); free(c.r); free(c.out); free(c.pre);
    ctcd_backend_destroy(c.be);
}

Test(gradcheck, matmul_bias) { check_matmul(CTCD_ACT_NONE); }
Test(gradcheck, matmul_bias_gelu) { check_matmul(CTCD_ACT_GELU); }

/* ---- tanh, dropout ---- */
typedef struct ew_ctx {
    ctcd_backend *be;
    float *x, *out, *r;
    int64_t n;
    int op;
    ctcd_dropout_key key;
} ew_ctx;

static double ew_f(void *p) {
    ew_ctx *c = p;
    if (c->op == 0) c->be->tanh_fwd(c->be, c->out, c->x, c->n);
    if (c->op == 1) c->be->dropout_fwd(c->be, c->out, c->x, c->n, 0.3f, c->key);
    if (c->op == 2) c->be->gelu_fwd(c->be, c->out, c->x, c->n);
    return gc_dot(c->out, c->r, c->n);
}

Test(gradcheck, tanh_dropout_gelu) {
    for (int op = 0; op < 3; op++) {
        ew_ctx c = {.be = cpu(), .n = 64, .op = op, .key = {11, 5}};
        c.x = rnd(64, -2, 2, 10 + op);
        c.r = rnd(64, -1, 1, 20 + op);
        c.out = malloc(64 * 4);
        float *dx = malloc(64 * 4);
        ew_f(&c);
        if (op == 0) c.be->tanh_bwd(c.be, dx, c.out, c.r, 64);
        if (op == 1) c.be->dropout_bwd(c.be, dx, c.r, 64, 0.3f, c.key);
        if (op == 2) c.be->gelu_bwd(c.be, dx, c.x, c.r, 64);
        const char *names[3] = {"tanh", "dropout", "gelu"};
        gc_check(names[op], c.x, dx, 64, 1, ew_f, &c);
        free(c.x); free(c.r); free(c.out); free(dx);
        ctcd_backend_destroy(c.be);
    }
}

/* ---- LayerNorm with residual ---- */
typedef struct ln_ctx {
    ctcd_backend *be;
    float *x, *res, *g, *b, *out, *s, *mean, *rstd, *r;
    int N, C;
    float p;              /* dropout of x (dropout_layernorm only) */
    ctcd_dropout_key key;
} ln_ctx;

static double ln_f(void *p) {
    ln_ctx *c = p;
    c->be->layernorm_fwd(c->be, c->out, c->s, c->mean, c->rstd, c->x, c->res, c->g, c->b, c->N,
                         c->C, 1e-5f);
    return gc_dot(c->out, c->r, (int64_t)c->N * c->C);
}

Test(gradcheck, layernorm_with_residual) {
    ln_ctx c = {.be = cpu(), .N = 4, .C = 9};
    c.x = rnd(36, -2, 2, 30);
    c.res = rnd(36, -2, 2, 31);
    c.g = rnd(9, 0.5f, 1.5f, 32);
    c.b = rnd(9, -1, 1, 33);
    c.r = rnd(36, -1, 1, 34);
    c.out = malloc(36 * 4); c.s = malloc(36 * 4); c.mean = malloc(16); c.rstd = malloc(16);
    float *dx = malloc(36 * 4), *dg = calloc(9, 4), *db = calloc(9, 4);
    ln_f(&c);
    c.be->layernorm_bwd(c.be, dx, dg, db, c.r, c.s, c.mean, c.rstd, c.g, c.N, c.C);
    gc_check("layernorm dinp", c.x, dx, 36, 1, ln_f, &c);
    gc_check("layernorm dresidual", c.res, dx, 36, 1, ln_f, &c);
    gc_check("layernorm dgamma", c.g, dg, 9, 1, ln_f, &c);
    gc_check("layernorm dbeta", c.b, db, 9, 1, ln_f, &c);
    free(c.x); free(c.res); free(c.g); free(c.b); free(c.r); free(c.out); free(c.s);
    free(c.mean); free(c.rstd); free(dx); free(dg); free(db);
    ctcd_backend_destroy(c.be);
}

/* ---- residual + dropout + LayerNorm: s = dropout(x) + res, out = LN(s) ---- */
static double dln_f(void *p) {
    ln_ctx *c = p;
    c->be->dropout_layernorm_fwd(c->be, c->out, c->s, c->mean, c->rstd, c->x, c->res, c->g,
                                 c->b, c->N, c->C, 1e-5f, c->p, c->key);
    return gc_dot(c->out, c->r, (int64_t)c->N * c->C);
}

Test(gradcheck, dropout_layernorm) {
    ln_ctx c = {.be = cpu(), .N = 4, .C = 9, .p = 0.3f, .key = {99, ctcd_dropout_site(5, 1, 2)}};
    c.x = rnd(36, -2, 2, 40);
    c.res = rnd(36, -2, 2, 41);
    c.g = rnd(9, 0.5f, 1.5f, 42);
    c.b = rnd(9, -1, 1, 43);
    c.r = rnd(36, -1, 1, 44);
    c.out = malloc(36 * 4); c.s = malloc(36 * 4); c.mean = malloc(16); c.rstd = malloc(16);
    float *dx = malloc(36 * 4), *dres = malloc(36 * 4), *dg = calloc(9, 4), *db = calloc(9, 4);
    dln_f(&c);
    c.be->dropout_layernorm_bwd(c.be, dx, dres, dg, db, c.r, c.s, c.mean, c.rstd, c.g, c.N, c.C,
                                c.p, c.key);
    int dropped = 0;
    for (int i = 0; i < 36; i++) dropped += dx[i] == 0.0f;
    cr_assert(dropped > 0 && dropped < 36, "p = 0.3 dropped %d of 36 gradients", dropped);
    gc_check("dropout_layernorm dinp", c.x, dx, 36, 1, dln_f, &c);
    gc_check("dropout_layernorm dresidual", c.res, dres, 36, 1, dln_f, &c);
    gc_check("dropout_layernorm dgamma", c.g, dg, 9, 1, dln_f, &c);
    gc_check("dropout_layernorm dbeta", c.b, db, 9, 1, dln_f, &c);

    /* The reference is the composition dropout_fwd then layernorm_fwd, bit for bit (the model
     * graph switched to the fused op without changing any CPU result). */
    float *xd = malloc(36 * 4), *out2 = malloc(36 * 4), *s2 = malloc(36 * 4);
    float *mean2 = malloc(16), *rstd2 = malloc(16);
    dln_f(&c);
    c.be->dropout_fwd(c.be, xd, c.x, 36, c.p, c.key);
    c.be->layernorm_fwd(c.be, out2, s2, mean2, rstd2, xd, c.res, c.g, c.b, c.N, c.C, 1e-5f);
    cr_expect(memcmp(out2, c.out, 36 * 4) == 0, "out differs from the composition");
    cr_expect(memcmp(s2, c.s, 36 * 4) == 0, "s differs from the composition");
    cr_expect(memcmp(mean2, c.mean, 16) == 0 && memcmp(rstd2, c.rstd, 16) == 0,
              "statistics differ from the composition");
    free(xd); free(out2); free(s2); free(mean2); free(rstd2);
    free(c.x); free(c.res); free(c.g); free(c.b); free(c.r); free(c.out); free(c.s);
    free(c.mean); free(c.rstd); free(dx); free(dres); free(dg); free(db);
    ctcd_backend_destroy(c.be);
}

/* ---- attention with padding and dropout ---- */
typedef struct at_ctx {
    ctcd_backend *be;
    float *qkv, *out, *aux, *r;
    int32_t mask[12];
    int B, T, NH, HD;
    float p;
} at_ctx;

static double at_f(void *q) {
    at_ctx *c = q;
    ctcd_dropout_key k = {7, 3};
    c->be->attention_fwd(c->be, c->out, c->aux, c->qkv, c->mask, c->B, c->T, c->NH, c->HD, c->p, k);
    return gc_dot(c->out, c->r, (int64_t)c->B * c->T * c->NH * c->HD);
}

static void check_attention(float p) {
    at_ctx c = {.be = cpu(), .B = 2, .T = 6, .NH = 2, .HD = 3, .p = p};
    const int n = c.B * c.T * 3 * c.NH * c.HD, no = c.B * c.T * c.NH * c.HD;
    for (int t = 0; t < 6; t++) {
        c.mask[t] = 1;
        c.mask[6 + t] = t < 4; /* second row: 2 padding tokens */
    }
    c.qkv = rnd(n, -1.5f, 1.5f, 40);
    c.r = rnd(no, -1, 1, 41);
    c.out = malloc((size_t)no * 4);
    c.aux = malloc(c.be->attention_aux_bytes(c.be, c.B, c.T, c.NH));
    float *dqkv = malloc((size_t)n * 4);
    at_f(&c);
    ctcd_dropout_key k = {7, 3};
    c.be->attention_bwd(c.be, dqkv, c.r, c.qkv, c.aux, c.mask, c.B, c.T, c.NH, c.HD, c.p, k);
    gc_check(p > 0 ? "attention dqkv (dropout)" : "attention dqkv", c.qkv, dqkv, n, 1, at_f, &c);
    /* padded keys get exactly zero probability */
    const float *P = c.aux;
    for (int h = 0; h < c.NH; h++)
        for (int i = 0; i < c.T; i++)
            for (int j = 4; j < 6; j++)
                cr_assert_eq(P[((1 * c.NH + h) * c.T + i) * c.T + j], 0.0f, "padded key %d got weight", j);
    free(c.qkv); free(c.r); free(c.out); free(c.aux); free(dqkv);
    ctcd_backend_destroy(c.be);
}

Test(gradcheck, attention_padding) { check_attention(0.0f); }
Test(gradcheck, attention_padding_dropout) { check_attention(0.25f); }

/* ---- general attention: causal self-attention (fused qkv) and cross-attention (q from one
 * buffer, k | v fused in another, key padding mask) ---- */
typedef struct ga_ctx {
    ctcd_backend *be;
    float *q, *k, *v, *out, *aux, *r;
    const int32_t *kmask;
    ctcd_attn_shape s;
    float p;
} ga_ctx;

static double ga_f(void *x) {
    ga_ctx *c = x;
    ctcd_dropout_key k = {9, 4};
    ctcd_status st = c->be->attn_fwd(c->be, c->out, c->aux, c->q, c->k, c->v, c->kmask, &c->s,
                                     c->p, k);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return gc_dot(c->out, c->r, (int64_t)c->s.B * c->s.Tq * c->s.NH * c->s.HD);
}

/* fused: q, k, v are the thirds of one (B, T, 3A) buffer (self-attention); otherwise q is a
 * (B, Tq, A) buffer and k | v the halves of a (B, Tk, 2A) one. */
static void check_general_attention(int fused, int causal, float p) {
    const int B = 2, NH = 2, HD = 3, A = NH * HD;
    const int Tq = fused ? 5 : 3, Tk = 5;
    static const int32_t kmask[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    ga_ctx c = {.be = cpu(), .kmask = kmask, .p = p};
    c.s = (ctcd_attn_shape){B, Tq, Tk, NH, HD, fused ? 3 * A : A, fused ? 3 * A : 2 * A, causal};
    const int64_t nq = fused ? (int64_t)B * Tk * 3 * A : (int64_t)B * Tq * A;
    const int64_t nkv = fused ? 0 : (int64_t)B * Tk * 2 * A, no = (int64_t)B * Tq * A;
    float *qbuf = rnd(nq, -1.5f, 1.5f, 60), *kvbuf = fused ? NULL : rnd(nkv, -1.5f, 1.5f, 61);
    c.q = qbuf;
    c.k = fused ? qbuf + A : kvbuf;
    c.v = fused ? qbuf + 2 * A : kvbuf + A;
    c.r = rnd(no, -1, 1, 62);
    c.out = malloc((size_t)no * 4);
    c.aux = malloc(c.be->attn_aux_bytes(c.be, &c.s));
    /* Gradient buffers start non-zero: the op writes the head columns. */
    float *dqbuf = rnd(nq, 5, 6, 63), *dkvbuf = fused ? NULL : rnd(nkv, 5, 6, 64);
    ga_f(&c);
    ctcd_dropout_key key = {9, 4};
    ctcd_status st = c.be->attn_bwd(c.be, dqbuf, fused ? dqbuf + A : dkvbuf,
                                    fused ? dqbuf + 2 * A : dkvbuf + A, c.r, c.q, c.k, c.v,
                                    c.aux, c.kmask, &c.s, p, key);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    char what[96];
    snprintf(what, sizeof what, "attn %s%s%s dq", fused ? "self" : "cross",
             causal ? " causal" : "", p > 0 ? " dropout" : "");
    gc_check(what, qbuf, dqbuf, nq, 1, ga_f, &c);
    if (!fused) {
        snprintf(what, sizeof what, "attn cross%s dkv", p > 0 ? " dropout" : "");
        gc_check(what, kvbuf, dkvbuf, nkv, 1, ga_f, &c);
    }
    /* Hidden keys get exactly zero probability: causal j > i, padded keys of row 1. */
    const float *P = c.aux;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < Tq; i++)
                for (int j = 0; j < Tk; j++) {
                    const int hidden = (causal && j > i) || !kmask[b * Tk + j];
                    if (hidden)
                        cr_assert_eq(P[(((size_t)b * NH + h) * Tq + i) * Tk + j], 0.0f,
                                     "b%d h%d query %d: hidden key %d got weight", b, h, i, j);
                }
    free(qbuf); free(kvbuf); free(dqbuf); free(dkvbuf);
    free(c.r); free(c.out); free(c.aux);
    ctcd_backend_destroy(c.be);
}

Test(gradcheck, attn_causal_self) { check_general_attention(1, 1, 0.0f); }
Test(gradcheck, attn_causal_self_dropout) { check_general_attention(1, 1, 0.2f); }
Test(gradcheck, attn_cross_padding) { check_general_attention(0, 0, 0.0f); }
Test(gradcheck, attn_cross_padding_dropout) { check_general_attention(0, 0, 0.2f); }

/* The encoder op is the general op on the thirds of a fused row: bitwise the same output. */
Test(gradcheck, attention_is_general_attn_on_fused_rows) {
    ctcd_backend *be = cpu();
    const int B = 2, T = 6, NH = 2, HD = 3, A = NH * HD;
    int32_t mask[12];
    for (int t = 0; t < 12; t++) mask[t] = t < 10;
    float *qkv = rnd(B * T * 3 * A, -1.5f, 1.5f, 70);
    float *o1 = malloc(B * T * A * 4), *o2 = malloc(B * T * A * 4);
    const ctcd_attn_shape s = {B, T, T, NH, HD, 3 * A, 3 * A, 0};
    float *aux = malloc(be->attn_aux_bytes(be, &s));
    cr_assert_eq(be->attn_aux_bytes(be, &s), be->attention_aux_bytes(be, B, T, NH));
    ctcd_dropout_key key = {1, 2};
    cr_assert_null(be->attention_fwd(be, o1, aux, qkv, mask, B, T, NH, HD, 0.1f, key));
    cr_assert_null(be->attn_fwd(be, o2, aux, qkv, qkv + A, qkv + 2 * A, mask, &s, 0.1f, key));
    cr_assert(memcmp(o1, o2, (size_t)B * T * A * 4) == 0, "attention vs attn differ");
    free(qkv); free(o1); free(o2); free(aux);
    ctcd_backend_destroy(be);
}

/* ---- embeddings (all three tables) and row gather/scatter ---- */
typedef struct emb_ctx {
    ctcd_backend *be;
    float *wte, *wpe, *wtt, *out, *r, *rows;
    int32_t ids[6], types[6], idx[3];
} emb_ctx;

static double emb_f(void *p) {
    emb_ctx *c = p;
    c->be->embedding_fwd(c->be, c->out, c->ids, c->types, c->wte, c->wpe, c->wtt, 2, 3, 4);
    c->be->gather_rows(c->be, c->rows, c->out, c->idx, 3, 4);
    return gc_dot(c->rows, c->r, 12);
}

Test(gradcheck, embeddings_and_row_gather) {
    emb_ctx c = {.be = cpu(), .ids = {1, 4, 4, 0, 2, 4}, .types = {0, 1, 1, 0, 0, 1},
                 .idx = {0, 4, 4}}; /* row 4 gathered twice: its gradient must add up */
    c.wte = rnd(5 * 4, -1, 1, 50);
    c.wpe = rnd(3 * 4, -1, 1, 51);
    c.wtt = rnd(2 * 4, -1, 1, 52);
    c.r = rnd(12, -1, 1, 53);
    c.out = malloc(24 * 4);
    c.rows = malloc(12 * 4);
    emb_f(&c);
    float *dout = calloc(24, 4), *dte = calloc(20, 4), *dpe = calloc(12, 4), *dtt = calloc(8, 4);
    c.be->scatter_add_rows(c.be, dout, c.r, c.idx, 3, 4);
    c.be->embedding_bwd(c.be, dte, dpe, dtt, dout, c.ids, c.types, 2, 3, 4);
    gc_check("embedding dwte", c.wte, dte, 20, 1, emb_f, &c);
    gc_check("embedding dwpe", c.wpe, dpe, 12, 1, emb_f, &c);
    gc_check("embedding dwtt", c.wtt, dtt, 8, 1, emb_f, &c);
    free(dout); free(dte); free(dpe); free(dtt);
    free(c.wte); free(c.wpe); free(c.wtt); free(c.r); free(c.out); free(c.rows);
    ctcd_backend_destroy(c.be);
}

/* ---- embedding block: out = dropout(LN(wte[ids] + wpe[t] + wtt[types])) ---- */
typedef struct eln_ctx {
    ctcd_backend *be;
    float *wte, *wpe, *wtt, *g, *b, *out, *s, *mean, *rstd, *r;
    int32_t ids[6], types[6];
    ctcd_dropout_key key;
} eln_ctx;

static double eln_f(void *p) {
    eln_ctx *c = p;
    c->be->embedding_layernorm_fwd(c->be, c->out, c->s, c->mean, c->rstd, c->ids, c->types,
                                   c->wte, c->wpe, c->wtt, c->g, c->b, 2, 3, 5, 1e-5f, 0.3f,
                                   c->key);
    return gc_dot(c->out, c->r, 30);
}

Test(gradcheck, embedding_layernorm) {
    eln_ctx c = {.be = cpu(), .ids = {1, 4, 4, 0, 2, 4}, .types = {0, 1, 1, 0, 0, 1},
                 .key = {7, ctcd_dropout_site(2, 0, 0)}};
    c.wte = rnd(5 * 5, -1, 1, 60);
    c.wpe = rnd(3 * 5, -1, 1, 61);
    c.wtt = rnd(2 * 5, -1, 1, 62);
    c.g = rnd(5, 0.5f, 1.5f, 63);
    c.b = rnd(5, -1, 1, 64);
    c.r = rnd(30, -1, 1, 65);
    c.out = malloc(30 * 4); c.s = malloc(30 * 4); c.mean = malloc(24); c.rstd = malloc(24);
    eln_f(&c);
    float *dout = malloc(30 * 4), *ds = malloc(30 * 4), *dte = calloc(25, 4), *dpe = calloc(15, 4);
    float *dtt = calloc(10, 4), *dg = calloc(5, 4), *db = calloc(5, 4);
    memcpy(dout, c.r, 30 * 4); /* overwritten by the op */
    c.be->embedding_layernorm_bwd(c.be, dte, dpe, dtt, dg, db, dout, ds, c.s, c.mean, c.rstd, c.g,
                                  c.ids, c.types, 2, 3, 5, 0.3f, c.key);
    int dropped = 0;
    for (int i = 0; i < 30; i++) dropped += c.out[i] == 0.0f;
    cr_assert(dropped > 0 && dropped < 30, "p = 0.3 dropped %d of 30 outputs", dropped);
    gc_check("embedding_layernorm dwte", c.wte, dte, 25, 1, eln_f, &c);
    gc_check("embedding_layernorm dwpe", c.wpe, dpe, 15, 1, eln_f, &c);
    gc_check("embedding_layernorm dwtt", c.wtt, dtt, 10, 1, eln_f, &c);
    gc_check("embedding_layernorm dgamma", c.g, dg, 5, 1, eln_f, &c);
    gc_check("embedding_layernorm dbeta", c.b, db, 5, 1, eln_f, &c);

    /* bit for bit the composition embedding_fwd, layernorm_fwd, dropout_fwd */
    float *out2 = malloc(30 * 4), *s2 = malloc(30 * 4), *mean2 = malloc(24), *rstd2 = malloc(24);
    eln_f(&c);
    c.be->embedding_fwd(c.be, s2, c.ids, c.types, c.wte, c.wpe, c.wtt, 2, 3, 5);
    c.be->layernorm_fwd(c.be, out2, NULL, mean2, rstd2, s2, NULL, c.g, c.b, 6, 5, 1e-5f);
    c.be->dropout_fwd(c.be, out2, out2, 30, 0.3f, c.key);
    cr_expect(memcmp(out2, c.out, 30 * 4) == 0, "out differs from the composition");
    cr_expect(memcmp(s2, c.s, 30 * 4) == 0, "s differs from the composition");
    cr_expect(memcmp(mean2, c.mean, 24) == 0 && memcmp(rstd2, c.rstd, 24) == 0,
              "statistics differ from the composition");
    free(out2); free(s2); free(mean2); free(rstd2);
    free(dout); free(ds); free(dte); free(dpe); free(dtt); free(dg); free(db);
    free(c.wte); free(c.wpe); free(c.wtt); free(c.g); free(c.b); free(c.r); free(c.out);
    free(c.s); free(c.mean); free(c.rstd);
    ctcd_backend_destroy(c.be);
}

/* ---- unit mask (head / FFN-neuron gates) ---- */
typedef struct um_ctx {
    ctcd_backend *be;
    float *x, *mask, *out, *r;
    int M, G, S;
} um_ctx;

static double um_f(void *p) {
    um_ctx *c = p;
    c->be->unit_mask_fwd(c->be, c->out, c->x, c->mask, c->M, c->G, c->S);
    return gc_dot(c->out, c->r, (int64_t)c->M * c->G * c->S);
}

Test(gradcheck, unit_mask_input_and_gate) {
    /* Heads (S = HD = 3) and neurons (S = 1); one gate at 0, as for a masked-out unit. */
    const int shapes[2][3] = {{4, 3, 3}, {5, 7, 1}};
    for (int k = 0; k < 2; k++) {
        um_ctx c = {.be = cpu(), .M = shapes[k][0], .G = shapes[k][1], .S = shapes[k][2]};
        const int64_t n = (int64_t)c.M * c.G * c.S;
        c.x = rnd(n, -2, 2, 30 + k);
        c.r = rnd(n, -1, 1, 40 + k);
        c.mask = rnd(c.G, 0.2f, 1.5f, 50 + k);
        c.mask[1] = 0.0f;
        c.out = malloc((size_t)n * 4);
        float *dx = malloc((size_t)n * 4), *dm = calloc((size_t)c.G, 4);
        um_f(&c);
        dm[0] = 0.5f; /* dmask accumulates */
        c.be->unit_mask_bwd(c.be, dx, dm, c.r, c.x, c.mask, c.M, c.G, c.S);
        dm[0] -= 0.5f;
        gc_check("unit_mask dinp", c.x, dx, n, 1, um_f, &c);
        gc_check("unit_mask dmask", c.mask, dm, c.G, 1, um_f, &c);
        /* in place (dinp aliasing dout) gives the same input gradient */
        float *alias = malloc((size_t)n * 4);
        memcpy(alias, c.r, (size_t)n * 4);
        c.be->unit_mask_bwd(c.be, alias, NULL, alias, c.x, c.mask, c.M, c.G, c.S);
        cr_assert(memcmp(alias, dx, (size_t)n * 4) == 0, "in-place unit_mask_bwd differs");
        free(alias); free(dx); free(dm);
        free(c.x); free(c.r); free(c.mask); free(c.out);
        ctcd_backend_destroy(c.be);
    }
}
