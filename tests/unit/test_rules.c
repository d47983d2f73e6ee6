/*
 * test_rules.c — the rules engine: loading (one test per rules-file error class, fixtures in
 * tests/rules/), presets and extends, evaluation on hand-built analyses (the WeightWatcher
 * values of the conformance models), suppressions, overrides, unused suppressions, baselines
 * and fingerprints. Fixture paths are relative to the repository root (or $WL_SRCDIR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phase.h"
#include "rules.h"

static const char *fixture(const char *name)
{
    static char path[1024];
    const char *dir = getenv("WL_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/rules/%s", dir ? dir : ".", name);
    return path;
}

/* ------------------------------------------------------------------ loading errors */

typedef struct err_case {
    const char *file;
    const char *where; /* "line:col" */
    const char *text;  /* expected substring after "path:line:col: " */
} err_case;

static const err_case err_cases[] = {
    {"err-unknown-key.yaml", "2:1",
     "unknown key 'rulez' (expected one of: version, extends, rules, overrides, ignore, "
     "compare)"},
    {"err-unknown-param.yaml", "4:5",
     "unknown key 'alpha_maximum' in rule WL101 under-trained (expected severity, alpha_max)"},
    {"err-wrong-type.yaml", "3:16", "alpha_max: expected a number, got 'high'"},
    {"err-wrong-type-map.yaml", "2:3", "rules: expected a mapping, got a list"},
    {"err-unknown-rule.yaml", "2:3", "unknown rule 'under-trainned'"},
    {"err-bad-glob.yaml", "2:23", "layers: bad glob 'blocks[0.*': unterminated '[' set"},
    {"err-bad-severity.yaml", "3:15",
     "severity: expected a severity (error, warning, info or off), got 'fatal'"},
    {"err-missing-reason.yaml", "2:5",
     "ignore entry without 'reason:' (a suppression must say why)"},
    {"err-empty-reason.yaml", "3:13", "reason: expected a non-empty string, got an empty value"},
    {"err-invalid-yaml.yaml", "3:15", "invalid YAML: did not find expected ',' or '}'"},
    {"err-unknown-preset.yaml", "1:10", "extends: unknown preset 'strictest'"},
    {"err-extends-missing.yaml", "1:10", "extends: "},
    {"err-alias.yaml", "2:18", "YAML aliases (*name) are not supported in rules files"},
    {"err-duplicate-key.yaml", "4:3", "duplicate key 'under-trained' (first at line 2)"},
    {"err-share-range.yaml", "3:17", "zero_share: 1.5 is out of range (expected a share in [0, 1])"},
    {"err-bad-phase.yaml", "4:28", "phases: expected a phase ("},
    {"err-version.yaml", "1:10", "version: 2 is not supported (expected 1)"},
    {"err-count.yaml", "3:15", "min_tail: 2.5 is not a count"},
    {"err-key-path.yaml", "5:5", "compare: key path longer than 511 bytes"},
};

static void test_load_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const err_case *c = &err_cases[i];
        wl_err err = {0};
        wl_rules *r = (wl_rules *)1;
        const char *path = fixture(c->file);
        wl_status st = wl_rules_load_file(path, &r, &err);
        char prefix[1200];
        snprintf(prefix, sizeof prefix, "%s:%s: ", path, c->where);
        if (st != WL_E_RULES || r != NULL || strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
            !strstr(err.msg + strlen(prefix), c->text))
            fail_msg("%s: status %d, message\n  %s\nexpected\n  %s%s", c->file, (int)st, err.msg,
                     prefix, c->text);
    }
}

static void test_load_missing_file(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *r = NULL;
    assert_int_equal(wl_rules_load_file(fixture("no-such.yaml"), &r, &err), WL_E_IO);
    assert_null(r);
    assert_non_null(strstr(err.msg, "cannot open rules file"));
}

static void test_load_string_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "rules: {under-trained: 7}\n",                     /* severity expected */
        "rules:\n  under-trained: {alpha_max: [1]}\n",     /* list for a number */
        "overrides:\n  - rules: {WL101: info}\n",          /* layers required */
        "overrides:\n  - layers: x\n",                     /* rules required */
        "ignore:\n  - layers: x\n    reason: r\n    why: y\n", /* unknown key */
        "ignore:\n  - {rules: [nope], reason: r}\n",       /* unknown rule in a list */
        "ignore: {layers: x}\n",                           /* list expected */
        "rules:\n  WL101: info\n  under-trained: error\n", /* same rule twice */
        "a: 1\n---\nb: 2\n",                               /* two documents */
        "- 1\n- 2\n",                                      /* top level not a mapping */
        "compare: 3\n",                                    /* compare must be a mapping */
        "overrides:\n  - layers: \"\"\n    rules: {WL101: info}\n", /* empty glob */
        "overrides:\n  - layers: \"a\\\\\"\n    rules: {WL101: info}\n", /* trailing backslash */
        "extends: /abs/missing.yaml\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wl_err err = {0};
        wl_rules *r = NULL;
        wl_status st = wl_rules_load_string(bad[i], strlen(bad[i]), "t.yaml", &r, &err);
        if (st != WL_E_RULES || r || strncmp(err.msg, "t.yaml:", 7) != 0)
            fail_msg("case %zu: status %d, message '%s'", i, (int)st, err.msg);
    }
}

/* ------------------------------------------------------------------ presets, extends */

static void test_default_preset_matches_builtin(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *p = NULL, *d = NULL;
    assert_int_equal(wl_rules_load_preset("default", &p, &err), WL_OK);
    assert_int_equal(wl_rules_new_default(&d, &err), WL_OK);
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        if (p->cfg[i].severity != d->cfg[i].severity)
            fail_msg("%s: rules/default.yaml severity %s, built-in %s", ri->name,
                     wl_severity_name(p->cfg[i].severity), wl_severity_name(d->cfg[i].severity));
        for (size_t j = 0; j < ri->n_params; j++)
            if (p->cfg[i].param[j] != d->cfg[i].param[j])
                fail_msg("%s.%s: rules/default.yaml %g, built-in %g", ri->name,
                         ri->params[j].name, p->cfg[i].param[j], d->cfg[i].param[j]);
    }
    wl_rules_free(p);
    wl_rules_free(d);
}

static void test_presets_load(void **state)
{
    (void)state;
    assert_true(wl_rules_n_preset_srcs >= 3);
    for (size_t i = 0; i < wl_rules_n_preset_srcs; i++) {
        wl_err err = {0};
        wl_rules *r = NULL;
        if (wl_rules_load_preset(wl_rules_preset_srcs[i].name, &r, &err) != WL_OK)
            fail_msg("preset %s: %s", wl_rules_preset_srcs[i].name, err.msg);
        wl_rules_free(r);
    }
    wl_err err = {0};
    wl_rules *r = NULL;
    assert_int_equal(wl_rules_load_preset("nope", &r, &err), WL_E_USAGE);
    assert_null(r);
    /* strict makes the training diagnoses errors */
    assert_int_equal(wl_rules_load_preset("strict", &r, &err), WL_OK);
    assert_int_equal(r->cfg[WL_RULE_UNDER_TRAINED].severity, WL_SEV_ERROR);
    assert_true(r->cfg[WL_RULE_FLAGGED_SHARE].param[0] == 0.25);
    wl_rules_free(r);
}

static void test_extends_and_overrides(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *r = NULL;
    if (wl_rules_load_file(fixture("ok-extends-file.yaml"), &r, &err) != WL_OK)
        fail_msg("%s", err.msg);
    /* from strict (through ok-full.yaml) */
    assert_int_equal(r->cfg[WL_RULE_RANK_COLLAPSE].severity, WL_SEV_ERROR);
    /* ok-full.yaml's own settings, by code and by name */
    assert_true(r->cfg[WL_RULE_UNDER_TRAINED].param[0] == 7.5);
    assert_int_equal(r->cfg[WL_RULE_UNDER_TRAINED].severity, WL_SEV_ERROR);
    assert_int_equal(r->cfg[WL_RULE_SPURIOUS_ALPHA].severity, WL_SEV_OFF);
    assert_int_equal((unsigned)r->cfg[WL_RULE_PHASE].param[0], (1u << 2) | (1u << 5));
    /* the extending file's own */
    assert_int_equal(r->cfg[WL_RULE_OVER_TRAINED].severity, WL_SEV_INFO);
    assert_int_equal(r->n_overrides, 1);
    assert_int_equal(r->n_ignores, 2);
    assert_int_equal(r->ignores[0].rule_mask,
                     (1u << WL_RULE_RANDOM_LIKE) | (1u << WL_RULE_UNDER_TRAINED));
    assert_int_equal(r->ignores[0].origin.line, 16);
    assert_int_equal(r->ignores[0].origin.column, 5);
    assert_int_equal(r->has_compare, 1);
    assert_int_equal(r->n_compare, 3);
    assert_string_equal(r->compare[2].key, "layers[1]");
    assert_string_equal(r->compare[2].value, "b");

    wl_rule_cfg cfg;
    wl_rules_effective(r, "emb.weight", WL_RULE_UNDER_TRAINED, &cfg);
    assert_int_equal(cfg.severity, WL_SEV_INFO);
    assert_true(cfg.param[0] == 10);
    wl_rules_effective(r, "fc.weight", WL_RULE_UNDER_TRAINED, &cfg);
    assert_int_equal(cfg.severity, WL_SEV_ERROR);
    assert_true(cfg.param[0] == 7.5);
    wl_rules_free(r);
}

static void test_print_roundtrip(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *r = NULL, *r2 = NULL;
    assert_int_equal(wl_rules_load_file(fixture("ok-full.yaml"), &r, &err), WL_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    wl_rules_write_yaml(r, f);
    fclose(f);
    if (wl_rules_load_string(buf, len, "printed.yaml", &r2, &err) != WL_OK)
        fail_msg("printed config does not load: %s\n%s", err.msg, buf);
    assert_memory_equal(r->cfg, r2->cfg, sizeof r->cfg);
    assert_int_equal(r2->n_overrides, r->n_overrides);
    assert_int_equal(r2->n_ignores, r->n_ignores);
    assert_int_equal(r2->ignores[0].rule_mask, r->ignores[0].rule_mask);
    free(buf);
    wl_rules_free(r);
    wl_rules_free(r2);
}

static void test_empty_file(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *r = NULL, *d = NULL;
    const char *text = "# nothing but a comment\n";
    assert_int_equal(wl_rules_load_string(text, strlen(text), "e.yaml", &r, &err), WL_OK);
    assert_int_equal(wl_rules_new_default(&d, &err), WL_OK);
    assert_memory_equal(r->cfg, d->cfg, sizeof r->cfg);
    wl_rules_free(r);
    wl_rules_free(d);
}

/* ------------------------------------------------------------------ evaluation */

typedef struct lcase {
    const char *name;
    int64_t num_evals;
    double alpha, D, xmin;
    int64_t tail;
    int64_t num_spikes;
    double mp_softrank, sigma_mp, bulk_max, lambda_max;
    int64_t weak_rank_loss, rank_loss;
    wl_layer_status status;
} lcase;

/* heavy.onnx, as WeightWatcher reports it (MP run) */
static const lcase heavy[] = {
    {"t3.weight", 256, 6.7052, 0.0895, 2.3514, 19, 5, 0.6694, 0.9886, 2.8230, 4.2174, 0, 0, 0},
    {"pareto.weight", 128, 2.3088, 0.0599, 0.4622, 19, 21, 0.0122, 0.519, 0.3299, 26.956, 0, 0,
     0},
    {"spiked.weight", 200, 2.6169, 0.1168, 0.8959, 97, 3, 0.0473, 0.8476, 3.1379, 66.300, 0, 0,
     0},
    {"lowrank.weight", 100, 3.1483, 0.1469, 2.4602, 18, 40, 0.0025, 0.0846, 0.0175, 6.9943, 60,
     0, 0},
    {"fp16.weight", 64, 6.3853, 0.1416, 1.8197, 12, 0, 1.0336, 0.9923, 2.9179, 2.8231, 0, 0, 0},
    {"emb.weight", 64, 9.8947, 0.1349, 1179.41, 17, 0, 1.0340, 1.0028, 1576.0, 1524.2, 0, 0, 0},
};

/* degenerate.onnx */
static const lcase degenerate[] = {
    {"zeros.weight", 20, -1, -1, -1, -1, -1, -1, -1, -1, 0.0, 20, 20, WL_LAYER_FIT_FAILED},
    {"rank1.weight", 20, -1, -1, -1, -1, 1, 0.0025, 0.137, 1.675, 669.99, 19, 0,
     WL_LAYER_FIT_FAILED},
    {"tiny.weight", 50, -1, -1, -1, -1, 0, 1.0354, 0.9661, 2.68e-10, 2.58e-10, 50, 0,
     WL_LAYER_FIT_FAILED},
    {"identity.weight", 30, INFINITY, 0.5, 1.0, 30, 30, 0.44, 0.3317, 0.44, 1.0, 0, 0, 0},
    {"int64.table", 16, 2.2627, 0.1581, 37.93, 9, 0, 1.18, 0.9919, 235.38, 199.48, 0, 0, 0},
    {"m10.weight", 10, 5.0814, 0.1892, 0.9988, 6, 0, 1.0505, 0.945, 1.975, 1.88, 0, 0, 0},
};

static wl_analysis *make_analysis(const char *path, const lcase *cases, size_t n)
{
    wl_analysis *a = calloc(1, sizeof *a);
    a->path = strdup(path);
    a->layers = calloc(n ? n : 1, sizeof *a->layers);
    a->n_layers = n;
    a->n_tensors = n;
    double aw = 0;
    for (size_t i = 0; i < n; i++) {
        wl_layer *l = &a->layers[i];
        const lcase *c = &cases[i];
        l->name = strdup(c->name);
        l->layer_id = (int64_t)i;
        l->layer_type = "dense";
        l->num_evals = c->num_evals;
        l->alpha = c->alpha;
        l->D = c->D;
        l->xmin = c->xmin;
        l->num_pl_spikes = c->tail;
        l->num_spikes = c->num_spikes;
        l->mp_softrank = c->mp_softrank;
        l->sigma_mp = c->sigma_mp;
        l->bulk_max = c->bulk_max;
        l->lambda_max = c->lambda_max;
        l->weak_rank_loss = c->weak_rank_loss;
        l->rank_loss = c->rank_loss;
        l->status = c->status;
        l->has_mp = 1;
        l->phase = wl_phase_classify(l);
        l->alpha_weighted = c->alpha * log10(c->lambda_max);
        aw += l->alpha_weighted;
    }
    a->summary.alpha_weighted = n ? aw / (double)n : NAN;
    a->summary.n_rows = n;
    return a;
}

static void free_analysis(wl_analysis *a)
{
    for (size_t i = 0; i < a->n_layers; i++)
        free(a->layers[i].name);
    free(a->layers);
    for (size_t i = 0; i < a->n_skipped; i++) {
        free(a->skipped[i].name);
        free(a->skipped[i].reason);
    }
    free(a->skipped);
    free(a->path);
    free(a);
}

/* "layer:CODE" for each unsuppressed finding, space-separated. */
static void summarize(const wl_findings *f, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->n && len < size; i++) {
        if (f->items[i].suppressed)
            continue;
        len += (size_t)snprintf(buf + len, size - len, "%s%s:%s", len ? " " : "",
                                f->items[i].layer ? f->items[i].layer : "-", f->items[i].code);
    }
}

static wl_rules *rules_from(const char *text)
{
    wl_err err = {0};
    wl_rules *r = NULL;
    if (wl_rules_load_string(text, strlen(text), "test.yaml", &r, &err) != WL_OK)
        fail_msg("%s", err.msg);
    return r;
}

static void test_eval_heavy(void **state)
{
    (void)state;
    wl_rules *r = rules_from("");
    wl_analysis *a = make_analysis("m/heavy.onnx", heavy, 6);
    wl_findings f = {0};
    wl_err err = {0};
    char got[1024];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    assert_string_equal(got, "t3.weight:WL101 lowrank.weight:WL103 fp16.weight:WL104 "
                             "emb.weight:WL104 -:WL202");
    /* the metrics behind a finding */
    const wl_finding *t3 = &f.items[0];
    assert_string_equal(t3->model, "m/heavy.onnx");
    assert_int_equal(t3->layer_id, 0);
    assert_int_equal(t3->severity, WL_SEV_WARNING);
    assert_true(t3->has_fit);
    assert_true(t3->alpha == 6.7052 && t3->D == 0.0895 && t3->num_pl_spikes == 19);
    assert_string_equal(t3->metric, "alpha");
    assert_string_equal(t3->cmp, ">");
    assert_true(t3->threshold == 6.0);
    assert_string_equal(t3->phase, "bleeding-out");
    assert_non_null(strstr(t3->message, "alpha = 6.7052 > 6"));
    const wl_finding *share = &f.items[f.n - 1];
    assert_int_equal(share->severity, WL_SEV_ERROR);
    assert_null(share->layer);
    assert_int_equal(share->layer_id, -1);
    assert_non_null(strstr(share->message, "4 of 6 analyzed layers (67%)"));
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_eval_degenerate(void **state)
{
    (void)state;
    wl_rules *r = rules_from("");
    wl_analysis *a = make_analysis("degenerate.onnx", degenerate, 6);
    wl_findings f = {0};
    wl_err err = {0};
    char got[1024];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    /* failed fits are fit-unreliable, never over-trained; collapsed layers only rank-collapse;
     * alpha = inf is fit-unreliable, not under-trained */
    assert_string_equal(got, "zeros.weight:WL103 rank1.weight:WL103 tiny.weight:WL106 "
                             "identity.weight:WL106 int64.table:WL106 m10.weight:WL106");
    for (size_t i = 0; i < f.n; i++)
        assert_int_not_equal(f.items[i].rule, WL_RULE_OVER_TRAINED);
    assert_non_null(strstr(f.items[2].message, "power-law fit failed"));
    assert_non_null(strstr(f.items[3].message, "alpha = inf"));
    assert_non_null(strstr(f.items[4].message, "tail of only 9 eigenvalues"));
    assert_string_equal(f.items[0].message,
                        "20 of 20 eigenvalues (100.0%) are numerically zero (>= 50%): the layer "
                        "uses about 0 of them; its alpha is not meaningful");
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_eval_over_trained_and_spurious(void **state)
{
    (void)state;
    static const lcase cases[] = {
        {"vht", 200, 1.7, 0.05, 3.0, 40, 30, 0.1, 0.5, 1.0, 30.0, 0, 0, 0},
        /* alpha 9 with spikes: under-trained + spurious, not random-like */
        {"sp", 200, 9.0, 0.05, 3.0, 40, 2, 0.8, 1.0, 2.0, 2.5, 0, 0, 0},
    };
    wl_rules *r = rules_from("rules: {fit-unreliable: off}\n");
    wl_analysis *a = make_analysis("x.onnx", cases, 2);
    wl_findings f = {0};
    wl_err err = {0};
    char got[512];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    assert_string_equal(got, "vht:WL102 sp:WL101 sp:WL108");
    assert_int_equal(f.items[2].severity, WL_SEV_INFO);
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_eval_randomize(void **state)
{
    (void)state;
    static const lcase cases[] = {
        {"a", 200, 3.0, 0.05, 3.0, 40, 30, 0.1, 0.5, 1.0, 30.0, 0, 0, 0},
        {"b", 200, 3.0, 0.05, 3.0, 40, 30, 0.1, 0.5, 1.0, 30.0, 0, 0, 0},
        {"c", 200, 3.0, 0.05, 3.0, 40, 30, 0.1, 0.5, 1.0, 30.0, 0, 0, 0},
        {"d", 25, 3.0, 0.05, 3.0, 20, 30, 0.1, 0.5, 1.0, 30.0, 0, 0, 0},
    };
    wl_rules *r = rules_from("");
    wl_analysis *a = make_analysis("x.onnx", cases, 4);
    a->layers[0].has_rand = 1;
    a->layers[0].rand_distance = 0.002;
    a->layers[0].rand_num_spikes = 0;
    /* b: two shuffled eigenvalues beyond the edge, the largest 6x it: a trap */
    a->layers[1].has_rand = 1;
    a->layers[1].rand_distance = 0.3;
    a->layers[1].rand_num_spikes = 2;
    a->layers[1].rand_bulk_max = 2.0;
    a->layers[1].max_rand_eval = 12.0;
    /* c: spikes, but only 1.5x the edge (a conv layer's pooled slices): not a trap */
    a->layers[2].has_rand = 1;
    a->layers[2].rand_distance = 0.3;
    a->layers[2].rand_num_spikes = 3;
    a->layers[2].rand_bulk_max = 2.0;
    a->layers[2].max_rand_eval = 3.0;
    /* d: a depthwise 5x5 kernel (one singular value per slice): a distance of ~0 and a huge
     * shuffled outlier say nothing about the weights */
    a->layers[3].rf = 25;
    a->layers[3].has_rand = 1;
    a->layers[3].rand_distance = 1e-9;
    a->layers[3].rand_num_spikes = 5;
    a->layers[3].rand_bulk_max = 1.0;
    a->layers[3].max_rand_eval = 50.0;
    wl_findings f = {0};
    wl_err err = {0};
    char got[512];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    assert_string_equal(got, "a:WL104 b:WL105");
    assert_string_equal(f.items[0].metric, "rand_distance");
    assert_non_null(strstr(f.items[1].message, "2 correlation traps"));
    assert_non_null(strstr(f.items[1].message, "6.0x the edge"));
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_eval_nonfinite_and_phase(void **state)
{
    (void)state;
    static const lcase cases[] = {
        {"ok", 200, 3.0, 0.05, 0.6, 40, 3, 0.05, 0.8, 3.0, 60.0, 0, 0, 0},
        {"nan", 20, NAN, NAN, NAN, 0, 0, NAN, NAN, NAN, NAN, 0, 0, WL_LAYER_NONFINITE},
    };
    wl_rules *r = rules_from("rules:\n  phase: {severity: info, phases: [bulk+spikes]}\n");
    wl_analysis *a = make_analysis("x.onnx", cases, 2);
    a->layers[1].nonfinite_index = 84;
    a->layers[1].nonfinite_value = NAN;
    wl_findings f = {0};
    wl_err err = {0};
    char got[512];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    assert_string_equal(got, "ok:WL109 nan:WL107");
    assert_int_equal(f.items[1].severity, WL_SEV_ERROR);
    assert_false(f.items[1].has_fit);
    assert_non_null(strstr(f.items[1].message, "flat index 84"));
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_eval_no_layers(void **state)
{
    (void)state;
    wl_rules *r = rules_from("");
    wl_analysis *a = make_analysis("tiny.onnx", NULL, 0);
    a->n_tensors = 3;
    a->n_skipped = 3;
    a->skipped = calloc(3, sizeof *a->skipped);
    const char *codes[3] = {"rank", "min_evals", "rank"};
    for (int i = 0; i < 3; i++) {
        a->skipped[i].name = strdup("t");
        a->skipped[i].reason = strdup("r");
        a->skipped[i].reason_code = codes[i];
    }
    wl_findings f = {0};
    wl_err err = {0};
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0].code, "WL203");
    assert_int_equal(f.items[0].severity, WL_SEV_WARNING);
    assert_string_equal(f.items[0].message, "no tensor analyzed: 3 tensors considered, 3 skipped "
                                            "(rank: 2, min_evals: 1)");
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_suppressions(void **state)
{
    (void)state;
    wl_rules *r = rules_from("ignore:\n"
                             "  - layers: \"emb*\"\n"
                             "    rules: [random-like]\n"
                             "    reason: embedding of rare tokens\n"
                             "  - layers: [\"mel*\"]\n"
                             "    reason: fixed mel filterbank\n"
                             "  - layers: \"t3.*\"\n"
                             "    rules: [over-trained]\n"
                             "    reason: matches a tensor but no finding\n"
                             "overrides:\n"
                             "  - layers: \"fp16.*\"\n"
                             "    rules: {random-like: info}\n"
                             "  - layers: \"gone.*\"\n"
                             "    rules: {WL101: off}\n");
    wl_analysis *a = make_analysis("m/heavy.onnx", heavy, 6);
    wl_findings f = {0};
    wl_err err = {0};
    char got[1024];
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    summarize(&f, got, sizeof got);
    /* emb suppressed, fp16 downgraded to info: 2 of 6 flagged, no flagged-share */
    assert_string_equal(got, "t3.weight:WL101 lowrank.weight:WL103 fp16.weight:WL104");
    size_t n_suppressed = 0;
    for (size_t i = 0; i < f.n; i++)
        if (f.items[i].suppressed) {
            n_suppressed++;
            assert_string_equal(f.items[i].suppressed, "embedding of rare tokens");
        }
    assert_int_equal(n_suppressed, 1);
    assert_int_equal(f.items[2].severity, WL_SEV_INFO);
    /* unused: the mel ignore (no tensor), the t3 ignore (no finding), the gone override */
    wl_findings u = {0};
    assert_int_equal(wl_rules_unused(r, &u, &err), WL_OK);
    assert_int_equal(u.n, 3);
    assert_string_equal(u.items[0].code, "WL001");
    assert_string_equal(u.items[0].model, "test.yaml");
    assert_int_equal(u.items[0].line, 5);
    assert_int_equal(u.items[0].column, 5);
    assert_non_null(strstr(u.items[0].message, "matched no tensor (layers 'mel*'"));
    assert_non_null(strstr(u.items[1].message, "suppressed no finding"));
    assert_int_equal(u.items[2].line, 13);
    assert_non_null(strstr(u.items[2].message, "overrides entry matched no tensor"));
    wl_findings_clear(&u);
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_preset_entries_never_unused(void **state)
{
    (void)state;
    wl_err err = {0};
    wl_rules *r = NULL;
    assert_int_equal(wl_rules_load_preset("llm", &r, &err), WL_OK);
    wl_analysis *a = make_analysis("m/heavy.onnx", heavy, 6);
    wl_findings f = {0}, u = {0};
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    assert_int_equal(wl_rules_unused(r, &u, &err), WL_OK);
    assert_int_equal(u.n, 0);
    wl_findings_clear(&f);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_fingerprint_and_baseline(void **state)
{
    (void)state;
    wl_finding x = {0};
    char model[] = "models/a.onnx", layer[] = "fc1.weight";
    x.model = model;
    x.layer = layer;
    x.code = "WL101";
    char fp[17];
    wl_finding_fingerprint(&x, fp);
    /* FNV-1a 64 of "models/a.onnx\0fc1.weight\0WL101\0" (checked with Python) */
    assert_string_equal(fp, "183f5e8fc79ffbeb");

    wl_rules *r = rules_from("");
    wl_analysis *a = make_analysis("m/heavy.onnx", heavy, 6);
    wl_findings f = {0};
    wl_err err = {0};
    assert_int_equal(wl_rules_eval(r, a, &f, &err), WL_OK);
    char path[] = "/tmp/wl_test_baseline_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    assert_int_equal(wl_baseline_write(&f, out, &err), WL_OK);
    fclose(out);
    wl_baseline *b = NULL;
    assert_int_equal(wl_baseline_load(path, &b, &err), WL_OK);
    assert_int_equal(b->n, f.n);
    /* a new finding on top of the baselined ones */
    wl_findings f2 = {0};
    a->layers[1].alpha = 1.5;
    assert_int_equal(wl_rules_eval(r, a, &f2, &err), WL_OK);
    assert_int_equal(wl_baseline_apply(b, &f2), f.n);
    size_t fresh = 0;
    for (size_t i = 0; i < f2.n; i++)
        if (!f2.items[i].is_baselined) {
            fresh++;
            assert_string_equal(f2.items[i].layer, "pareto.weight");
            assert_string_equal(f2.items[i].code, "WL102");
        }
    assert_int_equal(fresh, 1);
    wl_baseline_free(b);
    /* not a baseline */
    FILE *bad = fopen(path, "w");
    fputs("hello\n", bad);
    fclose(bad);
    assert_int_equal(wl_baseline_load(path, &b, &err), WL_E_USAGE);
    assert_null(b);
    remove(path);
    wl_findings_clear(&f);
    wl_findings_clear(&f2);
    free_analysis(a);
    wl_rules_free(r);
}

static void test_rule_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        assert_int_equal(ri->id, i);
        assert_ptr_equal(wl_rule_find(ri->code), ri);
        assert_ptr_equal(wl_rule_find(ri->name), ri);
        assert_non_null(ri->summary);
        assert_non_null(ri->explain);
    }
    assert_ptr_equal(wl_rule_find("wl101"), wl_rule_info_get(WL_RULE_UNDER_TRAINED));
    assert_null(wl_rule_find("WL999"));
    wl_severity s;
    assert_int_equal(wl_severity_parse("warning", &s), 0);
    assert_int_equal(s, WL_SEV_WARNING);
    assert_int_equal(wl_severity_parse("fatal", &s), -1);
}

static void test_discover(void **state)
{
    (void)state;
    char root[] = "/tmp/wl_test_discover_XXXXXX";
    assert_non_null(mkdtemp(root));
    char sub[128], cfg[160], model[160];
    snprintf(sub, sizeof sub, "%s/a/b", root);
    snprintf(cfg, sizeof cfg, "%s/a/.weightlint.yaml", root);
    snprintf(model, sizeof model, "%s/m.onnx", sub);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && touch %s", sub, cfg);
    assert_int_equal(system(cmd), 0);
    wl_err err = {0};
    char *found = NULL;
    assert_int_equal(wl_rules_discover(model, &found, &err), WL_OK);
    assert_non_null(found);
    assert_non_null(strstr(found, "/a/.weightlint.yaml"));
    free(found);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    /* a folder that does not exist: no configuration, no error */
    assert_int_equal(wl_rules_discover("/nonexistent-dir/x/m.onnx", &found, &err), WL_OK);
    assert_null(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_string_errors),
        cmocka_unit_test(test_default_preset_matches_builtin),
        cmocka_unit_test(test_presets_load),
        cmocka_unit_test(test_extends_and_overrides),
        cmocka_unit_test(test_print_roundtrip),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_eval_heavy),
        cmocka_unit_test(test_eval_degenerate),
        cmocka_unit_test(test_eval_over_trained_and_spurious),
        cmocka_unit_test(test_eval_randomize),
        cmocka_unit_test(test_eval_nonfinite_and_phase),
        cmocka_unit_test(test_eval_no_layers),
        cmocka_unit_test(test_suppressions),
        cmocka_unit_test(test_preset_entries_never_unused),
        cmocka_unit_test(test_fingerprint_and_baseline),
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_discover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
