/*
 * fuzz_cache.c — libFuzzer entry for the result-cache entry reader (src/cache.c). A cache
 * folder is often restored from CI storage that other jobs (and other pull requests) wrote,
 * so an entry is untrusted text. Each input is written as the entry of a fixed key in a
 * private cache folder and looked up with wl_cache_lookup into a layer; a corrupt entry must
 * be a miss (counted in bad_entries), a hit must fill a layer that the rules and the reports
 * can use: it is evaluated with the default rules and written with every report format.
 * Any outcome is fine; a crash, a sanitizer report or a leak is a bug.
 */
#include "cache.h"
#include "report.h"
#include "rules.h"
#include "weightlint.h"

#include "fuzz_common.h"

#include <sys/stat.h>

static wl_cache *cache;
static const char *entry;
static uint8_t key[WL_CACHE_KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_cache");
    for (int i = 0; i < WL_CACHE_KEY_BYTES; i++)
        key[i] = (uint8_t)(0xa0 + i);
    wl_err err;
    wl_err_clear(&err);
    if (wl_cache_open(fuzz_dir, &cache, &err) != WL_OK)
        abort();
    /* entry path: DIR/<2 hex>/<64 hex> (cache.h) */
    char sub[4200], name[200];
    snprintf(sub, sizeof sub, "%s/a0", fuzz_dir);
    if (mkdir(sub, 0700) != 0)
        abort();
    fuzz_register_dir(sub);
    int n = snprintf(name, sizeof name, "a0/");
    for (int i = 0; i < WL_CACHE_KEY_BYTES; i++)
        n += snprintf(name + n, sizeof name - (size_t)n, "%02x", key[i]);
    entry = fuzz_path(name);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(entry, data, size);
    wl_layer l;
    memset(&l, 0, sizeof l);
    char name[] = "fc1.weight";
    l.name = name;
    l.id = name;
    l.shape[0] = 64;
    l.shape[1] = 32;
    l.rank = 2;
    l.dtype = "FLOAT";
    l.layer_type = "dense";
    l.N = 64;
    l.M = 32;
    l.rf = 1;
    l.Q = 2;
    if (!wl_cache_lookup(cache, key, &l))
        return 0;
    /* A hit is trusted from here on: everything downstream of analyze must cope with it. */
    wl_analysis a;
    memset(&a, 0, sizeof a);
    char path[] = "m.onnx", producer[] = "";
    a.path = path;
    a.producer = producer;
    a.layers = &l;
    a.n_layers = 1;
    a.n_tensors = 1;
    wl_analysis_summarize(&a);
    fuzz_lint(&a);
    return 0;
}
