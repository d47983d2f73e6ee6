#!/usr/bin/env bash
# ci/action-report.sh (the GitHub Action's HTML report step) on a real git repository: a model
# changed by the last commit is reported against its previous version, a new model alone, a
# malformed one is listed in the index with its error, the step outputs `dir` and `count`, and
# it never fails the job.
set -euo pipefail
WL=$(cd "$(dirname "${WL:-build/weightlint}")" && pwd)/$(basename "${WL:-build/weightlint}")
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo=$tmp/repo
mkdir -p "$repo/models"
cd "$repo"
git init -q
git config user.email t@example.com
git config user.name test
cp "$root/examples/fashion_mlp_random.onnx" models/mlp.onnx
git add models && git commit -q -m base
cp "$root/examples/fashion_mlp_trained.onnx" models/mlp.onnx
cp "$root/tests/conformance/models/mlp3.onnx" "models/new <b>.onnx"
head -c 300 "$root/examples/fashion_mlp_trained.onnx" >models/bad.onnx
git add models && git commit -q -m trained

: >"$tmp/out"
GITHUB_WORKSPACE=$repo GITHUB_OUTPUT=$tmp/out WL_BIN=$WL WL_COMPARE_REF=HEAD~1 \
    WL_COMPARE_NAME=main WL_REPORT_DIR=$tmp/report \
    WL_MODELS_JSON='["models/mlp.onnx", "models/new <b>.onnx", "models/bad.onnx"]' \
    bash "$root/ci/action-report.sh" 2>"$tmp/log"
grep -qx "count=2" "$tmp/out" || { cat "$tmp/out" "$tmp/log"; echo "count"; exit 1; }
grep -qx "dir=$tmp/report" "$tmp/out" || { cat "$tmp/out"; echo "dir"; exit 1; }
ls "$tmp/report" >"$tmp/files"
grep -qx '01-models__mlp.onnx.html' "$tmp/files"
grep -qx '02-models__new__b_.onnx.html' "$tmp/files"
grep -qx 'index.html' "$tmp/files"
[ "$(wc -l <"$tmp/files")" = 3 ] || { cat "$tmp/files"; exit 1; }
grep -q 'compared with base <code class="path">' "$tmp/report/01-models__mlp.onnx.html"
! grep -q 'compared with base' "$tmp/report/02-models__new__b_.onnx.html"
grep -q 'href="01-models__mlp.onnx.html">models/mlp.onnx</a> compared with main:models/mlp.onnx' \
    "$tmp/report/index.html"
grep -q 'models/new &lt;b&gt;.onnx' "$tmp/report/index.html"
grep -q 'models/bad.onnx: <span class="err">no report: weightlint: error: models/bad.onnx' \
    "$tmp/report/index.html"

# nothing to report: no `dir` output (the upload step is skipped), still exit 0
: >"$tmp/out2"
GITHUB_WORKSPACE=$repo GITHUB_OUTPUT=$tmp/out2 WL_BIN=$WL WL_REPORT_DIR=$tmp/none \
    WL_MODELS_JSON='[]' bash "$root/ci/action-report.sh" 2>/dev/null
grep -qx "count=0" "$tmp/out2" && ! grep -q '^dir=' "$tmp/out2"
echo "action report step: 2 reports, 1 error listed"
