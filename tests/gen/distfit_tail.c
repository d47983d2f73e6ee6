/*
 * distfit_tail.c — test driver for the distribution tests (src/distfit.c), used by
 * tests/conformance/distcompare/check.py to replay powerlaw 1.5's reference tails, which have
 * no model file (the synthetic ones) or need the fitted parameters the CLI does not print.
 *   distfit_tail tail   < "xmin n x1 ... xn"        prints "key value" lines (%.17g)
 *   distfit_tail logz   < "alpha lambda xmin" lines  prints log Z per line
 */
#include "distfit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pr(const char *k, double v)
{
    printf("%s %.17g\n", k, v);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "logz") == 0) {
        double a, l, x;
        while (scanf("%lf %lf %lf", &a, &l, &x) == 3)
            printf("%.17g\n", wl_distfit_tpl_log_z(a, l, x));
        return 0;
    }
    double xmin;
    size_t n;
    if (scanf("%lf %zu", &xmin, &n) != 2 || n > 100000000)
        return 2;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (x == NULL)
        return 4;
    for (size_t i = 0; i < n; i++)
        if (scanf("%lf", &x[i]) != 1)
            return 2;
    wl_distfit f;
    wl_err err;
    wl_err_clear(&err);
    if (wl_distfit_tail(x, n, xmin, &f, &err) != WL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 4;
    }
    printf("ok %d\nreason %s\nbest_fit %s\n", f.ok, f.ok ? "-" : f.reason,
           f.best_fit ? f.best_fit : "null");
    static const char *const alt[WL_ALT_N] = {"tpl", "exponential", "lognormal", "stretched_exp"};
    static const char *const dist[WL_DIST_N] = {"pl", "tpl", "exponential", "lognormal",
                                                "stretched_exp"};
    pr("pl_alpha", f.pl_alpha);
    pr("tpl_alpha", f.tpl_alpha);
    pr("tpl_lambda", f.tpl_lambda);
    pr("exponential_Lambda", f.exp_lambda);
    pr("lognormal_mu", f.lognormal_mu);
    pr("lognormal_sigma", f.lognormal_sigma);
    pr("stretched_exp_Lambda", f.stretched_lambda);
    pr("stretched_exp_beta", f.stretched_beta);
    char k[64];
    for (int d = 0; d < WL_DIST_N; d++) {
        snprintf(k, sizeof k, "%s_loglikelihood", dist[d]);
        pr(k, f.loglik[d]);
        snprintf(k, sizeof k, "%s_nfev", dist[d]);
        pr(k, f.nm[d].nfev);
        snprintf(k, sizeof k, "%s_nit", dist[d]);
        pr(k, f.nm[d].nit);
        snprintf(k, sizeof k, "%s_warnflag", dist[d]);
        pr(k, f.nm[d].warnflag);
    }
    for (int a = 0; a < WL_ALT_N; a++) {
        snprintf(k, sizeof k, "pl_vs_%s_R", alt[a]);
        pr(k, f.R[a]);
        snprintf(k, sizeof k, "pl_vs_%s_R_raw", alt[a]);
        pr(k, f.R_raw[a]);
        snprintf(k, sizeof k, "pl_vs_%s_p", alt[a]);
        pr(k, f.p[a]);
        if (a == WL_ALT_TPL)
            continue;
        snprintf(k, sizeof k, "tpl_vs_%s_R", alt[a]);
        pr(k, f.tpl_R[a]);
        snprintf(k, sizeof k, "tpl_vs_%s_p", alt[a]);
        pr(k, f.tpl_p[a]);
    }
    free(x);
    return 0;
}
