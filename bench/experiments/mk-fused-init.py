"""Experiment (the fused path, src/engine/fused.ts): the fused fp32 graph with its LoRA inputs turned into initializers
(random values, 3 rows fixed), to measure what feeding adapters as inputs costs on WASM.
  .venv/bin/python bench/experiments/mk-fused-init.py  -> .cache/fused_init.onnx"""
import numpy as np
import onnx
from onnx import numpy_helper

m = onnx.load("models-node/smollm2-fused/onnx/model.onnx")
rng = np.random.default_rng(0)
for i in list(m.graph.input):
    if i.name.startswith("lora."):
        dims = [d.dim_value or 3 for d in i.type.tensor_type.shape.dim]  # the 'rows' dim -> 3
        m.graph.initializer.append(numpy_helper.from_array((rng.standard_normal(dims) * 0.01).astype(np.float32), i.name))
        m.graph.input.remove(i)
onnx.save(m, ".cache/fused_init.onnx")
print("wrote .cache/fused_init.onnx")
