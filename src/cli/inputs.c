/*
 * inputs.c — the one home of what check, compare and report each resolved with their own copy
 * (issue #13): which rules a model gets (--config, --preset, .weightlint.yaml found upward from
 * the model's folder, else the built-in defaults), and what an input path is: an ONNX model to
 * analyze, or an analysis JSON (`analyze --format json`, `merge`) to read back, recognised by
 * its content, so the gate and the report re-run in milliseconds with other rules.
 */
#include "inputs.h"

#include "analysis_in.h"
#include "cli.h"
#include "rules.h"
#include "wl_err.h"

#include <stdlib.h>
#include <string.h>

void cli_rules_set_free(cli_rules_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->keys[i]);
        wl_rules_free(set->rules[i]);
    }
    free(set->keys);
    free(set->rules);
    memset(set, 0, sizeof *set);
}

/* The ruleset for key ("preset:<name>" or a path), loaded on first use. */
static wl_rules *set_get(cli_rules_set *set, const char *key, int explicit_file, int *rc)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->keys[i], key) == 0)
            return set->rules[i];
    wl_err err;
    wl_err_clear(&err);
    wl_rules *r = NULL;
    int is_preset = strncmp(key, "preset:", 7) == 0, is_builtin = strcmp(key, "builtin:") == 0;
    wl_status st = is_builtin  ? wl_rules_new_default(&r, &err)
                   : is_preset ? wl_rules_load_preset(key + 7, &r, &err)
                               : wl_rules_load_file(key, &r, &err);
    if (st != WL_OK) {
        cli_error("%s", err.msg);
        /* a rules file we found ourselves that cannot be read is not the user's usage error */
        *rc = st == WL_E_NOMEM || (st == WL_E_IO && !explicit_file && !is_preset && !is_builtin)
                  ? WL_EXIT_INTERNAL
                  : WL_EXIT_USAGE;
        return NULL;
    }
    char **keys = realloc(set->keys, (set->n + 1) * sizeof *keys);
    if (keys != NULL)
        set->keys = keys;
    wl_rules **rules = keys ? realloc(set->rules, (set->n + 1) * sizeof *rules) : NULL;
    if (rules != NULL)
        set->rules = rules;
    char *k = strdup(key);
    if (keys == NULL || rules == NULL || k == NULL) {
        free(k);
        wl_rules_free(r);
        cli_error("out of memory");
        *rc = WL_EXIT_INTERNAL;
        return NULL;
    }
    set->keys[set->n] = k;
    set->rules[set->n] = r;
    set->n++;
    return r;
}

wl_rules *cli_rules_for(cli_rules_set *set, const char *config, const char *preset,
                        const char *model, int *rc)
{
    char key[64];
    if (config)
        return set_get(set, config, 1, rc);
    if (preset) {
        snprintf(key, sizeof key, "preset:%.50s", preset);
        return set_get(set, key, 0, rc);
    }
    wl_err err;
    wl_err_clear(&err);
    char *found = NULL;
    /* An analysis gets the rules of the model it names, wherever the JSON file lies. */
    char *named = cli_analysis_sniff(model) ? cli_analysis_model_path(model) : NULL;
    wl_status st = wl_rules_discover(named ? named : model, &found, &err);
    free(named);
    if (st != WL_OK) {
        cli_error("%s", err.msg);
        *rc = WL_EXIT_INTERNAL;
        return NULL;
    }
    if (!found) /* compare names these "built-in defaults", check and report the preset */
        return set_get(set, set->builtin_fallback ? "builtin:" : "preset:default", 0, rc);
    wl_rules *r = set_get(set, found, 0, rc);
    free(found);
    return r;
}

/* An analysis read back carries the settings it was made with; say when they differ from
 * the ones asked for (the rules then judge what the analysis holds). */
static void warn_settings(const char *path, const wl_analysis *a, const wl_options *opts)
{
    if (opts->compat != a->compat)
        cli_warning("%s: an analysis made in %s mode: --compat does not apply to it", path,
                    a->compat == WL_COMPAT_WW ? "--compat ww" : "the default");
    int has_rand = 0, has_mp = 0;
    for (size_t i = 0; i < a->n_layers; i++) {
        has_rand |= a->layers[i].has_rand;
        has_mp |= a->layers[i].has_mp;
    }
    if (opts->mp_fit && !has_mp && a->n_layers > a->n_nonfinite)
        cli_warning("%s: an analysis made without the Marchenko-Pastur fit: its phases and MP "
                    "rules cannot run (re-run analyze with --mp-fit)",
                    path);
    if (opts->randomize && !has_rand && a->n_layers > 0)
        cli_warning("%s: an analysis made without --randomize: re-run analyze --randomize for "
                    "the randomized columns",
                    path);
}

wl_status cli_input_load(const char *path, const wl_options *opts, wl_analysis **out,
                         wl_err *err)
{
    *out = NULL;
    if (!cli_analysis_sniff(path))
        return wl_analyze_file(path, opts, out, err);
    cli_analysis_doc doc;
    wl_status st = cli_analysis_read(path, &doc, err);
    if (st != WL_OK)
        return st;
    st = WL_OK;
    if (doc.n_models != 1) {
        st = WL_FAIL(err, WL_E_FORMAT, "%s: an analysis of %d models: give one model's", path,
                     doc.n_models);
    } else if (doc.models[0]->shard_count > 0) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "%s: shard %d of %d of an analysis: join the parts with weightlint merge "
                     "first",
                     path, doc.models[0]->shard_index, doc.models[0]->shard_count);
    } else {
        warn_settings(path, doc.models[0], opts);
        *out = doc.models[0];
        doc.models[0] = NULL;
    }
    cli_analysis_doc_free(&doc);
    return st;
}
