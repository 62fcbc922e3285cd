// The typed message protocol between the page and the engine worker (WebLLM style):
// the UI only sends requests and renders what comes back.
import type { AdapterFiles, AdapterInfo, GenerateSettings, GenerationResult, LoadProgress, Objective, TokenRecord } from '../engine/types';
import type { EngineLoadOptions, Ready } from '../engine/interface';

/** GenArmEngine.load's options (src/engine/interface.ts, documented there), base URL filled in. */
export interface LoadRequest extends EngineLoadOptions {
  type: 'load';
  baseUrl: string;
}
export interface GenerateRequest { type: 'generate'; requestId: number; settings: GenerateSettings }
export interface AbortRequest { type: 'abort'; requestId: number }

/** Test hook: destroy the WebGPU device to exercise the fallback to WASM (the e2e test build only: engine.worker.ts). */
export interface DebugRequest { type: 'debug'; action: 'lose-gpu' }

/**
 * GenArmEngine.addAdapter: a user's PEFT LoRA folder as bytes (src/engine/peft-adapter.ts). The
 * host cancels the run in flight, then answers 'adapter-added' or an 'error' with this requestId.
 */
export interface AddAdapterRequest extends AdapterFiles { type: 'add-adapter'; requestId: number }
/** GenArmEngine.removeAdapter: answered by 'adapter-removed' or an 'error' with this requestId. */
export interface RemoveAdapterRequest { type: 'remove-adapter'; requestId: number; objective: Objective }

export type WorkerRequest = LoadRequest | GenerateRequest | AbortRequest | AddAdapterRequest | RemoveAdapterRequest | DebugRequest;

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
  | { type: 'notice'; message: string }
  | { type: 'adapter-added'; requestId: number; adapter: AdapterInfo }
  | { type: 'adapter-removed'; requestId: number; objective: Objective };
