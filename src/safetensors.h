/*
 * safetensors.h — a safetensors checkpoint (one file, or a sharded folder with its
 * model.safetensors.index.json) mapped read-only, its header read with jansson and checked,
 * listed as format-neutral tensor headers (onnx_model.h's wl_tensor: name, dims, an ONNX data
 * type code, and the payload inside the shard's mapping). The analysis never sees the format.
 *
 * The format (huggingface/safetensors, docs and the Rust crate's validation): 8 bytes of
 * little-endian u64 N, N bytes of a JSON object (padded with spaces), then the byte buffer.
 * Each key but "__metadata__" is a tensor {"dtype", "shape", "data_offsets": [begin, end]},
 * offsets relative to the buffer; "__metadata__" maps strings to strings.
 */
#ifndef WL_SAFETENSORS_H
#define WL_SAFETENSORS_H

#include "mapfile.h"
#include "onnx_model.h"

#include <stddef.h>
#include <stdint.h>

/* The Rust crate's MAX_HEADER_SIZE: a larger header is refused before it is parsed. */
#define WL_ST_MAX_HEADER_BYTES ((uint64_t)100000000)

typedef struct wl_st_checkpoint {
    char *path;         /* as given: a .safetensors file, an index JSON or a folder (owned) */
    wl_mapfile **files; /* the shards, in the index's order (one for a single file) */
    size_t n_files;
    wl_tensor *tensors; /* every tensor, shard by shard, each shard's in offset order; each
                           tensor's map is its shard's mapping */
    size_t n;
    char *metadata; /* the first file's __metadata__ as compact JSON, "" if none (owned) */
    char *producer; /* "safetensors", with __metadata__'s "format" if any: "safetensors (format
                       pt)" (owned) */
} wl_st_checkpoint;

/* Is path meant as safetensors input: a name ending in .safetensors or .safetensors.index.json,
 * or a folder holding model.safetensors.index.json or *.safetensors files. Never reads a
 * payload; a path that does not exist answers 0. */
int wl_st_is_checkpoint_path(const char *path);

/* Opens path (see wl_st_is_checkpoint_path) and checks everything: the header length (within
 * the file and the cap), the header is a JSON object with unique UTF-8 names, every dtype known,
 * every shape a list of dims in [0, WL_MAX_DIM] of rank <= WL_MAX_RANK, dtype x shape = the
 * offsets' byte length, the offsets inside the buffer, in order without overlap or gap and
 * covering it; for an index, every weight_map path contained in the index's folder, every
 * listed tensor in its shard and every shard tensor listed, no name in two shards. A tensor
 * larger than max_tensor_bytes (0: no limit) is refused (WL_E_LIMIT). Failure: WL_E_FORMAT,
 * WL_E_IO, WL_E_LIMIT or WL_E_NOMEM, the message naming the file, the tensor or byte offset, and
 * the problem; *out is NULL. */
WL_NODISCARD wl_status wl_st_open(const char *path, uint64_t max_tensor_bytes,
                                  wl_st_checkpoint **out, wl_err *err);
void wl_st_close(wl_st_checkpoint *c);

/* The safetensors dtype name of an ONNX data type code ("F32"), or "?" */
const char *wl_st_dtype_name(int64_t onnx_type);

#endif
