// Entry: wires the store to the engine worker and renders the demo page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { configureEngine, useApp } from './store/store';
import { WorkerEngine } from './worker/client';
import { HUB_SUITES } from './engine/hub';
import './ui/styles.css';

async function start() {
  const params = new URLSearchParams(window.location.search);
  if (import.meta.env.DEV && params.get('engine') === 'fake') {
    // UI work without models: a deterministic stand-in engine (never in a production build)
    const { FakeEngine, readFakeManifest } = await import('./store/fake-engine');
    configureEngine(() => new FakeEngine({ msPerToken: 40 }), { readManifest: readFakeManifest });
  } else {
    // the hub suites (src/engine/hub.ts) beside the manifest's; ?hubrepo= adds more
    configureEngine(() => new WorkerEngine(), { hubSuites: HUB_SUITES });
  }
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  void useApp.getState().init(window.location.search, `${import.meta.env.BASE_URL}models/`);
}

void start();
