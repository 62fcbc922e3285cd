"""genarm.soup: the stacked-rank adapter's weight change is exactly (1 - t) ΔW_a + t ΔW_b."""
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from genarm import soup as soup_mod

LORA = {"lora_rank": 4, "lora_alpha": 8.0, "lora_dropout": 0.05, "lora_layers": 1}


def write(d, name, seed, lora=LORA, objective="harmlessness"):
    g = torch.Generator().manual_seed(seed)
    r = lora["lora_rank"]
    t = {"layers.0.mlp.down_proj.lora_A": torch.randn(r, 12, generator=g),
         "layers.0.mlp.down_proj.lora_B": torch.randn(6, r, generator=g)}
    save_file(t, d / f"{name}.safetensors")
    (d / f"{name}.json").write_text(json.dumps({"kind": "arm", "objective": objective, "lora": lora, "data": name}))
    return t


def delta(t, lora):
    return lora["lora_alpha"] / lora["lora_rank"] * t["layers.0.mlp.down_proj.lora_B"] @ t["layers.0.mlp.down_proj.lora_A"]


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_soup_delta_is_the_interpolation(tmp_path, monkeypatch, t):
    monkeypatch.setattr(soup_mod, "ARTEFACTS", tmp_path)
    a, b = write(tmp_path, "a", 1), write(tmp_path, "b", 2)
    meta = soup_mod.soup("a", "b", t, "ab")
    got = load_file(tmp_path / "ab.safetensors")
    assert meta["lora"]["lora_rank"] == 8 and meta["lora"]["lora_alpha"] == 16.0
    want = (1 - t) * delta(a, LORA) + t * delta(b, LORA)
    assert torch.allclose(delta(got, meta["lora"]), want, atol=1e-5)
    assert json.loads((tmp_path / "ab.json").read_text())["soup"] == {"a": "a", "b": "b", "t": t}


def test_soup_refuses_mismatched_artefacts(tmp_path, monkeypatch):
    monkeypatch.setattr(soup_mod, "ARTEFACTS", tmp_path)
    write(tmp_path, "a", 1)
    write(tmp_path, "c", 2, lora=dict(LORA, lora_alpha=4.0))
    write(tmp_path, "d", 3, objective="helpfulness")
    with pytest.raises(SystemExit, match="alpha/r"):
        soup_mod.soup("a", "c", 0.5, "x")
    with pytest.raises(SystemExit, match="objective"):
        soup_mod.soup("a", "d", 0.5, "x")
    with pytest.raises(SystemExit, match=r"\[0, 1\]"):
        soup_mod.soup("a", "a", 1.5, "x")


def test_soup_rank_truncation_is_the_best_low_rank_delta(tmp_path, monkeypatch):
    monkeypatch.setattr(soup_mod, "ARTEFACTS", tmp_path)
    a, b = write(tmp_path, "a", 1), write(tmp_path, "b", 2)
    meta = soup_mod.soup("a", "b", 0.7, "ab4", rank=4)
    got = load_file(tmp_path / "ab4.safetensors")
    assert meta["lora"]["lora_rank"] == 4 and meta["lora"]["lora_alpha"] == 8.0
    want = 0.3 * delta(a, LORA) + 0.7 * delta(b, LORA)
    s = torch.linalg.svdvals(want.double())
    best = float(s[4:].square().sum().sqrt())  # Eckart-Young: the error of the best rank-4 approximation
    assert abs(float((delta(got, meta["lora"]) - want).norm()) - best) < 1e-4 * float(s.norm())
    err = meta["soup"]["truncation_rel_error"]["layers.0.mlp.down_proj"]
    assert abs(err - best / float(s.square().sum().sqrt())) < 1e-5
