/* test_schedule.c — learning-rate schedule and mutual-weight ramp endpoints. */
#include <criterion/criterion.h>

#include "ctcd/train.h"

Test(schedule, warmup_starts_at_zero_and_peaks_at_warmup_end) {
    cr_assert_float_eq(ctcd_lr_factor(0, 100, 10), 0.0, 1e-12, "step 0 with warmup must be 0");
    cr_assert_float_eq(ctcd_lr_factor(5, 100, 10), 0.5, 1e-12, "half-way through warmup");
    cr_assert_float_eq(ctcd_lr_factor(10, 100, 10), 1.0, 1e-12, "end of warmup must be 1");
}

Test(schedule, linear_decay_reaches_zero_at_total) {
    cr_assert_float_eq(ctcd_lr_factor(55, 100, 10), 0.5, 1e-12, "mid decay: got %g",
                       ctcd_lr_factor(55, 100, 10));
    cr_assert_float_eq(ctcd_lr_factor(100, 100, 10), 0.0, 1e-12, "at total steps");
    cr_assert_float_eq(ctcd_lr_factor(150, 100, 10), 0.0, 1e-12, "past total never negative");
}

Test(schedule, no_warmup_starts_at_full_rate) {
    cr_assert_float_eq(ctcd_lr_factor(0, 100, 0), 1.0, 1e-12, "no warmup: step 0 is 1");
    cr_assert_float_eq(ctcd_lr_factor(99, 100, 0), 0.01, 1e-12, "last step");
}

Test(schedule, ramp_is_linear_then_one) {
    cr_assert_float_eq(ctcd_ramp_factor(0, 100), 0.0, 1e-12, "ramp starts at 0");
    cr_assert_float_eq(ctcd_ramp_factor(25, 100), 0.25, 1e-12, "quarter ramp");
    cr_assert_float_eq(ctcd_ramp_factor(100, 100), 1.0, 1e-12, "ramp ends at 1");
    cr_assert_float_eq(ctcd_ramp_factor(0, 0), 1.0, 1e-12, "no ramp: 1 from the start");
}
