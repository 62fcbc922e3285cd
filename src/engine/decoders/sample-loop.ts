// GenARM's token choice, shared by GenARM, the plain base and each Best-of-N sample:
// guided scores (eq. 7) -> processors (repetition penalty, n-gram ban; then temperature,
// top-k, top-p when sampling) -> draw; the loop itself is tokenLoop.
import type { Objective } from '../types';
import { logSoftmax } from '../math';
import { combineScores } from '../combine';
import { applyProcessors, buildProcessors } from '../processors';
import { drawToken } from '../sampler';
import { buildRecord } from '../token-record';
import type { Rng } from '../prng';
import type { DecodeContext, DecodeOutcome, LMState } from './context';
import { tokenLoop, type TokenLoopOptions } from './token-loop';

export interface LoopModels {
  base: LMState;
  /** ARMs stepped in lockstep, with their weight (0 = scored for the record only) */
  arms: { objective: Objective; alpha: number; state: LMState }[];
}

export interface LoopOptions extends TokenLoopOptions {
  rng: Rng;
}

export function sampleLoop(ctx: DecodeContext, m: LoopModels, opt: LoopOptions): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const greedy = s.temperature === 0;
  // the penalties apply in both modes, the warpers only when sampling (processors.ts)
  const processors = buildProcessors(s);
  const states = [m.base, ...m.arms.map((a) => a.state)];
  return tokenLoop(ctx, states, opt, (_step, seen) => {
    const baseLogp = logSoftmax(m.base.last);
    const armLogp: Partial<Record<Objective, Float32Array>> = {};
    for (const a of m.arms) armLogp[a.objective] = logSoftmax(a.state.last);
    const combined = combineScores(baseLogp, m.arms.map((a) => ({ alpha: a.alpha, logp: armLogp[a.objective]! })));
    // combined is a fresh array: the processors rewrite it, never baseLogp / armLogp (the records')
    const draw = drawToken(applyProcessors(processors, combined, seen), greedy, opt.rng);
    return {
      id: draw.id,
      record: (index, piece, ms) =>
        buildRecord(ctx.tokenizer, { index, id: draw.id, text: piece, baseLogp, armLogp, guidedProbs: draw.probs, ms }),
    };
  });
}
