#!/usr/bin/env bash
# rules_containment.sh — a pull request controls .weightlint.yaml, so the rules loader must not
# open, or quote into the job log, files outside the repository (issue #12). In a temporary git
# repository: `extends:` by relative path, absolute path and symlink escaping the repository
# are refused with exit 2 and without a byte of the target's content; a .weightlint.yaml that
# is itself a symlink out is refused; a file inside the repository that is not a rules file is
# refused without quoting it; extends inside the repository (one folder up) and a preset still
# work; outside a repository the config's folder is the bound; 100,000 nested brackets are
# refused in milliseconds (depth checked while parsing), not after seconds.
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "rules_containment: $*"; exit 1; }
model=$root/examples/fashion_mlp_trained.onnx

# A secret the runner can read, outside the repository.
secret=$tmp/outside/secret.yaml
mkdir -p "$tmp/outside"
printf 'root:x:0:0:TOPSECRET-%s\n' "$RANDOM" >"$secret"
printf 'rules:\n  TOPSECRET_KEY: TOPSECRET_VALUE\n' >"$tmp/outside/mapping.yaml"

repo=$tmp/repo
mkdir -p "$repo/models/sub"
git -C "$repo" init -q
cp "$model" "$repo/models/sub/m.onnx"

# expect CASE EXIT PATTERN: runs check on the model, wants the exit code, the message pattern,
# and no TOPSECRET anywhere in stdout or stderr.
expect() {
    local name=$1 want=$2 pat=$3 rc=0
    (cd "$repo" && "$WL" check models/sub/m.onnx >"$tmp/out" 2>"$tmp/err") || rc=$?
    [ "$rc" = "$want" ] || { cat "$tmp/err"; fail "$name: exit $rc, want $want"; }
    grep -q -- "$pat" "$tmp/err" "$tmp/out" || { cat "$tmp/err"; fail "$name: no '$pat'"; }
    if grep -q TOPSECRET "$tmp/err" "$tmp/out"; then
        cat "$tmp/err"; fail "$name: leaked the content of a file outside the repository"
    fi
}
cfg=$repo/models/sub/.weightlint.yaml

printf 'extends: ../../../outside/secret.yaml\n' >"$cfg"
expect relative 2 "lies outside $repo"
printf 'extends: ../../../../../../../../etc/passwd\n' >"$cfg"
expect passwd 2 "is not a .yaml or .yml file"
printf 'extends: %s\n' "$secret" >"$cfg"
expect absolute 2 "lies outside $repo"
printf 'extends: %s\n' "$tmp/outside/mapping.yaml" >"$cfg"
expect absolute-mapping 2 "lies outside $repo"
ln -s "$secret" "$repo/models/evil.yaml"
printf 'extends: ../evil.yaml\n' >"$cfg"
expect symlink 2 "is a symlink to a file outside $repo"
ln -s "$tmp/outside" "$repo/models/link"
printf 'extends: ../link/mapping.yaml\n' >"$cfg"
expect symlinked-folder 2 "is a symlink to a file outside $repo"
rm "$cfg"
ln -s "$secret" "$cfg"
expect config-symlink 2 "a symlink to a file outside $repo"
rm "$cfg"

# Inside the repository: a non-rules file is refused without quoting it.
printf 'TOPSECRET in the repository but not a rules file\n' >"$repo/models/notes.yaml"
printf 'extends: ../notes.yaml\n' >"$cfg"
expect not-rules 2 "expected a mapping, got a scalar (not a rules file)"

# Inside the repository it works: one folder up, and a preset below that.
printf 'extends: strict\nrules:\n  over-trained: info\n' >"$repo/base.yaml"
printf 'extends: ../../base.yaml\n' >"$cfg"
rc=0
(cd "$repo" && "$WL" check --print-config models/sub/m.onnx >"$tmp/out" 2>"$tmp/err") || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/err"; fail "extends inside the repository: exit $rc"; }
grep -q "base.yaml" "$tmp/out" || fail "extends inside the repository: base.yaml not in the chain"

# Outside a repository the config's own folder is the bound.
plain=$tmp/plain
mkdir -p "$plain/a"
cp "$model" "$plain/a/m.onnx"
printf 'rules:\n  over-trained: info\n' >"$plain/base.yaml"
printf 'extends: ../base.yaml\n' >"$plain/a/.weightlint.yaml"
rc=0
"$WL" check "$plain/a/m.onnx" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "no repository: extends above the config's folder: exit $rc, want 2"
grep -q "lies outside $plain/a" "$tmp/err" || { cat "$tmp/err"; fail "no repository: message"; }

# Deep nesting is refused while parsing: well under a second (the document loader took 40 s).
python3 -c "print('rules: ' + '['*100000 + ']'*100000)" >"$repo/deep.yaml"
start=$(date +%s%N)
rc=0
"$WL" check --config "$repo/deep.yaml" "$model" >"$tmp/out" 2>"$tmp/err" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 2 ] || fail "deep nesting: exit $rc, want 2"
grep -q "deep.yaml:1:[0-9]*: nesting deeper than 64 levels" "$tmp/err" || fail "deep: message"
# A generous bound (ASan, a loaded runner): the point is milliseconds, not tens of seconds.
[ "$ms" -lt 5000 ] || fail "deep nesting took $ms ms"
echo "rules_containment: ok"
