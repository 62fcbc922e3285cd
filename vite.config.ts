import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { cpSync, createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

const NODE_MODELS = resolve(root, 'models-node');

/** GET/HEAD of the files under `dir` at `prefix`, with COOP/COEP; nothing outside `dir` is reachable. */
function serveFolder(prefix: string, dir: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith(prefix) || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const file = normalize(join(dir, decodeURIComponent(url.pathname.slice(prefix.length))));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
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
}

/**
 * Test builds only: /models-all/ is /models/ with the Node-only files shown to the browser (their
 * `node_only` flags dropped from the manifest, the files served at /models-node/, where the
 * manifest's ../../models-node/ paths point), so an e2e test can load the inline fp32 graph beside
 * the GGUF transport in one page. A deploy never serves models-node/.
 */
function allModels(req: IncomingMessage, res: ServerResponse, next: () => void) {
  if (new URL(req.url ?? '/', 'http://x').pathname !== '/models-all/manifest.json') return next();
  const json = JSON.stringify(JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')), (k, v) => (k === 'node_only' ? undefined : v));
  for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json');
  res.end(json);
}

/**
 * The model files stay in public/models and never go into dist/ (`vite build` used to copy 5+ GB
 * of them on every build). `vite build` copies public/ without models/; `vite preview` serves
 * /models/ from public/models (the dev server serves public/ itself). A deploy serves
 * public/models at /models/ beside dist/, or points the page's baseUrl at a model host.
 */
function modelsOutsideDist(testMode: boolean): Plugin {
  let outDir = '';
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
      server.middlewares.use(serveFolder('/models/', MODELS));
      if (testMode) {
        server.middlewares.use(allModels);
        server.middlewares.use(serveFolder('/models-all/', MODELS));
        server.middlewares.use(serveFolder('/models-node/', NODE_MODELS));
      }
    },
  };
}

export default defineConfig(({ mode }) => ({
  plugins: [react(), modelsOutsideDist(mode === TEST_MODE)],
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
