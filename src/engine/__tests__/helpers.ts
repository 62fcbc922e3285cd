// Shared test helpers: where the model files are, whether a suite is built, and a failing
// test when it is not.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
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

/** GENARM_ALLOW_MISSING_MODELS=1: tests whose model files are missing skip instead of failing. */
export const ALLOW_MISSING_MODELS = process.env.GENARM_ALLOW_MISSING_MODELS === '1';

/**
 * Call at a test file's top level with the reason its model tests cannot run ('' when
 * they can); the file's describe.skipIf(!!why) then skips them. A skip alone would leave
 * a checkout without its model files (or a broken build of them) looking green, so a
 * missing file adds a failing test that says what to build, unless the opt-out is set.
 */
export function requireModels(what: string, why: string): void {
  if (!why) return;
  if (ALLOW_MISSING_MODELS) {
    console.warn(`SKIPPED ${what}: ${why} (GENARM_ALLOW_MISSING_MODELS=1)`);
    return;
  }
  it(`${what}: the model files are present`, () => {
    throw new Error(
      `${what} cannot run: ${why}. Build the model files with \`npm run models\` `
      + '(or set GENARM_ALLOW_MISSING_MODELS=1 to skip these tests).',
    );
  });
}
