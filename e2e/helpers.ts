// Shared steps of the UI e2e specs.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page, type TestInfo } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..');
export const ARTIFACTS = join(here, 'artifacts');

interface ManifestLike {
  suites: Record<string, { base: string; arms: Record<string, string>; rms: Record<string, string> }>;
  models: Record<string, { folder: string; files: Array<{ path: string }>; variants: Record<string, { path: string }> }>;
}

export function readManifest(): ManifestLike | null {
  const p = join(ROOT, 'public/models/manifest.json');
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as ManifestLike;
}

/** Why a suite cannot be tested from public/models, or null when all its files are there. */
export function suiteMissing(suite: string): string | null {
  const m = readManifest();
  if (!m) return 'public/models/manifest.json is missing: run `npm run models`';
  const s = m.suites[suite];
  if (!s) return `public/models/manifest.json has no "${suite}" suite`;
  for (const id of [s.base, ...Object.values(s.arms)]) {
    const e = m.models[id];
    if (!e) return `model ${id} of suite ${suite} is not in the manifest`;
    // paths are relative to the manifest's folder
    for (const f of e.files) {
      if (!existsSync(join(ROOT, 'public/models', f.path))) return `file ${f.path} of suite ${suite} is missing`;
    }
    const variants = Object.values(e.variants);
    if (!variants.some((v) => existsSync(join(ROOT, 'public/models', v.path)))) {
      return `model ${id} of suite ${suite} has no ONNX file in public/models`;
    }
  }
  return null;
}

export async function shot(page: Page, info: TestInfo, name: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${info.project.name}-${name}.png`);
  await page.screenshot({ path, fullPage });
  await info.attach(name, { path, contentType: 'image/png' });
}

export const generateButton = (page: Page) => page.getByRole('button', { name: 'Generate', exact: true });
export const stopButton = (page: Page) => page.getByRole('button', { name: 'Stop', exact: true });
export const guided = (page: Page) => page.getByTestId('guided-output');
export const base = (page: Page) => page.getByTestId('base-output');
export const guidedTokens = (page: Page) => guided(page).locator('[data-reward-helpfulness]');

/** Open the page and wait until the models are loaded. */
export async function openReady(page: Page, query: string, timeout = 90_000): Promise<void> {
  await page.goto(`/${query}`);
  const err = page.locator('.load-error');
  // whichever comes first: a backend (loaded) or a load error (fail now, with its text)
  await expect(err.or(page.locator('[data-backend]:not([data-backend=""])'))).toBeVisible({ timeout });
  if (await err.isVisible()) throw new Error(`the models did not load: ${(await err.innerText()).replace(/\s+/g, ' ')}`);
  await expect(generateButton(page)).toBeEnabled({ timeout });
}

/** Click Generate and wait for both answers to finish. */
export async function generateAndWait(page: Page, timeout = 90_000): Promise<void> {
  await generateButton(page).click();
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout });
  await expect(base(page)).toHaveAttribute('data-status', 'done');
}

export async function setSlider(page: Page, name: string, value: number): Promise<void> {
  await page.getByRole('slider', { name, exact: true }).fill(String(value));
}
