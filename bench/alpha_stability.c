/*
 * alpha_stability.c — the measurement behind alpha's stability column (WL_PLFIT_NEAR_C,
 * bench/README.md "alpha stability"). Not part of the build or the tests.
 *
 * For every layer of the given eigenvalue files (`analyze --evals DIR` output) it makes R
 * "nearly identical" spectra: every eigenvalue multiplied by 1 + eps*g, g standard normal,
 * eps = 1e-3 (an fp16 export or one fine-tuning step moves eigenvalues by about that), refits,
 * and takes the range of the R alphas as the layer's real instability. Then it asks how well two
 * candidate stability measures, computed on the unperturbed spectrum only, predict that range:
 *   near(c): alpha's range over xmin candidates with D_i <= min D + c/sqrt(n_best), several c;
 *   boot:    +-2 standard deviations of alpha over B = 50 bootstrap resamples of the whole
 *            spectrum (CSN §3.4 style, xmin refitted every time).
 * Coverage = share of layers whose perturbed alphas all lie inside the measure's interval
 * (widened by 1% of alpha, the jitter of alpha at a fixed xmin);
 * "flags" = of the layers whose perturbed range exceeds 0.5, the share the measure gives a width
 * above 0.5 too. Build: cc -O2 -Iinclude -Isrc bench/alpha_stability.c build/release/libweightlint.a \
 *   $(pkg-config --libs lapacke openblas) -lm -lpthread
 */
#include "plfit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 12345;
static double unif(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif());
}
static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define NC 6
static const double cs[NC] = {0.0, 0.02, 0.03, 0.05, 0.07, 0.1};
#define R 20
#define B 50

static size_t n_layers, cov[NC + 1], flag[NC + 1], n_unstable, false_flag[NC + 1];
static double width_sum[NC + 1], t_near, t_boot;
static double widths[NC + 1][100000];

static void layer(const double *ev, size_t n)
{
    wl_plfit f;
    wl_plfit_fit_near(ev, n, 0.0, &f);
    if (!f.ok || !isfinite(f.alpha))
        return;
    double *y = malloc(n * sizeof *y);
    double lo = f.alpha, hi = f.alpha;
    for (int r = 0; r < R; r++) {
        for (size_t i = 0; i < n; i++)
            y[i] = ev[i] * (1.0 + 1e-3 * gauss());
        qsort(y, n, sizeof *y, cmp);
        wl_plfit g;
        wl_plfit_fit_near(y, n, 0.0, &g);
        if (g.ok && isfinite(g.alpha)) {
            lo = g.alpha < lo ? g.alpha : lo;
            hi = g.alpha > hi ? g.alpha : hi;
        }
    }
    int unstable = hi - lo > 0.5;
    n_layers++;
    n_unstable += (size_t)unstable;
    double tol = 1e-2 * fabs(f.alpha); /* same-xmin jitter of alpha is not instability */
    for (int k = 0; k <= NC; k++) {
        double a, b;
        if (k < NC) {
            double t0 = now();
            wl_plfit_fit_near(ev, n, cs[k], &f);
            t_near += now() - t0;
            a = f.alpha_lo;
            b = f.alpha_hi;
        } else {
            double t0 = now(), s = 0, s2 = 0;
            int m = 0;
            for (int q = 0; q < B; q++) {
                for (size_t i = 0; i < n; i++)
                    y[i] = ev[(size_t)(unif() * (double)n) % n];
                qsort(y, n, sizeof *y, cmp);
                wl_plfit g;
                wl_plfit_fit_near(y, n, 0.0, &g);
                if (g.ok && isfinite(g.alpha)) {
                    s += g.alpha;
                    s2 += g.alpha * g.alpha;
                    m++;
                }
            }
            t_boot += now() - t0;
            double sd = m > 1 ? sqrt(fmax(0.0, (s2 - s * s / m) / (m - 1))) : 0.0;
            a = f.alpha - 2 * sd;
            b = f.alpha + 2 * sd;
        }
        cov[k] += (size_t)(lo >= a - tol && hi <= b + tol);
        width_sum[k] += b - a;
        widths[k][n_layers - 1] = b - a;
        if (unstable && b - a > 0.5)
            flag[k]++;
        if (!unstable && b - a > 0.5)
            false_flag[k]++;
    }
    free(y);
}

int main(int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        FILE *fp = fopen(argv[a], "r");
        if (!fp)
            continue;
        char line[4096];
        double *ev = NULL;
        size_t n = 0, cap = 0;
        while (fgets(line, sizeof line, fp)) {
            if (line[0] == '#') {
                if (n)
                    layer(ev, n);
                n = 0;
                continue;
            }
            if (n == cap)
                ev = realloc(ev, (cap = cap ? 2 * cap : 1024) * sizeof *ev);
            ev[n++] = strtod(line, NULL);
        }
        if (n)
            layer(ev, n);
        free(ev);
        fclose(fp);
    }
    printf("%zu layers, %zu with a perturbed alpha range > 0.5 (eps 1e-3, %d replicas)\n",
           n_layers, n_unstable, R);
    printf("| measure | coverage | unstable flagged | stable flagged | median width |\n|---|---|---|---|---|\n");
    for (int k = 0; k <= NC; k++) {
        char name[64];
        if (k < NC)
            snprintf(name, sizeof name, "near c=%.2f", cs[k]);
        else
            snprintf(name, sizeof name, "bootstrap +-2sd (B=%d)", B);
        printf("| %s | %.1f%% | %zu/%zu | %zu/%zu | %.3f |\n", name, 100.0 * cov[k] / n_layers,
               flag[k], n_unstable, false_flag[k], n_layers - n_unstable,
               (qsort(widths[k], n_layers, sizeof(double), cmp), widths[k][n_layers / 2]));
    }
    printf("time: near (all c) %.3f s, bootstrap %.3f s\n", t_near, t_boot);
    return 0;
}
