/*
 * columns.c — the column table of columns.h.
 */
#include "columns.h"

#define D(n) {#n, COL_DOUBLE, offsetof(wl_layer, n), 0}
#define I(n) {#n, COL_INT, offsetof(wl_layer, n), 0}
#define S(n) {#n, COL_STR, offsetof(wl_layer, n), 0}
#define MPD(n) {#n, COL_DOUBLE, offsetof(wl_layer, n), 1}
#define MPI(n) {#n, COL_INT, offsetof(wl_layer, n), 1}
#define RD(n) {#n, COL_DOUBLE, offsetof(wl_layer, n), 2}
#define RI(n) {#n, COL_INT, offsetof(wl_layer, n), 2}
#define XD(n) {#n, COL_DOUBLE, offsetof(wl_layer, n), 3}
#define XS(n) {#n, COL_STR, offsetof(wl_layer, n), 3}

const col_def cli_columns[] = {
    I(layer_id),    S(layer_type),   S(dtype),       I(N),
    I(M),           I(rf),           D(Q),           I(num_evals),
    D(alpha),       D(alpha_weighted), D(D),         D(xmin),
    D(xmax),        D(sigma),        I(num_pl_spikes), D(alpha_se),
    D(alpha_lo),    D(alpha_hi),     D(alpha_spread), D(lambda_max),
    D(norm),        D(log_norm),     D(log_spectral_norm), D(log_alpha_norm),
    D(stable_rank), I(matrix_rank),  D(entropy),     I(rank_loss),
    I(weak_rank_loss), D(sv_max),    D(sv_min),      S(warning),
    S(phase),       MPI(num_spikes), MPD(sigma_mp),  MPD(mp_softrank),
    MPD(bulk_min),  MPD(bulk_max),   MPD(W_scale),   RI(rand_num_spikes),
    RD(rand_sigma_mp), RD(rand_mp_softrank), RD(rand_bulk_max), RD(max_rand_eval),
    RD(rand_distance), RD(ww_softrank),
    XS(best_fit),   XD(tpl_alpha),   XD(tpl_lambda), XD(pl_vs_tpl_R),
    XD(pl_vs_tpl_p), XD(pl_vs_exponential_R), XD(pl_vs_exponential_p), XD(pl_vs_lognormal_R),
    XD(pl_vs_lognormal_p), XD(pl_vs_stretched_exp_R), XD(pl_vs_stretched_exp_p),
    XD(exponential_lambda), XD(lognormal_mu), XD(lognormal_sigma), XD(stretched_exp_lambda),
    XD(stretched_exp_beta),
};
const size_t cli_n_columns = sizeof cli_columns / sizeof cli_columns[0];

double col_double(const wl_layer *l, const col_def *c)
{
    return *(const double *)((const char *)l + c->offset);
}

int64_t col_int(const wl_layer *l, const col_def *c)
{
    return *(const int64_t *)((const char *)l + c->offset);
}

const char *col_str(const wl_layer *l, const col_def *c)
{
    return *(const char *const *)((const char *)l + c->offset);
}

int col_present(const wl_layer *l, const col_def *c)
{
    return !((c->group == 1 && !l->has_mp) || (c->group == 2 && !l->has_rand) ||
             (c->group == 3 && !l->has_dist));
}

const char *cli_layer_status(const wl_layer *l)
{
    switch (l->status) {
    case WL_LAYER_SUCCESS:
        return "success";
    case WL_LAYER_FIT_FAILED:
        return "failed";
    case WL_LAYER_NONFINITE:
        return "non-finite";
    }
    return "unknown";
}
