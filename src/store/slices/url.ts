// The URL slice: the view a link reproduces (settings, heat) and its setters. init reads
// the query string into the store (this slice and the load slice's suite and forced
// backend/dtype); every change writes the view back with replaceState (url.ts).
import type { StateCreator } from 'zustand';
import type { AppState, SliceState, UiSettings, UrlSlice } from '../types';
import { buildQuery, parseQuery } from '../url';
import { configuredHubSuites } from '../connection';
import { adHocHubSuite, hubEndpoint, type HubSuiteDef } from '../../engine/hub';
import { clampNgram, clampPenalty, DEFAULT_SETTINGS, PAPER_REPETITION, randomSeed } from '../settings';

export const initialUrlState: SliceState<UrlSlice> = {
  settings: DEFAULT_SETTINGS,
  heat: 'sum',
  autoRun: false,
};

let urlTimer: ReturnType<typeof setTimeout> | undefined;

/** Drop a pending URL write (reset). */
export function cancelUrlWrite(): void {
  clearTimeout(urlTimer);
}

export const createUrlSlice: StateCreator<AppState, [], [], UrlSlice> = (set, get) => {
  const patchSettings = (patch: Partial<UiSettings>) => {
    set((s) => ({ settings: { ...s.settings, ...patch } }));
    get().syncUrl();
  };

  return {
    ...initialUrlState,

    async init(search, baseUrl) {
      const u = parseQuery(search);
      // the configured hub suites, then the URL's own (?hubrepo=owner/name[@rev]&hubarms=SUITE)
      const hubDefs: HubSuiteDef[] = [...configuredHubSuites()];
      for (const spec of u.hubRepos) {
        try {
          const d = adHocHubSuite(spec, u.hubArms);
          if (!hubDefs.some((h) => h.id === d.id)) hubDefs.push(d);
        } catch (e) {
          get().notify('warning', `?hubrepo=${spec}: ${(e as Error).message}`);
        }
      }
      set((s) => ({
        hubUrl: hubEndpoint(u.hub),
        hubSuites: hubDefs.map((def) => ({ def, status: 'unchecked' as const })),
        settings: { ...s.settings, ...u.settings, weights: { ...s.settings.weights, ...u.settings.weights } },
        suite: u.suite,
        forcedBackend: u.backend,
        forcedDtype: u.dtype,
        heat: u.heat ?? s.heat,
        baseUrl: baseUrl ?? s.baseUrl,
        autoRun: u.hasPrompt,
      }));
      // a URL that names a hub has asked for it: sizes for the picker while the models load (an
      // unreachable hub only greys its suites out); else the page contacts no other server until asked
      if (hubDefs.length && (u.hub || u.hubRepos.length || hubDefs.some((d) => d.id === u.suite))) void get().probeHub();
      await get().loadModels();
    },

    syncUrl() {
      if (typeof window === 'undefined' || !window.history) return;
      clearTimeout(urlTimer);
      urlTimer = setTimeout(() => {
        const s = get();
        const q = buildQuery(window.location.search, s.settings, s.suite, s.heat);
        if (q !== window.location.search) {
          window.history.replaceState(window.history.state, '', `${window.location.pathname}${q}${window.location.hash}`);
        }
      }, 120);
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
    setHeat(heat) { set({ heat }); get().syncUrl(); },
  };
};
