#!/usr/bin/env bash
# Builds the libFuzzer target tests/fuzz/fuzz_onnx.c with clang (ASan + UBSan) and runs it.
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]      (default 300 seconds)
# Run from the repository root after `make` (which generates build/gen). The seed corpus is
# built in build/fuzz/seeds from the mkonnx models, the conformance models and a sample of
# libonnx-testdata; new inputs go to build/fuzz/corpus, crashes to build/fuzz/crash-*.
# See tests/fuzz/README.md.
set -euo pipefail
secs=${1:-300}
shift || true
CC=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out/seeds" "$out/corpus"
[ -f build/gen/onnx/onnx.pb-c.c ] || { echo "run 'make' first (needs build/gen)"; exit 1; }
pkgs="libprotobuf-c yaml-0.1 lapacke openblas"
gen_src=$(ls build/gen/onnx/onnx.pb-c.c build/gen/*.c 2>/dev/null)
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Iinclude -Isrc -Ibuild/gen $(pkg-config --cflags $pkgs) -DWL_VERSION="\"$(cat VERSION)\"" \
    tests/fuzz/fuzz_onnx.c src/*.c $gen_src $(pkg-config --libs $pkgs) -lpthread -lm \
    -o "$out/fuzz_onnx"
# Seeds: small files only (libFuzzer's -max_len below).
mkonnx=$(ls build/*/tests/mkonnx 2>/dev/null | head -1 || true)
if [ -n "$mkonnx" ]; then
    "$mkonnx" "$out/gen" >/dev/null
    find "$out/gen" -name '*.onnx' -size -64k -exec cp {} "$out/seeds/" \;
fi
cp tests/conformance/models/*.onnx "$out/seeds/" 2>/dev/null || true
if dpkg -L libonnx-testdata >/dev/null 2>&1; then
    dpkg -L libonnx-testdata | grep '\.onnx$' | awk 'NR % 10 == 0' | while read -r m; do
        cp "$m" "$out/seeds/$(basename "$(dirname "$m")").onnx"
    done
fi
find "$out/seeds" -size +64k -delete
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
"$out/fuzz_onnx" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$out/" "$@" "$out/corpus" "$out/seeds"
