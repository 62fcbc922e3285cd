// The typed message protocol between the page and the engine worker (WebLLM style):
// the UI only sends requests and renders what comes back.
import type { GenerateSettings, GenerationResult, LoadProgress, TokenRecord } from '../engine/types';
import type { EngineLoadOptions, Ready } from '../engine/interface';

/** GenArmEngine.load's options (src/engine/interface.ts, documented there), base URL filled in. */
export interface LoadRequest extends EngineLoadOptions {
  type: 'load';
  baseUrl: string;
  /** test hook, honoured by the test build only (engine.worker.ts): WebGPU from the GGUF transport */
  transportOnWebGpu?: boolean;
}
export interface GenerateRequest { type: 'generate'; requestId: number; settings: GenerateSettings }
export interface AbortRequest { type: 'abort'; requestId: number }

/** Test hook: destroy the WebGPU device to exercise the fallback to WASM (the e2e test build only: engine.worker.ts). */
export interface DebugRequest { type: 'debug'; action: 'lose-gpu' }

export type WorkerRequest = LoadRequest | GenerateRequest | AbortRequest | DebugRequest;

export type WorkerEvent =
  | { type: 'progress'; progress: LoadProgress }
  /** the answer of a load, and again after a fallback to WASM */
  | ({ type: 'ready' } & Ready)
  | { type: 'start'; requestId: number; prompt_tokens: number; prompt_truncated: boolean }
  | { type: 'token'; requestId: number; token: TokenRecord }
  /** what a long run is doing between tokens (Best-of-N sampling, RM loading) */
  | { type: 'status'; requestId: number; message: string }
  | { type: 'done'; requestId: number; result: GenerationResult }
  | { type: 'error'; requestId?: number; message: string; file?: string; recoverable: boolean }
  | { type: 'notice'; message: string };
