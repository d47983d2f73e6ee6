/*
 * fuzz_safetensors.c — libFuzzer entry for the safetensors reader (src/safetensors.c): the 8-byte
 * header length, the JSON header (jansson), dtypes, shapes, offsets, and the sharded-checkpoint
 * index. A checkpoint comes from a pull request or a model hub, so every byte is untrusted.
 *
 * Each input is written twice into a private temporary folder: as model.safetensors, opened
 * alone; and as st/model-00001-of-00001.safetensors, the one shard of a fixed
 * st/model.safetensors.index.json that lists tensors "a" and "b" (what tiny.safetensors of
 * tests/gen/mksafetensors.py holds), opened by the index's path and by its folder's (the latter
 * with a 64-byte tensor size limit, so the limit's refusal, WL_E_LIMIT, is reached). On success
 * the header's promises are checked: every tensor in its shard's mapping, its byte length that
 * of its dtype and shape, the shard's buffer covered in order without gap or overlap, names
 * unique, __metadata__ valid JSON, and every tensor of at most FUZZ_MAX_ELEMS values widens to
 * double. On failure: no checkpoint, a message, and WL_E_FORMAT, WL_E_IO or WL_E_NOMEM. A broken
 * promise aborts; a crash, a sanitizer report or a leak is a bug. tests/fuzz/README.md.
 */
#include "dtype.h"
#include "mapfile.h"
#include "safetensors.h"
#include "weightlint.h"

#include "fuzz_common.h"

#include <jansson.h>
#include <sys/stat.h>

/* Widening work per tensor and per input (elements): keeps each run in milliseconds. */
#define FUZZ_MAX_ELEMS       ((uint64_t)1 << 20)
#define FUZZ_MAX_TOTAL_ELEMS ((uint64_t)4 << 20)
/* The tensor size limit of the folder open: tiny.safetensors's tensors (16 bytes) pass. */
#define FUZZ_LIMIT_BYTES ((uint64_t)64)

static const char *single_path;
static const char *shard_path;
static const char *index_path;
static char shard_dir[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_make_dir("fuzz_safetensors");
    single_path = fuzz_path("model.safetensors");
    snprintf(shard_dir, sizeof shard_dir, "%s/st", fuzz_dir);
    if (mkdir(shard_dir, 0700) != 0)
        abort();
    fuzz_register_dir(shard_dir);
    shard_path = fuzz_path("st/model-00001-of-00001.safetensors");
    index_path = fuzz_path("st/model.safetensors.index.json");
    static const char index[] = "{\"metadata\": {\"total_size\": 32}, \"weight_map\": {"
                                "\"a\": \"model-00001-of-00001.safetensors\", "
                                "\"b\": \"model-00001-of-00001.safetensors\"}}\n";
    fuzz_write(index_path, (const uint8_t *)index, sizeof index - 1);
    return 0;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The shard a tensor's map is, or -1. */
static long shard_of(const wl_st_checkpoint *c, const wl_mapfile *m)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (c->files[i] == m)
            return (long)i;
    return -1;
}

/* Where the byte buffer of a mapped file starts: 8 + N (N checked by the reader). */
static const uint8_t *buffer_start(const wl_mapfile *m)
{
    if (m->size < 8)
        abort();
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | m->data[i];
    if (n > m->size - 8)
        abort();
    return m->data + 8 + n;
}

static void check_checkpoint(const wl_st_checkpoint *c, const char *path, uint64_t max_bytes)
{
    if (c->path == NULL || strcmp(c->path, path) != 0 || c->n_files == 0 || c->files == NULL ||
        c->metadata == NULL || (c->n > 0 && c->tensors == NULL))
        abort();
    if (c->metadata[0] != '\0') {
        json_t *j = json_loads(c->metadata, 0, NULL);
        if (j == NULL || !json_is_object(j))
            abort();
        json_decref(j);
    }
    /* Shard by shard, each shard's tensors in offset order, covering its buffer exactly. */
    const uint8_t *next = NULL;
    long cur = -1;
    uint64_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        const wl_tensor *t = &c->tensors[i];
        long s = shard_of(c, t->map);
        if (t->name == NULL || t->map == NULL || s < 0 || s < cur || t->rank < 0 ||
            t->rank > WL_MAX_RANK)
            abort();
        if (s != cur) {
            if (cur >= 0 && next != c->files[cur]->data + c->files[cur]->size)
                abort(); /* the previous shard's buffer is not covered to its end */
            for (long k = cur + 1; k < s; k++) /* a shard without tensors has an empty buffer */
                if (buffer_start(c->files[k]) != c->files[k]->data + c->files[k]->size)
                    abort();
            cur = s;
            next = buffer_start(t->map);
        }
        uint64_t n = 1;
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0 || t->dims[d] > WL_MAX_DIM)
                abort();
            if (t->dims[d] != 0 && n > UINT64_MAX / (uint64_t)t->dims[d])
                abort();
            n *= (uint64_t)t->dims[d];
        }
        const wl_dtype_info *dt = wl_dtype_get(t->data_type);
        if (n != t->n_elems || dt == NULL || dt->elem_bits == 0 ||
            wl_dtype_bytes(dt, t->n_elems) != t->raw_len ||
            (max_bytes > 0 && t->raw_len > max_bytes) ||
            strcmp(wl_st_dtype_name(t->data_type), "?") == 0)
            abort();
        const uint8_t *lo = t->map->data, *hi = t->map->data + t->map->size;
        if (t->raw_len > 0 || t->raw != NULL) {
            if (t->raw == NULL || t->raw < lo || t->raw > hi || t->raw_len > (size_t)(hi - t->raw))
                abort();
            if (t->raw != next)
                abort(); /* a gap or an overlap before this tensor */
            next = t->raw + t->raw_len;
        }
        if (t->n_elems == 0 || t->n_elems > FUZZ_MAX_ELEMS ||
            total + t->n_elems > FUZZ_MAX_TOTAL_ELEMS)
            continue;
        total += t->n_elems;
        double *v = malloc((size_t)t->n_elems * sizeof *v);
        if (v == NULL)
            abort();
        wl_err err;
        wl_err_clear(&err);
        if (wl_tensor_to_double(t, v, &err) != WL_OK)
            abort();
        free(v);
    }
    if (cur >= 0 && next != c->files[cur]->data + c->files[cur]->size)
        abort();
    for (size_t k = (size_t)(cur + 1); k < c->n_files; k++)
        if (buffer_start(c->files[k]) != c->files[k]->data + c->files[k]->size)
            abort();
    /* Names are unique across the checkpoint. */
    char **names = malloc((c->n ? c->n : 1) * sizeof *names);
    if (names == NULL)
        abort();
    for (size_t i = 0; i < c->n; i++)
        names[i] = c->tensors[i].name;
    qsort(names, c->n, sizeof *names, cmp_name);
    for (size_t i = 1; i < c->n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            abort();
    free(names);
}

/* Opens path with the tensor size limit max_bytes (0: none), which may add WL_E_LIMIT. */
static void open_one(const char *path, uint64_t max_bytes)
{
    wl_st_checkpoint *c = NULL;
    wl_err err;
    wl_err_clear(&err);
    wl_status st = wl_st_open(path, max_bytes, &c, &err);
    if (st == WL_OK) {
        if (c == NULL)
            abort();
        check_checkpoint(c, path, max_bytes);
    } else if (c != NULL || err.msg[0] == '\0' || err.code != st ||
               (st != WL_E_FORMAT && st != WL_E_IO && st != WL_E_NOMEM &&
                !(st == WL_E_LIMIT && max_bytes > 0))) {
        abort();
    }
    wl_st_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write(single_path, data, size);
    open_one(single_path, 0);
    fuzz_write(shard_path, data, size);
    open_one(index_path, 0);
    open_one(shard_dir, FUZZ_LIMIT_BYTES);
    return 0;
}
