#!/usr/bin/env bash
# `weightlint report` without a browser: the file is written atomically (a new inode replaces
# the old file, no temporary file left behind, mode from the umask), the page is byte-for-byte
# deterministic, `-o -` writes the same page to standard output, and --svg-dir writes two
# standalone SVG files per layer that an XML parser accepts.
set -euo pipefail
WL=${WL:-build/weightlint}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
m=tests/conformance/models/heavy.onnx

umask 022
echo "old" >"$tmp/r.html"
old_inode=$(stat -c %i "$tmp/r.html")
"$WL" report "$m" -o "$tmp/r.html"
[ "$(stat -c %i "$tmp/r.html")" != "$old_inode" ] || { echo "not replaced by rename" >&2; exit 1; }
[ "$(stat -c %a "$tmp/r.html")" = 644 ] || { echo "mode $(stat -c %a "$tmp/r.html")" >&2; exit 1; }
[ "$(ls "$tmp")" = r.html ] || { echo "left behind: $(ls "$tmp")" >&2; exit 1; }
head -c 15 "$tmp/r.html" | grep -q '^<!DOCTYPE html>' || { echo "not an HTML page" >&2; exit 1; }
tail -c 15 "$tmp/r.html" | grep -q '</html>' || { echo "page not finished" >&2; exit 1; }

"$WL" report "$m" -o "$tmp/again.html"
cmp "$tmp/r.html" "$tmp/again.html"
"$WL" report "$m" -o - >"$tmp/stdout.html"
cmp "$tmp/r.html" "$tmp/stdout.html"

"$WL" report "$m" --randomize -o "$tmp/svg.html" --svg-dir "$tmp/svg"
python3 - "$tmp/svg" <<'EOF'
import os, sys, xml.dom.minidom
d = sys.argv[1]
names = sorted(os.listdir(d))
if len(names) != 12:
    sys.exit(f'expected 12 SVG files (6 layers x 2 plots), got {names}')
for n in names:
    doc = xml.dom.minidom.parse(os.path.join(d, n))  # raises on malformed XML
    root = doc.documentElement
    assert root.tagName == 'svg' and root.getAttribute('xmlns') == 'http://www.w3.org/2000/svg', n
    kind = 'fit' if n.endswith('.loglog.svg') else 'mp'
    paths = [p.getAttribute('class') for p in root.getElementsByTagName('path')]
    assert 'esd' in paths and 'rand-esd' in paths and kind in paths, (n, paths)
print(f'{len(names)} standalone SVG files parse')
EOF
