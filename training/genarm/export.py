"""Export our Llama (genarm.model) to ONNX in the layout transformers.js and the engine expect.

Graph I/O (every causal LM: base and ARMs):
  inputs  input_ids int64 [B,S], attention_mask int64 [B,P+S], position_ids int64 [B,S],
          past_key_values.{i}.key / .value float32 [B,K,P,D]
  outputs logits float32 [B,S,V] (or `rewards` [B,S] for a trajectory reward model),
          present.{i}.key / .value float32 [B,K,P+S,D]
Variants: fp32 (reference), q4 and q8 (weight-only MatMulNBits, 4 and 8 bits, block 32,
accuracy level 4); both with an int8 embedding table. Plain ONNX ops (opset 18) plus
MatMulNBits, which both onnxruntime-web backends implement; fused attention contrib ops
are left out (see reports/models.json).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import torch.nn as nn

from .model import Llama

OPSET = 18


class OnnxWrapper(nn.Module):
    """Flat inputs/outputs for tracing. The lm head gets its own (untied) weight so that
    the quantizer sees a MatMul with a constant [C,V] weight it can turn into MatMulNBits."""

    def __init__(self, model: Llama):
        super().__init__()
        self.model = model
        self.n = model.cfg.num_layers
        if model.cfg.head == "lm":
            self.lm_head = nn.Parameter(model.embed_tokens.weight.detach().t().contiguous().clone())

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(self.n)]
        h, presents = self.model.hidden(input_ids, attention_mask, position_ids, past)
        if self.model.cfg.head == "rm":
            out = self.model.score(h).squeeze(-1)
        else:
            out = h @ self.lm_head
        flat = []
        for k, v in presents:
            flat += [k, v]
        return (out, *flat)


def io_names(n_layers: int, head: str):
    past = []
    present = []
    for i in range(n_layers):
        past += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        present += [f"present.{i}.key", f"present.{i}.value"]
    inputs = ["input_ids", "attention_mask", "position_ids"] + past
    outputs = ["logits" if head == "lm" else "rewards"] + present
    return inputs, outputs


def export_fp32(model: Llama, path: Path) -> None:
    cfg = model.cfg
    model = model.eval().float()
    wrapper = OnnxWrapper(model).eval()
    B, S, P = 1, 3, 2
    ids = torch.randint(0, cfg.vocab_size, (B, S))
    mask = torch.ones(B, P + S, dtype=torch.long)
    pos = torch.arange(P, P + S)[None]
    past = []
    for _ in range(cfg.num_layers):
        past += [torch.zeros(B, cfg.num_kv_heads, P, cfg.head_dim), torch.zeros(B, cfg.num_kv_heads, P, cfg.head_dim)]
    inputs, outputs = io_names(cfg.num_layers, cfg.head)
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
           "position_ids": {0: "batch", 1: "seq"}}
    for n in inputs[3:]:
        dyn[n] = {0: "batch", 2: "past"}
    for n in outputs[1:]:
        dyn[n] = {0: "batch", 2: "total"}
    dyn[outputs[0]] = {0: "batch", 1: "seq"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(wrapper, (ids, mask, pos, *past), str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=dyn, opset_version=OPSET, dynamo=False, do_constant_folding=True)
    import onnx
    m = onnx.load(str(tmp))
    m = simplify_graph(m)
    onnx.save(m, str(path))
    tmp.unlink()


def simplify_graph(m):
    """Constant-fold with onnxruntime's basic level only (no contrib fusions), so the saved
    graph stays within what both web backends run."""
    import tempfile

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.onnx", Path(d) / "out.onnx"
        import onnx
        onnx.save(m, str(src))
        so.optimized_model_filepath = str(dst)
        ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
        return onnx.load(str(dst))


def quantize(src: Path, dst: Path, bits: int, block: int = 32) -> None:
    """Weight-only MatMulNBits (block 32, symmetric) for every MatMul with a constant weight,
    the lm head included: q4 = 4 bits, q8 = 8 bits. accuracy_level 4 lets the CPU/WASM kernels
    compute in int8 with per-block activation scales (fast, and unlike dynamic int8
    MatMulInteger, whose per-tensor activation scale the outliers of SmolLM2's down_proj
    inputs ruin: 62.7% top-1 agreement vs 95.7% measured). The embedding table is int8 rows
    + a scale per row read with plain Gather/Cast/Mul: WASM has no GatherBlockQuantized."""
    import logging

    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    model = onnx.load(str(src))
    quantize_embedding_int8(model)
    q = MatMulNBitsQuantizer(model, bits=bits, block_size=block, is_symmetric=True, accuracy_level=4,
                             op_types_to_quantize=("MatMul",))
    q.process()
    tmp = dst.with_suffix(".tmp.onnx")
    q.model.save_model_to_file(str(tmp), use_external_data_format=False)
    tmp.rename(dst)


def quantize_embedding_int8(model) -> None:
    """Replace Gather(E_fp32, ids) by Mul(Cast(Gather(E_int8, ids)), Gather(scale, ids))."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    for node in list(g.node):
        if node.op_type != "Gather" or node.input[0] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[0]])
        if w.ndim != 2 or w.shape[0] < 1000:
            continue  # not the vocabulary table
        scale = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1e-8) / 127.0
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        base = node.input[0]
        g.initializer.remove(inits[base])
        g.initializer.extend([numpy_helper.from_array(q, base + "_int8"),
                              numpy_helper.from_array(scale.astype(np.float32), base + "_scale")])
        out = node.output[0]
        ids = node.input[1]
        new = [
            helper.make_node("Gather", [base + "_int8", ids], [out + "_q"], name=node.name + "_q", axis=0),
            helper.make_node("Cast", [out + "_q"], [out + "_f"], name=node.name + "_cast", to=TensorProto.FLOAT),
            helper.make_node("Gather", [base + "_scale", ids], [out + "_s"], name=node.name + "_scale", axis=0),
            helper.make_node("Mul", [out + "_f", out + "_s"], [out], name=node.name + "_dequant"),
        ]
        idx = list(g.node).index(node)
        g.node.remove(node)
        for k, n in enumerate(new):
            g.node.insert(idx + k, n)
        return


def op_histogram(path: Path) -> dict[str, int]:
    from collections import Counter

    import onnx
    m = onnx.load(str(path), load_external_data=False)
    return dict(Counter(n.op_type for n in m.graph.node))


def write_folder_files(folder: Path, cfg, hf_folder: Path | None, with_tokenizer: bool) -> None:
    """config.json / generation_config.json (+ tokenizer files) in transformers.js layout."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_layers, "num_attention_heads": cfg.num_heads,
        "num_key_value_heads": cfg.num_kv_heads, "head_dim": cfg.head_dim, "rope_theta": cfg.rope_theta,
        "rms_norm_eps": cfg.rms_norm_eps, "max_position_embeddings": cfg.max_position,
        "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.eos_token_id,
        "tie_word_embeddings": True, "hidden_act": "silu", "genarm_head": cfg.head,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.eos_token_id}
    (folder / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    if with_tokenizer and hf_folder is not None:
        shutil.copy(hf_folder / "tokenizer.json", folder / "tokenizer.json")
        tc = json.loads((hf_folder / "tokenizer_config.json").read_text())
        tpl = hf_folder / "chat_template.jinja"
        if tpl.exists() and "chat_template" not in tc:
            tc["chat_template"] = tpl.read_text()  # transformers.js reads it from here
        (folder / "tokenizer_config.json").write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
