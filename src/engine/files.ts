// Where model files come from, and the errors that name a bad one. A source
// verifies every file's sha256 before handing it over; the browser source also
// keeps verified files in Cache Storage.
import type { FileProgress, LoadProgress, Manifest, ManifestFile, StorageInfo } from './types';

/** A missing, truncated or corrupt model file; `file` is its manifest path. */
export class ModelFileError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/** Bytes in memory (browser) or a verified path on disk (Node: ORT reads it itself). */
export type FileData = Uint8Array | string;

export interface FileSource {
  /** where the files come from, for messages: a URL or a folder */
  readonly location: string;
  readManifest(): Promise<Manifest>;
  /**
   * Fetch one file and check its size and sha256. `want: 'bytes'` forces bytes (JSON
   * files); 'any' lets a filesystem source return a path. `onProgress` gets loaded bytes
   * and whether they came from a cache.
   */
  fetch(file: ManifestFile, want: 'bytes' | 'any', onProgress: (loaded: number, cached: boolean) => void): Promise<FileData>;
  /** the storage the files are cached in (the browser: navigator.storage), shown before a download */
  storage?(): Promise<StorageInfo | null>;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** git's blob id of a file (what the hub lists as `oid` for a file kept in git rather than LFS). */
export async function gitBlobSha1(bytes: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${bytes.length}\0`);
  const all = new Uint8Array(head.length + bytes.length);
  all.set(head);
  all.set(bytes, head.length);
  const digest = await crypto.subtle.digest('SHA-1', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Throws a ModelFileError unless size and sha256 match the manifest (or, for a hub file kept in
 * git, its git blob id: types.ts, ManifestFile.git_sha1).
 */
export async function verifyBytes(file: ManifestFile, bytes: Uint8Array, from: string): Promise<void> {
  if (bytes.length !== file.bytes) {
    throw new ModelFileError(`${file.path}: expected ${file.bytes} bytes, got ${bytes.length} from ${from}`, file.path);
  }
  if (file.git_sha1) {
    const blob = await gitBlobSha1(bytes);
    if (blob !== file.git_sha1.toLowerCase()) {
      throw new ModelFileError(`${file.path}: git blob id mismatch (expected ${file.git_sha1}, got ${blob}) from ${from}`, file.path);
    }
    return;
  }
  const got = await sha256Hex(bytes);
  if (got !== file.sha256.toLowerCase()) {
    throw new ModelFileError(`${file.path}: sha256 mismatch (expected ${file.sha256}, got ${got}) from ${from}`, file.path);
  }
}

/**
 * One download over HTTP into a buffer of the file's listed size (progress without holding
 * chunks twice); every failure is a ModelFileError naming the file: a network error, a 404,
 * an HTML page in place of the file, a body cut short or too long. The caller verifies the hash.
 */
export async function downloadFile(url: string, file: ManifestFile, onBytes: (n: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch (e) {
    throw new ModelFileError(`download of ${file.path} failed (${(e as Error).message})`, file.path);
  }
  if (res.status === 404) throw new ModelFileError(`missing model file ${file.path} (HTTP 404 at ${url})`, file.path);
  if (!res.ok) throw new ModelFileError(`${file.path}: HTTP ${res.status} at ${url}`, file.path);
  if ((res.headers.get('content-type') ?? '').includes('text/html') && !file.path.endsWith('.html')) {
    throw new ModelFileError(`missing model file ${file.path} (the server answered with an HTML page at ${url})`, file.path);
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(file.bytes);
  const reader = res.body.getReader();
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > out.length) {
        await reader.cancel();
        throw new ModelFileError(`${file.path}: server sent more than the ${file.bytes} bytes listed for it`, file.path);
      }
      out.set(value, loaded);
      loaded += value.length;
      onBytes(loaded);
    }
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(`download of ${file.path} was cut off after ${loaded} of ${file.bytes} bytes (${(e as Error).message})`, file.path);
  }
  if (loaded < out.length) {
    throw new ModelFileError(`download of ${file.path} was cut off after ${loaded} of ${file.bytes} bytes`, file.path);
  }
  return out;
}

/**
 * Per-file and total progress, sent at most every `intervalMs` except for phase
 * changes and completed files, so a 500 MB download does not flood the worker channel.
 */
export class ProgressTracker {
  private files = new Map<string, FileProgress>();
  private phase: LoadProgress['phase'] = 'manifest';
  private storage: StorageInfo | undefined;
  private last = 0;

  constructor(private readonly emit: (p: LoadProgress) => void, private readonly intervalMs = 100) {}

  add(file: ManifestFile): void {
    if (!this.files.has(file.path)) {
      this.files.set(file.path, { path: file.path, loaded: 0, total: file.bytes, cached: false, done: false });
    }
  }

  /** Forget a file that will not be fetched after all (a dtype the backend rejected). */
  remove(path: string): void {
    const f = this.files.get(path);
    if (f && !f.done && f.loaded === 0) this.files.delete(path);
  }

  update(path: string, loaded: number, cached: boolean): void {
    const f = this.files.get(path);
    if (!f) return;
    f.loaded = loaded;
    f.cached = cached;
    this.send(false);
  }

  done(path: string): void {
    const f = this.files.get(path);
    if (!f) return;
    f.loaded = f.total;
    f.done = true;
    this.send(true);
  }

  setStorage(storage: StorageInfo): void {
    this.storage = storage;
    this.send(true);
  }

  setPhase(phase: LoadProgress['phase']): void {
    this.phase = phase;
    this.send(true);
  }

  snapshot(): LoadProgress {
    const files = [...this.files.values()].map((f) => ({ ...f }));
    return {
      files,
      loaded: files.reduce((s, f) => s + f.loaded, 0),
      total: files.reduce((s, f) => s + f.total, 0),
      phase: this.phase,
      ...(this.storage ? { storage: { ...this.storage } } : {}),
    };
  }

  private send(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    this.emit(this.snapshot());
  }
}
