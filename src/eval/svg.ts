// Small self-contained SVG charts for the benchmark and the alignment report (no
// plotting library): grouped bars and a labelled scatter with error bars.

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" upper bound and tick step for an axis from 0 (or lo) to hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** Greedy word wrap into lines of at most `width` characters (a longer word gets its own line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The opening of a chart: svg element, white background, title and subtitle. */
function chartHead(W: number, H: number, title: string, subtitle?: string): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (subtitle) out.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">${escapeXml(subtitle)}</text>`);
  return out;
}

/** Horizontal grid lines with their value labels left of the plot. */
function yGrid(ticks: number[], y: (v: number) => number, left: number, right: number, stroke: string): string[] {
  return ticks.flatMap((t) => [
    `<line x1="${left}" x2="${right}" y1="${y(t)}" y2="${y(t)}" stroke="${stroke}"/>`,
    `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
  ]);
}

export interface BarChart {
  title: string;
  subtitle?: string;
  /** categories along x */
  groups: string[];
  /** one bar per series in each group; NaN = no bar */
  series: { name: string; values: number[] }[];
  yLabel: string;
  /** a dashed horizontal reference line (e.g. 1 for ratios) */
  refLine?: number;
  /** print each bar's value above it */
  labels?: boolean;
}

export function barChartSvg(c: BarChart): string {
  const W = Math.max(640, 120 + c.groups.length * Math.max(110, 30 + c.series.length * 26));
  const H = 420;
  const m = { l: 64, r: 16, t: c.subtitle ? 58 : 40, b: 96 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = c.series.flatMap((s) => s.values).filter(Number.isFinite);
  const ticks = niceTicks(0, Math.max(...all, c.refLine ?? 0, 1e-9));
  const top = ticks[ticks.length - 1];
  const y = (v: number) => m.t + ph - (v / top) * ph;
  const gw = pw / c.groups.length;
  const bw = Math.min(26, (gw - 16) / c.series.length);
  const out: string[] = [];
  out.push(...chartHead(W, H, c.title, c.subtitle));
  out.push(...yGrid(ticks, y, m.l, W - m.r, '#e5e5e5'));
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(c.yLabel)}</text>`);
  c.groups.forEach((g, gi) => {
    const x0 = m.l + gi * gw + (gw - bw * c.series.length) / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (!Number.isFinite(v)) return;
      const x = x0 + si * bw;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(m.t + ph - y(v)).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${escapeXml(`${g} / ${s.name}: ${fmt(v)}`)}</title></rect>`);
      if (c.labels) out.push(`<text x="${(x + (bw - 2) / 2).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`);
    });
    const cx = m.l + gi * gw + gw / 2;
    const lines = wrapWords(g, Math.max(8, Math.floor(gw / 7)));
    out.push(`<text x="${cx}" y="${m.t + ph + 16}" text-anchor="middle">${lines.map((l, i) => `<tspan x="${cx}" dy="${i ? 14 : 0}">${escapeXml(l)}</tspan>`).join('')}</text>`);
  });
  if (c.refLine !== undefined) {
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(c.refLine)}" y2="${y(c.refLine)}" stroke="#333" stroke-dasharray="4 3"/>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  // legend
  const ly = H - 40;
  let lx = m.l;
  c.series.forEach((s, si) => {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(s.name)}</text>`);
    lx += 28 + s.name.length * 7;
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  /** series name: colour and legend entry */
  group: string;
  xErr?: number;
  yErr?: number;
}

export interface ScatterChart {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  /** indices into points joined by a line (the Pareto front) */
  line?: number[];
  lineLabel?: string;
}

export function scatterSvg(c: ScatterChart): string {
  const W = 720;
  const H = 520;
  const m = { l: 72, r: 24, t: c.subtitle ? 60 : 40, b: 84 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = c.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.flatMap((p) => [p.x - (p.xErr ?? 0), p.x + (p.xErr ?? 0)]);
  const ys = pts.flatMap((p) => [p.y - (p.yErr ?? 0), p.y + (p.yErr ?? 0)]);
  const pad = (lo: number, hi: number) => {
    const d = hi - lo || Math.abs(hi) || 1;
    return [lo - 0.08 * d, hi + 0.08 * d];
  };
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const xt = niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1);
  const yt = niceTicks(y0, y1, 6).filter((t) => t >= y0 && t <= y1);
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const groups = [...new Set(c.points.map((p) => p.group))];
  const colour = (g: string) => PALETTE[groups.indexOf(g) % PALETTE.length];
  const out: string[] = [];
  out.push(...chartHead(W, H, c.title, c.subtitle));
  for (const t of xt) {
    out.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${X(t)}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(...yGrid(yt, Y, m.l, m.l + pw, '#eee'));
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 36}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(c.yLabel)}</text>`);
  if (c.line && c.line.length > 1) {
    const d = c.line.map((i, k) => `${k ? 'L' : 'M'}${X(c.points[i].x).toFixed(1)} ${Y(c.points[i].y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="#888" stroke-dasharray="5 4"/>`);
  }
  for (const p of pts) {
    const cx = X(p.x);
    const cy = Y(p.y);
    const col = colour(p.group);
    if (p.xErr) out.push(`<line x1="${X(p.x - p.xErr)}" x2="${X(p.x + p.xErr)}" y1="${cy}" y2="${cy}" stroke="${col}" stroke-opacity="0.5"/>`);
    if (p.yErr) out.push(`<line x1="${cx}" x2="${cx}" y1="${Y(p.y - p.yErr)}" y2="${Y(p.y + p.yErr)}" stroke="${col}" stroke-opacity="0.5"/>`);
    out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${col}"><title>${escapeXml(`${p.label}: (${fmt(p.x)}, ${fmt(p.y)})`)}</title></circle>`);
    out.push(`<text x="${(cx + 7).toFixed(1)}" y="${(cy - 6).toFixed(1)}" font-size="11">${escapeXml(p.label)}</text>`);
  }
  let lx = m.l;
  const ly = H - 18;
  for (const g of groups) {
    out.push(`<circle cx="${lx + 6}" cy="${ly - 4}" r="5" fill="${colour(g)}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(g)}</text>`);
    lx += 30 + g.length * 7;
  }
  if (c.line && c.lineLabel) {
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="#888" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}">${escapeXml(c.lineLabel)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
