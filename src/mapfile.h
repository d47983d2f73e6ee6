/*
 * mapfile.h — a model file mapped read-only: the one home of opening, checking and mapping the
 * files weightlint reads weights from (ONNX models, safetensors checkpoints and their shards),
 * and of giving their pages back to the kernel once a tensor is consumed (issue #13's memory
 * bound). Formats parse the mapping; they never open files themselves.
 */
#ifndef WL_MAPFILE_H
#define WL_MAPFILE_H

#include "weightlint.h"

#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wl_mapfile {
    char *path;          /* as given (owned) */
    char *dir;           /* its directory, for paths the file names (owned) */
    const uint8_t *data; /* the whole file, read-only */
    size_t size;
} wl_mapfile;

/* Opens and maps path. what names the expected kind, with its article, in messages ("an ONNX
 * model"). Refuses (WL_E_IO / WL_E_FORMAT, the path in the message): a missing or unreadable file,
 * a directory, anything but a regular file, an empty file, and a Git LFS pointer file (with how to
 * fetch the real file). Close with wl_mapfile_close. */
WL_NODISCARD wl_status wl_mapfile_open(const char *path, const char *what, wl_mapfile **out,
                                       wl_err *err);
void wl_mapfile_close(wl_mapfile *m);

/* Tells the kernel the pages of [lo, hi) are no longer needed, rounded outward to pages and
 * clipped to the mapping; a range outside it (a buffer built in memory) is ignored. Rounding
 * outward may drop a page a neighbour still reads: that costs it a minor fault, never a wrong
 * byte, since the mapping is never written. m may be NULL. */
void wl_mapfile_release(const wl_mapfile *m, const void *lo, const void *hi);

/* The same for the whole file (after a pass over its headers). */
void wl_mapfile_release_all(const wl_mapfile *m);

/* The same for a mapping given by its base and length (external-data mappings). */
void wl_map_release_range(const void *base, size_t len, const void *lo, const void *hi);

/* Feeds the whole file to h, WL_MAPFILE_HASH_CHUNK bytes at a time, giving each chunk's pages
 * back once hashed: hashing a model adds at most one chunk to resident memory, whatever its size
 * (issue #13's bound; `analyze --shard` of a 1 GB model otherwise ends with the whole file
 * resident). m may be NULL. */
#define WL_MAPFILE_HASH_CHUNK ((size_t)4 << 20)
void wl_mapfile_hash(const wl_mapfile *m, struct sha256_ctx *h);

/* The directory of path ("." for a bare name, "/" for "/m.onnx"), malloc'd; NULL when out of
 * memory. */
char *wl_path_dir(const char *path);

/* Resolves location (a path a model file names, relative to dir) inside dir, refusing empty
 * and absolute paths, ".." components and symlink escapes: the one containment rule for
 * external data and sharded-checkpoint indexes. what names the path in messages
 * ("external_data location"), folder the folder ("the model's folder"). On success *out is the
 * malloc'd real path. */
WL_NODISCARD wl_status wl_path_contain(const char *dir, const char *location, const char *what,
                                       const char *folder, char **out, wl_err *err);

#endif
