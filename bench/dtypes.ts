// Which weight format should each backend load? Measures the base model alone, greedy,
// at every dtype, under Node (onnxruntime-node CPU) and in Chromium on WASM, prompts taking
// turns across dtypes so machine load hits them alike. Writes bench/results/dtypes.json and
// the `preferred` + `dtype_speed` sections of reports/models.json (quality of each dtype is
// in its `parity` section, written by `python -m genarm.verify`), from which the model build
// writes manifest.preferred.
//   npx tsx bench/dtypes.ts [--suite smollm2] [--tokens 24] [--prompts 2] [--threads 2] [--no-browser]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadNodeEngine } from '../src/engine/node';
import type { Dtype, GenerateSettings } from '../src/engine/types';
import { browserTiming, buildWeb, launchBrowser, serve, setBase } from './browser';
import { benchManifest, CONFIGS, machineInfo, PROMPTS, readManifestFile } from './common';

const { values: args } = parseArgs({
  options: {
    suite: { type: 'string', default: 'smollm2' },
    tokens: { type: 'string', default: '24' },
    prompts: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    'no-browser': { type: 'boolean', default: false },
  },
});
const DTYPES: Dtype[] = ['fp32', 'q8', 'q4'];
const modelsDir = resolve('public/models');
const tokens = Number(args.tokens);
const prompts = Number(args.prompts);
const threads = Number(args.threads);
const log = (m: string) => console.log(`[dtypes] ${m}`);

const greedy = (prompt: string): GenerateSettings => ({
  prompt, weights: {}, decoder: 'base', temperature: 0, top_k: 0, top_p: 1, seed: 0, max_tokens: tokens, score_arms: false,
});

async function nodeRuns(): Promise<Record<string, number>> {
  const engines = new Map<Dtype, Awaited<ReturnType<typeof loadNodeEngine>>>();
  for (const d of DTYPES) engines.set(d, await loadNodeEngine({ modelsDir, suite: args.suite!, dtype: d, threads, path: 'separate' }));
  const ms: Record<string, number[]> = Object.fromEntries(DTYPES.map((d) => [d, []]));
  for (const d of DTYPES) await engines.get(d)!.generate(greedy('Say hello.'));
  for (let i = 0; i < prompts; i++) {
    for (const d of DTYPES) {
      const r = await engines.get(d)!.generate(greedy(PROMPTS[i % PROMPTS.length]));
      ms[d].push(r.ms_per_token);
      log(`node ${d}: ${r.ms_per_token.toFixed(1)} ms/token`);
    }
  }
  for (const e of engines.values()) await e.dispose();
  return Object.fromEntries(DTYPES.map((d) => [d, median(ms[d])]));
}

async function browserRuns(): Promise<Record<string, number>> {
  const out = join(tmpdir(), 'genarm-dtypes-web');
  await buildWeb(out);
  const base = CONFIGS.find((c) => c.id === 'base')!;
  const manifest = benchManifest(readManifestFile(modelsDir), args.suite!, [base]);
  const { server, url } = await serve(out, modelsDir, manifest);
  const browser = await launchBrowser();
  setBase(browser, url);
  const res: Record<string, number> = {};
  try {
    for (const d of DTYPES) {
      const t = await browserTiming(browser, [{ ...base, settings: { ...base.settings, temperature: 0 } }],
        { url, threads, dtype: d, prompts, maxTokens: tokens }, log);
      if (t.dtype !== d) {
        log(`wasm ${d}: the engine chose ${t.dtype} instead (${t.backend_reason}); not counted`);
        continue;
      }
      res[d] = median(t.runs.base.map((r) => r.ms_per_token));
      log(`wasm x${threads} ${d}: ${res[d].toFixed(1)} ms/token`);
    }
  } finally {
    await browser.close();
    server.close();
  }
  return res;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

/** fastest dtype whose top-1 agreement with fp32 is at least 90% (quality first, then speed) */
function choose(ms: Record<string, number>, agreement: Record<string, number>): Dtype {
  const ok = DTYPES.filter((d) => Number.isFinite(ms[d]) && (agreement[d] ?? 0) >= 0.9);
  return ok.sort((a, b) => ms[a] - ms[b])[0] ?? 'fp32';
}

async function main() {
  const reportPath = resolve('reports/models.json');
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const agreement: Record<string, number> = Object.fromEntries(
    Object.entries(report.parity?.variants ?? {}).map(([d, v]) => [d, (v as { top1_agreement_with_fp32: number }).top1_agreement_with_fp32]));
  const node = await nodeRuns();
  const wasm = args['no-browser'] ? {} : await browserRuns();
  const preferred = {
    // WebGPU: 4-bit halves memory traffic on a real GPU; SwiftShader timings here say nothing about GPUs
    webgpu: 'q4' as Dtype,
    wasm: Object.keys(wasm).length ? choose(wasm, agreement) : (report.preferred?.wasm ?? 'fp32'),
    node: choose(node, agreement),
  };
  const result = {
    date: new Date().toISOString(), machine: machineInfo(), suite: args.suite, tokens, prompts, threads,
    ms_per_token: { node, [`wasm_x${threads}`]: wasm }, top1_agreement_with_fp32: agreement, preferred,
    rule: 'fastest dtype with top-1 agreement >= 90% against fp32; WebGPU keeps q4 (not measurable on SwiftShader)',
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/dtypes.json', JSON.stringify(result, null, 1) + '\n');
  report.preferred = preferred;
  report.dtype_speed = result;
  writeFileSync(reportPath, JSON.stringify(report, null, 1) + '\n');
  log(`preferred: ${JSON.stringify(preferred)} (run \`npm run models\` to write it into the manifest)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
