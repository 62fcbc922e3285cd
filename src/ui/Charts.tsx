// The per-token reward chart and the weight sweep (recharts; loaded lazily).
import { useMemo, useState } from 'react';
import {
  Bar, CartesianGrid, ComposedChart, LabelList, Line, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart,
  Tooltip, XAxis, YAxis, ZAxis,
} from 'recharts';
import type { Objective } from '../engine/types';
import { availableObjectives, isUserObjective, objectiveName, useApp } from '../store/store';
import { SWEEP_TOKENS, SWEEP_VALUES } from '../store/presets';
import type { SweepPoint, Weights } from '../store/types';
import { fmtNum, fmtSigned, heatValue, visibleToken } from './heat';

const COLOR: Record<Objective, string> = { helpfulness: '#2563eb', harmlessness: '#c2410c' };

export function RewardChart() {
  const tokens = useApp((s) => s.guided.tokens);
  const mode = useApp((s) => s.heat);
  const runWeights = useApp((s) => s.guided.settings?.weights);
  const [kind, setKind] = useState<'shift' | 'reward'>('shift');
  // keyed on the numbers, not on a weights object, which would be new on every render
  const wKey = JSON.stringify(runWeights ?? {});
  // the user's ARMs (slices/arms.ts) that scored this answer, in the order the store lists them
  const userArms = useApp((s) => s.userArms);
  const users = userArms.filter((a) => tokens.some((t) => typeof t.rewards[a.objective] === 'number'));
  const data = useMemo(() => {
    const w = { helpfulness: 0, harmlessness: 0, ...JSON.parse(wKey) } as Weights;
    return tokens.map((t) => ({
      i: t.index + 1,
      text: visibleToken(t.text),
      helpfulness: kind === 'shift' ? t.shifts.helpfulness : t.rewards.helpfulness,
      harmlessness: kind === 'shift' ? t.shifts.harmlessness : t.rewards.harmlessness,
      user: Object.fromEntries(Object.keys(t.rewards).filter(isUserObjective)
        .map((o) => [o, kind === 'shift' ? t.shifts[o as Objective] : t.rewards[o as Objective]])) as Record<string, number | undefined>,
      sum: heatValue(t, 'sum', w),
    }));
  }, [tokens, kind, wKey]);
  const has = (o: Objective) => tokens.some((t) => typeof t.rewards[o] === 'number');
  // nothing to draw without an ARM (a suite whose ARMs are not trained yet)
  if (!tokens.length || (!has('helpfulness') && !has('harmlessness'))) return null;
  return (
    <section className="card chart" aria-labelledby="chart-title">
      <div className="legend-top">
        <h2 id="chart-title">Per-token reward along the guided answer</h2>
        <div className="segmented" role="radiogroup" aria-label="Chart values">
          <label className={kind === 'shift' ? 'seg seg-on' : 'seg'}>
            <input type="radio" name="chart-kind" checked={kind === 'shift'} onChange={() => setKind('shift')} />shift
          </label>
          <label className={kind === 'reward' ? 'seg seg-on' : 'seg'}>
            <input type="radio" name="chart-kind" checked={kind === 'reward'} onChange={() => setKind('reward')} />reward log π<sub>r</sub>
          </label>
        </div>
      </div>
      <div className="chart-box" role="img"
        aria-label={`Line chart of each ARM's ${kind === 'shift' ? 'reward shift' : 'token reward'} over ${tokens.length} tokens`}>
        <ResponsiveContainer width="100%" height={190}>
          <ComposedChart data={data} margin={{ top: 8, right: 12, bottom: 4, left: -12 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis dataKey="i" tick={{ fontSize: 11 }} interval="preserveStartEnd" />
            <YAxis tick={{ fontSize: 11 }} width={44} />
            <ReferenceLine y={0} stroke="#9ca3af" />
            <Tooltip content={<ChartTip kind={kind} />} />
            {kind === 'shift' && mode === 'sum' && <Bar dataKey="sum" name="weighted sum" fill="#a7f3d0" isAnimationActive={false} />}
            {has('helpfulness') && <Line type="monotone" dataKey="helpfulness" name="helpfulness" stroke={COLOR.helpfulness} dot={false} strokeWidth={2} isAnimationActive={false} />}
            {has('harmlessness') && <Line type="monotone" dataKey="harmlessness" name="harmlessness" stroke={COLOR.harmlessness} dot={false} strokeWidth={2} isAnimationActive={false} />}
            {users.map((a, k) => (
              <Line key={a.objective} type="monotone" dataKey={(d: { user: Record<string, number | undefined> }) => d.user[a.objective]} name={a.name}
                stroke={userColour(k)} dot={false} strokeWidth={2} strokeDasharray="5 3" isAnimationActive={false} />
            ))}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <p className="hint chart-key">
        <span className="key" style={{ background: COLOR.helpfulness }} /> helpfulness
        <span className="key" style={{ background: COLOR.harmlessness }} /> harmlessness
        {users.map((a, k) => <span key={a.objective}><span className="key" style={{ background: userColour(k) }} /> {a.name}</span>)}
        {kind === 'shift' && mode === 'sum' && <><span className="key" style={{ background: '#a7f3d0' }} /> weighted sum</>}
        {' · '}x: token position; y: {kind === 'shift' ? 'log π_r − log π_base (nats)' : 'log π_r (nats, only comparable between tokens at the same position)'}
      </p>
    </section>
  );
}

/** the user ARMs' lines: colours apart from the built-in two */
const USER_COLOURS = ['#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];
const userColour = (k: number) => USER_COLOURS[k % USER_COLOURS.length];

interface TipProps {
  active?: boolean;
  payload?: Array<{ payload: { i: number; text: string; helpfulness?: number; harmlessness?: number; user?: Record<string, number | undefined>; sum?: number } }>;
  kind: 'shift' | 'reward';
}

function ChartTip({ active, payload, kind }: TipProps) {
  if (!active || !payload?.length) return null;
  const d = payload[0].payload;
  const f = kind === 'shift' ? fmtSigned : fmtNum;
  return (
    <div className="chart-tip">
      <div><strong>#{d.i}</strong> <code>{d.text}</code></div>
      <div>helpfulness {f(d.helpfulness)}</div>
      <div>harmlessness {f(d.harmlessness)}</div>
      {Object.entries(d.user ?? {}).map(([o, v]) => <div key={o}>{objectiveName(o as Objective)} {f(v)}</div>)}
      {kind === 'shift' && d.sum !== undefined && <div>weighted {fmtSigned(d.sum)}</div>}
    </div>
  );
}

export function Sweep() {
  const sweep = useApp((s) => s.sweep);
  const run = useApp((s) => s.runSweep);
  const cancel = useApp((s) => s.cancelSweep);
  const ready = useApp((s) => s.load.status === 'ready');
  const empty = useApp((s) => s.settings.prompt.trim() === '');
  const noArms = useApp((s) => !!s.load.manifest && availableObjectives(s).length === 0);
  const [metric, setMetric] = useState<'meanReward' | 'meanShift'>('meanShift');
  const running = sweep.status === 'running';
  const n = SWEEP_VALUES.length;
  const points = sweep.points.map((p) => ({
    x: p[metric].harmlessness,
    y: p[metric].helpfulness,
    z: p.weights.helpfulness + p.weights.harmlessness,
    label: `(${p.weights.helpfulness},${p.weights.harmlessness})`,
    p,
  })).filter((d) => typeof d.x === 'number' && typeof d.y === 'number');
  return (
    <section className="card sweep" aria-labelledby="sweep-title">
      <div className="legend-top">
        <h2 id="sweep-title">Trade-off between the two objectives</h2>
        <div className="sweep-buttons">
          {running
            ? <button type="button" className="btn" onClick={cancel}>Cancel sweep</button>
            : <button type="button" className="btn" disabled={!ready || empty || noArms}
                title={noArms ? 'This suite has no ARMs yet' : undefined} onClick={() => void run()}>Run weight sweep</button>}
        </div>
      </div>
      <p className="hint">
        Runs GenARM on the current prompt for a {n}×{n} grid of weights α ∈ {'{'}{SWEEP_VALUES.join(', ')}{'}'} with{' '}
        {SWEEP_TOKENS} tokens each and plots the mean per-token score of each ARM: the paper's multi-objective front,
        from one pair of ARMs and no retraining.
      </p>
      {sweep.status !== 'idle' && (
        <p className="sweep-progress" aria-live="polite">
          {running ? `Running ${(sweep.current ?? 0) + 1} of ${sweep.grid.length}…` :
            sweep.status === 'cancelled' ? `Cancelled after ${sweep.points.length} of ${sweep.grid.length}.` :
            sweep.status === 'error' ? `Failed: ${sweep.error}` : `Done: ${sweep.points.length} runs.`}
        </p>
      )}
      {points.length > 0 && (
        <>
          <div className="segmented" role="radiogroup" aria-label="Sweep metric">
            <label className={metric === 'meanShift' ? 'seg seg-on' : 'seg'}>
              <input type="radio" name="sweep-metric" checked={metric === 'meanShift'} onChange={() => setMetric('meanShift')} />mean shift
            </label>
            <label className={metric === 'meanReward' ? 'seg seg-on' : 'seg'}>
              <input type="radio" name="sweep-metric" checked={metric === 'meanReward'} onChange={() => setMetric('meanReward')} />mean reward log π<sub>r</sub>
            </label>
          </div>
          <div className="chart-box" role="img" aria-label={`Scatter plot of ${points.length} sweep runs; the table below lists them`}>
            <ResponsiveContainer width="100%" height={260}>
              <ScatterChart margin={{ top: 16, right: 24, bottom: 24, left: 4 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                <XAxis type="number" dataKey="x" name="harmlessness" tick={{ fontSize: 11 }} domain={['auto', 'auto']}
                  tickFormatter={(v: number) => v.toFixed(2)}
                  label={{ value: 'harmlessness →', position: 'insideBottom', offset: -12, fontSize: 12 }} />
                <YAxis type="number" dataKey="y" name="helpfulness" tick={{ fontSize: 11 }} domain={['auto', 'auto']} width={52}
                  tickFormatter={(v: number) => v.toFixed(2)}
                  label={{ value: 'helpfulness →', angle: -90, position: 'insideLeft', offset: 12, fontSize: 12 }} />
                <ZAxis type="number" dataKey="z" range={[40, 160]} />
                <Tooltip content={<SweepTip />} />
                <Scatter data={points} fill="#0f766e" isAnimationActive={false}>
                  <LabelList dataKey="label" position="top" style={{ fontSize: 10, fill: '#374151' }} />
                </Scatter>
              </ScatterChart>
            </ResponsiveContainer>
          </div>
          <SweepTable points={sweep.points} metric={metric} />
        </>
      )}
    </section>
  );
}

function SweepTip({ active, payload }: { active?: boolean; payload?: Array<{ payload: { label: string; x: number; y: number; p: SweepPoint } }> }) {
  if (!active || !payload?.length) return null;
  const d = payload[0].payload;
  return (
    <div className="chart-tip chart-tip-wide">
      <div><strong>α = {d.label}</strong></div>
      <div>helpfulness {fmtNum(d.y)} · harmlessness {fmtNum(d.x)}</div>
      <div className="tip-text">{d.p.text}</div>
    </div>
  );
}

function SweepTable({ points, metric }: { points: SweepPoint[]; metric: 'meanReward' | 'meanShift' }) {
  return (
    <details className="sweep-table">
      <summary>Table of the {points.length} runs</summary>
      <div className="table-scroll">
        <table>
          <thead>
            <tr><th scope="col">α help</th><th scope="col">α harm</th><th scope="col">help</th><th scope="col">harm</th><th scope="col">answer</th></tr>
          </thead>
          <tbody>
            {points.map((p, i) => (
              <tr key={i}>
                <td>{p.weights.helpfulness}</td>
                <td>{p.weights.harmlessness}</td>
                <td>{fmtNum(p[metric].helpfulness)}</td>
                <td>{fmtNum(p[metric].harmlessness)}</td>
                <td className="cell-text">{p.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
