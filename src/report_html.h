/*
 * report_html.h — `weightlint report`: one self-contained HTML file per model (no network
 * access needed to view it: inline CSS, inline SVG plots, a small inline sorting script, and a
 * Content-Security-Policy that forbids every fetch). It holds the model summary and coverage,
 * the findings of the rules engine with their explanations (rules.h), a layer table pre-sorted
 * by severity and sortable by any column, α and α̂ per layer in depth order, and each layer's
 * ESD plots (plot_svg.h); with a base model, the base and candidate plots of each layer side by
 * side on shared axes. docs/report.md describes the page.
 *
 * Every string that comes from the model (names, ids, ops, producer, paths, messages that quote
 * them) is escaped with wl_markup_escape.
 */
#ifndef WL_REPORT_HTML_H
#define WL_REPORT_HTML_H

#include "compare.h"
#include "report.h"
#include "rules.h"
#include "weightlint.h"

#include <stdio.h>

/* One model of the page. The analysis must have been made with keep_evals (for the plots;
 * without it the plots say the eigenvalues were not kept). */
typedef struct wl_html_model {
    const char *path;            /* as given on the command line */
    const char *config;          /* the rules source that applied ("preset:default", a path) */
    const wl_analysis *analysis; /* never NULL */
    const wl_findings *findings; /* this model's findings (wl_rules_eval), may be NULL */
} wl_html_model;

typedef struct wl_html_report {
    wl_html_model model;       /* the candidate */
    const wl_html_model *base; /* --compare BASE, or NULL */
    wl_severity fail_on;       /* for the verdict: would `check --fail-on` fail? */
    const wl_comparison *cmp;  /* with base: base vs model by compare's matcher (compare.h),
                                  borrowed; NULL pairs nothing */
} wl_html_report;

/*
 * Writes the page to f. Layers of the base are paired with the candidate's as r->cmp pairs them
 * (the matcher of `weightlint compare`: id, graph place, name, shape and graph order). Fails with WL_E_IO when f reports a write error and WL_E_NOMEM when
 * the page's index tables cannot be allocated. Deterministic: the same input gives the same
 * bytes (no timestamps).
 */
WL_NODISCARD wl_status wl_report_html_write(FILE *f, const wl_html_report *r, wl_err *err);

#endif
