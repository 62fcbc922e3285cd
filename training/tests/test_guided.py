"""genarm.guided: the decoding rule, alpha = 0 gives the base, and the committed golden vectors."""
from __future__ import annotations

import json

import pytest
import torch

from genarm import guided
from genarm.build import tiny_adapter_model, tiny_model
from genarm.paths import GOLDEN


@pytest.fixture(scope="module")
def tiny_suite():
    base = tiny_model(1).eval()
    arms = {}
    for obj, seed in (("helpfulness", 10), ("harmlessness", 11)):
        m = tiny_adapter_model(seed, "lm")
        m.merge_lora()
        arms[obj] = m.eval()
    return base, arms


@pytest.fixture(scope="module")
def prompts(tokenizer):
    out = []
    for p in guided.PROMPTS[:3]:
        text = tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return out


@torch.no_grad()
def full_pass_logp(model, ids: list[int]) -> torch.Tensor:
    """log_softmax of the next token after `ids`, from a full pass with no cache."""
    logits, _ = model(torch.tensor([ids]))
    return torch.log_softmax(logits[0, -1].float(), -1)


def reference_decode(base, arms, weights, prompt, n, eos):
    """eq. 7 greedy without any KV cache: every step re-reads the whole sequence."""
    ids, out = list(prompt), []
    for _ in range(n):
        score = full_pass_logp(base, ids)
        for k, m in arms.items():
            if weights.get(k, 0.0):
                score = score + weights[k] * full_pass_logp(m, ids)
        t = int(torch.argmax(score))
        out.append(t)
        if t == eos:
            break
        ids.append(t)
    return out


def test_zero_weights_give_plain_greedy_of_the_base(tiny_suite, prompts):
    base, arms = tiny_suite
    eos = base.cfg.eos_token_id
    for ids in prompts:
        r = guided.guided_greedy(base, arms, {"helpfulness": 0.0, "harmlessness": 0.0}, ids, 16, eos)
        plain = guided.guided_greedy(base, {}, {}, ids, 16, eos)
        assert r["tokens"] == plain["tokens"] == reference_decode(base, {}, {}, ids, 16, eos)
        assert len(r["tokens"]) >= 1
        # the recorded log-probs are the base's and each ARM's for the chosen token
        seq = list(ids)
        for j, t in enumerate(r["tokens"][:6]):
            assert abs(r["logprob_base"][j] - float(full_pass_logp(base, seq)[t])) <= 1e-4
            for k, m in arms.items():
                assert abs(r["logprob_arms"][k][j] - float(full_pass_logp(m, seq)[t])) <= 1e-4
            seq.append(t)


def test_weighted_guidance_follows_eq7(tiny_suite, prompts):
    base, arms = tiny_suite
    eos = base.cfg.eos_token_id
    differs = 0
    for w in ({"helpfulness": 1.0, "harmlessness": 0.0}, {"helpfulness": 0.8, "harmlessness": 4.0}):
        for ids in prompts[:2]:
            got = guided.guided_greedy(base, arms, w, ids, 12, eos)["tokens"]
            assert got == reference_decode(base, arms, w, ids, 12, eos)
            differs += got != reference_decode(base, {}, {}, ids, 12, eos)
    assert differs >= 1, "the ARMs must be able to change the output (else this test shows nothing)"


def test_golden_tiny_matches_a_fresh_recomputation(tmp_path, monkeypatch):
    committed = json.loads((GOLDEN / "tiny.json").read_text())
    monkeypatch.setattr(guided, "GOLDEN", tmp_path)
    fresh = guided.write_golden("tiny", committed["max_new_tokens"])
    assert json.loads((tmp_path / "tiny.json").read_text()) == fresh
    assert {k: v for k, v in fresh.items() if k != "cases"} == {k: v for k, v in committed.items() if k != "cases"}
    assert len(fresh["cases"]) == len(committed["cases"]) == len(guided.PROMPTS) * len(guided.WEIGHTS)
    for a, b in zip(fresh["cases"], committed["cases"]):
        where = (b["prompt"], b["weights"])
        assert (a["prompt"], a["weights"], a["prompt_ids"]) == (b["prompt"], b["weights"], b["prompt_ids"])
        assert a["tokens"] == b["tokens"], where
        assert a["text"] == b["text"], where
        # fp32 log-probs of -8 to -10 recomputed on another machine (thread count, reduction order)
        # move by ~1e-4 (seen: 1.15e-4, relative 1.3e-5): tokens and text above are the exact check
        assert a["logprob_base"] == pytest.approx(b["logprob_base"], abs=1e-4, rel=5e-5), where
        for k in b["logprob_arms"]:
            assert a["logprob_arms"][k] == pytest.approx(b["logprob_arms"][k], abs=1e-4, rel=5e-5), where
    # the alpha = 0 cases of the golden file are the base's plain greedy
    zero = [c for c in committed["cases"] if not any(c["weights"].values())]
    assert len(zero) == len(guided.PROMPTS)
    base = tiny_model(1).eval()
    for c in zero[:2]:
        assert c["tokens"] == reference_decode(base, {}, {}, c["prompt_ids"], committed["max_new_tokens"],
                                               base.cfg.eos_token_id)
