/* test_plan.c — the capacity-gap planner (include/ctcd/plan.h): the law's recommendation,
 * the nearest BERT-style configurations, the least-squares line (exact on synthetic points,
 * R² = 1) and the best-partner-per-student grouping of runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/plan.h"
#include "testutil.h"

Test(plan, law_recommends_two_and_a_half_times_the_student) {
    cr_assert_eq(ctcd_law_teacher_params(4000000), 10000000);
    cr_assert_eq(ctcd_law_teacher_params(1), 3); /* round half away from zero */
}

Test(plan, nearest_configs_are_sorted_by_log_distance) {
    ctcd_plan_candidate c[6];
    const int64_t target = ctcd_law_teacher_params(14500000);
    const int n = ctcd_plan_nearest(target, 30522, 2, c, 6);
    cr_assert_eq(n, 6);
    for (int i = 0; i < n; i++) {
        const ctcd_arch *a = &c[i].arch;
        cr_assert_eq(a->v[CTCD_DIM_HEADS] * 64, a->v[CTCD_DIM_HIDDEN]);
        cr_assert_eq(a->v[CTCD_DIM_INTER], 4 * a->v[CTCD_DIM_HIDDEN]);
        cr_assert_eq(c[i].params, ctcd_arch_n_params(a, 30522, 2));
        if (i > 0)
            cr_assert(fabs(log(c[i].ratio)) >= fabs(log(c[i - 1].ratio)), "not sorted at %d", i);
    }
    cr_assert(fabs(log(c[0].ratio)) < 0.05, "nearest is %.3f x the target", c[0].ratio);
    /* BERT-base (L12-H768) is the nearest config to its own size */
    const ctcd_arch base = {.v = {12, 768, 12, 3072}};
    const int64_t pb = ctcd_arch_n_params(&base, 30522, 2);
    cr_assert_eq(ctcd_plan_nearest(pb, 30522, 2, c, 1), 1);
    cr_assert(!memcmp(&c[0].arch, &base, sizeof base), "nearest to BERT-base: L%d-H%d",
              c[0].arch.v[0], c[0].arch.v[1]);
}

Test(plan, line_fit_recovers_slope_and_intercept_exactly) {
    const double x[5] = {4.4e6, 11.2e6, 29e6, 66e6, 110e6};
    double y[5];
    for (int i = 0; i < 5; i++) y[i] = 2.5 * x[i] + 1.5e6;
    ctcd_line_fit f;
    ctcd_status st = ctcd_line_fit_xy(x, y, 5, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert(fabs(f.slope - 2.5) < 1e-9, "slope %.12g", f.slope);
    cr_assert(fabs(f.intercept - 1.5e6) < 1e-3, "intercept %.12g", f.intercept);
    cr_assert_eq(f.r2, 1.0, "R^2 %.17g", f.r2);
    cr_assert_eq(f.n, 5);
    /* noisy points: R² strictly inside (0, 1) */
    y[2] += 3e6;
    cr_assert_null(ctcd_line_fit_xy(x, y, 5, &f));
    cr_assert(f.r2 > 0.9 && f.r2 < 1.0, "R^2 %.6f", f.r2);
    /* degenerate inputs */
    const double same[2] = {1, 1};
    st = ctcd_line_fit_xy(same, y, 2, &f);
    cr_assert_not_null(st);
    ctcd_status_free(st);
    st = ctcd_line_fit_xy(x, y, 1, &f);
    cr_assert_not_null(st);
    ctcd_status_free(st);
}

Test(plan, fit_keeps_the_best_partner_per_student_size) {
    /* student 1M: partner 3M scored best; student 2M: partner 5M; student 4M: partner 10M;
     * the other partners of each size scored lower and must not count. */
    const ctcd_plan_run runs[7] = {
        {"a", 1000000, 2000000, 0.70}, {"b", 1000000, 3000000, 0.74},
        {"c", 1000000, 8000000, 0.71}, {"d", 2000000, 5000000, 0.80},
        {"e", 2000000, 9000000, 0.78}, {"f", 4000000, 10000000, 0.86},
        {"g", 4000000, 4000000, 0.83},
    };
    ctcd_plan_fit f;
    ctcd_status st = ctcd_plan_fit_points(runs, 7, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(f.n_points, 3);
    const int64_t s[3] = {1000000, 2000000, 4000000}, p[3] = {3000000, 5000000, 10000000};
    const int nr[3] = {3, 2, 2};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(f.points[i].student_params, s[i]);
        cr_assert_eq(f.points[i].partner_params, p[i], "student %lld: partner %lld",
                     (long long)s[i], (long long)f.points[i].partner_params);
        cr_assert_eq(f.points[i].n_runs, nr[i]);
    }
    cr_assert(f.fitted);
    /* least squares over (1,3), (2,5), (4,10) in millions: slope 33/14, intercept 0.5 M */
    cr_assert(fabs(f.line.slope - 33.0 / 14.0) < 1e-9, "slope %.12g", f.line.slope);
    cr_assert(fabs(f.line.intercept - 0.5e6) < 1e-3, "intercept %.12g", f.line.intercept);
    cr_assert(f.line.r2 > 0.99 && f.line.r2 < 1.0, "R^2 %.6f", f.line.r2);
    char *dir = ctcd_test_tmpdir(), png[1024];
    snprintf(png, sizeof png, "%s/fit.png", dir);
    cr_assert_null(ctcd_plan_fit_plot(&f, png));
    char *bytes = ctcd_test_read_file(png);
    cr_assert(bytes && !memcmp(bytes + 1, "PNG", 3), "not a PNG");
    free(bytes);
    ctcd_plan_fit_free(&f);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(plan, cli_student_params_prints_the_law_and_configs) {
    char *out = NULL;
    const int rc = ctcd_test_run_cli("plan --student-params 14.5M --top 3", &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "36250000"), "%s", out);
    cr_assert(strstr(out, "Zhang et al. 2023"), "%s", out);
    cr_assert(strstr(out, "L"), "%s", out);
    free(out);
    cr_assert_neq(ctcd_test_run_cli("plan", &out), 0);
    free(out);
}
