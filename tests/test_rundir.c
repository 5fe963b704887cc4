/* test_rundir.c — run-directory safety (include/ctcd/run_dir.h): `ctcd train` refuses an
 * output directory that already holds a run unless --force or --resume, --force starts
 * over without touching files ctcd does not write, and a run directory held by another
 * process (its .lock flock'ed) is refused with the holder's pid — also for --resume —
 * while a killed holder leaves no stale lock. */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctcd/run_dir.h"
#include "resume_fixture.h"

static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "data: {demo: {train_examples: 100, dev_examples: 30}}\n"
    "train: {max_steps: 3, log_every: 1}\n";

typedef struct fixture {
    char *dir, *recipe, *run;
} fixture;

static fixture setup_fixture(void) {
    fixture f;
    f.dir = ctcd_test_tmpdir();
    f.recipe = path_in(f.dir, "r.yaml");
    f.run = path_in(f.dir, "run");
    cr_assert_eq(ctcd_test_write_file(f.recipe, RECIPE), 0);
    return f;
}

static void teardown_fixture(fixture *f) {
    ctcd_test_rmtree(f->dir);
    free(f->dir);
    free(f->recipe);
    free(f->run);
}

static int train(const fixture *f, const char *extra, char **out) {
    char args[9000];
    snprintf(args, sizeof args, "train '%s' --set output='%s' %s", f->recipe, f->run, extra);
    return ctcd_test_run_cli(args, out);
}

static int exists(const char *dir, const char *name) {
    char *p = path_in(dir, name);
    const int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

Test(rundir, existing_run_is_refused_without_force_or_resume, .timeout = 120) {
    fixture f = setup_fixture();
    char *out = NULL;
    int rc = train(&f, "--quiet", &out);
    cr_assert_eq(rc, 0, "first run: exit %d: %s", rc, out);
    free(out);
    rc = train(&f, "", &out);
    cr_assert_eq(rc, 1, "second run into the same directory: exit %d: %s", rc, out);
    char want[4300];
    snprintf(want, sizeof want, "output directory %s already holds a run (%s/recipe.yaml)",
             f.run, f.run);
    cr_expect_not_null(strstr(out, want), "message: %s", out);
    cr_expect_not_null(strstr(out, "--resume"), "no --resume hint: %s", out);
    cr_expect_not_null(strstr(out, "--force"), "no --force hint: %s", out);
    free(out);
    /* the refused run touched nothing: the first run's log is intact */
    char *log = path_in(f.run, "log.jsonl"), *text = read_log(log);
    cr_expect_not_null(strstr(text, "\"step\":3,"), "log.jsonl lost: %s", text);
    free(text);
    free(log);
    rc = ctcd_test_run_cli("train --force --resume /tmp/x", &out);
    cr_expect_eq(rc, 2, "--force with --resume: exit %d: %s", rc, out);
    free(out);
    teardown_fixture(&f);
}

Test(rundir, force_starts_over_and_keeps_foreign_files, .timeout = 120) {
    fixture f = setup_fixture();
    char *out = NULL;
    int rc = train(&f, "--quiet", &out);
    cr_assert_eq(rc, 0, "first run: exit %d: %s", rc, out);
    free(out);
    cr_assert(exists(f.run, "state/train_state.safetensors"));
    cr_assert(exists(f.run, "large/last/model.safetensors"));
    char *mine = path_in(f.run, "notes.txt"), *mine2 = path_in(f.run, "large/last/mine.txt");
    cr_assert_eq(ctcd_test_write_file(mine, "the user's\n"), 0);
    cr_assert_eq(ctcd_test_write_file(mine2, "also the user's\n"), 0);
    /* the library's REPLACE, as --force: old run files gone, foreign files kept */
    cr_assert_null(ctcd_run_dir_prepare(f.run, CTCD_RUN_REPLACE));
    cr_expect(!exists(f.run, "recipe.yaml") && !exists(f.run, "log.jsonl") &&
              !exists(f.run, "state/train_state.safetensors") &&
              !exists(f.run, "large/last/model.safetensors") &&
              !exists(f.run, "small/best/config.json"), "a previous run file survived");
    cr_expect(exists(f.run, "notes.txt") && exists(f.run, "large/last/mine.txt"),
              "a file ctcd does not write was removed");
    cr_expect(!ctcd_run_dir_has_run(f.run, NULL, 0));
    rc = train(&f, "--force --quiet --set train.max_steps=2", &out);
    cr_assert_eq(rc, 0, "--force run: exit %d: %s", rc, out);
    free(out);
    rc = train(&f, "--force --quiet --set train.max_steps=2", &out);
    cr_assert_eq(rc, 0, "--force over a finished run: exit %d: %s", rc, out);
    free(out);
    char *log = path_in(f.run, "log.jsonl"), *text = read_log(log);
    cr_expect_null(strstr(text, "\"step\":3,"), "the old run's lines remain: %s", text);
    cr_expect_not_null(strstr(text, "\"step\":2,"), "log: %s", text);
    free(text);
    free(log);
    free(mine);
    free(mine2);
    teardown_fixture(&f);
}

/* A child holds the lock until told to go (or killed); returns its pid. */
static pid_t hold_lock(const char *dir, int *release_fd) {
    int ready[2], go[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = -1;
        ctcd_status st = ctcd_run_dir_lock(dir, &fd);
        char c = st ? 'E' : 'L';
        if (write(ready[1], &c, 1) != 1) _exit(3);
        if (read(go[0], &c, 1) < 0) _exit(4);
        ctcd_run_dir_unlock(fd);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    cr_assert_eq(read(ready[0], &c, 1), 1);
    cr_assert_eq(c, 'L', "the child could not take the lock");
    close(ready[0]);
    *release_fd = go[1];
    return pid;
}

Test(rundir, locked_directory_is_refused_naming_the_holder_pid, .timeout = 120) {
    fixture f = setup_fixture();
    int go = -1;
    const pid_t holder = hold_lock(f.run, &go);
    char pid_text[64];
    snprintf(pid_text, sizeof pid_text, "in use by process %ld", (long)holder);

    int fd = -1;
    ctcd_status st = ctcd_run_dir_lock(f.run, &fd);
    cr_assert_not_null(st, "a second lock on %s succeeded", f.run);
    cr_expect_not_null(strstr(ctcd_status_message(st), pid_text), "message: %s",
                       ctcd_status_message(st));
    cr_expect_not_null(strstr(ctcd_status_message(st), f.run), "directory not named: %s",
                       ctcd_status_message(st));
    ctcd_status_free(st);

    char *out = NULL;
    int rc = train(&f, "", &out);
    cr_assert_eq(rc, 1, "train into a locked directory: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, pid_text), "holder pid not named: %s", out);
    free(out);
    cr_expect(!exists(f.run, "recipe.yaml"), "the refused run wrote into the directory");

    /* --resume of a locked run is refused too (before the logs are cut) */
    char args[9000];
    cr_assert_eq(ctcd_test_write_file(f.recipe, RECIPE), 0);
    char *fake_state = path_in(f.run, "state");
    mkdir(fake_state, 0755);
    free(fake_state);
    fake_state = path_in(f.run, "state/train_state.safetensors");
    cr_assert_eq(ctcd_test_write_file(fake_state, "x"), 0);
    char *rec = path_in(f.run, "recipe.yaml");
    cr_assert_eq(ctcd_test_write_file(rec, RECIPE), 0);
    snprintf(args, sizeof args, "train --resume '%s'", f.run);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 1, "resume of a locked run: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, pid_text), "holder pid not named: %s", out);
    free(out);
    free(rec);
    free(fake_state);

    /* the holder dies by SIGKILL: the kernel drops the lock, nothing stale remains */
    kill(holder, SIGKILL);
    int status;
    cr_assert_eq(waitpid(holder, &status, 0), holder);
    close(go);
    st = ctcd_run_dir_lock(f.run, &fd);
    cr_assert_null(st, "lock after the holder was killed: %s", ctcd_status_message(st));
    ctcd_run_dir_unlock(fd);
    teardown_fixture(&f);
}

/* Two trainers of one process on one directory: the second is refused as well (flock
 * locks belong to the open file, not the process). */
Test(rundir, second_trainer_on_same_directory_is_refused, .timeout = 120) {
    char *dir = ctcd_test_tmpdir();
    ctcd_recipe r = small_demo_recipe();
    snprintf(r.output, sizeof r.output, "%s/run", dir);
    ctcd_trainer *a = NULL, *b = NULL;
    cr_assert_null(ctcd_trainer_create(&r, &a));
    ctcd_status st = ctcd_trainer_create(&r, &b);
    cr_assert_not_null(st, "two trainers share %s", r.output);
    char want[64];
    snprintf(want, sizeof want, "in use by process %ld", (long)getpid());
    cr_expect_not_null(strstr(ctcd_status_message(st), want), "message: %s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_trainer_destroy(a);
    cr_assert_null(ctcd_trainer_create(&r, &b), "after the first trainer is gone");
    ctcd_trainer_destroy(b);
    ctcd_test_rmtree(dir);
    free(dir);
}
