/*
 * cmd_analyze.c — `weightlint analyze MODEL...`: the per-layer metric table and the model
 * summary, as text, CSV or JSON (docs/analyze-json.md). JSON uses WeightWatcher's column names
 * so that it can be diffed against WeightWatcher's details DataFrame.
 */
#include "cli.h"
#include "columns.h"
#include "json_out.h"
#include "report.h"
#include "weightlint.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef enum out_format { FMT_TEXT, FMT_CSV, FMT_JSON } out_format;

/* wl_skipped.reason_code values, in the order coverage lines list them. */
static const char *const codes[] = {"not_weight", "rank",   "min_evals", "max_evals",
                                    "max_n",      "dtype",  "filter",    "alias",
                                    "unsupported_op"};

static const char analyze_help[] =
    "usage: weightlint analyze [options] MODEL...\n"
    "\n"
    "Per-layer spectral metrics (alpha, alpha_weighted, D, norms, ranks, MP fit) of ONNX models.\n"
    "\n"
    "Options:\n"
    "  -f, --format FMT   text (alias: table), csv or json            [text]\n"
    "  -o, --output FILE  write the report to FILE instead of stdout\n"
    "      --compat ww    WeightWatcher 0.7.5.5's exact layer set and size filters\n"
    "      --layers GLOB  analyze only tensors whose name matches GLOB (fnmatch)\n"
    "      --mp-fit       Marchenko-Pastur fit (always on outside --compat ww)\n"
    "      --randomize    shuffled-weights ESD, rand_distance, correlation traps\n"
    "      --seed N       seed of the shuffle stream                         [0]\n"
    "      --threads N    worker threads                                     [2]\n"
    "      --fast         float32 Gram matrix: ~2x faster, APPROXIMATE (alpha off by up to\n"
    "                     ~3e-5; rank columns unreliable); labelled in every output\n"
    "      --dist-test    is the tail a power law? TPL, exponential, stretched exp and\n"
    "                     log-normal fits, likelihood-ratio tests and best_fit (powerlaw 1.5)\n"
    "      --evals DIR    write each model's eigenvalues to DIR/<model>.evals.txt\n"
    "      --cache DIR    reuse per-layer results from DIR (safe to share between\n"
    "                     concurrent processes and shards)\n"
    "      --shard K/N    score only shard K (0-based) of N, balanced by predicted cost;\n"
    "                     writes a part for `weightlint merge` (needs --format json)\n"
    "      --shard auto   K and N from SLURM_ARRAY_TASK_ID/_COUNT (minus _MIN), or\n"
    "                     JOB_COMPLETION_INDEX with --shard-count or WEIGHTLINT_SHARD_COUNT\n"
    "      --shard-count N  the N of --shard auto on engines that do not export it\n"
    "      --progress     show progress on stderr even when it is not a terminal\n"
    "      --no-progress  never show progress\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit codes: 0 analysis done, 2 usage error, 3 model unreadable/malformed/unsupported,\n"
    "4 numerical, resource or internal failure.\n";

/* How many tensors of a were skipped with this reason code. */
static size_t skipped_count(const wl_analysis *a, const char *code)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n_skipped; i++)
        if (strcmp(a->skipped[i].reason_code, code) == 0)
            k++;
    return k;
}

typedef struct progress_state {
    int enabled;
    const char *model;
    struct timespec start;
    int printed;
} progress_state;

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* One line on stderr, rewritten in place: layer, done/total, elapsed and a linear estimate of
 * the time left. Only once the model has taken a second, so small models print nothing. */
static void on_progress(void *ctx, const char *layer, size_t done, size_t total)
{
    progress_state *p = ctx;
    double e = elapsed_s(&p->start);
    if (!p->enabled || e < 1.0 || total == 0)
        return;
    double eta = done ? e * (double)(total - done) / (double)done : 0.0;
    fprintf(stderr, "\r\033[K%s: %zu/%zu layers, %.1fs elapsed, ~%.0fs left (%.40s)", p->model,
            done, total, e, eta, layer);
    p->printed = 1;
}

/* ------------------------------------------------------------------ text */

/* The text table's columns take their width from the data; the name column what the terminal
 * width leaves (at least 32), longer names cut in the middle (JSON and CSV keep them whole). */
static void write_text(FILE *out, const wl_analysis *a)
{
    int wn = 4, ws = 5;
    for (size_t i = 0; i < a->n_layers; i++) {
        char shape[64];
        wl_report_shape_str(a->layers[i].shape, a->layers[i].rank, shape, sizeof shape);
        if ((int)strlen(a->layers[i].name) > wn)
            wn = (int)strlen(a->layers[i].name);
        if ((int)strlen(shape) > ws)
            ws = (int)strlen(shape);
    }
    int width = (int)(out == stdout ? cli_term_width() : WL_REPORT_DEFAULT_WIDTH);
    int room = width - (2 + 1 + ws + 71 + 14); /* the numbers, and a 14-column status */
    if (wn > (room > 32 ? room : 32))
        wn = room > 32 ? room : 32;
    char cut[1024];
    fprintf(out, "%s  (%s mode; %zu tensors: %zu analyzed, %zu skipped, %zu fit failed, %zu "
                 "non-finite)%s\n",
            a->path, a->compat == WL_COMPAT_WW ? "--compat ww" : "default", a->n_tensors,
            a->n_layers - a->n_nonfinite, a->n_skipped, a->n_failed, a->n_nonfinite,
            a->fast ? "  [--fast: APPROXIMATE float32 Gram]" : "");
    if (a->n_layers == 0) {
        fprintf(out, "  no layer analyzed: every tensor was skipped (reasons below)\n");
    } else {
        /* beside alpha, how far to trust it (issue 14): its standard error and its spread over
         * the KS-near-optimal xmins (alpha_hi - alpha_lo; docs/metrics.md) */
        fprintf(out, "  %-*s %-*s %8s %7s %7s %9s %8s %10s %5s %9s %6s  %s\n", wn, "name", ws,
                "shape", "alpha", "+-se", "spread", "alpha_w", "D", "lambda_max", "spk",
                "stab_rank", "mp_sr", "status");
        for (size_t i = 0; i < a->n_layers; i++) {
            const wl_layer *l = &a->layers[i];
            char shape[64], al[24], se[24], spr[24], aw[24], d[24], lm[24], sr[24], mp[24];
            wl_report_shape_str(l->shape, l->rank, shape, sizeof shape);
            wl_report_ellipsize(l->name, (size_t)wn, cut, sizeof cut);
            if (l->status == WL_LAYER_NONFINITE) {
                fprintf(out, "  %-*s %-*s  non-finite weight %g at flat index %llu\n", wn, cut, ws,
                        shape, l->nonfinite_value, (unsigned long long)l->nonfinite_index);
                continue;
            }
            wl_report_num(l->alpha, al, sizeof al);
            if (isfinite(l->alpha_se))
                wl_report_num(l->alpha_se, se, sizeof se);
            else
                snprintf(se, sizeof se, "-");
            if (isfinite(l->alpha_spread))
                wl_report_num(l->alpha_spread, spr, sizeof spr);
            else
                snprintf(spr, sizeof spr, "-");
            wl_report_num(l->alpha_weighted, aw, sizeof aw);
            wl_report_num(l->D, d, sizeof d);
            wl_report_num(l->lambda_max, lm, sizeof lm);
            wl_report_num(l->stable_rank, sr, sizeof sr);
            if (l->has_mp)
                wl_report_num(l->mp_softrank, mp, sizeof mp);
            else
                snprintf(mp, sizeof mp, "-");
            const char *st = l->status == WL_LAYER_FIT_FAILED ? "fit failed" : l->warning;
            char spk[24];
            if (l->status == WL_LAYER_FIT_FAILED)
                snprintf(spk, sizeof spk, "-");
            else
                snprintf(spk, sizeof spk, "%lld", (long long)l->num_pl_spikes);
            fprintf(out, "  %-*s %-*s %8s %7s %7s %9s %8s %10s %5s %9s %6s  %s%s%s\n", wn, cut,
                    ws, shape, al, se, spr, aw, d, lm, spk, sr, mp, st,
                    l->phase ? (st[0] ? ", " : "") : "",
                    l->phase ? l->phase : st[0] ? "" : "-"); /* no phase: JSON phase_reason */
        }
    }
    const wl_summary *s = &a->summary;
    if (a->n_layers == a->n_nonfinite)
        goto skipped; /* no mean to show */
    char v[6][24];
    wl_report_num(s->alpha, v[0], 24);
    wl_report_num(s->alpha_weighted, v[1], 24);
    wl_report_num(s->log_norm, v[2], 24);
    wl_report_num(s->log_spectral_norm, v[3], 24);
    wl_report_num(s->log_alpha_norm, v[4], 24);
    wl_report_num(s->stable_rank, v[5], 24);
    fprintf(out, "  summary: alpha=%s alpha_weighted=%s log_norm=%s log_spectral_norm=%s "
                 "log_alpha_norm=%s stable_rank=%s\n",
            v[0], v[1], v[2], v[3], v[4], v[5]);
skipped:
    if (a->weight_params > 0) {
        char params[128];
        wl_report_params_str(a, params, sizeof params);
        fprintf(out, "  coverage: %s\n", params);
    }
    if (a->n_skipped > 0) {
        fprintf(out, "  skipped:");
        for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
            size_t k = skipped_count(a, codes[c]);
            if (k)
                fprintf(out, " %s=%zu", codes[c], k);
        }
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------ csv */

static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_double(FILE *out, double v)
{
    if (isnan(v))
        fputs("nan", out);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", out);
    else
        fprintf(out, "%.17g", v);
}

static void write_csv_header(FILE *out)
{
    fputs("model,id,name,shape,status,precision", out);
    for (size_t c = 0; c < cli_n_columns; c++)
        fprintf(out, ",%s", cli_columns[c].name);
    fputc('\n', out);
}

static void write_csv(FILE *out, const wl_analysis *a)
{
    for (size_t i = 0; i < a->n_layers; i++) {
        const wl_layer *l = &a->layers[i];
        char shape[128];
        wl_report_shape_str(l->shape, l->rank, shape, sizeof shape);
        csv_field(out, a->path);
        fputc(',', out);
        csv_field(out, l->id);
        fputc(',', out);
        csv_field(out, l->name);
        fprintf(out, ",%s,%s,%s", shape, cli_layer_status(l), a->fast ? "float32-approx" : "float64");
        for (size_t c = 0; c < cli_n_columns; c++) {
            const col_def *cd = &cli_columns[c];
            fputc(',', out);
            if (!col_present(l, cd) || (cd->group == 3 && !l->dist_ok))
                continue;
            if (cd->kind == COL_DOUBLE)
                csv_double(out, col_double(l, cd));
            else if (cd->kind == COL_INT)
                fprintf(out, "%lld", (long long)col_int(l, cd));
            else if (col_str(l, cd))
                csv_field(out, col_str(l, cd));
        }
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------ json */

static void json_shape(wl_json *j, const int64_t *shape, int rank)
{
    wl_json_begin_array(j);
    for (int i = 0; i < rank; i++)
        wl_json_int(j, shape[i]);
    wl_json_end_array(j);
}

static void json_layer(wl_json *j, const wl_analysis *a, const wl_layer *l)
{
    wl_json_begin_object(j);
    wl_json_key(j, "model");
    wl_json_string(j, a->path);
    wl_json_key(j, "id");
    wl_json_string(j, l->id);
    wl_json_key(j, "name");
    wl_json_string(j, l->name);
    wl_json_key(j, "shape");
    json_shape(j, l->shape, l->rank);
    wl_json_key(j, "status");
    wl_json_string(j, cli_layer_status(l));
    if (l->op_type != NULL) {
        wl_json_key(j, "node_name");
        wl_json_string(j, l->node_name);
        wl_json_key(j, "op_type");
        wl_json_string(j, l->op_type);
        wl_json_key(j, "dequantized");
        wl_json_bool(j, l->dequantized);
        wl_json_key(j, "input_index");
        wl_json_int(j, l->input_index);
        wl_json_key(j, "depth"); /* the consuming node's topological rank: rows are in it */
        wl_json_int(j, l->depth);
    }
    if (l->status_reason[0]) {
        wl_json_key(j, "status_reason");
        wl_json_string(j, l->status_reason);
    }
    if (l->has_dist && !l->dist_ok) {
        wl_json_key(j, "dist_reason");
        wl_json_string(j, l->dist_reason);
    }
    if (l->status == WL_LAYER_NONFINITE) {
        wl_json_key(j, "nonfinite_index");
        wl_json_int(j, (int64_t)l->nonfinite_index);
        wl_json_key(j, "nonfinite_value");
        wl_json_double(j, l->nonfinite_value);
    }
    for (size_t c = 0; c < cli_n_columns; c++) {
        const col_def *cd = &cli_columns[c];
        if (!col_present(l, cd))
            continue;
        if (l->status == WL_LAYER_NONFINITE && cd->kind != COL_STR &&
            strcmp(cd->name, "layer_id") != 0 && strcmp(cd->name, "N") != 0 &&
            strcmp(cd->name, "M") != 0 && strcmp(cd->name, "rf") != 0 &&
            strcmp(cd->name, "Q") != 0)
            continue;
        wl_json_key(j, cd->name);
        if (l->status == WL_LAYER_FIT_FAILED && a->compat != WL_COMPAT_WW &&
            strcmp(cd->name, "num_pl_spikes") == 0)
            wl_json_null(j); /* no fit, no tail (the -1 sentinel is --compat ww only) */
        else if (cd->group == 3 && !l->dist_ok)
            wl_json_null(j); /* no comparison possible: dist_reason says why */
        else if (cd->kind == COL_DOUBLE)
            wl_json_double(j, col_double(l, cd));
        else if (cd->kind == COL_INT)
            wl_json_int(j, col_int(l, cd));
        else
            wl_json_string(j, col_str(l, cd));
    }
    if (l->phase == NULL && l->phase_reason != NULL) {
        wl_json_key(j, "phase_reason");
        wl_json_string(j, l->phase_reason);
    }
    wl_json_end_object(j);
}

static void json_summary(wl_json *j, const wl_summary *s)
{
    wl_json_begin_object(j);
    const struct {
        const char *k;
        double v;
    } rows[] = {{"log_norm", s->log_norm},
                {"alpha", s->alpha},
                {"alpha_weighted", s->alpha_weighted},
                {"log_alpha_norm", s->log_alpha_norm},
                {"log_spectral_norm", s->log_spectral_norm},
                {"stable_rank", s->stable_rank}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        wl_json_key(j, rows[i].k);
        wl_json_double(j, rows[i].v);
    }
    if (s->has_mp_softrank) {
        wl_json_key(j, "mp_softrank");
        wl_json_double(j, s->mp_softrank);
    }
    wl_json_end_object(j);
}

/* A shard's part (analyze --shard): where it fits and what `merge` checks (docs/shards.md). */
static void json_shard(wl_json *j, const wl_analysis *a, const wl_options *o)
{
    wl_json_begin_object(j);
    wl_json_key(j, "index");
    wl_json_int(j, a->shard_index);
    wl_json_key(j, "count");
    wl_json_int(j, a->shard_count);
    wl_json_key(j, "model_sha256");
    wl_json_string(j, a->model_sha256);
    wl_json_key(j, "settings");
    wl_json_begin_object(j);
    wl_json_key(j, "compat");
    wl_json_string(j, o->compat == WL_COMPAT_WW ? "ww" : "none");
    wl_json_key(j, "mp_fit");
    wl_json_bool(j, o->mp_fit);
    wl_json_key(j, "randomize");
    wl_json_bool(j, o->randomize);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    wl_json_key(j, "seed");
    wl_json_string(j, seed);
    wl_json_key(j, "layers");
    if (o->layers != NULL)
        wl_json_string(j, o->layers);
    else
        wl_json_null(j);
    wl_json_key(j, "fast");
    wl_json_bool(j, o->fast);
    wl_json_key(j, "dist_test");
    wl_json_bool(j, o->dist_test);
    wl_json_end_object(j);
    wl_json_key(j, "inventory");
    wl_json_begin_array(j);
    for (size_t i = 0; i < a->n_inventory; i++) {
        wl_json_begin_object(j);
        wl_json_key(j, "id");
        wl_json_string(j, a->inventory[i].id);
        wl_json_key(j, "shard");
        wl_json_int(j, a->inventory[i].shard);
        wl_json_end_object(j);
    }
    wl_json_end_array(j);
    wl_json_end_object(j);
}

static void json_model(wl_json *j, const wl_analysis *a, const wl_options *o)
{
    wl_json_begin_object(j);
    wl_json_key(j, "path");
    wl_json_string(j, a->path);
    wl_json_key(j, "summary");
    if (a->n_layers - a->n_nonfinite > 0)
        json_summary(j, &a->summary);
    else
        wl_json_null(j);
    wl_json_key(j, "coverage");
    wl_json_begin_object(j);
    wl_json_key(j, "tensors");
    wl_json_int(j, (int64_t)a->n_tensors);
    wl_json_key(j, "analyzed");
    wl_json_int(j, (int64_t)(a->n_layers - a->n_nonfinite));
    wl_json_key(j, "fit_failed");
    wl_json_int(j, (int64_t)a->n_failed);
    wl_json_key(j, "non_finite");
    wl_json_int(j, (int64_t)a->n_nonfinite);
    wl_json_key(j, "skipped");
    wl_json_int(j, (int64_t)a->n_skipped);
    wl_json_key(j, "weight_params");
    wl_json_int(j, (int64_t)a->weight_params);
    wl_json_key(j, "analyzed_params");
    wl_json_int(j, (int64_t)a->analyzed_params);
    wl_json_key(j, "skipped_by_reason");
    wl_json_begin_object(j);
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        size_t k = skipped_count(a, codes[c]);
        if (k) {
            wl_json_key(j, codes[c]);
            wl_json_int(j, (int64_t)k);
        }
    }
    wl_json_end_object(j);
    wl_json_end_object(j);
    wl_json_key(j, "skipped");
    wl_json_begin_array(j);
    for (size_t i = 0; i < a->n_skipped; i++) {
        const wl_skipped *s = &a->skipped[i];
        wl_json_begin_object(j);
        wl_json_key(j, "name");
        wl_json_string(j, s->name);
        wl_json_key(j, "layer_id");
        wl_json_int(j, s->layer_id);
        wl_json_key(j, "shape");
        json_shape(j, s->shape, s->rank);
        wl_json_key(j, "dtype");
        wl_json_string(j, s->dtype);
        wl_json_key(j, "reason_code");
        wl_json_string(j, s->reason_code);
        wl_json_key(j, "reason");
        wl_json_string(j, s->reason);
        wl_json_key(j, "unanalyzed_weight");
        wl_json_bool(j, s->is_weight);
        wl_json_end_object(j);
    }
    wl_json_end_array(j);
    wl_json_key(j, "provenance");
    wl_json_begin_object(j);
    wl_json_key(j, "weightlint_version");
    wl_json_string(j, wl_version());
    wl_json_key(j, "compat");
    wl_json_string(j, a->compat == WL_COMPAT_WW ? "ww" : "none");
    wl_json_key(j, "blas");
    wl_json_string(j, a->blas ? a->blas : wl_blas_info());
    wl_json_key(j, "precision");
    wl_json_string(j, a->fast ? "float32-gram (approximate, --fast)" : "float64");
    wl_json_key(j, "ir_version");
    wl_json_int(j, a->ir_version);
    wl_json_key(j, "producer");
    wl_json_string(j, a->producer);
    wl_json_end_object(j);
    if (a->shard_count > 0 && o != NULL) {
        wl_json_key(j, "shard");
        json_shard(j, a, o);
    }
    wl_json_end_object(j);
}

void cli_write_analysis_json(FILE *out, wl_analysis *const *results, int n_models,
                             const wl_options *opts)
{
    wl_json j;
    wl_json_init(&j, out, 1);
    wl_json_begin_object(&j);
    wl_json_key(&j, "schema_version");
    wl_json_int(&j, CLI_ANALYSIS_SCHEMA_VERSION);
    wl_json_key(&j, "tool");
    wl_json_string(&j, "weightlint");
    wl_json_key(&j, "layers");
    wl_json_begin_array(&j);
    for (int m = 0; m < n_models; m++)
        for (size_t i = 0; i < results[m]->n_layers; i++)
            json_layer(&j, results[m], &results[m]->layers[i]);
    wl_json_end_array(&j);
    wl_json_key(&j, "models");
    wl_json_begin_array(&j);
    for (int m = 0; m < n_models; m++)
        json_model(&j, results[m], opts);
    wl_json_end_array(&j);
    wl_json_end_object(&j);
    fputc('\n', out);
}

/* ------------------------------------------------------------------ evals */

static int write_evals(const char *dir, const wl_analysis *a)
{
    const char *base = strrchr(a->path, '/');
    base = base ? base + 1 : a->path;
    char stem[512];
    snprintf(stem, sizeof stem, "%s", base);
    size_t len = strlen(stem);
    static const char *const exts[] = {".onnx", ".safetensors.index.json", ".safetensors"};
    for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
        size_t k = strlen(exts[e]);
        if (len > k && strcmp(stem + len - k, exts[e]) == 0) {
            stem[len - k] = '\0';
            break;
        }
    }
    char path[1024], tmp[1100];
    snprintf(path, sizeof path, "%s/%s.evals.txt", dir, stem);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        cli_error("%s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < a->n_layers; i++) {
        const wl_layer *l = &a->layers[i];
        if (l->evals == NULL)
            continue;
        fprintf(f, "# %s %lld\n", l->name, (long long)l->num_evals);
        for (int64_t k = 0; k < l->num_evals; k++)
            fprintf(f, "%.17g\n", l->evals[k]);
    }
    /* Write to a temporary file and rename, so a failure leaves nothing half-written. */
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ --shard */

/* A non-negative decimal integer below 2^31 from s (all of it), or -1. */
static long shard_number(const char *s)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return (errno || *end || v > 0x7fffffffL) ? -1 : v;
}

/* The shard from "K/N", or with "auto" from the engine's environment (docs/shards.md).
 * count_opt: --shard-count (or -1). Prints why and returns -1 on a bad value. */
static int resolve_shard(const char *arg, long count_opt, int *index, int *count)
{
    long k = -1, n = -1;
    const char *what = "--shard";
    if (strcmp(arg, "auto") != 0) {
        const char *slash = strchr(arg, '/');
        char kbuf[32];
        if (slash != NULL && (size_t)(slash - arg) < sizeof kbuf) {
            memcpy(kbuf, arg, (size_t)(slash - arg));
            kbuf[slash - arg] = '\0';
            k = shard_number(kbuf);
            n = shard_number(slash + 1);
        }
        if (k < 0 || n < 1) {
            cli_error("--shard '%s': expected K/N (shard K of N, 0 <= K < N) or auto", arg);
            return -1;
        }
    } else if (getenv("SLURM_ARRAY_TASK_ID") != NULL) {
        what = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT";
        k = shard_number(getenv("SLURM_ARRAY_TASK_ID"));
        n = count_opt > 0 ? count_opt : shard_number(getenv("SLURM_ARRAY_TASK_COUNT"));
        const char *min = getenv("SLURM_ARRAY_TASK_MIN"); /* --array=1-4 numbers from 1 */
        if (min != NULL && k >= 0) {
            long lo = shard_number(min);
            k = lo >= 0 && lo <= k ? k - lo : -1;
        }
    } else if (getenv("JOB_COMPLETION_INDEX") != NULL) {
        what = "JOB_COMPLETION_INDEX with --shard-count/WEIGHTLINT_SHARD_COUNT";
        k = shard_number(getenv("JOB_COMPLETION_INDEX"));
        n = count_opt > 0 ? count_opt : shard_number(getenv("WEIGHTLINT_SHARD_COUNT"));
    } else {
        cli_error("--shard auto: none of SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX is set "
                  "(give --shard K/N)");
        return -1;
    }
    if (k < 0 || n < 1 || k >= n) {
        cli_error("--shard: %s: shard %ld of %ld does not exist (expected 0 <= K < N)", what, k,
                  n);
        return -1;
    }
    *index = (int)k;
    *count = (int)n;
    return 0;
}

/* ------------------------------------------------------------------ main */

int cli_analyze_main(int argc, char **argv)
{
    enum { OPT_COMPAT = 256, OPT_LAYERS, OPT_MP, OPT_RAND, OPT_SEED, OPT_EVALS, OPT_PROG,
           OPT_NOPROG, OPT_THREADS, OPT_FAST, OPT_DIST, OPT_SHARD,
           OPT_SHARD_COUNT, OPT_CACHE };
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},  {"output", required_argument, NULL, 'o'},
        {"compat", required_argument, NULL, OPT_COMPAT},
        {"layers", required_argument, NULL, OPT_LAYERS},
        {"mp-fit", no_argument, NULL, OPT_MP},     {"randomize", no_argument, NULL, OPT_RAND},
        {"seed", required_argument, NULL, OPT_SEED},
        {"evals", required_argument, NULL, OPT_EVALS},
        {"progress", no_argument, NULL, OPT_PROG}, {"no-progress", no_argument, NULL, OPT_NOPROG},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"fast", no_argument, NULL, OPT_FAST},
        {"dist-test", no_argument, NULL, OPT_DIST},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"shard-count", required_argument, NULL, OPT_SHARD_COUNT},
        {"cache", required_argument, NULL, OPT_CACHE},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    out_format fmt = FMT_TEXT;
    const char *output = NULL, *layers = NULL, *evals_dir = NULL, *shard = NULL, *cache = NULL;
    long shard_count = -1;
    wl_compat compat = WL_COMPAT_NONE;
    int mp = 0, rnd = 0, progress = -1, threads = 0, fast = 0, dist = 0;
    uint64_t seed = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") == 0 || strcmp(optarg, "table") == 0)
                fmt = FMT_TEXT;
            else if (strcmp(optarg, "csv") == 0)
                fmt = FMT_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = FMT_JSON;
            else {
                cli_error("--format '%s': expected text, table, csv or json", optarg);
                return WL_EXIT_USAGE;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_COMPAT:
            if (cli_parse_compat(optarg, &compat) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_LAYERS:
            layers = optarg;
            break;
        case OPT_MP:
            mp = 1;
            break;
        case OPT_RAND:
            rnd = 1;
            break;
        case OPT_SEED:
            if (cli_parse_seed(optarg, &seed) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_EVALS:
            evals_dir = optarg;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(optarg, &threads) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_FAST:
            fast = 1;
            break;
        case OPT_DIST:
            dist = 1;
            break;
        case OPT_SHARD:
            shard = optarg;
            break;
        case OPT_CACHE:
            cache = optarg;
            break;
        case OPT_SHARD_COUNT:
            shard_count = shard_number(optarg);
            if (shard_count < 1) {
                cli_error("--shard-count '%s': expected a positive integer", optarg);
                return WL_EXIT_USAGE;
            }
            break;
        case OPT_PROG:
            progress = 1;
            break;
        case OPT_NOPROG:
            progress = 0;
            break;
        case 'h':
            fputs(analyze_help, stdout);
            return WL_EXIT_OK;
        default:
            return cli_bad_option("analyze", argv);
        }
    }
    if (optind >= argc) {
        cli_error("analyze: no MODEL given (usage: weightlint analyze [options] MODEL...)");
        return WL_EXIT_USAGE;
    }
    if (evals_dir != NULL) {
        struct stat sb;
        if (stat(evals_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            cli_error("--evals '%s': not a directory", evals_dir);
            return WL_EXIT_USAGE;
        }
    }
    wl_options opts;
    wl_options_init(&opts, compat);
    if (shard_count > 0 && shard == NULL)
        shard = "auto";
    if (shard != NULL) {
        if (fmt != FMT_JSON) {
            cli_error("--shard writes a part for `weightlint merge`: it needs --format json");
            return WL_EXIT_USAGE;
        }
        if (resolve_shard(shard, shard_count, &opts.shard_index, &opts.shard_count) != 0)
            return WL_EXIT_USAGE;
    }
    if (mp)
        opts.mp_fit = 1;
    opts.randomize = rnd;
    opts.seed = seed;
    opts.layers = layers;
    opts.keep_evals = evals_dir != NULL;
    opts.threads = threads;
    opts.fast = fast;
    opts.dist_test = dist;
    progress_state ps = {.enabled = progress == 1 || (progress == -1 && isatty(2))};
    opts.progress = on_progress;
    opts.progress_ctx = &ps;

    int n_models = argc - optind;
    wl_cache *results_cache = NULL;
    if (cache != NULL) {
        wl_err cerr;
        wl_err_clear(&cerr);
        if (wl_cache_open(cache, &results_cache, &cerr) != WL_OK) {
            cli_error("--cache: %s", cerr.msg);
            return WL_EXIT_USAGE;
        }
        opts.cache = results_cache;
    }
    wl_analysis **results = calloc((size_t)n_models, sizeof *results);
    if (results == NULL) {
        cli_error("out of memory");
        wl_cache_close(results_cache);
        return WL_EXIT_INTERNAL;
    }
    int rc = WL_EXIT_OK;
    for (int m = 0; m < n_models && rc == WL_EXIT_OK; m++) {
        wl_err err;
        wl_err_clear(&err);
        ps.model = argv[optind + m];
        clock_gettime(CLOCK_MONOTONIC, &ps.start);
        wl_status st = wl_analyze_file(argv[optind + m], &opts, &results[m], &err);
        if (ps.printed) {
            fputs("\r\033[K", stderr);
            ps.printed = 0;
        }
        if (st != WL_OK) {
            cli_error("%s", err.msg);
            rc = wl_status_exit_code(st);
        } else if (evals_dir != NULL && write_evals(evals_dir, results[m]) != 0) {
            rc = WL_EXIT_INTERNAL;
        }
    }
    if (rc == WL_EXIT_OK) {
        FILE *out = stdout;
        char tmp[4096];
        if (output != NULL) {
            snprintf(tmp, sizeof tmp, "%s.tmp", output);
            out = fopen(tmp, "w");
            if (out == NULL) {
                int e = errno;
                cli_error("%s: cannot write: %s", output, strerror(e));
                rc = cli_create_fail_exit(e);
            }
        }
        if (out != NULL) {
            if (fmt == FMT_JSON) {
                cli_write_analysis_json(out, results, n_models, &opts);
            } else if (fmt == FMT_CSV) {
                write_csv_header(out);
                for (int m = 0; m < n_models; m++)
                    write_csv(out, results[m]);
            } else {
                for (int m = 0; m < n_models; m++)
                    write_text(out, results[m]);
            }
            if (output != NULL) {
                if (fclose(out) != 0 || rename(tmp, output) != 0) {
                    cli_error("%s: cannot write: %s", output, strerror(errno));
                    remove(tmp);
                    rc = WL_EXIT_INTERNAL;
                }
            } else if (fflush(stdout) != 0) {
                rc = WL_EXIT_INTERNAL;
            }
        }
    }
    for (int m = 0; m < n_models; m++)
        wl_analysis_free(results[m]);
    free(results);
    wl_cache_close(results_cache);
    return rc;
}
