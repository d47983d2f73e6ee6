/*
 * report_github.c — GitHub Actions workflow commands: one `::error|warning|notice file=...,
 * title=...::message` annotation per finding. GitHub shows at most 10 annotations per level
 * per step, so at most WL_REPORT_GITHUB_MAX_PER_LEVEL are written per level and a plain line
 * says how many were left out. Escaping follows the runner's rules: in messages % CR LF become
 * %25 %0D %0A; in property values also : and , (%3A, %2C). Coverage and the summary are plain
 * lines (they show in the log, not as annotations).
 */
#include "report.h"

#include <string.h>

void wl_report_github_escape(FILE *f, const char *s, int is_property)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '%':
            fputs("%25", f);
            break;
        case '\r':
            fputs("%0D", f);
            break;
        case '\n':
            fputs("%0A", f);
            break;
        case ':':
            fputs(is_property ? "%3A" : ":", f);
            break;
        case ',':
            fputs(is_property ? "%2C" : ",", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static const char *command_of(wl_severity s)
{
    return s == WL_SEV_ERROR ? "error" : s == WL_SEV_WARNING ? "warning" : "notice";
}

static void annotation(FILE *f, const wl_finding *x)
{
    char title[256], detail[256] = "";
    fprintf(f, "::%s file=", command_of(x->severity));
    wl_report_github_escape(f, x->model, 1);
    if (x->line > 0)
        fprintf(f, ",line=%d,col=%d", x->line, x->column);
    if (x->layer)
        snprintf(title, sizeof title, "%s %s (%s)", x->code, x->name, x->id ? x->id : x->layer);
    else
        snprintf(title, sizeof title, "%s %s", x->code, x->name);
    fputs(",title=", f);
    wl_report_github_escape(f, title, 1);
    fputs("::", f);
    if (x->layer) {
        wl_report_github_escape(f, x->layer, 0);
        fprintf(f, " [id %lld]: ", (long long)x->layer_id);
    }
    wl_report_github_escape(f, x->message, 0);
    if (x->has_fit && x->num_pl_spikes >= 0) {
        char a[24], d[24], xm[24];
        wl_report_num(x->alpha, a, sizeof a);
        wl_report_num(x->D, d, sizeof d);
        wl_report_num(x->xmin, xm, sizeof xm);
        snprintf(detail, sizeof detail, " (fit: alpha %s, D %s, tail %lld, xmin %s%s%s)", a, d,
                 (long long)x->num_pl_spikes, xm, x->phase ? "; phase " : "",
                 x->phase ? x->phase : "");
    }
    wl_report_github_escape(f, detail, 0);
    fputc('\n', f);
}

void wl_report_write_github(FILE *f, const wl_report *r)
{
    size_t written[4] = {0}, left_out[4] = {0};
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *x = &r->findings->items[i];
        if (!wl_report_is_shown(r, x))
            continue;
        if (written[x->severity] >= WL_REPORT_GITHUB_MAX_PER_LEVEL) {
            left_out[x->severity]++;
            continue;
        }
        annotation(f, x);
        written[x->severity]++;
    }
    for (int s = WL_SEV_ERROR; s >= WL_SEV_INFO; s--)
        if (left_out[s])
            fprintf(f,
                    "weightlint: %zu more %s annotation%s left out (GitHub shows at most %d per "
                    "level per step; use --format sarif or text for all)\n",
                    left_out[s], command_of((wl_severity)s), left_out[s] == 1 ? "" : "s",
                    WL_REPORT_GITHUB_MAX_PER_LEVEL);
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_report_model *rm = &r->models[m];
        if (!rm->analysis) {
            fputs("::error file=", f);
            wl_report_github_escape(f, rm->path, 1);
            fputs(",title=weightlint could not analyze the model::", f);
            wl_report_github_escape(f, rm->error ? rm->error : wl_status_name(rm->status), 0);
            fputc('\n', f);
            continue;
        }
        wl_report_coverage c;
        char reasons[256];
        wl_report_coverage_of(rm->analysis, &c);
        wl_report_reasons_str(&c, reasons, sizeof reasons);
        /* a plain line, but escaped too: a path holding a newline must not start a command */
        fputs("weightlint: ", f);
        wl_report_github_escape(f, rm->path, 0);
        fprintf(f, ": %zu tensors: %zu analyzed, %zu skipped%s%s%s, %zu fit failed, "
                   "%zu non-finite\n",
                c.tensors, c.analyzed, c.skipped, c.n_reasons ? " (" : "", reasons,
                c.n_reasons ? ")" : "", c.fit_failed, c.nonfinite);
    }
    wl_report_counts c;
    wl_report_count(r, &c);
    fprintf(f, "weightlint: %zu finding%s (%zu error%s, %zu warning%s, %zu info); %zu at or above "
               "--fail-on %s\n",
            c.shown, c.shown == 1 ? "" : "s", c.by_severity[WL_SEV_ERROR],
            c.by_severity[WL_SEV_ERROR] == 1 ? "" : "s", c.by_severity[WL_SEV_WARNING],
            c.by_severity[WL_SEV_WARNING] == 1 ? "" : "s", c.by_severity[WL_SEV_INFO], c.failing,
            wl_severity_name(r->fail_on));
}
