// The worker host under Node with the tiny suite: load -> progress -> ready, a second
// generate cancels the first, tokens carry their own requestId and never interleave
// after a cancel, abort by requestId, errors name missing files, and the GPU fallback
// (load and run) with a stand-in loader.
import { describe, expect, it } from 'vitest';
import type { GenerateSettings } from '../../engine/types';
import { createNodePlatform } from '../../engine/node';
import { EngineHost } from '../host';
import { platformLoader } from '../platform-loader';
import type { WorkerEvent } from '../protocol';
import { MODELS_DIR, requireModels, suiteMissing } from '../../engine/__tests__/helpers';

const missing = suiteMissing('tiny');
requireModels('worker host tests', missing);

const S: GenerateSettings = {
  prompt: 'Name a colour.', weights: { helpfulness: 1 }, decoder: 'genarm',
  temperature: 1, top_k: 0, top_p: 1, seed: 4, max_tokens: 8,
};

function makeHost(dir = MODELS_DIR) {
  const events: WorkerEvent[] = [];
  const host = new EngineHost(platformLoader(async () => createNodePlatform({ modelsDir: dir, threads: 1 })), (e) => events.push(e));
  return { host, events };
}

const of = (events: WorkerEvent[], id: number) =>
  events.filter((e) => 'requestId' in e && e.requestId === id);

describe.skipIf(!!missing)('EngineHost (Node, tiny suite)', () => {
  it('loads with progress, then a second generate cancels the first without mixing tokens', async () => {
    const { host, events } = makeHost();
    await host.handle({ type: 'load', baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    const ready = events.find((e) => e.type === 'ready');
    expect(ready && ready.type === 'ready' && ready.backend.backend).toBe('node-cpu');
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    const last = progress.at(-1)!;
    expect(last.type === 'progress' && last.progress.phase).toBe('ready');

    // the first run is long; the second arrives while it runs
    const first = host.handle({ type: 'generate', requestId: 1, settings: { ...S, max_tokens: 400 } });
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (of(events, 1).some((e) => e.type === 'token')) {
          clearInterval(t);
          r();
        }
      }, 5);
    });
    const second = host.handle({ type: 'generate', requestId: 2, settings: S });
    await Promise.all([first, second]);

    const e1 = of(events, 1);
    const e2 = of(events, 2);
    const done1 = e1.find((e) => e.type === 'done');
    const done2 = e2.find((e) => e.type === 'done');
    expect(done1?.type === 'done' && done1.result.finish_reason).toBe('abort');
    expect(done2?.type === 'done' && done2.result.finish_reason).not.toBe('abort');
    // every event of run 1 comes before the first event of run 2
    const lastOf1 = events.lastIndexOf(e1.at(-1)!);
    const firstOf2 = events.indexOf(e2[0]);
    expect(lastOf1).toBeLessThan(firstOf2);
    // each run's streamed tokens are exactly its result's tokens
    for (const [evs, done] of [[e1, done1], [e2, done2]] as const) {
      const streamed = evs.filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.token.id : -1));
      expect(done?.type === 'done' && done.result.tokens.map((t) => t.id)).toEqual(streamed);
    }
    // run 2 is unaffected by the cancelled run: same tokens as alone
    const { host: solo, events: soloEv } = makeHost();
    await solo.handle({ type: 'load', baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    await solo.handle({ type: 'generate', requestId: 9, settings: S });
    const alone = soloEv.find((e) => e.type === 'done');
    expect(done2?.type === 'done' && done2.result.text).toBe(alone?.type === 'done' && alone.result.text);
  });

  it('abort by requestId stops that run only', async () => {
    const { host, events } = makeHost();
    await host.handle({ type: 'load', baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    const run = host.handle({ type: 'generate', requestId: 5, settings: { ...S, max_tokens: 400 } });
    await host.handle({ type: 'abort', requestId: 4 }); // not the running one: ignored
    await new Promise((r) => setTimeout(r, 50));
    await host.handle({ type: 'abort', requestId: 5 });
    await run;
    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.result.finish_reason).toBe('abort');
    expect(done?.type === 'done' && done.result.tokens.length).toBeLessThan(400);
    expect(events.some((e) => e.type === 'start' && e.requestId === 5)).toBe(true);
  });

  it('generate before load is an error for that request', async () => {
    const { host, events } = makeHost();
    await host.handle({ type: 'generate', requestId: 1, settings: S });
    expect(events[0]).toMatchObject({ type: 'error', requestId: 1, recoverable: true });
  });
});

describe('EngineHost load errors', () => {
  it('names a missing manifest', async () => {
    const { host, events } = makeHost('/nonexistent-models');
    await host.handle({ type: 'load', baseUrl: '', suite: 'tiny' });
    const err = events.find((e) => e.type === 'error');
    expect(err).toMatchObject({ type: 'error', file: 'manifest.json' });
  });
});

describe('EngineHost GPU fallback (a stand-in loader, no model files)', () => {
  class GpuGone extends Error {}
  const manifest = { version: 1, created: 'x', models: {}, suites: {}, preferred: { webgpu: 'q4', wasm: 'fp32', node: 'q8' } } as const;
  const result = (backend: 'webgpu' | 'wasm') => ({
    text: '', tokens: [], finish_reason: 'length' as const, prompt_tokens: 1, prompt_truncated: false, ttft_ms: 0,
    ms_per_token: 0, tokens_per_s: 0, backend: { backend, dtype: 'fp32' as const, reason: backend }, settings: S,
  });
  function standIn(opts: { failLoadOnGpu?: boolean; failRunOnGpu?: boolean }) {
    const loads: boolean[] = [];
    const events: WorkerEvent[] = [];
    const host = new EngineHost(async (_req, { fallback }) => {
      loads.push(fallback);
      if (!fallback && opts.failLoadOnGpu) throw new GpuGone('device lost while loading');
      const backend = fallback ? 'wasm' : 'webgpu';
      return {
        backend: { backend, dtype: 'fp32', reason: backend },
        manifest: { ...manifest },
        generate: async () => {
          if (backend === 'webgpu' && opts.failRunOnGpu) throw new GpuGone('device lost mid-run');
          return result(backend);
        },
        dispose: async () => {},
      };
    }, (e) => events.push(e), (e) => e instanceof GpuGone);
    return { host, loads, events };
  }

  it('a GPU failure while loading reloads on WASM once, with a notice', async () => {
    const { host, loads, events } = standIn({ failLoadOnGpu: true });
    await host.handle({ type: 'load', baseUrl: '', suite: 'x' });
    expect(loads).toEqual([false, true]);
    expect(events.find((e) => e.type === 'notice')).toMatchObject({ message: expect.stringMatching(/falling back to WASM/) });
    expect(events.filter((e) => e.type === 'ready').map((e) => e.type === 'ready' && e.backend.backend)).toEqual(['wasm']);
  });

  it('a GPU failure during a run fails that run, then a second ready comes on WASM', async () => {
    const { host, loads, events } = standIn({ failRunOnGpu: true });
    await host.handle({ type: 'load', baseUrl: '', suite: 'x' });
    await host.handle({ type: 'generate', requestId: 1, settings: S });
    await host.handle({ type: 'generate', requestId: 2, settings: S });
    expect(events.find((e) => e.type === 'error')).toMatchObject({ requestId: 1, message: expect.stringMatching(/switching to WASM/) });
    expect(loads).toEqual([false, true]);
    expect(events.filter((e) => e.type === 'ready').map((e) => e.type === 'ready' && e.backend.backend)).toEqual(['webgpu', 'wasm']);
    // the next run waits for the reload and runs on WASM
    const done = events.find((e) => e.type === 'done' && e.requestId === 2);
    expect(done?.type === 'done' && done.result.backend.backend).toBe('wasm');
  });
});
