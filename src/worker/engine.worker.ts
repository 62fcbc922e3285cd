// The engine's module worker: all inference happens here, the page only renders.
import { createBrowserPlatform, GpuLostError } from '../engine/browser';
import { EngineHost } from './host';
import type { WorkerEvent, WorkerRequest } from './protocol';

const post = (e: WorkerEvent) => (self as unknown as Worker).postMessage(e);

const host = new EngineHost(
  (req, notice, fallback) =>
    createBrowserPlatform({
      baseUrl: req.baseUrl || '/models/',
      backend: fallback ? 'wasm' : req.backend,
      threads: req.threads,
      logSeverityLevel: req.logSeverityLevel,
      notice,
    }),
  post,
  (e) => e instanceof GpuLostError,
);

self.addEventListener('message', (ev: MessageEvent<WorkerRequest>) => {
  host.handle(ev.data).catch((e) => post({ type: 'error', message: `engine worker: ${(e as Error).message}`, recoverable: false }));
});
