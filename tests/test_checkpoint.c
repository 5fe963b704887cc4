/* test_checkpoint.c — Hugging Face checkpoints: export -> import round trips (classifier,
 * regression, masked LM, non-uniform layers; F32 and BF16), HF naming variants (no "bert."
 * prefix, gamma/beta, decoder aliases), heads present in only one of file and model, load
 * errors that leave the model untouched, and a failed save that leaves the previous
 * checkpoint intact. config.json on its own is test_hf_config.c. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/safetensors.h"
#include "st_builder.h"
#include "testutil.h"

/* ---- fixtures ---- */

typedef struct env {
    ctcd_backend *be;
    char *dir;          /* temp checkpoint directory */
    char st_path[4200]; /* dir/model.safetensors */
    char cfg_path[4200];
} env;

static void env_make(env *e) {
    memset(e, 0, sizeof *e);
    ctcd_status st = ctcd_backend_create("cpu", &e->be);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    e->dir = ctcd_test_tmpdir();
    cr_assert_not_null(e->dir, "mkdtemp failed");
    snprintf(e->st_path, sizeof e->st_path, "%s/model.safetensors", e->dir);
    snprintf(e->cfg_path, sizeof e->cfg_path, "%s/config.json", e->dir);
}

static void env_free(env *e) {
    cr_expect_eq(ctcd_test_rmtree(e->dir), 0, "could not remove %s", e->dir);
    free(e->dir);
    ctcd_backend_destroy(e->be);
}

static ctcd_bert_config tiny(int head, int n_labels) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "tiny", 2, 8, 2, 16, 11, 16, 2, n_labels);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.head = head;
    return c;
}

/* A model whose every parameter (LayerNorm and biases included) is a distinct random value,
 * so that a tensor loaded into the wrong slot cannot go unnoticed. */
static ctcd_model *model_new(const env *e, const ctcd_bert_config *c, uint64_t seed) {
    ctcd_model *m;
    ctcd_status st = ctcd_model_create(e->be, c, "m", 2, 8, &m);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    float *h = malloc((size_t)m->lay.n_total * sizeof *h);
    ctcd_test_fill_uniform(h, m->lay.n_total, -1.0f, 1.0f, seed);
    st = ctcd_model_upload_params(m, h);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    free(h);
    return m;
}

static float *params_of(const ctcd_model *m) {
    float *h = malloc((size_t)m->lay.n_total * sizeof *h);
    ctcd_status st = ctcd_model_download_params(m, h);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return h;
}

/* Bitwise comparison of one named tensor of m against want (a host copy in m's layout,
 * or another layout's copy when want_lay is given). */
static void expect_tensor(const ctcd_model *m, const float *got, const float *want,
                          const ctcd_model_layout *want_lay, const char *name) {
    const ctcd_param_info *p = ctcd_model_layout_find(&m->lay, name);
    const ctcd_param_info *q = ctcd_model_layout_find(want_lay ? want_lay : &m->lay, name);
    cr_assert(p && q, "%s not in the layout", name);
    for (int64_t i = 0; i < p->numel; i++) {
        const float a = got[p->offset + i], b = want[q->offset + i];
        if (memcmp(&a, &b, 4) != 0)
            cr_assert_fail("%s[%lld] = %.9g, want %.9g", name, (long long)i, a, b);
    }
}

static void expect_all_equal(const ctcd_model *m, const float *want) {
    float *got = params_of(m);
    for (int i = 0; i < m->lay.n_params; i++)
        expect_tensor(m, got, want, NULL, m->lay.params[i].name);
    free(got);
}

static int has_name(char **v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return 1;
    return 0;
}

static void expect_error(ctcd_status st, const char *n1, const char *n2, const char *n3) {
    cr_assert_not_null(st, "expected an error mentioning '%s'", n1);
    const char *msg = ctcd_status_message(st);
    const char *needles[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i])
            cr_expect(strstr(msg, needles[i]) != NULL, "message lacks '%s': %s", needles[i], msg);
    ctcd_status_free(st);
}

/* Writes the tensors of m (host copy) with a hand-built safetensors writer, renamed the
 * ways older HF checkpoints name them; tensors whose name starts with skip are left out. */
typedef struct naming {
    int bare;          /* drop the "bert." prefix (BertModel checkpoints) */
    int legacy;        /* LayerNorm gamma/beta */
    const char *skip;  /* prefix of layout names to leave out, or NULL */
} naming;

static void add_model_tensors(st_builder *b, const ctcd_model *m, const float *host, naming n) {
    for (int i = 0; i < m->lay.n_params; i++) {
        const ctcd_param_info *p = &m->lay.params[i];
        if (n.skip && strncmp(p->name, n.skip, strlen(n.skip)) == 0) continue;
        char name[128];
        snprintf(name, sizeof name, "%s",
                 n.bare && strncmp(p->name, "bert.", 5) == 0 ? p->name + 5 : p->name);
        char *ln = strstr(name, "LayerNorm.");
        if (n.legacy && ln) strcpy(ln + 10, strcmp(ln + 10, "weight") == 0 ? "gamma" : "beta");
        stb_add_f32(b, name, p->shape, p->ndim, host + p->offset);
    }
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    int n = 0;
    for (struct dirent *x; (x = readdir(d)) != NULL;)
        n += strcmp(x->d_name, ".") != 0 && strcmp(x->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Whole file (< 1 MiB), NUL-terminated. */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    char *buf = calloc(1, 1 << 20);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

static cJSON *read_json(const char *path) {
    size_t n;
    char *text = slurp(path, &n);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "%s is not JSON:\n%s", path, text);
    free(text);
    return root;
}

static const char *json_str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

/* ---- export -> import round trips ---- */

/* Saves a model built from c, loads it into a differently initialised twin, and checks
 * every tensor; returns the saved parameters (caller frees). */
static float *round_trip(env *e, const ctcd_bert_config *c, const ctcd_hf_save_opts *o) {
    ctcd_model *a = model_new(e, c, 1), *b = model_new(e, c, 2);
    float *want = params_of(a);
    ctcd_status st = ctcd_model_save_hf(a, e->dir, o);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_hf_load_report rep;
    st = ctcd_model_load_hf(b, e->dir, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_eq(rep.n_loaded, b->lay.n_params, "loaded %d of %d", rep.n_loaded, b->lay.n_params);
    cr_expect_eq(rep.n_fresh, 0, "fresh: %s", rep.n_fresh ? rep.fresh[0] : "");
    cr_expect_eq(rep.n_unused, 0, "unused: %s", rep.n_unused ? rep.unused[0] : "");
    if (o && o->dtype == CTCD_BF16)
        for (int64_t i = 0; i < a->lay.n_total; i++)
            want[i] = ctcd_bf16_to_f32(ctcd_f32_to_bf16(want[i]));
    expect_all_equal(b, want);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    return want;
}

/* The file holds exactly the layout's names, in layout order, with dtype dt. */
static void expect_file_matches_layout(const env *e, const ctcd_bert_config *c, const char *dt) {
    ctcd_model_layout lay;
    cr_assert_null(ctcd_model_layout_build(c, &lay));
    ctcd_st_file *f;
    ctcd_status st = ctcd_st_open(e->st_path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_str_eq(ctcd_st_metadata(f, "format"), "pt");
    cr_assert_eq(ctcd_st_count(f), lay.n_params, "%d tensors in the file, %d in the layout",
                 ctcd_st_count(f), lay.n_params);
    /* The Rust reader (Python safetensors) insists that tensors tile the data section. */
    uint64_t end = 0;
    for (int i = 0; i < lay.n_params; i++) {
        const ctcd_st_tensor *t = ctcd_st_get(f, i);
        cr_expect_str_eq(t->name, lay.params[i].name, "tensor %d", i);
        cr_expect_str_eq(t->dtype, dt, "%s dtype", t->name);
        cr_expect_eq(t->begin, end, "%s starts at %llu, previous ends at %llu", t->name,
                     (unsigned long long)t->begin, (unsigned long long)end);
        end = t->end;
    }
    size_t n;
    char *bytes = slurp(e->st_path, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (uint8_t)bytes[i];
    cr_expect_eq(hlen % 8, 0, "header length %llu not padded to 8", (unsigned long long)hlen);
    cr_expect_eq(bytes[8], '{', "header must start with '{'");
    cr_expect_eq(8 + hlen + end, n, "data section has %llu bytes beyond the last tensor",
                 (unsigned long long)(n - 8 - hlen - end));
    free(bytes);
    ctcd_st_close(f);
    ctcd_model_layout_free(&lay);
}

Test(checkpoint_roundtrip, classifier_f32_is_bitwise_identical) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 3);
    free(round_trip(&e, &c, NULL));
    expect_file_matches_layout(&e, &c, "F32");
    ctcd_hf_config hf;
    ctcd_status st = ctcd_hf_config_read(e.dir, &hf);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_str_eq(hf.architecture, "BertForSequenceClassification");
    cr_expect(hf.has_head && hf.cfg.head == CTCD_HEAD_CLASSIFY);
    cr_expect_eq(hf.cfg.n_labels, 3);
    cr_expect_str_eq(hf.labels[2], "LABEL_2");
    ctcd_hf_config_free(&hf);
    env_free(&e);
}

Test(checkpoint_roundtrip, regression_head_has_one_output) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 1);
    free(round_trip(&e, &c, NULL));
    ctcd_hf_config hf;
    cr_assert_null(ctcd_hf_config_read(e.cfg_path, &hf));
    cr_expect_eq(hf.cfg.n_labels, 1);
    ctcd_hf_config_free(&hf);
    cJSON *root = read_json(e.cfg_path);
    cr_expect_str_eq(json_str(root, "problem_type"), "regression");
    cJSON_Delete(root);
    env_free(&e);
}

Test(checkpoint_roundtrip, masked_lm_stores_the_tied_decoder_once) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_MLM, 2);
    free(round_trip(&e, &c, NULL));
    expect_file_matches_layout(&e, &c, "F32");
    ctcd_st_file *f;
    cr_assert_null(ctcd_st_open(e.st_path, &f));
    cr_expect_not_null(ctcd_st_find(f, "cls.predictions.bias"));
    cr_expect_null(ctcd_st_find(f, "cls.predictions.decoder.weight"), "tied: not stored");
    cr_expect_null(ctcd_st_find(f, "cls.predictions.decoder.bias"), "alias: not stored");
    cr_expect_null(ctcd_st_find(f, "bert.pooler.dense.weight"), "BertForMaskedLM has no pooler");
    ctcd_st_close(f);
    ctcd_hf_config hf;
    cr_assert_null(ctcd_hf_config_read(e.dir, &hf));
    cr_expect(hf.has_head && hf.cfg.head == CTCD_HEAD_MLM);
    cr_expect_str_eq(hf.architecture, "BertForMaskedLM");
    ctcd_hf_config_free(&hf);
    env_free(&e);
}

Test(checkpoint_roundtrip, non_uniform_layers_via_pruned_heads_and_ffn_widths) {
    env e;
    env_make(&e);
    ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    c.layer_heads[1] = 1;         /* head 1 of layer 1 pruned */
    c.layer_intermediate[0] = 12; /* layer 0's FFN pruned */
    free(round_trip(&e, &c, NULL));
    /* config.json says what HF needs to rebuild the shapes. */
    cJSON *root = read_json(e.cfg_path);
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(root, "pruned_heads");
    const cJSON *l1 = cJSON_GetObjectItemCaseSensitive(ph, "1");
    cr_expect(cJSON_GetArraySize(ph) == 1 && cJSON_GetArraySize(l1) == 1 &&
                  l1->child->valueint == 1, "pruned_heads wrong");
    const cJSON *li = cJSON_GetObjectItemCaseSensitive(root, "ctcd_layer_intermediate");
    cr_expect(cJSON_GetArraySize(li) == 2 && li->child->valueint == 12 &&
                  li->child->next->valueint == 16, "ctcd_layer_intermediate wrong");
    cJSON_Delete(root);
    /* ... and reading it back gives the same shapes, so a model built from it loads. */
    ctcd_hf_config hf;
    cr_assert_null(ctcd_hf_config_read(e.dir, &hf));
    cr_expect_eq(hf.cfg.layer_heads[0], 2);
    cr_expect_eq(hf.cfg.layer_heads[1], 1);
    cr_expect_eq(hf.cfg.layer_intermediate[0], 12);
    cr_expect_eq(hf.cfg.layer_intermediate[1], 16);
    ctcd_model *m = model_new(&e, &hf.cfg, 5);
    ctcd_status st = ctcd_model_load_hf(m, e.dir, NULL);
    cr_expect_null(st, "%s", ctcd_status_message(st));
    ctcd_model_destroy(m);
    ctcd_hf_config_free(&hf);
    env_free(&e);
}

Test(checkpoint_roundtrip, bf16_export_loads_the_rounded_values) {
    const int heads[] = {CTCD_HEAD_CLASSIFY, CTCD_HEAD_MLM};
    for (int k = 0; k < 2; k++) {
        env e;
        env_make(&e);
        const ctcd_bert_config c = tiny(heads[k], 2);
        const ctcd_hf_save_opts o = {.dtype = CTCD_BF16};
        float *want = round_trip(&e, &c, &o);
        free(want);
        expect_file_matches_layout(&e, &c, "BF16");
        env_free(&e);
    }
}

/* ---- heads and HF naming variants ---- */

Test(checkpoint_heads, classifier_checkpoint_into_a_masked_lm_model) {
    env e;
    env_make(&e);
    const ctcd_bert_config cc = tiny(CTCD_HEAD_CLASSIFY, 3), cm = tiny(CTCD_HEAD_MLM, 3);
    ctcd_model *a = model_new(&e, &cc, 1), *b = model_new(&e, &cm, 2);
    float *src = params_of(a), *init = params_of(b);
    cr_assert_null(ctcd_model_save_hf(a, e.dir, NULL));
    ctcd_hf_load_report rep;
    ctcd_status st = ctcd_model_load_hf(b, e.dir, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    float *got = params_of(b);
    for (int i = 0; i < b->lay.n_params; i++) {
        const char *name = b->lay.params[i].name;
        const int head = strncmp(name, "cls.", 4) == 0;
        expect_tensor(b, got, head ? init : src, head ? NULL : &a->lay, name);
        if (head) cr_expect(has_name(rep.fresh, rep.n_fresh, name), "%s not reported fresh", name);
    }
    cr_expect_eq(rep.n_fresh, 5, "MLM head tensors fresh: %d", rep.n_fresh);
    cr_expect_eq(rep.n_unused, 4, "pooler + classifier unused: %d", rep.n_unused);
    cr_expect(has_name(rep.unused, rep.n_unused, "classifier.weight") &&
              has_name(rep.unused, rep.n_unused, "bert.pooler.dense.bias"), "unused list");
    ctcd_hf_load_report_free(&rep);
    free(src);
    free(init);
    free(got);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    env_free(&e);
}

/* A BertModel checkpoint: no "bert." prefix, a pooler, no classifier, plus an int64
 * position_ids buffer and pre-training head tensors the classifier does not use. */
Test(checkpoint_heads, encoder_only_checkpoint_into_a_classifier) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 3);
    ctcd_model *a = model_new(&e, &c, 1), *b = model_new(&e, &c, 2);
    float *src = params_of(a), *init = params_of(b);
    st_builder sb;
    stb_init(&sb);
    add_model_tensors(&sb, a, src, (naming){.bare = 1, .skip = "classifier."});
    int64_t pos[16];
    for (int i = 0; i < 16; i++) pos[i] = i;
    stb_add(&sb, "embeddings.position_ids", "I64", (int64_t[]){1, 16}, 2, pos, sizeof pos);
    stb_add_f32(&sb, "cls.seq_relationship.weight", (int64_t[]){2, 8}, 2, src);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    stb_free(&sb);
    ctcd_hf_load_report rep;
    ctcd_status st = ctcd_model_load_hf(b, e.dir, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    float *got = params_of(b);
    for (int i = 0; i < b->lay.n_params; i++) {
        const char *name = b->lay.params[i].name;
        const int head = strncmp(name, "classifier.", 11) == 0;
        expect_tensor(b, got, head ? init : src, NULL, name);
    }
    cr_expect(rep.n_fresh == 2 && has_name(rep.fresh, 2, "classifier.weight") &&
              has_name(rep.fresh, 2, "classifier.bias"), "fresh: %d", rep.n_fresh);
    cr_expect(rep.n_unused == 2 && has_name(rep.unused, 2, "embeddings.position_ids") &&
              has_name(rep.unused, 2, "cls.seq_relationship.weight"), "unused: %d", rep.n_unused);
    ctcd_hf_load_report_free(&rep);
    free(src);
    free(init);
    free(got);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    env_free(&e);
}

Test(checkpoint_heads, legacy_gamma_beta_names_with_and_without_prefix) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    ctcd_model *a = model_new(&e, &c, 1);
    float *src = params_of(a);
    for (int bare = 0; bare < 2; bare++) {
        ctcd_model *b = model_new(&e, &c, 2);
        st_builder sb;
        stb_init(&sb);
        add_model_tensors(&sb, a, src, (naming){.bare = bare, .legacy = 1});
        cr_assert_eq(stb_write(&sb, e.st_path), 0);
        cr_assert(strstr(sb.hdr, "attention.output.LayerNorm.gamma"), "builder wrote gamma");
        stb_free(&sb);
        ctcd_hf_load_report rep;
        ctcd_status st = ctcd_model_load_hf(b, e.dir, &rep);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        cr_expect(rep.n_fresh == 0 && rep.n_unused == 0, "bare=%d: fresh %d unused %d", bare,
                  rep.n_fresh, rep.n_unused);
        expect_all_equal(b, src);
        ctcd_hf_load_report_free(&rep);
        ctcd_model_destroy(b);
    }
    free(src);
    ctcd_model_destroy(a);
    env_free(&e);
}

Test(checkpoint_heads, masked_lm_decoder_aliases) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_MLM, 2);
    ctcd_model *a = model_new(&e, &c, 1), *b = model_new(&e, &c, 2);
    float *src = params_of(a);
    const ctcd_param_info *wte = &a->lay.params[0];
    const ctcd_param_info *bias = ctcd_model_layout_find(&a->lay, "cls.predictions.bias");
    /* Old files: decoder.bias instead of predictions.bias, decoder.weight == embeddings. */
    st_builder sb;
    stb_init(&sb);
    add_model_tensors(&sb, a, src, (naming){.skip = "cls.predictions.bias"});
    stb_add_f32(&sb, "cls.predictions.decoder.bias", bias->shape, 1, src + bias->offset);
    stb_add_f32(&sb, "cls.predictions.decoder.weight", wte->shape, 2, src + wte->offset);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    ctcd_hf_load_report rep;
    ctcd_status st = ctcd_model_load_hf(b, e.dir, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect(rep.n_fresh == 0 && rep.n_unused == 0 && !rep.decoder_untied,
              "fresh %d unused %d untied %d", rep.n_fresh, rep.n_unused, rep.decoder_untied);
    expect_all_equal(b, src);
    ctcd_hf_load_report_free(&rep);
    stb_free(&sb);
    /* An untied decoder is reported (and ignored). */
    float *other = malloc((size_t)wte->numel * sizeof *other);
    ctcd_test_fill_uniform(other, wte->numel, -1, 1, 77);
    stb_init(&sb);
    add_model_tensors(&sb, a, src, (naming){0});
    stb_add_f32(&sb, "cls.predictions.decoder.weight", wte->shape, 2, other);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    stb_free(&sb);
    st = ctcd_model_load_hf(b, e.dir, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect(rep.decoder_untied, "untied decoder not reported");
    ctcd_hf_load_report_free(&rep);
    /* Both bias names with different values is ambiguous. */
    stb_init(&sb);
    add_model_tensors(&sb, a, src, (naming){0});
    stb_add_f32(&sb, "cls.predictions.decoder.bias", bias->shape, 1, other);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    stb_free(&sb);
    expect_error(ctcd_model_load_hf(b, e.dir, NULL), "'cls.predictions.bias' and "
                 "'cls.predictions.decoder.bias' both hold", "model.safetensors", NULL);
    free(other);
    free(src);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    env_free(&e);
}

/* ---- load errors: message names the file and the tensor; the model is unchanged ---- */

static void expect_failed_load(const env *e, ctcd_model *m, const char *n1, const char *n2,
                               const char *n3) {
    float *before = params_of(m);
    ctcd_hf_load_report rep;
    ctcd_status st = ctcd_model_load_hf(m, e->dir, &rep);
    cr_assert_not_null(st, "load should fail with '%s'", n1);
    cr_expect(strstr(ctcd_status_message(st), e->st_path) != NULL,
              "message does not name the file: %s", ctcd_status_message(st));
    expect_error(st, n1, n2, n3);
    cr_expect_eq(rep.n_loaded, 0, "no report on error");
    expect_all_equal(m, before);
    free(before);
}

Test(checkpoint_errors, missing_wrong_shape_and_unsupported_dtype) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    ctcd_model *a = model_new(&e, &c, 1), *b = model_new(&e, &c, 2);
    float *src = params_of(a);
    const char *victim = "bert.encoder.layer.1.intermediate.dense.weight";
    const ctcd_param_info *p = ctcd_model_layout_find(&a->lay, victim);
    st_builder sb;

    stb_init(&sb); /* one encoder tensor missing */
    add_model_tensors(&sb, a, src, (naming){.skip = victim});
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    expect_failed_load(&e, b, "missing 1 encoder tensor", victim, NULL);
    /* wrong shape: the same data transposed */
    stb_add_f32(&sb, victim, (int64_t[]){8, 16}, 2, src + p->offset);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    expect_failed_load(&e, b, victim, "has shape [8, 16], the model expects [16, 8]", NULL);
    stb_free(&sb);

    stb_init(&sb); /* a weight stored as F64 */
    add_model_tensors(&sb, a, src, (naming){.skip = victim});
    double *d = calloc((size_t)p->numel, sizeof *d);
    stb_add(&sb, victim, "F64", p->shape, 2, d, (size_t)p->numel * 8);
    free(d);
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    stb_free(&sb);
    expect_failed_load(&e, b, victim, "unsupported dtype F64", NULL);

    stb_init(&sb); /* a file of embeddings only: many missing, the list is capped */
    add_model_tensors(&sb, a, src, (naming){.skip = "bert.encoder."});
    cr_assert_eq(stb_write(&sb, e.st_path), 0);
    stb_free(&sb);
    expect_failed_load(&e, b, "missing 32 encoder tensors", "and 27 more", NULL);

    cr_assert_eq(ctcd_test_write_file(e.st_path, "junk"), 0); /* corrupt file */
    expect_failed_load(&e, b, "truncated", NULL, NULL);

    free(src);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    env_free(&e);
}

Test(checkpoint_errors, missing_directory_is_an_io_error) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    ctcd_model *m = model_new(&e, &c, 1);
    ctcd_status st = ctcd_model_load_hf(m, "/nonexistent/ckpt", NULL);
    cr_assert_not_null(st);
    cr_expect_eq(ctcd_status_code(st), CTCD_E_IO);
    expect_error(st, "/nonexistent/ckpt/model.safetensors", "cannot open", NULL);
    ctcd_model_destroy(m);
    env_free(&e);
}

/* ---- saving ---- */

/* The file system refuses to grow files past 2 KiB mid-save (RLIMIT_FSIZE): the save
 * fails, the previous checkpoint is byte-for-byte intact, and no temp file remains. */
Test(checkpoint_save, failed_write_keeps_the_previous_checkpoint) {
    env e;
    env_make(&e);
    char sub[4300];
    snprintf(sub, sizeof sub, "%s/runs/best", e.dir); /* parents are created */
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    ctcd_model *a = model_new(&e, &c, 1), *b = model_new(&e, &c, 2);
    ctcd_status st = ctcd_model_save_hf(a, sub, NULL);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    char wpath[4400], cpath[4400];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", sub);
    snprintf(cpath, sizeof cpath, "%s/config.json", sub);
    size_t nw, nc;
    char *w0 = slurp(wpath, &nw), *c0 = slurp(cpath, &nc);
    cr_assert_gt(nw, 4096, "the model must not fit under the limit (%zu bytes)", nw);

    signal(SIGXFSZ, SIG_IGN); /* get EFBIG from write() instead of a signal */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 2048;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    st = ctcd_model_save_hf(b, sub, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert_not_null(st, "save under a 2 KiB file-size limit should fail");
    cr_expect_eq(ctcd_status_code(st), CTCD_E_IO, "%s", ctcd_status_message(st));
    expect_error(st, "model.safetensors", NULL, NULL);

    size_t nw1, nc1;
    char *w1 = slurp(wpath, &nw1), *c1 = slurp(cpath, &nc1);
    cr_expect(nw1 == nw && memcmp(w0, w1, nw) == 0, "model.safetensors changed");
    cr_expect(nc1 == nc && memcmp(c0, c1, nc) == 0, "config.json changed");
    cr_expect_eq(count_entries(sub), 2, "a temp file was left behind");
    /* The old checkpoint still loads. */
    float *want = params_of(a);
    cr_assert_null(ctcd_model_load_hf(b, sub, NULL));
    expect_all_equal(b, want);
    free(want);
    free(w0);
    free(c0);
    free(w1);
    free(c1);
    ctcd_model_destroy(a);
    ctcd_model_destroy(b);
    env_free(&e);
}

Test(checkpoint_save, invalid_options_write_nothing) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 2);
    ctcd_model *m = model_new(&e, &c, 1);
    const char *dup[] = {"a", "a"};
    const ctcd_hf_save_opts o1 = {.dtype = CTCD_F32, .labels = dup};
    expect_error(ctcd_model_save_hf(m, e.dir, &o1), "labels 0 and 1 are both 'a'", NULL, NULL);
    const ctcd_hf_save_opts o2 = {.dtype = CTCD_F16};
    expect_error(ctcd_model_save_hf(m, e.dir, &o2), "F32 or BF16", NULL, NULL);
    cr_expect_eq(count_entries(e.dir), 0, "nothing may be written");
    ctcd_model_destroy(m);
    env_free(&e);
}

/* ---- one-call import ---- */

Test(checkpoint_open, open_hf_builds_and_loads_the_model) {
    env e;
    env_make(&e);
    const ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 3);
    ctcd_model *a = model_new(&e, &c, 1);
    float *want = params_of(a);
    const char *labels[] = {"x", "y", "z"};
    const ctcd_hf_save_opts so = {.labels = labels};
    cr_assert_null(ctcd_model_save_hf(a, e.dir, &so));
    ctcd_hf_open_opts o = {.name = "large", .B_max = 2, .T_max = 8, .seed = 3,
                           .head = CTCD_HF_HEAD_FROM_FILE};
    ctcd_model *b;
    ctcd_hf_config hf;
    ctcd_hf_load_report rep;
    ctcd_status st = ctcd_model_open_hf(e.be, e.dir, &o, &b, &hf, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    expect_all_equal(b, want);
    cr_expect_str_eq(hf.labels[1], "y");
    cr_expect_str_eq(b->name, "large");
    ctcd_hf_config_free(&hf);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(b);

    /* As an encoder-only checkpoint the head must be chosen by the caller. */
    char *text;
    cr_assert_null(ctcd_hf_config_to_json(&c, NULL, CTCD_F32, &text));
    char *arch = strstr(text, "BertForSequenceClassification");
    memcpy(arch, "BertModel\"", 10);
    memmove(arch + 10, arch + strlen("BertForSequenceClassification") + 1,
            strlen(arch + strlen("BertForSequenceClassification") + 1) + 1);
    cr_assert_eq(ctcd_test_write_file(e.cfg_path, text), 0);
    free(text);
    expect_error(ctcd_model_open_hf(e.be, e.dir, &o, &b, NULL, NULL), "BertModel",
                 "choose the head", NULL);
    o.head = CTCD_HEAD_MLM; /* fine-tune-to-MLM: encoder loads, MLM head is fresh */
    st = ctcd_model_open_hf(e.be, e.dir, &o, &b, NULL, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect(rep.n_fresh == 5 && rep.n_unused == 4, "fresh %d unused %d", rep.n_fresh,
              rep.n_unused);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(b);
    free(want);
    ctcd_model_destroy(a);
    env_free(&e);
}
