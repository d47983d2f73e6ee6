/*
 * report.h — the finding report writers of `weightlint check`: text (coloured on a terminal),
 * JSON (docs/report-json.md), SARIF 2.1.0, GitHub workflow commands, JUnit XML and Markdown.
 * One table of writers {name, write}; every writer gets the same wl_report and writes to a
 * caller-given FILE*. Every report carries the coverage of each model (tensors analyzed,
 * skipped by reason, failed) so that a run which analyzed nothing is never a silent pass.
 */
#ifndef WL_REPORT_H
#define WL_REPORT_H

#include "rules.h"
#include "weightlint.h"

#include <stdio.h>

#define WL_REPORT_JSON_SCHEMA_VERSION 1
#define WL_REPORT_GITHUB_MAX_PER_LEVEL 10 /* GitHub shows 10 annotations per level per step */

typedef enum wl_report_format {
    WL_REPORT_TEXT = 0,
    WL_REPORT_JSON,
    WL_REPORT_SARIF,
    WL_REPORT_GITHUB,
    WL_REPORT_JUNIT,
    WL_REPORT_MARKDOWN,
    WL_REPORT_N_FORMATS
} wl_report_format;

/* One model of a check run. */
typedef struct wl_report_model {
    const char *path;            /* as given on the command line */
    const char *config;          /* the rules source that applied ("preset:default", a path) */
    const wl_analysis *analysis; /* NULL when the model could not be analyzed */
    wl_status status;            /* WL_OK, or why the analysis failed */
    const char *error;           /* the failure's message, NULL on success */
} wl_report_model;

typedef struct wl_report {
    const wl_report_model *models;
    size_t n_models;
    const wl_findings *findings; /* every finding of the run, model order, then WL001 */
    wl_severity min_severity;    /* --severity: findings below are not reported */
    wl_severity fail_on;         /* --fail-on */
    size_t max_findings;         /* text/markdown: show at most this many (0 = all) */
    int color;                   /* text: ANSI colours */
    int has_baseline;            /* a --baseline was applied */
    int exit_code;               /* the run's exit code, recorded in JSON and SARIF */
} wl_report;

/* Parses "text", "json", "sarif", "github", "junit", "markdown" (also "md"); 0 or -1. */
int wl_report_format_parse(const char *s, wl_report_format *out);
const char *wl_report_format_name(wl_report_format f);

/* Writes the report in format fmt to f. Fails with WL_E_IO when f reports a write error. */
WL_NODISCARD wl_status wl_report_write(FILE *f, wl_report_format fmt, const wl_report *r,
                                       wl_err *err);

/* ---- the writers, one per file (report_<format>.c) ---- */
void wl_report_write_text(FILE *f, const wl_report *r);
void wl_report_write_json(FILE *f, const wl_report *r);
void wl_report_write_sarif(FILE *f, const wl_report *r);
void wl_report_write_github(FILE *f, const wl_report *r);
/* Writes s escaped for a GitHub workflow command (report_github.c; also compare's github
 * format): in messages % CR LF become %25 %0D %0A; in property values (is_property) also : and ,
 * (%3A, %2C). The one place that knows the runner's rules, so no writer can forge a command. */
void wl_report_github_escape(FILE *f, const char *s, int is_property);
void wl_report_write_junit(FILE *f, const wl_report *r);
void wl_report_write_markdown(FILE *f, const wl_report *r);

/* ---- shared by the writers (report_common.c) ---- */

/* A finding is reported when at or above min_severity, not suppressed and not baselined. */
int wl_report_is_shown(const wl_report *r, const wl_finding *f);
/* A reported finding at or above fail_on. */
int wl_report_is_failing(const wl_report *r, const wl_finding *f);

typedef struct wl_report_counts {
    size_t by_severity[4]; /* indexed by wl_severity, reported findings only */
    size_t shown, failing, suppressed, baselined, below_severity;
} wl_report_counts;
void wl_report_count(const wl_report *r, wl_report_counts *out);

/* Coverage of one analysis. */
typedef struct wl_report_coverage {
    size_t tensors, analyzed, skipped, fit_failed, nonfinite;
    size_t n_reasons;
    const char *reason[16]; /* skip reason codes, first-appearance order */
    size_t reason_count[16];
} wl_report_coverage;
void wl_report_coverage_of(const wl_analysis *a, wl_report_coverage *out);
/* Coverage by parameter count into buf: "analyzed 97.1 % of the weight parameters (12345 of
 * 12710)" (the share truncated, never rounded up to 100 %), or "no weight parameters". */
void wl_report_params_str(const wl_analysis *a, char *buf, size_t size);
/* "1 skipped (min_evals: 1)" style text of the skip reasons into buf: "min_evals: 1, rank: 2". */
void wl_report_reasons_str(const wl_report_coverage *c, char *buf, size_t size);

/* The analyzed layer a finding is about, or NULL. */
const wl_layer *wl_report_layer_of(const wl_report *r, const wl_finding *f);
/* "512x256" */
void wl_report_shape_str(const int64_t *shape, int rank, char *buf, size_t size);
/* s cut in the middle to at most width characters ("StatefulPar...conv2d_9/Conv2D:0"), so both
 * the scope and the tensor stay readable; s itself when it fits. Text tables only: JSON and CSV
 * keep full names. buf gets at most size - 1 bytes. */
void wl_report_ellipsize(const char *s, size_t width, char *buf, size_t size);
#define WL_REPORT_DEFAULT_WIDTH 132 /* text tables when the output is not a terminal */

/* Fixed-precision number for text reports: %.4f, scientific outside [1e-3, 1e6), inf/nan. */
void wl_report_num(double v, char *buf, size_t size);

#endif
