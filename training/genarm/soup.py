"""An exact interpolation of two LoRA artefacts of one base: the adapter whose weight change is
(1 - t) * ΔW_a + t * ΔW_b for every adapted matrix, with ΔW = (alpha / r) * B @ A.

Stacking the ranks makes it exact rather than a mix of A and B factors (which would add cross
terms B_a A_b): A = [A_a; A_b] (2r x in), B = [(1 - t) B_a, t B_b] (out x 2r), and alpha doubles
so alpha / r, the scale PEFT applies, stays the same. Meant for two fine-tunes on one trajectory
(b trained from a, as arm-harmlessness-v7 from v6): weight-space interpolation between them
trades what each learned (see the README's Results for what it measured).

--rank r keeps the soup's best rank-r approximation instead (per matrix, the top r singular
directions of (1 - t) ΔW_a + t ΔW_b, by Eckart-Young), so it fits a graph built for rank r; the
relative Frobenius error of each truncated ΔW is written to the artefact's json.
  python -m genarm.soup --a arm-harmlessness-v6 --b arm-harmlessness-v7 --t 0.5 [--rank 8] --name NAME"""
import argparse
import json

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .paths import ARTEFACTS


def truncate(A: torch.Tensor, B: torch.Tensor, r: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The best rank-r factors of B @ A ([out, R] @ [R, in]) and the relative Frobenius error.
    Through QR of both factors, so only an R x R core is decomposed."""
    qb, rb = torch.linalg.qr(B.double())
    qa, ra = torch.linalg.qr(A.double().T)
    u, s, vh = torch.linalg.svd(rb @ ra.T)
    err = float((s[r:].square().sum() / s.square().sum()).sqrt())
    root = s[:r].sqrt()
    return (root[:, None] * (vh[:r] @ qa.T)).float(), ((qb @ u[:, :r]) * root).float(), err


def soup(a: str, b: str, t: float, name: str, rank: int | None = None) -> dict:
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
    errors: dict[str, float] = {}
    if rank is not None:
        for k in [k for k in out if k.endswith(".lora_A")]:
            kb = k[:-len("lora_A")] + "lora_B"
            out[k], out[kb], errors[k[:-len(".lora_A")]] = truncate(out[k], out[kb], rank)
    rank = rank or la["lora_rank"] + lb["lora_rank"]
    lora = dict(lb, lora_rank=rank, lora_alpha=la["lora_alpha"] / la["lora_rank"] * rank)
    meta = {"kind": meta_b["kind"], "objective": meta_b["objective"], "beta": meta_b.get("beta"),
            "lora": lora, "full_top": 0, "soup": {"a": a, "b": b, "t": t} | ({"truncation_rel_error": errors} if errors else {}),
            "data": f"soup of {meta_a['data']} and {meta_b['data']}"}
    save_file(out, ARTEFACTS / f"{name}.safetensors")
    (ARTEFACTS / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    worst = f", rank-{rank} truncation error mean {np.mean(list(errors.values())):.4f} max {max(errors.values()):.4f}" if errors else ""
    print(f"[soup] {name} = {1 - t:g} x {a} + {t:g} x {b} (rank {rank}, {len(out) // 2} matrices{worst})")
    return meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--t", type=float, default=0.5, help="weight of b (0: a, 1: b)")
    ap.add_argument("--rank", type=int, default=None, help="keep the best rank-r approximation (default: exact, ranks stacked)")
    ap.add_argument("--name", required=True)
    a = ap.parse_args(argv)
    soup(a.a, a.b, a.t, a.name, a.rank)


if __name__ == "__main__":
    main()
