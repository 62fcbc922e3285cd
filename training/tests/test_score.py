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


def test_every_harmlessness_source_has_a_prompt_kind():
    """Each source of the committed harmlessness data counts in the harmful- or benign-prompt group
    (a new source that neither rule names would silently drop out of both)."""
    from genarm.paths import REPORTS
    from genarm.score import prompt_kind
    counts = json.loads((REPORTS / "data_counts.json").read_text())
    sources = {k.removeprefix("raw_") for name, c in counts.items() if name.startswith("harmlessness")
               for k in c if k.startswith("raw_") and k != "raw_pairs"}
    assert {"hh-harmless", "xstest", "xstest-safe", "pivot-benign", "opener-harmful"} <= sources
    kinds = {s: prompt_kind(s) for s in sources}
    assert None not in kinds.values(), kinds
    assert kinds["xstest-safe"] == "benign" and kinds["xstest"] == "harmful" and kinds["hh-harmless"] == "harmful"
    assert prompt_kind("hh-helpful") is None


def test_into_artefact_records_each_data_set_and_keeps_the_rest(tmp_path, monkeypatch):
    """--into-artefact: a second data set is added beside the first, the artefact's other fields stay."""
    import pytest

    from genarm import score
    monkeypatch.setattr(score, "ARTEFACTS", tmp_path)
    (tmp_path / "arm-x.json").write_text(json.dumps({"kind": "arm", "heldout": {"n": 3, "accuracy": 0.5}}))
    acc = {"n": 4, "accuracy": 0.75, "ci95": [0.3, 0.95]}
    score.write_into_artefact("arm-x", "harmlessness-v5", "heldout",
                              {"kind": "arm", "all": acc, "benign-prompt pairs": acc, "seconds": 2})
    score.write_into_artefact("arm-x", "harmlessness-v8", "heldout", {"kind": "arm", "all": acc})
    meta = json.loads((tmp_path / "arm-x.json").read_text())
    assert meta["heldout"] == {"n": 3, "accuracy": 0.5}
    assert meta["heldout_scored"] == {"harmlessness-v5": {"all": acc, "benign-prompt pairs": acc},
                                      "harmlessness-v8": {"all": acc}}
    assert meta["heldout_scored_by"] == ["python -m genarm.score --data harmlessness-v5",
                                         "python -m genarm.score --data harmlessness-v8"]
    with pytest.raises(SystemExit) as e:  # a pair file has no name to record it under
        score.main(["--pairs", str(tmp_path / "p.jsonl"), "--models", "arm-x", "--into-artefact"])
    assert e.value.code == 2
