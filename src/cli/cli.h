/*
 * cli.h — the command-line front end: one entry point per subcommand. Only src/cli/ prints
 * and exits; each cli_*_main returns the process exit code (WL_EXIT_* in weightlint.h).
 */
#ifndef WL_CLI_H
#define WL_CLI_H

int cli_analyze_main(int argc, char **argv);
int cli_check_main(int argc, char **argv);
int cli_compare_main(int argc, char **argv);
int cli_report_main(int argc, char **argv);

/* Prints "weightlint: error: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "weightlint: warning: <msg>" to stderr. */
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
