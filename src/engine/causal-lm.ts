// One causal model (base, ARM or trajectory RM) behind an ONNX session, stepped with
// its own KV cache. Every model of a run keeps a cache in lockstep with the base's.
import type { ModelArch, ModelEntry } from './types';
import { int64Tensor, type Feeds, type InferenceSession, type OrtRuntime, type SessionRunner, type Tensor } from './ort';
import { disposeCache, pastName, presentName, type KVCache } from './kv-cache';

export interface ForwardResult {
  /** logits [batch, kept, vocab] when the graph has them (base, ARM); kept = 1 or seq */
  logits: Float32Array | null;
  /** positions kept in `logits`: the last `kept` of each row */
  kept: number;
  /** rewards [batch, seq] when the graph has them (trajectory RM) */
  rewards: Float32Array | null;
  present: KVCache;
  batch: number;
  seq: number;
}

/**
 * What the decoders step: a whole model (CausalLM) or one row of the fused graph
 * (fused.ts: the base or one ARM as a row of one batched graph).
 */
export interface StepModel {
  readonly id: string;
  readonly arch: ModelArch;
  readonly entry: ModelEntry;
  forward(ids: number[][], past: KVCache, keep?: 'last' | 'all' | number): Promise<ForwardResult>;
}

export class CausalLM implements StepModel {
  readonly arch: ModelArch;
  private readonly inputs: Set<string>;

  constructor(
    private readonly ort: OrtRuntime,
    readonly session: InferenceSession,
    readonly entry: ModelEntry,
    private readonly runner: SessionRunner,
  ) {
    this.arch = entry.arch;
    this.inputs = new Set(session.inputNames);
    for (const name of ['input_ids', 'attention_mask', pastName(0, 'key')]) {
      if (!this.inputs.has(name)) throw new Error(`model ${entry.id}: the ONNX graph has no input '${name}'`);
    }
  }

  get id(): string {
    return this.entry.id;
  }

  /**
   * Run `ids` (one row per batch entry, equal lengths) after `past`, keeping the logits
   * of the last position, of all, or of the last n. The past cache is
   * disposed after the run unless it is shared, since the presents replace it; that
   * is what keeps GPU memory flat over a long generation.
   */
  forward(ids: number[][], past: KVCache, keep: 'last' | 'all' | number = 'last'): Promise<ForwardResult> {
    return this.forwardWith(ids, past, keep, {});
  }

  /** forward() with extra graph inputs that the caller owns (the fused graph's adapters: never disposed here). */
  async forwardWith(ids: number[][], past: KVCache, keep: 'last' | 'all' | number, extra: Feeds): Promise<ForwardResult> {
    const batch = ids.length;
    const seq = ids[0].length;
    if (past.batch !== batch) throw new Error(`model ${this.id}: cache batch ${past.batch} but ${batch} rows`);
    const total = past.length + seq;
    if (total > this.arch.max_position) {
      throw new Error(`model ${this.id}: ${total} positions exceed its context of ${this.arch.max_position}`);
    }
    const flat: number[] = [];
    for (const row of ids) flat.push(...row);
    const positions: number[] = [];
    for (let b = 0; b < batch; b++) for (let s = 0; s < seq; s++) positions.push(past.length + s);
    const feeds: Feeds = {
      input_ids: int64Tensor(this.ort, flat, [batch, seq]),
      attention_mask: int64Tensor(this.ort, new Array(batch * total).fill(1), [batch, total]),
    };
    if (this.inputs.has('position_ids')) feeds.position_ids = int64Tensor(this.ort, positions, [batch, seq]);
    Object.assign(feeds, extra);
    for (let i = 0; i < this.arch.num_layers; i++) {
      feeds[pastName(i, 'key')] = past.tensors[2 * i];
      feeds[pastName(i, 'value')] = past.tensors[2 * i + 1];
    }

    const out = await this.runner(this.session, feeds);

    const tensors: Tensor[] = [];
    for (let i = 0; i < this.arch.num_layers; i++) {
      tensors.push(out[presentName(i, 'key')], out[presentName(i, 'value')]);
    }
    if (tensors.some((t) => !t)) throw new Error(`model ${this.id}: the ONNX graph is missing present.* outputs`);
    disposeCache(past);
    feeds.input_ids.dispose();
    feeds.attention_mask.dispose();
    feeds.position_ids?.dispose();

    const kept = keep === 'all' ? seq : keep === 'last' ? 1 : Math.max(1, Math.min(seq, keep));
    const logits = out.logits ? await takeFloats(out.logits, batch, seq, kept) : null;
    const rewards = out.rewards ? await takeFloats(out.rewards, batch, seq, seq) : null;
    return { logits, rewards, present: { tensors, length: total, batch, shared: false }, batch, seq, kept };
  }
}

/**
 * Copy the last `kept` positions of each row of a [batch, seq, ...] output out of the
 * runtime's buffer (a prompt's full logits are seq x 49k floats), then release it.
 */
async function takeFloats(t: Tensor, batch: number, seq: number, kept: number): Promise<Float32Array> {
  const raw = (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array | Uint16Array;
  // an fp16 export's logits (hub.ts): widened once here, the decoders read float32
  const data = t.type === 'float16' ? halfToFloat(raw) : (raw as Float32Array);
  const width = data.length / (batch * seq);
  const out = new Float32Array(batch * kept * width);
  for (let b = 0; b < batch; b++) {
    const from = (b * seq + seq - kept) * width;
    out.set(data.subarray(from, from + kept * width), b * kept * width);
  }
  t.dispose();
  return out;
}

/** Row `b`, kept position `s` (0-based among the kept ones) of the logits. */
export function logitsAt(r: ForwardResult, b: number, s: number): Float32Array {
  const v = r.logits!.length / (r.batch * r.kept);
  const start = (b * r.kept + s) * v;
  return r.logits!.subarray(start, start + v);
}

/** The last position of row `b`. */
export function lastLogits(r: ForwardResult, b = 0): Float32Array {
  return logitsAt(r, b, r.kept - 1);
}

/** float16 values (as raw bits, or a Float16Array where the runtime gives one) to float32. */
export function halfToFloat(v: ArrayLike<number>): Float32Array {
  if (!(v instanceof Uint16Array)) return Float32Array.from(v);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const h = v[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return out;
}
