#!/usr/bin/env bash
# alloc_failures.sh — allocation-failure injection (issue #12). tests/alloc/failmalloc.c, an
# LD_PRELOAD shim, makes the Nth allocation of a run fail; N is swept over whole runs of
# analyze, check (rules file with extends, baseline, cache, SARIF file), compare and report on
# tests/conformance/models/mlp3.onnx. Under the ASan build the shim passes every call on to
# ASan's allocator, so a leak or a bad access after a failure is reported too.
#
# Every run must either absorb the failure (same exit code, same stdout and output file as the
# run without a failure: e.g. a stdio buffer that falls back to unbuffered) or end with exit 4
# and a "weightlint: error: ... out of memory" / "Cannot allocate memory" message, leaving no
# output file and no temporary file behind. Never a crash, a sanitizer report or another
# exit code.
#
#   ALLOC_STRIDE=K  try N = 1, 1+K, 1+2K, ... (default 11, about 500 runs, ~2 minutes under
#                   ASan on 2 vCPUs; ALLOC_STRIDE=1 tries every allocation: tests/alloc/README.md)
#   ALLOC_ONLY=cmd  sweep one of analyze, check, baseline (check --write-baseline), compare,
#                   ranking (compare of three models, Markdown: the ranking), report
set -euo pipefail
root=$PWD
WL=${WL:-$root/build/dev/weightlint}
case $WL in /*) ;; *) WL=$root/$WL ;; esac
stride=${ALLOC_STRIDE:-11}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "alloc_failures: $*"; exit 1; }

cc -O1 -g -shared -fPIC -o "$tmp/failmalloc.so" tests/alloc/failmalloc.c -ldl
preload=$tmp/failmalloc.so
asan=$(ldd "$WL" | awk '/libasan/ {print $3}')
if [ -n "$asan" ]; then
    preload="$preload $asan"   # the shim first, then ASan's allocator behind it
    # full unwinding: a leak inside a library (tests/lsan.supp) is then matched by its function
    export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=0:exitcode=99:fast_unwind_on_malloc=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
export OPENBLAS_NUM_THREADS=1

m=$root/tests/conformance/models/mlp3.onnx
mkdir -p "$tmp/cfg"
printf 'extends: base.yaml\nrules:\n  WL101: {severity: warning, alpha_max: 7.5}\noverrides:\n  - layers: "fc*"\n    rules:\n      WL104: info\nignore:\n  - layers: "fc3*"\n    rules: [WL109]\n    reason: head layer\n' >"$tmp/cfg/rules.yaml"
printf 'extends: strict\ncompare:\n  layer:\n    alpha_range: [2, 6]\n' >"$tmp/cfg/base.yaml"
"$WL" check --threads 1 --write-baseline "$tmp/base.txt" "$m" >/dev/null
mkdir -p "$tmp/cache"

# run NAME N OUTFILE -- ARGS: one run with the Nth allocation failing (N=0: none).
run() {
    local n=$1
    shift
    rm -f "$tmp/out".* "$tmp/count"
    local rc=0
    (cd "$tmp" && env LD_PRELOAD="$preload" WL_FAILMALLOC_N="$n" WL_FAILMALLOC_COUNT="$tmp/count" \
        "$WL" "$@" >"$tmp/stdout" 2>"$tmp/stderr") || rc=$?
    echo "$rc"
}

# A report written despite the failure (check and compare record a model that failed in the
# report, with exit 4) must be a whole document.
complete() {
    case $1 in
    *.html) tail -c 8 "$1" | grep -q '</html>' ;;
    *.txt) head -1 "$1" | grep -q '^# weightlint baseline 1$' && [ -z "$(tail -c 1 "$1")" ] ;;
    *.md) cmp -s "$1" "$tmp/want.file" ;; # written whole before stdout failed: the same document
    *) python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null ;;
    esac
}

total_tried=0
total_absorbed=0
sweep() {
    local name=$1 outfile=$2
    shift 2
    local want_rc n rc count tried=0 absorbed=0 failed=0
    want_rc=$(run 0 "$@")
    count=$(cat "$tmp/count")
    [ -f "$tmp/$outfile" ] || fail "$name: no $outfile without a failure"
    cp "$tmp/stdout" "$tmp/want.stdout"
    cp "$tmp/$outfile" "$tmp/want.file"
    for ((n = 1; n <= count; n += stride)); do
        rc=$(run "$n" "$@")
        tried=$((tried + 1))
        local why=""
        if grep -q -E 'Sanitizer|runtime error|SUMMARY:' "$tmp/stderr"; then
            why="sanitizer report"
        elif [ "$rc" = "$want_rc" ] && cmp -s "$tmp/stdout" "$tmp/want.stdout" &&
             cmp -s "$tmp/$outfile" "$tmp/want.file"; then
            absorbed=$((absorbed + 1))
            continue
        elif [ "$rc" != 4 ]; then
            why="exit $rc (want 4, or $want_rc with the same output)"
        elif ! grep -q -E '^weightlint: error: .*(out of memory|Cannot allocate memory)' "$tmp/stderr"; then
            why="exit 4 without an out-of-memory message"
        elif [ -e "$tmp/$outfile" ] && ! complete "$tmp/$outfile"; then
            why="left a half-written $outfile behind"
        elif ls "$tmp" | grep -q '\.tmp$'; then
            why="left a temporary file behind"
        fi
        if [ -n "$why" ]; then
            failed=$((failed + 1))
            echo "FAIL $name: allocation $n of $count: $why"
            sed -n 1,25p "$tmp/stderr"
        fi
    done
    echo "$name: $count allocations, $tried runs, $absorbed absorbed, $((tried - absorbed - failed)) exit 4, $failed bad"
    total_tried=$((total_tried + tried))
    total_absorbed=$((total_absorbed + absorbed))
    [ "$failed" = 0 ] || bad=1
}

bad=0
only=${ALLOC_ONLY:-}
[ -n "$only" ] && [ "$only" != analyze ] || sweep analyze out.json analyze --threads 1 --format json -o out.json "$m"
[ -n "$only" ] && [ "$only" != check ] || sweep check out.sarif check --threads 1 --config cfg/rules.yaml --baseline base.txt --cache cache --exit-zero -o out.sarif "$m"
[ -n "$only" ] && [ "$only" != baseline ] || sweep baseline new.txt check --threads 1 --cache cache --write-baseline new.txt "$m"
[ -n "$only" ] && [ "$only" != compare ] || sweep compare out.json compare --threads 1 --config cfg/rules.yaml --format json -o out.json "$m" "$m"
[ -n "$only" ] && [ "$only" != ranking ] || sweep ranking out.md compare --threads 1 --format markdown -o out.md "$m" "$m" "$m"
[ -n "$only" ] && [ "$only" != report ] || sweep report out.html report --threads 1 --compare "$m" -o out.html "$m"
echo "alloc_failures: $total_tried runs in all (stride $stride), $total_absorbed absorbed"
[ "$bad" = 0 ]
