#!/usr/bin/python3
"""
lowbit_models.py - generated models for `make test-ort` (issue #10, item 4): one model per weight
encoding that transformers.js, Olive, optimum and onnxruntime-genai publish, quantized from
TRAINED weights the way onnxruntime's own quantizers do it, plus, for every weight, a one-node
"probe" model from which onnxruntime itself recovers the matrix it multiplies.

  lowbit_models.py gen OUTDIR [ENCODING...]      (default: every encoding; list: `list`)

For each encoding E it writes OUTDIR/E/:
  model.onnx       the quantized model (weightlint analyzes this)
  manifest.json    the layers weightlint must find (stored tensor, probe, column slice), the
                   probes (model, inputs, output file) and the model's opset
  probe_*.onnx     one node each: the op that consumes the weight, fed an identity matrix
                   (MatMulNBits(A = I_K) gives the K x N dequantized B), or for a standalone
                   DequantizeLinear the DequantizeLinear itself; inputs as probe_*.in<i>.bin
  orig_*.npy       the float32 matrix before quantization, same orientation as the probe output

tests/ort/ort_matrix.js runs the probes in onnxruntime and writes probe_*.out.f64;
tests/ort/check.py compares weightlint with those matrices.

Weights, all trained: the bundled Fashion-MNIST MLP (examples/fashion_mlp_trained.onnx, 89.4 %):
fc1 784x512, fc2 512x256, fc3 256x10 as MatMul B (K x N), for the MatMul-shaped encodings; and
a one-block transformer trained on a copy task (tools/train/train_tiny_transformer.py ->
tests/gen/tiny_transformer.npz, 0.2 MB) for the attention, embedding and gather encodings:
packed QKV 128 x 384, word table 257 x 128, position table 33 x 128.

Quantization follows onnxruntime's sources (python/tools/quantization and MLAS):
  - MatMulNBits: MlasQuantizeBlockwise column-wise (q4_dq.cpp range2scalezp / range2scale:
    scale = (max - min) / (2^bits - 1) with min <= 0 <= max, zp = roundf(-min / scale);
    symmetric: scale = (the larger-magnitude extreme) / -2^(bits-1), zp = 2^(bits-1);
    q = clamp(roundf(v * (1 / scale) + zp)), low bits first); B [N, k_blocks, blob],
    scales [N * k_blocks], packed zero points [N, ceil(k_blocks * bits / 8)].
  - MatMulBnb4: Bᵀ flattened into blocks, absmax per block, v / absmax to the nearest FP4/NF4
    code by onnxruntime's pivots (blockwise_quant_block_bnb4.h), high nibble first.
  - GatherBlockQuantized / blocked QDQ: DefaultWeightOnlyQuantizer.quantize_ndarray
    (asymmetric: scale = (max - min) / 15, zp = round(-min / scale)), ONNX int4 packing.
  - 8-bit dynamic (quantize_dynamic): quant_utils.compute_scale_zp + quantize_nparray
    (uint8 asymmetric with rmin <= 0 <= rmax; int8 symmetric over [-127, 127]).
  - FLOAT8: scale = absmax / (largest finite value), round to nearest (ties to even code),
    saturating, as QuantizeLinear(saturate=1).
Rounding (roundf, half away from zero, vs numpy's half to even) is reproduced where the source
uses it. Whatever the quantizer does, the check is against what onnxruntime computes.

onnx 1.12 (Debian 12) has no FLOAT8/INT4 enum values: those tensors get their data_type set
numerically (17..22) with raw_data packed here; the models are not run through onnx.checker
(which does not know opset 21), onnxruntime loads and runs each probe instead.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MLP = os.path.join(REPO, "examples", "fashion_mlp_trained.onnx")
TINY = os.path.join(HERE, "tiny_transformer.npz")

# TensorProto.DataType values newer than onnx 1.12
FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, UINT4, INT4 = 17, 18, 19, 20, 21, 22
MS = "com.microsoft"
F32 = np.float32


# ------------------------------------------------------------------ small helpers

def roundf(x):
    """C roundf: half away from zero (numpy's round is half to even)."""
    return np.sign(x) * np.floor(np.abs(x) + F32(0.5))


def raw_tensor(name, data_type, dims, raw):
    t = TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(int(d) for d in dims)
    t.raw_data = bytes(raw)
    return t


def arr(name, a):
    return numpy_helper.from_array(np.ascontiguousarray(a), name)


def pack_low_first(q, bits):
    """Packs unsigned codes (flat, values < 2^bits) into bytes, element 0 in the low bits."""
    per = 8 // bits
    q = np.asarray(q, dtype=np.uint8).reshape(-1)
    pad = (-len(q)) % per
    if pad:
        q = np.concatenate([q, np.zeros(pad, np.uint8)])
    q = q.reshape(-1, per).astype(np.uint16)
    out = np.zeros(len(q), np.uint16)
    for j in range(per):
        out |= (q[:, j] & ((1 << bits) - 1)) << (j * bits)
    return out.astype(np.uint8)


def load_mlp():
    m = onnx.load(MLP)
    w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    # Gemm(transB=1) W [out, in] -> MatMul B [K = in, N = out]
    return [("fc1", w["fc1.weight"].T.copy()), ("fc2", w["fc2.weight"].T.copy()),
            ("fc3", w["fc3.weight"].T.copy())]


# ------------------------------------------------------------------ the encoding builder

class Enc:
    """One encoding: the quantized model, its probes and the layers weightlint must find."""

    def __init__(self, name, outdir, opset=13, ms=False, ir=8, doc=""):
        self.name, self.dir = name, os.path.join(outdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.opset, self.ms, self.ir, self.doc = opset, ms, ir, doc
        self.nodes, self.inits, self.layers, self.probes = [], [], [], []
        self.inputs, self.outputs = [], []
        self.n = 0

    def uniq(self, base):
        self.n += 1
        return "%s_%d" % (base, self.n)

    def opsets(self):
        o = [helper.make_opsetid("", self.opset)]
        if self.ms:
            o.append(helper.make_opsetid(MS, 1))
        return o

    def save_model(self, path, graph, opset=None, ir=None):
        model = helper.make_model(graph, producer_name="weightlint-lowbit-gen",
                                  opset_imports=opset or self.opsets())
        model.ir_version = ir or self.ir
        model.doc_string = self.doc
        with open(path, "wb") as f:
            f.write(model.SerializeToString())

    def probe(self, nodes, inits, feeds, output, out_type=TensorProto.FLOAT):
        """A probe model: `nodes` over `inits`; feeds = [(name, numpy array, onnx type)].
        Returns its index. A non-float32 output is Cast to float (exact for fp16)."""
        i = len(self.probes)
        stem = "probe_%d" % i
        nodes = list(nodes)
        if out_type != TensorProto.FLOAT:
            nodes.append(helper.make_node("Cast", [output], [output + "_f32"], to=TensorProto.FLOAT))
            output = output + "_f32"
        ins, feed_meta = [], []
        for k, (fname, a, ty) in enumerate(feeds):
            ins.append(helper.make_tensor_value_info(fname, ty, list(a.shape)))
            path = "%s.in%d.bin" % (stem, k)
            np.ascontiguousarray(a).tofile(os.path.join(self.dir, path))
            feed_meta.append({"name": fname, "type": a.dtype.name, "dims": list(a.shape),
                              "file": path})
        g = helper.make_graph(nodes, stem, ins,
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              inits)
        self.save_model(os.path.join(self.dir, stem + ".onnx"), g)
        self.probes.append({"model": stem + ".onnx", "inputs": feed_meta, "output": output,
                            "out": stem + ".out.f64"})
        return i

    def layer(self, tensor, probe, orig, cols=None):
        """weightlint must analyze `tensor` as the probe's output (columns cols[0]:cols[1])."""
        k = len(self.layers)
        np.save(os.path.join(self.dir, "orig_%d.npy" % k), orig.astype(F32))
        self.layers.append({"tensor": tensor, "probe": probe, "cols": cols,
                            "orig": "orig_%d.npy" % k})

    def finish(self):
        g = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        self.save_model(os.path.join(self.dir, "model.onnx"), g)
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump({"encoding": self.name, "doc": self.doc, "opset": self.opset,
                       "layers": self.layers, "probes": self.probes}, f, indent=1)


def eye(k, dtype=F32):
    return np.eye(k, dtype=dtype)


# ------------------------------------------------------------------ MLP-shaped encodings
# x [batch, 784] -> L(fc1) -> Relu -> L(fc2) -> Relu -> L(fc3); L is the encoding's op.

def mlp(enc, layer_fn, in_type=TensorProto.FLOAT, pre=None):
    x = "input"
    enc.inputs.append(helper.make_tensor_value_info(x, in_type, ["batch", 784]))
    weights = load_mlp()
    for i, (name, b) in enumerate(weights):
        y = layer_fn(enc, x, name, b)
        if i + 1 < len(weights):
            enc.nodes.append(helper.make_node("Relu", [y], [name + ".relu"], name=name + ".relu"))
            y = name + ".relu"
        x = y
    enc.outputs.append(helper.make_tensor_value_info(x, in_type if pre is None else pre, None))


def enc_fp32(enc):
    def fn(enc, x, name, b):
        w = name + ".weight"
        enc.inits.append(arr(w, b))
        enc.nodes.append(helper.make_node("MatMul", [x, w], [name], name=name))
        p = enc.probe([helper.make_node("MatMul", ["I", w], ["Y"])], [arr(w, b)],
                      [("I", eye(b.shape[0]), TensorProto.FLOAT)], "Y")
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


def enc_fp16(enc):
    def fn(enc, x, name, b):
        w = name + ".weight"
        b16 = b.astype(np.float16)
        if x == "input":
            enc.nodes.append(helper.make_node("Cast", [x], ["input16"], to=TensorProto.FLOAT16))
            x = "input16"
        enc.inits.append(arr(w, b16))
        enc.nodes.append(helper.make_node("MatMul", [x, w], [name], name=name))
        p = enc.probe([helper.make_node("MatMul", ["I", w], ["Y"])], [arr(w, b16)],
                      [("I", eye(b.shape[0], np.float16), TensorProto.FLOAT16)], "Y",
                      TensorProto.FLOAT16)
        enc.layer(w, p, b)
        return name
    mlp(enc, fn, pre=TensorProto.FLOAT16)


# --- 8-bit (quantize_dynamic / static QDQ), quant_utils.compute_scale_zp + quantize_nparray

def q8_params(b, signed, per_axis=None):
    """(q, scale, zero_point) as onnxruntime's quant_utils: uint8 asymmetric over
    [min(rmin, 0), max(rmax, 0)] in [0, 255]; int8 symmetric in [-127, 127]."""
    axis_red = None if per_axis is None else tuple(d for d in range(b.ndim) if d != per_axis)
    rmin = np.minimum(b.min(axis=axis_red), 0).astype(F32)
    rmax = np.maximum(b.max(axis=axis_red), 0).astype(F32)
    if signed:
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        scale = (F32(2) * absmax / F32(254)).astype(F32)
        zp = np.zeros_like(scale, dtype=np.int8)
        qmin, qmax, qt = -127, 127, np.int8
    else:
        scale = ((rmax - rmin) / F32(255)).astype(F32)
        zp = np.round(F32(0) - rmin / scale).clip(0, 255).astype(np.uint8)
        qmin, qmax, qt = 0, 255, np.uint8
    shp = [1] * b.ndim
    if per_axis is not None:
        shp[per_axis] = -1
    s, z = scale.reshape(shp), zp.reshape(shp).astype(F32)
    q = (np.round(b.astype(F32) / s) + z).clip(qmin, qmax).astype(qt)
    return q, scale.astype(F32), zp


def itf_probe(enc, w, q, scale, zp):
    """MatMulIntegerToFloat(A = I_K uint8, B, a_scale = 1, b_scale, a_zp = 0, b_zp): float32
    (q - zp) * b_scale, the matrix the com.microsoft 8-bit kernels multiply (a single float
    rounding of each product, as DequantizeLinear)."""
    inits = [arr(w, q), arr("ws", np.asarray(scale, F32)), arr("wz", np.asarray(zp)),
             arr("one", np.asarray(1.0, F32)), arr("a_zp", np.asarray(0, np.uint8))]
    node = helper.make_node("MatMulIntegerToFloat", ["I", w, "one", "ws", "a_zp", "wz"], ["Y"],
                            domain=MS)
    return enc.probe([node], inits, [("I", eye(q.shape[0], np.uint8), TensorProto.UINT8)], "Y")


def dyn_quant_input(enc, x):
    """DynamicQuantizeLinear on the activation (once per input tensor)."""
    xq, xs, xz = x + "_quantized", x + "_scale", x + "_zero_point"
    enc.nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz],
                                      name=x + "_QuantizeLinear"))
    return xq, xs, xz


def enc_q8_matmulinteger(enc, signed=False):
    """onnxruntime quantize_dynamic on MatMul: DynamicQuantizeLinear -> MatMulInteger -> Cast ->
    Mul(x_scale * w_scale); weight <w>_quantized with <w>_scale and <w>_zero_point."""
    enc.ms = True

    def fn(enc, x, name, b):
        w = name + ".weight_quantized"
        q, s, z = q8_params(b, signed)
        enc.inits += [arr(w, q), arr(name + ".weight_scale", s),
                      arr(name + ".weight_zero_point", z)]
        xq, xs, xz = dyn_quant_input(enc, x)
        enc.nodes += [
            helper.make_node("MatMulInteger", [xq, w, xz, name + ".weight_zero_point"],
                             [name + "_i32"], name=name + "_MatMulInteger"),
            helper.make_node("Cast", [name + "_i32"], [name + "_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [xs, name + ".weight_scale"], [name + "_s"]),
            helper.make_node("Mul", [name + "_f", name + "_s"], [name], name=name + "_Mul")]
        # probe: the same weight, scale and zero point through MatMulIntegerToFloat
        p = itf_probe(enc, w, q, s, z)
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


def enc_q8_int8(enc):
    enc_q8_matmulinteger(enc, signed=True)


def enc_dynamic_quantize_matmul(enc):
    enc.ms = True

    def fn(enc, x, name, b):
        w = name + ".weight_quantized"
        q, s, z = q8_params(b, signed=True)
        enc.inits += [arr(w, q), arr(name + ".weight_scale", s),
                      arr(name + ".weight_zero_point", z)]
        enc.nodes.append(helper.make_node(
            "DynamicQuantizeMatMul", [x, w, name + ".weight_scale", name + ".weight_zero_point"],
            [name], name=name, domain=MS))
        p = itf_probe(enc, w, q, s, z)
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


def enc_matmul_integer_to_float(enc):
    enc.ms = True

    def fn(enc, x, name, b):
        w = name + ".weight_quantized"
        q, s, z = q8_params(b, signed=False, per_axis=1)  # per output column
        enc.inits += [arr(w, q), arr(name + ".weight_scale", s),
                      arr(name + ".weight_zero_point", z)]
        xq, xs, xz = dyn_quant_input(enc, x)
        enc.nodes.append(helper.make_node(
            "MatMulIntegerToFloat", [xq, w, xs, name + ".weight_scale", xz,
                                     name + ".weight_zero_point"], [name], name=name, domain=MS))
        p = itf_probe(enc, w, q, s, z)
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


def enc_qgemm(enc):
    """QGemm (com.microsoft) with float output, B stored [N, K] (transB = 1) as the Gemm was."""
    enc.ms = True

    def fn(enc, x, name, b):
        w = name + ".weight_quantized"
        q, s, z = q8_params(b.T.copy(), signed=True)
        enc.inits += [arr(w, q), arr(name + ".weight_scale", s),
                      arr(name + ".weight_zero_point", z)]
        xq, xs, xz = dyn_quant_input(enc, x)
        enc.nodes.append(helper.make_node(
            "QGemm", [xq, xs, xz, w, name + ".weight_scale", name + ".weight_zero_point"],
            [name], name=name, domain=MS, transB=1))
        inits = [arr(w, q), arr("ws", s), arr("wz", z), arr("one", np.asarray(1.0, F32)),
                 arr("a_zp", np.asarray(0, np.uint8))]
        node = helper.make_node("QGemm", ["I", "one", "a_zp", w, "ws", "wz"], ["Y"], domain=MS,
                                transB=1)
        p = enc.probe([node], inits, [("I", eye(b.shape[0], np.uint8), TensorProto.UINT8)], "Y")
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


def qdq_encoder(signed, per_channel):
    def build(enc):
        def fn(enc, x, name, b):
            w = name + ".weight_quantized"
            q, s, z = q8_params(b, signed, per_axis=1 if per_channel else None)
            sc, zp = name + ".weight_scale", name + ".weight_zero_point"
            enc.inits += [arr(w, q), arr(sc, s), arr(zp, z)]
            kw = {"axis": 1} if per_channel else {}
            dq = helper.make_node("DequantizeLinear", [w, sc, zp], [name + ".weight"],
                                  name=name + "_DequantizeLinear", **kw)
            enc.nodes += [dq, helper.make_node("MatMul", [x, name + ".weight"], [name],
                                               name=name)]
            p = enc.probe([helper.make_node("DequantizeLinear", [w, sc, zp], ["Y"], **kw)],
                          [arr(w, q), arr(sc, s), arr(zp, z)], [], "Y")
            enc.layer(w, p, b)
            return name
        mlp(enc, fn)
    return build


# --- MatMulNBits (MlasQuantizeBlockwise column-wise, q4_dq.cpp)

def nbits_quant(b, bits, block, symmetric, fp16=False, g_idx=None, float_zp=False):
    """Returns (B packed [N, k_blocks, blob], scales [N*k_blocks], zp or None, g_idx)."""
    k, n = b.shape
    kb = (k + block - 1) // block
    sdt = np.float16 if fp16 else F32
    src = b.astype(sdt).astype(F32)  # the quantizer reads the model's own element type
    if g_idx is None:  # qbits_block_quant pads K with zero rows to whole blocks
        src = np.concatenate([src, np.zeros((kb * block - k, n), F32)])
        grp = np.arange(kb * block) // block
    else:
        grp = g_idx
    qmax, mid = (1 << bits) - 1, 1 << (bits - 1)
    scales = np.zeros((n, kb), sdt)
    zps = np.full((n, kb), mid, np.uint8)
    fzp = np.zeros((n, kb), sdt)
    q = np.zeros((n, kb * block), np.uint8)
    for j in range(kb):
        rows = np.nonzero(grp == j)[0]
        blk = src[rows, :]  # [len, n]
        mn = blk.min(axis=0) if len(rows) else np.zeros(n, F32)
        mx = blk.max(axis=0) if len(rows) else np.zeros(n, F32)
        if symmetric:
            ext = np.where(np.abs(mx) > np.abs(mn), mx, mn)
            s = (ext / F32(-mid)).astype(F32)
            z = np.full(n, mid, F32)
        else:
            mn, mx = np.minimum(mn, 0), np.maximum(mx, 0)
            s = ((mx - mn) / F32(qmax)).astype(F32)
            zf = np.where(s != 0, F32(0) - mn / np.where(s != 0, s, 1), mn).astype(F32)
            if float_zp:  # HQQ-style float zero point, not rounded
                fzp[:, j] = zf.astype(sdt)
                z = fzp[:, j].astype(F32)
            else:
                z = np.clip(roundf(zf), 0, qmax).astype(F32)
                zps[:, j] = z.astype(np.uint8)
        scales[:, j] = s.astype(sdt)
        s_used = scales[:, j].astype(F32)
        rs = np.where(s_used != 0, F32(1) / np.where(s_used != 0, s_used, 1), F32(0)).astype(F32)
        q[:, rows] = np.clip(roundf(blk.T * rs[:, None] + z[:, None]), 0, qmax).astype(np.uint8)
    blob = block * bits // 8
    packed = pack_low_first(q, bits).reshape(n, kb, blob)  # rows of whole bytes (block >= 16)
    zp_out = None
    if not symmetric:
        if float_zp:
            zp_out = fzp.reshape(-1)
        else:  # each column's zero points start on a byte: [N, ceil(k_blocks * bits / 8)]
            per = 8 // bits
            zrow = (kb + per - 1) // per
            zpad = np.zeros((n, zrow * per), np.uint8)
            zpad[:, :kb] = zps
            zp_out = pack_low_first(zpad, bits)
    return packed, scales.reshape(-1), zp_out


def nbits_encoder(bits=4, block=32, symmetric=False, fp16=False, gidx=False, float_zp=False):
    def build(enc):
        enc.ms = True
        rng = np.random.default_rng(20261201)
        ftype = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT

        def fn(enc, x, name, b):
            k, n = b.shape
            if fp16 and x == "input":
                enc.nodes.append(helper.make_node("Cast", [x], ["input16"], to=ftype))
                x = "input16"
            g = None
            if gidx:  # act-order: groups of `block` rows in a random order (GPTQ desc_act)
                perm = rng.permutation(k)
                g = np.empty(k, np.int32)
                g[perm] = np.arange(k) // block
            packed, sc, zp = nbits_quant(b, bits, block, symmetric, fp16, g, float_zp)
            w = "%s.weight_Q%d" % (name, bits)
            ins = [x, w, name + ".weight_scales"]
            inits = [arr(w, packed), arr(name + ".weight_scales", sc)]
            if zp is not None or gidx:
                ins.append(name + ".weight_zero_points" if zp is not None else "")
                if zp is not None:
                    inits.append(arr(name + ".weight_zero_points", zp))
            if gidx:
                ins.append(name + ".g_idx")
                inits.append(arr(name + ".g_idx", g))
            attrs = {"K": k, "N": n, "bits": bits, "block_size": block}
            enc.inits += inits
            enc.nodes.append(helper.make_node("MatMulNBits", ins, [name], name=name, domain=MS,
                                              **attrs))
            pins = ["I"] + ins[1:]
            dt = np.float16 if fp16 else F32
            p = enc.probe([helper.make_node("MatMulNBits", pins, ["Y"], domain=MS, **attrs)],
                          inits, [("I", eye(k, dt), ftype)], "Y", ftype)
            enc.layer(w, p, b)
            return name
        mlp(enc, fn, in_type=TensorProto.FLOAT, pre=ftype)
    return build


# --- MatMulBnb4 (blockwise_quant_block_bnb4.h)

def bnb4_code(x, quant_type):
    """onnxruntime's QuantizeOneFP4 / QuantizeOneNF4 (binary search over the same pivots)."""
    x = x.astype(F32)
    if quant_type == 0:  # FP4
        sign = np.where(x < 0, 8, 0)
        a = np.abs(x)
        c = np.select(
            [a > F32(0.8333333), a > F32(0.583333), a > F32(0.4166667), a > F32(0.29166667),
             a > F32(0.20833333), a > F32(0.0859375), a > F32(0.00260417)],
            [0b0011, 0b0010, 0b0101, 0b0100, 0b0111, 0b0110, 0b0001], 0)
        return (c + sign).astype(np.uint8)
    piv = [0.8614784181118011, 0.6427869200706482, 0.5016634166240692, 0.3893125355243683,
           0.2920137718319893, 0.2035212516784668, 0.1202552504837513, 0.03979014977812767,
           -0.045525018125772476, -0.13791173323988914, -0.23460740596055984,
           -0.33967943489551544, -0.4599952697753906, -0.6106329262256622,
           -0.8480964004993439]
    c = np.select([x > F32(p) for p in piv], list(range(15, 0, -1)), 0)
    return c.astype(np.uint8)


def bnb4_encoder(quant_type, block=64):
    def build(enc):
        enc.ms = True

        def fn(enc, x, name, b):
            k, n = b.shape
            flat = b.T.reshape(-1).astype(F32)
            nb = (len(flat) + block - 1) // block
            absmax = np.zeros(nb, F32)
            codes = np.zeros(len(flat), np.uint8)
            for i in range(nb):
                seg = flat[i * block:(i + 1) * block]
                am = np.max(np.abs(seg))
                absmax[i] = am
                r = F32(1) / am if am else F32(0)
                codes[i * block:i * block + len(seg)] = bnb4_code(seg * r, quant_type)
            if len(codes) % 2:
                codes = np.concatenate([codes, bnb4_code(np.zeros(1, F32), quant_type)])
            packed = ((codes[0::2] << 4) | codes[1::2]).astype(np.uint8)
            w = name + ".weight_Bnb4"
            inits = [arr(w, packed), arr(name + ".weight_absmax", absmax)]
            attrs = {"K": k, "N": n, "block_size": block, "quant_type": quant_type}
            enc.inits += inits
            enc.nodes.append(helper.make_node("MatMulBnb4", [x, w, name + ".weight_absmax"],
                                              [name], name=name, domain=MS, **attrs))
            p = enc.probe([helper.make_node("MatMulBnb4", ["I", w, name + ".weight_absmax"],
                                            ["Y"], domain=MS, **attrs)],
                          inits, [("I", eye(k), TensorProto.FLOAT)], "Y")
            enc.layer(w, p, b)
            return name
        mlp(enc, fn)
    return build


# --- int4 blockwise (DefaultWeightOnlyQuantizer.quantize_ndarray), ONNX INT4/UINT4 tensors

def int4_block_quant(data, axis, block, symmetric):
    """quantize_ndarray: (codes int8/uint8 same shape as data, scales, zero points or None)."""
    m = int(np.prod(data.shape[:axis]))
    k = data.shape[axis]
    n = int(np.prod(data.shape[axis + 1:]))
    kb = (k + block - 1) // block
    d = data.reshape(m, k, n).astype(F32)
    q = np.zeros((m, k, n), np.int8 if symmetric else np.uint8)
    s = np.zeros((m, kb, n), F32)
    z = np.zeros((m, kb, n), np.uint8)
    for j in range(kb):
        sl = d[:, j * block:(j + 1) * block, :]
        if symmetric:
            mx, mn = sl.max(axis=1, keepdims=True), sl.min(axis=1, keepdims=True)
            am = np.where(np.abs(mx) > np.abs(mn), mx, mn)
            sc = am / F32(-8.0)
            qs = np.where(sc == 0, 0, sl / np.where(sc == 0, 1, sc)).round().clip(-8, 7)
        else:
            mn = np.minimum(sl.min(axis=1, keepdims=True), 0)
            mx = np.maximum(sl.max(axis=1, keepdims=True), 0)
            sc = (mx - mn) / F32(15.0)
            zz = np.where(sc == 0, 8, -mn / np.where(sc == 0, 1, sc)).round().clip(0, 15)
            qs = np.where(sc == 0, 8, sl / np.where(sc == 0, 1, sc) + zz).round().clip(0, 15)
            z[:, j:j + 1, :] = zz.astype(np.uint8)
        q[:, j * block:(j + 1) * block, :] = qs.astype(q.dtype)
        s[:, j:j + 1, :] = sc
    shp = list(data.shape)
    shp[axis] = kb
    return (q.reshape(data.shape), s.reshape(shp),
            None if symmetric else z.reshape(shp))


def int4_tensor(name, codes, signed):
    return raw_tensor(name, INT4 if signed else UINT4, codes.shape,
                      pack_low_first(codes.astype(np.uint8) & 0xF, 4))


def qdq_block_encoder(signed, block=32):
    """Opset 21 DequantizeLinear(axis 0, block_size) over an INT4/UINT4 initializer, as
    DefaultWeightOnlyQuantizer writes with quant_format=QDQ."""
    def build(enc):
        enc.opset, enc.ir = 21, 10

        def fn(enc, x, name, b):
            q, s, z = int4_block_quant(b, 0, block, signed)
            w = name + ".weight_DQ_Q4"
            inits = [int4_tensor(w, q, signed), arr(name + ".weight_DQ_scales", s)]
            ins = [w, name + ".weight_DQ_scales"]
            if z is not None:
                inits.append(int4_tensor(name + ".weight_DQ_zero_points", z, False))
                ins.append(name + ".weight_DQ_zero_points")
            enc.inits += inits
            enc.nodes += [helper.make_node("DequantizeLinear", ins, [name + ".weight"],
                                           name=name + "_DQ_Q4", axis=0, block_size=block),
                          helper.make_node("MatMul", [x, name + ".weight"], [name], name=name)]
            p = enc.probe([helper.make_node("DequantizeLinear", ins, ["Y"], axis=0,
                                            block_size=block)], inits, [], "Y")
            enc.layer(w, p, b)
            return name
        mlp(enc, fn)
    return build


# --- FLOAT8

def fp8_table(kind):
    """All 256 codes of an FP8 format decoded to float64 (NaN where the code is NaN)."""
    exp_bits, man_bits = (4, 3) if kind in ("e4m3fn", "e4m3fnuz") else (5, 2)
    bias = {"e4m3fn": 7, "e4m3fnuz": 8, "e5m2": 15, "e5m2fnuz": 16}[kind]
    out = np.zeros(256)
    for c in range(256):
        s = -1.0 if c & 0x80 else 1.0
        e = (c >> man_bits) & ((1 << exp_bits) - 1)
        m = c & ((1 << man_bits) - 1)
        if e == 0:
            v = s * m / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            v = s * (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        if kind == "e4m3fn" and (c & 0x7F) == 0x7F:
            v = np.nan
        if kind == "e5m2" and e == 31:
            v = np.nan if m else s * np.inf
        if kind.endswith("fnuz") and c == 0x80:
            v = np.nan
        out[c] = v
    return out


def fp8_quant(x, kind):
    """Nearest finite code, saturating (QuantizeLinear saturate=1); ties to the even code."""
    t = fp8_table(kind)
    ok = np.isfinite(t) & ~((np.arange(256) == 0x80) & (t == 0))  # one zero code
    codes = np.nonzero(ok)[0]
    vals = t[codes]
    order = np.argsort(vals, kind="stable")
    vals, codes = vals[order], codes[order]
    xf = np.clip(x.astype(np.float64), vals[0], vals[-1]).reshape(-1)
    i = np.clip(np.searchsorted(vals, xf), 1, len(vals) - 1)
    lo, hi = vals[i - 1], vals[i]
    pick_hi = (hi - xf < xf - lo) | ((hi - xf == xf - lo) & (codes[i] % 2 == 0))
    c = np.where(pick_hi, codes[i], codes[i - 1])
    return c.astype(np.uint8).reshape(x.shape), np.nanmax(np.abs(t[np.isfinite(t)]))


def fp8_encoder(kind):
    dtype = {"e4m3fn": FLOAT8E4M3FN, "e4m3fnuz": FLOAT8E4M3FNUZ, "e5m2": FLOAT8E5M2,
             "e5m2fnuz": FLOAT8E5M2FNUZ}[kind]

    def build(enc):
        enc.opset, enc.ir = 19, 9

        def fn(enc, x, name, b):
            _, fmax = fp8_quant(np.zeros(1, F32), kind)
            scale = F32(np.max(np.abs(b)) / fmax)
            codes, _ = fp8_quant(b / scale, kind)
            w = name + ".weight_fp8"
            inits = [raw_tensor(w, dtype, b.shape, codes.tobytes()),
                     arr(name + ".weight_scale", np.asarray(scale, F32)),
                     raw_tensor(name + ".weight_zero_point", dtype, [], b"\0")]
            ins = [w, name + ".weight_scale", name + ".weight_zero_point"]
            enc.inits += inits
            enc.nodes += [helper.make_node("DequantizeLinear", ins, [name + ".weight"],
                                           name=name + "_DequantizeLinear"),
                          helper.make_node("MatMul", [x, name + ".weight"], [name], name=name)]
            p = enc.probe([helper.make_node("DequantizeLinear", ins, ["Y"])], inits, [], "Y")
            enc.layer(w, p, b)
            return name
        mlp(enc, fn)
    return build


def enc_fused_matmul(enc):
    """FusedMatMul (com.microsoft) with the weight stored [N, K], transB = 1."""
    enc.ms = True

    def fn(enc, x, name, b):
        w = name + ".weight"
        enc.inits.append(arr(w, b.T.copy()))
        enc.nodes.append(helper.make_node("FusedMatMul", [x, w], [name], name=name, domain=MS,
                                          transB=1, alpha=1.0))
        p = enc.probe([helper.make_node("FusedMatMul", ["I", w], ["Y"], domain=MS, transB=1,
                                        alpha=1.0)], [arr(w, b.T.copy())],
                      [("I", eye(b.shape[0]), TensorProto.FLOAT)], "Y")
        enc.layer(w, p, b)
        return name
    mlp(enc, fn)


# ------------------------------------------------------------------ transformer roles

def tiny_transformer():
    """The trained one-block transformer (tools/train/train_tiny_transformer.py): E [257, 128],
    P [33, 128], Wqkv [128, 384], Wo, W1, W2."""
    z = np.load(TINY)
    return {k: z[k].astype(F32) for k in z.files if k != "meta"}


def qkv_weight(sizes):
    """Its packed QKV [128, q + k + v]: the first columns of each block when sizes are smaller."""
    w = tiny_transformer()["Wqkv"]
    d = w.shape[0]
    return np.concatenate([w[:, i * d:i * d + h] for i, h in enumerate(sizes)], axis=1)


def attention_encoder(quantized, sizes=None):
    def build(enc):
        enc.ms = True
        hs = sizes or (128, 128, 128)
        w = qkv_weight(hs)
        d_in = w.shape[0]
        enc.inputs.append(helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                        ["batch", "seq", d_in]))
        attrs = {"num_heads": 4}
        if sizes:
            attrs["qkv_hidden_sizes"] = list(sizes)
        bias = np.zeros(sum(hs), F32)
        if quantized:
            q, s, z = q8_params(w, signed=True)
            wn = "attn.qkv.weight_quantized"
            enc.inits += [arr(wn, q), arr("attn.qkv.weight_scale", s),
                          arr("attn.qkv.weight_zero_point", z), arr("attn.qkv.bias", bias)]
            xq, xs, xz = dyn_quant_input(enc, "input")
            enc.nodes.append(helper.make_node(
                "QAttention", [xq, wn, "attn.qkv.bias", xs, "attn.qkv.weight_scale", "", xz,
                               "attn.qkv.weight_zero_point"], ["out"], name="attn", domain=MS,
                **attrs))
            p = itf_probe(enc, wn, q, s, z)
        else:
            wn = "attn.qkv.weight"
            enc.inits += [arr(wn, w), arr("attn.qkv.bias", bias)]
            enc.nodes.append(helper.make_node("Attention", ["input", wn, "attn.qkv.bias"], ["out"],
                                              name="attn", domain=MS, **attrs))
            p = enc.probe([helper.make_node("MatMul", ["I", wn], ["Y"])], [arr(wn, w)],
                          [("I", eye(d_in), TensorProto.FLOAT)], "Y")
        off = 0
        for h in hs:
            enc.layer(wn, p, w[:, off:off + h], cols=[off, off + h])
            off += h
        enc.outputs.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, None))
    return build


def enc_embed_layer_norm(enc):
    """EmbedLayerNormalization (BERT): the transformer's word table 257 x 128 and position
    table 33 x 128; a segment table 2 x 128 (too small to analyze)."""
    enc.ms = True
    tt = tiny_transformer()
    word, pos = tt["E"], tt["P"]
    seg = np.stack([word[0], word[1]]).astype(F32)
    d = word.shape[1]
    enc.inputs += [helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["b", "s"]),
                   helper.make_tensor_value_info("segment_ids", TensorProto.INT32, ["b", "s"])]
    enc.inits += [arr("word_embeddings", word), arr("position_embeddings", pos),
                  arr("segment_embeddings", seg), arr("ln.gamma", np.ones(d, F32)),
                  arr("ln.beta", np.zeros(d, F32))]
    enc.nodes.append(helper.make_node(
        "EmbedLayerNormalization", ["input_ids", "segment_ids", "word_embeddings",
                                    "position_embeddings", "segment_embeddings", "ln.gamma",
                                    "ln.beta"], ["out", "mask_index"], name="emb", domain=MS,
        epsilon=1e-12))
    enc.outputs.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, None))
    for name, t in (("word_embeddings", word), ("position_embeddings", pos)):
        p = enc.probe([helper.make_node("Gather", [name, "ids"], ["Y"])], [arr(name, t)],
                      [("ids", np.arange(t.shape[0], dtype=np.int64), TensorProto.INT64)], "Y")
        enc.layer(name, p, t)


def gather_block_encoder(signed, block=32):
    """GatherBlockQuantized over a 4-bit table (quantize_gather: quantize_axis = 1)."""
    def build(enc):
        enc.ms = True
        table = tiny_transformer()["E"]  # [257, 128]
        q, s, z = int4_block_quant(table, 1, block, signed)
        w = "embed.weight_Q4"
        inits = [int4_tensor(w, q, signed), arr("embed.weight_scales", s)]
        ins = [w, "ids", "embed.weight_scales"]
        if z is not None:
            inits.append(int4_tensor("embed.weight_zero_points", z, False))
            ins.append("embed.weight_zero_points")
        attrs = {"gather_axis": 0, "quantize_axis": 1, "block_size": block}
        enc.inputs.append(helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"]))
        enc.inits += inits
        enc.nodes.append(helper.make_node("GatherBlockQuantized", ins, ["out"], name="embed",
                                          domain=MS, **attrs))
        enc.outputs.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, None))
        p = enc.probe([helper.make_node("GatherBlockQuantized", ins, ["Y"], domain=MS, **attrs)],
                      inits, [("ids", np.arange(table.shape[0], dtype=np.int64),
                               TensorProto.INT64)], "Y")
        enc.layer(w, p, table)
    return build


def enc_gather_dq(enc):
    """quantize_dynamic on a Gather: uint8 table -> Gather -> DequantizeLinear (issue item 6)."""
    table = tiny_transformer()["E"]  # [257, 128]
    q, s, z = q8_params(table, signed=False)
    w = "embed.weight_quantized"
    inits = [arr(w, q), arr("embed.weight_scale", s), arr("embed.weight_zero_point", z)]
    enc.inputs.append(helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"]))
    enc.inits += inits
    enc.nodes += [helper.make_node("Gather", [w, "ids"], ["g"], name="embed"),
                  helper.make_node("DequantizeLinear", ["g", "embed.weight_scale",
                                                        "embed.weight_zero_point"], ["out"],
                                   name="embed_DequantizeLinear")]
    enc.outputs.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, None))
    p = enc.probe([helper.make_node("Gather", [w, "ids"], ["g"]),
                   helper.make_node("DequantizeLinear", ["g", "embed.weight_scale",
                                                         "embed.weight_zero_point"], ["Y"])],
                  inits, [("ids", np.arange(table.shape[0], dtype=np.int64), TensorProto.INT64)],
                  "Y")
    enc.layer(w, p, table)


# ------------------------------------------------------------------ registry

ENCODINGS = {
    "fp32": (enc_fp32, "MatMul, float32 weights (the reference)"),
    "fp16": (enc_fp16, "MatMul, float16 weights and activations (transformers.js fp16)"),
    "qdq_int8": (qdq_encoder(True, False), "DequantizeLinear int8 per tensor -> MatMul"),
    "qdq_int8_channel": (qdq_encoder(True, True), "DequantizeLinear int8 per channel (axis 1)"),
    "qdq_uint8": (qdq_encoder(False, False), "DequantizeLinear uint8 with zero point"),
    "q8_uint8": (enc_q8_matmulinteger, "quantize_dynamic uint8: MatMulInteger (q8 / uint8)"),
    "q8_int8": (enc_q8_int8, "quantize_dynamic int8: MatMulInteger (int8)"),
    "dynamic_quantize_matmul": (enc_dynamic_quantize_matmul, "DynamicQuantizeMatMul int8"),
    "matmul_integer_to_float": (enc_matmul_integer_to_float,
                                "MatMulIntegerToFloat uint8 per column"),
    "qgemm": (enc_qgemm, "QGemm int8, B [N, K] transB = 1"),
    "q4": (nbits_encoder(4, 32, False), "MatMulNBits bits 4 block 32 with zero points"),
    "q4_sym": (nbits_encoder(4, 32, True), "MatMulNBits bits 4 block 32, no zero points"),
    "q4f16": (nbits_encoder(4, 32, False, fp16=True), "MatMulNBits 4/32, float16 scales"),
    "q4_b16": (nbits_encoder(4, 16, False), "MatMulNBits bits 4 block 16"),
    "q4_b64": (nbits_encoder(4, 64, False), "MatMulNBits bits 4 block 64"),
    "q4_b128_sym": (nbits_encoder(4, 128, True), "MatMulNBits bits 4 block 128, symmetric"),
    "q2": (nbits_encoder(2, 32, False), "MatMulNBits bits 2 block 32"),
    "q8_nbits": (nbits_encoder(8, 32, False), "MatMulNBits bits 8 block 32"),
    # symmetric: onnxruntime 1.30's g_idx kernel (Dequantize4BitsKernelReOrder) ignores packed
    # uint8 zero points (it always uses 8), so zero points with g_idx are not comparable
    "q4_gidx": (nbits_encoder(4, 32, True, gidx=True), "MatMulNBits 4/32 symmetric, g_idx"),
    "q4_float_zp": (nbits_encoder(4, 32, False, float_zp=True),
                    "MatMulNBits 4/32, float zero points"),
    "bnb4_nf4": (bnb4_encoder(1), "MatMulBnb4 NF4 block 64"),
    "bnb4_fp4": (bnb4_encoder(0), "MatMulBnb4 FP4 block 64"),
    "qdq_int4_block": (qdq_block_encoder(True), "opset 21 DequantizeLinear INT4 block 32"),
    "qdq_uint4_block": (qdq_block_encoder(False), "opset 21 DequantizeLinear UINT4 block 32"),
    "fp8_e4m3fn": (fp8_encoder("e4m3fn"), "DequantizeLinear FLOAT8E4M3FN"),
    "fp8_e4m3fnuz": (fp8_encoder("e4m3fnuz"), "DequantizeLinear FLOAT8E4M3FNUZ"),
    "fp8_e5m2": (fp8_encoder("e5m2"), "DequantizeLinear FLOAT8E5M2"),
    "fp8_e5m2fnuz": (fp8_encoder("e5m2fnuz"), "DequantizeLinear FLOAT8E5M2FNUZ"),
    "gather_block_quantized": (gather_block_encoder(False), "GatherBlockQuantized uint4"),
    "gather_block_quantized_int4": (gather_block_encoder(True), "GatherBlockQuantized int4"),
    "gather_dq": (enc_gather_dq, "Gather uint8 table -> DequantizeLinear"),
    "attention": (attention_encoder(False), "Attention packed QKV 128 x 384"),
    "attention_qkv_sizes": (attention_encoder(False, (128, 128, 64)),
                            "Attention packed QKV, qkv_hidden_sizes 128/128/64"),
    "qattention": (attention_encoder(True), "QAttention int8 packed QKV"),
    "embed_layer_norm": (enc_embed_layer_norm, "EmbedLayerNormalization word/position tables"),
    "fused_matmul": (enc_fused_matmul, "FusedMatMul transB = 1"),
}


def main(argv):
    if len(argv) >= 1 and argv[0] == "list":
        for k, (_, doc) in ENCODINGS.items():
            print("%-28s %s" % (k, doc))
        return 0
    if len(argv) < 2 or argv[0] != "gen":
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    out = argv[1]
    names = argv[2:] or list(ENCODINGS)
    for n in names:
        if n not in ENCODINGS:
            print("lowbit_models.py: unknown encoding '%s' (see: lowbit_models.py list)" % n,
                  file=sys.stderr)
            return 2
    for n in names:
        fn, doc = ENCODINGS[n]
        enc = Enc(n, out, doc=doc)
        fn(enc)
        enc.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
