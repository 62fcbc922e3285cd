// The engine in a browser worker: onnxruntime-web (the same 'onnxruntime-web/webgpu'
// build transformers.js imports, so the bundle carries one runtime), its wasm/mjs
// served by the app itself, WebGPU when an adapter exists, else multi-threaded WASM.
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import type { BackendInfo, Manifest, ModelEntry } from './types';
import { dtypePreference } from './manifest';
import { BrowserFileSource } from './source-browser';
import { presentName } from './kv-cache';
import { isMissingKernel, UnsupportedGraphError, type Platform } from './platform';
import type { Feeds, InferenceSession, OrtRuntime, Outputs, Tensor } from './ort';

// The few WebGPU types used here (the DOM lib in TypeScript 5.9 has none).
interface GpuAdapterInfoLike { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }
interface GpuAdapterLike { features: { has(name: string): boolean }; info?: GpuAdapterInfoLike; isFallbackAdapter?: boolean }
interface GpuLike { requestAdapter(o?: { powerPreference?: string }): Promise<GpuAdapterLike | null> }
interface GpuDeviceLike { lost: Promise<{ reason?: string; message?: string }>; destroy(): void }
interface GpuBufferLike { destroy(): void }
interface GpuBufferDeviceLike {
  createBuffer(d: { size: number; usage: number }): GpuBufferLike;
  queue: { writeBuffer(b: GpuBufferLike, offset: number, data: ArrayBufferLike, dataOffset: number, size: number): void };
}
// GPUBufferUsage flags (the DOM lib here has no WebGPU types)
const GPU_BUFFER_COPY_SRC = 0x04;
const GPU_BUFFER_COPY_DST = 0x08;
const GPU_BUFFER_STORAGE = 0x80;

/** The GPU device was lost or a WebGPU session failed: the caller falls back to WASM. */
export class GpuLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuLostError';
  }
}

export interface BrowserPlatformOptions {
  /** folder URL of manifest.json */
  baseUrl: string;
  /** force a backend (tests, fallback); default: WebGPU when there is an adapter */
  backend?: 'webgpu' | 'wasm';
  /** WASM threads; default: all cores when cross-origin isolated, else 1 */
  threads?: number;
  /** ORT log level; 0 prints which execution provider each node was placed on */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  notice?: (message: string) => void;
  /** false: onnxruntime's `session.disable_prepacking` (EngineLoadOptions.prepack); default: on, unless navigator.deviceMemory <= 4 */
  prepack?: boolean;
}

interface GpuProbe {
  adapter: GpuAdapterLike | null;
  shaderF16: boolean;
  why: string;
}

async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { adapter: null, shaderF16: false, why: 'navigator.gpu is not available' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { adapter: null, shaderF16: false, why: `requestAdapter failed (${(e as Error).message})` };
  }
  if (!adapter) return { adapter: null, shaderF16: false, why: 'no WebGPU adapter' };
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown GPU';
  const fallback = info?.isFallbackAdapter ?? adapter.isFallbackAdapter;
  const shaderF16 = adapter.features.has('shader-f16');
  return {
    adapter,
    shaderF16,
    why: `WebGPU adapter: ${name}${fallback ? ' (software fallback adapter)' : ''}, ${shaderF16 ? 'with' : 'no'} shader-f16`,
  };
}

function configureWasm(threads: number): void {
  // local runtime files, never a CDN (transformers.js would point ORT at one)
  ort.env.wasm.wasmPaths = { wasm: wasmUrl, mjs: mjsUrl };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false; // already off the main thread
}

export async function createBrowserPlatform(opts: BrowserPlatformOptions): Promise<Platform> {
  const notice = opts.notice ?? (() => {});
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = navigator.hardwareConcurrency || 1;
  const threads = opts.threads ?? (isolated ? Math.min(cores, 8) : 1);
  configureWasm(threads);
  const wasmWhy = `WASM, ${threads} thread${threads > 1 ? 's' : ''}${isolated ? '' : ' (page not cross-origin isolated)'}`;

  let backend: BackendInfo['backend'] = 'wasm';
  let shaderF16 = false;
  let reason: string;
  if (opts.backend === 'wasm') {
    reason = `WASM requested: ${wasmWhy}`;
  } else {
    const probe = await probeWebGpu();
    if (probe.adapter) {
      backend = 'webgpu';
      shaderF16 = probe.shaderF16;
      reason = probe.why;
    } else {
      if (opts.backend === 'webgpu') throw new Error(`WebGPU requested but unavailable: ${probe.why}`);
      reason = `${probe.why}: ${wasmWhy}`;
    }
  }

  // Weight pre-packing: onnxruntime keeps a packed copy of each fp32 MatMul weight, which is
  // faster per token but, since WASM memory never shrinks, leaves the renderer at about twice
  // the weights (bench/results/transport-load.json: SmolLM2 base + 2 ARMs fused, 1985 MiB and
  // 75 ms/token with it, 1097 MiB and 95 ms/token without). Kept on unless asked otherwise or the
  // device reports 4 GB of memory or less (navigator.deviceMemory, Chromium only).
  const deviceMemory = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
  const prepack = opts.prepack ?? !(backend === 'wasm' && deviceMemory !== undefined && deviceMemory <= 4);
  if (backend === 'wasm' && !prepack) {
    reason += `; weight pre-packing off (${opts.prepack === false ? 'requested' : `device memory ${deviceMemory} GB`}: less memory, slower per token)`;
  }

  // Device loss turns every pending and later run into a rejection instead of a hang.
  let lostReason: string | null = null;
  let rejectLost: (e: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => (rejectLost = reject));
  lost.catch(() => {});
  let watching = false;
  const watchDevice = async () => {
    if (watching || backend !== 'webgpu') return;
    watching = true;
    const device = (await ort.env.webgpu.device) as unknown as GpuDeviceLike | undefined;
    device?.lost.then((info) => {
      lostReason = `GPU device lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''})`;
      notice(lostReason);
      rejectLost(new GpuLostError(lostReason));
    });
  };

  const runner = async (session: InferenceSession, feeds: Feeds): Promise<Outputs> => {
    if (backend !== 'webgpu') return session.run(feeds);
    if (lostReason) throw new GpuLostError(lostReason);
    try {
      return await Promise.race([session.run(feeds), lost]);
    } catch (e) {
      if (e instanceof GpuLostError) throw e;
      throw new GpuLostError(`WebGPU run failed: ${(e as Error).message}`);
    }
  };

  return {
    ort: ort as unknown as OrtRuntime,
    source: new BrowserFileSource({ baseUrl: opts.baseUrl, notice }),
    backend: { backend, reason, threads: backend === 'wasm' ? threads : undefined, path: 'separate', ...(backend === 'webgpu' ? { shader_f16: shaderF16 } : {}) },
    dtypePreference: (m: Manifest) => dtypePreference(m, backend === 'webgpu' ? 'webgpu' : 'wasm', shaderF16),
    runner,
    parallel: false,
    // the GGUF transport on both backends: WASM takes the expanded weights as externalData (less
    // memory); WebGPU gets them written into the graph (onnx-inline.ts), since with
    // onnxruntime-web 1.30 an externalData session that loses its device makes every later
    // session creation, the fallback to WASM included, hang (docs/BROWSER.md)
    transportInline: backend === 'webgpu',
    async createSession(data, entry: ModelEntry, _dtype, { kvOnDevice, externalData }) {
      if (typeof data === 'string') throw new Error('the browser platform loads models from bytes');
      const gpuKv = backend === 'webgpu' && kvOnDevice;
      const preferredOutputLocation = gpuKv
        ? Object.fromEntries(
            Array.from({ length: entry.arch.num_layers }, (_, i) => [presentName(i, 'key'), presentName(i, 'value')])
              .flat()
              .map((n) => [n, 'gpu-buffer' as const]),
          )
        : undefined;
      try {
        const session = await ort.InferenceSession.create(data, {
          executionProviders: [backend],
          graphOptimizationLevel: 'all',
          ...(preferredOutputLocation ? { preferredOutputLocation } : {}),
          ...(externalData ? { externalData } : {}),
          ...(opts.logSeverityLevel !== undefined ? { logSeverityLevel: opts.logSeverityLevel } : {}),
          ...(!prepack ? { extra: { session: { disable_prepacking: '1' } } } : {}),
        });
        await watchDevice();
        return session as unknown as InferenceSession;
      } catch (e) {
        const raw = (e as Error).message ?? String(e);
        const msg = `model ${entry.id}: ${backend} session failed: ${raw}`;
        if (isMissingKernel(raw)) throw new UnsupportedGraphError(msg);
        throw backend === 'webgpu' ? new GpuLostError(msg) : new Error(msg);
      }
    },
    async residentTensor(data: Float32Array, dims: number[]) {
      if (backend !== 'webgpu') return new ort.Tensor('float32', data, dims);
      // uploaded once to ORT's own device; the fused graph reads it every step
      const device = (await ort.env.webgpu.device) as unknown as GpuBufferDeviceLike;
      const buffer = device.createBuffer({
        size: Math.ceil(data.byteLength / 16) * 16,
        usage: GPU_BUFFER_STORAGE | GPU_BUFFER_COPY_SRC | GPU_BUFFER_COPY_DST,
      });
      device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return ort.Tensor.fromGpuBuffer(buffer as never, { dataType: 'float32', dims, dispose: () => buffer.destroy() }) as unknown as Tensor;
    },
    dispose() {
      rejectLost(new GpuLostError('platform disposed'));
    },
  };
}

/** Test hook: destroy ORT's WebGPU device, as a driver reset or a tab crash would. */
export async function loseGpuDevice(): Promise<string> {
  let device: GpuDeviceLike | undefined;
  try {
    device = (await ort.env.webgpu.device) as unknown as GpuDeviceLike | undefined;
  } catch {
    device = undefined;
  }
  if (!device) return 'no WebGPU device to lose';
  device.destroy();
  return 'WebGPU device destroyed (test hook)';
}
