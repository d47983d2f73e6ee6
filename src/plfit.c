/*
 * plfit.c — the power-law tail fit of WeightWatcher 0.7.5.5's default WWFit (spec §5.1), a
 * variant of Clauset, Shalizi & Newman 2009 ("Power-law distributions in empirical data"):
 *   data      x = eigenvalues > 1e-5, ascending; candidates xmin = x[i], i = 0 .. n_all-2
 *   alpha_i   = 1 + n / sum_{j>=i} ln(x[j]/x[i])            (CSN eq. 3.1, continuous MLE)
 *   D_i       = max_k |1 - (x[i+k]/x[i])^(1-alpha_i) - k/n|  (left empirical CDF only)
 *   sigma_i   = (alpha_i - 1) / sqrt(n)                      (CSN eq. 3.2)
 * and the first i with the smallest D wins.
 *
 * The scan is O(n²) in the worst case. It is made cheaper without changing the result: an
 * upper bound B on min D comes from a sample of candidates, and a candidate's KS loop stops
 * as soon as its running maximum exceeds B (then D_i > B >= min D, so it cannot win). The
 * near-optimal set below rescans only the abandoned candidates, with the bound min D + margin.
 *
 * How far to trust alpha (docs/metrics.md, "Uncertainty of alpha"):
 *   alpha_se  = (alpha-1) n / ((n-1) sqrt(n-2)), the exact standard deviation of the MLE for a
 *               continuous power-law sample of n points at fixed xmin (sum ln(x/xmin) is
 *               Gamma(n, alpha-1), so alpha-1 = n/sum is n times an inverse gamma), with the
 *               fitted alpha plugged in; CSN's sigma (eq. 3.2) is its large-n limit;
 *   alpha_lo, alpha_hi = the range of alpha_i over the "KS-near-optimal" candidates, those with
 *               D_i <= min D + WL_PLFIT_NEAR_C / sqrt(n_best): the xmins a nearly identical
 *               spectrum could have picked instead (the constant was chosen by measurement).
 */
#include "plfit.h"

#include <math.h>
#include <stdlib.h>

#define PL_THRESHOLD 1e-5 /* WeightWatcher's EVALS_THRESH */

/* |F_i(x[i+k]) - k/n| of candidate i at tail point k: the term the KS distance maximizes. */
static inline double ks_term(const double *lx, size_t i, size_t k, double e, double dn)
{
    double diff = lx[i + k] - lx[i];
    double cdf = diff == 0.0 ? 0.0 : 1.0 - exp(e * diff);
    return fabs(cdf - (double)k / dn);
}

/* KS distance of candidate i, abandoning (returning a value > bound) once it exceeds bound.
 * (x/xmin)^(1-alpha) is computed as exp((1-alpha)(ln x - ln xmin)) from logs taken once: the
 * same value to a few ulps, at a fraction of pow()'s cost in this O(n²) loop.
 * *hint is a point (an index into x) where a neighbouring candidate's deviation was largest or
 * crossed the bound: the deviation there is tried first, and most candidates that cannot win
 * are abandoned after that one term instead of after a scan. The maximum itself does not
 * depend on the order the terms are visited in, so D_i is the same bits. *hint is updated. */
static double ks_distance(const double *lx, size_t n_all, size_t i, double alpha, double bound,
                          size_t *hint)
{
    if (!(alpha > 1.0))
        return 1.0;
    size_t n = n_all - i;
    double e = 1.0 - alpha, dn = (double)n, d = 0.0;
    if (isinf(alpha)) /* all tail values equal: (x/xmin)^-inf is 1 at xmin, 0 above */
        e = -INFINITY;
    if (*hint > i && *hint < n_all) {
        d = ks_term(lx, i, *hint - i, e, dn);
        if (d > bound)
            return d;
    }
    for (size_t k = 0; k < n; k++) {
        double dev = ks_term(lx, i, k, e, dn);
        if (dev > d) {
            d = dev;
            *hint = i + k;
            if (d > bound)
                return d;
        }
    }
    return d;
}

void wl_plfit_fit(const double *evals, size_t n, wl_plfit *out)
{
    wl_plfit_fit_near(evals, n, WL_PLFIT_NEAR_C, out);
}

/* Exact finite-sample standard error of the continuous MLE (see the file header); NaN below
 * 3 points, where the inverse gamma has no variance. */
static double alpha_stderr(double alpha, size_t n)
{
    if (n < 3 || !isfinite(alpha))
        return NAN;
    double dn = (double)n;
    return (alpha - 1.0) * dn / ((dn - 1.0) * sqrt(dn - 2.0));
}

void wl_plfit_fit_near(const double *evals, size_t n, double near_c, wl_plfit *out)
{
    out->ok = 0;
    out->alpha = out->D = out->xmin = out->sigma = -1.0;
    out->xmax = NAN;
    out->num_pl_spikes = -1;
    out->alpha_se = out->alpha_lo = out->alpha_hi = NAN;
    out->n_near = 0;
    out->no_memory = 0;
    size_t first = 0;
    while (first < n && !(evals[first] > PL_THRESHOLD))
        first++;
    const double *x = evals + first;
    size_t n_all = n - first;
    out->n_fit = (int64_t)n_all;
    if (n_all < 2)
        return;
    /* Suffix sums of ln x in long double: alpha_i needs sum_{j>=i} ln x[j] - n ln x[i]. */
    long double *suffix = malloc((n_all + 1) * sizeof *suffix);
    double *alpha = malloc(n_all * sizeof *alpha);
    double *lx = malloc(n_all * sizeof *lx);
    double *dks = malloc(n_all * sizeof *dks);
    if (suffix == NULL || alpha == NULL || lx == NULL || dks == NULL) {
        free(suffix);
        free(alpha);
        free(lx);
        free(dks);
        out->no_memory = 1;
        return;
    }
    suffix[n_all] = 0.0L;
    for (size_t j = n_all; j-- > 0;) {
        lx[j] = log(x[j]);
        suffix[j] = suffix[j + 1] + logl((long double)x[j]);
    }
    for (size_t i = 0; i + 1 < n_all; i++) {
        long double nn = (long double)(n_all - i);
        long double denom = suffix[i] - nn * logl((long double)x[i]);
        alpha[i] = (double)(1.0L + nn / denom);
        if (denom == 0.0L)
            alpha[i] = INFINITY;
    }
    /* Upper bound from ~64 evenly spaced candidates. */
    size_t n_cand = n_all - 1;
    size_t stride = n_cand > 64 ? n_cand / 64 : 1;
    double bound = INFINITY;
    size_t hint = 0;
    for (size_t i = 0; i < n_cand; i += stride) {
        double d = ks_distance(lx, n_all, i, alpha[i], bound, &hint);
        if (d < bound)
            bound = d;
    }
    size_t best = 0;
    double best_d = INFINITY;
    for (size_t i = 0; i < n_cand; i++) {
        double d = ks_distance(lx, n_all, i, alpha[i], bound, &hint);
        dks[i] = d;
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    /* Second pass for the near-optimal set: a candidate abandoned above bound may still lie
     * within the margin of min D, so rescan those with the bound raised to min D + margin. */
    double near = best_d + (near_c > 0.0 ? near_c / sqrt((double)(n_all - best)) : 0.0);
    for (size_t i = 0; i < n_cand && near > bound; i++)
        if (dks[i] > bound)
            dks[i] = ks_distance(lx, n_all, i, alpha[i], near, &hint);
    out->ok = 1;
    out->alpha = alpha[best];
    out->xmin = x[best];
    out->D = best_d;
    out->sigma = (alpha[best] - 1.0) / sqrt((double)(n_all - best));
    out->xmax = x[n_all - 1];
    out->alpha_se = alpha_stderr(alpha[best], n_all - best);
    out->alpha_lo = out->alpha_hi = alpha[best];
    for (size_t i = 0; i < n_cand; i++) {
        if (!(dks[i] <= near))
            continue;
        out->n_near++;
        if (alpha[i] < out->alpha_lo)
            out->alpha_lo = alpha[i];
        if (alpha[i] > out->alpha_hi)
            out->alpha_hi = alpha[i];
    }
    int64_t spikes = 0;
    for (size_t j = 0; j < n; j++)
        if (evals[j] >= out->xmin)
            spikes++;
    out->num_pl_spikes = spikes;
    free(suffix);
    free(alpha);
    free(lx);
    free(dks);
}
