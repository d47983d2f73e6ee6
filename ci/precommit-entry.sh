#!/usr/bin/env bash
# precommit-entry.sh — the pre-commit hook (.pre-commit-hooks.yaml): lints the staged ONNX
# models with `weightlint check`. pre-commit passes the staged files that match the hook's
# `files:` pattern; a staged external-data file (model.onnx.data, ...) stands for the models
# that name it. With --compare-to REF (e.g. HEAD) each model is also compared with its version
# at REF (`weightlint compare --fail-on-regression`): a commit that degrades a layer fails.
#
#   precommit-entry.sh [--compare-to REF] [weightlint check options] FILE...
#
# Options are passed to `weightlint check` (--config FILE, --fail-on LEVEL, ...). weightlint is
# found as $WL_BIN, else `weightlint` on PATH, else this repository's build/release/weightlint,
# which is built on first use (needs the Debian packages of ci/install-deps.sh). Results are
# cached per layer in ${XDG_CACHE_HOME:-~/.cache}/weightlint (WL_CACHE_DIR; "none" to disable).
# Exit codes are weightlint's (docs/cli.md); tests/scripts/precommit_hook.sh runs this script.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/wl-models.sh
. "$here/wl-models.sh"

WL=${WL_BIN:-}
if [ -z "$WL" ]; then
    if command -v weightlint >/dev/null 2>&1; then
        WL=weightlint
    else
        WL="$here/../build/release/weightlint"
        if [ ! -x "$WL" ]; then
            echo "weightlint: building $WL (first use of the hook)..." >&2
            if ! make -s -C "$here/.." MODE=release build/release/weightlint >&2; then
                echo "weightlint: the build failed. Install the build dependencies" \
                    "(sudo $here/install-deps.sh on Debian/Ubuntu), or put weightlint on" \
                    "PATH, or use the 'weightlint-system' hook." >&2
                exit 4
            fi
        fi
    fi
fi

cache=${WL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weightlint}
opts=()
files=()
compare_to=""
while [ $# -gt 0 ]; do
    case $1 in
    --compare-to=*) compare_to=${1#--compare-to=} ;;
    --compare-to)
        compare_to=${2:-}
        shift
        ;;
    -c | --config | --preset | -s | --severity | --fail-on | --baseline | --max-findings | \
        -f | --format | --threads | --compat | --seed | --cache)
        opts+=("$1" "${2:-}")
        shift
        ;;
    --) ;;
    -*) opts+=("$1") ;;
    *) files+=("$1") ;;
    esac
    shift
done
[ ${#files[@]} -gt 0 ] || exit 0
mapfile -t models < <(wl_changed_models "${files[@]}")
[ ${#models[@]} -gt 0 ] || exit 0

cache_args=()
[ "$cache" != none ] && cache_args=(--cache "$cache")
"$WL" check "${cache_args[@]}" "${opts[@]}" -- "${models[@]}"
rc=$?

if [ -n "$compare_to" ]; then
    cmp_args=("${cache_args[@]}" --fail-on-regression)
    for ((i = 0; i < ${#opts[@]}; i++)); do
        case ${opts[$i]} in
        -c | --config | --preset | --threads | --compat) cmp_args+=("${opts[$i]}" "${opts[$((i + 1))]}") ;;
        esac
    done
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for m in "${models[@]}"; do
        wl_extract_base "$compare_to" "$m" "$tmp"
        case $? in
        0) ;;
        1) continue ;; # a new model: nothing to compare with
        2)
            echo "weightlint: $m at $compare_to is a Git LFS pointer ('git lfs pull' first)" >&2
            [ "$rc" -lt 3 ] && rc=3
            continue
            ;;
        *)
            echo "weightlint: cannot extract $m at $compare_to" >&2
            [ "$rc" -lt 4 ] && rc=4
            continue
            ;;
        esac
        "$WL" compare "${cmp_args[@]}" --base-label "$compare_to:$m" -- "$tmp/$m" "$m"
        crc=$?
        [ "$crc" -gt "$rc" ] && rc=$crc
    done
fi
exit "$rc"
