#!/usr/bin/env bash
# action_hostile.sh — the GitHub Action (ci/action-entry.sh) on a hostile pull request (issue
# #12), in a temporary git repository driven by tests/scripts/lib/action_harness.sh. For each
# case, what the Action must do:
#   names with spaces, a newline, quotes, $(...), backticks, ';', a leading dash, a non-UTF-8
#     byte and a newline followed by a forged workflow command: ANALYZE every one (NUL-separated
#     lists end to end); nothing executes; no forged annotation, no line of the log that reads
#     as a workflow command; the SARIF file and the outputs stay valid JSON.
#   a model that is a symlink to a file outside the repository: REFUSE unread (error
#     annotation naming it, exit 3); a symlink to a model inside the repository: ANALYZE.
#   a model deleted by the PR: SKIP WITH A NOTE (log and job summary).
#   a renamed model: ANALYZE, compared with the old path's version at the base.
#   1,000 changed models: ANALYZE all; the job summary stays under GitHub's 1 MiB, at most 10
#     annotations per level (the last says how many more).
#   a .weightlint.yaml reaching outside the repository through extends: (relative path,
#     absolute path, symlink) or nested 100,000 deep: REFUSE (exit 2), quoting no byte of the
#     file outside.
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "action_hostile: $*"; exit 1; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# shellcheck source=tests/scripts/lib/action_harness.sh
. "$root/tests/scripts/lib/action_harness.sh"
small=$root/tests/conformance/models/nan.onnx   # 6 KB: non-finite weights, an error finding
mlp=$root/tests/conformance/models/mlp3.onnx

# a secret outside the repository
mkdir -p "$tmp/outside"
printf 'root:x:0:0:TOPSECRET-%s\n' "$RANDOM" >"$tmp/outside/secret.yaml"
cp "$small" "$tmp/outside/outside.onnx"

repo=$tmp/repo
mkdir -p "$repo/models"
cd "$repo"
git init -q -b main
cp "$small" models/keep.onnx
cp "$mlp" models/old-name.onnx
cp "$root/tests/conformance/models/conv.onnx" models/gone.onnx
git add -A
git commit -q -m base
base=$(git rev-parse HEAD)

git checkout -q -b pr
names=("models/a b.onnx" $'models/new\nline.onnx' "models/q'uote\".onnx"
       'models/x$(touch pwned1).onnx' 'models/`touch pwned2`.onnx' 'models/semi;touch pwned3.onnx'
       "-dash.onnx" $'models/\xff\xfe.onnx'
       $'models/evil\n::error title=INJECTED::forged.onnx')
for n in "${names[@]}"; do cp "$small" "./$n"; done
ln -s "$tmp/outside/outside.onnx" models/escape.onnx
ln -s /etc/passwd models/passwd.onnx
ln -s keep.onnx models/inside.onnx
git rm -q models/gone.onnx
git mv models/old-name.onnx models/new-name.onnx
git add -A
git commit -q -m "hostile pull request"
cat >"$tmp/event.json" <<EOF
{"pull_request": {"base": {"ref": "main", "sha": "$base"}, "head": {"ref": "pr", "sha": "$(git rev-parse HEAD)"}}}
EOF

run_action hostile
# nothing executed, anywhere
[ -z "$(find "$tmp" / -xdev -maxdepth 0 -name 'pwned*' 2>/dev/null; find "$tmp" -name 'pwned*')" ] ||
    fail "a file name was executed"
# refused: the symlinks out of the repository (exit 3, named); the rest analyzed
want_rc hostile 3
has hostile out "::error file=models/escape.onnx,title=weightlint: outside the repository::models/escape.onnx is a symlink to a file outside the repository: not read"
has hostile out "::error file=models/passwd.onnx,title=weightlint: outside the repository::"
for f in out err summary sarif output; do lacks hostile $f "root:x:0"; done
has hostile summary "Refused, not read:"
# deleted: a note; renamed: compared with its old path
has hostile err "deleted by the pull request, not checked: models/gone.onnx"
has hostile summary "Deleted by the pull request (nothing to check): models/gone.onnx"
has hostile err "weightlint compare models/new-name.onnx (renamed from models/old-name.onnx) with main: unchanged"
# no forged workflow command: stdout holds only this script's commands, stderr none at all
! grep -q '^::[a-z]* title=INJECTED' "$tmp/hostile.out" || fail "a file name forged a workflow command"
! grep -q '^[[:space:]]*::' "$tmp/hostile.err" || { grep '^[[:space:]]*::' "$tmp/hostile.err"; fail "the log holds a line that reads as a workflow command"; }
grep -v '^::' "$tmp/hostile.out" && fail "stdout has lines that are not workflow commands"
/usr/bin/python3 - "$tmp/hostile.output" "$tmp/hostile.sarif" "${names[@]}" <<'PY'
import json, sys
out_path, sarif_path, *names = sys.argv[1:]
names = [n.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for n in names]
out = dict(l.rstrip("\n").split("=", 1) for l in open(out_path, encoding="utf-8") if "=" in l)
models = json.loads(out["models"])
want = set(names) | {"models/inside.onnx", "models/new-name.onnx"}
assert set(models) == want, (set(models) ^ want)
verdicts = json.loads(out["verdicts"])
assert verdicts["models/new-name.onnx"] == "unchanged", verdicts
assert all(verdicts[n] == "new" for n in names), verdicts
assert out["exit-code"] == "3", out
sarif = json.load(open(sarif_path, encoding="utf-8"))  # strict UTF-8 JSON
assert sarif["runs"][0]["results"], "no results"
PY
echo "action_hostile: hostile names analyzed, symlinks out refused, deleted and renamed models handled"

# ---- 1,000 changed models
git checkout -q -b many main
mkdir -p models/many
for i in $(seq -w 1 1000); do cp "$small" "models/many/m$i.onnx"; done
git add -A
git commit -q -m "1000 models"
cat >"$tmp/event.json" <<EOF
{"pull_request": {"base": {"ref": "main", "sha": "$base"}, "head": {"ref": "many", "sha": "$(git rev-parse HEAD)"}}}
EOF
run_action many WL_COMPARE_TO=none
want_rc many 0
size=$(wc -c <"$tmp/many.summary")
[ "$size" -lt 1048576 ] || fail "1,000 models: the job summary is $size bytes (GitHub's limit: 1 MiB)"
for level in error warning notice; do
    n=$(grep -c "^::$level " "$tmp/many.out" || true)
    [ "$n" -le 10 ] || fail "1,000 models: $n $level annotations (GitHub shows 10 per level)"
done
[ "$(grep -c '^::warning ' "$tmp/many.out")" = 10 ] || fail "1,000 models: not 10 warning annotations"
has many summary "models/many/m1000.onnx"
/usr/bin/python3 -c 'import json, sys
out = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[1]) if "=" in l)
assert len(json.loads(out["models"])) == 1000, len(json.loads(out["models"]))' "$tmp/many.output"
echo "action_hostile: 1,000 models: summary $size bytes, annotations capped"

# ---- .weightlint.yaml reaching outside the repository
git checkout -q pr
cat >"$tmp/event.json" <<EOF
{"pull_request": {"base": {"ref": "main", "sha": "$base"}, "head": {"ref": "pr", "sha": "$(git rev-parse HEAD)"}}}
EOF
rules_case() { # NAME PATTERN: the Action refuses the rules file (exit 2) and quotes nothing
    run_action "$1" WL_MODELS=models/keep.onnx WL_COMPARE_TO=none
    want_rc "$1" 2
    has "$1" err "$2"
    for f in out err summary output; do lacks "$1" $f TOPSECRET; done
}
printf 'extends: ../../outside/secret.yaml\n' >.weightlint.yaml
rules_case extends-relative "lies outside $repo"
printf 'extends: %s\n' "$tmp/outside/secret.yaml" >.weightlint.yaml
rules_case extends-absolute "lies outside $repo"
ln -s "$tmp/outside/secret.yaml" models/rules.yaml
printf 'extends: models/rules.yaml\n' >.weightlint.yaml
rules_case extends-symlink "is a symlink to a file outside $repo"
rm .weightlint.yaml
ln -s "$tmp/outside/secret.yaml" .weightlint.yaml
rules_case config-symlink "a symlink to a file outside $repo"
rm .weightlint.yaml
{ printf 'rules: '; head -c 100000 /dev/zero | tr '\0' '['; } >.weightlint.yaml
rules_case deep "nesting deeper than 64 levels"
rm .weightlint.yaml models/rules.yaml
echo "action_hostile: extends outside the repository and deep nesting refused in the Action"
