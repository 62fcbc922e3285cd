// A real generation with SmolLM2-135M and its ARMs (WASM project). Skipped, with the reason,
// only when public/models lacks the suite's files.
import { expect, test } from '@playwright/test';
import { base, guided, guidedTokens, openReady, readManifest, shot, suiteMissing } from './helpers';

test('real smollm2 generation, base and guided side by side', async ({ page }, info) => {
  const why = suiteMissing('smollm2');
  test.skip(!!why, `real models unavailable: ${why}`);
  // a real 135M model on 2 CPU cores: generous, other work may share the cores
  test.setTimeout(420_000);
  const arms = Object.keys(readManifest()!.suites.smollm2.arms);
  // the default suite when present: no suite parameter
  await openReady(page, '', 240_000);
  await expect(page.getByLabel('Model suite')).toHaveValue('smollm2');
  await page.getByLabel('Max tokens', { exact: true }).fill('16');
  // a preset chip fills the prompt and generates; the default weights are the paper's (0.8, 1)
  await page.getByRole('button', { name: 'Better sleep' }).click();
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(base(page)).toHaveAttribute('data-status', 'done');
  const baseText = await base(page).innerText();
  const guidedText = await guided(page).innerText();
  // a real model writes words
  expect(baseText).toMatch(/[a-z]{3,}/i);
  expect(guidedText).toMatch(/[a-z]{3,}/i);
  expect(await guided(page).locator('.tok').count()).toBeGreaterThan(0);
  if (arms.length === 0) {
    info.annotations.push({ type: 'note', description: 'smollm2 has no ARMs in the manifest yet: base-only generation checked' });
  }
  for (const o of arms) {
    const v = await guidedTokens(page).first().getAttribute(`data-reward-${o}`);
    expect(Number(v)).toBeLessThanOrEqual(0); // a log-probability
  }
  await shot(page, info, 'smollm2');
});
