// Heatmap legend and the toggle of what the tokens are coloured by.
import { availableObjectives, isUserObjective, objectiveName, useApp } from '../store/store';
import type { HeatMode, Weights } from '../store/types';
import { heatDomain, heatGradientCss, heatValue } from './heat';

const HEAT_OPTIONS: Array<{ id: HeatMode; label: string }> = [
  { id: 'sum', label: 'Weighted sum' },
  { id: 'helpfulness', label: 'Helpful shift' },
  { id: 'harmlessness', label: 'Harmless shift' },
];

export function HeatLegend() {
  const mode = useApp((s) => s.heat);
  const setHeat = useApp((s) => s.setHeat);
  const tokens = useApp((s) => s.guided.tokens);
  const weights = useApp((s) => s.settings.weights);
  const runWeights = useApp((s) => s.guided.settings?.weights);
  // the run's weights where it has them (a user ARM's too), else the sliders'
  const w = { ...weights, ...runWeights } as Weights;
  const userArms = useApp((s) => s.userArms);
  const options = [...HEAT_OPTIONS, ...userArms.map((a) => ({ id: a.objective as HeatMode, label: `${a.name} shift` }))];
  const noArms = useApp((s) => !!s.load.manifest && availableObjectives(s).length === 0);
  const domain = heatDomain(tokens.map((t) => heatValue(t, mode, w)));
  return (
    <section className="card legend" aria-labelledby="legend-title">
      <div className="legend-top">
        <h2 id="legend-title">Token colours</h2>
        <div className="segmented" role="radiogroup" aria-label="Colour tokens by">
          {options.map((o) => (
            <label key={o.id} className={mode === o.id ? 'seg seg-on' : 'seg'}>
              <input type="radio" name="heat" value={o.id} checked={mode === o.id} onChange={() => setHeat(o.id)} />
              {o.label}
            </label>
          ))}
        </div>
      </div>
      <p className="hint">
        {mode === 'sum'
          ? 'Each token of the guided answer is coloured by Σ α·(log π_r − log π_base): how much the weighted reward models pushed it, in nats.'
          : `Each token is coloured by log π_r − log π_base for the ${isUserObjective(mode) ? `${objectiveName(mode)} ARM (yours)` : `${mode} ARM`}: how much its preference training raised or lowered that token, in nats.`}
        {' '}Hover or focus a token for details.
      </p>
      {noArms && <p className="hint warn">This suite has no ARMs yet, so the tokens stay uncoloured.</p>}
      <div className="legend-scale">
        <div className="legend-bar" style={{ background: heatGradientCss() }} aria-hidden="true" />
        <div className="legend-ticks" aria-hidden="true">
          <span>−{domain}</span><span>0</span><span>+{domain}</span>
        </div>
        <ul className="legend-words">
          <li><span className="sw sw-neg" aria-hidden="true" /> <strong>Negative</strong>: the reward model likes this token less than the base does</li>
          <li><span className="sw sw-neu" aria-hidden="true" /> <strong>Neutral</strong>: no change</li>
          <li><span className="sw sw-pos" aria-hidden="true" /> <strong>Positive</strong>: the reward model likes this token more than the base does</li>
        </ul>
      </div>
    </section>
  );
}
