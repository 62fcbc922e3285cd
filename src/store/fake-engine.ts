// A stand-in engine for store tests and for the dev server's ?engine=fake (UI work without
// models). Deterministic in the seed and the weights; honours abort like the worker does.
import type {
  Alternative, GenerateSettings, GenerationResult, LoadProgress, Manifest, Objective, TokenRecord,
} from '../engine/types';
import type { EngineClient, ReadyInfo } from './types';

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
  failLoad?: { message: string; file: string };
  backend?: 'webgpu' | 'wasm';
  truncateOver?: number;
}

export class FakeEngine implements EngineClient {
  private progressCbs = new Set<(p: LoadProgress) => void>();
  private noticeCbs = new Set<(m: string) => void>();
  private aborted = false;
  calls: GenerateSettings[] = [];
  constructor(private opts: FakeOptions = {}) {}

  async load(): Promise<ReadyInfo> {
    const files = ['base/onnx/model.onnx', 'arm-help/onnx/model.onnx', 'arm-harm/onnx/model.onnx'];
    const total = 3 * 1_000_000;
    for (let step = 0; step <= 4; step++) {
      const p: LoadProgress = {
        files: files.map((path) => ({ path, loaded: step * 250_000, total: 1_000_000, cached: false, done: step === 4 })),
        loaded: step * 750_000, total, phase: step === 4 ? 'ready' : 'download',
      };
      this.progressCbs.forEach((cb) => cb(p));
      await sleep(5);
    }
    if (this.opts.failLoad) throw Object.assign(new Error(this.opts.failLoad.message), { file: this.opts.failLoad.file });
    const be = this.opts.backend ?? 'wasm';
    return {
      backend: { backend: be, dtype: 'fp32', reason: be === 'wasm' ? 'fake engine: no WebGPU adapter' : 'fake engine', threads: 2 },
      manifest: FAKE_MANIFEST,
      notices: [],
    };
  }

  async generate(
    s: GenerateSettings, onToken: (t: TokenRecord) => void,
    onStart?: (i: { prompt_tokens: number; prompt_truncated: boolean }) => void,
  ): Promise<GenerationResult> {
    this.calls.push(structuredClone(s));
    this.aborted = false;
    const truncated = this.opts.truncateOver !== undefined && s.prompt.length > this.opts.truncateOver;
    onStart?.({ prompt_tokens: s.prompt.length, prompt_truncated: truncated });
    const r = rng(s.seed * 7919 + s.prompt.length);
    const tokens: TokenRecord[] = [];
    const t0 = performance.now();
    let finish: GenerationResult['finish_reason'] = 'length';
    const guided = s.decoder !== 'base';
    const wh = guided ? s.weights.helpfulness ?? 0 : 0;
    const ws = guided ? s.weights.harmlessness ?? 0 : 0;
    for (let i = 0; i < s.max_tokens; i++) {
      await sleep(this.opts.msPerToken ?? 2);
      if (this.aborted) { finish = 'abort'; break; }
      const u = r();
      // the weights bend the choice, so that a weight change changes the text
      const id = Math.floor((u + 0.37 * wh + 0.61 * ws) * 1000) % WORDS.length;
      const rew = (o: Objective) => Math.log(0.05 + ((id * (o === 'helpfulness' ? 13 : 29)) % 17) / 20);
      const logprob_base = Math.log(0.05 + ((id * 7) % 17) / 20);
      const alts: Alternative[] = [0, 1, 2, 3, 4].map((k) => ({ id: (id + k) % WORDS.length, text: WORDS[(id + k) % WORDS.length], p: 0.4 / (k + 1) }));
      const scored = s.score_arms ?? true;
      const rewards: TokenRecord['rewards'] = {};
      const shifts: TokenRecord['shifts'] = {};
      if (scored || wh) { rewards.helpfulness = rew('helpfulness'); shifts.helpfulness = rewards.helpfulness - logprob_base; }
      if (scored || ws) { rewards.harmlessness = rew('harmlessness'); shifts.harmlessness = rewards.harmlessness - logprob_base; }
      const t: TokenRecord = {
        index: i, id, text: WORDS[id], logprob_base, rewards, shifts,
        p_guided: 0.4, p_base: Math.exp(logprob_base), top_base: alts, top_guided: alts, ms: this.opts.msPerToken ?? 2,
      };
      tokens.push(t);
      onToken(t);
    }
    const ms = performance.now() - t0;
    return {
      text: tokens.map((t) => t.text).join(''), tokens, finish_reason: finish, prompt_tokens: s.prompt.length,
      prompt_truncated: truncated, ttft_ms: tokens.length ? ms / tokens.length : 0, ms_per_token: tokens.length ? ms / tokens.length : 0,
      tokens_per_s: ms > 0 ? (tokens.length * 1000) / ms : 0,
      backend: { backend: 'wasm', dtype: 'fp32', reason: 'fake' }, settings: s,
    };
  }

  async fetchManifest(): Promise<Manifest> { return FAKE_MANIFEST; }
  abort(): void { this.aborted = true; }
  onProgress(cb: (p: LoadProgress) => void) { this.progressCbs.add(cb); return () => { this.progressCbs.delete(cb); }; }
  onNotice(cb: (m: string) => void) { this.noticeCbs.add(cb); return () => { this.noticeCbs.delete(cb); }; }
  emitNotice(m: string) { this.noticeCbs.forEach((cb) => cb(m)); }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
