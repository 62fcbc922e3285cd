// The token loop shared by GenARM, the plain base and each Best-of-N sample:
// guided scores (eq. 7) -> processors -> draw -> record -> EOS / stop / length / abort.
import type { Objective, TokenRecord } from '../types';
import { logSoftmax } from '../math';
import { combineScores } from '../combine';
import { applyProcessors, buildProcessors } from '../processors';
import { drawToken } from '../sampler';
import { findStop } from '../stop';
import { TextStream } from '../text-stream';
import { yieldToEventLoop } from '../yield';
import { buildRecord } from '../token-record';
import type { Rng } from '../prng';
import { disposeCache } from '../kv-cache';
import { advance, type DecodeContext, type DecodeOutcome, type LMState } from './context';

export interface LoopModels {
  base: LMState;
  /** ARMs stepped in lockstep, with their weight (0 = scored for the record only) */
  arms: { objective: Objective; alpha: number; state: LMState }[];
}

export interface LoopOptions {
  rng: Rng;
  /** stream records through ctx.onToken as they are made */
  stream: boolean;
  /** performance.now() at the start of the step that produced the current logits */
  startedAt: number;
}

export async function sampleLoop(ctx: DecodeContext, m: LoopModels, opt: LoopOptions): Promise<DecodeOutcome> {
  const s = ctx.settings;
  const greedy = s.temperature === 0;
  const processors = greedy ? [] : buildProcessors(s);
  const text = new TextStream((ids) => ctx.tokenizer.decode(ids));
  const tokens: TokenRecord[] = [];
  const ids: number[] = [];
  let finish: DecodeOutcome['finish_reason'] = 'length';
  let firstTokenAt = NaN;
  let stepStart = opt.startedAt;
  let stopAt = -1;
  const states = [m.base, ...m.arms.map((a) => a.state)];

  try {
    for (let t = 0; t < s.max_tokens; t++) {
      await yieldToEventLoop(); // lets an abort or a newer request in
      if (ctx.signal.aborted) {
        finish = 'abort';
        break;
      }
      const baseLogp = logSoftmax(m.base.last);
      const armLogp: Partial<Record<Objective, Float32Array>> = {};
      for (const a of m.arms) armLogp[a.objective] = logSoftmax(a.state.last);
      const combined = combineScores(baseLogp, m.arms.map((a) => ({ alpha: a.alpha, logp: armLogp[a.objective]! })));
      const draw = drawToken(applyProcessors(processors, combined), greedy, opt.rng);
      const id = draw.id;

      if (ctx.eos.has(id)) {
        finish = 'eos';
        break;
      }
      ids.push(id);
      const piece = text.push(id);
      const now = performance.now();
      const record = buildRecord(ctx.tokenizer, {
        index: t, id, text: piece, baseLogp, armLogp, guidedProbs: draw.probs, ms: now - stepStart,
      });
      if (t === 0) firstTokenAt = now;
      tokens.push(record);
      if (opt.stream) ctx.onToken(record);

      if (s.stop.length) {
        const full = text.text;
        stopAt = findStop(full, s.stop, piece.length || full.length);
        if (stopAt >= 0) {
          finish = 'stop';
          break;
        }
      }
      if (t + 1 === s.max_tokens) break; // no forward pass for a token that will not be drawn
      stepStart = performance.now();
      await advance(states, id, ctx.parallel);
    }
  } finally {
    for (const st of states) disposeCache(st.cache);
  }
  const tail = text.flush();
  if (tail && tokens.length) tokens[tokens.length - 1].text += tail;
  const full = text.text;
  return { tokens, ids, text: stopAt >= 0 ? full.slice(0, stopAt) : full, finish_reason: finish, firstTokenAt };
}
