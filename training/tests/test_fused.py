"""genarm.fused on the tiny suite: every row of the fused graph equals its separately exported
model (fp32, within 1e-3 in log-probs), with the adapters read from their float16 files."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import THREADS

from genarm import export, fused
from genarm.build import TINY, round_lora, tiny_adapter_model, tiny_model, write_adapter

L = TINY.num_layers


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("fused")
    fused.export_fused(tiny_model(1).eval(), d / "fused.onnx", TINY.lora_rank)
    arms, files = [], []
    for i, seed in enumerate((10, 11)):
        arm = tiny_adapter_model(seed, "lm")
        files.append(d / f"arm{i}.lora.bin")
        write_adapter(arm, files[-1])
        arm.merge_lora()
        export.export_fp32(arm.eval(), d / f"arm{i}.onnx")
        arms.append(d / f"arm{i}.onnx")
    export.export_fp32(tiny_model(1).eval(), d / "base.onnx")
    return {"fused": d / "fused.onnx", "separate": [d / "base.onnx", *arms], "files": files}


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def feeds_for(ids, past_len=0, rows=1):
    b, s = ids.shape
    f = {"input_ids": ids, "attention_mask": np.ones((b, past_len + s), np.int64),
         "position_ids": np.arange(past_len, past_len + s, dtype=np.int64)[None].repeat(b, 0)}
    for i in range(L):
        for kv in ("key", "value"):
            f[f"past_key_values.{i}.{kv}"] = np.zeros((b, TINY.num_kv_heads, past_len, TINY.head_dim), np.float32)
    return f


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_inputs_are_per_layer(graphs):
    names = {i.name for i in session(graphs["fused"]).get_inputs()}
    for l in range(L):
        for t in fused.LORA_TARGETS:
            assert f"lora.{l}.{t}.A" in names and f"lora.{l}.{t}.B" in names
    assert not any(n.startswith("lora.") and n.count(".") == 2 for n in names), "no stacked [L,R,...] inputs"


def test_adapter_file_is_float16_and_round_trips(graphs, tmp_path):
    """The file holds exactly the fp16-rounded LoRA values the merged ARM was exported from."""
    arm = tiny_adapter_model(10, "lm")
    again = round_lora(tiny_adapter_model(10, "lm"))  # rounding is idempotent
    for (n, p), (_, q) in zip(arm.named_parameters(), again.named_parameters()):
        assert torch.equal(p, q), n
    arrays = fused.adapter_arrays(graphs["files"][:1], tiny_model(1), TINY.lora_rank, dtype="<f2")
    lin = arm.layers[0].self_attn.q_proj
    np.testing.assert_array_equal(arrays["lora.0.q_proj.A"][1], lin.lora_A.detach().numpy().T)
    np.testing.assert_allclose(arrays["lora.0.q_proj.B"][1], (lin.lora_B * lin.scale).detach().numpy().T, rtol=0, atol=0)
    assert not arrays["lora.0.q_proj.A"][0].any(), "row 0 is the base: zero adapter"
    n_values = sum(TINY.lora_rank * (i + o) for o, i in fused.target_shapes(arm).values()) * L
    assert graphs["files"][0].stat().st_size == 2 * n_values


def test_each_row_equals_its_separate_model(graphs):
    """Rows [base, arm0, arm1] in one batch: prompt then two cached steps, log-probs within 1e-3."""
    rng = np.random.default_rng(0)
    prompt = rng.integers(0, TINY.vocab_size, (1, 7))
    steps = [rng.integers(0, TINY.vocab_size, (1, 1)) for _ in range(2)]
    arrays = fused.adapter_arrays(graphs["files"], tiny_model(1), TINY.lora_rank, dtype="<f2")
    fs = session(graphs["fused"])
    R = 3
    f = feeds_for(np.repeat(prompt, R, 0))
    f.update(arrays)
    out = fs.run(None, f)
    fused_lp = [log_softmax(out[0])]
    past = out[1:]
    for k, tok in enumerate(steps):
        f = feeds_for(np.repeat(tok, R, 0), past_len=7 + k)
        for i in range(L):
            f[f"past_key_values.{i}.key"], f[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
        f.update(arrays)
        out = fs.run(None, f)
        fused_lp.append(log_softmax(out[0]))
        past = out[1:]
    for row, path in enumerate(graphs["separate"]):
        s = session(path)
        out = s.run(None, feeds_for(prompt))
        sep = [log_softmax(out[0])]
        past = out[1:]
        for k, tok in enumerate(steps):
            f = feeds_for(tok, past_len=7 + k)
            for i in range(L):
                f[f"past_key_values.{i}.key"], f[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
            out = s.run(None, f)
            sep.append(log_softmax(out[0]))
            past = out[1:]
        for a, b in zip(fused_lp, sep):
            diff = float(np.abs(a[row] - b[0]).max())
            assert diff <= 1e-3, f"row {row}: max |log-prob diff| {diff:.2e}"
