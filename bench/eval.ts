// npm run eval [-- --full] [--n N] [--tokens N] [--suite smollm2] [--dtype q8|fp32|q4] [--rm-dtype D] [--out PATH]
//
// Alignment quality on held-out prompts (docs/METHOD.md, "Evaluation"). For each weight setting of the two
// ARMs (helpfulness, harmlessness), and for ARGS and Best-of-N at matched compute:
//  - mean rewards from the independent trajectory-level reward models (rm-helpfulness,
//    rm-harmlessness), never the ARMs that guided;
//  - refusal rate (string-match classifier, src/eval/refusal.ts) on AdvBench, on the
//    XSTest unsafe prompts and on the XSTest safe prompts (over-refusal).
// Prompt sets: AlpacaEval instructions and held-out single-turn HH helpful prompts
// (helpfulness), AdvBench behaviours and XSTest unsafe prompts (harm), XSTest safe
// prompts (over-refusal). Sampling at temperature 1 (the paper's setting) with a fixed
// seed per prompt, the same seed for every method (common random numbers); ARGS is
// greedy by definition. Writes reports/alignment.json and reports/alignment-front.svg.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine';
import { createNodePlatform } from '../src/engine/node';
import { CausalLM } from '../src/engine/causal-lm';
import { chooseDtype, variantFile } from '../src/engine/manifest';
import { rmPrefill, rmScore, type RmPrompt } from '../src/engine/decoders/score';
import { disposeCache } from '../src/engine/kv-cache';
import type { Decoder, Dtype, GenerateSettings, Objective } from '../src/engine/types';
import { classifyRefusal, DECLINE_PHRASES, EXTRA_PREFIXES, isRefusal, OPENING_WINDOW, XSTEST_PREFIXES } from '../src/eval/refusal';
import { csvRecords } from '../src/eval/csv';
import { meanSE, pairedDiff, paretoFront, rate, round, spreadSample, type MeanSE } from '../src/eval/stats';
import { scatterSvg } from '../src/eval/svg';
import { loadAverage, machineInfo } from './common';

const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    n: { type: 'string' },
    tokens: { type: 'string' },
    suite: { type: 'string', default: 'smollm2' },
    models: { type: 'string', default: 'public/models' },
    dtype: { type: 'string' },
    'rm-dtype': { type: 'string' },
    path: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'reports/alignment.json' },
    data: { type: 'string', default: '../shared/data' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(`usage: npm run eval -- [--full] [--n PROMPTS_PER_SET] [--tokens N] [--suite smollm2] [--dtype D] [--rm-dtype D]
  [--path auto|fused|separate] [--out reports/alignment.json] [--data ../shared/data]
defaults: 8 prompts per set, 48 new tokens, the weight grid below; --full: 64 per set, 128 tokens, a larger grid`);
  process.exit(0);
}

const full = args.full!;
// 8 per set by default: with 8 methods a prompt costs ~25 s on 2 quiet cores (ARGS alone
// ~8 s), so 40 prompts take 16.8 min (measured); --n 10 took 31.8 min under load
const N = Number(args.n ?? (full ? 64 : 8));
const MAX_TOKENS = Number(args.tokens ?? (full ? 128 : 48));
const SUITE = args.suite!;
const DATA = resolve(args.data!);
const started = performance.now();
const secs = () => (performance.now() - started) / 1000;
const log = (m: string) => console.log(`[eval ${secs().toFixed(0)} s] ${m}`);

// ---------------------------------------------------------------- methods
interface Method {
  id: string;
  label: string;
  family: 'base' | 'GenARM' | 'ARGS' | 'Best-of-N';
  decoder: Decoder;
  weights: Partial<Record<Objective, number>>;
  extra?: Partial<GenerateSettings>;
}

const GRID: [number, number][] = [[0, 0], [1, 0], [0, 1], [0.2, 4], [0.8, 1], [2, 2]];
const FULL_GRID: [number, number][] = [[0.5, 0.5], [1, 1], [2, 0], [0, 2], [4, 0.2], [0, 4], [4, 4]];
const genarm = ([h, s]: [number, number]): Method => ({
  id: `genarm-${h}-${s}`,
  label: h === 0 && s === 0 ? 'base (0, 0)' : `GenARM (${h}, ${s})`,
  family: h === 0 && s === 0 ? 'base' : 'GenARM',
  decoder: 'genarm',
  weights: { helpfulness: h, harmlessness: s },
});
// matched compute: GenARM with 2 ARMs runs 3 model forwards per token. ARGS k=10 with
// both RMs also runs 3 (base + one 10-row step per RM); Best-of-3 samples 3 responses
// (3 base forwards per token) and scores each once per RM.
const METHODS: Method[] = [
  ...(full ? [...GRID, ...FULL_GRID] : GRID).map(genarm),
  { id: 'args-1-1', label: 'ARGS k=10 (1, 1)', family: 'ARGS', decoder: 'args', weights: { helpfulness: 1, harmlessness: 1 }, extra: { args_k: 10, args_w: 1 } },
  { id: 'bon3-1-1', label: 'Best-of-3 (1, 1)', family: 'Best-of-N', decoder: 'bon', weights: { helpfulness: 1, harmlessness: 1 }, extra: { bon_n: 3 } },
  ...(full
    ? ([
      { id: 'args-1-0', label: 'ARGS k=10 (1, 0)', family: 'ARGS', decoder: 'args', weights: { helpfulness: 1, harmlessness: 0 }, extra: { args_k: 10, args_w: 1 } },
      { id: 'args-0-1', label: 'ARGS k=10 (0, 1)', family: 'ARGS', decoder: 'args', weights: { helpfulness: 0, harmlessness: 1 }, extra: { args_k: 10, args_w: 1 } },
      { id: 'bon3-1-0', label: 'Best-of-3 (1, 0)', family: 'Best-of-N', decoder: 'bon', weights: { helpfulness: 1, harmlessness: 0 }, extra: { bon_n: 3 } },
      { id: 'bon3-0-1', label: 'Best-of-3 (0, 1)', family: 'Best-of-N', decoder: 'bon', weights: { helpfulness: 0, harmlessness: 1 }, extra: { bon_n: 3 } },
    ] as Method[])
    : []),
];

// ---------------------------------------------------------------- prompt sets
interface PromptSet {
  id: string;
  label: string;
  role: 'helpfulness' | 'harm' | 'over-refusal';
  source: string;
  prompts: string[];
}

function userTurnOf(ids: number[], start: number[], end: number): string | null {
  // single-turn dialogues only: exactly one "<|im_start|>user\n"
  const at: number[] = [];
  for (let i = 0; i + start.length <= ids.length; i++) if (start.every((t, j) => ids[i + j] === t)) at.push(i);
  if (at.length !== 1) return null;
  const from = at[0] + start.length;
  const to = ids.indexOf(end, from);
  return to < 0 ? null : String(to - from) + ':' + from;
}

function loadSets(tok: Engine['tokenizer']): PromptSet[] {
  const alpaca = JSON.parse(readFileSync(`${DATA}/eval/alpaca_eval_805.json`, 'utf8')) as { instruction: string }[];
  const advbench = csvRecords(readFileSync(`${DATA}/eval/advbench_behaviors.csv`, 'utf8')).map((r) => r.Behavior).filter(Boolean);
  const xs = JSON.parse(readFileSync('.cache/data/xstest_eval_prompts.json', 'utf8')) as { prompt: string; unsafe: boolean }[];
  // held-out HH helpful dialogues: token ids of the chat-templated prompt; keep the single-turn ones, decode the user turn
  const start = tok.encode('<|im_start|>user\n');
  const end = tok.encode('<|im_end|>')[0];
  const hh: string[] = [];
  for (const line of readFileSync('.cache/data/helpfulness.heldout.jsonl', 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { prompt_ids: number[]; prompt_truncated?: boolean };
    if (rec.prompt_truncated) continue; // its first turns were cut: not a whole dialogue
    const ids = rec.prompt_ids;
    const span = userTurnOf(ids, start, end);
    if (!span) continue;
    const [len, from] = span.split(':').map(Number);
    const text = tok.decode(ids.slice(from, from + len)).trim();
    if (text) hh.push(text);
  }
  return [
    { id: 'alpaca', label: 'AlpacaEval', role: 'helpfulness', source: 'shared/data/eval/alpaca_eval_805.json (instruction), evenly spaced', prompts: spreadSample(alpaca.map((a) => a.instruction), N) },
    { id: 'hh-helpful', label: 'HH helpful (held out)', role: 'helpfulness', source: '.cache/data/helpfulness.heldout.jsonl, single-turn dialogues, user turn decoded', prompts: spreadSample(hh, N) },
    { id: 'advbench', label: 'AdvBench', role: 'harm', source: 'shared/data/eval/advbench_behaviors.csv (Behavior), evenly spaced', prompts: spreadSample(advbench, N) },
    { id: 'xstest-unsafe', label: 'XSTest unsafe', role: 'harm', source: '.cache/data/xstest_eval_prompts.json (unsafe: true; held out of training)', prompts: spreadSample(xs.filter((x) => x.unsafe).map((x) => x.prompt), N) },
    { id: 'xstest-safe', label: 'XSTest safe', role: 'over-refusal', source: '.cache/data/xstest_eval_prompts.json (unsafe: false; held out of training)', prompts: spreadSample(xs.filter((x) => !x.unsafe).map((x) => x.prompt), N) },
  ];
}

// ---------------------------------------------------------------- classifier validation
/** Agreement of the refusal rules with the human labels of the XSTest v2 completions. */
function validateClassifier() {
  const files = ['gpt4', 'llama2new', 'llama2orig', 'mistralguard', 'mistralinstruct'];
  const rows = files.flatMap((f): Record<string, string>[] => {
    try {
      return csvRecords(readFileSync(`${DATA}/xstest/${f}.csv`, 'utf8')).map((r) => ({ ...r, model: f }));
    } catch {
      return [];
    }
  }).filter((r) => r.final_label && r.completion !== undefined);
  const out: Record<string, unknown> = { source: 'shared/data/xstest/*.csv: XSTest v2 completions of 5 models with human final_label', n: rows.length };
  for (const rule of ['xstest', 'extended'] as const) {
    let tp = 0, fp = 0, fn = 0, tn = 0, fullHit = 0, fullN = 0;
    for (const r of rows) {
      const human = r.final_label.startsWith('2') || r.final_label.startsWith('3'); // full or partial refusal
      const pred = isRefusal(r.completion, rule);
      if (pred && human) tp++;
      else if (pred) fp++;
      else if (human) fn++;
      else tn++;
      if (r.final_label.startsWith('2')) {
        fullN++;
        if (pred) fullHit++;
      }
    }
    out[rule] = {
      accuracy: round((tp + tn) / rows.length, 3),
      precision: round(tp / (tp + fp), 3),
      recall_full_or_partial: round(tp / (tp + fn), 3),
      recall_full_refusals: round(fullHit / fullN, 3),
      confusion: { tp, fp, fn, tn },
    };
  }
  return out;
}

// ---------------------------------------------------------------- main
interface Response {
  set: string;
  prompt_index: number;
  method: string;
  seed: number;
  prompt: string;
  text: string;
  tokens: number;
  finish: string;
  rm: Partial<Record<Objective, number>>;
  refusal: boolean;
  refusal_xstest: boolean;
  matched: string | null;
  ms_per_token: number;
  wall_ms: number;
}

async function loadEvalRms(platform: ReturnType<typeof createNodePlatform>, engine: Engine, dtypeWanted?: Dtype) {
  const manifest = engine.manifest;
  const suite = manifest.suites[SUITE];
  const rms: Partial<Record<Objective, CausalLM>> = {};
  let dtype: Dtype = dtypeWanted ?? engine.dtype;
  for (const o of ['helpfulness', 'harmlessness'] as Objective[]) {
    const id = suite.rms[o];
    if (!id) throw new Error(`suite ${SUITE} has no ${o} RM: the evaluation needs both trajectory RMs`);
    const entry = manifest.models[id];
    dtype = chooseDtype([entry], [dtype, 'fp32', 'q8', 'q4']).dtype;
    const data = await platform.source.fetch(variantFile(entry, dtype), 'any', () => {});
    const session = await platform.createSession(data, entry, dtype, { kvOnDevice: false });
    rms[o] = new CausalLM(platform.ort, session, entry, platform.runner);
  }
  return { rms, dtype };
}

async function main() {
  const machine = machineInfo();
  log(`suite ${SUITE}: ${METHODS.length} methods x 5 prompt sets x ${N} prompts, ${MAX_TOKENS} new tokens, temperature 1`);
  log(`machine: ${machine.cpu_model}, ${machine.cores} cores, load average ${machine.load_average_at_start.join(' ')}`);
  const platform = createNodePlatform({ modelsDir: args.models });
  const engine = await Engine.load(platform, {
    suite: SUITE, dtype: args.dtype as Dtype | undefined, loadRms: true, warmup: true, path: args.path as 'auto' | 'fused' | 'separate',
  });
  log(`engine: ${engine.backend.backend}/${engine.dtype}: ${engine.backend.reason}`);
  // the evaluators: separate sessions of the trajectory RMs (not the ARMs that guide)
  const evalPlatform = createNodePlatform({ modelsDir: args.models });
  const { rms, dtype: rmDtype } = await loadEvalRms(evalPlatform, engine, args['rm-dtype'] as Dtype | undefined);
  log(`evaluator RMs loaded (${rmDtype})`);
  const tok = engine.tokenizer;
  const imEnd = tok.encode('<|im_end|>')[0];
  const sets = loadSets(tok);
  for (const s of sets) if (s.prompts.length < N) log(`note: ${s.id} has only ${s.prompts.length} prompts`);
  const validation = validateClassifier();
  log(`refusal classifier vs human XSTest labels: ${JSON.stringify({ xstest: (validation.xstest as { accuracy: number }).accuracy, extended: (validation.extended as { accuracy: number }).accuracy })} accuracy`);

  const responses: Response[] = [];
  const total = sets.reduce((a, s) => a + s.prompts.length, 0);
  let done = 0;
  for (const [si, set] of sets.entries()) {
    for (const [pi, prompt] of set.prompts.entries()) {
      const seed = 1000 * si + pi;
      const promptIds = tok.encodeChat(prompt);
      const rmPrompts: Partial<Record<Objective, RmPrompt>> = {};
      for (const o of Object.keys(rms) as Objective[]) rmPrompts[o] = await rmPrefill(platform.ort, rms[o]!, promptIds);
      const line: string[] = [];
      for (const m of METHODS) {
        const w0 = performance.now();
        const r = await engine.generate({
          prompt, weights: m.weights, decoder: m.decoder, temperature: 1, top_k: 0, top_p: 1, seed, max_tokens: MAX_TOKENS, score_arms: false, ...m.extra,
        });
        const wall = performance.now() - w0;
        if (r.prompt_truncated) log(`warning: prompt ${set.id}/${pi} was truncated`);
        // the RMs were trained on responses that end with <|im_end|> (cut at 96 tokens otherwise):
        // score a finished response with it, a length-cut one as it stands
        const ids = r.tokens.map((t) => t.id);
        if (r.finish_reason === 'eos') ids.push(imEnd);
        const rm: Partial<Record<Objective, number>> = {};
        for (const o of Object.keys(rms) as Objective[]) rm[o] = await rmScore(rms[o]!, rmPrompts[o]!, ids);
        const verdict = classifyRefusal(r.text);
        responses.push({
          set: set.id, prompt_index: pi, method: m.id, seed, prompt, text: r.text, tokens: r.tokens.length, finish: r.finish_reason, rm,
          refusal: verdict.refusal, refusal_xstest: isRefusal(r.text, 'xstest'), matched: verdict.matched, ms_per_token: round(r.ms_per_token, 2), wall_ms: round(wall, 0),
        });
        line.push(`${m.id} ${(wall / 1000).toFixed(1)}s${verdict.refusal ? ' R' : ''}`);
      }
      for (const p of Object.values(rmPrompts)) disposeCache(p!.cache);
      done++;
      const eta = (secs() / done) * (total - done);
      log(`${set.id} ${pi + 1}/${set.prompts.length} (${done}/${total}, ETA ${(eta / 60).toFixed(1)} min): ${line.join(', ')}`);
    }
  }
  await engine.dispose();
  for (const lm of Object.values(rms)) await lm!.session.release();

  // ------------------------------------------------------------ aggregation
  const of = (method: string, setIds: string[]) => responses.filter((r) => r.method === method && setIds.includes(r.set));
  const HELP = sets.filter((s) => s.role === 'helpfulness').map((s) => s.id);
  const HARM = sets.filter((s) => s.role === 'harm').map((s) => s.id);
  const ordered = (rs: Response[]) => [...rs].sort((a, b) => a.set.localeCompare(b.set) || a.prompt_index - b.prompt_index);
  const baseId = METHODS[0].id;
  const ms = (x: MeanSE) => ({ mean: round(x.mean, 4), se: round(x.se, 4), n: x.n });
  const rows = METHODS.map((m) => {
    const help = ordered(of(m.id, HELP));
    const harm = ordered(of(m.id, HARM));
    const baseHelp = ordered(of(baseId, HELP));
    const baseHarm = ordered(of(baseId, HARM));
    const perSet = Object.fromEntries(sets.map((s) => {
      const rs = of(m.id, [s.id]);
      return [s.id, {
        rm_helpfulness: ms(meanSE(rs.map((r) => r.rm.helpfulness!))),
        rm_harmlessness: ms(meanSE(rs.map((r) => r.rm.harmlessness!))),
        refusal_rate: ms(rate(rs.map((r) => r.refusal))),
        refusal_rate_xstest_rule: ms(rate(rs.map((r) => r.refusal_xstest))),
        mean_tokens: round(meanSE(rs.map((r) => r.tokens)).mean, 1),
        eos_rate: round(rate(rs.map((r) => r.finish === 'eos')).mean, 3),
      }];
    }));
    const all = responses.filter((r) => r.method === m.id);
    return {
      method: m.id,
      label: m.label,
      family: m.family,
      decoder: m.decoder,
      weights: m.weights,
      ...(m.extra ? { extra: m.extra } : {}),
      rm_helpfulness_on_helpfulness_prompts: ms(meanSE(help.map((r) => r.rm.helpfulness!))),
      rm_harmlessness_on_harmful_prompts: ms(meanSE(harm.map((r) => r.rm.harmlessness!))),
      delta_vs_base: {
        rm_helpfulness: ms(pairedDiff(help.map((r) => r.rm.helpfulness!), baseHelp.map((r) => r.rm.helpfulness!))),
        rm_harmlessness: ms(pairedDiff(harm.map((r) => r.rm.harmlessness!), baseHarm.map((r) => r.rm.harmlessness!))),
      },
      refusal_advbench: perSet.advbench.refusal_rate,
      refusal_xstest_unsafe: perSet['xstest-unsafe'].refusal_rate,
      over_refusal_xstest_safe: perSet['xstest-safe'].refusal_rate,
      refusal_alpaca: perSet.alpaca.refusal_rate,
      per_set: perSet,
      mean_ms_per_token: round(meanSE(all.map((r) => r.ms_per_token)).mean, 1),
      mean_wall_s_per_response: round(meanSE(all.map((r) => r.wall_ms / 1000)).mean, 2),
    };
  });

  // ------------------------------------------------------------ front plot
  const points = rows.map((r) => ({
    x: r.rm_helpfulness_on_helpfulness_prompts.mean, y: r.rm_harmlessness_on_harmful_prompts.mean,
    xErr: r.rm_helpfulness_on_helpfulness_prompts.se, yErr: r.rm_harmlessness_on_harmful_prompts.se,
    label: r.label.replace(/^GenARM /, ''), group: r.family,
  }));
  const genarmIdx = rows.map((r, i) => (r.family === 'GenARM' || r.family === 'base' ? i : -1)).filter((i) => i >= 0);
  const front = paretoFront(genarmIdx.map((i) => points[i])).map((k) => genarmIdx[k]);
  const svgPath = resolve(dirname(args.out!), 'alignment-front.svg');
  mkdirSync(dirname(resolve(args.out!)), { recursive: true });
  writeFileSync(svgPath, scatterSvg({
    title: 'Helpfulness vs harmlessness (independent trajectory RMs)',
    subtitle: `${SUITE}, ${engine.dtype}, ${N} prompts per set, ${MAX_TOKENS} tokens, T=1; labels = (helpfulness, harmlessness) weights; bars = ±1 SE`,
    xLabel: 'mean RM-helpfulness on AlpacaEval + HH helpful prompts',
    yLabel: 'mean RM-harmlessness on AdvBench + XSTest unsafe prompts',
    points, line: front, lineLabel: 'GenARM Pareto front',
  }));

  // ------------------------------------------------------------ spot check: 20 classified examples
  const pickFrom = (rs: Response[], k: number) => spreadSample(rs, Math.min(k, rs.length));
  const spotPool = responses.filter((r) => ['advbench', 'xstest-safe', 'xstest-unsafe'].includes(r.set));
  const spot = [...pickFrom(spotPool.filter((r) => r.refusal), 10), ...pickFrom(spotPool.filter((r) => !r.refusal), 20)]
    .slice(0, 20)
    .map((r) => ({ set: r.set, method: r.method, prompt: r.prompt, response: r.text.slice(0, 400), classified_refusal: r.refusal, matched: r.matched }));

  const wall = secs();
  const report = {
    created: new Date().toISOString(),
    command: `npm run eval${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    wall_s: round(wall, 0),
    machine: { ...machine, load_average_at_end: loadAverage() },
    settings: {
      suite: SUITE, dtype: engine.dtype, path: engine.path, evaluator_rm_dtype: rmDtype, backend: engine.backend.reason,
      prompts_per_set: N, max_new_tokens: MAX_TOKENS, temperature: 1, top_k: 0, top_p: 1,
      seeds: 'seed = 1000 * set index + prompt index, the same for every method (common random numbers); ARGS is greedy',
      rm_scoring: 'reward of the trajectory RM at the last response token; <|im_end|> appended when the model ended the response (as in RM training), not when it was cut at max tokens',
      front: { x: 'mean rm-helpfulness over the helpfulness prompts (AlpacaEval + HH helpful)', y: 'mean rm-harmlessness over the harmful prompts (AdvBench + XSTest unsafe)' },
      matched_compute: 'GenARM with 2 ARMs = 3 model forwards per token; ARGS k=10 with both RMs = base + one 10-row step per RM = 3 forwards per token; Best-of-3 = 3 base samples, each scored once per RM',
      caveat: 'ARGS and Best-of-N steer with the same trajectory RMs that score them here, so their RM means are optimistic; the refusal rates are independent of the RMs',
    },
    prompt_sets: sets.map((s) => ({ id: s.id, label: s.label, role: s.role, source: s.source, n: s.prompts.length })),
    refusal_classifier: {
      rule: 'extended (src/eval/refusal.ts): XSTest string match (starts with an apology/decline opener, Röttger et al. 2024) + more openers + decline phrases in the first ' +
        `${OPENING_WINDOW} characters; apostrophes normalised`,
      xstest_prefixes: XSTEST_PREFIXES, extra_prefixes: EXTRA_PREFIXES, decline_phrases: DECLINE_PHRASES,
      validation_on_human_labels: validation,
    },
    methods: rows,
    front: { points: rows.map((r, i) => ({ method: r.method, x: points[i].x, y: points[i].y })), genarm_pareto: front.map((i) => rows[i].method) },
    spot_check: spot,
    responses,
  };
  writeFileSync(resolve(args.out!), JSON.stringify(report, null, 1) + '\n');

  console.log('\nmethod | RM-help (help prompts) | RM-harm (harm prompts) | refusal AdvBench | refusal XSTest unsafe | over-refusal XSTest safe | ms/token');
  for (const r of rows) {
    const f = (x: { mean: number; se: number }) => `${x.mean.toFixed(3)} ± ${x.se.toFixed(3)}`;
    const p = (x: { mean: number }) => `${(100 * x.mean).toFixed(0)}%`;
    console.log(`${r.label} | ${f(r.rm_helpfulness_on_helpfulness_prompts)} | ${f(r.rm_harmlessness_on_harmful_prompts)} | ${p(r.refusal_advbench)} | ${p(r.refusal_xstest_unsafe)} | ${p(r.over_refusal_xstest_safe)} | ${r.mean_ms_per_token}`);
  }
  log(`wrote ${args.out} and ${svgPath} (wall ${(wall / 60).toFixed(1)} min)`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`eval failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
