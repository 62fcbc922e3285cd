// The page's end of the engine worker: GenArmEngine (src/engine/interface.ts) over the
// typed protocol (protocol.ts), as WebLLM's WebWorkerMLCEngine is MLCEngineInterface
// over postMessage. Promises for load and generate, subscriptions for progress, notices
// and backend changes (a WASM fallback after a lost GPU sends a second 'ready').
// Ordering runs is the worker host's job (host.ts); the client only gives each request
// an id and routes each event to the callbacks of the request it names.
import type { AdapterFiles, AdapterInfo, GenerateSettings, GenerationResult, LoadProgress, Objective } from '../engine/types';
import {
  EngineError, type EngineLoadOptions, type GenArmEngine, type GenerateCallbacks, type Ready, type Unsubscribe,
} from '../engine/interface';
import type { WorkerEvent, WorkerRequest } from './protocol';

/**
 * The boundary the client talks through: a module Worker (workerPort), or the host in
 * this thread (in-process.ts: the store's tests and the dev server's fake engine).
 */
export interface EnginePort {
  post(req: WorkerRequest): void;
  onMessage(f: (e: WorkerEvent) => void): void;
  /** the other side died: every pending call fails */
  onCrash(f: (message: string) => void): void;
  close(): void;
}

export function workerPort(worker: Worker): EnginePort {
  return {
    post: (req) => worker.postMessage(req),
    onMessage: (f) => worker.addEventListener('message', (e: MessageEvent<WorkerEvent>) => f(e.data)),
    onCrash: (f) => worker.addEventListener('error', (e) => f(e.message)),
    close: () => worker.terminate(),
  };
}

function spawnWorker(): Worker {
  return new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
}

interface Pending extends Omit<GenerateCallbacks, 'signal'> {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  /** stops listening to the caller's signal */
  release: () => void;
}

type Listener<T> = (value: T) => void;

/**
 * Ask the browser, once per page, to keep this site's storage (navigator.storage.persist(), a
 * Window API, so the page and not the worker asks): the cached models then survive storage
 * pressure. The load does not wait for the answer; the progress reports what the browser said.
 */
let persistAsked = false;
function askPersistentStorage(): void {
  if (persistAsked) return;
  persistAsked = true;
  const st = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator?.storage;
  if (!st?.persist) return;
  void (async () => {
    if (!(await st.persisted?.())) await st.persist!();
  })().catch(() => {});
}

export class WorkerEngine implements GenArmEngine {
  private readonly port: EnginePort;
  private nextId = 1;
  /** the newest request: what abort() stops */
  private current: number | null = null;
  private readonly pending = new Map<number, Pending>();
  /** addAdapter / removeAdapter calls waiting for their answer */
  private readonly adapterPending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private loadWaiter: { resolve: (r: Ready) => void; reject: (e: Error) => void } | null = null;
  private readonly progressListeners = new Set<Listener<LoadProgress>>();
  private readonly noticeListeners = new Set<Listener<string>>();
  private readonly readyListeners = new Set<Listener<Ready>>();
  private readonly errorListeners = new Set<Listener<EngineError>>();

  constructor(port?: EnginePort) {
    this.port = port ?? workerPort(spawnWorker());
    this.port.onMessage((e) => this.onEvent(e));
    this.port.onCrash((message) => this.failAll(new EngineError(`engine worker crashed: ${message}`, undefined, false)));
  }

  /** Load a suite; resolves on 'ready', rejects with an EngineError naming a bad file. */
  load(opts: EngineLoadOptions): Promise<Ready> {
    askPersistentStorage();
    this.loadWaiter?.reject(new EngineError('superseded by a newer load'));
    return new Promise<Ready>((resolve, reject) => {
      this.loadWaiter = { resolve, reject };
      this.send({ ...opts, type: 'load', baseUrl: opts.baseUrl ?? '/models/' });
    });
  }

  /**
   * Start a generation. The worker host cancels a run already in flight (its promise
   * resolves with finish_reason 'abort'); the callbacks only ever see this run's events.
   */
  generate(settings: GenerateSettings, callbacks: GenerateCallbacks = {}): Promise<GenerationResult> {
    const requestId = this.nextId++;
    this.current = requestId;
    const { signal, ...listeners } = callbacks;
    return new Promise<GenerationResult>((resolve, reject) => {
      const stop = () => this.send({ type: 'abort', requestId });
      const release = () => signal?.removeEventListener('abort', stop);
      this.pending.set(requestId, { ...listeners, resolve, reject, release });
      this.send({ type: 'generate', requestId, settings });
      if (signal?.aborted) stop();
      else signal?.addEventListener('abort', stop, { once: true });
    });
  }

  /** Stop the run in flight at its next step; its promise resolves with what it has. */
  abort(): void {
    if (this.current !== null) this.send({ type: 'abort', requestId: this.current });
  }

  /**
   * Add a user's PEFT LoRA adapter as the objective `user:NAME` (the host cancels the run in
   * flight first); rejects with an EngineError saying why the files do not fit.
   */
  addAdapter(files: AdapterFiles): Promise<AdapterInfo> {
    return this.adapterCall<AdapterInfo>((requestId) => ({ type: 'add-adapter', requestId, ...files }));
  }

  /** Remove a user ARM added with addAdapter. */
  async removeAdapter(objective: Objective): Promise<void> {
    await this.adapterCall((requestId) => ({ type: 'remove-adapter', requestId, objective }));
  }

  private adapterCall<T>(make: (requestId: number) => WorkerRequest): Promise<T> {
    const requestId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.adapterPending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
      this.send(make(requestId));
    });
  }

  /** Test hook: destroy the worker's WebGPU device to exercise the WASM fallback (only the e2e test build's worker obeys). */
  debugLoseGpu(): void {
    this.send({ type: 'debug', action: 'lose-gpu' });
  }

  onProgress(f: Listener<LoadProgress>): Unsubscribe {
    return subscribe(this.progressListeners, f);
  }
  onNotice(f: Listener<string>): Unsubscribe {
    return subscribe(this.noticeListeners, f);
  }
  /** every 'ready', including one after a fallback to WASM */
  onReady(f: Listener<Ready>): Unsubscribe {
    return subscribe(this.readyListeners, f);
  }
  /** errors not tied to a pending call */
  onError(f: Listener<EngineError>): Unsubscribe {
    return subscribe(this.errorListeners, f);
  }

  /** Terminate the worker; pending calls reject. */
  dispose(): void {
    this.port.close();
    this.failAll(new EngineError('engine worker terminated', undefined, false));
  }

  private send(req: WorkerRequest): void {
    this.port.post(req);
  }

  /** the pending run with this id, forgotten: it has settled */
  private settle(requestId: number): Pending | undefined {
    const p = this.pending.get(requestId);
    this.pending.delete(requestId);
    if (this.current === requestId) this.current = null;
    p?.release();
    return p;
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
        const ready: Ready = { backend: e.backend, manifest: e.manifest, notices: e.notices };
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
      case 'done':
        this.settle(e.requestId)?.resolve(e.result);
        break;
      case 'adapter-added':
      case 'adapter-removed': {
        const p = this.adapterPending.get(e.requestId);
        this.adapterPending.delete(e.requestId);
        p?.resolve(e.type === 'adapter-added' ? e.adapter : undefined);
        break;
      }
      case 'error': {
        const err = new EngineError(e.message, e.file, e.recoverable);
        const call = e.requestId !== undefined ? this.adapterPending.get(e.requestId) : undefined;
        if (call) {
          this.adapterPending.delete(e.requestId!);
          call.reject(err);
        } else if (e.requestId !== undefined && this.pending.has(e.requestId)) {
          this.settle(e.requestId)!.reject(err);
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
    for (const p of this.pending.values()) {
      p.release();
      p.reject(err);
    }
    this.pending.clear();
    for (const p of this.adapterPending.values()) p.reject(err);
    this.adapterPending.clear();
    this.current = null;
  }
}

function subscribe<T>(set: Set<Listener<T>>, f: Listener<T>): Unsubscribe {
  set.add(f);
  return () => {
    set.delete(f);
  };
}
