#!/usr/bin/env bash
# Install the npm dependencies from the lock file when node_modules is missing or stale.
# onnxruntime-node's postinstall would try to download GPU binaries: its CPU build is bundled.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  echo "[env] npm ci ..."
  (cd "$ROOT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)
fi
