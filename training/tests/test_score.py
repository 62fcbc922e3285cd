"""genarm.score reads both pair formats into the training data's encoding."""
from __future__ import annotations

import json

from genarm.score import read_pairs


def test_read_pairs_takes_prompt_triples_and_hh_dialogues(tmp_path, tokenizer):
    f = tmp_path / "pairs.jsonl"
    rows = [{"prompt": "How do I boil an egg?", "chosen": "Boil it for 8 minutes.", "rejected": "No idea."},
            {"chosen": "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?",
             "rejected": "\n\nHuman: Hi there\n\nAssistant: Go away."},
            {"chosen": "\n\nHuman: A\n\nAssistant: x", "rejected": "\n\nHuman: B\n\nAssistant: y"}]  # prompts differ: dropped
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    pairs = read_pairs(str(f), tokenizer)
    assert len(pairs) == 2
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for p in pairs:
        assert p["chosen_ids"][-1] == end and p["rejected_ids"][-1] == end
        assert tokenizer.decode(p["prompt_ids"]).rstrip().endswith("assistant")
    assert tokenizer.decode(pairs[0]["chosen_ids"][:-1]) == "Boil it for 8 minutes."
