/* space_layers.c — the per-layer (non-uniform) KD-NAS search space (include/ctcd/search.h,
 * search.per_layer): validity, counting, sampling, mutation and crossover of architectures
 * whose layers each choose their heads and FFN width; space.c dispatches here.
 *
 * Genes: 0 layers, 1 hidden, 2 heads (the head size hidden / heads and the bound of every
 * layer's heads), then 3 + 2l the heads of layer l and 4 + 2l its FFN width. v[INTER] is
 * derived (the widest FFN) so that features and names of uniform and per-layer archs agree
 * on uniform ones. After any change `normalise` restores the invariants: layers added by a
 * deeper child copy the last layer, dropped layers are zeroed, layer heads above the global
 * heads are clamped to it. */
#include <stdio.h>
#include <string.h>

#include "ctcd/search.h"
#include "space_internal.h"

int ctcd_arch_is_per_layer(const ctcd_arch *a) {
    return a->layer_heads[0] != 0;
}

static void normalise(ctcd_arch *a, int old_layers) {
    const int L = a->v[CTCD_DIM_LAYERS];
    if (L < 1 || L > CTCD_MAX_LAYERS || old_layers < 1) return; /* invalid anyway */
    for (int l = old_layers; l < L; l++) {
        a->layer_heads[l] = a->layer_heads[old_layers - 1];
        a->layer_inter[l] = a->layer_inter[old_layers - 1];
    }
    for (int l = L; l < CTCD_MAX_LAYERS; l++) a->layer_heads[l] = a->layer_inter[l] = 0;
    int widest = 0;
    for (int l = 0; l < L; l++) {
        if (a->layer_heads[l] > a->v[CTCD_DIM_HEADS]) a->layer_heads[l] = a->v[CTCD_DIM_HEADS];
        if (a->layer_inter[l] > widest) widest = a->layer_inter[l];
    }
    a->v[CTCD_DIM_INTER] = widest;
}

int ctcd_layers_valid(const ctcd_search_space *s, const ctcd_arch *a) {
    const int L = a->v[CTCD_DIM_LAYERS];
    int widest = 0;
    for (int l = 0; l < CTCD_MAX_LAYERS; l++) {
        if (l >= L) {
            if (a->layer_heads[l] || a->layer_inter[l]) return 0;
            continue;
        }
        if (!ctcd_space_on_grid(s, CTCD_DIM_HEADS, a->layer_heads[l]) ||
            a->layer_heads[l] > a->v[CTCD_DIM_HEADS] ||
            !ctcd_space_on_grid(s, CTCD_DIM_INTER, a->layer_inter[l]))
            return 0;
        if (a->layer_inter[l] > widest) widest = a->layer_inter[l];
    }
    return widest == a->v[CTCD_DIM_INTER];
}

/* Heads grid values <= heads (at least one: heads is on the grid). */
static int n_heads_upto(const ctcd_search_space *s, int heads) {
    return (heads - s->dim[CTCD_DIM_HEADS].min) / s->dim[CTCD_DIM_HEADS].step + 1;
}

static int64_t sat_mul(int64_t a, int64_t b) {
    return a && b > INT64_MAX / a ? INT64_MAX : a * b;
}

static int64_t sat_add(int64_t a, int64_t b) {
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int64_t ctcd_layers_count(const ctcd_search_space *s) {
    const int ni = ctcd_space_n_values(s, CTCD_DIM_INTER);
    int64_t n = 0;
    for (int i = 0; i < ctcd_space_n_values(s, CTCD_DIM_HIDDEN); i++)
        for (int j = 0; j < ctcd_space_n_values(s, CTCD_DIM_HEADS); j++) {
            const int h = ctcd_space_value(s, CTCD_DIM_HIDDEN, i);
            const int nh = ctcd_space_value(s, CTCD_DIM_HEADS, j);
            if (!ctcd_space_pair_ok(s, h, nh)) continue;
            const int64_t per_layer = (int64_t)n_heads_upto(s, nh) * ni;
            for (int k = 0; k < ctcd_space_n_values(s, CTCD_DIM_LAYERS); k++) {
                int64_t c = 1;
                for (int l = 0; l < ctcd_space_value(s, CTCD_DIM_LAYERS, k); l++)
                    c = sat_mul(c, per_layer);
                n = sat_add(n, c);
            }
        }
    return n;
}

void ctcd_layers_sample(const ctcd_search_space *s, ctcd_rng *r, ctcd_arch *a) {
    const int L = a->v[CTCD_DIM_LAYERS];
    const int nh = n_heads_upto(s, a->v[CTCD_DIM_HEADS]);
    const int ni = ctcd_space_n_values(s, CTCD_DIM_INTER);
    for (int l = 0; l < L; l++) {
        const int hi = (int)ctcd_rng_below(r, (uint32_t)nh);
        const int ii = (int)ctcd_rng_below(r, (uint32_t)ni);
        a->layer_heads[l] = ctcd_space_value(s, CTCD_DIM_HEADS, hi);
        a->layer_inter[l] = ctcd_space_value(s, CTCD_DIM_INTER, ii);
    }
    normalise(a, L);
}

static int *gene(ctcd_arch *a, int g, int *dim) {
    if (g < 3) return *dim = g, &a->v[g];
    const int l = (g - 3) / 2;
    *dim = (g - 3) % 2 ? CTCD_DIM_INTER : CTCD_DIM_HEADS;
    return (g - 3) % 2 ? &a->layer_inter[l] : &a->layer_heads[l];
}

/* out = a with gene g moved by delta grid steps; 1 when the result is valid and differs. */
static int try_move(const ctcd_search_space *s, const ctcd_arch *a, int g, int delta,
                    ctcd_arch *out) {
    int d;
    *out = *a;
    int *v = gene(out, g, &d);
    *v += delta * s->dim[d].step;
    normalise(out, a->v[CTCD_DIM_LAYERS]);
    return ctcd_arch_valid(s, out) && memcmp(out, a, sizeof *a) != 0;
}

int ctcd_layers_mutate(const ctcd_search_space *s, ctcd_rng *r, int max_steps,
                       const ctcd_arch *a, ctcd_arch *out) {
    const int n_genes = 3 + 2 * a->v[CTCD_DIM_LAYERS];
    for (int tries = 0; tries < 32; tries++) {
        const int g = (int)ctcd_rng_below(r, (uint32_t)n_genes);
        const int k = 1 + (int)ctcd_rng_below(r, (uint32_t)max_steps);
        if (try_move(s, a, g, ctcd_rng_below(r, 2) ? k : -k, out)) return 0;
    }
    const int g0 = (int)ctcd_rng_below(r, (uint32_t)n_genes);
    for (int k = 1; k <= max_steps; k++)
        for (int gg = 0; gg < n_genes; gg++)
            for (int sign = -1; sign <= 1; sign += 2)
                if (try_move(s, a, (g0 + gg) % n_genes, sign * k, out)) return 0;
    *out = *a;
    return -1;
}

void ctcd_layers_crossover(ctcd_rng *r, const ctcd_arch *a, const ctcd_arch *b, ctcd_arch *out) {
    const ctcd_arch *deep = ctcd_rng_below(r, 2) ? b : a;  /* gives the depth */
    const ctcd_arch *pair = ctcd_rng_below(r, 2) ? b : a;  /* gives hidden and heads */
    memset(out, 0, sizeof *out);
    out->v[CTCD_DIM_LAYERS] = deep->v[CTCD_DIM_LAYERS];
    out->v[CTCD_DIM_HIDDEN] = pair->v[CTCD_DIM_HIDDEN];
    out->v[CTCD_DIM_HEADS] = pair->v[CTCD_DIM_HEADS];
    for (int l = 0; l < out->v[CTCD_DIM_LAYERS]; l++) {
        const ctcd_arch *p = ctcd_rng_below(r, 2) ? b : a;
        const ctcd_arch *q = ctcd_rng_below(r, 2) ? b : a;
        out->layer_heads[l] = (l < p->v[CTCD_DIM_LAYERS] ? p : deep)->layer_heads[l];
        out->layer_inter[l] = (l < q->v[CTCD_DIM_LAYERS] ? q : deep)->layer_inter[l];
    }
    normalise(out, out->v[CTCD_DIM_LAYERS]);
}

static int list_str(char *buf, int n, char tag, const int *v, int L) {
    int len = snprintf(buf, (size_t)n, "%c", tag);
    for (int l = 0; l < L && len < n; l++)
        len += snprintf(buf + len, (size_t)(n - len), l ? ".%d" : "%d", v[l]);
    return len;
}

const char *ctcd_arch_layers_str(const ctcd_arch *a, char *buf, int n) {
    buf[0] = '\0';
    if (!ctcd_arch_is_per_layer(a) || n < 2) return buf;
    const int L = a->v[CTCD_DIM_LAYERS];
    int len = list_str(buf, n, 'a', a->layer_heads, L);
    if (len < n - 1) {
        buf[len++] = '-';
        list_str(buf + len, n - len, 'i', a->layer_inter, L);
    }
    return buf;
}

/* "x4.2.1" into v[0..L); returns characters read, or -1. */
static int list_parse(const char *t, char tag, int *v, int L) {
    if (*t != tag) return -1;
    int pos = 1;
    for (int l = 0; l < L; l++) {
        int used = 0;
        if ((l && t[pos++] != '.') || sscanf(t + pos, "%d%n", &v[l], &used) != 1 || v[l] < 1)
            return -1;
        pos += used;
    }
    return pos;
}

int ctcd_arch_layers_parse(const char *text, ctcd_arch *a) {
    const int L = a->v[CTCD_DIM_LAYERS];
    if (L < 1 || L > CTCD_MAX_LAYERS) return -1;
    const int n1 = list_parse(text, 'a', a->layer_heads, L);
    if (n1 < 0 || text[n1] != '-') return -1;
    const int n2 = list_parse(text + n1 + 1, 'i', a->layer_inter, L);
    if (n2 < 0 || text[n1 + 1 + n2] != '\0') return -1;
    int widest = 0;
    for (int l = 0; l < L; l++) widest = a->layer_inter[l] > widest ? a->layer_inter[l] : widest;
    a->v[CTCD_DIM_INTER] = widest;
    return 0;
}
