// Which backend the page runs on. 'webgpu' project (--enable-unsafe-webgpu): SwiftShader's
// adapter is found and the tiny suite really runs on WebGPU. 'wasm' project (no flag):
// requestAdapter() returns null and the page says it fell back to WASM.
import { expect, test } from '@playwright/test';
import { generateAndWait, guidedTokens, openReady, shot, suiteMissing } from './helpers';

test.beforeEach(() => {
  const why = suiteMissing('tiny');
  test.skip(!!why, `tiny models unavailable: ${why}`);
});

test('backend badge and fallback notice', async ({ page }, info) => {
  // SwiftShader compiles every kernel on the CPU: give WebGPU time
  test.setTimeout(info.project.name === 'webgpu' ? 300_000 : 120_000);
  await openReady(page, '?suite=tiny&dtype=fp32', 240_000);
  const badge = page.locator('[data-backend]');
  if (info.project.name === 'webgpu') {
    await expect(badge).toHaveAttribute('data-backend', 'webgpu');
    await expect(page.getByTestId('fallback-notice')).toHaveCount(0);
    await page.getByLabel('Max tokens', { exact: true }).fill('3');
    await generateAndWait(page, 240_000);
    await expect(guidedTokens(page)).toHaveCount(3);
    // the run's own record of its backend
    await expect(page.locator('[data-backend]')).toHaveAttribute('data-backend', 'webgpu');
  } else {
    await expect(badge).toHaveAttribute('data-backend', 'wasm');
    const notice = page.getByTestId('fallback-notice');
    await expect(notice).toBeVisible();
    await expect(notice).toContainText('WASM');
    await expect(notice).toContainText(/WebGPU/);
  }
  await shot(page, info, 'backend');
});
