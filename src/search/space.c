/* space.c — the KD-NAS search space (include/ctcd/search.h): validity, closed-form
 * enumeration, sampling, mutation and crossover of uniform BERT architectures.
 *
 * Enumeration order: index = (pair · n_layers + layer_i) · n_inter + inter_i, where pair
 * counts the valid (hidden, heads) grid pairs in hidden-major order. Only hidden and heads
 * interact, so count and index maps cost O(n_hidden · n_heads), never the whole grid. */
#include <stdio.h>
#include <string.h>

#include "ctcd/search.h"
#include "space_internal.h"

const char *const ctcd_dim_names[CTCD_N_DIMS] = {"layers", "hidden", "heads", "intermediate"};

#define MAX_GRID 4096

int ctcd_space_n_values(const ctcd_search_space *s, int d) {
    const ctcd_search_dim *g = &s->dim[d];
    return g->step < 1 || g->max < g->min ? 0 : (g->max - g->min) / g->step + 1;
}

int ctcd_space_value(const ctcd_search_space *s, int d, int i) {
    return s->dim[d].min + i * s->dim[d].step;
}

int ctcd_space_on_grid(const ctcd_search_space *s, int d, int v) {
    const ctcd_search_dim *g = &s->dim[d];
    return v >= g->min && v <= g->max && (v - g->min) % g->step == 0;
}

int ctcd_space_pair_ok(const ctcd_search_space *s, int hidden, int heads) {
    return heads > 0 && hidden % heads == 0 && hidden / heads >= s->min_head_dim;
}

int ctcd_arch_valid(const ctcd_search_space *s, const ctcd_arch *a) {
    for (int d = 0; d < CTCD_N_DIMS; d++)
        if (!ctcd_space_on_grid(s, d, a->v[d])) return 0;
    if (a->v[CTCD_DIM_LAYERS] > CTCD_MAX_LAYERS ||
        !ctcd_space_pair_ok(s, a->v[CTCD_DIM_HIDDEN], a->v[CTCD_DIM_HEADS]))
        return 0;
    if (s->per_layer) return ctcd_layers_valid(s, a);
    static const ctcd_arch zero;
    return !memcmp(a->layer_heads, zero.layer_heads, sizeof zero.layer_heads) &&
           !memcmp(a->layer_inter, zero.layer_inter, sizeof zero.layer_inter);
}

static int64_t n_pairs(const ctcd_search_space *s) {
    int64_t n = 0;
    for (int i = 0; i < ctcd_space_n_values(s, CTCD_DIM_HIDDEN); i++)
        for (int j = 0; j < ctcd_space_n_values(s, CTCD_DIM_HEADS); j++)
            n += ctcd_space_pair_ok(s, ctcd_space_value(s, CTCD_DIM_HIDDEN, i),
                                    ctcd_space_value(s, CTCD_DIM_HEADS, j));
    return n;
}

ctcd_status ctcd_space_check(const ctcd_search_space *s) {
    for (int d = 0; d < CTCD_N_DIMS; d++) {
        const ctcd_search_dim *g = &s->dim[d];
        if (g->min < 1 || g->step < 1 || g->max < g->min)
            return CTCD_ERR(CTCD_E_INVALID,
                            "search.%s: need 1 <= min <= max and step >= 1 (got min %d, max %d, "
                            "step %d)", ctcd_dim_names[d], g->min, g->max, g->step);
        if (ctcd_space_n_values(s, d) > MAX_GRID)
            return CTCD_ERR(CTCD_E_INVALID, "search.%s: more than %d grid values; raise the step",
                            ctcd_dim_names[d], MAX_GRID);
    }
    if (s->dim[CTCD_DIM_LAYERS].max > CTCD_MAX_LAYERS)
        return CTCD_ERR(CTCD_E_INVALID, "search.layers: max %d is above %d",
                        s->dim[CTCD_DIM_LAYERS].max, CTCD_MAX_LAYERS);
    if (s->min_head_dim < 1)
        return CTCD_ERR(CTCD_E_INVALID, "search.min_head_dim must be >= 1 (got %d)",
                        s->min_head_dim);
    if (!n_pairs(s))
        return CTCD_ERR(CTCD_E_INVALID,
                        "search: no valid architecture: no hidden in [%d, %d] step %d is divisible "
                        "by a head count in [%d, %d] step %d with head_dim >= %d",
                        s->dim[CTCD_DIM_HIDDEN].min, s->dim[CTCD_DIM_HIDDEN].max,
                        s->dim[CTCD_DIM_HIDDEN].step, s->dim[CTCD_DIM_HEADS].min,
                        s->dim[CTCD_DIM_HEADS].max, s->dim[CTCD_DIM_HEADS].step,
                        s->min_head_dim);
    return CTCD_OK;
}

int64_t ctcd_space_count(const ctcd_search_space *s) {
    if (s->per_layer) return ctcd_layers_count(s);
    return n_pairs(s) * ctcd_space_n_values(s, CTCD_DIM_LAYERS) *
           ctcd_space_n_values(s, CTCD_DIM_INTER);
}

int ctcd_space_arch_at(const ctcd_search_space *s, int64_t index, ctcd_arch *out) {
    const int64_t nl = ctcd_space_n_values(s, CTCD_DIM_LAYERS);
    const int64_t ni = ctcd_space_n_values(s, CTCD_DIM_INTER);
    if (s->per_layer || index < 0 || index >= ctcd_space_count(s)) return -1;
    memset(out, 0, sizeof *out);
    const int64_t inter_i = index % ni, layer_i = (index / ni) % nl, pair = index / ni / nl;
    int64_t k = 0;
    for (int i = 0; i < ctcd_space_n_values(s, CTCD_DIM_HIDDEN); i++)
        for (int j = 0; j < ctcd_space_n_values(s, CTCD_DIM_HEADS); j++) {
            const int h = ctcd_space_value(s, CTCD_DIM_HIDDEN, i);
            const int nh = ctcd_space_value(s, CTCD_DIM_HEADS, j);
            if (!ctcd_space_pair_ok(s, h, nh)) continue;
            if (k++ != pair) continue;
            out->v[CTCD_DIM_LAYERS] = ctcd_space_value(s, CTCD_DIM_LAYERS, (int)layer_i);
            out->v[CTCD_DIM_HIDDEN] = h;
            out->v[CTCD_DIM_HEADS] = nh;
            out->v[CTCD_DIM_INTER] = ctcd_space_value(s, CTCD_DIM_INTER, (int)inter_i);
            return 0;
        }
    return -1; /* unreachable: index < count */
}

int64_t ctcd_space_index_of(const ctcd_search_space *s, const ctcd_arch *a) {
    if (s->per_layer || !ctcd_arch_valid(s, a)) return -1;
    int64_t pair = 0;
    for (int i = 0; i < ctcd_space_n_values(s, CTCD_DIM_HIDDEN); i++)
        for (int j = 0; j < ctcd_space_n_values(s, CTCD_DIM_HEADS); j++) {
            const int h = ctcd_space_value(s, CTCD_DIM_HIDDEN, i);
            const int nh = ctcd_space_value(s, CTCD_DIM_HEADS, j);
            if (!ctcd_space_pair_ok(s, h, nh)) continue;
            if (h == a->v[CTCD_DIM_HIDDEN] && nh == a->v[CTCD_DIM_HEADS]) goto found;
            pair++;
        }
    return -1;
found:;
    const int64_t nl = ctcd_space_n_values(s, CTCD_DIM_LAYERS);
    const int64_t ni = ctcd_space_n_values(s, CTCD_DIM_INTER);
    const int64_t li = (a->v[CTCD_DIM_LAYERS] - s->dim[CTCD_DIM_LAYERS].min) /
                       s->dim[CTCD_DIM_LAYERS].step;
    const int64_t ii = (a->v[CTCD_DIM_INTER] - s->dim[CTCD_DIM_INTER].min) /
                       s->dim[CTCD_DIM_INTER].step;
    return (pair * nl + li) * ni + ii;
}

void ctcd_space_sample(const ctcd_search_space *s, ctcd_rng *r, ctcd_arch *out) {
    if (s->per_layer) {
        ctcd_search_space u = *s;
        u.per_layer = 0;
        ctcd_space_sample(&u, r, out);
        ctcd_layers_sample(s, r, out);
        return;
    }
    const int64_t n = ctcd_space_count(s);
    CTCD_ASSERT(n > 0, "search space is empty");
    /* two 32-bit draws: the count can exceed 2^32 */
    const uint64_t hi = ctcd_rng_u32(r), lo = ctcd_rng_u32(r);
    const int64_t index = (int64_t)(((hi << 32) | lo) % (uint64_t)n);
    const int rc = ctcd_space_arch_at(s, index, out);
    CTCD_ASSERT(rc == 0, "index %lld of %lld", (long long)index, (long long)n);
}

int ctcd_space_mutate(const ctcd_search_space *s, ctcd_rng *r, int max_steps,
                      const ctcd_arch *a, ctcd_arch *out) {
    CTCD_ASSERT(ctcd_arch_valid(s, a) && max_steps >= 1, "mutate needs a valid architecture");
    if (s->per_layer) return ctcd_layers_mutate(s, r, max_steps, a, out);
    /* Random tries first; then every (dimension, delta) in a seeded order so that a valid
     * neighbour, when one exists, is always found. */
    for (int tries = 0; tries < 32; tries++) {
        const int d = (int)ctcd_rng_below(r, CTCD_N_DIMS);
        const int k = 1 + (int)ctcd_rng_below(r, (uint32_t)max_steps);
        *out = *a;
        out->v[d] += (ctcd_rng_below(r, 2) ? k : -k) * s->dim[d].step;
        if (ctcd_arch_valid(s, out)) return 0;
    }
    const int d0 = (int)ctcd_rng_below(r, CTCD_N_DIMS);
    for (int k = 1; k <= max_steps; k++)
        for (int dd = 0; dd < CTCD_N_DIMS; dd++)
            for (int sign = -1; sign <= 1; sign += 2) {
                const int d = (d0 + dd) % CTCD_N_DIMS;
                *out = *a;
                out->v[d] += sign * k * s->dim[d].step;
                if (ctcd_arch_valid(s, out)) return 0;
            }
    *out = *a;
    return -1;
}

void ctcd_space_crossover(const ctcd_search_space *s, ctcd_rng *r, const ctcd_arch *a,
                          const ctcd_arch *b, ctcd_arch *out) {
    if (s->per_layer) {
        ctcd_layers_crossover(r, a, b, out);
        CTCD_ASSERT(ctcd_arch_valid(s, out), "crossover of valid parents gave an invalid child");
        return;
    }
    memset(out, 0, sizeof *out);
    for (int d = 0; d < CTCD_N_DIMS; d++) out->v[d] = ctcd_rng_below(r, 2) ? b->v[d] : a->v[d];
    if (!ctcd_arch_valid(s, out)) { /* only hidden/heads can clash: take both from one parent */
        const ctcd_arch *p = ctcd_rng_below(r, 2) ? b : a;
        out->v[CTCD_DIM_HIDDEN] = p->v[CTCD_DIM_HIDDEN];
        out->v[CTCD_DIM_HEADS] = p->v[CTCD_DIM_HEADS];
    }
    CTCD_ASSERT(ctcd_arch_valid(s, out), "crossover of valid parents gave an invalid child");
}

const char *ctcd_arch_str(const ctcd_arch *a, char *buf, int n) {
    const int len = snprintf(buf, (size_t)n, "L%d-H%d-A%d-I%d", a->v[CTCD_DIM_LAYERS],
                             a->v[CTCD_DIM_HIDDEN], a->v[CTCD_DIM_HEADS], a->v[CTCD_DIM_INTER]);
    if (ctcd_arch_is_per_layer(a) && len < n - 1) {
        buf[len] = '-';
        ctcd_arch_layers_str(a, buf + len + 1, n - len - 1);
    }
    return buf;
}

ctcd_status ctcd_arch_parse(const char *text, const char *what, ctcd_arch *out) {
    int n = -1;
    ctcd_arch a;
    memset(&a, 0, sizeof a);
    const int got = sscanf(text, " L%d-H%d-A%d-I%d%n", &a.v[CTCD_DIM_LAYERS],
                           &a.v[CTCD_DIM_HIDDEN], &a.v[CTCD_DIM_HEADS], &a.v[CTCD_DIM_INTER], &n);
    int bad = got != 4;
    for (int d = 0; !bad && d < CTCD_N_DIMS; d++) bad = a.v[d] < 1;
    bad = bad || a.v[CTCD_DIM_HIDDEN] % a.v[CTCD_DIM_HEADS] ||
          a.v[CTCD_DIM_LAYERS] > CTCD_MAX_LAYERS;
    if (!bad && text[n] == '-') { /* per-layer suffix */
        const int inter = a.v[CTCD_DIM_INTER];
        bad = ctcd_arch_layers_parse(text + n + 1, &a) || a.v[CTCD_DIM_INTER] != inter;
        for (int l = 0; !bad && l < a.v[CTCD_DIM_LAYERS]; l++)
            bad = a.layer_heads[l] > a.v[CTCD_DIM_HEADS];
    } else if (!bad) {
        bad = text[n] != '\0';
    }
    if (bad)
        return CTCD_ERR(CTCD_E_PARSE, "%s: '%s' is not an architecture like L2-H128-A2-I512 or "
                        "L2-H128-A2-I512-a2.1-i512.256 (values >= 1, heads dividing hidden, "
                        "layers <= %d, layer heads <= heads, I the widest layer FFN)",
                        what, text, CTCD_MAX_LAYERS);
    *out = a;
    return CTCD_OK;
}

ctcd_status ctcd_arch_config(const ctcd_arch *a, int vocab, int max_position, int n_labels,
                             ctcd_bert_config *out) {
    char name[64];
    CTCD_TRY(ctcd_bert_config_init(out, ctcd_arch_str(a, name, sizeof name),
                                   a->v[CTCD_DIM_LAYERS], a->v[CTCD_DIM_HIDDEN],
                                   a->v[CTCD_DIM_HEADS], a->v[CTCD_DIM_INTER], vocab,
                                   max_position, 2, n_labels));
    out->hidden_dropout = 0;
    out->attn_dropout = 0;
    if (!ctcd_arch_is_per_layer(a)) return CTCD_OK;
    for (int l = 0; l < a->v[CTCD_DIM_LAYERS]; l++) {
        out->layer_heads[l] = a->layer_heads[l];
        out->layer_intermediate[l] = a->layer_inter[l];
    }
    return ctcd_bert_config_validate(out, name);
}

int64_t ctcd_arch_n_params(const ctcd_arch *a, int vocab, int n_labels) {
    /* closed form of the layout in src/model/bert_layout.c (classification head) */
    const int64_t H = a->v[CTCD_DIM_HIDDEN], L = a->v[CTCD_DIM_LAYERS];
    const int64_t emb = ((int64_t)vocab + 512 + 2) * H + 2 * H;
    const int pl = ctcd_arch_is_per_layer(a);
    int64_t layers = 0;
    for (int l = 0; l < L; l++) { /* A: attention width heads_l x head size */
        const int64_t A = (pl ? a->layer_heads[l] : a->v[CTCD_DIM_HEADS]) *
                          (H / a->v[CTCD_DIM_HEADS]);
        const int64_t I = pl ? a->layer_inter[l] : a->v[CTCD_DIM_INTER];
        layers += 4 * H * A + 3 * A + H + 2 * H * I + I + H + 4 * H;
    }
    const int64_t head = H * H + H + (int64_t)n_labels * H + n_labels;
    return emb + layers + head;
}
