/*
 * rules.h — the lint rules: a table of rules with stable codes (WL0xx tool, WL1xx per layer,
 * WL2xx per model), a YAML rules file loader (libyaml; every error carries file:line:column),
 * built-in presets (rules/<name>.yaml compiled into the binary), and the evaluation of a ruleset
 * over one wl_analysis into findings. docs/rules.md documents every rule and threshold.
 *
 * Ownership: wl_rules objects come from wl_rules_load_* and are released with wl_rules_free;
 * findings are appended to a caller-owned wl_findings list released with wl_findings_clear.
 */
#ifndef WL_RULES_H
#define WL_RULES_H

#include "weightlint.h"

#include <stdio.h>

/* ---------------------------------------------------------------- severities */

typedef enum wl_severity {
    WL_SEV_OFF = 0, /* rule disabled */
    WL_SEV_INFO,    /* worth knowing; never fails a build by default */
    WL_SEV_WARNING, /* likely a problem */
    WL_SEV_ERROR    /* a defect: fails the default gate (--fail-on error) */
} wl_severity;

/* "off", "info", "warning", "error". */
const char *wl_severity_name(wl_severity s);
/* Parses the names above; returns 0 and sets *out, or -1 when s is none of them. */
int wl_severity_parse(const char *s, wl_severity *out);

/* ---------------------------------------------------------------- rule table */

typedef enum wl_rule_id {
    WL_RULE_UNUSED_SUPPRESSION = 0, /* WL001 */
    WL_RULE_UNDER_TRAINED,          /* WL101 */
    WL_RULE_OVER_TRAINED,           /* WL102 */
    WL_RULE_RANK_COLLAPSE,          /* WL103 */
    WL_RULE_RANDOM_LIKE,            /* WL104 */
    WL_RULE_CORRELATION_TRAP,       /* WL105 */
    WL_RULE_FIT_UNRELIABLE,         /* WL106 */
    WL_RULE_NONFINITE,              /* WL107 */
    WL_RULE_SPURIOUS_ALPHA,         /* WL108 */
    WL_RULE_PHASE,                  /* WL109 */
    WL_RULE_NOT_HEAVY_TAILED,       /* WL110 */
    WL_RULE_ALPHA_WEIGHTED,         /* WL201 */
    WL_RULE_FLAGGED_SHARE,          /* WL202 */
    WL_RULE_NO_LAYERS,              /* WL203 */
    WL_RULE_UNANALYZED,             /* WL204 */
    WL_RULE_COUNT
} wl_rule_id;

typedef enum wl_rule_scope {
    WL_SCOPE_TOOL,  /* about the configuration or the run */
    WL_SCOPE_LAYER, /* one analyzed tensor */
    WL_SCOPE_MODEL  /* the whole model */
} wl_rule_scope;

typedef enum wl_param_type {
    WL_PARAM_NUMBER,   /* any finite number */
    WL_PARAM_SHARE,    /* a number in [0, 1] */
    WL_PARAM_COUNT,    /* a non-negative integer */
    WL_PARAM_PHASES,   /* a list of phase names, stored as a bit mask (bit i = wl_phase_names()[i]) */
    WL_PARAM_SEVERITY  /* a severity name, stored as its wl_severity value */
} wl_param_type;

#define WL_RULE_MAX_PARAMS 4

typedef struct wl_param_info {
    const char *name;   /* YAML key */
    wl_param_type type;
    double def;         /* built-in default (also what rules/default.yaml sets) */
    const char *doc;    /* one line */
} wl_param_info;

typedef struct wl_rule_info {
    wl_rule_id id;
    const char *code;         /* stable: "WL101" */
    const char *name;         /* stable: "under-trained" */
    wl_rule_scope scope;
    wl_severity severity;     /* built-in default severity */
    const char *summary;      /* one line, for --list-rules and SARIF shortDescription */
    const char *explain;      /* --explain: theory, typical false positives, what to do */
    size_t n_params;
    wl_param_info params[WL_RULE_MAX_PARAMS];
} wl_rule_info;

/* The rule table, indexed by wl_rule_id (n = WL_RULE_COUNT). Static, never NULL. */
const wl_rule_info *wl_rule_info_get(wl_rule_id id);
/* Looks a rule up by code ("WL101", case-insensitive) or name ("under-trained"); NULL if none. */
const wl_rule_info *wl_rule_find(const char *code_or_name);

/* ---------------------------------------------------------------- rulesets */

/* One rule's effective setting. */
typedef struct wl_rule_cfg {
    wl_severity severity;
    double param[WL_RULE_MAX_PARAMS]; /* in the order of wl_rule_info.params */
} wl_rule_cfg;

/* A partial setting from an `overrides:` entry: only the fields it names. */
typedef struct wl_rule_patch {
    wl_rule_id rule;
    int has_severity;
    wl_severity severity;
    unsigned param_mask; /* bit i: param[i] is set */
    double param[WL_RULE_MAX_PARAMS];
} wl_rule_patch;

/* Where a configuration entry came from, for messages and WL001. */
typedef struct wl_rules_origin {
    char *file;        /* rules file path, or "preset:<name>" (owned) */
    int line, column;  /* 1-based */
    int is_preset;     /* from a built-in preset: never reported as unused */
} wl_rules_origin;

typedef struct wl_rules_override {
    char **globs;      /* fnmatch(3) patterns on the tensor name or the layer id (owned) */
    size_t n_globs;
    wl_rule_patch *patches;
    size_t n_patches;
    wl_rules_origin origin;
    size_t n_hits;     /* layers matched so far (wl_rules_eval) */
} wl_rules_override;

typedef struct wl_rules_ignore {
    char **globs;      /* tensor-name patterns; none = every layer and the model-level rules */
    size_t n_globs;
    uint32_t rule_mask; /* bit per wl_rule_id; 0 = every rule */
    char *reason;      /* required, non-empty (owned) */
    wl_rules_origin origin;
    size_t n_hits;     /* findings suppressed so far */
    size_t n_matched;  /* layers its globs matched so far */
} wl_rules_ignore;

/* The `compare:` section, the regression gate of `weightlint compare`: stored here as
 * flattened scalar key paths ("layer.alpha_range[0]", "model.alpha_weighted.tolerance") and
 * their values, validated and interpreted by wl_compare_cfg_from_rules (src/compare.c). */
typedef struct wl_rules_kv {
    char *key, *value; /* owned */
    int line, column;  /* 1-based position of the value in compare_file */
} wl_rules_kv;

typedef struct wl_rules {
    char *source;     /* the file or preset the ruleset was loaded from (owned) */
    char *chain;      /* "a.yaml -> preset:strict -> preset:default" (owned) */
    wl_rule_cfg cfg[WL_RULE_COUNT];
    wl_rules_override *overrides;
    size_t n_overrides;
    wl_rules_ignore *ignores;
    size_t n_ignores;
    int has_compare;
    wl_rules_kv *compare;
    size_t n_compare;
    char *compare_file; /* the file the compare: section came from (owned), NULL if none */
} wl_rules;

/* The built-in presets ("default", "strict", "llm"): their YAML text, generated at build time
 * from rules/<name>.yaml (tools/gen_rules_presets.sh). */
typedef struct wl_rules_preset_src {
    const char *name;
    const char *text;
} wl_rules_preset_src;
extern const wl_rules_preset_src wl_rules_preset_srcs[];
extern const size_t wl_rules_n_preset_srcs;

/* Loads a rules file. A file without `extends:` starts from the built-in defaults (the values
 * of rules/default.yaml). On success *out is a new ruleset (caller frees with wl_rules_free).
 * On failure *out is NULL and err (WL_E_RULES, or WL_E_IO for an unreadable file) reads
 * "path:line:column: what was found (what was expected)". */
WL_NODISCARD wl_status wl_rules_load_file(const char *path, wl_rules **out, wl_err *err);
/* Loads a built-in preset by name; WL_E_USAGE if there is no such preset. */
WL_NODISCARD wl_status wl_rules_load_preset(const char *name, wl_rules **out, wl_err *err);
/* Loads rules from YAML text in memory; `name` is used in messages and resolves a relative
 * `extends:` path (from its directory). */
WL_NODISCARD wl_status wl_rules_load_string(const char *text, size_t len, const char *name,
                                            wl_rules **out, wl_err *err);
/* A ruleset with the built-in defaults and nothing else. */
WL_NODISCARD wl_status wl_rules_new_default(wl_rules **out, wl_err *err);
void wl_rules_free(wl_rules *r);

/* The effective setting of one rule for one tensor: the global setting with every matching
 * `overrides:` entry applied in file order. layer may be NULL (model-level). */
void wl_rules_effective(const wl_rules *r, const char *layer, wl_rule_id id, wl_rule_cfg *out);

/* Writes the effective configuration as YAML (a valid rules file) to f. */
void wl_rules_write_yaml(const wl_rules *r, FILE *f);

/* Searches `.weightlint.yaml` in the directory of model_path and upward to the root. On
 * success *out is a new string (caller frees) with the path found, or NULL when there is
 * none. Fails only on allocation or when the directory cannot be resolved (WL_E_IO). */
WL_NODISCARD wl_status wl_rules_discover(const char *model_path, char **out, wl_err *err);

/* ---------------------------------------------------------------- findings */

typedef struct wl_finding {
    wl_rule_id rule;
    const char *code;       /* static, from the rule table */
    const char *name;       /* static */
    wl_severity severity;   /* after overrides */
    char *model;            /* model path as given; for WL001 the rules file (owned) */
    char *layer;            /* tensor name; NULL for model- and tool-level findings (owned) */
    char *id;               /* the layer's stable unique id (wl_layer.id; differs from the
                               tensor name for RNN gates and subgraph tensors), NULL when no
                               layer (owned) */
    int64_t layer_id;       /* initializer index; -1 when no layer */
    char *node, *op;        /* consuming node name and op type; NULL when unknown (owned) */
    const char *phase;      /* static, NULL when not classified */
    const char *layer_type; /* static, NULL when no layer */
    /* The fit behind the finding (NaN when no layer): */
    int has_fit;
    double alpha, D, xmin;
    int64_t num_pl_spikes;  /* tail size; -1 for a failed fit */
    int64_t num_evals;
    /* The rule-specific measurement: metric <cmp> threshold fired the rule. */
    const char *metric;     /* static: "alpha", "zero_share", ... */
    double value;
    const char *cmp;        /* static: ">", "<", ">=", "<=", "==" */
    double threshold;
    char *message;          /* one line, human-readable (owned) */
    int line, column;       /* position in the rules file (WL001), else 0 */
    const char *suppressed; /* the ignore entry's reason when suppressed (borrowed from the
                               ruleset: valid until wl_rules_free), else NULL */
    int is_baselined;       /* matched the --baseline file */
} wl_finding;

typedef struct wl_findings {
    wl_finding *items;
    size_t n, cap;
} wl_findings;

void wl_findings_clear(wl_findings *f);

/* Evaluates r over one analysis and appends its findings to out (per-layer findings in layer
 * order, then model-level ones). Suppressed findings are appended too, with `suppressed` set.
 * Updates the hit counters of r's overrides and ignores (for wl_rules_unused). Fails only
 * with WL_E_NOMEM. */
WL_NODISCARD wl_status wl_rules_eval(wl_rules *r, const wl_analysis *a, wl_findings *out,
                                     wl_err *err);

/* Appends a WL001 finding for each user-written `ignore:`/`overrides:` entry of r that matched
 * nothing in the models evaluated so far. */
WL_NODISCARD wl_status wl_rules_unused(const wl_rules *r, wl_findings *out, wl_err *err);

/* A stable fingerprint of a finding: 16 hex digits of FNV-1a 64 over model path, layer id
 * (the tensor name when there is no id) and rule code (what SARIF partialFingerprints and the
 * baseline match on). buf >= 17 bytes. */
void wl_finding_fingerprint(const wl_finding *f, char buf[17]);

/* ---------------------------------------------------------------- baselines */

/* A baseline file: one line per accepted finding, "<fingerprint>\t<code>\t<model>\t<layer>",
 * after a "# weightlint baseline 1" header. */
typedef struct wl_baseline {
    char (*fingerprints)[17];
    size_t n;
} wl_baseline;

WL_NODISCARD wl_status wl_baseline_load(const char *path, wl_baseline **out, wl_err *err);
void wl_baseline_free(wl_baseline *b);
/* Marks every finding of f whose fingerprint is in b (is_baselined = 1); returns the count. */
size_t wl_baseline_apply(const wl_baseline *b, wl_findings *f);
/* Writes the non-suppressed findings of f as a baseline file to out. */
WL_NODISCARD wl_status wl_baseline_write(const wl_findings *f, FILE *out, wl_err *err);

#endif
