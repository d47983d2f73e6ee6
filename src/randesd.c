/*
 * randesd.c — randomized ESD of a layer (spec §8; WeightWatcher.apply_random_esd and
 * random_eigenvalues): shuffle every slice's elements, take the ESD of the shuffled matrices,
 * compare with the real ESD (Jensen–Shannon distance) and MP-fit the shuffled spectrum, whose
 * surviving spikes are correlation traps.
 *
 * Why our own generator: the reference uses NumPy's unseeded global MT19937 shuffle, which a
 * linter cannot (and need not) reproduce; what matters is that a run is repeatable. The stream
 * is xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64, local to each call, and
 * the permutation is an unbiased Fisher–Yates (Knuth, TAOCP vol. 2, Algorithm 3.4.2 P), the
 * same algorithm NumPy's legacy shuffle runs.
 */
#include "randesd.h"

#include "wl_err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPLICA_COMPONENTS 100 /* num_components below this pools 5 shuffles (reference hack) */
#define SMALL_REPLICAS     5

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeding through splitmix64 is the authors' recommendation: it never yields the all-zero
 * state and decorrelates nearby seeds. */
static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** 1.0 */
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform integer in [0, bound), bound >= 1, without modulo bias: reject the first
 * 2^64 mod bound values so that the rest splits evenly. */
static uint64_t rng_below(rng *r, uint64_t bound)
{
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t v = rng_next(r);
        if (v >= threshold)
            return v % bound;
    }
}

/* Fisher–Yates, last element first. */
static void shuffle(double *a, size_t n, rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, (uint64_t)i);
        double t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* a / b with the IEEE result spelled out for b == 0, so that no sanitizer has to accept a
 * floating division by zero (0/0 = nan as numpy gives for an all-zero layer). */
static double ratio(double a, double b)
{
    if (b != 0)
        return a / b;
    if (a == 0 || isnan(a))
        return (double)NAN;
    return a > 0 ? (double)INFINITY : -(double)INFINITY;
}

/* scipy.special.rel_entr: x log(x/y); 0 when x == 0 and y >= 0; inf otherwise. */
static double rel_entr(double x, double y)
{
    if (x > 0 && y > 0)
        return x * log(x / y);
    if (x == 0 && y >= 0)
        return 0.0;
    return (double)INFINITY;
}

double wl_randesd_js_distance(const double *p, const double *r, size_t n)
{
    double sp = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        sp += p[i];
        sr += r[i];
    }
    if (!(sp > 0) || !(sr > 0) || !isfinite(sp) || !isfinite(sr))
        return (double)NAN;
    const double sm = sp + sr; /* sum(p + r) */
    double kl_p = 0, kl_r = 0;
    for (size_t i = 0; i < n; i++) {
        const double m = (p[i] + r[i]) / sm;
        kl_p += rel_entr(p[i] / sp, m);
        kl_r += rel_entr(r[i] / sr, m);
    }
    double js = (kl_p + kl_r) / 2;
    /* The divergence is >= 0; rounding can leave -1e-17 for identical spectra. */
    return js > 0 ? sqrt(js) : 0.0;
}

/* Shuffled ESD of every slice, appended to dst (n_slices * min(rows, cols) values). */
static wl_status shuffled_esd(const double *const *slices, size_t n_slices, size_t rows,
                              size_t cols, double *buf, rng *r, double *dst, wl_err *err)
{
    const size_t k = rows < cols ? rows : cols;
    for (size_t s = 0; s < n_slices; s++) {
        memcpy(buf, slices[s], rows * cols * sizeof *buf);
        shuffle(buf, rows * cols, r);
        wl_status st = wl_esd_gram(buf, rows, cols, dst + s * k, err);
        if (st != WL_OK) {
            wl_err_wrap(err, "randomized ESD of slice %zu (%zu x %zu)", s, rows, cols);
            return st;
        }
    }
    return WL_OK;
}

wl_status wl_randesd_compute(const double *const *slices, size_t n_slices, size_t rows, size_t cols,
                             const double *evals, size_t n_evals, double N, double M, uint64_t seed,
                             wl_rand_result *out, wl_err *err)
{
    return wl_randesd_compute_keep(slices, n_slices, rows, cols, evals, n_evals, N, M, seed, NULL,
                                   out, err);
}

wl_status wl_randesd_compute_keep(const double *const *slices, size_t n_slices, size_t rows,
                                  size_t cols, const double *evals, size_t n_evals, double N,
                                  double M, uint64_t seed, double **keep, wl_rand_result *out,
                                  wl_err *err)
{
    if (keep != NULL)
        *keep = NULL;
    if (slices == NULL || evals == NULL || out == NULL || n_slices == 0 || rows == 0 || cols == 0)
        return WL_FAIL(err, WL_E_INTERNAL, "randomized ESD: empty input (%zu slices of %zu x %zu)",
                       n_slices, rows, cols);
    for (size_t s = 0; s < n_slices; s++)
        if (slices[s] == NULL)
            return WL_FAIL(err, WL_E_INTERNAL, "randomized ESD: slice %zu is NULL", s);
    const size_t k = rows < cols ? rows : cols;
    if (n_slices > SIZE_MAX / k)
        return WL_FAIL(err, WL_E_LIMIT, "randomized ESD: %zu slices x %zu eigenvalues overflow",
                       n_slices, k);
    const size_t n_per = n_slices * k;
    if (n_per != n_evals)
        return WL_FAIL(err, WL_E_INTERNAL,
                       "randomized ESD: %zu eigenvalues given, %zu slices of %zu x %zu have %zu",
                       n_evals, n_slices, rows, cols, n_per);
    if (rows > SIZE_MAX / sizeof(double) / cols)
        return WL_FAIL(err, WL_E_LIMIT, "randomized ESD: a %zu x %zu slice overflows size_t", rows,
                       cols);
    /* num_components = M * rf (spec §3.2); the reference pools 5 shuffles below 100. */
    const int replicas = (M * (double)n_slices < REPLICA_COMPONENTS) ? SMALL_REPLICAS : 1;
    if (n_per > SIZE_MAX / sizeof(double) / (size_t)replicas)
        return WL_FAIL(err, WL_E_LIMIT, "randomized ESD: %d x %zu eigenvalues overflow size_t",
                       replicas, n_per);
    const size_t n_rand = (size_t)replicas * n_per;

    wl_status st = WL_OK;
    double *buf = malloc(rows * cols * sizeof *buf);
    double *rand_ev = malloc(n_rand * sizeof *rand_ev);
    double *r2 = malloc(n_per * sizeof *r2);
    if (buf == NULL || rand_ev == NULL || r2 == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM,
                     "randomized ESD: out of memory for a %zu x %zu copy and %zu eigenvalues", rows,
                     cols, n_rand + n_per);
        goto out;
    }

    /* One stream, consumed in a fixed order (replicas, then the second shuffle), so the result
     * depends on the seed and the inputs only. */
    rng r;
    rng_seed(&r, seed);
    for (int rep = 0; rep < replicas; rep++) {
        st =
            shuffled_esd(slices, n_slices, rows, cols, buf, &r, rand_ev + (size_t)rep * n_per, err);
        if (st != WL_OK)
            goto out;
    }
    qsort(rand_ev, n_rand, sizeof *rand_ev, cmp_double);
    st = shuffled_esd(slices, n_slices, rows, cols, buf, &r, r2, err);
    if (st != WL_OK)
        goto out;
    qsort(r2, n_per, sizeof *r2, cmp_double);

    double lambda_max = evals[0];
    for (size_t i = 1; i < n_evals; i++)
        if (evals[i] > lambda_max)
            lambda_max = evals[i];
    const double max_r2 = r2[n_per - 1];

    wl_mp_result mp;
    wl_mp_fit(rand_ev, n_rand, N, M, &mp);

    out->n_replicas = replicas;
    out->n_rand_evals = n_rand;
    out->max_rand_eval = rand_ev[n_rand - 1];
    out->rand_distance = wl_randesd_js_distance(evals, r2, n_per);
    out->ww_softrank = ratio(max_r2, lambda_max);
    out->ww_maxdist = lambda_max - max_r2;
    out->rand_num_spikes = mp.num_spikes;
    out->rand_sigma_mp = mp.sigma_mp;
    out->rand_mp_softrank = mp.mp_softrank;
    out->rand_bulk_max = mp.bulk_max;
    out->rand_bulk_min = mp.bulk_min;
    out->rand_W_scale = mp.W_scale;
    if (keep != NULL) {
        *keep = rand_ev;
        rand_ev = NULL;
    }
out:
    free(r2);
    free(rand_ev);
    free(buf);
    return st;
}
