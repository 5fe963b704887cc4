/* checkpoint_load.c — model.safetensors -> a ctcd_model (include/ctcd/checkpoint.h).
 *
 * Every model tensor is looked up under the names HF checkpoints have used for it over
 * the years (with/without "bert.", gamma/beta LayerNorm, the decoder-bias alias). The whole
 * file is converted into a host copy of the model's parameters first and uploaded only when
 * everything checked out, so a failed load leaves the model as it was. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "ctcd/log.h"
#include "ctcd/safetensors.h"

#define MAX_ALIASES 5
#define LIST_SHOWN 5 /* names quoted in a message before "and N more" */

typedef struct name_list {
    char **v;
    int n, cap;
} name_list;

static int list_push(name_list *l, const char *s) {
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return 0;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return 0;
    l->n++;
    return 1;
}

static void list_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* "a, b, c and 4 more" into buf. */
static void list_str(const name_list *l, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && i < LIST_SHOWN && used < cap; i++) {
        const int k = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", l->v[i]);
        if (k > 0) used += (size_t)k;
    }
    if (l->n > LIST_SHOWN && used < cap)
        snprintf(buf + used, cap - used, " and %d more", l->n - LIST_SHOWN);
}

/* ---- names ---- */

typedef struct aliases {
    char name[MAX_ALIASES][CTCD_PARAM_NAME_MAX];
    int n;
} aliases;

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* base with its LayerNorm weight/bias suffix replaced by the TF-era gamma/beta. */
static void add_legacy(aliases *a, const char *base) {
    const char *from = ends_with(base, "LayerNorm.weight") ? "weight"
                       : ends_with(base, "LayerNorm.bias") ? "bias" : NULL;
    if (!from) return;
    const int keep = (int)(strlen(base) - strlen(from));
    snprintf(a->name[a->n++], CTCD_PARAM_NAME_MAX, "%.*s%s", keep, base,
             from[0] == 'w' ? "gamma" : "beta");
}

/* File names that may hold model tensor `name`, the canonical one first. */
static void aliases_of(const char *name, aliases *a) {
    const char *bare = strncmp(name, "bert.", 5) == 0 ? name + 5 : NULL;
    a->n = 0;
    snprintf(a->name[a->n++], CTCD_PARAM_NAME_MAX, "%s", name);
    if (bare) snprintf(a->name[a->n++], CTCD_PARAM_NAME_MAX, "%s", bare);
    add_legacy(a, name);
    if (bare) add_legacy(a, bare);
    /* Old BertForMaskedLM files store the tied output bias under the decoder too. */
    if (strcmp(name, "cls.predictions.bias") == 0)
        snprintf(a->name[a->n++], CTCD_PARAM_NAME_MAX, "cls.predictions.decoder.bias");
    CTCD_ASSERT(a->n <= MAX_ALIASES, "%d aliases", a->n);
}

/* Head tensors may be absent (fresh init); encoder tensors may not. */
static int is_head_tensor(const char *name) {
    return strncmp(name, "bert.pooler.", 12) == 0 || strncmp(name, "classifier.", 11) == 0 ||
           strncmp(name, "cls.", 4) == 0;
}

/* ---- loading ---- */

typedef struct loader {
    const ctcd_model *m;
    const ctcd_st_file *f;
    float *host;           /* [n_total] model parameters, overwritten by the file */
    float *scratch;        /* [largest tensor] for comparisons */
    unsigned char *used;   /* [file tensors] 1 once a model tensor took it */
    name_list missing, fresh;
    int n_loaded;
} loader;

static int same_shape(const ctcd_param_info *p, const ctcd_st_tensor *t) {
    int same = t->ndim == p->ndim;
    for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
    return same;
}

static ctcd_status check_shape(const loader *L, const ctcd_param_info *p,
                               const ctcd_st_tensor *t) {
    if (same_shape(p, t)) return CTCD_OK;
    char want[64], got[160];
    ctcd_shape_str(p->shape, p->ndim, want, sizeof want);
    ctcd_shape_str(t->shape, t->ndim, got, sizeof got);
    return CTCD_ERR(CTCD_E_INVALID, "%s: tensor '%s' has shape %s, the model expects %s",
                    ctcd_st_path(L->f), t->name, got, want);
}

/* A second name for an already loaded tensor must hold the same values. */
static ctcd_status check_duplicate(loader *L, const ctcd_param_info *p,
                                   const ctcd_st_tensor *first, const ctcd_st_tensor *t) {
    CTCD_TRY(ctcd_st_read_f32(L->f, t, L->scratch));
    if (memcmp(L->scratch, L->host + p->offset, (size_t)p->numel * sizeof(float)) != 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: tensors '%s' and '%s' both hold %s but differ",
                        ctcd_st_path(L->f), first->name, t->name, p->name);
    return CTCD_OK;
}

/* A multiple-choice model started from a checkpoint with another classifier (a
 * sequence-classification head of C labels): that classifier does not apply, the
 * one-output head starts fresh. Says so and returns 1. */
static int mc_classifier_mismatch(const loader *L, const ctcd_param_info *p,
                                  const ctcd_st_tensor *t) {
    if (!L->m->cfg.multiple_choice || strncmp(p->name, "classifier.", 11) != 0 ||
        same_shape(p, t))
        return 0;
    char got[160];
    ctcd_shape_str(t->shape, t->ndim, got, sizeof got);
    ctcd_info("%s: %s: '%s' has shape %s, not the multiple-choice head's one output: the "
              "classifier is re-initialised", L->m->name, ctcd_st_path(L->f), t->name, got);
    return 1;
}

static ctcd_status load_param(loader *L, const ctcd_param_info *p) {
    aliases a;
    aliases_of(p->name, &a);
    const ctcd_st_tensor *first = NULL;
    for (int i = 0; i < a.n; i++) {
        const ctcd_st_tensor *t = ctcd_st_find(L->f, a.name[i]);
        if (!t) continue;
        if (mc_classifier_mismatch(L, p, t)) break;
        CTCD_TRY(check_shape(L, p, t));
        L->used[ctcd_st_index(L->f, t)] = 1;
        if (first) {
            CTCD_TRY(check_duplicate(L, p, first, t));
        } else {
            CTCD_TRY(ctcd_st_read_f32(L->f, t, L->host + p->offset));
            first = t;
        }
    }
    if (first) {
        L->n_loaded++;
        return CTCD_OK;
    }
    if (!list_push(is_head_tensor(p->name) ? &L->fresh : &L->missing, p->name))
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    return CTCD_OK;
}

/* The masked-LM decoder weight is the word-embedding matrix (tied): never loaded, but a
 * file where it differs was trained untied, which the user should hear about. */
static ctcd_status check_tied_decoder(loader *L, int *untied) {
    const ctcd_model *m = L->m;
    const ctcd_st_tensor *t = ctcd_st_find(L->f, "cls.predictions.decoder.weight");
    *untied = 0;
    if (m->cfg.head != CTCD_HEAD_MLM || !t) return CTCD_OK;
    const ctcd_param_info *wte = ctcd_model_layout_find(&m->lay,
                                                        "bert.embeddings.word_embeddings.weight");
    CTCD_ASSERT(wte, "no word embeddings in the layout");
    CTCD_TRY(check_shape(L, wte, t));
    L->used[ctcd_st_index(L->f, t)] = 1;
    CTCD_TRY(ctcd_st_read_f32(L->f, t, L->scratch));
    if (memcmp(L->scratch, L->host + wte->offset, (size_t)wte->numel * sizeof(float)) != 0) {
        *untied = 1;
        ctcd_warn("%s: cls.predictions.decoder.weight differs from the word embeddings; "
                  "ctcd ties them and uses the word embeddings", ctcd_st_path(L->f));
    }
    return CTCD_OK;
}

static ctcd_status load_all(loader *L, int *untied) {
    const ctcd_model_layout *lay = &L->m->lay;
    for (int i = 0; i < lay->n_params; i++) CTCD_TRY(load_param(L, &lay->params[i]));
    if (L->missing.n) {
        char names[1024];
        list_str(&L->missing, names, sizeof names);
        return CTCD_ERR(CTCD_E_INVALID, "%s: missing %d encoder tensor%s: %s",
                        ctcd_st_path(L->f), L->missing.n, L->missing.n == 1 ? "" : "s", names);
    }
    return check_tied_decoder(L, untied);
}

static ctcd_status alloc_loader(loader *L, const ctcd_model *m, const ctcd_st_file *f) {
    memset(L, 0, sizeof *L);
    L->m = m;
    L->f = f;
    int64_t biggest = 1;
    for (int i = 0; i < m->lay.n_params; i++)
        if (m->lay.params[i].numel > biggest) biggest = m->lay.params[i].numel;
    L->host = malloc((size_t)m->lay.n_total * sizeof(float));
    L->scratch = malloc((size_t)biggest * sizeof(float));
    L->used = calloc((size_t)ctcd_st_count(f) + 1, 1);
    if (!L->host || !L->scratch || !L->used)
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory loading %s", m->name, ctcd_st_path(f));
    return ctcd_model_download_params(m, L->host);
}

static void free_loader(loader *L) {
    free(L->host);
    free(L->scratch);
    free(L->used);
    list_free(&L->missing);
    list_free(&L->fresh);
}

static ctcd_status collect_unused(const loader *L, name_list *unused) {
    for (int i = 0; i < ctcd_st_count(L->f); i++)
        if (!L->used[i] && !list_push(unused, ctcd_st_get(L->f, i)->name))
            return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    return CTCD_OK;
}

static void log_summary(const ctcd_model *m, const char *path, const loader *L,
                        const name_list *unused) {
    char fresh[512], extra[512];
    list_str(&L->fresh, fresh, sizeof fresh);
    list_str(unused, extra, sizeof extra);
    ctcd_info("%s: loaded %d tensors from %s", m->name, L->n_loaded, path);
    if (L->fresh.n)
        ctcd_info("%s: %d head tensors not in the checkpoint keep their fresh init: %s", m->name,
                  L->fresh.n, fresh);
    if (unused->n)
        ctcd_info("%s: %d checkpoint tensors unused: %s", m->name, unused->n, extra);
}

ctcd_status ctcd_model_load_hf(ctcd_model *m, const char *dir, ctcd_hf_load_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    const size_t n = strlen(dir) + sizeof "/model.safetensors";
    char *path = malloc(n);
    if (!path) return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    snprintf(path, n, "%s/model.safetensors", dir);
    ctcd_st_file *f = NULL;
    loader L;
    name_list unused = {0};
    int untied = 0;
    memset(&L, 0, sizeof L);
    ctcd_status st = ctcd_st_open(path, &f);
    if (!st) st = alloc_loader(&L, m, f);
    if (!st) st = load_all(&L, &untied);
    if (!st) st = collect_unused(&L, &unused);
    if (!st) st = ctcd_model_upload_params(m, L.host);
    if (!st) log_summary(m, path, &L, &unused);
    if (!st && rep) {
        *rep = (ctcd_hf_load_report){.n_loaded = L.n_loaded, .n_fresh = L.fresh.n,
                                     .fresh = L.fresh.v, .n_unused = unused.n,
                                     .unused = unused.v, .decoder_untied = untied};
        memset(&L.fresh, 0, sizeof L.fresh); /* ownership moved to rep */
        memset(&unused, 0, sizeof unused);
    }
    list_free(&unused);
    free_loader(&L);
    ctcd_st_close(f);
    free(path);
    return st ? ctcd_error_wrap(st, "loading %s", m->name) : CTCD_OK;
}

void ctcd_hf_load_report_free(ctcd_hf_load_report *r) {
    if (!r) return;
    for (int i = 0; i < r->n_fresh; i++) free(r->fresh[i]);
    for (int i = 0; i < r->n_unused; i++) free(r->unused[i]);
    free(r->fresh);
    free(r->unused);
    memset(r, 0, sizeof *r);
}
