// Numeric kernels over one row of vocabulary scores. Plain loops over typed arrays:
// they run once per model per step on ~49k floats, so they stay allocation-light.

/** log_softmax of a row, accumulated in float64 so that a sum of 49k terms stays exact enough. */
export function logSoftmax(row: Float32Array, out = new Float32Array(row.length)): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const logZ = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - logZ;
  return out;
}

/** softmax of a row; -Infinity entries get probability 0. */
export function softmax(row: Float32Array, out = new Float32Array(row.length)): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = Math.exp(row[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < row.length; i++) out[i] /= sum;
  return out;
}

/** Index of the largest value; the lowest index wins a tie (the same rule as torch.argmax on CPU). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (row[i] > bestValue) {
      bestValue = row[i];
      best = i;
    }
  }
  return best;
}

/**
 * Indices of the k largest values, largest first (ties: lower index first).
 * A bounded insertion list: O(V * k) with k small (5-50), no full sort of the vocabulary.
 */
export function topKIndices(row: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, row.length);
  if (n <= 0) return [];
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (idx.length === n) {
      if (!(v > val[n - 1])) continue;
      idx.pop();
      val.pop();
    }
    // insert keeping the list sorted; equal values keep the earlier index first
    let pos = idx.length;
    idx.push(i);
    val.push(v);
    while (pos > 0 && v > val[pos - 1]) {
      idx[pos] = idx[pos - 1];
      val[pos] = val[pos - 1];
      pos--;
    }
    idx[pos] = i;
    val[pos] = v;
  }
  return idx;
}

/** All indices sorted by value descending, ties by index: used where the whole order matters (top-p). */
export function sortedIndicesDesc(row: ArrayLike<number>, candidates?: number[]): number[] {
  const idx = candidates ?? Array.from({ length: row.length }, (_, i) => i);
  return idx.sort((a, b) => (row[b] - row[a]) || (a - b));
}
