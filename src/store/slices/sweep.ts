// The sweep slice: the same prompt and seed over a 3 x 3 grid of (helpfulness,
// harmlessness) weights, one short GenARM run per point, each point the mean ARM reward
// and shift of its answer. Tagged like a pair (connection.ts): a newer request, Stop or
// Cancel makes it stale, and the engine cancels its run in flight (src/worker/host.ts).
import type { StateCreator } from 'zustand';
import type { GenerationResult } from '../../engine/types';
import { currentEngine, isLatest, nextRun } from '../connection';
import { SWEEP_TOKENS, SWEEP_VALUES } from '../presets';
import { availableObjectives, errMessage, OBJECTIVES, toEngineSettings } from '../settings';
import type { AppState, SliceState, SweepPoint, SweepSlice, SweepState, Weights } from '../types';
import { cancelRegenerate, halt } from './runs';

export const IDLE_SWEEP: SweepState = { status: 'idle', grid: [], points: [], max_tokens: SWEEP_TOKENS };

export const initialSweepState: SliceState<SweepSlice> = { sweep: IDLE_SWEEP };

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

export const createSweepSlice: StateCreator<AppState, [], [], SweepSlice> = (set, get) => ({
  ...initialSweepState,

  async runSweep() {
    cancelRegenerate();
    const st = get();
    const engine = currentEngine();
    // as in generate(): the tag is taken only once the sweep will really run
    if (st.load.status !== 'ready' || !engine || !st.settings.prompt.trim()) return;
    const id = nextRun();
    const grid: Weights[] = [];
    for (const h of SWEEP_VALUES) for (const s of SWEEP_VALUES) grid.push({ helpfulness: h, harmlessness: s });
    // a pair on screen is superseded: its panels stop where they are (the engine cancels
    // its run when the sweep's first request arrives)
    set((s) => ({
      sweep: { status: 'running', grid, points: [], current: 0, max_tokens: SWEEP_TOKENS },
      base: halt(s.base),
      guided: halt(s.guided),
    }));
    const available = availableObjectives(get());
    for (let i = 0; i < grid.length; i++) {
      if (!isLatest(id)) return;
      set((s) => ({ sweep: { ...s.sweep, current: i } }));
      const g = toEngineSettings({ ...get().settings, weights: grid[i], decoder: 'genarm', max_tokens: SWEEP_TOKENS }, available);
      let r: GenerationResult;
      try {
        r = await engine.generate(g);
      } catch (e) {
        if (isLatest(id)) set((s) => ({ sweep: { ...s.sweep, status: 'error', current: undefined, error: errMessage(e).message } }));
        return;
      }
      if (!isLatest(id) || r.finish_reason === 'abort') return;
      const point = sweepPoint(grid[i], r);
      set((s) => ({ sweep: { ...s.sweep, points: [...s.sweep.points, point] } }));
    }
    if (isLatest(id)) set((s) => ({ sweep: { ...s.sweep, status: 'done', current: undefined } }));
  },

  cancelSweep() {
    if (get().sweep.status !== 'running') return;
    nextRun();
    currentEngine()?.abort();
    set((s) => ({ sweep: { ...s.sweep, status: 'cancelled', current: undefined } }));
  },
});
