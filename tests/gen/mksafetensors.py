#!/usr/bin/python3
"""mksafetensors.py — writes the safetensors checkpoints the tests read (issue 15), from an ONNX model.

    mksafetensors.py IN.onnx OUTDIR

The format (huggingface/safetensors): 8 bytes of little-endian u64 N, N bytes of a JSON object
padded with spaces (here to a multiple of 8, as the Rust crate does), then the byte buffer. Each
key but "__metadata__" is a tensor {"dtype", "shape", "data_offsets": [begin, end]}, the offsets
relative to the buffer; "__metadata__" maps strings to strings. The writer is written from that
description, not with the safetensors package (not in Debian), so the tests do not trust the code
they check.

Good checkpoints (every initializer of IN as a float; rank-2 weights in PyTorch's [out, in]
layout: a weight that Gemm consumes with transB=0, or that MatMul consumes as B, is transposed,
since ONNX keeps those as [in, out]; header keys sorted by name, data in the same order,
"__metadata__" {"format": "pt"}):

  mlp.safetensors                 F32
  mlp-f16.safetensors             F16 (numpy's float32 -> float16 cast: round to nearest even)
  mlp-bf16.safetensors            BF16 (round to nearest even from the float32 bits, NaN kept quiet)
  mlp-f64.safetensors             F64
  mlp-f16-upcast.safetensors      F32: the exact float32 values of mlp-f16's halves
  mlp-bf16-upcast.safetensors     F32: the exact float32 values of mlp-bf16's bfloat16s
  sharded/                        mlp.safetensors in two shards (first half of the names, second
                                  half) and model.safetensors.index.json
                                  {"metadata": {"total_size": N}, "weight_map": {name: file}}
  tied.safetensors                mlp plus "lm_head.weight", a byte-identical copy of the first
                                  rank-2 weight
  conv.safetensors                "conv1.weight": the first rank-2 weight [o, i] reshaped to rank 4
                                  [o/4, 4i/k^2, k, k] (k the largest of 7, 5, 3, 1 that fits;
                                  fashion_mlp: [128, 64, 7, 7]), and "norm.weight" (ones, rank 1)
  tiny.safetensors                two F32 tensors "a" [2, 2] and "b" [4] (a fuzz seed; the names
                                  fuzz_safetensors's fixed index lists)
  dtypes.safetensors              one [2, 3] tensor "t_<dtype>" per dtype the reader knows (F64 F32
                                  F16 BF16 F8_E4M3 F8_E5M2 I8 U8 I16 U16 I32 U32 I64 U64 BOOL),
                                  fixed edge-value bytes (BOOL: 0 and 1)

Bad files (bad/), each wrong in exactly one way, on tiny tensors unless said otherwise; every one
must be refused (exit 3):

  header-len-beyond-file          N larger than the whole file
  truncated                       mlp.safetensors cut in the middle of its buffer
  overlap                         two tensors whose data_offsets overlap
  shape-mismatch                  shape x dtype size != end - begin
  unknown-dtype                   dtype "F12"
  not-json                        header bytes that are not JSON
  duplicate-names                 the same key twice in the JSON text
  huge-header                     N = 200,000,000 (over the 100,000,000 cap), the file small
  index-escape/                   model.safetensors.index.json whose weight_map names
                                  "../mlp.safetensors", next to a valid copy of mlp.safetensors
                                  (so only the containment is wrong)
  gap                             unused bytes between two tensors
  offsets-beyond                  the last tensor's end past the buffer
  bad-utf8-name                   a key with invalid UTF-8 bytes
  rank-too-high                   a rank-17 shape

OUTDIR/manifest.txt lists every file written, one per line: path (relative to OUTDIR), a tab,
"good", "bad" or "shard" (a valid file a bad index names), a tab, and what it is. The output is deterministic: a rerun writes the same
bytes. Needs Debian's python3-onnx (and its python3-numpy).
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

META = {"format": "pt"}


def header_bytes(obj_json):
    """The JSON text (str or bytes) padded with spaces to a multiple of 8."""
    raw = obj_json.encode("utf-8") if isinstance(obj_json, str) else obj_json
    return raw + b" " * (-len(raw) % 8)


def dumps(obj):
    # Compact, key order as inserted (the caller sorts), like serde_json's output.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def encode(tensors, metadata=META):
    """tensors: list of (name, dtype name, shape, bytes), in buffer order. Returns the file."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    off = 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = header_bytes(dumps(header))
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def raw_file(header_text, buf, n_override=None):
    """A file from hand-written header text (str or bytes) and a buffer; N may be overridden."""
    h = header_bytes(header_text)
    n = len(h) if n_override is None else n_override
    return struct.pack("<Q", n) + h + buf


def to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bits, round to nearest even; NaN stays a quiet NaN."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4")
    rounded = (u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)
    nan = (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    quiet = (u >> np.uint32(16)) | np.uint32(0x0040)
    return np.where(nan, quiet, rounded).astype("<u2")


def bf16_bits_to_f32(b):
    return (b.astype("<u4") << np.uint32(16)).view("<f4")


def pytorch_layout(model):
    """The initializers of model as float32 arrays, name -> array, rank-2 weights as [out, in]."""
    g = model.graph
    arrays = {}
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if not np.issubdtype(a.dtype, np.floating):
            continue
        arrays[init.name] = np.ascontiguousarray(a.astype(np.float32))
    transposed = set()
    for node in g.node:
        if node.op_type == "Gemm" and len(node.input) > 1:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if not attrs.get("transB", 0):
                transposed.add(node.input[1])
        elif node.op_type == "MatMul" and len(node.input) > 1:
            transposed.add(node.input[1])
    for name in transposed:
        if name in arrays and arrays[name].ndim == 2:
            arrays[name] = np.ascontiguousarray(arrays[name].T)
    return dict(sorted(arrays.items()))


def as_dtype(arrays, dt):
    """(name, dtype, shape, bytes) for every array in dt; and the exact float32 upcast."""
    out, up = [], []
    for name, a in arrays.items():
        if dt == "F32":
            v, u = a.astype("<f4"), a.astype("<f4")
        elif dt == "F64":
            v, u = a.astype("<f8"), a.astype("<f8")
        elif dt == "F16":
            v = a.astype("<f2")
            u = v.astype("<f4")
        elif dt == "BF16":
            v = to_bf16_bits(a)
            u = bf16_bits_to_f32(v)
        else:
            raise ValueError(dt)
        out.append((name, dt, a.shape, v.tobytes()))
        up.append((name, "F32", a.shape, u.tobytes()))
    return out, up


def f32(name, shape, values=None):
    n = int(np.prod(shape)) if shape else 1
    v = np.arange(n, dtype="<f4") * np.float32(0.25) + np.float32(1) if values is None else values
    return (name, "F32", list(shape), np.asarray(v, dtype="<f4").tobytes())


DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1,
               "U8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8, "BOOL": 1}


def dtype_tensors():
    """(name, dtype, [2, 3], bytes) per dtype: edge bytes (0x00, 0x01, 0x7f, 0x80, 0xff, ...)."""
    edge = bytes([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x3C, 0x40, 0x7E, 0xF8, 0x55, 0xAA, 0x10])
    out = []
    for dt, size in DTYPE_BYTES.items():
        n = 6 * size
        data = bytes([1, 0, 1, 1, 0, 0]) if dt == "BOOL" else (edge * 8)[:n]
        out.append(("t_" + dt.lower(), dt, [2, 3], data))
    return out


class Out:
    def __init__(self, root):
        self.root = root
        self.manifest = []

    def write(self, rel, data, kind, what):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.manifest.append((rel, kind, what))

    def finish(self):
        lines = "".join("%s\t%s\t%s\n" % m for m in sorted(self.manifest))
        with open(os.path.join(self.root, "manifest.txt"), "w") as f:
            f.write(lines)


def tiny_header(entries, metadata=META):
    """Header text for hand-placed tensors: entries of (name, dtype, shape, [begin, end])."""
    h = {}
    if metadata is not None:
        h["__metadata__"] = metadata
    for name, dt, shape, offs in entries:
        h[name] = {"dtype": dt, "shape": shape, "data_offsets": offs}
    return dumps(h)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: mksafetensors.py IN.onnx OUTDIR\n")
        return 2
    model = onnx.load(sys.argv[1])
    o = Out(sys.argv[2])
    arrays = pytorch_layout(model)
    if not any(a.ndim == 2 for a in arrays.values()):
        sys.stderr.write("mksafetensors.py: %s has no rank-2 float initializer\n" % sys.argv[1])
        return 1

    # The good checkpoints.
    f32_tensors, _ = as_dtype(arrays, "F32")
    mlp = encode(f32_tensors)
    o.write("mlp.safetensors", mlp, "good", "every initializer, F32, [out, in]")
    for dt in ("F16", "BF16", "F64"):
        t, up = as_dtype(arrays, dt)
        lo = dt.lower()
        o.write("mlp-%s.safetensors" % lo, encode(t), "good", "the same weights in %s" % dt)
        if dt in ("F16", "BF16"):
            o.write("mlp-%s-upcast.safetensors" % lo, encode(up), "good",
                    "F32: the exact upcast of mlp-%s's values" % lo)

    half = (len(f32_tensors) + 1) // 2
    parts = [f32_tensors[:half], f32_tensors[half:]]
    weight_map = {}
    for k, part in enumerate(parts):
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, len(parts))
        o.write("sharded/" + fname, encode(part), "good", "shard %d of mlp.safetensors" % (k + 1))
        for t in part:
            weight_map[t[0]] = fname
    index = {"metadata": {"total_size": sum(len(t[3]) for t in f32_tensors)},
             "weight_map": dict(sorted(weight_map.items()))}
    o.write("sharded/model.safetensors.index.json", (json.dumps(index, indent=2) + "\n").encode(),
            "good", "the index of the two shards")

    first2 = next(n for n, a in arrays.items() if a.ndim == 2)
    tied = dict(arrays)
    tied["lm_head.weight"] = arrays[first2].copy()
    tied_t, _ = as_dtype(dict(sorted(tied.items())), "F32")
    o.write("tied.safetensors", encode(tied_t), "good",
            "mlp plus lm_head.weight, a byte-identical copy of %s" % first2)

    w = arrays[first2]
    rows, cols = w.shape
    k = next(k for k in (7, 5, 3, 1) if rows % 4 == 0 and (4 * cols) % (k * k) == 0) \
        if rows % 4 == 0 else 1
    shape4 = [rows // 4, 4 * cols // (k * k), k, k] if rows % 4 == 0 else [rows, cols, 1, 1]
    conv = [("conv1.weight", "F32", shape4, w.reshape(shape4).astype("<f4").tobytes()),
            f32("norm.weight", [shape4[0]], np.ones(shape4[0], dtype="<f4"))]
    o.write("conv.safetensors", encode(conv), "good",
            "conv1.weight %s (%s's values), norm.weight [%d]" % (shape4, first2, shape4[0]))

    o.write("tiny.safetensors", encode([f32("a", [2, 2]), f32("b", [4])]), "good",
            "a [2, 2] and b [4], F32")
    o.write("dtypes.safetensors", encode(sorted(dtype_tensors())), "good",
            "one [2, 3] tensor per dtype")

    # The bad files: one fault each.
    small = encode([f32("a", [2, 2]), f32("b", [4])])
    o.write("bad/header-len-beyond-file.safetensors",
            struct.pack("<Q", len(small) + 1000) + small[8:], "bad",
            "N = %d, the file is %d bytes" % (len(small) + 1000, len(small)))

    hdr_len = 8 + struct.unpack("<Q", mlp[:8])[0]
    cut = hdr_len + (len(mlp) - hdr_len) // 2 + 3
    o.write("bad/truncated.safetensors", mlp[:cut], "bad",
            "mlp.safetensors cut at byte %d of %d (inside the buffer)" % (cut, len(mlp)))

    buf24 = bytes(range(24))
    o.write("bad/overlap.safetensors",
            raw_file(tiny_header([("a", "F32", [4], [0, 16]), ("b", "F32", [4], [8, 24])]), buf24),
            "bad", "a [0, 16] and b [8, 24] overlap")

    o.write("bad/shape-mismatch.safetensors",
            raw_file(tiny_header([("a", "F32", [2, 3], [0, 20])]), bytes(20)),
            "bad", "a: F32 [2, 3] is 24 bytes, data_offsets [0, 20] is 20")

    o.write("bad/unknown-dtype.safetensors",
            raw_file(tiny_header([("a", "F12", [4], [0, 16])]), bytes(16)),
            "bad", "dtype F12")

    o.write("bad/not-json.safetensors", raw_file("this is not JSON {", bytes(16)),
            "bad", "the header is not JSON")

    dup = ('{"__metadata__":{"format":"pt"},'
           '"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
           '"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}')
    o.write("bad/duplicate-names.safetensors", raw_file(dup, bytes(32)),
            "bad", "the key \"a\" twice")

    o.write("bad/huge-header.safetensors", raw_file(tiny_header([("a", "F32", [4], [0, 16])]),
                                                    bytes(16), n_override=200000000),
            "bad", "N = 200000000 (cap 100000000), the file small")

    esc = {"metadata": {"total_size": sum(len(t[3]) for t in f32_tensors)},
           "weight_map": {t[0]: "../mlp.safetensors" for t in f32_tensors}}
    o.write("bad/index-escape/model.safetensors.index.json",
            (json.dumps(esc, indent=2) + "\n").encode(), "bad",
            "weight_map names ../mlp.safetensors (outside the index's folder)")
    o.write("bad/index-escape/mlp.safetensors", mlp, "shard",
            "a valid copy of mlp.safetensors next to index-escape's index")

    o.write("bad/gap.safetensors",
            raw_file(tiny_header([("a", "F32", [4], [0, 16]), ("b", "F32", [4], [24, 40])]),
                     bytes(40)),
            "bad", "bytes [16, 24) between a and b are unused")

    o.write("bad/offsets-beyond.safetensors",
            raw_file(tiny_header([("a", "F32", [4], [0, 16]), ("b", "F32", [4], [16, 32])]),
                     bytes(24)),
            "bad", "b ends at 32, the buffer is 24 bytes")

    bad_name = (b'{"__metadata__":{"format":"pt"},'
                b'"fc\xff\xfe.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')
    o.write("bad/bad-utf8-name.safetensors", raw_file(bad_name, bytes(16)),
            "bad", "a key holding the bytes ff fe (not UTF-8)")

    o.write("bad/rank-too-high.safetensors",
            raw_file(tiny_header([("a", "F32", [1] * 17, [0, 4])]), bytes(4)),
            "bad", "shape of rank 17 (WL_MAX_RANK is 16)")

    o.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
