/*
 * esd.h — empirical spectral density: the eigenvalues of WᵀW in double precision.
 */
#ifndef WL_ESD_H
#define WL_ESD_H

#include "weightlint.h"

/* Every function takes a row-major rows x cols matrix whose rows start ld >= cols values
 * apart (ld == cols: a dense buffer). */

/* wl_esd_gram (weightlint.h) with a row stride. Same values, same bits: dsyrk packs its
 * operand before it computes. */
WL_NODISCARD wl_status wl_esd_gram_ld(const double *w, size_t rows, size_t cols, size_t ld,
                                      double *evals, wl_err *err);

/* Singular values of a row-major rows x cols matrix with LAPACK dgesdd (jobz='N'), ascending,
 * min(rows,cols) of them. Slower than the Gram route but resolves tiny singular values down to
 * eps64 * sv_max, which the rank columns need (conformance README "Rank columns"). */
WL_NODISCARD wl_status wl_esd_svd(const double *w, size_t rows, size_t cols, size_t ld,
                                  double *sv, wl_err *err);

/* The same, destroying w (dgesdd overwrites its input): no rows x cols copy, which the memory
 * budget would otherwise have to reserve for every job (issue #13). Same values, same bits. */
WL_NODISCARD wl_status wl_esd_svd_inplace(double *w, size_t rows, size_t cols, size_t ld,
                                          double *sv, wl_err *err);

/* The --fast route: the same Gram eigenvalues in float32 (ssyrk + ssyevd), about 2x faster and
 * with an absolute floor of ~eps32 * lambda_max (alpha moves by up to ~3e-5; perf-floor.md).
 * Results are widened to double, ascending, clamped at 0. */
WL_NODISCARD wl_status wl_esd_gram_f32(const double *w, size_t rows, size_t cols, size_t ld,
                                       double *evals, wl_err *err);

#endif
