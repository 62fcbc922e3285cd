// Scoring a finished response in one pass per model, instead of step by step:
// the ARMs' token-level rewards after the fact (Best-of-N winner, the CLI) and a
// trajectory RM's reward of a whole response.
import type { Objective, TokenRecord } from '../types';
import type { CausalLM, StepModel } from '../causal-lm';
import { logitsAt } from '../causal-lm';
import { logSoftmax } from '../math';
import { disposeCache, emptyCache, sharedView, type KVCache } from '../kv-cache';
import type { OrtRuntime } from '../ort';

/**
 * log pi(y_t | x, y_<t) for every response token, from one forward pass over
 * prompt + response[:-1] that keeps only the logits of the last n positions.
 */
export async function tokenLogProbs(ort: OrtRuntime, lm: StepModel, promptIds: number[], ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const input = [...promptIds, ...ids.slice(0, -1)];
  const r = await lm.forward([input], emptyCache(ort, lm.arch), ids.length);
  disposeCache(r.present);
  return ids.map((id, t) => logSoftmax(logitsAt(r, 0, t))[id]);
}

/** Fill rewards and shifts of records from a post-hoc pass of each ARM. */
export async function annotateWithArms(
  ort: OrtRuntime, arms: Partial<Record<Objective, StepModel>>, promptIds: number[], tokens: TokenRecord[],
): Promise<void> {
  const ids = tokens.map((t) => t.id);
  for (const [o, lm] of Object.entries(arms) as [Objective, StepModel][]) {
    const lp = await tokenLogProbs(ort, lm, promptIds, ids);
    tokens.forEach((t, i) => {
      t.rewards[o] = lp[i];
      t.shifts[o] = lp[i] - t.logprob_base;
    });
  }
}

/** A trajectory RM's prompt cache, reused (never freed by a step) for every response it scores. */
export interface RmPrompt {
  cache: KVCache;
  /** reward of the prompt alone: the score of an empty response */
  reward: number;
}

export async function rmPrefill(ort: OrtRuntime, rm: CausalLM, promptIds: number[]): Promise<RmPrompt> {
  const r = await rm.forward([promptIds], emptyCache(ort, rm.arch));
  if (!r.rewards) throw new Error(`model ${rm.id} has no 'rewards' output: is it a trajectory RM?`);
  return { cache: r.present, reward: r.rewards[r.rewards.length - 1] };
}

/** Reward of prompt + response: the RM's value at the last real token. */
export async function rmScore(rm: CausalLM, prompt: RmPrompt, ids: number[]): Promise<number> {
  if (ids.length === 0) return prompt.reward;
  const r = await rm.forward([ids], sharedView(prompt.cache));
  disposeCache(r.present);
  return r.rewards![ids.length - 1];
}
