// Experiment (the fused path, src/engine/fused.ts): onnxruntime-web's WASM backend under Node, one decode step
// (64 cached tokens), median of interleaved rounds: the base graph (1 row), the fused
// graph with adapters as inputs (1 and 3 rows) and with adapters as initializers (3 rows;
// bench/experiments/mk-fused-init.py). Inputs are copied into the WASM heap at every run;
// initializers are not. Writes bench/results/fused-inputs-vs-initializers.json.
//   node bench/experiments/fused-inputs-vs-initializers.mjs [rounds]
import * as ort from 'onnxruntime-web/wasm';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

ort.env.wasm.numThreads = 1;
const L = 30, KV = 3, HD = 64, P = 64;
const rounds = Number(process.argv[2] ?? 12);
const paths = {
  base: 'models-node/smollm2-135m-instruct/onnx/model.onnx',
  inputs: 'models-node/smollm2-fused/onnx/model.onnx',
  initializers: '.cache/fused_init.onnx',
};
function feeds(s, R) {
  const f = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(R).fill(42n), [R, 1]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(R * (P + 1)).fill(1n), [R, P + 1]),
    position_ids: new ort.Tensor('int64', new BigInt64Array(R).fill(BigInt(P)), [R, 1]),
  };
  for (let i = 0; i < L; i++) for (const kv of ['key', 'value'])
    f[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(R * KV * P * HD).map(() => Math.random() - 0.5), [R, KV, P, HD]);
  for (const m of s.inputMetadata ?? []) {
    if (!m.name.startsWith('lora.')) continue;
    const shape = m.shape.map((d) => (typeof d === 'number' ? d : R));
    f[m.name] = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (Math.random() - 0.5) * 0.02), shape);
  }
  return f;
}
const cases = [['base', 1], ['inputs', 1], ['inputs', 3], ['initializers', 3]];
const sessions = {};
for (const [k] of cases) sessions[k] ??= await ort.InferenceSession.create(readFileSync(paths[k]), { executionProviders: ['wasm'] });
const fs = cases.map(([k, R]) => feeds(sessions[k], R));
const times = cases.map(() => []);
for (let r = -2; r < rounds; r++) {
  for (const [i, [k]] of cases.entries()) {
    const t = performance.now();
    const out = await sessions[k].run(fs[i]);
    if (r >= 0) times[i].push(performance.now() - t);
    for (const v of Object.values(out)) v.dispose?.();
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = med(times[0]);
const result = {
  name: 'fused-inputs-vs-initializers', date: new Date().toISOString(), rounds, threads: 1, past_tokens: P,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, load: os.loadavg() },
  ms: Object.fromEntries(cases.map(([k, R], i) => [`${k}-R${R}`, +med(times[i]).toFixed(2)])),
  ratio_to_base: Object.fromEntries(cases.map(([k, R], i) => [`${k}-R${R}`, +(med(times[i]) / base).toFixed(3)])),
};
writeFileSync('bench/results/fused-inputs-vs-initializers.json', JSON.stringify(result, null, 1) + '\n');
console.log(JSON.stringify(result.ms), JSON.stringify(result.ratio_to_base));
