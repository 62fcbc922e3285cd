#!/usr/bin/env bash
# Train the four reward models one after another (2 CPU cores: running them together is no faster).
# Resumable: rerun the same command and each run continues from its checkpoint or is skipped when done.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../.venv/bin/python}
ARM_PAIRS=${ARM_PAIRS:-1600}
RM_PAIRS=${RM_PAIRS:-1600}
run() { # name kind objective pairs
  if [ -f "artefacts/$1.safetensors" ]; then echo "[$1] done already"; return; fi
  $PY -m genarm.train --kind "$2" --objective "$3" --max-pairs "$4" --name "$1" 2>&1 | grep --line-buffered -v '^Loading weights' | tee -a "logs/$1.log"
}
run arm-helpfulness arm helpfulness "$ARM_PAIRS"
run arm-harmlessness arm harmlessness "$ARM_PAIRS"
run rm-helpfulness rm helpfulness "$RM_PAIRS"
run rm-harmlessness rm harmlessness "$RM_PAIRS"
