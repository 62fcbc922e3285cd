// What differs between the browser and Node: the runtime, where files come from,
// how a session is made and run. The engine itself is the same code on both.
import type { BackendInfo, Dtype, Manifest, ModelEntry } from './types';
import type { FileData, FileSource } from './files';
import type { InferenceSession, OrtRuntime, SessionRunner, Tensor } from './ort';

export interface SessionOptions {
  kvOnDevice: boolean;
  /** the weights of a weightless graph (onnxruntime's `externalData`: path = the graph's location) */
  externalData?: { path: string; data: Uint8Array }[];
}

export interface Platform {
  ort: OrtRuntime;
  source: FileSource;
  /** backend and why; the dtype is chosen per suite at load time */
  backend: Omit<BackendInfo, 'dtype'>;
  /** the order of dtypes to try on this backend (from manifest.preferred and f16 support) */
  dtypePreference(manifest: Manifest): Dtype[];
  runner: SessionRunner;
  /** sessions may run concurrently (onnxruntime-node); ORT web serialises anyway */
  parallel: boolean;
  /**
   * `kvOnDevice`: keep present.* where the backend computed them (GPU buffers under
   * WebGPU). Trajectory RMs get false: ARGS tiles and slices their caches on the CPU.
   */
  createSession(data: FileData, entry: ModelEntry, dtype: Dtype, opts: SessionOptions): Promise<InferenceSession>;
  /**
   * How the expanded weights of an fp32 graph's GGUF transport (transport.ts: every platform
   * loads from it) reach onnxruntime: false/absent, as the `externalData` session option (WASM,
   * Node: less memory); true, written into the graph as inline initializers
   * (onnx-inline.ts) and handed over as one complete model (WebGPU, where a session created with
   * externalData that loses its device hangs every later session creation: docs/BROWSER.md).
   */
  transportInline?: boolean;
  /**
   * A float32 graph input that is made once and read by every step (the fused graph's
   * adapters): a GPU buffer under WebGPU, so it is not uploaded per step. Default: a
   * CPU tensor. Call after a session exists (ORT's WebGPU device is made with it).
   */
  residentTensor?(data: Float32Array, dims: number[]): Promise<Tensor>;
  /** free platform resources (GPU device watchers) */
  dispose?(): void;
}

/**
 * The runtime cannot build this graph on this backend (an operator without a kernel
 * here, e.g. GatherBlockQuantized on WASM). Another dtype of the same model may work.
 */
export class UnsupportedGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedGraphError';
  }
}

/** ORT's wording when no kernel exists for a node on the chosen execution provider. */
export function isMissingKernel(message: string): boolean {
  return /Could not find an implementation|NOT_IMPLEMENTED|not supported/i.test(message);
}
