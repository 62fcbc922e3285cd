// The chat template and text <-> ids, from transformers.js. The tokenizer is built
// from tokenizer.json / tokenizer_config.json bytes that the loader has already
// verified (and cached), choosing the class the way AutoTokenizer does, so the files
// are downloaded once and never fetched a second time behind the loader's back.
import * as transformers from '@huggingface/transformers';

export interface ChatTokenizer {
  /** ids of the chat-templated prompt, with the assistant turn opened */
  encodeChat(prompt: string): number[];
  /** plain text to ids, no special tokens added */
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** the text of one token alone (for the top-5 alternatives), memoised */
  tokenText(id: number): string;
}

type TokenizerCtor = new (json: unknown, config: unknown) => transformers.PreTrainedTokenizer;

export function tokenizerFromJson(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>): ChatTokenizer {
  // AutoTokenizer's rule: class named by tokenizer_class, "Fast" suffix dropped
  const name = String(tokenizerConfig.tokenizer_class ?? 'PreTrainedTokenizer').replace(/Fast$/, '');
  const classes = transformers as unknown as Record<string, TokenizerCtor | undefined>;
  const Ctor = classes[name] ?? transformers.PreTrainedTokenizer;
  const tok = new Ctor(tokenizerJson, tokenizerConfig);
  const memo = new Map<number, string>();
  return {
    encodeChat(prompt) {
      // render, then encode without adding special tokens (the template has them);
      // two steps because apply_chat_template's tokenised return shape varies by version
      const text = tok.apply_chat_template([{ role: 'user', content: prompt }], {
        add_generation_prompt: true,
        tokenize: false,
      }) as unknown as string;
      return Array.from(tok.encode(text, { add_special_tokens: false }), Number);
    },
    encode(text) {
      return Array.from(tok.encode(text, { add_special_tokens: false }), Number);
    },
    decode(ids) {
      if (ids.length === 0) return '';
      // no "clean-up" of spaces before punctuation: byte-level BPE text is exact as is,
      // and incremental decoding needs decode(prefix) to be a prefix of decode(all)
      return tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    },
    tokenText(id) {
      let t = memo.get(id);
      if (t === undefined) {
        t = tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
        memo.set(id, t);
      }
      return t;
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape: each caller checks the fields it reads
export function parseJsonBytes(bytes: Uint8Array, path: string): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
