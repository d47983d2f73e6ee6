/*
 * score.c — one job to one result row (see analyze_plan.h): widen and dequantize the stored
 * tensor, check it is finite, apply conv2d_norm, build the ESD of each slice, fit and score it;
 * --randomize and --dist-test on the way; the per-layer cache in front.
 */
#include "analyze_plan.h"

#include "cache.h"
#include "distfit.h"
#include "dtype.h"
#include "esd.h"
#include "metrics.h"
#include "mp.h"
#include "phase.h"
#include "randesd.h"
#include "wl_err.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this lambda_min/lambda_max the Gram route cannot resolve the small singular values
 * (its absolute floor is ~eps64 * lambda_max), so the rank columns take them from dgesdd. */
#define WL_GRAM_COND_LIMIT 1e-12
#define WL_CONV_SCALE      0.70710678118654757 /* sqrt(1/2): conv2d_norm with pool=True (§3.3) */
/* A conv kernel is prepared every this many widened values: 128 KB of doubles, in L2. */
#define WL_PREPARE_STEP 16384

/* WeightWatcher's N, M, rf for a rank-2 or rank-4 shape, including quirks A and B (§3.2). */
void wl_ww_dimensions(const int64_t *d, int rank, wl_layer *l)
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

/* ESD of one slice (row-major rows x cols, rows ld values apart): eigenvalues (ascending) and
 * singular values. may_destroy: nothing reads w after this, so the SVD route may overwrite it
 * instead of copying it. */
static wl_status slice_spectrum(double *w, int may_destroy, size_t rows, size_t cols, size_t ld,
                                double *evals, double *sv, int fast, wl_err *err)
{
    size_t k = rows < cols ? rows : cols;
    wl_status st = fast ? wl_esd_gram_f32(w, rows, cols, ld, evals, err)
                        : wl_esd_gram_ld(w, rows, cols, ld, evals, err);
    if (st != WL_OK)
        return st;
    if (fast) { /* approximate by contract: no SVD refinement of the small singular values */
        for (size_t i = 0; i < k; i++)
            sv[i] = sqrt(evals[i]);
        return WL_OK;
    }
    double top = evals[k - 1];
    if (top == 0.0 || evals[0] <= WL_GRAM_COND_LIMIT * top) {
        st = may_destroy ? wl_esd_svd_inplace(w, rows, cols, ld, sv, err)
                         : wl_esd_svd(w, rows, cols, ld, sv, err);
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
 * the result does not depend on the order in which workers take layers. A conv kernel w is in
 * conv_prepare_rows' slice order. */
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
                    memcpy(sl + r * cols, w + (r * n_slices + i * kw + j) * cols,
                           cols * sizeof *sl);
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

/* A conv kernel being prepared for score_tensor, one kernel row at a time while the row is in
 * cache: checked finite (the first non-finite value, in stored order, goes to l), scaled by
 * conv2d_norm in the precision of kind, and reordered in place through tmp (one row) from
 * [cols, ns] to [ns, cols] (ns = kh*kw). Slice q, W[:, :, i, j], is then the rows x cols matrix
 * at w + q*cols with rows cols*ns apart, which dsyrk reads in place. One pass over the kernel,
 * fed by the widening while its values are in cache, replaces four (widen, check, scale, and a
 * gathered copy per slice, each of which read every cache line of the whole kernel; 7 % of
 * ISNet's run, issue #13). */
typedef struct conv_prep {
    double *w; /* the kernel, row-major [rows, cols, ns] */
    size_t rows, cols, ns, done;
    wl_scale_kind kind;
    double *tmp;
    wl_layer *l;
    uint64_t elem_offset; /* of w in the decoded tensor */
    int nonfinite;
} conv_prep;

/* Prepares the rows [c->done, upto); stops at the first non-finite value. */
static void conv_prepare_rows(conv_prep *c, size_t upto)
{
    size_t row_len = c->cols * c->ns;
    for (; c->done < upto && !c->nonfinite; c->done++) {
        double *row = c->w + c->done * row_len;
        for (size_t i = 0; i < row_len; i++)
            if (!isfinite(row[i])) {
                wl_metrics_set_nonfinite(c->l, c->elem_offset + c->done * row_len + i, row[i]);
                c->nonfinite = 1;
                return;
            }
        wl_dtype_scale(c->kind, row, row_len, WL_CONV_SCALE);
        for (size_t q = 0; q < c->ns; q++)
            for (size_t col = 0; col < c->cols; col++)
                c->tmp[q * c->cols + col] = row[col * c->ns + q];
        memcpy(row, c->tmp, row_len * sizeof *row);
    }
}

/* wl_widen_sink: dst[0..n) of the decoded tensor are widened. */
static void conv_prepare_widened(void *ctx, double *dst, size_t n)
{
    (void)dst;
    conv_prep *c = ctx;
    size_t row_len = c->cols * c->ns;
    if (n > c->elem_offset && row_len > 0) {
        size_t rows = (n - (size_t)c->elem_offset) / row_len;
        conv_prepare_rows(c, rows < c->rows ? rows : c->rows);
    }
}

/* Builds the pooled spectrum of a dense (rank 2) or conv2d (rank 4, already scaled and in
 * conv_prepare_rows' slice order) tensor held in w and computes the layer's metrics. */
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
    if (evals == NULL || sv == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the spectrum (%zu eigenvalues)", n);
        goto out;
    }
    wl_spectrum s = {.evals = evals, .sv = sv, .n_evals = n, .sv_max = 0.0, .sv_min = 0.0};
    size_t kh = rank == 4 ? (size_t)d[2] : 1, kw = rank == 4 ? (size_t)d[3] : 1;
    for (size_t i = 0; i < kh && k > 0; i++) {
        for (size_t j = 0; j < kw; j++) {
            double *ev = evals + (i * kw + j) * k, *sl_sv = sv + (i * kw + j) * k;
            /* Each slice is read once, from the worker's buffer; after this only --randomize
             * reads the buffer again. */
            st = slice_spectrum(w + (i * kw + j) * cols, !opts->randomize, rows, cols,
                                cols * n_slices, ev, sl_sv, opts->fast, err);
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
    return st;
}

static double *wbuf_get(wl_wbuf *b, size_t n)
{
    if (n > b->cap) {
        free(b->v);
        b->v = malloc(n * sizeof *b->v);
        b->cap = b->v ? n : 0;
    }
    return b->v;
}

/* Widens (into buf, grown as needed) and scores one layer. */
wl_status wl_score_job(const wl_plan *m, const wl_job *jb, wl_layer *l, wl_wbuf *buf, wl_err *err)
{
    const wl_tensor *t = &m->hdrs[jb->hdr];
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    uint64_t block = (uint64_t)jb->mdims[0] * (uint64_t)jb->mdims[1];
    if (jb->mrank == 4)
        block *= (uint64_t)(jb->mdims[2] * jb->mdims[3]);
    wl_status st;
    conv_prep prep = {0};
    double *tmp = NULL;
    double *w = wbuf_get(buf, (size_t)(jb->n_decoded ? jb->n_decoded : 1));
    if (w == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory for %llu values",
                     (unsigned long long)jb->n_decoded);
        goto out;
    }
    if (jb->mrank == 4) {
        size_t cols = (size_t)jb->mdims[1], ns = (size_t)(jb->mdims[2] * jb->mdims[3]);
        tmp = malloc((cols * ns > 0 ? cols * ns : 1) * sizeof *tmp);
        if (tmp == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory for a kernel row (%zu values)", cols * ns);
            goto out;
        }
        prep = (conv_prep){.w = w + jb->elem_offset, .rows = (size_t)jb->mdims[0], .cols = cols,
                           .ns = ns, .tmp = tmp, .l = l,
                           .kind = jb->dq.kind != WL_DQ_NONE ? WL_SCALE_F64 : dt->scale,
                           .elem_offset = jb->elem_offset};
    }
    /* A plain conv kernel is prepared as it is widened; a dequantized, permuted (OHWI) or
     * column-block one once its decode is complete. */
    if (jb->mrank == 4 && jb->dq.kind == WL_DQ_NONE && !jb->ohwi && jb->src_cols == 0) {
        wl_widen_sink sink = {conv_prepare_widened, &prep, WL_PREPARE_STEP};
        st = wl_tensor_to_double_sink(t, w, &sink, err);
    } else {
        st = wl_dq_decode(&m->set, &jb->dq, t, w, err);
    }
    wl_tensor_release_pages(t);
    if (st != WL_OK)
        goto out;
    l->dequantized = jb->dq.kind != WL_DQ_NONE;
    if (jb->ohwi) {
        size_t o = (size_t)jb->mdims[0], c = (size_t)jb->mdims[1], kh = (size_t)jb->mdims[2],
               kw = (size_t)jb->mdims[3];
        double *perm = malloc(o * c * kh * kw * sizeof *perm);
        if (perm == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory for the permuted kernel");
            goto out;
        }
        for (size_t a = 0; a < o; a++)
            for (size_t i = 0; i < kh; i++)
                for (size_t j = 0; j < kw; j++)
                    for (size_t b = 0; b < c; b++)
                        perm[((a * c + b) * kh + i) * kw + j] = w[((a * kh + i) * kw + j) * c + b];
        memcpy(w, perm, o * c * kh * kw * sizeof *w);
        free(perm);
    }
    if (jb->src_cols > 0) {
        /* A column block: pack its rows to the front (each destination is at or before its
         * source, so a forward memmove is safe). */
        size_t bc = (size_t)jb->mdims[1], sc = (size_t)jb->src_cols, off = (size_t)jb->col_offset;
        for (size_t r = 0; r < (size_t)jb->mdims[0]; r++)
            memmove(w + r * bc, w + r * sc + off, bc * sizeof *w);
    }
    double *blk = w + jb->elem_offset;
    if (jb->mrank == 4) {
        conv_prepare_rows(&prep, prep.rows); /* the rows the widening did not feed */
        if (prep.nonfinite)
            goto out;
    } else {
        for (uint64_t i = 0; i < block; i++) {
            if (!isfinite(blk[i])) {
                wl_metrics_set_nonfinite(l, jb->elem_offset + i, blk[i]);
                goto out;
            }
        }
    }
    /* --cache: the key covers exactly the matrix scored (a conv kernel in slice order) and the
     * settings (cache.h) */
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
    free(tmp);
    if (st != WL_OK)
        wl_err_wrap(err, "tensor '%s'", l->name);
    return st;
}
