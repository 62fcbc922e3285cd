// What the Node and the browser halves of the benchmark share: the configurations,
// the prompts, the bench suites added to the manifest, download sizes, machine facts.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release, availableParallelism } from 'node:os';
import type { Dtype, GenerateSettings, Manifest, ManifestFile, Objective } from '../src/engine/types';

export interface BenchConfig {
  id: string;
  label: string;
  arms: Objective[];
  rms: Objective[];
  settings: Pick<GenerateSettings, 'decoder' | 'weights'> & Partial<GenerateSettings>;
  /** model forwards per generated token, in words */
  cost: string;
  /** GenARM with the fused graph (src/engine/fused.ts: base + ARMs as rows of one batch); default separate graphs */
  path?: 'fused' | 'separate';
}

export const CONFIGS: BenchConfig[] = [
  { id: 'base', label: 'base alone', arms: [], rms: [], settings: { decoder: 'genarm', weights: {} }, cost: '1 base forward' },
  {
    id: 'genarm-1', label: 'base + 1 ARM', arms: ['helpfulness'], rms: [],
    settings: { decoder: 'genarm', weights: { helpfulness: 1 } }, cost: '1 base + 1 ARM forward',
  },
  {
    id: 'genarm-2', label: 'base + 2 ARMs', arms: ['helpfulness', 'harmlessness'], rms: [],
    settings: { decoder: 'genarm', weights: { helpfulness: 1, harmlessness: 1 } }, cost: '1 base + 2 ARM forwards',
  },
  {
    id: 'genarm-2-fused', label: 'base + 2 ARMs, fused graph', arms: ['helpfulness', 'harmlessness'], rms: [], path: 'fused',
    settings: { decoder: 'genarm', weights: { helpfulness: 1, harmlessness: 1 } }, cost: '1 forward of a 3-row batch (base weights once, LoRA adapters per row)',
  },
  {
    id: 'args-10', label: 'ARGS k=10 (1 RM)', arms: [], rms: ['helpfulness'],
    settings: { decoder: 'args', weights: { helpfulness: 1 }, args_k: 10, args_w: 1 }, cost: '1 base forward + 1 RM forward of 10 rows',
  },
  {
    id: 'bon-4', label: 'Best-of-4 (1 RM)', arms: [], rms: ['helpfulness'],
    settings: { decoder: 'bon', weights: { helpfulness: 1 }, bon_n: 4 }, cost: '4 base forwards + 4 RM passes per response',
  },
];

/** --full adds these */
export const FULL_EXTRA: BenchConfig[] = [
  {
    id: 'args-10-2rm', label: 'ARGS k=10 (2 RMs)', arms: [], rms: ['helpfulness', 'harmlessness'],
    settings: { decoder: 'args', weights: { helpfulness: 1, harmlessness: 1 }, args_k: 10, args_w: 1 },
    cost: '1 base forward + 2 RM forwards of 10 rows',
  },
  {
    id: 'bon-16', label: 'Best-of-16 (1 RM)', arms: [], rms: ['helpfulness'],
    settings: { decoder: 'bon', weights: { helpfulness: 1 }, bon_n: 16 }, cost: '16 base forwards + 16 RM passes per response',
  },
];

/** Prompts that make a chat model write at length (so runs reach max_tokens). */
export const PROMPTS: string[] = [
  'Write a detailed guide to planning a week-long hiking trip.',
  'Explain in detail how vaccines train the immune system.',
  'Describe, step by step, how to bake a loaf of sourdough bread.',
  'Write a long story about a lighthouse keeper who finds a message in a bottle.',
  'Explain the causes and consequences of the French Revolution in detail.',
  'Give a thorough comparison of renting and buying a home.',
  'Describe how a compiler turns source code into machine code.',
  'Write a detailed lesson plan for teaching fractions to ten-year-olds.',
];
export const WARMUP_PROMPT = 'Say hello.';

/** The settings of one timed run: temperature 1 (the paper's setting), no truncation, given seed. */
export function benchSettings(c: BenchConfig, prompt: string, seed: number, maxTokens: number): GenerateSettings {
  return { prompt, seed, max_tokens: maxTokens, temperature: 1, top_k: 0, top_p: 1, score_arms: false, ...c.settings };
}

export const suiteId = (c: BenchConfig) => `bench-${c.id}`;
/** the suite with every model the configurations need (the timing runs) */
export const ALL_SUITE = 'bench-all';

export const allConfigs = (): BenchConfig[] => [...CONFIGS, ...FULL_EXTRA];

/** The manifest with one extra suite per configuration: only the models it needs load. */
export function benchManifest(m: Manifest, suite: string, configs: BenchConfig[]): Manifest {
  const s = m.suites[suite];
  if (!s) throw new Error(`suite '${suite}' is not in manifest.json (it has ${Object.keys(m.suites).join(', ')})`);
  const suites = { ...m.suites };
  for (const c of configs) {
    const arms: Partial<Record<Objective, string>> = {};
    const rms: Partial<Record<Objective, string>> = {};
    for (const o of c.arms) {
      if (!s.arms[o]) throw new Error(`suite '${suite}' has no ${o} ARM (config ${c.id}): are the models built?`);
      arms[o] = s.arms[o];
    }
    for (const o of c.rms) {
      if (!s.rms[o]) throw new Error(`suite '${suite}' has no ${o} RM (config ${c.id}): are the models built?`);
      rms[o] = s.rms[o];
    }
    if (c.path === 'fused' && !s.fused) throw new Error(`suite '${suite}' has no fused graph (config ${c.id})`);
    suites[suiteId(c)] = { id: suiteId(c), label: `${s.label}: ${c.label}`, base: s.base, arms, rms, ...(c.path === 'fused' ? { fused: s.fused } : {}) };
  }
  const pick = (from: Partial<Record<Objective, string>>, want: Objective[]) =>
    Object.fromEntries(Object.entries(from).filter(([o]) => want.includes(o as Objective))) as Partial<Record<Objective, string>>;
  // separate graphs only (the fused configurations load their own engine)
  const plain = configs.filter((c) => c.path !== 'fused');
  suites[ALL_SUITE] = {
    id: ALL_SUITE, label: `${s.label}: every model of the benchmark`, base: s.base,
    arms: pick(s.arms, plain.flatMap((c) => c.arms)), rms: pick(s.rms, plain.flatMap((c) => c.rms)),
  };
  return { ...m, suites };
}

/** Files one configuration downloads at a dtype: tokenizer files + one ONNX file per model. */
export function configFiles(m: Manifest, suite: string, c: Pick<BenchConfig, 'arms' | 'rms' | 'path'>, dtype: Dtype): ManifestFile[] {
  const s = m.suites[suite];
  const base = m.models[s.base];
  const tok = m.models[base.tokenizer];
  const tokFiles = tok.files.filter((f) => /(^|\/)(tokenizer\.json|tokenizer_config\.json|chat_template\.jinja)$/.test(f.path));
  const rmFiles = c.rms.map((o) => {
    const f = m.models[s.rms[o]!].variants[dtype];
    if (!f) throw new Error(`model ${s.rms[o]} has no ${dtype} variant`);
    return f;
  });
  if (c.path === 'fused') {
    // one graph with the base weights, plus each ARM's LoRA adapter file
    const g = s.fused?.variants[dtype];
    if (!g) throw new Error(`suite ${suite} has no fused ${dtype} graph`);
    const adapters = c.arms.map((o) => {
      const a = m.models[s.arms[o]!].adapter;
      if (!a) throw new Error(`ARM ${s.arms[o]} has no adapter file`);
      return a.file;
    });
    return [...tokFiles, g, ...adapters, ...rmFiles];
  }
  const ids = [s.base, ...c.arms.map((o) => s.arms[o]!)];
  const onnx = ids.map((id) => {
    const f = m.models[id].variants[dtype];
    if (!f) throw new Error(`model ${id} has no ${dtype} variant`);
    return f;
  });
  return [...tokFiles, ...onnx, ...rmFiles];
}

export const sumBytes = (files: ManifestFile[]) => files.reduce((a, f) => a + f.bytes, 0);

export function readManifestFile(dir: string): Manifest {
  return JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8')) as Manifest;
}

export interface Machine {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  onnxruntime_node: string;
  onnxruntime_web: string;
  load_average_at_start: number[];
  date: string;
}

export function machineInfo(): Machine {
  const pkg = (name: string) => {
    try {
      return JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).version as string;
    } catch {
      return 'unknown';
    }
  };
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    // /proc/cpuinfo may name it better (e.g. family/model for a generic "AMD EPYC")
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const fam = /cpu family\s*:\s*(\d+)/.exec(info)?.[1];
    const mod = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    const flags = /flags\s*:(.*)/.exec(info)?.[1] ?? '';
    const simd = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.split(/\s+/).includes(f));
    cpu = `${cpu.trim()}${fam ? ` (family ${fam}, model ${mod})` : ''}${simd.length ? `, ${simd.join('/')}` : ''}`;
  } catch {
    /* not Linux */
  }
  return {
    cpu_model: cpu,
    cores: availableParallelism(),
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    onnxruntime_node: pkg('onnxruntime-node'),
    onnxruntime_web: pkg('onnxruntime-web'),
    load_average_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** One timed generation, as both halves report it. */
export interface RunRecord {
  prompt: number;
  seed: number;
  tokens: number;
  finish: string;
  ttft_ms: number;
  ms_per_token: number;
  /** decode time of the tokens after the first (for pooling); Best-of-N: its whole wall time */
  decode_ms: number;
  decode_tokens: number;
  wall_ms: number;
}

/** The parts of a GenerationResult the bench keeps. */
export function runRecord(prompt: number, seed: number, r: { tokens: { ms: number }[]; finish_reason: string; ttft_ms: number; ms_per_token: number; settings: GenerateSettings }, wall: number): RunRecord {
  const n = r.tokens.length;
  const bon = r.settings.decoder === 'bon';
  // Best-of-N: ms_per_token is wall / winner tokens; pool it the same way
  const decodeTokens = bon ? n : Math.max(0, n - 1);
  const decodeMs = bon ? r.ms_per_token * n : r.ms_per_token * decodeTokens;
  return {
    prompt, seed, tokens: n, finish: r.finish_reason, ttft_ms: r.ttft_ms, ms_per_token: r.ms_per_token,
    decode_ms: decodeMs, decode_tokens: decodeTokens, wall_ms: wall,
  };
}

/** Per-configuration result of one backend. */
export interface ConfigResult {
  config: string;
  label: string;
  backend: string;
  dtype: string;
  backend_reason?: string;
  threads: number | null;
  /** files this configuration alone downloads (tokenizer + one ONNX file per model) */
  download_bytes: number;
  files: string[];
  /** peak memory of this configuration alone (separate process / browser context) */
  peak_memory_bytes: number | null;
  memory_method: string;
  memory_detail?: Record<string, number | string | null>;
  /** load time of this configuration alone (the memory run) */
  load_ms: number | null;
  runs: RunRecord[];
}

export function loadAverage(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

export const MB = (b: number) => b / 1e6;

/** Peak resident set of this process so far (Linux VmHWM), else null. */
export function vmHWM(): number | null {
  try {
    const kb = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}
