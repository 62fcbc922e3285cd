// The one app store (zustand), in slices combined in one create() (zustand's "Slices
// pattern"): load (slices/load.ts), the URL's view and its setters (slices/url.ts), the
// answer pair (slices/runs.ts), the sweep (slices/sweep.ts) and the user's ARMs (slices/arms.ts). Components select what
// they render; all inference happens behind a GenArmEngine (src/engine/interface.ts),
// whose worker host owns the order of runs: the store only tags its requests.
import { create } from 'zustand';
import { cancelUrlWrite, createUrlSlice, initialUrlState } from './slices/url';
import { createLoadSlice, initialLoadState } from './slices/load';
import { cancelRegenerate, createRunsSlice, initialRunsState } from './slices/runs';
import { createSweepSlice, initialSweepState } from './slices/sweep';
import { createArmsSlice, initialArmsState } from './slices/arms';
import { disconnect, nextRun } from './connection';
import type { AppState } from './types';

export type { AppState } from './types';
export { configureEngine, type EngineConfig } from './connection';
export { DEBOUNCE_MS } from './slices/runs';
export { sweepPoint } from './slices/sweep';
export {
  availableObjectives, clampNgram, clampPenalty, DEFAULT_SETTINGS, hasRewardModels, isUserObjective, NGRAM_RANGE, objectiveName, OBJECTIVES,
  PAPER_REPETITION, randomSeed, REPETITION_DEFAULTS, REPETITION_PENALTY_RANGE, toEngineSettings,
} from './settings';

export const useApp = create<AppState>()((...a) => ({
  ...createLoadSlice(...a),
  ...createUrlSlice(...a),
  ...createRunsSlice(...a),
  ...createSweepSlice(...a),
  ...createArmsSlice(...a),

  // zustand's "How to reset state": each slice's initial state, set back in one step;
  // the module-level plumbing (engine link, run tag, timers) is dropped with it
  reset() {
    nextRun();
    cancelRegenerate();
    cancelUrlWrite();
    disconnect();
    a[0]({ ...initialLoadState, ...initialUrlState, ...initialRunsState, ...initialSweepState, ...initialArmsState });
  },
}));
