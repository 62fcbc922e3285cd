// The repetition penalty and the n-gram ban through the engine on the tiny random-weight
// suite: greedy runs avoid a repeated bigram, the penalty moves greedy off a seen token,
// both off is the run without them bit for bit, and the settings reach the base,
// Best-of-N and ARGS decoders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateSettings, GenerationResult } from '../types';
import type { Engine } from '../engine';
import { loadNodeEngine } from '../node';
import { MODELS_DIR, requireModels, suiteMissing } from './helpers';

const missing = suiteMissing('tiny', 'fp32', true);
requireModels('repetition tests on the tiny suite', missing);

// strong ARM weights make the tiny models loop: this greedy run repeats two bigrams in its
// last tokens (tiny suite v4, whose base weights are GGUF blocks: training/genarm/build.py)
const LOOPING: GenerateSettings = {
  prompt: 'Name three colours.', weights: { helpfulness: 5, harmlessness: 5 }, decoder: 'genarm',
  temperature: 0, top_k: 0, top_p: 1, seed: 1, max_tokens: 16, score_arms: false,
};

const ids = (r: GenerationResult) => r.tokens.map((t) => t.id);

/** Answer positions whose token completes a bigram already seen earlier in prompt + answer. */
function repeatedBigrams(prompt: number[], answer: number[]): number[] {
  const seq = [...prompt, ...answer];
  const seen = new Set<string>();
  const out: number[] = [];
  for (let i = 0; i + 1 < seq.length; i++) {
    const key = `${seq[i]},${seq[i + 1]}`;
    if (i + 1 >= prompt.length && seen.has(key)) out.push(i + 1 - prompt.length);
    seen.add(key);
  }
  return out;
}

describe.skipIf(!!missing)('repetition penalty and n-gram ban in the engine (tiny, Node fp32)', () => {
  let engine: Engine;
  let prompt: number[];
  let plain: GenerationResult;
  beforeAll(async () => {
    engine = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1 });
    prompt = engine.tokenizer.encodeChat(LOOPING.prompt);
    plain = await engine.generate(LOOPING);
  });
  afterAll(async () => engine?.dispose());

  it('no_repeat_ngram_size 2: greedy avoids every repeated bigram that the plain greedy run makes', async () => {
    const loops = repeatedBigrams(prompt, ids(plain));
    expect(loops.length).toBeGreaterThan(0);
    const k = loops[0];
    const r = await engine.generate({ ...LOOPING, no_repeat_ngram_size: 2 });
    expect(r.tokens).toHaveLength(LOOPING.max_tokens);
    expect(repeatedBigrams(prompt, ids(r))).toEqual([]);
    // the ban changes nothing until the plain run repeats, then takes the next best token
    expect(ids(r).slice(0, k)).toEqual(ids(plain).slice(0, k));
    expect(r.tokens[k].id).not.toBe(plain.tokens[k].id);
    // records describe the processed distribution: greedy = its argmax, the banned token has p 0
    for (const t of r.tokens) expect(t.top_guided[0].id).toBe(t.id);
    expect(r.tokens[k].top_guided.map((a) => a.id)).not.toContain(plain.tokens[k].id);
    expect(r.tokens[k].p_guided).toBeGreaterThan(0);
  });

  it('repetition_penalty > 1 changes the greedy answer from the first time it picks a seen token', async () => {
    const plainIds = ids(plain);
    // a penalty > 1 only lowers seen tokens' scores (multiplies a negative one, divides a
    // positive one): nothing can change before the plain run picks a token it has seen
    const firstSeen = plainIds.findIndex((id, i) => prompt.includes(id) || plainIds.slice(0, i).includes(id));
    expect(firstSeen).toBeGreaterThan(0);
    const r = await engine.generate({ ...LOOPING, repetition_penalty: 1.3 });
    expect(ids(r).slice(0, firstSeen)).toEqual(plainIds.slice(0, firstSeen));
    expect(ids(r)).not.toEqual(plainIds);
    expect(r.settings.repetition_penalty).toBe(1.3);
  });

  it('penalty 1 and n-gram 0 are the run without them, bit for bit (greedy and sampling)', async () => {
    for (const temperature of [0, 0.7]) {
      const s = { ...LOOPING, temperature, max_tokens: 10 };
      const a = await engine.generate(s);
      const b = await engine.generate({ ...s, repetition_penalty: 1, no_repeat_ngram_size: 0 });
      expect(ids(b)).toEqual(ids(a));
      expect(b.tokens.map((t) => t.p_guided)).toEqual(a.tokens.map((t) => t.p_guided));
      expect(b.tokens.map((t) => t.logprob_base)).toEqual(a.tokens.map((t) => t.logprob_base));
    }
    expect(plain.settings).toMatchObject({ repetition_penalty: 1, no_repeat_ngram_size: 0 });
  });

  it('the base decoder and Best-of-N samples use the same penalty', async () => {
    // a hot temperature spreads the peaked tiny base, so the penalty moves its samples
    const hot: GenerateSettings = { ...LOOPING, decoder: 'base', weights: {}, temperature: 8, max_tokens: 12 };
    const a = await engine.generate(hot);
    const p = await engine.generate({ ...hot, repetition_penalty: 2 });
    expect(ids(p)).not.toEqual(ids(a));
    // all weights 0: Best-of-N's first sample (PRNG stream 0) wins, the base's own sample
    const bon = await engine.generate({ ...hot, decoder: 'bon', bon_n: 2, repetition_penalty: 2 });
    expect(ids(bon)).toEqual(ids(p));
  });

  it('ARGS applies the penalty to its candidate scores', async () => {
    // a prompt where ARGS's answer meets a seen token early (its 7th token, tiny suite v4)
    const args: GenerateSettings = {
      ...LOOPING, prompt: 'Give me one tip for staying focused.', decoder: 'args', weights: { harmlessness: 1 }, args_w: 1, max_tokens: 24,
    };
    const argsPrompt = engine.tokenizer.encodeChat(args.prompt);
    const a = await engine.generate(args);
    const p = await engine.generate({ ...args, repetition_penalty: 2 });
    expect(ids(p)).not.toEqual(ids(a));
    const firstSeen = ids(a).findIndex((id, i) => argsPrompt.includes(id) || ids(a).slice(0, i).includes(id));
    expect(firstSeen).toBeGreaterThan(0);
    expect(ids(p).slice(0, firstSeen)).toEqual(ids(a).slice(0, firstSeen));
    // the n-gram ban keeps ARGS's answer free of repeated bigrams too
    expect(repeatedBigrams(argsPrompt, ids(await engine.generate({ ...args, no_repeat_ngram_size: 2 })))).toEqual([]);
  });

  it('rejects a penalty <= 0 and a non-integer n-gram size', async () => {
    await expect(engine.generate({ ...LOOPING, repetition_penalty: 0 })).rejects.toThrow(/repetition_penalty/);
    await expect(engine.generate({ ...LOOPING, no_repeat_ngram_size: 1.5 })).rejects.toThrow(/no_repeat_ngram_size/);
    await expect(engine.generate({ ...LOOPING, no_repeat_ngram_size: -1 })).rejects.toThrow(/no_repeat_ngram_size/);
  });
});
