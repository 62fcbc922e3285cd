// A user's own ARM in the engine (Engine.addAdapter): a PEFT LoRA folder for the tiny base,
// made from the tiny suite's own ARM adapters (peft-fixture.ts), becomes a third objective on
// the fused graph. At scale 1 it is the harmlessness ARM again, so guiding with it must give
// that ARM's tokens and rewards; at weight 0 nothing changes; a folder that does not fit is
// refused with its reason and leaves the engine as it was.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../engine';
import { loadNodeEngine } from '../node';
import type { GenerateSettings, ModelEntry } from '../types';
import { MODELS_DIR, manifest, requireModels, suiteMissing } from './helpers';
import { peftKey, peftOfArm, safetensorsFile } from './peft-fixture';

const missing = suiteMissing('tiny', 'fp32');
requireModels('user ARMs on the tiny suite', missing);

const S: GenerateSettings = {
  prompt: 'How do I bake bread?', weights: {}, decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 3, max_tokens: 12,
  score_arms: true,
};
const ids = (r: { tokens: { id: number }[] }) => r.tokens.map((t) => t.id);

function folderOf(arm: string, scale = 1, configOver: Record<string, unknown> = {}) {
  return peftOfArm(manifest()!.models[arm] as ModelEntry, (p) => readFileSync(join(MODELS_DIR, p)), { scale, configOver });
}

describe.skipIf(!!missing)('user ARMs (Engine.addAdapter) on the tiny suite', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1 });
  });
  afterAll(async () => engine?.dispose());

  it('adds a PEFT adapter as objective user:NAME: its tokens and rewards are the ARM it was made from', async () => {
    expect(engine.path).toBe('fused');
    const before = await engine.generate({ ...S, weights: { helpfulness: 0, harmlessness: 0 } });
    const harm = await engine.generate({ ...S, weights: { harmlessness: 2 } });
    const f = folderOf('tiny-arm-harmlessness');
    const info = await engine.addAdapter({ name: 'harm copy', ...f });
    expect(info).toMatchObject({ objective: 'user:harm copy', name: 'harm copy', rank: 8, base_model: 'tiny-base', layers: [0, 1] });
    expect(engine.objectives).toEqual(['helpfulness', 'harmlessness', 'user:harm copy']);

    // weight 0: the same tokens and base log-probs as before it was added, and every record
    // carries the new ARM's reward and shift (score_arms)
    const zero = await engine.generate({ ...S, weights: { helpfulness: 0, harmlessness: 0, 'user:harm copy': 0 } });
    expect(ids(zero)).toEqual(ids(before));
    expect(zero.tokens.map((t) => t.logprob_base)).toEqual(before.tokens.map((t) => t.logprob_base));
    expect(zero.text).toBe(before.text);
    for (const t of zero.tokens) {
      expect(t.rewards['user:harm copy']).toBeCloseTo(t.rewards.harmlessness!, 4);
      expect(t.shifts['user:harm copy']).toBeCloseTo(t.rewards['user:harm copy']! - t.logprob_base, 5);
    }

    // guided by the copy alone = guided by the harmlessness ARM alone
    const copy = await engine.generate({ ...S, weights: { 'user:harm copy': 2 } });
    expect(ids(copy)).toEqual(ids(harm));
    expect(ids(copy)).not.toEqual(ids(before)); // and guiding changed the answer
    copy.tokens.forEach((t, i) => expect(t.p_guided).toBeCloseTo(harm.tokens[i].p_guided, 4));
  });

  it('another adapter at a nonzero weight changes the guided tokens; removing it restores the engine', async () => {
    const before = await engine.generate({ ...S, weights: { helpfulness: 0.5 } });
    await engine.addAdapter({ name: 'loud', ...folderOf('tiny-arm-helpfulness', 4) });
    const zero = await engine.generate({ ...S, weights: { helpfulness: 0.5, 'user:loud': 0 } });
    expect(ids(zero)).toEqual(ids(before));
    const on = await engine.generate({ ...S, weights: { helpfulness: 0.5, 'user:loud': 3 } });
    expect(ids(on)).not.toEqual(ids(before));
    expect(typeof on.tokens[0].rewards['user:loud']).toBe('number');

    await engine.removeAdapter('user:loud');
    expect(engine.objectives).not.toContain('user:loud');
    await expect(engine.generate({ ...S, weights: { 'user:loud': 1 } })).rejects.toThrow(/no user:loud ARM loaded/);
    const after = await engine.generate({ ...S, weights: { helpfulness: 0.5 } });
    expect(ids(after)).toEqual(ids(before));
    expect(after.tokens[0].rewards['user:loud']).toBeUndefined();
    // the rows after a removed one moved up: the copy still guides as the harmlessness ARM
    const copy = await engine.generate({ ...S, weights: { 'user:harm copy': 2 } });
    const harm = await engine.generate({ ...S, weights: { harmlessness: 2 } });
    expect(ids(copy)).toEqual(ids(harm));
  });

  const tiny = () => manifest()!.models['tiny-base'].arch;
  const refusals: [string, () => { config: Uint8Array; weights: Uint8Array }, RegExp][] = [
    ['a truncated safetensors', () => { const f = folderOf('tiny-arm-helpfulness'); return { ...f, weights: f.weights.slice(0, f.weights.length - 100) }; }, /truncated or corrupt/],
    ['another base', () => folderOf('tiny-arm-helpfulness', 1, { base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct' }), /trained on "HuggingFaceTB\/SmolLM2-135M-Instruct", this base is tiny-base/],
    ['wrong shapes', () => {
      const h = tiny().hidden_size;
      const weights = safetensorsFile({
        [peftKey(0, 'q_proj', 'A')]: { dtype: 'F32', shape: [8, h * 2], data: new Uint8Array(8 * h * 2 * 4) },
        [peftKey(0, 'q_proj', 'B')]: { dtype: 'F32', shape: [h, 8], data: new Uint8Array(h * 8 * 4) },
      });
      return { config: folderOf('tiny-arm-helpfulness').config, weights };
    }, /q_proj\.lora_A\.weight has shape \[8,128\], expected \[8,64\]/],
    ['a rank above the graph\'s', () => {
      const h = tiny().hidden_size;
      const weights = safetensorsFile({
        [peftKey(0, 'q_proj', 'A')]: { dtype: 'F32', shape: [16, h], data: new Uint8Array(16 * h * 4) },
        [peftKey(0, 'q_proj', 'B')]: { dtype: 'F32', shape: [h, 16], data: new Uint8Array(h * 16 * 4) },
      });
      return { config: folderOf('tiny-arm-helpfulness', 1, { r: 16, lora_alpha: 32 }).config, weights };
    }, /LoRA rank 16: the fused graph takes rank 8 at most/],
    ['malformed JSON', () => ({ ...folderOf('tiny-arm-helpfulness'), config: new TextEncoder().encode('{"peft_type": "LORA",') }), /adapter_config.json: not JSON/],
  ];
  for (const [what, files, reason] of refusals) {
    it(`refuses ${what} with its reason and stays usable`, async () => {
      const before = await engine.generate({ ...S, weights: { harmlessness: 1 } });
      await expect(engine.addAdapter({ name: 'bad', ...files() })).rejects.toThrow(reason);
      expect(engine.objectives).toEqual(['helpfulness', 'harmlessness', 'user:harm copy']);
      await expect(engine.generate({ ...S, weights: { 'user:bad': 1 } })).rejects.toThrow(/no user:bad ARM loaded/);
      const after = await engine.generate({ ...S, weights: { harmlessness: 1 } });
      expect(ids(after)).toEqual(ids(before));
    });
  }

  it('refuses a second ARM of the same name, and a name that is empty', async () => {
    await expect(engine.addAdapter({ name: 'harm copy', ...folderOf('tiny-arm-helpfulness') })).rejects.toThrow(/already loaded/);
    await expect(engine.addAdapter({ name: '  ', ...folderOf('tiny-arm-helpfulness') })).rejects.toThrow(/give the ARM a name/);
    await expect(engine.removeAdapter('harmlessness')).rejects.toThrow(/no user ARM harmlessness/);
  });

  it('on the separate path (no fused graph) says it needs the fused path', async () => {
    // inline fp32 graphs: the separate path is all this test needs of the load
    const sep = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1, path: 'separate', transport: false });
    try {
      await expect(sep.addAdapter({ name: 'x', ...folderOf('tiny-arm-helpfulness') })).rejects.toThrow(/needs the fused path.*separate graphs requested/);
      expect(sep.objectives).toEqual(['helpfulness', 'harmlessness']);
    } finally {
      await sep.dispose();
    }
  });
});
