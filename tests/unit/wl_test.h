/*
 * wl_test.h — shared helpers for the cmocka unit tests (STYLE.md §9.7): a tolerance assert that
 * prints both values, and seeded generators for synthetic weight matrices (splitmix64; Gaussian
 * for the Marchenko–Pastur law, Student-t and Pareto for heavy tails). Header-only, so every
 * test binary stays one .c file. Never use rand(): results must not depend on libc.
 */
#ifndef WL_TEST_H
#define WL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

/* Fails the test unless |actual - expected| <= rtol * |expected| + atol. Non-finite values
 * must match in kind (nan with nan, +inf with +inf). Prints both values and the tolerance. */
#define wl_assert_close(actual, expected, rtol, atol)                                              \
    wl_assert_close_at((actual), (expected), (rtol), (atol), #actual, __FILE__, __LINE__)

static inline void wl_assert_close_at(double actual, double expected, double rtol, double atol,
                                      const char *expr, const char *file, int line)
{
    int ok;
    if (isnan(expected) || isnan(actual))
        ok = isnan(expected) && isnan(actual);
    else if (isinf(expected) || isinf(actual))
        ok = actual == expected;
    else
        ok = fabs(actual - expected) <= rtol * fabs(expected) + atol;
    if (!ok) {
        print_error(
            "%s = %.17g, expected %.17g (|diff| %.3g > rtol %.3g * |expected| + atol %.3g)\n", expr,
            actual, expected, fabs(actual - expected), rtol, atol);
        _fail(file, line);
    }
}

/* splitmix64 (Steele, Lea & Flood 2014): tiny, seedable, good enough for test matrices. */
typedef struct wl_test_rng {
    uint64_t state;
} wl_test_rng;

static inline uint64_t wl_test_next(wl_test_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform on (0, 1): 53 random bits, never exactly 0 (safe for log). */
static inline double wl_test_uniform(wl_test_rng *r)
{
    return ((double)(wl_test_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box–Muller (one value per call; simple beats fast here). */
static inline double wl_test_gauss(wl_test_rng *r)
{
    double u1 = wl_test_uniform(r), u2 = wl_test_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Student-t with integer nu degrees of freedom: Z / sqrt(chi2_nu / nu). */
static inline double wl_test_student_t(wl_test_rng *r, int nu)
{
    double chi2 = 0.0;
    for (int i = 0; i < nu; i++) {
        double g = wl_test_gauss(r);
        chi2 += g * g;
    }
    return wl_test_gauss(r) / sqrt(chi2 / nu);
}

/* Symmetric Pareto with tail index alpha and scale 1: random sign times U^(-1/alpha) (>= 1). */
static inline double wl_test_pareto(wl_test_rng *r, double alpha)
{
    double mag = pow(wl_test_uniform(r), -1.0 / alpha);
    return (wl_test_next(r) & 1) ? mag : -mag;
}

/* Fills a rows x cols row-major matrix with N(0, scale^2) entries. */
static inline void wl_test_fill_gauss(wl_test_rng *r, double *w, size_t rows, size_t cols,
                                      double scale)
{
    for (size_t i = 0; i < rows * cols; i++)
        w[i] = scale * wl_test_gauss(r);
}

#endif
