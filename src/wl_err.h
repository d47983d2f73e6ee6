/*
 * wl_err.h — internal error helpers: raise with the detection site, wrap with context.
 * The first error wins (curl's Curl_failf): once err->code != WL_OK nothing overwrites it,
 * except wl_err_wrap, which only prefixes the existing message.
 */
#ifndef WL_ERR_H
#define WL_ERR_H

#include "weightlint.h"

/* Records code and message unless an error is already set; returns the recorded code. */
wl_status wl_err_set(wl_err *err, wl_status code, const char *file, int line, const char *fmt,
                     ...) WL_PRINTF(5, 6);
/* Prefixes the current message with "context: " (no-op when err is WL_OK). */
void wl_err_wrap(wl_err *err, const char *fmt, ...) WL_PRINTF(2, 3);

/* The status of a system call that failed with errno e: WL_E_NOMEM when e is ENOMEM (fopen and
 * friends allocate; out of memory is a resource failure, exit 4, whatever was being opened),
 * else `otherwise`. */
wl_status wl_errno_status(int e, wl_status otherwise);

#define WL_FAIL(err, code, ...) wl_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

#endif
