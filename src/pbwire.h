/*
 * pbwire.h — a bounds-checked reader of the protobuf wire format over bytes in memory
 * (https://protobuf.dev/programming-guides/encoding/). Used to walk a memory-mapped ONNX file
 * without copying it: protobuf-c's unpack copies every bytes field, which would double the
 * memory of a model (shared/notes/perf-floor.md §3).
 */
#ifndef WL_PBWIRE_H
#define WL_PBWIRE_H

#include "weightlint.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

enum { WL_WIRE_VARINT = 0, WL_WIRE_I64 = 1, WL_WIRE_LEN = 2, WL_WIRE_I32 = 5 };

typedef struct wl_pb_reader {
    const uint8_t *base; /* start of the file: offsets in messages are relative to it */
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* one past the message */
} wl_pb_reader;

typedef struct wl_pb_field {
    uint32_t number;     /* field number */
    int wire;            /* wire type */
    uint64_t varint;     /* value for VARINT, I64 and I32 (raw bits) */
    const uint8_t *data; /* payload for LEN */
    size_t len;
    size_t offset; /* byte offset of the tag in the file, for messages */
} wl_pb_field;

/* Starts reading the message data[0..len) that lives at data in a file starting at base. */
void wl_pb_init(wl_pb_reader *r, const uint8_t *base, const uint8_t *data, size_t len);

/* Reads the next field. Returns WL_OK with *has = 1, or WL_OK with *has = 0 at the end of the
 * message, or WL_E_FORMAT (truncated field, varint longer than 10 bytes, length beyond the end
 * of the message, group or reserved wire type) with the byte offset in the message. */
WL_NODISCARD wl_status wl_pb_next(wl_pb_reader *r, wl_pb_field *f, int *has, wl_err *err);

/* Decodes one varint from [*p, end); advances *p. Returns 0 on success, -1 when truncated or
 * longer than 10 bytes. */
int wl_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* A NUL-terminated, malloc'd copy of the n bytes at s (a string field); NULL when out of
 * memory. Caller frees. */
char *wl_pb_strdup(const uint8_t *s, size_t n);

/* The allocator to give protobuf-c's unpack (and free_unpacked): malloc and free, and a note
 * when an allocation failed, since unpack returns NULL both for malformed bytes and when out
 * of memory. Initialise one per call (on the stack; no sharing between threads), then
 * `if (msg == NULL) status = a.failed ? WL_E_NOMEM : WL_E_FORMAT`. */
typedef struct wl_pb_alloc {
    ProtobufCAllocator base; /* pass &a.base */
    int failed;              /* an allocation returned NULL */
} wl_pb_alloc;
void wl_pb_alloc_init(wl_pb_alloc *a);

#endif
