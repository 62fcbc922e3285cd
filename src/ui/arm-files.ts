// The files of a user's ARM as the page gets them (a file picker, a folder picker, a drop): the
// two files of a PEFT LoRA folder (src/engine/peft-adapter.ts), found by name, else by extension.
import { PEFT_CONFIG, PEFT_WEIGHTS } from '../engine/peft-adapter';

export interface PickedAdapter {
  config: File;
  weights: File;
  /** the folder they came from, when the browser says (a folder picker: webkitRelativePath) */
  folder?: string;
}

/** The adapter's two files among those given, or the reason they are not there (shown as text). */
export function pickAdapterFiles(files: readonly File[]): PickedAdapter | string {
  const one = (exact: string, ext: string) => {
    const named = files.find((f) => f.name === exact);
    if (named) return named;
    const like = files.filter((f) => f.name.toLowerCase().endsWith(ext));
    return like.length === 1 ? like[0] : undefined;
  };
  const config = one(PEFT_CONFIG, '.json');
  const weights = one(PEFT_WEIGHTS, '.safetensors');
  if (!config || !weights) {
    const got = files.length ? files.map((f) => f.name).join(', ') : 'no files';
    const lack = [!config && PEFT_CONFIG, !weights && PEFT_WEIGHTS].filter(Boolean).join(' and ');
    return `An ARM is a PEFT LoRA folder: ${PEFT_CONFIG} and ${PEFT_WEIGHTS}. Missing ${lack} (got ${got}).`;
  }
  const rel = (weights as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
  const folder = rel.includes('/') ? rel.split('/').slice(-2)[0] : undefined;
  return { config, weights, ...(folder ? { folder } : {}) };
}

/** A name not yet taken: `base`, else `base 2`, `base 3` ... */
export function freeName(base: string, taken: readonly string[]): string {
  const b = base.trim() || 'my ARM';
  if (!taken.includes(b)) return b;
  for (let i = 2; ; i++) if (!taken.includes(`${b} ${i}`)) return `${b} ${i}`;
}
