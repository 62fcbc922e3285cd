// State shapes of the one app store (src/store/store.ts).
import type {
  BackendInfo, Decoder, Dtype, GenerateSettings, GenerationResult, LoadProgress, Manifest,
  Objective, TokenRecord,
} from '../engine/types';

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

/** Answer of a load: what the worker's 'ready' event carries. */
export interface ReadyInfo {
  backend: BackendInfo;
  manifest: Manifest;
  notices: string[];
}

/**
 * What the store needs from the engine client (src/worker/client.ts). Kept narrow so that
 * store tests can hand in a fake.
 */
export interface EngineClient {
  load(opts: { baseUrl: string; suite: string; backend?: 'webgpu' | 'wasm'; dtype?: Dtype }): Promise<ReadyInfo>;
  generate(
    settings: GenerateSettings,
    onToken: (t: TokenRecord) => void,
    onStart?: (info: { prompt_tokens: number; prompt_truncated: boolean }) => void,
    onStatus?: (message: string) => void,
  ): Promise<GenerationResult>;
  abort(): void;
  onProgress(cb: (p: LoadProgress) => void): () => void;
  onNotice(cb: (message: string) => void): () => void;
  /** every later 'ready' too, e.g. after a lost GPU made the worker reload on WASM */
  onReady?(cb: (r: ReadyInfo) => void): () => void;
  /** errors not tied to a pending call */
  onError?(cb: (e: { message: string; file?: string }) => void): () => void;
  dispose?(): void;
  /** read the manifest (default: fetch `${baseUrl}manifest.json` from the page) */
  fetchManifest?(baseUrl: string): Promise<Manifest>;
}

export type { Objective, TokenRecord, GenerationResult, GenerateSettings, Manifest };
