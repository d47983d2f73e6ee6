#!/usr/bin/env bash
# action-entry.sh — what the weightlint GitHub Action (action.yml) runs after building: lints
# the models of a pull request with `weightlint check`, compares each with the version it
# replaces (`git show`-style extraction of the base ref, external data included) with
# `weightlint compare`, and reports the way GitHub reads it:
#   - annotations (workflow commands on stdout, within GitHub's 10 per level per step),
#   - a SARIF file for github/codeql-action/upload-sarif,
#   - the job summary ($GITHUB_STEP_SUMMARY, kept under its 1 MiB limit),
#   - step outputs ($GITHUB_OUTPUT): finding counts per severity, alpha-hat per model, the
#     comparison verdict,
#   - the exit code: the highest of check's and compare's (0 pass, 1 findings or regression,
#     2 usage/rules, 3 model unreadable (Git LFS pointer, ...), 4 internal, 5 not comparable).
#
# Inputs (environment, set by action.yml from the action's inputs):
#   WL_BIN                 the weightlint binary                      [weightlint on PATH]
#   WL_MODELS              globs (space/newline separated); empty: the .onnx files changed by
#                          the pull request, including those whose external data changed
#   WL_CONFIG              rules file                                 [.weightlint.yaml / default]
#   WL_FAIL_ON             error, warning, info or never              [error]
#   WL_FAIL_ON_REGRESSION  true or false                              [true]
#   WL_COMPARE_TO          git ref to compare with; "none" to skip    [the PR's base commit]
#   WL_SARIF_FILE          where to write SARIF                       [weightlint.sarif]
#   WL_SUMMARY             on or off                                  [on]
#   WL_CACHE_DIR           per-layer result cache (--cache)           [none]
#   WL_ANALYSIS_DIR        shards: N (ci/action-shard.sh merge): DIR/<model>.json is the
#                          merged analysis of <model>, gated and compared instead of the model
# and GitHub's own: GITHUB_WORKSPACE, GITHUB_EVENT_PATH, GITHUB_BASE_REF, GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY. tests/scripts/action_pr.sh runs this script on a real git repository.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/wl-models.sh
. "$here/wl-models.sh"

WL=${WL_BIN:-}
if [ -z "$WL" ]; then
    if [ -x "$here/../build/release/weightlint" ]; then
        WL="$here/../build/release/weightlint"
    else
        WL=weightlint
    fi
fi
fail_on=${WL_FAIL_ON:-error}
fail_on_regression=${WL_FAIL_ON_REGRESSION:-true}
sarif=${WL_SARIF_FILE:-weightlint.sarif}
summary_on=${WL_SUMMARY:-on}
out_file=${GITHUB_OUTPUT:-/dev/null}
summary_file=${GITHUB_STEP_SUMMARY:-}
# GitHub refuses step summaries over 1 MiB and shows 10 annotations per level per step (the
# WL_MAX_* overrides exist for tests/scripts/action_pr.sh).
MAX_SUMMARY_BYTES=${WL_MAX_SUMMARY_BYTES:-$((1000 * 1024))}
MAX_PER_LEVEL=${WL_MAX_PER_LEVEL:-10}

log() { printf 'weightlint-action: %s\n' "$*" >&2; }
output() { printf '%s=%s\n' "$1" "$2" >>"$out_file"; }
# A file name in the Markdown job summary: shown as above, Markdown and HTML characters escaped.
md_name() {
    local s c
    s=$(show "$1")
    s=${s//\\/\\\\}
    for c in '`' '*' '_' '[' ']' '<' '>' '|' '#' '!'; do s=${s//"$c"/\\$c}; done
    printf '%s' "$s"
}
# The job summary's notes on models that were not checked.
notes_md() {
    local f
    if [ ${#refused[@]} -gt 0 ]; then
        printf '> **Refused, not read:** symlinks to files outside the repository:'
        for f in "${refused[@]}"; do printf ' %s' "$(md_name "$f")"; done
        printf '\n\n'
    fi
    if [ ${#deleted[@]} -gt 0 ]; then
        printf '> Deleted by the pull request (nothing to check):'
        for f in "${deleted[@]}"; do printf ' %s' "$(md_name "$f")"; done
        printf '\n\n'
    fi
}

case $fail_on in error | warning | info | never) ;; *)
    echo "::error title=weightlint::fail-on '$fail_on': expected error, warning, info or never"
    exit 2
    ;;
esac
case $fail_on_regression in true | false) ;; *)
    echo "::error title=weightlint::fail-on-regression '$fail_on_regression': expected true or false"
    exit 2
    ;;
esac
if ! "$WL" --version >/dev/null 2>&1; then
    echo "::error title=weightlint::cannot run weightlint ('$WL'); did the build step fail?"
    exit 4
fi

cd "${GITHUB_WORKSPACE:-.}" || exit 4
top=$(git rev-parse --show-toplevel 2>/dev/null) && cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/annotations"

# --------------------------------------------------------------- the pull request
event_field() { # event_field KEY...: a string field of the event payload, "" if none
    [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
    python3 - "$GITHUB_EVENT_PATH" "$@" <<'PY' 2>/dev/null || true
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d.get(k) if isinstance(d, dict) else None
print(d if isinstance(d, str) else "")
PY
}
base_sha=$(event_field pull_request base sha)
base_name=${GITHUB_BASE_REF:-$(event_field pull_request base ref)}

# have_commit REF: the commit is available locally (fetch it once if it is not).
have_commit() {
    git rev-parse -q --verify "$1^{commit}" >/dev/null 2>&1 && return 0
    git fetch -q --no-tags --depth=1 origin "$1" >/dev/null 2>&1 &&
        git rev-parse -q --verify "$1^{commit}" >/dev/null 2>&1
}

# resolve REF...: the first REF whose commit is available, "" if none.
resolve() {
    local r
    for r in "$@"; do
        [ -n "$r" ] && have_commit "$r" && { printf '%s' "$r"; return 0; }
    done
    return 0
}

# What the pull request changed is the diff from its base commit. The models are compared with
# compare-to, else with that base (the version each model replaces).
# actions/checkout checks out GitHub's merge commit of a pull request: its first parent is the
# base as merged, so HEAD^1..HEAD is exactly what the pull request changes.
diff_ref=""
if [ -n "$base_sha$base_name" ]; then
    merge_parent=""
    git rev-parse -q --verify 'HEAD^2' >/dev/null 2>&1 && merge_parent=$(git rev-parse 'HEAD^1')
    diff_ref=$(resolve "$merge_parent" "$base_sha" "${base_name:+origin/$base_name}" "$base_name")
    [ -n "$diff_ref" ] || echo "::warning title=weightlint::cannot see the pull request's base commit in this checkout; checking every tracked model, no comparison. Use actions/checkout with 'fetch-depth: 0'."
fi
compare_ref=""
compare_name=${WL_COMPARE_TO:-}
if [ "$compare_name" = none ]; then
    compare_name=""
elif [ -n "$compare_name" ]; then
    compare_ref=$(resolve "$compare_name" "origin/$compare_name")
    [ -n "$compare_ref" ] || echo "::warning title=weightlint::compare-to '$compare_name' is not in this checkout: no comparison. Use actions/checkout with 'fetch-depth: 0'."
elif [ -n "$diff_ref" ]; then
    compare_ref=$diff_ref
    compare_name=${base_name:-$diff_ref}
fi

# --------------------------------------------------------------- the models
# File names come from whoever opens the pull request: they travel as NUL-separated lists from
# git (-z: no quoting of newlines, quotes or non-UTF-8 bytes) to weightlint's argv, are never
# evaluated, and are escaped wherever they enter a workflow command or the log (gh_prop,
# gh_data, show). docs/ci.md ("Hostile pull requests") lists what the Action does with each.
models=()
deleted=()             # models the pull request deletes: named, not checked
declare -A renamed_from # new path -> old path, for the comparison with the base version
if [ -n "${WL_MODELS:-}" ]; then
    shopt -s globstar nullglob
    for pat in $WL_MODELS; do
        for f in $pat; do [ -f "$f" ] && models+=("$f"); done
    done
    shopt -u globstar nullglob
    how="models input"
elif [ -n "$diff_ref" ]; then
    changed=()
    while IFS= read -r -d '' status && IFS= read -r -d '' path; do
        case $status in
        D) case $path in *.onnx | *.safetensors.index.json) deleted+=("$path") ;;
           *.safetensors) [ -z "$(wl_index_for_shard "$path" | tr -d '\0')" ] && deleted+=("$path") ;;
           esac ;;
        R* | C*)
            IFS= read -r -d '' new || break
            [ "${status:0:1}" = R ] && case $path in
                *.onnx | *.safetensors | *.safetensors.index.json) renamed_from[$new]=$path ;;
                esac
            changed+=("$new")
            ;;
        *) changed+=("$path") ;;
        esac
    done < <(git -c core.quotePath=false diff -z --name-status -M "$diff_ref" HEAD --)
    [ ${#changed[@]} -gt 0 ] && mapfile -d '' -t models < <(wl_changed_models -z "${changed[@]}")
    how="changed by the pull request"
else
    mapfile -d '' -t models < <(git ls-files -z -- '*.onnx' '*.safetensors.index.json' '*.safetensors' |
        wl_checkpoints_only)
    how="every tracked model (.onnx, safetensors; no pull request base to diff against)"
fi
[ ${#models[@]} -gt 0 ] && mapfile -d '' -t models < <(printf '%s\0' "${models[@]}" | wl_unique0)

# A model that is a symlink (or lies under one) resolving outside the repository is refused
# unread: weightlint never opens it, the gate fails (exit 3) and names it.
refused=()
kept=()
for m in "${models[@]}"; do
    real=$(realpath -e -- "$m" 2>/dev/null) || real=""
    case $real in
    "$top"/*) kept+=("$m") ;;
    *)
        refused+=("$m")
        echo "::error file=$(gh_prop "$m"),title=weightlint: outside the repository::$(gh_data "$m") is a symlink to a file outside the repository: not read, not checked."
        ;;
    esac
done
models=("${kept[@]}")
log "models ($how): $(show_list "${models[@]}")"
[ ${#refused[@]} -gt 0 ] && log "refused (symlinks out of the repository): $(show_list "${refused[@]}")"
[ ${#deleted[@]} -gt 0 ] && log "deleted by the pull request, not checked: $(show_list "${deleted[@]}")"

if [ ${#models[@]} -eq 0 ]; then
    rc=0
    [ ${#refused[@]} -gt 0 ] && rc=3
    output error-count 0
    output warning-count 0
    output info-count 0
    output models "[]"
    output alpha-weighted "{}"
    output verdict none
    output exit-code "$rc"
    if [ "$summary_on" = on ] && [ -n "$summary_file" ]; then
        {
            if [ "$rc" = 0 ]; then
                printf '## weightlint\n\nNo ONNX model to check (%s).\n' "$how"
            else
                printf '## weightlint: error: a model could not be read\n\n'
            fi
            notes_md
        } >>"$summary_file"
    fi
    exit "$rc"
fi

# Git LFS pointers: weightlint refuses them (exit 3); say how to fix the checkout.
lfs=()
for m in "${models[@]}"; do
    if wl_is_lfs_pointer "$m"; then
        lfs+=("$m")
        echo "::error file=$(gh_prop "$m"),title=weightlint: Git LFS pointer::$(gh_data "$m") is a Git LFS pointer, not the model: enable 'lfs: true' on actions/checkout (with: lfs: true) so the real file is checked out."
    fi
done

# What check and compare read for each model: its merged analysis when the shards made one
# (shards: N), so the gate job does not analyze the model again, else the model itself.
inputs=()
for m in "${models[@]}"; do
    if [ -n "${WL_ANALYSIS_DIR:-}" ] && [ -f "$WL_ANALYSIS_DIR/$m.json" ]; then
        inputs+=("$WL_ANALYSIS_DIR/$m.json")
    else
        inputs+=("$m")
    fi
done

# --------------------------------------------------------------- weightlint check
check_args=()
[ -n "${WL_CONFIG:-}" ] && check_args+=(--config "$WL_CONFIG")
[ -n "${WL_CACHE_DIR:-}" ] && check_args+=(--cache "$WL_CACHE_DIR")
if [ "$fail_on" = never ]; then check_args+=(--exit-zero); else check_args+=(--fail-on "$fail_on"); fi

mkdir -p -- "$(dirname -- "$sarif")"
"$WL" check "${check_args[@]}" -f sarif -o "$sarif" -- "${inputs[@]}" 2>&1 | defuse >&2
check_rc=${PIPESTATUS[0]}
rc=$check_rc
[ ${#refused[@]} -gt 0 ] && [ "$rc" -lt 3 ] && rc=3
"$WL" check "${check_args[@]}" -f json -o "$tmp/check.json" -- "${inputs[@]}" >/dev/null 2>&1
"$WL" check "${check_args[@]}" -f markdown --max-findings 50 -- "${inputs[@]}" >"$tmp/check.md" 2>/dev/null
"$WL" check "${check_args[@]}" -f github -- "${inputs[@]}" 2>/dev/null |
    grep '^::' >"$tmp/annotations.check"
log "weightlint check: exit $check_rc"

# --------------------------------------------------------------- weightlint compare
cmp_args=()
[ -n "${WL_CONFIG:-}" ] && cmp_args+=(--config "$WL_CONFIG")
[ -n "${WL_CACHE_DIR:-}" ] && cmp_args+=(--cache "$WL_CACHE_DIR")
[ "$fail_on_regression" = true ] && cmp_args+=(--fail-on-regression)
# verdict_rec MODEL VERDICT [JSON]: one NUL-separated record (file names may hold anything)
verdict_rec() { printf '%s\0%s\0%s\0' "$1" "$2" "${3:-}" >>"$tmp/verdicts"; }
: >"$tmp/verdicts"
: >"$tmp/compare.md"
: >"$tmp/annotations.compare"
i=0
compare_rc=0
for m in "${models[@]}"; do
    [ -n "$compare_ref" ] || break
    cand=${inputs[$i]}
    i=$((i + 1))
    base_dir="$tmp/base$i"
    src=${renamed_from[$m]:-$m} # a renamed model is compared with its old path's version
    wl_extract_base "$compare_ref" "$src" "$base_dir"
    case $? in
    1)
        verdict_rec "$m" new
        printf '### %s\n\nNew model: no version at `%s` to compare with.\n\n' "$(md_name "$m")" "$compare_name" >>"$tmp/compare.md"
        continue
        ;;
    2)
        verdict_rec "$m" unknown
        echo "::error file=$(gh_prop "$m"),title=weightlint: Git LFS pointer::the version of $(gh_data "$src") at $compare_name is a Git LFS pointer: enable 'lfs: true' on actions/checkout (and fetch-depth: 0) to compare with it."
        lfs+=("$m@$compare_name")
        [ "$rc" -lt 3 ] && rc=3
        continue
        ;;
    3)
        verdict_rec "$m" unknown
        echo "::warning file=$(gh_prop "$m"),title=weightlint::could not extract $(gh_data "$src") at $compare_name from git"
        continue
        ;;
    esac
    label="$compare_name:$src"
    "$WL" compare "${cmp_args[@]}" --base-label "$label" -f json -o "$tmp/compare$i.json" \
        -- "$base_dir/$src" "$cand" 2>&1 | defuse >&2
    crc=${PIPESTATUS[0]}
    [ "$crc" -gt "$rc" ] && rc=$crc
    [ "$crc" -gt "$compare_rc" ] && compare_rc=$crc
    # the report's own title and one-line header (lines 1-4) are the overview's job here
    "$WL" compare "${cmp_args[@]}" --base-label "$label" -f markdown --max-rows 60 \
        -- "$base_dir/$src" "$cand" 2>/dev/null | tail -n +5 >>"$tmp/compare.md"
    "$WL" compare "${cmp_args[@]}" --base-label "$label" -f github -- "$base_dir/$src" "$cand" \
        2>/dev/null | grep '^::' >>"$tmp/annotations.compare"
    verdict=$(python3 - "$tmp/compare$i.json" <<'PY' 2>/dev/null || echo unknown
import json, sys
print(json.load(open(sys.argv[1]))["comparisons"][0]["verdict"])
PY
)
    verdict_rec "$m" "$verdict" "$tmp/compare$i.json"
    rm -rf -- "$base_dir"
    log "weightlint compare $(show "$m")${renamed_from[$m]:+ (renamed from $(show "$src"))} with $compare_name: $verdict (exit $crc)"
done

# --------------------------------------------------------------- annotations
# Regressions first: they are what the pull request changed. At most MAX_PER_LEVEL per level;
# the last slot of a full level says how many more there are.
cat "$tmp/annotations.compare" "$tmp/annotations.check" | awk -v max="$MAX_PER_LEVEL" '
    { split($0, a, /[ :]/); lvl = a[3]; n[lvl]++
      if (n[lvl] < max) print; else held[lvl] = held[lvl] ? held[lvl] : $0 }
    END { for (l in n) if (n[l] == max) print held[l];
          else if (n[l] > max) printf "::%s title=weightlint::%d more %s annotations not shown (GitHub shows %d per step); see the job summary\n", l, n[l] - max + 1, l, max }'

# --------------------------------------------------------------- outputs
python3 - "$tmp/check.json" "$tmp/verdicts" "$out_file" "$rc" "$tmp/overview.md" \
    "$compare_name" <<'PY' || log "could not write the outputs"
import json, sys
check_path, verdicts_path, out_path, rc, overview_path, ref = sys.argv[1:7]
try:
    check = json.load(open(check_path))
except (OSError, ValueError):
    check = {"counts": {}, "models": [], "findings": []}
counts = check.get("counts", {})
paths = [m["path"] for m in check.get("models", [])]
alpha = {}
for m in check.get("models", []):
    s = m.get("summary") or {}
    if isinstance(s.get("alpha_weighted"), (int, float)):
        alpha[m["path"]] = round(s["alpha_weighted"], 6)
verdicts, base_alpha = {}, {}
# NUL-separated (path, verdict, json) records; paths are bytes, shown as check.json shows them
# (invalid UTF-8 as U+FFFD)
rec = open(verdicts_path, "rb").read().decode("utf-8", "replace").split("\0")
for k in range(0, len(rec) - 2, 3):
    path, v, js = rec[k:k + 3]
    verdicts[path] = v
    try:
        base_alpha[path] = json.load(open(js))["base"]["alpha_weighted"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
order = ["not-comparable", "regressed", "unknown", "changed", "improved", "unchanged", "new"]
worst = min(verdicts.values(), key=order.index, default="none")
with open(out_path, "a") as f:
    f.write("error-count=%d\n" % counts.get("error", 0))
    f.write("warning-count=%d\n" % counts.get("warning", 0))
    f.write("info-count=%d\n" % counts.get("info", 0))
    f.write("models=%s\n" % json.dumps(paths))
    f.write("alpha-weighted=%s\n" % json.dumps(alpha))
    f.write("verdicts=%s\n" % json.dumps(verdicts))
    f.write("verdict=%s\n" % worst)
    f.write("exit-code=%s\n" % rc)
# one row per model: alpha-hat before and after, the verdict, the lint findings
shown = [f for f in check.get("findings", []) if not f.get("suppressed") and not f.get("baselined")]
def md(s):  # a file name in a table cell: control characters as '?', Markdown/HTML escaped
    s = "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in s)
    for c in "\\`*_[]<>|#!":
        s = s.replace(c, "\\" + c)
    return s
with open(overview_path, "w") as f:
    f.write("| Model | α̂ %s | α̂ now | Comparison | Lint findings |\n|---|---:|---:|---|---|\n"
            % ("at `%s`" % ref if ref else "(base)"))
    for p in paths:
        by = {}
        for x in shown:
            if x.get("model") == p:
                by[x["severity"]] = by.get(x["severity"], 0) + 1
        findings = ", ".join("%d %s" % (by[k], k) for k in ("error", "warning", "info") if k in by)
        b = base_alpha.get(p)
        f.write("| %s | %s | %s | %s | %s |\n" % (
            md(p), "%.4f" % b if isinstance(b, (int, float)) else "-",
            "%.4f" % alpha[p] if p in alpha else "-",
            "**%s**" % verdicts[p] if verdicts.get(p) in ("regressed", "not-comparable")
            else verdicts.get(p, "-"), findings or "none"))
PY
output sarif-file "$sarif"
# the HTML report step (ci/action-report.sh) compares with the same versions
output compare-ref "$compare_ref"
output compare-name "$compare_name"

# --------------------------------------------------------------- job summary
if [ "$summary_on" = on ] && [ -n "$summary_file" ]; then
    s="$tmp/summary.md"
    case $rc in
    0) result="passed" ;;
    1)
        result="failed:"
        [ "$compare_rc" = 1 ] && result="$result a model regressed against \`$compare_name\`"
        [ "$compare_rc" = 1 ] && [ "$check_rc" = 1 ] && result="$result, and"
        [ "$check_rc" = 1 ] && result="$result lint findings at or above \`$fail_on\`"
        ;;
    2) result="error: usage or rules file" ;;
    3) result="error: a model could not be read" ;;
    5) result="failed: a model is not comparable with the version it replaces" ;;
    *) result="error: internal failure (exit $rc)" ;;
    esac
    {
        printf '## weightlint: %s\n\n' "$result"
        printf '%d model(s), %s' "${#models[@]}" "$how"
        [ -n "$compare_ref" ] && printf '; compared with `%s`' "$compare_name"
        printf '.\n\n'
        cat "$tmp/overview.md"
        printf '\n'
        notes_md
        if [ ${#lfs[@]} -gt 0 ]; then
            printf '> **Git LFS pointers instead of models:** %s. Add `lfs: true` to the `actions/checkout` step so the real files are checked out.\n\n' "${lfs[*]}"
        fi
        if [ -s "$tmp/compare.md" ]; then
            printf '## Comparison with `%s`\n\n' "$compare_name"
            cat "$tmp/compare.md"
        fi
        printf '## Lint findings\n\n'
        sed '1s/^## /### /' "$tmp/check.md"
    } >"$s"
    if [ "$(wc -c <"$s")" -gt "$MAX_SUMMARY_BYTES" ]; then
        head -c "$MAX_SUMMARY_BYTES" "$s" | sed '$d' >"$s.cut"
        printf '\n\n**Summary truncated** at %d KiB (GitHub limit: 1 MiB); the full reports are in the log and the SARIF file.\n' \
            $((MAX_SUMMARY_BYTES / 1024)) >>"$s.cut"
        mv "$s.cut" "$s"
    fi
    cat "$s" >>"$summary_file"
fi

log "exit $rc"
exit "$rc"
