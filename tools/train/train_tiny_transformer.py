#!/usr/bin/python3
"""Train the small transformer whose weights the test-ort encodings use in transformer roles
(packed QKV for Attention/QAttention, word/position tables for EmbedLayerNormalization and
GatherBlockQuantized; issue #10 item 4).

    /usr/bin/python3 tools/train/train_tiny_transformer.py [--steps N]

writes tests/gen/tiny_transformer.npz (float32, ~0.8 MB). Pure NumPy, seeded.

Model: one causal self-attention block (single head; the ONNX Attention op may split the same
weights into heads, which does not change the matrices) and a ReLU MLP, residual connections, a
tied unembedding:
    h0 = E[x] + P[t];  q|k|v = h0 Wqkv;  h1 = h0 + softmax(q kᵀ / sqrt(d) + causal) v Wo
    h2 = h1 + relu(h1 W1) W2;  logits = h2 Eᵀ
Task: copy. A sequence of 16 random tokens, a separator, the same 16 tokens; the loss is the
cross-entropy on the second half (the model must attend back 17 positions: a job for the
attention weights, not only the embeddings). Adam, manual backpropagation.
"""
import argparse
import os
import sys
import time

import numpy as np

SEED = 20261201
V, D, FF, K = 256, 128, 512, 16  # vocab (+1 separator), width, MLP width, copied length
T = 2 * K + 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "gen",
                   "tiny_transformer.npz")


def init(rng):
    s = lambda fan_in: 1.0 / np.sqrt(fan_in)  # noqa: E731
    return {
        "E": rng.standard_normal((V + 1, D)) * 0.1,
        "P": rng.standard_normal((T, D)) * 0.1,
        "Wqkv": rng.standard_normal((D, 3 * D)) * s(D),
        "Wo": rng.standard_normal((D, D)) * s(D),
        "W1": rng.standard_normal((D, FF)) * s(D),
        "W2": rng.standard_normal((FF, D)) * s(FF),
    }


def batch(rng, n):
    a = rng.integers(0, V, size=(n, K))
    x = np.concatenate([a, np.full((n, 1), V), a], axis=1)  # [n, T]
    return x[:, :-1], x[:, 1:]  # inputs, next-token targets (T - 1 positions)


def forward_backward(p, x, y):
    n, t = x.shape
    mask = np.triu(np.full((t, t), -1e9), 1)
    h0 = p["E"][x] + p["P"][:t]
    qkv = h0 @ p["Wqkv"]
    q, k, v = qkv[..., :D], qkv[..., D:2 * D], qkv[..., 2 * D:]
    s = q @ k.transpose(0, 2, 1) / np.sqrt(D) + mask
    s -= s.max(-1, keepdims=True)
    a = np.exp(s)
    a /= a.sum(-1, keepdims=True)
    c = a @ v
    h1 = h0 + c @ p["Wo"]
    u = h1 @ p["W1"]
    r = np.maximum(u, 0)
    h2 = h1 + r @ p["W2"]
    logits = h2 @ p["E"].T
    logits -= logits.max(-1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(-1, keepdims=True)
    w = np.zeros((n, t))
    w[:, K:] = 1.0  # loss on the copied half
    w /= w.sum()
    idx = (np.arange(n)[:, None], np.arange(t)[None, :], y)
    loss = -(np.log(prob[idx] + 1e-12) * w).sum()
    acc = ((prob.argmax(-1) == y) * (w > 0)).sum() / (w > 0).sum()
    g = {}
    dl = prob
    dl[idx] -= 1
    dl *= w[..., None]
    g["E"] = dl.reshape(-1, V + 1).T @ h2.reshape(-1, D)
    dh2 = dl @ p["E"]
    g["W2"] = r.reshape(-1, FF).T @ dh2.reshape(-1, D)
    dr = dh2 @ p["W2"].T
    du = dr * (u > 0)
    g["W1"] = h1.reshape(-1, D).T @ du.reshape(-1, FF)
    dh1 = dh2 + du @ p["W1"].T
    g["Wo"] = c.reshape(-1, D).T @ dh1.reshape(-1, D)
    dc = dh1 @ p["Wo"].T
    da = dc @ v.transpose(0, 2, 1)
    dv = a.transpose(0, 2, 1) @ dc
    ds = a * (da - (da * a).sum(-1, keepdims=True)) / np.sqrt(D)
    dq = ds @ k
    dk = ds.transpose(0, 2, 1) @ q
    dqkv = np.concatenate([dq, dk, dv], axis=-1)
    g["Wqkv"] = h0.reshape(-1, D).T @ dqkv.reshape(-1, 3 * D)
    dh0 = dh1 + dqkv @ p["Wqkv"].T
    onehot = np.zeros((n * t, V + 1))
    onehot[np.arange(n * t), x.reshape(-1)] = 1.0
    g["E"] += onehot.T @ dh0.reshape(-1, D)  # the embedding lookup's gradient
    g["P"] = np.zeros_like(p["P"])
    g["P"][:t] = dh0.sum(0)
    return loss, acc, g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)
    p = init(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    s2 = {k: np.zeros_like(v) for k, v in p.items()}
    lr, b1, b2 = 3e-3, 0.9, 0.98
    t0 = time.time()
    for step in range(1, args.steps + 1):
        x, y = batch(rng, 32)
        loss, acc, g = forward_backward(p, x, y)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            s2[k] = b2 * s2[k] + (1 - b2) * g[k] ** 2
            p[k] -= lr * (m[k] / (1 - b1 ** step)) / (np.sqrt(s2[k] / (1 - b2 ** step)) + 1e-8)
        if step % 250 == 0 or step == 1:
            print("step %5d  loss %.4f  copy accuracy %.3f  (%.0f s)" % (step, loss, acc,
                                                                       time.time() - t0),
                  flush=True)
    x, y = batch(np.random.default_rng(SEED + 1), 512)
    loss, acc, _ = forward_backward(p, x, y)
    print("held-out: loss %.4f, copy accuracy %.3f" % (loss, acc))
    np.savez_compressed(args.out, **{k: v.astype(np.float32) for k, v in p.items()},
                        meta=np.array("tiny transformer, copy task, %d steps, held-out copy "
                                      "accuracy %.3f" % (args.steps, acc)))
    print("wrote", os.path.normpath(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
