/*
 * pool.c — the worker pool under the memory budget, and the --shard assignment (see
 * analyze_plan.h). Jobs only: the pool never sees a file format.
 */
#include "analyze_plan.h"

#include "membudget.h"
#include "wl_err.h"

#include <cblas.h>
#include <malloc.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t wl_job_cost(uint64_t rows, uint64_t cols, uint64_t slices)
{
    uint64_t k = rows < cols ? rows : cols;
    return slices * (rows * cols * k + k * k * k); /* dsyrk + dsyevd flops, up to constants */
}

uint64_t wl_job_work_bytes(uint64_t rows, uint64_t cols, uint64_t slices, const wl_options *opts)
{
    uint64_t k = rows < cols ? rows : cols, rc = rows * cols, n = k * slices;
    uint64_t v = 0;           /* doubles */
    v += slices > 1 ? cols * slices : 0; /* a conv kernel row reordered into slices */
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

/* ------------------------------------------------------------------ worker pool */

/* Workers take jobs largest first. Each keeps one widening buffer across its jobs. A wl_job
 * starts only when the bytes held (the workers' buffers plus the running jobs' work memory)
 * plus what it adds fit the budget, 64 MB + 3 x the largest matrix in float64 (issue #4), or
 * when nothing else runs: a matrix that would break the bound runs alone. Each job writes only
 * its own row, so the output order and bits do not depend on the number of workers. */
typedef struct pool {
    const wl_plan *m;
    const wl_options *opts;
    wl_job **order; /* jobs sorted by cost, descending */
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
    wl_wbuf buf = {NULL, 0};
    uint64_t blas_held = 0; /* this thread's OpenBLAS buffer, counted from its first job on */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        wl_job *jb = NULL;
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
        wl_status st = wl_score_job(p->m, jb, &p->layers[jb->slot], &buf, &err);
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
    const wl_job *x = *(wl_job *const *)a, *y = *(wl_job *const *)b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    return (x->slot > y->slot) - (x->slot < y->slot); /* stable: tensor order on ties */
}

wl_status wl_pool_run(const wl_plan *m, uint64_t *peak_admitted, wl_err *err)
{
    wl_job *jobs = m->jobs;
    size_t n_jobs = m->n_jobs;
    const wl_options *opts = m->opts;
    *peak_admitted = 0;
    if (n_jobs == 0)
        return WL_OK;
    pool p = {.m = m, .opts = opts, .n_jobs = n_jobs, .layers = m->layers};
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

/* --shard K/N: longest-processing-time-first over the predicted costs (largest job to the
 * least-loaded shard, the lowest shard index on ties). It depends on the model and the
 * settings only, so every shard computes the same assignment without talking to the others.
 * Fills the inventory (tensor order) and drops the other shards' jobs from m->jobs. */
wl_status wl_shard_assign(wl_growable *jobs_g, const wl_growable *layers_g, const wl_options *opts,
                          wl_analysis *a, wl_err *err)
{
    size_t n_jobs = jobs_g->n, n_shards = (size_t)opts->shard_count;
    wl_job *jobs = jobs_g->v;
    const wl_layer *layers = layers_g->v;
    wl_job **order = malloc((n_jobs ? n_jobs : 1) * sizeof *order);
    uint64_t *load = calloc(n_shards, sizeof *load);
    int *shard_of = malloc((layers_g->n ? layers_g->n : 1) * sizeof *shard_of);
    a->inventory = calloc(layers_g->n ? layers_g->n : 1, sizeof *a->inventory);
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
    a->n_inventory = layers_g->n;
    for (size_t i = 0; i < layers_g->n; i++) {
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
    jobs_g->n = kept;
out:
    free(order);
    free(load);
    free(shard_of);
    return st;
}

/* Puts the inventory (made in tensor order) into the rows' final order (graph order), so that
 * merge, which follows the inventory, writes the rows as a single run does. Ids are unique. */
wl_status wl_shard_inventory_in_row_order(const wl_growable *layers, wl_analysis *a, wl_err *err)
{
    const wl_layer *l = layers->v;
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
void wl_shard_keep_layers(wl_growable *layers, const wl_analysis *a, int shard_index)
{
    wl_layer *l = layers->v;
    size_t kept = 0;
    for (size_t i = 0; i < layers->n; i++) {
        if (a->inventory[i].shard == shard_index) {
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
    layers->n = kept;
}
