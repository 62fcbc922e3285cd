// Experiment (int8 compute on WASM, beside bench/experiments/int8-wasm.py which builds the graphs and
// measures their quality): one decode step of the base (64 cached tokens) on onnxruntime-web's WASM
// build under Node (the browser's WebAssembly kernels, SIMD on), fp32 against the two int8 MatMulInteger
// variants, median of interleaved rounds so machine load hits them alike. Merges the speed into
// bench/results/int8-wasm.json beside the quality; the rule for adopting int8 on WASM is at least 1.5x
// faster per token at 95% or more top-1 agreement with fp32.
//   node bench/experiments/int8-wasm.mjs [threads] [rounds]
import * as ort from 'onnxruntime-web/wasm';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const threads = Number(process.argv[2] ?? 1);
const rounds = Number(process.argv[3] ?? 12);
ort.env.wasm.numThreads = threads;
const L = 30, KV = 3, HD = 64, P = 64;
const paths = {
  fp32: 'models-node/smollm2-135m-instruct/onnx/model.onnx',
  'int8-all': '.cache/int8/all.onnx',
  'int8-down-fp32': '.cache/int8/down-fp32.onnx',
};
function feeds() {
  const f = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(1).fill(42n), [1, 1]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(P + 1).fill(1n), [1, P + 1]),
    position_ids: new ort.Tensor('int64', new BigInt64Array(1).fill(BigInt(P)), [1, 1]),
  };
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value'])
    f[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(KV * P * HD).map(() => Math.random() - 0.5), [1, KV, P, HD]);
  return f;
}
const names = Object.keys(paths);
const sessions = {};
for (const k of names) sessions[k] = await ort.InferenceSession.create(readFileSync(paths[k]), { executionProviders: ['wasm'] });
const f = feeds();
const times = Object.fromEntries(names.map((k) => [k, []]));
for (let r = -2; r < rounds; r++) {
  for (const k of names) {
    const t = performance.now();
    const out = await sessions[k].run(f);
    if (r >= 0) times[k].push(performance.now() - t);
    for (const v of Object.values(out)) v.dispose?.();
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const ms = Object.fromEntries(names.map((k) => [k, +med(times[k]).toFixed(2)]));
const file = 'bench/results/int8-wasm.json';
const result = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { name: 'int8-wasm' };
const quality = JSON.parse(readFileSync('bench/results/int8-wasm-quality.json', 'utf8'));
result.quality = quality;
result.speed ??= {};
result.speed[`wasm_x${threads}`] = {
  date: new Date().toISOString(), rounds, past_tokens: P, ms_per_step: ms,
  speedup_over_fp32: Object.fromEntries(names.map((k) => [k, +(ms.fp32 / ms[k]).toFixed(3)])),
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, load: os.loadavg() },
};
result.rule = 'adopt int8 on WASM only if >= 1.5x faster per token at >= 95% top-1 agreement with fp32';
result.adopt = Object.fromEntries(names.filter((k) => k !== 'fp32').map((k) => [k,
  Object.values(result.speed).every((s) => s.speedup_over_fp32[k] >= 1.5)
    && quality.variants[k.replace('int8-', '')].top1_agreement_with_fp32 >= 0.95]));
writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
console.log(`threads ${threads}:`, JSON.stringify(ms), JSON.stringify(result.speed[`wasm_x${threads}`].speedup_over_fp32));
