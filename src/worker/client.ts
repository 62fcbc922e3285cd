// A typed client of the engine worker for the UI: promises for load and generate,
// subscriptions for progress, notices and backend changes (a WASM fallback after a
// lost GPU sends a second 'ready').
import type { BackendInfo, GenerateSettings, GenerationResult, LoadProgress, Manifest, TokenRecord } from '../engine/types';
import type { LoadRequest, WorkerEvent, WorkerRequest } from './protocol';

export interface Ready {
  backend: BackendInfo;
  manifest: Manifest;
  notices: string[];
}

export class EngineError extends Error {
  constructor(message: string, readonly file?: string, readonly recoverable = true) {
    super(message);
    this.name = 'EngineError';
  }
}

interface Pending {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onToken?: (t: TokenRecord) => void;
  onStatus?: (m: string) => void;
  onStart?: (info: { prompt_tokens: number; prompt_truncated: boolean }) => void;
}

type Listener<T> = (value: T) => void;

export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private current: number | null = null;
  private readonly pending = new Map<number, Pending>();
  private loadWaiter: { resolve: (r: Ready) => void; reject: (e: Error) => void } | null = null;
  private readonly progressListeners = new Set<Listener<LoadProgress>>();
  private readonly noticeListeners = new Set<Listener<string>>();
  private readonly readyListeners = new Set<Listener<Ready>>();
  private readonly errorListeners = new Set<Listener<EngineError>>();

  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
    this.worker.addEventListener('message', (e: MessageEvent<WorkerEvent>) => this.onEvent(e.data));
    this.worker.addEventListener('error', (e) => {
      const err = new EngineError(`engine worker crashed: ${e.message}`, undefined, false);
      this.failAll(err);
    });
  }

  /** Load a suite; resolves on 'ready', rejects with an EngineError naming a bad file. */
  load(req: Omit<LoadRequest, 'type' | 'baseUrl'> & { baseUrl?: string }): Promise<Ready> {
    this.loadWaiter?.reject(new EngineError('superseded by a newer load'));
    return new Promise<Ready>((resolve, reject) => {
      this.loadWaiter = { resolve, reject };
      this.send({ type: 'load', baseUrl: req.baseUrl ?? '/models/', ...req });
    });
  }

  /**
   * Start a generation; a run already in flight is cancelled (its promise resolves
   * with finish_reason 'abort'). `onToken` only ever sees this run's tokens.
   */
  generate(
    settings: GenerateSettings,
    onToken?: (t: TokenRecord) => void,
    extra: { onStatus?: (m: string) => void; onStart?: Pending['onStart'] } = {},
  ): Promise<GenerationResult> {
    const requestId = this.nextId++;
    this.current = requestId;
    return new Promise<GenerationResult>((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, onToken, ...extra });
      this.send({ type: 'generate', requestId, settings });
    });
  }

  /** Stop the run in flight at its next step; its promise resolves with what it has. */
  abort(): void {
    if (this.current !== null) this.send({ type: 'abort', requestId: this.current });
  }

  /** Test hook: destroy the worker's WebGPU device to exercise the WASM fallback (only the e2e test build's worker obeys). */
  debugLoseGpu(): void {
    this.send({ type: 'debug', action: 'lose-gpu' });
  }

  onProgress(f: Listener<LoadProgress>): () => void {
    return subscribe(this.progressListeners, f);
  }
  onNotice(f: Listener<string>): () => void {
    return subscribe(this.noticeListeners, f);
  }
  /** every 'ready', including one after a fallback to WASM */
  onReady(f: Listener<Ready>): () => void {
    return subscribe(this.readyListeners, f);
  }
  /** errors not tied to a pending call */
  onError(f: Listener<EngineError>): () => void {
    return subscribe(this.errorListeners, f);
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll(new EngineError('engine worker terminated', undefined, false));
  }

  private send(req: WorkerRequest): void {
    this.worker.postMessage(req);
  }

  private onEvent(e: WorkerEvent): void {
    switch (e.type) {
      case 'progress':
        this.progressListeners.forEach((f) => f(e.progress));
        break;
      case 'notice':
        this.noticeListeners.forEach((f) => f(e.message));
        break;
      case 'ready': {
        const ready = { backend: e.backend, manifest: e.manifest, notices: e.notices };
        this.loadWaiter?.resolve(ready);
        this.loadWaiter = null;
        this.readyListeners.forEach((f) => f(ready));
        break;
      }
      case 'start':
        this.pending.get(e.requestId)?.onStart?.({ prompt_tokens: e.prompt_tokens, prompt_truncated: e.prompt_truncated });
        break;
      case 'token':
        this.pending.get(e.requestId)?.onToken?.(e.token);
        break;
      case 'status':
        this.pending.get(e.requestId)?.onStatus?.(e.message);
        break;
      case 'done': {
        const p = this.pending.get(e.requestId);
        this.pending.delete(e.requestId);
        if (this.current === e.requestId) this.current = null;
        p?.resolve(e.result);
        break;
      }
      case 'error': {
        const err = new EngineError(e.message, e.file, e.recoverable);
        if (e.requestId !== undefined && this.pending.has(e.requestId)) {
          const p = this.pending.get(e.requestId)!;
          this.pending.delete(e.requestId);
          if (this.current === e.requestId) this.current = null;
          p.reject(err);
        } else if (this.loadWaiter) {
          this.loadWaiter.reject(err);
          this.loadWaiter = null;
        } else {
          this.errorListeners.forEach((f) => f(err));
        }
        break;
      }
    }
  }

  private failAll(err: EngineError): void {
    this.loadWaiter?.reject(err);
    this.loadWaiter = null;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

function subscribe<T>(set: Set<Listener<T>>, f: Listener<T>): () => void {
  set.add(f);
  return () => set.delete(f);
}
