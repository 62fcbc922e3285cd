// Reading the manifest: shape checks with messages that say what is wrong, the models
// of a suite, and the dtype to load on a backend.
import type { BuiltinObjective, Dtype, Manifest, ManifestFile, ModelEntry, ModelSuite, Objective } from './types';

export const OBJECTIVES: readonly BuiltinObjective[] = ['helpfulness', 'harmlessness'];

export function checkManifest(json: unknown): Manifest {
  const m = json as Manifest;
  if (!m || typeof m !== 'object') throw new Error('manifest.json is not an object');
  if (m.version !== 1) throw new Error(`manifest.json version ${String(m.version)} is not supported (expected 1)`);
  if (!m.models || !m.suites) throw new Error('manifest.json lacks "models" or "suites"');
  for (const [id, e] of Object.entries(m.models)) {
    if (!e.arch || !e.variants || !e.folder) throw new Error(`manifest.json: model ${id} lacks arch, variants or folder`);
  }
  return m;
}

/**
 * The manifest as a browser sees it: without the variants whose files only Node loads
 * (`node_only`: built into models-node/, never served), so no dtype choice can pick them. The
 * one exception is fp32 where the model has a GGUF transport: the browser builds those weights
 * from the GGUF's blocks (transport.ts), so fp32 stays choosable, while its inline graph file is
 * still refused if asked for (source-browser.ts: `transport: false` names the Node-only file).
 */
export function browserManifest(m: Manifest): Manifest {
  const keep = <T extends Partial<Record<Dtype, ManifestFile>>>(v: T, transport: unknown): T =>
    Object.fromEntries(Object.entries(v).filter(([d, f]) => !f?.node_only || (d === 'fp32' && !!transport))) as T;
  return {
    ...m,
    models: Object.fromEntries(Object.entries(m.models).map(([id, e]) => [id, { ...e, variants: keep(e.variants, e.transport) }])),
    suites: Object.fromEntries(Object.entries(m.suites).map(([id, s]) => [id, s.fused
      ? { ...s, fused: { ...s.fused, variants: keep(s.fused.variants, s.fused.transport) } } : s])),
  };
}

/**
 * The suite to load when none is asked for, read from the manifest alone: its declared
 * `default` when that suite exists, else the first suite in manifest order whose base is
 * not marked `tiny` (the random-weight test models), else the first suite; undefined for
 * a manifest without suites.
 */
export function defaultSuite(m: Pick<Manifest, 'suites' | 'models' | 'default'>): string | undefined {
  const ids = Object.keys(m.suites);
  if (m.default && m.suites[m.default]) return m.default;
  return ids.find((id) => !m.models[m.suites[id].base]?.tiny) ?? ids[0];
}

export interface SuiteModels {
  suite: ModelSuite;
  base: ModelEntry;
  arms: Partial<Record<Objective, ModelEntry>>;
  rms: Partial<Record<Objective, ModelEntry>>;
  /** chat_template.jinja is optional: newer exports keep the template there, not in the config */
  tokenizer: { json: ManifestFile; config: ManifestFile; template?: ManifestFile };
}

export function resolveSuite(m: Manifest, suiteId: string): SuiteModels {
  const suite = m.suites[suiteId];
  if (!suite) throw new Error(`suite '${suiteId}' is not in manifest.json (it has: ${Object.keys(m.suites).join(', ') || 'none'})`);
  const model = (id: string, what: string): ModelEntry => {
    const e = m.models[id];
    if (!e) throw new Error(`suite '${suiteId}' names ${what} '${id}', which manifest.json does not list`);
    return e;
  };
  const base = model(suite.base, 'base');
  const arms: SuiteModels['arms'] = {};
  const rms: SuiteModels['rms'] = {};
  for (const o of OBJECTIVES) {
    if (suite.arms[o]) arms[o] = model(suite.arms[o]!, `${o} ARM`);
    if (suite.rms[o]) rms[o] = model(suite.rms[o]!, `${o} RM`);
  }
  const tokModel = model(base.tokenizer, 'tokenizer');
  const find = (name: string): ManifestFile => {
    const f = tokModel.files.find((x) => x.path === name || x.path.endsWith(`/${name}`));
    if (!f) throw new Error(`model '${tokModel.id}' lists no ${name} in manifest.json`);
    return f;
  };
  const template = tokModel.files.find((x) => x.path === 'chat_template.jinja' || x.path.endsWith('/chat_template.jinja'));
  return {
    suite, base, arms, rms,
    tokenizer: { json: find('tokenizer.json'), config: find('tokenizer_config.json'), ...(template ? { template } : {}) },
  };
}

export interface DtypeChoice {
  dtype: Dtype;
  /** words for BackendInfo.reason, e.g. "q4 preferred for wasm" */
  why: string;
}

/**
 * The first dtype, in order of preference, that every given model has. A dtype the
 * caller asked for explicitly is not silently replaced: if a model lacks it, that is
 * an error naming the model.
 */
export function chooseDtype(models: ModelEntry[], preference: Dtype[], requested?: Dtype): DtypeChoice {
  if (requested) {
    const lacking = models.filter((e) => !e.variants[requested]);
    if (lacking.length) {
      throw new Error(`dtype ${requested} requested, but ${lacking.map((e) => e.id).join(', ')} ha${lacking.length > 1 ? 've' : 's'} no ${requested} variant in manifest.json`);
    }
    return { dtype: requested, why: `${requested} requested` };
  }
  const seen = new Set<Dtype>();
  for (const d of preference) {
    if (seen.has(d)) continue;
    seen.add(d);
    if (models.every((e) => e.variants[d])) {
      return { dtype: d, why: d === preference[0] ? `${d} preferred` : `${d} (preferred ${preference[0]} not available for every model)` };
    }
  }
  throw new Error(`no dtype among ${[...seen].join(', ')} is available for every model (${models.map((e) => e.id).join(', ')})`);
}

/** Files one model needs at a dtype (the ONNX graph only: arch comes from the manifest). */
export function variantFile(e: ModelEntry, dtype: Dtype): ManifestFile {
  const f = e.variants[dtype];
  if (!f) throw new Error(`model ${e.id} has no ${dtype} variant in manifest.json`);
  return f;
}

const F16: readonly Dtype[] = ['fp16', 'q4f16'];

/**
 * Dtypes to try on a backend, best first: the manifest's measured preference, then
 * the rest. f16 dtypes only where the GPU has shader-f16 (docs/BROWSER.md: without it
 * the JSEP build silently returns zeros).
 */
export function dtypePreference(m: Manifest, backend: 'webgpu' | 'wasm' | 'node', shaderF16 = false): Dtype[] {
  const p = m.preferred ?? ({} as Manifest['preferred']);
  let order: (Dtype | undefined)[];
  if (backend === 'webgpu') order = shaderF16 ? [p.webgpu_f16, p.webgpu, 'q4f16', 'q4', 'fp16', 'fp32', 'q8'] : [p.webgpu, 'q4', 'fp32', 'q8'];
  else if (backend === 'wasm') order = [p.wasm, 'q8', 'q4', 'fp32'];
  else order = [p.node, 'fp32', 'q8', 'q4'];
  const allowF16 = backend === 'webgpu' && shaderF16;
  return order.filter((d): d is Dtype => !!d && (allowF16 || !F16.includes(d)));
}
