// Playwright e2e in Debian's Chromium against the production build in its test mode
// (vite build --mode e2e + preview).
// Two projects: 'webgpu' (--enable-unsafe-webgpu: SwiftShader, slow; tiny models only) and
// 'wasm' (no flag: navigator.gpu.requestAdapter() returns null, the natural fallback case).
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 4173);
const BASE = `http://127.0.0.1:${PORT}`;
// docs/BROWSER.md: Playwright cannot download a browser here; each project repeats these.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export default defineConfig({
  testDir: 'e2e',
  // E2E_OUTPUT / E2E_PORT let two people run the suite at once in one tree
  outputDir: process.env.E2E_OUTPUT ?? 'test-results',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // 2 cores, and every test runs models: one browser at a time
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL: BASE,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    // --mode e2e: the test build, with the engine harness page and the worker's test hooks (vite.config.ts)
    command: `npx vite build --mode e2e && npx vite preview --mode e2e --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: BASE,
    reuseExistingServer: !process.env.CI,
    timeout: 240_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  projects: [
    {
      name: 'wasm',
      use: { launchOptions: { executablePath: CHROMIUM, args: ARGS } },
    },
    {
      name: 'webgpu',
      // SwiftShader WebGPU is 70-300x slower than WASM here: only the backend checks run on it
      testMatch: [/backend\.spec\.ts$/, /engine.*\.spec\.ts$/],
      use: { launchOptions: { executablePath: CHROMIUM, args: [...ARGS, '--enable-unsafe-webgpu'] } },
    },
  ],
});
