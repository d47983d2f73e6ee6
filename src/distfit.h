/*
 * distfit.h — is a layer's tail a power law at all? The competing fits and likelihood-ratio
 * tests of the `powerlaw` 1.5 package (Alstott, Bullmore & Plenz 2014) on the PL fit's tail, as
 * Martin & Mahoney (ICML 2019, §3) run them: truncated power law, exponential, stretched
 * exponential and log-normal, each by maximum likelihood on [xmin, inf), and the tests of PL
 * against each. Spec: ../shared/spec/distribution-compare.md (section numbers below are its).
 */
#ifndef WL_DISTFIT_H
#define WL_DISTFIT_H

#include "weightlint.h"

/* The five distributions, in the order of every per-distribution array below. */
enum { WL_DIST_PL, WL_DIST_TPL, WL_DIST_EXP, WL_DIST_LOGNORMAL, WL_DIST_STRETCHED, WL_DIST_N };
/* The four alternatives of the PL tests (pl_vs_X), the first four of the table minus PL. */
enum { WL_ALT_TPL, WL_ALT_EXP, WL_ALT_LOGNORMAL, WL_ALT_STRETCHED, WL_ALT_N };

/* Per-fit Nelder–Mead exit state (spec §3): iterations, objective calls, and scipy's warnflag
 * (0 converged, 1 evaluation cap hit, 2 iteration cap hit). All 0 for the closed-form PL. */
typedef struct wl_nm_info {
    int nit, nfev, warnflag;
} wl_nm_info;

typedef struct wl_distfit {
    int ok;           /* 1: every value below is set; 0: see reason, values NaN */
    char reason[128]; /* why there is no comparison (ok == 0) */
    size_t n;         /* tail size */
    double pl_alpha;  /* powerlaw's PL alpha on this tail (ties at xmin included, §4.1) */
    double tpl_alpha, tpl_lambda;            /* §4.2; lambda in 1/eigenvalue units */
    double exp_lambda;                       /* §4.3 */
    double lognormal_mu, lognormal_sigma;    /* §4.5 */
    double stretched_lambda, stretched_beta; /* §4.4 */
    double loglik[WL_DIST_N];                /* total log-likelihood of each fit (sequential sum) */
    wl_nm_info nm[WL_DIST_N];
    /* PL against each alternative: normalized R (> 0 favours PL), raw R and p (§5). PL vs TPL
     * is the nested chi-square test (p from the raw R), the others Vuong's test. */
    double R[WL_ALT_N], R_raw[WL_ALT_N], p[WL_ALT_N];
    /* TPL against exponential, log-normal, stretched exp (index WL_ALT_EXP.. ; [WL_ALT_TPL]
     * unused, NaN): the tests best_fit needs when TPL beats PL (§8). */
    double tpl_R[WL_ALT_N], tpl_p[WL_ALT_N];
    const char *best_fit; /* "pl", "tpl", "exponential", "lognormal", "stretched_exp",
                             "undecided" (static); NULL when !ok */
} wl_distfit;

/* The best_fit threshold P of spec §8. */
#define WL_DISTFIT_P 0.05

/* Fits and tests the tail x[0..n-1] (ascending, every eigenvalue >= xmin, on the PL fit's scale:
 * never rescale, §6.7). Never fails on data: a tail that admits no comparison (n < 2, every
 * value equal to xmin) gives out->ok = 0 with out->reason. Returns WL_E_NOMEM (err set) only
 * when the workspace cannot be allocated. Thread-safe. */
WL_NODISCARD wl_status wl_distfit_tail(const double *x, size_t n, double xmin, wl_distfit *out,
                                       wl_err *err);

/* log Z of the TPL normalizer, Z = int_xmin^inf x^-alpha exp(-lambda x) dx (alpha > 1,
 * lambda > 0, xmin > 0), accurate to ~1 ulp of max(1, |log Z|) (spec §4.2). Exposed for the
 * conformance table of tests/unit/test_distfit.c. NaN outside the domain. */
double wl_distfit_tpl_log_z(double alpha, double lambda, double xmin);

/* The fitted density of alternative dist (WL_DIST_TPL, _EXP, _LOGNORMAL, _STRETCHED; theta: its
 * parameters in wl_distfit's order, (alpha, lambda), (lambda), (mu, sigma), (lambda, beta)) on
 * [xmin, inf) at x[0..n-1] (each >= xmin), as log densities into out: the very per-point
 * log-likelihoods the fits maximize, so a drawn curve is the fit that was tested. Invalid
 * parameters give the floor log(1e-307) everywhere. For the log-log plot's competing fits. */
WL_NODISCARD wl_status wl_distfit_log_pdf(int dist, const double *theta, double xmin,
                                          const double *x, size_t n, double *out, wl_err *err);

/* scipy.optimize.fmin 1.10.1 with powerlaw's call (spec §3): Nelder–Mead from x0 (dimension
 * dim, 1 or 2) with absolute xatol = fatol = 1e-4 and 200*dim evaluations at most. x (OUT) is
 * the best vertex; returns its objective value. Exposed for the unit tests. */
double wl_distfit_fmin(double (*f)(const double *theta, void *ctx), void *ctx, const double *x0,
                       int dim, double *x, wl_nm_info *info);

#endif
