// Model files over HTTP, kept in Cache Storage once verified. A second visit reads
// every file from the cache (and re-verifies it: a corrupt entry is dropped and
// downloaded again). A failed, truncated or hash-mismatched download is retried
// once, then reported naming the file; it is never cached.
import type { Manifest, ManifestFile, StorageInfo } from './types';
import { downloadFile, ModelFileError, verifyBytes, type FileData, type FileSource } from './files';
import { browserManifest, checkManifest } from './manifest';

export const CACHE_NAME = 'genarm-models-v1';

export interface BrowserSourceOptions {
  /** folder URL of manifest.json, absolute or relative to the page ('/models/') */
  baseUrl: string;
  /** report things the user should know (cache quota, retries) */
  notice?: (message: string) => void;
}

export class BrowserFileSource implements FileSource {
  readonly location: string;
  private readonly notice: (m: string) => void;

  constructor(opts: BrowserSourceOptions) {
    const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`;
    this.location = new URL(base, self.location.href).href;
    this.notice = opts.notice ?? (() => {});
  }

  private url(path: string): string {
    return new URL(path, this.location).href;
  }

  /** The cache key carries the hash, so a rebuilt model never matches a stale entry. */
  private key(file: ManifestFile): string {
    return file.git_sha1 ? `${this.fileUrl(file)}?git=${file.git_sha1}` : `${this.fileUrl(file)}?sha256=${file.sha256}`;
  }

  private async cache(): Promise<Cache | null> {
    try {
      return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
    } catch {
      return null; // e.g. an opaque origin: work uncached
    }
  }

  /**
   * navigator.storage's estimate and whether the storage is persistent. (persist() itself is
   * a Window API: the page asks for it, src/worker/client.ts; a worker can only read the answer.)
   */
  async storage(): Promise<StorageInfo | null> {
    const st = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator?.storage;
    if (!st) return null;
    const info: StorageInfo = { usage: null, quota: null, persisted: null };
    try {
      const e = await st.estimate?.();
      info.usage = e?.usage ?? null;
      info.quota = e?.quota ?? null;
    } catch { /* unknown */ }
    try {
      info.persisted = (await st.persisted?.()) ?? null;
    } catch { /* unknown */ }
    return info;
  }

  async readManifest(): Promise<Manifest> {
    const url = this.url('manifest.json');
    const cache = await this.cache();
    let res: Response | undefined;
    try {
      res = await fetch(url, { cache: 'no-cache' });
    } catch {
      // offline: a cached manifest still lets cached models load
      res = (await cache?.match(url)) ?? undefined;
      if (!res) throw new ModelFileError(`cannot fetch ${url} (offline, and no cached copy)`, 'manifest.json');
      this.notice('offline: using the cached manifest');
    }
    if (!res.ok) throw new ModelFileError(`cannot fetch ${url}: HTTP ${res.status}`, 'manifest.json');
    const text = await res.clone().text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // a dev server answers a missing file with index.html
      throw new ModelFileError(`${url} is not JSON: no models at this address? (build them with npm run models)`, 'manifest.json');
    }
    // the variants only Node loads (models-node/) are not served: the browser never sees them
    const manifest = browserManifest(checkManifest(json));
    await cache?.put(url, new Response(text, { headers: { 'Content-Type': 'application/json' } })).catch(() => {});
    return manifest;
  }

  async fetch(file: ManifestFile, _want: 'bytes' | 'any', onProgress: (loaded: number, cached: boolean) => void): Promise<FileData> {
    if (file.node_only) throw new ModelFileError(`${file.path} is a Node-only file (models-node/): no browser downloads it`, file.path);
    const cache = await this.cache();
    const key = this.key(file);
    const hit = await cache?.match(key);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      try {
        await verifyBytes(file, bytes, 'Cache Storage');
        onProgress(bytes.length, true);
        return bytes;
      } catch {
        await cache!.delete(key);
        this.notice(`cached ${file.path} was corrupt: downloading it again`);
      }
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const bytes = await this.download(file, (n) => onProgress(n, false));
        await verifyBytes(file, bytes, this.fileUrl(file));
        if (cache) await this.store(cache, key, file, bytes);
        return bytes;
      } catch (e) {
        lastError = e;
        onProgress(0, false);
        if (attempt === 1) this.notice(`${file.path}: ${(e as Error).message}; retrying once`);
      }
    }
    const msg = (lastError as Error)?.message ?? String(lastError);
    throw lastError instanceof ModelFileError ? lastError : new ModelFileError(`${file.path}: ${msg}`, file.path);
  }

  /** where a file downloads from: its own URL (a hub file: hub.ts), else its path under the manifest's folder */
  private fileUrl(file: ManifestFile): string {
    return file.url ?? this.url(file.path);
  }

  private download(file: ManifestFile, onBytes: (n: number) => void): Promise<Uint8Array> {
    return downloadFile(this.fileUrl(file), file, onBytes);
  }

  private async store(cache: Cache, key: string, file: ManifestFile, bytes: Uint8Array): Promise<void> {
    try {
      await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(file.bytes) } }));
    } catch (e) {
      // QuotaExceededError and the like: the model still runs, it just is not kept
      this.notice(`could not cache ${file.path} (${(e as Error).name}): it will download again next visit`);
    }
  }
}

/** Drop every cached model file (a "clear cache" button). */
export async function clearModelCache(): Promise<boolean> {
  return typeof caches !== 'undefined' && caches.delete(CACHE_NAME);
}
