// Download progress per file and in total, the backend badge, load errors with Retry.
import { useApp } from '../store/store';
import { fmtBytes } from './heat';
import type { LoadProgress } from '../engine/types';

const PHASE: Record<LoadProgress['phase'], string> = {
  manifest: 'Reading the model manifest',
  download: 'Downloading models',
  expand: 'Expanding weights (GGUF blocks to fp32)',
  session: 'Creating inference sessions',
  warmup: 'Warming up (first run compiles the kernels)',
  ready: 'Ready',
};

export function BackendBadge() {
  const backend = useApp((s) => s.load.backend);
  const status = useApp((s) => s.load.status);
  if (!backend) {
    return (
      <span className="badge badge-pending" data-backend="" aria-live="polite">
        {status === 'error' ? 'no backend' : 'choosing backend…'}
      </span>
    );
  }
  const name = backend.backend === 'webgpu' ? 'WebGPU' : backend.backend === 'wasm' ? 'WASM' : backend.backend;
  // a hub base brings its own dtype (src/engine/hub.ts): both are shown
  const extra = [backend.base_dtype ? `base ${backend.base_dtype} · ARMs ${backend.dtype}` : backend.dtype, backend.threads ? `${backend.threads} thread${backend.threads > 1 ? 's' : ''}` : '', backend.path === 'fused' ? 'fused' : '']
    .filter(Boolean).join(' · ');
  return (
    <span className={`badge badge-${backend.backend}`} data-backend={backend.backend} title={backend.reason}>
      <strong>{name}</strong>
      {extra && <span className="badge-extra"> {extra}</span>}
      <span className="sr-only">. {backend.reason}</span>
    </span>
  );
}

function Bar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100}
      aria-valuenow={Math.round(pct)} aria-valuetext={`${Math.round(pct)}%`}>
      <div className="bar-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function LoadStatus() {
  const load = useApp((s) => s.load);
  const retry = useApp((s) => s.loadModels);
  const suite = useApp((s) => s.suite);
  const hub = useApp((s) => s.hubSuites.find((h) => h.def.id === s.suite));
  const hubUrl = useApp((s) => s.hubUrl);

  if (load.status === 'error') {
    return (
      <section className="card load load-error" role="alert" aria-labelledby="load-error-title">
        <h2 id="load-error-title">The models could not be loaded</h2>
        <p>
          {load.error?.file ? <>File <code>{load.error.file}</code>: </> : null}
          {stripFile(load.error?.message ?? 'unknown error', load.error?.file)}
        </p>
        {hub ? (
          <p className="hint">
            This suite's base model comes from the hub at <code>{hubUrl}</code> (<code>{hub.def.repo}</code>); its ARMs from this
            page's own server. The other suites do not need the hub.
          </p>
        ) : (
          <p className="hint">
            Models are built by <code>npm run models</code> into <code>public/models/</code> and served by this page's own
            server; nothing is fetched from elsewhere.
          </p>
        )}
        <button type="button" className="btn btn-primary" onClick={() => void retry()}>Retry</button>
      </section>
    );
  }

  const p = load.progress;
  const files = p?.files ?? [];
  const total = p?.total ?? 0;
  const loaded = p?.loaded ?? 0;
  const ready = load.status === 'ready';
  const cachedAll = files.length > 0 && files.every((f) => f.cached);
  const phase = ready ? 'ready' : p?.phase ?? 'manifest';

  if (ready) {
    return (
      <details className="card load load-ready">
        <summary>
          <span className="dot dot-ok" aria-hidden="true" /> Models ready
          {suite ? <> · suite <strong>{suite}</strong></> : null}
          {files.length ? <> · {files.length} files, {fmtBytes(total)}{cachedAll ? ' (from cache)' : ''}</> : null}
          {load.backend ? <> · <span className="backend-reason">{load.backend.reason}</span></> : null}
        </summary>
        <FileList files={files} />
      </details>
    );
  }
  return (
    <section className="card load" aria-live="polite" aria-busy="true" aria-labelledby="load-title">
      <h2 id="load-title" className="load-title">
        <span className="spinner" aria-hidden="true" /> {PHASE[phase]}
        {total > 0 && <span className="load-bytes"> {fmtBytes(loaded)} / {fmtBytes(total)}</span>}
      </h2>
      <Bar value={loaded} max={total || 1} label="Total download" />
      {p?.storage && <StorageLine storage={p.storage} toFetch={files.filter((f) => !f.cached).reduce((s, f) => s + f.total, 0)} />}
      {files.length > 0 && <FileList files={files} />}
    </section>
  );
}

/** The browser's storage estimate before the download, and whether the models will be kept. */
function StorageLine({ storage, toFetch }: { storage: NonNullable<LoadProgress['storage']>; toFetch: number }) {
  const { usage, quota, persisted } = storage;
  const free = usage !== null && quota !== null ? quota - usage : null;
  return (
    <p className="hint storage" data-testid="storage-estimate">
      Storage for this site: {usage !== null ? fmtBytes(usage) : '?'} used of {quota !== null ? fmtBytes(quota) : '?'}
      {persisted === true ? ' (persistent: the browser keeps the cached models)' : persisted === false ? ' (not persistent: the browser may evict the cached models)' : ''}
      {free !== null && toFetch > free ? ` · not enough room to cache ${fmtBytes(toFetch)}: the models will run, and download again next visit` : ''}
    </p>
  );
}

function FileList({ files }: { files: LoadProgress['files'] }) {
  return (
    <ul className="files">
      {files.map((f) => (
        <li key={f.path} className={f.done ? 'file-done' : ''}>
          <span className="file-name" title={f.path}>{f.path}</span>
          <Bar value={f.done ? 1 : f.loaded} max={f.done ? 1 : f.total || 1} label={`Download ${f.path}`} />
          <span className="file-size">
            {f.cached ? 'cached' : f.done ? fmtBytes(f.total) : `${fmtBytes(f.loaded)} / ${fmtBytes(f.total)}`}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function Notices() {
  const notices = useApp((s) => s.notices);
  const dismiss = useApp((s) => s.dismissNotice);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} role={n.level === 'error' ? 'alert' : 'status'}
          data-testid={n.id === 'fallback' ? 'fallback-notice' : n.id === 'prompt-truncated' ? 'truncated-notice' : undefined}>
          <span className="notice-icon" aria-hidden="true">{n.level === 'error' ? '⛔' : n.level === 'warning' ? '⚠' : 'ℹ'}</span>
          <span className="notice-text">{n.text}</span>
          <button type="button" className="notice-close" aria-label="Dismiss notice" onClick={() => dismiss(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

/** "a/b.onnx: a/b.onnx: why" reads "why" after the file is already named */
function stripFile(message: string, file?: string): string {
  if (!file) return message;
  let m = message;
  while (m.startsWith(`${file}: `)) m = m.slice(file.length + 2);
  return m;
}
