// Hub suites in the store and the picker (src/engine/hub.ts): the configured ones and the URL's
// (?hubrepo=owner/name&hubarms=SUITE) are listed from the hub at ?hub=URL while the embedded suite
// loads; an unreachable hub marks them "hub unreachable" and the embedded suite still loads;
// choosing one sends the engine a load with the hub suite and the hub's address; the picker
// shows each base's download size for the backend, and the hub's messages as text.
import { beforeEach, describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { FakeEngine, readFakeManifest } from './fake-engine';
import { configureEngine, useApp } from './store';
import { until } from './test-wait';
import { SuitePickerView } from '../ui/Controls';
import { HubRepoError, HubUnreachableError, type HubListing, type HubSuiteDef } from '../engine/hub';
import type { EngineLoadOptions, Ready } from '../engine/interface';

const st = () => useApp.getState();

const DEFS: HubSuiteDef[] = [
  { id: 'big-hub', label: 'Big (hub)', repo: 'o/big', revision: 'main', armsFrom: 'fake' },
  { id: 'gone-hub', label: 'Gone (hub)', repo: 'o/gone', revision: 'main', armsFrom: 'fake' },
];
const listing = (repo: string): HubListing => ({
  endpoint: 'http://hub.test', repo, sha: 'a'.repeat(40),
  files: Object.fromEntries(([
    ['onnx/model.onnx', 2_000_000], ['onnx/model_q4.onnx', 500_000], ['config.json', 1000], ['tokenizer.json', 3_000_000], ['tokenizer_config.json', 1000],
  ] as const).map(([p, n]) => [p, { path: `${repo}/${p}`, url: `http://hub.test/${p}`, bytes: n, sha256: 'x' }])),
});

/** The fake engine, recording each load; a hub suite loads as the fake suite (the fake has no hub). */
class Recorder extends FakeEngine {
  static loads: EngineLoadOptions[] = [];
  override load(opts: EngineLoadOptions): Promise<Ready> {
    Recorder.loads.push(structuredClone(opts));
    return super.load({ ...opts, suite: 'fake', hub: undefined });
  }
}

/** the picker with the store's values (renderToStaticMarkup sees a store's initial state only) */
const picker = () => {
  const s = st();
  return <SuitePickerView manifest={s.load.manifest} suite={s.suite} select={() => {}} hubSuites={s.hubSuites} hubUrl={s.hubUrl} backend={s.load.backend} />;
};

let asked: string[] = [];
function configure(mode: 'ok' | 'offline') {
  configureEngine(() => new Recorder(), {
    readManifest: readFakeManifest,
    hubSuites: DEFS,
    listHub: async (def, endpoint) => {
      asked.push(`${endpoint} ${def.repo}`);
      if (mode === 'offline') throw new HubUnreachableError(endpoint, 'fetch failed');
      if (def.repo === 'o/gone') throw new HubRepoError('hub repo o/gone@main: not found <b>(HTTP 404)</b>');
      return listing(def.repo);
    },
  });
}

beforeEach(() => {
  st().reset();
  Recorder.loads = [];
  asked = [];
});

describe('hub suites in the store', () => {
  it('lists the configured and the URL\'s hub suites at ?hub=, with sizes; the embedded suite loads meanwhile', async () => {
    configure('ok');
    await st().init('?hub=http://hub.test/&hubrepo=o/extra@v2&hubarms=fake');
    expect(st().hubUrl).toBe('http://hub.test');
    expect(st().hubSuites.map((h) => h.def.id)).toEqual(['big-hub', 'gone-hub', 'hub:o/extra']);
    expect(st().hubSuites[2].def).toMatchObject({ repo: 'o/extra', revision: 'v2', armsFrom: 'fake' });
    await until(() => st().hubSuites.every((h) => h.status !== 'checking'));
    expect(asked.sort()).toEqual(['http://hub.test o/big', 'http://hub.test o/extra', 'http://hub.test o/gone']);
    expect(st().hubSuites.map((h) => h.status)).toEqual(['ok', 'error', 'ok']);
    expect(st().load.status).toBe('ready');
    expect(Recorder.loads[0]).toMatchObject({ suite: 'fake' });
    expect(Recorder.loads[0].hub).toBeUndefined();

    const html = renderToStaticMarkup(picker());
    // the fake runs on WASM: fp32 first (hub.ts, hubDtypeOrder), 2 MB graph + 3.002 MB json
    expect(html).toContain('Big (hub) · base 5.0 MB (fp32) from the hub');
    expect(html).toMatch(/<option value="gone-hub" disabled="" data-hub-status="error">Gone \(hub\) · not available<\/option>/);
    // the hub's message is text, never markup
    expect(html).toContain('Gone (hub): hub repo o/gone@main: not found &lt;b&gt;(HTTP 404)&lt;/b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('hub unreachable');
  });

  it('choosing a hub suite loads it with the hub\'s address, and asks the hub for the sizes', async () => {
    configure('ok');
    await st().init('');
    await until(() => st().load.status === 'ready');
    expect(asked).toEqual([]);
    st().selectSuite('big-hub');
    await until(() => st().hubSuites.every((h) => h.status !== 'checking' && h.status !== 'unchecked'));
    expect(asked.length).toBe(2);
    await until(() => Recorder.loads.length === 2 && st().load.status === 'ready');
    expect(Recorder.loads[1]).toMatchObject({ suite: 'big-hub', hub: { suite: DEFS[0], endpoint: 'https://huggingface.co' } });
  });

  it('without a hub in the URL the page asks the hub nothing until told; an unreachable hub then greys its suites out; the embedded suite works', async () => {
    configure('offline');
    await st().init('?prompt=hi&max=4');
    expect(st().hubUrl).toBe('https://huggingface.co');
    await until(() => st().load.status === 'ready');
    expect(asked).toEqual([]);
    expect(st().hubSuites.map((h) => h.status)).toEqual(['unchecked', 'unchecked']);
    const before = renderToStaticMarkup(picker());
    expect(before).toContain('<option value="big-hub" data-hub-status="unchecked">Big (hub) · size: ask the hub</option>');
    expect(before).toContain('this page asks it nothing until you do.');
    expect(before).toContain('>Ask the hub for sizes</button>');
    await st().probeHub();
    expect(asked).toEqual(['https://huggingface.co o/big', 'https://huggingface.co o/gone']);
    expect(st().hubSuites.map((h) => h.status)).toEqual(['unreachable', 'unreachable']);
    expect(st().hubSuites[0].message).toBe('hub unreachable: https://huggingface.co did not answer (fetch failed)');
    const html = renderToStaticMarkup(picker());
    expect(html).toMatch(/<option value="big-hub" disabled="" data-hub-status="unreachable">Big \(hub\) · hub unreachable<\/option>/);
    expect(html).toContain('Hub suites: hub unreachable (https://huggingface.co): the suites above still work.');
    await until(() => st().guided.status === 'done');
    expect(st().guided.tokens.length).toBeGreaterThan(0);
  });
});
