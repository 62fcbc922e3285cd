// What every decoder gets: the loaded models, the prompt, the settings and the
// callbacks, plus the small state helpers they share.
import type { GenerateSettings, GenerationResult, Objective, TokenRecord } from '../types';
import type { CausalLM, StepModel } from '../causal-lm';
import { lastLogits } from '../causal-lm';
import { emptyCache, type KVCache } from '../kv-cache';
import { FusedRow, type FusedModel } from '../fused';
import type { OrtRuntime } from '../ort';
import type { ChatTokenizer } from '../tokenizer';

/** Settings with every optional field filled in by the engine. */
export type ResolvedSettings = Required<Omit<GenerateSettings, 'stop'>> & { stop: string[] };

export interface DecodeContext {
  ort: OrtRuntime;
  tokenizer: ChatTokenizer;
  settings: ResolvedSettings;
  promptIds: number[];
  /** a whole model, or a row of the fused graph (fused.ts) */
  base: StepModel;
  arms: Partial<Record<Objective, StepModel>>;
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

/**
 * One model's position in a run: its cache and the logits of its last position.
 * Rows of one fused graph stepped together share one batched cache object (row j of
 * the batch is the j-th of those states): `advance` runs them as one forward.
 */
export interface LMState {
  lm: StepModel;
  cache: KVCache;
  last: Float32Array;
  /** fused rows: this state's row in the shared batched cache */
  slot?: number;
}

export async function prefill(ort: OrtRuntime, lm: StepModel, ids: number[]): Promise<LMState> {
  const r = await lm.forward([ids], emptyCache(ort, lm.arch));
  return { lm, cache: r.present, last: lastLogits(r) };
}

/** Split states into fused groups (rows of one graph sharing a cache) and single models. */
function groups(states: LMState[]): { fused: FusedModel | null; members: LMState[] }[] {
  const out: { fused: FusedModel | null; members: LMState[] }[] = [];
  const byCache = new Map<KVCache, LMState[]>();
  for (const s of states) {
    if (s.lm instanceof FusedRow && s.slot !== undefined) {
      const g = byCache.get(s.cache);
      if (g) {
        g.push(s);
        continue;
      }
      const members = [s];
      byCache.set(s.cache, members);
      out.push({ fused: s.lm.model, members });
    } else {
      out.push({ fused: null, members: [s] });
    }
  }
  return out;
}

/** Feed one token to each state (the lockstep step): one batched forward per fused group. */
export async function advance(states: LMState[], id: number, parallel: boolean): Promise<void> {
  const one = async ({ fused, members }: { fused: FusedModel | null; members: LMState[] }) => {
    if (fused) {
      members.sort((a, b) => a.slot! - b.slot!);
      if (members.some((s, j) => s.slot !== j) || members[0].cache.batch !== members.length) {
        throw new Error(`fused graph ${fused.id}: the ${members.length} rows stepped do not match their shared cache of ${members[0].cache.batch}`);
      }
    }
    const rows = members.map((s) => (s.lm as FusedRow).row);
    const r = fused ? await fused.run(rows, rows.map(() => [id]), members[0].cache) : await members[0].lm.forward([[id]], members[0].cache);
    members.forEach((s, j) => {
      s.cache = r.present;
      s.last = lastLogits(r, j);
    });
  };
  const gs = groups(states);
  if (parallel) await Promise.all(gs.map(one));
  else for (const g of gs) await one(g);
}

/**
 * Prefill the prompt in each model. Rows of one fused graph are prefilled together,
 * as one batch of that graph whose cache they then share.
 */
export async function prefillAll(ctx: DecodeContext, lms: StepModel[]): Promise<LMState[]> {
  const out: LMState[] = new Array(lms.length);
  const jobs: (() => Promise<void>)[] = [];
  const fusedIdx = new Map<FusedModel, number[]>();
  lms.forEach((lm, i) => {
    if (lm instanceof FusedRow) {
      const g = fusedIdx.get(lm.model);
      if (g) g.push(i);
      else fusedIdx.set(lm.model, [i]);
    } else {
      jobs.push(async () => void (out[i] = await prefill(ctx.ort, lm, ctx.promptIds)));
    }
  });
  for (const [model, idx] of fusedIdx) {
    jobs.push(async () => {
      const rows = idx.map((i) => (lms[i] as FusedRow).row);
      const r = await model.run(rows, rows.map(() => ctx.promptIds), emptyCache(ctx.ort, model.arch, rows.length));
      idx.forEach((i, j) => (out[i] = { lm: lms[i], cache: r.present, last: lastLogits(r, j), slot: j }));
    });
  }
  if (ctx.parallel) await Promise.all(jobs.map((j) => j()));
  else for (const j of jobs) await j();
  return out;
}

/** Objectives whose weight is non-zero and whose model is loaded. */
export function weighted<T>(weights: Partial<Record<Objective, number>>, models: Partial<Record<Objective, T>>): Objective[] {
  return (Object.keys(models) as Objective[]).filter((o) => (weights[o] ?? 0) !== 0);
}
