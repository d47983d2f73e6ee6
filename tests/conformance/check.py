#!/usr/bin/env python3
"""Replays the WeightWatcher 0.7.5.5 conformance cases (tests/conformance/README.md).

For each model: runs `weightlint analyze --compat ww --mp-fit --format json --evals DIR` and
compares every layer, skipped tensor, summary entry and eigenvalue with <model>.expected.json and
<model>.evals.txt at the README's tolerances. Prints one line per failed comparison and ends with
'N passed, N failed' (one check per model and column group). Standard library only.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ["mlp3", "conv", "heavy", "degenerate", "nan"]

EXACT_INT = ["N", "M", "rf", "num_evals", "num_pl_spikes", "matrix_rank", "weak_rank_loss",
             "rank_loss", "num_spikes"]
EXACT_STR = ["warning", "status", "layer_type", "dtype"]
TOL = {  # column: (rtol, atol, atol_scale_column)
    "lambda_max": (1e-9, 0, None), "xmin": (1e-9, 0, None), "xmax": (1e-9, 0, None),
    "norm": (1e-9, 0, None),
    "alpha": (1e-6, 1e-9, None), "alpha_weighted": (1e-6, 1e-9, None), "D": (1e-6, 1e-9, None),
    "sigma": (1e-6, 1e-9, None), "log_alpha_norm": (1e-6, 1e-9, None),
    "log_norm": (1e-9, 1e-12, None), "log_spectral_norm": (1e-9, 1e-12, None),
    "stable_rank": (1e-9, 1e-12, None), "entropy": (1e-9, 1e-12, None), "Q": (1e-9, 1e-12, None),
    "sv_max": (0, 1e-6, "sv_max"), "sv_min": (0, 1e-6, "sv_max"),
    "sigma_mp": (1e-6, 0, None), "bulk_max": (1e-6, 0, None), "bulk_min": (1e-6, 0, None),
    "mp_softrank": (1e-6, 0, None), "W_scale": (1e-6, 0, None),
}
SUMMARY_TOL = {"log_norm": "log_norm", "alpha": "alpha", "alpha_weighted": "alpha_weighted",
               "log_alpha_norm": "log_alpha_norm", "log_spectral_norm": "log_spectral_norm",
               "stable_rank": "stable_rank", "mp_softrank": "mp_softrank"}


def num(v):
    if isinstance(v, str):
        return float(v)  # "inf", "-inf", "nan"
    return float(v)


def close(got, want, rtol, atol):
    g, w = num(got), num(want)
    if math.isnan(w) or math.isinf(w):
        return (math.isnan(g) and math.isnan(w)) or g == w
    if math.isnan(g) or math.isinf(g):
        return False
    return abs(g - w) <= rtol * abs(w) + atol


def read_evals(path):
    blocks, cur = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                parts = line.split()
                cur = parts[1]
                blocks[cur] = []
            elif line.strip():
                blocks[cur].append(float(line))
    return blocks


def check_model(exe, name, failures):
    exp = json.load(open(os.path.join(HERE, name + ".expected.json")))
    model = os.path.join(HERE, "models", name + ".onnx")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([exe, "analyze", "--compat", "ww", "--mp-fit", "--format", "json",
                               "--evals", tmp, "--no-progress", model],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}")
            return
        out = json.loads(proc.stdout)
        got_evals = read_evals(os.path.join(tmp, name + ".evals.txt"))
    want_evals = read_evals(os.path.join(HERE, name + ".evals.txt"))
    bad = []
    layers = [l for l in out["layers"] if l["status"] != "non-finite"]
    nonfinite = [l for l in out["layers"] if l["status"] == "non-finite"]
    want_layers = exp["layers"]
    if "error" in exp:  # nan.onnx: the reference aborts; we report the layer and go on
        want_layers = exp["layers_if_nonfinite_skipped"]
        err = exp["error"]
        if [(l["name"], l["layer_id"]) for l in nonfinite] != [(err["layer"], err["layer_id"])]:
            bad.append(f"non-finite layer: got {[l['name'] for l in nonfinite]}, "
                       f"want {err['layer']}")
    elif nonfinite:
        bad.append(f"unexpected non-finite layers {[l['name'] for l in nonfinite]}")
    got_ids = [(l["name"], l["layer_id"]) for l in layers]
    want_ids = [(l["name"], l["layer_id"]) for l in want_layers]
    if got_ids != want_ids:
        bad.append(f"analyzed layers: got {got_ids}, want {want_ids}")
    else:
        for g, w in zip(layers, want_layers):
            ln = w["name"]
            if g["shape"] != w["shape"]:
                bad.append(f"{ln}: shape {g['shape']} != {w['shape']}")
            for k in EXACT_INT:
                if k in w and g.get(k) != w[k]:
                    bad.append(f"{ln}: {k} = {g.get(k)}, want {w[k]}")
            for k in EXACT_STR:
                if k in w and g.get(k) != w[k]:
                    bad.append(f"{ln}: {k} = {g.get(k)!r}, want {w[k]!r}")
            for k, (rtol, atol, scale) in TOL.items():
                if k not in w:
                    continue
                if k not in g:
                    bad.append(f"{ln}: {k} missing")
                    continue
                a = atol * num(w[scale]) if scale else atol
                if not close(g[k], w[k], rtol, a):
                    bad.append(f"{ln}: {k} = {g[k]}, want {w[k]} (rtol {rtol}, atol {a})")
            ge, we = got_evals.get(ln), want_evals.get(ln)
            if ge is None or len(ge) != len(we):
                bad.append(f"{ln}: eigenvalue count {None if ge is None else len(ge)} != {len(we)}")
            else:
                tol = 1e-9 * max(we)
                worst = max(abs(a - b) for a, b in zip(ge, we))
                if worst > tol:
                    bad.append(f"{ln}: eigenvalue off by {worst:.3g} > {tol:.3g}")
    m = out["models"][0]
    got_sk = [(s["name"], s["layer_id"]) for s in m["skipped"]]
    want_sk = [(s["name"], s["layer_id"]) for s in exp["skipped"]]
    if got_sk != want_sk:
        bad.append(f"skipped: got {got_sk}, want {want_sk}")
    else:
        rule_of = {"rank": "rank", "min_evals": "min_evals", "max_evals": "max_evals",
                   "max_n": "max_N"}
        for g, w in zip(m["skipped"], exp["skipped"]):
            key = rule_of.get(g["reason_code"], "?")
            if key not in w["reason"]:
                bad.append(f"{g['name']}: skipped for {g['reason_code']}, want '{w['reason']}'")
    if exp.get("summary"):
        for k, col in SUMMARY_TOL.items():
            if k not in exp["summary"]:
                continue
            rtol, atol, _ = TOL[col]
            if m["summary"] is None or not close(m["summary"].get(k, "nan"), exp["summary"][k],
                                                 rtol, atol):
                bad.append(f"summary {k} = {m['summary'] and m['summary'].get(k)}, "
                           f"want {exp['summary'][k]}")
    for b in bad:
        failures.append(f"{name}: {b}")
    return not bad


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else "build/weightlint"
    failures, passed, failed = [], 0, 0
    for name in MODELS:
        n_before = len(failures)
        check_model(exe, name, failures)
        if len(failures) == n_before:
            passed += 1
            print(f"ok   conformance {name}")
        else:
            failed += 1
            print(f"FAIL conformance {name}")
            for f in failures[n_before:]:
                print("     " + f)
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
