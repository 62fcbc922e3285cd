// One pass for all models (the fused path): the base and every ARM that is a LoRA adapter of
// it run as rows of one batched graph that holds the base weights once. Row 0 is the
// base (zero adapter), row i the i-th ARM of `suite.fused.rows`; each row keeps its own
// KV cache (the adapters change K and V), stacked along the batch dim of one cache.
//
// The adapters are graph inputs, one pair per layer l and target projection t:
//   lora.{l}.{t}.A  float32 [R, in_t, r]   (= A^T)
//   lora.{l}.{t}.B  float32 [R, r, out_t]  (= (alpha/r) B^T)
// One input per layer (not one [L, R, ...] tensor per target), so the graph reads each in
// place: a stacked input cost a Split + Squeeze copy of every adapter on every step.
// Each ARM is a PEFT adapter folder (peft-adapter.ts: A [r, in] and B [out, r] per layer and
// target, float16, alpha/r applied here): widened, scaled and transposed once per load into
// per-row arrays (toRowAdapter), and the input tensors for a set of rows are assembled once
// and kept (on the GPU under WebGPU).
import type { ModelArch, ModelEntry } from './types';
import type { CausalLM, ForwardResult, StepModel } from './causal-lm';
import type { KVCache } from './kv-cache';
import type { Feeds, Tensor } from './ort';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface TargetDims {
  in: number;
  out: number;
}
export type AdapterDims = Record<LoraTarget, TargetDims>;

/** The input shapes the runtime reports for a graph (onnxruntime-common's inputMetadata). */
export interface InputShape {
  name: string;
  shape?: readonly (number | string)[];
}

/**
 * in/out of every target projection and the rank. From the graph's own input shapes
 * when the runtime reports them (lora.{l}.{t}.A is [rows, in, r], lora.{l}.{t}.B [rows, r, out]);
 * otherwise from the architecture: q/o are hidden x (heads*head_dim) (= hidden for
 * Llama-style models without `num_heads` in the manifest), k/v are hidden x
 * (kv_heads*head_dim), and the MLP width is solved from the adapter file's size.
 */
export function adapterDims(arch: ModelArch & { num_heads?: number; intermediate_size?: number }, rank: number, floatsPerRow: number, shapes?: readonly InputShape[]): AdapterDims {
  const L = arch.num_layers;
  const fromGraph = {} as AdapterDims;
  let graphOk = !!shapes;
  for (const t of LORA_TARGETS) {
    const find = (n: string) => shapes?.find((s) => s.name === n)?.shape;
    const a = find(`lora.0.${t}.A`); // [rows, in, r]
    const b = find(`lora.0.${t}.B`); // [rows, r, out]
    if (!a || !b || typeof a[1] !== 'number' || typeof b[2] !== 'number') {
      graphOk = false;
      break;
    }
    if (a[2] !== rank || b[1] !== rank) throw new Error(`fused graph: lora.0.${t} has rank ${String(a[2])}, the adapters rank ${rank}`);
    if (!find(`lora.${L - 1}.${t}.A`)) throw new Error(`fused graph: no lora.${L - 1}.${t}.A input for layer ${L - 1}`);
    fromGraph[t] = { in: a[1], out: b[2] };
  }
  let dims: AdapterDims;
  if (graphOk) {
    dims = fromGraph;
  } else {
    const h = arch.hidden_size;
    const kv = arch.num_kv_heads * arch.head_dim;
    const q = arch.num_heads ? arch.num_heads * arch.head_dim : h;
    // per layer / rank = (h+q) + 2(h+kv) + (q+h) + 2(h+I) + (I+h) = 7h + 2q + 2kv + 3I
    const perLayer = floatsPerRow / L / rank;
    const inter = arch.intermediate_size ?? (perLayer - 7 * h - 2 * q - 2 * kv) / 3;
    if (!Number.isInteger(inter) || inter <= 0) {
      throw new Error(`adapter of ${floatsPerRow} floats does not fit ${L} layers of rank ${rank} (hidden ${h}, kv ${kv})`);
    }
    dims = {
      q_proj: { in: h, out: q }, k_proj: { in: h, out: kv }, v_proj: { in: h, out: kv }, o_proj: { in: q, out: h },
      gate_proj: { in: h, out: inter }, up_proj: { in: h, out: inter }, down_proj: { in: inter, out: h },
    };
  }
  const expect = L * rank * LORA_TARGETS.reduce((n, t) => n + dims[t].in + dims[t].out, 0);
  if (expect !== floatsPerRow) {
    throw new Error(`adapter holds ${floatsPerRow} floats, the fused graph's layout expects ${expect} (${L} layers, rank ${rank})`);
  }
  return dims;
}

/** One ARM's adapter in the graph's layout: per target, A^T [L, in, r] and B^T [L, r, out]. */
export interface RowAdapter {
  A: Record<LoraTarget, Float32Array>;
  B: Record<LoraTarget, Float32Array>;
}

/** IEEE 754 half (as its 16 bits) to a JS number; Node 20 has no Float16Array. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export type TensorMaker = (data: Float32Array, dims: number[]) => Promise<Tensor>;

/** Row sets whose adapter inputs are kept besides the pinned full set (a least-recently-used few). */
const KEEP_ROW_SETS = 3;

export class FusedModel {
  readonly arch: ModelArch;
  private readonly cache = new Map<string, Promise<Feeds>>();
  private readonly views: FusedRow[];
  /** rows given at construction (the base and the suite's ARMs): removeRow keeps them */
  private readonly fixedRows: number;

  /**
   * `lm` runs the fused graph; `rows[0]` is the base, `rows[i]` the ARM whose adapter is
   * `adapters[i]` (`adapters[0]` is null: the base's adapter is zero).
   */
  constructor(
    readonly lm: CausalLM,
    /** the rows in batch order; addRow / removeRow change it (a user's ARM: Engine.addAdapter) */
    readonly rows: ModelEntry[],
    private readonly adapters: (RowAdapter | null)[],
    readonly rank: number,
    readonly dims: AdapterDims,
    private readonly makeTensor: TensorMaker,
  ) {
    this.arch = lm.arch;
    this.fixedRows = rows.length;
    this.views = rows.map((e) => new FusedRow(this, e));
    if (!lm.session.inputNames.includes(`lora.0.${LORA_TARGETS[0]}.A`)) {
      throw new Error(`fused graph ${lm.id} has no lora.0.${LORA_TARGETS[0]}.A input`);
    }
  }

  get id(): string {
    return this.lm.id;
  }

  /** The row of a model id, as a StepModel the decoders step like any model. */
  row(id: string): FusedRow {
    const i = this.rows.findIndex((e) => e.id === id);
    if (i < 0) throw new Error(`fused graph ${this.id} has no row for ${id}`);
    return this.views[i];
  }

  /**
   * One more row: an ARM whose adapter (already in the graph's layout, rank and dims) was not
   * part of the load (peft-adapter.ts, toRowAdapter). The graph takes any number of rows, so
   * this only drops the kept adapter inputs: the next run builds them with the new row.
   * Not while a run steps these rows (the engine refuses to add during a run).
   */
  addRow(entry: ModelEntry, adapter: RowAdapter): FusedRow {
    if (this.rows.some((e) => e.id === entry.id)) throw new Error(`fused graph ${this.id} already has a row for ${entry.id}`);
    for (const t of LORA_TARGETS) {
      const wantA = this.arch.num_layers * this.dims[t].in * this.rank;
      const wantB = this.arch.num_layers * this.rank * this.dims[t].out;
      if (adapter.A[t].length !== wantA || adapter.B[t].length !== wantB) {
        throw new Error(`adapter for ${entry.id}: ${t} holds ${adapter.A[t].length}/${adapter.B[t].length} values, the fused graph's layout ${wantA}/${wantB}`);
      }
    }
    this.rows.push(entry);
    this.adapters.push(adapter);
    const view = new FusedRow(this, entry);
    this.views.push(view);
    this.dropFeeds();
    return view;
  }

  /** Remove a row added by addRow (the base's and the load's rows stay); later rows move up. */
  removeRow(id: string): void {
    const i = this.rows.findIndex((e) => e.id === id);
    if (i < 0) throw new Error(`fused graph ${this.id} has no row for ${id}`);
    if (i < this.fixedRows) throw new Error(`row ${id} of fused graph ${this.id} came with the suite and stays`);
    this.rows.splice(i, 1);
    this.adapters.splice(i, 1);
    this.views.splice(i, 1);
    this.dropFeeds();
  }

  /** the kept adapter inputs, released: their row indices no longer hold */
  private dropFeeds(): void {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) p.then(disposeFeeds, () => {});
  }

  /**
   * The adapter inputs of a list of rows (one entry per batch row), built once and
   * kept: the list of every row is pinned (the usual GenARM run), a few others
   * (one row alone, a subset when an ARM is skipped) are kept least-recently-used.
   */
  adapterFeeds(rowIdx: number[]): Promise<Feeds> {
    const key = rowIdx.join(',');
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used last
      return hit;
    }
    const made = this.build(rowIdx);
    made.catch(() => this.cache.delete(key));
    this.cache.set(key, made);
    const pinned = this.rows.map((_, i) => i).join(',');
    const others = [...this.cache.keys()].filter((k) => k !== pinned);
    if (others.length > KEEP_ROW_SETS) {
      const old = others[0];
      const p = this.cache.get(old)!;
      this.cache.delete(old);
      p.then(disposeFeeds, () => {});
    }
    return made;
  }

  private async build(rowIdx: number[]): Promise<Feeds> {
    const L = this.arch.num_layers;
    const R = rowIdx.length;
    const r = this.rank;
    const feeds: Feeds = {};
    for (const t of LORA_TARGETS) {
      const { in: nin, out: nout } = this.dims[t];
      for (const [kind, per, from] of [
        ['A', nin * r, (a: RowAdapter) => a.A[t]],
        ['B', r * nout, (a: RowAdapter) => a.B[t]],
      ] as const) {
        const shape = kind === 'A' ? [R, nin, r] : [R, r, nout];
        for (let l = 0; l < L; l++) {
          const data = new Float32Array(R * per);
          rowIdx.forEach((row, j) => {
            const ad = this.adapters[row];
            if (ad) data.set(from(ad).subarray(l * per, (l + 1) * per), j * per);
          });
          feeds[`lora.${l}.${t}.${kind}`] = await this.makeTensor(data, shape);
        }
      }
    }
    return feeds;
  }

  /** One forward of the given rows (one per batch entry) after a cache of the same rows. */
  async run(rowIdx: number[], ids: number[][], past: KVCache, keep: 'last' | 'all' | number = 'last'): Promise<ForwardResult> {
    if (rowIdx.length !== ids.length) throw new Error(`fused graph: ${rowIdx.length} rows but ${ids.length} id lists`);
    const extra = await this.adapterFeeds(rowIdx);
    return this.lm.forwardWith(ids, past, keep, extra);
  }

  async release(): Promise<void> {
    const all = [...this.cache.values()];
    this.cache.clear();
    for (const p of all) await p.then(disposeFeeds, () => {});
    await this.lm.session.release();
  }
}

function disposeFeeds(f: Feeds): void {
  for (const t of Object.values(f)) t.dispose();
}

/**
 * The base or one ARM as a row of the fused graph. Stepped alone it runs the graph
 * with that row only; the decoders' lockstep (decoders/context.ts) runs the rows of
 * one fused graph that share a cache in a single batched forward.
 */
export class FusedRow implements StepModel {
  constructor(readonly model: FusedModel, readonly entry: ModelEntry) {}

  /** this row's index in the batch (it moves up when an earlier added row is removed) */
  get row(): number {
    return this.model.rows.indexOf(this.entry);
  }

  get id(): string {
    return this.entry.id;
  }

  get arch(): ModelArch {
    return this.model.arch;
  }

  forward(ids: number[][], past: KVCache, keep: 'last' | 'all' | number = 'last'): Promise<ForwardResult> {
    return this.model.run(ids.map(() => this.row), ids, past, keep);
  }
}

export type PathChoice = 'auto' | 'fused' | 'separate';

/**
 * Fused or separate graphs for a suite. Fused when the suite has a fused graph and
 * every ARM of the suite is a LoRA adapter of its base listed among the graph's rows;
 * separate otherwise (an ARM guiding another base: weak-to-strong), or when asked.
 * Asking for 'fused' where it cannot run is an error that says why.
 */
export function choosePath(
  suite: { id: string; fused?: { variants: Partial<Record<string, unknown>>; rows: string[] } },
  base: ModelEntry,
  arms: ModelEntry[],
  want: PathChoice = 'auto',
): { path: 'fused' | 'separate'; why: string } {
  if (want === 'separate') return { path: 'separate', why: 'separate graphs requested' };
  const f = suite.fused;
  let no = '';
  if (!f || !Object.keys(f.variants ?? {}).length) no = `suite '${suite.id}' has no fused graph`;
  else if (!arms.length) no = `suite '${suite.id}' has no ARMs`;
  else if (f.rows?.[0] !== base.id) no = `the fused graph's row 0 is '${String(f.rows?.[0])}', not the base '${base.id}'`;
  else {
    for (const a of arms) {
      if (!a.adapter) no = `ARM ${a.id} is not a LoRA adapter (no adapter in manifest.json)`;
      else if (a.adapter.base !== base.id) no = `ARM ${a.id} is an adapter of ${a.adapter.base}, not of the base ${base.id}`;
      else if (!f.rows.includes(a.id)) no = `ARM ${a.id} is not a row of the fused graph`;
      if (no) break;
    }
  }
  if (no) {
    if (want === 'fused') throw new Error(`fused path requested, but ${no}`);
    return { path: 'separate', why: `separate graphs (${no})` };
  }
  return { path: 'fused', why: `fused graph: base + ${arms.length} ARM${arms.length > 1 ? 's' : ''} as rows of one batch` };
}
