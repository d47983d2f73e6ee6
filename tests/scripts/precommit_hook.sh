#!/usr/bin/env bash
# precommit_hook.sh — the pre-commit hook's entry (ci/precommit-entry.sh) as pre-commit runs
# it: from the root of a temporary git repository, with the staged files that match the hook's
# `files:` pattern as arguments and the hook's `args:` first. Checks .pre-commit-hooks.yaml
# itself (ids, entries that exist and are executable, patterns that match models and external
# data), then: a clean staged model passes; a degraded one passes the default gate but fails
# --fail-on warning and the weightlint-compare hook (with the layer, the metric, both values);
# a staged external-data file stands for its model; a file that is no model is ignored; a Git
# LFS pointer is refused with its fix. Needs /usr/bin/python3 with python3-onnx.
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
PY=/usr/bin/python3
$PY -c 'import onnx, numpy' 2>/dev/null || { echo "precommit_hook: needs python3-onnx"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "precommit_hook: $*"; exit 1; }
gen() { $PY "$root/tests/gen/degrade_model.py" "$@"; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export WL_BIN=$WL WL_CACHE_DIR=$tmp/cache

# ---- the hook definitions
$PY - "$root/.pre-commit-hooks.yaml" "$root" <<'PY'
import os, re, sys
try:
    import yaml
except ImportError:
    yaml = None
text = open(sys.argv[1]).read()
if yaml:
    hooks = yaml.safe_load(text)
else:  # minimal reader for this file's flat "- id: / key: value" shape
    hooks, cur = [], None
    for line in text.splitlines():
        m = re.match(r"^(- |  )(\w+): (.*)$", line)
        if m:
            if m.group(1) == "- ":
                cur = {}
                hooks.append(cur)
            cur[m.group(2)] = m.group(3).strip("'\"")
ids = [h["id"] for h in hooks]
assert ids == ["weightlint", "weightlint-compare", "weightlint-system"], ids
for h in hooks:
    for k in ("name", "entry", "language", "files"):
        assert h.get(k), (h["id"], k)
    pat = re.compile(h["files"])
    assert pat.search("models/net.onnx") and not pat.search("train.py"), h["id"]
    if h["language"] == "script":
        script = os.path.join(sys.argv[2], h["entry"].split()[0])
        assert os.access(script, os.X_OK), script
        assert pat.search("models/net.onnx.data"), h["id"]
PY

# ---- a repository with one committed model
repo=$tmp/repo
mkdir -p "$repo/models/ext"
cd "$repo"
git init -q -b main
T=$root/examples/fashion_mlp_trained.onnx
cp "$T" models/mlp.onnx
gen "$T" models/ext/net.onnx --mode interpolate --from "$T" --t 1 --external
echo "print('train')" >train.py
git add -A
git commit -q -m base

# hook [ARGS...] FILES: the entry as pre-commit calls it; sets $out and $rc
hook() {
    set +e
    out=$("$root/ci/precommit-entry.sh" "$@" 2>&1)
    rc=$?
    set -e
}
want() { [ "$rc" = "$1" ] || { printf '%s\n' "$out" | tail -20; fail "$2: exit $rc, want $1"; }; }
has() { grep -q -F -- "$1" <<<"$out" || { printf '%s\n' "$out" | tail -30; fail "output lacks: $1"; }; }

hook models/mlp.onnx
want 0 "clean model"
has "models/mlp.onnx: 6 tensors: 3 analyzed"

# a file that is no model (and names no external data)
hook train.py
want 0 "no model"
[ -z "$out" ] || fail "output for a non-model file: $out"

# ---- a degraded layer, staged
gen "$T" models/mlp.onnx --tensor fc2.weight --mode gaussian
git add models/mlp.onnx
hook models/mlp.onnx
want 0 "degraded model, default gate (the random-like finding is a warning)"
has "warning WL104 random-like"
hook --fail-on warning models/mlp.onnx
want 1 "--fail-on warning"
hook --compare-to HEAD models/mlp.onnx
want 1 "weightlint-compare"
has "fc2.weight: alpha 2.8964+-0.25 -> 7.9233+-1.56 (left [2, 6])"
has "base: HEAD:models/mlp.onnx"
has "(--fail-on-regression: failing)"
git checkout -q HEAD -- models/mlp.onnx

# ---- only the external data of a model changed
gen "$T" models/ext/net.onnx --tensor fc2.weight --mode lowrank --external
git add -A
[ "$(git diff --cached --name-only)" = "models/ext/net.onnx.data" ] || fail "staged: $(git diff --cached --name-only)"
hook --compare-to=HEAD models/ext/net.onnx.data
want 1 "external data changed"
has "models/ext/net.onnx:fc2.weight [id 2]: warning WL103 rank-collapse"
has "fc2.weight: phase heavy-tailed -> rank-collapse"
git reset -q --hard

# ---- a Git LFS pointer staged instead of the model
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%064d\nsize 2144072\n' 0 >models/mlp.onnx
git add models/mlp.onnx
hook models/mlp.onnx
want 3 "LFS pointer"
has "Git LFS pointer file, not the model itself"
echo "precommit_hook: hook definitions, clean, degraded, compare, external data and LFS as expected"
