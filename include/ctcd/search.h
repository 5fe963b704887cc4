/* search.h — KD-NAS (issue 12): the student architecture search space, measured and
 * predicted latency, and the reward predictor that screens proposals.
 *
 * An architecture is a BERT encoder: four integers, and in a per-layer space
 * (search.per_layer) each layer's heads and FFN width too (ctcd_arch below). The space
 * gives each dimension a [min, max] range on a grid of `step`; an architecture is valid when
 * it is on the grid, hidden % heads == 0 and hidden / heads >= min_head_dim. Validity
 * couples only hidden and heads, so the uniform valid set is layers x intermediate x (valid
 * (hidden, heads) pairs) and enumerates in closed form.
 *
 * Everything random takes a ctcd_rng owned by the caller: the same seed gives the same
 * samples, mutations and crossovers (the search state saves the RNG to resume exactly). */
#ifndef CTCD_SEARCH_H
#define CTCD_SEARCH_H

#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/model.h"
#include "ctcd/rng.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CTCD_DIM_LAYERS = 0, CTCD_DIM_HIDDEN, CTCD_DIM_HEADS, CTCD_DIM_INTER, CTCD_N_DIMS };
extern const char *const ctcd_dim_names[CTCD_N_DIMS]; /* layers, hidden, heads, intermediate */

/* One candidate: v[CTCD_DIM_*]. In a per-layer space (ctcd_search_space.per_layer) each
 * layer l < v[LAYERS] has its own heads and FFN width: v[HEADS] then fixes the head size
 * hidden / v[HEADS] and bounds every layer's heads (the model's pruned-heads form), and
 * v[INTER] is the widest layer's FFN. In a uniform space both arrays are all zero. */
typedef struct ctcd_arch {
    int v[CTCD_N_DIMS];
    int layer_heads[CTCD_MAX_LAYERS];
    int layer_inter[CTCD_MAX_LAYERS];
} ctcd_arch;

typedef struct ctcd_search_dim {
    int min, max, step; /* values min, min+step, ... <= max */
} ctcd_search_dim;

typedef struct ctcd_search_space {
    ctcd_search_dim dim[CTCD_N_DIMS];
    int min_head_dim;   /* hidden / heads must be at least this (8 by default) */
    int per_layer;      /* 1: heads and FFN width chosen per layer (on the same grids) */
} ctcd_search_space;

/* Checks bounds (min >= 1, step >= 1, min <= max, at most 4096 grid values per dimension,
 * layers <= CTCD_MAX_LAYERS) and that at least one architecture is valid. */
ctcd_status ctcd_space_check(const ctcd_search_space *s);
/* Grid values of dimension d. */
int ctcd_space_n_values(const ctcd_search_space *s, int d);
/* 1 when a is on the grid, in bounds, hidden % heads == 0 and head_dim >= min_head_dim;
 * per-layer: every layer's heads on the heads grid and <= v[HEADS], its FFN on the
 * intermediate grid, v[INTER] their maximum, the arrays zero past the last layer. */
int ctcd_arch_valid(const ctcd_search_space *s, const ctcd_arch *a);
/* Number of valid architectures (per-layer: saturates at INT64_MAX). */
int64_t ctcd_space_count(const ctcd_search_space *s);
/* The index-th valid architecture, index in [0, count), in a fixed order (index_of is the
 * inverse). Returns 0 on success, -1 when index is out of range. Uniform spaces only: a
 * per-layer space returns -1 (its count is astronomically large; see ctcd_space_sample). */
int ctcd_space_arch_at(const ctcd_search_space *s, int64_t index, ctcd_arch *out);
/* Index of a valid architecture, -1 when a is not valid. */
int64_t ctcd_space_index_of(const ctcd_search_space *s, const ctcd_arch *a);
/* Uniform over the valid architectures. Per-layer: (layers, hidden, heads) as in the
 * uniform space, then each layer's heads and FFN width uniform on their grids. */
void ctcd_space_sample(const ctcd_search_space *s, ctcd_rng *r, ctcd_arch *out);
/* One gene moves by ±1..max_steps grid steps (genes: the four dimensions; per-layer: layers,
 * hidden, heads and each layer's heads and FFN width, added layers copying the last one);
 * the result is valid and differs from a (a must be valid). Returns 0, or -1 when no
 * neighbour within max_steps is valid (out = a). */
int ctcd_space_mutate(const ctcd_search_space *s, ctcd_rng *r, int max_steps,
                      const ctcd_arch *a, ctcd_arch *out);
/* Each gene from a or b with probability 1/2; hidden and heads come from the same parent
 * when mixing them would be invalid (per-layer: always, and a layer's genes come from the
 * parent that gave the depth when the other is shallower). a and b must be valid; so is
 * the result. */
void ctcd_space_crossover(const ctcd_search_space *s, ctcd_rng *r, const ctcd_arch *a,
                          const ctcd_arch *b, ctcd_arch *out);
/* "L4-H256-A4-I1024", per-layer "L2-H256-A4-I1024-a4.2-i1024.512" (buffer of at least 48
 * bytes; 64 hold any architecture of up to 4 layers, longer names are truncated). */
const char *ctcd_arch_str(const ctcd_arch *a, char *buf, int n);
/* Parses what ctcd_arch_str writes (untruncated); needs every value >= 1, hidden % heads ==
 * 0 and per-layer heads <= heads (not the search space's grid). `what` names the source in
 * errors. */
ctcd_status ctcd_arch_parse(const char *text, const char *what, ctcd_arch *out);
/* 1 when a has per-layer genes. */
int ctcd_arch_is_per_layer(const ctcd_arch *a);
/* The per-layer suffix "a4.2-i1024.512" of a per-layer arch ("" for a uniform one). */
const char *ctcd_arch_layers_str(const ctcd_arch *a, char *buf, int n);
/* Reads the suffix into a (whose v[LAYERS] must be set): 0, or -1 when malformed. */
int ctcd_arch_layers_parse(const char *text, ctcd_arch *a);

/* A classification model config of architecture a (dropout 0, the usual LayerNorm eps). */
ctcd_status ctcd_arch_config(const ctcd_arch *a, int vocab, int max_position, int n_labels,
                             ctcd_bert_config *out);

/* ---- least squares (src/search/linfit.c) ----
 * Solves min_w |X w - y|² + lambda · Σ_{j >= skip} w_j² (n rows, p columns, row-major X) by
 * the normal equations with partial pivoting, in double. skip = 1 leaves an intercept column
 * 0 unpenalised. Errors when the system is singular. */
ctcd_status ctcd_lstsq(const double *X, const double *y, int n, int p, double lambda, int skip,
                       double *w);

/* ---- latency (src/search/latency.c) ---- */
typedef struct ctcd_latency_opts {
    int B, T;          /* batch of B sequences of T tokens */
    int reps, warmup;  /* median of reps timed forwards after warmup untimed ones */
    int vocab, n_labels;
    uint64_t seed;     /* weights and batch */
} ctcd_latency_opts;

/* Median forward latency (ms, dropout off) of a randomly initialised model of arch a. */
ctcd_status ctcd_latency_measure(ctcd_backend *be, const ctcd_arch *a,
                                 const ctcd_latency_opts *o, double *ms);

typedef struct ctcd_latency_entry {
    ctcd_arch arch;
    char device[64];
    int B, T;
    double ms;
} ctcd_latency_entry;

/* Measured latencies keyed by (arch, device, B, T), kept in a TSV file rewritten atomically
 * on every addition. `measure` (default ctcd_latency_measure) is what a miss calls; tests
 * replace it, and n_measured counts the calls. */
typedef struct ctcd_latency_cache {
    char path[1024];   /* "" = in memory only */
    ctcd_latency_entry *e;
    int n, cap;
    int64_t n_measured;
    ctcd_status (*measure)(ctcd_backend *be, const ctcd_arch *a, const ctcd_latency_opts *o,
                           double *ms);
} ctcd_latency_cache;

/* Opens (reads when it exists) the cache file at path; path may be NULL. */
ctcd_status ctcd_latency_cache_open(ctcd_latency_cache *c, const char *path);
void ctcd_latency_cache_close(ctcd_latency_cache *c);
/* Cached value, or a measurement that is then stored. *measured (may be NULL) says which. */
ctcd_status ctcd_latency_get(ctcd_latency_cache *c, ctcd_backend *be, const ctcd_arch *a,
                             const ctcd_latency_opts *o, double *ms, int *measured);

/* Latency predictor: ms ≈ w0 + w1·GFLOPs(forward, B, T) + w2·MB of fp32 parameters, both
 * summed over the layers with each layer's own heads and FFN width. */
enum { CTCD_LAT_NFEAT = 3 };
typedef struct ctcd_latency_model {
    double w[CTCD_LAT_NFEAT];
    int fitted;
} ctcd_latency_model;
void ctcd_latency_features(const ctcd_arch *a, const ctcd_latency_opts *o,
                           double f[CTCD_LAT_NFEAT]);
/* Fits over n measured (arch, ms) pairs; needs n >= 3 distinct feature rows. */
ctcd_status ctcd_latency_fit(ctcd_latency_model *m, const ctcd_arch *a, const double *ms, int n,
                             const ctcd_latency_opts *o);
double ctcd_latency_predict(const ctcd_latency_model *m, const ctcd_arch *a,
                            const ctcd_latency_opts *o);

/* ---- reward predictor (src/search/predictor.c) ----
 * Ridge regression of a score on architecture features: an intercept, the four dimensions
 * normalised to [0, 1] over the space (heads and FFN as their means over layers), log10 of
 * the encoder parameter count, and two per-layer features that are 0 for a uniform arch:
 * the global heads minus the mean layer heads, and the FFN spread (max - min), normalised. */
enum { CTCD_PRED_NFEAT = 8 };
typedef struct ctcd_reward_model {
    double w[CTCD_PRED_NFEAT];
    double lambda;
    int fitted;
} ctcd_reward_model;
void ctcd_reward_features(const ctcd_search_space *s, const ctcd_arch *a,
                          double f[CTCD_PRED_NFEAT]);
ctcd_status ctcd_reward_fit(ctcd_reward_model *m, const ctcd_search_space *s,
                            const ctcd_arch *a, const double *score, int n, double lambda);
double ctcd_reward_predict(const ctcd_reward_model *m, const ctcd_search_space *s,
                           const ctcd_arch *a);
/* order[0..n) = indices of a sorted by predicted score, best first (ties by index). */
void ctcd_reward_rank(const ctcd_reward_model *m, const ctcd_search_space *s,
                      const ctcd_arch *a, int n, int *order);

/* Parameter count of the classification model of arch a (vocab, positions 512, 2 types). */
int64_t ctcd_arch_n_params(const ctcd_arch *a, int vocab, int n_labels);


/* ---- the search (src/search/search.c) ---- */
struct ctcd_recipe;

typedef struct ctcd_search_candidate {
    ctcd_arch arch;
    int episode;
    int64_t params;
    double latency_ms;
    int latency_measured;   /* 1 measured, 0 predicted */
    char device[64];
    double score;           /* dev task score of the proxy distillation */
    double reward;          /* score · (latency / target)^w, w = 0 at or below the target */
} ctcd_search_candidate;

/* MnasNet's soft latency constraint. */
double ctcd_search_reward(double score, double latency_ms, double target_ms, double w);

/* The recipe of a run that distils architecture a from the teacher checkpoint (search.mode
 * kd: frozen teacher; ctcd: co-trained) into `out`; proxy limits the training set to
 * search.proxy_examples. */
void ctcd_search_candidate_recipe(const struct ctcd_recipe *rc, const char *teacher,
                                  const ctcd_arch *a, int proxy, const char *out,
                                  struct ctcd_recipe *r);

/* ctcd_search_candidate_recipe, and for a per-layer arch (which a recipe cannot express)
 * a random checkpoint of its shape written to <out>/init, models.small.init pointing there
 * (src/search/candidate.c). */
ctcd_status ctcd_search_prepare_run(const struct ctcd_recipe *rc, const char *teacher,
                                    const ctcd_arch *a, int proxy, const char *out,
                                    struct ctcd_recipe *r);

/* The final stage (src/search/final.c, search.final.*): the winner and the hand-made student
 * (of search.final.handmade, the one of measured latency nearest the winner's) distilled on
 * the full training set at search.final.seeds seeds (train.seed + k) into dir/final/; writes
 * dir/final.jsonl (one line per run, plus the teacher's latency) and dir/final.md (mean +-
 * sample std per model). teacher_score is the teacher's dev score (NAN when unknown). */
ctcd_status ctcd_search_final(const struct ctcd_recipe *rc, const char *dir, const char *teacher,
                              double teacher_score, const ctcd_search_candidate *best,
                              ctcd_latency_cache *cache, ctcd_backend *be,
                              const ctcd_latency_opts *lat);

/* Runs (or with resume, continues) the search of rc->search in dir: candidates.jsonl and
 * state.json after every episode; pareto.png, best/config.json and best/recipe.yaml when
 * the last episode is done. max_episodes > 0 stops after that many episodes of this call
 * (the state then resumes exactly). *best (may be NULL) receives the best candidate. */
ctcd_status ctcd_search_run(const struct ctcd_recipe *rc, const char *dir, int resume,
                            int max_episodes, ctcd_search_candidate *best);

#ifdef __cplusplus
}
#endif
#endif
