// The arms slice: the user's own ARMs, PEFT LoRA adapters of the loaded base sent to the
// engine (GenArmEngine.addAdapter, src/engine/peft-adapter.ts). Each one added becomes the
// objective `user:NAME`: a weight at 0 (so adding changes no answer), a slider, a heat channel.
// They live as long as the load: a new load (another suite, a reload) starts without them, and
// the URL does not carry them (url.ts: only the built-in weights), since files cannot be reloaded.
import type { StateCreator } from 'zustand';
import { currentEngine } from '../connection';
import { errMessage } from '../settings';
import type { AppState, ArmsSlice, SliceState } from '../types';

export const initialArmsState: SliceState<ArmsSlice> = {
  userArms: [],
  armStatus: { busy: false },
};

export const createArmsSlice: StateCreator<AppState, [], [], ArmsSlice> = (set, get) => ({
  ...initialArmsState,

  async addUserArm(files) {
    const engine = currentEngine();
    if (!engine || get().load.status !== 'ready') {
      set({ armStatus: { busy: false, error: 'Load the models first: an ARM is added to the loaded base.' } });
      return false;
    }
    set({ armStatus: { busy: true } });
    try {
      const info = await engine.addAdapter(files);
      if (engine !== currentEngine()) return false; // a new load came meanwhile: it has no such ARM
      set((s) => ({
        userArms: [...s.userArms.filter((a) => a.objective !== info.objective), info],
        settings: { ...s.settings, weights: { ...s.settings.weights, [info.objective]: 0 } },
        armStatus: { busy: false },
        // the base column's records may be reused only with the same ARMs scoring them
        baseCache: undefined,
      }));
      // the engine cancelled the run in flight for it: a view on screen comes back, now scored by it too
      get().scheduleRegenerate();
      return true;
    } catch (e) {
      if (engine === currentEngine()) set({ armStatus: { busy: false, error: errMessage(e).message } });
      return false;
    }
  },

  async removeUserArm(objective) {
    const engine = currentEngine();
    const forget = () =>
      set((s) => {
        const weights = { ...s.settings.weights };
        delete weights[objective];
        return {
          userArms: s.userArms.filter((a) => a.objective !== objective),
          settings: { ...s.settings, weights },
          heat: s.heat === objective ? 'sum' : s.heat,
          baseCache: undefined,
        };
      });
    if (!engine) { forget(); return; }
    set({ armStatus: { busy: true } });
    try {
      await engine.removeAdapter(objective);
      if (engine !== currentEngine()) return;
      forget();
      set({ armStatus: { busy: false } });
      get().scheduleRegenerate();
    } catch (e) {
      if (engine === currentEngine()) set({ armStatus: { busy: false, error: errMessage(e).message } });
    }
  },

  setArmError(message) {
    set({ armStatus: { busy: false, error: message } });
  },
});
