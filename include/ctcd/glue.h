/* glue.h — the GLUE tasks and their TSV loaders.
 *
 * Files follow the standard glue_data layout, <task_dir>/<split>.tsv with task_dir one of
 * CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI, and are read as the Hugging Face glue
 * processors read them (same columns, same label lists, so label ids agree with HF):
 *
 *   task  columns (train/dev)                               labels
 *   cola  no header; source, label, orig-label, sentence      0 1
 *   sst2  sentence, label                                     0 1
 *   mrpc  Quality, #1 ID, #2 ID, #1 String, #2 String         0 1
 *   stsb  index ... sentence1 (8th), sentence2 (9th), score   regression (float target)
 *   qqp   id, qid1, qid2, question1, question2, is_duplicate  0 1
 *   mnli  index ... sentence1 (9th), sentence2 (10th) ... gold_label (last)
 *                                               contradiction entailment neutral
 *   qnli  index, question, sentence, label                    entailment not_entailment
 *   rte   index, sentence1, sentence2, label                  entailment not_entailment
 *   wnli  index, sentence1, sentence2, label                  0 1
 *
 * test*.tsv files have a header, an index/id first column and no label: their examples get
 * label -1 (classification) or a NaN target (regression), and the index column is kept
 * (ctcd_glue_split.index) so that submission files can be written.
 *
 * Every line must have as many tab-separated columns as the header (CoLA train/dev, which
 * have no header: 4). A line that does not, or whose label is not in the task's list, or
 * whose score or index does not parse, or whose text is not valid UTF-8, is malformed:
 * strict mode fails with "path:line: reason" on the first one; the default mode skips it
 * and counts it in the report (with the first few line numbers). Empty lines are ignored
 * and counted separately. */
#ifndef CTCD_GLUE_H
#define CTCD_GLUE_H

#include <stdint.h>

#include "ctcd/data.h"
#include "ctcd/metrics.h"
#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctcd_glue_metric {
    CTCD_GLUE_MCC = 0,          /* Matthews correlation (CoLA) */
    CTCD_GLUE_ACC,              /* accuracy (SST-2, QNLI, RTE, WNLI) */
    CTCD_GLUE_ACC_F1,           /* accuracy and F1 of class 1 (MRPC, QQP) */
    CTCD_GLUE_PEARSON_SPEARMAN, /* Pearson and Spearman correlation (STS-B) */
    CTCD_GLUE_ACC_MM            /* accuracy on dev_matched and dev_mismatched (MNLI) */
} ctcd_glue_metric;

#define CTCD_GLUE_MAX_LABELS 3
#define CTCD_GLUE_MAX_SPLITS 2

typedef struct ctcd_glue_task {
    const char *name;          /* "cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli" */
    const char *dir;           /* "CoLA", "SST-2", ... (the glue_data directory name) */
    int n_classes;             /* 1 = regression */
    int is_pair;               /* 1 when examples are sentence pairs */
    const char *label_names[CTCD_GLUE_MAX_LABELS]; /* label id -> the label text in the TSV */
    ctcd_glue_metric metric;
    const char *metric_name;   /* "mcc", "acc", "acc+f1", "pearson+spearman", "acc m/mm" */
    int n_dev_splits;
    const char *dev_splits[CTCD_GLUE_MAX_SPLITS];  /* "dev" or "dev_matched", "dev_mismatched" */
    int n_test_splits;
    const char *test_splits[CTCD_GLUE_MAX_SPLITS]; /* "test" or "test_matched", "test_mismatched" */
} ctcd_glue_task;

/* The task table, in GLUE order. */
int ctcd_glue_n_tasks(void);
const ctcd_glue_task *ctcd_glue_task_at(int i);
/* Task by name (case-insensitive, also by directory name: "SST-2" finds sst2); NULL when
 * unknown. */
const ctcd_glue_task *ctcd_glue_task_find(const char *name);
/* Like ctcd_glue_task_find, but an unknown name is an error listing the valid ones. */
ctcd_status ctcd_glue_task_get(const char *name, const ctcd_glue_task **out);
/* 1 when split is "train" or one of the task's dev/test splits. */
int ctcd_glue_has_split(const ctcd_glue_task *task, const char *split);

typedef struct ctcd_glue_options {
    int max_len;   /* tokens per example, [CLS]/[SEP] included; >= 3 */
    int strict;    /* 1: the first malformed line is an error; 0: skip and count */
} ctcd_glue_options;

#define CTCD_GLUE_MAX_BAD_LINES 8

/* What a load saw, beyond the examples themselves. */
typedef struct ctcd_glue_report {
    int64_t lines;          /* lines read, header and empty lines included */
    int64_t skipped;        /* malformed lines skipped (lenient mode) */
    int64_t empty;          /* empty lines ignored */
    int64_t truncated;      /* examples shortened to max_len */
    int n_bad_lines;        /* entries used in bad_lines */
    int64_t bad_lines[CTCD_GLUE_MAX_BAD_LINES]; /* 1-based numbers of the first skipped lines */
    char first_error[512];  /* "path:line: reason" of the first skipped line, "" if none */
} ctcd_glue_report;

typedef struct ctcd_glue_split {
    ctcd_dataset data;   /* tokenised examples (name "<dir>/<split>"), special ids and
                            vocab_size from the tokenizer */
    int64_t *index;      /* [data.n] the file's index/id column; for files without one
                            (CoLA, SST-2, MRPC train/dev) the 0-based data row number */
    int64_t *line;       /* [data.n] 1-based line of each example in the file */
    int labelled;        /* 0 for test files: labels are -1 / targets NaN */
    ctcd_glue_report report;
} ctcd_glue_split;

/* Loads <task_dir>/<split>.tsv. split must be one ctcd_glue_has_split accepts; names
 * starting with "test" are read as unlabelled. On error *out is left empty (freed). */
ctcd_status ctcd_glue_load(const ctcd_glue_task *task, const char *task_dir, const char *split,
                           ctcd_tokenizer *tok, const ctcd_glue_options *opt,
                           ctcd_glue_split *out);
/* Loads one file with the task's layout; labelled selects the train/dev layout (1) or
 * the test layout (0). The dataset is named "<dir>/<file name without .tsv>". */
ctcd_status ctcd_glue_load_file(const ctcd_glue_task *task, const char *path, int labelled,
                                ctcd_tokenizer *tok, const ctcd_glue_options *opt,
                                ctcd_glue_split *out);
void ctcd_glue_split_free(ctcd_glue_split *s);
/* Where the text of a task's train/dev files is, for tools that rewrite those files (data
 * augmentation): 0-based columns of the first and second text (*b = -1 for single-sentence
 * tasks), and whether line 1 is a header. */
void ctcd_glue_text_columns(const ctcd_glue_task *task, int *a, int *b, int *header);

/* The metrics of a task kind from one model's predictions on each dev split (MNLI: matched
 * then mismatched; every other kind reads split 0 only). logits[s] holds (gold[s]->n, C)
 * values in the dataset's order; C == 1 is regression (targets), else argmax vs labels.
 *   MCC -> mcc    ACC -> acc    ACC_F1 -> acc, f1    PEARSON_SPEARMAN -> pearson, spearman
 *   ACC_MM -> acc_m, acc_mm
 * score = mean of the values (MRPC/QQP: (acc + f1)/2, STS-B: (pearson + spearman)/2, MNLI:
 * (m + mm)/2). */
ctcd_status ctcd_glue_metrics(ctcd_glue_metric kind, int n_splits, const float *const *logits,
                              const ctcd_dataset *const *gold, int C, ctcd_metric_set *out);
/* Leaderboard file name of a split's predictions: "<Dir>.tsv", and for MNLI "MNLI-m.tsv" /
 * "MNLI-mm.tsv" (matched / mismatched). */
void ctcd_glue_submission_name(const ctcd_glue_task *task, const char *split, char *buf,
                               size_t cap);
/* GLUE submission file: a header "index\tprediction", then one row per example in file
 * order with the file's index and the predicted label string as the task's TSV spells it
 * (argmax of logits (n, C)), or the predicted score for STS-B. Written atomically. */
ctcd_status ctcd_glue_write_submission(const ctcd_glue_task *task, const ctcd_glue_split *s,
                                       const float *logits, const char *path);
/* Raw logits, one tab-separated row of C values per example (%.9g: float round trip). */
ctcd_status ctcd_write_logits_tsv(const char *path, const float *logits, int64_t n, int C);

/* The GLUE score: the unweighted mean of the task scores given (each a ctcd_metric_set
 * score, i.e. already averaged over the task's metrics). */
double ctcd_glue_score(const double *task_scores, int n_tasks);

#ifdef __cplusplus
}
#endif
#endif
