/* state_recipe.c — which recipe a training state belongs to (state_recipe.h).
 *
 * Every recipe key that fixes the trajectory of a run is stored as "recipe.<key>" in the
 * state's __metadata__, rendered as text the same way on save and on check (floats with
 * %.9g, which round-trips a float exactly), plus an FNV-1a 64 fingerprint over all of
 * them. A matching fingerprint accepts the state at once; otherwise the keys are compared
 * one by one so that the error can say which ones differ. A key the state does not know (a
 * key added to ctcd after the state was written) matches when it holds its default. */
#include "state_recipe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/hash.h"
#include "ctcd/log.h"
#include "ctcd/recipe_schema.h"

ctcd_status state_md_add(state_md *md, const char *key, const char *fmt, ...) {
    if (md->n + 1 >= md->cap) {
        const int cap = md->cap ? md->cap * 2 : 64;
        char **kv = realloc(md->kv, (size_t)(2 * cap + 1) * sizeof *kv);
        if (!kv) return CTCD_ERR(CTCD_E_NOMEM, "out of memory for state metadata");
        md->kv = kv;
        md->cap = cap;
    }
    char value[CTCD_PATH_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory for state metadata");
    }
    md->kv[2 * md->n] = k;
    md->kv[2 * md->n + 1] = v;
    md->n++;
    md->kv[2 * md->n] = NULL;
    return CTCD_OK;
}

void state_md_free(state_md *md) {
    for (int i = 0; i < 2 * md->n; i++) free(md->kv[i]);
    free(md->kv);
    memset(md, 0, sizeof *md);
}

int state_key_may_change(const char *key) {
    static const char *const mutable_keys[] = {"output", "train.max_steps", "train.epochs",
                                               "train.checkpoint_every", "train.log_every",
                                               "train.zero"};
    for (size_t i = 0; i < sizeof mutable_keys / sizeof mutable_keys[0]; i++)
        if (strcmp(key, mutable_keys[i]) == 0) return 1;
    /* search.* and schedule.* configure ctcd search / ctcd schedule, not the training runs
     * they start */
    return strncmp(key, "search.", 7) == 0 || strncmp(key, "schedule.", 9) == 0;
}

/* Whether key k is part of rc's identity (fingerprinted and compared). */
static int key_counts(const ctcd_recipe *rc, const key_def *k) {
    return !state_key_may_change(k->path) && (k->role < 0 || rc->models[k->role].present);
}

/* The value of k in r as text, identical on save and check. */
static void key_text(const ctcd_recipe *r, const key_def *k, char *out, size_t cap) {
    const char *field = (const char *)r + k->off;
    switch (k->type) {
    case KT_STR:
    case KT_PATH:
    case KT_ENUM: snprintf(out, cap, "%s", field); break;
    case KT_INT: snprintf(out, cap, "%d", *(const int *)field); break;
    case KT_I64: snprintf(out, cap, "%lld", (long long)*(const int64_t *)field); break;
    case KT_U64: snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case KT_F32: snprintf(out, cap, "%.9g", (double)*(const float *)field); break;
    case KT_BOOL: snprintf(out, cap, "%s", *(const int *)field ? "true" : "false"); break;
    }
}

static void models_text(const ctcd_recipe *rc, char *out, size_t cap) {
    out[0] = '\0';
    for (int r = 0; r < CTCD_N_ROLES; r++)
        if (rc->models[r].present) {
            if (out[0]) strncat(out, ",", cap - strlen(out) - 1);
            strncat(out, ctcd_role_names[r], cap - strlen(out) - 1);
        }
}

static uint64_t fingerprint(const ctcd_recipe *rc) {
    char models[64], value[CTCD_PATH_MAX];
    models_text(rc, models, sizeof models);
    uint64_t h = ctcd_fnv1a64_str(CTCD_FNV1A64_INIT, "models=");
    h = ctcd_fnv1a64_str(ctcd_fnv1a64_str(h, models), "\n");
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        if (!key_counts(rc, k)) continue;
        key_text(rc, k, value, sizeof value);
        h = ctcd_fnv1a64_str(ctcd_fnv1a64_str(h, k->path), "=");
        h = ctcd_fnv1a64_str(ctcd_fnv1a64_str(h, value), "\n");
    }
    return h;
}

ctcd_status state_recipe_metadata(const ctcd_recipe *rc, state_md *md) {
    char text[CTCD_PATH_MAX], key[300];
    models_text(rc, text, sizeof text);
    CTCD_TRY(state_md_add(md, "models", "%s", text));
    CTCD_TRY(state_md_add(md, "seed", "%llu", (unsigned long long)rc->train.seed));
    CTCD_TRY(state_md_add(md, "recipe_fingerprint", "%016llx",
                          (unsigned long long)fingerprint(rc)));
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        if (!key_counts(rc, k)) continue;
        key_text(rc, k, text, sizeof text);
        snprintf(key, sizeof key, "recipe.%s", k->path);
        CTCD_TRY(state_md_add(md, key, "%s", text));
    }
    return CTCD_OK;
}

/* Appends "key is 'now' (state: 'then')" to a growing list of differences. */
static void add_diff(char *list, size_t cap, int *n, const char *key, const char *now,
                     const char *then) {
    char item[2 * CTCD_PATH_MAX + 128];
    snprintf(item, sizeof item, "%s%s is '%s' (state: '%s')", *n ? "; " : "", key, now, then);
    strncat(list, item, cap - strlen(list) - 1);
    (*n)++;
}

ctcd_status state_recipe_check(const ctcd_st_file *f, const ctcd_recipe *rc) {
    const char *path = ctcd_st_path(f);
    const char *saved_fp = ctcd_st_metadata(f, "recipe_fingerprint");
    const char *saved_models = ctcd_st_metadata(f, "models");
    if (!saved_fp || !saved_models)
        return CTCD_ERR(CTCD_E_PARSE, "%s: __metadata__ key '%s' missing (not a ctcd training "
                        "state?)", path, saved_fp ? "models" : "recipe_fingerprint");
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)fingerprint(rc));
    if (strcmp(fp, saved_fp) == 0) return CTCD_OK;

    ctcd_recipe defaults;
    ctcd_recipe_defaults(&defaults);
    char diffs[4096] = "", now[CTCD_PATH_MAX], then[CTCD_PATH_MAX], key[300];
    int n = 0;
    models_text(rc, now, sizeof now);
    const int same_models = strcmp(now, saved_models) == 0;
    if (!same_models) add_diff(diffs, sizeof diffs, &n, "models", now, saved_models);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        if (!key_counts(rc, k)) continue;
        key_text(rc, k, now, sizeof now);
        snprintf(key, sizeof key, "recipe.%s", k->path);
        const char *saved = ctcd_st_metadata(f, key);
        if (!saved) {
            /* absent: a model the state lacks (reported above), or a key newer than it */
            if (!same_models && k->role >= 0) continue;
            key_text(&defaults, k, then, sizeof then);
            saved = then;
        }
        if (strcmp(now, saved) != 0) add_diff(diffs, sizeof diffs, &n, k->path, now, saved);
    }
    if (n == 0) {
        ctcd_debug("%s: recipe fingerprint differs only by keys at their defaults", path);
        return CTCD_OK;
    }
    return CTCD_ERR(CTCD_E_INVALID,
                    "%s was saved by a different recipe than %s: %s (a resumed run must keep "
                    "its recipe; only train.max_steps, train.epochs, train.checkpoint_every and "
                    "train.log_every may change)",
                    path, rc->source[0] ? rc->source : "the recipe", diffs);
}
