/* train_state.c — writing and reading the training-state file (include/ctcd/resume.h):
 * per model slot the fp32 master weights and both AdamW moments as flat F32 tensors
 * ("<role>.master", ...), the same for each rationale decoder ("rationale.<role>.master",
 * ...; tied embeddings are the encoder's and saved with it), and
 * in __metadata__ the step, data cursor, evaluation bookkeeping and the recipe identity
 * (state_recipe.c). A ZeRO-1 run's moments are gathered from every rank first, so the file
 * never depends on the number of ranks. The file goes through ctcd_st_write, i.e. temp
 * file + fsync + rename:
 * a failed or interrupted write leaves the previous state as it was. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/resume.h"
#include "ctcd/safetensors.h"
#include "ctcd/zero.h"
#include "state_recipe.h"
#include "train_internal.h"

/* The three flat buffers of a slot, in file order. */
enum { ST_MASTER, ST_ADAM_M, ST_ADAM_V, ST_N_BUFS };
static const char *const buf_names[ST_N_BUFS] = {"master", "adam_m", "adam_v"};

void ctcd_train_state_path(const char *run_dir, char *out, size_t cap) {
    snprintf(out, cap, "%s/state/train_state.safetensors", run_dir);
}

/* Current size of a log file (after flushing it); -1 without one. */
static long long log_size(FILE *f) {
    struct stat sb;
    if (!f || fflush(f) != 0 || fstat(fileno(f), &sb) != 0) return -1;
    return (long long)sb.st_size;
}

static ctcd_status progress_metadata(const ctcd_trainer *t, state_md *md) {
    CTCD_TRY(state_md_add(md, "format", CTCD_STATE_FORMAT));
    CTCD_TRY(state_md_add(md, "version", "%d", CTCD_STATE_VERSION));
    CTCD_TRY(state_md_add(md, "step", "%" PRId64, t->step));
    CTCD_TRY(state_md_add(md, "total_steps", "%" PRId64, t->total_steps));
    CTCD_TRY(state_md_add(md, "steps_per_epoch", "%" PRId64, t->steps_per_epoch));
    CTCD_TRY(state_md_add(md, "train_examples", "%" PRId64, t->train.n));
    const ctcd_batcher_cursor cur = ctcd_trainer_cursor(t);
    CTCD_TRY(state_md_add(md, "epoch", "%" PRId64, cur.epoch));
    CTCD_TRY(state_md_add(md, "cursor_epoch", "%" PRId64, cur.epoch));
    CTCD_TRY(state_md_add(md, "cursor_batch", "%" PRId64, cur.batch));
    CTCD_TRY(state_md_add(md, "last_eval_step", "%" PRId64, t->last_eval_step));
    CTCD_TRY(state_md_add(md, "skipped_steps", "%" PRId64, t->skipped_steps));
    CTCD_TRY(state_md_add(md, "final_eval", "%s",
                          t->step == t->total_steps && t->last_eval_step == t->step ? "true"
                                                                                    : "false"));
    for (int i = 0; i < t->n_models; i++) {
        char key[64];
        snprintf(key, sizeof key, "best.%s", t->models[i]->name);
        CTCD_TRY(state_md_add(md, key, "%.17g", t->best[i]));
    }
    CTCD_TRY(state_md_add(md, "log_bytes", "%lld", log_size(t->log)));
    CTCD_TRY(state_md_add(md, "eval_bytes", "%lld", log_size(t->evlog)));
    return state_recipe_metadata(&t->rc, md);
}

/* One set of trained parameters in the state: a model (encoder + heads) or a rationale
 * decoder. Exactly one of m and d is set. */
typedef struct state_slot {
    char name[272];         /* tensor-name prefix: "large", "rationale.small", ... */
    ctcd_model *m;
    ctcd_rationale_decoder *d;
} state_slot;

/* The trainer's slots in file order: every model, then every decoder. Returns the count. */
static int state_slots(const ctcd_trainer *t, state_slot s[4]) {
    int n = 0;
    for (int i = 0; i < t->n_models; i++) {
        s[n] = (state_slot){.m = t->models[i]};
        snprintf(s[n++].name, sizeof s[0].name, "%s", t->models[i]->name);
    }
    for (int i = 0; i < t->n_models; i++) {
        if (!t->rat.dec[i]) continue;
        s[n] = (state_slot){.d = t->rat.dec[i]};
        snprintf(s[n++].name, sizeof s[0].name, "rationale.%s", t->models[i]->name);
    }
    return n;
}

static int64_t slot_n(const state_slot *s) { return s->m ? s->m->lay.n_total : s->d->lay.n_total; }
static const ctcd_param_info *slot_params(const state_slot *s, int *n) {
    *n = s->m ? s->m->lay.n_params : s->d->lay.n_params;
    return s->m ? s->m->lay.params : s->d->lay.params;
}
static ctcd_backend *slot_be(const state_slot *s) { return s->m ? s->m->be : s->d->be; }
static float *slot_moment(const state_slot *s, int b) {
    if (b == ST_ADAM_M) return s->m ? s->m->ps.adam_m : s->d->ps.adam_m;
    return s->m ? s->m->ps.adam_v : s->d->ps.adam_v;
}

/* Downloads the slot's three buffers into host[ST_N_BUFS · n_total]; a ZeRO-1 shard's
 * moments are gathered from every rank (collective, include/ctcd/zero.h). */
static ctcd_status download_slot(const ctcd_trainer *t, const state_slot *s, float *host) {
    const int64_t n = slot_n(s);
    const size_t bytes = (size_t)n * sizeof(float);
    ctcd_backend *be = slot_be(s);
    if (s->m) {
        CTCD_TRY(ctcd_model_download_params(s->m, host + ST_MASTER * n));
        return ctcd_zero_gather_moments(t->comm, &s->m->ps, host + ST_ADAM_M * n,
                                        host + ST_ADAM_V * n);
    }
    CTCD_TRY(ctcd_rationale_download_params(s->d, host + ST_MASTER * n));
    CTCD_TRY(be->download(be, host + ST_ADAM_M * n, slot_moment(s, ST_ADAM_M), bytes));
    return be->download(be, host + ST_ADAM_V * n, slot_moment(s, ST_ADAM_V), bytes);
}

/* Creates the directory that will hold path. */
static ctcd_status make_parent(const char *path) {
    char dir[CTCD_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return CTCD_OK;
    *slash = '\0';
    return ctcd_mkdirs(dir);
}

ctcd_status ctcd_train_state_save(ctcd_trainer *t, const char *path) {
    state_slot slots[4];
    const int n_slots = state_slots(t, slots);
    float *host[4] = {NULL, NULL, NULL, NULL};
    char names[4][ST_N_BUFS][288];
    ctcd_st_entry e[4 * ST_N_BUFS];
    state_md md = {0};
    ctcd_status st = progress_metadata(t, &md);
    for (int i = 0; !st && i < n_slots; i++) {
        const int64_t n = slot_n(&slots[i]);
        host[i] = malloc((size_t)n * ST_N_BUFS * sizeof(float));
        if (!host[i]) {
            st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for the state of %s", path,
                          slots[i].name);
            break;
        }
        st = download_slot(t, &slots[i], host[i]);
        for (int b = 0; b < ST_N_BUFS; b++) {
            snprintf(names[i][b], sizeof names[i][b], "%.260s.%s", slots[i].name, buf_names[b]);
            e[i * ST_N_BUFS + b] = (ctcd_st_entry){.name = names[i][b], .dtype = CTCD_F32,
                                                  .src_dtype = CTCD_F32, .ndim = 1,
                                                  .shape = {n}, .data = host[i] + b * n};
        }
    }
    if (!st && path) st = make_parent(path);
    if (!st && path)
        st = ctcd_st_write(path, e, n_slots * ST_N_BUFS, (const char *const *)md.kv);
    for (int i = 0; i < 4; i++) free(host[i]);
    state_md_free(&md);
    if (st) return ctcd_error_wrap(st, "saving the training state at step %lld",
                                   (long long)t->step);
    if (path) ctcd_debug("saved training state at step %lld to %s", (long long)t->step, path);
    return CTCD_OK;
}

ctcd_status ctcd_train_state_save_run(ctcd_trainer *t) {
    if (!t->rc.output[0]) { /* a ZeRO-1 rank without the run directory: its moments only */
        int shards = 0;
        for (int i = 0; i < t->n_models; i++) shards |= ctcd_zero_is_sharded(&t->models[i]->ps);
        return shards ? ctcd_train_state_save(t, NULL) : CTCD_OK;
    }
    char path[CTCD_PATH_MAX + 64];
    ctcd_train_state_path(t->rc.output, path, sizeof path);
    return ctcd_train_state_save(t, path);
}

/* ---- loading ---- */

static ctcd_status md_text(const ctcd_st_file *f, const char *key, const char **out) {
    *out = ctcd_st_metadata(f, key);
    if (!*out)
        return CTCD_ERR(CTCD_E_PARSE, "%s: __metadata__ key '%s' missing", ctcd_st_path(f), key);
    return CTCD_OK;
}

static ctcd_status md_i64(const ctcd_st_file *f, const char *key, int64_t lo, int64_t *out) {
    const char *s;
    CTCD_TRY(md_text(f, key, &s));
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo)
        return CTCD_ERR(CTCD_E_PARSE, "%s: __metadata__ key '%s' is '%s', expected an integer "
                        ">= %lld", ctcd_st_path(f), key, s, (long long)lo);
    *out = v;
    return CTCD_OK;
}

static ctcd_status md_f64(const ctcd_st_file *f, const char *key, double *out) {
    const char *s;
    CTCD_TRY(md_text(f, key, &s));
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(*out))
        return CTCD_ERR(CTCD_E_PARSE, "%s: __metadata__ key '%s' is '%s', expected a finite "
                        "number", ctcd_st_path(f), key, s);
    return CTCD_OK;
}

static ctcd_status check_format(const ctcd_st_file *f) {
    const char *format = ctcd_st_metadata(f, "format");
    if (!format || strcmp(format, CTCD_STATE_FORMAT) != 0)
        return CTCD_ERR(CTCD_E_PARSE, "%s: not a ctcd training state (__metadata__ 'format' is "
                        "'%s', expected '%s')", ctcd_st_path(f), format ? format : "(missing)",
                        CTCD_STATE_FORMAT);
    int64_t version;
    CTCD_TRY(md_i64(f, "version", 0, &version));
    if (version != CTCD_STATE_VERSION)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: training state version %lld; this ctcd reads "
                        "version %d", ctcd_st_path(f), (long long)version, CTCD_STATE_VERSION);
    return CTCD_OK;
}

ctcd_status ctcd_train_state_check_recipe(const char *path, const ctcd_recipe *rc) {
    ctcd_st_file *f = NULL;
    CTCD_TRY(ctcd_st_open(path, &f));
    ctcd_status st = check_format(f);
    if (!st) st = state_recipe_check(f, rc);
    ctcd_st_close(f);
    return st;
}

ctcd_status ctcd_train_state_progress(const char *run_dir, int64_t *step, int64_t *total_steps,
                                      int *finished) {
    char path[CTCD_PATH_MAX + 64];
    ctcd_train_state_path(run_dir, path, sizeof path);
    ctcd_st_file *f = NULL;
    CTCD_TRY(ctcd_st_open(path, &f));
    ctcd_status st = check_format(f);
    if (!st) st = md_i64(f, "step", 0, step);
    if (!st) st = md_i64(f, "total_steps", 0, total_steps);
    const char *fin = NULL;
    if (!st) st = md_text(f, "final_eval", &fin);
    if (!st) *finished = *step >= *total_steps && strcmp(fin, "true") == 0;
    ctcd_st_close(f);
    return st;
}

/* The tensor "<slot>.<buf>": F32 of shape (n_total). */
static ctcd_status find_buf(const ctcd_st_file *f, const state_slot *s, int b,
                            const ctcd_st_tensor **out) {
    char name[288];
    snprintf(name, sizeof name, "%.260s.%s", s->name, buf_names[b]);
    const ctcd_st_tensor *x = ctcd_st_find(f, name);
    if (!x)
        return CTCD_ERR(CTCD_E_PARSE, "%s: tensor '%s' missing%s", ctcd_st_path(f), name,
                        s->d ? " (a state saved without rationale decoders?)" : "");
    if (strcmp(x->dtype, "F32") != 0 || x->ndim != 1 || x->shape[0] != slot_n(s))
        return CTCD_ERR(CTCD_E_INVALID, "%s: tensor '%s' is %s with %lld elements in %d "
                        "dimension(s); %s needs F32 (%lld) (a state of another model config, "
                        "or saved by a ctcd with another flat-buffer layout: states written "
                        "before tensors were aligned to %d elements do not load)",
                        ctcd_st_path(f), name, x->dtype, (long long)x->numel, x->ndim, s->name,
                        (long long)slot_n(s), CTCD_PARAM_ALIGN);
    *out = x;
    return CTCD_OK;
}

/* Uploads master (re-casting the compute copy) and both moments of one slot. */
static ctcd_status load_slot(const ctcd_st_file *f, const state_slot *s) {
    const ctcd_st_tensor *x[ST_N_BUFS];
    for (int b = 0; b < ST_N_BUFS; b++) CTCD_TRY(find_buf(f, s, b, &x[b]));
    const int64_t n = slot_n(s);
    float *host = malloc((size_t)n * sizeof(float));
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", ctcd_st_path(f));
    ctcd_backend *be = slot_be(s);
    /* a ZeRO-1 model holds only its shard [opt_lo, opt_hi) of the moments */
    const int64_t lo = s->m ? s->m->ps.opt_lo : 0, hi = s->m ? s->m->ps.opt_hi : n;
    ctcd_status st = CTCD_OK;
    for (int b = 0; !st && b < ST_N_BUFS; b++) {
        st = ctcd_st_read_f32(f, x[b], host);
        if (st) break;
        int n_params;
        const ctcd_param_info *params = slot_params(s, &n_params);
        ctcd_params_zero_padding(host, params, n_params, n); /* padding stays zero */
        if (b != ST_MASTER)
            st = be->upload(be, slot_moment(s, b), host + lo, (size_t)(hi - lo) * sizeof(float));
        else
            st = s->m ? ctcd_model_upload_params(s->m, host)
                      : ctcd_rationale_upload_params(s->d, host);
    }
    free(host);
    return st;
}

/* Step, cursor and run bookkeeping, checked against what t's recipe and data give. */
static ctcd_status load_progress(const ctcd_st_file *f, ctcd_trainer *t) {
    const char *path = ctcd_st_path(f);
    int64_t step, total, per_epoch, examples, epoch, last_eval;
    ctcd_batcher_cursor cur;
    CTCD_TRY(md_i64(f, "step", 0, &step));
    CTCD_TRY(md_i64(f, "total_steps", 0, &total));
    CTCD_TRY(md_i64(f, "steps_per_epoch", 1, &per_epoch));
    CTCD_TRY(md_i64(f, "train_examples", 1, &examples));
    CTCD_TRY(md_i64(f, "epoch", 0, &epoch));
    CTCD_TRY(md_i64(f, "cursor_epoch", 0, &cur.epoch));
    CTCD_TRY(md_i64(f, "cursor_batch", 0, &cur.batch));
    CTCD_TRY(md_i64(f, "last_eval_step", -1, &last_eval));
    int64_t skipped = 0; /* absent in states written before train.skip_nonfinite existed */
    if (ctcd_st_metadata(f, "skipped_steps")) CTCD_TRY(md_i64(f, "skipped_steps", 0, &skipped));
    if (examples != t->train.n || per_epoch != t->steps_per_epoch)
        return CTCD_ERR(CTCD_E_INVALID, "%s: saved with %lld training examples in %lld batches "
                        "per epoch, but the data of %s now gives %lld in %lld (the training data "
                        "changed)", path, (long long)examples, (long long)per_epoch,
                        t->rc.task, (long long)t->train.n, (long long)t->steps_per_epoch);
    /* cur.epoch · per_epoch + cur.batch must equal step: compared without overflowing,
     * since every value here comes from the file */
    const int consistent = cur.batch <= per_epoch &&
                           cur.epoch <= (INT64_MAX - cur.batch) / per_epoch &&
                           step == cur.epoch * per_epoch + cur.batch;
    if (step > total || epoch != cur.epoch || last_eval > step || !consistent)
        return CTCD_ERR(CTCD_E_PARSE, "%s: inconsistent progress (step %lld of %lld, epoch %lld, "
                        "cursor epoch %lld batch %lld, last evaluation at step %lld)", path,
                        (long long)step, (long long)total, (long long)epoch,
                        (long long)cur.epoch, (long long)cur.batch, (long long)last_eval);
    if (t->total_steps < step)
        return CTCD_ERR(CTCD_E_INVALID, "%s: the state is at step %lld but the recipe now asks "
                        "for %lld steps (train.max_steps / train.epochs)", path,
                        (long long)step, (long long)t->total_steps);
    if (t->total_steps != total)
        ctcd_info("run length changed from %lld to %lld steps (the learning-rate schedule "
                  "follows the new length)", (long long)total, (long long)t->total_steps);
    for (int i = 0; i < t->n_models; i++) {
        char key[64];
        snprintf(key, sizeof key, "best.%s", t->models[i]->name);
        CTCD_TRY(md_f64(f, key, &t->best[i]));
    }
    CTCD_TRY(ctcd_error_wrap(ctcd_trainer_seek(t, cur), "%s", path));
    t->step = step;
    t->last_eval_step = last_eval;
    t->skipped_steps = skipped;
    return CTCD_OK;
}

ctcd_status ctcd_train_state_load(ctcd_trainer *t, const char *path) {
    ctcd_st_file *f = NULL;
    CTCD_TRY(ctcd_st_open(path, &f));
    ctcd_status st = check_format(f);
    if (!st) st = state_recipe_check(f, &t->rc);
    if (!st) st = load_progress(f, t);
    state_slot slots[4];
    const int n_slots = state_slots(t, slots);
    for (int i = 0; !st && i < n_slots; i++) st = load_slot(f, &slots[i]);
    ctcd_st_close(f);
    if (!st) ctcd_debug("loaded training state at step %lld from %s", (long long)t->step, path);
    return st;
}
