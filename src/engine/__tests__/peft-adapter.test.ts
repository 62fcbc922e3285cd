// PEFT adapters in the engine: every reason read_peft (training/genarm/peft_adapter.py) refuses a
// folder is refused here with the same reason, and a real ARM exported by PEFT's layout becomes
// exactly the fused-graph row the build ships for it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LORA_TARGETS, adapterDims, type AdapterDims } from '../fused';
import { AdapterError, PEFT_CONFIG, PEFT_WEIGHTS, readPeftAdapter, readSafetensors, toRowAdapter, type AdapterBase } from '../peft-adapter';
import { MODELS_DIR, manifest, requireModels } from './helpers';

// a small Llama: 2 layers, hidden 8, q/o 8, k/v 4, MLP 12
const DIMS: AdapterDims = {
  q_proj: { in: 8, out: 8 }, k_proj: { in: 8, out: 4 }, v_proj: { in: 8, out: 4 }, o_proj: { in: 8, out: 8 },
  gate_proj: { in: 8, out: 12 }, up_proj: { in: 8, out: 12 }, down_proj: { in: 12, out: 8 },
};
const BASE: AdapterBase = { name: 'HuggingFaceTB/SmolLM2-135M-Instruct', layers: 2, dims: DIMS };

type T = { dtype: 'F32' | 'F16' | 'I8'; shape: number[]; values: number[] };

/** A safetensors file as the format's README specifies it (F16 written from exactly representable values). */
function safetensors(tensors: Record<string, T>, corruptLength = false): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const w = t.dtype === 'F32' ? 4 : t.dtype === 'F16' ? 2 : 1;
    const b = new Uint8Array(t.values.length * w);
    const dv = new DataView(b.buffer);
    t.values.forEach((v, i) => {
      if (t.dtype === 'F32') dv.setFloat32(4 * i, v, true);
      else if (t.dtype === 'I8') dv.setInt8(i, v);
      else dv.setUint16(2 * i, v === 0 ? 0 : v === 1 ? 0x3c00 : v === -1 ? 0xbc00 : v === 0.5 ? 0x3800 : NaN, true);
    });
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    parts.push(b);
    off += b.length;
  }
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + (corruptLength ? off - 4 : off));
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let p = 8 + h.length;
  for (const b of parts) { out.set(b.subarray(0, Math.min(b.length, out.length - p)), p); p += b.length; }
  return out;
}

const key = (l: number, t: string, ab: 'A' | 'B') =>
  `base_model.model.model.layers.${l}.${['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t) ? 'self_attn' : 'mlp'}.${t}.lora_${ab}.weight`;

function lora(r: number, targets: readonly string[] = ['q_proj', 'v_proj'], layers = [1], dtype: 'F32' | 'F16' = 'F32') {
  const t: Record<string, T> = {};
  for (const l of layers) {
    for (const p of targets) {
      const d = DIMS[p as keyof AdapterDims];
      // A [r, in] with A[k][i] = k == i % r ? 1 : 0; B [out, r] with B[o][k] = o == k ? 0.5 : 0 (F16-exact values)
      t[key(l, p, 'A')] = { dtype, shape: [r, d.in], values: Array.from({ length: r * d.in }, (_, j) => (Math.floor(j / d.in) === (j % d.in) % r ? 1 : 0)) };
      t[key(l, p, 'B')] = { dtype, shape: [d.out, r], values: Array.from({ length: d.out * r }, (_, j) => (Math.floor(j / r) === j % r ? 0.5 : 0)) };
    }
  }
  return t;
}

const config = (over: Record<string, unknown> = {}) => new TextEncoder().encode(JSON.stringify({
  peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], bias: 'none', use_rslora: false, use_dora: false,
  fan_in_fan_out: false, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, ...over,
}));

describe('PEFT adapter validation', () => {
  it('reads a valid adapter: rank, alpha, layers, targets; F16 and F32 alike', () => {
    for (const dtype of ['F32', 'F16'] as const) {
      const p = readPeftAdapter(config(), safetensors(lora(4, ['q_proj', 'v_proj'], [1], dtype)), BASE);
      expect([p.rank, p.alpha, p.layers, p.targets]).toEqual([4, 8, [1], ['q_proj', 'v_proj']]);
      expect(p.matrices.get('1.q_proj')!.B[0]).toBe(0.5);
    }
  });

  it('accepts the adapter name PEFT inserts (.default.) and a local base path ending in the base name', () => {
    const t = Object.fromEntries(Object.entries(lora(4)).map(([k, v]) => [k.replace('.weight', '.default.weight'), v]));
    const p = readPeftAdapter(config({ base_model_name_or_path: '/models/smollm2-135m-instruct/' }), safetensors(t), BASE);
    expect(p.matrices.size).toBe(2);
  });

  const refusals: [string, () => Uint8Array[], RegExp][] = [
    ['config not JSON', () => [new TextEncoder().encode('{r: 4'), safetensors(lora(4))], /adapter_config.json: not JSON/],
    ['not LoRA', () => [config({ peft_type: 'IA3' }), safetensors(lora(4))], /peft_type "IA3", only LORA/],
    ['another base', () => [config({ base_model_name_or_path: 'meta-llama/Llama-3.2-1B' }), safetensors(lora(4))], /trained on "meta-llama\/Llama-3.2-1B", this base is HuggingFaceTB\/SmolLM2-135M-Instruct/],
    ['DoRA', () => [config({ use_dora: true }), safetensors(lora(4))], /use_dora is not supported/],
    ['rsLoRA', () => [config({ use_rslora: true }), safetensors(lora(4))], /use_rslora is not supported/],
    ['rank pattern', () => [config({ rank_pattern: { q_proj: 8 } }), safetensors(lora(4))], /rank_pattern/],
    ['bias', () => [config({ bias: 'all' }), safetensors(lora(4))], /bias="all"/],
    ['modules to save', () => [config({ modules_to_save: ['lm_head'] }), safetensors(lora(4))], /modules_to_save/],
    ['rank', () => [config({ r: 0 }), safetensors(lora(4))], /r=0 is not a positive rank/],
    ['not safetensors', () => [config(), new TextEncoder().encode('PK\u0003\u0004 a zip file')], /not a safetensors file/],
    ['truncated', () => [config(), safetensors(lora(4), true)], /truncated or corrupt/],
    ['int8', () => [config(), safetensors({ [key(1, 'q_proj', 'A')]: { dtype: 'I8', shape: [4, 8], values: Array(32).fill(1) } })], /is I8; float16, bfloat16 or float32 expected/],
    ['a head, not a LoRA', () => [config(), safetensors({ 'base_model.model.lm_head.weight': { dtype: 'F32', shape: [2, 8], values: Array(16).fill(0) } })], /lm_head.weight is not a LoRA matrix/],
    ['no such projection', () => [config(), safetensors({ [key(1, 'q_proj', 'A').replace('self_attn', 'mlp')]: { dtype: 'F32', shape: [4, 8], values: Array(32).fill(0) } })], /no such projection/],
    ['layer beyond the base', () => [config(), safetensors(lora(4, ['q_proj'], [2]))], /layer 2, the base has 2/],
    ['shape of another model', () => [config({ r: 2 }), safetensors(lora(4))], /has shape \[4,8\], expected \[2,8\] \(r=2\)/],
    ['half a pair', () => [config(), safetensors({ [key(0, 'q_proj', 'A')]: lora(4)[key(1, 'q_proj', 'A')] })], /layer 0 q_proj has lora_A but no lora_B/],
    ['empty', () => [config(), safetensors({})], /no LoRA tensors/],
  ];
  for (const [what, files, reason] of refusals) {
    it(`refuses ${what} with its reason`, () => {
      const [c, w] = files();
      let err: unknown;
      try { readPeftAdapter(c, w, BASE); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AdapterError);
      expect((err as Error).message).toMatch(reason);
    });
  }
});

describe('PEFT adapter as a fused-graph row', () => {
  it('transposes, folds alpha/r into B, zero-pads the rank and leaves absent layers and targets zero', () => {
    const p = readPeftAdapter(config({ r: 2, lora_alpha: 4 }), safetensors(lora(2)), BASE);
    const row = toRowAdapter(p, BASE, 8);
    const { in: nin, out: nout } = DIMS.q_proj;
    // A^T [L, in, 8]: layer 1, input i, column k = A[k][i] = (k == i % 2)
    for (let i = 0; i < nin; i++) for (let k = 0; k < 8; k++) expect(row.A.q_proj[nin * 8 + i * 8 + k]).toBe(k < 2 && k === i % 2 ? 1 : 0);
    // (alpha/r) B^T [L, 8, out]: B[o][k] = 0.5 on the diagonal, times 4/2
    for (let k = 0; k < 8; k++) for (let o = 0; o < nout; o++) expect(row.B.q_proj[8 * nout + k * nout + o]).toBe(k < 2 && o === k ? 1 : 0);
    expect(row.A.q_proj.subarray(0, nin * 8).every((x) => x === 0)).toBe(true); // layer 0 untouched
    expect(row.B.k_proj.every((x) => x === 0) && row.A.down_proj.every((x) => x === 0)).toBe(true);
    expect(() => toRowAdapter(readPeftAdapter(config({ r: 4 }), safetensors(lora(4)), BASE), BASE, 2)).toThrow(/rank 4: the fused graph takes rank 2 at most/);
  });
});

// The real thing: the build ships each ARM as a PEFT folder, and `python -m genarm.peft_adapter
// export` (whose folder tests/test_peft.py loads with PEFT itself) writes the same folder: the
// same tensors, value for value, which the engine reads with the same validation as a user's own.
const m = manifest();
const arm = m?.models['arm-harmlessness'];
const why = !m ? 'no manifest' : arm?.adapter?.format !== 'peft' ? 'arm-harmlessness has no PEFT adapter in the manifest' : '';
requireModels('PEFT export of arm-harmlessness', why);
describe.skipIf(!!why)('PEFT export of the shipped harmlessness ARM', () => {
  let folder = '';
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'peft-'));
    execFileSync(join(process.cwd(), '.venv/bin/python'), ['-m', 'genarm.peft_adapter', 'export', 'arm-harmlessness', folder], { cwd: 'training', stdio: 'pipe' });
  }, 120_000);

  it('validates against SmolLM2 and equals the shipped adapter, tensor for tensor', () => {
    const a = arm!.adapter!;
    const base = m!.models[a.base];
    const L = base.arch.num_layers;
    const H = base.arch.hidden_size, KV = base.arch.num_kv_heads * base.arch.head_dim, I = 1536;
    const dims = adapterDims({ ...base.arch, num_heads: 9, intermediate_size: I }, a.rank, L * a.rank * (7 * H + 2 * H + 2 * KV + 3 * I));
    const fit = { name: 'SmolLM2-135M-Instruct', layers: L, dims };
    const exported = readPeftAdapter(readFileSync(join(folder, PEFT_CONFIG)), readFileSync(join(folder, PEFT_WEIGHTS)), fit);
    const shipped = readPeftAdapter(readFileSync(join(MODELS_DIR, a.config.path)), readFileSync(join(MODELS_DIR, a.file.path)), { ...fit, name: base.id });
    expect([shipped.rank, shipped.alpha]).toEqual([a.rank, a.alpha]);
    expect([exported.rank, exported.alpha, exported.layers]).toEqual([shipped.rank, shipped.alpha, shipped.layers]);
    expect(shipped.layers).toEqual(a.layers);
    expect(shipped.layers.length).toBeLessThan(L); // the top-12 recipe: the untrained layers are not shipped
    expect([...exported.matrices.keys()]).toEqual([...shipped.matrices.keys()]);
    for (const [k, v] of shipped.matrices) {
      expect(exported.matrices.get(k)!.A).toEqual(v.A);
      expect(exported.matrices.get(k)!.B).toEqual(v.B);
    }
    const row = toRowAdapter(shipped, fit, a.rank);
    for (const t of LORA_TARGETS) expect(row.B[t].some((x) => x !== 0)).toBe(true);
    expect(readSafetensors(readFileSync(join(folder, PEFT_WEIGHTS))).size).toBe(2 * exported.matrices.size);
  });
});
