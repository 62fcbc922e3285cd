"""Collect the trained reward models' metrics into reports/reward_models.json and print a
markdown table for the README (ARM vs trajectory-level RM, per objective)."""
from __future__ import annotations

import json

from .paths import ARTEFACTS, REPORTS

PAPER = {"hh-rlhf 7B": {"arm": 0.776, "rm": 0.783}, "ultrafeedback 7B": {"arm": 0.751, "rm": 0.754}}


def collect() -> dict:
    counts = json.loads((REPORTS / "data_counts.json").read_text())
    rows = {}
    for f in sorted(ARTEFACTS.glob("*.json")):
        m = json.loads(f.read_text())
        if m.get("kind") not in ("arm", "rm"):
            continue  # not a model (e.g. the on-policy data's counts)
        rows[f.stem] = {k: m.get(k) for k in ("kind", "objective", "beta", "train_pairs", "steps", "epochs", "lr",
                                              "lora", "full_top", "data", "max_response_tokens", "precision", "device",
                                              "train_wall_s", "heldout", "heldout_added_sources", "heldout_own_cap",
                                              "heldout_by_source", "soup")
                    if k in m}
    rep = {"models": rows, "data": counts, "paper_reported_accuracy": PAPER,
           "notes": ["accuracy = share of held-out pairs where the preferred response scores higher",
                     "ci95 = Wilson interval", "ARM score = beta * summed response log-prob; RM = scalar head",
                     "trained on a lent H100 (bf16), same trainer as the CPU path (genarm.train)"]}
    (REPORTS / "reward_models.json").write_text(json.dumps(rep, indent=1) + "\n")
    return rep


def same_weights(a: str, b: str) -> bool:
    """Whether two committed artefacts hold the same tensors (a version kept under its own name)."""
    fa, fb = ARTEFACTS / f"{a}.safetensors", ARTEFACTS / f"{b}.safetensors"
    return fa.exists() and fb.exists() and fa.read_bytes() == fb.read_bytes()


def table(rep: dict) -> str:
    lines = ["| objective | model | held-out accuracy | 95% CI | train pairs | held-out pairs | train wall time |",
             "|---|---|---|---|---|---|---|"]
    shipped = lambda kv: kv[0] == f"{kv[1]['kind']}-{kv[1]['objective']}"  # noqa: E731
    order = lambda kv: (not shipped(kv), kv[1]["objective"], kv[1]["kind"], kv[0])  # noqa: E731
    for name, r in sorted(rep["models"].items(), key=order):
        h = r.get("heldout")
        if h is None:  # a soup whose held-out scores (genarm.score) were not copied into its artefact
            continue
        kind = {"arm": "ARM (GenARM loss)", "rm": "trajectory RM (Bradley-Terry)"}[r["kind"]]
        if name.startswith("abl-"):
            kind += f" — ablation: {name[4:]}"
        elif not shipped((name, r)) and same_weights(name, f"{r['kind']}-{r['objective']}"):
            kind += f" — {name}, the shipped one (data {r.get('data')})"
        elif not shipped((name, r)):
            kind += f" — candidate, not shipped: {name} (data {r.get('data')})"
        if "soup" in r:  # genarm.soup: no training of its own, scored by genarm.score
            sp = r["soup"]
            trained = f"soup: {1 - sp['t']:.1f} {sp['a']} + {sp['t']:.1f} {sp['b']}"
            wall = "—"
        else:
            trained = f"{r['train_pairs']} × {r.get('epochs') or 1} ep"
            wall = f"{r['train_wall_s']:.0f} s ({r['device']})"
        lines.append(f"| {r['objective']} | {kind} | {h['accuracy']:.1%} | {h['ci95'][0]:.1%}–{h['ci95'][1]:.1%} | "
                     f"{trained} | {h['n']} | {wall} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(collect()))
