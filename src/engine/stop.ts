// Stop strings: checked on the decoded text, since a stop string can span tokens.

/**
 * Position of the earliest stop string in `text`, searching only where a match could
 * end in the newest `newChars` characters; -1 when none.
 */
export function findStop(text: string, stops: readonly string[] | undefined, newChars: number): number {
  if (!stops || stops.length === 0) return -1;
  let best = -1;
  for (const s of stops) {
    if (!s) continue;
    const from = Math.max(0, text.length - newChars - s.length + 1);
    const at = text.indexOf(s, from);
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}
