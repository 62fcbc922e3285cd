// A user's ARM as a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, the
// folder PEFT's save_pretrained and TRL write), validated against the base and turned into a
// row of the fused graph (fused.ts), so a new objective needs no new download.
//
// The rules are training/genarm/peft_adapter.py's read_peft, which proves on the Python side
// that such a folder loads in PEFT and equals our LoRA (delta W = (lora_alpha / r) * B @ A, no
// rsLoRA, no DoRA, no per-module rank or alpha, no bias or saved modules). Tensor names:
//   base_model.model.model.layers.{l}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight   A [r, in], B [out, r]
//   base_model.model.model.layers.{l}.mlp.{gate,up,down}_proj.lora_{A,B}.weight
// (PEFT may insert the adapter name, `.default.`, before `.weight`).
//
// safetensors is parsed here (an 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets}}, then the raw little-endian data; the format's
// specification is the safetensors README): the maintained JavaScript readers (@huggingface/hub's
// parseSafetensorsMetadata) fetch from a hub repository by range requests and do not read bytes
// the user dropped on the page.
import { LORA_TARGETS, halfToFloat, type AdapterDims, type LoraTarget, type RowAdapter } from './fused';

export const PEFT_CONFIG = 'adapter_config.json';
export const PEFT_WEIGHTS = 'adapter_model.safetensors';
const ATTN: readonly LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const KEY = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+_proj)\.lora_([AB])\.weight$/;

/** A file that is not a LoRA adapter this base can run; `message` says why. */
export class AdapterError extends Error {
  override name = 'AdapterError';
}

/** What an adapter must fit: the base's name (the last path part is compared), layers, projections. */
export interface AdapterBase {
  name: string;
  layers: number;
  dims: AdapterDims;
}

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  /** the tensor's values, widened to float32 */
  values: Float32Array;
}

/** The tensors of a safetensors file, widened to float32 (F16, BF16 and F32 only). */
export function readSafetensors(bytes: Uint8Array, what = PEFT_WEIGHTS): Map<string, SafetensorsTensor> {
  if (bytes.length < 8) throw new AdapterError(`${what}: ${bytes.length} bytes, not a safetensors file`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new AdapterError(`${what}: header of ${n} bytes in a ${bytes.length}-byte file: not a safetensors file`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new AdapterError(`${what}: unreadable safetensors header (${(e as Error).message})`, { cause: e });
  }
  const data = 8 + n;
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = t;
    if (!dtype || !Array.isArray(shape) || !Array.isArray(off)) throw new AdapterError(`${what}: tensor ${name} lacks dtype, shape or data_offsets`);
    const count = shape.reduce((a, b) => a * b, 1);
    const width = dtype === 'F32' ? 4 : dtype === 'F16' || dtype === 'BF16' ? 2 : 0;
    if (!width) throw new AdapterError(`${what}: ${name} is ${dtype}; float16, bfloat16 or float32 expected`);
    const [a, b] = off;
    if (b - a !== count * width || data + b > bytes.length) {
      throw new AdapterError(`${what}: ${name} (${dtype} ${JSON.stringify(shape)}) spans bytes ${a}..${b}, the file ends at ${bytes.length - data}: truncated or corrupt`);
    }
    const v = new Float32Array(count);
    const p = data + a;
    if (dtype === 'F32') for (let i = 0; i < count; i++) v[i] = dv.getFloat32(p + 4 * i, true);
    else if (dtype === 'F16') for (let i = 0; i < count; i++) v[i] = halfToFloat(dv.getUint16(p + 2 * i, true));
    else {
      // bfloat16: the high half of a float32
      const w = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) { w.setUint32(0, dv.getUint16(p + 2 * i, true) << 16); v[i] = w.getFloat32(0); }
    }
    out.set(name, { dtype, shape, values: v });
  }
  return out;
}

/** A user ARM's name (the objective is `user:NAME`): trimmed, 1 to 64 characters, no control characters. */
export function adapterName(raw: string): string {
  const name = String(raw ?? '').trim();
  if (!name) throw new AdapterError('give the ARM a name (it labels its slider and its heatmap channel)');
  if (name.length > 64) throw new AdapterError(`the ARM's name is ${name.length} characters long; 64 at most`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new AdapterError("the ARM's name holds control characters");
  return name;
}

export interface PeftAdapter {
  rank: number;
  alpha: number;
  /** the base the adapter says it was trained on */
  baseModel: string;
  layers: number[];
  targets: LoraTarget[];
  /** `${layer}.${target}` -> A [r, in] and B [out, r] as PEFT stores them */
  matrices: Map<string, { A: Float32Array; B: Float32Array }>;
}

/** Validate a PEFT folder's two files against the base; throws AdapterError with the reason. */
export function readPeftAdapter(configBytes: Uint8Array, weightBytes: Uint8Array, base: AdapterBase): PeftAdapter {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (e) {
    throw new AdapterError(`${PEFT_CONFIG}: not JSON (${(e as Error).message})`, { cause: e });
  }
  if (cfg.peft_type !== 'LORA') throw new AdapterError(`${PEFT_CONFIG}: peft_type ${JSON.stringify(cfg.peft_type)}, only LORA adapters are ARMs`);
  const baseModel = String(cfg.base_model_name_or_path ?? '');
  const short = (s: string) => s.replace(/\/+$/, '').split('/').pop()!.toLowerCase();
  if (short(baseModel) !== short(base.name)) throw new AdapterError(`${PEFT_CONFIG}: trained on ${JSON.stringify(baseModel)}, this base is ${base.name}`);
  for (const k of ['use_dora', 'use_rslora', 'fan_in_fan_out']) {
    if (cfg[k] === true) throw new AdapterError(`${PEFT_CONFIG}: ${k} is not supported (plain LoRA: delta W = alpha/r * B A)`);
  }
  const nonEmpty = (x: unknown) => !!x && typeof x === 'object' && Object.keys(x).length > 0;
  if (nonEmpty(cfg.rank_pattern) || nonEmpty(cfg.alpha_pattern)) throw new AdapterError(`${PEFT_CONFIG}: per-module rank_pattern / alpha_pattern are not supported`);
  if ((cfg.bias ?? 'none') !== 'none' || (cfg.modules_to_save != null && nonEmpty(cfg.modules_to_save))) {
    throw new AdapterError(`${PEFT_CONFIG}: bias=${JSON.stringify(cfg.bias)}, modules_to_save=${JSON.stringify(cfg.modules_to_save)}: only LoRA matrices can be added to the shared base`);
  }
  const r = cfg.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) throw new AdapterError(`${PEFT_CONFIG}: r=${JSON.stringify(r)} is not a positive rank`);
  const alpha = typeof cfg.lora_alpha === 'number' ? cfg.lora_alpha : NaN;
  if (!Number.isFinite(alpha)) throw new AdapterError(`${PEFT_CONFIG}: lora_alpha=${JSON.stringify(cfg.lora_alpha)} is not a number`);

  const tensors = readSafetensors(weightBytes);
  const halves = new Map<string, { A?: Float32Array; B?: Float32Array }>();
  for (const [key, t] of tensors) {
    const m = KEY.exec(key.replace('.default.', '.'));
    if (!m) throw new AdapterError(`${PEFT_WEIGHTS}: tensor ${key} is not a LoRA matrix of a Llama projection`);
    const [l, part, proj, ab] = [Number(m[1]), m[2], m[3] as LoraTarget, m[4] as 'A' | 'B'];
    if (!LORA_TARGETS.includes(proj) || (part === 'self_attn') !== ATTN.includes(proj)) throw new AdapterError(`${PEFT_WEIGHTS}: ${key}: no such projection in ${base.name}`);
    if (l >= base.layers) throw new AdapterError(`${PEFT_WEIGHTS}: ${key}: layer ${l}, the base has ${base.layers}`);
    const { in: nin, out: nout } = base.dims[proj];
    const want = ab === 'A' ? [r, nin] : [nout, r];
    if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1]) {
      throw new AdapterError(`${PEFT_WEIGHTS}: ${key} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(want)} (r=${r})`);
    }
    const k = `${l}.${proj}`;
    halves.set(k, { ...halves.get(k), [ab]: t.values });
  }
  const matrices = new Map<string, { A: Float32Array; B: Float32Array }>();
  for (const [k, h] of halves) {
    if (!h.A || !h.B) throw new AdapterError(`${PEFT_WEIGHTS}: layer ${k.replace('.', ' ')} has lora_${h.A ? 'A' : 'B'} but no lora_${h.A ? 'B' : 'A'}`);
    matrices.set(k, { A: h.A, B: h.B });
  }
  if (!matrices.size) throw new AdapterError(`${PEFT_WEIGHTS}: no LoRA tensors`);
  const keys = [...matrices.keys()];
  return {
    rank: r, alpha, baseModel,
    layers: [...new Set(keys.map((k) => Number(k.split('.')[0])))].sort((a, b) => a - b),
    targets: LORA_TARGETS.filter((t) => keys.some((k) => k.endsWith(`.${t}`))),
    matrices,
  };
}

/**
 * The adapter as a row of the fused graph (fused.ts RowAdapter: per target A^T [L, in, rank] and
 * (alpha/r) B^T [L, rank, out]). Layers and projections the adapter leaves out stay zero; a rank
 * below the graph's is zero-padded (the padded columns add nothing), a higher one does not fit.
 */
export function toRowAdapter(p: PeftAdapter, base: AdapterBase, rank: number): RowAdapter {
  if (p.rank > rank) throw new AdapterError(`LoRA rank ${p.rank}: the fused graph takes rank ${rank} at most`);
  const L = base.layers;
  const scale = p.alpha / p.rank;
  const A = {} as RowAdapter['A'];
  const B = {} as RowAdapter['B'];
  for (const t of LORA_TARGETS) {
    const { in: nin, out: nout } = base.dims[t];
    A[t] = new Float32Array(L * nin * rank);
    B[t] = new Float32Array(L * rank * nout);
    for (let l = 0; l < L; l++) {
      const m = p.matrices.get(`${l}.${t}`);
      if (!m) continue;
      const ao = l * nin * rank;
      for (let k = 0; k < p.rank; k++) for (let i = 0; i < nin; i++) A[t][ao + i * rank + k] = m.A[k * nin + i];
      const bo = l * rank * nout;
      for (let o = 0; o < nout; o++) for (let k = 0; k < p.rank; k++) B[t][bo + k * nout + o] = scale * m.B[o * p.rank + k];
    }
  }
  return { A, B };
}
