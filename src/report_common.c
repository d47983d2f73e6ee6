/*
 * report_common.c — the writer table of the finding reports and what the writers share:
 * which findings are shown and which fail, counts, per-model coverage, number formatting.
 */
#include "report.h"
#include "wl_err.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    void (*write)(FILE *f, const wl_report *r);
} writers[WL_REPORT_N_FORMATS] = {
    [WL_REPORT_TEXT] = {"text", wl_report_write_text},
    [WL_REPORT_JSON] = {"json", wl_report_write_json},
    [WL_REPORT_SARIF] = {"sarif", wl_report_write_sarif},
    [WL_REPORT_GITHUB] = {"github", wl_report_write_github},
    [WL_REPORT_JUNIT] = {"junit", wl_report_write_junit},
    [WL_REPORT_MARKDOWN] = {"markdown", wl_report_write_markdown},
};

int wl_report_format_parse(const char *s, wl_report_format *out)
{
    for (int i = 0; i < WL_REPORT_N_FORMATS; i++)
        if (strcmp(s, writers[i].name) == 0) {
            *out = (wl_report_format)i;
            return 0;
        }
    if (strcmp(s, "md") == 0) {
        *out = WL_REPORT_MARKDOWN;
        return 0;
    }
    return -1;
}

const char *wl_report_format_name(wl_report_format f)
{
    return (unsigned)f < WL_REPORT_N_FORMATS ? writers[f].name : "?";
}

wl_status wl_report_write(FILE *f, wl_report_format fmt, const wl_report *r, wl_err *err)
{
    if ((unsigned)fmt >= WL_REPORT_N_FORMATS)
        return WL_FAIL(err, WL_E_INTERNAL, "report format %d out of range", (int)fmt);
    writers[fmt].write(f, r);
    if (fflush(f) != 0 || ferror(f))
        return WL_FAIL(err, WL_E_IO, "cannot write the %s report: %s", writers[fmt].name,
                       strerror(errno));
    return WL_OK;
}

int wl_report_is_shown(const wl_report *r, const wl_finding *f)
{
    return f->severity >= r->min_severity && f->severity > WL_SEV_OFF && !f->suppressed &&
           !f->is_baselined;
}

int wl_report_is_failing(const wl_report *r, const wl_finding *f)
{
    return !f->suppressed && !f->is_baselined && f->severity > WL_SEV_OFF &&
           f->severity >= r->fail_on;
}

void wl_report_count(const wl_report *r, wl_report_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *f = &r->findings->items[i];
        if (f->suppressed)
            c->suppressed++;
        else if (f->is_baselined)
            c->baselined++;
        else if (f->severity < r->min_severity)
            c->below_severity++;
        if (wl_report_is_shown(r, f)) {
            c->shown++;
            c->by_severity[f->severity]++;
        }
        if (wl_report_is_failing(r, f))
            c->failing++;
    }
}

void wl_report_coverage_of(const wl_analysis *a, wl_report_coverage *c)
{
    memset(c, 0, sizeof *c);
    if (!a)
        return;
    c->tensors = a->n_tensors;
    c->analyzed = a->n_layers - a->n_nonfinite;
    c->skipped = a->n_skipped;
    c->fit_failed = a->n_failed;
    c->nonfinite = a->n_nonfinite;
    for (size_t i = 0; i < a->n_skipped; i++) {
        const char *code = a->skipped[i].reason_code ? a->skipped[i].reason_code : "other";
        size_t j = 0;
        while (j < c->n_reasons && strcmp(c->reason[j], code) != 0)
            j++;
        if (j == c->n_reasons) {
            if (c->n_reasons == sizeof c->reason / sizeof c->reason[0])
                j--; /* more than 16 distinct codes: lump the rest into the last */
            else
                c->reason[c->n_reasons++] = code;
        }
        c->reason_count[j]++;
    }
}

void wl_report_params_str(const wl_analysis *a, char *buf, size_t size)
{
    if (a == NULL || a->weight_params == 0) {
        snprintf(buf, size, "no weight parameters");
        return;
    }
    /* per mille, truncated: 99.96 % is "99.9 %", only all of them is "100.0 %" */
    uint64_t permille = (uint64_t)((long double)a->analyzed_params * 1000 / a->weight_params);
    snprintf(buf, size, "analyzed %llu.%llu %% of the weight parameters (%llu of %llu)",
             (unsigned long long)(permille / 10), (unsigned long long)(permille % 10),
             (unsigned long long)a->analyzed_params, (unsigned long long)a->weight_params);
}

void wl_report_reasons_str(const wl_report_coverage *c, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_reasons && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s: %zu", i ? ", " : "", c->reason[i],
                                c->reason_count[i]);
}

const wl_layer *wl_report_layer_of(const wl_report *r, const wl_finding *f)
{
    if (!f->layer)
        return NULL;
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_analysis *a = r->models[m].analysis;
        if (!a || !a->path || !f->model || strcmp(a->path, f->model) != 0)
            continue;
        for (size_t i = 0; i < a->n_layers; i++) {
            const wl_layer *l = &a->layers[i];
            const char *id = l->id ? l->id : l->name;
            if (l->layer_id == f->layer_id && id && strcmp(id, f->id ? f->id : f->layer) == 0)
                return l;
        }
    }
    return NULL;
}

void wl_report_shape_str(const int64_t *shape, int rank, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < rank && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "x" : "",
                                (long long)shape[i]);
}

void wl_report_ellipsize(const char *s, size_t width, char *buf, size_t size)
{
    size_t len = strlen(s);
    if (len <= width || width < 5) {
        snprintf(buf, size, "%s", s);
        return;
    }
    size_t keep = width - 3, head = keep * 2 / 5, tail = keep - head; /* the end names the tensor */
    snprintf(buf, size, "%.*s...%s", (int)head, s, s + len - tail);
}

void wl_report_num(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else if (v != 0.0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
        snprintf(buf, size, "%.3e", v);
    else
        snprintf(buf, size, "%.4f", v);
}
