// The engine under Node: onnxruntime-node on the CPU, model files from a folder
// (public/models by default), the same sha256 checks as the browser.
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-common';
import { Engine, type LoadOptions } from './engine';
import { dtypePreference } from './manifest';
import { NodeFileSource } from './source-node';
import { isMissingKernel, UnsupportedGraphError, type Platform } from './platform';
import { plainRunner, type OrtRuntime } from './ort';

export interface NodePlatformOptions {
  /** folder holding manifest.json */
  modelsDir?: string;
  /** intra-op threads per session; default: every core */
  threads?: number;
  /** ORT graph optimisation level; default 'all' */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Hand the GGUF transport's weights to onnxruntime written into the graph (onnx-inline.ts), as
   * the browser does on WebGPU, instead of as externalData (tests: the WebGPU route checked here)
   */
  transportInline?: boolean;
}

export function createNodePlatform(opts: NodePlatformOptions = {}): Platform {
  const threads = opts.threads ?? availableParallelism();
  const source = new NodeFileSource(opts.modelsDir ?? 'public/models');
  return {
    ort: ort as unknown as OrtRuntime,
    source,
    backend: { backend: 'node-cpu', reason: `onnxruntime-node CPU, ${threads} thread${threads > 1 ? 's' : ''}`, threads, path: 'separate' },
    dtypePreference: (m) => dtypePreference(m, 'node'),
    runner: plainRunner,
    // onnxruntime-node's run() executes synchronously on the JS thread: nothing to overlap
    parallel: false,
    transportInline: opts.transportInline === true,
    async createSession(data, entry, _dtype, { externalData }) {
      const options = {
        ...(externalData ? { externalData } : {}),
        executionProviders: ['cpu'], graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
        // several sessions take turns on the same cores: idle pool threads must not spin
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      };
      try {
        const s = typeof data === 'string' ? await ort.InferenceSession.create(data, options) : await ort.InferenceSession.create(data, options);
        return s as unknown as InferenceSession;
      } catch (e) {
        const raw = (e as Error).message ?? String(e);
        const msg = `model ${entry.id}: onnxruntime-node could not load it: ${raw}`;
        throw isMissingKernel(raw) ? new UnsupportedGraphError(msg) : new Error(msg);
      }
    },
  };
}

export async function loadNodeEngine(opts: LoadOptions & NodePlatformOptions): Promise<Engine> {
  return Engine.load(createNodePlatform(opts), opts);
}
