// Turning processed scores into one token id.
import { argmax, softmax } from './math';
import type { Rng } from './prng';

export interface Draw {
  id: number;
  /** the distribution actually sampled from (softmax of the processed scores) */
  probs: Float32Array;
}

/**
 * Greedy when temperature is 0 (argmax of the scores, no randomness consumed),
 * otherwise inverse-CDF sampling with one uniform draw per step, scanning ids in
 * order so that equal probabilities and an equal draw give the same id everywhere.
 */
export function drawToken(scores: Float32Array, greedy: boolean, rng: Rng): Draw {
  const probs = softmax(scores);
  if (greedy) return { id: argmax(scores), probs };
  const u = rng();
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    cum += probs[i];
    if (u < cum) return { id: i, probs };
  }
  // rounding left cum a hair below 1: the last token with mass takes the remainder
  return { id: last >= 0 ? last : argmax(scores), probs };
}
