// The store's link to its engine, shared by the slices: module state, not state that
// renders. The engine is a GenArmEngine (src/engine/interface.ts), which owns "one run
// at a time" (its host cancels the run in flight when a newer generate arrives); all the
// store keeps is a tag per request, to ignore what an older request still reports.
import type { Manifest } from '../engine/types';
import type { GenArmEngine, Unsubscribe } from '../engine/interface';
import { listHubRepo, type HubListing, type HubSuiteDef } from '../engine/hub';

export interface EngineConfig {
  /** read the manifest (default: fetch `${baseUrl}manifest.json` from the page) */
  readManifest?: (baseUrl: string) => Promise<Manifest>;
  /**
   * the hub suites the picker offers beside the manifest's (main.tsx: src/engine/hub.ts HUB_SUITES;
   * default none, so the store's tests never reach for a network); the URL adds more (?hubrepo=)
   */
  hubSuites?: readonly HubSuiteDef[];
  /** list a hub repo for the picker (default: src/engine/hub.ts listHubRepo, from the page) */
  listHub?: (def: HubSuiteDef, endpoint: string) => Promise<HubListing>;
}

let factory: (() => GenArmEngine) | null = null;
let readManifestWith: (baseUrl: string) => Promise<Manifest> = fetchManifest;
let hubSuites: readonly HubSuiteDef[] = [];
let listHubWith: (def: HubSuiteDef, endpoint: string) => Promise<HubListing> = (def, endpoint) => listHubRepo(def, endpoint);
let engine: GenArmEngine | null = null;
let subscriptions: Unsubscribe[] = [];
let latestRun = 0;

/** Tell the store how to make an engine (main.tsx: the worker client; tests: the fake) and how to read the manifest. */
export function configureEngine(make: () => GenArmEngine, config: EngineConfig = {}): void {
  factory = make;
  readManifestWith = config.readManifest ?? fetchManifest;
  hubSuites = config.hubSuites ?? [];
  listHubWith = config.listHub ?? ((def, endpoint) => listHubRepo(def, endpoint));
}

export function configuredHubSuites(): readonly HubSuiteDef[] {
  return hubSuites;
}

export function listHub(def: HubSuiteDef, endpoint: string): Promise<HubListing> {
  return listHubWith(def, endpoint);
}

/** A new engine in place of the old one (disposed, its subscriptions dropped). Throws when none is configured. */
export function connect(): GenArmEngine {
  disconnect();
  if (!factory) throw new Error('no engine configured');
  engine = factory();
  return engine;
}

/** Drop the engine and its subscriptions. */
export function disconnect(): void {
  for (const u of subscriptions) u();
  subscriptions = [];
  const old = engine;
  engine = null;
  old?.dispose();
}

export function currentEngine(): GenArmEngine | null {
  return engine;
}

/** Keep a subscription to the current engine until the next connect(). */
export function keep(u: Unsubscribe): void {
  subscriptions.push(u);
}

export function readManifest(baseUrl: string): Promise<Manifest> {
  return readManifestWith(baseUrl);
}

/**
 * A new tag: every request (a pair, a sweep) and every stop takes one, which makes
 * everything tagged before it stale. The engine cancels the older run itself.
 */
export function nextRun(): number {
  return ++latestRun;
}

export function isLatest(id: number): boolean {
  return id === latestRun;
}

async function fetchManifest(baseUrl: string): Promise<Manifest> {
  const res = await fetch(`${baseUrl}manifest.json`);
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  return (await res.json()) as Manifest;
}
