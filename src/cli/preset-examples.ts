// The page's example prompts under each of its weight presets, with the page's own settings
// (seed, temperature, length, repetition controls: store/settings.ts), on the same engine under
// Node, models loaded once. Writes reports/preset-examples.tsv: kind, example, (helpfulness,
// harmlessness), the answer's first 200 characters. The presets' titles quote it.
//   npx tsx src/cli/preset-examples.ts
import { writeFileSync } from 'node:fs';
import { loadNodeEngine } from '../engine/node';
import { PROMPT_PRESETS, WEIGHT_PRESETS } from '../store/presets';
import { DEFAULT_SETTINGS, OBJECTIVES, toEngineSettings } from '../store/settings';

const OUT = 'reports/preset-examples.tsv';

async function main(): Promise<void> {
  const engine = await loadNodeEngine({ modelsDir: 'public/models', suite: 'smollm2' });
  const lines: string[] = [];
  for (const p of PROMPT_PRESETS) {
    for (const w of WEIGHT_PRESETS) {
      const settings = toEngineSettings({ ...DEFAULT_SETTINGS, prompt: p.prompt, weights: w.weights }, OBJECTIVES);
      const r = await engine.generate(settings, {});
      const text = r.text.replace(/\s+/g, ' ').trim().slice(0, 200);
      lines.push([p.kind, p.label, `(${w.weights.helpfulness},${w.weights.harmlessness})`, text].join('\t'));
      console.log(lines[lines.length - 1]);
    }
  }
  await engine.dispose();
  writeFileSync(OUT, lines.join('\n') + '\n');
  console.log(`wrote ${OUT}`);
}

void main();
