#!/usr/bin/env python3
"""Checks weightlint's default (op-aware) mode on the 25 real pretrained exports fetched by
tests/real/get-real-models.sh (issue #3). For every model the expectations are written here:
which layers a person would call its weights must be analyzed, with the op that consumes them,
and what must not be. Prints one line per check and ends with 'N passed, N failed'.

usage: check_real_models.py WEIGHTLINT MODEL_DIR
"""
import json
import os
import statistics
import subprocess
import sys

WL, ROOT = sys.argv[1], sys.argv[2]
passed = failed = 0


def analyze(rel, *extra):
    p = subprocess.run([WL, "analyze", "--no-progress", "--format", "json", *extra,
                        os.path.join(ROOT, rel)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{rel}: exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what} {detail}")


def count(d, op=None, kind=None):
    return sum(1 for l in d["layers"]
               if (op is None or l.get("op_type") == op) and (kind is None or l["layer_type"] == kind))


def skipped(d, code=None):
    return [s for s in d["models"][0]["skipped"] if code is None or s["reason_code"] == code]


def numbers(d):
    return [(l["id"].split("/")[-1] if False else l["name"], l["layer_type"], l["alpha"],
             l["lambda_max"], l["D"]) for l in d["layers"]]


def main():
    # Silero VAD legacy: Conv1d encoder + ONNX LSTM (W/R [1, 256, 64] split per gate), weights in
    # nested If subgraphs, half of the LSTM tensors byte-identical copies.
    d = analyze("silero-vad/silero_vad_legacy.onnx")
    check("silero legacy: LSTM W and R analyzed per gate", count(d, "LSTM", "rnn") >= 16,
          count(d, "LSTM", "rnn"))
    check("silero legacy: gate ids are distinct",
          len({l["id"] for l in d["layers"]}) == len(d["layers"]))
    check("silero legacy: Conv1d kernels analyzed", count(d, "Conv", "conv1d") >= 10)
    check("silero legacy: identical LSTM copies reported as aliases", len(skipped(d, "alias")) >= 1)
    check("silero legacy: LSTM biases are not weights",
          any("LSTM input 3" in s["reason"] for s in skipped(d, "not_weight")))
    ext = analyze("derived-external-data/silero_vad_legacy.ext.onnx")
    check("silero legacy: external-data copy gives identical numbers", numbers(ext) == numbers(d))

    # Silero v5/v6: no initializers at all; every weight is a Constant inside If branches, and
    # the LSTM weights reach the op through Slice/Concat.
    for v in ("v5", "v6"):
        d = analyze(f"silero-vad/silero_vad_{v}.onnx")
        check(f"silero {v}: Constant-node weights in If branches analyzed", len(d["layers"]) >= 20,
              len(d["layers"]))
        check(f"silero {v}: LSTM blocks found through Slice/Concat", count(d, "LSTM", "rnn") >= 8)
        check(f"silero {v}: encoder Conv1d found", count(d, "Conv", "conv1d") >= 8)
        ww = analyze(f"silero-vad/silero_vad_{v}.onnx", "--compat", "ww")
        check(f"silero {v}: --compat ww sees nothing, as WeightWatcher", len(ww["layers"]) == 0)

    # Variants: outer-scope initializers used from subgraphs, and an LSTM unrolled into Gemm.
    for name in ("silero_vad_16k_op15", "silero_vad_half"):
        d = analyze(f"silero-vad-variants/{name}.onnx")
        check(f"{name}: LSTM and Conv1d analyzed",
              count(d, "LSTM", "rnn") >= 8 and count(d, "Conv", "conv1d") >= 4)
    d = analyze("silero-vad-variants/silero_vad_op18_ifless.onnx")
    check("op18_ifless: unrolled LSTM cell as Gemm(transB=1)", count(d, "Gemm", "dense") >= 2)

    # PP-OCR (paddle2onnx): all weights in Constant nodes, MatMul weights stored [in, out].
    d = analyze("ppocr-v4/ch_PP-OCRv4_rec_infer.onnx")
    shapes = [tuple(l["shape"]) for l in d["layers"] if l.get("op_type") == "MatMul"]
    check("ppocr rec: attention qkv 120x360 analyzed", (120, 360) in shapes, shapes)
    check("ppocr rec: 120x6625 head analyzed", (120, 6625) in shapes, shapes)
    check("ppocr rec: transformer MatMuls and convs analyzed",
          count(d, "MatMul") >= 6 and count(d, "Conv") >= 20)
    d = analyze("ppocr-v4/ch_PP-OCRv4_det_infer.onnx")
    check("ppocr det: Conv and ConvTranspose analyzed",
          count(d, "Conv") >= 40 and count(d, "ConvTranspose") >= 1)

    # ISNet: fp16 initializers straight into Conv (nodes not in topological order), and the same
    # network dynamically quantized to uint8 with ConvInteger.
    f16 = analyze("isnet/isnet_fp16.onnx")
    u8 = analyze("isnet/isnet_quint8.onnx")
    n16, n8 = count(f16, "Conv", "conv2d"), count(u8, "ConvInteger", "conv2d")
    check("isnet: every Conv with at least 10 eigenvalues analyzed in fp16 (113 of 119)", n16 == 113, n16)
    check("isnet: the same convs analyzed in uint8 (ConvInteger)", n8 == n16, f"{n8} vs {n16}")
    check("isnet: uint8 weights dequantized", all(l["dequantized"] for l in u8["layers"]))
    check("isnet: precision stored is reported", {l["dtype"] for l in f16["layers"]} == {"FLOAT16"}
          and {l["dtype"] for l in u8["layers"]} == {"UINT8"})
    by_name = {l["name"].replace("_quantized", ""): l for l in u8["layers"]}
    pairs = [(l, by_name[l["name"]]) for l in f16["layers"] if l["name"] in by_name]
    rel_a = sorted(abs(a["alpha"] - b["alpha"]) / a["alpha"] for a, b in pairs)
    rel_l = sorted(abs(a["lambda_max"] - b["lambda_max"]) / a["lambda_max"] for a, b in pairs)
    print(f"     isnet fp16 vs uint8 over {len(pairs)} layers: alpha rel. diff median "
          f"{statistics.median(rel_a):.2e}, 90th pct {rel_a[int(0.9 * len(rel_a))]:.2e}, max "
          f"{rel_a[-1]:.2e}; lambda_max rel. diff max {rel_l[-1]:.2e}")
    check("isnet: fp16 and uint8 agree (lambda_max within 2 %, median alpha within 1 %)",
          len(pairs) == n16 and rel_l[-1] < 0.02 and statistics.median(rel_a) < 0.01)
    ext = analyze("derived-external-data/isnet_fp16.ext.onnx")
    check("isnet: external-data copy gives identical numbers", numbers(ext) == numbers(f16))
    # compare across encodings (issue #11): the uint8 export renames every weight
    # "<w>_quantized" and swaps Conv for ConvInteger; each layer must pair with its fp16 original
    # (by graph place) and quantization noise must not be a regression
    p = subprocess.run([WL, "compare", "--fail-on-regression", "-f", "json",
                        os.path.join(ROOT, "isnet/isnet_fp16.onnx"),
                        os.path.join(ROOT, "isnet/isnet_quint8.onnx")], capture_output=True, text=True)
    c = json.loads(p.stdout)["comparisons"][0]
    right = [l for l in c["layers"] if l["candidate_id"] == (l["base_id"] or "") + "_quantized"
             and l["match"] == "graph"]
    check("isnet: compare fp16 vs uint8 pairs all 113 layers with their originals, by graph place",
          len(right) == 113 == len(c["layers"]), f"{len(right)} of {len(c['layers'])}")
    check("isnet: compare fp16 vs uint8: no regression, exit 0", p.returncode == 0 and
          c["counts"]["regressions"] == 0, f"exit {p.returncode}, {c['counts']['regressions']} regressions")

    # openWakeWord: tf2onnx CNN with '/' and ':' in names; fixed mel filterbank; small heads.
    d = analyze("openwakeword/embedding_model.onnx")
    check("openwakeword embedding: conv layers analyzed", count(d, "Conv") >= 15)
    d = analyze("openwakeword/melspectrogram.onnx")
    check("melspectrogram: the fixed STFT/mel matrices are what is analyzed",
          1 <= len(d["layers"]) <= 4, len(d["layers"]))
    for name in ("alexa_v0.1", "hey_jarvis_v0.1", "timer_v0.1", "weather_v0.1"):
        d = analyze(f"openwakeword/{name}.onnx")
        check(f"openwakeword {name}: Gemm head analyzed", count(d, "Gemm", "dense") >= 1)
    ext = analyze("derived-external-data/embedding_model.ext.onnx")
    base = analyze("openwakeword/embedding_model.onnx")
    check("openwakeword embedding: external-data copy identical", numbers(ext) == numbers(base))
    for name in ("hello_deepa", "namaste_deepa", "hello_deepa_old"):
        d = analyze(f"openwakeword-js/{name}.onnx")
        check(f"openwakeword-js {name}: loads, every tensor accounted for",
              len(d["layers"]) + len(skipped(d)) == d["models"][0]["coverage"]["tensors"])

    # Both modes use the same numerics: a tensor both analyze gives the same values.
    for rel in ("isnet/isnet_fp16.onnx", "openwakeword/hey_jarvis_v0.1.onnx",
                "openwakeword/embedding_model.onnx"):
        dflt = {l["name"]: l for l in analyze(rel)["layers"]}
        ww = analyze(rel, "--compat", "ww")["layers"]
        common = [(l, dflt[l["name"]]) for l in ww if l["name"] in dflt]
        worst = max((abs(a[k] - b[k]) / abs(a[k]) for a, b in common
                     for k in ("alpha", "alpha_weighted", "D", "lambda_max", "log_norm")
                     if a[k] != 0), default=0.0)
        check(f"{rel}: default mode and --compat ww agree on {len(common)} common layers",
              len(common) > 0 and worst <= 1e-6, f"worst rel. diff {worst:.2e}")

    print(f"real models: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
