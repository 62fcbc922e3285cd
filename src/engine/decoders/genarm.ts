// GenARM (and the plain base, which is GenARM with every weight 0): the base and the
// ARMs advance in lockstep, each with its own KV cache.
import type { Objective } from '../types';
import { createRng } from '../prng';
import { prefillAll, type DecodeContext, type DecodeOutcome } from './context';
import { decodeWithGenarmChoice } from './genarm-choice';

export async function decodeGenarm(ctx: DecodeContext): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const guided = s.decoder === 'genarm';
  // an ARM runs when it steers (weight != 0) or when the caller wants every token scored
  const run = (Object.keys(ctx.arms) as Objective[])
    .map((objective) => ({ objective, alpha: guided ? s.weights[objective] ?? 0 : 0 }))
    .filter((a) => a.alpha !== 0 || s.score_arms);
  const startedAt = performance.now();
  const [base, ...armStates] = await prefillAll(ctx, [ctx.base, ...run.map((a) => ctx.arms[a.objective]!)]);
  return decodeWithGenarmChoice(
    ctx,
    { base, arms: run.map((a, i) => ({ ...a, state: armStates[i] })) },
    { rng: createRng(s.seed), stream: true, startedAt },
  );
}
