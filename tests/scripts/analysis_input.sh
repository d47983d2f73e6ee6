#!/usr/bin/env bash
# The analysis JSON as input (issue 13, item 4): check, compare and report take an analysis
# (`analyze --format json`, or merge's output) wherever they take a model. Round trip: analyze
# -> JSON -> check / compare gives byte-identical output to running them on the model itself,
# on dense, conv, non-finite, failed-fit, degenerate, fp8, RNN-less and quantization-free
# models, in both modes and with --randomize; so every field the writer writes is read back.
# A JSON of another schema_version, one that is not an analysis, a shard part or several
# models are refused with exit 3 and a clear message.
set -euo pipefail
WL=${WL:-build/weightlint}
BUILD=${BUILD:-build/dev}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/tests/mkonnx" "$tmp/gen" >/dev/null
models=(examples/fashion_mlp_trained.onnx examples/fashion_mlp_random.onnx
        tests/conformance/models/*.onnx "$tmp/gen/good_mlp.onnx" "$tmp/gen/nonfinite.onnx"
        "$tmp/gen/failed_fit.onnx" "$tmp/gen/fp8.onnx" "$tmp/gen/typed_fields.onnx"
        "$tmp/gen/ext_good.onnx")
n=0
for m in "${models[@]}"; do
    for opts in "" "--compat ww" "--randomize --seed 3"; do
        j=$tmp/analysis.json
        aopts=$opts # check always runs the MP fit (its phases need it); analyze --compat ww not
        [ "$opts" = "--compat ww" ] && aopts="$opts --mp-fit"
        # shellcheck disable=SC2086
        "$WL" analyze --no-progress -f json $aopts "$m" -o "$j"
        for fmt in text json sarif; do
            rc1=0 rc2=0
            # shellcheck disable=SC2086
            "$WL" check --color never --format "$fmt" $opts "$m" >"$tmp/m.out" 2>"$tmp/m.err" || rc1=$?
            "$WL" check --color never --format "$fmt" "$j" >"$tmp/j.out" 2>"$tmp/j.err" || rc2=$?
            [ "$rc1" -eq "$rc2" ] || { echo "check $opts $m: exit $rc1 from the model, $rc2 from JSON"; exit 1; }
            diff -u "$tmp/m.out" "$tmp/j.out" ||
                { echo "check --format $fmt $opts $m: findings differ from the model's"; exit 1; }
            n=$((n + 1))
        done
    done
done
# compare: base and candidate as models, as analyses, and one of each
b=examples/fashion_mlp_random.onnx c=examples/fashion_mlp_trained.onnx
"$WL" analyze --no-progress -f json "$b" -o "$tmp/b.json"
"$WL" analyze --no-progress -f json "$c" -o "$tmp/c.json"
for fmt in text json markdown; do
    rc1=0 rc2=0 rc3=0
    "$WL" compare --format "$fmt" "$b" "$c" >"$tmp/m.out" 2>&1 || rc1=$?
    "$WL" compare --format "$fmt" "$tmp/b.json" "$tmp/c.json" >"$tmp/j.out" 2>&1 || rc2=$?
    "$WL" compare --format "$fmt" "$b" "$tmp/c.json" >"$tmp/x.out" 2>&1 || rc3=$?
    [ "$rc1" -eq "$rc2" ] && [ "$rc1" -eq "$rc3" ] || { echo "compare exits $rc1 $rc2 $rc3"; exit 1; }
    diff -u "$tmp/m.out" "$tmp/j.out"
    diff -u "$tmp/m.out" "$tmp/x.out"
    n=$((n + 1))
done
# report: the same page but for the plots, which need eigenvalues (it says so)
"$WL" report "$tmp/c.json" -o "$tmp/r.html" 2>"$tmp/r.err"
grep -q "holds no eigenvalues" "$tmp/r.err"
grep -q "fc1.weight" "$tmp/r.html"

# rules discovery: an analysis gets the .weightlint.yaml of the model it names, wherever the
# JSON lies (here the model's folder switches WL106 off; the JSON is elsewhere)
mkdir -p "$tmp/proj" "$tmp/elsewhere"
cp "$c" "$tmp/proj/m.onnx"
printf 'rules:\n  WL106: off\n' >"$tmp/proj/.weightlint.yaml"
"$WL" analyze --no-progress -f json "$tmp/proj/m.onnx" -o "$tmp/elsewhere/m.json"
"$WL" check --color never "$tmp/proj/m.onnx" >"$tmp/m.out" 2>&1 || true
"$WL" check --color never "$tmp/elsewhere/m.json" >"$tmp/j.out" 2>&1 || true
grep -q "rules: $tmp/proj/.weightlint.yaml" "$tmp/j.out" || { cat "$tmp/j.out"; exit 1; }
diff -u "$tmp/m.out" "$tmp/j.out"

# refusals
refuse() { # refuse "message" FILE
    local rc=0
    "$WL" check "$2" >/dev/null 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 3 ] || { echo "check $2 exited $rc, expected 3"; cat "$tmp/err"; exit 1; }
    grep -qF -- "$1" "$tmp/err" || { echo "expected '$1' in:"; cat "$tmp/err"; exit 1; }
}
sed 's/"schema_version": 1/"schema_version": 2/' "$tmp/c.json" >"$tmp/v2.json"
refuse "schema_version 2 is not supported (this weightlint reads 1)" "$tmp/v2.json"
echo '{"name": "not an analysis"}' >"$tmp/other.json"
refuse "not a weightlint analysis" "$tmp/other.json"
printf '{"schema_version": 1, "tool": "weightlint", "layers": [' >"$tmp/torn.json"
refuse "not valid JSON" "$tmp/torn.json"
"$WL" analyze --no-progress -f json --shard 0/2 "$c" -o "$tmp/part.json"
refuse "join the parts with weightlint merge first" "$tmp/part.json"
"$WL" analyze --no-progress -f json "$b" "$c" -o "$tmp/two.json"
refuse "an analysis of 2 models" "$tmp/two.json"
python3 - "$tmp/c.json" "$tmp/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["layers"][1]["alpha"] = "two"
json.dump(d, open(sys.argv[2], "w"))
PY
refuse "layers[1]: 'alpha' is not a number" "$tmp/bad.json"
# an analysis of no model (fuzz_analysis found it accepted, checked and merged with exit 0)
printf '{"schema_version": 1, "tool": "weightlint", "layers": [], "models": []}' >"$tmp/none.json"
refuse "models[] is empty" "$tmp/none.json"
# a layer whose N x M x rf was changed, so that its parameters no longer add up to the stated
# coverage (fuzz_analysis: wrapped counts reached the report's per-mille with analyzed > all)
python3 - "$tmp/c.json" "$tmp/cov.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["layers"][0]["N"] *= 2
json.dump(d, open(sys.argv[2], "w"))
PY
refuse "but its layers and skipped tensors count" "$tmp/cov.json"
python3 - "$tmp/c.json" "$tmp/big.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["layers"][0]["N"] = 2**40
d["layers"][0]["M"] = 2**40
json.dump(d, open(sys.argv[2], "w"))
PY
refuse "layers[0]: more than 2^52 parameters" "$tmp/big.json"
echo "check/compare from the analysis JSON identical to from the model in $n cases; refusals exit 3"
