// The GGUF blocks rebuild the fp32 graph's weights exactly (src/engine/gguf-expand.ts).
//
// 1. Synthetic, no files: the block layouts (Q4_1 nibble order, Q8_0 signed bytes, F32 bits),
//    f16 decoding and the ops (rope_unpermute, transpose, both) against a naive reference
//    written from numpy's definitions (reshape/swapaxes), and the layout checks.
// 2. The real SmolLM2 GGUF (.cache/gguf, extracted by `npm run models`): the expansion equals,
//    byte for byte, the external data that training/genarm/transport.py writes from the inline
//    fp32 graph (and checks against gguf-py's dequantization); and the weightless graph with
//    that buffer as onnxruntime `externalData` gives the fp32 graph's logits and greedy tokens.
//    The transport files live in .cache/transport/ (git-ignored); this file makes them with
//    `python -m genarm.transport` when they are absent or derived from another fp32 graph.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import {
  expandGguf, expandWithIndex, externalDataOption, halfToFloat, indexGguf, parseLayout,
  type GgufTensor, type LayoutTensor, type RecipeOp, type SourceType, type TransportLayout,
} from '../gguf-expand';
import { CausalLM, lastLogits, type ForwardResult } from '../causal-lm';
import { emptyCache } from '../kv-cache';
import { plainRunner, type OrtRuntime } from '../ort';
import type { ModelEntry } from '../types';
import { MODELS_DIR, manifest, requireModels } from './helpers';

// ---------------------------------------------------------------- synthetic

/** f16 from its fields, by the IEEE formula (independent of the module's bit table). */
function halfRef(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** xorshift32: the synthetic tensors are the same on every run */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** A finite f16 scale of moderate size (exponent 5..20, either sign), as its bits. */
const halfBits = (r: () => number) => ((r() & 1) << 15) | ((5 + (r() % 16)) << 10) | (r() & 0x3ff);

interface Synthetic { bytes: Uint8Array; values: Float32Array }

/** rows x cols of `type` blocks (random), with the float32 values a reader of the format must get. */
function synth(type: SourceType, rows: number, cols: number, seed: number): Synthetic {
  const r = rng(seed);
  const values = new Float32Array(rows * cols);
  const f = new Float32Array(1);
  if (type === 'F32') {
    const bytes = new Uint8Array(rows * cols * 4);
    const u = new Uint32Array(values.buffer);
    for (let i = 0; i < u.length; i++) u[i] = r(); // any bits, NaN payloads included
    bytes.set(new Uint8Array(values.buffer));
    return { bytes, values };
  }
  const bb = type === 'Q4_1' ? 20 : 34;
  const bytes = new Uint8Array((rows * cols / 32) * bb);
  for (let b = 0; b < rows * cols / 32; b++) {
    const o = b * bb;
    const d = halfBits(r);
    bytes[o] = d & 0xff; bytes[o + 1] = d >> 8;
    if (type === 'Q4_1') {
      const m = halfBits(r);
      bytes[o + 2] = m & 0xff; bytes[o + 3] = m >> 8;
      for (let j = 0; j < 16; j++) bytes[o + 4 + j] = r() & 0xff;
      // ggml block_q4_1: element j < 16 is the low nibble of qs[j], element j + 16 its high nibble
      for (let k = 0; k < 32; k++) {
        const q = k < 16 ? bytes[o + 4 + k] & 15 : bytes[o + 4 + k - 16] >> 4;
        f[0] = halfRef(d) * q; // float32 product, then float32 sum (numpy: d * qs + m)
        f[0] = f[0] + halfRef(m);
        values[b * 32 + k] = f[0];
      }
    } else {
      for (let k = 0; k < 32; k++) {
        bytes[o + 2 + k] = r() & 0xff;
        const q = bytes[o + 2 + k] >= 128 ? bytes[o + 2 + k] - 256 : bytes[o + 2 + k];
        f[0] = q * halfRef(d);
        values[b * 32 + k] = f[0];
      }
    }
  }
  return { bytes, values };
}

// The references move float32 bit patterns (Uint32Array): a NaN read into a JS number may come
// back quieted, and F32 sources must survive bit for bit.
/** numpy: w.reshape(h, dim, 2, C).swapaxes(2, 1).reshape(R, C), as nested loops over the result. */
function ropeRef(w: Uint32Array, R: number, C: number, heads: number): Uint32Array {
  const dim = R / heads / 2;
  const out = new Uint32Array(w.length);
  for (let h = 0; h < heads; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < dim; i++) for (let c = 0; c < C; c++) {
    out[((h * 2 + j) * dim + i) * C + c] = w[((h * dim + i) * 2 + j) * C + c];
  }
  return out;
}
function transposeRef(w: Uint32Array, R: number, C: number): Uint32Array {
  const out = new Uint32Array(w.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = w[r * C + c];
  return out;
}
function applyRef(w: Uint32Array, shape: [number, number], ops: RecipeOp[]): Uint32Array {
  let [R, C] = shape;
  for (const op of ops) {
    if (op.op === 'transpose') { w = transposeRef(w, R, C); [R, C] = [C, R]; } else if (op.op === 'rope_unpermute') w = ropeRef(w, R, C, op.heads);
  }
  return w;
}
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('gguf-expand: block formats, ops and layout checks (synthetic)', () => {
  it('decodes every float16 exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const want = halfRef(h);
      const got = halfToFloat(h);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else expect(Object.is(got, want)).toBe(true); // -0 stays -0
    }
  });

  // 132 rows: more than one 64-row tile and not a multiple of it, and 6 heads x 2 halves x 11
  // (rope_unpermute needs rows % 2h == 0); 96 columns: 3 blocks per row
  const R = 132, C = 96;
  const cases: { type: SourceType; ops: RecipeOp[]; seed: number }[] = [];
  for (const type of ['Q4_1', 'Q8_0', 'F32'] as SourceType[]) {
    for (const ops of [[], [{ op: 'transpose' }], [{ op: 'rope_unpermute', heads: 6 }],
      [{ op: 'rope_unpermute', heads: 6 }, { op: 'transpose' }], [{ op: 'transpose' }, { op: 'rope_unpermute', heads: 3 }]] as RecipeOp[][]) {
      cases.push({ type, ops, seed: 7 + cases.length });
    }
  }
  it.each(cases)('$type with ops $ops: bit-exact against the naive reference', ({ type, ops, seed }) => {
    const s = synth(type, R, C, seed);
    const pad = 40; // the tensor's blocks start mid-file, as in a GGUF
    const file = new Uint8Array(pad + s.bytes.length);
    file.set(s.bytes, pad);
    const index = new Map<string, GgufTensor>([['w', { name: 'w', type, shape: [R, C], offset: pad, bytes: s.bytes.length }]]);
    const shape = ops.filter((o) => o.op === 'transpose').length % 2 ? [C, R] : [R, C];
    const e: LayoutTensor = { name: 'init', offset: 64, length: R * C * 4, shape, dtype: 'float32', source: 'w', source_type: type, source_shape: [R, C], ops };
    const layout = parseLayout(synthLayout([e], 64 + R * C * 4));
    const data = expandWithIndex(file, index, layout);
    expect(data.subarray(0, 64).every((b) => b === 0)).toBe(true);
    const got = new Uint32Array(data.buffer, data.byteOffset + 64, R * C);
    const want = applyRef(bits(s.values), [R, C], ops);
    let mismatches = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('refuses a source whose type or shape is not the layout\'s', () => {
    const s = synth('Q4_1', 4, 32, 3);
    const index = new Map<string, GgufTensor>([['w', { name: 'w', type: 'Q4_1', shape: [4, 32], offset: 0, bytes: s.bytes.length }]]);
    const e: LayoutTensor = { name: 'x', offset: 0, length: 512, shape: [4, 32], dtype: 'float32', source: 'w', source_type: 'Q8_0', source_shape: [4, 32], ops: [] };
    expect(() => expandWithIndex(s.bytes, index, parseLayout(synthLayout([e], 512)))).toThrow(/is Q4_1 \[4,32\] in the GGUF, the layout says Q8_0/);
    expect(() => expandWithIndex(s.bytes, index, parseLayout(synthLayout([{ ...e, source: 'nope' }], 512)))).toThrow(/no tensor nope/);
  });

  it('rejects malformed layouts', () => {
    const e: LayoutTensor = { name: 'x', offset: 0, length: 512, shape: [32, 4], dtype: 'float32', source: 'w', source_type: 'Q4_1', source_shape: [4, 32], ops: [{ op: 'transpose' }] };
    expect(() => parseLayout(synthLayout([e], 512))).not.toThrow();
    expect(() => parseLayout({ ...synthLayout([e], 512), version: 2 })).toThrow(/version 1/);
    expect(() => parseLayout(synthLayout([{ ...e, ops: [] }], 512))).toThrow(/turn \[4,32\] into \[4,32\], not \[32,4\]/);
    expect(() => parseLayout(synthLayout([{ ...e, ops: [{ op: 'flip' } as unknown as RecipeOp] }], 512))).toThrow(/unknown op/);
    expect(() => parseLayout(synthLayout([e, { ...e, name: 'y', offset: 256 }], 1024))).toThrow(/overlap/);
    expect(() => parseLayout(synthLayout([{ ...e, offset: 2 }], 1024))).toThrow(/4-byte aligned/);
    expect(() => parseLayout(synthLayout([e], 256))).toThrow(/past external_data.bytes/);
    expect(() => parseLayout(synthLayout([{ ...e, source_shape: [3, 32], shape: [32, 3], length: 384, ops: [{ op: 'rope_unpermute', heads: 2 }, { op: 'transpose' }] }], 512))).toThrow(/heads x 2 halves/);
  });
});

function synthLayout(tensors: LayoutTensor[], bytes: number): Record<string, unknown> {
  const ref = { file: 'x', bytes: 0, sha256: '' };
  return { format: 'genarm-gguf-transport', version: 1, gguf: ref, source_graph: ref, graph: ref,
    external_data: { path: 'model.onnx_data', bytes, sha256: '', alignment: 64 }, inline: { initializers: 0, bytes: 0 }, tensors };
}

// ---------------------------------------------------------------- the real SmolLM2 GGUF

const GGUF = '.cache/gguf/SmolLM2-135M-Instruct.Q4_1.gguf';
const TRANSPORT_DIR = process.env.GENARM_TRANSPORT_DIR ?? '.cache/transport/smollm2-135m-instruct';
const PYTHON = '.venv/bin/python';
const m = manifest();
const baseId = m?.suites.smollm2?.base;
const baseEntry: ModelEntry | undefined = baseId ? m!.models[baseId] : undefined;
const fp32 = baseEntry?.variants.fp32;
const fp32Path = fp32 ? join(MODELS_DIR, fp32.path) : '';
const layoutPath = join(TRANSPORT_DIR, 'model.layout.json');
const why = !existsSync(GGUF) ? `${GGUF} is absent (npm run models extracts it)`
  : !fp32 ? `no smollm2 base with an fp32 variant in ${MODELS_DIR}/manifest.json`
  : !existsSync(fp32Path) ? `${fp32Path} is absent`
  : '';
requireModels('GGUF expansion on SmolLM2', why);

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The transport files for the current fp32 graph: made by transport.py unless already current. */
async function ensureTransport(): Promise<TransportLayout> {
  const graphSha = await sha256File(fp32Path);
  if (existsSync(layoutPath)) {
    const old = parseLayout(JSON.parse(readFileSync(layoutPath, 'utf8')));
    const current = old.source_graph.sha256 === graphSha && old.gguf.bytes === statSync(GGUF).size;
    if (current && existsSync(join(TRANSPORT_DIR, old.external_data.path))) return old;
  }
  if (!existsSync(PYTHON)) throw new Error(`${layoutPath} is absent or stale and ${PYTHON} is missing (bash scripts/python-env.sh)`);
  const r = spawnSync(resolve(PYTHON), ['-m', 'genarm.transport', '--graph', resolve(fp32Path), '--gguf', resolve(GGUF), '--out', resolve(TRANSPORT_DIR)],
    { cwd: 'training', encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`python -m genarm.transport failed (${r.status}): ${r.stderr || r.error}`);
  return parseLayout(JSON.parse(readFileSync(layoutPath, 'utf8')));
}

const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe.skipIf(!!why)('gguf-expand on the SmolLM2 GGUF', () => {
  let layout: TransportLayout;
  let data: Uint8Array;
  beforeAll(async () => {
    layout = await ensureTransport();
    const gg = readFileSync(GGUF);
    const t0 = performance.now();
    data = await expandGguf(new Uint8Array(gg.buffer, gg.byteOffset, gg.byteLength), layout);
    console.log(`[gguf-expand] ${layout.tensors.length} tensors, ${data.length} bytes in ${(performance.now() - t0).toFixed(0)} ms`);
  }, 900_000);
  afterAll(() => { data = new Uint8Array(0); });

  it('indexes every tensor the layout names with the recipe\'s type and shape', async () => {
    const index = await indexGguf(readFileSync(GGUF));
    for (const e of layout.tensors) {
      expect(index.get(e.source)?.type).toBe(e.source_type);
      expect(index.get(e.source)?.shape).toEqual(e.source_shape);
    }
    // every GGUF tensor feeds the graph; the tied embedding feeds two initializers (Gather, lm head)
    expect(new Set(layout.tensors.map((e) => e.source)).size).toBe(index.size);
    expect(layout.tensors.filter((e) => e.source === 'token_embd.weight').map((e) => e.ops.length).sort()).toEqual([0, 1]);
  });

  it('expanded bytes equal transport.py\'s external data file', async () => {
    const got = createHash('sha256').update(data).digest('hex');
    expect(data.length).toBe(layout.external_data.bytes);
    expect(got).toBe(await sha256File(join(TRANSPORT_DIR, layout.external_data.path)));
    expect(got).toBe(layout.external_data.sha256);
  });

  it('the weightless graph is small and names the external data file', () => {
    const graph = readFileSync(join(TRANSPORT_DIR, layout.graph.file));
    expect(graph.length).toBe(layout.graph.bytes);
    expect(graph.length).toBeLessThan(fp32!.bytes / 100);
    expect(graph.includes(Buffer.from(layout.external_data.path))).toBe(true);
  });

  // last: it zeroes `data` at its end
  it('weightless graph + externalData: the fp32 graph\'s logits (1e-5) and greedy tokens', async () => {
    const threads = availableParallelism();
    const opts: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    };
    const rt = ort as unknown as OrtRuntime;
    const ref = await ort.InferenceSession.create(fp32Path, opts);
    const light = await ort.InferenceSession.create(readFileSync(join(TRANSPORT_DIR, layout.graph.file)),
      { ...opts, externalData: externalDataOption(layout, data) });
    const lms = [ref, light].map((s) => new CausalLM(rt, s as unknown as InferenceSession, baseEntry!, plainRunner));
    // two golden-vector prompts (training/golden/smollm2.json): chat-rendered evaluation prompts
    // outside the training data, their ids already fixed
    const golden = JSON.parse(readFileSync('training/golden/smollm2.json', 'utf8')) as { cases: { prompt: string; prompt_ids: number[] }[] };
    const prompts = [...new Map(golden.cases.map((c) => [c.prompt, c.prompt_ids])).values()].slice(0, 2);
    let worst = 0;
    try {
      for (const ids of prompts) {
        let [a, b] = await Promise.all(lms.map((lm) => lm.forward([ids], emptyCache(rt, baseEntry!.arch), 'all'))) as [ForwardResult, ForwardResult];
        worst = Math.max(worst, maxAbsDiff(a.logits!, b.logits!)); // every prompt position
        const ta: number[] = [], tb: number[] = [];
        for (let step = 0; step < 8; step++) {
          ta.push(argmax(lastLogits(a)));
          tb.push(argmax(lastLogits(b)));
          [a, b] = [await lms[0].forward([[ta[step]]], a.present), await lms[1].forward([[tb[step]]], b.present)];
          worst = Math.max(worst, maxAbsDiff(a.logits!, b.logits!));
        }
        expect(tb).toEqual(ta);
      }
      console.log(`[gguf-expand] max |logit diff| vs the fp32 graph: ${worst} over ${prompts.length} prompts + 8 greedy steps each`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      // onnxruntime-node copies the external data at create: the caller may drop (here: zero)
      // its 651 MB buffer once the session exists, and the logits do not move
      const before = await lms[1].forward([prompts[0]], emptyCache(rt, baseEntry!.arch));
      data.fill(0);
      const after = await lms[1].forward([prompts[0]], emptyCache(rt, baseEntry!.arch));
      expect(maxAbsDiff(before.logits!, after.logits!)).toBe(0);
    } finally {
      await ref.release();
      await light.release();
    }
  }, 600_000);
});

// ARMs and trajectory RMs travel as the base's GGUF plus their LoRA adapter: the layout's `lora`
// ops merge the adapter while the blocks are expanded (addLora: transport.lora_merge's float64
// arithmetic). The bytes must be the merged fp32 graph's, which build.py verified against the
// graph itself and wrote to .cache/transport/<id>/ as the reference.
const merged = m ? Object.values(m.models).filter((e) => e.transport?.adapter) : [];
for (const suite of ['tiny', 'smollm2'] as const) {
  const entries = merged.filter((e) => (suite === 'tiny') === !!e.tiny);
  const mwhy = !m ? `no ${MODELS_DIR}/manifest.json` : !m.suites[suite] ? `no ${suite} suite in the manifest`
    : entries.length === 0 ? `no ${suite} ARM or RM with a transport in the manifest (npm run models)`
    : entries.map((e) => join('.cache/transport', e.id, 'model.onnx_data')).find((p) => !existsSync(p)) ?? '';
  requireModels(`merged-LoRA expansion on the ${suite} suite`, mwhy ? `${mwhy}${mwhy.startsWith('.cache') ? ' is absent (npm run models writes it)' : ''}` : '');
  describe.skipIf(!!mwhy)(`gguf-expand: ${suite} ARMs and RMs as GGUF + adapter`, () => {
    it.each(entries.map((e) => [e.id, e] as const))('%s: expanded bytes equal the merged graph\'s external data', async (_id, e) => {
      const t = e.transport!;
      const layout = parseLayout(JSON.parse(readFileSync(join(MODELS_DIR, t.layout.path), 'utf8')));
      expect(layout.adapter?.sha256).toBe(t.adapter!.sha256);
      const loras = layout.tensors.filter((x) => x.ops.some((o) => o.op === 'lora'));
      // every target projection of every layer the adapter trains carries a lora op
      expect(loras.length).toBeGreaterThan(0);
      const gg = readFileSync(join(MODELS_DIR, t.gguf.path));
      const adapter = new Uint8Array(readFileSync(join(MODELS_DIR, t.adapter!.path)));
      const t0 = performance.now();
      const data = await expandGguf(new Uint8Array(gg.buffer, gg.byteOffset, gg.byteLength), layout, { adapter });
      const ms = performance.now() - t0;
      const got = createHash('sha256').update(data).digest('hex');
      console.log(`[gguf-expand] ${e.id}: ${loras.length} merged projections, ${data.length} B in ${ms.toFixed(0)} ms`);
      expect(got).toBe(layout.external_data.sha256);
      expect(got).toBe(await sha256File(join('.cache/transport', e.id, layout.external_data.path)));
      // without the adapter the merge cannot happen: refused, not silently the base
      await expect(expandGguf(new Uint8Array(gg.buffer, gg.byteOffset, gg.byteLength), layout)).rejects.toThrow(/merges adapter_model\.safetensors/);
    }, 300_000);
  });
}
