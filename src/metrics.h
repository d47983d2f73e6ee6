/*
 * metrics.h — per-layer metrics from a pooled spectrum (spec §4–§6).
 */
#ifndef WL_METRICS_H
#define WL_METRICS_H

#include "weightlint.h"

/* Per-slice facts the ESD stage hands to the metrics. */
typedef struct wl_spectrum {
    double *evals;   /* pooled eigenvalues, ascending (n_evals) */
    double *sv;      /* pooled singular values matching evals (n_evals), for the rank columns */
    size_t n_evals;
    double sv_max;   /* max over slices of the largest singular value */
    double sv_min;   /* max over slices of the smallest singular value (WeightWatcher's quirk) */
    int64_t rank_loss; /* sum over slices of the singular values at or below max(sv)*N*eps */
} wl_spectrum;

/* Fills the fit and norm columns of l (alpha ... entropy, warning, status) from s. l->N must
 * already be set: it enters the matrix_rank tolerance. Returns 0, or -1 when out of memory
 * (l is then not filled). */
int wl_metrics_compute(wl_layer *l, const wl_spectrum *s);

/* weightlint's own mode: a failed fit has no alpha. Replaces WeightWatcher's -1 sentinels (and
 * everything derived from them: alpha_weighted, log_alpha_norm, the "over-trained" warning) by
 * NaN and "", so no mean or threshold can mistake them for a measurement; status_reason says
 * why. --compat ww keeps the sentinels verbatim. */
void wl_metrics_unset_failed_fit(wl_layer *l);

/* Marks l as not analyzable because of non-finite weights: every metric NaN, status set. */
void wl_metrics_set_nonfinite(wl_layer *l, uint64_t index, double value);

/* WeightWatcher's warning label for an alpha (strict comparisons; -1 is "over-trained"). */
const char *wl_metrics_warning(double alpha);

#endif
