"""An exact interpolation of two LoRA artefacts of one base: the adapter whose weight change is
(1 - t) * ΔW_a + t * ΔW_b for every adapted matrix, with ΔW = (alpha / r) * B @ A.

Stacking the ranks makes it exact rather than a mix of A and B factors (which would add cross
terms B_a A_b): A = [A_a; A_b] (2r x in), B = [(1 - t) B_a, t B_b] (out x 2r), and alpha doubles
so alpha / r, the scale PEFT applies, stays the same. Meant for two fine-tunes on one trajectory
(b trained from a, as arm-harmlessness-v7 from v6): weight-space interpolation between them
trades what each learned (see the README's Results for what it measured).
  python -m genarm.soup --a arm-harmlessness-v6 --b arm-harmlessness-v7 --t 0.5 --name NAME"""
import argparse
import json

import torch
from safetensors.torch import load_file, save_file

from .paths import ARTEFACTS


def soup(a: str, b: str, t: float, name: str) -> dict:
    if not 0.0 <= t <= 1.0:
        raise SystemExit(f"--t must be in [0, 1], got {t}")
    meta_a = json.loads((ARTEFACTS / f"{a}.json").read_text())
    meta_b = json.loads((ARTEFACTS / f"{b}.json").read_text())
    for k in ("kind", "objective"):
        if meta_a[k] != meta_b[k]:
            raise SystemExit(f"{a} and {b} differ in {k}: {meta_a[k]} vs {meta_b[k]}")
    la, lb = meta_a["lora"], meta_b["lora"]
    if not la or not lb or la["lora_alpha"] / la["lora_rank"] != lb["lora_alpha"] / lb["lora_rank"]:
        raise SystemExit(f"{a} and {b} must both be LoRA artefacts with the same alpha/r: {la} vs {lb}")
    ta, tb = load_file(ARTEFACTS / f"{a}.safetensors"), load_file(ARTEFACTS / f"{b}.safetensors")
    if set(ta) != set(tb):
        raise SystemExit(f"{a} and {b} adapt different matrices: {sorted(set(ta) ^ set(tb))[:4]}")
    out: dict[str, torch.Tensor] = {}
    for k in ta:
        if k.endswith(".lora_A"):  # [r, in]
            out[k] = torch.cat([ta[k], tb[k]], 0).contiguous()
        elif k.endswith(".lora_B"):  # [out, r]
            out[k] = torch.cat([(1 - t) * ta[k], t * tb[k]], 1).contiguous()
        else:
            raise SystemExit(f"{k}: only LoRA A/B tensors can be interpolated")
    rank = la["lora_rank"] + lb["lora_rank"]
    lora = dict(lb, lora_rank=rank, lora_alpha=la["lora_alpha"] / la["lora_rank"] * rank)
    meta = {"kind": meta_b["kind"], "objective": meta_b["objective"], "beta": meta_b.get("beta"),
            "lora": lora, "full_top": 0, "soup": {"a": a, "b": b, "t": t},
            "data": f"soup of {meta_a['data']} and {meta_b['data']}"}
    save_file(out, ARTEFACTS / f"{name}.safetensors")
    (ARTEFACTS / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"[soup] {name} = {1 - t:g} x {a} + {t:g} x {b} (rank {rank}, {len(out) // 2} matrices)")
    return meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--t", type=float, default=0.5, help="weight of b (0: a, 1: b)")
    ap.add_argument("--name", required=True)
    a = ap.parse_args(argv)
    soup(a.a, a.b, a.t, a.name)


if __name__ == "__main__":
    main()
