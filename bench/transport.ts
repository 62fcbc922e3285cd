// What shipping the GGUF instead of its fp32 expansion costs and saves (src/engine/gguf-expand.ts,
// training/genarm/transport.py): bytes on the wire, the expansion's time and peak memory in Node,
// and the session load from the weightless graph + externalData against the inline fp32 graph.
//
//   npx tsx bench/transport.ts        # needs .cache/gguf (npm run models) and .cache/transport/
//                                     # (python -m genarm.transport, or the gguf-expand test)
//
// Each measurement runs in a fresh child process, so its peak RSS (VmHWM) is its own.
// Writes bench/results/transport.json.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { expandGguf, expandWithIndex, externalDataOption, indexGguf, parseLayout, type TransportLayout } from '../src/engine/gguf-expand';
import { machineInfo, vmHWM } from './common';

const GGUF = process.env.GENARM_GGUF ?? '.cache/gguf/SmolLM2-135M-Instruct.Q4_1.gguf';
const DIR = process.env.GENARM_TRANSPORT_DIR ?? '.cache/transport/smollm2-135m-instruct';
const FP32 = process.env.GENARM_FP32_GRAPH ?? 'models-node/smollm2-135m-instruct/onnx/model.onnx';
const OUT = 'bench/results/transport.json';

type Job = 'expand' | 'session-light' | 'session-fp32';

interface ExpandResult {
  read_gguf_ms: number;
  index_ms: number;
  /** the first expansion (fresh process) and two more, one buffer each */
  expand_ms: number[];
  rss_before_expand_bytes: number;
  peak_rss_first_expand_bytes: number | null;
  sha256_matches_layout: boolean;
}
interface SessionResult {
  /** reading the GGUF and expanding it (light), or nothing (fp32: ORT reads the file) */
  prepare_ms: number;
  create_ms: number;
  rss_before_create_bytes: number;
  rss_after_create_bytes: number;
  /** after the JS side dropped its buffers and a full GC: what the session itself keeps */
  rss_after_gc_bytes: number;
  peak_rss_bytes: number | null;
}

/** RSS after full GCs (the children run with --expose-gc); V8 frees big ArrayBuffers a task later. */
async function rssAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return process.memoryUsage().rss;
}

const mb = (b: number | null) => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function readLayout(): TransportLayout {
  return parseLayout(JSON.parse(readFileSync(join(DIR, 'model.layout.json'), 'utf8')));
}

function readGguf(): Uint8Array {
  const b = readFileSync(GGUF);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const sessionOptions = () => ({
  executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, intraOpNumThreads: availableParallelism(), interOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

async function child(job: Job): Promise<ExpandResult | SessionResult> {
  const layout = readLayout();
  if (job === 'expand') {
    let t = performance.now();
    const gg = readGguf();
    const read_gguf_ms = performance.now() - t;
    t = performance.now();
    const index = await indexGguf(gg);
    const index_ms = performance.now() - t;
    const rss_before_expand_bytes = process.memoryUsage().rss;
    const expand_ms: number[] = [];
    let sha = '';
    let peak: number | null = null;
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const data = expandWithIndex(gg, index, layout);
      expand_ms.push(performance.now() - t);
      if (i === 0) {
        peak = vmHWM();
        sha = createHash('sha256').update(data).digest('hex');
      }
    }
    return { read_gguf_ms, index_ms, expand_ms, rss_before_expand_bytes, peak_rss_first_expand_bytes: peak, sha256_matches_layout: sha === layout.external_data.sha256 };
  }
  const ort = await import('onnxruntime-node');
  let t = performance.now();
  if (job === 'session-light') {
    let data: Uint8Array | null = await expandGguf(readGguf(), layout);
    const prepare_ms = performance.now() - t;
    const graph = readFileSync(join(DIR, layout.graph.file));
    const rss_before_create_bytes = process.memoryUsage().rss;
    t = performance.now();
    const s = await ort.InferenceSession.create(graph, { ...sessionOptions(), externalData: externalDataOption(layout, data) });
    const create_ms = performance.now() - t;
    const rss_after_create_bytes = process.memoryUsage().rss;
    // eslint-disable-next-line no-useless-assignment -- the last reference dropped, so the GC can free it before the measurement
    data = null; // onnxruntime-node copied the external data into its own initializers (zeroing it after create changes no logit)
    const r = { prepare_ms, create_ms, rss_before_create_bytes, rss_after_create_bytes, rss_after_gc_bytes: await rssAfterGc(), peak_rss_bytes: vmHWM() };
    await s.release();
    return r;
  }
  const rss_before_create_bytes = process.memoryUsage().rss;
  t = performance.now();
  const s = await ort.InferenceSession.create(FP32, sessionOptions());
  const create_ms = performance.now() - t;
  const r = { prepare_ms: 0, create_ms, rss_before_create_bytes, rss_after_create_bytes: process.memoryUsage().rss, rss_after_gc_bytes: await rssAfterGc(), peak_rss_bytes: vmHWM() };
  await s.release();
  return r;
}

function runChild<T>(job: Job): Promise<T> {
  return new Promise((ok, fail) => {
    const c = fork(fileURLToPath(import.meta.url), ['--child', job], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, '--expose-gc'],
    });
    let result: T | null = null;
    c.on('message', (m: { result?: T; error?: string }) => {
      if (m.error) fail(new Error(m.error));
      else result = m.result ?? null;
    });
    c.on('exit', (code) => (result ? ok(result) : fail(new Error(`child ${job} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    let msg: { result?: unknown; error?: string };
    try {
      msg = { result: await child(process.argv[at + 1] as Job) };
    } catch (e) {
      msg = { error: (e as Error).stack ?? String(e) };
    }
    process.send!(msg, () => process.disconnect());
    return;
  }
  const layout = readLayout();
  const size = (p: string) => statSync(p).size;
  const graphPath = join(DIR, layout.graph.file);
  const layoutPath = join(DIR, 'model.layout.json');
  const bytes = {
    gguf: size(GGUF),
    fp32_graph: size(FP32),
    weightless_graph: size(graphPath),
    weightless_graph_gzip: gzipSync(readFileSync(graphPath)).length,
    layout_json: size(layoutPath),
    layout_json_gzip: gzipSync(readFileSync(layoutPath)).length,
    external_data_expanded: layout.external_data.bytes,
  };
  const wire = bytes.gguf + bytes.weightless_graph + bytes.layout_json;
  console.log(`[transport] wire: GGUF ${mb(bytes.gguf)} + graph ${mb(bytes.weightless_graph)} + layout ${mb(bytes.layout_json)} = ${mb(wire)} `
    + `vs the fp32 graph ${mb(bytes.fp32_graph)} (${(bytes.fp32_graph / wire).toFixed(2)}x less)`);
  const expand = await runChild<ExpandResult>('expand');
  console.log(`[transport] expansion: ${expand.expand_ms.map((x) => x.toFixed(0)).join(' / ')} ms, index ${expand.index_ms.toFixed(0)} ms, `
    + `peak RSS ${mb(expand.peak_rss_first_expand_bytes)} (before ${mb(expand.rss_before_expand_bytes)}), sha256 ok: ${expand.sha256_matches_layout}`);
  const light = await runChild<SessionResult>('session-light');
  console.log(`[transport] weightless + externalData: expand ${light.prepare_ms.toFixed(0)} ms, session ${light.create_ms.toFixed(0)} ms, `
    + `peak RSS ${mb(light.peak_rss_bytes)}, RSS ${mb(light.rss_before_create_bytes)} -> ${mb(light.rss_after_create_bytes)}, ${mb(light.rss_after_gc_bytes)} after dropping the JS buffers`);
  const fp32 = await runChild<SessionResult>('session-fp32');
  console.log(`[transport] inline fp32 graph: session ${fp32.create_ms.toFixed(0)} ms, peak RSS ${mb(fp32.peak_rss_bytes)}, `
    + `RSS ${mb(fp32.rss_before_create_bytes)} -> ${mb(fp32.rss_after_create_bytes)}, ${mb(fp32.rss_after_gc_bytes)} after a GC`);
  const result = {
    what: 'SmolLM2-135M-Instruct base: the GGUF blocks + a weightless graph + a layout on the wire, expanded to fp32 externalData in Node',
    command: 'npx tsx bench/transport.ts',
    machine: machineInfo(),
    files: { gguf: GGUF, fp32_graph: FP32, transport_dir: DIR, gguf_sha256: layout.gguf.sha256, source_graph_sha256: layout.source_graph.sha256 },
    tensors: layout.tensors.length,
    bytes: { ...bytes, wire_total: wire, fp32_over_wire: Math.round((bytes.fp32_graph / wire) * 100) / 100 },
    expand: { ...expand, expand_ms: expand.expand_ms.map((x) => Math.round(x)), read_gguf_ms: Math.round(expand.read_gguf_ms), index_ms: Math.round(expand.index_ms) },
    session_weightless_external_data: { ...light, prepare_ms: Math.round(light.prepare_ms), create_ms: Math.round(light.create_ms) },
    session_inline_fp32: { ...fp32, create_ms: Math.round(fp32.create_ms) },
    note: 'peak RSS = VmHWM of a fresh child process doing only that; the machine was shared with a training job (2 cores, nice 10)',
  };
  writeFileSync(resolve(OUT), JSON.stringify(result, null, 1) + '\n');
  console.log(`[transport] wrote ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
