/* final.c — the final stage of `ctcd search` (include/ctcd/search.h, search.final.*): the
 * winner and a hand-made student of about the same measured latency, each distilled from the
 * teacher on the full training set at several seeds, so that the comparison carries a mean
 * and a spread rather than one draw.
 *
 * The hand-made student is the one of search.final.handmade (or models.small) whose measured
 * latency is nearest the winner's; its latency, the winner's and the teacher's come from the
 * search's latency cache (same backend, B and T). Every run writes into dir/final/<model>-
 * <arch>-s<seed>; a rerun of the stage retrains them all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "ctcd/run.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/recipe.h"
#include "ctcd/search.h"

#define MAX_HANDMADE 16

typedef struct final_row {
    const char *model;      /* "searched" | "hand-made" */
    ctcd_arch arch;
    double latency_ms;
    double score[64];
    int n;
} final_row;

/* The hand-made candidates: search.final.handmade, else models.small. */
static ctcd_status handmade_list(const ctcd_recipe *rc, ctcd_arch *a, int *n) {
    *n = 0;
    if (!rc->search.final_handmade[0]) {
        const ctcd_model_recipe *m = &rc->models[CTCD_SMALL];
        char text[96];
        snprintf(text, sizeof text, "L%d-H%d-A%d-I%d", m->layers, m->hidden, m->heads,
                 m->intermediate ? m->intermediate : 4 * m->hidden);
        *n = 1;
        return ctcd_arch_parse(text, "models.small", &a[0]);
    }
    char buf[sizeof rc->search.final_handmade];
    snprintf(buf, sizeof buf, "%s", rc->search.final_handmade);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_HANDMADE)
            return CTCD_ERR(CTCD_E_INVALID, "search.final.handmade: more than %d architectures",
                            MAX_HANDMADE);
        CTCD_TRY(ctcd_arch_parse(t, "search.final.handmade", &a[(*n)++]));
    }
    if (!*n) return CTCD_ERR(CTCD_E_INVALID, "search.final.handmade: no architecture");
    return CTCD_OK;
}

/* v as a JSON number, or null when it is not finite (a latency or score not measured). */
static const char *json_num(char *buf, size_t cap, double v) {
    if (!isfinite(v)) return "null";
    snprintf(buf, cap, "%.6g", v);
    return buf;
}

static ctcd_status train_row(const ctcd_recipe *rc, const char *dir, const char *teacher,
                             final_row *row, FILE *jl) {
    char name[64];
    ctcd_arch_str(&row->arch, name, sizeof name);
    for (int k = 0; k < rc->search.final_seeds; k++) {
        char out[CTCD_PATH_MAX + 160];
        const uint64_t seed = rc->train.seed + (uint64_t)k;
        if (snprintf(out, sizeof out, "%s/final/%s-%s-s%llu", dir, row->model, name,
                     (unsigned long long)seed) >= (int)sizeof out)
            return CTCD_ERR(CTCD_E_INVALID, "search: directory name too long: %s", dir);
        ctcd_recipe *r = malloc(sizeof *r);
        if (!r) return CTCD_ERR(CTCD_E_NOMEM, "search: out of memory");
        ctcd_recipe base = *rc;
        base.train.seed = seed; /* also seeds a per-layer arch's initial checkpoint */
        double score = NAN;
        ctcd_status st = ctcd_search_prepare_run(&base, teacher, &row->arch, 0, out, r);
        if (!st) st = ctcd_run_recipe_score(r, CTCD_SMALL, "search", &score);
        free(r);
        CTCD_TRY(st);
        row->score[row->n++] = score;
        ctcd_log(CTCD_LOG_INFO, "search: final %-9s %-20s seed %llu  score %.4f", row->model, name,
                 (unsigned long long)seed, score);
        char b1[32], b2[32];
        fprintf(jl, "{\"model\":\"%s\",\"arch\":\"%s\",\"seed\":%llu,\"latency_ms\":%s,"
                "\"score\":%s}\n", row->model, name, (unsigned long long)seed,
                json_num(b1, sizeof b1, row->latency_ms), json_num(b2, sizeof b2, score));
    }
    return CTCD_OK;
}

static void md_row(char *md, size_t cap, const final_row *row) {
    char name[64], scores[512] = "";
    const ctcd_stat st = ctcd_stat_of(row->score, row->n);
    for (int i = 0; i < row->n; i++) {
        const size_t len = strlen(scores);
        snprintf(scores + len, sizeof scores - len, "%s%.4f", i ? ", " : "", row->score[i]);
    }
    const size_t len = strlen(md);
    snprintf(md + len, cap - len, "| %s | %s | %.3f | %.4f ± %.4f | %d | %s |\n", row->model,
             ctcd_arch_str(&row->arch, name, sizeof name), row->latency_ms, st.mean, st.std,
             row->n, scores);
}

ctcd_status ctcd_search_final(const ctcd_recipe *rc, const char *dir, const char *teacher,
                              double teacher_score, const ctcd_search_candidate *best,
                              ctcd_latency_cache *cache, ctcd_backend *be,
                              const ctcd_latency_opts *lat) {
    if (rc->search.final_seeds <= 0) return CTCD_OK;
    if (rc->search.final_seeds > 64)
        return CTCD_ERR(CTCD_E_INVALID, "search.final.seeds: at most 64 (got %d)",
                        rc->search.final_seeds);
    ctcd_arch hm[MAX_HANDMADE];
    int n_hm;
    CTCD_TRY(handmade_list(rc, hm, &n_hm));
    final_row rows[2] = {{.model = "searched", .arch = best->arch},
                         {.model = "hand-made"}};
    CTCD_TRY(ctcd_latency_get(cache, be, &best->arch, lat, &rows[0].latency_ms, NULL));
    rows[1].latency_ms = INFINITY;
    for (int i = 0; i < n_hm; i++) {
        double ms;
        CTCD_TRY(ctcd_latency_get(cache, be, &hm[i], lat, &ms, NULL));
        if (fabs(ms - rows[0].latency_ms) < fabs(rows[1].latency_ms - rows[0].latency_ms))
            rows[1].arch = hm[i], rows[1].latency_ms = ms;
    }
    /* the teacher's latency, from its checkpoint's shape */
    char path[CTCD_PATH_MAX + 32], tname[64] = "?";
    double teacher_ms = NAN;
    ctcd_hf_config hf;
    snprintf(path, sizeof path, "%s/config.json", teacher);
    if (!ctcd_hf_config_read(path, &hf)) {
        ctcd_arch ta;
        memset(&ta, 0, sizeof ta);
        ta.v[CTCD_DIM_LAYERS] = hf.cfg.n_layers, ta.v[CTCD_DIM_HIDDEN] = hf.cfg.hidden;
        ta.v[CTCD_DIM_HEADS] = hf.cfg.n_heads, ta.v[CTCD_DIM_INTER] = hf.cfg.intermediate;
        ctcd_hf_config_free(&hf);
        ctcd_arch_str(&ta, tname, sizeof tname);
        CTCD_TRY(ctcd_latency_get(cache, be, &ta, lat, &teacher_ms, NULL));
    }
    size_t cap = 0;
    char *jl_text = NULL;
    FILE *jl = open_memstream(&jl_text, &cap);
    if (!jl) return CTCD_ERR(CTCD_E_NOMEM, "search: out of memory");
    char b1[32], b2[32];
    fprintf(jl, "{\"model\":\"teacher\",\"arch\":\"%s\",\"latency_ms\":%s,\"score\":%s}\n",
            tname, json_num(b1, sizeof b1, teacher_ms), json_num(b2, sizeof b2, teacher_score));
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < 2; i++) st = train_row(rc, dir, teacher, &rows[i], jl);
    fclose(jl);
    char md[4096];
    snprintf(md, sizeof md,
             "# ctcd search: final stage\n\n"
             "Full training set, %d seed(s) from train.seed %llu; latency: %s, B=%d, T=%d, "
             "median of %d forwards after %d warm-up. Teacher %s: %.3f ms, dev %.4f.\n\n"
             "| model | arch | latency (ms) | dev mean ± std | seeds | per seed |\n"
             "|---|---|---:|---:|---:|---|\n",
             rc->search.final_seeds, (unsigned long long)rc->train.seed,
             be->device_name ? be->device_name : be->name, lat->B, lat->T, lat->reps,
             lat->warmup, tname, teacher_ms, teacher_score);
    for (int i = 0; i < 2; i++) md_row(md, sizeof md, &rows[i]);
    if (!st) {
        snprintf(path, sizeof path, "%s/final.jsonl", dir);
        st = ctcd_atomic_write_file(path, jl_text, strlen(jl_text));
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/final.md", dir);
        st = ctcd_atomic_write_file(path, md, strlen(md));
    }
    free(jl_text);
    return st;
}
