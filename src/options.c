/*
 * options.c — default analysis options per compatibility mode.
 */
#include "weightlint.h"

#include <string.h>

void wl_options_init(wl_options *opts, wl_compat compat)
{
    memset(opts, 0, sizeof *opts);
    opts->compat = compat;
    opts->min_evals = 10; /* WeightWatcher DEFAULT_MIN_EVALS (spec §2.3) */
    if (compat == WL_COMPAT_WW) {
        opts->max_evals = 15000; /* DEFAULT_MAX_EVALS */
        opts->max_n = 50000;     /* DEFAULT_MAX_N */
    } else {
        /* weightlint's own mode keeps the minimum but scores big layers too (docs/metrics.md). */
        opts->max_evals = 0;
        opts->max_n = 0;
        opts->mp_fit = 1;
    }
    opts->max_tensor_bytes = WL_MAX_TENSOR_BYTES;
    opts->seed = 0;
}
