// The host's real loader: a platform for the request (browser.ts in the worker, node.ts
// in the Node tests), then Engine.load. Apart from host.ts so that the host itself pulls
// in no engine code (the store's tests run it in-process with a stand-in: src/store/fake-engine.ts).
import { Engine } from '../engine/engine';
import type { Platform } from '../engine/platform';
import type { EngineLoader } from './host';
import type { LoadRequest } from './protocol';

/** Makes a platform for a load request; `fallback` forces WASM after a GPU failure. */
export type PlatformFactory = (req: LoadRequest, notice: (m: string) => void, fallback: boolean) => Promise<Platform>;

export function platformLoader(makePlatform: PlatformFactory): EngineLoader {
  return async (req, { notice, fallback, onProgress }) => {
    const platform = await makePlatform(req, notice, fallback);
    try {
      return await Engine.load(platform, {
        suite: req.suite,
        // the fallback picks its own dtype: the one asked for may not run on WASM
        dtype: fallback ? undefined : req.dtype,
        loadRms: req.loadRms,
        path: req.path,
        transport: req.transport,
        hub: req.hub,
        // one step per model before 'ready': WebGPU compiles its shaders here, not on the first token
        warmup: true,
        onProgress,
      });
    } catch (e) {
      // a failed load leaves nothing behind (the browser platform's dispose also ends its device watch)
      platform.dispose?.();
      throw e;
    }
  };
}
