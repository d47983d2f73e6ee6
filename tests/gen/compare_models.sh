#!/usr/bin/env bash
# compare_models.sh DIR — derives the models of the `weightlint compare` golden tests from the
# bundled Fashion-MNIST MLP (examples/) into DIR, once (existing files are kept): the trained
# model with fc2.weight replaced by Gaussian weights (also with external data), by its rank-2
# approximation, with one NaN; the whole model renamed as by a re-export; and three
# pseudo-checkpoints between the random initialisation and the trained weights. Seeded: the
# same bytes on every run. Needs /usr/bin/python3 with python3-onnx (ci/install-deps.sh).
set -eu
dir=$1
mkdir -p "$dir"
gen="/usr/bin/python3 tests/gen/degrade_model.py"
T=examples/fashion_mlp_trained.onnx
R=examples/fashion_mlp_random.onnx
make_one() {
    local out=$1
    shift
    [ -f "$dir/$out" ] || $gen "$@" "$dir/$out"
}
# degrade_model.py IN OUT ...: the output goes last above, so IN comes first in "$@"
make_one gauss.onnx $T --tensor fc2.weight --mode gaussian
make_one lowrank.onnx $T --tensor fc2.weight --mode lowrank
make_one nan.onnx $T --tensor fc2.weight --mode nan
make_one renamed.onnx $T --mode rename
for t in 0.25 0.5 0.75; do
    make_one "ckpt-$t.onnx" $T --mode interpolate --from $R --t $t
done
if [ ! -f "$dir/external.onnx" ]; then
    $gen $T "$dir/external.onnx" --tensor fc2.weight --mode gaussian --external
fi
