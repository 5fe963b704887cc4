/* test_fileio_faults.c — a full disk and a read-only output directory: every failed write
 * is an error naming the file and the errno reason, leaves no temp file behind, and the
 * previous training state / checkpoint stays whole and loadable. The full disk comes from
 * fileio.h's CTCD_TEST_FAIL_WRITE hook (ENOSPC on writes to matching paths), or /dev/full
 * for the run's logs; the read-only case needs a non-root user (root ignores permissions)
 * and is skipped otherwise. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/safetensors.h"
#include "resume_fixture.h"

static int count_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

/* A trainer on a run directory in a fresh temp dir, 2 steps done and its state saved. */
static ctcd_trainer *started_run(char **tmp, char **run) {
    ctcd_log_set_level(CTCD_LOG_ERROR);
    *tmp = ctcd_test_tmpdir();
    *run = path_in(*tmp, "run");
    ctcd_recipe r = resume_recipe(*run);
    r.train.max_steps = 8;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    for (int k = 0; k < 2; k++) {
        const ctcd_batch *b;
        cr_assert(ctcd_trainer_next_batch(t, &b));
        ctcd_step_stats s;
        cr_assert_null(ctcd_trainer_step(t, b, &s));
    }
    cr_assert_null(ctcd_train_state_save_run(t));
    const ctcd_batch *b;
    cr_assert(ctcd_trainer_next_batch(t, &b));
    ctcd_step_stats s;
    cr_assert_null(ctcd_trainer_step(t, b, &s)); /* step 3: a new state would differ */
    return t;
}

static void expect_names(ctcd_status st, const char *file, const char *reason) {
    cr_assert_not_null(st, "the write succeeded");
    const char *msg = ctcd_status_message(st);
    cr_expect_not_null(strstr(msg, file), "file not named: %s", msg);
    cr_expect_not_null(strstr(msg, reason), "reason '%s' not given: %s", reason, msg);
    ctcd_status_free(st);
}

static void expect_resumes_at(const char *run, int64_t step) {
    const char *more[] = {"train.max_steps=8"};
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_resume(run, more, 1, &t);
    cr_assert_null(st, "the previous state does not load: %s", ctcd_status_message(st));
    const int64_t at = ctcd_trainer_progress(t).step;
    cr_expect_eq(at, step, "resumed at step %lld", (long long)at);
    ctcd_trainer_destroy(t);
}

Test(fileio_faults, full_disk_during_state_write_keeps_previous_state, .timeout = 120) {
    char *tmp, *run;
    ctcd_trainer *t = started_run(&tmp, &run);
    char state[4200], *state_dir = path_in(run, "state");
    ctcd_train_state_path(run, state, sizeof state);
    setenv("CTCD_TEST_FAIL_WRITE", "train_state", 1);
    expect_names(ctcd_train_state_save_run(t), state, "No space left on device");
    cr_expect_eq(count_temps(state_dir), 0, "a temp file was left in %s", state_dir);
    /* another errno through the same path: a quota */
    setenv("CTCD_TEST_FAIL_WRITE", "train_state:122", 1);
    expect_names(ctcd_train_state_save_run(t), state, "quota");
    unsetenv("CTCD_TEST_FAIL_WRITE");
    ctcd_trainer_destroy(t);
    expect_resumes_at(run, 2);
    ctcd_test_rmtree(tmp);
    free(state_dir);
    free(run);
    free(tmp);
}

Test(fileio_faults, full_disk_during_checkpoint_keeps_previous_checkpoint, .timeout = 120) {
    char *tmp, *run;
    ctcd_trainer *t = started_run(&tmp, &run);
    cr_assert_null(ctcd_trainer_save(t, 0, "last"));
    char *model = path_in(run, "large/last/model.safetensors"), *before = NULL;
    char *last_dir = path_in(run, "large/last");
    FILE *f = fopen(model, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    rewind(f);
    before = malloc((size_t)n);
    cr_assert_eq(fread(before, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    const ctcd_batch *b;
    cr_assert(ctcd_trainer_next_batch(t, &b));
    ctcd_step_stats s;
    cr_assert_null(ctcd_trainer_step(t, b, &s));
    setenv("CTCD_TEST_FAIL_WRITE", "model.safetensors", 1);
    expect_names(ctcd_trainer_save(t, 0, "last"), model, "No space left on device");
    unsetenv("CTCD_TEST_FAIL_WRITE");
    cr_expect_eq(count_temps(last_dir), 0, "a temp file was left in %s", last_dir);
    char *after = NULL;
    f = fopen(model, "rb");
    cr_assert_not_null(f);
    after = malloc((size_t)n + 1);
    const size_t got = fread(after, 1, (size_t)n + 1, f);
    fclose(f);
    cr_expect(got == (size_t)n && memcmp(before, after, (size_t)n) == 0,
              "the previous checkpoint %s changed", model);
    ctcd_st_file *sf = NULL;
    ctcd_status st = ctcd_st_open(model, &sf);
    cr_expect_null(st, "previous checkpoint does not open: %s", ctcd_status_message(st));
    ctcd_st_close(sf);
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(tmp);
    free(before);
    free(after);
    free(model);
    free(last_dir);
    free(run);
    free(tmp);
}

/* The CLI on a disk that fills up at the first state write: exit 1, the message names the
 * state file and the reason, and nothing half-written is left. */
Test(fileio_faults, cli_reports_full_disk_with_file_and_reason, .timeout = 120) {
    char *tmp = ctcd_test_tmpdir();
    char *recipe = path_in(tmp, "r.yaml"), *run = path_in(tmp, "run");
    cr_assert_eq(ctcd_test_write_file(recipe,
        CTCD_TEST_EXTENDS("tiny-small.yaml")
        "data: {demo: {train_examples: 100, dev_examples: 30}}\n"
        "train: {max_steps: 4, checkpoint_every: 2}\n"), 0);
    char args[9000], state[4200];
    ctcd_train_state_path(run, state, sizeof state);
    snprintf(args, sizeof args, "train '%s' --set output='%s'", recipe, run);
    setenv("CTCD_TEST_FAIL_WRITE", "train_state", 1);
    char *out = NULL;
    const int rc = ctcd_test_run_cli(args, &out);
    unsetenv("CTCD_TEST_FAIL_WRITE");
    cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
    char want[4400];
    snprintf(want, sizeof want, "ctcd: error: saving the training state at step 2: %s: write "
             "failed: No space left on device", state);
    cr_expect_not_null(strstr(out, want), "wanted '%s' in: %s", want, out);
    free(out);
    char *state_dir = path_in(run, "state");
    cr_expect_eq(count_temps(state_dir), 0);
    cr_expect(access(state, F_OK) != 0, "a state file appeared despite the failed write");
    ctcd_test_rmtree(tmp);
    free(state_dir);
    free(recipe);
    free(run);
    free(tmp);
}

/* log.jsonl on a full device (/dev/full): the run stops naming the log and the reason
 * instead of silently dropping lines. */
Test(fileio_faults, full_disk_for_the_log_is_an_error, .timeout = 120) {
    if (access("/dev/full", W_OK) != 0) cr_skip_test("no writable /dev/full");
    char *tmp, *run;
    ctcd_trainer *t = started_run(&tmp, &run);
    ctcd_trainer_destroy(t);
    char *log = path_in(run, "log.jsonl");
    cr_assert_eq(unlink(log), 0);
    cr_assert_eq(symlink("/dev/full", log), 0);
    const char *more[] = {"train.max_steps=8", "train.log_every=1"};
    ctcd_status st = ctcd_trainer_resume(run, more, 2, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_eval_result res;
    expect_names(ctcd_trainer_run(t, &res), log, "No space left on device");
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(tmp);
    free(log);
    free(run);
    free(tmp);
}

/* A state directory that turned read-only: the error names the file and EACCES; the
 * previous state loads. Root ignores permissions, so this part only runs as a user. */
Test(fileio_faults, read_only_state_directory_keeps_previous_state, .timeout = 120) {
    if (geteuid() == 0) cr_skip_test("running as root: permissions are not enforced");
    char *tmp, *run;
    ctcd_trainer *t = started_run(&tmp, &run);
    char state[4200], *state_dir = path_in(run, "state");
    ctcd_train_state_path(run, state, sizeof state);
    cr_assert_eq(chmod(state_dir, 0555), 0);
    expect_names(ctcd_train_state_save_run(t), state, "Permission denied");
    cr_assert_eq(chmod(state_dir, 0755), 0);
    ctcd_trainer_destroy(t);
    expect_resumes_at(run, 2);
    /* a new run under a read-only parent: the directory and the reason are named */
    char *ro = path_in(tmp, "ro");
    cr_assert_eq(mkdir(ro, 0555), 0);
    char *sub = path_in(ro, "run");
    ctcd_recipe r = resume_recipe(sub);
    ctcd_status st = ctcd_trainer_create(&r, &t);
    expect_names(st, sub, "Permission denied");
    chmod(ro, 0755);
    ctcd_test_rmtree(tmp);
    free(ro);
    free(sub);
    free(state_dir);
    free(run);
    free(tmp);
}

/* ctcd_text_file (the reports, recipe.yaml, summary.md, submissions): the text appears
 * whole; a full disk is an error naming the file, the old file stays and no temp is left. */
Test(fileio_faults, text_file_publishes_whole_or_not_at_all) {
    char *tmp = ctcd_test_tmpdir();
    char *path = path_in(tmp, "report.md");
    ctcd_text_file t;
    cr_assert_null(ctcd_text_open(&t, path));
    for (int i = 0; i < 5000; i++) fprintf(t.f, "| row %d |\n", i);
    cr_assert_null(ctcd_text_publish(&t, path));
    cr_assert_null(t.text, "the buffer was not released");
    char *text = ctcd_test_read_file(path);
    cr_assert_not_null(text);
    cr_assert(strncmp(text, "| row 0 |\n", 10) == 0 && strstr(text, "| row 4999 |\n") &&
                  strlen(text) == 10 * 10 + 90 * 11 + 900 * 12 + 4000 * 13, /* by digits */
              "published %zu bytes", text ? strlen(text) : 0);
    free(text);

    cr_assert_null(ctcd_text_open(&t, path));
    fputs("a newer report\n", t.f);
    setenv("CTCD_TEST_FAIL_WRITE", "report.md", 1);
    ctcd_status st = ctcd_text_publish(&t, path);
    unsetenv("CTCD_TEST_FAIL_WRITE");
    expect_names(st, "report.md", "No space left on device");
    text = ctcd_test_read_file(path);
    cr_assert(text && strstr(text, "| row 4999 |\n") && !strstr(text, "newer"),
              "the failed publish changed the old file");
    free(text);
    cr_assert_eq(count_temps(tmp), 0, "a temp file was left behind");
    ctcd_test_rmtree(tmp);
    free(path);
    free(tmp);
}
