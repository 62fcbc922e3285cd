// Entry of e2e/engine-harness.html: exposes the worker client to Playwright as
// window.harness, so the engine test drives the real worker without the UI.
import { WorkerEngine } from '../worker/client';
import type { EngineLoadOptions, Ready } from '../engine/interface';
import type { GenerateSettings, GenerationResult, LoadProgress } from '../engine/types';

export interface Harness {
  /** progress events carry `t`, performance.now() when they arrived (bench/transport-load.ts) */
  load(req: EngineLoadOptions): Promise<Ready & { progress: (LoadProgress & { t: number })[] }>;
  generate(settings: GenerateSettings): Promise<{ result: GenerationResult; streamed: number[] }>;
  /** start two runs, the second right after the first's first token; returns both */
  race(a: GenerateSettings, b: GenerateSettings): Promise<{ first: GenerationResult; second: GenerationResult; streamedA: number[]; streamedB: number[] }>;
  /** destroy the GPU device after the first token; report how the run ended and the next backend */
  loseGpuDuring(settings: GenerateSettings): Promise<{ error: string | null; finish: string | null; nextBackend: string; reason: string }>;
  notices: string[];
  crossOriginIsolated: boolean;
  reset(): void;
}

const log = document.getElementById('log')!;
const say = (m: string) => (log.textContent += `\n${m}`);

let client = new WorkerEngine();
const notices: string[] = [];
const watch = (c: WorkerEngine) => c.onNotice((m) => (notices.push(m), say(`notice: ${m}`)));
watch(client);

const harness: Harness = {
  notices,
  crossOriginIsolated: self.crossOriginIsolated,
  async load(req) {
    const progress: (LoadProgress & { t: number })[] = [];
    const off = client.onProgress((p) => progress.push({ ...p, t: performance.now() }));
    try {
      const ready = await client.load(req);
      say(`ready: ${ready.backend.backend}/${ready.backend.dtype} (${ready.backend.reason})`);
      return { ...ready, progress };
    } finally {
      off();
    }
  },
  async generate(settings) {
    const streamed: number[] = [];
    const result = await client.generate(settings, { onToken: (t) => streamed.push(t.id) });
    say(`generated: ${JSON.stringify(result.text)}`);
    return { result, streamed };
  },
  async race(a, b) {
    const streamedA: number[] = [];
    const streamedB: number[] = [];
    let started!: () => void;
    const gate = new Promise<void>((r) => (started = r));
    const first = client.generate(a, {
      onToken: (t) => {
        streamedA.push(t.id);
        started();
      },
    });
    await gate;
    const second = client.generate(b, { onToken: (t) => streamedB.push(t.id) });
    return { first: await first, second: await second, streamedA, streamedB };
  },
  async loseGpuDuring(settings) {
    const nextReady = new Promise<Ready>((resolve) => {
      const off = client.onReady((r) => {
        off();
        resolve(r);
      });
    });
    let lost = false;
    let error: string | null = null;
    let finish: string | null = null;
    try {
      const r = await client.generate(settings, {
        onToken: () => {
          if (!lost) {
            lost = true;
            client.debugLoseGpu();
          }
        },
      });
      finish = r.finish_reason;
    } catch (e) {
      error = (e as Error).message;
    }
    const ready = await nextReady;
    say(`after GPU loss: ${ready.backend.backend} (${ready.backend.reason})`);
    return { error, finish, nextBackend: ready.backend.backend, reason: ready.backend.reason };
  },
  reset() {
    client.dispose();
    client = new WorkerEngine();
    watch(client);
  },
};

(window as unknown as { harness: Harness }).harness = harness;
say(`harness ready (crossOriginIsolated=${self.crossOriginIsolated})`);
