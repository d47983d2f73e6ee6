"""encode_model.py — re-encode a trained model the ways exporters and quantizers store it, for the
`weightlint compare` encoding tests (tests/scripts/compare_encodings.sh).

    encode_model.py IN OUTDIR

From IN (a Gemm MLP such as examples/fashion_mlp_trained.onnx) writes to OUTDIR:
  mlp.onnx                 IN itself, re-saved
  mlp-fp16.onnx            float16 initializers (Cast to float before each Gemm)
  mlp-bf16.onnx            bfloat16 initializers (Cast)
  mlp-external.onnx        weights in mlp-external.onnx.data (ONNX external data)
  mlp-reversed.onnx        initializers listed in reverse name order (tf2onnx's habit)
  mlp-qdq.onnx             int8 weights + DequantizeLinear, one scale per tensor, weights
                           renamed <w>_quantized (onnxruntime's quantizer)
  mlp-qdq-channel.onnx     the same with one scale per output channel (axis 0)
  mlp-qlinear.onnx         QLinearMatMul nodes "<n>_quant", weights [in, out] uint8
  mlp-int8-dynamic.onnx    MatMulInteger nodes "<n>_quant" (DynamicQuantizeLinear on the input)
and the same trained weights reshaped into convolution kernels (fc1 [512, 784] -> [128, 64, 7, 7],
fc2 [256, 512] -> [128, 64, 4, 4], fc1 transposed -> [128, 64, 7, 7]: two kernels of one shape),
the fp32 base listing its initializers in reverse name order:
  conv.onnx, conv-fp16.onnx, conv-qdq-channel.onnx, conv-qlinear.onnx, conv-int8-dynamic.onnx
Every quantized file lists its initializers in node order, the base in name order. Deterministic.
Needs python3-onnx and numpy.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def q8(w, axis=None, signed=True):
    """Symmetric (int8) or asymmetric (uint8) quantization; per tensor or per axis-0 channel."""
    if axis is None:
        lo, hi = float(w.min()), float(w.max())
        lo, hi = np.array(lo), np.array(hi)
    else:
        red = tuple(range(1, w.ndim))
        lo, hi = w.min(axis=red), w.max(axis=red)
    if signed:
        s = np.maximum(np.abs(lo), np.abs(hi)) / 127.0
        zp = np.zeros_like(s, dtype=np.int8)
        shape = (-1,) + (1,) * (w.ndim - 1) if axis is not None else ()
        q = np.clip(np.round(w / s.reshape(shape)), -127, 127).astype(np.int8)
    else:
        lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
        s = (hi - lo) / 255.0
        zp = np.clip(np.round(-lo / s), 0, 255).astype(np.uint8)
        shape = (-1,) + (1,) * (w.ndim - 1) if axis is not None else ()
        q = np.clip(np.round(w / s.reshape(shape)) + zp.reshape(shape), 0, 255).astype(np.uint8)
    return q, s.astype(np.float32), zp


def save(model, path, **kw):
    onnx.save_model(model, path, **kw)


def model_of(nodes, inits, inp, out, name):
    g = helper.make_graph(nodes, name, [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="encode_model")
    m.ir_version = 8
    return m


def t(name, arr):
    return numpy_helper.from_array(np.ascontiguousarray(arr), name)


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    base = onnx.load(src)
    W = {i.name: numpy_helper.to_array(i) for i in base.graph.initializer}
    gemms = [n for n in base.graph.node if n.op_type == "Gemm"]
    layers = [(n.name, n.input[1], n.input[2]) for n in gemms]  # (node, weight, bias)
    inp = base.graph.input[0]
    outp = base.graph.output[0]
    save(base, f"{out}/mlp.onnx")

    # --- float re-encodings: same names, same nodes
    for kind, dt in (("fp16", TensorProto.FLOAT16), ("bf16", TensorProto.BFLOAT16)):
        m = onnx.load(src)
        nodes = []
        for init in m.graph.initializer:
            if init.name.endswith(".weight"):
                a = numpy_helper.to_array(init)
                if dt == TensorProto.FLOAT16:
                    new = t(init.name, a.astype(np.float16))
                else:  # bfloat16: the high 16 bits, round to nearest even
                    u = a.astype(np.float32).view(np.uint32)
                    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
                    new = helper.make_tensor(init.name, dt, a.shape, u.tobytes(), raw=True)
                init.CopyFrom(new)
        for n in m.graph.node:
            if n.op_type == "Gemm":
                w = n.input[1]
                nodes.append(helper.make_node("Cast", [w], [w + "_f32"], name=w + "_cast", to=1))
                n.input[1] = w + "_f32"
            nodes.append(n)
        del m.graph.node[:]
        m.graph.node.extend(nodes)
        save(m, f"{out}/mlp-{kind}.onnx")
    m = onnx.load(src)
    save(m, f"{out}/mlp-external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
         location="mlp-external.onnx.data", size_threshold=1024)
    m = onnx.load(src)
    inits = sorted(m.graph.initializer, key=lambda i: i.name, reverse=True)
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    save(m, f"{out}/mlp-reversed.onnx")

    # --- quantized MLPs: weights renamed <w>_quantized, nodes in order
    def mlp_quantized(mode):
        nodes, inits, x = [], [], inp.name
        for i, (node, w, b) in enumerate(layers):
            wt, bias = W[w], W[b]
            y = f"{node}_out"
            if mode in ("qdq", "qdq-channel"):
                q, s, zp = q8(wt, axis=0 if mode == "qdq-channel" else None)
                inits += [t(w + "_quantized", q), t(w + "_scale", s), t(w + "_zero_point", zp)]
                nodes.append(helper.make_node("DequantizeLinear", [w + "_quantized", w + "_scale",
                          w + "_zero_point"], [w + "_dq"], name=w + "_DequantizeLinear", axis=0))
                inits.append(t(b, bias))
                nodes.append(helper.make_node("Gemm", [x, w + "_dq", b], [y], name=node, transB=1))
            else:  # QLinearMatMul / MatMulInteger want B = W^T [in, out], uint8
                q, s, zp = q8(wt.T.copy(), signed=False)
                inits += [t(w + "_quantized", q), t(w + "_scale", s), t(w + "_zero_point", zp)]
                inits.append(t(b, bias))
                if mode == "qlinear":
                    inits += [t(f"{node}_x_scale", np.array(0.05, np.float32)),
                              t(f"{node}_x_zp", np.array(128, np.uint8)),
                              t(f"{node}_y_scale", np.array(0.05, np.float32)),
                              t(f"{node}_y_zp", np.array(128, np.uint8))]
                    nodes.append(helper.make_node("QuantizeLinear", [x, f"{node}_x_scale", f"{node}_x_zp"],
                                                  [x + "_q"], name=f"{node}_QuantizeLinear"))
                    nodes.append(helper.make_node("QLinearMatMul", [x + "_q", f"{node}_x_scale", f"{node}_x_zp",
                                 w + "_quantized", w + "_scale", w + "_zero_point",
                                 f"{node}_y_scale", f"{node}_y_zp"], [y + "_q"], name=f"{node}_quant"))
                    nodes.append(helper.make_node("DequantizeLinear", [y + "_q", f"{node}_y_scale", f"{node}_y_zp"],
                                                  [y + "_mm"], name=f"{node}_DequantizeLinear"))
                else:
                    nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [x + "_q", x + "_s", x + "_z"],
                                                  name=f"{node}_DynamicQuantizeLinear"))
                    nodes.append(helper.make_node("MatMulInteger", [x + "_q", w + "_quantized", x + "_z",
                                                  w + "_zero_point"], [y + "_i"], name=f"{node}_quant"))
                    nodes.append(helper.make_node("Cast", [y + "_i"], [y + "_f"], name=f"{node}_cast", to=1))
                    nodes.append(helper.make_node("Mul", [y + "_f", w + "_scale"], [y + "_mm"],
                                                  name=f"{node}_scale"))
                nodes.append(helper.make_node("Add", [y + "_mm", b], [y], name=f"{node}_bias"))
            if i + 1 < len(layers):
                nodes.append(helper.make_node("Relu", [y], [f"relu{i}"], name=f"relu{i}"))
                x = f"relu{i}"
            else:
                nodes.append(helper.make_node("Identity", [y], [outp.name], name="out"))
        return model_of(nodes, inits, inp, outp, "mlp_" + mode)

    for mode in ("qdq", "qdq-channel", "qlinear", "int8-dynamic"):
        save(mlp_quantized(mode), f"{out}/mlp-{mode}.onnx")

    # --- a conv model of the same trained weights
    kern = {"conv1.weight": W[layers[0][1]].reshape(128, 64, 7, 7),
            "conv2.weight": W[layers[1][1]].reshape(128, 64, 4, 4),
            # same shape as conv1, another matrix: list-order pairing would swap the two
            "conv3.weight": np.ascontiguousarray(W[layers[0][1]].T).reshape(128, 64, 7, 7)}
    cin = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 64, 32, 32])
    cout = helper.make_tensor_value_info("features", TensorProto.FLOAT, None)

    def conv_model(mode):
        nodes, inits, x = [], [], "image"
        for i, (w, k) in enumerate(sorted(kern.items())):
            node, y = f"conv{i + 1}", f"conv{i + 1}_out"
            if i >= 1:  # 128 -> 64 channels between two of them
                p = f"proj{i}.weight"
                inits.append(t(p, np.eye(64, 128, dtype=np.float32).reshape(64, 128, 1, 1) * i))
                nodes.append(helper.make_node("Conv", [x, p], [f"proj{i}_out"], name=f"proj{i}"))
                x = f"proj{i}_out"
            if mode == "fp32":
                inits.append(t(w, k))
                nodes.append(helper.make_node("Conv", [x, w], [y], name=node))
            elif mode == "fp16":
                inits.append(t(w, k.astype(np.float16)))
                nodes.append(helper.make_node("Cast", [w], [w + "_f32"], name=w + "_cast", to=1))
                nodes.append(helper.make_node("Conv", [x, w + "_f32"], [y], name=node))
            elif mode == "qdq-channel":
                q, s, zp = q8(k, axis=0)
                inits += [t(w + "_quantized", q), t(w + "_scale", s), t(w + "_zero_point", zp)]
                nodes.append(helper.make_node("DequantizeLinear", [w + "_quantized", w + "_scale",
                             w + "_zero_point"], [w + "_dq"], name=w + "_DequantizeLinear", axis=0))
                nodes.append(helper.make_node("Conv", [x, w + "_dq"], [y], name=node))
            else:
                q, s, zp = q8(k, signed=False)
                inits += [t(w + "_quantized", q), t(w + "_scale", s), t(w + "_zero_point", zp)]
                if mode == "qlinear":
                    inits += [t(f"{node}_x_scale", np.array(0.05, np.float32)),
                              t(f"{node}_x_zp", np.array(128, np.uint8))]
                    nodes.append(helper.make_node("QuantizeLinear", [x, f"{node}_x_scale", f"{node}_x_zp"],
                                                  [x + "_q"], name=f"{node}_QuantizeLinear"))
                    nodes.append(helper.make_node("QLinearConv", [x + "_q", f"{node}_x_scale", f"{node}_x_zp",
                                 w + "_quantized", w + "_scale", w + "_zero_point",
                                 f"{node}_x_scale", f"{node}_x_zp"], [y + "_q"], name=f"{node}_quant"))
                    nodes.append(helper.make_node("DequantizeLinear", [y + "_q", f"{node}_x_scale", f"{node}_x_zp"],
                                                  [y], name=f"{node}_DequantizeLinear"))
                else:
                    nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [x + "_q", x + "_s", x + "_z"],
                                                  name=f"{node}_DynamicQuantizeLinear"))
                    nodes.append(helper.make_node("ConvInteger", [x + "_q", w + "_quantized", x + "_z",
                                                  w + "_zero_point"], [y + "_i"], name=f"{node}_quant"))
                    nodes.append(helper.make_node("Cast", [y + "_i"], [y], name=f"{node}_cast", to=1))
            x = y
        nodes.append(helper.make_node("Identity", [x], ["features"], name="out"))
        if mode == "fp32":  # the base in reverse name order, as tf2onnx writes it
            inits.sort(key=lambda i: i.name, reverse=True)
        return model_of(nodes, inits, cin, cout, "conv_" + mode)

    save(conv_model("fp32"), f"{out}/conv.onnx")
    for mode in ("fp16", "qdq-channel", "qlinear", "int8-dynamic"):
        save(conv_model(mode), f"{out}/conv-{mode}.onnx")


if __name__ == "__main__":
    main()
