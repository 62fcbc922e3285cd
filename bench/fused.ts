// npx tsx bench/fused.ts [--suite smollm2|tiny] [--prompts N] [--tokens N] [--threads 1,2]
//                        [--node-dtypes q8,q4] [--wasm-dtypes q8] [--no-node] [--no-browser] [--no-build]
//                        [--models DIR] [--tag NAME]
//
// The fused path (src/engine/fused.ts): one pass for all models. In the same run, on the same prompts and seeds,
// per-token latency of
//   base       the base graph alone (separate path, no ARM runs)
//   separate   base + 2 ARMs as three graphs stepped in lockstep
//   fused      base + 2 ARMs as three rows of the fused graph (one forward per token)
//   fused-1    the fused graph with the base row only (what the adapter inputs and the
//              LoRA matmuls cost by themselves)
// under Node (onnxruntime-node CPU) and in Chromium on WASM, per thread count and dtype;
// plus the download bytes of each configuration. The configurations run interleaved
// (prompt by prompt) so that load from other jobs on the machine hits them alike.
// Writes bench/results/fused-node.json and fused-wasm.json and prints a table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from '@playwright/test';
import { Engine } from '../src/engine/engine';
import { createNodePlatform } from '../src/engine/node';
import type { Dtype, GenerateSettings, GenerationResult, Manifest, Objective } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';
import { median, pooledMsPerToken, round } from '../src/eval/stats';
import { configFiles, loadAverage, machineInfo, PROMPTS, readManifestFile, sumBytes, WARMUP_PROMPT, type BenchConfig } from './common';

const { values: args } = parseArgs({
  options: {
    suite: { type: 'string', default: 'smollm2' },
    models: { type: 'string', default: 'public/models' },
    prompts: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1,2' },
    'node-dtypes': { type: 'string', default: 'q8,q4' },
    'wasm-dtypes': { type: 'string', default: 'q8' },
    'no-node': { type: 'boolean', default: false },
    'no-browser': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    /** suffix of the result files: fused-<backend>-<tag>.json */
    tag: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  console.log('usage: npx tsx bench/fused.ts [--suite smollm2|tiny] [--prompts 3] [--tokens 32] [--threads 1,2] [--node-dtypes q8,q4] [--wasm-dtypes q8] [--no-node] [--no-browser] [--no-build]');
  process.exit(0);
}

const suite = args.suite!;
const modelsDir = resolve(args.models!);
const nPrompts = Number(args.prompts);
const maxTokens = Number(args.tokens);
const threadList = args.threads!.split(',').map(Number);
const outDir = resolve('bench/results');
const started = performance.now();
const log = (m: string) => console.log(`[fused ${((performance.now() - started) / 1000).toFixed(0)} s] ${m}`);

type ConfigId = 'base' | 'separate' | 'fused' | 'fused-1';
const CONFIGS: { id: ConfigId; label: string; path: 'fused' | 'separate'; weights: Record<string, number>; cost: string }[] = [
  { id: 'base', label: 'base alone', path: 'separate', weights: {}, cost: '1 base forward' },
  { id: 'separate', label: 'base + 2 ARMs, separate', path: 'separate', weights: { helpfulness: 1, harmlessness: 1 }, cost: '3 forwards (base, ARM, ARM)' },
  { id: 'fused', label: 'base + 2 ARMs, fused', path: 'fused', weights: { helpfulness: 1, harmlessness: 1 }, cost: '1 forward of 3 rows' },
  { id: 'fused-1', label: 'fused graph, base row only', path: 'fused', weights: {}, cost: '1 forward of 1 row (zero adapter)' },
];

const settings = (prompt: string, seed: number, weights: Record<string, number>, max: number): GenerateSettings => ({
  prompt, seed, max_tokens: max, temperature: 1, top_k: 0, top_p: 1, decoder: 'genarm', weights, score_arms: false,
});

// ---------------------------------------------------------------- download bytes

/** Files and bytes of each configuration at a dtype (null where the suite lacks a model or variant). */
function downloads(m: Manifest, dtype: Dtype): Record<'base' | 'separate' | 'fused', { bytes: number; files: string[] } | null> {
  const arms: Objective[] = ['helpfulness', 'harmlessness'];
  const pack = (c: Pick<BenchConfig, 'arms' | 'rms' | 'path'>) => {
    try {
      const files = configFiles(m, suite, c, dtype);
      return { bytes: sumBytes(files), files: files.map((f) => f.path) };
    } catch {
      return null;
    }
  };
  return {
    base: pack({ arms: [], rms: [], path: 'separate' }),
    separate: pack({ arms, rms: [], path: 'separate' }),
    fused: pack({ arms, rms: [], path: 'fused' }),
  };
}

// ---------------------------------------------------------------- runs

interface Run {
  prompt: number;
  tokens: number;
  decode_ms: number;
  decode_tokens: number;
  ttft_ms: number;
  ids: number[];
  logprob_base: number[];
  /** step time of each token after the first */
  step_ms: number[];
}

function toRun(prompt: number, r: Pick<GenerationResult, 'ttft_ms' | 'ms_per_token'> & { tokens: { id: number; logprob_base: number; ms: number }[] }): Run {
  const n = r.tokens.length;
  return {
    prompt, tokens: n, decode_ms: r.ms_per_token * Math.max(0, n - 1), decode_tokens: Math.max(0, n - 1), ttft_ms: r.ttft_ms,
    ids: r.tokens.map((t) => t.id), logprob_base: r.tokens.map((t) => t.logprob_base), step_ms: r.tokens.slice(1).map((t) => t.ms),
  };
}

function quantile(values: number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) return NaN;
  const i = (v.length - 1) * q;
  return v[Math.floor(i)] + (v[Math.ceil(i)] - v[Math.floor(i)]) * (i - Math.floor(i));
}

interface Measured {
  backend: string;
  threads: number;
  dtype: Dtype;
  reasons: Record<string, string>;
  runs: Record<ConfigId, Run[]>;
}

/** Generate with each configuration, prompt by prompt (interleaved), after one untimed warm-up each. */
async function interleave(gen: (c: (typeof CONFIGS)[number], s: GenerateSettings) => Promise<Run>, tag: string): Promise<Record<ConfigId, Run[]>> {
  const runs = Object.fromEntries(CONFIGS.map((c) => [c.id, [] as Run[]])) as Record<ConfigId, Run[]>;
  for (const c of CONFIGS) await gen(c, settings(WARMUP_PROMPT, 0, c.weights, Math.min(16, maxTokens)));
  for (let i = 0; i < nPrompts; i++) {
    const line: string[] = [];
    for (const c of CONFIGS) {
      const r = await gen(c, settings(PROMPTS[i % PROMPTS.length], i, c.weights, maxTokens));
      r.prompt = i;
      runs[c.id].push(r);
      line.push(`${c.id} ${(r.decode_ms / Math.max(1, r.decode_tokens)).toFixed(1)}`);
    }
    log(`${tag} prompt ${i + 1}/${nPrompts}: ms/token ${line.join(', ')}`);
  }
  return runs;
}

async function nodeBackend(threads: number, dtype: Dtype): Promise<Measured> {
  const load = (path: 'fused' | 'separate') => Engine.load(createNodePlatform({ modelsDir, threads }), { suite, dtype, path, warmup: true });
  const sep = await load('separate');
  const fused = await load('fused');
  try {
    const engines = { separate: sep, fused };
    const runs = await interleave(async (c, s) => toRun(0, await engines[c.path].generate(s)), `node x${threads} ${dtype}`);
    return { backend: 'node-cpu', threads, dtype, reasons: { separate: sep.backend.reason, fused: fused.backend.reason }, runs };
  } finally {
    await sep.dispose();
    await fused.dispose();
  }
}

const harness = (page: Page) => ({
  load: (req: Parameters<Harness['load']>[0]) =>
    page.evaluate(async (r) => {
      const ready = await (window as unknown as { harness: Harness }).harness.load(r);
      return { backend: ready.backend };
    }, req),
  generate: (s: GenerateSettings) =>
    page.evaluate(async (x) => {
      const { result } = await (window as unknown as { harness: Harness }).harness.generate(x);
      return { ttft_ms: result.ttft_ms, ms_per_token: result.ms_per_token, tokens: result.tokens.map((t) => ({ id: t.id, logprob_base: t.logprob_base, ms: t.ms })) };
    }, s),
});

async function browserBackends(manifest: Manifest, wasmDtypes: Dtype[]): Promise<Measured[]> {
  const { buildWeb, launchBrowser, serve } = await import('./browser');
  const webDir = resolve('.cache/bench-fused-web');
  if (!args['no-build']) {
    log('browser: vite build of the harness page into .cache/bench-fused-web');
    await buildWeb(webDir);
  }
  const { server, url } = await serve(webDir, modelsDir, manifest);
  const browser = await launchBrowser();
  log(`browser: Chromium ${browser.version()} at ${url}`);
  const out: Measured[] = [];
  try {
    for (const threads of threadList) {
      for (const dtype of wasmDtypes) {
        // one page (worker, WASM heap) per path, in one context; they take turns
        const context = await browser.newContext();
        try {
          const pages = { separate: await context.newPage(), fused: await context.newPage() };
          const reasons: Record<string, string> = {};
          for (const path of ['separate', 'fused'] as const) {
            const page = pages[path];
            await page.goto(`${url}/e2e/engine-harness.html`);
            await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
            const ready = await harness(page).load({ suite, backend: 'wasm', threads, dtype, path, baseUrl: '/bench-models/' });
            if (ready.backend.path !== path) throw new Error(`asked for the ${path} path, got ${ready.backend.path}`);
            reasons[path] = ready.backend.reason;
            log(`wasm x${threads} ${dtype} ${path}: ${ready.backend.reason}`);
          }
          const runs = await interleave(async (c, s) => toRun(0, await harness(pages[c.path]).generate(s)), `wasm x${threads} ${dtype}`);
          out.push({ backend: 'wasm', threads, dtype, reasons, runs });
        } catch (e) {
          log(`wasm x${threads} ${dtype} failed: ${(e as Error).message}`);
        } finally {
          await context.close();
        }
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  return out;
}

// ---------------------------------------------------------------- report

function summarise(m: Measured, manifest: Manifest) {
  const ms = (id: ConfigId) => pooledMsPerToken(m.runs[id].map((r) => ({ ms: r.decode_ms, tokens: r.decode_tokens })));
  // other jobs on the machine only ever add time: the median step is the steadier figure
  const med = (id: ConfigId) => quantile(m.runs[id].flatMap((r) => r.step_ms), 0.5);
  const dl = downloads(manifest, m.dtype);
  const base = ms('base');
  const baseMed = med('base');
  const rows = CONFIGS.map((c) => {
    const v = ms(c.id);
    const d = c.id === 'fused-1' ? dl.fused : dl[c.id as 'base' | 'separate' | 'fused'];
    return {
      config: c.id, label: c.label, cost: c.cost,
      ms_per_token: round(v, 2), x_base: round(v / base, 3),
      median_step_ms: round(med(c.id), 2), median_x_base: round(med(c.id) / baseMed, 3),
      p25_step_ms: round(quantile(m.runs[c.id].flatMap((r) => r.step_ms), 0.25), 2),
      ttft_ms: round(median(m.runs[c.id].map((r) => r.ttft_ms)), 1),
      tokens: m.runs[c.id].reduce((a, r) => a + r.tokens, 0),
      download_mb: d ? round(d.bytes / 1e6, 1) : null,
      download_x_base: d && dl.base ? round(d.bytes / dl.base.bytes, 3) : null,
    };
  });
  // same seeds: fused and separate sample from the same distribution up to float error
  let agree = 0;
  let total = 0;
  let maxLp = 0;
  m.runs.fused.forEach((f, i) => {
    const s = m.runs.separate[i];
    let j = 0;
    while (j < f.ids.length && j < s.ids.length && f.ids[j] === s.ids[j]) {
      maxLp = Math.max(maxLp, Math.abs(f.logprob_base[j] - s.logprob_base[j]));
      j++;
    }
    agree += j;
    total += Math.max(f.ids.length, s.ids.length);
  });
  return {
    backend: m.backend, threads: m.threads, dtype: m.dtype, rows,
    fused_x_base: round(ms('fused') / base, 3),
    separate_x_base: round(ms('separate') / base, 3),
    fused_x_separate: round(ms('fused') / ms('separate'), 3),
    median_fused_x_base: round(med('fused') / baseMed, 3),
    median_separate_x_base: round(med('separate') / baseMed, 3),
    download_fused_x_base: dl.fused && dl.base ? round(dl.fused.bytes / dl.base.bytes, 3) : null,
    fused_vs_separate: {
      tokens_identical_prefix: `${agree}/${total}`,
      max_abs_logprob_base_diff_on_shared_prefix: round(maxLp, 5),
    },
    reasons: m.reasons,
  };
}

function printTable(summaries: ReturnType<typeof summarise>[]): void {
  console.log('\nbackend | threads | dtype | config | ms/token (mean) | x base | median step ms | x base | TTFT ms | download MB | download x base');
  for (const s of summaries) {
    for (const r of s.rows) {
      console.log(`${s.backend} | ${s.threads} | ${s.dtype} | ${r.label} | ${r.ms_per_token} | ${r.x_base} | ${r.median_step_ms} | ${r.median_x_base} | ${r.ttft_ms} | ${r.download_mb ?? '-'} | ${r.download_x_base ?? '-'}`);
    }
    console.log(`  -> fused ${s.fused_x_base}x base by mean, ${s.median_fused_x_base}x by median step (target <= 1.3); separate ${s.separate_x_base}x / ${s.median_separate_x_base}x; fused download ${s.download_fused_x_base}x base (target <= 1.1); same-seed tokens fused vs separate ${s.fused_vs_separate.tokens_identical_prefix}`);
  }
}

function write(backend: string, summaries: ReturnType<typeof summarise>[], measured: Measured[], manifest: Manifest, machine: ReturnType<typeof machineInfo>): void {
  const dl = Object.fromEntries((['fp32', 'q8', 'q4'] as Dtype[]).map((d) => [d, downloads(manifest, d)]));
  const name = `fused-${backend}${args.tag ? `-${args.tag}` : ''}`;
  const report = {
    name,
    command: `npx tsx bench/fused.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { ...machine, load_average_at_end: loadAverage() },
    settings: {
      suite, models: modelsDir, prompts: PROMPTS.slice(0, nPrompts), max_tokens: maxTokens, temperature: 1, seeds: Array.from({ length: nPrompts }, (_, i) => i), score_arms: false,
      configs: CONFIGS.map(({ id, label, path, weights, cost }) => ({ id, label, path, weights, cost })),
      timing: 'median step ms = median over every decode step (tokens after the first) of every prompt: the steadier figure on a shared machine, since other jobs only add time; ms_per_token = decode time of the tokens after the first, pooled over prompts (sum ms / sum tokens); the four configurations run interleaved prompt by prompt after one untimed warm-up each, so ratios come from the same minutes of the machine',
    },
    summary: summaries,
    downloads: dl,
    runs: measured.map((m) => ({ backend: m.backend, threads: m.threads, dtype: m.dtype, runs: Object.fromEntries(Object.entries(m.runs).map(([k, v]) => [k, v.map(({ ids: _i, logprob_base: _l, step_ms, ...r }) => ({ ...r, step_ms: step_ms.map((x) => round(x, 2)) }))])) })),
    wall_s: round((performance.now() - started) / 1000, 1),
  };
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${name}.json`);
  writeFileSync(path, JSON.stringify(report, null, 1) + '\n');
  log(`wrote ${path}`);
}

async function main(): Promise<void> {
  const manifest = readManifestFile(modelsDir);
  const s = manifest.suites[suite];
  if (!s) throw new Error(`suite '${suite}' is not in ${modelsDir}/manifest.json`);
  if (!s.fused) throw new Error(`suite '${suite}' has no fused graph yet (npm run models)`);
  if (!s.arms.helpfulness || !s.arms.harmlessness) throw new Error(`suite '${suite}' needs both ARMs`);
  const machine = machineInfo();
  log(`suite ${suite}: ${nPrompts} prompts x ${maxTokens} tokens, temperature 1, seeds 0..${nPrompts - 1}; ${machine.cpu_model}, ${machine.cores} cores, load ${machine.load_average_at_start.join(' ')}`);

  if (!args['no-node']) {
    const measured: Measured[] = [];
    for (const dtype of args['node-dtypes']!.split(',') as Dtype[]) {
      for (const threads of threadList) {
        log(`node x${threads} ${dtype}: loading separate and fused`);
        measured.push(await nodeBackend(threads, dtype));
      }
    }
    const summaries = measured.map((m) => summarise(m, manifest));
    printTable(summaries);
    write('node', summaries, measured, manifest, machine);
  }
  if (!args['no-browser']) {
    const measured = await browserBackends(manifest, args['wasm-dtypes']!.split(',') as Dtype[]);
    const summaries = measured.map((m) => summarise(m, manifest));
    printTable(summaries);
    if (measured.length) write('wasm', summaries, measured, manifest, machine);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench/fused failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
