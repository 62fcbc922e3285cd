// PEFT LoRA folders for tests (the vitest engine test and e2e/user-arm.spec.ts): the two files
// PEFT's save_pretrained writes (adapter_config.json + adapter_model.safetensors, the layout
// src/engine/peft-adapter.ts reads), made from one of the build's own adapter files so that
// the values are a real ARM's. The build's file holds, per layer and target, A [r, in] then
// (alpha/r) B [out, r] as float16 (docs: src/engine/README.md, "Fused path"): written as PEFT's
// lora_A / lora_B with lora_alpha = scale * r, the adapter is that ARM with its delta W times
// `scale` (scale 1: the same ARM, value for value).
import { LORA_TARGETS, adapterDims, type AdapterDims } from '../fused';
import { PEFT_CONFIG, PEFT_WEIGHTS } from '../peft-adapter';
import type { ModelArch } from '../types';

export { PEFT_CONFIG, PEFT_WEIGHTS };

export interface SafetensorsEntry {
  dtype: 'F16' | 'F32';
  shape: number[];
  /** the raw little-endian values */
  data: Uint8Array;
}

/** A safetensors file as the format's README specifies it: u64 LE header length, JSON header, data. */
export function safetensorsFile(tensors: Record<string, SafetensorsEntry>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - (h.length % 8)) % 8); // the reference writer pads the header to 8 bytes
  const hb = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, p);
    p += t.data.length;
  }
  return out;
}

const part = (t: string) => (['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t) ? 'self_attn' : 'mlp');
export const peftKey = (l: number, t: string, ab: 'A' | 'B') => `base_model.model.model.layers.${l}.${part(t)}.${t}.lora_${ab}.weight`;

export interface PeftFolder {
  config: Uint8Array;
  weights: Uint8Array;
}

/**
 * A suite ARM's adapter as a PEFT folder: the manifest's own when the build ships it as one
 * (`adapter.format` 'peft': adapter_config.json + adapter_model.safetensors, alpha scaled and
 * `configOver` applied to its config), else its raw float16 file rewritten (peftFromAdapterFile).
 * `read` gets a file's bytes by its manifest path.
 */
export function peftOfArm(
  entry: { arch: ModelArch; adapter?: unknown }, read: (path: string) => Uint8Array,
  opts: { scale?: number; configOver?: Record<string, unknown> } = {},
): PeftFolder {
  const a = entry.adapter as { base: string; rank: number; format?: string; config?: { path: string }; file: { path: string } };
  if (a.format === 'peft' && a.config) {
    const cfg = JSON.parse(new TextDecoder().decode(read(a.config.path))) as Record<string, unknown>;
    cfg.lora_alpha = Number(cfg.lora_alpha) * (opts.scale ?? 1);
    Object.assign(cfg, opts.configOver);
    return { config: new TextEncoder().encode(JSON.stringify(cfg, null, 2)), weights: read(a.file.path) };
  }
  return peftFromAdapterFile(read(a.file.path), entry.arch, a.rank, { baseName: a.base, ...opts });
}

/**
 * A build adapter file (float16, see above) as a PEFT folder for the base `baseName`.
 * `configOver` edits adapter_config.json (a wrong base, say).
 */
export function peftFromAdapterFile(
  file: Uint8Array, arch: ModelArch, rank: number,
  opts: { baseName: string; scale?: number; configOver?: Record<string, unknown> },
): PeftFolder {
  const dims: AdapterDims = adapterDims(arch, rank, file.length / 2);
  const tensors: Record<string, SafetensorsEntry> = {};
  let pos = 0;
  for (let l = 0; l < arch.num_layers; l++) {
    for (const t of LORA_TARGETS) {
      const { in: nin, out: nout } = dims[t];
      tensors[peftKey(l, t, 'A')] = { dtype: 'F16', shape: [rank, nin], data: file.slice(pos, pos + 2 * rank * nin) };
      pos += 2 * rank * nin;
      tensors[peftKey(l, t, 'B')] = { dtype: 'F16', shape: [nout, rank], data: file.slice(pos, pos + 2 * nout * rank) };
      pos += 2 * nout * rank;
    }
  }
  if (pos !== file.length) throw new Error(`adapter file of ${file.length} bytes, its layout ${pos}`);
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: opts.baseName,
    r: rank, lora_alpha: rank * (opts.scale ?? 1), lora_dropout: 0.05, target_modules: [...LORA_TARGETS], bias: 'none',
    fan_in_fan_out: false, use_rslora: false, use_dora: false, inference_mode: true, modules_to_save: null,
    rank_pattern: {}, alpha_pattern: {}, ...opts.configOver,
  };
  return { config: new TextEncoder().encode(JSON.stringify(config, null, 2)), weights: safetensorsFile(tensors) };
}
