/*
 * weightlint.h — the only public header of libweightlint.
 *
 * weightlint reads the weight tensors of an ONNX model and scores each layer with
 * heavy-tailed random matrix theory (Martin & Mahoney 2021; the metrics of WeightWatcher
 * 0.7.5.5, see docs/metrics.md). The library never prints and never exits: every fallible
 * call returns a wl_status and fills a caller-owned wl_err.
 *
 * Ownership: every object returned through an OUT pointer is owned by the caller and has a
 * named releaser (wl_analysis_free). Releasers accept NULL.
 */
#ifndef WEIGHTLINT_H
#define WEIGHTLINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WL_NODISCARD     __attribute__((warn_unused_result))
#define WL_PRINTF(f, a)  __attribute__((format(printf, f, a)))
#else
#define WL_NODISCARD
#define WL_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------- errors */

typedef enum wl_status {
    WL_OK = 0,
    WL_E_USAGE,    /* bad option or argument: exit 2 */
    WL_E_IO,       /* open/read/mmap failed (sys_errno set), missing file: exit 3 */
    WL_E_FORMAT,   /* malformed or unsupported ONNX: exit 3 */
    WL_E_RULES,    /* malformed rules file: exit 2 */
    WL_E_LIMIT,    /* a dim, size or count beyond WL_MAX_*, or an overflowing product: exit 3 */
    WL_E_NUMERIC,  /* LAPACK info > 0: exit 4 */
    WL_E_NOMEM,    /* allocation failed: exit 4 */
    WL_E_INTERNAL  /* broken invariant, LAPACK info < 0: a weightlint bug, exit 4 */
} wl_status;

typedef struct wl_err {
    wl_status code;       /* WL_OK until the first failure; the first error wins */
    int sys_errno;        /* errno at the failing call, else 0 */
    const char *src_file; /* detection site (for debugging) */
    int src_line;
    char msg[1024]; /* "m.onnx: initializer 'fc1.weight': dims[1] = -3 (must be >= 0)" */
} wl_err;

/* Short stable name of a status ("format", "io", ...). Never NULL. */
const char *wl_status_name(wl_status s);
/* The documented process exit code for a status (0, 2, 3 or 4). */
int wl_status_exit_code(wl_status s);
/* Resets err to WL_OK with an empty message. */
void wl_err_clear(wl_err *err);

/* Exit codes shared by every command (README "Exit codes"). */
enum {
    WL_EXIT_OK = 0,             /* done, nothing at or above --fail-on */
    WL_EXIT_FINDINGS = 1,       /* findings at or above --fail-on (check, compare) */
    WL_EXIT_USAGE = 2,          /* usage error or rules-file error */
    WL_EXIT_MODEL = 3,          /* model unreadable, malformed or unsupported */
    WL_EXIT_INTERNAL = 4,       /* numerical, resource or internal failure */
    WL_EXIT_NOT_COMPARABLE = 5  /* compare: different architectures */
};

/* Default caps against absurd input; each can be raised through wl_options. */
#define WL_MAX_DIM          ((int64_t)1 << 31) /* any single dimension */
#define WL_MAX_TENSOR_BYTES ((uint64_t)16 << 30) /* one tensor's payload: 16 GiB */
#define WL_MAX_NESTING      64                 /* subgraph / message nesting depth */
#define WL_MAX_RANK         16                 /* tensor rank (ONNX has no limit; we do) */
#define WL_MAX_NODES        ((size_t)1 << 20)  /* graph nodes, all subgraphs included: an empty
                                                  NodeProto is 2 bytes of file but ~300 bytes of
                                                  memory; real graphs have < 100,000 */

/* --------------------------------------------------------------- options */

typedef enum wl_compat {
    WL_COMPAT_NONE = 0, /* weightlint's own layer set (see docs/metrics.md) */
    WL_COMPAT_WW = 1    /* exactly WeightWatcher 0.7.5.5's layer set and filters */
} wl_compat;

/* A directory of per-layer results (wl_cache_open below; `--cache DIR`). */
typedef struct wl_cache wl_cache;

typedef struct wl_options {
    wl_compat compat;
    int mp_fit;           /* run the Marchenko–Pastur fit (always on outside --compat ww) */
    int randomize;        /* shuffled-weights ESD and rand_distance */
    uint64_t seed;        /* seed of the shuffle stream (randomize) */
    const char *layers;   /* fnmatch(3) glob on tensor names, NULL = all */
    int keep_evals;       /* keep each layer's eigenvalues in wl_layer.evals (and, with
                             randomize, the shuffled ones in wl_layer.rand_evals) */
    int64_t min_evals;    /* default 10 */
    int64_t max_evals;    /* default 15000 in --compat ww, 0 = no limit otherwise */
    int64_t max_n;        /* default 50000 in --compat ww, 0 = no limit otherwise */
    uint64_t max_tensor_bytes; /* default WL_MAX_TENSOR_BYTES */
    int threads;          /* worker threads; 0 = 2 (one per core of the reference machine) */
    int fast;             /* float32 Gram (about 2x faster, approximate): never the default */
    /* Progress callback, called after each analyzed layer (done of total, serialized across
     * workers); may be NULL. */
    void (*progress)(void *ctx, const char *layer, size_t done, size_t total);
    void *progress_ctx;
    /* Per-layer result cache (borrowed; NULL = none): a layer whose scored matrix and settings
     * were seen before is read back instead of analyzed. Ignored with keep_evals. */
    wl_cache *cache;
    int dist_test;        /* competing fits and likelihood-ratio tests on the PL tail
                             (--dist-test; docs/metrics.md "Distribution tests"). Bypasses cache. */
    /* --shard K/N: score only the layers of shard shard_index (0-based) of shard_count, a
     * deterministic share balanced by predicted cost (wl_analysis.inventory). 0 = no sharding. */
    int shard_index, shard_count;
} wl_options;

/* Fills opts with the defaults for the given compat mode. */
void wl_options_init(wl_options *opts, wl_compat compat);

/* --------------------------------------------------------------- results */

typedef enum wl_layer_status {
    WL_LAYER_SUCCESS = 0, /* fit succeeded */
    WL_LAYER_FIT_FAILED,  /* fewer than 2 eigenvalues > 1e-5: alpha etc. are -1 sentinels */
    WL_LAYER_NONFINITE    /* NaN/Inf in the weights: no spectrum, see nonfinite_index */
} wl_layer_status;

/* Per-layer metrics; column names follow WeightWatcher (docs/metrics.md). Non-finite doubles
 * (inf, nan) are legitimate values here (e.g. alpha = inf for all-equal eigenvalues). */
typedef struct wl_layer {
    char *name;              /* tensor name (owned) */
    char *id;                /* stable unique id (owned) */
    int64_t layer_id;        /* index among the top-level initializers */
    int64_t shape[WL_MAX_RANK];
    int rank;
    const char *dtype;       /* stored ONNX data type name, static ("FLOAT", "UINT8", ...) */
    const char *layer_type;  /* "dense", "conv1d", "conv2d", "conv3d", "rnn", static */
    char *node_name;         /* consuming node's name (owned; NULL in --compat ww) */
    char *op_type;           /* consuming node's op type (owned; NULL in --compat ww) */
    int input_index;         /* which input of that node (through pass-through ops); -1 */
    int64_t depth;           /* the consuming node's rank in topological order (graph order:
                                layers are sorted by it); -1 in --compat ww */
    int dequantized;         /* weights were dequantized with their scale / zero point */
    uint64_t n_params;       /* elements of the matrix (or kernel) scored: the logical, decoded
                                count for packed encodings */
    int64_t N, M, rf;        /* WeightWatcher's bookkeeping (quirks A/B included) */
    double Q;                /* N / M */
    int64_t num_evals;
    wl_layer_status status;
    char status_reason[128]; /* why the fit failed / the layer is non-finite; "" on success */
    uint64_t nonfinite_index; /* flat index of the first NaN/Inf (WL_LAYER_NONFINITE) */
    double nonfinite_value;

    /* power-law fit (Clauset–Shalizi–Newman as in WeightWatcher's WWFit) */
    double alpha, D, xmin, xmax, sigma;
    int64_t num_pl_spikes;
    double alpha_weighted; /* alpha * log10(lambda_max) */
    /* how far to trust alpha (NaN when the fit failed; docs/metrics.md "Uncertainty of alpha") */
    double alpha_se;       /* finite-sample standard error of alpha at xmin */
    double alpha_lo, alpha_hi; /* alpha's range over the KS-near-optimal xmin candidates */
    double alpha_spread;   /* alpha_hi - alpha_lo: large means alpha hinges on the xmin choice */
    /* spectrum and norms */
    double lambda_max, norm, log_norm, log_spectral_norm, log_alpha_norm, stable_rank, entropy;
    double sv_max, sv_min;
    int64_t matrix_rank, rank_loss, weak_rank_loss;
    const char *warning; /* "over-trained", "under-trained" or "" (static) */

    /* Marchenko–Pastur fit (has_mp) */
    int has_mp;
    int64_t num_spikes;
    double sigma_mp, mp_softrank, bulk_min, bulk_max, W_scale;

    /* randomized ESD (has_rand) */
    int has_rand;
    int64_t rand_num_spikes;
    double rand_sigma_mp, rand_mp_softrank, rand_bulk_max, max_rand_eval, rand_distance,
        ww_softrank;

    const char *phase; /* 5+1 phase label, static; NULL when not classified */
    const char *phase_reason; /* why phase is NULL (static), NULL when classified */

    /* distribution tests of the PL tail (has_dist: opts.dist_test ran on this layer; dist_ok:
     * the values are set, else dist_reason says why and JSON shows null). powerlaw 1.5's
     * names; R is normalized and > 0 favours the power law. */
    int has_dist, dist_ok;
    char dist_reason[128];
    const char *best_fit; /* "pl", "tpl", "exponential", "lognormal", "stretched_exp",
                             "undecided" (static); NULL unless dist_ok */
    double tpl_alpha, tpl_lambda; /* truncated power law x^-a e^(-lambda x); 1/eigenvalue */
    double pl_vs_tpl_R, pl_vs_tpl_p, pl_vs_exponential_R, pl_vs_exponential_p;
    double pl_vs_lognormal_R, pl_vs_lognormal_p, pl_vs_stretched_exp_R, pl_vs_stretched_exp_p;
    double exponential_lambda, lognormal_mu, lognormal_sigma, stretched_exp_lambda,
        stretched_exp_beta;
    double dist_pl_alpha; /* powerlaw's alpha on the tail (= alpha unless ties at xmin) */

    double *evals; /* ascending eigenvalues (owned), only with opts.keep_evals */
    double *rand_evals;  /* ascending shuffled-weights eigenvalues, all replicas pooled (owned),
                            only with opts.keep_evals and opts.randomize */
    size_t n_rand_evals; /* length of rand_evals (num_evals, x5 when M*rf < 100) */
} wl_layer;

/* A tensor that was not analyzed, and why. */
typedef struct wl_skipped {
    char *name;           /* owned */
    int64_t layer_id;
    int64_t shape[WL_MAX_RANK];
    int rank;
    const char *dtype;    /* static */
    char *reason;         /* owned, human-readable */
    const char *reason_code; /* static stable code: "rank", "min_evals", "max_evals", "max_n",
                                "dtype", "filter", "not_weight", "alias", "unsupported_op" */
    uint64_t n_params;    /* the tensor's element count */
    int is_weight;        /* a weight left unanalyzed (counts against the parameter coverage):
                             unsupported_op, dtype (rank >= 2), rank (default mode), min_evals,
                             max_evals, max_n */
} wl_skipped;

/* Plain means over the analyzed layers, as WeightWatcher's get_summary(): NaN values are left
 * out of a mean, +-inf propagate. */
typedef struct wl_summary {
    double log_norm, alpha, alpha_weighted, log_alpha_norm, log_spectral_norm, stable_rank,
        mp_softrank;
    int has_mp_softrank;
    size_t n_rows; /* rows that entered the means */
} wl_summary;

/* One layer of a sharded model's inventory. */
typedef struct wl_inventory_entry {
    char *id;   /* the layer's stable id (owned) */
    int shard;  /* 0-based shard it is scored in */
} wl_inventory_entry;

typedef struct wl_analysis {
    char *path;       /* model path as given (owned) */
    wl_compat compat;
    wl_layer *layers; /* analyzed layers in graph order (by depth, then input index, then
                         tensor order); tensor order (layer_id) in --compat ww */
    size_t n_layers;
    wl_skipped *skipped;
    size_t n_skipped;
    size_t n_tensors;  /* tensors considered */
    size_t n_failed;   /* layers whose fit failed */
    size_t n_nonfinite;
    uint64_t weight_params;   /* parameters of the weight tensors: analyzed layers plus skipped
                                 tensors with is_weight (aliases and --layers filters excluded) */
    uint64_t analyzed_params; /* of those, in analyzed layers (non-finite ones included) */
    wl_summary summary;
    int fast;          /* computed with the approximate float32 Gram (--fast) */
    int64_t ir_version;
    char *producer; /* producer_name + version (owned, may be "") */
    uint64_t peak_admitted_bytes; /* diagnostics: the most memory the worker pool admitted at
                                     once (src/membudget.h); never written to a report */
    /* Sharded runs (shard_count > 0): this part's place, the SHA-256 of the model's files (hex;
     * an ONNX model's external-data files included, docs/analyze-json.md),
     * and every layer of the whole model in tensor order with the shard it belongs to. layers
     * holds this shard's layers only; skipped and n_tensors stay the whole model's. */
    int shard_index, shard_count;
    char model_sha256[65];
    wl_inventory_entry *inventory; /* owned */
    size_t n_inventory;
    char *blas; /* BLAS the numbers came from, when read back from JSON (owned); NULL = this
                   process's wl_blas_info() */
    char **owned_strs; /* strings read back from JSON that are static in analyzed results */
    size_t n_owned_strs;
} wl_analysis;

/* Analyzes one model file. On success *out is a new analysis (caller frees it with
 * wl_analysis_free). A per-layer problem (non-finite weights, a failed fit) is recorded in the
 * layer, not returned as an error. On failure *out is NULL and err names the file, the tensor
 * and the problem. The model is memory-mapped; peak memory is bounded by the largest tensor. */
WL_NODISCARD wl_status wl_analyze_file(const char *path, const wl_options *opts,
                                       wl_analysis **out, wl_err *err);
void wl_analysis_free(wl_analysis *a);

/* Recomputes a->summary from a->layers. */
void wl_analysis_summarize(wl_analysis *a);

/* ---------------------------------------------------------- result cache */

/* Opens (creating it and its parents if needed) a per-layer result cache in dir. Entries are
 * keyed by the SHA-256 of the matrix each layer scores and of every setting that changes the
 * result, so a hit is bit-identical to a fresh analysis (docs/compare.md, "Result cache").
 * Thread-safe. On success *out is a new handle (caller closes it with wl_cache_close); on
 * failure *out is NULL and err names the directory (WL_E_IO). */
WL_NODISCARD wl_status wl_cache_open(const char *dir, wl_cache **out, wl_err *err);
void wl_cache_close(wl_cache *c);

typedef struct wl_cache_stats {
    uint64_t hits, misses; /* lookups */
    uint64_t stores;       /* entries written */
    uint64_t store_failures; /* entries that could not be written (never an error) */
    uint64_t bad_entries;  /* unreadable or corrupt entries, treated as misses */
} wl_cache_stats;
/* Counters since wl_cache_open; all zero for c == NULL. */
void wl_cache_get_stats(const wl_cache *c, wl_cache_stats *out);

/* ---------------------------------------------------- spectral building blocks */

/* The result of the power-law fit on an ascending eigenvalue array. */
typedef struct wl_plfit {
    int ok;          /* 0 when fewer than 2 eigenvalues exceed the 1e-5 threshold */
    int64_t n_fit;   /* eigenvalues above the 1e-5 threshold (the fitted data) */
    double alpha, D, xmin, xmax, sigma;
    int64_t num_pl_spikes;
    /* how far to trust alpha (docs/metrics.md "Uncertainty of alpha"); NaN when !ok */
    double alpha_se;           /* finite-sample standard error of alpha at the chosen xmin */
    double alpha_lo, alpha_hi; /* range of alpha over the KS-near-optimal xmin candidates */
    int64_t n_near;            /* how many candidates are KS-near-optimal (>= 1 when ok) */
    int no_memory;   /* 1 when the fit's scratch could not be allocated (ok is 0 too): an
                        error for the caller, not a failed fit */
} wl_plfit;

/* Fits a power law to the tail of evals (ascending, n values) exactly as WeightWatcher's
 * default WWFit does: eigenvalues > 1e-5, every one but the largest an xmin candidate, MLE alpha,
 * KS distance on the left empirical CDF, first minimum. Sets out->ok; fails only when out of
 * memory (out->no_memory). */
void wl_plfit_fit(const double *evals, size_t n, wl_plfit *out);

/* Eigenvalues of WᵀW for a row-major rows x cols double matrix (the min(rows,cols) Gram),
 * ascending, clamped at 0, written to evals (min(rows,cols) values). WL_E_NUMERIC when the
 * Gram overflows double precision or dsyevd does not converge. */
WL_NODISCARD wl_status wl_esd_gram(const double *w, size_t rows, size_t cols, double *evals,
                                   wl_err *err);

/* Version string ("0.1.0"). */
const char *wl_version(void);
/* BLAS/LAPACK provenance, e.g. "OpenBLAS 0.3.21 (Haswell, pthreads)". Static string. */
const char *wl_blas_info(void);

#ifdef __cplusplus
}
#endif
#endif /* WEIGHTLINT_H */
