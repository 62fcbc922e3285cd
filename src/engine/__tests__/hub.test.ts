// Hub bases (hub.ts): the listing, the variant choice, the tokenizer identity, the git blob
// check, and, through a mock hub serving this project's tiny base (e2e/mock-hub.ts), weak-to-strong
// loading under Node with the tiny suite's ARMs: the same tokens as the embedded tiny suite on the
// separate path (the hub repo holds the same base weights), and every failure naming its file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import { loadNodeEngine } from '../node';
import { gitBlobSha1, ModelFileError, verifyBytes } from '../files';
import * as ort from 'onnxruntime-node';
import { NodeFileSource } from '../source-node';
import { halfToFloat } from '../causal-lm';
import { UnsupportedGraphError } from '../platform';
import {
  adHocHubSuite, HubBase, archFromConfig, chooseHubVariant, compareTokenizers, hubDownloadBytes, HubRepoError, HubUnreachableError, listHubRepo,
  TokenizerMismatchError, tokenizerFingerprint, type HubListing, type HubSuiteDef,
} from '../hub';
import type { GenerateSettings, ManifestFile } from '../types';
import { closedPort, commitOf, inlineGraph, otherTokenizer, startMockHub, tinyRepos, type MockHub } from '../../../e2e/mock-hub';
import { manifest, MODELS_DIR, requireModels, suiteMissing } from './helpers';

const file = (p: string, bytes: number): ManifestFile => ({ path: `r/${p}`, url: `http://h/${p}`, bytes, sha256: 'ab' });
function listing(files: Record<string, number>): HubListing {
  return { endpoint: 'http://h', repo: 'o/r', sha: 'c'.repeat(40), files: Object.fromEntries(Object.entries(files).map(([p, n]) => [p, file(p, n)])) };
}

describe('variant choice for a hub base', () => {
  const all = listing({
    'onnx/model.onnx': 1000, 'onnx/model_fp16.onnx': 500, 'onnx/model_q4f16.onnx': 300, 'onnx/model_q4.onnx': 400,
    'onnx/model_quantized.onnx': 450, 'config.json': 1, 'tokenizer.json': 10, 'tokenizer_config.json': 2,
  });
  it('f16 graphs only with shader-f16; fp32 first on WASM; q8 first under Node', () => {
    expect(chooseHubVariant(all, 'webgpu', true).dtype).toBe('q4f16');
    expect(chooseHubVariant(all, 'webgpu', false).dtype).toBe('q4');
    const noQ4 = listing({ 'onnx/model.onnx': 1000, 'onnx/model_fp16.onnx': 500 });
    expect(chooseHubVariant(noQ4, 'webgpu', false).dtype).toBe('fp32');
    expect(chooseHubVariant(noQ4, 'webgpu', true).dtype).toBe('fp16');
    expect(chooseHubVariant(all, 'wasm', false).dtype).toBe('fp32');
    expect(chooseHubVariant(all, 'node', false).dtype).toBe('q8');
    expect(hubDownloadBytes(all, 'wasm', false)).toEqual({ bytes: 1013, dtype: 'fp32' });
  });
  it('fp32 too big for WASM memory goes to q8, with the reason; external data files come along, in order', () => {
    const big = listing({
      'onnx/model.onnx': 1000, 'onnx/model.onnx_data': 6e9, 'onnx/model_quantized.onnx': 1.7e9,
      'onnx/model_q4.onnx': 300, 'onnx/model_q4.onnx_data_1': 5, 'onnx/model_q4.onnx_data': 7,
    });
    const v = chooseHubVariant(big, 'wasm', false);
    expect(v.dtype).toBe('q8');
    expect(v.why).toMatch(/fp32 is 6\.0 GB, too big for WASM/);
    expect(chooseHubVariant(big, 'webgpu', false).files.map((f) => f.path)).toEqual(['r/onnx/model_q4.onnx', 'r/onnx/model_q4.onnx_data', 'r/onnx/model_q4.onnx_data_1']);
  });
  it('a repo without a graph for this backend, or without the requested dtype, is refused naming what was looked for', () => {
    const onlyF16 = listing({ 'onnx/model_fp16.onnx': 500 });
    expect(() => chooseHubVariant(onlyF16, 'wasm', false)).toThrow(/o\/r@ccccccc has no ONNX graph this backend \(wasm\) can load: looked for onnx\/model\.onnx/);
    expect(() => chooseHubVariant(all, 'wasm', false, 'q4f16', 'onnx')).not.toThrow();
    expect(() => chooseHubVariant(onlyF16, 'wasm', false, 'q4')).toThrow(/dtype q4 requested, but hub repo o\/r@ccccccc has no onnx\/model_q4\.onnx/);
  });
  it('config.json gives the arch; generation_config.json the eos ids', () => {
    const a = archFromConfig({ num_hidden_layers: 32, num_attention_heads: 15, num_key_value_heads: 5, hidden_size: 960, vocab_size: 49152, max_position_embeddings: 8192, eos_token_id: 0 }, { eos_token_id: [2, 0] }, 'x');
    expect(a).toMatchObject({ num_layers: 32, num_kv_heads: 5, head_dim: 64, hidden_size: 960, vocab_size: 49152, max_position: 8192, eos_token_ids: [2, 0] });
    expect(() => archFromConfig({ hidden_size: 3 }, null, 'hub repo o/r')).toThrow(/hub repo o\/r\/config.json lacks/);
  });
  it('ad-hoc hub suites from owner/name[@rev]', () => {
    expect(adHocHubSuite('a/b@v1', 'tiny')).toEqual({ id: 'hub:a/b', label: 'a/b (hub)', repo: 'a/b', revision: 'v1', armsFrom: 'tiny' });
    expect(adHocHubSuite('a/b').revision).toBe('main');
    expect(() => adHocHubSuite('nope')).toThrow(/not a hub repo/);
  });
});

describe('float16 logits (fp16 exports)', () => {
  it('widen exactly', () => {
    // 1, -2, 0.5, 65504, 2^-24 (smallest subnormal), -0, inf
    const h = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00]);
    expect(Array.from(halfToFloat(h))).toEqual([1, -2, 0.5, 65504, 2 ** -24, -0, Infinity]);
    expect(Number.isNaN(halfToFloat(new Uint16Array([0x7e00]))[0])).toBe(true);
  });
});

describe('integrity of hub files kept in git (their git blob id)', () => {
  it('is git hash-object, and a changed byte is named', async () => {
    // `git hash-object` of an empty file and of "hello\n"
    expect(await gitBlobSha1(new Uint8Array(0))).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    const hello = new TextEncoder().encode('hello\n');
    expect(await gitBlobSha1(hello)).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    const f: ManifestFile = { path: 'o/r/config.json', bytes: 6, sha256: '', git_sha1: 'ce013625030ba8dba906f756967f9e9ca394464a' };
    await expect(verifyBytes(f, hello, 'x')).resolves.toBeUndefined();
    const e = await verifyBytes(f, new TextEncoder().encode('hellO\n'), 'x').catch((x) => x);
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.file).toBe('o/r/config.json');
    expect(e.message).toMatch(/git blob id mismatch/);
  });
});

const tinyWhy = suiteMissing('tiny');
const tokJson = () => JSON.parse(readFileSync(join(MODELS_DIR, 'tiny-base/tokenizer.json'), 'utf8'));

describe.skipIf(!!tinyWhy)('tokenizer identity', () => {
  it('is blind to key order, sees one changed merge or vocab entry, and names both models', async () => {
    const t = tokJson();
    const a = await tokenizerFingerprint(t);
    const reordered = { ...t, model: { ...t.model, vocab: Object.fromEntries(Object.entries(t.model.vocab).reverse()) } };
    expect(await tokenizerFingerprint(reordered)).toEqual(a);
    const merged = await tokenizerFingerprint(JSON.parse(new TextDecoder().decode(otherTokenizer(new TextEncoder().encode(JSON.stringify(t))))));
    expect(merged.merges).not.toBe(a.merges);
    expect(merged.vocab).toBe(a.vocab);
    expect(() => compareTokenizers(a, 'BASE-X', merged, 'ARMS-Y')).toThrow(TokenizerMismatchError);
    expect(() => compareTokenizers(a, 'BASE-X', merged, 'ARMS-Y')).toThrow(/BASE-X and ARMS-Y differ in their merges/);
    const [k, id] = Object.entries(t.model.vocab)[100] as [string, number];
    const vocab = { ...t.model.vocab };
    delete vocab[k];
    vocab[`${k}§`] = id;
    const v = await tokenizerFingerprint({ ...t, model: { ...t.model, vocab } });
    expect(() => compareTokenizers(a, 'B', v, 'A')).toThrow(/vocabulary \(49152 vs 49152 entries, same size but different tokens or ids\)/);
    expect(() => compareTokenizers(a, 'B', a, 'A')).not.toThrow();
  });
});

requireModels('hub bases on the tiny suite', tinyWhy);

describe.skipIf(!!tinyWhy)('weak-to-strong through a mock hub (Node, tiny suite)', () => {
  let hub: MockHub;
  const def = (name: string): HubSuiteDef => ({ id: `hub:genarm-test/${name}`, label: name, repo: `genarm-test/${name}`, revision: 'main', armsFrom: 'tiny' });
  const load = (name: string, endpoint = hub.url) =>
    loadNodeEngine({ modelsDir: MODELS_DIR, suite: `hub:genarm-test/${name}`, hub: { suite: def(name), endpoint }, dtype: 'fp32', threads: 1 });
  const engines: Engine[] = [];
  beforeAll(async () => {
    hub = await startMockHub(tinyRepos(MODELS_DIR));
  });
  afterAll(async () => {
    for (const e of engines) await e.dispose();
    await hub?.close();
  });

  it('lists a repo as the hub API does: branch to commit, LFS files by sha256, git files by blob id', async () => {
    const l = await listHubRepo(def('tiny-base'), `${hub.url}/`);
    expect(l.sha).toBe(commitOf('genarm-test/tiny-base'));
    const graph = inlineGraph(MODELS_DIR, 'tiny-base');
    expect(l.files['onnx/model.onnx']).toEqual({
      path: 'genarm-test/tiny-base/onnx/model.onnx', url: `${hub.url}/genarm-test/tiny-base/resolve/${l.sha}/onnx/model.onnx`,
      bytes: graph.length, sha256: createHash('sha256').update(graph).digest('hex'),
    });
    expect(l.files['config.json'].git_sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(l.files['config.json'].sha256).toBe('');
    await expect(listHubRepo({ ...def('nope') }, hub.url)).rejects.toThrow(/hub repo genarm-test\/nope@main: not found \(HTTP 404/);
  });

  const settings: GenerateSettings = {
    prompt: 'Tell me about tea.', weights: { helpfulness: 1, harmlessness: 0.5 }, decoder: 'genarm', temperature: 0.8, top_k: 0, top_p: 1,
    seed: 7, max_tokens: 12,
  };

  it('the hub base loads with the tiny ARMs, separate path, and gives the embedded tiny suite\'s tokens and rewards', async () => {
    const w2s = await load('tiny-base');
    engines.push(w2s);
    expect(w2s.path).toBe('separate');
    expect(w2s.backend.dtype).toBe('fp32');
    expect(w2s.backend.base_dtype).toBeUndefined();
    expect(w2s.backend.reason).toMatch(/hub base genarm-test\/tiny-base@[0-9a-f]{7}: fp32 \(model\.onnx\)/);
    expect(w2s.objectives).toEqual(['helpfulness', 'harmlessness']);
    expect(w2s.manifest.suites['hub:genarm-test/tiny-base']).toMatchObject({ base: 'hub:genarm-test/tiny-base', arms: { helpfulness: 'tiny-arm-helpfulness' } });
    const own = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1, path: 'separate', transport: false });
    engines.push(own);
    // GenARM sampled and greedy, the plain base, and the two baselines (the RMs are this site's, the base the hub's)
    const runs: GenerateSettings[] = [
      settings, { ...settings, temperature: 0, weights: { helpfulness: 2, harmlessness: 0 } }, { ...settings, decoder: 'base' },
      { ...settings, decoder: 'args', args_k: 4, max_tokens: 6 }, { ...settings, decoder: 'bon', bon_n: 2, max_tokens: 6 },
    ];
    for (const s of runs) {
      const a = await w2s.generate(s);
      const b = await own.generate(s);
      expect(a.tokens.length).toBeGreaterThan(0);
      expect(a.tokens.map((t) => t.id)).toEqual(b.tokens.map((t) => t.id));
      expect(a.text).toBe(b.text);
      if (s.decoder === 'bon') expect(a.rm_scores!.helpfulness).toBeCloseTo(b.rm_scores!.helpfulness!, 4);
      if (s.decoder === 'args') expect(a.tokens.at(-1)!.rm_rewards!.helpfulness).toBeCloseTo(b.tokens.at(-1)!.rm_rewards!.helpfulness!, 4);
      if (s.decoder === 'args' || s.decoder === 'bon') continue;
      a.tokens.forEach((t, i) => {
        expect(t.logprob_base).toBeCloseTo(b.tokens[i].logprob_base, 5);
        expect(t.rewards.helpfulness).toBeCloseTo(b.tokens[i].rewards.helpfulness!, 5);
        expect(t.shifts.harmlessness).toBeCloseTo(b.tokens[i].shifts.harmlessness!, 5);
      });
    }
    // the ARM weights do move the answer (so the equality above is not two plain bases)
    const plain = await w2s.generate({ ...settings, decoder: 'base' });
    const guided = await w2s.generate({ ...settings, weights: { helpfulness: 5, harmlessness: 5 } });
    expect(guided.tokens.map((t) => t.id)).not.toEqual(plain.tokens.map((t) => t.id));
  });

  it('a variant this backend has no kernel for passes to the next the repo has; a lost GPU passes through', async () => {
    const files = tinyRepos(MODELS_DIR)['genarm-test/tiny-base'].files;
    const extra = await startMockHub({ 'genarm-test/tiny-variants': { files: { ...files, 'onnx/model_quantized.onnx': files['onnx/model.onnx'] } } });
    try {
      const m = JSON.parse(readFileSync(join(MODELS_DIR, 'manifest.json'), 'utf8'));
      const src = new NodeFileSource(MODELS_DIR);
      const fetchBytes = (f: ManifestFile) => src.fetch(f, 'bytes', () => {}) as Promise<Uint8Array>;
      const spec = { suite: def('tiny-variants'), endpoint: extra.url };
      const h = await HubBase.open(m, spec, 'node', false, undefined, fetchBytes);
      expect(h.variant.dtype).toBe('q8');
      const tried: string[] = [];
      const session = await h.createSession(fetchBytes, async (graph) => {
        tried.push(h.variant.dtype);
        if (h.variant.dtype === 'q8') throw new UnsupportedGraphError('Could not find an implementation for MatMulNBits(1) node with name n0');
        return (await ort.InferenceSession.create(graph)) as never;
      });
      expect(tried).toEqual(['q8', 'fp32']);
      expect(h.variant.dtype).toBe('fp32');
      expect(h.entry.variants).toEqual({ fp32: h.variant.files[0] });
      expect(h.why).toMatch(/model_quantized\.onnx \(q8\) cannot run here \(no MatMulNBits kernel\): using fp32/);
      await (session as unknown as { release(): Promise<void> }).release();
      // nothing left to try: the refusal names every graph and op
      const only = await HubBase.open(m, spec, 'node', false, 'q8', fetchBytes);
      const e = await only.createSession(fetchBytes, async () => { throw new UnsupportedGraphError('Could not find an implementation for GroupQueryAttention(1) node'); }).catch((x) => x);
      expect(e).toBeInstanceOf(HubRepoError);
      expect(e.message).toMatch(/no variant of it runs on this backend: model_quantized\.onnx \(q8\) cannot run here \(no GroupQueryAttention kernel\)/);
      // any other failure (the browser's lost GPU, which the worker answers with WASM) is not swallowed
      const lost = new Error('GPU device lost');
      const h2 = await HubBase.open(m, spec, 'node', false, undefined, fetchBytes);
      await expect(h2.createSession(fetchBytes, async () => { throw lost; })).rejects.toBe(lost);
    } finally {
      await extra.close();
    }
  });

  it('a graph without the layout the engine steps is refused, naming what it lacks', async () => {
    // a trajectory RM's graph: rewards, no logits
    const files = tinyRepos(MODELS_DIR)['genarm-test/tiny-base'].files;
    const rm = inlineGraph(MODELS_DIR, 'tiny-rm-helpfulness');
    const extra = await startMockHub({ 'genarm-test/tiny-rm': { files: { ...files, 'onnx/model.onnx': rm } } });
    try {
      const e = await load('tiny-rm', extra.url).catch((x) => x);
      expect(e).toBeInstanceOf(HubRepoError);
      expect(e.message).toMatch(/hub base genarm-test\/tiny-rm@[0-9a-f]{7}: its ONNX graph does not have the layout this engine steps .*missing outputs logits/);
    } finally {
      await extra.close();
    }
  });

  // the tiny ARMs' q8 graphs are Node-only files (models-node/): without them this case cannot arise
  const q8 = manifest()?.models['tiny-arm-helpfulness']?.variants.q8?.path;
  it.skipIf(!q8 || !existsSync(join(MODELS_DIR, q8)))('with no dtype asked, the base takes the repo\'s variant and the ARMs theirs, both named', async () => {
    const e = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'hub:genarm-test/tiny-base', hub: { suite: def('tiny-base'), endpoint: hub.url }, threads: 1 });
    engines.push(e);
    // the ARMs' Node preference is q8 (models-node/), the repo has fp32 only
    expect(e.backend.dtype).toBe('q8');
    expect(e.backend.base_dtype).toBe('fp32');
    expect(e.backend.reason).toMatch(/hub base genarm-test\/tiny-base@[0-9a-f]{7}: fp32 \(model\.onnx\), fp32 \(the repo has no q8 this backend takes\); ARMs q8/);
    expect((await e.generate({ ...settings, max_tokens: 3 })).tokens.length).toBeGreaterThan(0);
  });

  it('a corrupted download is refused by its sha256, naming the file', async () => {
    const e = await load('tiny-corrupt').catch((x) => x);
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.file).toBe('genarm-test/tiny-corrupt/onnx/model.onnx');
    expect(e.message).toMatch(/sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/);
  });

  it('a 404 and a cut download name the file', async () => {
    const gone = await load('tiny-404').catch((x) => x);
    expect(gone).toBeInstanceOf(ModelFileError);
    expect(gone.file).toBe('genarm-test/tiny-404/onnx/model.onnx');
    expect(gone.message).toMatch(/missing model file genarm-test\/tiny-404\/onnx\/model\.onnx \(HTTP 404/);
    const cut = await load('tiny-cut').catch((x) => x);
    expect(cut).toBeInstanceOf(ModelFileError);
    expect(cut.file).toBe('genarm-test/tiny-cut/onnx/model.onnx');
    expect(cut.message).toMatch(/cut off after \d+ of \d+ bytes/);
  });

  it('a repo lacking its graph says what it looked for', async () => {
    const e = await load('tiny-missing').catch((x) => x);
    expect(e).toBeInstanceOf(HubRepoError);
    expect(e.message).toMatch(/dtype fp32 requested, but hub repo genarm-test\/tiny-missing@[0-9a-f]{7} has no onnx\/model\.onnx/);
    // no dtype asked for: the backend's whole order (hub.ts, hubDtypeOrder) is named
    const any = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'hub:genarm-test/tiny-missing', hub: { suite: def('tiny-missing'), endpoint: hub.url }, threads: 1 }).catch((x) => x);
    expect(any).toBeInstanceOf(HubRepoError);
    expect(any.message).toMatch(/hub repo genarm-test\/tiny-missing@[0-9a-f]{7} has no ONNX graph this backend \(node\) can load: looked for onnx\/model_quantized\.onnx, onnx\/model_int8\.onnx, onnx\/model\.onnx, onnx\/model_q4\.onnx/);
  });

  it('a tokenizer that differs from the ARMs\' is refused, naming both models', async () => {
    const e = await load('tiny-other-tokenizer').catch((x) => x);
    expect(e).toBeInstanceOf(TokenizerMismatchError);
    expect(e.message).toMatch(/hub base genarm-test\/tiny-other-tokenizer@[0-9a-f]{7}.*and the ARMs' tokenizer \(model tiny-base, tiny-base\/tokenizer\.json\) differ in their merges/);
  });

  it('an unreachable hub says "hub unreachable"; the embedded suite still loads', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const e = await load('tiny-base', url).catch((x) => x);
    expect(e).toBeInstanceOf(HubUnreachableError);
    expect(e.message).toMatch(new RegExp(`^hub unreachable: ${url.replace(/[.:/]/g, '\\$&')} did not answer`));
    const own = await loadNodeEngine({ modelsDir: MODELS_DIR, suite: 'tiny', dtype: 'fp32', threads: 1 });
    engines.push(own);
    expect((await own.generate({ ...settings, max_tokens: 3 })).tokens.length).toBeGreaterThan(0);
  });
});
