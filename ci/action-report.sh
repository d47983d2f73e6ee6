#!/usr/bin/env bash
# action-report.sh — the GitHub Action's HTML report step (action.yml runs it after
# ci/action-entry.sh): `weightlint report` for every model the run step checked, with
# `--compare` against the model's version at the comparison ref when there is one, written to
# a folder that action.yml uploads as an artifact and links from the job summary. An
# index.html lists the reports. It never fails the job: the gate is the run step; a model that
# cannot be reported is listed in the index with the error.
#
# Environment:
#   WL_BIN           the weightlint binary                                  [weightlint]
#   WL_MODELS_JSON   the run step's `models` output: a JSON list of paths   [[]]
#   WL_COMPARE_REF   git ref of the base versions (the run step's `compare-ref`); "" = none
#   WL_COMPARE_NAME  how to call that ref in the index                      [WL_COMPARE_REF]
#   WL_CONFIG        rules file                                             [discovered]
#   WL_REPORT_DIR    where to write the reports                             [weightlint-report]
# Outputs ($GITHUB_OUTPUT): dir (only when a report was written) and count.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/wl-models.sh
. "$here/wl-models.sh"
WL=${WL_BIN:-weightlint}
out_file=${GITHUB_OUTPUT:-/dev/null}
dir=${WL_REPORT_DIR:-weightlint-report}
ref=${WL_COMPARE_REF:-}
ref_name=${WL_COMPARE_NAME:-$ref}
log() { printf 'weightlint-report: %s\n' "$*" >&2; }

cd "${GITHUB_WORKSPACE:-.}" || exit 0
top=$(git rev-parse --show-toplevel 2>/dev/null) && cd "$top"
case $dir in /*) ;; *) dir="$PWD/$dir" ;; esac
mkdir -p -- "$dir" || { log "cannot create $dir"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mapfile -d '' -t models < <(python3 -c 'import json, sys
for m in json.loads(sys.argv[1] or "[]"): sys.stdout.write(m + "\0")' "${WL_MODELS_JSON:-[]}" 2>/dev/null)
args=()
[ -n "${WL_CONFIG:-}" ] && args+=(--config "$WL_CONFIG")

# One line per model for the index: file<TAB>model<TAB>base or ""<TAB>error or "".
: >"$tmp/index.tsv"
i=0
count=0
for m in "${models[@]}"; do
    if [ ! -f "$m" ]; then # JSON shows a name that is not UTF-8 with U+FFFD: named, not found
        printf '\t%s\t\tnot found (a file name that is not valid UTF-8 is listed with U+FFFD)\n' \
            "$(show "$m")" >>"$tmp/index.tsv"
        continue
    fi
    i=$((i + 1))
    # the file name keeps the path readable but only [A-Za-z0-9._-]
    name=$(printf '%02d-%s' "$i" "$m" | sed 's|/|__|g; s|[^A-Za-z0-9._-]|_|g').html
    cmp=()
    base=""
    if [ -n "$ref" ] && wl_extract_base "$ref" "$m" "$tmp/base$i"; then
        cmp=(--compare "$tmp/base$i/$m")
        base="$ref_name:$m"
    fi
    if err=$("$WL" report "${args[@]}" "${cmp[@]}" -o "$dir/$name" -- "$m" 2>&1 >/dev/null); then
        count=$((count + 1))
        printf '%s\t%s\t%s\t\n' "$name" "$(show "$m")" "$(show "$base")" >>"$tmp/index.tsv"
        log "$(show "$m")${base:+ vs $(show "$base")}: $name"
    else
        printf '\t%s\t%s\t%s\n' "$(show "$m")" "$(show "$base")" "$(show "$err")" >>"$tmp/index.tsv"
        log "$(show "$m"): no report: $(show "$err")"
    fi
    rm -rf -- "$tmp/base$i"
done

python3 - "$tmp/index.tsv" "$dir/index.html" <<'EOF'
import html, sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1], encoding='utf-8', errors='replace')]
out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
       '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
       '<title>weightlint reports</title><style>body{font:14px sans-serif;margin:24px}'
       'li{margin:4px 0}.err{color:#b71c1c}</style></head><body><h1>weightlint reports</h1><ul>']
for f, model, base, err in rows:
    e = html.escape
    if f:
        out.append(f'<li><a href="{e(f)}">{e(model)}</a>' + (f' compared with {e(base)}' if base else '') + '</li>')
    else:
        out.append(f'<li>{e(model)}: <span class="err">no report: {e(err)}</span></li>')
out.append('</ul></body></html>\n')
open(sys.argv[2], 'w', encoding='utf-8').write('\n'.join(out))
EOF
printf 'count=%d\n' "$count" >>"$out_file"
[ "$count" -gt 0 ] && printf 'dir=%s\n' "$dir" >>"$out_file"
exit 0
