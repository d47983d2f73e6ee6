/*
 * wl_err.c — status names, exit-code mapping and the wl_err record (see wl_err.h).
 */
#include "wl_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int exit_code;
} status_table[] = {
    [WL_OK] = {"ok", WL_EXIT_OK},
    [WL_E_USAGE] = {"usage", WL_EXIT_USAGE},
    [WL_E_IO] = {"io", WL_EXIT_MODEL},
    [WL_E_FORMAT] = {"format", WL_EXIT_MODEL},
    [WL_E_RULES] = {"rules", WL_EXIT_USAGE},
    [WL_E_LIMIT] = {"limit", WL_EXIT_MODEL},
    [WL_E_NUMERIC] = {"numeric", WL_EXIT_INTERNAL},
    [WL_E_NOMEM] = {"nomem", WL_EXIT_INTERNAL},
    [WL_E_INTERNAL] = {"internal", WL_EXIT_INTERNAL},
};

const char *wl_status_name(wl_status s)
{
    if ((unsigned)s >= sizeof status_table / sizeof status_table[0])
        return "unknown";
    return status_table[s].name;
}

int wl_status_exit_code(wl_status s)
{
    if ((unsigned)s >= sizeof status_table / sizeof status_table[0])
        return WL_EXIT_INTERNAL;
    return status_table[s].exit_code;
}

wl_status wl_errno_status(int e, wl_status otherwise)
{
    return e == ENOMEM ? WL_E_NOMEM : otherwise;
}

void wl_err_clear(wl_err *err)
{
    memset(err, 0, sizeof *err);
}

wl_status wl_err_set(wl_err *err, wl_status code, const char *file, int line, const char *fmt,
                     ...)
{
    if (err == NULL)
        return code;
    if (err->code != WL_OK)
        return err->code;
    err->code = code;
    err->sys_errno = (code == WL_E_IO) ? errno : 0;
    err->src_file = file;
    err->src_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void wl_err_wrap(wl_err *err, const char *fmt, ...)
{
    if (err == NULL || err->code == WL_OK)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the message right and put "prefix: " in front, truncating at the end. */
    size_t plen = strlen(prefix), mlen = strlen(err->msg), cap = sizeof err->msg - 1;
    if (plen + 2 > cap)
        plen = cap - 2;
    size_t keep = mlen + plen + 2 > cap ? cap - plen - 2 : mlen;
    memmove(err->msg + plen + 2, err->msg, keep);
    memcpy(err->msg, prefix, plen);
    err->msg[plen] = ':';
    err->msg[plen + 1] = ' ';
    err->msg[plen + 2 + keep] = '\0';
}
