// A user's ARM on the page: its channel in the token labels and the tooltip, its name rendered as
// text (a name is the user's, like model output), and the files the "Add your ARM" control takes.
import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import type { TokenRecord } from '../engine/types';
import { HeatTokens } from './Outputs';
import { TokenTooltip } from './TokenTooltip';
import { heatValue } from './heat';
import { freeName, pickAdapterFiles } from './arm-files';

const U = 'user:<b>mine</b>' as const;
const tok: TokenRecord = {
  index: 0, id: 5, text: ' hi', logprob_base: -1,
  rewards: { helpfulness: -0.5, harmlessness: -2, [U]: -0.25 }, shifts: { helpfulness: 0.5, harmlessness: -1, [U]: 0.75 },
  p_guided: 0.5, p_base: 0.37, top_base: [{ id: 5, text: ' hi', p: 0.37 }], top_guided: [{ id: 5, text: ' hi', p: 0.5 }], ms: 1,
};

describe('a user ARM in the heatmap', () => {
  it('weighs its shift in the sum and colours by it alone', () => {
    expect(heatValue(tok, 'sum', { helpfulness: 0, harmlessness: 0, [U]: 2 })).toBeCloseTo(1.5);
    expect(heatValue(tok, U, { helpfulness: 0, harmlessness: 0 })).toBe(0.75);
  });

  it('labels the token and lists a tooltip row with its name, as text', () => {
    const html = renderToStaticMarkup(<HeatTokens run={{ status: 'done', tokens: [tok], settings: { prompt: 'p', decoder: 'genarm', temperature: 0, top_k: 0, top_p: 1, seed: 0, max_tokens: 1, weights: { [U]: 2 } } }} />);
    expect(html).toContain('&lt;b&gt;mine&lt;/b&gt; shift +0.75');
    expect(html).not.toContain('<b>');
    const tip = renderToStaticMarkup(<TokenTooltip token={tok} value={1.5} mode="sum" weights={{ helpfulness: 0, harmlessness: 0, [U]: 2 }} anchor={null} onClose={() => {}} />);
    expect(tip).toContain(`data-objective="${U.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`);
    expect(tip).toContain('&lt;b&gt;mine&lt;/b&gt; (your ARM)');
    expect(tip).toContain('α=2.0');
    expect(tip).not.toContain('<b>');
  });
});

describe('the files of an ARM', () => {
  const f = (name: string, rel = '') => Object.assign(new File(['x'], name), rel ? { webkitRelativePath: rel } : {});
  it('finds the two files by name, else by extension, and the folder name', () => {
    const p = pickAdapterFiles([f('README.md', 'concise/README.md'), f('adapter_config.json', 'concise/adapter_config.json'), f('adapter_model.safetensors', 'concise/adapter_model.safetensors')]);
    expect(typeof p !== 'string' && [p.config.name, p.weights.name, p.folder]).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'concise']);
    const q = pickAdapterFiles([f('cfg.json'), f('w.safetensors')]);
    expect(typeof q !== 'string' && [q.config.name, q.weights.name, q.folder]).toEqual(['cfg.json', 'w.safetensors', undefined]);
  });
  it('says which file is missing', () => {
    expect(pickAdapterFiles([f('adapter_config.json')])).toMatch(/Missing adapter_model.safetensors \(got adapter_config.json\)/);
    expect(pickAdapterFiles([])).toMatch(/Missing adapter_config.json and adapter_model.safetensors \(got no files\)/);
  });
  it('gives a free name', () => {
    expect(freeName('mine', ['mine', 'mine 2'])).toBe('mine 3');
    expect(freeName('  ', [])).toBe('my ARM');
  });
});
