/*
 * cache.h — the per-layer result cache behind `--cache DIR` (public entry points wl_cache_open,
 * wl_cache_close, wl_cache_get_stats in weightlint.h).
 *
 * A layer's metrics are a pure function of the matrix that is scored (the widened, dequantized
 * and, for conv kernels, scaled doubles), its dims, WeightWatcher's N/M/rf, the analysis
 * settings and the BLAS build. The key is the SHA-256 of all of them, so an unchanged tensor —
 * the base model of every pull request, the untouched layers of a fine-tune — is never scored
 * twice, while any change of bytes or settings misses. Entries are small text files
 * DIR/<2 hex>/<64 hex>, written to a temporary name and renamed, so concurrent writers (two
 * workers, two CI jobs sharing a cache) never expose a half-written entry. A corrupt or foreign
 * entry is a miss, never an error. docs/compare.md ("Result cache") describes the layout.
 */
#ifndef WL_CACHE_H
#define WL_CACHE_H

#include "weightlint.h"

#include <nettle/sha2.h>

#include <stddef.h>
#include <stdint.h>

#define WL_CACHE_KEY_BYTES SHA256_DIGEST_SIZE
#define WL_CACHE_FORMAT    3           /* bump when the entry layout or key changes (3: "end") */
#define WL_CACHE_MAX_ENTRY (64u << 10) /* an entry is ~1.5 KB of text; larger is corrupt */

/* ---- used by analyze.c ---- */

/* The cache key of one layer: SHA-256 over the cache format, weightlint's version, the BLAS
 * build (its kernels decide the last bits), the settings that change a layer's metrics
 * (compat, mp_fit, fast, randomize and, with randomize, seed and layer_id, which seed the
 * shuffle), l->N, l->M, l->rf, the matrix dims mdims[0..mrank-1] and the n doubles of w (host
 * byte order; the order and the size of a double are hashed too; a rank-4 w is a conv kernel in
 * score.c's slice order, and a tag says so). Reads only. */
void wl_cache_key(const wl_options *opts, const wl_layer *l, const int64_t *mdims, int mrank,
                  const double *w, size_t n, uint8_t key[WL_CACHE_KEY_BYTES]);

/* Looks key up. On a hit fills every computed column of l (status, fit, norms, ranks, MP and
 * randomized columns; warning and phase are derived again) and returns 1; l's identity
 * columns (name, id, shape, node, N, M, rf) are not touched. Returns 0 on a miss, including an
 * unreadable or corrupt entry (counted in bad_entries). Thread-safe. */
int wl_cache_lookup(wl_cache *c, const uint8_t key[WL_CACHE_KEY_BYTES], wl_layer *l);

/* Stores the computed columns of l under key. A failure to write (full disk, read-only
 * directory) is counted in store_failures and otherwise ignored: the cache only saves time.
 * Thread-safe. */
void wl_cache_store(wl_cache *c, const uint8_t key[WL_CACHE_KEY_BYTES], const wl_layer *l);

#endif
