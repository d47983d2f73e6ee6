/*
 * cmd_check.c — `weightlint check MODEL...`: the lint and CI gate. For each model it finds the
 * rules (--config, else .weightlint.yaml searched upward from the model's own folder, else the
 * built-in default preset), analyzes the model with the MP fit on, evaluates the rules
 * (src/rules_eval.c), applies a baseline, writes the report in the chosen format
 * (src/report_*.c) and returns the exit code of the table in `--help`: 0 clean, 1 findings at
 * or above --fail-on, 2 usage or rules error, 3 model unreadable, 4 internal failure.
 */
#include "cli.h"
#include "inputs.h"
#include "phase.h"
#include "report.h"
#include "rules.h"
#include "weightlint.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char check_help[] =
    "usage: weightlint check [options] MODEL...\n"
    "\n"
    "Lint the weights of ONNX models: per-layer spectral diagnostics (under-trained,\n"
    "over-trained, rank collapse, random-like, correlation traps, unreliable fits, NaN/Inf\n"
    "weights) and model-level gates, with CI exit codes and report formats.\n"
    "\n"
    "Rules:\n"
    "  -c, --config FILE       rules file for every model (default: .weightlint.yaml searched\n"
    "                          upward from each model's folder, else the default preset)\n"
    "      --preset NAME       use a built-in preset: default, strict or llm\n"
    "      --print-config      print the effective configuration of each model and exit\n"
    "      --list-rules        list the rules (code, name, default severity) and exit\n"
    "      --explain RULE      explain a rule (code or name): theory, false positives, fixes\n"
    "\n"
    "What is reported and what fails:\n"
    "  -s, --severity LEVEL    report findings of LEVEL or higher: info, warning, error [info]\n"
    "      --fail-on LEVEL     exit 1 when a finding of LEVEL or higher remains       [error]\n"
    "      --exit-zero         exit 0 even with failing findings (errors still exit 2-4)\n"
    "      --max-findings N    show at most N findings (text, markdown)\n"
    "      --baseline FILE     report and fail only on findings not in FILE\n"
    "      --write-baseline FILE  write the current findings to FILE as a baseline; exit 0\n"
    "                          unless a model could not be analyzed\n"
    "\n"
    "Output:\n"
    "  -f, --format FMT        text, json, sarif, github, junit or markdown           [text]\n"
    "  -o, --output FILE       write the --format report to FILE; the terminal gets text\n"
    "                          (without --format, FMT follows FILE's extension: .json,\n"
    "                          .sarif, .xml, .md)\n"
    "      --color WHEN        auto, always or never (auto: on a terminal, unless NO_COLOR)\n"
    "\n"
    "Analysis:\n"
    "      --randomize         shuffled-weights ESD: enables correlation-trap and the\n"
    "                          rand_distance test of random-like (slower)\n"
    "      --dist-test         competing fits of each tail: enables the tail-better-described\n"
    "                          reason of fit-unreliable and the not-heavy-tailed rule\n"
    "      --seed N            seed of the shuffle stream                             [0]\n"
    "      --threads N         worker threads                                         [2]\n"
    "      --compat ww         WeightWatcher 0.7.5.5's layer set (every 2-D/4-D initializer)\n"
    "      --cache DIR         reuse per-layer results from DIR (keyed by the SHA-256 of each\n"
    "                          layer's weights and the settings); created if missing\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit codes:\n"
    "  0  no finding at or above --fail-on (or --exit-zero, --write-baseline)\n"
    "  1  findings at or above --fail-on\n"
    "  2  usage error, or a rules or baseline file with an error (file:line:column)\n"
    "  3  a model is unreadable, malformed or unsupported\n"
    "  4  numerical, resource or internal failure\n"
    "When several apply, the highest wins: a model that could not be judged is never a pass.\n";

enum {
    OPT_PRESET = 256,
    OPT_PRINT_CONFIG,
    OPT_LIST_RULES,
    OPT_EXPLAIN,
    OPT_FAIL_ON,
    OPT_EXIT_ZERO,
    OPT_MAX_FINDINGS,
    OPT_BASELINE,
    OPT_WRITE_BASELINE,
    OPT_COLOR,
    OPT_RANDOMIZE,
    OPT_DIST_TEST,
    OPT_SEED,
    OPT_THREADS,
    OPT_COMPAT,
    OPT_CACHE
};

typedef struct check_opts {
    const char *config, *preset, *explain, *baseline, *write_baseline, *output;
    int print_config, list_rules, exit_zero, randomize, threads, dist_test;
    wl_compat compat;
    int has_format;
    wl_report_format format;
    wl_severity min_severity, fail_on;
    size_t max_findings;
    int color; /* -1 auto, 0 never, 1 always */
    uint64_t seed;
    const char *cache_dir; /* --cache: per-layer result cache */
} check_opts;

static int parse_level(const char *opt, const char *arg, wl_severity *out)
{
    if (wl_severity_parse(arg, out) != 0 || *out == WL_SEV_OFF) {
        cli_error("%s '%s': expected info, warning or error", opt, arg);
        return -1;
    }
    return 0;
}

static const char *scope_name(wl_rule_scope s)
{
    return s == WL_SCOPE_LAYER ? "layer" : s == WL_SCOPE_MODEL ? "model" : "tool";
}

static void list_rules(void)
{
    printf("%-6s %-20s %-8s %-6s %s\n", "code", "name", "default", "scope", "summary");
    for (size_t i = 0; i < WL_RULE_COUNT; i++) {
        const wl_rule_info *ri = wl_rule_info_get((wl_rule_id)i);
        printf("%-6s %-20s %-8s %-6s %s\n", ri->code, ri->name, wl_severity_name(ri->severity),
               scope_name(ri->scope), ri->summary);
    }
    printf("\nRun 'weightlint check --explain RULE' for the theory behind a rule; "
           "docs/rules.md has them all.\n");
}

static int explain(const char *name)
{
    const wl_rule_info *ri = wl_rule_find(name);
    if (!ri) {
        cli_error("--explain '%s': no such rule (see weightlint check --list-rules)", name);
        return WL_EXIT_USAGE;
    }
    printf("%s %s (default severity: %s; scope: %s)\n\n%s\n\n%s\n", ri->code, ri->name,
           wl_severity_name(ri->severity), scope_name(ri->scope), ri->summary, ri->explain);
    if (ri->n_params) {
        printf("\nParameters (in a rules file: rules: {%s: {severity: ..., <param>: <value>}}):\n",
               ri->name);
        for (size_t j = 0; j < ri->n_params; j++) {
            const wl_param_info *p = &ri->params[j];
            char def[64];
            if (p->type == WL_PARAM_SEVERITY)
                snprintf(def, sizeof def, "%s", wl_severity_name((wl_severity)p->def));
            else if (p->type == WL_PARAM_PHASES)
                snprintf(def, sizeof def, "[]");
            else
                snprintf(def, sizeof def, "%g", p->def);
            printf("  %-20s default %-8s %s\n", p->name, def, p->doc);
        }
    }
    return WL_EXIT_OK;
}

static int format_from_extension(const char *path, wl_report_format *out)
{
    static const struct {
        const char *ext;
        wl_report_format fmt;
    } exts[] = {{".json", WL_REPORT_JSON},  {".sarif", WL_REPORT_SARIF},
                {".xml", WL_REPORT_JUNIT},  {".md", WL_REPORT_MARKDOWN},
                {".txt", WL_REPORT_TEXT}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i].ext);
        if (n > e && strcmp(path + n - e, exts[i].ext) == 0) {
            *out = exts[i].fmt;
            return 0;
        }
    }
    return -1;
}

static int use_color(int mode)
{
    if (mode >= 0)
        return mode;
    const char *no = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    if (no && *no)
        return 0;
    if (term && strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO);
}

static int parse_args(int argc, char **argv, check_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
        {"list-rules", no_argument, NULL, OPT_LIST_RULES},
        {"explain", required_argument, NULL, OPT_EXPLAIN},
        {"severity", required_argument, NULL, 's'},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"exit-zero", no_argument, NULL, OPT_EXIT_ZERO},
        {"max-findings", required_argument, NULL, OPT_MAX_FINDINGS},
        {"baseline", required_argument, NULL, OPT_BASELINE},
        {"write-baseline", required_argument, NULL, OPT_WRITE_BASELINE},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"color", required_argument, NULL, OPT_COLOR},
        {"randomize", no_argument, NULL, OPT_RANDOMIZE},
        {"dist-test", no_argument, NULL, OPT_DIST_TEST},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"compat", required_argument, NULL, OPT_COMPAT},
        {"cache", required_argument, NULL, OPT_CACHE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:s:f:o:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_PRINT_CONFIG:
            o->print_config = 1;
            break;
        case OPT_LIST_RULES:
            o->list_rules = 1;
            break;
        case OPT_EXPLAIN:
            o->explain = optarg;
            break;
        case 's':
            if (parse_level("--severity", optarg, &o->min_severity))
                return WL_EXIT_USAGE;
            break;
        case OPT_FAIL_ON:
            if (parse_level("--fail-on", optarg, &o->fail_on))
                return WL_EXIT_USAGE;
            break;
        case OPT_EXIT_ZERO:
            o->exit_zero = 1;
            break;
        case OPT_MAX_FINDINGS: {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || v == 0) {
                cli_error("--max-findings '%s': expected a positive integer", optarg);
                return WL_EXIT_USAGE;
            }
            o->max_findings = (size_t)v;
            break;
        }
        case OPT_BASELINE:
            o->baseline = optarg;
            break;
        case OPT_WRITE_BASELINE:
            o->write_baseline = optarg;
            break;
        case 'f':
            if (wl_report_format_parse(optarg, &o->format) != 0) {
                cli_error("--format '%s': expected text, json, sarif, github, junit or markdown",
                          optarg);
                return WL_EXIT_USAGE;
            }
            o->has_format = 1;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") == 0)
                o->color = -1;
            else if (strcmp(optarg, "always") == 0)
                o->color = 1;
            else if (strcmp(optarg, "never") == 0)
                o->color = 0;
            else {
                cli_error("--color '%s': expected auto, always or never", optarg);
                return WL_EXIT_USAGE;
            }
            break;
        case OPT_RANDOMIZE:
            o->randomize = 1;
            break;
        case OPT_DIST_TEST:
            o->dist_test = 1;
            break;
        case OPT_SEED:
            if (cli_parse_seed(optarg, &o->seed) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(optarg, &o->threads) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_COMPAT:
            if (cli_parse_compat(optarg, &o->compat) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_CACHE:
            o->cache_dir = optarg;
            break;
        case 'h':
            fputs(check_help, stdout);
            return -1;
        default:
            return cli_bad_option("check", argv);
        }
    }
    if (cli_config_xor_preset(o->config, o->preset) != 0)
        return WL_EXIT_USAGE;
    if (o->output && !o->has_format) {
        if (format_from_extension(o->output, &o->format) != 0) {
            cli_error("-o '%s': give --format (no known extension: .json, .sarif, .xml, .md)",
                      o->output);
            return WL_EXIT_USAGE;
        }
        o->has_format = 1;
    }
    return 0;
}

/* Writes the report in fmt to path atomically (temporary file, then rename). */
static int write_file_report(const char *path, wl_report_format fmt, const wl_report *rep)
{
    char tmp[4096];
    wl_err err;
    wl_err_clear(&err);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        cli_error("%s: cannot write: %s", path, strerror(e));
        return cli_create_fail_exit(e);
    }
    wl_status st = wl_report_write(f, fmt, rep, &err);
    if (fclose(f) != 0 && st == WL_OK)
        st = WL_E_IO;
    if (st != WL_OK || rename(tmp, path) != 0) {
        cli_error("%s: cannot write: %s", path, err.msg[0] ? err.msg : strerror(errno));
        remove(tmp);
        return WL_EXIT_INTERNAL;
    }
    return WL_EXIT_OK;
}

/* Writes the baseline atomically (temporary file, then rename), like the reports: a failure
 * leaves the previous baseline, never half of a new one. */
static int write_baseline_file(const char *path, const wl_findings *f)
{
    char tmp[4096];
    wl_err err;
    wl_err_clear(&err);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        int e = errno;
        cli_error("--write-baseline '%s': cannot write: %s", path, strerror(e));
        return cli_create_fail_exit(e);
    }
    wl_status st = wl_baseline_write(f, out, &err);
    if (fclose(out) != 0 || st != WL_OK || rename(tmp, path) != 0) {
        int e = errno;
        cli_error("--write-baseline '%s': %s", path, err.msg[0] ? err.msg : strerror(e));
        remove(tmp);
        return WL_EXIT_INTERNAL;
    }
    return WL_EXIT_OK;
}

int cli_check_main(int argc, char **argv)
{
    check_opts o = {.min_severity = WL_SEV_INFO, .fail_on = WL_SEV_ERROR, .color = -1};
    cli_rules_set cache = {0};
    wl_findings findings = {0};
    wl_baseline *baseline = NULL;
    wl_report_model *models = NULL;
    wl_analysis **analyses = NULL;
    wl_rules **model_rules = NULL;
    wl_cache *results = NULL;
    char **errors = NULL;
    int n_models = 0, rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? WL_EXIT_OK : rc;
    if (o.list_rules) {
        list_rules();
        return WL_EXIT_OK;
    }
    if (o.explain)
        return explain(o.explain);
    n_models = argc - optind;
    if (n_models <= 0 && !o.print_config) {
        cli_error("check: no MODEL given (usage: weightlint check [options] MODEL...)");
        return WL_EXIT_USAGE;
    }

    /* 1. the configuration of every model, before any analysis: a rules error is exit 2 */
    if (n_models <= 0) {
        /* --print-config alone: the configuration a model in this folder would get */
        wl_rules *r = cli_rules_for(&cache, o.config, o.preset, "./model.onnx", &rc);
        if (r)
            wl_rules_write_yaml(r, stdout);
        goto out;
    }
    models = calloc((size_t)n_models, sizeof *models);
    analyses = calloc((size_t)n_models, sizeof *analyses);
    model_rules = calloc((size_t)n_models, sizeof *model_rules);
    errors = calloc((size_t)n_models, sizeof *errors);
    if (!models || !analyses || !model_rules || !errors) {
        cli_error("out of memory");
        rc = WL_EXIT_INTERNAL;
        goto out;
    }
    for (int m = 0; m < n_models; m++) {
        model_rules[m] = cli_rules_for(&cache, o.config, o.preset, argv[optind + m], &rc);
        if (!model_rules[m])
            goto out;
    }
    if (o.print_config) {
        for (int m = 0; m < n_models; m++) {
            printf("%s# model: %s\n", m ? "---\n" : "", argv[optind + m]);
            wl_rules_write_yaml(model_rules[m], stdout);
        }
        goto out;
    }
    if (o.baseline) {
        wl_err err;
        wl_err_clear(&err);
        if (wl_baseline_load(o.baseline, &baseline, &err) != WL_OK) {
            cli_error("--baseline: %s", err.msg);
            rc = err.code == WL_E_NOMEM ? WL_EXIT_INTERNAL : WL_EXIT_USAGE;
            goto out;
        }
    }

    /* 2. analysis and rules, model by model; an unreadable model does not stop the others */
    wl_options opts;
    wl_options_init(&opts, o.compat);
    opts.mp_fit = 1;
    opts.randomize = o.randomize;
    opts.dist_test = o.dist_test;
    opts.seed = o.seed;
    if (o.threads)
        opts.threads = o.threads;
    if (o.cache_dir) {
        wl_err err;
        wl_err_clear(&err);
        if (wl_cache_open(o.cache_dir, &results, &err) != WL_OK) {
            cli_error("--cache: %s", err.msg);
            rc = err.code == WL_E_NOMEM ? WL_EXIT_INTERNAL : WL_EXIT_USAGE;
            goto out;
        }
        opts.cache = results;
    }
    int worst = WL_EXIT_OK;
    for (int m = 0; m < n_models; m++) {
        const char *path = argv[optind + m];
        wl_err err;
        wl_err_clear(&err);
        models[m].path = path;
        models[m].config = model_rules[m]->source;
        wl_status st = cli_input_load(path, &opts, &analyses[m], &err);
        if (st != WL_OK) {
            cli_error("%s", err.msg);
            errors[m] = strdup(err.msg);
            models[m].status = st;
            models[m].error = errors[m] ? errors[m] : "analysis failed";
            int code = wl_status_exit_code(st);
            if (code > worst)
                worst = code;
            continue;
        }
        wl_analysis *a = analyses[m];
        models[m].path = a->path; /* an analysis JSON's findings point at its model */
        for (size_t i = 0; i < a->n_layers; i++)
            if (!a->layers[i].phase)
                a->layers[i].phase = wl_phase_classify(&a->layers[i]);
        models[m].analysis = a;
        if (wl_rules_eval(model_rules[m], a, &findings, &err) != WL_OK) {
            cli_error("%s: %s", path, err.msg);
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
    }
    for (size_t i = 0; i < cache.n; i++) {
        wl_err err;
        wl_err_clear(&err);
        if (wl_rules_unused(cache.rules[i], &findings, &err) != WL_OK) {
            cli_error("%s", err.msg);
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
    }
    wl_baseline_apply(baseline, &findings);

    /* 3. exit code, then the reports */
    wl_report rep = {
        .models = models,
        .n_models = (size_t)n_models,
        .findings = &findings,
        .min_severity = o.min_severity,
        .fail_on = o.fail_on,
        .max_findings = o.max_findings,
        .has_baseline = baseline != NULL,
    };
    wl_report_counts counts;
    wl_report_count(&rep, &counts);
    rc = worst;
    if (rc == WL_EXIT_OK && counts.failing && !o.exit_zero && !o.write_baseline)
        rc = WL_EXIT_FINDINGS;
    if (o.write_baseline) {
        int wrc = write_baseline_file(o.write_baseline, &findings);
        if (wrc > rc)
            rc = wrc;
    }
    rep.exit_code = rc;
    wl_report_format term_fmt = o.output ? WL_REPORT_TEXT : o.format;
    if (o.output) {
        int frc = write_file_report(o.output, o.format, &rep);
        if (frc > rc)
            rc = frc;
    }
    rep.color = term_fmt == WL_REPORT_TEXT && use_color(o.color);
    {
        wl_err err;
        wl_err_clear(&err);
        if (wl_report_write(stdout, term_fmt, &rep, &err) != WL_OK) {
            cli_error("standard output: %s", err.msg);
            rc = WL_EXIT_INTERNAL;
        }
    }

out:
    for (int m = 0; analyses && m < n_models; m++)
        wl_analysis_free(analyses[m]);
    for (int m = 0; errors && m < n_models; m++)
        free(errors[m]);
    free(errors);
    free(analyses);
    free(models);
    free(model_rules);
    wl_findings_clear(&findings);
    wl_baseline_free(baseline);
    cli_rules_set_free(&cache);
    wl_cache_close(results);
    return rc;
}
