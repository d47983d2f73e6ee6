#!/usr/bin/env bash
# --cache DIR shared by concurrent processes (issue 13, item 6): shards of one model and whole
# runs of it write and read one cache at the same time, several rounds. Every output must be
# byte-identical to a run without the cache, no temporary file may be left, every entry must
# be whole (it ends with its trailer), and a torn entry must be a miss, never a result.
set -euo pipefail
WL=${WL:-build/weightlint}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
m=tests/conformance/models/conv.onnx
c=$tmp/cache
"$WL" analyze --no-progress -f json "$m" -o "$tmp/plain.json"
for n in 1 2 3; do
    "$WL" analyze --no-progress -f json --shard "$((n - 1))/3" "$m" -o "$tmp/plain$n.json"
done
for round in 1 2 3; do
    pids=()
    for p in 1 2 3 4; do
        "$WL" analyze --no-progress -f json --cache "$c" "$m" -o "$tmp/r$round.$p.json" &
        pids+=($!)
    done
    for n in 1 2 3; do
        "$WL" analyze --no-progress -f json --cache "$c" --shard "$((n - 1))/3" "$m" \
            -o "$tmp/s$round.$n.json" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for p in 1 2 3 4; do cmp "$tmp/plain.json" "$tmp/r$round.$p.json"; done
    for n in 1 2 3; do cmp "$tmp/plain$n.json" "$tmp/s$round.$n.json"; done
    "$WL" merge "$tmp/s$round".*.json -o "$tmp/merged.json"
    cmp "$tmp/plain.json" "$tmp/merged.json"
done
[ -z "$(find "$c" -name '*.tmp')" ] || { echo "temporary files left:"; find "$c" -name '*.tmp'; exit 1; }
n_entries=$(find "$c" -type f | wc -l)
[ "$n_entries" -ge 2 ] || { echo "only $n_entries cache entries"; exit 1; }
for e in $(find "$c" -type f); do
    [ "$(tail -n 1 "$e")" = end ] || { echo "entry $e is not whole"; exit 1; }
done
# A torn entry (its last value cut mid-number, trailer lost) is a miss: same output, and the
# entry is rewritten whole.
e=$(find "$c" -type f | head -n 1)
head -c "$(($(wc -c <"$e") - 9))" "$e" >"$tmp/torn" && cp "$tmp/torn" "$e"
"$WL" analyze --no-progress -f json --cache "$c" "$m" -o "$tmp/after.json"
cmp "$tmp/plain.json" "$tmp/after.json"
[ "$(tail -n 1 "$e")" = end ]
echo "$n_entries entries shared by 7 concurrent processes x 3 rounds: outputs identical, none torn"
