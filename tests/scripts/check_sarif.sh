#!/usr/bin/env bash
# check_sarif.sh — `weightlint check --format sarif` validates against the official SARIF
# 2.1.0 schema (tests/sarif-schema-2.1.0.json), on findings of every kind: per-layer,
# model-level, non-finite weights, an unreadable model, suppressed and baselined results, and
# an unused suppression in a rules file. Also checks the GitHub-specific properties the schema
# does not require: rule metadata, partialFingerprints, a region on every location.
# Needs Debian's python3-jsonschema (ci/install-deps.sh); run from the repository root.
set -eu
WL=${WL:-build/dev/weightlint}
PY=/usr/bin/python3
if ! $PY -c 'import jsonschema' 2>/dev/null; then
    echo "check_sarif: python3-jsonschema is not installed (apt-get install python3-jsonschema)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M=tests/conformance/models
cat >"$tmp/rules.yaml" <<'YAML'
ignore:
  - layers: "emb.*"
    reason: "embedding table: rare rows barely move"
  - layers: "no-such-tensor"
    reason: "stale"
YAML
"$WL" check --compat ww --write-baseline "$tmp/base.txt" $M/mlp3.onnx >/dev/null
status=0
"$WL" check --compat ww --config "$tmp/rules.yaml" --baseline "$tmp/base.txt" -f sarif \
    $M/heavy.onnx $M/conv.onnx $M/nan.onnx $M/degenerate.onnx $M/mlp3.onnx "$tmp/missing.onnx" \
    >"$tmp/out.sarif" 2>/dev/null || status=$?
[ "$status" = 3 ] || { echo "check_sarif: exit $status, want 3 (one unreadable model)"; exit 1; }
$PY - "$tmp/out.sarif" tests/sarif-schema-2.1.0.json <<'PY'
import json, sys
import jsonschema
doc = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
jsonschema.validators.validator_for(schema)(schema).validate(doc)  # draft-04, per its $schema
run = doc["runs"][0]
rules = run["tool"]["driver"]["rules"]
assert len(rules) >= 10 and all(r["id"].startswith("WL") for r in rules), "rule metadata"
assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
results = run["results"]
kinds = {r["ruleId"] for r in results}
for want in ("WL101", "WL103", "WL104", "WL106", "WL107", "WL202", "WL001"):
    assert want in kinds, f"no {want} result"
seen = set()
for r in results:
    assert r["ruleId"] == rules[r["ruleIndex"]]["id"], "ruleIndex"
    fp = r["partialFingerprints"]["weightlint/v1"]
    assert len(fp) == 16, fp
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"], "uri"
    assert loc["region"]["startLine"] >= 1, "region"
    key = (fp, r["ruleId"])
    seen.add(key)
assert any(r.get("suppressions") for r in results), "a suppressed result"
assert any(r.get("baselineState") == "unchanged" for r in results), "a baselined result"
assert any(r.get("baselineState") == "new" for r in results), "a new result"
notes = run["invocations"][0]["toolExecutionNotifications"]
assert notes and notes[0]["level"] == "error", "unreadable model notification"
assert run["invocations"][0]["exitCode"] == 3
print(f"check_sarif: {len(results)} results valid against SARIF 2.1.0")
PY
