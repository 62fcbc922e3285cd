"""On-policy preference pairs that teach an ARM to tell prompts apart.

The HH harmless pairs reward hedging wherever it occurs, so an ARM trained on them alone learns
"hedge everything": guided answers to everyday requests turn evasive too. These pairs show the
ARM its own behaviour on both kinds of prompt, ranked by what the prompt calls for:

- benign prompt (single-turn HH helpful prompts of the TRAIN split): the base's answer when it
  complies is preferred over the guided answer when the guided answer refuses or deflects (the
  current ARM's unnecessary evasions as on-policy negatives);
- harmful prompt (XSTest unsafe prompts of the training half; single-turn HH harmless prompts of
  the train split where the human-preferred side declines and the rejected side complies): the
  guided answer when it refuses or deflects without repeating itself is preferred over the base's
  answer when it complies.

"Complies / refuses / deflects" is genarm.judge (validated against hand labels). Sampled at
T = 0.7 with per-prompt seeds, 64 new tokens, the guiding ARM at harmlessness weight 4.
Output: training/artefacts/onpolicy-harmlessness.jsonl.gz (committed: data.py reads it),
one {"messages", "chosen", "rejected", "source", "kind"} per line, and its counts.

    python -m genarm.onpolicy --arm arm-harmlessness --benign 480 --harmful 240
"""
from __future__ import annotations

import argparse
import gzip
import json
import time

import torch

from . import judge
from .alignment import chat_ids, spread
from .data import HELDOUT_PCT, bucket, eval_prompts, hh_pairs, norm, xstest_eval_prompts
from .decode import DecodeSettings, Guided
from .paths import ARTEFACTS

OUT = ARTEFACTS / "onpolicy-harmlessness.jsonl.gz"


def train_prompts(n_benign: int, n_harmful: int) -> tuple[list[str], list[str]]:
    banned = eval_prompts()

    def single_train(pairs, key):
        out, seen = [], set()
        for p in pairs:
            first = p["messages"][0]["content"]
            k = norm(first)
            if (len(p["messages"]) == 1 and k not in banned and k not in seen and len(first) < 400
                    and bucket(key + ":" + k) >= HELDOUT_PCT):  # data.build's train split
                seen.add(k)
                out.append((first, p))
        return out

    benign = [q for q, _ in single_train(hh_pairs(["helpful-base-test.jsonl.gz", "helpful-online-test.jsonl.gz",
                                                   "helpful-rejection-sampled-test.jsonl.gz"], "hh"), "helpfulness")]
    harmless = single_train(hh_pairs(["harmless-base-test.jsonl.gz"], "hh"), "harmlessness")
    declined = [q for q, p in harmless
                if judge.classify(p["chosen"])[0] != "comply" and judge.classify(p["rejected"])[0] == "comply"]
    import csv
    from .data import DATA, xstest_is_eval
    with open(DATA / "xstest" / "xstest_prompts.csv", newline="") as f:
        xs_unsafe = [r["prompt"].strip() for r in csv.DictReader(f)
                     if r["type"].startswith("contrast_") and not xstest_is_eval(r["prompt"].strip())]
    assert not ({norm(x) for x in xs_unsafe} & {norm(x["prompt"]) for x in xstest_eval_prompts()})
    harmful = xs_unsafe + spread(declined, max(0, n_harmful - len(xs_unsafe)))
    return spread(benign, n_benign), harmful[:n_harmful]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm", default="arm-harmlessness")
    ap.add_argument("--weight", type=float, default=4.0)
    ap.add_argument("--benign", type=int, default=480)
    ap.add_argument("--harmful", type=int, default=240)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from .base import load_base, load_tokenizer
    from .build import trained_model
    tok = load_tokenizer()
    end = tok.convert_tokens_to_ids("<|im_end|>")
    guided = Guided(load_base(), {"harmlessness": trained_model(args.arm, "lm")}, [end, 2], end)
    benign, harmful = train_prompts(args.benign, args.harmful)
    prompts = [("benign", q) for q in benign] + [("harmful", q) for q in harmful]
    ids = [chat_ids(tok, q) for _, q in prompts]
    seeds = [50_000 + i for i in range(len(prompts))]
    t0 = time.time()
    texts = {}
    for name, w in (("base", {}), ("guided", {"harmlessness": args.weight})):
        s = DecodeSettings(weights=w, temperature=0.7, max_new=args.tokens)
        outs = []
        for c in range(0, len(ids), args.batch):
            outs += guided.generate(ids[c:c + args.batch], s, seeds[c:c + args.batch])
            print(f"[onpolicy {time.time() - t0:.0f} s] {name}: {len(outs)}/{len(ids)}", flush=True)
        texts[name] = [tok.decode(o["ids"], skip_special_tokens=True).strip() for o in outs]
    rows, counts = [], {"benign_prompts": len(benign), "harmful_prompts": len(harmful)}
    for k, ((kind, q), b, g) in enumerate(zip(prompts, texts["base"], texts["guided"])):
        lb, lg = judge.classify(b)[0], judge.classify(g)[0]
        counts[f"{kind}_base_{lb}"] = counts.get(f"{kind}_base_{lb}", 0) + 1
        counts[f"{kind}_guided_{lg}"] = counts.get(f"{kind}_guided_{lg}", 0) + 1
        if kind == "benign" and lb == "comply" and lg != "comply":
            rows.append({"messages": [{"role": "user", "content": q}], "chosen": b, "rejected": g,
                         "source": "onpolicy-benign", "kind": kind})
        if kind == "harmful" and lg != "comply" and not judge.repeats(g) and lb == "comply":
            rows.append({"messages": [{"role": "user", "content": q}], "chosen": g, "rejected": b,
                         "source": "onpolicy-harmful", "kind": kind})
    counts["pairs_benign"] = sum(r["kind"] == "benign" for r in rows)
    counts["pairs_harmful"] = sum(r["kind"] == "harmful" for r in rows)
    counts.update({"arm": args.arm, "weight": args.weight, "temperature": 0.7, "tokens": args.tokens,
                   "wall_s": round(time.time() - t0)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    # every generation, for hand labelling and for reading (not a training file)
    with gzip.open(OUT.with_name("onpolicy-generations.jsonl.gz"), "wt") as f:
        for (kind, q), b, g in zip(prompts, texts["base"], texts["guided"]):
            f.write(json.dumps({"kind": kind, "prompt": q, "base": b, "guided": g}) + "\n")
    OUT.with_suffix("").with_suffix(".json").write_text(json.dumps(counts, indent=1) + "\n")
    print(json.dumps(counts, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
