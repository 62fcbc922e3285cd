// Model output is rendered as React text only: markup in a token or a prompt stays text.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { TokenRecord } from '../engine/types';
import { HeatTokens } from './Outputs';
import { TokenTooltip } from './TokenTooltip';
import { heatColour, heatDomain, heatValue, visibleToken } from './heat';
import { SamplingControls } from './Controls';
import { PAPER_REPETITION, REPETITION_DEFAULTS } from '../store/store';

function tok(i: number, text: string, h: number, s: number): TokenRecord {
  return {
    index: i, id: 100 + i, text, logprob_base: -1, rewards: { helpfulness: h - 1, harmlessness: s - 1 },
    shifts: { helpfulness: h, harmlessness: s }, p_guided: 0.5, p_base: 0.37,
    top_base: [{ id: 100 + i, text, p: 0.37 }, { id: 7, text: '<img src=x onerror=alert(1)>', p: 0.1 }],
    top_guided: [{ id: 100 + i, text, p: 0.5 }], ms: 3,
  };
}

describe('token rendering', () => {
  const tokens = [tok(0, '<script>', 0.5, -0.25), tok(1, 'alert(1)', 0, 0), tok(2, '</script>', -2, 1)];

  it('renders markup in tokens as text, with the test hooks', () => {
    const html = renderToStaticMarkup(<HeatTokens run={{ status: 'done', tokens }} />);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('data-reward-helpfulness="-0.5"');
    expect(html).toContain('data-reward-harmlessness="-1.25"');
    expect(html.match(/tabindex="0"/g)).toHaveLength(1);
    expect(html).toContain('aria-label="Token 1: &quot;&lt;script&gt;&quot;, helpful shift +0.50, harmless shift -0.25');
  });

  it('renders alternatives in the tooltip as text', () => {
    const html = renderToStaticMarkup(
      <TokenTooltip token={tokens[0]} value={0.1} mode="sum" weights={{ helpfulness: 1, harmlessness: 1 }} anchor={null} onClose={() => {}} />,
    );
    expect(html).not.toMatch(/<img/);
    expect(html).toContain('&lt;img');
  });
});

describe('repetition controls', () => {
  // server rendering reads the store's initial state: REPETITION_DEFAULTS
  it('a penalty slider 1-2, an n-gram input 0-8 and the paper button, pressed when the defaults are the paper\'s', () => {
    const html = renderToStaticMarkup(<SamplingControls />);
    const d = REPETITION_DEFAULTS;
    expect(html).toMatch(new RegExp(`<input id="repetition-penalty" type="range" min="1" max="2" step="0.05"[^>]*value="${d.repetition_penalty}"`));
    expect(html).toMatch(new RegExp(`<input id="no-repeat-ngram" type="number" min="0" max="8" step="1"[^>]*value="${d.no_repeat_ngram_size}"`));
    const paper = d.repetition_penalty === PAPER_REPETITION.repetition_penalty && d.no_repeat_ngram_size === PAPER_REPETITION.no_repeat_ngram_size;
    expect(html).toMatch(new RegExp(`<button[^>]*aria-pressed="${paper}"[^>]*>Paper&#x27;s setting \\(no penalty\\)</button>`));
    expect(PAPER_REPETITION).toEqual({ repetition_penalty: 1, no_repeat_ngram_size: 0 });
  });
});

describe('heat scale', () => {
  it('weighted sum, symmetric domain, diverging colours', () => {
    const t = tok(0, 'a', 0.5, -0.25);
    expect(heatValue(t, 'sum', { helpfulness: 2, harmlessness: 4 })).toBeCloseTo(0);
    expect(heatValue(t, 'helpfulness', { helpfulness: 0, harmlessness: 0 })).toBe(0.5);
    expect(heatDomain([0.1, -0.2])).toBe(0.5);
    expect(heatDomain([-1.7, 0.3])).toBe(2);
    expect(heatColour(0, 1).background).toBe('rgb(255, 255, 255)');
    expect(heatColour(-1, 1).background).toBe('rgb(215, 48, 39)');
    expect(heatColour(5, 1).background).toBe('rgb(26, 152, 80)');
    expect(heatColour(undefined, 1).background).toBe('transparent');
    expect(visibleToken(' a\n')).toBe('␣a⏎');
  });
});
