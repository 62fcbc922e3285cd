// Seeded pseudo-random numbers: the same seed and settings give the same text on
// every backend (given equal logits). xoshiro128** seeded through splitmix32, which
// spreads nearby seeds (0, 1, 2 ...) into unrelated states.

export type Rng = () => number;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator of floats in [0, 1) with 32 bits of randomness each. */
export function createRng(seed: number, stream = 0): Rng {
  // the stream number lets Best-of-N draw N independent samples from one user seed
  const init = splitmix32((Math.floor(seed) ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0);
  let a = init(), b = init(), c = init(), d = init();
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
