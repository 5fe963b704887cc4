/* recipe_schema.h — the one table of recipe keys. Every key of a recipe is a row: its dotted
 * path, type, place in ctcd_recipe, default (as YAML text, parsed by the same code as user
 * input), bounds and documentation. Loading, overrides, writing and recipes/README.md all
 * follow this table; a new key is a new row. */
#ifndef CTCD_RECIPE_SCHEMA_H
#define CTCD_RECIPE_SCHEMA_H

#include <stddef.h>

typedef enum key_type { KT_STR, KT_PATH, KT_INT, KT_I64, KT_U64, KT_F32, KT_BOOL, KT_ENUM } key_type;

typedef struct key_def {
    const char *path;      /* "train.lr.large" */
    key_type type;
    size_t off;            /* offsetof(ctcd_recipe, ...) */
    size_t size;           /* buffer size for strings */
    const char *def;       /* default, as YAML scalar text */
    double min, max;       /* NAN = unbounded */
    int min_open, max_open;/* 1 = strict bound */
    const char *choices;   /* "a|b|c" for KT_ENUM */
    int role;              /* model role the key belongs to, -1 = none */
    const char *doc;
} key_def;

extern const key_def ctcd_recipe_keys[];
extern const int ctcd_recipe_n_keys;

const char *ctcd_key_type_name(key_type t);

#endif
