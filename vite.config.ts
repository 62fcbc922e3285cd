import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { cpSync, createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

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

const MODELS = resolve(root, 'public/models');
const TYPES: Record<string, string> = { '.json': 'application/json', '.jinja': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8' };

/**
 * The model files stay in public/models and never go into dist/ (issue 15: `vite build` used to
 * copy 5+ GB of them on every build). `vite build` copies public/ without models/; `vite
 * preview` serves /models/ from public/models (the dev server serves public/ itself). A deploy
 * serves public/models at /models/ beside dist/, or points the page's baseUrl at a model host.
 */
function modelsOutsideDist(): Plugin {
  let outDir = '';
  const serveModels = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/models/') || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const file = normalize(join(MODELS, decodeURIComponent(url.pathname.slice('/models/'.length))));
    if (!file.startsWith(MODELS + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', statSync(file).size);
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };
  return {
    name: 'genarm-models-outside-dist',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    writeBundle() {
      const pub = resolve(root, 'public');
      if (!existsSync(pub)) return;
      for (const name of readdirSync(pub)) if (name !== 'models') cpSync(join(pub, name), join(outDir, name), { recursive: true });
    },
    configurePreviewServer(server) {
      server.middlewares.use(serveModels);
    },
  };
}

export default defineConfig(({ mode }) => ({
  plugins: [react(), modelsOutsideDist()],
  server: { headers: isolation },
  preview: { headers: isolation },
  worker: { format: 'es' },
  // onnxruntime-web ships its own wasm/mjs loaders; pre-bundling them breaks the
  // `?url` asset imports that let ORT start its threads from the app's origin.
  optimizeDeps: { exclude: ['onnxruntime-web', '@huggingface/transformers'] },
  build: {
    target: 'es2022',
    // public/ holds the models (GBs): modelsOutsideDist copies the rest and serves them
    copyPublicDir: false,
    rollupOptions: {
      input: {
        main: resolve(root, 'index.html'),
        // engine-only page for the Playwright engine test (e2e/engine.spec.ts) and the bench
        ...(mode === TEST_MODE ? { harness: resolve(root, 'e2e/engine-harness.html') } : {}),
      },
    },
  },
}));
