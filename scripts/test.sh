#!/usr/bin/env bash
# Every test of the project, in the order that fails fastest. Builds missing model files first.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }
source scripts/node-env.sh
if ! command -v chromium >/dev/null 2>&1; then
  step "installing Debian's chromium for the browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || {
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
step "lint: ruff (training/ruff.toml), eslint (eslint.config.js)"
source scripts/python-env.sh
"$PY" -m ruff check training
npx eslint .
step "model files (idempotent build)"
bash scripts/models.sh
step "python: model pipeline, data, training, parity"
.venv/bin/python -m pytest -q training/tests
step "typescript: typecheck"
npx tsc -p tsconfig.json --noEmit
step "typescript: unit tests (vitest, engine under Node)"
npx vitest run
step "browser: Playwright e2e on the production build (Chromium: wasm + webgpu projects)"
CI=1 npx playwright test
step "all tests passed"
