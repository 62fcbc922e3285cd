// The repetition penalty and the no-repeat-n-gram ban (processors.ts) on hand-computed
// rows, their place in the processor order, and the n-gram ban against a transcription of
// transformers.js NoRepeatNGramLogitsProcessor (its Map of JSON-keyed prefixes).
import { describe, expect, it } from 'vitest';
import {
  applyProcessors, bannedNgramTokens, buildPenaltyProcessors, buildProcessors, noRepeatNGramProcessor,
  repetitionPenaltyProcessor,
} from '../processors';
import { createRng } from '../prng';
import { drawToken } from '../sampler';

const row = (xs: number[]) => new Float32Array(xs);

describe('repetition penalty (RepetitionPenaltyLogitsProcessor)', () => {
  it('multiplies negative and divides positive scores of seen ids, once per distinct id', () => {
    // prompt [1, 2], answer so far [2, 5]: ids 1, 2, 5 are seen (2 twice: still penalised once)
    const x = row([-1, 2, -0.5, 0, 3, -4]);
    repetitionPenaltyProcessor(2)(x, [1, 2, 2, 5]);
    expect(Array.from(x)).toEqual([-1, 1, -1, 0, 3, -8]);
  });
  it('a penalty below 1 favours seen ids; 0 and -Infinity stay as they are', () => {
    const x = row([-2, 4, 0, -Infinity, 1, 1]);
    repetitionPenaltyProcessor(0.5)(x, [0, 1, 2, 3]);
    expect(Array.from(x)).toEqual([-1, 8, 0, -Infinity, 1, 1]);
  });
  it('penalty 1 and an empty sequence leave the row untouched', () => {
    const x = row([-1, 2, -0.5, 0, 3, -4]);
    repetitionPenaltyProcessor(1)(x, [0, 1, 2]);
    repetitionPenaltyProcessor(1.3)(x, []);
    expect(Array.from(x)).toEqual([-1, 2, -0.5, 0, 3, -4]);
  });
});

describe('no-repeat n-gram (NoRepeatNGramLogitsProcessor)', () => {
  it('bans exactly the ids that followed the last n-1 ids before', () => {
    // bigrams starting with the last id 1: (1,2) and (1,3)
    expect(bannedNgramTokens([0, 1, 2, 0, 1, 3, 1], 2)).toEqual([2, 3]);
    // trigrams starting with (4,5): (4,5,1) only
    expect(bannedNgramTokens([4, 5, 1, 4, 5], 3)).toEqual([1]);
    // the prefix (2,0) was followed by 4 once
    expect(bannedNgramTokens([1, 2, 0, 4, 2, 0], 3)).toEqual([4]);
    // the prefix (2,0) never occurred before: nothing to ban
    expect(bannedNgramTokens([1, 2, 3, 4, 2, 0], 3)).toEqual([]);
  });
  it('counts n-grams in the prompt and across the prompt/answer boundary', () => {
    // prompt [3,4,5], answer [2,3,4]: the answer's (3,4) was followed by 5 in the prompt
    expect(bannedNgramTokens([3, 4, 5, /* answer */ 2, 3, 4], 3)).toEqual([5]);
    // prompt [0,1], answer [2,5,1,2]: (1,2,5) straddles the boundary
    expect(bannedNgramTokens([0, 1, /* answer */ 2, 5, 1, 2], 3)).toEqual([5]);
  });
  it('n larger than the sequence bans nothing; n = 1 bans every seen id', () => {
    expect(bannedNgramTokens([1, 2], 4)).toEqual([]);
    expect(bannedNgramTokens([1, 2], 3)).toEqual([]); // length + 1 = n, but no trigram yet
    expect(bannedNgramTokens([], 2)).toEqual([]);
    expect(bannedNgramTokens([2, 2, 4], 1)).toEqual([2, 4]);
  });
  it('sets the banned scores to -Infinity and nothing else', () => {
    const x = row([-1, -2, -3, -4, -5, -6]);
    noRepeatNGramProcessor(2)(x, [0, 1, 2, 0, 1, 3, 1]);
    expect(Array.from(x)).toEqual([-1, -2, -Infinity, -Infinity, -5, -6]);
  });
  it('agrees with a transcription of transformers.js getNgrams / calcBannedNgramTokens', () => {
    // transformers.js: Map from JSON.stringify(prefix) to the ids that followed it
    const reference = (ids: number[], n: number): number[] => {
      if (ids.length + 1 < n) return [];
      const map = new Map<string, number[]>();
      for (let j = 0; j < ids.length + 1 - n; j++) {
        const ngram = ids.slice(j, j + n);
        const key = JSON.stringify(ngram.slice(0, -1));
        map.set(key, [...(map.get(key) ?? []), ngram[n - 1]]);
      }
      return map.get(JSON.stringify(ids.slice(ids.length + 1 - n))) ?? [];
    };
    const rng = createRng(3);
    for (let trial = 0; trial < 500; trial++) {
      const len = Math.floor(rng() * 30);
      const ids = Array.from({ length: len }, () => Math.floor(rng() * 4));
      const n = 1 + Math.floor(rng() * 5);
      expect(bannedNgramTokens(ids, n)).toEqual([...new Set(reference(ids, n))]);
    }
  });
});

describe('processor list', () => {
  it('penalty 1 and n-gram 0 add nothing: greedy has no processor, sampling the same warpers as before', () => {
    expect(buildPenaltyProcessors({ repetition_penalty: 1, no_repeat_ngram_size: 0 })).toHaveLength(0);
    expect(buildPenaltyProcessors({})).toHaveLength(0);
    expect(buildProcessors({ temperature: 0, top_k: 50, top_p: 0.9, repetition_penalty: 1, no_repeat_ngram_size: 0 })).toHaveLength(0);
    const x = row([-1, 2, -0.5, 0, 3, -4]);
    applyProcessors(buildProcessors({ temperature: 1, top_k: 0, top_p: 1, repetition_penalty: 1, no_repeat_ngram_size: 0 }), x, [0, 1, 2, 1, 2]);
    expect(Array.from(x)).toEqual([-1, 2, -0.5, 0, 3, -4]);
    expect(buildProcessors({ temperature: 0.7, top_k: 50, top_p: 0.9, repetition_penalty: 1, no_repeat_ngram_size: 0 })).toHaveLength(3);
  });
  it('greedy keeps the penalties and drops the warpers', () => {
    expect(buildProcessors({ temperature: 0, top_k: 2, top_p: 0.5, repetition_penalty: 1.2, no_repeat_ngram_size: 3 })).toHaveLength(2);
    expect(buildProcessors({ temperature: 0.5, top_k: 2, top_p: 0.5, repetition_penalty: 1.2, no_repeat_ngram_size: 3 })).toHaveLength(5);
  });
  it('applies the penalty, then the n-gram ban, then temperature', () => {
    // sequence [1, 3, 1]: seen {1, 3}; bigram (1,3) bans 3 after the last 1
    const x = row([-1, -2, -3, -4, -5, -6]);
    applyProcessors(buildProcessors({ temperature: 2, top_k: 0, top_p: 1, repetition_penalty: 3, no_repeat_ngram_size: 2 }), x, [1, 3, 1]);
    expect(Array.from(x)).toEqual([-0.5, -3, -1.5, -Infinity, -2.5, -3]);
  });
  it('greedy takes the argmax of the processed scores', () => {
    const procs = buildProcessors({ temperature: 0, top_k: 0, top_p: 1, no_repeat_ngram_size: 2 });
    // id 4 is best, but (2,4) occurred: the next best, id 0, wins
    const d = drawToken(applyProcessors(procs, row([-2, -3, -4, -5, -1, -6]), [2, 4, 2]), true, createRng(1));
    expect(d.id).toBe(0);
    expect(d.probs[4]).toBe(0);
    // a strong penalty moves greedy off a seen token too
    const p = buildProcessors({ temperature: 0, top_k: 0, top_p: 1, repetition_penalty: 3 });
    expect(drawToken(applyProcessors(p, row([-2, -3, -4, -5, -1, -6]), [4]), true, createRng(1)).id).toBe(0);
  });
});
