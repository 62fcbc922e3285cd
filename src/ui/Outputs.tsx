// The side-by-side answers: base only and guided, the guided one as a token heatmap with a
// tooltip on hover and on keyboard focus. Model output is only ever rendered as React text.
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { BuiltinObjective, Objective, TokenRecord } from '../engine/types';
import type { HeatMode, PanelRun, Weights } from '../store/types';
import { isUserObjective, objectiveName, useApp } from '../store/store';
import { fmtNum, fmtPct, fmtSigned, heatColour, heatDomain, heatValue, visibleToken } from './heat';
import { TokenTooltip } from './TokenTooltip';

const DECODER_TITLE = { genarm: 'GenARM', base: 'Base only', args: 'ARGS', bon: 'Best-of-N' } as const;

export function PromptEcho() {
  const shown = useApp((s) => s.shownPrompt);
  if (shown === undefined) return null;
  return (
    <div className="prompt-echo" data-testid="prompt-echo">
      <span className="who">You</span>
      <p className="echo-text">{shown}</p>
    </div>
  );
}

export function Answers() {
  const base = useApp((s) => s.base);
  const guided = useApp((s) => s.guided);
  const decoder = useApp((s) => s.guided.settings?.decoder ?? s.settings.decoder);
  const weights = useApp((s) => s.guided.settings?.weights);
  const idle = base.status === 'idle' && guided.status === 'idle';
  const same = firstDifference(base.tokens, guided.tokens);
  return (
    <div className="answers">
      <section className="card answer" aria-labelledby="base-title" aria-busy={isBusy(base.status)}>
        <header className="answer-head">
          <h2 id="base-title">Base model only</h2>
          <RunStats run={base} />
        </header>
        <div className="answer-body" data-testid="base-output" data-status={base.status}>
          {idle ? <Empty /> : <PlainTokens run={base} />}
        </div>
      </section>
      <section className="card answer answer-guided" aria-labelledby="guided-title" aria-busy={isBusy(guided.status)}>
        <header className="answer-head">
          <h2 id="guided-title">
            Guided · {DECODER_TITLE[decoder]}
            {weights && decoder !== 'base' && decoder !== 'bon' && (
              <span className="weights-tag"> α = ({fmtNum(weights.helpfulness ?? 0, 1)}, {fmtNum(weights.harmlessness ?? 0, 1)})
                {userWeights(weights).map(([o, w]) => `, ${objectiveName(o)} ${fmtNum(w, 1)}`).join('')}</span>
            )}
          </h2>
          <RunStats run={guided} />
        </header>
        <div className="answer-body" data-testid="guided-output" data-status={guided.status}>
          {idle ? <Empty /> : guided.status === 'waiting' && !guided.tokens.length
            ? <p className="waiting">Waiting for the base answer…</p>
            : <HeatTokens run={guided} />}
        </div>
        {guided.tokens.length > 0 && base.tokens.length > 0 && guided.status !== 'running' && decoder !== 'base' && (
          <p className="hint divergence">
            {same >= Math.min(guided.tokens.length, base.tokens.length) && guided.tokens.length === base.tokens.length
              ? 'Identical to the base answer: same seed, and the guidance never changed a sampled token.'
              : same === 0
                ? 'The guidance changed the answer from the first token on (same seed as the base).'
                : `Same as the base answer for the first ${same} token${same === 1 ? '' : 's'}, then the guidance changed the path.`}
          </p>
        )}
        {guided.result?.rm_scores && (
          <p className="hint">
            Trajectory RM scores:{' '}
            {Object.entries(guided.result.rm_scores).map(([o, v]) => `${o} ${fmtNum(v)}`).join(', ')}
          </p>
        )}
      </section>
    </div>
  );
}

/** The user ARMs' weights of a run (`user:NAME`, slices/arms.ts), in the order given. */
function userWeights(w: Partial<Record<Objective, number>>): [Objective, number][] {
  return (Object.entries(w) as [Objective, number][]).filter(([o]) => isUserObjective(o));
}

function firstDifference(a: TokenRecord[], b: TokenRecord[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i].id !== b[i].id) return i;
  return n;
}

function isBusy(s: PanelRun['status']) {
  return s === 'running' || s === 'waiting';
}

function Empty() {
  return <p className="empty">Press Generate to see the answer here.</p>;
}

const FINISH: Record<string, string> = { eos: 'finished', length: 'max tokens', stop: 'stop string', abort: 'stopped' };

export function RunStats({ run }: { run: PanelRun }) {
  const r = run.result;
  const n = run.tokens.length;
  const ms = run.tokens.reduce((a, t) => a + (t.ms || 0), 0);
  const tps = r ? r.tokens_per_s : ms > 0 ? (n * 1000) / ms : undefined;
  const ttft = r ? r.ttft_ms : run.firstTokenAt !== undefined && run.startedAt !== undefined ? run.firstTokenAt - run.startedAt : undefined;
  const status =
    run.status === 'running' ? 'generating' :
    run.status === 'waiting' ? 'queued' :
    run.status === 'stopped' ? 'stopped' :
    run.status === 'error' ? 'failed' :
    r ? FINISH[r.finish_reason] ?? r.finish_reason : '';
  if (run.status === 'idle') return null;
  return (
    <dl className="stats" aria-label="Run statistics">
      <div><dt>state</dt><dd className={`state state-${run.status}`}>{run.statusText && run.status === 'running' ? run.statusText : status}{run.cached ? ' (reused)' : ''}</dd></div>
      <div><dt>tokens</dt><dd>{n}</dd></div>
      <div><dt>tok/s</dt><dd data-testid="tokens-per-s">{tps !== undefined && Number.isFinite(tps) ? tps.toFixed(1) : '—'}</dd></div>
      <div><dt>first token</dt><dd data-testid="ttft">{ttft !== undefined && Number.isFinite(ttft) ? `${Math.round(ttft)} ms` : '—'}</dd></div>
    </dl>
  );
}

function PlainTokens({ run }: { run: PanelRun }) {
  return (
    <p className="tokens plain">
      {run.tokens.map((t, i) => <span key={i} className="ptok">{t.text}</span>)}
      {run.status === 'running' && <span className="caret" aria-hidden="true" />}
    </p>
  );
}

function tokenLabel(t: TokenRecord, mode: HeatMode, v: number | undefined): string {
  const parts = [`Token ${t.index + 1}: "${visibleToken(t.text)}"`];
  const short: Record<BuiltinObjective, string> = { helpfulness: 'helpful', harmlessness: 'harmless' };
  for (const o of ['helpfulness', 'harmlessness'] as BuiltinObjective[]) {
    if (typeof t.shifts[o] === 'number') parts.push(`${short[o]} shift ${fmtSigned(t.shifts[o])}`);
  }
  for (const o of Object.keys(t.shifts) as Objective[]) {
    if (isUserObjective(o) && typeof t.shifts[o] === 'number') parts.push(`${objectiveName(o)} shift ${fmtSigned(t.shifts[o])}`);
  }
  if (mode === 'sum' && v !== undefined) parts.push(`weighted ${fmtSigned(v)}`);
  parts.push(`p base ${fmtPct(t.p_base)}, guided ${fmtPct(t.p_guided)}`);
  return parts.join(', ');
}

export function HeatTokens({ run }: { run: PanelRun }) {
  const mode = useApp((s) => s.heat);
  const uiWeights = useApp((s) => s.settings.weights);
  // the run's weights (a user ARM's too: slices/arms.ts), else the sliders'
  const weights = { ...uiWeights, ...run.settings?.weights } as Weights;
  const tokens = run.tokens;
  // keyed on the numbers, not the weights object, which is new on every render
  const wKey = JSON.stringify(weights);
  const values = useMemo(() => tokens.map((t) => heatValue(t, mode, JSON.parse(wKey) as Weights)), [tokens, mode, wKey]);
  const domain = heatDomain(values);
  const [active, setActive] = useState<number | null>(null);
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);  // the active token's span
  const show = (i: number, el: HTMLElement) => { setActive(i); setAnchor(el); };
  const [pinned, setPinned] = useState(false);
  const [rove, setRove] = useState(0);
  const refs = useRef<Array<HTMLSpanElement | null>>([]);
  const box = useRef<HTMLParagraphElement>(null);
  const focusIdx = Math.min(rove, Math.max(0, tokens.length - 1));

  // a new run (no tokens yet) resets the tooltip: state adjusted while rendering, as React's
  // "You might not need an effect" recommends, so no frame shows the old run's tooltip
  if (!tokens.length && (active !== null || rove !== 0)) { setActive(null); setRove(0); }

  const move = (e: KeyboardEvent<HTMLSpanElement>, i: number) => {
    let j: number;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(tokens.length - 1, i + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = tokens.length - 1;
    else if (e.key === 'Escape') { setActive(null); return; }
    else return;
    e.preventDefault();
    setRove(j);
    refs.current[j]?.focus();
  };

  return (
    <div className="heat-wrap">
      <p className="tokens heat" ref={box} role="list" aria-label="Guided answer as tokens; arrow keys move between them">
        {tokens.map((t, i) => {
          const c = heatColour(values[i], domain);
          const h = t.rewards.helpfulness;
          const s = t.rewards.harmlessness;
          return (
            <span
              key={i}
              ref={(el) => { refs.current[i] = el; }}
              role="listitem"
              className={`tok${active === i ? ' tok-active' : ''}${values[i] === undefined ? ' tok-none' : ''}`}
              tabIndex={i === focusIdx ? 0 : -1}
              data-index={i}
              data-reward-helpfulness={typeof h === 'number' ? h : undefined}
              data-reward-harmlessness={typeof s === 'number' ? s : undefined}
              data-shift={values[i]}
              aria-label={tokenLabel(t, mode, values[i])}
              aria-describedby={active === i ? 'token-tooltip' : undefined}
              style={{ background: c.background, color: c.color }}
              onMouseEnter={(e) => { if (!pinned) show(i, e.currentTarget); }}
              onMouseLeave={() => { if (!pinned) setActive(null); }}
              onFocus={(e) => { show(i, e.currentTarget); setRove(i); setPinned(true); }}
              onBlur={() => { setPinned(false); setActive((a) => (a === i ? null : a)); }}
              onKeyDown={(e) => move(e, i)}
            >
              {t.text}
            </span>
          );
        })}
        {run.status === 'running' && <span className="caret" aria-hidden="true" />}
      </p>
      {active !== null && tokens[active] && (
        <TokenTooltip token={tokens[active]} value={values[active]} mode={mode} weights={weights}
          anchor={anchor} onClose={() => setActive(null)} />
      )}
    </div>
  );
}
