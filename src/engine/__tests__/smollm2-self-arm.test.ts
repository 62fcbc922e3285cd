// Exact identities on a real distribution (the tiny models are too peaked to show
// much): SmolLM2 guiding itself. With the base as its own ARM at weight a, eq. 7 is
// (1 + a) * log p_base, so greedy tokens equal the base's and sampling at T equals
// base sampling at T / (1 + a) with the same seed. Also KV-cached steps vs a full pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateSettings, Manifest } from '../types';
import { Engine } from '../engine';
import { createNodePlatform } from '../node';
import { tokenLogProbs } from '../decoders/score';
import { MODELS_DIR, manifest, requireModels } from './helpers';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// fp32: the int8-compute kernels of q4/q8 (accuracy_level 4) are not batch-invariant, so a
// one-token step and a full pass differ by ~0.04 nats there; the KV-cache check needs exact math
const DTYPE = 'fp32';
const m = manifest();
const baseId = m?.suites.smollm2?.base;
const file = baseId ? m!.models[baseId]?.variants[DTYPE] : undefined;
const why = !file ? `no smollm2 base with a ${DTYPE} variant in the manifest` : !existsSync(join(MODELS_DIR, file.path)) ? `${file.path} is absent` : '';
requireModels('SmolLM2 self-ARM identities', why);

describe.skipIf(!!why)('SmolLM2 as its own ARM', () => {
  let engine: Engine;
  beforeAll(async () => {
    const platform = createNodePlatform({ modelsDir: MODELS_DIR });
    const read = platform.source.readManifest.bind(platform.source);
    // a suite whose helpfulness ARM is the base model itself
    platform.source.readManifest = async (): Promise<Manifest> => {
      const man = await read();
      const base = man.models[baseId!];
      man.models['self-arm'] = { ...base, id: 'self-arm', role: 'arm', objective: 'helpfulness', files: [] };
      man.suites['self'] = { id: 'self', label: 'self', base: baseId!, arms: { helpfulness: 'self-arm' }, rms: {} };
      return man;
    };
    engine = await Engine.load(platform, { suite: 'self', dtype: DTYPE });
  }, 300_000);
  afterAll(async () => engine?.dispose());

  const S: GenerateSettings = {
    prompt: 'Write a haiku about autumn.', weights: { helpfulness: 1 }, decoder: 'genarm',
    temperature: 0, top_k: 0, top_p: 1, seed: 11, max_tokens: 12, score_arms: true,
  };

  it('greedy: guided by itself = the base greedy; reward = base log-prob', async () => {
    const g = await engine.generate(S);
    const b = await engine.generate({ ...S, decoder: 'base', score_arms: false });
    expect(g.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
    for (const t of g.tokens) expect(t.rewards.helpfulness!).toBeCloseTo(t.logprob_base, 5);
  });

  it('sampling at T with weight a = base sampling at T / (1 + a), same seed', async () => {
    const a = 1;
    const g = await engine.generate({ ...S, temperature: 1.2, weights: { helpfulness: a } });
    const b = await engine.generate({ ...S, decoder: 'base', temperature: 1.2 / (1 + a), score_arms: false });
    expect(g.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
    g.tokens.forEach((t, i) => expect(t.p_guided).toBeCloseTo(b.tokens[i].p_guided, 4));
  });

  it('KV-cached log-probs match one full pass', async () => {
    const r = await engine.generate({ ...S, temperature: 1, weights: {}, score_arms: false });
    const full = await tokenLogProbs(engine.platform.ort, engine.base, engine.tokenizer.encodeChat(S.prompt), r.tokens.map((t) => t.id));
    r.tokens.forEach((t, i) => expect(Math.abs(t.logprob_base - full[i])).toBeLessThan(2e-3));
  });
});
