"""One graph for the base and every ARM: rows of one batch share the base weights.

Row 0 is the base (zero adapter), row i >= 1 is ARM i: every target projection computes

    y[r] = x[r] W^T + (x[r] A[l, r]^T) B[l, r]^T          (alpha/rank folded into B)

so the expensive x W^T reads one copy of the (quantized) base weights for all rows, and the
adapters are small graph inputs: adding or swapping an objective needs no new base download.
Each row keeps its own KV cache (the adapters change K and V).

Extra graph inputs, one pair per layer l and target t in LORA_TARGETS (R rows, rank r),
stored transposed so the graph needs no Transpose per step:
  lora.{l}.{t}.A  float32 [R, in_t, r]   (= A^T)
  lora.{l}.{t}.B  float32 [R, r, out_t]  (= (alpha/r) B^T)
One input per layer rather than one [L, R, ...] tensor per target: a stacked input costs a
Split + Squeeze copy of every adapter on every step (measured 7 of 37 ms of a SmolLM2 q8 step
on the CPU); per-layer inputs are read in place.
The adapter files (manifest `adapter.file`) hold A [r,in] then B [out,r] per layer and target
for one ARM (build.write_adapter); the engine transposes them once when it builds the inputs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import export
from .model import LORA_TARGETS, Llama, LoRALinear


class FusedLoRALinear(nn.Module):
    """Base weight plus a per-row adapter taken from the current graph inputs."""

    def __init__(self, base: LoRALinear, ctx: dict, layer: int, target: str):
        super().__init__()
        self.weight = base.weight
        self.ctx, self.layer, self.target = ctx, layer, target

    def forward(self, x):  # x [R,S,in]
        a = self.ctx["A"][self.target][self.layer]  # [R,in,r]
        b = self.ctx["B"][self.target][self.layer]  # [R,r,out]
        return F.linear(x, self.weight) + (x @ a) @ b


def fuse(model: Llama) -> dict:
    """Swap every target Linear for a FusedLoRALinear; returns the context the forward reads."""
    ctx: dict = {"A": {}, "B": {}}
    for i, layer in enumerate(model.layers):
        for t in LORA_TARGETS:
            parent = layer.self_attn if hasattr(layer.self_attn, t) else layer.mlp
            setattr(parent, t, FusedLoRALinear(getattr(parent, t), ctx, i, t))
    return ctx


class FusedWrapper(nn.Module):
    def __init__(self, model: Llama):
        super().__init__()
        self.model = model
        self.n = model.cfg.num_layers
        self.ctx = fuse(model)
        self.lm_head = nn.Parameter(model.embed_tokens.weight.detach().t().contiguous().clone())

    def forward(self, input_ids, attention_mask, position_ids, *rest):
        nt = len(LORA_TARGETS)
        for k, t in enumerate(LORA_TARGETS):  # inputs ordered layer-major: l0.q.A, l0.q.B, l0.k.A, ...
            self.ctx["A"][t] = [rest[2 * (l * nt + k)] for l in range(self.n)]
            self.ctx["B"][t] = [rest[2 * (l * nt + k) + 1] for l in range(self.n)]
        past_flat = rest[2 * nt * self.n:]
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(self.n)]
        h, presents = self.model.hidden(input_ids, attention_mask, position_ids, past)
        out = h @ self.lm_head
        flat = []
        for k, v in presents:
            flat += [k, v]
        return (out, *flat)


def target_shapes(model: Llama) -> dict[str, tuple[int, int]]:
    """(out, in) of each target projection."""
    layer = model.layers[0]
    shapes = {}
    for t in LORA_TARGETS:
        lin = getattr(layer.self_attn, t) if hasattr(layer.self_attn, t) else getattr(layer.mlp, t)
        shapes[t] = tuple(lin.weight.shape)
    return shapes


def adapter_arrays(adapter_files: list[Path], model: Llama, rank: int, dtype: str = "<f4") -> dict[str, np.ndarray]:
    """The graph inputs for rows [base (zero adapter), ARM 1, ...] from the ARMs' adapter files."""
    L = model.cfg.num_layers
    shapes = target_shapes(model)
    R = 1 + len(adapter_files)
    out = {}
    for l in range(L):
        for t, (o, i) in shapes.items():
            out[f"lora.{l}.{t}.A"] = np.zeros((R, i, rank), np.float32)
            out[f"lora.{l}.{t}.B"] = np.zeros((R, rank, o), np.float32)
    for row, f in enumerate(adapter_files, start=1):
        flat = np.fromfile(f, dtype=dtype).astype(np.float32)
        pos = 0
        for l in range(L):
            for t in LORA_TARGETS:
                o, i = shapes[t]
                out[f"lora.{l}.{t}.A"][row] = flat[pos:pos + rank * i].reshape(rank, i).T
                pos += rank * i
                out[f"lora.{l}.{t}.B"][row] = flat[pos:pos + o * rank].reshape(o, rank).T
                pos += o * rank
        assert pos == flat.size, f"{f}: {flat.size} values, layout expects {pos}"
    return out


def export_fused(base: Llama, path: Path, rank: int) -> None:
    cfg = base.cfg
    wrapper = FusedWrapper(base.eval().float()).eval()
    R, S, P, L = 3, 3, 2, cfg.num_layers
    ids = torch.randint(0, cfg.vocab_size, (R, S))
    mask = torch.ones(R, P + S, dtype=torch.long)
    pos = torch.arange(P, P + S)[None].repeat(R, 1)
    lora, lora_names = [], []
    for l in range(L):
        for t, (o, i) in target_shapes(base).items():
            lora += [torch.randn(R, i, rank) * 0.01, torch.randn(R, rank, o) * 0.01]
            lora_names += [f"lora.{l}.{t}.A", f"lora.{l}.{t}.B"]
    past = []
    for _ in range(L):
        past += [torch.zeros(R, cfg.num_kv_heads, P, cfg.head_dim)] * 2
    inputs, outputs = export.io_names(L, "lm")
    inputs = inputs[:3] + lora_names + inputs[3:]
    dyn = {"input_ids": {0: "rows", 1: "seq"}, "attention_mask": {0: "rows", 1: "total"},
           "position_ids": {0: "rows", 1: "seq"}, "logits": {0: "rows", 1: "seq"}}
    for n in lora_names:
        dyn[n] = {0: "rows"}
    for n in inputs[3 + len(lora_names):]:
        dyn[n] = {0: "rows", 2: "past"}
    for n in outputs[1:]:
        dyn[n] = {0: "rows", 2: "total"}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(wrapper, (ids, mask, pos, *lora, *past), str(tmp), input_names=inputs,
                          output_names=outputs, dynamic_axes=dyn, opset_version=export.OPSET, dynamo=False,
                          do_constant_folding=True)
    import onnx
    m = export.simplify_graph(onnx.load(str(tmp)))
    onnx.save(m, str(path))
    tmp.unlink()
