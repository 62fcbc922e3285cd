// A user's ARM through the worker protocol: the client (client.ts) over the real host (host.ts)
// in this thread, the Node engine on the tiny suite behind it. addAdapter answers with the
// objective, which the next generate weighs; a folder that does not fit is refused with its
// reason as an EngineError and the engine keeps generating; adding cancels the run in flight;
// the host re-adds them after a WASM fallback reload and drops them on a new load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GenerateSettings, ModelEntry } from '../../engine/types';
import type { WorkerEvent } from '../protocol';
import { EngineError } from '../../engine/interface';
import { createNodePlatform } from '../../engine/node';
import { WorkerEngine } from '../client';
import { EngineHost } from '../host';
import { inProcessPort } from '../in-process';
import { platformLoader } from '../platform-loader';
import { MODELS_DIR, manifest, requireModels, suiteMissing } from '../../engine/__tests__/helpers';
import { peftOfArm } from '../../engine/__tests__/peft-fixture';

const missing = suiteMissing('tiny');
requireModels('user ARMs over the worker protocol', missing);

const S: GenerateSettings = {
  prompt: 'Name a colour.', weights: {}, decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 4, max_tokens: 10,
};

function folder(arm: string) {
  return peftOfArm(manifest()!.models[arm] as ModelEntry, (p) => readFileSync(join(MODELS_DIR, p)));
}

describe.skipIf(!!missing)('addAdapter / removeAdapter over the worker protocol (Node, tiny suite)', () => {
  it('adds, guides, refuses with the reason, cancels the run in flight, removes', async () => {
    const engine = new WorkerEngine(inProcessPort((post) =>
      new EngineHost(platformLoader(async () => createNodePlatform({ modelsDir: MODELS_DIR, threads: 1 })), post)));
    try {
      await engine.load({ suite: 'tiny', dtype: 'fp32' });
      const harm = await engine.generate({ ...S, weights: { harmlessness: 2 } });
      const plain = await engine.generate(S);
      expect(harm.tokens.map((t) => t.id)).not.toEqual(plain.tokens.map((t) => t.id));

      // a run in flight when the ARM arrives is cancelled, the ARM added
      const long = engine.generate({ ...S, max_tokens: 400, temperature: 1 });
      const info = await engine.addAdapter({ name: 'mine', ...folder('tiny-arm-harmlessness') });
      expect((await long).finish_reason).toBe('abort');
      expect(info).toMatchObject({ objective: 'user:mine', name: 'mine', rank: 8, base_model: 'tiny-base' });

      const mine = await engine.generate({ ...S, weights: { 'user:mine': 2 } });
      expect(mine.tokens.map((t) => t.id)).toEqual(harm.tokens.map((t) => t.id));
      expect(typeof mine.tokens[0].rewards['user:mine']).toBe('number');

      const f = folder('tiny-arm-helpfulness');
      const err = await engine.addAdapter({ name: 'broken', config: f.config, weights: f.weights.slice(0, f.weights.length - 1000) }).catch((e) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as Error).message).toMatch(/adapter_model.safetensors: .* truncated or corrupt/);
      expect((await engine.generate(S)).text).toBe(plain.text);

      await engine.removeAdapter('user:mine');
      await expect(engine.generate({ ...S, weights: { 'user:mine': 1 } })).rejects.toThrow(/no user:mine ARM loaded/);
      await expect(engine.removeAdapter('user:mine')).rejects.toThrow(/no user ARM user:mine/);
    } finally {
      engine.dispose();
    }
  });

  it('the separate path refuses with the reason', async () => {
    const engine = new WorkerEngine(inProcessPort((post) =>
      new EngineHost(platformLoader(async () => createNodePlatform({ modelsDir: MODELS_DIR, threads: 1 })), post)));
    try {
      await engine.load({ suite: 'tiny', dtype: 'fp32', path: 'separate', transport: false });
      await expect(engine.addAdapter({ name: 'x', ...folder('tiny-arm-helpfulness') })).rejects.toThrow(/needs the fused path/);
      expect((await engine.generate({ ...S, weights: { helpfulness: 1 } })).tokens.length).toBeGreaterThan(0);
    } finally {
      engine.dispose();
    }
  });
});

describe('EngineHost keeps the user ARMs across a WASM fallback, not across a new load (stand-in loader)', () => {
  class GpuGone extends Error {}
  it('re-adds them after the fallback reload, says which could not be, and drops them on a new load', async () => {
    const added: { backend: string; name: string }[] = [];
    const events: WorkerEvent[] = [];
    const host = new EngineHost(async (_req, { fallback }) => {
      const backend = fallback ? 'wasm' : 'webgpu';
      return {
        backend: { backend, dtype: 'fp32', reason: backend },
        manifest: { version: 1, created: 'x', models: {}, suites: {}, preferred: { webgpu: 'q4', wasm: 'fp32', node: 'q8' } },
        generate: async () => {
          if (backend === 'webgpu') throw new GpuGone('device lost mid-run');
          throw new Error('not needed');
        },
        addAdapter: async (f) => {
          if (backend === 'wasm' && f.name === 'picky') throw new Error('refused on WASM');
          added.push({ backend, name: f.name });
          return { objective: `user:${f.name}`, name: f.name, rank: 8, alpha: 16, base_model: 'b', layers: [0], targets: ['q_proj'] };
        },
        removeAdapter: async () => {},
        dispose: async () => {},
      };
    }, (e) => events.push(e), (e) => e instanceof GpuGone);
    const files = { config: new Uint8Array(1), weights: new Uint8Array(1) };
    await host.handle({ type: 'load', baseUrl: '', suite: 'x' });
    await host.handle({ type: 'add-adapter', requestId: 1, name: 'mine', ...files });
    await host.handle({ type: 'add-adapter', requestId: 2, name: 'picky', ...files });
    await host.handle({ type: 'add-adapter', requestId: 3, name: 'gone', ...files });
    await host.handle({ type: 'remove-adapter', requestId: 4, objective: 'user:gone' });
    expect(events.filter((e) => e.type === 'adapter-added').map((e) => e.type === 'adapter-added' && e.requestId)).toEqual([1, 2, 3]);
    expect(events.find((e) => e.type === 'adapter-removed')).toMatchObject({ requestId: 4, objective: 'user:gone' });
    await host.handle({ type: 'generate', requestId: 5, settings: S });
    await host.handle({ type: 'generate', requestId: 6, settings: S }); // waits for the reload
    expect(added).toEqual([
      { backend: 'webgpu', name: 'mine' }, { backend: 'webgpu', name: 'picky' }, { backend: 'webgpu', name: 'gone' },
      { backend: 'wasm', name: 'mine' },
    ]);
    expect(events.some((e) => e.type === 'notice' && /"picky" could not be added again after the reload: refused on WASM/.test(e.message))).toBe(true);
    // a new load starts without them
    await host.handle({ type: 'load', baseUrl: '', suite: 'x' });
    await host.handle({ type: 'generate', requestId: 7, settings: S });
    await host.handle({ type: 'generate', requestId: 8, settings: S });
    expect(added.length).toBe(4);
  });
});
