// The user's own ARMs in the store (slices/arms.ts) against the fake engine behind the real
// worker client and host (fake-engine.ts): an added ARM gets a weight (0: nothing changes), its
// weight reaches the engine and changes the guided answer, every token carries its reward; a
// refusal is kept as text and the page still generates; removing it, or a new load, drops it;
// the URL leaves it out and still reads back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeEngine, readFakeManifest } from './fake-engine';
import { configureEngine, useApp } from './store';
import { buildQuery, parseQuery } from './url';
import { until } from './test-wait';
import { safetensorsFile } from '../engine/__tests__/peft-fixture';

let engines: FakeEngine[] = [];
const st = () => useApp.getState();
const last = () => engines[engines.length - 1];

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const files = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  config: enc({ peft_type: 'LORA', base_model_name_or_path: 'b', r: 8, lora_alpha: 16, ...over }),
  weights: safetensorsFile({ 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [1, 1], data: new Uint8Array(4) } }),
});
const done = () => st().guided.status === 'done';

beforeEach(async () => {
  engines = [];
  st().reset();
  configureEngine(() => {
    const e = new FakeEngine();
    engines.push(e);
    return e;
  }, { readManifest: readFakeManifest });
  await st().init('?prompt=hi&max=6');
});
afterEach(() => st().reset());

describe('user ARMs', () => {
  it('adds an ARM at weight 0, weighs it when moved, scores every token with it, removes it', async () => {
    await st().generate();
    await until(done);
    const before = st().guided.result!.text;

    expect(await st().addUserArm(files('concise'))).toBe(true);
    expect(st().userArms.map((a) => a.objective)).toEqual(['user:concise']);
    expect(st().settings.weights['user:concise']).toBe(0);
    await st().generate();
    await until(done);
    expect(last().calls.at(-1)!.weights).toEqual({ helpfulness: 0.8, harmlessness: 1, 'user:concise': 0 });
    expect(st().guided.result!.text).toBe(before);
    expect(typeof st().guided.tokens[0].rewards['user:concise']).toBe('number');

    st().setWeight('user:concise', 2);
    await st().generate();
    await until(done);
    expect(last().calls.at(-1)!.weights['user:concise']).toBe(2);
    expect(st().guided.result!.text).not.toBe(before);

    st().setHeat('user:concise');
    // the URL carries the built-in weights only, and reads back
    const q = buildQuery('', st().settings, st().suite, st().heat);
    expect(q).not.toMatch(/concise|user/);
    expect(parseQuery(q).settings.weights).toEqual({ helpfulness: 0.8, harmlessness: 1 });

    await st().removeUserArm('user:concise');
    expect(st().userArms).toEqual([]);
    expect('user:concise' in st().settings.weights).toBe(false);
    expect(st().heat).toBe('sum');
    await st().generate();
    await until(done);
    expect(st().guided.result!.text).toBe(before);
  });

  it('keeps a refusal as text and still generates', async () => {
    expect(await st().addUserArm(files('other base', { base_model_name_or_path: 'meta-llama/Llama-3.2-1B' }))).toBe(false);
    expect(st().armStatus.error).toMatch(/trained on "meta-llama\/Llama-3.2-1B", this base is b/);
    expect(st().userArms).toEqual([]);
    expect(await st().addUserArm({ ...files('cut'), weights: new Uint8Array([1, 2, 3]) })).toBe(false);
    expect(st().armStatus.error).toMatch(/not a safetensors file/);
    await st().generate();
    await until(done);
    expect(st().guided.tokens.length).toBe(6);
    // a good one then clears the error
    expect(await st().addUserArm(files('ok'))).toBe(true);
    expect(st().armStatus.error).toBeUndefined();
  });

  it('a new load starts without the user ARMs', async () => {
    await st().addUserArm(files('concise'));
    st().setWeight('user:concise', 1);
    await st().loadModels();
    expect(st().load.status).toBe('ready');
    expect(st().userArms).toEqual([]);
    expect(Object.keys(st().settings.weights).sort()).toEqual(['harmlessness', 'helpfulness']);
    await st().generate();
    await until(done);
    expect(last().calls.at(-1)!.weights).toEqual({ helpfulness: 0.8, harmlessness: 1 });
  });
});
