/*
 * cmd_report.c — `weightlint report MODEL [--compare BASE] [--config FILE] -o report.html`:
 * analyzes the model (and the base) with the eigenvalues kept, evaluates the same rules as
 * `weightlint check` would (--config, else .weightlint.yaml found upward from the model's
 * folder, else the default preset), and writes the self-contained HTML page of
 * src/report_html.c. The file is written atomically: a temporary file in the same folder,
 * flushed to disk, then renamed over the target, so a reader (a CI artifact upload, a browser
 * that reloads) never sees half a report. Exit codes: 0 written (findings do not fail a report:
 * `check` is the gate), 2 usage or rules error, 3 a model is unreadable, 4 internal or write
 * failure.
 */
#include "analysis_in.h"
#include "cli.h"
#include "inputs.h"
#include "plot_svg.h"
#include "report_html.h"
#include "rules.h"
#include "weightlint.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char report_help[] =
    "usage: weightlint report MODEL [--compare BASE] [--config FILE] -o report.html\n"
    "\n"
    "Write a self-contained HTML report of one model (viewable offline): summary, coverage,\n"
    "findings with their explanations, a sortable layer table, alpha and alpha-hat per layer\n"
    "in depth order, and each layer's eigenvalue spectrum (log-log with the power-law fit,\n"
    "linear with the Marchenko-Pastur fit). Findings never fail a report: use 'check' to gate.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   the HTML file to write ('-' for standard output)       [required]\n"
    "      --compare BASE  also analyze BASE and show its plots beside MODEL's, on the same\n"
    "                      axes, with base alpha and its change in the table and chart\n"
    "  -c, --config FILE   rules file (default: .weightlint.yaml searched upward from\n"
    "                      MODEL's folder, else the default preset); BASE uses the same rules\n"
    "      --preset NAME   use a built-in preset: default, strict or llm\n"
    "      --fail-on LEVEL the verdict line's threshold: info, warning, error        [error]\n"
    "      --svg-dir DIR   also write each layer's two plots as standalone SVG files to DIR\n"
    "                      (NNN-<name>.loglog.svg, NNN-<name>.linear.svg)\n"
    "      --randomize     overlay the ESD of the shuffled weights (slower)\n"
    "      --dist-test     draw the competing fits (TPL, exponential, ...) over each tail\n"
    "      --seed N        seed of the shuffle stream                             [0]\n"
    "      --threads N     worker threads                                         [2]\n"
    "      --compat ww     WeightWatcher 0.7.5.5's layer set (MP fit still on)\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit codes: 0 report written, 2 usage or rules-file error (or an output path that cannot\n"
    "be created), 3 a model is unreadable, malformed or unsupported, 4 numerical, resource,\n"
    "internal or write failure.\n";

enum {
    OPT_COMPARE = 256,
    OPT_PRESET,
    OPT_FAIL_ON,
    OPT_SVG_DIR,
    OPT_RANDOMIZE,
    OPT_DIST_TEST,
    OPT_SEED,
    OPT_THREADS,
    OPT_COMPAT
};

typedef struct report_opts {
    const char *model, *base, *config, *preset, *output, *svg_dir;
    wl_severity fail_on;
    int randomize, threads, dist_test;
    uint64_t seed;
    wl_compat compat;
} report_opts;

static int parse_args(int argc, char **argv, report_opts *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"compare", required_argument, NULL, OPT_COMPARE},
        {"config", required_argument, NULL, 'c'},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"svg-dir", required_argument, NULL, OPT_SVG_DIR},
        {"randomize", no_argument, NULL, OPT_RANDOMIZE},
        {"dist-test", no_argument, NULL, OPT_DIST_TEST},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"compat", required_argument, NULL, OPT_COMPAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->output = optarg;
            break;
        case OPT_COMPARE:
            o->base = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_FAIL_ON:
            if (wl_severity_parse(optarg, &o->fail_on) != 0 || o->fail_on == WL_SEV_OFF) {
                cli_error("--fail-on '%s': expected info, warning or error", optarg);
                return WL_EXIT_USAGE;
            }
            break;
        case OPT_SVG_DIR:
            o->svg_dir = optarg;
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
        case 'h':
            fputs(report_help, stdout);
            return -1;
        default:
            return cli_bad_option("report", argv);
        }
    }
    if (argc - optind != 1) {
        cli_error("report: expected exactly one MODEL, got %d (usage: weightlint report MODEL "
                  "[--compare BASE] -o report.html)",
                  argc - optind);
        return WL_EXIT_USAGE;
    }
    o->model = argv[optind];
    if (!o->output) {
        cli_error("report: -o FILE is required (the HTML file to write; '-' for standard "
                  "output)");
        return WL_EXIT_USAGE;
    }
    if (cli_config_xor_preset(o->config, o->preset) != 0)
        return WL_EXIT_USAGE;
    return 0;
}

/* Analyzes path and evaluates r on it. Prints the error and returns its exit code. */
static int analyze_one(const char *path, const wl_options *opts, wl_rules *r, wl_analysis **a,
                       wl_findings *fs)
{
    wl_err err;
    wl_err_clear(&err);
    if (cli_analysis_sniff(path))
        cli_warning("%s: an analysis JSON holds no eigenvalues: the report has no ESD plots "
                    "(give the model for them)",
                    path);
    wl_status st = cli_input_load(path, opts, a, &err);
    if (st == WL_OK)
        st = wl_rules_eval(r, *a, fs, &err);
    if (st != WL_OK) {
        cli_error("%s", err.msg);
        return wl_status_exit_code(st);
    }
    return WL_EXIT_OK;
}

/* Writes the page to path through a temporary file in the same folder and rename(2). */
static int write_atomic(const char *path, const wl_html_report *rep)
{
    wl_err err;
    wl_err_clear(&err);
    if (strcmp(path, "-") == 0) {
        if (wl_report_html_write(stdout, rep, &err) != WL_OK) {
            cli_error("standard output: %s", err.msg);
            return WL_EXIT_INTERNAL;
        }
        return WL_EXIT_OK;
    }
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        cli_error("out of memory");
        return WL_EXIT_INTERNAL;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) { /* as check's -o: a path that cannot be created is a usage error */
        int e = errno;
        cli_error("%s: cannot write: %s", path, strerror(e));
        free(tmp);
        return cli_create_fail_exit(e);
    }
    /* mkstemp creates 0600; a report is an ordinary file, so honour the umask as fopen would */
    mode_t mask = umask(0);
    umask(mask);
    int rc = WL_EXIT_OK;
    FILE *f = NULL;
    if (fchmod(fd, 0666 & ~mask) != 0 || (f = fdopen(fd, "w")) == NULL) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        rc = WL_EXIT_INTERNAL;
        goto out;
    }
    wl_status st = wl_report_html_write(f, rep, &err);
    int saved = errno;
    if (st == WL_OK && fsync(fileno(f)) != 0) {
        st = WL_E_IO;
        saved = errno;
    }
    if (fclose(f) != 0 && st == WL_OK) {
        st = WL_E_IO;
        saved = errno;
    }
    if (st == WL_OK && rename(tmp, path) != 0) {
        st = WL_E_IO;
        saved = errno;
    }
    if (st != WL_OK) {
        cli_error("%s: cannot write: %s", path, err.msg[0] ? err.msg : strerror(saved));
        rc = WL_EXIT_INTERNAL;
    }
out:
    if (rc != WL_EXIT_OK)
        remove(tmp);
    free(tmp);
    return rc;
}

/* A file name for layer i: NNN-<name with anything but [A-Za-z0-9._-] as '_'>, at most 80
 * bytes of the name, so that a model cannot choose a path. */
static void svg_name(char *buf, size_t size, size_t i, const char *name, const char *kind)
{
    char safe[81];
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n < sizeof safe - 1; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        safe[n++] = (char)(ok ? c : '_');
    }
    safe[n] = '\0';
    if (n > 0 && safe[0] == '.')
        safe[0] = '_';
    snprintf(buf, size, "%03zu-%s.%s.svg", i, safe, kind);
}

static int write_svgs(const char *dir, const wl_analysis *a)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_error("--svg-dir '%s': %s", dir, strerror(errno));
        return WL_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->n_layers; i++) {
        for (int k = 0; k < 2; k++) {
            char name[128], path[4096];
            svg_name(name, sizeof name, i, a->layers[i].name, k ? "linear" : "loglog");
            snprintf(path, sizeof path, "%s/%s", dir, name);
            FILE *f = fopen(path, "w");
            if (!f) {
                cli_error("%s: cannot write: %s", path, strerror(errno));
                return WL_EXIT_INTERNAL;
            }
            wl_err err;
            wl_err_clear(&err);
            fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
            wl_status st =
                wl_plot_esd_svg(f, &a->layers[i], k ? WL_PLOT_LINEAR : WL_PLOT_LOGLOG, NULL, &err);
            if (fclose(f) != 0 && st == WL_OK)
                st = WL_E_IO;
            if (st != WL_OK) {
                cli_error("%s: cannot write: %s", path, err.msg[0] ? err.msg : strerror(errno));
                return WL_EXIT_INTERNAL;
            }
        }
    }
    return WL_EXIT_OK;
}

int cli_report_main(int argc, char **argv)
{
    report_opts o = {.fail_on = WL_SEV_ERROR};
    cli_rules_set rules_set = {0};
    wl_rules *rules = NULL;
    const char *source = NULL;
    wl_analysis *a = NULL, *b = NULL;
    wl_findings fa = {0}, fb = {0};
    wl_comparison *cmp = NULL;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? WL_EXIT_OK : rc;
    rules = cli_rules_for(&rules_set, o.config, o.preset, o.model, &rc);
    if (rules == NULL)
        goto out;
    source = rules->source ? rules->source : "";

    wl_options opts;
    wl_options_init(&opts, o.compat);
    opts.mp_fit = 1; /* the phases and the linear plot need it */
    opts.keep_evals = 1;
    opts.randomize = o.randomize;
    opts.dist_test = o.dist_test;
    opts.seed = o.seed;
    if (o.threads)
        opts.threads = o.threads;
    rc = analyze_one(o.model, &opts, rules, &a, &fa);
    if (rc == WL_EXIT_OK && o.base)
        rc = analyze_one(o.base, &opts, rules, &b, &fb);
    if (rc != WL_EXIT_OK)
        goto out;

    if (b) { /* the layers are paired exactly as `weightlint compare` pairs them */
        wl_compare_cfg cfg;
        wl_err err;
        wl_err_clear(&err);
        if (wl_compare_cfg_from_rules(rules, &cfg, &err) != WL_OK ||
            wl_compare_new(b, a, &cfg, &cmp, &err) != WL_OK) {
            cli_error("%s", err.msg);
            rc = wl_status_exit_code(err.code);
            goto out;
        }
    }
    /* the model paths the analyses name: an analysis JSON's, not the JSON file's */
    wl_html_model base = {b ? b->path : o.base, source, b, &fb};
    wl_html_report rep = {
        .model = {a->path, source, a, &fa},
        .base = o.base ? &base : NULL,
        .fail_on = o.fail_on,
        .cmp = cmp,
    };
    rc = write_atomic(o.output, &rep);
    if (rc == WL_EXIT_OK && o.svg_dir)
        rc = write_svgs(o.svg_dir, a);

out:
    wl_comparison_free(cmp);
    wl_findings_clear(&fa);
    wl_findings_clear(&fb);
    wl_analysis_free(a);
    wl_analysis_free(b);
    cli_rules_set_free(&rules_set);
    return rc;
}
