// The engine in Chromium through its real worker (e2e/engine-harness.html), on the
// tiny suite. In the 'webgpu' project (--enable-unsafe-webgpu: SwiftShader) the
// engine picks WebGPU and must produce the same greedy tokens as WASM; in the
// 'wasm' project there is no adapter and it must fall back to WASM by itself.
import { expect, test, type Page } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import type { GenerateSettings, GenerationResult } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';

const MANIFEST = 'public/models/manifest.json';

function tinyMissing(): string {
  if (!existsSync(MANIFEST)) return `${MANIFEST} is missing: run npm run models`;
  const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const s = m.suites?.tiny;
  if (!s) return 'the manifest has no tiny suite';
  for (const id of [s.base, ...Object.values(s.arms)] as string[]) {
    const f = m.models[id]?.variants?.fp32;
    if (!f || !existsSync(`public/models/${f.path}`)) return `tiny model ${id} (fp32) is missing`;
  }
  return '';
}
const missing = tinyMissing();

const SETTINGS: GenerateSettings = {
  prompt: 'Give me one tip for staying focused.',
  weights: { helpfulness: 1, harmlessness: 0.5 },
  decoder: 'genarm',
  temperature: 0,
  top_k: 0,
  top_p: 1,
  seed: 3,
  max_tokens: 6,
  score_arms: true,
};

async function open(page: Page): Promise<void> {
  await page.goto('/e2e/engine-harness.html');
  await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
}

const h = (page: Page) => ({
  load: (req: Parameters<Harness['load']>[0]) =>
    page.evaluate((r) => (window as unknown as { harness: Harness }).harness.load(r), req),
  generate: (s: GenerateSettings) =>
    page.evaluate((x) => (window as unknown as { harness: Harness }).harness.generate(x), s),
  race: (a: GenerateSettings, b: GenerateSettings) =>
    page.evaluate(([x, y]) => (window as unknown as { harness: Harness }).harness.race(x, y), [a, b] as const),
});

function ids(r: GenerationResult): number[] {
  return r.tokens.map((t) => t.id);
}

test.describe('engine in the browser (tiny suite)', () => {
  test.skip(!!missing, missing);
  test.setTimeout(300_000);

  test('WebGPU and WASM give the same greedy tokens', async ({ page }, info) => {
    test.skip(info.project.name !== 'webgpu', 'needs --enable-unsafe-webgpu');
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(m.text()));
    await open(page);
    const gpu = await h(page).load({ suite: 'tiny', backend: 'webgpu', dtype: 'fp32', logSeverityLevel: 0 });
    expect(gpu.backend.backend).toBe('webgpu');
    expect(gpu.backend.reason).toMatch(/WebGPU adapter/);
    expect(gpu.backend.reason).toMatch(/no shader-f16/); // SwiftShader: f16 dtypes must not be chosen
    const onGpu = (await h(page).generate(SETTINGS)).result;

    const cpu = await h(page).load({ suite: 'tiny', backend: 'wasm', dtype: 'fp32' });
    expect(cpu.backend.backend).toBe('wasm');
    const onCpu = (await h(page).generate(SETTINGS)).result;

    expect(onGpu.tokens.length).toBe(SETTINGS.max_tokens);
    expect(ids(onGpu)).toEqual(ids(onCpu));
    // SwiftShader's WGSL math is looser than WASM's: on the tiny models log-probs were
    // seen up to 0.014 apart (Node and WASM agree to 1e-4). Same tokens is the contract.
    onGpu.tokens.forEach((t, i) => {
      expect(Math.abs(t.logprob_base - onCpu.tokens[i].logprob_base)).toBeLessThan(0.05);
      expect(Math.abs(t.rewards.helpfulness! - onCpu.tokens[i].rewards.helpfulness!)).toBeLessThan(0.05);
    });
    // ORT's own log says where the nodes ran (logSeverityLevel 0)
    const placed = consoleLines.filter((l) => /nodes placed on|WebGpuExecutionProvider/.test(l));
    if (placed.length) expect(placed.join('\n')).toMatch(/WebGpuExecutionProvider/);
  });

  test('the fused graph runs here with the same tokens as separate graphs', async ({ page }, info) => {
    const fused = JSON.parse(readFileSync(MANIFEST, 'utf8')).suites?.tiny?.fused;
    test.skip(!fused?.variants?.fp32, 'the tiny suite has no fused graph (npm run models)');
    const backend = info.project.name === 'webgpu' ? 'webgpu' : 'wasm';
    // SwiftShader's math is looser (see above); WASM agrees with Node to 1e-4
    const tol = backend === 'webgpu' ? 0.05 : 1e-3;
    const runs = [
      SETTINGS,
      { ...SETTINGS, weights: { helpfulness: 1, harmlessness: 0 }, score_arms: false }, // 2 rows of 3
      { ...SETTINGS, temperature: 1, seed: 5, weights: { helpfulness: 0.8, harmlessness: 1 } },
    ];
    await open(page);
    const f = await h(page).load({ suite: 'tiny', backend, dtype: 'fp32', path: 'fused' });
    expect(f.backend.backend).toBe(backend);
    expect(f.backend.path).toBe('fused');
    expect(f.backend.reason).toMatch(/fused graph/);
    const onFused: GenerationResult[] = [];
    for (const s of runs) onFused.push((await h(page).generate(s)).result);
    const sep = await h(page).load({ suite: 'tiny', backend, dtype: 'fp32', path: 'separate' });
    expect(sep.backend.path).toBe('separate');
    for (let i = 0; i < runs.length; i++) {
      const a = onFused[i];
      const b = (await h(page).generate(runs[i])).result;
      expect(a.backend.path).toBe('fused');
      expect(a.tokens.length).toBe(runs[i].max_tokens);
      expect(ids(a)).toEqual(ids(b));
      a.tokens.forEach((t, j) => {
        expect(Math.abs(t.logprob_base - b.tokens[j].logprob_base)).toBeLessThan(tol);
        if (b.tokens[j].rewards.helpfulness !== undefined) {
          expect(Math.abs(t.rewards.helpfulness! - b.tokens[j].rewards.helpfulness!)).toBeLessThan(tol);
        }
      });
    }
  });

  test('a lost GPU device falls back to WASM instead of hanging', async ({ page }, info) => {
    test.skip(info.project.name !== 'webgpu', 'needs --enable-unsafe-webgpu');
    await open(page);
    const gpu = await h(page).load({ suite: 'tiny', backend: 'webgpu', dtype: 'fp32' });
    expect(gpu.backend.backend).toBe('webgpu');
    // from the GGUF transport, its weights inline in the graph: a WebGPU session made with
    // externalData instead makes the fallback's session creation hang (docs/BROWSER.md)
    if (JSON.parse(readFileSync(MANIFEST, 'utf8')).suites.tiny.fused?.transport) {
      expect(gpu.backend.reason).toMatch(/fp32 weights expanded from the GGUF \(.*written into the graph as inline initializers\)/);
    }
    const out = await page.evaluate(
      (s) => (window as unknown as { harness: Harness }).harness.loseGpuDuring(s),
      { ...SETTINGS, max_tokens: 40 },
    );
    expect(out.error).toMatch(/GPU|WebGPU/);
    expect(out.nextBackend).toBe('wasm');
    const after = await h(page).generate(SETTINGS);
    expect(after.result.backend.backend).toBe('wasm');
    expect(after.result.tokens.length).toBe(SETTINGS.max_tokens);
  });

  test('without a WebGPU adapter it falls back to multi-threaded WASM', async ({ page }, info) => {
    test.skip(info.project.name !== 'wasm', 'the wasm project has no adapter');
    await open(page);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    const ready = await h(page).load({ suite: 'tiny' });
    expect(ready.backend.backend).toBe('wasm');
    expect(ready.backend.reason).toMatch(/no WebGPU adapter|navigator.gpu/);
    expect(ready.backend.threads).toBeGreaterThan(1);
    // whatever dtype the manifest prefers, the engine ends on one WASM can run
    expect(['fp32', 'q8', 'q4']).toContain(ready.backend.dtype);
    const { result, streamed } = await h(page).generate(SETTINGS);
    expect(result.tokens.length).toBe(SETTINGS.max_tokens);
    expect(streamed).toEqual(ids(result));
  });

  test('second visit reads every file from Cache Storage', async ({ page }, info) => {
    test.skip(info.project.name !== 'wasm', 'one backend is enough');
    await open(page);
    const first = await h(page).load({ suite: 'tiny', backend: 'wasm' });
    expect(first.progress.at(-1)!.phase).toBe('ready');
    await page.reload();
    await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
    const second = await h(page).load({ suite: 'tiny', backend: 'wasm' });
    const files = second.progress.at(-1)!.files;
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.cached && f.done)).toBe(true);
  });

  test('a new generate cancels the one in flight; tokens never mix', async ({ page }, info) => {
    test.skip(info.project.name !== 'wasm', 'one backend is enough');
    await open(page);
    await h(page).load({ suite: 'tiny', backend: 'wasm' });
    const a = { ...SETTINGS, temperature: 1, seed: 1, max_tokens: 200 };
    const b = { ...SETTINGS, temperature: 1, seed: 2, max_tokens: 5 };
    const r = await h(page).race(a, b);
    expect(r.first.finish_reason).toBe('abort');
    expect(r.first.tokens.length).toBeLessThan(200);
    expect(r.streamedA).toEqual(ids(r.first));
    expect(r.streamedB).toEqual(ids(r.second));
    const solo = (await h(page).generate(b)).result;
    expect(ids(r.second)).toEqual(ids(solo));
  });
});
