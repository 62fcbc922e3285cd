"""Score preference pairs with any of our models: held-out accuracy with a 95% interval, the
untrained base (as an ARM: summed response log-prob) beside it, overall and per source.

    python -m genarm.score --data harmlessness-v2 --models arm-harmlessness,arm-harmlessness-v2
    python -m genarm.score --pairs my.jsonl --models arm-helpfulness,rm-helpfulness
    python -m genarm.score --data harmlessness-v5 --models arm-harmlessness-v9 --into-artefact

--into-artefact writes each committed model's groups into its artefact (training/artefacts/NAME.json,
field heldout_scored[DATA], with the command in heldout_scored_by), where genarm.report and the
README's reward-model table read them; training writes only the held-out pairs of its own data.

--data NAME reads a prepared split of genarm.data (.cache/data/NAME.<split>.jsonl); --pairs FILE a
JSONL of {"prompt", "chosen", "rejected"} (or HH-style {"chosen", "rejected"} dialogues), rendered
with the base's chat template and cut as the training data is. A model's kind (ARM or RM) is read
from its artefact (training/artefacts/NAME.json). "harmful-prompt" and "benign-prompt" groups sum
the sources whose prompts are of that kind (prompt_kind: HH harmless and XSTest unsafe are harmful,
XSTest safe benign, and genarm.onpolicy's sources say it in their name, e.g. "pivot-benign").
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .data import clean, encode, load_split, read_pair_file
from .paths import ARTEFACTS, REPORTS
from .train import score_pairs, wilson

HARMFUL_SOURCES = ("hh-harmless", "xstest")
BENIGN_SOURCES = ("xstest-safe",)


def prompt_kind(source: str) -> str | None:
    """"harmful", "benign" or None (a source of helpfulness pairs, whose prompts are not either)."""
    if source in HARMFUL_SOURCES or source.endswith("-harmful"):
        return "harmful"
    if source in BENIGN_SOURCES or source.endswith("-benign"):
        return "benign"
    return None


def read_pairs(path: str, tok) -> list[dict]:
    """A user's pair file (genarm.data.read_pair_file), cleaned and encoded as the training data is."""
    from collections import Counter
    return encode(clean(read_pair_file(path), set(), Counter()), tok)


def accuracy(wins: list[bool]) -> dict:
    a = sum(wins) / max(1, len(wins))
    return {"n": len(wins), "accuracy": round(a, 4), "ci95": wilson(a, len(wins))}


def write_into_artefact(name: str, data: str, split: str, scored: dict) -> None:
    """Record one model's accuracies on a prepared data set in its artefact json (see the docstring)."""
    path = ARTEFACTS / f"{name}.json"
    meta = json.loads(path.read_text())
    key = data if split == "heldout" else f"{data}.{split}"
    meta.setdefault("heldout_scored", {})[key] = {g: v for g, v in scored.items() if isinstance(v, dict)}
    cmd = f"python -m genarm.score --data {data}" + (f" --split {split}" if split != "heldout" else "")
    meta["heldout_scored_by"] = sorted({*meta.get("heldout_scored_by", []), cmd})
    path.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"[score] wrote {key} into {path.name}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="a prepared data set of genarm.data, e.g. harmlessness-v2")
    src.add_argument("--pairs", help="a JSONL of preference pairs")
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--models", required=True, help="comma-separated artefact names or PEFT adapter folders")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="JSON report (default reports/score_<data>.json for --data)")
    ap.add_argument("--into-artefact", action="store_true",
                    help="--data only: also write each committed model's accuracies into its artefact json")
    args = ap.parse_args(argv)
    if args.into_artefact and not args.data:
        ap.error("--into-artefact needs --data (a prepared split names what was scored)")
    torch.set_num_threads(args.threads)
    from .base import load_base, load_tokenizer
    from .build import trained_model
    tok = load_tokenizer()
    pad = tok.pad_token_id if tok.pad_token_id is not None else 2
    pairs = load_split(args.data, args.split) if args.data else read_pairs(args.pairs, tok)
    groups = {"all": lambda p: True, **{f"source {s}": (lambda p, s=s: p["source"] == s)
                                        for s in sorted({p["source"] for p in pairs})}}
    for kind in ("harmful", "benign"):  # only the groups that have pairs: an empty one has no accuracy
        if any(prompt_kind(p["source"]) == kind for p in pairs):
            groups[f"{kind}-prompt pairs"] = lambda p, kind=kind: prompt_kind(p["source"]) == kind
    report = {"pairs": args.data or args.pairs, "split": args.split, "n": len(pairs), "models": {}}
    for name in ["untrained base"] + args.models.split(","):
        t0 = time.time()
        if name == "untrained base":
            kind, model = "arm", load_base()
        elif Path(name).is_dir():  # a PEFT adapter folder (genarm.train_arm's output, or PEFT's own)
            from .peft_adapter import load_peft_arm
            kind, model = "arm", load_peft_arm(Path(name))
        else:
            kind = json.loads((ARTEFACTS / f"{name}.json").read_text())["kind"]
            model = trained_model(name, "lm" if kind == "arm" else "rm")
        chosen, rejected = score_pairs(model.eval(), kind, pairs, pad)
        wins = (chosen > rejected).tolist()
        report["models"][name] = {"kind": kind, **{g: accuracy([w for w, p in zip(wins, pairs) if f(p)])
                                                   for g, f in groups.items()}, "seconds": round(time.time() - t0)}
        print(f"[score] {name} ({kind}): " + ", ".join(f"{g} {v['accuracy']:.3f} (n={v['n']})"
                                                       for g, v in report["models"][name].items()
                                                       if isinstance(v, dict)), flush=True)
    if args.into_artefact:
        for name in report["models"]:
            if name != "untrained base" and not Path(name).is_dir():
                write_into_artefact(name, args.data, args.split, report["models"][name])
    out = args.out or (str(REPORTS / f"score_{args.data}.json") if args.data else None)
    if out:
        with open(out, "w") as f:
            f.write(json.dumps(report, indent=1) + "\n")
        print(f"[score] wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
