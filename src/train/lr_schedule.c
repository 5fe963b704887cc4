/* schedule.c — learning-rate schedule and mutual-weight ramp (include/ctcd/train.h). */
#include "ctcd/train.h"

double ctcd_lr_factor(int64_t step, int64_t total_steps, int64_t warmup_steps) {
    if (step < warmup_steps) return (double)step / (double)(warmup_steps > 0 ? warmup_steps : 1);
    if (total_steps <= warmup_steps) return 0.0;
    double f = (double)(total_steps - step) / (double)(total_steps - warmup_steps);
    return f > 0.0 ? f : 0.0;
}

double ctcd_ramp_factor(int64_t step, int64_t ramp_steps) {
    if (ramp_steps <= 0 || step >= ramp_steps) return 1.0;
    return (double)step / (double)ramp_steps;
}
