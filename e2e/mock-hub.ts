// A stand-in for the Hugging Face hub (Node http), for the hub-base tests: the same URL and API
// layout as the real hub (src/engine/hub.ts says which calls are made), serving this project's
// own tiny files (public/models/tiny-base, its inline fp32 graph from models-node/) as hub repos,
// plus broken ones:
//   genarm-test/tiny-base            the tiny base as a transformers.js repo (onnx/model.onnx, json files)
//   genarm-test/tiny-other-tokenizer the same, with one merge of tokenizer.json changed
//   genarm-test/tiny-missing         no onnx/model.onnx
//   genarm-test/tiny-corrupt         onnx/model.onnx served with one byte flipped (listed with the true sha256)
//   genarm-test/tiny-404             onnx/model.onnx listed, but its download answers 404
//   genarm-test/tiny-cut             onnx/model.onnx: the connection drops halfway through the body
// .onnx files and tokenizer.json are "LFS" files (listed with lfs.oid = sha256), the other json
// files are git files (oid = git blob sha1), so both checks of hub.ts run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Manifest } from '../src/engine/types';

export interface MockRepo {
  files: Record<string, Uint8Array>;
  /** served with one byte flipped */
  corrupt?: string[];
  /** listed, but 404 on download */
  gone?: string[];
  /** the body stops halfway and the connection closes */
  cut?: string[];
}

export interface MockHub {
  url: string;
  /** resolve/ requests per repo path, e.g. 'genarm-test/tiny-base/onnx/model.onnx' */
  downloads: Map<string, number>;
  close(): Promise<void>;
}

const LFS = (p: string) => p.endsWith('.onnx') || p.endsWith('.onnx_data') || p === 'tokenizer.json';
const sha1 = (b: Uint8Array, head = '') => createHash('sha1').update(head).update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** a repo's commit: a fixed 40-hex id from its name */
export const commitOf = (repo: string) => sha1(new TextEncoder().encode(repo), 'commit ');

export const TINY_FILES = ['onnx/model.onnx', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

/**
 * A model's inline fp32 graph, found through the manifest of a models folder (public/models): the
 * build keeps it in models-node/, beside public/ (a Node-only file, no browser downloads it).
 */
export function inlineGraph(modelsDir: string, id: string): Uint8Array {
  const m = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as Manifest;
  const f = m.models[id]?.variants.fp32;
  if (!f) throw new Error(`${join(modelsDir, 'manifest.json')} lists no fp32 graph for ${id} (npm run models)`);
  return new Uint8Array(readFileSync(join(modelsDir, f.path)));
}

/** The tiny base's files as a hub repo, read from a models folder (public/models). */
export function tinyRepoFiles(modelsDir: string): Record<string, Uint8Array> {
  return Object.fromEntries(TINY_FILES.map((p) => [p,
    p === 'onnx/model.onnx' ? inlineGraph(modelsDir, 'tiny-base') : new Uint8Array(readFileSync(join(modelsDir, 'tiny-base', p)))]));
}

/** tokenizer.json with its first merge replaced by another pair of the vocabulary: same size, other merges. */
export function otherTokenizer(json: Uint8Array): Uint8Array {
  const t = JSON.parse(new TextDecoder().decode(json));
  const m = t.model.merges;
  m[0] = Array.isArray(m[0]) ? ['x', 'q'] : 'x q';
  return new TextEncoder().encode(JSON.stringify(t));
}

/** The six test repos of the header, from a models folder. */
export function tinyRepos(modelsDir: string): Record<string, MockRepo> {
  const files = tinyRepoFiles(modelsDir);
  const { 'onnx/model.onnx': _graph, ...noGraph } = files;
  return {
    'genarm-test/tiny-base': { files },
    'genarm-test/tiny-other-tokenizer': { files: { ...files, 'tokenizer.json': otherTokenizer(files['tokenizer.json']) } },
    'genarm-test/tiny-missing': { files: noGraph },
    'genarm-test/tiny-corrupt': { files, corrupt: ['onnx/model.onnx'] },
    'genarm-test/tiny-404': { files, gone: ['onnx/model.onnx'] },
    'genarm-test/tiny-cut': { files, cut: ['onnx/model.onnx'] },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function treeOf(repo: MockRepo, dir: string): unknown[] {
  const prefix = dir ? `${dir}/` : '';
  const out = new Map<string, unknown>();
  for (const [path, bytes] of Object.entries(repo.files)) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    if (rest.includes('/')) {
      const d = prefix + rest.split('/')[0];
      out.set(d, { type: 'directory', oid: sha1(new TextEncoder().encode(d)), size: 0, path: d });
      continue;
    }
    const oid = sha1(bytes, `blob ${bytes.length}\0`);
    out.set(path, LFS(path)
      ? { type: 'file', oid, size: bytes.length, path, lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } }
      : { type: 'file', oid, size: bytes.length, path });
  }
  return [...out.values()];
}

/** Start the mock hub on 127.0.0.1 (port 0: any free one). */
export async function startMockHub(repos: Record<string, MockRepo>, port = 0): Promise<MockHub> {
  const downloads = new Map<string, number>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // the page fetches it cross-origin, from a cross-origin-isolated page
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Headers', '*');
      res.writeHead(204).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (m) {
      const repo = repos[m[1]];
      if (!repo) return send(res, 404, { error: 'Repository not found' });
      if (m[2] !== 'main' && m[2] !== commitOf(m[1])) return send(res, 404, { error: `Invalid rev id: ${m[2]}` });
      return send(res, 200, { id: m[1], modelId: m[1], sha: commitOf(m[1]) });
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (m) {
      const repo = repos[m[1]];
      if (!repo) return send(res, 404, { error: 'Repository not found' });
      if (m[2] !== commitOf(m[1]) && m[2] !== 'main') return send(res, 404, { error: 'Revision not found' });
      const dir = (m[3] ?? '').replace(/\/$/, '');
      const tree = treeOf(repo, dir);
      if (dir && !tree.length) return send(res, 404, { error: `Entry not found: ${dir}` });
      return send(res, 200, tree);
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      const repo = repos[m[1]];
      const file = m[3];
      const key = `${m[1]}/${file}`;
      downloads.set(key, (downloads.get(key) ?? 0) + 1);
      const bytes = repo?.files[file];
      if (!repo || !bytes || repo.gone?.includes(file) || (m[2] !== commitOf(m[1]) && m[2] !== 'main')) {
        return send(res, 404, { error: 'Entry not found' });
      }
      let body = Buffer.from(bytes);
      if (repo.corrupt?.includes(file)) {
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0xff;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, ETag: `"${sha256(bytes)}"` });
      if (repo.cut?.includes(file)) {
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      }
      res.end(body);
      return;
    }
    send(res, 404, { error: 'not a hub URL' });
  };
  const server: Server = createServer(handle);
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}`;
  return {
    url,
    downloads,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/** A port nothing listens on (an unreachable hub): bound, then released. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const addr = s.address();
  const port = typeof addr === 'object' && addr ? addr.port : 9;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}
