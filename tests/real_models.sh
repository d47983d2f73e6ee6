#!/usr/bin/env bash
# Fetches the 25 real pretrained ONNX exports (npm registry, sha256-pinned) into a cache outside
# the repository and checks the default mode on each (tests/real/check_real_models.py).
set -euo pipefail
BUILD=${BUILD:-build/dev}
WL=${WL:-$PWD/$BUILD/weightlint}
CACHE=${WEIGHTLINT_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weightlint-real-models}
mkdir -p "$CACHE"
if [ ! -f "$CACHE/SHA256SUMS" ] || ! (cd "$CACHE" && sha256sum --quiet -c SHA256SUMS); then
    bash tests/real/get-real-models.sh "$CACHE"
fi
export OPENBLAS_NUM_THREADS=1
python3 tests/real/check_real_models.py "$WL" "$CACHE"
