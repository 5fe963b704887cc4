/* cmd_plan.c — `ctcd plan`: the capacity-gap planner (include/ctcd/plan.h).
 *   ctcd plan --student-params N [--vocab V] [--labels C] [--top K]
 *       the partner size the law recommends (2.5 x N) and the nearest BERT-style configs;
 *   ctcd plan --fit RUN_DIR... [--out DIR]
 *       the law fitted from runs: best partner per student size, a least-squares line
 *       with R², plan-fit.md and plan-fit.png in --out (default: the current directory). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/fileio.h"
#include "ctcd/plan.h"

static void usage(FILE *f) {
    fputs("usage: ctcd plan --student-params N [--vocab V] [--labels C] [--top K]\n"
          "       ctcd plan --fit RUN_DIR... [--out DIR]\n"
          "\n"
          "Choosing the partner's size by the law of capacity gap (Zhang et al. 2023, \"Towards\n"
          "the Law of Capacity Gap in Distilling Language Models\"): the best teacher is about\n"
          "2.5 x the student's parameters.\n"
          "\n"
          "  --student-params N  recommend a partner for a student of N parameters (suffixes\n"
          "                      k, M, G allowed: 14.5M) and list the nearest BERT-style\n"
          "                      configurations (heads of 64 dims, FFN = 4 x hidden)\n"
          "  --vocab V           vocabulary of those configurations (default 30522)\n"
          "  --labels C          classes of their head (default 2)\n"
          "  --top K             configurations to list (default 5)\n"
          "  --fit RUN_DIR...    fit the law from training runs (each with recipe.yaml,\n"
          "                      eval.jsonl and checkpoints): per student size the partner\n"
          "                      that gave the best student, then a least-squares line\n"
          "  --out DIR           where --fit writes plan-fit.md and plan-fit.png (default .)\n",
          f);
}

static int parse_count(const char *s, int64_t *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s) return 0;
    if (*end == 'k' || *end == 'K') v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm') v *= 1e6, end++;
    else if (*end == 'G' || *end == 'g' || *end == 'B' || *end == 'b') v *= 1e9, end++;
    if (*end || !(v >= 1 && v < 1e15)) return 0;
    *out = (int64_t)(v + 0.5);
    return 1;
}

static int recommend(int64_t student, int vocab, int labels, int top) {
    const int64_t target = ctcd_law_teacher_params(student);
    printf("student: %" PRId64 " parameters (%.2fM)\n", student, (double)student / 1e6);
    printf("law of capacity gap (Zhang et al. 2023): best partner ~ %.1f x student = %" PRId64
           " parameters (%.2fM)\n\n", CTCD_LAW_RATIO, target, (double)target / 1e6);
    ctcd_plan_candidate c[64];
    const int n = ctcd_plan_nearest(target, vocab, labels, c, top < 64 ? top : 64);
    printf("%-22s %7s %7s %6s %13s %12s %8s\n", "config", "layers", "hidden", "heads",
           "intermediate", "params", "x target");
    for (int i = 0; i < n; i++) {
        char name[64];
        printf("%-22s %7d %7d %6d %13d %12" PRId64 " %8.3f\n",
               ctcd_arch_str(&c[i].arch, name, sizeof name), c[i].arch.v[CTCD_DIM_LAYERS],
               c[i].arch.v[CTCD_DIM_HIDDEN], c[i].arch.v[CTCD_DIM_HEADS],
               c[i].arch.v[CTCD_DIM_INTER], c[i].params, c[i].ratio);
    }
    printf("\n(vocab %d, 512 positions, %d-class head; models.large: {layers, hidden, heads, "
           "intermediate} in a recipe)\n", vocab, labels);
    return 0;
}

static ctcd_status fit(const char *const *dirs, int n, const char *out) {
    ctcd_plan_fit f;
    CTCD_TRY(ctcd_plan_fit_runs(dirs, n, &f));
    char *md = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&md, &len);
    if (!m) {
        ctcd_plan_fit_free(&f);
        return CTCD_ERR(CTCD_E_NOMEM, "plan: out of memory");
    }
    fprintf(m, "# Capacity gap fitted from %d runs\n\n| run | student params | partner params "
               "| partner / student | student dev |\n| --- | ---: | ---: | ---: | ---: |\n",
            f.n_runs);
    for (int i = 0; i < f.n_runs; i++) {
        const ctcd_plan_run *r = &f.runs[i];
        fprintf(m, "| %s | %" PRId64 " | %" PRId64 " | %.2f | %.4f |\n", r->dir, r->student_params,
                r->partner_params, (double)r->partner_params / (double)r->student_params,
                r->student_score);
    }
    fprintf(m, "\nBest partner per student size:\n\n| student params | best partner params | "
               "ratio | student dev | runs |\n| ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < f.n_points; i++) {
        const ctcd_plan_point *p = &f.points[i];
        fprintf(m, "| %" PRId64 " | %" PRId64 " | %.2f | %.4f | %d |\n", p->student_params,
                p->partner_params, (double)p->partner_params / (double)p->student_params, p->score,
                p->n_runs);
    }
    if (f.fitted)
        fprintf(m, "\nLeast squares: partner = %.4f x student %+.0f (R^2 = %.4f, %d points); "
                   "the published law: partner = %.1f x student.\n",
                f.line.slope, f.line.intercept, f.line.r2, f.line.n, CTCD_LAW_RATIO);
    else
        fprintf(m, "\nOne student size only: sweep at least two to fit a line.\n");
    fclose(m);
    fputs(md, stdout);
    char path[4200];
    snprintf(path, sizeof path, "%s/plan-fit.md", out);
    ctcd_status st = ctcd_mkdirs(out);
    if (!st) st = ctcd_atomic_write_file(path, md, len);
    snprintf(path, sizeof path, "%s/plan-fit.png", out);
    if (!st) st = ctcd_plan_fit_plot(&f, path);
    if (!st) printf("\nwrote %s/plan-fit.md and %s\n", out, path);
    free(md);
    ctcd_plan_fit_free(&f);
    return st;
}

int ctcd_cmd_plan(int argc, char **argv) {
    int64_t student = 0;
    long vocab = 30522, labels = 2, top = 5;
    const char *out = ".";
    int fit_start = 0, fit_n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--student-params") && v && parse_count(v, &student)) {
            i++;
        } else if (!strcmp(a, "--vocab") && v && (vocab = strtol(v, NULL, 10)) > 0) {
            i++;
        } else if (!strcmp(a, "--labels") && v && (labels = strtol(v, NULL, 10)) > 0) {
            i++;
        } else if (!strcmp(a, "--top") && v && (top = strtol(v, NULL, 10)) > 0) {
            i++;
        } else if (!strcmp(a, "--out") && v) {
            out = v, i++;
        } else if (!strcmp(a, "--fit") && !fit_start) {
            fit_start = i + 1;
            while (i + 1 < argc && argv[i + 1][0] != '-') i++, fit_n++;
        } else {
            fprintf(stderr, "ctcd plan: bad argument '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!student == !fit_n || vocab > 1 << 24 || labels > 1 << 16) {
        fprintf(stderr, "ctcd plan: give --student-params N or --fit RUN_DIR...\n\n");
        usage(stderr);
        return 2;
    }
    if (student) return recommend(student, (int)vocab, (int)labels, (int)top);
    return ctcd_cli_fail(fit((const char *const *)argv + fit_start, fit_n, out));
}
