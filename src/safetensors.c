/*
 * safetensors.c — safetensors checkpoints as tensor lists (see safetensors.h). The header is
 * parsed by jansson (duplicate keys and invalid UTF-8 refused by the parser itself); every
 * number is checked here before it is used to point into the mapping.
 */
#include "safetensors.h"

#include "dtype.h"
#include "wl_err.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INDEX_NAME "model.safetensors.index.json"

static const struct {
    const char *name;
    int64_t onnx;
} st_dtypes[] = {
    {"F64", 11},     {"F32", 1},  {"F16", 10}, {"BF16", 16}, {"F8_E4M3", 17},
    {"F8_E5M2", 19}, {"I8", 3},   {"U8", 2},   {"I16", 5},   {"U16", 4},
    {"I32", 6},      {"U32", 12}, {"I64", 7},  {"U64", 13},  {"BOOL", 9},
};

const char *wl_st_dtype_name(int64_t onnx_type)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (st_dtypes[i].onnx == onnx_type)
            return st_dtypes[i].name;
    return "?";
}

static int64_t dtype_code(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return st_dtypes[i].onnx;
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The .safetensors files of a folder, sorted by name (caller frees each and the array). */
static wl_status list_shards(const char *dir, char ***out, size_t *n_out, wl_err *err)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return WL_FAIL(err, WL_E_IO, "%s: cannot list the folder", dir);
    char **v = NULL;
    size_t n = 0, cap = 0;
    wl_status st = WL_OK;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!ends_with(e->d_name, ".safetensors"))
            continue;
        if (n == cap) {
            size_t c = cap ? 2 * cap : 8;
            char **nv = realloc(v, c * sizeof *nv);
            if (nv == NULL) {
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = c;
        }
        if ((v[n] = strdup(e->d_name)) == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (st != WL_OK) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return st;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    *n_out = n;
    return WL_OK;
}

int wl_st_is_checkpoint_path(const char *path)
{
    if (ends_with(path, ".safetensors") || ends_with(path, ".safetensors.index.json"))
        return 1;
    if (!is_dir(path))
        return 0;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", path, INDEX_NAME);
    struct stat sb;
    if (stat(buf, &sb) == 0)
        return 1;
    char **names;
    size_t n;
    wl_err scratch;
    wl_err_clear(&scratch);
    if (list_shards(path, &names, &n, &scratch) != WL_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return n > 0;
}

/* A tensor entry while the header is checked: its offsets inside the data buffer. */
typedef struct entry {
    wl_tensor t;
    uint64_t begin, end;
} entry;

static int cmp_begin(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

static int get_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* One tensor's header entry into e (name owned by e->t). Offsets are checked by the caller. */
static wl_status read_entry(const char *path, const char *name, const json_t *v, uint64_t max_bytes,
                            entry *e, wl_err *err)
{
    memset(e, 0, sizeof *e);
    if (!json_is_object(v))
        return WL_FAIL(err, WL_E_FORMAT, "%s: tensor '%s': entry is not a JSON object", path, name);
    const char *dt = json_string_value(json_object_get(v, "dtype"));
    const json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
    if (dt == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s: tensor '%s': 'dtype' is missing or not a string",
                       path, name);
    int64_t code = dtype_code(dt);
    if (code < 0)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: tensor '%s': unknown dtype '%s' (known: F64 F32 F16 BF16 F8_E4M3 "
                       "F8_E5M2 I8 U8 I16 U16 I32 U32 I64 U64 BOOL)",
                       path, name, dt);
    if (!json_is_array(shape))
        return WL_FAIL(err, WL_E_FORMAT, "%s: tensor '%s': 'shape' is missing or not a list", path,
                       name);
    size_t rank = json_array_size(shape);
    if (rank > WL_MAX_RANK)
        return WL_FAIL(err, WL_E_FORMAT, "%s: tensor '%s': rank %zu exceeds the limit of %d", path,
                       name, rank, WL_MAX_RANK);
    uint64_t n = 1;
    int has_zero = 0; /* a zero dim makes the count 0, however large the others */
    for (size_t i = 0; i < rank; i++) {
        uint64_t d;
        if (!get_u64(json_array_get(shape, i), &d) || d > (uint64_t)WL_MAX_DIM)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s: tensor '%s': shape[%zu] is not an integer in [0, %lld]", path, name,
                           i, (long long)WL_MAX_DIM);
        e->t.dims[i] = (int64_t)d;
        has_zero |= d == 0;
    }
    for (size_t i = 0; i < rank && !has_zero; i++) {
        uint64_t d = (uint64_t)e->t.dims[i];
        if (n > UINT64_MAX / 64 / d)
            return WL_FAIL(err, WL_E_FORMAT,
                           "%s: tensor '%s': the shape's element count "
                           "overflows",
                           path, name);
        n *= d;
    }
    if (has_zero)
        n = 0;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !get_u64(json_array_get(offs, 0), &e->begin) ||
        !get_u64(json_array_get(offs, 1), &e->end) || e->begin > e->end)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: tensor '%s': 'data_offsets' must be [begin, end] with 0 <= begin "
                       "<= end",
                       path, name);
    const wl_dtype_info *di = wl_dtype_get(code);
    uint64_t bytes = wl_dtype_bytes(di, n);
    if (bytes != e->end - e->begin)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: tensor '%s': %s x %llu elements is %llu bytes, but data_offsets "
                       "[%llu, %llu] hold %llu",
                       path, name, dt, (unsigned long long)n, (unsigned long long)bytes,
                       (unsigned long long)e->begin, (unsigned long long)e->end,
                       (unsigned long long)(e->end - e->begin));
    if (max_bytes > 0 && bytes > max_bytes)
        return WL_FAIL(err, WL_E_LIMIT,
                       "%s: tensor '%s': %llu elements of %s exceed the tensor size limit of "
                       "%llu bytes",
                       path, name, (unsigned long long)n, dt, (unsigned long long)max_bytes);
    e->t.rank = (int)rank;
    e->t.data_type = code;
    e->t.n_elems = n;
    e->t.has_raw = 1;
    if ((e->t.name = strdup(name)) == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    return WL_OK;
}

/* Parses one mapped file's header and appends its tensors (offset order) to c. */
static wl_status read_file(wl_st_checkpoint *c, const wl_mapfile *f, uint64_t max_bytes, int first,
                           wl_err *err)
{
    const char *path = f->path;
    if (f->size < 8)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: %zu bytes, too short for a safetensors file (an 8-byte header "
                       "length, then the header)",
                       path, f->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->data[i];
    if (hlen > WL_ST_MAX_HEADER_BYTES)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: the header declares %llu bytes, more than the %llu-byte limit "
                       "(not a safetensors file, or a damaged one)",
                       path, (unsigned long long)hlen, (unsigned long long)WL_ST_MAX_HEADER_BYTES);
    if (hlen > f->size - 8)
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: the header declares %llu bytes, but the file has %zu after the "
                       "8-byte length (truncated, or not a safetensors file)",
                       path, (unsigned long long)hlen, f->size - 8);
    if (hlen < 2 || f->data[8] != '{')
        return WL_FAIL(err, WL_E_FORMAT,
                       "%s: the header does not start with '{' (not a safetensors file)", path);
    json_error_t je;
    json_t *root = json_loadb((const char *)f->data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "%s: byte %d: the header is not valid JSON: %s", path,
                       je.position + 8, je.text);
    wl_status st = WL_OK;
    entry *es = NULL;
    size_t n = 0;
    if (!json_is_object(root)) {
        st = WL_FAIL(err, WL_E_FORMAT, "%s: the header is not a JSON object", path);
        goto out;
    }
    es = calloc(json_object_size(root) + 1, sizeof *es);
    if (es == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                st = WL_FAIL(err, WL_E_FORMAT, "%s: __metadata__ is not a JSON object", path);
                goto out;
            }
            json_object_foreach(v, mk, mv) if (!json_is_string(mv))
            {
                st = WL_FAIL(err, WL_E_FORMAT, "%s: __metadata__['%s'] is not a string", path, mk);
                goto out;
            }
            if (first) {
                char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
                if (s == NULL) {
                    st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
                    goto out;
                }
                free(c->metadata);
                c->metadata = s;
                /* the framework that wrote it ("pt", "tf", "flax", "mlx") names the producer */
                const char *fw = json_string_value(json_object_get(v, "format"));
                char buf[160];
                snprintf(buf, sizeof buf, "safetensors%s%.100s%s", fw ? " (format " : "",
                         fw ? fw : "", fw ? ")" : "");
                free(c->producer);
                if ((c->producer = strdup(buf)) == NULL) {
                    st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
                    goto out;
                }
            }
            continue;
        }
        if ((st = read_entry(path, key, v, max_bytes, &es[n], err)) != WL_OK) {
            wl_tensor_clear(&es[n].t);
            goto out;
        }
        n++;
    }
    /* In offset order the tensors must tile the buffer: from 0, each starting where the one
     * before ends, the last ending at the end of the file (the Rust crate's validation). */
    qsort(es, n, sizeof *es, cmp_begin);
    uint64_t buf_len = f->size - 8 - hlen, at = 0;
    for (size_t i = 0; i < n; i++) {
        const entry *e = &es[i];
        if (e->end > buf_len) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the "
                         "data (%llu bytes after the header; truncated file?)",
                         path, e->t.name, (unsigned long long)e->begin, (unsigned long long)e->end,
                         (unsigned long long)buf_len);
            goto out;
        }
        if (e->begin < at) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "%s: tensors '%s' and '%s' overlap (data_offsets [%llu, %llu] and "
                         "[%llu, %llu])",
                         path, es[i - 1].t.name, e->t.name, (unsigned long long)es[i - 1].begin,
                         (unsigned long long)es[i - 1].end, (unsigned long long)e->begin,
                         (unsigned long long)e->end);
            goto out;
        }
        if (e->begin > at) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "%s: %llu unused bytes before tensor '%s' (data_offsets start at %llu, "
                         "the data before ends at %llu); the format has no gaps",
                         path, (unsigned long long)(e->begin - at), e->t.name,
                         (unsigned long long)e->begin, (unsigned long long)at);
            goto out;
        }
        at = e->end;
    }
    if (at != buf_len) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "%s: the tensors hold %llu bytes of data, but the file has %llu after the "
                     "header",
                     path, (unsigned long long)at, (unsigned long long)buf_len);
        goto out;
    }
    wl_tensor *nt = realloc(c->tensors, (c->n + n + 1) * sizeof *nt);
    if (nt == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
        goto out;
    }
    c->tensors = nt;
    const uint8_t *base = f->data + 8 + hlen;
    for (size_t i = 0; i < n; i++) {
        wl_tensor *t = &c->tensors[c->n++];
        *t = es[i].t;
        es[i].t.name = NULL;
        t->raw = base + es[i].begin;
        t->raw_len = (size_t)(es[i].end - es[i].begin);
        t->file_offset = (size_t)(8 + hlen + es[i].begin);
        t->map = f;
    }
    n = 0;
out:
    for (size_t i = 0; i < n; i++)
        wl_tensor_clear(&es[i].t);
    free(es);
    json_decref(root);
    return st;
}

/* Maps path as the next shard of c and reads its header. */
static wl_status add_file(wl_st_checkpoint *c, const char *path, uint64_t max_bytes, wl_err *err)
{
    wl_mapfile **nf = realloc(c->files, (c->n_files + 1) * sizeof *nf);
    if (nf == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    c->files = nf;
    wl_mapfile *m;
    wl_status st = wl_mapfile_open(path, "a safetensors checkpoint", &m, err);
    if (st != WL_OK)
        return st;
    c->files[c->n_files++] = m;
    return read_file(c, m, max_bytes, c->n_files == 1, err);
}

/* The tensor of c named name in file index shard, or NULL. */
static const wl_tensor *find_in_shard(const wl_st_checkpoint *c, const char *name, size_t shard)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->tensors[i].map == c->files[shard] && strcmp(c->tensors[i].name, name) == 0)
            return &c->tensors[i];
    return NULL;
}

/* A sharded checkpoint from its index: the shards in order of first mention in weight_map. */
static wl_status read_index(wl_st_checkpoint *c, const char *index, uint64_t max_bytes, wl_err *err)
{
    json_error_t je;
    json_t *root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return je.line < 0 ? WL_FAIL(err, WL_E_IO, "%s: cannot read: %s", index, je.text)
                           : WL_FAIL(err, WL_E_FORMAT, "%s:%d:%d: not valid JSON: %s", index,
                                     je.line, je.column, je.text);
    wl_status st = WL_OK;
    char *dir = NULL, **shards = NULL;
    size_t n_shards = 0;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "%s: 'weight_map' is missing, empty or not an object (expected the index "
                     "of a sharded safetensors checkpoint)",
                     index);
        goto out;
    }
    dir = wl_path_dir(index);
    shards = calloc(json_object_size(wm), sizeof *shards);
    if (dir == NULL || shards == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
        goto out;
    }
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v)
    {
        const char *file = json_string_value(v);
        if (file == NULL) {
            st = WL_FAIL(err, WL_E_FORMAT, "%s: weight_map['%s'] is not a string", index, name);
            goto out;
        }
        size_t k = 0;
        while (k < n_shards && strcmp(shards[k], file) != 0)
            k++;
        if (k < n_shards)
            continue;
        char *real;
        if ((st = wl_path_contain(dir, file, "weight_map path", "the index's folder", &real,
                                  err)) != WL_OK) {
            wl_err_wrap(err, "%s: weight_map['%s']", index, name);
            goto out;
        }
        shards[n_shards] = strdup(file);
        char *full = shards[n_shards] ? malloc(strlen(dir) + strlen(file) + 2) : NULL;
        free(real);
        if (full == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
            goto out;
        }
        n_shards++;
        sprintf(full, "%s/%s", dir, file);
        st = add_file(c, full, max_bytes, err);
        free(full);
        if (st != WL_OK) {
            wl_err_wrap(err, "%s: weight_map['%s']", index, name);
            goto out;
        }
    }
    /* The index and the shards must agree, both ways, and a name lives in one shard only. */
    json_object_foreach(wm, name, v)
    {
        const char *file = json_string_value(v);
        size_t k = 0;
        while (strcmp(shards[k], file) != 0)
            k++;
        if (find_in_shard(c, name, k) == NULL) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "%s: weight_map puts tensor '%s' in '%s', which "
                         "does not hold it",
                         index, name, file);
            goto out;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        const wl_tensor *t = &c->tensors[i];
        const char *file = json_string_value(json_object_get(wm, t->name));
        size_t k = 0;
        while (c->files[k] != t->map)
            k++;
        if (file == NULL || strcmp(file, shards[k]) != 0) {
            st = WL_FAIL(err, WL_E_FORMAT, "%s: tensor '%s' of shard '%s' is %s in weight_map%s%s",
                         index, t->name, shards[k], file ? "under another file" : "not listed",
                         file ? ": " : "", file ? file : "");
            goto out;
        }
    }
out:
    for (size_t i = 0; shards && i < n_shards; i++)
        free(shards[i]);
    free(shards);
    free(dir);
    json_decref(root);
    return st;
}

wl_status wl_st_open(const char *path, uint64_t max_tensor_bytes, wl_st_checkpoint **out,
                     wl_err *err)
{
    *out = NULL;
    wl_st_checkpoint *c = calloc(1, sizeof *c);
    if (c == NULL || (c->path = strdup(path)) == NULL) {
        free(c);
        return WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    }
    wl_status st;
    if (is_dir(path)) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s/%s", path, INDEX_NAME);
        struct stat sb;
        char **names = NULL;
        size_t n = 0;
        if (stat(buf, &sb) == 0) {
            st = read_index(c, buf, max_tensor_bytes, err);
        } else if ((st = list_shards(path, &names, &n, err)) == WL_OK) {
            if (n == 1) {
                snprintf(buf, sizeof buf, "%s/%s", path, names[0]);
                st = add_file(c, buf, max_tensor_bytes, err);
            } else {
                st = WL_FAIL(err, WL_E_FORMAT,
                             "%s: a folder with %zu .safetensors files and no " INDEX_NAME
                             ": give one file, or the index that joins the shards",
                             path, n);
            }
        }
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
    } else if (ends_with(path, ".json")) {
        st = read_index(c, path, max_tensor_bytes, err);
    } else {
        st = add_file(c, path, max_tensor_bytes, err);
    }
    if (st == WL_OK && c->metadata == NULL && (c->metadata = strdup("")) == NULL)
        st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    if (st == WL_OK && c->producer == NULL && (c->producer = strdup("safetensors")) == NULL)
        st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    if (st != WL_OK) {
        wl_st_close(c);
        return st;
    }
    *out = c;
    return WL_OK;
}

void wl_st_close(wl_st_checkpoint *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        wl_tensor_clear(&c->tensors[i]);
    free(c->tensors);
    for (size_t i = 0; i < c->n_files; i++)
        wl_mapfile_close(c->files[i]);
    free(c->files);
    free(c->metadata);
    free(c->producer);
    free(c->path);
    free(c);
}
