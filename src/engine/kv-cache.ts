// Key/value caches of one causal model, in the layout of the exported graphs:
// past_key_values.{i}.key / .value, float32 [batch, num_kv_heads, length, head_dim].
import type { ModelArch } from './types';
import type { OrtRuntime, Tensor } from './ort';

export interface KVCache {
  /** layer 0 key, layer 0 value, layer 1 key, ... */
  tensors: Tensor[];
  /** number of cached positions */
  length: number;
  batch: number;
  /**
   * A shared cache is owned by someone else (a prompt cache reused by every
   * Best-of-N sample): the step that consumes it must not dispose it.
   */
  shared: boolean;
}

export function pastName(layer: number, kind: 'key' | 'value'): string {
  return `past_key_values.${layer}.${kind}`;
}
export function presentName(layer: number, kind: 'key' | 'value'): string {
  return `present.${layer}.${kind}`;
}

/** The empty cache of the first step: tensors with a 0-length sequence dim (float16 for a graph whose cache is: hub.ts). */
export function emptyCache(ort: OrtRuntime, arch: ModelArch, batch = 1): KVCache {
  const tensors: Tensor[] = [];
  for (let i = 0; i < arch.num_layers * 2; i++) {
    const dims = [batch, arch.num_kv_heads, 0, arch.head_dim];
    tensors.push(arch.kv_dtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims));
  }
  return { tensors, length: 0, batch, shared: false };
}

export function disposeCache(cache: KVCache | null | undefined): void {
  if (!cache || cache.shared) return;
  for (const t of cache.tensors) t.dispose();
  cache.tensors = [];
}

/** A view that a step may read but not free. */
export function sharedView(cache: KVCache): KVCache {
  return { ...cache, shared: true };
}

async function cpuData(t: Tensor): Promise<Float32Array> {
  // GPU-resident tensors must be downloaded first; CPU ones expose .data directly
  return (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array;
}

/** Repeat a batch-1 cache k times along the batch dim (ARGS scores k candidates at once). */
export async function tileCache(ort: OrtRuntime, cache: KVCache, k: number): Promise<KVCache> {
  if (cache.batch !== 1) throw new Error('tileCache expects a batch-1 cache');
  const tensors: Tensor[] = [];
  for (const t of cache.tensors) {
    const src = await cpuData(t);
    const out = new Float32Array(src.length * k);
    for (let j = 0; j < k; j++) out.set(src, j * src.length);
    const [, h, l, d] = t.dims;
    tensors.push(new ort.Tensor('float32', out, [k, h, l, d]));
  }
  return { tensors, length: cache.length, batch: k, shared: false };
}

/** Keep one row of a batched cache (the candidate ARGS chose). */
export async function selectRow(ort: OrtRuntime, cache: KVCache, row: number): Promise<KVCache> {
  const tensors: Tensor[] = [];
  for (const t of cache.tensors) {
    const src = await cpuData(t);
    const [b, h, l, d] = t.dims;
    const size = h * l * d;
    if (row >= b) throw new Error(`row ${row} out of batch ${b}`);
    tensors.push(new ort.Tensor('float32', src.slice(row * size, (row + 1) * size), [1, h, l, d]));
  }
  return { tensors, length: cache.length, batch: 1, shared: false };
}
