// Expand the GGUF blocks into the fp32 external data of a weightless ONNX graph.
//
// The browser runs the fp32 graph on WASM (4-bit kernels are slower there, docs/BROWSER.md), so
// the wire can carry the 4-bit GGUF the base was built from (training/genarm/base.py, 94 MiB)
// instead of its 651 MB fp32 expansion. training/genarm/transport.py writes the graph with every
// GGUF-born initializer moved to ONNX external data, plus a layout (`model.layout.json`) saying,
// for each such initializer, where it sits in the external data and how it is made from a GGUF
// tensor:
// dequantize (Q4_1 `d*q + m`, Q8_0 `d*q`, F32 as is: gguf-py's numpy float32 arithmetic), then
// the ops in order (`rope_unpermute`: transformers' GGUF loader undoing llama.cpp's rotary row
// permutation of Q/K; `transpose`: the export's x @ W^T with W^T folded). This module rebuilds
// those bytes exactly, into one preallocated buffer, and the caller hands it to onnxruntime as
// `InferenceSession.create(graph, { externalData: [{ path, data }] })` (onnxruntime-web and
// onnxruntime-node both take it). No DOM: it runs in the worker and under Node.
//
// Exactness: every value is a float32 computed as numpy does it. f16 -> f32 is exact (a table of
// all 65536 halves built from their bits); d*q is exact in float64 (an 11-bit by 4- or 8-bit
// product) and so is its float32 rounding; d*q + m is one float64 add of two float32 operands
// rounded once to float32 (Math.fround), which equals the float32 add since 53 >= 2*24 + 2
// (double rounding is innocuous for a single +, * on float32 operands). F32 sources are moved as
// bits (Uint32Array), so even NaN payloads survive. src/engine/__tests__/gguf-expand.test.ts
// compares the result with transport.py's file byte for byte.
import { gguf, GGMLQuantizationType, type GGUFParseOutput } from '@huggingface/gguf';

export const LAYOUT_FORMAT = 'genarm-gguf-transport';
export const LAYOUT_VERSION = 1;

export type SourceType = 'F32' | 'Q4_1' | 'Q8_0';
/**
 * `lora`: add scale * B A read from the layout's adapter file (a PEFT adapter_model.safetensors),
 * in the projection's own [out, in] frame (after any rope_unpermute; only a transpose may follow
 * it): A [rank, in] at byte offset `a`, B [out, rank] at `b`, both float16 as PEFT stores them;
 * scale = lora_alpha / r.
 */
export type RecipeOp = { op: 'transpose' } | { op: 'rope_unpermute'; heads: number } | { op: 'lora'; rank: number; a: number; b: number; scale: number };

export interface FileRef {
  file: string;
  bytes: number;
  sha256: string;
}

export interface LayoutTensor {
  /** initializer name in the graph */
  name: string;
  /** byte offset and length in the external data */
  offset: number;
  length: number;
  /** the initializer's shape */
  shape: number[];
  dtype: 'float32';
  /** GGUF tensor name, its ggml type and its shape in numpy order (GGUF ne reversed) */
  source: string;
  source_type: SourceType;
  source_shape: number[];
  /** applied in order to the dequantized source */
  ops: RecipeOp[];
}

export interface TransportLayout {
  format: typeof LAYOUT_FORMAT;
  version: typeof LAYOUT_VERSION;
  gguf: FileRef;
  /** the inline fp32 graph this layout was derived from */
  source_graph: FileRef;
  /** the weightless graph */
  graph: FileRef;
  /** `path` is the location the graph names: the `path` of onnxruntime's externalData entry */
  external_data: { path: string; bytes: number; sha256: string; alignment: number };
  inline: { initializers: number; bytes: number };
  tensors: LayoutTensor[];
  /** the adapter file a graph with merged LoRA (an ARM, a trajectory RM) adds to the GGUF */
  adapter?: FileRef;
}

// ------------------------------------------------------------------ layout validation
function fail(where: string, what: string): never {
  throw new Error(`transport layout: ${where}: ${what}`);
}
function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function uint(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}
function dims(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) fail(where, 'expected an array of dimensions');
  return v.map((d, i) => uint(d, `${where}[${i}]`));
}
function fileRef(v: unknown, where: string): FileRef {
  if (!isObj(v)) fail(where, 'expected an object');
  return { file: str(v.file, `${where}.file`), bytes: uint(v.bytes, `${where}.bytes`), sha256: str(v.sha256, `${where}.sha256`) };
}
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The shape after the ops (only a transpose changes it; rope_unpermute needs rows % 2h == 0). */
export function opsShape(sourceShape: readonly number[], ops: readonly RecipeOp[], where = 'ops'): number[] {
  let s = [...sourceShape];
  ops.forEach((op, k) => {
    if (s.length !== 2) fail(where, `${op.op} needs a 2-D source, got [${s}]`);
    if (op.op === 'transpose') s = [s[1], s[0]];
    else if (op.op === 'lora') {
      // the delta is added in the source's [out, in] frame: nothing but one transpose may follow
      const rest = ops.slice(k + 1);
      if (rest.length > 1 || (rest.length === 1 && rest[0].op !== 'transpose') || ops.slice(0, k).some((o) => o.op !== 'rope_unpermute')) {
        fail(where, 'lora must follow only rope_unpermute ops and precede at most one transpose');
      }
    } else if (s[0] % (2 * op.heads) !== 0) fail(where, `rope_unpermute: ${s[0]} rows do not split into ${op.heads} heads x 2 halves`);
  });
  return s;
}

/** Check a parsed model.layout.json field by field (it crosses a network boundary). */
export function parseLayout(json: unknown): TransportLayout {
  if (!isObj(json)) fail('root', 'expected an object');
  if (json.format !== LAYOUT_FORMAT || json.version !== LAYOUT_VERSION) {
    fail('root', `expected format ${LAYOUT_FORMAT} version ${LAYOUT_VERSION}, got ${JSON.stringify(json.format)} ${JSON.stringify(json.version)}`);
  }
  const ext = json.external_data;
  if (!isObj(ext)) fail('external_data', 'expected an object');
  const external_data = {
    path: str(ext.path, 'external_data.path'), bytes: uint(ext.bytes, 'external_data.bytes'),
    sha256: str(ext.sha256, 'external_data.sha256'), alignment: uint(ext.alignment, 'external_data.alignment'),
  };
  const inl = json.inline;
  if (!isObj(inl)) fail('inline', 'expected an object');
  if (!Array.isArray(json.tensors)) fail('tensors', 'expected an array');
  const tensors = json.tensors.map((t: unknown, i: number): LayoutTensor => {
    const w = `tensors[${i}]`;
    if (!isObj(t)) fail(w, 'expected an object');
    const source_type = str(t.source_type, `${w}.source_type`);
    if (source_type !== 'F32' && source_type !== 'Q4_1' && source_type !== 'Q8_0') fail(`${w}.source_type`, `unsupported ${source_type}`);
    if (t.dtype !== 'float32') fail(`${w}.dtype`, `only float32, got ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.ops)) fail(`${w}.ops`, 'expected an array');
    const ops = t.ops.map((o: unknown, k: number): RecipeOp => {
      if (isObj(o) && o.op === 'transpose') return { op: 'transpose' };
      if (isObj(o) && o.op === 'rope_unpermute') {
        const heads = uint(o.heads, `${w}.ops[${k}].heads`);
        if (heads === 0) fail(`${w}.ops[${k}].heads`, 'must be positive');
        return { op: 'rope_unpermute', heads };
      }
      if (isObj(o) && o.op === 'lora') {
        const rank = uint(o.rank, `${w}.ops[${k}].rank`);
        if (rank === 0) fail(`${w}.ops[${k}].rank`, 'must be positive');
        if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) fail(`${w}.ops[${k}].scale`, `expected a number, got ${JSON.stringify(o.scale)}`);
        return { op: 'lora', rank, a: uint(o.a, `${w}.ops[${k}].a`), b: uint(o.b, `${w}.ops[${k}].b`), scale: o.scale };
      }
      return fail(`${w}.ops[${k}]`, `unknown op ${JSON.stringify(o)}`);
    });
    const e: LayoutTensor = {
      name: str(t.name, `${w}.name`), offset: uint(t.offset, `${w}.offset`), length: uint(t.length, `${w}.length`),
      shape: dims(t.shape, `${w}.shape`), dtype: 'float32', source: str(t.source, `${w}.source`), source_type,
      source_shape: dims(t.source_shape, `${w}.source_shape`), ops,
    };
    const out = opsShape(e.source_shape, e.ops, w);
    if (out.join(',') !== e.shape.join(',')) fail(w, `ops turn [${e.source_shape}] into [${out}], not [${e.shape}]`);
    if (e.length !== prod(e.shape) * 4) fail(w, `length ${e.length} is not 4 x [${e.shape}]`);
    if (e.offset % 4 !== 0) fail(w, `offset ${e.offset} is not 4-byte aligned (a Float32Array view needs it)`);
    if (e.offset + e.length > external_data.bytes) fail(w, `ends at ${e.offset + e.length}, past external_data.bytes ${external_data.bytes}`);
    return e;
  });
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].length) fail('tensors', `${sorted[i - 1].name} and ${sorted[i].name} overlap`);
  }
  const adapter = json.adapter === undefined ? undefined : fileRef(json.adapter, 'adapter');
  if (!adapter && tensors.some((t) => t.ops.some((o) => o.op === 'lora'))) fail('adapter', 'lora ops need the layout to name its adapter file');
  return {
    format: LAYOUT_FORMAT, version: LAYOUT_VERSION, gguf: fileRef(json.gguf, 'gguf'),
    source_graph: fileRef(json.source_graph, 'source_graph'), graph: fileRef(json.graph, 'graph'), external_data,
    inline: { initializers: uint(inl.initializers, 'inline.initializers'), bytes: uint(inl.bytes, 'inline.bytes') }, tensors,
    ...(adapter ? { adapter } : {}),
  };
}

// ------------------------------------------------------------------ GGUF index (@huggingface/gguf)
export interface GgufTensor {
  name: string;
  type: SourceType;
  /** numpy order: GGUF ne reversed */
  shape: number[];
  /** absolute byte offset of the tensor's blocks in the file, and their byte length */
  offset: number;
  bytes: number;
}

const TYPES: ReadonlyMap<number, { name: SourceType; block: number; blockBytes: number }> = new Map([
  [GGMLQuantizationType.F32, { name: 'F32' as const, block: 1, blockBytes: 4 }],
  [GGMLQuantizationType.Q4_1, { name: 'Q4_1' as const, block: 32, blockBytes: 20 }], // f16 d, f16 m, 16 bytes of nibbles
  [GGMLQuantizationType.Q8_0, { name: 'Q8_0' as const, block: 32, blockBytes: 34 }], // f16 d, 32 int8
]);

/** A `fetch` that answers the parser's Range requests from bytes already in memory. */
function bufferFetch(bytes: Uint8Array): typeof fetch {
  return (async (_input: unknown, init?: { headers?: unknown }) => {
    const range = new Headers(init?.headers as Record<string, string> | undefined).get('range');
    const m = range?.match(/^bytes=(\d+)-(\d+)$/);
    if (!m) throw new Error(`gguf-expand: unexpected range request ${range}`);
    const start = Math.min(Number(m[1]), bytes.length);
    const end = Math.min(Number(m[2]) + 1, bytes.length);
    return new Response(bytes.slice(start, end), {
      status: 206, headers: { 'content-range': `bytes ${start}-${Math.max(start, end - 1)}/${bytes.length}` },
    });
  }) as typeof fetch;
}

/**
 * Index the tensors of a GGUF held in memory: @huggingface/gguf parses the header (metadata,
 * tensor infos, data offset with general.alignment); the blocks are read from `bytes` directly.
 * Only the types a recipe can name are indexed (F32, Q4_1, Q8_0); others are left out.
 */
export async function indexGguf(bytes: Uint8Array): Promise<Map<string, GgufTensor>> {
  // the URL is never fetched: bufferFetch serves it; https:// makes the Node build take the fetch path
  const parsed: GGUFParseOutput = await gguf('https://gguf.invalid/model.gguf', { fetch: bufferFetch(bytes) });
  if (!parsed.littleEndian) throw new Error('gguf-expand: big-endian GGUF files are not supported');
  const base = Number(parsed.tensorDataOffset);
  const out = new Map<string, GgufTensor>();
  for (const t of parsed.tensorInfos) {
    const ty = TYPES.get(t.dtype);
    if (!ty) continue;
    const ne = t.shape.map(Number);
    const numel = prod(ne);
    if (ne[0] % ty.block !== 0) throw new Error(`gguf-expand: ${t.name}: ${ne[0]} columns are not whole ${ty.name} blocks`);
    const offset = base + Number(t.offset);
    const size = (numel / ty.block) * ty.blockBytes;
    if (!Number.isSafeInteger(offset) || offset + size > bytes.length) {
      throw new Error(`gguf-expand: ${t.name}: blocks at ${offset}+${size} lie outside the ${bytes.length}-byte file`);
    }
    out.set(t.name, { name: t.name, type: ty.name, shape: [...ne].reverse(), offset, bytes: size });
  }
  return out;
}

// ------------------------------------------------------------------ dequantization
/** Every float16 bit pattern as its float32 value (exact: built from the bits). */
const F16: Float32Array = (() => {
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    if (exp === 0x1f) bits[h] = sign | 0x7f800000 | (mant << 13); // inf / NaN, payload kept
    else if (exp !== 0) bits[h] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    else if (mant === 0) bits[h] = sign; // +-0
    else {
      let e = -14; // subnormal half: normalise
      while ((mant & 0x400) === 0) { mant <<= 1; e--; }
      bits[h] = sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13);
    }
  }
  return new Float32Array(bits.buffer);
})();

/** float16 -> float32 (exact), for tests and callers that decode scales themselves. */
export function halfToFloat(bits: number): number {
  return F16[bits & 0xffff];
}

/**
 * Dequantize `cols` values of one row whose blocks start at `src[off]` into `dst[at..]`. F32
 * writes bits through `dstBits` (a Uint32Array over the same memory as `dst`).
 */
function dequantRow(type: SourceType, src: Uint8Array, off: number, cols: number, dst: Float32Array, dstBits: Uint32Array, at: number): void {
  if (type === 'Q4_1') {
    for (let o = at, end = at + cols; o < end; o += 32, off += 20) {
      const d = F16[src[off] | (src[off + 1] << 8)];
      const m = F16[src[off + 2] | (src[off + 3] << 8)];
      for (let j = 0; j < 16; j++) {
        const q = src[off + 4 + j]; // value j in the low nibble, value j + 16 in the high one
        dst[o + j] = Math.fround(Math.fround(d * (q & 0x0f)) + m);
        dst[o + j + 16] = Math.fround(Math.fround(d * (q >> 4)) + m);
      }
    }
  } else if (type === 'Q8_0') {
    for (let o = at, end = at + cols; o < end; o += 32, off += 34) {
      const d = F16[src[off] | (src[off + 1] << 8)];
      for (let j = 0; j < 32; j++) dst[o + j] = Math.fround(((src[off + 2 + j] << 24) >> 24) * d);
    }
  } else {
    for (let j = 0; j < cols; j++, off += 4) {
      dstBits[at + j] = (src[off] | (src[off + 1] << 8) | (src[off + 2] << 16) | (src[off + 3] << 24)) >>> 0;
    }
  }
}

function rowBytes(type: SourceType, cols: number): number {
  return type === 'F32' ? cols * 4 : type === 'Q4_1' ? (cols / 32) * 20 : (cols / 32) * 34;
}

/**
 * Where each source row and column lands. The ops are row permutations and transposes, so the
 * composed map is (rowMap[r], colMap[c]) in the output, or (colMap[c], rowMap[r]) when an odd
 * number of transposes swapped the axes.
 */
interface IndexMap { rowMap: Int32Array; colMap: Int32Array; transposed: boolean; rowIdentity: boolean; colIdentity: boolean }

function ropePermute(n: number, heads: number): Int32Array {
  // llama.cpp's GGUF rows per head: r = 2i + j (interleaved halves); transformers: r = j*dim + i
  const dim = n / heads / 2;
  const p = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const h = Math.floor(r / (2 * dim));
    const k = r - h * 2 * dim;
    p[r] = h * 2 * dim + (k & 1) * dim + (k >> 1);
  }
  return p;
}

function indexMap(rows: number, cols: number, ops: readonly RecipeOp[]): IndexMap {
  let rowMap = Int32Array.from({ length: rows }, (_, i) => i);
  let colMap = Int32Array.from({ length: cols }, (_, i) => i);
  let transposed = false;
  for (const op of ops) {
    if (op.op === 'lora') continue; // a value change, not a move: addLora applies it afterwards
    if (op.op === 'transpose') { transposed = !transposed; continue; }
    // permute the rows of the current tensor: the source rows, or the source columns if transposed
    const current = transposed ? colMap : rowMap;
    const p = ropePermute(current.length, op.heads);
    const next = current.map((v) => p[v]);
    if (transposed) colMap = next; else rowMap = next;
  }
  const identity = (a: Int32Array) => a.every((v, i) => v === i);
  return { rowMap, colMap, transposed, rowIdentity: identity(rowMap), colIdentity: identity(colMap) };
}

/** Source rows dequantized per tile before a transposed scatter: writes land in runs of TILE floats. */
const TILE = 64;

function expandTensor(gg: Uint8Array, src: GgufTensor, e: LayoutTensor, out: Float32Array, outBits: Uint32Array): void {
  const rows = e.source_shape.length >= 2 ? prod(e.source_shape.slice(0, -1)) : 1;
  const cols = e.source_shape[e.source_shape.length - 1] ?? 1;
  const rb = rowBytes(src.type, cols);
  const map = indexMap(rows, cols, e.ops);
  if (!map.transposed && map.colIdentity) {
    // contiguous rows: dequantize straight into the output
    for (let r = 0; r < rows; r++) dequantRow(src.type, gg, src.offset + r * rb, cols, out, outBits, map.rowMap[r] * cols);
    return;
  }
  const scratch = new Float32Array(TILE * cols);
  const scratchBits = new Uint32Array(scratch.buffer);
  const { rowMap, colMap } = map;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const n = Math.min(TILE, rows - r0);
    for (let t = 0; t < n; t++) dequantRow(src.type, gg, src.offset + (r0 + t) * rb, cols, scratch, scratchBits, t * cols);
    if (map.transposed) {
      // output [cols, rows]: out[colMap[c] * rows + rowMap[r]]
      for (let c = 0; c < cols; c++) {
        const base = colMap[c] * rows;
        for (let t = 0; t < n; t++) outBits[base + rowMap[r0 + t]] = scratchBits[t * cols + c];
      }
    } else {
      for (let t = 0; t < n; t++) {
        const base = rowMap[r0 + t] * cols;
        for (let c = 0; c < cols; c++) outBits[base + colMap[c]] = scratchBits[t * cols + c];
      }
    }
  }
}

/**
 * Add scale * B A to an expanded tensor, with transport.py's lora_merge arithmetic: A and B are
 * float16; per element, in float64, s_ok = B[o,k] * scale, then W + s_o0 A[0,i] + ... summed in
 * that order, each step rounded as IEEE float64 does (as numpy does the same steps), and the
 * result rounded once to float32 (the Float32Array store rounds to nearest, as numpy's astype).
 * No term is skipped, not even a zero one: -0 + +0 is +0, and the bytes must be numpy's.
 * `transposed`: the tensor is stored [in, out] (a transpose followed the lora op).
 */
function addLora(out: Float32Array, rows: number, cols: number, transposed: boolean, op: { rank: number; a: number; b: number; scale: number }, adapter: Uint8Array, where: string): void {
  const r = op.rank;
  if (op.a + 2 * r * cols > adapter.length || op.b + 2 * rows * r > adapter.length) {
    throw new Error(`gguf-expand: ${where}: lora op reads past the adapter file (${adapter.length} B)`);
  }
  const dv = new DataView(adapter.buffer, adapter.byteOffset, adapter.length);
  const A = new Float64Array(r * cols);
  for (let j = 0; j < A.length; j++) A[j] = F16[dv.getUint16(op.a + 2 * j, true)];
  const B = new Float64Array(rows * r);
  for (let j = 0; j < B.length; j++) B[j] = F16[dv.getUint16(op.b + 2 * j, true)] * op.scale;
  const acc = new Float64Array(cols);
  for (let o = 0; o < rows; o++) {
    if (transposed) for (let i = 0; i < cols; i++) acc[i] = out[i * rows + o];
    else for (let i = 0, at = o * cols; i < cols; i++) acc[i] = out[at + i];
    for (let k = 0; k < r; k++) {
      const b = B[o * r + k];
      for (let i = 0, ak = k * cols; i < cols; i++) acc[i] += b * A[ak + i];
    }
    if (transposed) for (let i = 0; i < cols; i++) out[i * rows + o] = acc[i];
    else for (let i = 0, at = o * cols; i < cols; i++) out[at + i] = acc[i];
  }
}

export interface ExpandOptions {
  /** called after each tensor (tensors done, total): a worker can report load progress */
  onProgress?: (done: number, total: number) => void;
  /** the adapter file's bytes, for a layout with lora ops (`layout.adapter`) */
  adapter?: Uint8Array;
}

/**
 * The external data of the weightless graph, rebuilt from the GGUF: one buffer of
 * `layout.external_data.bytes` (zero padding between tensors, as transport.py writes it).
 * Throws when a source is missing or its type or shape is not the layout's.
 */
export function expandWithIndex(gg: Uint8Array, index: ReadonlyMap<string, GgufTensor>, layout: TransportLayout, opts: ExpandOptions = {}): Uint8Array {
  const data = new Uint8Array(layout.external_data.bytes);
  if (layout.adapter && opts.adapter?.length !== layout.adapter.bytes) {
    throw new Error(`gguf-expand: the layout merges ${layout.adapter.file} (${layout.adapter.bytes} B): ${opts.adapter ? `got ${opts.adapter.length} B` : 'no adapter given'}`);
  }
  layout.tensors.forEach((e, i) => {
    const src = index.get(e.source);
    if (!src) throw new Error(`gguf-expand: ${e.name}: the GGUF has no tensor ${e.source}`);
    if (src.type !== e.source_type || src.shape.join(',') !== e.source_shape.join(',')) {
      throw new Error(`gguf-expand: ${e.name}: ${e.source} is ${src.type} [${src.shape}] in the GGUF, the layout says ${e.source_type} [${e.source_shape}]`);
    }
    const n = e.length / 4;
    const out = new Float32Array(data.buffer, data.byteOffset + e.offset, n);
    const outBits = new Uint32Array(data.buffer, data.byteOffset + e.offset, n);
    expandTensor(gg, src, e, out, outBits);
    const k = e.ops.findIndex((o) => o.op === 'lora');
    if (k >= 0) {
      const op = e.ops[k] as Extract<RecipeOp, { op: 'lora' }>;
      addLora(out, e.source_shape[0], e.source_shape[1], k < e.ops.length - 1, op, opts.adapter!, e.name);
    }
    opts.onProgress?.(i + 1, layout.tensors.length);
  });
  return data;
}

/** Parse the GGUF held in `gg` and expand it per `layout` (see expandWithIndex). */
export async function expandGguf(gg: Uint8Array, layout: TransportLayout, opts: ExpandOptions = {}): Promise<Uint8Array> {
  if (gg.length !== layout.gguf.bytes) throw new Error(`gguf-expand: the GGUF has ${gg.length} bytes, the layout expects ${layout.gguf.bytes} (${layout.gguf.file})`);
  return expandWithIndex(gg, await indexGguf(gg), layout, opts);
}

/** The `externalData` option of InferenceSession.create for the expanded buffer. */
export function externalDataOption(layout: TransportLayout, data: Uint8Array): { path: string; data: Uint8Array }[] {
  return [{ path: layout.external_data.path, data }];
}
