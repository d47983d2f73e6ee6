#!/usr/bin/env bash
# get-onnxruntime.sh - installs onnxruntime's Node.js package (the CPU runtime ships inside it)
# at a pinned version into a cache OUTSIDE the repository, for `make test-ort` (issue #10,
# item 4: weightlint's dequantization checked against the real runtime). Test-only dependency.
#
# Usage:  get-onnxruntime.sh [CACHE_ROOT]
#   CACHE_ROOT   default ${XDG_CACHE_HOME:-$HOME/.cache}/weightlint; the package lands in
#                CACHE_ROOT/ort-<version>/node_modules/onnxruntime-node
#
# On success prints the install folder (CACHE_ROOT/ort-<version>) on stdout and exits 0.
# Exit 77 (the automake "skipped" code) when npm is missing or its registry cannot be reached
# and nothing is cached yet; any other failure (checksum mismatch, binary does not load) is 1.
#
# Why these choices:
# - `npm install --ignore-scripts`: the postinstall script only downloads CUDA/TensorRT
#   binaries; the CPU build (bin/napi-v6/linux/x64) is inside the tarball.
# - The shared library and the N-API binding are pinned by sha256 (npm itself checks the
#   tarball's registry integrity), so a re-published or tampered package fails loudly.
# - 1.30.0 loads on Debian 12 (glibc 2.36) with node 20; checked by loading it below.
set -euo pipefail

VERSION=1.30.0
LIB_SHA=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
NODE_SHA=ccdc60b981d93a490cf9513d3f583547252b6e285b72988a96a494f2f006c7b8

ROOT=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/weightlint}
DEST=$ROOT/ort-$VERSION
PKG=$DEST/node_modules/onnxruntime-node
BIN=$PKG/bin/napi-v6/linux/x64

say() { echo "get-onnxruntime.sh: $*" >&2; }
skip() { say "SKIPPED: $*"; exit 77; }
die() { say "ERROR: $*"; exit 1; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || skip "only the linux x64 CPU build is used (this is $(uname -s)-$(uname -m))"
command -v node >/dev/null 2>&1 || skip "node is not installed (Debian: apt-get install nodejs npm)"

check() {  # the pinned files are there, match, and the binding loads
    [ -f "$BIN/libonnxruntime.so.1" ] && [ -f "$BIN/onnxruntime_binding.node" ] || return 1
    local a b
    a=$(sha256sum "$BIN/libonnxruntime.so.1" | cut -d' ' -f1)
    b=$(sha256sum "$BIN/onnxruntime_binding.node" | cut -d' ' -f1)
    if [ "$a" != "$LIB_SHA" ] || [ "$b" != "$NODE_SHA" ]; then
        say "SHA256 MISMATCH in $BIN"
        say "  libonnxruntime.so.1       expected $LIB_SHA got $a"
        say "  onnxruntime_binding.node  expected $NODE_SHA got $b"
        return 2
    fi
    (cd "$DEST" && node -e '
        const ort = require("onnxruntime-node");
        if (ort.env.versions.node !== process.argv[1]) throw new Error("version " + ort.env.versions.node);
        ' "$VERSION") || return 3
}

rc=0
check || rc=$?
if [ "$rc" = 0 ]; then echo "$DEST"; exit 0; fi
[ "$rc" = 1 ] || die "cached install in $DEST is broken (remove it to re-fetch)"

command -v npm >/dev/null 2>&1 || skip "npm is not installed (Debian: apt-get install npm)"
npm view "onnxruntime-node@$VERSION" version >/dev/null 2>&1 ||
    skip "cannot reach the npm registry ($(npm config get registry)) for onnxruntime-node@$VERSION"

say "installing onnxruntime-node@$VERSION into $DEST (about 290 MB) ..."
mkdir -p "$DEST"
TMP=$(mktemp -d "$ROOT/.ort-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo '{"name":"weightlint-ort-cache","private":true}' >"$TMP/package.json"
(cd "$TMP" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
    --save-exact "onnxruntime-node@$VERSION" >&2) || die "npm install onnxruntime-node@$VERSION failed"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
rc=0
check || rc=$?
[ "$rc" = 0 ] || die "onnxruntime-node@$VERSION in $DEST fails its check (code $rc)"
say "ok: onnxruntime-node@$VERSION"
echo "$DEST"
