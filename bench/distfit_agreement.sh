#!/usr/bin/env bash
# distfit_agreement.sh EVAL_FILES... — do the fast Nelder–Mead objectives of src/distfit.c give
# powerlaw's answers? Builds bench/distfit_speed.c three ways: the default (fast) objectives,
# the per-point objectives as powerlaw writes them (-DWL_DISTFIT_PER_POINT), and 16 per-point
# runs with every objective value multiplied by 1 + 1e-14 U(-1,1) (-DWL_DISTFIT_JITTER=seed),
# the noise model behind the conformance tolerances (../shared/conformance/distcompare). Then
# bench/distfit_agreement.py compares them layer by layer. Needs `make MODE=release` first;
# see bench/README.md "Distribution tests".
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
F="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Iinclude -Isrc -Ibuild/gen"
L="build/release/libweightlint.a $(pkg-config --libs lapacke openblas) -lgsl -lm -lpthread"
variant() { # name, extra flags
    # shellcheck disable=SC2086
    cc $F $2 -c src/distfit.c -o "$tmp/$1.o" && cc $F bench/distfit_speed.c "$tmp/$1.o" $L -o "$tmp/$1"
}
variant fast ""
variant per_point "-DWL_DISTFIT_PER_POINT"
echo "== fast objectives (default)"
"$tmp/fast" --dump "$tmp/fast.txt" "$@"
echo "== per-point objectives"
"$tmp/per_point" --dump "$tmp/per_point.txt" "$@"
for s in $(seq 1 16); do
    variant "j$s" "-DWL_DISTFIT_PER_POINT -DWL_DISTFIT_JITTER=$s"
    "$tmp/j$s" --dump "$tmp/j$s.txt" "$@" >/dev/null
done
python3 bench/distfit_agreement.py "$tmp"
