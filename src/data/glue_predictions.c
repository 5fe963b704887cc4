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

ctcd_status ctcd_glue_write_submission(const ctcd_glue_task *task, const ctcd_glue_split *s,
                                       const float *logits, const char *path) {
    ctcd_text_file t;
    CTCD_TRY(ctcd_text_open(&t, path));
    FILE *f = t.f;
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
    return ctcd_text_publish(&t, path);
}

ctcd_status ctcd_write_logits_tsv(const char *path, const float *logits, int64_t n, int C) {
    ctcd_text_file t;
    CTCD_TRY(ctcd_text_open(&t, path));
    FILE *f = t.f;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            fprintf(f, "%.9g%c", (double)logits[i * C + c], c + 1 < C ? '\t' : '\n');
    return ctcd_text_publish(&t, path);
}
