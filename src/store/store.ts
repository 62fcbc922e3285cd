// The one app store (zustand). Components select slices; all inference happens in the
// engine worker behind an EngineClient. The store only orders requests and keeps state.
import { create } from 'zustand';
import type { Decoder, Dtype, GenerateSettings, GenerationResult, Objective, TokenRecord } from '../engine/types';
import { PROMPT_PRESETS, SWEEP_TOKENS, SWEEP_VALUES } from './presets';
import type {
  EngineClient, HeatMode, LoadState, Notice, PanelRun, SweepPoint, SweepState, UiSettings, Weights,
} from './types';
import { buildQuery, parseQuery } from './url';

export const OBJECTIVES: Objective[] = ['helpfulness', 'harmlessness'];

/**
 * The page's repetition controls when a URL does not set them: the one place to change
 * them. Off for now (the paper's exact setting, = PAPER_REPETITION); the values to ship
 * are to come from an evaluation.
 */
export const REPETITION_DEFAULTS: Pick<UiSettings, 'repetition_penalty' | 'no_repeat_ngram_size'> = {
  repetition_penalty: 1,
  no_repeat_ngram_size: 0,
};

/** The paper decodes with eq. 7 alone: no repetition penalty, no n-gram ban (the "Paper's setting" button). */
export const PAPER_REPETITION: Pick<UiSettings, 'repetition_penalty' | 'no_repeat_ngram_size'> = {
  repetition_penalty: 1,
  no_repeat_ngram_size: 0,
};

/** The page offers these ranges (Controls.tsx); the URL and the setters clamp to them. */
export const REPETITION_PENALTY_RANGE = { min: 1, max: 2, step: 0.05 } as const;
export const NGRAM_RANGE = { min: 0, max: 8 } as const;

export const DEFAULT_SETTINGS: UiSettings = {
  prompt: PROMPT_PRESETS[0].prompt,
  weights: { helpfulness: 0.8, harmlessness: 1 },
  decoder: 'genarm',
  // the paper samples at 1; at 135M that reads as noise, 0.7 keeps sampling but stays readable
  temperature: 0.7,
  ...REPETITION_DEFAULTS,
  max_tokens: 48,
  seed: 42,
  args_k: 10,
  args_w: 1,
  bon_n: 4,
};

/** Live regeneration waits this long after the last released control. */
export const DEBOUNCE_MS = 300;
/** A run that does not settle this long after an abort is left behind. */
const ABORT_GRACE_MS = 8000;

export interface AppState {
  settings: UiSettings;
  /** suite id in the manifest */
  suite?: string;
  /** backend forced by the URL (?backend=wasm|webgpu) */
  forcedBackend?: 'webgpu' | 'wasm';
  /** dtype forced by the URL (?dtype=fp32) */
  forcedDtype?: Dtype;
  baseUrl: string;
  heat: HeatMode;
  load: LoadState;
  notices: Notice[];
  base: PanelRun;
  guided: PanelRun;
  /** the prompt of the view on screen (echoed above the answers) */
  shownPrompt?: string;
  sweep: SweepState;

  init(search: string, baseUrl?: string): Promise<void>;
  loadModels(): Promise<void>;
  selectSuite(id: string): void;
  setPrompt(prompt: string): void;
  setWeight(objective: Objective, value: number): void;
  setWeights(weights: Weights): void;
  setDecoder(decoder: Decoder): void;
  setTemperature(t: number): void;
  setRepetitionPenalty(p: number): void;
  setNoRepeatNgram(n: number): void;
  /** repetition penalty 1 and no n-gram ban in one step (the paper's decoding) */
  setPaperRepetition(): void;
  setMaxTokens(n: number): void;
  setSeed(seed: number): void;
  setParam(key: 'args_k' | 'args_w' | 'bon_n', value: number): void;
  newSeed(): void;
  setHeat(mode: HeatMode): void;
  /** generate base then guided for the current settings; the last request wins */
  generate(): Promise<void>;
  /** debounced generate, for released sliders and other live controls */
  scheduleRegenerate(): void;
  stop(): void;
  runSweep(): Promise<void>;
  cancelSweep(): void;
  notify(level: Notice['level'], text: string, id?: string): void;
  dismissNotice(id: string): void;
}

const idlePanel = (): PanelRun => ({ status: 'idle', tokens: [] });
const idleSweep = (): SweepState => ({ status: 'idle', grid: [], points: [], max_tokens: SWEEP_TOKENS });

// ---- engine plumbing (module scope: not state that renders) ----
let clientFactory: (() => EngineClient) | null = null;
let client: EngineClient | null = null;
let unsubs: Array<() => void> = [];
/** incremented by every request and every stop: work tagged with an older id is stale */
let seq = 0;
/** the run the worker is busy with, settled after an abort */
let inflight: Promise<void> = Promise.resolve();
let busy = false;
let debounceTimer: ReturnType<typeof setTimeout> | undefined;
let urlTimer: ReturnType<typeof setTimeout> | undefined;
let autoRun = false;
let baseCache: { key: string; run: PanelRun } | null = null;

/** Tell the store how to make an engine client (main.tsx: the worker client; tests: a fake). */
export function configureEngine(factory: () => EngineClient): void {
  clientFactory = factory;
}

function freshClient(): EngineClient {
  for (const u of unsubs) u();
  unsubs = [];
  client?.dispose?.();
  if (!clientFactory) throw new Error('no engine configured');
  client = clientFactory();
  return client;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function settle(p: Promise<void>): Promise<void> {
  return Promise.race([p, new Promise<void>((r) => setTimeout(r, ABORT_GRACE_MS))]);
}

/** Objectives that the loaded suite has an ARM for. */
export function availableObjectives(s: Pick<AppState, 'load' | 'suite'>): Objective[] {
  const m = s.load.manifest;
  const suite = m && s.suite ? m.suites[s.suite] : undefined;
  if (!suite) return [];
  return OBJECTIVES.filter((o) => !!suite.arms[o]);
}

export function hasRewardModels(s: Pick<AppState, 'load' | 'suite'>): boolean {
  const m = s.load.manifest;
  const suite = m && s.suite ? m.suites[s.suite] : undefined;
  return !!suite && Object.keys(suite.rms).length > 0;
}

export function toEngineSettings(s: UiSettings, available: Objective[]): GenerateSettings {
  const weights: Partial<Record<Objective, number>> = {};
  for (const o of OBJECTIVES) weights[o] = available.includes(o) ? s.weights[o] : 0;
  const out: GenerateSettings = {
    prompt: s.prompt,
    weights,
    decoder: s.decoder,
    temperature: s.temperature,
    top_k: 0,
    top_p: 1,
    repetition_penalty: s.repetition_penalty,
    no_repeat_ngram_size: s.no_repeat_ngram_size,
    seed: s.seed,
    max_tokens: s.max_tokens,
    // every loaded ARM scores every token, so the heatmap has both shifts at any weight
    score_arms: true,
  };
  if (s.decoder === 'args') {
    out.args_k = s.args_k;
    out.args_w = s.args_w;
  }
  if (s.decoder === 'bon') out.bon_n = s.bon_n;
  return out;
}

/** The base-only run depends only on these: a weight change reuses it. */
function baseKey(g: GenerateSettings): string {
  return JSON.stringify([
    g.prompt, g.seed, g.temperature, g.top_k, g.top_p, g.repetition_penalty, g.no_repeat_ngram_size, g.max_tokens, g.score_arms,
  ]);
}

function mean(xs: number[]): number | undefined {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

export function sweepPoint(weights: Weights, r: GenerationResult): SweepPoint {
  const meanReward: SweepPoint['meanReward'] = {};
  const meanShift: SweepPoint['meanShift'] = {};
  for (const o of OBJECTIVES) {
    const rw = r.tokens.map((t) => t.rewards[o]).filter((x): x is number => typeof x === 'number');
    const sh = r.tokens.map((t) => t.shifts[o]).filter((x): x is number => typeof x === 'number');
    const mr = mean(rw);
    const ms = mean(sh);
    if (mr !== undefined) meanReward[o] = mr;
    if (ms !== undefined) meanShift[o] = ms;
  }
  return { weights, meanReward, meanShift, tokens: r.tokens.length, text: r.text };
}

export function clampPenalty(p: number): number {
  const { min, max } = REPETITION_PENALTY_RANGE;
  return Number.isFinite(p) ? Math.min(max, Math.max(min, p)) : REPETITION_DEFAULTS.repetition_penalty;
}

export function clampNgram(n: number): number {
  const { min, max } = NGRAM_RANGE;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : REPETITION_DEFAULTS.no_repeat_ngram_size;
}

export function randomSeed(): number {
  const a = new Uint32Array(1);
  if (typeof crypto !== 'undefined' && crypto.getRandomValues) crypto.getRandomValues(a);
  else a[0] = Math.floor(Math.random() * 2 ** 31);
  return a[0] % 2 ** 31;
}

function errMessage(e: unknown): { message: string; file?: string } {
  if (e && typeof e === 'object') {
    const o = e as { message?: unknown; file?: unknown };
    return {
      message: typeof o.message === 'string' ? o.message : String(e),
      file: typeof o.file === 'string' ? o.file : undefined,
    };
  }
  return { message: String(e) };
}

export const useApp = create<AppState>()((set, get) => {
  const scheduleUrl = () => {
    if (typeof window === 'undefined' || !window.history) return;
    clearTimeout(urlTimer);
    urlTimer = setTimeout(() => {
      const s = get();
      const q = buildQuery(window.location.search, s.settings, s.suite, s.heat);
      if (q !== window.location.search) {
        window.history.replaceState(window.history.state, '', `${window.location.pathname}${q}${window.location.hash}`);
      }
    }, 120);
  };

  const patchSettings = (patch: Partial<UiSettings>) => {
    set((s) => ({ settings: { ...s.settings, ...patch } }));
    scheduleUrl();
  };

  const setPanel = (panel: 'base' | 'guided', fn: (p: PanelRun) => PanelRun) =>
    set((s) => ({ [panel]: fn(s[panel]) }) as Pick<AppState, 'base' | 'guided'>);

  /** run one request through the worker into one panel; null when stale, stopped or failed */
  const runOne = async (
    panel: 'base' | 'guided', settings: GenerateSettings, id: number,
  ): Promise<GenerationResult | null> => {
    const c = client;
    if (!c) return null;
    setPanel(panel, () => ({ status: 'running', tokens: [], settings, startedAt: now() }));
    try {
      const result = await c.generate(
        settings,
        (t: TokenRecord) => {
          if (id !== seq) return;
          setPanel(panel, (p) => ({ ...p, tokens: [...p.tokens, t], firstTokenAt: p.firstTokenAt ?? now() }));
        },
        (info) => {
          if (id === seq && info.prompt_truncated) truncatedNotice();
        },
        (statusText) => {
          if (id === seq) setPanel(panel, (p) => ({ ...p, statusText }));
        },
      );
      if (id !== seq) return null;
      if (result.prompt_truncated) truncatedNotice();
      setPanel(panel, (p) => ({
        ...p,
        statusText: undefined,
        status: result.finish_reason === 'abort' ? 'stopped' : 'done',
        result,
        tokens: result.tokens.length >= p.tokens.length ? result.tokens : p.tokens,
      }));
      return result.finish_reason === 'abort' ? null : result;
    } catch (e) {
      if (id !== seq) return null;
      const { message, file } = errMessage(e);
      setPanel(panel, (p) => ({ ...p, status: 'error', statusText: undefined }));
      get().notify('error', `Generation failed${file ? ` (${file})` : ''}: ${message}`, 'generate-error');
      return null;
    }
  };

  const truncatedNotice = () =>
    get().notify(
      'warning',
      'The prompt was too long for the model and was truncated from the left: only its end was used.',
      'prompt-truncated',
    );

  const runPair = async (id: number) => {
    const st = get();
    const available = availableObjectives(st);
    const g = toEngineSettings(st.settings, available);
    // the base column needs no ARM scores, unless it is also the guided column (decoder 'base')
    const b: GenerateSettings = {
      ...g, decoder: 'base', weights: { helpfulness: 0, harmlessness: 0 }, score_arms: g.decoder === 'base',
    };
    delete b.args_k; delete b.args_w; delete b.bon_n;
    const key = baseKey(b);
    const reuse = baseCache && baseCache.key === key ? baseCache.run : null;
    set((s) => ({
      shownPrompt: s.settings.prompt,
      base: reuse ? { ...reuse, cached: true } : { status: 'waiting', tokens: [] },
      guided: { status: 'waiting', tokens: [] },
      notices: s.notices.filter((n) => n.id !== 'prompt-truncated' && n.id !== 'generate-error'),
    }));
    let baseRun = reuse;
    if (!reuse) {
      const r = await runOne('base', b, id);
      if (!r || id !== seq) {
        if (id === seq) setPanel('guided', () => idlePanel());
        return;
      }
      baseRun = get().base;
      baseCache = { key, run: baseRun };
    } else if (reuse.result?.prompt_truncated) {
      truncatedNotice();
    }
    // decoder 'base', or GenARM with no ARM in the suite: the guided answer is the base answer
    if (g.decoder === 'base' || (g.decoder === 'genarm' && available.length === 0)) {
      setPanel('guided', () => ({ ...baseRun!, cached: true }));
      return;
    }
    await runOne('guided', g, id);
  };

  return {
    settings: DEFAULT_SETTINGS,
    baseUrl: '/models/',
    heat: 'sum',
    load: { status: 'idle' },
    notices: [],
    base: idlePanel(),
    guided: idlePanel(),
    sweep: idleSweep(),

    async init(search, baseUrl) {
      const u = parseQuery(search);
      set((s) => ({
        settings: { ...s.settings, ...u.settings, weights: { ...s.settings.weights, ...u.settings.weights } },
        suite: u.suite,
        forcedBackend: u.backend,
        forcedDtype: u.dtype,
        heat: u.heat ?? s.heat,
        baseUrl: baseUrl ?? s.baseUrl,
      }));
      autoRun = u.hasPrompt;
      await get().loadModels();
    },

    async loadModels() {
      let c: EngineClient;
      try {
        c = freshClient();
      } catch (e) {
        set({ load: { status: 'error', error: { message: `the engine did not start: ${errMessage(e).message}` } } });
        return;
      }
      baseCache = null;
      set((s) => ({
        load: { status: 'manifest' },
        notices: [],
        base: idlePanel(),
        guided: idlePanel(),
      }));
      const { baseUrl } = get();
      // The manifest lists the suites; read it here to pick one before the worker loads it.
      let manifest;
      try {
        if (c.fetchManifest) manifest = await c.fetchManifest(baseUrl);
        else {
          const res = await fetch(`${baseUrl}manifest.json`);
          if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
          manifest = await res.json();
        }
        if (!manifest || typeof manifest !== 'object' || !manifest.suites) throw new Error('not a model manifest');
      } catch (e) {
        if (c !== client) return;
        set({ load: { status: 'error', error: { message: errMessage(e).message, file: `${baseUrl}manifest.json` } } });
        return;
      }
      if (c !== client) return;
      const ids = Object.keys(manifest.suites);
      let suite = get().suite;
      if (!suite || !manifest.suites[suite]) {
        if (suite) get().notify('warning', `Model suite "${suite}" is not in the manifest; using another.`, 'suite-missing');
        suite = manifest.suites.smollm2 ? 'smollm2' : ids.find((i) => !/tiny/.test(i)) ?? ids[0];
      }
      if (!suite) {
        set({ load: { status: 'error', error: { message: 'the manifest lists no model suite', file: `${baseUrl}manifest.json` } } });
        return;
      }
      set({ suite, load: { status: 'loading', manifest } });
      scheduleUrl();
      unsubs.push(c.onProgress((progress) => {
        if (c === client) set((s) => ({ load: { ...s.load, progress } }));
      }));
      unsubs.push(c.onNotice((message) => {
        if (c === client) get().notify('warning', message);
      }));
      if (c.onError) {
        unsubs.push(c.onError((e) => {
          if (c === client) get().notify('error', `${e.file ? `${e.file}: ` : ''}${e.message}`);
        }));
      }
      let first = true;
      if (c.onReady) {
        unsubs.push(c.onReady((r) => {
          // the first 'ready' is the answer to load() below; a later one is a backend change
          if (c !== client || first) return;
          const was = get().load.backend?.backend;
          set((s) => ({ load: { ...s.load, status: 'ready', backend: r.backend } }));
          if (was !== r.backend.backend && r.backend.backend === 'wasm') {
            get().notify('warning', `WebGPU stopped working; continuing on WASM (CPU): ${r.backend.reason}`, 'fallback');
          }
        }));
      }
      try {
        const ready = await c.load({ baseUrl, suite, backend: get().forcedBackend, dtype: get().forcedDtype });
        first = false;
        if (c !== client) return;
        set((s) => ({
          load: { ...s.load, status: 'ready', backend: ready.backend, manifest: ready.manifest ?? manifest },
        }));
        for (const n of ready.notices) get().notify('warning', n);
        const be = ready.backend;
        if (be.backend === 'wasm') {
          get().notify(
            get().forcedBackend === 'wasm' ? 'info' : 'warning',
            `Running on WASM (CPU) instead of WebGPU: ${be.reason}`,
            'fallback',
          );
        }
        const avail = availableObjectives(get());
        const missing = OBJECTIVES.filter((o) => !avail.includes(o));
        if (missing.length) {
          get().notify(
            'info',
            `This suite has no ${missing.join(' or ')} ARM yet: ${missing.length === 2 ? 'only the base model can run' : 'its slider is off'}.`,
            'arms-missing',
          );
        }
        if (autoRun && get().settings.prompt.trim()) {
          autoRun = false;
          void get().generate();
        }
      } catch (e) {
        if (c !== client) return;
        const { message, file } = errMessage(e);
        set((s) => ({ load: { ...s.load, status: 'error', error: { message, file } } }));
      }
    },

    selectSuite(id) {
      if (id === get().suite) return;
      get().stop();
      set({ suite: id, sweep: idleSweep() });
      scheduleUrl();
      void get().loadModels();
    },

    setPrompt(prompt) { patchSettings({ prompt }); },
    setWeight(objective, value) {
      patchSettings({ weights: { ...get().settings.weights, [objective]: value } });
    },
    setWeights(weights) { patchSettings({ weights: { ...weights } }); },
    setDecoder(decoder) { patchSettings({ decoder }); },
    setTemperature(temperature) { patchSettings({ temperature }); },
    setRepetitionPenalty(p) { patchSettings({ repetition_penalty: clampPenalty(p) }); },
    setNoRepeatNgram(n) { patchSettings({ no_repeat_ngram_size: clampNgram(n) }); },
    setPaperRepetition() { patchSettings({ ...PAPER_REPETITION }); },
    setMaxTokens(max_tokens) { patchSettings({ max_tokens: Math.max(1, Math.min(1024, Math.round(max_tokens) || 1)) }); },
    setSeed(seed) { patchSettings({ seed: Math.max(0, Math.min(2 ** 31 - 1, Math.round(seed) || 0)) }); },
    setParam(key, value) { patchSettings({ [key]: value } as Partial<UiSettings>); },
    newSeed() { patchSettings({ seed: randomSeed() }); },
    setHeat(heat) { set({ heat }); scheduleUrl(); },

    async generate() {
      clearTimeout(debounceTimer);
      const st = get();
      // a request that does nothing must not take a new id: that would make the run in
      // flight stale (its panel stuck at 'running') without aborting or stopping it
      if (st.load.status !== 'ready' || !client || !st.settings.prompt.trim()) return;
      const id = ++seq;
      if (st.sweep.status === 'running') set((s) => ({ sweep: { ...s.sweep, status: 'cancelled', current: undefined } }));
      if (busy) client.abort();
      await settle(inflight);
      if (id !== seq) return;
      busy = true;
      inflight = runPair(id).catch(() => {}).then(() => { busy = false; });
      await inflight;
    },

    scheduleRegenerate() {
      const s = get();
      if (s.load.status !== 'ready' || s.sweep.status === 'running') return;
      // only a view on screen is kept live; the first run is an explicit Generate
      if (s.guided.status === 'idle' && s.base.status === 'idle') return;
      clearTimeout(debounceTimer);
      debounceTimer = setTimeout(() => { void get().generate(); }, DEBOUNCE_MS);
    },

    stop() {
      seq++;
      clearTimeout(debounceTimer);
      if (busy) client?.abort();
      const halt = (p: PanelRun): PanelRun =>
        p.status === 'running' || p.status === 'waiting' ? { ...p, status: 'stopped' } : p;
      set((s) => ({
        base: halt(s.base),
        guided: halt(s.guided),
        sweep: s.sweep.status === 'running' ? { ...s.sweep, status: 'cancelled', current: undefined } : s.sweep,
      }));
    },

    async runSweep() {
      clearTimeout(debounceTimer);
      const st = get();
      // as in generate(): the id is taken only once the sweep will really run
      if (st.load.status !== 'ready' || !client || !st.settings.prompt.trim()) return;
      const id = ++seq;
      const grid: Weights[] = [];
      for (const h of SWEEP_VALUES) for (const s of SWEEP_VALUES) grid.push({ helpfulness: h, harmlessness: s });
      set({ sweep: { status: 'running', grid, points: [], current: 0, max_tokens: SWEEP_TOKENS } });
      if (busy) {
        client.abort();
        const halt = (p: PanelRun): PanelRun =>
          p.status === 'running' || p.status === 'waiting' ? { ...p, status: 'stopped' } : p;
        set((s) => ({ base: halt(s.base), guided: halt(s.guided) }));
      }
      await settle(inflight);
      if (id !== seq) return;
      const c = client;
      const available = availableObjectives(get());
      const run = async () => {
        for (let i = 0; i < grid.length; i++) {
          if (id !== seq) return;
          set((s) => ({ sweep: { ...s.sweep, current: i } }));
          const g = toEngineSettings({ ...get().settings, weights: grid[i], decoder: 'genarm', max_tokens: SWEEP_TOKENS }, available);
          let r: GenerationResult;
          try {
            r = await c.generate(g, () => {});
          } catch (e) {
            if (id === seq) set((s) => ({ sweep: { ...s.sweep, status: 'error', current: undefined, error: errMessage(e).message } }));
            return;
          }
          if (id !== seq || r.finish_reason === 'abort') return;
          const point = sweepPoint(grid[i], r);
          set((s) => ({ sweep: { ...s.sweep, points: [...s.sweep.points, point] } }));
        }
        if (id === seq) set((s) => ({ sweep: { ...s.sweep, status: 'done', current: undefined } }));
      };
      busy = true;
      inflight = run().catch(() => {}).then(() => { busy = false; });
      await inflight;
    },

    cancelSweep() {
      if (get().sweep.status !== 'running') return;
      seq++;
      if (busy) client?.abort();
      set((s) => ({ sweep: { ...s.sweep, status: 'cancelled', current: undefined } }));
    },

    notify(level, text, id) {
      const nid = id ?? `n-${text}`;
      set((s) => ({ notices: [...s.notices.filter((n) => n.id !== nid), { id: nid, level, text }] }));
    },
    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
  };
});

/** For tests: forget module state between cases. */
export function resetAppForTests(): void {
  seq++;
  clearTimeout(debounceTimer);
  clearTimeout(urlTimer);
  for (const u of unsubs) u();
  unsubs = [];
  client = null;
  inflight = Promise.resolve();
  busy = false;
  autoRun = false;
  baseCache = null;
  useApp.setState({
    settings: DEFAULT_SETTINGS, suite: undefined, forcedBackend: undefined, forcedDtype: undefined, baseUrl: '/models/', heat: 'sum',
    load: { status: 'idle' }, notices: [], base: idlePanel(), guided: idlePanel(), shownPrompt: undefined, sweep: idleSweep(),
  });
}
