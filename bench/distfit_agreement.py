#!/usr/bin/env python3
"""distfit_agreement.py DIR — compares the dumps of bench/distfit_agreement.sh: per layer and
value, the fast objectives against the per-point ones, at the conformance rule's tolerance
max(1e-6, 1e-6 |v|, 3 spread), spread being the largest deviation of the 16 jittered runs; and
per fit, how many layers' Nelder–Mead paths (nfev) fork under the fast objectives against under
one jittered run. best_fit must agree everywhere."""
import math
import sys


def load(path):
    lines = open(path).read().split("\n")
    out = []
    for i in range(0, len(lines) - 1, 2):
        tok = lines[i + 1].split()
        vals, nfev = [], []
        for j, x in enumerate(tok):
            key = tok[j - 1] if j else ""
            if key == "nfev":
                nfev.append(x)
            if key in ("nit", "nfev"):
                continue
            try:
                vals.append(float(x))
            except ValueError:
                pass
        out.append((lines[i], vals, nfev))
    return out


def main():
    d = sys.argv[1]
    base, fast = load(f"{d}/per_point.txt"), load(f"{d}/fast.txt")
    jit = [load(f"{d}/j{s}.txt") for s in range(1, 17)]
    checked = outside = 0
    worst = 0.0
    for li, (head, vb, _) in enumerate(base):
        if fast[li][0] != head:
            print(f"best_fit differs: {head} | {fast[li][0]}")
            outside += 1
        for k, b in enumerate(vb):
            f = fast[li][1][k]
            if math.isnan(b) and math.isnan(f):
                continue
            checked += 1
            spread = max((abs(j[li][1][k] - b) for j in jit if not math.isnan(j[li][1][k])),
                         default=0.0)
            tol = max(1e-6, 1e-6 * abs(b), 3 * spread)
            if not abs(f - b) <= tol:
                outside += 1
                worst = max(worst, abs(f - b) / tol)
                print(f"outside: {head} value {k}: per-point {b!r}, fast {f!r}, tol {tol:.3g}")
    print(f"{len(base)} layers, {checked} values: {outside} outside the tolerance"
          + (f" (worst {worst:.1f}x it)" if outside else ""))
    for k, name in ((1, "tpl"), (2, "exponential"), (3, "lognormal"), (4, "stretched_exp")):
        fk = sum(1 for i in range(len(base)) if base[i][2][k] != fast[i][2][k])
        jk = [sum(1 for i in range(len(base)) if base[i][2][k] != j[i][2][k]) for j in jit]
        print(f"{name}: the fast objective forks the path on {fk} layers; one 1e-14 run forks "
              f"{min(jk)}-{max(jk)} (mean {sum(jk) / len(jk):.1f})")


main()
