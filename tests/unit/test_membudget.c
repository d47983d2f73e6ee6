/*
 * test_membudget.c — the worker pool's memory accounting (src/membudget.h, issue #13): what a
 * job is charged, the budget, and the bytes the pool admitted on a real model, checked against
 * the sizes of the buffers the code allocates (not against the formula's own output).
 */
#include "membudget.h"
#include "onnx_model.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB ((uint64_t)1 << 20)

/* A 1024 x 4096 dense layer (gen1g's): the 1024^2 Gram, dsyevd's O(k) workspace, the 1024
 * eigenvalues and singular values, the power-law fit's arrays (a long double suffix sum, alpha
 * and log x: 32 bytes each), and the 8 MB window of mapped file pages. No rows x cols copy: the
 * rank-deficient SVD route overwrites the worker's buffer. */
static void test_dense_charge(void **state)
{
    (void)state;
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    uint64_t k = 1024, rc = 1024 * 4096;
    uint64_t gram = 8 * k * k, lapack = 8 * 8 * k, spectra = 2 * 8 * k, fit = 32 * k;
    assert_int_equal(wl_job_work_bytes(1024, 4096, 1, &o),
                     gram + lapack + spectra + fit + WL_WIDEN_WINDOW_BYTES);
    /* --randomize keeps the original for the shuffles: dgesdd's copy, the shuffle buffer and
     * 5 replicas + 1 of the spectrum. */
    o.randomize = 1;
    assert_int_equal(wl_job_work_bytes(1024, 4096, 1, &o),
                     gram + lapack + spectra + fit + WL_WIDEN_WINDOW_BYTES + 8 * (2 * rc + 6 * k));
}

/* A 3x3 conv kernel 256 x 128: one kernel row reordered into its 9 slices is charged (the
 * slices are read in place), and the spectra cover 9 slices. */
static void test_conv_charge(void **state)
{
    (void)state;
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    uint64_t k = 128, row = 128 * 9, n = 9 * k;
    assert_int_equal(wl_job_work_bytes(256, 128, 9, &o),
                     8 * row + 8 * k * k + 64 * k + 16 * n + 32 * n + WL_WIDEN_WINDOW_BYTES);
}

/* The bound is 64 MB + 3 x the largest matrix; the pool admits up to it less the baseline. */
static void test_budget(void **state)
{
    (void)state;
    assert_int_equal(wl_pool_budget(32 * MiB), 64 * MiB + 96 * MiB - WL_MEM_BASELINE_BYTES);
    assert_true(WL_MEM_BASELINE_BYTES < WL_MEM_FIXED_BYTES);
}

/* One worker on the bundled MLP (fc1 512x784 is the largest): at most fc1's widening buffer,
 * its work and one BLAS thread buffer are held at once, and exactly that is the peak, since the
 * buffer is kept (and only grows) across the worker's jobs, largest first. Two workers: never
 * more than the budget, and at least as much as one. */
static void test_admitted_on_model(void **state)
{
    (void)state;
    const char *model = "examples/fashion_mlp_trained.onnx";
    if (access(model, R_OK) != 0)
        skip();
    wl_options o;
    wl_options_init(&o, WL_COMPAT_NONE);
    o.threads = 1;
    wl_err err;
    wl_err_clear(&err);
    wl_analysis *a = NULL;
    assert_int_equal(wl_analyze_file(model, &o, &a, &err), WL_OK);
    assert_int_equal(a->n_layers, 3);
    uint64_t fc1 = 8 * 512 * 784;
    uint64_t one = fc1 + wl_job_work_bytes(512, 784, 1, &o) + WL_BLAS_THREAD_BYTES;
    assert_int_equal(a->peak_admitted_bytes, one);
    wl_analysis_free(a);

    o.threads = 2;
    assert_int_equal(wl_analyze_file(model, &o, &a, &err), WL_OK);
    assert_true(a->peak_admitted_bytes >= one);
    assert_true(a->peak_admitted_bytes <= wl_pool_budget(fc1));
    wl_analysis_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_charge),
        cmocka_unit_test(test_conv_charge),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_admitted_on_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
