// npx tsx bench/tables.ts [--bench bench/results/smollm2.json] [--eval reports/alignment.json]
//                         [--fused bench/results/fused-node-perlayer-t1.json,bench/results/fused-wasm-fp32.json]
//                         [--doc docs/results.md]
// Writes the speed, fused-graph and alignment tables into docs/results.md between the marker
// comments <!-- speed:start --> ... <!-- speed:end -->, <!-- fused:start --> ... and
// <!-- alignment:start --> ... (so the doc's numbers are the JSON's numbers, never retyped).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    bench: { type: 'string', default: 'bench/results/smollm2.json' },
    eval: { type: 'string', default: 'reports/alignment.json' },
    fused: { type: 'string', default: 'bench/results/fused-node-perlayer-t1.json,bench/results/fused-wasm-fp32.json' },
    doc: { type: 'string', default: 'docs/results.md' },
  },
});

const f2 = (x: number | null | undefined, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const pct = (x: { mean: number; se: number }) => `${(100 * x.mean).toFixed(0)}% ± ${(100 * x.se).toFixed(0)}`;

function speedTable(path: string): string {
  const r = JSON.parse(readFileSync(path, 'utf8'));
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`Run \`${r.command}\` on ${m.date.slice(0, 10)}: ${m.cpu_model}, ${m.cores} cores, Node ${m.node}, onnxruntime-node ${m.onnxruntime_node}, ` +
    `Chromium ${m.chromium ?? '–'} with onnxruntime-web ${m.onnxruntime_web}; load average ${m.load_average_at_start.join(' ')} at the start, ` +
    `${m.load_average_at_end.join(' ')} at the end (the machine is shared). ${r.settings.prompts.length} prompts x ${r.settings.max_tokens} new tokens, ` +
    `temperature 1, seeds ${r.settings.seeds.join(', ')}. Wall time ${Math.round(r.wall_s / 60)} min.`);
  lines.push('');
  lines.push('| backend | configuration | ms / token | × base | tokens / s | TTFT ms | TTFT × base | download MB | peak memory MB |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of r.summary) {
    lines.push(`| ${t.backend} | ${t.label} | ${f2(t.ms_per_token)} | **${f2(t.ms_per_token_ratio, 2)}** | ${f2(t.tokens_per_s)} | ${f2(t.ttft_ms, 0)} | ${f2(t.ttft_ratio, 2)} | ${f2(t.download_mb, 0)} | ${t.peak_memory_mb ?? '–'} |`);
  }
  return lines.join('\n');
}

function alignmentTable(path: string): string {
  const r = JSON.parse(readFileSync(path, 'utf8'));
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`Run \`${r.command}\` on ${r.created.slice(0, 10)} (${Math.round(r.wall_s / 60)} min): suite ${s.suite}, ${s.dtype} (${s.path} path), evaluator RMs ${s.evaluator_rm_dtype}, ` +
    `${s.prompts_per_set} prompts per set, ${s.max_new_tokens} new tokens, temperature ${s.temperature}. Mean ± standard error; ` +
    'Δ = paired difference to the base on the same prompts and seeds.');
  lines.push('');
  lines.push('| method | RM-helpfulness (help prompts) | Δ vs base | RM-harmlessness (harmful prompts) | Δ vs base | refusal AdvBench ↑ | refusal XSTest unsafe ↑ | over-refusal XSTest safe ↓ | refusal AlpacaEval ↓ | s / response |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ms = (x: { mean: number; se: number }, d = 2) => `${x.mean.toFixed(d)} ± ${x.se.toFixed(d)}`;
  const sg = (x: { mean: number; se: number }, d = 2) => `${x.mean >= 0 ? '+' : ''}${x.mean.toFixed(d)} ± ${x.se.toFixed(d)}`;
  for (const m of r.methods) {
    lines.push(`| ${m.label} | ${ms(m.rm_helpfulness_on_helpfulness_prompts)} | ${m.family === 'base' ? '–' : sg(m.delta_vs_base.rm_helpfulness)} | ` +
      `${ms(m.rm_harmlessness_on_harmful_prompts)} | ${m.family === 'base' ? '–' : sg(m.delta_vs_base.rm_harmlessness)} | ${pct(m.refusal_advbench)} | ` +
      `${pct(m.refusal_xstest_unsafe)} | ${pct(m.over_refusal_xstest_safe)} | ${pct(m.refusal_alpaca)} | ${f2(m.mean_wall_s_per_response, 2)} |`);
  }
  const v = r.refusal_classifier.validation_on_human_labels;
  lines.push('');
  lines.push(`GenARM Pareto front (of the weight settings): ${r.front.genarm_pareto.join(', ')}.`);
  lines.push('');
  lines.push(`Refusal classifier against the ${v.n} human-labelled XSTest v2 completions (refusal = full or partial): ` +
    `extended rule accuracy ${v.extended.accuracy}, precision ${v.extended.precision}, recall ${v.extended.recall_full_or_partial} ` +
    `(full refusals only: ${v.extended.recall_full_refusals}); the paper's string match alone: accuracy ${v.xstest.accuracy}, precision ${v.xstest.precision}, recall ${v.xstest.recall_full_or_partial}.`);
  return lines.join('\n');
}

/** Base + 2 ARMs fused vs separate vs base, from bench/fused.ts results (median step ratios). */
function fusedTable(paths: string[]): string {
  const lines = ['| backend | fused | separate | fused, base row only | download fused / base | same-seed tokens fused vs separate |',
    '|---|---:|---:|---:|---:|---:|'];
  const sources: string[] = [];
  for (const path of paths) {
    const r = JSON.parse(readFileSync(path, 'utf8'));
    sources.push(`\`${r.command}\` (${r.machine.date.slice(0, 10)})`);
    for (const t of r.summary) {
      const row = (id: string) => t.rows.find((x: { config: string }) => x.config === id);
      const backend = `${t.backend === 'wasm' ? 'Chromium WASM' : 'Node CPU'} ${t.dtype}, ${t.threads} thread${t.threads > 1 ? 's' : ''}`;
      lines.push(`| ${backend} | **${f2(t.median_fused_x_base, 2)}×** | ${f2(t.median_separate_x_base, 2)}× | ${f2(row('fused-1')?.median_x_base, 2)}× | ` +
        `${f2(t.download_fused_x_base, 3)} (${f2(row('base')?.download_mb, 0)} → ${f2(row('fused')?.download_mb, 0)} MB) | ${t.fused_vs_separate?.tokens_identical_prefix ?? '–'} |`);
    }
  }
  return `Runs: ${sources.join('; ')}. Ratios of the median step to the base alone's, same run.\n\n${lines.join('\n')}`;
}

function splice(doc: string, key: string, body: string): string {
  const re = new RegExp(`(<!-- ${key}:start -->)[\\s\\S]*?(<!-- ${key}:end -->)`);
  if (!re.test(doc)) throw new Error(`${args.doc} has no <!-- ${key}:start --> / <!-- ${key}:end --> markers`);
  return doc.replace(re, `$1\n${body}\n$2`);
}

let doc = readFileSync(args.doc!, 'utf8');
if (existsSync(args.bench!)) doc = splice(doc, 'speed', speedTable(args.bench!));
if (existsSync(args.eval!)) doc = splice(doc, 'alignment', alignmentTable(args.eval!));
const fusedFiles = args.fused!.split(',').filter((f) => existsSync(f));
if (fusedFiles.length) doc = splice(doc, 'fused', fusedTable(fusedFiles));
writeFileSync(args.doc!, doc);
console.log(`updated ${args.doc}`);
