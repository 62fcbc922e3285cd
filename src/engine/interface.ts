// The one shape of "an engine" for everything above the decoders, after WebLLM's
// MLCEngineInterface (implemented by MLCEngine in-process and by WebWorkerMLCEngine over
// postMessage): the worker client (src/worker/client.ts) implements all of GenArmEngine,
// the in-process Node Engine (engine.ts) its generate/abort part, the store
// (src/store/) talks to GenArmEngine only, and its test stand-in
// (src/store/fake-engine.ts) is the worker client over the real EngineHost.
import type { HubLoadSpec } from './hub';
import type {
  AdapterFiles, AdapterInfo, BackendInfo, Dtype, GenerateSettings, GenerationResult, LoadProgress, Manifest, Objective, TokenRecord,
} from './types';

/** What the prompt became once tokenised (chat template applied, maybe truncated). */
export interface PromptInfo {
  prompt_tokens: number;
  /** the prompt was cut from the left to fit the context (src/engine/README.md, "Records") */
  prompt_truncated: boolean;
}

/** Everything a caller can hear from one run, and the one way to cancel it from outside. */
export interface GenerateCallbacks {
  /** once the prompt is tokenised, before the first token */
  onStart?: (info: PromptInfo) => void;
  /** each token's record as it is chosen; only ever this run's tokens */
  onToken?: (t: TokenRecord) => void;
  /** what a long run is doing between tokens (Best-of-N sampling, RM loading) */
  onStatus?: (message: string) => void;
  /** aborting it ends this run at its next step, resolving with finish_reason 'abort' */
  signal?: AbortSignal;
}

/** The answer of a load: the worker's 'ready' event (src/worker/protocol.ts). */
export interface Ready {
  backend: BackendInfo;
  manifest: Manifest;
  /** what the loader had to say on the way (a dtype fallback, a cache that refused a file) */
  notices: string[];
}

/** What the page may ask a load for; the worker's LoadRequest is this plus its type tag. */
export interface EngineLoadOptions {
  /** base URL of manifest.json, default '/models/' */
  baseUrl?: string;
  /** suite id from the manifest */
  suite: string;
  /** force a backend (tests): otherwise WebGPU when available, else WASM */
  backend?: 'webgpu' | 'wasm';
  /** force a dtype; otherwise manifest.preferred for the chosen backend */
  dtype?: Dtype;
  /** WASM threads (default: all cores when cross-origin isolated) */
  threads?: number;
  /** load the trajectory RMs now instead of on the first ARGS / Best-of-N run */
  loadRms?: boolean;
  /** 'auto' (default): the fused graph when the suite has one; 'fused' / 'separate' force a path (tests, bench) */
  path?: 'auto' | 'fused' | 'separate';
  /** ORT log level for the sessions; 0 logs the execution provider of every node (docs/BROWSER.md) */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * fp32 graphs from their GGUF transport (default true, every backend): the GGUF's blocks are
   * downloaded and expanded, not the fp32 graph. false loads the inline fp32 graph (comparison,
   * bench). How the weights reach onnxruntime per backend: docs/BROWSER.md.
   */
  transport?: boolean;
  /**
   * Let onnxruntime pre-pack constant MatMul weights at session creation (default: on, unless the
   * device reports 4 GB of memory or less). Pre-packing keeps a packed copy beside each weight, and
   * WASM memory never shrinks: false trades per-token speed (+26%) for the renderer's peak memory
   * (-45%; bench/transport-load.ts measures both). Browser platform, WASM only.
   */
  prepack?: boolean;
  /**
   * weak-to-strong: a base from the Hugging Face hub guided by this site's ARMs (src/engine/hub.ts);
   * `suite` is then the hub suite's id
   */
  hub?: HubLoadSpec;
}

/** A failure the engine reports, naming the model file at fault when there is one. */
export class EngineError extends Error {
  constructor(message: string, readonly file?: string, readonly recoverable = true) {
    super(message);
    this.name = 'EngineError';
  }
}

export type Unsubscribe = () => void;

/**
 * A GenARM engine as the page sees it.
 *
 * One run at a time, owned by the engine (the worker's EngineHost, src/worker/host.ts):
 * a generate while another run is in flight cancels that run (its promise resolves with
 * finish_reason 'abort'; a request superseded before it started resolves so without
 * running), and each run's callbacks see only its own events. A caller therefore never
 * waits for a run to settle before starting the next; it only needs to know which of
 * its requests is the newest.
 */
export interface GenArmEngine {
  /** Load a suite; resolves with the first 'ready', rejects with an EngineError naming a bad file. */
  load(opts: EngineLoadOptions): Promise<Ready>;
  /** Generate one response (the run in flight, if any, is cancelled first). */
  generate(settings: GenerateSettings, callbacks?: GenerateCallbacks): Promise<GenerationResult>;
  /** Stop the run in flight at its next step; it resolves with what it has. No-op when idle. */
  abort(): void;
  /**
   * Add a user's own ARM, a PEFT LoRA adapter of the loaded base (src/engine/peft-adapter.ts),
   * as the objective `user:NAME` (the run in flight, if any, is cancelled first). Rejects with
   * the reason (wrong base, shapes, dtype, malformed files, no fused path) and changes nothing.
   * A new load drops the user's ARMs.
   */
  addAdapter(files: AdapterFiles): Promise<AdapterInfo>;
  /** Remove a user ARM added with addAdapter. */
  removeAdapter(objective: Objective): Promise<void>;
  onProgress(cb: (p: LoadProgress) => void): Unsubscribe;
  onNotice(cb: (message: string) => void): Unsubscribe;
  /** every 'ready', a later one too (after a lost GPU the worker reloads on WASM: src/engine/README.md, "Backends") */
  onReady(cb: (r: Ready) => void): Unsubscribe;
  /** errors not tied to a pending call */
  onError(cb: (e: EngineError) => void): Unsubscribe;
  /** end the engine: pending calls reject, nothing more is heard */
  dispose(): void;
}

/**
 * The part of GenArmEngine that the in-process Node Engine (engine.ts) implements. Its
 * load is the static Engine.load(platform, opts): an Engine is one loaded suite, made by
 * the caller that owns the platform (the CLI, bench/, tests, the worker's EngineHost), so
 * there is no instance to reload and no event stream to subscribe to. Its generate
 * refuses a second run while one is in flight instead of cancelling it: cancelling and
 * ordering runs is the EngineHost's, which calls the Engine one run at a time.
 */
export type GenArmGenerator = Pick<GenArmEngine, 'generate' | 'abort' | 'addAdapter' | 'removeAdapter'>;
