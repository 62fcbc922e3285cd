// Command-line generation under Node (onnxruntime-node, CPU):
//   npm run generate -- --prompt TEXT --helpfulness A --harmlessness B --seed S --max-tokens N
//     [--temperature T] [--repetition-penalty X] [--no-repeat-ngram N]
//     [--decoder genarm|base|args|bon] [--suite smollm2|tiny|smollm2-360m-hub|smollm2-1.7b-hub] [--dtype fp32|q4|q8] [--json]
//     [--hub URL] [--hub-repo OWNER/NAME[@REV] --hub-arms SUITE]   (weak-to-strong: src/engine/hub.ts)
import { parseArgs } from 'node:util';
import type { Decoder, Dtype, GenerateSettings, GenerationResult } from '../engine/types';
import { loadNodeEngine } from '../engine/node';
import { OBJECTIVES } from '../engine/manifest';
import { adHocHubSuite, DEFAULT_HUB, HUB_SUITES, type HubSuiteDef } from '../engine/hub';

const USAGE = `usage: npm run generate -- --prompt TEXT [options]
  --helpfulness A      weight of the helpfulness ARM (default 0)
  --harmlessness B     weight of the harmlessness ARM (default 0)
  --decoder D          genarm | base | args | bon (default genarm)
  --seed S             PRNG seed (default 0)
  --max-tokens N       (default 128)
  --temperature T      0 = greedy (default 1, the paper's setting)
  --top-k K            0 = off (default 0)     --top-p P   1 = off (default 1)
  --repetition-penalty X  transformers.js repetition penalty on the guided scores, over prompt + answer:
                       > 1 penalises seen tokens (default 1 = off, the paper's setting; also in greedy runs)
  --no-repeat-ngram N  no n-gram of size N occurs twice in prompt + answer (default 0 = off)
  --stop STR           stop string (repeatable)
  --args-k K --args-w W  ARGS candidates and reward weight (default 10, 1.0)
  --bon-n N            Best-of-N samples (default 4)
  --suite ID           smollm2 | tiny, or a hub suite: ${HUB_SUITES.map((h) => h.id).join(' | ')} (default smollm2)
  --hub URL            the hub a hub suite's base comes from (default ${DEFAULT_HUB})
  --hub-repo R         a hub suite for any transformers.js repo OWNER/NAME[@REV] (its id: hub:OWNER/NAME)
  --hub-arms SUITE     the suite whose ARMs guide --hub-repo (default: the manifest's default suite)
  --dtype D            fp32 | q4 | q8 (default: manifest.preferred.node)
  --models DIR         folder with manifest.json (default public/models)
  --threads N          onnxruntime threads (default: all cores)
  --path P             auto | fused | separate: base + ARMs as rows of one fused graph, or one graph each (default auto)
  --score-arms         run weight-0 ARMs in lockstep (default: score them after, untimed)
  --json               print JSON: text, backend, ms_per_token, tokens[{text, logprob_base, rewards}]`;

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      prompt: { type: 'string' },
      helpfulness: { type: 'string' },
      harmlessness: { type: 'string' },
      decoder: { type: 'string', default: 'genarm' },
      seed: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      'no-repeat-ngram': { type: 'string' },
      stop: { type: 'string', multiple: true },
      'args-k': { type: 'string' },
      'args-w': { type: 'string' },
      'bon-n': { type: 'string' },
      suite: { type: 'string', default: 'smollm2' },
      hub: { type: 'string', default: DEFAULT_HUB },
      'hub-repo': { type: 'string' },
      'hub-arms': { type: 'string' },
      dtype: { type: 'string' },
      models: { type: 'string', default: 'public/models' },
      threads: { type: 'string' },
      path: { type: 'string', default: 'auto' },
      'score-arms': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || values.prompt === undefined) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const decoder = values.decoder as Decoder;
  if (!['genarm', 'base', 'args', 'bon'].includes(decoder)) throw new Error(`--decoder must be genarm, base, args or bon`);
  const dtype = values.dtype as Dtype | undefined;
  if (dtype && !['fp32', 'q4', 'q8', 'fp16', 'q4f16'].includes(dtype)) throw new Error(`--dtype must be fp32, q4 or q8`);

  const path = values.path as 'auto' | 'fused' | 'separate';
  if (!['auto', 'fused', 'separate'].includes(path)) throw new Error(`--path must be auto, fused or separate`);

  // a hub suite (weak-to-strong): the base from the hub, the ARMs from --models
  const hubDef: HubSuiteDef | undefined = values['hub-repo'] ? adHocHubSuite(values['hub-repo'], values['hub-arms'])
    : HUB_SUITES.find((h) => h.id === values.suite);
  const engine = await loadNodeEngine({
    modelsDir: values.models,
    path,
    suite: hubDef?.id ?? values.suite!,
    ...(hubDef ? { hub: { suite: hubDef, endpoint: values.hub } } : {}),
    dtype,
    threads: values.threads ? num(values.threads, 'threads', 1) : undefined,
  });
  const settings: GenerateSettings = {
    prompt: values.prompt,
    weights: { helpfulness: num(values.helpfulness, 'helpfulness', 0), harmlessness: num(values.harmlessness, 'harmlessness', 0) },
    decoder,
    temperature: num(values.temperature, 'temperature', 1),
    top_k: num(values['top-k'], 'top-k', 0),
    top_p: num(values['top-p'], 'top-p', 1),
    // the engine rejects a penalty <= 0 and a non-integer or negative n-gram size
    repetition_penalty: num(values['repetition-penalty'], 'repetition-penalty', 1),
    no_repeat_ngram_size: num(values['no-repeat-ngram'], 'no-repeat-ngram', 0),
    seed: num(values.seed, 'seed', 0),
    max_tokens: num(values['max-tokens'], 'max-tokens', 128),
    stop: values.stop,
    args_k: num(values['args-k'], 'args-k', 10),
    args_w: num(values['args-w'], 'args-w', 1.0),
    bon_n: num(values['bon-n'], 'bon-n', 4),
    score_arms: values['score-arms'],
  };
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const result = await engine.generate(settings, { signal: controller.signal, rewardsAfter: true });
  await engine.dispose();
  if (values.json) process.stdout.write(JSON.stringify(toJson(result), null, 1) + '\n');
  else printText(result);
  return 0;
}

function toJson(r: GenerationResult) {
  return {
    text: r.text,
    backend: r.backend.backend,
    dtype: r.backend.dtype,
    path: r.backend.path,
    backend_reason: r.backend.reason,
    decoder: r.settings.decoder,
    ms_per_token: round(r.ms_per_token, 3),
    ttft_ms: round(r.ttft_ms, 3),
    tokens_per_s: round(r.tokens_per_s, 3),
    finish_reason: r.finish_reason,
    prompt_tokens: r.prompt_tokens,
    prompt_truncated: r.prompt_truncated,
    ...(r.rm_scores ? { rm_scores: r.rm_scores } : {}),
    settings: r.settings,
    tokens: r.tokens.map((t) => ({
      id: t.id,
      text: t.text,
      logprob_base: t.logprob_base,
      rewards: Object.fromEntries(OBJECTIVES.filter((o) => t.rewards[o] !== undefined).map((o) => [o, t.rewards[o]])),
      shifts: t.shifts,
      p_guided: t.p_guided,
      p_base: t.p_base,
      ms: round(t.ms, 3),
      ...(t.rm_rewards ? { rm_rewards: t.rm_rewards } : {}),
    })),
  };
}

function printText(r: GenerationResult): void {
  process.stdout.write(r.text + '\n');
  const rm = r.rm_scores ? `, RM scores ${JSON.stringify(r.rm_scores)}` : '';
  console.error(
    `\n[${r.settings.decoder} on ${r.backend.backend}/${r.backend.dtype}${r.backend.path === 'fused' ? ' fused' : ''}: ${r.tokens.length} tokens (${r.finish_reason}), ` +
      `${r.ms_per_token.toFixed(1)} ms/token, first token ${r.ttft_ms.toFixed(0)} ms${rm}]`,
  );
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  },
);
