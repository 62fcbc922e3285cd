// Waiting helpers for the store's tests, which drive the real worker client and host
// against the fake engine (fake-engine.ts) and so see state change asynchronously.
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolve once `f()` holds, polling every 5 ms; throw after `ms`. */
export async function until(f: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(5);
  }
}
