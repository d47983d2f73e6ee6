/*
 * pbwire.c — protobuf wire-format reader (see pbwire.h). Every length is checked against the
 * bytes remaining before it is used; no read goes past r->end.
 */
#include "pbwire.h"

#include "wl_err.h"

#include <stdlib.h>
#include <string.h>

void wl_pb_init(wl_pb_reader *r, const uint8_t *base, const uint8_t *data, size_t len)
{
    r->base = base;
    r->p = data;
    r->end = data + len;
}

int wl_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    const uint8_t *q = *p;
    for (int shift = 0; shift < 70; shift += 7) {
        if (q >= end)
            return -1;
        uint8_t b = *q++;
        if (shift == 63 && b > 1)
            return -1; /* the 10th byte may only carry the top bit */
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *p = q;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Why wl_pb_varint failed at p: every byte up to end had the continuation bit (cut short), or
 * the varint is longer than the 10 bytes a 64-bit value can take. */
static const char *varint_problem(const uint8_t *p, const uint8_t *end)
{
    for (int i = 0; i < 10 && p + i < end; i++)
        if ((p[i] & 0x80) == 0)
            return "varint does not fit in 64 bits (bad varint)";
    return end - p < 10 ? "varint runs past the end of the message (truncated: bad varint)"
                        : "varint longer than 10 bytes (bad varint)";
}

/* Names the wire types no ONNX message uses, for the error message. */
static const char *wire_name(int wire)
{
    switch (wire) {
    case 3:
        return "group start, which ONNX never uses";
    case 4:
        return "group end, which ONNX never uses";
    default:
        return "reserved";
    }
}

wl_status wl_pb_next(wl_pb_reader *r, wl_pb_field *f, int *has, wl_err *err)
{
    *has = 0;
    if (r->p >= r->end)
        return WL_OK;
    size_t at = (size_t)(r->p - r->base);
    uint64_t tag;
    if (wl_pb_varint(&r->p, r->end, &tag) != 0)
        return WL_FAIL(err, WL_E_FORMAT, "byte %zu: field tag: %s", at,
                       varint_problem(r->p, r->end));
    f->number = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->offset = at;
    f->data = NULL;
    f->len = 0;
    f->varint = 0;
    if (f->number == 0 || (tag >> 3) > 0x1fffffff)
        return WL_FAIL(err, WL_E_FORMAT, "byte %zu: invalid field number %llu", at,
                       (unsigned long long)(tag >> 3));
    size_t remaining;
    switch (f->wire) {
    case WL_WIRE_VARINT:
        if (wl_pb_varint(&r->p, r->end, &f->varint) != 0)
            return WL_FAIL(err, WL_E_FORMAT, "byte %zu: field %u: %s", at, f->number,
                           varint_problem(r->p, r->end));
        break;
    case WL_WIRE_I64:
    case WL_WIRE_I32: {
        size_t n = f->wire == WL_WIRE_I64 ? 8 : 4;
        remaining = (size_t)(r->end - r->p);
        if (remaining < n)
            return WL_FAIL(err, WL_E_FORMAT,
                           "byte %zu: field %u: truncated (%zu-byte value, %zu bytes left)", at,
                           f->number, n, remaining);
        uint64_t v = 0;
        memcpy(&v, r->p, n); /* little-endian host assumed (x86-64, aarch64) */
        f->varint = v;
        r->p += n;
        break;
    }
    case WL_WIRE_LEN: {
        uint64_t len;
        if (wl_pb_varint(&r->p, r->end, &len) != 0)
            return WL_FAIL(err, WL_E_FORMAT, "byte %zu: field %u: length: %s", at, f->number,
                           varint_problem(r->p, r->end));
        remaining = (size_t)(r->end - r->p);
        if (len > remaining)
            return WL_FAIL(err, WL_E_FORMAT,
                           "byte %zu: field %u: length %llu exceeds the %zu bytes left "
                           "(truncated file?)",
                           at, f->number, (unsigned long long)len, remaining);
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        break;
    }
    default:
        return WL_FAIL(err, WL_E_FORMAT,
                       "byte %zu: field %u: wire type %d (%s) is not valid here (not a "
                       "protobuf / ONNX file, or corrupted)",
                       at, f->number, f->wire, wire_name(f->wire));
    }
    *has = 1;
    return WL_OK;
}

char *wl_pb_strdup(const uint8_t *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void *pb_alloc(void *data, size_t size)
{
    void *p = malloc(size);
    if (p == NULL)
        ((wl_pb_alloc *)data)->failed = 1;
    return p;
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

void wl_pb_alloc_init(wl_pb_alloc *a)
{
    a->base.alloc = pb_alloc;
    a->base.free = pb_free;
    a->base.allocator_data = a;
    a->failed = 0;
}
