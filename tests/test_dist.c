/* test_dist.c — data-parallel co-training (include/ctcd/dist.h): the row split, and an MPI
 * run with 2 ranks on the CPU backend ending with the same parameters as one process on the
 * same global batches (to fp32 rounding: the all-reduce sums in another order). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/dist.h"
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

/* Runs the demo pair for a few steps; with np > 1 under mpirun. Under the sanitizer build
 * the ranks run without LeakSanitizer: Open MPI keeps allocations of its dlopen'd
 * components past MPI_Finalize (reported from libmpi and unknown modules), and our MPI code
 * allocates only the communicator, which the single-process tests check for leaks. */
static void train(const char *dir, int np, const char *extra) {
    char cmd[8192];
    const char *common =
        "train " CTCD_SOURCE_DIR "/recipes/demo.yaml --set train.backend=cpu "
        "--set train.max_steps=8 --set train.batch=16 --set train.log_every=1 "
        "--set eval.every=8 --set data.demo.train_examples=400 --set data.demo.dev_examples=64 "
        "--set models.large.dropout=0 --set models.large.attention_dropout=0 "
        "--set models.small.dropout=0 --set models.small.attention_dropout=0 "
        "--set train.lr.large=1e-3 --set train.lr.small=2e-3 --set distill.ramp_steps=0";
    if (np > 1)
        snprintf(cmd, sizeof cmd,
                 "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
                 "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "
                 "mpirun -np %d -x OMP_NUM_THREADS=1 -x ASAN_OPTIONS '%s' %s --set output=%s %s 2>&1",
                 np, CTCD_CLI_PATH, common, dir, extra);
    else
        snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 '%s' %s --set output=%s %s 2>&1",
                 CTCD_CLI_PATH, common, dir, extra);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char out[1 << 16];
    const size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    const int rc = pclose(p);
    cr_assert_eq(rc, 0, "np %d failed (%d):\n%s", np, rc, out);
    if (np > 1) cr_assert_not_null(strstr(out, "data parallel: rank 0 of 2"), "%s", out);
}

Test(dist, two_mpi_ranks_match_one_process_on_the_same_batches, .timeout = 300) {
    if (!ctcd_comm_have_mpi()) cr_skip_test("this build has no MPI (libopenmpi-dev)");
    if (!have_mpirun()) cr_skip_test("mpirun not found (openmpi-bin)");
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
    free(log);
    ctcd_test_rmtree(tmp);
    free(tmp);
}
