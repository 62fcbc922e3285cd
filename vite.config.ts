import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

const root = import.meta.dirname;

// Cross-origin isolation makes SharedArrayBuffer available, which multi-threaded
// onnxruntime-web WASM needs (docs/BROWSER.md). Both servers must send it.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The test build (`vite build --mode e2e`): what Playwright (playwright.config.ts) and the
 * browser benchmark (bench/browser.ts) run. Only it carries the engine harness page and
 * honours the worker's test hooks (src/worker/engine.worker.ts); `vite build` ships neither.
 */
const TEST_MODE = 'e2e';

export default defineConfig(({ mode }) => ({
  plugins: [react()],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  // onnxruntime-web ships its own wasm/mjs loaders; pre-bundling them breaks the
  // `?url` asset imports that let ORT start its threads from the app's origin.
  optimizeDeps: { exclude: ['onnxruntime-web', '@huggingface/transformers'] },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve(root, 'index.html'),
        // engine-only page for the Playwright engine test (e2e/engine.spec.ts) and the bench
        ...(mode === TEST_MODE ? { harness: resolve(root, 'e2e/engine-harness.html') } : {}),
      },
    },
  },
}));
