/* recipe.c — loading, overriding, validating and writing recipes (include/ctcd/recipe.h),
 * driven by the key table of recipe_schema.c. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/build_info.h"
#include "ctcd/fileio.h"
#include "ctcd/recipe.h"
#include "ctcd/recipe_schema.h"
#include "yaml_tree.h"

const char *const ctcd_role_names[CTCD_N_MODEL_SECTIONS] = {"large", "small", "teacher"};

static const key_def *find_key(const char *path) {
    for (int i = 0; i < ctcd_recipe_n_keys; i++)
        if (strcmp(ctcd_recipe_keys[i].path, path) == 0) return &ctcd_recipe_keys[i];
    return NULL;
}

/* True when some key lives below `prefix` (i.e. prefix is a section). */
static int is_section(const char *prefix) {
    const size_t n = strlen(prefix);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const char *p = ctcd_recipe_keys[i].path;
        if (n == 0 || (strncmp(p, prefix, n) == 0 && p[n] == '.')) return 1;
    }
    return 0;
}

static int edit_distance(const char *a, const char *b) {
    const int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Error for an unknown key `name` inside section `prefix`: lists the valid names and
 * suggests the closest one. */
static ctcd_status unknown_key(const char *where, const char *prefix, const char *name) {
    char valid[1024] = "", best[64] = "", seen[64][64];
    int n_seen = 0, best_d = 99;
    const size_t n = strlen(prefix);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const char *p = ctcd_recipe_keys[i].path;
        if (n && (strncmp(p, prefix, n) != 0 || p[n] != '.')) continue;
        const char *seg = n ? p + n + 1 : p;
        char child[64];
        size_t len = strcspn(seg, ".");
        if (len >= sizeof child) len = sizeof child - 1;
        memcpy(child, seg, len);
        child[len] = '\0';
        int dup = 0;
        for (int j = 0; j < n_seen && !dup; j++) dup = strcmp(seen[j], child) == 0;
        if (dup || n_seen == 64) continue;
        memcpy(seen[n_seen++], child, len + 1);
        if (valid[0]) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, child, sizeof valid - strlen(valid) - 1);
        const int d = edit_distance(name, child);
        if (d < best_d) {
            best_d = d;
            snprintf(best, sizeof best, "%s", child);
        }
    }
    if (!n) {
        strncat(valid, ", extends", sizeof valid - strlen(valid) - 1);
        if (edit_distance(name, "extends") < best_d) {
            best_d = edit_distance(name, "extends");
            snprintf(best, sizeof best, "extends");
        }
    }
    char hint[128] = "";
    if (best_d <= 2) snprintf(hint, sizeof hint, "; did you mean '%s'?", best);
    return CTCD_ERR(CTCD_E_INVALID, "%s: unknown key '%s' in '%s' (valid keys: %s)%s", where,
                    name, n ? prefix : "the recipe", valid, hint);
}

static ctcd_status bad_value(const char *where, const key_def *k, const char *text,
                             const char *expect) {
    return CTCD_ERR(CTCD_E_INVALID, "%s: %s: expected %s, got '%s'", where, k->path, expect, text);
}

static ctcd_status check_range(const char *where, const key_def *k, double v, const char *text) {
    if (!isnan(k->min) && (k->min_open ? !(v > k->min) : !(v >= k->min)))
        return CTCD_ERR(CTCD_E_INVALID, "%s: %s must be %s %g (got %s)", where, k->path,
                        k->min_open ? ">" : ">=", k->min, text);
    if (!isnan(k->max) && (k->max_open ? !(v < k->max) : !(v <= k->max)))
        return CTCD_ERR(CTCD_E_INVALID, "%s: %s must be %s %g (got %s)", where, k->path,
                        k->max_open ? "<" : "<=", k->max, text);
    return CTCD_OK;
}

static int parse_i64(const char *s, long long *out) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Parses `text` as the value of key k and stores it into r. */
static ctcd_status set_value(ctcd_recipe *r, const key_def *k, const char *text,
                             const char *where) {
    char *field = (char *)r + k->off;
    switch (k->type) {
    case KT_STR:
    case KT_PATH:
    case KT_ENUM: {
        if (k->type == KT_ENUM) {
            const char *c = k->choices;
            const size_t n = strlen(text);
            int ok = 0;
            while (*c && !ok) {
                const size_t len = strcspn(c, "|");
                ok = len == n && strncmp(c, text, n) == 0;
                c += len + (c[len] == '|');
            }
            if (!ok) {
                char list[512] = "";
                for (const char *q = k->choices; *q; q++) {
                    if (*q == '|') {
                        strncat(list, ", ", sizeof list - strlen(list) - 1);
                    } else {
                        const char ch[2] = {*q, '\0'};
                        strncat(list, ch, sizeof list - strlen(list) - 1);
                    }
                }
                return CTCD_ERR(CTCD_E_INVALID, "%s: %s: '%s' is not one of %s", where, k->path,
                                text, list);
            }
        }
        if (strlen(text) >= k->size)
            return CTCD_ERR(CTCD_E_INVALID, "%s: %s: value longer than %zu characters", where,
                            k->path, k->size - 1);
        snprintf(field, k->size, "%s", text);
        return CTCD_OK;
    }
    case KT_INT:
    case KT_I64:
    case KT_U64: {
        long long v;
        if (!parse_i64(text, &v) || (k->type == KT_U64 && v < 0))
            return bad_value(where, k, text, k->type == KT_U64 ? "a non-negative integer"
                                                               : "an integer");
        CTCD_TRY(check_range(where, k, (double)v, text));
        if (k->type == KT_INT) {
            if (v < INT_MIN || v > INT_MAX) return bad_value(where, k, text, "a 32-bit integer");
            *(int *)field = (int)v;
        } else if (k->type == KT_I64) {
            *(int64_t *)field = v;
        } else {
            *(uint64_t *)field = (uint64_t)v;
        }
        return CTCD_OK;
    }
    case KT_F32: {
        char *end;
        errno = 0;
        const double v = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v)) return bad_value(where, k, text, "a number");
        CTCD_TRY(check_range(where, k, v, text));
        *(float *)field = (float)v;
        return CTCD_OK;
    }
    case KT_BOOL: {
        static const char *const T[] = {"true", "yes", "on"}, *const F[] = {"false", "no", "off"};
        for (int i = 0; i < 3; i++) {
            if (strcasecmp(text, T[i]) == 0) {
                *(int *)field = 1;
                return CTCD_OK;
            }
            if (strcasecmp(text, F[i]) == 0) {
                *(int *)field = 0;
                return CTCD_OK;
            }
        }
        return bad_value(where, k, text, "a boolean (true/false)");
    }
    }
    return CTCD_ERR(CTCD_E_INTERNAL, "key %s has no type", k->path);
}

/* models.<role>... marks the role present. */
static void mark_role(ctcd_recipe *r, const char *path) {
    for (int i = 0; i < CTCD_N_MODEL_SECTIONS; i++) {
        char pre[32];
        const int n = snprintf(pre, sizeof pre, "models.%s", ctcd_role_names[i]);
        if (strncmp(path, pre, (size_t)n) == 0 && (path[n] == '\0' || path[n] == '.'))
            r->models[i].present = 1;
    }
}

void ctcd_recipe_defaults(ctcd_recipe *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        const char *def = strcmp(k->def, "\"\"") == 0 ? "" : k->def;
        ctcd_status st = set_value(r, k, def, "default");
        CTCD_ASSERT(st == CTCD_OK, "default of %s: %s", k->path, ctcd_status_message(st));
    }
}

static int is_null_scalar(const ynode *n) {
    return n->kind == YNODE_SCALAR && n->plain &&
           (!n->value[0] || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

static ctcd_status bind_map(ctcd_recipe *r, const ynode *map, const char *prefix,
                            const char *file) {
    for (int i = 0; i < map->n; i++) {
        char full[256], where[CTCD_PATH_MAX + 64];
        if (!prefix[0] && strcmp(map->keys[i], "extends") == 0) continue; /* load_layer's */
        snprintf(full, sizeof full, "%s%s%s", prefix, prefix[0] ? "." : "", map->keys[i]);
        snprintf(where, sizeof where, "%s:%d:%d", file, map->key_line[i], map->key_col[i]);
        const ynode *v = map->items[i];
        const key_def *k = find_key(full);
        if (k) {
            if (v->kind != YNODE_SCALAR)
                return CTCD_ERR(CTCD_E_INVALID, "%s: %s: expected a %s, got a %s", where, full,
                                ctcd_key_type_name(k->type),
                                v->kind == YNODE_MAP ? "mapping" : "sequence");
            const char *text = is_null_scalar(v) && (k->type == KT_PATH || k->type == KT_STR)
                                   ? "" : v->value;
            CTCD_TRY(set_value(r, k, text, where));
            mark_role(r, full);
        } else if (is_section(full)) {
            mark_role(r, full);
            if (is_null_scalar(v)) continue;
            if (v->kind != YNODE_MAP)
                return CTCD_ERR(CTCD_E_INVALID, "%s: %s: expected a mapping of keys, got '%s'",
                                where, full, v->kind == YNODE_SCALAR ? v->value : "a sequence");
            CTCD_TRY(bind_map(r, v, full, file));
        } else {
            return unknown_key(where, prefix, map->keys[i]);
        }
    }
    return CTCD_OK;
}

/* The chain of recipes being read through `extends:` (for cycle errors). */
#define EXTENDS_MAX 8
typedef struct extends_chain {
    int n;
    char real[EXTENDS_MAX][PATH_MAX];
    const char *shown[EXTENDS_MAX];
} extends_chain;

/* The path of the recipe that `file` extends: `base` as written when absolute, else relative
 * to file's directory. */
static void extends_path(const char *file, const char *base, char *out, size_t cap) {
    const char *slash = strrchr(file, '/');
    if (base[0] == '/' || !slash)
        snprintf(out, cap, "%s", base);
    else
        snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, base);
}

/* Reads one recipe file into r: first the recipe named by its top-level `extends:` (which
 * may extend another in turn), then its own keys over those values. */
static ctcd_status load_layer(ctcd_recipe *r, const char *path, extends_chain *ch,
                              const char *from) {
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        if (from)
            return CTCD_ERR(CTCD_E_IO, "%s: extends: cannot open recipe '%s': %s", from, path,
                            strerror(errno));
        snprintf(real, sizeof real, "%s", path); /* ctcd_yaml_load_file reports it */
    }
    for (int i = 0; i < ch->n; i++)
        if (strcmp(ch->real[i], real) == 0) {
            char cycle[2048] = "";
            for (int j = i; j < ch->n; j++) {
                strncat(cycle, ch->shown[j], sizeof cycle - strlen(cycle) - 1);
                strncat(cycle, " -> ", sizeof cycle - strlen(cycle) - 1);
            }
            strncat(cycle, path, sizeof cycle - strlen(cycle) - 1);
            return CTCD_ERR(CTCD_E_INVALID, "%s: extends: cycle of recipes (%s)", from, cycle);
        }
    if (ch->n == EXTENDS_MAX)
        return CTCD_ERR(CTCD_E_INVALID, "%s: extends: more than %d recipes in the chain", from,
                        EXTENDS_MAX);
    snprintf(ch->real[ch->n], sizeof ch->real[ch->n], "%s", real);
    ch->shown[ch->n++] = path;
    ynode *root = NULL;
    CTCD_TRY(ctcd_yaml_load_file(path, &root));
    ctcd_status st = CTCD_OK;
    if (root && root->kind != YNODE_MAP) {
        st = CTCD_ERR(CTCD_E_INVALID, "%s:%d:%d: a recipe must be a mapping of keys", path,
                      root->line, root->col);
    } else if (root) {
        for (int i = 0; !st && i < root->n; i++) {
            if (strcmp(root->keys[i], "extends") != 0) continue;
            const ynode *v = root->items[i];
            char where[CTCD_PATH_MAX + 64], base[CTCD_PATH_MAX];
            snprintf(where, sizeof where, "%s:%d:%d", path, root->key_line[i],
                     root->key_col[i]);
            if (v->kind != YNODE_SCALAR || is_null_scalar(v))
                st = CTCD_ERR(CTCD_E_INVALID, "%s: extends: expected the path of a recipe file",
                              where);
            else if (strlen(v->value) + strlen(path) + 2 > sizeof base)
                st = CTCD_ERR(CTCD_E_INVALID, "%s: extends: path too long", where);
            if (st) break;
            extends_path(path, v->value, base, sizeof base);
            st = load_layer(r, base, ch, where);
        }
        if (!st) st = bind_map(r, root, "", path);
    }
    ctcd_yaml_free(root);
    ch->n--;
    return st;
}

ctcd_status ctcd_recipe_load(const char *path, const char *const *overrides, int n_overrides,
                             ctcd_recipe *out) {
    ctcd_recipe_defaults(out);
    snprintf(out->source, sizeof out->source, "%s", path);
    extends_chain *ch = calloc(1, sizeof *ch);
    if (!ch) return CTCD_ERR(CTCD_E_NOMEM, "out of memory reading '%s'", path);
    ctcd_status st = load_layer(out, path, ch, NULL);
    free(ch);
    for (int i = 0; !st && i < n_overrides; i++) st = ctcd_recipe_set(out, overrides[i]);
    if (!st) st = ctcd_recipe_validate(out);
    return st;
}

ctcd_status ctcd_recipe_set(ctcd_recipe *r, const char *assignment) {
    char where[512], key[256], value[CTCD_PATH_MAX];
    snprintf(where, sizeof where, "--set %s", assignment);
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return CTCD_ERR(CTCD_E_INVALID, "%s: expected KEY=VALUE", where);
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key) return CTCD_ERR(CTCD_E_INVALID, "%s: key too long", where);
    memcpy(key, assignment, klen);
    key[klen] = '\0';
    snprintf(value, sizeof value, "%s", eq + 1);
    size_t vlen = strlen(value);
    if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
        memmove(value, value + 1, vlen - 2);
        value[vlen - 2] = '\0';
    }
    const key_def *k = find_key(key);
    if (!k) {
        if (is_section(key))
            return CTCD_ERR(CTCD_E_INVALID, "%s: '%s' is a section; set one of its keys", where,
                            key);
        char *dot = strrchr(key, '.');
        if (!dot) return unknown_key(where, "", key);
        *dot = '\0';
        if (!is_section(key)) return CTCD_ERR(CTCD_E_INVALID, "%s: unknown section '%s'", where, key);
        return unknown_key(where, key, dot + 1);
    }
    CTCD_TRY(set_value(r, k, value, where));
    mark_role(r, key);
    return CTCD_OK;
}

ctcd_status ctcd_recipe_validate(const ctcd_recipe *r) {
    const char *src = r->source[0] ? r->source : "recipe";
    if (!r->models[CTCD_LARGE].present && !r->models[CTCD_SMALL].present)
        return CTCD_ERR(CTCD_E_INVALID, "%s: at least one of models.large and models.small is "
                        "required", src);
    for (int i = 0; i < CTCD_N_ROLES; i++) {
        const ctcd_model_recipe *m = &r->models[i];
        if (m->present && m->hidden % m->heads != 0)
            return CTCD_ERR(CTCD_E_INVALID, "%s: models.%s: hidden %d is not divisible by heads "
                            "%d", src, ctcd_role_names[i], m->hidden, m->heads);
    }
    if (r->models[CTCD_TEACHER].present && !r->models[CTCD_TEACHER].init[0])
        return CTCD_ERR(CTCD_E_INVALID, "%s: models.teacher needs init: the directory of a "
                        "checkpoint fine-tuned on the task (a frozen teacher is never trained)",
                        src);
    if (strcmp(r->task, "mlm") == 0) {
        struct stat st;
        if (!r->pretrain.corpus[0])
            return CTCD_ERR(CTCD_E_INVALID, "%s: task mlm needs pretrain.corpus (a text file or "
                            "a directory of them)", src);
        if (stat(r->pretrain.corpus, &st) != 0)
            return CTCD_ERR(CTCD_E_IO, "%s: pretrain.corpus '%s': %s", src, r->pretrain.corpus,
                            strerror(errno));
    }
    if (strcmp(r->rationale.labels, "llm") == 0 && strcmp(r->rationale.source, "llm") != 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: rationale.labels llm needs rationale.source llm "
                        "(the labels are parsed from the LLM's outputs)", src);
    const int rationale_task = strcmp(r->task, "esnli") == 0 || strcmp(r->task, "cqa") == 0;
    if (strcmp(r->rationale.source, "none") != 0 && !rationale_task)
        return CTCD_ERR(CTCD_E_INVALID, "%s: rationale.source %s needs task esnli or cqa (the "
                        "tasks with rationales)", src, r->rationale.source);
    if (rationale_task) {
        struct stat st;
        if (r->rationale.dir[0] && (stat(r->rationale.dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            return CTCD_ERR(CTCD_E_IO, "%s: rationale.dir '%s' is not a directory", src,
                            r->rationale.dir);
    } else if (strcmp(r->task, "mlm") != 0 && strcmp(r->task, "builtin:demo") != 0) {
        struct stat st;
        /* An empty data.dir is searched for under the data roots when the trainer loads. */
        if (r->data.dir[0] && (stat(r->data.dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            return CTCD_ERR(CTCD_E_IO, "%s: data.dir '%s' is not a directory: %s", src,
                            r->data.dir, errno ? strerror(errno) : "not a directory");
    }
    return CTCD_OK;
}

/* Double-quoted YAML scalar. */
static void put_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_value(FILE *f, const ctcd_recipe *r, const key_def *k) {
    const char *field = (const char *)r + k->off;
    switch (k->type) {
    case KT_STR:
    case KT_PATH:
    case KT_ENUM: put_quoted(f, field); break;
    case KT_INT: fprintf(f, "%d", *(const int *)field); break;
    case KT_I64: fprintf(f, "%lld", (long long)*(const int64_t *)field); break;
    case KT_U64: fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case KT_F32: fprintf(f, "%.9g", (double)*(const float *)field); break;
    case KT_BOOL: fputs(*(const int *)field ? "true" : "false", f); break;
    }
}

static void write_yaml(FILE *f, const ctcd_recipe *r) {
    char prev[256] = "";
    char made_by[1024];
    ctcd_build_info_line(made_by, sizeof made_by);
    fputs("# resolved ctcd recipe: every key, defaults included\n", f);
    fprintf(f, "# made by %s\n", made_by);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        if (k->role >= 0 && !r->models[k->role].present) continue;
        /* Open the sections this key needs beyond the common prefix with the previous one. */
        const char *p = k->path, *q = prev;
        int depth = 0;
        const char *seg = p;
        while (1) {
            const size_t a = strcspn(p, "."), b = strcspn(q, ".");
            if (!p[a] || a != b || strncmp(p, q, a) != 0 || !q[b]) break;
            p += a + 1;
            q += b + 1;
            depth++;
        }
        seg = p;
        for (const char *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1, depth++)
            fprintf(f, "%*s%.*s:\n", 2 * depth, "", (int)(dot - seg), seg);
        fprintf(f, "%*s%s: ", 2 * depth, "", seg);
        put_value(f, r, k);
        fputc('\n', f);
        snprintf(prev, sizeof prev, "%s", k->path);
    }
}

ctcd_status ctcd_recipe_print(const ctcd_recipe *r, FILE *f) {
    write_yaml(f, r);
    if (fflush(f) != 0 || ferror(f))
        return CTCD_ERR(CTCD_E_IO, "cannot write the recipe: %s", strerror(errno));
    return CTCD_OK;
}

ctcd_status ctcd_recipe_write(const ctcd_recipe *r, const char *path) {
    ctcd_text_file t;
    CTCD_TRY(ctcd_text_open(&t, path));
    write_yaml(t.f, r);
    return ctcd_text_publish(&t, path);
}
