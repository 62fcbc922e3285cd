#!/usr/bin/env bash
# Alignment evaluation on held-out prompts (issue 6): GenARM weight grid, ARGS and
# Best-of-N, scored by the independent trajectory RMs and a refusal classifier.
#   npm run eval                 # default: 8 prompts per set, 48 tokens (17 min on 2 quiet cores)
#   npm run eval -- --full       # 64 prompts per set, 128 tokens, larger grid
# Writes reports/alignment.json and reports/alignment-front.svg.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if [ ! -f public/models/manifest.json ]; then
  echo "eval: public/models/manifest.json is missing: run npm run models first" >&2
  exit 1
fi
if [ ! -f .cache/data/xstest_eval_prompts.json ] || [ ! -f .cache/data/helpfulness.heldout.jsonl ]; then
  echo "eval: preparing the held-out data (python -m genarm.data)" >&2
  (cd training && ../.venv/bin/python -m genarm.data)
fi
exec npx tsx bench/eval.ts "$@"
