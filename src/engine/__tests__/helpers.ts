// Shared test helpers: where the model files are, and whether a suite is built.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../types';

export const MODELS_DIR = process.env.GENARM_MODELS ?? 'public/models';

export function manifest(): Manifest | null {
  const p = join(MODELS_DIR, 'manifest.json');
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
}

/** Why a suite cannot be tested ('' when it can): a missing manifest, suite, model or file. */
export function suiteMissing(suite: string, dtype = 'fp32', needRms = false): string {
  const m = manifest();
  if (!m) return `no ${MODELS_DIR}/manifest.json (build the models: npm run models)`;
  const s = m.suites[suite];
  if (!s) return `suite '${suite}' is not in ${MODELS_DIR}/manifest.json`;
  const ids = [s.base, ...Object.values(s.arms), ...(needRms ? Object.values(s.rms) : [])] as string[];
  for (const id of ids) {
    const e = m.models[id];
    if (!e) return `model ${id} of suite ${suite} is not in the manifest`;
    const f = e.variants[dtype as keyof typeof e.variants];
    if (!f) return `model ${id} has no ${dtype} variant`;
    if (!existsSync(join(MODELS_DIR, f.path))) return `model file ${f.path} is absent`;
  }
  if (needRms && Object.keys(s.rms).length === 0) return `suite ${suite} has no RMs`;
  return '';
}

export function skipNote(what: string, why: string): void {
  if (why) console.warn(`SKIPPED ${what}: ${why}`);
}
