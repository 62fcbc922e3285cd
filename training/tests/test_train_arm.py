"""genarm.train_arm on a handful of pairs: both line formats read, a held-out split, two steps on
the real base, a PEFT folder that genarm.peft_adapter validates, and bad files named by line."""
import json

import pytest

from genarm.data import read_pair_file as read_pairs
from genarm.peft_adapter import base_config, read_peft
from genarm.train_arm import main


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_trains_a_peft_arm_on_a_few_pairs(tmp_path, monkeypatch):
    monkeypatch.setattr("genarm.train.CHECKPOINTS", tmp_path / "ck")
    rows = [{"prompt": f"Name a colour number {i}.", "chosen": "Blue.", "rejected": "I am not sure I can help."}
            for i in range(10)]
    rows.append({"chosen": "\n\nHuman: Say hi.\n\nAssistant: Hi!", "rejected": "\n\nHuman: Say hi.\n\nAssistant: No."})
    pairs = write(tmp_path / "p.jsonl", rows)
    assert len(read_pairs(pairs)) == 11
    out = tmp_path / "arm"
    assert main(["--pairs", str(pairs), "--name", "colour", "--out", str(out), "--steps", "2", "--batch", "4",
                 "--lora-layers", "2"]) == 0
    cfg, tensors = read_peft(out, base_config())
    assert cfg["layers_to_transform"] == [28, 29] and len(tensors) == 2 * 7 * 2
    rep = json.loads((out / "report.json").read_text())
    assert rep["steps"] == 2 and rep["train_pairs"] + rep["heldout_pairs"] == 11 and rep["heldout_pairs"] >= 1
    assert 0 <= rep["heldout_arm"]["accuracy"] <= 1 and rep["heldout_base"]["n"] == rep["heldout_pairs"]


@pytest.mark.parametrize("line,reason", [
    ("{not json", "p.jsonl:2: not JSON"),
    (json.dumps({"prompt": "x", "chosen": 3, "rejected": "y"}), "p.jsonl:2: a pair needs string"),
    (json.dumps({"chosen": "just text", "rejected": "other"}), "p.jsonl:2: no 'prompt'"),
])
def test_bad_lines_are_named(tmp_path, line, reason):
    pairs = write(tmp_path / "p.jsonl", [{"prompt": "a", "chosen": "b", "rejected": "c"}, line])
    with pytest.raises(SystemExit, match=reason):
        read_pairs(pairs)
