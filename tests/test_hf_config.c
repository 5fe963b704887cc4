/* test_hf_config.c — config.json <-> ctcd_bert_config: a round trip keeps every field,
 * label and pruned head; bert-base-uncased's published config reads as it is; every bad
 * key is an error naming config.json and the key; encoder-only architectures leave the
 * head to the caller. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "testutil.h"

typedef struct env {
    char *dir;
    char cfg_path[4200]; /* dir/config.json */
} env;

static void env_make(env *e) {
    memset(e, 0, sizeof *e);
    e->dir = ctcd_test_tmpdir();
    cr_assert_not_null(e->dir, "mkdtemp failed");
    snprintf(e->cfg_path, sizeof e->cfg_path, "%s/config.json", e->dir);
}

static void env_free(env *e) {
    cr_expect_eq(ctcd_test_rmtree(e->dir), 0, "could not remove %s", e->dir);
    free(e->dir);
}

static ctcd_bert_config tiny(int head, int n_labels) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "tiny", 2, 8, 2, 16, 11, 16, 2, n_labels);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.head = head;
    return c;
}

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    char *text = calloc(1, 1 << 16);
    const size_t n = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    cJSON *root = n ? cJSON_Parse(text) : NULL;
    cr_assert_not_null(root, "%s is not JSON:\n%s", path, text);
    free(text);
    return root;
}

static const char *json_str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

Test(checkpoint_config, round_trip_keeps_every_field_and_label) {
    env e;
    env_make(&e);
    ctcd_bert_config c = tiny(CTCD_HEAD_CLASSIFY, 3);
    c.hidden_dropout = 0.2f;
    c.attn_dropout = 0.05f;
    c.initializer_range = 0.03f;
    c.ln_eps = 1e-7f;
    c.pad_id = 3;
    c.layer_heads[0] = 1;
    const char *labels[] = {"contradiction", "entailment", "neutral \"quoted\""};
    ctcd_status st = ctcd_hf_config_write(e.cfg_path, &c, labels, CTCD_BF16);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_hf_config hf;
    st = ctcd_hf_config_read(e.cfg_path, &hf);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_bert_config *r = &hf.cfg;
    cr_expect(r->n_layers == 2 && r->hidden == 8 && r->n_heads == 2 && r->head_dim == 4 &&
              r->intermediate == 16 && r->vocab_size == 11 && r->max_position == 16 &&
              r->type_vocab == 2 && r->pad_id == 3 && r->n_labels == 3, "sizes differ");
    cr_expect(r->hidden_dropout == 0.2f && r->attn_dropout == 0.05f &&
              r->initializer_range == 0.03f && r->ln_eps == 1e-7f, "floats differ");
    cr_expect(r->layer_heads[0] == 1 && r->layer_heads[1] == 2, "heads %d %d", r->layer_heads[0],
              r->layer_heads[1]);
    for (int i = 0; i < 3; i++) cr_expect_str_eq(hf.labels[i], labels[i]);
    cr_expect_lt(hf.classifier_dropout, 0.0f, "classifier_dropout null");
    ctcd_hf_config_free(&hf);
    /* The text is what HF's BertConfig expects. */
    cJSON *root = read_json(e.cfg_path);
    const char *want[][2] = {{"model_type", "bert"},
                             {"hidden_act", "gelu"},
                             {"torch_dtype", "bfloat16"},
                             {"problem_type", "single_label_classification"},
                             {"position_embedding_type", "absolute"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect_str_eq(json_str(root, want[i][0]), want[i][1], "key %s", want[i][0]);
    const cJSON *l2i = cJSON_GetObjectItemCaseSensitive(root, "label2id");
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(l2i, "neutral \"quoted\"")->valueint, 2);
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(root, "pruned_heads");
    cr_expect(cJSON_GetArraySize(ph) == 1 &&
              cJSON_GetObjectItemCaseSensitive(ph, "0")->child->valueint == 1, "pruned_heads");
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(root, "ctcd_layer_intermediate"),
                   "uniform FFN: no extension key");
    cJSON_Delete(root);
    /* Floats are written in their shortest form, not as the float's full expansion. */
    char *text;
    cr_assert_null(ctcd_hf_config_to_json(&c, labels, CTCD_BF16, &text));
    cr_expect(strstr(text, "1e-07") && strstr(text, "0.05") && !strstr(text, "0.0500000"),
              "floats not in shortest form:\n%s", text);
    free(text);
    env_free(&e);
}

Test(checkpoint_config, reads_bert_base_uncased_as_published) {
    env e;
    env_make(&e);
    cr_assert_eq(ctcd_test_write_file(e.cfg_path,
        "{\n  \"architectures\": [\"BertForMaskedLM\"],\n"
        "  \"attention_probs_dropout_prob\": 0.1,\n  \"gradient_checkpointing\": false,\n"
        "  \"hidden_act\": \"gelu\",\n  \"hidden_dropout_prob\": 0.1,\n  \"hidden_size\": 768,\n"
        "  \"initializer_range\": 0.02,\n  \"intermediate_size\": 3072,\n"
        "  \"layer_norm_eps\": 1e-12,\n  \"max_position_embeddings\": 512,\n"
        "  \"model_type\": \"bert\",\n  \"num_attention_heads\": 12,\n"
        "  \"num_hidden_layers\": 12,\n  \"pad_token_id\": 0,\n"
        "  \"position_embedding_type\": \"absolute\",\n"
        "  \"transformers_version\": \"4.6.0.dev0\",\n  \"type_vocab_size\": 2,\n"
        "  \"use_cache\": true,\n  \"vocab_size\": 30522\n}\n"), 0);
    ctcd_hf_config hf;
    ctcd_status st = ctcd_hf_config_read(e.dir, &hf);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect(hf.has_head && hf.cfg.head == CTCD_HEAD_MLM);
    cr_expect(hf.cfg.n_layers == 12 && hf.cfg.hidden == 768 && hf.cfg.head_dim == 64 &&
              hf.cfg.layer_intermediate[11] == 3072 && hf.cfg.vocab_size == 30522 &&
              hf.cfg.ln_eps == 1e-12f, "bert-base sizes");
    cr_expect_eq(hf.cfg.n_labels, 2, "HF's default num_labels");
    ctcd_hf_config_free(&hf);
    env_free(&e);
}

/* A valid minimal config with one required key left out and extra text appended. */
static void write_config(const env *e, const char *skip, const char *extra) {
    const char *keys[][2] = {{"hidden_size", "8"}, {"num_hidden_layers", "2"},
                             {"num_attention_heads", "2"}, {"intermediate_size", "16"},
                             {"vocab_size", "11"}, {"max_position_embeddings", "16"},
                             {"type_vocab_size", "2"}};
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 7; i++)
        if (!skip || strcmp(skip, keys[i][0]) != 0)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\"%s\": %s", n > 1 ? ", " : "",
                                  keys[i][0], keys[i][1]);
    snprintf(text + n, sizeof text - n, "%s}", extra ? extra : "");
    cr_assert_eq(ctcd_test_write_file(e->cfg_path, text), 0);
}

static void expect_config_error(const env *e, const char *skip, const char *extra,
                                 const char *n1, const char *n2) {
    write_config(e, skip, extra);
    ctcd_hf_config hf;
    ctcd_status st = ctcd_hf_config_read(e->cfg_path, &hf);
    cr_assert_not_null(st, "config with '%s' should fail", extra ? extra : skip);
    const char *msg = ctcd_status_message(st);
    cr_expect(strstr(msg, "config.json") != NULL, "message does not name the file: %s", msg);
    cr_expect(strstr(msg, n1) != NULL, "message lacks '%s': %s", n1, msg);
    if (n2) cr_expect(strstr(msg, n2) != NULL, "message lacks '%s': %s", n2, msg);
    ctcd_status_free(st);
    ctcd_hf_config_free(&hf);
}

Test(checkpoint_config, bad_keys_are_errors_naming_file_and_key) {
    env e;
    env_make(&e);
    expect_config_error(&e, "hidden_size", NULL, "missing required key \"hidden_size\"", NULL);
    expect_config_error(&e, "vocab_size", ", \"vocab_size\": \"big\"", "\"vocab_size\" is string",
                        NULL);
    expect_config_error(&e, "num_hidden_layers", ", \"num_hidden_layers\": 100",
                        "\"num_hidden_layers\"", "[1, 48]");
    expect_config_error(&e, "hidden_size", ", \"hidden_size\": 9", "not a multiple", NULL);
    expect_config_error(&e, NULL, ", \"hidden_act\": \"gelu_new\"", "\"hidden_act\"",
                        "only the exact-erf GELU");
    expect_config_error(&e, NULL, ", \"position_embedding_type\": \"relative_key\"",
                        "\"position_embedding_type\"", NULL);
    expect_config_error(&e, NULL, ", \"model_type\": \"roberta\"", "\"model_type\"", NULL);
    expect_config_error(&e, NULL, ", \"architectures\": [\"RobertaForMaskedLM\"]",
                        "\"architectures\"", NULL);
    expect_config_error(&e, NULL, ", \"architectures\": \"BertModel\"",
                        "\"architectures\" is string", NULL);
    expect_config_error(&e, NULL,
                        ", \"problem_type\": \"regression\", \"id2label\": "
                        "{\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}",
                        "\"problem_type\"", "3 labels");
    expect_config_error(&e, NULL, ", \"problem_type\": \"multi_label_classification\"",
                        "\"problem_type\"", NULL);
    expect_config_error(&e, NULL, ", \"id2label\": {\"0\": \"a\", \"7\": \"b\"}", "\"id2label\"",
                        NULL);
    expect_config_error(&e, NULL, ", \"num_labels\": 3, \"id2label\": {\"0\": \"a\", \"1\": \"b\"}",
                        "\"num_labels\"", NULL);
    expect_config_error(&e, NULL, ", \"pruned_heads\": {\"0\": [0, 1]}", "\"pruned_heads\"",
                        "prunes all 2 heads");
    expect_config_error(&e, NULL, ", \"pruned_heads\": {\"5\": [0]}", "\"pruned_heads\"",
                        "layer index");
    expect_config_error(&e, NULL, ", \"pruned_heads\": {\"0\": [2]}", "\"pruned_heads\"", NULL);
    expect_config_error(&e, NULL, ", \"ctcd_layer_intermediate\": [16]",
                        "\"ctcd_layer_intermediate\"", "1 entries for 2 layers");
    expect_config_error(&e, NULL, ", \"layer_norm_eps\": 0", "\"layer_norm_eps\"", NULL);
    expect_config_error(&e, NULL, ", \"hidden_dropout_prob\": 1.5", "\"hidden_dropout_prob\"",
                        NULL);
    expect_config_error(&e, NULL, ", \"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]"
                        "]]]]]]]]]]]]]]]]]", "nested deeper", NULL);
    expect_config_error(&e, NULL, ", oops", "not valid JSON", NULL);
    expect_config_error(&e, NULL, ", \"vocab_size\": 12", "\"vocab_size\" appears twice", NULL);
    env_free(&e);
}

Test(checkpoint_config, encoder_only_architectures_leave_the_head_to_the_caller) {
    env e;
    env_make(&e);
    const char *extras[] = {", \"architectures\": [\"BertModel\"]",
                            ", \"architectures\": [\"BertForPreTraining\"]", ""};
    for (int i = 0; i < 3; i++) {
        write_config(&e, NULL, extras[i]);
        ctcd_hf_config hf;
        ctcd_status st = ctcd_hf_config_read(e.dir, &hf);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        cr_expect_eq(hf.has_head, 0, "'%s' has no ctcd head", extras[i]);
        ctcd_hf_config_free(&hf);
    }
    /* Labels from label2id alone, in id order. */
    write_config(&e, NULL, ", \"label2id\": {\"pos\": 1, \"neg\": 0}, \"pad_token_id\": null");
    ctcd_hf_config hf;
    ctcd_status st = ctcd_hf_config_read(e.dir, &hf);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect(hf.cfg.n_labels == 2 && strcmp(hf.labels[0], "neg") == 0 &&
              strcmp(hf.labels[1], "pos") == 0, "labels from label2id");
    ctcd_hf_config_free(&hf);
    env_free(&e);
}

