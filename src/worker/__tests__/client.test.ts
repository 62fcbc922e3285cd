// GenArmEngine as the page gets it: the worker client (client.ts) over the real host
// (host.ts) in this thread (in-process.ts), the Node engine on the tiny suite behind it.
// The host is the only place that serialises runs: the client sends every request at
// once and the Engine refuses a run while another is in flight (engine.ts), so requests
// sent back to back that all settle without an error never overlapped.
import { describe, expect, it } from 'vitest';
import type { GenerateSettings, LoadProgress } from '../../engine/types';
import { EngineError } from '../../engine/interface';
import { createNodePlatform } from '../../engine/node';
import { WorkerEngine } from '../client';
import { EngineHost } from '../host';
import { inProcessPort } from '../in-process';
import { platformLoader } from '../platform-loader';
import { MODELS_DIR, requireModels, suiteMissing } from '../../engine/__tests__/helpers';

const missing = suiteMissing('tiny');
requireModels('worker client tests', missing);

const S: GenerateSettings = {
  prompt: 'Name a colour.', weights: { helpfulness: 1 }, decoder: 'genarm',
  temperature: 1, top_k: 0, top_p: 1, seed: 4, max_tokens: 8,
};

function makeEngine(dir = MODELS_DIR): WorkerEngine {
  return new WorkerEngine(inProcessPort((post) =>
    new EngineHost(platformLoader(async () => createNodePlatform({ modelsDir: dir, threads: 1 })), post)));
}

const firstToken = (seen: () => number) => new Promise<void>((r) => {
  const t = setInterval(() => {
    if (seen() > 0) {
      clearInterval(t);
      r();
    }
  }, 5);
});

describe.skipIf(!!missing)('WorkerEngine over the in-process host (Node, tiny suite)', () => {
  it('loads with progress and answers with one Ready', async () => {
    const engine = makeEngine();
    const progress: LoadProgress[] = [];
    const readies: string[] = [];
    engine.onProgress((p) => progress.push(p));
    engine.onReady((r) => readies.push(r.backend.backend));
    const ready = await engine.load({ baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    expect(ready.backend.backend).toBe('node-cpu');
    expect(Object.keys(ready.manifest.suites)).toContain('tiny');
    expect(progress.at(-1)?.phase).toBe('ready');
    expect(readies).toEqual(['node-cpu']);
    engine.dispose();
  });

  it('requests sent back to back: the host runs one at a time, the newest wins, each run hears only itself', async () => {
    const engine = makeEngine();
    await engine.load({ baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    const streamed: number[][] = [[], [], []];
    const long = engine.generate({ ...S, max_tokens: 400 }, { onToken: (t) => streamed[0].push(t.id) });
    await firstToken(() => streamed[0].length);
    // neither call waits for the run in flight: ordering them is the host's job
    const middle = engine.generate({ ...S, seed: 5 }, { onToken: (t) => streamed[1].push(t.id) });
    const last = engine.generate(S, { onToken: (t) => streamed[2].push(t.id) });
    const [r0, r1, r2] = await Promise.all([long, middle, last]);
    expect(r0.finish_reason).toBe('abort');
    expect(r0.tokens.length).toBeLessThan(400);
    // superseded before it started: settled without running
    expect(r1).toMatchObject({ finish_reason: 'abort', tokens: [] });
    expect(r2.finish_reason).not.toBe('abort');
    expect(streamed.map((s) => s.length)).toEqual([r0.tokens.length, 0, r2.tokens.length]);
    expect(streamed[2]).toEqual(r2.tokens.map((t) => t.id));
    // the newest run is what it would have been alone
    const alone = await engine.generate(S);
    expect(r2.text).toBe(alone.text);
    engine.dispose();
  });

  it("a caller's signal stops its own run; abort() stops the run in flight and is a no-op when idle", async () => {
    const engine = makeEngine();
    await engine.load({ baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    engine.abort(); // nothing in flight
    const ctl = new AbortController();
    let n = 0;
    const r = await engine.generate({ ...S, max_tokens: 400 }, { signal: ctl.signal, onToken: () => ++n === 2 && ctl.abort() });
    expect(r.finish_reason).toBe('abort');
    expect(r.tokens.length).toBeLessThan(400);
    let m = 0;
    const p = engine.generate({ ...S, max_tokens: 400 }, { onToken: () => ++m });
    await firstToken(() => m);
    engine.abort();
    expect((await p).finish_reason).toBe('abort');
    // a signal already aborted: the run ends at its first step
    const pre = new AbortController();
    pre.abort();
    expect((await engine.generate({ ...S, max_tokens: 400 }, { signal: pre.signal })).finish_reason).toBe('abort');
    expect((await engine.generate(S)).finish_reason).not.toBe('abort');
    engine.dispose();
  });

  it('dispose rejects the run in flight with an EngineError', async () => {
    const engine = makeEngine();
    await engine.load({ baseUrl: '', suite: 'tiny', dtype: 'fp32' });
    let n = 0;
    const p = engine.generate({ ...S, max_tokens: 400 }, { onToken: () => ++n });
    await firstToken(() => n);
    engine.dispose();
    await expect(p).rejects.toBeInstanceOf(EngineError);
  });
});

describe('WorkerEngine load errors', () => {
  it('a missing manifest rejects the load with an EngineError naming the file', async () => {
    const engine = makeEngine('/nonexistent-models');
    const err = await engine.load({ baseUrl: '', suite: 'tiny' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).file).toBe('manifest.json');
    engine.dispose();
  });
});
