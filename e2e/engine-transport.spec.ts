// The GGUF transport in Chromium (src/engine/transport.ts), through the real worker on
// the tiny suite: on WASM the engine downloads the weightless graph, its layout and the GGUF's
// blocks, expands them and gives the same greedy tokens as the inline fp32 graph, for far fewer
// bytes on the wire. On WebGPU the same files come over the wire, the weights are written into the
// graph (src/engine/onnx-inline.ts) rather than handed as externalData (docs/BROWSER.md says why).
import { expect, test, type Page } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import type { GenerateSettings, GenerationResult, Manifest, ManifestFile, TransportEntry } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';

const MANIFEST = 'public/models/manifest.json';
const m: Manifest | null = existsSync(MANIFEST) ? JSON.parse(readFileSync(MANIFEST, 'utf8')) : null;
const tiny = m?.suites.tiny;
const missing = !tiny ? `${MANIFEST} has no tiny suite (npm run models)`
  : !m!.models[tiny.base].transport || !tiny.fused?.transport ? 'the tiny suite has no GGUF transport (npm run models)'
  : !existsSync(`public/models/${tiny.fused.transport.gguf.path}`) ? `${tiny.fused.transport.gguf.path} is missing` : '';

const SETTINGS: GenerateSettings = {
  prompt: 'Give me one tip for staying focused.', weights: { helpfulness: 1, harmlessness: 0.5 }, decoder: 'genarm',
  temperature: 0, top_k: 0, top_p: 1, seed: 3, max_tokens: 8, score_arms: true,
};

async function open(page: Page): Promise<void> {
  await page.goto('/e2e/engine-harness.html');
  await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
}
const harness = (page: Page) => ({
  load: (req: Parameters<Harness['load']>[0]) => page.evaluate((r) => (window as unknown as { harness: Harness }).harness.load(r), req),
  generate: (s: GenerateSettings) => page.evaluate((x) => (window as unknown as { harness: Harness }).harness.generate(x), s),
  reset: () => page.evaluate(() => (window as unknown as { harness: Harness }).harness.reset()),
});

/**
 * Bytes of model files the page fetched over the network (Cache Storage hits never get here),
 * by manifest path: /models/ and the test build's /models-all/ (vite.config.ts) serve
 * public/models, /models-node/ the Node-only files (their manifest paths start ../../models-node/).
 */
function countModelBytes(page: Page): { bytes: () => number; paths: Set<string> } {
  let bytes = 0;
  const paths = new Set<string>();
  page.on('requestfinished', async (req) => {
    const { pathname } = new URL(req.url());
    if (pathname.endsWith('manifest.json')) return;
    const m = /^\/models(?:-all)?\/(.*)$/.exec(pathname);
    const rel = m ? m[1] : pathname.startsWith('/models-node/') ? `../..${pathname}` : null;
    if (rel === null) return;
    paths.add(rel);
    bytes += (await req.sizes()).responseBodySize;
  });
  return { bytes: () => bytes, paths };
}

const ids = (r: GenerationResult) => r.tokens.map((t) => t.id);
/** The files a transport brings (src/engine/transport.ts, transportFiles). */
const transportFiles = (t: TransportEntry): ManifestFile[] => [t.graph, t.layout, t.gguf, ...(t.adapter ? [t.adapter] : [])];

test.describe('GGUF transport in the browser (tiny suite)', () => {
  test.skip(!!missing, missing);
  test.setTimeout(300_000);

  test('WASM loads the GGUF blocks, not the fp32 graph: same tokens, far fewer bytes', async ({ page, context }, info) => {
    test.skip(info.project.name !== 'wasm', 'the transport runs on WASM');
    const t = tiny!.fused!.transport!;
    const fp32 = tiny!.fused!.variants.fp32!;
    await open(page);
    const net = countModelBytes(page);
    const viaGguf = await harness(page).load({ suite: 'tiny', backend: 'wasm', dtype: 'fp32' });
    expect(viaGguf.backend.path).toBe('fused');
    expect(viaGguf.backend.reason).toMatch(/fp32 weights expanded from the GGUF/);
    expect(viaGguf.progress.map((p) => p.phase)).toContain('expand');
    const a = (await harness(page).generate(SETTINGS)).result;
    await expect.poll(() => net.paths.has(t.gguf.path)).toBe(true);
    const transportBytes = net.bytes();
    expect(net.paths).toContain(t.graph.path);
    expect(net.paths).not.toContain(fp32.path);

    // the inline fp32 graph is a Node-only file (models-node/): the page refuses it by name
    await harness(page).reset();
    const refused = await page.evaluate((r) => (window as unknown as { harness: Harness }).harness.load(r).then(() => '', (e: Error) => e.message),
      { suite: 'tiny', backend: 'wasm' as const, dtype: 'fp32' as const, transport: false });
    expect(refused).toContain(`${fp32.path} is a Node-only file`);

    // a fresh worker and an empty cache, then the inline fp32 graph, which the test build serves
    // (/models-all/: the manifest as Node sees it)
    await harness(page).reset();
    await page.evaluate(() => caches.keys().then((ks) => Promise.all(ks.map((k) => caches.delete(k)))));
    const before = net.bytes();
    const inline = await harness(page).load({ suite: 'tiny', backend: 'wasm', dtype: 'fp32', transport: false, baseUrl: '/models-all/' });
    expect(inline.backend.reason).toMatch(/inline fp32 graph \(transport off\)/);
    const b = (await harness(page).generate(SETTINGS)).result;
    await expect.poll(() => net.paths.has(fp32.path)).toBe(true);
    const inlineBytes = net.bytes() - before;

    expect(a.tokens.length).toBe(SETTINGS.max_tokens);
    expect(ids(a)).toEqual(ids(b));
    a.tokens.forEach((x, i) => {
      expect(Math.abs(x.logprob_base - b.tokens[i].logprob_base)).toBeLessThan(1e-5);
      expect(Math.abs(x.rewards.helpfulness! - b.tokens[i].rewards.helpfulness!)).toBeLessThan(1e-5);
    });
    console.log(`[transport e2e] model bytes on the wire: transport ${transportBytes}, inline ${inlineBytes}`);
    expect(transportBytes).toBeLessThan(inlineBytes / 3);
    void context;
  });

  test('the build holds no model files: /models/ is served from public/models', async ({ page }, info) => {
    test.skip(info.project.name !== 'wasm', 'one backend is enough');
    // playwright.config.ts built dist/ (vite build --mode e2e) just before the tests
    expect(existsSync('dist/index.html')).toBe(true);
    expect(existsSync('dist/models')).toBe(false);
    const gguf = tiny!.fused!.transport!.gguf;
    const r = await page.request.get(`/models/${gguf.path}`);
    expect(r.status()).toBe(200);
    expect((await r.body()).length).toBe(gguf.bytes);
    expect(r.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    // nothing outside public/models is reachable through /models/ (an encoded ../ included)
    expect(await (await page.request.get('/models/..%2F..%2Fpackage.json')).text()).not.toContain('"name": "genarm-web"');
  });

  test('WebGPU loads the transport too, its weights inline in the graph: same tokens as WASM, the transport\'s bytes', async ({ page }, info) => {
    test.skip(info.project.name !== 'webgpu', 'needs --enable-unsafe-webgpu');
    const t = tiny!.fused!.transport!;
    const fp32 = tiny!.fused!.variants.fp32!;
    await open(page);
    const net = countModelBytes(page);
    const gpu = await harness(page).load({ suite: 'tiny', backend: 'webgpu', dtype: 'fp32' });
    expect(gpu.backend.backend).toBe('webgpu');
    expect(gpu.backend.path).toBe('fused');
    expect(gpu.backend.reason).toMatch(/fp32 weights expanded from the GGUF \(every graph, written into the graph as inline initializers\)/);
    expect(gpu.progress.map((p) => p.phase)).toContain('expand');
    const onGpu = (await harness(page).generate(SETTINGS)).result;
    await expect.poll(() => net.paths.has(t.gguf.path)).toBe(true);
    const gpuBytes = net.bytes();
    // what came over the wire: the transport (graph, layout, GGUF) and the ARMs' adapters, never the fp32 graph
    expect([...net.paths]).toEqual(expect.arrayContaining(transportFiles(t).map((f) => f.path)));
    expect(net.paths).not.toContain(fp32.path);
    const byPath = new Map(Object.values(m!.models).flatMap((e) => [
      ...e.files, ...Object.values(e.variants), ...(e.transport ? transportFiles(e.transport) : []),
      ...(e.adapter ? [e.adapter.config, e.adapter.file] : []),
    ]).concat(transportFiles(t)).map((f) => [f.path, f.bytes]));
    const listed = [...net.paths].reduce((n, p) => n + (byPath.get(p) ?? NaN), 0);
    console.log(`[transport e2e] WebGPU model bytes on the wire: ${gpuBytes} (files: ${listed}; the inline fp32 graph: ${fp32.bytes})`);
    expect(gpuBytes).toBeLessThanOrEqual(listed); // (vite preview gzips: the wire may carry less)
    expect(gpuBytes).toBeLessThan(fp32.bytes / 3);

    // the same suite on WASM (externalData), from a fresh worker and an empty cache
    await harness(page).reset();
    await page.evaluate(() => caches.keys().then((ks) => Promise.all(ks.map((k) => caches.delete(k)))));
    const cpu = await harness(page).load({ suite: 'tiny', backend: 'wasm', dtype: 'fp32' });
    expect(cpu.backend.reason).toMatch(/fp32 weights expanded from the GGUF \(every graph, as externalData\)/);
    const onCpu = (await harness(page).generate(SETTINGS)).result;
    expect(onGpu.tokens.length).toBe(SETTINGS.max_tokens);
    expect(ids(onGpu)).toEqual(ids(onCpu));
    // SwiftShader's math is looser than WASM's (e2e/engine.spec.ts): same tokens is the contract
    onGpu.tokens.forEach((x, i) => expect(Math.abs(x.logprob_base - onCpu.tokens[i].logprob_base)).toBeLessThan(0.05));
  });
});
