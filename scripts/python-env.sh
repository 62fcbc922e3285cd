#!/usr/bin/env bash
# Create/refresh the pipeline's virtualenv (.venv) from training/requirements.lock.
# Sourced by the other scripts; a second run with an unchanged lock does nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK="$ROOT/training/requirements.lock"
STAMP="$VENV/.lock.sha256"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "[env] installing Python requirements into .venv ..."
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and alone, so nothing can pull a CUDA build in its place
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -r "$LOCK"
  echo "$want" > "$STAMP"
fi
export PY="$VENV/bin/python"
