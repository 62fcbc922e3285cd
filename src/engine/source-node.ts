// Model files from a folder on disk (the CLI, the tests). Same checks as the
// browser: size and sha256 of every file, with an error naming the bad one. ONNX
// files are hashed as a stream and handed to onnxruntime-node by path, so a 500 MB
// model is not held twice in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Manifest, ManifestFile } from './types';
import { downloadFile, ModelFileError, verifyBytes, type FileData, type FileSource } from './files';
import { checkManifest } from './manifest';

export class NodeFileSource implements FileSource {
  readonly location: string;
  constructor(folder: string) {
    this.location = resolve(folder);
  }

  async readManifest(): Promise<Manifest> {
    const path = join(this.location, 'manifest.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new ModelFileError(`no manifest.json in ${this.location} (build the models first: npm run models)`, 'manifest.json');
    }
    return checkManifest(JSON.parse(text));
  }

  async fetch(file: ManifestFile, want: 'bytes' | 'any', onProgress: (loaded: number, cached: boolean) => void): Promise<FileData> {
    if (file.url) {
      // a hub file (hub.ts): downloaded each time under Node (no Cache Storage here), same checks
      const bytes = await downloadFile(file.url, file, (n) => onProgress(n, false));
      await verifyBytes(file, bytes, file.url);
      return bytes;
    }
    const path = join(this.location, file.path);
    const info = await stat(path).catch(() => null);
    if (!info) throw new ModelFileError(`missing model file ${file.path} (looked in ${this.location})`, file.path);
    if (info.size !== file.bytes) {
      throw new ModelFileError(`${file.path}: expected ${file.bytes} bytes, found ${info.size} in ${this.location}`, file.path);
    }
    if (want === 'bytes') {
      const bytes = new Uint8Array(await readFile(path));
      await verifyBytes(file, bytes, this.location);
      onProgress(bytes.length, true);
      return bytes;
    }
    const hash = createHash('sha256');
    let loaded = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
      hash.update(chunk as Buffer);
      loaded += (chunk as Buffer).length;
      onProgress(loaded, true);
    }
    const got = hash.digest('hex');
    if (got !== file.sha256.toLowerCase()) {
      throw new ModelFileError(`${file.path}: sha256 mismatch (expected ${file.sha256}, got ${got}) in ${this.location}`, file.path);
    }
    return path;
  }
}
