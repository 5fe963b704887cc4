/* tokenize_bench.c — throughput of the GLUE loader + WordPiece tokenizer, and a dump of
 * ctcd's token ids for comparison with Hugging Face (scripts/check_tokenizer_hf.py).
 *
 *   tokenize_bench [--task NAME] [--max-len N] [--repeat N] [--vocab PATH] [--dump] [FILE]
 *
 * FILE defaults to glue/SST-2/train.tsv under the data roots (ctcd_data_find: $CTCD_DATA_DIR,
 * ./data, ../shared/data and its parents' equivalents, so it works from build/benchmarks). The task is taken from the name of
 * FILE's directory unless --task says otherwise; files named test* are read unlabelled.
 *
 * Timing: the file is loaded (read, split, tokenised, stored) --repeat times; pairs/s and
 * tokens/s are per load, tokens counted after truncation with [CLS]/[SEP].
 *
 * --dump prints, instead of timings, one line per example: the 1-based line number in the
 * TSV, a tab, the token ids, a tab, the token type ids (ids separated by spaces). The HF
 * script prints the same format, so `diff` compares the two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/glue.h"
#include "ctcd/log.h"
#include "ctcd/tokenizer.h"

typedef struct bench_args {
    const char *task, *vocab, *file;
    int max_len, repeat, dump;
} bench_args;

static int usage(void) {
    fprintf(stderr, "usage: tokenize_bench [--task NAME] [--max-len N] [--repeat N] "
                    "[--vocab PATH] [--dump] [FILE]\n");
    return 2;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    *a = (bench_args){.max_len = 128, .repeat = 3};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(s, "--dump") == 0) {
            a->dump = 1;
        } else if (strcmp(s, "--task") == 0 && has_val) {
            a->task = argv[++i];
        } else if (strcmp(s, "--vocab") == 0 && has_val) {
            a->vocab = argv[++i];
        } else if (strcmp(s, "--max-len") == 0 && has_val) {
            a->max_len = atoi(argv[++i]);
        } else if (strcmp(s, "--repeat") == 0 && has_val) {
            a->repeat = atoi(argv[++i]);
        } else if (s[0] != '-' && !a->file) {
            a->file = s;
        } else {
            return 0;
        }
    }
    return a->repeat > 0;
}

/* Task from --task, else from the directory holding the file ("…/SST-2/train.tsv"). */
static const ctcd_glue_task *pick_task(const bench_args *a) {
    if (a->task) return ctcd_glue_task_find(a->task);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", a->file);
    char *slash = strrchr(dir, '/');
    if (!slash) return NULL;
    *slash = '\0';
    const char *base = strrchr(dir, '/');
    return ctcd_glue_task_find(base ? base + 1 : dir);
}

static void dump(const ctcd_glue_split *s) {
    const ctcd_dataset *d = &s->data;
    for (int64_t i = 0; i < d->n; i++) {
        printf("%lld\t", (long long)s->line[i]);
        for (int64_t k = d->offsets[i]; k < d->offsets[i + 1]; k++)
            printf(k > d->offsets[i] ? " %d" : "%d", d->tokens[k]);
        putchar('\t');
        for (int64_t k = d->offsets[i]; k < d->offsets[i + 1]; k++)
            printf(k > d->offsets[i] ? " %d" : "%d", d->types[k]);
        putchar('\n');
    }
}

static int run(const bench_args *a, const ctcd_glue_task *task, ctcd_tokenizer *tok) {
    const char *base = strrchr(a->file, '/');
    int labelled = strncmp(base ? base + 1 : a->file, "test", 4) != 0;
    ctcd_glue_options opt = {.max_len = a->max_len, .strict = 0};
    double best = 1e30;
    ctcd_glue_split split;
    for (int r = 0; r < (a->dump ? 1 : a->repeat); r++) {
        double t0 = ctcd_now();
        ctcd_status st = ctcd_glue_load_file(task, a->file, labelled, tok, &opt, &split);
        double dt = ctcd_now() - t0;
        if (st) {
            fprintf(stderr, "tokenize_bench: %s\n", ctcd_status_message(st));
            ctcd_status_free(st);
            return 1;
        }
        if (dt < best) best = dt;
        if (r + 1 < (a->dump ? 1 : a->repeat)) ctcd_glue_split_free(&split);
    }
    const ctcd_glue_report *rep = &split.report;
    if (a->dump) {
        dump(&split);
    } else {
        int64_t n = split.data.n, ntok = split.data.offsets[n];
        printf("%s: %lld examples, %lld tokens (max_len %d, %lld truncated, %lld skipped)\n",
               a->file, (long long)n, (long long)ntok, a->max_len, (long long)rep->truncated,
               (long long)rep->skipped);
        printf("best of %d loads: %.3f s  %.0f pairs/s  %.0f tokens/s\n", a->repeat, best,
               (double)n / best, (double)ntok / best);
        const char *fname = base ? base + 1 : a->file;
        printf("{\"bench\":\"tokenize\",\"task\":\"%s\",\"file\":\"%s\",\"examples\":%lld,"
               "\"tokens\":%lld,\"max_len\":%d,\"repeat\":%d,\"best_seconds\":%.4f,"
               "\"pairs_per_s\":%.0f,\"tokens_per_s\":%.0f}\n",
               task->name, fname, (long long)n, (long long)ntok, a->max_len, a->repeat, best,
               (double)n / best, (double)ntok / best);
    }
    if (rep->skipped) fprintf(stderr, "tokenize_bench: skipped %lld malformed lines, first: %s\n",
                              (long long)rep->skipped, rep->first_error);
    ctcd_glue_split_free(&split);
    return 0;
}

int main(int argc, char **argv) {
    bench_args a;
    if (!parse_args(argc, argv, &a)) return usage();
    char file[2048], vocab[2048];
    const char *need[2][3] = {{a.file, "glue/SST-2/train.tsv", file},
                              {a.vocab, "vocab/bert-base-uncased-vocab.txt", vocab}};
    for (int k = 0; k < 2; k++) {
        if (need[k][0]) continue;
        ctcd_status st = ctcd_data_find(need[k][1], (char *)need[k][2], sizeof file);
        if (st) {
            fprintf(stderr, "tokenize_bench: %s; give FILE and --vocab\n", ctcd_status_message(st));
            ctcd_status_free(st);
            return 2;
        }
    }
    if (!a.file) a.file = file;
    if (!a.vocab) a.vocab = vocab;
    const ctcd_glue_task *task = pick_task(&a);
    if (!task) {
        fprintf(stderr, "tokenize_bench: cannot tell the GLUE task of %s; use --task\n", a.file);
        return 2;
    }
    ctcd_tokenizer *tok;
    ctcd_status st = ctcd_tokenizer_load(a.vocab, &tok);
    if (st) {
        fprintf(stderr, "tokenize_bench: %s\n", ctcd_status_message(st));
        ctcd_status_free(st);
        return 1;
    }
    int rc = run(&a, task, tok);
    ctcd_tokenizer_free(tok);
    return rc;
}
