// Incremental detokenisation. Byte-level BPE splits multi-byte characters across
// tokens, so a token's text is what decoding the whole response adds, held back
// while the tail is an incomplete character (U+FFFD). The texts of the records then
// concatenate exactly to the response text.

export class TextStream {
  private ids: number[] = [];
  private emitted = 0;
  constructor(private readonly decode: (ids: number[]) => string) {}

  /** Append a token; returns the new text it completes ('' while a character is pending). */
  push(id: number): string {
    this.ids.push(id);
    const full = this.decode(this.ids);
    if (full.endsWith('\uFFFD')) return '';
    const piece = full.slice(this.emitted);
    this.emitted = full.length;
    return piece;
  }

  /** Whatever is still held back (at the end of generation). */
  flush(): string {
    const full = this.decode(this.ids);
    const piece = full.slice(this.emitted);
    this.emitted = full.length;
    return piece;
  }

  get text(): string {
    return this.decode(this.ids);
  }
}
