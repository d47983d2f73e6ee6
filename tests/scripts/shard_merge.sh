#!/usr/bin/env bash
# analyze --shard K/N in N concurrent processes, then merge: byte-identical to one process's
# `analyze --format json` (issue 13), on dense, conv, non-finite, degenerate and generated
# models, in both modes and with --randomize; the shares balanced by cost; and every refusal
# (missing, repeated, foreign, other settings or version, not a part) exits 3 writing nothing.
set -euo pipefail
WL=${WL:-build/weightlint}
BUILD=${BUILD:-build/dev}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BUILD/tests/mkonnx" "$tmp/gen" >/dev/null

shard_run() { # shard_run N MODEL [analyze options...]: parts in $tmp/p<K>.json, concurrently
    local n=$1 m=$2 k pids=()
    shift 2
    rm -f "$tmp"/p*.json
    for ((k = 0; k < n; k++)); do
        "$WL" analyze --no-progress -f json --shard "$k/$n" "$@" "$m" -o "$tmp/p$k.json" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
}

checked=0
for m in examples/fashion_mlp_trained.onnx tests/conformance/models/conv.onnx \
         tests/conformance/models/nan.onnx tests/conformance/models/degenerate.onnx \
         tests/conformance/models/heavy.onnx "$tmp/gen/good_mlp.onnx" "$tmp/gen/ext_good.onnx"; do
    for opts in "" "--compat ww" "--randomize --seed 7"; do
        # shellcheck disable=SC2086
        "$WL" analyze --no-progress -f json $opts "$m" -o "$tmp/single.json"
        for n in 1 2 3 5; do
            # shellcheck disable=SC2086
            shard_run "$n" "$m" $opts
            parts=()
            for ((k = 0; k < n; k++)); do parts+=("$tmp/p$k.json"); done
            "$WL" merge "${parts[@]}" -o "$tmp/merged.json"
            cmp "$tmp/single.json" "$tmp/merged.json" ||
                { echo "merge of $n shards of $m ($opts) differs from one run"; exit 1; }
            checked=$((checked + 1))
        done
    done
done

# Balanced by predicted cost, not by count: conv.onnx's largest kernel alone in one of 2 shards
# when it costs more than the rest (the inventory says which shard each layer is in).
shard_run 2 tests/conformance/models/conv.onnx
python3 - "$tmp/p0.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))["models"][0]["shard"]["inventory"]
assert {e["shard"] for e in inv} <= {0, 1}, inv
assert len({e["shard"] for e in inv}) == min(2, len(inv)), inv
PY

# Refusals: exit 3, a clear message, nothing written.
m=tests/conformance/models/heavy.onnx
shard_run 3 "$m"
refuse() { # refuse "expected message" PART...
    local want=$1 rc=0
    shift
    "$WL" merge "$@" -o "$tmp/out.json" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 3 ] || { echo "merge $* exited $rc, expected 3"; cat "$tmp/err"; exit 1; }
    grep -qF -- "$want" "$tmp/err" || { echo "expected '$want' in:"; cat "$tmp/err"; exit 1; }
    [ ! -e "$tmp/out.json" ] && [ ! -e "$tmp/out.json.tmp" ] || { echo "merge wrote output"; exit 1; }
}
refuse "shard 1 is missing" "$tmp/p0.json" "$tmp/p2.json"
refuse "shard 2 of 3 of '$m' is given twice" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json" "$tmp/p2.json"
"$WL" analyze --no-progress -f json "$m" -o "$tmp/single.json"
refuse "is not a shard part" "$tmp/single.json"
cp "$tmp/p1.json" "$tmp/keep1.json"
"$WL" analyze --no-progress -f json --shard 1/3 --randomize "$m" -o "$tmp/p1.json"
refuse "ran with different settings" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
cp "$m" "$tmp/h.onnx" # the same name, other bytes in one of the parts
shard_run 3 "$tmp/h.onnx"
cp tests/conformance/models/mlp3.onnx "$tmp/h.onnx"
"$WL" analyze --no-progress -f json --shard 1/3 "$tmp/h.onnx" -o "$tmp/p1.json"
refuse "analyzed different files named '$tmp/h.onnx'" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
# An external-data model's weights are in its .data file: the same graph file with other
# weights is another model (the hash once covered the graph file alone, and this merged).
mkdir "$tmp/x"
cp "$tmp/gen/ext_good.onnx" "$tmp/gen/ext_good.data" "$tmp/x/"
shard_run 2 "$tmp/x/ext_good.onnx"
cp "$tmp/p0.json" "$tmp/x0.json"
python3 - "$tmp/x/ext_good.data" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[64] ^= 0x01  # one low mantissa bit of one weight
open(sys.argv[1], "wb").write(b)
PY
"$WL" analyze --no-progress -f json --shard 1/2 "$tmp/x/ext_good.onnx" -o "$tmp/x1.json"
refuse "analyzed different files named '$tmp/x/ext_good.onnx'" "$tmp/x0.json" "$tmp/x1.json"
rc=0 # a shard hashes the external files before it scores: a missing one is named, exit 3
"$WL" analyze --no-progress -f json --shard 0/2 "$tmp/gen/ext_missing.onnx" -o "$tmp/x2.json" \
    2>"$tmp/err" || rc=$?
[ "$rc" -eq 3 ] && [ ! -e "$tmp/x2.json" ] &&
    grep -qF "tensor 'fc2.weight': file '$tmp/gen/missing.data'" "$tmp/err" ||
    { echo "shard of ext_missing.onnx: exit $rc"; cat "$tmp/err"; exit 1; }
shard_run 3 "$m"
sed 's/"weightlint_version": "[^"]*"/"weightlint_version": "0.0.0-other"/' "$tmp/keep1.json" >"$tmp/p1.json"
refuse "was written by weightlint 0.0.0-other" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
python3 - "$tmp/keep1.json" "$tmp/p1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lost = d["layers"][0]                    # a part that lost a row, its counts made to agree
d["layers"] = d["layers"][1:]
cov = d["models"][0]["coverage"]
cov["analyzed"] -= 1
cov["analyzed_params"] -= lost["N"] * lost["M"] * lost["rf"]
cov["weight_params"] -= lost["N"] * lost["M"] * lost["rf"]
json.dump(d, open(sys.argv[2], "w"), indent=2)
PY
refuse "lacks layer" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
echo '{"schema_version": 2, "tool": "weightlint", "layers": [], "models": []}' >"$tmp/p1.json"
refuse "schema_version 2 is not supported" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
echo '{"hello": 1}' >"$tmp/p1.json"
refuse "not a weightlint analysis" "$tmp/p0.json" "$tmp/p1.json" "$tmp/p2.json"
echo '{"schema_version": 1, "tool": "weightlint", "layers": [], "models": []}' >"$tmp/none.json"
refuse "models[] is empty" "$tmp/none.json" # fuzz_analysis: this merged to an empty analysis, exit 0

# The shard from the engine's environment.
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3 \
    "$WL" analyze --no-progress -f json --shard auto "$m" -o "$tmp/s.json"
cmp "$tmp/s.json" "$tmp/keep1.json"
JOB_COMPLETION_INDEX=1 WEIGHTLINT_SHARD_COUNT=3 \
    "$WL" analyze --no-progress -f json --shard auto "$m" -o "$tmp/k.json"
cmp "$tmp/k.json" "$tmp/keep1.json"
JOB_COMPLETION_INDEX=1 "$WL" analyze --no-progress -f json --shard-count 3 "$m" -o "$tmp/k.json"
cmp "$tmp/k.json" "$tmp/keep1.json"
rc=0
JOB_COMPLETION_INDEX=3 "$WL" analyze --no-progress -f json --shard-count 3 "$m" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "shard 3 of 3 does not exist" "$tmp/err"
echo "shard/merge identical to one run in $checked cases; refusals exit 3 writing nothing"
