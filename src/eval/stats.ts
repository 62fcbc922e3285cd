// Aggregation math for the benchmark and the alignment evaluation: means with standard
// errors, paired differences, ratios to a baseline, medians, and the Pareto front.
// Pure functions (unit-tested in stats.test.ts).

export interface MeanSE {
  mean: number;
  /** standard error of the mean: sample standard deviation / sqrt(n); 0 when n < 2 */
  se: number;
  n: number;
}

/** Mean and standard error; NaN values are dropped; an empty list gives mean NaN. */
export function meanSE(values: readonly number[]): MeanSE {
  const xs = values.filter((v) => !Number.isNaN(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, se: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, se: 0, n };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), n };
}

/**
 * Mean and SE of the per-item differences a[i] - b[i] (same prompts, same seeds: the
 * paired comparison removes prompt-to-prompt variance). Lengths must match.
 */
export function pairedDiff(a: readonly number[], b: readonly number[]): MeanSE {
  if (a.length !== b.length) throw new Error(`paired lists differ in length: ${a.length} vs ${b.length}`);
  return meanSE(a.map((x, i) => x - b[i]));
}

/** Fraction of true values (a rate), with its binomial standard error sqrt(p(1-p)/n). */
export function rate(flags: readonly boolean[]): MeanSE {
  const n = flags.length;
  if (n === 0) return { mean: NaN, se: NaN, n: 0 };
  const p = flags.filter(Boolean).length / n;
  return { mean: p, se: Math.sqrt((p * (1 - p)) / n), n };
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  if (xs.length === 0) return NaN;
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

/**
 * Mean time per decoded token over several runs, weighting each run by its token
 * count: sum(ms) / sum(tokens). Runs with no tokens add nothing.
 */
export function pooledMsPerToken(runs: readonly { ms: number; tokens: number }[]): number {
  let ms = 0;
  let tokens = 0;
  for (const r of runs) {
    if (r.tokens > 0) {
      ms += r.ms;
      tokens += r.tokens;
    }
  }
  return tokens > 0 ? ms / tokens : NaN;
}

/** value / baseline, NaN when either is missing or the baseline is 0. */
export function ratio(value: number, baseline: number): number {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return NaN;
  return value / baseline;
}

/**
 * Indices of the points no other point dominates when both coordinates are to be
 * maximised (x >= and y >= with one strictly greater), sorted by x.
 */
export function paretoFront(points: readonly { x: number; y: number }[]): number[] {
  const ok = points.map((p, i) => ({ ...p, i })).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const front = ok.filter((p) => !ok.some((q) => q.x >= p.x && q.y >= p.y && (q.x > p.x || q.y > p.y)));
  return front.sort((a, b) => a.x - b.x || a.y - b.y).map((p) => p.i);
}

/** Round to `digits` decimals (for JSON reports), keeping NaN as null-friendly NaN. */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * A deterministic, evenly spread subset: `n` items of `items` taken at a fixed stride
 * starting from `offset` (so the first n of a set are not all of one kind when the
 * file is sorted by category). n >= length returns everything.
 */
export function spreadSample<T>(items: readonly T[], n: number, offset = 0): T[] {
  if (n >= items.length) return [...items];
  const out: T[] = [];
  const stride = items.length / n;
  for (let i = 0; i < n; i++) out.push(items[(Math.floor(offset + i * stride)) % items.length]);
  return out;
}
