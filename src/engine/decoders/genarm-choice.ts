// GenARM's choice of the next token, shared by GenARM, the plain base (every weight 0) and
// each Best-of-N sample. The loop that calls it once per token is token-loop.ts.
//
// Eq. 7 of the paper, multi-objective form (docs/METHOD.md, "Decoding (eq. 7)"):
//
//   scores_t = log_softmax(base_logits) + sum_i alpha_i * log_softmax(arm_i_logits)
//
// (combine.ts), then the processors in transformers.js order (processors.ts: repetition
// penalty, n-gram ban; temperature, top-k, top-p only when sampling), then one draw
// (sampler.ts), then the token's record (token-record.ts).
import type { Objective } from '../types';
import { logSoftmax } from '../math';
import { combineScores } from '../combine';
import { applyProcessors, buildProcessors } from '../processors';
import { drawToken } from '../sampler';
import { buildRecord } from '../token-record';
import type { Rng } from '../prng';
import type { DecodeContext, DecodeOutcome, LMState } from './context';
import { tokenLoop, type Choice, type TokenLoopOptions } from './token-loop';

export interface GuidedModels {
  base: LMState;
  /** ARMs stepped in lockstep, with their weight (0 = scored for the record only) */
  arms: { objective: Objective; alpha: number; state: LMState }[];
}

export interface GenarmLoopOptions extends TokenLoopOptions {
  rng: Rng;
}

/** The choice function for tokenLoop: eq. 7 on the models' last logits -> processors -> draw. */
export function genarmChoice(ctx: DecodeContext, m: GuidedModels, rng: Rng): (step: number, seen: readonly number[]) => Choice {
  const greedy = ctx.settings.temperature === 0;
  // the penalties apply in both modes, the warpers only when sampling (processors.ts)
  const processors = buildProcessors(ctx.settings);
  return (_step, seen) => {
    const baseLogp = logSoftmax(m.base.last);
    const armLogp: Partial<Record<Objective, Float32Array>> = {};
    for (const a of m.arms) armLogp[a.objective] = logSoftmax(a.state.last);
    // eq. 7: log p_base + sum_i alpha_i * log p_arm_i (alpha 0 is skipped: combine.ts)
    const combined = combineScores(baseLogp, m.arms.map((a) => ({ alpha: a.alpha, logp: armLogp[a.objective]! })));
    // combined is a fresh array: the processors rewrite it, never baseLogp / armLogp (the records')
    const draw = drawToken(applyProcessors(processors, combined, seen), greedy, rng);
    return {
      id: draw.id,
      record: (index, piece, ms) =>
        buildRecord(ctx.tokenizer, { index, id: draw.id, text: piece, baseLogp, armLogp, guidedProbs: draw.probs, ms }),
    };
  };
}

/** Runs the token loop with GenARM's choice; the base and every ARM advance in lockstep. */
export function decodeWithGenarmChoice(ctx: DecodeContext, m: GuidedModels, opt: GenarmLoopOptions): Promise<DecodeOutcome> {
  const states = [m.base, ...m.arms.map((a) => a.state)];
  return tokenLoop(ctx, states, opt, genarmChoice(ctx, m, opt.rng));
}
