/*
 * report_markdown.c — a Markdown summary for pull-request comments and GitHub's job summary
 * ($GITHUB_STEP_SUMMARY): a headline with the counts, a findings table with the metrics behind
 * each finding (alpha, D, tail size, xmin), and a coverage table. Table cells escape '|' and
 * newlines; everything is plain ASCII.
 */
#include "report.h"

#include <string.h>

static void cell(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else if (*s == '`' || *s == '*' || *s == '_' || *s == '<' || *s == '>')
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
}

void wl_report_write_markdown(FILE *f, const wl_report *r)
{
    wl_report_counts c;
    wl_report_count(r, &c);
    fprintf(f, "## weightlint: %s\n\n",
            c.failing ? "failed" : c.shown ? "passed with findings" : "passed");
    fprintf(f, "**%zu** finding%s: %zu error%s, %zu warning%s, %zu info; %zu at or above "
               "`--fail-on %s`",
            c.shown, c.shown == 1 ? "" : "s", c.by_severity[WL_SEV_ERROR],
            c.by_severity[WL_SEV_ERROR] == 1 ? "" : "s", c.by_severity[WL_SEV_WARNING],
            c.by_severity[WL_SEV_WARNING] == 1 ? "" : "s", c.by_severity[WL_SEV_INFO], c.failing,
            wl_severity_name(r->fail_on));
    if (c.suppressed || c.baselined)
        fprintf(f, " (%zu suppressed, %zu in the baseline)", c.suppressed, c.baselined);
    fputs(".\n\n", f);

    if (c.shown) {
        fputs("| Severity | Rule | Model | Tensor (id) | Finding | alpha | D | tail | xmin |\n"
              "|---|---|---|---|---|---:|---:|---:|---:|\n",
              f);
        size_t printed = 0, hidden = 0;
        for (size_t i = 0; r->findings && i < r->findings->n; i++) {
            const wl_finding *x = &r->findings->items[i];
            if (!wl_report_is_shown(r, x))
                continue;
            if (r->max_findings && printed >= r->max_findings) {
                hidden++;
                continue;
            }
            printed++;
            fprintf(f, "| %s | %s %s | ", wl_severity_name(x->severity), x->code, x->name);
            cell(f, x->model);
            if (x->line > 0)
                fprintf(f, ":%d", x->line);
            fputs(" | ", f);
            if (x->layer) {
                cell(f, x->layer);
                fprintf(f, " (%lld", (long long)x->layer_id);
                if (x->id && strcmp(x->id, x->layer) != 0) {
                    fputs(", ", f);
                    cell(f, x->id);
                }
                fputc(')', f);
            }
            fputs(" | ", f);
            cell(f, x->message);
            if (x->has_fit && x->num_pl_spikes >= 0) {
                char a[24], d[24], xm[24];
                wl_report_num(x->alpha, a, sizeof a);
                wl_report_num(x->D, d, sizeof d);
                wl_report_num(x->xmin, xm, sizeof xm);
                fprintf(f, " | %s | %s | %lld | %s |\n", a, d, (long long)x->num_pl_spikes, xm);
            } else {
                fputs(" | | | | |\n", f);
            }
        }
        if (hidden)
            fprintf(f, "\n%zu more finding%s not shown (`--max-findings %zu`).\n", hidden,
                    hidden == 1 ? "" : "s", r->max_findings);
        fputc('\n', f);
    }

    fputs("### Coverage\n\n| Model | Tensors | Analyzed | Skipped | Fit failed | Non-finite | "
          "Rules |\n|---|---:|---:|---|---:|---:|---|\n",
          f);
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_report_model *rm = &r->models[m];
        fputs("| ", f);
        cell(f, rm->path);
        if (!rm->analysis) {
            fputs(" | not analyzed: ", f);
            cell(f, rm->error);
            fputs(" | | | | | |\n", f);
            continue;
        }
        wl_report_coverage cv;
        char reasons[256];
        wl_report_coverage_of(rm->analysis, &cv);
        wl_report_reasons_str(&cv, reasons, sizeof reasons);
        fprintf(f, " | %zu | %zu | %zu%s%s%s | %zu | %zu | ", cv.tensors, cv.analyzed, cv.skipped,
                cv.n_reasons ? " (" : "", reasons, cv.n_reasons ? ")" : "", cv.fit_failed,
                cv.nonfinite);
        cell(f, rm->config);
        fputs(" |\n", f);
    }
}
