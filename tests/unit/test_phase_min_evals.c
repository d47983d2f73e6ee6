/*
 * test_phase_min_evals.c — measures how many eigenvalues a phase needs (WL_PHASE_MIN_EVALS,
 * docs/metrics.md "Enough eigenvalues for a phase"). On N(0, 1) matrices — random by
 * construction, so every one should be random-like — the Marchenko–Pastur fit's soft rank
 * (bulk edge / lambda_max) scatters around 1 with a spread that shrinks as the number of
 * eigenvalues M grows (the largest eigenvalue's Tracy–Widom fluctuation is ~ M^(-2/3) of the
 * edge, and the fitted edge itself is noisy on few points). Below some M the spread crosses
 * the phase tree's own thresholds (soft rank 0.5 for bleeding-out, any outlier for not
 * random-like): then a phase label is noise. Seeded (splitmix64), 100 matrices per size and shape.
 * The table printed here is the one in docs/metrics.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "phase.h"
#include "wl_test.h"

#define N_SEEDS 100
#define WL_TEST_SPREAD 0.2 /* p95 - p05 of the soft rank: +-0.1, a fifth of the bleeding-out cut */

typedef struct spread {
    double p05, p50, p95; /* percentiles of mp_softrank */
    double random_share;  /* share with no outlier beyond the edge (num_spikes == 0) */
} spread;

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static spread measure(size_t m, double q)
{
    size_t n = (size_t)((double)m * q);
    double *w = malloc(n * m * sizeof *w), *ev = malloc(m * sizeof *ev);
    double sr[N_SEEDS];
    size_t n_random = 0;
    assert_non_null(w);
    assert_non_null(ev);
    wl_test_rng rng = {0x5eed0000u + m};
    for (int s = 0; s < N_SEEDS; s++) {
        wl_test_fill_gauss(&rng, w, n, m, 1.0);
        wl_err err;
        wl_err_clear(&err);
        assert_int_equal(wl_esd_gram(w, n, m, ev, &err), WL_OK);
        wl_mp_result r;
        wl_mp_fit(ev, m, (double)n, (double)m, &r);
        sr[s] = r.ok ? r.mp_softrank : NAN;
        n_random += r.ok && r.num_spikes == 0;
    }
    qsort(sr, N_SEEDS, sizeof *sr, cmp_d);
    free(w);
    free(ev);
    return (spread){sr[N_SEEDS / 20], sr[N_SEEDS / 2], sr[N_SEEDS - 1 - N_SEEDS / 20],
                    (double)n_random / N_SEEDS};
}

/* Prints the table and checks the constant against it: at WL_PHASE_MIN_EVALS eigenvalues and
 * above, for Q = 1 and Q = 4 alike, the middle 90 % of the soft ranks of Gaussian matrices span
 * at most WL_TEST_SPREAD and at least 90 % are random-like; at half of it or fewer, not. */
static void test_min_evals(void **state)
{
    (void)state;
    static const size_t sizes[] = {8, 16, 24, 32, 48, 64, 96, 128};
    static const double qs[] = {1.0, 4.0};
    printf("#   M    Q   softrank p05    p50    p95  spread  random-like\n");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int tight = 1;
        for (size_t qi = 0; qi < 2; qi++) {
            spread s = measure(sizes[i], qs[qi]);
            printf("# %4zu %4.0f   %10.3f %6.3f %6.3f  %6.3f   %5.1f %%\n", sizes[i], qs[qi],
                   s.p05, s.p50, s.p95, s.p95 - s.p05, 100 * s.random_share);
            tight &= s.p95 - s.p05 <= WL_TEST_SPREAD && s.random_share >= 0.9;
        }
        if (sizes[i] >= WL_PHASE_MIN_EVALS)
            assert_true(tight);
        if (2 * sizes[i] <= WL_PHASE_MIN_EVALS)
            assert_false(tight);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_min_evals)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
