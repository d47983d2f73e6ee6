/*
 * esd.c — eigenvalues of WᵀW. The default route forms the min(rows,cols)² Gram matrix with
 * dsyrk and takes its eigenvalues with dsyevd (2–4x faster than dgesdd at the same alpha;
 * shared/notes/perf-floor.md §2). Everything is LAPACK_COL_MAJOR: a row-major rows x cols
 * buffer already is the column-major cols x rows matrix A = Wᵀ, so the Gram is A·Aᵀ (cols <=
 * rows) or Aᵀ·A (rows < cols), chosen through syrk's trans flag with no transpose copy.
 * A row stride ld >= cols is LAPACK's leading dimension, so a conv slice that is every
 * ld-th run of cols values of its kernel is read in place (score.c).
 */
#include "esd.h"

#include "wl_err.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

/* A negative LAPACKE info: its own workspace allocation failed (LAPACK_WORK_MEMORY_ERROR,
 * LAPACK_TRANSPOSE_MEMORY_ERROR: out of memory), or a bad argument (a weightlint bug). */
static wl_status lapack_arg_fail(lapack_int info, const char *routine, wl_err *err)
{
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return WL_FAIL(err, WL_E_NOMEM, "%s: out of memory for its workspace", routine);
    return WL_FAIL(err, WL_E_INTERNAL, "%s: argument %d invalid", routine, (int)-info);
}

wl_status wl_esd_gram(const double *w, size_t rows, size_t cols, double *evals, wl_err *err)
{
    return wl_esd_gram_ld(w, rows, cols, cols, evals, err);
}

wl_status wl_esd_gram_ld(const double *w, size_t rows, size_t cols, size_t ld, double *evals,
                         wl_err *err)
{
    size_t k = rows < cols ? rows : cols;
    if (k == 0)
        return WL_OK;
    if (k > (size_t)1 << 30)
        return WL_FAIL(err, WL_E_LIMIT, "matrix %zu x %zu: Gram dimension too large", rows, cols);
    double *g = malloc(k * k * sizeof *g);
    if (g == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory for a %zu x %zu Gram matrix", k, k);
    if (cols <= rows)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (blasint)cols, (blasint)rows, 1.0, w,
                    (blasint)ld, 0.0, g, (blasint)k);
    else
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (blasint)rows, (blasint)cols, 1.0, w,
                    (blasint)ld, 0.0, g, (blasint)k);
    /* A Gram of finite weights is finite unless it overflows; every entry is bounded by
     * g_ii + g_jj <= trace (Cauchy-Schwarz), so a trace below DBL_MAX/2 (not NaN) is the
     * whole check, O(k). It replaces LAPACKE_dsyevd's NaN scan of the k x k triangle, which
     * is why dsyevd is called through LAPACKE_dsyevd_work: the same workspace query, the same
     * call, the same bits. */
    double trace = 0.0;
    for (size_t i = 0; i < k; i++)
        trace += g[i * k + i];
    if (!(trace <= DBL_MAX / 2)) {
        free(g);
        return WL_FAIL(err, WL_E_NUMERIC,
                       "the %zu x %zu Gram matrix overflows double precision (trace %g)", k, k,
                       trace);
    }
    double lwork_q;
    lapack_int liwork_q, info;
    info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, g, (lapack_int)k,
                               evals, &lwork_q, -1, &liwork_q, -1);
    double *work = NULL;
    lapack_int *iwork = NULL;
    if (info == 0) {
        work = malloc((size_t)lwork_q * sizeof *work);
        iwork = malloc((size_t)liwork_q * sizeof *iwork);
        if (work == NULL || iwork == NULL)
            info = LAPACK_WORK_MEMORY_ERROR;
        else
            info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, g,
                                       (lapack_int)k, evals, work, (lapack_int)lwork_q, iwork,
                                       liwork_q);
    }
    free(work);
    free(iwork);
    free(g);
    if (info > 0)
        return WL_FAIL(err, WL_E_NUMERIC, "dsyevd did not converge (info = %d) on a %zu x %zu Gram",
                       (int)info, k, k);
    if (info < 0)
        return lapack_arg_fail(info, "dsyevd", err);
    /* Round-off can leave tiny negative eigenvalues of a PSD matrix; sqrt() feeds the ranks. */
    for (size_t i = 0; i < k; i++)
        if (evals[i] < 0.0)
            evals[i] = 0.0;
    return WL_OK;
}

wl_status wl_esd_svd_inplace(double *w, size_t rows, size_t cols, size_t ld, double *sv,
                             wl_err *err)
{
    size_t k = rows < cols ? rows : cols;
    if (k == 0)
        return WL_OK;
    lapack_int info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)cols, (lapack_int)rows, w,
                                     (lapack_int)ld, sv, NULL, 1, NULL, 1);
    if (info > 0)
        return WL_FAIL(err, WL_E_NUMERIC, "dgesdd did not converge (info = %d) on %zu x %zu",
                       (int)info, rows, cols);
    if (info < 0)
        return lapack_arg_fail(info, "dgesdd", err);
    for (size_t i = 0; i < k / 2; i++) { /* descending -> ascending */
        double tmp = sv[i];
        sv[i] = sv[k - 1 - i];
        sv[k - 1 - i] = tmp;
    }
    return WL_OK;
}

wl_status wl_esd_svd(const double *w, size_t rows, size_t cols, size_t ld, double *sv,
                     wl_err *err)
{
    if (rows == 0 || cols == 0)
        return WL_OK;
    double *a = malloc(rows * cols * sizeof *a);
    if (a == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory for a %zu x %zu SVD", rows, cols);
    for (size_t r = 0; r < rows; r++) /* dgesdd destroys its input */
        memcpy(a + r * cols, w + r * ld, cols * sizeof *a);
    wl_status st = wl_esd_svd_inplace(a, rows, cols, cols, sv, err);
    free(a);
    return st;
}

wl_status wl_esd_gram_f32(const double *w, size_t rows, size_t cols, size_t ld, double *evals,
                         wl_err *err)
{
    size_t k = rows < cols ? rows : cols;
    if (k == 0)
        return WL_OK;
    float *a = malloc(rows * cols * sizeof *a);
    float *g = malloc(k * k * sizeof *g);
    float *ev = malloc(k * sizeof *ev);
    wl_status st = WL_OK;
    if (a == NULL || g == NULL || ev == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for a %zu x %zu Gram matrix", k, k);
        goto out;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            a[r * cols + c] = (float)w[r * ld + c];
    if (cols <= rows)
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, (blasint)cols, (blasint)rows, 1.0f, a,
                    (blasint)cols, 0.0f, g, (blasint)k);
    else
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, (blasint)rows, (blasint)cols, 1.0f, a,
                    (blasint)cols, 0.0f, g, (blasint)k);
    lapack_int info = LAPACKE_ssyevd(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, g, (lapack_int)k,
                                     ev);
    if (info > 0) {
        st = WL_FAIL(err, WL_E_NUMERIC, "ssyevd did not converge (info = %d) on a %zu x %zu Gram",
                     (int)info, k, k);
        goto out;
    }
    if (info < 0) {
        st = lapack_arg_fail(info, "ssyevd", err);
        goto out;
    }
    for (size_t i = 0; i < k; i++)
        evals[i] = ev[i] < 0.0f ? 0.0 : (double)ev[i];
out:
    free(a);
    free(g);
    free(ev);
    return st;
}
