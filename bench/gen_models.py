#!/usr/bin/python3
"""
gen_models.py — writes the benchmark models of `make bench` (issue 4, item 5) into a cache
directory outside the repository, each only if it is missing. Weights are seeded Gaussian
(N(0, 1/fan_in), the He/LeCun scale), so every machine benchmarks the same bytes.

  gen1g      ~1 GiB fp32: 64 initializers 1024x4096 in raw_data, one MatMul each, summed
  gen1g-st   gen1g's weights as a safetensors checkpoint (the same 64 matrices, transposed)
  chain40    40 fp32 1024x4096 MatMul weights chained one after another (x @ W, reshaped back
             to [-1, 1024] for the next), 671 MB raw_data: issue 13's memory-bound case
  resnet50   ResNet-50 (torchvision v1.5 shapes) fp32: 53 convs (+bias, BN folded) and fc 1000x2048
  bert-base  12 layers x (Q,K,V,O 768x768, FFN 768x3072 and 3072x768), word emb 30522x768,
             position emb 512x768, fp32 raw_data
  llm1b      Llama-3.2-1B-like fp16, EXTERNAL DATA in llm1b.onnx.data beside it: 16 layers x
             [q,o 2048x2048, k,v 2048x512, gate/up 2048x8192, down 8192x2048], tied embedding
             128256x2048; 2.47 GB
  isnet      ISNet's (the real background-removal model, tests/real) 119 fp16 3x3 convs with
             their shapes in their order, one graph input per input width, +bias: 88 MB; 113
             of them have >= 10 eigenvalues per slice (1,017 slices), the 6 with one output
             channel are skipped as in the real model
  llm1b-q4   the same weights as MatMulNBits (bits 4, block 32, float scales, packed zero
             points), external data, lm_head = the tied embedding (K 2048, N 128256); 0.8 GB

Beside each <model>.onnx it writes <model>.shapes, one line per analyzed weight tensor:
    rows cols count name
where rows x cols is the matrix weightlint factors (dims[0] x dims[1]) and count the number of
such slices (kh*kw for a conv kernel [out,in,kh,kw], 1 for a dense weight). bench/lapack_floor
reads it. The .shapes file is written last, so its presence means the model is complete.

Python + numpy + onnx (Debian python3-numpy, python3-onnx) rather than a protobuf-c program:
onnx.helper builds valid graphs in a few lines and onnx.checker validates them, numpy's
default_rng fills 1.2 G values in seconds, and the generator is never timed.

usage: gen_models.py [--cache DIR] [--force] [MODEL...]     (default: all)
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

SEED = 20261122
OPSET = 13
CHUNK = 1 << 24  # values generated per numpy call (64 MB of float32)


def rng_for(name):
    """One seeded stream per tensor, so a tensor's bytes do not depend on the others."""
    return np.random.default_rng([SEED, hash_name(name)])


def hash_name(name):
    """FNV-1a 64 of the name (Python's hash() is salted per process)."""
    h = 1469598103934665603
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def gaussian(name, shape, fan_in, dtype):
    """Seeded N(0, 1/fan_in) array of `shape`, built in chunks (float32 draws, then cast)."""
    n = int(np.prod(shape))
    out = np.empty(n, dtype=dtype)
    g = rng_for(name)
    scale = np.float32(1.0 / np.sqrt(fan_in))
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        out[lo:hi] = g.standard_normal(hi - lo, dtype=np.float32) * scale
    return out.reshape(shape)


def fp32_init(name, shape, fan_in):
    a = gaussian(name, shape, fan_in, np.float32)
    return helper.make_tensor(name, TensorProto.FLOAT, list(shape), a.tobytes(), raw=True)


class Shapes:
    """Collects the analyzed tensors as (rows, cols, count, name)."""

    def __init__(self):
        self.rows = []

    def add(self, name, shape):
        if len(shape) == 2:
            self.rows.append((shape[0], shape[1], 1, name))
        elif len(shape) == 4:
            self.rows.append((shape[0], shape[1], shape[2] * shape[3], name))

    def write(self, path, header):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("# %s\n# rows cols count name  (one analyzed weight tensor per line)\n" % header)
            for r, c, k, n in self.rows:
                f.write("%d %d %d %s\n" % (r, c, k, n))
        os.replace(tmp, path)


def save_model(graph, path, producer):
    model = helper.make_model(graph, producer_name="weightlint-bench",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.doc_string = producer
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
    onnx.checker.check_model(tmp)  # by path: external data is looked up beside the file
    os.replace(tmp, path)


# ---------------------------------------------------------------- gen1g

def gen_gen1g(path):
    n_mat, rows, cols = 64, 1024, 4096
    inits, nodes, outs, shapes = [], [], [], Shapes()
    for i in range(n_mat):
        name = "w%02d" % i
        inits.append(fp32_init(name, (rows, cols), rows))
        shapes.add(name, (rows, cols))
        nodes.append(helper.make_node("MatMul", ["x", name], ["y%02d" % i], name="mm%02d" % i))
        outs.append("y%02d" % i)
    nodes.append(helper.make_node("Sum", outs, ["y"], name="sum"))
    graph = helper.make_graph(
        nodes, "gen1g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", cols])], inits)
    save_model(graph, path, "64 x MatMul 1024x4096 fp32, seeded N(0,1/1024)")
    return shapes, "gen1g: 64 x 1024x4096 fp32 (1.07 GB raw_data)"


# ---------------------------------------------------------------- chain40

def gen_chain40(path):
    n_mat, rows, cols = 40, 1024, 4096
    inits, nodes, shapes = [], [], Shapes()
    shape_t = helper.make_tensor("shape", TensorProto.INT64, [2],
                                 np.array([-1, rows], np.int64).tobytes(), raw=True)
    inits.append(shape_t)
    x = "x"
    for i in range(n_mat):
        name = "w%02d" % i
        inits.append(fp32_init(name, (rows, cols), rows))
        shapes.add(name, (rows, cols))
        nodes.append(helper.make_node("MatMul", [x, name], ["y%02d" % i], name="mm%02d" % i))
        nodes.append(helper.make_node("Reshape", ["y%02d" % i, "shape"], ["h%02d" % i],
                                      name="reshape%02d" % i))
        x = "h%02d" % i
    graph = helper.make_graph(
        nodes, "chain40",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", rows])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["B2", rows])], inits)
    save_model(graph, path, "40 x MatMul 1024x4096 fp32 chained, seeded N(0,1/1024)")
    return shapes, "chain40: 40 x 1024x4096 fp32 chained (671 MB raw_data)"


# ---------------------------------------------------------------- resnet50

def gen_resnet50(path):
    inits, nodes, shapes = [], [], Shapes()

    def conv(x, name, cout, cin, k, stride, relu=True):
        w, b = name + ".weight", name + ".bias"
        inits.append(fp32_init(w, (cout, cin, k, k), cin * k * k))
        inits.append(helper.make_tensor(b, TensorProto.FLOAT, [cout],
                                        np.zeros(cout, np.float32).tobytes(), raw=True))
        shapes.add(w, (cout, cin, k, k))
        y = name + ".out"
        nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        if not relu:
            return y
        nodes.append(helper.make_node("Relu", [y], [y + ".relu"], name=name + ".relu"))
        return y + ".relu"

    x = conv("input", "conv1", 64, 3, 7, 2)
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="maxpool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool", 64
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2),
                                                     (512, 3, 2)], start=1):
        for b in range(blocks):
            p = "layer%d.%d" % (stage, b)
            s = stride if b == 0 else 1
            h = conv(x, p + ".conv1", width, cin, 1, 1)
            h = conv(h, p + ".conv2", width, width, 3, s)  # v1.5: stride on the 3x3
            h = conv(h, p + ".conv3", 4 * width, width, 1, 1, relu=False)
            skip = x
            if b == 0:
                skip = conv(x, p + ".downsample", 4 * width, cin, 1, s, relu=False)
            nodes.append(helper.make_node("Add", [h, skip], [p + ".add"], name=p + ".add"))
            nodes.append(helper.make_node("Relu", [p + ".add"], [p + ".out"], name=p + ".relu"))
            x, cin = p + ".out", 4 * width
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="avgpool"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1))
    inits.append(fp32_init("fc.weight", (1000, 2048), 2048))
    inits.append(helper.make_tensor("fc.bias", TensorProto.FLOAT, [1000],
                                    np.zeros(1000, np.float32).tobytes(), raw=True))
    shapes.add("fc.weight", (1000, 2048))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                                  transB=1))
    graph = helper.make_graph(
        nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["B", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", 1000])], inits)
    save_model(graph, path, "ResNet-50 v1.5 shapes, BN folded, seeded He-scale weights")
    return shapes, "resnet50: 53 convs + fc fp32 (102 MB)"


# ---------------------------------------------------------------- isnet (fp16 convs)

# (out, in) of the 3x3 convs of @imgly/background-removal-data 1.4.5's isnet_fp16.onnx, in
# node order (from its initializers: tests/real/get-real-models.sh fetches it).
ISNET_CONVS = [
    (64, 3), (64, 64), (32, 64)] + [(32, 32)] * 6 + [(32, 64)] * 5 + [
    (64, 64), (128, 64), (32, 128)] + [(32, 32)] * 5 + [(32, 64)] * 4 + [
    (128, 64), (256, 128), (64, 256)] + [(64, 64)] * 4 + [(64, 128)] * 3 + [
    (256, 128), (512, 256), (128, 512)] + [(128, 128)] * 3 + [(128, 256)] * 2 + [
    (512, 256), (512, 512), (256, 512)] + [(256, 256)] * 3 + [(256, 512)] * 2 + [
    (512, 512), (512, 512), (256, 512)] + [(256, 256)] * 3 + [(256, 512)] * 2 + [
    (512, 512), (512, 1024), (256, 512)] + [(256, 256)] * 3 + [(256, 512)] * 2 + [
    (512, 512), (256, 1024), (128, 256)] + [(128, 128)] * 3 + [(128, 256)] * 2 + [
    (256, 256), (128, 512), (64, 128)] + [(64, 64)] * 4 + [(64, 128)] * 3 + [
    (128, 128), (64, 256), (32, 64)] + [(32, 32)] * 5 + [(32, 64)] * 4 + [
    (64, 64), (64, 128), (16, 64)] + [(16, 16)] * 6 + [(16, 32)] * 5 + [
    (64, 32), (1, 64), (1, 64), (1, 128), (1, 256), (1, 512), (1, 512)]


def gen_isnet(path):
    inits, nodes, outs, shapes, widths = [], [], [], Shapes(), set()
    for i, (cout, cin) in enumerate(ISNET_CONVS):
        w, b = "conv%03d.weight" % i, "conv%03d.bias" % i
        a = gaussian(w, (cout, cin, 3, 3), cin * 9, np.float16)
        inits.append(helper.make_tensor(w, TensorProto.FLOAT16, [cout, cin, 3, 3], a.tobytes(),
                                        raw=True))
        inits.append(helper.make_tensor(b, TensorProto.FLOAT16, [cout],
                                        np.zeros(cout, np.float16).tobytes(), raw=True))
        if cout >= 10:  # min(out, in) >= 10 eigenvalues per slice, or the layer is skipped
            shapes.add(w, (cout, cin, 3, 3))
        widths.add(cin)
        nodes.append(helper.make_node("Conv", ["x%d" % cin, w, b], ["y%03d" % i],
                                      name="conv%03d" % i, kernel_shape=[3, 3], pads=[1] * 4))
        outs.append(helper.make_tensor_value_info("y%03d" % i, TensorProto.FLOAT16,
                                                  ["B", cout, "H", "W"]))
    graph = helper.make_graph(
        nodes, "isnet",
        [helper.make_tensor_value_info("x%d" % c, TensorProto.FLOAT16, ["B", c, "H", "W"])
         for c in sorted(widths)], outs, inits)
    save_model(graph, path, "ISNet's 119 fp16 3x3 conv shapes, seeded He-scale weights")
    return shapes, "isnet: ISNet's 119 fp16 3x3 convs, 113 analyzed = 1017 slices (88 MB)"


# ---------------------------------------------------------------- bert-base

def gen_bert(path):
    d, ff, vocab, npos, n_layers = 768, 3072, 30522, 512, 12
    inits, nodes, shapes = [], [], Shapes()

    def weight(name, shape):
        inits.append(fp32_init(name, shape, shape[0]))
        shapes.add(name, shape)
        return name

    def mm(x, w, y):
        nodes.append(helper.make_node("MatMul", [x, w], [y], name=y))
        return y

    we = weight("embeddings.word_embeddings.weight", (vocab, d))
    pe = weight("embeddings.position_embeddings.weight", (npos, d))
    nodes.append(helper.make_node("Gather", [we, "input_ids"], ["emb.w"], name="emb.word"))
    nodes.append(helper.make_node("Gather", [pe, "position_ids"], ["emb.p"], name="emb.pos"))
    nodes.append(helper.make_node("Add", ["emb.w", "emb.p"], ["h0"], name="emb.add"))
    x = "h0"
    for i in range(n_layers):
        p = "encoder.layer.%d." % i
        q = mm(x, weight(p + "attention.self.query.weight", (d, d)), p + "q")
        k = mm(x, weight(p + "attention.self.key.weight", (d, d)), p + "k")
        v = mm(x, weight(p + "attention.self.value.weight", (d, d)), p + "v")
        nodes.append(helper.make_node("Transpose", [k], [p + "kT"], name=p + "kT", perm=[0, 2, 1]))
        s = mm(q, p + "kT", p + "scores")
        nodes.append(helper.make_node("Softmax", [s], [p + "probs"], name=p + "softmax", axis=-1))
        a = mm(p + "probs", v, p + "ctx")
        o = mm(a, weight(p + "attention.output.dense.weight", (d, d)), p + "attn_out")
        nodes.append(helper.make_node("Add", [x, o], [p + "res1"], name=p + "res1"))
        h = mm(p + "res1", weight(p + "intermediate.dense.weight", (d, ff)), p + "ffn_in")
        nodes.append(helper.make_node("Relu", [h], [p + "act"], name=p + "act"))
        h = mm(p + "act", weight(p + "output.dense.weight", (ff, d)), p + "ffn_out")
        nodes.append(helper.make_node("Add", [p + "res1", h], [p + "res2"], name=p + "res2"))
        x = p + "res2"
    graph = helper.make_graph(
        nodes, "bert-base",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "S"]),
         helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["B", "S"])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["B", "S", d])], inits)
    save_model(graph, path, "BERT-base shapes (single-head attention graph), seeded weights")
    return shapes, "bert-base: 12 x (4 x 768^2 + 768x3072 + 3072x768) + embeddings fp32 (438 MB)"


# ---------------------------------------------------------------- llm1b (fp16, external data)

def ext_tensor(f, data_name, name, data_type, shape, a):
    """A TensorProto whose bytes (numpy array a) are appended to the open external-data file f
    at a page-aligned offset, as onnx's own saver can do."""
    pad = (-f.tell()) % 4096
    f.write(b"\0" * pad)
    offset = f.tell()
    f.write(np.ascontiguousarray(a).tobytes())
    t = TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(int(d) for d in shape)
    t.data_location = TensorProto.EXTERNAL
    for key, val in (("location", data_name), ("offset", str(offset)),
                     ("length", str(f.tell() - offset))):
        e = t.external_data.add()
        e.key, e.value = key, val
    return t


def gen_llm1b(path):
    d, kv, ff, vocab, n_layers = 2048, 512, 8192, 128256, 16
    data_name = os.path.basename(path) + ".data"
    data_path = path + ".data"
    inits, nodes, shapes = [], [], Shapes()
    tmp_data = data_path + ".tmp"
    f = open(tmp_data, "wb")

    def weight(name, shape):
        a = gaussian(name, shape, shape[0], np.float16)
        inits.append(ext_tensor(f, data_name, name, TensorProto.FLOAT16, shape, a))
        shapes.add(name, shape)
        return name

    def mm(x, w, y):
        nodes.append(helper.make_node("MatMul", [x, w], [y], name=y))
        return y

    emb = weight("model.embed_tokens.weight", (vocab, d))
    nodes.append(helper.make_node("Gather", [emb, "input_ids"], ["h0"], name="embed"))
    x = "h0"
    for i in range(n_layers):
        p = "model.layers.%d." % i
        q = mm(x, weight(p + "self_attn.q_proj.weight", (d, d)), p + "q")
        k = mm(x, weight(p + "self_attn.k_proj.weight", (d, kv)), p + "k")
        v = mm(x, weight(p + "self_attn.v_proj.weight", (d, kv)), p + "v")
        # A shape-valid stand-in for grouped-query attention: softmax(k vᵀ) q.
        nodes.append(helper.make_node("Transpose", [v], [p + "vT"], name=p + "vT", perm=[0, 2, 1]))
        s = mm(k, p + "vT", p + "scores")
        nodes.append(helper.make_node("Softmax", [s], [p + "probs"], name=p + "softmax", axis=-1))
        a = mm(p + "probs", q, p + "ctx")
        o = mm(a, weight(p + "self_attn.o_proj.weight", (d, d)), p + "attn_out")
        nodes.append(helper.make_node("Add", [x, o], [p + "res1"], name=p + "res1"))
        g = mm(p + "res1", weight(p + "mlp.gate_proj.weight", (d, ff)), p + "gate")
        u = mm(p + "res1", weight(p + "mlp.up_proj.weight", (d, ff)), p + "up")
        nodes.append(helper.make_node("Sigmoid", [g], [p + "sig"], name=p + "sig"))
        nodes.append(helper.make_node("Mul", [g, p + "sig"], [p + "silu"], name=p + "silu"))
        nodes.append(helper.make_node("Mul", [p + "silu", u], [p + "gu"], name=p + "gu"))
        h = mm(p + "gu", weight(p + "mlp.down_proj.weight", (ff, d)), p + "mlp_out")
        nodes.append(helper.make_node("Add", [p + "res1", h], [p + "res2"], name=p + "res2"))
        x = p + "res2"
    nodes.append(helper.make_node("Transpose", [emb], ["lm_head"], name="lm_head.T", perm=[1, 0]))
    mm(x, "lm_head", "logits")  # tied embedding
    f.close()
    os.replace(tmp_data, data_path)
    graph = helper.make_graph(
        nodes, "llm1b",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "S"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT16, ["B", "S", vocab])], inits)
    save_model(graph, path, "Llama-3.2-1B-like shapes, fp16, external data, seeded weights")
    return shapes, "llm1b: 16 x (2 x 2048^2, 2 x 2048x512, 3 x 2048x8192) + emb 128256x2048 fp16, " \
                   "external data (2.47 GB)"


# ---------------------------------------------------------------- llm1b-q4 (MatMulNBits)

def gen_llm1b_q4(path):
    """llm1b's 113 matrices as onnxruntime-genai's int4 export stores them: MatMulNBits, bits 4,
    block 32, float32 scales and packed zero points (asymmetric, the quantizer's default), all in
    external data; the tied embedding is the lm_head MatMulNBits (K 2048, N 128256). The same
    seeded weights as llm1b, quantized as onnxruntime's MlasQuantizeBlockwise does
    (tests/gen/lowbit_models.py nbits_quant)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                    "gen"))
    from lowbit_models import nbits_quant  # noqa: E402 (the one home of the quantizer)
    d, kv, ff, vocab, n_layers = 2048, 512, 8192, 128256, 16
    data_name = os.path.basename(path) + ".data"
    data_path = path + ".data"
    inits, nodes, shapes = [], [], Shapes()
    tmp_data = data_path + ".tmp"
    f = open(tmp_data, "wb")

    def mm(x, name, shape, y, src=None):
        """y = MatMulNBits(x, quantized `name` [K, N] = shape)."""
        k, n = shape
        if src is None:  # llm1b's bytes for this name: N(0, 1/K) float16
            w = gaussian(name, (k, n), k, np.float16).astype(np.float32)
        else:  # llm1b's [vocab, d] embedding, transposed
            w = gaussian(src, (n, k), n, np.float16).astype(np.float32).T
        parts = [nbits_quant(w[:, c:c + 16384], 4, 32, False) for c in range(0, n, 16384)]
        del w
        packed = np.concatenate([p[0] for p in parts])
        scales = np.concatenate([p[1] for p in parts])
        zps = np.concatenate([p[2] for p in parts])
        del parts
        inits.append(ext_tensor(f, data_name, name + "_Q4", TensorProto.UINT8, packed.shape,
                                packed))
        inits.append(ext_tensor(f, data_name, name + "_scales", TensorProto.FLOAT, scales.shape,
                                scales))
        inits.append(ext_tensor(f, data_name, name + "_zero_points", TensorProto.UINT8,
                                zps.shape, zps))
        shapes.add(name + "_Q4", (k, n))
        nodes.append(helper.make_node("MatMulNBits", [x, name + "_Q4", name + "_scales",
                                                      name + "_zero_points"], [y], name=y,
                                      domain="com.microsoft", K=k, N=n, bits=4, block_size=32))
        return y

    x = "hidden"
    for i in range(n_layers):
        p = "model.layers.%d." % i
        q = mm(x, p + "self_attn.q_proj.weight", (d, d), p + "q")
        k = mm(x, p + "self_attn.k_proj.weight", (d, kv), p + "k")
        v = mm(x, p + "self_attn.v_proj.weight", (d, kv), p + "v")
        nodes.append(helper.make_node("Transpose", [v], [p + "vT"], name=p + "vT", perm=[0, 2, 1]))
        nodes.append(helper.make_node("MatMul", [k, p + "vT"], [p + "scores"], name=p + "scores"))
        nodes.append(helper.make_node("Softmax", [p + "scores"], [p + "probs"], name=p + "sm",
                                      axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "probs", q], [p + "ctx"], name=p + "ctx"))
        o = mm(p + "ctx", p + "self_attn.o_proj.weight", (d, d), p + "attn_out")
        nodes.append(helper.make_node("Add", [x, o], [p + "res1"], name=p + "res1"))
        g = mm(p + "res1", p + "mlp.gate_proj.weight", (d, ff), p + "gate")
        u = mm(p + "res1", p + "mlp.up_proj.weight", (d, ff), p + "up")
        nodes.append(helper.make_node("Mul", [g, u], [p + "gu"], name=p + "gu"))
        h = mm(p + "gu", p + "mlp.down_proj.weight", (ff, d), p + "mlp_out")
        nodes.append(helper.make_node("Add", [p + "res1", h], [p + "res2"], name=p + "res2"))
        x = p + "res2"
    # the tied embedding [vocab, d] as the lm_head's B: K = d, N = vocab
    mm(x, "lm_head.weight", (d, vocab), "logits", src="model.embed_tokens.weight")
    f.close()
    os.replace(tmp_data, data_path)
    graph = helper.make_graph(
        nodes, "llm1b-q4",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "S", d])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "S", vocab])], inits)
    model = helper.make_model(graph, producer_name="weightlint-bench",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    model.doc_string = "Llama-3.2-1B-like shapes, MatMulNBits q4 block 32, external data"
    tmp = path + ".tmp"
    with open(tmp, "wb") as fo:
        fo.write(model.SerializeToString())
    os.replace(tmp, path)  # onnx 1.12's checker does not know com.microsoft ops
    return shapes, "llm1b-q4: llm1b's 113 matrices as MatMulNBits 4-bit block 32, external data"


# ---------------------------------------------------------------- gen1g-st

def gen_gen1g_st(path):
    """gen1g's 64 weights as one safetensors checkpoint (PyTorch's [out, in] = [4096, 1024],
    the transpose of the ONNX MatMul B: the same spectra), written by hand: 8-byte header
    length, the JSON header, the data in name order."""
    n_mat, rows, cols = 64, 1024, 4096
    shapes, header, off = Shapes(), {}, 0
    names = ["w%02d" % i for i in range(n_mat)]
    for name in names:
        header[name] = {"dtype": "F32", "shape": [cols, rows], "data_offsets": [off, off + rows * cols * 4]}
        off += rows * cols * 4
        shapes.add(name, (rows, cols))
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in names:
            f.write(np.ascontiguousarray(gaussian(name, (rows, cols), rows, np.float32).T).tobytes())
    os.replace(tmp, path)
    return shapes, "gen1g-st: gen1g's 64 x 1024x4096 fp32 as safetensors (1.07 GB)"


MODELS = {"gen1g": gen_gen1g, "gen1g-st": gen_gen1g_st, "resnet50": gen_resnet50, "isnet": gen_isnet,
          "bert-base": gen_bert,
          "llm1b": gen_llm1b, "llm1b-q4": gen_llm1b_q4, "chain40": gen_chain40}


def model_ext(name):
    """-st models are safetensors checkpoints, the others ONNX files."""
    return ".safetensors" if name.endswith("-st") else ".onnx"


def main():
    default_cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                 os.path.join(os.path.expanduser("~"), ".cache"),
                                 "weightlint-bench")
    ap = argparse.ArgumentParser(description="Generate the weightlint benchmark models (cached).")
    ap.add_argument("--cache", default=default_cache, help="output directory [%(default)s]")
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    ap.add_argument("models", nargs="*", metavar="MODEL", help=" ".join(MODELS))
    args = ap.parse_args()
    for m in args.models:
        if m not in MODELS:
            ap.error("unknown model '%s' (known: %s)" % (m, " ".join(MODELS)))
    os.makedirs(args.cache, exist_ok=True)
    for name in args.models or list(MODELS):
        path = os.path.join(args.cache, name + model_ext(name))
        shapes_path = os.path.join(args.cache, name + ".shapes")
        if not args.force and os.path.exists(path) and os.path.exists(shapes_path):
            continue
        t0 = time.time()
        print("gen_models: generating %s ..." % path, file=sys.stderr, flush=True)
        shapes, header = MODELS[name](path)
        shapes.write(shapes_path, header)
        print("gen_models: %s done in %.1f s" % (name, time.time() - t0), file=sys.stderr,
              flush=True)


if __name__ == "__main__":
    main()
