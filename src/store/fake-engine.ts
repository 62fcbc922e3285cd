// A stand-in engine for store tests and for the dev server's ?engine=fake (UI work without
// models): the real worker client (src/worker/client.ts) over the real EngineHost
// (src/worker/host.ts) in this thread (src/worker/in-process.ts), with a deterministic
// model in place of engine.ts (tokens depend only on the seed, the prompt and the
// weights). So the store is tested through GenArmEngine (src/engine/interface.ts) with
// runs ordered where the app orders them: in the host.
import type {
  AdapterFiles, AdapterInfo, Alternative, BackendInfo, GenerateSettings, GenerationResult, LoadProgress, Manifest, Objective, TokenRecord,
} from '../engine/types';
import { AdapterError, adapterName, readSafetensors } from '../engine/peft-adapter';
import type { GenerateCallbacks } from '../engine/interface';
import { ModelFileError } from '../engine/files';
import { WorkerEngine } from '../worker/client';
import { EngineHost, type EngineLoader, type HostedEngine } from '../worker/host';
import { inProcessPort } from '../worker/in-process';

const WORDS = [' The', ' a', ' good', ' idea', ' is', ' to', ' sleep', ' early', ',', ' and', ' avoid', ' screens',
  ' before', ' bed', '.', ' You', ' can', ' also', ' try', ' reading', ' <script>', ' harm', ' help', '\n', ' safe'];

function rng(seed: number) {
  let s = (seed >>> 0) || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

export const FAKE_MANIFEST: Manifest = {
  version: 1,
  created: 'fake',
  models: {},
  suites: {
    fake: { id: 'fake', label: 'Fake (no models)', base: 'b', arms: { helpfulness: 'h', harmlessness: 's' }, rms: {} },
  },
  preferred: { webgpu: 'fp32', wasm: 'fp32', node: 'fp32' },
};

export interface FakeOptions {
  msPerToken?: number;
  /** the load fails naming this file, as a bad sha256 would (files.ts, ModelFileError) */
  failLoad?: { message: string; file: string };
  backend?: 'webgpu' | 'wasm';
  /** a prompt longer than this many characters comes back truncated */
  truncateOver?: number;
}

/** The manifest the fake loads; pass it to configureEngine's readManifest. */
export const readFakeManifest = async (): Promise<Manifest> => FAKE_MANIFEST;

/**
 * GenArmEngine, as the worker client: `calls` lists the settings of every run the host
 * really started, in order (a request superseded before it started never runs, as with
 * the real engine); `requests` every generate sent.
 */
export class FakeEngine extends WorkerEngine {
  readonly calls: GenerateSettings[];
  /** the settings of every generate the store sent, started or not */
  readonly requests: GenerateSettings[] = [];

  constructor(opts: FakeOptions = {}) {
    const calls: GenerateSettings[] = [];
    super(inProcessPort((post) => new EngineHost(fakeLoader(opts, calls), post)));
    this.calls = calls;
  }

  override generate(settings: GenerateSettings, callbacks?: GenerateCallbacks): Promise<GenerationResult> {
    this.requests.push(structuredClone(settings));
    return super.generate(settings, callbacks);
  }
}

function fakeLoader(opts: FakeOptions, calls: GenerateSettings[]): EngineLoader {
  return async (req, { onProgress }) => {
    const files = ['base/onnx/model.onnx', 'arm-help/onnx/model.onnx', 'arm-harm/onnx/model.onnx'];
    const total = 3 * 1_000_000;
    for (let step = 0; step <= 4; step++) {
      const p: LoadProgress = {
        files: files.map((path) => ({ path, loaded: step * 250_000, total: 1_000_000, cached: false, done: step === 4 })),
        loaded: step * 750_000, total, phase: step === 4 ? 'ready' : 'download',
      };
      onProgress(p);
      await sleep(5);
    }
    if (opts.failLoad) throw new ModelFileError(opts.failLoad.message, opts.failLoad.file);
    if (!FAKE_MANIFEST.suites[req.suite]) throw new Error(`suite '${req.suite}' is not in manifest.json (it has: fake)`);
    const be = opts.backend ?? 'wasm';
    return new FakeModel(opts, calls, {
      backend: be, dtype: 'fp32', reason: be === 'wasm' ? 'fake engine: no WebGPU adapter' : 'fake engine', threads: 2,
    });
  };
}

/**
 * In place of engine.ts's Engine, and as strict: a run while another is in flight is
 * refused, so a test that passes proves the host never overlapped two runs.
 */
class FakeModel implements HostedEngine {
  readonly manifest = FAKE_MANIFEST;
  private running = false;
  /** user ARMs (addAdapter): their objectives bend the choice and score every token, as the suite's do */
  private readonly user = new Map<Objective, AdapterInfo>();

  /**
   * As strict as Engine.addAdapter about what it can check without a base: adapter_config.json
   * must be a LoRA config naming the fake base ('b'), the weights a safetensors file (peft-adapter.ts
   * reads its header); the name is Engine's (adapterName).
   */
  async addAdapter(files: AdapterFiles): Promise<AdapterInfo> {
    if (this.running) throw new Error('fake engine: a run is in flight');
    const name = adapterName(files.name);
    const objective: Objective = `user:${name}`;
    if (this.user.has(objective)) throw new AdapterError(`an ARM named "${name}" is already loaded: remove it first, or give this one another name`);
    let cfg: { peft_type?: string; r?: number; lora_alpha?: number; base_model_name_or_path?: string };
    try {
      cfg = JSON.parse(new TextDecoder().decode(files.config));
    } catch (e) {
      throw new AdapterError(`adapter_config.json: not JSON (${(e as Error).message})`);
    }
    if (cfg.peft_type !== 'LORA') throw new AdapterError(`adapter_config.json: peft_type ${JSON.stringify(cfg.peft_type)}, only LORA adapters are ARMs`);
    if (cfg.base_model_name_or_path !== 'b') throw new AdapterError(`adapter_config.json: trained on ${JSON.stringify(cfg.base_model_name_or_path)}, this base is b`);
    readSafetensors(files.weights);
    const info: AdapterInfo = { objective, name, rank: cfg.r ?? 8, alpha: cfg.lora_alpha ?? 16, base_model: 'b', layers: [0], targets: ['q_proj'] };
    this.user.set(objective, info);
    return info;
  }

  async removeAdapter(objective: Objective): Promise<void> {
    if (!this.user.delete(objective)) throw new AdapterError(`no user ARM ${objective} is loaded`);
  }
  constructor(private opts: FakeOptions, private calls: GenerateSettings[], readonly backend: BackendInfo) {}

  async generate(s: GenerateSettings, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    if (this.running) throw new Error('fake engine: a run is already in flight (one run at a time)');
    this.running = true;
    try {
      return await this.run(s, callbacks);
    } finally {
      this.running = false;
    }
  }

  private async run(s: GenerateSettings, { onStart, onToken, signal }: GenerateCallbacks): Promise<GenerationResult> {
    this.calls.push(structuredClone(s));
    const truncated = this.opts.truncateOver !== undefined && s.prompt.length > this.opts.truncateOver;
    onStart?.({ prompt_tokens: s.prompt.length, prompt_truncated: truncated });
    const r = rng(s.seed * 7919 + s.prompt.length);
    const tokens: TokenRecord[] = [];
    const t0 = performance.now();
    let finish: GenerationResult['finish_reason'] = 'length';
    const guided = s.decoder !== 'base';
    const wh = guided ? s.weights.helpfulness ?? 0 : 0;
    const ws = guided ? s.weights.harmlessness ?? 0 : 0;
    for (const o of Object.keys(s.weights) as Objective[]) {
      if (o.startsWith('user:') && s.weights[o] && !this.user.has(o)) throw new Error(`weight ${s.weights[o]} for ${o}, but suite 'fake' has no ${o} ARM loaded`);
    }
    const wu = guided ? [...this.user.keys()].reduce((a, o) => a + (s.weights[o] ?? 0), 0) : 0;
    for (let i = 0; i < s.max_tokens; i++) {
      await sleep(this.opts.msPerToken ?? 2);
      if (signal?.aborted) { finish = 'abort'; break; }
      const u = r();
      // the weights bend the choice, so that a weight change changes the text
      const id = Math.floor((u + 0.37 * wh + 0.61 * ws + 0.23 * wu) * 1000) % WORDS.length;
      const rew = (o: Objective) => Math.log(0.05 + ((id * (o === 'helpfulness' ? 13 : o === 'harmlessness' ? 29 : 5)) % 17) / 20);
      const logprob_base = Math.log(0.05 + ((id * 7) % 17) / 20);
      const alts: Alternative[] = [0, 1, 2, 3, 4].map((k) => ({ id: (id + k) % WORDS.length, text: WORDS[(id + k) % WORDS.length], p: 0.4 / (k + 1) }));
      const scored = s.score_arms ?? true;
      const rewards: TokenRecord['rewards'] = {};
      const shifts: TokenRecord['shifts'] = {};
      if (scored || wh) { rewards.helpfulness = rew('helpfulness'); shifts.helpfulness = rewards.helpfulness - logprob_base; }
      if (scored || ws) { rewards.harmlessness = rew('harmlessness'); shifts.harmlessness = rewards.harmlessness - logprob_base; }
      for (const o of this.user.keys()) {
        if (scored || s.weights[o]) { rewards[o] = rew(o); shifts[o] = rewards[o]! - logprob_base; }
      }
      const t: TokenRecord = {
        index: i, id, text: WORDS[id], logprob_base, rewards, shifts,
        p_guided: 0.4, p_base: Math.exp(logprob_base), top_base: alts, top_guided: alts, ms: this.opts.msPerToken ?? 2,
      };
      tokens.push(t);
      onToken?.(t);
    }
    const ms = performance.now() - t0;
    return {
      text: tokens.map((t) => t.text).join(''), tokens, finish_reason: finish, prompt_tokens: s.prompt.length,
      prompt_truncated: truncated, ttft_ms: tokens.length ? ms / tokens.length : 0, ms_per_token: tokens.length ? ms / tokens.length : 0,
      tokens_per_s: ms > 0 ? (tokens.length * 1000) / ms : 0,
      backend: this.backend, settings: s,
    };
  }

  async dispose(): Promise<void> {}
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
