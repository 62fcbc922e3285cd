// Settings <-> query string. A link reproduces the view; a reload restores it.
import type { Decoder, Dtype } from '../engine/types';
import type { HeatMode, UiSettings } from './types';

const DECODERS: Decoder[] = ['genarm', 'base', 'args', 'bon'];
const HEAT: HeatMode[] = ['helpfulness', 'harmlessness', 'sum'];
const DTYPES: Dtype[] = ['fp32', 'q4', 'q8', 'q4f16', 'fp16'];

export interface UrlState {
  settings: Partial<UiSettings>;
  suite?: string;
  backend?: 'webgpu' | 'wasm';
  /** force a model dtype (tests, debugging); otherwise the manifest's preference */
  dtype?: Dtype;
  heat?: HeatMode;
  /** the URL named a prompt: the view it describes is generated once models are ready */
  hasPrompt: boolean;
  /** ?hub=URL: the hub's address (src/engine/hub.ts; default https://huggingface.co) */
  hub?: string;
  /** ?hubrepo=owner/name[@rev] (repeatable): more hub suites, guided by the ARMs of ?hubarms=SUITE */
  hubRepos: string[];
  hubArms?: string;
}

function num(v: string | null, lo: number, hi: number): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(hi, Math.max(lo, n));
}

export function parseQuery(search: string): UrlState {
  const q = new URLSearchParams(search);
  const settings: Partial<UiSettings> = {};
  const prompt = q.get('prompt');
  if (prompt !== null) settings.prompt = prompt;
  const help = num(q.get('help'), 0, 5);
  const harm = num(q.get('harm'), 0, 5);
  if (help !== undefined || harm !== undefined) {
    settings.weights = { helpfulness: help ?? 0, harmlessness: harm ?? 0 };
  }
  const temp = num(q.get('temp'), 0, 2);
  if (temp !== undefined) settings.temperature = temp;
  // the page's ranges (REPETITION_PENALTY_RANGE, NGRAM_RANGE in settings.ts)
  const rep = num(q.get('rep'), 1, 2);
  if (rep !== undefined) settings.repetition_penalty = rep;
  const ngram = num(q.get('ngram'), 0, 8);
  if (ngram !== undefined) settings.no_repeat_ngram_size = Math.round(ngram);
  const max = num(q.get('max'), 1, 1024);
  if (max !== undefined) settings.max_tokens = Math.round(max);
  const seed = num(q.get('seed'), 0, 2 ** 31 - 1);
  if (seed !== undefined) settings.seed = Math.round(seed);
  const dec = q.get('decoder') as Decoder | null;
  if (dec && DECODERS.includes(dec)) settings.decoder = dec;
  const heat = q.get('color') as HeatMode | null;
  const backend = q.get('backend');
  const dtype = q.get('dtype') as Dtype | null;
  return {
    settings,
    suite: q.get('suite') || undefined,
    backend: backend === 'webgpu' || backend === 'wasm' ? backend : undefined,
    dtype: dtype && DTYPES.includes(dtype) ? dtype : undefined,
    heat: heat && HEAT.includes(heat) ? heat : undefined,
    hasPrompt: prompt !== null && prompt.trim() !== '',
    hub: q.get('hub') || undefined,
    hubRepos: q.getAll('hubrepo').filter(Boolean),
    hubArms: q.get('hubarms') || undefined,
  };
}

/** Query string for the current view; keeps unknown parameters (e.g. backend) as they were. */
export function buildQuery(
  current: string, s: UiSettings, suite: string | undefined, heat: HeatMode,
): string {
  const q = new URLSearchParams(current);
  const set = (k: string, v: string | undefined) => (v === undefined ? q.delete(k) : q.set(k, v));
  set('prompt', s.prompt);
  set('help', String(round(s.weights.helpfulness)));
  set('harm', String(round(s.weights.harmlessness)));
  set('temp', String(round(s.temperature)));
  set('rep', String(round(s.repetition_penalty)));
  set('ngram', String(s.no_repeat_ngram_size));
  set('max', String(s.max_tokens));
  set('seed', String(s.seed));
  set('decoder', s.decoder);
  set('suite', suite);
  // a user ARM's channel is not reloadable (its files are not in the URL): the link colours by the sum
  set('color', heat === 'sum' || heat.startsWith('user:') ? undefined : heat);
  const str = q.toString();
  return str ? `?${str}` : '';
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
