/*
 * compare.h — `weightlint compare`: two analyses of (supposedly) one architecture, layer by
 * layer. Layers are matched by their stable id, then by their place in the graph (consuming
 * node, input), then by name without exporter/quantizer suffixes, then by logical shape and
 * topological rank — never by the order of the tensor list; the rest are added, removed or
 * reshaped. Each matched layer gets a row per metric
 * (alpha, alpha_weighted, log_norm, log_spectral_norm, phase, fit) with base, candidate, delta
 * and a state; the regression gate (the rules file's `compare:` section, docs/compare.md) marks
 * the changes that make a layer worse, and the model gets a verdict. Models that share too few
 * layers are "not comparable" (exit code 5), never a pass.
 *
 * Several candidates are also ranked by alpha_weighted (alpha-hat) with their per-layer alpha,
 * spikes and phase, and the ranking says when the models look like checkpoints of one training
 * run, where alpha-hat should not decide alone (Martin & Mahoney's correlation of lower
 * alpha-hat with higher accuracy holds across a series of models, not within one run).
 *
 * Ownership: a wl_comparison borrows its two analyses (they must outlive it) and is released
 * with wl_comparison_free. The writers (compare_report.c) print to a caller-given FILE*.
 */
#ifndef WL_COMPARE_H
#define WL_COMPARE_H

#include "rules.h"
#include "weightlint.h"

#include <stdio.h>

#define WL_COMPARE_JSON_SCHEMA_VERSION 1
#define WL_COMPARE_MIN_MATCHED         0.5 /* default share of layers that must match (else exit 5) */
#define WL_COMPARE_ALPHA_LO            2.0 /* the paper's well-trained range of alpha (default gate) */
#define WL_COMPARE_ALPHA_HI            6.0
#define WL_COMPARE_ALPHA_SIGMAS        1.0  /* alpha moves count beyond 1 x its uncertainty */
#define WL_COMPARE_HYSTERESIS          0.25 /* fit limits: regress beyond min_tail x 0.75 /
                                               max_D x 1.25 (relative band) */
#define WL_COMPARE_CHANGE_RTOL         1e-3 /* a row "changed" beyond 0.1 % of |value| */

/* The metric rows of a layer, in table order. */
typedef enum wl_cmp_metric {
    WL_CMP_ALPHA = 0,
    WL_CMP_ALPHA_WEIGHTED,
    WL_CMP_LOG_NORM,
    WL_CMP_LOG_SPECTRAL_NORM,
    WL_CMP_PHASE, /* a label: the 5+1 phase */
    WL_CMP_FIT,   /* a label: ok, unreliable, failed, non-finite */
    WL_CMP_N_METRICS
} wl_cmp_metric;
#define WL_CMP_N_NUMERIC 4 /* the numeric metrics come first; also the model-level rows */

/* "alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "phase", "fit". */
const char *wl_cmp_metric_name(wl_cmp_metric m);

/* The state of one row, one layer or one model, in increasing order of attention. */
typedef enum wl_cmp_state {
    WL_CMP_UNCHANGED = 0, /* equal at the printed precision (4 decimals) or within the
                             relative change tolerance */
    WL_CMP_CHANGED,       /* different, neither better nor worse by the configured gates */
    WL_CMP_IMPROVED,      /* the reverse of a regression (e.g. alpha entered [2, 6]) */
    WL_CMP_REGRESSED      /* a configured regression */
} wl_cmp_state;
const char *wl_cmp_state_name(wl_cmp_state s); /* "unchanged", ..., "regressed" */

/* How a layer of the candidate was paired with one of the base, in the order tried; every
 * step but the last pairs only layers of the same logical shape (layer type, N, M, rf) and only
 * keys that are unique on both sides. docs/compare.md "Matching layers" says why each exists. */
typedef enum wl_cmp_match {
    WL_CMP_BY_ID = 0, /* same stable id (graph path + tensor name + RNN block) */
    WL_CMP_BY_GRAPH,  /* same consuming node (op family, name without "_quant") and input */
    WL_CMP_BY_NAME,   /* same tensor name once exporter/quantizer suffixes are removed */
    WL_CMP_BY_ORDER,  /* same logical shape, same rank in topological order among the
                         unmatched layers of that shape */
    WL_CMP_ADDED,     /* only in the candidate */
    WL_CMP_REMOVED    /* only in the base */
} wl_cmp_match;
/* "id", "graph", "name", "order", "added", "removed". */
const char *wl_cmp_match_name(wl_cmp_match m);

/* ---------------------------------------------------------------- configuration */

typedef enum wl_cmp_direction {
    WL_CMP_DIR_OFF = 0,  /* no gate */
    WL_CMP_DIR_INCREASE, /* a rise beyond the tolerance is a regression */
    WL_CMP_DIR_DECREASE, /* a fall beyond the tolerance is a regression */
    WL_CMP_DIR_EITHER    /* any change beyond the tolerance is a regression */
} wl_cmp_direction;

/* A delta gate on one numeric metric. */
typedef struct wl_cmp_gate {
    wl_cmp_direction direction;
    double tolerance; /* >= 0; in percent of |base| when is_relative */
    int is_relative;
} wl_cmp_gate;

/* The regression gate: the `compare:` section of a rules file over built-in defaults. */
typedef struct wl_compare_cfg {
    double min_matched;  /* share of layers that must match, else not comparable */
    int has_alpha_range; /* alpha leaving [alpha_lo, alpha_hi] is a regression */
    double alpha_lo, alpha_hi;
    unsigned phase_mask;    /* bit i (wl_phase_names()[i]): moving towards that phase regresses;
                               only random-like and rank-collapse are meaningful targets */
    int fit_unreliable;     /* a reliable fit becoming unreliable or failed is a regression */
    double min_tail, max_D; /* what "reliable" means: the fit-unreliable rule's parameters */
    int non_finite;         /* NaN/Inf weights appearing is a regression */
    double alpha_sigmas;    /* an alpha threshold crossing or change counts beyond this many
                               of its uncertainty (0 = any) */
    double hysteresis;      /* relative band around min_tail and max_D (0 = none) */
    double change_rtol;     /* a row is "changed" beyond this share of |value| */
    wl_cmp_gate layer_gate[WL_CMP_N_NUMERIC]; /* per-layer delta gates (default off) */
    wl_cmp_gate model_gate[WL_CMP_N_NUMERIC]; /* model-level (summary mean) gates (default off) */
} wl_compare_cfg;

/* The built-in defaults: min_matched 0.5, alpha range [2, 6], phases towards random-like and
 * rank-collapse, fit-unreliable on (min_tail 10, max_D 0.2), non-finite on, alpha_sigmas 1,
 * hysteresis 0.25, change_tolerance 1e-3, no delta gates. */
void wl_compare_cfg_init(wl_compare_cfg *cfg);

/* The gate of a ruleset: the defaults, the fit-unreliable rule's min_tail/max_D of r, then r's
 * `compare:` section (r may be NULL). Fails with WL_E_RULES naming the rules file and the key
 * ("rules.yaml: compare: layer.alpha_range: expected [low, high] or off, got 'x'"). */
WL_NODISCARD wl_status wl_compare_cfg_from_rules(const wl_rules *r, wl_compare_cfg *out,
                                                 wl_err *err);

/* ---------------------------------------------------------------- results */

/* One metric of one layer pair (or of the model summaries). */
typedef struct wl_cmp_cell {
    wl_cmp_metric metric;
    double base, cand;      /* numeric metrics; NaN when absent or not measured */
    const char *base_label; /* label metrics (phase, fit), static; NULL when absent */
    const char *cand_label;
    double delta, delta_pct; /* cand - base and 100 * delta / |base|; NaN if undefined */
    double base_sd, cand_sd; /* alpha: the fit's uncertainty (wl_compare_alpha_sd); NaN else */
    wl_cmp_state state;
    char why[192];       /* regressions and improvements: what happened; for a change that the
                            gate saw but did not count (within noise, fit unreliable): why not;
                            "" else */
    const char *matters; /* regressions: why it matters (static), NULL otherwise */
} wl_cmp_cell;

typedef struct wl_cmp_layer {
    const wl_layer *base, *cand; /* borrowed; base NULL when added, cand NULL when removed */
    wl_cmp_match match;
    int is_reshaped; /* same id, different shape: metrics not compared */
    wl_cmp_cell cells[WL_CMP_N_METRICS];
    wl_cmp_state state; /* the worst (highest) state of its cells; an added, removed
                           or reshaped layer is at least CHANGED */
    size_t n_regressions;
} wl_cmp_layer;

typedef enum wl_cmp_verdict {
    WL_VERDICT_UNCHANGED = 0,
    WL_VERDICT_CHANGED,
    WL_VERDICT_IMPROVED,
    WL_VERDICT_REGRESSED,
    WL_VERDICT_NOT_COMPARABLE
} wl_cmp_verdict;
const char *wl_cmp_verdict_name(wl_cmp_verdict v); /* "unchanged", ..., "not-comparable" */

typedef struct wl_comparison {
    const wl_analysis *base, *cand; /* borrowed */
    wl_cmp_layer *layers;           /* base layers in base order, then added ones */
    size_t n_layers;
    size_t n_by_id, n_by_graph, n_by_name, n_by_order, n_reshaped, n_added, n_removed;
    size_t n_matched; /* pairs of the same logical shape (all matching steps) */
    double matched_share; /* same-shape pairs / max(base layers, candidate layers) */
    int is_comparable;
    char not_comparable_why[256]; /* "" when comparable */
    int is_same_layout;           /* every layer matched by id with its shape: one architecture
                                     with the same tensor names (checkpoints of one run?) */
    wl_cmp_cell model[WL_CMP_N_NUMERIC];             /* summary means, base vs candidate */
    size_t n_regressions, n_improvements, n_changed; /* counted over cells, layer and model */
    wl_cmp_verdict verdict;
} wl_comparison;

/* Compares cand with base under cfg. On success *out is a new comparison (caller frees it with
 * wl_comparison_free) that borrows base and cand. Models that are not comparable are a result
 * (verdict WL_VERDICT_NOT_COMPARABLE, with not_comparable_why), not an error. Fails only with
 * WL_E_NOMEM. */
WL_NODISCARD wl_status wl_compare_new(const wl_analysis *base, const wl_analysis *cand,
                                      const wl_compare_cfg *cfg, wl_comparison **out, wl_err *err);
void wl_comparison_free(wl_comparison *c);

/* The row of c whose base layer is base_layer, or NULL. */
const wl_cmp_layer *wl_compare_find(const wl_comparison *c, const wl_layer *base_layer);

/* The uncertainty of a layer's alpha: the largest of WeightWatcher's standard error sigma =
 * (alpha - 1) / sqrt(n_tail) (Clauset et al. 2009, eq. 3.2), the finite-sample alpha_se and half
 * of alpha_spread (alpha's range over the near-optimal xmins); NaN when the layer has no usable
 * fit. */
double wl_compare_alpha_sd(const wl_layer *l);

/* "128x64": the logical matrix shape of a layer, N x M (x rf for convolutions), the same for
 * every encoding of the layer (a transposed int8 copy, a QLinearConv kernel). */
void wl_compare_logical_shape(const wl_layer *l, char *buf, size_t n);

/* ---------------------------------------------------------------- ranking */

/* The models of one compare run ranked by alpha_weighted (summary mean, ascending; models
 * without one last), ties in command-line order. order[] gets n indices into models[].
 * *is_one_run is set when every model has the base's layout (same ids and shapes): then the
 * models look like checkpoints of one training run and the ranking's note says alpha-hat should
 * not decide alone. */
void wl_compare_rank(const wl_analysis *const *models, size_t n, size_t *order, int *is_one_run);

/* The note printed with a ranking of checkpoints of one run (static text, one paragraph). */
const char *wl_compare_one_run_note(void);

/* ---------------------------------------------------------------- reports */

typedef enum wl_cmp_format {
    WL_CMP_FORMAT_TEXT = 0,
    WL_CMP_FORMAT_MARKDOWN,
    WL_CMP_FORMAT_JSON,
    WL_CMP_FORMAT_GITHUB /* workflow-command annotations for the regressions (GitHub Actions) */
} wl_cmp_format;
/* "text", "markdown" (also "md"), "json", "github"; 0 or -1. */
int wl_cmp_format_parse(const char *s, wl_cmp_format *out);

/* Everything one `weightlint compare` run reports. */
typedef struct wl_compare_report {
    const wl_analysis *const *models; /* models[0] is the base, then the candidates */
    size_t n_models;
    wl_comparison *const *comparisons; /* comparisons[i] is models[i + 1] against the base */
    const char *config;                /* the rules source used ("built-in defaults", a path) */
    const wl_compare_cfg *cfg;
    int fail_on_regression;
    int show_all;    /* text/markdown: list unchanged rows too */
    size_t max_rows; /* text/markdown: at most this many rows per table; 0 = all */
    size_t width;    /* text: the terminal width the tables fit (long names are cut in the
                        middle); 0 = WL_REPORT_DEFAULT_WIDTH */
    int exit_code;   /* recorded in the JSON report */
} wl_compare_report;

/* "113 base / 113 candidate layers: 113 of 113 matched (0 by id, 113 by graph place, ...), 0
 * reshaped, 0 added, 0 removed" into buf (every format, and the HTML report, print it). */
void wl_compare_matching_line(const wl_comparison *c, char *buf, size_t n);

/* Writes the report in fmt to f; WL_E_IO when f reports a write error. */
WL_NODISCARD wl_status wl_compare_write(FILE *f, wl_cmp_format fmt, const wl_compare_report *r,
                                        wl_err *err);

#endif
