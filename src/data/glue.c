/* glue.c — the GLUE task table and the TSV loaders that turn a task's split into a
 * tokenised ctcd_dataset (include/ctcd/glue.h).
 *
 * Column positions and label lists are those of the Hugging Face glue processors
 * (transformers/data/processors/glue.py), so label ids agree with HF-trained heads. Unlike
 * those processors, a line that does not fit the layout is never silently misread: it is
 * either an error (strict) or skipped and reported (default). */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctcd/glue.h"
#include "ctcd/tsv.h"
#include "ctcd/utf8.h"

enum { COL_LAST = -1, COL_NONE = -2 };

/* Where a file's fields are. Column numbers are 0-based. */
typedef struct layout {
    int header;  /* 1: line 1 is a header whose column count every line must have */
    int n_cols;  /* required columns when there is no header */
    int a, b;    /* text columns (b = COL_NONE for single sentences) */
    int label;   /* label or score column, COL_LAST, or COL_NONE (test files) */
    int index;   /* index/id column, or COL_NONE (row numbers are used) */
} layout;

typedef struct task_def {
    ctcd_glue_task pub;
    layout labelled;  /* train and dev files */
    layout test;      /* test files */
} task_def;

#define DEV1 1, {"dev", NULL}, 1, {"test", NULL}
#define PAIR_IDX_LAST {1, 0, 1, 2, COL_LAST, 0}, {1, 0, 1, 2, COL_NONE, 0}

static const task_def k_tasks[] = {
    {{"cola", "CoLA", 2, 0, {"0", "1"}, CTCD_GLUE_MCC, "mcc", DEV1},
     {0, 4, 3, COL_NONE, 1, COL_NONE}, {1, 0, 1, COL_NONE, COL_NONE, 0}},
    {{"sst2", "SST-2", 2, 0, {"0", "1"}, CTCD_GLUE_ACC, "acc", DEV1},
     {1, 0, 0, COL_NONE, 1, COL_NONE}, {1, 0, 1, COL_NONE, COL_NONE, 0}},
    {{"mrpc", "MRPC", 2, 1, {"0", "1"}, CTCD_GLUE_ACC_F1, "acc+f1", DEV1},
     {1, 0, 3, 4, 0, COL_NONE}, {1, 0, 3, 4, COL_NONE, 0}},
    {{"stsb", "STS-B", 1, 1, {NULL}, CTCD_GLUE_PEARSON_SPEARMAN, "pearson+spearman", DEV1},
     {1, 0, 7, 8, COL_LAST, 0}, {1, 0, 7, 8, COL_NONE, 0}},
    {{"qqp", "QQP", 2, 1, {"0", "1"}, CTCD_GLUE_ACC_F1, "acc+f1", DEV1},
     {1, 0, 3, 4, 5, 0}, {1, 0, 1, 2, COL_NONE, 0}},
    {{"mnli", "MNLI", 3, 1, {"contradiction", "entailment", "neutral"}, CTCD_GLUE_ACC_MM,
      "acc m/mm", 2, {"dev_matched", "dev_mismatched"}, 2, {"test_matched", "test_mismatched"}},
     {1, 0, 8, 9, COL_LAST, 0}, {1, 0, 8, 9, COL_NONE, 0}},
    {{"qnli", "QNLI", 2, 1, {"entailment", "not_entailment"}, CTCD_GLUE_ACC, "acc", DEV1},
     PAIR_IDX_LAST},
    {{"rte", "RTE", 2, 1, {"entailment", "not_entailment"}, CTCD_GLUE_ACC, "acc", DEV1},
     PAIR_IDX_LAST},
    {{"wnli", "WNLI", 2, 1, {"0", "1"}, CTCD_GLUE_ACC, "acc", DEV1}, PAIR_IDX_LAST},
};
#define N_TASKS ((int)(sizeof k_tasks / sizeof k_tasks[0]))

int ctcd_glue_n_tasks(void) { return N_TASKS; }

const ctcd_glue_task *ctcd_glue_task_at(int i) {
    return (i >= 0 && i < N_TASKS) ? &k_tasks[i].pub : NULL;
}

const ctcd_glue_task *ctcd_glue_task_find(const char *name) {
    for (int i = 0; i < N_TASKS; i++)
        if (strcasecmp(name, k_tasks[i].pub.name) == 0 || strcasecmp(name, k_tasks[i].pub.dir) == 0)
            return &k_tasks[i].pub;
    return NULL;
}

ctcd_status ctcd_glue_task_get(const char *name, const ctcd_glue_task **out) {
    *out = ctcd_glue_task_find(name);
    if (*out) return CTCD_OK;
    return CTCD_ERR(CTCD_E_INVALID,
                    "unknown GLUE task '%s' (valid: cola, sst2, mrpc, stsb, qqp, mnli, qnli, "
                    "rte, wnli)",
                    name);
}

int ctcd_glue_has_split(const ctcd_glue_task *task, const char *split) {
    if (strcmp(split, "train") == 0) return 1;
    for (int i = 0; i < task->n_dev_splits; i++)
        if (strcmp(split, task->dev_splits[i]) == 0) return 1;
    for (int i = 0; i < task->n_test_splits; i++)
        if (strcmp(split, task->test_splits[i]) == 0) return 1;
    return 0;
}

/* The table entry behind a public task pointer, or NULL when it is not one of ours. */
static const task_def *def_of(const ctcd_glue_task *task) {
    for (int i = 0; i < N_TASKS; i++)
        if (task == &k_tasks[i].pub) return &k_tasks[i];
    return NULL;
}

/* ---- field parsing ---- */

/* Copies a field into a NUL-terminated buffer; 0 when it is empty or too long. */
static int field_cstr(ctcd_tsv_field f, char *buf, size_t cap) {
    if (f.len == 0 || f.len >= cap) return 0;
    memcpy(buf, f.p, f.len);
    buf[f.len] = '\0';
    return 1;
}

static int parse_i64(ctcd_tsv_field f, int64_t *out) {
    char buf[32], *end;
    if (!field_cstr(f, buf, sizeof buf) || !(isdigit((unsigned char)buf[0]) || buf[0] == '-'))
        return 0;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0') return 0;
    *out = v;
    return 1;
}

/* A plain decimal number (digits, sign, point, exponent), finite. */
static int parse_score(ctcd_tsv_field f, float *out) {
    char buf[64], *end;
    if (!field_cstr(f, buf, sizeof buf)) return 0;
    for (const char *p = buf; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p)) return 0;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v)) return 0;
    *out = (float)v;
    return 1;
}

/* Offset of the first byte that is not valid UTF-8, or SIZE_MAX. Checked here, not left to
 * the tokenizer, so that the message can name the column. */
static size_t invalid_utf8_at(ctcd_tsv_field f) {
    const uint8_t *s = (const uint8_t *)f.p;
    size_t i = 0;
    int32_t cp;
    while (i < f.len) {
        if (s[i] < 0x80) {
            i++;
        } else if (!ctcd_utf8_next(s, f.len, &i, &cp)) {
            return i;
        }
    }
    return SIZE_MAX;
}

static int find_label(const ctcd_glue_task *task, ctcd_tsv_field f) {
    for (int k = 0; k < task->n_classes; k++) {
        const char *name = task->label_names[k];
        if (strlen(name) == f.len && memcmp(name, f.p, f.len) == 0) return k;
    }
    return -1;
}

/* ---- loading ---- */

typedef struct load_ctx {
    const task_def *def;
    const layout *lay;
    const char *path;
    ctcd_tokenizer *tok;
    const ctcd_glue_options *opt;
    ctcd_glue_split *out;
    int labelled;
    int ncols;           /* columns every line must have */
    int32_t *ids;        /* [max_len] scratch */
    int32_t *types;      /* [max_len] scratch */
    int64_t cap;         /* capacity of out->index / out->line */
} load_ctx;

/* A malformed line: an error in strict mode, otherwise counted and remembered. */
static ctcd_status record_bad(load_ctx *c, int64_t line, const char *reason) {
    ctcd_glue_report *r = &c->out->report;
    if (c->opt->strict) return CTCD_ERR(CTCD_E_PARSE, "%s:%lld: %s", c->path, (long long)line, reason);
    r->skipped++;
    if (r->n_bad_lines < CTCD_GLUE_MAX_BAD_LINES) r->bad_lines[r->n_bad_lines++] = line;
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof r->first_error, "%s:%lld: %s", c->path, (long long)line,
                 reason);
    return CTCD_OK;
}

static ctcd_status push_example(load_ctx *c, const ctcd_encoding *enc, int32_t label,
                                float target, int64_t index, int64_t line) {
    ctcd_glue_split *s = c->out;
    int64_t n = s->data.n;
    if (n == c->cap) {
        int64_t nc = c->cap ? c->cap * 2 : 1024;
        int64_t *ni = realloc(s->index, (size_t)nc * sizeof *ni);
        if (ni) s->index = ni;
        int64_t *nl = ni ? realloc(s->line, (size_t)nc * sizeof *nl) : NULL;
        if (nl) s->line = nl;
        if (!ni || !nl) return CTCD_ERR(CTCD_E_NOMEM, "%s:%lld: out of memory", c->path, (long long)line);
        c->cap = nc;
    }
    CTCD_TRY(ctcd_dataset_push(&s->data, c->ids, c->types, enc->len, label, target));
    s->index[n] = index;
    s->line[n] = line;
    if (enc->removed > 0) s->report.truncated++;
    return CTCD_OK;
}

/* Parses one data line and appends its example. A malformed line leaves a reason in
 * reason[] and sets *bad; only resource errors are returned. */
static ctcd_status parse_line(load_ctx *c, const ctcd_tsv *tsv, int64_t row, char *reason,
                              size_t rcap, int *bad) {
    const layout *lay = c->lay;
    const ctcd_glue_task *task = &c->def->pub;
    const ctcd_tsv_field *f = tsv->fields;
    *bad = 1;
    if (tsv->n_fields != c->ncols) {
        snprintf(reason, rcap, "expected %d tab-separated columns, found %d", c->ncols, tsv->n_fields);
        return CTCD_OK;
    }
    int64_t index = row;
    if (lay->index != COL_NONE && !parse_i64(f[lay->index], &index)) {
        snprintf(reason, rcap, "index '%.*s' in column %d is not an integer",
                 (int)(f[lay->index].len < 40 ? f[lay->index].len : 40), f[lay->index].p,
                 lay->index + 1);
        return CTCD_OK;
    }
    int32_t label = -1;
    float target = NAN;
    if (c->labelled) {
        int lc = lay->label == COL_LAST ? c->ncols - 1 : lay->label;
        int ok = task->n_classes == 1 ? parse_score(f[lc], &target)
                                      : (label = find_label(task, f[lc])) >= 0;
        if (!ok) {
            int n = snprintf(reason, rcap, "%s '%.*s' in column %d",
                             task->n_classes == 1 ? "cannot parse score" : "unknown label",
                             (int)(f[lc].len < 40 ? f[lc].len : 40), f[lc].p, lc + 1);
            for (int k = 0; k < task->n_classes && n > 0 && (size_t)n < rcap; k++)
                n += snprintf(reason + n, rcap - (size_t)n, "%s%s", k ? ", " : " (expected one of: ",
                              task->label_names[k]);
            if (task->n_classes > 1 && n > 0 && (size_t)n < rcap) snprintf(reason + n, rcap - (size_t)n, ")");
            return CTCD_OK;
        }
    }
    const ctcd_tsv_field *b = lay->b == COL_NONE ? NULL : &f[lay->b];
    for (int k = 0; k < (b ? 2 : 1); k++) {
        int col = k ? lay->b : lay->a;
        size_t at = invalid_utf8_at(f[col]);
        if (at != SIZE_MAX) {
            snprintf(reason, rcap, "text column %d: invalid UTF-8 at byte %zu", col + 1, at);
            return CTCD_OK;
        }
    }
    ctcd_encoding enc;
    CTCD_TRY(ctcd_tokenizer_encode(c->tok, f[lay->a].p, f[lay->a].len, b ? b->p : NULL,
                                   b ? b->len : 0, c->opt->max_len, c->ids, c->types, &enc));
    *bad = 0;
    return push_example(c, &enc, label, target, index, tsv->line);
}

/* Reads the header (when the layout has one) and checks it covers every used column. */
static ctcd_status read_header(load_ctx *c, const ctcd_tsv *tsv) {
    const layout *lay = c->lay;
    int need = lay->a;
    if (lay->b > need) need = lay->b;
    if (lay->label > need) need = lay->label;
    if (lay->index > need) need = lay->index;
    need += 1 + (c->labelled && lay->label == COL_LAST); /* the label must not be a text column */
    if (tsv->n_fields < need)
        return CTCD_ERR(CTCD_E_PARSE, "%s:%lld: header has %d column%s, the %s layout needs %d",
                        c->path, (long long)tsv->line, tsv->n_fields, tsv->n_fields == 1 ? "" : "s",
                        c->def->pub.name, need);
    c->ncols = tsv->n_fields;
    return CTCD_OK;
}

/* Reads the header (if any), then every data line; empty lines are counted, malformed
 * ones go to record_bad, the rest become examples. */
static ctcd_status read_rows(load_ctx *c, ctcd_tsv *tsv) {
    ctcd_glue_report *r = &c->out->report;
    int64_t row = 0;
    char reason[384];
    c->ncols = c->lay->header ? 0 : c->lay->n_cols;
    for (;;) {
        int got;
        CTCD_TRY(ctcd_tsv_next(tsv, &got));
        if (!got) break;
        r->lines = tsv->line;
        if (c->lay->header && tsv->line == 1) {
            CTCD_TRY(read_header(c, tsv));
            continue;
        }
        if (tsv->n_fields == 0) {
            r->empty++;
            continue;
        }
        int bad;
        CTCD_TRY(parse_line(c, tsv, row++, reason, sizeof reason, &bad));
        if (bad) CTCD_TRY(record_bad(c, tsv->line, reason));
    }
    if (c->lay->header && r->lines == 0)
        return CTCD_ERR(CTCD_E_PARSE, "%s: empty file (expected a header line)", c->path);
    return CTCD_OK;
}

/* "<dir>/<file name without directory and .tsv>" */
static void dataset_name(const ctcd_glue_task *task, const char *path, char *buf, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".tsv") == 0) len -= 4;
    snprintf(buf, cap, "%s/%.*s", task->dir, (int)len, base);
}

ctcd_status ctcd_glue_load_file(const ctcd_glue_task *task, const char *path, int labelled,
                                ctcd_tokenizer *tok, const ctcd_glue_options *opt,
                                ctcd_glue_split *out) {
    memset(out, 0, sizeof *out);
    const task_def *def = def_of(task);
    if (!def) return CTCD_ERR(CTCD_E_INVALID, "%s: task is not from the GLUE task table", path);
    if (opt->max_len < 3)
        return CTCD_ERR(CTCD_E_INVALID, "%s: max_len %d is too small (at least 3)", path, opt->max_len);
    load_ctx c = {.def = def, .lay = labelled ? &def->labelled : &def->test, .path = path,
                  .tok = tok, .opt = opt, .out = out, .labelled = labelled};
    char name[64];
    dataset_name(task, path, name, sizeof name);
    CTCD_TRY(ctcd_dataset_init(&out->data, name, task->n_classes));
    out->data.special = ctcd_tokenizer_special(tok);
    out->data.vocab_size = ctcd_tokenizer_vocab_size(tok);
    out->labelled = labelled;
    c.ids = malloc((size_t)opt->max_len * sizeof *c.ids);
    c.types = malloc((size_t)opt->max_len * sizeof *c.types);
    ctcd_tsv tsv;
    ctcd_status st = (c.ids && c.types) ? CTCD_OK : CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    if (!st) st = ctcd_tsv_open(&tsv, path);
    if (!st) {
        st = read_rows(&c, &tsv);
        ctcd_tsv_close(&tsv);
    }
    free(c.ids);
    free(c.types);
    if (st) ctcd_glue_split_free(out);
    return st;
}

ctcd_status ctcd_glue_load(const ctcd_glue_task *task, const char *task_dir, const char *split,
                           ctcd_tokenizer *tok, const ctcd_glue_options *opt,
                           ctcd_glue_split *out) {
    memset(out, 0, sizeof *out);
    if (!ctcd_glue_has_split(task, split)) {
        char valid[256];
        int n = snprintf(valid, sizeof valid, "train");
        for (int i = 0; i < task->n_dev_splits; i++)
            n += snprintf(valid + n, sizeof valid - (size_t)n, ", %s", task->dev_splits[i]);
        for (int i = 0; i < task->n_test_splits; i++)
            n += snprintf(valid + n, sizeof valid - (size_t)n, ", %s", task->test_splits[i]);
        return CTCD_ERR(CTCD_E_INVALID, "GLUE task %s has no split '%s' (valid: %s)", task->name,
                        split, valid);
    }
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.tsv", task_dir, split);
    if (n < 0 || (size_t)n >= sizeof path)
        return CTCD_ERR(CTCD_E_INVALID, "%s: directory name too long", task_dir);
    return ctcd_glue_load_file(task, path, strncmp(split, "test", 4) != 0, tok, opt, out);
}

void ctcd_glue_split_free(ctcd_glue_split *s) {
    ctcd_dataset_free(&s->data);
    free(s->index);
    free(s->line);
    memset(s, 0, sizeof *s);
}

void ctcd_glue_text_columns(const ctcd_glue_task *task, int *a, int *b, int *header) {
    const task_def *def = def_of(task);
    CTCD_ASSERT(def, "task %s is not from the GLUE task table", task ? task->name : "(null)");
    *a = def->labelled.a;
    *b = def->labelled.b == COL_NONE ? -1 : def->labelled.b;
    *header = def->labelled.header;
}
