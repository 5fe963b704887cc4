/* cmd_predict.c — `ctcd predict CHECKPOINT_DIR --task T [--split S] ...`: runs a fine-tuned
 * checkpoint (HF layout) over one GLUE split, prints its metrics when the split is
 * labelled, and writes raw logits (--logits) and/or the GLUE leaderboard submission file
 * (test splits, or --submit DIR). Task cqa (CommonsenseQA, a multiple-choice checkpoint):
 * the split's accuracy, and --logits (K per example). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/glue.h"
#include "ctcd/log.h"
#include "ctcd/rationale_data.h"
#include "ctcd/train.h"

static void usage(FILE *f) {
    fputs("usage: ctcd predict CHECKPOINT_DIR --task TASK [options]\n"
          "\n"
          "Runs a fine-tuned model (config.json + model.safetensors, e.g. runs/x/small/best)\n"
          "on one split of a GLUE task. Labelled splits print the task metrics; test splits\n"
          "write the leaderboard file (<Task>.tsv, MNLI-m.tsv, MNLI-mm.tsv).\n"
          "\n"
          "options:\n"
          "  --task TASK       cola sst2 mrpc stsb qqp mnli qnli rte wnli, or cqa (a\n"
          "                    BertForMultipleChoice checkpoint; prints the accuracy) (required)\n"
          "  --split SPLIT     dev (default; MNLI: dev_matched), dev_mismatched, test,\n"
          "                    test_matched, test_mismatched; cqa: test (default) or train\n"
          "  --data-dir DIR    the task directory (default: glue/<Task> under $CTCD_DATA_DIR,\n"
          "                    ./data or ../shared/data; cqa: rationales/distilling-step-by-\n"
          "                    step/cqa)\n"
          "  --vocab FILE      vocabulary (default: CHECKPOINT_DIR/vocab.txt, else the data\n"
          "                    roots' vocab/bert-base-uncased-vocab.txt)\n"
          "  --logits FILE     write raw logits, one tab-separated row per example, file order\n"
          "  --submit DIR      write the submission file into DIR (default for test splits: .)\n"
          "  --max-len N       tokens per example (default 128)\n"
          "  --batch N         examples per forward (default 64)\n"
          "  --backend B       auto (default), cpu or cuda\n"
          "  -h, --help        this help\n",
          f);
}

typedef struct pred_args {
    const char *ckpt, *task, *split, *data_dir, *vocab, *logits, *submit, *backend;
    int max_len, batch;
} pred_args;

/* Returns -1 to continue, else the exit status. */
static int parse(int argc, char **argv, pred_args *a) {
    *a = (pred_args){.max_len = 128, .batch = 64, .backend = "auto"};
    const cli_opt opts[] = {
        {.name = "--task", .kind = CLI_STR, .dst = &a->task, .required = 1},
        CLI_OPT_STR("--split", &a->split),
        CLI_OPT_STR("--data-dir", &a->data_dir),
        CLI_OPT_STR("--vocab", &a->vocab),
        CLI_OPT_STR("--logits", &a->logits),
        CLI_OPT_STR("--submit", &a->submit),
        CLI_OPT_STR("--backend", &a->backend),
        CLI_OPT_NUM("--max-len", CLI_INT, &a->max_len, 8, 1 << 20),
        CLI_OPT_NUM("--batch", CLI_INT, &a->batch, 1, 1 << 20),
    };
    const cli_spec sp = {"predict", usage, opts, CLI_N(opts), "CHECKPOINT_DIR", &a->ckpt, 1};
    return cli_parse(&sp, argc, argv);
}

/* Resolves the vocabulary and the task directory (rel under the data roots by default). */
static ctcd_status find_inputs(const pred_args *a, const char *rel, char *vocab, char *dir,
                               size_t cap) {
    if (a->vocab) {
        snprintf(vocab, cap, "%s", a->vocab);
    } else {
        FILE *f = NULL;
        if ((size_t)snprintf(vocab, cap, "%s/vocab.txt", a->ckpt) < cap) f = fopen(vocab, "r");
        if (f) fclose(f);
        else CTCD_TRY(ctcd_data_find("vocab/bert-base-uncased-vocab.txt", vocab, cap));
    }
    if (a->data_dir) {
        snprintf(dir, cap, "%s", a->data_dir);
        return CTCD_OK;
    }
    return ctcd_data_find(rel, dir, cap);
}

/* Prints the metrics of a labelled split (one split: MNLI is scored per split here). */
static ctcd_status print_metrics(const ctcd_glue_task *task, const ctcd_glue_split *s,
                                 const float *logits) {
    const ctcd_glue_metric kind = task->metric == CTCD_GLUE_ACC_MM ? CTCD_GLUE_ACC : task->metric;
    const float *lg[1] = {logits};
    const ctcd_dataset *gd[1] = {&s->data};
    ctcd_metric_set m;
    CTCD_TRY(ctcd_glue_metrics(kind, 1, lg, gd, task->n_classes, &m));
    printf("%s (%lld examples):", s->data.name, (long long)s->data.n);
    for (int k = 0; k < m.n; k++) printf(" %s %.4f", m.names[k], m.values[k]);
    printf("\n");
    return CTCD_OK;
}

/* Task cqa: a BertForMultipleChoice checkpoint over a CQA split: accuracy, --logits. */
static ctcd_status run_cqa(const pred_args *a) {
    char vocab[4096], dir[4096];
    CTCD_TRY(find_inputs(a, "rationales/distilling-step-by-step/cqa", vocab, dir, sizeof vocab));
    ctcd_backend *be = NULL;
    ctcd_tokenizer *tok = NULL;
    ctcd_model *m = NULL;
    ctcd_dataset d;
    ctcd_rationale_set rats;
    ctcd_cqa_report cr;
    memset(&d, 0, sizeof d);
    memset(&rats, 0, sizeof rats);
    float *logits = NULL;
    ctcd_hf_load_report rep;
    memset(&rep, 0, sizeof rep);
    ctcd_status st = ctcd_backend_create(a->backend, &be);
    if (!st) st = ctcd_tokenizer_load(vocab, &tok);
    if (!st)
        st = ctcd_cqa_load(dir, a->split ? a->split : "test", CTCD_RATIONALE_HUMAN, tok,
                           a->max_len, 0, &d, &rats, &cr);
    const int K = ctcd_dataset_seqs(&d);
    ctcd_hf_open_opts o = {.name = "model", .B_max = a->batch * K,
                           .T_max = (a->max_len + 7) / 8 * 8, .seed = 0,
                           .head = CTCD_HEAD_CLASSIFY, .multiple_choice = 1};
    if (!st) st = ctcd_model_open_hf(be, a->ckpt, &o, &m, NULL, &rep);
    if (!st && rep.n_fresh)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has no trained multiple-choice head (%s missing): "
                      "fine-tune it first (ctcd train, task cqa)", a->ckpt, rep.fresh[0]);
    if (!st && !(logits = malloc((size_t)d.n * K * sizeof *logits)))
        st = CTCD_ERR(CTCD_E_NOMEM, "out of memory for %lld logits", (long long)d.n);
    if (!st) st = ctcd_model_predict(m, &d, a->batch, a->max_len, logits);
    ctcd_metric_set ms;
    const float *lg[1] = {logits};
    const ctcd_dataset *gd[1] = {&d};
    if (!st) st = ctcd_glue_metrics(CTCD_GLUE_ACC, 1, lg, gd, K, &ms);
    if (!st) printf("%s (%lld examples, %d choices): acc %.4f\n", d.name, (long long)d.n, K,
                    ms.values[0]);
    if (!st && a->logits) st = ctcd_write_logits_tsv(a->logits, logits, d.n, K);
    free(logits);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&rats);
    ctcd_tokenizer_free(tok);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(m);
    ctcd_backend_destroy(be);
    return st;
}

static ctcd_status run(const pred_args *a) {
    /* the argument the user typed is checked before any data is looked for */
    CTCD_TRY(ctcd_hf_checkpoint_check(a->ckpt));
    if (strcmp(a->task, "cqa") == 0) return run_cqa(a);
    const ctcd_glue_task *task;
    CTCD_TRY(ctcd_glue_task_get(a->task, &task));
    const char *split = a->split ? a->split : task->dev_splits[0];
    if (!ctcd_glue_has_split(task, split))
        return CTCD_ERR(CTCD_E_INVALID, "task %s has no split '%s'", task->name, split);
    const int is_test = strncmp(split, "test", 4) == 0;
    char vocab[4096], dir[4096], rel[64];
    snprintf(rel, sizeof rel, "glue/%s", task->dir);
    CTCD_TRY(find_inputs(a, rel, vocab, dir, sizeof vocab));

    ctcd_backend *be = NULL;
    ctcd_tokenizer *tok = NULL;
    ctcd_model *m = NULL;
    ctcd_glue_split s;
    memset(&s, 0, sizeof s);
    float *logits = NULL;
    ctcd_hf_load_report rep;
    memset(&rep, 0, sizeof rep);
    ctcd_status st = ctcd_backend_create(a->backend, &be);
    ctcd_hf_open_opts o = {.name = "model", .B_max = a->batch, .T_max = (a->max_len + 7) / 8 * 8,
                           .seed = 0, .head = CTCD_HEAD_CLASSIFY, .n_labels = task->n_classes};
    if (!st) st = ctcd_model_open_hf(be, a->ckpt, &o, &m, NULL, &rep);
    if (!st && rep.n_fresh)
        st = CTCD_ERR(CTCD_E_INVALID,
                      "%s has no trained %s head (%s missing): fine-tune it first (ctcd train)",
                      a->ckpt, task->n_classes == 1 ? "regression" : "classification",
                      rep.fresh[0]);
    if (!st) st = ctcd_tokenizer_load(vocab, &tok);
    /* A submission must cover every row: test files are read strictly. */
    ctcd_glue_options go = {.max_len = a->max_len, .strict = is_test};
    if (!st) st = ctcd_glue_load(task, dir, split, tok, &go, &s);
    if (!st && s.report.skipped)
        ctcd_warn("%s: skipped %lld malformed line(s); first: %s", s.data.name,
                  (long long)s.report.skipped, s.report.first_error);
    if (!st && ctcd_tokenizer_vocab_size(tok) > m->cfg.vocab_size)
        st = CTCD_ERR(CTCD_E_INVALID, "vocabulary %s (%d entries) is larger than the model's (%d)",
                      vocab, ctcd_tokenizer_vocab_size(tok), m->cfg.vocab_size);
    if (!st) {
        logits = malloc((size_t)(s.data.n ? s.data.n : 1) * task->n_classes * sizeof *logits);
        if (!logits) st = CTCD_ERR(CTCD_E_NOMEM, "out of memory for %lld logits", (long long)s.data.n);
    }
    if (!st) st = ctcd_model_predict(m, &s.data, a->batch, a->max_len, logits);
    if (!st && s.labelled) st = print_metrics(task, &s, logits);
    if (!st && a->logits) st = ctcd_write_logits_tsv(a->logits, logits, s.data.n, task->n_classes);
    if (!st && (is_test || a->submit)) {
        char name[64], path[4200];
        ctcd_glue_submission_name(task, split, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", a->submit ? a->submit : ".", name);
        st = ctcd_glue_write_submission(task, &s, logits, path);
        if (!st) printf("wrote %s (%lld predictions)\n", path, (long long)s.data.n);
    }
    free(logits);
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(m);
    ctcd_backend_destroy(be);
    return st;
}

int ctcd_cmd_predict(int argc, char **argv) {
    pred_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    return ctcd_cli_fail(run(&a));
}
