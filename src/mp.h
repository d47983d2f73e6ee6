/*
 * mp.h — Marchenko–Pastur (MP) fit of a layer's empirical spectral density, reproducing
 * WeightWatcher 0.7.5.5's mp_fit (docs: spec §7): rescale to mean 1, linear-kernel KDE,
 * penalised least squares, scipy.optimize.brute on a 0.05..2.0 x s0 grid, Nelder–Mead polish.
 * Outputs the MP bulk edges, sigma_mp, the MP soft rank and the number of spikes beyond the
 * bulk edge plus the Tracy–Widom margin (Martin & Mahoney 2021, JMLR 22(165), §5).
 */
#ifndef WL_MP_H
#define WL_MP_H

#include <stddef.h>
#include <stdint.h>

/* Result of one MP fit. On failure ok = 0 and every other field is -1, as the reference
 * reports an exception in mp_fit. */
typedef struct wl_mp_result {
    int ok;             /* 1 = fitted; 0 = the reference would have raised (all fields -1) */
    int64_t num_spikes; /* #{rescaled evals > bulk_max + sqrt(TW)} */
    double sigma_mp;    /* fitted MP sigma, in the rescaled (mean-1) units */
    double mp_softrank; /* bulk_max / lambda_max, both rescaled; can exceed 1 */
    double bulk_min;    /* (sigma (1 - 1/sqrt(Q)))^2, in eigenvalue units (/ W_scale^2) */
    double bulk_max;    /* (sigma (1 + 1/sqrt(Q)))^2, in eigenvalue units (/ W_scale^2) */
    double W_scale;     /* sqrt(n) / sqrt(sum(evals)): evals * W_scale^2 has mean 1 */
} wl_mp_result;

/* Optional diagnostics of the optimiser (for tests and --debug output). */
typedef struct wl_mp_trace {
    double s0;         /* starting sigma sqrt(lmax / (1 + 1/sqrt(Q))^2), rescaled units */
    size_t n_grid;     /* brute-force grid size, numpy arange semantics (195 in practice) */
    double grid_sigma; /* best grid point, the Nelder–Mead start */
    double grid_cost;  /* its cost */
    double cost;       /* cost at sigma_mp */
    int nm_nfev;       /* Nelder–Mead function evaluations (at most 200) */
    int nm_nit;        /* Nelder–Mead iterations as scipy counts them */
    int nm_warnflag;   /* 0 converged, 1 maxfun, 2 maxiter (scipy fmin's warnflag) */
    size_t n_kde;      /* KDE grid points with density > 0.01 (the fitted points) */
} wl_mp_trace;

/*
 * Fits the MP law to evals (n eigenvalues, ascending as produced by the ESD; any order is
 * accepted but ascending reproduces the reference's summation order) of a layer whose
 * WeightWatcher bookkeeping is N, M (Q = N/M, which can be < 1 under quirk A; Q == 1 exactly
 * switches to the quarter-circle law on sqrt(evals)). Never allocates and never fails: a
 * spectrum the reference cannot fit (n == 0, all zeros, non-finite values) gives out->ok = 0
 * and -1 in every field. Thread-safe (no global state).
 */
void wl_mp_fit(const double *evals, size_t n, double N, double M, wl_mp_result *out);

/* Same as wl_mp_fit, and also fills *trace when trace is not NULL. */
void wl_mp_fit_trace(const double *evals, size_t n, double N, double M, wl_mp_result *out,
                     wl_mp_trace *trace);

#endif
