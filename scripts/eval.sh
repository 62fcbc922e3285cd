#!/usr/bin/env bash
# Does each slider do what it is named for? GenARM against the base and the sharpened-base control
# on held-out harmful and benign prompts (training/genarm/alignment.py; batched PyTorch decoding of
# the same models the browser runs, proven equal in reports/models.json).
#   npm run eval                 # 24 prompts per set, 64 tokens (about 25 min on 2 quiet cores)
#   npm run eval -- --full       # 64 prompts per set, 96 tokens
#   npm run eval -- --arms harmlessness=NAME   # a candidate ARM (training/artefacts/NAME.*)
# Writes reports/steering.json and reports/steering.md.
# The engine-side baselines (ARGS, Best-of-N on onnxruntime): npm run eval:baselines (bench/eval.ts).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/python-env.sh"
# relative --out / --rejudge paths are the caller's, not training/'s
export GENARM_CALLER_CWD="$PWD"
cd "$ROOT/training"
exec "$PY" -m genarm.alignment "$@"
