// GenARM's guided next-token scores (docs/METHOD.md, eq. 7, multi-objective form):
//   log_softmax(base) + sum_i alpha_i * log_softmax(arm_i)
// Sampling from softmax of this at temperature 1 is the paper's distribution.

export interface WeightedLogProbs {
  alpha: number;
  logp: Float32Array;
}

/**
 * Terms with alpha 0 are skipped rather than multiplied, so that an ARM that puts
 * -Infinity on a token cannot turn it into NaN, and all-zero weights return the base
 * log-probs bit for bit.
 */
export function combineScores(baseLogp: Float32Array, arms: WeightedLogProbs[]): Float32Array {
  const out = new Float32Array(baseLogp);
  for (const { alpha, logp } of arms) {
    if (alpha === 0) continue;
    if (logp.length !== out.length) throw new Error(`vocabulary mismatch: base ${out.length}, ARM ${logp.length}`);
    for (let i = 0; i < out.length; i++) out[i] += alpha * logp[i];
  }
  return out;
}
