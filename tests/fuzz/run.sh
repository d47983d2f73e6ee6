#!/usr/bin/env bash
# Builds the libFuzzer targets tests/fuzz/fuzz_*.c with clang (ASan + UBSan) and runs each one.
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]    (default 300 seconds per target)
#   FUZZ_TARGETS="rules cache" tests/fuzz/run.sh 60            (a subset; default: every target)
#   FUZZ_BUILD_ONLY=1 tests/fuzz/run.sh                         (build and seed, do not run)
# Run from the repository root after `make` (which generates build/gen and build/dev/weightlint,
# used to make seeds). Per target T: the binary is build/fuzz/fuzz_T, seeds build/fuzz/T/seeds
# (made from the golden tests, see below), new inputs build/fuzz/T/corpus, crashes
# build/fuzz/T/crash-*, the log build/fuzz/T/log. See tests/fuzz/README.md.
set -euo pipefail
secs=${1:-300}
shift || true
CC=${FUZZ_CC:-clang}
out=build/fuzz
[ -f build/gen/onnx/onnx.pb-c.c ] || { echo "run 'make' first (needs build/gen)"; exit 1; }
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
# The library's packages come from the Makefile (make fuzz passes them), so a new dependency
# there needs no edit here; the fallback is for running this script by hand.
pkgs="libprotobuf-c yaml-0.1 lapacke openblas jansson nettle"
pkg_cflags=${FUZZ_PKG_CFLAGS:-$(pkg-config --cflags $pkgs gsl)}
libs=${FUZZ_LIBS:-"$(pkg-config --libs $pkgs) -lgsl -lpthread -lm"}
flags="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude -Isrc -Ibuild/gen
       $pkg_cflags"
WL=${WL:-}
for w in build/dev/weightlint build/asan/weightlint build/release/weightlint; do
    [ -n "$WL" ] || [ ! -x "$w" ] || WL=$w
done

# The library once (instrumented for coverage), then one link per target.
mkdir -p "$out/obj"
# The CLI's readers (the analysis JSON) too, without its entry point main.c.
for src in src/*.c build/gen/onnx/onnx.pb-c.c build/gen/*.c $(ls src/cli/*.c | grep -v '/main\.c$'); do
    obj=$out/obj/$(echo "${src%.c}" | sed 's|^src/cli/|cli_|; s|.*/||').o
    stale=0
    for dep in "$src" src/*.h src/cli/*.h include/*.h; do [ "$dep" -nt "$obj" ] && stale=1; done
    if [ ! -f "$obj" ] || [ $stale = 1 ]; then
        # shellcheck disable=SC2086
        $CC $flags -fsanitize=fuzzer-no-link -DWL_VERSION="\"$(cat VERSION)\"" -c "$src" -o "$obj"
    fi
done
rm -f "$out/libwl_fuzz.a"
ar rcs "$out/libwl_fuzz.a" "$out"/obj/*.o
for t in $targets; do
    # shellcheck disable=SC2086
    $CC $flags -fsanitize=fuzzer tests/fuzz/fuzz_"$t".c "$out/libwl_fuzz.a" $libs -o "$out/fuzz_$t"
done

# Seeds, from the golden and script tests' inputs (small files only: -max_len below).
seed_onnx() {
    local s=$1 mkonnx
    mkonnx=
    for m in build/*/tests/mkonnx; do [ -x "$m" ] && mkonnx=$m; done
    if [ -n "$mkonnx" ]; then
        "$mkonnx" "$out/gen" >/dev/null
        find "$out/gen" -name '*.onnx' -size -64k -exec cp {} "$s/" \;
    fi
    cp tests/conformance/models/*.onnx "$s/" 2>/dev/null || true
    if dpkg -L libonnx-testdata >/dev/null 2>&1; then
        dpkg -L libonnx-testdata | grep '\.onnx$' | awk 'NR % 10 == 0' | while read -r m; do
            cp "$m" "$s/$(basename "$(dirname "$m")").onnx"
        done
    fi
}
seed_rules() {
    local s=$1 f
    cp tests/rules/*.yaml rules/*.yaml "$s/"
    # extends chains across the target's files a.yaml / b.yaml / sub/c.yaml ("#@" cuts them)
    { cat tests/rules/ok-extends-file.yaml | sed 's/ok-full.yaml/b.yaml/'; printf '#@\n';
      cat tests/rules/ok-full.yaml; } >"$s/chain-ab"
    printf 'extends: sub/c.yaml\n#@\nrules: {}\n#@\nextends: ../a.yaml\n' >"$s/cycle"
    printf 'extends: b.yaml\n#@\nextends: sub/c.yaml\n#@\nextends: strict\nrules: {WL101: warning}\n' >"$s/chain-abc"
    printf 'x: &a [1, 2]\nrules:\n  WL101: &s {severity: info}\n  WL102: *s\n<<: *a\n' >"$s/anchors"
    printf 'compare:\n  layer:\n    alpha_range: [2, 6]\n    alpha_weighted: {tolerance: 0.1, direction: increase}\n  model.log_norm: off\n  min_matched: 0.5\n' >"$s/compare"
}
seed_baseline() {
    local s=$1
    if [ -n "$WL" ]; then
        "$WL" check --write-baseline "$s/heavy" tests/conformance/models/heavy.onnx >/dev/null 2>&1 || true
        "$WL" check --preset strict --write-baseline "$s/mlp3" tests/conformance/models/mlp3.onnx >/dev/null 2>&1 || true
    fi
    printf '# weightlint baseline 1\n# fingerprint\tcode\tmodel\ttensor\n0123456789ABCDEF\tWL101\tm.onnx\tfc1\r\n\nfedcba9876543210\n' >"$s/hand"
}
seed_dtype() {
    local s=$1 code
    # every data_type code, with 64 bytes of 0x55 and with a few edge bytes as payload
    for code in $(seq 0 26); do
        { printf "\\$(printf '%03o' "$code")"; head -c 64 /dev/zero | tr '\0' '\125'; } >"$s/code$code"
        { printf "\\$(printf '%03o' "$code")"; printf '\000\001\017\020\177\200\201\360\377'; } >"$s/edge$code"
    done
}
seed_analysis() {
    local s=$1 m
    [ -n "$WL" ] || return 0
    # what analyze and merge write: single models, two models in one file, --compat ww, the
    # dist-test columns, a NaN layer, and the two parts of a sharded run
    for m in mlp3 conv nan degenerate heavy; do
        OPENBLAS_NUM_THREADS=1 "$WL" analyze --format json tests/conformance/models/$m.onnx >"$s/$m.json" 2>/dev/null || true
    done
    OPENBLAS_NUM_THREADS=1 "$WL" analyze --format json --compat ww --dist-test tests/conformance/models/mlp3.onnx \
        tests/conformance/models/conv.onnx >"$s/two-ww-dist.json" 2>/dev/null || true
    for k in 1 2; do
        OPENBLAS_NUM_THREADS=1 "$WL" analyze --format json --shard $k/2 tests/conformance/models/mlp3.onnx \
            >"$s/shard$k.json" 2>/dev/null || true
    done
    find "$s" -size 0 -delete
}
seed_cache() {
    local s=$1 d e i=0 key
    # the target's fixed key: bytes 0xa0, 0xa1, ... 0xbf
    key=$(for b in $(seq 160 191); do printf '%02x' "$b"; done)
    [ -n "$WL" ] || return 0
    d=$(mktemp -d)
    OPENBLAS_NUM_THREADS=1 "$WL" check --cache "$d" tests/conformance/models/mlp3.onnx \
        tests/conformance/models/nan.onnx tests/conformance/models/degenerate.onnx >/dev/null 2>&1 || true
    OPENBLAS_NUM_THREADS=1 "$WL" check --cache "$d" tests/conformance/models/conv.onnx tests/conformance/models/heavy.onnx >/dev/null 2>&1 || true
    find "$d" -type f | while read -r e; do
        i=$((i + 1))
        sed "2s/.*/key $key/" "$e" >"$s/entry-$(basename "$e" | cut -c1-12)"
    done
    rm -rf "$d"
}

seed_safetensors() {
    local s=$1 g h n
    # what tests/gen/mksafetensors.py writes from the small nan.onnx (every good kind, sharded
    # and tied included, tiny, dtypes, and each bad-input class) ...
    g=$out/safetensors-gen
    rm -rf "$g"
    if /usr/bin/python3 tests/gen/mksafetensors.py tests/conformance/models/nan.onnx "$g" >/dev/null 2>&1; then
        find "$g" -name '*.safetensors' -size -64k | while read -r f; do
            cp "$f" "$s/$(echo "${f#"$g"/}" | tr / -)"
        done
    fi
    rm -rf "$g"
    # ... and, even without python3-onnx, a hand-made checkpoint of the tensors "a" and "b" that
    # the target's fixed index lists (header length: 8 little-endian bytes)
    h='{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[8],"data_offsets":[16,32]}}'
    n=${#h}
    { printf "\\$(printf '%03o' $((n & 255)))\\$(printf '%03o' $((n >> 8)))\\0\\0\\0\\0\\0\\0"
      printf '%s' "$h"; head -c 32 /dev/zero | tr '\0' '\100'; } >"$s/hand-ab"
}

export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for t in $targets; do
    mkdir -p "$out/$t/seeds" "$out/$t/corpus"
    if declare -F "seed_$t" >/dev/null; then "seed_$t" "$out/$t/seeds"; fi
    find "$out/$t/seeds" -size +64k -delete
done
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0
for t in $targets; do
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    echo "== fuzz_$t: $secs s"
    "$out/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$out/$t/" "${dict[@]}" "$@" "$out/$t/corpus" "$out/$t/seeds" \
        2>&1 | tee "$out/$t/log" | grep -E '^(#[0-9]+.*(INITED|DONE|pulse)|==[0-9]+==ERROR|SUMMARY|Done )' || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz_$t: failed, see $out/$t/log"; exit 1; }
done
