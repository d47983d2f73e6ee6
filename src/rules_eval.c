/*
 * rules_eval.c — evaluates a ruleset over one wl_analysis: per-layer rules (WL1xx) in layer
 * order, then model-level rules (WL2xx), then, on request, unused suppressions (WL001).
 *
 * Precedence between per-layer rules, and why (docs/rules.md, "How the rules interact"):
 *   - non-finite weights: no spectrum, so no other rule is evaluated for the layer;
 *   - rank collapse: the alpha of a collapsed layer is fitted on the few eigenvalues left and
 *     reads anything, so under-, over-trained, spurious-alpha and fit-unreliable are not
 *     evaluated for it;
 *   - a failed or non-finite fit (WeightWatcher's alpha = -1 sentinel, alpha = inf) is
 *     fit-unreliable, never over- or under-trained;
 *   - random-like subsumes under-trained and spurious-alpha (same layer, stronger diagnosis).
 */
#include "phase.h"
#include "rules.h"
#include "wl_err.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int globs_match(char *const *globs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], name, 0) == 0)
            return 1;
    return 0;
}

/* A layer matches a glob by its tensor name or by its unique id (which names RNN gates and
 * subgraph paths, e.g. ".../W/dir0/gate_f"). */
static int layer_matches(char *const *globs, size_t n, const wl_layer *l)
{
    return globs_match(globs, n, l->name ? l->name : "") ||
           (l->id && globs_match(globs, n, l->id));
}

static void apply_patches(wl_rule_cfg *cfg, const wl_rules_override *o, wl_rule_id only,
                          int all)
{
    for (size_t j = 0; j < o->n_patches; j++) {
        const wl_rule_patch *p = &o->patches[j];
        if (!all && p->rule != only)
            continue;
        wl_rule_cfg *c = all ? &cfg[p->rule] : cfg;
        if (p->has_severity)
            c->severity = p->severity;
        for (size_t i = 0; i < WL_RULE_MAX_PARAMS; i++)
            if (p->param_mask & (1u << i))
                c->param[i] = p->param[i];
    }
}

void wl_rules_effective(const wl_rules *r, const char *layer, wl_rule_id id, wl_rule_cfg *out)
{
    *out = r->cfg[id];
    if (!layer)
        return;
    for (size_t i = 0; i < r->n_overrides; i++)
        if (globs_match(r->overrides[i].globs, r->overrides[i].n_globs, layer))
            apply_patches(out, &r->overrides[i], id, 0);
}

/* Every rule's setting for one layer; counts override hits. */
static void layer_cfg(wl_rules *r, const wl_layer *l, wl_rule_cfg cfg[WL_RULE_COUNT])
{
    memcpy(cfg, r->cfg, sizeof r->cfg);
    for (size_t i = 0; i < r->n_overrides; i++)
        if (layer_matches(r->overrides[i].globs, r->overrides[i].n_globs, l)) {
            r->overrides[i].n_hits++;
            apply_patches(cfg, &r->overrides[i], WL_RULE_COUNT, 1);
        }
}

/* ------------------------------------------------------------------ findings */

void wl_findings_clear(wl_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].model);
        free(f->items[i].layer);
        free(f->items[i].id);
        free(f->items[i].node);
        free(f->items[i].op);
        free(f->items[i].message);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
}

/* Appends a zeroed finding; NULL on allocation failure. */
static wl_finding *push(wl_findings *f)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        wl_finding *items = realloc(f->items, cap * sizeof *items);
        if (!items)
            return NULL;
        f->items = items;
        f->cap = cap;
    }
    wl_finding *x = &f->items[f->n++];
    memset(x, 0, sizeof *x);
    return x;
}

typedef struct eval_ctx {
    wl_rules *r;
    const wl_analysis *a;
    wl_findings *out;
    wl_err *err;
} eval_ctx;

/* Records one finding of rule id for layer l (NULL: model-level) unless the rule is off. */
static wl_status add(eval_ctx *c, const wl_layer *l, wl_rule_id id, const wl_rule_cfg *cfg,
                     const char *metric, double value, const char *cmp, double threshold,
                     const char *fmt, ...) WL_PRINTF(9, 10);
static wl_status add(eval_ctx *c, const wl_layer *l, wl_rule_id id, const wl_rule_cfg *cfg,
                     const char *metric, double value, const char *cmp, double threshold,
                     const char *fmt, ...)
{
    if (cfg->severity == WL_SEV_OFF)
        return WL_OK;
    const wl_rule_info *ri = wl_rule_info_get(id);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wl_finding *f = push(c->out);
    if (!f)
        return WL_FAIL(c->err, WL_E_NOMEM, "out of memory recording findings");
    f->rule = id;
    f->code = ri->code;
    f->name = ri->name;
    f->severity = cfg->severity;
    f->layer_id = -1;
    f->metric = metric;
    f->value = value;
    f->cmp = cmp;
    f->threshold = threshold;
    f->alpha = f->D = f->xmin = NAN;
    f->model = xstrdup_or_null(c->a->path ? c->a->path : "");
    f->message = xstrdup_or_null(msg);
    if (!f->model || !f->message)
        return WL_FAIL(c->err, WL_E_NOMEM, "out of memory recording findings");
    if (l) {
        f->layer = xstrdup_or_null(l->name ? l->name : "");
        f->id = xstrdup_or_null(l->id ? l->id : (l->name ? l->name : ""));
        f->node = xstrdup_or_null(l->node_name);
        f->op = xstrdup_or_null(l->op_type);
        if (!f->layer || !f->id || (l->node_name && !f->node) || (l->op_type && !f->op))
            return WL_FAIL(c->err, WL_E_NOMEM, "out of memory recording findings");
        f->layer_id = l->layer_id;
        f->phase = l->phase;
        f->layer_type = l->layer_type;
        f->num_evals = l->num_evals;
        if (l->status != WL_LAYER_NONFINITE) {
            f->has_fit = 1;
            f->alpha = l->alpha;
            f->D = l->D;
            f->xmin = l->xmin;
            f->num_pl_spikes = l->num_pl_spikes;
        }
    }
    /* suppressions: the first matching ignore entry wins */
    for (size_t i = 0; i < c->r->n_ignores; i++) {
        wl_rules_ignore *ig = &c->r->ignores[i];
        if (ig->rule_mask && !(ig->rule_mask & (1u << id)))
            continue;
        if (ig->n_globs && !(l && layer_matches(ig->globs, ig->n_globs, l)))
            continue;
        f->suppressed = ig->reason;
        ig->n_hits++;
        break;
    }
    return WL_OK;
}

/* WL106: why this layer's alpha should not be trusted, or NULL. */
static const char *fit_problem(const wl_layer *l, const wl_rule_cfg *cfg, char *buf, size_t size,
                               const char **metric, double *value, const char **cmp,
                               double *threshold)
{
    double min_tail = cfg->param[0], max_D = cfg->param[1], max_spread = cfg->param[2];
    if (l->status == WL_LAYER_FIT_FAILED) {
        *metric = "alpha";
        *value = l->alpha;
        *cmp = "==";
        *threshold = -1;
        snprintf(buf, size,
                 "power-law fit failed: fewer than 2 eigenvalues above 1e-5 (of %lld); "
                 "alpha = -1 is WeightWatcher's sentinel, not a measurement",
                 (long long)l->num_evals);
        return buf;
    }
    if (!isfinite(l->alpha)) {
        *metric = "alpha";
        *value = l->alpha;
        *cmp = "==";
        *threshold = l->alpha;
        snprintf(buf, size,
                 "alpha = %g: the tail eigenvalues are (nearly) all equal, no power law to fit",
                 l->alpha);
        return buf;
    }
    if ((double)l->num_pl_spikes < min_tail) {
        *metric = "num_pl_spikes";
        *value = (double)l->num_pl_spikes;
        *cmp = "<";
        *threshold = min_tail;
        double se = isfinite(l->alpha_se) ? l->alpha_se
                    : l->num_pl_spikes > 0 ? (l->alpha - 1) / sqrt((double)l->num_pl_spikes)
                                           : NAN; /* alpha_se needs 3 points */
        snprintf(buf, size,
                 "tail of only %lld eigenvalues (< %g): alpha = %.4f has a standard error of "
                 "about %.2f",
                 (long long)l->num_pl_spikes, min_tail, l->alpha, se);
        return buf;
    }
    if (l->D > max_D) {
        *metric = "D";
        *value = l->D;
        *cmp = ">";
        *threshold = max_D;
        snprintf(buf, size,
                 "KS distance D = %.4f > %g: a power law describes the tail of %lld eigenvalues "
                 "poorly",
                 l->D, max_D, (long long)l->num_pl_spikes);
        return buf;
    }
    if (l->alpha_spread > max_spread) {
        *metric = "alpha_spread";
        *value = l->alpha_spread;
        *cmp = ">";
        *threshold = max_spread;
        snprintf(buf, size,
                 "alpha unstable across xmin: KS-near-optimal xmins give alpha %.4f..%.4f "
                 "(spread %.2f > %g)",
                 l->alpha_lo, l->alpha_hi, l->alpha_spread, max_spread);
        return buf;
    }
    if (l->has_dist && l->dist_ok && l->best_fit &&
        (strcmp(l->best_fit, "exponential") == 0 || strcmp(l->best_fit, "lognormal") == 0 ||
         strcmp(l->best_fit, "stretched_exp") == 0)) {
        int e = strcmp(l->best_fit, "exponential") == 0, ln = strcmp(l->best_fit, "lognormal") == 0;
        double R = e ? l->pl_vs_exponential_R : ln ? l->pl_vs_lognormal_R : l->pl_vs_stretched_exp_R;
        double p = e ? l->pl_vs_exponential_p : ln ? l->pl_vs_lognormal_p : l->pl_vs_stretched_exp_p;
        *metric = "pl_vs_best_R";
        *value = R;
        *cmp = "<";
        *threshold = 0;
        snprintf(buf, size, "tail better described by %s (R = %.4f, p = %.4g)", l->best_fit, R, p);
        return buf;
    }
    return NULL;
}

static wl_status eval_layer(eval_ctx *c, const wl_layer *l, int *flagged, wl_severity flag_sev)
{
    wl_rule_cfg cfg[WL_RULE_COUNT];
    wl_status st = WL_OK;
    size_t first = c->out->n;
    layer_cfg(c->r, l, cfg);
    for (size_t i = 0; i < c->r->n_ignores; i++) {
        wl_rules_ignore *ig = &c->r->ignores[i];
        if (ig->n_globs && layer_matches(ig->globs, ig->n_globs, l))
            ig->n_matched++;
    }

    if (l->status == WL_LAYER_NONFINITE) {
        st = add(c, l, WL_RULE_NONFINITE, &cfg[WL_RULE_NONFINITE], "nonfinite_index",
                 (double)l->nonfinite_index, "==", (double)l->nonfinite_index,
                 "weights hold a non-finite value (%g at flat index %llu): no spectrum",
                 l->nonfinite_value, (unsigned long long)l->nonfinite_index);
        goto done;
    }

    double zero_share = wl_phase_zero_share(l);
    const wl_rule_cfg *rc = &cfg[WL_RULE_RANK_COLLAPSE];
    int collapsed = zero_share >= rc->param[0];
    if (collapsed) {
        int64_t n_zero = (int64_t)llround(zero_share * (double)l->num_evals);
        st = add(c, l, WL_RULE_RANK_COLLAPSE, rc, "zero_share", zero_share, ">=", rc->param[0],
                 "%lld of %lld eigenvalues (%.1f%%) are numerically zero (>= %.0f%%): the layer "
                 "uses about %lld of them; its alpha is not meaningful",
                 (long long)n_zero, (long long)l->num_evals, 100 * zero_share,
                 100 * rc->param[0], (long long)(l->num_evals - n_zero));
        if (st)
            goto done;
    }

    int alpha_ok = !collapsed && l->status == WL_LAYER_SUCCESS && isfinite(l->alpha);
    /* singular values per slice: a shuffle can only change a spectrum with several of them */
    double slice_evals = (double)l->num_evals / (double)(l->rf > 0 ? l->rf : 1);

    /* WL104 random-like: MP criterion, or the randomized-ESD distance */
    const wl_rule_cfg *rl = &cfg[WL_RULE_RANDOM_LIKE];
    int random_like = 0;
    if (!collapsed) {
        if (l->has_rand && isfinite(l->rand_distance) && l->rand_distance <= rl->param[2] &&
            slice_evals >= rl->param[3]) {
            random_like = 1;
            st = add(c, l, WL_RULE_RANDOM_LIKE, rl, "rand_distance", l->rand_distance, "<=",
                     rl->param[2],
                     "rand_distance = %.4f <= %g: the spectrum is indistinguishable from that "
                     "of the shuffled weights",
                     l->rand_distance, rl->param[2]);
        } else if (l->has_mp && alpha_ok && l->num_spikes == 0 && l->mp_softrank >= rl->param[1] &&
                   l->alpha > rl->param[0]) {
            random_like = 1;
            st = add(c, l, WL_RULE_RANDOM_LIKE, rl, "alpha", l->alpha, ">", rl->param[0],
                     "spectrum fits the Marchenko-Pastur law of a random matrix: no spikes, "
                     "mp_softrank = %.4f, alpha = %.4f > %g",
                     l->mp_softrank, l->alpha, rl->param[0]);
        }
        if (st)
            goto done;
        if (random_like && rl->severity == WL_SEV_OFF)
            random_like = 0; /* a disabled rule subsumes nothing */
    }

    if (alpha_ok && !random_like) {
        const wl_rule_cfg *u = &cfg[WL_RULE_UNDER_TRAINED];
        if (l->alpha > u->param[0] &&
            (st = add(c, l, WL_RULE_UNDER_TRAINED, u, "alpha", l->alpha, ">", u->param[0],
                      "alpha = %.4f > %g: the spectrum's tail decays faster than a "
                      "well-trained layer's",
                      l->alpha, u->param[0])))
            goto done;
        const wl_rule_cfg *s = &cfg[WL_RULE_SPURIOUS_ALPHA];
        if (l->alpha > s->param[0] &&
            (st = add(c, l, WL_RULE_SPURIOUS_ALPHA, s, "alpha", l->alpha, ">", s->param[0],
                      "alpha = %.4f > %g: random, not heavy-tailed; this alpha is spurious",
                      l->alpha, s->param[0])))
            goto done;
    }
    if (alpha_ok) {
        const wl_rule_cfg *o = &cfg[WL_RULE_OVER_TRAINED];
        if (l->alpha < o->param[0] &&
            (st = add(c, l, WL_RULE_OVER_TRAINED, o, "alpha", l->alpha, "<", o->param[0],
                      "alpha = %.4f < %g: very heavy-tailed spectrum", l->alpha, o->param[0])))
            goto done;
    }

    if (!collapsed) {
        char buf[320];
        const char *metric = NULL, *cmp = NULL;
        double value = 0, threshold = 0;
        const wl_rule_cfg *fu = &cfg[WL_RULE_FIT_UNRELIABLE];
        if (fit_problem(l, fu, buf, sizeof buf, &metric, &value, &cmp, &threshold) &&
            (st = add(c, l, WL_RULE_FIT_UNRELIABLE, fu, metric, value, cmp, threshold, "%s",
                      buf)))
            goto done;
    }

    const wl_rule_cfg *ct = &cfg[WL_RULE_CORRELATION_TRAP];
    if (l->has_rand && l->rand_num_spikes >= 0 && (double)l->rand_num_spikes >= ct->param[0] &&
        l->rand_bulk_max > 0 && l->max_rand_eval >= ct->param[1] * l->rand_bulk_max &&
        slice_evals >= ct->param[2] &&
        (st = add(c, l, WL_RULE_CORRELATION_TRAP, ct, "rand_num_spikes",
                  (double)l->rand_num_spikes, ">=", ct->param[0],
                  "%lld correlation trap%s: eigenvalues of the shuffled weights beyond the MP "
                  "bulk edge, the largest %.1fx the edge (large individual weights)",
                  (long long)l->rand_num_spikes, l->rand_num_spikes == 1 ? "" : "s",
                  l->max_rand_eval / l->rand_bulk_max)))
        goto done;

    const wl_rule_cfg *nh = &cfg[WL_RULE_NOT_HEAVY_TAILED];
    if (!collapsed && l->has_dist && l->dist_ok && l->pl_vs_exponential_R < 0 &&
        l->pl_vs_exponential_p <= nh->param[0] &&
        (st = add(c, l, WL_RULE_NOT_HEAVY_TAILED, nh, "pl_vs_exponential_p",
                  l->pl_vs_exponential_p, "<=", nh->param[0],
                  "tail of %lld eigenvalues is not heavy-tailed: an exponential fits it better "
                  "than a power law (R = %.4f, p = %.4g)",
                  (long long)l->num_pl_spikes, l->pl_vs_exponential_R, l->pl_vs_exponential_p)))
        goto done;

    const wl_rule_cfg *ph = &cfg[WL_RULE_PHASE];
    if (l->phase) {
        size_t n_names;
        const char *const *names = wl_phase_names(&n_names);
        for (size_t i = 0; i < n_names; i++)
            if (strcmp(l->phase, names[i]) == 0 && ((unsigned)ph->param[0] & (1u << i))) {
                st = add(c, l, WL_RULE_PHASE, ph, "phase", (double)i, "==", (double)i,
                         "layer is in the %s phase", l->phase);
                break;
            }
    }

done:
    for (size_t i = first; i < c->out->n && !st; i++)
        if (!c->out->items[i].suppressed && c->out->items[i].severity >= flag_sev)
            *flagged = 1;
    return st;
}

/* WL204: the share of the weight parameters left unanalyzed, with the reasons by parameter
 * count (wl_analysis.weight_params / analyzed_params, docs/metrics.md "Coverage"). */
static wl_status eval_unanalyzed(eval_ctx *c)
{
    const wl_analysis *a = c->a;
    const wl_rule_cfg *u = &c->r->cfg[WL_RULE_UNANALYZED];
    if (a->weight_params == 0)
        return WL_OK;
    uint64_t missing = a->weight_params - a->analyzed_params;
    double share = (double)missing / (double)a->weight_params;
    if (!(share > u->param[0]))
        return WL_OK;
    char why[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < a->n_skipped && len < sizeof why; i++) {
        const wl_skipped *s = &a->skipped[i];
        if (!s->is_weight)
            continue;
        size_t j = 0;
        while (j < i && !(a->skipped[j].is_weight &&
                          strcmp(a->skipped[j].reason_code, s->reason_code) == 0))
            j++;
        if (j < i)
            continue;
        uint64_t p = 0;
        for (size_t k = i; k < a->n_skipped; k++)
            if (a->skipped[k].is_weight && strcmp(a->skipped[k].reason_code, s->reason_code) == 0)
                p += a->skipped[k].n_params;
        len += (size_t)snprintf(why + len, sizeof why - len, "%s%s: %llu", len ? ", " : "",
                                s->reason_code, (unsigned long long)p);
    }
    return add(c, NULL, WL_RULE_UNANALYZED, u, "unanalyzed_share", share, ">", u->param[0],
               "%.1f%% of the weight parameters were not analyzed (%llu of %llu; %s) > %.1f%%",
               100 * share, (unsigned long long)missing, (unsigned long long)a->weight_params,
               why, 100 * u->param[0]);
}

static wl_status eval_model(eval_ctx *c, size_t n_flagged)
{
    wl_status st;
    const wl_analysis *a = c->a;
    const wl_rule_cfg *cfg = c->r->cfg;
    if (a->n_layers == 0) {
        char why[256] = "";
        size_t len = 0;
        /* skipped tensors by reason code, in order of first appearance */
        for (size_t i = 0; i < a->n_skipped && len < sizeof why; i++) {
            const char *code = a->skipped[i].reason_code ? a->skipped[i].reason_code : "other";
            size_t j = 0, count = 0;
            while (j < i && strcmp(a->skipped[j].reason_code ? a->skipped[j].reason_code
                                                             : "other",
                                   code) != 0)
                j++;
            if (j < i)
                continue;
            for (size_t k = i; k < a->n_skipped; k++)
                if (strcmp(a->skipped[k].reason_code ? a->skipped[k].reason_code : "other",
                           code) == 0)
                    count++;
            len += (size_t)snprintf(why + len, sizeof why - len, "%s%s: %zu", len ? ", " : "",
                                    code, count);
        }
        if ((st = eval_unanalyzed(c)) != WL_OK)
            return st;
        return add(c, NULL, WL_RULE_NO_LAYERS, &cfg[WL_RULE_NO_LAYERS], "n_layers", 0, "==", 0,
                   "no tensor analyzed: %zu tensor%s considered, %zu skipped%s%s%s",
                   a->n_tensors, a->n_tensors == 1 ? "" : "s", a->n_skipped, len ? " (" : "",
                   why, len ? ")" : "");
    }
    if ((st = eval_unanalyzed(c)) != WL_OK)
        return st;
    const wl_rule_cfg *fs = &cfg[WL_RULE_FLAGGED_SHARE];
    double share = (double)n_flagged / (double)a->n_layers;
    if ((double)a->n_layers >= fs->param[1] && share > fs->param[0] &&
        (st = add(c, NULL, WL_RULE_FLAGGED_SHARE, fs, "flagged_share", share, ">", fs->param[0],
                  "%zu of %zu analyzed layers (%.0f%%) have findings of severity %s or higher "
                  "(> %.0f%%)",
                  n_flagged, a->n_layers, 100 * share,
                  wl_severity_name((wl_severity)fs->param[2]), 100 * fs->param[0])))
        return st;
    const wl_rule_cfg *aw = &cfg[WL_RULE_ALPHA_WEIGHTED];
    double mean = a->summary.alpha_weighted;
    if (isfinite(mean) && mean > aw->param[0] &&
        (st = add(c, NULL, WL_RULE_ALPHA_WEIGHTED, aw, "alpha_weighted", mean, ">", aw->param[0],
                  "mean alpha_weighted = %.4f > %g over %zu layers", mean, aw->param[0],
                  a->summary.n_rows)))
        return st;
    return WL_OK;
}

wl_status wl_rules_eval(wl_rules *r, const wl_analysis *a, wl_findings *out, wl_err *err)
{
    eval_ctx c = {r, a, out, err};
    size_t n_flagged = 0;
    wl_severity flag_sev = (wl_severity)r->cfg[WL_RULE_FLAGGED_SHARE].param[2];
    if (flag_sev < WL_SEV_INFO)
        flag_sev = WL_SEV_INFO;
    for (size_t i = 0; i < a->n_layers; i++) {
        int flagged = 0;
        wl_status st = eval_layer(&c, &a->layers[i], &flagged, flag_sev);
        if (st)
            return st;
        n_flagged += (size_t)flagged;
    }
    return eval_model(&c, n_flagged);
}

wl_status wl_rules_unused(const wl_rules *r, wl_findings *out, wl_err *err)
{
    const wl_rule_cfg *cfg = &r->cfg[WL_RULE_UNUSED_SUPPRESSION];
    const wl_rule_info *ri = wl_rule_info_get(WL_RULE_UNUSED_SUPPRESSION);
    if (cfg->severity == WL_SEV_OFF)
        return WL_OK;
    size_t n = r->n_ignores + r->n_overrides;
    for (size_t i = 0; i < n; i++) {
        const wl_rules_origin *o;
        char msg[512];
        if (i < r->n_ignores) {
            const wl_rules_ignore *ig = &r->ignores[i];
            o = &ig->origin;
            if (o->is_preset || ig->n_hits)
                continue;
            if (ig->n_globs && !ig->n_matched)
                snprintf(msg, sizeof msg,
                         "ignore entry matched no tensor (layers '%s'%s; reason: %s)",
                         ig->globs[0], ig->n_globs > 1 ? ", ..." : "", ig->reason);
            else
                snprintf(msg, sizeof msg, "ignore entry suppressed no finding (reason: %s)",
                         ig->reason);
        } else {
            const wl_rules_override *ov = &r->overrides[i - r->n_ignores];
            o = &ov->origin;
            if (o->is_preset || ov->n_hits)
                continue;
            snprintf(msg, sizeof msg, "overrides entry matched no tensor (layers '%s'%s)",
                     ov->globs[0], ov->n_globs > 1 ? ", ..." : "");
        }
        wl_finding *f = push(out);
        if (!f)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory recording findings");
        f->rule = WL_RULE_UNUSED_SUPPRESSION;
        f->code = ri->code;
        f->name = ri->name;
        f->severity = cfg->severity;
        f->layer_id = -1;
        f->alpha = f->D = f->xmin = NAN;
        f->metric = "hits";
        f->cmp = "==";
        f->model = xstrdup_or_null(o->file);
        f->message = xstrdup_or_null(msg);
        f->line = o->line;
        f->column = o->column;
        if (!f->model || !f->message)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory recording findings");
    }
    return WL_OK;
}

void wl_finding_fingerprint(const wl_finding *f, char buf[17])
{
    /* FNV-1a 64 (Fowler, Noll, Vo) over "model\0layer id\0code" */
    uint64_t h = 0xcbf29ce484222325u;
    const char *where = f->id ? f->id : f->layer;
    const char *parts[3] = {f->model ? f->model : "", where ? where : "", f->code ? f->code : ""};
    for (int i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            h ^= *p;
            h *= 0x100000001b3u;
        }
        h ^= 0;
        h *= 0x100000001b3u;
    }
    snprintf(buf, 17, "%016llx", (unsigned long long)h);
}
