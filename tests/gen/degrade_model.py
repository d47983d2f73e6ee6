#!/usr/bin/python3
"""degrade_model.py — derive test models for `weightlint compare` and the CI tests from a real one.

Replaces one initializer of an ONNX model the way a broken training or export would:

  gaussian     i.i.d. Gaussian weights with the original's standard deviation (a layer reset to
               random initialisation: alpha > 6, random-like phase, no spikes)
  lowrank      the best rank-R approximation (truncated SVD, default R = 2: rank collapse)
  nan          one weight set to NaN (non-finite weights)
  interpolate  (1 - t) * FROM + t * IN for every initializer: a pseudo-checkpoint between an
               initialisation FROM and the trained IN (t = 0 is FROM, t = 1 is IN)
  rename       every initializer renamed to onnx::<op>_<n> (what a re-export does to names),
               weights unchanged

Seeded (NumPy's PCG64 with --seed), so every run writes the same bytes. With --external the
weights are written to OUT.data next to OUT (ONNX external data), as large models are stored.

    degrade_model.py IN OUT --tensor fc2.weight --mode gaussian [--seed 1] [--rank 2]
    degrade_model.py IN OUT --mode interpolate --from INIT --t 0.5
Needs Debian's python3-onnx (and its python3-numpy).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--tensor", help="initializer to replace (all modes but interpolate)")
    ap.add_argument("--mode", required=True, choices=["gaussian", "lowrank", "nan", "interpolate", "rename"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rank", type=int, default=2)
    ap.add_argument("--from", dest="init", help="interpolate: the initialisation model")
    ap.add_argument("--t", type=float, default=0.5, help="interpolate: share of the way to IN")
    ap.add_argument("--external", action="store_true", help="weights in OUT.data")
    a = ap.parse_args()

    model = onnx.load(a.input)
    inits = {t.name: t for t in model.graph.initializer}
    rng = np.random.default_rng(a.seed)
    if a.mode == "rename":
        new_names = {}
        for node in model.graph.node:
            for i, name in enumerate(node.input):
                if name in inits and name not in new_names:
                    new_names[name] = f"onnx::{node.op_type}_{100 + len(new_names)}"
        for node in model.graph.node:
            for i, name in enumerate(node.input):
                if name in new_names:
                    node.input[i] = new_names[name]
        for t in model.graph.initializer:
            t.name = new_names.get(t.name, t.name)
    elif a.mode == "interpolate":
        if not a.init:
            sys.exit("degrade_model: --mode interpolate needs --from INIT")
        start = {t.name: numpy_helper.to_array(t) for t in onnx.load(a.init).graph.initializer}
        for name, t in inits.items():
            end = numpy_helper.to_array(t)
            if name not in start or start[name].shape != end.shape:
                sys.exit(f"degrade_model: {name}: not in {a.init} with shape {end.shape}")
            w = (1.0 - a.t) * start[name] + a.t * end
            t.CopyFrom(numpy_helper.from_array(w.astype(end.dtype), name))
    else:
        if a.tensor not in inits:
            sys.exit(f"degrade_model: no initializer '{a.tensor}' in {a.input} "
                     f"(have: {', '.join(inits)})")
        t = inits[a.tensor]
        w = numpy_helper.to_array(t)
        if a.mode == "gaussian":
            new = rng.normal(0.0, float(w.std()), size=w.shape)
        elif a.mode == "lowrank":
            u, s, vt = np.linalg.svd(w.reshape(w.shape[0], -1).astype(np.float64),
                                     full_matrices=False)
            r = max(1, min(a.rank, len(s)))
            new = ((u[:, :r] * s[:r]) @ vt[:r]).reshape(w.shape)
        else:
            new = w.copy()
            new.flat[new.size // 2] = np.nan
        t.CopyFrom(numpy_helper.from_array(new.astype(w.dtype), a.tensor))

    if a.external:
        data = os.path.basename(a.output) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(a.output) or ".", data)):
            os.remove(os.path.join(os.path.dirname(a.output) or ".", data))
        onnx.save_model(model, a.output, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data, size_threshold=1024)
    else:
        onnx.save_model(model, a.output)


if __name__ == "__main__":
    main()
