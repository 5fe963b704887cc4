/* test_resume.c — resumable runs in process (CPU backend): a run stopped at step K and
 * resumed from its state file takes bitwise the same steps and ends with bitwise the same
 * weights and moments as an uninterrupted run (mid-epoch and at an epoch boundary); the
 * state file records progress and recipe; corrupt or truncated files, recipe mismatches and
 * forbidden overrides fail with messages naming the file and the key; a failed write leaves
 * the previous state loadable. */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctcd/safetensors.h"
#include "resume_fixture.h"

#define TOTAL 26 /* 2 epochs of 13 steps */

/* Uninterrupted run vs the same run stopped after step K and resumed from its state. */
static void check_resume_is_bitwise(int64_t K) {
    char *dir = ctcd_test_tmpdir();
    char *straight_dir = path_in(dir, "straight"), *split_dir = path_in(dir, "split");
    static step_record a, b, c;
    ctcd_eval_result ra, rc;

    ctcd_recipe r = resume_recipe(straight_dir);
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const int64_t per_epoch = ctcd_trainer_progress(t).steps_per_epoch;
    cr_assert_eq(per_epoch * 2, TOTAL, "fixture gives %lld steps per epoch", (long long)per_epoch);
    run_recorded(t, &a, &ra);
    cr_assert_eq(ctcd_trainer_progress(t).step, TOTAL);
    float *want[2] = {download_state(t, 0), download_state(t, 1)};
    ctcd_trainer_destroy(t);

    r = resume_recipe(split_dir);
    cr_assert_null(ctcd_trainer_create(&r, &t));
    b.stop_at = K;
    run_recorded(t, &b, NULL);
    const ctcd_train_progress p = ctcd_trainer_progress(t);
    cr_assert_eq(p.stop_signal, SIGINT, "the run did not stop on the request");
    cr_assert_eq(p.step, K, "stopped at step %lld, not %lld", (long long)p.step, (long long)K);
    assert_same_terms(&a, &b, 1, K);
    ctcd_trainer_destroy(t);
    ctcd_interrupt_clear();

    st = ctcd_trainer_resume(split_dir, NULL, 0, &t);
    cr_assert_null(st, "resume: %s", ctcd_status_message(st));
    cr_assert_eq(ctcd_trainer_progress(t).step, K);
    run_recorded(t, &c, &rc);
    cr_assert_eq(c.first, K + 1, "resumed run started at step %lld", (long long)c.first);
    cr_assert_eq(c.last, TOTAL);
    assert_same_terms(&a, &c, K + 1, TOTAL);
    assert_resumed_like_straight(t, want, &ra, &rc, straight_dir, split_dir);
    ctcd_test_rmtree(dir);
    free(straight_dir);
    free(split_dir);
    free(dir);
}

Test(resume, mid_epoch_resume_is_bitwise, .timeout = 300) { check_resume_is_bitwise(5); }

Test(resume, epoch_boundary_resume_is_bitwise, .timeout = 300) { check_resume_is_bitwise(13); }

/* Steps t until its step == until, skipping epoch ends, recording into rec. */
static void manual_steps(ctcd_trainer *t, int64_t until, step_record *rec) {
    while (ctcd_trainer_progress(t).step < until) {
        const ctcd_batch *b;
        if (!ctcd_trainer_next_batch(t, &b)) continue;
        ctcd_step_stats s;
        ctcd_status st = ctcd_trainer_step(t, b, &s);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        memcpy(rec->terms[ctcd_trainer_progress(t).step - 1], s.terms, sizeof s.terms);
    }
}

Test(resume, state_file_round_trip_without_run_directory, .timeout = 300) {
    /* The library calls alone: save at step 16 (second epoch), load into a new trainer. */
    char *dir = ctcd_test_tmpdir();
    char *path = path_in(dir, "deep/er/state.safetensors");
    ctcd_recipe r = resume_recipe("");
    static step_record a, b;
    ctcd_trainer *t = NULL;
    cr_assert_null(ctcd_trainer_create(&r, &t));
    manual_steps(t, 20, &a);
    float *want[2] = {download_state(t, 0), download_state(t, 1)};
    ctcd_trainer_destroy(t);

    cr_assert_null(ctcd_trainer_create(&r, &t));
    manual_steps(t, 16, &b);
    ctcd_status st = ctcd_train_state_save(t, path);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_trainer_destroy(t);

    cr_assert_null(ctcd_trainer_create(&r, &t));
    st = ctcd_train_state_load(t, path);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_train_progress p = ctcd_trainer_progress(t);
    cr_assert_eq(p.step, 16);
    cr_assert_eq(p.cursor.epoch, 1);
    cr_assert_eq(p.cursor.batch, 3);
    manual_steps(t, 20, &b);
    assert_same_terms(&a, &b, 17, 20);
    for (int i = 0; i < ctcd_trainer_n_models(t); i++) {
        float *got = download_state(t, i);
        assert_same_state(t, i, want[i], got);
        free(got);
        free(want[i]);
    }
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(dir);
    free(path);
    free(dir);
}

/* A finished 4-step run in <tmp>/run; returns the run directory (malloc'd). */
static char *finished_run(char **tmp) {
    *tmp = ctcd_test_tmpdir();
    char *run = path_in(*tmp, "run");
    ctcd_recipe r = resume_recipe(run);
    r.train.max_steps = 4;
    ctcd_trainer *t = NULL;
    cr_assert_null(ctcd_trainer_create(&r, &t));
    ctcd_eval_result res;
    ctcd_status st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_trainer_destroy(t);
    return run;
}

static void expect_error(ctcd_status st, const char *a, const char *b) {
    cr_assert_not_null(st, "expected an error naming '%s'", a);
    const char *msg = ctcd_status_message(st);
    cr_expect_not_null(strstr(msg, a), "error does not name '%s': %s", a, msg);
    if (b) cr_expect_not_null(strstr(msg, b), "error does not name '%s': %s", b, msg);
    ctcd_status_free(st);
}

Test(resume, state_file_records_progress_and_recipe) {
    char *tmp, *run = finished_run(&tmp);
    char state[4096];
    ctcd_train_state_path(run, state, sizeof state);
    ctcd_st_file *f = NULL;
    ctcd_status st = ctcd_st_open(state, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const struct {
        const char *key, *want;
    } md[] = {{"format", "ctcd-train-state"}, {"version", "1"}, {"step", "4"},
              {"total_steps", "4"}, {"epoch", "0"}, {"cursor_epoch", "0"},
              {"cursor_batch", "4"}, {"final_eval", "true"}, {"last_eval_step", "4"},
              {"seed", "42"}, {"models", "large,small"}, {"recipe.train.seed", "42"},
              {"recipe.models.large.layers", "2"}, {"recipe.train.batch", "16"}};
    for (size_t i = 0; i < sizeof md / sizeof md[0]; i++) {
        const char *v = ctcd_st_metadata(f, md[i].key);
        cr_expect(v && strcmp(v, md[i].want) == 0, "metadata %s is '%s', expected '%s'",
                  md[i].key, v ? v : "(missing)", md[i].want);
    }
    cr_expect_null(ctcd_st_metadata(f, "recipe.train.max_steps"),
                   "train.max_steps may change on resume and must not be fingerprinted");
    cr_expect_not_null(ctcd_st_metadata(f, "recipe_fingerprint"));
    cr_expect_not_null(ctcd_st_metadata(f, "best.large"));
    const char *names[] = {"large.master", "large.adam_m", "large.adam_v", "small.master",
                           "small.adam_m", "small.adam_v"};
    for (int i = 0; i < 6; i++) {
        const ctcd_st_tensor *x = ctcd_st_find(f, names[i]);
        cr_assert_not_null(x, "tensor %s missing", names[i]);
        cr_expect_str_eq(x->dtype, "F32");
        cr_expect_eq(x->ndim, 1);
    }
    ctcd_st_close(f);
    ctcd_test_rmtree(tmp);
    free(run);
    free(tmp);
}

Test(resume, complete_run_needs_extension_and_extends) {
    char *tmp, *run = finished_run(&tmp);
    ctcd_trainer *t = NULL;
    expect_error(ctcd_trainer_resume(run, NULL, 0, &t), "already complete", "train.max_steps");
    const char *more[] = {"train.max_steps=7"};
    ctcd_status st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(ctcd_trainer_progress(t).step, 4);
    cr_assert_eq(ctcd_trainer_progress(t).total_steps, 7);
    ctcd_eval_result res;
    st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(ctcd_trainer_progress(t).step, 7);
    ctcd_trainer_destroy(t);
    /* the extension is now the run's recipe */
    expect_error(ctcd_trainer_resume(run, NULL, 0, &t), "already complete (step 7 of 7)", NULL);
    ctcd_test_rmtree(tmp);
    free(run);
    free(tmp);
}

Test(resume, overrides_other_than_length_are_refused) {
    char *tmp, *run = finished_run(&tmp);
    ctcd_trainer *t = NULL;
    const char *lr[] = {"train.max_steps=8", "train.lr.small=1e-2"};
    expect_error(ctcd_trainer_resume(run, lr, 2, &t), "train.lr.small", "--resume");
    const char *out[] = {"output=/elsewhere"};
    expect_error(ctcd_trainer_resume(run, out, 1, &t), "'output'", NULL);
    cr_assert_null(t);
    ctcd_test_rmtree(tmp);
    free(run);
    free(tmp);
}

Test(resume, recipe_mismatch_names_each_key) {
    char *tmp, *run = finished_run(&tmp);
    char state[4096];
    ctcd_train_state_path(run, state, sizeof state);
    ctcd_recipe r = resume_recipe(run);
    r.train.max_steps = 99; /* may change: not a mismatch */
    snprintf(r.source, sizeof r.source, "%s/recipe.yaml", run);
    cr_assert_null(ctcd_train_state_check_recipe(state, &r));

    ctcd_recipe bad = r;
    bad.train.seed = 43;
    expect_error(ctcd_train_state_check_recipe(state, &bad), "train.seed is '43' (state: '42')",
                 state);
    bad = r;
    bad.models[CTCD_LARGE].layers = 3;
    bad.train.batch = 8;
    ctcd_status st = ctcd_train_state_check_recipe(state, &bad);
    expect_error(st, "models.large.layers is '3' (state: '2')", "train.batch is '8'");
    bad = r;
    snprintf(bad.task, sizeof bad.task, "sst2");
    expect_error(ctcd_train_state_check_recipe(state, &bad), "task is 'sst2'", "recipe.yaml");
    bad = r;
    bad.models[CTCD_SMALL].present = 0;
    expect_error(ctcd_train_state_check_recipe(state, &bad), "models is 'large'", NULL);

    /* the same through --resume: an edited recipe.yaml */
    char *yaml = path_in(run, "recipe.yaml");
    ctcd_recipe on_disk;
    cr_assert_null(ctcd_recipe_load(yaml, NULL, 0, &on_disk));
    on_disk.train.seed = 7;
    cr_assert_null(ctcd_recipe_write(&on_disk, yaml));
    ctcd_trainer *t = NULL;
    const char *more[] = {"train.max_steps=8"};
    expect_error(ctcd_trainer_resume(run, more, 1, &t), "train.seed is '7' (state: '42')", yaml);
    ctcd_test_rmtree(tmp);
    free(yaml);
    free(run);
    free(tmp);
}

/* Rewrites bytes [at, at+n) of path with `with`, or truncates it to `at` when with is NULL. */
static void damage(const char *path, long at, const char *with, size_t n) {
    if (!with) {
        cr_assert_eq(truncate(path, at), 0);
        return;
    }
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, at, SEEK_SET);
    fwrite(with, 1, n, f);
    fclose(f);
}

/* Reads path into *data (malloc'd); returns its size. */
static size_t slurp(const char *path, char **data) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)n);
    cr_assert_eq(fread(*data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return (size_t)n;
}

static void spill(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Rewrites the state's __metadata__ value of key (a "key":"value" pair in the header) to
 * value, re-padding the header; the data section is kept as it is. */
static void set_metadata(const char *path, const char *key, const char *value) {
    char *b;
    const size_t size = slurp(path, &b);
    uint64_t n = 0;
    memcpy(&n, b, 8);
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    char *at = memmem(b + 8, (size_t)n, pat, strlen(pat));
    cr_assert_not_null(at, "%s not in the header of %s", key, path);
    char *v = at + strlen(pat), *v_end = strchr(v, '"');
    char *hdr = malloc((size_t)n + 256);
    size_t h = (size_t)(v - (b + 8));
    memcpy(hdr, b + 8, h);
    h += (size_t)sprintf(hdr + h, "%s", value);
    const size_t tail = (size_t)(b + 8 + n - v_end);
    memcpy(hdr + h, v_end, tail);
    h += tail;
    while (h > 0 && hdr[h - 1] == ' ') h--;
    while (h % 8) hdr[h++] = ' ';
    FILE *f = fopen(path, "wb");
    const uint64_t hn = h;
    cr_assert_eq(fwrite(&hn, 1, 8, f), 8);
    cr_assert_eq(fwrite(hdr, 1, h, f), h);
    cr_assert_eq(fwrite(b + 8 + n, 1, size - 8 - n, f), size - 8 - n);
    fclose(f);
    free(hdr);
    free(b);
}

/* Found by review of the progress keys fuzz_resume mutates: a cursor epoch near INT64_MAX
 * overflowed epoch · steps_per_epoch (undefined behaviour), and a best score of "nan" was
 * accepted (no later evaluation could ever beat it). */
Test(resume, huge_cursor_and_nonfinite_best_are_errors) {
    char *tmp, *run = finished_run(&tmp);
    char state[4096], *good;
    ctcd_train_state_path(run, state, sizeof state);
    const size_t size = slurp(state, &good);
    const char *more[] = {"train.max_steps=8"};
    ctcd_trainer *t = NULL;
    set_metadata(state, "cursor_epoch", "9223372036854775807");
    set_metadata(state, "epoch", "9223372036854775807");
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, "inconsistent progress");
    spill(state, good, size);
    set_metadata(state, "cursor_batch", "9223372036854775807");
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, "inconsistent progress");
    spill(state, good, size);
    set_metadata(state, "best.large", "nan");
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, "'best.large'");
    spill(state, good, size);
    ctcd_status st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(tmp);
    free(good);
    free(run);
    free(tmp);
}

Test(resume, truncated_or_corrupt_state_names_the_file) {
    char *tmp, *run = finished_run(&tmp);
    char state[4096], *good;
    ctcd_train_state_path(run, state, sizeof state);
    const size_t size = slurp(state, &good);
    const char *more[] = {"train.max_steps=8"};
    ctcd_trainer *t = NULL;

    /* truncated in the data section, then inside the header */
    damage(state, (long)size / 2, NULL, 0);
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, NULL);
    damage(state, 20, NULL, 0);
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, NULL);
    /* garbage in the header */
    spill(state, good, size);
    damage(state, 9, "@@@@", 4);
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, NULL);
    /* a metadata value that is not a number */
    spill(state, good, size);
    char *at = memmem(good, size, "\"cursor_batch\":\"4\"", 18);
    cr_assert_not_null(at, "cursor_batch not found in the header");
    damage(state, (long)(at - good) + 16, "x", 1);
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, "'cursor_batch'");
    /* a safetensors file that is not a training state */
    const float x = 1.0f;
    ctcd_st_entry e = {.name = "w", .dtype = CTCD_F32, .src_dtype = CTCD_F32, .ndim = 1,
                       .shape = {1}, .data = &x};
    cr_assert_null(ctcd_st_write(state, &e, 1, NULL));
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, "format");
    /* no file at all */
    cr_assert_eq(unlink(state), 0);
    expect_error(ctcd_trainer_resume(run, more, 1, &t), state, NULL);
    cr_assert_null(t);
    /* the intact bytes still resume */
    spill(state, good, size);
    ctcd_status st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(tmp);
    free(good);
    free(run);
    free(tmp);
}

/* Files in dir whose name contains ".tmp-" (leftovers of an atomic write). */
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

Test(resume, failed_write_keeps_previous_state, .timeout = 300) {
    char *tmp, *run = finished_run(&tmp);
    char state[4096], state_dir[4096];
    ctcd_train_state_path(run, state, sizeof state);
    snprintf(state_dir, sizeof state_dir, "%s/state", run);
    const char *more[] = {"train.max_steps=8"};
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_batch *b;
    cr_assert(ctcd_trainer_next_batch(t, &b));
    ctcd_step_stats s;
    cr_assert_null(ctcd_trainer_step(t, b, &s)); /* step 5: the new state would differ */

    /* The child writes under a file-size limit far below the state's size. */
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* write() then fails with EFBIG instead of killing */
        struct rlimit lim = {.rlim_cur = 4096, .rlim_max = 4096};
        setrlimit(RLIMIT_FSIZE, &lim);
        ctcd_status cst = ctcd_train_state_save_run(t);
        const int named = cst && strstr(ctcd_status_message(cst), state) != NULL;
        _exit(cst == CTCD_OK ? 1 : named ? 0 : 2);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the writing child died (status %d)", status);
    cr_assert(WEXITSTATUS(status) == 0, "%s",
              WEXITSTATUS(status) == 1 ? "the write under RLIMIT_FSIZE succeeded"
                                       : "the write error does not name the state file");
    ctcd_trainer_destroy(t);
    cr_expect_eq(count_temp_files(state_dir), 0, "a temp file was left in %s", state_dir);

    st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "previous state not loadable: %s", ctcd_status_message(st));
    const int64_t at = ctcd_trainer_progress(t).step;
    cr_assert_eq(at, 4, "the previous state is at step %lld", (long long)at);
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(tmp);
    free(run);
    free(tmp);
}
