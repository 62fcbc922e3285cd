#!/usr/bin/env bash
# Train your own ARM on a JSON-lines file of preference pairs (training/genarm/train_arm.py):
#   npm run train-arm -- --pairs my.jsonl --name concise
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALLER="${INIT_CWD:-$PWD}"  # npm runs scripts from the package root; INIT_CWD is where it was called
source "$ROOT/scripts/python-env.sh"
args=()
prev=""
for a in "$@"; do
  # relative --pairs / --out paths are the caller's
  if [[ "$prev" == "--pairs" || "$prev" == "--out" ]] && [[ "$a" != /* ]]; then args+=("$CALLER/$a"); else args+=("$a"); fi
  prev="$a"
done
cd "$ROOT/training"
exec "$PY" -m genarm.train_arm "${args[@]}"
