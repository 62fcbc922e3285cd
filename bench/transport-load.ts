// Loading SmolLM2 base + 2 ARMs (the fused fp32 graph) in Chromium on WASM, before and after the
// GGUF transport (src/engine/transport.ts), in one run: the inline fp32 graph (LoadOptions.transport false)
// against the weightless graph + the GGUF's blocks expanded in the worker (src/engine/transport.ts).
//
//   npx tsx bench/transport-load.ts      # needs npm run models (the smollm2 suite with its transport)
//
// Per variant, in a fresh browser context (its own renderer process, worker, Cache Storage):
// cold load (bytes of model files on the wire, time to ready, the renderer's peak RSS), one greedy
// run (tokens compared between the variants), then a reload in the same context and a warm load
// (bytes on the wire again: what Cache Storage kept), then the two trajectory RMs on top (the
// whole suite's bytes: the RMs travel as adapters over the GGUF already cached). The static server sends files uncompressed
// and with no-store (bytes = file bytes; vite preview would gzip the fp32 graph to ~60%).
// Writes bench/results/transport-load.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GenerateSettings, LoadProgress, Manifest } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';
import { buildWeb, launchBrowser, rendererPids, serve, statusKb } from './browser';
import { machineInfo } from './common';

const OUT = 'bench/results/transport-load.json';
const SUITE = process.env.GENARM_SUITE ?? 'smollm2';
const THREADS = Number(process.env.GENARM_THREADS ?? 2);
const SETTINGS: GenerateSettings = {
  prompt: 'What is the capital of France?', weights: { helpfulness: 1, harmlessness: 0.5 }, decoder: 'genarm',
  temperature: 0, top_k: 0, top_p: 1, seed: 0, max_tokens: 16, score_arms: true,
};
const MiB = 2 ** 20;
const RUNS = Number(process.env.GENARM_RUNS ?? 3);

interface Variant {
  id: 'inline' | 'transport' | 'transport-noprepack';
  cold: { model_bytes_on_wire: number; files: string[]; ready_ms: number; phases_ms: Record<string, number>; renderer_peak_rss_bytes: number | null };
  warm: { model_bytes_on_wire: number; ready_ms: number; files_from_cache: number; files: number };
  /** then the trajectory RMs (ARGS, Best-of-N) in the same context: what they add on the wire */
  rms: { model_bytes_on_wire: number; files: string[]; ready_ms: number };
  backend_reason: string;
  tokens: number[];
  ms_per_token: number;
  ms_per_token_runs: number[];
}

/** ms from the load's start to the first progress event of each phase (download, expand, session, ...). */
function phaseTimes(progress: (LoadProgress & { t: number })[], t0: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of progress) if (!(p.phase in out)) out[p.phase] = Math.round(p.t - t0);
  return out;
}

/** Model bytes the server sent (counted server-side: the file bytes, no compression). */
const net = (() => {
  let bytes = 0;
  const files = new Set<string>();
  return {
    onFile: (rel: string, n: number) => { bytes += n; files.add(rel); },
    bytes: () => bytes, files, reset: () => { bytes = 0; files.clear(); },
  };
})();

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync('public/models/manifest.json', 'utf8')) as Manifest;
  const suite = manifest.suites[SUITE];
  if (!suite?.fused?.transport) throw new Error(`suite ${SUITE} has no fused graph with a GGUF transport: npm run models`);
  const out = mkdtempSync(join(tmpdir(), 'genarm-transport-web-'));
  console.log('[transport-load] building the test-mode web app ...');
  await buildWeb(out);
  const { server, url } = await serve(out, resolve('public/models'), manifest, net.onFile);
  const browser = await launchBrowser();
  const variants: Variant[] = [];
  try {
    // transport-noprepack: the same load with onnxruntime's weight pre-packing off (EngineLoadOptions.prepack)
    for (const id of ['inline', 'transport', 'transport-noprepack'] as const) {
      const before = rendererPids(process.pid);
      const context = await browser.newContext();
      const page = await context.newPage();
      const open = async () => {
        await page.goto(`${url}/e2e/engine-harness.html`);
        await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
      };
      const load = (loadRms = false) => page.evaluate(async (req) => {
        const t0 = performance.now();
        const r = await (window as unknown as { harness: Harness }).harness.load(req);
        return { ms: performance.now() - t0, t0, reason: r.backend.reason, progress: r.progress };
      }, { suite: SUITE, backend: 'wasm' as const, threads: THREADS, dtype: 'fp32' as const, path: 'fused' as const, baseUrl: '/bench-models/', transport: id !== 'inline', prepack: id !== 'transport-noprepack', loadRms });
      await open();
      net.reset();
      const cold = await load();
      await new Promise((ok) => setTimeout(ok, 500)); // the last requestfinished sizes
      const coldBytes = net.bytes();
      const coldFiles = [...net.files];
      const gen = await page.evaluate((s) => (window as unknown as { harness: Harness }).harness.generate(s), SETTINGS);
      // per-token speed: RUNS more greedy runs, the median of their ms_per_token
      const speeds: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        speeds.push((await page.evaluate((s) => (window as unknown as { harness: Harness }).harness.generate(s), SETTINGS)).result.ms_per_token);
      }
      speeds.sort((x, y) => x - y);
      const peaks = [...rendererPids(process.pid)].filter((p) => !before.has(p)).map((p) => statusKb(p, 'VmHWM') ?? 0);
      console.log(`[transport-load] ${id} cold: ${(coldBytes / MiB).toFixed(1)} MiB, ready in ${(cold.ms / 1000).toFixed(1)} s, renderer peak ${(Math.max(0, ...peaks) / MiB).toFixed(0)} MiB: ${cold.reason}`);
      net.reset();
      await open(); // a second visit: same context, Cache Storage kept
      const warm = await load();
      await new Promise((ok) => setTimeout(ok, 500));
      console.log(`[transport-load] ${id} warm: ${(net.bytes() / MiB).toFixed(1)} MiB on the wire, ready in ${(warm.ms / 1000).toFixed(1)} s`);
      const warmBytes = net.bytes();
      const last = warm.progress.at(-1)!;
      // the whole suite: the same load plus the two RMs (everything else is in Cache Storage now)
      net.reset();
      await open();
      const rms = await load(true);
      await new Promise((ok) => setTimeout(ok, 500));
      const rmBytes = net.bytes();
      const rmFiles = [...net.files];
      console.log(`[transport-load] ${id} + RMs: ${(rmBytes / MiB).toFixed(1)} MiB more on the wire (${rmFiles.length} files), ready in ${(rms.ms / 1000).toFixed(1)} s`);
      variants.push({
        id,
        cold: { model_bytes_on_wire: coldBytes, files: coldFiles, ready_ms: cold.ms, phases_ms: phaseTimes(cold.progress, cold.t0), renderer_peak_rss_bytes: Math.max(0, ...peaks) || null },
        warm: { model_bytes_on_wire: warmBytes, ready_ms: warm.ms, files_from_cache: last.files.filter((f) => f.cached).length, files: last.files.length },
        rms: { model_bytes_on_wire: rmBytes, files: rmFiles, ready_ms: rms.ms },
        backend_reason: cold.reason,
        tokens: gen.result.tokens.map((t) => t.id),
        ms_per_token: speeds[speeds.length >> 1],
        ms_per_token_runs: speeds,
      });
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
    rmSync(out, { recursive: true, force: true });
  }
  const [a, b, c] = variants;
  const result = {
    what: `Chromium WASM (${THREADS} threads), suite ${SUITE} fused fp32 (base + ${suite.fused.rows.length - 1} ARMs), before (inline fp32 graph) vs after (GGUF transport), same run`,
    created: new Date().toISOString(),
    machine: machineInfo(),
    settings: SETTINGS,
    same_tokens: JSON.stringify(a.tokens) === JSON.stringify(b.tokens) && JSON.stringify(a.tokens) === JSON.stringify(c.tokens),
    summary: {
      download_mib: { inline: +(a.cold.model_bytes_on_wire / MiB).toFixed(1), transport: +(b.cold.model_bytes_on_wire / MiB).toFixed(1) },
      download_mib_whole_suite: {
        inline: +((a.cold.model_bytes_on_wire + a.rms.model_bytes_on_wire) / MiB).toFixed(1),
        transport: +((b.cold.model_bytes_on_wire + b.rms.model_bytes_on_wire) / MiB).toFixed(1),
      },
      ready_s_cold: { inline: +(a.cold.ready_ms / 1000).toFixed(1), transport: +(b.cold.ready_ms / 1000).toFixed(1) },
      ready_s_warm: { inline: +(a.warm.ready_ms / 1000).toFixed(1), transport: +(b.warm.ready_ms / 1000).toFixed(1) },
      warm_download_mib: { inline: +(a.warm.model_bytes_on_wire / MiB).toFixed(1), transport: +(b.warm.model_bytes_on_wire / MiB).toFixed(1) },
      renderer_peak_mib: Object.fromEntries(variants.map((v) => [v.id, v.cold.renderer_peak_rss_bytes && Math.round(v.cold.renderer_peak_rss_bytes / MiB)])),
      ms_per_token: Object.fromEntries(variants.map((v) => [v.id, +v.ms_per_token.toFixed(1)])),
      ready_s_cold_all: Object.fromEntries(variants.map((v) => [v.id, +(v.cold.ready_ms / 1000).toFixed(1)])),
    },
    memory_method: "VmHWM (peak RSS) of the page's renderer process (the worker lives in it), one fresh browser context per variant",
    variants,
  };
  writeFileSync(OUT, JSON.stringify(result, null, 1) + '\n');
  console.log(`[transport-load] wrote ${OUT}: ${JSON.stringify(result.summary)} same tokens: ${result.same_tokens}`);
  if (!result.same_tokens) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
