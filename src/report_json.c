/*
 * report_json.c — the JSON report of `weightlint check` (schema documented in
 * docs/report-json.md, versioned by schema_version). Written with the streaming writer of
 * json_out.h: non-finite numbers are the strings "inf", "-inf", "nan". Suppressed and
 * baselined findings are included with their state, so a consumer sees what was hidden.
 */
#include "json_out.h"
#include "report.h"

#include <string.h>

static void key_str(wl_json *j, const char *k, const char *v)
{
    wl_json_key(j, k);
    wl_json_string(j, v);
}

static void key_int(wl_json *j, const char *k, int64_t v)
{
    wl_json_key(j, k);
    wl_json_int(j, v);
}

static void key_double(wl_json *j, const char *k, double v)
{
    wl_json_key(j, k);
    wl_json_double(j, v);
}

static void coverage(wl_json *j, const wl_analysis *a)
{
    wl_report_coverage c;
    wl_report_coverage_of(a, &c);
    wl_json_key(j, "coverage");
    wl_json_begin_object(j);
    key_int(j, "tensors", (int64_t)c.tensors);
    key_int(j, "analyzed", (int64_t)c.analyzed);
    key_int(j, "skipped", (int64_t)c.skipped);
    wl_json_key(j, "skipped_by_reason");
    wl_json_begin_object(j);
    for (size_t i = 0; i < c.n_reasons; i++)
        key_int(j, c.reason[i], (int64_t)c.reason_count[i]);
    wl_json_end_object(j);
    key_int(j, "fit_failed", (int64_t)c.fit_failed);
    key_int(j, "nonfinite", (int64_t)c.nonfinite);
    key_int(j, "weight_params", (int64_t)a->weight_params);
    key_int(j, "analyzed_params", (int64_t)a->analyzed_params);
    wl_json_end_object(j);
}

static void model(wl_json *j, const wl_report_model *m)
{
    wl_json_begin_object(j);
    key_str(j, "path", m->path);
    key_str(j, "config", m->config);
    key_str(j, "status", m->analysis ? "ok" : "error");
    wl_json_key(j, "error");
    if (m->analysis) {
        wl_json_null(j);
    } else {
        wl_json_begin_object(j);
        key_str(j, "kind", wl_status_name(m->status));
        key_str(j, "message", m->error ? m->error : "");
        key_int(j, "exit_code", wl_status_exit_code(m->status));
        wl_json_end_object(j);
    }
    if (m->analysis) {
        const wl_analysis *a = m->analysis;
        coverage(j, a);
        wl_json_key(j, "summary");
        wl_json_begin_object(j);
        key_int(j, "n_layers", (int64_t)a->summary.n_rows);
        key_double(j, "alpha", a->summary.alpha);
        key_double(j, "alpha_weighted", a->summary.alpha_weighted);
        key_double(j, "log_norm", a->summary.log_norm);
        key_double(j, "log_spectral_norm", a->summary.log_spectral_norm);
        key_double(j, "stable_rank", a->summary.stable_rank);
        wl_json_key(j, "mp_softrank");
        if (a->summary.has_mp_softrank)
            wl_json_double(j, a->summary.mp_softrank);
        else
            wl_json_null(j);
        wl_json_end_object(j);
    }
    wl_json_end_object(j);
}

static void finding(wl_json *j, const wl_report *r, const wl_finding *x)
{
    char fp[17];
    wl_finding_fingerprint(x, fp);
    const wl_layer *l = wl_report_layer_of(r, x);
    wl_json_begin_object(j);
    key_str(j, "code", x->code);
    key_str(j, "rule", x->name);
    key_str(j, "severity", wl_severity_name(x->severity));
    key_str(j, "message", x->message);
    key_str(j, "model", x->model);
    key_str(j, "layer", x->layer);
    key_str(j, "id", x->id);
    wl_json_key(j, "layer_id");
    if (x->layer)
        wl_json_int(j, x->layer_id);
    else
        wl_json_null(j);
    key_str(j, "node", x->node);
    key_str(j, "op", x->op);
    key_str(j, "layer_type", x->layer_type);
    wl_json_key(j, "shape");
    if (l) {
        wl_json_begin_array(j);
        for (int i = 0; i < l->rank; i++)
            wl_json_int(j, l->shape[i]);
        wl_json_end_array(j);
    } else {
        wl_json_null(j);
    }
    key_str(j, "phase", x->phase);
    wl_json_key(j, "metric");
    wl_json_begin_object(j);
    key_str(j, "name", x->metric);
    key_double(j, "value", x->value);
    key_str(j, "cmp", x->cmp);
    key_double(j, "threshold", x->threshold);
    wl_json_end_object(j);
    wl_json_key(j, "fit");
    if (x->has_fit) {
        wl_json_begin_object(j);
        key_double(j, "alpha", x->alpha);
        key_double(j, "D", x->D);
        key_int(j, "num_pl_spikes", x->num_pl_spikes);
        key_double(j, "xmin", x->xmin);
        key_int(j, "num_evals", x->num_evals);
        wl_json_end_object(j);
    } else {
        wl_json_null(j);
    }
    wl_json_key(j, "location");
    if (x->line > 0) {
        wl_json_begin_object(j);
        key_str(j, "file", x->model);
        key_int(j, "line", x->line);
        key_int(j, "column", x->column);
        wl_json_end_object(j);
    } else {
        wl_json_null(j);
    }
    key_str(j, "fingerprint", fp);
    key_str(j, "suppressed", x->suppressed);
    wl_json_key(j, "baselined");
    wl_json_bool(j, x->is_baselined);
    wl_json_key(j, "failing");
    wl_json_bool(j, wl_report_is_failing(r, x));
    wl_json_end_object(j);
}

void wl_report_write_json(FILE *f, const wl_report *r)
{
    wl_json j;
    wl_report_counts c;
    wl_report_count(r, &c);
    wl_json_init(&j, f, 1);
    wl_json_begin_object(&j);
    key_int(&j, "schema_version", WL_REPORT_JSON_SCHEMA_VERSION);
    wl_json_key(&j, "tool");
    wl_json_begin_object(&j);
    key_str(&j, "name", "weightlint");
    key_str(&j, "version", wl_version());
    wl_json_end_object(&j);
    wl_json_key(&j, "settings");
    wl_json_begin_object(&j);
    key_str(&j, "severity", wl_severity_name(r->min_severity));
    key_str(&j, "fail_on", wl_severity_name(r->fail_on));
    wl_json_key(&j, "baseline");
    wl_json_bool(&j, r->has_baseline);
    wl_json_end_object(&j);
    key_int(&j, "exit_code", r->exit_code);
    wl_json_key(&j, "counts");
    wl_json_begin_object(&j);
    key_int(&j, "error", (int64_t)c.by_severity[WL_SEV_ERROR]);
    key_int(&j, "warning", (int64_t)c.by_severity[WL_SEV_WARNING]);
    key_int(&j, "info", (int64_t)c.by_severity[WL_SEV_INFO]);
    key_int(&j, "failing", (int64_t)c.failing);
    key_int(&j, "suppressed", (int64_t)c.suppressed);
    key_int(&j, "baselined", (int64_t)c.baselined);
    key_int(&j, "below_severity", (int64_t)c.below_severity);
    wl_json_end_object(&j);
    wl_json_key(&j, "models");
    wl_json_begin_array(&j);
    for (size_t m = 0; m < r->n_models; m++)
        model(&j, &r->models[m]);
    wl_json_end_array(&j);
    wl_json_key(&j, "findings");
    wl_json_begin_array(&j);
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *x = &r->findings->items[i];
        /* below --severity is not reported; suppressed and baselined are, with their state */
        if (x->severity < r->min_severity || x->severity == WL_SEV_OFF)
            continue;
        finding(&j, r, x);
    }
    wl_json_end_array(&j);
    wl_json_end_object(&j);
    fputc('\n', f);
}
