// Building the per-token record the UI colours and the CLI prints.
import type { Alternative, Objective, TokenRecord } from './types';
import { topKIndices } from './math';
import type { ChatTokenizer } from './tokenizer';

export const TOP_ALTERNATIVES = 5;

export interface RecordInput {
  index: number;
  id: number;
  text: string;
  baseLogp: Float32Array;
  /** log-softmax of every ARM run this step */
  armLogp: Partial<Record<Objective, Float32Array>>;
  /** the distribution the token was drawn from */
  guidedProbs: Float32Array;
  ms: number;
}

export function alternatives(tok: ChatTokenizer, values: ArrayLike<number>, toProb: (v: number) => number): Alternative[] {
  return topKIndices(values, TOP_ALTERNATIVES).map((id) => ({ id, text: tok.tokenText(id), p: toProb(values[id]) }));
}

export function buildRecord(tok: ChatTokenizer, r: RecordInput): TokenRecord {
  const logprob_base = r.baseLogp[r.id];
  const rewards: TokenRecord['rewards'] = {};
  const shifts: TokenRecord['shifts'] = {};
  for (const [o, logp] of Object.entries(r.armLogp) as [Objective, Float32Array][]) {
    rewards[o] = logp[r.id];
    shifts[o] = logp[r.id] - logprob_base;
  }
  return {
    index: r.index,
    id: r.id,
    text: r.text,
    logprob_base,
    rewards,
    shifts,
    p_guided: r.guidedProbs[r.id],
    p_base: Math.exp(logprob_base),
    top_base: alternatives(tok, r.baseLogp, Math.exp),
    top_guided: alternatives(tok, r.guidedProbs, (p) => p),
    ms: r.ms,
  };
}
