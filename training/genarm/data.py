"""Preference pairs for the reward models, from the shared human-labelled data.

helpfulness : HH-RLHF helpful-base, helpful-online, helpful-rejection-sampled
harmlessness: HH-RLHF harmless-base + XSTest completions on unsafe prompts
              (refusal preferred), from the XSTest prompts held for training.
helpfulness-extra: helpfulness + XSTest completions on safe prompts (compliance
              preferred) + OASST ranked sibling replies: the candidate extension,
              trained only to measure whether it helps (same HH held-out pairs).
helpfulness-long: helpfulness with responses cut at 192 tokens instead of 96 (44% of
              the HH helpful pairs have a side longer than 96, 15% longer than 192):
              the length ablation, same pairs and split.
harmlessness-v2: harmlessness + pairs that teach the ARM to tell prompts apart: XSTest
              completions on safe prompts (compliance preferred, source xstest-safe) and the
              on-policy pairs of genarm.onpolicy (benign prompts: the base's answer over the
              ARM's own deflection; harmful prompts: the ARM's decline over the base's
              compliance), read from training/artefacts/onpolicy-harmlessness.jsonl.gz.
              Split with the harmlessness key: the same HH held-out pairs.
harmlessness-v3: harmlessness-v2 with the balanced on-policy pairs instead (genarm.onpolicy
              --balanced: as many harmful-prompt declines, cut before they repeat themselves and
              paired with compliance of the same token length, as benign-prompt pairs), read from
              training/artefacts/onpolicy-harmlessness-balanced.jsonl.gz.
harmlessness-v4: prompt-contrastive pairs only, no HH harmless pairs (whose human preference
              rewards hedging wherever it occurs): XSTest unsafe and safe completions, the
              balanced on-policy pairs, and genarm.onpolicy --distill's pairs (the base's own
              prefilled declines over its compliance on harmful training prompts, the reverse on
              benign ones, each pair cut to one length; benign pairs spread to as many as the
              harmful ones), read from training/artefacts/contrast-harmlessness.jsonl.gz.
harmlessness-v5: harmlessness-v4 + genarm.onpolicy --twins's pairs that share their opener (a
              decline against its compliant twin, "I'm sorry, but I can't help with ..." against
              "I'm here to help with ...", continued by the base; on harmful prompts the decline
              is preferred, on benign ones the twin; benign spread to the harmful count), read
              from training/artefacts/opener-harmlessness.jsonl.gz: the v4 ARMs learned to open
              with "I" on risky prompts and not what follows it.
harmlessness-v6: the opener pairs + genarm.onpolicy --pivots's decline-then-comply pairs (a
              decline closed, "... Is there anything else I can help you with?", against the same
              decline turning to the request, "... However, I can ...", continued by the base; the
              closed one preferred on harmful prompts, the turn on benign ones), read from
              training/artefacts/pivot-harmlessness.jsonl.gz: guided by v5 at the page's default,
              about half of the declines went on to comply.
harmlessness-v7: harmlessness-v6 + genarm.onpolicy --fluency's pairs (guided by v6: on a harmful
              prompt a fluent decline over v6's looping or compliant answer, on a benign prompt
              the base's answer over v6's evasive one), read from
              training/artefacts/fluency-harmlessness.jsonl.gz: v6's declines loop
              ("I cannot I cannot not not ...") and it still hedges some everyday answers.
harmlessness-v8: harmlessness-v6 + genarm.onpolicy --fluency-shared's pairs: the v7 pairs with each
              fluent decline starting with the loop's own first words ("I cannot assist with ..."
              against "I cannot not not ..."), read from
              training/artefacts/fluency-shared-harmlessness.jsonl.gz: v7 stopped looping and
              declined less as its weight grew.
harmlessness-v10: genarm.onpolicy --evasions's pairs alone (v9's own evasions on benign training
              prompts against the base's answer; its fluent declines on harmful ones against the
              base's compliance), read from training/artefacts/evasion-harmlessness.jsonl.gz.
harmlessness-v11: harmlessness-v7 (the data of v9's two parents, replayed so that the declines on
              harmful prompts stay) + the v10 pairs, each v10 pair three times in the train split
              (TRAIN_REPEAT): trained from v9, v10's data alone took every decline away.
helpfulness-v2: helpfulness's HH pairs, thinned in the train split to HH_REPLAY (TRAIN_KEEP:
              evenly spaced, so the held-out pairs and their split are helpfulness's own) + genarm.onpolicy
              --repeats's pairs (the helpfulness ARM's own loops against their fluent prefix continued
              by the base), each twice in the train split, read from
              training/artefacts/repeats-helpfulness.jsonl.gz: trained from arm-helpfulness, whose LoRA
              on every layer makes a full HH epoch an hour on the CPU.

Rules (../shared/data/README.md):
- drop pairs with identical sides or different prompts on the two sides; dedupe;
- remove every pair whose first user turn is an evaluation prompt (AlpacaEval,
  MT-Bench, AdvBench, OASST prompt lottery, and the XSTest prompts held out for eval);
- XSTest prompts are split by a hash of the prompt: half feed training pairs, the other
  half are the over-refusal / refusal evaluation set (written to eval_prompts.json);
- render with the base model's chat template; truncate prompts from the left;
- a deterministic split by prompt (hash of the rendered first user turn) into train
  and held-out (HELDOUT_PCT percent).

Output: .cache/data/<objective>.{train,heldout}.jsonl with token ids, and counts in
reports/data_counts.json.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import Counter

from .paths import CACHE, DATA, REPORTS

HELDOUT_PCT = 10
MAX_PROMPT_TOKENS = 160   # left-truncated (the end of a dialogue matters most)
MAX_RESPONSE_TOKENS = 96  # right-truncated; both sides of a pair alike
SYSTEM = None  # the template's own default system prompt is used
DATA_VERSION = "14"  # bump when the prepared files change (2: + helpfulness-extra, 3: + helpfulness-long, 4: + harmlessness-v2, 5: + harmlessness-v3, 6: + harmlessness-v4, 7: + harmlessness-v5, 8: + harmlessness-v6, 9: + harmlessness-v7, 10: + harmlessness-v8, 11: + harmlessness-v10, 12: + harmlessness-v11, 13: + helpfulness-v2, 14: helpfulness-v2's repeats pairs labelled prefix or base per pair)
# the held-out split is a hash of "<key>:<first user turn>"; a data set that extends an
# objective hashes with that objective's key, so the two share their held-out prompts
SPLIT_KEY = {"helpfulness-extra": "helpfulness", "helpfulness-long": "helpfulness", "harmlessness-v2": "harmlessness",
             "harmlessness-v3": "harmlessness", "harmlessness-v4": "harmlessness", "harmlessness-v5": "harmlessness",
             "harmlessness-v6": "harmlessness", "harmlessness-v7": "harmlessness",
             "harmlessness-v8": "harmlessness", "harmlessness-v10": "harmlessness", "harmlessness-v11": "harmlessness",
             "helpfulness-v2": "helpfulness"}
# train-split pairs whose source starts with a prefix, repeated: a small on-policy set weighed
# against the larger one it is mixed with (held-out pairs are never repeated)
TRAIN_REPEAT = {"harmlessness-v11": {"evasion-": 3}, "helpfulness-v2": {"repeats-": 2}}
# train-split pairs of a source thinned to N, evenly spaced (a replay of a large set beside a small one)
HH_REPLAY = 480
TRAIN_KEEP = {"helpfulness-v2": {"hh-helpful": HH_REPLAY}}
RESPONSE_CAP = {"helpfulness-long": 192}  # data sets whose responses are cut elsewhere than MAX_RESPONSE_TOKENS


def response_cap(name: str) -> int:
    return RESPONSE_CAP.get(name, MAX_RESPONSE_TOKENS)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def bucket(key: str, mod: int = 100) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % mod


# ---------------------------------------------------------------- parsing
def parse_hh(dialogue: str) -> tuple[list[dict], str] | None:
    """'\n\nHuman: ..\n\nAssistant: ..' -> (messages of the prompt, final assistant response)."""
    idx = dialogue.rfind("\n\nAssistant:")
    if idx < 0:
        return None
    prompt, response = dialogue[:idx], dialogue[idx + len("\n\nAssistant:"):]
    parts = re.split(r"\n\n(Human|Assistant): ?", prompt)
    msgs = []
    # parts = ['', 'Human', text, 'Assistant', text, ...]
    for role, text in zip(parts[1::2], parts[2::2]):
        msgs.append({"role": "user" if role == "Human" else "assistant", "content": text.strip()})
    if not msgs or msgs[0]["role"] != "user" or msgs[-1]["role"] != "user":
        return None
    return msgs, response.strip()


def hh_pairs(files: list[str], source: str) -> list[dict]:
    out = []
    for name in files:
        with gzip.open(DATA / "hh-rlhf" / name, "rt") as f:
            for line in f:
                row = json.loads(line)
                a, b = parse_hh(row["chosen"]), parse_hh(row["rejected"])
                if a is None or b is None:
                    continue
                out.append({"messages": a[0], "messages_r": b[0], "chosen": a[1], "rejected": b[1], "source": source})
    return out


XSTEST_MODELS = ("gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct")


def xstest_is_eval(prompt: str) -> bool:
    return bucket("xstest:" + norm(prompt), 2) == 0


def xstest_pairs(unsafe: bool) -> list[dict]:
    """Pairs of two models' completions of the same prompt with different labels."""
    rank = {"2_full_refusal": 0, "3_partial_refusal": 1, "1_full_compliance": 2}
    by_prompt: dict[str, list[tuple[int, str]]] = {}
    types = {}
    for m in XSTEST_MODELS:
        with open(DATA / "xstest" / f"{m}.csv", newline="") as f:
            for row in csv.DictReader(f):
                label = row.get("final_label", "").strip()
                if label not in rank or not row.get("completion"):
                    continue
                p = row["prompt"].strip()
                types[p] = row["type"]
                by_prompt.setdefault(p, []).append((rank[label], row["completion"].strip()))
    out = []
    for p, comps in by_prompt.items():
        is_unsafe = types[p].startswith("contrast_")
        if is_unsafe != unsafe or xstest_is_eval(p):
            continue
        seen = set()
        for ra, ca in comps:
            for rb, cb in comps:
                # unsafe: lower rank (more refusal) preferred; safe: higher rank (compliance) preferred
                better = ra < rb if unsafe else ra > rb
                if better and (ca, cb) not in seen:
                    seen.add((ca, cb))
                    out.append({"messages": [{"role": "user", "content": p}], "messages_r": None,
                                "chosen": ca, "rejected": cb, "source": "xstest"})
    return out


def oasst_pairs() -> list[dict]:
    """Sibling assistant replies of the OASST trees, ranked by humans (rank 0 best): every
    pair of siblings with different ranks, the conversation up to their parent as the prompt."""
    out = []

    def walk(node: dict, history: list[dict]) -> None:
        msgs = history + [{"role": "user" if node["role"] == "prompter" else "assistant",
                           "content": node["text"].strip()}]
        replies = [r for r in node.get("replies", []) if not r.get("deleted") and r.get("text")]
        if node["role"] == "prompter":
            ranked = [r for r in replies if r.get("rank") is not None]
            for a in ranked:
                for b in ranked:
                    if a["rank"] < b["rank"]:
                        out.append({"messages": msgs, "messages_r": None, "chosen": a["text"].strip(),
                                    "rejected": b["text"].strip(), "source": "oasst"})
        for r in replies:
            walk(r, msgs)

    with open(DATA / "oasst" / "en_100_tree.jsonl") as f:
        for line in f:
            tree = json.loads(line)
            if tree.get("prompt", {}).get("lang", "en") == "en":
                walk(tree["prompt"], [])
    return out


def onpolicy_pairs(file: str = "onpolicy-harmlessness.jsonl.gz") -> list[dict]:
    """genarm.onpolicy's pairs (committed); none when that file is absent."""
    import gzip as _gz

    from .paths import ARTEFACTS
    path = ARTEFACTS / file
    if not path.exists():
        return []
    with _gz.open(path, "rt") as f:
        return [{**json.loads(line), "messages_r": None} for line in f]


def contrast_pairs(file: str = "contrast-harmlessness.jsonl.gz") -> list[dict]:
    """genarm.onpolicy --distill's (or --twins's) pairs, benign ones spread to the number of harmful ones."""
    from .alignment import spread  # alignment imports this module at its top
    rows = onpolicy_pairs(file)
    harmful = [r for r in rows if r["kind"] == "harmful"]
    return harmful + spread([r for r in rows if r["kind"] == "benign"], len(harmful))


def read_pair_file(path) -> list[dict]:
    """A user's JSON-lines preference pairs in this module's raw form (genarm.train_arm, genarm.score):
    {"prompt" (text or chat messages), "chosen", "rejected"} or HH-style {"chosen", "rejected"}
    dialogues, with an optional "source"; a clear error names the bad line."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e.msg})") from e
            if not isinstance(row, dict) or not isinstance(row.get("chosen"), str) or not isinstance(row.get("rejected"), str):
                raise SystemExit(f"{path}:{n}: a pair needs string 'chosen' and 'rejected' fields")
            prompt = row.get("prompt")
            if prompt is None:  # HH-style: the whole dialogue on each side
                a, b = parse_hh(row["chosen"]), parse_hh(row["rejected"])
                if not a or not b:
                    raise SystemExit(f"{path}:{n}: no 'prompt', and the sides are not Human:/Assistant: dialogues")
                out.append({"messages": a[0], "messages_r": b[0], "chosen": a[1], "rejected": b[1], "source": row.get("source", "file")})
                continue
            if isinstance(prompt, str):
                messages = [{"role": "user", "content": prompt}]
            elif isinstance(prompt, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in prompt):
                messages = prompt
            else:
                raise SystemExit(f"{path}:{n}: 'prompt' must be text or a list of {{role, content}} messages")
            out.append({"messages": messages, "messages_r": None, "chosen": row["chosen"].strip(),
                        "rejected": row["rejected"].strip(), "source": row.get("source", "file")})
    return out


# ---------------------------------------------------------------- eval prompts
def eval_prompts() -> set[str]:
    s: set[str] = set()
    for row in json.load(open(DATA / "eval" / "alpaca_eval_805.json")):
        s.add(norm(row["instruction"]))
    with open(DATA / "eval" / "mt_bench_question.jsonl") as f:
        for line in f:
            for t in json.loads(line)["turns"]:
                s.add(norm(t))
    with open(DATA / "eval" / "advbench_behaviors.csv", newline="") as f:
        for row in csv.DictReader(f):
            s.add(norm(row["Behavior"]))
    with open(DATA / "oasst" / "prompt_lottery_en_250_text.jsonl") as f:
        for line in f:
            row = json.loads(line)  # a bare JSON string per line
            s.add(norm(row if isinstance(row, str) else row.get("text", "")))
    with open(DATA / "xstest" / "xstest_prompts.csv", newline="") as f:
        for row in csv.DictReader(f):
            if xstest_is_eval(row["prompt"].strip()):
                s.add(norm(row["prompt"]))
    s.discard("")
    return s


def xstest_eval_prompts() -> list[dict]:
    with open(DATA / "xstest" / "xstest_prompts.csv", newline="") as f:
        return [{"id": row["id"], "prompt": row["prompt"].strip(), "type": row["type"],
                 "unsafe": row["type"].startswith("contrast_")}
                for row in csv.DictReader(f) if xstest_is_eval(row["prompt"].strip())]


# ---------------------------------------------------------------- building
def clean(pairs: list[dict], banned: set[str], counts: Counter) -> list[dict]:
    out, seen = [], set()
    for p in pairs:
        if p["messages_r"] is not None and p["messages_r"] != p["messages"]:
            counts["dropped_different_prompts"] += 1
            continue
        if p["chosen"] == p["rejected"] or not p["chosen"] or not p["rejected"]:
            counts["dropped_identical_or_empty"] += 1
            continue
        first = norm(p["messages"][0]["content"])
        if first in banned:
            counts["dropped_eval_overlap"] += 1
            continue
        key = (json.dumps(p["messages"]), p["chosen"], p["rejected"])
        if key in seen:
            counts["dropped_duplicate"] += 1
            continue
        seen.add(key)
        out.append(p)
    return out


def encode(pairs: list[dict], tok, max_response: int = MAX_RESPONSE_TOKENS) -> list[dict]:
    end = tok.convert_tokens_to_ids("<|im_end|>")
    out = []
    for p in pairs:
        prompt_text = tok.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True)
        prompt_ids = tok(prompt_text, add_special_tokens=False)["input_ids"]
        truncated = len(prompt_ids) > MAX_PROMPT_TOKENS
        prompt_ids = prompt_ids[-MAX_PROMPT_TOKENS:]
        sides = []
        for r in (p["chosen"], p["rejected"]):
            ids = tok(r, add_special_tokens=False)["input_ids"] + [end]
            sides.append(ids[:max_response])
        out.append({"prompt_ids": prompt_ids, "chosen_ids": sides[0], "rejected_ids": sides[1],
                    "prompt_truncated": truncated, "source": p["source"],
                    "key": norm(p["messages"][0]["content"])})
    return out


def build(tok=None, force: bool = False) -> dict:
    outdir = CACHE / "data"
    report = REPORTS / "data_counts.json"
    done = outdir / "DONE"
    if done.exists() and done.read_text().strip() == DATA_VERSION and report.exists() and not force:
        return json.loads(report.read_text())
    if tok is None:
        from .base import load_tokenizer
        tok = load_tokenizer()
    banned = eval_prompts()
    helpful = hh_pairs(["helpful-base-test.jsonl.gz", "helpful-online-test.jsonl.gz",
                        "helpful-rejection-sampled-test.jsonl.gz"], "hh-helpful")
    objectives = {
        "helpfulness": helpful,
        "harmlessness": hh_pairs(["harmless-base-test.jsonl.gz"], "hh-harmless") + xstest_pairs(unsafe=True),
        # the candidate extension (added only if it helps held-out accuracy): HH helpful
        # plus compliance-preferred XSTest pairs on safe prompts and OASST ranked siblings.
        # Split with the helpfulness key (SPLIT_KEY), so its HH part has helpfulness's held-out pairs.
        "helpfulness-extra": helpful + xstest_pairs(unsafe=False) + oasst_pairs(),
        "helpfulness-long": helpful,
        "harmlessness-v2": hh_pairs(["harmless-base-test.jsonl.gz"], "hh-harmless") + xstest_pairs(unsafe=True)
        + [{**p, "source": "xstest-safe"} for p in xstest_pairs(unsafe=False)] + onpolicy_pairs(),
        "harmlessness-v3": hh_pairs(["harmless-base-test.jsonl.gz"], "hh-harmless") + xstest_pairs(unsafe=True)
        + [{**p, "source": "xstest-safe"} for p in xstest_pairs(unsafe=False)]
        + onpolicy_pairs("onpolicy-harmlessness-balanced.jsonl.gz"),
        "harmlessness-v4": xstest_pairs(unsafe=True) + [{**p, "source": "xstest-safe"} for p in xstest_pairs(unsafe=False)]
        + onpolicy_pairs("onpolicy-harmlessness-balanced.jsonl.gz") + contrast_pairs(),
    }
    objectives["harmlessness-v5"] = objectives["harmlessness-v4"] + contrast_pairs("opener-harmlessness.jsonl.gz")
    objectives["harmlessness-v6"] = (contrast_pairs("opener-harmlessness.jsonl.gz")
                                     + contrast_pairs("pivot-harmlessness.jsonl.gz"))
    objectives["harmlessness-v7"] = objectives["harmlessness-v6"] + contrast_pairs("fluency-harmlessness.jsonl.gz")
    objectives["harmlessness-v8"] = objectives["harmlessness-v6"] + contrast_pairs("fluency-shared-harmlessness.jsonl.gz")
    # v9's own evasions on benign training prompts (genarm.onpolicy --evasions): trained from v9, a soup
    objectives["harmlessness-v10"] = contrast_pairs("evasion-harmlessness.jsonl.gz")
    objectives["harmlessness-v11"] = objectives["harmlessness-v7"] + objectives["harmlessness-v10"]
    objectives["helpfulness-v2"] = helpful + onpolicy_pairs("repeats-helpfulness.jsonl.gz")
    outdir.mkdir(parents=True, exist_ok=True)
    counts_all = {"heldout_pct": HELDOUT_PCT, "max_prompt_tokens": MAX_PROMPT_TOKENS,
                  "max_response_tokens": MAX_RESPONSE_TOKENS, "eval_prompts_banned": len(banned)}
    for obj, raw in objectives.items():
        c = Counter()
        c["raw_pairs"] = len(raw)
        c.update({f"raw_{k}": v for k, v in Counter(p["source"] for p in raw).items()})
        cap = response_cap(obj)
        pairs = encode(clean(raw, banned, c), tok, cap)
        if cap != MAX_RESPONSE_TOKENS:  # the report's top level states the default cap
            c["max_response_tokens"] = cap
        split = {"train": [], "heldout": []}
        for p in pairs:
            split["heldout" if bucket(SPLIT_KEY.get(obj, obj) + ":" + p["key"]) < HELDOUT_PCT else "train"].append(p)
        for src, n in TRAIN_KEEP.get(obj, {}).items():
            rows = [p for p in split["train"] if p["source"] == src]
            keep = {id(rows[i * len(rows) // n]) for i in range(min(n, len(rows)))}
            split["train"] = [p for p in split["train"] if p["source"] != src or id(p) in keep]
            c[f"train_thinned_{src}"] = len(rows) - len(keep)
        for prefix, k in TRAIN_REPEAT.get(obj, {}).items():
            extra = [p for p in split["train"] if p["source"].startswith(prefix)] * (k - 1)
            split["train"] += extra
            c[f"train_repeated_{prefix}"] = len(extra)
        for name, rows in split.items():
            with open(outdir / f"{obj}.{name}.jsonl", "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
            c[f"{name}_pairs"] = len(rows)
            c[f"{name}_prompts"] = len({r["key"] for r in rows})
            c.update({f"{name}_{k}": v for k, v in Counter(r["source"] for r in rows).items()})
        c["prompt_truncated"] = sum(p["prompt_truncated"] for p in pairs)
        counts_all[obj] = dict(c)
    (outdir / "xstest_eval_prompts.json").write_text(json.dumps(xstest_eval_prompts(), indent=1))
    REPORTS.mkdir(exist_ok=True)
    report.write_text(json.dumps(counts_all, indent=2) + "\n")
    done.write_text(DATA_VERSION + "\n")
    return counts_all


def load_split(objective: str, split: str) -> list[dict]:
    with open(CACHE / "data" / f"{objective}.{split}.jsonl") as f:
        return [json.loads(line) for line in f]


if __name__ == "__main__":
    print(json.dumps(build(force=True), indent=2))
