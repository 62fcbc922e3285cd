// The page's settings: defaults, the ranges the controls offer, and how they become the
// engine's GenerateSettings. Pure values and functions, shared by the slices (slices/)
// and re-exported by store.ts.
import type { AdapterInfo, BuiltinObjective, GenerateSettings, Objective } from '../engine/types';
import { PROMPT_PRESETS } from './presets';
import type { LoadSlice, UiSettings } from './types';

/** The suites' own objectives (a user's ARM adds `user:NAME`: slices/arms.ts). */
export const OBJECTIVES: BuiltinObjective[] = ['helpfulness', 'harmlessness'];

/**
 * The page's repetition controls when a URL does not set them: the one place to change
 * them. Chosen from the evaluation (reports/steering-penalties.md: 24 held-out prompts per
 * set, 48 tokens, the same seeds): at the default (0.8, 1) and T 0.7 a penalty of 1.2 cuts
 * the answers that repeat a 5-word run from 8% / 12% (harmful / benign) to 4% / 1% with the
 * same evasion rates (27% / 6% against 29% / 4%) and RM-helpfulness over the sharpened base
 * +0.07 ± 0.11 instead of -0.10 ± 0.09. The 3-gram ban removes every repeat too, but reading
 * its answers shows what it costs at the token level ("passportcard", "cofounder",
 * "TikToKi": the ban pushes the model to other spellings), so it stays off. The paper's
 * exact setting (no penalty) is PAPER_REPETITION, one click away.
 */
export const REPETITION_DEFAULTS: Pick<UiSettings, 'repetition_penalty' | 'no_repeat_ngram_size'> = {
  repetition_penalty: 1.2,
  no_repeat_ngram_size: 0,
};

/** The paper decodes with eq. 7 alone: no repetition penalty, no n-gram ban (the "Paper's setting" button). */
export const PAPER_REPETITION: Pick<UiSettings, 'repetition_penalty' | 'no_repeat_ngram_size'> = {
  repetition_penalty: 1,
  no_repeat_ngram_size: 0,
};

/** The page offers these ranges (Controls.tsx); the URL and the setters clamp to them. */
export const REPETITION_PENALTY_RANGE = { min: 1, max: 2, step: 0.05 } as const;
export const NGRAM_RANGE = { min: 0, max: 8 } as const;

export const DEFAULT_SETTINGS: UiSettings = {
  prompt: PROMPT_PRESETS[0].prompt,
  weights: { helpfulness: 0.8, harmlessness: 1 },
  decoder: 'genarm',
  // the paper samples at 1; at 135M that reads as noise, 0.7 keeps sampling but stays readable
  temperature: 0.7,
  ...REPETITION_DEFAULTS,
  max_tokens: 48,
  seed: 42,
  args_k: 10,
  args_w: 1,
  bon_n: 4,
};

/** Objectives that the loaded suite has an ARM for, then the user's own ARMs (slices/arms.ts) in the order added. */
export function availableObjectives(s: Pick<LoadSlice, 'load' | 'suite'> & { userArms?: Pick<AdapterInfo, 'objective'>[] }): Objective[] {
  const m = s.load.manifest;
  const suite = m && s.suite ? m.suites[s.suite] : undefined;
  if (!suite) return [];
  return [...OBJECTIVES.filter((o) => !!suite.arms[o]), ...(s.userArms ?? []).map((a) => a.objective)];
}

/** A user ARM's objective (`user:NAME`, engine.ts addAdapter) */
export function isUserObjective(o: string): o is `user:${string}` {
  return o.startsWith('user:');
}

/** What the page calls an objective: a user ARM by its name. */
export function objectiveName(o: Objective): string {
  return isUserObjective(o) ? o.slice('user:'.length) : o;
}

export function hasRewardModels(s: Pick<LoadSlice, 'load' | 'suite'>): boolean {
  const m = s.load.manifest;
  const suite = m && s.suite ? m.suites[s.suite] : undefined;
  return !!suite && Object.keys(suite.rms).length > 0;
}

export function toEngineSettings(s: UiSettings, available: Objective[]): GenerateSettings {
  const weights: Partial<Record<Objective, number>> = {};
  for (const o of OBJECTIVES) weights[o] = available.includes(o) ? s.weights[o] : 0;
  // a user ARM is weighed while it is loaded (an unloaded one would be refused by the engine)
  for (const o of available) if (isUserObjective(o)) weights[o] = s.weights[o] ?? 0;
  const out: GenerateSettings = {
    prompt: s.prompt,
    weights,
    decoder: s.decoder,
    temperature: s.temperature,
    top_k: 0,
    top_p: 1,
    repetition_penalty: s.repetition_penalty,
    no_repeat_ngram_size: s.no_repeat_ngram_size,
    seed: s.seed,
    max_tokens: s.max_tokens,
    // every loaded ARM scores every token, so the heatmap has both shifts at any weight
    score_arms: true,
  };
  if (s.decoder === 'args') {
    out.args_k = s.args_k;
    out.args_w = s.args_w;
  }
  if (s.decoder === 'bon') out.bon_n = s.bon_n;
  return out;
}

export function clampPenalty(p: number): number {
  const { min, max } = REPETITION_PENALTY_RANGE;
  return Number.isFinite(p) ? Math.min(max, Math.max(min, p)) : REPETITION_DEFAULTS.repetition_penalty;
}

export function clampNgram(n: number): number {
  const { min, max } = NGRAM_RANGE;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : REPETITION_DEFAULTS.no_repeat_ngram_size;
}

export function randomSeed(): number {
  const a = new Uint32Array(1);
  if (typeof crypto !== 'undefined' && crypto.getRandomValues) crypto.getRandomValues(a);
  else a[0] = Math.floor(Math.random() * 2 ** 31);
  return a[0] % 2 ** 31;
}

export function errMessage(e: unknown): { message: string; file?: string } {
  if (e && typeof e === 'object') {
    const o = e as { message?: unknown; file?: unknown };
    return {
      message: typeof o.message === 'string' ? o.message : String(e),
      file: typeof o.file === 'string' ? o.file : undefined,
    };
  }
  return { message: String(e) };
}
