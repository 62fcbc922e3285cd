// The engine under Node on the tiny random-weight suite: lockstep decoding, alpha = 0
// equals the base, seeded reproducibility, KV cache vs a full pass, stop strings,
// abort, ARGS and Best-of-N consistency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateSettings, TokenRecord } from '../types';
import type { Engine } from '../engine';
import { loadNodeEngine } from '../node';
import { tokenLogProbs, rmPrefill, rmScore } from '../decoders/score';
import { MODELS_DIR, requireModels, suiteMissing } from './helpers';

const missing = suiteMissing('tiny', 'fp32', true);
requireModels('engine tests on the tiny suite', missing);

const PROMPT = 'How do I bake bread?';
const base: GenerateSettings = {
  prompt: PROMPT, weights: {}, decoder: 'genarm', temperature: 1, top_k: 0, top_p: 1, seed: 1, max_tokens: 12, score_arms: false,
};

describe.skipIf(!!missing)('engine on the tiny suite (Node, fp32)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1 });
  });
  afterAll(async () => engine?.dispose());

  it('reports the backend and loads the ARMs', () => {
    expect(engine.backend.backend).toBe('node-cpu');
    expect(engine.backend.dtype).toBe('fp32');
    expect(engine.objectives).toEqual(['helpfulness', 'harmlessness']);
  });

  it('all weights 0 reproduces the base decoder exactly (sampling and greedy)', async () => {
    for (const temperature of [1, 0.7, 0]) {
      const g = await engine.generate({ ...base, temperature, weights: { helpfulness: 0, harmlessness: 0 }, score_arms: true });
      const b = await engine.generate({ ...base, temperature, decoder: 'base' });
      expect(g.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
      expect(g.tokens.map((t) => t.logprob_base)).toEqual(b.tokens.map((t) => t.logprob_base));
      expect(g.text).toBe(b.text);
      // score-only ARMs: every token coloured, nothing steered
      expect(Object.keys(g.tokens[0].rewards).sort()).toEqual(['harmlessness', 'helpfulness']);
      expect(b.tokens[0].rewards).toEqual({});
    }
  });

  it('the same seed and settings give the same text; weights change the distribution', async () => {
    const s = { ...base, weights: { helpfulness: 1, harmlessness: 0.5 } };
    const a = await engine.generate(s);
    const b = await engine.generate(s);
    expect(b.text).toBe(a.text);
    expect(b.tokens.map((t) => t.id)).toEqual(a.tokens.map((t) => t.id));
    // the tiny models are peaked: a hot temperature makes seeds visibly matter
    const hot = { ...s, temperature: 8, max_tokens: 8 };
    const c1 = await engine.generate({ ...hot, seed: 1 });
    const c2 = await engine.generate({ ...hot, seed: 2 });
    expect(c2.tokens.map((t) => t.id)).not.toEqual(c1.tokens.map((t) => t.id));
    expect((await engine.generate({ ...hot, seed: 1 })).text).toBe(c1.text);
    // guided probability differs from the base probability once ARMs steer
    expect(a.tokens.some((t) => Math.abs(t.p_guided - t.p_base) > 1e-6)).toBe(true);
  });

  it('records are complete and consistent', async () => {
    const r = await engine.generate({ ...base, weights: { helpfulness: 2 }, score_arms: true });
    expect(r.tokens.length).toBeGreaterThan(0);
    expect(r.tokens.map((t) => t.text).join('')).toBe(r.text);
    for (const t of r.tokens as TokenRecord[]) {
      expect(t.p_base).toBeCloseTo(Math.exp(t.logprob_base), 6);
      expect(t.shifts.helpfulness).toBeCloseTo(t.rewards.helpfulness! - t.logprob_base, 6);
      expect(t.top_base).toHaveLength(5);
      expect(t.top_guided).toHaveLength(5);
      expect(t.top_base[0].p).toBeGreaterThanOrEqual(t.top_base[4].p);
      expect(t.ms).toBeGreaterThan(0);
    }
    expect(r.ms_per_token).toBeGreaterThan(0);
    expect(r.backend.reason).toMatch(/onnxruntime-node/);
  });

  it('greedy (temperature 0) is the argmax of the combined scores', async () => {
    const r = await engine.generate({ ...base, temperature: 0, weights: { helpfulness: 1, harmlessness: 1 } });
    for (const t of r.tokens) expect(t.top_guided[0].id).toBe(t.id);
  });

  it('KV-cached steps agree with one full pass (base and ARM)', async () => {
    const r = await engine.generate({ ...base, weights: { helpfulness: 1 }, score_arms: true });
    const prompt = engine.tokenizer.encodeChat(PROMPT);
    const ids = r.tokens.map((t) => t.id);
    const full = await tokenLogProbs(engine.platform.ort, engine.base, prompt, ids);
    const fullArm = await tokenLogProbs(engine.platform.ort, engine.arms.helpfulness!, prompt, ids);
    r.tokens.forEach((t, i) => {
      expect(t.logprob_base).toBeCloseTo(full[i], 4);
      expect(t.rewards.helpfulness!).toBeCloseTo(fullArm[i], 4);
    });
  });

  it('rewardsAfter fills ARM rewards outside the timed decode, equal to lockstep ones', async () => {
    const lock = await engine.generate({ ...base, weights: {}, score_arms: true });
    const after = await engine.generate({ ...base, weights: {}, score_arms: false }, { rewardsAfter: true });
    expect(after.tokens.map((t) => t.id)).toEqual(lock.tokens.map((t) => t.id));
    after.tokens.forEach((t, i) => {
      expect(t.rewards.harmlessness!).toBeCloseTo(lock.tokens[i].rewards.harmlessness!, 4);
    });
  });

  it('stops at max_tokens, and at a stop string with the string cut from the text', async () => {
    const long = await engine.generate({ ...base, max_tokens: 16 });
    expect(long.tokens).toHaveLength(16);
    expect(long.finish_reason).toBe('length');
    // pick a stop string from the middle of that text: the same seed reaches it again
    const text = long.text;
    const cut = long.tokens.slice(0, 6).map((t) => t.text).join('').length;
    const stop = text.slice(cut, cut + 3);
    expect(stop.length).toBe(3);
    const first = text.indexOf(stop);
    const r = await engine.generate({ ...base, max_tokens: 16, stop: [stop] });
    expect(r.finish_reason).toBe('stop');
    expect(r.text).toBe(text.slice(0, first));
  });

  it('aborts at a step boundary and returns what it has', async () => {
    const ctl = new AbortController();
    let n = 0;
    const r = await engine.generate({ ...base, max_tokens: 50 }, {
      signal: ctl.signal,
      onToken: () => {
        if (++n === 3) ctl.abort();
      },
    });
    expect(r.finish_reason).toBe('abort');
    expect(r.tokens).toHaveLength(3);
  });

  it('abort() stops the run in flight; a generate while one runs is refused, not queued (the worker host orders runs)', async () => {
    let n = 0;
    const run = engine.generate({ ...base, max_tokens: 50 }, { onToken: () => ++n === 3 && engine.abort() });
    await expect(engine.generate(base)).rejects.toThrow(/already in flight/);
    const r = await run;
    expect(r.finish_reason).toBe('abort');
    expect(r.tokens).toHaveLength(3);
    engine.abort(); // idle: nothing to stop, and the next run is not affected
    expect((await engine.generate(base)).finish_reason).not.toBe('abort');
  });

  it('truncates a prompt that does not fit the context from the left', async () => {
    // a budget of max_tokens near the context leaves room for only a few prompt tokens
    // (cheaper than an 8k-token prompt); stop after two tokens
    const ctx = engine.base.arch.max_position;
    const ctl = new AbortController();
    let n = 0;
    const r = await engine.generate({ ...base, max_tokens: ctx - 8 }, { signal: ctl.signal, onToken: () => ++n === 2 && ctl.abort() });
    expect(r.prompt_truncated).toBe(true);
    expect(r.prompt_tokens).toBe(8);
    expect(r.tokens).toHaveLength(2);
  });

  it('ARGS: greedy on log p_base + w * reward, batch-k RM rewards equal whole-sequence scores', async () => {
    const s: GenerateSettings = { ...base, decoder: 'args', weights: { helpfulness: 1 }, args_k: 10, args_w: 1.5, max_tokens: 6 };
    const r = await engine.generate(s);
    expect(r.tokens.length).toBeGreaterThan(0);
    const prompt = engine.tokenizer.encodeChat(PROMPT);
    const rm = (engine as unknown as { rms: Record<string, import('../causal-lm').CausalLM> }).rms.helpfulness;
    const p = await rmPrefill(engine.platform.ort, rm, prompt);
    for (let i = 0; i < r.tokens.length; i++) {
      const ids = r.tokens.slice(0, i + 1).map((t) => t.id);
      const whole = await rmScore(rm, p, ids);
      expect(r.tokens[i].rm_rewards!.helpfulness!).toBeCloseTo(whole, 4);
      // the chosen token has the best score among the base's top-k
      expect(r.tokens[i].top_guided[0].id).toBe(r.tokens[i].id);
    }
    // weight 0: no RM, greedy base
    const g = await engine.generate({ ...s, weights: {} });
    const greedy = await engine.generate({ ...base, decoder: 'base', temperature: 0, max_tokens: 6 });
    expect(g.tokens.map((t) => t.id)).toEqual(greedy.tokens.map((t) => t.id));
  });

  it('Best-of-N: N seeded samples, the winner maximises the weighted RM score', async () => {
    const s: GenerateSettings = { ...base, decoder: 'bon', bon_n: 3, weights: { helpfulness: 1, harmlessness: 0.5 }, max_tokens: 6 };
    const statuses: string[] = [];
    const r = await engine.generate(s, { onStatus: (m) => statuses.push(m) });
    expect(r.rm_scores).toBeDefined();
    expect(statuses.some((m) => m.includes('sample 3 of 3'))).toBe(true);
    const again = await engine.generate(s);
    expect(again.text).toBe(r.text);
    // the winner is one of the N base samples (stream i of the seed)
    const prompt = engine.tokenizer.encodeChat(PROMPT);
    const rms = (engine as unknown as { rms: Record<string, import('../causal-lm').CausalLM> }).rms;
    const h = await rmPrefill(engine.platform.ort, rms.helpfulness, prompt);
    const winnerScore = await rmScore(rms.helpfulness, h, r.tokens.map((t) => t.id));
    expect(r.rm_scores!.helpfulness!).toBeCloseTo(winnerScore, 4);
    // every weight 0: no RM runs and sample 0 wins, which is the base's own sample for the seed
    const plain = await engine.generate({ ...s, weights: {} });
    const own = await engine.generate({ ...base, decoder: 'base', max_tokens: 6 });
    expect(plain.text).toBe(own.text);
  });
});
