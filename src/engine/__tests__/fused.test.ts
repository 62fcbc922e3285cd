// The fused path (src/engine/fused.ts): base and ARMs as rows of one batched graph must give the
// same per-token records and seeded outputs as the separate graphs. Adapter shapes
// and the path choice are checked on synthetic data; the engines on the tiny suite
// (fp32: the fused graph computes W x + B A x where the separate ARM has the merged
// W' = W + B A, equal up to float summation order), and on SmolLM2 when built.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateSettings, GenerationResult, ModelEntry } from '../types';
import type { Engine } from '../engine';
import { loadNodeEngine } from '../node';
import { adapterDims, choosePath, halfToFloat, LORA_TARGETS, type AdapterDims } from '../fused';
import { manifest, MODELS_DIR, requireModels, suiteMissing } from './helpers';

const ARCH = { num_layers: 2, num_kv_heads: 1, head_dim: 2, hidden_size: 4, vocab_size: 10, max_position: 64, eos_token_ids: [0] };

describe('adapter layout', () => {
  // hidden 4, kv 2, MLP 6, rank 2
  const dims: AdapterDims = {
    q_proj: { in: 4, out: 4 }, k_proj: { in: 4, out: 2 }, v_proj: { in: 4, out: 2 }, o_proj: { in: 4, out: 4 },
    gate_proj: { in: 4, out: 6 }, up_proj: { in: 4, out: 6 }, down_proj: { in: 6, out: 4 },
  };
  const rank = 2;
  const perLayer = rank * LORA_TARGETS.reduce((n, t) => n + dims[t].in + dims[t].out, 0);

  it('derives in/out per target from the graph shapes, else from arch and file size', () => {
    const shapes = [0, 1].flatMap((l) => LORA_TARGETS.flatMap((t) => [
      { name: `lora.${l}.${t}.A`, shape: ['rows', dims[t].in, rank] },
      { name: `lora.${l}.${t}.B`, shape: ['rows', rank, dims[t].out] },
    ]));
    expect(adapterDims(ARCH, rank, 2 * perLayer, shapes)).toEqual(dims);
    expect(adapterDims(ARCH, rank, 2 * perLayer)).toEqual(dims); // MLP width solved from the size
    expect(() => adapterDims(ARCH, rank, 2 * perLayer + 2)).toThrow(/floats/);
    expect(() => adapterDims(ARCH, 4, 2 * perLayer, shapes)).toThrow(/rank/);
  });

  it('decodes IEEE half floats (normal, subnormal, signed zero, inf, NaN)', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});

describe('path choice', () => {
  const entry = (id: string, adapterOf?: string): ModelEntry => ({
    id, role: adapterOf ? 'arm' : 'base', label: id, tokenizer: 'b', folder: `${id}/`, arch: ARCH, files: [], variants: {},
    ...(adapterOf ? {
      adapter: {
        base: adapterOf, rank: 8, alpha: 16, format: 'peft' as const, config: { path: `${id}/adapter/adapter_config.json`, bytes: 4, sha256: '' },
        file: { path: `${id}/adapter/adapter_model.safetensors`, bytes: 4, sha256: '' },
      },
    } : {}),
  });
  const fused = { variants: { fp32: { path: 'f.onnx', bytes: 1, sha256: '' } }, rows: ['b', 'h', 'x'] };
  const suite = { id: 's', fused };

  it('fused when every ARM is an adapter of the base and a row of the graph', () => {
    expect(choosePath(suite, entry('b'), [entry('h', 'b'), entry('x', 'b')]).path).toBe('fused');
    expect(choosePath(suite, entry('b'), [entry('h', 'b')]).path).toBe('fused');
  });

  it('separate for weak-to-strong, merged-only ARMs, no fused graph, or when asked', () => {
    const w2s = choosePath(suite, entry('b'), [entry('h', 'small-base'), entry('x', 'b')]);
    expect(w2s).toMatchObject({ path: 'separate' });
    expect(w2s.why).toMatch(/adapter of small-base/);
    expect(choosePath(suite, entry('b'), [entry('h')]).why).toMatch(/not a LoRA adapter/);
    expect(choosePath({ id: 's' }, entry('b'), [entry('h', 'b')]).why).toMatch(/no fused graph/);
    expect(choosePath(suite, entry('b'), [entry('h', 'b')], 'separate').path).toBe('separate');
    expect(choosePath(suite, entry('b'), []).path).toBe('separate');
    expect(() => choosePath(suite, entry('b'), [entry('h', 'small-base')], 'fused')).toThrow(/fused path requested/);
  });
});

// ---------------------------------------------------------------- engines

const PROMPT = 'How do I bake bread?';
const S: GenerateSettings = {
  prompt: PROMPT, weights: {}, decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 1, max_tokens: 12, score_arms: true,
};

/** Same tokens; every log-prob in the records within tol. */
function expectSameRun(a: GenerationResult, b: GenerationResult, tol = 1e-3): void {
  expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
  expect(a.text).toBe(b.text);
  expect(a.finish_reason).toBe(b.finish_reason);
  a.tokens.forEach((t, i) => {
    const u = b.tokens[i];
    expect(Math.abs(t.logprob_base - u.logprob_base)).toBeLessThan(tol);
    expect(Math.abs(Math.log(t.p_guided) - Math.log(u.p_guided))).toBeLessThan(tol);
    expect(Object.keys(t.rewards).sort()).toEqual(Object.keys(u.rewards).sort());
    for (const o of Object.keys(t.rewards) as (keyof typeof t.rewards)[]) {
      expect(Math.abs(t.rewards[o]! - u.rewards[o]!)).toBeLessThan(tol);
      expect(Math.abs(t.shifts[o]! - u.shifts[o]!)).toBeLessThan(tol);
    }
    expect(t.top_guided.map((x) => x.id)).toEqual(u.top_guided.map((x) => x.id));
  });
}

const tinyMissing = suiteMissing('tiny', 'fp32', true) || (manifest()?.suites.tiny?.fused ? '' : 'the tiny suite has no fused graph (npm run models -- --tiny)');
requireModels('fused-path tests on the tiny suite', tinyMissing);

describe.skipIf(!!tinyMissing)('fused vs separate on the tiny suite (Node; fp32 unless named)', () => {
  let fused: Engine;
  let sep: Engine;
  beforeAll(async () => {
    fused = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1, path: 'fused' });
    sep = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1, path: 'separate' });
  });
  afterAll(async () => {
    await fused?.dispose();
    await sep?.dispose();
  });

  it('reports the path; auto picks fused for this suite', async () => {
    expect(fused.backend.path).toBe('fused');
    expect(fused.backend.reason).toMatch(/fused graph: base \+ 2 ARMs/);
    expect(sep.backend.path).toBe('separate');
    expect(fused.objectives).toEqual(['helpfulness', 'harmlessness']);
    const auto = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1 });
    expect(auto.backend.path).toBe('fused');
    await auto.dispose();
  });

  it('greedy: same tokens and log-probs for weights (1,0), (0.8,1), (0.2,4)', async () => {
    for (const weights of [{ helpfulness: 1, harmlessness: 0 }, { helpfulness: 0.8, harmlessness: 1 }, { helpfulness: 0.2, harmlessness: 4 }]) {
      for (const score_arms of [true, false]) {
        // score_arms false with a 0 weight runs only the rows needed (here base + helpfulness)
        const s = { ...S, weights, score_arms };
        expectSameRun(await fused.generate(s), await sep.generate(s));
      }
    }
  });

  it('sampling: the same seed gives the same text on both paths', async () => {
    for (const [temperature, top_k, top_p, seed] of [[1, 0, 1, 3], [0.7, 50, 0.9, 4], [8, 0, 1, 5]] as const) {
      const s = { ...S, temperature, top_k, top_p, seed, weights: { helpfulness: 0.8, harmlessness: 1 } };
      const a = await fused.generate(s);
      const b = await sep.generate(s);
      expect(a.text).toBe(b.text);
      expectSameRun(a, b);
    }
  });

  it('all-zero weights on the fused path reproduce the base', async () => {
    for (const temperature of [0, 1]) {
      const zero = { ...S, temperature, weights: { helpfulness: 0, harmlessness: 0 } };
      const g = await fused.generate(zero); // 3 rows: the ARMs scored, not steering
      const b = await fused.generate({ ...zero, decoder: 'base', score_arms: false }); // the base row alone
      const ref = await sep.generate({ ...zero, decoder: 'base', score_arms: false }); // the base graph
      expect(g.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
      expectSameRun(b, ref);
      g.tokens.forEach((t, i) => {
        expect(Math.abs(t.logprob_base - b.tokens[i].logprob_base)).toBeLessThan(1e-4);
        expect(Math.abs(Math.log(t.p_guided) - t.logprob_base)).toBeLessThan(1e-4);
      });
    }
  });

  it('rewards after the run, Best-of-N and ARGS agree with the separate path', async () => {
    const after = { ...S, weights: { helpfulness: 1 }, score_arms: false };
    const a = await fused.generate(after, { rewardsAfter: true });
    const b = await sep.generate(after, { rewardsAfter: true });
    expectSameRun(a, b);
    expect(a.tokens[0].rewards.harmlessness).toBeDefined();
    const bon = { ...S, decoder: 'bon' as const, temperature: 1, bon_n: 2, max_tokens: 6, weights: { helpfulness: 1 } };
    expectSameRun(await fused.generate(bon), await sep.generate(bon));
    const args = { ...S, decoder: 'args' as const, args_k: 4, max_tokens: 6, weights: { helpfulness: 1 } };
    expectSameRun(await fused.generate(args), await sep.generate(args));
  });

  it('quantized (q8): the base row of a 3-row step equals the base graph (rows do not share a quantization scale)', async () => {
    const q8f = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'q8', threads: 1, path: 'fused' });
    const q8s = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'q8', threads: 1, path: 'separate' });
    try {
      const zero = { ...S, weights: { helpfulness: 0, harmlessness: 0 } };
      const f = await q8f.generate({ ...zero, score_arms: true }); // 3 rows: the ARMs scored, not steering
      const b = await q8s.generate({ ...zero, decoder: 'base', score_arms: false }); // the base graph alone
      expect(Object.keys(f.tokens[0].rewards)).toHaveLength(2);
      expect(f.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
      f.tokens.forEach((t, i) => expect(Math.abs(t.logprob_base - b.tokens[i].logprob_base)).toBeLessThan(1e-4));
    } finally {
      await q8f.dispose();
      await q8s.dispose();
    }
  });

  it('asking for the fused path where a suite has none is an error that says why', async () => {
    const m = manifest()!;
    const noFused = Object.values(m.suites).find((s) => !s.fused);
    if (!noFused) return;
    await expect(loadNodeEngine({ modelsDir: MODELS_DIR, suite: noFused.id, path: 'fused', threads: 1 })).rejects.toThrow(/fused path requested/);
  });
});

// ---------------------------------------------------------------- SmolLM2, when built

function smolMissing(): string {
  const m = manifest();
  const s = m?.suites.smollm2;
  if (!s) return 'no smollm2 suite';
  if (!s.fused?.variants.fp32) return 'the smollm2 suite has no fused graph yet (npm run models)';
  return suiteMissing('smollm2', 'fp32') || (Object.keys(s.arms).length < 2 ? 'smollm2 has fewer than 2 ARMs' : '');
}
const smolWhy = smolMissing();
requireModels('fused-path test on SmolLM2', smolWhy);

describe.skipIf(!!smolWhy)('fused vs separate on SmolLM2 (Node, fp32, short)', () => {
  it('greedy (0.8, 1): same tokens, log-probs within 1e-3; sampled: same text', async () => {
    const fused = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'smollm2', dtype: 'fp32', path: 'fused' });
    const sep = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'smollm2', dtype: 'fp32', path: 'separate' });
    try {
      const s = { ...S, prompt: 'Give me two tips for sleeping better.', max_tokens: 8, weights: { helpfulness: 0.8, harmlessness: 1 } };
      expectSameRun(await fused.generate(s), await sep.generate(s));
      const hot = { ...s, temperature: 1, seed: 7 };
      expect((await fused.generate(hot)).text).toBe((await sep.generate(hot)).text);
    } finally {
      await fused.dispose();
      await sep.dispose();
    }
  }, 600_000);
});
