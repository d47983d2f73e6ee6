/*
 * lapack_floor.c — the LAPACK floor of `make bench`: the time weightlint's analysis would take
 * if it did nothing but its LAPACK work. For every matrix of a model (a .shapes file from
 * bench/gen_models.py: "rows cols count [name]" per tensor) it runs what src/esd.c runs per
 * slice, dsyrk into the min(rows,cols)² Gram and dsyevd(jobz='N'), with nothing else: no file
 * access, no conversion, no allocation in the timed loop (one shared random source matrix and
 * one Gram/eigenvalue/workspace set per worker, all pre-faulted). Scheduling is weightlint's:
 * 2 pthreads, each with single-threaded OpenBLAS, taking jobs largest first (cost rows·cols·k +
 * k³ per slice). -f does the float32 route of --fast (ssyrk + ssyevd).
 *
 * usage: lapack_floor [-f] [-t THREADS] [-r REPEAT] FILE.shapes
 * Prints one line: floor_s=<best wall> cpu_s=<least user+sys CPU of the timed loop>
 * syrk_s=.. syevd_s=.. (thread-seconds inside each call, summed over workers) matrices=.. jobs=..
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <lapacke.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct job {
    size_t rows, cols, slices;
    double cost;
} job;

typedef struct ws {   /* one worker's buffers, sized for the largest Gram */
    double *g, *ev, *work;
    float *gs, *evs, *works;
    lapack_int lwork, iwork[1];
    double t_syrk, t_syevd; /* wall seconds this worker spent in each call */
} ws;

typedef struct pool {
    job *jobs;
    size_t n_jobs, next;
    const double *src; /* shared read-only source matrix, max rows·cols values */
    const float *srcs;
    int fast;
    pthread_mutex_t mu;
} pool;

typedef struct targ {
    pool *p;
    ws *w;
} targ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* User + system CPU seconds of the whole process (all threads). */
static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_cost(const void *a, const void *b)
{
    const job *x = a, *y = b;
    return (x->cost < y->cost) - (x->cost > y->cost);
}

/* Same orientation choice as src/esd.c: the row-major rows x cols buffer is the column-major
 * cols x rows matrix A = Wᵀ; the Gram is A·Aᵀ (cols <= rows) or Aᵀ·A. */
static void one_slice(const pool *p, ws *w, size_t rows, size_t cols)
{
    size_t k = rows < cols ? rows : cols;
    lapack_int info;
    double t0 = now();
    if (p->fast) {
        if (cols <= rows)
            cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, (blasint)cols, (blasint)rows,
                        1.0f, p->srcs, (blasint)cols, 0.0f, w->gs, (blasint)k);
        else
            cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, (blasint)rows, (blasint)cols,
                        1.0f, p->srcs, (blasint)cols, 0.0f, w->gs, (blasint)k);
    } else {
        if (cols <= rows)
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (blasint)cols, (blasint)rows,
                        1.0, p->src, (blasint)cols, 0.0, w->g, (blasint)k);
        else
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (blasint)rows, (blasint)cols, 1.0,
                        p->src, (blasint)cols, 0.0, w->g, (blasint)k);
    }
    double t1 = now();
    if (p->fast)
        info = LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, w->gs,
                                   (lapack_int)k, w->evs, w->works, w->lwork, w->iwork, 1);
    else
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)k, w->g,
                                   (lapack_int)k, w->ev, w->work, w->lwork, w->iwork, 1);
    double t2 = now();
    if (info != 0) {
        fprintf(stderr, "lapack_floor: syevd info=%d on %zu x %zu\n", (int)info, k, k);
        exit(1);
    }
    w->t_syrk += t1 - t0;
    w->t_syevd += t2 - t1;
}

static void *worker(void *arg)
{
    targ *a = arg;
    pool *p = a->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next < p->n_jobs ? p->next++ : p->n_jobs;
        pthread_mutex_unlock(&p->mu);
        if (i == p->n_jobs)
            return NULL;
        const job *jb = &p->jobs[i];
        for (size_t s = 0; s < jb->slices; s++)
            one_slice(p, a->w, jb->rows, jb->cols);
    }
}

static void *xcalloc(size_t n, size_t size)
{
    void *v = calloc(n ? n : 1, size);
    if (v == NULL) {
        fprintf(stderr, "lapack_floor: out of memory (%zu x %zu bytes)\n", n, size);
        exit(1);
    }
    return v;
}

/* splitmix64 -> roughly N(0, 1/fan_in) (sum of 4 uniforms); the spectrum only needs to be
 * Marchenko–Pastur-like, since sterf's iteration count depends on it a little. */
static uint64_t sm64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    int fast = 0, n_threads = 2, repeat = 1, opt;
    while ((opt = getopt(argc, argv, "ft:r:")) != -1) {
        switch (opt) {
        case 'f':
            fast = 1;
            break;
        case 't':
            n_threads = atoi(optarg);
            break;
        case 'r':
            repeat = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: lapack_floor [-f] [-t THREADS] [-r REPEAT] FILE.shapes\n");
            return 2;
        }
    }
    if (optind != argc - 1 || n_threads < 1 || n_threads > 16 || repeat < 1) {
        fprintf(stderr, "usage: lapack_floor [-f] [-t THREADS] [-r REPEAT] FILE.shapes\n");
        return 2;
    }
    FILE *in = fopen(argv[optind], "r");
    if (in == NULL) {
        perror(argv[optind]);
        return 1;
    }
    size_t cap = 64, n_jobs = 0, max_elems = 0, max_k = 0, n_mat = 0;
    job *jobs = xcalloc(cap, sizeof *jobs);
    char line[1024];
    while (fgets(line, sizeof line, in) != NULL) {
        unsigned long long r, c, s;
        if (line[0] == '#' || sscanf(line, "%llu %llu %llu", &r, &c, &s) != 3)
            continue;
        if (r == 0 || c == 0 || s == 0)
            continue;
        if (n_jobs == cap) {
            cap *= 2;
            jobs = realloc(jobs, cap * sizeof *jobs);
            if (jobs == NULL) {
                fprintf(stderr, "lapack_floor: out of memory\n");
                return 1;
            }
        }
        size_t k = r < c ? r : c;
        jobs[n_jobs] = (job){.rows = r, .cols = c, .slices = s,
                             .cost = (double)s * ((double)r * (double)c * (double)k +
                                                  (double)k * (double)k * (double)k)};
        if (r * c > max_elems)
            max_elems = r * c;
        if (k > max_k)
            max_k = k;
        n_mat += s;
        n_jobs++;
    }
    fclose(in);
    if (n_jobs == 0) {
        fprintf(stderr, "lapack_floor: no shapes in %s\n", argv[optind]);
        return 1;
    }
    qsort(jobs, n_jobs, sizeof *jobs, cmp_cost);

    /* Untimed set-up: the source matrix and every workspace are allocated and touched here. */
    double *src = NULL;
    float *srcs = NULL;
    uint64_t seed = 42;
    double scale = 1.0; /* entries ~ U-sum with unit variance; the scale does not change timing */
    if (fast)
        srcs = xcalloc(max_elems, sizeof *srcs);
    else
        src = xcalloc(max_elems, sizeof *src);
    for (size_t i = 0; i < max_elems; i++) {
        double u = 0.0;
        for (int j = 0; j < 4; j++)
            u += (double)(sm64(&seed) >> 11) * 0x1.0p-53;
        u = (u - 2.0) * 1.7320508075688772 * scale; /* var(sum of 4 U) = 1/3 */
        if (fast)
            srcs[i] = (float)u;
        else
            src[i] = u;
    }
    ws w[16];
    memset(w, 0, sizeof w);
    /* The optimal workspace, as LAPACKE_dsyevd queries it: the minimum (2n+1) would push dsytrd
     * onto its unblocked BLAS-2 path, which is slower than what weightlint runs. */
    lapack_int lwork, qi;
    if (fast) {
        float q;
        LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)max_k, NULL,
                            (lapack_int)max_k, NULL, &q, -1, &qi, -1);
        lwork = (lapack_int)q;
    } else {
        double q;
        LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)max_k, NULL,
                            (lapack_int)max_k, NULL, &q, -1, &qi, -1);
        lwork = (lapack_int)q;
    }
    for (int t = 0; t < n_threads; t++) {
        w[t].lwork = lwork;
        if (fast) {
            w[t].gs = xcalloc(max_k * max_k, sizeof(float));
            w[t].evs = xcalloc(max_k, sizeof(float));
            w[t].works = xcalloc((size_t)lwork, sizeof(float));
        } else {
            w[t].g = xcalloc(max_k * max_k, sizeof(double));
            w[t].ev = xcalloc(max_k, sizeof(double));
            w[t].work = xcalloc((size_t)lwork, sizeof(double));
        }
    }
    /* weightlint gives a lone matrix both BLAS threads; otherwise 1 per worker. */
    openblas_set_num_threads(n_jobs == 1 && n_threads > 1 ? n_threads : 1);
    if (n_jobs == 1)
        n_threads = 1;
    pool p = {.jobs = jobs, .n_jobs = n_jobs, .src = src, .srcs = srcs, .fast = fast};
    pthread_mutex_init(&p.mu, NULL);

    double best = 1e300, best_syrk = 0.0, best_syevd = 0.0, best_cpu = 1e300;
    for (int rep = 0; rep < repeat; rep++) {
        p.next = 0;
        for (int t = 0; t < n_threads; t++)
            w[t].t_syrk = w[t].t_syevd = 0.0;
        targ args[16];
        pthread_t tids[16];
        double t0 = now(), c0 = cpu_now();
        for (int t = 1; t < n_threads; t++) {
            args[t] = (targ){.p = &p, .w = &w[t]};
            if (pthread_create(&tids[t], NULL, worker, &args[t]) != 0) {
                fprintf(stderr, "lapack_floor: pthread_create failed\n");
                return 1;
            }
        }
        args[0] = (targ){.p = &p, .w = &w[0]};
        worker(&args[0]);
        for (int t = 1; t < n_threads; t++)
            pthread_join(tids[t], NULL);
        double el = now() - t0, cpu = cpu_now() - c0;
        if (cpu < best_cpu)
            best_cpu = cpu;
        if (el < best) {
            best = el;
            best_syrk = best_syevd = 0.0;
            for (int t = 0; t < n_threads; t++) {
                best_syrk += w[t].t_syrk;
                best_syevd += w[t].t_syevd;
            }
        }
    }
    printf("floor_s=%.4f cpu_s=%.4f syrk_s=%.4f syevd_s=%.4f matrices=%zu jobs=%zu threads=%d "
           "precision=%s\n",
           best, best_cpu, best_syrk, best_syevd, n_mat, n_jobs, n_threads,
           fast ? "float32" : "float64");
    for (int t = 0; t < n_threads; t++) {
        free(w[t].g);
        free(w[t].ev);
        free(w[t].work);
        free(w[t].gs);
        free(w[t].evs);
        free(w[t].works);
    }
    free(src);
    free(srcs);
    free(jobs);
    pthread_mutex_destroy(&p.mu);
    return 0;
}
