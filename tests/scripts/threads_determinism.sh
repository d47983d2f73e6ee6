#!/usr/bin/env bash
# Results must be bit-identical whatever the number of worker threads (issue 4): every layer is
# scored by one worker with single-threaded BLAS, and rows keep tensor order.
set -euo pipefail
WL=${WL:-build/weightlint}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
BUILD=${BUILD:-build/dev}
"$BUILD/tests/mkonnx" "$tmp/gen" >/dev/null
# deep_typeproto.onnx has a single layer: the default worker count must not change its BLAS
# threading either.
for m in tests/conformance/models/heavy.onnx tests/conformance/models/conv.onnx \
         "$tmp/gen/deep_typeproto.onnx"; do
    "$WL" analyze --no-progress --format csv "$m" >"$tmp/tdefault.csv"
    for t in 1 2 3; do
        "$WL" analyze --no-progress --threads "$t" --format csv "$m" >"$tmp/t$t.csv"
    done
    cmp "$tmp/t1.csv" "$tmp/t2.csv"
    cmp "$tmp/t1.csv" "$tmp/t3.csv"
    cmp "$tmp/t1.csv" "$tmp/tdefault.csv"
    [ "$(wc -l <"$tmp/t1.csv")" -ge 2 ]
done
echo "identical across 1, 2 and 3 threads"
