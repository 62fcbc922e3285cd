// The demo page on the tiny random-weight suite (WASM project): loading from the app's own
// server only, generation, live sliders, Stop, the tooltip, bad input, the URL, screenshots.
import { expect, test } from '@playwright/test';
import {
  base, generateAndWait, generateButton, guided, guidedTokens, openReady, setSlider, shot, stopButton, suiteMissing,
} from './helpers';

// fp32: the manifest's preferred q4 for WASM needs GatherBlockQuantized, which ORT web lacks
const TINY = '?suite=tiny&dtype=fp32';

test.beforeEach(({}, info) => {
  const why = suiteMissing('tiny');
  test.skip(!!why, `tiny models unavailable: ${why}`);
  void info;
});

test('models load from the page\'s own server and no request leaves it', async ({ page, baseURL }, info) => {
  const origins = new Set<string>();
  const modelUrls: string[] = [];
  page.context().on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return;
    origins.add(u.origin);
    if (u.pathname.startsWith('/models/')) modelUrls.push(u.pathname);
  });
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('8');
  await generateAndWait(page);
  expect([...origins]).toEqual([new URL(baseURL!).origin]);
  expect(modelUrls).toContain('/models/manifest.json');
  expect(modelUrls.some((p) => p.endsWith('.onnx'))).toBe(true);
  // per-file progress was shown and ended complete
  await page.locator('.load-ready summary').click();
  await expect(page.locator('.files li').first()).toBeVisible();
  await shot(page, info, 'tiny-loaded');
});

test('generates base and guided answers with token rewards and stats', async ({ page }, info) => {
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('12');
  await generateAndWait(page);
  const toks = guidedTokens(page);
  await expect(toks).toHaveCount(12);
  for (const attr of ['data-reward-helpfulness', 'data-reward-harmlessness']) {
    const v = await toks.first().getAttribute(attr);
    expect(Number.isFinite(Number(v)), `${attr}=${v}`).toBe(true);
  }
  expect((await base(page).innerText()).length).toBeGreaterThan(0);
  await expect(page.getByTestId('tokens-per-s').last()).toHaveText(/^\d+(\.\d)?$/);
  await expect(page.getByTestId('ttft').last()).toHaveText(/\d+ ms/);
  await expect(page.getByTestId('prompt-echo')).toBeVisible();
  // the per-token chart is drawn
  await expect(page.locator('.chart .recharts-surface')).toBeVisible();
  await shot(page, info, 'desktop');
});

test('releasing a slider regenerates the guided answer with the same seed', async ({ page }) => {
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('16');
  await setSlider(page, 'Helpfulness', 0);
  await setSlider(page, 'Harmlessness', 0);
  await generateAndWait(page);
  const baseText = await base(page).innerText();
  const before = await guided(page).innerText();
  // weights 0: exactly the base model
  expect(before).toBe(baseText);
  await setSlider(page, 'Harmlessness', 5);
  await expect(guided(page)).not.toHaveText(before, { timeout: 60_000 });
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  // the base answer was reused, not regenerated
  expect(await base(page).innerText()).toBe(baseText);
  await expect(page).toHaveURL(/harm=5/);
  const seed = await page.getByLabel('Seed', { exact: true }).inputValue();
  await expect(page).toHaveURL(new RegExp(`seed=${seed}`));
});

test('Stop interrupts a generation and keeps what it has', async ({ page }) => {
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('1024');
  await generateButton(page).click();
  await expect(stopButton(page)).toBeEnabled();
  await expect(base(page).locator('.ptok').nth(2)).toBeAttached({ timeout: 60_000 });
  await stopButton(page).click();
  await expect(base(page)).toHaveAttribute('data-status', 'stopped');
  await expect(guided(page)).toHaveAttribute('data-status', 'stopped');
  await expect(stopButton(page)).toBeDisabled();
  const n = await base(page).locator('.ptok').count();
  expect(n).toBeGreaterThan(2);
  expect(n).toBeLessThan(1024);
  await page.waitForTimeout(500);
  expect(await base(page).locator('.ptok').count()).toBe(n);
  // the worker is free again: a new run completes
  await page.getByLabel('Max tokens', { exact: true }).fill('4');
  await generateAndWait(page);
});

test('token tooltip on hover and on keyboard focus', async ({ page }, info) => {
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('10');
  await generateAndWait(page);
  const tok = guidedTokens(page).nth(2);
  await tok.hover();
  const tip = page.getByRole('tooltip');
  await expect(tip).toBeVisible();
  await expect(tip).toContainText('Helpfulness ARM');
  await expect(tip).toContainText('Harmlessness ARM');
  await expect(tip).toContainText('p base');
  await expect(tip).toContainText('p guided');
  await expect(tip).toContainText('Top 5 under base');
  await expect(tip).toContainText('Top 5 under guided');
  await expect(tip.locator('.alts').first().locator('li:not(.alt-outside)')).toHaveCount(5);
  // the sampled token is marked among the guided alternatives (it was drawn from that distribution)
  await expect(tip.locator('.alt-chosen, .alt-outside').first()).toBeAttached();
  await expect(tip.locator('.tt-table td').first()).toHaveText(/^-?\d+\.\d\d$/);
  await shot(page, info, 'tooltip', false);
  await page.mouse.move(0, 0);
  await expect(tip).toBeHidden();

  // keyboard: tab into the token list, arrows move, the tooltip follows focus
  await guidedTokens(page).first().focus();
  await expect(tip).toBeVisible();
  await page.keyboard.press('ArrowRight');
  await expect(guidedTokens(page).nth(1)).toBeFocused();
  await expect(guidedTokens(page).nth(1)).toHaveAttribute('aria-describedby', 'token-tooltip');
  expect(await guidedTokens(page).nth(1).getAttribute('aria-label')).toMatch(/^Token 2: .*helpful shift [+-]?\d/);
  await page.keyboard.press('Escape');
  await expect(tip).toBeHidden();
});

test('model and prompt text with <script> renders literally', async ({ page }) => {
  await openReady(page, TINY);
  const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
  await page.getByLabel('Prompt', { exact: true }).fill(evil);
  await page.getByLabel('Max tokens', { exact: true }).fill('4');
  await generateAndWait(page);
  await expect(page.getByTestId('prompt-echo')).toContainText(evil);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('#root script, #root img').count()).toBe(0);
  // and the tokens: every token's text is a text node (no element children)
  const nested = await guided(page).locator('[data-reward-helpfulness] *').count();
  expect(nested).toBe(0);
});

test('bad input: empty prompt disables Generate, an over-long prompt is truncated with a notice', async ({ page }) => {
  await openReady(page, TINY);
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.fill('   ');
  await expect(generateButton(page)).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Run weight sweep' })).toBeDisabled();
  // the tiny models' context is 8192 tokens: 7500 prompt tokens + 1024 new ones do not fit
  await prompt.fill('word '.repeat(7500));
  await expect(generateButton(page)).toBeEnabled();
  await page.getByLabel('Max tokens', { exact: true }).fill('1024');
  await generateButton(page).click();
  const notice = page.getByTestId('truncated-notice');
  await expect(notice).toBeVisible({ timeout: 120_000 });
  await expect(notice).toContainText('truncated');
  await stopButton(page).click();
  await expect(guided(page)).toHaveAttribute('data-status', 'stopped');
});

test('the URL carries the settings: a reload restores the view', async ({ page }) => {
  await openReady(page, TINY);
  await page.getByLabel('Prompt', { exact: true }).fill('Tell me a story about a cat.');
  await page.getByLabel('Max tokens', { exact: true }).fill('6');
  await setSlider(page, 'Helpfulness', 2.5);
  await page.getByLabel('Seed', { exact: true }).fill('1234');
  await generateAndWait(page);
  const text = await guided(page).innerText();
  await expect(page).toHaveURL(/prompt=Tell\+me/);
  await page.reload();
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('Tell me a story about a cat.');
  await expect(page.getByRole('slider', { name: 'Helpfulness', exact: true })).toHaveValue('2.5');
  await expect(page.getByLabel('Seed', { exact: true })).toHaveValue('1234');
  // a URL with a prompt regenerates the same view: same seed, same text
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 90_000 });
  expect(await guided(page).innerText()).toBe(text);
});

test('the repetition controls: the URL carries them, the paper button turns both off and regenerates', async ({ page }) => {
  await openReady(page, `${TINY}&rep=1.5&ngram=2`);
  const penalty = page.getByRole('slider', { name: 'Repetition penalty', exact: true });
  const ngram = page.getByLabel('No-repeat n-gram', { exact: true });
  const paper = page.getByRole('button', { name: "Paper's setting (no penalty)", exact: true });
  await expect(penalty).toHaveValue('1.5');
  await expect(ngram).toHaveValue('2');
  await expect(paper).toHaveAttribute('aria-pressed', 'false');
  await page.getByLabel('Max tokens', { exact: true }).fill('8');
  await generateAndWait(page);
  await expect(page).toHaveURL(/rep=1\.5/);
  await expect(page).toHaveURL(/ngram=2/);
  // record the base column's status changes: the click must start a new run of the pair
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="base-output"]')!;
    const w = window as unknown as { baseStatuses: string[] };
    w.baseStatuses = [];
    new MutationObserver(() => w.baseStatuses.push(el.getAttribute('data-status') ?? '')).observe(el, { attributes: true, attributeFilter: ['data-status'] });
  });
  await paper.click();
  await expect(penalty).toHaveValue('1');
  await expect(ngram).toHaveValue('0');
  await expect(paper).toHaveAttribute('aria-pressed', 'true');
  await expect(page).toHaveURL(/rep=1(&|$)/);
  await expect(page).toHaveURL(/ngram=0/);
  // a live change: the pair is generated again (the base too: it depends on the penalty)
  await expect.poll(() => page.evaluate(() => (window as unknown as { baseStatuses: string[] }).baseStatuses))
    .toContain('running');
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(base(page)).toHaveAttribute('data-status', 'done');
});

test('a model file that fails to load is named, and Retry recovers', async ({ page }) => {
  let fail = true;
  let failed = '';
  await page.context().route(/\/models\/.*\.onnx(\?.*)?$/, async (route) => {
    if (fail) {
      failed = new URL(route.request().url()).pathname;
      await route.fulfill({ status: 404, body: 'not found' });
    } else {
      await route.continue();
    }
  });
  await page.goto(`/${TINY}`);
  const err = page.locator('.load-error');
  await expect(err).toBeVisible({ timeout: 60_000 });
  expect(failed).not.toBe('');
  const file = failed.split('/').pop()!;
  await expect(err).toContainText(file);
  fail = false;
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(generateButton(page)).toBeEnabled({ timeout: 90_000 });
});

test('the weight sweep plots points and can be cancelled', async ({ page }, info) => {
  await openReady(page, TINY);
  await page.getByRole('button', { name: 'Run weight sweep' }).click();
  await expect(page.locator('.sweep-progress')).toContainText(/Done: 9 runs/, { timeout: 90_000 });
  await expect(page.locator('.sweep .recharts-scatter-symbol')).toHaveCount(9);
  await shot(page, info, 'sweep');
  await page.getByRole('button', { name: 'Run weight sweep' }).click();
  await page.getByRole('button', { name: 'Cancel sweep' }).click();
  await expect(page.locator('.sweep-progress')).toContainText('Cancelled');
  await expect(page.getByRole('button', { name: 'Run weight sweep' })).toBeEnabled();
});

test('works at 375 px wide', async ({ page }, info) => {
  await page.setViewportSize({ width: 375, height: 800 });
  await openReady(page, TINY);
  await page.getByLabel('Max tokens', { exact: true }).fill('12');
  await generateAndWait(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  for (const name of ['Prompt', 'Helpfulness', 'Harmlessness']) {
    await expect(page.getByLabel(name, { exact: true })).toBeVisible();
  }
  await guidedTokens(page).nth(1).focus();
  const box = await page.getByRole('tooltip').boundingBox();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(375);
  await shot(page, info, 'mobile-375');
  await shot(page, info, 'mobile-375-tooltip', false);
});

test('keyboard only: every control is labelled, Ctrl+Enter generates, tokens are reachable', async ({ page }) => {
  await openReady(page, TINY);
  // every form control has an accessible name
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const e = el as HTMLInputElement;
        if (e.type === 'radio') return !e.closest('label');
        return !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent?.trim());
      })
      .map((el) => el.outerHTML.slice(0, 80)));
  expect(unlabelled).toEqual([]);
  await page.getByLabel('Max tokens', { exact: true }).fill('5');
  const prompt = page.getByLabel('Prompt', { exact: true });
  await prompt.focus();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('Name three colours.');
  await page.keyboard.press('Control+Enter');
  await expect(guided(page)).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('prompt-echo')).toContainText('Name three colours.');
  // Tab from the Stop button's neighbourhood eventually lands on the first token (roving tabindex)
  await page.getByTestId('prompt-echo').click();
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await guidedTokens(page).first().evaluate((el) => el === document.activeElement);
  }
  expect(reached).toBe(true);
  await expect(page.getByRole('tooltip')).toBeVisible();
});
