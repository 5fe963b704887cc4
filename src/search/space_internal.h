/* space_internal.h — helpers shared by the uniform (space.c) and per-layer
 * (space_layers.c) parts of the KD-NAS search space; not public API. */
#ifndef CTCD_SPACE_INTERNAL_H
#define CTCD_SPACE_INTERNAL_H

#include "ctcd/search.h"

/* i-th grid value of dimension d. */
int ctcd_space_value(const ctcd_search_space *s, int d, int i);
/* 1 when v is a grid value of dimension d. */
int ctcd_space_on_grid(const ctcd_search_space *s, int d, int v);
/* 1 when heads divides hidden with a head size >= min_head_dim. */
int ctcd_space_pair_ok(const ctcd_search_space *s, int hidden, int heads);

/* The per-layer space (space_layers.c): the per-layer part of ctcd_arch_valid, the count,
 * per-layer genes drawn for a sampled (layers, hidden, heads), mutation and crossover. */
int ctcd_layers_valid(const ctcd_search_space *s, const ctcd_arch *a);
int64_t ctcd_layers_count(const ctcd_search_space *s);
void ctcd_layers_sample(const ctcd_search_space *s, ctcd_rng *r, ctcd_arch *a);
int ctcd_layers_mutate(const ctcd_search_space *s, ctcd_rng *r, int max_steps,
                       const ctcd_arch *a, ctcd_arch *out);
void ctcd_layers_crossover(ctcd_rng *r, const ctcd_arch *a, const ctcd_arch *b, ctcd_arch *out);

#endif
