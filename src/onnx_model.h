/*
 * onnx_model.h — an ONNX file mapped read-only, and the TensorProtos inside it located by
 * walking the wire format (onnx.proto: ModelProto.graph = 7; GraphProto.node = 1,
 * initializer = 5; NodeProto.attribute = 5, op_type = 4; AttributeProto.t = 5, g = 6,
 * graphs = 11). Tensor payloads are never copied: raw_data points into the mapping.
 */
#ifndef WL_ONNX_MODEL_H
#define WL_ONNX_MODEL_H

#include "weightlint.h"

#include "mapfile.h"
#include "pbwire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wl_onnx_file {
    wl_mapfile *map; /* the file: path, directory (for external data), bytes (owned) */
    int64_t ir_version;
    char *producer; /* "name version" (owned) */
} wl_onnx_file;

/* Where a TensorProto was found. */
typedef enum wl_tensor_origin {
    WL_ORIGIN_INITIALIZER = 0, /* top-level graph.initializer */
    WL_ORIGIN_CONSTANT,        /* Constant node's value attribute */
    WL_ORIGIN_SUBGRAPH_INITIALIZER
} wl_tensor_origin;

typedef struct wl_tensor_ref {
    const uint8_t *msg; /* the TensorProto bytes inside the mapping */
    size_t len;
    size_t offset; /* byte offset in the file */
    wl_tensor_origin origin;
    char *graph_path; /* "" for the main graph, "If_0/then_branch" for subgraphs (owned) */
    char *name_hint;  /* Constant nodes: the node's output name, used when the tensor has none */
} wl_tensor_ref;

/* Opens and maps path. Refuses (WL_E_IO / WL_E_FORMAT, with the path in the message): a missing
 * file, a directory, an empty file, a Git LFS pointer file (with how to fetch the real file).
 * Caller closes with wl_onnx_close. */
WL_NODISCARD wl_status wl_onnx_open(const char *path, wl_onnx_file **out, wl_err *err);
void wl_onnx_close(wl_onnx_file *f);

/* A growable list of tensor refs (caller-owned; release with wl_tensor_refs_clear). */
typedef struct wl_tensor_refs {
    wl_tensor_ref *v;
    size_t n, cap;
} wl_tensor_refs;

/* Lists the top-level graph.initializer entries in file order: WeightWatcher's layer universe
 * (--compat ww). The whole model is walked for this, the wire format checked on the way. On
 * failure out is empty and err names the file. wl_graph_load (onnx_graph.h) lists every tensor
 * of every graph for the default mode. */
WL_NODISCARD wl_status wl_onnx_list_initializers(const wl_onnx_file *f, wl_tensor_refs *out,
                                                 wl_err *err);
/* Appends the TensorProto in fld (copying graph_path and the name hint, which may be NULL). */
WL_NODISCARD wl_status wl_tensor_refs_push(wl_tensor_refs *l, const struct wl_pb_field *fld,
                                           wl_tensor_origin origin, const char *graph_path,
                                           const uint8_t *hint, size_t hint_len, wl_err *err);
void wl_tensor_refs_clear(wl_tensor_refs *l);

/* One TensorProto's header, decoded without touching its payload. */
typedef struct wl_tensor {
    char *name; /* owned, NUL-terminated ("" when absent) */
    int64_t dims[WL_MAX_RANK];
    int rank;
    int64_t data_type;
    uint64_t n_elems;   /* product of dims (checked) */
    const uint8_t *raw; /* raw_data inside the mapping, or NULL */
    size_t raw_len;
    int has_raw;
    uint64_t n_typed; /* number of values in the typed *_data fields */
    int is_external;
    char *ext_location; /* owned */
    uint64_t ext_offset;
    uint64_t ext_length;
    int has_ext_length;
    const uint8_t *msg; /* the TensorProto message (for protobuf-c on typed fields) */
    size_t msg_len;
    size_t file_offset;
    const wl_mapfile *map; /* the file raw points into, and external paths are relative to
                              (borrowed; NULL for a tensor built in memory) */
} wl_tensor;

/* Decodes the header of the TensorProto at ref and checks it: dims (0 <= d <= WL_MAX_DIM, rank
 * <= WL_MAX_RANK, product fits), and that the stored payload has exactly prod(dims) elements of
 * the data type. Unsupported-but-known data types are not an error here (see
 * wl_tensor_is_numeric). Free with wl_tensor_clear. */
WL_NODISCARD wl_status wl_tensor_parse(const wl_onnx_file *f, const wl_tensor_ref *ref,
                                       uint64_t max_bytes, wl_tensor *t, wl_err *err);
void wl_tensor_clear(wl_tensor *t);

/* Widens the tensor's n_elems values to double into dst (n_elems values), reading raw_data in
 * place, typed fields through protobuf-c, or external data (path contained in the model's
 * directory). */
WL_NODISCARD wl_status wl_tensor_to_double(const wl_tensor *t, double *dst, wl_err *err);

/* A consumer of widened values that wants them while they are still in cache: fn(ctx, dst, n)
 * is called once dst[0..n) hold their values, for increasing n, at least every `step` values
 * of raw and external data (typed fields: once, at the end). */
typedef struct wl_widen_sink {
    void (*fn)(void *ctx, double *dst, size_t n);
    void *ctx;
    size_t step;
} wl_widen_sink;

/* wl_tensor_to_double, feeding sink as it goes (NULL: the same as wl_tensor_to_double). */
WL_NODISCARD wl_status wl_tensor_to_double_sink(const wl_tensor *t, double *dst,
                                                const wl_widen_sink *sink, wl_err *err);

/* Maps the stored bytes of a raw_data or external-data tensor read-only; p->data and p->len
 * describe them; release with wl_payload_unmap. Typed-field tensors give WL_E_INTERNAL. */
typedef struct wl_payload {
    const uint8_t *data;
    size_t len;
    void *map; /* external mapping to release, or NULL */
    size_t map_len;
} wl_payload;
WL_NODISCARD wl_status wl_tensor_map_payload(const wl_tensor *t, wl_payload *p, wl_err *err);
void wl_payload_unmap(wl_payload *p);

/* Tells the kernel the pages of this tensor's payload in the mapping are no longer needed, so
 * that resident memory stays bounded by one tensor. The range is rounded outward to pages: a
 * neighbour's page dropped too costs it a minor fault, never a wrong byte. */
void wl_tensor_release_pages(const wl_tensor *t);

/* The same for the whole mapping of the model file (after the header pass, whose reads leave
 * the page-cache folio around every tensor header mapped). */
void wl_onnx_release_pages(const wl_onnx_file *f);

/* wl_tensor_to_double widens raw and external data in chunks of this many source bytes and
 * releases each chunk's pages once consumed, so the mapped file adds at most this much (plus a
 * page-cache folio at either end, WL_WIDEN_WINDOW_BYTES in all) to resident memory while a
 * tensor is widened, whatever its size (issue #13). */
#define WL_WIDEN_CHUNK_BYTES  ((size_t)4 << 20)
#define WL_WIDEN_WINDOW_BYTES ((uint64_t)8 << 20)

#endif
