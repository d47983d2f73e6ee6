/*
 * report_junit.c — JUnit XML, which most CI systems (GitLab, Jenkins, Azure Pipelines) render as
 * a test report. One <testsuite> per model; one <testcase> per analyzed tensor (passing, or
 * with one <failure> listing its findings at or above --fail-on; lower findings go to
 * <system-out>), one <testcase> per skipped tensor (<skipped> with the reason: coverage is
 * visible), and a "(model)" testcase for the model-level rules. A model that could not be
 * analyzed is a suite with one <error>. WL001 findings form a "rules" suite.
 */
#include "report.h"

#include <string.h>

static void xml(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\n':
            fputs("&#10;", f);
            break;
        default:
            if (ch < 0x20 && ch != '\t')
                fputc('?', f); /* not representable in XML 1.0 */
            else
                fputc(ch, f);
        }
    }
}

static void finding_line(FILE *f, const wl_finding *x)
{
    fprintf(f, "%s %s %s: ", wl_severity_name(x->severity), x->code, x->name);
    xml(f, x->message);
    if (x->has_fit && x->num_pl_spikes >= 0) {
        char a[24], d[24], xm[24];
        wl_report_num(x->alpha, a, sizeof a);
        wl_report_num(x->D, d, sizeof d);
        wl_report_num(x->xmin, xm, sizeof xm);
        fprintf(f, " (fit: alpha %s, D %s, tail %lld, xmin %s)", a, d,
                (long long)x->num_pl_spikes, xm);
    }
    fputc('\n', f);
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* One testcase for the findings of (model, layer); layer NULL = model-level. */
static void testcase(FILE *f, const wl_report *r, const char *model, const char *classname,
                     const char *name, const char *layer, int64_t layer_id, int rules_file)
{
    const wl_findings *fs = r->findings;
    size_t n_fail = 0, n_other = 0;
    const wl_finding *first = NULL;
    for (size_t i = 0; fs && i < fs->n; i++) {
        const wl_finding *x = &fs->items[i];
        if (!wl_report_is_shown(r, x) || !same(x->model, model) || (x->line > 0) != rules_file)
            continue;
        if (!rules_file && (layer ? !(same(x->id, layer) && x->layer_id == layer_id)
                                  : x->layer != NULL))
            continue;
        if (wl_report_is_failing(r, x)) {
            if (!first)
                first = x;
            n_fail++;
        } else {
            n_other++;
        }
    }
    fputs("    <testcase classname=\"", f);
    xml(f, classname);
    fputs("\" name=\"", f);
    xml(f, name);
    fputs("\">\n", f);
    for (int pass = 0; pass < 2; pass++) {
        size_t n = pass == 0 ? n_fail : n_other;
        if (!n)
            continue;
        if (pass == 0) {
            fprintf(f, "      <failure type=\"%s %s\" message=\"", first->code, first->name);
            xml(f, first->message);
            fputs("\">", f);
        } else {
            fputs("      <system-out>", f);
        }
        for (size_t i = 0; fs && i < fs->n; i++) {
            const wl_finding *x = &fs->items[i];
            if (!wl_report_is_shown(r, x) || !same(x->model, model) ||
                (x->line > 0) != rules_file || wl_report_is_failing(r, x) != (pass == 0))
                continue;
            if (!rules_file && (layer ? !(same(x->id, layer) && x->layer_id == layer_id)
                                      : x->layer != NULL))
                continue;
            if (rules_file)
                fprintf(f, "line %d:%d: ", x->line, x->column);
            finding_line(f, x);
        }
        fputs(pass == 0 ? "</failure>\n" : "</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

static size_t count_failing(const wl_report *r, const char *model, int rules_file)
{
    size_t n = 0;
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *x = &r->findings->items[i];
        if (wl_report_is_shown(r, x) && wl_report_is_failing(r, x) && same(x->model, model) &&
            (x->line > 0) == rules_file)
            n++;
    }
    return n;
}

void wl_report_write_junit(FILE *f, const wl_report *r)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"weightlint\">\n", f);
    for (size_t m = 0; m < r->n_models; m++) {
        const wl_report_model *rm = &r->models[m];
        const wl_analysis *a = rm->analysis;
        fputs("  <testsuite name=\"", f);
        xml(f, rm->path);
        if (!a) {
            fputs("\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n", f);
            fputs("    <testcase classname=\"", f);
            xml(f, rm->path);
            fputs("\" name=\"(analysis)\">\n      <error type=\"", f);
            xml(f, wl_status_name(rm->status));
            fputs("\" message=\"", f);
            xml(f, rm->error);
            fputs("\"/>\n    </testcase>\n  </testsuite>\n", f);
            continue;
        }
        /* a failure per testcase, not per finding */
        size_t n_fail_cases = 0;
        for (size_t i = 0; i < a->n_layers; i++)
            for (size_t k = 0; r->findings && k < r->findings->n; k++) {
                const wl_finding *x = &r->findings->items[k];
                if (wl_report_is_shown(r, x) && wl_report_is_failing(r, x) &&
                    same(x->model, rm->path) &&
                    same(x->id, a->layers[i].id ? a->layers[i].id : a->layers[i].name) &&
                    x->layer_id == a->layers[i].layer_id) {
                    n_fail_cases++;
                    break;
                }
            }
        for (size_t k = 0; r->findings && k < r->findings->n; k++) {
            const wl_finding *x = &r->findings->items[k];
            if (wl_report_is_shown(r, x) && wl_report_is_failing(r, x) &&
                same(x->model, rm->path) && !x->layer && x->line == 0) {
                n_fail_cases++;
                break;
            }
        }
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
                a->n_layers + a->n_skipped + 1, n_fail_cases, a->n_skipped);
        for (size_t i = 0; i < a->n_layers; i++) {
            const wl_layer *l = &a->layers[i];
            const char *id = l->id ? l->id : l->name;
            testcase(f, r, rm->path, rm->path, id, id, l->layer_id, 0);
        }
        for (size_t i = 0; i < a->n_skipped; i++) {
            fputs("    <testcase classname=\"", f);
            xml(f, rm->path);
            fputs("\" name=\"", f);
            xml(f, a->skipped[i].name);
            fputs("\">\n      <skipped message=\"not analyzed (", f);
            xml(f, a->skipped[i].reason_code);
            fputs("): ", f);
            xml(f, a->skipped[i].reason);
            fputs("\"/>\n    </testcase>\n", f);
        }
        testcase(f, r, rm->path, rm->path, "(model)", NULL, -1, 0);
        fputs("  </testsuite>\n", f);
    }
    /* rules files with unused suppressions */
    for (size_t i = 0; r->findings && i < r->findings->n; i++) {
        const wl_finding *x = &r->findings->items[i];
        if (x->line == 0 || !wl_report_is_shown(r, x))
            continue;
        size_t j = 0;
        while (j < i && !(r->findings->items[j].line > 0 &&
                          wl_report_is_shown(r, &r->findings->items[j]) &&
                          same(r->findings->items[j].model, x->model)))
            j++;
        if (j < i)
            continue; /* this rules file has its suite already */
        fputs("  <testsuite name=\"", f);
        xml(f, x->model);
        fprintf(f, "\" tests=\"1\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
                count_failing(r, x->model, 1) ? (size_t)1 : 0);
        testcase(f, r, x->model, x->model, "(rules file)", NULL, -1, 1);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
}
