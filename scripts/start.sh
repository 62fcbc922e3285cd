#!/usr/bin/env bash
# Start the app on a fresh machine: install, build any missing model files, serve the production build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
bash scripts/models.sh
npx vite build
echo "genarm-web: http://localhost:${PORT:-5173}/"
exec npx vite preview --host "${HOST:-127.0.0.1}" --port "${PORT:-5173}" --strictPort
