/*
 * test_plfit.c — the WWFit power-law fit: known tails, degenerate spectra, and the pruned scan
 * against a plain O(n²) scan written here from the spec (§5.1).
 */
#include "wl_test.h"

#include "weightlint.h"

#include <stdlib.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Straight transcription of spec §5.1, no pruning. */
static void naive_fit(const double *ev, size_t n, double *alpha, double *D, double *xmin)
{
    size_t first = 0;
    while (first < n && !(ev[first] > 1e-5))
        first++;
    const double *x = ev + first;
    size_t m = n - first;
    double best = INFINITY;
    for (size_t i = 0; i + 1 < m; i++) {
        double s = 0.0;
        for (size_t j = i; j < m; j++)
            s += log(x[j] / x[i]);
        double a = 1.0 + (double)(m - i) / s, d = 0.0;
        if (a > 1.0) {
            for (size_t k = 0; k < m - i; k++) {
                double dev = fabs(1.0 - pow(x[i + k] / x[i], 1.0 - a) - (double)k / (double)(m - i));
                if (dev > d)
                    d = dev;
            }
        } else {
            d = 1.0;
        }
        if (d < best) {
            best = d;
            *alpha = a;
            *D = d;
            *xmin = x[i];
        }
    }
}

static void test_pareto_tail_recovers_alpha(void **state)
{
    (void)state;
    wl_test_rng r = {42};
    size_t n = 4000;
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) /* continuous power law, density ~ x^-2.5, xmin = 1 */
        x[i] = pow(wl_test_uniform(&r), -1.0 / 1.5);
    qsort(x, n, sizeof *x, cmp_d);
    wl_plfit fit;
    wl_plfit_fit(x, n, &fit);
    assert_true(fit.ok);
    wl_assert_close(fit.alpha, 2.5, 0.06, 0.0);
    assert_true(fit.D < 0.05);
    wl_assert_close(fit.xmax, x[n - 1], 0.0, 0.0);
    free(x);
}

static void test_pruned_scan_equals_naive_scan(void **state)
{
    (void)state;
    wl_test_rng r = {7};
    for (int trial = 0; trial < 12; trial++) {
        size_t n = 50 + (size_t)trial * 70;
        double *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++) {
            double g = trial % 3 == 0   ? wl_test_gauss(&r)
                       : trial % 3 == 1 ? wl_test_student_t(&r, 3)
                                        : wl_test_pareto(&r, 1.5);
            x[i] = g * g;
        }
        qsort(x, n, sizeof *x, cmp_d);
        double a = 0, d = 0, xm = 0;
        naive_fit(x, n, &a, &d, &xm);
        wl_plfit fit;
        wl_plfit_fit(x, n, &fit);
        assert_true(fit.ok);
        wl_assert_close(fit.xmin, xm, 0.0, 0.0); /* same candidate */
        wl_assert_close(fit.alpha, a, 1e-12, 0.0);
        wl_assert_close(fit.D, d, 1e-12, 0.0);
        int64_t spikes = 0;
        for (size_t i = 0; i < n; i++)
            spikes += x[i] >= xm;
        assert_int_equal(fit.num_pl_spikes, spikes);
        wl_assert_close(fit.sigma, (fit.alpha - 1.0) / sqrt((double)spikes), 1e-12, 0.0);
        free(x);
    }
}

static void test_failed_fit_sentinels(void **state)
{
    (void)state;
    double ev[5] = {0, 0, 1e-9, 1e-7, 3.0}; /* one value above 1e-5 */
    wl_plfit fit;
    wl_plfit_fit(ev, 5, &fit);
    assert_false(fit.ok);
    assert_true(fit.alpha == -1.0 && fit.D == -1.0 && fit.xmin == -1.0 && fit.sigma == -1.0);
    assert_int_equal(fit.num_pl_spikes, -1);
    assert_true(isnan(fit.xmax));
    wl_plfit_fit(ev, 0, &fit);
    assert_false(fit.ok);
}

static void test_all_equal_gives_infinite_alpha(void **state)
{
    (void)state;
    double ev[30];
    for (int i = 0; i < 30; i++)
        ev[i] = 1.0;
    wl_plfit fit;
    wl_plfit_fit(ev, 30, &fit);
    assert_true(fit.ok);
    assert_true(isinf(fit.alpha) && fit.alpha > 0);
    wl_assert_close(fit.D, 0.5, 0.0, 0.0); /* last candidate, 2-point tail: (n-1)/n */
    wl_assert_close(fit.xmin, 1.0, 0.0, 0.0);
    assert_int_equal(fit.num_pl_spikes, 30);
}

static void test_threshold_is_strict(void **state)
{
    (void)state;
    double ev[4] = {1e-5, 2.0, 3.0, 5.0}; /* 1e-5 itself is dropped */
    wl_plfit fit;
    wl_plfit_fit(ev, 4, &fit);
    assert_true(fit.ok);
    assert_true(fit.xmin >= 2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pareto_tail_recovers_alpha),
        cmocka_unit_test(test_pruned_scan_equals_naive_scan),
        cmocka_unit_test(test_failed_fit_sentinels),
        cmocka_unit_test(test_all_equal_gives_infinite_alpha),
        cmocka_unit_test(test_threshold_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
