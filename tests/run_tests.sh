#!/usr/bin/env bash
# Runs every test suite of weightlint and ends with one "N passed, N failed" line.
#   unit:        build/$MODE/tests/test_* (cmocka, one binary per module)
#   golden:      tests/golden/<case>/{cmd,expected.out,expected.err,expected.exit}
#   conformance: tests/conformance/check.py (WeightWatcher 0.7.5.5 reference values) and
#                tests/conformance/distcompare/check.py (powerlaw 1.5's distribution tests)
#   scripts:     tests/scripts/*.sh (each exits 0 on success)
# Run from the repository root: make test (MODE=asan for the sanitizers).
set -u
BUILD=${BUILD:-build/dev}
WL=${WL:-$PWD/$BUILD/weightlint}
export WL BUILD
export OPENBLAS_NUM_THREADS=1 LC_ALL=C NO_COLOR=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -f tests/lsan.supp ] && export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
passed=0
failed=0
failures=()
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"; }

# 1. unit tests
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if out=$("$t" 2>&1); then
        pass
        echo "ok   unit $name ($(printf '%s\n' "$out" | grep -c '\[       OK \]') cases)"
    else
        printf '%s\n' "$out" | tail -30
        fail "unit $name"
    fi
done

# 2. golden CLI tests: stdout, stderr and exit code must match exactly.
outdir=tests/out
rm -rf "$outdir"
mkdir -p "$outdir"
for d in tests/golden/*/; do
    [ -f "$d/cmd" ] || continue
    name=$(basename "$d")
    (cd "$PWD" && bash -c "$(cat "$d/cmd")") >"$outdir/$name.out" 2>"$outdir/$name.err"
    rc=$?
    want_rc=$(cat "$d/expected.exit" 2>/dev/null || echo 0)
    ok=1
    [ "$rc" = "$want_rc" ] || { echo "     $name: exit $rc, want $want_rc"; ok=0; }
    if [ -f "$d/expected.out" ] && ! diff -u "$d/expected.out" "$outdir/$name.out" >"$outdir/$name.out.diff"; then
        echo "     $name: stdout differs:"; head -20 "$outdir/$name.out.diff"; ok=0
    fi
    if [ -f "$d/expected.err" ] && ! diff -u "$d/expected.err" "$outdir/$name.err" >"$outdir/$name.err.diff"; then
        echo "     $name: stderr differs:"; head -20 "$outdir/$name.err.diff"; ok=0
    fi
    if [ $ok = 1 ]; then pass; echo "ok   golden $name"; else fail "golden $name"; fi
done

# 3. conformance with the WeightWatcher reference values
if out=$(python3 tests/conformance/check.py "$WL" 2>&1); then
    pass; echo "$out" | tail -1
else
    echo "$out"; fail "conformance"
fi

# 3b. conformance with powerlaw 1.5's distribution comparison (tests/conformance/distcompare/)
if out=$(python3 tests/conformance/distcompare/check.py "$BUILD/tests/distfit_tail" "$WL" 2>&1); then
    pass; echo "$out" | tail -1
else
    echo "$out" | tail -40; fail "distcompare"
fi

# 4. script tests
for s in tests/scripts/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    if out=$(bash "$s" 2>&1); then
        pass; echo "ok   script $name"
    else
        printf '%s\n' "$out" | tail -30; fail "script $name"
    fi
done

echo
if [ "$failed" -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
