// Tooltip for one guided token: its rewards and shifts, base vs guided probability, and the
// top-5 alternatives under each distribution as bars with the chosen token marked.
import { useLayoutEffect, useRef, useState } from 'react';
import type { Alternative, BuiltinObjective, Objective, TokenRecord } from '../engine/types';
import { isUserObjective, objectiveName } from '../store/settings';
import type { HeatMode, Weights } from '../store/types';
import { fmtNum, fmtPct, fmtSigned, visibleToken } from './heat';

const NAME: Record<BuiltinObjective, string> = { helpfulness: 'Helpfulness ARM', harmlessness: 'Harmlessness ARM' };
/** a row's name: a user ARM (`user:NAME`) by its own name */
const rowName = (o: Objective) => (isUserObjective(o) ? `${objectiveName(o)} (your ARM)` : NAME[o as BuiltinObjective]);

export function TokenTooltip(props: {
  token: TokenRecord; value: number | undefined; mode: HeatMode; weights: Weights;
  anchor: HTMLElement | null; onClose: () => void;
}) {
  const { token: t, anchor } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<{ left: number; top: number } | null>(null);

  useLayoutEffect(() => {
    const place = () => {
      const el = ref.current;
      if (!el || !anchor) return;
      const a = anchor.getBoundingClientRect();
      const w = el.offsetWidth;
      const h = el.offsetHeight;
      const vw = document.documentElement.clientWidth;
      const vh = window.innerHeight;
      const left = Math.max(8, Math.min(vw - w - 8, a.left + a.width / 2 - w / 2));
      const below = a.bottom + 8;
      const top = below + h > vh - 8 && a.top - h - 8 > 8 ? a.top - h - 8 : below;
      setPos({ left, top });
    };
    place();
    window.addEventListener('scroll', place, true);
    window.addEventListener('resize', place);
    return () => {
      window.removeEventListener('scroll', place, true);
      window.removeEventListener('resize', place);
    };
  }, [anchor, t]);

  // the suite's objectives first, then the user's ARMs in the order the record lists them
  const users = [...new Set([...Object.keys(t.rewards), ...Object.keys(t.shifts)])].filter(isUserObjective) as Objective[];
  const objectives = ([...(['helpfulness', 'harmlessness'] as Objective[]), ...users]).filter(
    (o) => typeof t.rewards[o] === 'number' || typeof t.shifts[o] === 'number',
  );

  return (
    <div
      id="token-tooltip"
      role="tooltip"
      ref={ref}
      className="tooltip"
      data-testid="token-tooltip"
      style={pos ? { left: pos.left, top: pos.top } : { left: -9999, top: 0 }}
      onMouseDown={(e) => e.preventDefault()}
    >
      <div className="tt-head">
        <code className="tt-token">{visibleToken(t.text)}</code>
        <span className="tt-index">token {t.index + 1} · id {t.id}</span>
      </div>
      <table className="tt-table">
        <thead>
          <tr><th scope="col" /><th scope="col" title="an ARM's log-probability of the token is its token-level reward">log π (reward)</th><th scope="col">shift</th></tr>
        </thead>
        <tbody>
          {objectives.map((o) => (
            <tr key={o} data-objective={o}>
              <th scope="row">{rowName(o)} <span className="tt-w">α={fmtNum(props.weights[o], 1)}</span></th>
              <td>{fmtNum(t.rewards[o])}</td>
              <td className={sign(t.shifts[o])}>{fmtSigned(t.shifts[o])}</td>
            </tr>
          ))}
          {objectives.length === 0 && (
            <tr><td colSpan={3} className="hint">No ARM ran for this token (all weights 0).</td></tr>
          )}
          <tr>
            <th scope="row">Base model</th>
            <td>{fmtNum(t.logprob_base)}</td>
            <td />
          </tr>
          {props.mode === 'sum' && props.value !== undefined && (
            <tr>
              <th scope="row">Weighted sum Σ α·shift</th>
              <td />
              <td className={sign(props.value)}>{fmtSigned(props.value)}</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="tt-probs">
        <span>p base <strong>{fmtPct(t.p_base)}</strong></span>
        <span aria-hidden="true">→</span>
        <span>p guided <strong>{fmtPct(t.p_guided)}</strong></span>
      </div>
      <div className="tt-alts">
        <Alts title="Top 5 under base" alts={t.top_base} chosen={t.id} />
        <Alts title="Top 5 under guided" alts={t.top_guided} chosen={t.id} />
      </div>
    </div>
  );
}

function sign(v: number | undefined) {
  return v === undefined ? '' : v > 0.005 ? 'pos' : v < -0.005 ? 'neg' : '';
}

function Alts({ title, alts, chosen }: { title: string; alts: Alternative[]; chosen: number }) {
  const top = alts.slice(0, 5);
  const max = Math.max(1e-9, ...top.map((a) => a.p));
  return (
    <div className="alts">
      <h3>{title}</h3>
      <ol>
        {top.map((a) => (
          <li key={a.id} className={a.id === chosen ? 'alt-chosen' : ''}>
            <code className="alt-text">{visibleToken(a.text)}</code>
            <span className="alt-bar" aria-hidden="true"><span style={{ width: `${(a.p / max) * 100}%` }} /></span>
            <span className="alt-p">{fmtPct(a.p)}</span>
            {a.id === chosen && <span className="alt-mark" title="the sampled token">✓<span className="sr-only"> chosen</span></span>}
          </li>
        ))}
        {!top.some((a) => a.id === chosen) && top.length > 0 && (
          <li className="alt-outside">chosen token not in the top 5</li>
        )}
      </ol>
    </div>
  );
}
