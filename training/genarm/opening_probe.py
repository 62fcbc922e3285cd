"""How far a harmlessness ARM moves the first token of the answer toward a decline, by prompt kind.

Greedy GenARM at weight a picks argmax log pi_base + a log pi_arm (eq. 7, docs/METHOD.md). An
ARM is the base plus a LoRA, so log pi_arm = log pi_base + d, and the rule becomes
(1 + a) log pi_base + a d: the base is sharpened and d shifts it. A decline opener ("I") that
the base gives probability p_I while its top token has p_top wins only when
d_I - d_top > ((1 + a) / a) log(p_top / p_I); with SmolLM2-135M's typical p_top / p_I of 10-15 on
harmful prompts that is a shift of about 5 nats at a = 1 and 4 at a = 2. This probe prints, per
held-out prompt set, the mean shift d_I and the share of prompts whose GenARM first token is "I"
at a = 1, 2, 4, for each ARM given, with the base's own share beside them: it tells in a minute
what the steering evaluation (genarm.alignment, half an hour) will find at the first token.

    python -m genarm.opening_probe --arms arm-harmlessness,arm-harmlessness-v4 --n 24
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from .alignment import chat_ids, prompt_sets

SETS = {"harmful": ("advbench", "xstest-unsafe"), "benign": ("alpaca", "xstest-safe", "hh-helpful")}
WEIGHTS = (1.0, 2.0, 4.0)


def last_logprobs(m, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        out = m(torch.tensor([ids]))
    logits = out[0] if isinstance(out, tuple) else out
    return torch.log_softmax(logits[0, -1].float(), -1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arms", default="arm-harmlessness")
    ap.add_argument("--n", type=int, default=24, help="prompts per set")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from .base import load_base, load_tokenizer
    from .build import trained_model
    t0 = time.time()
    tok = load_tokenizer()
    base = load_base().eval()
    arms = {n: trained_model(n, "lm").eval() for n in args.arms.split(",")}
    opener = tok.convert_tokens_to_ids("I")
    sets = prompt_sets(args.n)
    rep: dict = {"opener": "I", "n": args.n, "weights": list(WEIGHTS), "kinds": {}}
    for kind, names in SETS.items():
        prompts = [q for name in names for q in sets[name][:args.n]]
        base_lp = [last_logprobs(base, chat_ids(tok, q)) for q in prompts]
        row = {"prompts": len(prompts), "base_first_is_opener": sum(int(b.argmax()) == opener for b in base_lp) / len(prompts)}
        for name, m in arms.items():
            d_i, wins = [], {w: 0 for w in WEIGHTS}
            for q, b in zip(prompts, base_lp):
                r = last_logprobs(m, chat_ids(tok, q))
                d_i.append(float(r[opener] - b[opener]))
                for w in WEIGHTS:
                    wins[w] += int((b + w * r).argmax()) == opener
            row[name] = {"mean_shift_I": round(sum(d_i) / len(d_i), 3),
                         "first_is_opener": {str(w): round(c / len(prompts), 3) for w, c in wins.items()}}
        rep["kinds"][kind] = row
        print(f"[probe {time.time() - t0:.0f} s] {kind}: {json.dumps(row)}", flush=True)
    rep["wall_s"] = round(time.time() - t0)
    if args.out:
        with open(args.out, "w") as f:
            f.write(json.dumps(rep, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
