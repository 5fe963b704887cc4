/* candidate.c — the training run of one KD-NAS candidate (include/ctcd/search.h): the
 * search recipe with the candidate as models.small, distilled from the teacher.
 *
 * A recipe gives a model one heads and one FFN width for every layer, so a per-layer
 * candidate starts instead from a checkpoint of its shape written here: random weights
 * (seeded by train.seed, the recipe's initializer_range and dropout), the teacher's
 * vocabulary size and positions, its per-layer heads and FFN widths in config.json
 * (pruned_heads, ctcd_layer_intermediate). */
#include <stdio.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/recipe.h"
#include "ctcd/search.h"

void ctcd_search_candidate_recipe(const ctcd_recipe *rc, const char *teacher, const ctcd_arch *a,
                                  int proxy, const char *out, ctcd_recipe *r) {
    *r = *rc;
    ctcd_model_recipe *m = &r->models[CTCD_SMALL];
    m->present = 1;
    m->init[0] = '\0';
    m->layers = a->v[CTCD_DIM_LAYERS];
    m->hidden = a->v[CTCD_DIM_HIDDEN];
    m->heads = a->v[CTCD_DIM_HEADS];
    m->intermediate = a->v[CTCD_DIM_INTER];
    if (!strcmp(rc->search.mode, "kd")) {
        r->models[CTCD_TEACHER] = r->models[CTCD_LARGE];
        snprintf(r->models[CTCD_TEACHER].init, CTCD_PATH_MAX, "%s", teacher);
        r->models[CTCD_LARGE].present = 0;
        r->distill.teacher[CTCD_SMALL] = rc->search.kd_weight;
        r->distill.teacher[CTCD_LARGE] = 0;
    } else {
        snprintf(r->models[CTCD_LARGE].init, CTCD_PATH_MAX, "%s", teacher);
        r->models[CTCD_TEACHER].present = 0;
    }
    if (proxy) r->data.max_train_examples = rc->search.proxy_examples;
    snprintf(r->output, sizeof r->output, "%s", out);
}


/* A random checkpoint of per-layer arch a in dir. */
static ctcd_status write_init(const ctcd_recipe *rc, const char *teacher, const ctcd_arch *a,
                              const char *dir) {
    int vocab = 30522, positions = 512, n_labels = 2;
    char path[CTCD_PATH_MAX + 32];
    ctcd_hf_config hf;
    snprintf(path, sizeof path, "%s/config.json", teacher);
    if (!ctcd_hf_config_read(path, &hf)) {
        vocab = hf.cfg.vocab_size, positions = hf.cfg.max_position, n_labels = hf.cfg.n_labels;
        ctcd_hf_config_free(&hf);
    }
    ctcd_bert_config cfg;
    CTCD_TRY(ctcd_arch_config(a, vocab, positions, n_labels, &cfg));
    const ctcd_model_recipe *mr = &rc->models[CTCD_SMALL];
    cfg.hidden_dropout = mr->hidden_dropout;
    cfg.attn_dropout = mr->attn_dropout;
    cfg.initializer_range = mr->initializer_range;
    ctcd_backend *be = NULL;
    ctcd_model *m = NULL;
    ctcd_status st = ctcd_backend_create("cpu", &be);
    if (!st) st = ctcd_model_create(be, &cfg, "small", 1, 1, &m);
    if (!st) st = ctcd_model_init_random(m, ctcd_seed_derive(rc->train.seed, "small/init"));
    if (!st) st = ctcd_model_save_hf(m, dir, NULL);
    ctcd_model_destroy(m);
    if (be) be->destroy(be);
    return st;
}

ctcd_status ctcd_search_prepare_run(const ctcd_recipe *rc, const char *teacher,
                                    const ctcd_arch *a, int proxy, const char *out,
                                    ctcd_recipe *r) {
    ctcd_search_candidate_recipe(rc, teacher, a, proxy, out, r);
    if (!ctcd_arch_is_per_layer(a)) return CTCD_OK;
    ctcd_model_recipe *m = &r->models[CTCD_SMALL];
    if (snprintf(m->init, sizeof m->init, "%s/init", out) >= (int)sizeof m->init)
        return CTCD_ERR(CTCD_E_INVALID, "search: directory name too long: %s", out);
    return write_init(rc, teacher, a, m->init);
}
