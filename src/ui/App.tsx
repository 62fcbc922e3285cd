// The demo page: renders the store; all inference runs in the engine worker.
import { PromptBox, PromptPresets, RunButtons, SamplingControls, SuitePicker, WeightControls } from './Controls';
import { Answers, PromptEcho } from './Outputs';
import { lazy, Suspense } from 'react';
import { HeatLegend } from './Legend';
import { BackendBadge, LoadStatus, Notices } from './StatusBar';
import { Explainer } from './Explainer';

// recharts is most of the page's JavaScript: load it after the first paint
const RewardChart = lazy(() => import('./Charts').then((m) => ({ default: m.RewardChart })));
const Sweep = lazy(() => import('./Charts').then((m) => ({ default: m.Sweep })));

export function App() {
  return (
    <div className="app">
      <a className="skip" href="#results">Skip to the answers</a>
      <header className="top">
        <div className="brand">
          <h1>GenARM <span className="brand-sub">in your browser</span></h1>
          <p className="tagline">
            A small base model writes; two autoregressive reward models, one for helpfulness and one for
            harmlessness, re-weigh every next token. Move their weights and watch the answer change.
          </p>
        </div>
        <div className="top-right">
          <BackendBadge />
          <SuitePicker />
        </div>
      </header>
      <LoadStatus />
      <Notices />
      <main className="layout">
        <section className="controls card" aria-labelledby="controls-title">
          <h2 id="controls-title" className="sr-only">Settings</h2>
          <PromptBox />
          <PromptPresets />
          <RunButtons />
          <WeightControls />
          <SamplingControls />
        </section>
        <section className="results" id="results" tabIndex={-1} aria-labelledby="results-title">
          <h2 id="results-title" className="sr-only">Answers</h2>
          <PromptEcho />
          <Answers />
          <HeatLegend />
          <Suspense fallback={null}>
            <RewardChart />
            <Sweep />
          </Suspense>
        </section>
      </main>
      <Explainer />
      <footer className="foot">
        Xu et al., <cite>GenARM: Reward Guided Generation with Autoregressive Reward Model for Test-Time Alignment</cite>,
        ICLR 2025. Everything runs on this device; the page talks to no server but its own (and the model hub, for a hub suite's base).
      </footer>
    </div>
  );
}
