"""genarm.transport: recipes found by value, the weightless graph, the bit-exact check.

A tiny GGUF written with gguf-py's GGUFWriter (Q4_1, Q8_0 and F32 tensors, llama head counts)
and a small ONNX graph whose initializers are those tensors dequantized, rotary-unpermuted and
transposed the ways the real export stores them; then the real SmolLM2 GGUF and fp32 graph when
they are present (marked `real`).
"""
from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import THREADS
from gguf import GGMLQuantizationType as QT
from onnx import TensorProto, helper, numpy_helper

from genarm import transport
from genarm.transport import Op, TransportError

HEADS, KV_HEADS, DIM = 2, 1, 64


def deq(name_to_q: dict, name: str) -> np.ndarray:
    data, qtype = name_to_q[name]
    return gguf.dequantize(data, qtype).astype(np.float32)


@pytest.fixture()
def tiny(tmp_path: Path):
    """(gguf path, graph path, {initializer: expected recipe}) for a llama-like toy."""
    rng = np.random.default_rng(0)
    tensors = {
        "token_embd.weight": (rng.normal(size=(40, DIM)).astype(np.float32), QT.Q8_0),
        "blk.0.attn_q.weight": (rng.normal(size=(32, DIM)).astype(np.float32), QT.Q4_1),   # 2 heads x 2 halves x 8
        "blk.0.attn_k.weight": (rng.normal(size=(16, DIM)).astype(np.float32), QT.Q4_1),   # 1 kv head x 2 halves x 8
        "blk.0.attn_output.weight": (rng.normal(size=(DIM, 32)).astype(np.float32), QT.Q4_1),
        "blk.0.attn_norm.weight": (rng.normal(size=(DIM,)).astype(np.float32), QT.F32),
    }
    path = tmp_path / "toy.gguf"
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    q = {}
    for name, (arr, qtype) in tensors.items():
        data = arr if qtype == QT.F32 else gguf.quantize(arr, qtype)
        q[name] = (data, qtype)
        w.add_tensor(name, data, raw_dtype=None if qtype == QT.F32 else qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    def unpermute(x, h):  # transformers' own implementation, not ours
        from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor
        return LlamaTensorProcessor()._reverse_permute_weights(x, h, h)

    emb = deq(q, "token_embd.weight")
    inits = {
        "emb": emb,                                                            # Gather table: as is
        "lm_head": emb.T.copy(),                                               # tied head: transposed
        "wq": unpermute(deq(q, "blk.0.attn_q.weight"), HEADS).T.copy(),        # Q: rope + transpose
        "wk": unpermute(deq(q, "blk.0.attn_k.weight"), KV_HEADS).T.copy(),     # K: rope (kv heads) + transpose
        "wo": deq(q, "blk.0.attn_output.weight").T.copy(),                     # plain MatMul weight
        "norm": deq(q, "blk.0.attn_norm.weight"),
        "bias": rng.normal(size=(DIM,)).astype(np.float32),                    # not from the GGUF: stays inline
    }
    expected = {
        "emb": ("token_embd.weight", []), "lm_head": ("token_embd.weight", [Op("transpose")]),
        "wq": ("blk.0.attn_q.weight", [Op("rope_unpermute", HEADS), Op("transpose")]),
        "wk": ("blk.0.attn_k.weight", [Op("rope_unpermute", KV_HEADS), Op("transpose")]),
        "wo": ("blk.0.attn_output.weight", [Op("transpose")]), "norm": ("blk.0.attn_norm.weight", []),
    }
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["x0"], axis=0),
        helper.make_node("Mul", ["x0", "norm"], ["x"]),
        helper.make_node("MatMul", ["x", "wq"], ["q"]),
        helper.make_node("MatMul", ["x", "wk"], ["k"]),
        helper.make_node("MatMul", ["q", "wo"], ["o0"]),
        helper.make_node("Add", ["o0", "bias"], ["o"]),
        helper.make_node("MatMul", ["o", "lm_head"], ["logits"]),
    ]
    f = TensorProto.FLOAT
    g = helper.make_graph(nodes, "toy", [helper.make_tensor_value_info("ids", TensorProto.INT64, [None])],
                          [helper.make_tensor_value_info(n, f, None) for n in ("logits", "k")],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    graph = tmp_path / "toy.onnx"
    onnx.save(model, str(graph))
    return path, graph, expected


def run(graph: Path) -> list[np.ndarray]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    s = ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"])
    return s.run(None, {"ids": np.array([0, 7, 39, 3], dtype=np.int64)})


def test_rope_unpermute_is_transformers_gguf_loader(tmp_path):
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor
    x = np.arange(18 * 5, dtype=np.float32).reshape(18, 5)
    for h in (1, 3, 9):
        assert np.array_equal(transport.rope_unpermute(x, h), LlamaTensorProcessor()._reverse_permute_weights(x, h, h))


def test_q4_1_and_q8_0_are_float32_d_times_q_plus_m(tiny):
    """The arithmetic src/engine/gguf-expand.ts reproduces: gguf-py's numpy float32 d*q + m."""
    path, _, _ = tiny
    src = transport.GgufSource(path)
    raw = src.tensors["blk.0.attn_q.weight"].data.reshape(-1, 20)
    d, m = raw[:, 0:2].copy().view(np.float16).astype(np.float32), raw[:, 2:4].copy().view(np.float16).astype(np.float32)
    qs = raw[:, 4:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)  # low nibbles first, then high
    assert np.array_equal(src.dequantize("blk.0.attn_q.weight").reshape(-1, 32).view(np.uint32),
                          (d * q + m).astype(np.float32).view(np.uint32))
    raw8 = src.tensors["token_embd.weight"].data.reshape(-1, 34)
    d8 = raw8[:, 0:2].copy().view(np.float16).astype(np.float32)
    q8 = raw8[:, 2:].copy().view(np.int8).astype(np.float32)
    assert np.array_equal(src.dequantize("token_embd.weight").reshape(-1, 32), q8 * d8)


def test_discovers_each_recipe_and_keeps_the_rest_inline(tiny, tmp_path):
    path, graph, expected = tiny
    out = tmp_path / "out"
    layout = transport.write_transport(graph, path, out, max_inline_bytes=1 << 20, log=lambda *_: None)
    got = {e["name"]: (e["source"], [Op.from_json(o) for o in e["ops"]]) for e in layout["tensors"]}
    assert got == expected
    assert layout["inline"]["initializers"] == 1  # the bias
    for e in layout["tensors"]:
        assert e["offset"] % transport.ALIGNMENT == 0
    saved = json.loads((out / transport.LAYOUT_NAME).read_text())
    assert saved == layout
    # the graph file holds no weight bytes; with the data file beside it ORT computes the same
    light = onnx.load(str(out / transport.GRAPH_NAME), load_external_data=False)
    assert {t.name for t in light.graph.initializer if t.data_location == TensorProto.EXTERNAL} == set(expected)
    assert all(not t.raw_data for t in light.graph.initializer if t.name in expected)
    for a, b in zip(run(graph), run(out / transport.GRAPH_NAME)):
        assert np.array_equal(a, b)


def test_one_ulp_off_is_not_a_match(tiny, tmp_path):
    """Discovery is bit-for-bit: a weight one ulp away from the GGUF's stays inline (and a
    float initializer of max_inline_bytes or more that stays inline is an error)."""
    path, graph, _ = tiny
    m = onnx.load(str(graph))
    t = next(t for t in m.graph.initializer if t.name == "wo")
    a = numpy_helper.to_array(t).copy()
    a.flat[5] = np.nextafter(a.flat[5], np.float32(np.inf))
    t.CopyFrom(numpy_helper.from_array(a, "wo"))
    off = tmp_path / "off.onnx"
    onnx.save(m, str(off))
    layout = transport.write_transport(off, path, tmp_path / "a", max_inline_bytes=1 << 20, log=lambda *_: None)
    assert "wo" not in {e["name"] for e in layout["tensors"]}
    with pytest.raises(TransportError, match="match no tensor"):
        transport.write_transport(off, path, tmp_path / "b", max_inline_bytes=a.nbytes, log=lambda *_: None)


def test_verify_fails_loudly_on_a_changed_byte(tiny, tmp_path):
    path, graph, _ = tiny
    out = tmp_path / "out"
    layout = transport.write_transport(graph, path, out, log=lambda *_: None)
    transport.verify(layout, path, out / transport.DATA_NAME, reference=graph)  # the intact pair passes
    data = out / transport.DATA_NAME
    intact = data.read_bytes()
    blob = bytearray(intact)
    e = next(e for e in layout["tensors"] if e["name"] == "wq")
    blob[e["offset"] + 9] ^= 0x01
    data.write_bytes(bytes(blob))
    with pytest.raises(TransportError, match=r"wq: blk.0.attn_q.weight .* differs from the external data"):
        transport.verify(layout, path, data)
    # a wrong recipe in the layout is caught against the original graph too
    data.write_bytes(intact)
    bad = json.loads(json.dumps(layout))
    for t in bad["tensors"]:
        if t["name"] == "wq":
            t["ops"] = [{"op": "transpose"}]
    with pytest.raises(TransportError, match="wq"):
        transport.verify(bad, path, data, reference=graph)


# ------------------------------------------------------------------ the real files
@pytest.mark.real
def test_smollm2_every_weight_comes_from_the_gguf(tmp_path):
    from genarm.base import BASE_ID, GGUF_NAME
    from genarm.build import variant_path
    from genarm.paths import CACHE
    gg = CACHE / "gguf" / Path(GGUF_NAME).name
    graph = variant_path(BASE_ID, "fp32")
    if not gg.exists() or not graph.exists():
        pytest.skip(f"{gg} or {graph} is absent: run `bash scripts/models.sh` first")
    layout = transport.write_transport(graph, gg, tmp_path, log=lambda *_: None)
    kinds: dict[tuple[str, str, str], int] = {}
    for e in layout["tensors"]:
        kind = e["source"].split(".")[2] if e["source"].startswith("blk.") else e["source"]
        key = (kind, e["source_type"], json.dumps(e["ops"]))
        kinds[key] = kinds.get(key, 0) + 1
    T = '{"op": "transpose"}'
    assert kinds == {
        ("attn_q", "Q4_1", f'[{{"op": "rope_unpermute", "heads": 9}}, {T}]'): 30,
        ("attn_k", "Q4_1", f'[{{"op": "rope_unpermute", "heads": 3}}, {T}]'): 30,
        **{(k, "Q4_1", f"[{T}]"): 30 for k in ("attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")},
        ("attn_norm", "F32", "[]"): 30, ("ffn_norm", "F32", "[]"): 30, ("output_norm.weight", "F32", "[]"): 1,
        ("token_embd.weight", "Q8_0", "[]"): 1, ("token_embd.weight", "Q8_0", f"[{T}]"): 1,
    }
    assert layout["graph"]["bytes"] < 2 << 20  # the weights are all external
    assert layout["inline"]["bytes"] < 64 << 10


# ------------------------------------------------------------------ merged LoRA (ARMs, RMs)
def test_lora_merge_is_a_fixed_order_float64_sum():
    """lora_merge sums W + B[:,0]A[0] + ... in float64 and rounds once: the engine repeats it bit
    for bit (src/engine/gguf-expand.ts addLora). It is within float32 rounding of W + BA."""
    import torch
    rng = np.random.default_rng(1)
    w = rng.normal(size=(24, 40)).astype(np.float32)
    a = rng.normal(size=(8, 40)).astype(np.float16)
    b = (rng.normal(size=(24, 8)) * 0.05).astype(np.float16)
    for scale in (2.0, 16 / 6):  # PEFT's alpha / r: a power of two (ours), and one that is not
        got = transport.lora_merge(w, a, b, scale)
        ref = np.empty_like(w)
        for o in range(24):
            for i in range(40):
                acc = float(w[o, i])
                for k in range(8):
                    acc += (float(b[o, k]) * scale) * float(a[k, i])  # Python floats are float64
                ref[o, i] = np.float32(acc)
        assert np.array_equal(got.view(np.uint32), ref.view(np.uint32))
        torch_merge = (torch.from_numpy(w) + scale * torch.from_numpy(b.astype(np.float32)) @ torch.from_numpy(a.astype(np.float32))).numpy()
        assert np.abs(got - torch_merge).max() <= 4 * np.finfo(np.float32).eps * np.abs(got).max()
    with pytest.raises(TransportError, match="float16 values"):
        transport.lora_merge(w, a.astype(np.float32) + np.float32(1e-4), b, 2.0)
    with pytest.raises(TransportError, match="do not fit"):
        transport.lora_merge(w, a[:, :39], b, 2.0)


def test_a_merged_arm_travels_as_the_gguf_plus_its_adapter(tmp_path):
    """The tiny ARM (tiny base + a random LoRA, merged by build.merged) is found as GGUF recipes
    with a lora op on every projection, pointing into its PEFT adapter_model.safetensors; its
    weightless graph + rebuilt data computes what the merged graph computes, exactly; a changed
    adapter byte fails the check."""
    from genarm import build, export, peft_adapter
    gg = build.write_tiny_gguf(tmp_path / "tiny.gguf")
    m = build.tiny_adapter_model(10, "lm")
    cfg = peft_adapter.write_peft(m, tmp_path / "peft", base_model="tiny-base")
    adapter = tmp_path / "peft" / peft_adapter.WEIGHTS
    graph = tmp_path / "arm.onnx"
    export.export_fp32(build.merged(m), graph)
    out = tmp_path / "out"
    layout = transport.write_transport(graph, gg, out, adapter=adapter, adapter_config=cfg, log=lambda *_: None)
    assert layout["adapter"]["sha256"] == transport.sha256_file(adapter)
    loras = [e for e in layout["tensors"] if any(o["op"] == "lora" for o in e["ops"])]
    assert len(loras) == build.TINY.num_layers * len(transport.LORA_TARGETS)
    for e in loras:  # the delta goes in the projection's frame: after rope_unpermute, before the transpose
        assert [o["op"] for o in e["ops"]][-2:] in (["lora", "transpose"],) or e["ops"][-1]["op"] == "lora"
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    feeds = {"input_ids": np.array([[1, 5, 9, 200]], np.int64), "attention_mask": np.ones((1, 4), np.int64),
             "position_ids": np.arange(4)[None].astype(np.int64)}
    for i in range(build.TINY.num_layers):
        for kv in ("key", "value"):
            feeds[f"past_key_values.{i}.{kv}"] = np.zeros((1, build.TINY.num_kv_heads, 0, build.TINY.head_dim), np.float32)
    ref = ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0]
    light = ort.InferenceSession(str(out / transport.GRAPH_NAME), so, providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0]
    assert np.array_equal(ref, light)
    # the adapter is part of the recipe: another adapter byte, another model
    bad = tmp_path / "bad.lora.bin"
    blob = bytearray(adapter.read_bytes())
    blob[len(blob) // 2] ^= 0x04
    bad.write_bytes(bytes(blob))
    layout_bad = {**layout, "adapter": {**layout["adapter"], "sha256": transport.sha256_file(bad)}}
    with pytest.raises(TransportError, match="differs from the external data"):
        transport.verify(layout_bad, gg, out / transport.DATA_NAME, adapter=bad)
    with pytest.raises(TransportError, match="pass that file"):
        transport.verify(layout, gg, out / transport.DATA_NAME)
