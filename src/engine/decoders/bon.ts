// Best-of-N baseline: N samples from the base (each with its own PRNG stream of the
// one seed, all continuing the same prompt cache), each scored once by the
// trajectory RM(s); the highest sum_o weight_o * RM_o wins. With every weight 0 no
// RM runs and the first sample wins (the base's own sample for that seed).
// Records stream only for the winner, once it is known.
import type { Objective } from '../types';
import { createRng } from '../prng';
import { disposeCache, sharedView } from '../kv-cache';
import { prefill, weighted, type DecodeContext, type DecodeOutcome } from './context';
import { decodeWithGenarmChoice } from './genarm-choice';
import { annotateWithArms, rmPrefill, rmScore } from './score';

export async function decodeBestOfN(ctx: DecodeContext): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const n = Math.max(1, s.bon_n);
  const startedAt = performance.now();
  const prompt = await prefill(ctx.ort, ctx.base, ctx.promptIds);
  const samples: DecodeOutcome[] = [];
  try {
    for (let i = 0; i < n; i++) {
      ctx.onStatus(`Best-of-${n}: sample ${i + 1} of ${n}`);
      const state = { lm: ctx.base, cache: sharedView(prompt.cache), last: prompt.last };
      const out = await decodeWithGenarmChoice(ctx, { base: state, arms: [] }, { rng: createRng(s.seed, i), stream: false, startedAt: i === 0 ? startedAt : performance.now() });
      if (out.finish_reason === 'abort') return { ...out, tokens: [], ids: [], text: '' };
      samples.push(out);
    }
  } finally {
    disposeCache(prompt.cache);
  }

  const objectives = weighted(s.weights, ctx.rms);
  const total = new Float64Array(n);
  const perRm: Partial<Record<Objective, number[]>> = {};
  for (const o of objectives) {
    ctx.onStatus(`Best-of-${n}: scoring with the ${o} RM`);
    const rm = ctx.rms[o]!;
    const p = await rmPrefill(ctx.ort, rm, ctx.promptIds);
    perRm[o] = [];
    for (let i = 0; i < n; i++) {
      if (ctx.signal.aborted) {
        disposeCache(p.cache);
        return { ...samples[0], tokens: [], ids: [], text: '', finish_reason: 'abort' };
      }
      const r = await rmScore(rm, p, samples[i].ids);
      perRm[o]!.push(r);
      total[i] += (s.weights[o] ?? 0) * r;
    }
    disposeCache(p.cache);
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (total[i] > total[best]) best = i;
  const win = samples[best];
  if (s.score_arms && Object.keys(ctx.arms).length) {
    ctx.onStatus(`Best-of-${n}: token rewards of the winner`);
    await annotateWithArms(ctx.ort, ctx.arms, ctx.promptIds, win.tokens);
  }
  for (const t of win.tokens) ctx.onToken(t);
  return { ...win, rm_scores: Object.fromEntries(objectives.map((o) => [o, perRm[o]![best]])) };
}
