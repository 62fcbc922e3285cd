// The GenARM engine: loads a suite (base, ARMs, and trajectory RMs on first use),
// then runs one generation at a time with any of the four decoders. Plain
// TypeScript over an injected Platform, so it runs in a Web Worker and under Node.
import type {
  AdapterFiles, AdapterInfo, BackendInfo, Dtype, GenerateSettings, GenerationResult, LoadProgress, Manifest, ManifestFile, ModelEntry,
  Objective, TokenRecord, TransportEntry,
} from './types';
import { CausalLM, type StepModel } from './causal-lm';
import { adapterDims, choosePath, FusedModel, type InputShape, type PathChoice, type RowAdapter } from './fused';
import { ModelFileError, ProgressTracker, type FileData } from './files';
import type { InferenceSession } from './ort';
import { AdapterError, adapterName, readPeftAdapter, readSafetensors, toRowAdapter, type AdapterBase } from './peft-adapter';
import { TransportLoader, transportFiles } from './transport';
import { inlineExternalData } from './onnx-inline';
import { chooseDtype, OBJECTIVES, resolveSuite, variantFile, type SuiteModels } from './manifest';
import { UnsupportedGraphError, type Platform } from './platform';
import { parseJsonBytes, tokenizerFromJson, type ChatTokenizer } from './tokenizer';
import type { DecodeContext, DecodeOutcome, ResolvedSettings } from './decoders/context';
import { decodeGenarm } from './decoders/genarm';
import { decodeArgs } from './decoders/args';
import { decodeBestOfN } from './decoders/bon';
import { annotateWithArms } from './decoders/score';
import { disposeCache, emptyCache } from './kv-cache';
import type { GenArmGenerator, GenerateCallbacks } from './interface';
import { HubBase, hubBackend, type HubLoadSpec } from './hub';

export const DEFAULT_SETTINGS: Omit<ResolvedSettings, 'prompt'> = {
  weights: {},
  decoder: 'genarm',
  temperature: 1,
  top_k: 0,
  top_p: 1,
  // off: the paper's exact decoding, eq. 7 and nothing else; the page's defaults are in src/store/settings.ts
  repetition_penalty: 1,
  no_repeat_ngram_size: 0,
  seed: 0,
  max_tokens: 128,
  stop: [],
  args_k: 10,
  args_w: 1.0,
  bon_n: 4,
  score_arms: true,
};

export interface LoadOptions {
  suite: string;
  /** explicit dtype; otherwise from manifest.preferred for the platform's backend */
  dtype?: Dtype;
  /** dtype order to try when none is given (the platform's preference) */
  dtypePreference?: Dtype[];
  onProgress?: (p: LoadProgress) => void;
  /** load the trajectory RMs now rather than on the first ARGS / Best-of-N run */
  loadRms?: boolean;
  /** one warm-up step per model (compiles WebGPU shaders before the first token) */
  warmup?: boolean;
  /**
   * fp32 graphs from their GGUF transport where the manifest has one and the platform takes it
   * (default true): the GGUF's blocks are downloaded and expanded (transport.ts) instead of the
   * fp32 graph. false: the inline fp32 graph (comparison, bench).
   */
  transport?: boolean;
  /**
   * 'auto' (default): the fused graph (base + ARMs as rows of one batch, fused.ts) when the
   * suite has one and every ARM is an adapter of its base, else separate graphs.
   * 'fused' / 'separate' force a path (tests, bench); 'fused' where it cannot run throws.
   */
  path?: PathChoice;
  /**
   * weak-to-strong: the suite's base comes from the Hugging Face hub (hub.ts) and this site's ARMs
   * of `suite.armsFrom` guide it on the separate path; `suite` above is then `hub.suite.id`
   */
  hub?: HubLoadSpec;
}

/** The interface's callbacks (interface.ts) plus what only in-process callers ask for. */
export interface GenerateOptions extends GenerateCallbacks {
  /**
   * With score_arms false: compute every ARM's token rewards after generation, in one
   * pass per ARM, outside the timed decode (the CLI uses it so its JSON always has
   * rewards while ms_per_token measures only the decoder's own cost).
   */
  rewardsAfter?: boolean;
}

/**
 * One loaded suite. Implements the generate/abort part of GenArmEngine (interface.ts):
 * loading is the static Engine.load, since an Engine is made by whoever owns its
 * platform (the worker's EngineHost, the CLI, bench/, tests) and is never reloaded.
 */
export class Engine implements GenArmGenerator {
  private rms: Partial<Record<Objective, CausalLM>> = {};
  private rmLoading: Promise<void> | null = null;
  /** user ARMs (addAdapter), by objective */
  private readonly userArms = new Map<Objective, AdapterInfo>();
  /** the run in flight: its controller, for abort() */
  private running: AbortController | null = null;

  private constructor(
    readonly platform: Platform,
    readonly manifest: Manifest,
    readonly models: SuiteModels,
    readonly dtype: Dtype,
    private readonly dtypeWhy: string,
    readonly tokenizer: ChatTokenizer,
    readonly base: StepModel,
    readonly arms: Partial<Record<Objective, StepModel>>,
    /** the fused graph when the base and ARMs run as its rows, else null */
    readonly fused: FusedModel | null,
    private readonly pathWhy: string,
    private readonly opts: LoadOptions,
    /** a hub base's own dtype (hub.ts), when it differs from the ARMs' */
    private readonly baseDtype?: Dtype,
  ) {}

  get path(): 'fused' | 'separate' {
    return this.fused ? 'fused' : 'separate';
  }

  get backend(): BackendInfo {
    const b = this.platform.backend;
    return {
      ...b, dtype: this.dtype, path: this.path, reason: `${b.reason}; ${this.dtypeWhy}; ${this.pathWhy}`,
      ...(this.baseDtype && this.baseDtype !== this.dtype ? { base_dtype: this.baseDtype } : {}),
    };
  }

  static async load(platform: Platform, opts: LoadOptions): Promise<Engine> {
    const progress = new ProgressTracker(opts.onProgress ?? (() => {}));
    progress.setPhase('manifest');
    const ownManifest = await platform.source.readManifest();
    // a hub base (hub.ts): its suite joins the manifest, its base entry pointing at the hub's files
    const hub = opts.hub ? await openHub(platform, ownManifest, opts, progress) : null;
    const manifest = hub?.manifest ?? ownManifest;
    const models = resolveSuite(manifest, opts.suite);
    // what the browser says about its storage, shown before anything downloads
    const storage = await platform.source.storage?.().catch(() => null);
    if (storage) progress.setStorage(storage);
    const steering = [models.base, ...Object.values(models.arms)] as ModelEntry[];
    const plan = choosePath(models.suite, models.base, steering.slice(1), opts.path);
    // the fused path loads one graph (the base's weights once) plus each ARM's adapter file
    const graphs: ModelEntry[] = plan.path === 'fused'
      ? [{
          ...models.base, id: `${models.suite.id}-fused`, label: `${models.base.label} + ARMs (fused)`, files: [],
          variants: models.suite.fused!.variants, adapter: undefined, transport: models.suite.fused!.transport,
        }]
      : steering;
    const preference = opts.dtypePreference ?? platform.dtypePreference(manifest);

    const tokFiles = [models.tokenizer.json, models.tokenizer.config, ...(models.tokenizer.template ? [models.tokenizer.template] : [])];
    tokFiles.forEach((f) => progress.add(f));
    progress.setPhase('download');
    const fetchOne = async (f: ManifestFile, want: 'bytes' | 'any') => {
      const data = await platform.source.fetch(f, want, (n, cached) => progress.update(f.path, n, cached));
      progress.done(f.path);
      return data;
    };
    const [tokJson, tokConfig, tokTemplate] = (await Promise.all(tokFiles.map((f) => fetchOne(f, 'bytes')))) as Uint8Array[];
    const config = parseJsonBytes(tokConfig, tokFiles[1].path);
    if (config.chat_template === undefined && tokTemplate) config.chat_template = new TextDecoder().decode(tokTemplate);
    if (config.chat_template === undefined) {
      throw new Error(`${tokFiles[1].path} has no chat_template and the manifest lists no chat_template.jinja beside it`);
    }
    const tokenizer = tokenizerFromJson(parseJsonBytes(tokJson, tokFiles[0].path), config);
    // the ARMs' tokenizer must be the hub base's: else their log-probs index other tokens
    if (hub) await hub.checkTokenizer(tokJson, (f) => (progress.add(f), fetchOne(f, 'bytes')) as Promise<Uint8Array>);

    // The preferred dtype may hold an op this backend lacks (e.g. a 4-bit
    // GatherBlockQuantized on WASM): then the next dtype every model has is tried,
    // unless the caller asked for this dtype explicitly.
    const rejected: string[] = [];
    let lms: CausalLM[] = [];
    // a hub base brings its own variant (hub.ts, chooseHubVariant): the dtype here is the ARMs'
    const ours = graphs.filter((e) => !hub?.owns(e));
    let choice = chooseDtype(ours, preference, opts.dtype);
    // fp32 from the GGUF's blocks where the manifest has a transport and the platform takes it
    const transportOf = (e: ModelEntry, dtype: Dtype) => transportFor(opts, e, dtype);
    const transport = new TransportLoader({
      fetchBytes: (f) => fetchOne(f, 'bytes') as Promise<Uint8Array>,
      onExpand: () => progress.setPhase('expand'),
    });
    let transported = 0;
    for (;;) {
      const dtype = choice.dtype;
      const files = graphs.flatMap((e) => {
        if (hub?.owns(e)) return hub.variant.files;
        const t = transportOf(e, dtype);
        return t ? transportFiles(t) : [variantFile(e, dtype)];
      });
      files.forEach((f) => progress.add(f));
      try {
        // one model at a time: its bytes can be released before the next one downloads
        for (let i = 0; i < graphs.length; i++) {
          const t = transportOf(graphs[i], dtype);
          let session;
          if (hub?.owns(graphs[i])) {
            // (add: a variant tried after one that cannot run here joins the progress)
            session = await hub.createSession((f) => (progress.add(f), fetchOne(f, 'bytes')) as Promise<Uint8Array>, (graph, externalData) => {
              progress.setPhase('session');
              return platform.createSession(graph, graphs[i], hub.variant.dtype, { kvOnDevice: true, ...(externalData ? { externalData } : {}) });
            });
          } else {
            session = await graphSession(platform, graphs[i], dtype, true, t, transport, fetchOne, () => progress.setPhase('session'), i === graphs.length - 1);
            if (t) transported++;
          }
          lms.push(new CausalLM(platform.ort, session, graphs[i], platform.runner));
          progress.setPhase('download');
        }
        transport.release();
        break;
      } catch (e) {
        transport.release();
        if (!(e instanceof UnsupportedGraphError) || opts.dtype) throw e;
        await Promise.all(lms.map((lm) => lm.session.release()));
        lms = [];
        transported = 0;
        files.forEach((f) => progress.remove(f.path));
        const op = /implementation for (\w+)/.exec(e.message)?.[1];
        rejected.push(`${dtype} cannot run here (${op ? `no ${op} kernel` : e.message})`);
        const rest = preference.filter((d) => d !== dtype && !rejected.some((r) => r.startsWith(`${d} `)));
        choice = chooseDtype(ours, rest);
      }
    }
    const { dtype } = choice;
    const hasTransport = graphs.some((e) => e.transport);
    const tWhy = transported ? `fp32 weights expanded from the GGUF (${transported === graphs.length ? 'every' : `${transported} of ${graphs.length}`} graph${graphs.length > 1 ? 's' : ''}, ${platform.transportInline ? 'written into the graph as inline initializers' : 'as externalData'})`
      : dtype === 'fp32' && hasTransport ? 'inline fp32 graph (transport off)' : '';
    const why = [rejected.length ? `${rejected.join('; ')}: using ${dtype}` : choice.why, tWhy, hub ? `${hub.why}; ARMs ${dtype}` : ''].filter(Boolean).join('; ');
    let base: StepModel;
    const arms: Partial<Record<Objective, StepModel>> = {};
    let fused: FusedModel | null = null;
    if (plan.path === 'fused') {
      fused = await loadFused(platform, lms[0], steering, (f) => {
        progress.add(f);
        progress.setPhase('download');
        return fetchOne(f, 'bytes') as Promise<Uint8Array>;
      });
      base = fused.row(models.base.id);
      for (const e of steering.slice(1)) arms[e.objective!] = fused.row(e.id);
    } else {
      base = lms[0];
      lms.slice(1).forEach((lm) => (arms[lm.entry.objective!] = lm));
    }

    const engine = new Engine(platform, manifest, models, dtype, why, tokenizer, base, arms, fused, plan.why, { ...opts, dtypePreference: preference }, hub?.variant.dtype);
    if (opts.loadRms) await engine.ensureRms(progress);
    if (opts.warmup) {
      progress.setPhase('warmup');
      await engine.warmup();
    }
    progress.setPhase('ready');
    return engine;
  }

  /** Objectives with an ARM loaded: the suite's (in OBJECTIVES order), then the user's in the order added. */
  get objectives(): Objective[] {
    return [...OBJECTIVES.filter((o) => this.arms[o]), ...this.userArms.keys()];
  }

  /** The user ARMs added with addAdapter, in the order added. */
  get adapters(): AdapterInfo[] {
    return [...this.userArms.values()];
  }

  /**
   * A user's own ARM: a PEFT LoRA adapter of this suite's base (adapter_config.json +
   * adapter_model.safetensors, peft-adapter.ts), validated against the base (its name, layers,
   * projection shapes, dtype), turned into one more row of the fused graph (fused.ts, addRow:
   * no download) and registered as the objective `user:NAME`, which generate() then weighs like
   * the suite's own ARMs and whose reward and shift every record carries. Refused, with the
   * reason and nothing changed, for a file that does not fit; needs the fused path.
   */
  async addAdapter(files: AdapterFiles): Promise<AdapterInfo> {
    if (!this.fused) {
      throw new AdapterError(`adding your own ARM needs the fused path (the base and its ARMs as rows of one graph: src/engine/README.md, "Fused path"), but this engine runs ${this.pathWhy}`);
    }
    if (this.running) throw new Error('Engine.addAdapter: a run is in flight (abort it and await it first)');
    const name = adapterName(files.name);
    const objective: Objective = `user:${name}`;
    if (this.arms[objective]) throw new AdapterError(`an ARM named "${name}" is already loaded: remove it first, or give this one another name`);
    // the base by the name its own ARMs' adapter_config.json give it when the manifest says (a hub
    // id), else its model id; either way only the last path part is compared (peft-adapter.ts)
    const named = (Object.values(this.models.arms) as ModelEntry[])
      .map((e) => e.adapter?.base_model).find(Boolean);
    const base: AdapterBase = { name: named ?? this.models.base.id, layers: this.fused.arch.num_layers, dims: this.fused.dims };
    const peft = readPeftAdapter(files.config, files.weights, base);
    const row = toRowAdapter(peft, base, this.fused.rank);
    const entry: ModelEntry = {
      ...this.models.base, id: objective, role: 'arm', objective, label: name, files: [], variants: {},
      adapter: undefined, transport: undefined,
    };
    this.arms[objective] = this.fused.addRow(entry, row);
    const info: AdapterInfo = {
      objective, name, rank: peft.rank, alpha: peft.alpha, base_model: peft.baseModel, layers: peft.layers, targets: peft.targets,
    };
    this.userArms.set(objective, info);
    return info;
  }

  /** Remove a user ARM added with addAdapter (the suite's own ARMs stay). */
  async removeAdapter(objective: Objective): Promise<void> {
    if (!this.userArms.has(objective)) throw new AdapterError(`no user ARM ${objective} is loaded`);
    if (this.running) throw new Error('Engine.removeAdapter: a run is in flight (abort it and await it first)');
    this.fused!.removeRow(objective);
    delete this.arms[objective];
    this.userArms.delete(objective);
  }

  /** The trajectory RMs, loaded once (ARGS and Best-of-N need them). */
  async ensureRms(progress?: ProgressTracker): Promise<void> {
    if (Object.keys(this.models.rms).length === 0) {
      throw new Error(`suite '${this.models.suite.id}' has no trajectory reward models in manifest.json`);
    }
    this.rmLoading ??= (async () => {
      const tracker = progress ?? new ProgressTracker(this.opts.onProgress ?? (() => {}));
      const entries = Object.values(this.models.rms) as ModelEntry[];
      const preference = [this.dtype, ...(this.opts.dtypePreference ?? []), 'fp32', 'q8', 'q4'] as Dtype[];
      const fetchOne = async (f: ManifestFile, want: 'bytes' | 'any') => {
        tracker.add(f);
        tracker.setPhase('download');
        const data = await this.platform.source.fetch(f, want, (n, c) => tracker.update(f.path, n, c));
        tracker.done(f.path);
        return data;
      };
      // an RM travels as the base's GGUF blocks plus its adapter where the manifest has its
      // transport, as the ARMs do (transport.ts): 5 MB instead of 544 MB
      const transport = new TransportLoader({
        fetchBytes: (f) => fetchOne(f, 'bytes') as Promise<Uint8Array>,
        onExpand: () => tracker.setPhase('expand'),
      });
      try {
        for (const e of entries) {
          const { dtype } = chooseDtype([e], preference);
          const t = transportFor(this.opts, e, dtype);
          const session = await graphSession(this.platform, e, dtype, false, t, transport, fetchOne, () => tracker.setPhase('session'), false);
          // (an RM whose dtype this backend cannot run is reported, not silently swapped)
          this.rms[e.objective!] = new CausalLM(this.platform.ort, session, e, this.platform.runner);
        }
      } finally {
        transport.release();
      }
      tracker.setPhase('ready');
    })();
    try {
      await this.rmLoading;
    } catch (e) {
      this.rmLoading = null; // let a later run retry
      throw e;
    }
  }

  /** One short forward per loaded model: WebGPU compiles its shaders here, not on the first token. */
  async warmup(): Promise<void> {
    const id = this.base.arch.eos_token_ids[0] ?? 0;
    if (this.fused) {
      // every row at once: the shape a GenARM run steps
      const rows = this.fused.rows.map((_, i) => i);
      const r = await this.fused.run(rows, rows.map(() => [id]), emptyCache(this.platform.ort, this.fused.arch, rows.length));
      disposeCache(r.present);
    }
    const singles = this.fused ? Object.values(this.rms) : [this.base, ...Object.values(this.arms), ...Object.values(this.rms)];
    for (const lm of singles as StepModel[]) {
      const r = await lm.forward([[id]], emptyCache(this.platform.ort, lm.arch));
      disposeCache(r.present);
    }
  }

  resolveSettings(s: GenerateSettings): ResolvedSettings {
    const merged = { ...DEFAULT_SETTINGS, ...stripUndefined(s) } as ResolvedSettings;
    merged.stop = s.stop ?? [];
    merged.weights = { ...(s.weights ?? {}) };
    if (!(merged.temperature >= 0)) throw new Error(`temperature must be >= 0, got ${merged.temperature}`);
    if (!(merged.max_tokens >= 1)) throw new Error(`max_tokens must be >= 1, got ${merged.max_tokens}`);
    if (!(merged.top_p > 0 && merged.top_p <= 1)) throw new Error(`top_p must be in (0, 1], got ${merged.top_p}`);
    if (!(merged.repetition_penalty > 0 && Number.isFinite(merged.repetition_penalty))) {
      throw new Error(`repetition_penalty must be > 0 (1 = off), got ${merged.repetition_penalty}`);
    }
    if (!(Number.isInteger(merged.no_repeat_ngram_size) && merged.no_repeat_ngram_size >= 0)) {
      throw new Error(`no_repeat_ngram_size must be an integer >= 0 (0 = off), got ${merged.no_repeat_ngram_size}`);
    }
    for (const [o, w] of Object.entries(merged.weights)) {
      if (!Number.isFinite(w)) throw new Error(`weight of ${o} must be a number, got ${w}`);
      if (w !== 0 && merged.decoder === 'genarm' && !this.arms[o as Objective]) {
        throw new Error(`weight ${w} for ${o}, but suite '${this.models.suite.id}' has no ${o} ARM loaded`);
      }
    }
    return merged;
  }

  /**
   * Generate one response. One run at a time, since the models' caches and sessions
   * belong to one run: a call while a run is in flight is refused (rejects), not queued.
   * Ordering runs is the caller's job, and in the app one place does it: the worker's
   * EngineHost (src/worker/host.ts) aborts the run in flight and waits for it to settle
   * before the next generate. The CLI and bench/ await each run before the next.
   */
  async generate(settings: GenerateSettings, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.running) {
      throw new Error('Engine.generate: a run is already in flight (abort it and await it first: one run at a time)');
    }
    const controller = new AbortController();
    const outer = opts.signal;
    const forward = () => controller.abort();
    if (outer?.aborted) controller.abort();
    else outer?.addEventListener('abort', forward, { once: true });
    this.running = controller;
    try {
      return await this.run(settings, opts, controller.signal);
    } finally {
      outer?.removeEventListener('abort', forward);
      this.running = null;
    }
  }

  /** Stop the run in flight at its next step (it resolves with finish_reason 'abort'); no-op when idle. */
  abort(): void {
    this.running?.abort();
  }

  private async run(settings: GenerateSettings, opts: GenerateOptions, signal: AbortSignal): Promise<GenerationResult> {
    const s = this.resolveSettings(settings);
    if ((s.decoder === 'args' || s.decoder === 'bon') && Object.values(s.weights).some((w) => w)) {
      opts.onStatus?.('loading the trajectory reward models');
      await this.ensureRms();
    }
    const t0 = performance.now();
    let promptIds = this.tokenizer.encodeChat(s.prompt);
    const context = Math.min(...[this.base, ...Object.values(this.arms), ...Object.values(this.rms)].map((m) => m!.arch.max_position));
    let truncated = false;
    if (s.max_tokens >= context) s.max_tokens = context - 1;
    if (promptIds.length + s.max_tokens > context) {
      promptIds = promptIds.slice(promptIds.length + s.max_tokens - context);
      truncated = true;
    }
    opts.onStart?.({ prompt_tokens: promptIds.length, prompt_truncated: truncated });
    let firstEmit = NaN;
    const ctx: DecodeContext = {
      ort: this.platform.ort,
      tokenizer: this.tokenizer,
      settings: s,
      promptIds,
      base: this.base,
      arms: this.arms,
      rms: this.rms,
      eos: new Set(this.base.arch.eos_token_ids),
      parallel: this.platform.parallel,
      signal,
      onToken: (t) => {
        if (Number.isNaN(firstEmit)) firstEmit = performance.now();
        opts.onToken?.(t);
      },
      onStatus: opts.onStatus ?? (() => {}),
    };
    const out: DecodeOutcome =
      s.decoder === 'args' ? await decodeArgs(ctx) : s.decoder === 'bon' ? await decodeBestOfN(ctx) : await decodeGenarm(ctx);
    const t1 = performance.now();

    if (opts.rewardsAfter && !s.score_arms && out.tokens.length) {
      const missing = Object.fromEntries(
        this.objectives.filter((o) => out.tokens[0].rewards[o] === undefined).map((o) => [o, this.arms[o]!]),
      );
      await annotateWithArms(this.platform.ort, missing, promptIds, out.tokens);
    }
    return withRate({
      text: out.text,
      tokens: out.tokens,
      finish_reason: out.finish_reason,
      prompt_tokens: promptIds.length,
      prompt_truncated: truncated,
      ttft_ms: (Number.isNaN(firstEmit) ? t1 : firstEmit) - t0,
      ms_per_token: msPerToken(out.tokens, s.decoder === 'bon' ? t1 - t0 : undefined),
      tokens_per_s: 0,
      backend: this.backend,
      settings: { ...settings, ...s },
      ...(out.rm_scores ? { rm_scores: out.rm_scores } : {}),
    });
  }

  async dispose(): Promise<void> {
    if (this.fused) await this.fused.release();
    const models = this.fused ? Object.values(this.rms) : [this.base, ...Object.values(this.arms), ...Object.values(this.rms)];
    for (const lm of models as CausalLM[]) {
      await lm.session.release();
    }
    this.platform.dispose?.();
  }
}

function withRate(r: GenerationResult): GenerationResult {
  r.tokens_per_s = r.ms_per_token > 0 ? 1000 / r.ms_per_token : 0;
  return r;
}

/**
 * Decode cost per token: the mean step time after the first token (the first one
 * carries the prompt's prefill, reported as ttft_ms). Best-of-N passes its whole wall
 * time instead, spread over the winner's tokens, since it pays for N samples.
 */
function msPerToken(tokens: TokenRecord[], wall?: number): number {
  if (tokens.length === 0) return 0;
  if (wall !== undefined) return wall / tokens.length;
  if (tokens.length === 1) return tokens[0].ms;
  let sum = 0;
  for (let i = 1; i < tokens.length; i++) sum += tokens[i].ms;
  return sum / (tokens.length - 1);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The fused graph's rows: the base (zero adapter) and each ARM, whose adapter file is
 * fetched and transposed into the graph's layout here, once per load. The adapter
 * input tensors are made through the platform (GPU buffers under WebGPU).
 */
/** The GGUF transport to load an fp32 graph from, where the manifest has one and the options do not turn it off. */
function transportFor(opts: Pick<LoadOptions, 'transport'>, e: ModelEntry, dtype: Dtype): TransportEntry | undefined {
  return opts.transport !== false && dtype === 'fp32' ? e.transport : undefined;
}

/**
 * One graph's session: from its transport (the weights expanded, handed to onnxruntime as
 * externalData or, where the platform says `transportInline`, written into the graph; then
 * dropped) or from its inline file. `lastGraph`: nothing later in this load needs the GGUF, so
 * its bytes go before onnxruntime makes its own copy of the weights.
 */
async function graphSession(
  platform: Platform, e: ModelEntry, dtype: Dtype, kvOnDevice: boolean, t: TransportEntry | undefined, transport: TransportLoader,
  fetchOne: (f: ManifestFile, want: 'bytes' | 'any') => Promise<FileData>, onSession: () => void, lastGraph: boolean,
): Promise<InferenceSession> {
  if (!t) {
    const data = await fetchOne(variantFile(e, dtype), 'any');
    onSession();
    return platform.createSession(data, e, dtype, { kvOnDevice });
  }
  if (platform.transportInline) {
    // WebGPU: the weights written into the graph, one complete ModelProto, no externalData
    // (onnx-inline.ts, docs/BROWSER.md); the expansion is gone before the session takes the bytes
    const model = await inlinedModel(transport, t, lastGraph);
    onSession();
    return platform.createSession(model, e, dtype, { kvOnDevice });
  }
  const g = await transport.load(t);
  if (lastGraph) transport.release();
  onSession();
  const session = await platform.createSession(g.graph, e, dtype, { kvOnDevice, externalData: g.externalData });
  g.release();
  return session;
}

/**
 * A transport graph as one complete ModelProto, its weights inline (onnx-inline.ts). The expansion
 * (and, for the last graph, the GGUF) is released here: only the returned bytes outlive this call,
 * so the peak is the expanded weights + the model while it is written.
 */
async function inlinedModel(transport: TransportLoader, t: TransportEntry, lastGraph: boolean): Promise<Uint8Array> {
  const g = await transport.load(t);
  if (lastGraph) transport.release();
  const [{ path, data }] = g.externalData;
  try {
    return inlineExternalData(g.graph, data, { location: path }).model;
  } catch (e) {
    throw new ModelFileError(`${t.graph.path}: ${(e as Error).message}`, t.graph.path);
  } finally {
    g.release();
  }
}

/**
 * The fused graph's projection shapes: from its input shapes where the runtime reports them, else
 * from the architecture with the MLP width read off an adapter's down_proj A [r, intermediate].
 */
function fusedDims(base: ModelEntry, rank: number, weights: Uint8Array, shapes?: readonly InputShape[]): ReturnType<typeof adapterDims> {
  let arch = base.arch;
  if (!arch.intermediate_size) {
    const down = [...readSafetensors(weights)].find(([k]) => k.includes('.mlp.down_proj.lora_A'));
    if (down) arch = { ...arch, intermediate_size: down[1].shape[1] };
  }
  const h = arch.hidden_size, kv = arch.num_kv_heads * arch.head_dim, q = arch.num_heads ? arch.num_heads * arch.head_dim : h;
  const floatsPerRow = arch.num_layers * rank * (7 * h + 2 * q + 2 * kv + 3 * (arch.intermediate_size ?? 0));
  return adapterDims(arch, rank, floatsPerRow, shapes);
}

async function loadFused(
  platform: Platform, lm: CausalLM, steering: ModelEntry[], fetchBytes: (f: ManifestFile) => Promise<Uint8Array>,
): Promise<FusedModel> {
  const [base, ...arms] = steering;
  const rank = Math.max(...arms.map((a) => a.adapter!.rank));
  const shapes = (lm.session as unknown as { inputMetadata?: readonly InputShape[] }).inputMetadata;
  const adapters: (RowAdapter | null)[] = [null];
  let dims: ReturnType<typeof adapterDims> | null = null;
  for (const a of arms) {
    // each ARM is a PEFT folder, read and checked as a user's own would be (peft-adapter.ts)
    const [config, weights] = [await fetchBytes(a.adapter!.config), await fetchBytes(a.adapter!.file)];
    dims ??= fusedDims(base, rank, weights, shapes);
    const fit: AdapterBase = { name: base.id, layers: base.arch.num_layers, dims };
    try {
      adapters.push(toRowAdapter(readPeftAdapter(config, weights, fit), fit, rank));
    } catch (e) {
      throw new ModelFileError(`${a.adapter!.file.path}: ${(e as Error).message}`, a.adapter!.file.path);
    }
  }
  const make = platform.residentTensor ?? (async (data: Float32Array, d: number[]) => new platform.ort.Tensor('float32', data, d));
  return new FusedModel(lm, steering, adapters, rank, dims!, make);
}

/** A hub base for Engine.load (hub.ts): its config.json read through the platform's source, as every file is. */
function openHub(platform: Platform, manifest: Manifest, opts: LoadOptions, progress: ProgressTracker): Promise<HubBase> {
  const spec = opts.hub!;
  if (spec.suite.id !== opts.suite) throw new Error(`load: suite '${opts.suite}' but the hub suite is '${spec.suite.id}'`);
  const pref = platform.dtypePreference(manifest);
  const shaderF16 = pref.includes('q4f16') || pref.includes('fp16');
  return HubBase.open(manifest, spec, hubBackend(platform.backend.backend), shaderF16, opts.dtype, async (f) => {
    progress.add(f);
    const data = await platform.source.fetch(f, 'bytes', (n, cached) => progress.update(f.path, n, cached));
    progress.done(f.path);
    return data as Uint8Array;
  });
}
