// Weights written back into a weightless ONNX graph: a small rewriter of the protobuf wire format
// (no protobuf library) that turns every external initializer into an inline one, so that
// onnxruntime gets one complete ModelProto and no `externalData` option. WebGPU loads the GGUF
// transport this way (docs/BROWSER.md, "The GGUF transport: the weights inline on WebGPU").
//
// What it touches, in onnx.proto3's field numbers:
//   ModelProto.graph = 7 (GraphProto) -> GraphProto.initializer = 5 (TensorProto) -> in a TensorProto
//   raw_data = 9, external_data = 13 (StringStringEntryProto: key = 1, value = 2; keys 'location',
//   'offset', 'length'), data_location = 14 (varint; 1 = EXTERNAL).
// An initializer whose data_location is EXTERNAL loses fields 13 and 14 and gains field 9 with the
// bytes [offset, offset + length) of the weight buffer; every other field, in the tensor, the graph
// and the model, is copied byte for byte, in its order; the length prefixes around the rewritten
// tensors (the initializer's, the graph's) are recomputed. Only the main graph's initializers are
// rewritten: a subgraph (If/Loop attributes) or a sparse initializer with external data is left as
// it is (the transport's graphs have neither).
//
// Memory: the sizes are computed first and the output is written once into one preallocated
// Uint8Array, so the peak is the weight buffer + the output; the caller drops the weight buffer
// once this returns. A protobuf tops out at 2 GiB, which is checked (SmolLM2 fused: ~652 MB).

/** The wire format's limit for one message (protobuf's int32 sizes). */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const DATA_LOCATION_EXTERNAL = 1;

export interface InlineOptions {
  /** the `location` every external initializer must name (the transport's `model.onnx_data`); default: any */
  location?: string;
}

export interface InlineResult {
  /** the complete ModelProto */
  model: Uint8Array;
  /** how many initializers were made inline */
  inlined: number;
}

/** A part of the output: a range of the graph's bytes, a range of the weights, or a few new bytes. */
type Piece = { from: 'graph' | 'data'; start: number; end: number } | { from: 'bytes'; bytes: Uint8Array };

/** One field as it lies in a message: where it starts, its tag, and (length-delimited) its payload. */
interface Field {
  number: number;
  wire: number;
  start: number;
  end: number;
  /** payload range (length-delimited fields); the varint's value (wire type 0, when read) */
  payloadStart: number;
  value: number;
}

class Reader {
  constructor(private readonly buf: Uint8Array, private readonly what: string) {}

  fail(at: number, why: string): never {
    throw new Error(`onnx-inline: ${this.what}: malformed protobuf at byte ${at}: ${why}`);
  }

  /** A varint at `pos` (values past 2^53 lose precision: only lengths and small enums are used). */
  varint(pos: number, end: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail(pos, 'truncated varint');
      const b = this.buf[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return [value, pos];
      scale *= 128;
    }
    return this.fail(pos, 'varint longer than 10 bytes');
  }

  /** The fields of the message in [start, end), in order. */
  *fields(start: number, end: number): Generator<Field> {
    let pos = start;
    while (pos < end) {
      const at = pos;
      const [tag, p] = this.varint(pos, end);
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0) this.fail(at, 'field number 0');
      let value = 0;
      let payloadStart = p;
      switch (wire) {
        case WIRE_VARINT:
          [value, pos] = this.varint(p, end);
          break;
        case WIRE_FIXED64:
          pos = p + 8;
          break;
        case WIRE_FIXED32:
          pos = p + 4;
          break;
        case WIRE_LEN: {
          const [len, q] = this.varint(p, end);
          payloadStart = q;
          pos = q + len;
          value = len;
          break;
        }
        default:
          this.fail(at, `unsupported wire type ${wire} (field ${number})`);
      }
      if (pos > end) this.fail(at, `field ${number} runs past the end of its message (${pos} > ${end})`);
      yield { number, wire, start: at, end: pos, payloadStart, value };
    }
  }
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Tag + length prefix of a length-delimited field. */
function lenHeader(field: number, length: number): Uint8Array {
  return new Uint8Array([...varintBytes(field * 8 + WIRE_LEN), ...varintBytes(length)]);
}

const pieceSize = (p: Piece) => (p.from === 'bytes' ? p.bytes.length : p.end - p.start);
const piecesSize = (ps: Piece[]) => ps.reduce((n, p) => n + pieceSize(p), 0);

/** Append a graph range, merged with the previous one when they touch. */
function pushRange(out: Piece[], start: number, end: number): void {
  const last = out[out.length - 1];
  if (last && last.from === 'graph' && last.end === start) last.end = end;
  else if (end > start) out.push({ from: 'graph', start, end });
}

/**
 * The ModelProto `graph` with every EXTERNAL initializer of its main graph made inline from `data`
 * (the buffer the graph's `location` names: the expanded transport weights). Throws an Error that
 * says where for a malformed or truncated protobuf, an external tensor without offset/length, with
 * another location, or whose range lies outside `data`, and an output past 2 GiB.
 */
export function inlineExternalData(graph: Uint8Array, data: Uint8Array, opts: InlineOptions = {}): InlineResult {
  const r = new Reader(graph, 'ModelProto');
  const decoder = new TextDecoder();
  const text = (f: Field) => decoder.decode(graph.subarray(f.payloadStart, f.end));
  let inlined = 0;

  /** The pieces of one TensorProto (payload in [start, end)), or null when it is not external. */
  const tensorPieces = (start: number, end: number): Piece[] | null => {
    let location = -1;
    let name = '';
    const entries: Record<string, string> = {};
    let hasRaw = false;
    const kept: Piece[] = [];
    for (const f of r.fields(start, end)) {
      if (f.number === TENSOR_DATA_LOCATION) {
        if (f.wire !== WIRE_VARINT) r.fail(f.start, `TensorProto.data_location with wire type ${f.wire}`);
        location = f.value;
      } else if (f.number === TENSOR_EXTERNAL_DATA) {
        if (f.wire !== WIRE_LEN) r.fail(f.start, `TensorProto.external_data with wire type ${f.wire}`);
        let key = '';
        let value = '';
        for (const e of r.fields(f.payloadStart, f.end)) {
          if (e.wire !== WIRE_LEN) continue;
          if (e.number === ENTRY_KEY) key = text(e);
          else if (e.number === ENTRY_VALUE) value = text(e);
        }
        entries[key] = value;
      } else {
        if (f.number === TENSOR_NAME && f.wire === WIRE_LEN) name = text(f);
        if (f.number === TENSOR_RAW_DATA) hasRaw = true;
        pushRange(kept, f.start, f.end);
      }
    }
    if (location !== DATA_LOCATION_EXTERNAL) return null;
    const where = `initializer ${JSON.stringify(name)}`;
    if (hasRaw) throw new Error(`onnx-inline: ${where} is EXTERNAL but already has raw_data`);
    if (opts.location !== undefined && entries.location !== opts.location) {
      throw new Error(`onnx-inline: ${where} names the location ${JSON.stringify(entries.location)}, not ${JSON.stringify(opts.location)}`);
    }
    const num = (key: string, fallback?: number): number => {
      const v = entries[key];
      if (v === undefined && fallback !== undefined) return fallback;
      if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
        throw new Error(`onnx-inline: ${where}: external_data ${key} ${v === undefined ? 'is missing' : `is not a byte count (${JSON.stringify(v)})`}`);
      }
      return Number(v);
    };
    const offset = num('offset', 0);
    const length = num('length');
    if (offset + length > data.length) {
      throw new Error(`onnx-inline: ${where}: external bytes [${offset}, ${offset + length}) lie past the end of the ${data.length}-byte weight buffer`);
    }
    inlined++;
    kept.push({ from: 'bytes', bytes: lenHeader(TENSOR_RAW_DATA, length) }, { from: 'data', start: offset, end: offset + length });
    return kept;
  };

  /** The pieces of one GraphProto (payload in [start, end)): its external initializers rewritten. */
  const graphPieces = (start: number, end: number): Piece[] => {
    const out: Piece[] = [];
    for (const f of r.fields(start, end)) {
      const t = f.number === GRAPH_INITIALIZER && f.wire === WIRE_LEN ? tensorPieces(f.payloadStart, f.end) : null;
      if (!t) {
        pushRange(out, f.start, f.end);
        continue;
      }
      out.push({ from: 'bytes', bytes: lenHeader(GRAPH_INITIALIZER, piecesSize(t)) }, ...t);
    }
    return out;
  };

  // pass 1: the output as pieces, every size known
  const pieces: Piece[] = [];
  let graphs = 0;
  for (const f of r.fields(0, graph.length)) {
    if (f.number !== MODEL_GRAPH || f.wire !== WIRE_LEN) {
      pushRange(pieces, f.start, f.end);
      continue;
    }
    graphs++;
    const g = graphPieces(f.payloadStart, f.end);
    pieces.push({ from: 'bytes', bytes: lenHeader(MODEL_GRAPH, piecesSize(g)) }, ...g);
  }
  if (graphs === 0) throw new Error('onnx-inline: the ModelProto has no graph (field 7)');
  const total = piecesSize(pieces);
  if (total > MAX_PROTOBUF_BYTES) {
    throw new Error(`onnx-inline: the inlined model would be ${total} bytes, past protobuf's 2 GiB limit: load it with externalData instead`);
  }

  // pass 2: one allocation, written once
  const model = new Uint8Array(total);
  let pos = 0;
  for (const p of pieces) {
    const src = p.from === 'bytes' ? p.bytes : (p.from === 'graph' ? graph : data).subarray(p.start, p.end);
    model.set(src, pos);
    pos += src.length;
  }
  return { model, inlined };
}
