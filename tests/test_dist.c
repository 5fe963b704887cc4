/* test_dist.c — data-parallel co-training (include/ctcd/dist.h): the row split, and an MPI
 * run with 2 ranks on the CPU backend ending with the same parameters as one process on the
 * same global batches (to fp32 rounding: the all-reduce sums in another order). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctcd/dist.h"
#include "ctcd/launch.h"
#include "ctcd/safetensors.h"
#include "testutil.h"

Test(dist, rows_split_contiguously_and_evenly) {
    for (int world = 1; world <= 5; world++)
        for (int64_t n = 0; n <= 13; n++) {
            int64_t next = 0;
            for (int r = 0; r < world; r++) {
                int64_t lo, hi;
                ctcd_shard_rows(n, r, world, &lo, &hi);
                cr_assert_eq(lo, next, "n %lld world %d rank %d starts at %lld", (long long)n,
                             world, r, (long long)lo);
                const int64_t size = hi - lo;
                cr_assert(size == n / world || size == n / world + 1, "share %lld",
                          (long long)size);
                if (r > 0) {
                    int64_t plo, phi;
                    ctcd_shard_rows(n, r - 1, world, &plo, &phi);
                    cr_assert_geq(phi - plo, size, "larger shares first");
                }
                next = hi;
            }
            cr_assert_eq(next, n, "the shares cover every row");
        }
}

Test(dist, single_process_communicator_is_a_no_op) {
    ctcd_comm *c = NULL;
    cr_assert_null(ctcd_comm_create("single", &c));
    cr_assert(c->rank == 0 && c->world == 1);
    float x[3] = {1, 2, 3};
    cr_assert_null(c->allreduce_sum(c, NULL, x, 3));
    cr_assert(x[0] == 1 && x[1] == 2 && x[2] == 3);
    ctcd_comm_destroy(c);
    ctcd_status st = ctcd_comm_create("nccl2", &c);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "valid: auto, single, mpi"));
    ctcd_status_free(st);
}

/* Max |a - b| over every tensor of two checkpoints; asserts they hold the same tensors. */
static double max_diff(const char *pa, const char *pb, double *max_abs) {
    ctcd_st_file *a = NULL, *b = NULL;
    ctcd_status st = ctcd_st_open(pa, &a);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    st = ctcd_st_open(pb, &b);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(ctcd_st_count(a), ctcd_st_count(b));
    double worst = 0.0, big = 0.0;
    for (int i = 0; i < ctcd_st_count(a); i++) {
        const ctcd_st_tensor *ta = ctcd_st_get(a, i), *tb = ctcd_st_find(b, ta->name);
        cr_assert_not_null(tb, "%s missing", ta->name);
        cr_assert_eq(ta->numel, tb->numel);
        float *x = malloc((size_t)ta->numel * 4), *y = malloc((size_t)ta->numel * 4);
        cr_assert_null(ctcd_st_read_f32(a, ta, x));
        cr_assert_null(ctcd_st_read_f32(b, tb, y));
        for (int64_t k = 0; k < ta->numel; k++) {
            const double d = fabs((double)x[k] - (double)y[k]);
            if (d > worst) worst = d;
            if (fabs(x[k]) > big) big = fabs(x[k]);
        }
        free(x);
        free(y);
    }
    ctcd_st_close(a);
    ctcd_st_close(b);
    *max_abs = big;
    return worst;
}

static int have_mpirun(void) { return system("command -v mpirun >/dev/null 2>&1") == 0; }
/* Runs `ctcd ARGS`; with np > 1 under mpirun. Under the sanitizer build the ranks run
 * without LeakSanitizer: Open MPI keeps allocations of its dlopen'd components past
 * MPI_Finalize (reported from libmpi and unknown modules), and our MPI code allocates only
 * the communicator, which the single-process tests check for leaks. */
static void run_cli(int np, const char *args) {
    char cmd[8192];
    if (np > 1)
        snprintf(cmd, sizeof cmd,
                 "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
                 "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "
                 "mpirun -np %d -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS '%s' %s 2>&1",
                 np, CTCD_CLI_PATH, args);
    else
        snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' %s 2>&1", CTCD_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char out[1 << 16];
    const size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    const int rc = pclose(p);
    cr_assert_eq(rc, 0, "np %d failed (%d): %s\n%s", np, rc, args, out);
    if (np > 1) cr_assert_not_null(strstr(out, "data parallel: rank 0 of 2"), "%s", out);
}

/* Runs the demo pair for a few steps (dropout off) into dir. */
static void train(const char *dir, int np, const char *extra) {
    char args[8192];
    snprintf(args, sizeof args,
             "train " CTCD_SOURCE_DIR "/recipes/demo.yaml --set train.backend=cpu "
             "--set train.max_steps=8 --set train.batch=16 --set train.log_every=1 "
             "--set eval.every=8 --set data.demo.train_examples=400 "
             "--set data.demo.dev_examples=64 "
             "--set models.large.dropout=0 --set models.large.attention_dropout=0 "
             "--set models.small.dropout=0 --set models.small.attention_dropout=0 "
             "--set train.lr.large=1e-3 --set train.lr.small=2e-3 --set distill.ramp_steps=0 "
             "--set output=%s %s",
             dir, extra);
    run_cli(np, args);
}

/* Continues the run in dir to step 8 with np ranks. */
static void resume(const char *dir, int np, const char *extra) {
    char args[8192];
    snprintf(args, sizeof args, "train --resume %s --set train.max_steps=8 %s", dir, extra);
    run_cli(np, args);
}

/* Max |a − b| over the last checkpoint of model `role` in runs a and b. */
static double model_diff(const char *a, const char *b, const char *role) {
    char pa[4300], pb[4300];
    snprintf(pa, sizeof pa, "%s/%s/last/model.safetensors", a, role);
    snprintf(pb, sizeof pb, "%s/%s/last/model.safetensors", b, role);
    double big;
    return max_diff(pa, pb, &big);
}

/* Asserts that the last checkpoints of both models in runs a and b agree within tol; the
 * largest difference over both models. */
static double assert_same_models(const char *a, const char *b, double tol, const char *what) {
    double worst = 0.0;
    for (int m = 0; m < 2; m++) {
        const char *role = m ? "small" : "large";
        const double d = model_diff(a, b, role);
        fprintf(stderr, "%s: %s: max |diff| %.3g\n", what, role, d);
        cr_assert_lt(d, tol, "%s: %s differs by %g", what, role, d);
        if (d > worst) worst = d;
    }
    return worst;
}

/* The value of "key": in the first log.jsonl line of run dir after the model's name. */
static double log_value(const char *dir, const char *model, const char *key) {
    char path[4300], needle[64];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    char *log = ctcd_test_read_file(path);
    cr_assert_not_null(log, "%s", path);
    snprintf(needle, sizeof needle, "\"%s\":{", model);
    const char *at = strstr(log, needle);
    cr_assert_not_null(at, "%s: no model %s", path, model);
    snprintf(needle, sizeof needle, "\"%s\":", key);
    at = strstr(at, needle);
    cr_assert_not_null(at, "%s: no %s", path, key);
    const double v = atof(at + strlen(needle));
    free(log);
    return v;
}

static int have_mpi_run(void) {
    if (!ctcd_comm_have_mpi()) cr_skip_test("this build has no MPI (libopenmpi-dev)");
    if (!have_mpirun()) cr_skip_test("mpirun not found (openmpi-bin)");
    return 1;
}

Test(dist, two_mpi_ranks_match_one_process_on_the_same_batches, .timeout = 300) {
    have_mpi_run();
    char *tmp = ctcd_test_tmpdir();
    char one[4200], two[4200], half[4200];
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(two, sizeof two, "%s/two", tmp);
    snprintf(half, sizeof half, "%s/half", tmp);
    train(one, 1, "");
    train(two, 2, "");
    /* the counterpart: one process seeing only half of each batch ends elsewhere, so the
     * comparison below can fail */
    train(half, 1, "--set train.batch=8");
    for (int m = 0; m < 2; m++) {
        const char *role = m ? "small" : "large";
        char pa[4300], pb[4300], pc[4300];
        snprintf(pa, sizeof pa, "%s/%s/last/model.safetensors", one, role);
        snprintf(pb, sizeof pb, "%s/%s/last/model.safetensors", two, role);
        snprintf(pc, sizeof pc, "%s/%s/last/model.safetensors", half, role);
        double big, big2;
        const double d = max_diff(pa, pb, &big);
        const double d_half = max_diff(pa, pc, &big2);
        fprintf(stderr, "%s: max |one - two| %.3g, max |one - half batch| %.3g (max |w| %.3g)\n",
                role, d, d_half, big);
        cr_assert_lt(d, 2e-5, "%s: 2 ranks differ from 1 process by %g", role, d);
        cr_assert_gt(d_half, 100 * d + 1e-4, "%s: the half-batch run is not distinguishable",
                     role);
    }
    /* only rank 0 wrote a run directory, and its log has every step once */
    char path[4300];
    snprintf(path, sizeof path, "%s/log.jsonl", two);
    char *log = ctcd_test_read_file(path);
    cr_assert_not_null(log);
    for (int s = 1; s <= 8; s++) {
        char needle[64];
        snprintf(needle, sizeof needle, "{\"step\":%d,", s);
        const char *at = strstr(log, needle);
        cr_assert_not_null(at, "step %d missing:\n%s", s, log);
        cr_assert_null(strstr(at + 1, needle), "step %d logged twice", s);
    }
    cr_assert_not_null(strstr(log, "\"world_size\":2,"), "log.jsonl lacks world_size 2:\n%s",
                       log);
    free(log);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(dist, zero1_matches_the_unsharded_run_and_halves_the_optimizer_state, .timeout = 300) {
    have_mpi_run();
    char *tmp = ctcd_test_tmpdir();
    char one[4200], zero[4200];
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(zero, sizeof zero, "%s/zero", tmp);
    train(one, 1, "");
    train(zero, 2, "--set train.zero=1");
    assert_same_models(one, zero, 2e-5, "ZeRO-1 on 2 ranks vs 1 process");
    /* the saved state holds every moment, gathered from both shards */
    char sa[4300], sb[4300];
    snprintf(sa, sizeof sa, "%s/state/train_state.safetensors", one);
    snprintf(sb, sizeof sb, "%s/state/train_state.safetensors", zero);
    double big;
    const double d = max_diff(sa, sb, &big);
    fprintf(stderr, "training state (weights and moments): max |diff| %.3g\n", d);
    cr_assert_lt(d, 2e-5, "the ZeRO-1 state differs by %g", d);
    for (int m = 0; m < 2; m++) {
        const char *role = m ? "small" : "large";
        const double full = log_value(one, role, "optim_mb"),
                     shard = log_value(zero, role, "optim_mb");
        const double mem_full = log_value(one, role, "mem_mb"),
                     mem_shard = log_value(zero, role, "mem_mb");
        fprintf(stderr, "%s: optimizer state %.3f MiB -> %.3f MiB per rank; model memory %.1f "
                "-> %.1f MiB\n", role, full, shard, mem_full, mem_shard);
        cr_assert(fabs(shard - full / 2) < 0.002 + 1e-3 * full,
                  "%s: rank 0 keeps %.3f MiB of moments, not half of %.3f", role, shard, full);
        cr_assert_lt(mem_shard, mem_full - full / 2 + 0.2, "%s: mem_mb %.1f not reduced from %.1f",
                     role, mem_shard, mem_full);
    }
    ctcd_test_rmtree(tmp);
    free(tmp);
}

/* The state does not depend on the number of ranks (or on ZeRO-1): a run stopped after 4
 * steps continues to the same parameters whether it is resumed with 1 or 2 ranks. The
 * reference is the same stop-and-extend in one process (whose resume is bitwise, tested
 * by test_resume; the schedule follows the extended length in every arm). The tolerance is
 * wider than the 8-step comparisons': after 4 steps of the shortened schedule 2 ranks and
 * 1 process already differ by 1.8e-5 in one element (AdamW's early steps amplify rounding
 * where the second moment is near zero; the same with and without ZeRO-1), while a run
 * that does not continue the saved state (8 steps straight) lands 1e-3 or more away. */
Test(dist, resume_with_another_number_of_ranks_continues_the_same_run, .timeout = 600) {
    have_mpi_run();
    char *tmp = ctcd_test_tmpdir();
    char ref[4200], two_one[4200], one_two[4200], straight[4200];
    snprintf(ref, sizeof ref, "%s/ref", tmp);
    snprintf(straight, sizeof straight, "%s/straight", tmp);
    snprintf(two_one, sizeof two_one, "%s/two_one", tmp);
    snprintf(one_two, sizeof one_two, "%s/one_two", tmp);
    train(ref, 1, "--set train.max_steps=4");
    resume(ref, 1, "");
    train(two_one, 2, "--set train.max_steps=4 --set train.zero=1");
    resume(two_one, 1, "--set train.zero=0");
    train(one_two, 1, "--set train.max_steps=4");
    resume(one_two, 2, "--set train.zero=1");
    const double tol = 1e-4;
    const double d = assert_same_models(ref, two_one, tol, "2 ranks (ZeRO-1) then 1 process");
    const double d2 = assert_same_models(ref, one_two, tol, "1 process then 2 ranks (ZeRO-1)");
    fprintf(stderr, "resume across world sizes: max |diff| %.3g and %.3g\n", d, d2);
    train(straight, 1, "");
    for (int m = 0; m < 2; m++) { /* the counterpart: the tolerance tells runs apart */
        const char *role = m ? "small" : "large";
        const double far = model_diff(ref, straight, role);
        fprintf(stderr, "%s: stop-and-extend vs 8 steps straight: %.3g\n", role, far);
        cr_assert_gt(far, 10 * tol, "%s: an uninterrupted run is within %g", role, far);
    }
    ctcd_test_rmtree(tmp);
    free(tmp);
}

/* ---- ctcd train --gpus N: the launcher (include/ctcd/launch.h), with fake ranks ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

Test(dist, launcher_gives_each_rank_its_environment) {
    unsetenv("CUDA_VISIBLE_DEVICES");
    char *const argv[] = {"/bin/sh", "-c",
                          "test \"$CTCD_WORLD\" = 3 && test \"$CTCD_LOCAL_RANK\" = \"$CTCD_RANK\" "
                          "&& test \"$CUDA_VISIBLE_DEVICES\" = \"$CTCD_RANK\" && test \"$X\" = y",
                          NULL};
    const char *env[] = {"X=y"};
    int code = -1;
    ctcd_status st = ctcd_launch_ranks(3, argv, env, 1, 5.0, &code);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(code, 0);
    /* a device list: rank r gets its r-th entry */
    setenv("CUDA_VISIBLE_DEVICES", "5,7", 1);
    char *const argv2[] = {"/bin/sh", "-c",
                           "test \"$CUDA_VISIBLE_DEVICES\" = $((5 + 2 * CTCD_RANK))", NULL};
    st = ctcd_launch_ranks(2, argv2, NULL, 0, 5.0, &code);
    unsetenv("CUDA_VISIBLE_DEVICES");
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

Test(dist, launcher_stops_the_other_ranks_when_one_fails, .timeout = 60) {
    /* rank 1 fails at once; ranks 0 and 2 would run for 30 s, and a subshell of theirs
     * would leave a file after 3 s: the kill must reach the whole process group */
    char *tmp = ctcd_test_tmpdir();
    char script[8192];
    snprintf(script, sizeof script,
             "if [ \"$CTCD_RANK\" = 1 ]; then echo rank-one-fails >&2; exit 3; fi; "
             "(sleep 3; touch %s/alive.$CTCD_RANK) & sleep 30; exit 0", tmp);
    char *const argv[] = {"/bin/sh", "-c", script, NULL};
    int code = -1;
    const double t0 = now_s();
    ctcd_status st = ctcd_launch_ranks(3, argv, NULL, 0, 2.0, &code);
    const double took = now_s() - t0;
    cr_assert_not_null(st, "a failing rank must fail the launch");
    cr_assert_not_null(strstr(ctcd_status_message(st), "rank 1 of 3 failed (exit status 3"),
                       "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    cr_assert_eq(code, 3, "exit code %d", code);
    cr_assert_lt(took, 10.0, "the other ranks were not stopped (%.1f s)", took);
    sleep(4);
    char alive[4300];
    snprintf(alive, sizeof alive, "%s/alive.0", tmp);
    cr_assert_neq(access(alive, F_OK), 0, "a child of rank 0 outlived the stop");
    ctcd_test_rmtree(tmp);
    free(tmp);
    /* a rank that cannot even start */
    char *const missing[] = {"/nonexistent/ctcd", NULL};
    st = ctcd_launch_ranks(2, missing, NULL, 0, 2.0, &code);
    cr_assert_not_null(st);
    ctcd_status_free(st);
    cr_assert_eq(code, 127);
}

Test(dist, gpus_without_a_gpu_fails_with_a_clear_message, .timeout = 120) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' train " CTCD_SOURCE_DIR "/recipes/demo.yaml --set train.max_steps=2 "
             "--set data.demo.train_examples=64 --set data.demo.dev_examples=16 --gpus 2 2>&1",
             CTCD_CLI_PATH);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char out[1 << 16];
    const size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    const int rc = pclose(p);
    cr_assert_neq(rc, 0, "--gpus 2 without GPUs succeeded:\n%s", out);
    cr_assert_not_null(strstr(out, "ctcd: error:"), "%s", out);
    fprintf(stderr, "--gpus 2 on this machine:\n%s", out);
}
