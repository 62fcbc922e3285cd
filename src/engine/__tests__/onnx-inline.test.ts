// The weights written into a weightless graph (src/engine/onnx-inline.ts): how WebGPU gets the
// GGUF transport (docs/BROWSER.md).
//
// 1. Synthetic ModelProtos, made here by an encoder of the wire format written from the protobuf
//    encoding spec (independent of the module's reader): the output equals, byte for byte, the
//    model with each external tensor's fields 13 and 14 replaced by raw_data; other initializers
//    and every other field are untouched; malformed input and an out-of-range tensor fail clearly.
// 2. The real transports (every tiny graph, SmolLM2's base and fused graph): the weightless graph
//    with its expanded GGUF written in is, byte for byte, the inline fp32 graph it was derived from
//    (the layout's source_graph sha256; transport.py keeps the field order), and on the tiny base the
//    inlined model, loaded by onnxruntime-node, gives the logits of the externalData session.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import type { TransportEntry } from '../types';
import { inlineExternalData } from '../onnx-inline';
import { expandGguf, externalDataOption, parseLayout } from '../gguf-expand';
import { CausalLM, type ForwardResult } from '../causal-lm';
import { emptyCache } from '../kv-cache';
import { plainRunner, type OrtRuntime } from '../ort';
import { MODELS_DIR, manifest, requireModels } from './helpers';

// ------------------------------------------------------------ a wire-format encoder (the spec's)
type Value = number | string | Uint8Array | Msg;
/** A message as its fields in order: [field number, value] (number: varint; the rest: length-delimited). */
type Msg = [number, Value][];

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function encode(msg: Msg): Uint8Array {
  const out: number[] = [];
  for (const [field, v] of msg) {
    if (typeof v === 'number') {
      out.push(...varint(field * 8 + 0), ...varint(v));
      continue;
    }
    const payload = typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof Uint8Array ? v : encode(v);
    out.push(...varint(field * 8 + 2), ...varint(payload.length));
    for (const b of payload) out.push(b);
  }
  return new Uint8Array(out);
}

const entry = (key: string, value: string): Msg => [[1, key], [2, value]];
/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9, doc_string = 12, external_data = 13, data_location = 14 */
const externalTensor = (name: string, offset: number, length: number, extra: Msg = []): Msg => [
  [1, 2], [1, length / 8], [2, 1], [8, name], ...extra,
  [13, entry('location', 'model.onnx_data')], [13, entry('offset', String(offset))], [13, entry('length', String(length))], [14, 1],
];
const weights = new Uint8Array(96).map((_, i) => (i * 37 + 11) & 0xff);

/** A model: ir_version, a graph (node, name, initializers, inputs), opset_import after the graph, metadata. */
function model(initializers: Msg[]): Msg {
  const graph: Msg = [
    [1, [[1, 'x'], [1, 'w'], [2, 'y'], [4, 'MatMul']]], // a NodeProto
    [2, 'g'],
    ...initializers.map((t) => [5, t] as [number, Value]),
    [11, [[1, 'x']]], // a ValueInfoProto
    [12, [[1, 'y']]],
  ];
  return [[1, 8], [2, 'genarm-test'], [7, graph], [8, [[2, 18]]], [14, [[1, 'k'], [2, 'v']]]];
}

describe('onnx-inline: the wire-format rewriter (synthetic)', () => {
  const inlineTensor: Msg = [[1, 4], [2, 1], [8, 'bias'], [9, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])]];

  it('moves each external tensor\'s bytes into raw_data and copies every other field as it was', () => {
    const src = encode(model([
      externalTensor('w0', 0, 64, [[12, 'doc kept']]),
      inlineTensor,
      externalTensor('w1', 64, 32),
    ]));
    const { model: out, inlined } = inlineExternalData(src, weights, { location: 'model.onnx_data' });
    expect(inlined).toBe(2);
    // what a protobuf writer would give for the same tensors holding their bytes: fields 13/14 gone, raw_data last
    const want = encode(model([
      [[1, 2], [1, 8], [2, 1], [8, 'w0'], [12, 'doc kept'], [9, weights.subarray(0, 64)]],
      inlineTensor,
      [[1, 2], [1, 4], [2, 1], [8, 'w1'], [9, weights.subarray(64, 96)]],
    ]));
    expect(Buffer.from(out).equals(Buffer.from(want))).toBe(true);
  });

  it('leaves a model without external tensors byte for byte as it is, and zero-length ranges work', () => {
    const src = encode(model([inlineTensor, [[1, 0], [2, 1], [8, 'empty'], [9, new Uint8Array(0)]]]));
    const { model: out, inlined } = inlineExternalData(src, weights);
    expect(inlined).toBe(0);
    expect(Buffer.from(out).equals(Buffer.from(src))).toBe(true);
    const empty = inlineExternalData(encode(model([externalTensor('z', 96, 0)])), weights);
    expect(empty.inlined).toBe(1);
  });

  it('a long graph needs multi-byte length prefixes: recomputed, not copied', () => {
    const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
    const src = encode(model([externalTensor('big', 0, big.length)]));
    const { model: out } = inlineExternalData(src, big);
    expect(Buffer.from(out).equals(Buffer.from(encode(model([[[1, 2], [1, big.length / 8], [2, 1], [8, 'big'], [9, big]]]))))).toBe(true);
  });

  it('a truncated or malformed protobuf is an Error saying where', () => {
    const src = encode(model([externalTensor('w0', 0, 64)]));
    for (const cut of [1, 5, src.length - 3, src.length - 1]) {
      expect(() => inlineExternalData(src.subarray(0, cut), weights)).toThrow(/onnx-inline: ModelProto: malformed protobuf at byte \d+|no graph/);
    }
    expect(() => inlineExternalData(new Uint8Array([0x0b, 0x00]), weights)).toThrow(/unsupported wire type 3/);
    expect(() => inlineExternalData(new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), weights))
      .toThrow(/varint longer than 10 bytes/);
    expect(() => inlineExternalData(encode([[1, 8], [2, 'no graph']]), weights)).toThrow(/has no graph/);
  });

  it('an external range past the weight buffer, a missing length or another location is an Error naming the tensor', () => {
    expect(() => inlineExternalData(encode(model([externalTensor('w1', 64, 40)])), weights))
      .toThrow(/initializer "w1": external bytes \[64, 104\) lie past the end of the 96-byte weight buffer/);
    const noLength: Msg = [[1, 4], [2, 1], [8, 'n'], [13, entry('location', 'model.onnx_data')], [14, 1]];
    expect(() => inlineExternalData(encode(model([noLength])), weights)).toThrow(/initializer "n": external_data length is missing/);
    const bad: Msg = [[8, 'b'], [13, entry('location', 'model.onnx_data')], [13, entry('length', '-4')], [14, 1]];
    expect(() => inlineExternalData(encode(model([bad])), weights)).toThrow(/length is not a byte count/);
    expect(() => inlineExternalData(encode(model([externalTensor('w0', 0, 64)])), weights, { location: 'other.bin' }))
      .toThrow(/names the location "model.onnx_data", not "other.bin"/);
  });
});

// ---------------------------------------------------------------- the tiny suite's real graph
const m = manifest();
const tinyBase = m?.suites.tiny ? m.models[m.suites.tiny.base] : undefined;
const why = !m ? `no ${MODELS_DIR}/manifest.json` : !tinyBase ? 'no tiny suite in the manifest' : !tinyBase.transport ? 'the tiny base has no transport (npm run models)' : '';
requireModels('onnx-inline on the tiny base graph', why);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe.skipIf(!!why)('onnx-inline on the tiny base\'s weightless graph', () => {
  it('the inlined model gives the externalData session\'s logits (every prompt position, 4 greedy steps)', async () => {
    const t = tinyBase!.transport!;
    const layout = parseLayout(JSON.parse(readFileSync(join(MODELS_DIR, t.layout.path), 'utf8')));
    const graph = new Uint8Array(readFileSync(join(MODELS_DIR, t.graph.path)));
    const gg = readFileSync(join(MODELS_DIR, t.gguf.path));
    const data = await expandGguf(new Uint8Array(gg.buffer, gg.byteOffset, gg.byteLength), layout);
    const { model: inlined, inlined: n } = inlineExternalData(graph, data, { location: layout.external_data.path });
    expect(n).toBe(layout.tensors.length);
    // every weight byte went in, plus a few bytes of field headers per tensor
    expect(inlined.length).toBeGreaterThan(graph.length + data.length - 64 * layout.tensors.length);
    expect(inlined.length).toBeLessThan(graph.length + data.length);
    console.log(`[onnx-inline] tiny base: ${graph.length} B graph + ${data.length} B weights -> ${inlined.length} B model (${n} tensors)`);

    const opts: InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 };
    const rt = ort as unknown as OrtRuntime;
    const viaExternal = await ort.InferenceSession.create(graph, { ...opts, externalData: externalDataOption(layout, data) });
    const viaInline = await ort.InferenceSession.create(inlined, opts);
    const lms = [viaExternal, viaInline].map((s) => new CausalLM(rt, s as unknown as InferenceSession, tinyBase!, plainRunner));
    try {
      const ids = [1, 9, 42, 314, 2718, 77, 5];
      let [a, b] = (await Promise.all(lms.map((lm) => lm.forward([ids], emptyCache(rt, tinyBase!.arch), 'all')))) as [ForwardResult, ForwardResult];
      let worst = maxAbsDiff(a.logits!, b.logits!);
      for (let step = 0; step < 4; step++) {
        const last = a.logits!.subarray(a.logits!.length - tinyBase!.arch.vocab_size);
        const next = last.reduce((best, x, i) => (x > last[best] ? i : best), 0);
        [a, b] = [await lms[0].forward([[next]], a.present), await lms[1].forward([[next]], b.present)];
        worst = Math.max(worst, maxAbsDiff(a.logits!, b.logits!));
      }
      console.log(`[onnx-inline] tiny base: max |logit diff| inline vs externalData = ${worst}`);
      expect(worst).toBeLessThanOrEqual(1e-6);
    } finally {
      await viaExternal.release();
      await viaInline.release();
    }
  });
});

// every transport of the tiny suite, and SmolLM2's base and fused graph (652 MB: a few seconds)
const transports: [string, TransportEntry][] = !m ? [] : [
  ...Object.values(m.models).filter((e) => e.tiny && e.transport).map((e) => [e.id, e.transport!] as [string, TransportEntry]),
  ...(m.suites.tiny?.fused?.transport ? [['tiny-fused', m.suites.tiny.fused.transport] as [string, TransportEntry]] : []),
  ...(m.suites.smollm2 ? [
    [m.suites.smollm2.base, m.models[m.suites.smollm2.base]?.transport],
    ['smollm2-fused', m.suites.smollm2.fused?.transport],
  ].filter((x): x is [string, TransportEntry] => !!x[1]) : []),
];
const twhy = !m ? `no ${MODELS_DIR}/manifest.json` : transports.length === 0 ? 'no transports in the manifest (npm run models)'
  : transports.map(([, t]) => join(MODELS_DIR, t.gguf.path)).find((p) => !existsSync(p)) ?? '';
requireModels('onnx-inline on the built transports', twhy ? `${twhy}${twhy.startsWith(MODELS_DIR) ? ' is absent' : ''}` : '');

describe.skipIf(!!twhy)('onnx-inline: the weightless graph + its weights is the inline fp32 graph', () => {
  it.each(transports)('%s: sha256 of the inlined model = the source graph\'s', async (_id, t) => {
    const layout = parseLayout(JSON.parse(readFileSync(join(MODELS_DIR, t.layout.path), 'utf8')));
    const gg = readFileSync(join(MODELS_DIR, t.gguf.path));
    const adapter = t.adapter ? new Uint8Array(readFileSync(join(MODELS_DIR, t.adapter.path))) : undefined;
    const data = await expandGguf(new Uint8Array(gg.buffer, gg.byteOffset, gg.byteLength), layout, { adapter });
    const t0 = performance.now();
    const { model, inlined } = inlineExternalData(new Uint8Array(readFileSync(join(MODELS_DIR, t.graph.path))), data, { location: layout.external_data.path });
    const ms = performance.now() - t0;
    expect(inlined).toBe(layout.tensors.length);
    expect(model.length).toBe(layout.source_graph.bytes);
    expect(createHash('sha256').update(model).digest('hex')).toBe(layout.source_graph.sha256);
    console.log(`[onnx-inline] ${_id}: ${inlined} tensors inlined, ${model.length} B in ${ms.toFixed(0)} ms = the source graph`);
  }, 300_000);
});
