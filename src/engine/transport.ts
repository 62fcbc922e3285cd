// Loading an fp32 graph from its GGUF transport: the weightless graph, its layout and
// the GGUF's blocks come over the wire (~100 MB for SmolLM2 instead of 651 MB), and the fp32
// weights are rebuilt here, exactly (gguf-expand.ts), into the buffer onnxruntime takes as
// `externalData` at InferenceSession.create. No DOM: the worker and Node run it alike.
// An ARM or trajectory RM is its base with a LoRA merged: it travels as the same GGUF plus its
// 4.9 MB adapter file, merged here while the blocks are expanded (the layout's `lora` ops).
//
// One TransportLoader serves one Engine.load: every file comes through the caller's `fetchBytes`
// (the platform's FileSource: size + sha256 checked, Cache Storage in the browser), the GGUF is
// fetched and indexed once, and each distinct external data (keyed by its sha256: transport.py
// lays it out canonically, so the base and the fused graph over the same weights share one) is
// expanded once. onnxruntime copies external data into its own memory at create, so `release()`
// drops every buffer once the sessions exist.
import { expandWithIndex, externalDataOption, indexGguf, parseLayout, type GgufTensor, type TransportLayout } from './gguf-expand';
import { ModelFileError } from './files';
import type { ManifestFile, TransportEntry } from './types';

export interface ExternalData {
  path: string;
  data: Uint8Array;
}

export interface TransportGraph {
  /** the weightless ONNX graph */
  graph: Uint8Array;
  /** onnxruntime's `externalData` session option */
  externalData: ExternalData[];
  layout: TransportLayout;
  /** ms spent expanding (0 when the expansion was shared with an earlier graph) */
  expandMs: number;
  /**
   * Forget this expansion once its session exists (onnxruntime holds its own copy): a load of
   * several merged graphs (the separate path's ARMs, the RMs) then holds one fp32 copy at a time.
   */
  release: () => void;
}

export interface TransportLoaderOptions {
  /** fetch + verify one manifest file as bytes (the engine's fetch with progress) */
  fetchBytes: (f: ManifestFile) => Promise<Uint8Array>;
  /** called before an expansion starts (the engine's 'expand' phase) */
  onExpand?: () => void;
}

/** The files a transport load downloads (the GGUF, and an ARM's adapter, may be shared by several entries). */
export function transportFiles(t: TransportEntry): ManifestFile[] {
  return [t.graph, t.layout, t.gguf, ...(t.adapter ? [t.adapter] : [])];
}

export class TransportLoader {
  private ggufs = new Map<string, Promise<{ bytes: Uint8Array; index: Map<string, GgufTensor> }>>();
  private expanded = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly opts: TransportLoaderOptions) {}

  async load(t: TransportEntry): Promise<TransportGraph> {
    const layoutBytes = await this.opts.fetchBytes(t.layout);
    let layout: TransportLayout;
    try {
      layout = parseLayout(JSON.parse(new TextDecoder().decode(layoutBytes)));
    } catch (e) {
      throw new ModelFileError(`${t.layout.path}: ${(e as Error).message}`, t.layout.path);
    }
    // the layout names the graph and GGUF it was made for: a manifest pairing it with others is a stale build
    if (!!layout.adapter !== !!t.adapter) {
      throw new ModelFileError(
        `${t.layout.path} ${layout.adapter ? `merges the adapter ${layout.adapter.file}` : 'merges no adapter'}, but the manifest ${t.adapter ? `lists ${t.adapter.path}` : 'lists none'}: rebuild the models (npm run models)`,
        t.layout.path,
      );
    }
    const pairs = [['graph', t.graph, layout.graph], ['GGUF', t.gguf, layout.gguf]] as [string, ManifestFile, { sha256: string; bytes: number }][];
    if (t.adapter && layout.adapter) pairs.push(['adapter', t.adapter, layout.adapter]);
    for (const [what, want, got] of pairs) {
      if (want.sha256.toLowerCase() !== got.sha256.toLowerCase() || want.bytes !== got.bytes) {
        throw new ModelFileError(
          `${t.layout.path} was made for a ${what} with sha256 ${got.sha256} (${got.bytes} B), but the manifest lists ${want.path} with ${want.sha256} (${want.bytes} B): rebuild the models (npm run models)`,
          t.layout.path,
        );
      }
    }
    const graph = await this.opts.fetchBytes(t.graph);
    const key = layout.external_data.sha256;
    let expandMs = 0;
    let pending = this.expanded.get(key);
    if (!pending) {
      pending = (async () => {
        const gg = await this.gguf(t.gguf);
        const adapter = t.adapter ? await this.opts.fetchBytes(t.adapter) : undefined;
        this.opts.onExpand?.();
        const t0 = performance.now();
        const data = expandWithIndex(gg.bytes, gg.index, layout, { adapter });
        expandMs = performance.now() - t0;
        return data;
      })();
      this.expanded.set(key, pending);
      pending.catch(() => this.expanded.delete(key));
    }
    const data = await pending;
    return { graph, externalData: externalDataOption(layout, data), layout, expandMs, release: () => this.expanded.delete(key) };
  }

  /** Drop the GGUF and every expansion (onnxruntime holds its own copy once a session exists). */
  release(): void {
    this.ggufs.clear();
    this.expanded.clear();
  }

  private gguf(f: ManifestFile): Promise<{ bytes: Uint8Array; index: Map<string, GgufTensor> }> {
    let p = this.ggufs.get(f.path);
    if (!p) {
      p = (async () => {
        const bytes = await this.opts.fetchBytes(f);
        try {
          return { bytes, index: await indexGguf(bytes) };
        } catch (e) {
          throw new ModelFileError(`${f.path}: not a readable GGUF (${(e as Error).message})`, f.path);
        }
      })();
      this.ggufs.set(f.path, p);
      p.catch(() => this.ggufs.delete(f.path));
    }
    return p;
  }
}
