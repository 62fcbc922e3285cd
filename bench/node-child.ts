// The Node half of the benchmark, in child processes forked by bench/run.ts:
//  - 'timing': one engine with every model the configurations need; the configurations
//    take turns prompt by prompt (round robin), so a change in machine load hits them
//    alike and the ratios to the base stay fair on a shared machine. A configuration
//    runs only its own models (unused ARMs/RMs sit idle: score_arms is false).
//  - 'memory': one configuration alone in a fresh process (only its models loaded), one
//    run; its peak RSS (VmHWM) is that configuration's memory.
import { Engine } from '../src/engine/engine';
import { createNodePlatform } from '../src/engine/node';
import type { Dtype, Manifest } from '../src/engine/types';
import type { Platform } from '../src/engine/platform';
import {
  ALL_SUITE, allConfigs, benchManifest, benchSettings, PROMPTS, runRecord, suiteId, vmHWM, WARMUP_PROMPT, type BenchConfig, type RunRecord,
} from './common';

export interface NodeJob {
  kind: 'timing' | 'memory';
  configs: string[];
  suite: string;
  modelsDir: string;
  dtype?: Dtype;
  threads?: number;
  prompts: number;
  maxTokens: number;
}

export interface NodeTiming {
  dtype: Dtype;
  backend_reason: string;
  threads: number | null;
  load_ms: number;
  runs: Record<string, RunRecord[]>;
  /** per configuration: dtype and reason of the engine that ran it */
  dtypes: Record<string, Dtype>;
  reasons: Record<string, string>;
}

export interface NodeMemory {
  config: string;
  dtype: Dtype;
  load_ms: number;
  peak_memory_bytes: number | null;
  sampled_rss_max: number;
  memory_method: string;
}

async function platformWith(job: NodeJob, configs: BenchConfig[]): Promise<{ platform: Platform; manifest: Manifest }> {
  const platform = createNodePlatform({ modelsDir: job.modelsDir, threads: job.threads });
  const inner = platform.source;
  const manifest = benchManifest(await inner.readManifest(), job.suite, configs);
  platform.source = { location: inner.location, readManifest: async () => manifest, fetch: inner.fetch.bind(inner) };
  return { platform, manifest };
}

export async function timingJob(job: NodeJob, log: (m: string) => void): Promise<NodeTiming> {
  const configs = job.configs.map(findConfig);
  const { platform } = await platformWith(job, configs);
  // one engine with every separate-graph model, one per fused configuration
  const engines = new Map<string, Engine>();
  const t0 = performance.now();
  const plain = configs.filter((c) => c.path !== 'fused');
  if (plain.length) {
    const e = await Engine.load(platform, { suite: ALL_SUITE, dtype: job.dtype, loadRms: plain.some((c) => c.rms.length > 0), warmup: true, path: 'separate' });
    plain.forEach((c) => engines.set(c.id, e));
  }
  for (const c of configs.filter((x) => x.path === 'fused')) {
    const { platform: p2 } = await platformWith(job, configs);
    engines.set(c.id, await Engine.load(p2, { suite: suiteId(c), dtype: job.dtype, warmup: true, path: 'fused' }));
  }
  const loadMs = performance.now() - t0;
  const first = engines.values().next().value!;
  log(`  node: loaded every model (${first.backend.dtype}) in ${(loadMs / 1000).toFixed(1)} s`);
  const runs: Record<string, RunRecord[]> = Object.fromEntries(configs.map((c) => [c.id, []]));
  for (const c of configs) await engines.get(c.id)!.generate(benchSettings(c, WARMUP_PROMPT, 0, Math.min(16, job.maxTokens)));
  for (let i = 0; i < job.prompts; i++) {
    for (const c of configs) {
      const w0 = performance.now();
      const r = await engines.get(c.id)!.generate(benchSettings(c, PROMPTS[i % PROMPTS.length], i, job.maxTokens));
      const rec = runRecord(i, i, r, performance.now() - w0);
      runs[c.id].push(rec);
      log(`  node ${c.id}: prompt ${i + 1}/${job.prompts}: ${rec.tokens} tokens, ${rec.ms_per_token.toFixed(1)} ms/token, first ${rec.ttft_ms.toFixed(0)} ms`);
    }
  }
  const out: NodeTiming = {
    dtype: first.backend.dtype, backend_reason: first.backend.reason, threads: first.backend.threads ?? null, load_ms: loadMs, runs,
    dtypes: Object.fromEntries(configs.map((c) => [c.id, engines.get(c.id)!.backend.dtype])),
    reasons: Object.fromEntries(configs.map((c) => [c.id, engines.get(c.id)!.backend.reason])),
  };
  for (const e of new Set(engines.values())) await e.dispose();
  return out;
}

export async function memoryJob(job: NodeJob): Promise<NodeMemory> {
  const config = findConfig(job.configs[0]);
  let rssMax = process.memoryUsage().rss;
  const sample = () => (rssMax = Math.max(rssMax, process.memoryUsage().rss));
  const timer = setInterval(sample, 20);
  const { platform } = await platformWith(job, [config]);
  const t0 = performance.now();
  const engine = await Engine.load(platform, { suite: suiteId(config), dtype: job.dtype, loadRms: config.rms.length > 0, warmup: true, path: config.path ?? 'separate' });
  const loadMs = performance.now() - t0;
  await engine.generate(benchSettings(config, PROMPTS[0], 0, job.maxTokens), { onToken: sample });
  sample();
  clearInterval(timer);
  const hwm = vmHWM();
  const out: NodeMemory = {
    config: config.id,
    dtype: engine.backend.dtype,
    load_ms: loadMs,
    peak_memory_bytes: hwm ?? rssMax,
    sampled_rss_max: rssMax,
    memory_method: hwm
      ? 'VmHWM (peak RSS, /proc/self/status) of a process that loads only this configuration\'s models and runs one prompt'
      : 'max of process.memoryUsage().rss sampled every 20 ms and per token',
  };
  await engine.dispose();
  return out;
}

function findConfig(id: string): BenchConfig {
  const c = allConfigs().find((x) => x.id === id);
  if (!c) throw new Error(`unknown bench configuration ${id}`);
  return c;
}

// forked by bench/run.ts with the job as argv[2]; run by hand, it prints the result
if (process.argv[1] && /node-child\.ts$/.test(process.argv[1]) && process.argv[2]) {
  const job = JSON.parse(process.argv[2]) as NodeJob;
  const log = (m: string) => (process.send ? process.send({ type: 'log', message: m }) : console.error(m));
  const work = job.kind === 'timing' ? timingJob(job, log) : memoryJob(job);
  work.then(
    (result) => {
      if (process.send) process.send({ type: 'result', result }, () => process.exit(0));
      else {
        console.log(JSON.stringify(result, null, 1));
        process.exit(0);
      }
    },
    (e) => {
      const message = (e as Error).stack ?? String(e);
      if (process.send) process.send({ type: 'error', message }, () => process.exit(1));
      else {
        console.error(message);
        process.exit(1);
      }
    },
  );
}
