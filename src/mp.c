/*
 * mp.c — Marchenko–Pastur fit, step for step as WeightWatcher 0.7.5.5 computes it (spec §7):
 * WeightWatcher.mp_fit -> RMT_Util.fit_density_with_range -> scipy.optimize.brute(resid_mp)
 * with its default finish, scipy.optimize.fmin (Nelder–Mead), SciPy 1.10 / NumPy 1.24.
 *
 * Why so literal: the conformance tolerance on sigma_mp (rtol 1e-6) is far tighter than the
 * Nelder–Mead stopping tolerance (xtol = ftol = 1e-4), and the cost is piecewise with a flat
 * 1000-per-point penalty. Only the same grid, the same simplex moves and the same tie rules
 * land on the reference's point. So this file mirrors numpy's arange fill rule, linspace,
 * pairwise summation, nan_to_num and argsort tie order, and scipy's _minimize_neldermead
 * (rho 1, chi 2, psi 0.5, sigma 0.5; maxfun = maxiter = 200 for one parameter).
 * The MP density: rho(x) = sqrt((b - x)(x - a)) / (2 pi sigma^2 x / Q), a,b = sigma^2
 * (1 -+ 1/sqrt(Q))^2 (Marchenko & Pastur 1967); quarter circle sqrt(4 - x^2) / (pi sigma^2).
 */
#include "mp.h"

#include <float.h>
#include <math.h>

#define PI_NP        3.141592653589793 /* np.pi */
#define KDE_POINTS   1000              /* np.linspace(0, max + 0.5, 1000) */
#define KDE_BW       0.1               /* KernelDensity(kernel='linear', bandwidth=0.1) */
#define KDE_THRESH   0.01              /* resid_mp keeps points with density > 0.01 */
#define PENALTY      1000.0            /* residual of every point when the edges are off */
#define NM_XATOL     1e-4              /* fmin xtol */
#define NM_FATOL     1e-4              /* fmin ftol */
#define NM_MAXFUN    200               /* 200 * number of parameters (one) */
#define NM_MAXITER   200
#define GRID_MAX     100000 /* sanity cap; the grid is 195 or 196 points */
#define PW_BLOCKSIZE 128    /* numpy's pairwise summation block */

/*
 * numpy's pairwise summation (numpy/core/src/umath/loops_utils.h.src, pairwise_sum), which
 * np.sum uses on a contiguous float64 array: plain loop below 8 values, 8 accumulators up to
 * 128, recursive halves (rounded down to a multiple of 8) above. The order matters only in the
 * last bits, but the last bits decide Nelder–Mead ties.
 */
static double np_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= PW_BLOCKSIZE) {
        double r[8];
        size_t i;
        for (i = 0; i < 8; i++)
            r[i] = a[i];
        for (i = 8; i < n - (n % 8); i += 8) {
            r[0] += a[i + 0];
            r[1] += a[i + 1];
            r[2] += a[i + 2];
            r[3] += a[i + 3];
            r[4] += a[i + 4];
            r[5] += a[i + 5];
            r[6] += a[i + 6];
            r[7] += a[i + 7];
        }
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_sum(a, n2) + np_sum(a + n2, n - n2);
}

/* np.nan_to_num: nan -> 0, +-inf -> +-DBL_MAX. */
static double nan_to_num(double v)
{
    if (isnan(v))
        return 0.0;
    if (isinf(v))
        return v > 0 ? DBL_MAX : -DBL_MAX;
    return v;
}

/* Everything resid_mp computes that does not depend on sigma: the thresholded KDE. */
typedef struct mp_cost {
    int is_qc;      /* Q == 1: quarter-circle law on singular values */
    double Q;       /* N / M */
    size_t n_good;  /* KDE points with density > 0.01: (xd, yd) */
    size_t n_total; /* n_good + points with density < 0.01 (zero residuals appended) */
    double x_peak;  /* first xd where yd is maximal */
    double xd_max;  /* max(xd) */
    double xd[KDE_POINTS];
    double yd[KDE_POINTS];
} mp_cost;

/* The value resid_mp fits: the rescaled eigenvalue x = Wscale^2 * eval, or sqrt(x) for the
 * quarter circle. Recomputed on demand (the same double each time) so that the fit needs no
 * heap memory. */
static double tval(const double *evals, size_t j, double w2, int is_qc)
{
    double x = w2 * evals[j];
    return is_qc ? sqrt(x) : x;
}

/*
 * Linear-kernel KDE of t (n values) on linspace(0, max(t) + 0.5, 1000), thresholded as in
 * resid_mp. sklearn's KernelDensity gives y(g) = 1/(n h) * sum_j max(0, 1 - |g - t_j| / h)
 * (spec §7.4, agrees to ~3e-15). Contributions are summed in index order; when t is ascending
 * a sliding window with a 2h margin finds the same contributing set as the full scan.
 */
static int kde_prepare(mp_cost *c, const double *evals, size_t n, double w2)
{
    const double h = KDE_BW;
    double tmax = -(double)INFINITY, prev = -(double)INFINITY;
    int ascending = 1;
    for (size_t j = 0; j < n; j++) {
        double t = tval(evals, j, w2, c->is_qc);
        if (t > tmax)
            tmax = t;
        if (t < prev)
            ascending = 0;
        prev = t;
    }
    /* np.linspace(0, stop, 1000): step = stop / 999, g[i] = i * step, g[999] = stop. */
    const double stop = tmax + 0.5;
    const double step = stop / (KDE_POINTS - 1);
    const double norm = (double)n * h;
    size_t lo = 0, n_good = 0, n_bad = 0;
    for (size_t k = 0; k < KDE_POINTS; k++) {
        double g = (k == KDE_POINTS - 1) ? stop : (double)k * step;
        double s = 0.0;
        size_t j = 0;
        if (ascending) {
            while (lo < n && tval(evals, lo, w2, c->is_qc) <= g - 2 * h)
                lo++;
            j = lo;
        }
        for (; j < n; j++) {
            double t = tval(evals, j, w2, c->is_qc);
            if (ascending && t >= g + 2 * h)
                break;
            double d = fabs(g - t);
            if (d < h)
                s += 1.0 - d / h;
        }
        double y = s / norm;
        if (y > KDE_THRESH) {
            c->xd[n_good] = g;
            c->yd[n_good] = y;
            n_good++;
        } else if (y < KDE_THRESH) {
            n_bad++; /* y == 0.01 exactly is in neither list, as in resid_mp */
        }
    }
    c->n_good = n_good;
    c->n_total = n_good + n_bad;
    c->x_peak = c->xd_max = 0.0;
    if (n_good == 0)
        return c->is_qc; /* max() of an empty array raises, but only the MP branch takes it */
    double ymax = c->yd[0];
    size_t ipk = 0;
    for (size_t i = 1; i < n_good; i++) {
        if (c->yd[i] > ymax) {
            ymax = c->yd[i];
            ipk = i;
        }
    }
    c->x_peak = c->xd[ipk];
    c->xd_max = c->xd[0];
    for (size_t i = 1; i < n_good; i++)
        if (c->xd[i] > c->xd_max)
            c->xd_max = c->xd[i];
    return 1;
}

/*
 * resid_mp(sigma, ..., allresid=False): sum of squared residuals of the MP (or quarter
 * circle) density against the KDE, the residual array padded with one zero per point whose
 * density fell below 0.01, summed with numpy's pairwise order. The operand order of each
 * expression follows RMT_Util.marchenko_pastur_fun / quarter_circle_fun.
 */
static double cost(const mp_cost *c, double sigma)
{
    double r2[KDE_POINTS];
    size_t i;
    if (c->is_qc) {
        double k = 1 / (PI_NP * sigma * sigma);
        for (i = 0; i < c->n_good; i++) {
            double x = c->xd[i];
            double r = nan_to_num(k * sqrt(4 - x * x)) - c->yd[i];
            r2[i] = r * r;
        }
    } else {
        const double y = 1 / c->Q;
        const double sq = sqrt(1 / c->Q);
        const double b = pow(sigma * (1 + sq), 2);
        const double a = pow(sigma * (1 - sq), 2);
        if (b < c->x_peak || b > c->xd_max || a > c->x_peak) {
            for (i = 0; i < c->n_good; i++)
                r2[i] = PENALTY * PENALTY;
        } else {
            for (i = 0; i < c->n_good; i++) {
                double x = c->xd[i];
                double v = (1 / (2 * PI_NP * sigma * sigma * x * y)) * sqrt((b - x) * (x - a));
                double r = nan_to_num(v) - c->yd[i];
                r2[i] = r * r;
            }
        }
    }
    for (; i < c->n_total; i++)
        r2[i] = 0.0;
    return np_sum(r2, c->n_total);
}

/* np.argsort order of two values: swap only when f1 sorts strictly first (NaN last). */
static void sort2(double sim[2], double fsim[2])
{
    int lt = fsim[1] < fsim[0] || (isnan(fsim[0]) && !isnan(fsim[1]));
    if (lt) {
        double t = sim[0];
        sim[0] = sim[1];
        sim[1] = t;
        t = fsim[0];
        fsim[0] = fsim[1];
        fsim[1] = t;
    }
}

typedef struct nm_fun {
    const mp_cost *c;
    int ncalls;
} nm_fun;

/* scipy's _wrap_scalar_function_maxfun_validation: refuses (returns 0) once maxfun calls
 * were made, which aborts the current iteration as _MaxFuncCallError does. */
static int nm_eval(nm_fun *f, double x, double *fx)
{
    if (f->ncalls >= NM_MAXFUN)
        return 0;
    f->ncalls++;
    *fx = cost(f->c, x);
    return 1;
}

/*
 * One Nelder–Mead iteration of scipy 1.10 _minimize_neldermead for N = 1 (sim[-1] is sim[1],
 * and fsim[-2] is fsim[0]). Returns 0 when the evaluation budget ran out mid-iteration.
 */
static int nm_iterate(nm_fun *f, double sim[2], double fsim[2])
{
    const double xbar = sim[0];          /* np.add.reduce(sim[:-1], 0) / N */
    const double xr = 2 * xbar - sim[1]; /* (1 + rho) xbar - rho sim[-1] */
    double fxr;
    if (!nm_eval(f, xr, &fxr))
        return 0;
    if (fxr < fsim[0]) {
        const double xe = 3 * xbar - 2 * sim[1]; /* (1 + rho chi) xbar - rho chi sim[-1] */
        double fxe;
        if (!nm_eval(f, xe, &fxe))
            return 0;
        if (fxe < fxr) {
            sim[1] = xe;
            fsim[1] = fxe;
        } else {
            sim[1] = xr;
            fsim[1] = fxr;
        }
        return 1;
    }
    if (fxr < fsim[0]) { /* fxr < fsim[-2]: never true for N = 1, kept for fidelity */
        sim[1] = xr;
        fsim[1] = fxr;
        return 1;
    }
    int doshrink = 0;
    if (fxr < fsim[1]) {
        const double xc = 1.5 * xbar - 0.5 * sim[1]; /* outside contraction */
        double fxc;
        if (!nm_eval(f, xc, &fxc))
            return 0;
        if (fxc <= fxr) {
            sim[1] = xc;
            fsim[1] = fxc;
        } else {
            doshrink = 1;
        }
    } else {
        const double xcc = 0.5 * xbar + 0.5 * sim[1]; /* inside contraction */
        double fxcc;
        if (!nm_eval(f, xcc, &fxcc))
            return 0;
        if (fxcc < fsim[1]) {
            sim[1] = xcc;
            fsim[1] = fxcc;
        } else {
            doshrink = 1;
        }
    }
    if (doshrink) {
        sim[1] = sim[0] + 0.5 * (sim[1] - sim[0]);
        /* scipy stores sim[j] before calling func, so a refused call leaves fsim stale */
        if (!nm_eval(f, sim[1], &fsim[1]))
            return 0;
    }
    return 1;
}

/* scipy.optimize.fmin(cost, x0, xtol=1e-4, ftol=1e-4): returns the polished x. */
static double nelder_mead(const mp_cost *c, double x0, wl_mp_trace *tr)
{
    nm_fun f = {c, 0};
    double sim[2], fsim[2] = {(double)INFINITY, (double)INFINITY};
    sim[0] = x0;
    sim[1] = (x0 != 0) ? (1 + 0.05) * x0 : 0.00025; /* nonzdelt, zdelt */
    for (int k = 0; k < 2; k++)
        if (!nm_eval(&f, sim[k], &fsim[k]))
            break;
    sort2(sim, fsim);

    int iterations = 1;
    while (f.ncalls < NM_MAXFUN && iterations < NM_MAXITER) {
        if (fabs(sim[1] - sim[0]) <= NM_XATOL && fabs(fsim[0] - fsim[1]) <= NM_FATOL)
            break;
        if (nm_iterate(&f, sim, fsim))
            iterations++;
        sort2(sim, fsim); /* the loop's finally: clause */
    }
    if (tr != NULL) {
        tr->nm_nfev = f.ncalls;
        tr->nm_nit = iterations;
        tr->nm_warnflag = f.ncalls >= NM_MAXFUN ? 1 : iterations >= NM_MAXITER ? 2 : 0;
        tr->cost = fsim[0] < fsim[1] ? fsim[0] : fsim[1];
    }
    return sim[0];
}

static void set_failed(wl_mp_result *out)
{
    out->ok = 0;
    out->num_spikes = -1;
    out->sigma_mp = -1;
    out->mp_softrank = -1;
    out->bulk_min = -1;
    out->bulk_max = -1;
    out->W_scale = -1;
}

void wl_mp_fit_trace(const double *evals, size_t n, double N, double M, wl_mp_result *out,
                     wl_mp_trace *trace)
{
    mp_cost c;
    set_failed(out);
    if (trace != NULL) {
        trace->s0 = trace->grid_sigma = trace->grid_cost = trace->cost = (double)NAN;
        trace->n_grid = trace->n_kde = 0;
        trace->nm_nfev = trace->nm_nit = trace->nm_warnflag = 0;
    }
    if (evals == NULL || n == 0 || !(N > 0) || !(M > 0))
        return;

    /* Step 1 (mp_fit): Wscale = sqrt(n) / sqrt(np.sum(evals)); to_plot = Wscale^2 * evals.
     * An all-zero or non-finite spectrum makes sklearn raise on the NaN/inf input, and so does
     * a negative value under the quarter circle's sqrt. */
    const double Q = N / M;
    const int is_qc = (Q == 1);
    const double w_scale = sqrt((double)n) / sqrt(np_sum(evals, n));
    const double w2 = w_scale * w_scale;
    if (!isfinite(w2))
        return;
    double lmax = -(double)INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = w2 * evals[i];
        if (!isfinite(x) || (is_qc && x < 0))
            return;
        if (x > lmax)
            lmax = x;
    }

    /* Step 2 (calc_sigma): s0 = sqrt(lmax / (1 + 1/sqrt(Q))^2). */
    const double inv_sqq = 1.0 / sqrt(Q);
    const double s0 = sqrt(lmax / ((1 + inv_sqq) * (1 + inv_sqq)));

    /* Steps 3-4: t = x, or sqrt(x) when Q == 1 exactly; KDE and threshold. */
    c.is_qc = is_qc;
    c.Q = Q;
    if (!kde_prepare(&c, evals, n, w2))
        return;
    if (trace != NULL) {
        trace->s0 = s0;
        trace->n_kde = c.n_good;
    }

    /* Step 6: scipy.optimize.brute over np.mgrid[0.05 s0 : 2.0 s0 : 0.01 s0], which is
     * np.arange(start, stop, step): length ceil((stop - start) / step), values g0 = start,
     * g1 = start + step, gi = g0 + i * (g1 - g0) (numpy's DOUBLE_fill). First minimum wins
     * (np.argmin; a NaN would win outright). */
    const double start = 0.05 * s0, stop = 2.0 * s0, step = 0.01 * s0;
    const double len_d = ceil((stop - start) / step);
    if (!(len_d >= 1 && len_d <= GRID_MAX))
        return;
    const size_t n_grid = (size_t)len_d;
    const double g1 = start + step;
    const double delta = g1 - start;
    double best_x = start, best_f = (double)INFINITY;
    int have_best = 0;
    for (size_t i = 0; i < n_grid; i++) {
        double g = (i == 0) ? start : (i == 1) ? g1 : start + (double)i * delta;
        double fg = cost(&c, g);
        if (!have_best || fg < best_f || (isnan(fg) && !isnan(best_f))) {
            best_x = g;
            best_f = fg;
            have_best = 1;
            if (isnan(fg))
                break;
        }
    }
    if (trace != NULL) {
        trace->n_grid = n_grid;
        trace->grid_sigma = best_x;
        trace->grid_cost = best_f;
    }
    /* brute's finish: res = fmin(func, xmin, full_output=1); xmin = res[0] with no check
     * that the polished cost beats the grid's (SciPy 1.10 _optimize.brute). */
    const double sigma = nelder_mead(&c, best_x, trace);

    /* Step 7 (mp_fit): edges with 1/np.sqrt(Q), Tracy–Widom margin, spikes, soft rank. */
    const double bulk_max = pow(sigma * (1 + 1 / sqrt(Q)), 2);
    const double bulk_min = pow(sigma * (1 - 1 / sqrt(Q)), 2);
    const double tw = 1 / sqrt(Q) * pow(bulk_max, 2.0 / 3) * pow(M, -2.0 / 3);
    const double bulk_max_tw = bulk_max + sqrt(tw);
    int64_t n_spikes = 0;
    for (size_t i = 0; i < n; i++)
        if (w2 * evals[i] > bulk_max_tw)
            n_spikes++;

    out->ok = 1;
    out->num_spikes = n_spikes;
    out->sigma_mp = sigma;
    out->mp_softrank = bulk_max / lmax;
    out->bulk_max = bulk_max / w2;
    out->bulk_min = bulk_min / w2;
    out->W_scale = w_scale;
}

void wl_mp_fit(const double *evals, size_t n, double N, double M, wl_mp_result *out)
{
    wl_mp_fit_trace(evals, n, N, M, out, NULL);
}
