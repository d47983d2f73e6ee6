/*
 * version.c — version and BLAS provenance strings, reported by --version and in JSON output so
 * that numbers can be traced to the library that produced them.
 */
#include "weightlint.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>

#ifndef WL_VERSION
#define WL_VERSION "0.0.0-dev"
#endif

const char *wl_version(void)
{
    return WL_VERSION;
}

/* Made once: openblas_get_config() writes its answer into one static buffer (strcpy, then
 * strcat) on every call, so two workers asking at once could read it half-written, and the
 * cache key that holds it then named one layer twice (tests/unit/test_cache.c). */
static char blas_info[256];
static pthread_once_t blas_info_once = PTHREAD_ONCE_INIT;

static void make_blas_info(void)
{
    snprintf(blas_info, sizeof blas_info, "%s (core %s)", openblas_get_config(),
             openblas_get_corename());
}

const char *wl_blas_info(void)
{
    pthread_once(&blas_info_once, make_blas_info);
    return blas_info;
}
