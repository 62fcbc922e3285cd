// The one token loop every decoder runs: choose a token -> EOS? -> record -> stream ->
// stop string? -> length? -> advance every model's cache -> abort? A decoder only says
// how the next token is chosen (GenARM: eq. 7 + sampling; ARGS: reward-ranked top-k)
// and what its record holds.
import type { TokenRecord } from '../types';
import { disposeCache } from '../kv-cache';
import { findStop } from '../stop';
import { TextStream } from '../text-stream';
import { yieldToEventLoop } from '../yield';
import { advance, type DecodeContext, type DecodeOutcome, type LMState } from './context';

export interface Choice {
  id: number;
  /** the token's record; called only for a token that is kept (not an EOS) */
  record(index: number, piece: string, ms: number): TokenRecord;
}

export interface TokenLoopOptions {
  /** stream records through ctx.onToken as they are made */
  stream: boolean;
  /** performance.now() at the start of the step that produced the current logits */
  startedAt: number;
}

/**
 * Runs until EOS, a stop string, max_tokens or an abort. `states` are the models that
 * advance by the chosen token each step; their caches are disposed when the loop ends.
 * `choose` gets the whole sequence the models have seen so far, the prompt ids (after the
 * chat template and any truncation) then the generated ids: transformers.js's `input_ids`,
 * which the repetition penalty and the n-gram ban read (processors.ts).
 */
export async function tokenLoop(
  ctx: DecodeContext,
  states: LMState[],
  opt: TokenLoopOptions,
  choose: (step: number, seen: readonly number[]) => Promise<Choice> | Choice,
): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const text = new TextStream((ids) => ctx.tokenizer.decode(ids));
  const tokens: TokenRecord[] = [];
  const ids: number[] = [];
  const seen: number[] = [...ctx.promptIds];
  let finish: DecodeOutcome['finish_reason'] = 'length';
  let firstTokenAt = NaN;
  let stepStart = opt.startedAt;
  let stopAt = -1;
  try {
    for (let t = 0; t < s.max_tokens; t++) {
      await yieldToEventLoop(); // lets an abort or a newer request in
      if (ctx.signal.aborted) {
        finish = 'abort';
        break;
      }
      const choice = await choose(t, seen);
      if (ctx.eos.has(choice.id)) {
        finish = 'eos';
        break;
      }
      ids.push(choice.id);
      seen.push(choice.id);
      const piece = text.push(choice.id);
      const now = performance.now();
      const record = choice.record(t, piece, now - stepStart);
      if (t === 0) firstTokenAt = now;
      tokens.push(record);
      if (opt.stream) ctx.onToken(record);

      if (s.stop.length) {
        stopAt = findStop(text.text, s.stop, piece.length || text.text.length);
        if (stopAt >= 0) {
          finish = 'stop';
          break;
        }
      }
      if (t + 1 === s.max_tokens) break; // no forward pass for a token that will not be drawn
      stepStart = performance.now();
      await advance(states, choice.id, ctx.parallel);
    }
  } finally {
    for (const st of states) disposeCache(st.cache);
  }
  const tail = text.flush();
  if (tail && tokens.length) tokens[tokens.length - 1].text += tail;
  const full = text.text;
  return { tokens, ids, text: stopAt >= 0 ? full.slice(0, stopAt) : full, finish_reason: finish, firstTokenAt };
}
