/* state_recipe.h — the recipe side of the training-state file (include/ctcd/resume.h):
 * a growable list of __metadata__ strings, the recipe keys and fingerprint recorded in it,
 * and the check that a state belongs to a recipe. */
#ifndef CTCD_STATE_RECIPE_H
#define CTCD_STATE_RECIPE_H

#include "ctcd/recipe.h"
#include "ctcd/safetensors.h"

/* key, value, key, value, ..., NULL (the form ctcd_st_write takes); strings are owned. */
typedef struct state_md {
    char **kv;   /* [2·n + 1] */
    int n;       /* pairs */
    int cap;     /* pairs */
} state_md;

ctcd_status state_md_add(state_md *md, const char *key, const char *fmt, ...) CTCD_PRINTF(3, 4);
void state_md_free(state_md *md);

/* True for the keys a resumed run may change (output, train.max_steps, train.epochs,
 * train.checkpoint_every, train.log_every): they are neither fingerprinted nor compared. */
int state_key_may_change(const char *key);
/* Adds "models", "seed", "recipe_fingerprint" and "recipe.<key>" for every other key of the
 * present models and of the run. */
ctcd_status state_recipe_metadata(const ctcd_recipe *rc, state_md *md);
/* Checks that state file f was written by a run of rc: the fingerprint, and on a mismatch
 * key by key; the error names f, the recipe (rc->source) and every differing key. */
ctcd_status state_recipe_check(const ctcd_st_file *f, const ctcd_recipe *rc);

#endif
