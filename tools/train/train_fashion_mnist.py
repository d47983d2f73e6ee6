#!/usr/bin/python3
"""Train the bundled weightlint example models on Fashion-MNIST.

Uses only Debian packages:
    apt-get install -y python3-numpy python3-onnx dataset-fashion-mnist

Run from the repository root with the system interpreter:
    /usr/bin/python3 tools/train/train_fashion_mnist.py

It writes
    examples/fashion_mlp_random.onnx   - the MLP at its (seeded) He initialisation
    examples/fashion_mlp_trained.onnx  - the same MLP after SGD+momentum training
and prints the test accuracy of both plus, for every weight matrix W, a
power-law exponent alpha of the eigenvalue spectrum of W^T W (Clauset-style
xmin scan by KS distance, as in WeightWatcher).

Everything is pure NumPy and seeded with numpy.random.default_rng(SEED).
The model input is a float32 tensor [N, 784]: the 28x28 image flattened
row-major and scaled to [0, 1] (pixel / 255). The output is [N, 10] logits.
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 20240607
LAYERS = [784, 512, 256, 10]


# ---------------------------------------------------------------- data
def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


def load_split(data_dir, kind):
    x = load_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % kind))
    y = load_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % kind))
    x = x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255.0)
    return x, y.astype(np.int64)


# ---------------------------------------------------------------- model
def init_params(rng):
    """He (Kaiming-normal) weights stored as [out, in], zero biases."""
    params = []
    for fan_in, fan_out in zip(LAYERS[:-1], LAYERS[1:]):
        w = rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
        params.append([w.astype(np.float32), np.zeros(fan_out, np.float32)])
    return params


def forward(params, x):
    acts = [x]
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w.T + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
        acts.append(h)
    return acts


def accuracy(params, x, y, bs=2000):
    correct = 0
    for s in range(0, x.shape[0], bs):
        logits = forward(params, x[s:s + bs])[-1]
        correct += int((logits.argmax(1) == y[s:s + bs]).sum())
    return correct / x.shape[0]


def train(params, x, y, rng, epochs, batch, lr0, momentum, wd, cosine, log):
    vel = [[np.zeros_like(w), np.zeros_like(b)] for w, b in params]
    n = x.shape[0]
    mom = np.float32(momentum)
    wd = np.float32(wd)
    for ep in range(epochs):
        t0 = time.time()
        # Per-epoch learning rate: constant, or cosine from lr0 down to lr0/20.
        if cosine and epochs > 1:
            f = 0.5 * (1.0 + np.cos(np.pi * ep / (epochs - 1)))
            lr = np.float32(lr0 * (0.05 + 0.95 * f))
        else:
            lr = np.float32(lr0)
        perm = rng.permutation(n)
        tot_loss = 0.0
        for s in range(0, n - batch + 1, batch):
            idx = perm[s:s + batch]
            xb, yb = x[idx], y[idx]
            acts = forward(params, xb)
            logits = acts[-1]
            logits = logits - logits.max(1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(1, keepdims=True)
            tot_loss += float(-np.log(p[np.arange(batch), yb] + 1e-12).sum())
            g = p
            g[np.arange(batch), yb] -= 1.0
            g /= np.float32(batch)
            for i in range(len(params) - 1, -1, -1):
                w, b = params[i]
                gw = g.T @ acts[i]
                gb = g.sum(0)
                if i > 0:
                    g = (g @ w) * (acts[i] > 0)
                if wd:
                    gw += wd * w
                vw, vb = vel[i]
                vw *= mom
                vw -= lr * gw
                vb *= mom
                vb -= lr * gb
                w += vw
                b += vb
        log("epoch %d/%d  lr %.4f  loss %.4f  (%.1fs)"
            % (ep + 1, epochs, lr, tot_loss / (n - n % batch), time.time() - t0))


# ---------------------------------------------------------------- onnx
def save_onnx(params, path, doc):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = "input"
    for i, (w, b) in enumerate(params):
        wn, bn, out = "fc%d.weight" % (i + 1), "fc%d.bias" % (i + 1), "fc%d" % (i + 1)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w, np.float32), wn))
        inits.append(numpy_helper.from_array(np.ascontiguousarray(b, np.float32), bn))
        if i == len(params) - 1:
            out = "logits"
        nodes.append(helper.make_node("Gemm", [cur, wn, bn], [out], name="fc%d" % (i + 1),
                                      alpha=1.0, beta=1.0, transB=1))
        cur = out
        if i < len(params) - 1:
            nodes.append(helper.make_node("Relu", [cur], ["relu%d" % (i + 1)],
                                          name="relu%d" % (i + 1)))
            cur = "relu%d" % (i + 1)
    graph = helper.make_graph(
        nodes, "fashion_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", LAYERS[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", LAYERS[-1]])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="weightlint-examples",
                              producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return model


def load_onnx_params(path):
    """Read the Gemm weights back from a saved file (round-trip check)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    onnx.checker.check_model(m)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = []
    for node in m.graph.node:
        if node.op_type == "Gemm":
            out.append([init[node.input[1]], init[node.input[2]]])
    return out


# ---------------------------------------------------------------- spectra
def esd(w):
    """Eigenvalues of W^T W (nonzero ones equal those of the smaller Gram)."""
    w = w.astype(np.float64)
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return np.sort(np.linalg.eigvalsh(g))


def powerlaw_alpha(evals):
    """Clauset-style fit: scan xmin over every eigenvalue except the largest
    (among evals > 1e-5), alpha = 1 + n / sum(ln(x/xmin)),
    D = max |1 - (x/xmin)^(1-alpha) - k/n|; return (alpha, xmin, D, n_tail)
    at the minimum D."""
    ev = np.sort(evals[evals > 1e-5])
    best = (float("nan"), float("nan"), float("inf"), 0)
    for i in range(len(ev) - 1):
        xmin = ev[i]
        tail = ev[i:]
        n = len(tail)
        s = np.log(tail / xmin).sum()
        if s <= 0:
            continue
        alpha = 1.0 + n / s
        cdf_fit = 1.0 - (tail / xmin) ** (1.0 - alpha)
        cdf_emp = np.arange(n) / n
        d = np.max(np.abs(cdf_fit - cdf_emp))
        if d < best[2]:
            best = (alpha, xmin, d, n)
    return best


def hill_alpha(evals, frac=0.15):
    ev = np.sort(evals[evals > 1e-5])[::-1]
    k = max(2, int(round(frac * len(ev))))
    top = ev[:k]
    return 1.0 + k / np.log(top / top[-1]).sum() if k > 1 else float("nan")


def spectrum_report(params, label, log):
    rows = []
    for i, (w, _) in enumerate(params):
        ev = esd(w)
        a, xmin, d, nt = powerlaw_alpha(ev)
        h = hill_alpha(ev)
        rows.append((i + 1, w.shape, a, h, ev[-1], nt, d))
        log("  %-8s fc%d %-11s alpha(KS)=%6.2f  hill15%%=%6.2f  lambda_max=%9.3f"
            "  tail n=%4d  D=%.3f" % (label, i + 1, "x".join(map(str, w.shape)),
                                       a, h, ev[-1], nt, d))
    return rows


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--out-dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--constant-lr", action="store_true",
                    help="no cosine learning-rate decay")
    ap.add_argument("--no-write", action="store_true", help="train and report only")
    args = ap.parse_args()

    def log(msg):
        print(msg, flush=True)

    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "t10k")
    log("data: train %s test %s from %s" % (xtr.shape, xte.shape, args.data_dir))

    rng = np.random.default_rng(args.seed)
    params = init_params(rng)
    init = [[w.copy(), b.copy()] for w, b in params]
    acc_rand = accuracy(init, xte, yte)
    log("random init test accuracy: %.4f" % acc_rand)

    t0 = time.time()
    train(params, xtr, ytr, rng, args.epochs, args.batch, args.lr, args.momentum,
          args.wd, not args.constant_lr, log)
    acc_tr = accuracy(params, xte, yte)
    log("trained test accuracy: %.4f  (train acc %.4f, %.0fs)"
        % (acc_tr, accuracy(params, xtr, ytr), time.time() - t0))

    cfg = ("seed=%d epochs=%d batch=%d lr=%g (%s) momentum=%g wd=%g"
           % (args.seed, args.epochs, args.batch, args.lr,
              "constant" if args.constant_lr else "cosine to lr/20",
              args.momentum, args.wd))
    if not args.no_write:
        out = os.path.normpath(args.out_dir)
        os.makedirs(out, exist_ok=True)
        p_rand = os.path.join(out, "fashion_mlp_random.onnx")
        p_tr = os.path.join(out, "fashion_mlp_trained.onnx")
        save_onnx(init, p_rand,
                  "Fashion-MNIST MLP 784-512-256-10 (ReLU) at He initialisation, "
                  "untrained (%s). Input: [N,784] pixels/255; output: logits. "
                  "Test accuracy %.4f." % (cfg, acc_rand))
        save_onnx(params, p_tr,
                  "Fashion-MNIST MLP 784-512-256-10 (ReLU) trained with SGD+momentum "
                  "(%s). Input: [N,784] pixels/255; output: logits. "
                  "Test accuracy %.4f." % (cfg, acc_tr))
        # Round-trip: the files evaluate to the same accuracies.
        for path, want in ((p_rand, acc_rand), (p_tr, acc_tr)):
            got = accuracy(load_onnx_params(path), xte, yte)
            log("wrote %s (%d bytes), checker ok, test accuracy from file %.4f"
                % (path, os.path.getsize(path), got))
            if abs(got - want) > 1e-9:
                sys.exit("round-trip accuracy mismatch for %s" % path)

    log("spectra of W^T W (power-law alpha; trained layers should be lower):")
    spectrum_report(init, "random", log)
    spectrum_report(params, "trained", log)


if __name__ == "__main__":
    main()
