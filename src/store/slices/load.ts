// The load slice: which suite, from where, and how loading went. loadModels makes a new
// engine (connection.ts), reads the manifest to pick the suite (the URL's, else the
// manifest's default: src/engine/manifest.ts, defaultSuite), then loads it and listens
// for progress, notices, errors and later backend changes (src/engine/README.md, "Backends").
import type { StateCreator } from 'zustand';
import type { GenArmEngine } from '../../engine/interface';
import { defaultSuite } from '../../engine/manifest';
import type { Manifest } from '../../engine/types';
import { connect, currentEngine, keep, listHub, readManifest } from '../connection';
import { DEFAULT_HUB, HubUnreachableError } from '../../engine/hub';
import { availableObjectives, errMessage, isUserObjective, OBJECTIVES } from '../settings';
import type { AppState, LoadSlice, SliceState, Weights } from '../types';
import { IDLE_PANEL } from './runs';
import { IDLE_SWEEP } from './sweep';

export const initialLoadState: SliceState<LoadSlice> = {
  suite: undefined,
  forcedBackend: undefined,
  forcedDtype: undefined,
  baseUrl: '/models/',
  hubUrl: DEFAULT_HUB,
  hubSuites: [],
  load: { status: 'idle' },
  notices: [],
};

export const createLoadSlice: StateCreator<AppState, [], [], LoadSlice> = (set, get) => ({
  ...initialLoadState,

  async loadModels() {
    let c: GenArmEngine;
    try {
      c = connect();
    } catch (e) {
      set({ load: { status: 'error', error: { message: `the engine did not start: ${errMessage(e).message}` } } });
      return;
    }
    // a later loadModels replaces the engine: everything this one still reports is stale
    const live = () => c === currentEngine();
    // the new engine has none of the user's ARMs (slices/arms.ts): their sliders go
    set((s) => ({
      load: { status: 'manifest' }, notices: [], base: IDLE_PANEL, guided: IDLE_PANEL, baseCache: undefined,
      userArms: [], armStatus: { busy: false },
      settings: { ...s.settings, weights: builtinWeights(s.settings.weights) },
      heat: isUserObjective(s.heat) ? 'sum' : s.heat,
    }));
    const { baseUrl } = get();
    // The manifest lists the suites; read it here to pick one before the engine loads it.
    let manifest: Manifest;
    try {
      manifest = await readManifest(baseUrl);
      if (!manifest || typeof manifest !== 'object' || !manifest.suites) throw new Error('not a model manifest');
    } catch (e) {
      if (!live()) return;
      set({ load: { status: 'error', error: { message: errMessage(e).message, file: `${baseUrl}manifest.json` } } });
      return;
    }
    if (!live()) return;
    let suite = get().suite;
    // a hub suite (src/engine/hub.ts): its base from the hub, its ARMs from this manifest
    const hubSuite = get().hubSuites.find((h) => h.def.id === suite);
    if (!suite || (!manifest.suites[suite] && !hubSuite)) {
      if (suite) get().notify('warning', `Model suite "${suite}" is not in the manifest; using another.`, 'suite-missing');
      suite = defaultSuite(manifest);
    }
    if (!suite) {
      set({ load: { status: 'error', error: { message: 'the manifest lists no model suite', file: `${baseUrl}manifest.json` } } });
      return;
    }
    set({ suite, load: { status: 'loading', manifest } });
    get().syncUrl();
    keep(c.onProgress((progress) => {
      if (live()) set((s) => ({ load: { ...s.load, progress } }));
    }));
    keep(c.onNotice((message) => {
      if (live()) get().notify('warning', message);
    }));
    keep(c.onError((e) => {
      if (live()) get().notify('error', `${e.file ? `${e.file}: ` : ''}${e.message}`);
    }));
    let first = true;
    keep(c.onReady((r) => {
      // the first 'ready' is the answer to load() below; a later one is a backend change
      if (!live() || first) return;
      const was = get().load.backend?.backend;
      set((s) => ({ load: { ...s.load, status: 'ready', backend: r.backend } }));
      if (was !== r.backend.backend && r.backend.backend === 'wasm') {
        get().notify('warning', `WebGPU stopped working; continuing on WASM (CPU): ${r.backend.reason}`, 'fallback');
      }
    }));
    try {
      const hub = hubSuite ? { suite: hubSuite.def, endpoint: get().hubUrl } : undefined;
      // choosing a hub suite asks the hub: the picker's sizes come along
      if (hubSuite?.status === 'unchecked') void get().probeHub();
      const ready = await c.load({ baseUrl, suite, backend: get().forcedBackend, dtype: get().forcedDtype, ...(hub ? { hub } : {}) });
      first = false;
      if (!live()) return;
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
      if (get().autoRun && get().settings.prompt.trim()) {
        set({ autoRun: false });
        void get().generate();
      }
    } catch (e) {
      if (!live()) return;
      const { message, file } = errMessage(e);
      set((s) => ({ load: { ...s.load, status: 'error', error: { message, file } } }));
    }
  },

  async probeHub() {
    const endpoint = get().hubUrl;
    await Promise.all(get().hubSuites.map(async ({ def }) => {
      const patch = (p: Partial<AppState['hubSuites'][number]>) =>
        set((s) => ({ hubSuites: s.hubSuites.map((h) => (h.def.id === def.id ? { ...h, ...p } : h)) }));
      patch({ status: 'checking', message: undefined, listing: undefined });
      try {
        patch({ status: 'ok', listing: await listHub(def, endpoint) });
      } catch (e) {
        patch({ status: e instanceof HubUnreachableError ? 'unreachable' : 'error', message: errMessage(e).message });
      }
    }));
  },

  selectSuite(id) {
    if (id === get().suite) return;
    get().stop();
    set({ suite: id, sweep: IDLE_SWEEP });
    get().syncUrl();
    void get().loadModels();
  },

  notify(level, text, id) {
    const nid = id ?? `n-${text}`;
    set((s) => ({ notices: [...s.notices.filter((n) => n.id !== nid), { id: nid, level, text }] }));
  },
  dismissNotice(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
});

/** The weights without the user ARMs' (a new load has none of them). */
function builtinWeights(w: Weights): Weights {
  return Object.fromEntries(Object.entries(w).filter(([o]) => !isUserObjective(o))) as Weights;
}
