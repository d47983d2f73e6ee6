/*
 * report_html.c — the self-contained HTML report of report_html.h.
 *
 * Layout, top to bottom: header (model, base, producer, mode, rules), verdict and finding
 * counts, model summary (WeightWatcher's get_summary() means; base and Δ with --compare),
 * coverage (skipped tensors by reason), findings sorted by severity with a link to each rule's
 * explanation, the explanations of the rules that fired, α and α̂ per layer in depth order,
 * the layer table (pre-sorted by severity, click a header to sort), and one section per layer
 * with its ESD plots. Anchors are built from indices only (layer-N, rule-WLnnn), never from
 * model strings. No external resource is referenced, and the CSP meta forbids any.
 */
#include "report_html.h"
#include "plot_svg.h"
#include "wl_err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W      560
#define PLOT_H      340
#define SHARE_RATIO 3.0 /* linear plots share axes when their x extents differ by less */

static const char css[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 'DejaVu Sans',Verdana,Arial,sans-serif;color:#222;margin:0;"
    "background:#f4f5f7}"
    "main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}"
    "h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 10px;"
    "border-bottom:1px solid #d8dbe0;padding-bottom:4px}h3{font-size:15px;margin:0 0 6px;"
    "word-break:break-all}"
    ".meta{color:#555;font-size:13px}.meta code,.path{word-break:break-all}"
    "code{font:12.5px 'DejaVu Sans Mono',monospace;background:#eef0f3;padding:0 3px;"
    "border-radius:3px}"
    ".card{background:#fff;border:1px solid #d8dbe0;border-radius:6px;padding:12px 14px;"
    "margin:10px 0}.card>p:first-child{margin-top:0}"
    ".verdict{font-size:16px;font-weight:bold;padding:10px 14px;border-radius:6px;color:#fff}"
    ".verdict.fail{background:#c62828}.verdict.warn{background:#b26a00}"
    ".verdict.pass{background:#2e7d32}.verdict code{background:rgba(255,255,255,.22);color:#fff}"
    "table.summary{width:auto;min-width:60%}"
    "table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}"
    "th,td{border:1px solid #dde0e4;padding:3px 7px;text-align:left;vertical-align:top}"
    "th{background:#eceef2;white-space:nowrap}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.sortable th{cursor:pointer;user-select:none}table.findings td:nth-child(2){"
    "white-space:nowrap}"
    "table.sortable th::after{content:' \\2195';color:#999;font-size:11px}"
    "table.sortable th[aria-sort=ascending]::after{content:' \\25B2';color:#333}"
    "table.sortable th[aria-sort=descending]::after{content:' \\25BC';color:#333}"
    "tr.sev-3 td:first-child{border-left:4px solid #c62828}"
    "tr.sev-2 td:first-child{border-left:4px solid #ef8f00}"
    "tr.sev-1 td:first-child{border-left:4px solid #1565c0}"
    ".sev{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;"
    "font-weight:bold}"
    ".sev-error{background:#c62828}.sev-warning{background:#ef8f00}.sev-info{background:#1565c0}"
    ".phase{display:inline-block;border-radius:9px;padding:0 8px;color:#fff;font-size:12px}"
    ".kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}"
    ".kv dt{color:#555}.kv dd{margin:0}"
    ".plots{display:grid;grid-template-columns:1fr 1fr;gap:8px}"
    ".plots svg,.chart svg{width:100%;height:auto;display:block;border:1px solid #e2e4e8;"
    "border-radius:4px}"
    ".plots .side{font-weight:bold;color:#555;font-size:13px}"
    ".missing{display:flex;align-items:center;justify-content:center;min-height:120px;"
    "color:#777;border:1px dashed #ccc;border-radius:4px;background:#fafafa}"
    ".explain p,.explain ul{margin:6px 0}.delta-up{color:#b71c1c}.delta-down{color:#1b5e20}"
    "ul.findings{margin:6px 0;padding-left:18px}"
    "details summary{cursor:pointer;color:#1565c0}"
    "footer{color:#777;font-size:12px;margin-top:30px}"
    /* the layer table (16 columns with --compare) fits 1240 px: long names wrap anywhere,
     * headers wrap, badges do not */
    "table.layers{font-size:12px}table.layers th,table.layers td{padding:3px 4px}"
    "table.layers th{white-space:normal}table.layers td:nth-child(2){word-break:break-all;"
    "min-width:10em}.phase{white-space:nowrap}"
    ".sd{display:block;color:#777;font-size:11px}";

/* Sorts a table's body by the clicked column: numbers by data-v (empty last), text otherwise. */
static const char script[] =
    "(function(){\n"
    "function key(r,i,num){var c=r.cells[i];var v=c.hasAttribute('data-v')?"
    "c.getAttribute('data-v'):c.textContent;if(!num)return v.toLowerCase();"
    "var x=parseFloat(v);return isNaN(x)?null:x;}\n"
    "function sort(t,i,th){var asc=th.getAttribute('aria-sort')!=='ascending';"
    "var num=th.getAttribute('data-type')==='num';"
    "Array.prototype.forEach.call(th.parentNode.cells,function(c){c.removeAttribute('aria-sort');})"
    ";"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');"
    "var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);"
    "rows.forEach(function(r,k){r._k=k;});"
    "rows.sort(function(p,q){var x=key(p,i,num),y=key(q,i,num),d;"
    "if(x===null||y===null)d=(x===null)-(y===null);"
    "else{d=x<y?-1:x>y?1:0;if(!asc)d=-d;}return d||p._k-q._k;});"
    "rows.forEach(function(r){b.appendChild(r);});}\n"
    "Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){"
    "Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){"
    "th.tabIndex=0;th.addEventListener('click',function(){sort(t,i,th);});"
    "th.addEventListener('keydown',function(e){if(e.key==='Enter')sort(t,i,th);});});});\n"
    "})();\n";

static void esc(FILE *f, const char *s)
{
    wl_markup_escape(f, s, 0);
}

static void num(FILE *f, double v)
{
    char buf[32];
    wl_report_num(v, buf, sizeof buf);
    fputs(buf, f);
}

/* A numeric table cell with its sort key (empty key for nan: sorted last). */
static void num_cell(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("<td class=\"n\" data-v=\"\">\xE2\x80\x94</td>", f);
        return;
    }
    fprintf(f, "<td class=\"n\" data-v=\"%.10g\">", isinf(v) ? (v > 0 ? 1e308 : -1e308) : v);
    num(f, v);
    fputs("</td>", f);
}

/* An alpha cell: the value, sorted by it, and its uncertainty (wl_compare_alpha_sd) below. */
static void alpha_cell(FILE *f, double v, const wl_layer *l)
{
    double sd = wl_compare_alpha_sd(l);
    if (isnan(v) || !isfinite(sd)) {
        num_cell(f, v);
        return;
    }
    fprintf(f, "<td class=\"n\" data-v=\"%.10g\">", isinf(v) ? (v > 0 ? 1e308 : -1e308) : v);
    num(f, v);
    fprintf(f, "<span class=\"sd\">\xC2\xB1%.2f</span></td>", sd);
}

/* A count cell; negative = not measured (a failed fit), shown as a dash and sorted last. */
static void int_cell(FILE *f, long long v)
{
    if (v < 0)
        fputs("<td class=\"n\" data-v=\"\">\xE2\x80\x94</td>", f);
    else
        fprintf(f, "<td class=\"n\" data-v=\"%lld\">%lld</td>", v, v);
}

static const char *phase_color(const char *phase)
{
    static const struct {
        const char *name, *color;
    } colors[] = {
        {"random-like", "#8c8c8c"}, {"bleeding-out", "#e0a030"}, {"bulk+spikes", "#4c9be8"},
        {"bulk-decay", "#5bb5a8"},  {"heavy-tailed", "#2e9d58"}, {"rank-collapse", "#d64545"},
    };
    for (size_t i = 0; phase && i < sizeof colors / sizeof colors[0]; i++)
        if (strcmp(phase, colors[i].name) == 0)
            return colors[i].color;
    return "#b0b0b0";
}

static void phase_badge(FILE *f, const char *phase)
{
    fprintf(f, "<span class=\"phase\" style=\"background:%s\">", phase_color(phase));
    esc(f, phase ? phase : "unclassified");
    fputs("</span>", f);
}

static void sev_badge(FILE *f, wl_severity s)
{
    fprintf(f, "<span class=\"sev sev-%s\">%s</span>", wl_severity_name(s), wl_severity_name(s));
}

/* α (and α̂) as measurements: NaN when the fit failed or the layer has no spectrum. */
static double alpha_of(const wl_layer *l)
{
    if (l->status != WL_LAYER_SUCCESS || l->alpha < 0)
        return NAN;
    return l->alpha;
}

static double alpha_w_of(const wl_layer *l)
{
    return isnan(alpha_of(l)) ? NAN : l->alpha_weighted;
}

static const char *key_of(const wl_layer *l)
{
    return l->id ? l->id : l->name ? l->name : "";
}

/* ---------------------------------------------------------------- layer index */

typedef struct key_idx {
    const char *key;
    size_t i;
} key_idx;

static int cmp_key(const void *a, const void *b)
{
    const key_idx *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* A sorted index of a's layers by key_of; NULL (with n = 0 layers fine) when out of memory. */
static key_idx *index_new(const wl_analysis *a)
{
    key_idx *ix = malloc((a->n_layers ? a->n_layers : 1) * sizeof *ix);
    if (!ix)
        return NULL;
    for (size_t i = 0; i < a->n_layers; i++)
        ix[i] = (key_idx){key_of(&a->layers[i]), i};
    qsort(ix, a->n_layers, sizeof *ix, cmp_key);
    return ix;
}

/* The first layer with this key, or (size_t)-1. */
static size_t index_find(const key_idx *ix, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(ix[lo].key, key) == 0 ? ix[lo].i : (size_t)-1;
}

/* ---------------------------------------------------------------- per-model facts */

/* What the page needs about one model besides its analysis. */
typedef struct model_view {
    const wl_html_model *m;
    const wl_comparison *cmp; /* base vs candidate pairs (compare.h), or NULL */
    key_idx *ix;           /* layers by key */
    size_t *finding_layer; /* per finding: its layer index, or (size_t)-1 */
    int *worst;            /* per layer: worst shown severity (0 none) */
    size_t *n_findings;    /* per layer: shown findings */
} model_view;

static void view_free(model_view *v)
{
    free(v->ix);
    free(v->finding_layer);
    free(v->worst);
    free(v->n_findings);
}

static int shown(const wl_finding *f)
{
    return f->severity > WL_SEV_OFF && !f->suppressed && !f->is_baselined;
}

static int view_init(model_view *v, const wl_html_model *m)
{
    memset(v, 0, sizeof *v);
    v->m = m;
    const wl_analysis *a = m->analysis;
    size_t nf = m->findings ? m->findings->n : 0;
    size_t nl = a->n_layers ? a->n_layers : 1;
    v->ix = index_new(a);
    v->finding_layer = malloc((nf ? nf : 1) * sizeof *v->finding_layer);
    v->worst = calloc(nl, sizeof *v->worst);
    v->n_findings = calloc(nl, sizeof *v->n_findings);
    if (!v->ix || !v->finding_layer || !v->worst || !v->n_findings) {
        view_free(v);
        return -1;
    }
    for (size_t k = 0; k < nf; k++) {
        const wl_finding *f = &m->findings->items[k];
        size_t i = (size_t)-1;
        if (f->layer) {
            i = index_find(v->ix, a->n_layers, f->id ? f->id : f->layer);
            /* equal ids are unique in the default mode; in --compat ww fall back on layer_id */
            if (i != (size_t)-1 && a->layers[i].layer_id != f->layer_id) {
                for (size_t j = 0; j < a->n_layers; j++)
                    if (a->layers[j].layer_id == f->layer_id &&
                        strcmp(key_of(&a->layers[j]), f->id ? f->id : f->layer) == 0)
                        i = j;
            }
        }
        v->finding_layer[k] = i;
        if (i != (size_t)-1 && shown(f)) {
            v->n_findings[i]++;
            if ((int)f->severity > v->worst[i])
                v->worst[i] = (int)f->severity;
        }
    }
    return 0;
}

/* A plot writer's failure as the page's: a write error is left to the final check of the
 * stream (one message for the whole page), anything else is passed on. */
static wl_status plot_status(wl_status st, const wl_err *perr, wl_err *err)
{
    if (st == WL_OK || st == WL_E_IO)
        return WL_OK;
    return WL_FAIL(err, st, "%s", perr->msg);
}

/* ---------------------------------------------------------------- sections */

/* Escapes one line of rule text, with `x` as <code>x</code> (a span left open is closed at the
 * end of the line). */
static void explain_line(FILE *f, const char *p, size_t n)
{
    int in_code = 0;
    while (n > 0) {
        size_t k = 0;
        while (k < n && p[k] != '`')
            k++;
        for (size_t i = 0; i < k;) { /* through a stack buffer: nothing to allocate, or lose */
            char seg[256];
            size_t m = k - i < sizeof seg - 1 ? k - i : sizeof seg - 1;
            memcpy(seg, p + i, m);
            seg[m] = '\0';
            esc(f, seg);
            i += m;
        }
        if (k < n) {
            fputs(in_code ? "</code>" : "<code>", f);
            in_code = !in_code;
            k++;
        }
        p += k;
        n -= k;
    }
    if (in_code)
        fputs("</code>", f);
}

/* The rule table's --explain text as HTML: blank lines separate paragraphs, lines starting
 * with "- " are list items (indented lines continue them), `x` is code. */
static void explain_html(FILE *f, const char *text)
{
    enum { NONE, PARA, LIST } open = NONE;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t indent = 0;
        while (indent < n && p[indent] == ' ')
            indent++;
        const char *t = p + indent;
        size_t tn = n - indent;
        if (tn == 0) {
            fputs(open == PARA ? "</p>\n" : open == LIST ? "</li></ul>\n" : "", f);
            open = NONE;
        } else if (tn >= 2 && t[0] == '-' && t[1] == ' ') {
            fputs(open == PARA ? "</p><ul><li>" : open == LIST ? "</li><li>" : "<ul><li>", f);
            open = LIST;
            explain_line(f, t + 2, tn - 2);
        } else {
            if (open == LIST && indent == 0) {
                fputs("</li></ul><p>", f);
                open = PARA;
            } else if (open == NONE) {
                fputs("<p>", f);
                open = PARA;
            } else {
                fputc(' ', f);
            }
            explain_line(f, t, tn);
        }
        p += n;
        if (*p == '\n')
            p++;
    }
    fputs(open == PARA ? "</p>\n" : open == LIST ? "</li></ul>\n" : "", f);
}

static void header(FILE *f, const wl_html_report *r)
{
    const wl_analysis *a = r->model.analysis;
    fputs("<header><h1>weightlint report</h1>\n<div class=\"meta\">model <code class=\"path\">", f);
    esc(f, r->model.path);
    fputs("</code>", f);
    if (r->base) {
        fputs(" compared with base <code class=\"path\">", f);
        esc(f, r->base->path);
        fputs("</code>", f);
    }
    fputs("<br>producer ", f);
    esc(f, a->producer && a->producer[0] ? a->producer : "unknown");
    fprintf(f, " \xC2\xB7 ONNX IR version %lld \xC2\xB7 %s mode%s \xC2\xB7 rules ",
            (long long)a->ir_version, a->compat == WL_COMPAT_WW ? "--compat ww" : "default",
            a->fast ? " \xC2\xB7 <b>--fast (approximate)</b>" : "");
    esc(f, r->model.config ? r->model.config : "none");
    fprintf(f, " \xC2\xB7 weightlint %s</div></header>\n", wl_version());
}

static void verdict(FILE *f, const wl_html_report *r)
{
    wl_report rep = {
        .findings = r->model.findings, .min_severity = WL_SEV_INFO, .fail_on = r->fail_on};
    wl_report_counts c;
    if (r->model.findings)
        wl_report_count(&rep, &c);
    else
        memset(&c, 0, sizeof c);
    const char *cls = c.failing ? "fail" : c.shown ? "warn" : "pass";
    fprintf(f, "<div class=\"verdict %s\" id=\"verdict\">", cls);
    if (c.failing)
        fprintf(f, "Fails <code>weightlint check --fail-on %s</code>: %zu finding%s at or above %s",
                wl_severity_name(r->fail_on), c.failing, c.failing == 1 ? "" : "s",
                wl_severity_name(r->fail_on));
    else if (c.shown)
        fprintf(f, "Passes <code>--fail-on %s</code>, with findings below it",
                wl_severity_name(r->fail_on));
    else
        fputs("No findings", f);
    fprintf(f, "</div>\n<p>%zu finding%s: %zu error%s, %zu warning%s, %zu info", c.shown,
            c.shown == 1 ? "" : "s", c.by_severity[WL_SEV_ERROR],
            c.by_severity[WL_SEV_ERROR] == 1 ? "" : "s", c.by_severity[WL_SEV_WARNING],
            c.by_severity[WL_SEV_WARNING] == 1 ? "" : "s", c.by_severity[WL_SEV_INFO]);
    if (c.suppressed)
        fprintf(f, " (%zu suppressed by the rules file)", c.suppressed);
    fputs(".</p>\n", f);
}

static void summary_row(FILE *f, const char *name, const char *doc, double v, int has_base,
                        double b)
{
    fprintf(f, "<tr><td>%s <span class=\"meta\">%s</span></td>", name, doc);
    num_cell(f, v);
    if (has_base) {
        num_cell(f, b);
        double d = v - b;
        fputs("<td class=\"n\">", f);
        if (isfinite(d))
            fprintf(f, "%s%.4f", d > 0 ? "+" : "", d);
        else
            fputs("\xE2\x80\x94", f);
        fputs("</td>", f);
    }
    fputs("</tr>\n", f);
}

static void summary(FILE *f, const wl_html_report *r)
{
    const wl_summary *s = &r->model.analysis->summary;
    const wl_summary *b = r->base ? &r->base->analysis->summary : NULL;
    int hb = b != NULL;
    fprintf(f,
            "<h2 id=\"summary\">Model summary</h2>\n<table class=\"summary\"><thead><tr><th>"
            "mean over the analyzed layers</th><th>%s</th>",
            hb ? "candidate" : "value");
    if (hb)
        fputs("<th>base</th><th>\xCE\x94</th>", f);
    fputs("</tr></thead><tbody>\n", f);
    summary_row(f, "\xCE\xB1",
                "power-law exponent (2\xE2\x80\x93"
                "6 well trained)",
                s->alpha, hb, hb ? b->alpha : NAN);
    summary_row(f, "\xCE\xB1\xCC\x82", "weighted \xCE\xB1 = \xCE\xB1 log10 \xCE\xBBmax",
                s->alpha_weighted, hb, hb ? b->alpha_weighted : NAN);
    summary_row(f, "log_norm", "log10 \xE2\x80\x96W\xE2\x80\x96\xC2\xB2_F", s->log_norm, hb,
                hb ? b->log_norm : NAN);
    summary_row(f, "log_spectral_norm", "log10 \xCE\xBBmax", s->log_spectral_norm, hb,
                hb ? b->log_spectral_norm : NAN);
    summary_row(f, "log_alpha_norm", "log10 \xCE\xA3 \xCE\xBB^\xCE\xB1", s->log_alpha_norm, hb,
                hb ? b->log_alpha_norm : NAN);
    summary_row(f, "stable_rank", "\xE2\x80\x96W\xE2\x80\x96\xC2\xB2_F / \xCE\xBBmax",
                s->stable_rank, hb, hb ? b->stable_rank : NAN);
    if (s->has_mp_softrank || (hb && b->has_mp_softrank))
        summary_row(f, "mp_softrank", "\xCE\xBB+ / \xCE\xBBmax (\xE2\x89\x88 1: random-like)",
                    s->has_mp_softrank ? s->mp_softrank : NAN, hb,
                    hb && b->has_mp_softrank ? b->mp_softrank : NAN);
    fputs("</tbody></table>\n", f);
}

static void coverage_one(FILE *f, const char *what, const wl_analysis *a)
{
    wl_report_coverage c;
    wl_report_coverage_of(a, &c);
    char reasons[512];
    wl_report_reasons_str(&c, reasons, sizeof reasons);
    fprintf(f, "<p><b>%s</b>: %zu tensors: <b>%zu analyzed</b>, %zu skipped%s", what, c.tensors,
            c.analyzed, c.skipped, c.skipped ? " (" : "");
    if (c.skipped) {
        esc(f, reasons);
        fputs(")", f);
    }
    char params[128];
    wl_report_params_str(a, params, sizeof params);
    fprintf(f, ", %zu fit failed, %zu non-finite; %s.</p>\n", c.fit_failed, c.nonfinite, params);
    if (a->n_skipped) {
        fprintf(f,
                "<details><summary>%zu skipped tensor%s</summary><table><thead><tr><th>"
                "tensor</th><th>shape</th><th>dtype</th><th>reason</th></tr></thead><tbody>\n",
                a->n_skipped, a->n_skipped == 1 ? "" : "s");
        for (size_t i = 0; i < a->n_skipped; i++) {
            const wl_skipped *s = &a->skipped[i];
            char shape[128];
            wl_report_shape_str(s->shape, s->rank, shape, sizeof shape);
            fputs("<tr><td>", f);
            esc(f, s->name);
            fputs("</td><td>", f);
            esc(f, shape);
            fputs("</td><td>", f);
            esc(f, s->dtype ? s->dtype : "");
            fputs("</td><td>", f);
            esc(f, s->reason);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table></details>\n", f);
    }
}

static void coverage(FILE *f, const wl_html_report *r)
{
    fputs("<h2 id=\"coverage\">Coverage</h2>\n<div class=\"card\">\n", f);
    coverage_one(f, r->base ? "candidate" : "model", r->model.analysis);
    if (r->base)
        coverage_one(f, "base", r->base->analysis);
    if (r->base && r->cmp) { /* how the layers were paired, and which were not */
        char line[600];
        wl_compare_matching_line(r->cmp, line, sizeof line);
        fputs("<p><b>Layers matched:</b> ", f);
        esc(f, line);
        fputs(".</p>\n", f);
        int any = 0;
        for (size_t i = 0; i < r->cmp->n_layers; i++) {
            const wl_cmp_layer *l = &r->cmp->layers[i];
            if (l->match != WL_CMP_ADDED && l->match != WL_CMP_REMOVED && !l->is_reshaped)
                continue;
            fputs(any ? "" : "<p>Not matched:</p><ul class=\"meta\">", f);
            any = 1;
            fputs("<li>", f);
            fputs(l->is_reshaped ? "reshaped " : l->match == WL_CMP_REMOVED ? "base only " : "candidate only ", f);
            fputs("<code>", f);
            esc(f, l->base ? l->base->id : l->cand->id);
            fputs("</code></li>", f);
        }
        if (any)
            fputs("</ul>\n", f);
    }
    fputs("</div>\n", f);
}

/* Findings sorted by severity (highest first), then in the rules engine's order. */
typedef struct fsort {
    const wl_finding *f;
    size_t k;
} fsort;

static int cmp_fsort(const void *a, const void *b)
{
    const fsort *x = a, *y = b;
    if (x->f->severity != y->f->severity)
        return x->f->severity > y->f->severity ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

/* The row of cmp whose candidate (side 1) or base (side 0) layer is l, or NULL. */
static const wl_cmp_layer *row_of(const wl_comparison *cmp, const wl_layer *l, int side)
{
    for (size_t i = 0; cmp && l && i < cmp->n_layers; i++)
        if ((side ? cmp->layers[i].cand : cmp->layers[i].base) == l)
            return &cmp->layers[i];
    return NULL;
}

/* The base layer paired with candidate layer l, or NULL. */
static const wl_layer *base_of(const wl_comparison *cmp, const wl_layer *l)
{
    const wl_cmp_layer *row = row_of(cmp, l, 1);
    return row ? row->base : NULL;
}

/* A link to the page section of finding k of v: the candidate's layer-N, or for a base finding
 * the candidate layer with the same id, else the base-only section base-layer-N. */
static void layer_link(FILE *f, const model_view *v, const model_view *cand, size_t k)
{
    const wl_finding *x = &v->m->findings->items[k];
    size_t i = v->finding_layer[k];
    const char *prefix = "layer-";
    if (i != (size_t)-1 && v != cand) {
        const wl_analysis *ca = cand->m->analysis;
        const wl_cmp_layer *row = row_of(v->cmp, &v->m->analysis->layers[i], 0);
        if (row && row->cand)
            i = (size_t)(row->cand - ca->layers);
        else
            prefix = "base-layer-";
    }
    if (i != (size_t)-1)
        fprintf(f, "<a href=\"#%s%zu\">", prefix, i);
    esc(f, x->layer ? x->layer : "(model)");
    if (i != (size_t)-1)
        fputs("</a>", f);
}

static wl_status findings_table(FILE *f, const model_view *v, const model_view *cand,
                                unsigned *fired, wl_err *err)
{
    const wl_findings *fs = v->m->findings;
    size_t n = 0, n_sup = 0;
    for (size_t k = 0; fs && k < fs->n; k++) {
        if (shown(&fs->items[k]))
            n++;
        else if (fs->items[k].suppressed)
            n_sup++;
    }
    if (n == 0) {
        fputs("<p>No findings.</p>\n", f);
    } else {
        fsort *s = malloc(n * sizeof *s);
        if (!s)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory sorting %zu findings", n);
        size_t j = 0;
        for (size_t k = 0; k < fs->n; k++)
            if (shown(&fs->items[k]))
                s[j++] = (fsort){&fs->items[k], k};
        qsort(s, n, sizeof *s, cmp_fsort);
        fputs("<table class=\"findings sortable\"><thead><tr><th data-type=\"num\">severity</th>"
              "<th>rule</th><th>layer</th><th>finding</th></tr></thead><tbody>\n",
              f);
        for (size_t q = 0; q < n; q++) {
            const wl_finding *x = s[q].f;
            const wl_rule_info *ri = wl_rule_info_get(x->rule);
            fired[x->rule / 32] |= 1u << (x->rule % 32);
            fprintf(f, "<tr class=\"sev-%d\"><td data-v=\"%d\">", (int)x->severity,
                    (int)x->severity);
            sev_badge(f, x->severity);
            fputs("</td><td title=\"", f), esc(f, ri ? ri->summary : ""); /* hover: summary */
            fprintf(f, "\"><a href=\"#rule-%s\">%s</a> %s</td><td>", x->code, x->code, x->name);
            layer_link(f, v, cand, s[q].k);
            fputs("</td><td>", f);
            esc(f, x->message);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
        free(s);
    }
    if (n_sup) {
        fprintf(f, "<details><summary>%zu suppressed finding%s</summary><ul>\n", n_sup,
                n_sup == 1 ? "" : "s");
        for (size_t k = 0; k < fs->n; k++) {
            const wl_finding *x = &fs->items[k];
            if (!x->suppressed)
                continue;
            fprintf(f, "<li>%s ", x->code);
            esc(f, x->layer ? x->layer : "(model)");
            fputs(": ", f);
            esc(f, x->message);
            fputs(" \xE2\x80\x94 <i>", f);
            esc(f, x->suppressed);
            fputs("</i></li>\n", f);
        }
        fputs("</ul></details>\n", f);
    }
    return WL_OK;
}

static void explanations(FILE *f, const unsigned *fired)
{
    unsigned any = 0;
    for (size_t i = 0; i < WL_RULE_COUNT; i++)
        any |= (fired[i / 32] >> (i % 32)) & 1u;
    if (!any)
        return;
    fputs("<h2 id=\"rules\">What the findings mean</h2>\n", f);
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        if (!((fired[i / 32] >> (i % 32)) & 1u))
            continue;
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        fprintf(f, "<div class=\"card explain\" id=\"rule-%s\"><h3>%s %s</h3><p><b>", ri->code,
                ri->code, ri->name);
        esc(f, ri->summary);
        fputs("</b></p>\n", f);
        explain_html(f, ri->explain);
        fputs("</div>\n", f);
    }
}

static wl_status alpha_charts(FILE *f, const wl_html_report *r, const model_view *bv, wl_err *err)
{
    const wl_analysis *a = r->model.analysis;
    size_t n = a->n_layers;
    size_t cap = n ? n : 1;
    const char **names = malloc(cap * sizeof *names);
    double *va = malloc(cap * sizeof *va), *vw = malloc(cap * sizeof *vw);
    double *ba = malloc(cap * sizeof *ba), *bw = malloc(cap * sizeof *bw);
    wl_status st = WL_OK;
    if (!names || !va || !vw || !ba || !bw) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the alpha chart (%zu layers)", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const wl_layer *l = &a->layers[i];
        names[i] = l->name ? l->name : "";
        va[i] = alpha_of(l);
        vw[i] = alpha_w_of(l);
        ba[i] = bw[i] = NAN;
        const wl_layer *b = bv ? base_of(r->cmp, l) : NULL;
        if (b) {
            ba[i] = alpha_of(b);
            bw[i] = alpha_w_of(b);
        }
    }
    wl_plot_series sa[2] = {{"\xCE\xB1", va, "#4c78a8", 0}, {"\xCE\xB1 (base)", ba, "#4c78a8", 1}};
    wl_plot_series sw[2] = {{"\xCE\xB1\xCC\x82", vw, "#e45756", 0},
                            {"\xCE\xB1\xCC\x82 (base)", bw, "#e45756", 1}};
    wl_plot_opts o = {.width = 1180, .height = n <= 40 ? 330 : 280};
    fputs("<h2 id=\"alpha\">\xCE\xB1 and \xCE\xB1\xCC\x82 per layer, in depth order</h2>\n"
          "<div class=\"card chart\">\n",
          f);
    wl_err perr;
    wl_err_clear(&perr);
    st = plot_status(wl_plot_depth_svg(f, "power-law exponent \xCE\xB1 per layer", names, n, sa,
                                       bv ? 2 : 1, 1, &o, &perr),
                     &perr, err);
    if (st == WL_OK)
        st = plot_status(
            wl_plot_depth_svg(f, "weighted \xCE\xB1\xCC\x82 = \xCE\xB1 log10 \xCE\xBBmax per layer",
                              names, n, sw, bv ? 2 : 1, 0, &o, &perr),
            &perr, err);
    fputs("</div>\n", f);
out:
    free(names);
    free(va);
    free(vw);
    free(ba);
    free(bw);
    return st;
}

/* Layer table rows in the order: worst severity first, then depth. */
typedef struct lsort {
    int worst;
    size_t i;
} lsort;

static int cmp_lsort(const void *a, const void *b)
{
    const lsort *x = a, *y = b;
    if (x->worst != y->worst)
        return x->worst > y->worst ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void finding_codes(FILE *f, const model_view *v, size_t i)
{
    const wl_findings *fs = v->m->findings;
    int first = 1;
    for (size_t k = 0; fs && k < fs->n; k++) {
        const wl_finding *x = &fs->items[k];
        if (v->finding_layer[k] != i || !shown(x))
            continue;
        fprintf(f, "%s<span class=\"sev sev-%s\" title=\"", first ? "" : " ",
                wl_severity_name(x->severity));
        esc(f, x->message);
        fprintf(f, "\">%s</span>", x->code);
        first = 0;
    }
}

static wl_status layer_table(FILE *f, const wl_html_report *r, const model_view *cv,
                             const model_view *bv, wl_err *err)
{
    const wl_analysis *a = r->model.analysis;
    size_t n = a->n_layers;
    fputs("<h2 id=\"layers\">Layers</h2>\n", f);
    if (n == 0) {
        fputs("<p>No layer was analyzed (see Coverage).</p>\n", f);
        return WL_OK;
    }
    lsort *s = malloc(n * sizeof *s);
    if (!s)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory sorting %zu layers", n);
    for (size_t i = 0; i < n; i++)
        s[i] = (lsort){cv->worst[i], i};
    qsort(s, n, sizeof *s, cmp_lsort);
    fputs("<p class=\"meta\">Sorted by severity, then depth; click a column header to sort by "
          "it.</p>\n<table class=\"layers sortable\" id=\"layer-table\"><thead><tr>"
          "<th data-type=\"num\">#</th><th>layer</th><th>shape</th><th>op</th>"
          "<th data-type=\"num\">\xCE\xB1</th>",
          f);
    if (bv)
        fputs("<th data-type=\"num\">\xCE\xB1 base</th><th data-type=\"num\">\xCE\x94\xCE\xB1</th>"
              "<th>match</th>",
              f);
    fputs("<th data-type=\"num\">\xCE\xB1\xCC\x82</th><th data-type=\"num\">D</th>"
          "<th data-type=\"num\">\xCE\xBBmax</th><th data-type=\"num\">tail</th>"
          "<th data-type=\"num\">spikes</th><th data-type=\"num\">mp_softrank</th>"
          "<th>phase</th><th data-type=\"num\">findings</th></tr></thead><tbody>\n",
          f);
    for (size_t q = 0; q < n; q++) {
        size_t i = s[q].i;
        const wl_layer *l = &a->layers[i];
        char shape[128];
        wl_report_shape_str(l->shape, l->rank, shape, sizeof shape);
        fprintf(f, "<tr class=\"sev-%d\">", cv->worst[i]);
        int_cell(f, (long long)i);
        fprintf(f, "<td><a href=\"#layer-%zu\">", i);
        esc(f, l->name);
        fputs("</a></td><td>", f);
        esc(f, shape);
        fputs("</td><td>", f);
        esc(f, l->op_type ? l->op_type : l->layer_type);
        fputs("</td>", f);
        double al = alpha_of(l);
        alpha_cell(f, al, l);
        if (bv) {
            const wl_cmp_layer *row = row_of(r->cmp, l, 1);
            double b = row && row->base ? alpha_of(row->base) : NAN;
            alpha_cell(f, b, row ? row->base : NULL);
            num_cell(f, al - b);
            fprintf(f, "<td>%s</td>",
                    !row ? "-" : row->is_reshaped ? "reshaped" : wl_cmp_match_name(row->match));
        }
        num_cell(f, alpha_w_of(l));
        num_cell(f, l->status == WL_LAYER_SUCCESS ? l->D : NAN);
        num_cell(f, l->status == WL_LAYER_NONFINITE ? NAN : l->lambda_max);
        int_cell(f, l->status == WL_LAYER_SUCCESS ? (long long)l->num_pl_spikes : -1);
        int_cell(f, l->has_mp && l->bulk_max > 0 ? (long long)l->num_spikes : -1);
        num_cell(f, l->has_mp && l->bulk_max > 0 ? l->mp_softrank : NAN);
        fprintf(f, "<td data-v=\"%s\">", l->phase ? l->phase : "~");
        phase_badge(f, l->phase);
        fprintf(f, "</td><td data-v=\"%d.%04zu\">", cv->worst[i], cv->n_findings[i]);
        finding_codes(f, cv, i);
        if (l->status == WL_LAYER_NONFINITE)
            fputs(" non-finite", f);
        else if (l->status == WL_LAYER_FIT_FAILED)
            fputs(" fit failed", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    free(s);
    return WL_OK;
}

static void layer_facts(FILE *f, const wl_layer *l)
{
    char shape[128];
    wl_report_shape_str(l->shape, l->rank, shape, sizeof shape);
    fputs("<dl class=\"kv meta\"><dt>id</dt><dd><code>", f);
    esc(f, key_of(l));
    fputs("</code></dd><dt>shape</dt><dd>", f);
    esc(f, shape);
    fprintf(f, " %s %s, %lld eigenvalues (N = %lld, M = %lld, Q = %.3f)", l->dtype ? l->dtype : "",
            l->layer_type ? l->layer_type : "", (long long)l->num_evals, (long long)l->N,
            (long long)l->M, l->Q);
    if (l->dequantized)
        fputs(", dequantized", f);
    fputs("</dd>", f);
    if (l->node_name || l->op_type) {
        fputs("<dt>node</dt><dd>", f);
        esc(f, l->node_name ? l->node_name : "");
        fputs(" (", f);
        esc(f, l->op_type ? l->op_type : "?");
        fputs(")</dd>", f);
    }
    if (l->status != WL_LAYER_SUCCESS && l->status_reason[0]) {
        fputs("<dt>status</dt><dd>", f);
        esc(f, l->status_reason);
        fputs("</dd>", f);
    }
    fputs("</dl>\n", f);
}

static void layer_findings(FILE *f, const model_view *v, size_t i)
{
    const wl_findings *fs = v->m->findings;
    if (v->n_findings[i] == 0)
        return;
    fputs("<ul class=\"findings\">", f);
    for (size_t k = 0; fs && k < fs->n; k++) {
        const wl_finding *x = &fs->items[k];
        if (v->finding_layer[k] != i || !shown(x))
            continue;
        fputs("<li>", f);
        sev_badge(f, x->severity);
        fprintf(f, " <a href=\"#rule-%s\">%s</a> ", x->code, x->code);
        esc(f, x->message);
        fputs("</li>", f);
    }
    fputs("</ul>\n", f);
}

static void missing(FILE *f, const char *what)
{
    fprintf(f, "<div class=\"missing\">%s</div>\n", what);
}

static wl_status layer_plots(FILE *f, const wl_html_report *r, const model_view *cv,
                             const model_view *bv, wl_err *err)
{
    const wl_analysis *a = r->model.analysis;
    wl_status st = WL_OK;
    wl_err perr;
    wl_err_clear(&perr);
    fputs("<h2 id=\"plots\">Layers in depth order: empirical spectral densities</h2>\n"
          "<p class=\"meta\">Left: the ESD of W\xE1\xB5\x80W on log-log axes with the power law "
          "fitted from xmin (the straight line; its slope is \xE2\x88\x92\xCE\xB1). Right: the "
          "same ESD on linear axes with the fitted Marchenko\xE2\x80\x93Pastur density, the "
          "spectrum of a random matrix, and its bulk edge \xCE\xBB+; eigenvalues far beyond "
          "\xCE\xBB+ are learned structure (spikes). The green outline, when present, is the ESD "
          "of the same weights shuffled (<code>--randomize</code>).",
          f);
    if (bv)
        fputs(" Base and candidate share axes so their shapes compare directly (linear axes only "
              "when their spectra have a similar extent).",
              f);
    fputs("</p>\n<div id=\"layer-plots\">\n", f);
    for (size_t i = 0; i < a->n_layers && st == WL_OK && !ferror(f); i++) {
        const wl_layer *l = &a->layers[i];
        const wl_layer *b = NULL;
        if (bv)
            b = base_of(r->cmp, l);
        fprintf(f, "<section class=\"card layer sev-%d\" id=\"layer-%zu\"><h3>%zu. ", cv->worst[i],
                i, i);
        esc(f, l->name);
        fputs(" ", f);
        phase_badge(f, l->phase);
        fputs("</h3>\n", f);
        layer_facts(f, l);
        layer_findings(f, cv, i);
        if (!bv) {
            fputs("<div class=\"plots\">\n", f);
            st = plot_status(wl_plot_esd_svg(f, l, WL_PLOT_LOGLOG, NULL, &perr), &perr, err);
            if (st == WL_OK)
                st = plot_status(wl_plot_esd_svg(f, l, WL_PLOT_LINEAR, NULL, &perr), &perr, err);
            fputs("</div>\n", f);
        } else {
            fputs("<div class=\"plots compare\">\n<div class=\"side\">base</div>"
                  "<div class=\"side\">candidate</div>\n",
                  f);
            for (int k = 0; k < 2 && st == WL_OK; k++) {
                wl_plot_kind kind = k == 0 ? WL_PLOT_LOGLOG : WL_PLOT_LINEAR;
                wl_plot_range rc, rb, *shared = NULL;
                int has_c = wl_plot_esd_range(l, kind, &rc);
                int has_b = b && wl_plot_esd_range(b, kind, &rb);
                /* shared axes make shapes comparable; on linear axes only when the spectra
                 * have a similar extent, else one of them would be squeezed into a bar */
                double ratio = has_c && has_b ? rc.x1 / rb.x1 : 0;
                if (has_c && has_b &&
                    (kind == WL_PLOT_LOGLOG ||
                     (ratio <= SHARE_RATIO && ratio >= 1 / SHARE_RATIO))) {
                    wl_plot_range_union(&rc, &rb);
                    shared = &rc;
                }
                wl_plot_opts ob = {.label = "base", .range = shared};
                wl_plot_opts oc = {.label = "candidate", .range = shared};
                if (b)
                    st = plot_status(wl_plot_esd_svg(f, b, kind, &ob, &perr), &perr, err);
                else
                    missing(f, "no layer of the base model pairs with this one");
                if (st == WL_OK)
                    st = plot_status(wl_plot_esd_svg(f, l, kind, &oc, &perr), &perr, err);
            }
            fputs("</div>\n", f);
        }
        fputs("</section>\n", f);
    }
    fputs("</div>\n", f);
    if (st == WL_OK && bv) {
        /* base layers the candidate does not have */
        const wl_analysis *ba = r->base->analysis;
        int any = 0;
        for (size_t j = 0; j < ba->n_layers && st == WL_OK; j++) {
            const wl_layer *b = &ba->layers[j];
            const wl_cmp_layer *row = row_of(r->cmp, b, 0);
            if (row && row->cand)
                continue;
            if (!any)
                fputs("<h2 id=\"base-only\">Layers only in the base model</h2>\n", f);
            any = 1;
            fprintf(f, "<section class=\"card layer\" id=\"base-layer-%zu\"><h3>", j);
            esc(f, b->name);
            fputs("</h3>\n", f);
            layer_facts(f, b);
            fputs("<div class=\"plots\">\n", f);
            wl_plot_opts ob = {.label = "base"};
            st = plot_status(wl_plot_esd_svg(f, b, WL_PLOT_LOGLOG, &ob, &perr), &perr, err);
            if (st == WL_OK)
                st = plot_status(wl_plot_esd_svg(f, b, WL_PLOT_LINEAR, &ob, &perr), &perr, err);
            fputs("</div></section>\n", f);
        }
    }
    return st;
}

wl_status wl_report_html_write(FILE *f, const wl_html_report *r, wl_err *err)
{
    model_view cv, bv;
    int has_b = r->base != NULL;
    unsigned fired[(WL_RULE_COUNT + 31) / 32] = {0};
    wl_status st = WL_OK;
    memset(&bv, 0, sizeof bv);
    if (view_init(&cv, &r->model) != 0)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory indexing the layers of %s", r->model.path);
    if (has_b && view_init(&bv, r->base) != 0) {
        view_free(&cv);
        return WL_FAIL(err, WL_E_NOMEM, "out of memory indexing the layers of %s", r->base->path);
    }
    cv.cmp = bv.cmp = r->cmp;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"weightlint\">\n<title>weightlint: ",
          f);
    esc(f, r->model.path);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body><main>\n", css);
    header(f, r);
    verdict(f, r);
    fputs("<nav class=\"meta\"><a href=\"#summary\">summary</a> \xC2\xB7 <a href=\"#coverage\">"
          "coverage</a> \xC2\xB7 <a href=\"#findings\">findings</a> \xC2\xB7 <a href=\"#alpha\">"
          "\xCE\xB1 chart</a> \xC2\xB7 <a href=\"#layers\">layers</a> \xC2\xB7 <a href=\"#plots\">"
          "plots</a></nav>\n",
          f);
    summary(f, r);
    coverage(f, r);
    fputs("<h2 id=\"findings\">Findings</h2>\n", f);
    st = findings_table(f, &cv, &cv, fired, err);
    if (st == WL_OK && has_b) {
        unsigned base_fired[(WL_RULE_COUNT + 31) / 32] = {0};
        fputs("<details><summary>Findings of the base model</summary>\n", f);
        st = findings_table(f, &bv, &cv, base_fired, err);
        fputs("</details>\n", f);
        for (size_t i = 0; i < sizeof fired / sizeof fired[0]; i++)
            fired[i] |= base_fired[i];
    }
    if (st == WL_OK)
        explanations(f, fired);
    if (st == WL_OK)
        st = alpha_charts(f, r, has_b ? &bv : NULL, err);
    if (st == WL_OK)
        st = layer_table(f, r, &cv, has_b ? &bv : NULL, err);
    if (st == WL_OK)
        st = layer_plots(f, r, &cv, has_b ? &bv : NULL, err);
    fprintf(f,
            "<footer>Generated by weightlint %s. Theory: Martin &amp; Mahoney, "
            "<i>Implicit Self-Regularization in Deep Neural Networks</i>, JMLR 22(165), 2021; "
            "metrics as WeightWatcher 0.7.5.5.</footer>\n</main>\n<script>%s</script>\n"
            "</body></html>\n",
            wl_version(), script);
    view_free(&cv);
    view_free(&bv);
    if (st == WL_OK && (fflush(f) != 0 || ferror(f)))
        st = WL_FAIL(err, WL_E_IO, "cannot write the HTML report: %s", strerror(errno));
    return st;
}
