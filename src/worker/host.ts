// The worker's logic, apart from the worker global so that it runs under Node too
// (the concurrency tests drive it directly, and the store's tests run it in-process
// behind the real client: src/store/fake-engine.ts). The one owner of "one run at a
// time" in the app: a new generate or load aborts the run in flight and waits for it to
// settle; every event carries its run's requestId, so two runs never mix. Callers above
// it (the client, the store) only tag and render (src/engine/interface.ts, GenArmEngine).
import type { BackendInfo, GenerationResult, LoadProgress, Manifest } from '../engine/types';
import { ModelFileError } from '../engine/files';
import type { GenArmGenerator } from '../engine/interface';
import type {
  AbortRequest, AddAdapterRequest, GenerateRequest, LoadRequest, RemoveAdapterRequest, WorkerEvent, WorkerRequest,
} from './protocol';

/**
 * What the host needs of a loaded suite: engine.ts's Engine, or a test's stand-in (src/store/fake-engine.ts).
 * One without addAdapter refuses a user's ARM.
 */
export interface HostedEngine extends Pick<GenArmGenerator, 'generate'>, Partial<Pick<GenArmGenerator, 'addAdapter' | 'removeAdapter'>> {
  readonly backend: BackendInfo;
  readonly manifest: Manifest;
  dispose(): Promise<void>;
}

export interface LoadContext {
  notice: (m: string) => void;
  /** true on the retry after a GPU failure: load on WASM */
  fallback: boolean;
  onProgress: (p: LoadProgress) => void;
}

/** Loads the suite a request names (the worker and the Node tests: platform-loader.ts). */
export type EngineLoader = (req: LoadRequest, ctx: LoadContext) => Promise<HostedEngine>;

interface Run {
  requestId: number;
  controller: AbortController;
  done: Promise<unknown>;
}

export class EngineHost {
  private engine: HostedEngine | null = null;
  private lastLoad: LoadRequest | null = null;
  private current: Run | null = null;
  private loading: Promise<void> = Promise.resolve();
  private notices: string[] = [];
  private closed = false;
  /** the user ARMs of this load, in the order added: re-added after a fallback reload on WASM */
  private adapters: AddAdapterRequest[] = [];

  private readonly post: (e: WorkerEvent) => void;

  constructor(
    private readonly loadEngine: EngineLoader,
    post: (e: WorkerEvent) => void,
    /** true when a failure is a GPU failure worth a WASM retry (the browser: a lost device) */
    private readonly isGpuFailure: (e: unknown) => boolean = () => false,
  ) {
    this.post = (e) => {
      if (!this.closed) post(e);
    };
  }

  handle(req: WorkerRequest): Promise<void> {
    if (this.closed) return Promise.resolve();
    switch (req.type) {
      case 'load':
        return this.load(req);
      case 'generate':
        return this.generate(req);
      case 'abort':
        return this.abort(req);
      case 'add-adapter':
      case 'remove-adapter':
        // on the load chain: a generate sent after this waits for it, and sees the new objective
        this.loading = this.loading.then(() => this.adapter(req));
        return this.loading;
      case 'debug':
        return Promise.resolve(); // handled by the worker entry in the test build (it owns the GPU device); else ignored
    }
  }

  private notice = (message: string) => {
    this.notices.push(message);
    this.post({ type: 'notice', message });
  };

  private async stopCurrent(): Promise<void> {
    const run = this.current;
    if (!run) return;
    run.controller.abort();
    await run.done.catch(() => {});
  }

  load(req: LoadRequest): Promise<void> {
    this.loading = this.loading.then(() => this.doLoad(req, false));
    return this.loading;
  }

  private async doLoad(req: LoadRequest, fallback: boolean): Promise<void> {
    await this.stopCurrent();
    const old = this.engine;
    this.engine = null;
    await old?.dispose().catch(() => {});
    this.notices = fallback ? this.notices : [];
    // a new load starts without user ARMs; the fallback reload keeps them
    if (!fallback) this.adapters = [];
    this.lastLoad = req;
    try {
      this.engine = await this.loadEngine(req, {
        notice: this.notice,
        fallback,
        onProgress: (progress) => this.post({ type: 'progress', progress }),
      });
      if (fallback) await this.readdAdapters(this.engine);
      this.post({ type: 'ready', backend: this.engine.backend, manifest: this.engine.manifest, notices: [...this.notices] });
    } catch (e) {
      if (!fallback && this.isGpuFailure(e)) {
        this.notice(`WebGPU failed while loading (${(e as Error).message}): falling back to WASM`);
        return this.doLoad(req, true);
      }
      this.post({
        type: 'error',
        message: (e as Error).message ?? String(e),
        file: e instanceof ModelFileError ? e.file : undefined,
        recoverable: true,
      });
    }
  }

  private async generate(req: GenerateRequest): Promise<void> {
    const { requestId } = req;
    const controller = new AbortController();
    let settle!: () => void;
    const run: Run = { requestId, controller, done: new Promise<void>((r) => (settle = r)) };
    // registered before any await, so a request arriving next always cancels this one
    const previous = this.current;
    this.current = run;
    try {
      if (previous) {
        previous.controller.abort();
        await previous.done.catch(() => {});
      }
      await this.loading;
      const engine = this.engine;
      if (!engine) {
        this.post({ type: 'error', requestId, message: 'no model loaded: send a load request first', recoverable: true });
        return;
      }
      if (controller.signal.aborted) {
        // superseded before it started: settle it without running anything
        this.post({ type: 'done', requestId, result: emptyResult(engine, req) });
        return;
      }
      let result: GenerationResult;
      try {
        result = await engine.generate(req.settings, {
          signal: controller.signal,
          onStart: (info) => this.post({ type: 'start', requestId, ...info }),
          onToken: (token) => this.post({ type: 'token', requestId, token }),
          onStatus: (message) => this.post({ type: 'status', requestId, message }),
        });
      } catch (e) {
        const gpu = this.isGpuFailure(e) && engine.backend.backend === 'webgpu';
        this.post({
          type: 'error',
          requestId,
          message: gpu ? `${(e as Error).message}: switching to WASM, run it again` : (e as Error).message ?? String(e),
          file: e instanceof ModelFileError ? e.file : undefined,
          recoverable: true,
        });
        if (gpu && this.lastLoad) {
          this.notice('WebGPU failed during generation: reloading on WASM');
          const req = this.lastLoad;
          this.loading = this.loading.then(() => this.doLoad(req, true));
        }
        return;
      }
      this.post({ type: 'done', requestId, result });
    } finally {
      if (this.current === run) this.current = null;
      settle();
    }
  }

  /** A user ARM added or removed (GenArmEngine.addAdapter): the run in flight is cancelled first. */
  private async adapter(req: AddAdapterRequest | RemoveAdapterRequest): Promise<void> {
    const { requestId } = req;
    await this.stopCurrent();
    try {
      const engine = this.engine;
      if (!engine) throw new Error('no model loaded: send a load request first');
      if (!engine.addAdapter || !engine.removeAdapter) throw new Error('this engine cannot add an ARM');
      if (req.type === 'add-adapter') {
        const adapter = await engine.addAdapter({ name: req.name, config: req.config, weights: req.weights });
        this.adapters.push(req);
        this.post({ type: 'adapter-added', requestId, adapter });
      } else {
        await engine.removeAdapter(req.objective);
        this.adapters = this.adapters.filter((a) => `user:${a.name.trim()}` !== req.objective);
        this.post({ type: 'adapter-removed', requestId, objective: req.objective });
      }
    } catch (e) {
      this.post({ type: 'error', requestId, message: (e as Error).message ?? String(e), recoverable: true });
    }
  }

  /** After a fallback reload: the user's ARMs again, each that fails said in a notice. */
  private async readdAdapters(engine: HostedEngine): Promise<void> {
    const keep: AddAdapterRequest[] = [];
    for (const a of this.adapters) {
      try {
        if (!engine.addAdapter) throw new Error('this engine cannot add an ARM');
        await engine.addAdapter({ name: a.name, config: a.config, weights: a.weights });
        keep.push(a);
      } catch (e) {
        this.notice(`your ARM "${a.name}" could not be added again after the reload: ${(e as Error).message}`);
      }
    }
    this.adapters = keep;
  }

  private async abort(req: AbortRequest): Promise<void> {
    if (this.current?.requestId === req.requestId) this.current.controller.abort();
  }

  /**
   * What terminating the worker does, for a host in the page's thread (in-process.ts):
   * the run in flight stops, the engine is released, nothing more is posted.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopCurrent();
    await this.loading.catch(() => {});
    const engine = this.engine;
    this.engine = null;
    await engine?.dispose().catch(() => {});
  }
}

function emptyResult(engine: HostedEngine, req: GenerateRequest): GenerationResult {
  return {
    text: '',
    tokens: [],
    finish_reason: 'abort',
    prompt_tokens: 0,
    prompt_truncated: false,
    ttft_ms: 0,
    ms_per_token: 0,
    tokens_per_s: 0,
    backend: engine.backend,
    settings: req.settings,
  };
}
