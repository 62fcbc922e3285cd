// A second visit in the same browser profile transfers 0 model bytes: a
// persistent Chromium profile (launchPersistentContext, a fresh user-data dir) loads the tiny
// suite from the network, the browser is closed, a new browser on the same profile loads it
// again: every model file comes from Cache Storage, none over the network, same tokens. The
// page asked for persistent storage and the load reported the storage estimate before downloading.
import { chromium, expect, test, type BrowserContext } from '@playwright/test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerateSettings } from '../src/engine/types';
import type { Harness } from '../src/harness/engine-harness';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SETTINGS: GenerateSettings = {
  prompt: 'Name three colours.', weights: { helpfulness: 1 }, decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 0, max_tokens: 6,
};

test('second visit in the same profile: 0 model bytes over the network', async ({ baseURL }, info) => {
  test.skip(info.project.name !== 'wasm', 'one backend is enough');
  test.skip(!existsSync('public/models/manifest.json'), 'npm run models');
  test.setTimeout(240_000);
  const profile = mkdtempSync(join(tmpdir(), 'genarm-profile-'));
  const visit = async () => {
    const context: BrowserContext = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, baseURL });
    let bytes = 0;
    const files: string[] = [];
    context.on('requestfinished', async (req) => {
      const path = new URL(req.url()).pathname;
      if (!path.startsWith('/models/') || path.endsWith('manifest.json')) return;
      // a Cache Storage hit never reaches the network: only real transfers land here
      files.push(path);
      bytes += (await req.sizes()).responseBodySize;
    });
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto('/e2e/engine-harness.html');
    await page.waitForFunction(() => !!(window as unknown as { harness?: unknown }).harness);
    const ready = await page.evaluate(() => (window as unknown as { harness: Harness }).harness.load({ suite: 'tiny', backend: 'wasm' }));
    const gen = await page.evaluate((s) => (window as unknown as { harness: Harness }).harness.generate(s), SETTINGS);
    await page.waitForTimeout(500);
    await context.close();
    return { bytes, files, progress: ready.progress.at(-1)!, tokens: gen.result.tokens.map((t) => t.id) };
  };
  try {
    const first = await visit();
    expect(first.bytes).toBeGreaterThan(1_000_000);
    expect(first.progress.files.some((f) => !f.cached)).toBe(true);
    // the storage estimate the page shows before a download (navigator.storage)
    expect(first.progress.storage?.quota).toBeGreaterThan(0);
    const second = await visit(); // a new browser process on the same profile
    expect(second.files).toEqual([]);
    expect(second.bytes).toBe(0);
    expect(second.progress.files.every((f) => f.cached && f.done)).toBe(true);
    expect(second.tokens).toEqual(first.tokens);
    console.log(`[persistent cache] first visit ${first.bytes} model bytes, second ${second.bytes}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
