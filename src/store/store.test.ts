// The store's ordering rules against the fake engine, driven through GenArmEngine
// (src/engine/interface.ts): the real worker client and EngineHost in this thread over a
// deterministic model (fake-engine.ts), so runs are ordered where the app orders them.
// Base then guided, last request wins, Stop, debounced live regeneration, load failures
// with Retry, the sweep, the default suite, reset, the URL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GenArmEngine, Ready } from '../engine/interface';
import type { AdapterInfo, GenerateSettings, GenerationResult, Manifest } from '../engine/types';
import { FAKE_MANIFEST, FakeEngine, readFakeManifest, type FakeOptions } from './fake-engine';
import { configureEngine, DEBOUNCE_MS, DEFAULT_SETTINGS, REPETITION_DEFAULTS, useApp } from './store';
import { buildQuery, parseQuery } from './url';
import { sleep, until } from './test-wait';

let engines: FakeEngine[] = [];
function useFake(opts: FakeOptions = {}) {
  configureEngine(() => {
    const e = new FakeEngine(opts);
    engines.push(e);
    return e;
  }, { readManifest: readFakeManifest });
}
const last = () => engines[engines.length - 1];
const st = () => useApp.getState();

beforeEach(() => {
  engines = [];
  useApp.getState().reset();
});
afterEach(() => useApp.getState().reset());

describe('loading', () => {
  it('loads the suite and says why it runs on WASM', async () => {
    useFake();
    await st().init('');
    expect(st().load.status).toBe('ready');
    expect(st().suite).toBe('fake');
    expect(st().load.backend?.backend).toBe('wasm');
    expect(st().notices.find((n) => n.id === 'fallback')?.text).toMatch(/WASM/);
  });

  it('names the failing file and recovers on Retry', async () => {
    useFake({ failLoad: { message: 'sha256 mismatch', file: 'base/onnx/model.onnx' } });
    await st().init('');
    expect(st().load.status).toBe('error');
    expect(st().load.error).toEqual({ message: 'sha256 mismatch', file: 'base/onnx/model.onnx' });
    useFake();
    await st().loadModels();
    expect(st().load.status).toBe('ready');
  });

  it('a URL with a prompt generates once ready', async () => {
    useFake();
    await st().init('?prompt=hi&help=2&harm=0.5&seed=7&max=5');
    await until(() => st().guided.status === 'done');
    expect(st().settings).toMatchObject({ prompt: 'hi', seed: 7, max_tokens: 5, weights: { helpfulness: 2, harmlessness: 0.5 } });
    expect(last().calls.map((c) => c.decoder)).toEqual(['base', 'genarm']);
  });
});

describe('generation', () => {
  beforeEach(async () => {
    useFake({ msPerToken: 3 });
    await st().init('');
    st().setMaxTokens(12);
  });

  it('runs base then guided with the same prompt and seed', async () => {
    await st().generate();
    const [b, g] = last().calls;
    expect(b).toMatchObject({ decoder: 'base', weights: { helpfulness: 0, harmlessness: 0 }, seed: 42 });
    expect(g).toMatchObject({ decoder: 'genarm', weights: { helpfulness: 0.8, harmlessness: 1 }, seed: 42, score_arms: true });
    expect(b.prompt).toBe(g.prompt);
    expect(st().base.tokens).toHaveLength(12);
    expect(st().guided.tokens).toHaveLength(12);
    expect(st().guided.status).toBe('done');
    expect(st().shownPrompt).toBe(g.prompt);
  });

  it('a weight change reruns only the guided answer, and changes it', async () => {
    await st().generate();
    const before = st().guided.result!.text;
    st().setWeight('harmlessness', 5);
    await st().generate();
    expect(last().calls.map((c) => c.decoder)).toEqual(['base', 'genarm', 'genarm']);
    expect(st().base.cached).toBe(true);
    expect(st().guided.result!.text).not.toBe(before);
  });

  it('does nothing for an empty prompt', async () => {
    st().setPrompt('   ');
    await st().generate();
    expect(last().calls).toHaveLength(0);
  });

  it('the last of several quick requests wins', async () => {
    st().setMaxTokens(40);
    const a = st().generate();
    await sleep(10);
    st().setSeed(1);
    const b = st().generate();
    st().setSeed(2);
    const c = st().generate();
    await Promise.all([a, b, c]);
    expect(st().guided.status).toBe('done');
    expect(st().guided.result!.settings.seed).toBe(2);
    expect(st().base.result!.settings.seed).toBe(2);
    // the store sent the request of seed 1 at once, without waiting for the run in
    // flight; the host cancelled it before it started, so it never ran
    expect(last().requests.map((x) => [x.decoder, x.seed])).toEqual([['base', 42], ['base', 1], ['base', 2], ['genarm', 2]]);
    expect(last().calls.map((x) => [x.decoder, x.seed])).toEqual([['base', 42], ['base', 2], ['genarm', 2]]);
  });

  it('a new request while a pair runs goes out at once, and the host cancels the run in flight', async () => {
    st().setMaxTokens(200);
    const a = st().generate();
    await until(() => st().base.tokens.length >= 3);
    st().setSeed(5);
    st().setMaxTokens(4);
    const sent = last().requests.length;
    const b = st().generate();
    // no wait in the store: the request is with the engine before the old run settles
    expect(last().requests.length).toBe(sent + 1);
    await Promise.all([a, b]);
    expect(st().base.result!.settings.seed).toBe(5);
    expect(st().guided.status).toBe('done');
    // the old pair stopped after its base run: its guided run was never asked for
    expect(last().calls.map((x) => [x.decoder, x.seed])).toEqual([['base', 42], ['base', 5], ['genarm', 5]]);
  });

  it('Stop keeps the partial answer and stops the pair', async () => {
    st().setMaxTokens(200);
    const p = st().generate();
    await until(() => st().base.tokens.length >= 3);
    st().stop();
    await p;
    expect(st().base.status).toBe('stopped');
    expect(st().guided.status).toBe('stopped');
    const n = st().base.tokens.length;
    expect(n).toBeGreaterThan(2);
    expect(n).toBeLessThan(200);
    expect(last().calls).toHaveLength(1);
    await sleep(30);
    expect(st().base.tokens.length).toBe(n);
  });

  it('a regenerate that returns early (the prompt was emptied mid-run) leaves the run in flight to finish', async () => {
    st().setMaxTokens(30);
    const p = st().generate();
    await until(() => st().base.tokens.length >= 3);
    st().setPrompt('');
    await st().generate();
    await p;
    // the early return neither aborted nor superseded the pair: both panels settle
    expect(st().base.status).toBe('done');
    expect(st().guided.status).toBe('done');
    expect(st().base.tokens).toHaveLength(30);
    expect(last().calls.map((c) => c.decoder)).toEqual(['base', 'genarm']);
  });

  it('a sweep that returns early (empty prompt) leaves the run in flight to finish', async () => {
    st().setMaxTokens(30);
    const p = st().generate();
    await until(() => st().base.tokens.length >= 3);
    st().setPrompt('');
    await st().runSweep();
    await p;
    expect(st().base.status).toBe('done');
    expect(st().guided.status).toBe('done');
  });

  it('live changes are debounced into one run', async () => {
    await st().generate();
    const n = last().calls.length;
    for (let i = 1; i <= 5; i++) {
      st().setWeight('helpfulness', i);
      st().scheduleRegenerate();
      await sleep(20);
    }
    await sleep(DEBOUNCE_MS + 50);
    await until(() => st().guided.status === 'done');
    const runs = last().calls.slice(n);
    expect(runs).toHaveLength(1);
    expect(runs[0].weights.helpfulness).toBe(5);
  });

  it('the repetition settings reach both runs; a change reruns the base too, live like temperature', async () => {
    st().setRepetitionPenalty(1.3);
    st().setNoRepeatNgram(3);
    await st().generate();
    const [b, g] = last().calls;
    expect(b).toMatchObject({ decoder: 'base', repetition_penalty: 1.3, no_repeat_ngram_size: 3 });
    expect(g).toMatchObject({ decoder: 'genarm', repetition_penalty: 1.3, no_repeat_ngram_size: 3 });
    st().setRepetitionPenalty(1.5);
    st().scheduleRegenerate();
    await sleep(DEBOUNCE_MS + 50);
    await until(() => st().guided.status === 'done');
    // the base answer depends on the penalty: not reused from the cache
    expect(last().calls.slice(2).map((c) => [c.decoder, c.repetition_penalty])).toEqual([['base', 1.5], ['genarm', 1.5]]);
    expect(st().base.cached).toBeUndefined();
  });

  it('the paper button turns both off in one step; setters clamp to the page ranges', () => {
    st().setRepetitionPenalty(7);
    st().setNoRepeatNgram(2.6);
    expect(st().settings).toMatchObject({ repetition_penalty: 2, no_repeat_ngram_size: 3 });
    st().setNoRepeatNgram(-1);
    expect(st().settings.no_repeat_ngram_size).toBe(0);
    st().setNoRepeatNgram(4);
    st().setPaperRepetition();
    expect(st().settings).toMatchObject({ repetition_penalty: 1, no_repeat_ngram_size: 0 });
    // the defaults live in one constant (the paper's setting for now)
    expect(DEFAULT_SETTINGS).toMatchObject(REPETITION_DEFAULTS);
  });

  it('no live run before the first Generate', async () => {
    st().scheduleRegenerate();
    await sleep(DEBOUNCE_MS + 50);
    expect(last().calls).toHaveLength(0);
  });

  it('reports a truncated prompt', async () => {
    useApp.getState().reset();
    useFake({ truncateOver: 10 });
    await st().init('');
    st().setMaxTokens(3);
    st().setPrompt('a prompt well over ten characters');
    await st().generate();
    expect(st().notices.some((n) => n.id === 'prompt-truncated')).toBe(true);
  });

  it('the sweep runs a 3x3 grid and can be cancelled', async () => {
    await st().runSweep();
    expect(st().sweep.status).toBe('done');
    expect(st().sweep.points).toHaveLength(9);
    const p = st().sweep.points[0];
    expect(typeof p.meanReward.helpfulness).toBe('number');
    expect(typeof p.meanShift.harmlessness).toBe('number');
    const q = st().runSweep();
    await until(() => st().sweep.points.length >= 2);
    st().cancelSweep();
    await q;
    expect(st().sweep.status).toBe('cancelled');
    expect(st().sweep.points.length).toBeLessThan(9);
  });
});

/** A GenArmEngine written against the interface alone: answers at once, records what it is asked. */
class InstantEngine implements GenArmEngine {
  asked: GenerateSettings[] = [];
  loads: string[] = [];
  private ready = new Set<(r: Ready) => void>();
  constructor(private manifest: Manifest) {}
  async load(o: { suite: string }): Promise<Ready> {
    this.loads.push(o.suite);
    return { backend: { backend: 'webgpu', dtype: 'q4', reason: 'instant' }, manifest: this.manifest, notices: [] };
  }
  async generate(s: GenerateSettings, cb: Parameters<GenArmEngine['generate']>[1] = {}): Promise<GenerationResult> {
    this.asked.push(s);
    cb.onStart?.({ prompt_tokens: 3, prompt_truncated: false });
    const token = {
      index: 0, id: 1, text: ' ok', logprob_base: -1, rewards: {}, shifts: {}, p_guided: 1, p_base: 1, top_base: [], top_guided: [], ms: 1,
    };
    cb.onToken?.(token);
    return {
      text: ' ok', tokens: [token], finish_reason: 'length', prompt_tokens: 3, prompt_truncated: false, ttft_ms: 1, ms_per_token: 1,
      tokens_per_s: 1000, backend: { backend: 'webgpu', dtype: 'q4', reason: 'instant' }, settings: s,
    };
  }
  abort(): void {}
  async addAdapter(): Promise<AdapterInfo> { throw new Error('instant engine: no ARMs to add'); }
  async removeAdapter(): Promise<void> {}
  onProgress() { return () => {}; }
  onNotice() { return () => {}; }
  onReady(cb: (r: Ready) => void) { this.ready.add(cb); return () => { this.ready.delete(cb); }; }
  onError() { return () => {}; }
  dispose(): void {}
  /** what the worker does after a lost GPU: a second 'ready', on WASM */
  fallBack() {
    this.ready.forEach((f) => f({ backend: { backend: 'wasm', dtype: 'fp32', reason: 'GPU lost' }, manifest: this.manifest, notices: [] }));
  }
}

const tinyBase = { tiny: true } as Manifest['models'][string];
const suiteOf = (id: string, base: string) => ({ id, label: id, base, arms: { helpfulness: 'h' }, rms: {} });
const MULTI: Manifest = {
  ...FAKE_MANIFEST,
  models: { 'tiny-base': tinyBase },
  suites: { tiny: suiteOf('tiny', 'tiny-base'), first: suiteOf('first', 'real-a'), second: suiteOf('second', 'real-b') },
};

function useInstant(manifest: Manifest): () => InstantEngine {
  let e: InstantEngine | null = null;
  configureEngine(() => (e = new InstantEngine(manifest)), { readManifest: async () => manifest });
  return () => e!;
}

describe('any GenArmEngine', () => {
  it('the store needs nothing but the interface: a pair, then a later ready on WASM', async () => {
    const engine = useInstant(FAKE_MANIFEST);
    await st().init('');
    expect(st().load.backend?.backend).toBe('webgpu');
    await st().generate();
    expect(engine().asked.map((s) => s.decoder)).toEqual(['base', 'genarm']);
    expect(st().guided).toMatchObject({ status: 'done', tokens: [{ text: ' ok' }] });
    engine().fallBack();
    expect(st().load.backend?.backend).toBe('wasm');
    expect(st().notices.find((n) => n.id === 'fallback')?.text).toMatch(/WebGPU stopped working/);
  });

  it('the default suite comes from the manifest: the first that is not a tiny test suite', async () => {
    const engine = useInstant(MULTI);
    await st().init('');
    expect(st().suite).toBe('first');
    expect(engine().loads).toEqual(['first']);
  });

  it("the manifest's declared default wins; a URL's unknown suite falls back to it with a warning", async () => {
    const engine = useInstant({ ...MULTI, default: 'second' });
    await st().init('?suite=nope');
    expect(st().suite).toBe('second');
    expect(engine().loads).toEqual(['second']);
    expect(st().notices.some((n) => n.id === 'suite-missing')).toBe(true);
    // a URL naming a suite that exists gets that one
    st().reset();
    const again = useInstant({ ...MULTI, default: 'second' });
    await st().init('?suite=tiny');
    expect(again().loads).toEqual(['tiny']);
  });
});

describe('reset', () => {
  it('puts every slice back to its initial state and drops the engine', async () => {
    useFake();
    await st().init('?prompt=hi&max=4&seed=3&color=helpfulness');
    await until(() => st().guided.status === 'done');
    st().setWeight('harmlessness', 3);
    const engine = last();
    st().reset();
    const s = st();
    expect(s.settings).toEqual(DEFAULT_SETTINGS);
    expect(s).toMatchObject({
      heat: 'sum', autoRun: false, suite: undefined, baseUrl: '/models/', load: { status: 'idle' }, notices: [],
      base: { status: 'idle', tokens: [] }, guided: { status: 'idle', tokens: [] }, shownPrompt: undefined,
      baseCache: undefined, sweep: { status: 'idle', points: [] },
    });
    // the engine is gone: nothing runs until the next load
    await s.generate();
    expect(engine.requests).toHaveLength(2);
  });
});

describe('url', () => {
  it('round-trips the settings', () => {
    const s = { ...useApp.getState().settings, prompt: 'a <b> & c', seed: 9, temperature: 0.9 };
    const q = buildQuery('?backend=wasm', s, 'tiny', 'helpfulness');
    const u = parseQuery(q);
    expect(u.settings).toMatchObject({ prompt: 'a <b> & c', seed: 9, temperature: 0.9, weights: s.weights });
    expect(u.suite).toBe('tiny');
    expect(u.backend).toBe('wasm');
    expect(u.heat).toBe('helpfulness');
    expect(u.hasPrompt).toBe(true);
  });

  it('round-trips the repetition penalty and the n-gram size', async () => {
    const s = { ...useApp.getState().settings, repetition_penalty: 1.25, no_repeat_ngram_size: 3 };
    const q = buildQuery('', s, 'tiny', 'sum');
    expect(q).toMatch(/rep=1\.25/);
    expect(q).toMatch(/ngram=3/);
    expect(parseQuery(q).settings).toMatchObject({ repetition_penalty: 1.25, no_repeat_ngram_size: 3 });
    // out of the page's ranges: clamped; absent: the defaults stay
    expect(parseQuery('?rep=9&ngram=20.4').settings).toMatchObject({ repetition_penalty: 2, no_repeat_ngram_size: 8 });
    expect(parseQuery('?rep=0.5&ngram=-2').settings).toMatchObject({ repetition_penalty: 1, no_repeat_ngram_size: 0 });
    expect(parseQuery('?rep=x').settings.repetition_penalty).toBeUndefined();
    // a link with them restores them in the store and sends them to the engine
    useFake();
    await st().init('?prompt=hi&max=3&rep=1.4&ngram=2');
    await until(() => st().guided.status === 'done');
    expect(st().settings).toMatchObject({ repetition_penalty: 1.4, no_repeat_ngram_size: 2 });
    expect(last().calls[1]).toMatchObject({ repetition_penalty: 1.4, no_repeat_ngram_size: 2 });
  });

  it('clamps bad values', () => {
    const u = parseQuery('?help=99&harm=-3&temp=abc&decoder=evil');
    expect(u.settings.weights).toEqual({ helpfulness: 5, harmlessness: 0 });
    expect(u.settings.temperature).toBeUndefined();
    expect(u.settings.decoder).toBeUndefined();
  });
});
