/*
 * cmd_compare.c — `weightlint compare BASE CANDIDATE [CANDIDATE...]`: analyzes the models
 * (reusing per-layer results from --cache DIR), compares every candidate with the base layer by
 * layer (src/compare.c), ranks several candidates by alpha-hat, writes the report
 * (src/compare_report.c) and returns the exit code of `--help`: 0 done, 1 a regression with
 * --fail-on-regression, 2 usage or rules error, 3 a model unreadable, 4 internal failure, 5 not
 * comparable (different architectures). docs/compare.md is the user documentation.
 */
#include "cli.h"
#include "inputs.h"
#include "compare.h"
#include "phase.h"
#include "rules.h"
#include "weightlint.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char compare_help[] =
    "usage: weightlint compare [options] BASE CANDIDATE [CANDIDATE...]\n"
    "\n"
    "Compare the weights of models layer by layer: alpha, alpha_weighted, log norms, phase and\n"
    "fit of every layer, base against candidate, changed rows first; a verdict per candidate;\n"
    "with several candidates, a ranking by alpha_weighted with the per-layer evidence. Layers\n"
    "are matched by id, then by graph position and shape.\n"
    "\n"
    "Gate and rules:\n"
    "      --fail-on-regression  exit 1 when a candidate regressed (per the compare: section\n"
    "                          of the rules file: alpha leaving [2, 6], a phase moving towards\n"
    "                          random-like or rank-collapse, a fit becoming unreliable, NaN/Inf\n"
    "                          weights appearing; optional tolerances per metric)\n"
    "  -c, --config FILE       rules file (default: .weightlint.yaml searched upward from the\n"
    "                          first candidate's folder, else the built-in defaults)\n"
    "      --preset NAME       use a built-in preset: default, strict or llm\n"
    "\n"
    "Output:\n"
    "  -f, --format FMT        text, markdown, json or github (annotations)          [text]\n"
    "  -o, --output FILE       write the --format report to FILE; the terminal gets text\n"
    "                          (without --format, FMT follows FILE's extension: .json, .md)\n"
    "      --all               list unchanged rows too (text, markdown)\n"
    "      --max-rows N        at most N rows per table (text, markdown)             [all]\n"
    "      --base-label NAME   call the base NAME in the reports (e.g. main:model.onnx when\n"
    "                          it was extracted from git to a temporary file)\n"
    "\n"
    "Analysis:\n"
    "      --cache DIR         reuse per-layer results from DIR (keyed by the SHA-256 of each\n"
    "                          layer's weights and the settings); created if missing\n"
    "      --threads N         worker threads                                         [2]\n"
    "      --compat ww         WeightWatcher 0.7.5.5's layer set (every 2-D/4-D initializer)\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit codes:\n"
    "  0  compared (regressions are reported but do not fail without --fail-on-regression)\n"
    "  1  a candidate regressed (--fail-on-regression)\n"
    "  2  usage error, or a rules file with an error\n"
    "  3  a model is unreadable, malformed or unsupported\n"
    "  4  numerical, resource or internal failure\n"
    "  5  not comparable: a candidate does not share enough layers with the base\n"
    "When several apply, the highest wins: models that could not be compared are never a pass.\n";

enum {
    OPT_PRESET = 256,
    OPT_FAIL_ON_REGRESSION,
    OPT_ALL,
    OPT_MAX_ROWS,
    OPT_CACHE,
    OPT_THREADS,
    OPT_COMPAT,
    OPT_BASE_LABEL
};

typedef struct compare_opts {
    const char *config, *preset, *output, *cache, *base_label;
    int fail_on_regression, show_all, threads, has_format;
    size_t max_rows;
    wl_cmp_format format;
    wl_compat compat;
} compare_opts;

static int format_from_extension(const char *path, wl_cmp_format *out)
{
    static const struct {
        const char *ext;
        wl_cmp_format fmt;
    } exts[] = {{".json", WL_CMP_FORMAT_JSON},
                {".md", WL_CMP_FORMAT_MARKDOWN},
                {".txt", WL_CMP_FORMAT_TEXT}};
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

/* Returns 0 to go on, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, compare_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"fail-on-regression", no_argument, NULL, OPT_FAIL_ON_REGRESSION},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"all", no_argument, NULL, OPT_ALL},
        {"max-rows", required_argument, NULL, OPT_MAX_ROWS},
        {"cache", required_argument, NULL, OPT_CACHE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"compat", required_argument, NULL, OPT_COMPAT},
        {"base-label", required_argument, NULL, OPT_BASE_LABEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:f:o:h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_FAIL_ON_REGRESSION:
            o->fail_on_regression = 1;
            break;
        case 'f':
            if (wl_cmp_format_parse(optarg, &o->format) != 0) {
                cli_error("--format '%s': expected text, markdown, json or github", optarg);
                return WL_EXIT_USAGE;
            }
            o->has_format = 1;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_ALL:
            o->show_all = 1;
            break;
        case OPT_MAX_ROWS: {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || v == 0) {
                cli_error("--max-rows '%s': expected a positive integer", optarg);
                return WL_EXIT_USAGE;
            }
            o->max_rows = (size_t)v;
            break;
        }
        case OPT_CACHE:
            o->cache = optarg;
            break;
        case OPT_THREADS:
            if (cli_parse_threads(optarg, &o->threads) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_COMPAT:
            if (cli_parse_compat(optarg, &o->compat) != 0)
                return WL_EXIT_USAGE;
            break;
        case OPT_BASE_LABEL:
            o->base_label = optarg;
            break;
        case 'h':
            fputs(compare_help, stdout);
            return -1;
        default:
            return cli_bad_option("compare", argv);
        }
    }
    if (cli_config_xor_preset(o->config, o->preset) != 0)
        return WL_EXIT_USAGE;
    if (o->output && !o->has_format) {
        if (format_from_extension(o->output, &o->format) != 0) {
            cli_error("-o '%s': give --format (no known extension: .json, .md)", o->output);
            return WL_EXIT_USAGE;
        }
        o->has_format = 1;
    }
    if (argc - optind < 2) {
        cli_error("compare: need a BASE and at least one CANDIDATE model (usage: weightlint "
                  "compare [options] BASE CANDIDATE...)");
        return WL_EXIT_USAGE;
    }
    return 0;
}

static int write_report_file(const char *path, wl_cmp_format fmt, const wl_compare_report *rep)
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
    wl_status st = wl_compare_write(f, fmt, rep, &err);
    if (fclose(f) != 0 && st == WL_OK)
        st = WL_E_IO;
    if (st != WL_OK || rename(tmp, path) != 0) {
        cli_error("%s: cannot write: %s", path, err.msg[0] ? err.msg : strerror(errno));
        remove(tmp);
        return WL_EXIT_INTERNAL;
    }
    return WL_EXIT_OK;
}

int cli_compare_main(int argc, char **argv)
{
    compare_opts o = {.format = WL_CMP_FORMAT_TEXT};
    cli_rules_set rules_set = {.builtin_fallback = 1};
    wl_rules *rules = NULL;
    wl_cache *cache = NULL;
    wl_analysis **models = NULL;
    wl_comparison **cmps = NULL;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? WL_EXIT_OK : rc;
    size_t n_models = (size_t)(argc - optind);
    char **paths = argv + optind;

    /* 1. the gate's configuration first: a rules error is exit 2 before any analysis */
    wl_compare_cfg cfg;
    wl_err err;
    wl_err_clear(&err);
    if ((rules = cli_rules_for(&rules_set, o.config, o.preset, paths[1], &rc)) == NULL)
        goto out;
    if (wl_compare_cfg_from_rules(rules, &cfg, &err) != WL_OK) {
        cli_error("%s", err.msg);
        rc = WL_EXIT_USAGE;
        goto out;
    }
    if (o.cache && wl_cache_open(o.cache, &cache, &err) != WL_OK) {
        cli_error("--cache: %s", err.msg);
        rc = err.code == WL_E_NOMEM ? WL_EXIT_INTERNAL : WL_EXIT_USAGE;
        goto out;
    }

    /* 2. every model; one that cannot be read ends the run (nothing to compare it with) */
    models = calloc(n_models, sizeof *models);
    cmps = calloc(n_models, sizeof *cmps);
    if (!models || !cmps) {
        cli_error("out of memory");
        rc = WL_EXIT_INTERNAL;
        goto out;
    }
    wl_options opts;
    wl_options_init(&opts, o.compat);
    opts.mp_fit = 1; /* the phases need the MP fit, in --compat ww too */
    opts.cache = cache;
    if (o.threads)
        opts.threads = o.threads;
    for (size_t m = 0; m < n_models; m++) {
        wl_err_clear(&err);
        wl_status st = cli_input_load(paths[m], &opts, &models[m], &err);
        if (st != WL_OK) {
            cli_error("%s", err.msg);
            int code = wl_status_exit_code(st);
            if (code > rc)
                rc = code;
            continue;
        }
        for (size_t i = 0; i < models[m]->n_layers; i++)
            if (!models[m]->layers[i].phase)
                models[m]->layers[i].phase = wl_phase_classify(&models[m]->layers[i]);
    }
    if (rc != 0)
        goto out;
    if (o.base_label) {
        char *label = strdup(o.base_label);
        if (!label) {
            cli_error("out of memory");
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
        free(models[0]->path);
        models[0]->path = label;
    }
    if (cache) {
        wl_cache_stats cs;
        wl_cache_get_stats(cache, &cs);
        fprintf(stderr, "weightlint: cache %s: %llu layers reused, %llu analyzed%s\n", o.cache,
                (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                cs.store_failures ? " (some results could not be stored)" : "");
    }

    /* 3. the comparisons and the exit code */
    int worst = WL_EXIT_OK;
    for (size_t m = 1; m < n_models; m++) {
        wl_err_clear(&err);
        if (wl_compare_new(models[0], models[m], &cfg, &cmps[m - 1], &err) != WL_OK) {
            cli_error("%s", err.msg);
            rc = WL_EXIT_INTERNAL;
            goto out;
        }
        int code = WL_EXIT_OK;
        if (cmps[m - 1]->verdict == WL_VERDICT_NOT_COMPARABLE)
            code = WL_EXIT_NOT_COMPARABLE;
        else if (cmps[m - 1]->verdict == WL_VERDICT_REGRESSED && o.fail_on_regression)
            code = WL_EXIT_FINDINGS;
        if (code > worst)
            worst = code;
    }
    rc = worst;

    /* 4. the reports */
    wl_compare_report rep = {
        .models = (const wl_analysis *const *)models,
        .n_models = n_models,
        .comparisons = cmps,
        .config = rules->source,
        .cfg = &cfg,
        .fail_on_regression = o.fail_on_regression,
        .show_all = o.show_all,
        .max_rows = o.max_rows,
        .width = cli_term_width(),
        .exit_code = rc,
    };
    if (o.output) {
        int frc = write_report_file(o.output, o.format, &rep);
        if (frc > rc)
            rc = frc;
    }
    wl_err_clear(&err);
    if (wl_compare_write(stdout, o.output ? WL_CMP_FORMAT_TEXT : o.format, &rep, &err) != WL_OK) {
        cli_error("standard output: %s", err.msg);
        rc = WL_EXIT_INTERNAL;
    }

out:
    for (size_t m = 0; cmps && m + 1 < n_models; m++)
        wl_comparison_free(cmps[m]);
    for (size_t m = 0; models && m < n_models; m++)
        wl_analysis_free(models[m]);
    free(cmps);
    free(models);
    wl_cache_close(cache);
    cli_rules_set_free(&rules_set);
    return rc;
}
