/*
 * metrics.c — the norm and fit columns of a layer (spec §5–§6; WeightWatcher 0.7.5.5
 * apply_norm_metrics). Zero eigenvalues stay in every norm metric; only the power-law fit drops
 * values <= 1e-5.
 */
#include "metrics.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#define WEAK_RANK_TOL 1e-6       /* WeightWatcher's default weak_rank_loss tolerance */
#define OVER_TRAINED_THRESH 2.0  /* constants.py */
#define UNDER_TRAINED_THRESH 6.0 /* constants.py */
#define ENTROPY_EPS 1e-10        /* EPSILON in the spectral entropy */

const char *wl_metrics_warning(double alpha)
{
    if (alpha < OVER_TRAINED_THRESH)
        return "over-trained";
    if (alpha > UNDER_TRAINED_THRESH)
        return "under-trained";
    return "";
}

int wl_metrics_compute(wl_layer *l, const wl_spectrum *s)
{
    size_t n = s->n_evals;
    l->num_evals = (int64_t)n;
    wl_plfit fit;
    wl_plfit_fit(s->evals, n, &fit);
    if (fit.no_memory)
        return -1;
    l->status = fit.ok ? WL_LAYER_SUCCESS : WL_LAYER_FIT_FAILED;
    if (!fit.ok)
        snprintf(l->status_reason, sizeof l->status_reason,
                 "%lld of %zu eigenvalues above 1e-5; the power-law fit needs at least 2",
                 (long long)fit.n_fit, n);
    l->alpha = fit.alpha;
    l->D = fit.D;
    l->xmin = fit.xmin;
    l->xmax = fit.xmax;
    l->sigma = fit.sigma;
    l->num_pl_spikes = fit.num_pl_spikes;
    l->alpha_se = fit.alpha_se;
    l->alpha_lo = fit.alpha_lo;
    l->alpha_hi = fit.alpha_hi;
    l->alpha_spread = fit.alpha_hi - fit.alpha_lo;

    double norm = 0.0, alpha_norm = 0.0;
    for (size_t j = 0; j < n; j++) {
        norm += s->evals[j];
        alpha_norm += pow(s->evals[j], l->alpha);
    }
    l->lambda_max = n ? s->evals[n - 1] : 0.0;
    l->norm = norm;
    l->log_norm = log10(norm);
    l->log_spectral_norm = log10(l->lambda_max);
    l->alpha_weighted = l->alpha * log10(l->lambda_max);
    l->log_alpha_norm = log10(alpha_norm);
    l->stable_rank = norm / l->lambda_max;
    l->sv_max = s->sv_max;
    l->sv_min = s->sv_min;
    l->rank_loss = s->rank_loss;

    double tol = s->sv_max * (double)l->N * DBL_EPSILON;
    int64_t rank = 0, weak = 0;
    for (size_t j = 0; j < n; j++) {
        if (s->sv[j] > tol)
            rank++;
        if (s->evals[j] < WEAK_RANK_TOL)
            weak++;
    }
    l->matrix_rank = rank;
    l->weak_rank_loss = weak;

    /* Spectral entropy: p_j = evals_j / sum + eps, normalised by ln(matrix_rank + eps). */
    double h = 0.0;
    for (size_t j = 0; j < n; j++) {
        double p = s->evals[j] / norm + ENTROPY_EPS;
        h -= p * log(p);
    }
    l->entropy = h / log((double)rank + ENTROPY_EPS);
    l->warning = wl_metrics_warning(l->alpha);
    return 0;
}

void wl_metrics_unset_failed_fit(wl_layer *l)
{
    if (l->status != WL_LAYER_FIT_FAILED)
        return;
    l->alpha = l->D = l->xmin = l->sigma = NAN;
    l->alpha_weighted = l->log_alpha_norm = NAN;
    l->warning = "";
}

void wl_metrics_set_nonfinite(wl_layer *l, uint64_t index, double value)
{
    l->status = WL_LAYER_NONFINITE;
    snprintf(l->status_reason, sizeof l->status_reason, "non-finite weight (%g) at flat index %llu",
             value, (unsigned long long)index);
    l->nonfinite_index = index;
    l->nonfinite_value = value;
    l->alpha = l->D = l->xmin = l->xmax = l->sigma = NAN;
    l->alpha_se = l->alpha_lo = l->alpha_hi = l->alpha_spread = NAN;
    l->alpha_weighted = l->lambda_max = l->norm = l->log_norm = l->log_spectral_norm = NAN;
    l->log_alpha_norm = l->stable_rank = l->entropy = l->sv_max = l->sv_min = NAN;
    l->num_pl_spikes = l->matrix_rank = l->rank_loss = l->weak_rank_loss = -1;
    l->warning = "";
}
