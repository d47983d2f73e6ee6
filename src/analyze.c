/*
 * analyze.c — from a model to per-layer metrics: opens the source (an ONNX model and its graph,
 * or a safetensors checkpoint), has layer_select.c turn its tensor headers into rows and jobs,
 * hands the jobs to the pool (pool.c, which scores them with score.c), and puts the rows in
 * depth order with the model summary. One tensor at a time is widened, so peak memory is
 * bounded by the largest tensor, whatever the model size.
 */
#include "weightlint.h"

#include "analyze_plan.h"
#include "layer_select.h"

#include "cache.h"
#include "mapfile.h"
#include "wl_err.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An external-data location and the first tensor (in file order) that names it. */
typedef struct ext_use {
    const char *location, *tensor;
    size_t index;
} ext_use;

static int cmp_ext_use(const void *a, const void *b)
{
    const ext_use *x = a, *y = b;
    int c = strcmp(x->location, y->location);
    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

/* Hashes the external-data file at location (relative to the graph file's folder, contained as
 * the reader contains it): its name, then its bytes. An empty file hashes as its name alone. */
static wl_status hash_external_file(const wl_mapfile *graph, const char *location,
                                    struct sha256_ctx *h, wl_err *err)
{
    char *real = NULL;
    wl_mapfile *ext = NULL;
    wl_status st = wl_path_contain(graph->dir, location, "external_data location",
                                   "the model's folder", &real, err);
    sha256_update(h, strlen(location) + 1, (const uint8_t *)location);
    struct stat sb;
    if (st == WL_OK && (stat(real, &sb) != 0 || sb.st_size > 0))
        st = wl_mapfile_open(real, "an external-data file", &ext, err);
    if (st == WL_OK)
        wl_mapfile_hash(ext, h);
    wl_mapfile_close(ext);
    free(real);
    return st;
}

/* SHA-256 of the model's files, in hex: what `merge` checks its parts against. For an ONNX model,
 * the graph file, then every external-data file its tensors name, once each, in name order (the
 * weights of an external-data model live there: hashing the graph alone let parts of two
 * different weight files merge); for a checkpoint, its files in the index's order. */
static wl_status model_hash(const model_ctx *m, char hex[65], wl_err *err)
{
    struct sha256_ctx h;
    uint8_t d[SHA256_DIGEST_SIZE];
    wl_status st = WL_OK;
    sha256_init(&h);
    if (m->f != NULL) {
        wl_mapfile_hash(m->f->map, &h);
        ext_use *use = calloc(m->n > 0 ? m->n : 1, sizeof *use);
        size_t n_use = 0;
        if (use == NULL)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory hashing the model's files");
        for (size_t i = 0; i < m->n; i++)
            if (m->hdrs[i].is_external)
                use[n_use++] = (ext_use){m->hdrs[i].ext_location, wl_select_name(m, i), i};
        qsort(use, n_use, sizeof *use, cmp_ext_use);
        for (size_t i = 0; st == WL_OK && i < n_use; i++)
            if (i == 0 || strcmp(use[i].location, use[i - 1].location) != 0) {
                st = hash_external_file(m->f->map, use[i].location, &h, err);
                if (st != WL_OK)
                    wl_err_wrap(err, "tensor '%s'", use[i].tensor);
            }
        free(use);
    }
    for (size_t i = 0; m->ckpt != NULL && i < m->ckpt->n_files; i++)
        wl_mapfile_hash(m->ckpt->files[i], &h);
    sha256_digest(&h, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return st;
}

/* Mean that skips NaN and lets +-inf propagate (pandas mean, as get_summary()). */
static double mean_skipnan(const wl_layer *ls, size_t n, size_t offset)
{
    double sum = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (ls[i].status == WL_LAYER_NONFINITE)
            continue;
        double v = *(const double *)((const char *)&ls[i] + offset);
        if (isnan(v))
            continue;
        sum += v;
        count++;
    }
    return count ? sum / (double)count : NAN;
}

void wl_analysis_summarize(wl_analysis *a)
{
    wl_summary *s = &a->summary;
    const wl_layer *ls = a->layers;
    size_t n = a->n_layers;
    s->log_norm = mean_skipnan(ls, n, offsetof(wl_layer, log_norm));
    s->alpha = mean_skipnan(ls, n, offsetof(wl_layer, alpha));
    s->alpha_weighted = mean_skipnan(ls, n, offsetof(wl_layer, alpha_weighted));
    s->log_alpha_norm = mean_skipnan(ls, n, offsetof(wl_layer, log_alpha_norm));
    s->log_spectral_norm = mean_skipnan(ls, n, offsetof(wl_layer, log_spectral_norm));
    s->stable_rank = mean_skipnan(ls, n, offsetof(wl_layer, stable_rank));
    s->has_mp_softrank = 0;
    for (size_t i = 0; i < n; i++)
        if (ls[i].has_mp)
            s->has_mp_softrank = 1;
    s->mp_softrank =
        s->has_mp_softrank ? mean_skipnan(ls, n, offsetof(wl_layer, mp_softrank)) : NAN;
    s->n_rows = 0;
    a->n_failed = a->n_nonfinite = 0;
    a->analyzed_params = 0;
    for (size_t i = 0; i < n; i++)
        a->analyzed_params += ls[i].n_params;
    a->weight_params = a->analyzed_params;
    for (size_t i = 0; i < a->n_skipped; i++)
        if (a->skipped[i].is_weight)
            a->weight_params += a->skipped[i].n_params;
    for (size_t i = 0; i < n; i++) {
        if (ls[i].status == WL_LAYER_NONFINITE)
            a->n_nonfinite++;
        else
            s->n_rows++;
        if (ls[i].status == WL_LAYER_FIT_FAILED)
            a->n_failed++;
    }
}

/* Graph order: the consuming node's topological rank, then which of its inputs, then the
 * order the rows were made in (tensor order; an RNN tensor's gate blocks in ONNX gate order). */
typedef struct order_key {
    const wl_layer *l;
    size_t pos; /* row index before sorting */
} order_key;

static int cmp_graph_order(const void *x, const void *y)
{
    const order_key *a = x, *b = y;
    if (a->l->depth != b->l->depth)
        return a->l->depth < b->l->depth ? -1 : 1;
    if (a->l->input_index != b->l->input_index)
        return a->l->input_index < b->l->input_index ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Sorts the rows into graph order (a permutation: the rows own their strings). */
static wl_status sort_graph_order(wl_growable *layers, wl_err *err)
{
    size_t n = layers->n;
    if (n < 2)
        return WL_OK;
    order_key *k = malloc((n ? n : 1) * sizeof *k);
    wl_layer *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!k || !sorted) {
        free(k);
        free(sorted);
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    }
    const wl_layer *v = layers->v;
    for (size_t i = 0; i < n; i++)
        k[i] = (order_key){&v[i], i};
    qsort(k, n, sizeof *k, cmp_graph_order);
    for (size_t i = 0; i < n; i++)
        sorted[i] = *k[i].l;
    memcpy(layers->v, sorted, n * sizeof *sorted);
    free(k);
    free(sorted);
    return WL_OK;
}

wl_status wl_analyze_file(const char *path, const wl_options *opts_in, wl_analysis **out,
                          wl_err *err)
{
    *out = NULL;
    wl_options defaults;
    if (opts_in == NULL) {
        wl_options_init(&defaults, WL_COMPAT_NONE);
        opts_in = &defaults;
    }
    model_ctx m = {.opts = opts_in,
                   .layers = {.elem = sizeof(wl_layer)},
                   .skipped = {.elem = sizeof(wl_skipped)},
                   .jobs = {.elem = sizeof(wl_job)}};
    wl_onnx_file *f = NULL;
    wl_analysis *a = calloc(1, sizeof *a);
    wl_status st;
    if (a == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    int from_ckpt = wl_st_is_checkpoint_path(path);
    int op_aware = opts_in->compat != WL_COMPAT_WW && !from_ckpt;
    if (from_ckpt) {
        /* safetensors: the checkpoint's headers are the tensor list; no graph, no refs. */
        st = wl_st_open(path, opts_in->max_tensor_bytes, &m.ckpt, err);
        if (st != WL_OK)
            goto out;
        m.hdrs = m.ckpt->tensors;
        m.n = m.ckpt->n;
        m.set = (wl_tensor_set){.refs = NULL, .hdrs = m.hdrs, .n = m.n};
    } else {
        st = wl_onnx_open(path, &f, err);
        if (st != WL_OK)
            goto out;
        m.f = f;
        /* --compat ww: the top-level initializers; otherwise every tensor of every graph. */
        st = op_aware ? wl_graph_load(f, &m.graph, err)
                      : wl_onnx_list_initializers(f, &m.inits, err);
        if (st != WL_OK)
            goto out;
        if (op_aware) {
            m.topo = malloc((m.graph.n_nodes ? m.graph.n_nodes : 1) * sizeof *m.topo);
            st = m.topo ? wl_graph_topo_ranks(&m.graph, m.topo, err)
                        : WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
            if (st != WL_OK)
                goto out;
        }
        m.refs = op_aware ? m.graph.tensors.v : m.inits.v;
        m.n = op_aware ? m.graph.tensors.n : m.inits.n;
        m.hdrs = calloc(m.n ? m.n : 1, sizeof *m.hdrs);
        if (m.hdrs == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
        m.set = (wl_tensor_set){.refs = m.refs, .hdrs = m.hdrs, .n = m.n};
        /* Pass 1: every header, then what each tensor is. No payload is read except to
         * compare same-shaped tensors for aliases. */
        for (size_t i = 0; i < m.n && st == WL_OK; i++)
            st = wl_tensor_parse(f, &m.refs[i], opts_in->max_tensor_bytes, &m.hdrs[i], err);
    }
    for (size_t i = 0; i < m.n && st == WL_OK; i++) {
        st = wl_select_tensor(&m, i, err);
        if (st != WL_OK)
            wl_err_wrap(err, "tensor '%s'", wl_select_name(&m, i));
    }
    if (st == WL_OK && from_ckpt)
        st = wl_select_name_depths(&m, err);
    /* Pass 2: score the layers, two at a time. The header pass mapped the folio around every
     * header: give it back first. */
    if (f != NULL)
        wl_onnx_release_pages(f);
    for (size_t i = 0; m.ckpt != NULL && i < m.ckpt->n_files; i++)
        wl_mapfile_release_all(m.ckpt->files[i]);
    if (st == WL_OK && opts_in->shard_count > 0) {
        if (opts_in->shard_index < 0 || opts_in->shard_index >= opts_in->shard_count)
            st = WL_FAIL(err, WL_E_USAGE, "shard %d of %d does not exist", opts_in->shard_index,
                         opts_in->shard_count);
        else
            st = wl_shard_assign(&m.jobs, &m.layers, opts_in, a, err);
        a->shard_index = opts_in->shard_index;
        a->shard_count = opts_in->shard_count;
        if (st == WL_OK)
            st = model_hash(&m, a->model_sha256, err);
    }
    if (st == WL_OK) {
        /* what the pool and the scoring see: tensor headers and jobs, no file format */
        wl_plan plan = {.opts = opts_in,
                        .hdrs = m.hdrs,
                        .set = m.set,
                        .jobs = m.jobs.v,
                        .n_jobs = m.jobs.n,
                        .layers = m.layers.v};
        st = wl_pool_run(&plan, &a->peak_admitted_bytes, err);
    }
    if (st != WL_OK) {
        wl_err_wrap(err, "%s", path);
        goto out;
    }
    a->path = strdup(path);
    a->producer = strdup(f != NULL ? f->producer : m.ckpt->producer);
    if (a->path == NULL || a->producer == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    a->ir_version = f != NULL ? f->ir_version : 0;
    a->compat = opts_in->compat;
    a->fast = opts_in->fast;
    a->n_tensors = m.n;
    /* Graph order (a checkpoint's: name order): what every report's "depth" means (the tensor
     * list's order is arbitrary). */
    if ((op_aware || from_ckpt) && (st = sort_graph_order(&m.layers, err)) != WL_OK)
        goto out;
    if (opts_in->shard_count > 0 &&
        (st = wl_shard_inventory_in_row_order(&m.layers, a, err)) == WL_OK)
        wl_shard_keep_layers(&m.layers, a, opts_in->shard_index);
out:
    a->layers = m.layers.v;
    a->n_layers = m.layers.n;
    a->skipped = m.skipped.v;
    a->n_skipped = m.skipped.n;
    if (m.ckpt == NULL) { /* a checkpoint's headers are its own */
        for (size_t i = 0; m.hdrs && i < m.n; i++)
            wl_tensor_clear(&m.hdrs[i]);
        free(m.hdrs);
    }
    wl_st_close(m.ckpt);
    free(m.jobs.v);
    free(m.topo);
    wl_graph_free(&m.graph);
    wl_tensor_refs_clear(&m.inits);
    wl_onnx_close(f);
    if (st != WL_OK) {
        wl_analysis_free(a);
        return st;
    }
    wl_analysis_summarize(a);
    *out = a;
    return WL_OK;
}

void wl_analysis_free(wl_analysis *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_layers; i++) {
        free(a->layers[i].name);
        free(a->layers[i].id);
        free(a->layers[i].evals);
        free(a->layers[i].rand_evals);
        free(a->layers[i].node_name);
        free(a->layers[i].op_type);
    }
    for (size_t i = 0; i < a->n_skipped; i++) {
        free(a->skipped[i].name);
        free(a->skipped[i].reason);
    }
    for (size_t i = 0; i < a->n_inventory; i++)
        free(a->inventory[i].id);
    free(a->inventory);
    free(a->blas);
    for (size_t i = 0; i < a->n_owned_strs; i++)
        free(a->owned_strs[i]);
    free(a->owned_strs);
    free(a->layers);
    free(a->skipped);
    free(a->path);
    free(a->producer);
    free(a);
}
