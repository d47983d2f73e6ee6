#!/usr/bin/env python3
"""The paper's claim on real models (docs/metrics.md, "Is it a power law? The paper's claim").

  dist_claim.py WEIGHTLINT MODEL...

Runs `analyze --dist-test --format json` on each model and tables, over the layers whose PL fit
succeeded: best_fit shares; the share where PL or TPL is best at p <= 0.05 (Martin & Mahoney
2019 §3: "in all cases PL or TPL fits best (p <= 0.05), TPL more common for smaller alpha");
the share where no alternative beats PL/TPL significantly; TPL's share (PL vs TPL nested test
favours TPL, p <= 0.05) by alpha bin; and how many layers have alpha_spread > 2."""
import collections
import json
import subprocess
import sys

wl, models = sys.argv[1], sys.argv[2:]
rows = []
for m in models:
    out = subprocess.run([wl, "analyze", "--no-progress", "--dist-test", "--format", "json", m],
                         capture_output=True, text=True, check=True)
    rows += [l for l in json.loads(out.stdout)["layers"] if l["status"] == "success"]
n = len(rows)
bf = collections.Counter(l.get("best_fit") for l in rows)
print(f"{len(models)} models, {n} layers with a PL fit")
print("\n| best_fit | layers | share |\n|---|---|---|")
for k in ("pl", "tpl", "undecided", "exponential", "lognormal", "stretched_exp", None):
    print(f"| {k if k else 'null (no comparison)'} | {bf[k]} | {100 * bf[k] / n:.1f} % |")
pl_tpl = bf["pl"] + bf["tpl"]
not_beaten = pl_tpl + bf["undecided"]
print(f"\nPL or TPL best at p <= 0.05: {pl_tpl} / {n} ({100 * pl_tpl / n:.1f} %)")
print(f"no alternative beats PL/TPL at p <= 0.05 (pl, tpl or undecided): {not_beaten} / {n} "
      f"({100 * not_beaten / n:.1f} %)")


def tpl_wins(l):
    r, p = l.get("pl_vs_tpl_R"), l.get("pl_vs_tpl_p")
    return isinstance(r, float) and isinstance(p, float) and r < 0 and p <= 0.05


bins = [(0, 2), (2, 3), (3, 4), (4, 6), (6, 8), (8, float("inf"))]
print("\n| alpha | layers | TPL beats PL (p <= 0.05) | best_fit = tpl | best_fit = exponential |")
print("|---|---|---|---|---|")
for lo, hi in bins:
    sel = [l for l in rows if isinstance(l["alpha"], float) and lo <= l["alpha"] < hi]
    if not sel:
        continue
    k = len(sel)
    t = sum(tpl_wins(l) for l in sel)
    bt = sum(l.get("best_fit") == "tpl" for l in sel)
    be = sum(l.get("best_fit") == "exponential" for l in sel)
    name = f"[{lo}, {hi})" if hi != float("inf") else f">= {lo}"
    print(f"| {name} | {k} | {t} ({100 * t / k:.0f} %) | {bt} ({100 * bt / k:.0f} %) | "
          f"{be} ({100 * be / k:.0f} %) |")
sp = sum(1 for l in rows if isinstance(l.get("alpha_spread"), float) and l["alpha_spread"] > 2)
print(f"\nalpha_spread > 2 (fit-unreliable 'alpha unstable across xmin'): {sp} / {n}")
