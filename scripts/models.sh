#!/usr/bin/env bash
# Build every missing or stale model file into public/models/ (idempotent: a second run does no work).
#   npm run models            # tiny test suite + SmolLM2 base + every trained ARM/RM
#   npm run models -- --tiny  # tiny test suite only
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/python-env.sh"
cd "$ROOT/training"
exec "$PY" -m genarm.build "$@" 2> >(grep -v -E 'onnxruntime.quantization|root \[(INFO|WARNING)\]|^\s*$' >&2)
