/*
 * report_text.c — the terminal report of `weightlint check`, in the linter style users know
 * (ruff, shellcheck): one "location: severity CODE name: message" line per finding, then the
 * metrics behind it (alpha, D, tail size, xmin: the fit quality, so a reviewer can tell a bad
 * layer from a bad fit), a coverage line per model and a one-line summary. Numbers are printed
 * with fixed precision so golden files do not churn. ANSI colours only when r->color.
 */
#include "report.h"

#include <string.h>

typedef struct style {
    const char *sev[4], *bold, *dim, *reset;
} style;

static const style plain = {{"", "", "", ""}, "", "", ""};
static const style ansi = {{"", "\033[36m", "\033[33m", "\033[1;31m"}, "\033[1m", "\033[2m",
                           "\033[0m"};

static void fit_line(FILE *f, const wl_report *r, const wl_finding *x, const style *s)
{
    char a[24], d[24], xm[24], shape[64] = "";
    const wl_layer *l = wl_report_layer_of(r, x);
    if (!x->layer)
        return;
    fprintf(f, "    %s", s->dim);
    if (!x->has_fit)
        fputs("no spectrum (non-finite weights)", f);
    else if (x->num_pl_spikes < 0)
        fprintf(f, "fit failed (alpha %g), %lld eigenvalues", x->alpha, (long long)x->num_evals);
    else {
        wl_report_num(x->alpha, a, sizeof a);
        wl_report_num(x->D, d, sizeof d);
        wl_report_num(x->xmin, xm, sizeof xm);
        fprintf(f, "alpha %s, D %s, tail %lld of %lld eigenvalues, xmin %s", a, d,
                (long long)x->num_pl_spikes, (long long)x->num_evals, xm);
    }
    if (l)
        wl_report_shape_str(l->shape, l->rank, shape, sizeof shape);
    if (x->layer_type || shape[0])
        fprintf(f, " | %s%s%s", x->layer_type ? x->layer_type : "", shape[0] ? " " : "", shape);
    if (x->node)
        fprintf(f, " | node %s%s%s%s", x->node, x->op ? " (" : "", x->op ? x->op : "",
                x->op ? ")" : "");
    if (x->phase)
        fprintf(f, " | phase %s", x->phase);
    fprintf(f, "%s\n", s->reset);
}

static void finding(FILE *f, const wl_report *r, const wl_finding *x, const style *s)
{
    if (x->line > 0)
        fprintf(f, "%s:%d:%d: ", x->model, x->line, x->column);
    else if (x->layer && x->id && strcmp(x->id, x->layer) != 0)
        fprintf(f, "%s:%s [id %lld, %s]: ", x->model, x->layer, (long long)x->layer_id, x->id);
    else if (x->layer)
        fprintf(f, "%s:%s [id %lld]: ", x->model, x->layer, (long long)x->layer_id);
    else
        fprintf(f, "%s: ", x->model);
    fprintf(f, "%s%s%s %s%s%s %s: %s\n", s->sev[x->severity], wl_severity_name(x->severity),
            s->reset, s->bold, x->code, s->reset, x->name, x->message);
    fit_line(f, r, x, s);
}

static void coverage(FILE *f, const wl_report_model *m, const style *s)
{
    if (!m->analysis) {
        fprintf(f, "%s: %snot analyzed%s (%s): %s\n", m->path, s->sev[WL_SEV_ERROR], s->reset,
                wl_status_name(m->status), m->error ? m->error : "");
        return;
    }
    wl_report_coverage c;
    char reasons[256], params[128];
    wl_report_coverage_of(m->analysis, &c);
    wl_report_reasons_str(&c, reasons, sizeof reasons);
    wl_report_params_str(m->analysis, params, sizeof params);
    fprintf(f, "%s%s: %zu tensors: %zu analyzed, %zu skipped%s%s%s, %zu fit failed, %zu "
               "non-finite; %s; rules: %s%s\n",
            s->dim, m->path, c.tensors, c.analyzed, c.skipped, c.n_reasons ? " (" : "", reasons,
            c.n_reasons ? ")" : "", c.fit_failed, c.nonfinite, params,
            m->config ? m->config : "-", s->reset);
}

static int in_model(const wl_finding *x, const wl_report_model *m)
{
    return x->line == 0 && x->model && strcmp(x->model, m->path) == 0;
}

void wl_report_write_text(FILE *f, const wl_report *r)
{
    const style *s = r->color ? &ansi : &plain;
    size_t printed = 0, hidden = 0;
    const wl_findings *fs = r->findings;
    for (size_t m = 0; m < r->n_models; m++) {
        coverage(f, &r->models[m], s);
        /* findings of this model; with a repeated path, only under its first occurrence */
        size_t first = 0;
        while (strcmp(r->models[first].path, r->models[m].path) != 0)
            first++;
        if (first != m)
            continue;
        for (size_t i = 0; fs && i < fs->n; i++) {
            const wl_finding *x = &fs->items[i];
            if (!in_model(x, &r->models[m]) || !wl_report_is_shown(r, x))
                continue;
            if (r->max_findings && printed >= r->max_findings) {
                hidden++;
                continue;
            }
            finding(f, r, x, s);
            printed++;
        }
    }
    /* findings about rules files (WL001) */
    for (size_t i = 0; fs && i < fs->n; i++) {
        const wl_finding *x = &fs->items[i];
        if (x->line == 0 || !wl_report_is_shown(r, x))
            continue;
        if (r->max_findings && printed >= r->max_findings) {
            hidden++;
            continue;
        }
        finding(f, r, x, s);
        printed++;
    }
    if (hidden)
        fprintf(f, "... %zu more finding%s not shown (--max-findings %zu)\n", hidden,
                hidden == 1 ? "" : "s", r->max_findings);

    wl_report_counts c;
    wl_report_count(r, &c);
    size_t n_failed_models = 0;
    for (size_t m = 0; m < r->n_models; m++)
        n_failed_models += r->models[m].analysis == NULL;
    if (c.shown)
        fprintf(f, "%sFound %zu finding%s (%zu error%s, %zu warning%s, %zu info)%s in %zu model%s",
                s->bold, c.shown, c.shown == 1 ? "" : "s", c.by_severity[WL_SEV_ERROR],
                c.by_severity[WL_SEV_ERROR] == 1 ? "" : "s", c.by_severity[WL_SEV_WARNING],
                c.by_severity[WL_SEV_WARNING] == 1 ? "" : "s", c.by_severity[WL_SEV_INFO],
                s->reset, r->n_models, r->n_models == 1 ? "" : "s");
    else
        fprintf(f, "%sNo findings%s in %zu model%s", s->bold, s->reset, r->n_models,
                r->n_models == 1 ? "" : "s");
    fprintf(f, "; %zu at or above --fail-on %s", c.failing, wl_severity_name(r->fail_on));
    if (c.suppressed || c.baselined || c.below_severity) {
        const char *sep = "";
        fputs(" (", f);
        if (c.suppressed) {
            fprintf(f, "%zu suppressed", c.suppressed);
            sep = ", ";
        }
        if (c.baselined) {
            fprintf(f, "%s%zu in the baseline", sep, c.baselined);
            sep = ", ";
        }
        if (c.below_severity)
            fprintf(f, "%s%zu below --severity %s", sep, c.below_severity,
                    wl_severity_name(r->min_severity));
        fputc(')', f);
    }
    fputs(".\n", f);
    if (n_failed_models)
        fprintf(f, "%s%zu model%s could not be analyzed.%s\n", s->sev[WL_SEV_ERROR],
                n_failed_models, n_failed_models == 1 ? "" : "s", s->reset);
}
