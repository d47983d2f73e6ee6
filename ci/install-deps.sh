#!/usr/bin/env bash
# Installs what weightlint needs to build and test on Debian 12 (bookworm), as root (or via
# sudo). Idempotent. Used by the README's set-up command, by .ci/run and by the GitHub Action.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential pkg-config        # cc, make
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev   # protoc-c + /usr/include/onnx/onnx.proto
  libopenblas-dev liblapacke-dev    # BLAS/LAPACK (dsyrk, dsyevd, dgesdd)
  libyaml-dev                       # rules files
  libgsl-dev                        # special functions and quadrature of the distribution tests
  libjansson-dev                    # reading analysis JSON back (merge; check/compare/report inputs)
  nettle-dev                        # SHA-256 (SHA-NI): the result cache's keys, the model hash of --shard
  libcmocka-dev                     # unit tests
  python3 python3-jsonschema        # conformance replay, SARIF schema validation
  python3-yaml                      # tests/scripts/recipes.sh reads the Kubernetes manifest
  libonnx-testdata                  # 1,072 operator test models for the loader smoke test
  python3-onnx                      # derives the external-data copies of the real-model test set
  clang libclang-rt-14-dev valgrind # make fuzz (libFuzzer); the allocation-failure sweep's leak check
  chromium                          # headless browser: tests/scripts/report_browser.sh renders the HTML report
)
# WL_DEPS=build: only what building and running weightlint needs (the GitHub Action,
# action.yml; python3 parses the reports in ci/action-entry.sh), not the test suite's packages.
if [ "${WL_DEPS:-all}" = build ]; then
  PKGS=(build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev
        libopenblas-dev liblapacke-dev libyaml-dev libgsl-dev libjansson-dev nettle-dev python3 git)
fi
# node + npm (make test-ort fetches onnxruntime-node, make test-real-models the model set):
# Debian's packages only when no node/npm is on the PATH (a NodeSource node bundles its npm).
if [ "${WL_DEPS:-all}" != build ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
