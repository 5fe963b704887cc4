/* eval_log.c — reading a run's eval.jsonl back (include/ctcd/run.h). The line format is
 * the one run_log.c writes:
 *   {"step":S,"epoch":E,"task":"sst2","examples":N,"task_metric":"acc","split":"dev",
 *    "large":{"acc":0.81,"score":0.81},"small":{...}}
 * every object-valued member is a model; its numeric members are metrics, "score" the task
 * score. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/run.h"
#include "ctcd/fileio.h"
#include "ctcd/json_util.h"
#include "train_internal.h"

#define EVAL_LOG_MAX_BYTES ((size_t)64 << 20)

static ctcd_status get_int(const cJSON *o, const char *key, int64_t *out, const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!ctcd_json_is_int_in(v, -9007199254740992.0, 9007199254740992.0))
        return CTCD_ERR(CTCD_E_PARSE, "%s: \"%s\" must be an integer", where, key);
    *out = (int64_t)v->valuedouble;
    return CTCD_OK;
}

static ctcd_status get_str(const cJSON *o, const char *key, char *buf, size_t cap,
                           const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return CTCD_ERR(CTCD_E_PARSE, "%s: \"%s\" must be a string of under %zu characters",
                        where, key, cap);
    snprintf(buf, cap, "%s", v->valuestring);
    return CTCD_OK;
}

static ctcd_status parse_model(const cJSON *obj, ctcd_eval_model *m, const char *where) {
    memset(m, 0, sizeof *m);
    if (strlen(obj->string) >= sizeof m->name)
        return CTCD_ERR(CTCD_E_PARSE, "%s: model name '%s' too long", where, obj->string);
    snprintf(m->name, sizeof m->name, "%s", obj->string);
    int have_score = 0;
    for (const cJSON *e = obj->child; e; e = e->next) {
        if (!cJSON_IsNumber(e))
            return CTCD_ERR(CTCD_E_PARSE, "%s: %s.%s: expected a number, got %s", where,
                            m->name, e->string, ctcd_json_type_name(e));
        if (strcmp(e->string, "score") == 0) {
            m->score = e->valuedouble;
            have_score = 1;
        } else {
            if (m->n == CTCD_MAX_METRICS || strlen(e->string) >= CTCD_METRIC_NAME_MAX)
                return CTCD_ERR(CTCD_E_PARSE, "%s: %s: more than %d metrics or a name too long "
                                "('%s')", where, m->name, CTCD_MAX_METRICS, e->string);
            snprintf(m->metric[m->n], CTCD_METRIC_NAME_MAX, "%s", e->string);
            m->value[m->n++] = e->valuedouble;
        }
    }
    if (!have_score) return CTCD_ERR(CTCD_E_PARSE, "%s: model '%s' has no \"score\"", where, m->name);
    return CTCD_OK;
}

static ctcd_status parse_line(const char *text, size_t n, const char *where,
                              ctcd_eval_point *p) {
    cJSON *root = NULL;
    CTCD_TRY(ctcd_json_parse(text, n, 8, where, 0, &root));
    memset(p, 0, sizeof *p);
    ctcd_status st = CTCD_OK;
    if (!cJSON_IsObject(root))
        st = CTCD_ERR(CTCD_E_PARSE, "%s: expected a JSON object", where);
    if (!st) st = get_int(root, "step", &p->step, where);
    if (!st) st = get_int(root, "epoch", &p->epoch, where);
    if (!st) st = get_int(root, "examples", &p->examples, where);
    if (!st) st = get_str(root, "task", p->task, sizeof p->task, where);
    if (!st) st = get_str(root, "task_metric", p->task_metric, sizeof p->task_metric, where);
    if (!st && cJSON_HasObjectItem(root, "split"))
        st = get_str(root, "split", p->split, sizeof p->split, where);
    else if (!st) {  /* written before the key existed: what that ctcd evaluated on */
        const char *rat = ctcd_rationale_task_eval_split(p->task);
        snprintf(p->split, sizeof p->split, "%s", rat ? rat : "dev");
    }
    for (const cJSON *e = root ? root->child : NULL; !st && e; e = e->next) {
        if (!cJSON_IsObject(e)) continue;
        if (p->n_models == CTCD_N_ROLES) {
            st = CTCD_ERR(CTCD_E_PARSE, "%s: more than %d models", where, CTCD_N_ROLES);
            break;
        }
        st = parse_model(e, &p->models[p->n_models++], where);
    }
    if (!st && p->n_models == 0) st = CTCD_ERR(CTCD_E_PARSE, "%s: no model entries", where);
    cJSON_Delete(root);
    return st;
}

ctcd_status ctcd_eval_log_read(const char *path, ctcd_eval_log *out) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    CTCD_TRY(ctcd_read_small_file(path, EVAL_LOG_MAX_BYTES, &text, &len));
    ctcd_status st = CTCD_OK;
    int cap = 0, line_no = 0;
    for (size_t pos = 0; !st && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        const size_t end = nl ? (size_t)(nl - text) : len;
        line_no++;
        size_t a = pos, b = end;
        while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r')) a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) b--;
        pos = end + 1;
        if (a == b) continue;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 16;
            ctcd_eval_point *np = realloc(out->points, (size_t)cap * sizeof *np);
            if (!np) {
                st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
                break;
            }
            out->points = np;
        }
        char where[CTCD_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d", path, line_no);
        st = parse_line(text + a, b - a, where, &out->points[out->n]);
        if (!st) out->n++;
    }
    free(text);
    if (!st && out->n == 0)
        st = CTCD_ERR(CTCD_E_PARSE, "%s: no evaluations (did the run finish?)", path);
    if (st) ctcd_eval_log_free(out);
    return st;
}

void ctcd_eval_log_free(ctcd_eval_log *log) {
    free(log->points);
    memset(log, 0, sizeof *log);
}

const ctcd_eval_model *ctcd_eval_point_model(const ctcd_eval_point *p, const char *name) {
    for (int i = 0; i < p->n_models; i++)
        if (strcmp(p->models[i].name, name) == 0) return &p->models[i];
    return NULL;
}

int ctcd_eval_log_best(const ctcd_eval_log *log, const char *name) {
    int best = -1;
    double best_score = -INFINITY;
    for (int i = 0; i < log->n; i++) {
        const ctcd_eval_model *m = ctcd_eval_point_model(&log->points[i], name);
        if (m && (best < 0 || m->score > best_score)) {
            best = i;
            best_score = m->score;
        }
    }
    return best;
}
