// The engine loading fp32 graphs from their GGUF transport (transport.ts): the
// weightless graph + the GGUF's blocks expanded into onnxruntime's externalData must compute what
// the inline fp32 graph computes: logits within 1e-5 at every prompt position and greedy step,
// identical greedy tokens and records, on the base graph and the fused base + ARMs graph, on the
// tiny suite (whose base weights are GGUF blocks: build.py) and on SmolLM2 when built; the same with
// the weights written into the graph (WebGPU's route, onnx-inline.ts). A GGUF whose bytes do not
// match the manifest's sha256 fails the load, naming the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import { createNodePlatform, loadNodeEngine } from '../node';
import { Engine as EngineClass } from '../engine';
import { emptyCache } from '../kv-cache';
import { ModelFileError, verifyBytes, type FileSource } from '../files';
import type { StepModel } from '../causal-lm';
import type { GenerateSettings, LoadProgress, ManifestFile } from '../types';
import { manifest, MODELS_DIR, requireModels, suiteMissing } from './helpers';

const m = manifest();

function transportMissing(suite: string): string {
  const why = suiteMissing(suite);
  if (why) return why;
  const s = m!.suites[suite];
  if (!m!.models[s.base].transport) return `the ${suite} base has no transport in the manifest (npm run models)`;
  if (!s.fused?.transport) return `the ${suite} fused graph has no transport in the manifest (npm run models)`;
  return '';
}

const SETTINGS: Omit<GenerateSettings, 'prompt'> = {
  weights: { helpfulness: 1, harmlessness: 0.5 }, decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 1, max_tokens: 8,
  score_arms: true,
};

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Logits of both models at every prompt position, then at `steps` greedy steps of the reference. */
async function logitDiff(engine: Engine, a: StepModel, b: StepModel, ids: number[], steps: number): Promise<number> {
  const ort = engine.platform.ort;
  let ra = await a.forward([ids], emptyCache(ort, a.arch), 'all');
  let rb = await b.forward([ids], emptyCache(ort, b.arch), 'all');
  let worst = maxAbsDiff(ra.logits!, rb.logits!);
  for (let s = 0; s < steps; s++) {
    const last = ra.logits!.subarray(ra.logits!.length - a.arch.vocab_size);
    const next = last.reduce((best, x, i) => (x > last[best] ? i : best), 0);
    [ra, rb] = [await a.forward([[next]], ra.present), await b.forward([[next]], rb.present)];
    worst = Math.max(worst, maxAbsDiff(ra.logits!, rb.logits!));
  }
  return worst;
}

for (const [suite, prompts] of [['tiny', ['Give me one tip for staying focused.', 'Name three colours.']], ['smollm2', ['What is the capital of France?']]] as const) {
  const why = transportMissing(suite);
  requireModels(`GGUF transport on the ${suite} suite`, why);

  describe.skipIf(!!why).each(['separate', 'fused'] as const)(`GGUF transport: ${suite} suite, %s path`, (path) => {
    let viaGguf: Engine;
    let inline: Engine;
    const progress: LoadProgress[] = [];
    beforeAll(async () => {
      viaGguf = await loadNodeEngine({ suite, dtype: 'fp32', path, onProgress: (p) => progress.push(p) });
      inline = await loadNodeEngine({ suite, dtype: 'fp32', path, transport: false });
    }, 600_000);
    afterAll(async () => {
      await viaGguf?.dispose();
      await inline?.dispose();
    });

    it('loads the weightless graph and the GGUF, not the fp32 graph, with an expand phase', () => {
      const s = m!.suites[suite];
      const t = path === 'fused' ? s.fused!.transport! : m!.models[s.base].transport!;
      const fp32 = path === 'fused' ? s.fused!.variants.fp32! : m!.models[s.base].variants.fp32!;
      const files = progress[progress.length - 1].files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining([t.graph.path, t.layout.path, t.gguf.path]));
      expect(files).not.toContain(fp32.path);
      expect(progress.map((p) => p.phase)).toContain('expand');
      expect(progress.findIndex((p) => p.phase === 'expand')).toBeLessThan(progress.findIndex((p) => p.phase === 'session'));
      expect(viaGguf.backend.reason).toMatch(/fp32 weights expanded from the GGUF/);
      expect(inline.backend.reason).toMatch(/inline fp32 graph \(transport off\)/);
      expect(viaGguf.path).toBe(path);
      // what the wire carries: a small fraction of the fp32 graph
      expect(t.graph.bytes + t.layout.bytes + t.gguf.bytes).toBeLessThan(fp32.bytes / 4);
      if (path === 'separate') {
        // each ARM is the base's GGUF (already here) plus its adapter: no ARM graph's weights travel
        for (const id of Object.values(s.arms) as string[]) {
          const at = m!.models[id].transport!;
          expect(at.gguf.path).toBe(t.gguf.path);
          expect(files).toEqual(expect.arrayContaining([at.graph.path, at.layout.path, at.adapter!.path]));
          expect(files).not.toContain(m!.models[id].variants.fp32!.path);
        }
      }
    });

    it('logits equal the inline fp32 graph within 1e-5 (every prompt position, 6 greedy steps)', async () => {
      let worst = 0;
      for (const prompt of prompts) {
        const ids = viaGguf.tokenizer.encodeChat(prompt);
        worst = Math.max(worst, await logitDiff(viaGguf, inline.base, viaGguf.base, ids, 6));
        // the ARMs: fused rows over the expanded base, or (separate) merged graphs rebuilt from GGUF + adapter
        for (const o of viaGguf.objectives) worst = Math.max(worst, await logitDiff(viaGguf, inline.arms[o]!, viaGguf.arms[o]!, ids, 2));
      }
      console.log(`[transport] ${suite} ${path}: max |logit diff| vs inline fp32 = ${worst}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
    }, 600_000);

    it('greedy GenARM: identical tokens and records', async () => {
      for (const prompt of prompts) {
        const [a, b] = [await viaGguf.generate({ ...SETTINGS, prompt }), await inline.generate({ ...SETTINGS, prompt })];
        expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
        expect(a.text).toBe(b.text);
        a.tokens.forEach((t, i) => {
          expect(Math.abs(t.logprob_base - b.tokens[i].logprob_base)).toBeLessThan(1e-5);
          expect(Math.abs(t.rewards.helpfulness! - b.tokens[i].rewards.helpfulness!)).toBeLessThan(1e-5);
        });
      }
    }, 600_000);
  });
}

// The WebGPU route (Platform.transportInline, browser.ts): the same transport, its weights written
// into the graph (onnx-inline.ts) instead of handed as externalData, must compute what the
// externalData route computes. Node's CPU runs both here; e2e/engine-transport.spec.ts runs it on WebGPU.
for (const [suite, paths] of [['tiny', ['separate', 'fused']], ['smollm2', ['fused']]] as const) {
  const why = transportMissing(suite);
  requireModels(`inline transport weights on the ${suite} suite`, why);
  describe.skipIf(!!why).each(paths)(`GGUF transport, weights inline (the WebGPU route): ${suite} suite, %s path`, (path) => {
    it('the same logits as externalData (every prompt position, 4 greedy steps), the base, ARMs and RMs', async () => {
      const loadRms = suite === 'tiny';
      const inlined = await loadNodeEngine({ suite, dtype: 'fp32', path, transportInline: true, loadRms });
      const external = await loadNodeEngine({ suite, dtype: 'fp32', path, loadRms });
      try {
        expect(inlined.backend.reason).toMatch(/fp32 weights expanded from the GGUF \(.*written into the graph as inline initializers\)/);
        expect(external.backend.reason).toMatch(/fp32 weights expanded from the GGUF \(.*as externalData\)/);
        const ids = inlined.tokenizer.encodeChat('Give me one tip for staying focused.');
        let worst = await logitDiff(inlined, external.base, inlined.base, ids, 4);
        for (const o of inlined.objectives) worst = Math.max(worst, await logitDiff(inlined, external.arms[o]!, inlined.arms[o]!, ids, 1));
        if (loadRms) {
          const rms = (e: Engine) => (e as unknown as { rms: Record<string, StepModel> }).rms;
          for (const [o, rm] of Object.entries(rms(inlined))) {
            const ort = inlined.platform.ort;
            const [a, b] = [await rms(external)[o].forward([ids], emptyCache(ort, rm.arch), 'all'), await rm.forward([ids], emptyCache(ort, rm.arch), 'all')];
            worst = Math.max(worst, maxAbsDiff(a.rewards!, b.rewards!));
          }
        }
        console.log(`[transport] ${suite} ${path}: max |logit diff| weights inline vs externalData = ${worst}`);
        expect(worst).toBeLessThanOrEqual(1e-6);
      } finally {
        await inlined.dispose();
        await external.dispose();
      }
    }, 600_000);
  });
}

// The trajectory RMs (ARGS, Best-of-N) travel as GGUF + adapter too: same rewards as their inline graphs.
for (const suite of ['tiny', 'smollm2'] as const) {
  const why = transportMissing(suite) || (Object.values(m?.suites[suite]?.rms ?? {}).some((id) => !m!.models[id as string].transport?.adapter)
    ? `the ${suite} RMs have no transport in the manifest (npm run models)` : '');
  requireModels(`RMs from the GGUF transport on the ${suite} suite`, why);
  describe.skipIf(!!why)(`GGUF transport: ${suite} trajectory RMs`, () => {
    it('rewards equal the inline RM graphs within 1e-5, from the GGUF + each RM\'s adapter', async () => {
      const progress: LoadProgress[] = [];
      const viaGguf = await loadNodeEngine({ suite, dtype: 'fp32', path: 'fused', loadRms: true, onProgress: (p) => progress.push(p) });
      const inline = await loadNodeEngine({ suite, dtype: 'fp32', path: 'fused', loadRms: true, transport: false });
      try {
        const files = progress[progress.length - 1].files.map((f) => f.path);
        const rms = Object.entries(m!.suites[suite].rms) as [string, string][];
        expect(rms.length).toBe(2);
        for (const [, id] of rms) {
          const t = m!.models[id].transport!;
          expect(files).toEqual(expect.arrayContaining([t.graph.path, t.layout.path, t.adapter!.path]));
          expect(files).not.toContain(m!.models[id].variants.fp32!.path);
        }
        const ids = viaGguf.tokenizer.encodeChat('How do I keep basil alive on a windowsill?');
        const viaRms = (viaGguf as unknown as { rms: Record<string, StepModel> }).rms;
        const inRms = (inline as unknown as { rms: Record<string, StepModel> }).rms;
        let worst = 0;
        for (const [o] of rms) {
          const ort = viaGguf.platform.ort;
          const [a, b] = [await inRms[o].forward([ids], emptyCache(ort, inRms[o].arch), 'all'), await viaRms[o].forward([ids], emptyCache(ort, viaRms[o].arch), 'all')];
          expect(a.rewards).not.toBeNull();
          worst = Math.max(worst, maxAbsDiff(a.rewards!, b.rewards!));
        }
        console.log(`[transport] ${suite} RMs: max |reward diff| vs inline fp32 = ${worst}`);
        expect(worst).toBeLessThanOrEqual(1e-5);
      } finally {
        await viaGguf.dispose();
        await inline.dispose();
      }
    }, 600_000);
  });
}

/** A source that serves one file with a byte flipped (the size stays right: only sha256 can tell). */
class CorruptingSource implements FileSource {
  constructor(private readonly inner: FileSource, private readonly target: string) {}
  get location() {
    return this.inner.location;
  }
  readManifest() {
    return this.inner.readManifest();
  }
  async fetch(file: ManifestFile, want: 'bytes' | 'any', onProgress: (loaded: number, cached: boolean) => void) {
    if (file.path !== this.target) return this.inner.fetch(file, want, onProgress);
    const bytes = new Uint8Array(readFileSync(join(MODELS_DIR, file.path)));
    bytes[bytes.length >> 1] ^= 0x40;
    await verifyBytes(file, bytes, this.location);
    return bytes;
  }
}

const tinyWhy = transportMissing('tiny');
describe.skipIf(!!tinyWhy)('GGUF transport: a corrupt GGUF', () => {
  it('fails the load with a ModelFileError naming the GGUF and its sha256 mismatch', async () => {
    const platform = createNodePlatform();
    const gguf = m!.models[m!.suites.tiny.base].transport!.gguf;
    const corrupt = { ...platform, source: new CorruptingSource(platform.source, gguf.path) };
    const err = await EngineClass.load(corrupt, { suite: 'tiny', dtype: 'fp32', path: 'separate' }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).file).toBe(gguf.path);
    expect((err as Error).message).toMatch(/sha256 mismatch/);
    expect((err as Error).message).toContain(gguf.path);
  });

  it('a layout made for another GGUF is refused as a stale build', async () => {
    const platform = createNodePlatform();
    const src = platform.source;
    const stale: FileSource = {
      location: src.location,
      readManifest: async () => {
        const man = await src.readManifest();
        const t = man.models[man.suites.tiny.base].transport!;
        // a manifest whose GGUF entry differs from the one the layout names
        t.gguf = { ...t.gguf, sha256: '0'.repeat(64) };
        return man;
      },
      fetch: (f, want, p) => (f.sha256 === '0'.repeat(64) ? Promise.reject(new Error('not fetched')) : src.fetch(f, want, p)),
    };
    const err = await EngineClass.load({ ...platform, source: stale }, { suite: 'tiny', dtype: 'fp32', path: 'separate' }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(/was made for a GGUF .* rebuild the models/);
  });
});
