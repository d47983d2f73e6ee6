/*
 * compare.c — layer matching, per-metric deltas, the regression gate, the verdict and the
 * alpha-hat ranking of `weightlint compare` (compare.h; docs/compare.md).
 *
 * Matching (docs/compare.md "Matching layers"): 1. the stable layer id (graph path + tensor
 * name [+ RNN gate]); 2. the graph place: the consuming node's op family, its name without a
 * quantizer's "_quant", the weight input (so Conv 'c1' input 1 pairs with QLinearConv
 * 'c1_quant' input 3); 3. the tensor name without exporter/quantizer suffixes ("_quantized",
 * ":0"); 4. logical shape and topological rank: the k-th unmatched layer of a shape in graph
 * order with the k-th one. Steps 1-3 pair only keys unique on both sides, and every step only
 * layers of the same logical shape (N, M, rf and type: transposition- and encoding-invariant).
 * The tensor list's order is never used: exporters and quantizers write it in any order. A
 * layer left over whose id is in both models with another shape is reshaped: its metrics are
 * shown but not judged.
 *
 * The gate counts a change only when it exceeds the fit's own noise: alpha's standard error
 * (alpha - 1) / sqrt(n_tail) times alpha_sigmas, a hysteresis band on the fit's D and tail
 * limits, no alpha verdict on an unreliable fit, and a relative change tolerance.
 *
 * The gate's defaults come from the paper's reading of alpha and the phases: Martin & Mahoney,
 * "Implicit Self-Regularization in Deep Neural Networks", JMLR 22(165), 2021 — well-trained
 * layers have alpha in [2, 6]; the 5+1 phases run from random-like to heavy-tailed, with rank
 * collapse beyond; a fit of few tail eigenvalues is not evidence (docs/rules.md, WL106).
 */
#include "compare.h"
#include "phase.h"
#include "wl_err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */

static const char *const metric_names[WL_CMP_N_METRICS] = {
    "alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "phase", "fit"};

const char *wl_cmp_metric_name(wl_cmp_metric m)
{
    return (unsigned)m < WL_CMP_N_METRICS ? metric_names[m] : "?";
}

const char *wl_cmp_state_name(wl_cmp_state s)
{
    static const char *const names[] = {"unchanged", "changed", "improved", "regressed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

const char *wl_cmp_match_name(wl_cmp_match m)
{
    static const char *const names[] = {"id", "graph", "name", "order", "added", "removed"};
    return (unsigned)m < 6 ? names[m] : "?";
}

const char *wl_cmp_verdict_name(wl_cmp_verdict v)
{
    static const char *const names[] = {"unchanged", "changed", "improved", "regressed",
                                        "not-comparable"};
    return (unsigned)v < 5 ? names[v] : "?";
}

/* ------------------------------------------------------------------ configuration */

static int phase_index(const char *phase)
{
    size_t n;
    const char *const *names = wl_phase_names(&n);
    for (size_t i = 0; phase && i < n; i++)
        if (strcmp(names[i], phase) == 0)
            return (int)i;
    return -1;
}

void wl_compare_cfg_init(wl_compare_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->min_matched = WL_COMPARE_MIN_MATCHED;
    cfg->has_alpha_range = 1;
    cfg->alpha_lo = WL_COMPARE_ALPHA_LO;
    cfg->alpha_hi = WL_COMPARE_ALPHA_HI;
    cfg->phase_mask =
        (1u << phase_index(WL_PHASE_RANDOM_LIKE)) | (1u << phase_index(WL_PHASE_RANK_COLLAPSE));
    cfg->fit_unreliable = 1;
    cfg->min_tail = 10; /* the fit-unreliable rule's defaults (rules/default.yaml) */
    cfg->max_D = 0.2;
    cfg->non_finite = 1;
    cfg->alpha_sigmas = WL_COMPARE_ALPHA_SIGMAS;
    cfg->hysteresis = WL_COMPARE_HYSTERESIS;
    cfg->change_rtol = WL_COMPARE_CHANGE_RTOL;
}

/* What the compare: section accepts, for the error messages. */
static const char compare_keys[] =
    "min_matched, change_tolerance, layer.alpha_range, layer.alpha_sigmas, layer.phase, "
    "layer.fit_unreliable, layer.min_tail, layer.max_D, layer.hysteresis, layer.non_finite, "
    "layer.<metric>.{direction,tolerance}, "
    "model.<metric>.{direction,tolerance} (metric: alpha, alpha_weighted, log_norm, "
    "log_spectral_norm)";

typedef struct cfg_parser {
    const wl_rules *r;
    wl_err *err;
    int phase_seen; /* a layer.phase[i] entry reset the default mask */
    int range_seen[2];
    const wl_rules_kv *range_kv; /* where alpha_range was given */
} cfg_parser;

/* "rules.yaml:4:12" (or the file alone when the position is unknown) into buf. */
static const char *where(const wl_rules *r, const wl_rules_kv *kv, char *buf, size_t n)
{
    const char *file = r->compare_file ? r->compare_file : r->source ? r->source : "rules";
    if (kv && kv->line > 0)
        snprintf(buf, n, "%s:%d:%d", file, kv->line, kv->column);
    else
        snprintf(buf, n, "%s", file);
    return buf;
}

static wl_status bad(cfg_parser *p, const wl_rules_kv *kv, const char *expected)
{
    char pos[600];
    return WL_FAIL(p->err, WL_E_RULES, "%s: compare: %s: expected %s, got '%s'",
                   where(p->r, kv, pos, sizeof pos), kv->key, expected, kv->value);
}

static int parse_num(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On"};
    static const char *const no[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int is_off(const char *s)
{
    int b;
    return parse_bool(s, &b) == 0 && b == 0;
}

static int metric_of(const char *name, size_t len)
{
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++)
        if (strlen(metric_names[m]) == len && strncmp(metric_names[m], name, len) == 0)
            return m;
    return -1;
}

/* "layer.alpha_weighted.direction" etc.: a delta gate's field. */
static wl_status parse_gate(cfg_parser *p, const wl_rules_kv *kv, const char *rest,
                            wl_cmp_gate *gates, int *handled)
{
    const char *dot = strchr(rest, '.');
    int m = metric_of(rest, dot ? (size_t)(dot - rest) : strlen(rest));
    *handled = m >= 0;
    if (m < 0)
        return WL_OK;
    wl_cmp_gate *g = &gates[m];
    if (!dot) {
        if (!is_off(kv->value))
            return bad(p, kv, "a mapping {direction, tolerance} or off");
        g->direction = WL_CMP_DIR_OFF;
        return WL_OK;
    }
    const char *field = dot + 1;
    if (strcmp(field, "direction") == 0) {
        static const struct {
            const char *name;
            wl_cmp_direction dir;
        } dirs[] = {{"increase", WL_CMP_DIR_INCREASE},
                    {"decrease", WL_CMP_DIR_DECREASE},
                    {"either", WL_CMP_DIR_EITHER},
                    {"off", WL_CMP_DIR_OFF},
                    {"false", WL_CMP_DIR_OFF}};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
            if (strcmp(kv->value, dirs[i].name) == 0) {
                g->direction = dirs[i].dir;
                return WL_OK;
            }
        return bad(p, kv, "increase, decrease, either or off");
    }
    if (strcmp(field, "tolerance") == 0) {
        char buf[64];
        size_t n = strlen(kv->value);
        int rel = n > 1 && kv->value[n - 1] == '%';
        snprintf(buf, sizeof buf, "%.*s", (int)(rel ? n - 1 : n), kv->value);
        double v;
        if (n >= sizeof buf || parse_num(buf, &v) != 0 || v < 0)
            return bad(p, kv, "a number >= 0, or a percentage like '10%'");
        g->tolerance = v;
        g->is_relative = rel;
        if (g->direction == WL_CMP_DIR_OFF)
            g->direction = WL_CMP_DIR_EITHER; /* a tolerance alone gates both ways */
        return WL_OK;
    }
    *handled = 0;
    return WL_OK;
}

static wl_status parse_kv(cfg_parser *p, const wl_rules_kv *kv, wl_compare_cfg *cfg)
{
    const char *k = kv->key;
    int handled = 0;
    wl_status st;
    if (strcmp(k, "min_matched") == 0) {
        if (parse_num(kv->value, &cfg->min_matched) != 0 || cfg->min_matched < 0 ||
            cfg->min_matched > 1)
            return bad(p, kv, "a share in [0, 1]");
        return WL_OK;
    }
    if (strcmp(k, "change_tolerance") == 0) {
        if (parse_num(kv->value, &cfg->change_rtol) != 0 || cfg->change_rtol < 0)
            return bad(p, kv, "a relative tolerance >= 0 (e.g. 1e-3)");
        return WL_OK;
    }
    if (strncmp(k, "layer.", 6) == 0) {
        const char *rest = k + 6;
        if (strcmp(rest, "alpha_range") == 0) {
            if (!is_off(kv->value))
                return bad(p, kv, "[low, high] or off");
            cfg->has_alpha_range = 0;
            return WL_OK;
        }
        if (strcmp(rest, "alpha_range[0]") == 0 || strcmp(rest, "alpha_range[1]") == 0) {
            int i = rest[12] - '0';
            double v;
            if (parse_num(kv->value, &v) != 0)
                return bad(p, kv, "a number");
            if (i == 0)
                cfg->alpha_lo = v;
            else
                cfg->alpha_hi = v;
            cfg->has_alpha_range = 1;
            p->range_seen[i] = 1;
            if (!p->range_kv)
                p->range_kv = kv;
            return WL_OK;
        }
        if (strncmp(rest, "alpha_range[", 12) == 0)
            return bad(p, kv, "two numbers [low, high]");
        if (strcmp(rest, "phase") == 0) {
            if (!is_off(kv->value))
                return bad(p, kv, "a list of phases (random-like, rank-collapse) or off");
            cfg->phase_mask = 0;
            p->phase_seen = 1;
            return WL_OK;
        }
        if (strncmp(rest, "phase[", 6) == 0) {
            if (!p->phase_seen)
                cfg->phase_mask = 0;
            p->phase_seen = 1;
            if (strcmp(kv->value, WL_PHASE_RANDOM_LIKE) != 0 &&
                strcmp(kv->value, WL_PHASE_RANK_COLLAPSE) != 0)
                return bad(p, kv,
                           "random-like or rank-collapse (the phases a layer can regress "
                           "towards)");
            cfg->phase_mask |= 1u << phase_index(kv->value);
            return WL_OK;
        }
        if (strcmp(rest, "fit_unreliable") == 0) {
            if (parse_bool(kv->value, &cfg->fit_unreliable) != 0)
                return bad(p, kv, "true or false");
            return WL_OK;
        }
        if (strcmp(rest, "non_finite") == 0) {
            if (parse_bool(kv->value, &cfg->non_finite) != 0)
                return bad(p, kv, "true or false");
            return WL_OK;
        }
        if (strcmp(rest, "min_tail") == 0) {
            if (parse_num(kv->value, &cfg->min_tail) != 0 || cfg->min_tail < 0)
                return bad(p, kv, "a count >= 0");
            return WL_OK;
        }
        if (strcmp(rest, "alpha_sigmas") == 0) {
            if (parse_num(kv->value, &cfg->alpha_sigmas) != 0 || cfg->alpha_sigmas < 0)
                return bad(p, kv, "a multiple >= 0 of alpha's uncertainty");
            return WL_OK;
        }
        if (strcmp(rest, "hysteresis") == 0) {
            if (parse_num(kv->value, &cfg->hysteresis) != 0 || cfg->hysteresis < 0 ||
                cfg->hysteresis >= 1)
                return bad(p, kv, "a relative band in [0, 1)");
            return WL_OK;
        }
        if (strcmp(rest, "max_D") == 0) {
            if (parse_num(kv->value, &cfg->max_D) != 0 || cfg->max_D < 0)
                return bad(p, kv, "a number >= 0");
            return WL_OK;
        }
        if ((st = parse_gate(p, kv, rest, cfg->layer_gate, &handled)) != WL_OK || handled)
            return st;
    } else if (strncmp(k, "model.", 6) == 0) {
        if ((st = parse_gate(p, kv, k + 6, cfg->model_gate, &handled)) != WL_OK || handled)
            return st;
    }
    char pos[600];
    return WL_FAIL(p->err, WL_E_RULES, "%s: compare: unknown key '%s' (expected one of: %s)",
                   where(p->r, kv, pos, sizeof pos), k, compare_keys);
}

wl_status wl_compare_cfg_from_rules(const wl_rules *r, wl_compare_cfg *out, wl_err *err)
{
    wl_compare_cfg_init(out);
    if (r == NULL)
        return WL_OK;
    wl_rule_cfg fu;
    wl_rules_effective(r, NULL, WL_RULE_FIT_UNRELIABLE, &fu);
    out->min_tail = fu.param[0];
    out->max_D = fu.param[1];
    cfg_parser p = {.r = r, .err = err};
    for (size_t i = 0; i < r->n_compare; i++) {
        wl_status st = parse_kv(&p, &r->compare[i], out);
        if (st != WL_OK)
            return st;
    }
    char pos[600];
    if (out->has_alpha_range && p.range_seen[0] != p.range_seen[1])
        return WL_FAIL(err, WL_E_RULES,
                       "%s: compare: layer.alpha_range: expected two numbers [low, high]",
                       where(r, p.range_kv, pos, sizeof pos));
    if (out->has_alpha_range && !(out->alpha_lo < out->alpha_hi))
        return WL_FAIL(err, WL_E_RULES,
                       "%s: compare: layer.alpha_range: [%g, %g] is empty (low must be below "
                       "high)",
                       where(r, p.range_kv, pos, sizeof pos), out->alpha_lo, out->alpha_hi);
    return WL_OK;
}

/* ------------------------------------------------------------------ per-layer values */

/* A numeric metric of a layer, NaN when the layer does not have it: non-finite weights have no
 * spectrum; a failed fit's alpha = -1 is WeightWatcher's sentinel, not a measurement. */
static double metric_value(const wl_layer *l, wl_cmp_metric m)
{
    if (l == NULL || l->status == WL_LAYER_NONFINITE)
        return NAN;
    int fitted = l->status == WL_LAYER_SUCCESS;
    switch (m) {
    case WL_CMP_ALPHA:
        return fitted ? l->alpha : NAN;
    case WL_CMP_ALPHA_WEIGHTED:
        return fitted ? l->alpha_weighted : NAN;
    case WL_CMP_LOG_NORM:
        return l->log_norm;
    case WL_CMP_LOG_SPECTRAL_NORM:
        return l->log_spectral_norm;
    default:
        return NAN;
    }
}

static double summary_value(const wl_analysis *a, wl_cmp_metric m)
{
    switch (m) {
    case WL_CMP_ALPHA:
        return a->summary.alpha;
    case WL_CMP_ALPHA_WEIGHTED:
        return a->summary.alpha_weighted;
    case WL_CMP_LOG_NORM:
        return a->summary.log_norm;
    case WL_CMP_LOG_SPECTRAL_NORM:
        return a->summary.log_spectral_norm;
    default:
        return NAN;
    }
}

/* The fit row's label and, for "unreliable", why (into buf). */
static const char *fit_label(const wl_layer *l, const wl_compare_cfg *cfg, char *buf, size_t n)
{
    if (buf)
        buf[0] = '\0';
    if (l == NULL)
        return NULL;
    if (l->status == WL_LAYER_NONFINITE) {
        if (buf)
            snprintf(buf, n, "%s", l->status_reason);
        return "non-finite";
    }
    if (l->status == WL_LAYER_FIT_FAILED) {
        if (buf)
            snprintf(buf, n, "%s", l->status_reason);
        return "failed";
    }
    if (!isfinite(l->alpha)) {
        if (buf)
            snprintf(buf, n, "alpha = %g", l->alpha);
        return "unreliable";
    }
    if ((double)l->num_pl_spikes < cfg->min_tail) {
        if (buf)
            snprintf(buf, n, "tail of %lld eigenvalues < %g", (long long)l->num_pl_spikes,
                     cfg->min_tail);
        return "unreliable";
    }
    if (l->D > cfg->max_D) {
        if (buf)
            snprintf(buf, n, "KS distance D = %.4f > %g", l->D, cfg->max_D);
        return "unreliable";
    }
    return "ok";
}

/* Printed form of a number (the text and markdown reports use the same): equal strings are
 * "unchanged". */
static void num4(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4f", v);
}

/* Different at the printed precision and by more than rtol of the larger magnitude (an fp16
 * copy moves alpha by ~1e-5 relative: not a change). */
static int differs(double a, double b, double rtol)
{
    char x[64], y[64];
    num4(a, x, sizeof x);
    num4(b, y, sizeof y);
    if (strcmp(x, y) == 0)
        return 0;
    if (isfinite(a) && isfinite(b)) {
        double big = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
        return fabs(a - b) > rtol * big;
    }
    return 1;
}

static int label_differs(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a != b;
    return strcmp(a, b) != 0;
}

/* ------------------------------------------------------------------ why it matters */

static const char matters_alpha_high[] =
    "alpha above the well-trained range means the layer's eigenvalue spectrum lost the heavy "
    "tail that training builds: it looks under-trained or reset towards random initialisation "
    "(Martin & Mahoney: well-trained layers have alpha in [2, 6])";
static const char matters_alpha_low[] =
    "alpha below the well-trained range means a very heavy tail: a few directions dominate the "
    "layer, as in over-training or over-fitting (Martin & Mahoney: well-trained layers have "
    "alpha in [2, 6])";
static const char matters_random[] =
    "the spectrum now fits the Marchenko-Pastur law of a random matrix: the correlations the "
    "layer had learned are gone (weights reset, corrupted, or not trained)";
static const char matters_towards_random[] =
    "the layer moved back along the phases of training, towards random-like: it carries less "
    "learned structure than in the base";
static const char matters_collapse[] =
    "most of the layer's eigenvalues are now ~0: it uses few of its dimensions (over-pruning, "
    "too strong regularization, or a broken low-rank export)";
static const char matters_fit[] =
    "the power-law fit of this layer can no longer be trusted, so its alpha is no longer "
    "evidence of anything";
static const char matters_nonfinite[] =
    "NaN/Inf weights propagate to the model's outputs: the model is broken";
static const char matters_gate[] =
    "the change exceeds the tolerance set in the rules file's compare: section";

/* ------------------------------------------------------------------ cells */

static void set_numbers(wl_cmp_cell *c, double b, double v)
{
    c->base = b;
    c->cand = v;
    c->delta = c->delta_pct = NAN;
    c->base_sd = c->cand_sd = NAN;
    if (isfinite(b) && isfinite(v)) {
        c->delta = v - b;
        if (b != 0)
            c->delta_pct = 100.0 * c->delta / fabs(b);
    }
}

/* A delta gate; writes why on a regression. */
static int gate_fires(const wl_cmp_gate *g, const wl_cmp_cell *c, char *why, size_t n)
{
    if (g->direction == WL_CMP_DIR_OFF || isnan(c->delta))
        return 0;
    double d = g->is_relative ? c->delta_pct : c->delta;
    if (isnan(d))
        return 0;
    int up = d > g->tolerance, down = d < -g->tolerance;
    int fires = (g->direction == WL_CMP_DIR_INCREASE && up) ||
                (g->direction == WL_CMP_DIR_DECREASE && down) ||
                (g->direction == WL_CMP_DIR_EITHER && (up || down));
    if (fires)
        snprintf(why, n, "%s by %.4f%s > tolerance %g%s", d > 0 ? "rose" : "fell", fabs(d),
                 g->is_relative ? "%" : "", g->tolerance, g->is_relative ? "%" : "");
    return fires;
}

double wl_compare_alpha_sd(const wl_layer *l)
{
    if (l == NULL || l->status != WL_LAYER_SUCCESS || !isfinite(l->alpha) ||
        !isfinite(l->sigma) || l->sigma < 0)
        return NAN;
    /* the largest of the three ways alpha is uncertain: WeightWatcher's asymptotic standard
     * error, the finite-sample one, and half of alpha's range over the near-optimal xmins
     * (docs/metrics.md "Uncertainty of alpha") */
    double sd = l->sigma;
    if (isfinite(l->alpha_se) && l->alpha_se > sd)
        sd = l->alpha_se;
    if (isfinite(l->alpha_spread) && l->alpha_spread / 2 > sd)
        sd = l->alpha_spread / 2;
    return sd;
}

/* A fit that can be read: fitted, alpha finite, tail >= min_tail x (1 - slack) and
 * D <= max_D x (1 + slack). slack 0 is the fit-unreliable rule; slack = hysteresis is the far
 * edge of the band that a layer must cross to count as a regression (or, from the other side,
 * as an improvement). */
static int fit_ok(const wl_layer *l, const wl_compare_cfg *cfg, double slack)
{
    return l != NULL && l->status == WL_LAYER_SUCCESS && isfinite(l->alpha) &&
           (double)l->num_pl_spikes >= cfg->min_tail * (1.0 - slack) &&
           l->D <= cfg->max_D * (1.0 + slack);
}

/* k x the uncertainty of cand - base for alpha (alpha_weighted = alpha log10 lambda_max scales
 * it by |log10 lambda_max|; the spectral norm itself is exact), 0 when unknown. */
static double alpha_noise(const wl_cmp_cell *c, const wl_layer *b, const wl_layer *v,
                          const wl_compare_cfg *cfg)
{
    double sb = wl_compare_alpha_sd(b), sv = wl_compare_alpha_sd(v);
    if (c->metric == WL_CMP_ALPHA_WEIGHTED) {
        sb *= fabs(b->log_spectral_norm);
        sv *= fabs(v->log_spectral_norm);
    }
    double n = cfg->alpha_sigmas * sqrt(sb * sb + sv * sv);
    return isfinite(n) ? n : 0.0;
}

static void not_counted(wl_cmp_cell *c, const char *fmt, ...) WL_PRINTF(2, 3);
/* A change the gate saw and did not count: "changed", with why (shown as info). */
static void not_counted(wl_cmp_cell *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    c->state = WL_CMP_CHANGED;
    c->matters = NULL;
}

static const char *unreliable_side(const wl_layer *b, const wl_layer *v,
                                   const wl_compare_cfg *cfg)
{
    int ub = !fit_ok(b, cfg, 0), uv = !fit_ok(v, cfg, 0);
    return ub && uv ? "both models" : ub ? "the base" : uv ? "the candidate" : NULL;
}

static void judge_numeric(wl_cmp_cell *c, const wl_layer *b, const wl_layer *v,
                          const wl_compare_cfg *cfg, const wl_cmp_gate *gate)
{
    c->state = differs(c->base, c->cand, cfg->change_rtol) ? WL_CMP_CHANGED : WL_CMP_UNCHANGED;
    int is_alpha = c->metric == WL_CMP_ALPHA || c->metric == WL_CMP_ALPHA_WEIGHTED;
    const char *unreliable = b && v && is_alpha ? unreliable_side(b, v, cfg) : NULL;
    double noise = b && v && is_alpha ? alpha_noise(c, b, v, cfg) : 0.0;
    if (c->metric == WL_CMP_ALPHA && b && v && cfg->has_alpha_range && isfinite(c->base) &&
        isfinite(c->cand)) {
        int in_b = c->base >= cfg->alpha_lo && c->base <= cfg->alpha_hi;
        int in_v = c->cand >= cfg->alpha_lo && c->cand <= cfg->alpha_hi;
        if (in_b != in_v) {
            const char *verb = in_b ? "left" : "entered";
            double outside = in_b ? c->cand : c->base; /* the value outside the range */
            double by = outside > cfg->alpha_hi ? outside - cfg->alpha_hi : cfg->alpha_lo - outside;
            double sd = in_b ? c->cand_sd : c->base_sd;
            double k_sd = isfinite(sd) ? cfg->alpha_sigmas * sd : 0.0;
            if (unreliable) {
                not_counted(c, "%s [%g, %g]; not judged: the power-law fit is unreliable in %s",
                            verb, cfg->alpha_lo, cfg->alpha_hi, unreliable);
                return;
            }
            if (!(by > k_sd && fabs(c->delta) > noise)) {
                not_counted(c, "%s [%g, %g] within noise (alpha %.2f +- %.2f, %g sigma)", verb,
                            cfg->alpha_lo, cfg->alpha_hi, outside, isfinite(sd) ? sd : 0.0,
                            cfg->alpha_sigmas);
                return;
            }
            c->state = in_b ? WL_CMP_REGRESSED : WL_CMP_IMPROVED;
            snprintf(c->why, sizeof c->why, "%s [%g, %g]", verb, cfg->alpha_lo, cfg->alpha_hi);
            if (in_b) {
                c->matters = c->cand > cfg->alpha_hi ? matters_alpha_high : matters_alpha_low;
                return;
            }
        }
    }
    char why[sizeof c->why];
    if (gate && gate_fires(gate, c, why, sizeof why)) {
        if (unreliable)
            not_counted(c, "%s; not judged: the power-law fit is unreliable in %s", why,
                        unreliable);
        else if (is_alpha && !(fabs(c->delta) > noise))
            not_counted(c, "%s, within noise (%g sigma = %.4f)", why, cfg->alpha_sigmas, noise);
        else {
            c->state = WL_CMP_REGRESSED;
            snprintf(c->why, sizeof c->why, "%s", why);
            c->matters = matters_gate;
        }
    }
}

static void judge_phase(wl_cmp_cell *c, const wl_layer *bl, const wl_layer *vl,
                        const wl_compare_cfg *cfg)
{
    c->state = label_differs(c->base_label, c->cand_label) ? WL_CMP_CHANGED : WL_CMP_UNCHANGED;
    int b = phase_index(c->base_label), v = phase_index(c->cand_label);
    if (b < 0 || v < 0 || b == v)
        return;
    int collapse = phase_index(WL_PHASE_RANK_COLLAPSE), random = phase_index(WL_PHASE_RANDOM_LIKE);
    int want_random = (cfg->phase_mask >> random) & 1u;
    int want_collapse = (cfg->phase_mask >> collapse) & 1u;
    /* random-like (0) ... heavy-tailed (4) is the order of training; rank-collapse beyond */
    int towards_random = v != collapse && (b == collapse ? v == random : v < b);
    int to_collapse = v == collapse;
    /* Between the middle phases (bleeding-out ... heavy-tailed) a step is a threshold on alpha
     * or on the spikes: a step within alpha's noise, or on an unreliable fit, is not counted. */
    int middle = v != random && v != collapse && b != random && b != collapse;
    double da = fabs(metric_value(vl, WL_CMP_ALPHA) - metric_value(bl, WL_CMP_ALPHA));
    wl_cmp_cell probe = {.metric = WL_CMP_ALPHA};
    double noise = alpha_noise(&probe, bl, vl, cfg);
    const char *unreliable = unreliable_side(bl, vl, cfg);
    int noisy = middle && (unreliable || !(da > noise));
    if (want_collapse && to_collapse) {
        c->state = WL_CMP_REGRESSED;
        snprintf(c->why, sizeof c->why, "became rank-collapse");
        c->matters = matters_collapse;
    } else if (want_random && towards_random) {
        if (noisy) {
            if (unreliable)
                not_counted(c, "moved towards random-like; not judged: the power-law fit is "
                               "unreliable in %s", unreliable);
            else
                not_counted(c, "moved towards random-like within alpha's noise (|delta| %.2f <= "
                               "%.2f)", da, noise);
            return;
        }
        c->state = WL_CMP_REGRESSED;
        snprintf(c->why, sizeof c->why,
                 v == random ? "became random-like"
                             : "moved towards "
                               "random-like");
        c->matters = v == random ? matters_random : matters_towards_random;
    } else if ((want_random && b != collapse && v > b && v != collapse) ||
               (want_collapse && b == collapse && v != random)) {
        if (noisy)
            return;
        c->state = WL_CMP_IMPROVED;
        snprintf(c->why, sizeof c->why,
                 b == collapse ? "left rank-collapse" : "moved away from random-like");
    }
}

static void judge_fit(wl_cmp_cell *c, const wl_layer *b, const wl_layer *v,
                      const wl_compare_cfg *cfg)
{
    char why_v[160];
    c->base_label = fit_label(b, cfg, NULL, 0);
    c->cand_label = fit_label(v, cfg, why_v, sizeof why_v);
    c->state = label_differs(c->base_label, c->cand_label) ? WL_CMP_CHANGED : WL_CMP_UNCHANGED;
    if (v == NULL)
        return;
    int b_nonfinite = b && b->status == WL_LAYER_NONFINITE;
    int v_nonfinite = v->status == WL_LAYER_NONFINITE;
    int b_ok = b && fit_ok(b, cfg, 0), v_ok = fit_ok(v, cfg, 0);
    /* beyond the hysteresis band: clearly unreliable */
    int b_bad = b && !fit_ok(b, cfg, cfg->hysteresis), v_bad = !fit_ok(v, cfg, cfg->hysteresis);
    if (cfg->non_finite && v_nonfinite && !b_nonfinite) {
        c->state = WL_CMP_REGRESSED;
        snprintf(c->why, sizeof c->why, "%s%s", b ? "" : "new layer: ", why_v);
        c->matters = matters_nonfinite;
    } else if (cfg->fit_unreliable && b_ok && v_bad && !v_nonfinite) {
        c->state = WL_CMP_REGRESSED;
        snprintf(c->why, sizeof c->why, "%s", why_v);
        c->matters = matters_fit;
    } else if (cfg->fit_unreliable && b_ok && !v_ok && !v_nonfinite) {
        not_counted(c, "%s, within the hysteresis band (%g %%)", why_v, 100 * cfg->hysteresis);
    } else if (b && ((cfg->non_finite && b_nonfinite && !v_nonfinite) ||
                     (cfg->fit_unreliable && b_bad && !b_nonfinite && v_ok))) {
        c->state = WL_CMP_IMPROVED;
        snprintf(c->why, sizeof c->why, b_nonfinite ? "weights finite again" : "fit reliable");
    }
}

static void fill_layer(wl_cmp_layer *row, const wl_compare_cfg *cfg)
{
    const wl_layer *b = row->base, *v = row->cand;
    for (int m = 0; m < WL_CMP_N_METRICS; m++) {
        wl_cmp_cell *c = &row->cells[m];
        memset(c, 0, sizeof *c);
        c->metric = (wl_cmp_metric)m;
        if (m < WL_CMP_N_NUMERIC) {
            set_numbers(c, metric_value(b, c->metric), metric_value(v, c->metric));
            if (m == WL_CMP_ALPHA) {
                c->base_sd = wl_compare_alpha_sd(b);
                c->cand_sd = wl_compare_alpha_sd(v);
            }
            if (row->is_reshaped)
                c->state = differs(c->base, c->cand, cfg->change_rtol) ? WL_CMP_CHANGED
                                                                       : WL_CMP_UNCHANGED;
            else
                judge_numeric(c, b, v, cfg, b && v ? &cfg->layer_gate[m] : NULL);
        } else if (m == WL_CMP_PHASE) {
            set_numbers(c, NAN, NAN);
            c->base_label = b ? b->phase : NULL;
            c->cand_label = v ? v->phase : NULL;
            if (row->is_reshaped || !b || !v)
                c->state =
                    label_differs(c->base_label, c->cand_label) ? WL_CMP_CHANGED : WL_CMP_UNCHANGED;
            else
                judge_phase(c, b, v, cfg);
        } else {
            set_numbers(c, NAN, NAN);
            judge_fit(c, b, row->is_reshaped ? NULL : v, cfg);
            if (row->is_reshaped)
                c->cand_label = fit_label(v, cfg, NULL, 0);
        }
        if (c->state > row->state)
            row->state = c->state;
        if (c->state == WL_CMP_REGRESSED)
            row->n_regressions++;
    }
    if ((row->match == WL_CMP_ADDED || row->match == WL_CMP_REMOVED || row->is_reshaped) &&
        row->state < WL_CMP_CHANGED)
        row->state = WL_CMP_CHANGED;
}

/* ------------------------------------------------------------------ matching */

/* The logical shape: what the layer's matrix is, whatever the encoding stores (a transposed
 * int8 copy of a Gemm weight, a QLinearConv kernel): type, N >= M, rf. */
static int cmp_logical(const wl_layer *a, const wl_layer *b)
{
    const char *ta = a->layer_type ? a->layer_type : "", *tb = b->layer_type ? b->layer_type : "";
    int c = strcmp(ta, tb);
    if (c)
        return c;
    if (a->N != b->N)
        return a->N < b->N ? -1 : 1;
    if (a->M != b->M)
        return a->M < b->M ? -1 : 1;
    if (a->rf != b->rf)
        return a->rf < b->rf ? -1 : 1;
    return 0;
}

static int same_shape(const wl_layer *a, const wl_layer *b)
{
    return cmp_logical(a, b) == 0;
}

void wl_compare_logical_shape(const wl_layer *l, char *buf, size_t n)
{
    if (l->rf > 1)
        snprintf(buf, n, "%lldx%lldx%lld", (long long)l->N, (long long)l->M, (long long)l->rf);
    else
        snprintf(buf, n, "%lldx%lld", (long long)l->N, (long long)l->M);
}

/* Ops that do one job in several encodings: the fp32 op, its integer and QLinear forms and the
 * contrib low-bit ones. A quantizer swaps the op (Conv -> QLinearConv) and keeps the node. */
static const struct {
    const char *op, *family;
} op_families[] = {
    {"Conv", "conv"},
    {"ConvInteger", "conv"},
    {"DynamicQuantizeMatMul", "dense"},
    {"FusedConv", "conv"},
    {"FusedMatMul", "dense"},
    {"Gemm", "dense"},
    {"MatMul", "dense"},
    {"MatMulBnb4", "dense"},
    {"MatMulInteger", "dense"},
    {"MatMulIntegerToFloat", "dense"},
    {"MatMulNBits", "dense"},
    {"NhwcConv", "conv"},
    {"QGemm", "dense"},
    {"QLinearConv", "conv"},
    {"QLinearMatMul", "dense"},
};

static const char *op_family(const char *op)
{
    for (size_t i = 0; op && i < sizeof op_families / sizeof op_families[0]; i++)
        if (strcmp(op_families[i].op, op) == 0)
            return op_families[i].family;
    return op ? op : "";
}

/* The weight input in the fp32 op's numbering: QLinear ops put (a, a_scale, a_zero_point)
 * before b / w, so their input 3 is the plain op's input 1. */
static int plain_input(const char *op, int input)
{
    if (op && strncmp(op, "QLinear", 7) == 0 && input == 3)
        return 1;
    if (op && strcmp(op, "QGemm") == 0 && input == 3)
        return 1;
    return input;
}

/* Suffixes that exporters and quantizers append to a tensor or node name (onnxruntime's
 * quantizer: "<w>_quantized" and node "<n>_quant"; tf2onnx ":0"; fp16/bf16 converters). */
static const char *const name_suffixes[] = {
    "_quantized", "_dequantized", "_quant", "_fp16", "_bf16", "_float16", "_bfloat16",
    "_int8",      "_uint8",       "_int4",  "_uint4", ":0",   "_DequantizeLinear", "_QuantizeLinear"};

/* name without those suffixes (repeatedly: "w:0_quantized"), into buf. */
static void strip_suffixes(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s", name ? name : "");
    for (int again = 1; again;) {
        again = 0;
        size_t len = strlen(buf);
        for (size_t i = 0; i < sizeof name_suffixes / sizeof name_suffixes[0]; i++) {
            size_t sl = strlen(name_suffixes[i]);
            if (len > sl && strcmp(buf + len - sl, name_suffixes[i]) == 0) {
                buf[len - sl] = '\0';
                again = 1;
                break;
            }
        }
    }
}

/* The RNN block part of an id ("/W/dir0/gate_i"): what follows the tensor name. */
static const char *block_suffix(const wl_layer *l)
{
    if (!l->id || !l->name || !l->name[0])
        return "";
    const char *p = NULL, *q = l->id;
    while ((q = strstr(q, l->name)) != NULL)
        p = q++;
    return p ? p + strlen(l->name) : "";
}

typedef struct keyed {
    char *key;  /* owned; NULL = this layer has no key for the step */
    size_t idx; /* index in its analysis */
    const wl_layer *l;
} keyed;

/* The key of layer l for a matching step, or NULL (no graph place known, no name). */
static char *step_key(const wl_layer *l, wl_cmp_match step, int *nomem)
{
    char buf[2400], name[1024];
    if (step == WL_CMP_BY_GRAPH) {
        if (!l->op_type || !l->node_name || !l->node_name[0] || l->input_index < 0)
            return NULL;
        strip_suffixes(l->node_name, name, sizeof name);
        snprintf(buf, sizeof buf, "%s|%s|%d|%s", op_family(l->op_type), name,
                 plain_input(l->op_type, l->input_index), block_suffix(l));
    } else if (step == WL_CMP_BY_NAME) {
        if (!l->name || !l->name[0])
            return NULL;
        strip_suffixes(l->name, name, sizeof name);
        snprintf(buf, sizeof buf, "%s|%s", name, block_suffix(l));
    } else { /* BY_ID */
        if (!l->id)
            return NULL;
        snprintf(buf, sizeof buf, "%s", l->id);
    }
    char *k = strdup(buf);
    if (!k)
        *nomem = 1;
    return k;
}

static int cmp_keyed(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* Collects the unmatched layers of one side that have a key for step, sorted by key. */
static size_t collect(const wl_analysis *a, const long *partner, wl_cmp_match step, keyed *out,
                      int *nomem)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_layers; i++) {
        if (partner[i] >= 0)
            continue;
        char *k = step_key(&a->layers[i], step, nomem);
        if (k)
            out[n++] = (keyed){k, i, &a->layers[i]};
    }
    qsort(out, n, sizeof *out, cmp_keyed);
    return n;
}

/* One matching step: pairs every key that occurs once on each side (with the same logical
 * shape; with any shape for reshaped, which then records it). Returns 0 or -1 (no memory). */
static int match_step(const wl_analysis *base, const wl_analysis *cand, long *pb, long *pc,
                      wl_cmp_match *how, wl_cmp_match step, int allow_reshape, keyed *kb,
                      keyed *kc)
{
    int nomem = 0;
    size_t nb = collect(base, pb, step, kb, &nomem), nc = collect(cand, pc, step, kc, &nomem);
    for (size_t i = 0, j = 0; i < nb && j < nc && !nomem;) {
        int d = strcmp(kb[i].key, kc[j].key);
        if (d < 0) {
            i++;
            continue;
        }
        if (d > 0) {
            j++;
            continue;
        }
        size_t ri = i, rj = j; /* the runs of this key on both sides */
        while (ri < nb && strcmp(kb[ri].key, kb[i].key) == 0)
            ri++;
        while (rj < nc && strcmp(kc[rj].key, kc[j].key) == 0)
            rj++;
        if (ri - i == 1 && rj - j == 1 && (allow_reshape || same_shape(kb[i].l, kc[j].l))) {
            pb[kb[i].idx] = (long)kc[j].idx;
            pc[kc[j].idx] = (long)kb[i].idx;
            how[kb[i].idx] = step;
        }
        i = ri;
        j = rj;
    }
    for (size_t i = 0; i < nb; i++)
        free(kb[i].key);
    for (size_t j = 0; j < nc; j++)
        free(kc[j].key);
    return nomem ? -1 : 0;
}

typedef struct ordered {
    const wl_layer *l;
    size_t idx;
} ordered;

static int cmp_ordered(const void *x, const void *y)
{
    const ordered *a = x, *b = y;
    int c = cmp_logical(a->l, b->l);
    if (c)
        return c;
    if (a->l->depth != b->l->depth)
        return a->l->depth < b->l->depth ? -1 : 1;
    if (a->l->input_index != b->l->input_index)
        return a->l->input_index < b->l->input_index ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* The unmatched layers with a graph rank, sorted by logical shape then topological order. */
static size_t collect_ordered(const wl_analysis *a, const long *partner, ordered *out)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_layers; i++)
        if (partner[i] < 0 && a->layers[i].depth >= 0)
            out[n++] = (ordered){&a->layers[i], i};
    qsort(out, n, sizeof *out, cmp_ordered);
    return n;
}

/* Step 4: the k-th unmatched layer of a logical shape in graph order with the k-th one. */
static void match_order(const wl_analysis *base, const wl_analysis *cand, long *pb, long *pc,
                        wl_cmp_match *how, ordered *ob, ordered *oc)
{
    size_t nb = collect_ordered(base, pb, ob), nc = collect_ordered(cand, pc, oc);
    for (size_t i = 0, j = 0; i < nb && j < nc;) {
        int d = cmp_logical(ob[i].l, oc[j].l);
        if (d < 0) {
            i++;
        } else if (d > 0) {
            j++;
        } else {
            pb[ob[i].idx] = (long)oc[j].idx;
            pc[oc[j].idx] = (long)ob[i].idx;
            how[ob[i].idx] = WL_CMP_BY_ORDER;
            i++;
            j++;
        }
    }
}

wl_status wl_compare_new(const wl_analysis *base, const wl_analysis *cand,
                         const wl_compare_cfg *cfg, wl_comparison **out, wl_err *err)
{
    *out = NULL;
    size_t nb = base->n_layers, nc = cand->n_layers;
    wl_status st = WL_OK;
    wl_comparison *c = calloc(1, sizeof *c);
    long *pb = malloc((nb ? nb : 1) * sizeof *pb); /* base -> cand index, -1 */
    long *pc = malloc((nc ? nc : 1) * sizeof *pc); /* cand -> base index, -1 */
    wl_cmp_match *how = malloc((nb ? nb : 1) * sizeof *how);
    keyed *kb = malloc((nb ? nb : 1) * sizeof *kb), *kc = malloc((nc ? nc : 1) * sizeof *kc);
    ordered *ob = malloc((nb ? nb : 1) * sizeof *ob), *oc = malloc((nc ? nc : 1) * sizeof *oc);
    if (!c || !pb || !pc || !how || !kb || !kc || !ob || !oc) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory comparing %zu and %zu layers", nb, nc);
        goto out;
    }
    c->base = base;
    c->cand = cand;
    for (size_t i = 0; i < nb; i++)
        pb[i] = -1;
    for (size_t j = 0; j < nc; j++)
        pc[j] = -1;
    /* 1-3: id, graph place, stripped name; 4: shape and topological rank; then the ids left
     * with another shape are reshaped pairs */
    static const wl_cmp_match steps[] = {WL_CMP_BY_ID, WL_CMP_BY_GRAPH, WL_CMP_BY_NAME};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++)
        if (match_step(base, cand, pb, pc, how, steps[s], 0, kb, kc) != 0) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory comparing %zu and %zu layers", nb, nc);
            goto out;
        }
    match_order(base, cand, pb, pc, how, ob, oc);
    if (match_step(base, cand, pb, pc, how, WL_CMP_BY_ID, 1, kb, kc) != 0) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory comparing %zu and %zu layers", nb, nc);
        goto out;
    }

    /* rows: base order (graph order), then the added layers in candidate order */
    size_t n_added = 0;
    for (size_t j = 0; j < nc; j++)
        n_added += pc[j] < 0;
    c->layers = calloc(nb + n_added ? nb + n_added : 1, sizeof *c->layers);
    if (!c->layers) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory comparing %zu and %zu layers", nb, nc);
        goto out;
    }
    size_t same_shape_pairs = 0;
    for (size_t i = 0; i < nb; i++) {
        wl_cmp_layer *row = &c->layers[c->n_layers++];
        row->base = &base->layers[i];
        if (pb[i] < 0) {
            row->match = WL_CMP_REMOVED;
            c->n_removed++;
        } else {
            row->cand = &cand->layers[pb[i]];
            row->match = how[i];
            row->is_reshaped = !same_shape(row->base, row->cand);
            if (row->is_reshaped)
                c->n_reshaped++;
            else
                same_shape_pairs++;
            c->n_by_id += row->match == WL_CMP_BY_ID;
            c->n_by_graph += row->match == WL_CMP_BY_GRAPH;
            c->n_by_name += row->match == WL_CMP_BY_NAME;
            c->n_by_order += row->match == WL_CMP_BY_ORDER;
        }
        fill_layer(row, cfg);
    }
    for (size_t j = 0; j < nc; j++) {
        if (pc[j] >= 0)
            continue;
        wl_cmp_layer *row = &c->layers[c->n_layers++];
        row->cand = &cand->layers[j];
        row->match = WL_CMP_ADDED;
        c->n_added++;
        fill_layer(row, cfg);
    }
    c->n_matched = same_shape_pairs;

    /* comparable? */
    size_t most = nb > nc ? nb : nc;
    c->matched_share = most ? (double)same_shape_pairs / (double)most : 0.0;
    c->is_same_layout = nb == nc && c->n_by_id == nb && c->n_reshaped == 0 && nb > 0;
    if (nb == 0 || nc == 0)
        snprintf(c->not_comparable_why, sizeof c->not_comparable_why,
                 "no analyzed layers in the %s (nothing to compare)",
                 nb == 0 && nc == 0 ? "base or the candidate"
                 : nb == 0          ? "base"
                                    : "candidate");
    else if (c->matched_share < cfg->min_matched)
        snprintf(c->not_comparable_why, sizeof c->not_comparable_why,
                 "only %zu of %zu layers match with their shape (%.0f%%, "
                 "min_matched %.0f%%): a different architecture",
                 same_shape_pairs, most, 100.0 * c->matched_share, 100.0 * cfg->min_matched);
    c->is_comparable = c->not_comparable_why[0] == '\0';

    /* model-level rows and the verdict */
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++) {
        wl_cmp_cell *cell = &c->model[m];
        cell->metric = (wl_cmp_metric)m;
        set_numbers(cell, summary_value(base, cell->metric), summary_value(cand, cell->metric));
        cell->state =
            differs(cell->base, cell->cand, cfg->change_rtol) ? WL_CMP_CHANGED : WL_CMP_UNCHANGED;
        if (c->is_comparable &&
            gate_fires(&cfg->model_gate[m], cell, cell->why, sizeof cell->why)) {
            cell->state = WL_CMP_REGRESSED;
            cell->matters = matters_gate;
        }
    }
    int any_change = c->n_added || c->n_removed || c->n_reshaped;
    for (size_t i = 0; i < c->n_layers; i++)
        for (int m = 0; m < WL_CMP_N_METRICS; m++) {
            wl_cmp_state s = c->layers[i].cells[m].state;
            c->n_regressions += s == WL_CMP_REGRESSED;
            c->n_improvements += s == WL_CMP_IMPROVED;
            c->n_changed += s == WL_CMP_CHANGED;
        }
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++) {
        c->n_regressions += c->model[m].state == WL_CMP_REGRESSED;
        c->n_changed += c->model[m].state == WL_CMP_CHANGED;
    }
    if (!c->is_comparable)
        c->verdict = WL_VERDICT_NOT_COMPARABLE;
    else if (c->n_regressions)
        c->verdict = WL_VERDICT_REGRESSED;
    else if (c->n_improvements)
        c->verdict = WL_VERDICT_IMPROVED;
    else if (c->n_changed || any_change)
        c->verdict = WL_VERDICT_CHANGED;
    else
        c->verdict = WL_VERDICT_UNCHANGED;
    *out = c;
    c = NULL;
out:
    wl_comparison_free(c);
    free(pb);
    free(pc);
    free(how);
    free(kb);
    free(kc);
    free(ob);
    free(oc);
    return st;
}

void wl_comparison_free(wl_comparison *c)
{
    if (c == NULL)
        return;
    free(c->layers);
    free(c);
}

const wl_cmp_layer *wl_compare_find(const wl_comparison *c, const wl_layer *base_layer)
{
    for (size_t i = 0; c && i < c->n_layers; i++)
        if (c->layers[i].base == base_layer)
            return &c->layers[i];
    return NULL;
}

/* ------------------------------------------------------------------ ranking */

typedef struct rank_item {
    size_t idx;
    double key;
} rank_item;

static int cmp_rank(const void *x, const void *y)
{
    const rank_item *a = x, *b = y;
    int na = isnan(a->key), nb = isnan(b->key);
    if (na != nb)
        return na - nb; /* models without alpha-hat last */
    if (!na && a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Same ids and shapes, in any order. */
static int same_layout(const wl_analysis *a, const wl_analysis *b)
{
    if (a->n_layers != b->n_layers)
        return 0;
    for (size_t i = 0; i < a->n_layers; i++) {
        const wl_layer *x = &a->layers[i];
        const wl_layer *y =
            i < b->n_layers && b->layers[i].id && x->id && strcmp(b->layers[i].id, x->id) == 0
                ? &b->layers[i]
                : NULL;
        for (size_t j = 0; !y && j < b->n_layers; j++)
            if (b->layers[j].id && x->id && strcmp(b->layers[j].id, x->id) == 0)
                y = &b->layers[j];
        if (!y || !same_shape(x, y))
            return 0;
    }
    return a->n_layers > 0;
}

void wl_compare_rank(const wl_analysis *const *models, size_t n, size_t *order, int *is_one_run)
{
    rank_item stack[64];
    rank_item *items = n <= 64 ? stack : malloc(n * sizeof *items);
    *is_one_run = n > 1;
    for (size_t i = 1; i < n; i++)
        if (!same_layout(models[0], models[i]))
            *is_one_run = 0;
    if (items == NULL) { /* out of memory: command-line order */
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (rank_item){i, models[i]->summary.alpha_weighted};
    qsort(items, n, sizeof *items, cmp_rank);
    for (size_t i = 0; i < n; i++)
        order[i] = items[i].idx;
    if (items != stack)
        free(items);
}

const char *wl_compare_one_run_note(void)
{
    return "These models look like checkpoints of one training run (same architecture, same "
           "tensor names; or versions of one model). Lower alpha-hat goes with higher test "
           "accuracy across a series of "
           "models (deeper or wider versions of an architecture on one task); within one run "
           "it need not: alpha-hat = alpha * log10(lambda_max) rises as the spikes (lambda_max) "
           "grow while the layers learn. On a CNN trained on Fashion-MNIST it rose from -0.07 "
           "to 2.12 between epochs 1 and 8 while test accuracy rose from 88.4 % to 91.5 %, and "
           "across batch sizes 500 -> 4 from -1.2 to 6.8 at about equal accuracy. Do not pick "
           "a checkpoint by alpha-hat alone: weigh the per-layer alpha, phase and spikes below, "
           "and validation metrics.";
}
