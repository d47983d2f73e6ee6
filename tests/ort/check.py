#!/usr/bin/python3
"""
check.py - weightlint against onnxruntime, one generated model per weight encoding (issue #10,
item 4). Called by tests/ort/run.sh after tests/gen/lowbit_models.py (the models) and
tests/ort/ort_matrix.js (onnxruntime's matrices).

  check.py WEIGHTLINT GENDIR --required E1,E2,... [--pending E3,...]

For each encoding E (GENDIR/E, see lowbit_models.py):
  1. onnxruntime's matrices: every probe's output (ort_matrix.js), sliced as the manifest says
     (the q, k and v blocks of a packed QKV weight);
  2. two plain float32 MatMul models beside it: twin.onnx holding onnxruntime's matrices and
     orig.onnx holding the weights before quantization;
  3. `weightlint analyze -f json --evals` on model.onnx, twin.onnx and orig.onnx.
It asserts, for a required encoding:
  - layers: weightlint finds and analyzes exactly the manifest's layers (per stored tensor, in
    order, status success) and marks each dequantized unless the encoding is a float one;
  - eigenvalues: |λ_weightlint - λ_onnxruntime| <= 1e-9 · λmax for every eigenvalue, λ_ort from
    numpy.linalg.eigvalsh of the Gram matrix of onnxruntime's matrix (float64);
  - alpha: α on model.onnx equals α on twin.onnx (|Δ| <= 1e-9 · max(1, |α|)).
It reports the median and largest |α(model) - α(orig)|: quantization's own effect.
A pending encoding ("not yet supported") is run and reported the same way but does not fail
the run; a required one that fails does. Exit 0 all required pass, 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EIG_TOL = 1e-9
ALPHA_TOL = 1e-9
FLOAT_ENCODINGS = {"fp32", "fp16", "attention", "attention_qkv_sizes", "embed_layer_norm",
                   "fused_matmul"}


def ort_matrices(d, man):
    """The matrix onnxruntime multiplies, per manifest layer (or an error string)."""
    outs = []
    for L in man["layers"]:
        p = man["probes"][L["probe"]]
        out = os.path.join(d, p["out"])
        if os.path.exists(out + ".error"):
            return None, "onnxruntime rejected %s: %s" % (p["model"], open(out + ".error").read().strip())
        if not os.path.exists(out):
            return None, "no onnxruntime output for %s" % p["model"]
        dims = json.load(open(out + ".json"))["dims"]
        y = np.fromfile(out, dtype="<f8").reshape(dims)
        if L["cols"]:
            y = y[:, L["cols"][0]:L["cols"][1]]
        outs.append(np.ascontiguousarray(y))
    return outs, None


def plain_model(path, mats):
    """One MatMul per matrix, float32 initializers named L00, L01, ... (exact for ORT's
    float32 outputs)."""
    nodes, inits, ins, outs = [], [], [], []
    for i, w in enumerate(mats):
        n = "L%02d" % i
        inits.append(numpy_helper.from_array(w.astype(np.float32), n))
        ins.append(helper.make_tensor_value_info("x%d" % i, TensorProto.FLOAT, ["b", w.shape[0]]))
        outs.append(helper.make_tensor_value_info("y%d" % i, TensorProto.FLOAT, None))
        nodes.append(helper.make_node("MatMul", ["x%d" % i, n], ["y%d" % i], name="mm%d" % i))
    m = helper.make_model(helper.make_graph(nodes, "plain", ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def analyze(wl, model, evdir):
    os.makedirs(evdir, exist_ok=True)
    r = subprocess.run([wl, "analyze", "-f", "json", "--no-progress", "--evals", evdir, model],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        return None, "weightlint analyze %s: exit %d: %s" % (
            os.path.basename(model), r.returncode, r.stderr.strip().splitlines()[-1:] or "")
    js = json.loads(r.stdout)
    stem = os.path.basename(model)
    stem = stem[:-5] if stem.endswith(".onnx") else stem
    evals = []
    cur = None
    with open(os.path.join(evdir, stem + ".evals.txt")) as f:
        for line in f:
            if line.startswith("#"):
                parts = line[1:].split()
                cur = [" ".join(parts[:-1]), []]
                evals.append(cur)
            elif line.strip():
                cur[1].append(float(line))
    return {"json": js, "evals": evals, "model": js["models"][0]}, None


def rows_by_name(res):
    """weightlint's layer rows grouped by tensor name, each with its eigenvalues."""
    ev = list(res["evals"])
    out = {}
    for row in res["json"]["layers"]:
        vals = None
        if row.get("num_evals") and ev and ev[0][0] == row["name"]:
            vals = np.array(ev.pop(0)[1])
        out.setdefault(row["name"], []).append((row, vals))
    return out


def gram_evals(w):
    w = w.astype(np.float64)
    g = w.T @ w if w.shape[1] <= w.shape[0] else w @ w.T
    return np.sort(np.linalg.eigvalsh(g))


def check_encoding(wl, d):
    man = json.load(open(os.path.join(d, "manifest.json")))
    res = {"encoding": man["encoding"], "doc": man["doc"], "expected": len(man["layers"]),
           "found": 0, "analyzed": 0, "eig": float("nan"), "dalpha_twin": float("nan"),
           "dalpha_med": float("nan"), "dalpha_max": float("nan"), "errors": []}
    err = res["errors"]
    mats, e = ort_matrices(d, man)
    if e:
        err.append(e)
        return res
    origs = [np.load(os.path.join(d, L["orig"])) for L in man["layers"]]
    for w, o in zip(mats, origs):
        if w.shape != o.shape:
            err.append("onnxruntime matrix %s vs original %s" % (w.shape, o.shape))
            return res
    plain_model(os.path.join(d, "twin.onnx"), mats)
    plain_model(os.path.join(d, "orig.onnx"), origs)
    runs = {}
    for k in ("model", "twin", "orig"):
        r, e = analyze(wl, os.path.join(d, k + ".onnx"), os.path.join(d, "evals"))
        if e:
            err.append(e)
            return res
        runs[k] = r
    q = rows_by_name(runs["model"])
    twin = [r for name in sorted(rows_by_name(runs["twin"])) for r in rows_by_name(runs["twin"])[name]]
    orig = [r for name in sorted(rows_by_name(runs["orig"])) for r in rows_by_name(runs["orig"])[name]]
    # the manifest's layers, per stored tensor, in order
    taken = {}
    eig_worst, da_twin, da_orig = 0.0, 0.0, []
    for i, L in enumerate(man["layers"]):
        k = taken.get(L["tensor"], 0)
        taken[L["tensor"]] = k + 1
        rows = q.get(L["tensor"], [])
        if k >= len(rows):
            err.append("layer '%s' (part %d) not found by weightlint" % (L["tensor"], k))
            continue
        row, vals = rows[k]
        res["found"] += 1
        if row["status"] != "success":
            err.append("'%s': status %s (%s)" % (row["id"], row["status"],
                                                 row.get("status_reason", "")))
            continue
        res["analyzed"] += 1
        if man["encoding"] not in FLOAT_ENCODINGS and not row.get("dequantized"):
            err.append("'%s': dequantized is false" % row["id"])
        ref = gram_evals(mats[i])
        if vals is None or len(vals) != len(ref):
            err.append("'%s': %s eigenvalues, onnxruntime's matrix has %d" % (
                row["id"], "no" if vals is None else len(vals), len(ref)))
            continue
        rel = np.max(np.abs(np.sort(vals) - ref)) / ref[-1]
        eig_worst = max(eig_worst, rel)
        if not rel <= EIG_TOL:
            err.append("'%s': eigenvalues differ from onnxruntime's by %.3g x lambda_max (> %g)"
                       % (row["id"], rel, EIG_TOL))
        a_q, a_t, a_o = row.get("alpha"), twin[i][0].get("alpha"), orig[i][0].get("alpha")
        if a_q is None or a_t is None or not np.isfinite(a_q) or not np.isfinite(a_t):
            err.append("'%s': alpha %s, twin alpha %s" % (row["id"], a_q, a_t))
            continue
        da = abs(a_q - a_t)
        da_twin = max(da_twin, da)
        if not da <= ALPHA_TOL * max(1.0, abs(a_t)):
            err.append("'%s': alpha %.12g but %.12g on the float32 model holding onnxruntime's "
                       "matrix" % (row["id"], a_q, a_t))
        if a_o is not None and np.isfinite(a_o):
            da_orig.append(abs(a_q - a_o))
    extra = sum(len(v) for v in q.values()) - res["found"]
    if extra:
        err.append("%d more layer(s) than expected: %s" % (extra, ", ".join(
            r[0]["id"] for name, v in q.items() for r in v[taken.get(name, 0):])))
    res["eig"], res["dalpha_twin"] = eig_worst, da_twin
    if da_orig:
        res["dalpha_med"], res["dalpha_max"] = float(np.median(da_orig)), float(np.max(da_orig))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weightlint")
    ap.add_argument("gendir")
    ap.add_argument("--required", default="")
    ap.add_argument("--pending", default="")
    a = ap.parse_args()
    req = [e for e in a.required.split(",") if e]
    pend = [e for e in a.pending.split(",") if e]
    fails = 0
    print("%-28s %-9s %5s %5s %5s %11s %10s %10s  %s" % (
        "encoding", "list", "exp", "found", "anal", "max|dλ|/λmx", "med|Δα|", "max|Δα|",
        "result"))
    for group, names in (("required", req), ("pending", pend)):
        for e in names:
            r = check_encoding(a.weightlint, os.path.join(a.gendir, e))
            ok = not r["errors"]
            verdict = "PASS" if ok else ("FAIL" if group == "required" else "not yet supported")
            if group == "pending" and ok:
                verdict = "passes now (move it to REQUIRED)"
            print("%-28s %-9s %5d %5d %5d %11.3g %10.4g %10.4g  %s" % (
                e, group, r["expected"], r["found"], r["analyzed"], r["eig"], r["dalpha_med"],
                r["dalpha_max"], verdict))
            for m in r["errors"][:4]:
                print("    %s" % m)
            if len(r["errors"]) > 4:
                print("    ... %d more" % (len(r["errors"]) - 4))
            if group == "required" and not ok:
                fails += 1
    print("test-ort: %d required encodings, %d failed; %d not yet supported (listed, not checked "
          "as passing)" % (len(req), fails, len(pend)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
