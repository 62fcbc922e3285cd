// npm run bench [-- --full] [--suite smollm2|tiny] [--prompts N] [--tokens N] [--name NAME]
//                [--no-node] [--no-browser] [--threads 1,2] [--node-dtype D] [--wasm-dtype D] [--no-build]
//
// Guided-decoding speed against baselines, on the same prompts and seeds in one run:
// base alone, base + 1 ARM, base + 2 ARMs, ARGS (k=10) and Best-of-4, under Node
// (onnxruntime-node CPU) and in Chromium on WASM with 1 and 2 threads. Per-token
// latency, tokens/s, time to first token (ratios to base alone are the headline),
// download size and peak memory per configuration. Writes bench/results/<name>.json
// and two SVG charts beside it.
//
// Timing: per backend, one engine holds every model and the configurations take turns
// prompt by prompt, so load from other processes hits them alike. Memory and load
// time: each configuration alone (a fresh process / browser context with only its
// models), one run.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Dtype, Manifest } from '../src/engine/types';
import { median, pooledMsPerToken, ratio, round } from '../src/eval/stats';
import { barChartSvg } from '../src/eval/svg';
import {
  benchManifest, CONFIGS, configFiles, FULL_EXTRA, loadAverage, machineInfo, PROMPTS, readManifestFile, sumBytes,
  type BenchConfig, type ConfigResult, type RunRecord,
} from './common';
import type { NodeJob, NodeMemory, NodeTiming } from './node-child';

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    suite: { type: 'string', default: 'smollm2' },
    models: { type: 'string', default: 'public/models' },
    prompts: { type: 'string' },
    tokens: { type: 'string' },
    name: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    'node-dtype': { type: 'string' },
    // default: the engine's choice (manifest.preferred, measured by bench/dtypes.ts)
    'wasm-dtype': { type: 'string', default: 'auto' },
    'no-node': { type: 'boolean', default: false },
    'no-browser': { type: 'boolean', default: false },
    'no-memory': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    configs: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(`usage: npm run bench -- [--full] [--suite smollm2|tiny] [--prompts N] [--tokens N] [--name NAME]
  [--threads 1,2] [--node-dtype fp32|q8|q4] [--wasm-dtype fp32|q8|q4|auto (default auto)] [--no-node] [--no-browser] [--no-memory] [--no-build]
  [--configs base,genarm-1,...]  (a subset of the configurations)
defaults: 3 prompts x 32 tokens, configs ${CONFIGS.map((c) => c.id).join(', ')}; --full: 8 prompts x 64 tokens, adds ${FULL_EXTRA.map((c) => c.id).join(', ')}`);
  process.exit(0);
}

const full = args.full!;
const nPrompts = Number(args.prompts ?? (full ? 8 : 3));
const maxTokens = Number(args.tokens ?? (full ? 64 : 32));
const suite = args.suite!;
const modelsDir = resolve(args.models!);
const rawManifest = readManifestFile(modelsDir);
// the fused configuration needs a suite with a fused graph (src/engine/fused.ts); the tiny suite may lack it
const only = args.configs?.split(',');
const configs: BenchConfig[] = (only ? [...CONFIGS, ...FULL_EXTRA].filter((c) => only.includes(c.id)) : full ? [...CONFIGS, ...FULL_EXTRA] : CONFIGS).filter(
  (c) => c.path !== 'fused' || !!rawManifest.suites[suite]?.fused,
);
if (!configs.length) throw new Error(`no configuration selected (known: ${[...CONFIGS, ...FULL_EXTRA].map((c) => c.id).join(', ')})`);
const name = args.name ?? `${suite}${full ? '-full' : ''}`;
const outDir = resolve('bench/results');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (m: string) => console.log(`[bench ${elapsed()}] ${m.trimStart()}`);

interface BackendRun {
  backend: string;
  threads: number | null;
  dtype: string;
  backend_reason: string;
  label: string;
  /** load of every model at once (timing engine) */
  load_all_ms: number;
  results: ConfigResult[];
}

function nodeChild<T>(job: NodeJob): Promise<T> {
  return new Promise((ok, fail) => {
    const child = fork(resolve('bench/node-child.ts'), [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: T | null = null;
    let error: string | null = null;
    child.on('message', (m: { type: string; message?: string; result?: T }) => {
      if (m.type === 'log') log(m.message!);
      if (m.type === 'result') result = m.result!;
      if (m.type === 'error') error = m.message!;
    });
    child.on('exit', (code) => (result ? ok(result) : fail(new Error(error ?? `node child (${job.kind}) exited with ${code}`))));
  });
}

function assemble(
  backend: string, label: string,
  timing: { dtype: string; backend_reason: string; threads: number | null; load_ms: number; runs: Record<string, RunRecord[]>; dtypes: Record<string, Dtype>; reasons: Record<string, string> },
  memory: Map<string, { peak_memory_bytes: number | null; memory_method: string; load_ms: number; memory_detail?: Record<string, number | string | null> }>,
  manifest: Manifest,
): BackendRun {
  return {
    backend, threads: timing.threads, dtype: timing.dtype, backend_reason: timing.backend_reason, label, load_all_ms: round(timing.load_ms, 0),
    results: configs.map((c) => {
      const dtype = timing.dtypes[c.id] ?? timing.dtype;
      const files = configFiles(manifest, suite, c, dtype as Dtype);
      const mem = memory.get(c.id);
      return {
        config: c.id, label: c.label, backend, dtype, backend_reason: timing.reasons[c.id], threads: timing.threads,
        download_bytes: sumBytes(files), files: files.map((f) => f.path),
        peak_memory_bytes: mem?.peak_memory_bytes ?? null, memory_method: mem?.memory_method ?? 'not measured',
        ...(mem?.memory_detail ? { memory_detail: mem.memory_detail } : {}),
        load_ms: mem ? round(mem.load_ms, 0) : null,
        runs: timing.runs[c.id] ?? [],
      };
    }),
  };
}

function summarise(r: ConfigResult) {
  const msTok = pooledMsPerToken(r.runs.map((x) => ({ ms: x.decode_ms, tokens: x.decode_tokens })));
  return {
    ms_per_token: round(msTok, 2),
    tokens_per_s: round(1000 / msTok, 2),
    ttft_ms: round(median(r.runs.map((x) => x.ttft_ms)), 1),
    tokens: r.runs.reduce((a, x) => a + x.tokens, 0),
    download_mb: round(r.download_bytes / 1e6, 1),
    peak_memory_mb: r.peak_memory_bytes === null ? null : round(r.peak_memory_bytes / 1e6, 0),
    load_s: r.load_ms === null ? null : round(r.load_ms / 1000, 1),
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const raw = rawManifest;
  const manifest = benchManifest(raw, suite, configs); // fails early, naming a missing ARM/RM
  log(`suite ${suite}, ${configs.length} configurations x ${nPrompts} prompts x ${maxTokens} tokens, temperature 1, seeds 0..${nPrompts - 1}`);
  log(`machine: ${machine.cpu_model}, ${machine.cores} cores, load average ${machine.load_average_at_start.join(' ')}`);
  const backends: BackendRun[] = [];
  const ids = configs.map((c) => c.id);

  if (!args['no-node']) {
    const dtype = args['node-dtype'] as Dtype | undefined;
    log('node: timing (every model loaded, configurations in turn)');
    const timing = await nodeChild<NodeTiming>({ kind: 'timing', configs: ids, suite, modelsDir, dtype, prompts: nPrompts, maxTokens });
    const memory = new Map<string, NodeMemory>();
    if (!args['no-memory']) {
      for (const c of configs) {
        log(`node: memory, ${c.label} only`);
        const m = await nodeChild<NodeMemory>({ kind: 'memory', configs: [c.id], suite, modelsDir, dtype: timing.dtype, prompts: 1, maxTokens });
        memory.set(c.id, m);
        log(`node: ${c.id}: peak ${(m.peak_memory_bytes! / 1e6).toFixed(0)} MB, load ${(m.load_ms / 1000).toFixed(1)} s`);
      }
    }
    backends.push(assemble('node-cpu', `Node CPU (${timing.dtype}, ${timing.threads} threads)`, timing, memory, raw));
  }

  let chromiumVersion: string | null = null;
  if (!args['no-browser']) {
    const { buildWeb, launchBrowser, browserTiming, browserMemory, serve, setBase } = await import('./browser');
    const webDir = resolve('.cache/bench-web');
    if (!args['no-build']) {
      log('browser: vite build of the harness page into .cache/bench-web');
      await buildWeb(webDir);
    }
    const { server, url } = await serve(webDir, modelsDir, manifest);
    const browser = await launchBrowser();
    setBase(browser, url);
    chromiumVersion = browser.version();
    log(`browser: Chromium ${chromiumVersion} at ${url}`);
    try {
      const threadList = args.threads!.split(',').map(Number);
      let dtype = args['wasm-dtype'] === 'auto' ? undefined : (args['wasm-dtype'] as Dtype);
      for (const threads of threadList) {
        log(`wasm x${threads}: timing (every model loaded, configurations in turn)`);
        const timing = await browserTiming(browser, configs, { url, threads, dtype, prompts: nPrompts, maxTokens }, log);
        dtype ??= timing.dtype; // the engine's choice, kept for the other runs
        const memory = new Map<string, Awaited<ReturnType<typeof browserMemory>>>();
        // memory per configuration: measured with the largest thread count only
        if (!args['no-memory'] && threads === Math.max(...threadList)) {
          for (const c of configs) {
            log(`wasm x${threads}: memory, ${c.label} only`);
            const m = await browserMemory(browser, c, { url, threads, dtype, prompts: 1, maxTokens });
            memory.set(c.id, m);
            log(`wasm x${threads}: ${c.id}: peak ${m.peak_memory_bytes === null ? '?' : (m.peak_memory_bytes / 1e6).toFixed(0)} MB, load ${(m.load_ms / 1000).toFixed(1)} s`);
          }
        }
        backends.push(assemble('wasm', `Chromium WASM, ${threads} thread${threads > 1 ? 's' : ''} (${timing.dtype})`, timing, memory, raw));
      }
    } finally {
      await browser.close();
      server.close();
    }
  }

  // headline: ratios to base alone, within each backend (same run, same prompts and seeds)
  const table = backends.flatMap((b) => {
    const base = b.results.find((r) => r.config === 'base');
    const baseS = base ? summarise(base) : null;
    return b.results.map((r) => {
      const s = summarise(r);
      return {
        backend: b.label,
        config: r.config,
        label: r.label,
        ...s,
        ms_per_token_ratio: round(ratio(s.ms_per_token, baseS?.ms_per_token ?? NaN), 2),
        tokens_per_s_ratio: round(ratio(s.tokens_per_s, baseS?.tokens_per_s ?? NaN), 2),
        ttft_ratio: round(ratio(s.ttft_ms, baseS?.ttft_ms ?? NaN), 2),
      };
    });
  });

  const wall = (performance.now() - started) / 1000;
  const report = {
    name,
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    machine: { ...machine, chromium: chromiumVersion, load_average_at_end: loadAverage() },
    settings: {
      suite, prompts: Array.from({ length: nPrompts }, (_, i) => PROMPTS[i % PROMPTS.length]), max_tokens: maxTokens,
      temperature: 1, top_k: 0, top_p: 1, seeds: Array.from({ length: nPrompts }, (_, i) => i), score_arms: false,
      dtypes: {
        node: args['node-dtype'] ?? `engine's choice (manifest.preferred.node = ${raw.preferred?.node})`,
        wasm: args['wasm-dtype'] === 'auto' ? `engine's choice (manifest.preferred.wasm = ${raw.preferred?.wasm})` : args['wasm-dtype'],
      },
      configs: configs.map((c) => ({ id: c.id, label: c.label, arms: c.arms, rms: c.rms, settings: c.settings, cost_per_token: c.cost })),
      method: 'Per backend, one engine holds every model; after one untimed warm-up run per configuration, the configurations take turns prompt by prompt ' +
        '(a configuration runs only its own models: unused ARMs/RMs stay idle). ms_per_token = decode time of the tokens after the first, pooled over prompts ' +
        '(sum ms / sum tokens); Best-of-N: whole wall time / returned tokens. ttft_ms = median time to the first token (tokenise + prefill + first step; ' +
        'Best-of-N: all N samples and their scoring). tokens_per_s = 1000 / ms_per_token. download = tokenizer files + one ONNX file per model of the ' +
        'configuration at the dtype used. Peak memory and load time: the configuration alone (a fresh process / browser context with only its models), one run.',
    },
    summary: table,
    backends,
    wall_s: round(wall, 1),
  };
  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, `${name}.json`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 1) + '\n');

  const groups = configs.map((c) => c.label);
  const pick = (b: BackendRun, key: 'ms_per_token_ratio' | 'tokens_per_s') =>
    configs.map((c) => table.find((t) => t.backend === b.label && t.config === c.id)?.[key] ?? NaN);
  const sub = `${suite}, ${nPrompts} prompts x ${maxTokens} tokens, ${machine.cpu_model.split(' (')[0]}, ${machine.cores} cores, ${machine.date.slice(0, 10)}`;
  writeFileSync(join(outDir, `${name}-ratio.svg`), barChartSvg({
    title: 'Per-token latency relative to the base model alone (lower is better)', subtitle: sub,
    groups, series: backends.map((b) => ({ name: b.label, values: pick(b, 'ms_per_token_ratio') })),
    yLabel: 'ms per token / base ms per token', refLine: 1, labels: true,
  }));
  writeFileSync(join(outDir, `${name}-tokens-per-s.svg`), barChartSvg({
    title: 'Decoding speed, tokens per second (higher is better)', subtitle: `${sub}; Best-of-N counts the returned tokens only`,
    groups, series: backends.map((b) => ({ name: b.label, values: pick(b, 'tokens_per_s') })), yLabel: 'tokens / s', labels: true,
  }));

  console.log('\nbackend | config | ms/token | x base | tokens/s | TTFT ms | TTFT x base | download MB | peak MB | load s');
  for (const t of table) {
    console.log(`${t.backend} | ${t.label} | ${t.ms_per_token} | ${t.ms_per_token_ratio} | ${t.tokens_per_s} | ${t.ttft_ms} | ${t.ttft_ratio} | ${t.download_mb} | ${t.peak_memory_mb} | ${t.load_s}`);
  }
  log(`wrote ${jsonPath}, ${name}-ratio.svg, ${name}-tokens-per-s.svg (wall ${wall.toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
