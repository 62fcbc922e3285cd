// Adapts the engine worker's typed client (src/worker/client.ts) to the store's EngineClient.
import { EngineClient as WorkerClient } from '../worker/client';
import type { EngineClient } from '../store/types';

export function createWorkerEngine(): EngineClient {
  const c = new WorkerClient();
  return {
    load: (o) => c.load({ baseUrl: o.baseUrl, suite: o.suite, backend: o.backend, dtype: o.dtype }),
    generate: (settings, onToken, onStart, onStatus) => c.generate(settings, onToken, { onStart, onStatus }),
    abort: () => c.abort(),
    onProgress: (f) => c.onProgress(f),
    onNotice: (f) => c.onNotice(f),
    onReady: (f) => c.onReady(f),
    onError: (f) => c.onError((e) => f({ message: e.message, file: e.file })),
    dispose: () => c.terminate(),
  };
}
