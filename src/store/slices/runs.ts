// The runs slice: the base and guided answers side by side. A pair is the base run then
// the guided run, with one tag (connection.ts); a newer request or Stop takes a new tag,
// after which the pair's events and results are ignored. Cancelling the run itself is the
// engine's: its host aborts the run in flight when the next request arrives
// (src/worker/host.ts, src/engine/interface.ts), so nothing here waits for a run to settle.
import type { StateCreator } from 'zustand';
import type { GenerateSettings, GenerationResult } from '../../engine/types';
import { currentEngine, isLatest, nextRun } from '../connection';
import { availableObjectives, errMessage, toEngineSettings } from '../settings';
import type { AppState, PanelRun, RunsSlice, SliceState } from '../types';

/** Live regeneration waits this long after the last released control. */
export const DEBOUNCE_MS = 300;

export const IDLE_PANEL: PanelRun = { status: 'idle', tokens: [] };

export const initialRunsState: SliceState<RunsSlice> = {
  base: IDLE_PANEL,
  guided: IDLE_PANEL,
  shownPrompt: undefined,
  baseCache: undefined,
};

let debounceTimer: ReturnType<typeof setTimeout> | undefined;

/** Drop a pending live regeneration (a new request, Stop, reset). */
export function cancelRegenerate(): void {
  clearTimeout(debounceTimer);
}

/** A panel still waiting or running shows as stopped where it is. */
export const halt = (p: PanelRun): PanelRun =>
  p.status === 'running' || p.status === 'waiting' ? { ...p, status: 'stopped' } : p;

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The base-only run depends only on these: a weight change reuses it. */
function baseKey(g: GenerateSettings): string {
  return JSON.stringify([
    g.prompt, g.seed, g.temperature, g.top_k, g.top_p, g.repetition_penalty, g.no_repeat_ngram_size, g.max_tokens, g.score_arms,
  ]);
}

export const createRunsSlice: StateCreator<AppState, [], [], RunsSlice> = (set, get) => {
  const setPanel = (panel: 'base' | 'guided', fn: (p: PanelRun) => PanelRun) =>
    set((s) => ({ [panel]: fn(s[panel]) }) as Pick<AppState, 'base' | 'guided'>);

  const truncatedNotice = () =>
    get().notify(
      'warning',
      'The prompt was too long for the model and was truncated from the left: only its end was used.',
      'prompt-truncated',
    );

  /** run one request into one panel; null when stale, stopped or failed */
  const runOne = async (
    panel: 'base' | 'guided', settings: GenerateSettings, id: number,
  ): Promise<GenerationResult | null> => {
    const engine = currentEngine();
    if (!engine) return null;
    setPanel(panel, () => ({ status: 'running', tokens: [], settings, startedAt: now() }));
    try {
      const result = await engine.generate(settings, {
        onToken: (t) => {
          if (isLatest(id)) setPanel(panel, (p) => ({ ...p, tokens: [...p.tokens, t], firstTokenAt: p.firstTokenAt ?? now() }));
        },
        onStart: (info) => {
          if (isLatest(id) && info.prompt_truncated) truncatedNotice();
        },
        onStatus: (statusText) => {
          if (isLatest(id)) setPanel(panel, (p) => ({ ...p, statusText }));
        },
      });
      if (!isLatest(id)) return null;
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
      if (!isLatest(id)) return null;
      const { message, file } = errMessage(e);
      setPanel(panel, (p) => ({ ...p, status: 'error', statusText: undefined }));
      get().notify('error', `Generation failed${file ? ` (${file})` : ''}: ${message}`, 'generate-error');
      return null;
    }
  };

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
    const reuse = st.baseCache && st.baseCache.key === key ? st.baseCache.run : null;
    set((s) => ({
      shownPrompt: s.settings.prompt,
      base: reuse ? { ...reuse, cached: true } : { status: 'waiting', tokens: [] },
      guided: { status: 'waiting', tokens: [] },
      notices: s.notices.filter((n) => n.id !== 'prompt-truncated' && n.id !== 'generate-error'),
    }));
    let baseRun = reuse;
    if (!reuse) {
      const r = await runOne('base', b, id);
      if (!r || !isLatest(id)) {
        if (isLatest(id)) setPanel('guided', () => IDLE_PANEL);
        return;
      }
      baseRun = get().base;
      set({ baseCache: { key, run: baseRun } });
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
    ...initialRunsState,

    async generate() {
      cancelRegenerate();
      const st = get();
      // a request that does nothing must not take a new tag: that would make the run in
      // flight stale (its panel stuck at 'running') without the engine cancelling it
      if (st.load.status !== 'ready' || !currentEngine() || !st.settings.prompt.trim()) return;
      const id = nextRun();
      if (st.sweep.status === 'running') set((s) => ({ sweep: { ...s.sweep, status: 'cancelled', current: undefined } }));
      // no abort and no wait here: the engine cancels what runs when this pair's first request arrives
      await runPair(id).catch(() => {});
    },

    scheduleRegenerate() {
      const s = get();
      if (s.load.status !== 'ready' || s.sweep.status === 'running') return;
      // only a view on screen is kept live; the first run is an explicit Generate
      if (s.guided.status === 'idle' && s.base.status === 'idle') return;
      cancelRegenerate();
      debounceTimer = setTimeout(() => { void get().generate(); }, DEBOUNCE_MS);
    },

    stop() {
      nextRun();
      cancelRegenerate();
      currentEngine()?.abort();
      set((s) => ({
        base: halt(s.base),
        guided: halt(s.guided),
        sweep: s.sweep.status === 'running' ? { ...s.sweep, status: 'cancelled', current: undefined } : s.sweep,
      }));
    },
  };
};
