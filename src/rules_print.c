/*
 * rules_print.c — writes a ruleset back as YAML (`weightlint check --print-config`): every rule
 * with its effective severity and parameters, then the overrides, ignores and the reserved
 * compare section. The output is itself a valid rules file that loads to the same settings.
 */
#include "phase.h"
#include "rules.h"

#include <stdio.h>
#include <string.h>

static void put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void put_param(FILE *f, const wl_param_info *pi, double v)
{
    if (pi->type == WL_PARAM_SEVERITY) {
        fputs(wl_severity_name((wl_severity)v), f);
    } else if (pi->type == WL_PARAM_PHASES) {
        size_t n;
        const char *const *names = wl_phase_names(&n);
        unsigned mask = (unsigned)v;
        int first = 1;
        fputc('[', f);
        for (size_t i = 0; i < n; i++)
            if (mask & (1u << i)) {
                fprintf(f, "%s%s", first ? "" : ", ", names[i]);
                first = 0;
            }
        fputc(']', f);
    } else {
        fprintf(f, "%.10g", v);
    }
}

static void put_globs(FILE *f, char *const *globs, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        put_quoted(f, globs[i]);
    }
    fputc(']', f);
}

void wl_rules_write_yaml(const wl_rules *r, FILE *f)
{
    fprintf(f, "# weightlint effective configuration\n# loaded from: %s\nversion: 1\nrules:\n",
            r->chain ? r->chain : "?");
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        fprintf(f, "  %s:%*s# %s\n    severity: %s\n", ri->name,
                (int)(20 - strlen(ri->name)), "", ri->code,
                wl_severity_name(r->cfg[i].severity));
        for (size_t j = 0; j < ri->n_params; j++) {
            fprintf(f, "    %s: ", ri->params[j].name);
            put_param(f, &ri->params[j], r->cfg[i].param[j]);
            fputc('\n', f);
        }
    }
    if (r->n_overrides) {
        fputs("overrides:\n", f);
        for (size_t i = 0; i < r->n_overrides; i++) {
            const wl_rules_override *o = &r->overrides[i];
            fprintf(f, "  # from %s:%d:%d\n  - layers: ", o->origin.file, o->origin.line,
                    o->origin.column);
            put_globs(f, o->globs, o->n_globs);
            fputs("\n    rules:\n", f);
            for (size_t j = 0; j < o->n_patches; j++) {
                const wl_rule_patch *p = &o->patches[j];
                const wl_rule_info *ri = wl_rule_info_get(p->rule);
                int first = 1;
                fprintf(f, "      %s: {", ri->name);
                if (p->has_severity) {
                    fprintf(f, "severity: %s", wl_severity_name(p->severity));
                    first = 0;
                }
                for (size_t k = 0; k < ri->n_params; k++)
                    if (p->param_mask & (1u << k)) {
                        fprintf(f, "%s%s: ", first ? "" : ", ", ri->params[k].name);
                        put_param(f, &ri->params[k], p->param[k]);
                        first = 0;
                    }
                fputs("}\n", f);
            }
        }
    }
    if (r->n_ignores) {
        fputs("ignore:\n", f);
        for (size_t i = 0; i < r->n_ignores; i++) {
            const wl_rules_ignore *ig = &r->ignores[i];
            fprintf(f, "  # from %s:%d:%d\n  - reason: ", ig->origin.file, ig->origin.line,
                    ig->origin.column);
            put_quoted(f, ig->reason);
            fputc('\n', f);
            if (ig->n_globs) {
                fputs("    layers: ", f);
                put_globs(f, ig->globs, ig->n_globs);
                fputc('\n', f);
            }
            if (ig->rule_mask) {
                int first = 1;
                fputs("    rules: [", f);
                for (size_t k = 0; k < WL_RULE_COUNT; k++)
                    if (ig->rule_mask & (1u << k)) {
                        fprintf(f, "%s%s", first ? "" : ", ", wl_rule_info_get((wl_rule_id)k)->name);
                        first = 0;
                    }
                fputs("]\n", f);
            }
        }
    }
    if (r->has_compare) {
        fputs("compare:", f);
        if (!r->n_compare)
            fputs(" {}", f);
        fputc('\n', f);
        for (size_t i = 0; i < r->n_compare; i++) {
            fputs("  ", f);
            put_quoted(f, r->compare[i].key);
            fputs(": ", f);
            put_quoted(f, r->compare[i].value);
            fputc('\n', f);
        }
    }
}
