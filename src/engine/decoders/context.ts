// What every decoder gets: the loaded models, the prompt, the settings and the
// callbacks, plus the small state helpers they share.
import type { GenerateSettings, GenerationResult, Objective, TokenRecord } from '../types';
import type { CausalLM } from '../causal-lm';
import { lastLogits } from '../causal-lm';
import { emptyCache, type KVCache } from '../kv-cache';
import type { OrtRuntime } from '../ort';
import type { ChatTokenizer } from '../tokenizer';

/** Settings with every optional field filled in by the engine. */
export type ResolvedSettings = Required<Omit<GenerateSettings, 'stop'>> & { stop: string[] };

export interface DecodeContext {
  ort: OrtRuntime;
  tokenizer: ChatTokenizer;
  settings: ResolvedSettings;
  promptIds: number[];
  base: CausalLM;
  arms: Partial<Record<Objective, CausalLM>>;
  /** trajectory RMs; loaded by the engine before ARGS / Best-of-N run */
  rms: Partial<Record<Objective, CausalLM>>;
  eos: Set<number>;
  /** models may run concurrently (Node); the browser runs them one after another */
  parallel: boolean;
  signal: AbortSignal;
  onToken: (t: TokenRecord) => void;
  onStatus: (message: string) => void;
}

export interface DecodeOutcome {
  tokens: TokenRecord[];
  ids: number[];
  text: string;
  finish_reason: GenerationResult['finish_reason'];
  rm_scores?: GenerationResult['rm_scores'];
  /** performance.now() when the first token was ready (NaN if none) */
  firstTokenAt: number;
}

/** One model's position in a run: its cache and the logits of its last position. */
export interface LMState {
  lm: CausalLM;
  cache: KVCache;
  last: Float32Array;
}

export async function prefill(ort: OrtRuntime, lm: CausalLM, ids: number[]): Promise<LMState> {
  const r = await lm.forward([ids], emptyCache(ort, lm.arch));
  return { lm, cache: r.present, last: lastLogits(r) };
}

/** Feed one token to each state (the lockstep step). */
export async function advance(states: LMState[], id: number, parallel: boolean): Promise<void> {
  const one = async (s: LMState) => {
    const r = await s.lm.forward([[id]], s.cache);
    s.cache = r.present;
    s.last = lastLogits(r);
  };
  if (parallel) await Promise.all(states.map(one));
  else for (const s of states) await one(s);
}

export async function prefillAll(ctx: DecodeContext, lms: CausalLM[]): Promise<LMState[]> {
  if (ctx.parallel) return Promise.all(lms.map((lm) => prefill(ctx.ort, lm, ctx.promptIds)));
  const out: LMState[] = [];
  for (const lm of lms) out.push(await prefill(ctx.ort, lm, ctx.promptIds));
  return out;
}

/** Objectives whose weight is non-zero and whose model is loaded. */
export function weighted<T>(weights: Partial<Record<Objective, number>>, models: Partial<Record<Objective, T>>): Objective[] {
  return (Object.keys(models) as Objective[]).filter((o) => (weights[o] ?? 0) !== 0);
}
