// The decoding math, without models: eq. 7 combination, processors, PRNG, stops.
import { describe, expect, it } from 'vitest';
import { argmax, logSoftmax, softmax, topKIndices } from '../math';
import { combineScores } from '../combine';
import { applyProcessors, buildProcessors, topKProcessor, topPProcessor } from '../processors';
import { createRng } from '../prng';
import { drawToken } from '../sampler';
import { findStop } from '../stop';
import { TextStream } from '../text-stream';

const row = (xs: number[]) => new Float32Array(xs);

function randomLogits(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng() - 0.5) * 20);
}

describe('logSoftmax / softmax', () => {
  it('normalises and matches a float64 reference', () => {
    const x = randomLogits(1000, 1);
    const lp = logSoftmax(x);
    let z = 0;
    for (const v of lp) z += Math.exp(v);
    expect(z).toBeCloseTo(1, 5);
    const max = Math.max(...x);
    const logZ = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
    for (let i = 0; i < 20; i++) expect(lp[i]).toBeCloseTo(x[i] - logZ, 5);
  });
  it('is shift invariant and handles huge logits', () => {
    const a = logSoftmax(row([1000, 1001, 1002]));
    const b = logSoftmax(row([0, 1, 2]));
    for (let i = 0; i < 3; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    expect(Array.from(softmax(row([0, -Infinity, 0])))).toEqual([0.5, 0, 0.5]);
  });
});

describe('GenARM combination (eq. 7)', () => {
  const base = logSoftmax(randomLogits(500, 2));
  const arm1 = logSoftmax(randomLogits(500, 3));
  const arm2 = logSoftmax(randomLogits(500, 4));

  it('is log_softmax(base) + sum alpha_i log_softmax(arm_i)', () => {
    const c = combineScores(base, [{ alpha: 0.8, logp: arm1 }, { alpha: 1, logp: arm2 }]);
    for (let i = 0; i < 500; i += 37) expect(c[i]).toBeCloseTo(base[i] + 0.8 * arm1[i] + arm2[i], 5);
  });
  it('alpha = 0 for every ARM gives the base log-probs bit for bit', () => {
    const c = combineScores(base, [{ alpha: 0, logp: arm1 }, { alpha: 0, logp: arm2 }]);
    expect(Array.from(c)).toEqual(Array.from(base));
  });
  it('an ARM with -Infinity and weight 0 does not poison the scores', () => {
    const bad = new Float32Array(500).fill(-Infinity);
    const c = combineScores(base, [{ alpha: 0, logp: bad }]);
    expect(c.every((v) => Number.isFinite(v))).toBe(true);
  });
  it('equals the reference parametrisation: normalised weights at temperature 1/(1+sum alpha)', () => {
    // The references are built from probabilities in float64, not from the log-space sum
    // under test (docs/METHOD.md, eq. 7): p ∝ p_base * p_1^a1 * p_2^a2, and the paper's
    // reference parametrisation of the same distribution, weights w = (1, a1, a2)/s at
    // temperature T = 1/s with s = 1 + a1 + a2: p ∝ (p_base^w0 * p_1^w1 * p_2^w2)^(1/T).
    const a1 = 0.2, a2 = 4, s = 1 + a1 + a2;
    const ours = softmax(combineScores(base, [{ alpha: a1, logp: arm1 }, { alpha: a2, logp: arm2 }]));
    const normalise = (q: number[]) => {
      const z = q.reduce((acc, v) => acc + v, 0);
      return q.map((v) => v / z);
    };
    const pb = Array.from(base, Math.exp), p1 = Array.from(arm1, Math.exp), p2 = Array.from(arm2, Math.exp);
    const product = normalise(pb.map((b, i) => b * p1[i] ** a1 * p2[i] ** a2));
    const tempered = normalise(pb.map((b, i) => (b ** (1 / s) * p1[i] ** (a1 / s) * p2[i] ** (a2 / s)) ** s));
    let compared = 0;
    for (let i = 0; i < 500; i++) {
      expect(tempered[i]).toBeCloseTo(product[i], 12);
      expect(ours[i]).toBeCloseTo(product[i], 6);
      // relative, where float32 still holds the probability: most are tiny, and an
      // absolute tolerance alone would let a wrong alpha through
      if (product[i] > 1e-30) {
        expect(Math.log(ours[i] / product[i])).toBeCloseTo(0, 4);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
    // not a trivial match: the guided distribution is far from the base one
    expect(pb.reduce((d, b, i) => d + Math.abs(b - product[i]), 0)).toBeGreaterThan(0.5);
  });
  it('with all weights 0 the sampled tokens equal plain sampling from the base', () => {
    const logits = randomLogits(500, 9);
    const lp = logSoftmax(logits);
    const procs = buildProcessors({ temperature: 0.7, top_k: 50, top_p: 0.9 });
    const r1 = createRng(5), r2 = createRng(5);
    for (let t = 0; t < 50; t++) {
      const guided = drawToken(applyProcessors(procs, combineScores(lp, [{ alpha: 0, logp: arm1 }])), false, r1).id;
      const plain = drawToken(applyProcessors(procs, new Float32Array(lp)), false, r2).id;
      expect(guided).toBe(plain);
    }
  });
});

describe('argmax / topK', () => {
  it('argmax takes the lowest index on ties', () => {
    expect(argmax(row([1, 3, 3, 2]))).toBe(1);
  });
  it('topKIndices returns the k largest in order', () => {
    const x = randomLogits(2000, 7);
    const ref = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b).slice(0, 5);
    expect(topKIndices(x, 5)).toEqual(ref);
    expect(topKIndices(row([5, 1]), 5)).toEqual([0, 1]);
    // ascending input: every element is inserted at the front
    expect(topKIndices(row([1, 2, 3, 4, 5, 6, 7]), 5)).toEqual([6, 5, 4, 3, 2]);
    expect(topKIndices(row([1, 2, 3]), 5)).toEqual([2, 1, 0]);
    expect(topKIndices(row([2, 2, 1, 2]), 2)).toEqual([0, 1]);
  });
});

describe('processors', () => {
  it('top-k keeps exactly k tokens', () => {
    const x = randomLogits(1000, 11);
    topKProcessor(10)(x);
    expect(x.filter((v) => v > -Infinity).length).toBe(10);
  });
  it('top-p keeps the smallest prefix reaching p', () => {
    // probs 0.5, 0.25, 0.125, 0.125
    const x = row([Math.log(0.5), Math.log(0.25), Math.log(0.125), Math.log(0.125)]);
    const a = new Float32Array(x);
    topPProcessor(0.7)(a);
    expect(Array.from(a).map((v) => v > -Infinity)).toEqual([true, true, false, false]);
    const b = new Float32Array(x);
    topPProcessor(0.4)(b);
    expect(Array.from(b).map((v) => v > -Infinity)).toEqual([true, false, false, false]);
  });
  it('temperature divides the scores', () => {
    const x = row([1, 2, 4]);
    applyProcessors(buildProcessors({ temperature: 2, top_k: 0, top_p: 1 }), x);
    expect(Array.from(x)).toEqual([0.5, 1, 2]);
  });
});

describe('seeded sampling', () => {
  it('the same seed and settings give the same tokens; another seed differs', () => {
    const logits = randomLogits(300, 12);
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 40 }, () => drawToken(new Float32Array(logits), false, rng).id);
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });
  it('the PRNG is uniform enough and streams are independent', () => {
    const r = createRng(1);
    let sum = 0;
    for (let i = 0; i < 10000; i++) sum += r();
    expect(sum / 10000).toBeCloseTo(0.5, 1);
    expect(createRng(1, 0)()).not.toBe(createRng(1, 1)());
  });
  it('sampling frequencies follow the distribution', () => {
    const p = [0.6, 0.3, 0.1];
    const logits = row(p.map(Math.log));
    const rng = createRng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[drawToken(logits, false, rng).id]++;
    counts.forEach((c, i) => expect(c / 20000).toBeCloseTo(p[i], 1));
  });
  it('greedy takes the argmax and consumes no randomness', () => {
    const rng = createRng(1);
    expect(drawToken(row([0, 5, 1]), true, rng).id).toBe(1);
    expect(rng()).toBe(createRng(1)());
  });
});

describe('stop strings and text streaming', () => {
  it('finds a stop string spanning tokens, only in the new text', () => {
    expect(findStop('Hello\n\nW', ['\n\n'], 2)).toBe(5);
    expect(findStop('Hello\n\nWorld', ['\n\n'], 3)).toBe(-1); // ended before the new text
    expect(findStop('abc', ['x'], 1)).toBe(-1);
    expect(findStop('a###b', ['###', 'b'], 5)).toBe(1);
    expect(findStop('abc', undefined, 3)).toBe(-1);
  });
  it('holds back incomplete characters and concatenates to the full text', () => {
    // a fake byte-level decoder: ids are UTF-8 bytes
    const dec = (ids: number[]) => new TextDecoder().decode(new Uint8Array(ids));
    const s = new TextStream(dec);
    const bytes = Array.from(new TextEncoder().encode('aé€b'));
    const pieces = bytes.map((b) => s.push(b));
    expect(pieces.join('') + s.flush()).toBe('aé€b');
    expect(pieces[1]).toBe(''); // first byte of é alone
  });
});
