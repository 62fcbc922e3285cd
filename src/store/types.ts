// State shapes of the one app store (src/store/store.ts).
import type { HubListing, HubSuiteDef } from '../engine/hub';
import type {
  AdapterFiles, AdapterInfo, BackendInfo, Decoder, Dtype, GenerateSettings, GenerationResult, LoadProgress, Manifest,
  Objective, TokenRecord,
} from '../engine/types';

/** The built-in objectives always have a weight; a user ARM's (`user:NAME`) only while it is loaded. */
export type Weights = Record<Objective, number>;

/** What the controls edit. The engine's GenerateSettings are derived from it. */
export interface UiSettings {
  prompt: string;
  weights: Weights;
  decoder: Decoder;
  temperature: number;
  /** GenerateSettings.repetition_penalty: 1 = off; the page offers 1 to 2 */
  repetition_penalty: number;
  /** GenerateSettings.no_repeat_ngram_size: 0 = off; the page offers 0 to 8 */
  no_repeat_ngram_size: number;
  max_tokens: number;
  seed: number;
  args_k: number;
  args_w: number;
  bon_n: number;
}

export type HeatMode = Objective | 'sum';

export type RunStatus = 'idle' | 'waiting' | 'running' | 'done' | 'stopped' | 'error';

/** One column of the side-by-side view. */
export interface PanelRun {
  status: RunStatus;
  tokens: TokenRecord[];
  result?: GenerationResult;
  settings?: GenerateSettings;
  /** performance.now() when the request was sent, and when its first token arrived */
  startedAt?: number;
  firstTokenAt?: number;
  /** what a long run is doing between tokens (Best-of-N sampling, RM loading) */
  statusText?: string;
  /** reused from the previous run (same prompt, seed and sampling settings) */
  cached?: boolean;
}

export type LoadStatus = 'idle' | 'manifest' | 'loading' | 'ready' | 'error';

export interface LoadState {
  status: LoadStatus;
  progress?: LoadProgress;
  backend?: BackendInfo;
  manifest?: Manifest;
  error?: { message: string; file?: string };
}

export interface Notice {
  id: string;
  level: 'info' | 'warning' | 'error';
  text: string;
}

export interface SweepPoint {
  weights: Weights;
  /** mean over the answer's tokens of each ARM's token-level reward log pi_r */
  meanReward: Partial<Record<Objective, number>>;
  /** mean over the answer's tokens of log pi_r - log pi_base */
  meanShift: Partial<Record<Objective, number>>;
  tokens: number;
  text: string;
}

export interface SweepState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  grid: Weights[];
  points: SweepPoint[];
  /** index in grid of the run in flight */
  current?: number;
  max_tokens: number;
  error?: string;
}

// ---- the store's slices (src/store/slices/), combined in one create() in store.ts ----

/**
 * A hub suite in the picker (src/engine/hub.ts): its listing, for the download size, or why it cannot
 * load. 'unchecked' until the page is asked to contact the hub (probeHub).
 */
export interface HubSuiteState {
  def: HubSuiteDef;
  status: 'unchecked' | 'checking' | 'ok' | 'unreachable' | 'error';
  listing?: HubListing;
  message?: string;
}

/** Which suite, from where, and how loading went (slices/load.ts). */
export interface LoadSlice {
  /** suite id in the manifest */
  suite?: string;
  /** backend forced by the URL (?backend=wasm|webgpu) */
  forcedBackend?: 'webgpu' | 'wasm';
  /** dtype forced by the URL (?dtype=fp32) */
  forcedDtype?: Dtype;
  baseUrl: string;
  /** the hub's address (?hub=URL; default https://huggingface.co) */
  hubUrl: string;
  /** the hub suites offered beside the manifest's, in picker order */
  hubSuites: HubSuiteState[];
  load: LoadState;
  notices: Notice[];
  loadModels(): Promise<void>;
  /**
   * list every hub suite's repo (sizes before any download; 'hub unreachable' when offline). The page
   * contacts the hub only when asked: this, called by the picker's button, by init when the URL
   * names a hub (?hub=, ?hubrepo=, a hub suite), and by loading a hub suite
   */
  probeHub(): Promise<void>;
  selectSuite(id: string): void;
  notify(level: Notice['level'], text: string, id?: string): void;
  dismissNotice(id: string): void;
}

/** The view a link reproduces, and the setters that edit it (slices/url.ts). */
export interface UrlSlice {
  settings: UiSettings;
  heat: HeatMode;
  /** the URL named a prompt: generate once the models are ready */
  autoRun: boolean;
  /** read the URL into the store, then load the models */
  init(search: string, baseUrl?: string): Promise<void>;
  /** write the view back to the URL (debounced; replaceState) */
  syncUrl(): void;
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
}

/** The base and guided answers side by side (slices/runs.ts). */
export interface RunsSlice {
  base: PanelRun;
  guided: PanelRun;
  /** the prompt of the view on screen (echoed above the answers) */
  shownPrompt?: string;
  /** the last base answer and the settings it depends on: a weight change reuses it */
  baseCache?: { key: string; run: PanelRun };
  /** generate base then guided for the current settings; the last request wins */
  generate(): Promise<void>;
  /** debounced generate, for released sliders and other live controls */
  scheduleRegenerate(): void;
  stop(): void;
}

/** The helpfulness x harmlessness weight sweep (slices/sweep.ts). */
export interface SweepSlice {
  sweep: SweepState;
  runSweep(): Promise<void>;
  cancelSweep(): void;
}

/** The user's own ARMs (slices/arms.ts): PEFT LoRA adapters added to the loaded engine. */
export interface ArmsSlice {
  /** in the order added; each is the objective `user:NAME` with its slider and heat channel */
  userArms: AdapterInfo[];
  /** an add or remove in flight, and why the last one was refused (shown as text) */
  armStatus: { busy: boolean; error?: string };
  /** send the two files to the engine; true when the ARM was added */
  addUserArm(files: AdapterFiles): Promise<boolean>;
  removeUserArm(objective: Objective): Promise<void>;
  /** a refusal found before the engine was asked (a file missing from what was dropped) */
  setArmError(message: string | undefined): void;
}

export interface AppState extends LoadSlice, UrlSlice, RunsSlice, SweepSlice, ArmsSlice {
  /** every slice back to its initial state, the engine link dropped (zustand's "How to reset state") */
  reset(): void;
}

/**
 * A slice's state without its actions: what its initial-state object holds. Optional
 * fields are listed too (as undefined), so that set(initial) clears them: set merges.
 */
export type SliceState<T> = { [K in DataKeys<T>]: T[K] };
type DataKeys<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? never : K }[keyof T];

export type { AdapterFiles, AdapterInfo, Objective, TokenRecord, GenerationResult, GenerateSettings, Manifest };
