/*
 * plfit.h — internal entry of the power-law fit (plfit.c) with the near-optimal margin as a
 * parameter, so that bench/alpha_stability.c can measure the choice of WL_PLFIT_NEAR_C.
 */
#ifndef WL_PLFIT_H
#define WL_PLFIT_H

#include "weightlint.h"

/* A candidate xmin is KS-near-optimal when D_i <= min D + WL_PLFIT_NEAR_C / sqrt(n_best),
 * n_best the chosen tail size (bench/README.md "alpha stability" for the measurement). */
#define WL_PLFIT_NEAR_C 0.05

/* wl_plfit_fit with margin constant near_c in place of WL_PLFIT_NEAR_C (0: exact ties only). */
void wl_plfit_fit_near(const double *evals, size_t n, double near_c, wl_plfit *out);

#endif
