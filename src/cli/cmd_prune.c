/* cmd_prune.c — `ctcd prune CHECKPOINT_DIR --task T --sparsity S --out DIR`: head / FFN-neuron
 * importance on the task's train data, structured pruning (and layer dropping) of the
 * checkpoint, and the pruned model written as a Hugging Face checkpoint (include/ctcd/surgery.h;
 * pruned heads in config.json "pruned_heads", FFN widths in "ctcd_layer_intermediate"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/fileio.h"
#include "ctcd/glue.h"
#include "ctcd/importance.h"
#include "ctcd/log.h"
#include "ctcd/surgery.h"

static void usage(FILE *f) {
    fputs("usage: ctcd prune CHECKPOINT_DIR --task TASK --sparsity S --out DIR [options]\n"
          "\n"
          "Scores every attention head and FFN neuron of a fine-tuned model by its importance\n"
          "on the task's train data (sum over batches of |dLoss/dgate|, Michel et al. 2019),\n"
          "removes the lowest-scored share S of heads and of FFN neurons (ranked globally after\n"
          "per-layer L2 normalisation; every layer keeps >= 1 head and 1 neuron), optionally\n"
          "drops whole layers, and writes the pruned model (config.json with pruned_heads and\n"
          "ctcd_layer_intermediate, model.safetensors, vocab.txt). Prints a per-layer table.\n"
          "\n"
          "options:\n"
          "  --task TASK         builtin:demo or a GLUE task (cola sst2 mrpc stsb qqp mnli qnli\n"
          "                      rte wnli) (required)\n"
          "  --sparsity S        share of head and of FFN parameters to remove, in [0, 1)\n"
          "                      (required)\n"
          "  --out DIR           output checkpoint directory (required)\n"
          "  --drop-layers L,..  layers to remove entirely (0-based, before pruning)\n"
          "  --batches N         train batches for the importance scores (default 32; 0 = all)\n"
          "  --batch N           examples per batch (default 32)\n"
          "  --max-len N         tokens per example (default 128)\n"
          "  --norm NORM         layer (default: per-layer L2 normalised scores) or raw\n"
          "  --seed N            order of the importance batches (default 1; 0 = file order)\n"
          "  --data-dir DIR      the GLUE task directory (default: glue/<Task> under the data\n"
          "                      roots)\n"
          "  --vocab FILE        vocabulary (default: CHECKPOINT_DIR/vocab.txt, else the data\n"
          "                      roots' vocab/bert-base-uncased-vocab.txt)\n"
          "  --backend B         auto (default), cpu or cuda\n"
          "  -h, --help          this help\n",
          f);
}

typedef struct prune_args {
    const char *ckpt, *task, *out, *data_dir, *vocab, *backend, *norm, *drop;
    float sparsity;
    int max_len, batch;
    long long batches, seed;
} prune_args;

/* Returns -1 to continue, else the exit status. */
static int parse(int argc, char **argv, prune_args *a) {
    *a = (prune_args){.max_len = 128, .batch = 32, .batches = 32, .seed = 1, .backend = "auto",
                      .norm = "layer"};
    const cli_opt opts[] = {
        {.name = "--task", .kind = CLI_STR, .dst = &a->task, .required = 1},
        {.name = "--sparsity", .kind = CLI_FLOAT, .dst = &a->sparsity, .lo = 0, .hi = 1,
         .required = 1},
        {.name = "--out", .kind = CLI_STR, .dst = &a->out, .required = 1},
        CLI_OPT_STR("--data-dir", &a->data_dir),
        CLI_OPT_STR("--vocab", &a->vocab),
        CLI_OPT_STR("--backend", &a->backend),
        CLI_OPT_STR("--norm", &a->norm),
        CLI_OPT_STR("--drop-layers", &a->drop),
        CLI_OPT_NUM("--max-len", CLI_INT, &a->max_len, 8, 1 << 16),
        CLI_OPT_NUM("--batch", CLI_INT, &a->batch, 1, 1 << 16),
        CLI_OPT_NUM("--batches", CLI_I64, &a->batches, 0, 1LL << 40),
        CLI_OPT_NUM("--seed", CLI_I64, &a->seed, 0, 1LL << 62),
    };
    const cli_spec sp = {"prune", usage, opts, CLI_N(opts), "CHECKPOINT_DIR", &a->ckpt, 1};
    return cli_parse(&sp, argc, argv);
}

/* "1,3" -> spec->drop. */
static ctcd_status parse_drop(const char *s, ctcd_prune_spec *spec) {
    spec->n_drop = 0;
    if (!s || !*s) return CTCD_OK;
    const char *p = s;
    for (;;) {
        char *end;
        const long l = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || l < 0 || l >= CTCD_MAX_LAYERS ||
            spec->n_drop == CTCD_MAX_LAYERS)
            return CTCD_ERR(CTCD_E_INVALID, "--drop-layers '%s': expected comma-separated "
                            "layer indices in 0..%d", s, CTCD_MAX_LAYERS - 1);
        spec->drop[spec->n_drop++] = (int)l;
        if (!*end) return CTCD_OK;
        p = end + 1;
    }
}

/* Copies a (vocabulary) file into dir/vocab.txt atomically. */
static ctcd_status copy_vocab(const char *src, const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    return ctcd_error_wrap(ctcd_copy_file(src, path), "copying the vocabulary");
}

/* The vocabulary a GLUE task is tokenised with (and that goes beside the pruned model). */
static ctcd_status find_vocab(const prune_args *a, char *vocab, size_t cap) {
    if (a->vocab) {
        snprintf(vocab, cap, "%s", a->vocab);
        return CTCD_OK;
    }
    FILE *f = NULL;
    if ((size_t)snprintf(vocab, cap, "%s/vocab.txt", a->ckpt) < cap) f = fopen(vocab, "r");
    if (f) {
        fclose(f);
        return CTCD_OK;
    }
    vocab[0] = '\0';
    return strcmp(a->task, "builtin:demo") == 0
               ? CTCD_OK
               : ctcd_data_find("vocab/bert-base-uncased-vocab.txt", vocab, cap);
}

/* The train split the importance scores are computed on. */
static ctcd_status load_train(const prune_args *a, const char *vocab, ctcd_dataset *train) {
    memset(train, 0, sizeof *train);
    if (strcmp(a->task, "builtin:demo") == 0) {
        ctcd_demo_config dc = {.train_examples = a->batches > 0 ? a->batches * a->batch : 6000,
                               .dev_examples = 8, .seed = 1234, .max_depth = 3,
                               .max_len = a->max_len};
        ctcd_dataset dev;
        memset(&dev, 0, sizeof dev);
        ctcd_status st = ctcd_demo_generate(&dc, train, &dev);
        ctcd_dataset_free(&dev);
        return ctcd_error_wrap(st, "builtin:demo");
    }
    const ctcd_glue_task *task;
    CTCD_TRY(ctcd_glue_task_get(a->task, &task));
    char dir[4096];
    if (a->data_dir) {
        snprintf(dir, sizeof dir, "%s", a->data_dir);
    } else {
        char rel[64];
        snprintf(rel, sizeof rel, "glue/%s", task->dir);
        CTCD_TRY(ctcd_data_find(rel, dir, sizeof dir));
    }
    ctcd_tokenizer *tok = NULL;
    CTCD_TRY(ctcd_tokenizer_load(vocab, &tok));
    ctcd_glue_options go = {.max_len = a->max_len};
    ctcd_glue_split s;
    ctcd_status st = ctcd_glue_load(task, dir, "train", tok, &go, &s);
    ctcd_tokenizer_free(tok);
    if (st) return st;
    if (s.report.skipped)
        ctcd_warn("%s: skipped %lld malformed line(s); first: %s", s.data.name,
                  (long long)s.report.skipped, s.report.first_error);
    *train = s.data;
    memset(&s.data, 0, sizeof s.data);
    ctcd_glue_split_free(&s);
    return CTCD_OK;
}

static void print_table(const ctcd_model *src, const ctcd_model *dst, const ctcd_prune_plan *p) {
    const ctcd_bert_config *cs = &src->cfg, *cd = &dst->cfg;
    printf("%-6s %-6s %-9s %-13s %12s %12s\n", "layer", "source", "heads", "FFN", "params",
           "source");
    int64_t enc_s = 0, enc_d = 0;
    for (int l = 0; l < cs->n_layers; l++) enc_s += ctcd_bert_layer_params(cs, l);
    for (int l = 0; l < cd->n_layers; l++) {
        const int s = p->src_layer[l];
        char heads[32], ffn[32];
        snprintf(heads, sizeof heads, "%d/%d", cd->layer_heads[l], cs->layer_heads[s]);
        snprintf(ffn, sizeof ffn, "%d/%d", cd->layer_intermediate[l], cs->layer_intermediate[s]);
        const int64_t np = ctcd_bert_layer_params(cd, l);
        enc_d += np;
        printf("%-6d %-6d %-9s %-13s %12lld %12lld\n", l, s, heads, ffn, (long long)np,
               (long long)ctcd_bert_layer_params(cs, s));
    }
    for (int s = 0, l = 0; s < cs->n_layers; s++) {
        if (l < cd->n_layers && p->src_layer[l] == s) {
            l++;
            continue;
        }
        printf("%-6s %-6d %-9s %-13s %12d %12lld\n", "-", s, "dropped", "dropped", 0,
               (long long)ctcd_bert_layer_params(cs, s));
    }
    printf("encoder: %lld of %lld parameters kept (%.1f%%); model: %lld of %lld (%.1f%%)\n",
           (long long)enc_d, (long long)enc_s, 100.0 * (double)enc_d / (double)enc_s,
           (long long)ctcd_model_n_params(dst), (long long)ctcd_model_n_params(src),
           100.0 * (double)ctcd_model_n_params(dst) / (double)ctcd_model_n_params(src));
}

typedef struct prune_run {
    ctcd_backend *be;
    ctcd_model *m, *pm;
    ctcd_hf_config hf;
    ctcd_hf_load_report rep;
    ctcd_dataset train;
    ctcd_prune_plan plan;
    float *head, *ffn;
} prune_run;

static ctcd_status prune_and_save(const prune_args *a, prune_run *r, const char *vocab) {
    ctcd_prune_spec spec = {.sparsity = a->sparsity};
    if (strcmp(a->norm, "layer") == 0) spec.norm = CTCD_SCORE_LAYER_L2;
    else if (strcmp(a->norm, "raw") == 0) spec.norm = CTCD_SCORE_RAW;
    else return CTCD_ERR(CTCD_E_INVALID, "--norm must be layer or raw (got '%s')", a->norm);
    CTCD_TRY(parse_drop(a->drop, &spec));
    ctcd_model *m = r->m;
    r->head = malloc((size_t)m->n_head_units * sizeof *r->head);
    r->ffn = malloc((size_t)m->n_ffn_units * sizeof *r->ffn);
    if (!r->head || !r->ffn) return CTCD_ERR(CTCD_E_NOMEM, "out of memory for scores");
    ctcd_importance_opts io = {.batch = a->batch, .max_len = a->max_len,
                               .max_batches = a->batches, .seed = (uint64_t)a->seed};
    CTCD_TRY(ctcd_model_importance(m, &r->train, &io, r->head, r->ffn));
    CTCD_TRY(ctcd_prune_plan_make(&m->cfg, r->head, r->ffn, &spec, &r->plan));
    CTCD_TRY(ctcd_model_prune(m, &r->plan, "pruned", &r->pm));
    print_table(m, r->pm, &r->plan);
    ctcd_hf_save_opts so = {.dtype = CTCD_F32,
                            .labels = r->hf.cfg.n_labels == m->cfg.n_labels
                                          ? (const char *const *)r->hf.labels
                                          : NULL};
    CTCD_TRY(ctcd_model_save_hf(r->pm, a->out, &so));
    if (vocab[0]) CTCD_TRY(copy_vocab(vocab, a->out));
    printf("wrote %s\n", a->out);
    return CTCD_OK;
}

static ctcd_status run(const prune_args *a) {
    const int demo = strcmp(a->task, "builtin:demo") == 0;
    const ctcd_glue_task *task = NULL;
    if (!demo) CTCD_TRY(ctcd_glue_task_get(a->task, &task));
    CTCD_TRY(ctcd_hf_checkpoint_check(a->ckpt)); /* before any data is looked for */
    char vocab[4096];
    CTCD_TRY(find_vocab(a, vocab, sizeof vocab));
    prune_run r;
    memset(&r, 0, sizeof r);
    ctcd_status st = ctcd_backend_create(a->backend, &r.be);
    ctcd_hf_open_opts o = {.name = "model", .B_max = a->batch, .T_max = (a->max_len + 7) / 8 * 8,
                           .head = CTCD_HEAD_CLASSIFY, .n_labels = demo ? 2 : task->n_classes};
    if (!st) st = ctcd_model_open_hf(r.be, a->ckpt, &o, &r.m, &r.hf, &r.rep);
    if (!st && r.rep.n_fresh)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has no trained task head (%s missing): fine-tune it "
                      "first (ctcd train)", a->ckpt, r.rep.fresh[0]);
    if (!st) st = load_train(a, vocab, &r.train);
    if (!st) st = prune_and_save(a, &r, vocab);
    free(r.head);
    free(r.ffn);
    ctcd_prune_plan_free(&r.plan);
    ctcd_dataset_free(&r.train);
    ctcd_model_destroy(r.pm);
    ctcd_model_destroy(r.m);
    ctcd_hf_load_report_free(&r.rep);
    ctcd_hf_config_free(&r.hf);
    if (r.be) ctcd_backend_destroy(r.be);
    return st;
}

int ctcd_cmd_prune(int argc, char **argv) {
    prune_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    return ctcd_cli_fail(run(&a));
}
