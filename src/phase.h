/*
 * phase.h — the 5+1 phases of training of Martin & Mahoney ("Implicit Self-Regularization in
 * Deep Neural Networks", JMLR 22(165), 2021, Table 2; also "Traditional and Heavy-Tailed Self
 * Regularization in Neural Network Models", ICML 2019), made operational on the metrics of one
 * analyzed layer: the Marchenko–Pastur fit (spikes, soft rank), the power-law alpha and the
 * zero-eigenvalue mass. docs/rules.md ("Phases") lists the criteria and their sources.
 */
#ifndef WL_PHASE_H
#define WL_PHASE_H

#include "weightlint.h"

/* Labels, in the paper's order of increasing self-regularization. Static strings: compare
 * them with strcmp (or by pointer against these macros' values returned below). */
#define WL_PHASE_RANDOM_LIKE   "random-like"
#define WL_PHASE_BLEEDING_OUT  "bleeding-out"
#define WL_PHASE_BULK_SPIKES   "bulk+spikes"
#define WL_PHASE_BULK_DECAY    "bulk-decay"
#define WL_PHASE_HEAVY_TAILED  "heavy-tailed"
#define WL_PHASE_RANK_COLLAPSE "rank-collapse"

/* Operational thresholds (docs/rules.md, "Phases", says why each value). */
#define WL_PHASE_ZERO_SHARE      0.5  /* rank-collapse: share of eigenvalues at ~0, at least */
#define WL_PHASE_ZERO_EVAL       1e-6 /* an eigenvalue below this is "zero" (weak_rank_loss) */
#define WL_PHASE_BLEED_SOFTRANK  0.5  /* bleeding-out: lambda_max < 2 x bulk edge */
#define WL_PHASE_FEW_SPIKES      0.05 /* bulk+spikes: at most 5 % of eigenvalues are outliers */
#define WL_PHASE_HT_ALPHA        4.0  /* heavy-tailed: tail exponent at most 4 (MHT/VHT) */
#define WL_PHASE_MIN_EVALS       48   /* fewer eigenvalues: no phase (tests/unit/test_phase_min_evals.c) */

/* The share of the layer's eigenvalues that are numerically zero: weak_rank_loss / num_evals,
 * or, when the whole spectrum lies below the absolute 1e-6 cut (a layer of tiny weights, where
 * weak_rank_loss counts everything), rank_loss / num_evals (a cut relative to sv_max), and 1
 * for an all-zero layer. Returns NaN when the layer has no spectrum (non-finite weights, no
 * eigenvalues). */
double wl_phase_zero_share(const wl_layer *l);

/* Classifies one analyzed layer into the 5+1 phases. Returns one of the WL_PHASE_* strings
 * (static, never freed), or NULL when the layer cannot be classified: non-finite weights, no
 * eigenvalues, fewer than WL_PHASE_MIN_EVALS eigenvalues, no Marchenko–Pastur fit (l->has_mp == 0 or the MP fit failed), or a spectrum
 * with an extended outlier tail but no usable power-law fit. Rank collapse needs no MP fit.
 * Reads only l; never fails otherwise. */
const char *wl_phase_classify(const wl_layer *l);

/* wl_phase_classify, and when it returns NULL, *why (if why is not NULL) gets the reason, a
 * static sentence ("fewer than 48 eigenvalues: too few to tell a phase"); NULL otherwise. */
const char *wl_phase_classify_why(const wl_layer *l, const char **why);

/* Sets l->phase and l->phase_reason from l's metrics. */
void wl_phase_assign(wl_layer *l);

/* The phase names in order (random-like ... rank-collapse); *n_out gets the count (6). */
const char *const *wl_phase_names(size_t *n_out);

#endif
