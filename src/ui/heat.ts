// The token heatmap's numbers and colours: a diverging red-white-green scale of the
// reward shift log pi_r - log pi_base (docs/METHOD.md, "The reward colours": the change
// preference training made).
import type { Objective, TokenRecord } from '../engine/types';
import type { HeatMode, Weights } from '../store/types';

/** The value a token is coloured by; undefined when the needed ARM did not run. */
export function heatValue(t: TokenRecord, mode: HeatMode, weights: Weights): number | undefined {
  if (mode !== 'sum') return t.shifts[mode];
  let sum = 0;
  let any = false;
  for (const o of Object.keys(weights) as Objective[]) {
    const w = weights[o];
    const s = t.shifts[o];
    if (w && typeof s === 'number') { sum += w * s; any = true; }
  }
  return any ? sum : undefined;
}

/** Symmetric colour domain: the largest |value| of this answer, at least `floor`, rounded up. */
export function heatDomain(values: Array<number | undefined>, floor = 0.5): number {
  let m = floor;
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  // a "nice" number: 0.5, 1, 2, 3, 5, 10, 20 ...
  const steps = [0.5, 1, 2, 3, 5, 10, 20, 50, 100];
  return steps.find((s) => s >= m) ?? m;
}

const RED: [number, number, number] = [215, 48, 39];
const WHITE: [number, number, number] = [255, 255, 255];
const GREEN: [number, number, number] = [26, 152, 80];

function mix(a: number[], b: number[], t: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as [number, number, number];
}

export interface HeatColour { background: string; color: string; t: number }

/** Colour of value v on [-domain, domain]; text switches to white on strong colours. */
export function heatColour(v: number | undefined, domain: number): HeatColour {
  if (v === undefined || !Number.isFinite(v)) return { background: 'transparent', color: 'inherit', t: 0 };
  const t = Math.max(-1, Math.min(1, v / domain));
  const rgb = t < 0 ? mix(WHITE, RED, -t) : mix(WHITE, GREEN, t);
  return { background: `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`, color: Math.abs(t) > 0.62 ? '#fff' : '#111', t };
}

export function heatGradientCss(): string {
  return `linear-gradient(to right, rgb(${RED.join(',')}), rgb(${WHITE.join(',')}), rgb(${GREEN.join(',')}))`;
}

/** A token's text made visible: spaces, newlines and tabs as symbols (for tooltips and labels). */
export function visibleToken(text: string): string {
  if (text === '') return '∅';
  return text.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
}

export function fmtSigned(x: number | undefined, digits = 2): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const s = x.toFixed(digits);
  return x > 0 ? `+${s}` : s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s;
}

export function fmtNum(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function fmtPct(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '—';
  const v = p * 100;
  if (v > 0 && v < 0.1) return '<0.1%';
  return `${v.toFixed(v >= 10 ? 0 : 1)}%`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${u[i]}`;
}
