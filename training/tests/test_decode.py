"""genarm.decode: batched eq. 7 decoding equals the one-prompt reference, left padding and shared
lower layers change nothing, and the two repetition processors follow transformers' semantics."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from genarm import guided
from genarm.build import TINY, round_lora, tiny_adapter_model, tiny_model
from genarm.decode import DecodeSettings, Guided, first_lora_layer, no_repeat_ngram_, repetition_penalty_
from genarm.model import Config, Llama


def test_repetition_penalty_hand_example():
    s = torch.tensor([[2.0, -1.0, 0.5, -3.0, 1.0, 0.0]])
    repetition_penalty_(s, [[0, 1, 1, 5]], 2.0)  # ids 0 (positive), 1 (negative), 5 (zero) were seen
    assert s.tolist() == [[1.0, -2.0, 0.5, -3.0, 1.0, 0.0]]


def test_no_repeat_ngram_bans_what_followed_the_prefix():
    seq = [3, 4, 5, 3, 4, 1, 3, 4]  # the bigram prefix (3, 4) was followed by 5 and by 1
    s = torch.zeros(1, 6)
    no_repeat_ngram_(s, [seq], 3)
    assert [i for i in range(6) if s[0, i] == -math.inf] == [1, 5]
    s = torch.zeros(1, 6)
    no_repeat_ngram_(s, [[3, 4]], 4)  # shorter than n - 1 + 1: nothing banned
    assert not torch.isinf(s).any()
    s = torch.zeros(1, 6)
    no_repeat_ngram_(s, [[2, 2, 0]], 1)  # n = 1 bans every id seen
    assert [i for i in range(6) if s[0, i] == -math.inf] == [0, 2]


def top_lora_model(seed: int, layers: int) -> Llama:
    """tiny-base plus a random LoRA on its top `layers` layers (an ARM trained on the CPU's way)."""
    base = tiny_model(1)
    cfg = Config(**{**TINY.to_dict(), "lora_layers": layers})
    m = Llama(cfg)
    m.load_state_dict(base.state_dict(), strict=False)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return round_lora(m).eval()


@pytest.fixture(scope="module")
def prompts(tokenizer):
    out = []
    for p in guided.PROMPTS[:4]:
        text = tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert len({len(p) for p in out}) > 1  # different lengths: the batch is left-padded
    return out


def test_batched_greedy_equals_one_prompt_reference(prompts):
    base = tiny_model(1).eval()
    arms = {"helpfulness": top_lora_model(10, 1), "harmlessness": top_lora_model(11, 2)}
    g = Guided(base, arms, [2], 2)
    assert g.shared == first_lora_layer(arms["harmlessness"]) == 0
    for w in ({}, {"helpfulness": 1.0}, {"helpfulness": 0.8, "harmlessness": 1.5}):
        got = g.generate(prompts, DecodeSettings(weights=w, temperature=0, max_new=12), [0, 1, 2, 3])
        for p, o in zip(prompts, got):
            ref = guided.guided_greedy(base, {k: arms[k] for k in w}, w, p, 12, eos=2)["tokens"]
            ref = ref[:-1] if ref and ref[-1] == 2 else ref
            assert o["ids"] == ref, w


def test_shared_lower_layers_change_nothing(prompts):
    base = tiny_model(1).eval()
    arms = {"helpfulness": top_lora_model(10, 1), "harmlessness": top_lora_model(11, 1)}
    g = Guided(base, arms, [2], 2)
    assert g.shared == 1  # LoRA on the top layer of 2 only: layer 0 runs once for all three models
    s = DecodeSettings(weights={"helpfulness": 1.0, "harmlessness": 2.0}, temperature=0.7, max_new=10)
    shared = g.generate(prompts, s, [5, 6, 7, 8])
    g.share_lower = False
    separate = g.generate(prompts, s, [5, 6, 7, 8])
    assert [o["ids"] for o in shared] == [o["ids"] for o in separate]


def test_prompt_cache_changes_nothing(prompts):
    """The cached prompt forward, reused by method after method (processors included, which
    write their scores in place), gives every method the tokens an uncached run gives it."""
    base = tiny_model(1).eval()
    arms = {"helpfulness": top_lora_model(10, 1), "harmlessness": top_lora_model(11, 2)}
    plain, cached = Guided(base, arms, [2], 2), Guided(base, arms, [2], 2, cache_prompts=True)
    runs = [DecodeSettings(weights=w, temperature=t, max_new=10, repetition_penalty=rp, no_repeat_ngram_size=ng)
            for w in ({}, {"helpfulness": 1.0}, {"helpfulness": 0.5, "harmlessness": 2.0})
            for t, rp, ng in ((0, 1.3, 2), (0.7, 1.0, 0), (0, 1.0, 0))]
    for s in runs + runs[::-1]:
        assert [o["ids"] for o in cached.generate(prompts, s, [3, 4, 5, 6])] == \
            [o["ids"] for o in plain.generate(prompts, s, [3, 4, 5, 6])], s
    # one prompt forward per (shared layers: 2, 1, 0) and per model above them (1 + 2 + 3)
    assert len(cached._prompt_cache) == 3 + 6


def test_sampling_uses_common_random_numbers(prompts):
    base = tiny_model(1).eval()
    g = Guided(base, {}, [2], 2)
    s = DecodeSettings(temperature=1.0, max_new=10)
    a = g.generate(prompts, s, [1, 2, 3, 4])
    b = g.generate(prompts[::-1], s, [4, 3, 2, 1])  # a row's draw depends on its seed, not its place
    assert [o["ids"] for o in a] == [o["ids"] for o in b[::-1]]
    c = g.generate(prompts, s, [11, 12, 13, 14])
    assert [o["ids"] for o in a] != [o["ids"] for o in c]


def test_processors_change_greedy_output_and_ngram_holds(tokenizer):
    base = tiny_model(1).eval()
    arms = {"helpfulness": tiny_adapter_model(10, "lm").eval(), "harmlessness": tiny_adapter_model(11, "lm").eval()}
    g = Guided(base, arms, [2], 2)
    # strong weights make the tiny suite loop (tiny suite v4, GGUF-block weights: on this prompt)
    strong = {"helpfulness": 5.0, "harmlessness": 5.0}
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Name three colours."}],
                                         tokenize=False, add_generation_prompt=True)
    prompts = [tokenizer(text, add_special_tokens=False)["input_ids"]] * 4
    plain = g.generate(prompts, DecodeSettings(weights=strong, temperature=0, max_new=24), [0] * 4)
    banned = g.generate(prompts, DecodeSettings(weights=strong, temperature=0, max_new=24, no_repeat_ngram_size=2), [0] * 4)

    def repeats_bigram(p, ids):
        """Some generated token completes a bigram that occurred earlier (prompt included)."""
        seq = p + ids
        return any(tuple(seq[j - 1:j + 1]) in {tuple(seq[i:i + 2]) for i in range(j - 1)}
                   for j in range(len(p), len(seq)))

    assert any(repeats_bigram(p, o["ids"]) for p, o in zip(prompts, plain))
    assert not any(repeats_bigram(p, o["ids"]) for p, o in zip(prompts, banned))
    pen = g.generate(prompts, DecodeSettings(weights=strong, temperature=0, max_new=24, repetition_penalty=1.5), [0] * 4)
    assert [o["ids"] for o in pen] != [o["ids"] for o in plain]
    assert replace(DecodeSettings(), max_new=1).repetition_penalty == 1.0  # the paper's setting is the default
