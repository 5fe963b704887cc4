/* search.c — the KD-NAS controller (include/ctcd/search.h, issue 12).
 *
 * Why evolution: the choices are discrete (no gradient flows through "4 layers or 5"), a
 * proxy distillation is expensive so the controller must learn from tens of evaluations
 * (children inherit good parents' shapes; a policy-gradient controller needs thousands), and
 * the evaluations of an episode are independent, so they can later run in parallel.
 *
 * Episode: propose `proposals` candidates (mutations and crossovers of parents drawn from
 * the `population` best evaluated so far, plus `random` uniform ones; all random while none
 * is evaluated), screen them by predicted reward (latency predictor once three latencies are
 * measured, reward predictor once three candidates are scored), then distil the `top_k`
 * best from the teacher on the proxy set through the ordinary trainer and score them on dev.
 *
 * State (state.json: episodes done, the proposal RNG, the teacher, every evaluated
 * candidate) is rewritten atomically after each episode, with candidates.jsonl; a resumed
 * search therefore proposes exactly what an uninterrupted one would have. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/run.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/plot.h"
#include "ctcd/recipe.h"
#include "ctcd/search.h"
#include "ctcd/train.h"

typedef struct search_ctx {
    const ctcd_recipe *rc;
    const char *dir;
    ctcd_search_space space;
    ctcd_latency_opts lat;
    ctcd_latency_cache cache;
    ctcd_backend *be;          /* latency measurements */
    ctcd_rng rng;
    int episode;               /* episodes done */
    char teacher[CTCD_PATH_MAX];
    double teacher_score;      /* its dev score (trained here or evaluated from init) */
    ctcd_search_candidate *c;  /* evaluated, in order */
    int n, cap;
} search_ctx;

double ctcd_search_reward(double score, double latency_ms, double target_ms, double w) {
    if (latency_ms <= target_ms) return score;
    return score * pow(latency_ms / target_ms, w);
}

static void path_join(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

/* ---- state ---- */

static cJSON *candidate_json(const ctcd_search_candidate *c) {
    cJSON *o = cJSON_CreateObject();
    char s[64];
    cJSON_AddStringToObject(o, "arch", ctcd_arch_str(&c->arch, s, sizeof s));
    for (int d = 0; d < CTCD_N_DIMS; d++) cJSON_AddNumberToObject(o, ctcd_dim_names[d], c->arch.v[d]);
    if (ctcd_arch_is_per_layer(&c->arch)) {
        const int L = c->arch.v[CTCD_DIM_LAYERS];
        cJSON_AddItemToObject(o, "layer_heads", cJSON_CreateIntArray(c->arch.layer_heads, L));
        cJSON_AddItemToObject(o, "layer_intermediate",
                              cJSON_CreateIntArray(c->arch.layer_inter, L));
    }
    cJSON_AddNumberToObject(o, "episode", c->episode);
    cJSON_AddNumberToObject(o, "params", (double)c->params);
    cJSON_AddNumberToObject(o, "latency_ms", c->latency_ms);
    cJSON_AddStringToObject(o, "latency", c->latency_measured ? "measured" : "predicted");
    cJSON_AddStringToObject(o, "device", c->device);
    cJSON_AddNumberToObject(o, "score", c->score);
    cJSON_AddNumberToObject(o, "reward", c->reward);
    return o;
}

static int json_int(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

static double json_num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* o[key] (an array of L ints >= 1) into v; absent: v stays zero. 0, or -1 when malformed. */
static int json_layers(const cJSON *o, const char *key, int L, int *v) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!arr) return 0;
    if (!cJSON_IsArray(arr) || L < 1 || L > CTCD_MAX_LAYERS || cJSON_GetArraySize(arr) != L)
        return -1;
    int l = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!cJSON_IsNumber(e) || e->valueint < 1) return -1;
        v[l++] = e->valueint;
    }
    return 0;
}

static ctcd_status push_candidate(search_ctx *s, const ctcd_search_candidate *c) {
    if (s->n == s->cap) {
        const int cap = s->cap ? 2 * s->cap : 32;
        ctcd_search_candidate *nc = realloc(s->c, (size_t)cap * sizeof *nc);
        if (!nc) return CTCD_ERR(CTCD_E_NOMEM, "search: out of memory");
        s->c = nc;
        s->cap = cap;
    }
    s->c[s->n++] = *c;
    return CTCD_OK;
}

/* u64 fields travel as hex strings: JSON numbers are doubles. */
static void put_u64(cJSON *o, const char *k, uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "%016llx", (unsigned long long)v);
    cJSON_AddStringToObject(o, k, s);
}

static int get_u64(const cJSON *o, const char *k, uint64_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(x)) return -1;
    *v = strtoull(x->valuestring, NULL, 16);
    return 0;
}

static ctcd_status save_state(const search_ctx *s) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "episodes_done", s->episode);
    cJSON_AddStringToObject(root, "teacher", s->teacher);
    if (isfinite(s->teacher_score)) cJSON_AddNumberToObject(root, "teacher_score", s->teacher_score);
    cJSON *r = cJSON_AddObjectToObject(root, "rng");
    put_u64(r, "seed", s->rng.seed);
    put_u64(r, "stream", s->rng.stream);
    put_u64(r, "counter", s->rng.counter);
    for (int i = 0; i < 4; i++) {
        char k[8];
        snprintf(k, sizeof k, "buf%d", i);
        put_u64(r, k, s->rng.buf[i]);
    }
    cJSON_AddNumberToObject(r, "pos", s->rng.pos);
    cJSON *arr = cJSON_AddArrayToObject(root, "candidates");
    size_t cap = 256, len = 0;
    char *lines = malloc(cap);
    ctcd_status st = CTCD_OK;
    for (int i = 0; lines && i < s->n; i++) {
        cJSON *o = candidate_json(&s->c[i]);
        char *txt = cJSON_PrintUnformatted(o);
        cJSON_AddItemToArray(arr, o);
        const size_t n = txt ? strlen(txt) : 0;
        if (len + n + 2 > cap) {
            while (len + n + 2 > cap) cap *= 2;
            char *nl = realloc(lines, cap);
            if (!nl) free(lines);
            lines = nl;
        }
        if (lines && txt) memcpy(lines + len, txt, n), len += n, lines[len++] = '\n';
        free(txt);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char path[CTCD_PATH_MAX + 32];
    if (!text || !lines) st = CTCD_ERR(CTCD_E_NOMEM, "search: out of memory saving the state");
    if (!st) {
        path_join(path, sizeof path, s->dir, "candidates.jsonl");
        st = ctcd_atomic_write_file(path, lines, len);
    }
    if (!st) {
        path_join(path, sizeof path, s->dir, "state.json");
        st = ctcd_atomic_write_file(path, text, strlen(text));
    }
    free(text);
    free(lines);
    return st;
}

static ctcd_status load_state(search_ctx *s) {
    char path[CTCD_PATH_MAX + 32];
    path_join(path, sizeof path, s->dir, "state.json");
    char *text;
    size_t n;
    CTCD_TRY(ctcd_error_wrap(ctcd_read_small_file(path, SIZE_MAX, &text, &n),
                             "the search state to resume"));
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "rng");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    const cJSON *teacher = cJSON_GetObjectItemCaseSensitive(root, "teacher");
    uint64_t b[4] = {0};
    int bad = !root || !r || !cJSON_IsArray(arr) || !cJSON_IsString(teacher) ||
              get_u64(r, "seed", &s->rng.seed) || get_u64(r, "stream", &s->rng.stream) ||
              get_u64(r, "counter", &s->rng.counter) || get_u64(r, "buf0", &b[0]) ||
              get_u64(r, "buf1", &b[1]) || get_u64(r, "buf2", &b[2]) || get_u64(r, "buf3", &b[3]);
    ctcd_status st = CTCD_OK;
    if (!bad) {
        for (int i = 0; i < 4; i++) s->rng.buf[i] = (uint32_t)b[i];
        s->rng.pos = json_int(r, "pos");
        s->episode = json_int(root, "episodes_done");
        snprintf(s->teacher, sizeof s->teacher, "%s", teacher->valuestring);
        s->teacher_score = json_num(root, "teacher_score"); /* absent in older states: NAN */
        const cJSON *o;
        cJSON_ArrayForEach(o, arr) {
            ctcd_search_candidate c = {0};
            for (int d = 0; d < CTCD_N_DIMS; d++) c.arch.v[d] = json_int(o, ctcd_dim_names[d]);
            const int L = c.arch.v[CTCD_DIM_LAYERS];
            if (json_layers(o, "layer_heads", L, c.arch.layer_heads) ||
                json_layers(o, "layer_intermediate", L, c.arch.layer_inter))
                bad = 1;
            c.episode = json_int(o, "episode");
            c.params = (int64_t)json_num(o, "params");
            c.latency_ms = json_num(o, "latency_ms");
            const cJSON *lm = cJSON_GetObjectItemCaseSensitive(o, "latency");
            c.latency_measured = cJSON_IsString(lm) && !strcmp(lm->valuestring, "measured");
            const cJSON *dev = cJSON_GetObjectItemCaseSensitive(o, "device");
            snprintf(c.device, sizeof c.device, "%s", cJSON_IsString(dev) ? dev->valuestring : "");
            c.score = json_num(o, "score");
            c.reward = json_num(o, "reward");
            if (!ctcd_arch_valid(&s->space, &c.arch)) bad = 1;
            if (!bad && (st = push_candidate(s, &c))) break;
        }
    }
    cJSON_Delete(root);
    if (!st && (bad || s->rng.pos < 0 || s->rng.pos > 4 || s->episode < 0))
        st = CTCD_ERR(CTCD_E_PARSE, "%s: malformed search state (or a candidate outside the "
                      "recipe's search space)", path);
    return st;
}

/* ---- teacher and proxy distillation ---- */

static ctcd_status run_recipe(const ctcd_recipe *r, int role, double *score) {
    return ctcd_run_recipe_score(r, role, "search", score);
}

static ctcd_status ensure_teacher(search_ctx *s) {
    if (s->teacher[0]) return CTCD_OK; /* resumed */
    return ctcd_ensure_teacher(s->rc, s->dir, "search", s->teacher, sizeof s->teacher,
                               &s->teacher_score);
}

/* ---- one episode ---- */

static int is_evaluated(const search_ctx *s, const ctcd_arch *a) {
    for (int i = 0; i < s->n; i++)
        if (!memcmp(&s->c[i].arch, a, sizeof *a)) return 1;
    return 0;
}


/* Indices of evaluated candidates, best reward first (ties: earlier first). */
static void rank_evaluated(const search_ctx *s, int *order) {
    for (int i = 0; i < s->n; i++) order[i] = i;
    for (int i = 1; i < s->n; i++) {
        const int k = order[i];
        int j = i - 1;
        while (j >= 0 && s->c[order[j]].reward < s->c[k].reward) order[j + 1] = order[j], j--;
        order[j + 1] = k;
    }
}

static void propose(search_ctx *s, ctcd_arch *p, int n_prop) {
    const ctcd_recipe *rc = s->rc;
    int *order = malloc((size_t)(s->n ? s->n : 1) * sizeof *order);
    CTCD_ASSERT(order, "out of memory");
    rank_evaluated(s, order);
    const int pop = s->n < rc->search.population ? s->n : rc->search.population;
    const int n_random = s->n ? (rc->search.random < n_prop ? rc->search.random : n_prop) : n_prop;
    for (int i = 0; i < n_prop; i++) {
        for (int tries = 0; tries < 16; tries++) {
            if (i < n_prop - n_random) {
                const ctcd_arch *a = &s->c[order[ctcd_rng_below(&s->rng, (uint32_t)pop)]].arch;
                if (pop > 1 && ctcd_rng_below(&s->rng, 2)) {
                    const ctcd_arch *b = &s->c[order[ctcd_rng_below(&s->rng, (uint32_t)pop)]].arch;
                    ctcd_space_crossover(&s->space, &s->rng, a, b, &p[i]);
                } else {
                    ctcd_space_mutate(&s->space, &s->rng, rc->search.mutate_steps, a, &p[i]);
                }
            } else {
                ctcd_space_sample(&s->space, &s->rng, &p[i]);
            }
            int dup = is_evaluated(s, &p[i]);
            for (int j = 0; j < i && !dup; j++) dup = !memcmp(&p[j], &p[i], sizeof p[i]);
            if (!dup) break;
        }
    }
    free(order);
}

/* Latency of a proposal for screening: predicted once the predictor is fitted, else
 * measured (and cached). */
static ctcd_status screen_latency(search_ctx *s, const ctcd_latency_model *lm, const ctcd_arch *a,
                                  double *ms) {
    if (lm->fitted) {
        *ms = ctcd_latency_predict(lm, a, &s->lat);
        return CTCD_OK;
    }
    return ctcd_latency_get(&s->cache, s->be, a, &s->lat, ms, NULL);
}

static void fit_latency(search_ctx *s, ctcd_latency_model *lm) {
    lm->fitted = 0;
    const int n = s->cache.n;
    ctcd_arch *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    double *ms = malloc((size_t)(n ? n : 1) * sizeof *ms);
    int k = 0;
    for (int i = 0; a && ms && i < n; i++) {
        const ctcd_latency_entry *e = &s->cache.e[i];
        if (e->B != s->lat.B || e->T != s->lat.T) continue;
        a[k] = e->arch;
        ms[k++] = e->ms;
    }
    if (k >= CTCD_LAT_NFEAT) ctcd_status_free(ctcd_latency_fit(lm, a, ms, k, &s->lat));
    free(a);
    free(ms);
}

static ctcd_status run_episode(search_ctx *s) {
    const ctcd_recipe *rc = s->rc;
    const int P = rc->search.proposals;
    ctcd_arch *p = malloc((size_t)P * sizeof *p);
    double *pred = malloc((size_t)P * sizeof *pred);
    int *order = malloc((size_t)P * sizeof *order);
    ctcd_status st = p && pred && order ? CTCD_OK
                                        : CTCD_ERR(CTCD_E_NOMEM, "search: out of memory");
    if (!st) propose(s, p, P);
    ctcd_latency_model lm;
    fit_latency(s, &lm);
    ctcd_reward_model rm = {0};
    if (s->n >= 3) {
        ctcd_arch *ea = malloc((size_t)s->n * sizeof *ea);
        double *es = malloc((size_t)s->n * sizeof *es);
        for (int i = 0; ea && es && i < s->n; i++) ea[i] = s->c[i].arch, es[i] = s->c[i].score;
        if (ea && es) ctcd_status_free(ctcd_reward_fit(&rm, &s->space, ea, es, s->n, 1e-2));
        free(ea);
        free(es);
    }
    for (int i = 0; !st && i < P; i++) {
        double ms;
        st = screen_latency(s, &lm, &p[i], &ms);
        const double score = rm.fitted ? ctcd_reward_predict(&rm, &s->space, &p[i]) : 1.0;
        pred[i] = ctcd_search_reward(score, ms, rc->search.target_ms, rc->search.w);
        order[i] = i;
    }
    for (int i = 1; !st && i < P; i++) { /* stable sort, best predicted reward first */
        const int k = order[i];
        int j = i - 1;
        while (j >= 0 && pred[order[j]] < pred[k]) order[j + 1] = order[j], j--;
        order[j + 1] = k;
    }
    int done = 0;
    for (int r = 0; !st && r < P && done < rc->search.top_k; r++) {
        const ctcd_arch *a = &p[order[r]];
        if (is_evaluated(s, a)) continue;
        ctcd_search_candidate c = {.arch = *a, .episode = s->episode, .latency_measured = 1};
        c.params = ctcd_arch_n_params(a, s->lat.vocab, s->lat.n_labels);
        st = ctcd_latency_get(&s->cache, s->be, a, &s->lat, &c.latency_ms, NULL);
        snprintf(c.device, sizeof c.device, "%s",
                 s->be->device_name ? s->be->device_name : s->be->name);
        char name[64], out[CTCD_PATH_MAX + 96];
        snprintf(out, sizeof out, "%s/runs/%03d-%s", s->dir, s->n,
                 ctcd_arch_str(a, name, sizeof name));
        ctcd_recipe r2;
        if (!st) st = ctcd_search_prepare_run(s->rc, s->teacher, a, 1, out, &r2);
        if (!st) st = run_recipe(&r2, CTCD_SMALL, &c.score);
        if (st) break;
        c.reward = ctcd_search_reward(c.score, c.latency_ms, rc->search.target_ms, rc->search.w);
        st = push_candidate(s, &c);
        done++;
        ctcd_log(CTCD_LOG_INFO, "search: episode %d/%d  %-20s  %6.2f ms  score %.4f  reward %.4f",
                 s->episode + 1, rc->search.episodes, name, c.latency_ms, c.score, c.reward);
    }
    free(p);
    free(pred);
    free(order);
    if (!st) {
        s->episode++;
        st = save_state(s);
    }
    return st;
}

/* ---- results ---- */

static int best_index(const search_ctx *s) {
    int b = 0;
    for (int i = 1; i < s->n; i++)
        if (s->c[i].reward > s->c[b].reward) b = i;
    return b;
}

static int cmp_latency(const void *x, const void *y) {
    const double a = ((const double *)x)[0], b = ((const double *)y)[0];
    return (a > b) - (a < b);
}

static ctcd_status write_pareto(const search_ctx *s) {
    const int n = s->n;
    double *xy = malloc((size_t)n * 2 * sizeof *xy);
    double *x = malloc((size_t)n * 4 * sizeof *x);
    if (!xy || !x) {
        free(xy);
        free(x);
        return CTCD_ERR(CTCD_E_NOMEM, "search: out of memory plotting");
    }
    for (int i = 0; i < n; i++) xy[2 * i] = s->c[i].latency_ms, xy[2 * i + 1] = s->c[i].score;
    qsort(xy, (size_t)n, 2 * sizeof *xy, cmp_latency);
    double *y = x + n, *fx = x + 2 * n, *fy = x + 3 * n;
    int nf = 0;
    for (int i = 0; i < n; i++) {
        x[i] = xy[2 * i], y[i] = xy[2 * i + 1];
        if (!nf || y[i] > fy[nf - 1]) fx[nf] = x[i], fy[nf++] = y[i];
    }
    const ctcd_plot_series ser[2] = {
        {.label = "candidates", .n = n, .x = x, .y = y, .rgb = 0x9aa5b1, .markers_only = 1},
        {.label = "pareto front", .n = nf, .x = fx, .y = fy, .rgb = 0xd62728},
    };
    const ctcd_plot plot = {.title = "KD-NAS: dev score vs forward latency",
                            .xlabel = "latency (ms)", .ylabel = "dev score",
                            .n_series = 2, .series = ser};
    char path[CTCD_PATH_MAX + 32];
    path_join(path, sizeof path, s->dir, "pareto.png");
    ctcd_status st = ctcd_plot_write_png(&plot, path);
    free(xy);
    free(x);
    return st;
}

static ctcd_status write_best(const search_ctx *s, ctcd_search_candidate *best) {
    const ctcd_search_candidate *b = &s->c[best_index(s)];
    if (best) *best = *b;
    char dir[CTCD_PATH_MAX + 32], path[CTCD_PATH_MAX + 64];
    path_join(dir, sizeof dir, s->dir, "best");
    CTCD_TRY(ctcd_mkdirs(dir));
    /* the config of the winner's proxy checkpoint when there is one (its real head), else
     * the architecture with the latency shape's head */
    ctcd_bert_config cfg;
    CTCD_TRY(ctcd_arch_config(&b->arch, s->lat.vocab, 512, s->lat.n_labels, &cfg));
    cfg.hidden_dropout = s->rc->models[CTCD_SMALL].hidden_dropout;
    cfg.attn_dropout = s->rc->models[CTCD_SMALL].attn_dropout;
    char name[64], ck[CTCD_PATH_MAX + 160];
    snprintf(ck, sizeof ck, "%s/runs/%03d-%s/small/best/config.json", s->dir,
             (int)(b - s->c), ctcd_arch_str(&b->arch, name, sizeof name));
    ctcd_hf_config hf;
    if (!ctcd_hf_config_read(ck, &hf)) {
        cfg = hf.cfg;
        ctcd_hf_config_free(&hf);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    CTCD_TRY(ctcd_hf_config_write(path, &cfg, NULL, CTCD_F32));
    ctcd_recipe r;
    char out[CTCD_PATH_MAX + 32];
    if (snprintf(out, sizeof out, "%s/train", dir) >= (int)sizeof out)
        return CTCD_ERR(CTCD_E_INVALID, "search: directory name too long: %s", dir);
    CTCD_TRY(ctcd_search_prepare_run(s->rc, s->teacher, &b->arch, 0, out, &r));
    r.source[0] = '\0';
    snprintf(path, sizeof path, "%s/recipe.yaml", dir);
    return ctcd_recipe_write(&r, path);
}

ctcd_status ctcd_search_run(const ctcd_recipe *rc, const char *dir, int resume,
                            int max_episodes, ctcd_search_candidate *best) {
    search_ctx s = {.rc = rc, .dir = dir, .teacher_score = NAN};
    for (int d = 0; d < CTCD_N_DIMS; d++)
        s.space.dim[d] = (ctcd_search_dim){rc->search.min[d], rc->search.max[d], rc->search.step[d]};
    s.space.min_head_dim = rc->search.min_head_dim;
    s.space.per_layer = rc->search.per_layer;
    CTCD_TRY(ctcd_space_check(&s.space));
    if (!rc->models[CTCD_LARGE].present)
        return CTCD_ERR(CTCD_E_INVALID, "%s: search needs models.large (the teacher)",
                        rc->source[0] ? rc->source : "recipe");
    s.lat = (ctcd_latency_opts){.B = rc->search.latency_batch, .T = rc->search.latency_seq,
                                .reps = rc->search.latency_reps,
                                .warmup = rc->search.latency_warmup, .vocab = 30522,
                                .n_labels = 2, .seed = rc->search.seed};
    ctcd_rng_init(&s.rng, rc->search.seed, 0x5ea4c4);
    CTCD_TRY(ctcd_mkdirs(dir));
    ctcd_status st = resume ? load_state(&s) : CTCD_OK;
    char path[CTCD_PATH_MAX + 32];
    path_join(path, sizeof path, dir, "latency.tsv");
    if (!st) st = ctcd_latency_cache_open(&s.cache, path);
    const char *lat_be = strcmp(rc->search.latency_backend, "train") ? rc->search.latency_backend
                                                                      : rc->train.backend;
    if (!st) st = ctcd_backend_create_precision(lat_be, rc->train.precision, &s.be);
    if (!st) st = ensure_teacher(&s);
    if (!st && !resume) st = save_state(&s);
    for (int e = 0; !st && s.episode < rc->search.episodes && (max_episodes <= 0 || e < max_episodes);
         e++)
        st = run_episode(&s);
    if (!st && s.episode >= rc->search.episodes && s.n > 0) {
        st = write_pareto(&s);
        ctcd_search_candidate b = s.c[best_index(&s)];
        if (!st) st = write_best(&s, best);
        if (!st) st = ctcd_search_final(rc, dir, s.teacher, s.teacher_score, &b, &s.cache, s.be,
                                        &s.lat);
    } else if (!st && best && s.n > 0) {
        *best = s.c[best_index(&s)];
    }
    if (s.be) s.be->destroy(s.be);
    ctcd_latency_cache_close(&s.cache);
    free(s.c);
    return st;
}
