#!/usr/bin/env bash
# action_pr.sh — the GitHub Action's entry script (ci/action-entry.sh) on a real pull request,
# with the environment GitHub sets up: a temporary git repository with a base commit on main
# (the Fashion-MNIST MLP, a copy stored with external data, an unrelated model) and a PR commit
# that degrades fc2.weight of the first (Gaussian, i.e. reset to random) and rewrites only the
# external .data file of the second (rank 2). GITHUB_WORKSPACE, GITHUB_EVENT_PATH (a
# pull_request payload), GITHUB_BASE_REF, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY are set as on
# a runner. Asserts the exit code, the annotations, the outputs, the SARIF file and the job
# summary (the layer, the metric, the base and candidate values, why it matters), then the
# variants: Git LFS pointers, fail-on never without the regression gate, compare-to none, the
# summary size cap and the annotation cap. Needs /usr/bin/python3 with python3-onnx.
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
PY=/usr/bin/python3
$PY -c 'import onnx, numpy' 2>/dev/null || { echo "action_pr: needs python3-onnx"; exit 1; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "action_pr: $*"; exit 1; }
gen() { $PY "$root/tests/gen/degrade_model.py" "$@"; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

# ---- the repository: base commit on main, PR commit on a branch
repo=$tmp/repo
mkdir -p "$repo/models/ext"
cd "$repo"
git init -q -b main
T=$root/examples/fashion_mlp_trained.onnx
cp "$T" models/mlp.onnx
cp "$root/examples/fashion_mlp_random.onnx" models/other.onnx
gen "$T" models/ext/net.onnx --mode interpolate --from "$T" --t 1 --external
git add -A
git commit -q -m base
base=$(git rev-parse HEAD)
git checkout -q -b pr
gen "$T" models/mlp.onnx --tensor fc2.weight --mode gaussian
cp models/ext/net.onnx "$tmp/graph-before.onnx"
gen "$T" models/ext/net.onnx --tensor fc2.weight --mode lowrank --external
cmp -s models/ext/net.onnx "$tmp/graph-before.onnx" || fail "the .onnx graph file changed too"
git add -A
git commit -q -m "retrain fc2"
changed=$(git diff --name-only "$base" HEAD | tr '\n' ' ')
[ "$changed" = "models/ext/net.onnx.data models/mlp.onnx " ] || fail "PR changes: $changed"

cat >"$tmp/event.json" <<EOF
{"action": "opened", "number": 7,
 "pull_request": {"number": 7, "base": {"ref": "main", "sha": "$base"},
                  "head": {"ref": "pr", "sha": "$(git rev-parse HEAD)"}}}
EOF

# run_action, want_rc, has, lacks
# shellcheck source=tests/scripts/lib/action_harness.sh
. "$root/tests/scripts/lib/action_harness.sh"

# ---- 1. the degraded pull request fails, and says why
run_action pr
want_rc pr 1
# annotations: the regressions, on the model file, within GitHub's syntax
has pr out "::error file=models/mlp.onnx,title=weightlint compare%3A fc2.weight alpha regressed::fc2.weight: alpha 2.8964+-0.25 -> 7.9233+-1.56 (left [2, 6]) vs main:models/mlp.onnx: alpha above the well-trained range"
has pr out "::error file=models/ext/net.onnx,title=weightlint compare%3A fc2.weight phase regressed::fc2.weight: phase heavy-tailed -> rank-collapse"
has pr out "::warning file=models/mlp.onnx,title=WL104 random-like (fc2.weight)::"
lacks pr out "other.onnx"
grep -v '^::' "$tmp/pr.out" && fail "stdout has lines that are not workflow commands"
# outputs
$PY - "$tmp/pr.output" <<'PY'
import json, sys
out = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
assert out["error-count"] == "0", out
assert int(out["warning-count"]) >= 1, out
assert out["verdict"] == "regressed", out
assert json.loads(out["verdicts"]) == {"models/mlp.onnx": "regressed",
                                       "models/ext/net.onnx": "regressed"}, out["verdicts"]
aw = json.loads(out["alpha-weighted"])
assert set(aw) == {"models/mlp.onnx", "models/ext/net.onnx"}, aw
assert abs(aw["models/mlp.onnx"] - 5.7985) < 1e-3, aw
assert json.loads(out["models"]) == ["models/ext/net.onnx", "models/mlp.onnx"] or \
       json.loads(out["models"]) == ["models/mlp.onnx", "models/ext/net.onnx"], out["models"]
assert out["exit-code"] == "1" and out["sarif-file"].endswith("pr.sarif"), out
PY
# SARIF: valid 2.1.0, the lint findings of the changed models
$PY - "$tmp/pr.sarif" "$root/tests/sarif-schema-2.1.0.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
try:
    import jsonschema
    schema = json.load(open(sys.argv[2]))
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
except ImportError:
    pass
res = doc["runs"][0]["results"]
uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in res}
assert "models/mlp.onnx" in uris, uris
assert any(r["ruleId"] == "WL104" for r in res), [r["ruleId"] for r in res]
assert not any("other.onnx" in u for u in uris)
PY
# the job summary: layer, metric, base and candidate values, why it matters
has pr summary "## weightlint: failed"
has pr summary 'compared with `main`'
has pr summary "| fc2.weight | id | alpha | 2.8964±0.25 | 7.9233±1.56 | +5.0269 | +173.6% | **regressed: left \\[2, 6\\]** |"
has pr summary "fc2.weight: alpha 2.8964±0.25 -> 7.9233±1.56 (left \\[2, 6\\]): alpha above the well-trained range means the layer's eigenvalue spectrum lost the heavy tail"
has pr summary "fc2.weight: phase heavy-tailed -> rank-collapse (became rank-collapse): most of the layer's eigenvalues are now ~0"
has pr summary "main:models/ext/net.onnx"
has pr summary "## Lint findings"
has pr summary "### Coverage"
[ "$(wc -c <"$tmp/pr.summary")" -lt 1048576 ] || fail "summary over 1 MiB"
# the second run reads every layer from the result cache
has pr err "layers reused"

# ---- 1b. as actions/checkout does it: HEAD is GitHub's merge commit of the PR into main, and
# main moved on after the payload's base.sha (a model added there is not the PR's change)
git checkout -q main
cp "$root/examples/fashion_mlp_random.onnx" models/late.onnx
git add models/late.onnx
git commit -q -m "main moves on"
git checkout -q --detach main
git merge -q --no-ff -m "Merge pr into main" pr
run_action merge
want_rc merge 1
diff <(grep -v "^sarif-file\|^compare-ref" "$tmp/pr.output") <(grep -v "^sarif-file\|^compare-ref" "$tmp/merge.output") || fail "merge commit: other outputs"
git checkout -q pr

# ---- 2. fail-on never, no regression gate: passes, the verdict is still reported
run_action soft WL_FAIL_ON=never WL_FAIL_ON_REGRESSION=false
want_rc soft 0
has soft output "verdict=regressed"
has soft out "::warning file=models/mlp.onnx,title=weightlint compare%3A fc2.weight alpha regressed::"
has soft summary "## weightlint: passed"

# ---- 3. compare-to none: lint only
run_action nocmp WL_COMPARE_TO=none
want_rc nocmp 0
has nocmp output "verdict=none"
lacks nocmp summary "## Comparison"

# ---- 4. explicit models, an explicit ref, a new model
cp "$root/examples/fashion_mlp_random.onnx" models/new.onnx
run_action globs "WL_MODELS=models/*.onnx models/**/net.onnx" WL_COMPARE_TO=main WL_FAIL_ON=never
want_rc globs 1
has globs output '"models/new.onnx": "new"'
has globs output '"models/other.onnx": "unchanged"'
has globs summary 'New model: no version at `main` to compare with.'
rm models/new.onnx

# ---- 5. caps: the summary under its limit, at most N annotations per level
run_action caps WL_MAX_SUMMARY_BYTES=3000 WL_MAX_PER_LEVEL=2
want_rc caps 1
[ "$(wc -c <"$tmp/caps.summary")" -le 3300 ] || fail "capped summary is $(wc -c <"$tmp/caps.summary") bytes"
has caps summary "**Summary truncated**"
[ "$(grep -c '^::error' "$tmp/caps.out")" -le 2 ] || fail "more than 2 error annotations"
has caps out "more error annotations not shown"

# ---- 6. Git LFS pointers instead of the model
git checkout -q -b lfs
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%064d\nsize 2144072\n' 0 >models/mlp.onnx
git commit -q -am "lfs pointer"
cat >"$tmp/event.json" <<EOF
{"pull_request": {"base": {"ref": "main", "sha": "$base"}, "head": {"ref": "lfs", "sha": "$(git rev-parse HEAD)"}}}
EOF
run_action lfs
want_rc lfs 3
has lfs out "::error file=models/mlp.onnx,title=weightlint: Git LFS pointer::models/mlp.onnx is a Git LFS pointer, not the model: enable 'lfs: true' on actions/checkout"
has lfs summary 'Add `lfs: true` to the `actions/checkout` step'
has lfs err "Git LFS pointer file"
echo "action_pr: PR run, soft gate, no comparison, globs, caps and LFS pointers as expected"

# ---- action.yml: every input it passes exists, every output it maps is one the script writes
cd "$root"
$PY - action.yml "$tmp/pr.output" <<'PY'
import re, sys
import yaml
action = yaml.safe_load(open(sys.argv[1]))
text = open(sys.argv[1]).read()
inputs = set(action["inputs"])
used = set(re.findall(r"inputs\.([a-z-]+)", text))
assert used <= inputs, used - inputs
assert {"models", "config", "fail-on", "compare-to", "sarif-file", "summary"} <= inputs
written = {l.split("=", 1)[0] for l in open(sys.argv[2]) if "=" in l}
outputs = {k: v["value"] for k, v in action["outputs"].items()}
for name, value in outputs.items():
    assert value == "${{ steps.run.outputs.%s }}" % name, (name, value)
assert set(outputs) == written, (set(outputs) ^ written)
assert action["runs"]["using"] == "composite"
PY
echo "action_pr: action.yml inputs and outputs match the entry script"
