/* glue_predictions.c — writing predictions: GLUE leaderboard submission files and raw
 * logits (include/ctcd/glue.h). Both are written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "ctcd/glue.h"

void ctcd_glue_submission_name(const ctcd_glue_task *task, const char *split, char *buf,
                               size_t cap) {
    const char *suffix = "";
    if (strcmp(split, "test_matched") == 0 || strcmp(split, "dev_matched") == 0)
        suffix = "-m";
    else if (strcmp(split, "test_mismatched") == 0 || strcmp(split, "dev_mismatched") == 0)
        suffix = "-mm";
    snprintf(buf, cap, "%s%s.tsv", task->dir, suffix);
}

/* Writes the text accumulated in a memstream to path atomically. */
static ctcd_status publish(FILE *f, char **text, size_t *len, const char *path) {
    if (fclose(f) != 0) {
        free(*text);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    }
    ctcd_status st = ctcd_atomic_write_file(path, *text, *len);
    free(*text);
    return st;
}

ctcd_status ctcd_glue_write_submission(const ctcd_glue_task *task, const ctcd_glue_split *s,
                                       const float *logits, const char *path) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    const int C = task->n_classes;
    int32_t pred = 0;
    fputs("index\tprediction\n", f);
    for (int64_t i = 0; i < s->data.n; i++) {
        const float *z = logits + i * C;
        if (C == 1) {
            fprintf(f, "%lld\t%.6f\n", (long long)s->index[i], (double)z[0]);
            continue;
        }
        ctcd_argmax_rows(z, 1, C, &pred);
        fprintf(f, "%lld\t%s\n", (long long)s->index[i], task->label_names[pred]);
    }
    return publish(f, &text, &len, path);
}

ctcd_status ctcd_write_logits_tsv(const char *path, const float *logits, int64_t n, int C) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            fprintf(f, "%.9g%c", (double)logits[i * C + c], c + 1 < C ? '\t' : '\n');
    return publish(f, &text, &len, path);
}
