"""Why is the helpfulness ARM near chance? Held-out accuracy broken down by what could cause it.

For each held-out pair of an objective it scores the response pair with
  - the untrained base as an ARM (beta * summed log-prob: the step-0 starting point),
  - the trained ARM and the trained trajectory RM (committed artefacts),
  - two label-free heuristics (longer response wins; per-token mean log-prob of the base),
and reports accuracy overall and on slices: pairs where a side hit the response-length cap
(the rest of that response was never seen), pairs whose two sides have the same length.
Writes reports/diagnosis_<objective>.json.

  python -m genarm.diagnose --objective helpfulness
  python -m genarm.diagnose --objective helpfulness --data helpfulness-long \
      --models abl-arm-helpfulness-long-cpu-top4full      # an ablation, scored on its own cut
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from .data import load_split, response_cap
from .paths import ARTEFACTS, REPORTS
from .train import score_pairs, wilson


def scores(model, kind: str, pairs: list[dict], pad_id: int) -> tuple[list[float], list[float]]:
    """-> (score of chosen, score of rejected) per pair."""
    chosen, rejected = score_pairs(model, kind, pairs, pad_id)
    return chosen.tolist(), rejected.tolist()


def acc(wins: list[bool]) -> dict:
    n = len(wins)
    a = sum(wins) / max(n, 1)
    return {"n": n, "accuracy": round(a, 4), "ci95": wilson(a, n)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objective", default="helpfulness", choices=["helpfulness", "harmlessness"])
    ap.add_argument("--data", default=None, help="held-out pairs to score (default: the objective's own), "
                    "e.g. helpfulness-long: the same pairs with responses cut at 192")
    ap.add_argument("--models", default=None, help="comma-separated artefact names (default: arm-<objective>,"
                    "rm-<objective>); the kind is read from each artefact")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from .base import load_base, load_tokenizer
    from .build import trained_model

    tok = load_tokenizer()
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 2
    data = args.data or args.objective
    cap = response_cap(data)
    held = load_split(data, "heldout")
    names = args.models.split(",") if args.models else [f"arm-{args.objective}", f"rm-{args.objective}"]
    t0 = time.time()
    cols: dict[str, list[bool]] = {}
    lc = [len(p["chosen_ids"]) for p in held]
    lr = [len(p["rejected_ids"]) for p in held]
    cols["longer_wins"] = [a > b for a, b in zip(lc, lr)]

    base = load_base()
    c, r = scores(base, "arm", held, pad_id)
    cols["base_as_arm"] = [a > b for a, b in zip(c, r)]
    cols["base_mean_logprob"] = [a / x > b / y for a, b, x, y in zip(c, r, lc, lr)]
    del base
    print(f"base scored ({time.time()-t0:.0f} s)", flush=True)
    for name in names:
        kind = json.loads((ARTEFACTS / f"{name}.json").read_text())["kind"]
        m = trained_model(name, "lm" if kind == "arm" else "rm")
        c, r = scores(m, kind, held, pad_id)
        cols[name] = [a > b for a, b in zip(c, r)]
        if kind == "arm":
            cols[name + "_mean_per_token"] = [a / x > b / y for a, b, x, y in zip(c, r, lc, lr)]
        print(f"{name} scored ({time.time()-t0:.0f} s)", flush=True)

    slices = {
        "all": [True] * len(held),
        "a_side_at_cap": [a >= cap or b >= cap for a, b in zip(lc, lr)],
        "both_under_cap": [a < cap and b < cap for a, b in zip(lc, lr)],
        "same_length": [a == b for a, b in zip(lc, lr)],
        "chosen_longer": [a > b for a, b in zip(lc, lr)],
        "chosen_shorter": [a < b for a, b in zip(lc, lr)],
    }
    table = {s: {k: acc([w for w, m in zip(v, mask) if m]) for k, v in cols.items()} for s, mask in slices.items()}
    out = {"objective": args.objective, **({"data": data} if data != args.objective else {}),
           "heldout_pairs": len(held), "max_response_tokens": cap,
           "wall_s": round(time.time() - t0), "accuracy": table}
    # the default run keeps its report; any other selection of data or models gets its own
    path = REPORTS / (f"diagnosis_{args.objective}.json" if not (args.data or args.models)
                      else f"diagnosis_{data}-{'+'.join(names)}.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    for s, row in table.items():
        print(f"{s:16s} n={row['longer_wins']['n']:4d} " + " ".join(f"{k}={v['accuracy']:.3f}" for k, v in row.items()))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
