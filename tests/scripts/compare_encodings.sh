#!/usr/bin/env bash
# compare_encodings.sh — `weightlint compare` across encodings of one trained model (issue #11):
# fp16, bf16, external data, initializers in reverse name order, QDQ per tensor and per channel,
# QLinearMatMul/QLinearConv and dynamic int8 (MatMulInteger/ConvInteger) with the quantizer's
# "<w>_quantized" names, made by tests/gen/encode_model.py from the bundled trained MLP and a conv
# model of the same weights. For every fp32 -> encoding pair, every layer must be paired with its
# true counterpart, by the expected method (id for the float copies, graph for the quantized
# ones), with no regression at the default settings and exit code 0 with --fail-on-regression;
# `report --compare` must show a base value for every layer.
set -eu
WL=${WL:-build/dev/weightlint}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$py tests/gen/encode_model.py examples/fashion_mlp_trained.onnx "$tmp"
fail=0
check() { # BASE CANDIDATE METHOD
    local base=$1 cand=$2 method=$3 rc=0
    "$WL" compare --fail-on-regression -f json "$tmp/$base" "$tmp/$cand" >"$tmp/out.json" 2>"$tmp/err" || rc=$?
    if ! $py - "$tmp/out.json" "$method" "$rc" "$cand" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1])); method, rc, cand = sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = d["comparisons"][0]
bad = []
for l in c["layers"]:
    b, v = l["base_id"], l["candidate_id"]
    if b is None or v is None:
        bad.append(f"{b or v}: not matched ({l['match']})")
        continue
    want = b if (method == "id" or b.startswith("proj")) else b + "_quantized"
    how = "id" if (method == "id" or b.startswith("proj")) else method
    if v != want or l["match"] != how:
        bad.append(f"{b} -> {v} by {l['match']} (want {want} by {how})")
n = max(d["base"]["layers"], d["candidates"][0]["layers"])
ok = not bad and c["counts"]["regressions"] == 0 and rc == 0 and c["matching"]["matched"] == n
print(f"compare_encodings: {cand}: {n - len(bad)}/{n} paired right, "
      f"{c['counts']['regressions']} regressions, exit {rc}" + ("" if ok else "  FAIL " + "; ".join(bad)))
sys.exit(0 if ok else 1)
PY
        fail=1
    fi
}
for e in fp16 bf16 external reversed; do check mlp.onnx "mlp-$e.onnx" id; done
for e in qdq qdq-channel qlinear int8-dynamic; do check mlp.onnx "mlp-$e.onnx" graph; done
check conv.onnx conv-fp16.onnx id
for e in qdq-channel qlinear int8-dynamic; do check conv.onnx "conv-$e.onnx" graph; done
# the report pairs the same way: a base alpha for every layer of the quantized candidate
"$WL" report --compare "$tmp/mlp-reversed.onnx" -o "$tmp/r.html" "$tmp/mlp-int8-dynamic.onnx" 2>/dev/null
$py - "$tmp/r.html" <<'PY' || fail=1
import re, sys
h = open(sys.argv[1]).read()
t = h[h.index('id="layer-table"'):]
t = t[:t.index("</table>")]
rows = re.findall(r"<tr class=.*?</tr>", t)
# columns: #, layer, shape, op, alpha, alpha base, delta, match, ...
base = [re.findall(r"<td[^>]*>(.*?)</td>", r)[5] for r in rows]
missing = [b for b in base if b in ("", "-", "\u2014")]
ok = rows and not missing and "Layers matched:</b> 3 base / 3 candidate layers: 3 of 3 matched" in h
print(f"compare_encodings: report --compare: {len(rows) - len(missing)}/{len(rows)} layers with a base alpha"
      + ("" if ok else "  FAIL"))
sys.exit(0 if ok else 1)
PY
[ "$fail" = 0 ] && echo "compare_encodings: every encoding pairs every layer with its counterpart, no regression"
exit "$fail"
