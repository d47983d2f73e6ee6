/*
 * version.c — version and BLAS provenance strings, reported by --version and in JSON output so
 * that numbers can be traced to the library that produced them.
 */
#include "weightlint.h"

#include <cblas.h>
#include <stdio.h>

#ifndef WL_VERSION
#define WL_VERSION "0.0.0-dev"
#endif

const char *wl_version(void)
{
    return WL_VERSION;
}

const char *wl_blas_info(void)
{
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf, "%s (core %s)", openblas_get_config(), openblas_get_corename());
    return buf;
}
