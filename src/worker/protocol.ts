// The typed message protocol between the page and the engine worker (WebLLM style):
// the UI only sends requests and renders what comes back.
import type {
  BackendInfo, Dtype, GenerateSettings, GenerationResult, LoadProgress, Manifest, TokenRecord,
} from '../engine/types';

export interface LoadRequest {
  type: 'load';
  /** base URL of manifest.json, default '/models/' */
  baseUrl: string;
  /** suite id from the manifest */
  suite: string;
  /** force a backend (tests): otherwise WebGPU when available, else WASM */
  backend?: 'webgpu' | 'wasm';
  /** force a dtype; otherwise manifest.preferred for the chosen backend */
  dtype?: Dtype;
  /** WASM threads (default: all cores when cross-origin isolated) */
  threads?: number;
  /** load the trajectory RMs now instead of on the first ARGS / Best-of-N run */
  loadRms?: boolean;
  /** 'auto' (default): the fused graph when the suite has one; 'fused' / 'separate' force a path (tests, bench) */
  path?: 'auto' | 'fused' | 'separate';
  /** ORT log level for the sessions; 0 logs the execution provider of every node */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}
export interface GenerateRequest { type: 'generate'; requestId: number; settings: GenerateSettings }
export interface AbortRequest { type: 'abort'; requestId: number }

/** Test hook: destroy the WebGPU device to exercise the fallback to WASM (the e2e test build only: engine.worker.ts). */
export interface DebugRequest { type: 'debug'; action: 'lose-gpu' }

export type WorkerRequest = LoadRequest | GenerateRequest | AbortRequest | DebugRequest;

export type WorkerEvent =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'ready'; backend: BackendInfo; manifest: Manifest; notices: string[] }
  | { type: 'start'; requestId: number; prompt_tokens: number; prompt_truncated: boolean }
  | { type: 'token'; requestId: number; token: TokenRecord }
  /** what a long run is doing between tokens (Best-of-N sampling, RM loading) */
  | { type: 'status'; requestId: number; message: string }
  | { type: 'done'; requestId: number; result: GenerationResult }
  | { type: 'error'; requestId?: number; message: string; file?: string; recoverable: boolean }
  | { type: 'notice'; message: string };
