// Logits processors in the transformers.js style: small functions that rewrite a row
// of scores in place, applied in order. They act on the guided scores (eq. 7 of
// GENARM.md), so truncation and temperature apply to the combined distribution.
import { softmax, sortedIndicesDesc } from './math';

export type LogitsProcessor = (scores: Float32Array) => void;

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
  temperature: number;
  top_k: number;
  top_p: number;
}

/** The processor list for a sampling run. Order follows transformers.js: temperature, top-k, top-p. */
export function buildProcessors(s: SamplingSettings): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (s.temperature > 0 && s.temperature !== 1) list.push(temperatureProcessor(s.temperature));
  if (s.top_k > 0) list.push(topKProcessor(s.top_k));
  if (s.top_p > 0 && s.top_p < 1) list.push(topPProcessor(s.top_p));
  return list;
}

export function applyProcessors(list: LogitsProcessor[], scores: Float32Array): Float32Array {
  for (const f of list) f(scores);
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
