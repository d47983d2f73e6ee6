# action_harness.sh — runs the GitHub Action's entry script (ci/action-entry.sh) the way a
# runner does, for the script tests action_pr.sh and action_hostile.sh (sourced, not run).
# Expects root (the weightlint checkout), repo (the git repository under test), tmp (a scratch
# folder holding event.json, the pull_request payload) and WL (the binary); defines fail if
# the caller did not.
declare -F fail >/dev/null || fail() { echo "action: $*"; exit 1; }

# run_action NAME [VAR=value...]: the entry script as the action runs it; leaves
# $tmp/NAME.{out,err,output,summary,rc}
run_action() {
    local name=$1
    shift
    : >"$tmp/$name.output"
    : >"$tmp/$name.summary"
    set +e
    (
        cd "$repo"
        env GITHUB_WORKSPACE="$repo" GITHUB_EVENT_NAME=pull_request \
            GITHUB_EVENT_PATH="$tmp/event.json" GITHUB_BASE_REF=main GITHUB_HEAD_REF=pr \
            GITHUB_OUTPUT="$tmp/$name.output" GITHUB_STEP_SUMMARY="$tmp/$name.summary" \
            WL_BIN="$WL" WL_CACHE_DIR="$tmp/cache" WL_SARIF_FILE="$tmp/$name.sarif" "$@" \
            bash "$root/ci/action-entry.sh"
    ) >"$tmp/$name.out" 2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
    set -e
}
want_rc() { [ "$(cat "$tmp/$1.rc")" = "$2" ] || { tail -30 "$tmp/$1.err"; fail "$1: exit $(cat "$tmp/$1.rc"), want $2"; }; }
has() { grep -q -F -- "$3" "$tmp/$1.$2" || { cat "$tmp/$1.$2" | head -80; fail "$1.$2 lacks: $3"; }; }
lacks() { ! grep -q -F -- "$3" "$tmp/$1.$2" || fail "$1.$2 should not contain: $3"; }

