/*
 * test_compare.c — unit tests of src/compare.c on synthetic analyses (no model files): layer
 * matching (id, position and shape, reshaped, added, removed, not comparable), each regression
 * of the gate and its reverse, delta gates (absolute and relative, per layer and per model), the
 * compare: section of a rules file (values and every error), the alpha-hat ranking and its
 * one-run detection, and a smoke test of the writers.
 */
#include "compare.h"
#include "phase.h"
#include "rules.h"
#include "wl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A healthy dense layer: alpha 3, heavy-tailed, a good fit. */
static wl_layer layer(const char *id, int64_t rows, int64_t cols, double alpha)
{
    wl_layer l;
    memset(&l, 0, sizeof l);
    l.id = (char *)(uintptr_t)id; /* borrowed: these analyses are never freed */
    l.name = l.id;
    l.rank = 2;
    l.shape[0] = rows;
    l.shape[1] = cols;
    l.N = rows > cols ? rows : cols; /* the logical shape the matcher compares */
    l.M = rows > cols ? cols : rows;
    l.rf = 1;
    l.layer_type = "dense";
    l.status = WL_LAYER_SUCCESS;
    l.alpha = alpha;
    l.lambda_max = 40.0;
    l.log_spectral_norm = log10(40.0);
    l.alpha_weighted = alpha * l.log_spectral_norm;
    l.log_norm = 3.0;
    l.D = 0.05;
    l.num_pl_spikes = 50;
    l.sigma = (alpha - 1) / sqrt(50.0); /* WeightWatcher's standard error of alpha */
    l.num_evals = 256;
    l.has_mp = 1;
    l.num_spikes = 12;
    l.phase = WL_PHASE_HEAVY_TAILED;
    return l;
}

static wl_analysis model(const char *path, wl_layer *layers, size_t n)
{
    wl_analysis a;
    memset(&a, 0, sizeof a);
    a.path = (char *)(uintptr_t)path;
    a.layers = layers;
    a.n_layers = n;
    wl_analysis_summarize(&a);
    return a;
}

static wl_comparison *compare(const wl_analysis *b, const wl_analysis *c, const wl_compare_cfg *cfg)
{
    wl_comparison *out = NULL;
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_compare_new(b, c, cfg, &out, &err), WL_OK);
    assert_non_null(out);
    return out;
}

static void test_identical(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 32, 16, 4)};
    wl_layer lc[] = {layer("a", 64, 32, 3), layer("b", 32, 16, 4)};
    wl_analysis b = model("b.onnx", lb, 2), c = model("c.onnx", lc, 2);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_UNCHANGED);
    assert_int_equal(cmp->n_by_id, 2);
    assert_true(cmp->is_same_layout);
    assert_true(cmp->is_comparable);
    wl_assert_close(cmp->matched_share, 1.0, 0, 0);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_ALPHA].state, WL_CMP_UNCHANGED);
    wl_assert_close(cmp->layers[0].cells[WL_CMP_ALPHA].delta, 0.0, 0, 0);
    /* a change below the printed precision is not a change */
    lc[1].alpha += 1e-7;
    wl_comparison_free(cmp);
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_UNCHANGED);
    /* nor one within the relative change tolerance (1e-3: an fp16 copy) */
    lc[1].alpha += 1e-3;
    wl_comparison_free(cmp);
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_UNCHANGED);
    lc[1].alpha += 1e-2;
    wl_comparison_free(cmp);
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_CHANGED);
    assert_int_equal(cmp->layers[1].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    assert_ptr_equal(wl_compare_find(cmp, &lb[1]), &cmp->layers[1]);
    wl_comparison_free(cmp);
}

static void test_match_by_order(void **state)
{
    (void)state;
    /* a re-export renumbers the tensors: same shapes in the same order */
    wl_layer lb[] = {layer("fc.weight", 64, 32, 3), layer("onnx::MatMul_10", 32, 32, 3.5),
                     layer("onnx::MatMul_11", 32, 32, 4), layer("head", 10, 32, 3)};
    wl_layer lc[] = {layer("fc.weight", 64, 32, 3), layer("onnx::MatMul_20", 32, 32, 3.5),
                     layer("onnx::MatMul_21", 32, 32, 4.5), layer("head", 10, 32, 3)};
    wl_analysis b = model("b.onnx", lb, 4), c = model("c.onnx", lc, 4);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_by_id, 2);
    assert_int_equal(cmp->n_by_order, 2);
    assert_false(cmp->is_same_layout);
    assert_true(cmp->is_comparable);
    /* the k-th 32x32 layer pairs with the k-th */
    assert_ptr_equal(cmp->layers[1].cand, &lc[1]);
    assert_ptr_equal(cmp->layers[2].cand, &lc[2]);
    assert_int_equal(cmp->layers[2].match, WL_CMP_BY_ORDER);
    assert_int_equal(cmp->layers[2].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    wl_comparison_free(cmp);
}

/* The quantized-export case: the quantizer renames every weight "<w>_quantized", swaps
 * Conv for QLinearConv (weight at input 3) in a node "<n>_quant" and lists the tensors in
 * another order. Pairing follows the graph, never the tensor list. */
static void test_match_by_graph_and_name(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("Conv2D_42/filter:0", 64, 64, 3), layer("Conv2D_43/filter:0", 64, 64, 4)};
    wl_layer lc[] = {layer("Conv2D_43/filter:0_quantized", 64, 64, 4),
                     layer("Conv2D_42/filter:0_quantized", 64, 64, 3)};
    static char nodes[4][24] = {"Conv2D_42", "Conv2D_43", "Conv2D_43_quant", "Conv2D_42_quant"};
    for (int i = 0; i < 2; i++) {
        lb[i].node_name = nodes[i];
        lb[i].op_type = (char *)(uintptr_t) "Conv";
        lb[i].input_index = 1;
        lb[i].depth = 10 - i; /* graph order is the reverse of the list: 43 runs first */
        lc[i].node_name = nodes[2 + i];
        lc[i].op_type = (char *)(uintptr_t) "QLinearConv";
        lc[i].input_index = 3;
        lc[i].depth = 20 + i;
    }
    wl_analysis b = model("b.onnx", lb, 2), c = model("c.onnx", lc, 2);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_by_graph, 2);
    assert_ptr_equal(cmp->layers[0].cand, &lc[1]);
    assert_ptr_equal(cmp->layers[1].cand, &lc[0]);
    assert_int_equal(cmp->layers[0].match, WL_CMP_BY_GRAPH);
    assert_int_equal(cmp->n_regressions, 0);
    assert_int_equal(cmp->verdict, WL_VERDICT_UNCHANGED);
    wl_comparison_free(cmp);
    /* without graph places (--compat ww), the stripped names still pair them */
    for (int i = 0; i < 2; i++) {
        lb[i].node_name = lc[i].node_name = NULL;
        lb[i].depth = lc[i].depth = -1;
    }
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_by_name, 2);
    assert_ptr_equal(cmp->layers[0].cand, &lc[1]);
    assert_int_equal(cmp->layers[1].match, WL_CMP_BY_NAME);
    wl_comparison_free(cmp);
    /* ... and with neither, nothing is paired by list position: they are unmatched */
    lc[0].name = lc[0].id = (char *)(uintptr_t) "x";
    lc[1].name = lc[1].id = (char *)(uintptr_t) "y";
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_matched, 0);
    assert_int_equal(cmp->verdict, WL_VERDICT_NOT_COMPARABLE);
    wl_comparison_free(cmp);
    /* by shape and graph order: the k-th of a shape in topological order */
    for (int i = 0; i < 2; i++) {
        lb[i].depth = 10 - i;
        lc[i].depth = 20 + i;
    }
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_by_order, 2);
    assert_ptr_equal(cmp->layers[1].cand, &lc[0]); /* base depth 9 with candidate depth 20 */
    wl_comparison_free(cmp);
}

static void test_structure(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 32, 16, 3), layer("c", 16, 16, 3),
                     layer("gone", 8, 100, 3)};
    wl_layer lc[] = {layer("a", 64, 32, 3), layer("b", 48, 16, 3), layer("c", 16, 16, 3),
                     layer("new", 100, 7, 3)};
    wl_analysis b = model("b.onnx", lb, 4), c = model("c.onnx", lc, 4);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_by_id, 3);
    assert_int_equal(cmp->n_reshaped, 1);
    assert_int_equal(cmp->n_added, 1);
    assert_int_equal(cmp->n_removed, 1);
    assert_int_equal(cmp->n_layers, 5);
    assert_true(cmp->layers[1].is_reshaped);
    assert_int_equal(cmp->layers[1].state, WL_CMP_CHANGED);
    assert_int_equal(cmp->layers[3].match, WL_CMP_REMOVED);
    assert_int_equal(cmp->layers[4].match, WL_CMP_ADDED);
    assert_ptr_equal(cmp->layers[4].cand, &lc[3]);
    wl_assert_close(cmp->matched_share, 0.5, 0, 1e-12); /* a and c of 4 */
    assert_true(cmp->is_comparable);                    /* 50 % >= min_matched 50 % */
    assert_int_equal(cmp->verdict, WL_VERDICT_CHANGED);
    wl_comparison_free(cmp);

    cfg.min_matched = 0.75;
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_NOT_COMPARABLE);
    assert_non_null(strstr(cmp->not_comparable_why, "only 2 of 4 layers"));
    wl_comparison_free(cmp);

    wl_analysis empty = model("e.onnx", NULL, 0);
    cmp = compare(&b, &empty, &cfg);
    assert_int_equal(cmp->verdict, WL_VERDICT_NOT_COMPARABLE);
    assert_non_null(strstr(cmp->not_comparable_why, "no analyzed layers in the candidate"));
    wl_comparison_free(cmp);
}

static void test_alpha_range(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 7), layer("c", 64, 32, 3)};
    wl_layer lc[] = {layer("a", 64, 32, 7.5), layer("b", 64, 32, 5), layer("c", 64, 32, 1.5)};
    wl_analysis b = model("b.onnx", lb, 3), c = model("c.onnx", lc, 3);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    const wl_cmp_cell *a = &cmp->layers[0].cells[WL_CMP_ALPHA];
    assert_int_equal(a->state, WL_CMP_REGRESSED);
    assert_string_equal(a->why, "left [2, 6]");
    assert_non_null(strstr(a->matters, "under-trained"));
    wl_assert_close(a->delta, 4.5, 0, 1e-12);
    wl_assert_close(a->delta_pct, 150.0, 1e-12, 0);
    assert_int_equal(cmp->layers[1].cells[WL_CMP_ALPHA].state, WL_CMP_IMPROVED);
    assert_int_equal(cmp->layers[2].cells[WL_CMP_ALPHA].state, WL_CMP_REGRESSED);
    assert_non_null(strstr(cmp->layers[2].cells[WL_CMP_ALPHA].matters, "over-training"));
    assert_int_equal(cmp->verdict, WL_VERDICT_REGRESSED);
    assert_int_equal(cmp->n_regressions, 2);
    assert_int_equal(cmp->n_improvements, 1);
    wl_comparison_free(cmp);
    cfg.has_alpha_range = 0;
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_regressions, 0);
    assert_int_equal(cmp->verdict, WL_VERDICT_CHANGED);
    wl_comparison_free(cmp);
}

static void test_phase(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 3), layer("c", 64, 32, 3),
                     layer("d", 64, 32, 3)};
    wl_layer lc[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 3), layer("c", 64, 32, 3),
                     layer("d", 64, 32, 3)};
    lc[0].phase = WL_PHASE_BULK_SPIKES; /* towards random-like, alpha beyond its noise */
    lc[0].alpha = 4.5;
    lc[1].phase = WL_PHASE_RANK_COLLAPSE;
    lb[2].phase = WL_PHASE_BLEEDING_OUT; /* bleeding-out -> heavy-tailed: improved */
    lc[2].alpha = 4.5;
    lb[3].phase = WL_PHASE_RANK_COLLAPSE;
    lc[3].phase = WL_PHASE_RANDOM_LIKE; /* rank-collapse -> random-like: still a regression */
    wl_analysis b = model("b.onnx", lb, 4), c = model("c.onnx", lc, 4);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_PHASE].state, WL_CMP_REGRESSED);
    assert_string_equal(cmp->layers[0].cells[WL_CMP_PHASE].why, "moved towards random-like");
    assert_int_equal(cmp->layers[1].cells[WL_CMP_PHASE].state, WL_CMP_REGRESSED);
    assert_string_equal(cmp->layers[1].cells[WL_CMP_PHASE].why, "became rank-collapse");
    assert_int_equal(cmp->layers[2].cells[WL_CMP_PHASE].state, WL_CMP_IMPROVED);
    assert_int_equal(cmp->layers[3].cells[WL_CMP_PHASE].state, WL_CMP_REGRESSED);
    assert_string_equal(cmp->layers[3].cells[WL_CMP_PHASE].why, "became random-like");
    wl_comparison_free(cmp);
    /* only rank-collapse configured */
    cfg.phase_mask = 1u << 5;
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_PHASE].state, WL_CMP_CHANGED);
    assert_int_equal(cmp->layers[1].cells[WL_CMP_PHASE].state, WL_CMP_REGRESSED);
    wl_comparison_free(cmp);
}

static void test_fit_and_nonfinite(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 3), layer("c", 64, 32, 3),
                     layer("d", 64, 32, 3)};
    wl_layer lc[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 3), layer("c", 64, 32, 3),
                     layer("d", 64, 32, 3), layer("e", 64, 32, 3)};
    lc[0].num_pl_spikes = 4; /* tail too short */
    lc[1].status = WL_LAYER_NONFINITE;
    snprintf(lc[1].status_reason, sizeof lc[1].status_reason, "non-finite weight (nan) at 7");
    lc[2].D = 0.5;
    lb[3].status = WL_LAYER_FIT_FAILED; /* failed -> ok: improved */
    lc[4].status = WL_LAYER_NONFINITE;  /* a new layer with NaN weights */
    wl_analysis b = model("b.onnx", lb, 4), c = model("c.onnx", lc, 5);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmp = compare(&b, &c, &cfg);
    const wl_cmp_cell *f0 = &cmp->layers[0].cells[WL_CMP_FIT];
    assert_int_equal(f0->state, WL_CMP_REGRESSED);
    assert_string_equal(f0->base_label, "ok");
    assert_string_equal(f0->cand_label, "unreliable");
    assert_string_equal(f0->why, "tail of 4 eigenvalues < 10");
    const wl_cmp_cell *f1 = &cmp->layers[1].cells[WL_CMP_FIT];
    assert_int_equal(f1->state, WL_CMP_REGRESSED);
    assert_string_equal(f1->cand_label, "non-finite");
    assert_non_null(strstr(f1->matters, "NaN/Inf"));
    /* no spectrum: the numbers are absent, not judged */
    assert_true(isnan(cmp->layers[1].cells[WL_CMP_ALPHA].cand));
    assert_int_equal(cmp->layers[1].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    assert_int_equal(cmp->layers[2].cells[WL_CMP_FIT].state, WL_CMP_REGRESSED);
    assert_non_null(strstr(cmp->layers[2].cells[WL_CMP_FIT].why, "KS distance"));
    assert_int_equal(cmp->layers[3].cells[WL_CMP_FIT].state, WL_CMP_IMPROVED);
    assert_true(isnan(cmp->layers[3].cells[WL_CMP_ALPHA].base)); /* -1 sentinel is not shown */
    assert_int_equal(cmp->layers[4].match, WL_CMP_ADDED);
    assert_int_equal(cmp->layers[4].cells[WL_CMP_FIT].state, WL_CMP_REGRESSED);
    assert_non_null(strstr(cmp->layers[4].cells[WL_CMP_FIT].why, "new layer"));
    wl_comparison_free(cmp);
    cfg.fit_unreliable = 0;
    cfg.non_finite = 0;
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_regressions, 0);
    wl_comparison_free(cmp);
}

static void test_gates(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 4)};
    wl_layer lc[] = {layer("a", 64, 32, 3.4), layer("b", 64, 32, 3.9)};
    wl_analysis b = model("b.onnx", lb, 2), c = model("c.onnx", lc, 2);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    cfg.layer_gate[WL_CMP_ALPHA] = (wl_cmp_gate){WL_CMP_DIR_INCREASE, 0.3, 0};
    /* 3 -> 3.4 with standard errors 0.28 and 0.34: within alpha's noise (1 sigma = 0.44) */
    wl_comparison *cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    assert_non_null(strstr(cmp->layers[0].cells[WL_CMP_ALPHA].why, "within noise"));
    wl_comparison_free(cmp);
    /* an unreliable fit on either side never makes an alpha regression */
    cfg.alpha_sigmas = 0;
    lc[0].D = 0.4;
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    assert_non_null(strstr(cmp->layers[0].cells[WL_CMP_ALPHA].why, "unreliable in the candidate"));
    /* and D = 0.4 is beyond the hysteresis band (0.2 x 1.25): the fit regressed */
    assert_int_equal(cmp->layers[0].cells[WL_CMP_FIT].state, WL_CMP_REGRESSED);
    wl_comparison_free(cmp);
    lc[0].D = 0.22; /* unreliable, but within the band: not counted */
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_FIT].state, WL_CMP_CHANGED);
    assert_non_null(strstr(cmp->layers[0].cells[WL_CMP_FIT].why, "hysteresis"));
    wl_comparison_free(cmp);
    lc[0].D = 0.05;
    /* without the noise rule, the plain gate */
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_ALPHA].state, WL_CMP_REGRESSED);
    assert_non_null(strstr(cmp->layers[0].cells[WL_CMP_ALPHA].why, "rose by 0.4000"));
    assert_int_equal(cmp->layers[1].cells[WL_CMP_ALPHA].state, WL_CMP_CHANGED);
    wl_comparison_free(cmp);
    /* relative: 3 -> 3.4 is +13.3 %, 4 -> 3.9 is -2.5 % */
    cfg.layer_gate[WL_CMP_ALPHA] = (wl_cmp_gate){WL_CMP_DIR_EITHER, 2.0, 1};
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->layers[0].cells[WL_CMP_ALPHA].state, WL_CMP_REGRESSED);
    assert_int_equal(cmp->layers[1].cells[WL_CMP_ALPHA].state, WL_CMP_REGRESSED);
    assert_non_null(strstr(cmp->layers[1].cells[WL_CMP_ALPHA].why, "fell by 2.5000%"));
    wl_comparison_free(cmp);
    cfg.layer_gate[WL_CMP_ALPHA] = (wl_cmp_gate){WL_CMP_DIR_DECREASE, 0.2, 0};
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->n_regressions, 0);
    wl_comparison_free(cmp);
    /* model level: mean alpha_weighted rose by 0.15 * log10(40) */
    cfg.layer_gate[WL_CMP_ALPHA].direction = WL_CMP_DIR_OFF;
    cfg.model_gate[WL_CMP_ALPHA_WEIGHTED] = (wl_cmp_gate){WL_CMP_DIR_INCREASE, 0.1, 0};
    cmp = compare(&b, &c, &cfg);
    assert_int_equal(cmp->model[WL_CMP_ALPHA_WEIGHTED].state, WL_CMP_REGRESSED);
    assert_int_equal(cmp->verdict, WL_VERDICT_REGRESSED);
    assert_int_equal(cmp->n_regressions, 1);
    wl_comparison_free(cmp);
}

static wl_status cfg_from(const char *yaml, wl_compare_cfg *cfg, wl_err *err)
{
    wl_rules *r = NULL;
    wl_err_clear(err);
    wl_status st = wl_rules_load_string(yaml, strlen(yaml), "r.yaml", &r, err);
    assert_int_equal(st, WL_OK);
    st = wl_compare_cfg_from_rules(r, cfg, err);
    wl_rules_free(r);
    return st;
}

static void test_config(void **state)
{
    (void)state;
    wl_compare_cfg cfg;
    wl_err err;
    assert_int_equal(cfg_from("rules: {fit-unreliable: {min_tail: 20, max_D: 0.1}}\n"
                              "compare:\n"
                              "  min_matched: 0.9\n"
                              "  layer:\n"
                              "    alpha_range: [1.5, 7]\n"
                              "    phase: [rank-collapse]\n"
                              "    non_finite: true\n"
                              "    fit_unreliable: no\n"
                              "    alpha_weighted: {direction: increase, tolerance: 10%}\n"
                              "  model:\n"
                              "    alpha_weighted: {tolerance: 0.25}\n"
                              "    log_norm: {direction: decrease, tolerance: 0.1}\n",
                              &cfg, &err),
                     WL_OK);
    wl_assert_close(cfg.min_matched, 0.9, 0, 0);
    wl_assert_close(cfg.alpha_lo, 1.5, 0, 0);
    wl_assert_close(cfg.alpha_hi, 7, 0, 0);
    assert_int_equal(cfg.phase_mask, 1u << 5);
    assert_int_equal(cfg.fit_unreliable, 0);
    wl_assert_close(cfg.min_tail, 20, 0, 0); /* from the fit-unreliable rule */
    wl_assert_close(cfg.max_D, 0.1, 0, 0);
    assert_int_equal(cfg.layer_gate[WL_CMP_ALPHA_WEIGHTED].direction, WL_CMP_DIR_INCREASE);
    assert_true(cfg.layer_gate[WL_CMP_ALPHA_WEIGHTED].is_relative);
    wl_assert_close(cfg.layer_gate[WL_CMP_ALPHA_WEIGHTED].tolerance, 10, 0, 0);
    assert_int_equal(cfg.model_gate[WL_CMP_ALPHA_WEIGHTED].direction, WL_CMP_DIR_EITHER);
    assert_int_equal(cfg.model_gate[WL_CMP_LOG_NORM].direction, WL_CMP_DIR_DECREASE);
    assert_int_equal(cfg.model_gate[WL_CMP_ALPHA].direction, WL_CMP_DIR_OFF);

    assert_int_equal(cfg_from("compare: {layer: {alpha_range: off, phase: off}}\n", &cfg, &err),
                     WL_OK);
    assert_false(cfg.has_alpha_range);
    assert_int_equal(cfg.phase_mask, 0);
    /* no compare: section: the defaults */
    assert_int_equal(cfg_from("version: 1\n", &cfg, &err), WL_OK);
    assert_true(cfg.has_alpha_range);
    assert_int_equal(cfg.phase_mask, (1u << 0) | (1u << 5));
    assert_int_equal(wl_compare_cfg_from_rules(NULL, &cfg, &err), WL_OK);

    static const struct {
        const char *yaml, *msg;
    } bad[] = {
        {"compare: {min_matched: 2}\n",
         "r.yaml:1:24: compare: min_matched: expected a share in [0, 1], got '2'"},
        {"compare: {layer: {alpha_range: [6, 2]}}\n",
         "r.yaml:1:33: compare: layer.alpha_range: [6, 2] is empty (low must be below high)"},
        {"compare: {layer: {alpha_range: [2]}}\n",
         "r.yaml:1:33: compare: layer.alpha_range: expected two numbers [low, high]"},
        {"compare: {layer: {alpha_range: [2, 6, 8]}}\n",
         "r.yaml:1:39: compare: layer.alpha_range[2]: expected two numbers [low, high], got '8'"},
        {"compare: {layer: {alpha_range: wide}}\n",
         "r.yaml:1:32: compare: layer.alpha_range: expected [low, high] or off, got 'wide'"},
        {"compare: {layer: {phase: [heavy-tailed]}}\n",
         "r.yaml:1:27: compare: layer.phase[0]: expected random-like or rank-collapse (the phases a "
         "layer can regress towards), got 'heavy-tailed'"},
        {"compare: {layer: {fit_unreliable: maybe}}\n",
         "r.yaml:1:35: compare: layer.fit_unreliable: expected true or false, got 'maybe'"},
        {"compare: {layer: {alpha: {direction: up}}}\n",
         "r.yaml:1:38: compare: layer.alpha.direction: expected increase, decrease, either or off, "
         "got 'up'"},
        {"compare: {model: {alpha_weighted: {tolerance: -1}}}\n",
         "r.yaml:1:47: compare: model.alpha_weighted.tolerance: expected a number >= 0, or a "
         "percentage like '10%', got '-1'"},
        {"compare: {max_alpha_increase: 0.5}\n",
         "r.yaml:1:31: compare: unknown key 'max_alpha_increase' (expected one of: min_matched, "},
        {"compare: {model: {stable_rank: {tolerance: 1}}}\n",
         "r.yaml:1:44: compare: unknown key 'model.stable_rank.tolerance'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cfg_from(bad[i].yaml, &cfg, &err), WL_E_RULES);
        if (strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, err.msg, bad[i].msg);
    }
}

/* --print-config writes the compare: section as flattened keys; they load back the same. */
static void test_config_roundtrip(void **state)
{
    (void)state;
    const char *yaml = "compare:\n  layer:\n    alpha_range: [1, 8]\n    phase: [random-like]\n"
                       "  model: {alpha_weighted: {direction: increase, tolerance: 5%}}\n";
    wl_rules *r = NULL, *r2 = NULL;
    wl_err err;
    wl_err_clear(&err);
    assert_int_equal(wl_rules_load_string(yaml, strlen(yaml), "r.yaml", &r, &err), WL_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    wl_rules_write_yaml(r, f);
    fclose(f);
    assert_int_equal(wl_rules_load_string(buf, len, "printed.yaml", &r2, &err), WL_OK);
    wl_compare_cfg a, b;
    assert_int_equal(wl_compare_cfg_from_rules(r, &a, &err), WL_OK);
    assert_int_equal(wl_compare_cfg_from_rules(r2, &b, &err), WL_OK);
    assert_memory_equal(&a, &b, sizeof a);
    free(buf);
    wl_rules_free(r);
    wl_rules_free(r2);
}

static void test_ranking(void **state)
{
    (void)state;
    wl_layer l0[] = {layer("a", 64, 32, 5), layer("b", 64, 32, 5)};
    wl_layer l1[] = {layer("a", 64, 32, 3), layer("b", 64, 32, 3)};
    wl_layer l2[] = {layer("a", 64, 32, 4), layer("b", 64, 32, 4)};
    wl_layer l3[] = {layer("a", 64, 32, 2.5), layer("x", 64, 32, 2.5)};
    wl_analysis m[4] = {model("0", l0, 2), model("1", l1, 2), model("2", l2, 2), model("3", l3, 2)};
    const wl_analysis *ms[4] = {&m[0], &m[1], &m[2], &m[3]};
    size_t order[4];
    int one_run = -1;
    wl_compare_rank(ms, 3, order, &one_run);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
    assert_true(one_run);
    wl_compare_rank(ms, 4, order, &one_run);
    assert_int_equal(order[0], 3);
    assert_false(one_run);             /* model 3 has another tensor name */
    m[1].summary.alpha_weighted = NAN; /* no alpha-hat: last */
    wl_compare_rank(ms, 3, order, &one_run);
    assert_int_equal(order[2], 1);
    assert_non_null(strstr(wl_compare_one_run_note(), "alpha-hat alone"));
}

static void test_writers(void **state)
{
    (void)state;
    wl_layer lb[] = {layer("enc|0", 64, 32, 3), layer("b", 64, 32, 3)};
    wl_layer lc[] = {layer("enc|0", 64, 32, 7), layer("b", 64, 32, 3)};
    wl_layer ld[] = {layer("enc|0", 64, 32, 3.1), layer("b", 64, 32, 3)};
    wl_analysis b = model("b.onnx", lb, 2), c = model("c.onnx", lc, 2), d = model("d.onnx", ld, 2);
    wl_compare_cfg cfg;
    wl_compare_cfg_init(&cfg);
    wl_comparison *cmps[2] = {compare(&b, &c, &cfg), compare(&b, &d, &cfg)};
    const wl_analysis *ms[3] = {&b, &c, &d};
    wl_compare_report rep = {.models = ms,
                             .n_models = 3,
                             .comparisons = cmps,
                             .config = "built-in defaults",
                             .cfg = &cfg,
                             .exit_code = 0};
    static const wl_cmp_format fmts[] = {WL_CMP_FORMAT_TEXT, WL_CMP_FORMAT_MARKDOWN,
                                         WL_CMP_FORMAT_JSON, WL_CMP_FORMAT_GITHUB};
    static const char *const want[] = {"why it matters", "enc\\|0", "\"verdict\": \"regressed\"",
                                       "::warning file=c.onnx,title=weightlint compare%3A enc|0"};
    for (size_t i = 0; i < 4; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        wl_err err;
        wl_err_clear(&err);
        assert_int_equal(wl_compare_write(f, fmts[i], &rep, &err), WL_OK);
        fclose(f);
        if (!strstr(buf, want[i]))
            fail_msg("format %zu lacks '%s':\n%s", i, want[i], buf);
        if (fmts[i] != WL_CMP_FORMAT_GITHUB && !strstr(buf, "checkpoints of one training run"))
            fail_msg("format %zu lacks the one-run note", i);
        free(buf);
    }
    wl_comparison_free(cmps[0]);
    wl_comparison_free(cmps[1]);
    wl_cmp_format fmt;
    assert_int_equal(wl_cmp_format_parse("md", &fmt), 0);
    assert_int_equal(fmt, WL_CMP_FORMAT_MARKDOWN);
    assert_int_equal(wl_cmp_format_parse("sarif", &fmt), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_match_by_order),
        cmocka_unit_test(test_match_by_graph_and_name),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_alpha_range),
        cmocka_unit_test(test_phase),
        cmocka_unit_test(test_fit_and_nonfinite),
        cmocka_unit_test(test_gates),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
