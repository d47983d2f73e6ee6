/*
 * cli.h — the command-line front end: one entry point per subcommand. Only src/cli/ prints
 * and exits; each cli_*_main returns the process exit code (WL_EXIT_* in weightlint.h).
 */
#ifndef WL_CLI_H
#define WL_CLI_H

#include "weightlint.h"

#include <stdint.h>
#include <stdio.h>

int cli_analyze_main(int argc, char **argv);
int cli_check_main(int argc, char **argv);
int cli_compare_main(int argc, char **argv);
int cli_report_main(int argc, char **argv);
int cli_merge_main(int argc, char **argv);

/* The analysis JSON (docs/analyze-json.md): written by analyze and merge, read back by merge,
 * check, compare and report (analysis_in.c). */
#define CLI_ANALYSIS_SCHEMA_VERSION 1
/* Writes the analysis JSON of n_models results; opts (the settings they ran with) is needed
 * only for a sharded run's "shard" block and may be NULL otherwise. */
void cli_write_analysis_json(FILE *out, wl_analysis *const *results, int n_models,
                             const wl_options *opts);

/* Prints "weightlint: error: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit code for an output file that cannot be created, errno e: a usage error (bad path),
 * or WL_EXIT_INTERNAL when e is ENOMEM (out of memory is exit 4). */
int cli_create_fail_exit(int e);
/* Prints "weightlint: warning: <msg>" to stderr. */
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Shared option values (cli_args.c): each prints "weightlint: error: --opt 'x': expected ..."
 * and returns -1 on a bad value, 0 with *out set otherwise. */
/* The width text tables fit: when stdout is a terminal, $COLUMNS if set and sane, else the
 * terminal's (TIOCGWINSZ); otherwise WL_REPORT_DEFAULT_WIDTH, so that piped output and golden
 * files do not depend on the terminal. */
size_t cli_term_width(void);

int cli_parse_seed(const char *arg, uint64_t *out);
int cli_parse_threads(const char *arg, int *out);
int cli_parse_compat(const char *arg, wl_compat *out);
/* Prints the unknown-option error of a command (after getopt_long returned '?') and the
 * pointer to its --help; returns WL_EXIT_USAGE. */
int cli_bad_option(const char *cmd, char **argv);
/* -1 (after printing why) when both --config and --preset were given. */
int cli_config_xor_preset(const char *config, const char *preset);

#endif
