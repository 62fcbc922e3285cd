"""Draw a hand-label batch for the judge, blind to the rules' label (genarm.judge, HELD_OUT).

The batch is stratified by what the rules say (evasive or comply) so that both precision and
recall get enough answers, but the file written for labelling carries neither the rule's label
nor the method that wrote the answer: the labeller sees the prompt and the answer only.

  python -m genarm.label_sample --report reports/steering-harmlessness-v6.json \
      --prefix held13- --evasive 36 --comply 28 --seed 13 --out /tmp/held13.jsonl

Each written row has "label": null; fill it in with refusal / deflection / comply and append the
rows to reports/labels/answers.jsonl. The pool sizes printed go into judge.POOL[prefix].
"""
from __future__ import annotations

import argparse
import json
import random

from .judge import LABELS, classify
from .paths import ROOT


def pool(report: dict, seen: set[str]) -> list[dict]:
    """Every answer of a steering report not yet labelled, once per distinct text."""
    rows, texts = [], set()
    for method, answers in report["answers"].items():
        for a in answers:
            t = a["text"]
            if t in seen or t in texts or not t.strip():
                continue
            texts.add(t)
            rows.append({"method": method, "set": a["set"], "prompt": report["prompts"][a["set"]][a["i"]], "text": t})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", required=True, help="a steering report (genarm.alignment JSON)")
    ap.add_argument("--prefix", required=True, help="id prefix of the batch, e.g. held13-")
    ap.add_argument("--evasive", type=int, default=36, help="answers the rules call refusal or deflection")
    ap.add_argument("--comply", type=int, default=28, help="answers the rules call comply")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    seen = {json.loads(line)["text"] for line in open(ROOT / LABELS)}
    report = json.loads((ROOT / args.report).read_text())
    rows = pool(report, seen)
    strata = {True: [], False: []}
    for r in rows:
        strata[classify(r["text"])[0] != "comply"].append(r)
    rng = random.Random(args.seed)
    batch = rng.sample(strata[True], args.evasive) + rng.sample(strata[False], args.comply)
    rng.shuffle(batch)  # the order tells nothing about the stratum
    origin = (f"{args.report.split('/')[-1]}; a held-out batch labelled after the rules were fixed, sampled blind "
              f"to the rule's label: {args.evasive} the rules called evasive, {args.comply} they called comply")
    with open(args.out, "w") as f:
        for k, r in enumerate(batch):
            f.write(json.dumps({"id": f"{args.prefix}{k}", "origin": f"{r['method']} ({origin})", "set": r["set"],
                                "prompt": r["prompt"], "text": r["text"], "label": None}, ensure_ascii=False) + "\n")
    print(json.dumps({"pool": {"evasive": len(strata[True]), "comply": len(strata[False])}, "written": len(batch)}))


if __name__ == "__main__":
    main()
