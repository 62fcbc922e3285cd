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

/** Throws a ModelFileError unless size and sha256 match the manifest. */
export async function verifyBytes(file: ManifestFile, bytes: Uint8Array, from: string): Promise<void> {
  if (bytes.length !== file.bytes) {
    throw new ModelFileError(`${file.path}: expected ${file.bytes} bytes, got ${bytes.length} from ${from}`, file.path);
  }
  const got = await sha256Hex(bytes);
  if (got !== file.sha256.toLowerCase()) {
    throw new ModelFileError(`${file.path}: sha256 mismatch (expected ${file.sha256}, got ${got}) from ${from}`, file.path);
  }
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
