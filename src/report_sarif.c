/*
 * report_sarif.c — SARIF 2.1.0 (OASIS) output for code-scanning services. It validates against
 * the official schema (tests/sarif-schema-2.1.0.json; tests/scripts/check_sarif.sh) and
 * follows GitHub's code-scanning subset:
 *   - tool.driver.rules holds the metadata of every rule (id = code, name, descriptions, help =
 *     the --explain text, defaultConfiguration.level);
 *   - each result has a stable partialFingerprints entry "weightlint/v1": FNV-1a of model path
 *     + tensor + rule code, so an alert survives unrelated changes of the model;
 *   - an ONNX model is a binary file: its location is the model's URI (relative to %SRCROOT%)
 *     with region {startLine: 1, byteOffset: 0}: startLine is what GitHub needs to display an
 *     alert, byteOffset is SARIF's region for binary artifacts (section 3.30); the tensor is a
 *     logicalLocation. WL001 findings point at their line and column in the rules file;
 *   - suppressed findings are results with a `suppressions` entry carrying the reason;
 *     with --baseline, baselineState is "new" or "unchanged".
 * Coverage (tensors analyzed, skipped by reason, failed) is in run.properties.coverage; models
 * that could not be analyzed are toolExecutionNotifications of level error.
 */
#include "json_out.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* Percent-encodes a path into a URI reference (RFC 3986): unreserved characters and '/' pass. */
static void uri_of(const char *path, char *buf, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (path[0] == '/' && size > 8) {
        memcpy(buf, "file://", 7);
        n = 7;
    }
    for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            buf[n++] = (char)*p;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
}

static const char *level_of(wl_severity s)
{
    switch (s) {
    case WL_SEV_ERROR:
        return "error";
    case WL_SEV_WARNING:
        return "warning";
    case WL_SEV_INFO:
        return "note";
    case WL_SEV_OFF:
        break;
    }
    return "none";
}

static void text_obj(wl_json *j, const char *key, const char *text)
{
    wl_json_key(j, key);
    wl_json_begin_object(j);
    wl_json_key(j, "text");
    wl_json_string(j, text);
    wl_json_end_object(j);
}

static void artifact_location(wl_json *j, const char *path)
{
    char uri[4096];
    uri_of(path, uri, sizeof uri);
    wl_json_key(j, "artifactLocation");
    wl_json_begin_object(j);
    wl_json_key(j, "uri");
    wl_json_string(j, uri);
    if (path[0] != '/') {
        wl_json_key(j, "uriBaseId");
        wl_json_string(j, "%SRCROOT%");
    }
    wl_json_end_object(j);
}

static void rule_meta(wl_json *j, const wl_rule_info *ri)
{
    /* fullDescription: the first paragraph of the --explain text */
    char full[1024];
    const char *end = strstr(ri->explain, "\n\n");
    size_t len = end ? (size_t)(end - ri->explain) : strlen(ri->explain);
    if (len >= sizeof full)
        len = sizeof full - 1;
    memcpy(full, ri->explain, len);
    full[len] = '\0';
    for (char *p = full; *p; p++)
        if (*p == '\n')
            *p = ' ';
    wl_json_begin_object(j);
    wl_json_key(j, "id");
    wl_json_string(j, ri->code);
    wl_json_key(j, "name");
    wl_json_string(j, ri->name);
    text_obj(j, "shortDescription", ri->summary);
    text_obj(j, "fullDescription", full);
    text_obj(j, "help", ri->explain);
    wl_json_key(j, "defaultConfiguration");
    wl_json_begin_object(j);
    wl_json_key(j, "enabled");
    wl_json_bool(j, ri->severity != WL_SEV_OFF);
    wl_json_key(j, "level");
    wl_json_string(j, ri->severity == WL_SEV_OFF ? "warning" : level_of(ri->severity));
    wl_json_end_object(j);
    wl_json_key(j, "properties");
    wl_json_begin_object(j);
    wl_json_key(j, "tags");
    wl_json_begin_array(j);
    wl_json_string(j, "weights");
    wl_json_string(j, ri->scope == WL_SCOPE_LAYER   ? "layer"
                      : ri->scope == WL_SCOPE_MODEL ? "model"
                                                    : "configuration");
    wl_json_end_array(j);
    wl_json_end_object(j);
    wl_json_end_object(j);
}

static void result(wl_json *j, const wl_report *r, const wl_finding *x)
{
    char fp[17];
    wl_finding_fingerprint(x, fp);
    wl_json_begin_object(j);
    wl_json_key(j, "ruleId");
    wl_json_string(j, x->code);
    wl_json_key(j, "ruleIndex");
    wl_json_int(j, (int64_t)x->rule);
    wl_json_key(j, "level");
    wl_json_string(j, level_of(x->severity));
    {
        char msg[1200];
        if (x->layer)
            snprintf(msg, sizeof msg, "%s (tensor %s, id %lld): %s", x->name, x->layer,
                     (long long)x->layer_id, x->message);
        else
            snprintf(msg, sizeof msg, "%s: %s", x->name, x->message);
        text_obj(j, "message", msg);
    }
    wl_json_key(j, "locations");
    wl_json_begin_array(j);
    wl_json_begin_object(j);
    wl_json_key(j, "physicalLocation");
    wl_json_begin_object(j);
    artifact_location(j, x->model ? x->model : "");
    wl_json_key(j, "region");
    wl_json_begin_object(j);
    wl_json_key(j, "startLine");
    wl_json_int(j, x->line > 0 ? x->line : 1);
    if (x->line > 0) {
        wl_json_key(j, "startColumn");
        wl_json_int(j, x->column > 0 ? x->column : 1);
    } else {
        wl_json_key(j, "byteOffset");
        wl_json_int(j, 0);
    }
    wl_json_end_object(j);
    wl_json_end_object(j);
    if (x->layer) {
        char fq[1200];
        snprintf(fq, sizeof fq, "%s::%s", x->model ? x->model : "", x->id ? x->id : x->layer);
        wl_json_key(j, "logicalLocations");
        wl_json_begin_array(j);
        wl_json_begin_object(j);
        wl_json_key(j, "name");
        wl_json_string(j, x->layer);
        wl_json_key(j, "fullyQualifiedName");
        wl_json_string(j, fq);
        wl_json_key(j, "kind");
        wl_json_string(j, "variable");
        wl_json_end_object(j);
        wl_json_end_array(j);
    }
    wl_json_end_object(j);
    wl_json_end_array(j);
    wl_json_key(j, "partialFingerprints");
    wl_json_begin_object(j);
    wl_json_key(j, "weightlint/v1");
    wl_json_string(j, fp);
    wl_json_end_object(j);
    if (x->suppressed) {
        wl_json_key(j, "suppressions");
        wl_json_begin_array(j);
        wl_json_begin_object(j);
        wl_json_key(j, "kind");
        wl_json_string(j, "external");
        wl_json_key(j, "justification");
        wl_json_string(j, x->suppressed);
        wl_json_end_object(j);
        wl_json_end_array(j);
    }
    if (r->has_baseline) {
        wl_json_key(j, "baselineState");
        wl_json_string(j, x->is_baselined ? "unchanged" : "new");
    }
    wl_json_key(j, "properties");
    wl_json_begin_object(j);
    wl_json_key(j, "metric");
    wl_json_string(j, x->metric);
    wl_json_key(j, "value");
    wl_json_double(j, x->value);
    wl_json_key(j, "threshold");
    wl_json_double(j, x->threshold);
    if (x->layer) {
        wl_json_key(j, "layer_id");
        wl_json_int(j, x->layer_id);
        wl_json_key(j, "phase");
        wl_json_string(j, x->phase);
        wl_json_key(j, "node");
        wl_json_string(j, x->node);
        wl_json_key(j, "op");
        wl_json_string(j, x->op);
    }
    if (x->has_fit) {
        wl_json_key(j, "alpha");
        wl_json_double(j, x->alpha);
        wl_json_key(j, "D");
        wl_json_double(j, x->D);
        wl_json_key(j, "num_pl_spikes");
        wl_json_int(j, x->num_pl_spikes);
        wl_json_key(j, "xmin");
        wl_json_double(j, x->xmin);
    }
    wl_json_end_object(j);
    wl_json_end_object(j);
}

void wl_report_write_sarif(FILE *f, const wl_report *r)
{
    wl_json j;
    wl_json_init(&j, f, 1);
    wl_json_begin_object(&j);
    wl_json_key(&j, "$schema");
    wl_json_string(&j, "https://json.schemastore.org/sarif-2.1.0.json");
    wl_json_key(&j, "version");
    wl_json_string(&j, "2.1.0");
    wl_json_key(&j, "runs");
    wl_json_begin_array(&j);
    wl_json_begin_object(&j);

    wl_json_key(&j, "tool");
    wl_json_begin_object(&j);
    wl_json_key(&j, "driver");
    wl_json_begin_object(&j);
    wl_json_key(&j, "name");
    wl_json_string(&j, "weightlint");
    wl_json_key(&j, "version");
    wl_json_string(&j, wl_version());
    wl_json_key(&j, "semanticVersion");
    wl_json_string(&j, wl_version());
    wl_json_key(&j, "rules");
    wl_json_begin_array(&j);
    for (size_t i = 0; i < WL_RULE_COUNT; i++)
        rule_meta(&j, wl_rule_info_get((wl_rule_id)i));
    wl_json_end_array(&j);
    wl_json_end_object(&j);
    wl_json_end_object(&j);

    wl_json_key(&j, "invocations");
    wl_json_begin_array(&j);
    wl_json_begin_object(&j);
    wl_json_key(&j, "executionSuccessful");
    wl_json_bool(&j, r->exit_code <= 1);
    wl_json_key(&j, "exitCode");
    wl_json_int(&j, r->exit_code);
    wl_json_key(&j, "toolExecutionNotifications");
    wl_json_begin_array(&j);
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_report_model *rm = &r->models[m];
        if (rm->analysis)
            continue;
        wl_json_begin_object(&j);
        wl_json_key(&j, "level");
        wl_json_string(&j, "error");
        text_obj(&j, "message", rm->error ? rm->error : wl_status_name(rm->status));
        wl_json_key(&j, "locations");
        wl_json_begin_array(&j);
        wl_json_begin_object(&j);
        wl_json_key(&j, "physicalLocation");
        wl_json_begin_object(&j);
        artifact_location(&j, rm->path);
        wl_json_end_object(&j);
        wl_json_end_object(&j);
        wl_json_end_array(&j);
        wl_json_end_object(&j);
    }
    wl_json_end_array(&j);
    wl_json_end_object(&j);
    wl_json_end_array(&j);

    wl_json_key(&j, "results");
    wl_json_begin_array(&j);
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *x = &r->findings->items[i];
        if (x->severity < r->min_severity || x->severity == WL_SEV_OFF)
            continue;
        result(&j, r, x);
    }
    wl_json_end_array(&j);

    wl_json_key(&j, "columnKind");
    wl_json_string(&j, "unicodeCodePoints");
    wl_json_key(&j, "properties");
    wl_json_begin_object(&j);
    wl_json_key(&j, "coverage");
    wl_json_begin_array(&j);
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_report_model *rm = &r->models[m];
        wl_report_coverage c;
        wl_report_coverage_of(rm->analysis, &c);
        wl_json_begin_object(&j);
        wl_json_key(&j, "model");
        wl_json_string(&j, rm->path);
        wl_json_key(&j, "config");
        wl_json_string(&j, rm->config);
        wl_json_key(&j, "analyzed");
        wl_json_bool(&j, rm->analysis != NULL);
        wl_json_key(&j, "tensors");
        wl_json_int(&j, (int64_t)c.tensors);
        wl_json_key(&j, "layers_analyzed");
        wl_json_int(&j, (int64_t)c.analyzed);
        wl_json_key(&j, "skipped");
        wl_json_int(&j, (int64_t)c.skipped);
        wl_json_key(&j, "skipped_by_reason");
        wl_json_begin_object(&j);
        for (size_t i = 0; i < c.n_reasons; i++) {
            wl_json_key(&j, c.reason[i]);
            wl_json_int(&j, (int64_t)c.reason_count[i]);
        }
        wl_json_end_object(&j);
        wl_json_key(&j, "fit_failed");
        wl_json_int(&j, (int64_t)c.fit_failed);
        wl_json_key(&j, "nonfinite");
        wl_json_int(&j, (int64_t)c.nonfinite);
        wl_json_end_object(&j);
    }
    wl_json_end_array(&j);
    wl_json_end_object(&j);

    wl_json_end_object(&j);
    wl_json_end_array(&j);
    wl_json_end_object(&j);
    fputc('\n', f);
}
