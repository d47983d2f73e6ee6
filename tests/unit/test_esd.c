/*
 * test_esd.c — eigenvalues of WᵀW: agreement of the Gram route with dgesdd in both
 * orientations, invariants (non-negative, ascending, sum = squared Frobenius norm), and the
 * Marchenko–Pastur bulk of a Gaussian matrix, and a matrix read in place with a row stride.
 */
#include "wl_test.h"

#include "esd.h"
#include "weightlint.h"

#include <stdlib.h>
#include <string.h>

static void check_orientation(size_t rows, size_t cols)
{
    wl_test_rng r = {rows * 1000 + cols};
    double *w = malloc(rows * cols * sizeof *w);
    size_t k = rows < cols ? rows : cols;
    double *ev = malloc(k * sizeof *ev), *sv = malloc(k * sizeof *sv);
    wl_test_fill_gauss(&r, w, rows, cols, 1.0);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, rows, cols, ev, &err), WL_OK);
    assert_int_equal(wl_esd_svd(w, rows, cols, cols, sv, &err), WL_OK);
    double fro = 0.0, sum = 0.0;
    for (size_t i = 0; i < rows * cols; i++)
        fro += w[i] * w[i];
    for (size_t i = 0; i < k; i++) {
        assert_true(ev[i] >= 0.0);
        if (i)
            assert_true(ev[i] >= ev[i - 1]);
        wl_assert_close(ev[i], sv[i] * sv[i], 0.0, 1e-12 * ev[k - 1]);
        sum += ev[i];
    }
    wl_assert_close(sum, fro, 1e-12, 0.0);
    free(w);
    free(ev);
    free(sv);
}

static void test_gram_matches_svd_tall(void **state)
{
    (void)state;
    check_orientation(120, 45);
}

static void test_gram_matches_svd_wide(void **state)
{
    (void)state;
    check_orientation(45, 120);
}

/* A matrix read in place from inside a wider buffer (rows ld values apart, as score.c reads a
 * conv slice) has the same eigenvalues and singular values, to the bit, as its dense copy; the
 * values around it are never read and never written. */
static void check_strided(size_t rows, size_t cols)
{
    size_t ld = 3 * cols + 5, off = cols + 2, k = rows < cols ? rows : cols;
    wl_test_rng r = {rows * 7 + cols};
    double *dense = malloc(rows * cols * sizeof *dense);
    double *wide = malloc(rows * ld * sizeof *wide), *keep = malloc(rows * ld * sizeof *keep);
    wl_test_fill_gauss(&r, wide, rows, ld, 1.0);
    memcpy(keep, wide, rows * ld * sizeof *wide);
    for (size_t i = 0; i < rows; i++)
        memcpy(dense + i * cols, wide + i * ld + off, cols * sizeof *dense);
    double *ev = malloc(k * sizeof *ev), *ev_ld = malloc(k * sizeof *ev);
    double *sv = malloc(k * sizeof *sv), *sv_ld = malloc(k * sizeof *sv);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(dense, rows, cols, ev, &err), WL_OK);
    assert_int_equal(wl_esd_gram_ld(wide + off, rows, cols, ld, ev_ld, &err), WL_OK);
    assert_memory_equal(ev, ev_ld, k * sizeof *ev);
    assert_int_equal(wl_esd_svd(dense, rows, cols, cols, sv, &err), WL_OK);
    assert_int_equal(wl_esd_svd(wide + off, rows, cols, ld, sv_ld, &err), WL_OK);
    assert_memory_equal(sv, sv_ld, k * sizeof *sv);
    assert_memory_equal(wide, keep, rows * ld * sizeof *wide);
    /* in place: only the matrix's own values may change */
    assert_int_equal(wl_esd_svd_inplace(wide + off, rows, cols, ld, sv_ld, &err), WL_OK);
    assert_memory_equal(sv, sv_ld, k * sizeof *sv);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < ld; j++)
            if (j < off || j >= off + cols)
                assert_true(wide[i * ld + j] == keep[i * ld + j]);
    free(dense);
    free(wide);
    free(keep);
    free(ev);
    free(ev_ld);
    free(sv);
    free(sv_ld);
}

static void test_strided_matches_dense(void **state)
{
    (void)state;
    check_strided(60, 24);
    check_strided(24, 60);
}

static void test_gaussian_bulk_is_marchenko_pastur(void **state)
{
    (void)state;
    size_t rows = 800, cols = 400; /* Q = 2 */
    wl_test_rng r = {3};
    double *w = malloc(rows * cols * sizeof *w), ev[400];
    wl_test_fill_gauss(&r, w, rows, cols, 1.0);
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, rows, cols, ev, &err), WL_OK);
    /* Eigenvalues of XᵀX/N for unit-variance X fill [(1-1/sqrt(Q))², (1+1/sqrt(Q))²]. */
    double q = 2.0, lo = pow(1 - 1 / sqrt(q), 2), hi = pow(1 + 1 / sqrt(q), 2);
    wl_assert_close(ev[0] / (double)rows, lo, 0.15, 0.0);
    wl_assert_close(ev[399] / (double)rows, hi, 0.05, 0.0);
    free(w);
}

static void test_low_rank_has_zero_mass(void **state)
{
    (void)state;
    size_t rows = 200, cols = 100, rank = 20;
    wl_test_rng r = {9};
    double *a = malloc(rows * rank * sizeof *a), *b = malloc(rank * cols * sizeof *b);
    double *w = calloc(rows * cols, sizeof *w), ev[100];
    wl_test_fill_gauss(&r, a, rows, rank, 1.0);
    wl_test_fill_gauss(&r, b, rank, cols, 1.0);
    for (size_t i = 0; i < rows; i++)
        for (size_t t = 0; t < rank; t++)
            for (size_t j = 0; j < cols; j++)
                w[i * cols + j] += a[i * rank + t] * b[t * cols + j];
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, rows, cols, ev, &err), WL_OK);
    int zeros = 0;
    for (int i = 0; i < 100; i++)
        zeros += ev[i] < 1e-9 * ev[99];
    assert_int_equal(zeros, 80);
    free(a);
    free(b);
    free(w);
}

/* Finite weights whose Gram overflows: a numerical error naming the Gram, not LAPACK's
 * "argument 6 invalid" or a spectrum of infinities. Just below overflow still works. */
static void test_gram_overflow_is_numeric(void **state)
{
    (void)state;
    double w[6] = {1e200, -1e200, 3e199, 2e200, 1e200, -5e199}, ev[2];
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(w, 3, 2, ev, &err), WL_E_NUMERIC);
    assert_non_null(strstr(err.msg, "2 x 2 Gram matrix overflows"));
    double ok[6] = {1e150, -1e150, 3e149, 2e150, 1e150, -5e149};
    wl_err_clear(&err);
    assert_int_equal(wl_esd_gram(ok, 3, 2, ev, &err), WL_OK);
    assert_true(ev[1] > 1e300 && ev[0] >= 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gram_matches_svd_tall),
        cmocka_unit_test(test_gram_matches_svd_wide),
        cmocka_unit_test(test_strided_matches_dense),
        cmocka_unit_test(test_gaussian_bulk_is_marchenko_pastur),
        cmocka_unit_test(test_low_rank_has_zero_mass),
        cmocka_unit_test(test_gram_overflow_is_numeric),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
