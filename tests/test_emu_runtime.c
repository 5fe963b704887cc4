/* test_emu_runtime.c — the CUDA emulation itself (built only with CTCD_CUDA_EMU): blocks whose
 * threads return after different numbers of barriers run every thread exactly once, a warp
 * shuffle synchronises its warp and not the block, and launch configurations a GPU refuses
 * are refused with the GPU's error. Without these, an emulated CUDA suite could pass on a
 * kernel the GPU runs differently. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "emu_selftest.h"

enum { ERR_INVALID_VALUE = 1, ERR_INVALID_CONFIGURATION = 9 };

static float *fill(int n) {
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert_not_null(x);
    for (int i = 0; i < n; i++) x[i] = (float)((i * 37) % 101) - 50.0f; /* exact sums */
    return x;
}

static void tree_sum_case(int blocks, int threads, int skip_first_warp) {
    const int n = blocks * threads, base = skip_first_warp ? 32 : 0;
    float *in = fill(n), *out = calloc((size_t)blocks, sizeof *out);
    int *entries = calloc((size_t)n, sizeof *entries), *rounds = calloc((size_t)n, sizeof *rounds);
    cr_assert(out && entries && rounds);
    for (int rep = 0; rep < 3; rep++) {
        memset(entries, 0, (size_t)n * sizeof *entries);
        cr_assert_eq(ctcd_emu_selftest_tree_sum(in, out, entries, rounds, blocks, threads,
                                                skip_first_warp),
                     0, "launch failed");
        for (int b = 0; b < blocks; b++) {
            float want = 0.0f;
            for (int t = base; t < threads; t++) want += in[b * threads + t];
            cr_assert_float_eq(out[b], want, 0.0f, "block %d of %d x %d: sum %g, want %g", b,
                               blocks, threads, (double)out[b], (double)want);
            for (int t = 0; t < threads; t++) {
                const int i = b * threads + t, u = t - base;
                int r = -1;
                if (u >= 0)
                    for (r = 0; (threads - base) >> (r + 1) > u; r++) continue;
                cr_assert_eq(entries[i], 1, "thread %d of block %d started %d times", t, b,
                             entries[i]);
                cr_assert_eq(rounds[i], r, "thread %d of block %d: %d barrier rounds, want %d",
                             t, b, rounds[i], r);
            }
        }
    }
    free(in);
    free(out);
    free(entries);
    free(rounds);
}

Test(emu_runtime, threads_leaving_between_barriers_each_run_once) {
    tree_sum_case(5, 256, 0);
    tree_sum_case(3, 1024, 0);
    tree_sum_case(2, 64, 0);
}

Test(emu_runtime, first_warp_leaving_before_any_barrier_does_not_end_the_block) {
    tree_sum_case(4, 96, 1);
    tree_sum_case(3, 160, 1);
}

Test(emu_runtime, a_lone_warp_shuffles_while_the_block_waits) {
    const int blocks = 6;
    for (int threads = 64; threads <= 1024; threads *= 4) {
        float *in = fill(blocks * threads), *out = calloc((size_t)blocks, sizeof *out);
        cr_assert_not_null(out);
        cr_assert_eq(ctcd_emu_selftest_lone_warp(in, out, blocks, threads), 0);
        for (int b = 0; b < blocks; b++) {
            float want = 0.0f;
            for (int t = 0; t < threads; t++) want += in[b * threads + t];
            cr_assert_float_eq(out[b], want, 0.0f, "block %d of %d threads: %g, want %g", b,
                               threads, (double)out[b], (double)want);
        }
        free(in);
        free(out);
    }
}

Test(emu_runtime, launch_limits_are_the_gpus) {
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 1024, 1, 1, 0, 0), 0);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 1025, 1, 1, 0, 0), ERR_INVALID_CONFIGURATION);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 32, 32, 2, 0, 0), ERR_INVALID_CONFIGURATION);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 1, 1, 65, 0, 0), ERR_INVALID_CONFIGURATION);
    cr_expect_eq(ctcd_emu_selftest_launch(0, 1, 1, 32, 1, 1, 0, 0), ERR_INVALID_CONFIGURATION);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 65536, 1, 32, 1, 1, 0, 0),
                 ERR_INVALID_CONFIGURATION);
    cr_expect_eq(ctcd_emu_selftest_launch(3, 1, 1, 32, 1, 1, 48 * 1024, 0), 0);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 32, 1, 1, 48 * 1024 + 4, 0),
                 ERR_INVALID_VALUE, "more than 48 KiB of dynamic shared memory needs the "
                                    "opt-in attribute");
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 32, 1, 1, 100 * 1024, 100 * 1024), 0);
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 32, 1, 1, 0, 227 * 1024 + 4),
                 ERR_INVALID_VALUE, "sm_90 allows 227 KiB per block at most");
    /* the error was read: the next good launch reports success */
    cr_expect_eq(ctcd_emu_selftest_launch(1, 1, 1, 32, 1, 1, 0, 0), 0);
}
