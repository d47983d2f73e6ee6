/*
 * columns.h — the per-layer columns of `analyze` output, one table shared by the JSON, CSV and
 * text writers. Names are WeightWatcher's (spec §10) so that output can be diffed against it.
 */
#ifndef WL_CLI_COLUMNS_H
#define WL_CLI_COLUMNS_H

#include "weightlint.h"

#include <stddef.h>

typedef enum col_kind { COL_DOUBLE, COL_INT, COL_STR } col_kind;

typedef struct col_def {
    const char *name;
    col_kind kind;
    size_t offset; /* into wl_layer */
    int group;     /* 0 always, 1 MP fit (has_mp), 2 randomization (has_rand), 3 distribution
                      tests (has_dist; null unless dist_ok) */
} col_def;

extern const col_def cli_columns[];
extern const size_t cli_n_columns;

double col_double(const wl_layer *l, const col_def *c);
int64_t col_int(const wl_layer *l, const col_def *c);
const char *col_str(const wl_layer *l, const col_def *c);
/* Whether column c is printed for l (its group ran on l). */
int col_present(const wl_layer *l, const col_def *c);

/* "success", "failed" or "non-finite". */
const char *cli_layer_status(const wl_layer *l);

#endif
