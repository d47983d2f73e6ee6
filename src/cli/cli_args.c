/*
 * cli_args.c — option values shared by several commands (--seed, --threads, --compat), the
 * unknown-option message, and the --config/--preset exclusion. Each parser prints the error
 * and returns nonzero, so every command rejects bad values with the same words. Also the
 * error and warning printers every command uses (here, not in main.c, so that the fuzz targets can
 * link the CLI's readers without its entry point).
 */
#include "cli.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cli_parse_seed(const char *arg, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || end == arg || arg[0] == '-') {
        cli_error("--seed '%s': expected a non-negative integer", arg);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_threads(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || end == arg || v < 1 || v > 16) {
        cli_error("--threads '%s': expected an integer from 1 to 16", arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_compat(const char *arg, wl_compat *out)
{
    if (strcmp(arg, "ww") == 0)
        *out = WL_COMPAT_WW;
    else if (strcmp(arg, "none") == 0)
        *out = WL_COMPAT_NONE;
    else {
        cli_error("--compat '%s': expected ww or none", arg);
        return -1;
    }
    return 0;
}

int cli_bad_option(const char *cmd, char **argv)
{
    if (optopt && optopt < 256)
        cli_error("%s: option '-%c' is unknown or needs a value", cmd, optopt);
    else
        cli_error("%s: unknown option or missing value: '%s'", cmd, argv[optind - 1]);
    fprintf(stderr, "Run 'weightlint %s --help' for the options.\n", cmd);
    return WL_EXIT_USAGE;
}

int cli_config_xor_preset(const char *config, const char *preset)
{
    if (config == NULL || preset == NULL)
        return 0;
    cli_error("--config and --preset cannot be combined (a rules file can say 'extends: %s')",
              preset);
    return -1;
}

size_t cli_term_width(void)
{
    if (!isatty(STDOUT_FILENO))
        return WL_REPORT_DEFAULT_WIDTH;
    const char *env = getenv("COLUMNS");
    char *end;
    long v = env ? strtol(env, &end, 10) : 0;
    if (env && *env && *end == '\0' && v >= 40 && v <= 10000)
        return (size_t)v;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return WL_REPORT_DEFAULT_WIDTH;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("weightlint: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_create_fail_exit(int e)
{
    return e == ENOMEM ? WL_EXIT_INTERNAL : WL_EXIT_USAGE;
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("weightlint: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
