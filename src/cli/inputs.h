/*
 * inputs.h — rules and input resolution shared by check, compare and report (inputs.c).
 */
#ifndef WL_CLI_INPUTS_H
#define WL_CLI_INPUTS_H

#include "rules.h"
#include "weightlint.h"

/* The rulesets loaded so far, one per source ("preset:<name>" or a file path): models that find
 * the same configuration share it. Zero-initialise; release with cli_rules_set_free. */
typedef struct cli_rules_set {
    char **keys;
    wl_rules **rules;
    size_t n;
    int builtin_fallback; /* no rules file found: wl_rules_new_default ("built-in defaults",
                             compare's wording) instead of the default preset (check, report) */
} cli_rules_set;

/* The rules for model, in the documented order: config (--config), else preset (--preset),
 * else the .weightlint.yaml found upward from model's folder (for an analysis JSON: the
 * folder of the model it names), else the default preset. The
 * ruleset belongs to set. NULL after printing the error, with *rc set: 2 for a rules error, 4
 * for a resource failure (or a discovered file that cannot be read). */
wl_rules *cli_rules_for(cli_rules_set *set, const char *config, const char *preset,
                        const char *model, int *rc);
void cli_rules_set_free(cli_rules_set *set);

/* Loads one input: an analysis JSON (recognised by content, one model, not a shard part) is
 * read back as written, otherwise the file is analyzed with opts. *out is the caller's (free
 * with wl_analysis_free). On failure err->msg names the file and the problem. */
wl_status cli_input_load(const char *path, const wl_options *opts, wl_analysis **out,
                         wl_err *err);

#endif
