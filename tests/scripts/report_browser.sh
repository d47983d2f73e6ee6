#!/usr/bin/env bash
# `weightlint report` in a real browser (issue 7): writes three reports and opens them in
# headless Chromium (Debian package `chromium`, installed by ci/install-deps.sh).
#   1. the DOM after load (--dump-dom): every plot, chart, table and finding is there, the page
#      references nothing outside itself, and a model whose tensor and node names are HTML
#      (<img onerror>, <script>) yields text, not elements;
#   2. the sort script: clicking the α header sorts the layer table by α, twice reverses it;
#   3. a screenshot (1280x2000) of the plots: each plot area, located from the DOM, holds
#      non-white pixels, the histogram's blue, and the power law's red (log-log) or the
#      Marchenko–Pastur orange (linear); the PNG is decoded with python3's zlib.
# Without chromium the test is skipped, except in CI (CI=true), where it fails.
set -euo pipefail
WL=${WL:-build/weightlint}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
    if [ "${CI:-}" = true ]; then
        echo "chromium is not installed (ci/install-deps.sh installs it)" >&2
        exit 1
    fi
    echo "SKIPPED: chromium is not installed (apt-get install chromium)"
    exit 0
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

browse() { # browse OUT_FLAG FILE: one headless run with its own throw-away profile
    local profile
    profile=$(mktemp -d "$tmp/profile.XXXXXX")
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --hide-scrollbars --window-size=1280,2000 "$1" "file://$2" 2>/dev/null
}

# A model whose names are markup: the page must show them as text.
python3 - "$tmp/nasty.onnx" <<'EOF'
import struct, sys
def varint(v):
    out = b''
    while True:
        b = v & 0x7f; v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v: return out
def field(num, wire, payload):
    key = varint(num << 3 | wire)
    return key + (varint(payload) if wire == 0 else varint(len(payload)) + payload)
s = lambda x: x.encode()
name = s('<img src=x onerror=alert(1)>w&"\'</td>')
rows, cols, state = 48, 24, 12345
vals = []
for i in range(rows * cols):   # deterministic LCG weights in [-1, 1)
    state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
    vals.append((state >> 11) / 2**53 * 2 - 1)
tensor = (field(1, 0, rows) + field(1, 0, cols) + field(2, 0, 1) + field(8, 2, name) +
          field(9, 2, struct.pack('<%df' % len(vals), *vals)))
node = (field(1, 2, s('x')) + field(1, 2, name) + field(2, 2, s('y')) +
        field(3, 2, s('<script>alert(2)</script>')) + field(4, 2, s('MatMul')))
graph = field(1, 2, node) + field(2, 2, s('g')) + field(5, 2, tensor)
model = (field(1, 0, 8) + field(2, 2, s('<b>producer</b>')) + field(7, 2, graph) +
         field(8, 2, field(2, 0, 13)))
open(sys.argv[1], 'wb').write(model)
EOF

"$WL" report tests/conformance/models/heavy.onnx --randomize -o "$tmp/heavy.html"
"$WL" report examples/fashion_mlp_trained.onnx --compare examples/fashion_mlp_random.onnx \
    -o "$tmp/compare.html"
"$WL" report "$tmp/nasty.onnx" -o "$tmp/nasty.html"

# The heavy report is opened as probe.html, a copy with a test script appended: it shows only
# the plots (so that they fall inside the 2000-pixel screenshot), clicks the α header once and
# twice, and records the row orders and where each plot area is on the page. The four browser
# runs go in parallel, each with its own profile.
python3 - "$tmp/heavy.html" "$tmp/probe.html" <<'EOF'
import sys
page = open(sys.argv[1], encoding='utf-8').read()
probe = r'''<style>main>*:not(#layer-plots){display:none!important}</style>
<script>
(function(){
  var t = document.getElementById('layer-table'), th = t.tHead.rows[0].cells;
  var col = -1;
  for (var i = 0; i < th.length; i++) if (th[i].textContent.trim().indexOf('\u03b1') === 0 &&
      th[i].textContent.trim().length <= 3) { col = i; break; }
  function order() { return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
      return r.cells[col].getAttribute('data-v'); }).join(','); }
  th[col].click(); var up = order(); th[col].click(); var down = order();
  var rects = Array.prototype.map.call(document.querySelectorAll('svg.esd-plot'), function (s) {
      var a = s.querySelector('svg.plot-area').getBoundingClientRect();
      return (s.classList.contains('esd-loglog') ? 'loglog' : 'linear') + ':' +
          [a.left, a.top, a.right, a.bottom].map(Math.round).join(':'); });
  var out = document.createElement('pre'); out.id = 'probe';
  out.textContent = 'UP=' + up + '\nDOWN=' + down + '\nRECTS=' + rects.join(' ');
  document.body.appendChild(out);
})();
</script>'''
open(sys.argv[2], 'w', encoding='utf-8').write(page.replace('</body>', probe + '</body>'))
EOF
pids=()
for f in compare nasty probe; do
    browse --dump-dom "$tmp/$f.html" >"$tmp/$f.dom" &
    pids+=($!)
done
browse --screenshot="$tmp/shot.png" "$tmp/probe.html" >/dev/null &
pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
for f in compare nasty probe; do
    [ -s "$tmp/$f.dom" ] || { echo "$f: chromium produced no DOM" >&2; exit 1; }
done
[ -s "$tmp/shot.png" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }

# --- 1. the DOM after load --------------------------------------------------------------------
python3 - "$tmp" <<'EOF'
import re, sys
d = sys.argv[1]
def dom(n): return open(f'{d}/{n}.dom', encoding='utf-8').read()
def html(n): return open(f'{d}/{"heavy" if n == "probe" else n}.html', encoding='utf-8').read()
def expect(cond, what):
    if not cond:
        sys.exit('FAIL: ' + what)
def count(s, pat): return len(re.findall(pat, s))
for n, layers, plots in (('probe', 6, 12), ('compare', 3, 12), ('nasty', 1, 2)):
    s = dom(n)
    expect(count(s, r'<svg[^>]*class="esd-plot') == plots, f'{n}: {plots} ESD plots')
    expect(count(s, r'<svg[^>]*class="depth-chart"') == 2, f'{n}: the alpha and alpha-hat charts')
    table = s[s.index('id="layer-table"'):]
    table = table[:table.index('</table>')]
    expect(count(table, r'<tr class="sev-') == layers, f'{n}: {layers} rows in the layer table')
    expect(count(s, r'<section class="card layer') == layers, f'{n}: {layers} layer sections')
    # self-contained: no URL to fetch, and a CSP that forbids fetching anyway
    src = html(n)
    expect(not re.search(r'(src|href)="(?!#)', src), f'{n}: a reference outside the page')
    expect("default-src 'none'" in src, f'{n}: the Content-Security-Policy')
    expect(count(src, r'<script') == 1, f'{n}: one inline script')
h = dom('probe')
for code in ('WL103', 'WL104', 'WL105', 'WL202'):
    expect(f'id="rule-{code}"' in h, f'heavy: the explanation of {code}')
expect(count(h, r'class="rand-esd"') == 12, 'heavy: the shuffled ESD on every plot')
expect(count(h, r'class="fit"') == 6 and count(h, r'class="mp"') == 6, 'heavy: fits drawn')
c = dom('compare')
expect(count(c, r'<div class="side">base</div>') == 3, 'compare: base beside candidate')
expect('compared with base' in c and 'fashion_mlp_random.onnx' in c, 'compare: the base named')
x = dom('nasty')
expect(count(x, r'<img') == 0, 'nasty: a tensor name became an <img> element')
expect(count(x, r'<script') == 1, 'nasty: a node name became a <script> element')
expect(count(x, r'<b>producer') == 0, 'nasty: the producer name became markup')
expect('&lt;img src=x onerror=alert(1)&gt;w&amp;"\'&lt;/td&gt;' in x, 'nasty: the name shown as text')
EOF

# --- 2 + 3. the sort script and the screenshot of the plots ---------------------------------
python3 - "$tmp/probe.dom" "$tmp/shot.png" <<'EOF'
import re, struct, sys, zlib
dom = open(sys.argv[1], encoding='utf-8').read()
m = re.search(r'<pre id="probe">UP=(.*)\nDOWN=(.*)\nRECTS=(.*)</pre>', dom)
if not m:
    sys.exit('FAIL: the probe script did not run')
up = [float(v) for v in m.group(1).split(',')]
down = [float(v) for v in m.group(2).split(',')]
if up != sorted(up) or down != sorted(up, reverse=True) or len(up) != 6:
    sys.exit(f'FAIL: sorting by alpha: {up} then {down}')

def read_png(path):
    """8-bit RGB/RGBA, non-interlaced (what Chromium writes): rows of bytes."""
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat = 8, b''
    while pos < len(data):
        ln, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        pos += 12 + ln
        if typ == b'IHDR':
            w, h, depth, ctype, _, _, inter = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and inter == 0 and ctype in (2, 6), (depth, ctype, inter)
            bpp = 3 if ctype == 2 else 4
        elif typ == b'IDAT':
            idat += body
        elif typ == b'IEND':
            break
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ft, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if ft == 1:
            for x in range(bpp, stride): line[x] = (line[x] + line[x - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for x in range(stride):
                line[x] = (line[x] + ((line[x - bpp] if x >= bpp else 0) + prev[x]) // 2) & 255
        elif ft == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows

w, h, bpp, rows = read_png(sys.argv[2])
def near(px, rgb, tol=40): return all(abs(a - b) <= tol for a, b in zip(px, rgb))
ESD = (0x4c, 0x78, 0xa8)     # the histogram's stroke (its fill is this at 55 %)
ESD_FILL = (148, 176, 206)
FIT, MP = (0xd6, 0x27, 0x28), (0xff, 0x7f, 0x0e)
checked = 0
for r in m.group(3).split():
    kind, l, t, rr, b = r.split(':')
    l, t, rr, b = int(l), int(t), int(rr), int(b)
    if b > h or rr > w:
        continue  # below the screenshot
    total = ink = blue = curve = 0
    for y in range(t + 2, b - 2, 2):  # every other pixel each way is plenty, and 4x faster
        row = rows[y]
        for x in range(l + 2, rr - 2, 2):
            px = row[x * bpp:x * bpp + 3]
            total += 1
            if min(px) < 235:
                ink += 1
            if near(px, ESD) or near(px, ESD_FILL, 25):
                blue += 1
            if near(px, FIT if kind == 'loglog' else MP, 60):
                curve += 1
    if total == 0 or ink < 0.05 * total or blue < 0.02 * total or curve < 5:
        sys.exit(f'FAIL: {kind} plot at {r}: {ink}/{total} inked, {blue} histogram, '
                 f'{curve} fit pixels')
    checked += 1
if checked < 4:
    sys.exit(f'FAIL: only {checked} plots inside the screenshot')
print(f'{checked} plots rendered; sorting works; names escaped')
EOF
