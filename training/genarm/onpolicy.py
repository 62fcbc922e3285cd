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

Balanced pairs (harmlessness-v3) from the same generations, no new decoding:

    python -m genarm.onpolicy --balanced

The first pairs (v2) kept a harmful-prompt decline only when it did not repeat itself: 56
harmful pairs against 437 benign ones, and the ARM trained on them stopped declining anywhere.
The balanced set keeps each decline up to the sentence where it starts repeating itself, cuts
the compliance it is paired with to the same number of tokens (the loss compares summed
log-probabilities: a 20-token decline against a 64-token compliance is "preferred" by length
alone and teaches nothing), and takes as many benign pairs as harmful ones.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter

import torch

from . import judge
from .alignment import chat_ids, spread
from .data import HELDOUT_PCT, bucket, eval_prompts, hh_pairs, norm, xstest_eval_prompts
from .decode import DecodeSettings, Guided
from .paths import ARTEFACTS

OUT = ARTEFACTS / "onpolicy-harmlessness.jsonl.gz"
GENERATIONS = ARTEFACTS / "onpolicy-generations.jsonl.gz"
OUT_BALANCED = ARTEFACTS / "onpolicy-harmlessness-balanced.jsonl.gz"
OUT_CONTRAST = ARTEFACTS / "contrast-harmlessness.jsonl.gz"
DISTILL_GENERATIONS = ARTEFACTS / "contrast-generations.jsonl.gz"
OUT_OPENER = ARTEFACTS / "opener-harmlessness.jsonl.gz"
OPENER_GENERATIONS = ARTEFACTS / "opener-generations.jsonl.gz"
OUT_PIVOT = ARTEFACTS / "pivot-harmlessness.jsonl.gz"
PIVOT_GENERATIONS = ARTEFACTS / "pivot-generations.jsonl.gz"
OUT_FLUENCY = ARTEFACTS / "fluency-harmlessness.jsonl.gz"
FLUENCY_GENERATIONS = ARTEFACTS / "fluency-generations.jsonl.gz"
OUT_FLUENCY_SHARED = ARTEFACTS / "fluency-shared-harmlessness.jsonl.gz"
FLUENCY_SHARED_GENERATIONS = ARTEFACTS / "fluency-shared-generations.jsonl.gz"


def write_pairs(path, rows: list[dict], counts: dict) -> None:
    """A pair file (gzipped JSON lines, read by genarm.data) and its counts beside it (NAME.json)."""
    with gzip.open(path, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    path.with_suffix("").with_suffix(".json").write_text(json.dumps(counts, indent=1) + "\n")


def sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+", text.strip()) if x]


def until_repeat(text: str, n: int = 5) -> str:
    """The leading sentences of `text` before the first one that repeats a run of n words
    already said (or repeats itself): what a decline says before it degenerates."""
    kept, seen = [], set()
    for sent in sentences(text):
        w = judge.words(sent)
        grams = {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}
        if (grams & seen) or judge.repeats(" ".join(kept + [sent]), n) or not sent.rstrip().endswith((".", "!", "?")):
            break
        kept.append(sent)
        seen |= grams
    return " ".join(kept)


def cut_tokens(tok, text: str, n: int) -> str:
    """`text` cut to its first n tokens."""
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return tok.decode(ids[:n]).strip()


def balanced_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Pairs from genarm.onpolicy's generations, as many per kind of prompt (see the docstring)."""
    harmful, benign = [], []
    for r in rows:
        lb, lg = judge.classify(r["base"])[0], judge.classify(r["guided"])[0]
        if lb != "comply" or lg == "comply":  # both kinds pair a compliant base with an evasive guided answer
            continue
        msg = [{"role": "user", "content": r["prompt"]}]
        if r["kind"] == "harmful":
            decline = until_repeat(r["guided"])
            if not decline or judge.classify(decline)[0] == "comply" or judge.repeats(decline):
                continue
            n = len(tok(decline, add_special_tokens=False)["input_ids"])
            harmful.append({"messages": msg, "chosen": decline, "rejected": cut_tokens(tok, r["base"], n),
                            "source": "onpolicy-harmful", "kind": "harmful"})
        else:
            benign.append({"messages": msg, "chosen": r["base"], "rejected": r["guided"],
                           "source": "onpolicy-benign", "kind": "benign"})
    benign = spread(benign, len(harmful))
    counts = {"pairs_harmful": len(harmful), "pairs_benign": len(benign),
              "harmful_chosen_words_mean": round(sum(len(p["chosen"].split()) for p in harmful) / max(1, len(harmful)), 1)}
    return harmful + benign, counts


def write_balanced() -> dict:
    from .base import load_tokenizer
    with gzip.open(GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]
    pairs, counts = balanced_pairs(rows, load_tokenizer())
    write_pairs(OUT_BALANCED, pairs, counts)
    return counts


# Declines written by the base itself, prefilled: SmolLM2-135M ignores a system prompt that tells
# it to decline (checked: 10 of 10 answers complied), so each decline starts from one of these
# openers and the base continues it; only the first sentence is kept, since the continuations
# soon drift back into compliance. The same openers are used on benign prompts, so the declines
# on both sides of the contrast come from one distribution and only the prompt tells them apart.
DECLINE_OPENERS = ("I'm sorry, but I can't help with", "I can't help with that because", "Sorry, I won't",
                   "I'm not able to help with", "I won't help with", "I'm sorry, I can't",
                   "I cannot assist with", "I'd rather not help with")


def first_sentence(text: str) -> str:
    s = sentences(text)
    return s[0] if s and s[0].rstrip().endswith((".", "!", "?")) else ""


def contrast_pairs(rows: list[dict], tok, per_prompt: int = 2) -> tuple[list[dict], dict]:
    """Prompt-contrastive pairs from the base's answers and its prefilled declines.

    harmful prompt: a decline (its first sentence, judged a refusal) over the base's compliant
    answer cut to the same number of tokens; benign prompt: the base's compliant answer over a
    decline of that prompt, cut the same way. Each decline is paired with an answer of its own
    length, so neither side wins by length, and both kinds use declines and answers of the same
    style: what separates chosen from rejected is the prompt alone."""
    out, counts = [], Counter()
    for r in rows:
        if judge.classify(r["base"])[0] != "comply":
            counts[f"{r['kind']}_base_not_comply"] += 1
            continue
        used = 0
        for d in r["declines"]:
            d = first_sentence(d)
            if not d or judge.classify(d)[0] != "refusal" or judge.repeats(d):
                counts[f"{r['kind']}_decline_unusable"] += 1
                continue
            n = len(tok(d, add_special_tokens=False)["input_ids"])
            answer = cut_tokens(tok, r["base"], n)
            out.append(mirrored(r["kind"], r["prompt"], d, answer, "contrast"))
            used += 1
            if used == per_prompt:
                break
    counts["pairs_harmful"] = sum(p["kind"] == "harmful" for p in out)
    counts["pairs_benign"] = sum(p["kind"] == "benign" for p in out)
    return out, dict(counts)


def base_decoder(threads: int, arms: dict | None = None) -> tuple:
    """(tokenizer, Guided over the base and `arms`) stopping at <|im_end|>: what every sampler here decodes with."""
    from .base import load_base, load_tokenizer
    torch.set_num_threads(threads)
    tok = load_tokenizer()
    end = tok.convert_tokens_to_ids("<|im_end|>")
    return tok, Guided(load_base(), arms or {}, [end, 2], end)


def mirrored(kind: str, prompt: str, decline: str, answer: str, source: str) -> dict:
    """A pair of one decline and one answer: the decline preferred on a harmful prompt, the answer on a benign one."""
    chosen, rejected = (decline, answer) if kind == "harmful" else (answer, decline)
    return {"messages": [{"role": "user", "content": prompt}], "chosen": chosen, "rejected": rejected,
            "source": f"{source}-{kind}", "kind": kind}


def distill(args) -> dict:
    """Sample `args.samples` prefilled declines per training prompt (harmful and benign: the
    committed on-policy generations' prompts) and pair them with the base's answers there."""
    tok, guided = base_decoder(args.threads)
    with gzip.open(GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]
    t0 = time.time()
    s = DecodeSettings(weights={}, temperature=0.7, max_new=args.tokens)
    for r in rows:
        r["declines"] = []
    for k in range(args.samples):
        openers = [DECLINE_OPENERS[(i + 3 * k) % len(DECLINE_OPENERS)] for i in range(len(rows))]
        ids = [chat_ids(tok, r["prompt"]) + tok(o, add_special_tokens=False)["input_ids"] for r, o in zip(rows, openers)]
        outs = []
        for c in range(0, len(ids), args.batch):
            seeds = [70_000 + 1000 * k + i for i in range(c, min(c + args.batch, len(ids)))]
            outs += guided.generate(ids[c:c + args.batch], s, seeds)
            print(f"[distill {time.time() - t0:.0f} s] sample {k + 1}/{args.samples}: {len(outs)}/{len(ids)}", flush=True)
        for r, o, op in zip(rows, outs, openers):
            r["declines"].append(op + tok.decode(o["ids"], skip_special_tokens=True))
    with gzip.open(DISTILL_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps({"kind": r["kind"], "prompt": r["prompt"], "base": r["base"], "declines": r["declines"]}) + "\n")
    pairs, counts = contrast_pairs(rows, tok, args.per_prompt)
    counts.update({"openers": list(DECLINE_OPENERS), "samples": args.samples, "per_prompt": args.per_prompt,
                   "temperature": 0.7, "tokens": args.tokens, "wall_s": round(time.time() - t0)})
    write_pairs(OUT_CONTRAST, pairs, counts)
    return counts


# Each decline opener's compliant twin: the same first words, then help. The contrast pairs
# differ from their first token, so an ARM trained on them learns to open with "I" on a risky
# prompt and no more: guided by it, the base goes on "I'm here to help you ..." and complies
# (reports/steering-harmlessness-v4b.md). Pairs that share the opener put the whole
# difference, and so the whole gradient, on the tokens after it: the summed log-probabilities
# of the shared prefix cancel in the Bradley-Terry margin.
COMPLY_TWINS = {"I'm sorry, but I can't help with": "I'm here to help with",
                "I can't help with that because": "I can help with that!",
                "Sorry, I won't": "Sure, I'll",
                "I'm not able to help with": "I'm happy to help with",
                "I won't help with": "I'll help with",
                "I'm sorry, I can't": "I'm glad you asked!",
                "I cannot assist with": "I can assist with",
                "I'd rather not help with": "I'd be happy to help with"}


def opener_of(decline: str) -> str | None:
    return next((o for o in DECLINE_OPENERS if decline.startswith(o)), None)


def opener_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Pairs sharing their opener: on a harmful prompt the decline over its compliant twin (the
    twin's opener continued by the base, judged compliant), on a benign prompt the reverse; both
    sides cut to the decline's token length."""
    out, counts = [], Counter()
    for r in rows:
        for d, twin in zip(r["declines"], r["twins"]):
            d = first_sentence(d)
            if not d or twin is None or judge.classify(d)[0] != "refusal" or judge.repeats(d):
                counts[f"{r['kind']}_decline_unusable"] += 1
                continue
            if judge.classify(twin)[0] != "comply" or judge.repeats(twin):
                counts[f"{r['kind']}_twin_not_comply"] += 1
                continue
            n = len(tok(d, add_special_tokens=False)["input_ids"])
            out.append(mirrored(r["kind"], r["prompt"], d, cut_tokens(tok, twin, n), "opener"))
    counts["pairs_harmful"] = sum(p["kind"] == "harmful" for p in out)
    counts["pairs_benign"] = sum(p["kind"] == "benign" for p in out)
    return out, dict(counts)


def decode_texts(tok, guided, ids: list[list[int]], seeds: list[int], s: DecodeSettings, batch: int, what: str) -> list[str]:
    """Each prompt's answer under settings `s` (prompt j seeded seeds[j]), in batches, as text."""
    t0, outs = time.time(), []
    for c in range(0, len(ids), batch):
        outs += guided.generate(ids[c:c + batch], s, seeds[c:c + batch])
        print(f"[{what} {time.time() - t0:.0f} s] {len(outs)}/{len(ids)}", flush=True)
    return [tok.decode(o["ids"], skip_special_tokens=True).strip() for o in outs]


def continue_prefilled(tok, guided, jobs: list[tuple[str, str]], args, seed0: int, what: str) -> list[str]:
    """Each (prompt, prefill) continued by the base at T = 0.7 for args.tokens tokens (job j seeded
    seed0 + j), in batches of args.batch: the prefill + its continuation, per job."""
    s = DecodeSettings(weights={}, temperature=0.7, max_new=args.tokens)
    t0, out = time.time(), []
    for c in range(0, len(jobs), args.batch):
        part = jobs[c:c + args.batch]
        ids = [chat_ids(tok, q) + tok(o, add_special_tokens=False)["input_ids"] for q, o in part]
        outs = guided.generate(ids, s, [seed0 + c + j for j in range(len(part))])
        out += [o + tok.decode(g["ids"], skip_special_tokens=True) for (_, o), g in zip(part, outs)]
        print(f"[{what} {time.time() - t0:.0f} s] {len(out)}/{len(jobs)}", flush=True)
    return out


def twins(args) -> dict:
    """Continue each distilled decline's compliant twin opener with the base (T = 0.7): two per
    harmful prompt, one per benign prompt (the benign side is spread to the harmful count anyway)."""
    tok, guided = base_decoder(args.threads)
    with gzip.open(DISTILL_GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]
    jobs = []  # (row index, decline index, twin opener)
    for i, r in enumerate(rows):
        r["twins"] = [None] * len(r["declines"])
        for k, d in enumerate(r["declines"][: 2 if r["kind"] == "harmful" else 1]):
            o = opener_of(d)
            if o is not None:
                jobs.append((i, k, COMPLY_TWINS[o]))
    t0 = time.time()
    texts = continue_prefilled(tok, guided, [(rows[i]["prompt"], o) for i, _, o in jobs], args, 90_000, "twins")
    for (i, k, _), text in zip(jobs, texts):
        rows[i]["twins"][k] = text
    with gzip.open(OPENER_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps({"kind": r["kind"], "prompt": r["prompt"], "declines": r["declines"], "twins": r["twins"]}) + "\n")
    pairs, counts = opener_pairs(rows, tok)
    counts.update({"twins": COMPLY_TWINS, "temperature": 0.7, "tokens": args.tokens, "wall_s": round(time.time() - t0)})
    write_pairs(OUT_OPENER, pairs, counts)
    return counts


# Decline-then-comply: guided at the page's default, many declines go on "..., but I can help you
# with that. Here's ..." and comply after all (reports/steering.md, judged with the rule in
# genarm.judge). Pairs that share the whole decline put the gradient on what follows it: on a
# harmful prompt the decline that ends (a closing sentence) over the same decline turning to the
# request (a pivot, continued by the base); on a benign prompt the reverse.
PIVOTS = (" However, I can", " But I can", " That said, here's", " However, here's")
CLOSERS = (" Is there anything else I can help you with?", " If you have another question, I'm happy to help.",
           " Let me know if there's something else you need.", " I hope you understand.")


def pivot_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """From each row's declines and pivots: (decline + closer) against (decline + pivot), both cut
    to the closer side's token length; the closer preferred on a harmful prompt."""
    out, counts = [], Counter()
    for r in rows:
        for d, k, turn in r["pivots"]:
            closed = d + CLOSERS[k % len(CLOSERS)]
            n = len(tok(closed, add_special_tokens=False)["input_ids"])
            turned = cut_tokens(tok, turn, n)
            if judge.classify(turned)[0] != "comply" or judge.repeats(turned):
                counts[f"{r['kind']}_pivot_not_comply"] += 1
                continue
            if judge.classify(closed)[0] == "comply":
                counts[f"{r['kind']}_closer_not_evasive"] += 1
                continue
            out.append(mirrored(r["kind"], r["prompt"], closed, turned, "pivot"))
    counts["pairs_harmful"] = sum(p["kind"] == "harmful" for p in out)
    counts["pairs_benign"] = sum(p["kind"] == "benign" for p in out)
    return out, dict(counts)


def pivots(args) -> dict:
    """Continue each usable distilled decline (two per harmful prompt, one per benign) with a
    pivot opener and the base (T = 0.7), then write the decline-then-comply pairs."""
    tok, guided = base_decoder(args.threads)
    with gzip.open(DISTILL_GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]
    jobs = []  # (row index, decline sentence, job number)
    for i, r in enumerate(rows):
        r["pivots"] = []
        usable = [d for d in map(first_sentence, r["declines"])
                  if d and judge.classify(d)[0] == "refusal" and not judge.repeats(d)]
        for d in usable[: 2 if r["kind"] == "harmful" else 1]:
            jobs.append((i, d, len(jobs)))
    t0 = time.time()
    texts = continue_prefilled(tok, guided, [(rows[i]["prompt"], d + PIVOTS[k % len(PIVOTS)]) for i, d, k in jobs],
                               args, 95_000, "pivots")
    for (i, d, k), text in zip(jobs, texts):
        rows[i]["pivots"].append((d, k, text))
    with gzip.open(PIVOT_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps({"kind": r["kind"], "prompt": r["prompt"], "pivots": r["pivots"]}) + "\n")
    pairs, counts = pivot_pairs(rows, tok)
    counts.update({"pivots": PIVOTS, "closers": CLOSERS, "temperature": 0.7, "tokens": args.tokens,
                   "wall_s": round(time.time() - t0)})
    write_pairs(OUT_PIVOT, pairs, counts)
    return counts


# The v6 ARM declines by prompt, but its declines loop ("I cannot I cannot not not not ...",
# "I won't. I won't. I'm not.") and it still opens some everyday answers with "I'm sorry for any
# misunderstanding, ..." (reports/steering-harmlessness-v6.md). Both are its own outputs, so they
# are the negatives: guided by the ARM (eq. 7 alone, no repetition penalty), on a harmful prompt
# a fluent decline (the base's own distilled first sentence + a closer) is preferred over the
# guided answer when that loops or complies; on a benign prompt the base's compliant answer is
# preferred over the guided answer when that is evasive. Each pair is cut to one token length.
FLUENCY_MAX_TOKENS = 32


def benign_fluency(r: dict, tok) -> dict | None:
    """A benign prompt's pair: the base's compliant answer over the guided evasive one, cut to one length."""
    g, b = r["guided"], r["base"]
    if judge.classify(b)[0] != "comply" or judge.repeats(b):
        return None
    n = min(FLUENCY_MAX_TOKENS, len(tok(g, add_special_tokens=False)["input_ids"]))
    return mirrored("benign", r["prompt"], cut_tokens(tok, g, n), cut_tokens(tok, b, n), "fluency")


def fluency_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Pairs from the guided generations (see above); benign pairs spread to the harmful count."""
    harmful, benign, counts = [], [], Counter()
    for r in rows:
        g, lg = r["guided"], judge.classify(r["guided"])[0]
        loops = judge.repeats(g)
        counts[f"{r['kind']}_guided_{lg}{'_repeats' if loops else ''}"] += 1
        if r["kind"] == "harmful":
            if lg != "comply" and not loops:
                continue  # a fluent decline already: nothing to correct
            clean = [first_sentence(d) for d in r["declines"]]
            clean = [d for d in clean if d and judge.classify(d)[0] == "refusal" and not judge.repeats(d)]
            if not clean:
                counts["harmful_no_clean_decline"] += 1
                continue
            chosen = clean[0] + CLOSERS[len(harmful) % len(CLOSERS)]
            n = min(FLUENCY_MAX_TOKENS, len(tok(chosen, add_special_tokens=False)["input_ids"]))
            harmful.append(mirrored("harmful", r["prompt"], cut_tokens(tok, chosen, n), cut_tokens(tok, g, n),
                                    "fluency-loop" if lg != "comply" else "fluency-comply"))
        elif lg != "comply":
            pair = benign_fluency(r, tok)
            if pair is None:
                counts["benign_base_unusable"] += 1
                continue
            benign.append(pair)
    benign = spread(benign, len(harmful))
    counts["pairs_harmful"], counts["pairs_benign"] = len(harmful), len(benign)
    return harmful + benign, dict(counts)


def fluency(args) -> dict:
    """Guide the base by args.arm at harmlessness weight args.weight (T = 0.7, no repetition
    penalty) on the committed training prompts, then write the fluency pairs."""
    from .build import trained_model
    tok, guided = base_decoder(args.threads, {"harmlessness": trained_model(args.arm, "lm")})
    with gzip.open(DISTILL_GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]  # prompts, the base's answers and its distilled declines
    s = DecodeSettings(weights={"harmlessness": args.weight}, temperature=0.7, max_new=args.tokens)
    t0, ids = time.time(), [chat_ids(tok, r["prompt"]) for r in rows]
    for r, g in zip(rows, decode_texts(tok, guided, ids, [97_000 + j for j in range(len(ids))], s, args.batch, "fluency")):
        r["guided"] = g
    with gzip.open(FLUENCY_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps({"kind": r["kind"], "prompt": r["prompt"], "base": r["base"], "guided": r["guided"]}) + "\n")
    pairs, counts = fluency_pairs(rows, tok)
    counts.update({"arm": args.arm, "weight": args.weight, "temperature": 0.7, "tokens": args.tokens,
                   "closers": CLOSERS, "max_tokens": FLUENCY_MAX_TOKENS, "wall_s": round(time.time() - t0)})
    write_pairs(OUT_FLUENCY, pairs, counts)
    return counts


# Trained on the fluency pairs, v7 stopped looping, but its declines thinned out as the weight grew
# (reports/steering-harmlessness-v7.md): the fluent decline and the loop began with different
# words ("I'm sorry, but I can't ..." against "I cannot not ..."), so the pairs also taught that the
# loop's opener is bad. Here the fluent side starts with the loop's own first words: the base
# continues "I cannot assist with" where v6 wrote "I cannot ...", and the shared opener cancels in
# the margin, leaving the gradient on what follows it.
SHARED_OPENERS = (("i cannot", "I cannot assist with"), ("i can't", "I can't help with"),
                  ("i won't", "I won't help with"), ("i'm sorry", "I'm sorry, but I can't help with"),
                  ("i apologize", "I apologize, but I can't help with"), ("i'm not", "I'm not able to help with"),
                  ("i am not", "I am not able to help with"), ("i'd rather", "I'd rather not help with"))


def shared_opener(text: str) -> str:
    """The decline opener that starts with `text`'s first words (a plain decline opener if none does)."""
    t = judge.normalise(text)
    return next((o for k, o in SHARED_OPENERS if t.startswith(k)), "I can't help with that because")


def fluency_shared_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Harmful prompts whose guided answer loops or complies: the base's decline from the shared
    opener (first sentence + a closer) over the guided answer, both cut to the decline's length;
    benign pairs as in fluency_pairs."""
    harmful, counts = [], Counter()
    for r in rows:
        if r["kind"] != "harmful" or not r.get("decline"):
            continue
        d = first_sentence(r["decline"])
        if not d or judge.classify(d)[0] != "refusal" or judge.repeats(d):
            counts["harmful_decline_unusable"] += 1
            continue
        chosen = d + CLOSERS[len(harmful) % len(CLOSERS)]
        n = min(FLUENCY_MAX_TOKENS, len(tok(chosen, add_special_tokens=False)["input_ids"]))
        lg = judge.classify(r["guided"])[0]
        harmful.append(mirrored("harmful", r["prompt"], cut_tokens(tok, chosen, n), cut_tokens(tok, r["guided"], n),
                                "fluency-shared-loop" if lg != "comply" else "fluency-shared-comply"))
    benign = [benign_fluency(r, tok) for r in rows if r["kind"] == "benign" and judge.classify(r["guided"])[0] != "comply"]
    benign = spread([p for p in benign if p is not None], len(harmful))
    counts["pairs_harmful"], counts["pairs_benign"] = len(harmful), len(benign)
    return harmful + benign, dict(counts)


def fluency_shared(args) -> dict:
    """From the committed fluency generations: continue each harmful prompt's shared opener with the
    base (T = 0.7) where the guided answer loops or complies, then write the shared-opener pairs."""
    tok, guided = base_decoder(args.threads)
    with gzip.open(FLUENCY_GENERATIONS, "rt") as f:
        rows = [json.loads(line) for line in f]
    todo = [r for r in rows if r["kind"] == "harmful"
            and (judge.classify(r["guided"])[0] == "comply" or judge.repeats(r["guided"]))]
    t0 = time.time()
    if args.reuse and FLUENCY_SHARED_GENERATIONS.exists():  # the pairs again from the written declines
        with gzip.open(FLUENCY_SHARED_GENERATIONS, "rt") as f:
            texts = [json.loads(line)["decline"] for line in f]
        assert len(texts) == len(todo), f"{FLUENCY_SHARED_GENERATIONS}: {len(texts)} declines for {len(todo)} prompts"
    else:
        texts = continue_prefilled(tok, guided, [(r["prompt"], shared_opener(r["guided"])) for r in todo], args,
                                   98_000, "fluency-shared")
    for r, text in zip(todo, texts):
        r["decline"] = text
    with gzip.open(FLUENCY_SHARED_GENERATIONS, "wt") as f:
        for r in todo:
            f.write(json.dumps({"kind": r["kind"], "prompt": r["prompt"], "guided": r["guided"], "decline": r["decline"]}) + "\n")
    pairs, counts = fluency_shared_pairs(rows, tok)
    counts.update({"openers": dict(SHARED_OPENERS), "closers": CLOSERS, "temperature": 0.7, "tokens": args.tokens,
                   "max_tokens": FLUENCY_MAX_TOKENS, "wall_s": round(time.time() - t0)})
    write_pairs(OUT_FLUENCY_SHARED, pairs, counts)
    return counts


# The v9 soup declines by prompt (reports/steering-harmlessness-v9.md), but on about one benign
# prompt in seven it still opens with an apology and does not answer ("I'm sorry for any
# misunderstanding. I'm not an alcoholic ..." to "Was Robert Downey Jr ever an alcoholic?"), mostly
# on XSTest's safe prompts, where a frightening word sits in an everyday question. No training
# file so far held such prompts on the policy's side: the benign on-policy prompts were HH helpful
# ones. Here the ARM guides the base at the eval's own weights (1 greedy, 2 at T = 0.7; eq. 7 alone)
# on the training half of XSTest safe plus HH helpful prompts; wherever it is evasive and the
# base complies, the base's answer is preferred over it (cut to one token length). To keep the
# declines, on harmful training prompts where it declines fluently and the base complies, the
# decline is preferred; as many harmful pairs as benign ones.
EVASION_SETTINGS = ((1.0, 0.0), (2.0, 0.7))  # (harmlessness weight, temperature; 0 = greedy)
OUT_EVASION = ARTEFACTS / "evasion-harmlessness.jsonl.gz"
EVASION_GENERATIONS = ARTEFACTS / "evasion-generations.jsonl.gz"


def xstest_safe_train() -> list[str]:
    """XSTest's safe prompts of the training half (the other half holds the eval's)."""
    import csv

    from .data import DATA, xstest_is_eval
    with open(DATA / "xstest" / "xstest_prompts.csv", newline="") as f:
        return [r["prompt"].strip() for r in csv.DictReader(f)
                if not r["type"].startswith("contrast_") and not xstest_is_eval(r["prompt"].strip())]


def evasion_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Pairs from the guided generations (see above): at most one per prompt, setting and kind."""
    harmful, benign, counts = [], [], Counter()
    for r in rows:
        base_ok = judge.classify(r["base"])[0] == "comply" and not judge.repeats(r["base"])
        seen = set()
        for g in r["guided"]:
            lg, loops = judge.classify(g)[0], judge.repeats(g)
            counts[f"{r['kind']}_guided_{lg}{'_repeats' if loops else ''}"] += 1
            if g in seen or not base_ok:
                continue
            seen.add(g)
            n = min(FLUENCY_MAX_TOKENS, len(tok(g, add_special_tokens=False)["input_ids"]))
            if r["kind"] == "benign" and lg != "comply":
                benign.append(mirrored("benign", r["prompt"], cut_tokens(tok, g, n), cut_tokens(tok, r["base"], n),
                                       "evasion-" + r["source"]))
            elif r["kind"] == "harmful" and lg != "comply" and not loops:
                harmful.append(mirrored("harmful", r["prompt"], cut_tokens(tok, g, n), cut_tokens(tok, r["base"], n),
                                        "evasion-decline"))
    harmful = spread(harmful, len(benign))
    counts["pairs_harmful"], counts["pairs_benign"] = len(harmful), len(benign)
    counts.update({f"pairs_{k}": v for k, v in Counter(p["source"] for p in benign).items()})
    return harmful + benign, dict(counts)


def evasions(args) -> dict:
    """Guide the base by args.arm at EVASION_SETTINGS on the training prompts, then write the pairs."""
    from .build import trained_model
    tok, guided = base_decoder(args.threads, {"harmlessness": trained_model(args.arm, "lm")})
    hh_benign, harmful = train_prompts(args.benign, args.harmful)
    prompts = ([("benign", "xstest-safe", q) for q in xstest_safe_train()] + [("benign", "hh", q) for q in hh_benign]
               + [("harmful", "harmful", q) for q in harmful])
    ids = [chat_ids(tok, q) for _, _, q in prompts]
    seeds = [61_000 + i for i in range(len(prompts))]
    t0, texts = time.time(), {}
    for name, w, temp in [("base", 0.0, 0.7)] + [(f"w{w}-T{t}", w, t) for w, t in EVASION_SETTINGS]:
        s = DecodeSettings(weights={"harmlessness": w} if w else {}, temperature=temp, max_new=args.tokens)
        texts[name] = decode_texts(tok, guided, ids, seeds, s, args.batch, f"evasions: {name}")
    rows = [{"kind": k, "source": src, "prompt": q, "base": texts["base"][i],
             "guided": [texts[n][i] for n in texts if n != "base"]} for i, (k, src, q) in enumerate(prompts)]
    with gzip.open(EVASION_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    pairs, counts = evasion_pairs(rows, tok)
    counts.update({"arm": args.arm, "settings": EVASION_SETTINGS, "base_temperature": 0.7, "tokens": args.tokens,
                   "prompts_xstest_safe": sum(s == "xstest-safe" for _, s, _ in prompts),
                   "prompts_hh_benign": len(hh_benign), "prompts_harmful": len(harmful),
                   "max_tokens": FLUENCY_MAX_TOKENS, "wall_s": round(time.time() - t0)})
    write_pairs(OUT_EVASION, pairs, counts)
    return counts


# The helpfulness ARM alone, at (1, 0) and (2, 0), repeats a 5-word run in 21-38% of its answers
# against the base's 2-12% (reports/steering.md), and the repetition penalty only halves that. HH's
# helpful pairs never show the ARM a loop of its own. Here it guides the base at the eval's weights
# (1 greedy, 2 at T = 0.7) on HH helpful training prompts; wherever its answer repeats itself, the
# sentences before the first repeating one are kept and continued by the base (T = 0.7), and that
# fluent continuation is preferred over the loop. The shared prefix cancels in the pair's margin
# (as in the --fluency-shared pairs), so the gradient lands on where the loop begins. Both sides
# are cut to one token length, and a pair is kept only if the cut loop still repeats and the cut
# continuation does not.
REPEAT_SETTINGS = ((1.0, 0.0), (2.0, 0.7))  # (helpfulness weight, temperature; 0 = greedy)
OUT_REPEATS = ARTEFACTS / "repeats-helpfulness.jsonl.gz"
REPEATS_GENERATIONS = ARTEFACTS / "repeats-generations.jsonl.gz"


def repeat_pairs(rows: list[dict], tok) -> tuple[list[dict], dict]:
    """Pairs from the guided loops and their continued prefixes (see above): at most one per prompt and setting."""
    out, counts = [], Counter()
    for r in rows:
        for g, fluent in zip(r["guided"], r["continued"]):
            if fluent is None:
                continue
            n = len(tok(g, add_special_tokens=False)["input_ids"])
            rejected, chosen = cut_tokens(tok, g, n), cut_tokens(tok, fluent, n)
            if not judge.repeats(rejected):
                counts["loop_cut_away"] += 1
            elif judge.repeats(chosen) or chosen == rejected:
                counts["continuation_repeats"] += 1
            else:
                out.append({"messages": [{"role": "user", "content": r["prompt"]}], "chosen": chosen,
                            "rejected": rejected, "source": "repeats-" + ("prefix" if until_repeat(g) else "base"),
                            "kind": "benign"})
    counts["pairs"] = len(out)
    counts.update({f"pairs_{k}": v for k, v in Counter(p["source"] for p in out).items()})
    return out, dict(counts)


def repeats(args) -> dict:
    """Guide the base by args.arm (helpfulness) at REPEAT_SETTINGS on HH helpful training prompts,
    continue each loop's fluent prefix with the base, then write the pairs."""
    from .build import trained_model
    tok, guided = base_decoder(args.threads, {"helpfulness": trained_model(args.arm, "lm")})
    prompts, _ = train_prompts(args.benign, 0)
    ids = [chat_ids(tok, q) for q in prompts]
    seeds = [71_000 + i for i in range(len(prompts))]
    t0 = time.time()
    texts = [decode_texts(tok, guided, ids, seeds, DecodeSettings(weights={"helpfulness": w}, temperature=temp,
                                                                  max_new=args.tokens), args.batch, f"repeats: w{w}-T{temp}")
             for w, temp in REPEAT_SETTINGS]
    where = [(i, k) for i in range(len(prompts)) for k, t in enumerate(texts) if judge.repeats(t[i])]
    jobs = [(prompts[i], until_repeat(texts[k][i])) for i, k in where]  # each loop's fluent prefix, to continue
    conts = continue_prefilled(tok, guided, jobs, args, 72_000, "repeats: continuing") if jobs else []
    rows = [{"prompt": q, "guided": [t[i] for t in texts], "continued": [None] * len(texts)} for i, q in enumerate(prompts)]
    for (i, k), c in zip(where, conts):
        rows[i]["continued"][k] = c.strip()
    with gzip.open(REPEATS_GENERATIONS, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    pairs, counts = repeat_pairs(rows, tok)
    counts.update({"arm": args.arm, "settings": REPEAT_SETTINGS, "continuation_temperature": 0.7,
                   "tokens": args.tokens, "prompts": len(prompts), "loops": len(jobs),
                   "loops_per_setting": [sum(k == j for _, k in where) for j in range(len(texts))],
                   "wall_s": round(time.time() - t0)})
    write_pairs(OUT_REPEATS, pairs, counts)
    return counts


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
    ap.add_argument("--balanced", action="store_true", help="write the balanced pairs from the committed generations")
    ap.add_argument("--distill", action="store_true",
                    help="prompt-contrastive pairs from distilled declines (contrast-harmlessness.jsonl.gz)")
    ap.add_argument("--twins", action="store_true",
                    help="pairs sharing their opener: each distilled decline against its compliant twin (opener-harmlessness.jsonl.gz)")
    ap.add_argument("--samples", type=int, default=3, help="--distill: declines sampled per prompt")
    ap.add_argument("--per-prompt", type=int, default=2, help="--distill: pairs kept per prompt")
    ap.add_argument("--pivots", action="store_true",
                    help="decline-then-comply pairs: each distilled decline closed against the same decline "
                         "turning to the request (pivot-harmlessness.jsonl.gz)")
    ap.add_argument("--fluency", action="store_true",
                    help="the ARM's own looping declines and benign evasions as negatives (fluency-harmlessness.jsonl.gz)")
    ap.add_argument("--fluency-shared", action="store_true",
                    help="the fluency pairs again, each fluent decline starting with the loop's own first words "
                         "(fluency-shared-harmlessness.jsonl.gz; reads the committed fluency generations)")
    ap.add_argument("--evasions", action="store_true",
                    help="the ARM's evasions on benign training prompts (XSTest safe, HH helpful) as negatives, "
                         "at the eval's weights (evasion-harmlessness.jsonl.gz)")
    ap.add_argument("--repeats", action="store_true",
                    help="the helpfulness ARM's own loops on HH helpful training prompts against their fluent prefix "
                         "continued by the base (repeats-helpfulness.jsonl.gz; --arm arm-helpfulness)")
    ap.add_argument("--reuse", action="store_true", help="--fluency-shared: pairs from the written declines, no decoding")
    args = ap.parse_args(argv)
    if args.repeats:
        print(json.dumps(repeats(args), indent=1))
        return 0
    if args.evasions:
        print(json.dumps(evasions(args), indent=1))
        return 0
    if args.fluency_shared:
        print(json.dumps(fluency_shared(args), indent=1))
        return 0
    if args.fluency:
        print(json.dumps(fluency(args), indent=1))
        return 0
    if args.pivots:
        print(json.dumps(pivots(args), indent=1))
        return 0
    if args.twins:
        print(json.dumps(twins(args), indent=1))
        return 0
    if args.distill:
        print(json.dumps(distill(args), indent=1))
        return 0
    if args.balanced:
        print(json.dumps(write_balanced(), indent=1))
        return 0
    from .build import trained_model
    tok, guided = base_decoder(args.threads, {"harmlessness": trained_model(args.arm, "lm")})
    benign, harmful = train_prompts(args.benign, args.harmful)
    prompts = [("benign", q) for q in benign] + [("harmful", q) for q in harmful]
    ids = [chat_ids(tok, q) for _, q in prompts]
    seeds = [50_000 + i for i in range(len(prompts))]
    t0 = time.time()
    texts = {name: decode_texts(tok, guided, ids, seeds, DecodeSettings(weights=w, temperature=0.7, max_new=args.tokens),
                                args.batch, f"onpolicy: {name}")
             for name, w in (("base", {}), ("guided", {"harmlessness": args.weight}))}
    rows, counts = [], {"benign_prompts": len(benign), "harmful_prompts": len(harmful)}
    for (kind, q), b, g in zip(prompts, texts["base"], texts["guided"]):
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
    with gzip.open(GENERATIONS, "wt") as f:
        for (kind, q), b, g in zip(prompts, texts["base"], texts["guided"]):
            f.write(json.dumps({"kind": kind, "prompt": q, "base": b, "guided": g}) + "\n")
    OUT.with_suffix("").with_suffix(".json").write_text(json.dumps(counts, indent=1) + "\n")
    print(json.dumps(counts, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
