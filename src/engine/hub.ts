// Weak-to-strong guidance (README.md, "Weak-to-strong (hub bases)"): a base model
// from the Hugging Face hub, in transformers.js layout (config.json, tokenizer files,
// onnx/model*.onnx), guided by this site's own small ARMs on the separate path.
//
// What the hub is asked, and what is trusted:
// - GET {hub}/api/models/{repo}/revision/{revision} -> { sha }: a branch ('main') becomes one
//   commit, and every file then comes from that commit ({hub}/{repo}/resolve/{sha}/{path});
//   a 40-hex revision is used as it is, without asking.
// - GET {hub}/api/models/{repo}/tree/{sha}/{dir} -> [{ type, path, size, oid, lfs?: { oid, size } }]:
//   an LFS file's lfs.oid is its sha256, checked as this site's own files are (files.ts,
//   verifyBytes); a file kept in git is checked by its git blob id (oid, sha1).
// The files go through the platform's FileSource like the manifest's (size and hash checks,
// Cache Storage in the browser, per-file progress), as ManifestFiles with their own `url`.
import type { Dtype, Manifest, ManifestFile, ModelArch, ModelEntry, ModelSuite } from './types';
import { sha256Hex } from './files';
import { UnsupportedGraphError } from './platform';
import { OBJECTIVES, defaultSuite } from './manifest';
import type { InferenceSession } from './ort';
import { pastName, presentName } from './kv-cache';

export const DEFAULT_HUB = 'https://huggingface.co';

/** One hub suite: a hub repo as the base, guided by the ARMs (and RMs) of one of this site's suites. */
export interface HubSuiteDef {
  /** the suite id the page and CLI use (?suite=, --suite) */
  id: string;
  label: string;
  /** owner/name on the hub */
  repo: string;
  /**
   * a branch or tag (resolved to its commit sha through the hub API at every listing, so one load
   * reads one commit), or a 40-hex commit sha, used as it is
   */
  revision: string;
  /** the embedded suite (manifest.json) whose ARMs and RMs guide this base; default: the manifest's default suite */
  armsFrom?: string;
  /** the repo's folder of ONNX graphs (transformers.js layout), default 'onnx' */
  onnxDir?: string;
}

/**
 * The hub suites the page offers by default. Both revisions are 'main', resolved to a commit
 * sha through the API when listed: no commit sha could be checked from the machines this was
 * built on (they cannot reach the hub). To pin one, put the repo's 40-hex commit here (to be
 * checked online: GET https://huggingface.co/api/models/{repo}/revision/main, field `sha`).
 */
export const HUB_SUITES: readonly HubSuiteDef[] = [
  { id: 'smollm2-360m-hub', label: 'SmolLM2-360M-Instruct (hub)', repo: 'HuggingFaceTB/SmolLM2-360M-Instruct', revision: 'main', armsFrom: 'smollm2' },
  { id: 'smollm2-1.7b-hub', label: 'SmolLM2-1.7B-Instruct (hub)', repo: 'HuggingFaceTB/SmolLM2-1.7B-Instruct', revision: 'main', armsFrom: 'smollm2' },
];

/** A hub suite for any repo (?hubrepo=owner/name[@rev], --hub-repo): its id is `hub:owner/name`. */
export function adHocHubSuite(spec: string, armsFrom?: string): HubSuiteDef {
  const [repo, revision] = spec.split('@');
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo ?? '')) throw new Error(`'${spec}' is not a hub repo (owner/name, optionally @revision)`);
  return { id: `hub:${repo}`, label: `${repo} (hub)`, repo, revision: revision || 'main', ...(armsFrom ? { armsFrom } : {}) };
}

/** The hub could not be reached at all (no network, a wrong ?hub= address). */
export class HubUnreachableError extends Error {
  constructor(readonly endpoint: string, cause: string) {
    super(`hub unreachable: ${endpoint} did not answer (${cause})`);
    this.name = 'HubUnreachableError';
  }
}

/** The hub answered, but the repo cannot serve as a base (missing files, an unknown graph layout). */
export class HubRepoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubRepoError';
  }
}

/** The hub base and the ARMs do not share a tokenizer: their log-probs index different tokens. */
export class TokenizerMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerMismatchError';
  }
}

export function hubEndpoint(url: string | undefined): string {
  return (url || DEFAULT_HUB).replace(/\/+$/, '');
}

/** What a hub listing gives: the commit, and every file of the repo's root and ONNX folder by path. */
export interface HubListing {
  endpoint: string;
  repo: string;
  /** the commit sha every file comes from */
  sha: string;
  files: Record<string, ManifestFile>;
}

interface TreeEntry { type?: string; path: string; size: number; oid?: string; lfs?: { oid: string; size: number } }

type Fetch = typeof fetch;

async function getJson(fetchFn: Fetch, endpoint: string, url: string, what: string, timeoutMs: number, missingOk = false): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new HubUnreachableError(endpoint, (e as Error).message || String(e));
  }
  if (res.status === 401 || res.status === 403) throw new HubRepoError(`${what}: HTTP ${res.status} at ${url} (a gated or private repo needs a login this page does not do)`);
  if (res.status === 404 && missingOk) return null;
  if (res.status === 404) throw new HubRepoError(`${what}: not found (HTTP 404 at ${url})`);
  if (!res.ok) throw new HubRepoError(`${what}: HTTP ${res.status} at ${url}`);
  try {
    return await res.json();
  } catch {
    throw new HubRepoError(`${what}: ${url} did not answer JSON (is ${endpoint} a hub?)`);
  }
}

/** The repo's commit for the suite's revision, and its root and ONNX folder listed (two or three small API calls). */
export async function listHubRepo(def: HubSuiteDef, endpointUrl?: string, fetchFn: Fetch = fetch, timeoutMs = 20_000): Promise<HubListing> {
  const endpoint = hubEndpoint(endpointUrl);
  const api = `${endpoint}/api/models/${def.repo}`;
  let sha = def.revision;
  if (!/^[0-9a-f]{40}$/i.test(sha)) {
    const info = (await getJson(fetchFn, endpoint, `${api}/revision/${encodeURIComponent(def.revision)}`, `hub repo ${def.repo}@${def.revision}`, timeoutMs)) as { sha?: string };
    if (!info || typeof info.sha !== 'string') throw new HubRepoError(`hub repo ${def.repo}@${def.revision}: the API gave no commit sha`);
    sha = info.sha;
  }
  const files: Record<string, ManifestFile> = {};
  for (const dir of ['', def.onnxDir ?? 'onnx']) {
    const url = `${api}/tree/${sha}${dir ? `/${dir}` : ''}`;
    // a repo without the ONNX folder lists as empty there (the choice of a variant then says what it looked for)
    const tree = (await getJson(fetchFn, endpoint, url, `hub repo ${def.repo}@${sha.slice(0, 7)}${dir ? ` folder ${dir}` : ''}`, timeoutMs, !!dir)) as TreeEntry[] | null;
    if (tree === null) continue;
    if (!Array.isArray(tree)) throw new HubRepoError(`hub repo ${def.repo}: ${url} is not a file listing`);
    for (const e of tree) {
      if (e.type === 'directory' || typeof e.path !== 'string') continue;
      const path = `${def.repo}/${e.path}`;
      const url = `${endpoint}/${def.repo}/resolve/${sha}/${e.path.split('/').map(encodeURIComponent).join('/')}`;
      if (e.lfs?.oid) files[e.path] = { path, url, bytes: e.lfs.size ?? e.size, sha256: e.lfs.oid };
      else if (e.oid) files[e.path] = { path, url, bytes: e.size, sha256: '', git_sha1: e.oid };
    }
  }
  return { endpoint, repo: def.repo, sha, files };
}

/** transformers.js's file name per dtype (its `dtype` option); q8 is `model_quantized`, or the int8 export. */
const VARIANT_NAMES: Record<Dtype, string[]> = {
  fp32: ['model.onnx'],
  fp16: ['model_fp16.onnx'],
  q4f16: ['model_q4f16.onnx'],
  q4: ['model_q4.onnx'],
  q8: ['model_quantized.onnx', 'model_int8.onnx'],
};

/**
 * Above this, fp32 is not tried on WASM: WASM32 memory tops out at 4 GB and one ArrayBuffer near
 * 2 GB (docs/BROWSER.md), and the ARMs' graphs share that memory.
 */
export const WASM_MAX_BASE_BYTES = 2 * 1024 ** 3;

export type HubBackend = 'webgpu' | 'wasm' | 'node';

/**
 * The dtypes to try for a hub base, best first, and why (README.md, "Weak-to-strong (hub bases)").
 * WebGPU with shader-f16: q4f16, fp16 (half the bytes, f16 kernels), then q4, fp32. WebGPU
 * without it: q4, fp32 (f16 graphs return zeros there: docs/BROWSER.md). WASM: fp32 while it
 * fits (this project measured fp32 fastest on WASM for 135M: MatMulNBits dequantizes every run
 * there), else q8 (MatMulInteger has WASM SIMD kernels), then q4. Node: q8 (this project's
 * measured Node preference, manifest.preferred.node), fp32, q4. None of this was measured on a
 * real hub export here.
 */
export function hubDtypeOrder(backend: HubBackend, shaderF16: boolean): Dtype[] {
  if (backend === 'webgpu') return shaderF16 ? ['q4f16', 'fp16', 'q4', 'fp32'] : ['q4', 'fp32'];
  if (backend === 'wasm') return ['fp32', 'q8', 'q4'];
  return ['q8', 'fp32', 'q4'];
}

export interface HubVariant {
  dtype: Dtype;
  /** the graph, then its external data files (`model.onnx_data`, `model.onnx_data_1`, ...) */
  files: ManifestFile[];
  bytes: number;
  why: string;
}

/** The graph and external data of one dtype in a listing, or null when the repo has none. */
export function hubVariantFiles(listing: HubListing, dtype: Dtype, onnxDir = 'onnx'): ManifestFile[] | null {
  for (const name of VARIANT_NAMES[dtype]) {
    const graph = listing.files[`${onnxDir}/${name}`];
    if (!graph) continue;
    const data = Object.keys(listing.files)
      .filter((p) => p.startsWith(`${onnxDir}/${name}_data`))
      .sort((a, b) => a.length - b.length || a.localeCompare(b))
      .map((p) => listing.files[p]);
    return [graph, ...data];
  }
  return null;
}

/**
 * The variants to try, best first: the requested dtype alone (an error when absent), else every
 * dtype of the backend's order (hubDtypeOrder) the repo has; the first is the choice, the rest are
 * tried in turn when a graph cannot run here (a kernel this backend lacks: HubBase.createSession).
 */
export function hubVariants(listing: HubListing, backend: HubBackend, shaderF16: boolean, requested?: Dtype, onnxDir = 'onnx'): HubVariant[] {
  const sum = (fs: ManifestFile[]) => fs.reduce((s, f) => s + f.bytes, 0);
  const at = `${listing.repo}@${listing.sha.slice(0, 7)}`;
  if (requested) {
    const files = hubVariantFiles(listing, requested, onnxDir);
    if (!files) throw new HubRepoError(`dtype ${requested} requested, but hub repo ${at} has no ${VARIANT_NAMES[requested].map((n) => `${onnxDir}/${n}`).join(' or ')}`);
    return [{ dtype: requested, files, bytes: sum(files), why: `${requested} requested` }];
  }
  const order = hubDtypeOrder(backend, shaderF16);
  const skipped: string[] = [];
  const out: HubVariant[] = [];
  for (const dtype of order) {
    const files = hubVariantFiles(listing, dtype, onnxDir);
    if (!files) continue;
    const bytes = sum(files);
    if (backend === 'wasm' && dtype === 'fp32' && bytes > WASM_MAX_BASE_BYTES) {
      skipped.push(`fp32 is ${(bytes / 1e9).toFixed(1)} GB, too big for WASM memory beside the ARMs`);
      continue;
    }
    const why = dtype === order[0]
      ? `${dtype} first for ${backend}${backend === 'webgpu' ? (shaderF16 ? ' with shader-f16' : ' without shader-f16') : ''}`
      : `${dtype} (the repo has no ${order.slice(0, order.indexOf(dtype)).join(' or ')} this backend takes)`;
    out.push({ dtype, files, bytes, why: out.length ? `${dtype} next` : [...skipped, why].join('; ') });
  }
  if (out.length) return out;
  const names = order.flatMap((d) => VARIANT_NAMES[d]).map((n) => `${onnxDir}/${n}`);
  throw new HubRepoError(`hub repo ${at} has no ONNX graph this backend (${backend}) can load: looked for ${names.join(', ')}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
}

/** The variant to load first (hubVariants' first). */
export function chooseHubVariant(listing: HubListing, backend: HubBackend, shaderF16: boolean, requested?: Dtype, onnxDir = 'onnx'): HubVariant {
  return hubVariants(listing, backend, shaderF16, requested, onnxDir)[0];
}

/** The json files a transformers.js repo must have (chat_template.jinja is optional) */
const REQUIRED_JSON = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/** Bytes a hub suite downloads for its base on a backend (graph + data + json files), for the suite picker. */
export function hubDownloadBytes(listing: HubListing, backend: HubBackend, shaderF16: boolean, onnxDir = 'onnx'): { bytes: number; dtype: Dtype } {
  const v = chooseHubVariant(listing, backend, shaderF16, undefined, onnxDir);
  const json = [...REQUIRED_JSON, 'generation_config.json', 'chat_template.jinja'].reduce((s, p) => s + (listing.files[p]?.bytes ?? 0), 0);
  return { bytes: v.bytes + json, dtype: v.dtype };
}

/** The architecture from config.json (and generation_config.json's eos, which wins as transformers.js reads it). */
export function archFromConfig(config: Record<string, unknown>, generation: Record<string, unknown> | null, what: string): ModelArch {
  const n = (k: string): number | undefined => (typeof config[k] === 'number' ? (config[k] as number) : undefined);
  const layers = n('num_hidden_layers'), heads = n('num_attention_heads'), hidden = n('hidden_size'), vocab = n('vocab_size');
  if (!layers || !heads || !hidden || !vocab) {
    throw new HubRepoError(`${what}/config.json lacks num_hidden_layers, num_attention_heads, hidden_size or vocab_size: not a decoder this engine knows`);
  }
  const eos = generation?.eos_token_id ?? config.eos_token_id;
  const eosIds = (Array.isArray(eos) ? eos : eos === undefined || eos === null ? [] : [eos]).map(Number).filter(Number.isFinite);
  return {
    num_layers: layers,
    num_kv_heads: n('num_key_value_heads') ?? heads,
    head_dim: n('head_dim') ?? hidden / heads,
    hidden_size: hidden,
    vocab_size: vocab,
    max_position: n('max_position_embeddings') ?? 2048,
    eos_token_ids: eosIds,
    num_heads: heads,
    ...(n('intermediate_size') ? { intermediate_size: n('intermediate_size') } : {}),
  };
}

/** The tokenizer's identity: its vocabulary, merges and added tokens, each hashed (sha256 of a canonical JSON). */
export interface TokenizerFingerprint { vocab: string; merges: string; added: string; size: number }

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tokenizer.json of any shape: each field is checked
export async function tokenizerFingerprint(json: any): Promise<TokenizerFingerprint> {
  const model = json?.model ?? {};
  const vocab = model.vocab && typeof model.vocab === 'object' ? model.vocab : {};
  // entries in id order (key order in the file does not matter), merges as "a b" whichever way the file writes them
  const entries = Array.isArray(vocab) ? vocab.map((v: unknown, i: number) => [v, i]) : Object.entries(vocab).sort((a, b) => Number(a[1]) - Number(b[1]));
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((m: unknown) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const added = (Array.isArray(json?.added_tokens) ? json.added_tokens : []).map((t: { id: number; content: string }) => [t.id, t.content]);
  const h = (v: unknown) => sha256Hex(new TextEncoder().encode(JSON.stringify(v)));
  return { vocab: await h([model.type ?? null, entries]), merges: await h(merges), added: await h(added), size: entries.length };
}

/** Throws a TokenizerMismatchError naming both sides and what differs; nothing when the fingerprints agree. */
export function compareTokenizers(base: TokenizerFingerprint, baseName: string, arms: TokenizerFingerprint, armsName: string): void {
  const diff = [
    base.vocab !== arms.vocab ? `vocabulary (${base.size} vs ${arms.size} entries${base.size === arms.size ? ', same size but different tokens or ids' : ''})` : '',
    base.merges !== arms.merges ? 'merges' : '',
    base.added !== arms.added ? 'added tokens' : '',
  ].filter(Boolean);
  if (!diff.length) return;
  throw new TokenizerMismatchError(
    `tokenizer mismatch: ${baseName} and ${armsName} differ in their ${diff.join(', ')}; `
    + `the ARMs' log-probs would score other tokens than the base's, so this pair cannot be combined`,
  );
}

/** What a load request carries for a hub suite (EngineLoadOptions.hub): the definition and the hub's address. */
export interface HubLoadSpec {
  suite: HubSuiteDef;
  /** default https://huggingface.co (?hub=, --hub) */
  endpoint?: string;
}

const known = (name: string, layers: number) => {
  if (name === 'input_ids' || name === 'attention_mask' || name === 'position_ids') return true;
  const m = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
  return !!m && Number(m[1]) < layers;
};

/**
 * A hub base prepared for Engine.load: the manifest with the hub suite added (its base entry
 * points at the hub's files), the variant chosen for the backend, and the checks only a hub
 * base needs (tokenizer identity with the ARMs, graph inputs and outputs).
 */
export class HubBase {
  /** the variant loading or loaded (the next of `candidates` once one cannot run here) */
  variant: HubVariant;
  /** why earlier variants were passed over: a kernel this backend lacks */
  private readonly rejected: string[] = [];

  private constructor(
    readonly manifest: Manifest,
    readonly entry: ModelEntry,
    private readonly candidates: HubVariant[],
    readonly listing: HubListing,
    private readonly armTokenizers: { file: ManifestFile; owner: string }[],
  ) {
    this.variant = candidates[0];
  }

  /** `repo@sha7`, how messages name the base */
  get name(): string {
    return `hub base ${this.listing.repo}@${this.listing.sha.slice(0, 7)}`;
  }

  get why(): string {
    const file = this.variant.files[0].path.split('/').pop();
    const why = this.rejected.length ? `${this.rejected.join('; ')}: using ${this.variant.dtype}` : this.variant.why;
    return `${this.name}: ${this.variant.dtype} (${file}${this.variant.files.length > 1 ? ` + ${this.variant.files.length - 1} data file${this.variant.files.length > 2 ? 's' : ''}` : ''}), ${why}`;
  }

  owns(e: ModelEntry): boolean {
    return e.id === this.entry.id;
  }

  /**
   * List the repo, read its config.json (through `fetchBytes`: verified, cached, in the
   * progress), pick the variant, and add the suite to the manifest.
   */
  static async open(
    manifest: Manifest, spec: HubLoadSpec, backend: HubBackend, shaderF16: boolean, requested: Dtype | undefined,
    fetchBytes: (f: ManifestFile) => Promise<Uint8Array>,
  ): Promise<HubBase> {
    const def = spec.suite;
    const from = def.armsFrom ?? defaultSuite(manifest);
    const armSuite = from ? manifest.suites[from] : undefined;
    if (!armSuite) throw new Error(`hub suite '${def.id}' takes its ARMs from suite '${from}', which manifest.json does not list`);
    const listing = await listHubRepo(def, spec.endpoint);
    const at = `${def.repo}@${listing.sha.slice(0, 7)}`;
    const missing = REQUIRED_JSON.filter((p) => !listing.files[p]);
    if (missing.length) throw new HubRepoError(`hub repo ${at} lacks ${missing.join(', ')} (a transformers.js repo has them at its root)`);
    const candidates = hubVariants(listing, backend, shaderF16, requested, def.onnxDir);
    const variant = candidates[0];
    const config = parseJsonBytes(await fetchBytes(listing.files['config.json']), listing.files['config.json'].path);
    const gen = listing.files['generation_config.json']
      ? parseJsonBytes(await fetchBytes(listing.files['generation_config.json']), listing.files['generation_config.json'].path) : null;
    const arch = archFromConfig(config, gen, `hub repo ${at}`);
    const id = `hub:${def.repo}`;
    const jsonFiles = [...REQUIRED_JSON, 'generation_config.json', 'chat_template.jinja'].map((p) => listing.files[p]).filter(Boolean);
    const entry: ModelEntry = {
      id, role: 'base', label: `${def.repo} (hub, ${listing.sha.slice(0, 7)})`, tokenizer: id, folder: `${listing.endpoint}/${def.repo}/`,
      arch, files: jsonFiles, variants: { [variant.dtype]: variant.files[0] },
    };
    // the ARMs must read the base's logits: same width, and (checked once the tokenizer is read) the same tokenizer
    const armIds = OBJECTIVES.map((o) => armSuite.arms[o]).filter((x): x is string => !!x);
    for (const a of armIds) {
      const e = manifest.models[a];
      if (e && e.arch.vocab_size !== arch.vocab_size) {
        throw new TokenizerMismatchError(`hub base ${at} has ${arch.vocab_size} logits per token, ARM ${a} ${e.arch.vocab_size}: they cannot be combined`);
      }
    }
    const owners = [...new Set([...armIds, ...OBJECTIVES.map((o) => armSuite.rms[o]).filter((x): x is string => !!x)].map((a) => manifest.models[a]?.tokenizer).filter(Boolean))];
    const armTokenizers = owners.map((owner) => {
      const f = manifest.models[owner]?.files.find((x) => x.path === 'tokenizer.json' || x.path.endsWith('/tokenizer.json'));
      if (!f) throw new Error(`model '${owner}' lists no tokenizer.json in manifest.json`);
      return { file: f, owner };
    });
    const suite: ModelSuite = { id: def.id, label: def.label, base: id, arms: { ...armSuite.arms }, rms: { ...armSuite.rms } };
    const withHub: Manifest = { ...manifest, models: { ...manifest.models, [id]: entry }, suites: { ...manifest.suites, [def.id]: suite } };
    return new HubBase(withHub, entry, candidates, listing, armTokenizers);
  }

  /** The hub base's tokenizer.json against each tokenizer the ARMs and RMs use (fetched through the same checks). */
  async checkTokenizer(baseTokenizerJson: Uint8Array, fetchBytes: (f: ManifestFile) => Promise<Uint8Array>): Promise<void> {
    const base = await tokenizerFingerprint(parseJsonBytes(baseTokenizerJson, `${this.listing.repo}/tokenizer.json`));
    for (const { file, owner } of this.armTokenizers) {
      const arms = await tokenizerFingerprint(parseJsonBytes(await fetchBytes(file), file.path));
      compareTokenizers(base, `the ${this.name} (${this.listing.repo}/tokenizer.json)`, arms, `the ARMs' tokenizer (model ${owner}, ${file.path})`);
    }
  }

  /**
   * The variant's graph and external data, fetched, then one session (external data by file name, as
   * the graph refers to it). A graph this backend has no kernel for (UnsupportedGraphError: a
   * com.microsoft contrib op, a 4-bit op on WASM) passes to the next variant the repo has, unless
   * the dtype was asked for; the last refusal names the graph and the op. Other errors (a lost GPU
   * device, which the worker answers with WASM) pass through as they are.
   */
  async createSession(
    fetchBytes: (f: ManifestFile) => Promise<Uint8Array>,
    create: (graph: Uint8Array, externalData?: { path: string; data: Uint8Array }[]) => Promise<InferenceSession>,
  ): Promise<InferenceSession> {
    for (let i = this.candidates.indexOf(this.variant); ; i++) {
      this.variant = this.candidates[i];
      const [graphFile, ...dataFiles] = this.variant.files;
      const graph = await fetchBytes(graphFile);
      const externalData = [];
      for (const f of dataFiles) externalData.push({ path: f.path.split('/').pop()!, data: await fetchBytes(f) });
      let session: InferenceSession;
      try {
        session = await create(graph, externalData.length ? externalData : undefined);
      } catch (e) {
        if (!(e instanceof UnsupportedGraphError)) throw e;
        const op = /implementation for (\w+)/.exec(e.message)?.[1];
        const name = graphFile.path.split('/').pop();
        this.rejected.push(`${name} (${this.variant.dtype}) cannot run here (${op ? `no ${op} kernel` : e.message})`);
        if (i + 1 < this.candidates.length) continue;
        throw new HubRepoError(`${this.name}: no variant of it runs on this backend: ${this.rejected.join('; ')}`);
      }
      this.checkGraph(session);
      this.entry.variants = { [this.variant.dtype]: graphFile };
      return session;
    }
  }

  /**
   * The graph must take what causal-lm.ts feeds (input_ids, attention_mask, position_ids?,
   * past_key_values.{i}.key/value) and give logits and present.{i}.key/value, one pair per layer
   * of config.json; a float16 cache (fp16 exports) is noted in the arch so the empty cache matches.
   */
  checkGraph(session: InferenceSession): void {
    const arch = this.entry.arch;
    const ins = session.inputNames, outs = session.outputNames;
    const extra = ins.filter((n) => !known(n, arch.num_layers));
    const need = ['input_ids', 'attention_mask', ...Array.from({ length: arch.num_layers }, (_, i) => [pastName(i, 'key'), pastName(i, 'value')]).flat()];
    const lack = need.filter((n) => !ins.includes(n));
    const needOut = ['logits', ...Array.from({ length: arch.num_layers }, (_, i) => [presentName(i, 'key'), presentName(i, 'value')]).flat()];
    const lackOut = needOut.filter((n) => !outs.includes(n));
    if (extra.length || lack.length || lackOut.length) {
      throw new HubRepoError(
        `${this.name}: its ONNX graph does not have the layout this engine steps (inputs input_ids, attention_mask, position_ids?, `
        + `past_key_values.{i}.key/value for ${arch.num_layers} layers -> logits, present.{i}.key/value): `
        + [extra.length ? `unknown inputs ${extra.slice(0, 6).join(', ')}` : '', lack.length ? `missing inputs ${lack.slice(0, 6).join(', ')}` : '',
          lackOut.length ? `missing outputs ${lackOut.slice(0, 6).join(', ')}` : ''].filter(Boolean).join('; '),
      );
    }
    const meta = (session as unknown as { inputMetadata?: readonly { name: string; type?: string; shape?: readonly (number | string)[] }[] }).inputMetadata;
    const past = meta?.find?.((m) => m.name === pastName(0, 'key'));
    if (past?.type === 'float16') arch.kv_dtype = 'float16';
    const [, heads, , dim] = past?.shape ?? [];
    if ((typeof heads === 'number' && heads !== arch.num_kv_heads) || (typeof dim === 'number' && dim !== arch.head_dim)) {
      throw new HubRepoError(`${this.name}: its cache is [*, ${heads}, *, ${dim}] but config.json says ${arch.num_kv_heads} kv heads of ${arch.head_dim}`);
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape: each caller checks the fields it reads
function parseJsonBytes(bytes: Uint8Array, path: string): any {
  // (tokenizer.ts has the same, but importing it would pull transformers.js into the page's bundle, which lists hub suites)
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The page's and CLI's backend names for hubDtypeOrder. */
export function hubBackend(b: string): HubBackend {
  return b === 'webgpu' ? 'webgpu' : b === 'wasm' ? 'wasm' : 'node';
}
