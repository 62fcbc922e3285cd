// The engine's module worker: all inference happens here, the page only renders.
import { createBrowserPlatform, GpuLostError, loseGpuDevice } from '../engine/browser';
import { EngineHost } from './host';
import { platformLoader } from './platform-loader';
import type { WorkerEvent, WorkerRequest } from './protocol';

const post = (e: WorkerEvent) => (self as unknown as Worker).postMessage(e);

const host = new EngineHost(
  platformLoader((req, notice, fallback) =>
    createBrowserPlatform({
      baseUrl: req.baseUrl || '/models/',
      backend: fallback ? 'wasm' : req.backend,
      threads: req.threads,
      logSeverityLevel: req.logSeverityLevel,
      prepack: req.prepack,
      notice,
    })),
  post,
  (e) => e instanceof GpuLostError,
);

self.addEventListener('message', (ev: MessageEvent<WorkerRequest>) => {
  // a test hook, honoured only in the test build (vite build --mode e2e, vite.config.ts):
  // Vite replaces MODE with a constant, so other builds drop this branch; their host ignores 'debug'
  if (import.meta.env.MODE === 'e2e' && ev.data.type === 'debug' && ev.data.action === 'lose-gpu') {
    loseGpuDevice().then((m) => post({ type: 'notice', message: m }));
    return;
  }
  host.handle(ev.data).catch((e) => post({ type: 'error', message: `engine worker: ${(e as Error).message}`, recoverable: false }));
});
