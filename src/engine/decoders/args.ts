// ARGS baseline (Khanov et al.): at each step take the base's top-k next tokens,
// score all k with the trajectory RM(s) in one batch-k step that reuses the RM's
// prefix cache, and pick greedily by  log p_base + w * reward, where
// reward = sum_o weight_o * RM_o(x, y_<t, candidate) over objectives with weight != 0.
// With every weight 0 it is greedy decoding of the base.
// The repetition penalty and the n-gram ban (processors.ts) act on ARGS's own score, as
// they act on GenARM's guided score: a banned continuation never takes a candidate slot,
// and the penalty rewrites the candidates' scores before the argmax.
import type { Objective } from '../types';
import { argmax, logSoftmax, softmax, topKIndices } from '../math';
import { disposeCache, selectRow, tileCache, type KVCache } from '../kv-cache';
import { alternatives, buildRecord } from '../token-record';
import { applyProcessors, bannedNgramTokens, buildPenaltyProcessors } from '../processors';
import { prefillAll, weighted, type DecodeContext, type DecodeOutcome, type LMState } from './context';
import { rmPrefill } from './score';
import { tokenLoop } from './token-loop';

export async function decodeArgs(ctx: DecodeContext): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const k = Math.max(1, s.args_k);
  const objectives = weighted(s.weights, ctx.rms);
  const scoreArms = s.score_arms ? (Object.keys(ctx.arms) as Objective[]) : [];
  const startedAt = performance.now();
  const [base, ...armStates] = await prefillAll(ctx, [ctx.base, ...scoreArms.map((o) => ctx.arms[o]!)]);
  const rmCaches: Partial<Record<Objective, KVCache>> = {};
  for (const o of objectives) rmCaches[o] = (await rmPrefill(ctx.ort, ctx.rms[o]!, ctx.promptIds)).cache;

  const states: LMState[] = [base, ...armStates];
  const penalties = buildPenaltyProcessors(s);
  try {
    return await tokenLoop(ctx, states, { stream: true, startedAt }, async (_step, seen) => {
      const baseLogp = logSoftmax(base.last);
      let pool = baseLogp;
      if (s.no_repeat_ngram_size > 0) {
        const banned = bannedNgramTokens(seen, s.no_repeat_ngram_size);
        if (banned.length) {
          pool = new Float32Array(baseLogp);
          for (const id of banned) pool[id] = -Infinity;
        }
      }
      const cands = topKIndices(pool, k);
      const reward = new Float64Array(cands.length);
      const perRm: Partial<Record<Objective, Float32Array>> = {};
      const presents: Partial<Record<Objective, KVCache>> = {};
      for (const o of objectives) {
        const tiled = await tileCache(ctx.ort, rmCaches[o]!, cands.length);
        const r = await ctx.rms[o]!.forward(cands.map((c) => [c]), tiled);
        perRm[o] = r.rewards!;
        presents[o] = r.present;
        for (let j = 0; j < cands.length; j++) reward[j] += (s.weights[o] ?? 0) * r.rewards![j];
      }
      let scores = new Float32Array(cands.map((c, j) => baseLogp[c] + s.args_w * reward[j]));
      if (penalties.length) {
        // the processors index by token id: lay the candidates out over the vocabulary
        const row = new Float32Array(baseLogp.length).fill(-Infinity);
        cands.forEach((c, j) => (row[c] = scores[j]));
        applyProcessors(penalties, row, seen);
        scores = new Float32Array(cands.map((c) => row[c]));
      }
      const best = argmax(scores);
      const id = cands[best];
      for (const o of objectives) {
        const chosen = await selectRow(ctx.ort, presents[o]!, best);
        disposeCache(presents[o]);
        disposeCache(rmCaches[o]);
        rmCaches[o] = chosen;
      }
      return {
        id,
        record: (index, piece, ms) => {
          // the distribution ARGS ranks: softmax of the candidate scores, 0 outside the top k
          const candProbs = softmax(scores);
          const guidedProbs = new Float32Array(baseLogp.length);
          cands.forEach((c, j) => (guidedProbs[c] = candProbs[j]));
          const armLogp: Partial<Record<Objective, Float32Array>> = {};
          scoreArms.forEach((o, i) => (armLogp[o] = logSoftmax(armStates[i].last)));
          const record = buildRecord(ctx.tokenizer, { index, id, text: piece, baseLogp, armLogp, guidedProbs, ms });
          record.top_guided = alternatives(ctx.tokenizer, guidedProbs, (p) => p);
          record.rm_rewards = Object.fromEntries(objectives.map((o) => [o, perRm[o]![best]]));
          return record;
        },
      };
    });
  } finally {
    for (const o of objectives) disposeCache(rmCaches[o]);
  }
}
