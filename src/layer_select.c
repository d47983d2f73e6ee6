/*
 * layer_select.c — tensors to layers (see layer_select.h): the result rows and jobs, aliases,
 * the op-aware roles of the default mode, --compat ww, and the rules for checkpoints without a
 * graph.
 */
#include "layer_select.h"

#include "dequant.h"
#include "dtype.h"
#include "membudget.h"
#include "onnx_graph.h"
#include "wl_err.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *wl_grow(wl_growable *g)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        void *v = realloc(g->v, cap * g->elem);
        if (v == NULL)
            return NULL;
        g->v = v;
        g->cap = cap;
    }
    void *slot = (char *)g->v + g->n * g->elem;
    memset(slot, 0, g->elem);
    g->n++;
    return slot;
}

static void copy_shape(int64_t *dst, int *rank_out, const wl_tensor *t)
{
    memcpy(dst, t->dims, (size_t)t->rank * sizeof *dst);
    *rank_out = t->rank;
}

static wl_status add_skipped(wl_growable *g, const wl_tensor *t, const char *name, int64_t layer_id,
                             const char *code, wl_err *err, const char *fmt, ...) WL_PRINTF(7, 8);

static wl_status add_skipped(wl_growable *g, const wl_tensor *t, const char *name, int64_t layer_id,
                             const char *code, wl_err *err, const char *fmt, ...)
{
    wl_skipped *s = wl_grow(g);
    if (s == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    s->name = strdup(name);
    s->layer_id = layer_id;
    copy_shape(s->shape, &s->rank, t);
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    s->dtype = dt && dt->name ? dt->name : "UNDEFINED";
    s->reason_code = code;
    s->n_params = t->n_elems;
    /* A weight the analysis could not score, as opposed to a bias, a copy or a user filter
     * (classify_ww clears it for WeightWatcher's rank filter: biases, norms). */
    s->is_weight = strcmp(code, "unsupported_op") == 0 || strcmp(code, "min_evals") == 0 ||
                   strcmp(code, "max_evals") == 0 || strcmp(code, "max_n") == 0 ||
                   (strcmp(code, "dtype") == 0 && t->rank >= 2) || strcmp(code, "rank") == 0;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->reason = strdup(buf);
    if (s->name == NULL || s->reason == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    return WL_OK;
}

/* Stable unique id: the graph path, the tensor name and a suffix ("/dir0/gate1" for RNN
 * blocks); "#<index>" is appended on a clash. */
static char *make_id(const char *graph_path, const char *name, const char *suffix, int64_t layer_id,
                     const wl_growable *layers)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s%s%s%s", graph_path, *graph_path ? "/" : "", name, suffix);
    const wl_layer *l = layers->v;
    for (size_t i = 0; i + 1 < layers->n; i++)
        if (l[i].id && strcmp(l[i].id, buf) == 0) {
            size_t len = strlen(buf);
            snprintf(buf + len, sizeof buf - len, "#%lld", (long long)layer_id);
            break;
        }
    return strdup(buf);
}

/* The name shown for a tensor: its own, else (Constant nodes) the node's output name. */
const char *wl_select_name(const model_ctx *m, size_t i)
{
    const wl_tensor *t = &m->hdrs[i];
    return (t->name[0] == '\0' && m->refs && m->refs[i].name_hint) ? m->refs[i].name_hint : t->name;
}

/* The name the graph uses for a tensor: a Constant node's output, else the tensor's name. */
static const char *graph_name(const model_ctx *m, size_t i)
{
    return wl_tensor_set_name(&m->set, i);
}

/* Physical memory of the machine in bytes (0 when unknown). */
static uint64_t machine_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

/* Adds a layer row and its job. dims/rank describe the matrix to score (rank 2) or the kernel
 * as [out, in, kh, kw] (rank 4). */
static wl_status add_layer(model_ctx *m, size_t i, const int64_t *dims, int rank,
                           uint64_t elem_offset, const char *suffix, const char *layer_type,
                           const wl_usage *u, const wl_dq_spec *dq, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = wl_select_name(m, i);
    wl_layer probe = {0};
    wl_ww_dimensions(dims, rank, &probe);
    int64_t evals_count = probe.M * probe.rf;
    const wl_options *opts = m->opts;
    if (evals_count < opts->min_evals)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "min_evals", err,
                           "M*rf = %lld*%lld = %lld < min_evals = %lld", (long long)probe.M,
                           (long long)probe.rf, (long long)evals_count, (long long)opts->min_evals);
    if (opts->max_evals > 0 && evals_count > opts->max_evals)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "max_evals", err,
                           "M*rf = %lld*%lld = %lld > max_evals = %lld", (long long)probe.M,
                           (long long)probe.rf, (long long)evals_count, (long long)opts->max_evals);
    if (opts->max_n > 0 && probe.N > opts->max_n)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "max_n", err,
                           "N = %lld > max_N = %lld", (long long)probe.N, (long long)opts->max_n);
    wl_layer *l = wl_grow(&m->layers);
    wl_job *jb = l ? wl_grow(&m->jobs) : NULL;
    if (jb == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    l->n_params = (uint64_t)dims[0] * (uint64_t)dims[1];
    if (rank == 4)
        l->n_params *= (uint64_t)dims[2] * (uint64_t)dims[3];
    l->N = probe.N;
    l->M = probe.M;
    l->rf = probe.rf;
    l->Q = (double)l->N / (double)l->M;
    l->layer_id = (int64_t)i;
    l->name = strdup(name);
    l->id = make_id(m->refs ? m->refs[i].graph_path : "", name, suffix, (int64_t)i, &m->layers);
    copy_shape(l->shape, &l->rank, t);
    if (dq != NULL && (dq->kind == WL_DQ_NBITS || dq->kind == WL_DQ_BNB4)) {
        /* The logical K x N matrix the op multiplies, not the packed storage. */
        l->rank = 2;
        l->shape[0] = dq->K;
        l->shape[1] = dq->N;
    } else if (dq != NULL && dq->kind == WL_DQ_GATHER_BLOCK) {
        l->rank = 2;
        l->shape[0] = dims[0];
        l->shape[1] = dims[1];
    }
    l->dtype = dq != NULL ? wl_dq_encoding(dq, t) : wl_dtype_get(t->data_type)->name;
    l->layer_type = layer_type;
    l->warning = "";
    l->input_index = -1;
    l->depth = -1;
    if (u != NULL && u->node != NULL) {
        l->input_index = u->input_index;
        l->depth = m->topo ? m->topo[u->node - m->graph.nodes] : -1;
        l->node_name = strdup(u->node->name);
        l->op_type = strdup(u->node->op_type);
        if (l->node_name == NULL || l->op_type == NULL)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    }
    if (l->name == NULL || l->id == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    uint64_t rows = (uint64_t)dims[0], cols = (uint64_t)dims[1];
    uint64_t k = rows < cols ? rows : cols;
    uint64_t slices = rank == 4 ? (uint64_t)(dims[2] * dims[3]) : 1;
    jb->hdr = i;
    jb->slot = m->layers.n - 1;
    jb->elem_offset = elem_offset;
    memcpy(jb->mdims, dims, (size_t)rank * sizeof *dims);
    jb->mrank = rank;
    jb->n_decoded = t->n_elems;
    if (dq != NULL) {
        jb->dq = *dq;
        if (dq->kind == WL_DQ_NBITS || dq->kind == WL_DQ_BNB4 || dq->kind == WL_DQ_GATHER_BLOCK)
            jb->n_decoded = rows * cols;
    }
    jb->cost = wl_job_cost(rows, cols, slices);
    jb->tensor_bytes = 8 * jb->n_decoded;
    jb->exclusive = rows * cols >= WL_HUGE_ELEMS;
    jb->work = wl_job_work_bytes(rows, cols, slices, opts) +
               (jb->exclusive ? (WL_HUGE_BLAS_THREADS - 1) * WL_BLAS_THREAD_BYTES : 0);
    /* Declared sizes the machine cannot hold are refused here, before any of it is allocated
     * (an allocation that large would fail, or succeed on overcommit and be killed later). */
    uint64_t need = jb->tensor_bytes + jb->work, have = machine_memory();
    if (have != 0 && need > have)
        return WL_FAIL(err, WL_E_NOMEM,
                       "analyzing it needs %.1f GiB of memory (%llu values widened to float64, "
                       "a %llu x %llu Gram matrix and its workspace), more than this machine has "
                       "(%.1f GiB)",
                       (double)need / (1 << 30), (unsigned long long)t->n_elems,
                       (unsigned long long)k, (unsigned long long)k, (double)have / (1 << 30));
    return WL_OK;
}

static int has_bytes(const wl_tensor *t)
{
    return t->has_raw || t->is_external;
}

/* An earlier tensor with the same dtype, dims and stored bytes that became a layer, or -1. Only
 * same-shaped candidates are compared, and memcmp stops at the first differing byte, so two
 * different tensors cost a page or so. (A hash would read, and fault in, every candidate's
 * whole payload for every later tensor of its shape: 32 GB on a 1 GB model, bench/README.md.) */
static long find_alias(const model_ctx *m, size_t i, wl_err *err, wl_status *st)
{
    const wl_tensor *t = &m->hdrs[i];
    *st = WL_OK;
    if (!has_bytes(t) || t->n_elems == 0)
        return -1;
    wl_payload mine = {0};
    long found = -1;
    const wl_job *jobs = m->jobs.v;
    for (size_t j = 0; j < m->jobs.n && found < 0; j++) {
        const wl_tensor *o = &m->hdrs[jobs[j].hdr];
        if (jobs[j].hdr == i || o->data_type != t->data_type || o->rank != t->rank ||
            memcmp(o->dims, t->dims, (size_t)t->rank * sizeof *t->dims) != 0 || !has_bytes(o))
            continue;
        if (j > 0 && jobs[j - 1].hdr == jobs[j].hdr)
            continue; /* RNN blocks of one tensor: compare once */
        if (mine.data == NULL) {
            if ((*st = wl_tensor_map_payload(t, &mine, err)) != WL_OK)
                return -1;
        }
        wl_payload theirs;
        if ((*st = wl_tensor_map_payload(o, &theirs, err)) != WL_OK)
            break;
        if (theirs.len == mine.len && memcmp(theirs.data, mine.data, mine.len) == 0)
            found = (long)j;
        wl_payload_unmap(&theirs);
        /* memcmp faulted in a page or so, and the kernel maps the page-cache folio around
         * it: left mapped until the tensor's own job, that was 100 MB on gen1g (issue #13). */
        wl_tensor_release_pages(o);
    }
    wl_payload_unmap(&mine);
    wl_tensor_release_pages(t);
    return *st == WL_OK ? found : -1;
}

/* Skips tensor i as an alias (*aliased = 1) when it is byte-identical to an earlier layer: a
 * tied or shared weight is analyzed once, under the first one's id. */
static wl_status skip_alias(model_ctx *m, size_t i, int *aliased, wl_err *err)
{
    wl_status st;
    long alias = find_alias(m, i, err, &st);
    *aliased = 0;
    if (st != WL_OK || alias < 0)
        return st;
    *aliased = 1;
    const wl_layer *l = &((const wl_layer *)m->layers.v)[((const wl_job *)m->jobs.v)[alias].slot];
    return add_skipped(&m->skipped, &m->hdrs[i], wl_select_name(m, i), (int64_t)i, "alias", err,
                       "byte-identical to '%s' (analyzed once, under that id)", l->id);
}

/* WeightWatcher's rule (--compat ww): every rank-2 or rank-4 tensor is a layer. */
static wl_status classify_ww(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = wl_select_name(m, i);
    size_t len = strlen(name);
    if (m->ckpt != NULL && (len < 7 || strcmp(name + len - 7, ".weight") != 0)) {
        /* WeightWatcher's PyStateDictLayer iterates the keys that end in '.weight' only. */
        wl_status st = add_skipped(&m->skipped, t, name, (int64_t)i, "not_weight", err,
                                   "--compat ww: WeightWatcher reads only the '<layer>.weight' "
                                   "keys of a state dict");
        if (st == WL_OK)
            ((wl_skipped *)m->skipped.v)[m->skipped.n - 1].is_weight = 0;
        return st;
    }
    if (t->rank != 2 && t->rank != 4) {
        wl_status st = add_skipped(&m->skipped, t, name, (int64_t)i, "rank", err,
                                   "rank %d: only 2-D (dense) and 4-D (conv2d) tensors are "
                                   "analyzed",
                                   t->rank);
        if (st == WL_OK)
            ((wl_skipped *)m->skipped.v)[m->skipped.n - 1].is_weight = 0;
        return st;
    }
    return add_layer(m, i, t->dims, t->rank, 0, "", t->rank == 2 ? "dense" : "conv2d", NULL, NULL,
                     err);
}

/* Ops of the default domain whose inputs may be weights weightlint has no matrix for. Every
 * other default-domain op's non-table inputs are not weights (biases, shapes, masks), and so
 * are the other inputs of a contrib op with a table row (its scales, zero points, g_idx). */
static int is_unsupported_onnx_op(const char *op)
{
    return strcmp(op, "Einsum") == 0 || strcmp(op, "DeformConv") == 0;
}

static int is_default_domain(const char *domain)
{
    return domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

static int64_t node_int(const wl_node *nd, const char *name, int64_t dflt)
{
    int64_t v;
    return nd != NULL && wl_node_get_int(nd, name, &v) ? v : dflt;
}

/* The dequantization of a weight from its usage: the contrib op's own encoding, or the scale
 * and zero point of a DequantizeLinear / QLinear / *Integer* op (docs/metrics.md). */
static void dq_from_usage(const wl_usage *u, wl_dq_spec *q)
{
    memset(q, 0, sizeof *q);
    const wl_node *nd = u->node;
    q->op = nd->op_type;
    q->node = nd->name;
    q->scale = u->scale;
    q->zero_point = u->zero_point;
    q->g_idx = u->g_idx;
    q->axis = u->quant_axis;
    switch (u->role) {
    case WL_ROLE_NBITS:
        q->kind = WL_DQ_NBITS;
        q->K = node_int(nd, "K", 0);
        q->N = node_int(nd, "N", 0);
        q->bits = node_int(nd, "bits", 4);
        q->block_size = node_int(nd, "block_size", 0);
        q->round_output = 1;
        return;
    case WL_ROLE_BNB4:
        q->kind = WL_DQ_BNB4;
        q->K = node_int(nd, "K", 0);
        q->N = node_int(nd, "N", 0);
        q->block_size = node_int(nd, "block_size", 0);
        q->quant_type = node_int(nd, "quant_type", -1);
        q->round_output = 1;
        return;
    case WL_ROLE_GATHER_BLOCK:
        q->kind = WL_DQ_GATHER_BLOCK;
        q->bits = node_int(nd, "bits", 4);
        q->block_size = node_int(nd, "block_size", 128);
        q->axis = node_int(nd, "quantize_axis", 1);
        q->round_output = 1;
        return;
    default:
        break;
    }
    if (u->scale == NULL && u->zero_point == NULL)
        return;
    q->kind = WL_DQ_LINEAR;
    /* onnxruntime computes the float weight (a DequantizeLinear output, or what the integer
     * product is scaled by) in the scale's type: rounded once to float32 (test-ort). */
    q->round_output = 1;
    if (u->dq_node != NULL) { /* DequantizeLinear: the runtime rounds to its output type */
        q->op = u->dq_node->op_type;
        q->node = u->dq_node->name;
        q->block_size = node_int(u->dq_node, "block_size", 0);
        q->out_dtype = node_int(u->dq_node, "output_dtype", 0);
    }
}

/* Attention / QAttention: the packed [in, q + k + v] weight as its three column blocks,
 * named .../qkv/q, .../qkv/k, .../qkv/v; widths from qkv_hidden_sizes, else equal thirds. */
static wl_status add_qkv(model_ctx *m, size_t i, const wl_usage *u, const wl_dq_spec *dq,
                         wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const wl_node *nd = u->node;
    int64_t w[3], total = t->dims[1];
    if (nd->n_qkv_hidden_sizes > 0) {
        int64_t sum = 0;
        for (int j = 0; j < 3 && j < nd->n_qkv_hidden_sizes; j++) {
            w[j] = nd->qkv_hidden_sizes[j];
            sum += w[j] > 0 ? w[j] : 0;
        }
        if (nd->n_qkv_hidden_sizes != 3 || w[0] <= 0 || w[1] <= 0 || w[2] <= 0 || sum != total)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s node '%s': qkv_hidden_sizes (%d values) must be 3 positive sizes "
                           "summing to the weight's %lld columns",
                           nd->op_type, nd->name, nd->n_qkv_hidden_sizes, (long long)total);
    } else {
        if (total % 3 != 0)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s node '%s': weight '%s' has %lld columns, not 3 equal q/k/v blocks "
                           "(and no qkv_hidden_sizes)",
                           nd->op_type, nd->name, t->name, (long long)total);
        w[0] = w[1] = w[2] = total / 3;
    }
    static const char *const names[3] = {"/qkv/q", "/qkv/k", "/qkv/v"};
    int64_t off = 0;
    for (int j = 0; j < 3; j++) {
        int64_t md[2] = {t->dims[0], w[j]};
        size_t before = m->jobs.n;
        wl_status st = add_layer(m, i, md, 2, 0, names[j], "dense", u, dq, err);
        if (st != WL_OK)
            return st;
        if (m->jobs.n > before) {
            wl_job *jb = &((wl_job *)m->jobs.v)[m->jobs.n - 1];
            jb->src_cols = total;
            jb->col_offset = off;
            wl_layer *l = &((wl_layer *)m->layers.v)[jb->slot];
            l->rank = 2; /* the block's own in x width, not the packed weight's */
            l->shape[0] = md[0];
            l->shape[1] = md[1];
        }
        off += w[j];
    }
    return WL_OK;
}

/* weightlint's rule: the matrix the consuming op multiplies (docs/metrics.md). */
static wl_status classify_op_aware(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = wl_select_name(m, i);
    wl_usage u;
    wl_graph_usage(&m->graph, graph_name(m, i), &u);
    if (u.role == WL_ROLE_NONE) {
        /* A matrix-shaped tensor read by an op weightlint has no role for may well be a
         * weight: say so (and count it against the coverage) rather than call it not one. */
        if (t->rank >= 2 && u.other != NULL &&
            ((!is_default_domain(u.other->domain) && !wl_graph_op_known(u.other)) ||
             is_unsupported_onnx_op(u.other->op_type)))
            return add_skipped(&m->skipped, t, name, (int64_t)i, "unsupported_op", err,
                               "%s%s%s input %d (node '%s'): no weight role defined for this "
                               "op",
                               u.other->domain, u.other->domain[0] ? "." : "", u.other->op_type,
                               u.other_input, u.other->name);
        return add_skipped(&m->skipped, t, name, (int64_t)i, "not_weight", err, "%s", u.why);
    }
    int aliased;
    wl_status ast = skip_alias(m, i, &aliased, err);
    if (ast != WL_OK || aliased)
        return ast;
    const char *op = u.node->op_type;
    wl_dq_spec dq;
    dq_from_usage(&u, &dq);
    if (dq.kind == WL_DQ_LINEAR && u.dq_after_transpose && dq.block_size > 0)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "unsupported_op", err,
                           "blocked DequantizeLinear (node '%s') after a Transpose: no mapping "
                           "of its blocks to the stored tensor",
                           dq.node);
    int64_t rows, cols;
    wl_status st = wl_dq_prepare(&m->set, &dq, t, &rows, &cols, err);
    if (st != WL_OK)
        return st;
    switch (u.role) {
    case WL_ROLE_NBITS:
    case WL_ROLE_BNB4:
    case WL_ROLE_GATHER_BLOCK: {
        int64_t md[2] = {rows, cols};
        return add_layer(m, i, md, 2, 0, "", "dense", &u, &dq, err);
    }
    case WL_ROLE_QKV:
        if (t->rank == 2)
            return add_qkv(m, i, &u, &dq, err);
        break;
    case WL_ROLE_DENSE:
        if (t->rank == 2)
            return add_layer(m, i, t->dims, 2, 0, "", "dense", &u, &dq, err);
        break;
    case WL_ROLE_CONV:
        if (t->rank == 4 && strcmp(op, "NhwcConv") == 0 && !u.transposed) {
            /* onnxruntime's FusionNhwcConv stores the kernel as [M, kH, kW, C] (a Conv weight
             * transposed by perm [0, 2, 3, 1]); reached through that Transpose it is OIHW. */
            int64_t d[4] = {t->dims[0], t->dims[3], t->dims[1], t->dims[2]};
            size_t before = m->jobs.n;
            st = add_layer(m, i, d, 4, 0, "", "conv2d", &u, &dq, err);
            if (st == WL_OK && m->jobs.n > before) {
                wl_job *jb = &((wl_job *)m->jobs.v)[m->jobs.n - 1];
                jb->ohwi = 1;
                jb->work += jb->tensor_bytes; /* the permuted copy */
            }
            return st;
        }
        if (t->rank == 4)
            return add_layer(m, i, t->dims, 4, 0, "", "conv2d", &u, &dq, err);
        if (t->rank == 3 || t->rank == 5) {
            /* [out, in, k] and [out, in, kd, kh, kw] are [out, in, S] in memory: one out x in
             * slice per kernel position, pooled as for 2-D kernels. */
            int64_t d[4] = {t->dims[0], t->dims[1], t->dims[2], 1};
            if (t->rank == 5)
                d[2] = t->dims[2] * t->dims[3] * t->dims[4];
            return add_layer(m, i, d, 4, 0, "", t->rank == 3 ? "conv1d" : "conv3d", &u, &dq, err);
        }
        break;
    case WL_ROLE_RNN_W:
    case WL_ROLE_RNN_R: {
        /* [num_directions, gates*hidden, in] (or a 2-D [gates*hidden, in] that reaches the op
         * through Slice/Concat/Unsqueeze): one hidden x in matrix per direction and gate, in
         * ONNX order (LSTM i,o,f,c; GRU z,r,h). After Slice/Concat the gate order may have been
         * permuted, so the blocks are then named by position. */
        int64_t dirs = t->rank == 3 ? t->dims[0] : 1;
        int64_t gh = t->rank == 3 ? t->dims[1] : t->dims[0];
        int64_t ncols = t->rank == 3 ? t->dims[2] : t->dims[1];
        if ((t->rank != 3 && t->rank != 2) || gh % u.n_gates != 0)
            break;
        static const char *const lstm[] = {"i", "o", "f", "c"}, *const gru[] = {"z", "r", "h"};
        int64_t h = gh / u.n_gates;
        for (int64_t d = 0; d < dirs; d++)
            for (int g = 0; g < u.n_gates; g++) {
                char suffix[96], gname[32];
                if (u.resliced)
                    snprintf(gname, sizeof gname, "block%d", g);
                else
                    snprintf(gname, sizeof gname, "gate_%s",
                             u.n_gates == 4   ? lstm[g]
                             : u.n_gates == 3 ? gru[g]
                                              : "h");
                snprintf(suffix, sizeof suffix, "/%s/dir%lld/%s",
                         u.role == WL_ROLE_RNN_W ? "W" : "R", (long long)d, gname);
                int64_t md[2] = {h, ncols};
                uint64_t off = (uint64_t)((d * u.n_gates + g) * h * ncols);
                st = add_layer(m, i, md, 2, off, suffix, "rnn", &u, &dq, err);
                if (st != WL_OK)
                    return st;
            }
        return WL_OK;
    }
    case WL_ROLE_NONE:
        break;
    }
    return add_skipped(&m->skipped, t, name, (int64_t)i, "rank", err,
                       "rank %d tensor as %s input %d (node '%s'): no matrix extraction defined",
                       t->rank, op, u.input_index, u.node->name);
}

/* A checkpoint without a graph (safetensors): what a tensor is follows from its rank and type,
 * by the rules of docs/safetensors.md. Rank 2 is a dense matrix (Linear [out, in], and the
 * embedding tables, embed/wte/tok/lm_head, which ONNX's Gather reads as dense matrices too);
 * rank 3-5 a conv kernel in PyTorch's layout [out, in, k...], the same as ONNX's; rank 0-1
 * (biases, norm scales) and integer or boolean tensors (position ids, masks, counters) are not
 * weights. A tensor byte-identical to an earlier layer (tied embeddings) is analyzed once. */
static wl_status classify_graphless(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = t->name;
    /* safetensors' float types: F64, F32, F16, BF16, F8_E4M3, F8_E5M2 */
    int64_t ty = t->data_type;
    int is_float = ty == 11 || ty == 1 || ty == 10 || ty == 16 || ty == 17 || ty == 19;
    if (t->rank < 2)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "not_weight", err,
                           "rank-%d tensor (a bias, norm scale or buffer; no matrix)", t->rank);
    if (!is_float)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "not_weight", err,
                           "%s tensor without a graph: an index, mask or counter buffer (integer "
                           "weights need the scales a graph links them to)",
                           wl_st_dtype_name(t->data_type));
    if (t->rank > 5)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "rank", err,
                           "rank %d: no matrix extraction defined (dense is 2-D, conv kernels "
                           "3-D to 5-D)",
                           t->rank);
    int aliased;
    wl_status ast = skip_alias(m, i, &aliased, err);
    if (ast != WL_OK || aliased)
        return ast;
    if (t->rank == 2)
        return add_layer(m, i, t->dims, 2, 0, "", "dense", NULL, NULL, err);
    if (t->rank == 4)
        return add_layer(m, i, t->dims, 4, 0, "", "conv2d", NULL, NULL, err);
    int64_t d[4] = {t->dims[0], t->dims[1], t->dims[2], 1};
    if (t->rank == 5)
        d[2] = t->dims[2] * t->dims[3] * t->dims[4];
    return add_layer(m, i, d, 4, 0, "", t->rank == 3 ? "conv1d" : "conv3d", NULL, NULL, err);
}

wl_status wl_select_tensor(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = wl_select_name(m, i);
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    const wl_options *opts = m->opts;
    if (opts->layers != NULL && fnmatch(opts->layers, name, 0) != 0)
        return add_skipped(&m->skipped, t, name, (int64_t)i, "filter", err,
                           "not selected by --layers %s", opts->layers);
    if (dt->elem_bits == 0 && (t->rank == 2 || t->rank == 4 || opts->compat != WL_COMPAT_WW))
        return add_skipped(&m->skipped, t, name, (int64_t)i, "dtype", err,
                           "data type %s is not supported (no numeric widening defined)", dt->name);
    if (opts->compat == WL_COMPAT_WW)
        return classify_ww(m, i, err);
    return m->ckpt != NULL ? classify_graphless(m, i, err) : classify_op_aware(m, i, err);
}

/* Compares names as a person orders layers: runs of digits by value ("layers.2" before
 * "layers.10"), everything else bytewise. */
static int cmp_natural(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(a, b, la);
            if (c != 0)
                return c;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != '\0') - (*b != '\0');
}

static int cmp_layer_names(const void *x, const void *y)
{
    const wl_layer *a = *(const wl_layer *const *)x, *b = *(const wl_layer *const *)y;
    int c = cmp_natural(a->name, b->name);
    return c != 0 ? c : strcmp(a->id, b->id);
}

/* --compat ww: WeightWatcher's order, the keys sorted bytewise (safe_open's, and the sorted
 * weight_map of an index). */
static int cmp_layer_names_bytewise(const void *x, const void *y)
{
    const wl_layer *a = *(const wl_layer *const *)x, *b = *(const wl_layer *const *)y;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->id, b->id);
}

/* Without a graph a layer's depth is its rank in natural name order: the checkpoint's own
 * order is by dtype and name (the safetensors writer's), which puts layers.10 before layers.2. */
wl_status wl_select_name_depths(model_ctx *m, wl_err *err)
{
    size_t n = m->layers.n;
    wl_layer **v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = &((wl_layer *)m->layers.v)[i];
    qsort(v, n, sizeof *v,
          m->opts->compat == WL_COMPAT_WW ? cmp_layer_names_bytewise : cmp_layer_names);
    for (size_t i = 0; i < n; i++)
        v[i]->depth = (int64_t)i;
    free(v);
    return WL_OK;
}
