// Weak-to-strong in the page (WASM project): hub bases from a mock hub (e2e/mock-hub.ts, this
// project's tiny base served as hub repos) at ?hub=URL. The picker lists the hub suites with
// their download sizes before anything downloads; a hub suite named in the URL
// (?hubrepo=genarm-test/tiny-base&hubarms=tiny: the tiny base, guided by the tiny suite's ARMs on
// the separate path) loads from the hub and generates with ARM weights the same answer as the
// embedded tiny suite (same base weights); an unreachable hub says so while the embedded suite works.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { generateAndWait, guided, guidedTokens, openReady, ROOT, setSlider, shot, suiteMissing } from './helpers';
import { closedPort, startMockHub, tinyRepoFiles, tinyRepos, type MockHub } from './mock-hub';
import { fmtBytes } from '../src/ui/heat';

const MODELS = join(ROOT, 'public/models');
let hub: MockHub;
let tinyBytes = 0;

test.beforeAll(async () => {
  if (suiteMissing('tiny')) return;
  const files = tinyRepoFiles(MODELS);
  tinyBytes = Object.values(files).reduce((s, b) => s + b.length, 0);
  // the page's own hub suites, listed from the same tiny files (their sizes only: they are never loaded here)
  hub = await startMockHub({
    ...tinyRepos(MODELS),
    'HuggingFaceTB/SmolLM2-360M-Instruct': { files },
    'HuggingFaceTB/SmolLM2-1.7B-Instruct': { files },
  });
});
test.afterAll(async () => {
  await hub?.close();
});
test.beforeEach(() => {
  const why = suiteMissing('tiny');
  test.skip(!!why, `tiny models unavailable: ${why}`);
});

const suitePicker = (page: import('@playwright/test').Page) => page.locator('#suite');

test('hub suites listed with their sizes; the tiny hub base loads from the hub and generates with ARM weights as the embedded suite does', async ({ page }, info) => {
  const q = `?suite=tiny&dtype=fp32&max=10&seed=5&temp=0.8&hub=${encodeURIComponent(hub.url)}&hubrepo=genarm-test/tiny-base&hubarms=tiny`;
  await openReady(page, q);
  const size = `base ${fmtBytes(tinyBytes)} (fp32) from the hub`;
  // the picker lists the page's hub suites and the URL's, sized for this backend (WASM: fp32), before any download
  for (const label of ['SmolLM2-360M-Instruct (hub)', 'SmolLM2-1.7B-Instruct (hub)', 'genarm-test/tiny-base (hub)']) {
    await expect(suitePicker(page).locator('option', { hasText: label })).toHaveText(`${label} · ${size}`);
  }
  expect([...hub.downloads.keys()]).toEqual([]);

  // the embedded tiny suite's answer with ARM weights
  await setSlider(page, 'Helpfulness', 2);
  await setSlider(page, 'Harmlessness', 1);
  await generateAndWait(page);
  const embedded = await guided(page).locator('[data-reward-helpfulness]').allInnerTexts();
  expect(embedded.length).toBeGreaterThan(0);

  await suitePicker(page).selectOption('hub:genarm-test/tiny-base');
  await expect(page.locator('[data-backend="wasm"]')).toHaveAttribute('title', /hub base genarm-test\/tiny-base@[0-9a-f]{7}: fp32 \(model\.onnx\)/, { timeout: 90_000 });
  await expect(page.getByRole('button', { name: 'Generate', exact: true })).toBeEnabled({ timeout: 90_000 });
  expect(hub.downloads.get('genarm-test/tiny-base/onnx/model.onnx')).toBe(1);
  expect(hub.downloads.get('genarm-test/tiny-base/tokenizer.json')).toBe(1);
  // the URL keeps the choice and the hub
  await expect.poll(() => new URL(page.url()).searchParams.get('suite')).toBe('hub:genarm-test/tiny-base');
  expect(new URL(page.url()).searchParams.get('hub')).toBe(hub.url);

  await generateAndWait(page);
  const toks = guidedTokens(page);
  expect(await toks.count()).toBeGreaterThan(0);
  for (const attr of ['data-reward-helpfulness', 'data-reward-harmlessness']) {
    const v = await toks.first().getAttribute(attr);
    expect(Number.isFinite(Number(v)), `${attr}=${v}`).toBe(true);
  }
  // same base weights, same ARMs, same seed and weights: the same answer, token by token
  expect(await toks.allInnerTexts()).toEqual(embedded);
  // the tooltip as on the embedded suites
  await toks.nth(1).hover();
  const tip = page.getByRole('tooltip');
  await expect(tip).toContainText('Helpfulness ARM');
  await expect(tip).toContainText('Top 5 under guided');
  await page.mouse.move(0, 0);
  // per-file progress named the hub's files
  await page.locator('.load-ready summary').click();
  await expect(page.locator('.files li .file-name', { hasText: 'genarm-test/tiny-base/onnx/model.onnx' })).toBeVisible();
  await shot(page, info, 'hub-tiny');

  // a second visit reads the hub files from Cache Storage (keyed by commit and sha256): only the listing is asked again
  await page.reload();
  await expect(page.locator('[data-backend="wasm"]')).toHaveAttribute('title', /hub base genarm-test\/tiny-base/, { timeout: 90_000 });
  await expect(page.getByRole('button', { name: 'Generate', exact: true })).toBeEnabled({ timeout: 90_000 });
  expect(hub.downloads.get('genarm-test/tiny-base/onnx/model.onnx')).toBe(1);
  expect(hub.downloads.get('genarm-test/tiny-base/tokenizer.json')).toBe(1);
});

test('an unreachable hub: its suites say "hub unreachable", the embedded suite works', async ({ page }, info) => {
  const dead = `http://127.0.0.1:${await closedPort()}`;
  await openReady(page, `?suite=tiny&dtype=fp32&max=6&hub=${encodeURIComponent(dead)}`);
  await expect(page.getByTestId('hub-status')).toContainText(`Hub suites: hub unreachable (${dead})`);
  const opt = suitePicker(page).locator('option', { hasText: 'SmolLM2-360M-Instruct (hub)' });
  await expect(opt).toHaveText('SmolLM2-360M-Instruct (hub) · hub unreachable');
  await expect(opt).toBeDisabled();
  await generateAndWait(page);
  expect(await guidedTokens(page).count()).toBeGreaterThan(0);
  await shot(page, info, 'hub-unreachable');
});

test('with no hub in the URL the page asks no other server until told; asked offline, it says "hub unreachable"', async ({ page, baseURL }) => {
  const origins = new Set<string>();
  page.context().on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol === 'http:' || u.protocol === 'https:') origins.add(u.origin);
  });
  // the default hub, cut off as with no network (these machines cannot reach it anyway)
  await page.context().route('https://huggingface.co/**', (r) => r.abort('internetdisconnected'));
  await openReady(page, '?suite=tiny&dtype=fp32&max=4');
  await expect(suitePicker(page).locator('option', { hasText: 'SmolLM2-1.7B-Instruct (hub)' })).toHaveText('SmolLM2-1.7B-Instruct (hub) · size: ask the hub');
  await expect(page.getByTestId('hub-ask')).toContainText('this page asks it nothing until you do');
  expect([...origins]).toEqual([new URL(baseURL!).origin]);
  await page.getByRole('button', { name: 'Ask the hub for sizes' }).click();
  await expect(page.getByTestId('hub-status')).toContainText('Hub suites: hub unreachable (https://huggingface.co)');
  await expect(suitePicker(page).locator('option', { hasText: 'SmolLM2-1.7B-Instruct (hub)' })).toBeDisabled();
  await generateAndWait(page);
  expect(await guidedTokens(page).count()).toBeGreaterThan(0);
});

for (const [repo, why] of [['tiny-404', 'HTTP 404'], ['tiny-corrupt', 'sha256 mismatch'], ['tiny-cut', 'cut off after']] as const) {
  test(`a broken hub repo (${repo}: ${why}) names the file and offers Retry`, async ({ page }) => {
    await openReady(page, `?suite=tiny&dtype=fp32&hub=${encodeURIComponent(hub.url)}&hubrepo=genarm-test/${repo}&hubarms=tiny`);
    await suitePicker(page).selectOption(`hub:genarm-test/${repo}`);
    const err = page.locator('.load-error');
    await expect(err).toContainText(`genarm-test/${repo}/onnx/model.onnx`, { timeout: 60_000 });
    await expect(err).toContainText(why);
    // the browser's source retries a bad download once before it reports (source-browser.ts); Retry loads again
    const key = `genarm-test/${repo}/onnx/model.onnx`;
    const before = hub.downloads.get(key) ?? 0;
    expect(before).toBe(2);
    await err.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => hub.downloads.get(key)).toBe(before + 2);
    await expect(page.locator('.load-error')).toContainText(why, { timeout: 60_000 });
  });
}
