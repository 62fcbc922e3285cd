// Loading checks without real models: sha256 and size verification, clear errors
// naming the bad file, Cache Storage use (second visit downloads nothing; a bad
// download is retried once and never cached), progress aggregation.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadProgress, ManifestFile } from '../types';
import { ModelFileError, ProgressTracker } from '../files';
import { NodeFileSource } from '../source-node';
import { BrowserFileSource, CACHE_NAME } from '../source-browser';
import { browserManifest, chooseDtype, dtypePreference } from '../manifest';

function fileEntry(path: string, bytes: Uint8Array): ManifestFile {
  return { path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const dir = mkdtempSync(join(tmpdir(), 'genarm-src-'));
const good = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
mkdirSync(join(dir, 'm', 'onnx'), { recursive: true });
writeFileSync(join(dir, 'm', 'onnx', 'model.onnx'), good);
const entry = fileEntry('m/onnx/model.onnx', good);
const manifest = { version: 1, created: 'now', models: {}, suites: {}, preferred: { webgpu: 'q4', wasm: 'q8', node: 'fp32' } };
writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));

describe('NodeFileSource', () => {
  const src = new NodeFileSource(dir);
  it('verifies and returns a path (streamed hash) or bytes', async () => {
    let last = 0;
    expect(await src.fetch(entry, 'any', (n) => (last = n))).toBe(join(dir, 'm/onnx/model.onnx'));
    expect(last).toBe(good.length);
    expect(await src.fetch(entry, 'bytes', () => {})).toEqual(good);
  });
  it('names a missing file', async () => {
    const e = await src.fetch({ ...entry, path: 'm/onnx/model_q4.onnx' }, 'any', () => {}).catch((x) => x);
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.file).toBe('m/onnx/model_q4.onnx');
    expect(e.message).toMatch(/missing model file m\/onnx\/model_q4.onnx/);
  });
  it('names a file with a bad hash or size', async () => {
    const e = await src.fetch({ ...entry, sha256: '0'.repeat(64) }, 'any', () => {}).catch((x) => x);
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.message).toMatch(/sha256 mismatch/);
    const e2 = await src.fetch({ ...entry, bytes: 5 }, 'bytes', () => {}).catch((x) => x);
    expect(e2.message).toMatch(/expected 5 bytes/);
  });
  it('explains a missing manifest', async () => {
    await expect(new NodeFileSource(join(dir, 'nope')).readManifest()).rejects.toThrow(/no manifest.json/);
  });
});

// --- a minimal Cache Storage for Node, enough for BrowserFileSource ---
class MemoryCache {
  store = new Map<string, { body: ArrayBuffer; headers: [string, string][] }>();
  async match(req: string) {
    const hit = this.store.get(req);
    return hit ? new Response(hit.body.slice(0), { headers: hit.headers }) : undefined;
  }
  async put(req: string, res: Response) {
    this.store.set(req, { body: await res.arrayBuffer(), headers: [...res.headers] });
  }
  async delete(req: string) {
    return this.store.delete(req);
  }
}

describe('BrowserFileSource with Cache Storage', () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];
  let corruptNext = 0; // serve this many corrupted responses first
  let missing = false;
  const caches = new Map<string, MemoryCache>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === '/models/manifest.json') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(manifest));
      }
      if (req.url === '/models/m/onnx/model.onnx' && !missing) {
        const body = Buffer.from(good);
        if (corruptNext > 0) {
          corruptNext--;
          body[10] ^= 1;
        }
        res.setHeader('content-type', 'application/octet-stream');
        return res.end(body);
      }
      if (req.url?.endsWith('.onnx')) {
        // what a dev server does: index.html for any unknown path
        res.setHeader('content-type', 'text/html');
        return res.end('<!doctype html>');
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}/`;
    (globalThis as Record<string, unknown>).self = { location: { href: base } };
    (globalThis as Record<string, unknown>).caches = {
      open: async (name: string) => {
        if (!caches.has(name)) caches.set(name, new MemoryCache());
        return caches.get(name);
      },
      delete: async (name: string) => caches.delete(name),
    };
  });
  afterAll(() => {
    server.close();
    delete (globalThis as Record<string, unknown>).caches;
    delete (globalThis as Record<string, unknown>).self;
  });

  it('first visit downloads with progress and caches; second visit downloads nothing', async () => {
    const src = new BrowserFileSource({ baseUrl: '/models/' });
    await src.readManifest();
    const seen: [number, boolean][] = [];
    const bytes = await src.fetch(entry, 'any', (n, c) => seen.push([n, c]));
    expect(bytes).toEqual(good);
    expect(seen.at(-1)).toEqual([good.length, false]);
    expect(requests.filter((u) => u.endsWith('.onnx'))).toHaveLength(1);

    const again = new BrowserFileSource({ baseUrl: '/models/' });
    const seen2: [number, boolean][] = [];
    expect(await again.fetch(entry, 'any', (n, c) => seen2.push([n, c]))).toEqual(good);
    expect(seen2).toEqual([[good.length, true]]);
    expect(requests.filter((u) => u.endsWith('.onnx'))).toHaveLength(1);
  });

  it('a corrupt download is retried once, then succeeds; bad bytes are never cached', async () => {
    caches.clear();
    requests.length = 0;
    corruptNext = 1;
    const notices: string[] = [];
    const src = new BrowserFileSource({ baseUrl: '/models/', notice: (m) => notices.push(m) });
    expect(await src.fetch(entry, 'any', () => {})).toEqual(good);
    expect(requests.filter((u) => u.endsWith('.onnx'))).toHaveLength(2);
    expect(notices.join()).toMatch(/sha256 mismatch.*retrying once/);
  });

  it('two bad downloads: reported naming the file, nothing cached', async () => {
    caches.clear();
    requests.length = 0;
    corruptNext = 2;
    const src = new BrowserFileSource({ baseUrl: '/models/' });
    const e = await src.fetch(entry, 'any', () => {}).catch((x) => x);
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.file).toBe('m/onnx/model.onnx');
    expect(e.message).toMatch(/sha256 mismatch/);
    expect(caches.get(CACHE_NAME)?.store.size ?? 0).toBe(0);
  });

  it('a missing file (HTML fallback page) is named', async () => {
    missing = true;
    const src = new BrowserFileSource({ baseUrl: '/models/' });
    const e = await src.fetch(entry, 'any', () => {}).catch((x) => x);
    missing = false;
    expect(e.message).toMatch(/missing model file m\/onnx\/model.onnx/);
  });

  it('a corrupt cache entry is dropped and downloaded again', async () => {
    caches.clear();
    const src = new BrowserFileSource({ baseUrl: '/models/' });
    await src.fetch(entry, 'any', () => {});
    const cache = caches.get(CACHE_NAME)!;
    const [key] = [...cache.store.keys()];
    cache.store.get(key)!.body = new ArrayBuffer(entry.bytes);
    requests.length = 0;
    expect(await src.fetch(entry, 'any', () => {})).toEqual(good);
    expect(requests.filter((u) => u.endsWith('.onnx'))).toHaveLength(1);
  });
});

describe('progress and dtype choice', () => {
  it('aggregates per-file progress into totals', () => {
    const events: LoadProgress[] = [];
    const t = new ProgressTracker((p) => events.push(p), 0);
    t.add({ path: 'a', bytes: 100, sha256: '' });
    t.add({ path: 'b', bytes: 300, sha256: '' });
    t.setPhase('download');
    t.update('a', 50, false);
    t.done('b');
    const last = events.at(-1)!;
    expect(last.loaded).toBe(350);
    expect(last.total).toBe(400);
    expect(last.files.find((f) => f.path === 'b')!.done).toBe(true);
  });
  it('chooses a dtype every model has, and refuses a requested one that is missing', () => {
    const m = (v: string[]) => ({ id: v.join('+'), variants: Object.fromEntries(v.map((d) => [d, entry])) }) as never;
    expect(chooseDtype([m(['fp32', 'q8']), m(['fp32'])], ['q8', 'fp32']).dtype).toBe('fp32');
    expect(() => chooseDtype([m(['fp32'])], ['fp32'], 'q4')).toThrow(/has no q4 variant/);
    const man = { preferred: { webgpu: 'q4f16', webgpu_f16: 'q4f16', wasm: 'q8', node: 'fp32' } } as never;
    expect(dtypePreference(man, 'webgpu', false)).not.toContain('q4f16');
    expect(dtypePreference(man, 'webgpu', true)[0]).toBe('q4f16');
    expect(dtypePreference(man, 'wasm')[0]).toBe('q8');
  });
  it('the browser never sees Node-only variants (models-node/), and refuses to fetch one', async () => {
    const q8 = { ...entry, path: '../../models-node/m/onnx/model_q8.onnx', node_only: true };
    const man = {
      ...manifest, models: { m: { id: 'm', variants: { fp32: entry, q8 } } },
      suites: { s: { id: 's', base: 'm', arms: {}, rms: {}, fused: { rows: ['m'], variants: { fp32: entry, q8 } } } },
    } as never;
    const b = browserManifest(man);
    expect(Object.keys(b.models.m.variants)).toEqual(['fp32']);
    expect(Object.keys(b.suites.s.fused!.variants)).toEqual(['fp32']);
    expect(chooseDtype([b.models.m], ['q8', 'fp32']).dtype).toBe('fp32');
    const g = globalThis as Record<string, unknown>;
    const had = 'self' in g;
    if (!had) g.self = { location: { href: 'http://127.0.0.1:9/' } };
    try {
      const src = new BrowserFileSource({ baseUrl: 'http://127.0.0.1:9/models/' });
      await expect(src.fetch(q8, 'bytes', () => {})).rejects.toThrow(/Node-only/);
    } finally {
      if (!had) delete g.self;
    }
  });
  it('a Node-only fp32 graph stays choosable where a GGUF transport builds it, and only there', async () => {
    // the build keeps the inline fp32 graphs in models-node/ (public/ holds only what a browser
    // downloads): the browser makes fp32 from the transport's files, never from that graph
    const fp32 = { ...entry, path: '../../models-node/m/onnx/model.onnx', node_only: true };
    const q8 = { ...entry, path: '../../models-node/m/onnx/model_q8.onnx', node_only: true };
    const t = { graph: entry, layout: entry, gguf: entry };
    const man = {
      ...manifest,
      models: { m: { id: 'm', variants: { fp32, q8 }, transport: t }, bare: { id: 'bare', variants: { fp32, q8 } } },
      suites: { s: { id: 's', base: 'm', arms: {}, rms: {}, fused: { rows: ['m'], variants: { fp32, q8 }, transport: t } } },
    } as never;
    const b = browserManifest(man);
    expect(Object.keys(b.models.m.variants)).toEqual(['fp32']);
    expect(Object.keys(b.suites.s.fused!.variants)).toEqual(['fp32']);
    expect(Object.keys(b.models.bare.variants)).toEqual([]);
    expect(() => chooseDtype([b.models.bare], ['fp32', 'q8'])).toThrow(/no dtype among fp32, q8/);
    const g = globalThis as Record<string, unknown>;
    const had = 'self' in g;
    if (!had) g.self = { location: { href: 'http://127.0.0.1:9/' } };
    try {
      // transport: false in a browser asks for the graph itself: refused, naming the file
      const src = new BrowserFileSource({ baseUrl: 'http://127.0.0.1:9/models/' });
      await expect(src.fetch(b.models.m.variants.fp32!, 'bytes', () => {})).rejects.toThrow(/models-node\/m\/onnx\/model.onnx is a Node-only file/);
    } finally {
      if (!had) delete g.self;
    }
  });
});

describe('storage estimate (navigator.storage)', () => {
  it('reports usage, quota and persistence, and the tracker carries it into progress', async () => {
    const g = globalThis as Record<string, unknown>;
    const had = 'self' in g;
    if (!had) g.self = { location: { href: 'http://127.0.0.1:9/' } };
    vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 5, quota: 1000 }), persisted: async () => true } });
    try {
      const src = new BrowserFileSource({ baseUrl: 'http://127.0.0.1:9/models/' });
      const info = await src.storage();
      expect(info).toEqual({ usage: 5, quota: 1000, persisted: true });
      const events: LoadProgress[] = [];
      const t = new ProgressTracker((p) => events.push(p), 0);
      t.setStorage(info!);
      expect(events.at(-1)!.storage).toEqual(info);
      vi.stubGlobal('navigator', { storage: { estimate: async () => { throw new Error('no'); } } });
      expect(await src.storage()).toEqual({ usage: null, quota: null, persisted: null });
      vi.stubGlobal('navigator', {});
      expect(await src.storage()).toBeNull();
    } finally {
      vi.unstubAllGlobals();
      if (!had) delete g.self;
    }
  });
});
