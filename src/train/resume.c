/* resume.c — `ctcd train --resume RUN_DIR` as a library call (include/ctcd/resume.h):
 * the run's own recipe.yaml, the few overrides a resumed run may take, the logs cut back to
 * the saved state, then a trainer built in append mode and the state loaded into it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/log.h"
#include "ctcd/resume.h"
#include "ctcd/safetensors.h"
#include "state_recipe.h"
#include "train_internal.h"

/* "KEY=VALUE" with a key a resumed run may change (output is set from RUN_DIR instead). */
static ctcd_status check_override(const char *assignment) {
    char key[256];
    const size_t n = strcspn(assignment, "=");
    snprintf(key, sizeof key, "%.*s", (int)(n < sizeof key ? n : sizeof key - 1), assignment);
    if (strcmp(key, "output") != 0 && state_key_may_change(key)) return CTCD_OK;
    return CTCD_ERR(CTCD_E_INVALID, "--set %s: '%s' cannot change when resuming (the run must "
                    "continue as it started); only train.max_steps, train.epochs, "
                    "train.checkpoint_every, train.log_every and train.zero may be set with --resume",
                    assignment, key);
}

/* Cuts <run_dir>/<name> back to the size recorded under md_key when it grew since: those
 * lines belong to steps the resumed run is about to redo. */
static ctcd_status cut_log(const ctcd_st_file *f, const char *run_dir, const char *name,
                           const char *md_key) {
    const char *s = ctcd_st_metadata(f, md_key);
    char *end;
    const long long saved = s ? strtoll(s, &end, 10) : -1;
    if (!s || !*s || *end)
        return CTCD_ERR(CTCD_E_PARSE, "%s: __metadata__ key '%s' missing or not an integer",
                        ctcd_st_path(f), md_key);
    if (saved < 0) return CTCD_OK; /* the run had no such log */
    char path[CTCD_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", run_dir, name);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ctcd_warn("%s is missing; the resumed run starts a new one", path);
        return CTCD_OK;
    }
    if ((long long)sb.st_size < saved) {
        ctcd_warn("%s is shorter than when the state was saved (%lld < %lld bytes); appending "
                  "anyway", path, (long long)sb.st_size, saved);
    } else if ((long long)sb.st_size > saved) {
        if (truncate(path, (off_t)saved) != 0)
            return CTCD_ERR(CTCD_E_IO, "cannot cut %s back to %lld bytes: %s", path, saved,
                            strerror(errno));
        ctcd_info("%s: dropped %lld bytes logged after the saved state", path,
                  (long long)sb.st_size - saved);
    }
    return CTCD_OK;
}

/* Checks the state against rc and cuts the logs, before anything is built. */
static ctcd_status prepare(const char *state_path, const char *run_dir, const ctcd_recipe *rc) {
    CTCD_TRY(ctcd_train_state_check_recipe(state_path, rc));
    ctcd_st_file *f = NULL;
    CTCD_TRY(ctcd_st_open(state_path, &f));
    ctcd_status st = cut_log(f, run_dir, "log.jsonl", "log_bytes");
    if (!st) st = cut_log(f, run_dir, "eval.jsonl", "eval_bytes");
    ctcd_st_close(f);
    return st;
}

/* Where a run directory keeps its recipe and its training state. */
typedef struct run_paths {
    char recipe[CTCD_PATH_MAX], state[CTCD_PATH_MAX + 64];
} run_paths;

/* The run's recipe with the overrides applied (output = run_dir) and its paths. */
static ctcd_status load_run_recipe(const char *run_dir, const char *const *overrides,
                                   int n_overrides, ctcd_recipe *rc, run_paths *p) {
    char *recipe_path = p->recipe, *state_path = p->state;
    const size_t recipe_cap = sizeof p->recipe, state_cap = sizeof p->state;
    for (int i = 0; i < n_overrides; i++) CTCD_TRY(check_override(overrides[i]));
    if (snprintf(recipe_path, recipe_cap, "%s/recipe.yaml", run_dir) >= (int)recipe_cap)
        return CTCD_ERR(CTCD_E_INVALID, "--resume %s: path too long", run_dir);
    ctcd_train_state_path(run_dir, state_path, state_cap);
    if (access(state_path, F_OK) != 0)
        return CTCD_ERR(CTCD_E_IO, "--resume %s: no training state %s (%s); was the run "
                        "started with an output directory, and did it save a state?",
                        run_dir, state_path, strerror(errno));
    CTCD_TRY(ctcd_error_wrap(ctcd_recipe_load(recipe_path, overrides, n_overrides, rc),
                             "--resume %s", run_dir));
    snprintf(rc->output, sizeof rc->output, "%s", run_dir);
    return CTCD_OK;
}

/* Loads the state into a freshly built t; destroys t on failure. */
static ctcd_status load_state(ctcd_trainer *t, const char *run_dir, const char *state_path) {
    ctcd_status st = ctcd_train_state_load(t, state_path);
    if (!st && t->step >= t->total_steps)
        st = CTCD_ERR(CTCD_E_INVALID, "%s: the run is already complete (step %lld of %lld); "
                      "extend it with --set train.max_steps=N or --set train.epochs=N",
                      run_dir, (long long)t->step, (long long)t->total_steps);
    if (st) ctcd_trainer_destroy(t);
    return st;
}

ctcd_status ctcd_trainer_resume(const char *run_dir, const char *const *overrides,
                                int n_overrides, ctcd_trainer **out) {
    *out = NULL;
    run_paths p;
    ctcd_recipe rc;
    CTCD_TRY(load_run_recipe(run_dir, overrides, n_overrides, &rc, &p));
    const char *state_path = p.state;
    /* locked before the logs are cut: a run still writing them must not be resumed */
    int lock_fd = -1;
    CTCD_TRY(ctcd_run_dir_lock(run_dir, &lock_fd));
    ctcd_run_dir_clean_temps(run_dir);
    ctcd_status st = prepare(state_path, run_dir, &rc);
    if (st) {
        ctcd_run_dir_unlock(lock_fd);
        return st;
    }
    ctcd_trainer *t = NULL;
    CTCD_TRY(ctcd_trainer_create_mode(&rc, 1, CTCD_RUN_OVERWRITE, &lock_fd, &t));
    CTCD_TRY(load_state(t, run_dir, state_path));
    /* the extended length (if any) becomes the run's recipe for the next resume */
    st = ctcd_recipe_write(&t->rc, p.recipe);
    if (st) {
        ctcd_trainer_destroy(t);
        return st;
    }
    *out = t;
    return CTCD_OK;
}

ctcd_status ctcd_trainer_resume_follower(const char *run_dir, const char *const *overrides,
                                         int n_overrides, ctcd_trainer **out) {
    *out = NULL;
    run_paths p;
    ctcd_recipe rc;
    CTCD_TRY(load_run_recipe(run_dir, overrides, n_overrides, &rc, &p));
    const char *state_path = p.state;
    CTCD_TRY(ctcd_train_state_check_recipe(state_path, &rc));
    rc.output[0] = '\0';
    ctcd_trainer *t = NULL;
    CTCD_TRY(ctcd_trainer_create_ex(&rc, CTCD_RUN_REFUSE, &t));
    CTCD_TRY(load_state(t, run_dir, state_path));
    *out = t;
    return CTCD_OK;
}
