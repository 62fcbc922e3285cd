// The worker's protocol without a worker: an EngineHost in the page's own thread behind
// the client's EnginePort. Requests and events are structured-cloned and each delivered
// as its own task, as postMessage does, so the client and the store above it see the
// same ordering as with the module worker (engine.worker.ts). The store's tests and the
// dev server's fake engine use it (src/store/fake-engine.ts), so that the one place that
// orders runs in the app, EngineHost, is also the one that orders them in those tests.
import type { EnginePort } from './client';
import type { EngineHost } from './host';
import type { WorkerEvent } from './protocol';

export function inProcessPort(makeHost: (post: (e: WorkerEvent) => void) => EngineHost): EnginePort {
  let closed = false;
  const listeners: Array<(e: WorkerEvent) => void> = [];
  const deliver = (e: WorkerEvent) => {
    if (closed) return;
    const copy = structuredClone(e);
    setTimeout(() => {
      if (!closed) listeners.forEach((f) => f(copy));
    }, 0);
  };
  const host = makeHost(deliver);
  return {
    post(req) {
      if (closed) return;
      const copy = structuredClone(req);
      setTimeout(() => {
        if (closed) return;
        // as the worker entry does with a request that throws
        host.handle(copy).catch((err) => deliver({ type: 'error', message: `engine worker: ${(err as Error).message}`, recoverable: false }));
      }, 0);
    },
    onMessage: (f) => {
      listeners.push(f);
    },
    // nothing can crash a host in this thread short of the page itself
    onCrash: () => {},
    close() {
      closed = true;
      void host.close();
    },
  };
}
