// "Add your ARM" on the tiny suite (WASM project): a PEFT LoRA folder for the tiny base, made in
// the test from the suite's own harmlessness ARM adapter (src/engine/__tests__/peft-fixture.ts:
// at scale 1 it is that ARM again), loads as a third slider with its own heat channel and tooltip
// row; at weight 0 the answer is unchanged, at a nonzero weight it is the harmlessness ARM's
// answer at that weight. A truncated or wrongly shaped adapter is refused with its reason, as
// text, and the page still generates.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { base, generateAndWait, guided, guidedTokens, openReady, readManifest, ROOT, setSlider, shot, suiteMissing } from './helpers';
import { peftKey, peftOfArm, safetensorsFile } from '../src/engine/__tests__/peft-fixture';
import type { ModelEntry } from '../src/engine/types';

const TINY = '?suite=tiny&dtype=fp32';

test.beforeEach(() => {
  const why = suiteMissing('tiny');
  test.skip(!!why, `tiny models unavailable: ${why}`);
});

function folder(arm: string) {
  return peftOfArm(readManifest()!.models[arm] as unknown as ModelEntry, (p) => readFileSync(join(ROOT, 'public/models', p)));
}

const asFiles = (f: { config: Uint8Array; weights: Uint8Array }) => [
  { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(f.config) },
  { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(f.weights) },
];

/** Drop the two files on the weight controls, as a user dragging them from a file manager. */
async function dropFiles(page: Page, f: { config: Uint8Array; weights: Uint8Array }) {
  const dt = await page.evaluateHandle(({ c, w }) => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(c)], 'adapter_config.json', { type: 'application/json' }));
    d.items.add(new File([new Uint8Array(w)], 'adapter_model.safetensors'));
    return d;
  }, { c: Array.from(f.config), w: Array.from(f.weights) });
  await page.locator('fieldset.weights').dispatchEvent('dragover', { dataTransfer: dt });
  await page.locator('fieldset.weights').dispatchEvent('drop', { dataTransfer: dt });
}

async function greedy(page: Page, tokens: number) {
  await page.getByLabel('Max tokens', { exact: true }).fill(String(tokens));
  await setSlider(page, 'Temperature', 0);
  await setSlider(page, 'Helpfulness', 0);
  await setSlider(page, 'Harmlessness', 0);
}

const settled = (page: Page) => expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 60_000 });

test('a PEFT adapter loads as a third slider; weight 0 changes nothing, a nonzero weight guides', async ({ page }, info) => {
  await openReady(page, TINY);
  await greedy(page, 16);
  await generateAndWait(page);
  const plain = await guided(page).innerText();
  expect(plain).toBe(await base(page).innerText());
  // the harmlessness ARM at 3: what the copy must give at 3
  await setSlider(page, 'Harmlessness', 3);
  await expect(guided(page)).not.toHaveText(plain, { timeout: 60_000 });
  await settled(page);
  const harm3 = await guided(page).innerText();
  await setSlider(page, 'Harmlessness', 0);
  await expect(guided(page)).toHaveText(plain, { timeout: 60_000 });
  await settled(page);

  await page.getByLabel('Name of your ARM').fill('mine');
  await page.getByTestId('arm-files').setInputFiles(asFiles(folder('tiny-arm-harmlessness')));
  const slider = page.getByRole('slider', { name: 'mine (your ARM)', exact: true });
  await expect(slider).toBeVisible();
  await expect(slider).toHaveValue('0');
  await expect(page.getByTestId('arm-error')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Remove mine' })).toBeVisible();
  // the view came back scored by the new ARM too, unchanged at weight 0
  await expect(guidedTokens(page).first()).toHaveAttribute('aria-label', /mine shift [+-]?\d/, { timeout: 60_000 });
  await settled(page);
  await expect(guided(page)).toHaveText(plain);
  await expect(page.getByRole('radio', { name: 'mine shift' })).toBeVisible();
  await guidedTokens(page).first().hover();
  await expect(page.getByRole('tooltip').locator('tr[data-objective="user:mine"]')).toContainText('mine (your ARM)');

  await slider.fill('3');
  await expect(guided(page)).not.toHaveText(plain, { timeout: 60_000 });
  await settled(page);
  expect(await guided(page).innerText()).toBe(harm3);
  await expect(page.locator('.weights-tag')).toContainText('mine 3.0');
  await page.getByRole('radio', { name: 'mine shift' }).check();
  await shot(page, info, 'user-arm');
  // the URL leaves it out (its files cannot be reloaded) and still names the built-in weights
  await expect(page).toHaveURL(/harm=0/);
  expect(page.url()).not.toMatch(/mine|user/);

  await page.getByRole('button', { name: 'Remove mine' }).click();
  await expect(slider).toHaveCount(0);
  await expect(guided(page)).toHaveText(plain, { timeout: 60_000 });
});

test('a truncated or wrongly shaped adapter is refused with its reason and the page still generates', async ({ page }) => {
  await openReady(page, TINY);
  await greedy(page, 8);
  const good = folder('tiny-arm-helpfulness');
  await page.getByTestId('arm-files').setInputFiles(asFiles({ ...good, weights: good.weights.slice(0, good.weights.length - 200) }));
  await expect(page.getByTestId('arm-error')).toContainText(/adapter_model\.safetensors: .* truncated or corrupt/);
  // wrong shapes, dropped on the controls
  const h = readManifest()!.models['tiny-base'] as unknown as ModelEntry;
  const wrong = safetensorsFile({
    [peftKey(0, 'q_proj', 'A')]: { dtype: 'F32', shape: [8, 2 * h.arch.hidden_size], data: new Uint8Array(8 * 2 * h.arch.hidden_size * 4) },
    [peftKey(0, 'q_proj', 'B')]: { dtype: 'F32', shape: [h.arch.hidden_size, 8], data: new Uint8Array(h.arch.hidden_size * 8 * 4) },
  });
  await dropFiles(page, { config: good.config, weights: wrong });
  await expect(page.getByTestId('arm-error')).toContainText(/q_proj\.lora_A\.weight has shape \[8,128\], expected \[8,64\]/);
  // only one of the two files
  await page.getByTestId('arm-files').setInputFiles(asFiles(good).slice(0, 1));
  await expect(page.getByTestId('arm-error')).toContainText('Missing adapter_model.safetensors');
  await expect(page.locator('.weight-user')).toHaveCount(0);
  await generateAndWait(page);
  await expect(guidedTokens(page)).toHaveCount(8);
  // and a good one still loads afterwards, clearing the error
  await page.getByTestId('arm-files').setInputFiles(asFiles(good));
  await expect(page.getByRole('slider', { name: 'my ARM (your ARM)', exact: true })).toBeVisible();
  await expect(page.getByTestId('arm-error')).toHaveCount(0);
});
