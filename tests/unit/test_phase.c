/*
 * test_phase.c — the 5+1 phase decision tree (src/phase.c) on layers built by hand: the MP,
 * power-law and rank columns WeightWatcher 0.7.5.5 reports for the conformance models
 * (tests/conformance/<model>.expected.json), whose synthetic spectra were built to be each phase,
 * plus the edge cases of every branch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "phase.h"

/* The columns the classifier reads, in the order of the conformance files. */
typedef struct layer_case {
    const char *name;
    int64_t num_evals;
    double alpha, xmin;
    int64_t num_spikes;
    double mp_softrank, sigma_mp, bulk_max, lambda_max;
    int64_t weak_rank_loss, rank_loss;
    wl_layer_status status;
    const char *want; /* expected phase, NULL = unclassified */
} layer_case;

static wl_layer make_layer(const layer_case *c)
{
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.num_evals = c->num_evals;
    l.alpha = c->alpha;
    l.xmin = c->xmin;
    l.num_spikes = c->num_spikes;
    l.mp_softrank = c->mp_softrank;
    l.sigma_mp = c->sigma_mp;
    l.bulk_max = c->bulk_max;
    l.lambda_max = c->lambda_max;
    l.weak_rank_loss = c->weak_rank_loss;
    l.rank_loss = c->rank_loss;
    l.status = c->status;
    l.has_mp = 1;
    return l;
}

/* WeightWatcher's values for the conformance layers (MP run), rounded to 4 digits. */
static const layer_case conformance[] = {
    /* mlp3 / conv: N(0, 1/fan_in) Gaussian weights */
    {"fc1.weight", 300, 7.9746, 1.8367, 0, 1.0237, 0.99, 2.6451, 2.5839, 0, 0, 0,
     WL_PHASE_RANDOM_LIKE},
    /* 10 eigenvalues: random-like for WeightWatcher, too few for a phase here
     * (WL_PHASE_MIN_EVALS, test_phase_min_evals.c) */
    {"fc3.weight", 10, 5.2639, 1.0093, 0, 1.0515, 0.98, 2.0107, 1.9123, 0, 0, 0, NULL},
    {"conv2.weight", 400, 22.7239, 0.0797, 0, 0.9598, 0.95, 0.0888, 0.0925, 0, 0, 0,
     WL_PHASE_RANDOM_LIKE},
    /* Gaussian conv with one eigenvalue just past the edge */
    {"conv4.weight", 96, 5.2760, 0.4983, 1, 0.8141, 0.9, 0.7195, 0.8838, 0, 0, 0,
     WL_PHASE_BLEEDING_OUT},
    /* Student-t (3 dof): an MP bulk bleeding a few eigenvalues past its edge */
    {"t3.weight", 256, 6.7052, 2.3514, 5, 0.6694, 0.9886, 2.8230, 4.2174, 0, 0, 0,
     WL_PHASE_BLEEDING_OUT},
    /* symmetric Pareto, tail index 1.5: infinite variance */
    {"pareto.weight", 128, 2.3088, 0.4622, 21, 0.0122, 0.5190, 0.3299, 26.9564, 0, 0, 0,
     WL_PHASE_HEAVY_TAILED},
    /* Gaussian bulk + 3 strong rank-1 spikes: alpha 2.6 comes from a tail deep in the bulk */
    {"spiked.weight", 200, 2.6169, 0.8959, 3, 0.0473, 0.8476, 3.1379, 66.3004, 0, 0, 0,
     WL_PHASE_BULK_SPIKES},
    /* exact rank 40 of 100 */
    {"lowrank.weight", 100, 3.1483, 2.4602, 40, 0.0025, 0.0846, 0.0175, 6.9943, 60, 0, 0,
     WL_PHASE_RANK_COLLAPSE},
    {"emb.weight", 64, 9.8947, 1179.41, 0, 1.0340, 1.0028, 1575.99, 1524.16, 0, 0, 0,
     WL_PHASE_RANDOM_LIKE},
    /* degenerate.onnx */
    {"zeros.weight", 20, -1, -1, -1, -1, -1, -1, 0.0, 20, 20, WL_LAYER_FIT_FAILED,
     WL_PHASE_RANK_COLLAPSE},
    {"rank1.weight", 20, -1, -1, 1, 0.0025, 0.1370, 1.6750, 669.99, 19, 0, WL_LAYER_FIT_FAILED,
     WL_PHASE_RANK_COLLAPSE},
    /* weights ~1e-6: every eigenvalue below the absolute 1e-6 cut, but full rank */
    {"tiny.weight", 50, -1, -1, 0, 1.0354, 0.9661, 2.68e-10, 2.58e-10, 50, 0, WL_LAYER_FIT_FAILED,
     WL_PHASE_RANDOM_LIKE},
    /* all eigenvalues equal: alpha = inf, the MP fit puts every one "above" the edge */
    {"identity.weight", 30, INFINITY, 1.0, 30, 0.4400, 0.3317, 0.4400, 1.0, 0, 0, 0, NULL},
    {"int64.table", 16, 2.2627, 37.93, 0, 1.18, 0.9919, 235.38, 199.48, 0, 0, 0, NULL},
};

static void test_conformance_layers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conformance / sizeof conformance[0]; i++) {
        wl_layer l = make_layer(&conformance[i]);
        const char *got = wl_phase_classify(&l);
        const char *want = conformance[i].want;
        if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
            fail_msg("%s: phase %s, expected %s", conformance[i].name, got ? got : "NULL",
                     want ? want : "NULL");
    }
}

/* Hand-made layers for the branches the conformance set does not reach. */
static void test_branches(void **state)
{
    (void)state;
    /* many outliers, alpha 4.8 beyond the heavy-tailed bound: bulk-decay */
    layer_case decay = {"decay", 512, 4.8, 3.0, 60, 0.2, 0.9, 2.5, 12.0, 0, 0, 0, NULL};
    wl_layer l = make_layer(&decay);
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_BULK_DECAY);
    /* the same with alpha 3.2: heavy-tailed */
    l.alpha = 3.2;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_HEAVY_TAILED);
    /* alpha below 2 (very heavy-tailed) is still the heavy-tailed phase */
    l.alpha = 1.7;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_HEAVY_TAILED);
    /* few outliers, but the PL tail lies beyond the edge with alpha <= 4: heavy-tailed */
    l.num_spikes = 10; /* 2 % */
    l.alpha = 3.0;
    l.xmin = 3.0;
    l.bulk_max = 2.5;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_HEAVY_TAILED);
    l.xmin = 2.0; /* tail starts inside the bulk: the outliers are isolated spikes */
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_BULK_SPIKES);
    /* extended tail but the PL fit failed: not classifiable */
    l.num_spikes = 60;
    l.status = WL_LAYER_FIT_FAILED;
    l.alpha = -1;
    assert_null(wl_phase_classify(&l));
    /* the bleeding-out boundary is inclusive */
    l = make_layer(&decay);
    l.mp_softrank = WL_PHASE_BLEED_SOFTRANK;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_BLEEDING_OUT);
    /* the rank-collapse boundary is inclusive and wins over everything */
    l.weak_rank_loss = 256;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_RANK_COLLAPSE);
    l.weak_rank_loss = 255;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_BLEEDING_OUT);
}

static void test_unclassifiable(void **state)
{
    (void)state;
    layer_case c = {"x", 100, 3.0, 1.0, 2, 0.9, 1.0, 2.0, 2.2, 0, 0, 0, NULL};
    wl_layer l = make_layer(&c);
    assert_non_null(wl_phase_classify(&l));
    l.has_mp = 0; /* no MP fit: only rank collapse could be told */
    assert_null(wl_phase_classify(&l));
    l.weak_rank_loss = 80;
    assert_string_equal(wl_phase_classify(&l), WL_PHASE_RANK_COLLAPSE);
    l = make_layer(&c);
    l.sigma_mp = -1; /* WeightWatcher's failed-MP sentinel */
    assert_null(wl_phase_classify(&l));
    l = make_layer(&c);
    l.status = WL_LAYER_NONFINITE;
    assert_null(wl_phase_classify(&l));
    assert_true(isnan(wl_phase_zero_share(&l)));
    l = make_layer(&c);
    l.num_evals = 0;
    assert_null(wl_phase_classify(&l));
    assert_null(wl_phase_classify(NULL));
}

/* Below WL_PHASE_MIN_EVALS: no phase, and a reason; and never random-like with alpha < 2. */
static void test_min_evals_and_contradiction(void **state)
{
    (void)state;
    layer_case c = {"small", WL_PHASE_MIN_EVALS - 1, 3.0, 1.0, 0, 1.0, 1.0, 2.0, 2.0,
                    0, 0, 0, NULL};
    wl_layer l = make_layer(&c);
    const char *why = NULL;
    assert_null(wl_phase_classify_why(&l, &why));
    assert_non_null(why);
    assert_non_null(strstr(why, "fewer than 48 eigenvalues"));
    l.num_evals = WL_PHASE_MIN_EVALS;
    assert_string_equal(wl_phase_classify_why(&l, &why), WL_PHASE_RANDOM_LIKE);
    assert_null(why);
    l.alpha = 1.8; /* "over-trained" by WeightWatcher's warning: no random-like beside it */
    assert_null(wl_phase_classify_why(&l, &why));
    assert_non_null(strstr(why, "disagree"));
    wl_phase_assign(&l);
    assert_null(l.phase);
    assert_ptr_equal(l.phase_reason, why);
}

static void test_names(void **state)
{
    (void)state;
    size_t n = 0;
    const char *const *names = wl_phase_names(&n);
    assert_int_equal(n, 6);
    assert_string_equal(names[0], "random-like");
    assert_string_equal(names[5], "rank-collapse");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_layers),
        cmocka_unit_test(test_branches),
        cmocka_unit_test(test_unclassifiable),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_min_evals_and_contradiction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
