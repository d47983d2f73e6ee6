#!/usr/bin/env bash
# action_shards.sh — the Action's `shards: N` mode (action.yml, ci/action-shard.sh, issue 13
# item 5) on a real pull request repository: each matrix job's command (`action-shard.sh
# analyze` with WL_SHARD = K) runs for every K as concurrent processes, the gate job's
# `action-shard.sh merge` joins the parts, and ci/action-entry.sh gates and compares the merged
# analyses. The merged analysis must be byte-identical to one analyze run, and the gate's exit
# code, outputs, SARIF and annotations identical to the unsharded action's. A missing part
# fails the gate (exit 3) with an annotation.
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "action_shards: $*"; exit 1; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
repo=$tmp/repo
mkdir -p "$repo/models/conv"
cd "$repo"
git init -q -b main
cp "$root/examples/fashion_mlp_trained.onnx" models/mlp.onnx
cp "$root/tests/conformance/models/conv.onnx" models/conv/net.onnx
git add -A && git commit -q -m base
base=$(git rev-parse HEAD)
git checkout -q -b pr
cp "$root/examples/fashion_mlp_random.onnx" models/mlp.onnx
git add -A && git commit -q -m "swap the weights"
cat >"$tmp/event.json" <<EOF
{"action": "opened", "number": 7,
 "pull_request": {"number": 7, "base": {"ref": "main", "sha": "$base"},
                  "head": {"ref": "pr", "sha": "$(git rev-parse HEAD)"}}}
EOF
gh_env=(GITHUB_WORKSPACE="$repo" GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$tmp/event.json"
        GITHUB_BASE_REF=main GITHUB_HEAD_REF=pr WL_BIN="$WL" "WL_MODELS=models/**/*.onnx")
entry() { # entry NAME [VAR=value...]: action-entry.sh as the action's run step
    local name=$1 rc=0
    shift
    : >"$tmp/$name.output"
    env "${gh_env[@]}" GITHUB_OUTPUT="$tmp/$name.output" GITHUB_STEP_SUMMARY="$tmp/$name.summary" \
        WL_SARIF_FILE="$tmp/$name.sarif" "$@" bash "$root/ci/action-entry.sh" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    echo "$rc" >"$tmp/$name.rc"
}
entry plain
grep -q '"verdict"\|verdict=' "$tmp/plain.output" || fail "plain run: no verdict: $(tail "$tmp/plain.err")"
for n in 2 3; do
    parts=$tmp/parts$n
    pids=()
    for ((k = 0; k < n; k++)); do
        env "${gh_env[@]}" WL_SHARD=$k WL_SHARDS=$n WL_PARTS_DIR="$parts" \
            bash "$root/ci/action-shard.sh" analyze 2>"$tmp/shard$k.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fail "a shard job failed: $(cat "$tmp"/shard*.err)"; done
    env "${gh_env[@]}" WL_SHARDS=$n WL_PARTS_DIR="$parts" WL_ANALYSIS_DIR="$tmp/an$n" \
        bash "$root/ci/action-shard.sh" merge 2>"$tmp/merge.err" || fail "merge: $(cat "$tmp/merge.err")"
    for m in models/mlp.onnx models/conv/net.onnx; do
        "$WL" analyze --no-progress -f json --mp-fit "$m" -o "$tmp/single.json"
        cmp "$tmp/single.json" "$tmp/an$n/$m.json" || fail "$n shards of $m differ from one run"
    done
    entry "sharded$n" WL_ANALYSIS_DIR="$tmp/an$n"
    [ "$(cat "$tmp/plain.rc")" = "$(cat "$tmp/sharded$n.rc")" ] ||
        fail "exit $(cat "$tmp/sharded$n.rc") sharded, $(cat "$tmp/plain.rc") plain"
    diff -u <(grep -v '^sarif-file=' "$tmp/plain.output") \
        <(grep -v '^sarif-file=' "$tmp/sharded$n.output") || fail "outputs differ"
    cmp "$tmp/plain.sarif" "$tmp/sharded$n.sarif" || fail "SARIF differs"
    diff -u "$tmp/plain.out" "$tmp/sharded$n.out" || fail "annotations differ"
    diff -u "$tmp/plain.summary" "$tmp/sharded$n.summary" || fail "job summary differs"
done
# a shard job that never uploaded its part: the gate fails with an annotation, exit 3
rm "$tmp/parts3/models/mlp.onnx.part-1.json"
rc=0
env "${gh_env[@]}" WL_SHARDS=3 WL_PARTS_DIR="$tmp/parts3" WL_ANALYSIS_DIR="$tmp/an-missing" \
    bash "$root/ci/action-shard.sh" merge >"$tmp/missing.out" 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "missing part: exit $rc, want 3"
grep -q "only 2 of 3 shard parts of models/mlp.onnx" "$tmp/missing.out" ||
    fail "no annotation: $(cat "$tmp/missing.out")"
echo "Action shards 2 and 3: merged analyses identical to one run; gate outputs, SARIF, annotations, summary identical"
