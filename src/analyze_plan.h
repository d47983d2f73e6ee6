/*
 * analyze_plan.h — the seams inside the analysis (issue 15). Layer selection (layer_select.c)
 * turns a source's tensor headers into result rows and jobs; the pool (pool.c) runs the jobs
 * under the memory budget and assigns --shard parts; scoring (score.c) widens, dequantizes and
 * scores one job. The pool and the scoring see only a wl_plan: format-neutral tensor headers
 * (onnx_model.h's wl_tensor, the payload in its file's mapping), the jobs and the rows. No file
 * format, graph or path reaches them.
 */
#ifndef WL_ANALYZE_PLAN_H
#define WL_ANALYZE_PLAN_H

#include "weightlint.h"

#include "dequant.h"
#include "onnx_model.h"

#include <stddef.h>
#include <stdint.h>

/* A matrix of at least this many elements (an LLM's embedding table: 128256 x 2048 = 2.6e8) is
 * scored alone with two BLAS threads (1.6 s vs 2.6 s, perf-floor.md §2); every other matrix
 * with one BLAS thread per worker. The rule depends on the matrix only, never on the worker
 * count or on timing, so results stay bit-identical whatever --threads says. */
#define WL_HUGE_ELEMS        ((uint64_t)64 << 20)
#define WL_HUGE_BLAS_THREADS 2

/* A growable array of elem-sized records (the result rows, the skipped list, the jobs). */
typedef struct wl_growable {
    void *v;
    size_t n, cap, elem;
} wl_growable;

/* Appends a zeroed record; NULL when out of memory. */
void *wl_grow(wl_growable *g);

/* A matrix (or conv kernel) waiting to be scored, and where its row goes. */
typedef struct wl_job {
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
} wl_job;

/* What the pool and the scoring read: borrowed, valid while the analysis runs. */
typedef struct wl_plan {
    const wl_options *opts;
    const wl_tensor *hdrs; /* the tensors the jobs index (wl_job.hdr) */
    wl_tensor_set set;     /* the same, for a dequantization's parameter tensors */
    wl_job *jobs;
    size_t n_jobs;
    wl_layer *layers; /* the rows the jobs fill (wl_job.slot) */
} wl_plan;

/* score.c ----------------------------------------------------------------------------------- */

/* A worker's widening buffer, kept across its jobs: glibc gives a freed large buffer back to
 * the kernel, and the next job would fault it in again, zero-filled (bench/README.md). */
typedef struct wl_wbuf {
    double *v;
    size_t cap; /* values */
} wl_wbuf;

/* WeightWatcher's N, M, rf for a rank-2 [rows, cols] or rank-4 [out, in, kh, kw] shape (spec
 * §3.2, quirks A and B included). */
void wl_ww_dimensions(const int64_t *d, int rank, wl_layer *l);

/* Widens (into buf, grown as needed), dequantizes and scores one job into its row l. */
WL_NODISCARD wl_status wl_score_job(const wl_plan *p, const wl_job *jb, wl_layer *l, wl_wbuf *buf,
                                    wl_err *err);

/* pool.c ------------------------------------------------------------------------------------ */

/* Runs every job of p on opts->threads workers (2 by default), largest first, under the memory
 * budget of membudget.h. *peak_admitted: the most bytes the budget admitted at once. */
WL_NODISCARD wl_status wl_pool_run(const wl_plan *p, uint64_t *peak_admitted, wl_err *err);

/* --shard K/N: fills a->inventory (every row's shard) and keeps only shard K's jobs. */
WL_NODISCARD wl_status wl_shard_assign(wl_growable *jobs, const wl_growable *layers,
                                       const wl_options *opts, wl_analysis *a, wl_err *err);
/* Puts the inventory into the rows' final order (after the rows were sorted). */
WL_NODISCARD wl_status wl_shard_inventory_in_row_order(const wl_growable *layers, wl_analysis *a,
                                                       wl_err *err);
/* Keeps only the rows of shard_index, in order, freeing the others. */
void wl_shard_keep_layers(wl_growable *layers, const wl_analysis *a, int shard_index);

#endif
