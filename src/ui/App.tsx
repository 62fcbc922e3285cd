// The demo page: renders the store; all inference runs in the engine worker.
import { PromptBox, PromptPresets, RunButtons, SamplingControls, SuitePicker, WeightControls } from './Controls';
import { Answers, PromptEcho } from './Outputs';
import { HeatLegend, RewardChart, Sweep } from './Charts';
import { BackendBadge, LoadStatus, Notices } from './StatusBar';
import { Explainer } from './Explainer';

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
          <RewardChart />
          <Sweep />
        </section>
      </main>
      <Explainer />
      <footer className="foot">
        Xu et al., <cite>GenARM: Reward Guided Generation with Autoregressive Reward Model for Test-Time Alignment</cite>,
        ICLR 2025. Everything runs on this device; the page talks to no server but its own.
      </footer>
    </div>
  );
}
