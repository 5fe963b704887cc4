/* test_crash_resume.c — crash safety of `ctcd train`: the CLI is SIGKILLed at seeded random
 * points (at least 20 times; many kills land inside a checkpoint write, which the
 * CTCD_TEST_COMMIT_DELAY_MS hook of fileio.h stretches between the temp file's fsync and
 * its rename) and resumed each time with --resume (or started over with --force while no
 * state exists yet); every third kill waits for a temp file of a checkpoint write to
 * appear first. After every kill the training state, once first written, must exist
 * and load; at the end the model files, eval.jsonl and log.jsonl (timings aside) must equal
 * those of an uninterrupted run bit for bit, and log.jsonl must hold every step exactly
 * once, in order. Seed: CTCD_CRASH_SEED (default 20261202). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctcd/log.h"
#include "resume_fixture.h"

#define MIN_KILLS 20
#define MAX_ATTEMPTS 200
#define TOTAL_STEPS 50

/* 2 epochs of 25 steps, a state every 2 steps, evaluation (and best checkpoints) at each
 * epoch end; deterministic on the CPU. */
static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "data: {demo: {train_examples: 400}}\n"
    "distill: {ramp_steps: 10, temperature: 2.0}\n"
    "train: {epochs: 2, deterministic: true, log_every: 1, checkpoint_every: 2,\n"
    "        lr: {large: 1e-3, small: 2e-3}}\n";

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Starts ctcd with argv (NULL-terminated, argv[0] ignored), output into out_path. */
static pid_t spawn(char *const argv[], const char *out_path) {
    static const char *const env[] = {"CTCD_TEST_COMMIT_DELAY_MS=20", "OMP_NUM_THREADS=1", NULL};
    const pid_t pid = ctcd_test_spawn_cli(argv, out_path, env);
    cr_assert_geq(pid, 0, "fork failed");
    return pid;
}

static int file_contains(const char *path, const char *text) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[8192];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

/* Temp files of atomic writes in the run (".tmp-" in the name), in the places ctcd writes. */
static int count_temps(const char *run) {
    static const char *const subs[] = {"state", "large/best", "large/last", "small/best",
                                       "small/last", "."};
    int n = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char *d = path_in(run, subs[i]);
        DIR *dir = opendir(d);
        if (dir) {
            for (struct dirent *e; (e = readdir(dir)) != NULL;) n += strstr(e->d_name, ".tmp-") != NULL;
            closedir(dir);
        }
        free(d);
    }
    return n;
}

/* The state file must load into a trainer built from the recipe (no run directory). */
static void assert_state_loads(const char *recipe, const char *state, int kill_no) {
    ctcd_recipe rc;
    ctcd_status st = ctcd_recipe_load(recipe, NULL, 0, &rc);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    rc.output[0] = '\0';
    ctcd_trainer *t = NULL;
    st = ctcd_trainer_create(&rc, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    st = ctcd_train_state_load(t, state);
    cr_assert_null(st, "after kill %d the state %s does not load: %s", kill_no, state,
                   ctcd_status_message(st));
    ctcd_trainer_destroy(t);
}

/* Every step 1..TOTAL_STEPS exactly once and in order in log.jsonl. */
static void assert_steps_once_in_order(const char *run) {
    char *path = path_in(run, "log.jsonl");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "no %s", path);
    char line[4096];
    long want = 1;
    cr_assert_not_null(fgets(line, sizeof line, f), "%s is empty", path);
    static const char build_record[] = "{\"ctcd\":{\"version\":";
    cr_assert_eq(strncmp(line, build_record, sizeof build_record - 1), 0,
                 "%s: the first line is not the build record: %s", path, line);
    while (fgets(line, sizeof line, f)) {
        long step = -1;
        cr_assert_eq(sscanf(line, "{\"step\":%ld,", &step), 1, "%s: malformed line: %s", path,
                     line);
        cr_assert_eq(step, want, "%s: step %ld where step %ld was expected (duplicated or "
                     "missing after a resume)", path, step, want);
        want++;
    }
    fclose(f);
    cr_assert_eq(want - 1, TOTAL_STEPS, "%s: %ld steps logged, expected %d", path, want - 1,
                 TOTAL_STEPS);
    free(path);
}

Test(crash_resume, sigkill_at_random_points_then_resume_is_bitwise, .timeout = 240) {
    ctcd_log_set_level(CTCD_LOG_ERROR);
    const char *seed_env = getenv("CTCD_CRASH_SEED");
    uint64_t rng = seed_env ? strtoull(seed_env, NULL, 10) : 20261202ull;
    if (!rng) rng = 1;
    char *dir = ctcd_test_tmpdir();
    char *recipe = path_in(dir, "crash.yaml"), *killed = path_in(dir, "killed"),
         *straight = path_in(dir, "straight"), *out = path_in(dir, "attempt.out");
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    char state[4200], set_killed[4200], set_straight[4200];
    ctcd_train_state_path(killed, state, sizeof state);
    snprintf(set_killed, sizeof set_killed, "output=%s", killed);
    snprintf(set_straight, sizeof set_straight, "output=%s", straight);

    /* the reference, and its duration (from the first progress to the exit) */
    char *ref_argv[] = {"ctcd", "train", recipe, "--set", set_straight, NULL};
    const double t0 = ctcd_now();
    pid_t pid = spawn(ref_argv, out);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "uninterrupted run failed");
    long run_us = (long)((ctcd_now() - t0) * 1e6);

    int kills = 0, mid_write = 0, seen_state = 0, done = 0;
    for (int attempt = 0; attempt < MAX_ATTEMPTS && !done; attempt++) {
        const int resume = access(state, F_OK) == 0;
        char *fresh_argv[] = {"ctcd", "train", recipe, "--set", set_killed, "--force", NULL};
        char *resume_argv[] = {"ctcd", "train", "--resume", killed, NULL};
        pid = spawn(resume ? resume_argv : fresh_argv, out);
        /* the first MIN_KILLS kills come early (a short window after training starts, so
         * the run advances slowly and is cut many times); later ones anywhere */
        const long window = kills < MIN_KILLS ? run_us / 12 : run_us;
        const long delay = (long)(rng_next(&rng) % (uint64_t)(window + 1));
        /* wait for the "training N steps" line, so that the delay counts from the loop */
        for (int waited = 0; !file_contains(out, "training ") && waited < 30000000; waited += 500) {
            if (waitpid(pid, &status, WNOHANG) == pid) goto exited;
            ctcd_test_sleep_us(500);
        }
        ctcd_test_sleep_us(delay);
        /* every third kill waits for a checkpoint write to be in flight (a temp file beside
         * the state; the commit delay holds it there for 20 ms) */
        for (int waited = 0; attempt % 3 == 2 && !count_temps(killed) && waited < 30000000;
             waited += 200) {
            if (waitpid(pid, &status, WNOHANG) == pid) goto exited;
            ctcd_test_sleep_us(200);
        }
        if (waitpid(pid, &status, WNOHANG) == pid) goto exited;
        cr_assert_eq(kill(pid, SIGKILL), 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
    exited:
        if (WIFSIGNALED(status)) {
            kills++;
            mid_write += count_temps(killed) > 0;
            if (access(state, F_OK) == 0) {
                seen_state = 1;
                assert_state_loads(recipe, state, kills);
            } else {
                cr_assert(!seen_state, "after kill %d no training state exists at %s", kills,
                          state);
            }
            continue;
        }
        cr_assert(WIFEXITED(status), "attempt %d: status %d", attempt, status);
        char *text = read_log(out);
        const int finished = WEXITSTATUS(status) == 0 ||
                             (WEXITSTATUS(status) == 1 && strstr(text, "already complete"));
        if (finished && kills >= MIN_KILLS) {
            done = 1; /* (exit 1: killed after its final state write, nothing left to do) */
        } else if (finished) {
            /* The run outpaced the kills: the machine ran slower while the reference was
             * timed than now (a loaded CI host). Start the killed run over with half the
             * window; every kill so far was checked, and the final run must still take
             * MIN_KILLS of them. */
            cr_assert_gt(run_us, 1000, "the run finished after only %d kills (want %d) even "
                         "with a 1 ms window", kills, MIN_KILLS);
            run_us /= 2;
            cr_log_info("the run finished after %d kills; starting over with a %ld us window",
                        kills, run_us / 12);
            cr_assert_eq(unlink(state), 0, "cannot remove %s to start over", state);
            seen_state = 0;
            kills = mid_write = 0;
        } else {
            cr_assert_fail("attempt %d (%s) failed with exit %d: %s", attempt,
                           resume ? "--resume" : "--force", WEXITSTATUS(status), text);
        }
        free(text);
    }
    cr_assert(done, "the run did not finish within %d attempts", MAX_ATTEMPTS);
    cr_assert_geq(kills, MIN_KILLS);
    cr_log_info("%d SIGKILLs, %d with a checkpoint write in flight", kills, mid_write);
    cr_expect_geq(mid_write, MIN_KILLS / 3 - 1, "only %d of %d kills landed inside a checkpoint "
                  "write", mid_write, kills);

    assert_steps_once_in_order(killed);
    assert_same_file(straight, killed, "log.jsonl");
    assert_same_file(straight, killed, "eval.jsonl");
    static const char *const files[] = {
        "large/last/model.safetensors", "small/last/model.safetensors",
        "large/best/model.safetensors", "small/best/model.safetensors",
        "large/last/config.json",       "small/last/config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *a = path_in(straight, files[i]), *b = path_in(killed, files[i]);
        FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
        cr_assert(fa && fb, "missing %s or %s", a, b);
        int ca, cb;
        long off = 0;
        do {
            ca = fgetc(fa);
            cb = fgetc(fb);
            off++;
        } while (ca == cb && ca != EOF);
        cr_expect(ca == cb, "%s differs from the uninterrupted run's at byte %ld", b, off - 1);
        fclose(fa);
        fclose(fb);
        free(a);
        free(b);
    }
    ctcd_test_rmtree(dir);
    free(recipe);
    free(killed);
    free(straight);
    free(out);
    free(dir);
}
