// transformers.js tokenisation against the Python tokenizer's own output
// (training/golden/tokenizer_cases.json): plain strings and the chat template.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenizerFromJson } from '../tokenizer';
import { MODELS_DIR, manifest, requireModels } from './helpers';

const CASES = 'training/golden/tokenizer_cases.json';
interface Cases {
  tokenizer: string;
  cases: { text: string; ids: number[] }[];
  chat: { messages: { role: string; content: string }[]; text: string; ids: number[] }[];
}
const data: Cases | null = existsSync(CASES) ? JSON.parse(readFileSync(CASES, 'utf8')) : null;
const entry = data ? manifest()?.models[data.tokenizer] : undefined;
const file = (name: string) => entry?.files.find((f) => f.path.endsWith(`/${name}`) || f.path === name);
const why = !data ? `${CASES} is absent` : !entry ? `model ${data.tokenizer} is not in the manifest`
  : !file('tokenizer.json') || !existsSync(join(MODELS_DIR, file('tokenizer.json')!.path)) ? 'tokenizer.json is absent' : '';
requireModels('tokenizer cases', why);

describe.skipIf(!!why)('tokenizer matches the Python reference', () => {
  const read = (name: string) => JSON.parse(readFileSync(join(MODELS_DIR, file(name)!.path), 'utf8'));
  const tok = why ? null : tokenizerFromJson(read('tokenizer.json'), read('tokenizer_config.json'));

  it('encodes every string case to the same ids and decodes back', () => {
    const bad = data!.cases.filter((c) => JSON.stringify(tok!.encode(c.text)) !== JSON.stringify(c.ids));
    expect(bad.map((c) => c.text)).toEqual([]);
    // the engine's decode drops special tokens (<|im_end|> ...) from responses
    for (const c of data!.cases) expect(tok!.decode(c.ids)).toBe(c.text.replace(/<\|[a-z_]+\|>/g, ''));
  });

  it('applies the chat template like the reference', () => {
    for (const c of data!.chat.filter((x) => x.messages.length === 1 && x.messages[0].role === 'user')) {
      expect(tok!.encodeChat(c.messages[0].content)).toEqual(c.ids);
    }
  });
});
