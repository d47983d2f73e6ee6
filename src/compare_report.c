/*
 * compare_report.c — the report writers of `weightlint compare` (compare.h): text for the
 * terminal, Markdown for pull-request comments and job summaries, JSON (docs/compare.md,
 * schema_version 1) and GitHub workflow-command annotations for the regressions.
 *
 * Every table lists changed rows first — regressions, then improvements, then other changes —
 * and, unless show_all, counts the unchanged rows instead of listing them. Each regression is
 * repeated under "Why it matters" with the layer, the metric, the base and candidate values
 * and what the change means, so that a failing CI check explains itself.
 */
#include "compare.h"
#include "json_out.h"
#include "phase.h"
#include "report.h"
#include "wl_err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wl_cmp_format_parse(const char *s, wl_cmp_format *out)
{
    static const struct {
        const char *name;
        wl_cmp_format fmt;
    } names[] = {{"text", WL_CMP_FORMAT_TEXT},
                 {"markdown", WL_CMP_FORMAT_MARKDOWN},
                 {"md", WL_CMP_FORMAT_MARKDOWN},
                 {"json", WL_CMP_FORMAT_JSON},
                 {"github", WL_CMP_FORMAT_GITHUB}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].fmt;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------------ shared helpers */

/* One shown table row: a cell of a layer (or of the model when layer is NULL). */
typedef struct row_ref {
    const wl_cmp_layer *layer;
    const wl_cmp_cell *cell;
    size_t order; /* layer index * metrics + metric: the stable tie-break */
} row_ref;

static int cmp_rows(const void *x, const void *y)
{
    const row_ref *a = x, *b = y;
    if (a->cell->state != b->cell->state)
        return a->cell->state > b->cell->state ? -1 : 1; /* regressed first */
    return (a->order > b->order) - (a->order < b->order);
}

/* The rows of one comparison's layer table, sorted; *n_hidden gets the unchanged rows left out
 * (and rows beyond max_rows). Returns a new array (caller frees) or NULL when out of memory. */
static row_ref *table_rows(const wl_comparison *c, int show_all, size_t max_rows, size_t *n_out,
                           size_t *n_hidden)
{
    size_t cap = c->n_layers * WL_CMP_N_METRICS, n = 0;
    *n_hidden = 0;
    row_ref *rows = malloc((cap ? cap : 1) * sizeof *rows);
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_layers; i++)
        for (int m = 0; m < WL_CMP_N_METRICS; m++) {
            const wl_cmp_cell *cell = &c->layers[i].cells[m];
            int structural = c->layers[i].match == WL_CMP_ADDED ||
                             c->layers[i].match == WL_CMP_REMOVED || c->layers[i].is_reshaped;
            /* an added/removed/reshaped layer shows its alpha and phase, enough to place it */
            if (structural && cell->state < WL_CMP_IMPROVED && m != WL_CMP_ALPHA &&
                m != WL_CMP_PHASE) {
                continue;
            }
            if (!show_all && cell->state == WL_CMP_UNCHANGED && !structural) {
                (*n_hidden)++;
                continue;
            }
            rows[n++] = (row_ref){&c->layers[i], cell, i * WL_CMP_N_METRICS + (size_t)m};
        }
    qsort(rows, n, sizeof *rows, cmp_rows);
    if (max_rows && n > max_rows) {
        *n_hidden += n - max_rows;
        n = max_rows;
    }
    *n_out = n;
    return rows;
}

static const char *layer_label(const wl_cmp_layer *l, char *buf, size_t n)
{
    const wl_layer *b = l->base, *v = l->cand;
    if (b && v && strcmp(b->id, v->id) != 0)
        snprintf(buf, n, "%s -> %s", b->id, v->id);
    else
        snprintf(buf, n, "%s", b ? b->id : v->id);
    return buf;
}

static void shape_of(const wl_layer *l, char *buf, size_t n)
{
    if (l == NULL)
        snprintf(buf, n, "-");
    else
        wl_report_shape_str(l->shape, l->rank, buf, n);
}

static const char *pm = "+-"; /* "±" in Markdown (set by write_markdown), ASCII in text */

static void value_str(const wl_cmp_cell *c, int cand, char *buf, size_t n)
{
    if (c->metric >= WL_CMP_N_NUMERIC) {
        const char *s = cand ? c->cand_label : c->base_label;
        snprintf(buf, n, "%s", s ? s : "-");
        return;
    }
    double v = cand ? c->cand : c->base, sd = cand ? c->cand_sd : c->base_sd;
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (isfinite(sd))
        snprintf(buf, n, "%.4f%s%.2f", v, pm, sd); /* alpha +- its standard error */
    else
        snprintf(buf, n, "%.4f", v);
}

static void delta_str(const wl_cmp_cell *c, char *d, size_t nd, char *p, size_t np)
{
    if (isnan(c->delta))
        snprintf(d, nd, "-");
    else
        snprintf(d, nd, "%+.4f", c->delta);
    if (isnan(c->delta_pct))
        snprintf(p, np, "-");
    else
        snprintf(p, np, "%+.1f%%", c->delta_pct);
}

/* "regressed: left [2, 6]", "added", "reshaped 256x512 -> 128x512", ... */
static void status_str(const wl_cmp_layer *l, const wl_cmp_cell *c, char *buf, size_t n)
{
    if (l && c->state < WL_CMP_IMPROVED) {
        char sb[64], sc[64];
        if (l->match == WL_CMP_ADDED) {
            snprintf(buf, n, "added");
            return;
        }
        if (l->match == WL_CMP_REMOVED) {
            snprintf(buf, n, "removed");
            return;
        }
        if (l->is_reshaped) {
            shape_of(l->base, sb, sizeof sb);
            shape_of(l->cand, sc, sizeof sc);
            snprintf(buf, n, "reshaped %s -> %s", sb, sc);
            return;
        }
    }
    if (c->state == WL_CMP_UNCHANGED)
        snprintf(buf, n, "unchanged");
    else if (c->state == WL_CMP_CHANGED && c->why[0])
        snprintf(buf, n, "changed, not counted: %s", c->why);
    else if (c->why[0])
        snprintf(buf, n, "%s: %s", wl_cmp_state_name(c->state), c->why);
    else
        snprintf(buf, n, "%s", wl_cmp_state_name(c->state));
}

static size_t count_regressed_layers(const wl_comparison *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_layers; i++)
        n += c->layers[i].n_regressions > 0;
    return n;
}

static void verdict_line(const wl_comparison *c, char *buf, size_t n)
{
    size_t layers = count_regressed_layers(c);
    size_t model = c->n_regressions;
    for (size_t i = 0; i < c->n_layers; i++)
        model -= c->layers[i].n_regressions;
    switch (c->verdict) {
    case WL_VERDICT_NOT_COMPARABLE:
        snprintf(buf, n, "not comparable: %s", c->not_comparable_why);
        break;
    case WL_VERDICT_REGRESSED:
        snprintf(buf, n, "regressed: %zu regression%s in %zu layer%s%s", c->n_regressions,
                 c->n_regressions == 1 ? "" : "s", layers, layers == 1 ? "" : "s",
                 model ? " and the model summary" : "");
        break;
    case WL_VERDICT_IMPROVED:
        snprintf(buf, n, "improved: %zu improvement%s, no regression", c->n_improvements,
                 c->n_improvements == 1 ? "" : "s");
        break;
    case WL_VERDICT_CHANGED:
        snprintf(buf, n, "changed: %zu metric%s changed, no regression", c->n_changed,
                 c->n_changed == 1 ? "" : "s");
        break;
    default:
        snprintf(buf, n, "unchanged: every metric equal at 4 decimals");
        break;
    }
}

void wl_compare_matching_line(const wl_comparison *c, char *buf, size_t n)
{
    size_t most = c->base->n_layers > c->cand->n_layers ? c->base->n_layers : c->cand->n_layers;
    snprintf(buf, n,
             "%zu base / %zu candidate layers: %zu of %zu matched (%zu by id, %zu by graph place, "
             "%zu by name, %zu by shape and graph order), %zu reshaped, %zu added, %zu removed",
             c->base->n_layers, c->cand->n_layers, c->n_matched, most, c->n_by_id, c->n_by_graph,
             c->n_by_name, c->n_by_order, c->n_reshaped, c->n_added, c->n_removed);
}

static int is_unmatched(const wl_cmp_layer *l)
{
    return l->match == WL_CMP_ADDED || l->match == WL_CMP_REMOVED || l->is_reshaped;
}

/* The k-th layer that did not pair up (removed, added, reshaped), or NULL past the end. */
static const wl_cmp_layer *nth_unmatched(const wl_comparison *c, size_t k)
{
    for (size_t i = 0; i < c->n_layers; i++)
        if (is_unmatched(&c->layers[i]) && k-- == 0)
            return &c->layers[i];
    return NULL;
}

/* "removed  conv9.weight (64x3x3x3)" */
static void unmatched_str(const wl_cmp_layer *l, char *buf, size_t n)
{
    char sb[64], sc[64];
    shape_of(l->base, sb, sizeof sb);
    shape_of(l->cand, sc, sizeof sc);
    if (l->is_reshaped)
        snprintf(buf, n, "reshaped %s (%s -> %s)", l->base->id, sb, sc);
    else if (l->match == WL_CMP_REMOVED)
        snprintf(buf, n, "removed %s (%s, base only)", l->base->id, sb);
    else
        snprintf(buf, n, "added %s (%s, candidate only)", l->cand->id, sc);
}

/* The n-th regression of c (layer cells, then model cells); NULL past the end. */
static const wl_cmp_cell *nth_regression(const wl_comparison *c, size_t k,
                                         const wl_cmp_layer **layer)
{
    for (size_t i = 0; i < c->n_layers; i++)
        for (int m = 0; m < WL_CMP_N_METRICS; m++)
            if (c->layers[i].cells[m].state == WL_CMP_REGRESSED && k-- == 0) {
                *layer = &c->layers[i];
                return &c->layers[i].cells[m];
            }
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++)
        if (c->model[m].state == WL_CMP_REGRESSED && k-- == 0) {
            *layer = NULL;
            return &c->model[m];
        }
    return NULL;
}

/* "fc2.weight: alpha 2.8964 -> 7.9233 (left [2, 6])" */
static void regression_head(const wl_cmp_layer *l, const wl_cmp_cell *c, char *buf, size_t n)
{
    char name[512], b[64], v[64];
    value_str(c, 0, b, sizeof b);
    value_str(c, 1, v, sizeof v);
    snprintf(buf, n, "%s: %s %s -> %s (%s)", l ? layer_label(l, name, sizeof name) : "model",
             wl_cmp_metric_name(c->metric), b, v, c->why);
}

/* ------------------------------------------------------------------ text */

/* The strings of one text-table row. */
typedef struct text_row {
    char name[1024], match[16], metric[24], b[64], v[64], d[64], p[64], status[300];
} text_row;

static void text_fill(text_row *t, const wl_cmp_layer *l, const wl_cmp_cell *c)
{
    if (l)
        layer_label(l, t->name, sizeof t->name);
    else
        snprintf(t->name, sizeof t->name, "(model)");
    snprintf(t->match, sizeof t->match, "%s", l ? wl_cmp_match_name(l->match) : "");
    if (l && l->is_reshaped)
        snprintf(t->match, sizeof t->match, "reshaped");
    snprintf(t->metric, sizeof t->metric, "%s", wl_cmp_metric_name(c->metric));
    value_str(c, 0, t->b, sizeof t->b);
    value_str(c, 1, t->v, sizeof t->v);
    delta_str(c, t->d, sizeof t->d, t->p, sizeof t->p);
    status_str(l, c, t->status, sizeof t->status);
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* Columns as wide as their data; the layer column takes what the terminal width leaves after
 * the others and a 20-column status, at least 32, and longer names are cut in the middle. */
/* Returns -1 when out of memory for the table (nothing written), else 0. */
static int text_table(FILE *f, const wl_compare_report *r, const wl_comparison *c)
{
    size_t n = 0, hidden = 0;
    row_ref *rows = table_rows(c, r->show_all, r->max_rows, &n, &hidden);
    text_row *t = rows ? malloc((n + WL_CMP_N_NUMERIC) * sizeof *t) : NULL;
    if (t == NULL) {
        free(rows);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        text_fill(&t[i], rows[i].layer, rows[i].cell);
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++)
        text_fill(&t[n + (size_t)m], NULL, &c->model[m]);
    int wn = 5, wm = 5, wk = 6, wb = 4, wv = 9, wd = 5, wp = 6;
    for (size_t i = 0; i < n + WL_CMP_N_NUMERIC; i++) {
        wn = max_int(wn, (int)strlen(t[i].name));
        wm = max_int(wm, (int)strlen(t[i].match));
        wk = max_int(wk, (int)strlen(t[i].metric));
        wb = max_int(wb, (int)strlen(t[i].b));
        wv = max_int(wv, (int)strlen(t[i].v));
        wd = max_int(wd, (int)strlen(t[i].d));
        wp = max_int(wp, (int)strlen(t[i].p));
    }
    int width = r->width ? (int)r->width : WL_REPORT_DEFAULT_WIDTH;
    int room = width - (2 + 2 + wm + 1 + wk + 1 + wb + 1 + wv + 1 + wd + 1 + wp + 2 + 20);
    if (wn > max_int(room, 32))
        wn = max_int(room, 32);
    char cut[1024];
    if (n) {
        fprintf(f, "  %-*s  %-*s %-*s %*s %*s %*s %*s  %s\n", wn, "layer", wm, "match", wk,
                "metric", wb, "base", wv, "candidate", wd, "delta", wp, "delta%", "status");
    }
    for (size_t i = 0; i < n + WL_CMP_N_NUMERIC; i++) {
        if (i == n) {
            if (hidden)
                fprintf(f, "  %zu row%s not shown (unchanged%s; --all lists every row)\n", hidden,
                        hidden == 1 ? "" : "s", r->max_rows ? " or beyond --max-rows" : "");
            fprintf(f, "  model (means over the analyzed layers):\n");
        }
        wl_report_ellipsize(t[i].name, (size_t)wn, cut, sizeof cut);
        fprintf(f, "  %-*s  %-*s %-*s %*s %*s %*s %*s  %s\n", wn, cut, wm, t[i].match, wk,
                t[i].metric, wb, t[i].b, wv, t[i].v, wd, t[i].d, wp, t[i].p, t[i].status);
    }
    free(t);
    free(rows);
    return 0;
}

/* Every layer that did not pair up, one per line (all formats say which). */
static void text_unmatched(FILE *f, const wl_comparison *c)
{
    const wl_cmp_layer *l;
    char line[1200];
    if (nth_unmatched(c, 0) == NULL)
        return;
    fprintf(f, "  not matched:\n");
    for (size_t k = 0; (l = nth_unmatched(c, k)) != NULL; k++) {
        unmatched_str(l, line, sizeof line);
        fprintf(f, "    %s\n", line);
    }
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int text_comparison(FILE *f, const wl_compare_report *r, const wl_comparison *c)
{
    char line[600];
    fprintf(f, "\ncandidate: %s\n", c->cand->path);
    verdict_line(c, line, sizeof line);
    fprintf(f, "  verdict: %s\n", line);
    wl_compare_matching_line(c, line, sizeof line);
    fprintf(f, "  layers: %s\n", line);
    text_unmatched(f, c);
    if (c->verdict == WL_VERDICT_NOT_COMPARABLE) {
        fprintf(f, "  (not judged: the metrics of different architectures are not evidence of "
                   "a regression or an improvement)\n");
        return 0;
    }
    if (text_table(f, r, c) != 0)
        return -1;
    if (c->n_regressions) {
        fprintf(f, "  why it matters:\n");
        const wl_cmp_layer *l;
        const wl_cmp_cell *cell;
        for (size_t k = 0; (cell = nth_regression(c, k, &l)) != NULL; k++) {
            regression_head(l, cell, line, sizeof line);
            fprintf(f, "    %s: %s\n", line, cell->matters ? cell->matters : "");
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ ranking (text, markdown) */

typedef struct ranking {
    size_t *order; /* owned: free(rk.order) */
    size_t n;
    int is_one_run;
} ranking;

/* 1 with rk filled (free rk->order), 0 when there is no ranking (it needs two candidates), -1
 * when out of memory: the caller must fail the report, not leave the ranking out silently. */
static int make_ranking(const wl_compare_report *r, ranking *rk)
{
    if (r->n_models < 3)
        return 0;
    if ((rk->order = malloc(r->n_models * sizeof *rk->order)) == NULL)
        return -1;
    rk->n = r->n_models;
    wl_compare_rank(r->models, r->n_models, rk->order, &rk->is_one_run);
    return 1;
}

/* The layer of model k paired with base layer b (k = 0 is the base itself). */
static const wl_layer *layer_in(const wl_compare_report *r, size_t k, const wl_layer *b)
{
    if (k == 0)
        return b;
    const wl_comparison *c = r->comparisons[k - 1];
    if (c->verdict == WL_VERDICT_NOT_COMPARABLE)
        return NULL;
    const wl_cmp_layer *row = wl_compare_find(c, b);
    return row && !row->is_reshaped ? row->cand : NULL;
}

static void evidence_cell(const wl_layer *l, char *buf, size_t n)
{
    if (l == NULL)
        snprintf(buf, n, "-");
    else if (l->status == WL_LAYER_NONFINITE)
        snprintf(buf, n, "non-finite");
    else if (l->status == WL_LAYER_FIT_FAILED)
        snprintf(buf, n, "fit failed, %lld spike%s, %s", (long long)l->num_spikes,
                 l->num_spikes == 1 ? "" : "s", l->phase ? l->phase : "-");
    else if (l->has_mp)
        snprintf(buf, n, "%.2f, %lld spike%s, %s", l->alpha, (long long)l->num_spikes,
                 l->num_spikes == 1 ? "" : "s", l->phase ? l->phase : "-");
    else
        snprintf(buf, n, "%.2f, %s", l->alpha, l->phase ? l->phase : "-");
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int text_ranking(FILE *f, const wl_compare_report *r)
{
    ranking rk;
    int have = make_ranking(r, &rk);
    if (have <= 0)
        return have;
    fprintf(f, "\nranking by alpha_weighted (mean alpha-hat; lower first):\n");
    fprintf(f, "  %4s  %-14s %10s %10s  %-15s %s\n", "rank", "alpha_weighted", "alpha",
            "log10_lmax", "verdict", "model");
    for (size_t i = 0; i < rk.n; i++) {
        size_t k = rk.order[i];
        const wl_analysis *a = r->models[k];
        char aw[32], al[32], ls[32];
        snprintf(aw, sizeof aw, "%.4f", a->summary.alpha_weighted);
        snprintf(al, sizeof al, "%.4f", a->summary.alpha);
        snprintf(ls, sizeof ls, "%.4f", a->summary.log_spectral_norm);
        fprintf(f, "  %4zu  %-14s %10s %10s  %-15s %s\n", i + 1, aw, al, ls,
                k == 0 ? "(base)" : wl_cmp_verdict_name(r->comparisons[k - 1]->verdict), a->path);
    }
    fprintf(f, "  evidence per layer (alpha, MP spikes, phase), models in rank order:\n");
    const wl_analysis *base = r->models[0];
    for (size_t i = 0; i < base->n_layers; i++) {
        const wl_layer *b = &base->layers[i];
        fprintf(f, "    %s\n", b->id);
        for (size_t j = 0; j < rk.n; j++) {
            char cell[160];
            evidence_cell(layer_in(r, rk.order[j], b), cell, sizeof cell);
            fprintf(f, "      #%zu %-40s %s\n", j + 1, cell, r->models[rk.order[j]]->path);
        }
    }
    if (rk.is_one_run)
        fprintf(f, "  note: %s\n", wl_compare_one_run_note());
    free(rk.order);
    return 0;
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int write_text(FILE *f, const wl_compare_report *r)
{
    const wl_analysis *base = r->models[0];
    fprintf(f, "base: %s (%zu layers analyzed; alpha_weighted %.4f)\n", base->path, base->n_layers,
            base->summary.alpha_weighted);
    size_t n_regressed = 0, n_nc = 0;
    for (size_t i = 0; i + 1 < r->n_models; i++) {
        if (text_comparison(f, r, r->comparisons[i]) != 0)
            return -1;
        n_regressed += r->comparisons[i]->verdict == WL_VERDICT_REGRESSED;
        n_nc += r->comparisons[i]->verdict == WL_VERDICT_NOT_COMPARABLE;
    }
    if (r->n_models == 2 && r->comparisons[0]->is_same_layout &&
        r->cfg->model_gate[WL_CMP_ALPHA_WEIGHTED].direction != WL_CMP_DIR_OFF)
        fprintf(f, "  note: %s\n", wl_compare_one_run_note());
    if (text_ranking(f, r) != 0)
        return -1;
    fprintf(f, "\n%zu candidate%s: %zu regressed, %zu not comparable; rules: %s%s\n",
            r->n_models - 1, r->n_models == 2 ? "" : "s", n_regressed, n_nc, r->config,
            !n_regressed            ? ""
            : r->fail_on_regression ? " (--fail-on-regression: failing)"
                                    : " (not failing: no --fail-on-regression)");
    return 0;
}

/* ------------------------------------------------------------------ markdown */

/* Markdown-safe text in a table cell: escapes | and the inline markup characters. */
static void md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("|\\`*_[]<#", *s))
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void md_table_row(FILE *f, const wl_cmp_layer *l, const wl_cmp_cell *c)
{
    char name[512], b[64], v[64], d[64], p[64], s[300];
    value_str(c, 0, b, sizeof b);
    value_str(c, 1, v, sizeof v);
    delta_str(c, d, sizeof d, p, sizeof p);
    status_str(l, c, s, sizeof s);
    fputs("| ", f);
    md(f, l ? layer_label(l, name, sizeof name) : "(model)");
    fprintf(f, " | %s | %s | ", l ? (l->is_reshaped ? "reshaped" : wl_cmp_match_name(l->match)) : "",
            wl_cmp_metric_name(c->metric));
    md(f, b);
    fputs(" | ", f);
    md(f, v);
    fprintf(f, " | %s | %s | ", d, p);
    if (c->state == WL_CMP_REGRESSED)
        fputs("**", f);
    md(f, s);
    if (c->state == WL_CMP_REGRESSED)
        fputs("**", f);
    fputs(" |\n", f);
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int md_comparison(FILE *f, const wl_compare_report *r, const wl_comparison *c)
{
    char line[600];
    fputs("### ", f);
    md(f, c->cand->path);
    fputs(" vs ", f);
    md(f, c->base->path);
    fprintf(f, ": %s\n\n", wl_cmp_verdict_name(c->verdict));
    verdict_line(c, line, sizeof line);
    fputs("**Verdict:** ", f);
    md(f, line);
    fputs(".  \n", f);
    wl_compare_matching_line(c, line, sizeof line);
    md(f, line);
    fputs(".\n\n", f);
    if (nth_unmatched(c, 0) != NULL) {
        const wl_cmp_layer *u;
        char ul[1200];
        fputs("Not matched:\n\n", f);
        for (size_t k = 0; (u = nth_unmatched(c, k)) != NULL; k++) {
            if (r->max_rows && k >= r->max_rows) {
                size_t rest = 0;
                while (nth_unmatched(c, k + rest) != NULL)
                    rest++;
                fprintf(f, "- ... and %zu more (see the JSON report)\n", rest);
                break;
            }
            unmatched_str(u, ul, sizeof ul);
            fputs("- ", f);
            md(f, ul);
            fputs("\n", f);
        }
        fputs("\n", f);
    }
    if (c->verdict == WL_VERDICT_NOT_COMPARABLE) {
        fputs("Not judged: the metrics of different architectures are not evidence of a "
              "regression or an improvement.\n\n",
              f);
        return 0;
    }
    if (c->n_regressions) {
        fputs("**Why it matters**\n\n", f);
        const wl_cmp_layer *l;
        const wl_cmp_cell *cell;
        for (size_t k = 0; (cell = nth_regression(c, k, &l)) != NULL; k++) {
            if (r->max_rows && k >= r->max_rows) {
                fprintf(f, "- ... and %zu more regressions (see the JSON report)\n",
                        c->n_regressions - k);
                break;
            }
            regression_head(l, cell, line, sizeof line);
            fputs("- ", f);
            md(f, line);
            fputs(": ", f);
            md(f, cell->matters);
            fputs("\n", f);
        }
        fputs("\n", f);
    }
    size_t n = 0, hidden = 0;
    row_ref *rows = table_rows(c, r->show_all, r->max_rows, &n, &hidden);
    if (rows == NULL)
        return -1;
    if (n) {
        fputs("| Layer | Match | Metric | Base | Candidate | Δ | Δ% | Status |\n"
              "|---|---|---|---:|---:|---:|---:|---|\n",
              f);
        for (size_t i = 0; i < n; i++)
            md_table_row(f, rows[i].layer, rows[i].cell);
    }
    if (hidden)
        fprintf(f, "\n%zu unchanged row%s not shown.\n", hidden, hidden == 1 ? "" : "s");
    free(rows);
    fputs("\n<details><summary>Model summary (means over the analyzed layers)</summary>\n\n"
          "| Layer | Match | Metric | Base | Candidate | Δ | Δ% | Status |\n"
          "|---|---|---|---:|---:|---:|---:|---|\n",
          f);
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++)
        md_table_row(f, NULL, &c->model[m]);
    fputs("\n</details>\n\n", f);
    return 0;
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int md_ranking(FILE *f, const wl_compare_report *r)
{
    ranking rk;
    int have = make_ranking(r, &rk);
    if (have <= 0)
        return have;
    fputs("### Ranking by α̂ (alpha_weighted, lower first)\n\n", f);
    if (rk.is_one_run) {
        fputs("> **Note:** ", f);
        md(f, wl_compare_one_run_note());
        fputs("\n\n", f);
    }
    fputs("| Rank | Model | α̂ | mean α | mean log10 λmax | Verdict vs base |\n"
          "|---:|---|---:|---:|---:|---|\n",
          f);
    for (size_t i = 0; i < rk.n; i++) {
        size_t k = rk.order[i];
        const wl_analysis *a = r->models[k];
        fprintf(f, "| %zu | ", i + 1);
        md(f, a->path);
        fprintf(f, " | %.4f | %.4f | %.4f | %s |\n", a->summary.alpha_weighted, a->summary.alpha,
                a->summary.log_spectral_norm,
                k == 0 ? "(base)" : wl_cmp_verdict_name(r->comparisons[k - 1]->verdict));
    }
    fputs("\nPer-layer evidence (α, MP spikes, phase), models in rank order:\n\n| Layer |", f);
    for (size_t j = 0; j < rk.n; j++)
        fprintf(f, " #%zu |", j + 1);
    fputs("\n|---|", f);
    for (size_t j = 0; j < rk.n; j++)
        fputs("---|", f);
    fputs("\n", f);
    const wl_analysis *base = r->models[0];
    size_t limit = r->max_rows && r->max_rows < base->n_layers ? r->max_rows : base->n_layers;
    for (size_t i = 0; i < limit; i++) {
        const wl_layer *b = &base->layers[i];
        fputs("| ", f);
        md(f, b->id);
        fputs(" |", f);
        for (size_t j = 0; j < rk.n; j++) {
            char cell[160];
            evidence_cell(layer_in(r, rk.order[j], b), cell, sizeof cell);
            fputs(" ", f);
            md(f, cell);
            fputs(" |", f);
        }
        fputs("\n", f);
    }
    if (limit < base->n_layers)
        fprintf(f, "\n%zu more layers not shown.\n", base->n_layers - limit);
    fputs("\n", f);
    free(rk.order);
    return 0;
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int write_markdown(FILE *f, const wl_compare_report *r)
{
    pm = "±";
    size_t n_regressed = 0, n_nc = 0;
    for (size_t i = 0; i + 1 < r->n_models; i++) {
        n_regressed += r->comparisons[i]->verdict == WL_VERDICT_REGRESSED;
        n_nc += r->comparisons[i]->verdict == WL_VERDICT_NOT_COMPARABLE;
    }
    fprintf(f, "## weightlint compare: %s\n\n",
            n_nc          ? "not comparable"
            : n_regressed ? "regressed"
                          : "no regression");
    fprintf(f, "%zu candidate%s against the base `", r->n_models - 1, r->n_models == 2 ? "" : "s");
    md(f, r->models[0]->path);
    fprintf(f, "`: %zu regressed, %zu not comparable. Rules: ", n_regressed, n_nc);
    md(f, r->config);
    fputs(".\n\n", f);
    for (size_t i = 0; i + 1 < r->n_models; i++)
        if (md_comparison(f, r, r->comparisons[i]) != 0) {
            pm = "+-";
            return -1;
        }
    if (r->n_models == 2 && r->comparisons[0]->is_same_layout &&
        r->cfg->model_gate[WL_CMP_ALPHA_WEIGHTED].direction != WL_CMP_DIR_OFF) {
        fputs("> **Note:** ", f);
        md(f, wl_compare_one_run_note());
        fputs("\n\n", f);
    }
    int st = md_ranking(f, r);
    pm = "+-";
    return st;
}

/* ------------------------------------------------------------------ JSON */

static void json_num(wl_json *j, const char *key, double v)
{
    wl_json_key(j, key);
    if (isnan(v))
        wl_json_null(j);
    else
        wl_json_double(j, v);
}

static void json_cell(wl_json *j, const wl_cmp_cell *c)
{
    wl_json_begin_object(j);
    wl_json_key(j, "metric");
    wl_json_string(j, wl_cmp_metric_name(c->metric));
    if (c->metric < WL_CMP_N_NUMERIC) {
        json_num(j, "base", c->base);
        json_num(j, "candidate", c->cand);
        json_num(j, "delta", c->delta);
        json_num(j, "delta_pct", c->delta_pct);
        if (c->metric == WL_CMP_ALPHA) {
            json_num(j, "base_sigma", c->base_sd);
            json_num(j, "candidate_sigma", c->cand_sd);
        }
    } else {
        wl_json_key(j, "base");
        wl_json_string(j, c->base_label);
        wl_json_key(j, "candidate");
        wl_json_string(j, c->cand_label);
    }
    wl_json_key(j, "status");
    wl_json_string(j, wl_cmp_state_name(c->state));
    if (c->why[0]) {
        wl_json_key(j, "why");
        wl_json_string(j, c->why);
    }
    if (c->matters) {
        wl_json_key(j, "matters");
        wl_json_string(j, c->matters);
    }
    wl_json_end_object(j);
}

static void json_shape(wl_json *j, const char *key, const wl_layer *l)
{
    wl_json_key(j, key);
    if (l == NULL) {
        wl_json_null(j);
        return;
    }
    wl_json_begin_array(j);
    for (int i = 0; i < l->rank; i++)
        wl_json_int(j, l->shape[i]);
    wl_json_end_array(j);
}

static void json_comparison(wl_json *j, const wl_comparison *c)
{
    char line[600];
    wl_json_begin_object(j);
    wl_json_key(j, "candidate");
    wl_json_string(j, c->cand->path);
    wl_json_key(j, "verdict");
    wl_json_string(j, wl_cmp_verdict_name(c->verdict));
    verdict_line(c, line, sizeof line);
    wl_json_key(j, "verdict_text");
    wl_json_string(j, line);
    wl_json_key(j, "comparable");
    wl_json_bool(j, c->is_comparable);
    wl_json_key(j, "not_comparable_reason");
    wl_json_string(j, c->is_comparable ? NULL : c->not_comparable_why);
    wl_json_key(j, "same_layout");
    wl_json_bool(j, c->is_same_layout);
    wl_json_key(j, "matching");
    wl_json_begin_object(j);
    wl_json_key(j, "base_layers");
    wl_json_int(j, (int64_t)c->base->n_layers);
    wl_json_key(j, "candidate_layers");
    wl_json_int(j, (int64_t)c->cand->n_layers);
    wl_json_key(j, "by_id");
    wl_json_int(j, (int64_t)c->n_by_id);
    wl_json_key(j, "matched");
    wl_json_int(j, (int64_t)c->n_matched);
    wl_json_key(j, "by_position"); /* schema 1: every pair not made by id */
    wl_json_int(j, (int64_t)(c->n_by_graph + c->n_by_name + c->n_by_order));
    wl_json_key(j, "by_graph");
    wl_json_int(j, (int64_t)c->n_by_graph);
    wl_json_key(j, "by_name");
    wl_json_int(j, (int64_t)c->n_by_name);
    wl_json_key(j, "by_order");
    wl_json_int(j, (int64_t)c->n_by_order);
    wl_json_key(j, "reshaped");
    wl_json_int(j, (int64_t)c->n_reshaped);
    wl_json_key(j, "added");
    wl_json_int(j, (int64_t)c->n_added);
    wl_json_key(j, "removed");
    wl_json_int(j, (int64_t)c->n_removed);
    wl_json_key(j, "matched_share");
    wl_json_double(j, c->matched_share);
    for (int side = 0; side < 2; side++) { /* the ids that did not pair up */
        wl_json_key(j, side ? "unmatched_candidate" : "unmatched_base");
        wl_json_begin_array(j);
        const wl_cmp_layer *u;
        for (size_t k = 0; (u = nth_unmatched(c, k)) != NULL; k++) {
            const wl_layer *x = side ? u->cand : u->base;
            if (x)
                wl_json_string(j, x->id);
        }
        wl_json_end_array(j);
    }
    wl_json_end_object(j);
    wl_json_key(j, "counts");
    wl_json_begin_object(j);
    wl_json_key(j, "regressions");
    wl_json_int(j, (int64_t)c->n_regressions);
    wl_json_key(j, "improvements");
    wl_json_int(j, (int64_t)c->n_improvements);
    wl_json_key(j, "changed");
    wl_json_int(j, (int64_t)c->n_changed);
    wl_json_end_object(j);
    wl_json_key(j, "model");
    wl_json_begin_array(j);
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++)
        json_cell(j, &c->model[m]);
    wl_json_end_array(j);
    wl_json_key(j, "layers");
    wl_json_begin_array(j);
    for (size_t i = 0; i < c->n_layers; i++) {
        const wl_cmp_layer *l = &c->layers[i];
        wl_json_begin_object(j);
        wl_json_key(j, "id");
        wl_json_string(j, l->base ? l->base->id : l->cand->id);
        wl_json_key(j, "base_id");
        wl_json_string(j, l->base ? l->base->id : NULL);
        wl_json_key(j, "candidate_id");
        wl_json_string(j, l->cand ? l->cand->id : NULL);
        wl_json_key(j, "name");
        wl_json_string(j, l->base ? l->base->name : l->cand->name);
        wl_json_key(j, "match");
        wl_json_string(j, wl_cmp_match_name(l->match));
        wl_json_key(j, "reshaped");
        wl_json_bool(j, l->is_reshaped);
        for (int side = 0; side < 2; side++) { /* where each side's layer sits in its graph */
            const wl_layer *x = side ? l->cand : l->base;
            wl_json_key(j, side ? "candidate_place" : "base_place");
            if (!x) {
                wl_json_null(j);
                continue;
            }
            wl_json_begin_object(j);
            wl_json_key(j, "depth");
            wl_json_int(j, x->depth);
            wl_json_key(j, "op_type");
            wl_json_string(j, x->op_type);
            wl_json_key(j, "node");
            wl_json_string(j, x->node_name);
            wl_json_key(j, "input");
            wl_json_int(j, x->input_index);
            wl_json_end_object(j);
        }
        json_shape(j, "base_shape", l->base);
        json_shape(j, "candidate_shape", l->cand);
        wl_json_key(j, "status");
        wl_json_string(j, wl_cmp_state_name(l->state));
        wl_json_key(j, "metrics");
        wl_json_begin_array(j);
        for (int m = 0; m < WL_CMP_N_METRICS; m++)
            json_cell(j, &l->cells[m]);
        wl_json_end_array(j);
        wl_json_end_object(j);
    }
    wl_json_end_array(j);
    wl_json_key(j, "regressions");
    wl_json_begin_array(j);
    const wl_cmp_layer *l;
    const wl_cmp_cell *cell;
    for (size_t k = 0; (cell = nth_regression(c, k, &l)) != NULL; k++) {
        regression_head(l, cell, line, sizeof line);
        wl_json_begin_object(j);
        wl_json_key(j, "layer");
        wl_json_string(j, l ? (l->base ? l->base->id : l->cand->id) : NULL);
        wl_json_key(j, "metric");
        wl_json_string(j, wl_cmp_metric_name(cell->metric));
        wl_json_key(j, "message");
        wl_json_string(j, line);
        wl_json_key(j, "matters");
        wl_json_string(j, cell->matters);
        wl_json_end_object(j);
    }
    wl_json_end_array(j);
    wl_json_end_object(j);
}

static void json_gate(wl_json *j, const wl_cmp_gate *g)
{
    static const char *const dirs[] = {"off", "increase", "decrease", "either"};
    wl_json_begin_object(j);
    wl_json_key(j, "direction");
    wl_json_string(j, dirs[g->direction]);
    wl_json_key(j, "tolerance");
    wl_json_double(j, g->tolerance);
    wl_json_key(j, "relative");
    wl_json_bool(j, g->is_relative);
    wl_json_end_object(j);
}

static void json_settings(wl_json *j, const wl_compare_report *r)
{
    const wl_compare_cfg *cfg = r->cfg;
    wl_json_key(j, "settings");
    wl_json_begin_object(j);
    wl_json_key(j, "config");
    wl_json_string(j, r->config);
    wl_json_key(j, "fail_on_regression");
    wl_json_bool(j, r->fail_on_regression);
    wl_json_key(j, "min_matched");
    wl_json_double(j, cfg->min_matched);
    wl_json_key(j, "alpha_range");
    if (cfg->has_alpha_range) {
        wl_json_begin_array(j);
        wl_json_double(j, cfg->alpha_lo);
        wl_json_double(j, cfg->alpha_hi);
        wl_json_end_array(j);
    } else {
        wl_json_null(j);
    }
    wl_json_key(j, "phase");
    wl_json_begin_array(j);
    size_t np;
    const char *const *names = wl_phase_names(&np);
    for (size_t i = 0; i < np; i++)
        if (cfg->phase_mask & (1u << i))
            wl_json_string(j, names[i]);
    wl_json_end_array(j);
    wl_json_key(j, "fit_unreliable");
    wl_json_bool(j, cfg->fit_unreliable);
    wl_json_key(j, "min_tail");
    wl_json_double(j, cfg->min_tail);
    wl_json_key(j, "max_D");
    wl_json_double(j, cfg->max_D);
    wl_json_key(j, "non_finite");
    wl_json_bool(j, cfg->non_finite);
    wl_json_key(j, "alpha_sigmas");
    wl_json_double(j, cfg->alpha_sigmas);
    wl_json_key(j, "hysteresis");
    wl_json_double(j, cfg->hysteresis);
    wl_json_key(j, "change_tolerance");
    wl_json_double(j, cfg->change_rtol);
    wl_json_key(j, "layer_gates");
    wl_json_begin_object(j);
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++) {
        wl_json_key(j, wl_cmp_metric_name((wl_cmp_metric)m));
        json_gate(j, &cfg->layer_gate[m]);
    }
    wl_json_end_object(j);
    wl_json_key(j, "model_gates");
    wl_json_begin_object(j);
    for (int m = 0; m < WL_CMP_N_NUMERIC; m++) {
        wl_json_key(j, wl_cmp_metric_name((wl_cmp_metric)m));
        json_gate(j, &cfg->model_gate[m]);
    }
    wl_json_end_object(j);
    wl_json_end_object(j);
}

static void json_model(wl_json *j, const wl_analysis *a)
{
    wl_json_begin_object(j);
    wl_json_key(j, "path");
    wl_json_string(j, a->path);
    wl_json_key(j, "layers");
    wl_json_int(j, (int64_t)a->n_layers);
    json_num(j, "alpha", a->summary.alpha);
    json_num(j, "alpha_weighted", a->summary.alpha_weighted);
    json_num(j, "log_norm", a->summary.log_norm);
    json_num(j, "log_spectral_norm", a->summary.log_spectral_norm);
    wl_json_end_object(j);
}

/* Returns -1 when out of memory (the report is incomplete), else 0. */
static int write_json(FILE *f, const wl_compare_report *r)
{
    wl_json j;
    wl_json_init(&j, f, 1);
    wl_json_begin_object(&j);
    wl_json_key(&j, "schema_version");
    wl_json_int(&j, WL_COMPARE_JSON_SCHEMA_VERSION);
    wl_json_key(&j, "tool");
    wl_json_begin_object(&j);
    wl_json_key(&j, "name");
    wl_json_string(&j, "weightlint");
    wl_json_key(&j, "version");
    wl_json_string(&j, wl_version());
    wl_json_end_object(&j);
    wl_json_key(&j, "exit_code");
    wl_json_int(&j, r->exit_code);
    json_settings(&j, r);
    wl_json_key(&j, "base");
    json_model(&j, r->models[0]);
    wl_json_key(&j, "candidates");
    wl_json_begin_array(&j);
    for (size_t i = 1; i < r->n_models; i++)
        json_model(&j, r->models[i]);
    wl_json_end_array(&j);
    wl_json_key(&j, "comparisons");
    wl_json_begin_array(&j);
    for (size_t i = 0; i + 1 < r->n_models; i++)
        json_comparison(&j, r->comparisons[i]);
    wl_json_end_array(&j);
    ranking rk;
    int have = make_ranking(r, &rk);
    if (have < 0)
        return -1;
    wl_json_key(&j, "ranking");
    if (!have) {
        wl_json_null(&j);
    } else {
        wl_json_begin_object(&j);
        wl_json_key(&j, "by");
        wl_json_string(&j, "alpha_weighted");
        wl_json_key(&j, "one_run");
        wl_json_bool(&j, rk.is_one_run);
        wl_json_key(&j, "note");
        wl_json_string(&j, rk.is_one_run ? wl_compare_one_run_note() : NULL);
        wl_json_key(&j, "models");
        wl_json_begin_array(&j);
        for (size_t i = 0; i < rk.n; i++) {
            size_t k = rk.order[i];
            const wl_analysis *a = r->models[k];
            wl_json_begin_object(&j);
            wl_json_key(&j, "rank");
            wl_json_int(&j, (int64_t)(i + 1));
            wl_json_key(&j, "path");
            wl_json_string(&j, a->path);
            wl_json_key(&j, "is_base");
            wl_json_bool(&j, k == 0);
            json_num(&j, "alpha_weighted", a->summary.alpha_weighted);
            json_num(&j, "alpha", a->summary.alpha);
            wl_json_key(&j, "layers");
            wl_json_begin_array(&j);
            const wl_analysis *base = r->models[0];
            for (size_t q = 0; q < base->n_layers; q++) {
                const wl_layer *l = layer_in(r, k, &base->layers[q]);
                wl_json_begin_object(&j);
                wl_json_key(&j, "id");
                wl_json_string(&j, base->layers[q].id);
                json_num(&j, "alpha", l && l->status == WL_LAYER_SUCCESS ? l->alpha : (double)NAN);
                wl_json_key(&j, "num_spikes");
                if (l && l->has_mp)
                    wl_json_int(&j, l->num_spikes);
                else
                    wl_json_null(&j);
                wl_json_key(&j, "phase");
                wl_json_string(&j, l ? l->phase : NULL);
                wl_json_end_object(&j);
            }
            wl_json_end_array(&j);
            wl_json_end_object(&j);
        }
        wl_json_end_array(&j);
        wl_json_end_object(&j);
        free(rk.order);
    }
    wl_json_end_object(&j);
    fputc('\n', f);
    return 0;
}

/* ------------------------------------------------------------------ GitHub annotations */

static void write_github(FILE *f, const wl_compare_report *r)
{
    const char *level = r->fail_on_regression ? "error" : "warning";
    size_t shown = 0, total = 0;
    for (size_t i = 0; i + 1 < r->n_models; i++) {
        const wl_comparison *c = r->comparisons[i];
        if (c->verdict == WL_VERDICT_NOT_COMPARABLE) {
            fputs("::error file=", f);
            wl_report_github_escape(f, c->cand->path, 1);
            fputs(",title=weightlint compare: not comparable::", f);
            wl_report_github_escape(f, c->cand->path, 0);
            fputs(" vs ", f);
            wl_report_github_escape(f, c->base->path, 0);
            fputs(": ", f);
            wl_report_github_escape(f, c->not_comparable_why, 0);
            fputs("\n", f);
            continue;
        }
        total += c->n_regressions;
        const wl_cmp_layer *l;
        const wl_cmp_cell *cell;
        for (size_t k = 0; (cell = nth_regression(c, k, &l)) != NULL; k++) {
            if (shown >= WL_REPORT_GITHUB_MAX_PER_LEVEL)
                continue;
            char head[600], title[600], name[512];
            regression_head(l, cell, head, sizeof head);
            snprintf(title, sizeof title, "weightlint compare: %s %s regressed",
                     l ? layer_label(l, name, sizeof name) : "model",
                     wl_cmp_metric_name(cell->metric));
            fprintf(f, "::%s file=", level);
            wl_report_github_escape(f, c->cand->path, 1);
            fputs(",title=", f);
            wl_report_github_escape(f, title, 1);
            fputs("::", f);
            wl_report_github_escape(f, head, 0);
            fputs(" vs ", f);
            wl_report_github_escape(f, c->base->path, 0);
            fputs(": ", f);
            wl_report_github_escape(f, cell->matters, 0);
            fputs("\n", f);
            shown++;
        }
    }
    if (total > shown)
        fprintf(f,
                "::%s title=weightlint compare::%zu more regressions not annotated (GitHub "
                "shows 10 per step); see the job summary\n",
                level, total - shown);
}

/* ------------------------------------------------------------------ entry point */

wl_status wl_compare_write(FILE *f, wl_cmp_format fmt, const wl_compare_report *r, wl_err *err)
{
    switch (fmt) {
    case WL_CMP_FORMAT_MARKDOWN:
        if (write_markdown(f, r) != 0)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory writing the comparison");
        break;
    case WL_CMP_FORMAT_JSON:
        if (write_json(f, r) != 0)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory writing the comparison");
        break;
    case WL_CMP_FORMAT_GITHUB:
        write_github(f, r);
        break;
    default:
        if (write_text(f, r) != 0)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory writing the comparison");
        break;
    }
    if (fflush(f) != 0 || ferror(f))
        return WL_FAIL(err, WL_E_IO, "write error");
    return WL_OK;
}
