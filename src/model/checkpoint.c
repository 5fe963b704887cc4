/* checkpoint.c — a ctcd_model -> Hugging Face directory (config.json + model.safetensors),
 * and the one-call import ctcd_model_open_hf (include/ctcd/checkpoint.h). Loading the
 * weights is checkpoint_load.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/fileio.h"
#include "ctcd/checkpoint.h"
#include "ctcd/safetensors.h"

static char *join(const char *dir, const char *name) {
    const size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* model.safetensors from the host copy of the parameters, in layout order. */
static ctcd_status write_weights(const ctcd_model *m, const char *path, const float *host,
                                 ctcd_dtype dtype) {
    const ctcd_model_layout *lay = &m->lay;
    ctcd_st_entry *e = calloc((size_t)lay->n_params, sizeof *e);
    if (!e) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < lay->n_params; i++) {
        const ctcd_param_info *p = &lay->params[i];
        e[i] = (ctcd_st_entry){.name = p->name, .dtype = dtype, .src_dtype = CTCD_F32,
                               .ndim = p->ndim, .data = host + p->offset};
        for (int d = 0; d < p->ndim; d++) e[i].shape[d] = p->shape[d];
    }
    static const char *const metadata[] = {"format", "pt", NULL};
    ctcd_status st = ctcd_st_write(path, e, lay->n_params, metadata);
    free(e);
    return st;
}

ctcd_status ctcd_model_save_hf(const ctcd_model *m, const char *dir,
                               const ctcd_hf_save_opts *opts) {
    const ctcd_hf_save_opts defaults = {.dtype = CTCD_F32, .labels = NULL};
    if (!opts) opts = &defaults;
    /* Everything that can be validated is, before the first byte lands on disk. */
    char *config = NULL;
    ctcd_status st = ctcd_hf_config_to_json(&m->cfg, opts->labels, opts->dtype, &config);
    if (st) return ctcd_error_wrap(st, "saving %s to %s", m->name, dir);
    char *wpath = join(dir, "model.safetensors"), *cpath = join(dir, "config.json");
    float *host = malloc((size_t)m->lay.n_total * sizeof *host);
    if (!wpath || !cpath || !host) st = CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    if (!st) st = ctcd_mkdirs(dir);
    if (!st) st = ctcd_model_download_params(m, host);
    if (!st) st = write_weights(m, wpath, host, opts->dtype);
    if (!st) st = ctcd_atomic_write_file(cpath, config, strlen(config));
    free(host);
    free(wpath);
    free(cpath);
    free(config);
    return st ? ctcd_error_wrap(st, "saving %s", m->name) : CTCD_OK;
}

/* The model config for an import: the file's, with the caller's head decisions. */
static ctcd_status open_config(const char *dir, const ctcd_hf_config *hf,
                               const ctcd_hf_open_opts *o, ctcd_bert_config *c) {
    *c = hf->cfg;
    if (o->head == CTCD_HF_HEAD_FROM_FILE) {
        if (!hf->has_head)
            return CTCD_ERR(CTCD_E_INVALID, "%s/config.json: architecture '%s' has no head ctcd "
                            "implements (BertForSequenceClassification, BertForMaskedLM, "
                            "BertForMultipleChoice); "
                            "choose the head explicitly", dir,
                            hf->architecture[0] ? hf->architecture : "none given");
    } else {
        c->head = o->head;
        c->multiple_choice = o->multiple_choice;
    }
    if (o->n_labels > 0) c->n_labels = o->n_labels;
    if (c->multiple_choice) c->n_labels = 1; /* one score per choice row */
    c->max_predictions = o->max_predictions;
    return ctcd_bert_config_validate(c, dir);
}

ctcd_status ctcd_model_open_hf(ctcd_backend *be, const char *dir, const ctcd_hf_open_opts *o,
                               ctcd_model **out, ctcd_hf_config *hf_out,
                               ctcd_hf_load_report *rep) {
    *out = NULL;
    if (rep) memset(rep, 0, sizeof *rep);
    const char *name = o->name ? o->name : "model";
    ctcd_hf_config hf;
    CTCD_TRY(ctcd_hf_config_read(dir, &hf));
    ctcd_bert_config c;
    ctcd_model *m = NULL;
    ctcd_status st = open_config(dir, &hf, o, &c);
    if (!st) st = ctcd_model_create(be, &c, name, o->B_max, o->T_max, &m);
    if (!st) st = ctcd_model_init_random(m, o->seed);
    if (!st) st = ctcd_model_load_hf(m, dir, rep);
    if (st) {
        ctcd_model_destroy(m);
        ctcd_hf_config_free(&hf);
        return st;
    }
    if (hf_out) {
        *hf_out = hf;
    } else {
        ctcd_hf_config_free(&hf);
    }
    *out = m;
    return CTCD_OK;
}
