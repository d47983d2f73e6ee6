/*
 * phase.c — the 5+1 phases of training (Martin & Mahoney, JMLR 2021, Table 2) as a decision
 * tree on one layer's metrics. The paper defines the phases by the shape of the empirical
 * spectral density (ESD) relative to the Marchenko–Pastur (MP) bulk; the operational tests
 * below translate each "graphical" definition into the MP fit's spike count and soft rank, the
 * power-law alpha and the zero-eigenvalue mass. docs/rules.md ("Phases") documents each
 * threshold and why; tests/unit/test_phase.c pins the tree on synthetic and conformance layers.
 */
#include "phase.h"

#include <math.h>
#include <stddef.h>

static const char *const phase_names[] = {
    WL_PHASE_RANDOM_LIKE, WL_PHASE_BLEEDING_OUT, WL_PHASE_BULK_SPIKES,
    WL_PHASE_BULK_DECAY,  WL_PHASE_HEAVY_TAILED, WL_PHASE_RANK_COLLAPSE,
};

const char *const *wl_phase_names(size_t *n_out)
{
    if (n_out)
        *n_out = sizeof phase_names / sizeof phase_names[0];
    return phase_names;
}

double wl_phase_zero_share(const wl_layer *l)
{
    if (!l || l->status == WL_LAYER_NONFINITE || l->num_evals <= 0)
        return NAN;
    double n = (double)l->num_evals;
    if (!(l->lambda_max > 0))
        return 1.0; /* all-zero layer: rank 0 */
    /* weak_rank_loss counts eigenvalues below an absolute 1e-6. When even lambda_max is below
     * that cut, the count says nothing about the shape of the spectrum (a layer of tiny
     * weights): use the relative cut of rank_loss instead. */
    if (l->lambda_max < WL_PHASE_ZERO_EVAL)
        return l->rank_loss > 0 ? (double)l->rank_loss / n : 0.0;
    return l->weak_rank_loss > 0 ? (double)l->weak_rank_loss / n : 0.0;
}

/* A power-law fit whose alpha can be read as a tail exponent. */
static int has_usable_alpha(const wl_layer *l)
{
    return l->status == WL_LAYER_SUCCESS && isfinite(l->alpha) && l->alpha > 1.0;
}

#define STR_(x) #x
#define STR(x)  STR_(x)

const char *wl_phase_classify_why(const wl_layer *l, const char **why)
{
    const char *unused;
    if (why == NULL)
        why = &unused;
    *why = NULL;
    double zero_share = wl_phase_zero_share(l);
    if (isnan(zero_share)) {
        *why = "no spectrum (non-finite weights or no eigenvalues)";
        return NULL;
    }
    /* Rank-collapse: "ESD has large mass at lambda ~ 0". Checked first: the other criteria read
     * the few eigenvalues left above zero and mean nothing here. */
    if (zero_share >= WL_PHASE_ZERO_SHARE)
        return WL_PHASE_RANK_COLLAPSE;

    /* The other five phases read the MP bulk edge against lambda_max, and on few eigenvalues
     * both are noise: a Gaussian matrix's soft rank spreads over more than 0.2 below 48
     * (tests/unit/test_phase_min_evals.c, docs/metrics.md). */
    if (l->num_evals < WL_PHASE_MIN_EVALS) {
        *why = "fewer than " STR(WL_PHASE_MIN_EVALS) " eigenvalues: too few to tell a phase";
        return NULL;
    }

    /* The other five phases are defined against the MP bulk. WeightWatcher marks a failed MP
     * fit with -1 in every MP column. */
    if (!l->has_mp || !(l->sigma_mp > 0) || !(l->mp_softrank > 0) || l->num_spikes < 0) {
        *why = l->has_mp ? "the Marchenko-Pastur fit failed" : "no Marchenko-Pastur fit";
        return NULL;
    }

    /* Random-like: "ESD well-fit by MP with bulk edge lambda+": no eigenvalue beyond the edge
     * plus its Tracy–Widom fluctuation (the definition of num_spikes, spec section 7). A
     * power-law tail with alpha < 2 (WeightWatcher's "over-trained") says the opposite: the two
     * fits disagree, and neither label is given rather than both. */
    if (l->num_spikes == 0) {
        if (has_usable_alpha(l) && l->alpha < 2.0) {
            *why = "the fits disagree: no outlier beyond the MP bulk edge, but alpha < 2";
            return NULL;
        }
        return WL_PHASE_RANDOM_LIKE;
    }

    /* Bleeding-out: "random-like, excluding eigenmass just above lambda+". mp_softrank is
     * lambda+ / lambda_max, so >= 0.5 means every outlier lies within 2 x the bulk edge. */
    if (l->mp_softrank >= WL_PHASE_BLEED_SOFTRANK)
        return WL_PHASE_BLEEDING_OUT;

    /* Outliers well above the edge. A few of them on an MP bulk are a low-rank perturbation
     * (bulk+spikes, the spiked-covariance model); an extended tail of them is heavy-tailed
     * eigenmass (bulk-decay, then heavy-tailed as the tail exponent drops). A small-share
     * spectrum still counts as heavy-tailed when the power-law tail lies entirely beyond the
     * bulk edge (xmin >= bulk_max) with alpha <= 4: then the outliers are the tail itself. */
    double spike_share = (double)l->num_spikes / (double)l->num_evals;
    int ht_tail = has_usable_alpha(l) && l->alpha <= WL_PHASE_HT_ALPHA && l->xmin >= l->bulk_max;
    if (spike_share <= WL_PHASE_FEW_SPIKES && !ht_tail)
        return WL_PHASE_BULK_SPIKES;
    if (!has_usable_alpha(l)) {
        *why = "an outlier tail with no usable power-law fit";
        return NULL;
    }
    return l->alpha <= WL_PHASE_HT_ALPHA ? WL_PHASE_HEAVY_TAILED : WL_PHASE_BULK_DECAY;
}

const char *wl_phase_classify(const wl_layer *l)
{
    return wl_phase_classify_why(l, NULL);
}

void wl_phase_assign(wl_layer *l)
{
    l->phase = wl_phase_classify_why(l, &l->phase_reason);
}
