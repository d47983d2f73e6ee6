/*
 * onnx_model.c — maps an ONNX file and walks its protobuf wire format down to the
 * TensorProtos (see onnx_model.h for the field numbers). Payloads stay in the mapping;
 * protobuf-c is used only to decode typed-field tensors (float_data, int32_data, ...), which
 * exporters use for small tensors.
 */
#include "onnx_model.h"

#include "dtype.h"
#include "pbwire.h"
#include "wl_err.h"

#include "onnx/onnx.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* onnx.proto field numbers used here. */
enum {
    MODEL_IR_VERSION = 1,
    MODEL_PRODUCER_NAME = 2,
    MODEL_PRODUCER_VERSION = 3,
    MODEL_GRAPH = 7,
    GRAPH_NODE = 1,
    GRAPH_INITIALIZER = 5,
    NODE_OUTPUT = 2,
    NODE_NAME = 3,
    NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1,
    ATTR_T = 5,
    ATTR_G = 6,
    ATTR_GRAPHS = 11,
    TENSOR_DIMS = 1,
    TENSOR_DATA_TYPE = 2,
    TENSOR_SEGMENT = 3,
    TENSOR_FLOAT_DATA = 4,
    TENSOR_INT32_DATA = 5,
    TENSOR_STRING_DATA = 6,
    TENSOR_INT64_DATA = 7,
    TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9,
    TENSOR_DOUBLE_DATA = 10,
    TENSOR_UINT64_DATA = 11,
    TENSOR_EXTERNAL_DATA = 13,
    TENSOR_DATA_LOCATION = 14,
    ENTRY_KEY = 1,
    ENTRY_VALUE = 2,
};

/* ------------------------------------------------------------------ open/close */

/* The walk of the ModelProto failed at the field whose tag is at byte at. When that field is
 * the graph and its declared length runs past the end of the file, replaces the message with
 * one saying the file is truncated, naming the initializer or node the cut falls in. */
static void explain_truncation(const wl_onnx_file *f, size_t at, wl_err *err)
{
    const uint8_t *p = f->map->data + at, *end = f->map->data + f->map->size;
    uint64_t tag, len;
    if (wl_pb_varint(&p, end, &tag) != 0 || tag != ((uint64_t)MODEL_GRAPH << 3 | WL_WIRE_LEN) ||
        wl_pb_varint(&p, end, &len) != 0 || len <= (uint64_t)(end - p))
        return;
    size_t have = (size_t)(end - p);
    /* Walk what is left of the graph up to the entry that runs past the end. */
    wl_pb_reader r;
    wl_pb_field fld;
    wl_err scratch;
    int has;
    wl_err_clear(&scratch);
    wl_pb_init(&r, f->map->data, p, have);
    const uint8_t *last = r.p;
    while (wl_pb_next(&r, &fld, &has, &scratch) == WL_OK && has)
        last = r.p;
    char where[400] = "";
    const uint8_t *q = last;
    uint64_t etag, elen;
    if (scratch.code != WL_OK && wl_pb_varint(&q, end, &etag) == 0 &&
        wl_pb_varint(&q, end, &elen) == 0 && (etag & 7) == WL_WIRE_LEN &&
        (etag >> 3 == GRAPH_INITIALIZER || etag >> 3 == GRAPH_NODE)) {
        /* The entry's leading fields survive the cut: look for its name. */
        const uint8_t *name = NULL;
        size_t name_len = 0;
        uint32_t name_field = etag >> 3 == GRAPH_INITIALIZER ? TENSOR_NAME : NODE_NAME;
        wl_pb_init(&r, f->map->data, q, (size_t)(end - q));
        wl_err_clear(&scratch);
        while (wl_pb_next(&r, &fld, &has, &scratch) == WL_OK && has)
            if (fld.number == name_field && fld.wire == WL_WIRE_LEN)
                name = fld.data, name_len = fld.len;
        snprintf(where, sizeof where, "; the cut falls inside %s%s%.*s%s at byte %zu",
                 etag >> 3 == GRAPH_INITIALIZER ? "initializer" : "node", name ? " '" : "",
                 name ? (int)(name_len < 200 ? name_len : 200) : 0, name ? (const char *)name : "",
                 name ? "'" : "", (size_t)(last - f->map->data));
    }
    wl_err_clear(err);
    WL_FAIL(err, WL_E_FORMAT,
            "truncated file: the graph (field 7) at byte %zu declares %llu bytes, but the file "
            "ends %zu bytes into it (file size %zu, expected at least %llu)%s; was the download "
            "or copy interrupted?",
            at, (unsigned long long)len, have, f->map->size,
            (unsigned long long)(len + (uint64_t)(p - f->map->data)), where);
}

wl_status wl_onnx_open(const char *path, wl_onnx_file **out, wl_err *err)
{
    *out = NULL;
    wl_onnx_file *f = calloc(1, sizeof *f);
    wl_status st = WL_OK;
    if (f == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
    f->producer = strdup("");
    if (f->producer == NULL) {
        st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((st = wl_mapfile_open(path, "an ONNX model", &f->map, err)) != WL_OK)
        goto out;
    /* Model-level fields; the graph is walked later (wl_onnx_list_initializers, wl_graph_load). */
    wl_pb_reader r;
    wl_pb_field fld;
    int has, has_graph = 0;
    const uint8_t *pname = NULL, *pver = NULL;
    size_t pname_len = 0, pver_len = 0;
    wl_pb_init(&r, f->map->data, f->map->data, f->map->size);
    for (;;) {
        size_t at = (size_t)(r.p - f->map->data);
        st = wl_pb_next(&r, &fld, &has, err);
        if (st != WL_OK) {
            explain_truncation(f, at, err);
            wl_err_wrap(err, "%s: ModelProto", path);
            goto out;
        }
        if (!has)
            break;
        if (fld.number == MODEL_IR_VERSION && fld.wire == WL_WIRE_VARINT)
            f->ir_version = (int64_t)fld.varint;
        else if (fld.number == MODEL_PRODUCER_NAME && fld.wire == WL_WIRE_LEN)
            pname = fld.data, pname_len = fld.len;
        else if (fld.number == MODEL_PRODUCER_VERSION && fld.wire == WL_WIRE_LEN)
            pver = fld.data, pver_len = fld.len;
        else if (fld.number == MODEL_GRAPH) {
            if (fld.wire != WL_WIRE_LEN) {
                st = WL_FAIL(err, WL_E_FORMAT,
                             "%s: byte %zu: ModelProto.graph has wire type %d, expected 2 "
                             "(length-delimited)",
                             path, fld.offset, fld.wire);
                goto out;
            }
            has_graph = 1;
        }
    }
    if (!has_graph) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "%s: no graph in the file (ModelProto field 7 missing): "
                     "not an ONNX model",
                     path);
        goto out;
    }
    if (pname != NULL || pver != NULL) {
        char *p = malloc(pname_len + pver_len + 2);
        if (p == NULL) {
            st = WL_FAIL(err, WL_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
        snprintf(p, pname_len + pver_len + 2, "%.*s%s%.*s", (int)pname_len,
                 pname ? (const char *)pname : "", pver_len ? " " : "", (int)pver_len,
                 pver ? (const char *)pver : "");
        free(f->producer);
        f->producer = p;
    }
out:
    if (st != WL_OK) {
        wl_onnx_close(f);
        return st;
    }
    *out = f;
    return WL_OK;
}

void wl_onnx_close(wl_onnx_file *f)
{
    if (f == NULL)
        return;
    wl_mapfile_close(f->map);
    free(f->producer);
    free(f);
}

/* ------------------------------------------------------------------ tensor lists */

wl_status wl_tensor_refs_push(wl_tensor_refs *l, const wl_pb_field *fld, wl_tensor_origin origin,
                              const char *graph_path, const uint8_t *hint, size_t hint_len,
                              wl_err *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        wl_tensor_ref *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return WL_FAIL(err, WL_E_NOMEM, "out of memory listing tensors");
        l->v = v;
        l->cap = cap;
    }
    wl_tensor_ref *r = &l->v[l->n];
    r->msg = fld->data;
    r->len = fld->len;
    r->offset = fld->offset;
    r->origin = origin;
    r->graph_path = strdup(graph_path);
    r->name_hint = hint ? wl_pb_strdup(hint, hint_len) : NULL;
    if (r->graph_path == NULL || (hint != NULL && r->name_hint == NULL)) {
        free(r->graph_path);
        free(r->name_hint);
        return WL_FAIL(err, WL_E_NOMEM, "out of memory listing tensors");
    }
    l->n++;
    return WL_OK;
}

wl_status wl_onnx_list_initializers(const wl_onnx_file *f, wl_tensor_refs *out, wl_err *err)
{
    memset(out, 0, sizeof *out);
    wl_pb_reader r, gr;
    wl_pb_field fld, gf;
    int has;
    wl_status st;
    wl_pb_init(&r, f->map->data, f->map->data, f->map->size);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        if (fld.number != MODEL_GRAPH)
            continue;
        wl_pb_init(&gr, f->map->data, fld.data, fld.len);
        while ((st = wl_pb_next(&gr, &gf, &has, err)) == WL_OK && has) {
            if (gf.number != GRAPH_INITIALIZER)
                continue;
            if (gf.wire != WL_WIRE_LEN)
                st = WL_FAIL(err, WL_E_FORMAT,
                             "byte %zu: GraphProto.initializer has wire type %d, expected 2",
                             gf.offset, gf.wire);
            else
                st = wl_tensor_refs_push(out, &gf, WL_ORIGIN_INITIALIZER, "", NULL, 0, err);
            if (st != WL_OK)
                break;
        }
        if (st != WL_OK)
            break;
    }
    if (st != WL_OK) {
        wl_err_wrap(err, "%s", f->map->path);
        wl_tensor_refs_clear(out);
    }
    return st;
}

void wl_tensor_refs_clear(wl_tensor_refs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].graph_path);
        free(l->v[i].name_hint);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------ tensor header */

/* Number of values in a packed or unpacked repeated scalar field occurrence. */
static wl_status count_values(const wl_pb_field *fld, int elem_wire, uint64_t *count, wl_err *err)
{
    if (fld->wire == elem_wire) {
        (*count)++;
        return WL_OK;
    }
    if (fld->wire != WL_WIRE_LEN)
        return WL_FAIL(err, WL_E_FORMAT, "byte %zu: field %u has wire type %d", fld->offset,
                       fld->number, fld->wire);
    if (elem_wire == WL_WIRE_I32 || elem_wire == WL_WIRE_I64) {
        size_t w = elem_wire == WL_WIRE_I32 ? 4 : 8;
        if (fld->len % w != 0)
            return WL_FAIL(err, WL_E_FORMAT,
                           "byte %zu: packed field %u is %zu bytes, not a multiple of %zu",
                           fld->offset, fld->number, fld->len, w);
        *count += fld->len / w;
        return WL_OK;
    }
    const uint8_t *p = fld->data, *end = fld->data + fld->len;
    while (p < end) {
        uint64_t v;
        if (wl_pb_varint(&p, end, &v) != 0)
            return WL_FAIL(err, WL_E_FORMAT, "byte %zu: packed field %u: bad varint", fld->offset,
                           fld->number);
        (*count)++;
    }
    return WL_OK;
}

static wl_status parse_external_entry(const uint8_t *base, const wl_pb_field *fld, wl_tensor *t,
                                      wl_err *err)
{
    wl_pb_reader r;
    wl_pb_field e;
    int has;
    wl_status st;
    const uint8_t *key = NULL, *val = NULL;
    size_t key_len = 0, val_len = 0;
    wl_pb_init(&r, base, fld->data, fld->len);
    while ((st = wl_pb_next(&r, &e, &has, err)) == WL_OK && has) {
        if (e.number == ENTRY_KEY && e.wire == WL_WIRE_LEN)
            key = e.data, key_len = e.len;
        else if (e.number == ENTRY_VALUE && e.wire == WL_WIRE_LEN)
            val = e.data, val_len = e.len;
    }
    if (st != WL_OK)
        return st;
    if (key == NULL || val == NULL)
        return WL_OK;
    char *v = wl_pb_strdup(val, val_len);
    if (v == NULL)
        return WL_FAIL(err, WL_E_NOMEM, "out of memory");
    if (key_len == 8 && memcmp(key, "location", 8) == 0) {
        free(t->ext_location);
        t->ext_location = v;
        return WL_OK;
    }
    int is_offset = key_len == 6 && memcmp(key, "offset", 6) == 0;
    int is_length = key_len == 6 && memcmp(key, "length", 6) == 0;
    if (is_offset || is_length) {
        char *endp;
        errno = 0;
        unsigned long long x = strtoull(v, &endp, 10);
        int bad = errno != 0 || endp == v || *endp != '\0' || v[0] == '-';
        if (bad) {
            wl_status s = WL_FAIL(err, WL_E_FORMAT, "external_data %s = '%s' is not a byte count",
                                  is_offset ? "offset" : "length", v);
            free(v);
            return s;
        }
        if (is_offset)
            t->ext_offset = x;
        else {
            t->ext_length = x;
            t->has_ext_length = 1;
        }
    }
    free(v);
    return WL_OK;
}

/* Formats dims as "[d0, d1, ...]" for messages (truncated to fit buf). */
static const char *fmt_dims(char *buf, size_t n, const int64_t *dims, int rank)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

/* The typed field onnx.proto assigns to a data type, for messages. */
static const char *typed_field_name(wl_typed_field field)
{
    switch (field) {
    case WL_FIELD_FLOAT:
        return "float_data";
    case WL_FIELD_INT32:
        return "int32_data";
    case WL_FIELD_INT64:
        return "int64_data";
    case WL_FIELD_DOUBLE:
        return "double_data";
    case WL_FIELD_UINT64:
        return "uint64_data";
    case WL_FIELD_NONE:
        break;
    }
    return "typed data";
}

void wl_tensor_clear(wl_tensor *t)
{
    free(t->name);
    free(t->ext_location);
    memset(t, 0, sizeof *t);
}

wl_status wl_tensor_parse(const wl_onnx_file *f, const wl_tensor_ref *ref, uint64_t max_bytes,
                          wl_tensor *t, wl_err *err)
{
    memset(t, 0, sizeof *t);
    t->msg = ref->msg;
    t->msg_len = ref->len;
    t->file_offset = ref->offset;
    t->map = f->map;
    wl_pb_reader r;
    wl_pb_field fld;
    int has;
    wl_status st;
    wl_pb_init(&r, f->map->data, ref->msg, ref->len);
    while ((st = wl_pb_next(&r, &fld, &has, err)) == WL_OK && has) {
        switch (fld.number) {
        case TENSOR_DIMS:
            if (fld.wire == WL_WIRE_VARINT) {
                if (t->rank >= WL_MAX_RANK) {
                    st = WL_FAIL(err, WL_E_LIMIT, "rank above the limit of %d", WL_MAX_RANK);
                    break;
                }
                t->dims[t->rank++] = (int64_t)fld.varint;
            } else if (fld.wire == WL_WIRE_LEN) {
                const uint8_t *p = fld.data, *end = fld.data + fld.len;
                while (p < end && st == WL_OK) {
                    uint64_t v;
                    if (wl_pb_varint(&p, end, &v) != 0)
                        st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: dims: bad varint", fld.offset);
                    else if (t->rank >= WL_MAX_RANK)
                        st = WL_FAIL(err, WL_E_LIMIT, "rank above the limit of %d", WL_MAX_RANK);
                    else
                        t->dims[t->rank++] = (int64_t)v;
                }
            } else {
                st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: dims has wire type %d", fld.offset,
                             fld.wire);
            }
            break;
        case TENSOR_DATA_TYPE:
            if (fld.wire != WL_WIRE_VARINT)
                st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: data_type has wire type %d", fld.offset,
                             fld.wire);
            t->data_type = (int64_t)(int32_t)fld.varint;
            break;
        case TENSOR_NAME:
            if (fld.wire != WL_WIRE_LEN) {
                st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: name has wire type %d", fld.offset,
                             fld.wire);
                break;
            }
            free(t->name);
            t->name = wl_pb_strdup(fld.data, fld.len);
            if (t->name == NULL)
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
            break;
        case TENSOR_RAW_DATA:
            if (fld.wire != WL_WIRE_LEN) {
                st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: raw_data has wire type %d", fld.offset,
                             fld.wire);
                break;
            }
            t->raw = fld.data;
            t->raw_len = fld.len;
            t->has_raw = 1;
            break;
        case TENSOR_FLOAT_DATA:
            st = count_values(&fld, WL_WIRE_I32, &t->n_typed, err);
            break;
        case TENSOR_DOUBLE_DATA:
            st = count_values(&fld, WL_WIRE_I64, &t->n_typed, err);
            break;
        case TENSOR_INT32_DATA:
        case TENSOR_INT64_DATA:
        case TENSOR_UINT64_DATA:
            st = count_values(&fld, WL_WIRE_VARINT, &t->n_typed, err);
            break;
        case TENSOR_STRING_DATA:
            t->n_typed++;
            break;
        case TENSOR_EXTERNAL_DATA:
            if (fld.wire != WL_WIRE_LEN)
                st = WL_FAIL(err, WL_E_FORMAT, "byte %zu: external_data has wire type %d",
                             fld.offset, fld.wire);
            else
                st = parse_external_entry(f->map->data, &fld, t, err);
            break;
        case TENSOR_DATA_LOCATION:
            t->is_external = fld.varint == 1;
            break;
        case TENSOR_SEGMENT:
            st = WL_FAIL(err, WL_E_FORMAT,
                         "segmented tensors (TensorProto.segment) are not "
                         "supported");
            break;
        default:
            break;
        }
        if (st != WL_OK)
            break;
    }
    if (t->name == NULL && st == WL_OK) {
        t->name = strdup("");
        if (t->name == NULL)
            st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
    }
    const char *tname = t->name ? t->name : "";
    if (st != WL_OK) {
        wl_err_wrap(err, "tensor '%s' at byte %zu", tname, ref->offset);
        goto fail;
    }
    if (t->is_external && t->ext_location == NULL) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "tensor '%s': data_location is EXTERNAL but external_data has no location",
                     tname);
        goto fail;
    }
    if (t->ext_location != NULL)
        t->is_external = 1;
    /* Dimensions: each in range, product without overflow. */
    uint64_t n = 1;
    char shape[WL_MAX_RANK * 22 + 4];
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i];
        if (d < 0) {
            st = WL_FAIL(err, WL_E_FORMAT, "tensor '%s': dims[%d] = %lld (must be >= 0; dims %s)",
                         tname, i, (long long)d, fmt_dims(shape, sizeof shape, t->dims, t->rank));
            goto fail;
        }
        if (d > WL_MAX_DIM) {
            st = WL_FAIL(err, WL_E_LIMIT,
                         "tensor '%s': dims[%d] = %lld exceeds the limit of %lld per dimension "
                         "(dims %s)",
                         tname, i, (long long)d, (long long)WL_MAX_DIM,
                         fmt_dims(shape, sizeof shape, t->dims, t->rank));
            goto fail;
        }
        if (d != 0 && n > UINT64_MAX / (uint64_t)d) {
            st = WL_FAIL(err, WL_E_LIMIT,
                         "tensor '%s': the element count (product of dims %s) overflows 64 bits "
                         "at dims[%d]",
                         tname, fmt_dims(shape, sizeof shape, t->dims, t->rank), i);
            goto fail;
        }
        n *= (uint64_t)d;
    }
    t->n_elems = n;
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    if (dt == NULL || t->data_type == 0) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "tensor '%s': unknown data_type %lld (valid ONNX types are 1..26)", tname,
                     (long long)t->data_type);
        goto fail;
    }
    if (dt->elem_bits == 0)
        return WL_OK; /* known but not numeric here: the caller skips it by dtype */
    uint64_t want = wl_dtype_bytes(dt, n);
    char esize[32]; /* "4-byte" or, for packed sub-byte types, "4-bit" */
    if (dt->elem_bits % 8 == 0)
        snprintf(esize, sizeof esize, "%u-byte", dt->elem_bits / 8);
    else
        snprintf(esize, sizeof esize, "%u-bit", dt->elem_bits);
    if (want > max_bytes) {
        st = WL_FAIL(err, WL_E_LIMIT,
                     "tensor '%s': %llu elements of %s exceed the tensor size limit of %llu "
                     "bytes",
                     tname, (unsigned long long)n, dt->name, (unsigned long long)max_bytes);
        goto fail;
    }
    /* int32_data holds one value per element, or one packed byte for sub-byte types. */
    uint64_t want_typed = dt->elem_bits < 8 ? want : n;
    if (t->is_external) {
        if (t->has_ext_length && t->ext_length != want) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "tensor '%s': external_data length = %llu bytes, expected %llu "
                         "(%llu x %s %s)",
                         tname, (unsigned long long)t->ext_length, (unsigned long long)want,
                         (unsigned long long)n, esize, dt->name);
            goto fail;
        }
    } else if (t->has_raw) {
        if (t->raw_len != want) {
            st = WL_FAIL(err, WL_E_FORMAT,
                         "tensor '%s': raw_data is %zu bytes, expected %llu (dims %s: %llu x "
                         "%s %s)",
                         tname, t->raw_len, (unsigned long long)want,
                         fmt_dims(shape, sizeof shape, t->dims, t->rank), (unsigned long long)n,
                         esize, dt->name);
            goto fail;
        }
    } else if (t->n_typed != want_typed) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "tensor '%s': %s holds %llu values, expected %llu (dims %s, %s)", tname,
                     typed_field_name(dt->field), (unsigned long long)t->n_typed,
                     (unsigned long long)want_typed,
                     fmt_dims(shape, sizeof shape, t->dims, t->rank), dt->name);
        goto fail;
    }
    return WL_OK;
fail:
    wl_tensor_clear(t);
    return st;
}

/* ------------------------------------------------------------------ payload */

/* Maps the bytes of an external-data tensor after checking its path and bounds. Messages do not
 * name the tensor: the caller adds it. */
static wl_status map_external(const wl_tensor *t, uint64_t want, wl_payload *p, wl_err *err)
{
    char *real = NULL;
    if (t->map == NULL)
        return WL_FAIL(err, WL_E_INTERNAL, "external data '%s' of a tensor in no file",
                       t->ext_location);
    wl_status st = wl_path_contain(t->map->dir, t->ext_location, "external_data location",
                                   "the model's folder", &real, err);
    if (st != WL_OK)
        return st;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = WL_FAIL(err, WL_E_IO, "cannot open external data '%s': %s", t->ext_location,
                     strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = WL_FAIL(err, WL_E_IO, "external data '%s' is not a regular file", t->ext_location);
        goto out;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (t->ext_offset > size || want > size - t->ext_offset) {
        st = WL_FAIL(err, WL_E_FORMAT,
                     "external data '%s' is %llu bytes, too short for %llu bytes at offset "
                     "%llu",
                     t->ext_location, (unsigned long long)size, (unsigned long long)want,
                     (unsigned long long)t->ext_offset);
        goto out;
    }
    if (want == 0) {
        p->data = (const uint8_t *)"";
        goto out;
    }
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = t->ext_offset - t->ext_offset % (uint64_t)page;
    size_t map_len = (size_t)(t->ext_offset - start + want);
    void *m = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, (off_t)start);
    if (m == MAP_FAILED) {
        st = WL_FAIL(err, WL_E_IO, "cannot map external data '%s': %s", t->ext_location,
                     strerror(errno));
        goto out;
    }
    p->map = m;
    p->map_len = map_len;
    p->data = (const uint8_t *)m + (t->ext_offset - start);
    p->len = (size_t)want;
out:
    if (fd >= 0)
        close(fd);
    free(real);
    return st;
}

wl_status wl_tensor_map_payload(const wl_tensor *t, wl_payload *p, wl_err *err)
{
    memset(p, 0, sizeof *p);
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    if (dt == NULL || dt->elem_bits == 0)
        return WL_FAIL(err, WL_E_INTERNAL, "tensor '%s': data type %s has no byte layout", t->name,
                       wl_dtype_name(t->data_type));
    if (t->is_external) {
        /* Named here: wl_tensor_to_double's callers add the tensor name, this one's may not. */
        wl_status st = map_external(t, wl_dtype_bytes(dt, t->n_elems), p, err);
        if (st != WL_OK)
            wl_err_wrap(err, "tensor '%s'", t->name);
        return st;
    }
    if (t->has_raw) {
        p->data = t->raw;
        p->len = t->raw_len;
        return WL_OK;
    }
    return WL_FAIL(err, WL_E_INTERNAL, "tensor '%s' keeps its values in typed fields", t->name);
}

void wl_payload_unmap(wl_payload *p)
{
    if (p->map != NULL)
        munmap(p->map, p->map_len);
    memset(p, 0, sizeof *p);
}

/* Widens n elements of src (inside the mapping [base, base + len)) chunk by chunk, releasing
 * each chunk's pages once it is consumed. */
static void widen_released(const wl_dtype_info *dt, const uint8_t *src, size_t n, double *dst,
                           const void *base, size_t len, const wl_widen_sink *sink)
{
    /* A whole number of bytes per chunk and per step (a multiple of 8 values), also for
     * packed sub-byte types. */
    size_t per = WL_WIDEN_CHUNK_BYTES * 8 / dt->elem_bits;
    size_t step = sink != NULL && sink->step > 0 && sink->step < per ? (sink->step + 7) & ~(size_t)7
                                                                      : per;
    for (size_t i = 0; i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        const uint8_t *p = src + (size_t)wl_dtype_bytes(dt, i);
        for (size_t j = 0; j < k; j += step) {
            size_t kk = k - j < step ? k - j : step;
            dt->raw_to_double(src + (size_t)wl_dtype_bytes(dt, i + j), kk, dst + i + j);
            if (sink != NULL)
                sink->fn(sink->ctx, dst, i + j + kk);
        }
        wl_map_release_range(base, len, p, src + (size_t)wl_dtype_bytes(dt, i + k));
    }
}

static wl_status read_external(const wl_tensor *t, const wl_dtype_info *dt, double *dst,
                               const wl_widen_sink *sink, wl_err *err)
{
    wl_payload p;
    wl_status st = map_external(t, wl_dtype_bytes(dt, t->n_elems), &p, err);
    if (st != WL_OK)
        return st;
    if (p.len > 0)
        widen_released(dt, p.data, (size_t)t->n_elems, dst, p.map, p.map_len, sink);
    wl_payload_unmap(&p);
    return WL_OK;
}

/* Typed fields through protobuf-c: these tensors are small in practice (exporters use raw_data
 * for weights), and the unpacked copy lives only for this call. */
static wl_status read_typed(const wl_tensor *t, const wl_dtype_info *dt, double *dst, wl_err *err)
{
    wl_pb_alloc pa;
    wl_pb_alloc_init(&pa);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa.base, t->msg_len, t->msg);
    if (tp == NULL && pa.failed)
        return WL_FAIL(err, WL_E_NOMEM, "TensorProto at byte %zu: out of memory", t->file_offset);
    if (tp == NULL)
        return WL_FAIL(err, WL_E_FORMAT, "TensorProto at byte %zu: protobuf decode failed",
                       t->file_offset);
    size_t n = (size_t)t->n_elems;
    wl_status st = WL_OK;
    size_t have = 0;
    switch (dt->field) {
    case WL_FIELD_FLOAT:
        have = tp->n_float_data;
        for (size_t i = 0; i < n && i < have; i++)
            dst[i] = (double)tp->float_data[i];
        break;
    case WL_FIELD_DOUBLE:
        have = tp->n_double_data;
        for (size_t i = 0; i < n && i < have; i++)
            dst[i] = tp->double_data[i];
        break;
    case WL_FIELD_INT64:
        have = tp->n_int64_data;
        for (size_t i = 0; i < n && i < have; i++)
            dst[i] = (double)tp->int64_data[i];
        break;
    case WL_FIELD_UINT64:
        have = tp->n_uint64_data;
        for (size_t i = 0; i < n && i < have; i++)
            dst[i] = (double)tp->uint64_data[i];
        break;
    case WL_FIELD_INT32:
        have = tp->n_int32_data;
        if (t->data_type >= 17) {
            /* The types newer than onnx 1.12: each int32 holds one byte of the raw layout
             * (an 8-bit code, or packed 4-/2-bit elements), so decode as raw bytes. */
            size_t nb = (size_t)wl_dtype_bytes(dt, n);
            uint8_t *bytes = malloc(nb ? nb : 1);
            if (bytes == NULL) {
                st = WL_FAIL(err, WL_E_NOMEM, "out of memory");
                break;
            }
            for (size_t i = 0; i < nb && i < have; i++)
                bytes[i] = (uint8_t)tp->int32_data[i];
            if (have == nb)
                dt->raw_to_double(bytes, n, dst);
            free(bytes);
            if (have == nb)
                have = n;
            break;
        }
        for (size_t i = 0; i < n && i < have; i++) {
            int32_t v = tp->int32_data[i];
            if (t->data_type == 10) /* FLOAT16 bits */
                dst[i] = (double)wl_half_to_float((uint16_t)v);
            else if (t->data_type == 16) /* BFLOAT16 bits */
                dst[i] = (double)wl_bf16_to_float((uint16_t)v);
            else if (t->data_type == 9) /* BOOL */
                dst[i] = v ? 1.0 : 0.0;
            else
                dst[i] = (double)v;
        }
        break;
    case WL_FIELD_NONE:
        break;
    }
    if (st == WL_OK && have != n)
        st = WL_FAIL(err, WL_E_FORMAT, "typed field holds %zu values, expected %zu", have, n);
    onnx__tensor_proto__free_unpacked(tp, &pa.base);
    return st;
}

wl_status wl_tensor_to_double(const wl_tensor *t, double *dst, wl_err *err)
{
    return wl_tensor_to_double_sink(t, dst, NULL, err);
}

wl_status wl_tensor_to_double_sink(const wl_tensor *t, double *dst, const wl_widen_sink *sink,
                                   wl_err *err)
{
    const wl_dtype_info *dt = wl_dtype_get(t->data_type);
    if (dt == NULL || dt->elem_bits == 0)
        return WL_FAIL(err, WL_E_INTERNAL, "data type %s is not numeric",
                       wl_dtype_name(t->data_type));
    if (t->is_external)
        return read_external(t, dt, dst, sink, err);
    if (t->has_raw) {
        widen_released(dt, t->raw, (size_t)t->n_elems, dst, t->map ? t->map->data : NULL,
                       t->map ? t->map->size : 0, sink);
        return WL_OK;
    }
    wl_status st = read_typed(t, dt, dst, err);
    if (st == WL_OK && sink != NULL)
        sink->fn(sink->ctx, dst, (size_t)t->n_elems);
    return st;
}

void wl_onnx_release_pages(const wl_onnx_file *f)
{
    wl_mapfile_release_all(f->map);
}

void wl_tensor_release_pages(const wl_tensor *t)
{
    if (!t->has_raw || t->raw_len == 0)
        return;
    wl_mapfile_release(t->map, t->raw, t->raw + t->raw_len);
}
