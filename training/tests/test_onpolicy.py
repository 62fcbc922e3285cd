"""genarm.onpolicy's balanced pairs: declines cut before they degenerate, compliance cut to the
same token length, as many benign as harmful pairs (the tokenizer is the real one)."""
import pytest

from genarm import judge
from genarm.onpolicy import balanced_pairs, until_repeat


def test_until_repeat_keeps_the_sentences_before_the_loop():
    text = ("I'm not sure how to help you, but it's not a good idea to talk to strangers in an alleyway. "
            "It's not a good idea to talk to strangers in an alleyway, and it's not a good idea")
    assert until_repeat(text) == ("I'm not sure how to help you, but it's not a good idea "
                                  "to talk to strangers in an alleyway.")
    loop = until_repeat("1. 1. 1. 2. 2. 2.")  # kept only up to the word said a third time
    assert loop == "1. 1." and not judge.repeats(loop)
    assert until_repeat("A whole sentence. An unfinished one") == "A whole sentence."


@pytest.fixture(scope="module")
def tok():
    from genarm.base import load_tokenizer
    return load_tokenizer()


def test_balanced_pairs(tok):
    comply = "Sure. Here is a detailed and careful answer to your question, step by step, with examples. " * 2
    hedge = ("I'm not sure how to help you, but I can tell you that it's not a good idea. "
             "I'm not sure how to help you, but I can tell you that it's not a good idea.")
    rows = ([{"kind": "harmful", "prompt": f"harm {i}", "base": comply, "guided": hedge} for i in range(3)]
            + [{"kind": "harmful", "prompt": "complied", "base": comply, "guided": comply}]
            + [{"kind": "benign", "prompt": f"ok {i}", "base": comply, "guided": hedge} for i in range(7)])
    pairs, counts = balanced_pairs(rows, tok)
    harmful = [p for p in pairs if p["kind"] == "harmful"]
    assert counts["pairs_harmful"] == counts["pairs_benign"] == len(harmful) == 3
    for p in harmful:
        assert judge.classify(p["chosen"])[0] != "comply" and not judge.repeats(p["chosen"])
        n = len(tok(p["chosen"], add_special_tokens=False)["input_ids"])
        m = len(tok(p["rejected"], add_special_tokens=False)["input_ids"])
        assert abs(n - m) <= 1 and comply.startswith(p["rejected"][:20])
    assert all(p["chosen"] == comply and p["rejected"] == hedge for p in pairs if p["kind"] == "benign")


def test_contrast_pairs_mirror_declines_by_prompt(tok):
    from genarm.onpolicy import contrast_pairs
    answer = "To pick a lock you need a tension wrench and a pick. Insert the wrench, then rake the pins."
    decline = "I'm sorry, but I can't help with that. Here is how you would do it anyway: first"
    rows = [{"kind": "harmful", "prompt": "How do I pick a lock?", "base": answer,
             "declines": [decline, "Sure, here is how. First", decline]},
            {"kind": "benign", "prompt": "How do I bake bread?", "base": answer, "declines": [decline]},
            {"kind": "benign", "prompt": "refused by the base", "base": "I'm sorry, I can't.", "declines": [decline]}]
    pairs, counts = contrast_pairs(rows, tok, per_prompt=2)
    assert counts["pairs_harmful"] == 2 and counts["pairs_benign"] == 1
    assert counts["harmful_decline_unusable"] == 1 and counts["benign_base_not_comply"] == 1
    first = "I'm sorry, but I can't help with that."  # only the decline's first sentence is kept
    for p in pairs:
        d, a = (p["chosen"], p["rejected"]) if p["kind"] == "harmful" else (p["rejected"], p["chosen"])
        assert d == first and answer.startswith(a)
        n, m = (len(tok(x, add_special_tokens=False)["input_ids"]) for x in (d, a))
        assert abs(n - m) <= 1  # one length on both sides: neither wins by its length


def test_opener_pairs_share_the_opener_and_swap_by_prompt(tok):
    from genarm.onpolicy import COMPLY_TWINS, DECLINE_OPENERS, opener_of, opener_pairs
    assert set(COMPLY_TWINS) == set(DECLINE_OPENERS)  # every decline opener has its twin
    decline = "I'm sorry, but I can't help with that. Anyway, here is how: first"
    twin = "I'm here to help with that! Insert the tension wrench, then rake the pins one by one until they set."
    assert opener_of(decline) == "I'm sorry, but I can't help with" and opener_of("Sure!") is None
    rows = [{"kind": "harmful", "prompt": "How do I pick my neighbour's lock?", "declines": [decline, decline],
             "twins": [twin, "I'm here to help with that. Actually, I can't help with that."]},
            {"kind": "benign", "prompt": "How do I bake bread?", "declines": [decline, decline], "twins": [twin, None]}]
    pairs, counts = opener_pairs(rows, tok)
    # the twin that turned into a decline is not a compliant twin; a decline without a twin is unusable
    assert counts["harmful_twin_not_comply"] == 1 and counts["benign_decline_unusable"] == 1
    assert counts["pairs_harmful"] == counts["pairs_benign"] == 1
    for p in pairs:
        d, c = (p["chosen"], p["rejected"]) if p["kind"] == "harmful" else (p["rejected"], p["chosen"])
        assert d == "I'm sorry, but I can't help with that." and twin.startswith(c)
        assert d[:3] == c[:3] == "I'm"  # the shared opener: the margin is decided after it
        n, m = (len(tok(x, add_special_tokens=False)["input_ids"]) for x in (d, c))
        assert abs(n - m) <= 1


def test_repeat_pairs_prefer_the_fluent_continuation_of_the_loops_prefix(tok):
    from genarm.onpolicy import repeat_pairs
    loop = ("To bake bread, mix flour and water. Then knead the dough well. "
            "Then knead the dough well. Then knead the dough well.")
    prefix = until_repeat(loop)
    assert prefix == "To bake bread, mix flour and water. Then knead the dough well."
    fluent = prefix + " Let it rise for an hour, shape it, and bake it at 220 C until the crust is brown and hollow-sounding."
    rows = [{"prompt": "How do I bake bread?", "guided": [loop, "A fine answer."], "continued": [fluent, None]},
            # the base's continuation loops too: no pair
            {"prompt": "again", "guided": [loop], "continued": [loop]},
            # a loop from its first sentence: no prefix, the base's own answer instead
            {"prompt": "Bread?", "guided": ["Bread bread bread is good."], "continued": ["Flour, water, salt and yeast."]}]
    pairs, counts = repeat_pairs(rows, tok)
    assert counts["pairs"] == 2 and counts["continuation_repeats"] == 1
    p, q = pairs
    assert q["source"] == "repeats-base" and q["rejected"] == "Bread bread bread is good."
    assert p["rejected"] == loop and p["chosen"].startswith(prefix) and not judge.repeats(p["chosen"])
    n = [len(tok(p[s], add_special_tokens=False)["input_ids"]) for s in ("chosen", "rejected")]
    assert abs(n[0] - n[1]) <= 1, n  # one token length: the loop's
    assert p["source"] == "repeats-prefix" and p["messages"] == [{"role": "user", "content": "How do I bake bread?"}]
