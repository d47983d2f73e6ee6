/*
 * main.c — weightlint's entry point: dispatches to the subcommands. This directory is the
 * only place in the tree that prints to the terminal or calls exit.
 */
#include "cli.h"
#include "weightlint.h"

#include <stdio.h>
#include <string.h>

typedef int (*cli_cmd_fn)(int argc, char **argv);

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"analyze", cli_analyze_main, "per-layer spectral metrics of one or more models"},
    {"check", cli_check_main, "lint the weights: rules, findings and CI exit codes"},
    {"compare", cli_compare_main, "compare models layer by layer: deltas, regressions, ranking"},
    {"report", cli_report_main, "self-contained HTML report with ESD plots (--compare BASE)"},
    {"merge", cli_merge_main, "join the parts of a sharded analysis (analyze --shard K/N)"},
};

static const char usage_text[] =
    "usage: weightlint <command> [options] MODEL...\n"
    "       weightlint --version | --help\n"
    "\n"
    "Data-free quality linter for ONNX model weights (heavy-tailed random matrix theory).\n"
    "\n"
    "Commands:\n";

static const char exit_text[] =
    "\nExit codes (every command):\n"
    "  0  done; no finding at or above --fail-on\n"
    "  1  findings at or above --fail-on (check, compare)\n"
    "  2  usage error or rules-file error\n"
    "  3  model unreadable, malformed or unsupported\n"
    "  4  numerical, resource or internal failure\n"
    "  5  compare: the models are not comparable (different architectures)\n"
    "\nRun 'weightlint <command> --help' for a command's options.\n";

static void print_usage(FILE *f)
{
    fputs(usage_text, f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs(exit_text, f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return WL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("weightlint %s\n%s\n", wl_version(), wl_blas_info());
        return WL_EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_usage(stdout);
        return WL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'weightlint --help')", cmd);
    return WL_EXIT_USAGE;
}
