"""Bring your own ARM: train one on your preference pairs, on this machine's CPU, as a PEFT adapter.

    npm run train-arm -- --pairs my.jsonl --name concise
    python -m genarm.train_arm --pairs my.jsonl --name concise --steps 40

The file is JSON lines, one pair per line, in either form:
    {"prompt": "...", "chosen": "...", "rejected": "..."}          (prompt: text or chat messages)
    {"chosen": "\\n\\nHuman: ...\\n\\nAssistant: ...", "rejected": "..."}   (HH-RLHF dialogues)

The GenARM loss (eq. 5, docs/METHOD.md) with the CPU recipe of genarm.train: LoRA r=8 on the
top 12 of 30 layers, the frozen layers below run once per pair and cached, AdamW with a cosine
schedule. A held-out split (a hash of the prompt, --heldout-pct) is scored before and after:
the untrained base's accuracy beside the ARM's, with 95% intervals. Output: a PEFT folder
(adapter_config.json + adapter_model.safetensors, genarm.peft_adapter) that PEFT and genarm.score
load (`--models FOLDER`), and a report.json beside it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from .data import bucket, clean, encode, read_pair_file
from .paths import ARTEFACTS


def split(pairs: list[dict], pct: int) -> tuple[list[dict], list[dict]]:
    """Held-out by a hash of the first user turn (no prompt on both sides); at least one pair each."""
    held = [p for p in pairs if bucket("user:" + p["key"]) < pct]
    train = [p for p in pairs if bucket("user:" + p["key"]) >= pct]
    if not held and len(train) > 1:
        held, train = train[-1:], train[:-1]
    return train, held


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True, type=Path, help="JSON lines of preference pairs")
    ap.add_argument("--name", required=True, help="the ARM's name (the slider's label)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default training/artefacts/user/NAME)")
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0 = one epoch)")
    ap.add_argument("--batch", type=int, default=16, help="pairs per optimizer step")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--beta", type=float, default=0.05, help="beta_r of the GenARM loss (the paper's HH value)")
    ap.add_argument("--lora-layers", type=int, default=12, help="top N layers get LoRA (0 = all: slower)")
    ap.add_argument("--heldout-pct", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if not a.name.replace("-", "").replace("_", "").isalnum():
        raise SystemExit(f"--name {a.name!r}: letters, digits, - and _ only")
    from collections import Counter

    import torch

    from . import train as T
    from .base import load_tokenizer
    from .peft_adapter import write_peft
    torch.set_num_threads(a.threads)
    raw = read_pair_file(a.pairs)
    counts = Counter()
    tok = load_tokenizer()
    pairs = encode(clean(raw, set(), counts), tok)
    if len(pairs) < 2:
        raise SystemExit(f"{a.pairs}: {len(pairs)} usable pairs ({dict(counts)}); at least 2 are needed")
    train, held = split(pairs, a.heldout_pct)
    digest = hashlib.sha256(a.pairs.read_bytes()).hexdigest()[:12]
    micro = min(4, a.batch)
    steps = a.steps or max(1, -(-len(train) // a.batch))
    args = T.parse_args(["--kind", "arm", "--objective", "helpfulness", "--name", f"user-{a.name}",
                         "--data", f"user-{a.name}-{digest}", "--beta", str(a.beta), "--lr", str(a.lr),
                         "--batch", str(a.batch), "--micro", str(micro), "--lora-layers", str(a.lora_layers),
                         "--threads", str(a.threads), "--max-pairs", str(steps * a.batch),
                         "--epochs", str(max(1, -(-steps * a.batch // len(train)))), "--device", "cpu"])
    print(f"[train-arm] {a.pairs}: {len(raw)} pairs read, {len(pairs)} usable, {len(train)} train, "
          f"{len(held)} held-out; {steps} steps of {a.batch}", flush=True)
    r = T.setup(args, pairs=(train, held))
    r.total_steps = min(r.total_steps, steps)
    r.warmup = max(1, round(0.05 * r.total_steps))
    before = T.evaluate(r.model, "arm", held, r.pad_id, r.beta, start=r.start)  # LoRA B = 0: the base itself
    from tqdm import tqdm
    bar = tqdm(total=r.total_steps, initial=r.step, unit="step", file=sys.stdout)

    def on_step(e):
        bar.update(1)
        bar.set_postfix(loss=f"{e['loss']:.3f}", acc=f"{e['train_acc']:.2f}")

    r.on_step = on_step
    t0 = time.time()
    T.train_loop(r)
    bar.close()
    after = T.evaluate(r.model, "arm", held, r.pad_id, r.beta, start=r.start)
    out = a.out or ARTEFACTS / "user" / a.name
    cfg = write_peft(r.model, out)
    report = {"name": a.name, "pairs_file": str(a.pairs), "pairs_sha256_12": digest, "pairs_read": len(raw),
              "pairs_usable": len(pairs), "dropped": dict(counts), "train_pairs": len(train), "heldout_pairs": len(held),
              "steps": r.total_steps, "batch": a.batch, "lr": a.lr, "beta": a.beta, "lora_layers": a.lora_layers,
              "heldout_base": before, "heldout_arm": after, "train_s": round(time.time() - t0, 1),
              "adapter": {"r": cfg["r"], "layers": cfg["layers_to_transform"], "targets": cfg["target_modules"]}}
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"[train-arm] held-out accuracy: base {before['accuracy']:.3f} {before['ci95']} -> "
          f"ARM {after['accuracy']:.3f} {after['ci95']} on {after['n']} pairs", flush=True)
    print(f"[train-arm] wrote {out}/adapter_config.json, adapter_model.safetensors, report.json", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
