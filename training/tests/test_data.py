"""genarm.data on the real shared data: parsing, cleaning, and the produced splits."""
from __future__ import annotations

import copy
import gzip
import json
import re
from collections import Counter
from itertools import islice

import pytest

from genarm import data
from genarm.paths import REPORTS

OBJECTIVES = ("helpfulness", "harmlessness")


def hh_lines(name: str, n: int) -> list[dict]:
    with gzip.open(data.DATA / "hh-rlhf" / name, "rt") as f:
        return [json.loads(line) for line in islice(f, n)]


@pytest.fixture(scope="module")
def banned() -> set[str]:
    return data.eval_prompts()


@pytest.mark.parametrize("name", ["helpful-base-test.jsonl.gz", "harmless-base-test.jsonl.gz"])
def test_parse_hh_on_real_lines(name):
    rows = hh_lines(name, 10**6)
    turns, malformed, irregular = Counter(), 0, 0
    for row in rows:
        for side in ("chosen", "rejected"):
            dialogue = row[side]
            parsed = data.parse_hh(dialogue)
            if parsed is None:
                # only malformed dialogues are refused: two assistant turns in a row, or a
                # misspelt speaker ("Humans:") that leaves the prompt ending on an assistant turn
                markers = re.findall(r"\n\n(\w+):", dialogue)
                assert any(a == b == "Assistant" for a, b in zip(markers, markers[1:])) \
                    or set(markers) - {"Human", "Assistant"}, dialogue[:300]
                malformed += 1
                continue
            msgs, response = parsed
            roles = [m["role"] for m in msgs]
            assert roles[0] == "user" and roles[-1] == "user"
            # a few real dialogues have two turns of one speaker in a row; they stay as they are
            irregular += any(a == b for a, b in zip(roles, roles[1:]))
            cut = dialogue.rfind("\n\nAssistant:")
            assert response == dialogue[cut + len("\n\nAssistant:"):].strip()
            assert "\n\nHuman:" not in response and "\n\nAssistant:" not in response
            # the messages and the response put back together give the dialogue again
            again = "".join(f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in msgs)
            again += f"\n\nAssistant: {response}"
            assert data.norm(again) == data.norm(dialogue)
            turns[len(msgs)] += 1
    assert malformed <= 0.01 * len(rows) and irregular <= 0.01 * len(rows), (malformed, irregular)
    assert turns[1] > 100 and sum(v for k, v in turns.items() if k >= 3) > 100, "single and multi-turn prompts"
    # hh_pairs keeps exactly the lines whose two sides both parse
    ok = sum(data.parse_hh(r["chosen"]) is not None and data.parse_hh(r["rejected"]) is not None for r in rows)
    assert len(data.hh_pairs([name], "x")) == ok
    assert data.parse_hh("\n\nHuman: no answer here") is None
    assert data.parse_hh("\n\nAssistant: hi\n\nHuman: hello\n\nAssistant: x") is None, "must start with a user turn"


@pytest.fixture(scope="module")
def real_pairs(banned) -> list[dict]:
    """Real helpful-base pairs that pass every rule on their own (checked without data.clean)."""
    pairs, seen = [], set()
    for p in data.hh_pairs(["helpful-base-test.jsonl.gz"], "hh-helpful")[:400]:
        key = (json.dumps(p["messages"]), p["chosen"], p["rejected"])
        if (p["messages_r"] == p["messages"] and p["chosen"] != p["rejected"] and p["chosen"] and p["rejected"]
                and data.norm(p["messages"][0]["content"]) not in banned and key not in seen):
            seen.add(key)
            pairs.append(p)
    assert len(pairs) > 200
    return pairs


def test_clean_drops_each_kind_and_keeps_the_rest(real_pairs, banned):
    good = real_pairs[:150]
    identical = copy.deepcopy(real_pairs[150])
    identical["rejected"] = identical["chosen"]
    other_prompt = copy.deepcopy(real_pairs[151])
    other_prompt["messages_r"] = [{"role": "user", "content": "a different question"}]
    empty = copy.deepcopy(real_pairs[152])
    empty["rejected"] = ""
    # eval overlap: a real HH dialogue whose first turn is an AlpacaEval instruction
    overlap = next(p for p in data.hh_pairs(["helpful-base-test.jsonl.gz"], "hh-helpful")
                   if data.norm(p["messages"][0]["content"]) in banned and p["messages_r"] == p["messages"]
                   and p["chosen"] != p["rejected"])
    overlap_case = copy.deepcopy(overlap)
    overlap_case["messages"][0]["content"] = "  " + overlap["messages"][0]["content"].upper() + "\n"
    overlap_case["messages_r"] = overlap_case["messages"]
    dups = [copy.deepcopy(good[3]), copy.deepcopy(good[77])]
    mixed = good[:50] + [identical, overlap] + good[50:100] + [other_prompt, dups[0], empty, overlap_case] \
        + good[100:] + [dups[1]]
    counts = Counter()
    out = data.clean(mixed, banned, counts)
    assert out == good, "exactly the good pairs survive, in order"
    assert counts == Counter(dropped_identical_or_empty=2, dropped_eval_overlap=2, dropped_different_prompts=1,
                             dropped_duplicate=2)


def test_eval_prompts_cover_every_eval_file(banned):
    alpaca = json.load(open(data.DATA / "eval" / "alpaca_eval_805.json"))
    assert all(data.norm(r["instruction"]) in banned for r in alpaca)
    held = data.xstest_eval_prompts()
    assert 150 < len(held) < 300, "about half of the 450 XSTest prompts are held for evaluation"
    assert all(data.norm(r["prompt"]) in banned for r in held)
    assert {r["unsafe"] for r in held} == {True, False}


@pytest.fixture(scope="module")
def splits() -> dict:
    report = data.build()  # returns the cached splits when .cache/data/DONE exists
    out = {"report": report}
    for obj in OBJECTIVES:
        for s in ("train", "heldout"):
            out[obj, s] = data.load_split(obj, s)
    return out


@pytest.mark.parametrize("obj", OBJECTIVES)
def test_splits_are_disjoint_held_out_and_free_of_eval_prompts(splits, banned, obj):
    train, held = splits[obj, "train"], splits[obj, "heldout"]
    tk, hk = {r["key"] for r in train}, {r["key"] for r in held}
    assert not tk & hk, "a prompt in both train and held-out"
    assert len(held) / (len(train) + len(held)) >= 0.10
    assert len(hk) / (len(tk) + len(hk)) >= 0.10
    assert not (tk | hk) & banned, "an evaluation prompt is in a training split"
    for r in train + held:
        assert len(r["prompt_ids"]) <= data.MAX_PROMPT_TOKENS
        assert 1 <= len(r["chosen_ids"]) <= data.MAX_RESPONSE_TOKENS
        assert 1 <= len(r["rejected_ids"]) <= data.MAX_RESPONSE_TOKENS
        if r["prompt_truncated"]:
            assert len(r["prompt_ids"]) == data.MAX_PROMPT_TOKENS


@pytest.mark.parametrize("obj", OBJECTIVES)
def test_split_keys_are_the_rendered_first_user_turn(splits, tokenizer, obj):
    """Decode the token ids back: the key (used for the split and the eval filter) is the first
    user turn of the rendered prompt, and every response ends with <|im_end|> unless cut."""
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    rows = [r for r in splits[obj, "train"][:300] + splits[obj, "heldout"][:100] if not r["prompt_truncated"]]
    assert len(rows) > 100
    for r in rows:
        text = tokenizer.decode(r["prompt_ids"], skip_special_tokens=False)
        m = re.search(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", text, re.S)
        assert m, text[:300]
        assert data.norm(m.group(1)) == r["key"]
        assert text.endswith("<|im_start|>assistant\n")
        for side in ("chosen_ids", "rejected_ids"):
            ids = r[side]
            assert ids[-1] == end or len(ids) == data.MAX_RESPONSE_TOKENS
    # the split is the documented deterministic hash of the key
    assert all(data.bucket(obj + ":" + r["key"]) < data.HELDOUT_PCT for r in splits[obj, "heldout"])
    assert all(data.bucket(obj + ":" + r["key"]) >= data.HELDOUT_PCT for r in splits[obj, "train"])


@pytest.mark.parametrize("obj", OBJECTIVES)
def test_counts_match_the_report(splits, obj):
    rep = json.loads((REPORTS / "data_counts.json").read_text())
    assert rep == splits["report"]
    c = rep[obj]
    for s in ("train", "heldout"):
        rows = splits[obj, s]
        assert c[f"{s}_pairs"] == len(rows)
        assert c[f"{s}_prompts"] == len({r["key"] for r in rows})
        for src, n in Counter(r["source"] for r in rows).items():
            assert c[f"{s}_{src}"] == n
    assert c["prompt_truncated"] == sum(r["prompt_truncated"] for s in ("train", "heldout") for r in splits[obj, s])
    dropped = sum(v for k, v in c.items() if k.startswith("dropped_"))
    assert c["raw_pairs"] - dropped == c["train_pairs"] + c["heldout_pairs"]
    assert c["raw_pairs"] == sum(v for k, v in c.items() if k.startswith("raw_") and k != "raw_pairs")
    assert rep["heldout_pct"] == data.HELDOUT_PCT and rep["eval_prompts_banned"] == len(data.eval_prompts())


def test_oasst_pairs_prefer_the_better_ranked_sibling():
    pairs = data.oasst_pairs()
    assert 600 < len(pairs) < 1000, len(pairs)
    assert all(p["messages"][-1]["role"] == "user" and p["chosen"] != p["rejected"] for p in pairs)
    # recompute from the first tree: its root's replies, ranked by humans (0 best)
    with open(data.DATA / "oasst" / "en_100_tree.jsonl") as f:
        root = json.loads(f.readline())["prompt"]
    ranked = sorted((r for r in root["replies"] if r.get("rank") is not None and not r.get("deleted")),
                    key=lambda r: r["rank"])
    assert len(ranked) >= 2
    got = {(p["chosen"], p["rejected"]) for p in pairs if p["messages"] == [{"role": "user", "content": root["text"].strip()}]}
    want = {(a["text"].strip(), b["text"].strip()) for a in ranked for b in ranked if a["rank"] < b["rank"]}
    assert got == want


def test_helpfulness_extra_keeps_the_helpfulness_split(splits, banned):
    """The candidate extension adds sources but leaves HH's train and held-out pairs as they are,
    so an ARM trained on it is compared with the shipped one on the same held-out pairs."""
    for s in ("train", "heldout"):
        extra = data.load_split("helpfulness-extra", s)
        assert [r for r in extra if r["source"] == "hh-helpful"] == splits["helpfulness", s]
        assert {r["source"] for r in extra} == {"hh-helpful", "xstest", "oasst"}
        assert not {r["key"] for r in extra} & banned
    tk = {r["key"] for r in data.load_split("helpfulness-extra", "train")}
    hk = {r["key"] for r in data.load_split("helpfulness-extra", "heldout")}
    assert not tk & hk


def test_helpfulness_long_is_the_same_pairs_cut_later(splits):
    """The length ablation holds the same pairs in the same split, each response cut at 192
    tokens: the 96-token side is its prefix, and longer only where the 96-token side was cut."""
    cap, long_cap = data.MAX_RESPONSE_TOKENS, data.response_cap("helpfulness-long")
    assert long_cap > cap
    longer = 0
    for s in ("train", "heldout"):
        short, long_ = splits["helpfulness", s], data.load_split("helpfulness-long", s)
        assert [(r["key"], r["prompt_ids"]) for r in long_] == [(r["key"], r["prompt_ids"]) for r in short]
        for a, b in zip(short, long_):
            for side in ("chosen_ids", "rejected_ids"):
                assert b[side][:cap] == a[side] and len(b[side]) <= long_cap
                assert len(b[side]) == len(a[side]) or len(a[side]) == cap
                longer += len(b[side]) > cap
    assert longer > 0


def test_harmlessness_v11_replays_v7_and_repeats_only_the_evasion_train_pairs(splits):
    """v11 = v7's pairs in v7's split + v10's pairs, each v10 train pair TRAIN_REPEAT times (a small
    on-policy set weighed against the replay); held-out pairs are the two sets' own, never repeated."""
    def ident(r):
        return r["key"], tuple(r["chosen_ids"]), tuple(r["rejected_ids"])
    (prefix, k), = data.TRAIN_REPEAT["harmlessness-v11"].items()
    v7, v10 = ({s: data.load_split(n, s) for s in ("train", "heldout")} for n in ("harmlessness-v7", "harmlessness-v10"))
    v11 = {s: data.load_split("harmlessness-v11", s) for s in ("train", "heldout")}
    assert sorted(map(ident, v11["heldout"])) == sorted(map(ident, v7["heldout"] + v10["heldout"]))
    rest = [r for r in v11["train"] if not r["source"].startswith(prefix)]
    assert sorted(map(ident, rest)) == sorted(map(ident, v7["train"]))
    repeated = Counter(ident(r) for r in v11["train"] if r["source"].startswith(prefix))
    assert set(repeated) == set(map(ident, v10["train"])) and set(repeated.values()) == {k}
    c = json.loads((REPORTS / "data_counts.json").read_text())["harmlessness-v11"]
    assert c["train_pairs"] == len(v11["train"]) and c[f"train_repeated_{prefix}"] == (k - 1) * len(repeated)


def test_helpfulness_v2_thins_the_hh_replay_and_repeats_the_loop_pairs(splits):
    """helpfulness-v2 = helpfulness's held-out pairs unchanged, its HH train pairs thinned evenly to
    HH_REPLAY, + the --repeats pairs, each TRAIN_REPEAT times in the train split."""
    def ident(r):
        return r["key"], tuple(r["chosen_ids"]), tuple(r["rejected_ids"])
    v2 = {s: data.load_split("helpfulness-v2", s) for s in ("train", "heldout")}
    hh = [r for r in v2["heldout"] if r["source"] == "hh-helpful"]
    assert list(map(ident, hh)) == list(map(ident, splits["helpfulness", "heldout"]))
    replay = [ident(r) for r in v2["train"] if r["source"] == "hh-helpful"]
    full = list(map(ident, splits["helpfulness", "train"]))
    assert len(replay) == data.HH_REPLAY == len(set(replay)) and set(replay) <= set(full)
    pos = sorted(full.index(x) for x in replay)  # evenly spaced over the whole train split
    assert pos[0] < len(full) // data.HH_REPLAY + 1 and pos[-1] > len(full) - len(full) // data.HH_REPLAY - 2
    (prefix, k), = data.TRAIN_REPEAT["helpfulness-v2"].items()
    loops = Counter(ident(r) for r in v2["train"] if r["source"].startswith(prefix))
    assert loops and set(loops.values()) == {k}
    assert not [r for r in v2["heldout"] if r["source"].startswith(prefix) and ident(r) in loops]
