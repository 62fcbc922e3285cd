// Prompt, presets, Generate/Stop, the two ARM weights and the sampling settings.
import { useRef, useState, type DragEvent } from 'react';
import type { BackendInfo, BuiltinObjective, Decoder, Manifest, Objective } from '../engine/types';
import { hubDownloadBytes } from '../engine/hub';
import type { HubSuiteState } from '../store/types';
import { fmtBytes } from './heat';
import {
  availableObjectives, hasRewardModels, NGRAM_RANGE, PAPER_REPETITION, REPETITION_PENALTY_RANGE, useApp,
} from '../store/store';
import { PROMPT_PRESETS, WEIGHT_PRESETS } from '../store/presets';
import { freeName, pickAdapterFiles } from './arm-files';

const OBJ_LABEL: Record<BuiltinObjective, string> = { helpfulness: 'Helpfulness', harmlessness: 'Harmlessness' };
/** a user ARM's slider id: its objective made safe for an id */
const sliderId = (o: Objective) => `w-${o.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const DECODERS: Array<{ id: Decoder; label: string; note: string }> = [
  { id: 'genarm', label: 'GenARM', note: 'base log-probs plus the weighted ARM log-probs, one ARM forward per token' },
  { id: 'base', label: 'Base only', note: 'the base model alone: both columns show the same answer' },
  { id: 'args', label: 'ARGS', note: 'rescore the top-k next tokens with a trajectory reward model' },
  { id: 'bon', label: 'Best-of-N', note: 'sample N whole answers, keep the one the reward models score best' },
];

export function PromptBox() {
  const prompt = useApp((s) => s.settings.prompt);
  const setPrompt = useApp((s) => s.setPrompt);
  const generate = useApp((s) => s.generate);
  const ready = useApp((s) => s.load.status === 'ready');
  const empty = prompt.trim() === '';
  return (
    <div className="field prompt-field">
      <label htmlFor="prompt" className="field-label">Prompt</label>
      <textarea
        id="prompt"
        value={prompt}
        rows={3}
        spellCheck
        placeholder="Ask the model something…"
        aria-describedby="prompt-hint"
        onChange={(e) => setPrompt(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !empty && ready) {
            e.preventDefault();
            void generate();
          }
        }}
      />
      <p id="prompt-hint" className="hint">
        {empty ? 'Type a prompt to enable Generate.' : 'Ctrl+Enter generates. The chat template is applied for you.'}
      </p>
    </div>
  );
}

export function PromptPresets() {
  const setPrompt = useApp((s) => s.setPrompt);
  const generate = useApp((s) => s.generate);
  const ready = useApp((s) => s.load.status === 'ready');
  const current = useApp((s) => s.settings.prompt);
  const group = (kind: 'helpful' | 'harmful', title: string) => (
    <div className="preset-group" role="group" aria-labelledby={`presets-${kind}`}>
      <span id={`presets-${kind}`} className="preset-title">{title}</span>
      <div className="chips">
        {PROMPT_PRESETS.filter((p) => p.kind === kind).map((p) => (
          <button
            key={p.label}
            type="button"
            className={`chip chip-${kind}`}
            aria-pressed={current === p.prompt}
            title={p.prompt}
            onClick={() => {
              setPrompt(p.prompt);
              if (ready) void generate();
            }}
          >
            {p.label}
          </button>
        ))}
      </div>
    </div>
  );
  return (
    <div className="presets">
      {group('helpful', 'Everyday questions')}
      {group('harmful', 'Risky requests')}
    </div>
  );
}

export function RunButtons() {
  const generate = useApp((s) => s.generate);
  const stop = useApp((s) => s.stop);
  const ready = useApp((s) => s.load.status === 'ready');
  const empty = useApp((s) => s.settings.prompt.trim() === '');
  const running = useApp((s) => isBusy(s.base.status) || isBusy(s.guided.status) || s.sweep.status === 'running');
  return (
    <div className="run-buttons">
      <button
        type="button"
        className="btn btn-primary"
        disabled={!ready || empty}
        title={!ready ? 'Waiting for the models' : empty ? 'Type a prompt first' : undefined}
        onClick={() => {
          void generate();
          // on a phone the answers are below the controls: bring them into view
          if (window.matchMedia?.('(max-width: 900px)').matches) {
            document.getElementById('results')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
          }
        }}
      >
        Generate
      </button>
      <button type="button" className="btn" disabled={!running} onClick={stop}>
        Stop
      </button>
    </div>
  );
}

function isBusy(s: string) {
  return s === 'running' || s === 'waiting';
}

/** A range input that regenerates live when released (keyboard, pointer or programmatic change). */
function LiveRange(props: {
  id: string; label: string; value: number; min: number; max: number; step: number;
  disabled?: boolean; describedBy?: string; onValue: (v: number) => void; format?: (v: number) => string;
}) {
  const schedule = useApp((s) => s.scheduleRegenerate);
  const dragging = useRef(false);
  const fmt = props.format ?? ((v: number) => v.toFixed(1));
  return (
    <div className="field range-field">
      <div className="range-head">
        <label htmlFor={props.id} className="field-label">{props.label}</label>
        <output htmlFor={props.id} className="range-value" aria-hidden="true">{fmt(props.value)}</output>
      </div>
      <input
        id={props.id}
        type="range"
        min={props.min}
        max={props.max}
        step={props.step}
        value={props.value}
        disabled={props.disabled}
        aria-describedby={props.describedBy}
        aria-valuetext={fmt(props.value)}
        onPointerDown={() => {
          dragging.current = true;
          // released anywhere, even off the thumb: regenerate once
          const up = () => {
            window.removeEventListener('pointerup', up);
            window.removeEventListener('pointercancel', up);
            if (!dragging.current) return;
            dragging.current = false;
            schedule();
          };
          window.addEventListener('pointerup', up);
          window.addEventListener('pointercancel', up);
        }}
        onChange={(e) => {
          props.onValue(Number(e.target.value));
          if (!dragging.current) schedule();
        }}
      />
    </div>
  );
}

export function WeightControls() {
  const weights = useApp((s) => s.settings.weights);
  const setWeight = useApp((s) => s.setWeight);
  const setWeights = useApp((s) => s.setWeights);
  const schedule = useApp((s) => s.scheduleRegenerate);
  const decoder = useApp((s) => s.settings.decoder);
  const available = useApp((s) => availableObjectives(s).join(','));
  const loaded = useApp((s) => !!s.load.manifest);
  const avail = available.split(',').filter(Boolean) as Objective[];
  const inactive = decoder === 'base' || decoder === 'bon';
  const userArms = useApp((s) => s.userArms);
  const removeUserArm = useApp((s) => s.removeUserArm);
  const busy = useApp((s) => s.armStatus.busy);
  const drop = useDropArm();
  return (
    <fieldset className={`weights${drop.over ? ' drop-over' : ''}`} {...drop.handlers}>
      <legend>ARM weights α</legend>
      <p className="hint" id="weights-hint">
        {inactive
          ? `Not used by the ${decoder === 'base' ? 'base-only' : 'Best-of-N'} decoder.`
          : 'How strongly each reward model steers every next token (0 = not at all).'}
      </p>
      {(['helpfulness', 'harmlessness'] as BuiltinObjective[]).map((o) => {
        const missing = loaded && !avail.includes(o);
        return (
          <div key={o} className={`weight weight-${o}`}>
            <LiveRange
              id={`w-${o}`}
              label={OBJ_LABEL[o]}
              value={weights[o]}
              min={0}
              max={5}
              step={0.1}
              disabled={missing}
              describedBy={missing ? `w-${o}-missing` : 'weights-hint'}
              onValue={(v) => setWeight(o, v)}
            />
            {missing && <p className="hint warn" id={`w-${o}-missing`}>This suite has no {o} ARM yet.</p>}
          </div>
        );
      })}
      {userArms.map((a) => (
        <div key={a.objective} className="weight weight-user" data-objective={a.objective}>
          <LiveRange
            id={sliderId(a.objective)}
            label={`${a.name} (your ARM)`}
            value={weights[a.objective] ?? 0}
            min={0}
            max={5}
            step={0.1}
            describedBy="weights-hint"
            onValue={(v) => setWeight(a.objective, v)}
          />
          <button type="button" className="btn btn-small remove-arm" disabled={busy}
            aria-label={`Remove ${a.name}`} title={`Remove your ARM ${a.name}`}
            onClick={() => void removeUserArm(a.objective)}>
            Remove
          </button>
          <p className="hint arm-info">LoRA r={a.rank}, α={a.alpha} on {a.layers.length} layer{a.layers.length === 1 ? '' : 's'} ({a.targets.join(', ')})</p>
        </div>
      ))}
      <AddArm onFiles={drop.add} />
      <div className="chips weight-presets" role="group" aria-labelledby="weight-presets-title">
        <span id="weight-presets-title" className="preset-title">Paper settings (help, harm)</span>
        {WEIGHT_PRESETS.map((p) => {
          const on = p.weights.helpfulness === weights.helpfulness && p.weights.harmlessness === weights.harmlessness;
          return (
            <button
              key={p.label}
              type="button"
              className="chip chip-weights"
              aria-pressed={on}
              title={p.title}
              aria-label={`Weights ${p.label}: ${p.title}`}
              onClick={() => { setWeights(p.weights); schedule(); }}
            >
              {p.label}
            </button>
          );
        })}
      </div>
    </fieldset>
  );
}

/** Sends dropped or picked files to the store as a user ARM (slices/arms.ts); refusals stay text. */
function useDropArm() {
  const addUserArm = useApp((s) => s.addUserArm);
  const setArmError = useApp((s) => s.setArmError);
  const [over, setOver] = useState(false);
  const add = async (files: File[], name: string) => {
    const picked = pickAdapterFiles(files);
    if (typeof picked === 'string') { setArmError(picked); return; }
    const taken = useApp.getState().userArms.map((a) => a.name);
    const [config, weights] = await Promise.all([picked.config.arrayBuffer(), picked.weights.arrayBuffer()]);
    await addUserArm({ name: freeName(name || picked.folder || 'my ARM', taken), config: new Uint8Array(config), weights: new Uint8Array(weights) });
  };
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  const handlers = {
    onDragOver: (e: DragEvent) => { if (hasFiles(e)) { e.preventDefault(); setOver(true); } },
    onDragLeave: () => setOver(false),
    onDrop: (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setOver(false);
      const name = (document.getElementById('arm-name') as HTMLInputElement | null)?.value.trim() ?? '';
      void add(Array.from(e.dataTransfer.files), name);
    },
  };
  return { over, handlers, add };
}

/** "Add your ARM": a PEFT LoRA adapter of the loaded base, from two files or their folder. */
function AddArm({ onFiles }: { onFiles: (files: File[], name: string) => Promise<void> }) {
  const status = useApp((s) => s.armStatus);
  const ready = useApp((s) => s.load.status === 'ready');
  const [name, setName] = useState('');
  const pick = (input: HTMLInputElement) => {
    const files = Array.from(input.files ?? []);
    input.value = ''; // the same files again fire change again
    if (files.length) void onFiles(files, name.trim()).then(() => setName(''));
  };
  // webkitdirectory is not in React's types; every current browser takes it
  const folderProps = { webkitdirectory: '', directory: '' } as Record<string, string>;
  return (
    <div className="add-arm" role="group" aria-labelledby="add-arm-title">
      <span id="add-arm-title" className="preset-title">Add your ARM</span>
      <p className="hint" id="add-arm-hint">
        A PEFT LoRA adapter of this base (the folder <code>npm run train-arm</code> or PEFT&apos;s save_pretrained writes):
        pick or drop its <code>adapter_config.json</code> and <code>adapter_model.safetensors</code> here.
        It runs as one more row of the base&apos;s graph and gets its own slider and token colours.
      </p>
      <div className="add-arm-row">
        <label htmlFor="arm-name" className="sr-only">Name of your ARM</label>
        <input id="arm-name" type="text" placeholder="Name (default: the folder's)" value={name} maxLength={64}
          onChange={(e) => setName(e.target.value)} />
        <label className={`btn btn-small${!ready || status.busy ? ' disabled' : ''}`}>
          Files…
          <input type="file" className="sr-only" data-testid="arm-files" multiple accept=".json,.safetensors,application/json"
            aria-describedby="add-arm-hint" disabled={!ready || status.busy} onChange={(e) => pick(e.currentTarget)} />
        </label>
        <label className={`btn btn-small${!ready || status.busy ? ' disabled' : ''}`}>
          Folder…
          <input type="file" className="sr-only" data-testid="arm-folder" {...folderProps}
            disabled={!ready || status.busy} onChange={(e) => pick(e.currentTarget)} />
        </label>
      </div>
      {status.busy && <p className="hint" role="status">Checking the adapter against the base…</p>}
      {status.error && <p className="hint warn arm-error" role="alert" data-testid="arm-error">{status.error}</p>}
    </div>
  );
}

export function SamplingControls() {
  const s = useApp((st) => st.settings);
  const setDecoder = useApp((st) => st.setDecoder);
  const setTemperature = useApp((st) => st.setTemperature);
  const setRepetitionPenalty = useApp((st) => st.setRepetitionPenalty);
  const setNoRepeatNgram = useApp((st) => st.setNoRepeatNgram);
  const setPaperRepetition = useApp((st) => st.setPaperRepetition);
  const setMaxTokens = useApp((st) => st.setMaxTokens);
  const setSeed = useApp((st) => st.setSeed);
  const newSeed = useApp((st) => st.newSeed);
  const setParam = useApp((st) => st.setParam);
  const schedule = useApp((st) => st.scheduleRegenerate);
  const rms = useApp((st) => hasRewardModels(st));
  const loaded = useApp((st) => !!st.load.manifest);
  const note = DECODERS.find((d) => d.id === s.decoder)?.note;
  return (
    <fieldset className="sampling">
      <legend>Decoding</legend>
      <div className="field">
        <label htmlFor="decoder" className="field-label">Decoder</label>
        <select id="decoder" value={s.decoder} aria-describedby="decoder-note"
          onChange={(e) => { setDecoder(e.target.value as Decoder); schedule(); }}>
          {DECODERS.map((d) => (
            <option key={d.id} value={d.id} disabled={loaded && (d.id === 'args' || d.id === 'bon') && !rms}>
              {d.label}{loaded && (d.id === 'args' || d.id === 'bon') && !rms ? ' (needs trajectory RMs)' : ''}
            </option>
          ))}
        </select>
        <p id="decoder-note" className="hint">{note}</p>
      </div>
      {s.decoder === 'args' && (
        <div className="row2">
          <NumberField id="args-k" label="Candidates k" value={s.args_k} min={1} max={50} step={1}
            onValue={(v) => { setParam('args_k', v); schedule(); }} />
          <NumberField id="args-w" label="RM weight" value={s.args_w} min={0} max={5} step={0.1}
            onValue={(v) => { setParam('args_w', v); schedule(); }} />
        </div>
      )}
      {s.decoder === 'bon' && (
        <NumberField id="bon-n" label="Samples N" value={s.bon_n} min={1} max={16} step={1}
          onValue={(v) => { setParam('bon_n', v); schedule(); }} />
      )}
      <LiveRange id="temperature" label="Temperature" value={s.temperature} min={0} max={2} step={0.05}
        format={(v) => (v === 0 ? '0 (greedy)' : v.toFixed(2))} onValue={setTemperature} />
      <LiveRange id="repetition-penalty" label="Repetition penalty" value={s.repetition_penalty}
        min={REPETITION_PENALTY_RANGE.min} max={REPETITION_PENALTY_RANGE.max} step={REPETITION_PENALTY_RANGE.step}
        describedBy="repetition-hint" format={(v) => (v === 1 ? '1.00 (off)' : v.toFixed(2))} onValue={setRepetitionPenalty} />
      <div className="row2">
        <NumberField id="no-repeat-ngram" label="No-repeat n-gram" value={s.no_repeat_ngram_size}
          min={NGRAM_RANGE.min} max={NGRAM_RANGE.max} step={1} describedBy="repetition-hint"
          onValue={(v) => { setNoRepeatNgram(v); schedule(); }} />
        <div className="field paper-repetition">
          <button type="button" className="chip"
            aria-pressed={s.repetition_penalty === PAPER_REPETITION.repetition_penalty
              && s.no_repeat_ngram_size === PAPER_REPETITION.no_repeat_ngram_size}
            title="Repetition penalty 1 and no n-gram ban: GenARM's eq. 7 alone, as in the paper"
            onClick={() => { setPaperRepetition(); schedule(); }}>
            Paper's setting (no penalty)
          </button>
        </div>
      </div>
      <p id="repetition-hint" className="hint">
        Both act on the guided scores over the prompt and the answer so far, greedy runs included:
        the penalty pushes down every token already seen; an n-gram size N forbids any run of N tokens that already occurred (0 = off).
      </p>
      <div className="row2">
        <NumberField id="max-tokens" label="Max tokens" value={s.max_tokens} min={1} max={1024} step={1}
          onValue={(v) => setMaxTokens(v)} />
        <div className="field">
          <label htmlFor="seed" className="field-label">Seed</label>
          <div className="seed-row">
            <input id="seed" type="number" inputMode="numeric" min={0} step={1} value={s.seed}
              onChange={(e) => setSeed(Number(e.target.value))} />
            <button type="button" className="btn btn-icon" aria-label="New seed" title="New random seed"
              onClick={() => { newSeed(); schedule(); }}>↻</button>
          </div>
        </div>
      </div>
    </fieldset>
  );
}

function NumberField(props: {
  id: string; label: string; value: number; min: number; max: number; step: number; onValue: (v: number) => void;
  describedBy?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id} className="field-label">{props.label}</label>
      <input id={props.id} type="number" min={props.min} max={props.max} step={props.step} value={props.value}
        aria-describedby={props.describedBy}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (Number.isFinite(v)) props.onValue(Math.min(props.max, Math.max(props.min, v)));
        }} />
    </div>
  );
}

export function SuitePicker() {
  const probe = useApp((s) => s.probeHub);
  const manifest = useApp((s) => s.load.manifest);
  const suite = useApp((s) => s.suite);
  const select = useApp((s) => s.selectSuite);
  const hubSuites = useApp((s) => s.hubSuites);
  const hubUrl = useApp((s) => s.hubUrl);
  const backend = useApp((s) => s.load.backend);
  return <SuitePickerView {...{ manifest, suite, select, hubSuites, hubUrl, backend }} probe={() => void probe()} />;
}

/** The picker itself, from the store's values (a test renders it with them: src/store/hub-suites.test.tsx). */
export function SuitePickerView({ manifest, suite, select, hubSuites, hubUrl, backend, probe }: {
  manifest?: Manifest; suite?: string; select: (id: string) => void; hubSuites: HubSuiteState[]; hubUrl: string; backend?: BackendInfo;
  probe?: () => void;
}) {
  // a loaded hub suite is in the engine's manifest too: list it once, with the hub suites
  const ids = manifest ? Object.keys(manifest.suites).filter((id) => !hubSuites.some((h) => h.def.id === id)) : [];
  const troubled = hubSuites.filter((h) => h.status === 'unreachable' || h.status === 'error');
  const unreachable = troubled.find((h) => h.status === 'unreachable');
  const unchecked = hubSuites.some((h) => h.status === 'unchecked');
  return (
    <div className="suite-picker">
      <label htmlFor="suite" className="field-label">Model suite</label>
      <select id="suite" value={suite ?? ''} disabled={ids.length === 0} onChange={(e) => select(e.target.value)}
        aria-describedby={troubled.length ? 'hub-status' : undefined}>
        {ids.length === 0 && <option value="">{suite ?? '…'}</option>}
        {ids.map((id) => (
          <option key={id} value={id}>{manifest!.suites[id].label || id}</option>
        ))}
        {ids.length > 0 && hubSuites.map((h) => (
          <option key={h.def.id} value={h.def.id} disabled={h.status === 'unreachable' || h.status === 'error'}
            data-hub-status={h.status}>
            {h.def.label} · {hubNote(h, backend)}
          </option>
        ))}
      </select>
      {ids.length > 0 && unchecked && (
        <p className="hint" data-testid="hub-ask">
          Hub suites download their base from <code>{hubUrl}</code>; this page asks it nothing until you do.{' '}
          <button type="button" className="btn btn-small" onClick={probe}>Ask the hub for sizes</button>
        </p>
      )}
      {troubled.length > 0 && (
        <p className="hint warn" id="hub-status" data-testid="hub-status">
          {unreachable ? <>Hub suites: hub unreachable ({hubUrl}): the suites above still work. </> : null}
          {troubled.filter((h) => h.status === 'error').map((h) => <span key={h.def.id}>{h.def.label}: {h.message} </span>)}
        </p>
      )}
    </div>
  );
}

/** What a hub suite's option says after its name: the base's download size for this backend, or why it cannot load. */
function hubNote(h: HubSuiteState, backend: BackendInfo | undefined): string {
  if (h.status === 'unchecked') return 'size: ask the hub';
  if (h.status === 'checking') return 'checking the hub…';
  if (h.status === 'unreachable') return 'hub unreachable';
  if (h.status === 'error' || !h.listing) return 'not available';
  try {
    const kind = backend?.backend === 'webgpu' ? 'webgpu' : 'wasm';
    const { bytes, dtype } = hubDownloadBytes(h.listing, kind, backend?.shader_f16 === true, h.def.onnxDir);
    return `base ${fmtBytes(bytes)} (${dtype}) from the hub`;
  } catch {
    return 'no graph for this backend';
  }
}
