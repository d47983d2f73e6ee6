#!/usr/bin/env bash
# weightlint-array.sh — a sharded weightlint analysis as a Slurm job array (docs/shards.md).
#
#   jid=$(sbatch --parsable --array=0-3 examples/slurm/weightlint-array.sh MODEL OUTDIR)
#   sbatch --dependency=afterok:$jid examples/slurm/weightlint-array.sh --merge MODEL OUTDIR
#
# Each array task scores its share of the layers (--shard auto reads SLURM_ARRAY_TASK_ID,
# SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN) into OUTDIR/part-<index>.json on shared
# storage; the --merge step joins them into OUTDIR/analysis.json, byte-identical to one
# `weightlint analyze --format json MODEL`, then runs the gate on it (no second analysis).
# The array size is the shard count: change --array, nothing else. WEIGHTLINT names the
# binary (default: weightlint on PATH); WEIGHTLINT_ARGS adds analyze options (e.g. --compat ww),
# WEIGHTLINT_CACHE a --cache directory shared by the tasks. tests/scripts/recipes.sh runs this
# very script for every index as concurrent processes.
#SBATCH --job-name=weightlint
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=weightlint-%A_%a.out
set -euo pipefail
WL=${WEIGHTLINT:-weightlint}
merge=0
if [ "${1:-}" = --merge ]; then
    merge=1
    shift
fi
[ $# -eq 2 ] || { echo "usage: $0 [--merge] MODEL OUTDIR" >&2; exit 2; }
model=$1 out=$2
mkdir -p "$out"
if [ "$merge" = 1 ]; then
    "$WL" merge "$out"/part-*.json -o "$out/analysis.json"
    exec "$WL" check --format text "$out/analysis.json"
fi
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] || { echo "$0: not a Slurm array task (use sbatch --array)" >&2; exit 2; }
cache=()
[ -n "${WEIGHTLINT_CACHE:-}" ] && cache=(--cache "$WEIGHTLINT_CACHE")
# shellcheck disable=SC2086
exec "$WL" analyze --no-progress --format json --shard auto --threads "${SLURM_CPUS_PER_TASK:-2}" \
    "${cache[@]}" ${WEIGHTLINT_ARGS:-} "$model" -o "$out/part-$SLURM_ARRAY_TASK_ID.json"
