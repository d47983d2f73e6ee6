/*
 * test_spectra.c — the whole spectral pipeline (Gram ESD → power-law fit → metrics → MP fit →
 * phase) on synthetic matrices whose spectra are known: Gaussian → Marchenko–Pastur
 * (random-like, alpha > 6 typical), Gaussian + weak / strong low-rank spikes → bleeding-out /
 * bulk+spikes, Pareto (tail index 1.5) → heavy-tailed with small alpha, exact low rank →
 * rank collapse. The thresholds asserted are the documented ones (docs/rules.md "Phases").
 */
#include "wl_test.h"

#include "esd.h"
#include "metrics.h"
#include "mp.h"
#include "phase.h"
#include "weightlint.h"

#include <stdlib.h>
#include <string.h>

/* Scores a rows x cols (rows >= cols) row-major matrix as analyze.c does for a dense layer. */
static void score(const double *w, size_t rows, size_t cols, wl_layer *l)
{
    memset(l, 0, sizeof *l);
    size_t k = cols;
    double *ev = malloc(k * sizeof *ev), *sv = malloc(k * sizeof *sv);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, rows, cols, ev, &err), WL_OK);
    for (size_t i = 0; i < k; i++)
        sv[i] = sqrt(ev[i]);
    l->N = (int64_t)rows;
    l->M = (int64_t)cols;
    l->rf = 1;
    l->Q = (double)rows / (double)cols;
    int64_t rank_loss = 0;
    for (size_t i = 0; i < k; i++)
        rank_loss += !(sv[i] > sv[k - 1] * (double)rows * 2.220446049250313e-16);
    wl_spectrum s = {.evals = ev, .sv = sv, .n_evals = k, .sv_max = sv[k - 1], .sv_min = sv[0],
                     .rank_loss = rank_loss};
    wl_metrics_compute(l, &s);
    wl_mp_result mp;
    wl_mp_fit(ev, k, (double)rows, (double)cols, &mp);
    l->has_mp = 1;
    l->num_spikes = mp.num_spikes;
    l->sigma_mp = mp.sigma_mp;
    l->mp_softrank = mp.mp_softrank;
    l->bulk_max = mp.bulk_max;
    l->bulk_min = mp.bulk_min;
    l->W_scale = mp.W_scale;
    l->phase = wl_phase_classify(l);
    free(ev);
    free(sv);
}

/* Adds strength * u vᵀ with random unit vectors u, v. */
static void add_spike(wl_test_rng *r, double *w, size_t rows, size_t cols, double strength)
{
    double *u = malloc(rows * sizeof *u), *v = malloc(cols * sizeof *v), nu = 0, nv = 0;
    for (size_t i = 0; i < rows; i++) {
        u[i] = wl_test_gauss(r);
        nu += u[i] * u[i];
    }
    for (size_t j = 0; j < cols; j++) {
        v[j] = wl_test_gauss(r);
        nv += v[j] * v[j];
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            w[i * cols + j] += strength * u[i] * v[j] / sqrt(nu * nv);
    free(u);
    free(v);
}

enum { ROWS = 800, COLS = 400 };

static void test_gaussian_is_random_like(void **state)
{
    (void)state;
    wl_test_rng r = {11};
    double *w = malloc(ROWS * COLS * sizeof *w);
    wl_test_fill_gauss(&r, w, ROWS, COLS, 1.0 / sqrt(ROWS));
    wl_layer l;
    score(w, ROWS, COLS, &l);
    assert_int_equal(l.status, WL_LAYER_SUCCESS);
    assert_int_equal(l.num_spikes, 0);
    wl_assert_close(l.mp_softrank, 1.0, 0.1, 0.0); /* lambda_max at the MP edge */
    assert_string_equal(l.phase, WL_PHASE_RANDOM_LIKE);
    assert_int_equal(l.weak_rank_loss, 0);
    free(w);
}

static void test_weak_spike_bleeds_out_strong_spikes_stand_out(void **state)
{
    (void)state;
    wl_test_rng r = {12};
    double *w = malloc(ROWS * COLS * sizeof *w);
    wl_test_fill_gauss(&r, w, ROWS, COLS, 1.0 / sqrt(ROWS));
    /* Bulk edge lambda+ = (1 + sqrt(c))² = 2.91 with c = COLS/ROWS. A rank-1 perturbation of
     * strength s > c^(1/4) leaves the bulk at lambda = (1 + s²)(c + s²)/s² (Benaych-Georges &
     * Nadakuditi 2012): s = 1.6 gives 4.26, just outside the edge (< 2 lambda+). */
    add_spike(&r, w, ROWS, COLS, 1.6);
    wl_layer weak;
    score(w, ROWS, COLS, &weak);
    assert_true(weak.num_spikes >= 1);
    assert_true(weak.mp_softrank >= 0.5);
    assert_string_equal(weak.phase, WL_PHASE_BLEEDING_OUT);

    wl_test_fill_gauss(&r, w, ROWS, COLS, 1.0 / sqrt(ROWS));
    add_spike(&r, w, ROWS, COLS, 6.0);
    add_spike(&r, w, ROWS, COLS, 8.0);
    add_spike(&r, w, ROWS, COLS, 10.0);
    wl_layer strong;
    score(w, ROWS, COLS, &strong);
    assert_true(strong.num_spikes >= 3 && strong.num_spikes <= 5);
    assert_true(strong.mp_softrank < 0.5);
    assert_string_equal(strong.phase, WL_PHASE_BULK_SPIKES);
    free(w);
}

static void test_pareto_is_heavy_tailed(void **state)
{
    (void)state;
    wl_test_rng r = {13};
    double *w = malloc(ROWS * COLS * sizeof *w);
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
        w[i] = wl_test_pareto(&r, 1.5) / sqrt(ROWS);
    wl_layer l;
    score(w, ROWS, COLS, &l);
    assert_int_equal(l.status, WL_LAYER_SUCCESS);
    /* Element tail index mu = 1.5 < 2: very heavy-tailed; the ESD exponent is 1 + mu/2 = 1.75
     * in theory (Martin & Mahoney 2021, Table 3); the finite-size fit lands in [1.5, 3]. */
    assert_true(l.alpha > 1.5 && l.alpha < 3.0);
    assert_string_equal(l.phase, WL_PHASE_HEAVY_TAILED);
    free(w);
}

static void test_low_rank_is_rank_collapse(void **state)
{
    (void)state;
    wl_test_rng r = {14};
    size_t rank = 40;
    double *a = malloc(ROWS * rank * sizeof *a), *b = malloc(rank * COLS * sizeof *b);
    double *w = calloc((size_t)ROWS * COLS, sizeof *w);
    wl_test_fill_gauss(&r, a, ROWS, rank, 1.0 / sqrt(ROWS));
    wl_test_fill_gauss(&r, b, rank, COLS, 1.0);
    for (size_t i = 0; i < ROWS; i++)
        for (size_t t = 0; t < rank; t++)
            for (size_t j = 0; j < COLS; j++)
                w[i * COLS + j] += a[i * rank + t] * b[t * COLS + j];
    wl_layer l;
    score(w, ROWS, COLS, &l);
    assert_int_equal(l.weak_rank_loss, COLS - (int64_t)rank);
    assert_string_equal(l.phase, WL_PHASE_RANK_COLLAPSE);
    free(a);
    free(b);
    free(w);
}

static void test_student_t_has_lower_alpha_than_gaussian(void **state)
{
    (void)state;
    wl_test_rng r = {15};
    double *w = malloc(ROWS * COLS * sizeof *w);
    wl_test_fill_gauss(&r, w, ROWS, COLS, 1.0);
    wl_layer g;
    score(w, ROWS, COLS, &g);
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
        w[i] = wl_test_student_t(&r, 3);
    wl_layer t;
    score(w, ROWS, COLS, &t);
    assert_true(t.alpha < g.alpha);
    assert_true(t.lambda_max / t.bulk_max > g.lambda_max / g.bulk_max);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaussian_is_random_like),
        cmocka_unit_test(test_weak_spike_bleeds_out_strong_spikes_stand_out),
        cmocka_unit_test(test_pareto_is_heavy_tailed),
        cmocka_unit_test(test_low_rank_is_rank_collapse),
        cmocka_unit_test(test_student_t_has_lower_alpha_than_gaussian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
