#!/usr/bin/env bash
# Loads every model of Debian's libonnx-testdata (1,072 operator test models, issue #2 "Bad
# input") with `weightlint analyze` in both modes (default and --compat ww) and fails on a crash
# (exit >= 128), a sanitizer report (run_tests.sh uses the ASan/UBSan binary under MODE=asan),
# an exit code other than 0 or 3, or any rejection (exit 3): these are valid models, so a
# rejection is a loader bug. Prints how many were analyzed with layers, without layers, and
# rejected (grouped by message). Needs the package: apt-get install libonnx-testdata.
set -u
WL=${WL:-build/weightlint}
JOBS=${JOBS:-2}
if ! dpkg -s libonnx-testdata >/dev/null 2>&1; then
    echo "testdata_smoke: FAIL: Debian package libonnx-testdata is not installed" \
        "(apt-get install libonnx-testdata)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg -L libonnx-testdata | grep '\.onnx$' | sort >"$tmp/models"
n_models=$(wc -l <"$tmp/models")
if [ "$n_models" -lt 1000 ]; then
    echo "testdata_smoke: FAIL: only $n_models .onnx files in libonnx-testdata (expected 1,072)"
    exit 1
fi

# One line per run in $tmp/res.<pid>: mode<TAB>exit<TAB>analyzed layers<TAB>model<TAB>message.
# The message is the first stderr line (exit 3) or the first sanitizer line.
run_batch() {
    local out="$tmp/res.$$" m mode rc err layers msg
    for m in "$@"; do
        for mode in default ww; do
            if [ "$mode" = ww ]; then
                "$WL" analyze --no-progress --format json --compat ww "$m" >"$tmp/o.$$" 2>"$tmp/e.$$"
            else
                "$WL" analyze --no-progress --format json "$m" >"$tmp/o.$$" 2>"$tmp/e.$$"
            fi
            rc=$?
            layers=$(grep -o '"analyzed": [0-9]*' "$tmp/o.$$" | head -1 | grep -o '[0-9]*$')
            msg=$(grep -m1 -E 'Sanitizer|runtime error:' "$tmp/e.$$")
            [ -n "$msg" ] || msg=$(head -1 "$tmp/e.$$")
            printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$rc" "${layers:-0}" "$m" "$msg" >>"$out"
        done
    done
}
export -f run_batch
export WL tmp
xargs -P "$JOBS" -n 25 bash -c 'run_batch "$@"' _ <"$tmp/models"
cat "$tmp"/res.* >"$tmp/all"

fail=0
echo "libonnx-testdata: $n_models models, $(wc -l <"$tmp/all") runs (default and --compat ww)"
for mode in default ww; do
    awk -F'\t' -v mode="$mode" '$1 == mode {
            n++
            if ($2 == 0 && $3 > 0) with++
            else if ($2 == 0) without++
            else if ($2 == 3) rejected++
            else other++
        }
        END { printf "  %-7s: %d analyzed with layers, %d analyzed with no layer, %d rejected (exit 3), %d other exit\n", mode, with, without, rejected, other }' "$tmp/all"
done
# Crashes and sanitizer reports.
bad=$(awk -F'\t' '($2 != 0 && $2 != 3) || $5 ~ /Sanitizer|runtime error:/' "$tmp/all")
if [ -n "$bad" ]; then
    echo "FAIL: crash, sanitizer report or unexpected exit code:"
    printf '%s\n' "$bad" | head -20
    fail=1
fi
# Rejections of these valid models, grouped by message (the model path removed).
rej=$(awk -F'\t' '$2 == 3' "$tmp/all")
if [ -n "$rej" ]; then
    echo "FAIL: valid models rejected with exit 3, by reason:"
    printf '%s\n' "$rej" | awk -F'\t' '{ msg = $5; sub(/^weightlint: error: [^:]*: /, "", msg)
        print "    " $1 ": " substr(msg, 1, 150) }' | sort | uniq -c | sort -rn | head -20
    printf '%s\n' "$rej" | head -5 | awk -F'\t' '{ print "    e.g. " $1 " " $4 }'
    fail=1
fi
[ "$fail" = 0 ] && echo "testdata_smoke: ok"
exit "$fail"
