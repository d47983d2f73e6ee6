/*
 * analyze.c — from a model file to per-layer metrics. One tensor at a time: decode its header,
 * decide whether it is a layer (WeightWatcher's rules, spec §2–§3), widen it to double, build
 * the ESD of its matrices, score it, and free everything but the result row. Peak memory is
 * bounded by the largest tensor, whatever the model size.
 */
#include "weightlint.h"

#include "cache.h"
#include "dequant.h"
#include "distfit.h"
#include "dtype.h"
#include "esd.h"
#include "metrics.h"
#include "mp.h"
#include "onnx_graph.h"
#include "onnx_model.h"
#include "phase.h"
#include "randesd.h"
#include "safetensors.h"
#include "wl_err.h"
#include "membudget.h"

#include <ctype.h>
#include <float.h>
#include <fnmatch.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Below this lambda_min/lambda_max the Gram route cannot resolve the small singular values
 * (its absolute floor is ~eps64 * lambda_max), so the rank columns take them from dgesdd. */
#define WL_GRAM_COND_LIMIT 1e-12
#define WL_CONV_SCALE      0.70710678118654757 /* sqrt(1/2): conv2d_norm with pool=True (§3.3) */
/* A matrix of at least this many elements (an LLM's embedding table: 128256 x 2048 = 2.6e8) is
 * scored alone with two BLAS threads (1.6 s vs 2.6 s, perf-floor.md §2); every other matrix
 * with one BLAS thread per worker. The rule depends on the matrix only, never on the worker
 * count or on timing, so results stay bit-identical whatever --threads says. */
#define WL_HUGE_ELEMS        ((uint64_t)64 << 20)
#define WL_HUGE_BLAS_THREADS 2

uint64_t wl_job_cost(uint64_t rows, uint64_t cols, uint64_t slices)
{
    uint64_t k = rows < cols ? rows : cols;
    return slices * (rows * cols * k + k * k * k); /* dsyrk + dsyevd flops, up to constants */
}

uint64_t wl_job_work_bytes(uint64_t rows, uint64_t cols, uint64_t slices, const wl_options *opts)
{
    uint64_t k = rows < cols ? rows : cols, rc = rows * cols, n = k * slices;
    uint64_t v = 0;           /* doubles */
    v += slices > 1 ? rc : 0; /* the conv slice gathered for dsyrk */
    v += k * k + 8 * k;       /* the Gram, and dsyevd's / dgesdd's R factor and workspace */
    v += 2 * n;               /* eigenvalues and singular values */
    v += 4 * n;               /* the power-law fit: a long double suffix sum, alpha, log x */
    if (opts->randomize)      /* dgesdd's copy (the original is shuffled next), the slice
                                 copies, the shuffle buffer, 5 replicas + 1 */
        v += rc + (slices > 1 ? slices * rc : 0) + rc + 6 * n;
    if (opts->fast) /* float32 copy and Gram (the double Gram is not made) */
        v += rc / 2;
    return 8 * v + WL_WIDEN_WINDOW_BYTES;
}

uint64_t wl_pool_budget(uint64_t largest_tensor_bytes)
{
    return WL_MEM_FIXED_BYTES - WL_MEM_BASELINE_BYTES + 3 * largest_tensor_bytes;
}

/* WeightWatcher's N, M, rf for a rank-2 or rank-4 shape, including quirks A and B (§3.2). */
static void ww_dimensions(const int64_t *d, int rank, wl_layer *l)
{
    if (rank == 2) {
        l->N = d[0] > d[1] ? d[0] : d[1];
        l->M = d[0] > d[1] ? d[1] : d[0];
        l->rf = 1;
        return;
    }
    int64_t a = d[0], b = d[1], kh = d[2], kw = d[3];
    l->rf = kh * kw;
    l->N = a;
    l->M = b;
    if (a + b >= kh + kw && a < b && (l->rf % 2) == 1) {
        /* Quirk A: the running N, M are swapped once per slice; an odd count swaps them. */
        l->N = b;
        l->M = a;
    }
    /* Quirk B (a + b < kh + kw): N = a, M = b as stored. */
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* ESD of one slice (row-major rows x cols): eigenvalues (ascending) and singular values.
 * may_destroy: w is a scratch copy the SVD route may overwrite instead of copying it. */
static wl_status slice_spectrum(double *w, int may_destroy, size_t rows, size_t cols, double *evals,
                                double *sv, int fast, wl_err *err)
{
    size_t k = rows < cols ? rows : cols;
    wl_status st =
        fast ? wl_esd_gram_f32(w, rows, cols, evals, err) : wl_esd_gram(w, rows, cols, evals, err);
    if (st != WL_OK)
        return st;
    if (fast) { /* approximate by contract: no SVD refinement of the small singular values */
        for (size_t i = 0; i < k; i++)
            sv[i] = sqrt(evals[i]);
        return WL_OK;
    }
    double top = evals[k - 1];
    if (top == 0.0 || evals[0] <= WL_GRAM_COND_LIMIT * top) {
        st = may_destroy ? wl_esd_svd_inplace(w, rows, cols, sv, err)
                         : wl_esd_svd(w, rows, cols, sv, err);
        if (st != WL_OK)
            return st;
        for (size_t i = 0; i < k; i++)
            evals[i] = sv[i] * sv[i];
        return WL_OK;
    }
    for (size_t i = 0; i < k; i++)
        sv[i] = sqrt(evals[i]);
    return WL_OK;
}

/* The randomized ESD (spec §8): element-wise shuffles of each slice, seeded per layer so that
 * the result does not depend on the order in which workers take layers. */
static wl_status randomize_layer(const double *w, size_t rows, size_t cols, size_t kh, size_t kw,
                                 const double *evals, size_t n, wl_layer *l, const wl_options *opts,
                                 wl_err *err)
{
    size_t n_slices = kh * kw;
    const double **slices = malloc(n_slices * sizeof *slices);
    double *copies = n_slices > 1 ? malloc(n_slices * rows * cols * sizeof *copies) : NULL;
    wl_status st = WL_OK;
    if (slices == NULL || (n_slices > 1 && copies == NULL)) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the randomized ESD");
        goto out;
    }
    if (n_slices == 1) {
        slices[0] = w;
    } else {
        for (size_t i = 0; i < kh; i++)
            for (size_t j = 0; j < kw; j++) {
                double *sl = copies + (i * kw + j) * rows * cols;
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < cols; c++)
                        sl[r * cols + c] = w[((r * cols + c) * kh + i) * kw + j];
                slices[i * kw + j] = sl;
            }
    }
    wl_rand_result rr;
    uint64_t seed = opts->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(l->layer_id + 1));
    double *kept = NULL;
    st = wl_randesd_compute_keep(slices, n_slices, rows, cols, evals, n, (double)l->N, (double)l->M,
                                 seed, opts->keep_evals ? &kept : NULL, &rr, err);
    if (st != WL_OK)
        goto out;
    l->rand_evals = kept;
    l->n_rand_evals = kept ? rr.n_rand_evals : 0;
    l->has_rand = 1;
    l->rand_num_spikes = rr.rand_num_spikes;
    l->rand_sigma_mp = rr.rand_sigma_mp;
    l->rand_mp_softrank = rr.rand_mp_softrank;
    l->rand_bulk_max = rr.rand_bulk_max;
    l->max_rand_eval = rr.max_rand_eval;
    l->rand_distance = rr.rand_distance;
    l->ww_softrank = rr.ww_softrank;
out:
    free(slices);
    free(copies);
    return st;
}

/* --dist-test: powerlaw's competing fits on the tail (the eigenvalues >= xmin of the PL fit,
 * on its scale) into l. A layer without a PL fit gets null columns and a reason. */
static wl_status dist_test_layer(const double *evals, size_t n, wl_layer *l, wl_err *err)
{
    l->has_dist = 1;
    l->dist_ok = 0;
    l->best_fit = NULL;
    l->tpl_alpha = l->tpl_lambda = l->exponential_lambda = l->lognormal_mu = NAN;
    l->lognormal_sigma = l->stretched_exp_lambda = l->stretched_exp_beta = NAN;
    l->pl_vs_tpl_R = l->pl_vs_tpl_p = l->pl_vs_exponential_R = l->pl_vs_exponential_p = NAN;
    l->pl_vs_lognormal_R = l->pl_vs_lognormal_p = l->pl_vs_stretched_exp_R = NAN;
    l->pl_vs_stretched_exp_p = l->dist_pl_alpha = NAN;
    if (l->status != WL_LAYER_SUCCESS) {
        snprintf(l->dist_reason, sizeof l->dist_reason, "no power-law fit, so no tail to test");
        return WL_OK;
    }
    size_t first = 0;
    while (first < n && !(evals[first] >= l->xmin))
        first++;
    wl_distfit f;
    wl_status st = wl_distfit_tail(evals + first, n - first, l->xmin, &f, err);
    if (st != WL_OK)
        return st;
    if (!f.ok) {
        snprintf(l->dist_reason, sizeof l->dist_reason, "%s", f.reason);
        return WL_OK;
    }
    l->dist_ok = 1;
    l->dist_reason[0] = '\0';
    l->best_fit = f.best_fit;
    l->dist_pl_alpha = f.pl_alpha;
    l->tpl_alpha = f.tpl_alpha;
    l->tpl_lambda = f.tpl_lambda;
    l->exponential_lambda = f.exp_lambda;
    l->lognormal_mu = f.lognormal_mu;
    l->lognormal_sigma = f.lognormal_sigma;
    l->stretched_exp_lambda = f.stretched_lambda;
    l->stretched_exp_beta = f.stretched_beta;
    l->pl_vs_tpl_R = f.R[WL_ALT_TPL];
    l->pl_vs_tpl_p = f.p[WL_ALT_TPL];
    l->pl_vs_exponential_R = f.R[WL_ALT_EXP];
    l->pl_vs_exponential_p = f.p[WL_ALT_EXP];
    l->pl_vs_lognormal_R = f.R[WL_ALT_LOGNORMAL];
    l->pl_vs_lognormal_p = f.p[WL_ALT_LOGNORMAL];
    l->pl_vs_stretched_exp_R = f.R[WL_ALT_STRETCHED];
    l->pl_vs_stretched_exp_p = f.p[WL_ALT_STRETCHED];
    return WL_OK;
}

/* Builds the pooled spectrum of a dense (rank 2) or conv2d (rank 4) tensor held in w (already
 * scaled) and computes the layer's metrics. */
static wl_status score_tensor(double *w, const int64_t *d, int rank, wl_layer *l,
                              const wl_options *opts, wl_err *err)
{
    size_t rows = (size_t)d[0], cols = (size_t)d[1];
    size_t n_slices = rank == 4 ? (size_t)(d[2] * d[3]) : 1;
    size_t k = rows < cols ? rows : cols;
    size_t n = k * n_slices;
    wl_status st = WL_OK;
    double *evals = malloc((n ? n : 1) * sizeof *evals);
    double *sv = malloc((n ? n : 1) * sizeof *sv);
    double *slice = rank == 4 ? malloc((rows * cols > 0 ? rows * cols : 1) * sizeof *slice) : NULL;
    if (evals == NULL || sv == NULL || (rank == 4 && slice == NULL)) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the spectrum (%zu eigenvalues)", n);
        goto out;
    }
    wl_spectrum s = {.evals = evals, .sv = sv, .n_evals = n, .sv_max = 0.0, .sv_min = 0.0};
    size_t kh = rank == 4 ? (size_t)d[2] : 1, kw = rank == 4 ? (size_t)d[3] : 1;
    for (size_t i = 0; i < kh && k > 0; i++) {
        for (size_t j = 0; j < kw; j++) {
            double *m = w;
            if (rank == 4) {
                /* W[:, :, i, j] of the [out, in, kh, kw] kernel, row-major out x in. */
                for (size_t r = 0; r < rows; r++)
                    for (size_t c = 0; c < cols; c++)
                        slice[r * cols + c] = w[((r * cols + c) * kh + i) * kw + j];
                m = slice;
            }
            double *ev = evals + (i * kw + j) * k, *sl_sv = sv + (i * kw + j) * k;
            /* A conv slice is a copy; a dense matrix is the worker's buffer, needed after
             * this only by --randomize. */
            st = slice_spectrum(m, rank == 4 || !opts->randomize, rows, cols, ev, sl_sv, opts->fast,
                                err);
            if (st != WL_OK)
                goto out;
            double smax = sl_sv[k - 1], smin = sl_sv[0];
            if (smax > s.sv_max)
                s.sv_max = smax;
            if (smin > s.sv_min || (i == 0 && j == 0))
                s.sv_min = smin;
            double tol = smax * (double)l->N * DBL_EPSILON;
            for (size_t q = 0; q < k; q++)
                if (!(sl_sv[q] > tol))
                    s.rank_loss++;
        }
    }
    if (n_slices > 1) {
        qsort(evals, n, sizeof *evals, cmp_double);
        qsort(sv, n, sizeof *sv, cmp_double);
    }
    if (n == 0) {
        st = WL_FAIL(err, WL_E_INTERNAL, "layer '%s' has an empty spectrum", l->name);
        goto out;
    }
    if (wl_metrics_compute(l, &s) != 0) {
        st = WL_FAIL(err, WL_E_NOMEM, "layer '%s': out of memory for the power-law fit", l->name);
        goto out;
    }
    if (opts->compat != WL_COMPAT_WW)
        wl_metrics_unset_failed_fit(l);
    if (opts->mp_fit) {
        wl_mp_result mp;
        wl_mp_fit(evals, n, (double)l->N, (double)l->M, &mp);
        l->has_mp = 1;
        l->num_spikes = mp.num_spikes;
        l->sigma_mp = mp.sigma_mp;
        l->mp_softrank = mp.mp_softrank;
        l->bulk_min = mp.bulk_min;
        l->bulk_max = mp.bulk_max;
        l->W_scale = mp.W_scale;
    }
    if (opts->randomize) {
        st = randomize_layer(w, rows, cols, kh, kw, evals, n, l, opts, err);
        if (st != WL_OK)
            goto out;
    }
    wl_phase_assign(l);
    if (opts->dist_test) {
        st = dist_test_layer(evals, n, l, err);
        if (st != WL_OK)
            goto out;
    }
    if (opts->keep_evals) {
        l->evals = evals;
        evals = NULL;
    }
out:
    free(evals);
    free(sv);
    free(slice);
    return st;
}

/* ------------------------------------------------------------------ result building */

typedef struct growable {
    void *v;
    size_t n, cap, elem;
} growable;

static void *grow(growable *g)
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

static wl_status add_skipped(growable *g, const wl_tensor *t, const char *name, int64_t layer_id,
                             const char *code, wl_err *err, const char *fmt, ...) WL_PRINTF(7, 8);

static wl_status add_skipped(growable *g, const wl_tensor *t, const char *name, int64_t layer_id,
                             const char *code, wl_err *err, const char *fmt, ...)
{
    wl_skipped *s = grow(g);
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
static char *make_id(const char *graph_path, const char *name, const char *suffix,
                     int64_t layer_id, const growable *layers)
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

/* A matrix (or conv kernel) waiting to be scored, and where its row goes. */
typedef struct job {
    size_t hdr;           /* index of the tensor header */
    size_t slot;          /* index in the layers array (tensor order) */
    uint64_t elem_offset; /* first element of the block (RNN gate blocks) */
    int64_t mdims[4];     /* [rows, cols] or [out, in, kh, kw] */
    int mrank;
    wl_dq_spec dq;      /* how the stored tensor decodes (names borrowed from the graph) */
    uint64_t n_decoded; /* values the decoded tensor has (t->n_elems unless packed) */
    int64_t src_cols, col_offset; /* a column block (Attention q/k/v) of a src_cols-wide
                                     decoded matrix; src_cols = 0 otherwise */
    int ohwi;                     /* kernel stored [out, kh, kw, in] (NhwcConv): permuted to
                                     [out, in, kh, kw] before slicing */
    uint64_t cost;                /* ~ flops, for largest-first scheduling */
    uint64_t tensor_bytes;        /* the widened tensor (a worker's reused buffer) */
    int exclusive;                /* huge: runs alone, with WL_HUGE_BLAS_THREADS BLAS threads */
    uint64_t work;                /* bytes the job allocates beyond that while it runs */
} job;

/* State shared by the classification of every tensor of one model. */
typedef struct model_ctx {
    const wl_onnx_file *f;   /* the ONNX source, or NULL */
    wl_st_checkpoint *ckpt;  /* the safetensors source (no graph), or NULL */
    const wl_options *opts;
    wl_tensor_ref *refs;  /* the tensors considered (borrowed from inits or graph) */
    wl_tensor_refs inits; /* --compat ww: the top-level initializers */
    wl_tensor *hdrs;      /* one parsed header per ref */
    size_t n;
    wl_graph graph;    /* default mode only */
    wl_tensor_set set; /* refs + hdrs, for looking up dequantization parameters */
    int64_t *topo;     /* rank of each graph node in topological order (default mode) */
    growable layers, skipped, jobs;
} model_ctx;

/* The name shown for a tensor: its own, else (Constant nodes) the node's output name. */
static const char *tensor_name(const model_ctx *m, size_t i)
{
    const wl_tensor *t = &m->hdrs[i];
    return (t->name[0] == '\0' && m->refs && m->refs[i].name_hint) ? m->refs[i].name_hint
                                                                     : t->name;
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
    const char *name = tensor_name(m, i);
    wl_layer probe = {0};
    ww_dimensions(dims, rank, &probe);
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
    wl_layer *l = grow(&m->layers);
    job *jb = l ? grow(&m->jobs) : NULL;
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
    const job *jobs = m->jobs.v;
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

/* WeightWatcher's rule (--compat ww): every rank-2 or rank-4 tensor is a layer. */
static wl_status classify_ww(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = tensor_name(m, i);
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
            job *jb = &((job *)m->jobs.v)[m->jobs.n - 1];
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
    const char *name = tensor_name(m, i);
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
    wl_status ast;
    long alias = find_alias(m, i, err, &ast);
    if (ast != WL_OK)
        return ast;
    if (alias >= 0) {
        const wl_layer *l = &((const wl_layer *)m->layers.v)[((const job *)m->jobs.v)[alias].slot];
        return add_skipped(&m->skipped, t, name, (int64_t)i, "alias", err,
                           "byte-identical to '%s' (analyzed once, under that id)", l->id);
    }
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
                job *jb = &((job *)m->jobs.v)[m->jobs.n - 1];
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
    wl_status ast;
    long alias = find_alias(m, i, err, &ast);
    if (ast != WL_OK)
        return ast;
    if (alias >= 0) {
        const wl_layer *l = &((const wl_layer *)m->layers.v)[((const job *)m->jobs.v)[alias].slot];
        return add_skipped(&m->skipped, t, name, (int64_t)i, "alias", err,
                           "byte-identical to '%s' (analyzed once, under that id)", l->id);
    }
    if (t->rank == 2)
        return add_layer(m, i, t->dims, 2, 0, "", "dense", NULL, NULL, err);
    if (t->rank == 4)
        return add_layer(m, i, t->dims, 4, 0, "", "conv2d", NULL, NULL, err);
    int64_t d[4] = {t->dims[0], t->dims[1], t->dims[2], 1};
    if (t->rank == 5)
        d[2] = t->dims[2] * t->dims[3] * t->dims[4];
    return add_layer(m, i, d, 4, 0, "", t->rank == 3 ? "conv1d" : "conv3d", NULL, NULL, err);
}

static wl_status classify_tensor(model_ctx *m, size_t i, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[i];
    const char *name = tensor_name(m, i);
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

/* A worker's widening buffer, kept across its jobs: glibc gives a freed large buffer back to
 * the kernel, and the next job would fault it in again, zero-filled (bench/README.md). */
typedef struct wbuf {
    double *v;
    size_t cap; /* values */
} wbuf;

static double *wbuf_get(wbuf *b, size_t n)
{
    if (n > b->cap) {
        free(b->v);
        b->v = malloc(n * sizeof *b->v);
        b->cap = b->v ? n : 0;
    }
    return b->v;
}

/* Widens (into buf, grown as needed) and scores one layer. */
static wl_status run_job(const model_ctx *m, const job *jb, wl_layer *l, wbuf *buf, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[jb->hdr];
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    uint64_t block = (uint64_t)jb->mdims[0] * (uint64_t)jb->mdims[1];
    if (jb->mrank == 4)
        block *= (uint64_t)(jb->mdims[2] * jb->mdims[3]);
    wl_status st;
    double *w = wbuf_get(buf, (size_t)(jb->n_decoded ? jb->n_decoded : 1));
    if (w == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for %llu values",
                     (unsigned long long)jb->n_decoded);
        goto out;
    }
    st = wl_dq_decode(&m->set, &jb->dq, t, w, err);
    wl_tensor_release_pages(t);
    if (st != WL_OK)
        goto out;
    l->dequantized = jb->dq.kind != WL_DQ_NONE;
    if (jb->ohwi) {
        size_t o = (size_t)jb->mdims[0], c = (size_t)jb->mdims[1], kh = (size_t)jb->mdims[2],
               kw = (size_t)jb->mdims[3];
        double *tmp = malloc(o * c * kh * kw * sizeof *tmp);
        if (tmp == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the permuted kernel");
            goto out;
        }
        for (size_t a = 0; a < o; a++)
            for (size_t i = 0; i < kh; i++)
                for (size_t j = 0; j < kw; j++)
                    for (size_t b = 0; b < c; b++)
                        tmp[((a * c + b) * kh + i) * kw + j] = w[((a * kh + i) * kw + j) * c + b];
        memcpy(w, tmp, o * c * kh * kw * sizeof *w);
        free(tmp);
    }
    if (jb->src_cols > 0) {
        /* A column block: pack its rows to the front (each destination is at or before its
         * source, so a forward memmove is safe). */
        size_t bc = (size_t)jb->mdims[1], sc = (size_t)jb->src_cols, off = (size_t)jb->col_offset;
        for (size_t r = 0; r < (size_t)jb->mdims[0]; r++)
            memmove(w + r * bc, w + r * sc + off, bc * sizeof *w);
    }
    double *blk = w + jb->elem_offset;
    for (uint64_t i = 0; i < block; i++) {
        if (!isfinite(blk[i])) {
            wl_metrics_set_nonfinite(l, jb->elem_offset + i, blk[i]);
            goto out;
        }
    }
    if (jb->mrank == 4)
        wl_dtype_scale(l->dequantized ? WL_SCALE_F64 : dt->scale, blk, (size_t)block,
                       WL_CONV_SCALE);
    /* --cache: the key covers exactly the matrix scored and the settings (cache.h) */
    uint8_t key[WL_CACHE_KEY_BYTES];
    wl_cache *cache = m->opts->keep_evals || m->opts->dist_test ? NULL : m->opts->cache;
    if (cache != NULL) {
        wl_cache_key(m->opts, l, jb->mdims, jb->mrank, blk, (size_t)block, key);
        if (wl_cache_lookup(cache, key, l))
            goto out;
    }
    st = score_tensor(blk, jb->mdims, jb->mrank, l, m->opts, err);
    if (st == WL_OK && cache != NULL)
        wl_cache_store(cache, key, l);
out:
    if (st != WL_OK)
        wl_err_wrap(err, "tensor '%s'", l->name);
    return st;
}

/* ------------------------------------------------------------------ worker pool */

/* Workers take jobs largest first. Each keeps one widening buffer across its jobs. A job
 * starts only when the bytes held (the workers' buffers plus the running jobs' work memory)
 * plus what it adds fit the budget, 64 MB + 3 x the largest matrix in float64 (issue #4), or
 * when nothing else runs: a matrix that would break the bound runs alone. Each job writes only
 * its own row, so the output order and bits do not depend on the number of workers. */
typedef struct pool {
    const model_ctx *m;
    const wl_options *opts;
    job **order; /* jobs sorted by cost, descending */
    size_t n_jobs, next, done;
    wl_layer *layers;
    uint64_t budget, in_use; /* in_use: workers' buffers plus running jobs' work */
    uint64_t peak;           /* the largest in_use admitted (wl_analysis.peak_admitted_bytes) */
    size_t running;
    int exclusive_running; /* a huge job holds the machine */
    int failed;
    wl_err err;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pool;

/* malloc_trim(0) gives glibc's free heap pages back to the kernel. Under a sanitizer the heap
 * is the sanitizer's, and glibc's trim walks arenas it never set up (it crashed under ASan). */
#if defined(__SANITIZE_ADDRESS__)
#define WL_SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define WL_SANITIZED_HEAP 1
#endif
#endif
static void trim_heap(void)
{
#ifndef WL_SANITIZED_HEAP
    malloc_trim(0);
#endif
}

static void *worker(void *arg)
{
    pool *p = arg;
    wbuf buf = {NULL, 0};
    uint64_t blas_held = 0; /* this thread's OpenBLAS buffer, counted from its first job on */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        job *jb = NULL;
        uint64_t need = 0;
        for (;;) {
            if (p->failed || p->next >= p->n_jobs)
                break;
            jb = p->order[p->next];
            uint64_t have = 8 * (uint64_t)buf.cap;
            if (jb->tensor_bytes > have && buf.v != NULL) {
                /* The buffer must grow: give the old one back first, so that what is held
                 * never exceeds one buffer per worker. */
                free(buf.v);
                buf.v = NULL;
                buf.cap = 0;
                p->in_use -= have;
                have = 0;
            }
            need = jb->work + (jb->tensor_bytes > have ? jb->tensor_bytes - have : 0) +
                   (blas_held ? 0 : WL_BLAS_THREAD_BYTES);
            int fits = p->running == 0 || p->in_use + need <= p->budget;
            if (!p->exclusive_running && fits && (!jb->exclusive || p->running == 0))
                break;
            jb = NULL;
            pthread_cond_wait(&p->cv, &p->mu);
        }
        if (jb == NULL) {
            p->in_use -= 8 * (uint64_t)buf.cap + blas_held;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            free(buf.v);
            return NULL;
        }
        p->next++;
        p->running++;
        p->in_use += need;
        blas_held = WL_BLAS_THREAD_BYTES;
        if (p->in_use > p->peak)
            p->peak = p->in_use;
        if (jb->exclusive) {
            p->exclusive_running = 1;
            openblas_set_num_threads(WL_HUGE_BLAS_THREADS);
        }
        pthread_mutex_unlock(&p->mu);

        wl_err err;
        wl_err_clear(&err);
        wl_status st = run_job(p->m, jb, &p->layers[jb->slot], &buf, &err);
        /* The job's freed Gram and copies stay in this thread's malloc arena otherwise (glibc
         * raises its mmap threshold to 32 MB after the first large free), held but uncounted. */
        trim_heap();

        pthread_mutex_lock(&p->mu);
        if (jb->exclusive) {
            openblas_set_num_threads(1);
            p->exclusive_running = 0;
        }
        p->running--;
        p->in_use -= jb->work;
        p->done++;
        if (st != WL_OK && !p->failed) {
            p->failed = 1;
            p->err = err;
        }
        if (st == WL_OK && p->opts->progress)
            p->opts->progress(p->opts->progress_ctx, p->layers[jb->slot].name, p->done, p->n_jobs);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static int cmp_job_cost(const void *a, const void *b)
{
    const job *x = *(job *const *)a, *y = *(job *const *)b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    return (x->slot > y->slot) - (x->slot < y->slot); /* stable: tensor order on ties */
}

static wl_status run_pool(const model_ctx *m, uint64_t *peak_admitted, wl_err *err)
{
    job *jobs = m->jobs.v;
    size_t n_jobs = m->jobs.n;
    const wl_options *opts = m->opts;
    *peak_admitted = 0;
    if (n_jobs == 0)
        return WL_OK;
    pool p = {.m = m, .opts = opts, .n_jobs = n_jobs, .layers = m->layers.v};
    p.order = malloc(n_jobs * sizeof *p.order);
    if (p.order == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    uint64_t largest = 0; /* the largest matrix in float64 (issue #4's memory bound) */
    for (size_t i = 0; i < n_jobs; i++) {
        p.order[i] = &jobs[i];
        if (jobs[i].tensor_bytes > largest)
            largest = jobs[i].tensor_bytes;
    }
    qsort(p.order, n_jobs, sizeof *p.order, cmp_job_cost);
    p.budget = wl_pool_budget(largest);
    wl_err_clear(&p.err);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    int n_threads = opts->threads > 0 ? opts->threads : 2;
    if ((size_t)n_threads > n_jobs)
        n_threads = (int)n_jobs;
    /* BLAS runs single-threaded inside each worker; huge matrices get two (WL_HUGE_ELEMS). */
    openblas_set_num_threads(1);
    pthread_t tids[16];
    if (n_threads > 16)
        n_threads = 16;
    int started = 0;
    for (int i = 1; i < n_threads; i++) {
        if (pthread_create(&tids[started], NULL, worker, &p) != 0)
            break;
        started++;
    }
    worker(&p); /* the calling thread is a worker too */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    free(p.order);
    *peak_admitted = p.peak;
    if (p.failed) {
        *err = p.err;
        return err->code;
    }
    return WL_OK;
}

/* ------------------------------------------------------------------ sharding */

static int cmp_job_cost(const void *a, const void *b);

/* --shard K/N: longest-processing-time-first over the predicted costs (largest job to the
 * least-loaded shard, the lowest shard index on ties). It depends on the model and the
 * settings only, so every shard computes the same assignment without talking to the others.
 * Fills the inventory (tensor order) and drops the other shards' jobs from m->jobs. */
static wl_status assign_shards(model_ctx *m, wl_analysis *a, wl_err *err)
{
    const wl_options *opts = m->opts;
    size_t n_jobs = m->jobs.n, n_shards = (size_t)opts->shard_count;
    job *jobs = m->jobs.v;
    const wl_layer *layers = m->layers.v;
    job **order = malloc((n_jobs ? n_jobs : 1) * sizeof *order);
    uint64_t *load = calloc(n_shards, sizeof *load);
    int *shard_of = malloc((m->layers.n ? m->layers.n : 1) * sizeof *shard_of);
    a->inventory = calloc(m->layers.n ? m->layers.n : 1, sizeof *a->inventory);
    wl_status st = WL_OK;
    if (order == NULL || load == NULL || shard_of == NULL || a->inventory == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_jobs; i++)
        order[i] = &jobs[i];
    qsort(order, n_jobs, sizeof *order, cmp_job_cost);
    for (size_t i = 0; i < n_jobs; i++) {
        size_t best = 0;
        for (size_t s = 1; s < n_shards; s++)
            if (load[s] < load[best])
                best = s;
        load[best] += order[i]->cost ? order[i]->cost : 1;
        shard_of[order[i]->slot] = (int)best;
    }
    a->n_inventory = m->layers.n;
    for (size_t i = 0; i < m->layers.n; i++) {
        a->inventory[i].id = strdup(layers[i].id);
        a->inventory[i].shard = shard_of[i];
        if (a->inventory[i].id == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
            goto out;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n_jobs; i++)
        if (shard_of[jobs[i].slot] == opts->shard_index)
            jobs[kept++] = jobs[i];
    m->jobs.n = kept;
out:
    free(order);
    free(load);
    free(shard_of);
    return st;
}

/* Puts the inventory (made in tensor order) into the rows' final order (graph order), so that
 * merge, which follows the inventory, writes the rows as a single run does. Ids are unique. */
static wl_status inventory_in_row_order(const model_ctx *m, wl_analysis *a, wl_err *err)
{
    const wl_layer *l = m->layers.v;
    size_t n = a->n_inventory;
    wl_inventory_entry *v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (strcmp(a->inventory[j].id, l[i].id) != 0)
            j = (j + 1) % n; /* rows move little: start looking where the row was */
        v[i] = a->inventory[j];
    }
    free(a->inventory);
    a->inventory = v;
    return WL_OK;
}

/* Keeps only this shard's rows (the ones in the inventory under shard_index), in order. */
static void keep_shard_layers(model_ctx *m, const wl_analysis *a)
{
    wl_layer *l = m->layers.v;
    size_t kept = 0;
    for (size_t i = 0; i < m->layers.n; i++) {
        if (a->inventory[i].shard == m->opts->shard_index) {
            l[kept++] = l[i];
            continue;
        }
        free(l[i].name);
        free(l[i].id);
        free(l[i].evals);
        free(l[i].rand_evals);
        free(l[i].node_name);
        free(l[i].op_type);
    }
    m->layers.n = kept;
}

/* SHA-256 of the model's files (a sharded checkpoint's shards in order), in hex: what `merge`
 * checks its parts against. */
static void model_hash(const model_ctx *m, char hex[65])
{
    wl_sha256 h;
    uint8_t d[32];
    wl_sha256_init(&h);
    if (m->f != NULL)
        wl_sha256_update(&h, m->f->map->data, m->f->map->size);
    for (size_t i = 0; m->ckpt != NULL && i < m->ckpt->n_files; i++)
        wl_sha256_update(&h, m->ckpt->files[i]->data, m->ckpt->files[i]->size);
    wl_sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
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
static wl_status sort_graph_order(growable *layers, wl_err *err)
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

/* Without a graph a layer's depth is its rank in natural name order: the checkpoint's own
 * order is by dtype and name (the safetensors writer's), which puts layers.10 before layers.2. */
static wl_status name_order_depths(model_ctx *m, wl_err *err)
{
    size_t n = m->layers.n;
    wl_layer **v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = &((wl_layer *)m->layers.v)[i];
    qsort(v, n, sizeof *v, cmp_layer_names);
    for (size_t i = 0; i < n; i++)
        v[i]->depth = (int64_t)i;
    free(v);
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
                   .jobs = {.elem = sizeof(job)}};
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
        st = classify_tensor(&m, i, err);
        if (st != WL_OK)
            wl_err_wrap(err, "tensor '%s'", tensor_name(&m, i));
    }
    if (st == WL_OK && from_ckpt)
        st = name_order_depths(&m, err);
    /* Pass 2: score the layers, two at a time. The header pass mapped the folio around every
     * header: give it back first. */
    if (f != NULL)
        wl_onnx_release_pages(f);
    for (size_t i = 0; m.ckpt != NULL && i < m.ckpt->n_files; i++)
        wl_mapfile_release(m.ckpt->files[i], m.ckpt->files[i]->data,
                           m.ckpt->files[i]->data + m.ckpt->files[i]->size);
    if (st == WL_OK && opts_in->shard_count > 0) {
        if (opts_in->shard_index < 0 || opts_in->shard_index >= opts_in->shard_count)
            st = WL_FAIL(err, WL_E_USAGE, "shard %d of %d does not exist", opts_in->shard_index,
                         opts_in->shard_count);
        else
            st = assign_shards(&m, a, err);
        a->shard_index = opts_in->shard_index;
        a->shard_count = opts_in->shard_count;
        model_hash(&m, a->model_sha256);
    }
    if (st == WL_OK)
        st = run_pool(&m, &a->peak_admitted_bytes, err);
    if (st != WL_OK) {
        wl_err_wrap(err, "%s", path);
        goto out;
    }
    a->path = strdup(path);
    a->producer = strdup(f != NULL ? f->producer : "safetensors");
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
    if (opts_in->shard_count > 0 && (st = inventory_in_row_order(&m, a, err)) == WL_OK)
        keep_shard_layers(&m, a);
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
