// ort_matrix.js - recovers the matrix onnxruntime actually multiplies (issue #10, item 4).
//
// Usage: node ort_matrix.js ENCODING_DIR...   (NODE_PATH must reach onnxruntime-node; run.sh
//                                             sets it to the cache of get-onnxruntime.sh)
//
// Each ENCODING_DIR holds a manifest.json written by tests/gen/lowbit_models.py. For every
// probe (a one-node model: the op that consumes a weight, fed an identity matrix, or the
// weight's DequantizeLinear itself) this runs onnxruntime's CPU provider and writes the float32
// output, widened to float64 (exact), as raw little-endian doubles to the probe's "out" file,
// with its dims in "<out>.json". A probe that onnxruntime rejects is recorded in
// "<out>.error" and the run goes on: the checker reports that encoding as failed.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TYPES = {
  float32: ['float32', (b) => new Float32Array(b.buffer, b.byteOffset, b.length / 4)],
  float16: ['float16', (b) => new Uint16Array(b.buffer, b.byteOffset, b.length / 2)],
  uint8: ['uint8', (b) => new Uint8Array(b.buffer, b.byteOffset, b.length)],
  int8: ['int8', (b) => new Int8Array(b.buffer, b.byteOffset, b.length)],
  int32: ['int32', (b) => new Int32Array(b.buffer, b.byteOffset, b.length / 4)],
  int64: ['int64', (b) => new BigInt64Array(b.buffer, b.byteOffset, b.length / 8)],
};

function readInput(dir, inp) {
  const t = TYPES[inp.type];
  if (!t) throw new Error(`input ${inp.name}: unsupported type ${inp.type}`);
  const raw = fs.readFileSync(path.join(dir, inp.file));
  const b = Buffer.alloc(raw.length); // aligned copy for the typed-array view
  raw.copy(b);
  return new ort.Tensor(t[0], t[1](b), inp.dims);
}

async function runProbe(dir, p) {
  const out = path.join(dir, p.out);
  for (const f of [out, out + '.json', out + '.error']) fs.rmSync(f, { force: true });
  try {
    // One intra-op thread and no graph optimisation: the probe's single node runs as written.
    const sess = await ort.InferenceSession.create(path.join(dir, p.model), {
      executionProviders: ['cpu'], graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1, interOpNumThreads: 1,
    });
    const feeds = {};
    for (const inp of p.inputs) feeds[inp.name] = readInput(dir, inp);
    const res = await sess.run(feeds);
    const y = res[p.output];
    if (!y || y.type !== 'float32') throw new Error(`output ${p.output}: ${y ? y.type : 'missing'}`);
    const d = new Float64Array(y.data.length);
    for (let i = 0; i < d.length; i++) d[i] = y.data[i];
    fs.writeFileSync(out, Buffer.from(d.buffer));
    fs.writeFileSync(out + '.json', JSON.stringify({ dims: y.dims }));
    if (sess.release) await sess.release();
    return null;
  } catch (e) {
    const msg = String(e && e.message ? e.message : e).split('\n')[0];
    fs.writeFileSync(out + '.error', msg + '\n');
    return msg;
  }
}

async function main() {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error('usage: node ort_matrix.js ENCODING_DIR...');
    process.exit(2);
  }
  let failed = 0;
  for (const dir of dirs) {
    const man = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    for (const p of man.probes) {
      const err = await runProbe(dir, p);
      if (err) {
        failed++;
        console.error(`ort_matrix: ${man.encoding}/${p.model}: onnxruntime: ${err}`);
      }
    }
  }
  console.error(`ort_matrix: onnxruntime ${ort.env.versions.node}, ${dirs.length} encodings, ` +
                `${failed} probes rejected`);
}

main().catch((e) => { console.error('ort_matrix:', e); process.exit(1); });
