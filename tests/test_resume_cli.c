/* test_resume_cli.c — `ctcd train` stopped by a real signal and continued with --resume:
 * the CLI runs in a child (fork/exec), is sent SIGTERM (or two SIGINTs) once its first
 * periodic state file exists, exits 143 (130) with a resume hint, and the resumed run ends
 * with the same eval.jsonl, log.jsonl (timings aside) and last checkpoints as an
 * uninterrupted run. Also the --resume argument rules. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resume_fixture.h"

/* 75 steps of a tiny pair; a state every 10 steps (each write fsyncs, which costs), the
 * first early enough for the signal to land mid-run. */
static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "data: {demo: {train_examples: 400}}\n"
    "distill: {ramp_steps: 10, temperature: 2.0}\n"
    "train: {epochs: 3, log_every: 1, checkpoint_every: 10, lr: {large: 1e-3, small: 2e-3}}\n";

/* Starts `ctcd train RECIPE --set output=RUN` with stdout+stderr into out_path. */
static pid_t spawn_train(const char *recipe, const char *run, const char *out_path) {
    char set[4200];
    snprintf(set, sizeof set, "output=%s", run);
    char *const argv[] = {"ctcd", "train", (char *)recipe, "--set", set, NULL};
    const pid_t pid = ctcd_test_spawn_cli(argv, out_path, NULL);
    cr_assert_geq(pid, 0, "fork failed");
    return pid;
}

/* Waits until the child's first state file exists, then sends it the signals. */
static void signal_after_first_state(pid_t pid, const char *run, const int *sigs, int n) {
    char state[4200];
    ctcd_train_state_path(run, state, sizeof state);
    struct stat sb;
    for (int waited = 0; stat(state, &sb) != 0; waited += 2) {
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0,
                     "ctcd exited (status %d) before writing %s", status, state);
        cr_assert_lt(waited, 120000, "no state file %s after 120 s", state);
        ctcd_test_sleep_us(2000);
    }
    for (int i = 0; i < n; i++) {
        cr_assert_eq(kill(pid, sigs[i]), 0);
        if (i + 1 < n) ctcd_test_sleep_us(1000);
    }
}

static int wait_exit_status(pid_t pid, const char *out_path) {
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    char *out = read_log(out_path);
    cr_assert(WIFEXITED(status), "ctcd did not exit normally (status %d): %s", status, out);
    free(out);
    return WEXITSTATUS(status);
}

static void expect_same_bytes(const char *a, const char *b) {
    char *x, *y;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    cr_assert(fa && fb, "cannot open %s or %s", a, b);
    x = malloc(1 << 20);
    y = malloc(1 << 20);
    const size_t na = fread(x, 1, 1 << 20, fa), nb = fread(y, 1, 1 << 20, fb);
    fclose(fa);
    fclose(fb);
    cr_expect(na == nb && memcmp(x, y, na) == 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}

/* Interrupted with sigs[n] + resumed vs uninterrupted; want_status is 128 + sigs[0]. */
static void check_signal_resume(const int *sigs, int n) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = path_in(dir, "tiny.yaml"), *killed = path_in(dir, "killed"),
         *straight = path_in(dir, "straight"), *out_path = path_in(dir, "killed.out");
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);

    const pid_t pid = spawn_train(recipe, killed, out_path);
    signal_after_first_state(pid, killed, sigs, n);
    const int code = wait_exit_status(pid, out_path);
    char *out = read_log(out_path);
    cr_assert_eq(code, 128 + sigs[0], "exit status %d after signal %d: %s", code, sigs[0], out);
    char hint[4300];
    snprintf(hint, sizeof hint, "resume with: ctcd train --resume %s", killed);
    cr_expect_not_null(strstr(out, "interrupted at step"), "no interruption message: %s", out);
    cr_expect_not_null(strstr(out, hint), "no resume hint '%s': %s", hint, out);
    free(out);

    char args[9000], *res = NULL;
    snprintf(args, sizeof args, "train --resume '%s'", killed);
    int rc = ctcd_test_run_cli(args, &res);
    cr_assert_eq(rc, 0, "resume exit %d: %s", rc, res);
    cr_expect_not_null(strstr(res, "results on builtin:demo dev"), "no table: %s", res);
    free(res);
    snprintf(args, sizeof args, "train '%s' --set output='%s'", recipe, straight);
    rc = ctcd_test_run_cli(args, &res);
    cr_assert_eq(rc, 0, "uninterrupted run exit %d: %s", rc, res);
    free(res);

    assert_same_file(straight, killed, "eval.jsonl");
    assert_same_file(straight, killed, "log.jsonl");
    const char *ckpts[] = {"large/last/model.safetensors", "small/last/model.safetensors",
                           "large/best/model.safetensors", "small/best/model.safetensors"};
    for (int i = 0; i < 4; i++) {
        char *a = path_in(straight, ckpts[i]), *b = path_in(killed, ckpts[i]);
        expect_same_bytes(a, b);
        free(a);
        free(b);
    }
    ctcd_test_rmtree(dir);
    free(recipe);
    free(killed);
    free(straight);
    free(out_path);
    free(dir);
}

Test(resume_cli, sigterm_then_resume_matches_uninterrupted_run, .timeout = 300) {
    const int sigs[] = {SIGTERM};
    check_signal_resume(sigs, 1);
}

Test(resume_cli, double_sigint_still_saves_and_resumes, .timeout = 300) {
    const int sigs[] = {SIGINT, SIGINT};
    check_signal_resume(sigs, 2);
}

Test(resume_cli, resume_argument_rules) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("train some.yaml --resume /tmp/x", &out);
    cr_assert_eq(rc, 2, "RECIPE with --resume: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "not both"), "output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --resume", &out);
    cr_assert_eq(rc, 2, "--resume without RUN_DIR: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "needs RUN_DIR"), "output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --resume /nonexistent/run", &out);
    cr_assert_eq(rc, 1, "missing run: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "/nonexistent/run/state/train_state.safetensors"),
                       "state path not named: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --resume /nonexistent/run --set train.seed=3", &out);
    cr_assert_eq(rc, 1, "--set train.seed with --resume: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "train.seed"), "key not named: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --help", &out);
    cr_expect_not_null(strstr(out, "--resume RUN_DIR"), "help: %s", out);
    free(out);
}
