/*
 * randesd.h — the randomized ESD of a layer (WeightWatcher 0.7.5.5 `randomize=True`, spec §8):
 * the spectrum of the same weights with their elements shuffled. Shuffling keeps the element
 * distribution but destroys correlations, so a trained layer's ESD drifts away from its
 * shuffled twin (rand_distance), while spikes that survive the shuffle are single huge weights,
 * "correlation traps" (rand_num_spikes; Martin & Mahoney 2021, JMLR 22(165)).
 * The reference shuffles with NumPy's global MT19937; this module uses its own seeded
 * xoshiro256**, so its rand_* columns match the reference statistically, not bit for bit.
 */
#ifndef WL_RANDESD_H
#define WL_RANDESD_H

#include "weightlint.h"

#include "mp.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wl_rand_result {
    int n_replicas;          /* shuffles pooled into rand_evals: 5 if M*rf < 100, else 1 */
    size_t n_rand_evals;     /* n_replicas * n_slices * min(rows, cols) */
    double max_rand_eval;    /* max(rand_evals), eigenvalue units */
    double rand_distance;    /* Jensen–Shannon distance, sorted evals vs. a second shuffle's;
                                in [0, sqrt(ln 2)], ~0 = random-like; nan for an all-zero layer */
    double ww_softrank;      /* max(second shuffle's evals) / lambda_max; nan when both are 0 */
    double ww_maxdist;       /* lambda_max - max(second shuffle's evals), eigenvalue units */
    int64_t rand_num_spikes; /* MP spikes of rand_evals: correlation traps (-1: fit failed) */
    double rand_sigma_mp;    /* MP fit of rand_evals (wl_mp_fit), rescaled units, or -1 */
    double rand_mp_softrank; /* bulk_max / max, rescaled units, or -1 */
    double rand_bulk_max;    /* eigenvalue units, or -1 */
    double rand_bulk_min;    /* eigenvalue units, or -1 */
    double rand_W_scale;     /* or -1 */
} wl_rand_result;

/*
 * Computes the randomized ESD of one layer.
 *
 * slices: the layer's n_slices matrices (1 for dense, kh*kw for conv), each row-major
 *   rows x cols doubles, already scaled exactly as for the layer's own ESD (conv 1/sqrt(2)).
 *   Not modified; each is copied and the copy shuffled.
 * evals: the layer's own ESD, n_evals = n_slices * min(rows, cols) values, ascending.
 * N, M: WeightWatcher's bookkeeping (quirks A/B included); M * n_slices is num_components,
 *   which picks the replica count, and N/M is the Q of the MP fit.
 * seed: the shuffle stream. The same (seed, inputs) always gives the same result, whatever
 *   the caller's threading; give each layer its own seed (e.g. mixed with the layer index) so
 *   that equal-shaped layers do not share a permutation.
 * OUT out: every field set on WL_OK.
 *
 * Steps (spec §8): rand_evals = sorted ESD of `replicas` independent shuffles of every slice;
 * then one more independent shuffle r2 for rand_distance, ww_softrank and ww_maxdist; then
 * wl_mp_fit(rand_evals, N, M). Eigenvalues come from wl_esd_gram.
 *
 * Errors: WL_E_INTERNAL for inconsistent arguments (n_evals != n_slices * min(rows, cols),
 * NULL or empty inputs), WL_E_LIMIT when the sizes overflow, WL_E_NOMEM, and whatever
 * wl_esd_gram reports (WL_E_NUMERIC). Temporary memory: one slice copy (rows*cols doubles) and
 * (replicas + 1) * n_evals eigenvalues, freed before returning.
 */
WL_NODISCARD wl_status wl_randesd_compute(const double *const *slices, size_t n_slices, size_t rows,
                                          size_t cols, const double *evals, size_t n_evals,
                                          double N, double M, uint64_t seed, wl_rand_result *out,
                                          wl_err *err);

/* Same as wl_randesd_compute; when keep is not NULL it also hands over the pooled shuffled ESD
 * (out->n_rand_evals values, ascending; caller frees) on WL_OK, and sets *keep = NULL on
 * failure. For plots (wl_options.keep_evals with randomize). */
WL_NODISCARD wl_status wl_randesd_compute_keep(const double *const *slices, size_t n_slices,
                                               size_t rows, size_t cols, const double *evals,
                                               size_t n_evals, double N, double M, uint64_t seed,
                                               double **keep, wl_rand_result *out, wl_err *err);

/* Jensen–Shannon distance between two non-negative vectors of length n, each normalised to
 * sum 1 (spec §8.2: sqrt((KL(P||Mx) + KL(R||Mx)) / 2), natural log, Mx = (p + r) / sum(p + r),
 * 0 log 0 = 0). nan when either vector sums to 0 or is not finite. */
double wl_randesd_js_distance(const double *p, const double *r, size_t n);

#endif
