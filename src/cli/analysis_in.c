/*
 * analysis_in.c — reads an analysis JSON (`analyze --format json`, `merge`; docs/analyze-json.md)
 * back into wl_analysis results, with jansson. Every field the writer (cmd_analyze.c) writes is
 * read back: the per-layer columns through the same column table (columns.c), so a column added
 * there round-trips with no change here. Used by merge (parts of a sharded run) and by check,
 * compare and report, which accept an analysis wherever they take a model (issue #13).
 */
#include "analysis_in.h"

#include "cli.h"
#include "columns.h"
#include "safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reading context: the file (for messages) and the first error. */
typedef struct rd {
    const char *path;
    int failed;
    wl_err *err;
} rd;

static void bad(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(rd *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = 1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int nomem = strcmp(msg, "out of memory") == 0;
    r->err->code = nomem ? WL_E_NOMEM : WL_E_FORMAT;
    snprintf(r->err->msg, sizeof r->err->msg, "%s: %s", r->path, msg);
}

/* Keeps a copy of s owned by a (fields that are static strings in analyzed results). */
static const char *intern(rd *r, wl_analysis *a, const char *s)
{
    if (s == NULL)
        return NULL;
    char **v = realloc(a->owned_strs, (a->n_owned_strs + 1) * sizeof *v);
    char *d = strdup(s);
    if (v == NULL || d == NULL) {
        free(d);
        if (v != NULL)
            a->owned_strs = v;
        bad(r, "out of memory");
        return "";
    }
    a->owned_strs = v;
    a->owned_strs[a->n_owned_strs++] = d;
    return d;
}

static char *dup_str(rd *r, const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        bad(r, "out of memory");
    return d;
}

/* A double as the writer writes it: a number, or "nan" / "inf" / "-inf". */
static int get_double(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s == NULL)
        return -1;
    if (strcmp(s, "nan") == 0)
        *out = NAN;
    else if (strcmp(s, "inf") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *out = -INFINITY;
    else
        return -1;
    return 0;
}

static const char *get_str(rd *r, const json_t *o, const char *key, const char *where)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL)
        bad(r, "%s: '%s' is missing or not a string", where, key);
    return s;
}

/* The parameter count of a layer or a skipped tensor, the product of its factors (0 when one
 * is <= 0, as for an unknown dim). A product above 2^52 (an fp32 tensor of 18 PB) is refused,
 * and so is a model whose counts add up beyond 2^62 (check_coverage), so that no sum of them
 * wraps: fuzz_analysis found wrapped products that made a model's analyzed parameters exceed
 * its weight parameters. */
#define PARAMS_MAX ((uint64_t)1 << 52)
static uint64_t checked_params(rd *r, const int64_t *f, int n, const char *what, size_t index)
{
    uint64_t p = 1;
    for (int i = 0; i < n; i++)
        if (f[i] <= 0)
            return 0;
    for (int i = 0; i < n; i++) {
        if (p > PARAMS_MAX / (uint64_t)f[i]) {
            bad(r, "%s[%zu]: more than 2^52 parameters", what, index);
            return 0;
        }
        p *= (uint64_t)f[i];
    }
    return p;
}

static int64_t get_int(rd *r, const json_t *o, const char *key, const char *where)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        bad(r, "%s: '%s' is missing or not an integer", where, key);
        return 0;
    }
    return (int64_t)json_integer_value(v);
}

/* After a model's layers are read: its parameter counts must add up without wrapping, and
 * must be the ones its coverage states (analyze writes exactly these sums). */
static void check_coverage(rd *r, const wl_analysis *a, const json_t *cov, size_t m)
{
    uint64_t total = 0;
    /* each count is <= 2^52, so a sum <= 2^62 plus one more cannot wrap */
    for (size_t i = 0; i < a->n_layers && total <= ((uint64_t)1 << 62); i++)
        total += a->layers[i].n_params;
    for (size_t i = 0; i < a->n_skipped && total <= ((uint64_t)1 << 62); i++)
        total += a->skipped[i].n_params;
    if (total > ((uint64_t)1 << 62)) {
        bad(r, "models[%zu]: the layers and skipped tensors count more than 2^62 parameters", m);
        return;
    }
    int64_t w = get_int(r, cov, "weight_params", "coverage");
    int64_t an = get_int(r, cov, "analyzed_params", "coverage");
    if (!r->failed && ((uint64_t)w != a->weight_params || (uint64_t)an != a->analyzed_params))
        bad(r,
            "models[%zu]: coverage states %lld weight and %lld analyzed parameters, but its "
            "layers and skipped tensors count %llu and %llu",
            m, (long long)w, (long long)an, (unsigned long long)a->weight_params,
            (unsigned long long)a->analyzed_params);
}

static void get_shape(rd *r, const json_t *o, int64_t *shape, int *rank, const char *where)
{
    const json_t *s = json_object_get(o, "shape");
    if (!json_is_array(s) || json_array_size(s) > WL_MAX_RANK) {
        bad(r, "%s: 'shape' is missing or not an array of at most %d dims", where, WL_MAX_RANK);
        return;
    }
    *rank = (int)json_array_size(s);
    for (size_t i = 0; i < json_array_size(s); i++) {
        const json_t *d = json_array_get(s, i);
        if (!json_is_integer(d)) {
            bad(r, "%s: shape[%zu] is not an integer", where, i);
            return;
        }
        shape[i] = (int64_t)json_integer_value(d);
    }
}

static void read_layer(rd *r, wl_analysis *a, const json_t *o, wl_layer *l, size_t index)
{
    char where[64];
    snprintf(where, sizeof where, "layers[%zu]", index);
    if (!json_is_object(o)) {
        bad(r, "%s is not an object", where);
        return;
    }
    l->id = dup_str(r, get_str(r, o, "id", where));
    l->name = dup_str(r, get_str(r, o, "name", where));
    get_shape(r, o, l->shape, &l->rank, where);
    const char *status = get_str(r, o, "status", where);
    if (status != NULL) {
        if (strcmp(status, "success") == 0)
            l->status = WL_LAYER_SUCCESS;
        else if (strcmp(status, "failed") == 0)
            l->status = WL_LAYER_FIT_FAILED;
        else if (strcmp(status, "non-finite") == 0)
            l->status = WL_LAYER_NONFINITE;
        else
            bad(r, "%s: status '%s' (expected success, failed or non-finite)", where, status);
    }
    l->input_index = -1; /* --compat ww: no consuming node */
    l->depth = -1;
    if (json_object_get(o, "op_type") != NULL) {
        l->node_name = dup_str(r, get_str(r, o, "node_name", where));
        l->op_type = dup_str(r, get_str(r, o, "op_type", where));
        l->dequantized = json_is_true(json_object_get(o, "dequantized"));
        l->input_index = (int)get_int(r, o, "input_index", where);
        l->depth = get_int(r, o, "depth", where);
    }
    const char *reason = json_string_value(json_object_get(o, "status_reason"));
    if (reason != NULL)
        snprintf(l->status_reason, sizeof l->status_reason, "%s", reason);
    if (l->status == WL_LAYER_NONFINITE) {
        l->nonfinite_index = (uint64_t)get_int(r, o, "nonfinite_index", where);
        if (get_double(json_object_get(o, "nonfinite_value"), &l->nonfinite_value) != 0)
            bad(r, "%s: 'nonfinite_value' is not a number", where);
    }
    l->warning = "";
    const char *dreason = json_string_value(json_object_get(o, "dist_reason"));
    if (dreason != NULL)
        snprintf(l->dist_reason, sizeof l->dist_reason, "%s", dreason);
    for (size_t c = 0; c < cli_n_columns && !r->failed; c++) {
        const col_def *cd = &cli_columns[c];
        const json_t *v = json_object_get(o, cd->name);
        if (v == NULL)
            continue; /* the writer leaves a column out for this layer's status or group */
        if (cd->group == 1)
            l->has_mp = 1;
        else if (cd->group == 2)
            l->has_rand = 1;
        else if (cd->group == 3)
            l->has_dist = 1;
        char *field = (char *)l + cd->offset;
        if (cd->group == 3 && json_is_null(v)) { /* no comparison possible: dist_reason */
            double nan = NAN;
            const char *none = NULL;
            if (cd->kind == COL_DOUBLE)
                memcpy(field, &nan, sizeof nan);
            else if (cd->kind == COL_STR)
                memcpy(field, &none, sizeof none);
            continue;
        }
        if (cd->kind == COL_DOUBLE) {
            double d;
            if (get_double(v, &d) != 0)
                bad(r, "%s: '%s' is not a number", where, cd->name);
            memcpy(field, &d, sizeof d);
        } else if (cd->kind == COL_INT) {
            int64_t i = -1; /* null: a failed fit has no tail (num_pl_spikes) */
            if (json_is_integer(v))
                i = (int64_t)json_integer_value(v);
            else if (!json_is_null(v))
                bad(r, "%s: '%s' is not an integer", where, cd->name);
            memcpy(field, &i, sizeof i);
        } else {
            const char *s = json_is_null(v) ? NULL : json_string_value(v);
            if (s == NULL && !json_is_null(v))
                bad(r, "%s: '%s' is not a string", where, cd->name);
            const char *k = intern(r, a, s);
            memcpy(field, &k, sizeof k);
        }
    }
    l->dist_ok = l->has_dist && dreason == NULL;
    /* the scored matrix's (or kernel's) elements, for the parameter coverage: N x M x rf in
     * any mode (WeightWatcher's swap of N and M keeps the product) */
    int64_t factors[3] = {l->N, l->M, l->rf};
    l->n_params = checked_params(r, factors, 3, "layers", index);
    const char *preason = json_string_value(json_object_get(o, "phase_reason"));
    if (preason != NULL)
        l->phase_reason = intern(r, a, preason);
}

static void read_skipped(rd *r, wl_analysis *a, const json_t *arr)
{
    if (!json_is_array(arr)) {
        bad(r, "models[]: 'skipped' is missing or not an array");
        return;
    }
    size_t n = json_array_size(arr);
    a->skipped = calloc(n ? n : 1, sizeof *a->skipped);
    if (a->skipped == NULL) {
        bad(r, "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        const json_t *o = json_array_get(arr, i);
        wl_skipped *s = &a->skipped[i];
        a->n_skipped = i + 1;
        char where[64];
        snprintf(where, sizeof where, "skipped[%zu]", i);
        s->name = dup_str(r, get_str(r, o, "name", where));
        s->layer_id = get_int(r, o, "layer_id", where);
        get_shape(r, o, s->shape, &s->rank, where);
        s->dtype = intern(r, a, get_str(r, o, "dtype", where));
        s->reason_code = intern(r, a, get_str(r, o, "reason_code", where));
        s->reason = dup_str(r, get_str(r, o, "reason", where));
        s->is_weight = json_is_true(json_object_get(o, "unanalyzed_weight"));
        s->n_params = checked_params(r, s->shape, s->rank, "skipped", i); /* its elements */
    }
}

static void read_shard(rd *r, wl_analysis *a, const json_t *o, char **settings)
{
    const char *where = "models[].shard";
    a->shard_index = (int)get_int(r, o, "index", where);
    a->shard_count = (int)get_int(r, o, "count", where);
    const char *sha = get_str(r, o, "model_sha256", where);
    if (sha != NULL)
        snprintf(a->model_sha256, sizeof a->model_sha256, "%s", sha);
    const json_t *set = json_object_get(o, "settings");
    if (!json_is_object(set)) {
        bad(r, "%s: 'settings' is missing", where);
        return;
    }
    *settings = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
    const json_t *inv = json_object_get(o, "inventory");
    if (!json_is_array(inv)) {
        bad(r, "%s: 'inventory' is missing", where);
        return;
    }
    size_t n = json_array_size(inv);
    a->inventory = calloc(n ? n : 1, sizeof *a->inventory);
    if (a->inventory == NULL || *settings == NULL) {
        bad(r, "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        const json_t *e = json_array_get(inv, i);
        a->n_inventory = i + 1;
        a->inventory[i].id = dup_str(r, get_str(r, e, "id", where));
        a->inventory[i].shard = (int)get_int(r, e, "shard", where);
    }
}

/* One models[] entry: everything but its layers. */
static void read_model(rd *r, wl_analysis *a, const json_t *o, char **settings, char **version)
{
    const char *where = "models[]";
    if (!json_is_object(o)) {
        bad(r, "%s is not an object", where);
        return;
    }
    a->path = dup_str(r, get_str(r, o, "path", where));
    const json_t *cov = json_object_get(o, "coverage");
    if (!json_is_object(cov)) {
        bad(r, "%s: 'coverage' is missing", where);
        return;
    }
    a->n_tensors = (size_t)get_int(r, cov, "tensors", "coverage");
    /* weight_params and analyzed_params are recounted from the layers and checked against
     * these stated values once the layers are read (check_coverage) */
    read_skipped(r, a, json_object_get(o, "skipped"));
    const json_t *prov = json_object_get(o, "provenance");
    if (!json_is_object(prov)) {
        bad(r, "%s: 'provenance' is missing", where);
        return;
    }
    const char *compat = get_str(r, prov, "compat", "provenance");
    a->compat = compat && strcmp(compat, "ww") == 0 ? WL_COMPAT_WW : WL_COMPAT_NONE;
    const char *prec = get_str(r, prov, "precision", "provenance");
    a->fast = prec != NULL && strcmp(prec, "float64") != 0;
    a->ir_version = get_int(r, prov, "ir_version", "provenance");
    a->producer = dup_str(r, get_str(r, prov, "producer", "provenance"));
    a->blas = dup_str(r, get_str(r, prov, "blas", "provenance"));
    *version = dup_str(r, get_str(r, prov, "weightlint_version", "provenance"));
    const json_t *sh = json_object_get(o, "shard");
    if (sh != NULL)
        read_shard(r, a, sh, settings);
}

char *cli_analysis_model_path(const char *path)
{
    json_t *root = json_load_file(path, 0, NULL);
    const char *p = json_string_value(
        json_object_get(json_array_get(json_object_get(root, "models"), 0), "path"));
    char *out = p ? strdup(p) : NULL;
    json_decref(root);
    return out;
}

int cli_analysis_sniff(const char *path)
{
    if (wl_st_is_checkpoint_path(path))
        return 0; /* a safetensors index is JSON too, but a model */
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    int c;
    do
        c = fgetc(f);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    fclose(f);
    return c == '{'; /* an ONNX file starts with a protobuf tag, never '{' */
}

wl_status cli_analysis_read(const char *path, cli_analysis_doc *doc, wl_err *err)
{
    memset(doc, 0, sizeof *doc);
    rd r = {.path = path, .err = err};
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        err->code = je.line < 0 ? WL_E_IO : WL_E_FORMAT;
        if (je.line < 0)
            snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path, je.text);
        else
            snprintf(err->msg, sizeof err->msg, "%s:%d:%d: not valid JSON: %s", path, je.line,
                     je.column, je.text);
        return err->code;
    }
    const json_t *sv = json_object_get(root, "schema_version");
    const char *tool = json_string_value(json_object_get(root, "tool"));
    const json_t *layers = json_object_get(root, "layers");
    const json_t *models = json_object_get(root, "models");
    if (!json_is_object(root) || sv == NULL || tool == NULL || strcmp(tool, "weightlint") != 0 ||
        !json_is_array(layers) || !json_is_array(models)) {
        bad(&r, "not a weightlint analysis (expected the JSON of `weightlint analyze --format "
                "json`: schema_version, tool \"weightlint\", layers, models)");
        goto out;
    }
    if (!json_is_integer(sv) || json_integer_value(sv) != CLI_ANALYSIS_SCHEMA_VERSION) {
        char *s = json_dumps(sv, JSON_ENCODE_ANY);
        bad(&r, "analysis schema_version %s is not supported (this weightlint reads %d)",
            s ? s : "?", CLI_ANALYSIS_SCHEMA_VERSION);
        free(s);
        goto out;
    }
    size_t n_models = json_array_size(models);
    if (n_models == 0) {
        /* analyze always writes at least one model; an empty list would merge or check as an
         * analysis of nothing with exit 0 (found by fuzz_analysis) */
        bad(&r, "models[] is empty: an analysis names at least one model");
        goto out;
    }
    doc->models = calloc(n_models ? n_models : 1, sizeof *doc->models);
    doc->settings = calloc(n_models ? n_models : 1, sizeof *doc->settings);
    doc->versions = calloc(n_models ? n_models : 1, sizeof *doc->versions);
    if (doc->models == NULL || doc->settings == NULL || doc->versions == NULL) {
        bad(&r, "out of memory");
        goto out;
    }
    size_t next_layer = 0, n_layers_all = json_array_size(layers);
    for (size_t m = 0; m < n_models && !r.failed; m++) {
        wl_analysis *a = calloc(1, sizeof *a);
        if (a == NULL) {
            bad(&r, "out of memory");
            break;
        }
        doc->models[m] = a;
        doc->n_models = (int)m + 1;
        const json_t *mo = json_array_get(models, m);
        read_model(&r, a, mo, &doc->settings[m], &doc->versions[m]);
        if (r.failed)
            break;
        /* This model's rows are the next analyzed + non_finite rows of layers[] (the writer
         * writes them model by model). */
        const json_t *cov = json_object_get(mo, "coverage");
        int64_t n = get_int(&r, cov, "analyzed", "coverage") +
                    get_int(&r, cov, "non_finite", "coverage");
        if (r.failed)
            break;
        if (n < 0 || (size_t)n > n_layers_all - next_layer) {
            bad(&r, "models[%zu] counts %lld layers, but layers[] has %zu left", m,
                (long long)n, n_layers_all - next_layer);
            break;
        }
        a->layers = calloc((size_t)n ? (size_t)n : 1, sizeof *a->layers);
        if (a->layers == NULL) {
            bad(&r, "out of memory");
            break;
        }
        for (size_t i = 0; i < (size_t)n && !r.failed; i++) {
            const json_t *lo = json_array_get(layers, next_layer + i);
            a->n_layers = i + 1;
            read_layer(&r, a, lo, &a->layers[i], next_layer + i);
            const char *lm = json_string_value(json_object_get(lo, "model"));
            if (!r.failed && (lm == NULL || strcmp(lm, a->path) != 0))
                bad(&r, "layers[%zu] belongs to model '%s', expected '%s'", next_layer + i,
                    lm ? lm : "?", a->path);
        }
        next_layer += (size_t)n;
        if (!r.failed)
            wl_analysis_summarize(a);
        if (!r.failed)
            check_coverage(&r, a, cov, m);
    }
    if (!r.failed && next_layer != n_layers_all)
        bad(&r, "layers[] has %zu rows no model counts", n_layers_all - next_layer);
out:
    json_decref(root);
    if (r.failed) {
        cli_analysis_doc_free(doc);
        return err->code;
    }
    return WL_OK;
}

void cli_analysis_doc_free(cli_analysis_doc *doc)
{
    for (int m = 0; m < doc->n_models; m++) {
        wl_analysis_free(doc->models[m]);
        free(doc->settings ? doc->settings[m] : NULL);
        free(doc->versions ? doc->versions[m] : NULL);
    }
    free(doc->models);
    free(doc->settings);
    free(doc->versions);
    memset(doc, 0, sizeof *doc);
}
