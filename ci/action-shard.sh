#!/usr/bin/env bash
# action-shard.sh — the `shards: N` mode of the GitHub Action (action.yml, docs/ci.md
# "Sharded analysis"). Two steps, each the same command on every runner:
#
#   action-shard.sh analyze   in each matrix job (WL_SHARD = K of WL_SHARDS = N): every model of
#                             WL_MODELS is analyzed with `analyze --shard K/N --format json`
#                             into WL_PARTS_DIR/<model path>.part-K.json (uploaded as the
#                             artifact weightlint-part-K by action.yml)
#   action-shard.sh merge     in the gate job, after the parts were downloaded into
#                             WL_PARTS_DIR: `weightlint merge` per model into
#                             WL_ANALYSIS_DIR/<model path>.json, which ci/action-entry.sh then
#                             gates and compares instead of analyzing the model again
#
# Inputs (environment): WL_BIN, WL_MODELS (globs; required: the shards must agree on the
# models), WL_SHARD, WL_SHARDS, WL_PARTS_DIR, WL_ANALYSIS_DIR, WL_CACHE_DIR (optional --cache),
# GITHUB_WORKSPACE. Exit code: weightlint's (3 when a part is missing or foreign).
# tests/scripts/action_shards.sh runs both steps here, the shards as concurrent processes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/wl-models.sh
. "$here/wl-models.sh"
WL=${WL_BIN:-weightlint}
mode=${1:-}
parts=${WL_PARTS_DIR:?WL_PARTS_DIR is not set}
n=${WL_SHARDS:-1}
log() { printf 'weightlint-action: %s\n' "$*" >&2; }
case $n in '' | *[!0-9]* | 0)
    echo "::error title=weightlint::shards '$n': expected a positive integer"
    exit 2
    ;;
esac
[ -n "${WL_MODELS:-}" ] || {
    echo "::error title=weightlint::shards: ${n} needs the models input (every shard must analyze the same models)"
    exit 2
}
cd "${GITHUB_WORKSPACE:-.}" || exit 4
models=()
mapfile -t models < <(wl_glob_models "$WL_MODELS" | awk 'NF && !seen[$0]++')
[ ${#models[@]} -gt 0 ] || { log "no model matches '$WL_MODELS'"; exit 0; }
rc=0
case $mode in
analyze)
    k=${WL_SHARD:-}
    case $k in '' | *[!0-9]*)
        echo "::error title=weightlint::shard '$k': expected 0 .. $((n - 1))"
        exit 2
        ;;
    esac
    cache=()
    [ -n "${WL_CACHE_DIR:-}" ] && cache=(--cache "$WL_CACHE_DIR")
    for m in "${models[@]}"; do
        mkdir -p "$parts/$(dirname -- "$m")"
        "$WL" analyze --no-progress --format json --mp-fit --shard "$k/$n" "${cache[@]}" \
            -o "$parts/$m.part-$k.json" -- "$m"
        r=$?
        [ "$r" -gt "$rc" ] && rc=$r
        log "analyze --shard $k/$n $m: exit $r"
    done
    ;;
merge)
    out=${WL_ANALYSIS_DIR:?WL_ANALYSIS_DIR is not set}
    for m in "${models[@]}"; do
        mkdir -p "$out/$(dirname -- "$m")"
        got=()
        for ((k = 0; k < n; k++)); do
            [ -f "$parts/$m.part-$k.json" ] && got+=("$parts/$m.part-$k.json")
        done
        if [ ${#got[@]} -ne "$n" ]; then
            echo "::error file=$m,title=weightlint::only ${#got[@]} of $n shard parts of $m were downloaded (did a shard job fail?)"
            rc=3
            continue
        fi
        "$WL" merge -o "$out/$m.json" -- "${got[@]}"
        r=$?
        [ "$r" -gt "$rc" ] && rc=$r
        log "merge $m ($n parts): exit $r"
    done
    ;;
*)
    echo "usage: action-shard.sh analyze|merge" >&2
    exit 2
    ;;
esac
exit "$rc"
