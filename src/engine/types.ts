// Types shared by the engine, the worker protocol, the UI and the CLI.
// They are the boundary contracts of the project: change them deliberately.

/** One file referenced by the manifest. Paths are relative to the manifest's folder. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
  /**
   * a file only Node loads (the q8 graphs), built outside public/ into models-node/ (its path,
   * relative to the manifest's folder, then starts with ../../models-node/); the browser's
   * source drops such variants from the manifest (manifest.ts, browserManifest)
   */
  node_only?: boolean;
  /**
   * absolute URL to download it from instead of `path` under the manifest's folder (a hub file:
   * hub.ts); `path` then only names it (messages, progress, cache key)
   */
  url?: string;
  /**
   * a hub file kept in git rather than LFS: the hub lists its git blob id (sha1 of
   * "blob <size>\0" + bytes), which is checked instead of `sha256` (then '')
   */
  git_sha1?: string;
}

export type Dtype = 'fp32' | 'q4' | 'q8' | 'q4f16' | 'fp16';
export type ModelRole = 'base' | 'arm' | 'rm';
/** The objectives a suite's manifest can ship an ARM (and RM) for. */
export type BuiltinObjective = 'helpfulness' | 'harmlessness';
/**
 * What an ARM steers towards: a built-in objective, or a user's own ARM added at run time
 * (Engine.addAdapter, a PEFT LoRA adapter of the base: peft-adapter.ts) as `user:NAME`.
 * Weights, rewards and shifts are records keyed by it.
 */
export type Objective = BuiltinObjective | `user:${string}`;

/** Architecture facts the engine needs to build KV caches without reading config.json. */
export interface ModelArch {
  num_layers: number;
  num_kv_heads: number;
  head_dim: number;
  hidden_size: number;
  vocab_size: number;
  max_position: number;
  eos_token_ids: number[];
  /** optional (fused path): attention heads and MLP width; otherwise read from the fused graph's input shapes */
  num_heads?: number;
  intermediate_size?: number;
  /** element type of the KV cache (past_key_values.*): float32 unless the graph says float16 (a hub fp16 export: hub.ts) */
  kv_dtype?: 'float32' | 'float16';
}

/**
 * LoRA adapter of a base model, as a PEFT folder (adapter_config.json + adapter_model.safetensors,
 * peft-adapter.ts): rows of the fused graph (fused.ts), or merged into the base's weights by the
 * GGUF transport (transport.ts).
 */
export interface AdapterEntry {
  /** model id of the base this adapter was trained on */
  base: string;
  /** the name its adapter_config.json gives that base (base_model_name_or_path) */
  base_model?: string;
  rank: number;
  alpha: number;
  format: 'peft';
  /** adapter_config.json */
  config: ManifestFile;
  /** adapter_model.safetensors */
  file: ManifestFile;
  /** how the values are stored */
  dtype?: 'float32' | 'float16';
  /** the layers it adapts (the others are the base's) */
  layers?: number[];
}

/**
 * The GGUF transport of an fp32 graph: the graph without its weights, the layout saying how each
 * weight is rebuilt from a GGUF tensor (gguf-expand.ts), the GGUF itself (one file shared by every
 * graph of a suite) and, for an ARM or RM, its PEFT adapter's weights, merged while expanding. The engine expands the GGUF's blocks into the
 * graph's external data once per load (transport.ts) instead of downloading the fp32 graph.
 */
export interface TransportEntry {
  graph: ManifestFile;
  layout: ManifestFile;
  gguf: ManifestFile;
  /** an ARM's or RM's LoRA adapter file, merged into the base's weights as they are expanded */
  adapter?: ManifestFile;
}

export interface ModelEntry {
  id: string;
  role: ModelRole;
  /** for role 'arm' and 'rm' */
  objective?: Objective;
  /** human label */
  label: string;
  /** id of the model whose folder holds tokenizer.json / tokenizer_config.json */
  tokenizer: string;
  /** folder (relative to the manifest) in transformers.js layout */
  folder: string;
  arch: ModelArch;
  /** config.json, generation_config.json, tokenizer files (when this folder holds them) */
  files: ManifestFile[];
  /** onnx/model.onnx (fp32), onnx/model_q4.onnx, onnx/model_q8.onnx ... */
  variants: Partial<Record<Dtype, ManifestFile>>;
  /** the fp32 variant as GGUF blocks + a weightless graph (bases built from a GGUF) */
  transport?: TransportEntry;
  /** present for ARMs that are LoRA fine-tunes of a base in this manifest */
  adapter?: AdapterEntry;
  /** true for the tiny random-weight test models */
  tiny?: boolean;
}

/** A set of models that go together: one base, its ARMs and its trajectory RMs. */
export interface ModelSuite {
  id: string;
  label: string;
  base: string;
  /** the built-in objectives only (a user's ARM is added at run time, never listed here) */
  arms: Partial<Record<Objective, string>>;
  rms: Partial<Record<Objective, string>>;
  /** optional fused graph (the fused path, fused.ts): one batched graph for base + all ARMs */
  fused?: { variants: Partial<Record<Dtype, ManifestFile>>; rows: string[]; inputs?: string; transport?: TransportEntry };
}

export interface Manifest {
  version: 1;
  created: string;
  models: Record<string, ModelEntry>;
  suites: Record<string, ModelSuite>;
  /**
   * the suite a page loads when its URL names none (manifest.ts, defaultSuite); when
   * absent, the first suite whose base is not a tiny test model
   */
  default?: string;
  /** preferred dtype per backend, from measurements in reports/models.json */
  preferred: { webgpu: Dtype; webgpu_f16?: Dtype; wasm: Dtype; node: Dtype };
}

export type Backend = 'webgpu' | 'wasm' | 'node-cpu' | 'node-cuda';
export type Decoder = 'genarm' | 'base' | 'args' | 'bon';

export interface BackendInfo {
  backend: Backend;
  dtype: Dtype;
  /** why this backend/dtype was chosen, in words, e.g. "no WebGPU adapter: WASM, 2 threads" */
  reason: string;
  threads?: number;
  /** 'fused' when base + ARMs run as rows of one batched graph (the fused path, fused.ts) */
  path?: 'fused' | 'separate';
  /** the base's dtype where it is not `dtype` (a hub base brings its own variant: hub.ts); `dtype` is then the ARMs' */
  base_dtype?: Dtype;
  /** WebGPU only: the adapter has shader-f16 (fp16 / q4f16 graphs run: docs/BROWSER.md) */
  shader_f16?: boolean;
}

export interface GenerateSettings {
  /** chat messages; the engine applies the chat template */
  prompt: string;
  /** weight alpha_i per objective; 0 means the ARM is not run at all */
  weights: Partial<Record<Objective, number>>;
  decoder: Decoder;
  /** 0 = greedy */
  temperature: number;
  top_k: number; // 0 = off
  top_p: number; // 1 = off
  /**
   * transformers.js RepetitionPenaltyLogitsProcessor on the guided scores: every distinct
   * id of the prompt (after the chat template) and of the answer so far gets
   * score < 0 ? score * p : score / p. 1 = off (the default, the paper's setting); > 0.
   * Applies to greedy runs too, and to ARGS's candidate scores.
   */
  repetition_penalty?: number;
  /**
   * transformers.js NoRepeatNGramLogitsProcessor: no n-gram of this size occurs twice in
   * prompt + answer (the tokens that followed the last n-1 ids before get -Infinity).
   * 0 = off (the default, the paper's setting); an integer >= 0.
   */
  no_repeat_ngram_size?: number;
  seed: number;
  max_tokens: number;
  stop?: string[];
  /** ARGS: candidates per step and reward weight */
  args_k?: number;
  args_w?: number;
  /** Best-of-N: number of samples */
  bon_n?: number;
  /**
   * Run every loaded ARM at each step for the record even when its weight is 0, so
   * every token gets its rewards/shifts (costs one ARM forward per step each).
   * Default true (the UI colours every token). When false, an ARM with weight 0 is
   * not run at all and its reward is absent from the records of that run; the CLI
   * and bench set it false when measuring cost.
   */
  score_arms?: boolean;
}

export interface Alternative {
  id: number;
  text: string;
  /** probability under that distribution */
  p: number;
}

/** Everything known about one generated token. */
export interface TokenRecord {
  index: number;
  id: number;
  text: string;
  /** log pi_base(y_t | x, y_<t) */
  logprob_base: number;
  /** per objective: log pi_r(y_t | ...) (the ARM's token-level reward), for every loaded ARM */
  rewards: Partial<Record<Objective, number>>;
  /** per objective: log pi_r(y_t) - log pi_base(y_t) */
  shifts: Partial<Record<Objective, number>>;
  /** probability of the token under the distribution actually sampled from */
  p_guided: number;
  p_base: number;
  top_base: Alternative[];
  top_guided: Alternative[];
  /** wall time of this decoding step */
  ms: number;
  /** ARGS only: trajectory RM reward of the sequence ending at this token, per objective run */
  rm_rewards?: Partial<Record<Objective, number>>;
}

export interface GenerationResult {
  text: string;
  tokens: TokenRecord[];
  finish_reason: 'eos' | 'length' | 'stop' | 'abort';
  prompt_tokens: number;
  /** prompt truncated from the left to fit the context */
  prompt_truncated: boolean;
  ttft_ms: number;
  ms_per_token: number;
  tokens_per_s: number;
  backend: BackendInfo;
  settings: GenerateSettings;
  /** Best-of-N / ARGS: trajectory RM scores of the returned text */
  rm_scores?: Partial<Record<Objective, number>>;
}

export interface FileProgress {
  path: string;
  loaded: number;
  total: number;
  cached: boolean;
  done: boolean;
}

/** The site's storage as the browser reports it (navigator.storage), before a download. */
export interface StorageInfo {
  /** bytes this site uses and may use (StorageManager.estimate); null when unknown */
  usage: number | null;
  quota: number | null;
  /** persistent storage granted (the browser will not evict the cached models); null when unknown */
  persisted: boolean | null;
}

export interface LoadProgress {
  files: FileProgress[];
  loaded: number;
  total: number;
  /** 'expand': rebuilding fp32 weights from the GGUF's blocks (transport.ts) */
  phase: 'manifest' | 'download' | 'expand' | 'session' | 'warmup' | 'ready';
  /** the browser's storage estimate, known before the first download (browser only) */
  storage?: StorageInfo;
}

/**
 * A user's own ARM, as PEFT / TRL save a LoRA adapter (src/engine/peft-adapter.ts): the two
 * files of the folder, as bytes. `name` becomes the objective `user:NAME`.
 */
export interface AdapterFiles {
  name: string;
  /** adapter_config.json */
  config: Uint8Array;
  /** adapter_model.safetensors */
  weights: Uint8Array;
}

/** What Engine.addAdapter registered: the objective to weigh in GenerateSettings.weights. */
export interface AdapterInfo {
  objective: Objective;
  name: string;
  /** the adapter's own rank and alpha (zero-padded to the fused graph's rank) */
  rank: number;
  alpha: number;
  /** the base its adapter_config.json names */
  base_model: string;
  layers: number[];
  targets: string[];
}
