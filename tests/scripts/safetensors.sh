#!/usr/bin/env bash
# safetensors.sh — safetensors checkpoints as input (issue 15), on the bundled trained MLP saved
# by tests/gen/mksafetensors.py in PyTorch's layout ([out, in], the transpose of nothing here:
# torch.onnx's Gemm transB=1 keeps [out, in]; see the writer):
#  - the F32 and F64 checkpoints give the ONNX model's metrics bit for bit, every column;
#  - F16 and BF16 checkpoints give exactly the metrics of their values upcast to F32;
#  - a 2-shard checkpoint (by its index and by its folder) gives the single file's result;
#  - a tied copy is analyzed once (alias), a rank-4 tensor is a conv2d, rank-1 and integer
#    tensors are skipped as not weights, a folder of several files without an index is refused;
#  - check, report, --shard + merge and compare (names kept, and renamed: by shape and order)
#    work on checkpoints; the Action's changed-model list maps a changed shard to its index.
# The bad inputs are golden tests (tests/golden/st-bad-*).
set -euo pipefail
WL=${WL:-build/weightlint}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
onnx=examples/fashion_mlp_trained.onnx
$py tests/gen/mksafetensors.py "$onnx" "$tmp/st" >/dev/null
st=$tmp/st

# same_metrics A.json B.json [what]: every layer's metric columns equal (as JSON values), layers
# paired by name, the same set of names on both sides.
same_metrics() {
    $py - "$1" "$2" "${3:-}" <<'PY'
import json, sys
ident = {"model", "layer_id", "id", "dtype", "shape", "node_name", "op_type", "input_index",
         "depth", "name", "dequantized"}
a, b = (json.load(open(p)) for p in sys.argv[1:3])
la = {l["name"]: l for l in a["layers"]}
lb = {l["name"]: l for l in b["layers"]}
assert la.keys() == lb.keys(), (sys.argv[3], sorted(la), sorted(lb))
n = 0
for k in la:
    for c in la[k]:
        if c in ident:
            continue
        assert la[k][c] == lb[k].get(c), (sys.argv[3], k, c, la[k][c], lb[k].get(c))
        n += 1
print(n)
PY
}
analyze() { "$WL" analyze --no-progress -f json "$@"; }

analyze "$onnx" -o "$tmp/onnx.json"
for f in mlp mlp-f64; do
    analyze "$st/$f.safetensors" -o "$tmp/$f.json"
    same_metrics "$tmp/onnx.json" "$tmp/$f.json" "$f vs ONNX" >/dev/null
done
analyze --compat ww "$onnx" -o "$tmp/onnx-ww.json"
analyze --compat ww "$st/mlp.safetensors" -o "$tmp/mlp-ww.json"
same_metrics "$tmp/onnx-ww.json" "$tmp/mlp-ww.json" "--compat ww" >/dev/null
for f in f16 bf16; do
    analyze "$st/mlp-$f.safetensors" -o "$tmp/$f.json"
    analyze "$st/mlp-$f-upcast.safetensors" -o "$tmp/$f-up.json"
    same_metrics "$tmp/$f.json" "$tmp/$f-up.json" "$f vs its upcast" >/dev/null
done
# the rounding is real: F16's metrics are not F32's
! same_metrics "$tmp/onnx.json" "$tmp/f16.json" f16 >/dev/null 2>&1 ||
    { echo "F16 checkpoint gave the F32 metrics: the test cannot tell"; exit 1; }
for s in "$st/sharded" "$st/sharded/model.safetensors.index.json"; do
    analyze "$s" -o "$tmp/sh.json"
    same_metrics "$tmp/mlp.json" "$tmp/sh.json" "sharded $s" >/dev/null
done

# layer rules without a graph
"$WL" analyze --no-progress -f json "$st/tied.safetensors" -o "$tmp/tied.json"
"$WL" analyze --no-progress -f json "$st/conv.safetensors" -o "$tmp/conv.json"
$py - "$tmp/tied.json" "$tmp/conv.json" "$tmp/mlp.json" <<'PY'
import json, sys
tied, conv, mlp = (json.load(open(p)) for p in sys.argv[1:4])
names = [l["name"] for l in tied["layers"]]
assert names == ["fc1.weight", "fc2.weight", "fc3.weight"], names
sk = {s["name"]: s for s in tied["models"][0]["skipped"]}
assert sk["lm_head.weight"]["reason_code"] == "alias", sk["lm_head.weight"]
assert "fc1.weight" in sk["lm_head.weight"]["reason"], sk["lm_head.weight"]
assert sk["fc1.bias"]["reason_code"] == "not_weight", sk["fc1.bias"]
(c,) = conv["layers"]
assert (c["name"], c["layer_type"], c["shape"], c["N"], c["M"], c["rf"]) == \
    ("conv1.weight", "conv2d", [128, 64, 7, 7], 128, 64, 49), c
assert conv["models"][0]["skipped"][0]["name"] == "norm.weight"
assert mlp["models"][0]["provenance"]["producer"] == "safetensors (format pt)", mlp["models"][0]["provenance"]
PY
analyze "$st/dtypes.safetensors" -o "$tmp/dt.json"
$py - "$tmp/dt.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sk = {s["name"]: s for s in d["models"][0]["skipped"]}
ints = [n for n in sk if n.startswith(("t_i", "t_u", "t_bool"))]
floats = [n for n in sk if n.startswith(("t_f", "t_bf"))]
assert len(ints) == 9 and len(floats) == 6, sorted(sk)
for n in ints:   # integer and boolean tensors are buffers without a graph
    assert sk[n]["reason_code"] == "not_weight", sk[n]
for n in floats: # float ones (all 15 dtypes decode) are layers, here too small for a fit
    assert sk[n]["reason_code"] == "min_evals", sk[n]
PY
# --compat ww follows WeightWatcher's PyStateDictLayer: '.weight' keys of rank 2 or 4, tied
# copies analyzed twice (it does not fold them), keys in bytewise order
analyze --compat ww "$st/tied.safetensors" -o "$tmp/tied-ww.json"
$py - "$tmp/tied-ww.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [l["name"] for l in d["layers"]]
assert names == ["fc1.weight", "fc2.weight", "fc3.weight", "lm_head.weight"], names
a = {l["name"]: l["alpha"] for l in d["layers"]}
assert a["lm_head.weight"] == a["fc1.weight"], a
PY
$py - "$st/mlp.safetensors" "$tmp/ww-names.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
h["fc2.kernel"] = h.pop("fc2.weight")  # a matrix under a key WeightWatcher does not read
hb = json.dumps(h).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
PY
analyze --compat ww "$tmp/ww-names.safetensors" -o "$tmp/ww-names.json"
analyze "$tmp/ww-names.safetensors" -o "$tmp/def-names.json"
$py - "$tmp/ww-names.json" "$tmp/def-names.json" <<'PY'
import json, sys
ww, de = (json.load(open(p)) for p in sys.argv[1:3])
assert [l["name"] for l in ww["layers"]] == ["fc1.weight", "fc3.weight"], ww["layers"]
sk = {s["name"]: s for s in ww["models"][0]["skipped"]}
assert "'<layer>.weight'" in sk["fc2.kernel"]["reason"], sk["fc2.kernel"]
assert "fc2.kernel" in [l["name"] for l in de["layers"]]  # the default mode goes by rank
PY
mkdir "$tmp/two"
cp "$st/mlp.safetensors" "$st/tied.safetensors" "$tmp/two/"
rc=0
"$WL" analyze --no-progress "$tmp/two" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 3 ] && grep -q "a folder with 2 .safetensors files and no model.safetensors.index.json" "$tmp/err" ||
    { echo "a folder of two checkpoints: exit $rc"; cat "$tmp/err"; exit 1; }

# check, report, shards
"$WL" check --color never "$st/sharded" >"$tmp/check.out" 2>&1 || true
grep -q "analyzed 100.0 % of the weight parameters" "$tmp/check.out" || { cat "$tmp/check.out"; exit 1; }
"$WL" report -o "$tmp/r.html" "$st/mlp.safetensors"
grep -q "fc2.weight" "$tmp/r.html"
for k in 0 1; do
    analyze --shard "$k/2" "$st/sharded" -o "$tmp/p$k.json"
done
"$WL" merge "$tmp/p0.json" "$tmp/p1.json" -o "$tmp/merged.json"
same_metrics "$tmp/sh.json" "$tmp/merged.json" "merge of --shard parts" >/dev/null

# compare an ONNX export with its checkpoint: by id where names survive, by shape and order
# where they do not
$py - "$st/mlp.safetensors" "$tmp/renamed.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
ren = {k: k.replace("fc", "model.linear_") for k in h if k != "__metadata__"}
h2 = {ren.get(k, k): v for k, v in h.items()}
hb = json.dumps(h2).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
PY
for cand in "$st/mlp.safetensors" "$tmp/renamed.safetensors"; do
    rc=0
    "$WL" compare --fail-on-regression -f json "$onnx" "$cand" >"$tmp/cmp.json" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 0 ] || { echo "compare ONNX -> $cand: exit $rc"; cat "$tmp/err"; exit 1; }
    $py - "$tmp/cmp.json" "$cand" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["comparisons"][0]
pairs = {(l["base_id"], l["candidate_id"]) for l in c["layers"] if l["base_id"] and l["candidate_id"]}
renamed = "renamed" in sys.argv[2]
want = {(f"fc{i}.weight", f"model.linear_{i}.weight" if renamed else f"fc{i}.weight") for i in (1, 2, 3)}
assert pairs == want, (pairs, want)
assert all(l["match"] != "id" for l in c["layers"]) if renamed else all(l["match"] == "id" for l in c["layers"]), \
    [l["match"] for l in c["layers"]]
PY
done

# the Action: a changed shard stands for the index that names it; a lone checkpoint for itself
repo=$tmp/repo
mkdir -p "$repo/ckpt"
cp "$st/sharded/"* "$repo/ckpt/"
cp "$st/mlp.safetensors" "$repo/single.safetensors"
here=$PWD
(
    cd "$repo"
    git init -q . && git add -A && git -c user.email=t@t -c user.name=t commit -qm init
    # shellcheck source=/dev/null
    . "$here/ci/wl-models.sh"
    got=$(wl_changed_models ckpt/model-00002-of-00002.safetensors single.safetensors ckpt/model.safetensors.index.json)
    want=$(printf 'ckpt/model.safetensors.index.json\nsingle.safetensors')
    [ "$got" = "$want" ] || { echo "changed models: got [$got], want [$want]"; exit 1; }
    all=$(git ls-files -z -- '*.safetensors.index.json' '*.safetensors' | wl_checkpoints_only | tr '\0' ' ')
    [ "$all" = "ckpt/model.safetensors.index.json single.safetensors " ] || { echo "all models: [$all]"; exit 1; }
)
echo "safetensors: ONNX-identical metrics (F32, F64, ww), F16/BF16 = their upcasts, shards = one file, compare by id and by shape, the Action's model list"
