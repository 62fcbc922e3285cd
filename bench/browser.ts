// The browser half of the benchmark: a test-mode production build of the engine harness page
// (e2e/engine-harness.html, the real worker) served by a small static server with
// cross-origin isolation, driven in Debian's Chromium on WASM. Each configuration
// runs in a fresh browser context (its own renderer process, worker and WASM heap),
// so its memory is its own.
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { Dtype, GenerateSettings, GenerationResult, Manifest } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';
import { ALL_SUITE, benchSettings, PROMPTS, runRecord, suiteId, WARMUP_PROMPT, type BenchConfig, type RunRecord } from './common';

export const CHROMIUM = '/usr/bin/chromium';
// docs/BROWSER.md; ForceEagerMeasureMemory makes measureUserAgentSpecificMemory answer at once
export const CHROMIUM_ARGS = [
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-blink-features=ForceEagerMeasureMemory',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml', '.onnx': 'application/octet-stream',
};

/** Build the app in its test mode (harness page included) into outDir with Vite, without copying public/ (the models). */
export async function buildWeb(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: resolve('vite.config.ts'),
    // the test build (vite.config.ts, TEST_MODE): only it has the harness page
    mode: 'e2e',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, copyPublicDir: false },
  });
}

/**
 * Static server: the build at /, the bench manifest at /bench-models/manifest.json and the
 * model files under /bench-models/ from the models folder, with COOP/COEP.
 */
export function serve(
  outDir: string, modelsDir: string, manifest: Manifest, onModelFile?: (rel: string, bytes: number) => void,
): Promise<{ server: Server; url: string }> {
  // the bench measures every dtype in the browser, the Node-only q8 too: its flag is dropped and
  // its files (models-node/, named ../../models-node/... from the manifest) served at /models-node/
  const manifestJson = JSON.stringify(manifest, (k, v) => (k === 'node_only' ? undefined : v));
  const nodeDir = resolve(modelsDir, '../../models-node');
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (path === '/bench-models/manifest.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(manifestJson);
      return;
    }
    const [root, rel] = path.startsWith('/bench-models/') ? [modelsDir, path.slice('/bench-models/'.length)]
      : path.startsWith('/models-node/') ? [nodeDir, path.slice('/models-node/'.length)] : [outDir, path.slice(1) || 'index.html'];
    const file = normalize(join(root, rel));
    if (!file.startsWith(resolve(root)) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', statSync(file).size);
    if (root !== outDir) {
      let sent = 0;
      const stream = createReadStream(file);
      stream.on('data', (c) => (sent += c.length));
      res.on('close', () => onModelFile?.(rel, sent));
      stream.pipe(res);
      return;
    }
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

/** pid -> parent pid for every process (Linux). */
function processTable(): Map<number, { ppid: number; cmd: string }> {
  const table = new Map<number, { ppid: number; cmd: string }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      table.set(Number(d), { ppid, cmd });
    } catch {
      /* gone */
    }
  }
  return table;
}

/** Chromium renderer processes descended from `rootPid` (this Node process launches the browser). */
export function rendererPids(rootPid: number): Set<number> {
  const table = processTable();
  const under = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 12; hops++) {
      if (p === rootPid) return true;
      p = table.get(p)?.ppid ?? 0;
    }
    return false;
  };
  return new Set([...table].filter(([pid, v]) => v.cmd.includes('--type=renderer') && under(pid)).map(([pid]) => pid));
}

export function statusKb(pid: number, field: string): number | null {
  try {
    const kb = new RegExp(`${field}:\\s*(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

export interface BrowserJob {
  url: string;
  threads: number;
  dtype?: Dtype;
  prompts: number;
  maxTokens: number;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

const H = (page: Page) => ({
  load: (req: Parameters<Harness['load']>[0]) => page.evaluate((r) => (window as unknown as { harness: Harness }).harness.load(r), req),
  generate: (s: GenerateSettings) =>
    page.evaluate(async (x) => {
      const t0 = performance.now();
      const { result } = await (window as unknown as { harness: Harness }).harness.generate(x);
      // drop the heavy per-token fields before crossing back
      return { result: { ...result, tokens: result.tokens.map((t) => ({ ms: t.ms })) }, wall: performance.now() - t0 };
    }, s) as Promise<{ result: GenerationResult; wall: number }>,
});

async function openHarness(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${baseOf(browser)}/e2e/engine-harness.html`);
  await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
  if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the harness page is not cross-origin isolated (threads need it)');
  return { context, page };
}

const bases = new WeakMap<Browser, string>();
const baseOf = (b: Browser) => bases.get(b)!;
export const setBase = (b: Browser, url: string) => bases.set(b, url);

export interface BrowserTiming {
  dtype: Dtype;
  backend_reason: string;
  threads: number;
  load_ms: number;
  runs: Record<string, RunRecord[]>;
  dtypes: Record<string, Dtype>;
  reasons: Record<string, string>;
}

/**
 * Every configuration with all its models loaded, taking turns prompt by prompt: one
 * page (one worker, one engine) for the separate-graph configurations, one more page
 * per fused configuration.
 */
export async function browserTiming(browser: Browser, configs: BenchConfig[], job: BrowserJob, log: (m: string) => void): Promise<BrowserTiming> {
  const opened: { context: BrowserContext; page: Page }[] = [];
  try {
    const pageOf = new Map<string, Page>();
    const ready = new Map<string, { dtype: Dtype; reason: string; threads?: number }>();
    const t0 = performance.now();
    const plain = configs.filter((c) => c.path !== 'fused');
    if (plain.length) {
      const h = await openHarness(browser);
      opened.push(h);
      const r = await H(h.page).load({
        suite: ALL_SUITE, backend: 'wasm', threads: job.threads, dtype: job.dtype, loadRms: plain.some((c) => c.rms.length > 0),
        baseUrl: '/bench-models/', path: 'separate',
      });
      plain.forEach((c) => (pageOf.set(c.id, h.page), ready.set(c.id, { dtype: r.backend.dtype, reason: r.backend.reason, threads: r.backend.threads })));
    }
    for (const c of configs.filter((x) => x.path === 'fused')) {
      const h = await openHarness(browser);
      opened.push(h);
      const r = await H(h.page).load({ suite: suiteId(c), backend: 'wasm', threads: job.threads, dtype: job.dtype, baseUrl: '/bench-models/', path: 'fused' });
      pageOf.set(c.id, h.page);
      ready.set(c.id, { dtype: r.backend.dtype, reason: r.backend.reason, threads: r.backend.threads });
    }
    const loadMs = performance.now() - t0;
    const first = ready.get(configs[0].id)!;
    log(`  wasm x${job.threads}: loaded every model (${first.dtype}) in ${(loadMs / 1000).toFixed(1)} s: ${first.reason}`);
    const runs: Record<string, RunRecord[]> = Object.fromEntries(configs.map((c) => [c.id, []]));
    for (const c of configs) await H(pageOf.get(c.id)!).generate(benchSettings(c, WARMUP_PROMPT, 0, Math.min(16, job.maxTokens)));
    for (let i = 0; i < job.prompts; i++) {
      for (const c of configs) {
        const { result, wall } = await H(pageOf.get(c.id)!).generate(benchSettings(c, PROMPTS[i % PROMPTS.length], i, job.maxTokens));
        const rec = runRecord(i, i, result, wall);
        runs[c.id].push(rec);
        log(`  wasm x${job.threads} ${c.id}: prompt ${i + 1}/${job.prompts}: ${rec.tokens} tokens, ${rec.ms_per_token.toFixed(1)} ms/token, first ${rec.ttft_ms.toFixed(0)} ms`);
      }
    }
    return {
      dtype: first.dtype, backend_reason: first.reason, threads: first.threads ?? job.threads, load_ms: loadMs, runs,
      dtypes: Object.fromEntries(configs.map((c) => [c.id, ready.get(c.id)!.dtype])),
      reasons: Object.fromEntries(configs.map((c) => [c.id, ready.get(c.id)!.reason])),
    };
  } finally {
    for (const h of opened) await h.context.close();
  }
}

export interface BrowserMemory {
  config: string;
  dtype: Dtype;
  load_ms: number;
  peak_memory_bytes: number | null;
  memory_method: string;
  memory_detail: Record<string, number | string | null>;
}

/** One configuration alone in a fresh context (its own renderer process): load, one run, memory. */
export async function browserMemory(browser: Browser, config: BenchConfig, job: BrowserJob): Promise<BrowserMemory> {
  const before = rendererPids(process.pid);
  const { context, page } = await openHarness(browser);
  try {
    const t0 = performance.now();
    const ready = await H(page).load({
      suite: suiteId(config), backend: 'wasm', threads: job.threads, dtype: job.dtype, loadRms: config.rms.length > 0, baseUrl: '/bench-models/',
      path: config.path ?? 'separate',
    });
    const loadMs = performance.now() - t0;
    await H(page).generate(benchSettings(config, PROMPTS[0], 0, job.maxTokens));
    // the spec'd API (includes the worker; may not answer while ORT's threads wait on atomics)
    const uasm = await page.evaluate(async () => {
      const p = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
      if (!p.measureUserAgentSpecificMemory) return null;
      const timeout = new Promise<null>((r) => setTimeout(() => r(null), 5_000));
      const m = await Promise.race([p.measureUserAgentSpecificMemory(), timeout]);
      return m ? m.bytes : null;
    });
    // the renderer process's peak RSS (Linux /proc): WASM heaps, model bytes, ORT threads
    // (a context may also start a small spare renderer: the page's own is the largest)
    const renderers = [...rendererPids(process.pid)].filter((p) => !before.has(p));
    const peaks = renderers.map((p) => statusKb(p, 'VmHWM') ?? 0);
    const hwm = Math.max(0, ...peaks) || null;
    let cdpHeap: number | null = null;
    if (uasm === null && hwm === null) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      const { metrics } = await cdp.send('Performance.getMetrics');
      cdpHeap = metrics.find((m) => m.name === 'JSHeapTotalSize')?.value ?? null;
    }
    return {
      config: config.id,
      dtype: ready.backend.dtype,
      load_ms: loadMs,
      peak_memory_bytes: hwm ?? uasm ?? cdpHeap,
      memory_method: hwm
        ? 'VmHWM (peak RSS) of the page\'s renderer process, one fresh browser context per configuration, one run'
        : uasm !== null ? 'performance.measureUserAgentSpecificMemory() after one run (WASM heaps never shrink: about the peak)'
          : 'CDP Performance.getMetrics JSHeapTotalSize (main thread only)',
      memory_detail: { renderer_vm_hwm: hwm, new_renderer_peaks: peaks.join(' '), measure_user_agent_specific_memory: uasm, cdp_js_heap_total: cdpHeap },
    };
  } finally {
    await context.close();
  }
}
