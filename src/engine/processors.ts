// Logits processors in the transformers.js style: small functions that rewrite a row
// of scores in place, applied in order. They act on the guided scores (eq. 7 in
// docs/METHOD.md), so the penalties, truncation and temperature apply to the combined
// distribution.
import { softmax, sortedIndicesDesc } from './math';

/**
 * Rewrites one row of scores in place. `inputIds` is the whole sequence the models have
 * seen (the chat-templated prompt, then the tokens generated so far), what transformers.js
 * passes as `input_ids`; only the repetition processors read it.
 */
export type LogitsProcessor = (scores: Float32Array, inputIds?: readonly number[]) => void;

/**
 * transformers.js RepetitionPenaltyLogitsProcessor (= HF transformers'): every distinct id
 * of the sequence, prompt included, once: score < 0 ? score * penalty : score / penalty.
 * The guided scores are log-probs (<= 0) plus weighted ARM log-probs, so in practice a
 * penalty > 1 multiplies, i.e. pushes a seen token further down.
 */
export function repetitionPenaltyProcessor(penalty: number): LogitsProcessor {
  return (scores, inputIds = []) => {
    if (penalty === 1) return;
    for (const id of new Set(inputIds)) {
      if (id < 0 || id >= scores.length) continue;
      scores[id] = scores[id] < 0 ? scores[id] * penalty : scores[id] / penalty;
    }
  };
}

/**
 * The tokens an n-gram ban forbids next, exactly transformers.js NoRepeatNGramLogitsProcessor
 * (getNgrams / getGeneratedNgrams / calcBannedNgramTokens, HF's _get_ngrams and
 * _calc_banned_ngram_tokens): the prefix is the last n-1 ids; every id that followed that
 * (n-1)-gram anywhere earlier in the sequence is banned. Nothing is banned while
 * length + 1 < n. For n = 1 the prefix is empty: every id seen so far is banned.
 * Returns distinct ids in order of first occurrence.
 */
export function bannedNgramTokens(ids: readonly number[], n: number): number[] {
  const len = ids.length;
  if (n <= 0 || len + 1 < n) return [];
  const prefixAt = len - (n - 1);
  const banned = new Set<number>();
  // every n-gram ids[j .. j+n-1] (j + n <= len) whose first n-1 ids equal the prefix
  for (let j = 0; j + n <= len; j++) {
    let same = true;
    for (let k = 0; k < n - 1; k++) {
      if (ids[j + k] !== ids[prefixAt + k]) {
        same = false;
        break;
      }
    }
    if (same) banned.add(ids[j + n - 1]);
  }
  return [...banned];
}

/** transformers.js NoRepeatNGramLogitsProcessor: an n-gram of the sequence cannot occur twice (-Infinity). */
export function noRepeatNGramProcessor(n: number): LogitsProcessor {
  return (scores, inputIds = []) => {
    for (const id of bannedNgramTokens(inputIds, n)) if (id >= 0 && id < scores.length) scores[id] = -Infinity;
  };
}

/** Divide by the temperature (T > 0; T = 0 means greedy and is handled by the sampler). */
export function temperatureProcessor(t: number): LogitsProcessor {
  return (scores) => {
    if (t === 1) return;
    const inv = 1 / t;
    for (let i = 0; i < scores.length; i++) scores[i] *= inv;
  };
}

/** Keep the k highest scores (ties at the boundary broken by lower index), -Infinity elsewhere. */
export function topKProcessor(k: number): LogitsProcessor {
  return (scores) => {
    if (k <= 0 || k >= scores.length) return;
    const keep = new Uint8Array(scores.length);
    for (const i of sortedIndicesDesc(scores, candidatesAbove(scores, k)).slice(0, k)) keep[i] = 1;
    for (let i = 0; i < scores.length; i++) if (!keep[i]) scores[i] = -Infinity;
  };
}

/** Nucleus: keep the smallest set of most likely tokens whose probability reaches p (at least one). */
export function topPProcessor(p: number): LogitsProcessor {
  return (scores) => {
    if (p >= 1) return;
    const probs = softmax(scores);
    // tokens below max - 50 in log space hold < 49152 * e^-50 of the mass: never needed to reach p < 1
    const order = sortedIndicesDesc(scores, candidatesWithin(scores, 50));
    const keep = new Uint8Array(scores.length);
    let cum = 0;
    for (const i of order) {
      keep[i] = 1;
      cum += probs[i];
      if (cum >= p) break;
    }
    for (let i = 0; i < scores.length; i++) if (!keep[i]) scores[i] = -Infinity;
  };
}

export interface SamplingSettings {
  /** 0 = greedy: no warpers (temperature, top-k, top-p), the penalties still apply */
  temperature: number;
  top_k: number;
  top_p: number;
  /** 1 (or absent) = off */
  repetition_penalty?: number;
  /** 0 (or absent) = off */
  no_repeat_ngram_size?: number;
}

/**
 * The processors that change which token wins, in greedy and sampling runs alike, in the
 * order of transformers.js `_get_logits_processor`: RepetitionPenaltyLogitsProcessor, then
 * NoRepeatNGramLogitsProcessor. Empty when both are off.
 */
export function buildPenaltyProcessors(s: Pick<SamplingSettings, 'repetition_penalty' | 'no_repeat_ngram_size'>): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  const penalty = s.repetition_penalty ?? 1;
  const n = s.no_repeat_ngram_size ?? 0;
  if (penalty !== 1) list.push(repetitionPenaltyProcessor(penalty));
  if (n > 0) list.push(noRepeatNGramProcessor(n));
  return list;
}

/**
 * The processor list of a run: the penalties (both modes), then, when sampling
 * (temperature > 0), the warpers in transformers.js order: temperature, top-k, top-p.
 * A greedy run takes the argmax of what the penalties leave (the warpers keep the argmax,
 * and leaving them out keeps greedy records' p_guided at temperature 1).
 */
export function buildProcessors(s: SamplingSettings): LogitsProcessor[] {
  const list = buildPenaltyProcessors(s);
  if (s.temperature === 0) return list;
  if (s.temperature > 0 && s.temperature !== 1) list.push(temperatureProcessor(s.temperature));
  if (s.top_k > 0) list.push(topKProcessor(s.top_k));
  if (s.top_p > 0 && s.top_p < 1) list.push(topPProcessor(s.top_p));
  return list;
}

export function applyProcessors(list: LogitsProcessor[], scores: Float32Array, inputIds: readonly number[] = []): Float32Array {
  for (const f of list) f(scores, inputIds);
  return scores;
}

/** Indices with a finite score within `margin` of the best: the only ones that can matter. */
function candidatesWithin(scores: Float32Array, margin: number): number[] {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] >= max - margin && scores[i] > -Infinity) out.push(i);
  return out;
}

/** Enough candidates to contain the top k: everything at or above the k-th largest value. */
function candidatesAbove(scores: Float32Array, k: number): number[] {
  // if k entries lie within 20 of the max, the k-th largest does too, so the top k are
  // among them: this avoids sorting all 49k entries on the usual peaked distribution
  const near = candidatesWithin(scores, 20);
  if (near.length >= k) return near;
  return Array.from({ length: scores.length }, (_, i) => i);
}
